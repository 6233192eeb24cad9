/*
 * The per-source state machine (DESIGN.md sections 5 to 7):
 *
 *   plan window -> [split] -> page 0 .. n -> completeness check
 *        ^                         |  (re-read the window up to 3 times)
 *        |                         v
 *     commit <- wait for every output's acknowledgement
 *
 * New events are formatted and handed to the outputs page by page, so memory
 * stays bounded by the outputs' queues. While any output is congested no
 * page is fetched: the API is the buffer. The cursor only moves when every
 * message of the window is acknowledged; a crash before that re-reads the
 * window and dedupe drops what had already been committed.
 */
#include "autoconf.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "api.h"
#include "config.h"
#include "cursor.h"
#include "event.h"
#include "idset.h"
#include "log.h"
#include "output.h"
#include "outset.h"
#include "source.h"
#include "util.h"
#include "window.h"

#define OFFSET_MAX		2000000	/* the API refuses a larger offset */
#define MAX_REREADS		3	/* completeness re-reads per window */
#define MAX_SPLIT		32	/* parts a window is split into at once */
#define MAX_SUBWINDOWS		(MAX_SPLIT * (MAX_REREADS + 2))
#define ONCE_MAX_ATTEMPTS	6	/* --once gives up after this many */
#define STOP_WAIT_MS		7000	/* acknowledgement wait on stop */
#define CKPT_POLL_MS		100	/* mid-window save: check this often */
#define CKPT_COST_FACTOR	10	/* ... and spend <= 1/10 of the time */
#define CLOCK_SKEW_MS		60000
#define CLOCK_WARN_EVERY_MS	3600000

enum source_state {
	SOURCE_IDLE,		/* timer armed for the next window */
	SOURCE_FETCHING,	/* an API call is in flight */
	SOURCE_PAUSED,		/* an output is congested */
	SOURCE_BACKOFF,		/* waiting to retry a failed call */
	SOURCE_WAIT_ACK,	/* window read; waiting for the outputs */
	SOURCE_STOPPING,	/* stop: waiting for acknowledgements */
	SOURCE_DONE,
};

struct source {
	struct source_env	 env;
	const struct source_config *conf;
	struct cursor		*cursor;
	struct output_origin	 origin;	/* in every message */
	struct window_params	 wp;
	int			 recovered;
	enum source_state	 state;
	struct event		*timer;
	struct event		*stop_timer;
	struct event		*ckpt_timer;
	struct api_call		*call;

	struct window		 win;		/* commit target */
	struct window		 cur;		/* (sub-)window being read */
	struct subwindow {
		struct window	 w;
		int		 pass;
	}			 pending[MAX_SUBWINDOWS];
	int			 npending;
	int64_t			 offset;
	int64_t			 page_no;
	int64_t			 total;		/* total_num of the last page */
	int			 total_changed;
	int			 pass;		/* 0: first read, 1..: re-reads */
	uint64_t		 invalid_in_pass;
	struct idset		*seen;		/* distinct ids of this pass */
	uint64_t		 sent_in_window;	/* not yet committed */
	uint64_t		 unsaved;	/* sent since the last save */
	int64_t			 ckpt_next;	/* no checkpoint before (mono) */
	struct outset_ticket	*ticket;	/* this window's messages */
	int			 acks_pending;	/* waiting for the ticket */
	int			 window_read;	/* all sub-windows read */

	int			 attempt;	/* consecutive failures */
	char			*last_error;	/* of the latest failure */
	int			 failed;		/* gave up (--once) */
	int64_t			 clock_warned;

	struct source_stats	 st;
	struct event_page	 page;
	struct buf		 msg;
	struct buf		 err;
};

static void	source_next_window(struct source *);
static void	source_commit(struct source *);
static void	source_fetch(struct source *);
static void	source_arm(struct source *, int64_t, enum source_state);

const char *
source_name(const struct source *s)
{
	return s->conf->name;
}

const char *
source_failure(const struct source *s)
{
	return s->failed ? s->last_error : NULL;
}

