/*
 * output.c: SIEM destinations (tcp, tls, relp, udp, stdout), each with its
 * own queue of framed messages, reconnect, and acknowledgement
 * (DESIGN.md section 7).
 *
 * The delivery interface between sources and outputs:
 *  - a source hands each new event, with its own identity, to
 *    output_enqueue_event(): the output formats it with its own settings,
 *    numbers it ([meta sequenceId]) and queues it; the message gets a
 *    sequence number in that output (1, 2, 3, ... never reused). Notices
 *    (heartbeats) take the same path through output_enqueue_notice();
 *  - when a window is complete the source asks output_when_acked() for a
 *    callback once every message up to the last sequence it enqueued is
 *    acknowledged (TCP/TLS: the peer's TCP stack acknowledged every byte,
 *    SIOCOUTQ; RELP: the server answered 200 to each; UDP/stdout:
 *    written). The callback is never called from
 *    inside output_when_acked() itself (it is deferred to the event loop);
 *  - messages are kept until acknowledged and sent again on a new
 *    connection if the old one broke before that;
 *  - output_congested() is true while the output is down or holds more than
 *    queue_limit messages; sources do not fetch more pages meanwhile. The
 *    congestion callback fires on every change (congested when the limit is
 *    passed or the connection is lost, clear when the queue drains below
 *    half of queue_limit and the output is up).
 */
#ifndef HSS_OUTPUT_H
#define HSS_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct format_gap;
struct hss_event;
struct kv;
struct output_config;
struct output;

/* Where an event came from: the source's identity in every message. */
struct output_origin {
	const char	*name;
	const char	*region;
	const char	*project_id;
	const char	*category;
};

/* A message of the forwarder's own, formatted per output. */
enum output_notice_kind {
	NOTICE_HEARTBEAT,	/* the daemon's counters, as kv */
	NOTICE_GAP,		/* a range that could not be read: gap */
};
struct output_notice {
	enum output_notice_kind	 kind;
	int64_t			 now_ms;
	const struct kv		*kv;
	size_t			 nkv;
	const struct format_gap	*gap;
};

typedef void (*output_ack_cb)(void *arg);
typedef void (*output_congestion_cb)(struct output *, int congested,
    void *arg);

/*
 * The counters of an output, one X(field, help) each: the struct and the
 * metrics (stats.c) are generated from this list.
 */
#define OUTPUT_COUNTERS(X)						\
	X(enqueued, "messages queued")					\
	X(acked, "messages acknowledged")				\
	X(truncated, "messages truncated")				\
	X(resent, "messages sent again after a reconnect")		\
	X(reconnects, "connections re-established")			\
	X(connect_failures, "failed connection attempts")		\
	X(bytes_sent, "bytes written")

struct output_stats {
#define OUTPUT_COUNTER_FIELD(f, help)	uint64_t f;
	OUTPUT_COUNTERS(OUTPUT_COUNTER_FIELD)
#undef OUTPUT_COUNTER_FIELD
	size_t		queue_depth;	/* messages not yet acknowledged */
	int		connected;
};

struct output	*output_new(struct event_base *, const struct output_config *);
void		 output_free(struct output *);
const char	*output_name(const struct output *);
/* Start connecting (network transports); stdout/udp are ready at once. */
int		 output_start(struct output *);
/*
 * Queue one unframed message (framing is added here). Never fails and never
 * drops: the caller respects output_congested() for backpressure. Returns
 * the message's sequence number.
 */
uint64_t	 output_enqueue(struct output *, const char *msg, size_t len);
/*
 * Format ev in this output's format and settings (its hostname, the
 * daemon's pid, its own [meta sequenceId] counter) and queue it. Sets *seq
 * to the message's sequence number; returns 1 when the message was cut to
 * max_message_size by the formatter, else 0.
 */
int		 output_enqueue_event(struct output *, const struct hss_event *,
		    const struct output_origin *, uint64_t *seq);
/* Format and queue a notice (numbered like events); never waited for. */
void		 output_enqueue_notice(struct output *,
		    const struct output_notice *);
/* The sequence number of the last message enqueued (0: none yet). */
uint64_t	 output_last_seq(const struct output *);
/*
 * Call cb(arg) once every message with a sequence number <= seq is
 * acknowledged. Deferred, never synchronous. Returns 0.
 */
int		 output_when_acked(struct output *, uint64_t seq, output_ack_cb,
		    void *arg);
/* Forget every pending waiter whose arg is arg (a source going away). */
void		 output_cancel_waiters(struct output *, void *arg);
int		 output_congested(const struct output *);
/* Connection attempts in a row that failed or broke before carrying data
 * (0 once a connection is healthy). */
unsigned	 output_failures(const struct output *);
/* The highest sequence number acknowledged (every lower one is too). */
uint64_t	 output_acked_seq(const struct output *);
void		 output_set_congestion_cb(struct output *,
		    output_congestion_cb, void *arg);
void		 output_get_stats(const struct output *, struct output_stats *);
/*
 * Graceful stop: stop accepting, try to get everything acknowledged within
 * timeout_ms, then close (TLS close_notify) and call cb(arg). cb is always
 * called exactly once.
 */
void		 output_shutdown(struct output *, int64_t timeout_ms,
		    output_ack_cb cb, void *arg);

/*
 * For --check: the address of the current or last connection
 * ("127.0.0.1:6514"; "" before the first; "stdout"), the TLS version of
 * the session while one is up ("TLSv1.3", else NULL), and why the last
 * connection attempt failed or the last connection was lost, as the log
 * line says it ("" when none did).
 */
const char	*output_peer(const struct output *);
const char	*output_tls_version(const struct output *);
const char	*output_last_error(const struct output *);

/*
 * Raw CR/LF bytes replaced by a space in messages bound for lf framing
 * (the formatters should never produce them; this counts the exceptions).
 */
uint64_t	 output_lf_replaced(const struct output *);

#endif
