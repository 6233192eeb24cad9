/*
 * hss-forwarder: command line, start-up checks, the state directory lock,
 * signals, reload, systemd notification, and the life cycle of the
 * pipeline (outputs first, then sources; stopped in the reverse order).
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <openssl/crypto.h>
#include <yaml.h>

#include "admin.h"
#include "api.h"
#include "config.h"
#include "cursor.h"
#include "log.h"
#include "output.h"
#include "outset.h"
#include "source.h"
#include "stats.h"
#include "util.h"
#include "window.h"

#define STOP_TIMEOUT_MS		10000	/* DESIGN.md section 9 */
#define SOURCE_STOP_MS		7000	/* sources get this much of it */
#define STATUS_INTERVAL_MS	10000
/* --once gives up on an output after this many failed connection attempts
 * in a row (1+2+4+8+16 s: about 30 s of backoff), as sources give up on
 * API errors. */
#define ONCE_OUTPUT_ATTEMPTS	6

struct daemon {
	struct event_base	 *base;
	struct config		 *conf;
	struct config		 *next_conf;	/* reload waiting to apply */
	struct outset		 *next_outputs;	/* built for next_conf */
	int			  next_lock_fd;	/* its state directory, */
	char			 *next_locked_dir; /* when another one */
	const char		 *config_path;
	struct api		 *api;
	struct outset		 *outputs;
	struct source		**sources;
	size_t			  nsources;
	size_t			  sources_running;
	struct stats		 *stats;
	struct event		 *ev_sigterm;
	struct event		 *ev_sigint;
	struct event		 *ev_sighup;
	struct event		 *ev_sigusr1;
	struct event		 *ev_status;
	struct event		 *ev_watchdog;
	struct event		 *ev_heartbeat;
	struct event		 *ev_once_watch;
	int64_t			  started;
	int64_t			  watchdog_ms;
	int			  lock_fd;
	char			 *locked_dir;
	int			  once;
	int			  verbose;
	int			  running;	/* the event loop runs */
	int			  stopping;	/* 1: pipeline stopping */
	int			  exiting;	/* exit after the stop */
	int			  failed;
};

static size_t	pipeline_start(struct daemon *);
static void	pipeline_stop(struct daemon *);

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status == 0 ? stdout : stderr,
	    "usage: hss-forwarder [-c FILE] [-f] [-n] [--once] [-v...] [-V] [-h]\n"
	    "       hss-forwarder [-c FILE] [-v...] --check | --state\n"
	    "       hss-forwarder [-c FILE] --reset SOURCE --since DURATION\n"
	    "       hss-forwarder [-c FILE] [-v...] --replay SOURCE --from TIME "
	    "--to TIME\n"
	    "                     [--output NAME]\n"
	    "  -c FILE   config file (default %s)\n"
	    "  -f        stay in the foreground, log to stderr\n"
	    "  -n        check the config and exit (0 valid, 1 invalid)\n"
	    "  --once    run every source up to now, deliver, commit, exit\n"
	    "  --check   test the config, the cursors, one API call per source\n"
	    "            and a connection to every output; nothing is sent\n"
	    "  --state   print where each source's cursor stands\n"
	    "  --reset SOURCE --since DURATION\n"
	    "            the next run of SOURCE starts DURATION (2h, 3d) back\n"
	    "  --replay SOURCE --from TIME --to TIME [--output NAME]\n"
	    "            send that range again to one output (or all), once;\n"
	    "            TIME: 2026-11-30T10:00:00Z, now, or a duration back\n"
	    "  -v        more logging (repeatable)\n"
	    "  -V        print the version and the libraries' versions\n"
	    "  -h        this help\n"
	    "--reset and --replay are refused while the daemon runs.\n",
	    CONFIG_DEFAULT_PATH);
	exit(status);
}

