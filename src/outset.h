/*
 * outset.c: the set of outputs, where the fan-out happens once. Sources
 * and main talk to the set, never to each output:
 *  - outset_enqueue_event() hands one event to every output (each formats,
 *    numbers and queues it) and extends a ticket to cover it;
 *  - outset_enqueue_notice() hands a notice (heartbeat) to every output
 *    that is not congested; notices are never waited for;
 *  - outset_enqueue_gap() hands a gap message to every output and extends
 *    a ticket to cover it, like an event;
 *  - outset_when_acked(ticket) calls back once every output acknowledged
 *    every message the ticket covers; outset_acked() asks the same now;
 *  - outset_congested() is true while any output is congested;
 *    outset_when_drained() calls back once none is;
 *  - a reload adds outputs (outset_add()) and retires others
 *    (outset_retire()) while the sources run; outset.c says what happens
 *    to the messages a retired output did not acknowledge.
 */
#ifndef HSS_OUTSET_H
#define HSS_OUTSET_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct format_gap;
struct hss_event;
struct output;
struct output_config;
struct output_notice;
struct output_origin;
struct outset;
struct outset_ticket;

typedef void (*outset_cb)(void *arg);
/*
 * A retired output's flush ended (its counters are final). lost: it was
 * replaced (resend) and did not acknowledge messages that tickets cover
 * (outset_ticket_lost() names them).
 */
typedef void (*outset_retired_cb)(struct output *, int lost, void *arg);

/* One output per config entry; NULL when one cannot be set up (logged). */
struct outset	*outset_new(struct event_base *, const struct output_config *,
		    size_t);
void		 outset_free(struct outset *);
void		 outset_start(struct outset *);
/* The outputs, for their counters (stats, metrics, health). */
struct output	**outset_outputs(const struct outset *, size_t *);
/* The retired outputs still flushing. */
struct output	**outset_retiring(const struct outset *, size_t *);
/* The output (not retired) named name, or NULL; *cfg its settings. */
struct output	*outset_find(const struct outset *, const char *name,
		    const struct output_config **cfg);
/* 1 while an output built from cfg[0 .. n-1] is in the set. */
int		 outset_holds(const struct outset *,
		    const struct output_config *cfg, size_t n);
void		 outset_set_retired_cb(struct outset *, outset_retired_cb,
		    void *arg);
/*
 * Add an output (built by output_new() from cfg, which must outlive it)
 * and start it; sources send to it from their next message on.
 */
void		 outset_add(struct outset *, struct output *,
		    const struct output_config *cfg);
/*
 * Send o nothing more and flush it (output_shutdown(), timeout_ms), then
 * call the retired callback. resend: it is replaced by an output of the
 * same name, which must get what o did not acknowledge (outset.c).
 */
void		 outset_retire(struct outset *, struct output *o,
		    int resend, int64_t timeout_ms);

/*
 * A ticket covers messages enqueued through it, in every output (a source
 * holds one per window). An empty ticket covers nothing.
 */
struct outset_ticket *outset_ticket_new(struct outset *);
void		 outset_ticket_free(struct outset_ticket *);
void		 outset_ticket_clear(struct outset_ticket *);
int		 outset_ticket_empty(const struct outset_ticket *);
/*
 * t covers a message that a replaced output never acknowledged: it can
 * never be acknowledged; its source must read those events again.
 */
int		 outset_ticket_lost(const struct outset *,
		    const struct outset_ticket *);

/*
 * Queue ev in every output and extend t to cover it. Returns the number of
 * outputs whose message was cut to max_message_size.
 */
unsigned	 outset_enqueue_event(struct outset *, const struct hss_event *,
		    const struct output_origin *, struct outset_ticket *);
/*
 * Queue a gap message (format.h) in every output, congested or not, and
 * extend t to cover it: the cursor does not move past a gap before every
 * output acknowledged it.
 */
void		 outset_enqueue_gap(struct outset *, const struct format_gap *,
		    struct outset_ticket *);
/* Queue a notice in every output that is not congested. */
void		 outset_enqueue_notice(struct outset *,
		    const struct output_notice *);

/* Every message t covers is acknowledged by its output. */
int		 outset_acked(const struct outset *,
		    const struct outset_ticket *);
/*
 * Call cb(arg) once every message t covers (as it is now) is acknowledged.
 * Deferred to the event loop, never called from inside this function.
 */
void		 outset_when_acked(struct outset *, const struct outset_ticket *,
		    outset_cb, void *arg);
int		 outset_congested(const struct outset *);
/*
 * Call cb(arg) once, when no output is congested any more (registering the
 * same cb and arg again while waiting is a no-op).
 */
void		 outset_when_drained(struct outset *, outset_cb, void *arg);
/* Forget every callback registered with arg (its owner goes away). */
void		 outset_cancel(struct outset *, void *arg);

/*
 * The first output whose connection attempts failed at least min times in
 * a row, with that count; NULL when none.
 */
const char	*outset_failing(const struct outset *, unsigned min,
		    unsigned *failures);
/*
 * Shut every output down (output_shutdown(), each within timeout_ms) and
 * call cb(arg) from the loop once all of them are done (retired outputs
 * still flushing are not waited for).
 */
void		 outset_shutdown(struct outset *, int64_t timeout_ms, outset_cb,
		    void *arg);

#endif
