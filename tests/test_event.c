/*
 * test_event: event_page_parse() and event_from_json().
 *
 * tests/data/event/bad/NAME.json (pages malformed as a whole, or holding
 * malformed events) each have NAME.expected: the exact description of the
 * result (see describe()), compared byte for byte. Set
 * HSS_UPDATE_EXPECTED=1 to write the .expected files (then review them).
 */
#include "autoconf.h"

#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "event.h"
#include "util.h"

static char *
data_path(const char *rel)
{
	const char	*top = getenv("srcdir");

	return xasprintf("%s/tests/data/event/%s", top != NULL ? top :
	    "..", rel);
}

/* The whole file; *len its size. The buffer is exactly len bytes long
 * (plus none), so that a parser reading past len trips ASan. */
static char *
read_file(const char *path, size_t *len)
{
	struct buf	 b;
	FILE		*f;
	char		 chunk[8192], *p;
	size_t		 n;

	if ((f = fopen(path, "rb")) == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	*len = b.len;
	p = xmalloc(b.len ? b.len : 1);
	if (b.len)
		memcpy(p, b.data, b.len);
	buf_free(&b);
	return p;
}

static void
describe(struct buf *out, int rc, const struct event_page *pg,
    const struct buf *err)
{
	size_t	 i;

	if (rc == -1) {
		buf_printf(out, "fail %s\n", err->data);
		return;
	}
	buf_printf(out, "ok total_num=%lld nevents=%zu nerrors=%zu\n",
	    (long long)pg->total_num, pg->nevents, pg->nerrors);
	for (i = 0; i < pg->nevents; i++)
		buf_printf(out, "event %s %lld\n", pg->events[i]->event_id,
		    (long long)pg->events[i]->occur_time);
	for (i = 0; i < pg->nerrors; i++)
		buf_printf(out, "error %s\n", pg->errors[i]);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
test_bad_pages(void **state)
{
	struct event_page	 pg;
	struct buf		 err, got;
	DIR			*d;
	struct dirent		*de;
	char			*dir, *path, *exp, *body, *want, **names = NULL;
	size_t			 len, wlen, n = 0, i, nl;
	int			 rc, update, failures = 0;

	update = getenv("HSS_UPDATE_EXPECTED") != NULL;
	dir = data_path("bad");
	if ((d = opendir(dir)) == NULL)
		fail_msg("%s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		nl = strlen(de->d_name);
		if (nl > 5 && strcmp(de->d_name + nl - 5, ".json") == 0) {
			names = xreallocarray(names, n + 1, sizeof(*names));
			names[n++] = xstrndup(de->d_name, nl - 5);
		}
	}
	closedir(d);
	qsort(names, n, sizeof(*names), name_cmp);
	assert_true(n >= 30);
	memset(&pg, 0, sizeof(pg));
	buf_init(&err);
	buf_init(&got);
	for (i = 0; i < n; i++) {
		path = xasprintf("%s/%s.json", dir, names[i]);
		exp = xasprintf("%s/%s.expected", dir, names[i]);
		body = read_file(path, &len);
		buf_reset(&err);
		buf_reset(&got);
		rc = event_page_parse(body, len, &pg, &err);
		describe(&got, rc, &pg, &err);
		if (rc == -1) {
			assert_int_equal(pg.nevents, 0);
			assert_null(pg.events);
			assert_non_null(err.data);
			assert_null(strchr(err.data, '\n'));
		}
		if (update) {
			FILE *f = fopen(exp, "wb");
			assert_non_null(f);
			fwrite(got.data, 1, got.len, f);
			fclose(f);
		} else {
			want = read_file(exp, &wlen);
			if (wlen != got.len ||
			    memcmp(want, got.data, wlen) != 0) {
				print_error("%s: expected:\n%.*s\ngot:\n%s\n",
				    names[i], (int)wlen, want, got.data);
				failures++;
			}
			free(want);
		}
		event_page_clear(&pg);
		free(body);
		free(path);
		free(exp);
		free(names[i]);
	}
	free(names);
	free(dir);
	buf_free(&err);
	buf_free(&got);
	assert_int_equal(failures, 0);
}

static struct hss_event *
parse_one(const char *rel, struct event_page *pg, size_t idx)
{
	struct buf	 err;
	char		*path, *body;
	size_t		 len;

	path = data_path(rel);
	body = read_file(path, &len);
	buf_init(&err);
	memset(pg, 0, sizeof(*pg));
	assert_int_equal(event_page_parse(body, len, pg, &err), 0);
	assert_true(idx < pg->nevents);
	free(path);
	free(body);
	buf_free(&err);
	return pg->events[idx];
}

static void
test_official_example(void **state)
{
	struct event_page	 pg;
	struct hss_event	*ev;

	ev = parse_one("good/official-example.json", &pg, 0);
	assert_int_equal(pg.total_num, 1);
	assert_int_equal(pg.nevents, 1);
	assert_int_equal(pg.nerrors, 0);
	assert_string_equal(ev->event_id, "d8a12cf7-6a43-4cd6-92b4-aabf1e917");
	assert_int_equal(ev->occur_time, 1661593036627LL);
	assert_string_equal(ev->event_class_id, "lgin_1002");
	assert_string_equal(ev->event_name, "different locations");
	assert_true(ev->has_event_type);
	assert_int_equal(ev->event_type, 4004);
	assert_string_equal(ev->severity, "Medium");
	assert_string_equal(ev->host_name, "xxx");
	assert_null(ev->host_id);
	assert_string_equal(ev->private_ip, "127.0.0.1");
	assert_null(ev->public_ip);
	assert_string_equal(ev->os_type, "Linux");
	assert_string_equal(ev->attack_phase, "exploit");
	assert_string_equal(ev->attack_tag, "abnormal_behavior");
	assert_string_equal(ev->handle_status, "unhandled");
	assert_null(ev->handle_method);
	assert_false(ev->has_event_count);
	assert_false(ev->has_handle_time);
	assert_string_equal(ev->proc_name, "test");
	assert_string_equal(ev->proc_path, "/root/test");
	assert_string_equal(ev->proc_hash, "e8b50f0b91e3dce0885ccc5902846b13"
	    "9d28108a0a7976c9b8d43154c5dbc44d");
	assert_string_equal(ev->proc_username, "root");
	assert_string_equal(ev->proc_cmdline, "/bin/bash");
	assert_true(ev->has_proc_pid);
	assert_int_equal(ev->proc_pid, 372612);
	assert_true(ev->has_proc_uid);
	assert_int_equal(ev->proc_uid, 10000);
	assert_string_equal(ev->user_name, "zhangsan");
	assert_null(ev->user_login_ip);	/* "" is absent */
	assert_false(ev->has_user_uid);
	assert_null(ev->file_path);
	assert_null(ev->file_name);
	assert_null(ev->res_project_id);
	assert_string_equal(ev->res_vm_uuid, "71a15ecc");
	/* the raw object is kept whole */
	assert_int_equal(cJSON_GetArraySize(ev->json), 27);
	event_page_clear(&pg);
	assert_int_equal(pg.nevents, 0);
	assert_null(pg.events);
	event_page_clear(&pg);
}

static void
test_deviations(void **state)
{
	struct event_page	 pg;
	struct hss_event	*ev;

	ev = parse_one("good/deviations.json", &pg, 0);
	assert_int_equal(pg.total_num, 2);
	assert_int_equal(pg.nevents, 2);
	assert_string_equal(ev->event_id, "dev-1");
	assert_int_equal(ev->occur_time, 1661593036627LL);
	assert_true(ev->has_event_type);
	assert_int_equal(ev->event_type, 4004);
	assert_true(ev->has_event_count);
	assert_int_equal(ev->event_count, 7);
	assert_true(ev->has_handle_time);
	assert_int_equal(ev->handle_time, 1661593099000LL);
	assert_null(ev->event_class_id);	/* number */
	assert_null(ev->event_name);		/* null */
	assert_null(ev->severity);		/* "" */
	assert_null(ev->host_name);		/* array */
	assert_null(ev->host_id);		/* object */
	assert_null(ev->private_ip);		/* number */
	assert_null(ev->public_ip);		/* true */
	assert_string_equal(ev->image_name, "nginx:1.25");
	assert_string_equal(ev->proc_name, "sh");
	assert_null(ev->proc_path);
	assert_true(ev->has_proc_pid);
	assert_int_equal(ev->proc_pid, 4242);
	assert_false(ev->has_proc_uid);		/* 1.5 */
	assert_string_equal(ev->proc_hash, "abc");
	assert_null(ev->user_name);		/* user_info_list "" */
	assert_null(ev->file_path);		/* first element 7 */
	assert_null(ev->res_project_id);	/* resource_info "" */
	/* the raw JSON keeps the deviating values */
	assert_true(cJSON_IsNumber(cJSON_GetObjectItem(ev->json,
	    "event_class_id")));
	assert_true(cJSON_IsObject(cJSON_GetObjectItem(ev->json,
	    "unknown_new_field")));

	ev = pg.events[1];
	assert_int_equal(ev->occur_time, 5);
	assert_int_equal(ev->event_type, 4004);	/* 4004.0 */
	assert_true(ev->has_event_count);
	assert_int_equal(ev->event_count, -3);
	assert_null(ev->proc_name);
	assert_string_equal(ev->user_name, "root");
	assert_true(ev->has_user_uid);
	assert_int_equal(ev->user_uid, 0);
	assert_string_equal(ev->user_login_ip, "10.0.0.9");
	assert_string_equal(ev->file_path, "C:\\Windows\\evil.exe");
	assert_string_equal(ev->file_name, "evil.exe");
	assert_string_equal(ev->file_hash, "ff");
	assert_true(ev->has_file_size);
	assert_int_equal(ev->file_size, 1024);
	assert_string_equal(ev->res_project_id, "p1");
	assert_string_equal(ev->res_region_name, "r1");
	assert_null(ev->res_vm_uuid);
	event_page_clear(&pg);
}

static void
expect_fail(const char *body, size_t len, const char *reason)
{
	struct event_page	 pg;
	struct buf		 err;

	memset(&pg, 0, sizeof(pg));
	buf_init(&err);
	assert_int_equal(event_page_parse(body, len, &pg, &err), -1);
	assert_string_equal(err.data, reason);
	assert_int_equal(pg.nevents, 0);
	buf_free(&err);
}

/* 100,000 levels: never a crash, a clear reason. */
static void
test_deep_nesting(void **state)
{
	struct buf	 b;
	size_t		 i, depth = 100000;

	buf_init(&b);
	for (i = 0; i < depth; i++)
		buf_addc(&b, '[');
	expect_fail(b.data, b.len,
	    "invalid JSON: nested deeper than 1000 levels");
	for (i = 0; i < depth; i++)
		buf_addc(&b, ']');
	expect_fail(b.data, b.len,
	    "invalid JSON: nested deeper than 1000 levels");
	buf_reset(&b);
	buf_adds(&b, "{\"total_num\":1,\"data_list\":[{\"event_id\":\"a\","
	    "\"occur_time\":1,\"x\":");
	for (i = 0; i < depth; i++)
		buf_adds(&b, "{\"a\":");
	buf_adds(&b, "1");
	for (i = 0; i < depth; i++)
		buf_addc(&b, '}');
	buf_adds(&b, "}]}");
	expect_fail(b.data, b.len,
	    "invalid JSON: nested deeper than 1000 levels");
	/* brackets inside strings do not count */
	buf_reset(&b);
	buf_adds(&b, "{\"total_num\":0,\"data_list\":[],\"x\":\"");
	for (i = 0; i < depth; i++)
		buf_adds(&b, "[{");
	buf_adds(&b, "\"}");
	{
		struct event_page	pg;
		struct buf		err;

		memset(&pg, 0, sizeof(pg));
		buf_init(&err);
		assert_int_equal(event_page_parse(b.data, b.len, &pg, &err),
		    0);
		event_page_clear(&pg);
		buf_free(&err);
	}
	buf_free(&b);
}

/* The body is not NUL-terminated and may be followed by anything. */
static void
test_length_bound(void **state)
{
	const char	 text[] = "{\"total_num\":0,\"data_list\":[]}GARBAGE";
	char		*body;
	size_t		 len = sizeof(text) - 1 - 7;
	struct event_page pg;
	struct buf	 err;

	body = xmalloc(len);
	memcpy(body, text, len);
	memset(&pg, 0, sizeof(pg));
	buf_init(&err);
	assert_int_equal(event_page_parse(body, len, &pg, &err), 0);
	assert_int_equal(pg.total_num, 0);
	/* a page cut inside the buffer is truncated, not read further */
	assert_int_equal(event_page_parse(text, 20, &pg, &err), -1);
	assert_string_equal(err.data,
	    "truncated JSON (20 bytes, inside a string)");
	free(body);
	buf_free(&err);
	event_page_clear(&pg);
}

static void
test_nul_and_surrogate_escapes(void **state)
{
	struct event_page	 pg;
	struct hss_event	*ev;

	ev = parse_one("bad/lone-surrogates.json", &pg, 0);
	assert_string_equal(ev->event_id, "s1\xEF\xBF\xBD");
	assert_string_equal(ev->event_name,
	    "x\xEF\xBF\xBDy\xEF\xBF\xBDz");
	assert_string_equal(pg.events[1]->event_id, "s2\xF0\x9F\x98\x80");
	event_page_clear(&pg);
}

static void
test_from_json(void **state)
{
	struct hss_event	*ev;
	struct buf		 err;
	cJSON			*o;

	buf_init(&err);
	assert_null(event_from_json(cJSON_CreateString("x"), &err));
	assert_string_equal(err.data, "event is not an object (string)");
	buf_reset(&err);
	assert_null(event_from_json(NULL, &err));
	assert_string_equal(err.data, "event is not an object (invalid)");
	buf_reset(&err);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "event_id", "abc");
	cJSON_AddNumberToObject(o, "occur_time", 1661593036627.0);
	/* invalid UTF-8 bytes survive into the typed field untouched */
	cJSON_AddStringToObject(o, "host_name", "h\xff\xfe");
	ev = event_from_json(o, &err);
	assert_non_null(ev);
	assert_int_equal(err.len, 0);
	assert_string_equal(ev->host_name, "h\xff\xfe");
	hss_event_free(ev);
	hss_event_free(NULL);
	buf_free(&err);
}

/* One definition of a valid id: characters, bytes, NUL; the id set agrees. */
static void
test_event_id_valid(void **state)
{
	/* 64 characters, 1 + 63 x 3 = 190 bytes (U+4E8B) */
	char		 mb[256], big[300];
	struct buf	 why;
	size_t		 i;

	buf_init(&why);
	mb[0] = 'x';
	for (i = 0; i < 63; i++)
		memcpy(mb + 1 + 3 * i, "\xe4\xba\x8b", 3);
	mb[190] = '\0';
	assert_int_equal(event_id_valid(mb, 190, &why), 0);
	assert_int_equal(event_id_valid("a", 1, NULL), 0);
	assert_int_equal(event_id_valid("", 0, &why), -1);
	assert_string_equal(why.data, "event_id is empty");
	buf_reset(&why);
	assert_int_equal(event_id_valid("a\0b", 3, &why), -1);
	assert_string_equal(why.data, "event_id holds a NUL character");
	/* 65 characters of 3 bytes */
	for (i = 0; i < 65; i++)
		memcpy(big + 3 * i, "\xe4\xba\x8b", 3);
	buf_reset(&why);
	assert_int_equal(event_id_valid(big, 195, &why), -1);
	assert_string_equal(why.data,
	    "event_id is longer than 64 characters (65)");
	/* lone continuation bytes are not UTF-8: each counts as a character */
	memset(big, 0x87, 65);
	buf_reset(&why);
	assert_int_equal(event_id_valid(big, 65, &why), -1);
	assert_string_equal(why.data,
	    "event_id is longer than 64 characters (65)");
	assert_int_equal(event_id_valid(big, 64, NULL), 0);
	/* 257 continuation bytes: too many bytes */
	memset(big, 0x80, 257);
	buf_reset(&why);
	assert_int_equal(event_id_valid(big, 257, &why), -1);
	assert_string_equal(why.data,
	    "event_id is longer than 256 bytes (257)");
	buf_free(&why);
}

/* A member given twice: the first counts, whatever its type. */
static void
test_first_member_counts(void **state)
{
	static const char	 body[] = "{\"total_num\":1,\"data_list\":[{"
	    "\"event_id\":\"first\",\"event_id\":\"second\",\"occur_time\":7,"
	    "\"occur_time\":8,\"host_name\":5,\"host_name\":\"h\","
	    "\"event_type\":\"1001\",\"event_type\":2,"
	    "\"process_info_list\":[{\"process_name\":\"p1\","
	    "\"process_name\":\"p2\",\"process_hash\":\"\","
	    "\"process_file_hash\":\"fh\"},{\"process_name\":\"p3\"}],"
	    "\"file_info_list\":[{\"file_md5\":\"m\",\"file_sha256\":1}],"
	    "\"resource_info\":{\"region_name\":\"r1\",\"region_name\":\"r2\"},"
	    "\"resource_info\":{\"region_name\":\"r3\"}}]}";
	struct event_page	 pg;
	struct hss_event	*ev;
	struct buf		 err;

	memset(&pg, 0, sizeof(pg));
	buf_init(&err);
	assert_int_equal(event_page_parse(body, sizeof(body) - 1, &pg, &err),
	    0);
	assert_int_equal(pg.nevents, 1);
	ev = pg.events[0];
	assert_string_equal(ev->event_id, "first");
	assert_int_equal(ev->occur_time, 7);
	assert_null(ev->host_name);
	assert_true(ev->has_event_type);
	assert_int_equal(ev->event_type, 1001);
	assert_string_equal(ev->proc_name, "p1");
	assert_string_equal(ev->proc_hash, "fh");
	assert_string_equal(ev->file_hash, "m");
	assert_string_equal(ev->res_region_name, "r1");
	event_page_clear(&pg);
	buf_free(&err);
}

static char *
page_of(size_t n, size_t pad)
{
	struct buf	 b;
	size_t		 i, k;

	buf_init(&b);
	buf_printf(&b, "{\"total_num\":%zu,\"data_list\":[", n);
	for (i = 0; i < n; i++) {
		buf_printf(&b, "%s{\"event_id\":\"id-%zu\",\"occur_time\":%zu,"
		    "\"host_name\":\"", i ? "," : "", i, i);
		for (k = 0; k < pad; k++)
			buf_addc(&b, 'a' + (i + k) % 26);
		buf_adds(&b, "\",\"tag_list\":[1,2,3,{\"a\":[true,null]}]}");
	}
	buf_adds(&b, "]}");
	return b.data;
}

/*
 * The trees of a page live until the page and its last event are freed:
 * an event taken out of a page outlives the page and the pages parsed
 * after it (smaller and larger ones), and a member given to a page's tree
 * from outside is freed with it (ASan: no leak, no use after free).
 */
static void
test_tree_lifetimes(void **state)
{
	static const size_t	 sizes[][2] = {
		{ 2000, 300 }, { 3, 10 }, { 5000, 2000 }, { 1, 0 },
	};
	struct event_page	 pg;
	struct hss_event	*kept[HSS_ARRAY_LEN(sizes)];
	struct buf		 err;
	char			*body, id[32];
	size_t			 i, last;

	memset(&pg, 0, sizeof(pg));
	buf_init(&err);
	for (i = 0; i < HSS_ARRAY_LEN(sizes); i++) {
		body = page_of(sizes[i][0], sizes[i][1]);
		assert_int_equal(event_page_parse(body, strlen(body), &pg,
		    &err), 0);
		free(body);
		assert_int_equal(pg.nevents, sizes[i][0]);
		last = pg.nevents - 1;
		kept[i] = pg.events[last];
		pg.events[last] = NULL;
		pg.nevents--;
		if (i == 0)
			cJSON_ReplaceItemInObjectCaseSensitive(kept[i]->json,
			    "tag_list", cJSON_CreateString("replaced"));
	}
	event_page_clear(&pg);
	for (i = 0; i < HSS_ARRAY_LEN(sizes); i++) {
		snprintf(id, sizeof(id), "id-%zu", sizes[i][0] - 1);
		assert_string_equal(kept[i]->event_id, id);
		assert_int_equal(kept[i]->occur_time, sizes[i][0] - 1);
		assert_int_equal(kept[i]->host_name == NULL ? 0 :
		    strlen(kept[i]->host_name), sizes[i][1]);
		assert_string_equal(cJSON_GetObjectItemCaseSensitive(
		    kept[i]->json, "event_id")->valuestring, id);
	}
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(kept[0]->json,
	    "tag_list")->valuestring, "replaced");
	for (i = 0; i < HSS_ARRAY_LEN(sizes); i++)
		hss_event_free(kept[i]);
	buf_free(&err);
}

