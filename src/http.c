/*
 * libcurl multi-socket interface driven by libevent, after curl's
 * docs/examples/multi-event.c: curl tells us which sockets to watch
 * (CURLMOPT_SOCKETFUNCTION) and when to time out (CURLMOPT_TIMERFUNCTION);
 * libevent calls curl_multi_socket_action() back, after which finished
 * transfers are collected with curl_multi_info_read(). One multi handle
 * keeps the connection cache, so connections to the API are reused.
 *
 * HTTPS is always verified; redirects are never followed; a response
 * over the size cap is an error, never a silently shortened body. Debug
 * logging redacts credentials (Authorization, X-Auth-Token,
 * X-Security-Token, X-Subject-Token) and secret request bodies.
 */
#include "autoconf.h"

#include <sys/queue.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <openssl/crypto.h>

#include "http.h"
#include "log.h"
#include "util.h"

struct http_sock {
	struct http		*http;
	curl_socket_t		 fd;
	struct event		 ev;
	int			 assigned;
	LIST_ENTRY(http_sock)	 entry;
};

struct http_xfer {
	struct http		*http;
	CURL			*easy;
	struct curl_slist	*headers;
	int			 added;		/* to the multi handle */
	int			 secret_body;
	size_t			 max_response;
	int			 too_large;
	size_t			 received;	/* body bytes, consumed or not */
	long			(*consume)(const char *, size_t, void *);
	void			*consume_arg;
	int			 consuming;	/* 0: not yet known, 1, -1: no */
	int			 aborted;	/* by consume() */
	int64_t			 start_ms;
	struct buf		 body;
	char			*date;
	char			*retry_after;
	char			*request_id;
	char			*subject_token;
	char			*content_type;
	char			*setup_error;	/* could not start */
	struct event		 fail_ev;
	int			 fail_pending;
	char			 errbuf[CURL_ERROR_SIZE];
	http_cb			 cb;
	void			*arg;
	TAILQ_ENTRY(http_xfer)	 entry;
};

struct http {
	struct event_base		*base;
	CURLM				*multi;
	struct event			 timer;
	TAILQ_HEAD(, http_xfer)		 xfers;
	LIST_HEAD(, http_sock)		 socks;
	size_t				 nxfers;
	/*
	 * The room of the last body, kept for the next (at most
	 * BODY_SPARE_MAX): a page of megabytes in fresh memory took a page
	 * fault every 4 KB, which cost as much CPU as reading its events
	 * (bench/run --only cpu: 2.6 s against 4.7 s for 100,000 events).
	 */
	struct buf			 spare;
};
#define BODY_SPARE_MAX	(32u << 20)
/* A body read as it arrives holds an event or so: more room is let go. */
#define BODY_STREAM_ROOM	(256u * 1024)

static void	http_check_done(struct http *);
static void	xfer_free(struct http_xfer *);

/* Secret header names: their values never reach the log. */
static const char *const redacted_headers[] = {
	"authorization", "x-auth-token", "x-security-token",
	"x-subject-token", "proxy-authorization",
};

static int
header_is_secret(const char *line, size_t len)
{
	size_t	 i, n;

	for (i = 0; i < HSS_ARRAY_LEN(redacted_headers); i++) {
		n = strlen(redacted_headers[i]);
		if (len > n && line[n] == ':' &&
		    strncasecmp(line, redacted_headers[i], n) == 0)
			return 1;
	}
	return 0;
}

/* Log header lines one by one, credentials redacted, controls escaped. */
static void
debug_headers(const char *dir, const char *p, size_t len)
{
	struct buf	 b;
	const char	*nl, *end = p + len;
	size_t		 n, i;

	buf_init(&b);
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl == NULL ? (size_t)(end - p) : (size_t)(nl - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		buf_reset(&b);
		if (header_is_secret(p, n)) {
			buf_add(&b, p, (size_t)(strchr(p, ':') - p));
			buf_adds(&b, ": [redacted]");
		} else {
			for (i = 0; i < n && i < 512; i++) {
				if (isprint((unsigned char)p[i]))
					buf_addc(&b, p[i]);
				else
					buf_printf(&b, "\\x%02x",
					    (unsigned char)p[i]);
			}
		}
		if (b.len > 0)
			log_debug("http: %s %s", dir, b.data);
		p += (nl == NULL ? n : (size_t)(nl - p) + 1);
	}
	buf_free(&b);
}

