/*
 * stats.c: the counters of every source and output as one log line per
 * source and output (every stats_interval, and on SIGUSR1), and, when
 * metrics_listen is set, Prometheus text at /metrics and a health check at
 * /healthz (evhttp on the same event loop).
 */
#ifndef HSS_STATS_H
#define HSS_STATS_H

#include <stddef.h>

#include "util.h"

struct event_base;
struct config;
struct output;
struct source;
struct stats;

struct stats	*stats_new(struct event_base *, const struct config *,
		    struct source **, size_t, struct output **, size_t);
void		 stats_free(struct stats *);
void		 stats_log(const struct stats *);
/* Prometheus text exposition of every counter (used by /metrics, tests). */
void		 stats_prometheus(const struct stats *, struct buf *);

#endif
