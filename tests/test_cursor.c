/*
 * Unit tests of the cursor (cursor.c, idset.c): state file round trip,
 * dedupe, pruning, atomic writes and their failures, corrupt and foreign
 * files (tests/data/cursor), the state directory check, the filters hash;
 * the journal: appends, replay, torn and corrupt records, compaction,
 * the upgrade from snapshots without a journal, pruning across a
 * compaction; the id set's hash (SipHash-2-4-128 against OpenSSL's).
 */
#include "autoconf.h"

#include <sys/resource.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "cursor.h"
#include "idset.h"
#include "util.h"

#define T		1700000000000LL
#define MIN		60000LL
#define EMPTY_HASH	\
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define PROJECT		"0123456789abcdef0123456789abcdef"
#define OTHER_HASH	\
	"8ff8b7e4505a3dbbcf0d9d706ee91d862760cb9eb7512775758b2c3e37f40a5c"

struct fixture {
	char			 dir[64];
	struct cursor_identity	 id;
	struct buf		 err;
};

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

static int
setup(void **state)
{
	struct fixture	*f;

	f = xcalloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_cursor.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	f->id.project_id = PROJECT;
	f->id.region = "ap-southeast-1";
	f->id.category = "host";
	f->id.enterprise_project_id = NULL;
	memcpy(f->id.filters_hash, EMPTY_HASH, 65);
	buf_init(&f->err);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	chmod(f->dir, 0700);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	buf_free(&f->err);
	free(f);
	return 0;
}

static char *
path_in(struct fixture *f, const char *name)
{
	return xasprintf("%s/%s", f->dir, name);
}

/* Whole file, NUL-terminated; NULL if it cannot be read. */
static char *
slurp(const char *path, size_t *lenp)
{
	struct buf	 b;
	char		 chunk[8192];
	size_t		 n;
	FILE		*fp;

	if ((fp = fopen(path, "r")) == NULL)
		return NULL;
	buf_init(&b);
	buf_reserve(&b, 1);
	b.data[0] = '\0';
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		buf_add(&b, chunk, n);
	fclose(fp);
	if (lenp != NULL)
		*lenp = b.len;
	return b.data;
}

static void
spew(const char *path, const char *data, size_t len)
{
	FILE	*fp;

	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static int
exists(const char *path)
{
	struct stat	 st;

	return lstat(path, &st) == 0;
}

/* Number of entries in the directory (without . and ..). */
static int
count_entries(const char *dir)
{
	struct dirent	*de;
	DIR		*d;
	int		 n = 0;

	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static struct cursor *
open_ok(struct fixture *f, size_t max, int64_t lookback,
    enum cursor_open_status want)
{
	enum cursor_open_status	 st = -1;
	struct cursor		*c;

	buf_reset(&f->err);
	c = cursor_open(f->dir, "prod", &f->id, max, lookback, &st, &f->err);
	if (st != want)
		fail_msg("status %d, expected %d: %s", st, want,
		    f->err.len ? f->err.data : "");
	assert_non_null(c);
	assert_int_equal(f->err.len, 0);
	return c;
}

static void
commit_ok(struct fixture *f, struct cursor *c, int64_t end)
{
	buf_reset(&f->err);
	if (cursor_commit(c, end, &f->err) != 0)
		fail_msg("commit: %s", f->err.data);
}

static void
test_new(void **state)
{
	struct fixture	*f = *state;
	struct cursor	*c;

	c = open_ok(f, 100, 10 * MIN, CURSOR_NEW);
	assert_int_equal(cursor_end(c), 0);
	assert_int_equal(cursor_count(c), 0);
	assert_int_equal(cursor_after_corruption(c), 0);
	assert_false(cursor_has(c, "x"));
	assert_int_equal(count_entries(f->dir), 0);
	/* Stopped during the first window: ids saved, end still 0. */
	cursor_add(c, "early", T);
	commit_ok(f, c, 0);
	cursor_free(c);
	cursor_free(NULL);
	c = open_ok(f, 100, 10 * MIN, CURSOR_OK);
	assert_int_equal(cursor_end(c), 0);
	assert_true(cursor_has(c, "early"));
	cursor_free(c);
}

/* The exact bytes written, and a reload that gives the same state. */
static void
test_round_trip(void **state)
{
	struct fixture	*f = *state;
	struct cursor	*c;
	char		*path, *data, *expect, *p, *tail;
	long long	 updated, before, after;
	size_t		 len;

	f->id.enterprise_project_id = "all_granted_eps";
	c = open_ok(f, 100, 10 * MIN, CURSOR_NEW);
	assert_int_equal(cursor_add(c, "evt-1", T - 1000), 0);
	assert_int_equal(cursor_add(c, "q\"b\\n\nt\tc\x01" "\xc3\xa9", T), 0);
	assert_int_equal(cursor_add(c, "evt-3", T - 5 * MIN), 0);
	assert_int_equal(cursor_count(c), 3);
	before = time_now_ms();
	commit_ok(f, c, T + 500);
	after = time_now_ms();
	cursor_free(c);

	path = path_in(f, "prod.json");
	assert_non_null(data = slurp(path, &len));
	assert_non_null(p = strstr(data, "\"updated\":"));
	updated = strtoll(p + 10, &tail, 10);
	assert_true(updated >= before && updated <= after);
	expect = xasprintf("{\"version\":1,\"source\":\"prod\","
	    "\"project_id\":\"" PROJECT "\",\"region\":\"ap-southeast-1\","
	    "\"category\":\"host\","
	    "\"enterprise_project_id\":\"all_granted_eps\","
	    "\"filters_hash\":\"" EMPTY_HASH "\",\"end\":1700000000500,"
	    "\"updated\":%lld,\"journal\":1,\"ids\":[\n"
	    "[\"evt-1\",1699999999000],\n"
	    "[\"q\\\"b\\\\n\\nt\\tc\\u0001\xc3\xa9\",1700000000000],\n"
	    "[\"evt-3\",1699999700000]]}\n", updated);
	assert_string_equal(data, expect);
	assert_int_equal(len, strlen(expect));
	free(expect);
	expect = path_in(f, "prod.json.tmp");
	assert_false(exists(expect));
	assert_int_equal(count_entries(f->dir), 1);
	free(data);
	free(expect);

	c = open_ok(f, 100, 10 * MIN, CURSOR_OK);
	assert_int_equal(cursor_end(c), T + 500);
	assert_int_equal(cursor_count(c), 3);
	assert_true(cursor_has(c, "evt-1"));
	assert_true(cursor_has(c, "q\"b\\n\nt\tc\x01" "\xc3\xa9"));
	assert_true(cursor_has(c, "evt-3"));
	assert_false(cursor_has(c, "evt-2"));
	assert_false(cursor_has(c, "evt-"));
	assert_string_equal(cursor_path(c), path);
	cursor_free(c);
	free(path);
}

static void
test_has_add(void **state)
{
	struct fixture	*f = *state;
	struct cursor	*c;
	char		 id64[65], id65[66];

	memset(id64, 'a', 64);
	id64[64] = '\0';
	memset(id65, 'b', 65);
	id65[65] = '\0';
	c = open_ok(f, 100, 10 * MIN, CURSOR_NEW);
	assert_int_equal(cursor_add(c, "", T), -1);
	assert_int_equal(cursor_add(c, id65, T), -1);
	assert_int_equal(cursor_add(c, id64, T), 0);
	assert_int_equal(cursor_add(c, "e1", T), 0);
	assert_int_equal(cursor_add(c, "e1", T - 99 * MIN), 0);
	assert_int_equal(cursor_count(c), 2);
	assert_true(cursor_has(c, id64));
	assert_false(cursor_has(c, id65));
	assert_false(cursor_has(c, ""));
	assert_true(cursor_has(c, "e1"));
	assert_false(cursor_has(c, "e"));
	assert_false(cursor_has(c, "e1 "));
	/* The time of the first add stays: e1 survives a 10 min prune. */
	commit_ok(f, c, T);
	assert_true(cursor_has(c, "e1"));
	cursor_free(c);
}

static void
test_prune_lookback(void **state)
{
	struct fixture	*f = *state;
	struct cursor	*c;
	char		*expect;

	c = open_ok(f, 100, 10 * MIN, CURSOR_NEW);
	cursor_add(c, "older", T - 10 * MIN - 1000);
	/* Keys are held rounded up to the second: kept a little longer. */
	cursor_add(c, "edge-1ms", T - 10 * MIN - 1);
	cursor_add(c, "edge", T - 10 * MIN);
	cursor_add(c, "newer", T - 9 * MIN);
	cursor_add(c, "future", T + MIN);
	commit_ok(f, c, T);
	assert_int_equal(cursor_count(c), 4);
	assert_false(cursor_has(c, "older"));
	assert_true(cursor_has(c, "edge-1ms"));
	assert_true(cursor_has(c, "edge"));
	assert_true(cursor_has(c, "newer"));
	assert_true(cursor_has(c, "future"));
	cursor_free(c);
	/* Reloading with a shorter lookback prunes at load. */
	c = open_ok(f, 100, 5 * MIN, CURSOR_OK);
	assert_int_equal(cursor_count(c), 1);
	assert_true(cursor_has(c, "future"));
	cursor_free(c);
	/* A commit moving the end back (clock rewind) is allowed. */
	c = open_ok(f, 100, 10 * MIN, CURSOR_OK);
	assert_int_equal(cursor_count(c), 4);	/* the file kept them */
	commit_ok(f, c, T - 2 * MIN);
	assert_int_equal(cursor_end(c), T - 2 * MIN);
	assert_int_equal(cursor_count(c), 4);
	buf_reset(&f->err);
	assert_int_equal(cursor_commit(c, -1, &f->err), -1);
	expect = xasprintf("%s: cannot commit end -1", cursor_path(c));
	assert_string_equal(f->err.data, expect);
	free(expect);
	cursor_free(c);
}

static void
test_bound_oldest_first(void **state)
{
	struct fixture	*f = *state;
	struct cursor	*c;
	int64_t		 oldest;

	c = open_ok(f, 3, 10 * MIN, CURSOR_NEW);
	cursor_add(c, "t5", T - 1 * MIN);
	cursor_add(c, "t1", T - 5 * MIN);
	cursor_add(c, "t3a", T - 3 * MIN);
	cursor_add(c, "t4", T - 2 * MIN);
	cursor_add(c, "t3b", T - 3 * MIN);
	cursor_add(c, "t2", T - 4 * MIN);
	commit_ok(f, c, T);
	/* Newest 3: t5, t4, and one of the tied t3a/t3b. */
	assert_int_equal(cursor_count(c), 3);
	assert_int_equal(cursor_over_max(c, &oldest), 3);
	assert_int_equal(oldest, T - 3 * MIN);
	assert_true(cursor_has(c, "t5"));
	assert_true(cursor_has(c, "t4"));
	assert_int_equal(cursor_has(c, "t3a") + cursor_has(c, "t3b"), 1);
	assert_false(cursor_has(c, "t2"));
	assert_false(cursor_has(c, "t1"));
	cursor_free(c);
	/* A smaller bound applies at load. */
	c = open_ok(f, 1, 10 * MIN, CURSOR_OK);
	assert_int_equal(cursor_count(c), 1);
	assert_true(cursor_has(c, "t5"));
	cursor_free(c);
}

/* Many ids through prune cycles: the set stays exact. */
static void
test_many_ids(void **state)
{
	struct fixture	*f = *state;
	struct cursor	*c;
	char		 id[32];
	int		 i;

	c = open_ok(f, 100000, 10 * MIN, CURSOR_NEW);
	for (i = 0; i < 20000; i++) {
		snprintf(id, sizeof(id), "id-%d", i);
		assert_int_equal(cursor_add(c, id, T + i * 1000LL), 0);
	}
	/* Keep occur_time >= T + 10000 s: ids 10000.. */
	commit_ok(f, c, T + 10 * MIN + 10000 * 1000LL);
	assert_int_equal(cursor_count(c), 10000);
	cursor_free(c);
	c = open_ok(f, 100000, 10 * MIN, CURSOR_OK);
	assert_int_equal(cursor_count(c), 10000);
	for (i = 0; i < 20000; i++) {
		snprintf(id, sizeof(id), "id-%d", i);
		if (cursor_has(c, id) != (i >= 10000))
			fail_msg("id %d", i);
	}
	cursor_free(c);
}

/* Run cursor_commit() with files limited to limit bytes (a full disk). */
static int
commit_disk_limit(struct cursor *c, int64_t end, struct buf *err,
    rlim_t limit)
{
	struct rlimit	 old, small;
	void		(*oldsig)(int);
	int		 r;

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	small = old;
	small.rlim_cur = limit;
	oldsig = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	r = cursor_commit(c, end, err);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, oldsig);
	return r;
}

static int
commit_small_disk(struct cursor *c, int64_t end, struct buf *err)
{
	return commit_disk_limit(c, end, err, 4096);
}

static void
add_many(struct cursor *c, const char *prefix, int n, int64_t t)
{
	char	 id[64];
	int	 i;

	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "%s-%d", prefix, i);
		assert_int_equal(cursor_add(c, id, t), 0);
	}
}

