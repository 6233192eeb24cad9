/*
 * auth.c: SDK-HMAC-SHA256 signing against the public vectors
 * (tests/data/api/sign-vectors.json, from reference/hss-api.md), the
 * canonical URI and query encodings (tests/data/api/canonical-query.json),
 * IAM expires_at parsing, refresh arithmetic, the IAM body, and the
 * token file re-read.
 */
#include "autoconf.h"

#include <sys/stat.h>
#include <sys/time.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "auth.h"
#include "config.h"
#include "util.h"

static cJSON *
load_json(const char *name)
{
	char	*path, *data;
	FILE	*f;
	long	 n;
	cJSON	*root;

	path = xasprintf("%s/tests/data/api/%s", TEST_SRCDIR, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = xmalloc((size_t)n + 1);
	assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
	data[n] = '\0';
	fclose(f);
	root = cJSON_Parse(data);
	assert_non_null(root);
	free(data);
	free(path);
	return root;
}

static struct kv *
pairs(const cJSON *arr, size_t *n)
{
	struct kv	*kv;
	const cJSON	*p;
	size_t		 i = 0;

	*n = (size_t)cJSON_GetArraySize(arr);
	kv = xcalloc(*n, sizeof(*kv));
	cJSON_ArrayForEach(p, arr) {
		kv[i].key = cJSON_GetArrayItem(p, 0)->valuestring;
		kv[i].value = cJSON_GetArrayItem(p, 1)->valuestring;
		i++;
	}
	return kv;
}

static const char *
jstr(const cJSON *o, const char *k)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, k);

	assert_true(cJSON_IsString(v));
	return v->valuestring;
}

/* The four public vectors: canonical request, its hash, the signature. */
static void
test_sign_vectors(void **state)
{
	cJSON			*root, *v;
	struct auth_sign_input	 in;
	struct kv		*q, *h;
	struct buf		 creq, sh;
	char			 hash[65], sig[65], *authz, *want;
	int			 count = 0;

	root = load_json("sign-vectors.json");
	buf_init(&creq);
	buf_init(&sh);
	cJSON_ArrayForEach(v, root) {
		memset(&in, 0, sizeof(in));
		in.method = jstr(v, "method");
		in.path = jstr(v, "path");
		q = pairs(cJSON_GetObjectItem(v, "query"), &in.nquery);
		h = pairs(cJSON_GetObjectItem(v, "headers"), &in.nheaders);
		in.query = q;
		in.headers = h;
		in.body = jstr(v, "body");
		in.body_len = strlen(jstr(v, "body"));
		in.sdk_date = jstr(v, "date");
		in.sk = jstr(v, "sk");
		assert_int_equal(auth_sign(&in, &creq, &sh, hash, sig), 0);
		assert_string_equal(creq.data, jstr(v, "canonical_request"));
		assert_string_equal(sh.data, jstr(v, "signed_headers"));
		assert_string_equal(hash, jstr(v, "hash"));
		assert_string_equal(sig, jstr(v, "signature"));
		authz = auth_authorization(jstr(v, "ak"), sh.data, sig);
		want = xasprintf("SDK-HMAC-SHA256 Access=%s, SignedHeaders=%s, "
		    "Signature=%s", jstr(v, "ak"), jstr(v, "signed_headers"),
		    jstr(v, "signature"));
		assert_string_equal(authz, want);
		free(authz);
		free(want);
		free(q);
		free(h);
		count++;
	}
	assert_int_equal(count, 4);
	buf_free(&creq);
	buf_free(&sh);
	cJSON_Delete(root);
}

