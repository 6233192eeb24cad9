/*
 * API authentication: AK/SK SDK-HMAC-SHA256 signing (pure functions, the
 * algorithm of reference/hss-api.md "AK/SK signing") and the X-Auth-Token
 * credentials: IAM password tokens fetched, cached and refreshed, and
 * pre-issued tokens re-read from their file when it changes.
 */
#include "autoconf.h"

#include <sys/queue.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "auth.h"
#include "http.h"
#include "log.h"
#include "secret.h"
#include "util.h"

#define AUTH_IAM_TIMEOUT	30000	/* ms */
#define AUTH_DEFAULT_LIFETIME	3600000	/* ms, when expires_at is unusable */
#define AUTH_EXPIRY_MARGIN	60000	/* ms: a token this close is expired */

static const char hexdig[] = "0123456789ABCDEF";
static const char hexlow[] = "0123456789abcdef";

static void
hex_lower(const unsigned char *p, size_t n, char *out)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hexlow[p[i] >> 4];
		out[2 * i + 1] = hexlow[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static void
sha256_hex(const void *p, size_t n, char out[65])
{
	unsigned char	 md[SHA256_DIGEST_LENGTH];

	SHA256(p, n, md);
	hex_lower(md, sizeof(md), out);
}

static int
unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
	    c == '~';
}

void
auth_encode(const char *s, size_t len, struct buf *b)
{
	size_t		 i;
	unsigned char	 c;

	buf_reserve(b, len);
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (unreserved(c))
			buf_addc(b, (char)c);
		else {
			buf_addc(b, '%');
			buf_addc(b, hexdig[c >> 4]);
			buf_addc(b, hexdig[c & 15]);
		}
	}
}

void
auth_encode_path(const char *path, struct buf *b)
{
	const char	*p = path, *slash;

	for (;;) {
		slash = strchr(p, '/');
		auth_encode(p, slash == NULL ? strlen(p) : (size_t)(slash - p),
		    b);
		if (slash == NULL)
			break;
		buf_addc(b, '/');
		p = slash + 1;
	}
}

void
auth_canonical_uri(const char *path, struct buf *b)
{
	size_t	 start = b->len;

	auth_encode_path(path, b);
	if (b->len == start || b->data[b->len - 1] != '/')
		buf_addc(b, '/');
}

static int
bytecmp(const char *a, const char *b)
{
	const unsigned char	*x = (const unsigned char *)a;
	const unsigned char	*y = (const unsigned char *)b;

	while (*x != '\0' && *x == *y) {
		x++;
		y++;
	}
	return (int)*x - (int)*y;
}

/* Byte-wise order of the raw (decoded) key, then value, as the SDKs. */
static int
kv_cmp(const void *a, const void *b)
{
	const struct kv	*x = *(const struct kv *const *)a;
	const struct kv	*y = *(const struct kv *const *)b;
	int		 c;

	if ((c = bytecmp(x->key, y->key)) != 0)
		return c;
	return bytecmp(x->value, y->value);
}

void
auth_canonical_query(const struct kv *q, size_t n, struct buf *b)
{
	const struct kv	**v;
	size_t		  i;

	if (n == 0)
		return;
	v = xreallocarray(NULL, n, sizeof(*v));
	for (i = 0; i < n; i++)
		v[i] = &q[i];
	qsort(v, n, sizeof(*v), kv_cmp);
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_addc(b, '&');
		auth_encode(v[i]->key, strlen(v[i]->key), b);
		buf_addc(b, '=');
		auth_encode(v[i]->value, strlen(v[i]->value), b);
	}
	free(v);
}

struct lhdr {
	char		*name;	/* lower case */
	const char	*value;
};

static int
lhdr_cmp(const void *a, const void *b)
{
	return bytecmp(((const struct lhdr *)a)->name,
	    ((const struct lhdr *)b)->name);
}

int
auth_sign(const struct auth_sign_input *in, struct buf *creq_out,
    struct buf *signed_headers, char hash_hex[65], char sig_hex[65])
{
	struct buf	 creq, sts;
	struct lhdr	*h = NULL;
	char		 body_hex[65];
	unsigned char	 mac[EVP_MAX_MD_SIZE];
	unsigned int	 maclen = 0;
	const char	*v, *e;
	size_t		 i, j;
	int		 rv = -1;

