/*
 * Counters: a periodic summary in the log and an optional metrics
 * endpoint. Reads the counters that sources and outputs keep. A reload
 * replaces the objects of a changed source or output, so what a replaced
 * object counted is carried (by name) and added to its successor's: a
 * counter never goes back while its source or output stays in the config
 * (Prometheus would read a reset). Names a reload removes are forgotten.
 */
#include "autoconf.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "config.h"
#include "httpd.h"
#include "log.h"
#include "output.h"
#include "source.h"
#include "stats.h"
#include "util.h"

#define HEALTH_FAILURES	3	/* failures in a row that make /healthz 503 */

struct carried_source {
	char			*name;
	struct source_stats	 st;
};

struct carried_output {
	char			*name;
	struct output_stats	 st;
};

struct stats {
	struct event_base	 *base;
	struct event		 *timer;
	int64_t			  interval_ms;
	struct httpd		 *http;
	char			 *listen;	/* metrics_listen served */
	struct source		**sources;
	size_t			  nsources;
	struct output		**outputs;	/* running, retiring */
	size_t			  noutputs;
	struct carried_source	 *csrc;
	size_t			  ncsrc;
	struct carried_output	 *cout;
	size_t			  ncout;
	int64_t			  started;
};

/* One line per name: carried counters plus every live object's. */
struct source_row {
	const char		*name;
	struct source_stats	 st;
	int64_t			 lag;
};

struct output_row {
	const char		*name;
	struct output_stats	 st;
};

static void
add_source_stats(struct source_stats *to, const struct source_stats *from)
{
#define SOURCE_ADD(f, help)	to->f += from->f;
	SOURCE_COUNTERS(SOURCE_ADD)
#undef SOURCE_ADD
}

static void
add_output_stats(struct output_stats *to, const struct output_stats *from)
{
#define OUTPUT_ADD(f, help)	to->f += from->f;
	OUTPUT_COUNTERS(OUTPUT_ADD)
#undef OUTPUT_ADD
}

static struct carried_source *
find_csrc(const struct stats *st, const char *name)
{
	size_t	 i;

	for (i = 0; i < st->ncsrc; i++)
		if (strcmp(st->csrc[i].name, name) == 0)
			return &st->csrc[i];
	return NULL;
}

static struct carried_output *
find_cout(const struct stats *st, const char *name)
{
	size_t	 i;

	for (i = 0; i < st->ncout; i++)
		if (strcmp(st->cout[i].name, name) == 0)
			return &st->cout[i];
	return NULL;
}

/* rows: room for nsources; returns how many were filled. */
static size_t
source_rows(const struct stats *st, struct source_row *rows, int64_t now)
{
	struct carried_source	*c;
	struct source_stats	 ss;
	const char		*name;
	int64_t			 lag;
	size_t			 i, j, n = 0;

	for (i = 0; i < st->nsources; i++) {
		name = source_name(st->sources[i]);
		source_get_stats(st->sources[i], &ss);
		lag = source_lag(st->sources[i], now);
		for (j = 0; j < n; j++)
			if (strcmp(rows[j].name, name) == 0)
				break;
		if (j == n) {
			memset(&rows[n], 0, sizeof(rows[n]));
			rows[n].name = name;
			if ((c = find_csrc(st, name)) != NULL)
				add_source_stats(&rows[n].st, &c->st);
			n++;
		}
		add_source_stats(&rows[j].st, &ss);
		if (lag > rows[j].lag)
			rows[j].lag = lag;
	}
	return n;
}

/* The first object of a name is the running one: its connection counts. */
static size_t
output_rows(const struct stats *st, struct output_row *rows)
{
	struct carried_output	*c;
	struct output_stats	 os;
	const char		*name;
	size_t			 i, j, n = 0;

	for (i = 0; i < st->noutputs; i++) {
		name = output_name(st->outputs[i]);
		output_get_stats(st->outputs[i], &os);
		for (j = 0; j < n; j++)
			if (strcmp(rows[j].name, name) == 0)
				break;
		if (j == n) {
			memset(&rows[n], 0, sizeof(rows[n]));
			rows[n].name = name;
			rows[n].st.connected = os.connected;
			if ((c = find_cout(st, name)) != NULL)
				add_output_stats(&rows[n].st, &c->st);
			n++;
		}
		add_output_stats(&rows[j].st, &os);
		rows[j].st.queue_depth += os.queue_depth;
	}
	return n;
}

