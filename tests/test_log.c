/*
 * Unit tests of log.c's escaping: what a log line holds, byte for byte,
 * when a message quotes terminal escapes, line breaks, C1 controls,
 * invalid UTF-8 or valid UTF-8. The lines are captured by pointing stderr
 * at a temporary file for the duration of one call.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"

static int	saved_stderr = -1;
static int	capture_fd = -1;
static char	captured[65536];

static void
capture_begin(void)
{
	char	 path[] = "/tmp/test_log.XXXXXX";

	capture_fd = mkstemp(path);
	assert_true(capture_fd != -1);
	unlink(path);
	fflush(stderr);
	saved_stderr = dup(2);
	assert_true(saved_stderr != -1);
	assert_int_equal(dup2(capture_fd, 2), 2);
}

/* Restores stderr and returns what was written to it. */
static const char *
capture_end(void)
{
	ssize_t	 n;

	fflush(stderr);
	assert_int_equal(dup2(saved_stderr, 2), 2);
	close(saved_stderr);
	n = pread(capture_fd, captured, sizeof(captured) - 1, 0);
	close(capture_fd);
	assert_true(n >= 0);
	captured[n] = '\0';
	return captured;
}

/* The journal format: "<N>message\n", nothing else on the line. */
static int
setup_journal(void **state)
{
	setenv("JOURNAL_STREAM", "8:1234", 1);
	log_init(1, LOG_LEVEL_DEBUG);
	return 0;
}

static void
expect_line(const char *arg, const char *want)
{
	capture_begin();
	log_info("x=%s.", arg);
	assert_string_equal(capture_end(), want);
}

static void
test_terminal_escapes(void **state)
{
	/* colours, clear screen, OSC window title with BEL */
	expect_line("\x1b[31mred\x1b[0m",
	    "<6>x=\\x1b[31mred\\x1b[0m.\n");
	expect_line("\x1b[2J\x1b[H", "<6>x=\\x1b[2J\\x1b[H.\n");
	expect_line("\x1b]0;owned\x07", "<6>x=\\x1b]0;owned\\x07.\n");
}

static void
test_line_breaks(void **state)
{
	expect_line("a\r\nfake: error: b", "<6>x=a\\x0d\\x0afake: error: b.\n");
	expect_line("a\rb", "<6>x=a\\x0db.\n");
	expect_line("a\nb", "<6>x=a\\x0ab.\n");
	expect_line("a\tb\vc\fd\be", "<6>x=a\\x09b\\x0bc\\x0cd\\x08e.\n");
	expect_line("\x01\x1f", "<6>x=\\x01\\x1f.\n");
}

static void
test_del_and_c1(void **state)
{
	expect_line("a\x7f" "b", "<6>x=a\\x7fb.\n");
	/* U+0080, U+0085 (NEL), U+009B (CSI), U+009F: C1 controls */
	expect_line("\xc2\x80\xc2\x85\xc2\x9b" "31m\xc2\x9f",
	    "<6>x=\\xc2\\x80\\xc2\\x85\\xc2\\x9b31m\\xc2\\x9f.\n");
	/* U+00A0, the first character after them, is kept */
	expect_line("\xc2\xa0", "<6>x=\xc2\xa0.\n");
}

static void
test_invalid_utf8(void **state)
{
	/* overlong encodings of '/' and of U+0000 */
	expect_line("\xc0\xaf", "<6>x=\\xc0\\xaf.\n");
	expect_line("\xc1\xbf", "<6>x=\\xc1\\xbf.\n");
	expect_line("\xe0\x80\xaf", "<6>x=\\xe0\\x80\\xaf.\n");
	expect_line("\xe0\x9f\xbf", "<6>x=\\xe0\\x9f\\xbf.\n");
	expect_line("\xf0\x80\x80\xaf", "<6>x=\\xf0\\x80\\x80\\xaf.\n");
	expect_line("\xf0\x8f\xbf\xbf", "<6>x=\\xf0\\x8f\\xbf\\xbf.\n");
	expect_line("\xc0\x80", "<6>x=\\xc0\\x80.\n");
	/* UTF-16 surrogates: a lone high, a lone low, a CESU-8 pair */
	expect_line("\xed\xa0\x80", "<6>x=\\xed\\xa0\\x80.\n");
	expect_line("\xed\xb2\x80", "<6>x=\\xed\\xb2\\x80.\n");
	expect_line("\xed\xa0\xbd\xed\xb8\x80",
	    "<6>x=\\xed\\xa0\\xbd\\xed\\xb8\\x80.\n");
	/* above U+10FFFF, bytes that never occur */
	expect_line("\xf4\x90\x80\x80", "<6>x=\\xf4\\x90\\x80\\x80.\n");
	expect_line("\xf5\x80\x80\x80", "<6>x=\\xf5\\x80\\x80\\x80.\n");
	expect_line("\xfe\xff", "<6>x=\\xfe\\xff.\n");
	/* lone continuation bytes */
	expect_line("a\x80" "b\xbf", "<6>x=a\\x80b\\xbf.\n");
	/* truncated sequences: at the end, and followed by ASCII or a lead */
	expect_line("\xe2\x82", "<6>x=\\xe2\\x82.\n");
	expect_line("\xe2\x82" "A", "<6>x=\\xe2\\x82A.\n");
	expect_line("\xf0\x9f\x98", "<6>x=\\xf0\\x9f\\x98.\n");
	expect_line("\xc3" "\xc3\xa9", "<6>x=\\xc3\xc3\xa9.\n");
	expect_line("\xc3", "<6>x=\\xc3.\n");
}