	buf_init(&creq);
	buf_init(&sts);
	h = xcalloc(in->nheaders, sizeof(*h));
	for (i = 0; i < in->nheaders; i++) {
		if (strchr(in->headers[i].key, '_') != NULL)
			goto fail;
		h[i].name = xstrdup(in->headers[i].key);
		for (j = 0; h[i].name[j] != '\0'; j++)
			h[i].name[j] =
			    (char)tolower((unsigned char)h[i].name[j]);
		h[i].value = in->headers[i].value;
	}
	qsort(h, in->nheaders, sizeof(*h), lhdr_cmp);

	buf_adds(&creq, in->method);
	buf_addc(&creq, '\n');
	auth_canonical_uri(in->path, &creq);
	buf_addc(&creq, '\n');
	auth_canonical_query(in->query, in->nquery, &creq);
	buf_addc(&creq, '\n');
	buf_reset(signed_headers);
	for (i = 0; i < in->nheaders; i++) {
		v = h[i].value;
		e = v + strlen(v);
		while (v < e && isspace((unsigned char)*v))
			v++;
		while (e > v && isspace((unsigned char)e[-1]))
			e--;
		buf_printf(&creq, "%s:", h[i].name);
		buf_add(&creq, v, (size_t)(e - v));
		buf_addc(&creq, '\n');
		if (i > 0)
			buf_addc(signed_headers, ';');
		buf_adds(signed_headers, h[i].name);
	}
	buf_addc(&creq, '\n');
	buf_add(&creq, signed_headers->data == NULL ? "" :
	    signed_headers->data, signed_headers->len);
	buf_addc(&creq, '\n');
	sha256_hex(in->body != NULL ? in->body : "", in->body_len, body_hex);
	buf_adds(&creq, body_hex);

	sha256_hex(creq.data, creq.len, hash_hex);
	buf_printf(&sts, "%s\n%s\n%s", AUTH_ALGORITHM, in->sdk_date, hash_hex);
	if (HMAC(EVP_sha256(), in->sk, (int)strlen(in->sk),
	    (const unsigned char *)sts.data, sts.len, mac, &maclen) == NULL)
		goto fail;
	hex_lower(mac, maclen, sig_hex);
	OPENSSL_cleanse(mac, sizeof(mac));
	if (creq_out != NULL) {
		buf_reset(creq_out);
		buf_add(creq_out, creq.data, creq.len);
	}
	rv = 0;
fail:
	for (i = 0; i < in->nheaders; i++)
		free(h[i].name);
	free(h);
	buf_free(&creq);
	buf_free(&sts);
	return rv;
}

char *
auth_authorization(const char *ak, const char *signed_headers,
    const char *sig_hex)
{
	return xasprintf("%s Access=%s, SignedHeaders=%s, Signature=%s",
	    AUTH_ALGORITHM, ak, signed_headers, sig_hex);
}

void
auth_sdk_date(int64_t ms, char out[17])
{
	struct tm	 tm;
	time_t		 t = (time_t)(ms / 1000);

	gmtime_r(&t, &tm);
	strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static int
digits(const char **p, int n, int *out)
{
	int	 v = 0;

	while (n-- > 0) {
		if (!isdigit((unsigned char)**p))
			return -1;
		v = v * 10 + (**p - '0');
		(*p)++;
	}
	*out = v;
	return 0;
}

int
auth_parse_time(const char *s, int64_t *out)
{
	struct tm	 tm;
	const char	*p = s;
	int		 y, mo, d, h, mi, sec, ms = 0, scale = 100, oh, om;
	int		 sign;
	time_t		 t;
	int64_t		 off = 0;

	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) ||
	    *p++ != '-' || digits(&p, 2, &d) || (*p != 'T' && *p != 't'))
		return -1;
	p++;
	if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) ||
	    *p++ != ':' || digits(&p, 2, &sec))
		return -1;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p)) {
			ms += (*p - '0') * scale;
			scale /= 10;
			p++;
		}
	}
	if (*p == 'Z' || *p == 'z')
		p++;
	else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) ||
		    oh > 23 || om > 59)
			return -1;
		off = sign * ((int64_t)oh * 3600 + om * 60) * 1000;
	} else
		return -1;
	if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || sec > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	*out = (int64_t)t * 1000 + ms - off;
	return 0;
}

int64_t
auth_refresh_at(int64_t now_ms, int64_t lifetime_ms)
{
	if (lifetime_ms <= 0)
		return now_ms;
	return now_ms + lifetime_ms / 5 * 4 + (lifetime_ms % 5) * 4 / 5;
}

static void
json_string(struct buf *b, const char *s)
{
	const unsigned char	*p;

	buf_addc(b, '"');
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			buf_addc(b, '\\');
			buf_addc(b, (char)*p);
		} else if (*p < 0x20)
			buf_printf(b, "\\u%04x", *p);
		else
			buf_addc(b, (char)*p);
	}
	buf_addc(b, '"');
}

