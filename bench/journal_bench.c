/*
 * Benchmark of the cursor's saves (snapshot + journal, cursor.c): one
 * window of N new ids (36-character ids, prune keys spread over two days,
 * the default lookback + late sweep range so that none is pruned), a
 * checkpoint (cursor_commit with the end unchanged) every 1,000 ids as the
 * daemon does while it reads, then the window's commit (the end moves).
 * Each N runs in a fresh process (its own peak RSS), then a load of what
 * it saved in another.
 *
 * Prints per N: the bytes the loop writes a checkpoint (mean, max), how
 * long a save kept the loop (the call timed on the calling thread: what a
 * timer, the SIOCOUTQ poll or the watchdog would wait; wall time, median,
 * 99th percentile and max, and the CPU the call used on that thread: on a
 * busy machine the wall time holds the waits for a CPU), the total
 * bytes written (the worker thread's compactions included, from
 * /proc/self/io), the CPU of the process (all threads), its peak RSS, the
 * id set's bytes per id; then the load's time and peak RSS.
 *
 * Build: make bench/journal_bench (an optimised build without sanitizers)
 * Run:   bench/journal_bench [N ...] [-d DIR]
 *        default N: 10000 100000 300000 1000000; DIR: a new directory in
 *        $TMPDIR or /tmp (the disk there is what the fdatasyncs hit).
 */
#include "autoconf.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cursor.h"
#include "idset.h"
#include "log.h"
#include "util.h"

#include "benchlib.h"

#define T0		1700000000000LL
#define DAY		86400000LL
#define LOOKBACK	(DAY + 600000LL)	/* sweep_range + lookback */
#define EVERY		1000

/* A field of /proc/self/status (kB) or /proc/self/io (bytes), or -1. */
static long long
proc_field(const char *file, const char *key)
{
	char		 line[256];
	long long	 v = -1;
	FILE		*fp;

	if ((fp = fopen(file, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, key, strlen(key)) == 0)
			v = strtoll(line + strlen(key), NULL, 10);
	fclose(fp);
	return v;
}

/* The CPU time of the calling thread: what the call itself cost. */
static double
thread_cpu_s(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double
cpu_s(void)
{
	struct rusage	 ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static int
dbl_cmp(const void *a, const void *b)
{
	const double	*x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
}

static void
identity(struct cursor_identity *ident)
{
	memset(ident, 0, sizeof(*ident));
	ident->project_id = "0123456789abcdef0123456789abcdef";
	ident->region = "ap-southeast-1";
	ident->category = "host";
	cursor_filters_hash(NULL, 0, ident->filters_hash);
}

/* Bytes of the journal files of "bench" in dir. */
static long long
journal_size(const char *dir)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	char		 path[4096];
	long long	 n = 0;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "bench.journal.", 14) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) == 0)
			n += st.st_size;
	}
	closedir(d);
	return n;
}

static void
remove_state(const char *dir)
{
	struct dirent	*de;
	DIR		*d;
	char		 path[4096];

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "bench.", 6) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
}

