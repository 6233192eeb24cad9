/*
 * The per-source state machine (DESIGN.md sections 5 to 7 and 11):
 *
 *   plan window -> [split] -> page 0 .. n -> completeness check
 *        ^                         |  (re-read the window up to 3 times)
 *        |                         v
 *     commit <- wait for every output's acknowledgement
 *
 * A source has readers sharing one cursor (its dedupe set) and one ticket
 * (every message any of them handed to the outputs): the live reader, which
 * reads the window the cursor moves by, and the late sweep, which re-reads
 * the recent past for events that became visible late. A reader is a unit:
 * its own window, parts, offset, pass, isolation state and API-call budget.
 * The third reader, --replay, runs alone in a source of its own
 * (source_new_replay()): it re-sends a past range without a cursor.
 *
 * New events are formatted and handed to the outputs page by page, so memory
 * stays bounded by the outputs' queues. While any output is congested no
 * page is fetched: the API is the buffer. The cursor only moves when every
 * message handed to the outputs is acknowledged; a crash before that
 * re-reads the window and dedupe drops what had already been committed.
 *
 * Time follows the API's clock (its Date header, tracked against the
 * monotonic clock), never the local one; the end a window commits is never
 * later than the Date of a page read for it minus settle.
 *
 * Nothing is skipped silently: what cannot be read (a window past the
 * offset cap that cannot be split, a 1-second slice whose pages never
 * parse, a window still incomplete when its call budget is spent) becomes
 * a gap: a message to every output (covered by the ticket, so the cursor
 * does not pass it before every output acknowledged it), the gaps counter,
 * a /healthz line and an error log line.
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
#include "http.h"
#include "format.h"
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
#define SLICE_PAGES		64	/* a window holding more pages is read */
#define SLICE_PART_PAGES	32	/* ... in slices of about this many */
#define MAX_PARTS		(MAX_SPLIT * (MAX_REREADS + 2) + 64)
#define PARSE_TRIES		3	/* a page failing this often is isolated */
#define SLICE_MS		1000	/* isolation stops at slices this short */
#define FINE_LIMIT		10	/* page size inside such a slice */
#define ISO_MAX_CALLS		400	/* isolation calls per window */
#define BUDGET_FACTOR		3	/* calls per window: 3 x pages + 10 */
#define BUDGET_EXTRA		10
#define ONCE_SAVE_TRIES		5	/* --once: cursor saves before failing */
#define STOP_WAIT_MS		7000	/* acknowledgement wait on stop */
#define CKPT_POLL_MS		100	/* mid-window save: check this often */
#define CKPT_COST_FACTOR	10	/* ... and spend <= 1/10 of the time */
#define SKEW_LOG_MS		5000	/* a clock skew above this is logged */
#define SKEW_LOG_EVERY_MS	60000	/* ... at most this often */
#define OVER_MAX_LOG_EVERY_MS	3600000
#define SWEEP_WAIT_MS		1000	/* sweep: wait for the live reader */

enum source_state {
	SOURCE_IDLE,		/* timer armed for the next window */
	SOURCE_FETCHING,	/* an API call is in flight */
	SOURCE_PAUSED,		/* an output is congested */
	SOURCE_BACKOFF,		/* waiting to retry a failed call */
	SOURCE_WAIT_ACK,	/* window read; waiting for the outputs */
	SOURCE_STOPPING,	/* stop: waiting for acknowledgements */
	SOURCE_DONE,
};

struct part {
	struct window	 w;
	int		 pass;
	int		 iso;		/* isolating a page that does not parse */
	int		 fine;		/* a known poisoned slice */
};

/* A slice already reported as a gap because a page of it never parses. */
struct poisoned {
	int64_t		 begin;
	int64_t		 end;
};
#define MAX_POISONED	16

enum reader_kind {
	READER_LIVE,		/* the window the cursor moves by */
	READER_SWEEP,		/* the late sweep */
	READER_REPLAY,		/* --replay: a past range, no cursor */
};

/* One reader of a source: a window read page by page, in parts. */
struct reader {
	struct source	*s;
	enum reader_kind kind;
	struct window	 win;		/* the unit: commit target / chunk */
	struct window	 cur;		/* (sub-)window being read */
	struct part	*pending;	/* grown on demand, up to MAX_PARTS */
	int		 npending;
	int		 cap;
	int		 iso;		/* cur is part of an isolation */
	int		 fine;		/* cur is a slice read in FINE_LIMIT */
	int		 known;		/* ... already reported as a gap */
	int		 slice_bad;	/* a page of the fine slice was skipped */
	int		 capped;	/* cur ended at the offset cap */
	int64_t		 offset;
	int64_t		 page_no;
	int64_t		 total;		/* total_num of the last page */
	int		 total_changed;
	int		 pass;		/* 0: first read, 1..: re-reads */
	uint64_t	 invalid_in_pass;
	struct idset	*seen;		/* distinct ids of this pass */
	struct api_call	*call;
	struct event	*timer;		/* sweep: backoff and waiting */
	int		 attempt;	/* consecutive failures */
	int		 parse_fails;	/* ... of which parse failures */
	int64_t		 calls;		/* re-read pages requested for win */
	int64_t		 iso_calls;	/* ... of them while isolating */
	int64_t		 budget_total;	/* for the call budget; -1: unknown */
	int64_t		 date_max;	/* latest API Date of a page for win */
	uint64_t	 gaps;		/* gaps in win */
	char		*last_parse_error;
	void		(*done)(struct reader *);
	/*
	 * The page being read as it arrives (reader_consume()): streamed
	 * once its head is read, then its events are delivered as they come;
	 * count_short: a page counted, not read (a split was likely), turned
	 * out short, so it is read again, and read.
	 */
	struct event_stream es;
	int		 streamed;
	int		 stream_failed;
	int		 count_short;
	int		 fails_before;	/* parse_fails before the page */
	int		 attempt_before;
	struct buf	 why;
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

	struct reader		 live;
	struct reader		 sweep;
	int			 sweep_active;
	int64_t			 sweep_next;	/* mono; 0: after catching up */
	int64_t			 sweep_begin;	/* the range of this sweep */
	int64_t			 sweep_from;	/* ... the next chunk's begin */
	int64_t			 sweep_to;
	int64_t			 sweep_calls;
	uint64_t		 sweep_late;

	/* A --replay source (source_new_replay()): no cursor, no live
	 * window, one reader over [replay_begin, replay_to]. */
	int			 replaying;
	struct reader		 replay;
	int64_t			 replay_begin;
	int64_t			 replay_from;	/* the next chunk's begin */
	int64_t			 replay_to;
	struct idset		*replay_ids;	/* delivered by this replay */
	int			 replay_draining; /* waiting for the outputs */

	uint64_t		 sent_in_window;	/* not yet committed */
	uint64_t		 unsaved;	/* sent since the last save */
	int64_t			 ckpt_next;	/* no checkpoint before (mono) */
	struct outset_ticket	*ticket;	/* every message not committed */
	int			 acks_pending;	/* waiting for the ticket */
	int			 window_read;	/* all sub-windows read */
	int			 save_fails;	/* cursor saves failed in a row */

	/* The API's clock: its latest Date and the monotonic time then. */
	int64_t			 api_date;
	int64_t			 api_mono;
	int64_t			 skew_shown;	/* last logged skew, 0: none */
	int64_t			 skew_logged_at;	/* mono */
	int64_t			 over_max_logged_at;	/* mono */

	char			*last_error;	/* of the latest failure */
	int			 failed;		/* gave up (--once) */
	char			*gap_line;	/* until the next clean commit */
	struct poisoned		 poisoned[MAX_POISONED];
	int			 npoisoned;

	struct source_stats	 st;
	struct event_page	 page;
	struct buf		 msg;
	struct buf		 err;
};

static void	source_next_window(struct source *);
static void	source_commit(struct source *);
static void	source_arm(struct source *, int64_t, enum source_state);
static void	reader_fetch(struct reader *);
static void	reader_next_part(struct reader *);
static void	sweep_kick(struct source *);
static void	replay_drained_cb(void *);
static void	source_wait_acks(struct source *);

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

const char *
source_gap(const struct source *s)
{
	return s->gap_line;
}

int
source_failures(const struct source *s, const char **last)
{
	*last = s->live.attempt > 0 ? s->last_error : NULL;
	return s->live.attempt;
}

