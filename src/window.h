/*
 * window.c: the window planner (DESIGN.md section 5). Pure: no clock, no
 * globals, no logging; times are UTC epoch milliseconds.
 *
 * Each window is [begin, end] with begin = previous end - lookback (at least
 * 1 ms of overlap, so the boundary millisecond is read again whether the API
 * treats begin_time/end_time as inclusive or exclusive), end = min(begin +
 * WINDOW_MAX_SPAN_MS, now - settle). A window ending before now - settle is
 * "catching up": the next one can be planned at once. A lookback longer
 * than half a span (about a day) is read as half a span, so that catching
 * up still moves on about a day per window.
 */
#ifndef HSS_WINDOW_H
#define HSS_WINDOW_H

#include <stddef.h>
#include <stdint.h>

/* The API refuses spans over 2 days. */
#define WINDOW_MAX_SPAN_MS	(2LL * 86400000 - 1000)
/* The API takes 13-digit milliseconds: a clock before this is wrong. */
#define WINDOW_MIN_TIME_MS	1000000000000LL	/* 2001-09-09T01:46:40Z */
/* The shortest window planned. */
#define WINDOW_MIN_LEN_MS	1000

struct window_params {
	int64_t	lookback_ms;
	int64_t	settle_ms;
	int64_t	backfill_ms;
};

struct window {
	int64_t	begin;
	int64_t	end;
	int	catching_up;	/* end < now - settle */
};

/*
 * Plan the next window. cursor_end is the end of the last committed window,
 * or 0 before the first (the first window begins at now - backfill -
 * lookback, or earlier so that it holds at least the lookback (1 s) before
 * now - settle). Returns 0 and fills *w, or 1 when there is nothing to fetch
 * yet (the window would be shorter than WINDOW_MIN_LEN_MS) with *wait_ms =
 * how long until there is (the caller should still re-plan at least every
 * poll interval: the clock may be stepped).
 *
 * Invariants: WINDOW_MIN_TIME_MS <= w->begin, w->begin + WINDOW_MIN_LEN_MS
 * <= w->end <= now - settle, w->end - w->begin <= WINDOW_MAX_SPAN_MS. Calls
 * are expected after a poll interval (or at once while catching up): a call
 * right after a commit plans a window that only reads the lookback again.
 *
 * The committed end can move back in two cases: the clock stepped back
 * within the lookback (the window ends at now - settle, before cursor_end;
 * events are re-read, dedupe drops them), or past the lookback (now -
 * settle < cursor_end - lookback): the windows committed since were planned
 * from a clock that ran ahead and the events since the real time were never
 * read, so the planner rewinds to [now - settle - lookback, now - settle].
 * Waiting for the clock to reach cursor_end instead would lose every event
 * of that gap. The caller may log w->end < cursor_end.
 */
int	window_next(int64_t cursor_end, int64_t now,
	    const struct window_params *, struct window *w, int64_t *wait_ms);

/*
 * Part i (0 .. k-1) of w cut in k parts of equal length, each but the last
 * one millisecond longer so that neighbours overlap and every millisecond
 * is in a part whatever the API's inclusivity; every part but the last is
 * catching up. Returns 0, or -1 when w is too short for k parts of at least
 * 2 ms (end - begin < k + 1) or k < 2. For k = 2: the halves
 * [begin, mid + 1] and [mid, end].
 */
int	window_split(const struct window *w, int64_t k, int64_t i,
	    struct window *part);

/* "2026-11-28T09:00:00.000Z..2026-11-28T10:00:00.000Z" into buf; returns
 * buf. */
#define WINDOW_STR_MAX	80
const char *window_format(const struct window *, char *buf, size_t len);

/*
 * The virtual "previous end" of the first window ever: now - backfill; after
 * a corrupt state file: now - lookback - backfill (pass it to window_next as
 * cursor_end).
 */
int64_t	window_initial_end(int64_t now, const struct window_params *,
	    int after_corruption);

#endif
