/*
 * The parsers of API response headers: Retry-After (api_retry_after_ms:
 * delay-seconds or an HTTP-date), Date (http_date_ms, the one helper that
 * api.c and auth.c use to turn it into the server's clock in
 * milliseconds) and the token expiry time (auth_parse_time, ISO 8601). The
 * input is one header value.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "api.h"
#include "auth.h"
#include "http.h"
#include "util.h"

#include "fuzz.h"

#define NOW_MS	1700000000000LL		/* 2023-11-14T22:13:20Z */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_setup();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*s;
	int64_t		 ms;

	if (size > 4096)
		return 0;
	s = xmalloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';

	/* -1, or a delay: 0..86400 s as seconds, >= 0 as a date */
	ms = api_retry_after_ms(s, NOW_MS);
	if (ms < -1) {
		fprintf(stderr, "fuzz_headers: Retry-After %s: %lld\n", s,
		    (long long)ms);
		abort();
	}

	/* Date: epoch milliseconds of 1970..9999, or -1 */
	if (http_date_ms(s, &ms) == 0 &&
	    (ms < 0 || ms > HTTP_DATE_MAX * 1000)) {
		fprintf(stderr, "fuzz_headers: Date %s: %lld ms\n", s,
		    (long long)ms);
		abort();
	}

	(void)auth_parse_time(s, &ms);
	free(s);
	return 0;
}
