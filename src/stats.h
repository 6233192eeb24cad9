/*
 * stats.c: the counters of every source and output as one log line per
 * source and output (every stats_interval, and on SIGUSR1), and, when
 * metrics_listen is set, Prometheus text at /metrics and a health check at
 * /healthz (evhttp on the same event loop). Counters survive a reload
 * for every source and output it keeps or restarts.
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

struct stats	*stats_new(struct event_base *, const struct config *);
/*
 * A reloaded config's stats_interval and metrics_listen; the listener and
 * its connections stay when metrics_listen did not change.
 */
void		 stats_configure(struct stats *, const struct config *);
/* The live objects counted (copied); call again whenever they change. */
void		 stats_set_sources(struct stats *, struct source *const *,
		    size_t);
/* Running outputs, then retired ones still flushing (same name: summed). */
void		 stats_set_outputs(struct stats *, struct output *const *,
		    size_t, struct output *const *, size_t);
/*
 * An object goes away (a reload restarts or removes it): keep its counters
 * for its successor of the same name. Call before freeing it and before
 * the stats_set_*() call that drops it.
 */
void		 stats_carry_source(struct stats *, const struct source *);
void		 stats_carry_output(struct stats *, const struct output *);
/* Forget what was carried for names conf no longer has. */
void		 stats_forget(struct stats *, const struct config *);
void		 stats_free(struct stats *);
void		 stats_log(const struct stats *);
/* Prometheus text exposition of every counter (used by /metrics, tests). */
void		 stats_prometheus(const struct stats *, struct buf *);

#endif