/* The signing guide's figures, independent of the data file. */
static void
test_sign_guide_literal(void **state)
{
	struct kv		 q[] = {
		{ "marker", "13551d6b-755d-4757-b956-536f674975c0" },
		{ "limit", "2" },
	};
	struct kv		 h[] = {
		{ "X-Sdk-Date", "20191115T033655Z" },
		{ "host", "service.region.example.com" },
		{ "Content-Type", "application/json" },
	};
	struct auth_sign_input	 in = {
		.method = "GET",
		.path = "/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs",
		.query = q, .nquery = 2, .headers = h, .nheaders = 3,
		.sdk_date = "20191115T033655Z",
		.sk = "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc",
	};
	struct buf		 creq, sh;
	char			 hash[65], sig[65];

	buf_init(&creq);
	buf_init(&sh);
	assert_int_equal(auth_sign(&in, &creq, &sh, hash, sig), 0);
	assert_string_equal(creq.data,
	    "GET\n/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs/\n"
	    "limit=2&marker=13551d6b-755d-4757-b956-536f674975c0\n"
	    "content-type:application/json\n"
	    "host:service.region.example.com\n"
	    "x-sdk-date:20191115T033655Z\n\n"
	    "content-type;host;x-sdk-date\n" AUTH_EMPTY_SHA256);
	assert_string_equal(hash,
	    "b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a");
	assert_string_equal(sig,
	    "7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe");
	buf_free(&creq);
	buf_free(&sh);
}

/* Header values are trimmed; names with '_' are refused. */
static void
test_sign_headers(void **state)
{
	struct kv		 h[] = {
		{ "X-Project-Id", "  p1 " },
		{ "Host", "h.example" },
	};
	struct kv		 bad[] = { { "x_odd", "v" } };
	struct auth_sign_input	 in = {
		.method = "GET", .path = "/", .headers = h, .nheaders = 2,
		.sdk_date = "20200101T000000Z", .sk = "k",
	};
	struct buf		 creq, sh;
	char			 hash[65], sig[65];

	buf_init(&creq);
	buf_init(&sh);
	assert_int_equal(auth_sign(&in, &creq, &sh, hash, sig), 0);
	assert_string_equal(creq.data, "GET\n/\n\nhost:h.example\n"
	    "x-project-id:p1\n\nhost;x-project-id\n" AUTH_EMPTY_SHA256);
	in.headers = bad;
	in.nheaders = 1;
	assert_int_equal(auth_sign(&in, &creq, &sh, hash, sig), -1);
	buf_free(&creq);
	buf_free(&sh);
}

