/*
 * secret.c: secrets from files, checked the same way wherever they are
 * read (the config at load time, auth.c when a token file changes), and
 * wiped when they are let go.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <stdlib.h>
#include <string.h>

#include "secret.h"
#include "util.h"

/*
 * Read a secret file (file_read_regular(): never blocking, a regular file
 * only): not accessible by group or others, one trailing newline stripped, not empty, no control characters.
 * Returns 0, or -1 with *errmsg (naming the path, never the contents).
 */
int
secret_read_file(const char *path, int creddir, char **value,
    char **errmsg)
{
	struct stat	 st;
	const char	*why;
	char		*data = NULL;
	size_t		 len = 0, n, i;

	*value = NULL;
	*errmsg = NULL;
	if (file_read_regular(path, SECRET_FILE_MAX, &st, &data, &len,
	    &why) == -1) {
		if (strcmp(why, "larger than the limit") == 0)
			*errmsg = xasprintf("%s is larger than %d bytes", path,
			    SECRET_FILE_MAX);
		else
			*errmsg = xasprintf("cannot read %s: %s", path, why);
		return -1;
	}
	if ((st.st_mode & 077) != 0 &&
	    !(creddir && (st.st_mode & 0777) == 0440)) {
		*errmsg = xasprintf("%s is readable by group or others "
		    "(mode %04o); chmod 600 it", path,
		    (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	n = len;
	if (n > 0 && data[n - 1] == '\n') {
		n--;
		if (n > 0 && data[n - 1] == '\r')
			n--;
	}
	if (n == 0) {
		*errmsg = xasprintf("%s is empty", path);
		goto fail;
	}
	for (i = 0; i < n; i++) {
		if ((unsigned char)data[i] < 0x20 || data[i] == 0x7f) {
			*errmsg = xasprintf("%s: the secret contains a control "
			    "character or a line break", path);
			goto fail;
		}
	}
	*value = xstrndup(data, n);
	file_data_free(data, len);
	return 0;
fail:
	file_data_free(data, len);
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
