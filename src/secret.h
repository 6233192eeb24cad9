/*
 * secret.c: reading a secret from a file with the checks every secret
 * file gets, and letting a secret go (wiped).
 */
#ifndef HSS_SECRET_H
#define HSS_SECRET_H

#define SECRET_FILE_MAX		65536

/* Where a secret came from, so that auth.c can re-read it (token_file). */
enum secret_origin {
	SECRET_NONE = 0,
	SECRET_FILE,		/* *_file: path */
	SECRET_ENV,		/* *_env: variable name */
	SECRET_CREDDIR,		/* $CREDENTIALS_DIRECTORY/<key>: path */
	SECRET_INLINE,		/* in the YAML itself (warned about) */
};

struct secret {
	enum secret_origin	 origin;
	char			*where;	/* path or variable; never secret */
	char			*value;	/* wiped when freed */
};

/*
 * Read a secret file: a regular file, not accessible by group or others
 * (creddir: a file of $CREDENTIALS_DIRECTORY, where systemd's ACL shows as
 * mode 0440, which is accepted), at most SECRET_FILE_MAX bytes, one trailing newline stripped, not empty,
 * no control characters. Returns 0 with *value allocated (wipe it with
 * secret_free()), or -1 with *errmsg allocated (naming the path, never
 * the contents).
 */
int	secret_read_file(const char *path, int creddir, char **value,
	    char **errmsg);
/* Wipe and free a secret's value and forget where it came from. */
void	secret_clear(struct secret *);

#endif
