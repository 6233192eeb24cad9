/*
 * Unit tests of the window planner (window.c): planner tables, a 7-day
 * catch-up run, clock steps, bisection and randomized invariants.
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "window.h"

#define S	1000LL
#define M	(60 * S)
#define H	(60 * M)
#define D	(24 * H)
#define T	1700000000000LL		/* 2023-11-14T22:13:20Z */
#define SPAN	WINDOW_MAX_SPAN_MS

struct plan_case {
	const char		*what;
	int64_t			 cursor_end;
	int64_t			 now;
	struct window_params	 p;
	int			 ret;	/* 0: window, 1: wait */
	int64_t			 begin;	/* or wait_ms */
	int64_t			 end;
	int			 catching_up;
};

#define STD	{ 10 * M, 30 * S, 24 * H }

static const struct plan_case plan_cases[] = {
	{ "first start", 0, T, STD,
	    0, T - 24 * H - 10 * M, T - 30 * S, 0 },
	{ "first start, 7 days of backfill", 0, T, { 10 * M, 30 * S, 7 * D },
	    0, T - 7 * D - 10 * M, T - 7 * D - 10 * M + SPAN, 1 },
	{ "first start, no backfill: the lookback before stop", 0, T,
	    { 10 * M, 30 * S, 0 }, 0, T - 30 * S - 10 * M, T - 30 * S, 0 },
	{ "first start, nothing configured: 1 s before now", 0, T,
	    { 0, 0, 0 }, 0, T - S, T, 0 },
	{ "first start, settle longer than backfill and lookback", 0, T,
	    { 1 * M, 5 * M, 2 * M }, 0, T - 6 * M, T - 5 * M, 0 },
	{ "steady state, one poll interval later", T - 90 * S, T, STD,
	    0, T - 90 * S - 10 * M, T - 30 * S, 0 },
	{ "exactly 1 s of new data", T - 31 * S, T, STD,
	    0, T - 31 * S - 10 * M, T - 30 * S, 0 },
	{ "less than 1 s of new data: the lookback again",
	    T - 30 * S - 500, T, STD, 0, T - 30 * S - 500 - 10 * M,
	    T - 30 * S, 0 },
	{ "just committed (stop == end): the lookback again", T - 30 * S, T,
	    STD, 0, T - 30 * S - 10 * M, T - 30 * S, 0 },
	{ "clock stepped back 30 s (within lookback): end moves back", T, T,
	    STD, 0, T - 10 * M, T - 30 * S, 0 },
	{ "clock stepped back to end - lookback + 999 ms: wait",
	    T - 30 * S + 10 * M - 999, T, STD, 1, 1, 0, 0 },
	{ "clock stepped back exactly to end - lookback: wait 1 s",
	    T - 30 * S + 10 * M, T, STD, 1, S, 0, 0 },
	{ "clock stepped back 1 h (past lookback): rewind to the clock",
	    T + H, T, STD, 0, T - 30 * S - 10 * M, T - 30 * S, 0 },
	{ "clock stepped back 1 ms past lookback: rewind",
	    T - 30 * S + 10 * M + 1, T, STD,
	    0, T - 30 * S - 10 * M, T - 30 * S, 0 },
	{ "clock stepped forward 7 days: catch up in 2-day windows",
	    T - 7 * D, T, STD, 0, T - 7 * D - 10 * M,
	    T - 7 * D - 10 * M + SPAN, 1 },
	{ "clock stepped forward 40 days: no clamp to the retention",
	    T - 40 * D, T, STD, 0, T - 40 * D - 10 * M,
	    T - 40 * D - 10 * M + SPAN, 1 },
	{ "gap of exactly one span after lookback: not catching up",
	    T - 30 * S - SPAN + 10 * M, T, STD,
	    0, T - 30 * S - SPAN, T - 30 * S, 0 },
	{ "lookback larger than the gap", T - 40 * S, T,
	    { 1 * H, 30 * S, 24 * H }, 0, T - 40 * S - H, T - 30 * S, 0 },
	{ "settle longer than the poll interval, 1 min later", T - 5 * M,
	    T + M, { 10 * M, 5 * M, 24 * H },
	    0, T - 15 * M, T - 4 * M, 0 },
	{ "settle longer than the poll interval, right after commit",
	    T - 5 * M, T, { 10 * M, 5 * M, 24 * H },
	    0, T - 15 * M, T - 5 * M, 0 },
	{ "zero lookback: windows overlap by 1 ms", T - 90 * S, T,
	    { 0, 30 * S, 24 * H }, 0, T - 90 * S - 1, T - 30 * S, 0 },
	{ "zero lookback, clock stepped back: rewind 1 s", T, T,
	    { 0, 30 * S, 24 * H }, 0, T - 31 * S, T - 30 * S, 0 },
	{ "zero lookback, zero settle, 1 s later", T - S, T, { 0, 0, 0 },
	    0, T - S - 1, T, 0 },
	{ "zero lookback, just committed: wait", T - 30 * S, T,
	    { 0, 30 * S, 24 * H }, 1, S - 1, 0, 0 },
	{ "zero lookback, 0.5 s later: wait", T - 30 * S - 500, T,
	    { 0, 30 * S, 24 * H }, 1, 499, 0, 0 },
	{ "virtual end now - backfill with backfill 0 (no livelock)", T, T,
	    { 10 * M, 30 * S, 0 }, 0, T - 10 * M, T - 30 * S, 0 },
	{ "lookback of 3 days capped to half a span", T - 3 * D, T,
	    { 3 * D, 30 * S, 24 * H }, 0, T - 3 * D - SPAN / 2,
	    T - 3 * D - SPAN / 2 + SPAN, 1 },
	{ "lookback of 3 days, steady state", T - H, T,
	    { 3 * D, 30 * S, 24 * H }, 0, T - H - SPAN / 2, T - 30 * S, 0 },
	{ "negative settle and backfill read as 0", 0, T,
	    { 10 * M, -5, -5 }, 0, T - 10 * M, T, 0 },
	{ "clock in 1970: wait for it", T, 5000, STD,
	    1, WINDOW_MIN_TIME_MS + S - (5000 - 30 * S), 0, 0 },
	{ "clock in 1970 on first start", 0, 5000, STD,
	    1, WINDOW_MIN_TIME_MS + S - (5000 - 30 * S), 0, 0 },
	{ "begin clamped to 2001", 0, WINDOW_MIN_TIME_MS + 2 * S,
	    { 10 * M, 0, 24 * H }, 0, WINDOW_MIN_TIME_MS,
	    WINDOW_MIN_TIME_MS + 2 * S, 0 },
};