static void
print_version(void)
{
	curl_version_info_data	*cv;

	cv = curl_version_info(CURLVERSION_NOW);
	printf("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
	printf("libcurl %s\n", cv->version);
	printf("cJSON %s\n", cJSON_Version());
	printf("libevent %s\n", event_get_version());
	printf("OpenSSL %s\n", OpenSSL_version(OPENSSL_VERSION_STRING));
	printf("libyaml %s\n", yaml_get_version_string());
}

/* systemd notification: one datagram to $NOTIFY_SOCKET (sd_notify(3)). */
static void
notify(const char *fmt, ...)
{
	struct sockaddr_un	 sun;
	const char		*path;
	char			 msg[512];
	va_list			 ap;
	socklen_t		 len;
	int			 fd;

	if ((path = getenv("NOTIFY_SOCKET")) == NULL || *path == '\0')
		return;
	if (strlen(path) >= sizeof(sun.sun_path) ||
	    (path[0] != '/' && path[0] != '@'))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	if (sun.sun_path[0] == '@')
		sun.sun_path[0] = '\0';	/* abstract namespace */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return;
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, len) == -1)
		log_debug("sd_notify: %s", strerror(errno));
	close(fd);
}

static void
print_diag(const struct config_diag *diag)
{
	size_t	 i;

	for (i = 0; i < diag->nerrors; i++)
		fprintf(stderr, "%s\n", diag->errors[i]);
	for (i = 0; i < diag->nwarnings; i++)
		fprintf(stderr, "warning: %s\n", diag->warnings[i]);
}

static void
log_diag(const struct config_diag *diag)
{
	size_t	 i;

	for (i = 0; i < diag->nerrors; i++)
		log_errorx("config: %s", diag->errors[i]);
	for (i = 0; i < diag->nwarnings; i++)
		log_warnx("config: %s", diag->warnings[i]);
}

/*
 * Make sure the state directory exists and is writable, then hold an
 * exclusive flock on the directory itself so that a second daemon cannot
 * share it. The lock is on the directory's inode, not on a file in it:
 * deleting or replacing a file cannot release it (STATEDIR/.lock used to be
 * the locked file, and deleting it let a second daemon in). STATEDIR/.lock
 * still holds the owner's pid for the refusal message and for people; it is
 * opened without following links or blocking, and only if regular.
 * `flock -n STATEDIR true` tells a script whether a daemon holds it.
 * *lockfd: the locked directory's descriptor (the lock is held while it is
 * open).
 */
static int
lock_statedir(const char *dir, int *lockfd)
{
	struct stat	 st;
	struct buf	 err;
	char		*path = NULL, pid[32], other[32];
	ssize_t		 n;
	int		 fd = -1, pfd = -1;

	buf_init(&err);
	*lockfd = -1;
	if (cursor_check_dir(dir, &err) == -1) {
		log_errorx("state directory %s: %s", dir, err.data);
		goto fail;
	}
	path = xasprintf("%s/.lock", dir);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_error("state directory %s: cannot open it", dir);
		goto fail;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK) {
			other[0] = '\0';
			pfd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
			    O_CLOEXEC);
			if (pfd != -1 && fstat(pfd, &st) == 0 &&
			    S_ISREG(st.st_mode)) {
				n = read(pfd, other, sizeof(other) - 1);
				other[n > 0 ? n : 0] = '\0';
				other[strspn(other, "0123456789")] = '\0';
			}
			log_errorx("state directory %s is locked by another "
			    "hss-forwarder (pid %s); refusing to share it", dir,
			    other[0] != '\0' ? other : "unknown");
		} else
			log_error("state directory %s: flock", dir);
		goto fail;
	}
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	pfd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC, 0600);
	if (pfd == -1 || fstat(pfd, &st) == -1)
		log_warn("state directory %s: cannot write the pid to %s", dir,
		    path);
	else if (!S_ISREG(st.st_mode))
		log_warnx("state directory %s: %s is not a regular file; the "
		    "pid is not written to it", dir, path);
	else if (ftruncate(pfd, 0) == -1 ||
	    pwrite(pfd, pid, strlen(pid), 0) != (ssize_t)strlen(pid))
		log_warn("state directory %s: writing the pid to %s", dir,
		    path);
	if (pfd != -1)
		close(pfd);
	*lockfd = fd;
	free(path);
	buf_free(&err);
	return 0;
fail:
	if (pfd != -1)
		close(pfd);
	if (fd != -1)
		close(fd);
	free(path);
	buf_free(&err);
	return -1;
}