int
source_failures(const struct source *s, const char **last)
{
	*last = s->attempt > 0 ? s->last_error : NULL;
	return s->attempt;
}

void
source_get_stats(const struct source *s, struct source_stats *st)
{
	*st = s->st;
	st->end = cursor_end(s->cursor);
}

int64_t
source_lag(const struct source *s, int64_t now)
{
	int64_t	 end = cursor_end(s->cursor);

	return end == 0 || now < end ? 0 : now - end;
}

/*
 * The text of a window or a duration in a buffer of the caller's block (a
 * compound literal lives until the end of the enclosing block).
 */
#define window_str(w)	window_format((w), (char [WINDOW_STR_MAX]){ 0 }, \
			    WINDOW_STR_MAX)
#define delay_str(ms)	duration_str((ms), (char [32]){ 0 }, 32)

static const char *
duration_str(int64_t ms, char *buf, size_t len)
{
	format_duration(ms, buf, len);
	return buf;
}

static void
timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct source	*s = arg;

	switch (s->state) {
	case SOURCE_IDLE:
		source_next_window(s);
		break;
	case SOURCE_BACKOFF:
	case SOURCE_PAUSED:
		source_fetch(s);
		break;
	case SOURCE_WAIT_ACK:
		/* A failed commit being retried. */
		if (s->acks_pending == 0)
			source_commit(s);
		break;
	case SOURCE_STOPPING:
	case SOURCE_FETCHING:
	case SOURCE_DONE:
		break;
	}
}

static void
done_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct source	*s = arg;

	s->env.done(s, s->failed, s->env.done_arg);
}

/*
 * Stop for good (failed: given up, the reason is last_error); the done
 * callback runs from the loop, never re-entrantly.
 */
static void
source_finish(struct source *s, int failed)
{
	if (s->state == SOURCE_DONE)
		return;
	s->failed |= failed;
	if (s->call != NULL) {
		api_call_cancel(s->call);
		s->call = NULL;
	}
	outset_cancel(s->env.outputs, s);
	evtimer_del(s->timer);
	evtimer_del(s->stop_timer);
	evtimer_del(s->ckpt_timer);
	s->state = SOURCE_DONE;
	event_base_once(s->env.base, -1, EV_TIMEOUT, done_cb, s, NULL);
}

static void
arm_ms(struct event *ev, int64_t ms)
{
	struct timeval	 tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(ev, &tv);
}

static void
source_arm(struct source *s, int64_t ms, enum source_state state)
{
	s->state = state;
	arm_ms(s->timer, ms);
}

/* Begin reading s->cur from offset 0 (a first read or a re-read). */
static void
source_start_pass(struct source *s)
{
	s->offset = 0;
	s->page_no = 0;
	s->total = -1;
	s->total_changed = 0;
	s->invalid_in_pass = 0;
	idset_free(s->seen);
	s->seen = idset_new();
}

static void
source_next_window(struct source *s)
{
	int64_t	 now = time_now_ms(), end, wait;

	end = cursor_end(s->cursor);
	if (end == 0)
		end = window_initial_end(now, &s->wp, s->recovered);
	if (window_next(end, now, &s->wp, &s->win, &wait) != 0) {
		log_debug("source \"%s\": nothing to read yet; next try in %s",
		    s->conf->name, delay_str(wait));
		source_arm(s, wait, SOURCE_IDLE);
		return;
	}
	s->cur = s->win;
	s->npending = 0;
	s->pass = 0;
	s->sent_in_window = 0;
	s->unsaved = 0;
	s->window_read = 0;
	outset_ticket_clear(s->ticket);
	source_start_pass(s);
	log_debug("source \"%s\": window %s%s", s->conf->name,
	    window_str(&s->win), s->win.catching_up ? " (catching up)" : "");
	source_fetch(s);
}

static void
add_param(struct kv *q, size_t *n, const char *key, char *value)
{
	q[*n].key = (char *)key;
	q[*n].value = value;
	(*n)++;
}

static void	api_done(const struct api_result *, void *);

