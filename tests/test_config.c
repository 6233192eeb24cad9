/*
 * test_config.c: config_load() on data files and on generated files.
 *
 * tests/data/config/bad/NAME.yaml must fail to load and produce exactly the
 * diagnostics in NAME.expected ("error: " lines, then "warning: " lines);
 * tests/data/config/warn/NAME.yaml must load with exactly the warnings in
 * NAME.expected. Each case is loaded by its base name from inside its
 * directory, so the FILE part of every line is stable. With
 * HSS_UPDATE_EXPECTED=1 in the environment the .expected files are written
 * instead of compared (review the diff before committing).
 * tests/data/config/good/ holds valid files whose parsed values are checked
 * field by field. Secret files are created at test time in a mkdtemp(3)
 * directory with the modes under test.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/ssl.h>

#include "config.h"
#include "util.h"

#ifndef TEST_SRCDIR
#define TEST_SRCDIR "."
#endif

#define MARKER	"ZQXJ7SECRETMARKER42"

static char	 datadir[PATH_MAX];
static char	 startdir[PATH_MAX];

struct data_case {
	char	 dir[PATH_MAX + 64];
	char	 name[256];	/* NAME.yaml */
	int	 expect_ok;
};

/* Test helpers. */

static void
set_test_env(void)
{
	setenv("HSS_TEST_AK", "AK-TESTVALUE", 1);
	setenv("HSS_TEST_SK", "SK-TESTVALUE", 1);
	setenv("HSS_TEST_TOKEN_VAR", "ST-TESTVALUE", 1);
	setenv("HSS_TEST_PASSWORD", "PW-TESTVALUE", 1);
	setenv("HSS_TEST_TOKEN", "TK-TESTVALUE", 1);
	setenv("HSS_TEST_EMPTY", "", 1);
	unsetenv("HSS_TEST_UNSET");
	unsetenv("CREDENTIALS_DIRECTORY");
}

static char *
read_text(const char *path)
{
	struct buf	 b;
	char		 chunk[4096];
	FILE		*f;
	size_t		 n;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	buf_init(&b);
	buf_adds(&b, "");
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	return b.data;
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	int	 fd;
	size_t	 len = strlen(text);

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd != -1);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
}

/* All diagnostics as text: "error: LINE\n"..., then "warning: LINE\n"... */
static char *
diag_text(const struct config_diag *d)
{
	struct buf	 b;
	size_t		 i;

	buf_init(&b);
	buf_adds(&b, "");
	for (i = 0; i < d->nerrors; i++)
		buf_printf(&b, "error: %s\n", d->errors[i]);
	for (i = 0; i < d->nwarnings; i++)
		buf_printf(&b, "warning: %s\n", d->warnings[i]);
	return b.data;
}

static void
assert_no_marker(const struct config_diag *d, const char *marker)
{
	size_t	 i;

	for (i = 0; i < d->nerrors; i++) {
		if (strstr(d->errors[i], marker) != NULL)
			fail_msg("secret leaked: %s", d->errors[i]);
	}
	for (i = 0; i < d->nwarnings; i++) {
		if (strstr(d->warnings[i], marker) != NULL)
			fail_msg("secret leaked: %s", d->warnings[i]);
	}
}

/* Load NAME from DIR (by base name) and return the config or NULL. */
static struct config *
load_in(const char *dir, const char *name, struct config_diag *d)
{
	struct config	*cfg;

	assert_int_equal(chdir(dir), 0);
	cfg = config_load(name, d);
	assert_int_equal(chdir(startdir), 0);
	return cfg;
}

static struct config *
load_good(const char *name)
{
	struct config_diag	 d;
	struct config		*cfg;
	char			 dir[PATH_MAX + 8], *text;

	snprintf(dir, sizeof(dir), "%s/good", datadir);
	cfg = load_in(dir, name, &d);
	text = diag_text(&d);
	if (cfg == NULL || d.nwarnings != 0)
		fail_msg("%s: unexpected diagnostics:\n%s", name, text);
	free(text);
	config_diag_free(&d);
	return cfg;
}

/* Data-driven cases. */

static void
test_data_case(void **state)
{
	struct data_case	*dc = *state;
	struct config_diag	 d;
	struct config		*cfg;
	char			 exp_path[PATH_MAX + 300], *got, *want;
	char			*base;

	set_test_env();
	cfg = load_in(dc->dir, dc->name, &d);
	got = diag_text(&d);
	base = xstrndup(dc->name, strlen(dc->name) - strlen(".yaml"));
	snprintf(exp_path, sizeof(exp_path), "%s/%s.expected", dc->dir, base);
	free(base);
	if (getenv("HSS_UPDATE_EXPECTED") != NULL) {
		write_file(exp_path, got, 0644);
		want = xstrdup(got);
	} else if ((want = read_text(exp_path)) == NULL)
		fail_msg("%s: %s", exp_path, strerror(errno));
	if (strcmp(got, want) != 0)
		fail_msg("%s: diagnostics differ\n--- expected\n%s--- got\n%s",
		    dc->name, want, got);
	if (dc->expect_ok) {
		assert_non_null(cfg);
		assert_int_equal(d.nerrors, 0);
		assert_true(d.nwarnings > 0);
	} else {
		assert_null(cfg);
		assert_true(d.nerrors > 0);
	}
	/*
	 * Inline secrets in these files carry the marker, pasted keys are the
	 * signing guide's example AK/SK: never shown.
	 */
	assert_no_marker(&d, MARKER);
	assert_no_marker(&d, "QTWAOYTTINDUT2QVKYUC");
	assert_no_marker(&d, "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc");
	free(got);
	free(want);
	config_free(cfg);
	config_diag_free(&d);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct data_case *)a)->name,
	    ((const struct data_case *)b)->name);
}

