"""A source's saved state as the daemon reads it back: the snapshot
STATEDIR/NAME.json and the journal files NAME.journal.N that follow it
(src/cursor.h). Journal records are lines "LENGTH CRC32 PAYLOAD\\n"; a
record cut short or failing its checksum ends its file (the daemon logs
it and ignores the rest). The ids are those saved, including any the
daemon has since pruned from memory.
"""
import json
import os
import zlib


def records(path):
    """The JSON payloads of the good records of a journal file, in order."""
    with open(path, "rb") as f:
        data = f.read()
    out = []
    off = 0
    while off < len(data):
        sp = data.find(b" ", off, off + 8)
        if sp < 0:
            break
        try:
            n = int(data[off:sp])
        except ValueError:
            break
        crc = data[sp + 1:sp + 9]
        start = sp + 10
        payload = data[start:start + n]
        if (data[sp + 9:sp + 10] != b" " or len(payload) != n or
                data[start + n:start + n + 1] != b"\n" or
                crc != b"%08x" % zlib.crc32(payload)):
            break
        try:
            out.append(json.loads(payload))
        except ValueError:
            break
        off = start + n + 1
    return out


def read(statedir, name):
    """{"end", "since", "updated", "ids": [[event_id, key], ...]} of the
    saved state, or None when there is no snapshot."""
    snap = os.path.join(statedir, name + ".json")
    try:
        with open(snap, encoding="utf-8") as f:
            doc = json.load(f)
    except FileNotFoundError:
        return None
    state = {"end": doc["end"], "since": doc.get("since", 0),
             "updated": doc["updated"], "ids": list(doc["ids"])}
    gen = doc.get("journal")
    # A snapshot of an earlier version is followed by NAME.journal.1 only
    # if that file's header says it came after it.
    after = doc["updated"] if gen is None else None
    gen = gen or 1
    while True:
        path = os.path.join(statedir, "%s.journal.%d" % (name, gen))
        if not os.path.exists(path):
            break
        recs = records(path)
        good = bool(recs) and recs[0].get("journal") == gen
        if after is not None and not (good and recs[0].get("after") == after):
            break
        after = None
        for r in recs[1:] if good else []:
            if "ids" not in r:
                break
            state["end"] = r["end"]
            state["updated"] = r["updated"]
            if r.get("since"):
                state["since"] = r["since"]
            state["ids"].extend(r["ids"])
        gen += 1
    return state


def ids(statedir, name):
    """The set of event_ids saved (empty without a snapshot)."""
    st = read(statedir, name)
    return set() if st is None else {p[0] for p in st["ids"]}
