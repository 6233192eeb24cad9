/*
 * output.c: one SIEM destination (DESIGN.md sections 3, 4 and 7;
 * reference/syslog-siem.md): the transport table, the life cycle (new,
 * start, graceful shutdown, free) and the pumps that move queued messages
 * to the socket or standard output. The queue is output_queue.c, the
 * connection output_conn.c, TLS output_tls.c.
 *
 * Every output keeps the messages it was given, framed, in order, until
 * they are acknowledged. How a written message becomes acknowledged is the
 * transport's acks hook:
 *  - tcp/tls: the bytes of each message end at a known offset of the byte
 *    stream written to the socket on the current connection (for TLS the
 *    offset counts TLS record bytes: OpenSSL writes into a memory BIO and
 *    this file writes the socket itself). A message is acknowledged once
 *    written - SIOCOUTQ (the bytes the peer's TCP stack acknowledged)
 *    reaches its end offset. A TLS 1.3 server checks the client
 *    certificate after our first writes, so on a TLS 1.3 connection
 *    nothing is acknowledged until the server proved it accepted us (a
 *    post-handshake record such as a session ticket arrived) or the
 *    connection survived TLS13_PROBATION_MS;
 *  - relp (output_relp.c): a message is acknowledged when the receiving
 *    application answers "rsp 200" to its RELP transaction; answers may
 *    come in any order, the queue acknowledges the oldest messages once
 *    all older ones are answered;
 *  - udp/stdout: no hook; a message is acknowledged once written.
 * When a connection breaks every unacknowledged message is sent again on
 * the next one. Only a bounded window of bytes (WIRE_HIGH) is framed into
 * the socket buffer at once, so memory is the queue plus a constant.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "config.h"
#include "log.h"
#include "output.h"
#include "output_int.h"
#include "util.h"

static void	 pump_stream(struct output *);
static void	 pump_dgram(struct output *);
static void	 check_acks(struct output *);

static const struct transport transports[] = {
	[TRANSPORT_TCP] = { 1, pump_stream, check_acks, NULL },
	[TRANSPORT_TLS] = { 1, pump_stream, check_acks, NULL },
	[TRANSPORT_UDP] = { 0, pump_dgram, NULL, NULL },
	[TRANSPORT_STDOUT] = { 0, pump_dgram, NULL, NULL },
	[TRANSPORT_RELP] = { 1, orelp_pump, orelp_deadline, orelp_input },
};

int
output_is_stream(const struct output *o)
{
	return o->tp->stream;
}

void
output_arm_timer(struct event *ev, int64_t ms)
{
	struct timeval	 tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(ev, &tv);
}

/*
 * Write the wire buffer to the socket. Returns 1 when everything was
 * written, 0 when the socket is full (a write event is armed), -1 on error
 * (errno set).
 */
int
output_flush_wire(struct output *o)
{
	ssize_t	 n;

	while (o->wire_off < o->wire.len) {
		n = send(o->fd, o->wire.data + o->wire_off,
		    o->wire.len - o->wire_off, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				event_add(o->ev_write, NULL);
				return 0;
			}
			return -1;
		}
		o->wire_off += (size_t)n;
		o->wire_written += (uint64_t)n;
		o->stats.bytes_sent += (uint64_t)n;
	}
	buf_reset(&o->wire);
	o->wire_off = 0;
	return 1;
}

/* Keep the buffer bounded when the socket only ever takes part. */
void
output_wire_compact(struct output *o)
{
	size_t	 left;

	if (o->wire_off >= WIRE_HIGH) {
		left = o->wire.len - o->wire_off;
		memmove(o->wire.data, o->wire.data + o->wire_off, left);
		buf_truncate(&o->wire, left);
		o->wire_off = 0;
	}
}

