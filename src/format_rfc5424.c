/*
 * format_rfc5424.c: an event as an RFC 5424 syslog message.
 *
 *   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID
 *       [SD-ID event_id="..." ...][origin software="hss-forwarder"
 *       swVersion="..."][meta sequenceId="N"] BOM{the event as JSON}
 *
 * PRI = facility * 8 + severity (Critical 2, High 3, Medium 4, Low 5,
 * Security 6, anything else 5). TIMESTAMP is occur_time in UTC with
 * milliseconds. HOSTNAME (255), APP-NAME (48), PROCID, MSGID (32:
 * event_class_id, else event_type) hold printable US-ASCII only: every
 * other character becomes one '_', "-" when empty.
 *
 * SD params, in this order, each left out when absent: event_id event_type
 * event_name severity host_name host_id private_ip public_ip os_type
 * attack_phase attack_tag handle_status event_count container_name
 * image_name project_id region source. PARAM-VALUE escapes '"' '\' ']'
 * (RFC 5424 6.3.3); invalid UTF-8 becomes U+FFFD. A CR or LF in a value is
 * sent as is with octet-counting (and datagram) framing, which carries it
 * safely, and with lf framing as an escaped backslash and a letter (\\n,
 * \\r on the wire), which a receiver decodes to the two visible characters
 * \n / \r, so that no raw CR/LF reaches the wire. (A bare \n on the wire
 * is an invalid escape that strict parsers such as go-syslog reject.) MSG
 * is the whole event as compact JSON, which has no raw control character.
 *
 * Longer than max_message_size: (1) MSG becomes the stand-in object
 * {"event_id","occur_time","_hss":{...,"truncated":true,"original_size"}};
 * (2) if still too long, MSG is left out and the SD values are cut to the
 * longest common length that fits (on a character boundary, never inside an
 * escape); (3) if still too long, the message is the header and "-". From
 * (1) on the SD element carries truncated="true".
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "event.h"
#include "format.h"
#include "format_util.h"
#include "util.h"

#define BOM		"\xEF\xBB\xBF"
#define SD_ID_DEFAULT	"hss@32473"

enum msg_mode {
	MSG_NONE,
	MSG_FULL,
	MSG_STUB,
};

static const format_esc_map sd_map = {
	['"'] = "\\\"", ['\\'] = "\\\\", [']'] = "\\]",
};
static const format_esc_map sd_map_lf = {
	['"'] = "\\\"", ['\\'] = "\\\\", [']'] = "\\]",
	['\n'] = "\\\\n", ['\r'] = "\\\\r",
};

static const char *const *
value_map(const struct format_ctx *ctx)
{
	return ctx->out->framing == FRAMING_LF ? sd_map_lf : sd_map;
}

static void
sd_open(struct buf *b, const struct format_ctx *ctx)
{
	const char	*id = ctx->out->sd_id;

	buf_addc(b, '[');
	if (id == NULL || *id == '\0')
		id = SD_ID_DEFAULT;
	format_printascii(b, id, 32, "=]\" ");
}

static void
sd_str(struct buf *b, const char *name, const char *v, size_t cap,
    const char *const *map)
{
	if (v == NULL)
		return;
	buf_printf(b, " %s=\"", name);
	format_escape(b, v, cap, SIZE_MAX, map);
	buf_addc(b, '"');
}

static void
sd_int(struct buf *b, const char *name, int has, int64_t v)
{
	if (has)
		buf_printf(b, " %s=\"%lld\"", name, (long long)v);
}

/* [origin ...][meta ...] */
static void
sd_iana(struct buf *b, const struct format_ctx *ctx)
{
	buf_adds(b, "[origin software=\"" PACKAGE_NAME "\" swVersion=\""
	    PACKAGE_VERSION "\"]");
	if (ctx->sequence >= 1 && ctx->sequence <= FORMAT_SEQUENCE_MAX)
		buf_printf(b, "[meta sequenceId=\"%u\"]", ctx->sequence);
}

static void
build(struct buf *b, const struct hss_event *ev, const struct format_ctx *ctx,
    size_t cap, enum msg_mode mode, size_t orig)
{
	const char *const	*map = value_map(ctx);
	char			 tmp[32];

	format_syslog_header(b, ctx, format_syslog_severity(ev->severity),
	    ev->occur_time, format_event_class(ev, tmp, sizeof(tmp)));
	buf_addc(b, ' ');
	sd_open(b, ctx);
	sd_str(b, "event_id", ev->event_id, cap, map);
	sd_int(b, "event_type", ev->has_event_type, ev->event_type);
	sd_str(b, "event_name", ev->event_name, cap, map);
	sd_str(b, "severity", ev->severity, cap, map);
	sd_str(b, "host_name", ev->host_name, cap, map);
	sd_str(b, "host_id", ev->host_id, cap, map);
	sd_str(b, "private_ip", ev->private_ip, cap, map);
	sd_str(b, "public_ip", ev->public_ip, cap, map);
	sd_str(b, "os_type", ev->os_type, cap, map);
	sd_str(b, "attack_phase", ev->attack_phase, cap, map);
	sd_str(b, "attack_tag", ev->attack_tag, cap, map);
	sd_str(b, "handle_status", ev->handle_status, cap, map);
	sd_int(b, "event_count", ev->has_event_count, ev->event_count);
	sd_str(b, "container_name", ev->container_name, cap, map);
	sd_str(b, "image_name", ev->image_name, cap, map);
	sd_str(b, "project_id", ctx->project_id, cap, map);
	sd_str(b, "region", ctx->region, cap, map);
	sd_str(b, "source", ctx->source_name, cap, map);
	if (orig > 0)
		buf_adds(b, " truncated=\"true\"");
	buf_addc(b, ']');
	sd_iana(b, ctx);
	switch (mode) {
	case MSG_NONE:
		break;
	case MSG_FULL:
		buf_adds(b, " " BOM);
		format_json_value(b, ev->json, 0);
		break;
	case MSG_STUB:
		buf_adds(b, " " BOM);
		format_json_stub(b, ev, ctx, orig);
		break;
	}
}

