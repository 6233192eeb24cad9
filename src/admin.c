/*
 * The operator's command-line tools (admin.h, hss-forwarder(8)): --check,
 * --state, --reset and --replay.
 *
 * --check and --state change nothing and may run beside the daemon: state
 * files are read with cursor_open_readonly() (the daemon replaces them
 * atomically, so a read sees one whole save), nothing is created, and the
 * state directory lock is only probed. --reset and --replay hold the lock,
 * as the daemon does, and are refused while a daemon holds it: a reset
 * under a running daemon would be overwritten by its next save, and a
 * replay would share the credential's API budget (5 calls a minute) with
 * it behind the back of its rate limiter.
 *
 * Results go to standard output, one line per item (--check, --state,
 * --reset); log lines go to standard error. --replay sends events, perhaps
 * to standard output, so it reports through the log only.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "admin.h"
#include "api.h"
#include "config.h"
#include "cursor.h"
#include "event.h"
#include "log.h"
#include "output.h"
#include "outset.h"
#include "source.h"
#include "util.h"
#include "window.h"

/*
 * --check: every item is bounded by CHECK_TIMEOUT_MS; the API call (the
 * last CHECK_WINDOW_MS, the smallest page) by CHECK_API_TIMEOUT_MS of HTTP
 * timeout; a connection must stay up CHECK_HOLD_MS, then is closed within
 * CHECK_CLOSE_MS. An API clock SKEW_NOTE_MS off the local one is noted.
 */
#define CHECK_TIMEOUT_MS	15000
#define CHECK_API_TIMEOUT_MS	10000
#define CHECK_WINDOW_MS		60000
#define CHECK_LIMIT		"10"
#define CHECK_HOLD_MS		1000
#define CHECK_CLOSE_MS		3000
#define CHECK_TICK_MS		50
#define SKEW_NOTE_MS		5000
#define RETENTION_MS		(30LL * 86400000)	/* API retention */
/* --replay gives up on an output after this many failed connection
 * attempts in a row, as --once does (main.c). */
#define REPLAY_OUTPUT_ATTEMPTS	6
#define REPLAY_CLOSE_MS		3000

/* What the state file of a source says, read without changing it. */
struct cursor_view {
	enum cursor_open_status	 status;
	int64_t			 end;
	int64_t			 since;
	size_t			 ids;
	off_t			 size;		/* -1: no file */
	off_t			 jbytes;	/* its journal files' */
	size_t			 jfiles;
	char			*path;
	struct buf		 err;
	const char		*note;		/* "" or why the file differs */
};

static int64_t
max_i64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

static const char *
iso(int64_t ms, char *buf, size_t len)
{
	time_format_iso(ms, buf, len);
	return buf;
}

/* A duration in whole seconds and above: "45s", "3m12s", "2h0m". */
static const char *
dur(int64_t ms, char *buf, size_t len)
{
	ms = ms / 1000 * 1000;
	if (ms < 60000)
		snprintf(buf, len, "%llds", (long long)(ms / 1000));
	else
		format_duration(ms, buf, len);
	return buf;
}

#define ISO(ms)	iso((ms), (char [32]){ 0 }, 32)
#define DUR(ms)	dur((ms), (char [32]){ 0 }, 32)

/* "3m12s behind", "up to date", "12s ahead" (a clock that was stepped). */
static const char *
lag_text(int64_t end, int64_t now, char *buf, size_t len)
{
	char	 d[32];

	if (now - end >= 1000)
		snprintf(buf, len, "%s behind", dur(now - end, d, sizeof(d)));
	else if (end - now >= 1000)
		snprintf(buf, len, "%s ahead of the local clock",
		    dur(end - now, d, sizeof(d)));
	else
		snprintf(buf, len, "up to date");
	return buf;
}

#define LAG(end, now)	lag_text((end), (now), (char [64]){ 0 }, 64)

static const struct source_config *
find_source(const struct config *conf, const char *name)
{
	size_t	 i;

	for (i = 0; i < conf->nsources; i++)
		if (strcmp(conf->sources[i].name, name) == 0)
			return &conf->sources[i];
	return NULL;
}

static const struct output_config *
find_output(const struct config *conf, const char *name)
{
	size_t	 i;

	for (i = 0; i < conf->noutputs; i++)
		if (strcmp(conf->outputs[i].name, name) == 0)
			return &conf->outputs[i];
	return NULL;
}

/* An unknown name: say which ones the config has. */
static void
unknown_name(const char *opt, const char *what, const char *name,
    const struct config *conf, const char *path)
{
	struct buf	 b;
	size_t		 i, n;

	buf_init(&b);
	n = strcmp(what, "source") == 0 ? conf->nsources : conf->noutputs;
	for (i = 0; i < n; i++)
		buf_printf(&b, "%s\"%s\"", i > 0 ? ", " : "",
		    strcmp(what, "source") == 0 ? conf->sources[i].name :
		    conf->outputs[i].name);
	fprintf(stderr, "hss-forwarder: %s: no %s \"%s\" in %s (its %ss: "
	    "%s)\n", opt, what, name, path, what, b.data);
	buf_free(&b);
}

/* The identity a source's state file must carry, as main.c builds it. */
static void
source_identity(const struct source_config *sc, struct cursor_identity *id)
{
	memset(id, 0, sizeof(*id));
	id->project_id = sc->project_id;
	id->region = sc->region;
	id->category = config_category_name(sc->category);
	id->enterprise_project_id = sc->enterprise_project_id;
	cursor_filters_hash(sc->filters, sc->nfilters, id->filters_hash);
}

/* How long the daemon keeps ids before a cursor's end (main.c). */
static int64_t
ids_kept_ms(const struct source_config *sc)
{
	return sc->lookback_ms + sc->sweep_range_ms;
}

static void
cursor_view_read(const struct config *conf, const struct source_config *sc,
    struct cursor_view *v)
{
	struct cursor_identity	 id;
	struct cursor		*c;
	struct stat		 st;

