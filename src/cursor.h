/*
 * cursor.c: the per-source state file STATEDIR/NAME.json (DESIGN.md
 * sections 5 and 7): the end of the last committed window and the event_id
 * dedupe set, written atomically (NAME.json.tmp, fsync, rename, fsync the
 * directory). The daemon locks the directory; nothing here locks.
 *
 * File format (one id per line so that it diffs and greps):
 *   {"version":1,"source":"NAME","project_id":"...","region":"...",
 *    "category":"host","enterprise_project_id":"0","filters_hash":"<64 hex>",
 *    "end":1700000000000,"since":1699990000000,"updated":1700000000123,
 *    "ids":[
 *   ["event id",1699999999000],
 *   ...]}
 */
#ifndef HSS_CURSOR_H
#define HSS_CURSOR_H

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
 * CURSOR_FILTERS_CHANGED: the file matches but for filters_hash: the
 * cursor is returned as with CURSOR_OK (end and ids carried over: the new
 * filters apply from the committed end on) and holds the new hash, which
 * the next commit writes; *err says what differs, as for a mismatch.
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
 * beside the daemon): a corrupt file is left where it is, CURSOR_RECOVERED
 * with *err "PATH is corrupt (REASON)"; cursor_commit() refuses this
 * cursor.
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
/*
 * Ids dropped for want of room (max_ids) at the last commit or load, and
 * the oldest prune key kept then; 0 when none were.
 */
size_t		 cursor_over_max(const struct cursor *, int64_t *oldest_kept);
/* The begin of the first window ever read (0: unknown); saved at commit. */
int64_t		 cursor_since(const struct cursor *);
void		 cursor_set_since(struct cursor *, int64_t);
/*
 * Set end = new_end (0 is allowed: ids delivered before the first window
 * was complete are saved and the next start plans the first window again),
 * drop ids with a prune key < new_end - lookback_ms, then the
 * oldest beyond max_ids, and write the file atomically. Returns 0, or -1
 * with *err (appended to): the file on disk is the previous one, intact, no
 * .tmp is left, and the in-memory state is the new one; call again to
 * retry (committing the same end again is harmless).
 */
int		 cursor_commit(struct cursor *, int64_t new_end,
		    struct buf *err);
/*
 * Check that statedir exists (or create it, 0700; the parent must exist)
 * and is writable (create and unlink a probe file). -1 with *err (appended
 * to, without the directory name): "cannot create it: ...", "cannot access
 * it: ...", "not a directory", "not writable: cannot create a file in it:
 * ...".
 */
int		 cursor_check_dir(const char *statedir, struct buf *err);

#endif
