/*
 * output.c: SIEM destinations (tcp, tls, udp, stdout), each with its own
 * queue of framed messages, reconnect with backoff, and acknowledgement
 * (DESIGN.md sections 3, 4 and 7; reference/syslog-siem.md).
 *
 * Every output keeps the messages it was given, framed, in order, until
 * they are acknowledged:
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
 *  - udp/stdout: a message is acknowledged once written.
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

#include <arpa/inet.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "format.h"
#include "log.h"
#include "output.h"
#include "util.h"

_Static_assert(CONFIG_TLS1_2 == TLS1_2_VERSION &&
    CONFIG_TLS1_3 == TLS1_3_VERSION, "tls.min_version is OpenSSL's");

#define DEFAULT_MAX_MESSAGE	65536
#define UDP_MAX_MESSAGE		65000
#define WIRE_HIGH		(256 * 1024)	/* framed, not yet written */
#define ACK_POLL_MS		25
#define CONNECT_TIMEOUT_MS	10000
#define BACKOFF_MIN_MS		1000
#define BACKOFF_MAX_MS		(5 * 60 * 1000)
#define HEALTHY_MS		(60 * 1000)
#define TLS13_PROBATION_MS	1000
#define MAX_ADDRS		16
#define USER_TIMEOUT_MS		(120 * 1000)

enum ostate {
	OS_IDLE,		/* not started */
	OS_RESOLVING,
	OS_CONNECTING,		/* TCP connect in progress */
	OS_HANDSHAKE,		/* TLS handshake in progress */
	OS_UP,
	OS_BACKOFF,		/* waiting to retry */
	OS_CLOSED,		/* shut down */
};

struct msg {
	TAILQ_ENTRY(msg) entry;
	uint64_t	 seq;
	uint64_t	 end_off;	/* wire offset of the end, this conn */
	int		 sent;		/* framed into the current connection */
	int		 sent_before;	/* framed into an earlier connection */
	size_t		 len;
	char		 data[];	/* framed bytes */
};
TAILQ_HEAD(msgq, msg);

/*
 * A name lookup in flight. Its callback may run after the output is gone
 * (libevent defers it even when the evdns_base is freed), so the output
 * orphans the job instead of cancelling and the callback frees it.
 */
struct dnsjob {
	struct output	*o;
};

struct waiter {
	TAILQ_ENTRY(waiter) entry;
	uint64_t	 seq;
	output_ack_cb	 cb;
	void		*arg;
};
TAILQ_HEAD(waiterq, waiter);

struct output {
	struct event_base	*base;
	const struct output_config *cfg;
	char			*name;
	char			*host;
	char			*server_name;
	int			 port;
	enum output_transport	 transport;
	enum output_framing	 framing;
	size_t			 max_msg;
	size_t			 queue_limit;
	int			 numeric;	/* host is an IP literal */

	enum ostate		 state;
	int			 fd;
	int			 stdout_regular;
	struct evdns_base	*dns;
	struct dnsjob		*dns_job;	/* lookup in progress */
	struct sockaddr_storage	 addrs[MAX_ADDRS];
	socklen_t		 addrlens[MAX_ADDRS];
	int			 naddrs;
	int			 addr_idx;
	char			 peer[INET6_ADDRSTRLEN + 8];

	SSL_CTX			*ctx;
	SSL			*ssl;
	BIO			*wbio;		/* memory BIO: records out */
	int			 tls13;
	int			 confirmed;	/* TLS 1.3: peer accepted us */
	unsigned long		 read_at_handshake;
	int64_t			 handshake_ms;

	struct buf		 wire;		/* bytes for the socket */
	size_t			 wire_off;	/* written part of wire */
	uint64_t		 wire_total;	/* appended this connection */
	uint64_t		 wire_written;	/* written this connection */

	struct msgq		 queue;
	struct msg		*next;		/* first message not framed */
	size_t			 depth;
	uint64_t		 last_seq;
	uint64_t		 acked_seq;

	struct waiterq		 waiters;
	int			 congested;
	int			 queue_full;	/* congested by queue_limit */
	output_congestion_cb	 congestion_cb;
	void			*congestion_arg;

	int64_t			 up_since;
	int			 acked_this_conn;
	int64_t			 backoff_ms;
	int64_t			 retry_ms;	/* the delay just chosen */
	unsigned		 failures;	/* failed attempts in a row */
	unsigned		 drops;		/* connections lost unused */
	int			 ever_connected;
	uint64_t		 lf_replaced;

	const char		*hostname;	/* HOSTNAME of every message */
	char			 hostbuf[256];	/* gethostname() */
	int			 pid;		/* PROCID */
	uint32_t		 sequence;	/* [meta sequenceId], last used */
	struct buf		 msg;		/* the message being formatted */

	int			 shutting_down;
	output_ack_cb		 shut_cb;
	void			*shut_arg;