static void
test_plan_table(void **state)
{
	const struct plan_case	*c;
	struct window		 w;
	int64_t			 wait;
	size_t			 i;
	int			 r;

	(void)state;
	for (i = 0; i < sizeof(plan_cases) / sizeof(plan_cases[0]); i++) {
		c = &plan_cases[i];
		w.begin = w.end = -1;
		w.catching_up = -1;
		wait = -1;
		r = window_next(c->cursor_end, c->now, &c->p, &w, &wait);
		if (r != c->ret)
			fail_msg("%s: returned %d", c->what, r);
		if (r == 1) {
			if (wait != c->begin)
				fail_msg("%s: wait %lld, expected %lld",
				    c->what, (long long)wait,
				    (long long)c->begin);
			continue;
		}
		if (w.begin != c->begin || w.end != c->end ||
		    w.catching_up != c->catching_up)
			fail_msg("%s: [%lld, %lld] %d, expected [%lld, %lld] "
			    "%d", c->what, (long long)(w.begin - T),
			    (long long)(w.end - T), w.catching_up,
			    (long long)(c->begin - T),
			    (long long)(c->end - T), c->catching_up);
		assert_int_equal(wait, 0);
	}
}

static void
test_initial_end(void **state)
{
	struct window_params	 p = STD;
	struct window		 w;
	int64_t			 end, wait;

	(void)state;
	assert_int_equal(window_initial_end(T, &p, 0), T - 24 * H);
	end = window_initial_end(T, &p, 1);
	assert_int_equal(end, T - 24 * H - 10 * M);
	/* After corruption the virtual end goes to window_next as is. */
	assert_int_equal(window_next(end, T, &p, &w, &wait), 0);
	assert_int_equal(w.begin, T - 24 * H - 20 * M);
	assert_int_equal(w.end, T - 30 * S);
	assert_int_equal(w.catching_up, 0);
	p.backfill_ms = 40 * D;
	assert_int_equal(window_initial_end(10 * D, &p, 0), 0);
}