void
auth_iam_body(const char *domain, const char *user, const char *password,
    const char *project_id, struct buf *b)
{
	/* Room for everything escaped, so no realloc leaves a copy behind. */
	buf_reserve(b, 256 + 6 * (strlen(domain) + strlen(user) +
	    strlen(password) + strlen(project_id)));
	buf_adds(b, "{\"auth\":{\"identity\":{\"methods\":[\"password\"],"
	    "\"password\":{\"user\":{\"domain\":{\"name\":");
	json_string(b, domain);
	buf_adds(b, "},\"name\":");
	json_string(b, user);
	buf_adds(b, ",\"password\":");
	json_string(b, password);
	buf_adds(b, "}}},\"scope\":{\"project\":{\"id\":");
	json_string(b, project_id);
	buf_adds(b, "}}}}");
}

/* Token credentials. */

TAILQ_HEAD(auth_waits, auth_wait);

struct auth_wait {
	struct auth_token		*tok;
	auth_token_cb			 cb;
	void				*arg;
	struct auth_waits		*list;	/* the list it is on */
	TAILQ_ENTRY(auth_wait)		 entry;
};

struct auth_token {
	struct http		*http;
	enum cred_method	 method;
	char			*label;		/* for the log */
	/* password */
	char			*iam_url;
	char			*domain;
	char			*user;
	char			*password;	/* secret */
	char			*project_id;
	char			*ca_file;
	char			*proxy;
	struct http_xfer	*xfer;		/* the fetch in flight */
	struct buf		 req_body;	/* secret */
	struct auth_waits	 waiters;
	char			*token;		/* secret; NULL: none */
	int64_t			 refresh_ms;	/* wall clock */
	int64_t			 expires_ms;
	/* token method */
	char			*path;		/* NULL: not from a file */
	struct timespec		 mtime;
	off_t			 size;
	int			 stat_ok;
	int			 read_warned;
	int			 creddir;	/* path in $CREDENTIALS_DIRECTORY */
};

char *
auth_token_key(const struct source_config *sc)
{
	const struct credentials	*c = &sc->cred;
	char				 hex[65];

	if (c->method == CRED_PASSWORD)
		return xasprintf("password\n%s\n%s\n%s\n%s",
		    c->iam_endpoint != NULL ? c->iam_endpoint : sc->region,
		    c->domain, c->user, sc->project_id);
	if (c->token.origin == SECRET_FILE || c->token.origin == SECRET_CREDDIR)
		return xasprintf("token-file\n%s", c->token.where);
	sha256_hex(c->token.value != NULL ? c->token.value : "",
	    c->token.value != NULL ? strlen(c->token.value) : 0, hex);
	return xasprintf("token\n%s", hex);
}

static char *
iam_url(const struct source_config *sc)
{
	const char	*e = sc->cred.iam_endpoint;
	size_t		 n;

	if (e == NULL)
		return xasprintf("https://iam.%s.myhuaweicloud.com"
		    "/v3/auth/tokens?nocatalog=true", sc->region);
	n = strlen(e);
	while (n > 0 && e[n - 1] == '/')
		n--;
	return xasprintf("%.*s/v3/auth/tokens?nocatalog=true", (int)n, e);
}

static char *
dup_or_null(const char *s)
{
	return s == NULL ? NULL : xstrdup(s);
}

struct auth_token *
auth_token_new(struct http *http, const struct source_config *sc)
{
	const struct credentials	*c = &sc->cred;
	struct auth_token		*t;

	t = xcalloc(1, sizeof(*t));
	t->http = http;
	t->method = c->method;
	TAILQ_INIT(&t->waiters);
	buf_init(&t->req_body);
	t->ca_file = dup_or_null(sc->ca_file);
	t->proxy = dup_or_null(sc->proxy);
	if (c->method == CRED_PASSWORD) {
		t->iam_url = iam_url(sc);
		t->domain = xstrdup(c->domain != NULL ? c->domain : "");
		t->user = xstrdup(c->user != NULL ? c->user : "");
		t->project_id = xstrdup(sc->project_id);
		t->password = xstrdup(c->password.value != NULL ?
		    c->password.value : "");
		t->label = xasprintf("IAM user %s/%s", t->domain, t->user);
	} else {
		if (c->token.origin == SECRET_FILE ||
		    c->token.origin == SECRET_CREDDIR) {
			t->path = xstrdup(c->token.where);
			t->creddir = c->token.origin == SECRET_CREDDIR;
			t->label = xasprintf("token file %s", t->path);
		} else
			t->label = xstrdup("configured token");
		if (c->token.value != NULL)
			t->token = xstrdup(c->token.value);
	}
	return t;
}