static size_t
longest_value(const struct hss_event *ev, const struct format_ctx *ctx)
{
	const char	*v[] = { ev->event_id, ev->event_name, ev->severity,
	    ev->host_name, ev->host_id, ev->private_ip, ev->public_ip,
	    ev->os_type, ev->attack_phase, ev->attack_tag, ev->handle_status,
	    ev->container_name, ev->image_name, ctx->project_id, ctx->region,
	    ctx->source_name };
	size_t		 i, n, max = 0;

	for (i = 0; i < HSS_ARRAY_LEN(v); i++)
		if (v[i] != NULL && (n = strlen(v[i])) > max)
			max = n;
	/* invalid bytes count 3 once replaced */
	return max * 3;
}

int
format_rfc5424(struct buf *b, const struct hss_event *ev,
    const struct format_ctx *ctx, int *truncated)
{
	size_t	 start = b->len, max = ctx->out->max_message_size, orig;
	size_t	 lo, hi, mid;
	char	 tmp[32];

	build(b, ev, ctx, SIZE_MAX, MSG_FULL, 0);
	if (max == 0 || b->len - start <= max)
		return 0;
	*truncated = 1;
	orig = b->len - start;
	buf_truncate(b, start);
	build(b, ev, ctx, SIZE_MAX, MSG_STUB, orig);
	if (b->len - start <= max)
		return 0;
	/* The longest cap at which the values fit. */
	lo = 0;
	hi = longest_value(ev, ctx);
	buf_truncate(b, start);
	build(b, ev, ctx, 0, MSG_NONE, orig);
	if (b->len - start > max) {
		buf_truncate(b, start);
		format_syslog_header(b, ctx,
		    format_syslog_severity(ev->severity), ev->occur_time,
		    format_event_class(ev, tmp, sizeof(tmp)));
		buf_adds(b, " -");
		return 0;
	}
	while (lo < hi) {
		mid = lo + (hi - lo + 1) / 2;
		buf_truncate(b, start);
		build(b, ev, ctx, mid, MSG_NONE, orig);
		if (b->len - start <= max)
			lo = mid;
		else
			hi = mid - 1;
	}
	buf_truncate(b, start);
	build(b, ev, ctx, lo, MSG_NONE, orig);
	return 0;
}

int
format_rfc5424_heartbeat(struct buf *b, const struct format_ctx *ctx,
    int64_t now_ms, const struct kv *kv, size_t nkv)
{
	size_t	 i;

	format_syslog_header(b, ctx, 6, now_ms, "heartbeat");
	buf_addc(b, ' ');
	sd_open(b, ctx);
	for (i = 0; i < nkv; i++) {
		buf_addc(b, ' ');
		format_printascii(b, kv[i].key, 32, "=]\" ");
		buf_adds(b, "=\"");
		format_escape(b, kv[i].value != NULL ? kv[i].value : "",
		    SIZE_MAX, SIZE_MAX, value_map(ctx));
		buf_addc(b, '"');
	}
	sd_str(b, "source", ctx->source_name, SIZE_MAX, value_map(ctx));
	buf_addc(b, ']');
	sd_iana(b, ctx);
	return 0;
}

/*
 * A gap: severity error (3), MSGID "gap", the range and the reason in the
 * SD element, and the same as one line of text in MSG.
 */
int
format_rfc5424_gap(struct buf *b, const struct format_ctx *ctx,
    const struct format_gap *g)
{
	static const format_esc_map	 msg_map = { [0x00 ... 0x1f] = " ",
	    [0x7f] = " " };
	const char *const		*map = value_map(ctx);
	struct buf			 t;
	char				 ts[64];

	buf_init(&t);
	format_syslog_header(b, ctx, 3, g->now_ms, FORMAT_GAP_CLASS);
	buf_addc(b, ' ');
	sd_open(b, ctx);
	sd_str(b, "source", ctx->source_name, SIZE_MAX, map);
	sd_str(b, "region", ctx->region, SIZE_MAX, map);
	sd_str(b, "project_id", ctx->project_id, SIZE_MAX, map);
	sd_str(b, "category", ctx->category, SIZE_MAX, map);
	time_format_iso(g->begin, ts, sizeof(ts));
	sd_str(b, "gap_begin", ts, SIZE_MAX, map);
	time_format_iso(g->end, ts, sizeof(ts));
	sd_str(b, "gap_end", ts, SIZE_MAX, map);
	sd_int(b, "gap_begin_ms", 1, g->begin);
	sd_int(b, "gap_end_ms", 1, g->end);
	sd_str(b, "reason", g->reason != NULL ? g->reason : "unknown",
	    SIZE_MAX, map);
	format_gap_replay(&t, g);
	sd_str(b, "replay", t.data, SIZE_MAX, map);
	buf_addc(b, ']');
	sd_iana(b, ctx);
	buf_reset(&t);
	format_gap_text(&t, g);
	buf_adds(b, " " BOM);
	format_escape(b, t.data, SIZE_MAX, SIZE_MAX, msg_map);
	buf_free(&t);
	return 0;
}
