/*
 * format_cef.c: an event as ArcSight CEF (reference/syslog-siem.md "CEF").
 *
 *   CEF:0|Huawei|HSS|v5|<event_type>|<event_name>|<severity>|<extension>
 *
 * Device Event Class ID: event_type (else event_class_id, else "unknown");
 * Name: event_name (else event_class_id, else "unknown"); Severity:
 * Critical 10, High 8, Medium 5, Low 3, Security 1, anything else 3.
 * Header fields escape '|' and '\' and replace every control character
 * (C0, DEL) by a space; Class ID <= 1023, Name <= 512 bytes.
 *
 * Extension, in this order, each pair left out when its field is absent
 * (max = bytes of the value before escaping, cut on a character boundary):
 *
 *   key                      field                                  max
 *   rt                       occur_time (epoch ms)
 *   externalId               event_id                               40
 *   flexString2Label=eventId
 *   flexString2              event_id, only when longer than 40   1023
 *   cat                      event_type
 *   act                      handle_status                          63
 *   cnt                      event_count
 *   dvchost                  host_name                             100
 *   deviceExternalId         host_id                               255
 *   dvc                      private_ip when IPv4
 *   c6a1Label=privateIp c6a1 private_ip when IPv6
 *   deviceTranslatedAddress  public_ip when IPv4
 *   c6a3Label=publicIp c6a3  public_ip when IPv6
 *   src                      first user's login_ip when IPv4
 *   suser                    first user's user_name, else the first
 *                            process's process_username           1023
 *   suid                     first user's user_id
 *   sproc                    first process's process_name         1023
 *   spid                     first process's process_pid
 *   fname                    first file's file name (last part)   1023
 *   filePath                 first file's file_path, else the first
 *                            process's process_path               1023
 *   fileHash                 first file's hash, else the process's 255
 *   fsize                    first file's file_size
 *   cs1Label=attackPhase cs1 attack_phase                         4000
 *   cs2Label=attackTag cs2   attack_tag                           4000
 *   cs3Label=eventClassId cs3 event_class_id                      4000
 *   cs4Label=handleMethod cs4 handle_method                       4000
 *   cs5Label=projectId cs5   the source's project_id (else the
 *                            event's resource_info.project_id)    4000
 *   cs6Label=region cs6      the source's region (else
 *                            resource_info.region_name)           4000
 *   cn1Label=handleTime cn1  handle_time (epoch ms)
 *   cn2Label=processUid cn2  first process's process_uid
 *   cn3Label=sequenceId cn3  the output's message sequence number
 *   flexString1Label=processCmdline
 *   flexString1              first process's process_cmdline      1023
 *
 * Extension values escape '\' '=' and CR/LF as \r \n; every other control
 * character (C0, DEL) becomes a space. Invalid UTF-8 becomes U+FFFD.
 * Longer than max_message_size (format.h): the extension ends with
 * hssTruncated=true hssOriginalSize=N (N: bytes of the whole message;
 * custom keys, none of ArcSight's) and the longest values are cut first,
 * to one common length, each ending with U+2026 (format_fit.c): the Name
 * and every string value but the identity (Device Event Class ID,
 * externalId, flexString2, dvchost, deviceExternalId, cs3, cs5, cs6;
 * numbers and addresses are never cut). When that is not enough, the
 * extension keeps only rt, externalId, flexString2, cat, cnt, dvchost,
 * deviceExternalId, the addresses, cs3, cs5, cs6, cn3 and the marker, and
 * the identity values may be cut as well; then only the marker.
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

#define CEF_NPAIRS	40

static const format_esc_map hdr_map = {
	[0x00 ... 0x1f] = " ", ['|'] = "\\|", ['\\'] = "\\\\",
	[0x7f] = " ",
};
static const format_esc_map ext_map = {
	[0x00 ... 0x09] = " ", ['\n'] = "\\n", [0x0b ... 0x0c] = " ",
	['\r'] = "\\r", [0x0e ... 0x1f] = " ",
	['\\'] = "\\\\", ['='] = "\\=", [0x7f] = " ",
};

static void
add_str(struct format_pair *p, size_t *n, const char *key, const char *lk,
    const char *label, const char *v, size_t max, enum format_fit_level lv)
{
	if (v == NULL || *n >= CEF_NPAIRS)
		return;
	p[*n].label_key = lk;
	p[*n].label = label;
	p[*n].key = key;
	p[*n].kind = PAIR_STR;
	p[*n].level = lv;
	p[*n].s = v;
	p[*n].n = 0;
	p[*n].max = max;
	(*n)++;
}

static void
add_num(struct format_pair *p, size_t *n, const char *key, const char *lk,
    const char *label, int has, int64_t v)
{
	if (!has || *n >= CEF_NPAIRS)
		return;
	p[*n].label_key = lk;
	p[*n].label = label;
	p[*n].key = key;
	p[*n].kind = PAIR_NUM;
	p[*n].level = FIT_CUT;
	p[*n].s = NULL;
	p[*n].n = v;
	p[*n].max = 0;
	(*n)++;
}

static void
add_ip(struct format_pair *p, size_t *n, const char *key, const char *lk,
    const char *label, const char *v)
{
	add_str(p, n, key, lk, label, v, SIZE_MAX, FIT_CUT);
	if (v != NULL && *n > 0 && p[*n - 1].s == v)
		p[*n - 1].kind = PAIR_LIT;
}

static size_t
utf8_chars(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

/* A header field, recorded at level lv ("-" if it comes out empty). */
static void
hdr_field(struct buf *b, const char *s, size_t maxin, struct format_fit *fit,
    enum format_fit_level lv)
{
	size_t	 start = b->len;

