/*
 * outset.c: the set of outputs. Every loop over the outputs lives here:
 * an event or a notice goes to each of them, a ticket is acknowledged when
 * each of them acknowledged its part, the set is congested while any of
 * them is, and the shutdown ends when each of them has stopped.
 */
#include "autoconf.h"

#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "config.h"
#include "log.h"
#include "output.h"
#include "outset.h"
#include "util.h"

/* A caller waiting for a ticket: one output waiter per output it covers. */
struct ack_wait {
	TAILQ_ENTRY(ack_wait) entry;
	struct outset	*set;
	size_t		 pending;	/* outputs not yet acknowledged */
	outset_cb	 cb;
	void		*arg;
};
TAILQ_HEAD(ack_waitq, ack_wait);

/* A caller waiting for the congestion to clear. */
struct drain_wait {
	TAILQ_ENTRY(drain_wait) entry;
	outset_cb	 cb;
	void		*arg;
};
TAILQ_HEAD(drain_waitq, drain_wait);

struct outset {
	struct event_base	*base;
	struct output		**outputs;
	size_t			  n;
	struct ack_waitq	  acks;
	struct drain_waitq	  drains;
	struct event		 *ev_fire;	/* tickets that cover nothing */
	size_t			  running;	/* outputs not yet shut down */
	outset_cb		  shut_cb;
	void			 *shut_arg;
};

struct outset_ticket {
	size_t		 n;
	uint64_t	*seq;		/* per output: last message covered */
};

static void
ack_wait_done(struct ack_wait *w)
{
	outset_cb	 cb = w->cb;
	void		*arg = w->arg;

	TAILQ_REMOVE(&w->set->acks, w, entry);
	free(w);
	cb(arg);
}

/* One output acknowledged its part of a ticket. */
static void
on_output_acked(void *arg)
{
	struct ack_wait	*w = arg;

	if (w->pending > 0 && --w->pending == 0)
		ack_wait_done(w);
}

/* Waiters whose ticket covers nothing, one at a time (cb may cancel). */
static void
on_fire(evutil_socket_t fd, short what, void *arg)
{
	struct outset	*set = arg;
	struct ack_wait	*w;

	for (;;) {
		TAILQ_FOREACH(w, &set->acks, entry)
			if (w->pending == 0)
				break;
		if (w == NULL)
			return;
		ack_wait_done(w);
	}
}

static void
on_congestion(struct output *o, int congested, void *arg)
{
	struct outset		*set = arg;
	struct drain_waitq	 q;
	struct drain_wait	*w;

	if (congested || outset_congested(set))
		return;
	TAILQ_INIT(&q);
	TAILQ_CONCAT(&q, &set->drains, entry);
	while ((w = TAILQ_FIRST(&q)) != NULL) {
		TAILQ_REMOVE(&q, w, entry);
		w->cb(w->arg);
		free(w);
	}
}

struct outset *
outset_new(struct event_base *base, const struct output_config *conf,
    size_t n)
{
	struct outset	*set;
	size_t		 i;
	int		 failed = 0;

	set = xcalloc(1, sizeof(*set));
	set->base = base;
	TAILQ_INIT(&set->acks);
	TAILQ_INIT(&set->drains);
	if ((set->ev_fire = evtimer_new(base, on_fire, set)) == NULL)
		fatalx("outputs: out of memory for events");
	set->outputs = xcalloc(n, sizeof(*set->outputs));
	for (i = 0; i < n; i++) {
		if ((set->outputs[i] = output_new(base, &conf[i])) == NULL) {
			log_errorx("output \"%s\" cannot be set up",
			    conf[i].name);
			failed = 1;
			continue;
		}
		output_set_congestion_cb(set->outputs[i], on_congestion, set);
	}
	set->n = n;
	if (failed) {
		outset_free(set);
		return NULL;
	}
	return set;
}

void
outset_free(struct outset *set)
{
	struct ack_wait		*a;
	struct drain_wait	*d;
	size_t			 i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++)
		output_free(set->outputs[i]);
	while ((a = TAILQ_FIRST(&set->acks)) != NULL) {
		TAILQ_REMOVE(&set->acks, a, entry);
		free(a);
	}
	while ((d = TAILQ_FIRST(&set->drains)) != NULL) {
		TAILQ_REMOVE(&set->drains, d, entry);
		free(d);
	}
	event_free(set->ev_fire);
	free(set->outputs);
	free(set);
}

void
outset_start(struct outset *set)
{
	size_t	 i;

	for (i = 0; i < set->n; i++)
		output_start(set->outputs[i]);
}

struct output **
outset_outputs(const struct outset *set, size_t *n)
{
	*n = set->n;
	return set->outputs;
}

struct outset_ticket *
outset_ticket_new(const struct outset *set)
{
	struct outset_ticket	*t;

	t = xcalloc(1, sizeof(*t));
	t->n = set->n;
	t->seq = xcalloc(set->n, sizeof(*t->seq));
	return t;
}

void
outset_ticket_free(struct outset_ticket *t)
{
	if (t == NULL)
		return;
	free(t->seq);
	free(t);
}