	memset(v, 0, sizeof(*v));
	buf_init(&v->err);
	v->size = -1;
	v->path = xasprintf("%s/%s.json", conf->state_directory, sc->name);
	source_identity(sc, &id);
	c = cursor_open_readonly(conf->state_directory, sc->name, &id,
	    sc->max_tracked_ids, ids_kept_ms(sc), &v->status, &v->err);
	v->note = "";
	/* A start carries the cursor over (main.c): it is usable. */
	if (v->status == CURSOR_FILTERS_CHANGED) {
		v->status = CURSOR_OK;
		v->note = "; the filters changed since the state file was "
		    "written: the new ones apply from the committed end on";
	}
	if (c != NULL) {
		v->end = cursor_end(c);
		v->since = cursor_since(c);
		v->ids = cursor_count(c);
		v->jbytes = cursor_journal_bytes(c, &v->jfiles);
		cursor_free(c);
	}
	if (v->status != CURSOR_NEW && stat(v->path, &st) == 0)
		v->size = st.st_size;
}

static void
cursor_view_free(struct cursor_view *v)
{
	free(v->path);
	buf_free(&v->err);
}

/*
 * Whether a daemon holds the state directory lock (main.c: an exclusive
 * flock on the directory): 1 (its pid, from STATEDIR/.lock, in pid, or
 * "unknown"), 0, or -1 when the directory cannot be opened (errno). The
 * probe is a shared lock released at once; a daemon starting within that
 * microsecond is refused as if another one ran, and says so.
 */
static int
lock_probe(const char *dir, char *pid, size_t len)
{
	struct stat	 st;
	char		*path;
	ssize_t		 n;
	int		 fd, pfd, held = 0;

	snprintf(pid, len, "unknown");
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	if (flock(fd, LOCK_SH | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK) {
			close(fd);
			return -1;
		}
		held = 1;
	} else
		(void)flock(fd, LOCK_UN);
	close(fd);
	if (!held)
		return 0;
	path = xasprintf("%s/.lock", dir);
	pfd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (pfd != -1 && fstat(pfd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (n = read(pfd, pid, len - 1)) > 0) {
		pid[n] = '\0';
		pid[strspn(pid, "0123456789")] = '\0';
		if (pid[0] == '\0')
			snprintf(pid, len, "unknown");
	}
	if (pfd != -1)
		close(pfd);
	free(path);
	return 1;
}

/* ------------------------------------------------------------ parsing */

/* n decimal digits at *p into *v. */
static int
digits(const char **p, int n, int *v)
{
	int	 i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		*v = *v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return 0;
}

int
admin_parse_time(const char *s, int64_t now, int64_t *out,
    const char **errstr)
{
	struct tm	 tm, chk;
	const char	*p = s;
	int64_t		 ms = 0, d, scale = 100;
	time_t		 t;
	int		 y, mo, da, h, mi, se = 0, oh = 0, om = 0, sign;

	*errstr = "not a time: use ISO 8601 with a zone "
	    "(2026-11-30T10:00:00Z), \"now\" or a duration back from now "
	    "(2h)";
	if (strcmp(s, "now") == 0) {
		*out = now;
		return 0;
	}
	if (strlen(s) < 5 || s[4] != '-') {
		if (parse_duration(s, &d, errstr) == -1)
			return -1;
		if (d > now - WINDOW_MIN_TIME_MS) {
			*errstr = "too far back";
			return -1;
		}
		*out = now - d;
		return 0;
	}
	if (digits(&p, 4, &y) == -1 || *p++ != '-' ||
	    digits(&p, 2, &mo) == -1 || *p++ != '-' ||
	    digits(&p, 2, &da) == -1 || (*p != 'T' && *p != 't' && *p != ' '))
		return -1;
	p++;
	if (digits(&p, 2, &h) == -1 || *p++ != ':' || digits(&p, 2, &mi) == -1)
		return -1;
	if (*p == ':') {
		p++;
		if (digits(&p, 2, &se) == -1)
			return -1;
		if (*p == '.' || *p == ',') {
			p++;
			if (*p < '0' || *p > '9')
				return -1;
			for (; *p >= '0' && *p <= '9'; p++, scale /= 10)
				ms += scale * (*p - '0');
		}
	}
	if (*p == 'Z' || *p == 'z')
		p++;
	else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (digits(&p, 2, &oh) == -1)
			return -1;
		if (*p == ':')
			p++;
		if (digits(&p, 2, &om) == -1 || oh > 23 || om > 59)
			return -1;
		oh *= sign;
		om *= sign;
	} else {
		*errstr = "the time has no zone: add Z (UTC) or an offset "
		    "such as +01:00";
		return -1;
	}
	if (*p != '\0')
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = da;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	chk = tm;
	if (mo < 1 || mo > 12 || da < 1 || h > 23 || mi > 59 || se > 59 ||
	    (t = timegm(&chk)) == (time_t)-1 || chk.tm_mday != da ||
	    chk.tm_mon != mo - 1) {
		*errstr = "not a valid date and time";
		return -1;
	}
	*out = (int64_t)t * 1000 + ms - ((int64_t)oh * 60 + om) * 60000;
	if (*out < WINDOW_MIN_TIME_MS) {
		*errstr = "before 2001-09-09, earlier than the API's times";
		return -1;
	}
	*errstr = NULL;
	return 0;
}