static int
run_one(const char *dir, unsigned long n)
{
	struct cursor_identity	 ident;
	enum cursor_open_status	 st;
	struct cursor		*c;
	struct buf		 err;
	char			 id[40];
	unsigned long		 i, saves = 0;
	long long		 j0, j1, wchar0, loopmax = 0, loopsum = 0;
	double			 t, tc, stall, first = 0, cpu0, commit_stall;
	double			*st_all, *cpu_all, la[3];

	buf_init(&err);
	identity(&ident);
	remove_state(dir);
	cpu0 = cpu_s();
	wchar0 = proc_field("/proc/self/io", "wchar:");
	c = cursor_open(dir, "bench", &ident, n > 1000000 ? n : 1000000,
	    LOOKBACK, &st, &err);
	if (c == NULL) {
		fprintf(stderr, "open: %s\n", err.data);
		return 1;
	}
	st_all = xcalloc(n / EVERY + 2, sizeof(*st_all));
	cpu_all = xcalloc(n / EVERY + 2, sizeof(*cpu_all));
	for (i = 0; i < n; i++) {
		make_id(id, i);
		/* Keys over the two days of the window. */
		cursor_add(c, id, T0 + (long long)(i * (2 * DAY / n)));
		if ((i + 1) % EVERY != 0 && i + 1 != n)
			continue;
		j0 = journal_size(dir);
		tc = thread_cpu_s();
		t = now_s();
		if (cursor_commit(c, 0, &err) == -1) {
			fprintf(stderr, "checkpoint: %s\n", err.data);
			return 1;
		}
		stall = now_s() - t;
		tc = thread_cpu_s() - tc;
		j1 = journal_size(dir);
		/* The first writes the snapshot (once in a cursor's life). */
		if (saves == 0)
			first = stall;
		else {
			st_all[saves - 1] = stall;
			cpu_all[saves - 1] = tc;
		}
		/* A compaction that started moves the journal to a new file. */
		if (j1 > j0) {
			loopsum += j1 - j0;
			if (j1 - j0 > loopmax)
				loopmax = j1 - j0;
		}
		saves++;
	}
	t = now_s();
	if (cursor_commit(c, T0 + 2 * DAY, &err) == -1) {
		fprintf(stderr, "commit: %s\n", err.data);
		return 1;
	}
	commit_stall = now_s() - t;
	buf_reset(&err);
	if (cursor_sync(c, &err) == -1) {
		fprintf(stderr, "sync: %s\n", err.data);
		return 1;
	}
	qsort(st_all, saves - 1, sizeof(*st_all), dbl_cmp);
	qsort(cpu_all, saves - 1, sizeof(*cpu_all), dbl_cmp);
	printf("%8lu ids: %lu checkpoints, the loop writes %.1f kB a "
	    "checkpoint (max %.1f kB)\n", n, saves,
	    saves > 1 ? loopsum / 1e3 / (saves - 1) : 0.0, loopmax / 1e3);
	printf("%8s      a checkpoint holds the loop (wall) %.3f ms median, "
	    "%.3f ms 99th percentile, %.3f ms max; its CPU on the loop %.3f ms "
	    "median, %.3f ms max\n", "",
	    saves > 1 ? st_all[(saves - 1) / 2] * 1e3 : 0.0,
	    saves > 1 ? st_all[(saves - 1) * 99 / 100] * 1e3 : 0.0,
	    saves > 1 ? st_all[saves - 2] * 1e3 : 0.0,
	    saves > 1 ? cpu_all[(saves - 1) / 2] * 1e3 : 0.0,
	    saves > 1 ? cpu_all[saves - 2] * 1e3 : 0.0);
	printf("%8s      the first save (the snapshot, fsync) %.2f ms; the "
	    "window's commit (end moved, half the ids out of the lookback) "
	    "%.2f ms\n", "", first * 1e3, commit_stall * 1e3);
	free(st_all);
	free(cpu_all);
	if (getloadavg(la, 3) == -1)
		la[0] = -1;
	printf("%8s      written in all %.1f MB (compactions included), CPU "
	    "%.2f s (%.2f us/id), peak RSS %.1f MB; load average %.1f\n", "",
	    (proc_field("/proc/self/io", "wchar:") - wchar0) / 1e6,
	    cpu_s() - cpu0, (cpu_s() - cpu0) * 1e6 / n,
	    proc_field("/proc/self/status", "VmHWM:") / 1024.0, la[0]);
	cursor_free(c);
	buf_free(&err);
	return 0;
}

