/*
 * outset.c: the set of outputs. Every loop over the outputs lives here:
 * an event or a notice goes to each of them, a ticket is acknowledged when
 * each of them acknowledged its part, the set is congested while any of
 * them is, and the shutdown ends when each of them has stopped.
 *
 * A reload changes the set while the sources run (outset_add(),
 * outset_retire()). Each output has a slot; a ticket holds, per slot, the
 * last message of its source there. A retired output takes no new message
 * and flushes what it holds; its slot stays while a ticket or a waiter
 * still needs its acknowledgements:
 *  - removed from the config (resend 0): once its flush ended, whatever
 *    it did not acknowledge is dropped from the tickets (the operator no
 *    longer sends there; the other outputs still decide the commit);
 *  - replaced by an output of the same name with other settings (resend
 *    1): what it did not acknowledge must reach the replacement, which
 *    started after those messages were queued. The tickets that cover
 *    them are never acknowledged, so their sources cannot commit past
 *    them; outset_ticket_lost() names them, and their owner reads those
 *    events again from the last saved cursor (main.c: rewind).
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

enum slot_state {
	SLOT_ACTIVE,		/* takes messages */
	SLOT_RETIRING,		/* retired: flushing what it holds */
	SLOT_CLOSED,		/* flushed or given up; kept for tickets */
};

struct slot {
	struct outset			*set;
	struct output			*o;
	const struct output_config	*cfg;
	enum slot_state			 state;
	int				 resend;
};

/* One output's part of a wait: a waiter registered with that output. */
struct ack_part {
	TAILQ_ENTRY(ack_part) entry;
	struct ack_wait	*w;
	struct output	*o;
	uint64_t	 seq;
};
TAILQ_HEAD(ack_partq, ack_part);

