/*
 * source.c: the per-source state machine (DESIGN.md section 5): plan a
 * window, fetch its pages through the rate limiter, check completeness,
 * hand new events to every output, wait for their acknowledgement, commit
 * the cursor, plan the next window.
 */
#ifndef HSS_SOURCE_H
#define HSS_SOURCE_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct api;
struct cursor;
struct outset;
struct outset_ticket;
struct source;
struct source_config;

/* What every source shares: the loop, the API client and the outputs. */
struct source_env {
	struct event_base	 *base;
	struct api		 *api;
	struct outset		 *outputs;
	int			  once;		/* --once: stop when caught up */
	/* Called once when a source stops (--once done, stopped, failed). */
	void			(*done)(struct source *, int failed, void *);
	void			 *done_arg;
};

/*
 * The counters of a source, one X(field, help) each: the struct and the
 * metrics (stats.c) are generated from this list.
 */
#define SOURCE_COUNTERS(X)						\
	X(received, "valid events received from the API (live windows)") \
	X(duplicates, "events dropped as already delivered (live windows)") \
	X(sent, "events handed to the outputs")			\
	X(committed, "events acknowledged by every output and committed") \
	X(invalid, "events rejected as malformed")			\
	X(truncated, "messages cut to max_message_size")		\
	X(api_calls, "HTTP calls to the API")				\
	X(throttled, "HTTP 429 answers")				\
	X(errors, "failed API requests")				\
	X(rereads, "windows read again for completeness")		\
	X(incomplete, "windows left incomplete after re-reads")	\
	X(windows, "windows committed")					\
	X(gaps, "ranges that could not be read (gap messages sent)")	\
	X(late, "events delivered by the late sweep")			\
	X(sweeps, "late sweeps completed")

struct source_stats {
#define SOURCE_COUNTER_FIELD(f, help)	uint64_t f;
	SOURCE_COUNTERS(SOURCE_COUNTER_FIELD)
#undef SOURCE_COUNTER_FIELD
	int64_t		end;		/* cursor end */
};

/*
 * The source takes ownership of the cursor. recovered: the state file was
 * corrupt and moved aside, so the first window starts at
 * now - lookback - backfill.
 */
struct source	*source_new(const struct source_env *,
		    const struct source_config *, struct cursor *,
		    int recovered);
/*
 * --replay: a source that re-sends [from, to] (epoch ms, both inclusive,
 * to - from at least 1) to env's outputs once, without a cursor (it never
 * reads nor writes the state file); the ids it delivers are deduplicated
 * within the replay only. source_start() begins it; done is called once
 * the range was read and every output acknowledged every message (failed
 * 0), or when it gave up or was stopped (failed 1, source_failure() says
 * why). source_get_stats(): sent (delivered), received, duplicates,
 * api_calls, and what was not delivered: gaps, invalid. env->once is not
 * used. main.c refuses a replay while a daemon holds the state directory.
 */
struct source	*source_new_replay(const struct source_env *,
		    const struct source_config *, int64_t from, int64_t to);
void		 source_free(struct source *);
const char	*source_name(const struct source *);
void		 source_start(struct source *);
/* The outputs' congestion cleared: fetch again if the source was paused. */
void		 source_resume(struct source *);
/*
 * Stop: cancel the in-flight request (the cursor has not moved, so nothing
 * is lost), wait for the outputs to acknowledge what was handed to them
 * (bounded by the outputs' own shutdown), save the delivered ids, then call
 * done.
 */
void		 source_stop(struct source *);
void		 source_get_stats(const struct source *, struct source_stats *);
/* Cursor lag in ms (now - end); 0 before the first window. */
int64_t		 source_lag(const struct source *, int64_t now);
/*
 * The last gap of this source as one line (what, when, why, how to read it
 * again), until the next window committed without one; else NULL.
 */
const char	*source_gap(const struct source *);
/* Why a source failed (--once), or NULL. */
const char	*source_failure(const struct source *);
/* API calls that failed in a row (0 after a success) and the last error. */
int		 source_failures(const struct source *, const char **last);
/*
 * What this source handed the outputs and has not committed (a reload asks
 * outset_ticket_lost() whether a replaced output left some of it unsent).
 */
const struct outset_ticket *source_ticket(const struct source *);

#endif
