/*
 * output_relp.c: the relp transport. A RELP session (src/relp.c, the
 * engine: frames, parser, window, transactions) rides on the output's
 * connection, plain or TLS (output_conn.c, output_tls.c):
 *  - once the byte stream is ready, "open" is sent and nothing else until
 *    its answer (RELP_OPEN_TIMEOUT_MS); the output is up (conn_up()) only
 *    then, so an open refused counts as a failed connection attempt;
 *  - while the session's window has room, the next queued message not yet
 *    sent on this connection goes out as a "syslog" command whose
 *    transaction carries the message's queue sequence number;
 *  - a message is acknowledged when the server answers "rsp 200" to its
 *    transaction (answers may come in any order: the queue moves past the
 *    oldest messages once every older one is answered, queue_ack_marked());
 *  - an error answer (rsp 500) is logged and the session closed gracefully
 *    (answers to the other messages in flight still count); then the
 *    connection is dropped and the unanswered messages, the refused one
 *    first, are sent again after the usual backoff. "serverclose", a
 *    protocol error, EOF and no answer for RELP_ANSWER_TIMEOUT_MS while
 *    messages are in flight drop the connection the same way;
 *  - a full window stops taking from the queue, which then grows into
 *    the output's congestion and the sources' backpressure;
 *  - transaction numbers used up (after 999,999,998 messages on one
 *    connection): graceful close and reconnect at once;
 *  - a graceful shutdown sends "close" once everything is answered and
 *    waits for its answer within the shutdown timeout.
 */
#include "autoconf.h"

#include <sys/queue.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "log.h"
#include "output.h"
#include "output_int.h"
#include "relp.h"
#include "util.h"

int
orelp_new(struct output *o)
{
	struct relp_params	 rp;
	char			 err[RELP_ERR_MAX];

	memset(&rp, 0, sizeof(rp));
	rp.window = o->cfg->relp_window;
	if ((o->relp = relp_session_new(&rp, err)) == NULL) {
		log_warnx("output \"%s\": %s", o->name, err);
		return -1;
	}
	buf_init(&o->relp_out);
	return 0;
}

void
orelp_free(struct output *o)
{
	relp_session_free(o->relp);
	o->relp = NULL;
	buf_free(&o->relp_out);
}

/* The connection is gone (conn_close()): the session with it. */
void
orelp_reset(struct output *o)
{
	if (o->relp == NULL)
		return;
	relp_session_reset(o->relp);
	o->relp_closing = RELP_CLOSE_NONE;
	o->relp_refused = 0;
}

/* Append the frame in relp_out to the wire (as TLS records with TLS). */
static int
put_frame(struct output *o)
{
	int	 r = 0;

	if (o->ssl != NULL)
		r = tls_write(o, o->relp_out.data, o->relp_out.len);
	else {
		buf_add(&o->wire, o->relp_out.data, o->relp_out.len);
		o->wire_total += o->relp_out.len;
	}
	buf_reset(&o->relp_out);
	return r;
}

/* Answers are awaited: a deadline from now (or from the last answer). */
static void
arm_deadline(struct output *o)
{
	event_del(o->ev_ack);
	if (relp_session_inflight(o->relp) > 0 ||
	    o->relp_closing != RELP_CLOSE_NONE)
		output_arm_timer(o->ev_ack, RELP_ANSWER_TIMEOUT_MS);
}

void
orelp_open(struct output *o)
{
	o->state = OS_OPENING;
	relp_session_open(o->relp, &o->relp_out);
	if (put_frame(o) == -1)
		return;
	event_del(o->ev_timer);
	output_arm_timer(o->ev_timer, RELP_OPEN_TIMEOUT_MS);
	if (output_flush_wire(o) == -1)
		conn_attempt_failed(o, "RELP session: write: %s",
		    strerror(errno));
}

/*
 * Send "close" (the session is open); why is a RELP_CLOSE_*. Returns -1
 * when the connection was lost meanwhile.
 */
static int
begin_close(struct output *o, int why)
{
	o->relp_closing = why;
	relp_session_close(o->relp, &o->relp_out);
	if (put_frame(o) == -1)
		return -1;
	arm_deadline(o);
	if (output_flush_wire(o) == -1) {
		output_write_failed(o);
		return -1;
	}
	return 0;
}

/* Frame messages while the window has room; the number framed or -1. */
static int
feed(struct output *o)
{
	struct msg	*m;
	int		 n = 0;

	output_wire_compact(o);
	while (o->wire.len - o->wire_off < WIRE_HIGH) {
		/* answered behind an unanswered one: not again */
		while ((m = o->next) != NULL && m->acked)
			o->next = TAILQ_NEXT(m, entry);
		if (m == NULL)
			break;
		switch (relp_session_can_send(o->relp)) {
		case RELP_SEND_OK:
			break;
		case RELP_SEND_CYCLE:
			if (o->relp_closing == RELP_CLOSE_NONE) {
				log_info("output \"%s\": RELP transaction "
				    "numbers of this connection used up; "
				    "closing it and reconnecting", o->name);
				return begin_close(o, RELP_CLOSE_CYCLE) ==
				    -1 ? -1 : n;
			}
			return n;
		case RELP_SEND_WAIT:	/* window full: backpressure */
		case RELP_SEND_NO:	/* closing */
			return n;
		}
		(void)relp_session_send_buf(o->relp, m->seq, m->data, m->len,
		    &o->relp_out);
		if (put_frame(o) == -1)
			return -1;
		m->sent = 1;
		if (m->sent_before)
			o->stats.resent++;
		o->next = TAILQ_NEXT(m, entry);
		if (!evtimer_pending(o->ev_ack, NULL))
			output_arm_timer(o->ev_ack, RELP_ANSWER_TIMEOUT_MS);
		n++;
	}
	return n;
}

