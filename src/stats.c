/*
 * Counters: a periodic summary in the log and an optional metrics
 * endpoint. Reads the counters that sources and outputs keep; keeps none of
 * its own.
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

struct stats {
	struct event		 *timer;
	struct httpd		 *http;
	struct source		**sources;
	size_t			  nsources;
	struct output		**outputs;
	size_t			  noutputs;
	int64_t			  started;
};

void
stats_log(const struct stats *st)
{
	struct source_stats	 ss;
	struct output_stats	 os;
	int64_t			 now = time_now_ms();
	char			 lag[32];
	size_t			 i;

	if (st == NULL)
		return;
	for (i = 0; i < st->nsources; i++) {
		source_get_stats(st->sources[i], &ss);
		format_duration(source_lag(st->sources[i], now), lag,
		    sizeof(lag));
		log_info("stats: source \"%s\": received %" PRIu64
		    ", duplicates %" PRIu64 ", sent %" PRIu64 ", committed %"
		    PRIu64 ", invalid %" PRIu64 ", truncated %" PRIu64
		    ", api calls %" PRIu64 ", 429s %" PRIu64 ", errors %"
		    PRIu64 ", re-reads %" PRIu64 ", incomplete windows %"
		    PRIu64 ", windows %" PRIu64 ", gaps %" PRIu64 ", late %"
		    PRIu64 ", lag %s",
		    source_name(st->sources[i]), ss.received, ss.duplicates,
		    ss.sent, ss.committed, ss.invalid, ss.truncated,
		    ss.api_calls, ss.throttled, ss.errors, ss.rereads,
		    ss.incomplete, ss.windows, ss.gaps, ss.late, lag);
	}
	for (i = 0; i < st->noutputs; i++) {
		output_get_stats(st->outputs[i], &os);
		log_info("stats: output \"%s\": %s, queued %zu, enqueued %"
		    PRIu64 ", acknowledged %" PRIu64 ", truncated %" PRIu64
		    ", resent %" PRIu64 ", reconnects %" PRIu64
		    ", failed connects %" PRIu64 ", bytes %" PRIu64,
		    output_name(st->outputs[i]),
		    os.connected ? "connected" : "not connected", os.queue_depth,
		    os.enqueued, os.acked, os.truncated, os.resent,
		    os.reconnects, os.connect_failures, os.bytes_sent);
	}
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
	struct source_stats	 ss;
	struct output_stats	 os;
	int64_t			 now = time_now_ms();
	size_t			 i;

#define SOURCE_COUNTER(f, help)						\
	prom_metric(b, "source_" #f "_total", "counter", help);		\
	for (i = 0; i < st->nsources; i++) {				\
		source_get_stats(st->sources[i], &ss);			\
		buf_printf(b, "hss_forwarder_source_" #f "_total{source=\"%s\"} " \
		    "%" PRIu64 "\n", source_name(st->sources[i]), ss.f);	\
	}
	SOURCE_COUNTERS(SOURCE_COUNTER)
#undef SOURCE_COUNTER
	prom_metric(b, "source_lag_seconds", "gauge",
	    "now minus the end of the last committed window");
	for (i = 0; i < st->nsources; i++)
		buf_printf(b, "hss_forwarder_source_lag_seconds{source=\"%s\"} "
		    "%.3f\n", source_name(st->sources[i]),
		    (double)source_lag(st->sources[i], now) / 1000.0);
#define OUTPUT_COUNTER(f, help)						\
	prom_metric(b, "output_" #f "_total", "counter", help);		\
	for (i = 0; i < st->noutputs; i++) {				\
		output_get_stats(st->outputs[i], &os);			\
		buf_printf(b, "hss_forwarder_output_" #f "_total{output=\"%s\"} " \
		    "%" PRIu64 "\n", output_name(st->outputs[i]), os.f);	\
	}
	OUTPUT_COUNTERS(OUTPUT_COUNTER)
#undef OUTPUT_COUNTER
	prom_metric(b, "output_queue_depth", "gauge",
	    "messages not yet acknowledged");
	prom_metric(b, "output_connected", "gauge", "1 when connected");
	for (i = 0; i < st->noutputs; i++) {
		output_get_stats(st->outputs[i], &os);
		buf_printf(b, "hss_forwarder_output_queue_depth{output=\"%s\"} "
		    "%zu\n", output_name(st->outputs[i]), os.queue_depth);
		buf_printf(b, "hss_forwarder_output_connected{output=\"%s\"} "
		    "%d\n", output_name(st->outputs[i]), os.connected);
	}
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

struct stats *
stats_new(struct event_base *base, const struct config *conf,
    struct source **sources, size_t nsources, struct output **outputs,
    size_t noutputs)
{
	struct stats	*st;
	struct timeval	 tv;
	struct buf	 err;

	st = xcalloc(1, sizeof(*st));
	st->sources = sources;
	st->nsources = nsources;
	st->outputs = outputs;
	st->noutputs = noutputs;
	st->started = time_now_ms();
	if (conf->stats_interval_ms > 0) {
		st->timer = event_new(base, -1, EV_PERSIST, stats_timer, st);
		tv.tv_sec = (time_t)(conf->stats_interval_ms / 1000);
		tv.tv_usec = (suseconds_t)(conf->stats_interval_ms % 1000) * 1000;
		event_add(st->timer, &tv);
	}
	if (conf->metrics_listen != NULL) {
		buf_init(&err);
		if ((st->http = httpd_new(base, "metrics", conf->metrics_host,
		    conf->metrics_port, &err)) == NULL)
			log_warnx("metrics: cannot listen on %s: %s; the metrics "
			    "endpoint is off", conf->metrics_listen, err.data);
		else {
			httpd_route(st->http, "/metrics", http_metrics, st);
			httpd_route(st->http, "/healthz", http_healthz, st);
			log_info("metrics: listening on %s",
			    conf->metrics_listen);
		}
		buf_free(&err);
	}
	return st;
}

void
stats_free(struct stats *st)
{
	if (st == NULL)
		return;
	if (st->timer != NULL)
		event_free(st->timer);
	httpd_free(st->http);
	free(st);
}
