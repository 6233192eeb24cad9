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
 */
#include "autoconf.h"

#include <string.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "event.h"
#include "format.h"
#include "format_util.h"
#include "util.h"

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
	format_json_stub(b, ev, ctx, orig);
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

int
format_json_heartbeat(struct buf *b, const struct format_ctx *ctx,
    int64_t now_ms, const struct kv *kv, size_t nkv)
{
	char	 ts[64];
	size_t	 i;

	time_format_iso(now_ms, ts, sizeof(ts));
	buf_printf(b, "{\"_hss\":{\"type\":\"heartbeat\",\"time\":\"%s\","
	    "\"time_ms\":%lld", ts, (long long)now_ms);
	if (ctx->hostname != NULL) {
		buf_adds(b, ",\"hostname\":");
		format_json_string(b, ctx->hostname);
	}
	buf_adds(b, ",\"forwarder_version\":\"" PACKAGE_VERSION "\"");
	if (ctx->sequence > 0)
		buf_printf(b, ",\"sequence\":%u", ctx->sequence);
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
