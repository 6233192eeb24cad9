/*
 * An API page (the body of a ListHostEvents answer) through the page
 * parser, then every valid event through every formatter in several
 * settings. Checks the formatters' guarantees (format.h): valid UTF-8, no
 * raw CR or LF where the format or framing forbids them, the size limit,
 * and JSON that parses.
 *
 * The page is read as the daemon reads it, an event at a time
 * (event_page_open/next), as it arrives in pieces of three sizes
 * (event_stream_next), and also as one tree (event_page_parse_whole): all
 * must agree, event for event and rejection for rejection, and fail
 * together.
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

static void
check_formats(const struct hss_event *ev)
{
	static const size_t	 maxes[] = { 65536, 480 };
	static const char	 delims[] = { '^', '\t' };
	struct output_config	 oc;
	size_t			 m, k;

	memset(&oc, 0, sizeof(oc));
	oc.facility = 20;
	oc.hostname = "collector01";
	oc.app_name = "hss-forwarder";
	oc.sd_id = "hss@32473";
	oc.leef_delimiter = '^';
	for (m = 0; m < HSS_ARRAY_LEN(maxes); m++) {
		oc.max_message_size = maxes[m];
		oc.syslog_header = 0;
		oc.format = FORMAT_RFC5424;
		oc.framing = FRAMING_OCTET_COUNTING;
		check_one(ev, &oc);
		oc.framing = FRAMING_LF;
		check_one(ev, &oc);
		oc.format = FORMAT_JSON;
		check_one(ev, &oc);
		for (k = 0; k < 2; k++) {
			oc.syslog_header = (int)k;
			oc.format = FORMAT_CEF;
			check_one(ev, &oc);
			oc.format = FORMAT_LEEF;
			oc.leef_delimiter = delims[k];
			check_one(ev, &oc);
		}
	}
}

#define AGREE(cond, what) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_page: read whole and an event at "	\
		    "a time disagree: %s (element %zu)\n", what, item);	\
		abort();						\
	}								\
} while (0)

/*
 * The page as the daemon reads it while it arrives (event_stream_next), in
 * pieces of chunk bytes: what it reads must be what the whole tree holds,
 * in order, and it fails only when the whole fails. ES_WHOLE is the
 * daemon's cue to read the body whole, as above.
 */
static void
check_stream(const uint8_t *data, size_t size, size_t chunk,
    const struct event_page *whole, int wrc)
{
	struct event_stream	 es;
	struct hss_event	*ev;
	struct buf		 why;
	const char		*text = (const char *)data;
	size_t			 have = 0, from = 0, used, item = 0, nev = 0;
	size_t			 nerr = 0, calls = 0;
	int			 rc, fin;

	event_stream_init(&es);
	buf_init(&why);
	for (;;) {
		fin = have == size;
		rc = event_stream_next(&es, text + from, have - from, fin,
		    &used, &ev, &why);
		from += used;
		AGREE(from <= have && ++calls < 4 * size + 64,
		    "the stream consumes what it has, and ends");
		if (rc == ES_MORE) {
			AGREE(!fin, "more after the end");
			have = size - have < chunk ? size : have + chunk;
			continue;
		}
		if (rc == ES_WHOLE) {
			AGREE(item == 0 && es.nitems == 0, "whole, late");
			break;
		}
		if (rc == ES_HEAD) {
			AGREE(wrc == -1 || es.total_num == whole->total_num,
			    "the stream's total_num");
			continue;
		}
		if (rc == ES_FAILED) {
			AGREE(wrc == -1, "the stream fails, the whole parses");
			break;
		}
		if (rc == ES_DONE) {
			AGREE(wrc == 0 && nev == whole->nevents &&
			    nerr == whole->nerrors && es.nitems == item,
			    "the stream's counts");
			break;
		}
		if (rc == ES_EVENT) {
			AGREE(wrc == -1 || (nev < whole->nevents &&
			    strcmp(ev->event_id,
			    whole->events[nev]->event_id) == 0 &&
			    ev->occur_time == whole->events[nev]->occur_time),
			    "the stream's event");
			nev++;
			hss_event_free(ev);
		} else {
			AGREE(rc == ES_SKIP && (wrc == -1 ||
			    (nerr < whole->nerrors &&
			    strcmp(why.data, whole->errors[nerr]) == 0)),
			    "the stream's rejected element");
			nerr++;
		}
		buf_reset(&why);
		item++;
	}
	event_stream_clear(&es);
	buf_free(&why);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct event_page	 whole, page;
	struct hss_event	*ev;
	struct buf		 err, why;
	size_t			 item = 0, nev = 0, nerr = 0;
	int			 rc, wrc, opened;

	memset(&whole, 0, sizeof(whole));
	memset(&page, 0, sizeof(page));
	buf_init(&err);
	buf_init(&why);
	wrc = event_page_parse_whole((const char *)data, size, &whole, &err);
	buf_reset(&err);
	check_stream(data, size, 1, &whole, wrc);
	check_stream(data, size, 61, &whole, wrc);
	check_stream(data, size, 4096, &whole, wrc);
	opened = event_page_open((const char *)data, size, &page, &err) == 0;
	AGREE(opened || wrc == -1, "the open fails, the whole parses");
	if (!opened)
		goto done;
	AGREE(wrc == -1 || page.total_num == whole.total_num, "total_num");
	while ((rc = event_page_next(&page, &ev, &why)) != 0) {
		if (rc == -1) {
			AGREE(wrc == -1, "an element fails, the whole parses");
			break;
		}
		/* when the whole fails, a later element must fail */
		if (rc == 1) {
			AGREE(wrc == -1 || (nev < whole.nevents &&
			    strcmp(ev->event_id,
			    whole.events[nev]->event_id) == 0 &&
			    ev->occur_time == whole.events[nev]->occur_time),
			    "an event");
			nev++;
			check_formats(ev);
			hss_event_free(ev);
		} else {
			AGREE(rc == 2 && (wrc == -1 || (nerr < whole.nerrors &&
			    strcmp(why.data, whole.errors[nerr]) == 0)),
			    "a rejected element");
			nerr++;
		}
		buf_reset(&why);
		item++;
	}
	if (rc == 0)
		AGREE(wrc == 0 && nev == whole.nevents &&
		    nerr == whole.nerrors && page.nitems == item,
		    "the counts");
done:
	event_page_clear(&whole);
	event_page_clear(&page);
	buf_free(&err);
	buf_free(&why);
	return 0;
}
