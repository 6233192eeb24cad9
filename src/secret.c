/*
 * secret.c: secrets from files, checked the same way wherever they are
 * read (the config at load time, auth.c when a token file changes), and
 * wiped when they are let go.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "secret.h"
#include "util.h"

/*
 * Read a secret file: a regular file, not accessible by group or others,
 * one trailing newline stripped, not empty, no control characters.
 * Returns 0, or -1 with *errmsg (naming the path, never the contents).
 */
int
secret_read_file(const char *path, int creddir, char **value,
    char **errmsg)
{
	struct stat	 st;
	char		*data = NULL;
	size_t		 len = 0, i;
	ssize_t		 r;
	int		 fd = -1;

	*value = NULL;
	*errmsg = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1) {
		*errmsg = xasprintf("cannot read %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	if (fstat(fd, &st) == -1) {
		*errmsg = xasprintf("%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		*errmsg = xasprintf("%s is not a regular file", path);
		goto fail;
	}
	if ((st.st_mode & 077) != 0 &&
	    !(creddir && (st.st_mode & 0777) == 0440)) {
		*errmsg = xasprintf("%s is readable by group or others "
		    "(mode %04o); chmod 600 it", path,
		    (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	data = xmalloc(SECRET_FILE_MAX + 1);
	for (;;) {
		r = read(fd, data + len, SECRET_FILE_MAX + 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			*errmsg = xasprintf("cannot read %s: %s", path,
			    strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > SECRET_FILE_MAX) {
			*errmsg = xasprintf("%s is larger than %d bytes", path,
			    SECRET_FILE_MAX);
			goto fail;
		}
	}
	if (len > 0 && data[len - 1] == '\n') {
		len--;
		if (len > 0 && data[len - 1] == '\r')
			len--;
	}
	if (len == 0) {
		*errmsg = xasprintf("%s is empty", path);
		goto fail;
	}
	for (i = 0; i < len; i++) {
		if ((unsigned char)data[i] < 0x20 || data[i] == 0x7f) {
			*errmsg = xasprintf("%s: the secret contains a control "
			    "character or a line break", path);
			goto fail;
		}
	}
	*value = xstrndup(data, len);
	OPENSSL_cleanse(data, SECRET_FILE_MAX + 1);
	free(data);
	close(fd);
	return 0;
fail:
	if (data != NULL) {
		OPENSSL_cleanse(data, SECRET_FILE_MAX + 1);
		free(data);
	}
	if (fd != -1)
		close(fd);
	return -1;
}

void
secret_clear(struct secret *s)
{
	free(s->where);
	secret_free(s->value);
	s->where = s->value = NULL;
	s->origin = SECRET_NONE;
}
