/*
 * The dedupe set: event ids with their occur_time, O(1) lookups, pruned by
 * time and count when the cursor commits (see idset.h).
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "idset.h"
#include "log.h"
#include "util.h"

struct ident {
	int64_t		 time;
	uint32_t	 hash;
	uint32_t	 off;	/* into arena */
};

struct idset {
	struct ident	*ents;
	size_t		 n;
	size_t		 cap;
	char		*arena;
	size_t		 alen;
	size_t		 acap;
	uint32_t	*slots;	/* 0: empty, else index in ents + 1 */
	size_t		 mask;	/* number of slots - 1 */
};

#define IDSET_MIN_SLOTS	16

/* FNV-1a with a final avalanche (the slot index uses the low bits). */
static uint64_t
idset_hash(const char *s, size_t len)
{
	uint64_t	 h = 0xcbf29ce484222325ULL;
	size_t		 i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

struct idset *
idset_new(void)
{
	struct idset	*s;

	s = xcalloc(1, sizeof(*s));
	s->slots = xcalloc(IDSET_MIN_SLOTS, sizeof(*s->slots));
	s->mask = IDSET_MIN_SLOTS - 1;
	return s;
}

void
idset_free(struct idset *s)
{
	if (s == NULL)
		return;
	free(s->ents);
	free(s->arena);
	free(s->slots);
	free(s);
}

size_t
idset_count(const struct idset *s)
{
	return s->n;
}

size_t
idset_memory(const struct idset *s)
{
	return sizeof(*s) + s->cap * sizeof(*s->ents) + s->acap +
	    (s->mask + 1) * sizeof(*s->slots);
}

/* The slot holding the id, or the empty slot where it would go. */
static size_t
idset_find(const struct idset *s, const char *id, size_t len, uint32_t h)
{
	const struct ident	*e;
	const char		*a;
	size_t			 i;

	for (i = h & s->mask;; i = (i + 1) & s->mask) {
		if (s->slots[i] == 0)
			return i;
		e = &s->ents[s->slots[i] - 1];
		if (e->hash != h)
			continue;
		a = s->arena + e->off;
		if (memcmp(a, id, len) == 0 && a[len] == '\0')
			return i;
	}
}

int
idset_has(const struct idset *s, const char *id, size_t len)
{
	if (len == 0 || len > IDSET_MAX_ID_LEN)
		return 0;
	return s->slots[idset_find(s, id, len,
	    (uint32_t)idset_hash(id, len))] != 0;
}

/* Rebuild the slot table for the current entries, sized for n. */
static void
idset_rehash(struct idset *s, size_t n)
{
	size_t	 nslots, i, j;

	for (nslots = IDSET_MIN_SLOTS; nslots < 2 * n; nslots *= 2)
		;
	free(s->slots);
	s->slots = xcalloc(nslots, sizeof(*s->slots));
	s->mask = nslots - 1;
	for (i = 0; i < s->n; i++) {
		for (j = s->ents[i].hash & s->mask; s->slots[j] != 0;
		    j = (j + 1) & s->mask)
			;
		s->slots[j] = (uint32_t)(i + 1);
	}
}

void
idset_reserve(struct idset *s, size_t n, size_t idbytes)
{
	if (s->n + n > s->cap) {
		s->cap = s->n + n;
		s->ents = xreallocarray(s->ents, s->cap, sizeof(*s->ents));
	}
	if (s->alen + idbytes > s->acap) {
		s->acap = s->alen + idbytes;
		s->arena = xreallocarray(s->arena, s->acap, 1);
	}
	if (2 * (s->n + n) > s->mask + 1)
		idset_rehash(s, s->n + n);
}

int
idset_add(struct idset *s, const char *id, size_t len, int64_t occur_time)
{
	struct ident	*e;
	uint32_t	 h;
	size_t		 slot;

	if (event_id_valid(id, len, NULL) == -1)
		return -1;
	h = (uint32_t)idset_hash(id, len);
	slot = idset_find(s, id, len, h);
	if (s->slots[slot] != 0)
		return 0;
	if (s->n + 1 >= UINT32_MAX || s->alen + len + 1 > UINT32_MAX)
		fatalx("dedupe set: more than 4 GB of event ids");
	if (s->n == s->cap) {
		s->cap = s->cap == 0 ? 64 : s->cap * 2;
		s->ents = xreallocarray(s->ents, s->cap, sizeof(*s->ents));
	}
	if (s->alen + len + 1 > s->acap) {
		while (s->alen + len + 1 > s->acap)
			s->acap = s->acap == 0 ? 4096 : s->acap * 2;
		s->arena = xreallocarray(s->arena, s->acap, 1);
	}
	e = &s->ents[s->n];
	e->time = occur_time;
	e->hash = h;
	e->off = (uint32_t)s->alen;
	memcpy(s->arena + s->alen, id, len);
	s->arena[s->alen + len] = '\0';
	s->alen += len + 1;
	s->slots[slot] = (uint32_t)(s->n + 1);
	s->n++;
	if (2 * s->n > s->mask + 1)
		idset_rehash(s, s->n);
	return 1;
}

const char *
idset_get(const struct idset *s, size_t i, size_t *len, int64_t *occur_time)
{
	const char	*id = s->arena + s->ents[i].off;

	if (len != NULL)
		*len = strlen(id);
	if (occur_time != NULL)
		*occur_time = s->ents[i].time;
	return id;
}

struct age {
	int64_t		 time;
	size_t		 index;
};

/* Newest first; among equal times the latest added first. */
static int
age_cmp(const void *a, const void *b)
{
	const struct age	*x = a, *y = b;

	if (x->time != y->time)
		return x->time > y->time ? -1 : 1;
	if (x->index != y->index)
		return x->index > y->index ? -1 : 1;
	return 0;
}

size_t
idset_prune(struct idset *s, int64_t min_time, size_t max)
{
	struct age	*ages = NULL;
	unsigned char	*keep;
	char		*arena;
	size_t		 i, n, kept, alen, len;

	keep = xcalloc(s->n, 1);
	for (i = n = 0; i < s->n; i++) {
		if (s->ents[i].time >= min_time) {
			keep[i] = 1;
			n++;
		}
	}
	if (n > max) {
		ages = xreallocarray(NULL, n, sizeof(*ages));
		for (i = n = 0; i < s->n; i++) {
			if (keep[i]) {
				ages[n].time = s->ents[i].time;
				ages[n++].index = i;
			}
		}
		qsort(ages, n, sizeof(*ages), age_cmp);
		for (i = max; i < n; i++)
			keep[ages[i].index] = 0;
		free(ages);
		n = max;
	}
	if (n == s->n) {
		free(keep);
		return 0;
	}
	/* Compact the entries and the arena in place, in order. */
	arena = s->arena;
	for (i = kept = alen = 0; i < s->n; i++) {
		if (!keep[i])
			continue;
		len = strlen(arena + s->ents[i].off) + 1;
		memmove(arena + alen, arena + s->ents[i].off, len);
		s->ents[kept] = s->ents[i];
		s->ents[kept].off = (uint32_t)alen;
		alen += len;
		kept++;
	}
	free(keep);
	n = s->n - kept;
	s->n = kept;
	s->alen = alen;
	/* Give memory back after a large prune. */
	if (s->cap > 64 && s->cap > 4 * kept) {
		s->cap = kept * 2 > 64 ? kept * 2 : 64;
		s->ents = xreallocarray(s->ents, s->cap, sizeof(*s->ents));
	}
	if (s->acap > 4096 && s->acap > 4 * alen) {
		s->acap = alen * 2 > 4096 ? alen * 2 : 4096;
		s->arena = xreallocarray(s->arena, s->acap, 1);
	}
	idset_rehash(s, s->n);
	return n;
}
