/*
 * confparse.c: the YAML config file read with positions, for the schema in
 * config.c: diagnostics and typed values.
 *
 * The file is read with libyaml's document API so that every node carries
 * its position. Every problem found is collected as "FILE:LINE:COL: message"
 * (1-based), errors and warnings apart, sorted by position. The getters
 * check one value each (string, integer, duration, boolean, enum, URL,
 * host:port, readable file, secret) and say what is wrong with it. Secrets
 * are read here (from *_file, *_env, inline, or $CREDENTIALS_DIRECTORY) and
 * no message ever contains a secret value: only key names, paths and
 * variable names. YAML anchors and aliases are refused (they would make one
 * node appear in several places, and allow exponential expansion).
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <yaml.h>

#include "confparse.h"
#include "log.h"
#include "secret.h"
#include "util.h"

#define CONFIG_FILE_MAX		(1024 * 1024)
#define PATH_LEN_MAX		CONFPARSE_PATH_MAX
#define SUGGEST_DISTANCE	2
#define SUGGEST_KEY_MAX		64

struct diag_item {
	int	 line;
	int	 col;
	size_t	 seq;
	char	*msg;
};

struct diag_list {
	struct diag_item *items;
	size_t		  n;
	size_t		  cap;
};

struct confparse {
	char		*file;
	unsigned char	*buf;		/* the file, wiped when freed */
	size_t		 len;
	yaml_parser_t	 parser;
	yaml_document_t	 doc;
	int		 have_parser;
	int		 have_doc;
	struct diag_list errors;
	struct diag_list warnings;
	size_t		 seq;
};

/* Diagnostics. */

static void __attribute__((format(printf, 5, 0)))
diag_vadd(struct confparse *c, struct diag_list *l, int line, int col,
    const char *fmt, va_list ap)
{
	struct diag_item	*it;
	char			*raw, *msg, *file;
	size_t			 len;

	/*
	 * Every diagnostic is escaped as log lines are (log_escape): a key,
	 * a value or the path may hold a TAB, a line break or an escape
	 * sequence, and the message must stay one line on a terminal.
	 */
	raw = xvasprintf(fmt, ap);
	len = strlen(raw);
	msg = xmalloc(4 * len + 1);
	log_escape(msg, 4 * len + 1, raw, len);
	free(raw);
	len = strlen(c->file);
	file = xmalloc(4 * len + 1);
	log_escape(file, 4 * len + 1, c->file, len);
	if (l->n == l->cap) {
		l->cap = l->cap == 0 ? 8 : l->cap * 2;
		l->items = xreallocarray(l->items, l->cap, sizeof(*l->items));
	}
	it = &l->items[l->n++];
	it->line = line;
	it->col = col;
	it->seq = c->seq++;
	if (line > 0)
		it->msg = xasprintf("%s:%d:%d: %s", file, line, col, msg);
	else
		it->msg = xasprintf("%s: %s", file, msg);
	free(file);
	free(msg);
}

void
confparse_err_at(struct confparse *c, int line, int col, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	diag_vadd(c, &c->errors, line, col, fmt, ap);
	va_end(ap);
}

void
confparse_err(struct confparse *c, const yaml_node_t *n, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	diag_vadd(c, &c->errors, (int)n->start_mark.line + 1,
	    (int)n->start_mark.column + 1, fmt, ap);
	va_end(ap);
}

void
confparse_warn(struct confparse *c, const yaml_node_t *n, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	diag_vadd(c, &c->warnings, (int)n->start_mark.line + 1,
	    (int)n->start_mark.column + 1, fmt, ap);
	va_end(ap);
}

static int
diag_cmp(const void *a, const void *b)
{
	const struct diag_item	*x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return 0;
}

/* Sort a list by position and move its messages to *out (or drop them). */
static void
diag_move(struct diag_list *l, char ***out, size_t *nout)
{
	size_t	 i;

	if (l->n > 0)
		qsort(l->items, l->n, sizeof(*l->items), diag_cmp);
	if (out != NULL && l->n > 0) {
		*out = xreallocarray(NULL, l->n, sizeof(**out));
		for (i = 0; i < l->n; i++)
			(*out)[i] = l->items[i].msg;
		*nout = l->n;
	} else {
		for (i = 0; i < l->n; i++)
			free(l->items[i].msg);
	}
	free(l->items);
	l->items = NULL;
	l->n = l->cap = 0;
}

/* Small string helpers. */

