/*
 * http.c: asynchronous HTTP(S) requests with libcurl's multi-socket
 * interface driven by libevent (the pattern of curl's
 * docs/examples/multi-event.c). One multi handle per daemon, so
 * connections are kept alive and reused; nothing here ever blocks.
 */
#ifndef HSS_HTTP_H
#define HSS_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct http;
struct http_xfer;

#define HTTP_DEFAULT_MAX_RESPONSE	(64 * 1024 * 1024)
#define HTTP_DEFAULT_CONNECT_TIMEOUT	10000	/* ms */
#define HTTP_CA_FILE_MAX		(16 * 1024 * 1024)
#define HTTP_HOST_CONNECTIONS		8	/* open to one host at once */
#define HTTP_IDLE_CONNECTIONS		16	/* kept open between requests */
/* 9999-12-31T23:59:59Z, the last second an HTTP-date can name */
#define HTTP_DATE_MAX			253402300799LL

struct http_req {
	const char	 *method;	/* "GET" or "POST" */
	const char	 *url;		/* http:// or https:// only */
	const char *const *headers;	/* "Name: value" lines */
	size_t		  nheaders;
	const char	 *body;		/* POST body, borrowed until done */
	size_t		  body_len;
	const char	 *ca_file;	/* NULL: the system store */
	const char	 *proxy;	/* NULL: libcurl's *_proxy variables */
	int64_t		  timeout_ms;	/* whole transfer; 0: none */
	int64_t		  connect_timeout_ms;	/* 0: the default above */
	size_t		  max_response;	/* body cap; 0: the default above */
	int		  secret_body;	/* never log the request body */
	/*
	 * Optional: a 200 body read as it arrives. consume() is called with
	 * the part of the body received and not yet consumed (at least one
	 * byte more than at the last call) and returns how many of its
	 * leading bytes it consumed (they are dropped: the body in the
	 * response is what was never consumed), HTTP_CONSUME_WHOLE to stop
	 * the calls and have the rest of the body kept whole, or
	 * HTTP_CONSUME_ABORT to end the transfer (then failed, with the
	 * error "aborted by the reader").
	 */
	long		(*consume)(const char *, size_t, void *);
	void		 *consume_arg;
};
#define HTTP_CONSUME_WHOLE	(-1L)
#define HTTP_CONSUME_ABORT	(-2L)

struct http_resp {
	long		 status;	/* HTTP status; 0 when none */
	int		 failed;	/* transport failure (error is set) */
	const char	*error;		/* curl's error text, or NULL */
	const char	*date;		/* response headers, or NULL */
	const char	*retry_after;
	const char	*request_id;
	const char	*subject_token;
	const char	*content_type;
	const char	*body;		/* NUL-terminated; "" when none */
	size_t		 body_len;
	int64_t		 elapsed_ms;
};

/* Called once per request, from the event loop; resp valid during it. */
typedef void (*http_cb)(const struct http_resp *, void *);

struct http	*http_new(struct event_base *);
/* Aborts every transfer in flight, without callbacks. */
void		 http_free(struct http *);
/*
 * Start a request. Headers, body and strings are copied except the body,
 * which must stay valid until the callback or http_cancel(). Never NULL:
 * a request that cannot be started completes with failed set, from the
 * event loop.
 */
struct http_xfer *http_request(struct http *, const struct http_req *,
		    http_cb, void *);
/* Abort a request; its callback is not called. NULL is a no-op. */
void		 http_cancel(struct http_xfer *);
/*
 * From an error body ({"error_code","error_msg"} of the API gateway, or
 * IAM's {"error":{"code","message"}}): the code and message, allocated,
 * with control characters replaced and cut to a log-friendly length.
 * Either may be set to NULL.
 */
void		 http_error_fields(const char *, size_t, char **code,
		    char **msg);
/*
 * An HTTP-date (Date, Retry-After; curl_getdate()) as epoch milliseconds:
 * 0, or -1 when it is not a date or is outside 1970..9999 (a hostile year
 * would overflow in milliseconds). Every header date goes through here.
 */
int		 http_date_ms(const char *, int64_t *);
/* Number of requests in flight. */
size_t		 http_active(const struct http *);

#endif
