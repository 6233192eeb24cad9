/*
 * The state-file loader on any file: cursor_open() either loads it, moves
 * it aside as corrupt, or refuses it as another source's. A file it loads
 * is saved again (cursor_commit) and loads back the same: same end, same
 * number of ids.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "util.h"

#include "fuzz.h"

#define LOOKBACK_MS	(100LL * 365 * 86400 * 1000)	/* keeps every id */
#define MAX_IDS		100000

static struct cursor_identity	 id;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	id.project_id = "0123456789abcdef0123456789abcdef";
	id.region = "ap-southeast-1";
	id.category = "host";
	id.enterprise_project_id = NULL;
	cursor_filters_hash(NULL, 0, id.filters_hash);
	fuzz_setup();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum cursor_open_status	 st;
	struct cursor		*c, *c2 = NULL;
	struct buf		 err;
	char			 path[512];
	int64_t			 end;
	size_t			 n;

	buf_init(&err);
	fuzz_write("prod.json", data, size, path, sizeof(path));
	c = cursor_open(fuzz_dir, "prod", &id, MAX_IDS, LOOKBACK_MS, &st,
	    &err);
	if ((c == NULL) != (st == CURSOR_MISMATCH || st == CURSOR_ERROR)) {
		fprintf(stderr, "fuzz_cursor: cursor %p, status %d\n",
		    (void *)c, (int)st);
		abort();
	}
	if (c == NULL || st != CURSOR_OK)
		goto done;
	cursor_has(c, "evt-1");
	end = cursor_end(c);
	n = cursor_count(c);
	if (cursor_commit(c, end, &err) == -1) {
		fprintf(stderr, "fuzz_cursor: commit: %s\n", err.data);
		abort();
	}
	buf_reset(&err);
	c2 = cursor_open(fuzz_dir, "prod", &id, MAX_IDS, LOOKBACK_MS, &st,
	    &err);
	if (c2 == NULL || st != CURSOR_OK || cursor_end(c2) != end ||
	    cursor_count(c2) != n) {
		fprintf(stderr, "fuzz_cursor: the saved file loads back as "
		    "status %d, end %lld (was %lld), %zu ids (was %zu): %s\n",
		    (int)st, c2 != NULL ? (long long)cursor_end(c2) : -1LL,
		    (long long)end, c2 != NULL ? cursor_count(c2) : 0, n,
		    err.data != NULL ? err.data : "");
		abort();
	}
done:
	cursor_free(c);
	cursor_free(c2);
	buf_free(&err);
	fuzz_clean(NULL);
	return 0;
}
