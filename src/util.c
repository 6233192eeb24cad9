/*
 * Small helpers used by every module: allocation that never returns NULL,
 * a growable buffer, strict number and duration parsing, clocks.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "util.h"

void
xoom(size_t size)
{
	fprintf(stderr, "hss-forwarder: out of memory allocating %zu bytes\n",
	    size);
	abort();
}

void *
xmalloc(size_t size)
{
	void	*p;

	if ((p = malloc(size == 0 ? 1 : size)) == NULL)
		xoom(size);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size)) == NULL)
		xoom(n * size);
	return p;
}

void *
xreallocarray(void *old, size_t n, size_t size)
{
	void	*p;

	if (size != 0 && n > SIZE_MAX / size)
		xoom(SIZE_MAX);
	if ((p = realloc(old, n * size == 0 ? 1 : n * size)) == NULL)
		xoom(n * size);
	return p;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char	*p;

	p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
xvasprintf(const char *fmt, va_list ap)
{
	char	*s;

	if (vasprintf(&s, fmt, ap) == -1)
		xoom(0);
	return s;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

void
secret_free(char *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

/* Grow a buffer that may hold a secret: the old copy is wiped. */
static char *
buf_grow_wiped(char *old, size_t len, size_t size)
{
	char	*p;

	p = xmalloc(size);
	memcpy(p, old, len);
	OPENSSL_cleanse(old, len);
	free(old);
	return p;
}

/* What a file is when it is not a regular file. */
static const char *
file_kind_error(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory, not a regular file";
	if (S_ISFIFO(mode))
		return "a FIFO, not a regular file";
	if (S_ISCHR(mode))
		return "a character device, not a regular file";
	if (S_ISBLK(mode))
		return "a block device, not a regular file";
	if (S_ISSOCK(mode))
		return "a socket, not a regular file";
	return "not a regular file";
}

int
file_open_regular(const char *path, struct stat *stp, const char **why)
{
	struct stat	 st;
	int		 fd, saved;

	*why = NULL;
	/* A device or a FIFO is refused before it is even opened... */
	if (stat(path, &st) == -1) {
		*why = strerror(errno);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		*why = file_kind_error(st.st_mode);
		errno = EINVAL;
		return -1;
	}
	/* ...and what is opened is checked again: it may have changed. */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC |
	    O_NOCTTY)) == -1) {
		*why = strerror(errno);
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		saved = errno;
		*why = strerror(saved);
		close(fd);
		errno = saved;
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		*why = file_kind_error(st.st_mode);
		close(fd);
		errno = EINVAL;
		return -1;
	}
	if (stp != NULL)
		*stp = st;
	return fd;
}

void
file_data_free(char *data, size_t len)
{
	if (data == NULL)
		return;
	OPENSSL_cleanse(data, len);
	free(data);
}

int
file_read_regular(const char *path, size_t max, struct stat *stp,
    char **datap, size_t *lenp, const char **why)
{
	struct stat	 st;
	char		*data;
	size_t		 len = 0, cap;
	ssize_t		 r;
	int		 fd;

	*datap = NULL;
	*lenp = 0;
	if ((fd = file_open_regular(path, &st, why)) == -1)
		return -1;
	/* Sized from the file (one more byte shows that it grew), capped. */
	cap = st.st_size >= 0 && (uintmax_t)st.st_size < max ?
	    (size_t)st.st_size + 1 : max + 1;
	data = xmalloc(cap + 1);
	for (;;) {
		if (len == cap) {
			if (cap > max) {
				*why = "larger than the limit";
				goto fail;
			}
			/* It grew since fstat(): grow up to the cap. */
			cap = cap > max / 2 ? max + 1 : cap * 2;
			data = buf_grow_wiped(data, len, cap + 1);
		}
		r = read(fd, data + len, cap - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 && errno == EAGAIN) {
			*why = "would block";
			goto fail;
		}
		if (r == -1) {
			*why = strerror(errno);
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > max) {
			*why = "larger than the limit";
			goto fail;
		}
	}
	close(fd);
	data[len] = '\0';
	if (stp != NULL)
		*stp = st;
	*datap = data;
	*lenp = len;
	return 0;
fail:
	file_data_free(data, cap + 1);
	close(fd);
	return -1;
}

void
buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void
buf_reserve(struct buf *b, size_t more)
{
	size_t	 need, cap;

	if (more > SIZE_MAX - b->len - 1)
		xoom(SIZE_MAX);
	need = b->len + more + 1;
	if (need <= b->cap)
		return;
	/* double (amortised growth), or the size asked for when larger */
	cap = b->cap == 0 ? 256 : b->cap > SIZE_MAX / 2 ? need : b->cap * 2;
	if (cap < need)
		cap = need;
	b->data = xreallocarray(b->data, cap, 1);
	b->cap = cap;
}