static int
load_one(const char *dir, unsigned long n)
{
	struct cursor_identity	 ident;
	enum cursor_open_status	 st;
	struct cursor		*c;
	struct buf		 err;
	long			 hwm0;
	double			 t, cpu0;

	buf_init(&err);
	identity(&ident);
	hwm0 = (long)proc_field("/proc/self/status", "VmHWM:");
	cpu0 = cpu_s();
	t = now_s();
	c = cursor_open(dir, "bench", &ident, n > 1000000 ? n : 1000000,
	    LOOKBACK, &st, &err);
	t = now_s() - t;
	if (c == NULL || st != CURSOR_OK) {
		fprintf(stderr, "load: status %d, %zu ids: %s\n", (int)st,
		    c != NULL ? cursor_count(c) : 0, err.data != NULL ?
		    err.data : "");
		return 1;
	}
	printf("%8s      load of the %zu ids kept: %.0f ms (CPU %.2f s), "
	    "peak RSS %.1f MB (+%.1f MB over the empty process), RSS after "
	    "%.1f MB\n", "", cursor_count(c), t * 1e3, cpu_s() - cpu0,
	    proc_field("/proc/self/status", "VmHWM:") / 1024.0,
	    (proc_field("/proc/self/status", "VmHWM:") - hwm0) / 1024.0,
	    proc_field("/proc/self/status", "VmRSS:") / 1024.0);
	cursor_free(c);
	buf_free(&err);
	return 0;
}

/* The id set alone: bytes per id at n ids. */
static void
set_only(unsigned long n)
{
	struct idset	*s;
	char		 id[40];
	unsigned long	 i;

	s = idset_new();
	for (i = 0; i < n; i++) {
		make_id(id, i);
		idset_add(s, id, 36, T0 + (long long)i);
	}
	printf("%8s      id set: %.1f bytes/id\n", "",
	    (double)idset_memory(s) / n);
	idset_free(s);
}

static int
child(char *self, const char *mode, const char *dir, unsigned long n)
{
	char	 arg[32];
	pid_t	 pid;
	int	 status;

	fflush(stdout);
	snprintf(arg, sizeof(arg), "%lu", n);
	if ((pid = fork()) == 0) {
		execl("/proc/self/exe", self, mode, dir, arg, (char *)NULL);
		perror("exec");
		_exit(1);
	}
	if (pid == -1 || waitpid(pid, &status, 0) == -1)
		return 1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	static const unsigned long defaults[] = { 10000, 100000, 300000,
	    1000000 };
	unsigned long	 ns[16];
	char		 dir[4096];
	const char	*tmp;
	size_t		 nn = 0, k;
	int		 i, rc = 0, made = 0;

	log_init(1, LOG_LEVEL_WARNING);
	if (argc == 4 && strcmp(argv[1], "--run") == 0)
		return run_one(argv[2], strtoul(argv[3], NULL, 10));
	if (argc == 4 && strcmp(argv[1], "--load") == 0)
		return load_one(argv[2], strtoul(argv[3], NULL, 10));
	dir[0] = '\0';
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-d") == 0 && i + 1 < argc)
			snprintf(dir, sizeof(dir), "%s", argv[++i]);
		else if (nn < HSS_ARRAY_LEN(ns))
			ns[nn++] = strtoul(argv[i], NULL, 10);
	}
	if (nn == 0)
		for (k = 0; k < HSS_ARRAY_LEN(defaults); k++)
			ns[nn++] = defaults[k];
	if (dir[0] == '\0') {
		tmp = getenv("TMPDIR");
		snprintf(dir, sizeof(dir), "%s/journal_bench.XXXXXX",
		    tmp != NULL ? tmp : "/tmp");
		if (mkdtemp(dir) == NULL) {
			perror("mkdtemp");
			return 1;
		}
		made = 1;
	}
	printf("journal_bench: one window, a checkpoint every %d ids, state "
	    "in %s\n", EVERY, dir);
	for (k = 0; k < nn; k++) {
		if (child(argv[0], "--run", dir, ns[k]) != 0 ||
		    child(argv[0], "--load", dir, ns[k]) != 0)
			rc = 1;
		set_only(ns[k]);
		remove_state(dir);
	}
	if (made)
		rmdir(dir);
	return rc;
}