static size_t
edit_distance(const char *a, const char *b)
{
	size_t	 row[SUGGEST_KEY_MAX + 1], la, lb, i, j, prev, tmp, best;

	la = strlen(a);
	lb = strlen(b);
	if (la > SUGGEST_KEY_MAX || lb > SUGGEST_KEY_MAX)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			tmp = row[j];
			best = prev + (a[i - 1] == b[j - 1] ? 0 : 1);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = tmp;
		}
	}
	return row[lb];
}

/* The nearest of names[] within SUGGEST_DISTANCE edits, or NULL. */
const char *
confparse_suggest(const char *s, const char *const *names, size_t n)
{
	const char	*best = NULL;
	size_t		 i, d, bestd = SUGGEST_DISTANCE + 1;

	for (i = 0; i < n; i++) {
		d = edit_distance(s, names[i]);
		if (d < bestd) {
			bestd = d;
			best = names[i];
		}
	}
	return best;
}

int
confparse_find(const char *s, const char *const *names, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

char *
confparse_join(const char *const *names, size_t n)
{
	struct buf	 b;
	size_t		 i;

	buf_init(&b);
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_adds(&b, ", ");
		buf_adds(&b, names[i]);
	}
	return b.data;
}

/* Characters of an environment variable name. */
static int
env_char(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch == '_';
}

/* A key of the credentials mapping may be shown if it looks like one. */
static int
cred_key_showable(const char *s)
{
	if (*s == '\0' || strlen(s) > 32)
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || *s == '_'))
			return 0;
	return 1;
}

/* YAML nodes. */

yaml_node_t *
confparse_node(struct confparse *c, int id)
{
	return yaml_document_get_node(&c->doc, id);
}

int
confparse_is_null(const yaml_node_t *n)
{
	const char	*v;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	v = (const char *)n->data.scalar.value;
	return *v == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	    strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

const char *
confparse_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a sequence";
	default:
		return confparse_is_null(n) ? "an empty value" : "a string";
	}
}

const char *
confparse_str(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

int
confparse_line(const yaml_node_t *n)
{
	return (int)n->start_mark.line + 1;
}

/*
 * The text of a scalar, or NULL after an error saying what was expected.
 * Never shows the value: it may be a secret.
 */
const char *
confparse_scalar(struct confparse *c, const char *key, const yaml_node_t *n,
    const char *what)
{
	const unsigned char	*p;

	if (n->type != YAML_SCALAR_NODE || confparse_is_null(n)) {
		confparse_err(c, n, "`%s`: expected %s, got %s", key, what,
		    confparse_kind(n));
		return NULL;
	}
	if (strlen(confparse_str(n)) != n->data.scalar.length) {
		confparse_err(c, n, "`%s`: contains a NUL character", key);
		return NULL;
	}
	for (p = n->data.scalar.value; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			confparse_err(c, n, "`%s`: contains a control "
			    "character", key);
			return NULL;
		}
	}
	return confparse_str(n);
}

int
confparse_mapping(struct confparse *c, const char *key, const yaml_node_t *n)
{
	if (n->type == YAML_MAPPING_NODE)
		return 0;
	confparse_err(c, n, "`%s`: expected a mapping, got %s", key,
	    confparse_kind(n));
	return -1;
}

yaml_node_pair_t *
confparse_pair(struct confparse *c, const yaml_node_t *map, const char *key)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*k;

	for (p = map->data.mapping.pairs.start;
	    p < map->data.mapping.pairs.top; p++) {
		k = confparse_node(c, p->key);
		if (k->type == YAML_SCALAR_NODE &&
		    strcmp(confparse_str(k), key) == 0)
			return p;
	}
	return NULL;
}

yaml_node_t *
confparse_get(struct confparse *c, const yaml_node_t *map, const char *key)
{
	yaml_node_pair_t	*p;

	if ((p = confparse_pair(c, map, key)) == NULL)
		return NULL;
	return confparse_node(c, p->value);
}

yaml_node_t *
confparse_key(struct confparse *c, const yaml_node_t *map, const char *key)
{
	yaml_node_pair_t	*p;

	if ((p = confparse_pair(c, map, key)) == NULL)
		return NULL;
	return confparse_node(c, p->key);
}

/*
 * Report unknown keys (with the nearest known one), keys that are not
 * strings and duplicate keys. hide: keys may hold secrets (credentials), so
 * an unknown key that does not look like a key name is not shown.
 */