static int
run_data_dir(const char *sub, int expect_ok, size_t min_cases)
{
	struct data_case	*cases = NULL;
	struct CMUnitTest	*tests;
	struct dirent		*de;
	DIR			*dir;
	size_t			 n = 0, len, i;
	char			 path[PATH_MAX + 64], group[64];
	int			 failed;

	snprintf(path, sizeof(path), "%s/%s", datadir, sub);
	if ((dir = opendir(path)) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return 1;
	}
	while ((de = readdir(dir)) != NULL) {
		len = strlen(de->d_name);
		if (len <= 5 || strcmp(de->d_name + len - 5, ".yaml") != 0)
			continue;
		cases = xreallocarray(cases, n + 1, sizeof(*cases));
		snprintf(cases[n].dir, sizeof(cases[n].dir), "%s", path);
		snprintf(cases[n].name, sizeof(cases[n].name), "%s",
		    de->d_name);
		cases[n].expect_ok = expect_ok;
		n++;
	}
	closedir(dir);
	if (n < min_cases) {
		fprintf(stderr, "%s: %zu cases, expected at least %zu\n",
		    path, n, min_cases);
		free(cases);
		return 1;
	}
	qsort(cases, n, sizeof(*cases), name_cmp);
	tests = xcalloc(n, sizeof(*tests));
	for (i = 0; i < n; i++) {
		tests[i].name = cases[i].name;
		tests[i].test_func = test_data_case;
		tests[i].initial_state = &cases[i];
	}
	snprintf(group, sizeof(group), "config_%s", sub);
	failed = _cmocka_run_group_tests(group, tests, n, NULL, NULL);
	free(tests);
	free(cases);
	return failed;
}

/* Good configs. */

static void
test_good_minimal(void **state)
{
	struct config		*cfg;
	struct source_config	*s;
	struct output_config	*o;
	char			 host[256];

	(void)state;
	set_test_env();
	cfg = load_good("minimal.yaml");
	assert_string_equal(cfg->path, "minimal.yaml");
	assert_string_equal(cfg->state_directory, CONFIG_DEFAULT_STATEDIR);
	assert_int_equal(cfg->log_level, LOG_LEVEL_INFO);
	assert_int_equal(cfg->stats_interval_ms, 300000);
	assert_int_equal(cfg->heartbeat_interval_ms, 0);
	assert_null(cfg->metrics_listen);
	assert_null(cfg->metrics_host);
	assert_int_equal(cfg->nsources, 1);
	s = &cfg->sources[0];
	assert_string_equal(s->name, "prod");
	assert_int_equal(s->line, 2);
	assert_string_equal(s->region, "ap-southeast-1");
	assert_string_equal(s->project_id, "0123456789abcdef0123456789abcdef");
	assert_int_equal(s->category, CATEGORY_HOST);
	assert_null(s->enterprise_project_id);
	assert_string_equal(s->endpoint,
	    "https://hss.ap-southeast-1.myhuaweicloud.com");
	assert_null(s->ca_file);
	assert_null(s->proxy);
	assert_int_equal(s->timeout_ms, 30000);
	assert_int_equal(s->poll_interval_ms, 60000);
	assert_int_equal(s->settle_ms, 30000);
	assert_int_equal(s->lookback_ms, 600000);
	assert_int_equal(s->backfill_ms, 86400000);
	assert_int_equal(s->page_size, 1000);
	assert_int_equal(s->calls_per_minute, 5);
	assert_int_equal(s->max_tracked_ids, 1000000);
	assert_int_equal(s->nfilters, 0);
	assert_null(s->filters);
	assert_int_equal(s->cred.method, CRED_AKSK);
	assert_int_equal(s->cred.access_key.origin, SECRET_ENV);
	assert_string_equal(s->cred.access_key.where, "HSS_TEST_AK");
	assert_string_equal(s->cred.access_key.value, "AK-TESTVALUE");
	assert_int_equal(s->cred.secret_key.origin, SECRET_ENV);
	assert_string_equal(s->cred.secret_key.value, "SK-TESTVALUE");
	assert_int_equal(s->cred.security_token.origin, SECRET_NONE);
	assert_null(s->cred.security_token.value);
	assert_null(s->cred.iam_endpoint);

	assert_int_equal(cfg->noutputs, 1);
	o = &cfg->outputs[0];
	assert_string_equal(o->name, "console");
	assert_int_equal(o->line, 12);
	assert_int_equal(o->format, FORMAT_JSON);
	assert_int_equal(o->transport, TRANSPORT_STDOUT);
	assert_null(o->address);
	assert_null(o->host);
	assert_int_equal(o->framing, FRAMING_LF);
	assert_null(o->tls.ca_file);
	assert_null(o->tls.server_name);
	assert_int_equal(o->tls.verify, 1);
	assert_int_equal(o->tls.min_version, TLS1_2_VERSION);
	assert_int_equal(o->facility, 20);
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	host[sizeof(host) - 1] = '\0';
	assert_string_equal(o->hostname, host);
	assert_string_equal(o->app_name, "hss-forwarder");
	assert_string_equal(o->sd_id, "hss@32473");
	assert_int_equal(o->syslog_header, 1);
	assert_int_equal(o->leef_delimiter, '^');
	assert_int_equal(o->max_message_size, 65536);
	assert_int_equal(o->queue_limit, 10000);
	assert_int_equal(o->queue_limit_bytes, 64 * 1024 * 1024);
	config_free(cfg);
}

static void
assert_kv(const struct source_config *s, size_t i, const char *k,
    const char *v)
{
	assert_true(i < s->nfilters);
	assert_string_equal(s->filters[i].key, k);
	assert_string_equal(s->filters[i].value, v);
}