/*
 * The first save writes the snapshot atomically: a failure leaves no file
 * and no .tmp, and the retry writes it.
 */
static void
test_atomic_write_fails(void **state)
{
	struct fixture	*f = *state;
	struct cursor	*c;
	char		*path, *tmp, *expect, *keep;

	path = path_in(f, "prod.json");
	tmp = path_in(f, "prod.json.tmp");
	c = open_ok(f, 100000, 10 * MIN, CURSOR_NEW);
	add_many(c, "event", 2000, T);

	/* Disk full, as far as this process can tell: RLIMIT_FSIZE. */
	buf_reset(&f->err);
	assert_int_equal(commit_small_disk(c, T, &f->err), -1);
	expect = xasprintf("cannot write %s: %s", tmp, strerror(EFBIG));
	assert_string_equal(f->err.data, expect);
	free(expect);
	assert_false(exists(tmp));
	assert_false(exists(path));

	/* The .tmp cannot be created (a directory is in the way). */
	assert_int_equal(mkdir(tmp, 0700), 0);
	buf_reset(&f->err);
	assert_int_equal(cursor_commit(c, T + MIN, &f->err), -1);
	expect = xasprintf("cannot create %s: %s", tmp, strerror(EISDIR));
	assert_string_equal(f->err.data, expect);
	free(expect);
	assert_false(exists(path));
	assert_int_equal(rmdir(tmp), 0);

	/* The rename fails (a non-empty directory is in the way). */
	assert_int_equal(mkdir(path, 0700), 0);
	keep = xasprintf("%s/keep", path);
	spew(keep, "x", 1);
	buf_reset(&f->err);
	assert_int_equal(cursor_commit(c, T + 2 * MIN, &f->err), -1);
	expect = xasprintf("cannot rename %s to %s: %s", tmp, path,
	    strerror(EISDIR));
	if (strcmp(f->err.data, expect) != 0) {
		free(expect);
		expect = xasprintf("cannot rename %s to %s: %s", tmp, path,
		    strerror(ENOTEMPTY));
	}
	assert_string_equal(f->err.data, expect);
	free(expect);
	assert_false(exists(tmp));
	assert_int_equal(unlink(keep), 0);
	assert_int_equal(rmdir(path), 0);
	free(keep);

	/* The in-memory state is the new one; the retry succeeds. */
	assert_int_equal(cursor_end(c), T + 2 * MIN);
	commit_ok(f, c, T + 3 * MIN);
	assert_false(exists(tmp));
	cursor_free(c);
	c = open_ok(f, 100000, 10 * MIN, CURSOR_OK);
	assert_int_equal(cursor_end(c), T + 3 * MIN);
	assert_int_equal(cursor_count(c), 2000);
	assert_true(cursor_has(c, "event-1999"));
	cursor_free(c);
	free(path);
	free(tmp);
}

/*
 * Later saves append to the journal: a failed append leaves the journal
 * as it was (the partial record cut off), the snapshot untouched, and the
 * retry appends; a journal file that cannot be made is an error too.
 */
static void
test_journal_write_fails(void **state)
{
	struct fixture	*f = *state;
	struct cursor	*c;
	struct stat	 st;
	char		*path, *jpath, *j2, *before, *after, *expect;
	off_t		 jsize;

	path = path_in(f, "prod.json");
	jpath = path_in(f, "prod.journal.1");
	j2 = path_in(f, "prod.journal.2");
	c = open_ok(f, 100000, 10 * MIN, CURSOR_NEW);
	cursor_add(c, "first", T);
	commit_ok(f, c, T);
	assert_non_null(before = slurp(path, NULL));
	cursor_add(c, "second", T);
	commit_ok(f, c, T + MIN);
	assert_int_equal(stat(jpath, &st), 0);
	jsize = st.st_size;
	assert_true(jsize > 0);

	add_many(c, "event", 2000, T);
	buf_reset(&f->err);
	assert_int_equal(commit_small_disk(c, T + 2 * MIN, &f->err), -1);
	expect = xasprintf("cannot write %s: %s", jpath, strerror(EFBIG));
	assert_string_equal(f->err.data, expect);
	free(expect);
	assert_int_equal(stat(jpath, &st), 0);
	assert_int_equal(st.st_size, jsize);
	assert_non_null(after = slurp(path, NULL));
	assert_string_equal(after, before);
	free(after);
	assert_int_equal(cursor_end(c), T + 2 * MIN);
	commit_ok(f, c, T + 2 * MIN);

	/* A save of several records (they are written one at a time) that
	 * fails after the first went out: the file is cut back to where the
	 * save began, and the next save writes them all. */
	assert_int_equal(stat(jpath, &st), 0);
	jsize = st.st_size;
	add_many(c, "wide", 6000, T);
	buf_reset(&f->err);
	assert_int_equal(commit_disk_limit(c, T + 2 * MIN, &f->err,
	    (rlim_t)jsize + 100000), -1);
	expect = xasprintf("cannot write %s: %s", jpath, strerror(EFBIG));
	assert_string_equal(f->err.data, expect);
	free(expect);
	assert_int_equal(stat(jpath, &st), 0);
	assert_int_equal(st.st_size, jsize);
	commit_ok(f, c, T + 2 * MIN);
	assert_int_equal(stat(jpath, &st), 0);
	assert_true(st.st_size > jsize + 100000);
	cursor_free(c);

	c = open_ok(f, 100000, 10 * MIN, CURSOR_OK);
	assert_int_equal(cursor_end(c), T + 2 * MIN);
	assert_int_equal(cursor_count(c), 8002);
	assert_true(cursor_has(c, "first"));
	assert_true(cursor_has(c, "second"));
	assert_true(cursor_has(c, "event-0"));
	assert_true(cursor_has(c, "event-1999"));
	assert_true(cursor_has(c, "wide-0"));
	assert_true(cursor_has(c, "wide-5999"));
	cursor_free(c);

	/* A directory where the journal is: skipped with a warning, the
	 * saves go to the next file. */
	assert_int_equal(unlink(jpath), 0);
	assert_int_equal(mkdir(jpath, 0700), 0);
	c = open_ok(f, 100000, 10 * MIN, CURSOR_OK);
	assert_int_equal(cursor_end(c), T);
	assert_int_equal(cursor_count(c), 1);
	/* ... and a FIFO where that next file goes: refused, not opened. */
	assert_int_equal(mkfifo(j2, 0600), 0);
	cursor_add(c, "third", T);
	buf_reset(&f->err);
	assert_int_equal(cursor_commit(c, T + 3 * MIN, &f->err), -1);
	expect = xasprintf("cannot create %s: not a regular file", j2);
	assert_string_equal(f->err.data, expect);
	free(expect);
	assert_int_equal(unlink(j2), 0);
	commit_ok(f, c, T + 3 * MIN);
	cursor_free(c);
	c = open_ok(f, 100000, 10 * MIN, CURSOR_OK);
	assert_int_equal(cursor_end(c), T + 3 * MIN);
	assert_true(cursor_has(c, "third"));
	assert_true(cursor_has(c, "first"));
	cursor_free(c);
	assert_int_equal(rmdir(jpath), 0);
	free(before);
	free(path);
	free(jpath);
	free(j2);
}

