/*
 * The per-source state: committed window end and dedupe set, as a snapshot
 * and a journal (cursor.h). The snapshot is loaded strictly (anything
 * unexpected is corruption, moved aside, never silently reset), a bad
 * journal record ends its file with a warning; saves append what changed
 * (DESIGN.md section 7) and a worker thread compacts.
 *
 * Threads: the loop owns struct cursor and the id set. One worker thread
 * (for the process, started on first use) runs jobs in order: fdatasync a
 * journal (through a dup() of its descriptor), or one step of a compaction
 * (about 1 MB of input, so that syncs are not held up long), which reads
 * only files the loop no longer writes (the snapshot and the journal files
 * before the current one) and writes NAME.json.tmp. It never touches the
 * id set (what a compaction keeps is decided by the prune keys on disk and
 * a floor computed by the loop), never calls cJSON (its error position is
 * a global) nor log.c. What the two share is under wk_mtx: the job queue,
 * each cursor's sync results and its compaction's outcome. (The thread
 * starts with the first save: a process that forks must do so before; at
 * exit it is joined if idle.)
 *
 * Why a thread and not compaction in slices on the loop: the fsyncs (of a
 * small append: 2 to 8 ms on a virtual disk; of a 56 MB snapshot: much
 * more) cannot be sliced, and a create or a rename can wait as long for
 * the filesystem's journal; the thread needs no copy of the id set and no
 * lock on it, since what it merges is on disk and immutable by then; and
 * the loop's callers need no hook to drive it.
 */
#include "autoconf.h"

#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "cursor.h"
#include "idset.h"
#include "log.h"
#include "util.h"

#define CURSOR_MAX_INT		9007199254740992.0	/* 2^53 */
#define CURSOR_CHUNK		65536
#define CURSOR_MAX_FILE		((off_t)1 << 32)
#define VALUE_MAX		(1 << 20)	/* a member of the snapshot */
#define RECORD_IDS		65536	/* bytes of ids in a journal record */
#define RECORD_MAX		(1 << 20)	/* a record's payload at most */
#define RECORD_HEAD		17	/* "1048576 0123abcd " */
#define COMPACT_MIN		((off_t)256 << 10)	/* journal bytes, min */
#define COMPACT_STEP		(1 << 20)	/* input bytes a worker step */
#define COMPACT_RETRY_MS	60000
#define PENDING_KEEP		(1 << 18)	/* buffer kept after a save */
#define PRUNE_STEP		65536	/* ids a save looks at to prune */

/* A journal file from the snapshot's first on: its number, bytes valid. */
struct jfile {
	uint64_t	 gen;
	off_t		 valid;
};

enum cp_phase { CP_OPEN, CP_SNAP, CP_JOURNAL, CP_FINISH };
enum cp_scan { SCAN_BEFORE, SCAN_IDS, SCAN_DONE };

struct rd {
	int		 fd;	/* -1: memory only */
	char		*buf;
	size_t		 len;	/* bytes in buf */
	size_t		 off;	/* the next one */
	size_t		 cap;
	size_t		 max;	/* cap at most */
	off_t		 base;	/* file offset of buf[0] */
	int		 eof;
	int		 nul;	/* a NUL byte was read */
	int		 err;	/* errno of a failed read */
};

/* A compaction: set up by the loop, then the worker's until done. */
struct compact {
	struct cursor	*c;
	char		*snap;
	char		*tmp;
	char		*dir;
	char		*name;
	struct buf	 head;		/* the new snapshot up to its ids */
	int64_t		 floor;		/* keep ids whose key (held) >= */
	int64_t		 updated;
	uint64_t	 newfirst;	/* the new snapshot's "journal" */
	struct jfile	*in;		/* the journal files merged */
	size_t		 nin;

	enum cp_phase	 phase;
	enum cp_scan	 scan;
	struct rd	 rd;
	int		 rdfd;
	size_t		 cur;		/* in[cur] is being read */
	int		 out;
	struct buf	 ob;
	size_t		 nout;		/* ids written */
	off_t		 outbytes;

	/* under wk_mtx */
	int		 cancel;
	int		 done;
	int		 renamed;	/* the new snapshot is in place */
	int		 retired;	/* the worker is done with it */
	char		*error;
};

enum job_kind { JOB_SYNC, JOB_MAKE, JOB_COMPACT };

struct job {
	TAILQ_ENTRY(job) entry;
	enum job_kind	 kind;
	struct cursor	*c;
	struct compact	*cp;	/* JOB_COMPACT */
	int		 fd;	/* JOB_SYNC: a dup() to fdatasync */
	uint64_t	 gen;	/* the journal file */
	uint64_t	 seq;	/* JOB_SYNC: the appends it covers */
};
TAILQ_HEAD(jobq, job);

struct cursor {
	char		*name;
	char		*dir;
	char		*path;
	char		*tmppath;
	char		*project_id;
	char		*region;
	char		*category;
	char		*enterprise_project_id;
	char		 filters_hash[65];
	size_t		 max_ids;
	int64_t		 lookback_ms;	/* ids are kept this long before end */
	int64_t		 end;
	int64_t		 since;		/* begin of the first window, or 0 */
	int		 after_corruption;
	int		 readonly;	/* no commit (read-only open) */
	struct idset	*ids;
	size_t		 over_max;	/* dropped by max_ids, last prune */
	int64_t		 oldest_kept;	/* ... the oldest key kept then */

	/* On disk. */
	int		 has_snapshot;
	int64_t		 snap_updated;	/* its "updated" */
	off_t		 snap_bytes;
	dev_t		 snap_dev;	/* the file read at the open */
	ino_t		 snap_ino;
	int		 rewrite;	/* compact soon (format, identity) */
	uint64_t	 jfirst;	/* the first journal file it has */
	struct jfile	*jf;		/* jfirst..jgen, those that exist */
	size_t		 njf;
	uint64_t	 jgen;		/* the file appended to */
	int		 jcreate;	/* ... not made yet */
	int		 jstale;	/* files to remove at the next save */
	int		 jfd;
	off_t		 jlen;		/* its valid bytes */
	int64_t		 saved_end;	/* as last written */
	int64_t		 saved_since;
	struct buf	 pending;	/* ["id",t]\n of ids not yet saved */
	size_t		 npending;
	size_t		 load_mark;	/* prune when replay passes it */
	int64_t		 compact_after;	/* mono */
	struct compact	*cp;

	/* Under wk_mtx. */
	uint64_t	 wseq;		/* appends made (the loop's) */
	uint64_t	 synced;	/* appends durable */
	int		 sync_err;	/* errno of a failed fdatasync */
	uint64_t	 sync_err_gen;
	struct job	*sj;		/* a sync not started yet */
	int		 jobs;		/* queued or running */
	int		 make;		/* the next journal file: MAKE_* */
	uint64_t	 make_gen;
	int		 make_fd;
	char		*make_err;
};

/* The worker makes the next journal file (ext4 may hold a create on the
 * loop for as long as a concurrent fsync commits). */
enum { MAKE_NONE, MAKE_QUEUED, MAKE_READY, MAKE_FAILED };

static pthread_mutex_t	 wk_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 wk_cv = PTHREAD_COND_INITIALIZER;
static pthread_cond_t	 wk_done = PTHREAD_COND_INITIALIZER;
static struct jobq	 wk_jobs = TAILQ_HEAD_INITIALIZER(wk_jobs);
static int		 wk_started;
static int		 wk_stop;	/* at exit: the idle worker returns */
static int		 wk_busy;	/* a job is running */
static pthread_t	 wk_thread;
static pid_t		 wk_pid;	/* the process that started it */
static int		 wk_compacting;	/* compactions under way (<= 1) */

static uint32_t		 crc_table[256];
static pthread_once_t	 crc_once = PTHREAD_ONCE_INIT;

static void	cursor_prune(struct cursor *);