void
stats_log(const struct stats *st)
{
	struct source_row	*sr;
	struct output_row	*or;
	int64_t			 now = time_now_ms();
	char			 lag[32];
	size_t			 i, n;

	if (st == NULL)
		return;
	sr = xcalloc(st->nsources + 1, sizeof(*sr));
	n = source_rows(st, sr, now);
	for (i = 0; i < n; i++) {
		format_duration(sr[i].lag, lag, sizeof(lag));
		log_info("stats: source \"%s\": received %" PRIu64
		    ", duplicates %" PRIu64 ", sent %" PRIu64 ", committed %"
		    PRIu64 ", invalid %" PRIu64 ", truncated %" PRIu64
		    ", api calls %" PRIu64 ", 429s %" PRIu64 ", errors %"
		    PRIu64 ", re-reads %" PRIu64 ", incomplete windows %"
		    PRIu64 ", windows %" PRIu64 ", gaps %" PRIu64 ", late %"
		    PRIu64 ", lag %s",
		    sr[i].name, sr[i].st.received, sr[i].st.duplicates,
		    sr[i].st.sent, sr[i].st.committed, sr[i].st.invalid,
		    sr[i].st.truncated, sr[i].st.api_calls, sr[i].st.throttled,
		    sr[i].st.errors, sr[i].st.rereads, sr[i].st.incomplete,
		    sr[i].st.windows, sr[i].st.gaps, sr[i].st.late, lag);
	}
	free(sr);
	or = xcalloc(st->noutputs + 1, sizeof(*or));
	n = output_rows(st, or);
	for (i = 0; i < n; i++)
		log_info("stats: output \"%s\": %s, queued %zu, enqueued %"
		    PRIu64 ", acknowledged %" PRIu64 ", truncated %" PRIu64
		    ", resent %" PRIu64 ", reconnects %" PRIu64
		    ", failed connects %" PRIu64 ", bytes %" PRIu64,
		    or[i].name, or[i].st.connected ? "connected" :
		    "not connected", or[i].st.queue_depth, or[i].st.enqueued,
		    or[i].st.acked, or[i].st.truncated, or[i].st.resent,
		    or[i].st.reconnects, or[i].st.connect_failures,
		    or[i].st.bytes_sent);
	free(or);
}

static void
prom_metric(struct buf *b, const char *name, const char *type,
    const char *help)
{
	buf_printf(b, "# HELP hss_forwarder_%s %s\n", name, help);
	buf_printf(b, "# TYPE hss_forwarder_%s %s\n", name, type);
}

