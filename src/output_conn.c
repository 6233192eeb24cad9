/*
 * output_conn.c: an output's connection: resolve the name (evdns, every
 * attempt), connect to each address in turn, keep-alive and user timeout,
 * back off with jitter after a failure, and report a lost connection (its
 * unacknowledged messages go out again on the next one).
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
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

int
conn_is_ip_literal(const char *s)
{
	struct in6_addr	 a6;
	struct in_addr	 a4;

	return inet_pton(AF_INET, s, &a4) == 1 ||
	    inet_pton(AF_INET6, s, &a6) == 1;
}

static int64_t
jitter(int64_t ms)
{
	/* uniformly within +-20% */
	return ms * 8 / 10 + (int64_t)arc4random_uniform(
	    (uint32_t)(ms * 4 / 10 + 1));
}

/* Close the socket of the current connection; nothing else. */
void
conn_close(struct output *o, int graceful)
{
	event_del(o->ev_read);
	event_del(o->ev_write);
	event_del(o->ev_ack);
	event_del(o->ev_timer);
	tls_close(o, graceful);
	if (o->fd != -1 && o->transport != TRANSPORT_STDOUT) {
		if (graceful && output_is_stream(o))
			(void)shutdown(o->fd, SHUT_WR);
		close(o->fd);
	}
	if (o->transport != TRANSPORT_STDOUT)
		o->fd = -1;
	buf_reset(&o->wire);
	o->wire_off = 0;
	o->wire_total = 0;
	o->wire_written = 0;
	orelp_reset(o);
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
	output_arm_timer(o->ev_timer, delay);
}

int
conn_should_log(unsigned n)
{
	return n <= 3 || n % 10 == 0;
}

void
conn_attempt_failed(struct output *o, const char *fmt, ...)
{
	va_list	 ap;
	char	*why;

	va_start(ap, fmt);
	why = xvasprintf(fmt, ap);
	va_end(ap);
	snprintf(o->last_error, sizeof(o->last_error), "%s", why);
	conn_close(o, 0);
	/* another address of the same name first */
	if (o->addr_idx + 1 < o->naddrs && o->state == OS_CONNECTING) {
		log_debug("output \"%s\": %s: %s, trying next address",
		    o->name, o->peer, why);
		free(why);
		o->addr_idx++;
		conn_connect(o);
		return;
	}
	o->failures++;
	o->stats.connect_failures++;
	schedule_retry(o);
	if (conn_should_log(o->failures))
		log_warnx("output \"%s\": connecting to %s (%s) failed: %s; "
		    "attempt %u, retrying in %lld s%s", o->name,
		    o->cfg->address, o->peer[0] ? o->peer : "-", why,
		    o->failures, (long long)(o->retry_ms + 500) / 1000,
		    o->failures == 3 ? " (further failures logged every "
		    "10th attempt)" : "");
	free(why);
	queue_congestion(o);
}

void
conn_lost(struct output *o, const char *fmt, ...)
{
	va_list	 ap;
	char	*why;
	size_t	 n;
	int64_t	 lived;

	va_start(ap, fmt);
	why = xvasprintf(fmt, ap);
	va_end(ap);
	snprintf(o->last_error, sizeof(o->last_error), "%s", why);
	if (o->state == OS_OPENING) {
		/* relp: the session never opened; nothing was sent */
		conn_attempt_failed(o, "RELP session: %s", why);
		free(why);
		return;
	}
	if (o->shutting_down && o->depth == 0) {
		/* relp: everything answered while waiting for close's answer */
		log_debug("output \"%s\": shutdown: %s", o->name, why);
		free(why);
		output_finish_shutdown(o);
		return;
	}
	conn_close(o, 0);
	n = queue_rewind(o);
	lived = time_mono_ms() - o->up_since;
	/* a connection that carried data or lasted is a healthy one */
	if (lived >= HEALTHY_MS || o->acked_this_conn) {
		o->backoff_ms = BACKOFF_MIN_MS;
		o->drops = 0;
	} else
		o->drops++;
	schedule_retry(o);
	(o->drops == 0 || conn_should_log(o->drops) ? log_warnx :
	    log_debug)("output \"%s\": connection to %s lost: %s; %zu "
	    "unacknowledged message%s will be sent again; reconnecting in "
	    "about %lld s", o->name, o->peer, why, n, n == 1 ? "" : "s",
	    (long long)(o->retry_ms + 500) / 1000);
	free(why);
	queue_congestion(o);
}