/* Frame queued messages into the wire buffer up to WIRE_HIGH. */
static int
feed_stream(struct output *o)
{
	struct msg	*m;

	output_wire_compact(o);
	while ((m = o->next) != NULL &&
	    o->wire.len - o->wire_off < WIRE_HIGH) {
		if (o->ssl != NULL) {
			if (tls_write(o, m->data, m->len) == -1)
				return -1;
		} else {
			buf_add(&o->wire, m->data, m->len);
			o->wire_total += m->len;
		}
		m->end_off = o->wire_total;
		m->sent = 1;
		if (m->sent_before)
			o->stats.resent++;
		o->next = TAILQ_NEXT(m, entry);
	}
	return 0;
}

static void
check_acks(struct output *o)
{
	struct tcp_info	 ti;
	socklen_t	 tilen = sizeof(ti);
	int		 outq;
	struct msg	*m;

	if (o->state != OS_UP || !output_is_stream(o))
		return;
	m = TAILQ_FIRST(&o->queue);
	if (m == NULL || !m->sent)
		return;
	if (ioctl(o->fd, SIOCOUTQ, &outq) == -1) {
		conn_lost(o, "SIOCOUTQ: %s", strerror(errno));
		return;
	}
	/* after a reset the send queue is empty: trust it only if alive */
	if (getsockopt(o->fd, IPPROTO_TCP, TCP_INFO, &ti, &tilen) == -1) {
		conn_lost(o, "TCP_INFO: %s", strerror(errno));
		return;
	}
	if (ti.tcpi_state != TCP_ESTABLISHED &&
	    ti.tcpi_state != TCP_CLOSE_WAIT)
		return;		/* the read event reports the loss */
	if (o->tls13 && !o->confirmed) {
		if (time_mono_ms() - o->handshake_ms < TLS13_PROBATION_MS) {
			output_arm_timer(o->ev_ack, ACK_POLL_MS);
			return;
		}
		o->confirmed = 1;
	}
	if (outq < 0 || (uint64_t)outq > o->wire_written) {
		output_arm_timer(o->ev_ack, ACK_POLL_MS);	/* not usable: later */
		return;
	}
	queue_ack_upto(o, o->wire_written - (uint64_t)outq, 0);
	if (o->state == OS_UP && (m = TAILQ_FIRST(&o->queue)) != NULL &&
	    m->sent)
		output_arm_timer(o->ev_ack, ACK_POLL_MS);
}

/* udp and stdout: write whole messages; each is acknowledged once written. */
static void
pump_dgram(struct output *o)
{
	struct msg	*m;
	ssize_t		 n;
	size_t		 off;
	int		 refused = 0;

	while ((m = TAILQ_FIRST(&o->queue)) != NULL) {
		if (o->transport == TRANSPORT_UDP) {
			n = send(o->fd, m->data, m->len, MSG_NOSIGNAL);
			if (n == -1 && errno == ECONNREFUSED && !refused++)
				continue;	/* an earlier datagram's ICMP */
			if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
				event_add(o->ev_write, NULL);
				return;
			}
			if (n == -1) {
				conn_lost(o, "send: %s", strerror(errno));
				return;
			}
			off = m->len;
		} else {
			/* stdout: a message may be written in parts */
			off = m->end_off;
			while (off < m->len) {
				n = write(o->fd, m->data + off, m->len - off);
				if (n == -1 && errno == EINTR)
					continue;
				if (n == -1 && errno == EAGAIN &&
				    !o->stdout_regular) {
					m->end_off = off;
					event_add(o->ev_write, NULL);
					return;
				}
				if (n == -1) {
					m->end_off = off;
					if (conn_should_log(++o->failures))
						log_warn("output \"%s\": write "
						    "to standard output failed "
						    "(attempt %u), retrying "
						    "every second", o->name,
						    o->failures);
					event_del(o->ev_timer);
					output_arm_timer(o->ev_timer, BACKOFF_MIN_MS);
					return;
				}
				off += (size_t)n;
			}
		}
		o->stats.bytes_sent += off;
		refused = 0;
		if (o->failures > 0 && o->transport == TRANSPORT_STDOUT) {
			log_info("output \"%s\": standard output writable "
			    "again", o->name);
			o->failures = 0;
		}
		m->sent = 1;
		queue_ack_upto(o, 0, 1);
		if (o->state == OS_CLOSED)
			return;
	}
}