/* What a reading an element at a time has gathered so far. */
struct reading {
	struct buf	 why;	/* the reader's reason for the last one */
	struct buf	 evs;
	struct buf	 errs;
	size_t		 nev;
	size_t		 nerr;
};

static void
reading_init(struct reading *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->why);
	buf_init(&r->evs);
	buf_init(&r->errs);
}

static void
reading_free(struct reading *r)
{
	buf_free(&r->why);
	buf_free(&r->evs);
	buf_free(&r->errs);
}

/* An element read: the event (then freed), or NULL: rejected for r->why. */
static void
reading_item(struct reading *r, struct hss_event *ev)
{
	if (ev != NULL) {
		buf_printf(&r->evs, "event %s %lld\n", ev->event_id,
		    (long long)ev->occur_time);
		hss_event_free(ev);
		r->nev++;
	} else {
		buf_printf(&r->errs, "error %s\n", r->why.data);
		r->nerr++;
	}
	buf_reset(&r->why);
}

/* describe_stream()'s form of what a reading gave, when it did not fail. */
static void
describe_read(struct buf *out, int64_t total_num, const struct reading *r)
{
	buf_printf(out, "ok total_num=%lld nevents=%zu nerrors=%zu\n",
	    (long long)total_num, r->nev, r->nerr);
	if (r->evs.len)
		buf_add(out, r->evs.data, r->evs.len);
	if (r->errs.len)
		buf_add(out, r->errs.data, r->errs.len);
}

