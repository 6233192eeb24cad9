/*
 * Logging. In the foreground every line goes to stderr; when systemd's
 * journal reads stderr (JOURNAL_STREAM is set) each line starts with the
 * sd-daemon "<N>" priority prefix and carries no timestamp of its own.
 * Otherwise lines go to syslog(3). errno is preserved across every call.
 *
 * Messages quote strings from the API, files and peers, so every line is
 * escaped here, in one place, after formatting: a log line is one line of
 * text that cannot move a terminal's cursor, change its colours or split
 * itself. See log_escape().
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static int		log_foreground = 1;
static int		log_journal;
static enum log_level	log_level = LOG_LEVEL_INFO;

static const struct {
	const char	*name;
	int		 prio;
} levels[] = {
	[LOG_LEVEL_ERROR] = { "error", LOG_ERR },
	[LOG_LEVEL_WARNING] = { "warning", LOG_WARNING },
	[LOG_LEVEL_INFO] = { "info", LOG_INFO },
	[LOG_LEVEL_DEBUG] = { "debug", LOG_DEBUG },
};

void
log_init(int foreground, enum log_level level)
{
	log_foreground = foreground;
	log_level = level;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
	if (!foreground)
		openlog("hss-forwarder", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level
log_get_level(void)
{
	return log_level;
}

int
log_parse_level(const char *s, enum log_level *out)
{
	size_t	 i;

	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		if (strcmp(s, levels[i].name) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

const char *
log_level_name(enum log_level level)
{
	return levels[level].name;
}

/*
 * Copy len bytes of src to dst as one safe line: C0 controls (CR, LF and
 * TAB included), DEL, the C1 controls (U+0080-U+009F) and every byte that
 * is not part of a valid UTF-8 sequence become "\xNN" per byte; printable
 * ASCII and valid UTF-8 stay as they are. Stops before an escape that does
 * not fit; dst is always NUL-terminated. Returns the length written.
 */
size_t
log_escape(char *dst, size_t dstsz, const char *src, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p = (const unsigned char *)src;
	size_t			 i, o = 0, n, k;
	int			 bad;

	if (dstsz == 0)
		return 0;
	for (i = 0; i < len; i += n) {
		n = p[i] < 0x80 ? 1 : utf8_seq_len(p + i, len - i);
		bad = n == 0 || p[i] < 0x20 || p[i] == 0x7f ||
		    (p[i] == 0xc2 && p[i + 1] <= 0x9f);
		if (n == 0)
			n = 1;
		if (o + (bad ? 4 * n : n) >= dstsz)
			break;
		for (k = 0; k < n; k++) {
			if (bad) {
				dst[o++] = '\\';
				dst[o++] = 'x';
				dst[o++] = hex[p[i + k] >> 4];
				dst[o++] = hex[p[i + k] & 0xf];
			} else
				dst[o++] = (char)p[i + k];
		}
	}
	dst[o] = '\0';
	return o;
}

static void
log_vwrite(enum log_level level, int with_errno, const char *fmt, va_list ap)
{
	char		 msg[8192], line[4 * sizeof(msg)], ts[32];
	struct tm	 tm;
	time_t		 now;
	int		 saved = errno;
	size_t		 n;

	if (level > log_level)
		goto out;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (with_errno) {
		n = strlen(msg);
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(saved));
	}
	log_escape(line, sizeof(line), msg, strlen(msg));
	if (!log_foreground) {
		syslog(levels[level].prio, "%s", line);
		goto out;
	}
	if (log_journal) {
		fprintf(stderr, "<%d>%s\n", levels[level].prio, line);
	} else {
		now = time(NULL);
		gmtime_r(&now, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
		fprintf(stderr, "%s hss-forwarder[%d]: %s: %s\n", ts,
		    (int)getpid(), levels[level].name, line);
	}
	fflush(stderr);
out:
	errno = saved;
}

#define LOG_FN(name, level, with_errno)				\
void								\
name(const char *fmt, ...)					\
{								\
	va_list	 ap;						\
								\
	va_start(ap, fmt);					\
	log_vwrite(level, with_errno, fmt, ap);			\
	va_end(ap);						\
}

LOG_FN(log_error, LOG_LEVEL_ERROR, 1)
LOG_FN(log_errorx, LOG_LEVEL_ERROR, 0)
LOG_FN(log_warn, LOG_LEVEL_WARNING, 1)
LOG_FN(log_warnx, LOG_LEVEL_WARNING, 0)
LOG_FN(log_info, LOG_LEVEL_INFO, 0)
LOG_FN(log_debug, LOG_LEVEL_DEBUG, 0)

void
fatal(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERROR, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