static void
drained_cb(void *arg)
{
	source_resume(arg);
}

static void
source_fetch(struct source *s)
{
	struct kv	*q;
	char		 begin[24], end[24], offset[24], limit[24];
	size_t		 n = 0, i;

	if (outset_congested(s->env.outputs)) {
		if (s->state != SOURCE_PAUSED)
			log_debug("source \"%s\": an output is congested; "
			    "pausing", s->conf->name);
		s->state = SOURCE_PAUSED;
		/* source_resume() wakes us; the timer is a safety net. */
		outset_when_drained(s->env.outputs, drained_cb, s);
		source_arm(s, 5000, SOURCE_PAUSED);
		return;
	}
	q = xcalloc(6 + s->conf->nfilters, sizeof(*q));
	snprintf(begin, sizeof(begin), "%013" PRId64, s->cur.begin);
	snprintf(end, sizeof(end), "%013" PRId64, s->cur.end);
	snprintf(offset, sizeof(offset), "%" PRId64, s->offset);
	snprintf(limit, sizeof(limit), "%d", s->conf->page_size);
	add_param(q, &n, "category",
	    (char *)config_category_name(s->conf->category));
	add_param(q, &n, "begin_time", begin);
	add_param(q, &n, "end_time", end);
	add_param(q, &n, "offset", offset);
	add_param(q, &n, "limit", limit);
	if (s->conf->enterprise_project_id != NULL)
		add_param(q, &n, "enterprise_project_id",
		    s->conf->enterprise_project_id);
	for (i = 0; i < s->conf->nfilters; i++)
		q[n++] = s->conf->filters[i];
	s->state = SOURCE_FETCHING;
	s->call = api_list_events(s->env.api, s->conf, q, n, api_done, s);
	free(q);
}

enum failure_kind {
	FAILURE_TRANSIENT,	/* 5xx, network, invalid response */
	FAILURE_AUTH,		/* credentials refused */
	FAILURE_INVALID,	/* the API refused the request (400) */
};

/*
 * A failed call: log what failed and what happens next, then back off.
 * Transient failures back off from 1 s; refused credentials from 16 s, so
 * that the API's lock after five failures in a row is not reached within
 * minutes; an invalid request at once to the maximum.
 */
static void
source_failed_call(struct source *s, const char *what,
    enum failure_kind kind)
{
	static const int	 once_attempts[] = {
		[FAILURE_TRANSIENT] = 6, [FAILURE_AUTH] = 3,
		[FAILURE_INVALID] = 1,
	};
	int64_t			 delay;
	uint32_t		 r;
	int			 step;

	s->st.errors++;
	s->attempt++;
	free(s->last_error);
	s->last_error = xstrdup(what);
	if (s->env.once && s->attempt >= once_attempts[kind]) {
		log_errorx("source \"%s\": window %s: page %" PRId64
		    " (offset %" PRId64 "): %s; --once gives up after %d "
		    "attempt%s", s->conf->name, window_str(&s->cur),
		    s->page_no, s->offset, what, s->attempt,
		    s->attempt == 1 ? "" : "s");
		source_finish(s, 1);
		return;
	}
	r = arc4random();
	step = s->attempt - 1;
	if (kind == FAILURE_AUTH)
		step += 4;
	else if (kind == FAILURE_INVALID)
		step = 100;
	delay = api_backoff_ms(step, r);
	log_warnx("source \"%s\": window %s: page %" PRId64 " (offset %"
	    PRId64 "): %s; cursor stays, retrying in %s", s->conf->name,
	    window_str(&s->cur), s->page_no, s->offset, what, delay_str(delay));
	source_arm(s, delay, SOURCE_BACKOFF);
}

static void
check_clock(struct source *s, int64_t server_ms)
{
	int64_t	 now = time_now_ms(), skew;

	if (server_ms <= 0)
		return;
	skew = now - server_ms;
	if (skew < 0)
		skew = -skew;
	if (skew <= CLOCK_SKEW_MS || (s->clock_warned != 0 &&
	    time_mono_ms() - s->clock_warned < CLOCK_WARN_EVERY_MS))
		return;
	s->clock_warned = time_mono_ms();
	log_warnx("source \"%s\": the API's clock differs from ours by %s; "
	    "windows follow the local clock, check NTP", s->conf->name,
	    delay_str(skew));
}