	format_escape(b, s, maxin, SIZE_MAX, hdr_map);
	if (b->len == start)
		buf_addc(b, '-');
	format_fit_add(fit, start, b->len, lv, FIT_BS);
}

static void
cef_header(struct buf *b, const char *cls, const char *name, int sev,
    struct format_fit *fit)
{
	char	 num[16];

	buf_adds(b, "CEF:0|" FORMAT_VENDOR "|" FORMAT_PRODUCT "|"
	    FORMAT_API_VERSION "|");
	hdr_field(b, cls, 1023, fit, FIT_ID);
	buf_addc(b, '|');
	hdr_field(b, name, 512, fit, FIT_CUT);
	snprintf(num, sizeof(num), "|%d|", sev);
	buf_adds(b, num);
}

enum cef_mode {
	CEF_FULL,
	CEF_IDENTITY,		/* the identity pairs only */
	CEF_MIN,		/* the marker only */
};

static size_t
cef_pairs(struct format_pair *p, const struct hss_event *ev,
    const struct format_ctx *ctx, enum cef_mode mode, size_t orig)
{
	const char	*fpath, *fhash, *s;
	size_t		 n = 0;
	int		 fam, all = mode == CEF_FULL;

	if (mode == CEF_MIN)
		goto marker;
	add_num(p, &n, "rt", NULL, NULL, 1, ev->occur_time);
	add_str(p, &n, "externalId", NULL, NULL, ev->event_id, 40, FIT_ID);
	if (utf8_chars(ev->event_id) > 40)
		add_str(p, &n, "flexString2", "flexString2Label", "eventId",
		    ev->event_id, 1023, FIT_ID);
	add_num(p, &n, "cat", NULL, NULL, ev->has_event_type, ev->event_type);
	if (all)
		add_str(p, &n, "act", NULL, NULL, ev->handle_status, 63,
		    FIT_CUT);
	add_num(p, &n, "cnt", NULL, NULL, ev->has_event_count,
	    ev->event_count);
	add_str(p, &n, "dvchost", NULL, NULL, ev->host_name, 100, FIT_ID);
	add_str(p, &n, "deviceExternalId", NULL, NULL, ev->host_id, 255,
	    FIT_ID);
	fam = format_ip_family(ev->private_ip);
	if (fam == 4)
		add_ip(p, &n, "dvc", NULL, NULL, ev->private_ip);
	else if (fam == 6)
		add_ip(p, &n, "c6a1", "c6a1Label", "privateIp",
		    ev->private_ip);
	fam = format_ip_family(ev->public_ip);
	if (fam == 4)
		add_ip(p, &n, "deviceTranslatedAddress", NULL, NULL,
		    ev->public_ip);
	else if (fam == 6)
		add_ip(p, &n, "c6a3", "c6a3Label", "publicIp", ev->public_ip);
	if (all) {
		if (format_ip_family(ev->user_login_ip) == 4)
			add_ip(p, &n, "src", NULL, NULL, ev->user_login_ip);
		if ((s = ev->user_name) == NULL)
			s = ev->proc_username;
		add_str(p, &n, "suser", NULL, NULL, s, 1023, FIT_CUT);
		add_num(p, &n, "suid", NULL, NULL, ev->has_user_uid,
		    ev->user_uid);
		add_str(p, &n, "sproc", NULL, NULL, ev->proc_name, 1023,
		    FIT_CUT);
		add_num(p, &n, "spid", NULL, NULL, ev->has_proc_pid,
		    ev->proc_pid);
		add_str(p, &n, "fname", NULL, NULL, ev->file_name, 1023,
		    FIT_CUT);
		fpath = ev->file_path;
		fhash = ev->file_hash;
		if (fpath == NULL && fhash == NULL) {
			fpath = ev->proc_path;
			fhash = ev->proc_hash;
		}
		add_str(p, &n, "filePath", NULL, NULL, fpath, 1023, FIT_CUT);
		add_str(p, &n, "fileHash", NULL, NULL, fhash, 255, FIT_CUT);
		add_num(p, &n, "fsize", NULL, NULL, ev->has_file_size,
		    ev->file_size);
		add_str(p, &n, "cs1", "cs1Label", "attackPhase",
		    ev->attack_phase, 4000, FIT_CUT);
		add_str(p, &n, "cs2", "cs2Label", "attackTag", ev->attack_tag,
		    4000, FIT_CUT);
	}
	add_str(p, &n, "cs3", "cs3Label", "eventClassId", ev->event_class_id,
	    4000, FIT_ID);
	if (all)
		add_str(p, &n, "cs4", "cs4Label", "handleMethod",
		    ev->handle_method, 4000, FIT_CUT);
	add_str(p, &n, "cs5", "cs5Label", "projectId", ctx->project_id !=
	    NULL ? ctx->project_id : ev->res_project_id, 4000, FIT_ID);
	add_str(p, &n, "cs6", "cs6Label", "region", ctx->region != NULL ?
	    ctx->region : ev->res_region_name, 4000, FIT_ID);
	if (all) {
		add_num(p, &n, "cn1", "cn1Label", "handleTime",
		    ev->has_handle_time, ev->handle_time);
		add_num(p, &n, "cn2", "cn2Label", "processUid",
		    ev->has_proc_uid, ev->proc_uid);
	}
	add_num(p, &n, "cn3", "cn3Label", "sequenceId", ctx->sequence > 0,
	    ctx->sequence);
	if (all)
		add_str(p, &n, "flexString1", "flexString1Label",
		    "processCmdline", ev->proc_cmdline, 1023, FIT_CUT);
marker:
	if (orig > 0) {
		add_ip(p, &n, "hssTruncated", NULL, NULL, "true");
		add_num(p, &n, "hssOriginalSize", NULL, NULL, 1,
		    (int64_t)orig);
	}
	return n;
}