/*
 * What reading body an event at a time (event_page_open/next, as the
 * daemon reads) gives, in describe()'s form: the events in page order,
 * then the rejected elements; "fail" when the page fails at the open or
 * at an element. *freed_each: every event was freed before the next was
 * read (the arena then holds one event's tree).
 */
static void
describe_stream(struct buf *out, const char *body, size_t len)
{
	struct event_page	 pg;
	struct hss_event	*ev;
	struct reading		 r;
	struct buf		 err;
	int			 rc;

	memset(&pg, 0, sizeof(pg));
	reading_init(&r);
	buf_init(&err);
	if (event_page_open(body, len, &pg, &err) == -1) {
		buf_adds(out, "fail\n");
		goto done;
	}
	while ((rc = event_page_next(&pg, &ev, &r.why)) != 0) {
		if (rc == -1) {
			assert_null(ev);
			assert_null(strchr(r.why.data, '\n'));
			buf_adds(out, "fail\n");
			goto done;
		}
		if (rc != 1) {
			assert_int_equal(rc, 2);
			assert_null(ev);
		}
		reading_item(&r, ev);
	}
	assert_int_equal(pg.nitems, r.nev + r.nerr);
	describe_read(out, pg.total_num, &r);
done:
	event_page_clear(&pg);
	reading_free(&r);
	buf_free(&err);
}