int
admin_parse(struct admin_args *a, struct buf *err)
{
	const char	*errstr;

	a->now = time_now_ms();
	if (a->since != NULL && a->mode != ADMIN_RESET) {
		buf_adds(err, "--since goes with --reset");
		return -1;
	}
	if ((a->from != NULL || a->to != NULL || a->output != NULL) &&
	    a->mode != ADMIN_REPLAY) {
		buf_adds(err, "--from, --to and --output go with --replay");
		return -1;
	}
	switch (a->mode) {
	case ADMIN_RESET:
		if (a->since == NULL) {
			buf_adds(err, "--reset SOURCE needs --since DURATION");
			return -1;
		}
		if (parse_duration(a->since, &a->since_ms, &errstr) == -1) {
			buf_printf(err, "--since %s: %s", a->since, errstr);
			return -1;
		}
		if (a->since_ms < 1000 ||
		    a->since_ms > a->now - WINDOW_MIN_TIME_MS) {
			buf_printf(err, "--since %s: out of range (1s to "
			    "years)", a->since);
			return -1;
		}
		break;
	case ADMIN_REPLAY:
		if (a->from == NULL || a->to == NULL) {
			buf_adds(err, "--replay SOURCE needs --from TIME and "
			    "--to TIME");
			return -1;
		}
		if (admin_parse_time(a->from, a->now, &a->from_ms,
		    &errstr) == -1) {
			buf_printf(err, "--from %s: %s", a->from, errstr);
			return -1;
		}
		if (admin_parse_time(a->to, a->now, &a->to_ms, &errstr) == -1) {
			buf_printf(err, "--to %s: %s", a->to, errstr);
			return -1;
		}
		if (a->from_ms >= a->to_ms) {
			buf_printf(err, "--from %s is not before --to %s",
			    a->from, a->to);
			return -1;
		}
		if (a->from_ms >= a->now) {
			buf_printf(err, "--from %s is not in the past",
			    a->from);
			return -1;
		}
		break;
	default:
		break;
	}
	return 0;
}

/* ------------------------------------------------------------ --check */

enum chk_out_state {
	CO_CONNECTING,
	CO_HOLDING,		/* up: does it stay up? */
	CO_CLOSING,		/* output_shutdown() in progress */
	CO_DONE,
};

struct chk;

struct chk_src {
	struct chk		*chk;
	struct source_config	 sc;	/* copy: the check's timeout */
	struct api_call		*call;
	int			 done;
	int			 failed;
	char			*line;
};

struct chk_out {
	struct chk		*chk;
	const struct output_config *oc;
	struct output		*o;
	enum chk_out_state	 st;
	int64_t			 up_at;		/* mono */
	char			 tls[32];	/* TLS version while up */
	char			 peer[64];
	int			 failed;
	char			*line;
};

struct chk {
	struct event_base	*base;
	struct api		*api;
	struct chk_src		*srcs;
	size_t			 nsrcs;
	struct chk_out		*outs;
	size_t			 nouts;
	struct event		*tick;
	int64_t			 deadline;	/* mono */
	size_t			 pending;
};

static void
chk_pending_done(struct chk *c)
{
	if (--c->pending == 0)
		event_base_loopexit(c->base, NULL);
}

static void
chk_api_cb(const struct api_result *res, void *arg)
{
	struct chk_src		*cs = arg;
	struct event_page	 page;
	struct buf		 err;
	char			 skew[128];
	int64_t			 d;

	cs->call = NULL;
	cs->done = 1;
	skew[0] = '\0';
	if (res->server_date_ms > 0) {
		d = res->server_date_ms + 500 - time_now_ms();
		if (d > SKEW_NOTE_MS || d < -SKEW_NOTE_MS)
			snprintf(skew, sizeof(skew), "; the API's clock is "
			    "%lld s %s the local clock (windows follow the "
			    "API's)", (long long)((d < 0 ? -d : d) / 1000),
			    d > 0 ? "ahead of" : "behind");
	}
	switch (res->status) {
	case API_OK:
		memset(&page, 0, sizeof(page));
		buf_init(&err);
		if (event_page_parse(res->body, res->body_len, &page,
		    &err) == -1) {
			cs->failed = 1;
			cs->line = xasprintf("source \"%s\": API FAIL: HTTP "
			    "200, but the answer is not a page of events: %s",
			    cs->sc.name, err.data);
		} else
			cs->line = xasprintf("source \"%s\": API OK (HTTP "
			    "200, %lld event%s in the last minute%s)",
			    cs->sc.name, (long long)page.total_num,
			    page.total_num == 1 ? "" : "s", skew);
		event_page_clear(&page);
		buf_free(&err);
		break;
	case API_AUTH:
		cs->failed = 1;
		cs->line = xasprintf("source \"%s\": API FAIL: authentication "
		    "refused: %s%s", cs->sc.name, res->detail, skew);
		break;
	case API_BAD_REQUEST:
		cs->failed = 1;
		cs->line = xasprintf("source \"%s\": API FAIL: the request "
		    "was refused as invalid: %s", cs->sc.name, res->detail);
		break;
	default:
		cs->failed = 1;
		cs->line = xasprintf("source \"%s\": API FAIL: %s%s",
		    cs->sc.name, res->detail, skew);
		break;
	}
	chk_pending_done(cs->chk);
}

/* One signed call: the last minute, the smallest page, the filters. */
static void
chk_api_start(struct chk_src *cs)
{
	const struct source_config *sc = &cs->sc;
	struct kv	*q;
	char		 begin[24], end[24];
	int64_t		 now = time_now_ms();
	size_t		 n = 0, i;

	q = xcalloc(6 + sc->nfilters, sizeof(*q));
	snprintf(begin, sizeof(begin), "%013" PRId64, now - CHECK_WINDOW_MS);
	snprintf(end, sizeof(end), "%013" PRId64, now);
	q[n++] = (struct kv){ "category",
	    (char *)config_category_name(sc->category) };
	q[n++] = (struct kv){ "begin_time", begin };
	q[n++] = (struct kv){ "end_time", end };
	q[n++] = (struct kv){ "offset", "0" };
	q[n++] = (struct kv){ "limit", CHECK_LIMIT };
	if (sc->enterprise_project_id != NULL)
		q[n++] = (struct kv){ "enterprise_project_id",
		    sc->enterprise_project_id };
	for (i = 0; i < sc->nfilters; i++)
		q[n++] = sc->filters[i];
	cs->call = api_list_events(cs->chk->api, sc, q, n, chk_api_cb, cs);
	free(q);
}

/* " (PEER)" when the address was a name, else "". */
static const char *
peer_note(const char *address, const char *peer, char *buf, size_t len)
{
	if (peer[0] == '\0' || strcmp(address, peer) == 0)
		buf[0] = '\0';
	else
		snprintf(buf, len, " (%s)", peer);
	return buf;
}

