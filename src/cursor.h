/*
 * cursor.c: the per-source state (DESIGN.md sections 5 and 7): the end of
 * the last committed window and the event_id dedupe set, in a snapshot
 * STATEDIR/NAME.json and an append-only journal next to it. The daemon
 * locks the directory; nothing here locks.
 *
 * The snapshot, one id per line so that it diffs and greps (written
 * atomically: NAME.json.tmp, fsync, rename, fsync the directory):
 *   {"version":1,"source":"NAME","project_id":"...","region":"...",
 *    "category":"host","enterprise_project_id":"0","filters_hash":"<64 hex>",
 *    "end":1700000000000,"since":1699990000000,"updated":1700000000123,
 *    "journal":3,"ids":[
 *   ["event id",1699999999000],
 *   ...]}
 * "journal" (absent in files of earlier versions, which are read as they
 * are) is the first journal file that follows it: NAME.journal.3, then
 * NAME.journal.4 and so on while they exist.
 *
 * A journal file is a list of records, one a line:
 *   LENGTH CRC32 PAYLOAD\n
 * LENGTH is the payload's size in bytes (decimal), CRC32 its CRC-32 (ISO
 * HDLC, as zlib's crc32()) as 8 lower-case hex digits, PAYLOAD one JSON
 * object without a newline. The first record of a file is its header,
 *   {"journal":3,"after":1700000000123}
 * (its number, and the "updated" of the snapshot when it was made); each
 * save appends data records,
 *   {"end":1700000000000,"since":0,"updated":1700000000456,
 *    "ids":[["id",t],...]}
 * (the ids added since the previous save, at most about 64 KB of them a
 * record; a save of more writes several, the new end in the last). A
 * record that is cut short or fails its checksum ends its file: it and
 * what follows are ignored with a warning naming the file and the offset
 * (the next file is still replayed). A snapshot without "journal" is
 * followed by NAME.journal.1 only if that file's "after" is its
 * "updated" (else the file is older than it: a downgrade and back).
 * When the journal outgrows the snapshot (and 256 KB), a worker thread
 * writes a new snapshot from the old one and the journal files, dropping
 * the ids pruned since, and removes those files; meanwhile saves go to a
 * new journal file. The thread also makes each append durable (fdatasync):
 * a save costs the loop a write() of what changed.
 */
#ifndef HSS_CURSOR_H
#define HSS_CURSOR_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "util.h"

#define CURSOR_VERSION	1

struct cursor;

struct cursor_identity {
	const char	*project_id;
	const char	*region;
	const char	*category;
	const char	*enterprise_project_id;	/* NULL: the API's "0" */
	char		 filters_hash[65];	/* hex SHA-256 */
};

/*
 * Hex SHA-256 of the filters: the pairs sorted by key then value, each as
 * "key=value\n" with '%', '=' and '\n' inside a key or value written %25,
 * %3D, %0A (so that distinct filter sets never give the same text).
 */
void	cursor_filters_hash(const struct kv *filters, size_t n,
	    char out[65]);

enum cursor_open_status {
	CURSOR_OK,
	CURSOR_NEW,		/* no state file: first start */
	CURSOR_RECOVERED,	/* corrupt file moved aside */
	CURSOR_MISMATCH,	/* the file belongs to another identity */
	CURSOR_ERROR,		/* I/O error */
	CURSOR_FILTERS_CHANGED,	/* as CURSOR_OK but for the filters */
};

/*
 * Read STATEDIR/NAME.json if present. CURSOR_NEW and CURSOR_RECOVERED: end
 * is 0 (RECOVERED: the caller starts from window_initial_end(now, p, 1);
 * cursor_after_corruption() says so until the first commit), *err (appended
 * to) says why the file was corrupt and where it went:
 *   "PATH is corrupt (REASON); moved to PATH.corrupt.UNIXTIME"
 * CURSOR_MISMATCH: *err says what differs:
 *   "PATH: project_id is \"X\" in the state file, \"Y\" in the config"
 *   (several differences separated by "; "); the file is left untouched.
 * CURSOR_ERROR: an I/O error, *err says which. Both return NULL.
 * CURSOR_OK: the journal files that follow the snapshot are replayed in
 * order; a torn or corrupt record is logged (file and offset) and ignored
 * with the rest of its file, never refusing the state. A corrupt snapshot
 * takes its journal files aside with it (NAME.journal.N.corrupt.UNIXTIME);
 * without a snapshot, journal files left over are ignored (and removed by
 * the first save). Opening writes nothing else.
 * CURSOR_FILTERS_CHANGED: the file matches but for filters_hash: the
 * cursor is returned as with CURSOR_OK (end and ids carried over: the new
 * filters apply from the committed end on) and holds the new hash, which
 * the compaction the next commits start writes to the snapshot (until
 * then a start sees the old hash and carries the cursor over again); *err
 * says what differs, as for a mismatch.
 * lookback_ms is how long ids are kept: the source's lookback plus its
 * late sweep's range. Ids whose prune key is older than end - lookback_ms
 * and beyond max_ids are dropped at load. "since" (optional; 0 when
 * absent) is the begin of the first window ever read.
 */