void
conn_up(struct output *o)
{
	void		(*logf)(const char *, ...) = log_info;
	char		 queued[64];
	const char	*relp;

	event_del(o->ev_timer);
	o->state = OS_UP;
	o->up_since = time_mono_ms();
	o->acked_this_conn = 0;
	if (o->ever_connected)
		o->stats.reconnects++;
	o->ever_connected = 1;
	/* a server that keeps dropping us: quiet like failed attempts */
	if (o->drops > 0 && !conn_should_log(o->drops))
		logf = log_debug;
	o->failures = 0;
	relp = o->transport == TRANSPORT_RELP ? ", RELP session open" : "";
	queued[0] = '\0';
	if (o->depth > 0)
		snprintf(queued, sizeof(queued), ", sending %zu queued "
		    "message%s", o->depth, o->depth == 1 ? "" : "s");
	if (o->ssl != NULL)
		logf("output \"%s\": connected to %s (%s) with %s %s%s%s",
		    o->name, o->cfg->address, o->peer,
		    tls_version(o), tls_cipher(o), relp,
		    queued);
	else if (o->transport == TRANSPORT_UDP)
		logf("output \"%s\": sending datagrams to %s (%s)",
		    o->name, o->cfg->address, o->peer);
	else
		logf("output \"%s\": connected to %s (%s)%s%s", o->name,
		    o->cfg->address, o->peer, relp, queued);
	if (o->transport == TRANSPORT_UDP)
		o->backoff_ms = BACKOFF_MIN_MS;
	output_pump(o);
	if (o->state == OS_UP)
		queue_congestion(o);
}

/* The byte stream is ready (connected, TLS handshake done). */
void
conn_ready(struct output *o)
{
	if (o->transport == TRANSPORT_RELP)
		orelp_open(o);	/* conn_up() once open is answered */
	else
		conn_up(o);
}

static void
on_connected(evutil_socket_t fd, short what, void *arg)
{
	struct output	*o = arg;
	int		 err = 0;
	socklen_t	 len = sizeof(err);

	if (what & EV_TIMEOUT) {
		conn_attempt_failed(o, "%s timed out after %d s",
		    o->state == OS_HANDSHAKE ? "TLS handshake" : "connect",
		    CONNECT_TIMEOUT_MS / 1000);
		return;
	}
	if (getsockopt(o->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		conn_attempt_failed(o, "%s", strerror(err));
		return;
	}
	event_assign(o->ev_write, o->base, o->fd, EV_WRITE, output_on_write, o);
	event_add(o->ev_read, NULL);
	if (o->ctx != NULL)
		tls_start(o);
	else
		conn_ready(o);
}

void
conn_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct output	*o = arg;

	switch (o->state) {
	case OS_BACKOFF:
		conn_connect(o);
		break;
	case OS_CONNECTING:
	case OS_HANDSHAKE:
		conn_attempt_failed(o, "%s timed out after %d s",
		    o->state == OS_HANDSHAKE ? "TLS handshake" : "connect",
		    CONNECT_TIMEOUT_MS / 1000);
		break;
	case OS_OPENING:
		conn_attempt_failed(o, "RELP session: no answer to open "
		    "within %d s", RELP_OPEN_TIMEOUT_MS / 1000);
		break;
	case OS_UP:
		output_pump(o);		/* stdout retry */
		break;
	default:
		break;
	}
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
	type = output_is_stream(o) ? SOCK_STREAM : SOCK_DGRAM;
	o->fd = socket(sa->sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (o->fd == -1) {
		o->state = OS_CONNECTING;
		conn_attempt_failed(o, "socket: %s", strerror(errno));
		return;
	}
	event_assign(o->ev_read, o->base, o->fd, EV_READ | EV_PERSIST,
	    output_on_read, o);
	if (output_is_stream(o))
		set_stream_options(o);
	o->state = OS_CONNECTING;
	do
		r = connect(o->fd, sa, o->addrlens[o->addr_idx]);
	while (r == -1 && errno == EINTR);
	if (r == -1 && errno != EINPROGRESS) {
		conn_attempt_failed(o, "%s", strerror(errno));
		return;
	}
	if (!output_is_stream(o)) {
		event_assign(o->ev_write, o->base, o->fd, EV_WRITE, output_on_write,
		    o);
		conn_up(o);
		return;
	}
	/* the connect completes when the socket is writable */
	event_assign(o->ev_write, o->base, o->fd, EV_WRITE, on_connected, o);
	event_add(o->ev_write, NULL);
	output_arm_timer(o->ev_timer, CONNECT_TIMEOUT_MS);
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
		conn_attempt_failed(o, "resolving %s: %s", o->host,
		    evutil_gai_strerror(result));
		return;
	}
	set_addrs(o, res);
	evutil_freeaddrinfo(res);
	if (o->naddrs == 0) {
		conn_attempt_failed(o, "resolving %s: no IPv4/IPv6 address",
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

void
conn_orphan_dns(struct output *o)
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
void
conn_connect(struct output *o)
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
	hints.ai_socktype = output_is_stream(o) ? SOCK_STREAM : SOCK_DGRAM;
	hints.ai_protocol = output_is_stream(o) ? IPPROTO_TCP : IPPROTO_UDP;
	hints.ai_flags = EVUTIL_AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", o->port);
	if (o->numeric) {
		hints.ai_flags |= EVUTIL_AI_NUMERICHOST;
		if ((r = evutil_getaddrinfo(o->host, port, &hints, &res)) !=
		    0) {
			o->state = OS_RESOLVING;
			conn_attempt_failed(o, "address %s: %s", o->host,
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

unsigned
output_failures(const struct output *o)
{
	return o->failures + o->drops;
}
