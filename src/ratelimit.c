/*
 * The API allows 5 calls per minute per user: every call, pages and
 * retries included, takes a token first. Each token is a slot holding the
 * time it can be used again: INT64_MAX while its call is in flight, 60 s
 * after the call completed, or the end of a 429's Retry-After.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"
#include "util.h"

#define INFLIGHT	INT64_MAX

struct ratelimit {
	int	 rate;		/* calls per minute = number of slots */
	int64_t	*free_at;	/* per slot: usable when <= now */
};

static int
cmp_desc(const void *a, const void *b)
{
	int64_t	 x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

struct ratelimit *
ratelimit_new(int rate, int64_t now)
{
	struct ratelimit	*r;
	int			 i;

	r = xcalloc(1, sizeof(*r));
	r->rate = rate < 1 ? 1 : rate;
	r->free_at = xreallocarray(NULL, (size_t)r->rate, sizeof(int64_t));
	for (i = 0; i < r->rate; i++)
		r->free_at[i] = now;
	return r;
}

void
ratelimit_free(struct ratelimit *r)
{
	if (r == NULL)
		return;
	free(r->free_at);
	free(r);
}

void
ratelimit_set_rate(struct ratelimit *r, int rate, int64_t now)
{
	int	 i, old = r->rate;

	rate = rate < 1 ? 1 : rate;
	if (rate == old)
		return;
	/* Keep the busiest slots: in flight first, then the latest used. */
	qsort(r->free_at, (size_t)old, sizeof(int64_t), cmp_desc);
	r->free_at = xreallocarray(r->free_at, (size_t)rate, sizeof(int64_t));
	for (i = old; i < rate; i++)
		r->free_at[i] = now;
	r->rate = rate;
}

int
ratelimit_rate(const struct ratelimit *r)
{
	return r->rate;
}

int64_t
ratelimit_take(struct ratelimit *r, int64_t now)
{
	int	 i, best = 0;

	for (i = 1; i < r->rate; i++)
		if (r->free_at[i] < r->free_at[best])
			best = i;
	if (r->free_at[best] <= now) {
		r->free_at[best] = INFLIGHT;
		return 0;
	}
	if (r->free_at[best] == INFLIGHT)
		return RATELIMIT_INFLIGHT_POLL_MS;
	return r->free_at[best] - now;
}

/* Tokens free now. */
static int
available(const struct ratelimit *r, int64_t now)
{
	int	 i, n = 0;

	for (i = 0; i < r->rate; i++)
		if (r->free_at[i] <= now)
			n++;
	return n;
}

int64_t
ratelimit_take_spare(struct ratelimit *r, int64_t now, int keep)
{
	int64_t	*t;
	int64_t	 at;

	if (keep <= 0)
		return ratelimit_take(r, now);
	if (keep >= r->rate)
		keep = r->rate - 1;
	if (available(r, now) > keep)
		return ratelimit_take(r, now);
	/* The slot that frees the (keep + 1)-th token, earliest first. */
	t = xreallocarray(NULL, (size_t)r->rate, sizeof(*t));
	memcpy(t, r->free_at, (size_t)r->rate * sizeof(*t));
	qsort(t, (size_t)r->rate, sizeof(*t), cmp_desc);
	at = t[r->rate - 1 - keep];
	free(t);
	if (at == INFLIGHT)
		return RATELIMIT_INFLIGHT_POLL_MS;
	return at > now ? at - now : 1;
}

void
ratelimit_done(struct ratelimit *r, int64_t now)
{
	int	 i;

	for (i = 0; i < r->rate; i++)
		if (r->free_at[i] == INFLIGHT) {
			r->free_at[i] = now + RATELIMIT_WINDOW_MS;
			return;
		}
}

void
ratelimit_throttled(struct ratelimit *r, int64_t now, int64_t retry_after)
{
	int64_t	 until;
	int	 i;

	until = now + (retry_after > 0 ? retry_after : RATELIMIT_WINDOW_MS);
	for (i = 0; i < r->rate; i++)
		if (r->free_at[i] != INFLIGHT && r->free_at[i] < until)
			r->free_at[i] = until;
}