struct cursor	*cursor_open(const char *statedir, const char *name,
		    const struct cursor_identity *, size_t max_ids,
		    int64_t lookback_ms, enum cursor_open_status *,
		    struct buf *err);
/*
 * The same, changing nothing on disk (-n, --check, --state, which may run
 * beside the daemon): the snapshot and the journal files that follow it
 * are read as a start reads them, but nothing is created, truncated,
 * compacted nor removed, and no thread is started. A corrupt snapshot is
 * left where it is (with its journal files): CURSOR_RECOVERED with *err
 * "PATH is corrupt (REASON)". If a daemon replaced the snapshot during the
 * read (a compaction), it is read again, up to 5 times. cursor_commit()
 * refuses this cursor; cursor_sync() does nothing.
 */
struct cursor	*cursor_open_readonly(const char *statedir,
		    const char *name, const struct cursor_identity *,
		    size_t max_ids, int64_t lookback_ms,
		    enum cursor_open_status *, struct buf *err);
void		 cursor_free(struct cursor *);
/* 0 if never committed. */
int64_t		 cursor_end(const struct cursor *);
/* 1 if the last open moved a corrupt file aside and nothing was committed. */
int		 cursor_after_corruption(const struct cursor *);
const char	*cursor_path(const struct cursor *);
/* O(1). */
int		 cursor_has(const struct cursor *, const char *event_id);
/*
 * Remember an id (in memory; persisted at the next commit) with its prune
 * key: the time after which it may be forgotten (the source passes
 * max(occur_time, begin of the window that returned it)). An id already
 * there is left alone; one that event_id_valid() refuses is refused
 * (returns -1), else 0.
 */
int		 cursor_add(struct cursor *, const char *event_id,
		    int64_t occur_time);
size_t		 cursor_count(const struct cursor *);
/* Bytes the tracked ids take in memory. */
size_t		 cursor_memory(const struct cursor *);
/*
 * Ids dropped for want of room (max_ids) by the last prune done (at a
 * commit or the load), and the oldest prune key kept then; 0 when none
 * were.
 */
size_t		 cursor_over_max(const struct cursor *, int64_t *oldest_kept);
/* The begin of the first window ever read (0: unknown); saved at commit. */
int64_t		 cursor_since(const struct cursor *);
void		 cursor_set_since(struct cursor *, int64_t);
/*
 * Set end = new_end (0 is allowed: ids delivered before the first window
 * was complete are saved and the next start plans the first window again),
 * drop ids with a prune key < new_end - lookback_ms (keys held to the
 * second, see idset.h), then the oldest beyond max_ids (above 65,536 ids
 * the prune is spread over the next commits, 65,536 ids looked at each,
 * and a set beyond a max_ids that large is cut to a 32nd below it), and
 * save: the
 * first save of a cursor without a snapshot writes the snapshot
 * atomically; later ones append what changed (the ids added since the
 * last save, the end, "since") to the journal with one write() and hand
 * the fdatasync to the worker thread, so the cost is linear in the new
 * ids and the loop never waits for the disk. Nothing changed: nothing is
 * written. Returns 0, or -1 with *err (appended to): what is on disk is
 * the previous state, intact (a partly written record is cut off again,
 * no .tmp is left), and the in-memory state is the new one; call again to
 * retry (committing the same end again is harmless). A failed fdatasync of
 * an earlier save is reported by the next call ("cannot sync PATH: ...").
 * A kill -9 at any instant loses no save that returned 0; a power loss
 * may lose those of the last milliseconds (their events are sent again).
 */
int		 cursor_commit(struct cursor *, int64_t new_end,
		    struct buf *err);
/*
 * Wait until every save that returned 0 is on disk (fdatasync done) and a
 * compaction under way or due is over: it blocks (for tests, tools, the
 * end of a run), never call it on the loop of a running daemon. Returns 0,
 * or -1
 * with *err (appended to) if a save could not be synced. cursor_free()
 * waits for the syncs too (it stops a compaction early) and logs such a
 * failure.
 */
int		 cursor_sync(struct cursor *, struct buf *err);
/*
 * The bytes of the journal files replayed at the open or appended to
 * since (their valid records), and how many files hold some.
 */
off_t		 cursor_journal_bytes(const struct cursor *, size_t *nfiles);
/*
 * Call fn with the path of each file of this cursor's state in the state
 * directory: the snapshot (a regular file), then every NAME.journal.N
 * (e.g. to give them to their owner after cursor_sync()).
 */
void		 cursor_each_file(const struct cursor *,
		    void (*fn)(const char *path, void *), void *arg);
/*
 * Check that statedir exists (or create it, 0700; the parent must exist)
 * and is writable (create and unlink a probe file). -1 with *err (appended
 * to, without the directory name): "cannot create it: ...", "cannot access
 * it: ...", "not a directory", "not writable: cannot create a file in it:
 * ...".
 */
int		 cursor_check_dir(const char *statedir, struct buf *err);

#endif