/*
 * What reading body as it arrives in pieces of chunk bytes gives
 * (event_stream_next, as the daemon reads a 200), in describe_stream()'s
 * form; a body it leaves whole is read as describe_stream() reads it, as
 * the daemon does. Each event is freed before the next is read.
 */
static void
describe_arriving(struct buf *out, const char *body, size_t len,
    size_t chunk)
{
	struct event_stream	 es;
	struct hss_event	*ev;
	struct reading		 r;
	size_t			 have = 0, from = 0, used, calls = 0;
	int			 rc, fin;

	event_stream_init(&es);
	reading_init(&r);
	for (;;) {
		fin = have == len;
		rc = event_stream_next(&es, body + from, have - from, fin,
		    &used, &ev, &r.why);
		from += used;
		assert_true(from <= have);
		assert_true(++calls < 4 * len + 64);
		if (rc == ES_MORE) {
			assert_false(fin);
			have = len - have < chunk ? len : have + chunk;
			continue;
		}
		if (rc == ES_HEAD)
			continue;
		if (rc == ES_WHOLE) {
			assert_int_equal(r.nev + r.nerr, 0);
			assert_int_equal(from, 0);
			describe_stream(out, body, len);
			goto done;
		}
		if (rc == ES_FAILED) {
			assert_null(ev);
			assert_true(r.why.len > 0);
			assert_null(strchr(r.why.data, '\n'));
			buf_adds(out, "fail\n");
			goto done;
		}
		if (rc == ES_DONE)
			break;
		if (rc != ES_EVENT) {
			assert_int_equal(rc, ES_SKIP);
			assert_null(ev);
		}
		reading_item(&r, ev);
	}
	assert_int_equal(from, len);
	assert_int_equal(es.nitems, r.nev + r.nerr);
	describe_read(out, es.total_num, &r);
done:
	event_stream_clear(&es);
	reading_free(&r);
}

