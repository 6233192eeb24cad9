/*
 * config.c: the YAML config file (DESIGN.md section 4) -> struct config.
 *
 * The file is read with libyaml's document API so that every node carries
 * its position. Every problem found is collected as "FILE:LINE:COL: message"
 * (1-based) in a struct config_diag, errors and warnings apart, sorted by
 * position; one error makes config_load() return NULL. Secrets are read here
 * (from *_file, *_env, inline, or $CREDENTIALS_DIRECTORY) and no message ever
 * contains a secret value: only key names, paths and variable names.
 * YAML anchors and aliases are refused (they would make one node appear in
 * several places, and allow exponential expansion).
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/stat.h>

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

#include "config.h"
#include "secret.h"
#include "util.h"

#define CONFIG_FILE_MAX		(1024 * 1024)
#define PATH_LEN_MAX		4096
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

struct ctx {
	const char	*file;
	yaml_document_t	*doc;
	struct diag_list errors;
	struct diag_list warnings;
	size_t		 seq;
};

/* Regions of the official SDK (reference/hss-api.md). */
static const char *const regions[] = {
	"cn-north-9", "cn-north-1", "cn-north-4", "cn-southwest-2",
	"cn-east-2", "cn-east-3", "cn-east-4", "cn-south-1", "cn-south-2",
	"ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "na-mexico-1",
	"af-south-1", "sa-brazil-1", "la-south-2", "cn-south-4", "la-north-2",
	"tr-west-1", "cn-north-2", "ap-southeast-4", "ae-ad-1", "me-east-1",
	"cn-east-5", "my-kualalumpur-1", "eu-west-101", "ru-moscow-1",
	"cn-north-12", "cn-southwest-3", "cn-north-11",
};

static const char *const top_keys[] = {
	"state_directory", "log_level", "stats_interval", "heartbeat_interval",
	"metrics_listen", "sources", "outputs",
};

static const char *const source_keys[] = {
	"name", "region", "project_id", "category", "enterprise_project_id",
	"endpoint", "ca_file", "proxy", "timeout", "credentials",
	"poll_interval", "settle", "lookback", "backfill", "page_size",
	"calls_per_minute", "max_tracked_ids", "filters",
};

static const char *const output_keys[] = {
	"name", "format", "transport", "address", "framing", "tls",
	"facility", "hostname", "app_name", "sd_id", "syslog_header",
	"leef_delimiter", "max_message_size", "queue_limit", "relp_window",
};

static const char *const tls_keys[] = {
	"ca_file", "cert_file", "key_file", "server_name", "verify",
	"min_version",
};

static const char *const level_names[] = {
	"error", "warning", "info", "debug",
};
static const char *const category_names[] = { "host", "container" };
static const char *const format_names[] = { "rfc5424", "cef", "leef", "json" };
static const char *const transport_names[] = {
	"tcp", "tls", "udp", "stdout", "relp",
};
static const char *const framing_names[] = { "octet-counting", "lf" };
static const char *const tls_version_names[] = { "1.2", "1.3" };
static const char *const method_names[] = { "aksk", "password", "token" };

static const char *const endpoint_schemes[] = { "https", "http" };
static const char *const proxy_schemes[] = {
	"http", "https", "socks4", "socks4a", "socks5", "socks5h",
};

/* RFC 5424 section 6.2.1 facility codes, by name. */
static const char *const facility_names[] = {
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "authpriv", "ftp", "ntp", "security", "console",
	"solaris-cron", "local0", "local1", "local2", "local3", "local4",
	"local5", "local6", "local7",
};

/* Each credentials key and the method that uses it (-1: all). */
static const struct {
	const char	*key;
	int		 method;
} cred_keys[] = {
	{ "method", -1 },
	{ "access_key", CRED_AKSK }, { "access_key_file", CRED_AKSK },
	{ "access_key_env", CRED_AKSK },
	{ "secret_key", CRED_AKSK }, { "secret_key_file", CRED_AKSK },
	{ "secret_key_env", CRED_AKSK },
	{ "security_token", CRED_AKSK }, { "security_token_file", CRED_AKSK },
	{ "security_token_env", CRED_AKSK },
	{ "iam_endpoint", CRED_PASSWORD }, { "domain", CRED_PASSWORD },
	{ "user", CRED_PASSWORD },
	{ "password", CRED_PASSWORD }, { "password_file", CRED_PASSWORD },
	{ "password_env", CRED_PASSWORD },
	{ "token", CRED_TOKEN }, { "token_file", CRED_TOKEN },
	{ "token_env", CRED_TOKEN },
};

/* Filter values the API accepts (reference/hss-api.md). */
static const char *const f_handle_status[] = { "unhandled", "handled" };
static const char *const f_severity[] = {
	"Security", "Low", "Medium", "High", "Critical",
};
static const char *const f_attack_tag[] = {
	"attack_success", "attack_attempt", "attack_blocked",
	"abnormal_behavior", "collapsible_host", "system_vulnerability",
};
static const char *const f_asset_value[] = { "important", "common", "test" };
static const char *const f_att_ck[] = {
	"Reconnaissance", "Initial Access", "Execution", "Persistence",
	"Privilege Escalation", "Defense Evasion", "Credential Access",
	"Command and Control", "Impact",
};

enum filter_kind {
	FILTER_STRING,
	FILTER_ENUM,
	FILTER_INT,
};

#define FILTER_ENUM_OF(a)	FILTER_ENUM, a, HSS_ARRAY_LEN(a)
static const struct filter_spec {
	const char		*key;
	int			 list;	/* a sequence: repeated keys */
	enum filter_kind	 kind;
	const char *const	*values;
	size_t			 nvalues;
} filter_specs[] = {
	{ "handle_status", 0, FILTER_ENUM_OF(f_handle_status) },
	{ "severity", 0, FILTER_ENUM_OF(f_severity) },
	{ "severity_list", 1, FILTER_ENUM_OF(f_severity) },
	{ "event_types", 1, FILTER_INT, NULL, 0 },
	{ "event_class_ids", 1, FILTER_STRING, NULL, 0 },
	{ "attack_tag", 0, FILTER_ENUM_OF(f_attack_tag) },
	{ "asset_value", 0, FILTER_ENUM_OF(f_asset_value) },
	{ "att_ck", 0, FILTER_ENUM_OF(f_att_ck) },
	{ "host_name", 0, FILTER_STRING, NULL, 0 },
	{ "host_id", 0, FILTER_STRING, NULL, 0 },
	{ "private_ip", 0, FILTER_STRING, NULL, 0 },
	{ "public_ip", 0, FILTER_STRING, NULL, 0 },
	{ "container_name", 0, FILTER_STRING, NULL, 0 },
	{ "event_name", 0, FILTER_STRING, NULL, 0 },
	{ "tag_list", 1, FILTER_STRING, NULL, 0 },
};
#define FILTER_STRING_MAX	1024
#define EVENT_TYPES_MAX		500

/* Diagnostics. */