/* CRC-32 (ISO HDLC), bit by bit: not the code under test. */
static uint32_t
crc32_slow(const char *p, size_t len)
{
	uint32_t	 c = 0xffffffffu;
	size_t		 i;
	int		 k;

	for (i = 0; i < len; i++) {
		c ^= (unsigned char)p[i];
		for (k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
	}
	return ~c;
}

/* A journal record of payload: "LENGTH CRC32 PAYLOAD\n". */
static void
add_record(struct buf *b, const char *payload)
{
	buf_printf(b, "%zu %08x %s\n", strlen(payload),
	    (unsigned int)crc32_slow(payload, strlen(payload)), payload);
}

/* The "updated" of the snapshot. */
static long long
snapshot_updated(struct fixture *f)
{
	char		*path, *data, *p;
	long long	 v;

	path = path_in(f, "prod.json");
	assert_non_null(data = slurp(path, NULL));
	assert_non_null(p = strstr(data, "\"updated\":"));
	v = strtoll(p + 10, NULL, 10);
	free(data);
	free(path);
	return v;
}

/* The "updated" of the last record of a journal file (its last line). */
static long long
last_updated(const char *data)
{
	const char	*p = NULL, *q = data;

	while ((q = strstr(q, "\"updated\":")) != NULL)
		p = q++;
	assert_non_null(p);
	return strtoll(p + 10, NULL, 10);
}

/* Open with stderr captured: the log lines of the open, in *log. */
static struct cursor *
open_logged(struct fixture *f, size_t max, int64_t lookback,
    enum cursor_open_status want, char **log)
{
	struct cursor	*c;
	char		*path;
	int		 fd, saved;

	path = path_in(f, "stderr.txt");
	fflush(stderr);
	assert_true((saved = dup(2)) != -1);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) !=
	    -1);
	assert_int_equal(dup2(fd, 2), 2);
	close(fd);
	c = open_ok(f, max, lookback, want);
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	assert_non_null(*log = slurp(path, NULL));
	assert_int_equal(unlink(path), 0);
	free(path);
	return c;
}

/*
 * Saves after the first append records to NAME.journal.1 (a header, then
 * what changed, one record a save); nothing changed, nothing is written;
 * a reload replays them.
 */
static void
test_journal_replay(void **state)
{
	struct fixture	*f = *state;
	struct cursor	*c;
	struct buf	 want, pl;
	char		*jpath, *data, *log;
	long long	 u0, u1, u2;
	size_t		 len, len2;

	jpath = path_in(f, "prod.journal.1");
	c = open_ok(f, 100, 10 * MIN, CURSOR_NEW);
	cursor_add(c, "a", T);
	cursor_add(c, "b", T);
	commit_ok(f, c, T);
	assert_false(exists(jpath));
	u0 = snapshot_updated(f);
	cursor_add(c, "c\n\"", T + 1);
	cursor_add(c, "a", T + 5);		/* there already */
	commit_ok(f, c, T + MIN);
	assert_non_null(data = slurp(jpath, NULL));
	u1 = last_updated(data);
	free(data);
	cursor_set_since(c, T - MIN);
	commit_ok(f, c, T + 2 * MIN);
	assert_non_null(data = slurp(jpath, &len));
	u2 = last_updated(data);
	buf_init(&want);
	buf_init(&pl);
	buf_printf(&pl, "{\"journal\":1,\"after\":%lld}", u0);
	add_record(&want, pl.data);
	buf_reset(&pl);
	buf_printf(&pl, "{\"end\":1700000060000,\"since\":0,"
	    "\"updated\":%lld,\"ids\":[[\"c\\n\\\"\",1700000000001]]}", u1);
	add_record(&want, pl.data);
	buf_reset(&pl);
	buf_printf(&pl, "{\"end\":1700000120000,\"since\":1699999940000,"
	    "\"updated\":%lld,\"ids\":[]}", u2);
	add_record(&want, pl.data);
	buf_free(&pl);
	assert_string_equal(data, want.data);
	free(data);
	buf_free(&want);
	/* The same end, no new id: nothing written. */
	commit_ok(f, c, T + 2 * MIN);
	assert_non_null(data = slurp(jpath, &len2));
	assert_int_equal(len2, len);
	free(data);
	cursor_free(c);

	c = open_logged(f, 100, 10 * MIN, CURSOR_OK, &log);
	assert_string_equal(log, "");
	assert_int_equal(cursor_end(c), T + 2 * MIN);
	assert_int_equal(cursor_since(c), T - MIN);
	assert_int_equal(cursor_count(c), 3);
	assert_true(cursor_has(c, "a"));
	assert_true(cursor_has(c, "b"));
	assert_true(cursor_has(c, "c\n\""));
	/* Appends go on in the same file. */
	cursor_add(c, "d", T + 3 * MIN);
	commit_ok(f, c, T + 3 * MIN);
	cursor_free(c);
	c = open_ok(f, 100, 10 * MIN, CURSOR_OK);
	assert_int_equal(cursor_count(c), 4);
	assert_true(cursor_has(c, "d"));
	assert_int_equal(cursor_end(c), T + 3 * MIN);
	cursor_free(c);
	free(log);
	free(jpath);
}

/*
 * A torn last record (a crash mid-append) and a record that fails its
 * checksum: each is ignored with the rest of its file and a warning that
 * names the file and the offset; the state is what came before; the next
 * save cuts the torn end off; a later journal file is still replayed.
 */
static void
test_journal_torn(void **state)
{
	struct fixture	*f = *state;
	struct cursor	*c;
	struct stat	 st;
	struct buf	 b;
	char		*jpath, *j2, *data, *log, *expect, *p;
	size_t		 len, rec3;

	jpath = path_in(f, "prod.journal.1");
	j2 = path_in(f, "prod.journal.2");
	c = open_ok(f, 100, 10 * MIN, CURSOR_NEW);
	commit_ok(f, c, T);
	cursor_add(c, "one", T);
	commit_ok(f, c, T + 1 * MIN);
	cursor_add(c, "two", T);
	commit_ok(f, c, T + 2 * MIN);
	assert_int_equal(stat(jpath, &st), 0);
	rec3 = (size_t)st.st_size;
	cursor_add(c, "three", T);
	commit_ok(f, c, T + 3 * MIN);
	cursor_free(c);
	assert_non_null(data = slurp(jpath, &len));

	/* Cut in the middle of the last record. */
	spew(jpath, data, len - 10);
	free(data);
	c = open_logged(f, 100, 10 * MIN, CURSOR_OK, &log);
	expect = xasprintf("warning: source \"prod\": state journal %s: a torn "
	    "record at offset %zu; ignoring it and the rest of the file\n",
	    jpath, rec3);
	if (strstr(log, expect) == NULL)
		fail_msg("log: %s", log);
	free(expect);
	free(log);
	assert_int_equal(cursor_end(c), T + 2 * MIN);
	assert_true(cursor_has(c, "two"));
	assert_false(cursor_has(c, "three"));
	/* The next save cuts the torn end and appends. */
	cursor_add(c, "four", T);
	commit_ok(f, c, T + 4 * MIN);
	cursor_free(c);
	c = open_logged(f, 100, 10 * MIN, CURSOR_OK, &log);
	assert_string_equal(log, "");
	free(log);
	assert_int_equal(cursor_end(c), T + 4 * MIN);
	assert_true(cursor_has(c, "four"));
	assert_false(cursor_has(c, "three"));
	assert_int_equal(cursor_count(c), 3);
	cursor_free(c);

	/* A flipped byte in the second record (the id "one"); then a valid
	 * NAME.journal.2, which is replayed after it. */
	assert_non_null(data = slurp(jpath, &len));
	assert_non_null(p = strstr(data, "\"one\""));
	p[1] = 'X';
	spew(jpath, data, len);
	*p = '\0';
	p = strrchr(data, '\n');	/* the end of the header record */
	buf_init(&b);
	add_record(&b, "{\"journal\":2,\"after\":0}");
	add_record(&b, "{\"end\":1700000600000,\"updated\":1,\"ids\":"
	    "[[\"five\",1700000000000]]}");
	spew(j2, b.data, b.len);
	buf_free(&b);
	c = open_logged(f, 100, 10 * MIN, CURSOR_OK, &log);
	expect = xasprintf("warning: source \"prod\": state journal %s: a "
	    "record with a bad checksum at offset %zu; ignoring it and the "
	    "rest of the file\n", jpath, (size_t)(p + 1 - data));
	if (strstr(log, expect) == NULL)
		fail_msg("log: %s", log);
	free(expect);
	free(log);
	assert_false(cursor_has(c, "one"));
	assert_false(cursor_has(c, "two"));
	assert_true(cursor_has(c, "five"));
	assert_int_equal(cursor_end(c), T + 10 * MIN);
	/* Saves go to the last file. */
	cursor_add(c, "six", T + 10 * MIN);
	commit_ok(f, c, T + 10 * MIN);
	cursor_free(c);
	free(data);
	assert_non_null(strstr(data = slurp(j2, NULL), "\"six\""));
	free(data);
	free(jpath);
	free(j2);
}

