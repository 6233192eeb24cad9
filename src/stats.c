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

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "config.h"
#include "log.h"
#include "output.h"
#include "source.h"
#include "stats.h"
#include "util.h"

#define HEALTH_FAILURES	3	/* failures in a row that make /healthz 503 */

struct stats {
	struct event		 *timer;
	struct evhttp		 *http;
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

/* Only GET and HEAD; anything else gets 405 and an Allow header. */
static int
http_method_ok(struct evhttp_request *req)
{
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(req);

	if (cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD)
		return 1;
	/* evhttp_send_error() would drop the Allow header. */
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
	    "GET, HEAD");
	evhttp_send_reply(req, 405, "Method Not Allowed", NULL);
	return 0;
}

static void
http_metrics(struct evhttp_request *req, void *arg)
{
	struct stats	*st = arg;
	struct evbuffer	*out;
	struct buf	 b;

	if (!http_method_ok(req))
		return;
	buf_init(&b);
	stats_prometheus(st, &b);
	out = evbuffer_new();
	evbuffer_add(out, b.data, b.len);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; version=0.0.4");
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
	buf_free(&b);
}

/*
 * Health: 200 "ok", or 503 with one line per source whose API calls and
 * per output whose connection attempts have failed HEALTH_FAILURES times
 * in a row (a few seconds of backoff: a single reconnect does not flap),
 * and one per source whose last window had a gap (until one commits
 * without).
 */
static void
http_healthz(struct evhttp_request *req, void *arg)
{
	struct stats	*st = arg;
	struct evbuffer	*out;
	const char	*last;
	size_t		 i;
	int		 n, bad = 0;

	if (!http_method_ok(req))
		return;
	out = evbuffer_new();
	for (i = 0; i < st->nsources; i++) {
		n = source_failures(st->sources[i], &last);
		if (n < HEALTH_FAILURES)
			continue;
		bad = 1;
		evbuffer_add_printf(out, "source \"%s\": %d API calls failed "
		    "in a row, last: ", source_name(st->sources[i]), n);
		/* one line each: the error may quote the API's response */
		for (; last != NULL && *last != '\0'; last++)
			evbuffer_add(out, (unsigned char)*last < 0x20 ||
			    *last == 0x7f ? " " : last, 1);
		evbuffer_add(out, "\n", 1);
	}
	for (i = 0; i < st->nsources; i++) {
		if ((last = source_gap(st->sources[i])) == NULL)
			continue;
		bad = 1;
		evbuffer_add_printf(out, "gap: %s\n", last);
	}
	for (i = 0; i < st->noutputs; i++) {
		n = (int)output_failures(st->outputs[i]);
		if (n < HEALTH_FAILURES)
			continue;
		bad = 1;
		evbuffer_add_printf(out, "output \"%s\": %d connection "
		    "attempts failed in a row\n", output_name(st->outputs[i]),
		    n);
	}
	if (!bad)
		evbuffer_add_printf(out, "ok\n");
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain");
	evhttp_send_reply(req, bad ? 503 : 200, bad ? "Service Unavailable" :
	    "OK", out);
	evbuffer_free(out);
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
		st->http = evhttp_new(base);
		if (evhttp_bind_socket(st->http, conf->metrics_host,
		    (uint16_t)conf->metrics_port) != 0) {
			log_warn("metrics: cannot listen on %s; the metrics "
			    "endpoint is off", conf->metrics_listen);
			evhttp_free(st->http);
			st->http = NULL;
		} else {
			/* The handlers answer other methods with 405. */
			evhttp_set_allowed_methods(st->http, EVHTTP_REQ_GET |
			    EVHTTP_REQ_HEAD | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
			    EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
			    EVHTTP_REQ_PATCH);
			evhttp_set_cb(st->http, "/metrics", http_metrics, st);
			evhttp_set_cb(st->http, "/healthz", http_healthz, st);
			log_info("metrics: listening on %s",
			    conf->metrics_listen);
		}
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
	if (st->http != NULL)
		evhttp_free(st->http);
	free(st);
}