/* Formats once into the spare room; only a longer result formats again. */
void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 room;
	int	 n;

	if (b->cap - b->len < 64)
		buf_reserve(b, 64);
	room = b->cap - b->len;
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->data[b->len] = '\0';
		return;
	}
	if ((size_t)n >= room) {
		buf_reserve(b, (size_t)n);
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

/* Decimal digits of v, written backwards ending at end; the start. */
static char *
uint_digits(char *end, uint64_t v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return end;
}

void
buf_add_uint(struct buf *b, uint64_t v)
{
	char	 tmp[20], *p;

	p = uint_digits(tmp + sizeof(tmp), v);
	buf_add(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

void
buf_add_int(struct buf *b, int64_t v)
{
	char	 tmp[21], *p;

	/* the magnitude as unsigned: INT64_MIN has no positive int64 */
	p = uint_digits(tmp + sizeof(tmp), v < 0 ? 0 - (uint64_t)v :
	    (uint64_t)v);
	if (v < 0)
		*--p = '-';
	buf_add(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

void
buf_truncate(struct buf *b, size_t len)
{
	if (len < b->len) {
		b->len = len;
		b->data[len] = '\0';
	}
}

int
parse_int64(const char *s, int64_t min, int64_t max, int64_t *out,
    const char **errstr)
{
	char		*end;
	long long	 v;

	*errstr = "invalid";
	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0')
		return -1;
	if ((errno == ERANGE && v == LLONG_MIN) || v < min) {
		*errstr = "too small";
		return -1;
	}
	if ((errno == ERANGE && v == LLONG_MAX) || v > max) {
		*errstr = "too large";
		return -1;
	}
	*errstr = NULL;
	*out = v;
	return 0;
}

int
parse_duration(const char *s, int64_t *out, const char **errstr)
{
	static const struct {
		const char	*suffix;
		int64_t		 ms;
	} units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 },
		{ "h", 3600000 }, { "d", 86400000 },
	};
	const char	*p;
	char		 num[32];
	int64_t		 v;
	size_t		 i, n;

	*errstr = "invalid duration (use a number with ms, s, m, h or d)";
	if (s == NULL)
		return -1;
	for (p = s; *p >= '0' && *p <= '9'; p++)
		;
	n = (size_t)(p - s);
	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n);
	num[n] = '\0';
	if (parse_int64(num, 0, INT64_MAX / 86400000, &v, errstr) == -1) {
		*errstr = "duration out of range";
		return -1;
	}
	if (*p == '\0') {
		if (v != 0) {
			*errstr = "duration needs a unit (ms, s, m, h or d)";
			return -1;
		}
		*out = 0;
		*errstr = NULL;
		return 0;
	}
	for (i = 0; i < HSS_ARRAY_LEN(units); i++) {
		if (strcmp(p, units[i].suffix) == 0) {
			*out = v * units[i].ms;
			*errstr = NULL;
			return 0;
		}
	}
	*errstr = "invalid duration (use a number with ms, s, m, h or d)";
	return -1;
}

void
format_duration(int64_t ms, char *out, size_t len)
{
	if (ms < 0)
		ms = 0;
	if (ms < 1000)
		snprintf(out, len, "%lldms", (long long)ms);
	else if (ms < 60000 || ms % 1000 != 0)
		snprintf(out, len, "%lld.%03llds", (long long)(ms / 1000),
		    (long long)(ms % 1000));
	else if (ms < 3600000)
		snprintf(out, len, "%lldm%llds", (long long)(ms / 60000),
		    (long long)(ms / 1000 % 60));
	else if (ms < 86400000)
		snprintf(out, len, "%lldh%lldm", (long long)(ms / 3600000),
		    (long long)(ms / 60000 % 60));
	else
		snprintf(out, len, "%lldd%lldh", (long long)(ms / 86400000),
		    (long long)(ms / 3600000 % 24));
}

int
parse_hostport(const char *s, char **host, int *port, const char **errstr)
{
	const char	*colon, *hs, *he;
	int64_t		 p;

	*host = NULL;
	if (s == NULL || *s == '\0') {
		*errstr = "empty address";
		return -1;
	}
	if (*s == '[') {
		hs = s + 1;
		if ((he = strchr(hs, ']')) == NULL || he == hs) {
			*errstr = "bad address: unterminated or empty [IPv6]";
			return -1;
		}
		if (he[1] != ':') {
			*errstr = "bad address: expected [IPv6]:port";
			return -1;
		}
		colon = he + 1;
	} else {
		hs = s;
		if ((colon = strrchr(s, ':')) == NULL) {
			*errstr = "bad address: expected host:port";
			return -1;
		}
		if (memchr(s, ':', (size_t)(colon - s)) != NULL) {
			*errstr = "bad address: write an IPv6 address as [addr]:port";
			return -1;
		}
		he = colon;
	}
	if (he == hs) {
		*errstr = "bad address: empty host";
		return -1;
	}
	if (parse_int64(colon + 1, 1, 65535, &p, errstr) == -1) {
		*errstr = "bad address: port must be 1-65535";
		return -1;
	}
	*host = xstrndup(hs, (size_t)(he - hs));
	*port = (int)p;
	*errstr = NULL;
	return 0;
}

int64_t
time_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
time_mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
time_format_iso(int64_t ms, char *out, size_t len)
{
	struct tm	 tm;
	time_t		 t;
	int64_t		 frac;

	t = (time_t)(ms / 1000);
	frac = ms % 1000;
	if (frac < 0) {
		frac += 1000;
		t -= 1;
	}
	if (gmtime_r(&t, &tm) == NULL) {
		snprintf(out, len, "1970-01-01T00:00:00.000Z");
		return;
	}
	snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)frac);
}

/*
 * Length of the valid UTF-8 sequence of 2 to 4 bytes at p, looking at no
 * more than len bytes nor past a NUL (RFC 3629's table: no overlong forms,
 * surrogates or code points above U+10FFFF), or 0.
 */
size_t
utf8_seq_len(const unsigned char *p, size_t len)
{
	unsigned char	 lo = 0x80, hi = 0xbf;
	size_t		 n, i;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (p[0] == 0xed)
			hi = 0x9f;	/* UTF-16 surrogates */
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		if (p[0] == 0xf0)
			lo = 0x90;	/* overlong */
		else if (p[0] == 0xf4)
			hi = 0x8f;	/* above U+10FFFF */
	} else
		return 0;
	if (len < n || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}