static int
debug_cb(CURL *easy, curl_infotype type, char *data, size_t size, void *arg)
{
	struct http_xfer	*x = arg;

	switch (type) {
	case CURLINFO_TEXT:
		debug_headers("*", data, size);
		break;
	case CURLINFO_HEADER_OUT:
		debug_headers(">", data, size);
		break;
	case CURLINFO_HEADER_IN:
		debug_headers("<", data, size);
		break;
	case CURLINFO_DATA_OUT:
		if (x->secret_body)
			log_debug("http: > [%zu body bytes redacted]", size);
		else
			log_debug("http: > [%zu body bytes]", size);
		break;
	case CURLINFO_DATA_IN:
		log_debug("http: < [%zu body bytes]", size);
		break;
	default:
		break;
	}
	return 0;
}

/*
 * A 200 body read as it arrives (http_req's consume): what is consumed is
 * dropped at once, so the room held is about what arrives at a time, not
 * the body. A large room kept from a body read whole is let go first.
 */
static size_t
consume_body(struct http_xfer *x, const char *p, size_t n)
{
	long	 used;

	if (x->body.data == NULL) {
		if (x->http->spare.data != NULL &&
		    x->http->spare.cap <= BODY_STREAM_ROOM) {
			x->body = x->http->spare;
			buf_init(&x->http->spare);
		} else
			buf_free(&x->http->spare);
	}
	buf_add(&x->body, p, n);
	used = x->consume(x->body.data, x->body.len, x->consume_arg);
	if (used == HTTP_CONSUME_ABORT) {
		x->aborted = 1;
		return 0;	/* aborts the transfer: CURLE_WRITE_ERROR */
	}
	if (used == HTTP_CONSUME_WHOLE) {
		x->consuming = -1;
		return n;
	}
	if (used < 0 || (size_t)used > x->body.len)
		fatalx("http: consumed %ld of %zu bytes", used, x->body.len);
	if (used > 0) {
		OPENSSL_cleanse(x->body.data, (size_t)used);
		memmove(x->body.data, x->body.data + used,
		    x->body.len - (size_t)used);
		x->body.len -= (size_t)used;
	}
	return n;
}

static size_t
write_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct http_xfer	*x = arg;
	size_t			 n = size * nmemb;
	curl_off_t		 cl = -1;
	long			 status = 0;

	if (n > x->max_response || x->received > x->max_response - n) {
		x->too_large = 1;
		return 0;	/* aborts the transfer: CURLE_WRITE_ERROR */
	}
	x->received += n;
	if (x->consume != NULL && x->consuming == 0)
		x->consuming = curl_easy_getinfo(x->easy,
		    CURLINFO_RESPONSE_CODE, &status) == CURLE_OK &&
		    status == 200 ? 1 : -1;
	if (x->consuming == 1)
		return consume_body(x, p, n);
	/*
	 * Room for the announced length at once (within the cap): a page of
	 * megabytes then takes no copy while it grows and no room unused.
	 * (A compressed body is longer: it grows from there as without.)
	 */
	if (x->body.data == NULL && x->http->spare.data != NULL) {
		x->body = x->http->spare;
		buf_init(&x->http->spare);
	}
	if (x->body.len == 0 && x->received == n && curl_easy_getinfo(x->easy,
	    CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK && cl > 0 &&
	    (uint64_t)cl <= x->max_response)
		buf_reserve(&x->body, (size_t)cl);
	buf_add(&x->body, p, n);
	return n;
}

static void
set_header(char **slot, const char *v, size_t n, int secret)
{
	if (secret)
		secret_free(*slot);
	else
		free(*slot);
	*slot = xstrndup(v, n);
}

static void
reset_headers(struct http_xfer *x)
{
	free(x->date);
	free(x->retry_after);
	free(x->request_id);
	secret_free(x->subject_token);
	free(x->content_type);
	x->date = x->retry_after = x->request_id = NULL;
	x->subject_token = x->content_type = NULL;
}

