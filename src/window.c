/*
 * The window planner (DESIGN.md section 5): which [begin, end] a source asks
 * the API for next, given the committed cursor end and the clock. Pure.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>

#include "util.h"
#include "window.h"

static int64_t
max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

static int64_t
min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/*
 * The overlap between windows: at least 1 ms (the boundary millisecond is
 * read twice, dedupe drops it), at most half a span so that a catch-up
 * window still moves the cursor on by about a day.
 */
static int64_t
effective_lookback(const struct window_params *p)
{
	return min64(max64(p->lookback_ms, 1), WINDOW_MAX_SPAN_MS / 2);
}

int64_t
window_initial_end(int64_t now, const struct window_params *p,
    int after_corruption)
{
	int64_t	 end;

	end = now - max64(p->backfill_ms, 0);
	if (after_corruption)
		end -= max64(p->lookback_ms, 0);
	return max64(end, 0);
}

int
window_next(int64_t cursor_end, int64_t now, const struct window_params *p,
    struct window *w, int64_t *wait_ms)
{
	int64_t	 lb, stop, base, begin, end;

	lb = effective_lookback(p);
	stop = now - max64(p->settle_ms, 0);
	*wait_ms = 0;
	if (stop < WINDOW_MIN_TIME_MS + WINDOW_MIN_LEN_MS) {
		/* The clock reads before 2001: it is wrong, wait for it. */
		*wait_ms = WINDOW_MIN_TIME_MS + WINDOW_MIN_LEN_MS - stop;
		return 1;
	}
	if (cursor_end <= 0) {
		/*
		 * First window: nothing committed to move on from, so read
		 * at least the lookback (or 1 s) before stop even when the
		 * backfill is shorter than the settle time.
		 */
		base = window_initial_end(now, p, 0);
		begin = min64(base - lb, stop - max64(lb, WINDOW_MIN_LEN_MS));
	} else if (stop >= cursor_end - lb + WINDOW_MIN_LEN_MS)
		begin = cursor_end - lb;
	else if (stop < cursor_end - lb) {
		/*
		 * The clock stepped back past the lookback: the windows
		 * committed since were planned from a clock that ran ahead,
		 * and events since the real time were never read. Rewind.
		 */
		begin = stop - max64(lb, WINDOW_MIN_LEN_MS);
	} else {
		/* The window would be shorter than WINDOW_MIN_LEN_MS. */
		*wait_ms = cursor_end - lb + WINDOW_MIN_LEN_MS - stop;
		return 1;
	}
	begin = max64(begin, WINDOW_MIN_TIME_MS);
	end = min64(begin + WINDOW_MAX_SPAN_MS, stop);
	w->begin = begin;
	w->end = end;
	w->catching_up = end < stop;
	return 0;
}

int
window_split(const struct window *w, int64_t k, int64_t i,
    struct window *part)
{
	int64_t	 len = w->end - w->begin;

	if (k < 2 || len < k + 1 || i < 0 || i >= k)
		return -1;
	part->begin = w->begin + len * i / k;
	part->end = i == k - 1 ? w->end : w->begin + len * (i + 1) / k + 1;
	part->catching_up = i == k - 1 ? w->catching_up : 1;
	return 0;
}

const char *
window_format(const struct window *w, char *buf, size_t len)
{
	char	 a[32], b[32];

	time_format_iso(w->begin, a, sizeof(a));
	time_format_iso(w->end, b, sizeof(b));
	snprintf(buf, len, "%s..%s", a, b);
	return buf;
}
