/*
 * test_reload.c: what a reload decides and how the output set changes
 * under running sources: config_source_equal(), config_output_equal()
 * (the keys named, TLS files renewed under the same name),
 * config_restart_needed(), config_check_mode() (stdout needs the
 * foreground), and outset_retire() on loopback sockets: a removed output's
 * unacknowledged messages are dropped from the tickets, a replaced one's
 * make the tickets that cover them lost (never acknowledged).
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "config.h"
#include "format.h"
#include "log.h"
#include "output.h"
#include "outset.h"
#include "util.h"

static char	 dir[64];

#define SOURCE	\
	"  - name: s1\n"						\
	"    region: ap-southeast-1\n"					\
	"    project_id: 0123456789abcdef0123456789abcdef\n"		\
	"    category: host\n"						\
	"    credentials:\n"						\
	"      method: aksk\n"						\
	"      access_key_env: RELOAD_TEST_AK\n"			\
	"      secret_key_env: RELOAD_TEST_SK\n"

static struct config *
load(const char *name, const char *text)
{
	struct config_diag	 d;
	struct config		*c;
	char			*path;
	FILE			*fp;

	path = xasprintf("%s/%s", dir, name);
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
	c = config_load(path, &d);
	if (c == NULL)
		fail_msg("%s: %s", name, d.nerrors > 0 ? d.errors[0] : "?");
	config_diag_free(&d);
	free(path);
	return c;
}

static struct config *
load_source(const char *extra)
{
	char		*text;
	struct config	*c;

	text = xasprintf("state_directory: %s\nsources:\n" SOURCE "%s"
	    "outputs:\n  - name: o\n    format: json\n    transport: stdout\n",
	    dir, extra);
	c = load("s.yaml", text);
	free(text);
	return c;
}

static void
expect_source(const char *a, const char *b, const char *changed)
{
	struct config	*ca = load_source(a), *cb = load_source(b);
	struct buf	 why;

	buf_init(&why);
	assert_int_equal(config_source_equal(&ca->sources[0],
	    &cb->sources[0], &why), changed == NULL);
	assert_string_equal(why.len > 0 ? why.data : "", changed != NULL ?
	    changed : "");
	buf_free(&why);
	config_free(ca);
	config_free(cb);
}

static void
test_source_equal(void **state)
{
	(void)state;
	expect_source("", "", NULL);
	/* Where a source is in the file does not count. */
	expect_source("", "    # moved down a line\n", NULL);
	expect_source("    filters:\n      handle_status: unhandled\n", "",
	    "filters");
	expect_source("    filters:\n      handle_status: unhandled\n",
	    "    filters:\n      handle_status: handled\n", "filters");
	expect_source("    poll_interval: 1m\n    lookback: 5m\n",
	    "    poll_interval: 2m\n    lookback: 6m\n",
	    "poll_interval, lookback");
	expect_source("", "    sweep_range: 0s\n", "sweep_range");
	/* A rotated secret (same variable, new value). */
	{
		struct config	*a, *b;
		struct buf	 why;

		setenv("RELOAD_TEST_SK", "first-secret", 1);
		a = load_source("");
		setenv("RELOAD_TEST_SK", "other-secret", 1);
		b = load_source("");
		buf_init(&why);
		assert_int_equal(config_source_equal(&a->sources[0],
		    &b->sources[0], &why), 0);
		assert_string_equal(why.data, "credentials");
		buf_free(&why);
		config_free(a);
		config_free(b);
		setenv("RELOAD_TEST_SK", "SK-RELOAD", 1);
	}
}

static struct config *
load_tls(const char *ca)
{
	char		*text;
	struct config	*c;

	text = xasprintf("state_directory: %s\nsources:\n" SOURCE
	    "outputs:\n  - name: siem\n    format: rfc5424\n"
	    "    transport: tls\n    address: 127.0.0.1:6514\n"
	    "    tls:\n      ca_file: %s\n", dir, ca);
	c = load("t.yaml", text);
	free(text);
	return c;
}