const struct outset_ticket *
source_ticket(const struct source *s)
{
	return s->ticket;
}

void
source_get_stats(const struct source *s, struct source_stats *st)
{
	*st = s->st;
	st->end = s->cursor != NULL ? cursor_end(s->cursor) : 0;
}

int64_t
source_lag(const struct source *s, int64_t now)
{
	int64_t	 end = s->cursor != NULL ? cursor_end(s->cursor) : 0;

	return end == 0 || now < end ? 0 : now - end;
}

/*
 * The text of a window or a duration in a buffer of the caller's block (a
 * compound literal lives until the end of the enclosing block).
 */
#define window_str(w)	window_format((w), (char [WINDOW_STR_MAX]){ 0 }, \
			    WINDOW_STR_MAX)
#define delay_str(ms)	duration_str((ms), (char [32]){ 0 }, 32)
#define time_str(ms)	iso_str((ms), (char [32]){ 0 }, 32)

static const char *
duration_str(int64_t ms, char *buf, size_t len)
{
	format_duration(ms, buf, len);
	return buf;
}

static const char *
iso_str(int64_t ms, char *buf, size_t len)
{
	time_format_iso(ms, buf, len);
	return buf;
}

static int64_t
min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static int64_t
max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

static const char *
reader_what(const struct reader *r)
{
	static const char *const what[] = {
		[READER_LIVE] = "window",
		[READER_SWEEP] = "late sweep: window",
		[READER_REPLAY] = "replay: window",
	};

	return what[r->kind];
}

/*
 * The API's clock now: its latest Date plus the monotonic time since; the
 * local clock before the first response. Date has a resolution of a
 * second and is truncated, so this is at most a second behind the API
 * (conservative: windows end a little earlier).
 */
static int64_t
api_now(const struct source *s)
{
	if (s->api_date == 0)
		return time_now_ms();
	return s->api_date + (time_mono_ms() - s->api_mono);
}

/*
 * A Date from the API: track it, and log a skew against the local clock
 * above SKEW_LOG_MS once, then again when it changes by more than that (at
 * most every SKEW_LOG_EVERY_MS), and once when the clocks agree again.
 */