/*
 * body read four ways agrees: event_page_parse() and the whole tree give
 * the same description (the same error text when the page fails), and an
 * event at a time, and as it arrives in pieces of 1 and 7 bytes and at
 * once, give the same events and rejections, or fail too.
 */
static int
agree(const char *name, const char *body, size_t len)
{
	struct event_page	 pg;
	static const size_t	 chunks[] = { 1, 7, 0 };	/* 0: at once */
	struct buf		 err, whole, parsed, stream;
	struct buf		 arriving[HSS_ARRAY_LEN(chunks)];
	char			*nl;
	size_t			 i;
	int			 rc, ok;

	memset(&pg, 0, sizeof(pg));
	buf_init(&err);
	buf_init(&whole);
	buf_init(&parsed);
	buf_init(&stream);
	for (i = 0; i < HSS_ARRAY_LEN(chunks); i++)
		buf_init(&arriving[i]);
	rc = event_page_parse_whole(body, len, &pg, &err);
	describe(&whole, rc, &pg, &err);
	event_page_clear(&pg);
	buf_reset(&err);
	rc = event_page_parse(body, len, &pg, &err);
	describe(&parsed, rc, &pg, &err);
	event_page_clear(&pg);
	describe_stream(&stream, body, len);
	for (i = 0; i < HSS_ARRAY_LEN(chunks); i++)
		describe_arriving(&arriving[i], body, len, chunks[i] == 0 ?
		    len + 1 : chunks[i]);
	ok = strcmp(whole.data, parsed.data) == 0;
	if (strncmp(whole.data, "fail ", 5) == 0) {
		nl = strchr(whole.data, '\n');
		ok = ok && nl != NULL && strcmp(stream.data, "fail\n") == 0;
		for (i = 0; i < HSS_ARRAY_LEN(chunks); i++)
			ok = ok && strcmp(arriving[i].data, "fail\n") == 0;
	} else {
		ok = ok && strcmp(whole.data, stream.data) == 0;
		for (i = 0; i < HSS_ARRAY_LEN(chunks); i++)
			ok = ok && strcmp(whole.data, arriving[i].data) == 0;
	}
	if (!ok)
		print_error("%s: whole:\n%s\nparsed:\n%s\nstream:\n%s\n"
		    "arriving by 1:\n%s\nby 7:\n%s\nat once:\n%s\n", name,
		    whole.data, parsed.data, stream.data, arriving[0].data,
		    arriving[1].data, arriving[2].data);
	for (i = 0; i < HSS_ARRAY_LEN(chunks); i++)
		buf_free(&arriving[i]);
	buf_free(&err);
	buf_free(&whole);
	buf_free(&parsed);
	buf_free(&stream);
	return ok;
}

