/*
 * api.c: the HSS ListSecurityEvents client the source state machine uses.
 *
 * One struct api per daemon: the HTTP multi handle, and the credential
 * registry: one rate-limit bucket per credential (access key, IAM
 * domain+user, or token file) shared by every source using it, and one
 * token cache per IAM user and project.
 *
 * api_list_events() waits for a rate-limit token, authenticates (AK/SK
 * signature, or X-Auth-Token from IAM or the token file), sends the
 * request, and absorbs by itself: 429 (waits Retry-After or a full
 * minute's refill, retries, each retry taking a token; at most
 * API_MAX_THROTTLED in a row) and one 401 with token auth (drops the
 * token, fetches or re-reads one, retries once). Everything else is
 * reported once, classified (DESIGN.md section 6); backing off is the
 * caller's job, with api_backoff_ms().
 *
 * Body validation: a 200 is API_OK and the caller parses and validates
 * the JSON (invalid JSON is its error). The one exception: a small 200
 * body that is an API error object (top-level "error_code", no
 * "total_num") is API_OTHER with error_code/error_msg set.
 */
#ifndef HSS_API_H
#define HSS_API_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define API_MAX_THROTTLED	10	/* 429s absorbed in a row per call */
#define API_BACKOFF_MIN_MS	1000
#define API_BACKOFF_MAX_MS	300000

struct event_base;
struct api;	/* one per daemon: http multi, credential registry */
struct api_call;

struct api	*api_new(struct event_base *);
/* Cancels every call in flight (no callbacks). Not from a callback. */
void		 api_free(struct api *);
/* Cap on one response body (0: HTTP_DEFAULT_MAX_RESPONSE); larger is an
 * error, never a shortened page. For tests. */
void		 api_set_max_response(struct api *, size_t bytes);

enum api_status {
	API_OK,			/* 200 and a body */
	/* 401/403 a token refresh did not fix, AK/SK refused, IAM refused */
	API_AUTH,
	API_BAD_REQUEST,	/* 400 (HSS.0001 etc.) */
	API_SERVER,		/* 5xx (also IAM's) */
	/* connect/timeout/reset/TLS/truncated, response too large */
	API_NETWORK,
	/* any other status; a 200 error object; 429 API_MAX_THROTTLED times */
	API_OTHER,
};

struct api_result {
	enum api_status	 status;
	long		 http_status;	/* 0 when none */
	const char	*error_code;	/* from the JSON error body, or NULL */
	const char	*error_msg;	/* from the JSON error body, or NULL */
	const char	*detail;	/* one log line, never a secret */
	const char	*body;		/* API_OK: the body (NUL-terminated) */
	size_t		 body_len;
	const char	*request_id;	/* X-Request-Id or NULL */
	int64_t		 server_date_ms;	/* from Date, 0 if none */
	int		 calls;		/* HSS API calls made (not IAM's) */
	int		 throttled;	/* 429s absorbed */
};

/* The result is valid only during the callback; the call is freed after. */
typedef void (*api_cb)(const struct api_result *, void *arg);

/*
 * GET {endpoint}/v5/{project_id}/event/events with these query parameters
 * (any order: they are signed and sent in canonical order). Everything
 * needed from the source config and query is copied. The callback always
 * runs from the event loop, never from inside this call. The handle is
 * valid until the callback returns.
 */
struct api_call	*api_list_events(struct api *, const struct source_config *,
		    const struct kv *query, size_t nquery, api_cb, void *arg);
/*
 * Low priority (the late sweep): the call takes a rate-limit token only
 * while more than API_SPARE_KEEP are free, so that the live windows of the
 * sources sharing the credential never wait for it more than one call.
 * Right after api_list_events(), before returning to the loop.
 */
#define API_SPARE_KEEP	1
void		 api_call_spare(struct api_call *);
/*
 * A 200 body read as it arrives (see http_req's consume): the result's
 * body is then what consume() left unconsumed. consume() must not cancel
 * the call. Right after api_list_events(), before returning to the loop.
 */
void		 api_call_consume(struct api_call *, long (*)(const char *,
		    size_t, void *), void *);
/* No callback after this. NULL, or from inside the callback: no-op. */
void		 api_call_cancel(struct api_call *);
/* The 429s absorbed so far by a call in flight (--check says why it
 * waits). */
int		 api_call_throttled(const struct api_call *);

/*
 * Exponential backoff with jitter: attempt 0 -> 1 s, doubling, capped at
 * 5 min; +-20% jitter from random (uniform 32 bits), never over 5 min.
 */
int64_t		 api_backoff_ms(int attempt, uint32_t random);

/* What to do with one HTTP outcome (exported for the tests). */
enum api_action {
	API_ACTION_DONE,	/* report the status */
	API_ACTION_THROTTLED,	/* 429: wait, retry */
	API_ACTION_RENEW_TOKEN,	/* 401 with token auth: new token, retry once */
};
enum api_status	 api_classify(long http_status, int transport_failed,
		    int token_auth, enum api_action *);
/* Retry-After (seconds or an HTTP date) -> ms from now_ms; -1 if unusable. */
int64_t		 api_retry_after_ms(const char *, int64_t now_ms);
const char	*api_status_name(enum api_status);

#endif