static void
crc_init(void)
{
	uint32_t	 c;
	int		 i, k;

	for (i = 0; i < 256; i++) {
		c = (uint32_t)i;
		for (k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

/* CRC-32 (ISO HDLC: zlib's crc32(), Python's zlib.crc32()). */
static uint32_t
crc32_iso(const void *data, size_t len)
{
	const unsigned char	*p = data;
	uint32_t		 c = 0xffffffffu;
	size_t			 i;

	pthread_once(&crc_once, crc_init);
	for (i = 0; i < len; i++)
		c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

/* Escape '%', '=' and '\n' so that "k=v\n" lines stay unambiguous. */
static void
hash_escaped(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '%')
			buf_adds(b, "%25");
		else if (*s == '=')
			buf_adds(b, "%3D");
		else if (*s == '\n')
			buf_adds(b, "%0A");
		else
			buf_addc(b, *s);
	}
}

static int
kv_cmp(const void *a, const void *b)
{
	const struct kv	*const *x = a, *const *y = b;
	int		 r;

	if ((r = strcmp((*x)->key, (*y)->key)) != 0)
		return r;
	return strcmp((*x)->value, (*y)->value);
}

void
cursor_filters_hash(const struct kv *filters, size_t n, char out[65])
{
	const struct kv	**sorted;
	struct buf	 b;
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0, i;
	size_t		 j;

	buf_init(&b);
	buf_reserve(&b, 1);
	sorted = xreallocarray(NULL, n == 0 ? 1 : n, sizeof(*sorted));
	for (j = 0; j < n; j++)
		sorted[j] = &filters[j];
	qsort(sorted, n, sizeof(*sorted), kv_cmp);
	for (j = 0; j < n; j++) {
		hash_escaped(&b, sorted[j]->key);
		buf_addc(&b, '=');
		hash_escaped(&b, sorted[j]->value);
		buf_addc(&b, '\n');
	}
	if (EVP_Digest(b.data, b.len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != 32)
		fatalx("cursor: SHA-256 failed");
	for (i = 0; i < mdlen; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = '\0';
	free(sorted);
	buf_free(&b);
}

/* A value from a state file or the config, quoted for a log line. */
static void
add_quoted(struct buf *b, const char *s)
{
	size_t	 i;

	buf_addc(b, '"');
	for (i = 0; s[i] != '\0'; i++) {
		if (i == 100) {
			buf_adds(b, "...");
			break;
		}
		if (s[i] == '"' || s[i] == '\\')
			buf_printf(b, "\\%c", s[i]);
		else if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			buf_printf(b, "\\x%02x", (unsigned char)s[i]);
		else
			buf_addc(b, s[i]);
	}
	buf_addc(b, '"');
}

/* JSON string (RFC 8259 section 7): bytes >= 0x80 pass through. */
static void
add_json_string(struct buf *b, const char *s)
{
	buf_addc(b, '"');
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '"':
			buf_adds(b, "\\\"");
			break;
		case '\\':
			buf_adds(b, "\\\\");
			break;
		case '\n':
			buf_adds(b, "\\n");
			break;
		case '\r':
			buf_adds(b, "\\r");
			break;
		case '\t':
			buf_adds(b, "\\t");
			break;
		default:
			if ((unsigned char)*s < 0x20)
				buf_printf(b, "\\u%04x", (unsigned char)*s);
			else
				buf_addc(b, *s);
		}
	}
	buf_addc(b, '"');
}

static char *
journal_path(const char *dir, const char *name, uint64_t gen)
{
	return xasprintf("%s/%s.journal.%llu", dir, name,
	    (unsigned long long)gen);
}

/* The number N of a file name "NAME.journal.N", or 0. */
static uint64_t
journal_gen_of(const char *name, const char *file)
{
	size_t		 n = strlen(name);
	uint64_t	 g = 0;
	const char	*p;

	if (strncmp(file, name, n) != 0 || strncmp(file + n, ".journal.",
	    9) != 0)
		return 0;
	p = file + n + 9;
	if (*p < '1' || *p > '9')
		return 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (g > (UINT64_MAX - 9) / 10)
			return 0;
		g = g * 10 + (uint64_t)(*p - '0');
	}
	return *p == '\0' ? g : 0;
}

static struct cursor *
cursor_new(const char *statedir, const char *name,
    const struct cursor_identity *id, size_t max_ids, int64_t lookback_ms)
{
	struct cursor	*c;

	c = xcalloc(1, sizeof(*c));
	c->name = xstrdup(name);
	c->dir = xstrdup(statedir);
	c->path = xasprintf("%s/%s.json", statedir, name);
	c->tmppath = xasprintf("%s.tmp", c->path);
	c->project_id = xstrdup(id->project_id);
	c->region = xstrdup(id->region);
	c->category = xstrdup(id->category);
	c->enterprise_project_id = xstrdup(id->enterprise_project_id != NULL ?
	    id->enterprise_project_id : "0");
	memcpy(c->filters_hash, id->filters_hash, sizeof(c->filters_hash));
	c->filters_hash[64] = '\0';
	c->max_ids = max_ids;
	c->lookback_ms = lookback_ms;
	c->ids = idset_new();
	c->jfd = -1;
	c->make_fd = -1;
	buf_init(&c->pending);
	return c;
}

int64_t
cursor_end(const struct cursor *c)
{
	return c->end;
}

int
cursor_after_corruption(const struct cursor *c)
{
	return c->after_corruption;
}

const char *
cursor_path(const struct cursor *c)
{
	return c->path;
}

/*
 * Drop the ids whose prune key is older than end - lookback_ms, then the
 * oldest beyond max_ids, remembering how many went for want of room. With
 * budget (ids to look at), the prune goes on at the next calls when the
 * set is larger (bigger sets are cut to max_ids less a 32nd, so that the
 * cut, a few passes over the set, comes once every max_ids / 32 new ids).
 */
static void
cursor_prune_some(struct cursor *c, size_t budget)
{
	size_t	 by_age, by_count;

	idset_prune_start(c->ids, c->end - c->lookback_ms, c->max_ids,
	    c->max_ids >= PRUNE_STEP ? c->max_ids / 32 : 0);
	if (!idset_prune_step(c->ids, budget, &by_age, &by_count))
		return;
	c->over_max = by_count;
	if (c->over_max > 0)
		c->oldest_kept = idset_oldest(c->ids);
}

static void
cursor_prune(struct cursor *c)
{
	cursor_prune_some(c, SIZE_MAX);
}

size_t
cursor_over_max(const struct cursor *c, int64_t *oldest_kept)
{
	*oldest_kept = c->over_max > 0 ? c->oldest_kept : 0;
	return c->over_max;
}

int64_t
cursor_since(const struct cursor *c)
{
	return c->since;
}

void
cursor_set_since(struct cursor *c, int64_t since)
{
	c->since = since;
}

int
cursor_has(const struct cursor *c, const char *event_id)
{
	return idset_has(c->ids, event_id, strlen(event_id));
}

int
cursor_add(struct cursor *c, const char *event_id, int64_t occur_time)
{
	switch (idset_add(c->ids, event_id, strlen(event_id), occur_time)) {
	case -1:
		return -1;
	case 1:
		buf_addc(&c->pending, '[');
		add_json_string(&c->pending, event_id);
		buf_printf(&c->pending, ",%lld]\n", (long long)occur_time);
		c->npending++;
		break;
	}
	return 0;
}

size_t
cursor_count(const struct cursor *c)
{
	return idset_count(c->ids);
}

size_t
cursor_memory(const struct cursor *c)
{
	return idset_memory(c->ids);
}

/* A JSON number that is an integer in [min, 2^53]. */
static int
json_int(const cJSON *j, int64_t min, int64_t *out)
{
	double	 d;

	if (!cJSON_IsNumber(j))
		return -1;
	d = j->valuedouble;
	if (!isfinite(d) || d != floor(d) || d < (double)min ||
	    d > CURSOR_MAX_INT)
		return -1;
	*out = (int64_t)d;
	return 0;
}

/* -- reading: JSON values in a sliding window --------------------------- */

enum js { JS_OK, JS_MORE, JS_BAD, JS_ERR };

/* What cJSON skips as space: any byte up to 0x20 (NUL files are refused). */
static int
js_space(int ch)
{
	return ch > 0 && ch <= ' ';
}

static int
js_scalar(int ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
	    (ch >= 'A' && ch <= 'Z') || ch == '+' || ch == '-' || ch == '.';
}

/*
 * The extent of the JSON value at p (no space before it) in [p, end): *next
 * is just after it. Strings and nesting are followed, not checked (cJSON
 * or the caller checks the value). eof: nothing follows end.
 */
static enum js
js_skip(const char *p, const char *end, int eof, const char **next)
{
	const char	*q;
	int		 depth = 0, instr = 0;

	if (p == end)
		return eof ? JS_BAD : JS_MORE;
	if (*p == '"' || *p == '[' || *p == '{') {
		for (q = p; q < end; q++) {
			if (instr) {
				if (*q == '\\') {
					if (++q == end)
						break;
				} else if (*q == '"') {
					instr = 0;
					if (depth == 0) {
						*next = q + 1;
						return JS_OK;
					}
				}
			} else if (*q == '"')
				instr = 1;
			else if (*q == '[' || *q == '{')
				depth++;
			else if ((*q == ']' || *q == '}') && --depth == 0) {
				*next = q + 1;
				return JS_OK;
			}
		}
		return eof ? JS_BAD : JS_MORE;
	}
	for (q = p; q < end && js_scalar((unsigned char)*q); q++)
		;
	if (q == p)
		return JS_BAD;
	if (q == end && !eof)
		return JS_MORE;
	*next = q;
	return JS_OK;
}

static void
rd_init(struct rd *r, int fd, size_t max)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->max = max;
}

/* A reader of len bytes at data (borrowed). */
static void
rd_mem(struct rd *r, const char *data, size_t len)
{
	rd_init(r, -1, len);
	r->buf = (char *)(uintptr_t)data;
	r->len = r->cap = len;
	r->eof = 1;
}

static void
rd_free(struct rd *r)
{
	if (r->fd != -1)
		free(r->buf);
	r->buf = NULL;
}

/* Read more: 1 if some came, 0 at the end or without room, -1 an error. */
static int
rd_fill(struct rd *r)
{
	ssize_t	 n;

	if (r->eof || r->fd == -1)
		return 0;
	if (r->off > 0) {
		memmove(r->buf, r->buf + r->off, r->len - r->off);
		r->base += (off_t)r->off;
		r->len -= r->off;
		r->off = 0;
	}
	if (r->len == r->cap) {
		if (r->cap >= r->max)
			return 0;
		r->cap = r->cap == 0 ? CURSOR_CHUNK : 2 * r->cap;
		if (r->cap > r->max)
			r->cap = r->max;
		r->buf = xreallocarray(r->buf, r->cap, 1);
	}
	do
		n = read(r->fd, r->buf + r->len, r->cap - r->len);
	while (n == -1 && errno == EINTR);
	if (n == -1) {
		r->err = errno;
		return -1;
	}
	if (n == 0) {
		r->eof = 1;
		return 0;
	}
	if (memchr(r->buf + r->len, '\0', (size_t)n) != NULL)
		r->nul = 1;
	r->len += (size_t)n;
	return 1;
}

/* The file offset of the next byte. */
static off_t
rd_pos(const struct rd *r)
{
	return r->base + (off_t)r->off;
}

/* The next byte but spaces, not consumed; -1 at the end, -2 an error. */
static int
rd_peek(struct rd *r)
{
	for (;;) {
		while (r->off < r->len && js_space(r->buf[r->off]))
			r->off++;
		if (r->off < r->len)
			return (unsigned char)r->buf[r->off];
		switch (rd_fill(r)) {
		case 1:
			continue;
		case 0:
			return -1;
		default:
			return -2;
		}
	}
}

/* Consume ch if it comes next (after spaces). */
static int
rd_take(struct rd *r, int ch)
{
	if (rd_peek(r) != ch)
		return 0;
	r->off++;
	return 1;
}

/* The next value (after spaces), whole in the window: [*p, *q), consumed. */
static enum js
rd_value(struct rd *r, const char **p, const char **q)
{
	enum js	 st;
	int	 f;

	if ((f = rd_peek(r)) < 0)
		return f == -2 ? JS_ERR : JS_BAD;
	for (;;) {
		st = js_skip(r->buf + r->off, r->buf + r->len, r->eof, q);
		if (st != JS_MORE)
			break;
		if ((f = rd_fill(r)) == -1)
			return JS_ERR;
		if (f == 0 && !r->eof)
			return JS_BAD;		/* larger than the window */
	}
	if (st == JS_OK) {
		*p = r->buf + r->off;
		r->off = (size_t)(*q - r->buf);
	}
	return st;
}

/* The value [p, q) parsed, if it is exactly one JSON value; else NULL. */
static cJSON *
parse_span(const char *p, const char *q)
{
	const char	*next = NULL;
	cJSON		*v;

	/* Never a byte order mark: only a file may start with one. */
	if (p == q || (unsigned char)*p == 0xef)
		return NULL;
	v = cJSON_ParseWithLengthOpts(p, (size_t)(q - p), &next, 0);
	if (v != NULL && next != q) {
		cJSON_Delete(v);
		v = NULL;
	}
	return v;
}

/*
 * Whether the JSON string [p, q) (quotes included) says "ids" as cJSON
 * reads a member name (the loop's loading): escapes decoded (only ASCII
 * ones can), and a \u0000 ends the name ("ids\u0000..." is "ids": the
 * snapshot's ids would be loaded, and lost at its compaction).
 */
static int
key_is_ids(const char *p, const char *q)
{
	char		 s[4];
	size_t		 n = 0;
	unsigned int	 u;
	int		 i, h;

	if (q - p < 2 || *p != '"' || q[-1] != '"')
		return 0;
	for (p++, q--; p < q; p++) {
		if (*p != '\\') {
			if (n == 3)
				return 0;
			s[n++] = *p;
			continue;
		}
		if (++p == q)
			return 0;
		if (*p != 'u') {
			if (n == 3)
				return 0;
			s[n++] = *p;	/* \" \\ \/ and the rest: not "ids" */
			continue;
		}
		for (u = 0, i = 0; i < 4; i++) {
			if (++p == q)
				return 0;
			h = *p >= '0' && *p <= '9' ? *p - '0' :
			    *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 :
			    *p >= 'A' && *p <= 'F' ? *p - 'A' + 10 : -1;
			if (h < 0)
				return 0;
			u = u << 4 | (unsigned int)h;
		}
		if (u == 0)
			break;
		if (u > 0x7f || n == 3)
			return 0;
		s[n++] = (char)u;
	}
	return n == 3 && memcmp(s, "ids", 3) == 0;
}