static void
wipe_req_body(struct auth_token *t)
{
	if (t->req_body.data != NULL)
		OPENSSL_cleanse(t->req_body.data, t->req_body.cap);
	buf_free(&t->req_body);
}

void
auth_token_free(struct auth_token *t)
{
	struct auth_wait	*w;

	if (t == NULL)
		return;
	while ((w = TAILQ_FIRST(&t->waiters)) != NULL) {
		TAILQ_REMOVE(&t->waiters, w, entry);
		free(w);
	}
	http_cancel(t->xfer);
	wipe_req_body(t);
	free(t->label);
	free(t->iam_url);
	free(t->domain);
	free(t->user);
	secret_free(t->password);
	free(t->project_id);
	free(t->ca_file);
	free(t->proxy);
	secret_free(t->token);
	free(t->path);
	free(t);
}

void
auth_token_update(struct auth_token *t, const struct source_config *sc)
{
	const struct credentials	*c = &sc->cred;

	if (t->method == CRED_PASSWORD && c->password.value != NULL &&
	    strcmp(t->password, c->password.value) != 0) {
		secret_free(t->password);
		t->password = xstrdup(c->password.value);
	}
	if (t->method == CRED_TOKEN && t->path == NULL &&
	    c->token.value != NULL &&
	    (t->token == NULL || strcmp(t->token, c->token.value) != 0)) {
		secret_free(t->token);
		t->token = xstrdup(c->token.value);
	}
}

/*
 * Re-read a token file when its mtime or size changed, with the checks the
 * config applied when it read the file first (secret_read_file()).
 */
static void
token_file_check(struct auth_token *t)
{
	struct stat	 st;
	char		*value = NULL, *errmsg = NULL;

	if (stat(t->path, &st) == -1) {
		if (!t->read_warned)
			log_warn("%s: cannot stat, using the token read "
			    "before", t->label);
		t->read_warned = 1;
		return;
	}
	if (t->stat_ok && st.st_size == t->size &&
	    st.st_mtim.tv_sec == t->mtime.tv_sec &&
	    st.st_mtim.tv_nsec == t->mtime.tv_nsec)
		return;
	if (secret_read_file(t->path, t->creddir, &value, &errmsg) == -1) {
		if (!t->read_warned)
			log_warnx("%s: %s; using the token read before",
			    t->label, errmsg);
		t->read_warned = 1;
		free(errmsg);
		return;
	}
	secret_free(t->token);
	t->token = value;
	t->mtime = st.st_mtim;
	t->size = st.st_size;
	t->stat_ok = 1;
	t->read_warned = 0;
	log_info("%s: token (re)read", t->label);
}

const char *
auth_token_get(struct auth_token *t, int64_t now_ms)
{
	if (t->method == CRED_TOKEN) {
		if (t->path != NULL)
			token_file_check(t);
		return t->token;
	}
	if (t->token != NULL && now_ms < t->refresh_ms)
		return t->token;
	return NULL;
}

int
auth_token_refused(struct auth_token *t, const char *token)
{
	if (t->method == CRED_TOKEN) {
		if (t->path != NULL)
			token_file_check(t);
		return t->token != NULL && strcmp(t->token, token) != 0;
	}
	if (t->token != NULL && strcmp(t->token, token) == 0) {
		secret_free(t->token);
		t->token = NULL;
		log_info("%s: token refused by the API, fetching a new one",
		    t->label);
	}
	return 1;
}

/* Deliver one outcome to every waiter of the fetch that just ended. */
static void
deliver(struct auth_token *t, const char *token, const struct auth_failure *f)
{
	struct auth_waits	 now;
	struct auth_wait	*w;

	TAILQ_INIT(&now);
	while ((w = TAILQ_FIRST(&t->waiters)) != NULL) {
		TAILQ_REMOVE(&t->waiters, w, entry);
		TAILQ_INSERT_TAIL(&now, w, entry);
		w->list = &now;
	}
	while ((w = TAILQ_FIRST(&now)) != NULL) {
		TAILQ_REMOVE(&now, w, entry);
		w->cb(token, f, w->arg);
		free(w);
	}
}

