"""Small helpers: durations, clocks, time formats."""

import re
import time

_DUR = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_MULT = {"ms": 1, "s": 1000, "m": 60000, "h": 3600000, "d": 86400000}


def parse_duration_ms(text):
    """'7d', '90s', '1500ms', '2h', '5m'; a bare number is seconds."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return int(text * 1000)
    m = _DUR.match(str(text))
    if not m:
        raise ValueError("bad duration %r (use N[ms|s|m|h|d])" % (text,))
    return int(float(m.group(1)) * _MULT[m.group(2) or "s"])


def parse_signed_duration_ms(text):
    """A duration with an optional sign: '-14m', '+90s', '0'; a number is
    seconds."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return int(text * 1000)
    t = str(text).strip()
    if t[:1] in ("+", "-"):
        v = parse_duration_ms(t[1:])
        return -v if t[0] == "-" else v
    return parse_duration_ms(t)


def wall_ms():
    return int(time.time() * 1000)


def iso_utc_us(us):
    """epoch microseconds (int) -> 2020-01-04T09:05:22.701000Z"""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(us // 1000000)) + \
        ".%06dZ" % (us % 1000000)


def is_loopback(addr):
    a = addr or ""
    if a.startswith("::ffff:"):
        a = a[7:]
    return a == "::1" or a.startswith("127.")