/* Wait for the worker; the sync must have worked. */
static void
sync_ok(struct fixture *f, struct cursor *c)
{
	buf_reset(&f->err);
	if (cursor_sync(c, &f->err) != 0)
		fail_msg("sync: %s", f->err.data);
}

/*
 * The journal outgrows the snapshot (and 256 KB): a compaction writes a new
 * snapshot that the next journal file follows, without the ids pruned
 * since (by age, and beyond max_ids), and removes the files it merged;
 * saves made meanwhile are kept.
 */
static void
test_compaction(void **state)
{
	struct fixture	*f = *state;
	struct cursor	*c;
	char		*path, *j1, *j2, *data, *p, id[64];
	long long	 first;
	int		 i, k;

	path = path_in(f, "prod.json");
	j1 = path_in(f, "prod.journal.1");
	j2 = path_in(f, "prod.journal.2");
	c = open_ok(f, 30000, 10 * MIN, CURSOR_NEW);
	cursor_add(c, "old-first", T - 30 * MIN);
	cursor_add(c, "new-first", T);
	commit_ok(f, c, 0);
	/* 5,000 old ids (pruned when the end moves), then new ones. */
	for (k = 0; k < 10; k++) {
		for (i = 0; i < 2500; i++) {
			snprintf(id, sizeof(id), "%s-%d-4e1f-4d3e-8f00-"
			    "0123456789ab", k < 2 ? "old" : "new",
			    k * 2500 + i);
			cursor_add(c, id, k < 2 ? T - 30 * MIN : T + k);
		}
		commit_ok(f, c, k < 2 ? 0 : T);
	}
	sync_ok(f, c);
	assert_false(exists(j1));
	assert_non_null(data = slurp(path, NULL));
	/* Some compactions (the old ids went at the first after T). */
	assert_non_null(p = strstr(data, "\"journal\":"));
	first = strtoll(p + 10, NULL, 10);
	assert_true(first >= 2);
	assert_false(exists(j1));
	assert_non_null(strstr(data, "\"end\":1700000000000,"));
	assert_null(strstr(data, "old-"));
	assert_non_null(strstr(data, "\"new-first\""));
	assert_non_null(strstr(data, "\"new-5000-"));
	free(data);
	/* A save after it is replayed after it. */
	cursor_add(c, "after", T);
	commit_ok(f, c, T + MIN);
	sync_ok(f, c);
	cursor_free(c);
	c = open_ok(f, 30000, 10 * MIN, CURSOR_OK);
	assert_int_equal(cursor_count(c), 20002);
	assert_int_equal(cursor_end(c), T + MIN);
	assert_true(cursor_has(c, "after"));
	assert_true(cursor_has(c, "new-first"));
	assert_false(cursor_has(c, "old-first"));
	assert_true(cursor_has(c, "new-5000-4e1f-4d3e-8f00-0123456789ab"));
	assert_false(cursor_has(c, "old-0-4e1f-4d3e-8f00-0123456789ab"));
	cursor_free(c);

	/* max_ids 10,000 at the next open; the newest stay across the next
	 * compaction (more than a snapshot's worth of new ids), the others
	 * are not written again. */
	c = open_ok(f, 10000, 10 * MIN, CURSOR_OK);
	assert_int_equal(cursor_count(c), 10000);
	for (i = 0; i < 40000; i++) {
		snprintf(id, sizeof(id), "more-%d-4e1f-4d3e-8f00-0123456789ab",
		    i);
		cursor_add(c, id, T + 60000 + i * 10LL);
		if (i % 2500 == 2499)
			commit_ok(f, c, T + 2 * MIN);
	}
	sync_ok(f, c);
	assert_non_null(data = slurp(path, NULL));
	assert_non_null(p = strstr(data, "\"journal\":"));
	assert_true(strtoll(p + 10, NULL, 10) > first);
	assert_null(strstr(data, "\"new-5000-"));
	free(data);
	cursor_free(c);
	c = open_ok(f, 10000, 10 * MIN, CURSOR_OK);
	assert_int_equal(cursor_count(c), 10000);
	assert_true(cursor_has(c, "more-39999-4e1f-4d3e-8f00-0123456789ab"));
	assert_false(cursor_has(c, "more-0-4e1f-4d3e-8f00-0123456789ab"));
	cursor_free(c);
	free(path);
	free(j1);
	free(j2);
}

/*
 * A snapshot of an earlier version (no "journal"): loaded as it is; the
 * first save starts NAME.journal.1 (its header names the snapshot), and a
 * compaction rewrites the snapshot in the current format at once. A
 * NAME.journal.1 made after such a snapshot is replayed; one from before
 * it (a downgrade and back) is not, and the next save removes it.
 */
static void
test_upgrade(void **state)
{
	static const char old[] = "{\"version\":1,\"source\":\"prod\","
	    "\"project_id\":\"" PROJECT "\",\"region\":\"ap-southeast-1\","
	    "\"category\":\"host\",\"enterprise_project_id\":\"0\","
	    "\"filters_hash\":\"" EMPTY_HASH "\",\"end\":1700000000000,"
	    "\"updated\":1700000000123,\"ids\":[\n[\"evt-1\",1699999999000],\n"
	    "[\"evt-2\",1700000000000]]}\n";
	struct fixture	*f = *state;
	struct cursor	*c;
	struct buf	 b;
	char		*path, *j1, *j2, *data;

	path = path_in(f, "prod.json");
	j1 = path_in(f, "prod.journal.1");
	j2 = path_in(f, "prod.journal.2");
	spew(path, old, strlen(old));
	c = open_ok(f, 100, 10 * MIN, CURSOR_OK);
	assert_int_equal(cursor_count(c), 2);
	cursor_add(c, "evt-3", T);
	commit_ok(f, c, T + MIN);
	sync_ok(f, c);
	assert_false(exists(j1));
	assert_non_null(data = slurp(path, NULL));
	assert_non_null(strstr(data, "\"end\":1700000060000,"));
	assert_non_null(strstr(data, "\"journal\":2,\"ids\":[\n"
	    "[\"evt-1\",1699999999000],\n[\"evt-2\",1700000000000],\n"
	    "[\"evt-3\",1700000000000]]}\n"));
	free(data);
	cursor_free(c);
	c = open_ok(f, 100, 10 * MIN, CURSOR_OK);
	assert_int_equal(cursor_count(c), 3);
	assert_int_equal(cursor_end(c), T + MIN);
	cursor_free(c);

	/* A journal made after the old snapshot (a crash before the
	 * rewrite): replayed. */
	spew(path, old, strlen(old));
	buf_init(&b);
	add_record(&b, "{\"journal\":1,\"after\":1700000000123}");
	add_record(&b, "{\"end\":1700000120000,\"updated\":1700000120000,"
	    "\"ids\":[[\"evt-4\",1700000000000]]}");
	spew(j1, b.data, b.len);
	unlink(j2);		/* (made empty for the saves after) */
	c = open_ok(f, 100, 10 * MIN, CURSOR_OK);
	assert_int_equal(cursor_count(c), 3);
	assert_true(cursor_has(c, "evt-4"));
	assert_int_equal(cursor_end(c), T + 2 * MIN);
	cursor_free(c);

	/* From before it: ignored, and gone with the first save (with any
	 * other file there). */
	buf_reset(&b);
	add_record(&b, "{\"journal\":1,\"after\":1699999999999}");
	add_record(&b, "{\"end\":1700000120000,\"updated\":1699999999999,"
	    "\"ids\":[[\"evt-4\",1700000000000]]}");
	spew(j1, b.data, b.len);
	spew(j2, b.data, b.len);
	c = open_ok(f, 100, 10 * MIN, CURSOR_OK);
	assert_int_equal(cursor_count(c), 2);
	assert_false(cursor_has(c, "evt-4"));
	assert_int_equal(cursor_end(c), T);
	cursor_add(c, "evt-5", T);
	commit_ok(f, c, T + MIN);
	sync_ok(f, c);
	assert_false(exists(j1));
	/* (NAME.journal.2 is there again: made for the saves after.) */
	if ((data = slurp(j2, NULL)) != NULL) {
		assert_null(strstr(data, "evt-4"));
		free(data);
	}
	cursor_free(c);
	c = open_ok(f, 100, 10 * MIN, CURSOR_OK);
	assert_int_equal(cursor_count(c), 3);
	assert_false(cursor_has(c, "evt-4"));
	assert_true(cursor_has(c, "evt-5"));
	cursor_free(c);
	buf_free(&b);
	free(path);
	free(j1);
	free(j2);
}

/*
 * Journal files without a snapshot (it was removed: a reset) are ignored,
 * and removed by the first save; a corrupt snapshot takes its journal
 * files aside with it.
 */
static void
test_journal_orphans(void **state)
{
	struct fixture	*f = *state;
	struct cursor	*c;
	struct dirent	*de;
	struct buf	 b;
	DIR		*d;
	char		*path, *j1, *j3;
	int		 aside = 0;

	path = path_in(f, "prod.json");
	j1 = path_in(f, "prod.journal.1");
	j3 = path_in(f, "prod.journal.3");
	buf_init(&b);
	add_record(&b, "{\"journal\":1,\"after\":0}");
	add_record(&b, "{\"end\":1700000120000,\"updated\":1,"
	    "\"ids\":[[\"evt-4\",1700000000000]]}");
	spew(j1, b.data, b.len);
	spew(j3, b.data, b.len);
	c = open_ok(f, 100, 10 * MIN, CURSOR_NEW);
	assert_int_equal(cursor_count(c), 0);
	assert_int_equal(cursor_end(c), 0);
	cursor_add(c, "a", T);
	commit_ok(f, c, T);
	assert_false(exists(j1));
	assert_false(exists(j3));
	cursor_add(c, "b", T);
	commit_ok(f, c, T);
	assert_true(exists(j1));
	cursor_free(c);

	spew(path, "{", 1);
	buf_reset(&f->err);
	c = cursor_open(f->dir, "prod", &f->id, 100, 10 * MIN,
	    &(enum cursor_open_status){ 0 }, &f->err);
	assert_non_null(c);
	assert_int_equal(cursor_count(c), 0);
	assert_false(exists(j1));
	assert_non_null(d = opendir(f->dir));
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "prod.journal.1.corrupt.", 23) == 0)
			aside++;
	closedir(d);
	assert_int_equal(aside, 1);
	cursor_free(c);
	buf_free(&b);
	free(path);
	free(j1);
	free(j3);
}

