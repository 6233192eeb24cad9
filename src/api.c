/*
 * The ListSecurityEvents client: rate limit per credential, signing or
 * token, one HTTP request, classification of the outcome (DESIGN.md
 * section 6), 429 and token-401 absorbed here. See api.h for the contract.
 */
#include "autoconf.h"

#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <openssl/crypto.h>

#include "api.h"
#include "auth.h"
#include "http.h"
#include "log.h"
#include "ratelimit.h"
#include "util.h"

#define API_ERROR_PEEK_MAX	(64 * 1024)
#define API_SKEW_WARN_MS	(5 * 60000)

struct api_bucket {
	char			*key;
	char			*label;
	struct ratelimit	*rl;
	int			 rate_noted;
	int64_t			 date_ms;	/* latest Date seen, 0: none */
	int64_t			 date_mono;	/* ... at this monotonic time */
	TAILQ_ENTRY(api_bucket)	 entry;
};

struct api_tok {
	char			*key;
	struct auth_token	*tok;
	TAILQ_ENTRY(api_tok)	 entry;
};

struct api_call {
	struct api		*api;
	api_cb			 cb;
	void			*arg;
	int			 in_cb;
	char			*url;
	char			*path;		/* unencoded, for signing */
	char			*query;		/* canonical, as sent */
	struct kv		*kv;
	size_t			 nkv;
	char			*host;		/* Host header value */
	char			*region;
	char			*project_id;
	char			*ca_file;
	char			*proxy;
	int64_t			 timeout_ms;
	enum cred_method	 method;
	char			*ak;
	char			*sk;		/* secret */
	char			*security_token;	/* secret */
	char			*token;		/* secret: the one sent */
	struct api_bucket	*bucket;
	struct auth_token	*tok;		/* borrowed from the registry */
	struct auth_wait	*wait;
	struct http_xfer	*xfer;
	struct event		 timer;
	int			 calls;
	int			 throttled;
	int			 token_retried;
	int			 skew_retried;
	int64_t			 signed_ms;	/* X-Sdk-Date sent, as ms */
	int			 holding;	/* a rate-limit token */
	int			 spare;		/* low priority: spare tokens */
	long			(*consume)(const char *, size_t, void *);
	void			*consume_arg;
	char			*setup_error;
	TAILQ_ENTRY(api_call)	 entry;
};

struct api {
	struct event_base		*base;
	struct http			*http;
	TAILQ_HEAD(, api_bucket)	 buckets;
	TAILQ_HEAD(, api_tok)		 toks;
	TAILQ_HEAD(, api_call)		 calls;
	size_t				 max_response;	/* 0: http's default */
};

static void	call_auth(struct api_call *);
static void	call_rate(struct api_call *);

const char *
api_status_name(enum api_status s)
{
	switch (s) {
	case API_OK:
		return "ok";
	case API_AUTH:
		return "auth";
	case API_BAD_REQUEST:
		return "bad-request";
	case API_SERVER:
		return "server";
	case API_NETWORK:
		return "network";
	case API_OTHER:
		return "other";
	}
	return "?";
}

enum api_status
api_classify(long status, int failed, int token_auth, enum api_action *act)
{
	*act = API_ACTION_DONE;
	if (failed)
		return API_NETWORK;
	if (status == 200)
		return API_OK;
	if (status == 429) {
		*act = API_ACTION_THROTTLED;
		return API_OTHER;
	}
	if (status == 401 && token_auth) {
		*act = API_ACTION_RENEW_TOKEN;
		return API_AUTH;
	}
	if (status == 401 || status == 403)
		return API_AUTH;
	if (status == 400)
		return API_BAD_REQUEST;
	if (status >= 500 && status <= 599)
		return API_SERVER;
	return API_OTHER;
}

int64_t
api_retry_after_ms(const char *s, int64_t now_ms)
{
	int64_t		 v, ms;
	const char	*errstr;

	if (s == NULL || *s == '\0')
		return -1;
	if (parse_int64(s, 0, 86400, &v, &errstr) == 0)
		return v * 1000;
	if (http_date_ms(s, &ms) == -1)
		return -1;
	v = ms - now_ms;
	return v < 0 ? 0 : v;
}

