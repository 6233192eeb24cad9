/*
 * ratelimit.c with a fake clock: the burst, the refill 60 s after each
 * call completed, calls in flight, 429 emptying with and without
 * Retry-After, rate changes, and the sliding-window guarantee.
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ratelimit.h"

#define T0	1000000		/* any monotonic origin */

/* Take a token and complete the call at the same instant. */
static int64_t
call(struct ratelimit *r, int64_t now)
{
	int64_t	 w;

	if ((w = ratelimit_take(r, now)) == 0)
		ratelimit_done(r, now);
	return w;
}

/*
 * Calls at one instant until one has to wait: how many went through
 * (the tokens usable at now), and *wait, the wait the next one was told.
 */
static int
burst(struct ratelimit *r, int64_t now, int64_t *wait)
{
	int64_t	 w;
	int	 n = 0;

	while ((w = call(r, now)) == 0 && n < 1000)
		n++;
	*wait = w;
	return n;
}

/* A full bucket: calls_per_minute calls at once, then each token back
 * 60 s after its call. */
static void
test_burst_then_refill(void **state)
{
	struct ratelimit	*r = ratelimit_new(5, T0);
	int64_t			 w;
	int			 i;

	assert_int_equal(burst(r, T0, &w), 5);
	assert_int_equal(w, 60000);
	ratelimit_free(r);

	r = ratelimit_new(5, T0);
	for (i = 0; i < 5; i++)
		assert_int_equal(call(r, T0 + i * 1000), 0);
	assert_int_equal(call(r, T0 + 4000), 56000);
	assert_int_equal(call(r, T0 + 59999), 1);
	assert_int_equal(call(r, T0 + 60000), 0);
	/* The second token comes back 60 s after the second call. */
	assert_int_equal(call(r, T0 + 60000), 1000);
	assert_int_equal(call(r, T0 + 61000), 0);
	/* The third, fourth and fifth at 62, 63 and 64 s. */
	assert_int_equal(call(r, T0 + 61999), 1);
	assert_int_equal(call(r, T0 + 62000), 0);
	assert_int_equal(call(r, T0 + 62000), 1000);
	assert_int_equal(burst(r, T0 + 64000, &w), 2);
	assert_int_equal(w, 120000 - 64000);	/* the 60 s call's token */
	ratelimit_free(r);
	ratelimit_free(NULL);
}

/* Refill counts from completion: a slow call holds its token. */
static void
test_in_flight(void **state)
{
	struct ratelimit	*r = ratelimit_new(2, T0);
	int64_t			 w;

	assert_int_equal(ratelimit_take(r, T0), 0);
	assert_int_equal(ratelimit_take(r, T0), 0);
	/* Both in flight: poll, the wait is not known yet. */
	assert_int_equal(ratelimit_take(r, T0 + 100000),
	    RATELIMIT_INFLIGHT_POLL_MS);
	ratelimit_done(r, T0 + 5000);
	assert_int_equal(ratelimit_take(r, T0 + 5000), 60000);
	assert_int_equal(ratelimit_take(r, T0 + 65000), 0);
	ratelimit_done(r, T0 + 65000);
	/* done() without a call in flight is harmless. */
	ratelimit_done(r, T0 + 65000);
	ratelimit_done(r, T0 + 65000);
	assert_int_equal(burst(r, T0 + 125000, &w), 2);
	assert_int_equal(w, 60000);
	ratelimit_free(r);
}

/* Idle time never stores more than one minute's worth. */
static void
test_cap(void **state)
{
	struct ratelimit	*r = ratelimit_new(5, T0);
	int64_t			 w;
	int			 i;

	for (i = 0; i < 5; i++)
		assert_int_equal(call(r, T0), 0);
	assert_int_equal(burst(r, T0 + 3600000, &w), 5);
	assert_int_equal(w, 60000);
	assert_int_equal(burst(r, INT64_MAX / 2, &w), 5);
	assert_int_equal(w, 60000);
	ratelimit_free(r);
}

/* 429 without Retry-After: empty, and nothing for a full minute. */
static void
test_throttled_no_retry_after(void **state)
{
	struct ratelimit	*r = ratelimit_new(5, T0);
	int64_t			 w;

	assert_int_equal(call(r, T0), 0);
	assert_int_equal(call(r, T0 + 1000), 0);	/* answered 429 */
	ratelimit_throttled(r, T0 + 1000, 0);
	/* Empty: no token now, the next one a minute later. */
	assert_int_equal(call(r, T0 + 1000), 60000);
	assert_int_equal(call(r, T0 + 60999), 1);
	/* After the minute the bucket has refilled completely. */
	assert_int_equal(burst(r, T0 + 61000, &w), 5);
	assert_int_equal(w, 60000);
	ratelimit_free(r);
}