/*
 * A write failed: a TLS peer usually said why in an alert before the
 * reset (TLS 1.3 client certificate rejected). Read it if it is there.
 */
void
output_write_failed(struct output *o)
{
	char	 e[512];
	int	 serr = errno;

	if (o->ssl != NULL && tls_alert(o, e, sizeof(e))) {
		conn_lost(o, "write: %s; TLS: %s", strerror(serr), e);
		return;
	}
	conn_lost(o, "write: %s", strerror(serr));
}

/* tcp, tls: frame into the wire buffer, write, then look for acks. */
static void
pump_stream(struct output *o)
{
	int	 r;

	for (;;) {
		if (feed_stream(o) == -1)
			return;
		if ((r = output_flush_wire(o)) == -1) {
			output_write_failed(o);
			return;
		}
		if (r == 0 || o->next == NULL)
			break;
	}
	o->tp->acks(o);
}

void
output_pump(struct output *o)
{
	if (o->state != OS_UP)
		return;
	o->tp->pump(o);
}

void
output_on_write(evutil_socket_t fd, short what, void *arg)
{
	struct output	*o = arg;
	int		 r;

	if (o->state == OS_HANDSHAKE || o->state == OS_OPENING) {
		if ((r = output_flush_wire(o)) == -1)
			conn_attempt_failed(o, "write: %s",
			    strerror(errno));
		return;
	}
	output_pump(o);
}

/*
 * Readable: TLS handshake input, or data/EOF/reset from the receiver.
 * Syslog receivers do not talk; a RELP server answers (the input hook).
 */
void
output_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct output	*o = arg;
	char		 tmp[16384];
	ssize_t		 n;

	if (o->state == OS_HANDSHAKE) {
		tls_handshake(o);
		return;
	}
	if (o->state != OS_UP && o->state != OS_OPENING)
		return;
	if (o->ssl == NULL) {
		for (;;) {
			n = recv(o->fd, tmp, sizeof(tmp), 0);
			if (n > 0) {
				if (o->tp->input != NULL &&
				    o->tp->input(o, tmp, (size_t)n) == -1)
					return;
				continue;
			}
			if (n == 0) {
				conn_lost(o, "closed by the peer");
				return;
			}
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			conn_lost(o, "%s", strerror(errno));
			return;
		}
		if (o->tp->input == NULL)
			return;
	} else if (tls_read(o) == -1)
		return;
	output_pump(o);
}

static void
on_ack_timer(evutil_socket_t fd, short what, void *arg)
{
	struct output	*o = arg;

	o->tp->acks(o);
}

static void
on_pump(evutil_socket_t fd, short what, void *arg)
{
	output_pump(arg);
}

static void
on_shutdown_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct output	*o = arg;

	if (o->depth == 0)
		/* relp: everything answered, but not the close */
		log_warnx("output \"%s\": shutdown: no answer to the RELP "
		    "close in time; closing the connection", o->name);
	else
		log_warnx("output \"%s\": shutdown: %zu message%s not "
		    "acknowledged in time; they are not committed and will "
		    "be fetched again", o->name, o->depth,
		    o->depth == 1 ? "" : "s");
	o->relp_closing = RELP_CLOSE_SHUTDOWN;	/* no close to wait for */
	output_finish_shutdown(o);
}

static void
on_done(evutil_socket_t fd, short what, void *arg)
{
	struct output	*o = arg;
	output_ack_cb	 cb = o->shut_cb;
	void		*cbarg = o->shut_arg;

	o->shut_cb = NULL;
	if (cb != NULL)
		cb(cbarg);	/* may free o */
}