/*
 * Feed body to a stream whole and final, return the first answer that is
 * not ES_HEAD (count_only set at the head when asked); *nitems after.
 */
static int
arrive_once(const char *body, int count_only, size_t *nitems,
    struct buf *why)
{
	struct event_stream	 es;
	struct hss_event	*ev;
	size_t			 used, from = 0, len = strlen(body);
	int			 rc;

	event_stream_init(&es);
	for (;;) {
		rc = event_stream_next(&es, body + from, len - from, 1, &used,
		    &ev, why);
		from += used;
		if (rc == ES_HEAD) {
			es.count_only = count_only;
			continue;
		}
		if (rc == ES_EVENT) {
			hss_event_free(ev);
			continue;
		}
		if (rc != ES_SKIP)
			break;
	}
	*nitems = es.nitems;
	event_stream_clear(&es);
	return rc;
}

/*
 * The pages a stream leaves whole (the whole reading names what is wrong),
 * the ones it fails and why, and a page it only counts.
 */
static void
test_arriving_shapes(void **state)
{
	struct buf	 why;
	size_t		 n;

	(void)state;
	buf_init(&why);
	/* total_num after data_list, an error body, an escaped name */
	assert_int_equal(arrive_once("{\"data_list\":[],\"total_num\":0}", 0,
	    &n, &why), ES_WHOLE);
	assert_int_equal(arrive_once("{\"error_code\":\"X\",\"total_num\":0,"
	    "\"data_list\":[]}", 0, &n, &why), ES_WHOLE);
	assert_int_equal(arrive_once("{\"total\\u005fnum\":1,\"data_list\":[]}",
	    0, &n, &why), ES_WHOLE);
	assert_int_equal(arrive_once("{\"total_num\":-1,\"data_list\":[]}", 0,
	    &n, &why), ES_WHOLE);
	assert_int_equal(arrive_once("[]", 0, &n, &why), ES_WHOLE);
	/* cut short, a NUL between elements, an error after the list */
	buf_reset(&why);
	assert_int_equal(arrive_once("{\"total_num\":2,\"data_list\":[{\"a\":1}",
	    0, &n, &why), ES_FAILED);
	assert_string_equal(why.data, "truncated JSON (35 bytes)");
	buf_reset(&why);
	assert_int_equal(arrive_once("{\"total_num\":2,\"data_list\":[{},\n\001"
	    "{}]}", 0, &n, &why), ES_DONE);
	assert_int_equal(n, 2);
	buf_reset(&why);
	assert_int_equal(arrive_once("{\"total_num\":2,\"data_list\":[]} x", 0,
	    &n, &why), ES_FAILED);
	assert_string_equal(why.data,
	    "invalid JSON: data after the value at offset 31");
	buf_reset(&why);
	assert_int_equal(arrive_once("{\"total_num\":2,\"data_list\":[],"
	    "\"error_code\":\"HSS.1\"}", 0, &n, &why), ES_FAILED);
	assert_string_equal(why.data,
	    "API error body: error_code after data_list");
	/* counted: three elements, none read (not even the bad one) */
	buf_reset(&why);
	assert_int_equal(arrive_once("{\"total_num\":9,\"data_list\":[{},7,"
	    "{\"event_id\":\"a\"}]}", 1, &n, &why), ES_DONE);
	assert_int_equal(n, 3);
	assert_int_equal(why.len, 0);
	buf_free(&why);
}

