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
 * Longer than max_message_size (format.h): the SD element gains
 * truncated="true" original_size="N" (N: bytes of the whole message) and
 * MSG, still the event as JSON, gains the member
 * "_hss":{"truncated":true,"original_size":N} (the event's own top-level
 * "_hss", if any, is then left out). The longest values are cut first, to
 * one common length, each ending with U+2026 (format_fit.c): SD values and
 * every string value inside MSG, except the identity (SD event_id,
 * severity, host_name, host_id, private_ip, public_ip, project_id, region,
 * source; MSG members format_identity_key() names). When that is not
 * enough (the structure of a large event alone is too long): MSG keeps
 * only the identity members (and "_hss"); then MSG, [origin] and the SD
 * params other than the identity are left out and the identity values are
 * cut as well; then the message is the header and
 * [SD-ID truncated="true" original_size="N"].
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
	MSG_FULL,
	MSG_STUB,	/* MSG: the identity members only */
	MSG_NONE,	/* the identity SD params, [meta], no MSG */
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
sd_str(struct buf *b, const char *name, const char *v, const char *const *map,
    struct format_fit *fit, enum format_fit_level lv)
{
	size_t	 start;

	if (v == NULL)
		return;
	buf_addc(b, ' ');
	buf_adds(b, name);
	buf_adds(b, "=\"");
	start = b->len;
	format_escape(b, v, SIZE_MAX, SIZE_MAX, map);
	format_fit_add(fit, start, b->len, lv, FIT_BS);
	buf_addc(b, '"');
}

static void
sd_int(struct buf *b, const char *name, int has, int64_t v)
{
	if (has)
		buf_printf(b, " %s=\"%lld\"", name, (long long)v);
}

/* [origin ...][meta ...] (without origin: [meta ...] only) */
static void
sd_iana(struct buf *b, const struct format_ctx *ctx, int origin)
{
	if (origin)
		buf_adds(b, "[origin software=\"" PACKAGE_NAME "\" "
		    "swVersion=\"" PACKAGE_VERSION "\"]");
	if (ctx->sequence >= 1 && ctx->sequence <= FORMAT_SEQUENCE_MAX)
		buf_printf(b, "[meta sequenceId=\"%u\"]", ctx->sequence);
}

/* ,"_hss":{"truncated":true,"original_size":N} closing MSG */
static void
msg_marker(struct buf *b, size_t n, size_t orig)
{
	char	 num[24];

	snprintf(num, sizeof(num), "%zu", orig);
	if (n > 0)
		buf_addc(b, ',');
	buf_adds(b, "\"_hss\":{\"truncated\":true,\"original_size\":");
	buf_adds(b, num);
	buf_adds(b, "}}");
}

/* truncated="true" original_size="N" */
static void
sd_marker(struct buf *b, size_t orig)
{
	char	 num[24];

	snprintf(num, sizeof(num), "%zu", orig);
	buf_adds(b, " truncated=\"true\" original_size=\"");
	buf_adds(b, num);
	buf_addc(b, '"');
}

/*
 * With orig > 0 (truncated): the markers, and the values recorded in fit;
 * MSG_NONE leaves out the SD params of level FIT_CUT.
 */
