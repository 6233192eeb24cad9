/*
 * Unit tests of the cursor (cursor.c, idset.c): state file round trip,
 * dedupe, pruning, atomic writes and their failures, corrupt and foreign
 * files (tests/data/cursor), the state directory check, the filters hash.
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
	    "\"updated\":%lld,\"ids\":[\n"
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
	cursor_add(c, "older", T - 10 * MIN - 1);
	cursor_add(c, "edge", T - 10 * MIN);
	cursor_add(c, "newer", T - 9 * MIN);
	cursor_add(c, "future", T + MIN);
	commit_ok(f, c, T);
	assert_int_equal(cursor_count(c), 3);
	assert_false(cursor_has(c, "older"));
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
	assert_int_equal(cursor_count(c), 3);	/* the file kept them */
	commit_ok(f, c, T - 2 * MIN);
	assert_int_equal(cursor_end(c), T - 2 * MIN);
	assert_int_equal(cursor_count(c), 3);
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

	c = open_ok(f, 3, 10 * MIN, CURSOR_NEW);
	cursor_add(c, "t5", T - 1 * MIN);
	cursor_add(c, "t1", T - 5 * MIN);
	cursor_add(c, "t3a", T - 3 * MIN);
	cursor_add(c, "t4", T - 2 * MIN);
	cursor_add(c, "t3b", T - 3 * MIN);
	cursor_add(c, "t2", T - 4 * MIN);
	commit_ok(f, c, T);
	/* Newest 3: t5, t4, and of the tied t3a/t3b the later added. */
	assert_int_equal(cursor_count(c), 3);
	assert_true(cursor_has(c, "t5"));
	assert_true(cursor_has(c, "t4"));
	assert_true(cursor_has(c, "t3b"));
	assert_false(cursor_has(c, "t3a"));
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
		assert_int_equal(cursor_add(c, id, T + i * 100LL), 0);
	}
	/* Keep occur_time >= T + 10000 * 100: ids 10000.. */
	commit_ok(f, c, T + 10 * MIN + 10000 * 100LL);
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

/* A failed write leaves the old file intact and no .tmp behind. */
static void
test_atomic_write_fails(void **state)
{
	struct fixture	*f = *state;
	struct cursor	*c;
	struct rlimit	 old, small;
	char		*path, *tmp, *before, *after, *expect, id[32];
	void		(*oldsig)(int);
	int		 i, r;

	path = path_in(f, "prod.json");
	tmp = path_in(f, "prod.json.tmp");
	c = open_ok(f, 100000, 10 * MIN, CURSOR_NEW);
	cursor_add(c, "first", T);
	commit_ok(f, c, T);
	assert_non_null(before = slurp(path, NULL));
	for (i = 0; i < 2000; i++) {
		snprintf(id, sizeof(id), "event-%d", i);
		cursor_add(c, id, T);
	}

	/* Disk full, as far as this process can tell: RLIMIT_FSIZE. */
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	small = old;
	small.rlim_cur = 4096;
	oldsig = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	buf_reset(&f->err);
	r = cursor_commit(c, T + MIN, &f->err);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, oldsig);
	assert_int_equal(r, -1);
	expect = xasprintf("cannot write %s: %s", tmp, strerror(EFBIG));
	assert_string_equal(f->err.data, expect);
	free(expect);
	assert_non_null(after = slurp(path, NULL));
	assert_string_equal(after, before);
	free(after);
	assert_false(exists(tmp));
	/* The in-memory state is the new one; the retry succeeds. */
	assert_int_equal(cursor_end(c), T + MIN);
	commit_ok(f, c, T + MIN);
	assert_false(exists(tmp));
	assert_non_null(after = slurp(path, NULL));
	assert_non_null(strstr(after, "\"end\":1700000060000,"));
	assert_non_null(strstr(after, "[\"event-1999\",1700000000000]]}\n"));
	free(after);
	free(before);

	/* The .tmp cannot be created (a directory is in the way). */
	assert_non_null(before = slurp(path, NULL));
	assert_int_equal(mkdir(tmp, 0700), 0);
	buf_reset(&f->err);
	assert_int_equal(cursor_commit(c, T + 2 * MIN, &f->err), -1);
	expect = xasprintf("cannot create %s: %s", tmp, strerror(EISDIR));
	assert_string_equal(f->err.data, expect);
	free(expect);
	assert_non_null(after = slurp(path, NULL));
	assert_string_equal(after, before);
	free(after);
	free(before);
	assert_int_equal(rmdir(tmp), 0);

	/* The rename fails (a non-empty directory is in the way). */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	before = xasprintf("%s/keep", path);
	spew(before, "x", 1);
	buf_reset(&f->err);
	assert_int_equal(cursor_commit(c, T + 3 * MIN, &f->err), -1);
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
	assert_true(exists(before));
	free(before);
	cursor_free(c);
	free(path);
	free(tmp);
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
	assert_int_equal(done, 26);
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

	commit_ok(f, c, T + MIN);
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

/* The set itself: growth, prune compaction, lookups after rehash. */
static void
test_idset(void **state)
{
	struct idset	*s;
	const char	*id;
	char		 buf[32];
	int64_t		 t;
	size_t		 len;
	int		 i;

	(void)state;
	s = idset_new();
	for (i = 0; i < 5000; i++) {
		snprintf(buf, sizeof(buf), "%d", i);
		assert_int_equal(idset_add(s, buf, strlen(buf), i), 1);
	}
	assert_int_equal(idset_add(s, "42", 2, 0), 0);
	assert_int_equal(idset_add(s, "a\0b", 3, 0), -1);
	assert_int_equal(idset_count(s), 5000);
	assert_int_equal(idset_prune(s, 1000, 5000), 1000);
	assert_int_equal(idset_prune(s, 1000, 5000), 0);
	assert_int_equal(idset_prune(s, 0, 10), 3990);
	assert_int_equal(idset_count(s), 10);
	for (i = 0; i < 5000; i++) {
		snprintf(buf, sizeof(buf), "%d", i);
		assert_int_equal(idset_has(s, buf, strlen(buf)), i >= 4990);
	}
	id = idset_get(s, 0, &len, &t);
	assert_string_equal(id, "4990");
	assert_int_equal(len, 4);
	assert_int_equal(t, 4990);
	assert_true(idset_memory(s) > 0);
	assert_int_equal(idset_prune(s, 0, 0), 10);
	assert_int_equal(idset_count(s), 0);
	assert_int_equal(idset_add(s, "x", 1, 1), 1);
	assert_true(idset_has(s, "x", 1));
	idset_free(s);
	idset_free(NULL);
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
		assert_int_equal(cursor_add(c, id, T0 + 40 * MIN + i), 0);
	}
	commit_ok(f, c, T0 + 45 * MIN);
	assert_int_equal(cursor_over_max(c, &oldest), 200);
	assert_int_equal(oldest, T0 + 40 * MIN + 200);
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
		cmocka_unit_test_setup_teardown(test_open_io_error, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_check_dir, setup,
		    teardown),
		cmocka_unit_test(test_filters_hash),
		cmocka_unit_test(test_idset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