	struct output_stats	 stats;

	struct event		*ev_read;
	struct event		*ev_write;
	struct event		*ev_timer;	/* connect timeout, backoff */
	struct event		*ev_ack;	/* SIOCOUTQ poll */
	struct event		*ev_waiters;	/* deferred waiter callbacks */
	struct event		*ev_shut;	/* shutdown deadline */
	struct event		*ev_done;	/* deferred shutdown callback */
	struct event		*ev_pump;	/* write after enqueue */
};

static void	 output_connect(struct output *);
static void	 output_pump(struct output *);
static void	 output_lost(struct output *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	 output_attempt_failed(struct output *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	 output_finish_shutdown(struct output *);

static int
is_stream(const struct output *o)
{
	return o->transport == TRANSPORT_TCP || o->transport == TRANSPORT_TLS;
}

static int
is_ip_literal(const char *s)
{
	struct in6_addr	 a6;
	struct in_addr	 a4;

	return inet_pton(AF_INET, s, &a4) == 1 ||
	    inet_pton(AF_INET6, s, &a6) == 1;
}

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

static void
ssl_errors(char *out, size_t len)
{
	unsigned long	 e;
	size_t		 used = 0;
	char		 one[256];

	out[0] = '\0';
	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, one, sizeof(one));
		if (used + strlen(one) + 3 >= len)
			continue;
		used += (size_t)snprintf(out + used, len - used, "%s%s",
		    used ? "; " : "", one);
	}
	if (out[0] == '\0')
		snprintf(out, len, "unknown TLS error");
}

static int64_t
jitter(int64_t ms)
{
	/* uniformly within +-20% */
	return ms * 8 / 10 + (int64_t)arc4random_uniform(
	    (uint32_t)(ms * 4 / 10 + 1));
}

static void
arm_timer(struct event *ev, int64_t ms)
{
	struct timeval	 tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(ev, &tv);
}

static void
set_congested(struct output *o)
{
	int	 c;

	if (o->state != OS_UP && o->transport != TRANSPORT_STDOUT)
		c = 1;
	else if (o->depth > o->queue_limit)
		c = 1;
	else if (o->congested && o->depth >= o->queue_limit / 2 &&
	    o->depth > 0)
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
	if (c && o->depth > o->queue_limit) {
		o->queue_full = 1;
		log_warnx("output \"%s\": congested: %zu messages not yet "
		    "acknowledged, over queue_limit %zu; sources pause until "
		    "fewer than %zu remain", o->name, o->depth, o->queue_limit,
		    o->queue_limit / 2);
	} else if (!c && o->queue_full) {
		o->queue_full = 0;
		log_info("output \"%s\": no longer congested (%zu queued); "
		    "sources resume", o->name, o->depth);
	} else
		log_debug("output \"%s\": %s (%zu queued)", o->name,
		    c ? "congested" : "no longer congested", o->depth);
	if (o->congestion_cb != NULL)
		o->congestion_cb(o, c, o->congestion_arg);
}

/* Remove acknowledged messages from the head of the queue. */
static void
ack_upto(struct output *o, uint64_t wire_acked, int all_sent)
{
	struct msg	*m;
	int		 n = 0;

	while ((m = TAILQ_FIRST(&o->queue)) != NULL && m->sent &&
	    (all_sent || m->end_off <= wire_acked)) {
		if (o->next == m)
			o->next = TAILQ_NEXT(m, entry);
		TAILQ_REMOVE(&o->queue, m, entry);
		o->acked_seq = m->seq;
		o->depth--;
		o->stats.acked++;
		free(m);
		n++;
	}
	if (n == 0)
		return;
	o->acked_this_conn = 1;
	if (TAILQ_EMPTY(&o->waiters) == 0)
		event_active(o->ev_waiters, EV_TIMEOUT, 0);
	set_congested(o);
	if (o->shutting_down && o->depth == 0)
		output_finish_shutdown(o);
}

/* Close the socket of the current connection; nothing else. */
static void
close_conn(struct output *o, int graceful)
{
	char	 tmp[4096];
	int	 n;

	event_del(o->ev_read);
	event_del(o->ev_write);
	event_del(o->ev_ack);
	event_del(o->ev_timer);
	if (o->ssl != NULL) {
		if (graceful) {
			/* RFC 5425 4.4: close_notify, best effort */
			ERR_clear_error();
			(void)SSL_shutdown(o->ssl);
			while ((n = BIO_read(o->wbio, tmp, sizeof(tmp))) > 0)
				(void)send(o->fd, tmp, (size_t)n, MSG_NOSIGNAL);
		}
		SSL_free(o->ssl);
		o->ssl = NULL;
		o->wbio = NULL;
	}
	if (o->fd != -1 && o->transport != TRANSPORT_STDOUT) {
		if (graceful && is_stream(o))
			(void)shutdown(o->fd, SHUT_WR);
		close(o->fd);
	}
	if (o->transport != TRANSPORT_STDOUT)
		o->fd = -1;
	buf_reset(&o->wire);
	o->wire_off = 0;
	o->wire_total = 0;
	o->wire_written = 0;
}