/*
 * Outputs whose TLS material cannot be loaded are refused before anything
 * stops or starts: at start-up the daemon exits, on reload the running
 * config stays. output_new() logs what is wrong.
 */
static int
outputs_check(const struct config *conf)
{
	struct event_base	*base;
	struct outset		*set;

	if ((base = event_base_new()) == NULL)
		fatalx("cannot create an event loop");
	set = outset_new(base, conf->outputs, conf->noutputs);
	outset_free(set);
	event_base_free(base);
	return set != NULL ? 0 : -1;
}

static void
apply_log_level(struct daemon *d)
{
	enum log_level	 level = d->conf->log_level;

	if (d->verbose > 0 && level < LOG_LEVEL_DEBUG) {
		level += d->verbose;
		if (level > LOG_LEVEL_DEBUG)
			level = LOG_LEVEL_DEBUG;
	}
	log_set_level(level);
}

static void
report_status(struct daemon *d)
{
	int64_t	 now = time_now_ms(), lag, worst = 0;
	size_t	 i;
	char	 dur[32];

	for (i = 0; i < d->nsources; i++) {
		lag = source_lag(d->sources[i], now);
		if (lag > worst)
			worst = lag;
	}
	format_duration(worst, dur, sizeof(dur));
	notify("STATUS=%zu sources, slowest lag %s", d->nsources, dur);
}

static void
status_cb(evutil_socket_t fd, short ev, void *arg)
{
	report_status(arg);
}

static void
watchdog_cb(evutil_socket_t fd, short ev, void *arg)
{
	notify("WATCHDOG=1");
}

/*
 * A heartbeat to every output that is not congested, so that a SIEM can
 * alert when the forwarder goes silent. Heartbeats are never waited for.
 */
static void
heartbeat_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct daemon		*d = arg;
	struct output_notice	 n;
	struct source_stats	 ss;
	struct kv		 kv[4];
	char			 v[4][32];
	uint64_t		 sent = 0;
	int64_t			 now = time_now_ms(), lag, worst = 0;
	size_t			 i;

	if (d->stopping)
		return;
	for (i = 0; i < d->nsources; i++) {
		source_get_stats(d->sources[i], &ss);
		sent += ss.sent;
		if ((lag = source_lag(d->sources[i], now)) > worst)
			worst = lag;
	}
	snprintf(v[0], sizeof(v[0]), "%zu", d->nsources);
	snprintf(v[1], sizeof(v[1]), "%llu", (unsigned long long)sent);
	snprintf(v[2], sizeof(v[2]), "%lld", (long long)(worst / 1000));
	snprintf(v[3], sizeof(v[3]), "%lld",
	    (long long)((now - d->started) / 1000));
	kv[0] = (struct kv){ "sources", v[0] };
	kv[1] = (struct kv){ "events_sent", v[1] };
	kv[2] = (struct kv){ "max_lag_seconds", v[2] };
	kv[3] = (struct kv){ "uptime_seconds", v[3] };
	memset(&n, 0, sizeof(n));
	n.kind = NOTICE_HEARTBEAT;
	n.now_ms = now;
	n.kv = kv;
	n.nkv = HSS_ARRAY_LEN(kv);
	outset_enqueue_notice(d->outputs, &n);
}

static void
pipeline_free(struct daemon *d)
{
	size_t	 i;

	stats_free(d->stats);
	d->stats = NULL;
	if (d->ev_heartbeat != NULL) {
		event_free(d->ev_heartbeat);
		d->ev_heartbeat = NULL;
	}
	for (i = 0; i < d->nsources; i++)
		source_free(d->sources[i]);
	free(d->sources);
	d->sources = NULL;
	d->nsources = 0;
	outset_free(d->outputs);
	d->outputs = NULL;
}