void
confparse_check_keys(struct confparse *c, const yaml_node_t *map,
    const char *const *keys, size_t nkeys, int hide)
{
	yaml_node_pair_t	*p, *q;
	yaml_node_t		*k, *k2;
	const char		*name, *near;

	for (p = map->data.mapping.pairs.start;
	    p < map->data.mapping.pairs.top; p++) {
		k = confparse_node(c, p->key);
		if (k->type != YAML_SCALAR_NODE || confparse_is_null(k)) {
			confparse_err(c, k, "expected a key name, got %s",
			    confparse_kind(k));
			continue;
		}
		name = confparse_str(k);
		if (confparse_find(name, keys, nkeys) == -1) {
			if (hide && !cred_key_showable(name)) {
				confparse_err(c, k, "unknown key (not shown: "
				    "it may be a secret)");
				continue;
			}
			near = confparse_suggest(name, keys, nkeys);
			if (near != NULL)
				confparse_err(c, k, "unknown key `%s`; "
				    "did you mean `%s`?", name, near);
			else
				confparse_err(c, k, "unknown key `%s`", name);
			continue;
		}
		for (q = map->data.mapping.pairs.start; q < p; q++) {
			k2 = confparse_node(c, q->key);
			if (k2->type == YAML_SCALAR_NODE &&
			    strcmp(confparse_str(k2), name) == 0) {
				confparse_err(c, k, "duplicate key `%s` (first "
				    "at line %d)", name, confparse_line(k2));
				break;
			}
		}
	}
}

void
confparse_require(struct confparse *c, const yaml_node_t *map, const char *key)
{
	if (confparse_pair(c, map, key) == NULL)
		confparse_err(c, map, "missing required key `%s`", key);
}

/*
 * Typed values. Each confparse_<type> returns 1 if set, 0 if absent, -1 on
 * error; each confparse_check_<type> 0, or -1 on error.
 */

int
confparse_check_int(struct confparse *c, const char *key, const yaml_node_t *n,
    int64_t min, int64_t max, int64_t *out)
{
	const char	*s, *errstr;
	int64_t		 v;

	if ((s = confparse_scalar(c, key, n, "an integer")) == NULL)
		return -1;
	if (parse_int64(s, min, max, &v, &errstr) == -1) {
		if (strcmp(errstr, "invalid") == 0)
			confparse_err(c, n, "`%s`: expected an integer, got "
			    "`%s`", key, s);
		else
			confparse_err(c, n, "`%s`: %s is out of range "
			    "(%lld..%lld)", key, s, (long long)min,
			    (long long)max);
		return -1;
	}
	*out = v;
	return 0;
}

int
confparse_int(struct confparse *c, const yaml_node_t *map, const char *key,
    int64_t min, int64_t max, int64_t *out)
{
	yaml_node_t	*n;

	if ((n = confparse_get(c, map, key)) == NULL)
		return 0;
	return confparse_check_int(c, key, n, min, max, out) == -1 ? -1 : 1;
}

/* min and max are durations as text, so that messages read naturally. */
int
confparse_duration(struct confparse *c, const yaml_node_t *map, const char *key,
    const char *minstr, const char *maxstr, int64_t *out)
{
	yaml_node_t	*n;
	const char	*s, *errstr;
	int64_t		 v, min = 0, max = 0;

	if ((n = confparse_get(c, map, key)) == NULL)
		return 0;
	if ((s = confparse_scalar(c, key, n, "a duration")) == NULL)
		return -1;
	if (parse_duration(s, &v, &errstr) == -1) {
		confparse_err(c, n, "`%s`: `%s`: %s", key, s, errstr);
		return -1;
	}
	if (parse_duration(minstr, &min, &errstr) == -1 ||
	    parse_duration(maxstr, &max, &errstr) == -1)
		fatalx("%s: bad built-in range %s..%s", __func__, minstr,
		    maxstr);
	if (v < min || v > max) {
		confparse_err(c, n, "`%s`: %s is out of range (%s..%s)", key, s,
		    minstr, maxstr);
		return -1;
	}
	*out = v;
	return 1;
}

int
confparse_bool(struct confparse *c, const yaml_node_t *map, const char *key,
    int *out)
{
	yaml_node_t	*n;
	const char	*s;

	if ((n = confparse_get(c, map, key)) == NULL)
		return 0;
	if ((s = confparse_scalar(c, key, n, "true or false")) == NULL)
		return -1;
	if (strcasecmp(s, "true") == 0 || strcasecmp(s, "yes") == 0)
		*out = 1;
	else if (strcasecmp(s, "false") == 0 || strcasecmp(s, "no") == 0)
		*out = 0;
	else {
		confparse_err(c, n, "`%s`: expected true or false, got `%s`",
		    key, s);
		return -1;
	}
	return 1;
}