static void __attribute__((format(printf, 5, 0)))
diag_vadd(struct ctx *c, struct diag_list *l, int line, int col,
    const char *fmt, va_list ap)
{
	struct diag_item	*it;
	char			*msg;

	msg = xvasprintf(fmt, ap);
	if (l->n == l->cap) {
		l->cap = l->cap == 0 ? 8 : l->cap * 2;
		l->items = xreallocarray(l->items, l->cap, sizeof(*l->items));
	}
	it = &l->items[l->n++];
	it->line = line;
	it->col = col;
	it->seq = c->seq++;
	if (line > 0)
		it->msg = xasprintf("%s:%d:%d: %s", c->file, line, col, msg);
	else
		it->msg = xasprintf("%s: %s", c->file, msg);
	free(msg);
}

static void __attribute__((format(printf, 4, 5)))
err_at(struct ctx *c, int line, int col, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	diag_vadd(c, &c->errors, line, col, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 3, 4)))
err_node(struct ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	diag_vadd(c, &c->errors, (int)n->start_mark.line + 1,
	    (int)n->start_mark.column + 1, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 3, 4)))
warn_node(struct ctx *c, const yaml_node_t *n, const char *fmt, ...)
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

void
config_diag_free(struct config_diag *d)
{
	size_t	 i;

	if (d == NULL)
		return;
	for (i = 0; i < d->nerrors; i++)
		free(d->errors[i]);
	for (i = 0; i < d->nwarnings; i++)
		free(d->warnings[i]);
	free(d->errors);
	free(d->warnings);
	memset(d, 0, sizeof(*d));
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
static const char *
suggest(const char *s, const char *const *names, size_t n)
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

static int
find_name(const char *s, const char *const *names, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

static char *
join_names(const char *const *names, size_t n)
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

static int
is_alnum(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9');
}

static int
name_char(int ch)
{
	return is_alnum(ch) || ch == '.' || ch == '_' || ch == '-';
}

static int
project_char(int ch)
{
	return is_alnum(ch) || ch == '_' || ch == '-';
}

static int
region_char(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	    ch == '-';
}

static int
env_char(int ch)
{
	return is_alnum(ch) || ch == '_';
}

static int
print_char(int ch)
{
	return ch >= 33 && ch <= 126;
}

static int
sdid_char(int ch)
{
	return print_char(ch) && ch != '=' && ch != ']' && ch != '"';
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

static yaml_node_t *
doc_node(struct ctx *c, int id)
{
	return yaml_document_get_node(c->doc, id);
}

static int
node_is_null(const yaml_node_t *n)
{
	const char	*v;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	v = (const char *)n->data.scalar.value;
	return *v == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	    strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

static const char *
node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a sequence";
	default:
		return node_is_null(n) ? "an empty value" : "a string";
	}
}

static const char *
node_str(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static int
node_line(const yaml_node_t *n)
{
	return (int)n->start_mark.line + 1;
}

/*
 * The text of a scalar, or NULL after an error saying what was expected.
 * Never shows the value: it may be a secret.
 */
static const char *
want_scalar(struct ctx *c, const char *key, const yaml_node_t *n,
    const char *what)
{
	const unsigned char	*p;

	if (n->type != YAML_SCALAR_NODE || node_is_null(n)) {
		err_node(c, n, "`%s`: expected %s, got %s", key, what,
		    node_kind(n));
		return NULL;
	}
	if (strlen(node_str(n)) != n->data.scalar.length) {
		err_node(c, n, "`%s`: contains a NUL character", key);
		return NULL;
	}
	for (p = n->data.scalar.value; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			err_node(c, n, "`%s`: contains a control character",
			    key);
			return NULL;
		}
	}
	return node_str(n);
}

static int
want_mapping(struct ctx *c, const char *key, const yaml_node_t *n)
{
	if (n->type == YAML_MAPPING_NODE)
		return 0;
	err_node(c, n, "`%s`: expected a mapping, got %s", key, node_kind(n));
	return -1;
}

static yaml_node_pair_t *
map_pair(struct ctx *c, const yaml_node_t *map, const char *key)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*k;

	for (p = map->data.mapping.pairs.start;
	    p < map->data.mapping.pairs.top; p++) {
		k = doc_node(c, p->key);
		if (k->type == YAML_SCALAR_NODE &&
		    strcmp(node_str(k), key) == 0)
			return p;
	}
	return NULL;
}

static yaml_node_t *
map_get(struct ctx *c, const yaml_node_t *map, const char *key)
{
	yaml_node_pair_t	*p;

	if ((p = map_pair(c, map, key)) == NULL)
		return NULL;
	return doc_node(c, p->value);
}

static yaml_node_t *
map_key(struct ctx *c, const yaml_node_t *map, const char *key)
{
	yaml_node_pair_t	*p;

	if ((p = map_pair(c, map, key)) == NULL)
		return NULL;
	return doc_node(c, p->key);
}

/*
 * Report unknown keys (with the nearest known one), keys that are not
 * strings and duplicate keys. hide: keys may hold secrets (credentials), so
 * an unknown key that does not look like a key name is not shown.
 */
static void
check_map(struct ctx *c, const yaml_node_t *map, const char *const *keys,
    size_t nkeys, int hide)
{
	yaml_node_pair_t	*p, *q;
	yaml_node_t		*k, *k2;
	const char		*name, *near;

	for (p = map->data.mapping.pairs.start;
	    p < map->data.mapping.pairs.top; p++) {
		k = doc_node(c, p->key);
		if (k->type != YAML_SCALAR_NODE || node_is_null(k)) {
			err_node(c, k, "expected a key name, got %s",
			    node_kind(k));
			continue;
		}
		name = node_str(k);
		if (find_name(name, keys, nkeys) == -1) {
			if (hide && !cred_key_showable(name)) {
				err_node(c, k, "unknown key (not shown: "
				    "it may be a secret)");
				continue;
			}
			near = suggest(name, keys, nkeys);
			if (near != NULL)
				err_node(c, k, "unknown key `%s`; "
				    "did you mean `%s`?", name, near);
			else
				err_node(c, k, "unknown key `%s`", name);
			continue;
		}
		for (q = map->data.mapping.pairs.start; q < p; q++) {
			k2 = doc_node(c, q->key);
			if (k2->type == YAML_SCALAR_NODE &&
			    strcmp(node_str(k2), name) == 0) {
				err_node(c, k, "duplicate key `%s` (first at "
				    "line %d)", name, node_line(k2));
				break;
			}
		}
	}
}

static void
require_key(struct ctx *c, const yaml_node_t *map, const char *key)
{
	if (map_pair(c, map, key) == NULL)
		err_node(c, map, "missing required key `%s`", key);
}

/* Typed values. Each get_* returns 1 if set, 0 if absent, -1 on error. */

static int
check_int(struct ctx *c, const char *key, const yaml_node_t *n, int64_t min,
    int64_t max, int64_t *out)
{
	const char	*s, *errstr;
	int64_t		 v;

	if ((s = want_scalar(c, key, n, "an integer")) == NULL)
		return -1;
	if (parse_int64(s, min, max, &v, &errstr) == -1) {
		if (strcmp(errstr, "invalid") == 0)
			err_node(c, n, "`%s`: expected an integer, got `%s`",
			    key, s);
		else
			err_node(c, n, "`%s`: %s is out of range (%lld..%lld)",
			    key, s, (long long)min, (long long)max);
		return -1;
	}
	*out = v;
	return 0;
}

static int
get_int(struct ctx *c, const yaml_node_t *map, const char *key, int64_t min,
    int64_t max, int64_t *out)
{
	yaml_node_t	*n;

	if ((n = map_get(c, map, key)) == NULL)
		return 0;
	return check_int(c, key, n, min, max, out) == -1 ? -1 : 1;
}

/* min and max are durations as text, so that messages read naturally. */
static int
get_duration(struct ctx *c, const yaml_node_t *map, const char *key,
    const char *minstr, const char *maxstr, int64_t *out)
{
	yaml_node_t	*n;
	const char	*s, *errstr;
	int64_t		 v, min = 0, max = 0;

	if ((n = map_get(c, map, key)) == NULL)
		return 0;
	if ((s = want_scalar(c, key, n, "a duration")) == NULL)
		return -1;
	if (parse_duration(s, &v, &errstr) == -1) {
		err_node(c, n, "`%s`: `%s`: %s", key, s, errstr);
		return -1;
	}
	if (parse_duration(minstr, &min, &errstr) == -1 ||
	    parse_duration(maxstr, &max, &errstr) == -1)
		fatalx("%s: bad built-in range %s..%s", __func__, minstr,
		    maxstr);
	if (v < min || v > max) {
		err_node(c, n, "`%s`: %s is out of range (%s..%s)", key, s,
		    minstr, maxstr);
		return -1;
	}
	*out = v;
	return 1;
}

static int
get_bool(struct ctx *c, const yaml_node_t *map, const char *key, int *out)
{
	yaml_node_t	*n;
	const char	*s;

	if ((n = map_get(c, map, key)) == NULL)
		return 0;
	if ((s = want_scalar(c, key, n, "true or false")) == NULL)
		return -1;
	if (strcasecmp(s, "true") == 0 || strcasecmp(s, "yes") == 0)
		*out = 1;
	else if (strcasecmp(s, "false") == 0 || strcasecmp(s, "no") == 0)
		*out = 0;
	else {
		err_node(c, n, "`%s`: expected true or false, got `%s`", key,
		    s);
		return -1;
	}
	return 1;
}

static int
check_enum(struct ctx *c, const char *key, const yaml_node_t *n,
    const char *const *names, size_t nnames, int *out)
{
	const char	*s;
	char		*all;
	int		 i;

	if ((s = want_scalar(c, key, n, "a string")) == NULL)
		return -1;
	if ((i = find_name(s, names, nnames)) == -1) {
		all = join_names(names, nnames);
		err_node(c, n, "`%s`: `%s` is not one of: %s", key, s, all);
		free(all);
		return -1;
	}
	*out = i;
	return 0;
}

static int
get_enum(struct ctx *c, const yaml_node_t *map, const char *key,
    const char *const *names, size_t nnames, int *out)
{
	yaml_node_t	*n;

	if ((n = map_get(c, map, key)) == NULL)
		return 0;
	return check_enum(c, key, n, names, nnames, out) == -1 ? -1 : 1;
}

/* A string of 1..max bytes; okchar (if set) limits it to charset. */
static int
check_string(struct ctx *c, const char *key, const yaml_node_t *n,
    size_t max, int (*okchar)(int), const char *charset, char **out)
{
	const char	*s, *p;
	size_t		 len;

	if ((s = want_scalar(c, key, n, "a string")) == NULL)
		return -1;
	len = strlen(s);
	if (len == 0) {
		err_node(c, n, "`%s`: must not be empty", key);
		return -1;
	}
	if (len > max) {
		err_node(c, n, "`%s`: too long (%zu characters, at most %zu)",
		    key, len, max);
		return -1;
	}
	if (okchar != NULL) {
		for (p = s; *p != '\0'; p++) {
			if (!okchar((unsigned char)*p)) {
				err_node(c, n, "`%s`: `%s` may contain only "
				    "%s", key, s, charset);
				return -1;
			}
		}
	}
	free(*out);
	*out = xstrdup(s);
	return 0;
}

static int
get_string(struct ctx *c, const yaml_node_t *map, const char *key,
    size_t max, int (*okchar)(int), const char *charset, char **out)
{
	yaml_node_t	*n;

	if ((n = map_get(c, map, key)) == NULL)
		return 0;
	return check_string(c, key, n, max, okchar, charset, out) == -1 ?
	    -1 : 1;
}

/* A file that must exist and be readable now (CA bundles, certificates). */
static int
get_readable(struct ctx *c, const yaml_node_t *map, const char *key,
    char **out)
{
	yaml_node_t	*n;
	struct stat	 st;
	int		 fd, rv = -1;

	if ((n = map_get(c, map, key)) == NULL)
		return 0;
	if (check_string(c, key, n, PATH_LEN_MAX, NULL, NULL, out) == -1)
		return -1;
	if ((fd = open(*out, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1) {
		err_node(c, n, "`%s`: cannot read %s: %s", key, *out,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1)
		err_node(c, n, "`%s`: %s: %s", key, *out, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		err_node(c, n, "`%s`: %s is not a regular file", key, *out);
	else
		rv = 1;
	close(fd);
	return rv;
}

/*
 * A URL: scheme://host[:port][/path] with one of schemes; warn_http: plain
 * http:// is warned about. A URL holding a user name or password is refused
 * without being shown.
 */
static int
get_url(struct ctx *c, const yaml_node_t *map, const char *key,
    const char *const *schemes, size_t nschemes, int warn_http, char **out)
{
	yaml_node_t	*n;
	const char	*s, *sep, *auth;
	char		*all, *scheme;
	size_t		 authlen, len;
	int		 known;

	if ((n = map_get(c, map, key)) == NULL)
		return 0;
	if ((s = want_scalar(c, key, n, "a URL")) == NULL)
		return -1;
	if (strchr(s, '@') != NULL) {
		err_node(c, n, "`%s`: user names and passwords in URLs are "
		    "not supported (the URL is not shown)", key);
		return -1;
	}
	all = join_names(schemes, nschemes);
	if ((sep = strstr(s, "://")) == NULL) {
		err_node(c, n, "`%s`: `%s` is not a URL (expected "
		    "%s://host[:port])", key, s, schemes[0]);
		goto fail;
	}
	scheme = xstrndup(s, (size_t)(sep - s));
	known = find_name(scheme, schemes, nschemes) != -1;
	free(scheme);
	if (!known) {
		err_node(c, n, "`%s`: `%s`: the scheme must be one of: %s",
		    key, s, all);
		goto fail;
	}
	auth = sep + 3;
	authlen = strcspn(auth, "/?#");
	if (authlen == 0) {
		err_node(c, n, "`%s`: `%s` has no host", key, s);
		goto fail;
	}
	if (strchr(s, ' ') != NULL) {
		err_node(c, n, "`%s`: `%s` contains a space", key, s);
		goto fail;
	}
	free(all);
	len = strlen(s);
	while (len > (size_t)(auth - s) + authlen && s[len - 1] == '/')
		len--;
	free(*out);
	*out = xstrndup(s, len);
	if (warn_http && strncmp(s, "http://", 7) == 0)
		warn_node(c, n, "`%s`: plain http:// is not encrypted; use "
		    "https:// outside tests", key);
	return 1;
fail:
	free(all);
	return -1;
}

static int
get_hostport(struct ctx *c, const yaml_node_t *map, const char *key,
    char **addr, char **host, int *port)
{
	yaml_node_t	*n;
	const char	*errstr;

	if ((n = map_get(c, map, key)) == NULL)
		return 0;
	if (check_string(c, key, n, 1024, NULL, NULL, addr) == -1)
		return -1;
	free(*host);
	if (parse_hostport(*addr, host, port, &errstr) == -1) {
		err_node(c, n, "`%s`: `%s`: %s", key, *addr, errstr);
		return -1;
	}
	return 1;
}

/* Secrets. */

/* A systemd credential: $CREDENTIALS_DIRECTORY/<source>.<base> or <base>. */
static void
creddir_secret(struct ctx *c, const yaml_node_t *cred, const char *srcname,
    const char *base, int required, struct secret *sec)
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
			if (secret_read_file(path[i], &sec->value,
			    &errmsg) == -1) {
				err_node(c, cred, "`%s` from "
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
		err_node(c, cred, "missing secret `%s`: set %s_file or %s_env, "
		    "or provide the systemd credential %s.%s or %s", base,
		    base, base, srcname != NULL ? srcname : "SOURCE", base,
		    base);
done:
	free(path[0]);
	free(path[1]);
}

/*
 * A secret from the environment variable named by v. The name is shown only
 * if it contains `_`: a name without one may be an access key pasted here.
 */
static void
env_secret(struct ctx *c, const char *kenv, const yaml_node_t *v,
    struct secret *sec)
{
	char		*var = NULL, *subj;
	const char	*e, *p;

	if (check_string(c, kenv, v, 255, NULL, NULL, &var) == -1)
		return;
	for (p = var; *p != '\0'; p++)
		if (!env_char((unsigned char)*p))
			break;
	if (*p != '\0' || (*var >= '0' && *var <= '9')) {
		err_node(c, v, "`%s`: not an environment variable name (use "
		    "A-Z, a-z, 0-9 and _); the value is not shown", kenv);
		free(var);
		return;
	}
	if (strchr(var, '_') != NULL)
		subj = xasprintf("environment variable %s", var);
	else
		subj = xstrdup("the environment variable named here (not "
		    "shown: without `_` it may be a pasted key)");
	if ((e = getenv(var)) == NULL)
		err_node(c, v, "`%s`: %s is not set", kenv, subj);
	else if (*e == '\0')
		err_node(c, v, "`%s`: %s is empty", kenv, subj);
	else if (strcspn(e, "\001\002\003\004\005\006\007\010\011"
	    "\012\013\014\015\016\017\020\021\022\023\024\025\026"
	    "\027\030\031\032\033\034\035\036\037\177") != strlen(e))
		err_node(c, v, "`%s`: %s contains a control character or a "
		    "line break", kenv, subj);
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
static void
parse_secret(struct ctx *c, const yaml_node_t *cred, const char *srcname,
    const char *base, int required, struct secret *sec)
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
		k = doc_node(c, p->key);
		if (k->type != YAML_SCALAR_NODE)
			continue;
		name = node_str(k);
		if (strcmp(name, base) != 0 && strcmp(name, kfile) != 0 &&
		    strcmp(name, kenv) != 0)
			continue;
		if (first == NULL) {
			first = p;
			continue;
		}
		if (strcmp(name, node_str(doc_node(c, first->key))) == 0)
			continue;	/* a duplicate key, already reported */
		err_node(c, k, "`%s`: give only one of %s_file, %s_env or %s",
		    name, base, base, base);
	}
	if (first == NULL) {
		creddir_secret(c, cred, srcname, base, required, sec);
		return;
	}
	k = doc_node(c, first->key);
	v = doc_node(c, first->value);
	name = node_str(k);
	if (strcmp(name, base) == 0) {
		if ((s = want_scalar(c, base, v, "a string")) == NULL)
			return;
		if (*s == '\0') {
			err_node(c, v, "`%s`: the secret is empty", base);
			return;
		}
		warn_node(c, k, "`%s`: secret given inline; use %s_file or "
		    "%s_env", base, base, base);
		sec->origin = SECRET_INLINE;
		sec->where = xasprintf("%s:%d", c->file, node_line(k));
		sec->value = xstrdup(s);
	} else if (strcmp(name, kfile) == 0) {
		if (check_string(c, kfile, v, PATH_LEN_MAX, NULL, NULL,
		    &path) == -1)
			return;
		if (strchr(path, '/') == NULL) {
			/* Shown nowhere: it may be the secret pasted here. */
			err_node(c, v, "`%s`: write the path with a `/` (for "
			    "example ./NAME); a bare name is not shown as it "
			    "may be a pasted secret", kfile);
			free(path);
			return;
		}
		if (secret_read_file(path, &sec->value, &errmsg) == -1) {
			err_node(c, v, "`%s`: %s", kfile, errmsg);
			free(errmsg);
			free(path);
			return;
		}
		sec->origin = SECRET_FILE;
		sec->where = path;
	} else
		env_secret(c, kenv, v, sec);
}
static char *
iam_endpoint_for_region(const char *region)
{
	return xasprintf("https://iam.%s.myhuaweicloud.%s", region,
	    strcmp(region, "eu-west-101") == 0 ? "eu" : "com");
}

char *
config_endpoint_for_region(const char *region)
{
	return xasprintf("https://hss.%s.myhuaweicloud.%s", region,
	    strcmp(region, "eu-west-101") == 0 ? "eu" : "com");
}

static void
parse_credentials(struct ctx *c, const yaml_node_t *n,
    struct source_config *src, int region_ok)
{
	struct credentials	*cr = &src->cred;
	const char		*keys[HSS_ARRAY_LEN(cred_keys)], *name;
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *mn;
	size_t			 i;
	int			 m, km;

	if (want_mapping(c, "credentials", n) == -1)
		return;
	for (i = 0; i < HSS_ARRAY_LEN(cred_keys); i++)
		keys[i] = cred_keys[i].key;
	check_map(c, n, keys, HSS_ARRAY_LEN(keys), 1);
	if ((mn = map_get(c, n, "method")) == NULL) {
		err_node(c, n, "missing required key `method` (one of: aksk, "
		    "password, token)");
		return;
	}
	if (check_enum(c, "method", mn, method_names,
	    HSS_ARRAY_LEN(method_names), &m) == -1)
		return;
	cr->method = (enum cred_method)m;
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	    p++) {
		k = doc_node(c, p->key);
		if (k->type != YAML_SCALAR_NODE)
			continue;
		name = node_str(k);
		for (i = 0; i < HSS_ARRAY_LEN(cred_keys); i++) {
			km = cred_keys[i].method;
			if (strcmp(name, cred_keys[i].key) == 0 && km != -1 &&
			    km != m)
				err_node(c, k, "`%s`: only used with method %s",
				    name, method_names[km]);
		}
	}
	switch (cr->method) {
	case CRED_AKSK:
		parse_secret(c, n, src->name, "access_key", 1, &cr->access_key);
		parse_secret(c, n, src->name, "secret_key", 1, &cr->secret_key);
		parse_secret(c, n, src->name, "security_token", 0,
		    &cr->security_token);
		break;
	case CRED_PASSWORD:
		require_key(c, n, "domain");
		require_key(c, n, "user");
		get_string(c, n, "domain", 255, NULL, NULL, &cr->domain);
		get_string(c, n, "user", 255, NULL, NULL, &cr->user);
		if (get_url(c, n, "iam_endpoint", endpoint_schemes,
		    HSS_ARRAY_LEN(endpoint_schemes), 1,
		    &cr->iam_endpoint) == 0 && region_ok)
			cr->iam_endpoint = iam_endpoint_for_region(src->region);
		parse_secret(c, n, src->name, "password", 1, &cr->password);
		break;
	case CRED_TOKEN:
		parse_secret(c, n, src->name, "token", 1, &cr->token);
		break;
	}
}

/* Filters. */

static void
filter_add(struct source_config *src, const char *key, char *value)
{
	src->filters = xreallocarray(src->filters, src->nfilters + 1,
	    sizeof(*src->filters));
	src->filters[src->nfilters].key = xstrdup(key);
	src->filters[src->nfilters].value = value;
	src->nfilters++;
}

static char *
filter_value(struct ctx *c, const struct filter_spec *fs,
    const yaml_node_t *n)
{
	char	*s = NULL;
	int64_t	 v;
	int	 i;

	switch (fs->kind) {
	case FILTER_ENUM:
		if (check_enum(c, fs->key, n, fs->values, fs->nvalues,
		    &i) == -1)
			return NULL;
		return xstrdup(fs->values[i]);
	case FILTER_INT:
		if (check_int(c, fs->key, n, 1000, 30000, &v) == -1)
			return NULL;
		return xasprintf("%lld", (long long)v);
	case FILTER_STRING:
		if (check_string(c, fs->key, n, FILTER_STRING_MAX, NULL, NULL,
		    &s) == -1)
			return NULL;
		return s;
	}
	return NULL;
}

static void
parse_filters(struct ctx *c, const yaml_node_t *n, struct source_config *src)
{
	const struct filter_spec *fs;
	const char		*keys[HSS_ARRAY_LEN(filter_specs)], *name;
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v;
	yaml_node_item_t	*it;
	size_t			 i, count;
	char			*val;

	if (want_mapping(c, "filters", n) == -1)
		return;
	for (i = 0; i < HSS_ARRAY_LEN(filter_specs); i++)
		keys[i] = filter_specs[i].key;
	check_map(c, n, keys, HSS_ARRAY_LEN(keys), 0);
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	    p++) {
		k = doc_node(c, p->key);
		if (k->type != YAML_SCALAR_NODE)
			continue;
		name = node_str(k);
		if ((i = (size_t)find_name(name, keys,
		    HSS_ARRAY_LEN(keys))) == (size_t)-1 ||
		    map_pair(c, n, name) != p)
			continue;	/* unknown or duplicate: reported */
		fs = &filter_specs[i];
		v = doc_node(c, p->value);
		if (!fs->list) {
			if ((val = filter_value(c, fs, v)) != NULL)
				filter_add(src, fs->key, val);
			continue;
		}
		if (v->type != YAML_SEQUENCE_NODE) {
			err_node(c, v, "`%s`: expected a sequence, got %s",
			    name, node_kind(v));
			continue;
		}
		count = (size_t)(v->data.sequence.items.top -
		    v->data.sequence.items.start);
		if (count == 0) {
			err_node(c, v, "`%s`: empty list; give at least one "
			    "value or remove the key", name);
			continue;
		}
		if (fs->kind == FILTER_INT && count > EVENT_TYPES_MAX) {
			err_node(c, v, "`%s`: %zu items; the API accepts at "
			    "most %d", name, count, EVENT_TYPES_MAX);
			continue;
		}
		for (it = v->data.sequence.items.start;
		    it < v->data.sequence.items.top; it++) {
			if ((val = filter_value(c, fs,
			    doc_node(c, *it))) != NULL)
				filter_add(src, fs->key, val);
		}
	}
}

/* Sources. */

static void
source_defaults(struct source_config *src)
{
	memset(src, 0, sizeof(*src));
	src->category = CATEGORY_HOST;
	src->timeout_ms = 30 * 1000;
	src->poll_interval_ms = 60 * 1000;
	src->settle_ms = 30 * 1000;
	src->lookback_ms = 10 * 60 * 1000;
	src->backfill_ms = 24 * 3600 * 1000LL;
	src->page_size = 1000;
	src->calls_per_minute = 5;
	src->max_tracked_ids = 1000000;
}

static void
parse_region(struct ctx *c, const yaml_node_t *map, struct source_config *src,
    int *region_ok)
{
	yaml_node_t	*n;
	const char	*near;

	*region_ok = 0;
	if ((n = map_get(c, map, "region")) == NULL)
		return;
	if (check_string(c, "region", n, 64, region_char, "[a-z0-9-]",
	    &src->region) == -1)
		return;
	*region_ok = 1;
	if (find_name(src->region, regions, HSS_ARRAY_LEN(regions)) != -1)
		return;
	if (map_get(c, map, "endpoint") != NULL) {
		warn_node(c, n, "`region`: unknown region `%s`; using the "
		    "given endpoint", src->region);
		return;
	}
	*region_ok = 0;
	near = suggest(src->region, regions, HSS_ARRAY_LEN(regions));
	if (near != NULL)
		err_node(c, n, "`region`: unknown region `%s`; did you mean "
		    "`%s`? (for a region not known here, also set `endpoint`)",
		    src->region, near);
	else
		err_node(c, n, "`region`: unknown region `%s` (for a region "
		    "not known here, also set `endpoint`)", src->region);
}

static void
parse_source(struct ctx *c, const yaml_node_t *n, struct source_config *src)
{
	yaml_node_t	*v;
	int64_t		 i64;
	int		 i, region_ok;

	src->line = node_line(n);
	if (n->type != YAML_MAPPING_NODE) {
		err_node(c, n, "`sources` item: expected a mapping, got %s",
		    node_kind(n));
		return;
	}
	check_map(c, n, source_keys, HSS_ARRAY_LEN(source_keys), 0);
	require_key(c, n, "name");
	require_key(c, n, "region");
	require_key(c, n, "project_id");
	require_key(c, n, "category");
	require_key(c, n, "credentials");

	get_string(c, n, "name", 64, name_char, "[A-Za-z0-9._-]", &src->name);
	parse_region(c, n, src, &region_ok);
	get_string(c, n, "project_id", 64, project_char, "[A-Za-z0-9_-]",
	    &src->project_id);
	if (get_enum(c, n, "category", category_names,
	    HSS_ARRAY_LEN(category_names), &i) == 1)
		src->category = (enum source_category)i;
	get_string(c, n, "enterprise_project_id", 256, NULL, NULL,
	    &src->enterprise_project_id);
	if (get_url(c, n, "endpoint", endpoint_schemes,
	    HSS_ARRAY_LEN(endpoint_schemes), 1, &src->endpoint) == 0 &&
	    region_ok)
		src->endpoint = config_endpoint_for_region(src->region);
	get_readable(c, n, "ca_file", &src->ca_file);
	get_url(c, n, "proxy", proxy_schemes, HSS_ARRAY_LEN(proxy_schemes), 0,
	    &src->proxy);
	get_duration(c, n, "timeout", "1s", "10m", &src->timeout_ms);
	get_duration(c, n, "poll_interval", "10s", "24h",
	    &src->poll_interval_ms);
	get_duration(c, n, "settle", "0", "1h", &src->settle_ms);
	get_duration(c, n, "lookback", "0", "1d", &src->lookback_ms);
	get_duration(c, n, "backfill", "1m", "30d", &src->backfill_ms);
	if (get_int(c, n, "page_size", 10, 1000, &i64) == 1)
		src->page_size = (int)i64;
	if (get_int(c, n, "calls_per_minute", 1, 600, &i64) == 1)
		src->calls_per_minute = (int)i64;
	if (get_int(c, n, "max_tracked_ids", 1000, 10000000, &i64) == 1)
		src->max_tracked_ids = (size_t)i64;
	if ((v = map_get(c, n, "filters")) != NULL)
		parse_filters(c, v, src);
	if ((v = map_get(c, n, "credentials")) != NULL)
		parse_credentials(c, v, src, region_ok);
}

/* Outputs. */

static void
output_defaults(struct output_config *out)
{
	char	 host[256];

	memset(out, 0, sizeof(*out));
	out->tls.verify = 1;
	out->tls.min_version = CONFIG_TLS1_2;
	out->facility = 20;	/* local4 */
	out->app_name = xstrdup("hss-forwarder");
	out->sd_id = xstrdup("hss@32473");
	out->syslog_header = 1;
	out->leef_delimiter = '^';
	out->max_message_size = 65536;
	out->queue_limit = 10000;
	out->relp_window = 128;		/* librelp's window */
	if (gethostname(host, sizeof(host)) == -1)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	if (host[0] == '\0')
		snprintf(host, sizeof(host), "-");
	out->hostname = xstrdup(host);
}

static void
parse_tls(struct ctx *c, const yaml_node_t *n, struct output_config *out)
{
	yaml_node_t	*v;
	int		 i, has_cert, has_key;

	if (want_mapping(c, "tls", n) == -1)
		return;
	check_map(c, n, tls_keys, HSS_ARRAY_LEN(tls_keys), 0);
	get_readable(c, n, "ca_file", &out->tls.ca_file);
	has_cert = get_readable(c, n, "cert_file", &out->tls.cert_file) != 0;
	has_key = get_readable(c, n, "key_file", &out->tls.key_file) != 0;
	if (has_cert && !has_key)
		err_node(c, n, "`tls`: `cert_file` needs `key_file`");
	else if (has_key && !has_cert)
		err_node(c, n, "`tls`: `key_file` needs `cert_file`");
	get_string(c, n, "server_name", 253, print_char,
	    "printable ASCII without spaces", &out->tls.server_name);
	if (get_bool(c, n, "verify", &out->tls.verify) == 1 &&
	    !out->tls.verify) {
		v = map_get(c, n, "verify");
		warn_node(c, v, "`verify`: tls verification is disabled; the "
		    "server's certificate and name are not checked");
	}
	if (get_enum(c, n, "min_version", tls_version_names,
	    HSS_ARRAY_LEN(tls_version_names), &i) == 1)
		out->tls.min_version = i == 0 ? CONFIG_TLS1_2 :
		    CONFIG_TLS1_3;
}

static void
parse_facility(struct ctx *c, const yaml_node_t *map,
    struct output_config *out)
{
	yaml_node_t	*n;
	const char	*s, *errstr;
	char		*all;
	int64_t		 v;
	int		 i;

	if ((n = map_get(c, map, "facility")) == NULL)
		return;
	if ((s = want_scalar(c, "facility", n, "a facility")) == NULL)
		return;
	if ((i = find_name(s, facility_names,
	    HSS_ARRAY_LEN(facility_names))) != -1) {
		out->facility = i;
		return;
	}
	if (parse_int64(s, 0, 23, &v, &errstr) == 0) {
		out->facility = (int)v;
		return;
	}
	all = join_names(facility_names, HSS_ARRAY_LEN(facility_names));
	err_node(c, n, "`facility`: `%s` is not one of: %s, or a number "
	    "0..23", s, all);
	free(all);
}

static void
parse_leef_delimiter(struct ctx *c, const yaml_node_t *map,
    struct output_config *out)
{
	yaml_node_t	*n;
	const char	*s;

	if ((n = map_get(c, map, "leef_delimiter")) == NULL)
		return;
	if (n->type != YAML_SCALAR_NODE || node_is_null(n)) {
		err_node(c, n, "`leef_delimiter`: expected a string, got %s",
		    node_kind(n));
		return;
	}
	s = node_str(n);
	if (n->data.scalar.length != 1 || (s[0] != '\t' &&
	    (s[0] < 0x20 || s[0] > 0x7e)) || s[0] == '=') {
		err_node(c, n, "`leef_delimiter`: must be one ASCII character "
		    "other than CR, LF and `=`");
		return;
	}
	out->leef_delimiter = s[0];
}

static void
parse_output(struct ctx *c, const yaml_node_t *n, struct output_config *out)
{
	yaml_node_t	*v;
	int64_t		 i64, maxsize;
	int		 i, fmt_ok, tr_ok, has_framing;

	out->line = node_line(n);
	if (n->type != YAML_MAPPING_NODE) {
		err_node(c, n, "`outputs` item: expected a mapping, got %s",
		    node_kind(n));
		return;
	}
	check_map(c, n, output_keys, HSS_ARRAY_LEN(output_keys), 0);
	require_key(c, n, "name");
	require_key(c, n, "format");
	require_key(c, n, "transport");

	get_string(c, n, "name", 64, name_char, "[A-Za-z0-9._-]", &out->name);
	fmt_ok = get_enum(c, n, "format", format_names,
	    HSS_ARRAY_LEN(format_names), &i) == 1;
	if (fmt_ok)
		out->format = (enum output_format)i;
	tr_ok = get_enum(c, n, "transport", transport_names,
	    HSS_ARRAY_LEN(transport_names), &i) == 1;
	if (tr_ok)
		out->transport = (enum output_transport)i;

	if (tr_ok && out->transport == TRANSPORT_STDOUT) {
		if ((v = map_key(c, n, "address")) != NULL)
			err_node(c, v, "`address`: not used with transport "
			    "stdout");
	} else if (tr_ok) {
		if (map_get(c, n, "address") == NULL)
			err_node(c, n, "missing required key `address` "
			    "(transport %s)", transport_names[out->transport]);
		else
			get_hostport(c, n, "address", &out->address,
			    &out->host, &out->port);
	}

	has_framing = map_get(c, n, "framing") != NULL;
	if (tr_ok) {
		switch (out->transport) {
		case TRANSPORT_TCP:
			out->framing = FRAMING_LF;
			break;
		case TRANSPORT_TLS:
			out->framing = FRAMING_OCTET_COUNTING;
			break;
		case TRANSPORT_UDP:
			out->framing = FRAMING_NONE;
			break;
		case TRANSPORT_STDOUT:
			out->framing = FRAMING_LF;
			break;
		case TRANSPORT_RELP:
			out->framing = FRAMING_NONE;	/* RELP frames */
			break;
		}
	}
	if (has_framing && tr_ok && (out->transport == TRANSPORT_UDP ||
	    out->transport == TRANSPORT_STDOUT ||
	    out->transport == TRANSPORT_RELP)) {
		err_node(c, map_key(c, n, "framing"), "`framing`: not used "
		    "with transport %s (%s)", transport_names[out->transport],
		    out->transport == TRANSPORT_UDP ?
		    "one message per datagram" :
		    out->transport == TRANSPORT_RELP ?
		    "RELP frames each message itself" :
		    "one message per line");
	} else if (get_enum(c, n, "framing", framing_names,
	    HSS_ARRAY_LEN(framing_names), &i) == 1)
		out->framing = i == 0 ? FRAMING_OCTET_COUNTING : FRAMING_LF;

	if ((v = map_get(c, n, "tls")) != NULL) {
		if (tr_ok && out->transport != TRANSPORT_TLS &&
		    out->transport != TRANSPORT_RELP)
			err_node(c, map_key(c, n, "tls"), "`tls`: only used "
			    "with transport tls or relp (this output uses %s)",
			    transport_names[out->transport]);
		else {
			parse_tls(c, v, out);
			out->relp_tls = tr_ok &&
			    out->transport == TRANSPORT_RELP;
		}
	}
	if (tr_ok && (out->transport == TRANSPORT_TLS || out->relp_tls) &&
	    out->tls.server_name == NULL && out->host != NULL)
		out->tls.server_name = xstrdup(out->host);

	parse_facility(c, n, out);
	get_string(c, n, "hostname", 255, print_char,
	    "printable ASCII without spaces", &out->hostname);
	get_string(c, n, "app_name", 48, print_char,
	    "printable ASCII without spaces", &out->app_name);
	get_string(c, n, "sd_id", 32, sdid_char,
	    "printable ASCII without spaces, `=`, `]` and `\"`", &out->sd_id);
	get_bool(c, n, "syslog_header", &out->syslog_header);
	parse_leef_delimiter(c, n, out);
	maxsize = tr_ok && out->transport == TRANSPORT_UDP ? 65000 : 1048576;
	if (maxsize < (int64_t)out->max_message_size)
		out->max_message_size = (size_t)maxsize;
	if (get_int(c, n, "max_message_size", 480, maxsize, &i64) == 1)
		out->max_message_size = (size_t)i64;
	if (get_int(c, n, "queue_limit", 1, 10000000, &i64) == 1)
		out->queue_limit = (size_t)i64;
	/* RELP's window: messages sent and not yet answered, 1 .. the
	 * engine's RELP_WINDOW_MAX (src/relp.h) */
	if ((v = map_key(c, n, "relp_window")) != NULL && tr_ok &&
	    out->transport != TRANSPORT_RELP)
		err_node(c, v, "`relp_window`: only used with transport relp "
		    "(this output uses %s)", transport_names[out->transport]);
	else if (get_int(c, n, "relp_window", 1, 16384, &i64) == 1)
		out->relp_window = (int)i64;
}

/* The top level. */

/* A list of at least one item; returns its length or 0 after an error. */
static size_t
want_list(struct ctx *c, const char *key, const yaml_node_t *n)
{
	size_t	 count;

	if (n->type != YAML_SEQUENCE_NODE) {
		err_node(c, n, "`%s`: expected a sequence, got %s", key,
		    node_kind(n));
		return 0;
	}
	count = (size_t)(n->data.sequence.items.top -
	    n->data.sequence.items.start);
	if (count == 0)
		err_node(c, n, "`%s`: empty list; at least one is required",
		    key);
	return count;
}

/* Duplicate names: each after the first, pointing back at the first. */
static void
check_unique(struct ctx *c, const yaml_node_t *list, const char *what,
    const char **names)
{
	yaml_node_item_t	*items = list->data.sequence.items.start;
	size_t			 n, i, j;

	n = (size_t)(list->data.sequence.items.top - items);
	for (i = 1; i < n; i++) {
		if (names[i] == NULL)
			continue;
		for (j = 0; j < i; j++) {
			if (names[j] != NULL &&
			    strcmp(names[i], names[j]) == 0) {
				err_node(c, map_get(c, doc_node(c, items[i]),
				    "name"), "`name`: duplicate %s name `%s` "
				    "(first at line %d)", what, names[i],
				    node_line(map_get(c, doc_node(c, items[j]),
				    "name")));
				break;
			}
		}
	}
}

static void
parse_root(struct ctx *c, struct config *cfg)
{
	yaml_node_t	*root, *n;
	const char	**names;
	size_t		 i, count;
	int		 lvl;

	cfg->state_directory = xstrdup(CONFIG_DEFAULT_STATEDIR);
	cfg->log_level = LOG_LEVEL_INFO;
	cfg->stats_interval_ms = 5 * 60 * 1000;
	cfg->heartbeat_interval_ms = 0;

	if ((root = yaml_document_get_root_node(c->doc)) == NULL) {
		err_at(c, 1, 1, "the file is empty; `sources` and `outputs` "
		    "are required");
		return;
	}
	if (root->type != YAML_MAPPING_NODE) {
		err_node(c, root, "expected a mapping at the top level, got %s",
		    node_kind(root));
		return;
	}
	check_map(c, root, top_keys, HSS_ARRAY_LEN(top_keys), 0);
	require_key(c, root, "sources");
	require_key(c, root, "outputs");

	get_string(c, root, "state_directory", PATH_LEN_MAX, NULL, NULL,
	    &cfg->state_directory);
	if (get_enum(c, root, "log_level", level_names,
	    HSS_ARRAY_LEN(level_names), &lvl) == 1)
		cfg->log_level = (enum log_level)lvl;
	get_duration(c, root, "stats_interval", "0", "1d",
	    &cfg->stats_interval_ms);
	get_duration(c, root, "heartbeat_interval", "0", "1d",
	    &cfg->heartbeat_interval_ms);
	get_hostport(c, root, "metrics_listen", &cfg->metrics_listen,
	    &cfg->metrics_host, &cfg->metrics_port);

	if ((n = map_get(c, root, "sources")) != NULL &&
	    (count = want_list(c, "sources", n)) > 0) {
		cfg->sources = xcalloc(count, sizeof(*cfg->sources));
		cfg->nsources = count;
		names = xcalloc(count, sizeof(*names));
		for (i = 0; i < count; i++) {
			source_defaults(&cfg->sources[i]);
			parse_source(c, doc_node(c,
			    n->data.sequence.items.start[i]),
			    &cfg->sources[i]);
			names[i] = cfg->sources[i].name;
		}
		check_unique(c, n, "source", names);
		free(names);
	}
	if ((n = map_get(c, root, "outputs")) != NULL &&
	    (count = want_list(c, "outputs", n)) > 0) {
		cfg->outputs = xcalloc(count, sizeof(*cfg->outputs));
		cfg->noutputs = count;
		names = xcalloc(count, sizeof(*names));
		for (i = 0; i < count; i++) {
			output_defaults(&cfg->outputs[i]);
			parse_output(c, doc_node(c,
			    n->data.sequence.items.start[i]),
			    &cfg->outputs[i]);
			names[i] = cfg->outputs[i].name;
		}
		check_unique(c, n, "output", names);
		free(names);
	}
}

/* Loading. */

static void
syntax_error(struct ctx *c, const yaml_parser_t *p, const unsigned char *buf,
    size_t len)
{
	const char	*problem;
	size_t		 off, i;
	int		 line = 1, col = 1;

	problem = p->problem != NULL ? p->problem : "unknown error";
	switch (p->error) {
	case YAML_MEMORY_ERROR:
		err_at(c, 0, 0, "out of memory while parsing YAML");
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
		err_at(c, line, col, "YAML syntax error: %s", problem);
		break;
	default:
		line = (int)p->problem_mark.line + 1;
		col = (int)p->problem_mark.column + 1;
		if (p->context != NULL)
			err_at(c, line, col, "YAML syntax error: %s (%s at "
			    "line %d column %d)", problem, p->context,
			    (int)p->context_mark.line + 1,
			    (int)p->context_mark.column + 1);
		else
			err_at(c, line, col, "YAML syntax error: %s", problem);
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
mark_error(struct ctx *c, const yaml_mark_t *m, const char *what,
    const char *sigil, const unsigned char *name)
{
	err_at(c, (int)m->line + 1, (int)m->column + 1, "%s `%s%s`: YAML "
	    "anchors and aliases are not supported; write the value out",
	    what, sigil, (const char *)name);
}

/*
 * An event-level pass before the document is built: syntax errors,
 * anchors and aliases (refused), more than one document.
 */
static int
scan_events(struct ctx *c, const unsigned char *buf, size_t len)
{
	yaml_parser_t	 p;
	yaml_event_t	 ev;
	yaml_char_t	*anchor;
	int		 done = 0, docs = 0, rv = 0;

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
				err_at(c, (int)ev.start_mark.line + 1,
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
			break;
		case YAML_MAPPING_START_EVENT:
			anchor = ev.data.mapping_start.anchor;
			break;
		default:
			break;
		}
		if (anchor != NULL)
			mark_error(c, &ev.start_mark, "anchor", "&", anchor);
		yaml_event_delete(&ev);
	}
	parser_wipe(&p);
	yaml_parser_delete(&p);
	return rv;
}

static int
read_config_file(struct ctx *c, const char *path, unsigned char **bufp,
    size_t *lenp)
{
	struct stat	 st;
	unsigned char	*buf = NULL;
	size_t		 len = 0, cap;
	ssize_t		 r;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		err_at(c, 0, 0, "cannot open: %s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		err_at(c, 0, 0, "not a regular file");
		goto fail;
	}
	cap = CONFIG_FILE_MAX + 1;
	buf = xmalloc(cap);
	for (;;) {
		r = read(fd, buf + len, cap - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			err_at(c, 0, 0, "cannot read: %s", strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > CONFIG_FILE_MAX) {
			err_at(c, 0, 0, "larger than %d bytes",
			    CONFIG_FILE_MAX);
			goto fail;
		}
	}
	close(fd);
	*bufp = buf;
	*lenp = len;
	return 0;
fail:
	if (buf != NULL) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
	close(fd);
	return -1;
}

struct config *
config_load(const char *path, struct config_diag *diag)
{
	struct ctx	 c;
	struct config	*cfg = NULL;
	unsigned char	*buf = NULL;
	size_t		 len = 0;
	yaml_parser_t	 parser;
	yaml_document_t	 doc;
	int		 have_parser = 0, have_doc = 0;

	memset(&c, 0, sizeof(c));
	c.file = path;
	if (diag != NULL)
		memset(diag, 0, sizeof(*diag));
	if (read_config_file(&c, path, &buf, &len) == -1)
		goto done;
	if (scan_events(&c, buf, len) == -1 || c.errors.n > 0)
		goto done;
	if (!yaml_parser_initialize(&parser))
		fatalx("%s: yaml_parser_initialize failed", __func__);
	have_parser = 1;
	yaml_parser_set_input_string(&parser, buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		syntax_error(&c, &parser, buf, len);
		goto done;
	}
	have_doc = 1;
	c.doc = &doc;
	cfg = xcalloc(1, sizeof(*cfg));
	cfg->path = xstrdup(path);
	parse_root(&c, cfg);
done:
	if (have_doc) {
		document_wipe(&doc);
		yaml_document_delete(&doc);
	}
	if (have_parser) {
		parser_wipe(&parser);
		yaml_parser_delete(&parser);
	}
	if (buf != NULL) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
	if (c.errors.n > 0) {
		config_free(cfg);
		cfg = NULL;
	}
	diag_move(&c.errors, diag != NULL ? &diag->errors : NULL,
	    diag != NULL ? &diag->nerrors : NULL);
	diag_move(&c.warnings, diag != NULL ? &diag->warnings : NULL,
	    diag != NULL ? &diag->nwarnings : NULL);
	return cfg;
}

/* Freeing. */

static void
source_clear(struct source_config *src)
{
	struct credentials	*cr = &src->cred;
	size_t			 i;

	free(src->name);
	free(src->region);
	free(src->project_id);
	free(src->enterprise_project_id);
	free(src->endpoint);
	free(src->ca_file);
	free(src->proxy);
	secret_clear(&cr->access_key);
	secret_clear(&cr->secret_key);
	secret_clear(&cr->security_token);
	free(cr->iam_endpoint);
	free(cr->domain);
	free(cr->user);
	secret_clear(&cr->password);
	secret_clear(&cr->token);
	for (i = 0; i < src->nfilters; i++) {
		free(src->filters[i].key);
		free(src->filters[i].value);
	}
	free(src->filters);
}

static void
output_clear(struct output_config *out)
{
	free(out->name);
	free(out->address);
	free(out->host);
	free(out->tls.ca_file);
	free(out->tls.cert_file);
	free(out->tls.key_file);
	free(out->tls.server_name);
	free(out->hostname);
	free(out->app_name);
	free(out->sd_id);
}

void
config_free(struct config *cfg)
{
	size_t	 i;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->nsources; i++)
		source_clear(&cfg->sources[i]);
	for (i = 0; i < cfg->noutputs; i++)
		output_clear(&cfg->outputs[i]);
	free(cfg->sources);
	free(cfg->outputs);
	free(cfg->path);
	free(cfg->state_directory);
	free(cfg->metrics_listen);
	free(cfg->metrics_host);
	free(cfg);
}

const char *
config_format_name(enum output_format f)
{
	if ((size_t)f < HSS_ARRAY_LEN(format_names))
		return format_names[f];
	return "unknown";
}

const char *
config_transport_name(enum output_transport t)
{
	if ((size_t)t < HSS_ARRAY_LEN(transport_names))
		return transport_names[t];
	return "unknown";
}

const char *
config_category_name(enum source_category cat)
{
	if ((size_t)cat < HSS_ARRAY_LEN(category_names))
		return category_names[cat];
	return "unknown";
}