static void
test_empty_body_hash(void **state)
{
	struct auth_sign_input	 in = {
		.method = "GET", .path = "/x", .sdk_date = "20200101T000000Z",
		.sk = "k",
	};
	struct buf		 creq, sh;
	char			 hash[65], sig[65];
	size_t			 n;

	buf_init(&creq);
	buf_init(&sh);
	assert_int_equal(auth_sign(&in, &creq, &sh, hash, sig), 0);
	n = strlen(AUTH_EMPTY_SHA256);
	assert_true(creq.len > n);
	assert_string_equal(creq.data + creq.len - n,
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_string_equal(creq.data, "GET\n/x/\n\n\n\n" AUTH_EMPTY_SHA256);
	buf_free(&creq);
	buf_free(&sh);
}

static void
check_uri(const char *path, const char *canon, const char *wire)
{
	struct buf	 b;

	buf_init(&b);
	auth_canonical_uri(path, &b);
	assert_string_equal(b.data, canon);
	buf_reset(&b);
	auth_encode_path(path, &b);
	assert_string_equal(b.data == NULL ? "" : b.data, wire);
	buf_free(&b);
}

static void
test_canonical_uri(void **state)
{
	check_uri("/v5/0123abc/event/events", "/v5/0123abc/event/events/",
	    "/v5/0123abc/event/events");
	check_uri("/a/", "/a/", "/a/");
	check_uri("/", "/", "/");
	check_uri("", "/", "");
	check_uri("/a b/c~d", "/a%20b/c~d/", "/a%20b/c~d");
	check_uri("/caf\xc3\xa9", "/caf%C3%A9/", "/caf%C3%A9");
}

static void
test_canonical_query(void **state)
{
	cJSON		*root, *c;
	struct kv	*q;
	size_t		 n;
	struct buf	 b;
	int		 count = 0;

	root = load_json("canonical-query.json");
	buf_init(&b);
	cJSON_ArrayForEach(c, root) {
		q = pairs(cJSON_GetObjectItem(c, "query"), &n);
		buf_reset(&b);
		auth_canonical_query(q, n, &b);
		assert_string_equal(b.data == NULL ? "" : b.data,
		    jstr(c, "canonical"));
		free(q);
		count++;
	}
	assert_int_equal(count, 6);
	cJSON_Delete(root);
	buf_free(&b);
}

/* Literal cases: space, '/', UTF-8 bytes, repeated keys in order. */
static void
test_canonical_query_literal(void **state)
{
	struct kv	 q[] = {
		{ "tag_list", "hot event" },
		{ "host_name", "a/b" },
		{ "tag_list", "caf\xc3\xa9" },
		{ "event_types", "4004" },
		{ "event_types", "1001" },
	};
	struct buf	 b;

	buf_init(&b);
	auth_canonical_query(q, HSS_ARRAY_LEN(q), &b);
	assert_string_equal(b.data, "event_types=1001&event_types=4004&"
	    "host_name=a%2Fb&tag_list=caf%C3%A9&tag_list=hot%20event");
	buf_free(&b);
}

static void
test_sdk_date(void **state)
{
	char	 d[17];

	auth_sdk_date(1573788615123LL, d);
	assert_string_equal(d, "20191115T033015Z");
	auth_sdk_date(0, d);
	assert_string_equal(d, "19700101T000000Z");
}

static void
test_parse_time(void **state)
{
	int64_t	 t;

	assert_int_equal(auth_parse_time("2020-01-04T09:05:22.701000Z", &t), 0);
	assert_int_equal(t, 1578128722701LL);
	assert_int_equal(auth_parse_time("2020-01-04T09:05:22Z", &t), 0);
	assert_int_equal(t, 1578128722000LL);
	assert_int_equal(auth_parse_time("2020-01-04T09:05:22.7Z", &t), 0);
	assert_int_equal(t, 1578128722700LL);
	assert_int_equal(auth_parse_time("2020-01-04T17:05:22.701+08:00", &t),
	    0);
	assert_int_equal(t, 1578128722701LL);
	assert_int_equal(auth_parse_time("2020-01-04T09:05:22", &t), -1);
	assert_int_equal(auth_parse_time("2020-01-04 09:05:22Z", &t), -1);
	assert_int_equal(auth_parse_time("2020-13-04T09:05:22Z", &t), -1);
	assert_int_equal(auth_parse_time("2020-01-04T09:05:22.Z", &t), -1);
	assert_int_equal(auth_parse_time("2020-01-04T09:05:22Zx", &t), -1);
	assert_int_equal(auth_parse_time("", &t), -1);
}

static void
test_refresh_at(void **state)
{
	/* 24 h token: refresh after 19.2 h. */
	assert_int_equal(auth_refresh_at(1000, 86400000), 1000 + 69120000);
	assert_int_equal(auth_refresh_at(0, 100), 80);
	assert_int_equal(auth_refresh_at(0, 7), 5);	/* 5.6, rounded down */
	assert_int_equal(auth_refresh_at(50, 0), 50);
	assert_int_equal(auth_refresh_at(50, -10), 50);
}

static void
test_iam_body(void **state)
{
	struct buf	 b;

	buf_init(&b);
	auth_iam_body("dom", "us\"er", "p\\w\n", "0123abc", &b);
	assert_string_equal(b.data,
	    "{\"auth\":{\"identity\":{\"methods\":[\"password\"],"
	    "\"password\":{\"user\":{\"domain\":{\"name\":\"dom\"},"
	    "\"name\":\"us\\\"er\",\"password\":\"p\\\\w\\u000a\"}}},"
	    "\"scope\":{\"project\":{\"id\":\"0123abc\"}}}}");
	buf_free(&b);
}

static void
write_file(const char *path, const char *s)
{
	FILE	*f = fopen(path, "w");

	assert_non_null(f);
	fputs(s, f);
	fclose(f);
	/* A secret file is refused unless only its owner can read it. */
	assert_int_equal(chmod(path, 0600), 0);
}

/* A token file is re-read when its size or mtime changes. */
static void
test_token_file(void **state)
{
	char			 dir[] = "/tmp/test_auth.XXXXXX", *path;
	struct source_config	 sc;
	struct auth_token	*t;
	struct timeval		 tv[2];

	assert_non_null(mkdtemp(dir));
	path = xasprintf("%s/token", dir);
	write_file(path, "tok-one\n");
	memset(&sc, 0, sizeof(sc));
	sc.region = "r";
	sc.project_id = "p";
	sc.cred.method = CRED_TOKEN;
	sc.cred.token.origin = SECRET_FILE;
	sc.cred.token.where = path;
	sc.cred.token.value = "tok-one";
	t = auth_token_new(NULL, &sc);
	assert_string_equal(auth_token_get(t, 0), "tok-one");
	write_file(path, "tok-second\n");
	assert_string_equal(auth_token_get(t, 0), "tok-second");
	/* Refused and unchanged: no point retrying. */
	assert_int_equal(auth_token_refused(t, "tok-second"), 0);
	/* Same size, new mtime. */
	write_file(path, "tok-third!\n");
	tv[0].tv_sec = tv[1].tv_sec = 1000000;
	tv[0].tv_usec = tv[1].tv_usec = 0;
	assert_int_equal(utimes(path, tv), 0);
	assert_int_equal(auth_token_refused(t, "tok-second"), 1);
	assert_string_equal(auth_token_get(t, 0), "tok-third!");
	/* Readable by others: refused as at start-up, the token stays. */
	write_file(path, "tok-fourth-group\n");
	assert_int_equal(chmod(path, 0640), 0);
	assert_string_equal(auth_token_get(t, 0), "tok-third!");
	/* A control character: refused as at start-up. */
	write_file(path, "tok\tfifth\n");
	assert_string_equal(auth_token_get(t, 0), "tok-third!");
	/* Fixed: read again. */
	write_file(path, "tok-sixth\n");
	assert_string_equal(auth_token_get(t, 0), "tok-sixth");
	/* Unreadable: the token read before stays. */
	unlink(path);
	assert_string_equal(auth_token_get(t, 0), "tok-sixth");
	auth_token_free(t);
	auth_token_free(NULL);
	rmdir(dir);
	free(path);
}

static void
test_token_keys(void **state)
{
	struct source_config	 a, b;
	char			*ka, *kb;

	memset(&a, 0, sizeof(a));
	a.region = "r";
	a.project_id = "p1";
	a.cred.method = CRED_PASSWORD;
	a.cred.domain = "d";
	a.cred.user = "u";
	b = a;
	b.project_id = "p2";
	ka = auth_token_key(&a);
	kb = auth_token_key(&b);
	/* IAM tokens are scoped to a project: one cache per project. */
	assert_string_not_equal(ka, kb);
	free(ka);
	free(kb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_vectors),
		cmocka_unit_test(test_sign_guide_literal),
		cmocka_unit_test(test_sign_headers),
		cmocka_unit_test(test_empty_body_hash),
		cmocka_unit_test(test_canonical_uri),
		cmocka_unit_test(test_canonical_query),
		cmocka_unit_test(test_canonical_query_literal),
		cmocka_unit_test(test_sdk_date),
		cmocka_unit_test(test_parse_time),
		cmocka_unit_test(test_refresh_at),
		cmocka_unit_test(test_iam_body),
		cmocka_unit_test(test_token_file),
		cmocka_unit_test(test_token_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