void
output_finish_shutdown(struct output *o)
{
	if (o->state == OS_CLOSED)
		return;
	/* relp: "close" first, the rest once it is answered */
	if (o->relp != NULL && orelp_close_first(o))
		return;
	event_del(o->ev_shut);
	conn_orphan_dns(o);
	conn_close(o, o->state == OS_UP);
	o->state = OS_CLOSED;
	event_active(o->ev_done, EV_TIMEOUT, 0);
}

struct output *
output_new(struct event_base *base, const struct output_config *cfg)
{
	struct output	*o;

	o = xcalloc(1, sizeof(*o));
	o->base = base;
	o->cfg = cfg;
	o->fd = -1;
	o->name = xstrdup(cfg->name ? cfg->name : "-");
	o->transport = cfg->transport;
	o->tp = &transports[cfg->transport];
	o->framing = cfg->transport == TRANSPORT_STDOUT ? FRAMING_LF :
	    cfg->transport == TRANSPORT_UDP ||
	    cfg->transport == TRANSPORT_RELP ? FRAMING_NONE : cfg->framing;
	o->max_msg = cfg->max_message_size ? cfg->max_message_size :
	    DEFAULT_MAX_MESSAGE;
	if (o->transport == TRANSPORT_UDP && o->max_msg > UDP_MAX_MESSAGE)
		o->max_msg = UDP_MAX_MESSAGE;
	o->queue_limit = cfg->queue_limit ? cfg->queue_limit : 10000;
	o->queue_limit_bytes = cfg->queue_limit_bytes ?
	    cfg->queue_limit_bytes : CONFIG_QUEUE_BYTES_DEFAULT;
	o->backoff_ms = BACKOFF_MIN_MS;
	if (gethostname(o->hostbuf, sizeof(o->hostbuf)) == -1)
		snprintf(o->hostbuf, sizeof(o->hostbuf), "-");
	o->hostbuf[sizeof(o->hostbuf) - 1] = '\0';
	o->hostname = cfg->hostname != NULL ? cfg->hostname : o->hostbuf;
	o->pid = (int)getpid();
	buf_init(&o->msg);
	TAILQ_INIT(&o->queue);
	TAILQ_INIT(&o->waiters);
	buf_init(&o->wire);
	o->ev_read = event_new(base, -1, 0, output_on_read, o);
	o->ev_write = event_new(base, -1, 0, output_on_write, o);
	o->ev_timer = evtimer_new(base, conn_on_timer, o);
	o->ev_ack = evtimer_new(base, on_ack_timer, o);
	o->ev_waiters = evtimer_new(base, queue_on_waiters, o);
	o->ev_shut = evtimer_new(base, on_shutdown_deadline, o);
	o->ev_done = evtimer_new(base, on_done, o);
	o->ev_pump = evtimer_new(base, on_pump, o);
	if (o->ev_read == NULL || o->ev_write == NULL ||
	    o->ev_timer == NULL || o->ev_ack == NULL ||
	    o->ev_waiters == NULL || o->ev_shut == NULL ||
	    o->ev_done == NULL || o->ev_pump == NULL)
		fatalx("output \"%s\": out of memory for events", o->name);
	if (o->transport == TRANSPORT_STDOUT) {
		o->congested = 0;
		return o;
	}
	o->congested = 1;	/* down until connected */
	if (cfg->host == NULL || cfg->port <= 0) {
		log_warnx("output \"%s\": no address", o->name);
		goto fail;
	}
	o->host = xstrdup(cfg->host);
	o->port = cfg->port;
	o->numeric = conn_is_ip_literal(o->host);
	if (!o->numeric) {
		if ((o->dns = evdns_base_new(base, 0)) == NULL) {
			log_warnx("output \"%s\": cannot set up DNS", o->name);
			goto fail;
		}
		/* errors fall back to a local nameserver; hosts file loaded */
		(void)evdns_base_resolv_conf_parse(o->dns, DNS_OPTIONS_ALL,
		    "/etc/resolv.conf");
	}
	if (o->transport == TRANSPORT_TLS ||
	    (o->transport == TRANSPORT_RELP && cfg->relp_tls)) {
		o->server_name = xstrdup(cfg->tls.server_name ?
		    cfg->tls.server_name : cfg->host);
		if (tls_setup(o) == -1)
			goto fail;
	}
	if (o->transport == TRANSPORT_RELP && orelp_new(o) == -1)
		goto fail;
	return o;
fail:
	output_free(o);
	return NULL;
}