/* Every unacknowledged message goes out again on the next connection. */
static size_t
rewind_queue(struct output *o)
{
	struct msg	*m;
	size_t		 n = 0;

	TAILQ_FOREACH(m, &o->queue, entry) {
		if (m->sent) {
			m->sent = 0;
			m->sent_before = 1;
			n++;
		}
	}
	o->next = TAILQ_FIRST(&o->queue);
	return n;
}

static void
schedule_retry(struct output *o)
{
	int64_t	 delay;

	delay = jitter(o->backoff_ms);
	o->backoff_ms *= 2;
	if (o->backoff_ms > BACKOFF_MAX_MS)
		o->backoff_ms = BACKOFF_MAX_MS;
	o->state = OS_BACKOFF;
	o->retry_ms = delay;
	arm_timer(o->ev_timer, delay);
}

static int
should_log_failure(unsigned n)
{
	return n <= 3 || n % 10 == 0;
}

static void
output_attempt_failed(struct output *o, const char *fmt, ...)
{
	va_list	 ap;
	char	*why;

	va_start(ap, fmt);
	why = xvasprintf(fmt, ap);
	va_end(ap);
	close_conn(o, 0);
	/* another address of the same name first */
	if (o->addr_idx + 1 < o->naddrs && o->state == OS_CONNECTING) {
		log_debug("output \"%s\": %s: %s, trying next address",
		    o->name, o->peer, why);
		free(why);
		o->addr_idx++;
		output_connect(o);
		return;
	}
	o->failures++;
	o->stats.connect_failures++;
	schedule_retry(o);
	if (should_log_failure(o->failures))
		log_warnx("output \"%s\": connecting to %s (%s) failed: %s; "
		    "attempt %u, retrying in %lld s%s", o->name,
		    o->cfg->address, o->peer[0] ? o->peer : "-", why,
		    o->failures, (long long)(o->retry_ms + 500) / 1000,
		    o->failures == 3 ? " (further failures logged every "
		    "10th attempt)" : "");
	free(why);
	set_congested(o);
}

static void
output_lost(struct output *o, const char *fmt, ...)
{
	va_list	 ap;
	char	*why;
	size_t	 n;
	int64_t	 lived;

	va_start(ap, fmt);
	why = xvasprintf(fmt, ap);
	va_end(ap);
	close_conn(o, 0);
	n = rewind_queue(o);
	lived = time_mono_ms() - o->up_since;
	/* a connection that carried data or lasted is a healthy one */
	if (lived >= HEALTHY_MS || o->acked_this_conn) {
		o->backoff_ms = BACKOFF_MIN_MS;
		o->drops = 0;
	} else
		o->drops++;
	schedule_retry(o);
	(o->drops == 0 || should_log_failure(o->drops) ? log_warnx :
	    log_debug)("output \"%s\": connection to %s lost: %s; %zu "
	    "unacknowledged message%s will be sent again; reconnecting in "
	    "about %lld s", o->name, o->peer, why, n, n == 1 ? "" : "s",
	    (long long)(o->retry_ms + 500) / 1000);
	free(why);
	set_congested(o);
}

static void
conn_up(struct output *o)
{
	void	(*logf)(const char *, ...) = log_info;
	char	 queued[64];

	event_del(o->ev_timer);
	o->state = OS_UP;
	o->up_since = time_mono_ms();
	o->acked_this_conn = 0;
	if (o->ever_connected)
		o->stats.reconnects++;
	o->ever_connected = 1;
	/* a server that keeps dropping us: quiet like failed attempts */
	if (o->drops > 0 && !should_log_failure(o->drops))
		logf = log_debug;
	o->failures = 0;
	queued[0] = '\0';
	if (o->depth > 0)
		snprintf(queued, sizeof(queued), ", sending %zu queued "
		    "message%s", o->depth, o->depth == 1 ? "" : "s");
	if (o->ssl != NULL)
		logf("output \"%s\": connected to %s (%s) with %s %s%s",
		    o->name, o->cfg->address, o->peer,
		    SSL_get_version(o->ssl), SSL_get_cipher_name(o->ssl),
		    queued);
	else if (o->transport == TRANSPORT_UDP)
		logf("output \"%s\": sending datagrams to %s (%s)",
		    o->name, o->cfg->address, o->peer);
	else
		logf("output \"%s\": connected to %s (%s)%s", o->name,
		    o->cfg->address, o->peer, queued);
	if (o->transport == TRANSPORT_UDP)
		o->backoff_ms = BACKOFF_MIN_MS;
	output_pump(o);
	if (o->state == OS_UP)
		set_congested(o);
}