int
confparse_check_enum(struct confparse *c, const char *key, const yaml_node_t *n,
    const char *const *names, size_t nnames, int *out)
{
	const char	*s;
	char		*all;
	int		 i;

	if ((s = confparse_scalar(c, key, n, "a string")) == NULL)
		return -1;
	if ((i = confparse_find(s, names, nnames)) == -1) {
		all = confparse_join(names, nnames);
		confparse_err(c, n, "`%s`: `%s` is not one of: %s", key, s,
		    all);
		free(all);
		return -1;
	}
	*out = i;
	return 0;
}

int
confparse_enum(struct confparse *c, const yaml_node_t *map, const char *key,
    const char *const *names, size_t nnames, int *out)
{
	yaml_node_t	*n;

	if ((n = confparse_get(c, map, key)) == NULL)
		return 0;
	return confparse_check_enum(c, key, n, names, nnames, out) == -1 ?
	    -1 : 1;
}

/* A string of 1..max bytes; okchar (if set) limits it to charset. */
int
confparse_check_string(struct confparse *c, const char *key,
    const yaml_node_t *n, size_t max, int (*okchar)(int), const char *charset,
    char **out)
{
	const char	*s, *p;
	size_t		 len;

	if ((s = confparse_scalar(c, key, n, "a string")) == NULL)
		return -1;
	len = strlen(s);
	if (len == 0) {
		confparse_err(c, n, "`%s`: must not be empty", key);
		return -1;
	}
	if (len > max) {
		confparse_err(c, n, "`%s`: too long (%zu characters, at most "
		    "%zu)", key, len, max);
		return -1;
	}
	if (okchar != NULL) {
		for (p = s; *p != '\0'; p++) {
			if (!okchar((unsigned char)*p)) {
				confparse_err(c, n, "`%s`: `%s` may contain "
				    "only %s", key, s, charset);
				return -1;
			}
		}
	}
	free(*out);
	*out = xstrdup(s);
	return 0;
}

int
confparse_string(struct confparse *c, const yaml_node_t *map, const char *key,
    size_t max, int (*okchar)(int), const char *charset, char **out)
{
	yaml_node_t	*n;

	if ((n = confparse_get(c, map, key)) == NULL)
		return 0;
	return confparse_check_string(c, key, n, max, okchar, charset,
	    out) == -1 ? -1 : 1;
}

/*
 * A file that must exist and be readable now (CA bundles, certificates):
 * opened as every file is (file_open_regular(): never blocking, a regular
 * file only).
 */
int
confparse_readable(struct confparse *c, const yaml_node_t *map, const char *key,
    char **out)
{
	yaml_node_t	*n;
	const char	*why;
	int		 fd;

	if ((n = confparse_get(c, map, key)) == NULL)
		return 0;
	if (confparse_check_string(c, key, n, PATH_LEN_MAX, NULL, NULL,
	    out) == -1)
		return -1;
	if ((fd = file_open_regular(*out, NULL, &why)) == -1) {
		confparse_err(c, n, "`%s`: cannot read %s: %s", key, *out, why);
		return -1;
	}
	close(fd);
	return 1;
}

/* The host of an authority "host[:port]" or "[v6]:port" is loopback. */
static int
loopback_host(const char *auth, size_t len)
{
	struct in_addr	 a4;
	struct in6_addr	 a6;
	char		 host[256];
	const char	*end;
	size_t		 n;

	if (len > 0 && auth[0] == '[') {
		if ((end = memchr(auth, ']', len)) == NULL)
			return 0;
		n = (size_t)(end - auth) - 1;
		auth++;
	} else {
		end = memchr(auth, ':', len);
		n = end != NULL ? (size_t)(end - auth) : len;
	}
	if (n == 0 || n >= sizeof(host))
		return 0;
	memcpy(host, auth, n);
	host[n] = '\0';
	/* libcurl resolves localhost to the loopback addresses itself. */
	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return 0;
}

/*
 * A URL: scheme://host[:port][/path] with one of schemes. loopback_http:
 * plain http:// only to a loopback address (127.0.0.0/8, ::1, localhost:
 * tests, the simulator), warned about; anywhere else signed requests,
 * passwords and tokens would travel in clear, so it is an error. A URL
 * holding a user name or password is refused without being shown.
 */