static void
chk_out_closed(void *arg)
{
	struct chk_out	*co = arg;
	const char	*tp = config_transport_name(co->oc->transport);
	char		 pn[80];

	co->st = CO_DONE;
	if (co->line == NULL) {
		if (co->oc->transport == TRANSPORT_UDP)
			co->line = xasprintf("output \"%s\": OK (udp to "
			    "%s%s: the name resolves and a route exists "
			    "(connect()); whether a receiver listens cannot "
			    "be checked without sending a datagram, and none "
			    "is sent)", co->oc->name, co->oc->address,
			    peer_note(co->oc->address, co->peer, pn,
			    sizeof(pn)));
		else
			co->line = xasprintf("output \"%s\": OK (%s to %s%s: "
			    "connected%s%s%s%s, closed%s without sending "
			    "anything)", co->oc->name, tp, co->oc->address,
			    peer_note(co->oc->address, co->peer, pn,
			    sizeof(pn)),
			    co->tls[0] != '\0' ? " with " : "", co->tls,
			    co->tls[0] == '\0' ? "" : co->oc->tls.verify ?
			    ", certificate verified" : ", certificate NOT "
			    "verified (tls.verify is false)",
			    co->oc->transport == TRANSPORT_RELP ?
			    ", RELP session opened" : "",
			    co->tls[0] != '\0' ? " with close_notify" : "");
	}
	chk_pending_done(co->chk);
}