/* Move TLS records produced by OpenSSL to the wire buffer. */
static void
drain_wbio(struct output *o)
{
	char	*p;
	long	 n;

	if (o->wbio == NULL)
		return;
	n = BIO_get_mem_data(o->wbio, &p);
	if (n > 0) {
		buf_add(&o->wire, p, (size_t)n);
		o->wire_total += (uint64_t)n;
		(void)BIO_reset(o->wbio);
	}
}

/*
 * Write the wire buffer to the socket. Returns 1 when everything was
 * written, 0 when the socket is full (a write event is armed), -1 on error
 * (errno set).
 */
static int
flush_wire(struct output *o)
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

/* Frame queued messages into the wire buffer up to WIRE_HIGH. */
static int
feed_stream(struct output *o)
{
	struct msg	*m;
	char		 e[512];
	size_t		 left;

	/* keep the buffer bounded when the socket only ever takes part */
	if (o->wire_off >= WIRE_HIGH) {
		left = o->wire.len - o->wire_off;
		memmove(o->wire.data, o->wire.data + o->wire_off, left);
		buf_truncate(&o->wire, left);
		o->wire_off = 0;
	}
	while ((m = o->next) != NULL &&
	    o->wire.len - o->wire_off < WIRE_HIGH) {
		if (o->ssl != NULL) {
			ERR_clear_error();
			if (SSL_write(o->ssl, m->data, (int)m->len) <= 0) {
				ssl_errors(e, sizeof(e));
				output_lost(o, "TLS write: %s", e);
				return -1;
			}
			drain_wbio(o);
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

	if (o->state != OS_UP || !is_stream(o))
		return;
	m = TAILQ_FIRST(&o->queue);
	if (m == NULL || !m->sent)
		return;
	if (ioctl(o->fd, SIOCOUTQ, &outq) == -1) {
		output_lost(o, "SIOCOUTQ: %s", strerror(errno));
		return;
	}
	/* after a reset the send queue is empty: trust it only if alive */
	if (getsockopt(o->fd, IPPROTO_TCP, TCP_INFO, &ti, &tilen) == -1) {
		output_lost(o, "TCP_INFO: %s", strerror(errno));
		return;
	}
	if (ti.tcpi_state != TCP_ESTABLISHED &&
	    ti.tcpi_state != TCP_CLOSE_WAIT)
		return;		/* the read event reports the loss */
	if (o->tls13 && !o->confirmed) {
		if (time_mono_ms() - o->handshake_ms < TLS13_PROBATION_MS) {
			arm_timer(o->ev_ack, ACK_POLL_MS);
			return;
		}
		o->confirmed = 1;
	}
	if (outq < 0 || (uint64_t)outq > o->wire_written) {
		arm_timer(o->ev_ack, ACK_POLL_MS);	/* not usable: later */
		return;
	}
	ack_upto(o, o->wire_written - (uint64_t)outq, 0);
	if (o->state == OS_UP && (m = TAILQ_FIRST(&o->queue)) != NULL &&
	    m->sent)
		arm_timer(o->ev_ack, ACK_POLL_MS);
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
				output_lost(o, "send: %s", strerror(errno));
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
					if (should_log_failure(++o->failures))
						log_warn("output \"%s\": write "
						    "to standard output failed "
						    "(attempt %u), retrying "
						    "every second", o->name,
						    o->failures);
					event_del(o->ev_timer);
					arm_timer(o->ev_timer, BACKOFF_MIN_MS);
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
		ack_upto(o, 0, 1);
		if (o->state == OS_CLOSED)
			return;
	}
}

/*
 * A write failed: a TLS peer usually said why in an alert before the
 * reset (TLS 1.3 client certificate rejected). Read it if it is there.
 */
static void
write_failed(struct output *o)
{
	char	 tmp[512], e[512];
	int	 serr = errno;

	if (o->ssl != NULL) {
		ERR_clear_error();
		if (SSL_read(o->ssl, tmp, sizeof(tmp)) <= 0 &&
		    ERR_peek_error() != 0) {
			ssl_errors(e, sizeof(e));
			output_lost(o, "write: %s; TLS: %s", strerror(serr), e);
			return;
		}
	}
	output_lost(o, "write: %s", strerror(serr));
}

static void
output_pump(struct output *o)
{
	int	 r;

	if (o->state != OS_UP)
		return;
	if (!is_stream(o)) {
		pump_dgram(o);
		return;
	}
	for (;;) {
		if (feed_stream(o) == -1)
			return;
		if ((r = flush_wire(o)) == -1) {
			write_failed(o);
			return;
		}
		if (r == 0 || o->next == NULL)
			break;
	}
	check_acks(o);
}

static void
on_write(evutil_socket_t fd, short what, void *arg)
{
	struct output	*o = arg;
	int		 r;

	if (o->state == OS_HANDSHAKE) {
		if ((r = flush_wire(o)) == -1)
			output_attempt_failed(o, "write: %s",
			    strerror(errno));
		return;
	}
	output_pump(o);
}

static void
tls_verify_failure(struct output *o, char *out, size_t len)
{
	long	 vr;
	char	 e[512];

	vr = SSL_get_verify_result(o->ssl);
	ssl_errors(e, sizeof(e));
	if (vr != X509_V_OK)
		snprintf(out, len, "TLS handshake: certificate of %s not "
		    "accepted: %s (%s)", o->server_name,
		    X509_verify_cert_error_string(vr), e);
	else
		snprintf(out, len, "TLS handshake: %s", e);
}

static void
tls_handshake(struct output *o)
{
	int	 r, err, serr;
	char	 why[1024];

	ERR_clear_error();
	errno = 0;
	r = SSL_connect(o->ssl);
	serr = errno;
	drain_wbio(o);
	if (flush_wire(o) == -1) {
		output_attempt_failed(o, "TLS handshake: write: %s",
		    strerror(errno));
		return;
	}
	if (r == 1) {
		o->tls13 = SSL_version(o->ssl) >= TLS1_3_VERSION;
		o->confirmed = !o->tls13;
		o->read_at_handshake = BIO_number_read(SSL_get_rbio(o->ssl));
		o->handshake_ms = time_mono_ms();
		if (!o->cfg->tls.verify)
			log_warnx("output \"%s\": TLS certificate of %s NOT "
			    "verified (tls.verify is false): the connection "
			    "is open to interception", o->name, o->peer);
		conn_up(o);
		return;
	}
	err = SSL_get_error(o->ssl, r);
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
		return;
	if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
		snprintf(why, sizeof(why), "TLS handshake: %s",
		    serr ? strerror(serr) : "connection closed by the peer");
	else
		tls_verify_failure(o, why, sizeof(why));
	output_attempt_failed(o, "%s", why);
}

/* Readable: TLS handshake input, or data/EOF/reset from the receiver. */
static void
on_read(evutil_socket_t fd, short what, void *arg)
{
	struct output	*o = arg;
	char		 tmp[4096];
	char		 e[512];
	ssize_t		 n;
	int		 r, err;

	if (o->state == OS_HANDSHAKE) {
		tls_handshake(o);
		return;
	}
	if (o->state != OS_UP)
		return;
	if (o->ssl == NULL) {
		for (;;) {
			n = recv(o->fd, tmp, sizeof(tmp), 0);
			if (n > 0)
				continue;	/* receivers do not talk */
			if (n == 0) {
				output_lost(o, "closed by the peer");
				return;
			}
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			output_lost(o, "%s", strerror(errno));
			return;
		}
	}
	for (;;) {
		ERR_clear_error();
		errno = 0;
		r = SSL_read(o->ssl, tmp, sizeof(tmp));
		if (r > 0)
			continue;
		err = SSL_get_error(o->ssl, r);
		drain_wbio(o);
		if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
			break;
		if (err == SSL_ERROR_ZERO_RETURN)
			output_lost(o, "closed by the peer (close_notify)");
		else if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
			output_lost(o, "%s", errno ? strerror(errno) :
			    "closed by the peer");
		else {
			ssl_errors(e, sizeof(e));
			output_lost(o, "TLS: %s", e);
		}
		return;
	}
	/* a post-handshake record (session ticket): the server accepted us */
	if (!o->confirmed &&
	    BIO_number_read(SSL_get_rbio(o->ssl)) > o->read_at_handshake)
		o->confirmed = 1;
	output_pump(o);
}

static void
start_tls(struct output *o)
{
	BIO			*rbio;
	X509_VERIFY_PARAM	*vp;
	char			 e[512];

	ERR_clear_error();
	if ((o->ssl = SSL_new(o->ctx)) == NULL)
		goto fail;
	rbio = BIO_new_socket(o->fd, BIO_NOCLOSE);
	o->wbio = BIO_new(BIO_s_mem());
	if (rbio == NULL || o->wbio == NULL) {
		BIO_free(rbio);
		BIO_free(o->wbio);
		o->wbio = NULL;
		goto fail;
	}
	SSL_set_bio(o->ssl, rbio, o->wbio);
	if (is_ip_literal(o->server_name)) {
		/* RFC 6066 3: no IP literal in SNI */
		vp = SSL_get0_param(o->ssl);
		if (o->cfg->tls.verify &&
		    X509_VERIFY_PARAM_set1_ip_asc(vp, o->server_name) != 1)
			goto fail;
	} else {
		if (SSL_set_tlsext_host_name(o->ssl, o->server_name) != 1)
			goto fail;
		SSL_set_hostflags(o->ssl,
		    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (o->cfg->tls.verify &&
		    SSL_set1_host(o->ssl, o->server_name) != 1)
			goto fail;
	}
	o->state = OS_HANDSHAKE;
	tls_handshake(o);
	return;
fail:
	ssl_errors(e, sizeof(e));
	output_attempt_failed(o, "TLS setup: %s", e);
}

static void
on_connected(evutil_socket_t fd, short what, void *arg)
{
	struct output	*o = arg;
	int		 err = 0;
	socklen_t	 len = sizeof(err);

	if (what & EV_TIMEOUT) {
		output_attempt_failed(o, "%s timed out after %d s",
		    o->state == OS_HANDSHAKE ? "TLS handshake" : "connect",
		    CONNECT_TIMEOUT_MS / 1000);
		return;
	}
	if (getsockopt(o->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		output_attempt_failed(o, "%s", strerror(err));
		return;
	}
	event_assign(o->ev_write, o->base, o->fd, EV_WRITE, on_write, o);
	event_add(o->ev_read, NULL);
	if (o->transport == TRANSPORT_TLS)
		start_tls(o);
	else
		conn_up(o);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct output	*o = arg;

	switch (o->state) {
	case OS_BACKOFF:
		output_connect(o);
		break;
	case OS_CONNECTING:
	case OS_HANDSHAKE:
		output_attempt_failed(o, "%s timed out after %d s",
		    o->state == OS_HANDSHAKE ? "TLS handshake" : "connect",
		    CONNECT_TIMEOUT_MS / 1000);
		break;
	case OS_UP:
		output_pump(o);		/* stdout retry */
		break;
	default:
		break;
	}
}

static void
on_ack_timer(evutil_socket_t fd, short what, void *arg)
{
	check_acks(arg);
}

static void
on_pump(evutil_socket_t fd, short what, void *arg)
{
	output_pump(arg);
}

static void
set_stream_options(struct output *o)
{
	int	 one = 1, idle = 60, intvl = 10, cnt = 6;
	unsigned ut = USER_TIMEOUT_MS;

	(void)setsockopt(o->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	(void)setsockopt(o->fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle,
	    sizeof(idle));
	(void)setsockopt(o->fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl,
	    sizeof(intvl));
	(void)setsockopt(o->fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	/* unacknowledged data for this long: the peer is gone */
	(void)setsockopt(o->fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ut,
	    sizeof(ut));
}

/* Connect to addrs[addr_idx]. */
static void
connect_addr(struct output *o)
{
	struct sockaddr	*sa = (struct sockaddr *)&o->addrs[o->addr_idx];
	char		 h[INET6_ADDRSTRLEN];
	int		 type, r;

	h[0] = '\0';
	if (sa->sa_family == AF_INET6) {
		inet_ntop(AF_INET6,
		    &((struct sockaddr_in6 *)sa)->sin6_addr, h, sizeof(h));
		snprintf(o->peer, sizeof(o->peer), "[%s]:%d", h, o->port);
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, h,
		    sizeof(h));
		snprintf(o->peer, sizeof(o->peer), "%s:%d", h, o->port);
	}
	type = is_stream(o) ? SOCK_STREAM : SOCK_DGRAM;
	o->fd = socket(sa->sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (o->fd == -1) {
		o->state = OS_CONNECTING;
		output_attempt_failed(o, "socket: %s", strerror(errno));
		return;
	}
	event_assign(o->ev_read, o->base, o->fd, EV_READ | EV_PERSIST,
	    on_read, o);
	if (is_stream(o))
		set_stream_options(o);
	o->state = OS_CONNECTING;
	do
		r = connect(o->fd, sa, o->addrlens[o->addr_idx]);
	while (r == -1 && errno == EINTR);
	if (r == -1 && errno != EINPROGRESS) {
		output_attempt_failed(o, "%s", strerror(errno));
		return;
	}
	if (!is_stream(o)) {
		event_assign(o->ev_write, o->base, o->fd, EV_WRITE, on_write,
		    o);
		conn_up(o);
		return;
	}
	/* the connect completes when the socket is writable */
	event_assign(o->ev_write, o->base, o->fd, EV_WRITE, on_connected, o);
	event_add(o->ev_write, NULL);
	arm_timer(o->ev_timer, CONNECT_TIMEOUT_MS);
	if (r == 0)
		event_active(o->ev_write, EV_WRITE, 0);
}

static void
set_addrs(struct output *o, const struct evutil_addrinfo *ai)
{
	o->naddrs = 0;
	o->addr_idx = 0;
	for (; ai != NULL && o->naddrs < MAX_ADDRS; ai = ai->ai_next) {
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		if (ai->ai_addrlen > sizeof(o->addrs[0]))
			continue;
		memcpy(&o->addrs[o->naddrs], ai->ai_addr, ai->ai_addrlen);
		o->addrlens[o->naddrs] = (socklen_t)ai->ai_addrlen;
		o->naddrs++;
	}
}

static void
resolved(struct output *o, int result, struct evutil_addrinfo *res)
{
	if (result != 0) {
		o->state = OS_RESOLVING;
		output_attempt_failed(o, "resolving %s: %s", o->host,
		    evutil_gai_strerror(result));
		return;
	}
	set_addrs(o, res);
	evutil_freeaddrinfo(res);
	if (o->naddrs == 0) {
		output_attempt_failed(o, "resolving %s: no IPv4/IPv6 address",
		    o->host);
		return;
	}
	connect_addr(o);
}

static void
on_resolved(int result, struct evutil_addrinfo *res, void *arg)
{
	struct dnsjob	*job = arg;
	struct output	*o = job->o;

	free(job);
	if (o == NULL) {		/* orphaned: the output went away */
		if (result == 0 && res != NULL)
			evutil_freeaddrinfo(res);
		return;
	}
	o->dns_job = NULL;
	resolved(o, result, res);
}

static void
orphan_dns(struct output *o)
{
	if (o->dns_job != NULL) {
		o->dns_job->o = NULL;
		o->dns_job = NULL;
	}
}

/*
 * Resolve (every attempt: the address may have moved) and connect. An IP
 * literal skips DNS; names go through evdns so the loop never blocks.
 */
static void
output_connect(struct output *o)
{
	struct evutil_addrinfo	 hints, *res = NULL;
	struct dnsjob		*job;
	char			 port[8];
	int			 r;

	if (o->naddrs > 0 && o->addr_idx < o->naddrs &&
	    o->state == OS_CONNECTING) {
		connect_addr(o);	/* next address of the last lookup */
		return;
	}
	o->peer[0] = '\0';
	o->naddrs = 0;
	o->addr_idx = 0;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = is_stream(o) ? SOCK_STREAM : SOCK_DGRAM;
	hints.ai_protocol = is_stream(o) ? IPPROTO_TCP : IPPROTO_UDP;
	hints.ai_flags = EVUTIL_AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", o->port);
	if (o->numeric) {
		hints.ai_flags |= EVUTIL_AI_NUMERICHOST;
		if ((r = evutil_getaddrinfo(o->host, port, &hints, &res)) !=
		    0) {
			o->state = OS_RESOLVING;
			output_attempt_failed(o, "address %s: %s", o->host,
			    evutil_gai_strerror(r));
			return;
		}
		resolved(o, 0, res);
		return;
	}
	o->state = OS_RESOLVING;
	job = xcalloc(1, sizeof(*job));
	job->o = o;
	o->dns_job = job;
	/* the callback may run before this returns (/etc/hosts) */
	(void)evdns_getaddrinfo(o->dns, o->host, port, &hints, on_resolved,
	    job);
}

static void
on_waiters(evutil_socket_t fd, short what, void *arg)
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

static void
on_shutdown_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct output	*o = arg;

	log_warnx("output \"%s\": shutdown: %zu message%s not acknowledged "
	    "in time; they are not committed and will be fetched again",
	    o->name, o->depth, o->depth == 1 ? "" : "s");
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

static void
output_finish_shutdown(struct output *o)
{
	if (o->state == OS_CLOSED)
		return;
	event_del(o->ev_shut);
	orphan_dns(o);
	close_conn(o, o->state == OS_UP);
	o->state = OS_CLOSED;
	event_active(o->ev_done, EV_TIMEOUT, 0);
}

static int
setup_tls(struct output *o)
{
	const struct output_tls	*t = &o->cfg->tls;
	char			 e[512];
	int			 minv;

	ERR_clear_error();
	if ((o->ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		goto fail;
	minv = t->min_version ? t->min_version : TLS1_2_VERSION;
	if (SSL_CTX_set_min_proto_version(o->ctx, minv) != 1)
		goto fail;
	/* no 0-RTT (RFC 9662): early data is never written */
	SSL_CTX_set_max_early_data(o->ctx, 0);
	SSL_CTX_set_mode(o->ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (t->verify) {
		SSL_CTX_set_verify(o->ctx, SSL_VERIFY_PEER, NULL);
		if (t->ca_file != NULL) {
			if (SSL_CTX_load_verify_locations(o->ctx, t->ca_file,
			    NULL) != 1) {
				ssl_errors(e, sizeof(e));
				log_warnx("output \"%s\": tls.ca_file %s: %s",
				    o->name, t->ca_file, e);
				return -1;
			}
		} else if (SSL_CTX_set_default_verify_paths(o->ctx) != 1)
			goto fail;
	} else {
		SSL_CTX_set_verify(o->ctx, SSL_VERIFY_NONE, NULL);
		log_warnx("output \"%s\": tls.verify is false: the server "
		    "certificate is not checked", o->name);
	}
	if (t->cert_file != NULL) {
		if (SSL_CTX_use_certificate_chain_file(o->ctx,
		    t->cert_file) != 1 ||
		    SSL_CTX_use_PrivateKey_file(o->ctx,
		    t->key_file ? t->key_file : t->cert_file,
		    SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(o->ctx) != 1) {
			ssl_errors(e, sizeof(e));
			log_warnx("output \"%s\": client certificate %s: %s",
			    o->name, t->cert_file, e);
			return -1;
		}
	}
	return 0;
fail:
	ssl_errors(e, sizeof(e));
	log_warnx("output \"%s\": TLS setup: %s", o->name, e);
	return -1;
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
	o->framing = cfg->transport == TRANSPORT_STDOUT ? FRAMING_LF :
	    cfg->transport == TRANSPORT_UDP ? FRAMING_NONE : cfg->framing;
	o->max_msg = cfg->max_message_size ? cfg->max_message_size :
	    DEFAULT_MAX_MESSAGE;
	if (o->transport == TRANSPORT_UDP && o->max_msg > UDP_MAX_MESSAGE)
		o->max_msg = UDP_MAX_MESSAGE;
	o->queue_limit = cfg->queue_limit ? cfg->queue_limit : 10000;
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
	o->ev_read = event_new(base, -1, 0, on_read, o);
	o->ev_write = event_new(base, -1, 0, on_write, o);
	o->ev_timer = evtimer_new(base, on_timer, o);
	o->ev_ack = evtimer_new(base, on_ack_timer, o);
	o->ev_waiters = evtimer_new(base, on_waiters, o);
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
	o->numeric = is_ip_literal(o->host);
	if (!o->numeric) {
		if ((o->dns = evdns_base_new(base, 0)) == NULL) {
			log_warnx("output \"%s\": cannot set up DNS", o->name);
			goto fail;
		}
		/* errors fall back to a local nameserver; hosts file loaded */
		(void)evdns_base_resolv_conf_parse(o->dns, DNS_OPTIONS_ALL,
		    "/etc/resolv.conf");
	}
	if (o->transport == TRANSPORT_TLS) {
		o->server_name = xstrdup(cfg->tls.server_name ?
		    cfg->tls.server_name : cfg->host);
		if (setup_tls(o) == -1)
			goto fail;
	}
	return o;
fail:
	output_free(o);
	return NULL;
}

void
output_free(struct output *o)
{
	struct msg	*m;
	struct waiter	*w;

	if (o == NULL)
		return;
	orphan_dns(o);
	close_conn(o, 0);
	while ((m = TAILQ_FIRST(&o->queue)) != NULL) {
		TAILQ_REMOVE(&o->queue, m, entry);
		free(m);
	}
	while ((w = TAILQ_FIRST(&o->waiters)) != NULL) {
		TAILQ_REMOVE(&o->waiters, w, entry);
		free(w);
	}
	/* fail_requests: pending lookups end with DNS_ERR_SHUTDOWN, which
	 * libevent handles without touching the freed base */
	if (o->dns != NULL)
		evdns_base_free(o->dns, 1);
	SSL_CTX_free(o->ctx);
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

int
output_start(struct output *o)
{
	struct stat	 st;
	int		 fl;

	if (o->state != OS_IDLE)
		return 0;
	if (o->transport != TRANSPORT_STDOUT) {
		o->state = OS_RESOLVING;
		output_connect(o);
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
		event_assign(o->ev_write, o->base, o->fd, EV_WRITE, on_write,
		    o);
	}
	snprintf(o->peer, sizeof(o->peer), "stdout");
	o->state = OS_UP;
	o->ever_connected = 1;
	output_pump(o);
	return 0;
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
	m->sent = m->sent_before = 0;
	m->end_off = 0;
	TAILQ_INSERT_TAIL(&o->queue, m, entry);
	if (o->next == NULL)
		o->next = m;
	o->depth++;
	o->stats.enqueued++;
	/* written from the loop: a burst of enqueues becomes one write */
	if (o->state == OS_UP && !event_pending(o->ev_pump, EV_TIMEOUT, NULL))
		event_active(o->ev_pump, EV_TIMEOUT, 0);
	set_congested(o);
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

unsigned
output_failures(const struct output *o)
{
	return o->failures + o->drops;
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

void
output_shutdown(struct output *o, int64_t timeout_ms, output_ack_cb cb,
    void *arg)
{
	if (o->shutting_down) {
		log_warnx("output \"%s\": shutdown requested twice", o->name);
		return;
	}
	o->shutting_down = 1;
	o->shut_cb = cb;
	o->shut_arg = arg;
	if (o->depth == 0 || o->state == OS_IDLE) {
		output_finish_shutdown(o);
		return;
	}
	log_info("output \"%s\": shutting down, waiting up to %lld ms for "
	    "%zu message%s to be acknowledged", o->name,
	    (long long)timeout_ms, o->depth, o->depth == 1 ? "" : "s");
	arm_timer(o->ev_shut, timeout_ms);
}

uint64_t
output_lf_replaced(const struct output *o)
{
	return o->lf_replaced;
}