/* Open with the current data file "NAME.json"; expect it moved aside. */
static void
expect_recovered(struct fixture *f, const char *data, size_t len,
    const char *why)
{
	enum cursor_open_status	 st = -1;
	struct cursor		*c;
	struct dirent		*de;
	DIR			*d;
	char			*path, *moved = NULL, *expect, *got, *end;
	long long		 t, before, after;

	path = path_in(f, "prod.json");
	spew(path, data, len);
	before = (long long)time(NULL);
	buf_reset(&f->err);
	c = cursor_open(f->dir, "prod", &f->id, 100, 10 * MIN, &st, &f->err);
	after = (long long)time(NULL);
	if (st != CURSOR_RECOVERED)
		fail_msg("%s: status %d: %s", why, st, f->err.data);
	assert_non_null(c);
	assert_int_equal(cursor_end(c), 0);
	assert_int_equal(cursor_count(c), 0);
	assert_int_equal(cursor_after_corruption(c), 1);
	assert_false(exists(path));
	assert_non_null(d = opendir(f->dir));
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "prod.json.corrupt.", 18) == 0) {
			assert_null(moved);
			moved = path_in(f, de->d_name);
		}
	}
	closedir(d);
	assert_non_null(moved);
	t = strtoll(strrchr(moved, '.') + 1, &end, 10);
	assert_true(*end == '\0' && t >= before && t <= after);
	expect = xasprintf("%s is corrupt (%s); moved to %s", path, why,
	    moved);
	assert_string_equal(f->err.data, expect);
	assert_non_null(got = slurp(moved, NULL));
	assert_memory_equal(got, data, len);
	/* The next commit writes a good file and clears the flag. */
	commit_ok(f, c, T);
	assert_int_equal(cursor_after_corruption(c), 0);
	cursor_free(c);
	assert_int_equal(unlink(moved), 0);
	assert_int_equal(unlink(path), 0);
	free(got);
	free(expect);
	free(moved);
	free(path);
}

static const char *
data_dir(void)
{
	static char	 dir[4096];
	const char	*s;
	char		*p;

	if ((s = getenv("srcdir")) != NULL) {
		snprintf(dir, sizeof(dir), "%s/tests/data/cursor", s);
		return dir;
	}
	snprintf(dir, sizeof(dir), "%s", __FILE__);
	if ((p = strrchr(dir, '/')) != NULL)
		*p = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	strncat(dir, "/data/cursor", sizeof(dir) - strlen(dir) - 1);
	return dir;
}

/* tests/data/cursor/corrupt/X.json with the reason in X.why. */
static void
test_corrupt_files(void **state)
{
	struct fixture	*f = *state;
	struct dirent	**names;
	char		*dir, *jpath, *wpath, *data, *why;
	size_t		 len, n;
	int		 i, count, done = 0;

	dir = xasprintf("%s/corrupt", data_dir());
	count = scandir(dir, &names, NULL, alphasort);
	if (count < 0)
		fail_msg("cannot read %s", dir);
	for (i = 0; i < count; i++) {
		n = strlen(names[i]->d_name);
		if (n > 5 && strcmp(names[i]->d_name + n - 5, ".json") == 0) {
			jpath = xasprintf("%s/%s", dir, names[i]->d_name);
			wpath = xasprintf("%s/%.*s.why", dir, (int)(n - 5),
			    names[i]->d_name);
			assert_non_null(data = slurp(jpath, &len));
			assert_non_null(why = slurp(wpath, NULL));
			why[strcspn(why, "\n")] = '\0';
			expect_recovered(f, data, len, why);
			free(data);
			free(why);
			free(jpath);
			free(wpath);
			done++;
		}
		free(names[i]);
	}
	free(names);
	free(dir);
	assert_int_equal(done, 27);
}

static void
test_corrupt_generated(void **state)
{
	struct fixture	*f = *state;
	struct cursor	*c;
	char		*path, *good, *why;
	size_t		 len;

	c = open_ok(f, 100, 10 * MIN, CURSOR_NEW);
	cursor_add(c, "evt-1", T);
	cursor_add(c, "evt-2", T);
	commit_ok(f, c, T);
	cursor_free(c);
	path = path_in(f, "prod.json");
	assert_non_null(good = slurp(path, &len));
	assert_int_equal(unlink(path), 0);

	expect_recovered(f, "", 0, "the file is empty");
	/* Truncated in the last occur_time, as after a torn write. */
	why = xasprintf("not valid JSON: error at byte %zu of %zu", len - 10,
	    len - 10);
	expect_recovered(f, good, len - 10, why);
	free(why);
	/* Cut inside a string: cJSON reports where the string starts. */
	expect_recovered(f, good, 33, "not valid JSON: error at byte 30 of 33");
	good[len - 2] = '\0';
	expect_recovered(f, good, len, "the file holds a NUL byte");
	free(good);
	free(path);
}

static void
test_valid_variants(void **state)
{
	static const char *const names[] = { "pretty.json", "reordered.json" };
	struct fixture	*f = *state;
	struct cursor	*c;
	char		*src, *dst, *data, id64[65];
	size_t		 i, len;

	memset(id64, 'x', 64);
	id64[64] = '\0';
	dst = path_in(f, "prod.json");
	for (i = 0; i < 2; i++) {
		src = xasprintf("%s/valid/%s", data_dir(), names[i]);
		assert_non_null(data = slurp(src, &len));
		spew(dst, data, len);
		c = open_ok(f, 100, 10 * MIN, CURSOR_OK);
		assert_int_equal(cursor_end(c), T);
		assert_int_equal(cursor_count(c), 2);
		assert_true(cursor_has(c, i == 0 ? id64 : "evt-1"));
		assert_true(cursor_has(c, "evt-2"));
		cursor_free(c);
		free(data);
		free(src);
	}
	free(dst);
}

struct mismatch_case {
	const char	*field;
	const char	*value;
	const char	*message;
};

static void
test_mismatch(void **state)
{
	static const struct mismatch_case cases[] = {
	    { "project_id", "ffffffffffffffffffffffffffffffff",
		"project_id is \"" PROJECT "\" in the state file, "
		"\"ffffffffffffffffffffffffffffffff\" in the config" },
	    { "region", "eu-west-101", "region is \"ap-southeast-1\" in the "
		"state file, \"eu-west-101\" in the config" },
	    { "category", "container", "category is \"host\" in the state "
		"file, \"container\" in the config" },
	    { "enterprise_project_id", "all_granted_eps",
		"enterprise_project_id is \"0\" in the state file, "
		"\"all_granted_eps\" in the config" },
	    { "region+filters", NULL, "region is \"ap-southeast-1\" in the "
		"state file, \"eu-west-101\" in the config; filters_hash is "
		"\"" EMPTY_HASH "\" in the state file, \"" OTHER_HASH "\" "
		"in the config" },
	    { "region+category", NULL, "region is \"ap-southeast-1\" in the "
		"state file, \"x\\\"\\x0a\" in the config; category is "
		"\"host\" in the state file, \"container\" in the config" },
	};
	struct fixture		*f = *state;
	struct cursor_identity	 saved = f->id;
	enum cursor_open_status	 st;
	struct cursor		*c;
	char			*path, *before, *after, *expect;
	size_t			 i;

	c = open_ok(f, 100, 10 * MIN, CURSOR_NEW);
	cursor_add(c, "evt-1", T);
	commit_ok(f, c, T);
	cursor_free(c);
	path = path_in(f, "prod.json");
	assert_non_null(before = slurp(path, NULL));

	for (i = 0; i < HSS_ARRAY_LEN(cases); i++) {
		f->id = saved;
		if (strcmp(cases[i].field, "project_id") == 0)
			f->id.project_id = cases[i].value;
		else if (strcmp(cases[i].field, "region") == 0)
			f->id.region = cases[i].value;
		else if (strcmp(cases[i].field, "category") == 0)
			f->id.category = cases[i].value;
		else if (strcmp(cases[i].field, "enterprise_project_id") == 0)
			f->id.enterprise_project_id = cases[i].value;
		else if (strcmp(cases[i].field, "region+filters") == 0) {
			f->id.region = "eu-west-101";
			memcpy(f->id.filters_hash, OTHER_HASH, 65);
		} else {
			f->id.region = "x\"\n";
			f->id.category = "container";
		}
		buf_reset(&f->err);
		st = -1;
		c = cursor_open(f->dir, "prod", &f->id, 100, 10 * MIN, &st,
		    &f->err);
		assert_null(c);
		assert_int_equal(st, CURSOR_MISMATCH);
		expect = xasprintf("%s: %s", path, cases[i].message);
		assert_string_equal(f->err.data, expect);
		free(expect);
		assert_non_null(after = slurp(path, NULL));
		assert_string_equal(after, before);
		free(after);
		assert_int_equal(count_entries(f->dir), 1);
	}
	f->id = saved;
	/* NULL and "0" are the same enterprise project. */
	f->id.enterprise_project_id = "0";
	c = open_ok(f, 100, 10 * MIN, CURSOR_OK);
	cursor_free(c);

	/* The file of another source copied under this name. */
	f->id = saved;
	expect = path_in(f, "other.json");
	assert_int_equal(rename(path, expect), 0);
	buf_reset(&f->err);
	c = cursor_open(f->dir, "other", &f->id, 100, 10 * MIN, &st, &f->err);
	assert_null(c);
	assert_int_equal(st, CURSOR_MISMATCH);
	after = xasprintf("%s: source is \"prod\" in the state file, "
	    "\"other\" in the config", expect);
	assert_string_equal(f->err.data, after);
	free(after);
	free(expect);
	free(before);
	free(path);
}

