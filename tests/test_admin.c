/*
 * Unit tests of the command-line tools' argument parsing (admin.c): the
 * TIME of --from/--to (ISO 8601 with a zone, "now", a duration back from
 * now) and the combinations admin_parse() accepts or refuses.
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "admin.h"
#include "util.h"

#define NOW	1796169600000LL		/* 2026-12-02T00:00:00Z */

struct time_case {
	const char	*in;
	int		 ok;
	int64_t		 want;
};

static const struct time_case time_cases[] = {
	{ "2026-11-30T10:00:00Z", 1, 1796032800000LL },
	{ "2026-11-30T10:00:00.000Z", 1, 1796032800000LL },	/* gaps */
	{ "2026-11-30T10:00:00.999Z", 1, 1796032800999LL },
	{ "2026-11-30T10:00:00.25Z", 1, 1796032800250LL },
	{ "2026-11-30T10:00:00.1234567Z", 1, 1796032800123LL },
	{ "2026-11-30t10:00:00z", 1, 1796032800000LL },
	{ "2026-11-30 10:00:00Z", 1, 1796032800000LL },
	{ "2026-11-30T10:00Z", 1, 1796032800000LL },
	{ "2026-11-30T11:00:00+01:00", 1, 1796032800000LL },
	{ "2026-11-30T11:00:00+0100", 1, 1796032800000LL },
	{ "2026-11-30T05:30:00-04:30", 1, 1796032800000LL },
	{ "2024-02-29T00:00:00Z", 1, 1709164800000LL },
	{ "now", 1, NOW },
	{ "2h", 1, NOW - 7200000LL },
	{ "90m", 1, NOW - 5400000LL },
	{ "0", 1, NOW },
	{ "2026-11-30T10:00:00", 0, 0 },	/* no zone */
	{ "2026-11-30", 0, 0 },
	{ "2026-02-30T10:00:00Z", 0, 0 },
	{ "2025-02-29T10:00:00Z", 0, 0 },
	{ "2026-13-01T10:00:00Z", 0, 0 },
	{ "2026-11-30T24:00:00Z", 0, 0 },
	{ "2026-11-30T10:60:00Z", 0, 0 },
	{ "2026-11-30T10:00:60Z", 0, 0 },
	{ "2026-11-30T10:00:00.Z", 0, 0 },
	{ "2026-11-30T10:00:00Zx", 0, 0 },
	{ "2026-11-30T10:00:00+25:00", 0, 0 },
	{ "2026-11-30T10:00:00+01", 0, 0 },
	{ "1999-01-01T00:00:00Z", 0, 0 },	/* before the API's times */
	{ "2h30m", 0, 0 },
	{ "2", 0, 0 },
	{ "-2h", 0, 0 },
	{ "", 0, 0 },
	{ "100000d", 0, 0 },			/* before 2001 */
};

static void
test_times(void **state)
{
	const char	*errstr;
	int64_t		 got;
	size_t		 i;
	int		 rc;

	for (i = 0; i < sizeof(time_cases) / sizeof(time_cases[0]); i++) {
		got = -1;
		rc = admin_parse_time(time_cases[i].in, NOW, &got, &errstr);
		if (time_cases[i].ok != (rc == 0))
			fail_msg("%s: rc %d (%s)", time_cases[i].in, rc,
			    rc == 0 ? "accepted" : errstr);
		if (rc == 0 && got != time_cases[i].want)
			fail_msg("%s: %lld, want %lld", time_cases[i].in,
			    (long long)got, (long long)time_cases[i].want);
		if (rc == -1)
			assert_non_null(errstr);
	}
}

static int
parse(struct admin_args *a, const char *want_err)
{
	struct buf	 err;
	int		 rc;

	buf_init(&err);
	rc = admin_parse(a, &err);
	if (want_err == NULL && rc != 0)
		fail_msg("refused: %s", err.data);
	if (want_err != NULL && (rc != -1 || err.data == NULL ||
	    strstr(err.data, want_err) == NULL))
		fail_msg("rc %d, error \"%s\", want \"%s\"", rc,
		    err.data != NULL ? err.data : "", want_err);
	buf_free(&err);
	return rc;
}

static void
test_args(void **state)
{
	struct admin_args	 a;

	memset(&a, 0, sizeof(a));
	a.mode = ADMIN_RESET;
	a.source = "s";
	parse(&a, "--reset SOURCE needs --since DURATION");
	a.since = "2h";
	parse(&a, NULL);
	assert_int_equal(a.since_ms, 7200000);
	a.since = "0";
	parse(&a, "out of range");
	a.since = "2 h";
	parse(&a, "--since 2 h: ");
	a.since = "2h";
	a.output = "x";
	parse(&a, "--from, --to and --output go with --replay");

	memset(&a, 0, sizeof(a));
	a.mode = ADMIN_REPLAY;
	a.source = "s";
	a.from = "3h";
	parse(&a, "needs --from TIME and --to TIME");
	a.to = "1h";
	parse(&a, NULL);
	assert_int_equal(a.to_ms - a.from_ms, 7200000);
	a.to = "4h";
	parse(&a, "--from 3h is not before --to 4h");
	a.from = "2099-01-01T00:00:00Z";
	a.to = "2099-01-02T00:00:00Z";
	parse(&a, "is not in the past");
	a.from = "yesterday";
	parse(&a, "--from yesterday: ");
	a.from = "3h";
	a.to = "now";
	a.since = "1h";
	parse(&a, "--since goes with --reset");

	memset(&a, 0, sizeof(a));
	a.mode = ADMIN_STATE;
	parse(&a, NULL);
	a.from = "1h";
	parse(&a, "go with --replay");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