/* Every source and output has stopped: exit, or start the new config. */
static void
pipeline_stopped(struct daemon *d)
{
	pipeline_free(d);
	d->stopping = 0;
	if (d->exiting || d->next_conf == NULL) {
		event_base_loopexit(d->base, NULL);
		return;
	}
	/* Everything that can fail was done when SIGHUP came (reload_prepare):
	 * from here on the new config only starts. */
	config_free(d->conf);
	d->conf = d->next_conf;
	d->next_conf = NULL;
	d->outputs = d->next_outputs;
	d->next_outputs = NULL;
	if (d->next_lock_fd != -1) {
		close(d->lock_fd);
		free(d->locked_dir);
		d->lock_fd = d->next_lock_fd;
		d->locked_dir = d->next_locked_dir;
		d->next_lock_fd = -1;
		d->next_locked_dir = NULL;
	}
	apply_log_level(d);
	log_info("reload: new config applied");
	pipeline_start(d);
	notify("READY=1");
}

static void
outputs_stopped(void *arg)
{
	pipeline_stopped(arg);
}

static void
outputs_shutdown(struct daemon *d)
{
	outset_shutdown(d->outputs, STOP_TIMEOUT_MS - SOURCE_STOP_MS - 500,
	    outputs_stopped, d);
}

static void
source_done(struct source *s, int failed, void *arg)
{
	struct daemon	*d = arg;

	if (failed) {
		d->failed = 1;
		log_errorx("source \"%s\": failed: %s", source_name(s),
		    source_failure(s) != NULL ? source_failure(s) : "unknown");
	}
	if (d->sources_running > 0 && --d->sources_running == 0) {
		if (d->once && !d->stopping) {
			log_info("--once: every source is caught up; "
			    "flushing outputs");
			d->exiting = 1;
			d->stopping = 1;
		}
		if (d->stopping)
			outputs_shutdown(d);
	}
}

/* Start outputs then sources; returns how many sources were refused. */
static size_t
pipeline_start(struct daemon *d)
{
	struct source_env	 env;
	struct output		**outputs;
	struct cursor_identity	 id;
	struct cursor		*cur;
	struct source_config	*sc;
	enum cursor_open_status	 st;
	struct buf		 err;
	size_t			 i, noutputs, refused = 0;

	buf_init(&err);
	/* A reload built them already (reload_prepare()). */
	if (d->outputs == NULL && (d->outputs = outset_new(d->base,
	    d->conf->outputs, d->conf->noutputs)) == NULL) {
		/* At start-up only: a file changed since outputs_check(). */
		log_errorx("the outputs cannot be set up; stopping");
		d->failed = 1;
		d->exiting = 1;
		event_base_loopexit(d->base, NULL);
		buf_free(&err);
		return 0;
	}
	outset_start(d->outputs);
	d->api = d->api != NULL ? d->api : api_new(d->base);

	memset(&env, 0, sizeof(env));
	env.base = d->base;
	env.api = d->api;
	env.outputs = d->outputs;
	env.once = d->once;
	env.done = source_done;
	env.done_arg = d;

	d->sources = xcalloc(d->conf->nsources, sizeof(*d->sources));
	d->nsources = 0;
	for (i = 0; i < d->conf->nsources; i++) {
		sc = &d->conf->sources[i];
		memset(&id, 0, sizeof(id));
		id.project_id = sc->project_id;
		id.region = sc->region;
		id.category = config_category_name(sc->category);
		id.enterprise_project_id = sc->enterprise_project_id;
		cursor_filters_hash(sc->filters, sc->nfilters, id.filters_hash);
		buf_reset(&err);
		/* Ids are kept for the lookback and the late sweep. */
		cur = cursor_open(d->conf->state_directory, sc->name, &id,
		    sc->max_tracked_ids, sc->lookback_ms + sc->sweep_range_ms,
		    &st, &err);
		if (cur == NULL) {
			log_errorx("source \"%s\": state file refused: %s; "
			    "this source does not run until it is fixed",
			    sc->name, err.len > 0 ? err.data : "unknown error");
			refused++;
			continue;
		}
		if (st == CURSOR_RECOVERED)
			log_errorx("source \"%s\": %s; starting again from "
			    "now - lookback - backfill", sc->name, err.data);
		d->sources[d->nsources++] = source_new(&env, sc, cur,
		    st == CURSOR_RECOVERED);
	}
	outputs = outset_outputs(d->outputs, &noutputs);
	d->stats = stats_new(d->base, d->conf, d->sources, d->nsources,
	    outputs, noutputs);
	if (d->conf->heartbeat_interval_ms > 0) {
		struct timeval	 tv;

		tv.tv_sec = (time_t)(d->conf->heartbeat_interval_ms / 1000);
		tv.tv_usec = (suseconds_t)
		    (d->conf->heartbeat_interval_ms % 1000) * 1000;
		d->ev_heartbeat = event_new(d->base, -1, EV_PERSIST,
		    heartbeat_cb, d);
		event_add(d->ev_heartbeat, &tv);
	}
	d->sources_running = d->nsources;
	for (i = 0; i < d->nsources; i++)
		source_start(d->sources[i]);
	if (d->nsources == 0 && d->running && !d->once) {
		/* A reload never stops the daemon: it waits for the next. */
		log_errorx("reload: no source of the new config can run; the "
		    "outputs and /metrics stay up: fix the state files and "
		    "reload again");
		d->failed = 1;
	} else if (d->nsources == 0) {
		log_errorx("no source can run; stopping");
		d->failed = 1;
		d->exiting = 1;
		pipeline_stop(d);
	}
	buf_free(&err);
	return refused;
}

