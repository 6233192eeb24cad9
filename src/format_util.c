/*
 * format_util.c: what the four formats share: severity mappings, UTF-8
 * checking, table-driven escaping, the RFC 5424 header, the compact JSON
 * serialiser and the key/value pair writer of CEF and LEEF. Calls nothing
 * of the formats themselves.
 *
 * The JSON serialiser is ours rather than cJSON_PrintUnformatted() so that
 * it writes into the caller's buffer without allocating and guarantees:
 * no raw control character (C0, DEL, U+2028/U+2029 are escaped), invalid
 * UTF-8 -> U+FFFD, non-finite numbers -> null. Numbers: cJSON keeps only a
 * double, so an integral value below 1e17 is written as an integer (exact
 * up to 2^53; larger integers were already rounded by the parse), any other
 * value with the shortest of %.15g / %.17g that reads back to the same
 * double.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "event.h"
#include "format.h"
#include "format_util.h"
#include "util.h"

#define JSON_DEPTH_MAX	1000
#define UTF8_REPLACEMENT "\xEF\xBF\xBD"

static const struct {
	const char	*name;
	int		 syslog;
	int		 cef;
} severities[] = {
	{ "Critical", 2, 10 },
	{ "High", 3, 8 },
	{ "Medium", 4, 5 },
	{ "Low", 5, 3 },
	{ "Security", 6, 1 },
};

int
format_syslog_severity(const char *s)
{
	size_t	 i;

	for (i = 0; s != NULL && i < HSS_ARRAY_LEN(severities); i++)
		if (strcmp(s, severities[i].name) == 0)
			return severities[i].syslog;
	return 5;
}

int
format_cef_severity(const char *s)
{
	size_t	 i;

	for (i = 0; s != NULL && i < HSS_ARRAY_LEN(severities); i++)
		if (strcmp(s, severities[i].name) == 0)
			return severities[i].cef;
	return 3;
}

/*
 * The length of the character at p of a NUL-terminated string in strict
 * UTF-8 (ASCII: 1), or 0 if it is not valid.
 */
size_t
format_utf8_len(const unsigned char *p)
{
	return p[0] < 0x80 ? 1 : utf8_seq_len(p, 4);
}

int
format_escape(struct buf *b, const char *s, size_t maxin, size_t maxout,
    const char *const *map)
{
	const unsigned char	*p = (const unsigned char *)s, *run = p;
	const char		*rep;
	size_t			 in = 0, out = 0, ulen, rlen, ilen;
	int			 cut = 0;

	for (; *p != '\0'; p += ulen) {
		rep = NULL;
		if (*p < 0x80) {
			ulen = ilen = 1;
			rep = map[*p];
		} else if ((ulen = format_utf8_len(p)) == 0) {
			ulen = 1;
			ilen = 3;
			rep = UTF8_REPLACEMENT;
		} else
			ilen = ulen;
		rlen = rep == NULL ? ulen : strlen(rep);
		if (in + ilen > maxin || out + rlen > maxout) {
			cut = 1;
			break;
		}
		in += ilen;
		out += rlen;
		if (rep != NULL) {
			buf_add(b, run, (size_t)(p - run));
			buf_add(b, rep, rlen);
			run = p + ulen;
		}
	}
	buf_add(b, run, (size_t)(p - run));
	return cut;
}

void
format_printascii(struct buf *b, const char *s, size_t max, const char *except)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n = 0, ulen;

	for (; p != NULL && *p != '\0' && n < max; p += ulen, n++) {
		if ((ulen = format_utf8_len(p)) == 0)
			ulen = 1;
		if (*p >= 33 && *p <= 126 &&
		    (except == NULL || strchr(except, *p) == NULL))
			buf_addc(b, (char)*p);
		else
			buf_addc(b, '_');
	}
	if (n == 0)
		buf_addc(b, '-');
}

void
format_syslog_header(struct buf *b, const struct format_ctx *ctx, int sev,
    int64_t ms, const char *msgid)
{
	const struct output_config	*out = ctx->out;
	char				 ts[64];
	int				 fac;

	fac = out->facility >= 0 && out->facility <= 23 ? out->facility : 16;
	time_format_iso(ms, ts, sizeof(ts));
	buf_printf(b, "<%d>1 %s ", fac * 8 + sev, ts);
	format_printascii(b, ctx->hostname != NULL ? ctx->hostname :
	    out->hostname, 255, NULL);
	buf_addc(b, ' ');
	format_printascii(b, out->app_name != NULL ? out->app_name :
	    PACKAGE_NAME, 48, NULL);
	if (ctx->pid > 0)
		buf_printf(b, " %d ", ctx->pid);
	else
		buf_adds(b, " - ");
	format_printascii(b, msgid, 32, NULL);
}

