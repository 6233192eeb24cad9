/*
 * rusage: run a command and report what it used, for bench/run.
 *
 *   rusage CMD [ARG...]
 *
 * Prints "pid N" when CMD has started, then, when it has ended,
 * "status S cpu_us U maxrss_kb M": its wait status, user + system CPU and
 * peak resident set size, from wait4(). SIGTERM and SIGINT are passed on.
 *
 * Why not wait4() from the Python script directly: Linux keeps in a
 * process's ru_maxrss the peak of the memory it had before exec, so a
 * command started by a large Python process reports at least that
 * process's size. Started from this small program, it reports its own.
 */
#include <sys/resource.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static volatile pid_t	 child;

static void
forward(int sig)
{
	if (child > 0)
		kill(child, sig);
}

int
main(int argc, char *argv[])
{
	struct rusage	 ru;
	struct sigaction sa;
	pid_t		 p;
	int		 status;

	if (argc < 2) {
		fprintf(stderr, "usage: rusage CMD [ARG...]\n");
		return 2;
	}
	sa.sa_handler = forward;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if ((p = fork()) == -1) {
		perror("fork");
		return 1;
	}
	if (p == 0) {
		execvp(argv[1], argv + 1);
		perror(argv[1]);
		_exit(127);
	}
	child = p;
	printf("pid %ld\n", (long)p);
	fflush(stdout);
	while (wait4(p, &status, 0, &ru) == -1)
		if (errno != EINTR) {
			perror("wait4");
			return 1;
		}
	printf("status %d cpu_us %lld maxrss_kb %ld\n", status,
	    (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
	    ru.ru_utime.tv_usec + ru.ru_stime.tv_usec, ru.ru_maxrss);
	return 0;
}