static void
pipeline_stop(struct daemon *d)
{
	size_t	 i, n;

	if (d->stopping)
		return;
	d->stopping = 1;
	n = d->sources_running;
	if (n == 0) {
		outputs_shutdown(d);
		return;
	}
	for (i = 0; i < d->nsources; i++)
		source_stop(d->sources[i]);
}

/*
 * --once: an output that cannot be reached makes the job fail, with the
 * reason, rather than wait forever. What was acknowledged is committed by
 * the stop; nothing else is.
 */
static void
once_watch_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct daemon	*d = arg;
	const char	*name;
	unsigned	 failures;

	if (d->stopping)
		return;
	name = outset_failing(d->outputs, ONCE_OUTPUT_ATTEMPTS, &failures);
	if (name == NULL)
		return;
	log_errorx("--once: output \"%s\" failed %u connection attempts in "
	    "a row; giving up (what it acknowledged is committed, the rest is "
	    "fetched again by the next run)", name, failures);
	d->failed = 1;
	d->exiting = 1;
	pipeline_stop(d);
}

static void
sigterm_cb(evutil_socket_t sig, short ev, void *arg)
{
	struct daemon	*d = arg;

	if (d->exiting && d->stopping) {
		log_warnx("signal %d again: exiting now", (int)sig);
		exit(d->failed ? 1 : 0);
	}
	log_info("signal %d: stopping (flushing outputs, committing)",
	    (int)sig);
	notify("STOPPING=1");
	d->exiting = 1;
	pipeline_stop(d);
}

/*
 * A reload never exits the daemon: everything about the new config that
 * can fail is done here, before the running pipeline stops: the file is
 * loaded and checked, its outputs are built (TLS material loaded: a file
 * replaced later cannot fail the start), a new state directory is locked.
 * Any failure keeps the running config, with the reason logged.
 */
static void
sighup_cb(evutil_socket_t sig, short ev, void *arg)
{
	struct daemon		*d = arg;
	struct config_diag	 diag;
	struct config		*conf;
	struct outset		*outs = NULL;
	int			 lockfd = -1;

	memset(&diag, 0, sizeof(diag));
	log_info("SIGHUP: reloading %s", d->config_path);
	if (d->stopping) {
		log_warnx("reload: already stopping; SIGHUP ignored");
		return;
	}
	conf = config_load(d->config_path, &diag);
	log_diag(&diag);
	config_diag_free(&diag);
	if (conf == NULL) {
		log_errorx("reload: %s has errors; keeping the running config",
		    d->config_path);
		return;
	}
	if ((outs = outset_new(d->base, conf->outputs, conf->noutputs)) ==
	    NULL) {
		log_errorx("reload: the outputs of %s cannot be set up; "
		    "keeping the running config", d->config_path);
		config_free(conf);
		return;
	}
	if (strcmp(conf->state_directory, d->locked_dir) != 0 &&
	    lock_statedir(conf->state_directory, &lockfd) == -1) {
		log_errorx("reload: cannot use the state directory %s; "
		    "keeping the running config", conf->state_directory);
		outset_free(outs);
		config_free(conf);
		return;
	}
	notify("RELOADING=1");
	d->next_conf = conf;
	d->next_outputs = outs;
	if (lockfd != -1) {
		d->next_lock_fd = lockfd;
		d->next_locked_dir = xstrdup(conf->state_directory);
	}
	pipeline_stop(d);
}