static size_t
header_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct http_xfer	*x = arg;
	const struct {
		const char	*name;
		char		**slot;
		int		 secret;
	} wanted[] = {
		{ "date", &x->date, 0 },
		{ "retry-after", &x->retry_after, 0 },
		{ "x-request-id", &x->request_id, 0 },
		{ "x-subject-token", &x->subject_token, 1 },
		{ "content-type", &x->content_type, 0 },
	};
	size_t			 n = size * nmemb, i, k, vlen;
	const char		*colon, *v;

	/* A new status line (100 Continue, ...) starts a new header set. */
	if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		reset_headers(x);
		return n;
	}
	if ((colon = memchr(p, ':', n)) == NULL)
		return n;
	k = (size_t)(colon - p);
	for (i = 0; i < HSS_ARRAY_LEN(wanted); i++) {
		if (strlen(wanted[i].name) != k ||
		    strncasecmp(p, wanted[i].name, k) != 0)
			continue;
		v = colon + 1;
		vlen = n - k - 1;
		while (vlen > 0 && (*v == ' ' || *v == '\t')) {
			v++;
			vlen--;
		}
		while (vlen > 0 && isspace((unsigned char)v[vlen - 1]))
			vlen--;
		set_header(wanted[i].slot, v, vlen, wanted[i].secret);
		break;
	}
	return n;
}

/*
 * A watched socket is ready. The timer is left to curl (multi_timer_cb):
 * a callback run by http_check_done() may have added a transfer and armed
 * it, so it is never deleted here.
 */
static void
sock_event_cb(evutil_socket_t fd, short kind, void *arg)
{
	struct http	*h = arg;
	int		 action = 0, running = 0;

	if (kind & EV_READ)
		action |= CURL_CSELECT_IN;
	if (kind & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(h->multi, fd, action, &running);
	http_check_done(h);
}

static void
timer_event_cb(evutil_socket_t fd, short kind, void *arg)
{
	struct http	*h = arg;
	int		 running = 0;

	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	http_check_done(h);
}

/* CURLMOPT_TIMERFUNCTION: -1 deletes the timer, else (re)arm it. */
static int
multi_timer_cb(CURLM *multi, long timeout_ms, void *arg)
{
	struct http	*h = arg;
	struct timeval	 tv;

	if (timeout_ms < 0) {
		evtimer_del(&h->timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(&h->timer, &tv);
	return 0;
}

/* CURLMOPT_SOCKETFUNCTION: watch, rewatch or forget one socket. */
static int
multi_sock_cb(CURL *easy, curl_socket_t fd, int what, void *arg,
    void *sockp)
{
	struct http		*h = arg;
	struct http_sock	*s = sockp;
	short			 kind;

	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			if (s->assigned)
				event_del(&s->ev);
			LIST_REMOVE(s, entry);
			free(s);
			curl_multi_assign(h->multi, fd, NULL);
		}
		return 0;
	}
	if (s == NULL) {
		s = xcalloc(1, sizeof(*s));
		s->http = h;
		s->fd = fd;
		LIST_INSERT_HEAD(&h->socks, s, entry);
		curl_multi_assign(h->multi, fd, s);
	} else if (s->assigned)
		event_del(&s->ev);
	kind = EV_PERSIST;
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	event_assign(&s->ev, h->base, fd, kind, sock_event_cb, h);
	s->assigned = 1;
	event_add(&s->ev, NULL);
	return 0;
}

struct http *
http_new(struct event_base *base)
{
	struct http	*h;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("http: curl_global_init failed");
	h = xcalloc(1, sizeof(*h));
	h->base = base;
	TAILQ_INIT(&h->xfers);
	LIST_INIT(&h->socks);
	if ((h->multi = curl_multi_init()) == NULL)
		fatalx("http: curl_multi_init failed");
	evtimer_assign(&h->timer, base, timer_event_cb, h);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, multi_sock_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, multi_timer_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	/*
	 * Sources share connections to an endpoint: a request waits for one
	 * of HTTP_HOST_CONNECTIONS rather than opening its own, and at most
	 * HTTP_IDLE_CONNECTIONS stay open between polls. A TLS connection
	 * holds some 90 KB (its context, CA store and buffers): 1000 sources
	 * polling at once kept 550 of them, 50 MB, open.
	 */
	curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
	    (long)HTTP_HOST_CONNECTIONS);
	curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS,
	    (long)HTTP_IDLE_CONNECTIONS);
	return h;
}