static void
chk_out_close(struct chk_out *co, int failed, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The verdict is in (fmt NULL: OK, the line is made once closed). */
static void
chk_out_close(struct chk_out *co, int failed, const char *fmt, ...)
{
	va_list	 ap;
	char	*why;

	if (fmt != NULL) {
		va_start(ap, fmt);
		why = xvasprintf(fmt, ap);
		va_end(ap);
		co->line = xasprintf("output \"%s\": FAIL: %s", co->oc->name,
		    why);
		free(why);
	}
	co->failed = failed;
	co->st = CO_CLOSING;
	output_shutdown(co->o, CHECK_CLOSE_MS, chk_out_closed, co);
}

static void
chk_out_poll(struct chk_out *co, int64_t mono, int late)
{
	struct output_stats	 st;
	const char		*v, *why = output_last_error(co->o);
	char			 pn[80];

	output_get_stats(co->o, &st);
	switch (co->st) {
	case CO_CONNECTING:
		if (st.connected) {
			snprintf(co->peer, sizeof(co->peer), "%s",
			    output_peer(co->o));
			if ((v = output_tls_version(co->o)) != NULL)
				snprintf(co->tls, sizeof(co->tls), "%s", v);
			if (co->oc->transport == TRANSPORT_UDP) {
				chk_out_close(co, 0, NULL);
				return;
			}
			co->up_at = mono;
			co->st = CO_HOLDING;
		} else if (output_failures(co->o) > 0)
			chk_out_close(co, 1, "connecting to %s%s: %s",
			    co->oc->address, peer_note(co->oc->address,
			    output_peer(co->o), pn, sizeof(pn)), why);
		else if (late)
			chk_out_close(co, 1, "connecting to %s: no connection "
			    "within %d s%s%s", co->oc->address,
			    CHECK_TIMEOUT_MS / 1000, why[0] != '\0' ?
			    "; last attempt: " : "", why);
		break;
	case CO_HOLDING:
		if (!st.connected)
			chk_out_close(co, 1, "%s%s: the connection was "
			    "closed right after it opened: %s",
			    co->oc->address, peer_note(co->oc->address,
			    co->peer, pn, sizeof(pn)), why[0] != '\0' ? why :
			    "closed");
		else if (mono - co->up_at >= CHECK_HOLD_MS)
			chk_out_close(co, 0, NULL);
		break;
	case CO_CLOSING:
	case CO_DONE:
		break;
	}
}

static void
chk_tick(evutil_socket_t fd, short ev, void *arg)
{
	struct chk	*c = arg;
	int64_t		 mono = time_mono_ms();
	int		 late = mono >= c->deadline, throttled;
	size_t		 i;

	for (i = 0; i < c->nouts; i++)
		if (c->outs[i].o != NULL)
			chk_out_poll(&c->outs[i], mono, late);
	for (i = 0; late && i < c->nsrcs; i++) {
		if (c->srcs[i].call == NULL || c->srcs[i].done)
			continue;
		throttled = api_call_throttled(c->srcs[i].call);
		api_call_cancel(c->srcs[i].call);
		c->srcs[i].call = NULL;
		c->srcs[i].done = 1;
		c->srcs[i].failed = 1;
		if (throttled > 0)
			c->srcs[i].line = xasprintf("source \"%s\": API FAIL: "
			    "throttled: HTTP 429 (APIG.0308) %d time%s within "
			    "%d s: the credential's calls a minute are used up "
			    "(by a running daemon, or another client of the "
			    "same key or user); try again in a minute",
			    c->srcs[i].sc.name, throttled, throttled == 1 ?
			    "" : "s", CHECK_TIMEOUT_MS / 1000);
		else
			c->srcs[i].line = xasprintf("source \"%s\": API FAIL: "
			    "no answer within %d s (the connection, an IAM "
			    "token or the API's rate limit; -v logs each "
			    "step)", c->srcs[i].sc.name,
			    CHECK_TIMEOUT_MS / 1000);
		chk_pending_done(c);
	}
}

static int
chk_statedir(const char *dir)
{
	struct stat	 st;
	char		 pid[32], *parent, *slash;
	int		 held;

	if (stat(dir, &st) == -1 && errno == ENOENT) {
		parent = xstrdup(dir);
		if ((slash = strrchr(parent, '/')) != NULL)
			*(slash == parent ? slash + 1 : slash) = '\0';
		else
			snprintf(parent, strlen(parent) + 1, ".");
		if (access(parent, W_OK | X_OK) == -1) {
			printf("state directory %s: FAIL: it does not exist "
			    "and cannot be created in %s: %s\n", dir, parent,
			    strerror(errno));
			free(parent);
			return 1;
		}
		printf("state directory %s: OK (does not exist yet; the "
		    "first start creates it, mode 0700)\n", dir);
		free(parent);
		return 0;
	}
	if (stat(dir, &st) == -1) {
		printf("state directory %s: FAIL: %s\n", dir, strerror(errno));
		return 1;
	}
	if (!S_ISDIR(st.st_mode)) {
		printf("state directory %s: FAIL: not a directory\n", dir);
		return 1;
	}
	if (access(dir, W_OK | X_OK) == -1) {
		printf("state directory %s: FAIL: not writable by this user "
		    "(uid %d): %s; run --check as the service's user\n", dir,
		    (int)getuid(), strerror(errno));
		return 1;
	}
	held = lock_probe(dir, pid, sizeof(pid));
	printf("state directory %s: OK (writable; %s%s%s)\n", dir,
	    held == 1 ? "a running hss-forwarder holds it, pid " :
	    "no hss-forwarder holds it", held == 1 ? pid : "",
	    held == 1 ? ": the cursors below are as of its last save" : "");
	return 0;
}

/* One line for a cursor; returns 1 when the daemon would not use it. */
static int
chk_cursor(const struct config *conf, const struct source_config *sc,
    int64_t now)
{
	struct cursor_view	 v;
	int			 failed = 0;

	cursor_view_read(conf, sc, &v);
	switch (v.status) {
	case CURSOR_FILTERS_CHANGED:	/* cursor_view_read() made it OK */
	case CURSOR_OK:
		if (v.end == 0)
			printf("cursor \"%s\": OK (no window committed yet, "
			    "%zu tracked ids%s)\n", sc->name, v.ids, v.note);
		else
			printf("cursor \"%s\": OK (end %s, %s, %zu tracked "
			    "ids%s)\n", sc->name, ISO(v.end), LAG(v.end, now),
			    v.ids, v.note);
		break;
	case CURSOR_NEW:
		printf("cursor \"%s\": OK (no state file yet: the first start "
		    "reads from now - backfill, %s back)\n", sc->name,
		    DUR(sc->backfill_ms));
		break;
	case CURSOR_RECOVERED:
		failed = 1;
		printf("cursor \"%s\": FAIL: %s; the daemon would move it "
		    "aside and read again from now - lookback - backfill\n",
		    sc->name, v.err.data);
		break;
	case CURSOR_MISMATCH:
		failed = 1;
		printf("cursor \"%s\": FAIL: the daemon would refuse the "
		    "state file: %s\n", sc->name, v.err.data);
		break;
	case CURSOR_ERROR:
		failed = 1;
		printf("cursor \"%s\": FAIL: %s\n", sc->name, v.err.data);
		break;
	}
	cursor_view_free(&v);
	return failed;
}

static int
admin_check(const struct admin_args *a, const struct config *conf,
    const char *path)
{
	struct chk	 c;
	struct timeval	 tv;
	size_t		 i, items = 0, failed = 0;
	int64_t		 now = time_now_ms();

	if (conf == NULL) {
		printf("config %s: FAIL: it has errors (listed above); nothing "
		    "else is checked\n", path);
		return 1;
	}
	printf("config %s: OK (%zu source%s, %zu output%s)\n", path,
	    conf->nsources, conf->nsources == 1 ? "" : "s", conf->noutputs,
	    conf->noutputs == 1 ? "" : "s");
	items = 2;
	failed += chk_statedir(conf->state_directory);
	for (i = 0; i < conf->nsources; i++) {
		items++;
		failed += chk_cursor(conf, &conf->sources[i], now);
	}
	fflush(stdout);

	memset(&c, 0, sizeof(c));
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		fatalx("libcurl initialisation failed");
	if ((c.base = event_base_new()) == NULL)
		fatalx("cannot create an event loop");
	c.api = api_new(c.base);
	c.deadline = time_mono_ms() + CHECK_TIMEOUT_MS;
	c.srcs = xcalloc(conf->nsources, sizeof(*c.srcs));
	c.nsrcs = conf->nsources;
	c.outs = xcalloc(conf->noutputs, sizeof(*c.outs));
	c.nouts = conf->noutputs;
	for (i = 0; i < c.nsrcs; i++) {
		c.srcs[i].chk = &c;
		c.srcs[i].sc = conf->sources[i];
		if (c.srcs[i].sc.timeout_ms > CHECK_API_TIMEOUT_MS)
			c.srcs[i].sc.timeout_ms = CHECK_API_TIMEOUT_MS;
		c.pending++;
		chk_api_start(&c.srcs[i]);
	}
	for (i = 0; i < c.nouts; i++) {
		c.outs[i].chk = &c;
		c.outs[i].oc = &conf->outputs[i];
		if (c.outs[i].oc->transport == TRANSPORT_STDOUT) {
			c.outs[i].line = xasprintf("output \"%s\": OK "
			    "(standard output: nothing to connect to)",
			    c.outs[i].oc->name);
			continue;
		}
		/* Why TLS material cannot be loaded is a warning. */
		if (a->verbose == 0)
			log_set_level(LOG_LEVEL_WARNING);
		c.outs[i].o = output_new(c.base, c.outs[i].oc);
		if (a->verbose == 0)
			log_set_level(LOG_LEVEL_ERROR);
		if (c.outs[i].o == NULL) {
			c.outs[i].failed = 1;
			c.outs[i].line = xasprintf("output \"%s\": FAIL: it "
			    "cannot be set up (its TLS material: the reason "
			    "is logged above)", c.outs[i].oc->name);
			continue;
		}
		c.pending++;
		(void)output_start(c.outs[i].o);
	}
	c.tick = event_new(c.base, -1, EV_PERSIST, chk_tick, &c);
	tv.tv_sec = 0;
	tv.tv_usec = CHECK_TICK_MS * 1000;
	event_add(c.tick, &tv);
	if (c.pending > 0)
		event_base_dispatch(c.base);

	for (i = 0; i < c.nsrcs; i++) {
		items++;
		failed += c.srcs[i].failed;
		printf("%s\n", c.srcs[i].line);
		free(c.srcs[i].line);
	}
	for (i = 0; i < c.nouts; i++) {
		items++;
		failed += c.outs[i].failed;
		printf("%s\n", c.outs[i].line);
		free(c.outs[i].line);
		output_free(c.outs[i].o);
	}
	if (failed == 0)
		printf("check: all %zu items OK\n", items);
	else
		printf("check: %zu of %zu items FAILED\n", failed, items);
	event_free(c.tick);
	api_free(c.api);
	event_base_free(c.base);
	free(c.srcs);
	free(c.outs);
	curl_global_cleanup();
	return failed == 0 ? 0 : 1;
}

/* ------------------------------------------------------------ --state */

static int
admin_state(const struct config *conf)
{
	struct cursor_view	 v;
	const struct source_config *sc;
	char			 pid[32], *size, since[64];
	int64_t			 now = time_now_ms();
	size_t			 i;
	int			 failed = 0, held;

	held = lock_probe(conf->state_directory, pid, sizeof(pid));
	if (held == 1)
		printf("state directory %s: hss-forwarder pid %s is running "
		    "(daemon running: as of its last save)\n",
		    conf->state_directory, pid);
	else if (held == 0)
		printf("state directory %s: no hss-forwarder is running\n",
		    conf->state_directory);
	else
		printf("state directory %s: %s\n", conf->state_directory,
		    errno == ENOENT ? "does not exist yet (no daemon ever "
		    "ran)" : strerror(errno));
	for (i = 0; i < conf->nsources; i++) {
		sc = &conf->sources[i];
		cursor_view_read(conf, sc, &v);
		since[0] = '\0';
		if (v.size >= 0 && v.jfiles > 0)
			size = xasprintf(", state file %s (%lld bytes) and its "
			    "journal (%lld bytes in %zu file%s)", v.path,
			    (long long)v.size, (long long)v.jbytes, v.jfiles,
			    v.jfiles == 1 ? "" : "s");
		else if (v.size >= 0)
			size = xasprintf(", state file %s (%lld bytes)", v.path,
			    (long long)v.size);
		else
			size = xstrdup("");
		if (v.since > 0)
			snprintf(since, sizeof(since), ", read since %s",
			    ISO(v.since));
		switch (v.status) {
		case CURSOR_FILTERS_CHANGED:	/* made OK by cursor_view_read() */
		case CURSOR_OK:
			if (v.end == 0)
				printf("source \"%s\": no window committed "
				    "yet, %zu tracked ids%s%s%s\n", sc->name,
				    v.ids, since, size, v.note);
			else
				printf("source \"%s\": committed end %s (%s), "
				    "%zu tracked ids%s%s%s\n", sc->name,
				    ISO(v.end), LAG(v.end, now), v.ids, since,
				    size, v.note);
			break;
		case CURSOR_NEW:
			printf("source \"%s\": no state file yet (%s): the "
			    "first start reads from now - backfill, %s back\n",
			    sc->name, v.path, DUR(sc->backfill_ms));
			break;
		case CURSOR_RECOVERED:
			failed = 1;
			printf("source \"%s\": FAIL: %s; the daemon moves it "
			    "aside and reads again from now - lookback - "
			    "backfill\n", sc->name, v.err.data);
			break;
		case CURSOR_MISMATCH:
			failed = 1;
			printf("source \"%s\": FAIL: the daemon refuses the "
			    "state file: %s\n", sc->name, v.err.data);
			break;
		case CURSOR_ERROR:
			failed = 1;
			printf("source \"%s\": FAIL: %s\n", sc->name,
			    v.err.data);
			break;
		}
		cursor_view_free(&v);
		free(size);
	}
	return failed;
}

/* ------------------------------------------------- --reset and --replay */

/* Refuse while a daemon holds the state directory, then hold it. */
static int
take_lock(const char *opt, const struct config *conf, admin_lock_fn lockfn,
    const char *why, int *lockfd)
{
	char	 pid[32];

	if (lock_probe(conf->state_directory, pid, sizeof(pid)) == 1) {
		fprintf(stderr, "hss-forwarder: %s refused: a running "
		    "hss-forwarder (pid %s) holds the state directory %s; "
		    "%s. Stop it first (systemctl stop hss-forwarder), then "
		    "run this again.\n", opt, pid, conf->state_directory, why);
		return -1;
	}
	if (lockfn(conf->state_directory, lockfd) == -1) {
		fprintf(stderr, "hss-forwarder: %s refused: the state "
		    "directory %s cannot be locked (above)\n", opt,
		    conf->state_directory);
		return -1;
	}
	return 0;
}

/*
 * Run as root, a state file written for the daemon's user would be
 * unreadable to it (0600): it goes to the owner of the state directory.
 */
static void
give_to_owner(const char *dir, const char *path)
{
	struct stat	 st;

	if (geteuid() != 0 || stat(dir, &st) == -1 || st.st_uid == 0)
		return;
	if (chown(path, st.st_uid, st.st_gid) == -1)
		printf("warning: %s: cannot give it to the owner of %s (uid "
		    "%d): %s; the daemon may not read it\n", path, dir,
		    (int)st.st_uid, strerror(errno));
}

static void
give_file(const char *path, void *dir)
{
	give_to_owner(dir, path);
}

/*
 * Move the cursor so that the next run plans its first window from
 * now - since - lookback. The ids stay, so an event already sent is not
 * sent again unless its id was pruned already: ids are kept for lookback +
 * sweep_range before the end of the last save (and within
 * max_tracked_ids). A source without a state file gets one, so that its
 * first start reads from now - since rather than now - backfill. A
 * corrupt file is moved aside, as the daemon would, and a new one written.
 */
static int
admin_reset(const struct admin_args *a, const struct config *conf,
    const char *path, admin_lock_fn lockfn)
{
	const struct source_config *sc;
	struct cursor_identity	 id;
	struct cursor		*c = NULL;
	enum cursor_open_status	 st;
	struct buf		 err;
	int64_t			 now, end, old_end, since, kept_from;
	int			 lockfd = -1, rc = 1;

	buf_init(&err);
	if ((sc = find_source(conf, a->source)) == NULL) {
		unknown_name("--reset", "source", a->source, conf, path);
		goto done;
	}
	if (take_lock("--reset", conf, lockfn, "the daemon's next save would "
	    "overwrite the reset", &lockfd) == -1)
		goto done;
	source_identity(sc, &id);
	c = cursor_open(conf->state_directory, sc->name, &id,
	    sc->max_tracked_ids, ids_kept_ms(sc), &st, &err);
	if (c == NULL) {
		printf("source \"%s\": FAIL: %s%s; nothing was changed\n",
		    sc->name, st == CURSOR_MISMATCH ? "the state file does "
		    "not belong to this source's config: " : "", err.data);
		goto done;
	}
	if (st == CURSOR_RECOVERED)
		printf("source \"%s\": %s\n", sc->name, err.data);
	now = time_now_ms();
	end = now - a->since_ms;
	old_end = cursor_end(c);
	since = cursor_since(c);
	/* The late sweep reads no earlier than since: let it reach back. */
	if (since > 0 && since > end - sc->lookback_ms)
		cursor_set_since(c, max_i64(end - sc->lookback_ms,
		    WINDOW_MIN_TIME_MS));
	buf_reset(&err);
	if (cursor_commit(c, end, &err) == -1) {
		printf("source \"%s\": FAIL: %s; nothing was changed\n",
		    sc->name, err.data);
		goto done;
	}
	/*
	 * The save is a snapshot (no state file before) or a journal record
	 * after those of the old state, so a start replays the reset last.
	 * On disk before the line says so; a compaction it is due for is
	 * done here too, then every file goes to the daemon's user.
	 */
	if (cursor_sync(c, &err) == -1) {
		printf("source \"%s\": FAIL: %s; the reset is written but "
		    "may not survive a power loss\n", sc->name, err.data);
		cursor_each_file(c, give_file,
		    (void *)(uintptr_t)conf->state_directory);
		goto done;
	}
	rc = 0;
	cursor_each_file(c, give_file,
	    (void *)(uintptr_t)conf->state_directory);
	if (st == CURSOR_NEW || st == CURSOR_RECOVERED)
		printf("source \"%s\": cursor created with end %s (%s ago): "
		    "the first start reads from %s (end - lookback) instead "
		    "of now - backfill\n", sc->name, ISO(end),
		    DUR(a->since_ms), ISO(end - sc->lookback_ms));
	else
		printf("source \"%s\": cursor reset: end %s (was %s, %s), "
		    "%zu tracked ids kept: the next run reads from %s (end - "
		    "lookback)\n", sc->name, ISO(end), old_end == 0 ?
		    "never committed" : ISO(old_end), old_end == 0 ? "-" :
		    LAG(old_end, now), cursor_count(c),
		    ISO(end - sc->lookback_ms));
	kept_from = old_end - ids_kept_ms(sc);
	if (old_end > 0 && end - sc->lookback_ms < kept_from)
		printf("source \"%s\": note: ids are kept for lookback + "
		    "sweep_range (%s) before the end: events sent before %s "
		    "are sent again\n", sc->name, DUR(ids_kept_ms(sc)),
		    ISO(kept_from));
	if (old_end > 0 && end > old_end)
		printf("source \"%s\": warning: the cursor moved forward by "
		    "%s: events from %s to %s are not read by the live "
		    "windows (read them with --replay)\n", sc->name,
		    DUR(end - old_end), ISO(old_end - sc->lookback_ms),
		    ISO(end - sc->lookback_ms));
	if (a->since_ms > RETENTION_MS)
		printf("source \"%s\": note: the API keeps events for 30 "
		    "days; the part before %s is gone\n", sc->name,
		    ISO(now - RETENTION_MS));
done:
	cursor_free(c);
	if (lockfd != -1)
		close(lockfd);
	buf_free(&err);
	return rc;
}

struct replay {
	struct event_base	*base;
	struct outset		*outputs;
	struct source		*src;
	struct event		*ev_watch;
	struct event		*ev_sigint;
	struct event		*ev_sigterm;
	int			 done;
	int			 failed;
	char			*why;
};

static void
replay_outputs_stopped(void *arg)
{
	struct replay	*r = arg;

	event_base_loopexit(r->base, NULL);
}

static void
replay_source_done(struct source *s, int failed, void *arg)
{
	struct replay	*r = arg;

	r->done = 1;
	r->failed = failed;
	outset_shutdown(r->outputs, REPLAY_CLOSE_MS, replay_outputs_stopped, r);
}

/* An output that cannot be reached fails the replay, as with --once. */
static void
replay_watch_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct replay	*r = arg;
	const char	*name;
	unsigned	 failures;

	if (r->done || (name = outset_failing(r->outputs,
	    REPLAY_OUTPUT_ATTEMPTS, &failures)) == NULL)
		return;
	free(r->why);
	r->why = xasprintf("output \"%s\" failed %u connection attempts in a "
	    "row", name, failures);
	source_stop(r->src);
}

