/*
 * log.c: leveled logging to stderr (foreground, journal) or syslog.
 * Messages are lower-case, subject first, without a trailing newline.
 * Nothing passed here may contain a secret. Every line is escaped here
 * (log_escape), so callers may quote remote strings as they are.
 */
#ifndef HSS_LOG_H
#define HSS_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/* foreground: stderr (no timestamp and <N> prefixes under JOURNAL_STREAM). */
void	log_init(int foreground, enum log_level);
void	log_set_level(enum log_level);
enum log_level log_get_level(void);
int	log_parse_level(const char *, enum log_level *);
const char *log_level_name(enum log_level);
/* Controls (CR, LF, TAB, DEL, C1) and invalid UTF-8 as "\xNN"; the rest as
 * is. Writes at most dstsz bytes, NUL included; returns the length. */
size_t	log_escape(char *, size_t, const char *, size_t);

/* _warn/_error append ": strerror(errno)"; the x variants do not. */
void	log_error(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_errorx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