void
output_free(struct output *o)
{

	if (o == NULL)
		return;
	conn_orphan_dns(o);
	conn_close(o, 0);
	queue_clear(o);
	/* fail_requests: pending lookups end with DNS_ERR_SHUTDOWN, which
	 * libevent handles without touching the freed base */
	if (o->dns != NULL)
		evdns_base_free(o->dns, 1);
	tls_free(o);
	orelp_free(o);
	if (o->ev_read)
		event_free(o->ev_read);
	if (o->ev_write)
		event_free(o->ev_write);
	if (o->ev_timer)
		event_free(o->ev_timer);
	if (o->ev_ack)
		event_free(o->ev_ack);
	if (o->ev_waiters)
		event_free(o->ev_waiters);
	if (o->ev_shut)
		event_free(o->ev_shut);
	if (o->ev_done)
		event_free(o->ev_done);
	if (o->ev_pump)
		event_free(o->ev_pump);
	buf_free(&o->wire);
	buf_free(&o->msg);
	free(o->name);
	free(o->host);
	free(o->server_name);
	free(o);
}

const char *
output_name(const struct output *o)
{
	return o->name;
}

const char *
output_peer(const struct output *o)
{
	return o->peer;
}

const char *
output_tls_version(const struct output *o)
{
	return o->ssl != NULL && o->state == OS_UP ? tls_version(o) : NULL;
}

const char *
output_last_error(const struct output *o)
{
	return o->last_error;
}

int
output_start(struct output *o)
{
	struct stat	 st;
	int		 fl;

	if (o->state != OS_IDLE)
		return 0;
	if (o->transport != TRANSPORT_STDOUT) {
		o->state = OS_RESOLVING;
		conn_connect(o);
		return 0;
	}
	o->fd = STDOUT_FILENO;
	if (fstat(o->fd, &st) == -1) {
		log_warn("output \"%s\": standard output", o->name);
		return -1;
	}
	/* epoll cannot watch regular files: those are written directly */
	o->stdout_regular = S_ISREG(st.st_mode);
	if (!o->stdout_regular) {
		if ((fl = fcntl(o->fd, F_GETFL)) != -1)
			(void)fcntl(o->fd, F_SETFL, fl | O_NONBLOCK);
		event_assign(o->ev_write, o->base, o->fd, EV_WRITE, output_on_write,
		    o);
	}
	snprintf(o->peer, sizeof(o->peer), "stdout");
	o->state = OS_UP;
	o->ever_connected = 1;
	output_pump(o);
	return 0;
}

void
output_shutdown(struct output *o, int64_t timeout_ms, output_ack_cb cb,
    void *arg)
{
	if (o->shutting_down) {
		log_warnx("output \"%s\": shutdown requested twice", o->name);
		return;
	}
	o->shutting_down = 1;
	o->shut_timeout_ms = timeout_ms;
	o->shut_cb = cb;
	o->shut_arg = arg;
	if (o->depth == 0 || o->state == OS_IDLE) {
		output_finish_shutdown(o);
		return;
	}
	log_info("output \"%s\": shutting down, waiting up to %lld ms for "
	    "%zu message%s to be acknowledged", o->name,
	    (long long)timeout_ms, o->depth, o->depth == 1 ? "" : "s");
	output_arm_timer(o->ev_shut, timeout_ms);
}
