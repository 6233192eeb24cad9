/*
 * hss-forwarder: command line, start-up checks, the state directory lock,
 * signals, reload (a diff: only the sources and outputs that changed stop
 * and start; reload()), systemd notification, and the life cycle of the
 * pipeline (outputs first, then sources; stopped in the reverse order).
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <fcntl.h>
#include <getopt.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
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
/* A reload gives an output it removes or replaces this long to flush. */
#define RETIRE_MS		10000
/* --once gives up on an output after this many failed connection attempts
 * in a row (1+2+4+8+16 s: about 30 s of backoff), as sources give up on
 * API errors. */
#define ONCE_OUTPUT_ATTEMPTS	6

/* A source of the running pipeline and the config entry it runs with. */
struct src {
	struct source			*s;
	const struct source_config	*conf;
	int				 done;
};

struct daemon {
	struct event_base	 *base;
	struct config		 *conf;
	struct config		**old_confs;	/* still in use */
	size_t			  nold_confs;
	const char		 *config_path;
	struct api		 *api;
	struct outset		 *outputs;
	struct src		 *srcs;		/* of conf */
	size_t			  nsrcs;
	size_t			  sources_running;
	/* Reload (reload()): what is applied while the rest runs. */
	struct src		 *retiring;	/* stopping for good */
	size_t			  nretiring;
	const struct source_config **pending;	/* to start */
	size_t			  npending;
	/* A new state directory, locked; taken once no old source runs. */
	int			  next_lock_fd;
	char			 *next_locked_dir;
	int			  reloading;
	int			  reload_queued;
	char			 *reload_summary;
	struct stats		 *stats;
	struct event		 *ev_sigterm;
	struct event		 *ev_sigint;
	struct event		 *ev_sighup;
	struct event		 *ev_sigusr1;
	struct event		 *ev_status;
	struct event		 *ev_watchdog;
	struct event		 *ev_heartbeat;
	int64_t			  heartbeat_ms;
	struct event		 *ev_once_watch;
	struct event		 *ev_reload;	/* a queued reload */
	int64_t			  started;
	int64_t			  watchdog_ms;
	int			  lock_fd;
	char			 *locked_dir;
	int			  once;
	int			  foreground;
	int			  verbose;
	int			  running;	/* the event loop runs */
	int			  stopping;	/* 1: pipeline stopping */
	int			  outputs_stopping;
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

/*
 * Each source keeps its state journal open and a connection or two; the
 * usual soft limit of 1024 descriptors runs out near 500 sources. Raise it
 * to the hard limit (systemd's is 524288), up to NOFILE_WANT, and say so
 * when even that is short for this configuration.
 */
#define NOFILE_WANT	65536

static void
raise_nofile(const struct config *conf)
{
	struct rlimit	 rl;
	rlim_t		 want, need;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > NOFILE_WANT ?
	    NOFILE_WANT : rl.rlim_max;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		rl.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_debug("setrlimit(RLIMIT_NOFILE, %llu): %s",
			    (unsigned long long)want, strerror(errno));
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	need = 64 + 3 * (rlim_t)conf->nsources + 4 * (rlim_t)conf->noutputs;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
		log_warnx("the open file limit is %llu (hard limit %llu) and "
		    "%zu sources may need %llu; raise LimitNOFILE (systemd) "
		    "or ulimit -n, or state saves and connections will fail "
		    "with \"Too many open files\"",
		    (unsigned long long)rl.rlim_cur,
		    (unsigned long long)rl.rlim_max, conf->nsources,
		    (unsigned long long)need);
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

	for (i = 0; i < d->nsrcs; i++) {
		lag = source_lag(d->srcs[i].s, now);
		if (lag > worst)
			worst = lag;
	}
	format_duration(worst, dur, sizeof(dur));
	notify("STATUS=%zu sources, slowest lag %s", d->nsrcs, dur);
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
	for (i = 0; i < d->nsrcs; i++) {
		source_get_stats(d->srcs[i].s, &ss);
		sent += ss.sent;
		if ((lag = source_lag(d->srcs[i].s, now)) > worst)
			worst = lag;
	}
	snprintf(v[0], sizeof(v[0]), "%zu", d->nsrcs);
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

static void	source_done(struct source *, int, void *);

static void
identity_of(const struct source_config *sc, struct cursor_identity *id)
{
	memset(id, 0, sizeof(*id));
	id->project_id = sc->project_id;
	id->region = sc->region;
	id->category = config_category_name(sc->category);
	id->enterprise_project_id = sc->enterprise_project_id;
	cursor_filters_hash(sc->filters, sc->nfilters, id->filters_hash);
}

/*
 * A state file refused (a start, a reload and -n say the same): what is
 * wrong and how to fix it. An identity other than the filters means the
 * file tracks other events: resuming from it could skip or repeat some.
 */
static void
say_refused(const struct source_config *sc, const char *statedir,
    enum cursor_open_status st, const char *why, struct buf *out)
{
	buf_printf(out, "source \"%s\": state file refused: %s", sc->name,
	    why != NULL && *why != '\0' ? why : "unknown error");
	if (st != CURSOR_MISMATCH) {
		buf_adds(out, "; this source does not run until it is fixed");
		return;
	}
	buf_printf(out, "; the file was written for another source, project, "
	    "region, category or enterprise project, so resuming from it "
	    "could skip or repeat events: if this source now reads something "
	    "else, give it a new name (its new state file starts from "
	    "backfill) or move %s/%s.json away; if the config is wrong, "
	    "correct it; this source does not run until then", statedir,
	    sc->name);
}

/*
 * Only the filters changed (DESIGN.md section 11, hss-forwarder.yaml(5)):
 * the cursor carries over and the new filters apply from its committed
 * end on; what they match before it is not read unless replayed.
 */
static void
say_filters_changed(const struct source_config *sc, const struct cursor *cur,
    const char *why, struct buf *out)
{
	char	 end[40];
	size_t	 i;

	buf_printf(out, "source \"%s\": the filters changed since its state "
	    "file was written (%s); the new filters (", sc->name, why);
	for (i = 0; i < sc->nfilters; i++)
		buf_printf(out, "%s%s=%s", i > 0 ? ", " : "",
		    sc->filters[i].key, sc->filters[i].value);
	if (sc->nfilters == 0)
		buf_adds(out, "none");
	if (cursor_end(cur) == 0) {
		buf_adds(out, ") apply from the first window (nothing was "
		    "committed yet)");
		return;
	}
	time_format_iso(cursor_end(cur), end, sizeof(end));
	buf_printf(out, ") apply from the committed end, %s, on: the cursor "
	    "carries over (delivered ids kept) and the state file records "
	    "them at its next save; events before %s that only the new "
	    "filters match are not read: to send them, run `hss-forwarder "
	    "--replay %s --from TIME --to %s`", end, end, sc->name, end);
}

static void
source_env(struct daemon *d, struct source_env *env)
{
	memset(env, 0, sizeof(*env));
	env->base = d->base;
	env->api = d->api;
	env->outputs = d->outputs;
	env->once = d->once;
	env->done = source_done;
	env->done_arg = d;
}

/*
 * Open a source's cursor and build the source (not started); NULL when
 * its state file is refused (logged, with how to fix it).
 */
static struct source *
source_open(struct daemon *d, const struct source_config *sc)
{
	struct source_env	 env;
	struct cursor_identity	 id;
	struct cursor		*cur;
	enum cursor_open_status	 st;
	struct buf		 err, msg;

	buf_init(&err);
	buf_init(&msg);
	identity_of(sc, &id);
	/* Ids are kept for the lookback and the late sweep. */
	cur = cursor_open(d->conf->state_directory, sc->name, &id,
	    sc->max_tracked_ids, sc->lookback_ms + sc->sweep_range_ms, &st,
	    &err);
	if (cur == NULL) {
		say_refused(sc, d->conf->state_directory, st, err.data, &msg);
		log_errorx("%s", msg.data);
	} else if (st == CURSOR_RECOVERED)
		log_errorx("source \"%s\": %s; starting again from "
		    "now - lookback - backfill", sc->name, err.data);
	else if (st == CURSOR_FILTERS_CHANGED) {
		say_filters_changed(sc, cur, err.data, &msg);
		log_warnx("%s", msg.data);
	}
	buf_free(&err);
	buf_free(&msg);
	if (cur == NULL)
		return NULL;
	source_env(d, &env);
	return source_new(&env, sc, cur, st == CURSOR_RECOVERED);
}

/* What stats counts: the running sources and outputs, and the retiring. */
static void
stats_refresh(struct daemon *d)
{
	struct source	**ss;
	struct output	**run, **ret;
	size_t		  i, nrun, nret;

	if (d->stats == NULL)
		return;
	ss = xcalloc(d->nsrcs + d->nretiring + 1, sizeof(*ss));
	for (i = 0; i < d->nsrcs; i++)
		ss[i] = d->srcs[i].s;
	for (i = 0; i < d->nretiring; i++)
		ss[d->nsrcs + i] = d->retiring[i].s;
	stats_set_sources(d->stats, ss, d->nsrcs + d->nretiring);
	free(ss);
	run = outset_outputs(d->outputs, &nrun);
	ret = outset_retiring(d->outputs, &nret);
	stats_set_outputs(d->stats, run, nrun, ret, nret);
}

static void
heartbeat_configure(struct daemon *d)
{
	struct timeval	 tv;
	int64_t		 ms = d->conf->heartbeat_interval_ms;

	if (d->heartbeat_ms == ms && (ms == 0) == (d->ev_heartbeat == NULL))
		return;
	if (d->ev_heartbeat != NULL) {
		event_free(d->ev_heartbeat);
		d->ev_heartbeat = NULL;
	}
	d->heartbeat_ms = ms;
	if (ms <= 0)
		return;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	d->ev_heartbeat = event_new(d->base, -1, EV_PERSIST, heartbeat_cb, d);
	event_add(d->ev_heartbeat, &tv);
}

static int
conf_has_source(const struct config *c, const struct source_config *sc)
{
	return sc >= c->sources && sc < c->sources + c->nsources;
}

/* Free the earlier configs that no kept source or output uses any more. */
static void
configs_gc(struct daemon *d)
{
	struct config	*c;
	size_t		 i, k, j;
	int		 used;

	for (i = k = 0; i < d->nold_confs; i++) {
		c = d->old_confs[i];
		used = d->outputs != NULL &&
		    outset_holds(d->outputs, c->outputs, c->noutputs);
		for (j = 0; j < d->nsrcs && !used; j++)
			used = conf_has_source(c, d->srcs[j].conf);
		for (j = 0; j < d->nretiring && !used; j++)
			used = conf_has_source(c, d->retiring[j].conf);
		if (used)
			d->old_confs[k++] = c;
		else
			config_free(c);
	}
	d->nold_confs = k;
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
	for (i = 0; i < d->nsrcs; i++)
		source_free(d->srcs[i].s);
	for (i = 0; i < d->nretiring; i++)
		source_free(d->retiring[i].s);
	free(d->srcs);
	free(d->retiring);
	free(d->pending);
	d->srcs = d->retiring = NULL;
	d->pending = NULL;
	d->nsrcs = d->nretiring = d->npending = 0;
	outset_free(d->outputs);
	d->outputs = NULL;
	for (i = 0; i < d->nold_confs; i++)
		config_free(d->old_confs[i]);
	free(d->old_confs);
	d->old_confs = NULL;
	d->nold_confs = 0;
}

/* Every source and output has stopped: exit. */
static void
outputs_stopped(void *arg)
{
	struct daemon	*d = arg;

	pipeline_free(d);
	event_base_loopexit(d->base, NULL);
}

/* The stop goes on to the outputs once no source runs. */
static void
check_stopped(struct daemon *d)
{
	if (!d->stopping || d->outputs_stopping || d->sources_running > 0 ||
	    d->nretiring > 0)
		return;
	d->outputs_stopping = 1;
	outset_shutdown(d->outputs, STOP_TIMEOUT_MS - SOURCE_STOP_MS - 500,
	    outputs_stopped, d);
}

static size_t
conf_index(const struct config *c, const char *name)
{
	size_t	 i;

	for (i = 0; i < c->nsources; i++)
		if (strcmp(c->sources[i].name, name) == 0)
			break;
	return i;
}

/* Sort the running sources as the config lists them. */
static void
sort_sources(struct daemon *d)
{
	struct src	 t;
	size_t		 i, j, k;

	for (i = 1; i < d->nsrcs; i++) {
		t = d->srcs[i];
		k = conf_index(d->conf, t.conf->name);
		for (j = i; j > 0 && conf_index(d->conf,
		    d->srcs[j - 1].conf->name) > k; j--)
			d->srcs[j] = d->srcs[j - 1];
		d->srcs[j] = t;
	}
}

/*
 * A reload is applied once the sources it stops have stopped, the ones it
 * starts have started and the outputs it retires have flushed. A reload
 * that came meanwhile runs then.
 */
static void
reload_progress(struct daemon *d)
{
	const struct source_config	*sc;
	struct source			*s;
	size_t				 i, j, k;
	int				 started = 0;

	if (!d->reloading || d->stopping)
		return;
	if (d->next_lock_fd != -1 && d->nretiring == 0) {
		/* Every old source committed to the old directory. */
		close(d->lock_fd);
		free(d->locked_dir);
		d->lock_fd = d->next_lock_fd;
		d->locked_dir = d->next_locked_dir;
		d->next_lock_fd = -1;
		d->next_locked_dir = NULL;
	}
	for (i = k = 0; i < d->npending; i++) {
		sc = d->pending[i];
		for (j = 0; j < d->nretiring; j++)
			if (strcmp(d->retiring[j].conf->name, sc->name) == 0)
				break;
		if (j < d->nretiring || d->next_lock_fd != -1) {
			/* its old self still runs */
			d->pending[k++] = sc;
			continue;
		}
		if ((s = source_open(d, sc)) == NULL)
			continue;
		d->srcs = xreallocarray(d->srcs, d->nsrcs + 1,
		    sizeof(*d->srcs));
		d->srcs[d->nsrcs].s = s;
		d->srcs[d->nsrcs].conf = sc;
		d->srcs[d->nsrcs].done = 0;
		d->nsrcs++;
		d->sources_running++;
		source_start(s);
		started = 1;
	}
	d->npending = k;
	if (started) {
		sort_sources(d);
		stats_refresh(d);
	}
	(void)outset_retiring(d->outputs, &k);
	if (d->nretiring > 0 || d->npending > 0 || k > 0)
		return;
	d->reloading = 0;
	log_info("reload: new config applied: %s", d->reload_summary);
	free(d->reload_summary);
	d->reload_summary = NULL;
	if (d->nsrcs == 0 && !d->once) {
		/* A reload never stops the daemon: it waits for the next. */
		log_errorx("reload: no source of the new config can run; the "
		    "outputs and /metrics stay up: fix the state files and "
		    "reload again");
		d->failed = 1;
	}
	stats_forget(d->stats, d->conf);
	configs_gc(d);
	notify("READY=1");
	if (d->reload_queued) {
		d->reload_queued = 0;
		event_active(d->ev_reload, EV_TIMEOUT, 0);
	}
}

static void
source_done(struct source *s, int failed, void *arg)
{
	struct daemon	*d = arg;
	size_t		 i;

	if (failed) {
		d->failed = 1;
		log_errorx("source \"%s\": failed: %s", source_name(s),
		    source_failure(s) != NULL ? source_failure(s) : "unknown");
	}
	for (i = 0; i < d->nretiring; i++)
		if (d->retiring[i].s == s)
			break;
	if (i < d->nretiring) {
		/* Stopped by a reload (removed, or restarted with changes). */
		stats_carry_source(d->stats, s);
		d->retiring[i] = d->retiring[--d->nretiring];
		source_free(s);
		stats_refresh(d);
		reload_progress(d);
		check_stopped(d);
		return;
	}
	for (i = 0; i < d->nsrcs; i++)
		if (d->srcs[i].s == s && !d->srcs[i].done) {
			d->srcs[i].done = 1;
			if (d->sources_running > 0)
				d->sources_running--;
		}
	if (d->sources_running == 0 && d->nretiring == 0 && d->once &&
	    !d->stopping) {
		log_info("--once: every source is caught up; flushing outputs");
		d->exiting = 1;
		d->stopping = 1;
	}
	check_stopped(d);
}

/*
 * A replaced output did not acknowledge messages some sources handed it
 * before the reload: those sources cannot commit past them (outset.c). They
 * read the events again from their last saved cursor, now for every
 * output (the others may get some twice: at least once, never lost).
 */
static void
rewind_lost(struct daemon *d)
{
	struct source	*s;
	size_t		 i;

	for (i = 0; i < d->nsrcs; i++) {
		s = d->srcs[i].s;
		if (d->srcs[i].done ||
		    !outset_ticket_lost(d->outputs, source_ticket(s)))
			continue;
		log_warnx("source \"%s\": a replaced output did not "
		    "acknowledge all of its events; reading them again from "
		    "the last saved cursor", source_name(s));
		stats_carry_source(d->stats, s);
		source_free(s);
		if ((s = source_open(d, d->srcs[i].conf)) == NULL) {
			d->srcs[i] = d->srcs[--d->nsrcs];
			d->sources_running--;
			i--;
			continue;
		}
		d->srcs[i].s = s;
		source_start(s);
	}
	sort_sources(d);
	stats_refresh(d);
}

static void
output_retired(struct output *o, int lost, void *arg)
{
	struct daemon	*d = arg;

	stats_carry_output(d->stats, o);
	stats_refresh(d);
	/* Stopping (or --once): what is not committed is read next time. */
	if (lost && !d->stopping && !d->once)
		rewind_lost(d);
	reload_progress(d);
}

/* Start outputs then sources; returns how many sources were refused. */
static size_t
pipeline_start(struct daemon *d)
{
	struct source	*s;
	size_t		 i, refused = 0;

	if (d->outputs == NULL && (d->outputs = outset_new(d->base,
	    d->conf->outputs, d->conf->noutputs)) == NULL) {
		/* A file changed since outputs_check(). */
		log_errorx("the outputs cannot be set up; stopping");
		d->failed = 1;
		d->exiting = 1;
		event_base_loopexit(d->base, NULL);
		return 0;
	}
	outset_set_retired_cb(d->outputs, output_retired, d);
	outset_start(d->outputs);
	d->api = d->api != NULL ? d->api : api_new(d->base);
	d->stats = stats_new(d->base, d->conf);

	d->srcs = xcalloc(d->conf->nsources + 1, sizeof(*d->srcs));
	d->nsrcs = 0;
	for (i = 0; i < d->conf->nsources; i++) {
		if ((s = source_open(d, &d->conf->sources[i])) == NULL) {
			refused++;
			continue;
		}
		d->srcs[d->nsrcs].s = s;
		d->srcs[d->nsrcs].conf = &d->conf->sources[i];
		d->nsrcs++;
	}
	stats_refresh(d);
	heartbeat_configure(d);
	d->sources_running = d->nsrcs;
	for (i = 0; i < d->nsrcs; i++)
		source_start(d->srcs[i].s);
	if (d->nsrcs == 0) {
		log_errorx("no source can run; stopping");
		d->failed = 1;
		d->exiting = 1;
		pipeline_stop(d);
	}
	return refused;
}

static void
pipeline_stop(struct daemon *d)
{
	size_t	 i;

	if (d->stopping)
		return;
	d->stopping = 1;
	d->npending = 0;	/* a reload under way starts nothing more */
	for (i = 0; i < d->nsrcs; i++)
		if (!d->srcs[i].done)
			source_stop(d->srcs[i].s);
	check_stopped(d);
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

enum { KEPT, CHANGED, ADDED, REMOVED };

static void
summary_add(struct buf *names, size_t *counts, int kind, const char *name)
{
	counts[kind]++;
	if (kind != KEPT)
		buf_printf(&names[kind], "%s%s",
		    names[kind].len > 0 ? ", " : "", name);
}

/* "what: N kept, N changed (a, b), N added (c), N removed" */
static void
summary_part(struct buf *b, const char *what, const char *changed,
    const size_t *counts, const struct buf *names)
{
	const char	*verbs[4] = { "kept", changed, "added", "removed" };
	int		 i;

	buf_printf(b, "%s: %zu kept", what, counts[KEPT]);
	for (i = CHANGED; i <= REMOVED; i++) {
		buf_printf(b, ", %zu %s", counts[i], verbs[i]);
		if (counts[i] > 0)
			buf_printf(b, " (%s)", names[i].data);
	}
}

/*
 * SIGHUP: apply the difference between the running config and the file
 * (DESIGN.md section 11). Everything that can fail is done first, before
 * anything changes: the file is loaded and checked, the outputs that are
 * new or changed are built (TLS material loaded), a new state directory
 * is locked; any failure keeps the running config, with the reason logged.
 * Then:
 *  - log_level, stats_interval, heartbeat_interval and metrics_listen
 *    apply at once (the metrics listener is kept when it did not change);
 *  - an output whose settings did not change (config_output_equal(), TLS
 *    files included) keeps its connection, queue and counters; a changed
 *    one is replaced: the new one starts at once and gets every message
 *    from now on, the old one flushes (up to RETIRE_MS); what it then
 *    still had not acknowledged is read again by the sources that sent it
 *    (rewind_lost(), outset.c); a removed one flushes and goes;
 *  - a source whose settings did not change keeps running: its timers,
 *    cursor, ids and counters; a changed one stops (flush, commit) and
 *    starts again from its state file with the new settings; a removed
 *    one stops; a new one starts. A new state_directory restarts every
 *    source (they commit to the old one, the lock moves, they open in the
 *    new one).
 * Counters carry over by name (stats.c). A SIGHUP while this is under way
 * is queued: it runs once this one is applied, with the file as it is
 * then (the newest wins).
 */
static void
reload(struct daemon *d)
{
	struct config_diag		 diag;
	struct config			*conf, *old = d->conf;
	struct output			**built = NULL, *o;
	const struct output_config	*ocfg;
	const struct source_config	*sc;
	struct src			*keep = NULL;
	struct buf			 why, snames[4], onames[4], line;
	size_t				 i, j, nkeep = 0;
	size_t				 sc_n[4], oc_n[4];
	int				 lockfd = -1, restart_all;

	memset(&diag, 0, sizeof(diag));
	buf_init(&why);
	buf_init(&line);
	for (i = 0; i < 4; i++) {
		buf_init(&snames[i]);
		buf_init(&onames[i]);
		sc_n[i] = oc_n[i] = 0;
	}
	conf = config_load(d->config_path, &diag);
	if (conf != NULL && config_check_mode(conf, d->foreground, &diag) > 0) {
		config_free(conf);
		conf = NULL;
	}
	log_diag(&diag);
	config_diag_free(&diag);
	if (conf == NULL) {
		log_errorx("reload: %s has errors; keeping the running config",
		    d->config_path);
		goto done;
	}
	restart_all = config_restart_needed(old, conf, &why);
	if (restart_all && lock_statedir(conf->state_directory,
	    &lockfd) == -1) {
		log_errorx("reload: cannot use the state directory %s; "
		    "keeping the running config", conf->state_directory);
		goto fail;
	}
	built = xcalloc(conf->noutputs + 1, sizeof(*built));
	for (i = 0; i < conf->noutputs; i++) {
		o = outset_find(d->outputs, conf->outputs[i].name, &ocfg);
		if (o != NULL && config_output_equal(ocfg, &conf->outputs[i],
		    NULL))
			continue;
		if ((built[i] = output_new(d->base, &conf->outputs[i])) ==
		    NULL) {
			log_errorx("reload: output \"%s\" of %s cannot be set "
			    "up; keeping the running config",
			    conf->outputs[i].name, d->config_path);
			goto fail;
		}
	}

	/* From here on nothing fails: apply. */
	notify("RELOADING=1");
	d->reloading = 1;
	d->old_confs = xreallocarray(d->old_confs, d->nold_confs + 1,
	    sizeof(*d->old_confs));
	d->old_confs[d->nold_confs++] = old;
	d->conf = conf;
	if (lockfd != -1) {
		d->next_lock_fd = lockfd;
		d->next_locked_dir = xstrdup(conf->state_directory);
		lockfd = -1;
		log_info("reload: %s changed; every source restarts", why.data);
	}
	apply_log_level(d);
	stats_configure(d->stats, conf);
	heartbeat_configure(d);

	/* Outputs. */
	for (i = 0; i < old->noutputs; i++) {
		for (j = 0; j < conf->noutputs; j++)
			if (strcmp(old->outputs[i].name,
			    conf->outputs[j].name) == 0)
				break;
		if (j < conf->noutputs ||
		    (o = outset_find(d->outputs, old->outputs[i].name,
		    NULL)) == NULL)
			continue;
		log_info("output \"%s\": removed; flushing what it holds (up "
		    "to %d s)", output_name(o), RETIRE_MS / 1000);
		summary_add(onames, oc_n, REMOVED, output_name(o));
		outset_retire(d->outputs, o, 0, RETIRE_MS);
	}
	for (i = 0; i < conf->noutputs; i++) {
		o = outset_find(d->outputs, conf->outputs[i].name, &ocfg);
		if (built[i] == NULL) {
			summary_add(onames, oc_n, KEPT, conf->outputs[i].name);
			continue;
		}
		if (o != NULL) {
			buf_reset(&why);
			config_output_equal(ocfg, &conf->outputs[i], &why);
			log_info("output \"%s\": settings changed (%s); the "
			    "new one starts, the old one flushes what it holds "
			    "(up to %d s)", output_name(o), why.data,
			    RETIRE_MS / 1000);
			summary_add(onames, oc_n, CHANGED, output_name(o));
			outset_retire(d->outputs, o, 1, RETIRE_MS);
		} else {
			log_info("output \"%s\": added", conf->outputs[i].name);
			summary_add(onames, oc_n, ADDED, conf->outputs[i].name);
		}
		outset_add(d->outputs, built[i], &conf->outputs[i]);
	}

	/* Sources. */
	keep = xcalloc(conf->nsources + 1, sizeof(*keep));
	d->pending = xreallocarray(d->pending, conf->nsources + 1,
	    sizeof(*d->pending));
	d->npending = 0;
	d->retiring = xreallocarray(d->retiring, d->nretiring + d->nsrcs + 1,
	    sizeof(*d->retiring));
	for (i = 0; i < d->nsrcs; i++) {
		sc = d->srcs[i].conf;
		for (j = 0; j < conf->nsources; j++)
			if (strcmp(sc->name, conf->sources[j].name) == 0)
				break;
		buf_reset(&why);
		if (j < conf->nsources && !restart_all &&
		    config_source_equal(sc, &conf->sources[j], &why)) {
			keep[nkeep++] = d->srcs[i];
			summary_add(snames, sc_n, KEPT, sc->name);
			continue;
		}
		if (j == conf->nsources) {
			log_info("source \"%s\": removed; stopping it",
			    sc->name);
			summary_add(snames, sc_n, REMOVED, sc->name);
		} else {
			if (!restart_all)
				log_info("source \"%s\": settings changed "
				    "(%s); restarting it", sc->name, why.data);
			summary_add(snames, sc_n, CHANGED, sc->name);
		}
		if (d->srcs[i].done) {
			/* --once: it finished already */
			stats_carry_source(d->stats, d->srcs[i].s);
			source_free(d->srcs[i].s);
			continue;
		}
		d->retiring[d->nretiring++] = d->srcs[i];
		source_stop(d->srcs[i].s);
	}
	for (j = 0; j < conf->nsources; j++) {
		for (i = 0; i < nkeep; i++)
			if (strcmp(keep[i].conf->name,
			    conf->sources[j].name) == 0)
				break;
		if (i < nkeep)
			continue;
		d->pending[d->npending++] = &conf->sources[j];
		for (i = 0; i < d->nsrcs; i++)
			if (strcmp(d->srcs[i].conf->name,
			    conf->sources[j].name) == 0)
				break;
		if (i == d->nsrcs) {
			log_info("source \"%s\": added", conf->sources[j].name);
			summary_add(snames, sc_n, ADDED,
			    conf->sources[j].name);
		}
	}
	free(d->srcs);
	d->srcs = keep;
	keep = NULL;
	d->nsrcs = nkeep;
	d->sources_running = 0;
	for (i = 0; i < d->nsrcs; i++)
		if (!d->srcs[i].done)
			d->sources_running++;
	summary_part(&line, "sources", "restarted", sc_n, snames);
	buf_adds(&line, "; ");
	summary_part(&line, "outputs", "changed", oc_n, onames);
	free(d->reload_summary);
	d->reload_summary = xstrdup(line.data);
	sort_sources(d);
	stats_refresh(d);
	reload_progress(d);
	goto done;
fail:
	for (i = 0; built != NULL && i < conf->noutputs; i++)
		output_free(built[i]);
	if (lockfd != -1)
		close(lockfd);
	config_free(conf);
done:
	free(built);
	free(keep);
	buf_free(&why);
	buf_free(&line);
	for (i = 0; i < 4; i++) {
		buf_free(&snames[i]);
		buf_free(&onames[i]);
	}
}

static void
reload_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct daemon	*d = arg;

	if (!d->stopping)
		reload(d);
}

static void
sighup_cb(evutil_socket_t sig, short ev, void *arg)
{
	struct daemon	*d = arg;
	size_t		 nout;

	log_info("SIGHUP: reloading %s", d->config_path);
	if (d->stopping) {
		log_warnx("reload: stopping; SIGHUP ignored");
		return;
	}
	if (d->reloading) {
		(void)outset_retiring(d->outputs, &nout);
		log_info("reload: the previous reload is still being applied "
		    "(%zu sources stopping, %zu outputs flushing); this one "
		    "follows it, with the file as it is then", d->nretiring,
		    nout);
		d->reload_queued = 1;
		return;
	}
	reload(d);
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

	if ((d->ev_reload = evtimer_new(d->base, reload_cb, d)) == NULL)
		fatalx("cannot create the reload event");
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
	    d->ev_sigusr1, d->ev_status, d->ev_watchdog, d->ev_once_watch,
	    d->ev_reload };
	size_t		 i;

	for (i = 0; i < HSS_ARRAY_LEN(evs); i++)
		if (evs[i] != NULL)
			event_free(evs[i]);
}

/*
 * -n: what a start with these options would do, changing nothing: the
 * config's own errors (printed by the caller), the checks that depend on
 * the options (as warnings: the unit's command line may add -f), and every
 * state file read as a start reads it, with the same refusal or notice a
 * start logs. Exit 1 when a start would refuse (config errors or a state
 * file refused: a start then exits 1).
 */
static int
check_config(struct daemon *d)
{
	struct config_diag		 diag;
	const struct source_config	*sc;
	struct cursor_identity		 id;
	struct cursor			*cur;
	enum cursor_open_status		 st;
	struct buf			 err, msg;
	size_t				 i, refused = 0;

	memset(&diag, 0, sizeof(diag));
	config_check_mode(d->conf, d->foreground, &diag);
	for (i = 0; i < diag.nerrors; i++)
		fprintf(stderr, "warning: %s (a start without -f or --once "
		    "refuses this config)\n", diag.errors[i]);
	config_diag_free(&diag);
	if (access(d->conf->state_directory, R_OK | X_OK) == -1 &&
	    errno != ENOENT) {
		fprintf(stderr, "warning: state directory %s: %s; the state "
		    "files are not checked (run -n as the user the daemon runs "
		    "as)\n", d->conf->state_directory, strerror(errno));
		goto ok;
	}
	buf_init(&err);
	buf_init(&msg);
	for (i = 0; i < d->conf->nsources; i++) {
		sc = &d->conf->sources[i];
		identity_of(sc, &id);
		buf_reset(&err);
		buf_reset(&msg);
		cur = cursor_open_readonly(d->conf->state_directory, sc->name,
		    &id, sc->max_tracked_ids, sc->lookback_ms +
		    sc->sweep_range_ms, &st, &err);
		if (cur == NULL) {
			say_refused(sc, d->conf->state_directory, st,
			    err.data, &msg);
			fprintf(stderr, "%s\n", msg.data);
			refused++;
		} else if (st == CURSOR_RECOVERED)
			fprintf(stderr, "warning: source \"%s\": %s; a start moves "
			    "it aside and reads again from now - lookback - "
			    "backfill\n", sc->name,
			    err.data);
		else if (st == CURSOR_FILTERS_CHANGED) {
			say_filters_changed(sc, cur, err.data, &msg);
			fprintf(stderr, "warning: %s\n", msg.data);
		}
		cursor_free(cur);
	}
	buf_free(&err);
	buf_free(&msg);
	if (refused > 0) {
		fprintf(stderr, "%s: a start would refuse %zu of %zu sources "
		    "(above) and exit\n", d->config_path, refused,
		    d->conf->nsources);
		return 1;
	}
ok:
	fprintf(stderr, "%s: configuration OK\n", d->config_path);
	return 0;
}

/*
 * Descriptors 0-2 closed by whoever started us: open /dev/null there, so
 * that no file (a state file, a socket) gets one of them and receives
 * what is written to stdout or stderr.
 */
static void
std_fds(void)
{
	int	 fd;

	for (fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		if (open("/dev/null", O_RDWR) != fd)
			_exit(1);
	}
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

	std_fds();
#ifdef __GLIBC__
	/*
	 * A fixed mmap threshold. glibc raises it to the size of every large
	 * block freed (up to 32 MB), so after the first page the response
	 * bodies (1 to 5 MB each) came from the heap, which they left
	 * fragmented: 12 MB of heap after a window of 10,000 events, 3.6 MB
	 * with this (bench/run --only rss). http.c keeps the room of the
	 * last body for the next, so that a body is not mapped afresh (a
	 * page fault every 4 KB) for each page.
	 */
	(void)mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
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

	/* --once is an interactive job and the tools always run in the
	 * foreground (--replay may send to stdout): stdout is a terminal or a
	 * pipe there. */
	if (d.once || admin.mode != ADMIN_NONE)
		foreground = 1;
	d.foreground = foreground;
	memset(&diag, 0, sizeof(diag));
	d.conf = config_load(d.config_path, &diag);
	if (d.conf != NULL && !check &&
	    config_check_mode(d.conf, foreground, &diag) > 0) {
		config_free(d.conf);
		d.conf = NULL;
	}
	print_diag(&diag);
	config_diag_free(&diag);
	if (check) {
		ch = d.conf != NULL ? check_config(&d) : 1;
		config_free(d.conf);
		return ch;
	}
	if (admin.mode != ADMIN_NONE) {
		rc = admin_main(&admin, d.conf, d.config_path, lock_statedir);
		config_free(d.conf);
		return rc;
	}
	if (d.conf == NULL)
		return 1;

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
	raise_nofile(d.conf);
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
	free(d.reload_summary);
	if (d.lock_fd != -1)
		close(d.lock_fd);
	if (d.next_lock_fd != -1)
		close(d.next_lock_fd);
	free(d.locked_dir);
	free(d.next_locked_dir);
	curl_global_cleanup();
	return d.failed ? 1 : 0;
}
