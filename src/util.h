/*
 * util.c: allocation wrappers that abort on failure, a growable byte buffer,
 * the one range-checked number parser, durations and clocks.
 */
#ifndef HSS_UTIL_H
#define HSS_UTIL_H

#include <sys/types.h>
#include <sys/stat.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define HSS_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Report an allocation of size bytes that failed, and abort. */
void	 xoom(size_t) __attribute__((noreturn));
void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
char	*xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));
char	*xvasprintf(const char *, va_list) __attribute__((format(printf, 1, 0)));
/* Wipe a secret string (OPENSSL_cleanse) and free it; NULL is a no-op. */
void	 secret_free(char *);

/* A key and its value: query parameters (repeated keys for arrays, in
 * config order), headers to sign, heartbeat counters. */
struct kv {
	char	*key;
	char	*value;
};

/* Growable buffer; data is always NUL-terminated after buf_* calls. */
struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};
void	 buf_init(struct buf *);
void	 buf_free(struct buf *);
void	 buf_reset(struct buf *);
void	 buf_reserve(struct buf *, size_t);
void	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 buf_truncate(struct buf *, size_t);
/* Decimal, as printf's %lld / %llu would write it, without printf. */
void	 buf_add_int(struct buf *, int64_t);
void	 buf_add_uint(struct buf *, uint64_t);

/*
 * The formats append a few bytes at a time, millions of times: inline, so
 * that an append that fits costs no call.
 */
static inline void
buf_add(struct buf *b, const void *p, size_t n)
{
	if (n >= b->cap - b->len)
		buf_reserve(b, n);
	if (n != 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static inline void
buf_addc(struct buf *b, char c)
{
	if (b->cap - b->len < 2)
		buf_reserve(b, 1);
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
}

static inline void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/*
 * Parse a whole decimal integer in [min, max]. Returns 0 and sets *out, or
 * -1 with *errstr "invalid", "too small" or "too large" (strtonum-like).
 */
int	 parse_int64(const char *, int64_t, int64_t, int64_t *, const char **);
/*
 * Parse a duration "250ms", "30s", "10m", "24h", "7d" (or a bare "0") into
 * milliseconds. Returns 0 or -1 with *errstr set.
 */
int	 parse_duration(const char *, int64_t *, const char **);
/* Format milliseconds as a short duration ("1d2h", "30s", "250ms"). */
void	 format_duration(int64_t, char *, size_t);
/*
 * Split "host:port" or "[v6]:port" into its parts. Returns 0 or -1 with
 * *errstr set. *host is allocated.
 */
int	 parse_hostport(const char *, char **, int *, const char **);

/*
 * Every file the daemon reads (config, secrets, token files, state files,
 * CA bundles, certificates, keys) is opened here: O_RDONLY, O_NONBLOCK (a
 * FIFO or a device cannot block the daemon), O_CLOEXEC, O_NOCTTY, and only
 * when it is a regular file (checked with stat() before the open, so that a
 * device is never opened, and with fstat() on the descriptor). Returns the
 * descriptor with *st filled (st may be NULL), or -1 with *why a reason to
 * print after the path ("No such file or directory", "a FIFO, not a regular
 * file"); errno is kept.
 */
int	 file_open_regular(const char *path, struct stat *st, const char **why);
/*
 * Read a whole file opened as above, of at most max bytes: *data (max + 1
 * bytes at most, NUL-terminated, sized from st_size) and *len. On failure
 * (*why: the reason; "larger than the limit" when over max) what was read
 * is wiped. *st as above (may be NULL). Free *data with file_data_free().
 */
int	 file_read_regular(const char *path, size_t max, struct stat *st,
	    char **data, size_t *len, const char **why);
/* Wipe (OPENSSL_cleanse) len bytes of data and free it; NULL: no-op. */
void	 file_data_free(char *data, size_t len);

int64_t	 time_now_ms(void);	/* CLOCK_REALTIME, epoch milliseconds */
int64_t	 time_mono_ms(void);	/* CLOCK_MONOTONIC milliseconds */
/* ISO-8601 UTC with milliseconds: 2022-08-27T09:37:16.627Z (25 bytes). */
void	 time_format_iso(int64_t, char *, size_t);

/* The valid UTF-8 sequence (2-4 bytes) at p within len bytes, or 0. */
size_t	 utf8_seq_len(const unsigned char *p, size_t len);

#endif
