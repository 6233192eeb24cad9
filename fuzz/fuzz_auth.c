/*
 * The query and signing canonical encoder (auth.c). The input is a query
 * "k=v&k=v..." (a NUL ends it) then, after a NUL, a path. Checks: every
 * encoded byte is unreserved or a %XX escape (RFC 3986 2.3), the canonical
 * query decodes back to the pairs given (sorted by raw key, then value),
 * and auth_sign() accepts what the daemon sends.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "config.h"
#include "util.h"

#include "fuzz.h"

#define MAX_PAIRS	64

static void
fail(const char *what, const struct buf *b)
{
	fprintf(stderr, "fuzz_auth: %s: %.*s\n", what,
	    b->data != NULL ? (int)b->len : 0, b->data != NULL ? b->data : "");
	abort();
}

static int
unreserved(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
	    c == '~';
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes s[0..len) (unreserved and %XX with upper-case hex only). */
static int
decode(const char *s, size_t len, struct buf *out)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		if (unreserved((unsigned char)s[i]))
			buf_addc(out, s[i]);
		else if (s[i] == '%' && i + 2 < len &&
		    hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			buf_addc(out, (char)(hexval(s[i + 1]) * 16 +
			    hexval(s[i + 2])));
			i += 2;
		} else
			return -1;
	}
	return 0;
}

static int
pair_cmp(const void *a, const void *b)
{
	const struct kv	*x = a, *y = b;
	int		 c;

	if ((c = strcmp(x->key, y->key)) != 0)
		return c;
	return strcmp(x->value, y->value);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_setup();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kv		 q[MAX_PAIRS], sorted[MAX_PAIRS], hdr[2];
	struct auth_sign_input	 in;
	struct buf		 b, d, creq, sh;
	char			*text, *path, *p, *amp, *eq, hash[65], sig[65];
	const char		*s, *e, *sep;
	size_t			 n = 0, i, len;

	text = xmalloc(size + 2);
	memcpy(text, data, size);
	text[size] = text[size + 1] = '\0';
	path = text + strlen(text) + (strlen(text) < size ? 1 : 0);
	if (path > text + size)
		path = text + size;
	buf_init(&b);
	buf_init(&d);
	buf_init(&creq);
	buf_init(&sh);

	/* auth_encode: every byte unreserved or %XX, and back */
	auth_encode((const char *)data, size, &b);
	for (i = 0; i < b.len; i++)
		if (!unreserved((unsigned char)b.data[i]) && b.data[i] != '%')
			fail("encode: a reserved byte", &b);
	if (decode(b.data, b.len, &d) == -1 || d.len != size ||
	    (size > 0 && memcmp(d.data, data, size) != 0))
		fail("encode: does not decode back", &b);

	/* the query pairs */
	for (p = text; *p != '\0' && n < MAX_PAIRS; p = amp + 1) {
		amp = p + strcspn(p, "&");
		q[n].key = p;
		if ((eq = memchr(p, '=', (size_t)(amp - p))) != NULL) {
			*eq = '\0';
			q[n].value = eq + 1;
		} else
			q[n].value = amp;	/* "" after the NUL below */
		n++;
		if (*amp == '\0')
			break;
		*amp = '\0';
	}
	buf_reset(&b);
	auth_canonical_query(q, n, &b);
	memcpy(sorted, q, n * sizeof(q[0]));
	qsort(sorted, n, sizeof(sorted[0]), pair_cmp);
	s = b.data != NULL ? b.data : "";
	e = s + b.len;
	for (i = 0; i < n; i++) {
		sep = memchr(s, '&', (size_t)(e - s));
		len = sep != NULL ? (size_t)(sep - s) : (size_t)(e - s);
		buf_reset(&d);
		if (memchr(s, '=', len) == NULL || decode(s, (size_t)((const
		    char *)memchr(s, '=', len) - s), &d) == -1)
			fail("query: a pair without =", &b);
		buf_addc(&d, '\0');
		if (strcmp(d.data, sorted[i].key) != 0)
			fail("query: keys out of order or changed", &b);
		buf_reset(&d);
		eq = memchr(s, '=', len);
		if (decode(eq + 1, len - (size_t)(eq + 1 - s), &d) == -1)
			fail("query: a bad escape", &b);
		buf_addc(&d, '\0');
		if (strcmp(d.data, sorted[i].value) != 0)
			fail("query: values out of order or changed", &b);
		s += len + (sep != NULL ? 1 : 0);
	}
	if (s != e)
		fail("query: more pairs than given", &b);

	/* the canonical URI and the signature of a request with them */
	buf_reset(&b);
	auth_canonical_uri(path, &b);
	if (b.len == 0 || b.data[b.len - 1] != '/')
		fail("uri: no trailing slash", &b);
	for (i = 0; i < b.len; i++)
		if (!unreserved((unsigned char)b.data[i]) &&
		    b.data[i] != '%' && b.data[i] != '/')
			fail("uri: a reserved byte", &b);
	hdr[0].key = "Host";
	hdr[0].value = "hss.ap-southeast-1.myhuaweicloud.com";
	hdr[1].key = "X-Sdk-Date";
	hdr[1].value = "20240102T030405Z";
	memset(&in, 0, sizeof(in));
	in.method = "GET";
	in.path = path;
	in.query = q;
	in.nquery = n;
	in.headers = hdr;
	in.nheaders = 2;
	in.sdk_date = "20240102T030405Z";
	in.sk = "test-secret-key-do-not-use";
	if (auth_sign(&in, &creq, &sh, hash, sig) != 0)
		fail("sign: refused", &creq);
	if (strlen(hash) != 64 || strlen(sig) != 64 ||
	    strcmp(sh.data, "host;x-sdk-date") != 0)
		fail("sign: bad output", &sh);

	buf_free(&b);
	buf_free(&d);
	buf_free(&creq);
	buf_free(&sh);
	free(text);
	return 0;
}