/*
 * Only the filters changed: the cursor carries over (end, since, ids), the
 * file is untouched until the next commit, which writes the new hash.
 */
static void
test_filters_changed(void **state)
{
	struct fixture		*f = *state;
	enum cursor_open_status	 st = -1;
	struct cursor		*c;
	char			*path, *before, *after, *expect;

	c = open_ok(f, 100, 10 * MIN, CURSOR_NEW);
	cursor_set_since(c, T - 60 * MIN);
	cursor_add(c, "evt-1", T - MIN);
	commit_ok(f, c, T);
	cursor_free(c);
	path = path_in(f, "prod.json");
	assert_non_null(before = slurp(path, NULL));

	memcpy(f->id.filters_hash, OTHER_HASH, 65);
	buf_reset(&f->err);
	c = cursor_open(f->dir, "prod", &f->id, 100, 10 * MIN, &st, &f->err);
	assert_non_null(c);
	assert_int_equal(st, CURSOR_FILTERS_CHANGED);
	expect = xasprintf("%s: filters_hash is \"" EMPTY_HASH "\" in the "
	    "state file, \"" OTHER_HASH "\" in the config", path);
	assert_string_equal(f->err.data, expect);
	free(expect);
	assert_int_equal(cursor_end(c), T);
	assert_int_equal(cursor_since(c), T - 60 * MIN);
	assert_true(cursor_has(c, "evt-1"));
	assert_non_null(after = slurp(path, NULL));
	assert_string_equal(after, before);
	free(after);

	/* The save goes to the journal; the compaction it starts (the
	 * identity changed) writes the new hash to the snapshot. */
	commit_ok(f, c, T + MIN);
	buf_reset(&f->err);
	assert_int_equal(cursor_sync(c, &f->err), 0);
	cursor_free(c);
	assert_non_null(after = slurp(path, NULL));
	assert_non_null(strstr(after, "\"filters_hash\":\"" OTHER_HASH "\""));
	free(after);
	c = open_ok(f, 100, 10 * MIN, CURSOR_OK);
	assert_int_equal(cursor_end(c), T + MIN);
	assert_true(cursor_has(c, "evt-1"));
	cursor_free(c);
	free(before);
	free(path);
}

/* Read-only: a corrupt file stays where it is; nothing can be committed. */
static void
test_open_readonly(void **state)
{
	struct fixture		*f = *state;
	enum cursor_open_status	 st = -1;
	struct cursor		*c;
	char			*path, *expect;

	path = path_in(f, "prod.json");
	spew(path, "not json", 8);
	buf_reset(&f->err);
	c = cursor_open_readonly(f->dir, "prod", &f->id, 100, 10 * MIN, &st,
	    &f->err);
	assert_non_null(c);
	assert_int_equal(st, CURSOR_RECOVERED);
	expect = xasprintf("%s is corrupt (not valid JSON: error at byte 0 of "
	    "8)", path);
	assert_string_equal(f->err.data, expect);
	free(expect);
	assert_int_equal(count_entries(f->dir), 1);
	buf_reset(&f->err);
	assert_int_equal(cursor_commit(c, T, &f->err), -1);
	expect = xasprintf("%s: opened read-only", path);
	assert_string_equal(f->err.data, expect);
	free(expect);
	cursor_free(c);
	assert_int_equal(count_entries(f->dir), 1);
	assert_int_equal(unlink(path), 0);

	/* A new filter read-only: reported, the file is not rewritten. */
	c = open_ok(f, 100, 10 * MIN, CURSOR_NEW);
	commit_ok(f, c, T);
	cursor_free(c);
	memcpy(f->id.filters_hash, OTHER_HASH, 65);
	buf_reset(&f->err);
	c = cursor_open_readonly(f->dir, "prod", &f->id, 100, 10 * MIN, &st,
	    &f->err);
	assert_non_null(c);
	assert_int_equal(st, CURSOR_FILTERS_CHANGED);
	assert_int_equal(cursor_end(c), T);
	cursor_free(c);
	free(path);
}

/* Every entry of dir, sorted, with its bytes: "NAME\0LENGTH\0BYTES". */
static char *
dir_digest(const char *dir, size_t *lenp)
{
	struct dirent	**de;
	struct buf	 b;
	char		*path, *data;
	size_t		 len;
	int		 i, n;

	assert_true((n = scandir(dir, &de, NULL, alphasort)) >= 0);
	buf_init(&b);
	buf_reserve(&b, 1);
	b.data[0] = '\0';
	for (i = 0; i < n; i++) {
		if (strcmp(de[i]->d_name, ".") != 0 &&
		    strcmp(de[i]->d_name, "..") != 0) {
			path = xasprintf("%s/%s", dir, de[i]->d_name);
			assert_non_null(data = slurp(path, &len));
			buf_printf(&b, "%s%c%zu%c", de[i]->d_name, 0, len, 0);
			buf_add(&b, data, len);
			free(data);
			free(path);
		}
		free(de[i]);
	}
	free(de);
	*lenp = b.len;
	return b.data;
}

static void
count_file(const char *path, void *arg)
{
	(void)path;
	(*(int *)arg)++;
}

/*
 * Read-only with a journal: the ids and the end of the journal files are
 * there, a torn tail is ignored as a start ignores it, and nothing is
 * written: no compaction although one is due (the filters changed), no
 * truncation of the torn tail, no file made; a corrupt snapshot keeps its
 * journal files next to it.
 */
static void
test_open_readonly_journal(void **state)
{
	struct fixture		*f = *state;
	enum cursor_open_status	 st = -1;
	struct cursor		*c;
	char			*jpath, *before, *after, *path;
	size_t			 nfiles = 0, blen, alen;
	int			 nf = 0;
	FILE			*fp;

	c = open_ok(f, 100, 10 * MIN, CURSOR_NEW);
	cursor_add(c, "evt-1", T - MIN);
	commit_ok(f, c, T);
	cursor_add(c, "evt-2", T);
	commit_ok(f, c, T + MIN);
	cursor_add(c, "evt-3", T + MIN);
	commit_ok(f, c, T + 2 * MIN);
	sync_ok(f, c);
	cursor_free(c);
	jpath = path_in(f, "prod.journal.1");
	assert_true(exists(jpath));
	assert_non_null(fp = fopen(jpath, "a"));
	fputs("99 0123abcd {\"end\":", fp);		/* torn */
	fclose(fp);
	before = dir_digest(f->dir, &blen);

	memcpy(f->id.filters_hash, OTHER_HASH, 65);
	buf_reset(&f->err);
	c = cursor_open_readonly(f->dir, "prod", &f->id, 100, 10 * MIN, &st,
	    &f->err);
	assert_non_null(c);
	assert_int_equal(st, CURSOR_FILTERS_CHANGED);
	assert_int_equal(cursor_end(c), T + 2 * MIN);
	assert_int_equal(cursor_count(c), 3);
	assert_true(cursor_has(c, "evt-2"));
	assert_true(cursor_has(c, "evt-3"));
	assert_true(cursor_journal_bytes(c, &nfiles) > 0);
	assert_int_equal(nfiles, 1);
	cursor_each_file(c, count_file, &nf);
	assert_int_equal(nf, 2);
	sync_ok(f, c);
	buf_reset(&f->err);
	assert_int_equal(cursor_commit(c, T + 3 * MIN, &f->err), -1);
	sync_ok(f, c);
	cursor_free(c);
	after = dir_digest(f->dir, &alen);
	assert_int_equal(alen, blen);
	assert_memory_equal(before, after, blen);
	assert_int_equal(count_entries(f->dir), 2);
	free(after);

	/* A corrupt snapshot: its journal files stay with it. */
	path = path_in(f, "prod.json");
	spew(path, "[]", 2);
	free(before);
	before = dir_digest(f->dir, &blen);
	buf_reset(&f->err);
	c = cursor_open_readonly(f->dir, "prod", &f->id, 100, 10 * MIN, &st,
	    &f->err);
	assert_non_null(c);
	assert_int_equal(st, CURSOR_RECOVERED);
	assert_int_equal(cursor_end(c), 0);
	assert_false(cursor_has(c, "evt-2"));
	cursor_free(c);
	after = dir_digest(f->dir, &alen);
	assert_int_equal(alen, blen);
	assert_memory_equal(before, after, blen);
	free(after);
	free(before);
	free(path);
	free(jpath);
}

static void
test_open_io_error(void **state)
{
	struct fixture		*f = *state;
	enum cursor_open_status	 st;
	struct cursor		*c;
	char			*path, *expect, *file;

	path = path_in(f, "prod.json");
	assert_int_equal(mkdir(path, 0700), 0);
	buf_reset(&f->err);
	c = cursor_open(f->dir, "prod", &f->id, 100, 10 * MIN, &st, &f->err);
	assert_null(c);
	assert_int_equal(st, CURSOR_ERROR);
	expect = xasprintf("cannot read %s: a directory, not a regular file",
	    path);
	assert_string_equal(f->err.data, expect);
	free(expect);
	assert_true(exists(path));
	assert_int_equal(rmdir(path), 0);

	/* A FIFO: refused at once, never opened for a blocking read. */
	assert_int_equal(mkfifo(path, 0600), 0);
	buf_reset(&f->err);
	c = cursor_open(f->dir, "prod", &f->id, 100, 10 * MIN, &st, &f->err);
	assert_null(c);
	assert_int_equal(st, CURSOR_ERROR);
	expect = xasprintf("cannot read %s: a FIFO, not a regular file", path);
	assert_string_equal(f->err.data, expect);
	free(expect);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0700), 0);

	/* A state directory under a regular file: ENOTDIR. */
	file = path_in(f, "file");
	spew(file, "x", 1);
	buf_reset(&f->err);
	c = cursor_open(file, "prod", &f->id, 100, 10 * MIN, &st, &f->err);
	assert_null(c);
	assert_int_equal(st, CURSOR_ERROR);
	expect = xasprintf("cannot read %s/prod.json: %s", file,
	    strerror(ENOTDIR));
	assert_string_equal(f->err.data, expect);
	free(expect);
	free(file);
	free(path);
}

