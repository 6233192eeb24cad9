/*
 * format_leef.c: an event as IBM QRadar LEEF 2.0 (reference/syslog-siem.md
 * "LEEF 2.0").
 *
 *   LEEF:2.0|Huawei|HSS|v5|<EventID>|<delimiter>|key=value<delim>...
 *
 * EventID is event_type (else event_class_id, else "unknown"): with cat
 * (event_class_id, else event_type) it is what QRadar maps to its QID, and
 * both are stable per kind of event. The delimiter field is the configured
 * delimiter itself when it is a printable character other than '|' and
 * '\' (the default '^'), else its hex form xHH.
 *
 * LEEF has no escaping, so the delimiter, CR, LF and every other control
 * character (C0, DEL) are removed from every value (and '|' as well from
 * header fields); invalid UTF-8 becomes U+FFFD. A value that comes out
 * empty leaves its pair out.
 *
 * Attributes, in this order, each left out when absent:
 *   devTime (occur_time, yyyy-MM-dd'T'HH:mm:ss.SSSX), devTimeFormat, cat,
 *   sev (Critical 10, High 8, Medium 5, Low 3, Security 1, else 3),
 *   src (first user's login_ip, when an IP address), dst (private_ip, when
 *   an IP address), dstPostNAT (public_ip, when an IP address), usrName
 *   (first user's user_name, else first process's process_username),
 *   identHostName (host_name), then the custom keys event_id event_type
 *   event_name event_class_id severity host_id private_ip public_ip os_type
 *   attack_phase attack_tag handle_status handle_method event_count
 *   container_name image_name process_name process_path process_pid
 *   process_cmdline process_hash file_path file_hash file_size project_id
 *   region source sequence_id.
 * Longer than max_message_size (format.h): the attributes end with
 * hss_truncated=true and hss_original_size=N (N: bytes of the whole
 * message; custom keys, none of QRadar's) and the longest values are cut
 * first, to one common length, each ending with U+2026 (format_fit.c),
 * except the identity (EventID, cat, identHostName, event_id,
 * event_class_id, severity, host_id, private_ip, public_ip, project_id,
 * region, source; numbers, addresses and times are never cut). When that
 * is not enough, only devTime, devTimeFormat, cat, sev, the addresses,
 * identHostName, event_id, event_type, event_class_id, severity, host_id,
 * private_ip, public_ip, project_id, region, source, sequence_id and the
 * marker are kept, and the identity values may be cut as well; then only
 * the marker.
 * With syslog_header, an RFC 5424 header and "-" (no SD) come first.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "event.h"
#include "format.h"
#include "format_util.h"
#include "util.h"

#define LEEF_NPAIRS	48
#define LEEF_TIME_FORMAT "yyyy-MM-dd'T'HH:mm:ss.SSSX"
#define LEEF_VALUE_MAX	((size_t)65536)

static const format_esc_map base_map = {
	[0x00 ... 0x1f] = "", [0x7f] = "",
};

/* The value map for this delimiter. */
static void
leef_map(format_esc_map map, char delim, int header)
{
	memcpy(map, base_map, sizeof(base_map));
	if ((unsigned char)delim < 0x80)
		map[(unsigned char)delim] = "";
	if (header)
		map['|'] = "";
}

static char
leef_delim(const struct format_ctx *ctx)
{
	return ctx->out->leef_delimiter != '\0' ? ctx->out->leef_delimiter :
	    '^';
}

static void
leef_header(struct buf *b, const char *id, char delim, struct format_fit *fit)
{
	format_esc_map	 map;
	size_t		 start;

	leef_map(map, delim, 1);
	buf_adds(b, "LEEF:2.0|" FORMAT_VENDOR "|" FORMAT_PRODUCT "|"
	    FORMAT_API_VERSION "|");
	start = b->len;
	format_escape(b, id, 255, SIZE_MAX, map);
	format_fit_add(fit, start, b->len, FIT_ID, FIT_RAW);
	if (delim > 0x20 && delim < 0x7f && delim != '|' && delim != '\\')
		buf_printf(b, "|%c|", delim);
	else
		buf_printf(b, "|x%02X|", (unsigned char)delim);
}

static void
add(struct format_pair *p, size_t *n, const char *key,
    enum format_pair_kind kind, enum format_fit_level lv, const char *s,
    int has, int64_t v)
{
	if (*n >= LEEF_NPAIRS || (kind == PAIR_NUM ? !has : s == NULL))
		return;
	memset(&p[*n], 0, sizeof(p[*n]));
	p[*n].key = key;
	p[*n].kind = kind;
	p[*n].level = lv;
	p[*n].s = s;
	p[*n].n = v;
	p[*n].max = LEEF_VALUE_MAX;
	(*n)++;
}