static void
spew(const char *path, const char *text)
{
	FILE	*fp;

	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

static void
test_output_equal(void **state)
{
	struct config	*a, *b;
	struct buf	 why;
	char		*ca, *ca2;

	(void)state;
	ca = xasprintf("%s/ca.pem", dir);
	ca2 = xasprintf("%s/ca2.pem", dir);
	spew(ca, "first\n");
	spew(ca2, "other\n");
	buf_init(&why);

	a = load_tls(ca);
	b = load_tls(ca);
	assert_int_equal(config_output_equal(&a->outputs[0], &b->outputs[0],
	    &why), 1);
	assert_int_equal(why.len, 0);
	config_free(b);

	/* Renewed under the same name: a new file renamed over it. */
	spew(ca2, "renewed\n");
	assert_int_equal(rename(ca2, ca), 0);
	b = load_tls(ca);
	assert_int_equal(config_output_equal(&a->outputs[0], &b->outputs[0],
	    &why), 0);
	assert_string_equal(why.data, "tls files (renewed)");
	config_free(b);

	/* Another name: "tls" only. */
	spew(ca2, "other\n");
	buf_reset(&why);
	b = load_tls(ca2);
	assert_int_equal(config_output_equal(&a->outputs[0], &b->outputs[0],
	    &why), 0);
	assert_string_equal(why.data, "tls");
	config_free(b);
	config_free(a);

	buf_free(&why);
	free(ca);
	free(ca2);
}

static void
test_restart_needed(void **state)
{
	struct config	*a, *b;
	struct buf	 why;
	char		*text;

	(void)state;
	buf_init(&why);
	a = load_source("");
	b = load_source("");
	assert_int_equal(config_restart_needed(a, b, &why), 0);
	assert_int_equal(why.len, 0);
	config_free(b);
	text = xasprintf("state_directory: %s/other\nlog_level: debug\n"
	    "stats_interval: 1m\nheartbeat_interval: 1m\n"
	    "metrics_listen: 127.0.0.1:9877\nsources:\n" SOURCE
	    "outputs:\n  - name: o\n    format: json\n    transport: stdout\n",
	    dir);
	b = load("r.yaml", text);
	free(text);
	assert_int_equal(config_restart_needed(a, b, &why), 1);
	assert_string_equal(why.data, "state_directory");
	config_free(a);
	config_free(b);
	buf_free(&why);
}

static void
test_check_mode(void **state)
{
	struct config_diag	 d;
	struct config		*c;
	char			*want;

	(void)state;
	c = load_source("");
	memset(&d, 0, sizeof(d));
	assert_int_equal(config_check_mode(c, 1, &d), 0);
	assert_int_equal(d.nerrors, 0);
	assert_int_equal(config_check_mode(c, 0, &d), 1);
	assert_int_equal(d.nerrors, 1);
	want = xasprintf("%s/s.yaml:12: output `o`: transport stdout needs -f "
	    "or --once: in the background the daemon's standard output is "
	    "/dev/null and every event sent there would be lost; run it in "
	    "the foreground with -f (as the systemd unit does) or --once, or "
	    "send to the SIEM with transport tcp, tls, relp or udp", dir);
	assert_string_equal(d.errors[0], want);
	free(want);
	config_diag_free(&d);
	config_free(c);
}

/* outset_retire() */

struct set_fixture {
	struct event_base	*base;
	struct output_config	 cfg[3];
	int			 lfd;	/* output 0's listener */
	int			 cfd;
	int			 acked;
	int			 retired;
	int			 lost;
};

static void
local_output(struct output_config *cfg, const char *name, int *lfd)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	const char		*errstr;
	char			 addr[64];
	int			 fd;

	memset(cfg, 0, sizeof(*cfg));
	cfg->name = (char *)name;
	cfg->format = FORMAT_JSON;
	cfg->transport = TRANSPORT_TCP;
	cfg->framing = FRAMING_LF;
	cfg->max_message_size = 65536;
	cfg->queue_limit = 100;
	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", ntohs(sin.sin_port));
	assert_int_equal(parse_hostport(addr, &cfg->host, &cfg->port,
	    &errstr), 0);
	if (lfd != NULL) {
		assert_int_equal(listen(fd, 4), 0);
		*lfd = fd;
	} else
		close(fd);	/* nothing listens: the output is down */
}

static int
set_setup(void **state)
{
	struct set_fixture	*f;

	f = xcalloc(1, sizeof(*f));
	assert_non_null(f->base = event_base_new());
	f->cfd = -1;
	local_output(&f->cfg[0], "up", &f->lfd);
	local_output(&f->cfg[1], "down", NULL);
	local_output(&f->cfg[2], "new", NULL);
	*state = f;
	return 0;
}

static int
set_teardown(void **state)
{
	struct set_fixture	*f = *state;
	int			 i;

	if (f->cfd != -1)
		close(f->cfd);
	close(f->lfd);
	for (i = 0; i < 3; i++)
		free(f->cfg[i].host);
	event_base_free(f->base);
	free(f);
	return 0;
}

static void
run_for(struct set_fixture *f, int64_t ms, const int *flag)
{
	struct timeval	 tv = { 0, 10000 };
	int64_t		 end = time_mono_ms() + ms;

	while ((flag == NULL || !*flag) && time_mono_ms() < end) {
		event_base_loopexit(f->base, &tv);
		event_base_dispatch(f->base);
	}
}