static void
test_check_dir(void **state)
{
	struct fixture	*f = *state;
	struct stat	 st;
	char		*dir, *expect;

	/* Created 0700 when missing. */
	dir = path_in(f, "state");
	buf_reset(&f->err);
	assert_int_equal(cursor_check_dir(dir, &f->err), 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(count_entries(dir), 0);	/* probe removed */
	assert_int_equal(cursor_check_dir(dir, &f->err), 0);
	free(dir);

	/* The parent is missing: not created recursively. */
	dir = path_in(f, "missing/state");
	buf_reset(&f->err);
	assert_int_equal(cursor_check_dir(dir, &f->err), -1);
	expect = xasprintf("cannot create it: %s", strerror(ENOENT));
	assert_string_equal(f->err.data, expect);
	free(expect);
	free(dir);

	/* A regular file. */
	dir = path_in(f, "file");
	spew(dir, "x", 1);
	buf_reset(&f->err);
	assert_int_equal(cursor_check_dir(dir, &f->err), -1);
	assert_string_equal(f->err.data, "not a directory");
	free(dir);

	/* Under a regular file: ENOTDIR. */
	dir = path_in(f, "file/state");
	buf_reset(&f->err);
	assert_int_equal(cursor_check_dir(dir, &f->err), -1);
	expect = xasprintf("cannot access it: %s", strerror(ENOTDIR));
	assert_string_equal(f->err.data, expect);
	free(expect);
	free(dir);

	/*
	 * Not writable. chmod does not stop root: as root use /proc, a
	 * directory nobody can create files in (ENOENT on Linux).
	 */
	buf_reset(&f->err);
	if (geteuid() == 0) {
		assert_int_equal(cursor_check_dir("/proc", &f->err), -1);
		expect = xasprintf("not writable: cannot create a file in "
		    "it: %s", strerror(ENOENT));
	} else {
		dir = path_in(f, "ro");
		assert_int_equal(mkdir(dir, 0500), 0);
		assert_int_equal(cursor_check_dir(dir, &f->err), -1);
		expect = xasprintf("not writable: cannot create a file in "
		    "it: %s", strerror(EACCES));
		free(dir);
	}
	assert_string_equal(f->err.data, expect);
	free(expect);
}

static void
test_filters_hash(void **state)
{
	struct kv	 a[] = {
		{ "severity_list", "High" }, { "host_name", "web01" },
		{ "severity_list", "Critical" },
	};
	struct kv	 b[] = {
		{ "host_name", "web01" }, { "severity_list", "Critical" },
		{ "severity_list", "High" },
	};
	struct kv	 c[] = {
		{ "host_name", "web02" }, { "severity_list", "Critical" },
		{ "severity_list", "High" },
	};
	struct kv	 e1[] = { { "a", "b=c" } };
	struct kv	 e2[] = { { "a=b", "c" } };
	char		 h1[65], h2[65];

	(void)state;
	cursor_filters_hash(NULL, 0, h1);
	assert_string_equal(h1, EMPTY_HASH);
	/* sha256("host_name=web01\nseverity_list=Critical\n..."). */
	cursor_filters_hash(a, 3, h1);
	assert_string_equal(h1, "8ff8b7e4505a3dbbcf0d9d706ee91d862760cb9e"
	    "b7512775758b2c3e37f40a5c");
	cursor_filters_hash(b, 3, h2);
	assert_string_equal(h1, h2);
	cursor_filters_hash(c, 3, h2);
	assert_string_not_equal(h1, h2);
	cursor_filters_hash(a, 2, h2);
	assert_string_not_equal(h1, h2);
	/* sha256("a=b%3Dc\n"): the escaping keeps these apart. */
	cursor_filters_hash(e1, 1, h1);
	assert_string_equal(h1, "4addc71ca8b01c9c344d42a3b789a5d0afa53d60"
	    "bff1d57a9dcd28a15cb3651e");
	cursor_filters_hash(e2, 1, h2);
	assert_string_not_equal(h1, h2);
}

/* The set itself: adds, prunes by age and count, the oldest key. */
static void
test_idset(void **state)
{
	struct idset	*s;
	char		 buf[32];
	int		 i;

	(void)state;
	s = idset_new();
	for (i = 0; i < 5000; i++) {
		snprintf(buf, sizeof(buf), "%d", i);
		assert_int_equal(idset_add(s, buf, strlen(buf), i * 1000LL), 1);
	}
	assert_int_equal(idset_add(s, "42", 2, 0), 0);
	assert_int_equal(idset_add(s, "a\0b", 3, 0), -1);
	assert_int_equal(idset_count(s), 5000);
	assert_int_equal(idset_oldest(s), 0);
	assert_int_equal(idset_prune(s, 1000 * 1000, 5000), 1000);
	assert_int_equal(idset_prune(s, 1000 * 1000, 5000), 0);
	assert_int_equal(idset_oldest(s), 1000 * 1000);
	assert_int_equal(idset_prune(s, 0, 10), 3990);
	assert_int_equal(idset_count(s), 10);
	for (i = 0; i < 5000; i++) {
		snprintf(buf, sizeof(buf), "%d", i);
		assert_int_equal(idset_has(s, buf, strlen(buf)), i >= 4990);
	}
	assert_int_equal(idset_oldest(s), 4990 * 1000);
	assert_true(idset_memory(s) > 0);
	assert_int_equal(idset_prune(s, 0, 0), 10);
	assert_int_equal(idset_count(s), 0);
	assert_int_equal(idset_oldest(s), 0);
	assert_int_equal(idset_add(s, "x", 1, 1), 1);
	assert_true(idset_has(s, "x", 1));
	assert_false(idset_has(s, "", 0));
	/* A key past 2106 is held as the largest; all go at such a time. */
	assert_int_equal(idset_add(s, "far", 3, INT64_C(1) << 52), 1);
	assert_int_equal(idset_oldest(s), 1000);
	assert_int_equal(idset_prune(s, INT64_C(1) << 53, SIZE_MAX), 2);
	assert_int_equal(idset_count(s), 0);
	idset_free(s);
	idset_free(NULL);
}

/* Keys are held rounded up to the second, up to 2^32 - 1 seconds. */
static void
test_idset_key_held(void **state)
{
	(void)state;
	assert_int_equal(idset_key_held(-5), 0);
	assert_int_equal(idset_key_held(0), 0);
	assert_int_equal(idset_key_held(1), 1000);
	assert_int_equal(idset_key_held(999), 1000);
	assert_int_equal(idset_key_held(1000), 1000);
	assert_int_equal(idset_key_held(1001), 2000);
	assert_int_equal(idset_key_held(T - 1), T);
	assert_int_equal(idset_key_held(INT64_C(4294967295000)),
	    INT64_C(4294967295000));
	assert_int_equal(idset_key_held(INT64_C(4294967295001)),
	    INT64_C(4294967295000));
	assert_int_equal(idset_key_held(INT64_C(1) << 53),
	    INT64_C(4294967295000));
}

/*
 * Many ids: buckets split (and the directory grows), every id is found
 * and no other; a prune of most merges them back; the memory per id.
 */
static void
test_idset_large(void **state)
{
	struct idset	*s;
	char		 buf[48];
	size_t		 mem, by_age, by_count;
	int		 i, n = 200000, steps;

	(void)state;
	s = idset_new();
	for (i = 0; i < n; i++) {
		snprintf(buf, sizeof(buf), "%08x-4e1f-4d3e-8f00-%012d",
		    (unsigned int)i * 2654435761u, i);
		assert_int_equal(idset_add(s, buf, strlen(buf), T + i * 1000LL),
		    1);
	}
	assert_int_equal(idset_count(s), n);
	mem = idset_memory(s);
	print_message("idset: %d ids, %zu bytes, %.1f bytes/id\n", n, mem,
	    (double)mem / n);
	/* 13 bytes an entry (the first 8 bits of a fingerprint are its
	 * bucket's place), a 16th of room, the dead blocks and directory */
	assert_true(mem < 15 * (size_t)n);
	for (i = 0; i < 2 * n; i++) {
		snprintf(buf, sizeof(buf), "%08x-4e1f-4d3e-8f00-%012d",
		    (unsigned int)i * 2654435761u, i);
		if (idset_has(s, buf, strlen(buf)) != (i < n))
			fail_msg("id %d", i);
	}
	/* Keep the newest 1000 by age, then the newest 100 by count. */
	assert_int_equal(idset_prune(s, T + (n - 1000) * 1000LL, SIZE_MAX),
	    n - 1000);
	assert_int_equal(idset_prune(s, 0, 100), 900);
	assert_int_equal(idset_oldest(s), T + (n - 100) * 1000LL);
	for (i = 0; i < n; i++) {
		snprintf(buf, sizeof(buf), "%08x-4e1f-4d3e-8f00-%012d",
		    (unsigned int)i * 2654435761u, i);
		if (idset_has(s, buf, strlen(buf)) != (i >= n - 100))
			fail_msg("id %d after the prune", i);
	}
	assert_true(idset_memory(s) < mem / 100);
	/* In steps, with adds between them (kept until the next prune). */
	idset_prune(s, 0, 0);
	for (i = 0; i < n; i++) {
		snprintf(buf, sizeof(buf), "step-%d", i);
		assert_int_equal(idset_add(s, buf, strlen(buf), T + i * 1000LL),
		    1);
	}
	idset_prune_start(s, T + (n / 2) * 1000LL, 50000, 1000);
	for (steps = 0; !idset_prune_step(s, 10000, &by_age, &by_count);
	    steps++) {
		snprintf(buf, sizeof(buf), "between-%d", steps);
		assert_int_equal(idset_add(s, buf, strlen(buf), T), 1);
		/* The targets may change on the way. */
		idset_prune_start(s, T + (n / 2) * 1000LL, 50000, 1000);
	}
	assert_true(steps > 10);
	/* The first half of step- by age, then the newest 49,000 of the
	 * rest; the between- ones (old keys) go unless added to a bucket
	 * already looked at. */
	assert_true(by_age >= (size_t)n / 2 && by_age <= (size_t)(n / 2 +
	    steps));
	assert_true(idset_count(s) >= 49000 && idset_count(s) <= 49000 +
	    (size_t)steps);
	assert_int_equal(by_age + by_count, n + steps - idset_count(s));
	for (i = 0; i < n; i++) {
		snprintf(buf, sizeof(buf), "step-%d", i);
		if (idset_has(s, buf, strlen(buf)) != (i >= n - 49000))
			fail_msg("step-%d after the stepped prune", i);
	}
	idset_prune(s, 0, 0);
	/* And it grows again. */
	for (i = 0; i < 10000; i++) {
		snprintf(buf, sizeof(buf), "again-%d", i);
		assert_int_equal(idset_add(s, buf, strlen(buf), T), 1);
	}
	assert_int_equal(idset_count(s), 10000);
	idset_free(s);
}

/*
 * A set that lives for long: ids come and the oldest go, round after
 * round, with the count steady. Its buckets grow and split all the time
 * and leave their old blocks dead in the store; the set must reuse them
 * (or slide the live ones down over them), never grow with the rounds:
 * its memory stays within 16 bytes an id of the most it held, and every
 * id kept is found.
 */
static void
test_idset_churn(void **state)
{
	struct idset	*s;
	char		 buf[48];
	size_t		 mem, most = 0, first = 0;
	int		 round, i, k, keep = 40000, per = 10000, rounds = 30;

	(void)state;
	s = idset_new();
	for (round = 0, k = 0; round < rounds; round++) {
		for (i = 0; i < per; i++, k++) {
			snprintf(buf, sizeof(buf), "churn-%d", k);
			assert_int_equal(idset_add(s, buf, strlen(buf),
			    T + k * 1000LL), 1);
		}
		/* keep the newest `keep' (by age: keys are one a second) */
		idset_prune(s, T + (k - keep) * 1000LL, SIZE_MAX);
		assert_int_equal(idset_count(s), k < keep ? k : keep);
		mem = idset_memory(s);
		if (round == 5)
			first = mem;
		if (round >= 5 && mem > most)
			most = mem;
		/* the store keeps the room of the ids it held before the
		 * prune (the next round fills it) */
		if (mem > 16 * (size_t)(keep + per) + 65536)
			fail_msg("round %d: %zu bytes for %zu ids", round, mem,
			    idset_count(s) + per);
	}
	print_message("idset churn: %zu bytes at round 5, at most %zu after "
	    "(%d ids kept)\n", first, most, keep);
	/* flat: no more than an eighth above the first steady round */
	assert_true(most <= first + first / 8);
	for (i = 0; i < k; i++) {
		snprintf(buf, sizeof(buf), "churn-%d", i);
		if (idset_has(s, buf, strlen(buf)) != (i >= k - keep))
			fail_msg("churn-%d", i);
	}
	/* Down to a few (the buckets merge back to shallow ones, which keep
	 * all 80 bits again), up again: every id still tells. */
	idset_prune(s, T + (k - 500) * 1000LL, SIZE_MAX);
	for (i = 0; i < per * 5; i++, k++) {
		snprintf(buf, sizeof(buf), "churn-%d", k);
		assert_int_equal(idset_add(s, buf, strlen(buf), T + k * 1000LL),
		    1);
	}
	assert_int_equal(idset_count(s), 500 + per * 5);
	for (i = 0; i < k; i++) {
		snprintf(buf, sizeof(buf), "churn-%d", i);
		if (idset_has(s, buf, strlen(buf)) != (i >= k - 500 - per * 5))
			fail_msg("churn-%d after the prune to 500", i);
	}
	idset_free(s);
}

/* SipHash-2-4-128: the reference's first vector, and OpenSSL's SIPHASH. */
static void
test_siphash(void **state)
{
	static const uint8_t want0[16] = { 0xa3, 0x81, 0x7f, 0x04, 0xba,
	    0x25, 0xa8, 0xe6, 0x6d, 0xf6, 0x72, 0x14, 0xc7, 0x55, 0x02, 0x93 };
	EVP_MAC		*mac;
	EVP_MAC_CTX	*ctx;
	OSSL_PARAM	 params[2];
	uint8_t		 key[16], msg[64], got[16], ref[16];
	uint64_t	 out[2];
	size_t		 i, len, size = 16, n;

	(void)state;
	for (i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	assert_non_null(mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL));
	for (len = 0; len < 64; len++) {
		idset_siphash128(key, msg, len, out);
		for (i = 0; i < 8; i++) {
			got[i] = (uint8_t)(out[0] >> (8 * i));
			got[8 + i] = (uint8_t)(out[1] >> (8 * i));
		}
		if (len == 0)
			assert_memory_equal(got, want0, 16);
		assert_non_null(ctx = EVP_MAC_CTX_new(mac));
		params[0] = OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE,
		    &size);
		params[1] = OSSL_PARAM_construct_end();
		assert_int_equal(EVP_MAC_init(ctx, key, 16, params), 1);
		assert_int_equal(EVP_MAC_update(ctx, msg, len), 1);
		assert_int_equal(EVP_MAC_final(ctx, ref, &n, sizeof(ref)), 1);
		assert_int_equal(n, 16);
		assert_memory_equal(got, ref, 16);
		EVP_MAC_CTX_free(ctx);
	}
	EVP_MAC_free(mac);
}