static void
sigusr1_cb(evutil_socket_t sig, short ev, void *arg)
{
	struct daemon	*d = arg;

	stats_log(d->stats);
}

static void
daemon_setup_events(struct daemon *d)
{
	const char	*wd;
	int64_t		 usec;
	const char	*errstr;
	struct timeval	 tv;

	d->ev_sigterm = evsignal_new(d->base, SIGTERM, sigterm_cb, d);
	d->ev_sigint = evsignal_new(d->base, SIGINT, sigterm_cb, d);
	d->ev_sighup = evsignal_new(d->base, SIGHUP, sighup_cb, d);
	d->ev_sigusr1 = evsignal_new(d->base, SIGUSR1, sigusr1_cb, d);
	evsignal_add(d->ev_sigterm, NULL);
	evsignal_add(d->ev_sigint, NULL);
	evsignal_add(d->ev_sighup, NULL);
	evsignal_add(d->ev_sigusr1, NULL);

	d->ev_status = event_new(d->base, -1, EV_PERSIST, status_cb, d);
	tv.tv_sec = STATUS_INTERVAL_MS / 1000;
	tv.tv_usec = 0;
	event_add(d->ev_status, &tv);

	if (d->once) {
		d->ev_once_watch = event_new(d->base, -1, EV_PERSIST,
		    once_watch_cb, d);
		tv.tv_sec = 1;
		tv.tv_usec = 0;
		event_add(d->ev_once_watch, &tv);
	}

	wd = getenv("WATCHDOG_USEC");
	if (wd != NULL && parse_int64(wd, 1, INT64_MAX, &usec, &errstr) == 0) {
		d->ev_watchdog = event_new(d->base, -1, EV_PERSIST,
		    watchdog_cb, d);
		usec /= 2;
		tv.tv_sec = (time_t)(usec / 1000000);
		tv.tv_usec = (suseconds_t)(usec % 1000000);
		event_add(d->ev_watchdog, &tv);
	}
}

static void
daemon_free_events(struct daemon *d)
{
	struct event	*evs[] = { d->ev_sigterm, d->ev_sigint, d->ev_sighup,
	    d->ev_sigusr1, d->ev_status, d->ev_watchdog, d->ev_once_watch };
	size_t		 i;

	for (i = 0; i < HSS_ARRAY_LEN(evs); i++)
		if (evs[i] != NULL)
			event_free(evs[i]);
}

