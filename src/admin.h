/*
 * admin.c: the operator's command-line tools (hss-forwarder(8)):
 *   --check     test the whole path without changing anything: the config,
 *               the state directory, every cursor (read only), one signed
 *               API call per source, a connection to every output, closed
 *               cleanly without sending anything; one line per item;
 *   --state     where every cursor stands;
 *   --reset SOURCE --since DURATION
 *               move a source's cursor so that the next run starts that far
 *               back, its ids kept;
 *   --replay SOURCE --from TIME --to TIME [--output NAME]
 *               send a past range again, once, to one output or all.
 * main.c parses the options into struct admin_args and hands over to
 * admin_main(); --reset and --replay hold the state directory lock (taken
 * with main.c's function) and are refused while a daemon holds it.
 */
#ifndef HSS_ADMIN_H
#define HSS_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct config;

enum admin_mode {
	ADMIN_NONE,
	ADMIN_CHECK,
	ADMIN_STATE,
	ADMIN_RESET,
	ADMIN_REPLAY,
};

struct admin_args {
	enum admin_mode	 mode;
	const char	*source;	/* --reset, --replay */
	const char	*since;		/* --reset */
	const char	*from;		/* --replay */
	const char	*to;
	const char	*output;	/* --replay: NULL means every output */
	int		 verbose;	/* -v given this often */
	/* Set by admin_parse(): */
	int64_t		 now;
	int64_t		 since_ms;
	int64_t		 from_ms;
	int64_t		 to_ms;
};

/* The daemon's state directory lock (main.c): 0 held in *lockfd, or -1
 * with the reason logged. */
typedef int	(*admin_lock_fn)(const char *statedir, int *lockfd);

/*
 * Check the values and combinations of the options of a mode (before the
 * config is read). -1 with the reason in *err (a usage error, exit 2).
 */
int	admin_parse(struct admin_args *, struct buf *err);
/*
 * A TIME of --from/--to: ISO 8601 with a zone, "2026-11-30T10:00:00Z",
 * "2026-11-30T10:00:00.250Z", "2026-11-30T11:00:00+01:00" (seconds and
 * the fraction optional, a space allowed for the T), "now", or a duration
 * back from now ("2h": now - 2h). 0 and *out (epoch ms), or -1 with
 * *errstr.
 */
int	admin_parse_time(const char *, int64_t now, int64_t *out,
	    const char **errstr);
/*
 * Run the mode against conf (NULL: the config has errors, already
 * printed; only --check reports it). Returns the exit status.
 */
int	admin_main(const struct admin_args *, const struct config *,
	    const char *config_path, admin_lock_fn);

#endif
