/*
 * format_json.c: an event as one line of JSON: the object the API sent,
 * every member in its order with its value (see format.c for how strings and
 * numbers are written), followed by
 *   "_hss":{"source","region","project_id","category","forwarder_version"}
 * (members whose value is unknown are left out). A top-level "_hss" member
 * of the event itself is left out, so it can never pass for ours.
 *
 * Longer than max_message_size: the message is the stand-in object
 *   {"event_id":..,"occur_time":..,"_hss":{...,"truncated":true,
 *    "original_size":N}}
 * which itself always fits (max_message_size is at least 480): when it
 * does not (an event_id of control characters is six times longer
 * written), the id is cut on a character boundary and
 * "event_id_truncated":true follows it; when even the _hss members leave
 * no room, _hss holds only "truncated" and "original_size".
 *
 * A gap (see format.h) is one line of its own:
 *   {"_hss":{"type":"gap","time","time_ms","source","region","project_id",
 *    "category","begin","begin_ms","end","end_ms","reason","replay",
 *    "hostname","forwarder_version","sequence"}}
 */
#include "autoconf.h"

#include <string.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "event.h"
#include "format.h"
#include "format_util.h"
#include "util.h"

/*
 * The length of the longest prefix of the JSON string text s (escaped, no
 * quotes) within max bytes that ends between two characters: never inside
 * an escape (\uXXXX, \n, ...) or a UTF-8 sequence.
 */
static size_t
json_cut(const char *s, size_t len, size_t max)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0, n;

	while (i < len) {
		if (p[i] == '\\')
			n = p[i + 1] == 'u' ? 6 : 2;
		else if (p[i] < 0x80)
			n = 1;
		else if ((n = format_utf8_len(p + i)) == 0)
			n = 1;
		if (i + n > max)
			break;
		i += n;
	}
	return i;
}

/* The stand-in, its event_id cut to fit max (see the top). */
static void
json_stub(struct buf *b, const struct hss_event *ev,
    const struct format_ctx *ctx, size_t orig, size_t max)
{
	struct buf	 id;
	size_t		 start = b->len, fixed, keep;
	int		 minimal;

	format_json_stub(b, ev, ctx, orig);
	if (max == 0 || b->len - start <= max)
		return;
	buf_init(&id);
	format_json_string(&id, ev->event_id);
	/* Everything but the id's text, with the marker. */
	fixed = b->len - start - (id.len - 2) +
	    strlen(",\"event_id_truncated\":true");
	minimal = fixed >= max;
	buf_truncate(b, start);
	if (minimal) {
		/* {"event_id":"","event_id_truncated":true,"occur_time":N,
		 * "_hss":{"truncated":true,"original_size":N}}: under 200 */
		buf_printf(b, ",\"occur_time\":%lld,\"_hss\":{\"truncated\":true,"
		    "\"original_size\":%zu}}", (long long)ev->occur_time, orig);
		fixed = b->len - start + strlen("{\"event_id\":\"\","
		    "\"event_id_truncated\":true");
		buf_truncate(b, start);
	}
	keep = fixed < max ? json_cut(id.data + 1, id.len - 2, max - fixed) :
	    0;
	buf_adds(b, "{\"event_id\":\"");
	buf_add(b, id.data + 1, keep);
	buf_printf(b, "\",\"event_id_truncated\":true,\"occur_time\":%lld,"
	    "\"_hss\":", (long long)ev->occur_time);
	if (minimal)
		buf_printf(b, "{\"truncated\":true,\"original_size\":%zu}",
		    orig);
	else
		format_json_hss(b, ctx, orig);
	buf_addc(b, '}');
	buf_free(&id);
}

int
format_json(struct buf *b, const struct hss_event *ev,
    const struct format_ctx *ctx, int *truncated)
{
	const cJSON	*c;
	size_t		 start = b->len, max = ctx->out->max_message_size;
	size_t		 orig;

	buf_addc(b, '{');
	for (c = ev->json->child; c != NULL; c = c->next) {
		if (c->string == NULL || strcmp(c->string, "_hss") == 0)
			continue;
		format_json_string(b, c->string);
		buf_addc(b, ':');
		format_json_value(b, c, 1);
		buf_addc(b, ',');
	}
	buf_adds(b, "\"_hss\":");
	format_json_hss(b, ctx, 0);
	buf_addc(b, '}');
	if (max == 0 || b->len - start <= max)
		return 0;
	orig = b->len - start;
	*truncated = 1;
	buf_truncate(b, start);
	json_stub(b, ev, ctx, orig, max);
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