int
confparse_url(struct confparse *c, const yaml_node_t *map, const char *key,
    const char *const *schemes, size_t nschemes, int loopback_http,
    char **out)
{
	yaml_node_t	*n;
	const char	*s, *sep, *auth;
	char		*all, *scheme;
	size_t		 authlen, len;
	int		 known;

	if ((n = confparse_get(c, map, key)) == NULL)
		return 0;
	if ((s = confparse_scalar(c, key, n, "a URL")) == NULL)
		return -1;
	if (strchr(s, '@') != NULL) {
		confparse_err(c, n, "`%s`: user names and passwords in URLs "
		    "are not supported (the URL is not shown)", key);
		return -1;
	}
	all = confparse_join(schemes, nschemes);
	if ((sep = strstr(s, "://")) == NULL) {
		confparse_err(c, n, "`%s`: `%s` is not a URL (expected "
		    "%s://host[:port])", key, s, schemes[0]);
		goto fail;
	}
	scheme = xstrndup(s, (size_t)(sep - s));
	known = confparse_find(scheme, schemes, nschemes) != -1;
	free(scheme);
	if (!known) {
		confparse_err(c, n, "`%s`: `%s`: the scheme must be one of: %s",
		    key, s, all);
		goto fail;
	}
	auth = sep + 3;
	authlen = strcspn(auth, "/?#");
	if (authlen == 0) {
		confparse_err(c, n, "`%s`: `%s` has no host", key, s);
		goto fail;
	}
	if (strchr(s, ' ') != NULL) {
		confparse_err(c, n, "`%s`: `%s` contains a space", key, s);
		goto fail;
	}
	if (loopback_http && strncmp(s, "http://", 7) == 0) {
		if (!loopback_host(auth, authlen)) {
			confparse_err(c, n, "`%s`: `%s`: plain http:// is "
			    "allowed only to a loopback address (127.0.0.0/8, "
			    "::1, localhost); use https://", key, s);
			goto fail;
		}
		confparse_warn(c, n, "`%s`: plain http:// is not encrypted; "
		    "use https:// outside tests", key);
	}
	free(all);
	len = strlen(s);
	while (len > (size_t)(auth - s) + authlen && s[len - 1] == '/')
		len--;
	free(*out);
	*out = xstrndup(s, len);
	return 1;
fail:
	free(all);
	return -1;
}

int
confparse_hostport(struct confparse *c, const yaml_node_t *map, const char *key,
    char **addr, char **host, int *port)
{
	yaml_node_t	*n;
	const char	*errstr;

	if ((n = confparse_get(c, map, key)) == NULL)
		return 0;
	if (confparse_check_string(c, key, n, 1024, NULL, NULL, addr) == -1)
		return -1;
	free(*host);
	if (parse_hostport(*addr, host, port, &errstr) == -1) {
		confparse_err(c, n, "`%s`: `%s`: %s", key, *addr, errstr);
		return -1;
	}
	return 1;
}

/* Secrets. */

/*
 * A systemd credential: $CREDENTIALS_DIRECTORY/<source>.<base> or <base>.
 * systemd writes it 0400 and grants the service's user read access with an
 * ACL, whose mask shows as the group bits: 0440 is accepted here.
 */
static void
creddir_secret(struct confparse *c, const yaml_node_t *cred,
    const char *srcname, const char *base, int required, struct secret *sec)
{
	const char	*dir;
	char		*path[2] = { NULL, NULL }, *errmsg;
	struct stat	 st;
	size_t		 i;

	dir = getenv("CREDENTIALS_DIRECTORY");
	if (dir != NULL && *dir != '\0') {
		if (srcname != NULL)
			path[0] = xasprintf("%s/%s.%s", dir, srcname, base);
		path[1] = xasprintf("%s/%s", dir, base);
		for (i = 0; i < 2; i++) {
			if (path[i] == NULL ||
			    (stat(path[i], &st) == -1 && errno == ENOENT))
				continue;
			if (secret_read_file(path[i], 1, &sec->value,
			    &errmsg) == -1) {
				confparse_err(c, cred, "`%s` from "
				    "$CREDENTIALS_DIRECTORY: %s", base, errmsg);
				free(errmsg);
				goto done;
			}
			sec->origin = SECRET_CREDDIR;
			sec->where = path[i];
			path[i] = NULL;
			goto done;
		}
	}
	if (required)
		confparse_err(c, cred, "missing secret `%s`: set %s_file or "
		    "%s_env, or provide the systemd credential %s.%s or %s",
		    base, base, base, srcname != NULL ? srcname : "SOURCE",
		    base, base);
done:
	free(path[0]);
	free(path[1]);
}