/* Every page of tests/data/event agrees read whole and an event at a time. */
static void
test_stream_agrees_on_data(void **state)
{
	const char	*dirs[] = { "good", "bad" };
	DIR		*d;
	struct dirent	*de;
	char		*dir, *path, *body;
	size_t		 len, i, nl, n = 0;
	int		 failures = 0;

	for (i = 0; i < HSS_ARRAY_LEN(dirs); i++) {
		dir = data_path(dirs[i]);
		if ((d = opendir(dir)) == NULL)
			fail_msg("%s: %s", dir, strerror(errno));
		while ((de = readdir(d)) != NULL) {
			nl = strlen(de->d_name);
			if (nl <= 5 || strcmp(de->d_name + nl - 5, ".json"))
				continue;
			path = xasprintf("%s/%s", dir, de->d_name);
			body = read_file(path, &len);
			failures += !agree(de->d_name, body, len);
			n++;
			free(body);
			free(path);
		}
		closedir(d);
		free(dir);
	}
	assert_true(n >= 32);
	assert_int_equal(failures, 0);
}

/*
 * Pages the event-at-a-time reader handles itself or hands to the whole
 * parse, each agreeing: members in any order, repeated names (the first
 * counts), escaped names, a byte order mark, an element that is not JSON
 * after valid ones, commas that lie about the count, error bodies.
 */
static void
test_stream_agrees_on_shapes(void **state)
{
	static const char	*pages[] = {
		"{\"total_num\":2,\"data_list\":[{\"event_id\":\"a\","
		    "\"occur_time\":1},{\"event_id\":\"b\",\"occur_time\":2}]}",
		"{\"data_list\":[{\"event_id\":\"a\",\"occur_time\":1}],"
		    "\"x\":[1,{\"y\":\"]}\"}],\"total_num\":\"5\"}",
		" \r\n{ \"total_num\" : 1 , \"data_list\" : [ "
		    "{\"event_id\":\"a\",\"occur_time\":1} ] } \n",
		"{\"total_num\":1,\"data_list\":[{\"event_id\":\"a\","
		    "\"occur_time\":1}],\"data_list\":[],\"total_num\":9}",
		"{\"total_num\":1,\"data_list\":[{\"event_id\":\"a\","
		    "\"occur_time\":1}],\"data_list\":[x]}",
		"{\"total\\u005fnum\":1,\"total_num\":2,\"data_list\":[]}",
		"\xef\xbb\xbf{\"total_num\":0,\"data_list\":[]}",
		"{\"total_num\":3,\"data_list\":[{\"event_id\":\"a\","
		    "\"occur_time\":1},{\"event_id\":\"b\",\"occur_time\":2},"
		    "{\"event_id\":\"c\",\"occur_time\":tru}]}",
		"{\"total_num\":3,\"data_list\":[{\"event_id\":\"a\","
		    "\"occur_time\":1} {\"event_id\":\"b\",\"occur_time\":2}]}",
		"{\"total_num\":3,\"data_list\":[{\"event_id\":\"a\","
		    "\"occur_time\":1},]}",
		"{\"total_num\":3,\"data_list\":[,,,]}",
		"{\"total_num\":3,\"data_list\":[ ]}",
		"{\"total_num\":3,\"data_list\":[1,\"x\",null,[],{}]}",
		"{\"total_num\":3,\"data_list\":[{\"event_id\":\"a\","
		    "\"occur_time\":1}}]}",
		"{\"total_num\":3,\"data_list\":[{\"event_id\":\"a\\\"],\","
		    "\"occur_time\":1}]}",
		"{\"total_num\":-1,\"data_list\":[]}",
		"{\"total_num\":1,\"data_list\":{}}",
		"{\"total_num\":1}",
		"{\"data_list\":[]}",
		"{\"error_code\":\"HSS.0001\",\"error_msg\":\"x\","
		    "\"total_num\":0,\"data_list\":[]}",
		"{\"total_num\":0,\"data_list\":[]} x",
		"{\"total_num\":0,\"data_list\":[]}\v",
		"{\"total_num\":0,\"data_list\":[]",
		"{\"total_num\":0 \"data_list\":[]}",
		"{\"total_num\":01,\"data_list\":[]}",
		"{\"total_num\":1,\"data_list\":[{\"event_id\":\"a\","
		    "\"occur_time\":1,\"k\":\"\\u0000\"}]}",
		"[{\"total_num\":0}]",
		"{}",
		"{\"total_num\": 0, \"data_list\": [}}",
		"{\"total_num\":0,\"data_list\":[[}],1]}",
		"{\"total_num\":1,\"data_list\":[\xef\xbb\xbf{\"event_id\":"
		    "\"a\",\"occur_time\":1}]}",
		"{\"total_num\":\xef\xbb\xbf\"1\",\"data_list\":[]}",
	};
	/* 1: read an event at a time; 0: handed to the whole parse */
	static const int	 streamed[] = {
		1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0,
	};
	struct event_page	 pg;
	struct buf		 err;
	size_t			 i;
	int			 failures = 0;
	char			 name[32];

	assert_int_equal(HSS_ARRAY_LEN(pages), HSS_ARRAY_LEN(streamed));
	memset(&pg, 0, sizeof(pg));
	buf_init(&err);
	for (i = 0; i < HSS_ARRAY_LEN(pages); i++) {
		snprintf(name, sizeof(name), "shape %zu", i);
		failures += !agree(name, pages[i], strlen(pages[i]));
		event_page_open(pages[i], strlen(pages[i]), &pg, &err);
		if ((pg.text != NULL) != streamed[i]) {
			print_error("%s: streamed %d, expected %d\n", name,
			    pg.text != NULL, streamed[i]);
			failures++;
		}
		event_page_clear(&pg);
	}
	buf_free(&err);
	assert_int_equal(failures, 0);
}

