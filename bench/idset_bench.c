/*
 * Benchmark of the dedupe set (idset.c): for N ids (36-character ids),
 * the time of an insert, of a lookup that finds the id and of one that
 * does not, of a prune of a tenth by age and of a cut to half by count,
 * and the memory: bytes allocated per id and the growth of the process's
 * RSS per id (each N in a fresh process).
 *
 * Build: make bench/idset_bench (an optimised build without sanitizers)
 * Run:   bench/idset_bench [N ...]   (default 10000 100000 300000 1000000)
 */
#include "autoconf.h"

#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "idset.h"
#include "util.h"

#include "benchlib.h"

#define T0	1700000000000LL

static int
run(unsigned long n)
{
	struct idset	*s;
	char		*ids;
	unsigned long	 i, hits;
	long		 rss0, rss1, hwm;
	double		 t, tins, thit, tmiss, tprune, tcut;
	size_t		 mem;

	/* Ids 0..2n-1 made up front, so that only the set is timed. */
	ids = xreallocarray(NULL, 2 * n, 37);
	for (i = 0; i < 2 * n; i++)
		make_id(ids + 37 * i, i);
	/* The first set draws its key: OpenSSL's random generator is set up
	 * then (about 2.5 MB of its code and tables), which is not the set's
	 * memory. */
	idset_free(idset_new());
	rss0 = status_kb("VmRSS:");
	s = idset_new();
	t = now_s();
	for (i = 0; i < n; i++)
		idset_add(s, ids + 37 * i, 36, T0 + (long long)i * 100);
	tins = now_s() - t;
	rss1 = status_kb("VmRSS:");
	hwm = status_kb("VmHWM:");
	mem = idset_memory(s);
	t = now_s();
	for (i = hits = 0; i < n; i++)
		hits += idset_has(s, ids + 37 * ((i * 7919) % n), 36);
	thit = now_s() - t;
	if (hits != n)
		return 1;
	t = now_s();
	for (i = hits = 0; i < n; i++)
		hits += idset_has(s, ids + 37 * (n + i), 36);
	tmiss = now_s() - t;
	t = now_s();
	idset_prune(s, T0 + (long long)(n / 10) * 100, SIZE_MAX);
	tprune = now_s() - t;
	t = now_s();
	idset_prune(s, 0, idset_count(s) / 2);
	tcut = now_s() - t;
	printf("%8lu ids: insert %.0f ns, lookup %.0f ns (hit) %.0f ns "
	    "(miss); prune a tenth %.2f ms, cut to half %.2f ms; %.1f "
	    "bytes/id allocated, RSS +%.1f bytes/id (peak %.1f MB)\n", n,
	    tins * 1e9 / n, thit * 1e9 / n, tmiss * 1e9 / n, tprune * 1e3,
	    tcut * 1e3, (double)mem / n, (rss1 - rss0) * 1024.0 / n,
	    hwm / 1024.0);
	idset_free(s);
	free(ids);
	return hits == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	static const unsigned long defaults[] = { 10000, 100000, 300000,
	    1000000 };
	char	 arg[32];
	pid_t	 pid;
	size_t	 k;
	int	 status, rc = 0;

	if (argc == 3 && strcmp(argv[1], "--run") == 0)
		return run(strtoul(argv[2], NULL, 10));
	for (k = 0; k < (argc > 1 ? (size_t)argc - 1 :
	    HSS_ARRAY_LEN(defaults)); k++) {
		snprintf(arg, sizeof(arg), "%lu", argc > 1 ?
		    strtoul(argv[k + 1], NULL, 10) : defaults[k]);
		fflush(stdout);
		if ((pid = fork()) == 0) {
			execl("/proc/self/exe", argv[0], "--run", arg,
			    (char *)NULL);
			perror("exec");
			_exit(1);
		}
		if (pid == -1 || waitpid(pid, &status, 0) == -1 ||
		    !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			rc = 1;
	}
	return rc;
}