#define ADD_S(k, v)	add(p, &n, (k), PAIR_STR, FIT_CUT, (v), 0, 0)
#define ADD_ID(k, v)	add(p, &n, (k), PAIR_STR, FIT_ID, (v), 0, 0)
#define ADD_N(k, h, v)	add(p, &n, (k), PAIR_NUM, FIT_CUT, NULL, (h), (v))
#define ADD_IP(k, v)	add(p, &n, (k), PAIR_LIT, FIT_CUT, \
			    format_ip_family(v) ? (v) : NULL, 0, 0)

enum leef_mode {
	LEEF_FULL,
	LEEF_IDENTITY,		/* the identity attributes only */
	LEEF_MIN,		/* the marker only */
};

static size_t
leef_pairs(struct format_pair *p, const struct hss_event *ev,
    const struct format_ctx *ctx, enum leef_mode mode, size_t orig,
    const char *cat, const char *ts)
{
	size_t	 n = 0;
	int	 all = mode == LEEF_FULL;

	if (mode == LEEF_MIN)
		goto marker;
	add(p, &n, "devTime", PAIR_STR, FIT_KEEP, ts, 0, 0);
	add(p, &n, "devTimeFormat", PAIR_STR, FIT_KEEP, LEEF_TIME_FORMAT, 0,
	    0);
	ADD_ID("cat", cat);
	ADD_N("sev", 1, format_cef_severity(ev->severity));
	ADD_IP("src", ev->user_login_ip);
	ADD_IP("dst", ev->private_ip);
	ADD_IP("dstPostNAT", ev->public_ip);
	if (all)
		ADD_S("usrName", ev->user_name != NULL ? ev->user_name :
		    ev->proc_username);
	ADD_ID("identHostName", ev->host_name);
	ADD_ID("event_id", ev->event_id);
	ADD_N("event_type", ev->has_event_type, ev->event_type);
	if (all)
		ADD_S("event_name", ev->event_name);
	ADD_ID("event_class_id", ev->event_class_id);
	ADD_ID("severity", ev->severity);
	ADD_ID("host_id", ev->host_id);
	ADD_ID("private_ip", ev->private_ip);
	ADD_ID("public_ip", ev->public_ip);
	if (all) {
		ADD_S("os_type", ev->os_type);
		ADD_S("attack_phase", ev->attack_phase);
		ADD_S("attack_tag", ev->attack_tag);
		ADD_S("handle_status", ev->handle_status);
		ADD_S("handle_method", ev->handle_method);
		ADD_N("event_count", ev->has_event_count, ev->event_count);
		ADD_S("container_name", ev->container_name);
		ADD_S("image_name", ev->image_name);
		ADD_S("process_name", ev->proc_name);
		ADD_S("process_path", ev->proc_path);
		ADD_N("process_pid", ev->has_proc_pid, ev->proc_pid);
		ADD_S("process_cmdline", ev->proc_cmdline);
		ADD_S("process_hash", ev->proc_hash);
		ADD_S("file_path", ev->file_path);
		ADD_S("file_hash", ev->file_hash);
		ADD_N("file_size", ev->has_file_size, ev->file_size);
	}
	ADD_ID("project_id", ctx->project_id != NULL ? ctx->project_id :
	    ev->res_project_id);
	ADD_ID("region", ctx->region != NULL ? ctx->region :
	    ev->res_region_name);
	ADD_ID("source", ctx->source_name);
	ADD_N("sequence_id", ctx->sequence > 0, ctx->sequence);
marker:
	if (orig > 0) {
		add(p, &n, "hss_truncated", PAIR_LIT, FIT_CUT, "true", 0, 0);
		ADD_N("hss_original_size", 1, (int64_t)orig);
	}
	return n;
}

/* With orig > 0 (truncated): the marker, and the values recorded in fit. */
static void
build(struct buf *b, const struct hss_event *ev,
    const struct format_ctx *ctx, int mode, size_t orig,
    struct format_fit *fit)
{
	struct format_pair	 p[LEEF_NPAIRS];
	format_esc_map		 map;
	const char		*id, *cat;
	char			 tmp[32], ts[64];
	char			 delim = leef_delim(ctx);

	if (ctx->out->syslog_header) {
		format_syslog_header(b, ctx,
		    format_syslog_severity(ev->severity), ev->occur_time,
		    format_event_class(ev, tmp, sizeof(tmp)));
		buf_adds(b, " - ");
	}
	if (ev->has_event_type) {
		snprintf(tmp, sizeof(tmp), "%lld", (long long)ev->event_type);
		id = tmp;
	} else if ((id = ev->event_class_id) == NULL)
		id = "unknown";
	leef_header(b, id, delim, fit);
	cat = ev->event_class_id != NULL ? ev->event_class_id : id;
	time_format_iso(ev->occur_time, ts, sizeof(ts));
	leef_map(map, delim, 0);
	format_pairs(b, p, leef_pairs(p, ev, ctx, mode, orig, cat, ts), delim,
	    map, FIT_RAW, fit);
}