/* Check the invariants every planned window must hold. */
static void
check_invariants(int64_t cursor_end, int64_t now,
    const struct window_params *p, const struct window *w)
{
	int64_t	 stop = now - (p->settle_ms > 0 ? p->settle_ms : 0);

	assert_true(w->begin >= WINDOW_MIN_TIME_MS);
	assert_true(w->begin < w->end);
	assert_true(w->end - w->begin <= SPAN);
	assert_true(w->end <= stop);
	assert_int_equal(w->catching_up, w->end < stop);
	assert_true(w->end - w->begin >= WINDOW_MIN_LEN_MS);
	if (cursor_end > 0 && w->end > cursor_end) {
		/* Moving on: contiguous, with overlap. */
		assert_true(w->begin < cursor_end);
		assert_true(w->begin == WINDOW_MIN_TIME_MS ||
		    w->begin == cursor_end - (p->lookback_ms < 1 ? 1 :
		    p->lookback_ms > SPAN / 2 ? SPAN / 2 : p->lookback_ms));
	}
}

/* From a 7-day backfill, at 12 s per window (5 calls a minute). */
static void
test_catch_up_7_days(void **state)
{
	struct window_params	 p = { 10 * M, 30 * S, 7 * D };
	struct window		 w;
	int64_t			 end = 0, now = T, wait;
	int			 n;

	(void)state;
	for (n = 0; n < 100; n++) {
		assert_int_equal(window_next(end, now, &p, &w, &wait), 0);
		check_invariants(end, now, &p, &w);
		if (end == 0)
			assert_int_equal(w.begin, T - 7 * D - 10 * M);
		else
			assert_int_equal(w.begin, end - 10 * M);
		end = w.end;
		now += 12 * S;
		if (!w.catching_up)
			break;
		assert_int_equal(w.end - w.begin, SPAN);
	}
	/* 7 days + 10 min in 2-day windows: 4 windows. */
	assert_int_equal(n, 3);
	assert_int_equal(end, now - 12 * S - 30 * S);
	/* Steady state, one poll interval later. */
	assert_int_equal(window_next(end, now + 48 * S, &p, &w, &wait), 0);
	assert_int_equal(w.begin, end - 10 * M);
	assert_int_equal(w.end, now + 48 * S - 30 * S);
	assert_int_equal(w.catching_up, 0);
}

/* Clock ahead by an hour for a while, then corrected. */
static void
test_clock_back_and_forth(void **state)
{
	struct window_params	 p = STD;
	struct window		 w;
	int64_t			 end = T - 30 * S, now, wait;

	(void)state;
	now = T + H;		/* stepped forward */
	assert_int_equal(window_next(end, now, &p, &w, &wait), 0);
	assert_int_equal(w.begin, T - 30 * S - 10 * M);
	assert_int_equal(w.end, T + H - 30 * S);
	end = w.end;
	now = T + 60 * S;	/* corrected: back past the lookback */
	assert_int_equal(window_next(end, now, &p, &w, &wait), 0);
	assert_int_equal(w.begin, T + 30 * S - 10 * M);
	assert_int_equal(w.end, T + 30 * S);
	assert_true(w.end < end);
	end = w.end;
	now += 60 * S;		/* then on as usual */
	assert_int_equal(window_next(end, now, &p, &w, &wait), 0);
	assert_int_equal(w.begin, T + 30 * S - 10 * M);
	assert_int_equal(w.end, T + 90 * S);
}

/* Halves by the one splitter (what source.c does with k = 2). */
static int
window_bisect(const struct window *w, struct window *first,
    struct window *second)
{
	if (window_split(w, 2, 0, first) == -1 ||
	    window_split(w, 2, 1, second) == -1)
		return -1;
	return 0;
}