static void
replay_signal_cb(evutil_socket_t sig, short ev, void *arg)
{
	struct replay	*r = arg;

	if (r->done) {
		log_warnx("signal %d again: exiting now", (int)sig);
		exit(1);
	}
	log_info("signal %d: stopping the replay", (int)sig);
	free(r->why);
	r->why = xasprintf("stopped by signal %d", (int)sig);
	source_stop(r->src);
}

static int
admin_replay(const struct admin_args *a, const struct config *conf,
    const char *path, admin_lock_fn lockfn)
{
	const struct source_config *sc;
	const struct output_config *oc = NULL;
	struct source_env	 env;
	struct source_stats	 ss;
	struct replay		 r;
	struct api		*api = NULL;
	struct timeval		 tv;
	struct buf		 lost;
	const char		*why;
	char			 to_name[128];
	int64_t			 to = a->to_ms, now;
	int			 lockfd = -1, rc = 1;

	memset(&r, 0, sizeof(r));
	if ((sc = find_source(conf, a->source)) == NULL) {
		unknown_name("--replay", "source", a->source, conf, path);
		return 1;
	}
	if (a->output != NULL && (oc = find_output(conf, a->output)) == NULL) {
		unknown_name("--output", "output", a->output, conf, path);
		return 1;
	}
	if (take_lock("--replay", conf, lockfn, "two processes would share "
	    "the credential's API rate limit (calls_per_minute)",
	    &lockfd) == -1)
		return 1;
	now = time_now_ms();
	if (to > now) {
		log_info("--to %s is later than now: the replay reads up to "
		    "%s", a->to, ISO(now));
		to = now;
	}
	if (a->from_ms < now - RETENTION_MS)
		log_warnx("the API keeps events for 30 days: nothing before "
		    "%s comes back", ISO(now - RETENTION_MS));
	if (oc != NULL)
		snprintf(to_name, sizeof(to_name), "output \"%s\"", oc->name);
	else
		snprintf(to_name, sizeof(to_name), "every output (%zu)",
		    conf->noutputs);

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		fatalx("libcurl initialisation failed");
	if ((r.base = event_base_new()) == NULL)
		fatalx("cannot create an event loop");
	if ((r.outputs = outset_new(r.base, oc != NULL ? oc : conf->outputs,
	    oc != NULL ? 1 : conf->noutputs)) == NULL) {
		log_errorx("--replay: the outputs cannot be set up; nothing "
		    "was sent");
		goto done;
	}
	outset_start(r.outputs);
	api = api_new(r.base);
	memset(&env, 0, sizeof(env));
	env.base = r.base;
	env.api = api;
	env.outputs = r.outputs;
	env.once = 1;
	env.done = replay_source_done;
	env.done_arg = &r;
	r.src = source_new_replay(&env, sc, a->from_ms, to);
	r.ev_watch = event_new(r.base, -1, EV_PERSIST, replay_watch_cb, &r);
	tv.tv_sec = 1;
	tv.tv_usec = 0;
	event_add(r.ev_watch, &tv);
	r.ev_sigint = evsignal_new(r.base, SIGINT, replay_signal_cb, &r);
	r.ev_sigterm = evsignal_new(r.base, SIGTERM, replay_signal_cb, &r);
	evsignal_add(r.ev_sigint, NULL);
	evsignal_add(r.ev_sigterm, NULL);
	log_info("replay of source \"%s\" from %s to %s to %s", sc->name,
	    ISO(a->from_ms), ISO(to), to_name);
	source_start(r.src);
	event_base_dispatch(r.base);

	source_get_stats(r.src, &ss);
	why = r.why != NULL ? r.why : source_failure(r.src);
	if (!r.done || r.failed)
		log_errorx("replay of source \"%s\" from %s to %s: FAILED: %s; "
		    "%" PRIu64 " events were handed to %s, not all of them "
		    "acknowledged; run it again (the state file was not "
		    "touched)", sc->name, ISO(a->from_ms), ISO(to),
		    why != NULL ? why : "unknown", ss.sent, to_name);
	else if (ss.gaps > 0 || ss.invalid > 0) {
		buf_init(&lost);
		if (ss.gaps > 0)
			buf_printf(&lost, "%" PRIu64 " range%s could not be "
			    "read (gap messages sent)", ss.gaps,
			    ss.gaps == 1 ? "" : "s");
		if (ss.invalid > 0)
			buf_printf(&lost, "%s%" PRIu64 " event%s rejected as "
			    "malformed", ss.gaps > 0 ? " and " : "",
			    ss.invalid, ss.invalid == 1 ? " was" : "s were");
		log_errorx("replay of source \"%s\" from %s to %s: INCOMPLETE: "
		    "%" PRIu64 " events sent to %s and acknowledged, but %s "
		    "(logged above)", sc->name, ISO(a->from_ms), ISO(to),
		    ss.sent, to_name, lost.data);
		buf_free(&lost);
	} else {
		log_info("replay of source \"%s\" from %s to %s: OK: %" PRIu64
		    " events sent to %s and acknowledged (%" PRIu64 " read, %"
		    PRIu64 " duplicates dropped, %" PRIu64 " API calls)",
		    sc->name, ISO(a->from_ms), ISO(to), ss.sent, to_name,
		    ss.received, ss.duplicates, ss.api_calls);
		rc = 0;
	}
done:
	source_free(r.src);
	if (r.ev_watch != NULL)
		event_free(r.ev_watch);
	if (r.ev_sigint != NULL)
		event_free(r.ev_sigint);
	if (r.ev_sigterm != NULL)
		event_free(r.ev_sigterm);
	outset_free(r.outputs);
	api_free(api);
	if (r.base != NULL)
		event_base_free(r.base);
	curl_global_cleanup();
	free(r.why);
	if (lockfd != -1)
		close(lockfd);
	return rc;
}