#define T0	1700000000000LL
#define MB_ID	"4e1f6a3c-9a5d-4d3e-8f00-0123456789ab-" \
	"\xe4\xba\x8b\xe4\xbb\xb6\xe5\x91\x8a\xe8\xad\xa6\xe4\xb8\xbb" \
	"\xe6\x9c\xba\xe5\x85\xa5\xe4\xbe\xb5\xe6\xa3\x80\xe6\xb5\x8b" \
	"\xe7\x97\x85\xe6\xaf\x92\xe6\x9c\xa8\xe9\xa9\xac\xe6\xbc\x8f" \
	"\xe6\xb4\x9e\xe6\x94\xbb\xe5\x87\xbb\xe7\x99\xbb\xe5\xbd\x95" \
	"\xe6\x9a\xb4\xe5\x8a\x9b\xe7\xa0\xb4\xe8\xa7\xa3\xe8\xbf\x9b" \
	"\xe7\xa8\x8b\xe6\x96\x87"

/*
 * An id of 64 characters and 118 bytes is tracked and survives the state
 * file; "since" round-trips; ids dropped by max_ids are reported with the
 * oldest key kept; the prune key is what the caller gave, not occur_time.
 */
static void
test_multibyte_since_over_max(void **state)
{
	struct fixture	*f = *state;
	struct cursor	*c;
	int64_t		 oldest;
	char		 id[16];
	int		 i;

	assert_int_equal(strlen(MB_ID), 118);
	c = open_ok(f, 1000, 10 * MIN, CURSOR_NEW);
	assert_int_equal(cursor_since(c), 0);
	assert_int_equal(cursor_add(c, MB_ID, T0), 0);
	assert_true(cursor_has(c, MB_ID));
	/* occur_time long before end - lookback, kept by its key */
	assert_int_equal(cursor_add(c, "old-but-late", T0 + 30 * MIN), 0);
	cursor_set_since(c, T0 - 60 * MIN);
	commit_ok(f, c, T0 + 35 * MIN);
	assert_int_equal(cursor_over_max(c, &oldest), 0);
	assert_false(cursor_has(c, MB_ID));	/* key T0 < end - 10 min */
	assert_true(cursor_has(c, "old-but-late"));
	assert_int_equal(cursor_add(c, MB_ID, T0 + 34 * MIN), 0);
	commit_ok(f, c, T0 + 35 * MIN);
	cursor_free(c);
	c = open_ok(f, 1000, 10 * MIN, CURSOR_OK);
	assert_true(cursor_has(c, MB_ID));
	assert_true(cursor_has(c, "old-but-late"));
	assert_int_equal(cursor_since(c), T0 - 60 * MIN);
	for (i = 0; i < 1200; i++) {
		snprintf(id, sizeof(id), "n%d", i);
		assert_int_equal(cursor_add(c, id, T0 + 40 * MIN +
		    i * 1000LL), 0);
	}
	commit_ok(f, c, T0 + 45 * MIN);
	assert_int_equal(cursor_over_max(c, &oldest), 200);
	assert_int_equal(oldest, T0 + 40 * MIN + 200 * 1000LL);
	assert_int_equal(cursor_count(c), 1000);
	cursor_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_new, setup, teardown),
		cmocka_unit_test_setup_teardown(test_multibyte_since_over_max,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_trip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_has_add, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune_lookback, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bound_oldest_first, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_many_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atomic_write_fails, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_journal_write_fails, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_journal_replay, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_journal_torn, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_compaction, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_upgrade, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_orphans, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_files, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_generated, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_valid_variants, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_mismatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_filters_changed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_open_readonly, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_open_readonly_journal,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_io_error, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_check_dir, setup,
		    teardown),
		cmocka_unit_test(test_filters_hash),
		cmocka_unit_test(test_idset),
		cmocka_unit_test(test_idset_key_held),
		cmocka_unit_test(test_idset_large),
		cmocka_unit_test(test_idset_churn),
		cmocka_unit_test(test_siphash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
