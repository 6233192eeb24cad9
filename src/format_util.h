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

/* JSON: a string, a number, any cJSON value (compact). */
void	format_json_string(struct buf *, const char *);
void	format_json_number(struct buf *, double);
void	format_json_value(struct buf *, const struct cJSON *, int depth);
/* The _hss object (with truncation details when original_size > 0). */
void	format_json_hss(struct buf *, const struct format_ctx *,
	    size_t original_size);
/* The stand-in object of a truncated event. */
void	format_json_stub(struct buf *, const struct hss_event *,
	    const struct format_ctx *, size_t original_size);

/* Key/value pairs of the flat formats (CEF extension, LEEF attributes). */
enum format_pair_kind {
	PAIR_STR,	/* escaped, cut to max; may be cut when truncating */
	PAIR_NUM,	/* decimal integer */
	PAIR_LIT,	/* written as is (validated: addresses, fixed text) */
};
struct format_pair {
	const char	*label_key;	/* CEF csN slots: "cs1Label" */
	const char	*label;		/* "attackPhase" */
	const char	*key;
	enum format_pair_kind kind;
	const char	*s;
	int64_t		 n;
	size_t		 max;		/* PAIR_STR: bytes of the value */
};
/*
 * Append the pairs separated by sep, each value escaped by map; a pair whose
 * value comes out empty is left out. When the message (from msgstart) would
 * pass max bytes (0: no limit), the pair that does not fit is cut (PAIR_STR
 * only, on a character boundary) or dropped with every pair after it, and 1
 * is returned.
 */
int	format_pairs(struct buf *, const struct format_pair *, size_t,
	    char sep, const char *const *map, size_t msgstart, size_t max);

#endif