/* Label values here are config names: [A-Za-z0-9._-], nothing to escape. */
void
stats_prometheus(const struct stats *st, struct buf *b)
{
	struct source_row	*sr;
	struct output_row	*or;
	int64_t			 now = time_now_ms();
	size_t			 i, ns, no;

	sr = xcalloc(st->nsources + 1, sizeof(*sr));
	ns = source_rows(st, sr, now);
	or = xcalloc(st->noutputs + 1, sizeof(*or));
	no = output_rows(st, or);
#define SOURCE_COUNTER(f, help)						\
	prom_metric(b, "source_" #f "_total", "counter", help);		\
	for (i = 0; i < ns; i++)					\
		buf_printf(b, "hss_forwarder_source_" #f "_total{source=\"%s\"} " \
		    "%" PRIu64 "\n", sr[i].name, sr[i].st.f);
	SOURCE_COUNTERS(SOURCE_COUNTER)
#undef SOURCE_COUNTER
	prom_metric(b, "source_lag_seconds", "gauge",
	    "now minus the end of the last committed window");
	for (i = 0; i < ns; i++)
		buf_printf(b, "hss_forwarder_source_lag_seconds{source=\"%s\"} "
		    "%.3f\n", sr[i].name, (double)sr[i].lag / 1000.0);
#define OUTPUT_COUNTER(f, help)						\
	prom_metric(b, "output_" #f "_total", "counter", help);		\
	for (i = 0; i < no; i++)					\
		buf_printf(b, "hss_forwarder_output_" #f "_total{output=\"%s\"} " \
		    "%" PRIu64 "\n", or[i].name, or[i].st.f);
	OUTPUT_COUNTERS(OUTPUT_COUNTER)
#undef OUTPUT_COUNTER
	prom_metric(b, "output_queue_depth", "gauge",
	    "messages not yet acknowledged");
	prom_metric(b, "output_connected", "gauge", "1 when connected");
	for (i = 0; i < no; i++) {
		buf_printf(b, "hss_forwarder_output_queue_depth{output=\"%s\"} "
		    "%zu\n", or[i].name, or[i].st.queue_depth);
		buf_printf(b, "hss_forwarder_output_connected{output=\"%s\"} "
		    "%d\n", or[i].name, or[i].st.connected);
	}
	free(sr);
	free(or);
}

/* GET /metrics (httpd.c answers other methods with 405 and Allow). */
static int
http_metrics(void *arg, struct buf *out, const char **content_type)
{
	stats_prometheus(arg, out);
	*content_type = "text/plain; version=0.0.4";
	return 200;
}

/*
 * Health: 200 "ok", or 503 with one line per source whose API calls and
 * per output whose connection attempts have failed HEALTH_FAILURES times
 * in a row (a few seconds of backoff: a single reconnect does not flap),
 * and one per source whose last window had a gap (until one commits
 * without).
 */
static int
http_healthz(void *arg, struct buf *out, const char **content_type)
{
	struct stats	*st = arg;
	const char	*last;
	size_t		 i;
	int		 n, bad = 0;

	for (i = 0; i < st->nsources; i++) {
		n = source_failures(st->sources[i], &last);
		if (n < HEALTH_FAILURES)
			continue;
		bad = 1;
		buf_printf(out, "source \"%s\": %d API calls failed in a row, "
		    "last: ", source_name(st->sources[i]), n);
		/* one line each: the error may quote the API's response */
		for (; last != NULL && *last != '\0'; last++)
			buf_addc(out, (unsigned char)*last < 0x20 ||
			    *last == 0x7f ? ' ' : *last);
		buf_addc(out, '\n');
	}
	for (i = 0; i < st->nsources; i++) {
		if ((last = source_gap(st->sources[i])) == NULL)
			continue;
		bad = 1;
		buf_printf(out, "gap: %s\n", last);
	}
	for (i = 0; i < st->noutputs; i++) {
		n = (int)output_failures(st->outputs[i]);
		if (n < HEALTH_FAILURES)
			continue;
		bad = 1;
		buf_printf(out, "output \"%s\": %d connection attempts failed "
		    "in a row\n", output_name(st->outputs[i]), n);
	}
	if (!bad)
		buf_adds(out, "ok\n");
	*content_type = "text/plain";
	return bad ? 503 : 200;
}

static void
stats_timer(evutil_socket_t fd, short ev, void *arg)
{
	stats_log(arg);
}

/* Apply stats_interval and metrics_listen (a reload does it in place). */
void
stats_configure(struct stats *st, const struct config *conf)
{
	struct timeval	 tv;
	struct buf	 err;

	if (conf->stats_interval_ms != st->interval_ms) {
		st->interval_ms = conf->stats_interval_ms;
		evtimer_del(st->timer);
		if (st->interval_ms > 0) {
			tv.tv_sec = (time_t)(st->interval_ms / 1000);
			tv.tv_usec = (suseconds_t)(st->interval_ms % 1000) *
			    1000;
			event_add(st->timer, &tv);
		}
	}
	if (st->listen != NULL && conf->metrics_listen != NULL &&
	    strcmp(st->listen, conf->metrics_listen) == 0)
		return;	/* the listener and its connections stay */
	if (st->http != NULL) {
		httpd_free(st->http);
		st->http = NULL;
		log_info("metrics: no longer listening on %s", st->listen);
	}
	free(st->listen);
	st->listen = NULL;
	if (conf->metrics_listen == NULL)
		return;
	st->listen = xstrdup(conf->metrics_listen);
	buf_init(&err);
	if ((st->http = httpd_new(st->base, "metrics", conf->metrics_host,
	    conf->metrics_port, &err)) == NULL)
		log_warnx("metrics: cannot listen on %s: %s; the metrics "
		    "endpoint is off", conf->metrics_listen, err.data);
	else {
		httpd_route(st->http, "/metrics", http_metrics, st);
		httpd_route(st->http, "/healthz", http_healthz, st);
		log_info("metrics: listening on %s", conf->metrics_listen);
	}
	buf_free(&err);
}

struct stats *
stats_new(struct event_base *base, const struct config *conf)
{
	struct stats	*st;

	st = xcalloc(1, sizeof(*st));
	st->base = base;
	st->started = time_now_ms();
	if ((st->timer = event_new(base, -1, EV_PERSIST, stats_timer,
	    st)) == NULL)
		fatalx("stats: out of memory for events");
	stats_configure(st, conf);
	return st;
}

void
stats_set_sources(struct stats *st, struct source *const *sources, size_t n)
{
	free(st->sources);
	st->sources = xcalloc(n + 1, sizeof(*st->sources));
	if (n > 0)
		memcpy(st->sources, sources, n * sizeof(*sources));
	st->nsources = n;
}

void
stats_set_outputs(struct stats *st, struct output *const *running,
    size_t nrunning, struct output *const *retiring, size_t nretiring)
{
	free(st->outputs);
	st->outputs = xcalloc(nrunning + nretiring + 1, sizeof(*st->outputs));
	if (nrunning > 0)
		memcpy(st->outputs, running, nrunning * sizeof(*running));
	if (nretiring > 0)
		memcpy(st->outputs + nrunning, retiring,
		    nretiring * sizeof(*retiring));
	st->noutputs = nrunning + nretiring;
}

void
stats_carry_source(struct stats *st, const struct source *s)
{
	struct carried_source	*c;
	struct source_stats	 ss;

	if ((c = find_csrc(st, source_name(s))) == NULL) {
		st->csrc = xreallocarray(st->csrc, st->ncsrc + 1,
		    sizeof(*st->csrc));
		c = &st->csrc[st->ncsrc++];
		memset(c, 0, sizeof(*c));
		c->name = xstrdup(source_name(s));
	}
	source_get_stats(s, &ss);
	add_source_stats(&c->st, &ss);
}

void
stats_carry_output(struct stats *st, const struct output *o)
{
	struct carried_output	*c;
	struct output_stats	 os;

	if ((c = find_cout(st, output_name(o))) == NULL) {
		st->cout = xreallocarray(st->cout, st->ncout + 1,
		    sizeof(*st->cout));
		c = &st->cout[st->ncout++];
		memset(c, 0, sizeof(*c));
		c->name = xstrdup(output_name(o));
	}
	output_get_stats(o, &os);
	add_output_stats(&c->st, &os);
}

void
stats_forget(struct stats *st, const struct config *conf)
{
	size_t	 i, j, k;

	for (i = k = 0; i < st->ncsrc; i++) {
		for (j = 0; j < conf->nsources; j++)
			if (strcmp(conf->sources[j].name,
			    st->csrc[i].name) == 0)
				break;
		if (j < conf->nsources)
			st->csrc[k++] = st->csrc[i];
		else
			free(st->csrc[i].name);
	}
	st->ncsrc = k;
	for (i = k = 0; i < st->ncout; i++) {
		for (j = 0; j < conf->noutputs; j++)
			if (strcmp(conf->outputs[j].name,
			    st->cout[i].name) == 0)
				break;
		if (j < conf->noutputs)
			st->cout[k++] = st->cout[i];
		else
			free(st->cout[i].name);
	}
	st->ncout = k;
}

void
stats_free(struct stats *st)
{
	size_t	 i;

	if (st == NULL)
		return;
	event_free(st->timer);
	httpd_free(st->http);
	free(st->listen);
	free(st->sources);
	free(st->outputs);
	for (i = 0; i < st->ncsrc; i++)
		free(st->csrc[i].name);
	for (i = 0; i < st->ncout; i++)
		free(st->cout[i].name);
	free(st->csrc);
	free(st->cout);
	free(st);
}
