/*
 * format.c (dispatch), format_rfc5424.c, format_cef.c, format_leef.c,
 * format_json.c (the formats), format_util.c (what they share): one
 * event -> one message in an output's format (DESIGN.md section 8,
 * reference/syslog-siem.md). Pure: no I/O, no globals, no allocation other
 * than growing the caller's buffer (and, for a message that must shrink,
 * the list of its values, freed before returning). The message is appended
 * without framing; output.c frames it.
 *
 * Guarantees, in every format:
 *  - no field value can forge another field or split a message: each value
 *    is escaped as its format's spec says, or the characters the format
 *    cannot carry are replaced or removed (per format, documented in its
 *    file);
 *  - invalid UTF-8 becomes U+FFFD;
 *  - CEF, LEEF and JSON messages never hold a raw CR or LF; RFC 5424
 *    messages hold one only inside an SD value with octet-counting or
 *    datagram framing (with lf framing it becomes the visible text \n /
 *    \r, escaped);
 *  - an event whose message would be longer than out->max_message_size
 *    (bytes of the message, without framing; 0: no limit) is shrunk to fit
 *    (format_fit.c) and *truncated is set: it stays one valid message of
 *    its format (escapes whole, valid UTF-8, valid JSON), marked (RFC 5424:
 *    SD-PARAMs truncated="true" original_size="N" and in MSG
 *    "_hss":{"truncated":true,"original_size":N}; CEF: hssTruncated=true
 *    hssOriginalSize=N; LEEF: hss_truncated=true hss_original_size=N;
 *    JSON: "_hss" gains "truncated":true,"original_size":N; N is the size
 *    of the whole message). The longest values are cut first, to one
 *    common length, each ending with U+2026; the identity of the event
 *    (event_id, times, event type and class, severity, host name, id and
 *    addresses, the source's project, region and name) is cut only when it
 *    alone would not fit, after everything else was cut or left out (each
 *    format's file says what it keeps). With max_message_size at least 480
 *    (the smallest config.c allows) the result always fits.
 */
#ifndef HSS_FORMAT_H
#define HSS_FORMAT_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct hss_event;
struct kv;
struct output_config;

#define FORMAT_VENDOR		"Huawei"
#define FORMAT_PRODUCT		"HSS"
#define FORMAT_API_VERSION	"v5"
#define FORMAT_SEQUENCE_MAX	2147483647U

struct format_ctx {
	/* format, facility, app_name, sd_id, syslog_header, leef_delimiter,
	 * max_message_size (0: no limit), framing */
	const struct output_config *out;
	const char	*source_name;	/* each may be NULL (heartbeats) */
	const char	*region;
	const char	*project_id;
	const char	*category;
	const char	*hostname;	/* resolved HOSTNAME */
	int		 pid;
	uint32_t	 sequence;	/* [meta sequenceId]; 0: omitted */
};

/* Append one message (no framing) to out. Returns 0 (-1: unknown format). */
int	format_event(struct buf *, const struct hss_event *,
	    const struct format_ctx *, int *truncated);
/*
 * Append a heartbeat message in the output's format: the daemon's counters
 * as key/value pairs (a value that is a decimal integer is a number in
 * JSON). Returns 0 (-1: unknown format).
 */
int	format_heartbeat(struct buf *, const struct format_ctx *,
	    int64_t now_ms, const struct kv *, size_t);

/*
 * A gap: a time range of a source that could not be read (DESIGN.md
 * section 11). Every output gets one message in its format, its own event
 * class "gap", carrying the source, the range (ISO 8601 and epoch ms, both
 * ends inclusive), the reason and how to read the range again:
 *   hss-forwarder --replay SOURCE --from BEGIN --to END
 */
struct format_gap {
	int64_t		 now_ms;
	const char	*source;
	const char	*region;
	const char	*project_id;
	const char	*category;
	int64_t		 begin;
	int64_t		 end;
	const char	*reason;	/* one line of ASCII */
};
#define FORMAT_GAP_CLASS	"gap"
int	format_gap(struct buf *, const struct format_ctx *,
	    const struct format_gap *);
/* The re-read command of a gap: "hss-forwarder --replay ... --to END". */
void	format_gap_replay(struct buf *, const struct format_gap *);
/* The one-line text of a gap (its message and its log line). */
void	format_gap_text(struct buf *, const struct format_gap *);

/*
 * The formats (format_rfc5424.c, format_cef.c, format_leef.c,
 * format_json.c), each built on format_util.h; format.c picks one.
 */
int	format_rfc5424(struct buf *, const struct hss_event *,
	    const struct format_ctx *, int *);
int	format_cef(struct buf *, const struct hss_event *,
	    const struct format_ctx *, int *);
int	format_leef(struct buf *, const struct hss_event *,
	    const struct format_ctx *, int *);
int	format_json(struct buf *, const struct hss_event *,
	    const struct format_ctx *, int *);
int	format_rfc5424_heartbeat(struct buf *, const struct format_ctx *,
	    int64_t, const struct kv *, size_t);
int	format_cef_heartbeat(struct buf *, const struct format_ctx *,
	    int64_t, const struct kv *, size_t);
int	format_leef_heartbeat(struct buf *, const struct format_ctx *,
	    int64_t, const struct kv *, size_t);
int	format_json_heartbeat(struct buf *, const struct format_ctx *,
	    int64_t, const struct kv *, size_t);
int	format_rfc5424_gap(struct buf *, const struct format_ctx *,
	    const struct format_gap *);
int	format_cef_gap(struct buf *, const struct format_ctx *,
	    const struct format_gap *);
int	format_leef_gap(struct buf *, const struct format_ctx *,
	    const struct format_gap *);
int	format_json_gap(struct buf *, const struct format_ctx *,
	    const struct format_gap *);

#endif