/* Hand one new event to every output. */
static void
deliver(struct source *s, const struct hss_event *ev)
{
	s->st.truncated += outset_enqueue_event(s->env.outputs, ev, &s->origin,
	    s->ticket);
	cursor_add(s->cursor, ev->event_id, ev->occur_time);
	s->st.sent++;
	s->sent_in_window++;
	if (s->unsaved++ == 0 && !evtimer_pending(s->ckpt_timer, NULL))
		arm_ms(s->ckpt_timer, CKPT_POLL_MS);
}

static void	source_pass_done(struct source *);
static void	source_window_read(struct source *);
static int	source_split(struct source *, int);
static void	source_next_part(struct source *);

static void
process_page(struct source *s, const struct api_result *res)
{
	struct hss_event	*ev;
	size_t			 i, items;

	buf_reset(&s->err);
	event_page_clear(&s->page);
	if (event_page_parse(res->body, res->body_len, &s->page,
	    &s->err) == -1) {
		buf_reset(&s->msg);
		buf_printf(&s->msg, "invalid response: %s", s->err.data);
		source_failed_call(s, s->msg.data, FAILURE_TRANSIENT);
		return;
	}
	s->attempt = 0;
	if (s->total >= 0 && s->page.total_num != s->total)
		s->total_changed = 1;
	s->total = s->page.total_num;

	/* More matches than offsets can reach: split the window in time. */
	if (s->offset == 0 && s->total > OFFSET_MAX + s->conf->page_size &&
	    source_split(s, s->pass)) {
		log_info("source \"%s\": window %s holds %" PRId64 " events, "
		    "more than the API's offsets reach; reading it in parts",
		    s->conf->name, window_str(&s->cur), s->total);
		source_next_part(s);
		return;
	}

	for (i = 0; i < s->page.nerrors; i++) {
		if (s->pass == 0)
			log_warnx("source \"%s\": window %s: page %" PRId64
			    " (offset %" PRId64 "): %s; event skipped",
			    s->conf->name, window_str(&s->cur), s->page_no,
			    s->offset, s->page.errors[i]);
	}
	if (s->pass == 0)
		s->st.invalid += s->page.nerrors;
	s->invalid_in_pass += s->page.nerrors;
	for (i = 0; i < s->page.nevents; i++) {
		ev = s->page.events[i];
		idset_add(s->seen, ev->event_id, strlen(ev->event_id),
		    ev->occur_time);
		s->st.received++;
		if (cursor_has(s->cursor, ev->event_id)) {
			s->st.duplicates++;
			continue;
		}
		deliver(s, ev);
	}
	items = s->page.nevents + s->page.nerrors;
	event_page_clear(&s->page);

	if (items >= (size_t)s->conf->page_size &&
	    s->offset + s->conf->page_size < s->total) {
		if (s->offset + s->conf->page_size > OFFSET_MAX) {
			log_warnx("source \"%s\": window %s: %" PRId64
			    " events but the API's offset stops at %d and the "
			    "window cannot be split further; the rest is read "
			    "by the next window", s->conf->name,
			    window_str(&s->cur), s->total, OFFSET_MAX);
			source_pass_done(s);
			return;
		}
		s->offset += s->conf->page_size;
		s->page_no++;
		source_fetch(s);
		return;
	}
	source_pass_done(s);
}

/*
 * Split s->cur into parts of about three quarters of a page each (assuming
 * events spread evenly; a part that still holds more is split again when it
 * is read) and queue them, earliest first, each to be read at pass. Parts
 * overlap by a millisecond; dedupe drops what both return. Returns 0 when
 * the window is too short to split or the queue is full.
 */