/* With orig > 0 (truncated): the marker, and the values recorded in fit. */
static void
build(struct buf *b, const struct hss_event *ev,
    const struct format_ctx *ctx, int mode, size_t orig,
    struct format_fit *fit)
{
	struct format_pair	 p[CEF_NPAIRS];
	const char		*cls, *name;
	char			 tmp[32];

	if (ctx->out->syslog_header) {
		format_syslog_header(b, ctx,
		    format_syslog_severity(ev->severity), ev->occur_time,
		    format_event_class(ev, tmp, sizeof(tmp)));
		buf_adds(b, " - ");
	}
	if (ev->has_event_type) {
		snprintf(tmp, sizeof(tmp), "%lld", (long long)ev->event_type);
		cls = tmp;
	} else if ((cls = ev->event_class_id) == NULL)
		cls = "unknown";
	if ((name = ev->event_name) == NULL &&
	    (name = ev->event_class_id) == NULL)
		name = "unknown";
	cef_header(b, cls, name, format_cef_severity(ev->severity), fit);
	format_pairs(b, p, cef_pairs(p, ev, ctx, mode, orig), ' ', ext_map,
	    FIT_BS, fit);
}

/* The shapes, in the order of enum cef_mode (CEF_MIN: under 480 bytes whatever the event). */
static const enum format_fit_level shape_cuts[] = { FIT_CUT, FIT_ID, FIT_ID };