void
orelp_pump(struct output *o)
{
	int	 n, r;

	for (;;) {
		if ((n = feed(o)) == -1 || o->state != OS_UP)
			return;
		if ((r = output_flush_wire(o)) == -1) {
			output_write_failed(o);
			return;
		}
		if (r == 0 || n == 0)
			return;
	}
}

/* The ev_ack timer: no answer for RELP_ANSWER_TIMEOUT_MS. */
void
orelp_deadline(struct output *o)
{
	size_t	 n;

	if (o->state != OS_UP)
		return;
	n = relp_session_inflight(o->relp);
	if (o->relp_closing != RELP_CLOSE_NONE && n == 0)
		conn_lost(o, "no answer to the RELP close within %d s",
		    RELP_ANSWER_TIMEOUT_MS / 1000);
	else if (n > 0)
		conn_lost(o, "no RELP answer within %d s with %zu message%s "
		    "in flight", RELP_ANSWER_TIMEOUT_MS / 1000, n,
		    n == 1 ? "" : "s");
}

static void
answered(struct output *o, uint64_t seq)
{
	struct msg	*m;

	/* the messages in flight are at the head of the queue */
	TAILQ_FOREACH(m, &o->queue, entry)
		if (m->seq == seq)
			break;
	if (m == NULL || !m->sent || m->acked) {
		/* the session only reports what it sent: cannot happen */
		log_warnx("output \"%s\": RELP answer for message %" PRIu64
		    ", which is not in flight; ignored", o->name, seq);
		return;
	}
	m->acked = 1;
	arm_deadline(o);
	queue_ack_marked(o);
}

static void
refused(struct output *o, const struct relp_event *ev)
{
	/* quiet like a server that keeps dropping us (conn_lost()) */
	(o->drops == 0 || conn_should_log(o->drops + 1) ? log_warnx :
	    log_debug)("output \"%s\": the server answered %03d to message "
	    "%" PRIu64 ": %s; closing the session to send it again", o->name,
	    ev->code, ev->cookie, ev->text[0] != '\0' ? ev->text :
	    "(no text)");
	if (o->relp_refused == 0)
		o->relp_refused = ev->cookie;
	arm_deadline(o);
	if (o->relp_closing == RELP_CLOSE_NONE &&
	    relp_session_state(o->relp) == RELP_OPEN)
		(void)begin_close(o, RELP_CLOSE_REJECT);
}

/* Our close was answered. */
static void
closed(struct output *o)
{
	size_t	 n;

	switch (o->relp_closing) {
	case RELP_CLOSE_SHUTDOWN:
		output_finish_shutdown(o);
		break;
	case RELP_CLOSE_CYCLE:
		conn_close(o, 1);
		n = queue_rewind(o);
		log_info("output \"%s\": RELP session closed; reconnecting "
		    "at once, %zu unanswered message%s to send again",
		    o->name, n, n == 1 ? "" : "s");
		o->state = OS_RESOLVING;
		queue_congestion(o);
		conn_connect(o);
		break;
	default:
		conn_lost(o, "the server refused message %" PRIu64 "; RELP "
		    "session closed", o->relp_refused);
		break;
	}
}

/* Bytes from the server. */
int
orelp_input(struct output *o, const char *data, size_t len)
{
	struct relp_event	 ev;
	size_t			 used, off = 0;

	for (;;) {
		switch (relp_session_feed(o->relp, data + off, len - off,
		    &used, &ev)) {
		case RELP_EV_NONE:
			return 0;
		case RELP_EV_OPENED:
			event_del(o->ev_timer);
			conn_up(o);
			break;
		case RELP_EV_ACK:
			answered(o, ev.cookie);
			break;
		case RELP_EV_REJECT:
			refused(o, &ev);
			break;
		case RELP_EV_SERVERCLOSE:
			conn_lost(o, "the server closed the RELP session "
			    "(serverclose)");
			return -1;
		case RELP_EV_CLOSED:
			closed(o);
			return -1;
		case RELP_EV_ERROR:
			/* while opening conn_lost() says "RELP session: " */
			if (o->state == OS_OPENING)
				conn_lost(o, "%s", relp_session_error(o->relp));
			else
				conn_lost(o, "RELP: %s",
				    relp_session_error(o->relp));
			return -1;
		}
		off += used;
		if (o->state != OS_UP)
			return -1;	/* lost, or shut down */
	}
}

/*
 * output_finish_shutdown() asks: 1 when "close" was sent and the shutdown
 * ends once it is answered (or at the deadline, or when the connection
 * goes), 0 to close the connection now.
 */
int
orelp_close_first(struct output *o)
{
	if (o->state != OS_UP || o->relp_closing != RELP_CLOSE_NONE ||
	    relp_session_state(o->relp) != RELP_OPEN)
		return 0;
	if (!evtimer_pending(o->ev_shut, NULL))
		output_arm_timer(o->ev_shut, o->shut_timeout_ms);
	if (begin_close(o, RELP_CLOSE_SHUTDOWN) == -1)
		return o->state != OS_CLOSED ? 0 : 1;
	log_debug("output \"%s\": shutdown: RELP close sent", o->name);
	return 1;
}