static int
source_split(struct source *s, int pass)
{
	int64_t	 len = s->cur.end - s->cur.begin, k, i;

	k = (s->total * 4 / 3) / s->conf->page_size + 1;
	if (s->total > OFFSET_MAX)
		k = s->total / (OFFSET_MAX / 2) + 1;
	if (k > MAX_SPLIT)
		k = MAX_SPLIT;
	if (k > len / 2)
		k = len / 2;
	if (k < 2 || s->npending + k > MAX_SUBWINDOWS)
		return 0;
	for (i = k - 1; i >= 0; i--) {
		window_split(&s->cur, k, i, &s->pending[s->npending].w);
		s->pending[s->npending].pass = pass;
		s->npending++;
	}
	return 1;
}

/* Read the next queued part, or, with none left, wait for the outputs. */
static void
source_next_part(struct source *s)
{
	if (s->npending == 0) {
		source_window_read(s);
		return;
	}
	s->npending--;
	s->cur = s->pending[s->npending].w;
	s->pass = s->pending[s->npending].pass;
	source_start_pass(s);
	source_fetch(s);
}

/*
 * The last page of a pass. The order of data_list is undocumented and the
 * set may change between pages, so a pass can miss events: when fewer
 * distinct ids than total_num were seen, or total_num changed, the window
 * is read again (up to MAX_REREADS times). A window that needed more than
 * one page is read again in parts small enough for one page each, since a
 * single page returns every match whatever the order.
 */
static void
source_pass_done(struct source *s)
{
	uint64_t	 distinct;
	int		 split;

	distinct = idset_count(s->seen) + s->invalid_in_pass;
	if ((int64_t)distinct >= s->total && !s->total_changed) {
		source_next_part(s);
		return;
	}
	if (s->pass < MAX_REREADS) {
		s->st.rereads++;
		split = s->total > s->conf->page_size &&
		    source_split(s, s->pass + 1);
		log_info("source \"%s\": window %s: %" PRIu64 " distinct events "
		    "of %" PRId64 "%s; reading it again%s (%d of %d)",
		    s->conf->name, window_str(&s->cur), distinct, s->total,
		    s->total_changed ? ", total changed between pages" : "",
		    split ? " in parts of one page" : "", s->pass + 1,
		    MAX_REREADS);
		if (split) {
			source_next_part(s);
			return;
		}
		s->pass++;
		source_start_pass(s);
		source_fetch(s);
		return;
	}
	if ((int64_t)distinct < s->total) {
		s->st.incomplete++;
		log_warnx("source \"%s\": window %s: still %" PRIu64 " distinct "
		    "events of %" PRId64 " after %d re-reads; keeping what was "
		    "read, the next window overlaps by lookback", s->conf->name,
		    window_str(&s->cur), distinct, s->total, MAX_REREADS);
	}
	source_next_part(s);
}

static void
api_done(const struct api_result *res, void *arg)
{
	struct source	*s = arg;
	char		 what[512];

	s->call = NULL;
	s->st.api_calls += res->calls > 0 ? (uint64_t)res->calls : 1;
	s->st.throttled += (uint64_t)res->throttled;
	check_clock(s, res->server_date_ms);
	if (s->state == SOURCE_STOPPING || s->state == SOURCE_DONE)
		return;
	switch (res->status) {
	case API_OK:
		process_page(s, res);
		return;
	case API_AUTH:
		snprintf(what, sizeof(what), "authentication refused: %s",
		    res->detail);
		source_failed_call(s, what, FAILURE_AUTH);
		return;
	case API_BAD_REQUEST:
		snprintf(what, sizeof(what), "request refused as invalid: %s",
		    res->detail);
		source_failed_call(s, what, FAILURE_INVALID);
		return;
	case API_SERVER:
	case API_NETWORK:
	case API_OTHER:
		snprintf(what, sizeof(what), "%s", res->detail);
		source_failed_call(s, what, FAILURE_TRANSIENT);
		return;
	}
}

static void
ack_cb(void *arg)
{
	struct source	*s = arg;

	if (s->acks_pending) {
		s->acks_pending = 0;
		source_commit(s);
	}
}