/*
 * A secret from the environment variable named by v. The name is shown only
 * if it contains `_`: a name without one may be an access key pasted here.
 */
static void
env_secret(struct confparse *c, const char *kenv, const yaml_node_t *v,
    struct secret *sec)
{
	char		*var = NULL, *subj;
	const char	*e, *p;

	if (confparse_check_string(c, kenv, v, 255, NULL, NULL, &var) == -1)
		return;
	for (p = var; *p != '\0'; p++)
		if (!env_char((unsigned char)*p))
			break;
	if (*p != '\0' || (*var >= '0' && *var <= '9')) {
		confparse_err(c, v, "`%s`: not an environment variable name "
		    "(use A-Z, a-z, 0-9 and _); the value is not shown", kenv);
		free(var);
		return;
	}
	if (strchr(var, '_') != NULL)
		subj = xasprintf("environment variable %s", var);
	else
		subj = xstrdup("the environment variable named here (not "
		    "shown: without `_` it may be a pasted key)");
	if ((e = getenv(var)) == NULL)
		confparse_err(c, v, "`%s`: %s is not set", kenv, subj);
	else if (*e == '\0')
		confparse_err(c, v, "`%s`: %s is empty", kenv, subj);
	else if (strcspn(e, "\001\002\003\004\005\006\007\010\011"
	    "\012\013\014\015\016\017\020\021\022\023\024\025\026"
	    "\027\030\031\032\033\034\035\036\037\177") != strlen(e))
		confparse_err(c, v, "`%s`: %s contains a control character or "
		    "a line break", kenv, subj);
	else {
		sec->origin = SECRET_ENV;
		sec->where = var;
		sec->value = xstrdup(e);
		var = NULL;
	}
	free(subj);
	free(var);
}

/*
 * One secret of a credentials mapping: exactly one of <base>_file,
 * <base>_env or inline <base>; else a systemd credential.
 */
void
confparse_secret(struct confparse *c, const yaml_node_t *cred,
    const char *srcname, const char *base, int required, struct secret *sec)
{
	yaml_node_pair_t	*p, *first = NULL;
	yaml_node_t		*k, *v;
	char			 kfile[64], kenv[64];
	char			*path = NULL, *errmsg;
	const char		*name, *s;

	snprintf(kfile, sizeof(kfile), "%s_file", base);
	snprintf(kenv, sizeof(kenv), "%s_env", base);
	for (p = cred->data.mapping.pairs.start;
	    p < cred->data.mapping.pairs.top; p++) {
		k = confparse_node(c, p->key);
		if (k->type != YAML_SCALAR_NODE)
			continue;
		name = confparse_str(k);
		if (strcmp(name, base) != 0 && strcmp(name, kfile) != 0 &&
		    strcmp(name, kenv) != 0)
			continue;
		if (first == NULL) {
			first = p;
			continue;
		}
		if (strcmp(name,
		    confparse_str(confparse_node(c, first->key))) == 0)
			continue;	/* a duplicate key, already reported */
		confparse_err(c, k, "`%s`: give only one of %s_file, %s_env or "
		    "%s", name, base, base, base);
	}
	if (first == NULL) {
		creddir_secret(c, cred, srcname, base, required, sec);
		return;
	}
	k = confparse_node(c, first->key);
	v = confparse_node(c, first->value);
	name = confparse_str(k);
	if (strcmp(name, base) == 0) {
		if ((s = confparse_scalar(c, base, v, "a string")) == NULL)
			return;
		if (*s == '\0') {
			confparse_err(c, v, "`%s`: the secret is empty", base);
			return;
		}
		confparse_warn(c, k, "`%s`: secret given inline; use %s_file "
		    "or %s_env", base, base, base);
		sec->origin = SECRET_INLINE;
		sec->where = xasprintf("%s:%d", c->file, confparse_line(k));
		sec->value = xstrdup(s);
	} else if (strcmp(name, kfile) == 0) {
		if (confparse_check_string(c, kfile, v, PATH_LEN_MAX, NULL,
		    NULL, &path) == -1)
			return;
		if (strchr(path, '/') == NULL) {
			/* Shown nowhere: it may be the secret pasted here. */
			confparse_err(c, v, "`%s`: write the path with a `/` "
			    "(for example ./NAME); a bare name is not shown as "
			    "it may be a pasted secret", kfile);
			free(path);
			return;
		}
		if (secret_read_file(path, 0, &sec->value, &errmsg) == -1) {
			confparse_err(c, v, "`%s`: %s", kfile, errmsg);
			free(errmsg);
			free(path);
			return;
		}
		sec->origin = SECRET_FILE;
		sec->where = path;
	} else
		env_secret(c, kenv, v, sec);
}

