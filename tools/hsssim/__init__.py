"""hsssim: a simulator of the Huawei Cloud HSS ListSecurityEvents API.

Standard library only.  See tools/hss-sim.md.
"""

VERSION = "1.0"
