/*
 * benchlib.h: what the C benchmarks of bench/ share: a monotonic clock in
 * seconds, a figure of /proc/self/status, and ids shaped like HSS event
 * ids. Header-only (static functions), included by each benchmark.
 */
#ifndef HSS_BENCHLIB_H
#define HSS_BENCHLIB_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline double
now_s(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A "Key:" line of /proc/self/status (VmRSS:, VmHWM:) in kB, or -1. */
static inline long
status_kb(const char *key)
{
	char	 line[256];
	long	 v = -1;
	FILE	*fp;

	if ((fp = fopen("/proc/self/status", "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, key, strlen(key)) == 0)
			v = strtol(line + strlen(key) + 1, NULL, 10);
	fclose(fp);
	return v;
}

/* A UUID-shaped id (36 characters and a NUL in out[37]). */
static inline void
make_id(char *out, unsigned long i)
{
	unsigned long	 h = i * 2654435761UL + 0x9e3779b9UL;

	snprintf(out, 37, "%08lx-%04lx-4%03lx-a%03lx-%012lx",
	    h & 0xffffffff, i & 0xffff, (i >> 4) & 0xfff, (h >> 8) & 0xfff,
	    i & 0xffffffffffffUL);
}

#endif
