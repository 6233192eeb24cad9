/*
 * util.c: allocation wrappers that abort on failure, a growable byte buffer,
 * the one range-checked number parser, durations and clocks.
 */
#ifndef HSS_UTIL_H
#define HSS_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define HSS_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

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
void	 buf_add(struct buf *, const void *, size_t);
void	 buf_addc(struct buf *, char);
void	 buf_adds(struct buf *, const char *);
void	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 buf_truncate(struct buf *, size_t);

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

int64_t	 time_now_ms(void);	/* CLOCK_REALTIME, epoch milliseconds */
int64_t	 time_mono_ms(void);	/* CLOCK_MONOTONIC milliseconds */
/* ISO-8601 UTC with milliseconds: 2022-08-27T09:37:16.627Z (25 bytes). */
void	 time_format_iso(int64_t, char *, size_t);

#endif