static void
build(struct buf *b, const struct hss_event *ev, const struct format_ctx *ctx,
    int mode, size_t orig, struct format_fit *fit)
{
	const char *const	*map = value_map(ctx);
	char			 tmp[32];
	int			 all = mode != MSG_NONE;

	format_syslog_header(b, ctx, format_syslog_severity(ev->severity),
	    ev->occur_time, format_event_class(ev, tmp, sizeof(tmp)));
	buf_addc(b, ' ');
	sd_open(b, ctx);
	sd_str(b, "event_id", ev->event_id, map, fit, FIT_ID);
	sd_int(b, "event_type", ev->has_event_type, ev->event_type);
	if (all)
		sd_str(b, "event_name", ev->event_name, map, fit, FIT_CUT);
	sd_str(b, "severity", ev->severity, map, fit, FIT_ID);
	sd_str(b, "host_name", ev->host_name, map, fit, FIT_ID);
	sd_str(b, "host_id", ev->host_id, map, fit, FIT_ID);
	sd_str(b, "private_ip", ev->private_ip, map, fit, FIT_ID);
	sd_str(b, "public_ip", ev->public_ip, map, fit, FIT_ID);
	if (all) {
		sd_str(b, "os_type", ev->os_type, map, fit, FIT_CUT);
		sd_str(b, "attack_phase", ev->attack_phase, map, fit,
		    FIT_CUT);
		sd_str(b, "attack_tag", ev->attack_tag, map, fit, FIT_CUT);
		sd_str(b, "handle_status", ev->handle_status, map, fit,
		    FIT_CUT);
		sd_int(b, "event_count", ev->has_event_count,
		    ev->event_count);
		sd_str(b, "container_name", ev->container_name, map, fit,
		    FIT_CUT);
		sd_str(b, "image_name", ev->image_name, map, fit, FIT_CUT);
	}
	sd_str(b, "project_id", ctx->project_id, map, fit, FIT_ID);
	sd_str(b, "region", ctx->region, map, fit, FIT_ID);
	sd_str(b, "source", ctx->source_name, map, fit, FIT_ID);
	if (orig > 0)
		sd_marker(b, orig);
	buf_addc(b, ']');
	sd_iana(b, ctx, all);
	if (mode == MSG_NONE)
		return;
	buf_adds(b, " " BOM);
	if (orig == 0) {
		format_json_value(b, ev->json, 0, NULL);
		return;
	}
	buf_addc(b, '{');
	msg_marker(b, format_json_members(b, ev, 1, mode == MSG_STUB, fit),
	    orig);
}

/* The shapes, in the order of enum msg_mode: MSG keeps valid JSON. */
static const enum format_fit_level shape_cuts[] = { FIT_CUT, FIT_CUT,
    FIT_ID };

int
format_rfc5424(struct buf *b, const struct hss_event *ev,
    const struct format_ctx *ctx, int *truncated)
{
	size_t	 start = b->len, orig;
	size_t	 max = ctx->out->max_message_size;
	char	 tmp[32];

	if (format_fit_shapes(b, ev, ctx, build, shape_cuts,
	    HSS_ARRAY_LEN(shape_cuts), truncated, &orig) == 0)
		return 0;
	/* The header and the marker: under 460 bytes, max is at least 480. */
	buf_truncate(b, start);
	format_syslog_header(b, ctx, format_syslog_severity(ev->severity),
	    ev->occur_time, format_event_class(ev, tmp, sizeof(tmp)));
	buf_addc(b, ' ');
	sd_open(b, ctx);
	sd_marker(b, orig);
	buf_addc(b, ']');
	if (b->len - start > max) {	/* (max below 480) */
		buf_truncate(b, start);
		format_syslog_header(b, ctx,
		    format_syslog_severity(ev->severity), ev->occur_time,
		    format_event_class(ev, tmp, sizeof(tmp)));
		buf_adds(b, " -");
	}
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
	sd_str(b, "source", ctx->source_name, value_map(ctx), NULL, FIT_CUT);
	buf_addc(b, ']');
	sd_iana(b, ctx, 1);
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
	sd_str(b, "source", ctx->source_name, map, NULL, FIT_CUT);
	sd_str(b, "region", ctx->region, map, NULL, FIT_CUT);
	sd_str(b, "project_id", ctx->project_id, map, NULL, FIT_CUT);
	sd_str(b, "category", ctx->category, map, NULL, FIT_CUT);
	time_format_iso(g->begin, ts, sizeof(ts));
	sd_str(b, "gap_begin", ts, map, NULL, FIT_CUT);
	time_format_iso(g->end, ts, sizeof(ts));
	sd_str(b, "gap_end", ts, map, NULL, FIT_CUT);
	sd_int(b, "gap_begin_ms", 1, g->begin);
	sd_int(b, "gap_end_ms", 1, g->end);
	sd_str(b, "reason", g->reason != NULL ? g->reason : "unknown", map,
	    NULL, FIT_CUT);
	format_gap_replay(&t, g);
	sd_str(b, "replay", t.data, map, NULL, FIT_CUT);
	buf_addc(b, ']');
	sd_iana(b, ctx, 1);
	buf_reset(&t);
	format_gap_text(&t, g);
	buf_adds(b, " " BOM);
	format_escape(b, t.data, SIZE_MAX, SIZE_MAX, msg_map);
	buf_free(&t);
	return 0;
}
