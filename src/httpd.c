/*
 * A small HTTP/1.x server (RFC 9110, RFC 9112) for the metrics endpoint,
 * on the daemon's event loop (evconnlistener + bufferevent). It answers
 * GET and HEAD of a few fixed paths and nothing else, one request per
 * connection ("Connection: close"), and bounds what a client can hold:
 *
 * - the request line and headers: HTTPD_HEAD_MAX bytes (431 past it);
 * - time: HTTPD_IDLE_MS without a byte while the request is read, and
 *   HTTPD_REQUEST_MS for the whole request from accept (then closed);
 *   HTTPD_WRITE_MS to take the response;
 * - bodies: none (413 for a Content-Length above 0 or a Transfer-Encoding);
 * - connections: HTTPD_MAX_CONNS at once, fewer when RLIMIT_NOFILE is low
 *   (a quarter of it), so that clients cannot take the file descriptors the
 *   daemon needs for its state files; past the cap a connection is closed
 *   as soon as it is accepted;
 * - accept() failures (EMFILE, ENFILE, ENOBUFS, ...): the listener pauses
 *   for a back-off (1 s doubling to 30 s) instead of spinning on a
 *   connection it cannot take; such failures and refused connections are
 *   logged at most once a minute, with their count.
 *
 * After a response the write side is shut down and what the client still
 * sends is read and dropped for a moment (HTTPD_LINGER_MS, HTTPD_LINGER_MAX
 * bytes), so that closing does not reset the connection before the client
 * has read the answer.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "httpd.h"
#include "log.h"
#include "util.h"

#define HTTPD_MAX_CONNS		64
#define HTTPD_MIN_CONNS		4
#define HTTPD_MAX_ROUTES	8
#define HTTPD_HEAD_MAX		8192
#define HTTPD_IDLE_MS		5000
#define HTTPD_REQUEST_MS	10000
#define HTTPD_WRITE_MS		10000
#define HTTPD_LINGER_MS		2000
#define HTTPD_LINGER_MAX	(64 * 1024)
#define HTTPD_BACKOFF_MIN_MS	1000
#define HTTPD_BACKOFF_MAX_MS	30000
#define HTTPD_REPORT_MS		60000

/* A condition logged at most once per HTTPD_REPORT_MS, with its count. */
struct httpd_report {
	int64_t		 last_ms;
	uint64_t	 count;		/* since the last line */
};

enum httpd_state {
	HTTPD_READ,		/* reading the request line and headers */
	HTTPD_WRITE,		/* the response is queued */
	HTTPD_LINGER,		/* answered; dropping input until EOF */
};

struct httpd_conn {
	struct httpd		*h;
	struct bufferevent	*bev;
	struct event		*timer;
	enum httpd_state	 state;
	size_t			 head_len;	/* bytes of the head read */
	size_t			 dropped;	/* bytes dropped lingering */
	char			*method;
	char			*target;
	int			 body;		/* a body is announced */
	int			 bad;		/* a malformed header */
	TAILQ_ENTRY(httpd_conn)	 entry;
};

struct httpd_route {
	char		*path;
	httpd_handler	*fn;
	void		*arg;
};

struct httpd {
	char			*name;
	struct event_base	*base;
	struct evconnlistener	*listener;
	struct event		*resume;
	int64_t			 backoff_ms;
	struct httpd_route	 routes[HTTPD_MAX_ROUTES];
	size_t			 nroutes;
	TAILQ_HEAD(, httpd_conn) conns;
	size_t			 nconns;
	size_t			 maxconns;
	struct httpd_report	 accept_errors;
	struct httpd_report	 refused;
};

static const char *
reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 413:
		return "Content Too Large";
	case 431:
		return "Request Header Fields Too Large";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return status < 400 ? "OK" : "Error";
	}
}

/* Counts one occurrence; 1 when it is time to log the count. */
static int
report_due(struct httpd_report *r)
{
	int64_t	 now = time_mono_ms();

	r->count++;
	if (r->last_ms != 0 && now - r->last_ms < HTTPD_REPORT_MS)
		return 0;
	r->last_ms = now;
	return 1;
}

static void
conn_free(struct httpd_conn *c)
{
	struct httpd	*h = c->h;

	TAILQ_REMOVE(&h->conns, c, entry);
	h->nconns--;
	bufferevent_free(c->bev);
	event_free(c->timer);
	free(c->method);
	free(c->target);
	free(c);
}