void
http_free(struct http *h)
{
	struct http_xfer	*x;
	struct http_sock	*s;

	if (h == NULL)
		return;
	while ((x = TAILQ_FIRST(&h->xfers)) != NULL)
		xfer_free(x);
	curl_multi_cleanup(h->multi);
	while ((s = LIST_FIRST(&h->socks)) != NULL) {
		if (s->assigned)
			event_del(&s->ev);
		LIST_REMOVE(s, entry);
		free(s);
	}
	evtimer_del(&h->timer);
	buf_free(&h->spare);
	free(h);
	curl_global_cleanup();
}

size_t
http_active(const struct http *h)
{
	return h->nxfers;
}

static void
wipe_slist(struct curl_slist *l)
{
	for (; l != NULL; l = l->next)
		OPENSSL_cleanse(l->data, strlen(l->data));
}

static void
xfer_free(struct http_xfer *x)
{
	struct http	*h = x->http;

	if (x->added)
		curl_multi_remove_handle(h->multi, x->easy);
	if (x->easy != NULL)
		curl_easy_cleanup(x->easy);
	if (x->fail_pending)
		event_del(&x->fail_ev);
	wipe_slist(x->headers);
	curl_slist_free_all(x->headers);
	/* what was written: the room after it never held anything */
	if (x->body.data != NULL)
		OPENSSL_cleanse(x->body.data, x->body.len);
	if (h->spare.data == NULL && x->body.cap <= BODY_SPARE_MAX) {
		h->spare = x->body;
		h->spare.len = 0;
	} else
		buf_free(&x->body);
	reset_headers(x);
	free(x->setup_error);
	TAILQ_REMOVE(&h->xfers, x, entry);
	h->nxfers--;
	free(x);
}

/* Report the outcome of one transfer to its owner, then free it. */
static void
xfer_complete(struct http_xfer *x, CURLcode rc)
{
	struct http_resp	 r;
	long			 status = 0;
	char			 err[CURL_ERROR_SIZE + 64];

	memset(&r, 0, sizeof(r));
	if (x->easy != NULL)
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	r.status = status;
	if (x->setup_error != NULL) {
		r.failed = 1;
		r.error = x->setup_error;
	} else if (x->aborted) {
		r.failed = 1;
		r.error = "aborted by the reader";
	} else if (x->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
		/* The write callback's cap, or curl's on a Content-Length. */
		r.failed = 1;
		snprintf(err, sizeof(err), "response larger than %zu bytes",
		    x->max_response);
		r.error = err;
	} else if (rc != CURLE_OK) {
		r.failed = 1;
		snprintf(err, sizeof(err), "%s",
		    x->errbuf[0] != '\0' ? x->errbuf : curl_easy_strerror(rc));
		r.error = err;
	}
	r.date = x->date;
	r.retry_after = x->retry_after;
	r.request_id = x->request_id;
	r.subject_token = x->subject_token;
	r.content_type = x->content_type;
	if (x->body.data == NULL)
		buf_add(&x->body, "", 0);
	r.body = x->body.data;
	r.body_len = x->body.len;
	r.elapsed_ms = time_mono_ms() - x->start_ms;
	if (x->added) {
		curl_multi_remove_handle(x->http->multi, x->easy);
		x->added = 0;
	}
	log_debug("http: done: status %ld in %lld ms%s%s", r.status,
	    (long long)r.elapsed_ms, r.failed ? ": " : "",
	    r.failed ? r.error : "");
	x->cb(&r, x->arg);
	xfer_free(x);
}

static void
http_check_done(struct http *h)
{
	CURLMsg			*msg;
	int			 left;
	struct http_xfer	*x;
	char			*priv;

	while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		priv = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		if ((x = (struct http_xfer *)(void *)priv) == NULL)
			continue;
		xfer_complete(x, msg->data.result);
	}
}

static void
fail_event_cb(evutil_socket_t fd, short kind, void *arg)
{
	struct http_xfer	*x = arg;

	x->fail_pending = 0;
	xfer_complete(x, CURLE_FAILED_INIT);
}