/* The shapes, in the order of enum leef_mode (LEEF_MIN: under 480 bytes whatever the event). */
static const enum format_fit_level shape_cuts[] = { FIT_CUT, FIT_ID, FIT_ID };

int
format_leef(struct buf *b, const struct hss_event *ev,
    const struct format_ctx *ctx, int *truncated)
{
	size_t	 orig;

	format_fit_shapes(b, ev, ctx, build, shape_cuts,
	    HSS_ARRAY_LEN(shape_cuts), truncated, &orig);
	return 0;
}

int
format_leef_heartbeat(struct buf *b, const struct format_ctx *ctx,
    int64_t now_ms, const struct kv *kv, size_t nkv)
{
	format_esc_map	 map, kmap;
	char		 ts[64], delim = leef_delim(ctx);
	size_t		 i;

	if (ctx->out->syslog_header) {
		format_syslog_header(b, ctx, 6, now_ms, "heartbeat");
		buf_adds(b, " - ");
	}
	leef_header(b, "heartbeat", delim, NULL);
	leef_map(map, delim, 0);
	memcpy(kmap, map, sizeof(map));
	kmap['='] = "";
	kmap[' '] = "";
	time_format_iso(now_ms, ts, sizeof(ts));
	buf_printf(b, "devTime=%s%cdevTimeFormat=" LEEF_TIME_FORMAT
	    "%ccat=heartbeat", ts, delim, delim);
	if (ctx->hostname != NULL) {
		buf_printf(b, "%cidentHostName=", delim);
		format_escape(b, ctx->hostname, SIZE_MAX, SIZE_MAX, map);
	}
	if (ctx->sequence > 0)
		buf_printf(b, "%csequence_id=%u", delim, ctx->sequence);
	for (i = 0; i < nkv; i++) {
		buf_addc(b, delim);
		format_escape(b, kv[i].key, SIZE_MAX, SIZE_MAX, kmap);
		buf_addc(b, '=');
		format_escape(b, kv[i].value != NULL ? kv[i].value : "",
		    SIZE_MAX, SIZE_MAX, map);
	}
	return 0;
}

/*
 * A gap: EventID "gap", cat=gap, sev=8, devTime = when it was found,
 * gapBegin/gapEnd (ISO 8601) and gapBeginMs/gapEndMs, reason, replay (the
 * re-read command), the source's identity.
 */
int
format_leef_gap(struct buf *b, const struct format_ctx *ctx,
    const struct format_gap *g)
{
	format_esc_map	 map;
	struct buf	 t;
	char		 ts[64], delim = leef_delim(ctx);
	struct {
		const char	*key;
		const char	*v;
	} s[] = {
		{ "source", ctx->source_name }, { "region", ctx->region },
		{ "projectId", ctx->project_id },
		{ "category", ctx->category },
		{ "identHostName", ctx->hostname },
	};
	size_t		 i;

	buf_init(&t);
	if (ctx->out->syslog_header) {
		format_syslog_header(b, ctx, 3, g->now_ms, FORMAT_GAP_CLASS);
		buf_adds(b, " - ");
	}
	leef_header(b, FORMAT_GAP_CLASS, delim, NULL);
	leef_map(map, delim, 0);
	time_format_iso(g->now_ms, ts, sizeof(ts));
	buf_printf(b, "devTime=%s%cdevTimeFormat=" LEEF_TIME_FORMAT
	    "%ccat=" FORMAT_GAP_CLASS "%csev=8", ts, delim, delim, delim);
	for (i = 0; i < HSS_ARRAY_LEN(s); i++) {
		if (s[i].v == NULL)
			continue;
		buf_printf(b, "%c%s=", delim, s[i].key);
		format_escape(b, s[i].v, SIZE_MAX, SIZE_MAX, map);
	}
	time_format_iso(g->begin, ts, sizeof(ts));
	buf_printf(b, "%cgapBegin=%s", delim, ts);
	time_format_iso(g->end, ts, sizeof(ts));
	buf_printf(b, "%cgapEnd=%s%cgapBeginMs=%lld%cgapEndMs=%lld", delim, ts,
	    delim, (long long)g->begin, delim, (long long)g->end);
	buf_printf(b, "%creason=", delim);
	format_escape(b, g->reason != NULL ? g->reason : "unknown", SIZE_MAX,
	    SIZE_MAX, map);
	format_gap_replay(&t, g);
	buf_printf(b, "%creplay=", delim);
	format_escape(b, t.data, SIZE_MAX, SIZE_MAX, map);
	if (ctx->sequence > 0)
		buf_printf(b, "%csequence_id=%u", delim, ctx->sequence);
	buf_free(&t);
	return 0;
}
