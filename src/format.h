/*
 * format.c (dispatch), format_rfc5424.c, format_cef.c, format_leef.c,
 * format_json.c (the formats), format_util.c (what they share): one
 * event -> one message in an output's format (DESIGN.md section 8,
 * reference/syslog-siem.md). Pure: no I/O, no globals, no allocation other
 * than growing the caller's buffer. The message is appended without
 * framing; output.c frames it.
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
 *  - a message longer than out->max_message_size is cut so that it stays a
 *    valid message of its format, and *truncated is set.
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