static void
test_good_full(void **state)
{
	struct config		*cfg;
	struct source_config	*s;
	struct output_config	*o;
	size_t			 i = 0;

	(void)state;
	set_test_env();
	cfg = load_good("full.yaml");
	assert_string_equal(cfg->state_directory, "/tmp/hss-state");
	assert_int_equal(cfg->log_level, LOG_LEVEL_DEBUG);
	assert_int_equal(cfg->stats_interval_ms, 90000);
	assert_int_equal(cfg->heartbeat_interval_ms, 1500);
	assert_string_equal(cfg->metrics_listen, "[::1]:9877");
	assert_string_equal(cfg->metrics_host, "::1");
	assert_int_equal(cfg->metrics_port, 9877);

	assert_int_equal(cfg->nsources, 1);
	s = &cfg->sources[0];
	assert_string_equal(s->name, "prod.EU_1-host");
	assert_string_equal(s->region, "eu-west-101");
	assert_string_equal(s->project_id, "proj_ID-42");
	assert_int_equal(s->category, CATEGORY_CONTAINER);
	assert_string_equal(s->enterprise_project_id, "all_granted_eps");
	/* Trailing slashes are dropped. */
	assert_string_equal(s->endpoint, "https://hss.example.test:8443/base");
	assert_string_equal(s->ca_file, "dummy-ca.txt");
	assert_string_equal(s->proxy, "http://proxy.example.test:3128");
	assert_int_equal(s->timeout_ms, 45000);
	assert_int_equal(s->poll_interval_ms, 2 * 60000);
	assert_int_equal(s->settle_ms, 250);
	assert_int_equal(s->lookback_ms, 3600000);
	assert_int_equal(s->backfill_ms, 7 * 86400000LL);
	assert_int_equal(s->page_size, 500);
	assert_int_equal(s->calls_per_minute, 4);
	assert_int_equal(s->max_tracked_ids, 5000);
	assert_int_equal(s->cred.method, CRED_AKSK);
	assert_string_equal(s->cred.access_key.value, "AK-TESTVALUE");
	assert_string_equal(s->cred.secret_key.value, "SK-TESTVALUE");
	assert_int_equal(s->cred.security_token.origin, SECRET_ENV);
	assert_string_equal(s->cred.security_token.where,
	    "HSS_TEST_TOKEN_VAR");
	assert_string_equal(s->cred.security_token.value, "ST-TESTVALUE");

	/* Filters: config order, lists as repeated keys in list order. */
	assert_kv(s, i++, "handle_status", "unhandled");
	assert_kv(s, i++, "severity", "High");
	assert_kv(s, i++, "severity_list", "High");
	assert_kv(s, i++, "severity_list", "Critical");
	assert_kv(s, i++, "event_types", "1001");
	assert_kv(s, i++, "event_types", "4004");
	assert_kv(s, i++, "event_types", "30000");
	assert_kv(s, i++, "event_class_ids", "login_1001");
	assert_kv(s, i++, "event_class_ids", "malware_0001");
	assert_kv(s, i++, "attack_tag", "attack_success");
	assert_kv(s, i++, "asset_value", "important");
	assert_kv(s, i++, "att_ck", "Command and Control");
	assert_kv(s, i++, "host_name", "web01");
	assert_kv(s, i++, "host_id", "c8a7b6e5-0000-4000-8000-000000000001");
	assert_kv(s, i++, "private_ip", "192.168.0.10");
	assert_kv(s, i++, "public_ip", "203.0.113.7");
	assert_kv(s, i++, "container_name", "nginx-7d9");
	assert_kv(s, i++, "event_name", "Reverse shell");
	assert_kv(s, i++, "tag_list", "hot event");
	assert_kv(s, i++, "tag_list", "42");
	assert_int_equal(s->nfilters, i);

	assert_int_equal(cfg->noutputs, 1);
	o = &cfg->outputs[0];
	assert_string_equal(o->name, "qradar");
	assert_int_equal(o->format, FORMAT_LEEF);
	assert_int_equal(o->transport, TRANSPORT_TLS);
	assert_string_equal(o->address, "siem.example.test:6514");
	assert_string_equal(o->host, "siem.example.test");
	assert_int_equal(o->port, 6514);
	assert_int_equal(o->framing, FRAMING_LF);
	assert_string_equal(o->tls.ca_file, "dummy-ca.txt");
	assert_string_equal(o->tls.cert_file, "dummy-cert.txt");
	assert_string_equal(o->tls.key_file, "dummy-key.txt");
	assert_string_equal(o->tls.server_name, "qradar.example.test");
	assert_int_equal(o->tls.verify, 1);
	assert_int_equal(o->tls.min_version, TLS1_3_VERSION);
	assert_int_equal(o->facility, 13);
	assert_string_equal(o->hostname, "collector01");
	assert_string_equal(o->app_name, "hssfwd");
	assert_string_equal(o->sd_id, "hss@99999");
	assert_int_equal(o->syslog_header, 0);
	assert_int_equal(o->leef_delimiter, '\t');
	assert_int_equal(o->max_message_size, 480);
	assert_int_equal(o->queue_limit, 10000000);
	assert_int_equal(o->queue_limit_bytes, 1048576);
	config_free(cfg);
}

