/*
 * config.c: the schema of the config file (DESIGN.md section 4) -> struct
 * config: which keys exist, their defaults and ranges, the checks across
 * keys, and building and freeing struct config. The YAML, the diagnostics
 * with positions and the typed values (secrets included) are read through
 * confparse.c; one error makes config_load() return NULL.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "config.h"
#include "confparse.h"
#include "secret.h"
#include "util.h"

#define PATH_LEN_MAX		CONFPARSE_PATH_MAX

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
	"calls_per_minute", "max_tracked_ids", "filters", "sweep_range",
	"sweep_interval",
};

static const char *const output_keys[] = {
	"name", "format", "transport", "address", "framing", "tls",
	"facility", "hostname", "app_name", "sd_id", "syslog_header",
	"leef_delimiter", "max_message_size", "queue_limit",
	"queue_limit_bytes", "relp_window",
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

/* Characters allowed in names. */

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
print_char(int ch)
{
	return ch >= 33 && ch <= 126;
}

static int
sdid_char(int ch)
{
	return print_char(ch) && ch != '=' && ch != ']' && ch != '"';
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
parse_credentials(struct confparse *c, const yaml_node_t *n,
    struct source_config *src, int region_ok)
{
	struct credentials	*cr = &src->cred;
	const char		*keys[HSS_ARRAY_LEN(cred_keys)], *name;
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *mn;
	size_t			 i;
	int			 m, km;

	if (confparse_mapping(c, "credentials", n) == -1)
		return;
	for (i = 0; i < HSS_ARRAY_LEN(cred_keys); i++)
		keys[i] = cred_keys[i].key;
	confparse_check_keys(c, n, keys, HSS_ARRAY_LEN(keys), 1);
	if ((mn = confparse_get(c, n, "method")) == NULL) {
		confparse_err(c, n, "missing required key `method` (one of: "
		    "aksk, password, token)");
		return;
	}
	if (confparse_check_enum(c, "method", mn, method_names,
	    HSS_ARRAY_LEN(method_names), &m) == -1)
		return;
	cr->method = (enum cred_method)m;
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	    p++) {
		k = confparse_node(c, p->key);
		if (k->type != YAML_SCALAR_NODE)
			continue;
		name = confparse_str(k);
		for (i = 0; i < HSS_ARRAY_LEN(cred_keys); i++) {
			km = cred_keys[i].method;
			if (strcmp(name, cred_keys[i].key) == 0 && km != -1 &&
			    km != m)
				confparse_err(c, k, "`%s`: only used with "
				    "method %s", name, method_names[km]);
		}
	}
	switch (cr->method) {
	case CRED_AKSK:
		confparse_secret(c, n, src->name, "access_key", 1,
		    &cr->access_key);
		confparse_secret(c, n, src->name, "secret_key", 1,
		    &cr->secret_key);
		confparse_secret(c, n, src->name, "security_token", 0,
		    &cr->security_token);
		break;
	case CRED_PASSWORD:
		confparse_require(c, n, "domain");
		confparse_require(c, n, "user");
		confparse_string(c, n, "domain", 255, NULL, NULL, &cr->domain);
		confparse_string(c, n, "user", 255, NULL, NULL, &cr->user);
		if (confparse_url(c, n, "iam_endpoint", endpoint_schemes,
		    HSS_ARRAY_LEN(endpoint_schemes), 1,
		    &cr->iam_endpoint) == 0 && region_ok)
			cr->iam_endpoint = iam_endpoint_for_region(src->region);
		confparse_secret(c, n, src->name, "password", 1, &cr->password);
		break;
	case CRED_TOKEN:
		confparse_secret(c, n, src->name, "token", 1, &cr->token);
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
filter_value(struct confparse *c, const struct filter_spec *fs,
    const yaml_node_t *n)
{
	char	*s = NULL;
	int64_t	 v;
	int	 i;

	switch (fs->kind) {
	case FILTER_ENUM:
		if (confparse_check_enum(c, fs->key, n, fs->values, fs->nvalues,
		    &i) == -1)
			return NULL;
		return xstrdup(fs->values[i]);
	case FILTER_INT:
		if (confparse_check_int(c, fs->key, n, 1000, 30000, &v) == -1)
			return NULL;
		return xasprintf("%lld", (long long)v);
	case FILTER_STRING:
		if (confparse_check_string(c, fs->key, n, FILTER_STRING_MAX,
		    NULL, NULL, &s) == -1)
			return NULL;
		return s;
	}
	return NULL;
}

static void
parse_filters(struct confparse *c, const yaml_node_t *n,
    struct source_config *src)
{
	const struct filter_spec *fs;
	const char		*keys[HSS_ARRAY_LEN(filter_specs)], *name;
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v;
	yaml_node_item_t	*it;
	size_t			 i, count;
	char			*val;

	if (confparse_mapping(c, "filters", n) == -1)
		return;
	for (i = 0; i < HSS_ARRAY_LEN(filter_specs); i++)
		keys[i] = filter_specs[i].key;
	confparse_check_keys(c, n, keys, HSS_ARRAY_LEN(keys), 0);
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	    p++) {
		k = confparse_node(c, p->key);
		if (k->type != YAML_SCALAR_NODE)
			continue;
		name = confparse_str(k);
		if ((i = (size_t)confparse_find(name, keys,
		    HSS_ARRAY_LEN(keys))) == (size_t)-1 ||
		    confparse_pair(c, n, name) != p)
			continue;	/* unknown or duplicate: reported */
		fs = &filter_specs[i];
		v = confparse_node(c, p->value);
		if (!fs->list) {
			if ((val = filter_value(c, fs, v)) != NULL)
				filter_add(src, fs->key, val);
			continue;
		}
		if (v->type != YAML_SEQUENCE_NODE) {
			confparse_err(c, v, "`%s`: expected a sequence, got %s",
			    name, confparse_kind(v));
			continue;
		}
		count = (size_t)(v->data.sequence.items.top -
		    v->data.sequence.items.start);
		if (count == 0) {
			confparse_err(c, v, "`%s`: empty list; give at least "
			    "one value or remove the key", name);
			continue;
		}
		if (fs->kind == FILTER_INT && count > EVENT_TYPES_MAX) {
			confparse_err(c, v, "`%s`: %zu items; the API accepts "
			    "at most %d", name, count, EVENT_TYPES_MAX);
			continue;
		}
		for (it = v->data.sequence.items.start;
		    it < v->data.sequence.items.top; it++) {
			if ((val = filter_value(c, fs,
			    confparse_node(c, *it))) != NULL)
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
	src->sweep_range_ms = 24 * 3600 * 1000LL;
	src->sweep_interval_ms = 3600 * 1000LL;
}

static void
parse_region(struct confparse *c, const yaml_node_t *map,
    struct source_config *src, int *region_ok)
{
	yaml_node_t	*n;
	const char	*near;

	*region_ok = 0;
	if ((n = confparse_get(c, map, "region")) == NULL)
		return;
	if (confparse_check_string(c, "region", n, 64, region_char, "[a-z0-9-]",
	    &src->region) == -1)
		return;
	*region_ok = 1;
	if (confparse_find(src->region, regions, HSS_ARRAY_LEN(regions)) != -1)
		return;
	if (confparse_get(c, map, "endpoint") != NULL) {
		confparse_warn(c, n, "`region`: unknown region `%s`; using the "
		    "given endpoint", src->region);
		return;
	}
	*region_ok = 0;
	near = confparse_suggest(src->region, regions, HSS_ARRAY_LEN(regions));
	if (near != NULL)
		confparse_err(c, n, "`region`: unknown region `%s`; did you "
		    "mean `%s`? (for a region not known here, also set "
		    "`endpoint`)", src->region, near);
	else
		confparse_err(c, n, "`region`: unknown region `%s` (for a "
		    "region not known here, also set `endpoint`)", src->region);
}

static void
parse_source(struct confparse *c, const yaml_node_t *n,
    struct source_config *src)
{
	yaml_node_t	*v;
	int64_t		 i64;
	int		 i, region_ok;

	src->line = confparse_line(n);
	if (n->type != YAML_MAPPING_NODE) {
		confparse_err(c, n, "`sources` item: expected a mapping, got "
		    "%s", confparse_kind(n));
		return;
	}
	confparse_check_keys(c, n, source_keys, HSS_ARRAY_LEN(source_keys), 0);
	confparse_require(c, n, "name");
	confparse_require(c, n, "region");
	confparse_require(c, n, "project_id");
	confparse_require(c, n, "category");
	confparse_require(c, n, "credentials");

	confparse_string(c, n, "name", 64, name_char, "[A-Za-z0-9._-]",
	    &src->name);
	parse_region(c, n, src, &region_ok);
	confparse_string(c, n, "project_id", 64, project_char, "[A-Za-z0-9_-]",
	    &src->project_id);
	if (confparse_enum(c, n, "category", category_names,
	    HSS_ARRAY_LEN(category_names), &i) == 1)
		src->category = (enum source_category)i;
	confparse_string(c, n, "enterprise_project_id", 256, NULL, NULL,
	    &src->enterprise_project_id);
	if (confparse_url(c, n, "endpoint", endpoint_schemes,
	    HSS_ARRAY_LEN(endpoint_schemes), 1, &src->endpoint) == 0 &&
	    region_ok)
		src->endpoint = config_endpoint_for_region(src->region);
	confparse_readable(c, n, "ca_file", &src->ca_file);
	confparse_url(c, n, "proxy", proxy_schemes,
	    HSS_ARRAY_LEN(proxy_schemes), 0, &src->proxy);
	confparse_duration(c, n, "timeout", "1s", "10m", &src->timeout_ms);
	confparse_duration(c, n, "poll_interval", "10s", "24h",
	    &src->poll_interval_ms);
	confparse_duration(c, n, "settle", "0", "1h", &src->settle_ms);
	confparse_duration(c, n, "lookback", "0", "1d", &src->lookback_ms);
	confparse_duration(c, n, "backfill", "1m", "30d", &src->backfill_ms);
	confparse_duration(c, n, "sweep_range", "0", "30d",
	    &src->sweep_range_ms);
	confparse_duration(c, n, "sweep_interval", "10s", "7d",
	    &src->sweep_interval_ms);
	if (confparse_int(c, n, "page_size", 10, 1000, &i64) == 1)
		src->page_size = (int)i64;
	if (confparse_int(c, n, "calls_per_minute", 1, 600, &i64) == 1)
		src->calls_per_minute = (int)i64;
	if (confparse_int(c, n, "max_tracked_ids", 1000, 10000000, &i64) == 1)
		src->max_tracked_ids = (size_t)i64;
	if ((v = confparse_get(c, n, "filters")) != NULL)
		parse_filters(c, v, src);
	if ((v = confparse_get(c, n, "credentials")) != NULL)
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
	out->max_message_size = 0;	/* set: by config, else default_max() */
	out->queue_limit = 10000;
	out->queue_limit_bytes = CONFIG_QUEUE_BYTES_DEFAULT;
	out->relp_window = 128;		/* librelp's window */
	if (gethostname(host, sizeof(host)) == -1)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	if (host[0] == '\0')
		snprintf(host, sizeof(host), "-");
	out->hostname = xstrdup(host);
}

static void
parse_tls(struct confparse *c, const yaml_node_t *n, struct output_config *out)
{
	yaml_node_t	*v;
	int		 i, has_cert, has_key;

	if (confparse_mapping(c, "tls", n) == -1)
		return;
	confparse_check_keys(c, n, tls_keys, HSS_ARRAY_LEN(tls_keys), 0);
	confparse_readable(c, n, "ca_file", &out->tls.ca_file);
	has_cert = confparse_readable(c, n, "cert_file",
	    &out->tls.cert_file) != 0;
	has_key = confparse_readable(c, n, "key_file", &out->tls.key_file) != 0;
	if (has_cert && !has_key)
		confparse_err(c, n, "`tls`: `cert_file` needs `key_file`");
	else if (has_key && !has_cert)
		confparse_err(c, n, "`tls`: `key_file` needs `cert_file`");
	confparse_string(c, n, "server_name", 253, print_char,
	    "printable ASCII without spaces", &out->tls.server_name);
	if (confparse_bool(c, n, "verify", &out->tls.verify) == 1 &&
	    !out->tls.verify) {
		v = confparse_get(c, n, "verify");
		confparse_warn(c, v, "`verify`: tls verification is disabled; "
		    "the server's certificate and name are not checked");
	}
	if (confparse_enum(c, n, "min_version", tls_version_names,
	    HSS_ARRAY_LEN(tls_version_names), &i) == 1)
		out->tls.min_version = i == 0 ? CONFIG_TLS1_2 :
		    CONFIG_TLS1_3;
}

static void
parse_facility(struct confparse *c, const yaml_node_t *map,
    struct output_config *out)
{
	yaml_node_t	*n;
	const char	*s, *errstr;
	char		*all;
	int64_t		 v;
	int		 i;

	if ((n = confparse_get(c, map, "facility")) == NULL)
		return;
	if ((s = confparse_scalar(c, "facility", n, "a facility")) == NULL)
		return;
	if ((i = confparse_find(s, facility_names,
	    HSS_ARRAY_LEN(facility_names))) != -1) {
		out->facility = i;
		return;
	}
	if (parse_int64(s, 0, 23, &v, &errstr) == 0) {
		out->facility = (int)v;
		return;
	}
	all = confparse_join(facility_names, HSS_ARRAY_LEN(facility_names));
	confparse_err(c, n, "`facility`: `%s` is not one of: %s, or a number "
	    "0..23", s, all);
	free(all);
}

/*
 * The LEEF delimiter: one of `^` (the default), `|`, `~` or TAB (written
 * "\t"). Anything else could break a message apart: a letter, a digit or
 * `_` occurs in keys (`_` would split event_id), `=` separates a key from
 * its value, `-`, `:`, `.`, `'` and space occur in fixed values
 * (devTimeFormat yyyy-MM-dd'T'HH:mm:ss.SSSX, times, addresses, numbers),
 * `\` is an escape to some parsers. These four occur in none of them, and
 * the formatter removes the delimiter from every value.
 */
static void
parse_leef_delimiter(struct confparse *c, const yaml_node_t *map,
    struct output_config *out)
{
	yaml_node_t	*n;
	const char	*s;

	if ((n = confparse_get(c, map, "leef_delimiter")) == NULL)
		return;
	if (n->type != YAML_SCALAR_NODE || confparse_is_null(n)) {
		confparse_err(c, n, "`leef_delimiter`: expected a string, got "
		    "%s", confparse_kind(n));
		return;
	}
	s = confparse_str(n);
	if (n->data.scalar.length != 1 || strchr(CONFIG_LEEF_DELIMITERS,
	    s[0]) == NULL) {
		confparse_err(c, n, "`leef_delimiter`: must be one of `^`, "
		    "`|`, `~` or a tab (\"\\t\"); other characters occur in "
		    "LEEF keys or fixed values");
		return;
	}
	out->leef_delimiter = s[0];
}

/*
 * The default max_message_size: the largest message a stock receiver of
 * the transport takes as one message, so that every event arrives whole
 * (shrunk by the formatter when it must be, format.h). It counts the
 * syslog message itself: not the octet count and space of octet-counting
 * framing, nor the LF of lf framing, nor the RELP frame around it.
 *  - rsyslog (imtcp, imptcp, imudp, imrelp): global(maxMessageSize)
 *    "default 8k" (rsyslog.com/doc, configuration/global), which is 8096
 *    bytes in the code (runtime/glbl.c: iMaxLine = 8096); imtcp cuts a
 *    longer message there and delivers the rest as a message of its own,
 *    with octet-counting and with lf framing alike ("received oversize
 *    message ... max msg size is 8096, truncating..."; rsyslog 8.2302: a
 *    message of 8096 bytes arrives whole, one of 8097 does not); imrelp's
 *    maxDataSize defaults to the same value.
 *  - syslog-ng: log-msg-size(), 65536 by default (global, and network()
 *    and syslog() sources inherit it).
 *  - Splunk TCP/UDP inputs: TRUNCATE = 10000 bytes per event by default
 *    (props.conf).
 *  - RFC 5424 6.1: a receiver must take 480 bytes and should take 2048;
 *    RFC 5425 (TLS): 2048 must, 8192 should. RFC 5426 (UDP): 480 (IPv4),
 *    1180 (IPv6), 2048 should; rsyslog's imudp also stops at 8096.
 *  - IBM QRadar: "Max TCP Syslog Payload Length" and "Max UDP Syslog
 *    Payload Length" (System Settings), 4096 bytes by default; it cuts
 *    longer payloads. LEEF is QRadar's format, so LEEF outputs default to
 *    4096.
 * Hence 8096 (the smallest of the syslog receivers, rsyslog) for tcp,
 * tls, relp and udp, 4096 for leef over any of them, and 65536 for stdout
 * (no receiver; a bound for one line).
 */
#define MAX_MESSAGE_RSYSLOG	8096
#define MAX_MESSAGE_QRADAR	4096
#define MAX_MESSAGE_STDOUT	65536

static size_t
default_max(enum output_transport t, enum output_format f)
{
	if (t == TRANSPORT_STDOUT)
		return MAX_MESSAGE_STDOUT;
	if (f == FORMAT_LEEF)
		return MAX_MESSAGE_QRADAR;
	return MAX_MESSAGE_RSYSLOG;
}

static void
parse_output(struct confparse *c, const yaml_node_t *n,
    struct output_config *out)
{
	yaml_node_t	*v;
	int64_t		 i64, maxsize;
	int		 i, fmt_ok, tr_ok, has_framing;

	out->line = confparse_line(n);
	if (n->type != YAML_MAPPING_NODE) {
		confparse_err(c, n, "`outputs` item: expected a mapping, got "
		    "%s", confparse_kind(n));
		return;
	}
	confparse_check_keys(c, n, output_keys, HSS_ARRAY_LEN(output_keys), 0);
	confparse_require(c, n, "name");
	confparse_require(c, n, "format");
	confparse_require(c, n, "transport");

	confparse_string(c, n, "name", 64, name_char, "[A-Za-z0-9._-]",
	    &out->name);
	fmt_ok = confparse_enum(c, n, "format", format_names,
	    HSS_ARRAY_LEN(format_names), &i) == 1;
	if (fmt_ok)
		out->format = (enum output_format)i;
	tr_ok = confparse_enum(c, n, "transport", transport_names,
	    HSS_ARRAY_LEN(transport_names), &i) == 1;
	if (tr_ok)
		out->transport = (enum output_transport)i;

	if (tr_ok && out->transport == TRANSPORT_STDOUT) {
		if ((v = confparse_key(c, n, "address")) != NULL)
			confparse_err(c, v, "`address`: not used with "
			    "transport stdout");
	} else if (tr_ok) {
		if (confparse_get(c, n, "address") == NULL)
			confparse_err(c, n, "missing required key `address` "
			    "(transport %s)", transport_names[out->transport]);
		else
			confparse_hostport(c, n, "address", &out->address,
			    &out->host, &out->port);
	}

	has_framing = confparse_get(c, n, "framing") != NULL;
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
		confparse_err(c, confparse_key(c, n, "framing"), "`framing`: "
		    "not used with transport %s (%s)",
		    transport_names[out->transport],
		    out->transport == TRANSPORT_UDP ?
		    "one message per datagram" :
		    out->transport == TRANSPORT_RELP ?
		    "RELP frames each message itself" :
		    "one message per line");
	} else if (confparse_enum(c, n, "framing", framing_names,
	    HSS_ARRAY_LEN(framing_names), &i) == 1)
		out->framing = i == 0 ? FRAMING_OCTET_COUNTING : FRAMING_LF;

	if ((v = confparse_get(c, n, "tls")) != NULL) {
		if (tr_ok && out->transport != TRANSPORT_TLS &&
		    out->transport != TRANSPORT_RELP)
			confparse_err(c, confparse_key(c, n, "tls"), "`tls`: "
			    "only used with transport tls or relp (this output "
			    "uses %s)",
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
	confparse_string(c, n, "hostname", 255, print_char,
	    "printable ASCII without spaces", &out->hostname);
	confparse_string(c, n, "app_name", 48, print_char,
	    "printable ASCII without spaces", &out->app_name);
	confparse_string(c, n, "sd_id", 32, sdid_char,
	    "printable ASCII without spaces, `=`, `]` and `\"`", &out->sd_id);
	confparse_bool(c, n, "syslog_header", &out->syslog_header);
	parse_leef_delimiter(c, n, out);
	/* an explicit max_message_size wins over the default */
	maxsize = tr_ok && out->transport == TRANSPORT_UDP ? 65000 : 1048576;
	if (confparse_int(c, n, "max_message_size", 480, maxsize, &i64) == 1)
		out->max_message_size = (size_t)i64;
	else
		out->max_message_size = default_max(out->transport,
		    out->format);
	if (confparse_int(c, n, "queue_limit", 1, 10000000, &i64) == 1)
		out->queue_limit = (size_t)i64;
	/* At least the largest message, so that one always fits. */
	if (confparse_int(c, n, "queue_limit_bytes", 1048576,
	    CONFIG_QUEUE_BYTES_MAX, &i64) == 1)
		out->queue_limit_bytes = (size_t)i64;
	/* RELP's window: messages sent and not yet answered, 1 .. the
	 * engine's RELP_WINDOW_MAX (src/relp.h) */
	if ((v = confparse_key(c, n, "relp_window")) != NULL && tr_ok &&
	    out->transport != TRANSPORT_RELP)
		confparse_err(c, v, "`relp_window`: only used with transport "
		    "relp (this output uses %s)",
		    transport_names[out->transport]);
	else if (confparse_int(c, n, "relp_window", 1, 16384, &i64) == 1)
		out->relp_window = (int)i64;
}

/* The top level. */

/* Duplicate names: each after the first, pointing back at the first. */
static void
check_unique(struct confparse *c, const yaml_node_t *list, const char *what,
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
				confparse_err(c, confparse_get(c,
				    confparse_node(c, items[i]), "name"),
				    "`name`: duplicate %s name `%s` (first at "
				    "line %d)", what, names[i],
				    confparse_line(confparse_get(c,
				    confparse_node(c, items[j]), "name")));
				break;
			}
		}
	}
}

/*
 * The state directory when the config does not name one: systemd's
 * $STATE_DIRECTORY (StateDirectory=; colon-separated when the unit names
 * several: the first), else the built-in default.
 */
static char *
default_statedir(void)
{
	const char	*sd = getenv("STATE_DIRECTORY");

	if (sd != NULL && sd[0] == '/')
		return xstrndup(sd, strcspn(sd, ":"));
	return xstrdup(CONFIG_DEFAULT_STATEDIR);
}

static void
parse_root(struct confparse *c, struct config *cfg)
{
	yaml_node_t	*root, *n;
	const char	**names;
	size_t		 i, count;
	int		 lvl;

	cfg->state_directory = default_statedir();
	cfg->log_level = LOG_LEVEL_INFO;
	cfg->stats_interval_ms = 5 * 60 * 1000;
	cfg->heartbeat_interval_ms = 0;

	if ((root = confparse_root(c)) == NULL) {
		confparse_err_at(c, 1, 1, "the file is empty; `sources` and "
		    "`outputs` are required");
		return;
	}
	if (root->type != YAML_MAPPING_NODE) {
		confparse_err(c, root, "expected a mapping at the top level, "
		    "got %s", confparse_kind(root));
		return;
	}
	confparse_check_keys(c, root, top_keys, HSS_ARRAY_LEN(top_keys), 0);
	confparse_require(c, root, "sources");
	confparse_require(c, root, "outputs");

	confparse_string(c, root, "state_directory", PATH_LEN_MAX, NULL, NULL,
	    &cfg->state_directory);
	if (confparse_enum(c, root, "log_level", level_names,
	    HSS_ARRAY_LEN(level_names), &lvl) == 1)
		cfg->log_level = (enum log_level)lvl;
	confparse_duration(c, root, "stats_interval", "0", "1d",
	    &cfg->stats_interval_ms);
	confparse_duration(c, root, "heartbeat_interval", "0", "1d",
	    &cfg->heartbeat_interval_ms);
	confparse_hostport(c, root, "metrics_listen", &cfg->metrics_listen,
	    &cfg->metrics_host, &cfg->metrics_port);

	if ((n = confparse_get(c, root, "sources")) != NULL &&
	    (count = confparse_list(c, "sources", n)) > 0) {
		cfg->sources = xcalloc(count, sizeof(*cfg->sources));
		cfg->nsources = count;
		names = xcalloc(count, sizeof(*names));
		for (i = 0; i < count; i++) {
			source_defaults(&cfg->sources[i]);
			parse_source(c, confparse_node(c,
			    n->data.sequence.items.start[i]),
			    &cfg->sources[i]);
			names[i] = cfg->sources[i].name;
		}
		check_unique(c, n, "source", names);
		free(names);
	}
	if ((n = confparse_get(c, root, "outputs")) != NULL &&
	    (count = confparse_list(c, "outputs", n)) > 0) {
		cfg->outputs = xcalloc(count, sizeof(*cfg->outputs));
		cfg->noutputs = count;
		names = xcalloc(count, sizeof(*names));
		for (i = 0; i < count; i++) {
			output_defaults(&cfg->outputs[i]);
			parse_output(c, confparse_node(c,
			    n->data.sequence.items.start[i]),
			    &cfg->outputs[i]);
			names[i] = cfg->outputs[i].name;
		}
		check_unique(c, n, "output", names);
		free(names);
	}
}

/* Loading. */

static void	identify_files(struct config *);

struct config *
config_load(const char *path, struct config_diag *diag)
{
	struct confparse	*c;
	struct config		*cfg = NULL;

	if (diag != NULL)
		memset(diag, 0, sizeof(*diag));
	c = confparse_new(path);
	if (confparse_load(c) == 0) {
		cfg = xcalloc(1, sizeof(*cfg));
		cfg->path = xstrdup(path);
		parse_root(c, cfg);
		identify_files(cfg);
	}
	if (confparse_nerrors(c) > 0) {
		config_free(cfg);
		cfg = NULL;
	}
	if (diag != NULL)
		confparse_free(c, &diag->errors, &diag->nerrors,
		    &diag->warnings, &diag->nwarnings);
	else
		confparse_free(c, NULL, NULL, NULL, NULL);
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

/* Reload: comparing entries. */

static int
str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static void
note(struct buf *changed, int *equal, const char *what)
{
	if (changed != NULL)
		buf_printf(changed, "%s%s", changed->len > 0 ? ", " : "", what);
	*equal = 0;
}

#define CMP(cond, what)	do { if (!(cond)) note(changed, &eq, (what)); } \
			    while (0)

/*
 * A secret is the same when it comes from the same place with the same
 * value. A token file is re-read by the API client whenever it changes,
 * so its value does not count (a renewed token needs no restart).
 */
static int
secret_eq(const struct secret *a, const struct secret *b, int by_place)
{
	if (a->origin != b->origin || !str_eq(a->where, b->where))
		return 0;
	if (by_place && (a->origin == SECRET_FILE ||
	    a->origin == SECRET_CREDDIR))
		return 1;
	return str_eq(a->value, b->value);
}

static int
filters_eq(const struct source_config *a, const struct source_config *b)
{
	size_t	 i;

	if (a->nfilters != b->nfilters)
		return 0;
	for (i = 0; i < a->nfilters; i++)
		if (!str_eq(a->filters[i].key, b->filters[i].key) ||
		    !str_eq(a->filters[i].value, b->filters[i].value))
			return 0;
	return 1;
}

int
config_source_equal(const struct source_config *a,
    const struct source_config *b, struct buf *changed)
{
	const struct credentials	*ca = &a->cred, *cb = &b->cred;
	int				 eq = 1;

	CMP(str_eq(a->name, b->name), "name");
	CMP(str_eq(a->region, b->region), "region");
	CMP(str_eq(a->project_id, b->project_id), "project_id");
	CMP(a->category == b->category, "category");
	CMP(str_eq(a->enterprise_project_id, b->enterprise_project_id),
	    "enterprise_project_id");
	CMP(str_eq(a->endpoint, b->endpoint), "endpoint");
	CMP(str_eq(a->ca_file, b->ca_file), "ca_file");
	CMP(str_eq(a->proxy, b->proxy), "proxy");
	CMP(a->timeout_ms == b->timeout_ms, "timeout");
	CMP(ca->method == cb->method &&
	    secret_eq(&ca->access_key, &cb->access_key, 0) &&
	    secret_eq(&ca->secret_key, &cb->secret_key, 0) &&
	    secret_eq(&ca->security_token, &cb->security_token, 0) &&
	    str_eq(ca->iam_endpoint, cb->iam_endpoint) &&
	    str_eq(ca->domain, cb->domain) && str_eq(ca->user, cb->user) &&
	    secret_eq(&ca->password, &cb->password, 0) &&
	    secret_eq(&ca->token, &cb->token, 1), "credentials");
	CMP(a->poll_interval_ms == b->poll_interval_ms, "poll_interval");
	CMP(a->settle_ms == b->settle_ms, "settle");
	CMP(a->lookback_ms == b->lookback_ms, "lookback");
	CMP(a->backfill_ms == b->backfill_ms, "backfill");
	CMP(a->page_size == b->page_size, "page_size");
	CMP(a->calls_per_minute == b->calls_per_minute, "calls_per_minute");
	CMP(a->max_tracked_ids == b->max_tracked_ids, "max_tracked_ids");
	CMP(a->sweep_range_ms == b->sweep_range_ms, "sweep_range");
	CMP(a->sweep_interval_ms == b->sweep_interval_ms, "sweep_interval");
	CMP(filters_eq(a, b), "filters");
	return eq;
}

static int
file_id_eq(const struct config_file_id *a, const struct config_file_id *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	    a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

int
config_output_equal(const struct output_config *a,
    const struct output_config *b, struct buf *changed)
{
	const struct output_tls	*ta = &a->tls, *tb = &b->tls;
	int			 eq = 1;

	CMP(str_eq(a->name, b->name), "name");
	CMP(a->format == b->format, "format");
	CMP(a->transport == b->transport, "transport");
	CMP(str_eq(a->address, b->address) && str_eq(a->host, b->host) &&
	    a->port == b->port, "address");
	CMP(a->framing == b->framing, "framing");
	CMP(str_eq(ta->ca_file, tb->ca_file) &&
	    str_eq(ta->cert_file, tb->cert_file) &&
	    str_eq(ta->key_file, tb->key_file) &&
	    str_eq(ta->server_name, tb->server_name) &&
	    ta->verify == tb->verify && ta->min_version == tb->min_version &&
	    a->relp_tls == b->relp_tls, "tls");
	/* The same names, other files: renewed (other names count above). */
	CMP(!(str_eq(ta->ca_file, tb->ca_file) &&
	    str_eq(ta->cert_file, tb->cert_file) &&
	    str_eq(ta->key_file, tb->key_file)) ||
	    (file_id_eq(&ta->ca_id, &tb->ca_id) &&
	    file_id_eq(&ta->cert_id, &tb->cert_id) &&
	    file_id_eq(&ta->key_id, &tb->key_id)), "tls files (renewed)");
	CMP(a->facility == b->facility, "facility");
	CMP(str_eq(a->hostname, b->hostname), "hostname");
	CMP(str_eq(a->app_name, b->app_name), "app_name");
	CMP(str_eq(a->sd_id, b->sd_id), "sd_id");
	CMP(a->syslog_header == b->syslog_header, "syslog_header");
	CMP(a->leef_delimiter == b->leef_delimiter, "leef_delimiter");
	CMP(a->max_message_size == b->max_message_size, "max_message_size");
	CMP(a->queue_limit == b->queue_limit, "queue_limit");
	CMP(a->queue_limit_bytes == b->queue_limit_bytes, "queue_limit_bytes");
	CMP(a->relp_window == b->relp_window, "relp_window");
	return eq;
}

int
config_restart_needed(const struct config *a, const struct config *b,
    struct buf *changed)
{
	int	 eq = 1;

	CMP(str_eq(a->state_directory, b->state_directory),
	    "state_directory");
	return !eq;
}

#undef CMP

static void
file_id(const char *path, struct config_file_id *id)
{
	struct stat	 st;

	memset(id, 0, sizeof(*id));
	if (path == NULL || stat(path, &st) == -1)
		return;
	id->dev = (uint64_t)st.st_dev;
	id->ino = (uint64_t)st.st_ino;
	id->size = (int64_t)st.st_size;
	id->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 +
	    st.st_mtim.tv_nsec;
	id->ctime_ns = (int64_t)st.st_ctim.tv_sec * 1000000000 +
	    st.st_ctim.tv_nsec;
}

/* Note what the TLS files of every output are now (struct config_file_id). */
static void
identify_files(struct config *cfg)
{
	struct output_tls	*t;
	size_t			 i;

	for (i = 0; i < cfg->noutputs; i++) {
		t = &cfg->outputs[i].tls;
		file_id(t->ca_file, &t->ca_id);
		file_id(t->cert_file, &t->cert_id);
		file_id(t->key_file, &t->key_id);
	}
}

static void
diag_add(struct config_diag *diag, char *msg)
{
	diag->errors = xreallocarray(diag->errors, diag->nerrors + 1,
	    sizeof(*diag->errors));
	diag->errors[diag->nerrors++] = msg;
}

size_t
config_check_mode(const struct config *cfg, int foreground,
    struct config_diag *diag)
{
	const struct output_config	*o;
	size_t				 i, n = 0;

	for (i = 0; i < cfg->noutputs && !foreground; i++) {
		o = &cfg->outputs[i];
		if (o->transport != TRANSPORT_STDOUT)
			continue;
		diag_add(diag, xasprintf("%s:%d: output `%s`: transport stdout "
		    "needs -f or --once: in the background the daemon's "
		    "standard output is /dev/null and every event sent there "
		    "would be lost; run it in the foreground with -f (as the "
		    "systemd unit does) or --once, or send to the SIEM with "
		    "transport tcp, tls, relp or udp", cfg->path, o->line,
		    o->name));
		n++;
	}
	return n;
}