/* Lists. */

/* A list of at least one item; returns its length or 0 after an error. */
size_t
confparse_list(struct confparse *c, const char *key, const yaml_node_t *n)
{
	size_t	 count;

	if (n->type != YAML_SEQUENCE_NODE) {
		confparse_err(c, n, "`%s`: expected a sequence, got %s", key,
		    confparse_kind(n));
		return 0;
	}
	count = (size_t)(n->data.sequence.items.top -
	    n->data.sequence.items.start);
	if (count == 0)
		confparse_err(c, n, "`%s`: empty list; at least one is "
		    "required", key);
	return count;
}

/* Loading. */

static void
syntax_error(struct confparse *c, const yaml_parser_t *p,
    const unsigned char *buf, size_t len)
{
	const char	*problem;
	size_t		 off, i;
	int		 line = 1, col = 1;

	problem = p->problem != NULL ? p->problem : "unknown error";
	switch (p->error) {
	case YAML_MEMORY_ERROR:
		confparse_err_at(c, 0, 0, "out of memory while parsing YAML");
		break;
	case YAML_READER_ERROR:
		/* The offending byte is not shown: it may be in a secret. */
		off = p->problem_offset < len ? p->problem_offset : len;
		for (i = 0; i < off; i++) {
			if (buf[i] == '\n') {
				line++;
				col = 1;
			} else
				col++;
		}
		confparse_err_at(c, line, col, "YAML syntax error: %s",
		    problem);
		break;
	default:
		line = (int)p->problem_mark.line + 1;
		col = (int)p->problem_mark.column + 1;
		if (p->context != NULL)
			confparse_err_at(c, line, col, "YAML syntax error: %s "
			    "(%s at line %d column %d)", problem, p->context,
			    (int)p->context_mark.line + 1,
			    (int)p->context_mark.column + 1);
		else
			confparse_err_at(c, line, col, "YAML syntax error: %s",
			    problem);
		break;
	}
}

/* libyaml frees its buffers without wiping them; they may hold secrets. */
static void
parser_wipe(yaml_parser_t *p)
{
	if (p->raw_buffer.start != NULL)
		OPENSSL_cleanse(p->raw_buffer.start,
		    (size_t)(p->raw_buffer.end - p->raw_buffer.start));
	if (p->buffer.start != NULL)
		OPENSSL_cleanse(p->buffer.start,
		    (size_t)(p->buffer.end - p->buffer.start));
}

static void
document_wipe(yaml_document_t *doc)
{
	yaml_node_t	*n;

	for (n = doc->nodes.start; n < doc->nodes.top; n++)
		if (n->type == YAML_SCALAR_NODE)
			OPENSSL_cleanse(n->data.scalar.value,
			    n->data.scalar.length);
}

static void
mark_error(struct confparse *c, const yaml_mark_t *m, const char *what,
    const char *sigil, const unsigned char *name)
{
	confparse_err_at(c, (int)m->line + 1, (int)m->column + 1, "%s `%s%s`: "
	    "YAML anchors and aliases are not supported; write the value out",
	    what, sigil, (const char *)name);
}

/*
 * An event-level pass before the document is built: syntax errors,
 * anchors and aliases (refused), more than one document, and the limits on
 * nesting and size (CONFPARSE_DEPTH_MAX, CONFPARSE_NODES_MAX). libyaml
 * takes time that grows with the cube of the nesting depth of flow
 * collections (100,000 `[` took 22 s), so the pass stops at the first
 * collection nested too deep, after reading a bounded part of the file.
 */