/* -- reading: the snapshot ------------------------------------------------- */

/*
 * Read the whole file into b: opened as every file is (file_open_regular():
 * never blocking, a regular file only). -1 with errno (ENOENT: no file) and
 * *why.
 */
static int
read_file(const char *path, struct buf *b, const char **why)
{
	struct stat	 st;
	char		 chunk[CURSOR_CHUNK];
	ssize_t		 n;
	int		 fd, saved;

	if ((fd = file_open_regular(path, &st, why)) == -1)
		return -1;
	if (st.st_size > CURSOR_MAX_FILE) {
		errno = EFBIG;
		goto fail;
	}
	buf_reserve(b, (size_t)st.st_size + 1);
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		if (n == 0)
			break;
		buf_add(b, chunk, (size_t)n);
	}
	close(fd);
	return 0;
fail:
	saved = errno;
	*why = strerror(saved);
	close(fd);
	errno = saved;
	return -1;
}

enum pair_status {
	PAIR_OK,
	PAIR_SHAPE,	/* not a two-element array */
	PAIR_ID,	/* the event_id is not a string of 1-64 characters */
	PAIR_TIME,	/* the occur_time is not an integer >= 0 */
};

/* One "ids" element: an [event_id, occur_time] pair as the file holds it. */
static enum pair_status
pair_check(const cJSON *pair, int64_t *t, size_t *len)
{
	const cJSON	*id = cJSON_IsArray(pair) ? pair->child : NULL;
	const cJSON	*tj = id != NULL ? id->next : NULL;

	if (tj == NULL || tj->next != NULL)
		return PAIR_SHAPE;
	*len = cJSON_IsString(id) ? strlen(id->valuestring) : 0;
	if (!cJSON_IsString(id) || event_id_valid(id->valuestring, *len,
	    NULL) == -1)
		return PAIR_ID;
	if (json_int(tj, 0, t) == -1)
		return PAIR_TIME;
	return PAIR_OK;
}

/*
 * Check the parsed document. Returns 0, or -1 with the reason in *why.
 */
static int
check_document(const cJSON *root, struct buf *why, size_t *nids,
    size_t *idbytes)
{
	static const char *const strs[] = { "source", "project_id", "region",
	    "category", "enterprise_project_id", "filters_hash" };
	const cJSON	*j, *pair;
	int64_t		 v;
	size_t		 i, len;

	if (!cJSON_IsObject(root)) {
		buf_adds(why, "not a JSON object");
		return -1;
	}
	if ((j = cJSON_GetObjectItemCaseSensitive(root, "version")) == NULL) {
		buf_adds(why, "no \"version\"");
		return -1;
	}
	if (json_int(j, 0, &v) == -1 || v != CURSOR_VERSION) {
		buf_printf(why, "\"version\" is not %d", CURSOR_VERSION);
		return -1;
	}
	for (i = 0; i < HSS_ARRAY_LEN(strs); i++) {
		j = cJSON_GetObjectItemCaseSensitive(root, strs[i]);
		if (j == NULL) {
			buf_printf(why, "no \"%s\"", strs[i]);
			return -1;
		}
		if (!cJSON_IsString(j)) {
			buf_printf(why, "\"%s\" is not a string", strs[i]);
			return -1;
		}
	}
	if ((j = cJSON_GetObjectItemCaseSensitive(root, "end")) == NULL) {
		buf_adds(why, "no \"end\"");
		return -1;
	}
	if (json_int(j, 0, &v) == -1) {
		buf_adds(why, "\"end\" is not a non-negative integer");
		return -1;
	}
	if ((j = cJSON_GetObjectItemCaseSensitive(root, "updated")) == NULL) {
		buf_adds(why, "no \"updated\"");
		return -1;
	}
	if (json_int(j, 0, &v) == -1) {
		buf_adds(why, "\"updated\" is not an integer");
		return -1;
	}
	if ((j = cJSON_GetObjectItemCaseSensitive(root, "journal")) != NULL &&
	    json_int(j, 1, &v) == -1) {
		buf_adds(why, "\"journal\" is not a positive integer");
		return -1;
	}
	if ((j = cJSON_GetObjectItemCaseSensitive(root, "ids")) == NULL) {
		buf_adds(why, "no \"ids\"");
		return -1;
	}
	if (!cJSON_IsArray(j)) {
		buf_adds(why, "\"ids\" is not an array");
		return -1;
	}
	i = 0;
	cJSON_ArrayForEach(pair, j) {
		switch (pair_check(pair, &v, &len)) {
		case PAIR_SHAPE:
			buf_printf(why, "\"ids\"[%zu] is not an [event_id, "
			    "occur_time] pair", i);
			return -1;
		case PAIR_ID:
			buf_printf(why, "\"ids\"[%zu]: the event_id is not a "
			    "string of 1-%d characters", i, EVENT_ID_MAX);
			return -1;
		case PAIR_TIME:
			buf_printf(why, "\"ids\"[%zu]: the occur_time is not "
			    "an integer", i);
			return -1;
		case PAIR_OK:
			break;
		}
		*idbytes += len + 1;
		i++;
	}
	*nids = i;
	return 0;
}

/*
 * Load without a parse tree of the whole file, nor the whole file (at
 * 1,000,000 ids that tree is about 280 MB, the file 56 MB): the top-level
 * object is read member by member through a window of at most VALUE_MAX
 * bytes, "ids" element by element straight into c->ids. It accepts only a
 * well-formed file with well-formed ids; on anything else it returns NULL
 * (*ioerr: errno if reading failed) and the caller parses the whole file
 * to say exactly what is wrong. Returns the other members, with "ids" as
 * an empty array.
 */
static cJSON *
load_streaming(struct cursor *c, int fd, int *ioerr)
{
	struct rd	 r;
	const char	*p, *q;
	cJSON		*hdr, *key = NULL, *v = NULL;
	int64_t		 t;
	size_t		 idlen;

	rd_init(&r, fd, VALUE_MAX);
	hdr = cJSON_CreateObject();
	if (!rd_take(&r, '{'))
		goto fail;
	for (;;) {
		if (rd_value(&r, &p, &q) != JS_OK ||
		    (key = parse_span(p, q)) == NULL || !cJSON_IsString(key) ||
		    cJSON_GetObjectItemCaseSensitive(hdr, key->valuestring) !=
		    NULL || !rd_take(&r, ':'))
			goto fail;
		if (strcmp(key->valuestring, "ids") == 0) {
			if (!rd_take(&r, '['))
				goto fail;
			if (!rd_take(&r, ']')) for (;;) {
				if (rd_value(&r, &p, &q) != JS_OK ||
				    (v = parse_span(p, q)) == NULL ||
				    pair_check(v, &t, &idlen) != PAIR_OK)
					goto fail;
				idset_add_max(c->ids, v->child->valuestring,
				    idlen, t);
				cJSON_Delete(v);
				v = NULL;
				if (rd_take(&r, ']'))
					break;
				if (!rd_take(&r, ','))
					goto fail;
			}
			v = cJSON_CreateArray();
		} else if (rd_value(&r, &p, &q) != JS_OK ||
		    (v = parse_span(p, q)) == NULL)
			goto fail;
		cJSON_AddItemToObject(hdr, key->valuestring, v);
		v = NULL;
		cJSON_Delete(key);
		key = NULL;
		if (rd_take(&r, '}'))
			break;
		if (!rd_take(&r, ','))
			goto fail;
	}
	if (rd_peek(&r) != -1 || r.nul)
		goto fail;
	rd_free(&r);
	return hdr;
fail:
	*ioerr = r.err;
	rd_free(&r);
	cJSON_Delete(key);
	cJSON_Delete(v);
	cJSON_Delete(hdr);
	return NULL;
}

/* Compare one identity field; append the difference to *diff. */
static void
compare_field(struct buf *diff, const char *field, const char *infile,
    const char *inconfig)
{
	if (strcmp(infile, inconfig) == 0)
		return;
	if (diff->len > 0)
		buf_adds(diff, "; ");
	buf_printf(diff, "%s is ", field);
	add_quoted(diff, infile);
	buf_adds(diff, " in the state file, ");
	add_quoted(diff, inconfig);
	buf_adds(diff, " in the config");
}

static const char *
json_str(const cJSON *root, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(root, key)->valuestring;
}

/* PATH.corrupt.TIME not taken yet (never over another), or NULL. */
static char *
aside_path(const char *path, long long now)
{
	struct stat	 st;
	char		*to = NULL;
	int		 i;

	for (i = 0; i < 100; i++) {
		free(to);
		if (i == 0)
			to = xasprintf("%s.corrupt.%lld", path, now);
		else
			to = xasprintf("%s.corrupt.%lld.%d", path, now, i);
		if (lstat(to, &st) == -1 && errno == ENOENT)
			return to;
	}
	free(to);
	return NULL;
}

/*
 * Call fn on each journal file of this cursor in the state directory
 * (whatever its number), with its path and number.
 */
