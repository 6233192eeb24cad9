/*
 * Benchmark of the cursor's dedupe set and state file at 1,000,000 ids:
 * insert, lookup, prune, commit (write + fsync), load, memory per id.
 * Usage: bench_cursor [N] [DIR]   (default 1000000, a temp dir in /tmp)
 */
#include "autoconf.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cursor.h"
#include "idset.h"
#include "util.h"

#include "benchlib.h"

#define T0	1700000000000LL

static void
identity(struct cursor_identity *ident)
{
	memset(ident, 0, sizeof(*ident));
	ident->project_id = "0123456789abcdef0123456789abcdef";
	ident->region = "ap-southeast-1";
	ident->category = "host";
	cursor_filters_hash(NULL, 0, ident->filters_hash);
}

/* In a fresh process (exec'd), so that its memory figures are its own. */
static int
load_only(const char *dir, unsigned long n)
{
	struct cursor_identity	 ident;
	enum cursor_open_status	 st;
	struct cursor		*c;
	struct buf		 err;
	double			 t;
	long			 hwm0;

	buf_init(&err);
	identity(&ident);
	hwm0 = status_kb("VmHWM:");
	t = now_s();
	c = cursor_open(dir, "bench", &ident, n, 600000, &st, &err);
	t = now_s() - t;
	if (c == NULL || st != CURSOR_OK) {
		fprintf(stderr, "load: %s\n", err.data);
		return 1;
	}
	printf("load: %.1f ms for %zu ids; peak RSS +%.1f MB during the "
	    "load (file + id set), %.1f MB RSS after (%.1f bytes/id)\n",
	    t * 1e3, cursor_count(c), (status_kb("VmHWM:") - hwm0) / 1024.0,
	    status_kb("VmRSS:") / 1024.0,
	    status_kb("VmRSS:") * 1024.0 / cursor_count(c));
	cursor_free(c);
	buf_free(&err);
	return 0;
}

int
main(int argc, char **argv)
{
	struct cursor_identity	 ident;
	enum cursor_open_status	 st;
	struct cursor		*c;
	struct idset		*s;
	struct buf		 err;
	struct stat		 sb;
	char			 dir[256], id[32], *path, *ids;
	unsigned long		 i, n = 1000000, hits;
	double			 t;
	long			 rss0, rss1;
	pid_t			 pid;
	int			 status;

	if (argc == 4 && strcmp(argv[1], "--load") == 0)
		return load_only(argv[2], strtoul(argv[3], NULL, 10));
	if (argc > 1)
		n = strtoul(argv[1], NULL, 10);
	if (argc > 2)
		snprintf(dir, sizeof(dir), "%s", argv[2]);
	else {
		snprintf(dir, sizeof(dir), "/tmp/bench_cursor.XXXXXX");
		if (mkdtemp(dir) == NULL) {
			perror("mkdtemp");
			return 1;
		}
	}
	buf_init(&err);
	identity(&ident);
	printf("ids: %lu (36-character ids), state dir %s\n", n, dir);

	/* Ids 0..2n-1 made up front, so that only the set is timed. */
	ids = xreallocarray(NULL, 2 * n, 37);
	for (i = 0; i < 2 * n; i++)
		make_id(ids + 37 * i, i);
#define ID(i)	(ids + 37 * (i))

	/* The set alone. */
	rss0 = status_kb("VmRSS:");
	s = idset_new();
	t = now_s();
	for (i = 0; i < n; i++)
		idset_add(s, ID(i), 36, T0 + (long long)(i % 600000));
	t = now_s() - t;
	rss1 = status_kb("VmRSS:");
	printf("idset insert:        %7.1f ns/op\n", t * 1e9 / n);
	printf("idset memory:        %7.1f bytes/id allocated, %.1f bytes/id "
	    "RSS growth\n", (double)idset_memory(s) / n,
	    (rss1 - rss0) * 1024.0 / n);
	t = now_s();
	for (i = hits = 0; i < n; i++)
		hits += idset_has(s, ID((i * 7919) % n), 36);
	t = now_s() - t;
	printf("idset lookup (hit):  %7.1f ns/op (%lu hits)\n", t * 1e9 / n,
	    hits);
	t = now_s();
	for (i = hits = 0; i < n; i++)
		hits += idset_has(s, ID(n + i), 36);
	t = now_s() - t;
	printf("idset lookup (miss): %7.1f ns/op (%lu hits)\n", t * 1e9 / n,
	    hits);
	t = now_s();
	idset_prune(s, T0 + 60000, n);
	printf("idset prune 10%%:     %7.1f ms (%zu left)\n",
	    (now_s() - t) * 1e3, idset_count(s));
	t = now_s();
	idset_prune(s, 0, idset_count(s) / 2);
	printf("idset bound to half: %7.1f ms (sort, %zu left)\n",
	    (now_s() - t) * 1e3, idset_count(s));
	idset_free(s);

	/* The cursor: commit and load. */
	c = cursor_open(dir, "bench", &ident, n, 600000, &st, &err);
	if (c == NULL) {
		fprintf(stderr, "open: %s\n", err.data);
		return 1;
	}
	for (i = 0; i < n; i++)
		cursor_add(c, ID(i), T0 + (long long)(i % 600000));
	t = now_s();
	if (cursor_commit(c, T0 + 600000, &err) == -1) {
		fprintf(stderr, "commit: %s\n", err.data);
		return 1;
	}
	t = now_s() - t;
	path = xasprintf("%s/bench.json", dir);
	stat(path, &sb);
	printf("commit (write+fsync): %6.1f ms, file %.1f MB (%.1f bytes/id)\n",
	    t * 1e3, sb.st_size / 1e6, (double)sb.st_size / n);
	t = now_s();
	cursor_commit(c, T0 + 600000 + 60000, &err);
	printf("commit (prune 10%% + write+fsync): %.1f ms, %zu ids\n",
	    (now_s() - t) * 1e3, cursor_count(c));
	cursor_free(c);
	/* Write back a full set to load. */
	c = cursor_open(dir, "bench", &ident, n, 600000, &st, &err);
	for (i = 0; i < n; i++)
		cursor_add(c, ID(i), T0 + 600000);
	cursor_commit(c, T0 + 600000, &err);
	cursor_free(c);

	/* Load in a fresh process, to see its peak memory. */
	fflush(stdout);
	snprintf(id, sizeof(id), "%lu", n);
	if ((pid = fork()) == 0) {
		execl("/proc/self/exe", argv[0], "--load", dir, id,
		    (char *)NULL);
		perror("exec");
		_exit(1);
	}
	waitpid(pid, &status, 0);
	unlink(path);
	free(path);
	free(ids);
	if (argc <= 2)
		rmdir(dir);
	buf_free(&err);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