/* Wait for every output to acknowledge what this window handed to it. */
static void
source_wait_acks(struct source *s)
{
	if (outset_ticket_empty(s->ticket)) {
		source_commit(s);
		return;
	}
	s->acks_pending = 1;
	outset_when_acked(s->env.outputs, s->ticket, ack_cb, s);
}

static void
source_window_read(struct source *s)
{
	s->window_read = 1;
	s->state = SOURCE_WAIT_ACK;
	source_wait_acks(s);
}

static void
source_commit(struct source *s)
{
	int64_t	 end;
	int	 whole = s->window_read;

	/* On stop with a partial window only the delivered ids are saved. */
	end = whole ? s->win.end : cursor_end(s->cursor);
	buf_reset(&s->err);
	if (cursor_commit(s->cursor, end, &s->err) == -1) {
		log_errorx("source \"%s\": cannot save the cursor: %s; %s",
		    s->conf->name, s->err.data, s->state == SOURCE_STOPPING ?
		    "the window will be read again after the restart" :
		    "retrying in 10s");
		if (s->state == SOURCE_STOPPING) {
			source_finish(s, 0);
			return;
		}
		source_arm(s, 10000, SOURCE_WAIT_ACK);
		return;
	}
	s->st.committed += s->sent_in_window;
	s->sent_in_window = 0;
	if (!whole) {
		log_info("source \"%s\": stopped; %zu delivered ids saved, the "
		    "window %s is read again at the next start",
		    s->conf->name, cursor_count(s->cursor),
		    window_str(&s->win));
		source_finish(s, 0);
		return;
	}
	s->st.windows++;
	log_debug("source \"%s\": committed window %s", s->conf->name,
	    window_str(&s->win));
	if (s->state == SOURCE_STOPPING) {
		source_finish(s, 0);
		return;
	}
	if (s->win.catching_up) {
		source_arm(s, 0, SOURCE_IDLE);
		return;
	}
	if (s->env.once) {
		char	 end_s[32];

		time_format_iso(s->win.end, end_s, sizeof(end_s));
		log_info("source \"%s\": caught up to %s", s->conf->name,
		    end_s);
		source_finish(s, 0);
		return;
	}
	source_arm(s, s->conf->poll_interval_ms, SOURCE_IDLE);
}

/*
 * Mid-window checkpoint. A long window (a catch-up of two days of events)
 * is committed only when it is read and acknowledged whole; a crash before
 * that would send all of it again. So, every CKPT_POLL_MS while a
 * window is being read: if the outputs have acknowledged every message
 * this source handed them, the cursor (every id enqueued, so every id
 * acknowledged) is saved with the end unchanged. Reading never waits for
 * it; when the receivers lag, the next tick tries again. Against the real
 * API (a call every 12 s) the acknowledgements of a page arrive well before
 * the next page, so a crash repeats at most a page.
 */
static void
ckpt_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct source	*s = arg;
	int64_t		 now = time_mono_ms(), took;
	int		 rc;

	if (s->unsaved == 0 || (s->state != SOURCE_FETCHING &&
	    s->state != SOURCE_BACKOFF && s->state != SOURCE_PAUSED))
		return;		/* the window's commit or the stop saves it */
	if (now < s->ckpt_next) {
		arm_ms(s->ckpt_timer, s->ckpt_next - now);
		return;
	}
	if (!outset_acked(s->env.outputs, s->ticket)) {
		arm_ms(s->ckpt_timer, CKPT_POLL_MS);
		return;
	}
	s->unsaved = 0;
	buf_reset(&s->err);
	rc = cursor_commit(s->cursor, cursor_end(s->cursor), &s->err);
	/*
	 * The save is synchronous (write, fsync, rename) and a large id set
	 * takes a while: the next one waits CKPT_COST_FACTOR times as long,
	 * so that checkpoints never take more than a tenth of the loop.
	 */
	took = time_mono_ms() - now;
	s->ckpt_next = now + took + (CKPT_COST_FACTOR * took > CKPT_POLL_MS ?
	    CKPT_COST_FACTOR * took : CKPT_POLL_MS);
	if (rc == -1) {
		log_warnx("source \"%s\": cannot save a checkpoint: %s; "
		    "reading on (the window is saved when it ends)",
		    s->conf->name, s->err.data);
		return;
	}
	s->st.committed += s->sent_in_window;
	s->sent_in_window = 0;
	log_debug("source \"%s\": checkpoint of window %s (%zu ids, %lld ms)",
	    s->conf->name, window_str(&s->win), cursor_count(s->cursor),
	    (long long)took);
}