/* 429 with Retry-After: blocked exactly that long. */
static void
test_throttled_retry_after(void **state)
{
	struct ratelimit	*r = ratelimit_new(5, T0);
	int64_t			 w;

	assert_int_equal(call(r, T0), 0);	/* answered 429 */
	ratelimit_throttled(r, T0, 30000);
	assert_int_equal(call(r, T0), 30000);
	assert_int_equal(call(r, T0 + 29999), 1);
	/* Every token but the 429'd call's is usable again; that one
	 * 60 s after its call. */
	assert_int_equal(burst(r, T0 + 30000, &w), 4);
	assert_int_equal(w, 30000);
	/* A second 429 never shortens a longer block. */
	ratelimit_throttled(r, T0 + 70000, 20000);
	ratelimit_throttled(r, T0 + 71000, 1000);
	assert_int_equal(call(r, T0 + 72000), 18000);
	/* A call in flight during a 429 keeps its token until done. */
	assert_int_equal(ratelimit_take(r, T0 + 90000), 0);
	ratelimit_throttled(r, T0 + 90000, 5000);
	assert_int_equal(call(r, T0 + 94999), 1);
	/* The four others, not the one in flight: the next token is one
	 * of these four, a minute after their calls. */
	assert_int_equal(burst(r, T0 + 95000, &w), 4);
	assert_int_equal(w, 60000);
	ratelimit_done(r, T0 + 95000);
	/* Its token comes back 60 s after it completed, not before. */
	assert_int_equal(call(r, T0 + 154999), 1);
	assert_int_equal(burst(r, T0 + 155000, &w), 5);
	assert_int_equal(w, 60000);
	ratelimit_free(r);
}

/* Lowering the rate (sources disagree: the minimum wins) keeps the
 * busiest tokens. */
static void
test_set_rate(void **state)
{
	struct ratelimit	*r = ratelimit_new(30, T0);
	int64_t			 w;
	int			 i;

	assert_int_equal(ratelimit_rate(r), 30);
	for (i = 0; i < 3; i++)
		assert_int_equal(call(r, T0), 0);
	ratelimit_set_rate(r, 5, T0);
	assert_int_equal(ratelimit_rate(r), 5);
	/* The three used tokens are kept: two of five left. */
	assert_int_equal(burst(r, T0, &w), 2);
	assert_int_equal(w, 60000);
	/* Raising the rate adds a token usable at once. */
	ratelimit_set_rate(r, 6, T0);
	assert_int_equal(burst(r, T0, &w), 1);
	assert_int_equal(w, 60000);
	ratelimit_free(r);
	r = ratelimit_new(0, T0);	/* clamped to 1 */
	assert_int_equal(call(r, T0), 0);
	assert_int_equal(call(r, T0), 60000);
	ratelimit_free(r);
}

/* Greedy calls with random latencies: never more than the rate in any
 * 60 s window of completion times, and the full rate is used. */
static void
test_sliding_window(void **state)
{
	struct ratelimit	*r = ratelimit_new(5, T0);
	int64_t			 now = T0, w, done[200];
	int			 n = 0, i, j, in;
	uint32_t		 seed = 12345;

	while (now < T0 + 600000 && n < 200) {
		if ((w = ratelimit_take(r, now)) != 0) {
			now += w;
			continue;
		}
		seed = seed * 1103515245 + 12345;
		now += (seed >> 16) % 3000;	/* latency 0..3 s */
		ratelimit_done(r, now);
		done[n++] = now;
	}
	for (i = 0; i < n; i++) {
		in = 0;
		for (j = 0; j < n; j++)
			if (done[j] >= done[i] && done[j] < done[i] + 60000)
				in++;
		assert_true(in <= 5);
	}
	/* ten minutes: 5 a minute, give or take the latencies */
	assert_true(n >= 45 && n <= 50);
	ratelimit_free(r);
}

/* Low priority: a token only while another stays free. */
static void
test_spare(void **state)
{
	struct ratelimit	*r = ratelimit_new(3, 0);

	assert_int_equal(ratelimit_take_spare(r, 0, 1), 0);	/* 3 -> 2 */
	assert_int_equal(ratelimit_take_spare(r, 0, 1), 0);	/* 2 -> 1 */
	/* one free: kept; both others in flight: poll */
	assert_int_equal(ratelimit_take_spare(r, 0, 1),
	    RATELIMIT_INFLIGHT_POLL_MS);
	ratelimit_done(r, 100);		/* refills at 60100 */
	assert_int_equal(ratelimit_take_spare(r, 200, 1), 59900);
	assert_int_equal(ratelimit_take(r, 200), 0);	/* the live call */
	ratelimit_done(r, 300);
	ratelimit_done(r, 400);
	assert_int_equal(ratelimit_take_spare(r, 60100, 1), 200);
	assert_int_equal(ratelimit_take_spare(r, 60300, 1), 0);
	/* a rate of 1 keeps nothing back */
	ratelimit_free(r);
	r = ratelimit_new(1, 0);
	assert_int_equal(ratelimit_take_spare(r, 0, 1), 0);
	ratelimit_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_refill),
		cmocka_unit_test(test_in_flight),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_throttled_no_retry_after),
		cmocka_unit_test(test_throttled_retry_after),
		cmocka_unit_test(test_set_rate),
		cmocka_unit_test(test_sliding_window),
		cmocka_unit_test(test_spare),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
