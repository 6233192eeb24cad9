/*
 * output_queue.c: an output's messages. Each event or notice is formatted
 * with the output's settings, numbered ([meta sequenceId] and the queue's
 * sequence number), cut and framed, and kept in order until acknowledged;
 * waiters are called when a sequence number is acknowledged; the output is
 * congested while it is down or holds more than queue_limit messages or
 * queue_limit_bytes bytes (whichever comes first; it stays congested until
 * it holds fewer than half of both). The one place where messages and
 * their bytes are counted.
 */
#include "autoconf.h"

#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "config.h"
#include "format.h"
#include "log.h"
#include "output.h"
#include "output_int.h"
#include "util.h"

/* The longest prefix of s no longer than max that ends on a UTF-8 boundary. */
static size_t
utf8_cut(const char *s, size_t len, size_t max)
{
	size_t	 n;

	if (len <= max)
		return len;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

void
queue_congestion(struct output *o)
{
	int	 c, over_n, over_b;

	over_n = o->depth > o->queue_limit;
	over_b = o->bytes > o->queue_limit_bytes;
	if (o->state != OS_UP && o->transport != TRANSPORT_STDOUT)
		c = 1;
	else if (over_n || over_b)
		c = 1;
	else if (o->congested && o->depth > 0 &&
	    (o->depth >= o->queue_limit / 2 ||
	    o->bytes >= o->queue_limit_bytes / 2))
		c = 1;
	else
		c = 0;
	if (o->shutting_down && o->state == OS_CLOSED)
		c = 1;
	if (c == o->congested)
		return;
	o->congested = c;
	/*
	 * A full queue is news for the operator (the receiver is not keeping
	 * up); a down connection has its own lines (connect failed, lost).
	 */
	if (c && over_n) {
		o->queue_full = 1;
		log_warnx("output \"%s\": congested: %zu messages not yet "
		    "acknowledged, over queue_limit %zu; sources pause until "
		    "fewer than %zu remain", o->name, o->depth, o->queue_limit,
		    o->queue_limit / 2);
	} else if (c && over_b) {
		o->queue_full = 1;
		log_warnx("output \"%s\": congested: %zu bytes (%zu messages) "
		    "not yet acknowledged, over queue_limit_bytes %zu; sources "
		    "pause until fewer than %zu bytes remain", o->name,
		    o->bytes, o->depth, o->queue_limit_bytes,
		    o->queue_limit_bytes / 2);
	} else if (!c && o->queue_full) {
		o->queue_full = 0;
		log_info("output \"%s\": no longer congested (%zu queued, %zu "
		    "bytes); sources resume", o->name, o->depth, o->bytes);
	} else
		log_debug("output \"%s\": %s (%zu queued)", o->name,
		    c ? "congested" : "no longer congested", o->depth);
	if (o->congestion_cb != NULL)
		o->congestion_cb(o, c, o->congestion_arg);
}

/* The head of the queue is acknowledged: remove it. */
static void
pop_acked(struct output *o, struct msg *m)
{
	if (o->next == m)
		o->next = TAILQ_NEXT(m, entry);
	TAILQ_REMOVE(&o->queue, m, entry);
	o->acked_seq = m->seq;
	o->depth--;
	o->bytes -= m->len;
	o->stats.acked++;
	free(m);
}

static void
acked_some(struct output *o, int n)
{
	if (n == 0)
		return;
	o->acked_this_conn = 1;
	if (TAILQ_EMPTY(&o->waiters) == 0)
		event_active(o->ev_waiters, EV_TIMEOUT, 0);
	queue_congestion(o);
	if (o->shutting_down && o->depth == 0)
		output_finish_shutdown(o);
}

/* Remove acknowledged messages from the head of the queue. */
void
queue_ack_upto(struct output *o, uint64_t wire_acked, int all_sent)
{
	struct msg	*m;
	int		 n = 0;

	while ((m = TAILQ_FIRST(&o->queue)) != NULL && m->sent &&
	    (all_sent || m->end_off <= wire_acked)) {
		pop_acked(o, m);
		n++;
	}
	acked_some(o, n);
}

/*
 * relp: messages are marked acked one by one, in any order; the queue
 * (and so the sources' cursors) moves past the oldest ones once every
 * older message is acked too.
 */
void
queue_ack_marked(struct output *o)
{
	struct msg	*m;
	int		 n = 0;

	while ((m = TAILQ_FIRST(&o->queue)) != NULL && m->acked) {
		pop_acked(o, m);
		n++;
	}
	acked_some(o, n);
}

/*
 * Every unacknowledged message goes out again on the next connection (relp:
 * not those already answered 200 behind an unanswered one).
 */
size_t
queue_rewind(struct output *o)
{
	struct msg	*m;
	size_t		 n = 0;

	TAILQ_FOREACH(m, &o->queue, entry) {
		if (m->sent && !m->acked) {
			m->sent = 0;
			m->sent_before = 1;
			n++;
		}
	}
	o->next = TAILQ_FIRST(&o->queue);
	return n;
}

void
queue_on_waiters(evutil_socket_t fd, short what, void *arg)
{
	struct output	*o = arg;
	struct waiter	*w, *next;

	/* one at a time: a callback may add or cancel waiters */
	for (;;) {
		for (w = TAILQ_FIRST(&o->waiters); w != NULL; w = next) {
			next = TAILQ_NEXT(w, entry);
			if (w->seq <= o->acked_seq)
				break;
		}
		if (w == NULL)
			return;
		TAILQ_REMOVE(&o->waiters, w, entry);
		w->cb(w->arg);
		free(w);
	}
}

uint64_t
output_enqueue(struct output *o, const char *msg, size_t len)
{
	struct msg	*m;
	char		 pfx[24];
	size_t		 n, plen = 0, extra = 0, i;
	char		*d;
	uint64_t	 seq;

	n = utf8_cut(msg, len, o->max_msg);
	if (n < len)
		o->stats.truncated++;
	if (o->framing == FRAMING_OCTET_COUNTING)
		plen = (size_t)snprintf(pfx, sizeof(pfx), "%zu ", n);
	else if (o->framing == FRAMING_LF)
		extra = 1;
	m = xmalloc(sizeof(*m) + plen + n + extra);
	memcpy(m->data, pfx, plen);
	d = m->data + plen;
	memcpy(d, msg, n);
	if (o->framing == FRAMING_LF) {
		/* last line of defence: a raw CR/LF would split the frame */
		for (i = 0; i < n; i++)
			if (d[i] == '\n' || d[i] == '\r') {
				d[i] = ' ';
				o->lf_replaced++;
			}
		d[n] = '\n';
	}
	m->len = plen + n + extra;
	m->seq = seq = ++o->last_seq;
	m->sent = m->sent_before = m->acked = 0;
	m->end_off = 0;
	TAILQ_INSERT_TAIL(&o->queue, m, entry);
	if (o->next == NULL)
		o->next = m;
	o->depth++;
	o->bytes += m->len;
	o->stats.enqueued++;
	/* written from the loop: a burst of enqueues becomes one write */
	if (o->state == OS_UP && !event_pending(o->ev_pump, EV_TIMEOUT, NULL))
		event_active(o->ev_pump, EV_TIMEOUT, 0);
	queue_congestion(o);
	return seq;
}

/* The next [meta sequenceId]: 1 .. FORMAT_SEQUENCE_MAX, then 1 again. */
static uint32_t
next_sequence(struct output *o)
{
	if (o->sequence >= FORMAT_SEQUENCE_MAX)
		o->sequence = 0;
	return ++o->sequence;
}

static void
format_context(struct output *o, struct format_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->out = o->cfg;
	ctx->hostname = o->hostname;
	ctx->pid = o->pid;
	ctx->sequence = next_sequence(o);
}

int
output_enqueue_event(struct output *o, const struct hss_event *ev,
    const struct output_origin *from, uint64_t *seq)
{
	struct format_ctx	 ctx;
	int			 truncated = 0;

	format_context(o, &ctx);
	ctx.source_name = from->name;
	ctx.region = from->region;
	ctx.project_id = from->project_id;
	ctx.category = from->category;
	buf_reset(&o->msg);
	format_event(&o->msg, ev, &ctx, &truncated);
	if (truncated)		/* shrunk to max_message_size (format.h) */
		o->stats.truncated++;
	*seq = output_enqueue(o, o->msg.data, o->msg.len);
	return truncated;
}

void
output_enqueue_notice(struct output *o, const struct output_notice *n)
{
	struct format_ctx	 ctx;
	int			 rc = -1;

	format_context(o, &ctx);
	buf_reset(&o->msg);
	switch (n->kind) {
	case NOTICE_HEARTBEAT:
		rc = format_heartbeat(&o->msg, &ctx, n->now_ms, n->kv, n->nkv);
		break;
	case NOTICE_GAP:
		rc = format_gap(&o->msg, &ctx, n->gap);
		break;
	}
	if (rc == 0)
		output_enqueue(o, o->msg.data, o->msg.len);
}

uint64_t
output_last_seq(const struct output *o)
{
	return o->last_seq;
}

int
output_when_acked(struct output *o, uint64_t seq, output_ack_cb cb,
    void *arg)
{
	struct waiter	*w;

	w = xcalloc(1, sizeof(*w));
	w->seq = seq;
	w->cb = cb;
	w->arg = arg;
	TAILQ_INSERT_TAIL(&o->waiters, w, entry);
	if (seq <= o->acked_seq)
		event_active(o->ev_waiters, EV_TIMEOUT, 0);
	return 0;
}

void
output_cancel_waiters(struct output *o, void *arg)
{
	struct waiter	*w, *next;

	for (w = TAILQ_FIRST(&o->waiters); w != NULL; w = next) {
		next = TAILQ_NEXT(w, entry);
		if (w->arg == arg) {
			TAILQ_REMOVE(&o->waiters, w, entry);
			free(w);
		}
	}
}

uint64_t
output_acked_seq(const struct output *o)
{
	return o->acked_seq;
}

int
output_congested(const struct output *o)
{
	return o->congested;
}

void
output_set_congestion_cb(struct output *o, output_congestion_cb cb,
    void *arg)
{
	o->congestion_cb = cb;
	o->congestion_arg = arg;
}

void
output_get_stats(const struct output *o, struct output_stats *st)
{
	*st = o->stats;
	st->queue_depth = o->depth;
	st->connected = o->state == OS_UP;
}

uint64_t
output_lf_replaced(const struct output *o)
{
	return o->lf_replaced;
}

/* Free every message and waiter (the output goes away). */
void
queue_clear(struct output *o)
{
	struct msg	*m;
	struct waiter	*w;

	while ((m = TAILQ_FIRST(&o->queue)) != NULL) {
		TAILQ_REMOVE(&o->queue, m, entry);
		o->bytes -= m->len;
		free(m);
	}
	while ((w = TAILQ_FIRST(&o->waiters)) != NULL) {
		TAILQ_REMOVE(&o->waiters, w, entry);
		free(w);
	}
}