int64_t
api_backoff_ms(int attempt, uint32_t random)
{
	int64_t	 base, jitter, ms;

	if (attempt < 0)
		attempt = 0;
	base = attempt >= 20 ? API_BACKOFF_MAX_MS :
	    (int64_t)API_BACKOFF_MIN_MS << attempt;
	if (base > API_BACKOFF_MAX_MS)
		base = API_BACKOFF_MAX_MS;
	/* random % 40001 - 20000 is -20000..20000: +-20.000% of base. */
	jitter = base * ((int64_t)(random % 40001) - 20000) / 100000;
	ms = base + jitter;
	return ms > API_BACKOFF_MAX_MS ? API_BACKOFF_MAX_MS : ms;
}

struct api *
api_new(struct event_base *base)
{
	struct api	*a;

	a = xcalloc(1, sizeof(*a));
	a->base = base;
	a->http = http_new(base);
	TAILQ_INIT(&a->buckets);
	TAILQ_INIT(&a->toks);
	TAILQ_INIT(&a->calls);
	return a;
}

static void
call_free(struct api_call *c)
{
	size_t	 i;

	TAILQ_REMOVE(&c->api->calls, c, entry);
	if (c->holding)
		ratelimit_done(c->bucket->rl, time_mono_ms());
	evtimer_del(&c->timer);
	auth_wait_cancel(c->wait);
	http_cancel(c->xfer);
	free(c->url);
	free(c->setup_error);
	free(c->path);
	free(c->query);
	for (i = 0; i < c->nkv; i++) {
		free(c->kv[i].key);
		free(c->kv[i].value);
	}
	free(c->kv);
	free(c->host);
	free(c->region);
	free(c->project_id);
	free(c->ca_file);
	secret_free(c->proxy);	/* may hold proxy credentials */
	free(c->ak);
	secret_free(c->sk);
	secret_free(c->security_token);
	secret_free(c->token);
	free(c);
}

void
api_set_max_response(struct api *a, size_t bytes)
{
	a->max_response = bytes;
}

void
api_free(struct api *a)
{
	struct api_call		*c;
	struct api_bucket	*b;
	struct api_tok		*t;

	if (a == NULL)
		return;
	while ((c = TAILQ_FIRST(&a->calls)) != NULL)
		call_free(c);
	while ((t = TAILQ_FIRST(&a->toks)) != NULL) {
		TAILQ_REMOVE(&a->toks, t, entry);
		auth_token_free(t->tok);
		free(t->key);
		free(t);
	}
	while ((b = TAILQ_FIRST(&a->buckets)) != NULL) {
		TAILQ_REMOVE(&a->buckets, b, entry);
		ratelimit_free(b->rl);
		free(b->key);
		free(b->label);
		free(b);
	}
	http_free(a->http);
	free(a);
}

void
api_call_spare(struct api_call *c)
{
	c->spare = 1;
}

void
api_call_consume(struct api_call *c, long (*consume)(const char *, size_t,
    void *), void *arg)
{
	c->consume = consume;
	c->consume_arg = arg;
}

void
api_call_cancel(struct api_call *c)
{
	if (c == NULL || c->in_cb)
		return;
	call_free(c);
}

int
api_call_throttled(const struct api_call *c)
{
	return c->throttled;
}

/*
 * The API's clock as its answers to this credential show it (their Date
 * plus the monotonic time since), or the local clock before the first:
 * AK/SK requests are signed with it, since the API refuses an X-Sdk-Date
 * 15 minutes off its own clock whatever the local one says. Date is
 * truncated to the second: at most a second behind.
 */
static int64_t
bucket_now(const struct api_bucket *b)
{
	if (b->date_ms == 0)
		return time_now_ms();
	return b->date_ms + (time_mono_ms() - b->date_mono);
}

