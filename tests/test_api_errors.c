/*
 * api.c: the outcome classification of DESIGN.md section 6, Retry-After
 * parsing and the backoff sequence (1 s doubling to 5 min, +-20%).
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api.h"
#include "util.h"

static const struct {
	long		 status;
	int		 failed;
	int		 token_auth;
	enum api_status	 want;
	enum api_action	 act;
} table[] = {
	{ 200, 0, 0, API_OK, API_ACTION_DONE },
	{ 200, 1, 0, API_NETWORK, API_ACTION_DONE },	/* truncated */
	{ 0, 1, 0, API_NETWORK, API_ACTION_DONE },	/* connect, TLS */
	{ 0, 1, 1, API_NETWORK, API_ACTION_DONE },
	{ 429, 0, 0, API_OTHER, API_ACTION_THROTTLED },	/* APIG.0308 */
	{ 429, 0, 1, API_OTHER, API_ACTION_THROTTLED },
	{ 401, 0, 1, API_AUTH, API_ACTION_RENEW_TOKEN }, /* APIG.0301/0307 */
	{ 401, 0, 0, API_AUTH, API_ACTION_DONE },	/* AK/SK refused */
	{ 403, 0, 0, API_AUTH, API_ACTION_DONE },
	{ 403, 0, 1, API_AUTH, API_ACTION_DONE },
	{ 400, 0, 0, API_BAD_REQUEST, API_ACTION_DONE },	/* HSS.0001 */
	{ 500, 0, 0, API_SERVER, API_ACTION_DONE },	/* HSS.0041 */
	{ 502, 0, 1, API_SERVER, API_ACTION_DONE },
	{ 503, 0, 0, API_SERVER, API_ACTION_DONE },
	{ 504, 0, 0, API_SERVER, API_ACTION_DONE },	/* APIGW.0201 */
	{ 599, 0, 0, API_SERVER, API_ACTION_DONE },
	{ 301, 0, 0, API_OTHER, API_ACTION_DONE },	/* not followed */
	{ 404, 0, 0, API_OTHER, API_ACTION_DONE },
	{ 201, 0, 0, API_OTHER, API_ACTION_DONE },
	{ 600, 0, 0, API_OTHER, API_ACTION_DONE },
};

static void
test_classify(void **state)
{
	enum api_action	 act;
	size_t		 i;

	for (i = 0; i < HSS_ARRAY_LEN(table); i++) {
		act = (enum api_action)-1;
		assert_int_equal(api_classify(table[i].status, table[i].failed,
		    table[i].token_auth, &act), table[i].want);
		assert_int_equal(act, table[i].act);
	}
	assert_string_equal(api_status_name(API_NETWORK), "network");
	assert_string_equal(api_status_name(API_BAD_REQUEST), "bad-request");
}

static void
test_retry_after(void **state)
{
	/* Sun, 06 Nov 1994 08:49:37 GMT = 784111777 */
	const int64_t	 now = 784111777000LL;

	assert_int_equal(api_retry_after_ms("12", now), 12000);
	assert_int_equal(api_retry_after_ms("0", now), 0);
	assert_int_equal(api_retry_after_ms("Sun, 06 Nov 1994 08:50:07 GMT",
	    now), 30000);
	assert_int_equal(api_retry_after_ms("Sun, 06 Nov 1994 08:49:00 GMT",
	    now), 0);	/* in the past */
	assert_int_equal(api_retry_after_ms("-3", now), -1);
	assert_int_equal(api_retry_after_ms("1.5", now), -1);
	assert_int_equal(api_retry_after_ms("soon", now), -1);
	assert_int_equal(api_retry_after_ms("", now), -1);
	assert_int_equal(api_retry_after_ms(NULL, now), -1);
}

/* random 20000 is zero jitter; 0 is -20%, 40000 is +20%. */
static void
test_backoff_sequence(void **state)
{
	const int64_t	 want[] = { 1000, 2000, 4000, 8000, 16000, 32000,
	    64000, 128000, 256000, 300000, 300000 };
	size_t		 i;

	for (i = 0; i < HSS_ARRAY_LEN(want); i++)
		assert_int_equal(api_backoff_ms((int)i, 20000), want[i]);
	assert_int_equal(api_backoff_ms(0, 0), 800);
	assert_int_equal(api_backoff_ms(0, 40000), 1200);
	assert_int_equal(api_backoff_ms(3, 40001), 6400);	/* wraps to 0 */
	assert_int_equal(api_backoff_ms(9, 0), 240000);
	assert_int_equal(api_backoff_ms(9, 40000), 300000);	/* capped */
	assert_int_equal(api_backoff_ms(-5, 20000), 1000);
	assert_int_equal(api_backoff_ms(1000, 20000), 300000);
	assert_int_equal(api_backoff_ms(63, 0), 240000);
}

/* Every attempt and random value stays within the bounds. */
static void
test_backoff_bounds(void **state)
{
	int		 a;
	uint32_t	 r;
	int64_t		 base, ms, lo, hi;

	for (a = 0; a < 40; a++) {
		base = a >= 9 ? 300000 : 1000LL << a;
		lo = base * 8 / 10;
		hi = base * 12 / 10 > 300000 ? 300000 : base * 12 / 10;
		for (r = 0; r < 4000000000U; r += 7919 * 997) {
			ms = api_backoff_ms(a, r);
			assert_true(ms >= lo);
			assert_true(ms <= hi);
		}
		assert_true(api_backoff_ms(a, UINT32_MAX) <= hi);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_backoff_sequence),
		cmocka_unit_test(test_backoff_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