int
format_cef(struct buf *b, const struct hss_event *ev,
    const struct format_ctx *ctx, int *truncated)
{
	size_t	 orig;

	format_fit_shapes(b, ev, ctx, build, shape_cuts,
	    HSS_ARRAY_LEN(shape_cuts), truncated, &orig);
	return 0;
}

int
format_cef_heartbeat(struct buf *b, const struct format_ctx *ctx,
    int64_t now_ms, const struct kv *kv, size_t nkv)
{
	const char	*k;
	size_t		 i;
	int		 up;

	if (ctx->out->syslog_header) {
		format_syslog_header(b, ctx, 6, now_ms, "heartbeat");
		buf_adds(b, " - ");
	}
	cef_header(b, "heartbeat", "heartbeat", 0, NULL);
	buf_printf(b, "rt=%lld", (long long)now_ms);
	if (ctx->hostname != NULL) {
		buf_adds(b, " shost=");
		format_escape(b, ctx->hostname, 1023, SIZE_MAX, ext_map);
	}
	if (ctx->sequence > 0)
		buf_printf(b, " cn3Label=sequenceId cn3=%u", ctx->sequence);
	for (i = 0; i < nkv; i++) {
		buf_addc(b, ' ');
		for (k = kv[i].key, up = 0; *k != '\0'; k++) {
			if (*k >= 'a' && *k <= 'z' && up)
				buf_addc(b, (char)(*k - 'a' + 'A'));
			else if ((*k >= 'a' && *k <= 'z') ||
			    (*k >= 'A' && *k <= 'Z') ||
			    (*k >= '0' && *k <= '9'))
				buf_addc(b, *k);
			up = !((*k >= 'a' && *k <= 'z') ||
			    (*k >= 'A' && *k <= 'Z') ||
			    (*k >= '0' && *k <= '9'));
		}
		buf_addc(b, '=');
		format_escape(b, kv[i].value != NULL ? kv[i].value : "",
		    SIZE_MAX, SIZE_MAX, ext_map);
	}
	return 0;
}

/*
 * A gap: class and name "gap", severity 8, rt = when it was found,
 * start/end = the range (epoch ms), reason, msg = the whole line of text,
 * cs1 = the re-read command, cs4 = the source, cs5/cs6 = project and
 * region.
 */
int
format_cef_gap(struct buf *b, const struct format_ctx *ctx,
    const struct format_gap *g)
{
	struct buf	 t;

	buf_init(&t);
	if (ctx->out->syslog_header) {
		format_syslog_header(b, ctx, 3, g->now_ms, FORMAT_GAP_CLASS);
		buf_adds(b, " - ");
	}
	cef_header(b, FORMAT_GAP_CLASS, FORMAT_GAP_CLASS, 8, NULL);
	buf_printf(b, "rt=%lld start=%lld end=%lld", (long long)g->now_ms,
	    (long long)g->begin, (long long)g->end);
	buf_adds(b, " reason=");
	format_escape(b, g->reason != NULL ? g->reason : "unknown", 1023,
	    SIZE_MAX, ext_map);
	if (ctx->hostname != NULL) {
		buf_adds(b, " shost=");
		format_escape(b, ctx->hostname, 1023, SIZE_MAX, ext_map);
	}
	format_gap_replay(&t, g);
	buf_adds(b, " cs1Label=replay cs1=");
	format_escape(b, t.data, 4000, SIZE_MAX, ext_map);
	if (ctx->project_id != NULL) {
		buf_adds(b, " cs5Label=projectId cs5=");
		format_escape(b, ctx->project_id, 4000, SIZE_MAX, ext_map);
	}
	if (ctx->region != NULL) {
		buf_adds(b, " cs6Label=region cs6=");
		format_escape(b, ctx->region, 4000, SIZE_MAX, ext_map);
	}
	if (ctx->source_name != NULL) {
		buf_adds(b, " cs4Label=source cs4=");
		format_escape(b, ctx->source_name, 4000, SIZE_MAX, ext_map);
	}
	if (ctx->sequence > 0)
		buf_printf(b, " cn3Label=sequenceId cn3=%u", ctx->sequence);
	buf_reset(&t);
	format_gap_text(&t, g);
	buf_adds(b, " msg=");
	format_escape(b, t.data, 1023, SIZE_MAX, ext_map);
	buf_free(&t);
	return 0;
}
