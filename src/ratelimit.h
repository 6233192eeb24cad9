/*
 * ratelimit.c: the API's per-credential limit (DESIGN.md section 6), one
 * limiter shared by every source using the credential. Pure: the caller
 * passes a monotonic clock in milliseconds.
 *
 * A bucket of calls_per_minute tokens (a full bucket at the start: that
 * many calls at once), each refilled 60 s after the call that spent it
 * completed. That is a sliding one-minute window: never more than
 * calls_per_minute calls in any 60 s as the server counts them. (A bucket
 * refilled continuously would allow up to 2N - 1 calls in one minute,
 * which a sliding-window gateway answers with 429.) Refill is measured
 * from the call's completion, which is after the server counted it, so
 * network latency never makes the window look shorter to the server.
 */
#ifndef HSS_RATELIMIT_H
#define HSS_RATELIMIT_H

#include <stdint.h>

#define RATELIMIT_WINDOW_MS	60000
/* Wait reported while every token belongs to a call still in flight. */
#define RATELIMIT_INFLIGHT_POLL_MS	1000

struct ratelimit;

struct ratelimit *ratelimit_new(int calls_per_minute, int64_t now_ms);
void		 ratelimit_free(struct ratelimit *);
/* Change the size (sources disagree: the caller passes the minimum). */
void		 ratelimit_set_rate(struct ratelimit *, int calls_per_minute,
		    int64_t now_ms);
int		 ratelimit_rate(const struct ratelimit *);
/*
 * Take one token for a call about to be sent: 0 when taken (then call
 * ratelimit_done() once the call has completed or was abandoned), else
 * the milliseconds to wait before trying again (> 0).
 */
int64_t		 ratelimit_take(struct ratelimit *, int64_t now_ms);
/*
 * The same for a call of low priority (a late sweep): a token is taken
 * only while more than keep tokens are free, so that keep stay for the
 * calls that must not wait. Else the milliseconds until that may be so.
 */
int64_t		 ratelimit_take_spare(struct ratelimit *, int64_t now_ms,
		    int keep);
/* A call that took a token completed now: its token refills in 60 s. */
void		 ratelimit_done(struct ratelimit *, int64_t now_ms);
/*
 * The API answered 429 (after ratelimit_done() for that call): empty the
 * bucket; no token before retry_after_ms from now (> 0), or, when none
 * was given (<= 0), before a full minute's refill.
 */
void		 ratelimit_throttled(struct ratelimit *, int64_t now_ms,
		    int64_t retry_after_ms);

#endif