/*
 * An element that is not JSON after valid ones: read an event at a time,
 * the valid ones come first, then -1 naming the offset; event_page_parse()
 * refuses the page as a whole, as before.
 */
static void
test_stream_fails_at_element(void **state)
{
	const char		 body[] = "{\"total_num\":3,\"data_list\":["
	    "{\"event_id\":\"a\",\"occur_time\":1},"
	    "{\"event_id\":\"b\",\"occur_time\":2},"
	    "{\"event_id\":\"c\",\"occur_time\":tru}]}";
	struct event_page	 pg;
	struct hss_event	*ev;
	struct buf		 err;

	memset(&pg, 0, sizeof(pg));
	buf_init(&err);
	assert_int_equal(event_page_open(body, sizeof(body) - 1, &pg, &err),
	    0);
	assert_int_equal(pg.total_num, 3);
	assert_int_equal(pg.nitems, 3);
	assert_int_equal(event_page_next(&pg, &ev, &err), 1);
	assert_string_equal(ev->event_id, "a");
	hss_event_free(ev);
	assert_int_equal(event_page_next(&pg, &ev, &err), 1);
	assert_string_equal(ev->event_id, "b");
	hss_event_free(ev);
	assert_int_equal(event_page_next(&pg, &ev, &err), -1);
	assert_null(ev);
	assert_string_equal(err.data, "invalid JSON at offset 121");
	assert_memory_equal(body + 121, "tru}", 4);
	assert_int_equal(event_page_next(&pg, &ev, &err), 0);
	event_page_clear(&pg);
	buf_reset(&err);
	assert_int_equal(event_page_parse(body, sizeof(body) - 1, &pg, &err),
	    -1);
	assert_string_equal(err.data, "invalid JSON at offset 121");
	assert_int_equal(pg.nevents, 0);
	event_page_clear(&pg);
	buf_free(&err);
}

/*
 * Read an event at a time, a page of 1000 events of 4 KB keeps one event's
 * tree: each event freed before the next, the events are read one after
 * the other in the same memory (the id strings of consecutive events sit
 * at the same address), and held events stay valid while later ones are
 * read.
 */
static void
test_stream_reuses_memory(void **state)
{
	struct event_page	 pg;
	struct hss_event	*ev, *held;
	struct buf		 b, err;
	const char		*first = NULL;
	size_t			 i, same = 0;

	buf_init(&b);
	buf_init(&err);
	buf_adds(&b, "{\"total_num\":1000,\"data_list\":[");
	for (i = 0; i < 1000; i++) {
		buf_printf(&b, "%s{\"event_id\":\"id-%04zu\",\"occur_time\":%zu,"
		    "\"event_name\":\"", i ? "," : "", i, i + 1);
		buf_reserve(&b, 4000);
		memset(b.data + b.len, 'x', 4000);
		b.len += 4000;
		buf_adds(&b, "\"}");
	}
	buf_adds(&b, "]}");
	memset(&pg, 0, sizeof(pg));
	assert_int_equal(event_page_open(b.data, b.len, &pg, &err), 0);
	assert_int_equal(pg.nitems, 1000);
	for (i = 0; i < 1000; i++) {
		assert_int_equal(event_page_next(&pg, &ev, &err), 1);
		if (first == NULL)
			first = ev->event_id;
		else if (ev->event_id == first)
			same++;
		hss_event_free(ev);
	}
	assert_int_equal(same, 999);
	assert_int_equal(event_page_next(&pg, &ev, &err), 0);
	event_page_clear(&pg);

	/* an event held while the next is read is not overwritten */
	assert_int_equal(event_page_open(b.data, b.len, &pg, &err), 0);
	assert_int_equal(event_page_next(&pg, &held, &err), 1);
	assert_int_equal(event_page_next(&pg, &ev, &err), 1);
	assert_ptr_not_equal(ev->event_id, held->event_id);
	assert_string_equal(held->event_id, "id-0000");
	assert_string_equal(ev->event_id, "id-0001");
	hss_event_free(ev);
	event_page_clear(&pg);
	assert_string_equal(held->event_id, "id-0000");
	hss_event_free(held);
	buf_free(&b);
	buf_free(&err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_pages),
		cmocka_unit_test(test_official_example),
		cmocka_unit_test(test_deviations),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_length_bound),
		cmocka_unit_test(test_nul_and_surrogate_escapes),
		cmocka_unit_test(test_from_json),
		cmocka_unit_test(test_event_id_valid),
		cmocka_unit_test(test_first_member_counts),
		cmocka_unit_test(test_tree_lifetimes),
		cmocka_unit_test(test_stream_agrees_on_data),
		cmocka_unit_test(test_stream_agrees_on_shapes),
		cmocka_unit_test(test_stream_fails_at_element),
		cmocka_unit_test(test_stream_reuses_memory),
		cmocka_unit_test(test_arriving_shapes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