static void
iam_done(const struct http_resp *r, void *arg)
{
	struct auth_token	*t = arg;
	struct auth_failure	 f;
	cJSON			*root = NULL;
	const cJSON		*tok, *exp;
	char			*code = NULL, *msg = NULL, *detail = NULL;
	int64_t			 now = time_now_ms(), expires, server_now;
	int64_t			 lifetime, d;

	t->xfer = NULL;
	wipe_req_body(t);
	memset(&f, 0, sizeof(f));
	if (r->failed) {
		f.network = 1;
		detail = xasprintf("%s: IAM token request: %s", t->label,
		    r->error);
		goto fail;
	}
	if (r->status != 201 || r->subject_token == NULL ||
	    r->subject_token[0] == '\0') {
		f.http_status = r->status;
		http_error_fields(r->body, r->body_len, &code, &msg);
		/* IAM's code is often the HTTP status again: say it once. */
		if (code != NULL && strtol(code, NULL, 10) == r->status) {
			free(code);
			code = NULL;
		}
		if (r->status == 201)
			detail = xasprintf("%s: IAM token request: HTTP 201 "
			    "without X-Subject-Token", t->label);
		else
			detail = xasprintf("%s: IAM token request: HTTP %ld%s%s"
			    "%s%s", t->label, r->status, code ? " " : "",
			    code ? code : "", msg ? ": " : "", msg ? msg : "");
		goto fail;
	}
	lifetime = AUTH_DEFAULT_LIFETIME;
	root = cJSON_ParseWithLength(r->body, r->body_len);
	tok = cJSON_GetObjectItemCaseSensitive(root, "token");
	exp = cJSON_GetObjectItemCaseSensitive(tok, "expires_at");
	if (cJSON_IsString(exp) &&
	    auth_parse_time(exp->valuestring, &expires) == 0) {
		/* Measure the lifetime on IAM's clock, not ours. */
		server_now = now;
		if (http_date_ms(r->date, &d) == 0)
			server_now = d;
		lifetime = expires - server_now;
		if (lifetime <= AUTH_EXPIRY_MARGIN) {
			log_warnx("%s: IAM token expires in %lld ms, using "
			    "it once", t->label, (long long)lifetime);
			lifetime = 0;
		}
	} else
		log_warnx("%s: IAM token without a valid token.expires_at, "
		    "refreshing it in %d min", t->label,
		    AUTH_DEFAULT_LIFETIME / 60000 * 4 / 5);
	cJSON_Delete(root);
	secret_free(t->token);
	t->token = xstrdup(r->subject_token);
	t->refresh_ms = auth_refresh_at(now, lifetime);
	t->expires_ms = now + lifetime;
	log_info("%s: IAM token obtained, valid %lld min, refresh in %lld min",
	    t->label, (long long)(lifetime / 60000),
	    (long long)((t->refresh_ms - now) / 60000));
	deliver(t, t->token, NULL);
	return;
fail:
	f.detail = detail;
	/* A failed refresh keeps a token that is still valid. */
	if (t->token != NULL && now < t->expires_ms - AUTH_EXPIRY_MARGIN) {
		log_warnx("%s, keeping the current token (valid %lld more min)",
		    detail, (long long)((t->expires_ms - now) / 60000));
		deliver(t, t->token, NULL);
	} else
		deliver(t, NULL, &f);
	free(code);
	free(msg);
	free(detail);
}

struct auth_wait *
auth_token_fetch(struct auth_token *t, auth_token_cb cb, void *arg)
{
	struct auth_wait	*w;
	struct http_req		 req;
	static const char *const hdrs[] = {
		"Content-Type: application/json;charset=utf8",
		"Accept: application/json",
	};

	w = xcalloc(1, sizeof(*w));
	w->tok = t;
	w->cb = cb;
	w->arg = arg;
	w->list = &t->waiters;
	TAILQ_INSERT_TAIL(&t->waiters, w, entry);
	if (t->xfer != NULL)
		return w;	/* join the fetch in flight */

	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.url = t->iam_url;
	req.headers = hdrs;
	req.nheaders = HSS_ARRAY_LEN(hdrs);
	wipe_req_body(t);
	auth_iam_body(t->domain, t->user, t->password, t->project_id,
	    &t->req_body);
	req.body = t->req_body.data;
	req.body_len = t->req_body.len;
	req.secret_body = 1;
	req.ca_file = t->ca_file;
	req.proxy = t->proxy;
	req.timeout_ms = AUTH_IAM_TIMEOUT;
	req.max_response = 1024 * 1024;
	log_debug("%s: requesting an IAM token from %s", t->label, t->iam_url);
	t->xfer = http_request(t->http, &req, iam_done, t);
	return w;
}

void
auth_wait_cancel(struct auth_wait *w)
{
	if (w == NULL)
		return;
	TAILQ_REMOVE(w->list, w, entry);
	free(w);
}