static void
conn_timer_set(struct httpd_conn *c, int ms)
{
	struct timeval	 tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	event_add(c->timer, &tv);
}

static void
conn_timeout(evutil_socket_t fd, short ev, void *arg)
{
	struct httpd_conn	*c = arg;

	if (c->state == HTTPD_READ)
		log_debug("%s: closing a connection: no complete request "
		    "within %d s", c->h->name, HTTPD_REQUEST_MS / 1000);
	else if (c->state == HTTPD_WRITE)
		log_debug("%s: closing a connection: the response was not "
		    "taken within %d s", c->h->name, HTTPD_WRITE_MS / 1000);
	conn_free(c);
}

static void
conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct httpd_conn	*c = arg;

	if ((what & BEV_EVENT_TIMEOUT) && c->state == HTTPD_READ)
		log_debug("%s: closing a connection idle for %d s", c->h->name,
		    HTTPD_IDLE_MS / 1000);
	conn_free(c);
}

/* Reads and drops what follows a response until EOF, a cap or a timeout. */
static void
conn_linger_read(struct bufferevent *bev, void *arg)
{
	struct httpd_conn	*c = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);

	c->dropped += evbuffer_get_length(in);
	evbuffer_drain(in, evbuffer_get_length(in));
	if (c->dropped > HTTPD_LINGER_MAX)
		conn_free(c);
}

static void
conn_written(struct bufferevent *bev, void *arg)
{
	struct httpd_conn	*c = arg;

	c->state = HTTPD_LINGER;
	if (shutdown(bufferevent_getfd(bev), SHUT_WR) == -1) {
		conn_free(c);
		return;
	}
	bufferevent_setcb(bev, conn_linger_read, NULL, conn_event, c);
	bufferevent_set_timeouts(bev, NULL, NULL);
	bufferevent_disable(bev, EV_WRITE);
	bufferevent_enable(bev, EV_READ);
	conn_timer_set(c, HTTPD_LINGER_MS);
	conn_linger_read(bev, c);
}

/* Queues the whole response; the connection closes once it is written. */
static void
conn_reply(struct httpd_conn *c, int status, const char *ctype,
    const struct buf *body, const char *extra)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	struct timeval	 tv;
	struct tm	 tm;
	time_t		 now = time(NULL);
	char		 date[64];
	const char	*text = reason(status);
	size_t		 len;

	len = body != NULL ? body->len : strlen(text) + 1;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nDate: %s\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\n%s"
	    "Connection: close\r\n\r\n", status, text, date,
	    ctype != NULL ? ctype : "text/plain", len,
	    extra != NULL ? extra : "");
	if (c->method == NULL || strcmp(c->method, "HEAD") != 0) {
		if (body != NULL)
			evbuffer_add(out, body->data, body->len);
		else
			evbuffer_add_printf(out, "%s\n", text);
	}
	c->state = HTTPD_WRITE;
	bufferevent_disable(c->bev, EV_READ);
	tv.tv_sec = HTTPD_WRITE_MS / 1000;
	tv.tv_usec = 0;
	bufferevent_set_timeouts(c->bev, NULL, &tv);
	bufferevent_setcb(c->bev, NULL, conn_written, conn_event, c);
	bufferevent_enable(c->bev, EV_WRITE);
	conn_timer_set(c, HTTPD_WRITE_MS);
}

/* The head is complete: route, check the method and the body, answer. */
static void
conn_dispatch(struct httpd_conn *c)
{
	struct httpd		*h = c->h;
	const struct httpd_route *r = NULL;
	const char		*ctype = NULL;
	struct buf		 body;
	size_t			 i, plen;
	int			 status;

	if (c->bad) {
		conn_reply(c, 400, NULL, NULL, NULL);
		return;
	}
	plen = strcspn(c->target, "?");
	for (i = 0; i < h->nroutes && r == NULL; i++)
		if (strlen(h->routes[i].path) == plen &&
		    strncmp(h->routes[i].path, c->target, plen) == 0)
			r = &h->routes[i];
	if (r == NULL) {
		conn_reply(c, 404, NULL, NULL, NULL);
		return;
	}
	if (strcmp(c->method, "GET") != 0 && strcmp(c->method, "HEAD") != 0) {
		conn_reply(c, 405, NULL, NULL, "Allow: GET, HEAD\r\n");
		return;
	}
	if (c->body) {
		conn_reply(c, 413, NULL, NULL, NULL);
		return;
	}
	buf_init(&body);
	status = r->fn(r->arg, &body, &ctype);
	conn_reply(c, status, ctype, &body, NULL);
	buf_free(&body);
}