/* The rate-limit bucket of a source's credential, created on first use. */
static struct api_bucket *
bucket_get(struct api *a, const struct source_config *sc)
{
	const struct credentials	*cr = &sc->cred;
	struct api_bucket		*b;
	char				*key, *label;
	const char			*ak;
	int				 rate = sc->calls_per_minute;

	switch (cr->method) {
	case CRED_AKSK:
		ak = cr->access_key.value != NULL ? cr->access_key.value : "";
		key = xasprintf("aksk\n%s", ak);
		label = xasprintf("access key %.4s...", ak);
		break;
	case CRED_PASSWORD:
		key = xasprintf("user\n%s\n%s", cr->domain, cr->user);
		label = xasprintf("IAM user %s/%s", cr->domain, cr->user);
		break;
	default:
		key = auth_token_key(sc);
		if (cr->token.origin == SECRET_FILE ||
		    cr->token.origin == SECRET_CREDDIR)
			label = xasprintf("token file %s", cr->token.where);
		else
			label = xstrdup("configured token");
		break;
	}
	TAILQ_FOREACH(b, &a->buckets, entry)
		if (strcmp(b->key, key) == 0)
			break;
	if (b == NULL) {
		b = xcalloc(1, sizeof(*b));
		b->key = key;
		b->label = label;
		b->rl = ratelimit_new(rate, time_mono_ms());
		TAILQ_INSERT_TAIL(&a->buckets, b, entry);
		return b;
	}
	free(key);
	free(label);
	if (rate != ratelimit_rate(b->rl)) {
		if (rate < ratelimit_rate(b->rl))
			ratelimit_set_rate(b->rl, rate, time_mono_ms());
		if (!b->rate_noted)
			log_info("api: %s: sources set different "
			    "calls_per_minute for this credential; all share "
			    "the lowest, %d", b->label, ratelimit_rate(b->rl));
		b->rate_noted = 1;
	}
	return b;
}

static struct auth_token *
tok_get(struct api *a, const struct source_config *sc)
{
	struct api_tok	*t;
	char		*key;

	key = auth_token_key(sc);
	TAILQ_FOREACH(t, &a->toks, entry)
		if (strcmp(t->key, key) == 0)
			break;
	if (t != NULL) {
		free(key);
		auth_token_update(t->tok, sc);
		return t->tok;
	}
	t = xcalloc(1, sizeof(*t));
	t->key = key;
	t->tok = auth_token_new(a->http, sc);
	TAILQ_INSERT_TAIL(&a->toks, t, entry);
	return t->tok;
}

static char *
dup_or_null(const char *s)
{
	return s == NULL ? NULL : xstrdup(s);
}

