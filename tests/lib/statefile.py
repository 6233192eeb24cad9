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
    """The saved state: the snapshot's members (identity, filters_hash,
    "journal"...) with "end", "since", "updated" and "ids" ([[event_id,
    key], ...]) as the journal files that follow it leave them; or None
    when there is no snapshot. A daemon may compact while this reads (a
    new snapshot replaces the one read and the journal files that followed
    it go): then it reads again."""
    snap = os.path.join(statedir, name + ".json")
    for _ in range(20):
        try:
            ino = os.stat(snap).st_ino
        except FileNotFoundError:
            return None
        state = _read_once(statedir, name, snap)
        try:
            if state is not None and os.stat(snap).st_ino == ino:
                return state
        except FileNotFoundError:
            pass
    raise AssertionError("%s: replaced during every read" % snap)


def _read_once(statedir, name, snap):
    try:
        with open(snap, encoding="utf-8") as f:
            doc = json.load(f)
    except FileNotFoundError:
        return None
    state = dict(doc)
    state.update({"end": doc["end"], "since": doc.get("since", 0),
                  "updated": doc["updated"], "ids": list(doc["ids"])})
    gen = doc.get("journal")
    # A snapshot of an earlier version is followed by NAME.journal.1 only
    # if that file's header says it came after it.
    after = doc["updated"] if gen is None else None
    gen = gen or 1
    while True:
        path = os.path.join(statedir, "%s.journal.%d" % (name, gen))
        try:
            recs = records(path)
        except FileNotFoundError:
            break
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


def journal_files(statedir, name):
    """The names of the journal files of source name in statedir."""
    pre = name + ".journal."
    return sorted(f for f in os.listdir(statedir)
                  if f.startswith(pre) and f[len(pre):].isdigit())


def kept(state, keep_ms):
    """The distinct event_ids of state (read()) that a start keeps: those
    whose prune key, rounded up to the second as the daemon holds it, is
    not before end - keep_ms (the source's lookback + sweep_range) rounded
    up likewise (max_tracked_ids is not applied). The journal keeps ids
    the daemon pruned after saving them; a start drops them again."""
    floor = state["end"] - keep_ms
    floor = -(-floor // 1000) if floor > 0 else 0
    keys = {}
    for i, k in state["ids"]:
        keys[i] = max(k, keys.get(i, k))
    return {i for i, k in keys.items() if -(-k // 1000) >= floor}


def ids(statedir, name):
    """The set of event_ids saved (empty without a snapshot)."""
    st = read(statedir, name)
    return set() if st is None else {p[0] for p in st["ids"]}