/*
 * The CA bundle is read here, as every file is (file_read_regular(): never
 * blocking, a regular file only), and handed to libcurl in memory: libcurl
 * opening the path itself could block on a FIFO. It replaces the default
 * bundle as CURLOPT_CAINFO did (the default CA directory stays).
 */
static CURLcode
set_ca_file(struct http_xfer *x, const char *path)
{
	struct curl_blob	 blob;
	const char		*why;
	char			*data;
	size_t			 len;
	CURLcode		 rc;

	if (file_read_regular(path, HTTP_CA_FILE_MAX, NULL, &data, &len,
	    &why) == -1) {
		x->setup_error = xasprintf("ca_file %s: %s", path,
		    strcmp(why, "larger than the limit") == 0 ?
		    "larger than 16 MiB" : why);
		return CURLE_READ_ERROR;
	}
	blob.data = data;
	blob.len = len;
	blob.flags = CURL_BLOB_COPY;
	if ((rc = curl_easy_setopt(x->easy, CURLOPT_CAINFO_BLOB, &blob)) ==
	    CURLE_OK)
		rc = curl_easy_setopt(x->easy, CURLOPT_CAINFO, NULL);
	file_data_free(data, len);
	return rc;
}

#define SETOPT(opt, val) do {						\
	if ((rc = curl_easy_setopt(x->easy, opt, val)) != CURLE_OK)	\
		goto fail;						\
} while (0)

