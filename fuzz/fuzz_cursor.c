/*
 * The state loader on any files: cursor_open() either loads them, moves
 * the snapshot aside as corrupt, or refuses it as another source's. The
 * input is the snapshot, then, after a separator "\0J\0", the journal file
 * NAME.journal.1 (its records are checked by length and CRC-32, so the
 * dictionary and the seeds hold valid ones), then after another the file
 * NAME.journal.2. A state it loads is saved again: the same end and the
 * same number of ids come back; one id more is saved, compacted when the
 * snapshot has no "journal" (one of an earlier version: the compaction
 * must read whatever the loader accepted), and comes back too.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cursor.h"
#include "util.h"

#include "fuzz.h"

#define LOOKBACK_MS	(100LL * 365 * 86400 * 1000)	/* keeps every id */
#define MAX_IDS		100000
#define NEW_ID		"fuzz-new-id"

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

/* The next part of the input, up to a separator (or the end). */
static const uint8_t *
part(const uint8_t **data, size_t *size, size_t *len)
{
	const uint8_t	*p = *data, *q;

	for (q = p; q + 3 <= p + *size; q++)
		if (q[0] == 0 && q[1] == 'J' && q[2] == 0)
			break;
	if (q + 3 > p + *size)
		q = p + *size;
	*len = (size_t)(q - p);
	if (q == p + *size) {
		*data += *size;
		*size = 0;
	} else {
		*size -= *len + 3;
		*data = q + 3;
	}
	return p;
}

static void
fail(const char *what, struct cursor *c, enum cursor_open_status st,
    int64_t end, size_t n, const struct buf *err)
{
	fprintf(stderr, "fuzz_cursor: %s: status %d, end %lld (was %lld), "
	    "%zu ids (was %zu): %s\n", what, (int)st, c != NULL ?
	    (long long)cursor_end(c) : -1LL, (long long)end, c != NULL ?
	    cursor_count(c) : 0, n, err->data != NULL ? err->data : "");
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum cursor_open_status	 st;
	struct cursor		*c, *c2 = NULL;
	struct buf		 err;
	const uint8_t		*p;
	char			 path[512], *snap = NULL;
	int64_t			 end;
	size_t			 n, len;
	int			 old, had;

	buf_init(&err);
	p = part(&data, &size, &len);
	fuzz_write("prod.json", p, len, path, sizeof(path));
	if (size > 0) {
		p = part(&data, &size, &len);
		fuzz_write("prod.journal.1", p, len, path, sizeof(path));
	}
	if (size > 0) {
		p = part(&data, &size, &len);
		fuzz_write("prod.journal.2", p, len, path, sizeof(path));
	}
	c = cursor_open(fuzz_dir, "prod", &id, MAX_IDS, LOOKBACK_MS, &st,
	    &err);
	if ((c == NULL) != (st == CURSOR_MISMATCH || st == CURSOR_ERROR)) {
		fprintf(stderr, "fuzz_cursor: cursor %p, status %d\n",
		    (void *)c, (int)st);
		abort();
	}
	if (c == NULL || st != CURSOR_OK)
		goto done;
	/*
	 * Of an earlier version (no "journal" member, as the JSON parser
	 * reads member names: "journal\u0000" is one): the first save
	 * compacts it.
	 */
	snprintf(path, sizeof(path), "%s/prod.json", fuzz_dir);
	old = 1;
	if (file_read_regular(path, 1 << 20, NULL, &snap, &len,
	    &(const char *){ NULL }) == 0) {
		cJSON	*root = cJSON_ParseWithLength(snap, len);

		old = cJSON_GetObjectItemCaseSensitive(root, "journal") ==
		    NULL;
		cJSON_Delete(root);
		file_data_free(snap, len);
		snap = NULL;
	}
	cursor_has(c, "evt-1");
	end = cursor_end(c);
	n = cursor_count(c);
	if (cursor_commit(c, end, &err) == -1)
		fail("commit", c, st, end, n, &err);
	cursor_free(c);
	c = NULL;
	buf_reset(&err);
	c2 = cursor_open(fuzz_dir, "prod", &id, MAX_IDS, LOOKBACK_MS, &st,
	    &err);
	if (c2 == NULL || st != CURSOR_OK || cursor_end(c2) != end ||
	    cursor_count(c2) != n)
		fail("the state saved again loads back as", c2, st, end, n,
		    &err);
	if (cursor_add(c2, NEW_ID, end) != 0)
		abort();
	if (cursor_commit(c2, end, &err) == -1)
		fail("commit of one more id", c2, st, end, n, &err);
	/* (An end past 2106 prunes everything: keys are held up to then.) */
	n = cursor_count(c2);
	had = cursor_has(c2, NEW_ID);
	if (cursor_sync(c2, &err) == -1)
		fail("sync", c2, st, end, n, &err);
	cursor_free(c2);
	c2 = NULL;
	if (old) {
		if (file_read_regular(path, 64 << 20, NULL, &snap, &len,
		    &(const char *){ NULL }) == -1 ||
		    strstr(snap, "\"journal\":") == NULL) {
			fprintf(stderr, "fuzz_cursor: the snapshot of an "
			    "earlier version was not compacted\n");
			abort();
		}
		file_data_free(snap, len);
		snap = NULL;
	}
	c2 = cursor_open(fuzz_dir, "prod", &id, MAX_IDS, LOOKBACK_MS, &st,
	    &err);
	if (c2 == NULL || st != CURSOR_OK || cursor_end(c2) != end ||
	    cursor_count(c2) != n || cursor_has(c2, NEW_ID) != had)
		fail("with one id more", c2, st, end, n, &err);
done:
	cursor_free(c);
	cursor_free(c2);
	buf_free(&err);
	fuzz_clean(NULL);
	return 0;
}
