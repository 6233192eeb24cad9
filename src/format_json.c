/*
 * format_json.c: an event as one line of JSON: the object the API sent,
 * every member in its order with its value (see format.c for how strings and
 * numbers are written), followed by
 *   "_hss":{"source","region","project_id","category","forwarder_version"}
 * (members whose value is unknown are left out). A top-level "_hss" member
 * of the event itself is left out, so it can never pass for ours.
 *
 * Longer than max_message_size (format.h): "_hss" gains
 * "truncated":true,"original_size":N (N: bytes of the whole message) and
 * the longest string values are cut first, to one common length, each
 * ending with U+2026 (format_fit.c), except those of the identity members
 * (format_identity_key(): event_id, occur_time, event_type,
 * event_class_id, severity, host_name, host_id, private_ip, public_ip).
 * When that is not enough, only the identity members are kept (and
 * "_hss") and their values may be cut as well; then the object is
 *   {"event_id":..,"occur_time":..,"_hss":{"truncated":true,
 *    "original_size":N}}
 * with event_id cut as needed, which always fits (max_message_size is at
 * least 480).
 *
 * A gap (see format.h) is one line of its own:
 *   {"_hss":{"type":"gap","time","time_ms","source","region","project_id",
 *    "category","begin","begin_ms","end","end_ms","reason","replay",
 *    "hostname","forwarder_version","sequence"}}
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "event.h"
#include "format.h"
#include "format_util.h"
#include "util.h"

enum json_mode {
	JSON_FULL,
	JSON_IDENTITY,		/* the identity members only */
	JSON_MIN,		/* event_id, occur_time */
};

/* With orig > 0 (truncated): the marker, and the values recorded in fit. */
static void
build(struct buf *b, const struct hss_event *ev,
    const struct format_ctx *ctx, int mode, size_t orig,
    struct format_fit *fit)
{
	char	 num[48];
	size_t	 start;

	buf_addc(b, '{');
	if (mode == JSON_MIN) {
		buf_adds(b, "\"event_id\":");
		start = b->len + 1;
		format_json_string(b, ev->event_id);
		format_fit_add(fit, start, b->len - 1, FIT_ID, FIT_JSON);
		snprintf(num, sizeof(num), ",\"occur_time\":%lld,",
		    (long long)ev->occur_time);
		buf_adds(b, num);
		snprintf(num, sizeof(num), "%zu", orig);
		buf_adds(b, "\"_hss\":{\"truncated\":true,\"original_size\":");
		buf_adds(b, num);
		buf_adds(b, "}}");
		return;
	}
	if (format_json_members(b, ev, 1, mode == JSON_IDENTITY, fit) > 0)
		buf_addc(b, ',');
	buf_adds(b, "\"_hss\":");
	format_json_hss(b, ctx, orig);
	buf_addc(b, '}');
}

/* The shapes, in the order of enum json_mode. */
static const enum format_fit_level shape_cuts[] = { FIT_CUT, FIT_ID, FIT_ID };

int
format_json(struct buf *b, const struct hss_event *ev,
    const struct format_ctx *ctx, int *truncated)
{
	size_t	 orig;

	format_fit_shapes(b, ev, ctx, build, shape_cuts,
	    HSS_ARRAY_LEN(shape_cuts), truncated, &orig);
	return 0;
}

/* A value that is a plain decimal integer is written as a number. */
static void
counter_value(struct buf *b, const char *v)
{
	const char	*p = v;

	if (*p == '-')
		p++;
	if (*p != '\0' && strspn(p, "0123456789") == strlen(p) &&
	    strlen(p) <= 15 && (p[0] != '0' || p[1] == '\0'))
		buf_adds(b, v);
	else
		format_json_string(b, v);
}

/* ,"key":"value" when value is set. */
static void
opt_member(struct buf *b, const char *key, const char *value)
{
	if (value == NULL)
		return;
	buf_printf(b, ",\"%s\":", key);
	format_json_string(b, value);
}

/* What closes every notice of the forwarder's own (heartbeat, gap). */
static void
notice_trailer(struct buf *b, const struct format_ctx *ctx)
{
	opt_member(b, "hostname", ctx->hostname);
	buf_adds(b, ",\"forwarder_version\":\"" PACKAGE_VERSION "\"");
	if (ctx->sequence > 0)
		buf_printf(b, ",\"sequence\":%u", ctx->sequence);
}

int
format_json_heartbeat(struct buf *b, const struct format_ctx *ctx,
    int64_t now_ms, const struct kv *kv, size_t nkv)
{
	char	 ts[64];
	size_t	 i;

	time_format_iso(now_ms, ts, sizeof(ts));
	buf_printf(b, "{\"_hss\":{\"type\":\"heartbeat\",\"time\":\"%s\","
	    "\"time_ms\":%lld", ts, (long long)now_ms);
	notice_trailer(b, ctx);
	buf_adds(b, ",\"counters\":{");
	for (i = 0; i < nkv; i++) {
		if (i > 0)
			buf_addc(b, ',');
		format_json_string(b, kv[i].key);
		buf_addc(b, ':');
		counter_value(b, kv[i].value != NULL ? kv[i].value : "");
	}
	buf_adds(b, "}}}");
	return 0;
}

int
format_json_gap(struct buf *b, const struct format_ctx *ctx,
    const struct format_gap *g)
{
	struct buf	 t;
	char		 ts[64];

	buf_init(&t);
	time_format_iso(g->now_ms, ts, sizeof(ts));
	buf_printf(b, "{\"_hss\":{\"type\":\"" FORMAT_GAP_CLASS "\","
	    "\"time\":\"%s\",\"time_ms\":%lld", ts, (long long)g->now_ms);
	opt_member(b, "source", ctx->source_name);
	opt_member(b, "region", ctx->region);
	opt_member(b, "project_id", ctx->project_id);
	opt_member(b, "category", ctx->category);
	time_format_iso(g->begin, ts, sizeof(ts));
	buf_printf(b, ",\"begin\":\"%s\",\"begin_ms\":%lld", ts,
	    (long long)g->begin);
	time_format_iso(g->end, ts, sizeof(ts));
	buf_printf(b, ",\"end\":\"%s\",\"end_ms\":%lld", ts, (long long)g->end);
	buf_adds(b, ",\"reason\":");
	format_json_string(b, g->reason != NULL ? g->reason : "unknown");
	format_gap_replay(&t, g);
	buf_adds(b, ",\"replay\":");
	format_json_string(b, t.data);
	notice_trailer(b, ctx);
	buf_adds(b, "}}");
	buf_free(&t);
	return 0;
}
