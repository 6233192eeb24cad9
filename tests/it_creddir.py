#!/usr/bin/env python3
"""Secrets from systemd's LoadCredential= ($CREDENTIALS_DIRECTORY): systemd
writes each file 0400 and grants the service's user read access with an
ACL, whose mask shows as mode 0440. `-n` accepts 0440 (and 0400) there;
any other group or other bit is still refused, and a *_file secret is
still refused at 0440."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H

CONFIG = """sources:
  - name: prod
    region: ap-southeast-1
    project_id: 0123456789abcdef0123456789abcdef
    category: host
    credentials:
      method: aksk
%s
outputs:
  - name: out
    format: json
    transport: stdout
"""


def check(h, creds, creddir):
    path = os.path.join(h.dir, "hss.yaml")
    with open(path, "w") as f:
        f.write(CONFIG % creds)
    env = h.env()
    env["CREDENTIALS_DIRECTORY"] = creddir
    p = subprocess.run(H.WRAP + [H.DAEMON, "-n", "-c", path], capture_output=True,
                       text=True, timeout=30, env=env)
    return p.returncode, p.stderr


def secret(path, text, mode):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def test(h):
    cd = os.path.join(h.dir, "credentials")
    os.mkdir(cd, 0o500 | 0o200)
    secret(os.path.join(cd, "prod.access_key"), "AK-FROM-SYSTEMD\n", 0o440)
    secret(os.path.join(cd, "secret_key"), "SK-FROM-SYSTEMD", 0o400)

    rc, err = check(h, "", cd)
    assert rc == 0 and err.endswith("configuration OK\n"), (rc, err)
    assert "SYSTEMD" not in err, err

    # Other group or other bits in the directory: refused, naming the file.
    for mode in (0o640, 0o444, 0o460):
        os.chmod(os.path.join(cd, "secret_key"), mode)
        rc, err = check(h, "", cd)
        want = ("`secret_key` from $CREDENTIALS_DIRECTORY: %s/secret_key is "
                "readable by group or others (mode %04o); chmod 600 it" %
                (cd, mode))
        assert rc == 1 and want in err, (oct(mode), err)
    os.chmod(os.path.join(cd, "secret_key"), 0o400)

    # The same 0440 file named by secret_key_file: an operator's file, refused.
    rc, err = check(h, "      secret_key_file: %s/prod.access_key" % cd, cd)
    want = ("`secret_key_file`: %s/prod.access_key is readable by group or "
            "others (mode 0440); chmod 600 it" % cd)
    assert rc == 1 and want in err, err


H.main(test)
