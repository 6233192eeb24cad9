/*
 * An API page (the body of a ListHostEvents answer) through the page
 * parser, then every valid event through every formatter in several
 * settings. Checks the formatters' guarantees (format.h): valid UTF-8, no
 * raw CR or LF where the format or framing forbids them, the size limit,
 * and JSON that parses.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "event.h"
#include "format.h"
#include "util.h"

#include "fuzz.h"

#define CHECK(cond, what) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_page: %s (format %d, max %zu, "	\
		    "framing %d, header %d): %.*s\n", what, oc.format,	\
		    oc.max_message_size, oc.framing, oc.syslog_header,	\
		    (int)(b.len > 2000 ? 2000 : b.len), b.data);	\
		abort();						\
	}								\
} while (0)

/* Length of the valid UTF-8 sequence at p (RFC 3629), 0 when invalid. */
static size_t
utf8_len(const unsigned char *p, size_t len)
{
	unsigned char	 lo = 0x80, hi = 0xbf;
	size_t		 n, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		lo = p[0] == 0xe0 ? 0xa0 : 0x80;
		hi = p[0] == 0xed ? 0x9f : 0xbf;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		lo = p[0] == 0xf0 ? 0x90 : 0x80;
		hi = p[0] == 0xf4 ? 0x8f : 0xbf;
	} else
		return 0;
	if (len < n || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

static int
valid_utf8(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i, n;

	for (i = 0; i < len; i += n)
		if ((n = utf8_len(p + i, len - i)) == 0)
			return 0;
	return 1;
}

static void
check_one(const void *ev, struct output_config *oc_in)
{
	struct output_config	 oc = *oc_in;
	struct format_ctx	 ctx;
	struct buf		 b;
	cJSON			*j;
	int			 truncated, rc;

	memset(&ctx, 0, sizeof(ctx));
	ctx.out = &oc;
	ctx.source_name = "prod-ap-southeast-1-host";
	ctx.region = "ap-southeast-1";
	ctx.project_id = "0123456789abcdef0123456789abcdef";
	ctx.category = "host";
	ctx.hostname = "collector01";
	ctx.pid = 1234;
	ctx.sequence = 7;
	buf_init(&b);
	rc = format_event(&b, ev, &ctx, &truncated);
	CHECK(rc == 0, "format_event failed");
	CHECK(b.len > 0, "empty message");
	CHECK(valid_utf8(b.data, b.len), "invalid UTF-8");
	CHECK(memchr(b.data, '\0', b.len) == NULL, "a NUL byte");
	if (oc.max_message_size > 0)
		CHECK(b.len <= oc.max_message_size, "longer than the maximum");
	if (oc.format != FORMAT_RFC5424 || oc.framing == FRAMING_LF)
		CHECK(memchr(b.data, '\n', b.len) == NULL &&
		    memchr(b.data, '\r', b.len) == NULL, "a raw CR or LF");
	if (oc.format == FORMAT_JSON) {
		j = cJSON_ParseWithLength(b.data, b.len);
		CHECK(j != NULL && cJSON_IsObject(j), "not a JSON object");
		cJSON_Delete(j);
	}
	buf_free(&b);
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
	static const size_t	 maxes[] = { 65536, 480 };
	static const char	 delims[] = { '^', '\t' };
	struct output_config	 oc;
	struct event_page	 page;
	struct buf		 err;
	size_t			 i, m, k;

	memset(&page, 0, sizeof(page));
	buf_init(&err);
	if (event_page_parse((const char *)data, size, &page, &err) != 0)
		goto done;
	memset(&oc, 0, sizeof(oc));
	oc.facility = 20;
	oc.hostname = "collector01";
	oc.app_name = "hss-forwarder";
	oc.sd_id = "hss@32473";
	oc.leef_delimiter = '^';
	for (i = 0; i < page.nevents; i++) {
		for (m = 0; m < HSS_ARRAY_LEN(maxes); m++) {
			oc.max_message_size = maxes[m];
			oc.syslog_header = 0;
			oc.format = FORMAT_RFC5424;
			oc.framing = FRAMING_OCTET_COUNTING;
			check_one(page.events[i], &oc);
			oc.framing = FRAMING_LF;
			check_one(page.events[i], &oc);
			oc.format = FORMAT_JSON;
			check_one(page.events[i], &oc);
			for (k = 0; k < 2; k++) {
				oc.syslog_header = (int)k;
				oc.format = FORMAT_CEF;
				check_one(page.events[i], &oc);
				oc.format = FORMAT_LEEF;
				oc.leef_delimiter = delims[k];
				check_one(page.events[i], &oc);
			}
		}
	}
done:
	event_page_clear(&page);
	buf_free(&err);
	return 0;
}
