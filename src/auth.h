/*
 * auth.c: API authentication (reference/hss-api.md, "Authentication").
 *
 * Pure part: SDK-HMAC-SHA256 request signing (AK/SK), the canonical
 * URI and query encodings, IAM expires_at parsing and refresh arithmetic.
 *
 * Token part: one struct auth_token per token credential. Password: an
 * IAM token fetched with POST {iam}/v3/auth/tokens?nocatalog=true
 * (project scope by id), cached, refreshed at 80% of its lifetime; every
 * caller that needs one while a fetch is in flight waits for that same
 * fetch. Token: the configured X-Auth-Token; when it came from a file it
 * is re-read whenever the file's mtime or size changes.
 */
#ifndef HSS_AUTH_H
#define HSS_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "util.h"

#define AUTH_ALGORITHM		"SDK-HMAC-SHA256"
#define AUTH_EMPTY_SHA256	\
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct auth_sign_input {
	const char	*method;	/* "GET" */
	const char	*path;	/* unencoded segments: "/v5/P/event/events" */
	const struct kv	*query;		/* unencoded, any order */
	size_t		 nquery;
	const struct kv	*headers; /* the headers to sign, any case/order */
	size_t		 nheaders;
	const void	*body;		/* NULL: empty */
	size_t		 body_len;
	const char	*sdk_date;	/* YYYYMMDDTHHMMSSZ, also in headers */
	const char	*sk;		/* secret key */
};

/* Append each byte outside A-Za-z0-9-_.~ of s[0..len) as %XX. */
void	 auth_encode(const char *, size_t, struct buf *);
/* The path with each segment encoded (as sent), no trailing slash added. */
void	 auth_encode_path(const char *, struct buf *);
/* The canonical URI: the encoded path with a trailing '/'. */
void	 auth_canonical_uri(const char *, struct buf *);
/*
 * The canonical query: encoded k=v sorted byte-wise by encoded key then
 * value, repeated keys kept, joined with '&'. Also the query to send.
 */
void	 auth_canonical_query(const struct kv *, size_t, struct buf *);
/*
 * Sign: fills the canonical request (if not NULL), the signed-header list
 * ("host;x-sdk-date"), the hex SHA-256 of the canonical request and the
 * hex signature. Returns 0, or -1 when a header name is not signable.
 */
int	 auth_sign(const struct auth_sign_input *, struct buf *creq,
	    struct buf *signed_headers, char hash_hex[65], char sig_hex[65]);
/* "SDK-HMAC-SHA256 Access=AK, SignedHeaders=..., Signature=...", allocated */
char	*auth_authorization(const char *ak, const char *signed_headers,
	    const char *sig_hex);
/* X-Sdk-Date for epoch milliseconds: YYYYMMDDTHHMMSSZ. */
void	 auth_sdk_date(int64_t, char out[17]);

/* ISO-8601 UTC (2020-01-04T09:05:22.701000Z, fraction optional) -> ms. */
int	 auth_parse_time(const char *, int64_t *);
/* When to refresh a token valid for lifetime_ms from now_ms: at 80%. */
int64_t	 auth_refresh_at(int64_t now_ms, int64_t lifetime_ms);
/* The IAM password-auth request body (a secret: wipe it). */
void	 auth_iam_body(const char *domain, const char *user,
	    const char *password, const char *project_id, struct buf *);

struct http;
struct auth_token;
struct auth_wait;

/* Why a token could not be had. */
struct auth_failure {
	long		 http_status;	/* IAM's status, 0 when none */
	int		 network;	/* transport failure */
	const char	*detail;	/* one log line, never a secret */
};

/* token != NULL on success; else failure says why. */
typedef void (*auth_token_cb)(const char *token,
		    const struct auth_failure *, void *);

/*
 * A token credential (method password or token) for one source's
 * credentials and project; the credentials are copied.
 */
struct auth_token *auth_token_new(struct http *, const struct source_config *);
void		 auth_token_free(struct auth_token *);
/* Cache key: sources with equal keys share one auth_token. Allocated. */
char		*auth_token_key(const struct source_config *);
/* Replace the copied secrets with the latest config's. */
void		 auth_token_update(struct auth_token *,
		    const struct source_config *);
/*
 * The token to use now, or NULL when one must be fetched with
 * auth_token_fetch() (password method: none cached or due for refresh).
 * Borrowed until the next call into this auth_token.
 */
const char	*auth_token_get(struct auth_token *, int64_t now_ms);
/*
 * Password method: fetch a token (joining a fetch already in flight);
 * the callback runs
 * from the event loop. Returns a handle for auth_wait_cancel().
 */
struct auth_wait *auth_token_fetch(struct auth_token *, auth_token_cb, void *);
void		 auth_wait_cancel(struct auth_wait *);
/*
 * The API refused this token (401): forget it if it is still the cached
 * one. Returns 1 when a different token may now be had (worth one retry),
 * 0 when not (a static token that did not change).
 */
int		 auth_token_refused(struct auth_token *, const char *token);

#endif