static void
test_bisect(void **state)
{
	struct window	 w = { T, T + 10, 0 }, a, b;

	(void)state;
	assert_int_equal(window_bisect(&w, &a, &b), 0);
	assert_int_equal(a.begin, T);
	assert_int_equal(a.end, T + 6);
	assert_int_equal(a.catching_up, 1);
	assert_int_equal(b.begin, T + 5);
	assert_int_equal(b.end, T + 10);
	assert_int_equal(b.catching_up, 0);
	w.catching_up = 1;
	assert_int_equal(window_bisect(&w, &a, &b), 0);
	assert_int_equal(b.catching_up, 1);
	w.end = T + 3;
	assert_int_equal(window_bisect(&w, &a, &b), 0);
	assert_int_equal(a.begin, T);
	assert_int_equal(a.end, T + 2);
	assert_int_equal(b.begin, T + 1);
	assert_int_equal(b.end, T + 3);
	w.end = T + 2;
	assert_int_equal(window_bisect(&w, &a, &b), -1);
	w.end = T + 1;
	assert_int_equal(window_bisect(&w, &a, &b), -1);
}

/* Three parts: neighbours overlap by 1 ms, only the last keeps the flag. */
static void
test_split_three(void **state)
{
	struct window	 w = { T, T + 9, 0 }, p;

	(void)state;
	assert_int_equal(window_split(&w, 3, 0, &p), 0);
	assert_int_equal(p.begin, T);
	assert_int_equal(p.end, T + 4);
	assert_int_equal(p.catching_up, 1);
	assert_int_equal(window_split(&w, 3, 1, &p), 0);
	assert_int_equal(p.begin, T + 3);
	assert_int_equal(p.end, T + 7);
	assert_int_equal(window_split(&w, 3, 2, &p), 0);
	assert_int_equal(p.begin, T + 6);
	assert_int_equal(p.end, T + 9);
	assert_int_equal(p.catching_up, 0);
	assert_int_equal(window_split(&w, 3, 3, &p), -1);
	assert_int_equal(window_split(&w, 1, 0, &p), -1);
	w.end = T + 3;
	assert_int_equal(window_split(&w, 3, 0, &p), -1);
}

/* Bisect a full span down to the end: halves shrink, cover, overlap. */
static void
test_bisect_all_the_way(void **state)
{
	struct window	 w = { T, T + SPAN, 0 }, a, b;
	int		 depth;

	(void)state;
	for (depth = 0; depth < 64; depth++) {
		if (window_bisect(&w, &a, &b) == -1)
			break;
		assert_true(a.begin == w.begin && b.end == w.end);
		assert_true(a.end - a.begin < w.end - w.begin);
		assert_true(b.end - b.begin < w.end - w.begin);
		assert_true(a.begin < a.end && b.begin < b.end);
		assert_true(b.begin < a.end);	/* overlap */
		w = depth % 2 ? a : b;
	}
	assert_true(depth > 20 && depth < 64);
	assert_true(w.end - w.begin < 3);
}

/* Deterministic pseudo-random inputs: the invariants always hold. */
static void
test_random_invariants(void **state)
{
	struct window_params	 p;
	struct window		 w;
	uint64_t		 x = 88172645463325252ULL;
	int64_t			 end, now, wait;
	int			 i, r;

	(void)state;
#define RND(n) (x ^= x << 13, x ^= x >> 7, x ^= x << 17, \
	(int64_t)(x % (uint64_t)(n)))
	for (i = 0; i < 200000; i++) {
		p.lookback_ms = RND(4) == 0 ? 0 : RND(3 * D);
		p.settle_ms = RND(4) == 0 ? 0 : RND(H);
		p.backfill_ms = RND(30 * D);
		now = T + RND(60 * D) - 30 * D;
		end = RND(5) == 0 ? 0 : now + RND(80 * D) - 60 * D;
		r = window_next(end, now, &p, &w, &wait);
		if (r == 1) {
			assert_true(wait >= 1);
			/* Waiting that long gives a window. */
			now += wait;
			assert_int_equal(window_next(end, now, &p, &w, &wait),
			    0);
			check_invariants(end, now, &p, &w);
			continue;
		}
		assert_int_equal(r, 0);
		check_invariants(end, now, &p, &w);
	}
#undef RND
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan_table),
		cmocka_unit_test(test_initial_end),
		cmocka_unit_test(test_catch_up_7_days),
		cmocka_unit_test(test_clock_back_and_forth),
		cmocka_unit_test(test_bisect),
		cmocka_unit_test(test_split_three),
		cmocka_unit_test(test_bisect_all_the_way),
		cmocka_unit_test(test_random_invariants),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
