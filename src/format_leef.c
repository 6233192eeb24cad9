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
 * Longer than max_message_size: cut at a pair boundary, the pair that does
 * not fit keeping what fits of a string value on a character boundary.
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
leef_header(struct buf *b, const char *id, char delim)
{
	format_esc_map	 map;

	leef_map(map, delim, 1);
	buf_adds(b, "LEEF:2.0|" FORMAT_VENDOR "|" FORMAT_PRODUCT "|"
	    FORMAT_API_VERSION "|");
	format_escape(b, id, 255, SIZE_MAX, map);
	if (delim > 0x20 && delim < 0x7f && delim != '|' && delim != '\\')
		buf_printf(b, "|%c|", delim);
	else
		buf_printf(b, "|x%02X|", (unsigned char)delim);
}

static void
add(struct format_pair *p, size_t *n, const char *key,
    enum format_pair_kind kind, const char *s, int has, int64_t v)
{
	if (*n >= LEEF_NPAIRS || (kind == PAIR_NUM ? !has : s == NULL))
		return;
	memset(&p[*n], 0, sizeof(p[*n]));
	p[*n].key = key;
	p[*n].kind = kind;
	p[*n].s = s;
	p[*n].n = v;
	p[*n].max = LEEF_VALUE_MAX;
	(*n)++;
}

#define ADD_S(k, v)	add(p, &n, (k), PAIR_STR, (v), 0, 0)
#define ADD_N(k, h, v)	add(p, &n, (k), PAIR_NUM, NULL, (h), (v))
#define ADD_IP(k, v)	add(p, &n, (k), PAIR_LIT, \
			    format_ip_family(v) ? (v) : NULL, 0, 0)

int
format_leef(struct buf *b, const struct hss_event *ev,
    const struct format_ctx *ctx, int *truncated)
{
	struct format_pair	 p[LEEF_NPAIRS];
	format_esc_map		 map;
	const char		*id, *cat;
	char			 tmp[32], ts[64];
	char			 delim = leef_delim(ctx);
	size_t			 n = 0, start = b->len;

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
	leef_header(b, id, delim);
	cat = ev->event_class_id != NULL ? ev->event_class_id : id;
	time_format_iso(ev->occur_time, ts, sizeof(ts));

	ADD_S("devTime", ts);
	ADD_S("devTimeFormat", LEEF_TIME_FORMAT);
	ADD_S("cat", cat);
	ADD_N("sev", 1, format_cef_severity(ev->severity));
	ADD_IP("src", ev->user_login_ip);
	ADD_IP("dst", ev->private_ip);
	ADD_IP("dstPostNAT", ev->public_ip);
	ADD_S("usrName", ev->user_name != NULL ? ev->user_name :
	    ev->proc_username);
	ADD_S("identHostName", ev->host_name);
	ADD_S("event_id", ev->event_id);
	ADD_N("event_type", ev->has_event_type, ev->event_type);
	ADD_S("event_name", ev->event_name);
	ADD_S("event_class_id", ev->event_class_id);
	ADD_S("severity", ev->severity);
	ADD_S("host_id", ev->host_id);
	ADD_S("private_ip", ev->private_ip);
	ADD_S("public_ip", ev->public_ip);
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
	ADD_S("project_id", ctx->project_id != NULL ? ctx->project_id :
	    ev->res_project_id);
	ADD_S("region", ctx->region != NULL ? ctx->region :
	    ev->res_region_name);
	ADD_S("source", ctx->source_name);
	ADD_N("sequence_id", ctx->sequence > 0, ctx->sequence);
	leef_map(map, delim, 0);
	if (format_pairs(b, p, n, delim, map, start,
	    ctx->out->max_message_size))
		*truncated = 1;
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
	leef_header(b, "heartbeat", delim);
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
	leef_header(b, FORMAT_GAP_CLASS, delim);
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