/* Host header and unencoded path prefix of the endpoint URL. */
static int
endpoint_parts(const char *endpoint, char **host, char **prefix)
{
	CURLU		*u;
	char		*scheme = NULL, *h = NULL, *port = NULL, *path = NULL;
	size_t		 n;
	int		 rv = -1;

	*host = *prefix = NULL;
	if ((u = curl_url()) == NULL)
		return -1;
	if (curl_url_set(u, CURLUPART_URL, endpoint, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK)
		goto fail;
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
		port = NULL;
	if (curl_url_get(u, CURLUPART_PATH, &path, CURLU_URLDECODE) !=
	    CURLUE_OK)
		path = NULL;
	if (port != NULL && !((strcmp(scheme, "https") == 0 &&
	    strcmp(port, "443") == 0) || (strcmp(scheme, "http") == 0 &&
	    strcmp(port, "80") == 0)))
		*host = xasprintf("%s:%s", h, port);
	else
		*host = xstrdup(h);
	n = path == NULL ? 0 : strlen(path);
	while (n > 0 && path[n - 1] == '/')
		n--;
	*prefix = xstrndup(path == NULL ? "" : path, n);
	rv = 0;
fail:
	curl_free(scheme);
	curl_free(h);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(u);
	return rv;
}

static void
finish(struct api_call *c, struct api_result *r)
{
	r->calls = c->calls;
	r->throttled = c->throttled;
	if (r->detail == NULL)
		r->detail = api_status_name(r->status);
	c->in_cb = 1;
	c->cb(r, c->arg);
	call_free(c);
}

static void
finish_detail(struct api_call *c, enum api_status st, long http_status,
    const char *detail)
{
	struct api_result	 r;

	memset(&r, 0, sizeof(r));
	r.status = st;
	r.http_status = http_status;
	r.detail = detail;
	finish(c, &r);
}

static void
timer_cb(evutil_socket_t fd, short kind, void *arg)
{
	struct api_call	*c = arg;

	call_rate(c);
}

static void
arm(struct api_call *c, int64_t ms)
{
	struct timeval	 tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(&c->timer, &tv);
}

/* A small 200 body that is an error object, not a page. */
static int
error_object(const char *body, size_t len, char **code, char **msg)
{
	cJSON	*root;
	int	 is_err = 0;

	*code = *msg = NULL;
	if (len > API_ERROR_PEEK_MAX || memmem(body, len, "\"error_code\"",
	    12) == NULL)
		return 0;
	if ((root = cJSON_ParseWithLength(body, len)) == NULL)
		return 0;
	if (cJSON_IsObject(root) &&
	    cJSON_GetObjectItemCaseSensitive(root, "error_code") != NULL &&
	    cJSON_GetObjectItemCaseSensitive(root, "total_num") == NULL)
		is_err = 1;
	cJSON_Delete(root);
	if (is_err)
		http_error_fields(body, len, code, msg);
	return is_err;
}

static void
http_done(const struct http_resp *h, void *arg)
{
	struct api_call		*c = arg;
	struct api_result	 r;
	struct buf		 d;
	enum api_action		 act;
	char			*code = NULL, *msg = NULL, skew[96];
	int64_t			 date_ms;
	int64_t			 now = time_now_ms(), wait;

	c->xfer = NULL;
	if (c->holding) {
		ratelimit_done(c->bucket->rl, time_mono_ms());
		c->holding = 0;
	}
	buf_init(&d);
	memset(&r, 0, sizeof(r));
	r.http_status = h->status;
	r.request_id = h->request_id;
	if (http_date_ms(h->date, &date_ms) == 0)
		r.server_date_ms = date_ms;
	r.status = api_classify(h->status, h->failed, c->method != CRED_AKSK,
	    &act);

	if (act == API_ACTION_THROTTLED && c->throttled < API_MAX_THROTTLED) {
		c->throttled++;
		wait = api_retry_after_ms(h->retry_after, now);
		if (wait > API_BACKOFF_MAX_MS)
			wait = API_BACKOFF_MAX_MS;
		ratelimit_throttled(c->bucket->rl, time_mono_ms(), wait);
		log_info("api: %s: HTTP 429 (throttled), retrying after %s",
		    c->bucket->label, wait > 0 ? "Retry-After" :
		    "a full minute's refill");
		call_rate(c);
		return;
	}
	if (act == API_ACTION_RENEW_TOKEN && !c->token_retried) {
		c->token_retried = 1;
		if (auth_token_refused(c->tok, c->token)) {
			secret_free(c->token);
			c->token = NULL;
			call_auth(c);
			return;
		}
	}

	if (r.server_date_ms != 0) {
		c->bucket->date_ms = r.server_date_ms;
		c->bucket->date_mono = time_mono_ms();
	}
	/*
	 * A signature refused when its X-Sdk-Date was more than
	 * API_SKEW_WARN_MS off the Date of the answer: signed on the local
	 * clock before the API's was known (or after it stepped). Signed
	 * again on the API's clock, once, with a new rate-limit token.
	 */
	if (r.status == API_AUTH && c->method == CRED_AKSK &&
	    !c->skew_retried && r.server_date_ms != 0 &&
	    (c->signed_ms - r.server_date_ms > API_SKEW_WARN_MS ||
	    r.server_date_ms - c->signed_ms > API_SKEW_WARN_MS)) {
		c->skew_retried = 1;
		log_info("api: %s: HTTP %ld for a request signed %lld s off "
		    "the API's clock; signing again on the API's clock",
		    c->bucket->label, h->status, (long long)((c->signed_ms -
		    r.server_date_ms) / 1000));
		call_rate(c);
		return;
	}

	if (h->failed) {
		if (h->status != 0)
			buf_printf(&d, "HTTP %ld, then the transfer failed: %s",
			    h->status, h->error);
		else
			buf_printf(&d, "request failed: %s", h->error);
	} else if (r.status == API_OK && error_object(h->body, h->body_len,
	    &code, &msg)) {
		r.status = API_OTHER;
		buf_printf(&d, "HTTP 200 with an error object: %s%s%s",
		    code != NULL ? code : "?", msg != NULL ? ": " : "",
		    msg != NULL ? msg : "");
	} else if (r.status == API_OK) {
		r.body = h->body;
		r.body_len = h->body_len;
		buf_printf(&d, "HTTP 200, %zu bytes", h->body_len);
	} else {
		http_error_fields(h->body, h->body_len, &code, &msg);
		buf_printf(&d, "HTTP %ld", h->status);
		if (act == API_ACTION_THROTTLED)
			buf_printf(&d, " (throttled %d times in a row)",
			    c->throttled + 1);
		if (code != NULL)
			buf_printf(&d, " %s", code);
		if (msg != NULL)
			buf_printf(&d, ": %s", msg);
		if (r.status == API_AUTH) {
			buf_printf(&d, " (%s%s)", c->bucket->label,
			    c->token_retried ? ", after a token renewal" : "");
			if (r.server_date_ms != 0 && (r.server_date_ms - now >
			    API_SKEW_WARN_MS || now - r.server_date_ms >
			    API_SKEW_WARN_MS)) {
				snprintf(skew, sizeof(skew), "; the local "
				    "clock is %lld s off the server's",
				    (long long)((now - r.server_date_ms) /
				    1000));
				buf_adds(&d, skew);
			}
		}
		if (r.status == API_BAD_REQUEST)
			buf_printf(&d, "; query: %s", c->query);
		if (h->status >= 300 && h->status <= 399)
			buf_adds(&d, " (redirects are not followed)");
	}
	if (h->request_id != NULL)
		buf_printf(&d, " [request id %.64s]", h->request_id);
	r.error_code = code;
	r.error_msg = msg;
	r.detail = d.data;
	finish(c, &r);
	free(code);
	free(msg);
	buf_free(&d);
}

static void
call_send(struct api_call *c)
{
	struct http_req		 req;
	struct auth_sign_input	 in;
	struct kv		 sh[5];
	struct buf		 signed_hdrs;
	char			 date[17], hash[65], sig[65];
	char			*hdr[8], *authz;
	size_t			 nh = 0, ns = 0, i;

	buf_init(&signed_hdrs);
	hdr[nh++] = xasprintf("Host: %s", c->host);
	hdr[nh++] = xasprintf("region: %s", c->region);
	hdr[nh++] = xasprintf("X-Project-Id: %s", c->project_id);
	hdr[nh++] = xstrdup("Content-Type: application/json");
	hdr[nh++] = xstrdup("Accept: application/json");
	if (c->method == CRED_AKSK) {
		c->signed_ms = bucket_now(c->bucket);
		auth_sdk_date(c->signed_ms, date);
		hdr[nh++] = xasprintf("X-Sdk-Date: %s", date);
		sh[ns++] = (struct kv){ "host", c->host };
		sh[ns++] = (struct kv){ "region", c->region };
		sh[ns++] = (struct kv){ "x-project-id", c->project_id };
		sh[ns++] = (struct kv){ "x-sdk-date", date };
		if (c->security_token != NULL) {
			hdr[nh++] = xasprintf("X-Security-Token: %s",
			    c->security_token);
			sh[ns++] = (struct kv){ "x-security-token",
			    c->security_token };
		}
		memset(&in, 0, sizeof(in));
		in.method = "GET";
		in.path = c->path;
		in.query = c->kv;
		in.nquery = c->nkv;
		in.headers = sh;
		in.nheaders = ns;
		in.sdk_date = date;
		in.sk = c->sk;
		if (auth_sign(&in, NULL, &signed_hdrs, hash, sig) == -1)
			fatalx("api: cannot sign a request");	/* invariant */
		authz = auth_authorization(c->ak, signed_hdrs.data, sig);
		hdr[nh++] = xasprintf("Authorization: %s", authz);
		free(authz);
		OPENSSL_cleanse(sig, sizeof(sig));
	} else
		hdr[nh++] = xasprintf("X-Auth-Token: %s", c->token);

	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.url = c->url;
	req.headers = (const char *const *)hdr;
	req.nheaders = nh;
	req.ca_file = c->ca_file;
	req.proxy = c->proxy;
	req.timeout_ms = c->timeout_ms;
	req.max_response = c->api->max_response;
	req.consume = c->consume;
	req.consume_arg = c->consume_arg;
	c->calls++;
	c->xfer = http_request(c->api->http, &req, http_done, c);
	for (i = 0; i < nh; i++)
		secret_free(hdr[i]);
	buf_free(&signed_hdrs);
}

/* Take a rate-limit token, or wait for one. */
static void
call_rate(struct api_call *c)
{
	int64_t	 wait;

	if (c->spare)
		wait = ratelimit_take_spare(c->bucket->rl, time_mono_ms(),
		    API_SPARE_KEEP);
	else
		wait = ratelimit_take(c->bucket->rl, time_mono_ms());
	if (wait == 0) {
		c->holding = 1;
		call_send(c);
		return;
	}
	log_debug("api: %s: rate limit, waiting %lld ms", c->bucket->label,
	    (long long)wait);
	arm(c, wait);
}

static void
token_cb(const char *token, const struct auth_failure *f, void *arg)
{
	struct api_call	*c = arg;
	enum api_status	 st;

	c->wait = NULL;
	if (token == NULL) {
		if (f->network)
			st = API_NETWORK;
		else if (f->http_status >= 500 && f->http_status <= 599)
			st = API_SERVER;
		else
			st = API_AUTH;
		finish_detail(c, st, 0, f->detail);
		return;
	}
	c->token = xstrdup(token);
	call_rate(c);
}

/* Have a token (token methods), then go on to the rate limit. */
static void
call_auth(struct api_call *c)
{
	const char	*t;

	if (c->method == CRED_AKSK) {
		call_rate(c);
		return;
	}
	if ((t = auth_token_get(c->tok, time_now_ms())) != NULL) {
		secret_free(c->token);
		c->token = xstrdup(t);
		call_rate(c);
		return;
	}
	if (c->method == CRED_TOKEN) {
		finish_detail(c, API_AUTH, 0, "no token available (the token "
		    "file is empty or unreadable)");
		return;
	}
	c->wait = auth_token_fetch(c->tok, token_cb, c);
}

static void
start_cb(evutil_socket_t fd, short kind, void *arg)
{
	struct api_call	*c = arg;

	evtimer_assign(&c->timer, c->api->base, timer_cb, c);
	if (c->setup_error != NULL) {
		finish_detail(c, API_OTHER, 0, c->setup_error);
		return;
	}
	call_auth(c);
}

struct api_call *
api_list_events(struct api *a, const struct source_config *sc,
    const struct kv *query, size_t nquery, api_cb cb, void *arg)
{
	struct api_call	*c;
	struct buf	 b;
	char		*prefix = NULL;
	size_t		 i;

	c = xcalloc(1, sizeof(*c));
	c->api = a;
	c->cb = cb;
	c->arg = arg;
	TAILQ_INSERT_TAIL(&a->calls, c, entry);
	c->region = xstrdup(sc->region);
	c->project_id = xstrdup(sc->project_id);
	c->ca_file = dup_or_null(sc->ca_file);
	c->proxy = dup_or_null(sc->proxy);
	c->timeout_ms = sc->timeout_ms;
	c->method = sc->cred.method;
	c->nkv = nquery;
	c->kv = xcalloc(nquery, sizeof(*c->kv));
	for (i = 0; i < nquery; i++) {
		c->kv[i].key = xstrdup(query[i].key);
		c->kv[i].value = xstrdup(query[i].value);
	}
	if (c->method == CRED_AKSK) {
		c->ak = xstrdup(sc->cred.access_key.value != NULL ?
		    sc->cred.access_key.value : "");
		c->sk = xstrdup(sc->cred.secret_key.value != NULL ?
		    sc->cred.secret_key.value : "");
		c->security_token = dup_or_null(sc->cred.security_token.value);
	} else
		c->tok = tok_get(a, sc);
	c->bucket = bucket_get(a, sc);

	buf_init(&b);
	auth_canonical_query(c->kv, c->nkv, &b);
	c->query = xstrdup(b.data != NULL ? b.data : "");
	buf_reset(&b);
	if (endpoint_parts(sc->endpoint, &c->host, &prefix) == -1)
		c->setup_error = xasprintf("invalid endpoint URL %s",
		    sc->endpoint);
	else {
		/* Unencoded for signing; the endpoint has it encoded. */
		c->path = xasprintf("%s/v5/%s/event/events", prefix,
		    sc->project_id);
		i = strlen(sc->endpoint);
		while (i > 0 && sc->endpoint[i - 1] == '/')
			i--;
		buf_add(&b, sc->endpoint, i);
		buf_adds(&b, "/v5/");
		auth_encode(sc->project_id, strlen(sc->project_id), &b);
		buf_adds(&b, "/event/events");
		if (c->query[0] != '\0')
			buf_printf(&b, "?%s", c->query);
		c->url = xstrdup(b.data);
	}
	free(prefix);
	buf_free(&b);

	/* Start from the loop, so the callback never runs inside this call. */
	evtimer_assign(&c->timer, a->base, start_cb, c);
	arm(c, 0);
	return c;
}
