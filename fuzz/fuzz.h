/*
 * Shared by the libFuzzer targets: a private temporary directory (in
 * $FUZZ_TMPDIR, else on /dev/shm when there is one, so that fsync costs
 * nothing), removed at exit, and quiet logging.
 */
#ifndef HSS_FUZZ_H
#define HSS_FUZZ_H

#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char	fuzz_dir[256];

/* Removes every entry of fuzz_dir except keep (NULL: all). */
static void
fuzz_clean(const char *keep)
{
	DIR		*d;
	struct dirent	*e;
	char		 path[512];

	if (fuzz_dir[0] == '\0' || (d = opendir(fuzz_dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 ||
		    strcmp(e->d_name, "..") == 0 ||
		    (keep != NULL && strcmp(e->d_name, keep) == 0))
			continue;
		snprintf(path, sizeof(path), "%s/%s", fuzz_dir, e->d_name);
		unlink(path);
	}
	closedir(d);
}

static void
fuzz_cleanup(void)
{
	fuzz_clean(NULL);
	rmdir(fuzz_dir);
}

static void
fuzz_setup(void)
{
	const char	*tmp = getenv("TMPDIR");
	struct stat	 st;

	log_init(1, LOG_LEVEL_ERROR);
	if (getenv("FUZZ_TMPDIR") != NULL)
		tmp = getenv("FUZZ_TMPDIR");
	else if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
	    access("/dev/shm", W_OK) == 0)
		tmp = "/dev/shm";
	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/hss-fuzz.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(fuzz_dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	atexit(fuzz_cleanup);
}

/* Writes data to fuzz_dir/name; the path in path. */
static void
fuzz_write(const char *name, const uint8_t *data, size_t size, char *path,
    size_t pathsz)
{
	int	 fd;

	snprintf(path, pathsz, "%s/%s", fuzz_dir, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    (size > 0 && write(fd, data, size) != (ssize_t)size)) {
		perror(path);
		abort();
	}
	close(fd);
}

#endif