static void
journal_each(const struct cursor *c, void (*fn)(const struct cursor *,
    const char *, uint64_t, void *), void *arg)
{
	struct dirent	*de;
	DIR		*d;
	char		*path;
	uint64_t	 gen;

	if ((d = opendir(c->dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if ((gen = journal_gen_of(c->name, de->d_name)) == 0)
			continue;
		path = xasprintf("%s/%s", c->dir, de->d_name);
		fn(c, path, gen, arg);
		free(path);
	}
	closedir(d);
}

static void
journal_aside_one(const struct cursor *c, const char *path, uint64_t gen,
    void *arg)
{
	char	*to;

	(void)c;
	(void)gen;
	if ((to = aside_path(path, *(long long *)arg)) != NULL) {
		if (rename(path, to) == -1)
			log_warn("cannot move %s aside to %s", path, to);
		free(to);
	}
}

/* Move a corrupt file aside to PATH.corrupt.TIME, its journal files too. */
static int
move_aside(struct cursor *c, const char *why, struct buf *err)
{
	long long	 now = (long long)time(NULL);
	char		*to;

	if ((to = aside_path(c->path, now)) == NULL) {
		buf_printf(err, "%s is corrupt (%s) and cannot be moved aside "
		    "to %s.corrupt.%lld: too many corrupt files", c->path, why,
		    c->path, now);
		return -1;
	}
	if (rename(c->path, to) == -1) {
		buf_printf(err, "%s is corrupt (%s) and cannot be moved aside "
		    "to %s: %s", c->path, why, to, strerror(errno));
		free(to);
		return -1;
	}
	buf_printf(err, "%s is corrupt (%s); moved to %s", c->path, why, to);
	free(to);
	journal_each(c, journal_aside_one, &now);
	return 0;
}

/* -- reading: the journal ------------------------------------------------ */

/*
 * The next record of r: 1 with its payload [*pl, *pl + *len) (valid until
 * the next call), 0 at the end of the data, -1 when it is cut short or
 * does not check (*why), -2 a read error (errno in r->err).
 */
static int
record_next(struct rd *r, const char **pl, size_t *len, const char **why)
{
	const char	*b;
	uint32_t	 crc = 0;
	size_t		 i, n, l = 0, avail;
	int		 f, h;

	for (;;) {
		avail = r->len - r->off;
		if (avail >= RECORD_HEAD || r->eof)
			break;
		if ((f = rd_fill(r)) == -1)
			return -2;
		if (f == 0 && !r->eof)
			break;
	}
	if (avail == 0 && r->eof)
		return 0;
	b = r->buf + r->off;
	for (i = 0; i < avail && i < 8 && b[i] >= '0' && b[i] <= '9'; i++)
		l = l * 10 + (size_t)(b[i] - '0');
	n = i;
	if (i == avail) {
		*why = "a torn record";
		return -1;
	}
	if (n == 0 || n > 7 || b[i] != ' ' || l > RECORD_MAX ||
	    (b[0] == '0' && n > 1)) {
		*why = "a record with a bad length";
		return -1;
	}
	for (i = n + 1; i < avail && i < n + 9; i++) {
		h = b[i] >= '0' && b[i] <= '9' ? b[i] - '0' :
		    b[i] >= 'a' && b[i] <= 'f' ? b[i] - 'a' + 10 : -1;
		if (h < 0) {
			*why = "a record with a bad checksum field";
			return -1;
		}
		crc = crc << 4 | (uint32_t)h;
	}
	if (i < n + 9 || i == avail) {
		*why = "a torn record";
		return -1;
	}
	if (b[i] != ' ') {
		*why = "a record with a bad checksum field";
		return -1;
	}
	n += 10;			/* the head */
	while (r->len - r->off < n + l + 1) {
		if ((f = rd_fill(r)) == -1)
			return -2;
		if (f == 0) {
			*why = "a torn record";
			return -1;
		}
	}
	b = r->buf + r->off;
	if (b[n + l] != '\n') {
		*why = "a record without its end of line";
		return -1;
	}
	if (crc32_iso(b + n, l) != crc) {
		*why = "a record with a bad checksum";
		return -1;
	}
	*pl = b + n;
	*len = l;
	r->off += n + l + 1;
	return 1;
}

/*
 * Apply a journal record of file gen: its header (first), or the ids, end
 * and since a save wrote. -1 if it is not such a record (nothing applied).
 */
static int
record_apply(struct cursor *c, const char *pl, size_t len, uint64_t gen,
    int first, int64_t *after)
{
	const cJSON	*j, *pair;
	cJSON		*root;
	int64_t		 v, end, since = 0, t;
	size_t		 idlen;
	int		 rc = -1;

	if ((root = parse_span(pl, pl + len)) == NULL ||
	    !cJSON_IsObject(root))
		goto done;
	if (first) {
		if (json_int(cJSON_GetObjectItemCaseSensitive(root, "journal"),
		    1, &v) == -1 || (uint64_t)v != gen ||
		    json_int(cJSON_GetObjectItemCaseSensitive(root, "after"),
		    0, after) == -1)
			goto done;
		rc = 0;
		goto done;
	}
	if (json_int(cJSON_GetObjectItemCaseSensitive(root, "end"), 0,
	    &end) == -1 || json_int(cJSON_GetObjectItemCaseSensitive(root,
	    "updated"), 0, &v) == -1 ||
	    ((j = cJSON_GetObjectItemCaseSensitive(root, "since")) != NULL &&
	    json_int(j, 0, &since) == -1) ||
	    !cJSON_IsArray(j = cJSON_GetObjectItemCaseSensitive(root, "ids")))
		goto done;
	cJSON_ArrayForEach(pair, j)
		if (pair_check(pair, &t, &idlen) != PAIR_OK)
			goto done;
	cJSON_ArrayForEach(pair, j) {
		pair_check(pair, &t, &idlen);
		idset_add_max(c->ids, pair->child->valuestring, idlen, t);
	}
	c->end = end;
	if (since > 0)
		c->since = since;
	/* Keep memory bounded while a long journal is replayed. */
	if (idset_count(c->ids) > c->load_mark) {
		cursor_prune(c);
		c->load_mark = idset_count(c->ids) * 5 / 4 + 4096;
	}
	rc = 0;
done:
	cJSON_Delete(root);
	return rc;
}

static void
jfile_set(struct cursor *c, uint64_t gen, off_t valid)
{
	size_t	 i;

	for (i = 0; i < c->njf; i++) {
		if (c->jf[i].gen == gen) {
			c->jf[i].valid = valid;
			return;
		}
	}
	c->jf = xreallocarray(c->jf, c->njf + 1, sizeof(*c->jf));
	c->jf[c->njf].gen = gen;
	c->jf[c->njf++].valid = valid;
}

static off_t
journal_bytes(const struct cursor *c)
{
	off_t	 n = 0;
	size_t	 i;

	for (i = 0; i < c->njf; i++)
		n += c->jf[i].valid;
	return n;
}

/*
 * Replay one journal file: its records up to the first that does not
 * check (logged with the offset). *hdr: its header was good (with *after).
 * need_after >= 0: apply nothing unless the header's "after" is that.
 * Returns the bytes that are valid.
 */
static off_t
replay_file(struct cursor *c, int fd, const char *path, uint64_t gen,
    int64_t need_after, int *hdr, int64_t *after)
{
	struct rd	 r;
	const char	*pl, *why = NULL;
	size_t		 len;
	off_t		 valid = 0, at;
	int		 rc;

	*hdr = 0;
	rd_init(&r, fd, RECORD_MAX + 64);
	for (;;) {
		at = rd_pos(&r);
		rc = record_next(&r, &pl, &len, &why);
		if (rc == 0)
			break;
		if (rc == -2) {
			log_warnx("source \"%s\": state journal %s: cannot "
			    "read it at offset %lld: %s; ignoring the rest of "
			    "it", c->name, path, (long long)at,
			    strerror(r.err));
			break;
		}
		if (rc == 1 && record_apply(c, pl, len, gen, !*hdr, after) ==
		    -1) {
			rc = -1;
			why = *hdr ? "a record that is not a save" :
			    "no journal header";
		}
		if (rc == -1) {
			log_warnx("source \"%s\": state journal %s: %s at "
			    "offset %lld; ignoring it and the rest of the "
			    "file", c->name, path, why, (long long)at);
			break;
		}
		if (!*hdr) {
			*hdr = 1;
			if (need_after >= 0 && *after != need_after)
				break;
		}
		valid = rd_pos(&r);
	}
	rd_free(&r);
	return valid;
}

/*
 * Replay the journal files that follow the snapshot, in order, while they
 * exist, and choose the file the next save appends to. A snapshot of an
 * earlier version (journal_first 0) is followed by NAME.journal.1 only if
 * that file says it was made after it (its header's "after" is the
 * snapshot's "updated"); otherwise the files there are left from before
 * it: ignored, and removed by the next save.
 */
static void
journal_replay(struct cursor *c, uint64_t journal_first)
{
	struct stat	 st;
	const char	*why;
	char		*path;
	uint64_t	 gen;
	int64_t		 after = 0;
	off_t		 valid;
	int		 fd, hdr = 0;

	c->jfirst = journal_first > 0 ? journal_first : 1;
	c->load_mark = idset_count(c->ids) * 5 / 4 + 4096;
	for (gen = c->jfirst;; gen++) {
		path = journal_path(c->dir, c->name, gen);
		if ((fd = file_open_regular(path, &st, &why)) == -1) {
			if (errno == ENOENT) {
				free(path);
				break;
			}
			log_warnx("source \"%s\": state journal %s: cannot "
			    "read it: %s; ignoring it", c->name, path, why);
			jfile_set(c, gen, 0);
			hdr = 0;
			free(path);
			continue;
		}
		valid = replay_file(c, fd, path, gen, journal_first == 0 &&
		    gen == 1 ? c->snap_updated : -1, &hdr, &after);
		close(fd);
		free(path);
		if (journal_first == 0 && gen == 1 && (!hdr ||
		    after != c->snap_updated)) {
			/* Older than the snapshot: nothing was applied. */
			c->jstale = 1;
			c->njf = 0;
			gen = 1;
			hdr = 0;
			break;
		}
		jfile_set(c, gen, valid);
	}
	if (c->njf > 0 && hdr) {
		/* The last file goes on (its torn end cut at the next save). */
		c->jgen = c->jf[c->njf - 1].gen;
		c->jlen = c->jf[c->njf - 1].valid;
		c->jcreate = 0;
	} else {
		c->jgen = gen;
		c->jlen = 0;
		c->jcreate = 1;
	}
	if (journal_first == 0)
		c->rewrite = 1;		/* to the current format, soon */
	c->jstale = 1;			/* anything else there goes */
}

static struct cursor *
open_state(const char *statedir, const char *name,
    const struct cursor_identity *ident, size_t max_ids, int64_t lookback_ms,
    int readonly, enum cursor_open_status *status, struct buf *err)
{
	struct cursor	*c;
	struct stat	 st;
	struct buf	 data, why, diff;
	cJSON		*root = NULL;
	const cJSON	*pair;
	const char	*parse_end = NULL, *rwhy;
	size_t		 nids = 0, idbytes = 0;
	int64_t		 t, jfirst = 0;
	int		 streamed = 0, fd, ioerr = 0, filters_changed = 0;

	buf_init(&data);
	buf_init(&why);
	buf_init(&diff);
	c = cursor_new(statedir, name, ident, max_ids, lookback_ms);
	c->readonly = readonly;
	*status = CURSOR_ERROR;
	if ((fd = file_open_regular(c->path, &st, &rwhy)) == -1) {
		if (errno == ENOENT) {
			*status = CURSOR_NEW;
			goto done;
		}
		buf_printf(err, "cannot read %s: %s", c->path, rwhy);
		goto fail;
	}
	if (st.st_size > CURSOR_MAX_FILE) {
		close(fd);
		buf_printf(err, "cannot read %s: %s", c->path, strerror(EFBIG));
		goto fail;
	}
	root = load_streaming(c, fd, &ioerr);
	close(fd);
	if (ioerr != 0) {
		buf_printf(err, "cannot read %s: %s", c->path,
		    strerror(ioerr));
		goto fail;
	}
	if (root != NULL && check_document(root, &why, &nids, &idbytes) == 0)
		streamed = 1;
	else {
		/* Not a file as we write them: the whole tree says why. */
		cJSON_Delete(root);
		buf_reset(&why);
		idset_free(c->ids);
		c->ids = idset_new();
		nids = idbytes = 0;
		if (read_file(c->path, &data, &rwhy) == -1) {
			buf_printf(err, "cannot read %s: %s", c->path, rwhy);
			goto fail;
		}
		if (data.len == 0)
			buf_adds(&why, "the file is empty");
		else if (memchr(data.data, '\0', data.len) != NULL)
			buf_adds(&why, "the file holds a NUL byte");
		else if ((root = cJSON_ParseWithLengthOpts(data.data,
		    data.len + 1, &parse_end, 1)) == NULL)
			buf_printf(&why, "not valid JSON: error at byte %zu "
			    "of %zu", parse_end != NULL ?
			    (size_t)(parse_end - data.data) : 0, data.len);
		else
			check_document(root, &why, &nids, &idbytes);
	}
	buf_free(&data);
	if (why.len > 0 && readonly) {
		buf_printf(err, "%s is corrupt (%s)", c->path, why.data);
		c->after_corruption = 1;
		*status = CURSOR_RECOVERED;
		goto done;
	}
	if (why.len > 0) {
		if (move_aside(c, why.data, err) == -1)
			goto fail;
		c->after_corruption = 1;
		*status = CURSOR_RECOVERED;
		goto done;
	}

	compare_field(&diff, "source", json_str(root, "source"), c->name);
	compare_field(&diff, "project_id", json_str(root, "project_id"),
	    c->project_id);
	compare_field(&diff, "region", json_str(root, "region"), c->region);
	compare_field(&diff, "category", json_str(root, "category"),
	    c->category);
	compare_field(&diff, "enterprise_project_id",
	    json_str(root, "enterprise_project_id"), c->enterprise_project_id);
	filters_changed = diff.len == 0 && strcmp(json_str(root,
	    "filters_hash"), c->filters_hash) != 0;
	compare_field(&diff, "filters_hash", json_str(root, "filters_hash"),
	    c->filters_hash);
	if (diff.len > 0 && !filters_changed) {
		buf_printf(err, "%s: %s", c->path, diff.data);
		*status = CURSOR_MISMATCH;
		goto fail;
	}
	/* The cursor carries over; the next save writes the new hash. */
	if (filters_changed)
		buf_printf(err, "%s: %s", c->path, diff.data);

	json_int(cJSON_GetObjectItemCaseSensitive(root, "end"), 0, &c->end);
	if (json_int(cJSON_GetObjectItemCaseSensitive(root, "since"), 0,
	    &c->since) == -1)
		c->since = 0;
	if (!streamed) {
		cJSON_ArrayForEach(pair,
		    cJSON_GetObjectItemCaseSensitive(root, "ids")) {
			json_int(pair->child->next, 0, &t);
			idset_add_max(c->ids, pair->child->valuestring,
			    strlen(pair->child->valuestring), t);
		}
	}
	/* The snapshot and the journal files that follow it. */
	json_int(cJSON_GetObjectItemCaseSensitive(root, "updated"), 0,
	    &c->snap_updated);
	if (json_int(cJSON_GetObjectItemCaseSensitive(root, "journal"), 1,
	    &jfirst) == -1)
		jfirst = 0;
	c->has_snapshot = 1;
	c->snap_bytes = st.st_size;
	c->snap_dev = st.st_dev;
	c->snap_ino = st.st_ino;
	/* Identity as configured now: written to the snapshot soon. */
	if (strcmp(json_str(root, "filters_hash"), c->filters_hash) != 0)
		c->rewrite = 1;
	journal_replay(c, (uint64_t)jfirst);
	c->saved_end = c->end;
	c->saved_since = c->since;
	cursor_prune(c);
	*status = filters_changed ? CURSOR_FILTERS_CHANGED : CURSOR_OK;
done:
	cJSON_Delete(root);
	buf_free(&data);
	buf_free(&why);
	buf_free(&diff);
#ifdef __GLIBC__
	/* Give back the pages of the load (and of a parse tree, if any). */
	malloc_trim(0);
#endif
	return c;
fail:
	cJSON_Delete(root);
	buf_free(&data);
	buf_free(&why);
	buf_free(&diff);
	cursor_free(c);
	return NULL;
}

struct cursor *
cursor_open(const char *statedir, const char *name,
    const struct cursor_identity *ident, size_t max_ids, int64_t lookback_ms,
    enum cursor_open_status *status, struct buf *err)
{
	return open_state(statedir, name, ident, max_ids, lookback_ms, 0,
	    status, err);
}

/*
 * A daemon may compact while this reads: the snapshot read is replaced and
 * the journal files that followed it removed, so what was replayed may be
 * short of them. The snapshot is then another file: read again (a
 * compaction writes a snapshot that takes seconds at most; a few tries).
 */
#define READONLY_TRIES	5

struct cursor *
cursor_open_readonly(const char *statedir, const char *name,
    const struct cursor_identity *ident, size_t max_ids, int64_t lookback_ms,
    enum cursor_open_status *status, struct buf *err)
{
	struct cursor	*c;
	struct stat	 st;
	size_t		 errlen = err->len;
	int		 try;

	for (try = 1;; try++) {
		c = open_state(statedir, name, ident, max_ids, lookback_ms, 1,
		    status, err);
		if (c == NULL || !c->has_snapshot || try == READONLY_TRIES)
			break;
		if (stat(c->path, &st) == 0 && st.st_dev == c->snap_dev &&
		    st.st_ino == c->snap_ino)
			break;
		cursor_free(c);
		buf_truncate(err, errlen);
	}
	return c;
}

/* -- writing ------------------------------------------------------------ */

/* Write all of [p, p + len) to fd. -1 with errno. */
static int
write_all(int fd, const char *p, size_t len)
{
	size_t	 off = 0;
	ssize_t	 n;

	while (off < len) {
		n = write(fd, p + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		off += (size_t)n;
	}
	return 0;
}

/* The same at offset at. */
static int
pwrite_all(int fd, const char *p, size_t len, off_t at)
{
	size_t	 off = 0;
	ssize_t	 n;

	while (off < len) {
		n = pwrite(fd, p + off, len - off, at + (off_t)off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		off += (size_t)n;
	}
	return 0;
}

/*
 * Open path to write a state file, never blocking: a FIFO, a device or a
 * socket put there is refused, not waited on (a directory or a link fails
 * the open itself). -1 with *err.
 */
static int
open_state_file(const char *path, int flags, const char *what,
    struct buf *err)
{
	struct stat	 st;
	int		 fd;

	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode) &&
	    !S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode)) {
		buf_printf(err, "cannot %s %s: not a regular file", what, path);
		return -1;
	}
	fd = open(path, flags | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK |
	    O_NOCTTY, 0600);
	if (fd == -1) {
		buf_printf(err, "cannot %s %s: %s", what, path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		buf_printf(err, "cannot %s %s: not a regular file", what, path);
		close(fd);
		return -1;
	}
	return fd;
}

/* The snapshot up to its first id. */
static void
snapshot_head(const struct cursor *c, struct buf *b, int64_t end,
    int64_t since, int64_t updated, uint64_t jfirst)
{
	buf_printf(b, "{\"version\":%d,\"source\":", CURSOR_VERSION);
	add_json_string(b, c->name);
	buf_adds(b, ",\"project_id\":");
	add_json_string(b, c->project_id);
	buf_adds(b, ",\"region\":");
	add_json_string(b, c->region);
	buf_adds(b, ",\"category\":");
	add_json_string(b, c->category);
	buf_adds(b, ",\"enterprise_project_id\":");
	add_json_string(b, c->enterprise_project_id);
	buf_adds(b, ",\"filters_hash\":");
	add_json_string(b, c->filters_hash);
	buf_printf(b, ",\"end\":%lld,", (long long)end);
	if (since > 0)
		buf_printf(b, "\"since\":%lld,", (long long)since);
	buf_printf(b, "\"updated\":%lld,\"journal\":%llu,\"ids\":[",
	    (long long)updated, (unsigned long long)jfirst);
}

static void
journal_unlink_one(const struct cursor *c, const char *path, uint64_t gen,
    void *arg)
{
	int	*all = arg;

	if ((*all || gen < c->jfirst || gen > c->jgen) && unlink(path) == 0)
		all[1] = 1;
}

/*
 * Remove the journal files that are not the current ones (the one to be
 * made next is truncated when it is made), or all of them.
 */
static void
journal_cleanup(struct cursor *c, int all)
{
	struct stat	 st;
	int		 arg[2] = { all, 0 }, dfd;

	journal_each(c, journal_unlink_one, arg);
	/* A compaction cut short (none runs before the first save); what is
	 * not a regular file is left for the open to refuse. */
	if (lstat(c->tmppath, &st) == 0 && S_ISREG(st.st_mode))
		unlink(c->tmppath);
	c->jstale = 0;
	/* Gone for good before a snapshot that does not want them. */
	if (arg[1] && (dfd = open(c->dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) != -1) {
		fsync(dfd);
		close(dfd);
	}
}

/* The pending ids as snapshot lines ("\n[...]" then ",\n[...]"). */
static void
add_pending_lines(struct buf *b, const char *p, size_t len, size_t *n)
{
	const char	*e;

	while (len > 0 && (e = memchr(p, '\n', len)) != NULL) {
		buf_adds(b, *n == 0 ? "\n" : ",\n");
		buf_add(b, p, (size_t)(e - p));
		len -= (size_t)(e + 1 - p);
		p = e + 1;
		(*n)++;
	}
}

static void
pending_clear(struct cursor *c)
{
	if (c->pending.cap > PENDING_KEEP)
		buf_free(&c->pending);
	else
		buf_reset(&c->pending);
	c->npending = 0;
}

/*
 * The first save of a cursor without a snapshot (new, or the old one was
 * corrupt): the snapshot with the ids so far, written atomically, after
 * removing journal files left from an earlier state.
 */
static int
save_snapshot(struct cursor *c, struct buf *err)
{
	struct buf	 b;
	const char	*what = "write";
	int64_t		 now = time_now_ms();
	off_t		 total = 0;
	size_t		 n = 0, off, len;
	int		 fd, dfd, saved;

	/* Files left from an earlier state must not follow this one. */
	c->jfirst = c->jgen = 1;
	c->jcreate = 1;
	journal_cleanup(c, 1);
	if ((fd = open_state_file(c->tmppath, O_WRONLY | O_CREAT | O_TRUNC,
	    "create", err)) == -1)
		return -1;
	buf_init(&b);
	buf_reserve(&b, CURSOR_CHUNK + 256);
	snapshot_head(c, &b, c->end, c->since, now, 1);
	for (off = 0; off < c->pending.len; off += len) {
		len = c->pending.len - off;
		if (len > CURSOR_CHUNK)
			len = CURSOR_CHUNK;
		/* Whole lines only. */
		while (off + len < c->pending.len &&
		    c->pending.data[off + len - 1] != '\n')
			len++;
		add_pending_lines(&b, c->pending.data + off, len, &n);
		if (write_all(fd, b.data, b.len) == -1)
			goto fail;
		total += (off_t)b.len;
		buf_reset(&b);
	}
	buf_adds(&b, "]}\n");
	if (write_all(fd, b.data, b.len) == -1)
		goto fail;
	total += (off_t)b.len;
	what = "fsync";
	if (fsync(fd) == -1)
		goto fail;
	what = "close";
	saved = close(fd);
	fd = -1;
	if (saved == -1)
		goto fail;
	buf_free(&b);
	if (rename(c->tmppath, c->path) == -1) {
		saved = errno;
		buf_printf(err, "cannot rename %s to %s: %s", c->tmppath,
		    c->path, strerror(saved));
		unlink(c->tmppath);
		return -1;
	}
	/* The rename is durable once the directory is. */
	if ((dfd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    (fsync(dfd) == -1 && errno != EINVAL && errno != ENOTSUP)) {
		buf_printf(err, "%s written but the directory %s cannot be "
		    "synced: %s", c->path, c->dir, strerror(errno));
		if (dfd != -1)
			close(dfd);
		return -1;
	}
	close(dfd);
	c->has_snapshot = 1;
	c->snap_updated = now;
	c->snap_bytes = total;
	c->njf = 0;
	c->jlen = 0;
	c->saved_end = c->end;
	c->saved_since = c->since;
	pending_clear(c);
	return 0;
fail:
	saved = errno;
	buf_printf(err, "cannot %s %s: %s", what, c->tmppath, strerror(saved));
	buf_free(&b);
	if (fd != -1)
		close(fd);
	unlink(c->tmppath);
	return -1;
}

/* One journal record of the payload p to b. */
static void
record_add(struct buf *b, const char *p, size_t len)
{
	buf_printf(b, "%zu %08x ", len, (unsigned int)crc32_iso(p, len));
	buf_add(b, p, len);
	buf_addc(b, '\n');
}

/* Write what out holds to the journal at *at, and empty it. */
static int
journal_flush(struct cursor *c, struct buf *out, off_t *at)
{
	if (pwrite_all(c->jfd, out->data, out->len, *at) == -1)
		return -1;
	*at += (off_t)out->len;
	buf_reset(out);
	return 0;
}

/*
 * The save records, written to the journal at *at as they are made: a
 * header first in a new file, then the pending ids in records of about
 * RECORD_IDS bytes each; the new end and since go in the last (the others
 * keep those saved before, so that a save cut short by a crash after some
 * of its records loads as those ids under the end saved before). One
 * record at a time: a save of 20,000 ids held a second copy of them all
 * (about 1 MB) until it was written. -1 with errno if a write failed.
 */
static int
journal_records(struct cursor *c, struct buf *out, int64_t now, off_t *at)
{
	struct buf	 pl, ids;
	const char	*p = c->pending.data, *e;
	size_t		 left = c->pending.len, n;
	int		 last, rc = 0, saved;

	buf_init(&pl);
	buf_init(&ids);
	if (c->jlen == 0) {
		buf_printf(&pl, "{\"journal\":%llu,\"after\":%lld}",
		    (unsigned long long)c->jgen, (long long)c->snap_updated);
		record_add(out, pl.data, pl.len);
	}
	do {
		buf_reset(&ids);
		for (n = 0; left > 0 && ids.len < RECORD_IDS; n++) {
			e = memchr(p, '\n', left);
			if (n > 0)
				buf_addc(&ids, ',');
			buf_add(&ids, p, (size_t)(e - p));
			left -= (size_t)(e + 1 - p);
			p = e + 1;
		}
		last = left == 0;
		buf_reset(&pl);
		buf_printf(&pl, "{\"end\":%lld,\"since\":%lld,\"updated\":%lld,"
		    "\"ids\":[", (long long)(last ? c->end : c->saved_end),
		    (long long)(last ? c->since : c->saved_since),
		    (long long)now);
		if (ids.len > 0)
			buf_add(&pl, ids.data, ids.len);
		buf_adds(&pl, "]}");
		record_add(out, pl.data, pl.len);
		if ((rc = journal_flush(c, out, at)) == -1)
			break;
	} while (!last);
	saved = errno;
	buf_free(&ids);
	buf_free(&pl);
	errno = saved;
	return rc;
}

/* Saves go to the next journal file from now on. */
static void
journal_rotate(struct cursor *c)
{
	if (c->jfd != -1)
		close(c->jfd);
	c->jfd = -1;
	if (!c->jcreate)
		c->jgen++;
	c->jcreate = 1;
	c->jlen = 0;
}

/*
 * The file to create is being made by the worker (an error moved the
 * saves on to it before a compaction could): wait for it, and take it if
 * it was made (1).
 */
static int
journal_take_made(struct cursor *c)
{
	int	 fd = -1;

	pthread_mutex_lock(&wk_mtx);
	if (c->make != MAKE_NONE && c->make_gen == c->jgen) {
		while (c->make == MAKE_QUEUED)
			pthread_cond_wait(&wk_done, &wk_mtx);
		fd = c->make_fd;
		c->make_fd = -1;
		c->make = MAKE_NONE;
		free(c->make_err);
		c->make_err = NULL;
	}
	pthread_mutex_unlock(&wk_mtx);
	if (fd == -1)
		return 0;
	c->jfd = fd;
	c->jcreate = 0;
	jfile_set(c, c->jgen, 0);
	return 1;
}

/* The file saves are appended to, open. -1 with *err. */
static int
journal_open(struct cursor *c, struct buf *err)
{
	struct stat	 st;
	char		*path;
	int		 fd;

	if (c->jfd != -1)
		return 0;
	if (c->jcreate && journal_take_made(c))
		return 0;
	path = journal_path(c->dir, c->name, c->jgen);
	fd = open_state_file(path, O_WRONLY | (c->jcreate ? O_CREAT | O_TRUNC :
	    0), c->jcreate ? "create" : "open", err);
	if (fd == -1) {
		free(path);
		return -1;
	}
	/* A torn record at its end (a crash mid-append) is cut off. */
	if (!c->jcreate && (fstat(fd, &st) == -1 || st.st_size != c->jlen) &&
	    ftruncate(fd, c->jlen) == -1) {
		log_warn("source \"%s\": cannot cut %s at %lld; saving to the "
		    "next journal file", c->name, path, (long long)c->jlen);
		close(fd);
		free(path);
		journal_rotate(c);
		return journal_open(c, err);
	}
	free(path);
	c->jfd = fd;
	if (c->jcreate)
		jfile_set(c, c->jgen, 0);
	c->jcreate = 0;
	return 0;
}

/* -- the worker thread ------------------------------------------------- */

static void	compact_step(struct compact *);

static void *
worker_main(void *arg)
{
	struct job	*j;
	struct cursor	*c;
	struct buf	 err;
	char		*path;
	int		 rc, e, requeue, fd;

	(void)arg;
	pthread_mutex_lock(&wk_mtx);
	for (;;) {
		while ((j = TAILQ_FIRST(&wk_jobs)) == NULL) {
			if (wk_stop) {
				pthread_mutex_unlock(&wk_mtx);
				return NULL;
			}
			pthread_cond_wait(&wk_cv, &wk_mtx);
		}
		TAILQ_REMOVE(&wk_jobs, j, entry);
		wk_busy = 1;
		c = j->c;
		if (j->kind == JOB_MAKE) {
			pthread_mutex_unlock(&wk_mtx);
			buf_init(&err);
			path = journal_path(c->dir, c->name, j->gen);
			fd = open_state_file(path, O_WRONLY | O_CREAT | O_TRUNC,
			    "create", &err);
			free(path);
			pthread_mutex_lock(&wk_mtx);
			c->make_fd = fd;
			c->make = fd == -1 ? MAKE_FAILED : MAKE_READY;
			c->make_err = fd == -1 ? err.data : NULL;
			if (fd != -1)
				buf_free(&err);
			requeue = 0;
		} else if (j->kind == JOB_SYNC) {
			if (c->sj == j)
				c->sj = NULL;	/* started: no more added */
			pthread_mutex_unlock(&wk_mtx);
			rc = fdatasync(j->fd);
			e = errno;
			close(j->fd);
			pthread_mutex_lock(&wk_mtx);
			if (rc == -1 && e != EINVAL) {
				c->sync_err = e;
				c->sync_err_gen = j->gen;
			}
			if (j->seq > c->synced)
				c->synced = j->seq;
			requeue = 0;
		} else {
			pthread_mutex_unlock(&wk_mtx);
			compact_step(j->cp);
			pthread_mutex_lock(&wk_mtx);
			requeue = !j->cp->done;
			if (j->cp->done) {
				j->cp->retired = 1;
				wk_compacting--;
			}
		}
		if (requeue)
			TAILQ_INSERT_TAIL(&wk_jobs, j, entry);
		else {
			c->jobs--;
			free(j);
		}
		wk_busy = 0;
		pthread_cond_broadcast(&wk_done);
	}
	return NULL;
}

/*
 * At exit, an idle worker (every cursor freed: their jobs are done) is
 * stopped and joined, so that the process ends with its one thread (and
 * a leak checker sees the thread's memory freed). A worker with work left
 * (an exit on a fatal error) is not waited for: a sync stuck on the disk
 * must not hold the exit. Not from the worker itself, nor in a child
 * forked after it started.
 */
static void
worker_stop(void)
{
	int	 join = 0;

	if (getpid() != wk_pid || pthread_equal(pthread_self(), wk_thread))
		return;
	/* An exit with the lock held (a fatal error under it) skips this. */
	if (pthread_mutex_trylock(&wk_mtx) != 0)
		return;
	if (wk_started && !wk_busy && TAILQ_EMPTY(&wk_jobs)) {
		wk_stop = join = 1;
		pthread_cond_signal(&wk_cv);
	}
	pthread_mutex_unlock(&wk_mtx);
	if (join)
		pthread_join(wk_thread, NULL);
}

/* Queue a job (wk_mtx held), starting the thread the first time. */
static void
worker_queue(struct job *j)
{
	pthread_attr_t	 attr;
	sigset_t	 all, old;
	int		 e;

	if (!wk_started) {
		/* Signals stay with the loop's thread. */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 256 * 1024);
		e = pthread_create(&wk_thread, &attr, worker_main, NULL);
		pthread_attr_destroy(&attr);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (e != 0)
			fatalx("cursor: cannot start the state thread: %s",
			    strerror(e));
		wk_started = 1;
		wk_pid = getpid();
		atexit(worker_stop);
	}
	j->c->jobs++;
	TAILQ_INSERT_TAIL(&wk_jobs, j, entry);
	pthread_cond_signal(&wk_cv);
}

/* Have the last append made durable by the worker. */
static void
sync_queue(struct cursor *c)
{
	struct job	*j;
	int		 fd;

	pthread_mutex_lock(&wk_mtx);
	c->wseq++;
	if (c->sj != NULL && c->sj->gen == c->jgen) {
		c->sj->seq = c->wseq;	/* not started: it covers this one */
		pthread_mutex_unlock(&wk_mtx);
		return;
	}
	if ((fd = fcntl(c->jfd, F_DUPFD_CLOEXEC, 0)) == -1) {
		/* Out of descriptors: sync here. */
		if (fdatasync(c->jfd) == -1 && errno != EINVAL) {
			c->sync_err = errno;
			c->sync_err_gen = c->jgen;
		}
		c->synced = c->wseq;
		pthread_mutex_unlock(&wk_mtx);
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->kind = JOB_SYNC;
	j->c = c;
	j->fd = fd;
	j->gen = c->jgen;
	j->seq = c->wseq;
	c->sj = j;
	worker_queue(j);
	pthread_mutex_unlock(&wk_mtx);
}

/* A failed fdatasync of an earlier save: reported once, as *err. */
static int
sync_failed(struct cursor *c, struct buf *err)
{
	char		*path;
	uint64_t	 gen;
	int		 e;

	pthread_mutex_lock(&wk_mtx);
	e = c->sync_err;
	gen = c->sync_err_gen;
	c->sync_err = 0;
	pthread_mutex_unlock(&wk_mtx);
	if (e == 0)
		return 0;
	path = journal_path(c->dir, c->name, gen);
	buf_printf(err, "cannot sync %s: %s", path, strerror(e));
	free(path);
	return -1;
}


/* -- compaction (the worker's) ------------------------------------------ */

static void
cp_fail(struct compact *cp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
cp_fail(struct compact *cp, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	if (cp->rdfd != -1) {
		close(cp->rdfd);
		cp->rdfd = -1;
	}
	rd_free(&cp->rd);
	if (cp->out != -1) {
		close(cp->out);
		cp->out = -1;
		unlink(cp->tmp);
	}
	pthread_mutex_lock(&wk_mtx);
	if (cp->error == NULL)
		cp->error = msg;
	else
		free(msg);
	cp->done = 1;
	pthread_mutex_unlock(&wk_mtx);
}

static int
cp_flush(struct compact *cp)
{
	if (write_all(cp->out, cp->ob.data, cp->ob.len) == -1) {
		cp_fail(cp, "cannot write %s: %s", cp->tmp, strerror(errno));
		return -1;
	}
	cp->outbytes += (off_t)cp->ob.len;
	buf_reset(&cp->ob);
	return 0;
}

/* A plain decimal integer token (what this program writes), or -1. */
static int64_t
plain_int(const char *p, const char *q)
{
	int64_t	 v = 0;

	if (q - p < 1 || q - p > 16)
		return -1;
	for (; p < q; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (*p - '0');
	}
	return v;
}

/*
 * One [id, time] pair [p, q): written to the new snapshot unless its key
 * is below the floor (a time in another notation is kept). -1 if it is
 * not a pair.
 */
static int
cp_pair(struct compact *cp, const char *p, const char *q)
{
	const char	*ip, *iq, *tp, *tq;
	int64_t		 t;

	if (*p++ != '[')
		return -1;
	while (p < q && js_space(*p))
		p++;
	if (p == q || *p != '"' || js_skip(p, q, 1, &iq) != JS_OK)
		return -1;
	ip = p;
	for (p = iq; p < q && js_space(*p); p++)
		;
	if (p == q || *p++ != ',')
		return -1;
	while (p < q && js_space(*p))
		p++;
	if (p == q || js_skip(p, q, 1, &tq) != JS_OK)
		return -1;
	tp = p;
	for (p = tq; p < q && js_space(*p); p++)
		;
	if (p != q - 1 || *p != ']')
		return -1;
	if ((t = plain_int(tp, tq)) >= 0 && idset_key_held(t) < cp->floor)
		return 0;
	buf_adds(&cp->ob, cp->nout++ == 0 ? "\n[" : ",\n[");
	buf_add(&cp->ob, ip, (size_t)(iq - ip));
	buf_addc(&cp->ob, ',');
	buf_add(&cp->ob, tp, (size_t)(tq - tp));
	buf_addc(&cp->ob, ']');
	return 0;
}

/*
 * Go on with the "ids" of the JSON object r holds (a snapshot or a journal
 * record), writing what is kept, for about budget bytes. 0, or -1 with
 * *why.
 */
static int
cp_scan(struct compact *cp, struct rd *r, off_t budget, const char **why)
{
	const char	*p, *q;
	off_t		 start = rd_pos(r);
	enum js		 st;

	if (cp->scan == SCAN_BEFORE) {
		/* A byte order mark, as cJSON takes one (the snapshot). */
		if (rd_pos(r) == 0 && rd_peek(r) == 0xef &&
		    r->len - r->off >= 3 &&
		    memcmp(r->buf + r->off, "\xef\xbb\xbf", 3) == 0)
			r->off += 3;
		if (!rd_take(r, '{'))
			goto bad;
		if (rd_take(r, '}')) {
			cp->scan = SCAN_DONE;
			return 0;
		}
		for (;;) {
			if (rd_value(r, &p, &q) != JS_OK || *p != '"' ||
			    !rd_take(r, ':'))
				goto bad;
			if (key_is_ids(p, q))
				break;
			if (rd_value(r, &p, &q) != JS_OK)
				goto bad;
			if (rd_take(r, '}')) {
				cp->scan = SCAN_DONE;
				return 0;
			}
			if (!rd_take(r, ','))
				goto bad;
		}
		if (!rd_take(r, '['))
			goto bad;
		cp->scan = rd_take(r, ']') ? SCAN_DONE : SCAN_IDS;
	}
	while (cp->scan == SCAN_IDS && rd_pos(r) - start < budget) {
		if ((st = rd_value(r, &p, &q)) != JS_OK || cp_pair(cp, p,
		    q) == -1)
			goto bad;
		if (rd_take(r, ']'))
			cp->scan = SCAN_DONE;
		else if (!rd_take(r, ','))
			goto bad;
		if (cp->ob.len >= CURSOR_CHUNK && cp_flush(cp) == -1) {
			*why = NULL;
			return -1;
		}
	}
	return 0;
bad:
	*why = r->err != 0 ? strerror(r->err) : "unexpected content";
	return -1;
}

/* Open a file to read in the worker: a regular file only, never blocking. */
static int
cp_open_read(struct compact *cp, const char *path)
{
	struct stat	 st;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK |
	    O_NOCTTY)) == -1) {
		cp_fail(cp, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		cp_fail(cp, "cannot read %s: not a regular file", path);
		return -1;
	}
	return fd;
}

/* Records of the journal file being read, about COMPACT_STEP bytes. */
static void
cp_journal(struct compact *cp)
{
	struct rd	 pr;
	const char	*pl, *why = NULL;
	char		*path;
	size_t		 len;
	off_t		 start;
	int		 rc;

	path = journal_path(cp->dir, cp->name, cp->in[cp->cur].gen);
	if (cp->rdfd == -1) {
		if (cp->in[cp->cur].valid == 0) {
			cp->cur++;
			free(path);
			return;
		}
		if ((cp->rdfd = cp_open_read(cp, path)) == -1) {
			free(path);
			return;
		}
		rd_init(&cp->rd, cp->rdfd, RECORD_MAX + 64);
	}
	start = rd_pos(&cp->rd);
	while (rd_pos(&cp->rd) < cp->in[cp->cur].valid &&
	    rd_pos(&cp->rd) - start < COMPACT_STEP) {
		if ((rc = record_next(&cp->rd, &pl, &len, &why)) != 1) {
			cp_fail(cp, "cannot read %s at offset %lld: %s", path,
			    (long long)rd_pos(&cp->rd), rc == -2 ?
			    strerror(cp->rd.err) : rc == 0 ? "it is shorter" :
			    why);
			free(path);
			return;
		}
		rd_mem(&pr, pl, len);
		cp->scan = SCAN_BEFORE;
		why = "unexpected content";
		if (cp_scan(cp, &pr, (off_t)len + 1, &why) == -1 ||
		    cp->scan != SCAN_DONE) {
			if (why != NULL)
				cp_fail(cp, "%s: a record of %zu bytes at "
				    "offset %lld: %s", path, len,
				    (long long)rd_pos(&cp->rd), why);
			free(path);
			return;
		}
	}
	if (rd_pos(&cp->rd) >= cp->in[cp->cur].valid) {
		rd_free(&cp->rd);
		close(cp->rdfd);
		cp->rdfd = -1;
		cp->cur++;
	}
	free(path);
}

/* The new snapshot complete: make it durable, in place, and clean up. */
static void
cp_finish(struct compact *cp)
{
	char	*path;
	size_t	 i;
	int	 dfd, cancel, e;

	buf_adds(&cp->ob, "]}\n");
	if (cp_flush(cp) == -1)
		return;
	if (fsync(cp->out) == -1) {
		cp_fail(cp, "cannot fsync %s: %s", cp->tmp, strerror(errno));
		return;
	}
	e = close(cp->out);
	cp->out = -1;
	if (e == -1) {
		unlink(cp->tmp);
		cp_fail(cp, "cannot close %s: %s", cp->tmp, strerror(errno));
		return;
	}
	pthread_mutex_lock(&wk_mtx);
	cancel = cp->cancel;
	pthread_mutex_unlock(&wk_mtx);
	if (cancel) {
		unlink(cp->tmp);
		cp_fail(cp, "stopped");
		return;
	}
	if (rename(cp->tmp, cp->snap) == -1) {
		e = errno;
		unlink(cp->tmp);
		cp_fail(cp, "cannot rename %s to %s: %s", cp->tmp, cp->snap,
		    strerror(e));
		return;
	}
	pthread_mutex_lock(&wk_mtx);
	cp->renamed = 1;
	pthread_mutex_unlock(&wk_mtx);
	/* The journal files go only once the rename is durable. */
	if ((dfd = open(cp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    (fsync(dfd) == -1 && errno != EINVAL && errno != ENOTSUP)) {
		e = errno;
		if (dfd != -1)
			close(dfd);
		cp_fail(cp, "%s written but the directory %s cannot be synced: "
		    "%s", cp->snap, cp->dir, strerror(e));
		return;
	}
	close(dfd);
	for (i = 0; i < cp->nin; i++) {
		path = journal_path(cp->dir, cp->name, cp->in[i].gen);
		unlink(path);
		free(path);
	}
	pthread_mutex_lock(&wk_mtx);
	cp->done = 1;
	pthread_mutex_unlock(&wk_mtx);
}

/* One step of a compaction: about COMPACT_STEP bytes of input. */
static void
compact_step(struct compact *cp)
{
	const char	*why = NULL;
	int		 cancel;

	pthread_mutex_lock(&wk_mtx);
	cancel = cp->cancel;
	pthread_mutex_unlock(&wk_mtx);
	if (cancel && cp->phase != CP_FINISH) {
		cp_fail(cp, "stopped");
		return;
	}
	switch (cp->phase) {
	case CP_OPEN:
		if ((cp->rdfd = cp_open_read(cp, cp->snap)) == -1)
			return;
		rd_init(&cp->rd, cp->rdfd, VALUE_MAX);
		if ((cp->out = open_state_file(cp->tmp, O_WRONLY | O_CREAT |
		    O_TRUNC, "create", &cp->ob)) == -1) {
			cp_fail(cp, "%s", cp->ob.data);
			return;
		}
		buf_reset(&cp->ob);
		buf_add(&cp->ob, cp->head.data, cp->head.len);
		cp->scan = SCAN_BEFORE;
		cp->phase = CP_SNAP;
		break;
	case CP_SNAP:
		if (cp_scan(cp, &cp->rd, COMPACT_STEP, &why) == -1) {
			if (why != NULL)
				cp_fail(cp, "cannot read %s at offset %lld: %s",
				    cp->snap, (long long)rd_pos(&cp->rd), why);
			return;
		}
		if (cp->scan == SCAN_DONE) {
			rd_free(&cp->rd);
			close(cp->rdfd);
			cp->rdfd = -1;
			cp->cur = 0;
			cp->phase = CP_JOURNAL;
		}
		break;
	case CP_JOURNAL:
		if (cp->cur < cp->nin)
			cp_journal(cp);
		else
			cp->phase = CP_FINISH;
		break;
	case CP_FINISH:
		cp_finish(cp);
		break;
	}
}

static void
compact_free(struct compact *cp)
{
	if (cp == NULL)
		return;
	free(cp->snap);
	free(cp->tmp);
	free(cp->dir);
	free(cp->name);
	free(cp->in);
	free(cp->error);
	buf_free(&cp->head);
	buf_free(&cp->ob);
	free(cp);
}

/* -- compaction (the loop's) --------------------------------------------- */

/* Take in a compaction that is done. */
static void
compact_poll(struct cursor *c)
{
	struct compact	*cp = c->cp;
	size_t		 i, k;
	int		 done;

	if (cp == NULL)
		return;
	pthread_mutex_lock(&wk_mtx);
	done = cp->retired;
	pthread_mutex_unlock(&wk_mtx);
	if (!done)
		return;
	if (cp->renamed) {
		c->jfirst = cp->newfirst;
		c->snap_bytes = cp->outbytes;
		c->snap_updated = cp->updated;
		c->rewrite = 0;
		for (i = k = 0; i < c->njf; i++)
			if (c->jf[i].gen >= c->jfirst)
				c->jf[k++] = c->jf[i];
		c->njf = k;
	}
	if (cp->error != NULL) {
		log_warnx("source \"%s\": state %s: cannot compact: %s; %s",
		    c->name, c->path, cp->error, cp->renamed ? "the journal "
		    "files it replaces are left" : "the journal is kept, next "
		    "try in a minute");
		c->compact_after = time_mono_ms() + COMPACT_RETRY_MS;
	} else
		log_debug("source \"%s\": state %s compacted: %zu ids, %lld "
		    "bytes", c->name, c->path, cp->nout,
		    (long long)cp->outbytes);
	compact_free(cp);
	c->cp = NULL;
}

/*
 * Start a compaction when the journal has outgrown the snapshot (and
 * COMPACT_MIN), or the snapshot must be rewritten, and no other is under
 * way: saves go to a new journal file, the worker merges the snapshot and
 * the earlier files into a new snapshot that the new file follows.
 */
static int
compact_maybe(struct cursor *c)
{
	struct compact	*cp;
	struct job	*j;
	char		*err = NULL;
	off_t		 jb;
	uint64_t	 next;
	size_t		 i;
	int		 make, busy, fd;

	if (c->readonly)
		return 0;
	compact_poll(c);
	jb = journal_bytes(c);
	next = c->jcreate ? c->jgen : c->jgen + 1;
	if (c->cp != NULL || !c->has_snapshot ||
	    time_mono_ms() < c->compact_after ||
	    (!c->rewrite && (jb < COMPACT_MIN || jb < c->snap_bytes)))
		return 0;
	pthread_mutex_lock(&wk_mtx);
	make = c->make;
	fd = c->make_fd;
	busy = wk_compacting > 0;
	if (make == MAKE_FAILED || (make == MAKE_READY &&
	    c->make_gen != next)) {
		/* Failed, or made for a file number passed since. */
		err = c->make_err;
		c->make_err = NULL;
		c->make = make = MAKE_NONE;
		c->make_fd = -1;
	}
	if (make == MAKE_NONE && !busy) {
		/* First the file the saves go to next, by the worker. */
		j = xcalloc(1, sizeof(*j));
		j->kind = JOB_MAKE;
		j->c = c;
		j->fd = -1;
		j->gen = c->make_gen = next;
		c->make = MAKE_QUEUED;
		worker_queue(j);
	}
	if (make == MAKE_READY && !busy) {
		wk_compacting++;
		c->make = MAKE_NONE;
		c->make_fd = -1;
	}
	pthread_mutex_unlock(&wk_mtx);
	if (err != NULL) {
		log_warnx("source \"%s\": state %s: cannot compact: %s; next "
		    "try in a minute", c->name, c->path, err);
		free(err);
		c->compact_after = time_mono_ms() + COMPACT_RETRY_MS;
	} else if (fd != -1 && make != MAKE_READY)
		close(fd);	/* not for this file */
	if (make != MAKE_READY || busy)
		return make == MAKE_NONE && !busy;
	cp = xcalloc(1, sizeof(*cp));
	cp->c = c;
	cp->snap = xstrdup(c->path);
	cp->tmp = xstrdup(c->tmppath);
	cp->dir = xstrdup(c->dir);
	cp->name = xstrdup(c->name);
	cp->rdfd = cp->out = -1;
	buf_init(&cp->head);
	buf_init(&cp->ob);
	/* What the memory keeps, and the ties at the max_ids cut. */
	cp->floor = c->saved_end - c->lookback_ms;
	if (c->over_max > 0 && c->oldest_kept > cp->floor)
		cp->floor = c->oldest_kept;
	cp->in = xreallocarray(NULL, c->njf + 1, sizeof(*cp->in));
	for (i = 0; i < c->njf; i++)
		cp->in[cp->nin++] = c->jf[i];
	/* The files up to the current one; saves go to the next. */
	if (c->jfd != -1)
		close(c->jfd);
	c->jgen = next;
	c->jfd = fd;
	c->jcreate = 0;
	c->jlen = 0;
	jfile_set(c, c->jgen, 0);
	cp->newfirst = c->jgen;
	cp->updated = time_now_ms();
	snapshot_head(c, &cp->head, c->saved_end, c->saved_since, cp->updated,
	    cp->newfirst);
	c->cp = cp;
	j = xcalloc(1, sizeof(*j));
	j->kind = JOB_COMPACT;
	j->c = c;
	j->cp = cp;
	j->fd = -1;
	pthread_mutex_lock(&wk_mtx);
	worker_queue(j);
	pthread_mutex_unlock(&wk_mtx);
	return 1;
}

/* Append the ids added since the last save, the end and since. */
static int
journal_append(struct cursor *c, struct buf *err)
{
	struct buf	 wb;
	char		*path;
	off_t		 at;
	int		 saved;

	if (sync_failed(c, err) == -1) {
		journal_rotate(c);	/* that file is suspect */
		return -1;
	}
	if (c->npending == 0 && c->end == c->saved_end &&
	    c->since == c->saved_since)
		return 0;
	if (c->jstale)
		journal_cleanup(c, 0);
	if (journal_open(c, err) == -1)
		return -1;
	buf_init(&wb);
	at = c->jlen;
	if (journal_records(c, &wb, time_now_ms(), &at) == -1) {
		saved = errno;
		path = journal_path(c->dir, c->name, c->jgen);
		buf_printf(err, "cannot write %s: %s", path, strerror(saved));
		free(path);
		buf_free(&wb);
		/* Nothing of it may stay before a later record. */
		if (ftruncate(c->jfd, c->jlen) == -1)
			journal_rotate(c);
		return -1;
	}
	c->jlen = at;
	jfile_set(c, c->jgen, c->jlen);
	buf_free(&wb);
	c->saved_end = c->end;
	c->saved_since = c->since;
	pending_clear(c);
	sync_queue(c);
	return 0;
}

int
cursor_commit(struct cursor *c, int64_t new_end, struct buf *err)
{
	int	 rc;

	if (c->readonly) {
		buf_printf(err, "%s: opened read-only", c->path);
		return -1;
	}
	if (new_end < 0) {
		buf_printf(err, "%s: cannot commit end %lld", c->path,
		    (long long)new_end);
		return -1;
	}
	c->end = new_end;
	/* A small set whole, a large one a step at each save. */
	cursor_prune_some(c, idset_count(c->ids) <= PRUNE_STEP ? SIZE_MAX :
	    PRUNE_STEP);
	compact_poll(c);
	if (!c->has_snapshot)
		rc = save_snapshot(c, err);
	else
		rc = journal_append(c, err);
	if (rc == -1)
		return -1;
	c->after_corruption = 0;
	(void)compact_maybe(c);
	return 0;
}

int
cursor_sync(struct cursor *c, struct buf *err)
{
	/* The syncs, and a compaction due (two jobs: the file, then it). */
	do {
		pthread_mutex_lock(&wk_mtx);
		while (c->jobs > 0)
			pthread_cond_wait(&wk_done, &wk_mtx);
		pthread_mutex_unlock(&wk_mtx);
	} while (compact_maybe(c));
	return sync_failed(c, err);
}

void
cursor_free(struct cursor *c)
{
	struct buf	 err;

	if (c == NULL)
		return;
	pthread_mutex_lock(&wk_mtx);
	if (c->cp != NULL)
		c->cp->cancel = 1;
	while (c->jobs > 0)
		pthread_cond_wait(&wk_done, &wk_mtx);
	pthread_mutex_unlock(&wk_mtx);
	compact_free(c->cp);
	if (c->make_fd != -1)
		close(c->make_fd);
	free(c->make_err);
	buf_init(&err);
	if (sync_failed(c, &err) == -1)
		log_warnx("source \"%s\": %s; the last saves may not survive "
		    "a power loss (their events would be sent again)", c->name,
		    err.data);
	buf_free(&err);
	if (c->jfd != -1)
		close(c->jfd);
	free(c->name);
	free(c->dir);
	free(c->path);
	free(c->tmppath);
	free(c->project_id);
	free(c->region);
	free(c->category);
	free(c->enterprise_project_id);
	free(c->jf);
	buf_free(&c->pending);
	idset_free(c->ids);
	free(c);
}

off_t
cursor_journal_bytes(const struct cursor *c, size_t *nfiles)
{
	size_t	 i, n = 0;

	for (i = 0; i < c->njf; i++)
		if (c->jf[i].valid > 0)
			n++;
	*nfiles = n;
	return journal_bytes(c);
}

struct each_file {
	void	(*fn)(const char *, void *);
	void	*arg;
};

static void
each_journal_file(const struct cursor *c, const char *path, uint64_t gen,
    void *arg)
{
	struct each_file	*ef = arg;

	(void)c;
	(void)gen;
	ef->fn(path, ef->arg);
}

void
cursor_each_file(const struct cursor *c, void (*fn)(const char *, void *),
    void *arg)
{
	struct each_file	 ef = { fn, arg };
	struct stat		 st;

	if (lstat(c->path, &st) == 0 && S_ISREG(st.st_mode))
		fn(c->path, arg);
	journal_each(c, each_journal_file, &ef);
}

int
cursor_check_dir(const char *statedir, struct buf *err)
{
	struct stat	 st;
	char		*probe;
	int		 fd;

	if (stat(statedir, &st) == -1 && errno == ENOENT &&
	    mkdir(statedir, 0700) == -1) {
		buf_printf(err, "cannot create it: %s", strerror(errno));
		return -1;
	}
	if (stat(statedir, &st) == -1) {
		buf_printf(err, "cannot access it: %s", strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		buf_adds(err, "not a directory");
		return -1;
	}
	probe = xasprintf("%s/.probe.%ld", statedir, (long)getpid());
	if ((fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1) {
		buf_printf(err, "not writable: cannot create a file in it: %s",
		    strerror(errno));
		free(probe);
		return -1;
	}
	close(fd);
	unlink(probe);
	free(probe);
	return 0;
}
