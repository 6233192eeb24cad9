/*
 * test_util: the growable buffer (buf_printf, buf_add_int, buf_add_uint,
 * buf_reserve): exact bytes, length and NUL termination at every size
 * around the buffer's room.
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

#include "util.h"

static void
check(const struct buf *b, const char *want)
{
	assert_int_equal(b->len, strlen(want));
	assert_memory_equal(b->data, want, b->len + 1);
	assert_true(b->cap > b->len);
}

/* Every length from 0 to 600 after every prefix length up to 300. */
static void
test_printf_sizes(void **state)
{
	struct buf	 b;
	char		*text, *want;
	size_t		 pre, n;

	text = xmalloc(601);
	memset(text, 'x', 600);
	text[600] = '\0';
	want = xmalloc(1000);
	for (pre = 0; pre <= 300; pre += 13) {
		for (n = 0; n <= 600; n++) {
			buf_init(&b);
			memset(want, 'p', pre);
			want[pre] = '\0';
			buf_add(&b, want, pre);
			buf_printf(&b, "%.*s", (int)n, text);
			memcpy(want + pre, text, n);
			want[pre + n] = '\0';
			check(&b, want);
			buf_free(&b);
		}
	}
	free(text);
	free(want);
}

static void
test_printf_appends(void **state)
{
	struct buf	 b;

	buf_init(&b);
	buf_printf(&b, "%s", "");
	check(&b, "");
	buf_printf(&b, "a=%d", 1);
	buf_printf(&b, " b=%s", "two");
	buf_printf(&b, " c=%lld", (long long)INT64_MIN);
	check(&b, "a=1 b=two c=-9223372036854775808");
	buf_reset(&b);
	check(&b, "");
	buf_printf(&b, "%300s|", "r");
	assert_int_equal(b.len, 301);
	assert_int_equal(b.data[299], 'r');
	assert_int_equal(b.data[300], '|');
	assert_int_equal(b.data[301], '\0');
	buf_free(&b);
}

static void
test_add_int(void **state)
{
	static const int64_t	 v[] = {
		0, 1, -1, 9, 10, -10, 99, 100, 1661593036627LL,
		-1661593036627LL, INT64_MAX, INT64_MIN, INT64_MIN + 1,
	};
	struct buf		 b;
	char			 want[64];
	size_t			 i;

	for (i = 0; i < HSS_ARRAY_LEN(v); i++) {
		buf_init(&b);
		buf_adds(&b, "n=");
		buf_add_int(&b, v[i]);
		snprintf(want, sizeof(want), "n=%lld", (long long)v[i]);
		check(&b, want);
		buf_free(&b);
	}
	buf_init(&b);
	buf_add_uint(&b, 0);
	buf_addc(&b, ' ');
	buf_add_uint(&b, UINT64_MAX);
	buf_addc(&b, ' ');
	buf_add_uint(&b, 4294967295U);
	check(&b, "0 18446744073709551615 4294967295");
	buf_free(&b);
}

/* Room for a known size is taken at once, at that size. */
static void
test_reserve(void **state)
{
	struct buf	 b;

	buf_init(&b);
	buf_reserve(&b, 4409000);
	assert_int_equal(b.cap, 4409001);
	assert_int_equal(b.len, 0);
	buf_add(&b, "abc", 3);
	check(&b, "abc");
	buf_free(&b);
	assert_null(b.data);
	buf_init(&b);
	buf_addc(&b, 'a');
	assert_true(b.cap >= 2);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_printf_sizes),
		cmocka_unit_test(test_printf_appends),
		cmocka_unit_test(test_add_int),
		cmocka_unit_test(test_reserve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
