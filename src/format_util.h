/*
 * format_util.c: the helpers the four formats share (escaping, UTF-8,
 * JSON, the syslog header, key/value pairs, severities). Used by the
 * format_*.c files only (and by tests); they call nothing back.
 */
#ifndef HSS_FORMAT_UTIL_H
#define HSS_FORMAT_UTIL_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct cJSON;
struct format_ctx;
struct hss_event;

/* Severity mappings (unknown severity: as Low). */
int	format_syslog_severity(const char *);	/* 2..6 */
int	format_cef_severity(const char *);	/* 1..10 */

/* An escape table: the replacement of each ASCII byte, NULL = as is,
 * "" = removed. */
typedef const char *format_esc_map[128];

/* Length of the valid UTF-8 sequence at s (1-4), 0 when invalid. */
size_t	format_utf8_len(const unsigned char *);
/*
 * Append s escaped by map; invalid UTF-8 -> U+FFFD. Stops (returns 1)
 * before the unescaped value passes maxin bytes or the escaped output
 * passes maxout bytes, always on a character boundary and never inside an
 * escape; returns 0 when all of s was written.
 */
int	format_escape(struct buf *, const char *, size_t maxin, size_t maxout,
	    const char *const *map);
/* Printable US-ASCII 33-126 only (each other character -> '_'), at most
 * max bytes, "-" when empty (RFC 5424 header fields). */
void	format_printascii(struct buf *, const char *, size_t max,
	    const char *except);
/* RFC 5424 HEADER (no trailing space). */
void	format_syslog_header(struct buf *, const struct format_ctx *, int sev,
	    int64_t ms, const char *msgid);
/* MSGID / CEF class / LEEF EventID source: class id, else event type. */
const char *format_event_class(const struct hss_event *, char *, size_t);
/* 4 (IPv4), 6 (IPv6) or 0 when s is not one literal address. */
int	format_ip_family(const char *);

/*
 * Making a message fit max_message_size (format_fit.c; format.h has the
 * rules). A format that must shrink a message writes it again, recording
 * each value it may cut with format_fit_add() (NULL: nothing recorded),
 * then calls format_fit_apply().
 */
#define FORMAT_CUT_MARK		"\xE2\x80\xA6"	/* U+2026, ends a cut value */
#define FORMAT_CUT_MARK_LEN	3
enum format_fit_level {
	FIT_CUT,	/* cut first */
	FIT_ID,		/* the event's identity: cut only when the rest is
			 * not enough */
	FIT_KEEP,	/* never cut (not recorded) */
};
enum format_fit_text {
	FIT_RAW,	/* no escapes (LEEF) */
	FIT_BS,		/* a backslash and the next byte are one escape */
	FIT_JSON,	/* the same, and \uXXXX */
};
struct format_fit_span {
	size_t		 start;	/* the value as written: b->data[start..end) */
	size_t		 end;
	unsigned char	 level;
	unsigned char	 text;
};
struct format_fit {
	struct format_fit_span	*v;
	size_t			 n;
	size_t			 alloc;
};
void	format_fit_init(struct format_fit *);
void	format_fit_reset(struct format_fit *);
void	format_fit_free(struct format_fit *);
/* Record a value (in writing order; values never overlap); no-op when the
 * fit is NULL or the value is not longer than the marker. */
void	format_fit_add(struct format_fit *, size_t start, size_t end,
	    enum format_fit_level, enum format_fit_text);
/*
 * Cut the recorded values of b (the message starts at msgstart) so that
 * the message is at most max bytes: FIT_CUT values longest first to one
 * common length; when that is not enough and maxlevel is FIT_ID, every
 * FIT_CUT value to the marker and the FIT_ID values longest first. Returns
 * 0 (b rewritten, or already short enough), or -1 when even that is not
 * enough (b unchanged).
 */
int	format_fit_apply(struct buf *, size_t msgstart,
	    const struct format_fit *, size_t max, enum format_fit_level);
/*
 * What every format does with an event: build shape 0 (the whole message;
 * fit NULL, orig 0); when it is longer than max_message_size, set
 * *truncated and build each shape in turn again with its values recorded
 * (orig: the whole message's size, for the markers) and cut up to
 * cuts[shape], until one fits. Returns 0 when the message in b fits, -1
 * when no shape does (b holds the last shape, uncut; *orig is set).
 */
typedef void format_build_fn(struct buf *, const struct hss_event *,
	    const struct format_ctx *, int shape, size_t orig,
	    struct format_fit *);
int	format_fit_shapes(struct buf *, const struct hss_event *,
	    const struct format_ctx *, format_build_fn *,
	    const enum format_fit_level *cuts, size_t nshapes, int *truncated,
	    size_t *orig);

/* Whether a top-level member of an event is part of its identity (never
 * cut while anything else can be): event_id, occur_time, event_type,
 * event_class_id, severity, host_name, host_id, private_ip, public_ip. */
int	format_identity_key(const char *);

/*
 * JSON: a string, a number, any cJSON value (compact). With a fit, every
 * string value (not the member names) is recorded at level FIT_CUT.
 */
void	format_json_string(struct buf *, const char *);
void	format_json_number(struct buf *, double);
void	format_json_value(struct buf *, const struct cJSON *, int depth,
	    struct format_fit *);
/*
 * The members of the event object, "name":value separated by commas,
 * without the braces; a top-level "_hss" member is left out when skip_hss.
 * identity_only: only the members format_identity_key() names. With a fit,
 * the string values of the identity members are recorded at level FIT_ID,
 * every other string value at FIT_CUT. Returns the number written.
 */
size_t	format_json_members(struct buf *, const struct hss_event *,
	    int skip_hss, int identity_only, struct format_fit *);
/* The _hss object (with "truncated":true and "original_size" when
 * original_size > 0). */
void	format_json_hss(struct buf *, const struct format_ctx *,
	    size_t original_size);

/* Key/value pairs of the flat formats (CEF extension, LEEF attributes). */
enum format_pair_kind {
	PAIR_STR,	/* escaped, cut to max */
	PAIR_NUM,	/* decimal integer */
	PAIR_LIT,	/* written as is (validated: addresses, fixed text) */
};
struct format_pair {
	const char	*label_key;	/* CEF csN slots: "cs1Label" */
	const char	*label;		/* "attackPhase" */
	const char	*key;
	enum format_pair_kind kind;
	enum format_fit_level level;	/* PAIR_STR when shrinking */
	const char	*s;
	int64_t		 n;
	size_t		 max;		/* PAIR_STR: bytes of the value */
};
/*
 * Append the pairs separated by sep, each value escaped by map (text: how
 * map escapes, for the fit); a pair whose value comes out empty is left
 * out. With a fit, each PAIR_STR value is recorded at its level.
 */
void	format_pairs(struct buf *, const struct format_pair *, size_t,
	    char sep, const char *const *map, enum format_fit_text,
	    struct format_fit *);

#endif