static void
test_good_multi(void **state)
{
	struct config		*cfg;
	struct output_config	*o;

	(void)state;
	set_test_env();
	cfg = load_good("multi.yaml");
	assert_int_equal(cfg->log_level, LOG_LEVEL_WARNING);
	assert_int_equal(cfg->nsources, 3);
	assert_string_equal(cfg->sources[0].name, "eu");
	assert_string_equal(cfg->sources[0].endpoint,
	    "https://hss.eu-west-101.myhuaweicloud.eu");
	assert_string_equal(cfg->sources[1].name, "cn-containers");
	assert_int_equal(cfg->sources[1].category, CATEGORY_CONTAINER);
	assert_string_equal(cfg->sources[1].endpoint,
	    "https://hss.cn-north-4.myhuaweicloud.com");
	assert_int_equal(cfg->sources[1].cred.method, CRED_TOKEN);
	assert_string_equal(cfg->sources[2].name, "sim");
	assert_string_equal(cfg->sources[2].endpoint, "https://127.0.0.1:8443");
	assert_int_equal(cfg->sources[2].line, 22);

	assert_int_equal(cfg->noutputs, 7);
	o = &cfg->outputs[0];
	assert_int_equal(o->transport, TRANSPORT_TCP);
	assert_int_equal(o->framing, FRAMING_LF);
	assert_string_equal(o->host, "127.0.0.1");
	assert_int_equal(o->port, 514);
	/* max_message_size: rsyslog's 8096 over the network, QRadar's 4096
	 * for leef, 65536 for stdout (src/config.c default_max()) */
	assert_int_equal(o->max_message_size, 8096);
	assert_int_equal(cfg->outputs[2].max_message_size, 8096);
	assert_int_equal(cfg->outputs[3].max_message_size, 8096);
	assert_int_equal(cfg->outputs[5].max_message_size, 65536);
	assert_int_equal(cfg->outputs[6].format, FORMAT_LEEF);
	assert_int_equal(cfg->outputs[6].max_message_size, 4096);
	o = &cfg->outputs[1];
	assert_int_equal(o->transport, TRANSPORT_TCP);
	assert_int_equal(o->framing, FRAMING_OCTET_COUNTING);
	o = &cfg->outputs[2];
	assert_int_equal(o->transport, TRANSPORT_TLS);
	assert_int_equal(o->framing, FRAMING_OCTET_COUNTING);
	/* server_name defaults to the host of the address. */
	assert_string_equal(o->tls.server_name, "siem.example.test");
	assert_null(o->tls.ca_file);
	assert_int_equal(o->tls.verify, 1);
	o = &cfg->outputs[3];
	assert_int_equal(o->transport, TRANSPORT_TLS);
	assert_int_equal(o->framing, FRAMING_LF);
	o = &cfg->outputs[4];
	assert_int_equal(o->transport, TRANSPORT_UDP);
	assert_int_equal(o->framing, FRAMING_NONE);
	assert_string_equal(o->host, "2001:db8::1");
	assert_int_equal(o->port, 514);
	assert_int_equal(o->max_message_size, 8096);
	assert_int_equal(o->format, FORMAT_CEF);
	assert_int_equal(o->facility, 0);
	o = &cfg->outputs[5];
	assert_int_equal(o->transport, TRANSPORT_STDOUT);
	assert_int_equal(o->format, FORMAT_RFC5424);
	assert_int_equal(o->framing, FRAMING_LF);
	assert_int_equal(o->facility, 23);
	config_free(cfg);
}

static void
test_good_password(void **state)
{
	struct config		*cfg;
	struct credentials	*cr;

	(void)state;
	set_test_env();
	cfg = load_good("password.yaml");
	assert_int_equal(cfg->nsources, 2);
	cr = &cfg->sources[0].cred;
	assert_int_equal(cr->method, CRED_PASSWORD);
	assert_string_equal(cr->iam_endpoint,
	    "https://iam.eu-west-101.myhuaweicloud.eu");
	assert_string_equal(cr->domain, "example-domain");
	assert_string_equal(cr->user, "hss-reader");
	assert_int_equal(cr->password.origin, SECRET_ENV);
	assert_string_equal(cr->password.where, "HSS_TEST_PASSWORD");
	assert_string_equal(cr->password.value, "PW-TESTVALUE");
	assert_null(cr->access_key.value);
	assert_null(cr->token.value);
	cr = &cfg->sources[1].cred;
	assert_string_equal(cr->iam_endpoint,
	    "https://iam.ap-southeast-3.myhuaweicloud.com");
	assert_string_equal(cfg->sources[1].endpoint,
	    "https://hss.ap-southeast-3.myhuaweicloud.com");
	config_free(cfg);
}

static void
test_good_token(void **state)
{
	struct config		*cfg;
	struct credentials	*cr;

	(void)state;
	set_test_env();
	cfg = load_good("token.yaml");
	cr = &cfg->sources[0].cred;
	assert_int_equal(cr->method, CRED_TOKEN);
	assert_int_equal(cr->token.origin, SECRET_ENV);
	assert_string_equal(cr->token.where, "HSS_TEST_TOKEN");
	assert_string_equal(cr->token.value, "TK-TESTVALUE");
	assert_null(cr->access_key.value);
	assert_null(cr->password.value);
	assert_null(cr->iam_endpoint);
	config_free(cfg);
}

/* Secrets from files, $CREDENTIALS_DIRECTORY and their errors. */

struct tmp {
	char	 dir[64];
};

static void
tmp_make(struct tmp *t)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/test_config.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
}