struct http_xfer *
http_request(struct http *h, const struct http_req *req, http_cb cb,
    void *arg)
{
	struct http_xfer	*x;
	struct curl_slist	*l;
	struct timeval		 tv = { 0, 0 };
	CURLcode		 rc = CURLE_OK;
	CURLMcode		 mrc;
	size_t			 i;
	int64_t			 connect_ms;

	x = xcalloc(1, sizeof(*x));
	x->http = h;
	x->cb = cb;
	x->arg = arg;
	x->secret_body = req->secret_body;
	x->consume = req->consume;
	x->consume_arg = req->consume_arg;
	x->max_response = req->max_response != 0 ? req->max_response :
	    HTTP_DEFAULT_MAX_RESPONSE;
	x->start_ms = time_mono_ms();
	buf_init(&x->body);
	TAILQ_INSERT_TAIL(&h->xfers, x, entry);
	h->nxfers++;

	if ((x->easy = curl_easy_init()) == NULL) {
		x->setup_error = xstrdup("curl_easy_init failed");
		goto fail;
	}
	for (i = 0; i < req->nheaders; i++) {
		if ((l = curl_slist_append(x->headers, req->headers[i])) ==
		    NULL) {
			x->setup_error = xstrdup("out of memory (headers)");
			goto fail;
		}
		x->headers = l;
	}
	/* No "Expect: 100-continue" round trip for our small bodies. */
	if ((l = curl_slist_append(x->headers, "Expect:")) == NULL) {
		x->setup_error = xstrdup("out of memory (headers)");
		goto fail;
	}
	x->headers = l;

	connect_ms = req->connect_timeout_ms != 0 ? req->connect_timeout_ms :
	    HTTP_DEFAULT_CONNECT_TIMEOUT;
	if (req->timeout_ms > 0 && connect_ms > req->timeout_ms)
		connect_ms = req->timeout_ms;

	SETOPT(CURLOPT_PRIVATE, (char *)(void *)x);
	SETOPT(CURLOPT_ERRORBUFFER, x->errbuf);
	SETOPT(CURLOPT_URL, req->url);
#if LIBCURL_VERSION_NUM >= 0x075500
	SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
#else
	SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	SETOPT(CURLOPT_PIPEWAIT, 1L);
	SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
	/* TLS 1.2 at least, to the API and to an https:// proxy. */
	SETOPT(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	SETOPT(CURLOPT_PROXY_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (req->ca_file != NULL && (rc = set_ca_file(x, req->ca_file)) !=
	    CURLE_OK)
		goto fail;
	if (req->proxy != NULL)
		SETOPT(CURLOPT_PROXY, req->proxy);
	SETOPT(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
	SETOPT(CURLOPT_CONNECTTIMEOUT_MS, (long)connect_ms);
	if (req->timeout_ms > 0)
		SETOPT(CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
	SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
	SETOPT(CURLOPT_ACCEPT_ENCODING, "");
	SETOPT(CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
	SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->max_response);
	SETOPT(CURLOPT_HTTPHEADER, x->headers);
	SETOPT(CURLOPT_WRITEFUNCTION, write_cb);
	SETOPT(CURLOPT_WRITEDATA, x);
	SETOPT(CURLOPT_HEADERFUNCTION, header_cb);
	SETOPT(CURLOPT_HEADERDATA, x);
	if (strcmp(req->method, "POST") == 0) {
		SETOPT(CURLOPT_POST, 1L);
		SETOPT(CURLOPT_POSTFIELDS, req->body != NULL ? req->body : "");
		SETOPT(CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)(req->body != NULL ? req->body_len : 0));
	} else if (strcmp(req->method, "GET") != 0) {
		x->setup_error = xasprintf("unsupported method %s",
		    req->method);
		goto fail;
	}
	if (log_get_level() >= LOG_LEVEL_DEBUG) {
		SETOPT(CURLOPT_DEBUGFUNCTION, debug_cb);
		SETOPT(CURLOPT_DEBUGDATA, x);
		SETOPT(CURLOPT_VERBOSE, 1L);
	}
	log_debug("http: %s %s", req->method, req->url);
	if ((mrc = curl_multi_add_handle(h->multi, x->easy)) != CURLM_OK) {
		x->setup_error = xasprintf("curl_multi_add_handle: %s",
		    curl_multi_strerror(mrc));
		goto fail;
	}
	x->added = 1;
	return x;

fail:
	if (x->setup_error == NULL)
		x->setup_error = xasprintf("curl setup: %s",
		    curl_easy_strerror(rc));
	/* Report from the loop, never from inside the caller. */
	evtimer_assign(&x->fail_ev, h->base, fail_event_cb, x);
	evtimer_add(&x->fail_ev, &tv);
	x->fail_pending = 1;
	return x;
}

int
http_date_ms(const char *s, int64_t *ms)
{
	time_t	 t;

	if (s == NULL || (t = curl_getdate(s, NULL)) == -1)
		return -1;
	/* 1970-01-01 to 9999-12-31T23:59:59Z: no overflow in milliseconds */
	if (t < 0 || (int64_t)t > HTTP_DATE_MAX)
		return -1;
	*ms = (int64_t)t * 1000;
	return 0;
}

void
http_cancel(struct http_xfer *x)
{
	if (x == NULL)
		return;
	xfer_free(x);
}

#define HTTP_ERROR_FIELD_MAX	256
#define HTTP_ERROR_BODY_MAX	(64 * 1024)

/* A copy fit for one log line: controls replaced, at most 256 bytes. */
static char *
log_safe(const char *s)
{
	char	*out;
	size_t	 i, n = strlen(s);

	if (n > HTTP_ERROR_FIELD_MAX)
		n = HTTP_ERROR_FIELD_MAX;
	out = xstrndup(s, n);
	for (i = 0; i < n; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = ' ';
	return out;
}

static char *
json_field(const cJSON *o, const char *name)
{
	const cJSON	*v;
	char		 num[32];

	if ((v = cJSON_GetObjectItemCaseSensitive(o, name)) == NULL)
		return NULL;
	if (cJSON_IsString(v) && v->valuestring != NULL)
		return log_safe(v->valuestring);
	if (cJSON_IsNumber(v)) {
		snprintf(num, sizeof(num), "%.0f", v->valuedouble);
		return xstrdup(num);
	}
	return NULL;
}

void
http_error_fields(const char *body, size_t len, char **code, char **msg)
{
	cJSON		*root;
	const cJSON	*err;

	*code = *msg = NULL;
	if (body == NULL || len == 0 || len > HTTP_ERROR_BODY_MAX)
		return;
	if ((root = cJSON_ParseWithLength(body, len)) == NULL)
		return;
	if (cJSON_IsObject(root)) {
		*code = json_field(root, "error_code");
		*msg = json_field(root, "error_msg");
		err = cJSON_GetObjectItemCaseSensitive(root, "error");
		if (*code == NULL && *msg == NULL && cJSON_IsObject(err)) {
			*code = json_field(err, "code");
			*msg = json_field(err, "message");
		}
	}
	cJSON_Delete(root);
}