int
main(int argc, char *argv[])
{
	enum { OPT_CHECK = 256, OPT_STATE, OPT_RESET, OPT_SINCE, OPT_REPLAY,
	    OPT_FROM, OPT_TO, OPT_OUTPUT };
	static const struct option longopts[] = {
		{ "once", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "state", no_argument, NULL, OPT_STATE },
		{ "reset", required_argument, NULL, OPT_RESET },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "replay", required_argument, NULL, OPT_REPLAY },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "to", required_argument, NULL, OPT_TO },
		{ "output", required_argument, NULL, OPT_OUTPUT },
		{ NULL, 0, NULL, 0 },
	};
	struct daemon		 d;
	struct config_diag	 diag;
	struct admin_args	 admin;
	struct buf		 err;
	enum admin_mode		 mode;
	int			 ch, foreground = 0, check = 0, rc;

	memset(&d, 0, sizeof(d));
	d.lock_fd = -1;
	d.next_lock_fd = -1;
	d.started = time_now_ms();
	d.config_path = CONFIG_DEFAULT_PATH;
	memset(&admin, 0, sizeof(admin));
	while ((ch = getopt_long(argc, argv, "c:fnvVh", longopts, NULL)) != -1) {
		mode = ADMIN_NONE;
		switch (ch) {
		case OPT_CHECK:
			mode = ADMIN_CHECK;
			break;
		case OPT_STATE:
			mode = ADMIN_STATE;
			break;
		case OPT_RESET:
			mode = ADMIN_RESET;
			admin.source = optarg;
			break;
		case OPT_REPLAY:
			mode = ADMIN_REPLAY;
			admin.source = optarg;
			break;
		case OPT_SINCE:
			admin.since = optarg;
			break;
		case OPT_FROM:
			admin.from = optarg;
			break;
		case OPT_TO:
			admin.to = optarg;
			break;
		case OPT_OUTPUT:
			admin.output = optarg;
			break;
		case 'c':
			d.config_path = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'n':
			check = 1;
			break;
		case 'o':
			d.once = 1;
			break;
		case 'v':
			d.verbose++;
			break;
		case 'V':
			print_version();
			return 0;
		case 'h':
			usage(0);
		default:
			usage(2);
		}
		if (mode != ADMIN_NONE && admin.mode != ADMIN_NONE) {
			fprintf(stderr, "hss-forwarder: --check, --state, "
			    "--reset and --replay go alone\n");
			usage(2);
		}
		if (mode != ADMIN_NONE)
			admin.mode = mode;
	}
	if (optind != argc) {
		fprintf(stderr, "hss-forwarder: unexpected argument: %s\n",
		    argv[optind]);
		usage(2);
	}
	buf_init(&err);
	/* The tools always run in the foreground: -f is accepted. */
	if ((admin.mode != ADMIN_NONE && (check || d.once)) ||
	    admin_parse(&admin, &err) == -1) {
		fprintf(stderr, "hss-forwarder: %s\n", err.len > 0 ? err.data :
		    "-n and --once do not go with --check, --state, --reset "
		    "or --replay");
		usage(2);
	}
	buf_free(&err);
	admin.verbose = d.verbose;

	memset(&diag, 0, sizeof(diag));
	d.conf = config_load(d.config_path, &diag);
	print_diag(&diag);
	config_diag_free(&diag);
	if (check) {
		if (d.conf != NULL)
			fprintf(stderr, "%s: configuration OK\n", d.config_path);
		config_free(d.conf);
		return d.conf != NULL ? 0 : 1;
	}
	if (admin.mode != ADMIN_NONE) {
		rc = admin_main(&admin, d.conf, d.config_path, lock_statedir);
		config_free(d.conf);
		return rc;
	}
	if (d.conf == NULL)
		return 1;

	/* --once is an interactive job: it always stays in the foreground. */
	if (d.once)
		foreground = 1;
	log_init(foreground, LOG_LEVEL_INFO);
	apply_log_level(&d);
	signal(SIGPIPE, SIG_IGN);

	if (outputs_check(d.conf) == -1) {
		config_free(d.conf);
		return 1;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		fatalx("libcurl initialisation failed");
	if (!foreground && daemon(0, 0) == -1)
		fatal("daemon");
	if (lock_statedir(d.conf->state_directory, &d.lock_fd) == -1) {
		config_free(d.conf);
		curl_global_cleanup();
		return 1;
	}
	d.locked_dir = xstrdup(d.conf->state_directory);
	if ((d.base = event_base_new()) == NULL)
		fatalx("cannot create the event loop");

	daemon_setup_events(&d);
	log_info("starting %s (%zu sources, %zu outputs)%s", PACKAGE_STRING,
	    d.conf->nsources, d.conf->noutputs, d.once ? ", --once" : "");
	if (pipeline_start(&d) > 0) {
		/* A refused state file at start-up is the operator's to fix. */
		d.failed = 1;
		d.exiting = 1;
		pipeline_stop(&d);
	} else
		notify("READY=1");
	report_status(&d);
	d.running = 1;
	event_base_dispatch(d.base);

	log_info("stopped%s", d.failed ? " (with failures)" : "");
	pipeline_free(&d);
	api_free(d.api);
	daemon_free_events(&d);
	event_base_free(d.base);
	config_free(d.conf);
	outset_free(d.next_outputs);
	config_free(d.next_conf);
	if (d.lock_fd != -1)
		close(d.lock_fd);
	if (d.next_lock_fd != -1)
		close(d.next_lock_fd);
	free(d.locked_dir);
	free(d.next_locked_dir);
	curl_global_cleanup();
	return d.failed ? 1 : 0;
}
