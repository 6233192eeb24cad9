#!/usr/bin/env python3
"""doc/guide.md says what the daemon does:

- every log line of its troubleshooting table (the table after
  `<!-- test: log-lines -->`) is built from the daemon's own format
  strings: the fixed text between its `<placeholders>` (and numbers,
  which may be values) is found in the string literals of src/*.c, pieced
  together only where one string is inserted into another (at a
  conversion) or appended after it;
- the metrics table (after `<!-- test: metrics -->`) lists exactly the
  metrics a running daemon serves at /metrics, and /healthz answers 200
  `ok` as the guide says;
- every `#anchor` link of the guide names one of its headings.

So a reworded log line, a new or renamed metric, or a renamed section
fails here until the guide follows.
"""
import glob
import os
import re
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import harness as H  # noqa: E402
import guide as G  # noqa: E402

SRC = os.path.join(H.SRCDIR, "src")
# Macros that stand between string literals in the sources: PRI* are
# printf conversions, the rest their values (autoconf's PACKAGE_NAME is
# not in src/, format.h's FORMAT_* are read from the headers).
KNOWN_MACROS = {"PACKAGE_NAME": "hss-forwarder"}
CONV = re.compile(r"%(?:%|[-+ #0']*(?:\*|\d+)?(?:\.(?:\*|\d+))?"
                  r"(?:hh|h|ll|l|L|z|j|t)?[diouxXeEfFgGaAcspn])")
PLACEHOLDER = re.compile(r"<[^<>]*>")


# ------------------------------------------------------------ C sources

def c_tokens(text):
    """(kind, value) of a C file: "str" (the literal, escapes decoded for
    \\" \\\\ \\n \\t), "id" (an identifier) or "punct"; comments and
    character constants dropped."""
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            i = text.index("*/", i) + 2
        elif text.startswith("//", i):
            i = text.find("\n", i)
            i = n if i == -1 else i
        elif c == '"':
            j, out = i + 1, []
            while text[j] != '"':
                if text[j] == "\\":
                    e = text[j + 1]
                    out.append({"n": "\n", "t": "\t", "r": "\r"}.get(e, e))
                    j += 2
                else:
                    out.append(text[j])
                    j += 1
            yield "str", "".join(out)
            i = j + 1
        elif c == "'":
            j = i + 1
            while text[j] != "'":
                j += 2 if text[j] == "\\" else 1
            i = j + 1
        elif c.isalpha() or c == "_":
            j = i
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            yield "id", text[i:j]
            i = j
        elif c.isspace():
            i += 1
        else:
            yield "punct", c
            i += 1


def string_macros(paths):
    """#define NAME "literal" of the sources."""
    out = dict(KNOWN_MACROS)
    for p in paths:
        with open(p) as f:
            for m in re.finditer(r'^#define\s+(\w+)\s+"((?:[^"\\]|\\.)*)"',
                                 f.read(), re.M):
                out.setdefault(m.group(1), m.group(2).replace('\\"', '"'))
    return out


def format_strings():
    """Every string literal of src/*.c, adjacent literals joined, a PRI*
    macro between them read as a conversion and a string macro as its
    value."""
    paths = sorted(glob.glob(os.path.join(SRC, "*.[ch]")))
    macros = string_macros(paths)
    out = []
    for p in paths:
        if not p.endswith(".c"):
            continue
        with open(p) as f:
            toks = list(c_tokens(f.read()))
        i = 0
        while i < len(toks):
            kind, val = toks[i]
            if kind != "str" and not (kind == "id" and val in macros and
                                      i + 1 < len(toks) and
                                      toks[i + 1][0] == "str"):
                i += 1
                continue
            parts = []
            while i < len(toks):
                kind, val = toks[i]
                if kind == "str":
                    parts.append(val)
                elif kind == "id" and val.startswith("PRI"):
                    parts.append("d")
                elif kind == "id" and val in macros:
                    parts.append(macros[val])
                else:
                    break
                i += 1
            out.append("".join(parts))
    return out


class Pieces:
    """The literal text of the format strings, split at their conversions:
    a piece starts where a string or a conversion ends and ends where a
    string or a conversion starts, the places where another string may
    have been inserted or appended."""

    def __init__(self, formats):
        self.texts = [p.replace("%%", "%") for f in formats
                      for p in CONV.split(f) if p]
        self.whole = set(self.texts)
        self.prefixes = set(t[:i] for t in self.texts
                            for i in range(1, len(t) + 1))
        self.suffixes = set(t[i:] for t in self.texts for i in range(len(t)))

    def substring(self, s):
        return any(s in t for t in self.texts)