const char *
format_event_class(const struct hss_event *ev, char *tmp, size_t len)
{
	if (ev->event_class_id != NULL)
		return ev->event_class_id;
	if (ev->has_event_type) {
		snprintf(tmp, len, "%lld", (long long)ev->event_type);
		return tmp;
	}
	return NULL;
}

int
format_ip_family(const char *s)
{
	unsigned char	 a[sizeof(struct in6_addr)];

	if (s == NULL)
		return 0;
	if (inet_pton(AF_INET, s, a) == 1)
		return 4;
	if (inet_pton(AF_INET6, s, a) == 1)
		return 6;
	return 0;
}

/* The bytes a JSON string holds as they are: printable ASCII but " and \. */
#define J8(x)	x, x, x, x, x, x, x, x
static const unsigned char json_plain[256] = {
	J8(0), J8(0), J8(0), J8(0),			/* 0x00-0x1f */
	1, 1, 0, 1, 1, 1, 1, 1, J8(1), J8(1), J8(1),	/* 0x20-0x3f: " */
	J8(1), J8(1), J8(1), 1, 1, 1, 1, 0, 1, 1, 1,	/* 0x40-0x5f: \ */
	J8(1), J8(1), J8(1), 1, 1, 1, 1, 1, 1, 1, 0,	/* 0x60-0x7f: DEL */
	J8(0), J8(0), J8(0), J8(0), J8(0), J8(0), J8(0), J8(0),
	J8(0), J8(0), J8(0), J8(0), J8(0), J8(0), J8(0), J8(0),
};
#undef J8

void
format_json_string(struct buf *b, const char *s)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p = (const unsigned char *)s, *run;
	char			 esc[8];
	const char		*rep;
	size_t			 ulen;

	buf_addc(b, '"');
	for (run = p;; p += ulen) {
		/* a table lookup a byte over runs of plain text */
		while (json_plain[*p])
			p++;
		if (*p == '\0')
			break;
		rep = NULL;
		ulen = 1;
		if (*p < 0x80) {
			if (*p == '"')
				rep = "\\\"";
			else if (*p == '\\')
				rep = "\\\\";
			else if (*p == '\n')
				rep = "\\n";
			else if (*p == '\r')
				rep = "\\r";
			else if (*p == '\t')
				rep = "\\t";
			else if (*p < 0x20 || *p == 0x7f) {
				memcpy(esc, "\\u00", 4);
				esc[4] = hex[*p >> 4];
				esc[5] = hex[*p & 0xf];
				esc[6] = '\0';
				rep = esc;
			}
		} else if ((ulen = format_utf8_len(p)) == 0) {
			ulen = 1;
			rep = UTF8_REPLACEMENT;
		} else if (ulen == 3 && p[0] == 0xE2 && p[1] == 0x80 &&
		    (p[2] == 0xA8 || p[2] == 0xA9))
			rep = p[2] == 0xA8 ? "\\u2028" : "\\u2029";
		if (rep != NULL) {
			buf_add(b, run, (size_t)(p - run));
			buf_adds(b, rep);
			run = p + ulen;
		}
	}
	buf_add(b, run, (size_t)(p - run));
	buf_addc(b, '"');
}

void
format_json_number(struct buf *b, double d)
{
	char	 tmp[64], *c;

	if (!isfinite(d)) {
		buf_adds(b, "null");
		return;
	}
	/* integers (most numbers of an event) without printf; -0 keeps its
	 * sign through %.0f */
	if (d == trunc(d) && fabs(d) < 9007199254740992.0 &&
	    (d != 0 || !signbit(d))) {
		buf_add_int(b, (int64_t)d);
		return;
	}
	if (d == trunc(d) && fabs(d) < 1e17)
		snprintf(tmp, sizeof(tmp), "%.0f", d);
	else {
		snprintf(tmp, sizeof(tmp), "%.15g", d);
		if (strtod(tmp, NULL) != d)
			snprintf(tmp, sizeof(tmp), "%.17g", d);
	}
	if ((c = strchr(tmp, ',')) != NULL)	/* a decimal-comma locale */
		*c = '.';
	buf_adds(b, tmp);
}

void
format_json_value(struct buf *b, const cJSON *j, int depth,
    struct format_fit *fit)
{
	const cJSON	*c;
	size_t		 start;