static int
is_tchar(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || (ch != '\0' &&
	    strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* method SP request-target SP HTTP/1.x; 0, or the status to answer. */
static int
parse_request_line(struct httpd_conn *c, const char *line)
{
	const char	*sp1, *sp2, *p;

	if ((sp1 = strchr(line, ' ')) == NULL || sp1 == line ||
	    (sp2 = strchr(sp1 + 1, ' ')) == NULL || sp2 == sp1 + 1)
		return 400;
	for (p = line; p < sp1; p++)
		if (!is_tchar((unsigned char)*p))
			return 400;
	for (p = sp1 + 1; p < sp2; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return 400;
	if (sp1[1] != '/')
		return 400;
	if (strncmp(sp2 + 1, "HTTP/", 5) != 0)
		return 400;
	if (strcmp(sp2 + 1, "HTTP/1.1") != 0 &&
	    strcmp(sp2 + 1, "HTTP/1.0") != 0)
		return 505;
	c->method = xstrndup(line, (size_t)(sp1 - line));
	c->target = xstrndup(sp1 + 1, (size_t)(sp2 - sp1 - 1));
	return 0;
}

/* name ":" OWS value OWS; only the headers that announce a body matter. */
static void
parse_header(struct httpd_conn *c, const char *line)
{
	const char	*colon, *v, *p;
	size_t		 k, d;

	if ((colon = strchr(line, ':')) == NULL || colon == line) {
		c->bad = 1;
		return;
	}
	for (p = line; p < colon; p++)
		if (!is_tchar((unsigned char)*p)) {
			c->bad = 1;	/* obs-fold, space before the colon */
			return;
		}
	k = (size_t)(colon - line);
	v = colon + 1 + strspn(colon + 1, " \t");
	if (k == 14 && strncasecmp(line, "Content-Length", k) == 0) {
		d = strspn(v, "0123456789");
		if (d == 0 || v[d + strspn(v + d, " \t")] != '\0')
			c->bad = 1;
		else if (strspn(v, "0") < d)
			c->body = 1;
	} else if (k == 17 && strncasecmp(line, "Transfer-Encoding", k) == 0)
		c->body = 1;
}

static void
conn_read(struct bufferevent *bev, void *arg)
{
	struct httpd_conn	*c = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	size_t			 before, n;
	char			*line;
	int			 status;

	for (;;) {
		before = evbuffer_get_length(in);
		if ((line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF)) ==
		    NULL)
			break;
		c->head_len += before - evbuffer_get_length(in);
		if (c->head_len > HTTPD_HEAD_MAX) {
			free(line);
			conn_reply(c, 431, NULL, NULL, NULL);
			return;
		}
		if (memchr(line, '\0', n) != NULL) {
			free(line);
			conn_reply(c, 400, NULL, NULL, NULL);
			return;
		}
		if (c->method == NULL) {
			/* RFC 9112 2.2: empty lines before it are ignored */
			if (n > 0 && (status = parse_request_line(c, line))) {
				free(line);
				conn_reply(c, status, NULL, NULL, NULL);
				return;
			}
		} else if (n == 0) {
			free(line);
			conn_dispatch(c);
			return;
		} else
			parse_header(c, line);
		free(line);
	}
	if (c->head_len + evbuffer_get_length(in) > HTTPD_HEAD_MAX)
		conn_reply(c, 431, NULL, NULL, NULL);
}

static void
listener_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct httpd		*h = arg;
	struct httpd_conn	*c;
	struct timeval		 tv;

	h->backoff_ms = 0;
	if (h->nconns >= h->maxconns) {
		close(fd);
		if (report_due(&h->refused)) {
			log_warnx("%s: %zu connections open, the most allowed: "
			    "closing new ones (%" PRIu64 " closed since the "
			    "last report)", h->name, h->nconns,
			    h->refused.count);
			h->refused.count = 0;
		}
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->h = h;
	c->state = HTTPD_READ;
	if ((c->bev = bufferevent_socket_new(h->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		close(fd);
		free(c);
		return;
	}
	c->timer = evtimer_new(h->base, conn_timeout, c);
	TAILQ_INSERT_TAIL(&h->conns, c, entry);
	h->nconns++;
	tv.tv_sec = HTTPD_IDLE_MS / 1000;
	tv.tv_usec = 0;
	bufferevent_set_timeouts(c->bev, &tv, NULL);
	bufferevent_setwatermark(c->bev, EV_READ, 0, HTTPD_HEAD_MAX + 1);
	bufferevent_setcb(c->bev, conn_read, NULL, conn_event, c);
	bufferevent_enable(c->bev, EV_READ);
	conn_timer_set(c, HTTPD_REQUEST_MS);
}

static void
listener_resume(evutil_socket_t fd, short ev, void *arg)
{
	struct httpd	*h = arg;

	evconnlistener_enable(h->listener);
}

/* accept() failed for a reason other than a retriable one: pause. */
static void
listener_error(struct evconnlistener *l, void *arg)
{
	struct httpd	*h = arg;
	struct timeval	 tv;
	int		 err = EVUTIL_SOCKET_ERROR();
	char		 pause[32];

	if (h->backoff_ms == 0)
		h->backoff_ms = HTTPD_BACKOFF_MIN_MS;
	else if ((h->backoff_ms *= 2) > HTTPD_BACKOFF_MAX_MS)
		h->backoff_ms = HTTPD_BACKOFF_MAX_MS;
	evconnlistener_disable(l);
	tv.tv_sec = (time_t)(h->backoff_ms / 1000);
	tv.tv_usec = 0;
	event_add(h->resume, &tv);
	if (report_due(&h->accept_errors)) {
		snprintf(pause, sizeof(pause), "%llds",
		    (long long)(h->backoff_ms / 1000));
		log_warnx("%s: cannot accept a connection: %s; not accepting "
		    "for %s (%" PRIu64 " failure%s since the last report)",
		    h->name, strerror(err), pause, h->accept_errors.count,
		    h->accept_errors.count == 1 ? "" : "s");
		h->accept_errors.count = 0;
	}
}

/* A quarter of the file descriptors at most, HTTPD_MAX_CONNS at most. */
static size_t
max_conns(void)
{
	struct rlimit	 rl;
	rlim_t		 n = HTTPD_MAX_CONNS;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
	    && rl.rlim_cur / 4 < n)
		n = rl.rlim_cur / 4;
	return n < HTTPD_MIN_CONNS ? HTTPD_MIN_CONNS : (size_t)n;
}

struct httpd *
httpd_new(struct event_base *base, const char *name, const char *host,
    int port, struct buf *err)
{
	struct httpd		*h;
	struct addrinfo		 hints, *res = NULL, *ai;
	char			 serv[16];
	int			 rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	snprintf(serv, sizeof(serv), "%d", port);
	if ((rc = getaddrinfo(host, serv, &hints, &res)) != 0) {
		buf_printf(err, "%s", rc == EAI_SYSTEM ? strerror(errno) :
		    gai_strerror(rc));
		return NULL;
	}
	h = xcalloc(1, sizeof(*h));
	h->name = xstrdup(name);
	h->base = base;
	TAILQ_INIT(&h->conns);
	h->maxconns = max_conns();
	for (ai = res; ai != NULL && h->listener == NULL; ai = ai->ai_next)
		h->listener = evconnlistener_new_bind(base, listener_accept, h,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
		    LEV_OPT_CLOSE_ON_EXEC, -1, ai->ai_addr,
		    (int)ai->ai_addrlen);
	rc = errno;
	freeaddrinfo(res);
	if (h->listener == NULL) {
		buf_printf(err, "%s", strerror(rc));
		free(h->name);
		free(h);
		return NULL;
	}
	evconnlistener_set_error_cb(h->listener, listener_error);
	h->resume = evtimer_new(base, listener_resume, h);
	return h;
}

void
httpd_route(struct httpd *h, const char *path, httpd_handler *fn, void *arg)
{
	if (h->nroutes == HSS_ARRAY_LEN(h->routes))
		fatalx("httpd: too many routes");
	h->routes[h->nroutes].path = xstrdup(path);
	h->routes[h->nroutes].fn = fn;
	h->routes[h->nroutes].arg = arg;
	h->nroutes++;
}

void
httpd_free(struct httpd *h)
{
	size_t	 i;

	if (h == NULL)
		return;
	while (!TAILQ_EMPTY(&h->conns))
		conn_free(TAILQ_FIRST(&h->conns));
	evconnlistener_free(h->listener);
	event_free(h->resume);
	for (i = 0; i < h->nroutes; i++)
		free(h->routes[i].path);
	free(h->name);
	free(h);
}