static void
test_valid_utf8_kept(void **state)
{
	/* 2, 3 and 4 bytes; the smallest and largest of each length */
	expect_line("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	    "<6>x=caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80.\n");
	expect_line("\xc2\xa0\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf"
	    "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf",
	    "<6>x=\xc2\xa0\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf"
	    "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf.\n");
	/* around the surrogates: U+D7FF and U+E000 */
	expect_line("\xed\x9f\xbf\xee\x80\x80",
	    "<6>x=\xed\x9f\xbf\xee\x80\x80.\n");
	/* backslashes and quotes are printable: kept */
	expect_line("C:\\x1b \"q\"", "<6>x=C:\\x1b \"q\".\n");
}

static void
test_errno_and_levels(void **state)
{
	capture_begin();
	errno = ENOENT;
	log_warn("open \x1b[1m%s", "f\rg");
	assert_int_equal(errno, ENOENT);
	assert_string_equal(capture_end(),
	    "<4>open \\x1b[1mf\\x0dg: No such file or directory\n");
	capture_begin();
	log_debug("%s", "\n");
	log_errorx("%s", "\xc2\x9b");
	assert_string_equal(capture_end(), "<7>\\x0a\n<3>\\xc2\\x9b\n");
}

/* 8191 bytes of ESC, the longest message, become one line 4 times as long. */
static void
test_longest_message(void **state)
{
	char		*in, *want;
	const char	*got;
	size_t		 i;

	in = malloc(8192);
	want = malloc(3 + 4 * 8191 + 2);
	assert_non_null(in);
	assert_non_null(want);
	memset(in, 0x1b, 8191);
	in[8191] = '\0';
	memcpy(want, "<6>", 3);
	for (i = 0; i < 8191; i++)
		memcpy(want + 3 + 4 * i, "\\x1b", 4);
	memcpy(want + 3 + 4 * 8191, "\n", 2);
	capture_begin();
	log_info("%s%s", in, "more that is cut");
	got = capture_end();
	assert_int_equal(strlen(got), strlen(want));
	assert_string_equal(got, want);
	free(in);
	free(want);
}

/* The default format: time, name, pid and level before the escaped text. */
static void
test_plain_format(void **state)
{
	regex_t		 re;
	char		 want[256];
	const char	*got;

	unsetenv("JOURNAL_STREAM");
	log_init(1, LOG_LEVEL_INFO);
	capture_begin();
	log_info("a\x1b" "b");
	log_debug("not shown");
	got = capture_end();
	snprintf(want, sizeof(want), "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:"
	    "[0-9]{2}:[0-9]{2}Z hss-forwarder\\[%d\\]: info: a\\\\x1bb\n$",
	    (int)getpid());
	assert_int_equal(regcomp(&re, want, REG_EXTENDED | REG_NOSUB), 0);
	assert_int_equal(regexec(&re, got, 0, NULL, 0), 0);
	regfree(&re);
	setenv("JOURNAL_STREAM", "8:1234", 1);
	log_init(1, LOG_LEVEL_DEBUG);
}

/* log_escape() itself: never splits an escape or a character. */
static void
test_escape_bounds(void **state)
{
	char	 out[16];

	assert_int_equal(log_escape(out, sizeof(out), "ab\x1b", 3), 6);
	assert_string_equal(out, "ab\\x1b");
	assert_int_equal(log_escape(out, 6, "ab\x1b", 3), 2);
	assert_string_equal(out, "ab");
	assert_int_equal(log_escape(out, 7, "ab\x1b", 3), 6);
	assert_int_equal(log_escape(out, 4, "a\xe2\x82\xac", 4), 1);
	assert_string_equal(out, "a");
	assert_int_equal(log_escape(out, 5, "a\xe2\x82\xac", 4), 4);
	assert_string_equal(out, "a\xe2\x82\xac");
	/* a C1 control's two escapes go together */
	assert_int_equal(log_escape(out, 8, "\xc2\x85", 2), 0);
	assert_int_equal(log_escape(out, 9, "\xc2\x85", 2), 8);
	/* the length is the input's: a NUL in it is escaped too */
	assert_int_equal(log_escape(out, sizeof(out), "a\0b", 3), 6);
	assert_string_equal(out, "a\\x00b");
	assert_int_equal(log_escape(out, 0, "a", 1), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_terminal_escapes),
		cmocka_unit_test(test_line_breaks),
		cmocka_unit_test(test_del_and_c1),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_valid_utf8_kept),
		cmocka_unit_test(test_errno_and_levels),
		cmocka_unit_test(test_longest_message),
		cmocka_unit_test(test_plain_format),
		cmocka_unit_test(test_escape_bounds),
	};

	return cmocka_run_group_tests(tests, setup_journal, NULL);
}