static void
tmp_remove(struct tmp *t)
{
	struct dirent	*de;
	DIR		*dir;
	char		 path[PATH_MAX];

	if ((dir = opendir(t->dir)) == NULL)
		return;
	while ((de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", t->dir, de->d_name);
		unlink(path);
	}
	closedir(dir);
	rmdir(t->dir);
}

/* A config of one aksk source whose credentials lines are cred. */
static void
write_cfg(struct tmp *t, const char *cred)
{
	char	 path[PATH_MAX], *text;

	text = xasprintf(
	    "sources:\n"
	    "  - name: prod\n"
	    "    region: ap-southeast-1\n"
	    "    project_id: p1\n"
	    "    category: host\n"
	    "    credentials:\n"
	    "%s"
	    "outputs:\n"
	    "  - name: out\n"
	    "    format: json\n"
	    "    transport: stdout\n", cred);
	snprintf(path, sizeof(path), "%s/cfg.yaml", t->dir);
	write_file(path, text, 0644);
	free(text);
}

static void
tmp_file(struct tmp *t, const char *name, const char *text, mode_t mode)
{
	char	 path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", t->dir, name);
	write_file(path, text, mode);
}

/* Load cfg.yaml from t and compare all diagnostics with the text made. */
static struct config * __attribute__((format(printf, 2, 3)))
load_tmp(struct tmp *t, const char *fmt, ...)
{
	struct config_diag	 d;
	struct config		*cfg;
	char			*got, *want;
	va_list			 ap;

	cfg = load_in(t->dir, "cfg.yaml", &d);
	got = diag_text(&d);
	va_start(ap, fmt);
	want = xvasprintf(fmt, ap);
	va_end(ap);
	if (strcmp(got, want) != 0)
		fail_msg("diagnostics differ\n--- expected\n%s--- got\n%s",
		    want, got);
	assert_no_marker(&d, MARKER);
	if (d.nerrors > 0)
		assert_null(cfg);
	else
		assert_non_null(cfg);
	free(got);
	free(want);
	config_diag_free(&d);
	return cfg;
}

static void
test_secret_files(void **state)
{
	struct tmp	 t;
	struct config	*cfg;
	char		*cred;

	(void)state;
	set_test_env();
	tmp_make(&t);
	tmp_file(&t, "ak", "AK-FROM-FILE\n", 0600);
	tmp_file(&t, "sk", MARKER "-SK\r\n", 0400);
	tmp_file(&t, "st", MARKER "-ST", 0600);
	cred = xasprintf(
	    "      method: aksk\n"
	    "      access_key_file: %s/ak\n"
	    "      secret_key_file: %s/sk\n"
	    "      security_token_file: %s/st\n", t.dir, t.dir, t.dir);
	write_cfg(&t, cred);
	free(cred);
	cfg = load_tmp(&t, "%s", "");
	assert_int_equal(cfg->sources[0].cred.access_key.origin, SECRET_FILE);
	assert_string_equal(cfg->sources[0].cred.access_key.value,
	    "AK-FROM-FILE");
	/* One trailing newline (LF or CRLF) is stripped, nothing else. */
	assert_string_equal(cfg->sources[0].cred.secret_key.value,
	    MARKER "-SK");
	assert_string_equal(cfg->sources[0].cred.security_token.value,
	    MARKER "-ST");
	cred = xasprintf("%s/st", t.dir);
	assert_string_equal(cfg->sources[0].cred.security_token.where, cred);
	free(cred);
	config_free(cfg);
	tmp_remove(&t);
}

static void
test_secret_file_errors(void **state)
{
	struct tmp	 t;
	char		*cred;

	(void)state;
	set_test_env();
	tmp_make(&t);
	tmp_file(&t, "ak", MARKER "-AK\n", 0644);
	tmp_file(&t, "sk", MARKER "-SK\n\n", 0600);
	tmp_file(&t, "st", "\n", 0600);
	tmp_file(&t, "pw", MARKER, 0640);
	cred = xasprintf(
	    "      method: aksk\n"
	    "      access_key_file: %s/ak\n"
	    "      secret_key_file: %s/sk\n"
	    "      security_token_file: %s/st\n", t.dir, t.dir, t.dir);
	write_cfg(&t, cred);
	free(cred);
	load_tmp(&t,
	    "error: cfg.yaml:8:24: `access_key_file`: %s/ak is readable by "
	    "group or others (mode 0644); chmod 600 it\n"
	    "error: cfg.yaml:9:24: `secret_key_file`: %s/sk: the secret "
	    "contains a control character or a line break\n"
	    "error: cfg.yaml:10:28: `security_token_file`: %s/st is empty\n",
	    t.dir, t.dir, t.dir);

	cred = xasprintf(
	    "      method: aksk\n"
	    "      access_key_file: %s/missing\n"
	    "      secret_key_file: %s\n"
	    "      security_token_file: %s/pw\n", t.dir, t.dir, t.dir);
	write_cfg(&t, cred);
	free(cred);
	load_tmp(&t,
	    "error: cfg.yaml:8:24: `access_key_file`: cannot read %s/missing: "
	    "No such file or directory\n"
	    "error: cfg.yaml:9:24: `secret_key_file`: cannot read %s: a "
	    "directory, not a regular file\n"
	    "error: cfg.yaml:10:28: `security_token_file`: %s/pw is readable "
	    "by group or others (mode 0640); chmod 600 it\n", t.dir, t.dir,
	    t.dir);
	tmp_remove(&t);
}

static void
test_secret_creddir(void **state)
{
	struct tmp		 t, cd;
	struct config		*cfg;
	struct credentials	*cr;
	char			*want;

	(void)state;
	set_test_env();
	tmp_make(&t);
	tmp_make(&cd);
	/* The per-source name wins over the plain name. */
	tmp_file(&cd, "prod.access_key", "AK-PROD\n", 0400);
	tmp_file(&cd, "access_key", "AK-GENERIC\n", 0400);
	tmp_file(&cd, "secret_key", "SK-GENERIC", 0600);
	setenv("CREDENTIALS_DIRECTORY", cd.dir, 1);
	write_cfg(&t, "      method: aksk\n");
	cfg = load_tmp(&t, "%s", "");
	cr = &cfg->sources[0].cred;
	assert_int_equal(cr->access_key.origin, SECRET_CREDDIR);
	assert_string_equal(cr->access_key.value, "AK-PROD");
	want = xasprintf("%s/prod.access_key", cd.dir);
	assert_string_equal(cr->access_key.where, want);
	free(want);
	assert_int_equal(cr->secret_key.origin, SECRET_CREDDIR);
	assert_string_equal(cr->secret_key.value, "SK-GENERIC");
	want = xasprintf("%s/secret_key", cd.dir);
	assert_string_equal(cr->secret_key.where, want);
	free(want);
	assert_int_equal(cr->security_token.origin, SECRET_NONE);
	config_free(cfg);

	/* The good data file creddir.yaml, against the same directory. */
	cfg = load_good("creddir.yaml");
	cr = &cfg->sources[0].cred;
	assert_string_equal(cr->access_key.value, "AK-GENERIC");
	assert_string_equal(cr->secret_key.value, "SK-GENERIC");
	assert_string_equal(cfg->sources[1].cred.access_key.value, "AK-PROD");
	config_free(cfg);

	/* A group-readable credential is refused, at the mapping. */
	tmp_file(&cd, "secret_key", MARKER, 0640);
	want = xasprintf("error: cfg.yaml:7:7: `secret_key` from "
	    "$CREDENTIALS_DIRECTORY: %s/secret_key is readable by group or "
	    "others (mode 0640); chmod 600 it\n", cd.dir);
	load_tmp(&t, "%s", want);
	free(want);

	/* Neither given nor in the directory. */
	tmp_remove(&cd);
	load_tmp(&t,
	    "error: cfg.yaml:7:7: missing secret `access_key`: set "
	    "access_key_file or access_key_env, or provide the systemd "
	    "credential prod.access_key or access_key\n"
	    "error: cfg.yaml:7:7: missing secret `secret_key`: set "
	    "secret_key_file or secret_key_env, or provide the systemd "
	    "credential prod.secret_key or secret_key\n");
	unsetenv("CREDENTIALS_DIRECTORY");
	tmp_remove(&t);
}

/*
 * Mistakes next to secrets: no message may contain any part of a secret.
 * Each text makes at least one diagnostic.
 */
static void
test_secret_never_leaks(void **state)
{
	static const char *const creds[] = {
		/* wrong types */
		"      method: aksk\n"
		"      access_key: [" MARKER "]\n"
		"      secret_key: {" MARKER ": " MARKER "}\n",
		/* a misspelt key next to an inline secret */
		"      method: aksk\n"
		"      access_key: " MARKER "\n"
		"      secret_kye: " MARKER "\n",
		/* a secret pasted as a key */
		"      method: aksk\n"
		"      access_key_env: HSS_TEST_AK\n"
		"      secret_key_env: HSS_TEST_SK\n"
		"      " MARKER ": x\n",
		/* two forms of one secret */
		"      method: aksk\n"
		"      access_key: " MARKER "\n"
		"      access_key_env: HSS_TEST_AK\n"
		"      secret_key: " MARKER "2\n",
		/* control characters, inline and from the environment */
		"      method: aksk\n"
		"      access_key: \"" MARKER "\\x01\"\n"
		"      secret_key_env: HSS_TEST_LEAK\n",
		/* a secret of the wrong method */
		"      method: token\n"
		"      password: " MARKER "\n"
		"      token: " MARKER "\n",
		/* a secret in a URL */
		"      method: password\n"
		"      domain: d\n"
		"      user: u\n"
		"      password_env: HSS_TEST_PASSWORD\n"
		"      iam_endpoint: https://u:" MARKER "@iam.example.test\n",
		/* a syntax error inside a secret */
		"      method: aksk\n"
		"      access_key: \"" MARKER "\n",
		/* bad bytes inside a secret */
		"      method: aksk\n"
		"      access_key: " MARKER "\xff\xfe\n",
		/* a secret pasted where a path or a variable name goes */
		"      method: aksk\n"
		"      access_key_env: " MARKER "\n"
		"      secret_key_file: " MARKER "\n",
		"      method: aksk\n"
		"      access_key_env: " MARKER "-x\n"
		"      secret_key_env: " MARKER "\n",
		/* an empty value and a non-scalar key */
		"      method: aksk\n"
		"      ? [" MARKER "]\n"
		"      : x\n"
		"      secret_key: \n",
	};
	struct config_diag	 d;
	struct config		*cfg;
	struct tmp		 t;
	size_t			 i;

	(void)state;
	set_test_env();
	setenv("HSS_TEST_LEAK", MARKER "\nX", 1);
	tmp_make(&t);
	for (i = 0; i < HSS_ARRAY_LEN(creds); i++) {
		write_cfg(&t, creds[i]);
		cfg = load_in(t.dir, "cfg.yaml", &d);
		if (d.nerrors == 0)
			fail_msg("case %zu: no error", i);
		assert_null(cfg);
		assert_no_marker(&d, MARKER);
		config_diag_free(&d);
	}
	/* The proxy URL with a password is not shown either. */
	write_cfg(&t, "      method: aksk\n"
	    "      access_key_env: HSS_TEST_AK\n"
	    "      secret_key_env: HSS_TEST_SK\n"
	    "    proxy: http://user:" MARKER "@proxy:3128\n");
	cfg = load_in(t.dir, "cfg.yaml", &d);
	assert_null(cfg);
	assert_int_equal(d.nerrors, 1);
	assert_string_equal(d.errors[0], "cfg.yaml:10:12: `proxy`: user names "
	    "and passwords in URLs are not supported (the URL is not shown)");
	config_diag_free(&d);
	unsetenv("HSS_TEST_LEAK");
	tmp_remove(&t);
}

/* Values stay in memory only in the struct; inline ones are warned about. */
static void
test_secret_inline(void **state)
{
	struct tmp	 t;
	struct config	*cfg;

	(void)state;
	set_test_env();
	tmp_make(&t);
	write_cfg(&t, "      method: aksk\n"
	    "      access_key: " MARKER "-AK\n"
	    "      secret_key: '" MARKER "-SK'\n");
	cfg = load_tmp(&t,
	    "warning: cfg.yaml:8:7: `access_key`: secret given inline; use "
	    "access_key_file or access_key_env\n"
	    "warning: cfg.yaml:9:7: `secret_key`: secret given inline; use "
	    "secret_key_file or secret_key_env\n");
	assert_int_equal(cfg->sources[0].cred.access_key.origin,
	    SECRET_INLINE);
	assert_string_equal(cfg->sources[0].cred.access_key.where,
	    "cfg.yaml:8");
	assert_string_equal(cfg->sources[0].cred.access_key.value,
	    MARKER "-AK");
	assert_string_equal(cfg->sources[0].cred.secret_key.value,
	    MARKER "-SK");
	config_free(cfg);
	tmp_remove(&t);
}

/* The shipped example loads cleanly once its variables are set. */
static void
test_example(void **state)
{
	struct config_diag	 d;
	struct config		*cfg;
	char			 path[PATH_MAX + 32], *text;

	(void)state;
	set_test_env();
	setenv("HSS_ACCESS_KEY", "AK-EXAMPLE", 1);
	setenv("HSS_SECRET_KEY", "SK-EXAMPLE", 1);
	snprintf(path, sizeof(path), "%s/../../../etc/hss-forwarder.yaml",
	    datadir);
	cfg = config_load(path, &d);
	text = diag_text(&d);
	if (cfg == NULL || d.nwarnings != 0)
		fail_msg("example: unexpected diagnostics:\n%s", text);
	free(text);
	assert_int_equal(cfg->nsources, 1);
	assert_int_equal(cfg->noutputs, 1);
	assert_int_equal(cfg->outputs[0].transport, TRANSPORT_STDOUT);
	assert_int_equal(cfg->outputs[0].format, FORMAT_JSON);
	assert_string_equal(cfg->sources[0].cred.access_key.value,
	    "AK-EXAMPLE");
	config_free(cfg);
	config_diag_free(&d);

	/* Without the variables it does not load. */
	unsetenv("HSS_ACCESS_KEY");
	cfg = config_load(path, &d);
	assert_null(cfg);
	assert_int_equal(d.nerrors, 1);
	assert_non_null(strstr(d.errors[0], "`access_key_env`: environment "
	    "variable HSS_ACCESS_KEY is not set"));
	config_diag_free(&d);
	unsetenv("HSS_SECRET_KEY");
}

static void
test_missing_file(void **state)
{
	struct config_diag	 d;

	(void)state;
	assert_null(config_load("/nonexistent/hss.yaml", &d));
	assert_int_equal(d.nerrors, 1);
	assert_int_equal(d.nwarnings, 0);
	assert_string_equal(d.errors[0], "/nonexistent/hss.yaml:1:1: cannot "
	    "read: No such file or directory");
	config_diag_free(&d);
	config_diag_free(&d);	/* idempotent */
	assert_null(config_load("/nonexistent/hss.yaml", NULL));
	config_free(NULL);
}

/* Load path; exactly one error, equal to want. */
static void
load_one_error(const char *path, const char *want)
{
	struct config_diag	 d;

	assert_null(config_load(path, &d));
	if (d.nerrors != 1 || strcmp(d.errors[0], want) != 0)
		fail_msg("%s: expected the one error\n%s\ngot %zu, the first: "
		    "%s", path, want, d.nerrors,
		    d.nerrors > 0 ? d.errors[0] : "(none)");
	config_diag_free(&d);
}

/*
 * A FIFO, a device or a directory as the config is refused at once
 * (opened non-blocking, checked regular), at 1:1; a FIFO as a secret file
 * or a CA file is refused without blocking as well.
 */
static void
test_hostile_files(void **state)
{
	struct tmp	 t;
	char		 path[PATH_MAX], *want, *cred;

	(void)state;
	set_test_env();
	tmp_make(&t);
	snprintf(path, sizeof(path), "%s/fifo.yaml", t.dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	want = xasprintf("%s:1:1: cannot read: a FIFO, not a regular file",
	    path);
	load_one_error(path, want);
	free(want);
	load_one_error("/dev/zero", "/dev/zero:1:1: cannot read: a character "
	    "device, not a regular file");
	want = xasprintf("%s:1:1: cannot read: a directory, not a regular "
	    "file", t.dir);
	load_one_error(t.dir, want);
	free(want);

	snprintf(path, sizeof(path), "%s/sk", t.dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	cred = xasprintf(
	    "      method: aksk\n"
	    "      access_key_file: /dev/zero\n"
	    "      secret_key_file: %s/sk\n", t.dir);
	write_cfg(&t, cred);
	free(cred);
	load_tmp(&t,
	    "error: cfg.yaml:8:24: `access_key_file`: cannot read /dev/zero: "
	    "a character device, not a regular file\n"
	    "error: cfg.yaml:9:24: `secret_key_file`: cannot read %s/sk: a "
	    "FIFO, not a regular file\n", t.dir);
	tmp_remove(&t);
}

static double
elapsed_ms(const struct timespec *a)
{
	struct timespec	 b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) * 1e3 +
	    (double)(b.tv_nsec - a->tv_nsec) / 1e6;
}

/*
 * Hostile YAML: deep flow nesting (libyaml's time grows with the cube of
 * the depth: 100,000 `[` took 22 s) and too many values are refused on
 * the event stream. The time taken is printed, not asserted.
 */
static void
test_hostile_yaml(void **state)
{
	static const struct {
		const char	*name;
		const char	*unit;
		const char	*tail;
		size_t		 n;
		const char	*want;
	} cases[] = {
		{ "100000 [", "[", "", 100000, ":1:33: mappings and sequences "
		    "nested more than 32 deep; the file is refused" },
		{ "100000 {a: ", "{a: ", "", 100000, ":1:129: mappings and "
		    "sequences nested more than 32 deep; the file is refused" },
		{ "block nesting 33", NULL, NULL, 33, ":33:65: mappings and "
		    "sequences nested more than 32 deep; the file is refused" },
		{ "400000 values", "a,", "]", 400000, ":1:200000: more than "
		    "100000 YAML values (keys, scalars, mappings and sequences); "
		    "the file is refused" },
	};
	struct tmp	 t;
	struct buf	 b;
	struct timespec	 ts;
	char		 path[PATH_MAX], *want;
	size_t		 i, j;

	(void)state;
	tmp_make(&t);
	snprintf(path, sizeof(path), "%s/deep.yaml", t.dir);
	for (i = 0; i < HSS_ARRAY_LEN(cases); i++) {
		buf_init(&b);
		buf_adds(&b, "");
		if (cases[i].unit == NULL) {
			/* a:\n  a:\n    a: ... as block mappings */
			for (j = 0; j < cases[i].n; j++)
				buf_printf(&b, "%*sa:\n", (int)(2 * j), "");
			buf_printf(&b, "%*s1\n", (int)(2 * j), "");
		} else {
			if (strcmp(cases[i].tail, "]") == 0)
				buf_adds(&b, "[");
			for (j = 0; j < cases[i].n; j++)
				buf_adds(&b, cases[i].unit);
			buf_adds(&b, cases[i].tail);
		}
		write_file(path, b.data, 0644);
		buf_free(&b);
		want = xasprintf("%s%s", path, cases[i].want);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		load_one_error(path, want);
		printf("# %s: refused in %.1f ms\n", cases[i].name,
		    elapsed_ms(&ts));
		free(want);
	}
	tmp_remove(&t);
}

/* A control character in a key or a value is escaped in diagnostics. */
static void
test_diag_escaped(void **state)
{
	struct tmp	 t;

	(void)state;
	set_test_env();
	tmp_make(&t);
	write_cfg(&t, "      method: aksk\n"
	    "      access_key_env: HSS_TEST_AK\n"
	    "      secret_key_env: HSS_TEST_SK\n"
	    "      ac\tcess: x\n");
	load_tmp(&t, "error: cfg.yaml:10:7: unknown key (not shown: it may be "
	    "a secret)\n");
	tmp_file(&t, "cfg.yaml", "outputs:\n  - name: out\n    format: json\n"
	    "    transport: stdout\n    for\tmat: \"\\e[31mred\"\n"
	    "sources: \"a\\nb\"\n", 0644);
	load_tmp(&t, "error: cfg.yaml:5:5: unknown key `for\\x09mat`; did you "
	    "mean `format`?\n"
	    "error: cfg.yaml:6:10: `sources`: expected a sequence, got a "
	    "string\n");
	tmp_remove(&t);
}

static void
test_names(void **state)
{
	char	*s;

	(void)state;
	s = config_endpoint_for_region("eu-west-101");
	assert_string_equal(s, "https://hss.eu-west-101.myhuaweicloud.eu");
	free(s);
	s = config_endpoint_for_region("cn-north-4");
	assert_string_equal(s, "https://hss.cn-north-4.myhuaweicloud.com");
	free(s);
	assert_string_equal(config_format_name(FORMAT_RFC5424), "rfc5424");
	assert_string_equal(config_format_name(FORMAT_CEF), "cef");
	assert_string_equal(config_format_name(FORMAT_LEEF), "leef");
	assert_string_equal(config_format_name(FORMAT_JSON), "json");
	assert_string_equal(config_transport_name(TRANSPORT_TCP), "tcp");
	assert_string_equal(config_transport_name(TRANSPORT_TLS), "tls");
	assert_string_equal(config_transport_name(TRANSPORT_UDP), "udp");
	assert_string_equal(config_transport_name(TRANSPORT_STDOUT), "stdout");
	assert_string_equal(config_category_name(CATEGORY_HOST), "host");
	assert_string_equal(config_category_name(CATEGORY_CONTAINER),
	    "container");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_minimal),
		cmocka_unit_test(test_good_full),
		cmocka_unit_test(test_good_multi),
		cmocka_unit_test(test_good_password),
		cmocka_unit_test(test_good_token),
		cmocka_unit_test(test_secret_files),
		cmocka_unit_test(test_secret_file_errors),
		cmocka_unit_test(test_secret_creddir),
		cmocka_unit_test(test_secret_never_leaks),
		cmocka_unit_test(test_secret_inline),
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_hostile_files),
		cmocka_unit_test(test_hostile_yaml),
		cmocka_unit_test(test_diag_escaped),
		cmocka_unit_test(test_names),
	};
	const char	*src;
	int		 failed = 0;

	if ((src = getenv("srcdir")) == NULL || *src == '\0')
		src = TEST_SRCDIR;
	snprintf(datadir, sizeof(datadir), "%s/tests/data/config", src);
	if (getcwd(startdir, sizeof(startdir)) == NULL) {
		perror("getcwd");
		return 1;
	}
	set_test_env();
	failed += cmocka_run_group_tests_name("config", tests, NULL, NULL);
	failed += run_data_dir("bad", 0, 37);
	failed += run_data_dir("warn", 1, 3);
	return failed != 0;
}