static void
stop_timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct source	*s = arg;

	if (s->state != SOURCE_STOPPING)
		return;
	log_warnx("source \"%s\": the outputs did not acknowledge everything "
	    "within %s; those events are sent again after the restart",
	    s->conf->name, delay_str(STOP_WAIT_MS));
	source_finish(s, 0);
}

struct source *
source_new(const struct source_env *env, const struct source_config *conf,
    struct cursor *cursor, int recovered)
{
	struct source	*s;

	s = xcalloc(1, sizeof(*s));
	s->env = *env;
	s->conf = conf;
	s->cursor = cursor;
	s->recovered = recovered;
	s->origin.name = conf->name;
	s->origin.region = conf->region;
	s->origin.project_id = conf->project_id;
	s->origin.category = config_category_name(conf->category);
	s->wp.lookback_ms = conf->lookback_ms;
	s->wp.settle_ms = conf->settle_ms;
	s->wp.backfill_ms = conf->backfill_ms;
	s->timer = evtimer_new(env->base, timer_cb, s);
	s->stop_timer = evtimer_new(env->base, stop_timeout_cb, s);
	s->ckpt_timer = evtimer_new(env->base, ckpt_cb, s);
	s->seen = idset_new();
	s->ticket = outset_ticket_new(env->outputs);
	s->state = SOURCE_IDLE;
	buf_init(&s->msg);
	buf_init(&s->err);
	return s;
}

void
source_free(struct source *s)
{
	if (s == NULL)
		return;
	if (s->call != NULL)
		api_call_cancel(s->call);
	outset_cancel(s->env.outputs, s);
	event_free(s->timer);
	event_free(s->stop_timer);
	event_free(s->ckpt_timer);
	event_page_clear(&s->page);
	idset_free(s->seen);
	cursor_free(s->cursor);
	outset_ticket_free(s->ticket);
	free(s->last_error);
	buf_free(&s->msg);
	buf_free(&s->err);
	free(s);
}

void
source_start(struct source *s)
{
	log_info("source \"%s\": starting (%s, project %s, %s, cursor %s)",
	    s->conf->name, s->conf->region, s->conf->project_id,
	    config_category_name(s->conf->category),
	    cursor_end(s->cursor) == 0 && cursor_count(s->cursor) == 0 ?
	    "new" : "resumed");
	source_arm(s, 0, SOURCE_IDLE);
}

void
source_resume(struct source *s)
{
	if (s->state == SOURCE_PAUSED && !outset_congested(s->env.outputs)) {
		log_debug("source \"%s\": outputs drained; resuming",
		    s->conf->name);
		source_arm(s, 0, SOURCE_PAUSED);
	}
}

void
source_stop(struct source *s)
{
	enum source_state	 was = s->state;
	struct timeval		 tv;

	if (was == SOURCE_DONE || was == SOURCE_STOPPING)
		return;
	evtimer_del(s->timer);
	if (s->call != NULL) {
		api_call_cancel(s->call);
		s->call = NULL;
	}
	s->state = SOURCE_STOPPING;
	if (outset_ticket_empty(s->ticket) && !s->window_read) {
		source_finish(s, 0);
		return;
	}
	if (was != SOURCE_WAIT_ACK)
		s->window_read = 0;
	else
		outset_cancel(s->env.outputs, s);
	tv.tv_sec = STOP_WAIT_MS / 1000;
	tv.tv_usec = 0;
	evtimer_add(s->stop_timer, &tv);
	source_wait_acks(s);
}