static int
scan_events(struct confparse *c, const unsigned char *buf, size_t len)
{
	yaml_parser_t	 p;
	yaml_event_t	 ev;
	yaml_char_t	*anchor;
	size_t		 nodes = 0;
	int		 done = 0, docs = 0, depth = 0, rv = 0;

	if (!yaml_parser_initialize(&p))
		fatalx("%s: yaml_parser_initialize failed", __func__);
	yaml_parser_set_input_string(&p, buf, len);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			syntax_error(c, &p, buf, len);
			rv = -1;
			break;
		}
		anchor = NULL;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs == 2)
				confparse_err_at(c, (int)ev.start_mark.line + 1,
				    (int)ev.start_mark.column + 1, "a second "
				    "YAML document is not supported");
			break;
		case YAML_ALIAS_EVENT:
			mark_error(c, &ev.start_mark, "alias", "*",
			    ev.data.alias.anchor);
			break;
		case YAML_SCALAR_EVENT:
			anchor = ev.data.scalar.anchor;
			OPENSSL_cleanse(ev.data.scalar.value,
			    ev.data.scalar.length);
			break;
		case YAML_SEQUENCE_START_EVENT:
			anchor = ev.data.sequence_start.anchor;
			depth++;
			break;
		case YAML_MAPPING_START_EVENT:
			anchor = ev.data.mapping_start.anchor;
			depth++;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		default:
			break;
		}
		if (anchor != NULL)
			mark_error(c, &ev.start_mark, "anchor", "&", anchor);
		if (ev.type == YAML_SCALAR_EVENT || ev.type == YAML_ALIAS_EVENT ||
		    ev.type == YAML_SEQUENCE_START_EVENT ||
		    ev.type == YAML_MAPPING_START_EVENT)
			nodes++;
		if (depth > CONFPARSE_DEPTH_MAX) {
			confparse_err_at(c, (int)ev.start_mark.line + 1,
			    (int)ev.start_mark.column + 1, "mappings and "
			    "sequences nested more than %d deep; the file is "
			    "refused", CONFPARSE_DEPTH_MAX);
			rv = -1;
			done = 1;
		} else if (nodes > CONFPARSE_NODES_MAX) {
			confparse_err_at(c, (int)ev.start_mark.line + 1,
			    (int)ev.start_mark.column + 1, "more than %d YAML "
			    "values (keys, scalars, mappings and sequences); "
			    "the file is refused", CONFPARSE_NODES_MAX);
			rv = -1;
			done = 1;
		}
		yaml_event_delete(&ev);
	}
	parser_wipe(&p);
	yaml_parser_delete(&p);
	return rv;
}

/*
 * The file, read as every file is (file_read_regular(): never blocking, a
 * regular file only, sized from st_size). A problem with the file as a
 * whole is reported at 1:1, so that every diagnostic has a position.
 */
static int
read_config_file(struct confparse *c, const char *path, unsigned char **bufp,
    size_t *lenp)
{
	const char	*why;
	char		*data;
	size_t		 len;

	if (file_read_regular(path, CONFIG_FILE_MAX, NULL, &data, &len,
	    &why) == -1) {
		if (strcmp(why, "larger than the limit") == 0)
			confparse_err_at(c, 1, 1, "larger than %d bytes",
			    CONFIG_FILE_MAX);
		else
			confparse_err_at(c, 1, 1, "cannot read: %s", why);
		return -1;
	}
	*bufp = (unsigned char *)data;
	*lenp = len;
	return 0;
}

/* The file and its diagnostics. */

struct confparse *
confparse_new(const char *path)
{
	struct confparse	*c;

	c = xcalloc(1, sizeof(*c));
	c->file = xstrdup(path);
	return c;
}

/* Read and parse the file: 0 when the document is ready, else -1. */
int
confparse_load(struct confparse *c)
{
	if (read_config_file(c, c->file, &c->buf, &c->len) == -1)
		return -1;
	if (scan_events(c, c->buf, c->len) == -1 || c->errors.n > 0)
		return -1;
	if (!yaml_parser_initialize(&c->parser))
		fatalx("%s: yaml_parser_initialize failed", __func__);
	c->have_parser = 1;
	yaml_parser_set_input_string(&c->parser, c->buf, c->len);
	if (!yaml_parser_load(&c->parser, &c->doc)) {
		syntax_error(c, &c->parser, c->buf, c->len);
		return -1;
	}
	c->have_doc = 1;
	return 0;
}

yaml_node_t *
confparse_root(struct confparse *c)
{
	return yaml_document_get_root_node(&c->doc);
}

size_t
confparse_nerrors(const struct confparse *c)
{
	return c->errors.n;
}

void
confparse_free(struct confparse *c, char ***errors, size_t *nerrors,
    char ***warnings, size_t *nwarnings)
{
	if (c == NULL)
		return;
	if (c->have_doc) {
		document_wipe(&c->doc);
		yaml_document_delete(&c->doc);
	}
	if (c->have_parser) {
		parser_wipe(&c->parser);
		yaml_parser_delete(&c->parser);
	}
	if (c->buf != NULL) {
		OPENSSL_cleanse(c->buf, c->len);
		free(c->buf);
	}
	diag_move(&c->errors, errors, nerrors);
	diag_move(&c->warnings, warnings, nwarnings);
	free(c->file);
	free(c);
}