static void
note_date(struct source *s, int64_t date)
{
	int64_t	 mono = time_mono_ms(), skew, d;

	if (date <= 0)
		return;
	s->api_date = date;
	s->api_mono = mono;
	/* Date is truncated to the second: half a second on average. */
	skew = time_now_ms() - (date + 500);
	d = skew - s->skew_shown;
	if (d < 0)
		d = -d;
	if (d <= SKEW_LOG_MS || (s->skew_logged_at != 0 &&
	    mono - s->skew_logged_at < SKEW_LOG_EVERY_MS))
		return;
	if (skew > SKEW_LOG_MS || skew < -SKEW_LOG_MS) {
		log_warnx("source \"%s\": the API's clock is %lld s %s the "
		    "local clock; windows follow the API's clock",
		    s->conf->name, (long long)((skew < 0 ? -skew : skew) /
		    1000), skew > 0 ? "behind" : "ahead of");
		s->skew_shown = skew;
	} else if (s->skew_shown != 0) {
		log_info("source \"%s\": the API's clock and the local clock "
		    "agree again (within %d s)", s->conf->name,
		    SKEW_LOG_MS / 1000);
		s->skew_shown = 0;
	} else
		return;
	s->skew_logged_at = mono;
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
		reader_fetch(&s->live);
		break;
	case SOURCE_WAIT_ACK:
		/*
		 * A failed commit being retried: a sweep page that arrived
		 * meanwhile may have handed the outputs more, wait for it.
		 */
		if (s->acks_pending == 0)
			source_wait_acks(s);
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

static void
reader_cancel(struct reader *r)
{
	if (r->call != NULL) {
		api_call_cancel(r->call);
		r->call = NULL;
	}
	event_stream_clear(&r->es);
	r->streamed = 0;
	if (r->timer != NULL)
		evtimer_del(r->timer);
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
	reader_cancel(&s->live);
	reader_cancel(&s->sweep);
	reader_cancel(&s->replay);
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

/* Begin reading r->cur from offset 0 (a first read or a re-read). */
static void
reader_start_pass(struct reader *r)
{
	r->offset = 0;
	r->page_no = 0;
	r->total = -1;
	r->total_changed = 0;
	r->invalid_in_pass = 0;
	r->parse_fails = 0;
	r->slice_bad = 0;
	r->capped = 0;
	r->count_short = 0;	/* of the page at offset 0 of the last part */
	idset_free(r->seen);
	r->seen = idset_new();
}


/*
 * Room for n more queued parts (n <= MAX_PARTS - npending). The queue is
 * freed when a window is read, so that an idle source holds none: 1000
 * sources kept 27 MB of empty queues.
 */
static void
reader_room(struct reader *r, int n)
{
	int	 cap = r->cap ? r->cap : 8;

	if (r->npending + n <= r->cap)
		return;
	while (cap < r->npending + n)
		cap *= 2;
	if (cap > MAX_PARTS)
		cap = MAX_PARTS;
	r->pending = xreallocarray(r->pending, (size_t)cap,
	    sizeof(*r->pending));
	r->cap = cap;
}
/*
 * A window holding a slice already reported as a gap (a page of it never
 * parses) is read around it, and the slice in pages of FINE_LIMIT, so that
 * the slice is not isolated again (nor reported again) by every window
 * and sweep that overlaps it. Returns 1 when r->pending was filled.
 */
static int
reader_known_poison(struct reader *r)
{
	const struct poisoned	*p = NULL;
	struct window		 w = r->win;
	int			 i;

	for (i = 0; i < r->s->npoisoned; i++) {
		p = &r->s->poisoned[i];
		if (p->begin >= w.begin && p->end <= w.end)
			break;
	}
	if (i == r->s->npoisoned)
		return 0;
	reader_room(r, 3);
	memset(r->pending + r->npending, 0, 3 * sizeof(r->pending[0]));
	if (p->end < w.end) {
		r->pending[r->npending].w.begin = p->end;
		r->pending[r->npending].w.end = w.end;
		r->pending[r->npending].w.catching_up = w.catching_up;
		r->pending[r->npending++].fine = 0;
	}
	r->pending[r->npending].w.begin = p->begin;
	r->pending[r->npending].w.end = p->end;
	r->pending[r->npending].w.catching_up = 1;
	r->pending[r->npending++].fine = 1;
	if (p->begin > w.begin) {
		r->pending[r->npending].w.begin = w.begin;
		r->pending[r->npending].w.end = p->begin;
		r->pending[r->npending].w.catching_up = 1;
		r->pending[r->npending++].fine = 0;
	}
	return 1;
}

/* Remember a slice reported as a gap; the oldest goes when full. */
static void
note_poisoned(struct source *s, int64_t begin, int64_t end)
{
	if (s->npoisoned == MAX_POISONED) {
		memmove(&s->poisoned[0], &s->poisoned[1],
		    (MAX_POISONED - 1) * sizeof(s->poisoned[0]));
		s->npoisoned--;
	}
	s->poisoned[s->npoisoned].begin = begin;
	s->poisoned[s->npoisoned].end = end;
	s->npoisoned++;
}

/* Read w from its first page. */
static void
reader_begin(struct reader *r, const struct window *w)
{
	r->win = *w;
	r->cur = *w;
	r->npending = 0;
	r->pass = 0;
	r->iso = 0;
	r->fine = 0;
	r->calls = 0;
	r->iso_calls = 0;
	r->budget_total = -1;
	r->date_max = 0;
	r->gaps = 0;
	r->known = 0;
	if (reader_known_poison(r)) {
		reader_next_part(r);
		return;
	}
	reader_start_pass(r);
	reader_fetch(r);
}

/*
 * A gap: [begin, end] of this source could not be read. Every output gets
 * a gap message covered by the ticket, so the cursor does not move past it
 * before they all acknowledged it; the counter, /healthz and the log say
 * so too.
 */
static void
reader_gap(struct reader *r, int64_t begin, int64_t end, const char *reason)
{
	struct source		*s = r->s;
	struct format_gap	 g;
	struct buf		 b;

	memset(&g, 0, sizeof(g));
	g.now_ms = time_now_ms();
	g.source = s->conf->name;
	g.region = s->conf->region;
	g.project_id = s->conf->project_id;
	g.category = config_category_name(s->conf->category);
	g.begin = begin;
	g.end = end;
	g.reason = reason;
	buf_init(&b);
	format_gap_text(&b, &g);
	log_errorx("%s%s; a gap message goes to %s",
	    r->kind == READER_SWEEP ? "late sweep: " : r->kind ==
	    READER_REPLAY ? "replay: " : "", b.data, r->kind == READER_REPLAY ?
	    "the replay's outputs" : "every output");
	outset_enqueue_gap(s->env.outputs, &g, s->ticket);
	s->st.gaps++;
	r->gaps++;
	free(s->gap_line);
	s->gap_line = xstrdup(b.data);
	buf_free(&b);
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
	struct source	*s = arg;

	source_resume(s);
	sweep_kick(s);
}

/*
 * The most calls r may spend re-reading its window: 3 x ceil(T / page_size)
 * + 10, T the total_num of the window's first page, lowered to what the
 * first read found when a page came back short (a lying total_num), and
 * never above what offsets can reach. The first read of the window (at
 * most ceil(T / page_size) pages, ending at the first short page whatever
 * total_num says) and the isolation of a page that does not parse
 * (ISO_MAX_CALLS) come on top: at most 4 x ceil(T / page_size) + 10 calls
 * per window besides isolation.
 */
static int64_t
reader_budget(const struct reader *r)
{
	int64_t	 ps = r->s->conf->page_size;

	return BUDGET_FACTOR * ((max64(r->budget_total, 1) + ps - 1) / ps) +
	    BUDGET_EXTRA;
}

/*
 * The window's call budget is spent: what is not verified yet (the part
 * being read and those queued) is a gap, and the window is done.
 */
static void
reader_over_budget(struct reader *r)
{
	int64_t	 begin = r->cur.begin, end = r->cur.end;
	char	 why[256];
	int	 i;

	for (i = 0; i < r->npending; i++) {
		begin = min64(begin, r->pending[i].w.begin);
		end = max64(end, r->pending[i].w.end);
	}
	snprintf(why, sizeof(why), "the window %s used its budget of %lld "
	    "API calls for re-reads (3 x pages of total_num %lld + 10) and is "
	    "still incomplete (total_num %lld, %zu distinct events in the "
	    "last pass)", window_str(&r->win), (long long)reader_budget(r),
	    (long long)r->budget_total, (long long)r->total,
	    idset_count(r->seen));
	r->s->st.incomplete++;
	reader_gap(r, begin, end, why);
	r->npending = 0;
	r->done(r);
}

static long	reader_consume(const char *, size_t, void *);

static void
reader_fetch(struct reader *r)
{
	struct source	*s = r->s;
	struct kv	*q;
	char		 begin[24], end[24], offset[24], limit[24];
	size_t		 n = 0, i;

	if (r->kind == READER_SWEEP && (s->state == SOURCE_WAIT_ACK ||
	    s->state == SOURCE_STOPPING || s->state == SOURCE_DONE ||
	    outset_congested(s->env.outputs))) {
		/*
		 * The live window is being committed (its save must not wait
		 * for sweep messages) or an output is congested: wait.
		 */
		arm_ms(r->timer, SWEEP_WAIT_MS);
		return;
	}
	if (r->kind == READER_REPLAY && outset_congested(s->env.outputs)) {
		/* replay_drained_cb() wakes it; the timer is a safety net. */
		s->replay_draining = 1;
		outset_when_drained(s->env.outputs, replay_drained_cb, s);
		arm_ms(r->timer, 5000);
		return;
	}
	if (r->kind == READER_LIVE && outset_congested(s->env.outputs)) {
		if (s->state != SOURCE_PAUSED)
			log_debug("source \"%s\": an output is congested; "
			    "pausing", s->conf->name);
		s->state = SOURCE_PAUSED;
		/* source_resume() wakes us; the timer is a safety net. */
		outset_when_drained(s->env.outputs, drained_cb, s);
		source_arm(s, 5000, SOURCE_PAUSED);
		return;
	}
	if (!r->iso && r->budget_total >= 0 && r->calls >= reader_budget(r)) {
		reader_over_budget(r);
		return;
	}
	if (r->iso && r->iso_calls >= ISO_MAX_CALLS) {
		r->s->st.incomplete++;
		reader_gap(r, r->cur.begin, r->cur.end, "a page that does not "
		    "parse could not be isolated within " "400 API calls");
		reader_next_part(r);
		return;
	}
	q = xcalloc(6 + s->conf->nfilters, sizeof(*q));
	snprintf(begin, sizeof(begin), "%013" PRId64, r->cur.begin);
	snprintf(end, sizeof(end), "%013" PRId64, r->cur.end);
	snprintf(offset, sizeof(offset), "%" PRId64, r->offset);
	snprintf(limit, sizeof(limit), "%d", r->fine ? FINE_LIMIT :
	    s->conf->page_size);
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
	if (r->kind == READER_LIVE)
		s->state = SOURCE_FETCHING;
	r->call = api_list_events(s->env.api, s->conf, q, n, api_done, r);
	event_stream_clear(&r->es);
	r->streamed = 0;
	r->stream_failed = 0;
	api_call_consume(r->call, reader_consume, r);
	if (r->kind == READER_SWEEP) {
		api_call_spare(r->call);
		s->sweep_calls++;
	}
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
reader_failed_call(struct reader *r, const char *what, enum failure_kind kind)
{
	static const int	 once_attempts[] = {
		[FAILURE_TRANSIENT] = 6, [FAILURE_AUTH] = 3,
		[FAILURE_INVALID] = 1,
	};
	struct source		*s = r->s;
	int64_t			 delay;
	uint32_t		 rnd;
	int			 step;

	s->st.errors++;
	r->attempt++;
	if (r->kind != READER_SWEEP) {
		free(s->last_error);
		s->last_error = xstrdup(what);
	}
	if (((r->kind == READER_LIVE && s->env.once) ||
	    r->kind == READER_REPLAY) && r->attempt >= once_attempts[kind]) {
		log_errorx("source \"%s\": %s %s: page %" PRId64
		    " (offset %" PRId64 "): %s; %s gives up after %d "
		    "attempt%s", s->conf->name, reader_what(r),
		    window_str(&r->cur), r->page_no, r->offset, what,
		    r->kind == READER_REPLAY ? "--replay" : "--once",
		    r->attempt, r->attempt == 1 ? "" : "s");
		source_finish(s, 1);
		return;
	}
	rnd = arc4random();
	step = r->attempt - 1;
	if (kind == FAILURE_AUTH)
		step += 4;
	else if (kind == FAILURE_INVALID)
		step = 100;
	delay = api_backoff_ms(step, rnd);
	log_warnx("source \"%s\": %s %s: page %" PRId64 " (offset %" PRId64
	    "): %s; %sretrying in %s", s->conf->name,
	    reader_what(r), window_str(&r->cur), r->page_no, r->offset, what,
	    r->kind == READER_REPLAY ? "" : "cursor stays, ",
	    delay_str(delay));
	if (r->kind != READER_LIVE)
		arm_ms(r->timer, delay);
	else
		source_arm(s, delay, SOURCE_BACKOFF);
}

/* Hand one new event to every output. */
static void
deliver(struct reader *r, const struct hss_event *ev)
{
	struct source	*s = r->s;
	int64_t		 key;
	int		 rc;

	s->st.truncated += outset_enqueue_event(s->env.outputs, ev, &s->origin,
	    s->ticket);
	/*
	 * The prune key: an event the API returns for a window although its
	 * occur_time is older than the window was matched by another time (of
	 * its record, of its visibility) somewhere up to the window's end, so
	 * it is kept as if it occurred at that end: as long as any later live
	 * window or late sweep may return it again. (The begin is not enough:
	 * it is pruned at this window's own commit, end - lookback.)
	 */
	key = ev->occur_time >= r->cur.begin ? ev->occur_time : r->cur.end;
	if (r->kind == READER_REPLAY)
		rc = idset_add(s->replay_ids, ev->event_id,
		    strlen(ev->event_id), key) == -1 ? -1 : 0;
	else
		rc = cursor_add(s->cursor, ev->event_id, key);
	if (rc == -1)
		fatalx("source \"%s\": an id the parser accepted cannot be "
		    "tracked", s->conf->name);	/* event_id_valid() */
	s->st.sent++;
	if (r->kind == READER_REPLAY)
		return;		/* no cursor: nothing to save */
	if (r->kind == READER_SWEEP) {
		s->st.late++;
		s->sweep_late++;
	}
	s->sent_in_window++;
	if (s->unsaved++ == 0 && !evtimer_pending(s->ckpt_timer, NULL))
		arm_ms(s->ckpt_timer, CKPT_POLL_MS);
}

static void	reader_pass_done(struct reader *);
static void	reader_trim_pending(struct reader *, int64_t, int64_t);

/*
 * Into how many parts of about three quarters of a page each (assuming
 * events spread evenly; a part that still holds more is split again when it
 * is read) r->cur is split to be read again; a window beyond the offset
 * cap, into parts of half of what offsets reach.
 */
static int64_t
one_page_parts(const struct reader *r)
{
	if (r->total > OFFSET_MAX)
		return r->total / (OFFSET_MAX / 2) + 1;
	return (r->total * 4 / 3) / r->s->conf->page_size + 1;
}

/* What reader_split(r, pass, k) would split r->cur into: 0 for nothing. */
static int64_t
split_parts(const struct reader *r, int64_t k)
{
	int64_t	 len = r->cur.end - r->cur.begin;

	if (k > MAX_SPLIT)
		k = MAX_SPLIT;
	if (k > len / 2)
		k = len / 2;
	if (k < 2 || r->npending + k > MAX_PARTS)
		return 0;
	return k;
}

/*
 * Split r->cur into k parts (at most MAX_SPLIT, each at least 2 ms long)
 * and queue them, earliest first, each to be read at pass: the queue is
 * kept in time order (the earliest part on top), which live_through()
 * relies on. Parts overlap by a millisecond; dedupe drops what both return.
 * Returns 0 when the window is too short to split or the queue is full.
 */
static int
reader_split(struct reader *r, int pass, int64_t k)
{
	int64_t	 i;

	if ((k = split_parts(r, k)) == 0)
		return 0;
	reader_room(r, (int)k);
	for (i = k - 1; i >= 0; i--) {
		window_split(&r->cur, k, i, &r->pending[r->npending].w);
		r->pending[r->npending].pass = pass;
		r->pending[r->npending].iso = r->iso;
		r->pending[r->npending].fine = 0;
		r->npending++;
	}
	return 1;
}

/*
 * A page failed to parse PARSE_TRIES times in a row: isolate what spoils
 * it. A part longer than SLICE_MS is read again in halves (the one window
 * splitter), so that every page that parses is delivered; a slice of at
 * most SLICE_MS is read in pages of FINE_LIMIT, and only if one of those
 * still fails is the slice a gap.
 */
static void
reader_poisoned(struct reader *r, const char *why)
{
	struct source	*s = r->s;
	int64_t		 len = r->cur.end - r->cur.begin;

	r->attempt = 0;
	r->parse_fails = 0;
	if (len > SLICE_MS && r->npending + 2 <= MAX_PARTS) {
		reader_room(r, 2);
		log_warnx("source \"%s\": %s %s: page %" PRId64 " (offset %"
		    PRId64 ") failed to parse %d times in a row (%s); "
		    "reading the window again in halves to isolate it",
		    s->conf->name, reader_what(r), window_str(&r->cur),
		    r->page_no, r->offset, PARSE_TRIES, why);
		window_split(&r->cur, 2, 1, &r->pending[r->npending].w);
		r->pending[r->npending].pass = r->pass;
		r->pending[r->npending].fine = 0;
		r->pending[r->npending++].iso = 1;
		window_split(&r->cur, 2, 0, &r->pending[r->npending].w);
		r->pending[r->npending].pass = r->pass;
		r->pending[r->npending].fine = 0;
		r->pending[r->npending++].iso = 1;
		reader_next_part(r);
		return;
	}
	if (!r->fine) {
		log_warnx("source \"%s\": %s %s: page %" PRId64 " failed to "
		    "parse %d times in a row (%s); reading this slice in "
		    "pages of %d", s->conf->name, reader_what(r),
		    window_str(&r->cur), r->page_no, PARSE_TRIES, why,
		    FINE_LIMIT);
		r->fine = 1;
		reader_start_pass(r);
		reader_fetch(r);
		return;
	}
	/* A page of the slice never parses: skip it, read the others. */
	free(r->last_parse_error);
	r->last_parse_error = xstrdup(why);
	r->slice_bad = 1;
	if (r->total >= 0 && r->offset + FINE_LIMIT < r->total &&
	    r->offset + FINE_LIMIT <= OFFSET_MAX) {
		r->offset += FINE_LIMIT;
		r->page_no++;
		reader_fetch(r);
		return;
	}
	reader_pass_done(r);
}

/* A page body that is not a page: count it, retry it, or isolate it. */
static void
reader_parse_failed(struct reader *r, const char *why)
{
	struct source	*s = r->s;

	if (r->iso)
		r->iso_calls++;
	else if (r->pass > 0)
		r->calls++;
	if (++r->parse_fails >= PARSE_TRIES || r->known) {
		reader_poisoned(r, why);
		return;
	}
	buf_reset(&s->msg);
	buf_printf(&s->msg, "invalid response: %s", why);
	reader_failed_call(r, s->msg.data, FAILURE_TRANSIENT);
}

/*
 * A page's head is read (total_num): count the call, note the total. What
 * is changed here is put back by page_uncount() when the page then fails.
 */
static void
page_begin(struct reader *r, int64_t total_num)
{
	int64_t	 limit = r->fine ? FINE_LIMIT : r->s->conf->page_size;

	r->attempt_before = r->attempt;
	r->attempt = 0;
	r->fails_before = r->parse_fails;
	r->parse_fails = 0;
	if (r->iso)
		r->iso_calls++;
	else if (r->pass > 0)
		r->calls++;
	if (r->total >= 0 && total_num != r->total)
		r->total_changed = 1;
	r->total = total_num;
	if (r->budget_total < 0)
		r->budget_total = min64(r->total, OFFSET_MAX + limit);
}

/*
 * The page failed after its head: as if it had failed before it (a page
 * read whole that fails at an element keeps its attempts reset, as it
 * always did; one cut while it arrived backs off as any failed call).
 */
static void
page_uncount(struct reader *r, int attempts)
{
	if (r->iso)
		r->iso_calls--;
	else if (r->pass > 0)
		r->calls--;
	r->parse_fails = r->fails_before;
	if (attempts)
		r->attempt = r->attempt_before;
}

/* Into how many slices a dense r->cur is read (page_split()). */
static int64_t
slice_parts(const struct reader *r)
{
	int64_t	 limit = r->fine ? FINE_LIMIT : r->s->conf->page_size;

	return (r->total + SLICE_PART_PAGES * limit - 1) /
	    (SLICE_PART_PAGES * limit);
}

/*
 * Whether a page at offset 0 that is full would split r->cur (below):
 * such a page is counted, not read, when it arrives. (Should it then be
 * short, it is read again: one call more, for a total that lies.)
 */
static int
page_may_split(const struct reader *r)
{
	int64_t	 limit = r->fine ? FINE_LIMIT : r->s->conf->page_size;

	if (r->offset != 0 || r->count_short)
		return 0;
	if (r->total > OFFSET_MAX + limit &&
	    split_parts(r, one_page_parts(r)) > 0)
		return 1;
	return !r->iso && !r->fine && r->total > SLICE_PAGES * limit &&
	    split_parts(r, slice_parts(r)) > 0;
}

/* Split r->cur when its first page shows it must be: 1 when it was. */
static int
page_split(struct reader *r, size_t items)
{
	struct source	*s = r->s;
	int64_t		 limit = r->fine ? FINE_LIMIT : s->conf->page_size;
	int		 queued;

	/*
	 * More matches than offsets can reach: split the window in time. A
	 * page that is not full says the total is not what it claims.
	 */
	if (r->offset == 0 && (int64_t)items >= limit &&
	    r->total > OFFSET_MAX + limit &&
	    reader_split(r, r->pass, one_page_parts(r))) {
		log_info("source \"%s\": %s %s holds %" PRId64 " events, "
		    "more than the API's offsets reach; reading it in parts",
		    s->conf->name, reader_what(r), window_str(&r->cur),
		    r->total);
		reader_next_part(r);
		return 1;
	}
	/*
	 * A dense window (more than SLICE_PAGES pages) is read in time slices
	 * of about SLICE_PART_PAGES pages, earliest first, so that what is
	 * held per window stays bounded: the ids seen in a pass are those of
	 * a slice, and the live window's checkpoints move the cursor's end to
	 * the slice being read (live_through()), which prunes the ids behind
	 * it. A slice is read as any part: completeness, re-reads, isolation.
	 * This page is read again with its slice (one call more per window).
	 */
	queued = r->npending;
	if (r->offset == 0 && (int64_t)items >= limit && !r->iso &&
	    !r->fine && r->total > SLICE_PAGES * limit &&
	    reader_split(r, r->pass, slice_parts(r))) {
		log_info("source \"%s\": %s %s holds %" PRId64 " events; "
		    "reading it in %d slices%s", s->conf->name,
		    reader_what(r), window_str(&r->cur), r->total,
		    r->npending - queued, r->kind == READER_LIVE ?
		    ", the cursor moving with them" : "");
		reader_next_part(r);
		return 1;
	}
	return 0;
}

/* One element of a page: an event (rc 1) or one that is not (rc 2). */
static void
page_item(struct reader *r, int rc, struct hss_event *ev, const char *why)
{
	struct source	*s = r->s;

	if (rc == 2) {
		if (r->pass == 0 && r->kind != READER_SWEEP) {
			log_warnx("source \"%s\": %s %s: page %" PRId64
			    " (offset %" PRId64 "): %s; event skipped",
			    s->conf->name, reader_what(r),
			    window_str(&r->cur), r->page_no, r->offset, why);
			/* the sweep reads again what the live windows
			 * read: not counted */
			s->st.invalid++;
		}
		r->invalid_in_pass++;
		return;
	}
	idset_add(r->seen, ev->event_id, strlen(ev->event_id),
	    ev->occur_time);
	if (r->kind != READER_SWEEP)
		s->st.received++;
	if (r->kind == READER_REPLAY ? idset_has(s->replay_ids,
	    ev->event_id, strlen(ev->event_id)) :
	    cursor_has(s->cursor, ev->event_id)) {
		if (r->kind != READER_SWEEP)
			s->st.duplicates++;
	} else
		deliver(r, ev);
	hss_event_free(ev);
}

/* A page of items elements is read: the next page, or the pass is done. */
static void
page_end(struct reader *r, size_t items)
{
	struct source	*s = r->s;
	int64_t		 limit = r->fine ? FINE_LIMIT : s->conf->page_size;
	char		 why[256];

	r->count_short = 0;
	/* A short page: the window held no more than this when it was read. */
	if ((int64_t)items < limit && !r->iso && !r->fine &&
	    r->cur.begin == r->win.begin && r->cur.end == r->win.end)
		r->budget_total = min64(r->budget_total,
		    max64(r->offset + (int64_t)items, 1));

	if ((int64_t)items >= limit && r->offset + limit < r->total) {
		if (r->offset + limit > OFFSET_MAX) {
			snprintf(why, sizeof(why), "%" PRId64 " events match "
			    "but the API's offset stops at %d and the window "
			    "cannot be split further", r->total, OFFSET_MAX);
			r->capped = 1;
			reader_gap(r, r->cur.begin, r->cur.end, why);
			reader_trim_pending(r, r->cur.begin, r->cur.end);
			reader_pass_done(r);
			return;
		}
		r->offset += limit;
		r->page_no++;
		reader_fetch(r);
		return;
	}
	reader_pass_done(r);
}

/*
 * A page read whole: the body as the API sent it, when it was not read as
 * it arrived (not a page of the usual shape; see event_stream_next()).
 */
static void
process_page(struct reader *r, const struct api_result *res)
{
	struct source		*s = r->s;
	struct hss_event	*ev;
	size_t			 items;
	int			 rc;

	buf_reset(&s->err);
	event_page_clear(&s->page);
	if (event_page_open(res->body, res->body_len, &s->page,
	    &s->err) == -1) {
		reader_parse_failed(r, s->err.data);
		return;
	}
	page_begin(r, s->page.total_num);
	r->date_max = max64(r->date_max, res->server_date_ms);
	items = s->page.nitems;
	if (page_split(r, items)) {
		event_page_clear(&s->page);
		return;
	}

	/*
	 * An event at a time: memory holds one event's tree, not the page's.
	 * A page found not to be JSON at an element counts as a page that
	 * does not parse (retried, then isolated); what it held before that
	 * element was delivered and is a duplicate when read again.
	 */
	buf_reset(&s->err);
	while ((rc = event_page_next(&s->page, &ev, &s->err)) != 0) {
		if (rc == -1) {
			/* as if open had failed: reader_parse_failed()
			 * counts the call and the failure */
			event_page_clear(&s->page);
			page_uncount(r, 0);
			reader_parse_failed(r, s->err.data);
			return;
		}
		page_item(r, rc, ev, s->err.data);
		buf_reset(&s->err);
	}
	event_page_clear(&s->page);
	page_end(r, items);
}

/*
 * The body of a 200 as it arrives (api_call_consume()): its events are
 * delivered as they come, so that memory holds about one of them, never
 * the page (4.4 MB for 1000 events of 4.4 KB). A page whose first page
 * would split the window (page_may_split()) is only counted. The rest of
 * the page's reading is the same as process_page()'s, at the end
 * (stream_done()); a body not of the usual shape is left whole for it.
 */
static long
reader_consume(const char *data, size_t len, void *arg)
{
	struct reader		*r = arg;
	struct source		*s = r->s;
	struct hss_event	*ev;
	size_t			 off = 0, used;
	int			 rc;

	if (s->state == SOURCE_STOPPING || s->state == SOURCE_DONE)
		return HTTP_CONSUME_ABORT;	/* the result is ignored */
	for (;;) {
		buf_reset(&r->why);
		rc = event_stream_next(&r->es, data + off, len - off, 0, &used,
		    &ev, &r->why);
		off += used;
		switch (rc) {
		case ES_HEAD:
			r->streamed = 1;
			page_begin(r, r->es.total_num);
			r->es.count_only = page_may_split(r);
			break;
		case ES_EVENT:
			page_item(r, 1, ev, NULL);
			break;
		case ES_SKIP:
			page_item(r, 2, NULL, r->why.data);
			break;
		case ES_WHOLE:
			return HTTP_CONSUME_WHOLE;
		case ES_FAILED:
			r->stream_failed = 1;
			return HTTP_CONSUME_ABORT;
		default:	/* ES_MORE; not ES_DONE before the end */
			return (long)off;
		}
	}
}

/* The end of a page read as it arrived: its last bytes are res->body. */
static void
stream_done(struct reader *r, const struct api_result *res)
{
	struct hss_event	*ev;
	size_t			 off = 0, used;
	int			 rc = ES_MORE;

	while (!r->stream_failed && rc != ES_DONE) {
		buf_reset(&r->why);
		rc = event_stream_next(&r->es, res->body + off,
		    res->body_len - off, 1, &used, &ev, &r->why);
		off += used;
		if (rc == ES_EVENT)
			page_item(r, 1, ev, NULL);
		else if (rc == ES_SKIP)
			page_item(r, 2, NULL, r->why.data);
		else if (rc != ES_DONE)
			r->stream_failed = 1;	/* ES_FAILED */
	}
	r->streamed = 0;
	if (r->stream_failed) {
		page_uncount(r, 1);
		event_stream_clear(&r->es);
		reader_parse_failed(r, r->why.data);
		return;
	}
	r->date_max = max64(r->date_max, res->server_date_ms);
	if (r->es.count_only) {
		if (page_split(r, r->es.nitems)) {
			event_stream_clear(&r->es);
			return;
		}
		/*
		 * Counted, not read, and not split after all (a short page, a
		 * window too short to split): read it again, and read it.
		 */
		log_debug("source \"%s\": %s %s: page %" PRId64 " (offset %"
		    PRId64 ") was counted (%zu elements) to split the "
		    "window, which is not split; reading it again",
		    r->s->conf->name, reader_what(r), window_str(&r->cur),
		    r->page_no, r->offset, r->es.nitems);
		event_stream_clear(&r->es);
		r->count_short = 1;
		reader_fetch(r);
		return;
	}
	off = r->es.nitems;
	event_stream_clear(&r->es);
	page_end(r, off);
}

/*
 * [begin, end] was read up to the offset cap and reported as a gap: the
 * queued parts leave it out. (Parts overlap by a millisecond, so the next
 * part would hold the same dense millisecond, read it all again and
 * report it again.)
 */
static void
reader_trim_pending(struct reader *r, int64_t begin, int64_t end)
{
	struct window	*w;
	int		 i, n = 0;

	for (i = 0; i < r->npending; i++) {
		w = &r->pending[i].w;
		if (w->begin >= begin && w->begin <= end)
			w->begin = end + 1;
		if (w->end >= begin && w->end <= end)
			w->end = begin - 1;
		if (w->begin <= w->end)
			r->pending[n++] = r->pending[i];
	}
	r->npending = n;
}

/* Read the next queued part, or, with none left, the window is read. */
static void
reader_next_part(struct reader *r)
{
	if (r->npending == 0) {
		/* the window is read: give its queue and ids back */
		free(r->pending);
		r->pending = NULL;
		r->cap = 0;
		idset_free(r->seen);
		r->seen = idset_new();
		r->done(r);
		return;
	}
	r->npending--;
	r->cur = r->pending[r->npending].w;
	r->pass = r->pending[r->npending].pass;
	r->iso = r->pending[r->npending].iso;
	r->fine = r->known = r->pending[r->npending].fine;
	reader_start_pass(r);
	reader_fetch(r);
}

/*
 * The last page of a pass. The order of data_list is undocumented and the
 * set may change between pages, so a pass can miss events: when fewer
 * distinct ids than total_num were seen, or total_num changed, the window
 * is read again (up to MAX_REREADS times). A window that needed more than
 * one page is read again in parts small enough for one page each, since a
 * single page returns every match whatever the order. Still incomplete
 * after that: a gap.
 */
static void
reader_pass_done(struct reader *r)
{
	struct source	*s = r->s;
	uint64_t	 distinct;
	char		 why[512];
	int		 split;

	if (r->capped) {
		reader_next_part(r);
		return;
	}
	if (r->slice_bad) {
		if (r->known) {
			log_debug("source \"%s\": %s %s: the known gap, "
			    "reported before", s->conf->name, reader_what(r),
			    window_str(&r->cur));
			reader_next_part(r);
			return;
		}
		snprintf(why, sizeof(why), "a page of this slice failed to "
		    "parse %d times in a row (%s); the other pages of the "
		    "slice were delivered", PARSE_TRIES,
		    r->last_parse_error != NULL ? r->last_parse_error : "?");
		reader_gap(r, r->cur.begin, r->cur.end, why);
		note_poisoned(s, r->cur.begin, r->cur.end);
		reader_next_part(r);
		return;
	}
	if (r->known) {
		/* The slice parses now: it is no gap any more. */
		reader_next_part(r);
		return;
	}
	distinct = idset_count(r->seen) + r->invalid_in_pass;
	if ((int64_t)distinct >= r->total && !r->total_changed) {
		reader_next_part(r);
		return;
	}
	if (r->pass < MAX_REREADS) {
		s->st.rereads++;
		split = r->total > s->conf->page_size && !r->fine &&
		    reader_split(r, r->pass + 1, one_page_parts(r));
		log_info("source \"%s\": %s %s: %" PRIu64 " distinct events "
		    "of %" PRId64 "%s; reading it again%s (%d of %d)",
		    s->conf->name, reader_what(r), window_str(&r->cur),
		    distinct, r->total, r->total_changed ?
		    ", total changed between pages" : "", split ?
		    " in parts of one page" : "", r->pass + 1, MAX_REREADS);
		if (split) {
			reader_next_part(r);
			return;
		}
		r->pass++;
		reader_start_pass(r);
		reader_fetch(r);
		return;
	}
	if ((int64_t)distinct < r->total) {
		s->st.incomplete++;
		snprintf(why, sizeof(why), "still %" PRIu64 " distinct events "
		    "of total_num %" PRId64 " after %d re-reads", distinct,
		    r->total, MAX_REREADS);
		reader_gap(r, r->cur.begin, r->cur.end, why);
	}
	reader_next_part(r);
}

static void
api_done(const struct api_result *res, void *arg)
{
	struct reader	*r = arg;
	struct source	*s = r->s;
	char		 what[512];

	r->call = NULL;
	s->st.api_calls += res->calls > 0 ? (uint64_t)res->calls : 1;
	s->st.throttled += (uint64_t)res->throttled;
	note_date(s, res->server_date_ms);
	if (s->state == SOURCE_STOPPING || s->state == SOURCE_DONE)
		return;
	if (r->streamed && (res->status != API_OK || r->stream_failed)) {
		/* the page failed after its head */
		r->streamed = 0;
		event_stream_clear(&r->es);
		page_uncount(r, 1);
		if (r->stream_failed) {
			reader_parse_failed(r, r->why.data);
			return;
		}
	}
	switch (res->status) {
	case API_OK:
		if (r->streamed)
			stream_done(r, res);
		else
			process_page(r, res);
		return;
	case API_AUTH:
		snprintf(what, sizeof(what), "authentication refused: %s",
		    res->detail);
		reader_failed_call(r, what, FAILURE_AUTH);
		return;
	case API_BAD_REQUEST:
		snprintf(what, sizeof(what), "request refused as invalid: %s",
		    res->detail);
		reader_failed_call(r, what, FAILURE_INVALID);
		return;
	case API_SERVER:
	case API_NETWORK:
	case API_OTHER:
		snprintf(what, sizeof(what), "%s", res->detail);
		reader_failed_call(r, what, FAILURE_TRANSIENT);
		return;
	}
}

/* The live window: plan it on the API's clock and read it. */
static void
source_next_window(struct source *s)
{
	struct window	 w;
	int64_t		 now = api_now(s), end, wait;

	end = cursor_end(s->cursor);
	if (end == 0)
		end = window_initial_end(now, &s->wp, s->recovered);
	if (window_next(end, now, &s->wp, &w, &wait) != 0) {
		log_debug("source \"%s\": nothing to read yet; next try in %s",
		    s->conf->name, delay_str(wait));
		source_arm(s, wait, SOURCE_IDLE);
		return;
	}
	if (cursor_since(s->cursor) == 0)
		cursor_set_since(s->cursor, w.begin);
	s->sent_in_window = 0;
	s->window_read = 0;
	log_debug("source \"%s\": window %s%s", s->conf->name, window_str(&w),
	    w.catching_up ? " (catching up)" : "");
	reader_begin(&s->live, &w);
}

static void
ack_cb(void *arg)
{
	struct source	*s = arg;

	if (!s->acks_pending)
		return;
	/* Everything handed to the outputs so far, the sweep's too. */
	if (!outset_acked(s->env.outputs, s->ticket)) {
		outset_when_acked(s->env.outputs, s->ticket, ack_cb, s);
		return;
	}
	s->acks_pending = 0;
	source_commit(s);
}

/* Wait for every output to acknowledge what this source handed to it. */
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
live_done(struct reader *r)
{
	struct source	*s = r->s;

	s->window_read = 1;
	s->state = SOURCE_WAIT_ACK;
	source_wait_acks(s);
}

/*
 * The end the live window commits: never later than the Date of a page
 * read for it minus settle (what the API could show when it was asked),
 * and never before the committed end because of that clamp.
 */
static int64_t
commit_end(struct source *s)
{
	const struct reader	*r = &s->live;
	int64_t			 end = r->win.end, cur = cursor_end(s->cursor);
	int64_t			 bound;

	if (r->date_max > 0) {
		bound = r->date_max - max64(s->conf->settle_ms, 0);
		if (bound < end) {
			log_debug("source \"%s\": window %s ends at the API's "
			    "Date minus settle, %s", s->conf->name,
			    window_str(&r->win), time_str(bound));
			end = bound;
		}
	}
	if (r->win.end >= cur && end < cur)
		end = cur;
	if (end < r->win.begin)
		end = r->win.begin;
	return end;
}

/*
 * How far the live window being read is read: the start of the part being
 * read. The parts are queued in time order, the earliest on top (a slice,
 * a re-read in parts, an isolation: each queues the parts of the one being
 * read, which are all earlier than those left), so every event before that
 * part's begin was read and handed to the outputs, or reported as a gap. A
 * checkpoint or a stop whose outputs acknowledged all of it commits this
 * as the end, clamped like commit_end() and never before the committed
 * end; so a dense window's cursor moves with its slices and its ids behind
 * the lookback and sweep_range are pruned as it goes. Not reading a
 * window: the committed end.
 */
static int64_t
live_through(struct source *s)
{
	const struct reader	*r = &s->live;
	int64_t			 end = cursor_end(s->cursor), t;

	if (s->window_read || (s->state != SOURCE_FETCHING &&
	    s->state != SOURCE_BACKOFF && s->state != SOURCE_PAUSED &&
	    s->state != SOURCE_STOPPING) || r->cur.begin <= r->win.begin ||
	    r->cur.begin > r->win.end)
		return end;
	t = r->cur.begin;
	if (r->date_max > 0)
		t = min64(t, r->date_max - max64(s->conf->settle_ms, 0));
	return max64(end, t);
}

/* Log, at most hourly, that max_tracked_ids dropped ids. */
static void
note_over_max(struct source *s)
{
	int64_t	 oldest, mono = time_mono_ms();
	size_t	 n;

	if ((n = cursor_over_max(s->cursor, &oldest)) == 0 ||
	    (s->over_max_logged_at != 0 &&
	    mono - s->over_max_logged_at < OVER_MAX_LOG_EVERY_MS))
		return;
	s->over_max_logged_at = mono;
	log_warnx("source \"%s\": max_tracked_ids (%zu) reached: %zu older "
	    "ids dropped, the oldest kept is from %s; an event older than "
	    "that which becomes visible late may be delivered twice (raise "
	    "max_tracked_ids or lower sweep_range)", s->conf->name,
	    s->conf->max_tracked_ids, n, time_str(oldest));
}

static void
source_commit(struct source *s)
{
	int64_t	 end, delay;
	int	 whole = s->window_read;

	/*
	 * On stop with a partial window the delivered ids are saved, and the
	 * end moves to what of the window was read (its slices).
	 */
	end = whole ? commit_end(s) : live_through(s);
	buf_reset(&s->err);
	if (cursor_commit(s->cursor, end, &s->err) == -1) {
		s->save_fails++;
		free(s->last_error);
		s->last_error = xasprintf("cannot save the cursor: %s",
		    s->err.data);
		if (s->state == SOURCE_STOPPING) {
			log_errorx("source \"%s\": %s; the window will be read "
			    "again after the restart", s->conf->name,
			    s->last_error);
			source_finish(s, 0);
			return;
		}
		if (s->env.once && s->save_fails >= ONCE_SAVE_TRIES) {
			log_errorx("source \"%s\": %s; --once gives up after %d "
			    "attempts: the events of window %s were delivered "
			    "but the cursor stays at %s, so the next run sends "
			    "them again", s->conf->name, s->last_error,
			    s->save_fails, window_str(&s->live.win),
			    time_str(cursor_end(s->cursor)));
			source_finish(s, 1);
			return;
		}
		delay = s->env.once ? 1000LL << (s->save_fails - 1) : 10000;
		log_errorx("source \"%s\": %s; retrying in %s", s->conf->name,
		    s->last_error, delay_str(delay));
		source_arm(s, delay, SOURCE_WAIT_ACK);
		return;
	}
	s->save_fails = 0;
	s->st.committed += s->sent_in_window;
	s->sent_in_window = 0;
	s->unsaved = 0;
	outset_ticket_clear(s->ticket);		/* all of it acknowledged */
	note_over_max(s);
	if (!whole) {
		log_info("source \"%s\": stopped; %zu delivered ids saved, the "
		    "window %s is read again%s%s at the next start",
		    s->conf->name, cursor_count(s->cursor),
		    window_str(&s->live.win), end > s->live.win.begin ?
		    " from " : "", end > s->live.win.begin ?
		    time_str(end - s->conf->lookback_ms) : "");
		source_finish(s, 0);
		return;
	}
	s->st.windows++;
	if (s->live.gaps == 0 && s->gap_line != NULL && !s->sweep_active) {
		free(s->gap_line);
		s->gap_line = NULL;
	}
	log_debug("source \"%s\": committed window %s (end %s)", s->conf->name,
	    window_str(&s->live.win), time_str(end));
	if (s->state == SOURCE_STOPPING) {
		source_finish(s, 0);
		return;
	}
	if (s->live.win.catching_up) {
		source_arm(s, 0, SOURCE_IDLE);
		return;
	}
	if (s->env.once) {
		log_info("source \"%s\": caught up to %s", s->conf->name,
		    time_str(end));
		source_finish(s, 0);
		return;
	}
	source_arm(s, s->conf->poll_interval_ms, SOURCE_IDLE);
	sweep_kick(s);
}

/*
 * The late sweep (DESIGN.md section 11). Every sweep_interval it re-reads
 * [API now - sweep_range, the live window's begin] (never before the first
 * window this cursor ever read) in windows of at most WINDOW_MAX_SPAN_MS
 * and delivers the events not delivered yet: those that became visible
 * after the live windows had passed them (an agent offline for hours, a
 * delayed detection). Its ids are kept for sweep_range + lookback, bounded
 * by max_tracked_ids. Its calls are of low priority: one takes a
 * rate-limit token only while another stays free for the live windows,
 * and none is made while the live window is being committed.
 *
 * Cost: per sweep, for each 2-day window of the range, ceil(events in it /
 * page_size) pages plus the completeness re-reads (none while the range
 * does not change), at least 1 call; with the defaults (24 h, hourly) a
 * quiet project costs 24 calls a day, one with N events a day about
 * 24 x ceil(N / 1000). With 5 calls a minute (7,200 a day) shared with the
 * live windows (1,440 a day at one a minute), that leaves room for a sweep
 * of about 5,000,000 events a day.
 */
static void	sweep_chunk(struct source *);

static void
sweep_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct source	*s = arg;

	if (s->sweep_active) {
		if (s->sweep.call == NULL)
			reader_fetch(&s->sweep);
		return;
	}
	sweep_kick(s);
}

/* Start a sweep if one is due and the live reader is waiting. */
static void
sweep_kick(struct source *s)
{
	int64_t	 mono = time_mono_ms(), now, lb, from, to, since;

	if (s->conf->sweep_range_ms <= 0 || s->env.once || s->sweep_active ||
	    s->state != SOURCE_IDLE || cursor_end(s->cursor) == 0)
		return;
	if (s->sweep_next != 0 && mono < s->sweep_next) {
		arm_ms(s->sweep.timer, s->sweep_next - mono);
		return;
	}
	now = api_now(s);
	lb = max64(s->conf->lookback_ms, 1);
	from = now - s->conf->sweep_range_ms;
	if ((since = cursor_since(s->cursor)) > 0)
		from = max64(from, since);
	from = max64(from, WINDOW_MIN_TIME_MS);
	to = cursor_end(s->cursor) - lb;
	s->sweep_next = mono + s->conf->sweep_interval_ms;
	if (to - from < WINDOW_MIN_LEN_MS) {
		arm_ms(s->sweep.timer, s->conf->sweep_interval_ms);
		return;
	}
	s->sweep_active = 1;
	s->sweep_begin = s->sweep_from = from;
	s->sweep_to = to;
	s->sweep_calls = 0;
	s->sweep_late = 0;
	log_debug("source \"%s\": late sweep of %s..%s", s->conf->name,
	    time_str(from), time_str(to));
	sweep_chunk(s);
}

static void
sweep_chunk(struct source *s)
{
	struct window	 w;

	w.begin = s->sweep_from;
	w.end = min64(s->sweep_from + WINDOW_MAX_SPAN_MS, s->sweep_to);
	w.catching_up = 1;
	reader_begin(&s->sweep, &w);
}

static void
sweep_done(struct reader *r)
{
	struct source	*s = r->s;

	if (r->win.end < s->sweep_to) {
		s->sweep_from = r->win.end - 1;
		sweep_chunk(s);
		return;
	}
	s->sweep_active = 0;
	s->st.sweeps++;
	if (s->sweep_late > 0)
		log_info("source \"%s\": late sweep of %s..%s: %" PRIu64
		    " events that became visible late delivered (%lld API "
		    "calls)", s->conf->name, time_str(s->sweep_begin),
		    time_str(s->sweep_to), s->sweep_late,
		    (long long)s->sweep_calls);
	else
		log_debug("source \"%s\": late sweep done, nothing new "
		    "(%lld API calls)", s->conf->name,
		    (long long)s->sweep_calls);
	/* Its ids are saved with the next commit or checkpoint. */
	arm_ms(s->sweep.timer, max64(s->sweep_next - time_mono_ms(), 0));
}

/*
 * Mid-window checkpoint. A long window (a catch-up of two days of events)
 * is committed only when it is read and acknowledged whole; a crash before
 * that would send all of it again. So, every CKPT_POLL_MS while a
 * window is being read (or the sweep delivers): if the outputs have
 * acknowledged every message this source handed them, the cursor (every
 * id enqueued, so every id acknowledged) is saved, the end moved to what
 * of the window is read (live_through(): a dense window's slices; else
 * unchanged). Reading never waits for it; when the receivers lag, the
 * next tick tries again. Against the real API (a call every 12 s) the
 * acknowledgements of a page arrive well before the next page, so a crash
 * repeats at most a page.
 */
static void
ckpt_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct source	*s = arg;
	int64_t		 now = time_mono_ms(), took, end;
	int		 rc;

	if (s->unsaved == 0 || (s->state != SOURCE_FETCHING &&
	    s->state != SOURCE_BACKOFF && s->state != SOURCE_PAUSED &&
	    s->state != SOURCE_IDLE))
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
	end = live_through(s);
	rc = cursor_commit(s->cursor, end, &s->err);
	/*
	 * A save appends the new ids to the journal (the fdatasync and the
	 * compaction run on the cursor's worker thread), so it is short; the
	 * next one still waits CKPT_COST_FACTOR times as long as it took, so
	 * that checkpoints never take more than a tenth of the loop should
	 * the file system stall a write.
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
	log_debug("source \"%s\": checkpoint of window %s (end %s, %zu ids "
	    "in %zu kB, %lld ms)", s->conf->name, window_str(&s->live.win),
	    time_str(end), cursor_count(s->cursor),
	    cursor_memory(s->cursor) / 1024, (long long)took);
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

/*
 * --replay (DESIGN.md section 11): re-send [from, to] of this source to the
 * outputs of the replay once. The range is read in chunks of at most
 * WINDOW_MAX_SPAN_MS, oldest first, each chunk as every window is read
 * (pages, completeness re-reads, splitting, isolation of what does not
 * parse, gaps, the call budget), through the credential's rate limiter at
 * normal priority: main.c refuses a replay while a daemon holds the state
 * directory, so no live window competes for it, and the limiter keeps the
 * replay within calls_per_minute. Nothing is fetched while an output is
 * congested (the first page waits for the connection).
 *
 * The cursor is never read nor written: the purpose of a replay is to send
 * again what the live windows sent. Dedupe is within the replay only (the
 * chunks and parts overlap by a millisecond, re-reads return the same
 * events), on a set of ids pruned as the chunks move on, so memory is
 * bounded by about one chunk's ids.
 *
 * Done (the done callback, failed 0) once every chunk was read and every
 * output acknowledged every message; source_get_stats() then says how many
 * events were sent, and gaps and invalid how many were not.
 */
static void	replay_chunk(struct source *);

static void
replay_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct source	*s = arg;

	if (s->state == SOURCE_DONE || s->replay.call != NULL)
		return;
	s->replay_draining = 0;
	reader_fetch(&s->replay);
}

static void
replay_drained_cb(void *arg)
{
	struct source	*s = arg;

	if (!s->replay_draining || s->state == SOURCE_DONE ||
	    s->replay.call != NULL)
		return;
	s->replay_draining = 0;
	evtimer_del(s->replay.timer);
	reader_fetch(&s->replay);
}

static void
replay_acked_cb(void *arg)
{
	struct source	*s = arg;

	if (s->state == SOURCE_DONE)
		return;
	if (!outset_acked(s->env.outputs, s->ticket)) {
		outset_when_acked(s->env.outputs, s->ticket, replay_acked_cb, s);
		return;
	}
	source_finish(s, 0);
}

static void
replay_chunk(struct source *s)
{
	struct window	 w;

	w.begin = s->replay_from;
	w.end = min64(s->replay_from + WINDOW_MAX_SPAN_MS, s->replay_to);
	w.catching_up = w.end < s->replay_to;
	/* An id of an earlier chunk comes back only within the overlap. */
	idset_prune(s->replay_ids, w.begin, SIZE_MAX);
	log_debug("source \"%s\": replay: window %s", s->conf->name,
	    window_str(&w));
	reader_begin(&s->replay, &w);
}

static void
replay_done(struct reader *r)
{
	struct source	*s = r->s;

	log_info("source \"%s\": replay: window %s read; %" PRIu64 " events "
	    "sent so far", s->conf->name, window_str(&r->win), s->st.sent);
	if (r->win.end < s->replay_to) {
		s->replay_from = r->win.end - 1;
		replay_chunk(s);
		return;
	}
	if (outset_ticket_empty(s->ticket)) {
		source_finish(s, 0);
		return;
	}
	log_info("source \"%s\": replay: the range is read; waiting for the "
	    "outputs to acknowledge %" PRIu64 " messages", s->conf->name,
	    s->st.sent + s->st.gaps);
	outset_when_acked(s->env.outputs, s->ticket, replay_acked_cb, s);
}

static void
reader_init(struct source *s, struct reader *r, enum reader_kind kind)
{
	static void	(*const done[])(struct reader *) = {
		[READER_LIVE] = live_done,
		[READER_SWEEP] = sweep_done,
		[READER_REPLAY] = replay_done,
	};

	r->s = s;
	r->kind = kind;
	r->seen = idset_new();
	r->done = done[kind];
	if (kind == READER_SWEEP)
		r->timer = evtimer_new(s->env.base, sweep_timer_cb, s);
	else if (kind == READER_REPLAY)
		r->timer = evtimer_new(s->env.base, replay_timer_cb, s);
}

static void
reader_free(struct reader *r)
{
	if (r->call != NULL)
		api_call_cancel(r->call);
	if (r->timer != NULL)
		event_free(r->timer);
	idset_free(r->seen);
	free(r->pending);
	free(r->last_parse_error);
	event_stream_clear(&r->es);
	buf_free(&r->why);
}

static struct source *
source_alloc(const struct source_env *env, const struct source_config *conf,
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
	s->ticket = outset_ticket_new(env->outputs);
	s->state = SOURCE_IDLE;
	buf_init(&s->msg);
	buf_init(&s->err);
	return s;
}

struct source *
source_new(const struct source_env *env, const struct source_config *conf,
    struct cursor *cursor, int recovered)
{
	struct source	*s;

	s = source_alloc(env, conf, cursor, recovered);
	reader_init(s, &s->live, READER_LIVE);
	reader_init(s, &s->sweep, READER_SWEEP);
	return s;
}

struct source *
source_new_replay(const struct source_env *env,
    const struct source_config *conf, int64_t from, int64_t to)
{
	struct source	*s;

	s = source_alloc(env, conf, NULL, 0);
	s->replaying = 1;
	s->replay_begin = s->replay_from = from;
	s->replay_to = to;
	s->replay_ids = idset_new();
	reader_init(s, &s->replay, READER_REPLAY);
	return s;
}

void
source_free(struct source *s)
{
	if (s == NULL)
		return;
	reader_free(&s->live);
	reader_free(&s->sweep);
	reader_free(&s->replay);
	idset_free(s->replay_ids);
	outset_cancel(s->env.outputs, s);
	event_free(s->timer);
	event_free(s->stop_timer);
	event_free(s->ckpt_timer);
	event_page_clear(&s->page);
	cursor_free(s->cursor);
	outset_ticket_free(s->ticket);
	free(s->last_error);
	free(s->gap_line);
	buf_free(&s->msg);
	buf_free(&s->err);
	free(s);
}

void
source_start(struct source *s)
{
	if (s->replaying) {
		log_debug("source \"%s\": replay of %s..%s (%s, project %s, %s)",
		    s->conf->name, time_str(s->replay_begin),
		    time_str(s->replay_to), s->conf->region,
		    s->conf->project_id,
		    config_category_name(s->conf->category));
		replay_chunk(s);
		return;
	}
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
	if (s->replaying) {
		free(s->last_error);
		s->last_error = xstrdup("stopped before the whole range was "
		    "read and acknowledged");
		source_finish(s, 1);
		return;
	}
	evtimer_del(s->timer);
	reader_cancel(&s->live);
	reader_cancel(&s->sweep);
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