	if (depth > JSON_DEPTH_MAX) {
		buf_adds(b, "null");
		return;
	}
	if (cJSON_IsString(j)) {
		start = b->len + 1;
		format_json_string(b, j->valuestring);
		format_fit_add(fit, start, b->len - 1, FIT_CUT, FIT_JSON);
	} else if (cJSON_IsNumber(j))
		format_json_number(b, j->valuedouble);
	else if (cJSON_IsTrue(j))
		buf_adds(b, "true");
	else if (cJSON_IsFalse(j))
		buf_adds(b, "false");
	else if (cJSON_IsArray(j)) {
		buf_addc(b, '[');
		for (c = j->child; c != NULL; c = c->next) {
			if (c != j->child)
				buf_addc(b, ',');
			format_json_value(b, c, depth + 1, fit);
		}
		buf_addc(b, ']');
	} else if (cJSON_IsObject(j)) {
		buf_addc(b, '{');
		for (c = j->child; c != NULL; c = c->next) {
			if (c != j->child)
				buf_addc(b, ',');
			format_json_string(b, c->string != NULL ? c->string :
			    "");
			buf_addc(b, ':');
			format_json_value(b, c, depth + 1, fit);
		}
		buf_addc(b, '}');
	} else
		buf_adds(b, "null");
}

int
format_identity_key(const char *k)
{
	static const char *const	 keys[] = { "event_id", "occur_time",
	    "event_type", "event_class_id", "severity", "host_name", "host_id",
	    "private_ip", "public_ip" };
	size_t				 i;

	for (i = 0; k != NULL && i < HSS_ARRAY_LEN(keys); i++)
		if (strcmp(k, keys[i]) == 0)
			return 1;
	return 0;
}

size_t
format_json_members(struct buf *b, const struct hss_event *ev, int skip_hss,
    int identity_only, struct format_fit *fit)
{
	const cJSON	*c;
	size_t		 n = 0, start;
	int		 id;

	for (c = ev->json->child; c != NULL; c = c->next) {
		if (c->string == NULL ||
		    (skip_hss && strcmp(c->string, "_hss") == 0))
			continue;
		id = (identity_only || fit != NULL) &&
		    format_identity_key(c->string);
		if (identity_only && !id)
			continue;
		if (n++ > 0)
			buf_addc(b, ',');
		format_json_string(b, c->string);
		buf_addc(b, ':');
		if (id && cJSON_IsString(c)) {
			start = b->len + 1;
			format_json_string(b, c->valuestring);
			format_fit_add(fit, start, b->len - 1, FIT_ID,
			    FIT_JSON);
		} else
			format_json_value(b, c, 1, fit);
	}
	return n;
}

static void
json_member(struct buf *b, int *first, const char *key, const char *val)
{
	if (val == NULL)
		return;
	if (!*first)
		buf_addc(b, ',');
	*first = 0;
	format_json_string(b, key);
	buf_addc(b, ':');
	format_json_string(b, val);
}

void
format_json_hss(struct buf *b, const struct format_ctx *ctx,
    size_t original_size)
{
	int	 first = 1;

	buf_addc(b, '{');
	json_member(b, &first, "source", ctx->source_name);
	json_member(b, &first, "region", ctx->region);
	json_member(b, &first, "project_id", ctx->project_id);
	json_member(b, &first, "category", ctx->category);
	json_member(b, &first, "forwarder_version", PACKAGE_VERSION);
	if (original_size > 0)
		buf_printf(b, ",\"truncated\":true,\"original_size\":%zu",
		    original_size);
	buf_addc(b, '}');
}

/* Write one pair; returns 1 when its value came out empty. */
static int
pair_write(struct buf *b, const struct format_pair *p, char sep,
    const char *const *map, enum format_fit_text text, struct format_fit *fit)
{
	char	 num[24];
	size_t	 vstart;

	if (p->label_key != NULL) {
		buf_adds(b, p->label_key);
		buf_addc(b, '=');
		buf_adds(b, p->label);
		buf_addc(b, sep);
	}
	buf_adds(b, p->key);
	buf_addc(b, '=');
	vstart = b->len;
	switch (p->kind) {
	case PAIR_STR:
		format_escape(b, p->s, p->max, SIZE_MAX, map);
		format_fit_add(fit, vstart, b->len, p->level, text);
		break;
	case PAIR_NUM:
		snprintf(num, sizeof(num), "%lld", (long long)p->n);
		buf_adds(b, num);
		break;
	case PAIR_LIT:
		buf_adds(b, p->s);
		break;
	}
	return b->len == vstart;
}

void
format_pairs(struct buf *b, const struct format_pair *pairs, size_t n,
    char sep, const char *const *map, enum format_fit_text text,
    struct format_fit *fit)
{
	size_t	 i, start;
	int	 any = 0;

	/* (an empty value is never recorded: the fit ignores it) */
	for (i = 0; i < n; i++) {
		start = b->len;
		if (any)
			buf_addc(b, sep);
		if (pair_write(b, &pairs[i], sep, map, text, fit)) {
			buf_truncate(b, start);
			continue;
		}
		any = 1;
	}
}