int
admin_main(const struct admin_args *a, const struct config *conf,
    const char *path, admin_lock_fn lockfn)
{
	enum log_level	 level;
	int		 rc;

	/* --check: its lines are the report; the log only with -v. */
	level = a->mode == ADMIN_CHECK ? LOG_LEVEL_ERROR : conf != NULL ?
	    conf->log_level : LOG_LEVEL_INFO;
	if (a->mode != ADMIN_CHECK && level < LOG_LEVEL_INFO)
		level = LOG_LEVEL_INFO;
	level += a->verbose;
	if (level > LOG_LEVEL_DEBUG)
		level = LOG_LEVEL_DEBUG;
	log_init(1, level);
	signal(SIGPIPE, SIG_IGN);
	if (conf == NULL && a->mode != ADMIN_CHECK)
		return 1;
	switch (a->mode) {
	case ADMIN_CHECK:
		rc = admin_check(a, conf, path);
		break;
	case ADMIN_STATE:
		rc = admin_state(conf);
		break;
	case ADMIN_RESET:
		rc = admin_reset(a, conf, path, lockfn);
		break;
	case ADMIN_REPLAY:
		rc = admin_replay(a, conf, path, lockfn);
		break;
	default:
		rc = 2;
		break;
	}
	fflush(stdout);
	return rc;
}