/* A caller waiting for a ticket: one part per output it covers. */
struct ack_wait {
	TAILQ_ENTRY(ack_wait) entry;
	struct outset	*set;
	struct ack_partq parts;
	size_t		 pending;	/* parts not yet acknowledged */
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

struct outset_ticket {
	TAILQ_ENTRY(outset_ticket) entry;
	struct outset	*set;		/* NULL: the set was freed */
	size_t		 n;		/* = set->nslots */
	uint64_t	*seq;		/* per slot: last one covered */
};
TAILQ_HEAD(ticketq, outset_ticket);

struct outset {
	struct event_base	*base;
	struct slot		**slots;
	size_t			  nslots;
	struct output		**active;	/* rebuilt from slots */
	size_t			  nactive;
	struct output		**retiring;
	size_t			  nretiring;
	struct ack_waitq	  acks;
	struct drain_waitq	  drains;
	struct ticketq		  tickets;
	struct event		 *ev_fire;	/* waits done */
	struct event		 *ev_drain;	/* after a change */
	struct event		 *ev_compact;	/* free closed slots */
	size_t			  running;	/* outputs not yet shut down */
	outset_cb		  shut_cb;
	void			 *shut_arg;
	outset_retired_cb	  retired_cb;
	void			 *retired_arg;
};

static void	on_congestion(struct output *, int, void *);

static void
rebuild(struct outset *set)
{
	size_t	 i;

	set->nactive = set->nretiring = 0;
	for (i = 0; i < set->nslots; i++) {
		if (set->slots[i]->state == SLOT_ACTIVE)
			set->active[set->nactive++] = set->slots[i]->o;
		else if (set->slots[i]->state == SLOT_RETIRING)
			set->retiring[set->nretiring++] = set->slots[i]->o;
	}
}

static size_t
slot_index(const struct outset *set, const struct output *o)
{
	size_t	 i;

	for (i = 0; i < set->nslots; i++)
		if (set->slots[i]->o == o)
			return i;
	fatalx("outputs: an output not in the set");
}

static void
add_slot(struct outset *set, struct output *o, const struct output_config *cfg)
{
	struct outset_ticket	*t;
	struct slot		*sl;
	size_t			 n = set->nslots + 1;

	sl = xcalloc(1, sizeof(*sl));
	sl->set = set;
	sl->o = o;
	sl->cfg = cfg;
	sl->state = SLOT_ACTIVE;
	set->slots = xreallocarray(set->slots, n, sizeof(*set->slots));
	set->active = xreallocarray(set->active, n, sizeof(*set->active));
	set->retiring = xreallocarray(set->retiring, n,
	    sizeof(*set->retiring));
	set->slots[set->nslots] = sl;
	set->nslots = n;
	TAILQ_FOREACH(t, &set->tickets, entry) {
		t->seq = xreallocarray(t->seq, n, sizeof(*t->seq));
		t->seq[n - 1] = 0;
		t->n = n;
	}
	output_set_congestion_cb(o, on_congestion, set);
	rebuild(set);
}

static void
ack_wait_done(struct ack_wait *w)
{
	outset_cb	 cb = w->cb;
	void		*arg = w->arg;

	TAILQ_REMOVE(&w->set->acks, w, entry);
	free(w);
	cb(arg);
}

static void
part_free(struct ack_part *p)
{
	TAILQ_REMOVE(&p->w->parts, p, entry);
	free(p);
}

static void
compact_soon(struct outset *set)
{
	event_active(set->ev_compact, EV_TIMEOUT, 0);
}

/* One output acknowledged its part of a ticket. */
static void
on_output_acked(void *arg)
{
	struct ack_part	*p = arg;
	struct ack_wait	*w = p->w;

	part_free(p);
	if (w->set->nslots > w->set->nactive)
		compact_soon(w->set);
	if (w->pending > 0 && --w->pending == 0)
		ack_wait_done(w);
}

/* Waits whose parts are all acknowledged, one at a time (cb may cancel). */
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
fire_drains(struct outset *set)
{
	struct drain_waitq	 q;
	struct drain_wait	*w;

	TAILQ_INIT(&q);
	TAILQ_CONCAT(&q, &set->drains, entry);
	while ((w = TAILQ_FIRST(&q)) != NULL) {
		TAILQ_REMOVE(&q, w, entry);
		w->cb(w->arg);
		free(w);
	}
}

static void
on_drain(evutil_socket_t fd, short what, void *arg)
{
	struct outset	*set = arg;

	if (!outset_congested(set))
		fire_drains(set);
}

static void
on_congestion(struct output *o, int congested, void *arg)
{
	struct outset	*set = arg;

	if (congested || outset_congested(set))
		return;
	fire_drains(set);
}

/*
 * A closed slot goes once nothing needs its acknowledgements: no wait has
 * a part there and no ticket covers a message it did not acknowledge.
 * Always from the loop: an output is never freed inside its own callback.
 */
static void
on_compact(evutil_socket_t fd, short what, void *arg)
{
	struct outset		*set = arg;
	struct outset_ticket	*t;
	struct ack_wait		*w;
	struct ack_part		*p;
	struct slot		*sl;
	uint64_t		 acked;
	size_t			 i, j;
	int			 busy;

	for (i = 0; i < set->nslots; i++) {
		sl = set->slots[i];
		if (sl->state != SLOT_CLOSED)
			continue;
		acked = output_acked_seq(sl->o);
		busy = 0;
		TAILQ_FOREACH(t, &set->tickets, entry)
			if (t->seq[i] > acked)
				busy = 1;
		TAILQ_FOREACH(w, &set->acks, entry)
			TAILQ_FOREACH(p, &w->parts, entry)
				if (p->o == sl->o)
					busy = 1;
		if (busy)
			continue;
		TAILQ_FOREACH(t, &set->tickets, entry) {
			for (j = i; j + 1 < set->nslots; j++)
				t->seq[j] = t->seq[j + 1];
			t->n--;
		}
		output_free(sl->o);
		free(sl);
		for (j = i; j + 1 < set->nslots; j++)
			set->slots[j] = set->slots[j + 1];
		set->nslots--;
		i--;
	}
	rebuild(set);
}

struct outset *
outset_new(struct event_base *base, const struct output_config *conf,
    size_t n)
{
	struct outset	*set;
	struct output	*o;
	size_t		 i;
	int		 failed = 0;

	set = xcalloc(1, sizeof(*set));
	set->base = base;
	TAILQ_INIT(&set->acks);
	TAILQ_INIT(&set->drains);
	TAILQ_INIT(&set->tickets);
	if ((set->ev_fire = evtimer_new(base, on_fire, set)) == NULL ||
	    (set->ev_drain = evtimer_new(base, on_drain, set)) == NULL ||
	    (set->ev_compact = evtimer_new(base, on_compact, set)) == NULL)
		fatalx("outputs: out of memory for events");
	for (i = 0; i < n; i++) {
		if ((o = output_new(base, &conf[i])) == NULL) {
			log_errorx("output \"%s\" cannot be set up",
			    conf[i].name);
			failed = 1;
			continue;
		}
		add_slot(set, o, &conf[i]);
	}
	if (failed) {
		outset_free(set);
		return NULL;
	}
	return set;
}

void
outset_free(struct outset *set)
{
	struct outset_ticket	*t;
	struct ack_wait		*a;
	struct ack_part		*p;
	struct drain_wait	*d;
	size_t			 i;

	if (set == NULL)
		return;
	while ((a = TAILQ_FIRST(&set->acks)) != NULL) {
		while ((p = TAILQ_FIRST(&a->parts)) != NULL)
			part_free(p);
		TAILQ_REMOVE(&set->acks, a, entry);
		free(a);
	}
	for (i = 0; i < set->nslots; i++) {
		output_free(set->slots[i]->o);
		free(set->slots[i]);
	}
	while ((d = TAILQ_FIRST(&set->drains)) != NULL) {
		TAILQ_REMOVE(&set->drains, d, entry);
		free(d);
	}
	while ((t = TAILQ_FIRST(&set->tickets)) != NULL) {
		TAILQ_REMOVE(&set->tickets, t, entry);
		t->set = NULL;
	}
	event_free(set->ev_fire);
	event_free(set->ev_drain);
	event_free(set->ev_compact);
	free(set->slots);
	free(set->active);
	free(set->retiring);
	free(set);
}

void
outset_start(struct outset *set)
{
	size_t	 i;

	for (i = 0; i < set->nactive; i++)
		output_start(set->active[i]);
}

struct output **
outset_outputs(const struct outset *set, size_t *n)
{
	*n = set->nactive;
	return set->active;
}

struct output **
outset_retiring(const struct outset *set, size_t *n)
{
	*n = set->nretiring;
	return set->retiring;
}

struct output *
outset_find(const struct outset *set, const char *name,
    const struct output_config **cfg)
{
	size_t	 i;

	for (i = 0; i < set->nslots; i++) {
		if (set->slots[i]->state != SLOT_ACTIVE ||
		    strcmp(output_name(set->slots[i]->o), name) != 0)
			continue;
		if (cfg != NULL)
			*cfg = set->slots[i]->cfg;
		return set->slots[i]->o;
	}
	return NULL;
}

int
outset_holds(const struct outset *set, const struct output_config *cfg,
    size_t n)
{
	size_t	 i;

	for (i = 0; i < set->nslots; i++)
		if (set->slots[i]->cfg >= cfg && set->slots[i]->cfg < cfg + n)
			return 1;
	return 0;
}

void
outset_set_retired_cb(struct outset *set, outset_retired_cb cb, void *arg)
{
	set->retired_cb = cb;
	set->retired_arg = arg;
}

void
outset_add(struct outset *set, struct output *o,
    const struct output_config *cfg)
{
	add_slot(set, o, cfg);
	output_start(o);
	/* Until it connects the set is congested; the sources wait. */
	event_active(set->ev_drain, EV_TIMEOUT, 0);
}

/* A retired output's flush ended: settle what it owes (top of file). */
static void
on_retired(void *arg)
{
	struct slot		*sl = arg;
	struct outset		*set = sl->set;
	struct outset_ticket	*t;
	struct ack_wait		*w, *wn;
	struct ack_part		*p, *pn;
	struct output		*o = sl->o;
	uint64_t		 acked = output_acked_seq(o), last;
	size_t			 i = slot_index(set, o);
	int			 lost = 0, fire = 0;

	sl->state = SLOT_CLOSED;
	last = output_last_seq(o);
	TAILQ_FOREACH(t, &set->tickets, entry) {
		if (t->seq[i] <= acked)
			continue;
		if (sl->resend)
			lost = 1;
		else
			t->seq[i] = 0;
	}
	for (w = TAILQ_FIRST(&set->acks); w != NULL; w = wn) {
		wn = TAILQ_NEXT(w, entry);
		for (p = TAILQ_FIRST(&w->parts); p != NULL; p = pn) {
			pn = TAILQ_NEXT(p, entry);
			if (p->o != o || (sl->resend && p->seq > acked))
				continue;
			output_cancel_waiters(o, p);
			part_free(p);
			if (w->pending > 0 && --w->pending == 0)
				fire = 1;
		}
	}
	if (fire)
		event_active(set->ev_fire, EV_TIMEOUT, 0);
	if (last > acked && !sl->resend)
		log_warnx("output \"%s\": removed by the reload; %llu messages "
		    "it did not acknowledge are not sent to it", output_name(o),
		    (unsigned long long)(last - acked));
	else if (last > acked)
		log_warnx("output \"%s\": the old connection did not "
		    "acknowledge %llu messages; the sources that sent them "
		    "read them again for the new one", output_name(o),
		    (unsigned long long)(last - acked));
	rebuild(set);
	if (set->retired_cb != NULL)
		set->retired_cb(o, lost, set->retired_arg);
	compact_soon(set);
}

void
outset_retire(struct outset *set, struct output *o, int resend,
    int64_t timeout_ms)
{
	struct slot	*sl = set->slots[slot_index(set, o)];

	sl->state = SLOT_RETIRING;
	sl->resend = resend;
	rebuild(set);
	/* The sources may have waited for this one only. */
	event_active(set->ev_drain, EV_TIMEOUT, 0);
	output_shutdown(o, timeout_ms, on_retired, sl);
}

struct outset_ticket *
outset_ticket_new(struct outset *set)
{
	struct outset_ticket	*t;

	t = xcalloc(1, sizeof(*t));
	t->set = set;
	t->n = set->nslots;
	t->seq = xcalloc(set->nslots > 0 ? set->nslots : 1, sizeof(*t->seq));
	TAILQ_INSERT_TAIL(&set->tickets, t, entry);
	return t;
}

void
outset_ticket_free(struct outset_ticket *t)
{
	if (t == NULL)
		return;
	if (t->set != NULL) {
		TAILQ_REMOVE(&t->set->tickets, t, entry);
		compact_soon(t->set);
	}
	free(t->seq);
	free(t);
}

void
outset_ticket_clear(struct outset_ticket *t)
{
	size_t	 i;

	for (i = 0; i < t->n; i++)
		t->seq[i] = 0;
	if (t->set != NULL && t->set->nslots > t->set->nactive)
		compact_soon(t->set);
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

int
outset_ticket_lost(const struct outset *set, const struct outset_ticket *t)
{
	size_t	 i;

	for (i = 0; i < set->nslots; i++)
		if (set->slots[i]->state == SLOT_CLOSED &&
		    t->seq[i] > output_acked_seq(set->slots[i]->o))
			return 1;
	return 0;
}

unsigned
outset_enqueue_event(struct outset *set, const struct hss_event *ev,
    const struct output_origin *from, struct outset_ticket *t)
{
	unsigned	 truncated = 0;
	size_t		 i;

	for (i = 0; i < set->nslots; i++)
		if (set->slots[i]->state == SLOT_ACTIVE)
			truncated += (unsigned)output_enqueue_event(
			    set->slots[i]->o, ev, from, &t->seq[i]);
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
	for (i = 0; i < set->nslots; i++) {
		if (set->slots[i]->state != SLOT_ACTIVE)
			continue;
		output_enqueue_notice(set->slots[i]->o, &n);
		t->seq[i] = output_last_seq(set->slots[i]->o);
	}
}

void
outset_enqueue_notice(struct outset *set, const struct output_notice *n)
{
	size_t	 i;

	for (i = 0; i < set->nactive; i++)
		if (!output_congested(set->active[i]))
			output_enqueue_notice(set->active[i], n);
}

int
outset_acked(const struct outset *set, const struct outset_ticket *t)
{
	size_t	 i;

	for (i = 0; i < set->nslots; i++)
		if (t->seq[i] > output_acked_seq(set->slots[i]->o))
			return 0;
	return 1;
}

void
outset_when_acked(struct outset *set, const struct outset_ticket *t,
    outset_cb cb, void *arg)
{
	struct ack_wait	*w;
	struct ack_part	*p;
	size_t		 i;

	w = xcalloc(1, sizeof(*w));
	w->set = set;
	w->cb = cb;
	w->arg = arg;
	TAILQ_INIT(&w->parts);
	TAILQ_INSERT_TAIL(&set->acks, w, entry);
	for (i = 0; i < set->nslots; i++) {
		if (t->seq[i] == 0)
			continue;
		p = xcalloc(1, sizeof(*p));
		p->w = w;
		p->o = set->slots[i]->o;
		p->seq = t->seq[i];
		TAILQ_INSERT_TAIL(&w->parts, p, entry);
		w->pending++;
		output_when_acked(p->o, p->seq, on_output_acked, p);
	}
	if (w->pending == 0)
		event_active(set->ev_fire, EV_TIMEOUT, 0);
}

int
outset_congested(const struct outset *set)
{
	size_t	 i;

	for (i = 0; i < set->nactive; i++)
		if (output_congested(set->active[i]))
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
	struct ack_part		*p;
	struct drain_wait	*d, *dn;

	for (a = TAILQ_FIRST(&set->acks); a != NULL; a = an) {
		an = TAILQ_NEXT(a, entry);
		if (a->arg != arg)
			continue;
		while ((p = TAILQ_FIRST(&a->parts)) != NULL) {
			output_cancel_waiters(p->o, p);
			part_free(p);
		}
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
	if (set->nslots > set->nactive)
		compact_soon(set);
}

const char *
outset_failing(const struct outset *set, unsigned min, unsigned *failures)
{
	size_t	 i;

	for (i = 0; i < set->nactive; i++) {
		if ((*failures = output_failures(set->active[i])) >= min)
			return output_name(set->active[i]);
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

	if (set->running > 0 && --set->running == 0)
		event_base_once(set->base, -1, EV_TIMEOUT, on_all_stopped, set,
		    NULL);
}

void
outset_shutdown(struct outset *set, int64_t timeout_ms, outset_cb cb,
    void *arg)
{
	size_t	 i, n = set->nactive;

	set->shut_cb = cb;
	set->shut_arg = arg;
	/*
	 * Not the retired outputs still flushing: the stop has its bound.
	 * What they did not acknowledge is not committed either, so the
	 * next start reads it again.
	 */
	set->running = n;
	if (set->running == 0) {
		event_base_once(set->base, -1, EV_TIMEOUT, on_all_stopped, set,
		    NULL);
		return;
	}
	for (i = 0; i < n; i++)
		output_shutdown(set->active[i], timeout_ms, on_output_stopped,
		    set);
}