static void
on_acked(void *arg)
{
	struct set_fixture	*f = arg;

	f->acked++;
}

static void
on_retired(struct output *o, int lost, void *arg)
{
	struct set_fixture	*f = arg;

	f->retired++;
	f->lost = lost;
}

/*
 * A ticket covers a gap message in "up" (acknowledged) and in "down"
 * (never connected: not acknowledged); then "down" is retired.
 */
static void
retire_down(struct set_fixture *f, int resend)
{
	struct format_gap	 gap;
	struct outset		*set;
	struct outset_ticket	*t;
	struct output		**outs;
	size_t			 n;

	assert_non_null(set = outset_new(f->base, f->cfg, 2));
	outset_set_retired_cb(set, on_retired, f);
	outset_start(set);
	memset(&gap, 0, sizeof(gap));
	gap.source = "s1";
	gap.region = gap.project_id = gap.category = "x";
	gap.begin = 1700000000000;
	gap.end = gap.begin + 1000;
	gap.reason = "test";
	t = outset_ticket_new(set);
	outset_enqueue_gap(set, &gap, t);
	outset_when_acked(set, t, on_acked, f);
	run_for(f, 300, NULL);
	assert_true((f->cfd = accept(f->lfd, NULL, NULL)) >= 0);
	run_for(f, 300, NULL);
	assert_int_equal(f->acked, 0);		/* "down" holds it */
	assert_int_equal(outset_acked(set, t), 0);

	/* A replacement for "down" takes messages from now on. */
	outset_retire(set, outset_find(set, "down", NULL), resend, 50);
	outset_add(set, output_new(f->base, &f->cfg[2]), &f->cfg[2]);
	outs = outset_outputs(set, &n);
	assert_int_equal(n, 2);
	assert_string_equal(output_name(outs[0]), "up");
	assert_string_equal(output_name(outs[1]), "new");
	(void)outset_retiring(set, &n);
	assert_int_equal(n, 1);
	run_for(f, 2000, &f->retired);
	assert_int_equal(f->retired, 1);
	(void)outset_retiring(set, &n);
	assert_int_equal(n, 0);
	assert_int_equal(f->lost, resend);
	run_for(f, 200, &f->acked);
	if (resend) {
		/* Never acknowledged: its source must read it again. */
		assert_int_equal(f->acked, 0);
		assert_int_equal(outset_acked(set, t), 0);
		assert_int_equal(outset_ticket_lost(set, t), 1);
		assert_int_equal(outset_holds(set, &f->cfg[1], 1), 1);
		outset_cancel(set, f);
	} else {
		/* Dropped: "up" acknowledged it, that is enough now. */
		assert_int_equal(f->acked, 1);
		assert_int_equal(outset_acked(set, t), 1);
		assert_int_equal(outset_ticket_lost(set, t), 0);
	}
	outset_ticket_free(t);
	run_for(f, 100, NULL);
	/* Nothing needs "down" any more: its slot is gone. */
	assert_int_equal(outset_holds(set, &f->cfg[1], 1), 0);
	assert_int_equal(outset_holds(set, &f->cfg[2], 1), 1);
	outset_free(set);
}

static void
test_retire_removed(void **state)
{
	retire_down(*state, 0);
}

static void
test_retire_replaced(void **state)
{
	retire_down(*state, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_source_equal),
		cmocka_unit_test(test_output_equal),
		cmocka_unit_test(test_restart_needed),
		cmocka_unit_test(test_check_mode),
		cmocka_unit_test_setup_teardown(test_retire_removed,
		    set_setup, set_teardown),
		cmocka_unit_test_setup_teardown(test_retire_replaced,
		    set_setup, set_teardown),
	};
	static const char *const files[] = { "s.yaml", "t.yaml", "r.yaml",
	    "ca.pem", "ca2.pem" };
	char	*path;
	size_t	 i;
	int	 rc;

	log_init(1, LOG_LEVEL_ERROR);
	setenv("RELOAD_TEST_AK", "AK-RELOAD", 1);
	setenv("RELOAD_TEST_SK", "SK-RELOAD", 1);
	unsetenv("CREDENTIALS_DIRECTORY");
	snprintf(dir, sizeof(dir), "/tmp/test_reload.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	for (i = 0; i < HSS_ARRAY_LEN(files); i++) {
		path = xasprintf("%s/%s", dir, files[i]);
		unlink(path);
		free(path);
	}
	rmdir(dir);
	return rc;
}