def fragment_ok(frag, pieces, at_start, at_end):
    """frag, fixed text of a documented line between two placeholders (or
    the line's start or end: at_start, at_end), is made of pieces: one
    piece's text, or pieces joined where one string was inserted into or
    appended to another. Joined, the first is a piece's end, the last a
    piece's start, those between whole pieces. At the line's start the
    text must start a piece, at its end end one."""
    n = len(frag)

    def allowed(i, j):
        s = frag[i:j]
        first, last = i == 0, j == n
        if first and last:
            if at_start and at_end:
                return s in pieces.whole
            if at_start:
                return s in pieces.prefixes
            if at_end:
                return s in pieces.suffixes
            return pieces.substring(s)
        if first:
            return s in (pieces.whole if at_start else pieces.suffixes)
        if last:
            return s in (pieces.whole if at_end else pieces.prefixes)
        return s in pieces.whole

    reach = [True] + [False] * n
    for j in range(1, n + 1):
        reach[j] = any(reach[i] and allowed(i, j) for i in range(j))
    return reach[n]


def line_ok(line, pieces):
    """The fragments of a documented line that are not made of pieces; a
    number the guide shows (HTTP 401, 3 times) may be a value."""
    bad = []
    parts = PLACEHOLDER.split(line)
    for k, frag in enumerate(parts):
        if not frag:
            continue
        at_start, at_end = k == 0, k == len(parts) - 1
        if fragment_ok(frag, pieces, at_start, at_end):
            continue
        sub = re.split(r"(\d+)", frag)
        if not all(fragment_ok(f, pieces, at_start and m == 0,
                               at_end and m == len(sub) - 1)
                   for m, f in enumerate(sub) if f and m % 2 == 0):
            bad.append(frag)
    return bad


# ------------------------------------------------------------ the guide

def code_span(cell):
    """The text of the first code span of a table cell (`x` or `` x ``)."""
    m = re.match(r"\s*(`+)(.*?)\1", cell)
    assert m, "no code span in %r" % cell
    s = m.group(2)
    return s[1:-1] if len(m.group(1)) > 1 and s.startswith(" ") and \
        s.endswith(" ") else s


def table_rows(lines):
    rows = []
    for ln in lines:
        cells = [c for c in re.split(r"(?<!\\)\|", ln.strip())[1:-1]]
        if not cells or set(cells[0].strip()) <= set("-:"):
            continue
        rows.append(cells)
    return rows[1:]             # the header row


def check_log_lines():
    pieces = Pieces(format_strings())
    rows = table_rows(G.marked_block("log-lines"))
    assert len(rows) >= 25, "only %d log lines documented" % len(rows)
    bad = []
    for cells in rows:
        line = code_span(cells[0])
        level = cells[1].strip()
        assert level in ("error", "warning", "info"), (line, level)
        bad += [(frag, line) for frag in line_ok(line, pieces)]
    assert not bad, "documented log lines whose text is not in src/*.c:\n" + \
        "\n".join("  %r in: %s" % b for b in bad)
    print("%d documented log lines match the daemon's format strings" %
          len(rows))


def slug(heading):
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def check_anchors():
    text = G.guide_text()
    anchors = set(slug(m.group(1)) for m in
                  re.finditer(r"^#+ (.*)$", text, re.M))
    links = set(re.findall(r"\]\(#([^)]+)\)", text))
    missing = links - anchors
    assert not missing, "links to no heading: %s" % sorted(missing)
    print("%d section links resolve" % len(links))


def check_metrics(h):
    documented = set()
    for cells in table_rows(G.marked_block("metrics")):
        documented.add(code_span(cells[0]))
    port = H.free_port()
    h.start_sim("--events", "20", "--rate-limit", "0")
    conf = h.write_config(h.source_yaml(), h.stdout_output(),
                          top="metrics_listen: 127.0.0.1:%d\n" % port)
    p = h.spawn("-f", "-c", conf)

    def metrics():
        if p.poll() is not None:
            raise H.Failure("the daemon exited %s" % p.returncode)
        status, body = H.http_get(port, "/metrics")
        return body if status == 200 else None
    body = H.wait_for(metrics, 30, "/metrics")
    served = set(re.findall(r"^# TYPE (hss_forwarder_\w+) ", body, re.M))
    assert served == documented, (
        "metrics served but not in the guide: %s; in the guide but not "
        "served: %s" % (sorted(served - documented),
                        sorted(documented - served)))
    status, body = H.http_get(port, "/healthz")
    assert (status, body) == (200, "ok\n"), (status, body)
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=30) == 0, p.returncode
    print("the guide lists the %d metrics the daemon serves; /healthz: 200 "
          "ok" % len(served))


def test(h):
    check_log_lines()
    check_anchors()
    check_metrics(h)


H.main(test)
