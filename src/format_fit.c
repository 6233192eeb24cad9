/*
 * format_fit.c: a message longer than its output's max_message_size, made
 * to fit (format.h). A format that finds its message too long writes it
 * again recording where each value it may cut lies in the buffer (the
 * value as written, escaped); format_fit_apply() then cuts the longest
 * values first, all to one common length, so that the message fits:
 *
 *   - the values of level FIT_CUT first; when cutting every one of them to
 *     the marker alone is not enough (and the caller allows it), those of
 *     level FIT_ID (the identity of the event) as well;
 *   - a cut value keeps its longest prefix that ends between two
 *     characters, never inside an escape sequence (a backslash and what
 *     follows it, \uXXXX in JSON) or a UTF-8 sequence, followed by U+2026
 *     HORIZONTAL ELLIPSIS ("..." as one character, 3 bytes): a cut value
 *     is never shorter than the marker, and a value of at most 3 bytes is
 *     never cut;
 *   - the common length is the largest that fits, found by bisection over
 *     the recorded lengths; the message is then rewritten in place in one
 *     pass. So the whole is O(n + k log n) for n bytes and k values.
 *
 * The escaping stays valid because a cut only removes whole escapes and
 * whole characters, and the marker is plain UTF-8 that no format escapes.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "format.h"
#include "format_util.h"
#include "util.h"

void
format_fit_init(struct format_fit *f)
{
	memset(f, 0, sizeof(*f));
}

void
format_fit_reset(struct format_fit *f)
{
	f->n = 0;
}

void
format_fit_free(struct format_fit *f)
{
	free(f->v);
	format_fit_init(f);
}

void
format_fit_add(struct format_fit *f, size_t start, size_t end,
    enum format_fit_level level, enum format_fit_text text)
{
	struct format_fit_span	*s;

	/* a value of at most the marker's length is never cut */
	if (f == NULL || level == FIT_KEEP ||
	    end <= start + FORMAT_CUT_MARK_LEN)
		return;
	if (f->n == f->alloc) {
		f->alloc = f->alloc == 0 ? 32 : f->alloc * 2;
		f->v = xreallocarray(f->v, f->alloc, sizeof(*f->v));
	}
	s = &f->v[f->n++];
	s->start = start;
	s->end = end;
	s->level = (unsigned char)level;
	s->text = (unsigned char)text;
}

/* Bytes saved by cutting every value of level lv longer than cap to cap. */
static size_t
saving(const struct format_fit *f, unsigned char lv, size_t cap)
{
	size_t	 i, len, s = 0;

	for (i = 0; i < f->n; i++) {
		len = f->v[i].end - f->v[i].start;
		if (f->v[i].level == lv && len > cap)
			s += len - cap;
	}
	return s;
}

/*
 * The largest length (at least the marker's) to which the values of level
 * lv must be cut to save need bytes; 0 when even the marker alone is not
 * enough.
 */
static size_t
cap_for(const struct format_fit *f, unsigned char lv, size_t need)
{
	size_t	 i, lo = FORMAT_CUT_MARK_LEN, hi = 0, mid;

	for (i = 0; i < f->n; i++)
		if (f->v[i].level == lv && f->v[i].end - f->v[i].start > hi)
			hi = f->v[i].end - f->v[i].start;
	if (hi <= lo || saving(f, lv, lo) < need)
		return 0;
	/* saving(lo) >= need > saving(hi) == 0 */
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (saving(f, lv, mid) >= need)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/*
 * The length of the longest prefix of the value p (len bytes, as written)
 * of at most lim bytes that ends between two characters.
 */
static size_t
cut_at(const unsigned char *p, size_t len, size_t lim, unsigned char text)
{
	size_t	 i = 0, n;

	while (i < len) {
		if (p[i] == '\\' && text != FIT_RAW)
			n = text == FIT_JSON && i + 1 < len && p[i + 1] == 'u' ?
			    6 : 2;
		else if (p[i] < 0x80)
			n = 1;
		else if ((n = utf8_seq_len(p + i, len - i)) == 0)
			n = 1;
		if (i + n > lim)
			break;
		i += n;
	}
	return i;
}

int
format_fit_apply(struct buf *b, size_t msgstart, const struct format_fit *f,
    size_t max, enum format_fit_level maxlevel)
{
	const struct format_fit_span	*s;
	size_t				 cap[2], need, r, w, i, keep, len;

	if (b->len - msgstart <= max)
		return 0;
	need = b->len - msgstart - max;
	cap[FIT_ID] = SIZE_MAX;
	if ((cap[FIT_CUT] = cap_for(f, FIT_CUT, need)) == 0) {
		if (maxlevel != FIT_ID)
			return -1;
		cap[FIT_CUT] = FORMAT_CUT_MARK_LEN;
		need -= saving(f, FIT_CUT, FORMAT_CUT_MARK_LEN);
		if ((cap[FIT_ID] = cap_for(f, FIT_ID, need)) == 0)
			return -1;
	}
	/* In place: what is kept only ever moves towards the start. */
	r = w = msgstart;
	for (i = 0; i < f->n; i++) {
		s = &f->v[i];
		len = s->end - s->start;
		if (len <= cap[s->level] || s->start < r)
			continue;
		memmove(b->data + w, b->data + r, s->start - r);
		w += s->start - r;
		keep = cut_at((unsigned char *)b->data + s->start, len,
		    cap[s->level] - FORMAT_CUT_MARK_LEN, s->text);
		memmove(b->data + w, b->data + s->start, keep);
		w += keep;
		memcpy(b->data + w, FORMAT_CUT_MARK, FORMAT_CUT_MARK_LEN);
		w += FORMAT_CUT_MARK_LEN;
		r = s->end;
	}
	memmove(b->data + w, b->data + r, b->len - r);
	w += b->len - r;
	buf_truncate(b, w);
	return 0;
}

int
format_fit_shapes(struct buf *b, const struct hss_event *ev,
    const struct format_ctx *ctx, format_build_fn *build,
    const enum format_fit_level *cuts, size_t nshapes, int *truncated,
    size_t *orig)
{
	struct format_fit	 fit;
	size_t			 start = b->len, max, i;
	int			 rc = -1;

	max = ctx->out->max_message_size;
	build(b, ev, ctx, 0, 0, NULL);
	*orig = b->len - start;
	if (max == 0 || *orig <= max)
		return 0;
	*truncated = 1;
	format_fit_init(&fit);
	for (i = 0; i < nshapes && rc == -1; i++) {
		buf_truncate(b, start);
		format_fit_reset(&fit);
		build(b, ev, ctx, (int)i, *orig, &fit);
		rc = format_fit_apply(b, start, &fit, max, cuts[i]);
	}
	format_fit_free(&fit);
	return rc;
}