void
outset_ticket_clear(struct outset_ticket *t)
{
	size_t	 i;

	for (i = 0; i < t->n; i++)
		t->seq[i] = 0;
}

int
outset_ticket_empty(const struct outset_ticket *t)
{
	size_t	 i;

	for (i = 0; i < t->n; i++)
		if (t->seq[i] != 0)
			return 0;
	return 1;
}

unsigned
outset_enqueue_event(struct outset *set, const struct hss_event *ev,
    const struct output_origin *from, struct outset_ticket *t)
{
	unsigned	 truncated = 0;
	size_t		 i;

	for (i = 0; i < set->n; i++)
		truncated += (unsigned)output_enqueue_event(set->outputs[i], ev,
		    from, &t->seq[i]);
	return truncated;
}

void
outset_enqueue_gap(struct outset *set, const struct format_gap *gap,
    struct outset_ticket *t)
{
	struct output_notice	 n;
	size_t			 i;

	memset(&n, 0, sizeof(n));
	n.kind = NOTICE_GAP;
	n.now_ms = time_now_ms();
	n.gap = gap;
	for (i = 0; i < set->n; i++) {
		output_enqueue_notice(set->outputs[i], &n);
		t->seq[i] = output_last_seq(set->outputs[i]);
	}
}

void
outset_enqueue_notice(struct outset *set, const struct output_notice *n)
{
	size_t	 i;

	for (i = 0; i < set->n; i++)
		if (!output_congested(set->outputs[i]))
			output_enqueue_notice(set->outputs[i], n);
}

int
outset_acked(const struct outset *set, const struct outset_ticket *t)
{
	size_t	 i;

	for (i = 0; i < set->n; i++)
		if (t->seq[i] > output_acked_seq(set->outputs[i]))
			return 0;
	return 1;
}

void
outset_when_acked(struct outset *set, const struct outset_ticket *t,
    outset_cb cb, void *arg)
{
	struct ack_wait	*w;
	size_t		 i;

	w = xcalloc(1, sizeof(*w));
	w->set = set;
	w->cb = cb;
	w->arg = arg;
	TAILQ_INSERT_TAIL(&set->acks, w, entry);
	for (i = 0; i < set->n; i++) {
		if (t->seq[i] == 0)
			continue;
		w->pending++;
		output_when_acked(set->outputs[i], t->seq[i], on_output_acked,
		    w);
	}
	if (w->pending == 0)
		event_active(set->ev_fire, EV_TIMEOUT, 0);
}

int
outset_congested(const struct outset *set)
{
	size_t	 i;

	for (i = 0; i < set->n; i++)
		if (output_congested(set->outputs[i]))
			return 1;
	return 0;
}

void
outset_when_drained(struct outset *set, outset_cb cb, void *arg)
{
	struct drain_wait	*w;

	TAILQ_FOREACH(w, &set->drains, entry)
		if (w->cb == cb && w->arg == arg)
			return;
	w = xcalloc(1, sizeof(*w));
	w->cb = cb;
	w->arg = arg;
	TAILQ_INSERT_TAIL(&set->drains, w, entry);
}

void
outset_cancel(struct outset *set, void *arg)
{
	struct ack_wait		*a, *an;
	struct drain_wait	*d, *dn;
	size_t			 i;

	for (a = TAILQ_FIRST(&set->acks); a != NULL; a = an) {
		an = TAILQ_NEXT(a, entry);
		if (a->arg != arg)
			continue;
		for (i = 0; i < set->n; i++)
			output_cancel_waiters(set->outputs[i], a);
		TAILQ_REMOVE(&set->acks, a, entry);
		free(a);
	}
	for (d = TAILQ_FIRST(&set->drains); d != NULL; d = dn) {
		dn = TAILQ_NEXT(d, entry);
		if (d->arg != arg)
			continue;
		TAILQ_REMOVE(&set->drains, d, entry);
		free(d);
	}
}

const char *
outset_failing(const struct outset *set, unsigned min, unsigned *failures)
{
	size_t	 i;

	for (i = 0; i < set->n; i++) {
		if ((*failures = output_failures(set->outputs[i])) >= min)
			return output_name(set->outputs[i]);
	}
	*failures = 0;
	return NULL;
}

static void
on_all_stopped(evutil_socket_t fd, short what, void *arg)
{
	struct outset	*set = arg;

	set->shut_cb(set->shut_arg);	/* may free set */
}

/* Deferred: output_shutdown() may call back before it returns. */
static void
on_output_stopped(void *arg)
{
	struct outset	*set = arg;

	if (--set->running == 0)
		event_base_once(set->base, -1, EV_TIMEOUT, on_all_stopped, set,
		    NULL);
}

void
outset_shutdown(struct outset *set, int64_t timeout_ms, outset_cb cb,
    void *arg)
{
	size_t	 i;

	set->shut_cb = cb;
	set->shut_arg = arg;
	set->running = set->n;
	if (set->n == 0) {
		event_base_once(set->base, -1, EV_TIMEOUT, on_all_stopped, set,
		    NULL);
		return;
	}
	for (i = 0; i < set->n; i++)
		output_shutdown(set->outputs[i], timeout_ms, on_output_stopped,
		    set);
}
