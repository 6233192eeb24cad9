/*
 * The dedupe set: keyed fingerprints of event ids with their prune keys,
 * in sorted buckets under an extendible-hashing directory (see idset.h).
 *
 * A bucket holds the ids whose fingerprints share its top `depth' bits,
 * sorted by fingerprint, in three arrays (64 bits of the fingerprint, the
 * key, the rest of the fingerprint) of one block sized to what it holds.
 * A bucket at least NARROW deep has its ids' first 8 bits in its place in
 * the directory: its entries keep bits 8 to 79 (64 + 8 bits, 13 bytes with
 * the key); a shallower one keeps bits 0 to 79 (64 + 16 bits, 14 bytes).
 * A set of more than about 45,000 ids has only narrow buckets. A full
 * bucket splits in two on its next bit (the sorted order makes that a
 * cut), doubling the directory first when it is as deep; after a prune,
 * buddies small enough merge back and the directory halves when it can.
 *
 * The blocks are the set's own: one store, taken from its end, that the
 * directory addresses by offset. A bucket that grows or splits leaves its
 * old block dead in the store; when the store is full and enough of it is
 * dead, the live blocks slide down over the dead ones (and the directory
 * follows), so that the set reuses its own holes instead of growing. Until
 * then a new bucket takes a dead block of its size if there is one (the
 * buckets grow through the same sizes), which keeps those passes rare. With
 * each bucket a malloc() block of its own, the resized buckets left holes
 * in the heap that nothing else filled: at 529,000 ids the process grew
 * 16.9 bytes an id for 15.1 allocated (bench/idset_bench). A large store
 * is a mapping of its own (above malloc's mmap threshold), so it grows in
 * place or is remapped, never copied, and after a large prune it gives
 * its pages back.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "idset.h"
#include "log.h"
#include "util.h"

#define BUCKET_MAX	256	/* ids before a bucket splits */
#define BUCKET_MERGE	(BUCKET_MAX / 2)	/* buddies merge below */
#define DEPTH_MAX	48	/* deeper: a bucket grows instead */
#define CAP_LIMIT	65535
#define NARROW		8	/* this deep: the first 8 bits implied */
#define FREE_CAPS	(BUCKET_MAX / 8 + 8)	/* dead blocks reused whole */
#define FREE_CLASSES	(2 * FREE_CAPS)		/* ... wide and narrow */
#define NO_BLOCK	UINT32_MAX

struct bucket {
	uint32_t	 tmin;	/* the oldest key (UINT32_MAX: empty) */
	uint16_t	 n;
	uint16_t	 cap;
	uint8_t		 depth;
	uint8_t		 dead;	/* a block left behind, for the compaction */
	uint32_t	 fwd;	/* where the compaction moves it; when dead,
			 * the next dead block of its size */
	uint64_t	 hi[];	/* cap; then uint32_t t[], uint16_t lo[] (or
			 * uint8_t lo[] when narrow) */
};

/* A prune under way (idset_prune_step()). */
struct pjob {
	int		 phase;
	uint64_t	 keep_from;	/* seconds: drop keys before */
	size_t		 max;
	size_t		 slack;
	size_t		 target;	/* cut to this many */
	unsigned int	 gdepth;	/* of the directory, for slot */
	size_t		 slot;		/* the next bucket */
	int		 pass;		/* of the select */
	uint32_t	 prefix;
	size_t		 need;
	uint32_t	*hist;
	uint32_t	 cut;
	size_t		 ties;
	size_t		 by_age;
	size_t		 by_count;
	uint32_t	 tmin_seen;	/* the oldest key left, of those seen */
};

struct idset {
	uint8_t		 key[16];
	unsigned int	 gdepth;
	uint32_t	*dir;		/* 1 << gdepth slots: block offsets */
	uint8_t		*store;		/* the blocks */
	size_t		 size;		/* of the store */
	size_t		 used;		/* from its start, live or dead */
	size_t		 dead;		/* bytes of dead blocks in used */
	uint32_t	 freel[FREE_CLASSES];	/* dead blocks by size */
	size_t		 n;
	uint32_t	 tmin;		/* <= every key (prunes skip above) */
	uint32_t	 tmin_new;	/* ... of those added during a prune */
	struct pjob	 job;
};

static uint32_t *
b_t(struct bucket *b)
{
	return (uint32_t *)(void *)(b->hi + b->cap);
}

static int
narrow(unsigned int depth)
{
	return depth >= NARROW;
}

/* The bits of a fingerprint a bucket's place holds, not its entries. */
static unsigned int
implied_bits(unsigned int depth)
{
	return narrow(depth) ? 8 : 0;
}

/* The bytes of the last bits of an entry: 16 or 8 bits. */
static size_t
lo_bytes(unsigned int depth)
{
	return narrow(depth) ? 1 : 2;
}

/* The last bits of the fingerprints: 16 (wide) or 8 (narrow) each. */
static uint16_t *
b_lo(struct bucket *b)
{
	return (uint16_t *)(void *)(b_t(b) + b->cap);
}

static uint8_t *
b_lo8(struct bucket *b)
{
	return (uint8_t *)(void *)(b_t(b) + b->cap);
}

static unsigned int
lo_get(struct bucket *b, size_t j)
{
	return narrow(b->depth) ? b_lo8(b)[j] : b_lo(b)[j];
}

static void
lo_set(struct bucket *b, size_t j, unsigned int v)
{
	if (narrow(b->depth))
		b_lo8(b)[j] = (uint8_t)v;
	else
		b_lo(b)[j] = (uint16_t)v;
}

/* Move n entries from j to k within b (overlapping: memmove). */
static void
entries_move(struct bucket *b, size_t k, size_t j, size_t n)
{
	size_t	 lsz = lo_bytes(b->depth);

	memmove(b->hi + k, b->hi + j, n * sizeof(*b->hi));
	memmove(b_t(b) + k, b_t(b) + j, n * sizeof(uint32_t));
	memmove(b_lo8(b) + k * lsz, b_lo8(b) + j * lsz, n * lsz);
}

/*
 * A fingerprint (hi, lo) as the bucket holds it: the same when wide; bits
 * 8 to 71 and 72 to 79 when narrow.
 */
static void
fp_held(const struct bucket *b, uint64_t hi, uint16_t lo, uint64_t *w,
    unsigned int *l)
{
	if (narrow(b->depth)) {
		*w = (hi << 8) | (lo >> 8);
		*l = lo & 0xff;
	} else {
		*w = hi;
		*l = lo;
	}
}

/*
 * The bytes of a block of cap entries at this depth: a multiple of 8, as
 * offsets are.
 */
static size_t
b_size(size_t cap, unsigned int depth)
{
	return (sizeof(struct bucket) + cap * (sizeof(uint64_t) +
	    sizeof(uint32_t) + lo_bytes(depth)) + 7) & ~(size_t)7;
}

/* The block at a byte offset in the store. */
static struct bucket *
at_byte(const struct idset *s, size_t off)
{
	return (struct bucket *)(void *)(s->store + off);
}

/* The block at an offset (in units of 8 bytes), and the one of a slot. */
static struct bucket *
at(const struct idset *s, uint32_t off)
{
	return at_byte(s, (size_t)off << 3);
}

static struct bucket *
slot_b(const struct idset *s, size_t i)
{
	return at(s, s->dir[i]);
}

/*
 * Slide the live blocks down over the dead ones, in their order, and
 * point the directory at their new places.
 */
static void
store_compact(struct idset *s)
{
	struct bucket	*b;
	size_t		 off, to, sz, i;

	for (off = to = 0; off < s->used; off += sz) {
		b = at_byte(s, off);
		sz = b_size(b->cap, b->depth);
		if (!b->dead) {
			b->fwd = (uint32_t)(to >> 3);
			to += sz;
		}
	}
	for (i = 0; i < (size_t)1 << s->gdepth; i++)
		s->dir[i] = slot_b(s, i)->fwd;
	for (off = 0; off < s->used; off += sz) {
		b = at_byte(s, off);
		sz = b_size(b->cap, b->depth);
		if (!b->dead && ((size_t)b->fwd << 3) != off)
			memmove(s->store + ((size_t)b->fwd << 3), b, sz);
	}
	s->used = to;
	s->dead = 0;
	memset(s->freel, 0xff, sizeof(s->freel));
}

/* Resize the store to what it uses and a little room (at least need). */
static void
store_resize(struct idset *s, size_t need)
{
	size_t	 want;
	void	*p;

	/* A large store grows by a 64th (a mapping of its own: remapped, not
	 * copied), a small one by an eighth; an empty set takes 64 bytes (a
	 * process may hold thousands of them). */
	want = s->used + need;
	if (want >= 65536)
		want = (want + want / 64 + 4095) & ~(size_t)4095;
	else
		want = (want + want / 8 + 63) & ~(size_t)63;
	if (want > (size_t)UINT32_MAX << 3)
		fatalx("dedupe set: the store is full");
	if (want == s->size)
		return;
	if (want < s->size) {
		/* Giving back: if realloc() cannot, the store stays. */
		if ((p = realloc(s->store, want)) == NULL)
			return;
		s->store = p;
	} else
		s->store = xreallocarray(s->store, 1, want);
	s->size = want;
}

/*
 * Make room for need bytes of new blocks. This may move every block:
 * callers take their pointers (and offsets) after it.
 */
static void
store_reserve(struct idset *s, size_t need)
{
	if (s->size - s->used >= need)
		return;
	/* Reuse the holes when they are worth a pass over the store; the
	 * store grows only with less than a 32nd of it dead. */
	if (s->dead >= need && s->dead >= s->size / 32) {
		store_compact(s);
		if (s->size - s->used >= need)
			return;
	}
	store_resize(s, need);
}

/*
 * After a prune: a store more than a quarter dead or unused gives its
 * pages back (the holes may have been reused on the way, so what is dead
 * now does not tell).
 */
static void
store_trim(struct idset *s)
{
	if (s->size - (s->used - s->dead) <= s->size / 4)
		return;
	if (s->dead > 0)
		store_compact(s);
	store_resize(s, 0);
}

static uint64_t
rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static uint64_t
le64(const uint8_t *p)
{
	uint64_t	 v = 0;
	int		 i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

#define SIPROUND do {							\
	v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);	\
	v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;				\
	v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;				\
	v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);	\
} while (0)

/* SipHash-2-4-128 (Aumasson and Bernstein, the reference's 128-bit mode). */
void
idset_siphash128(const uint8_t key[16], const void *data, size_t len,
    uint64_t out[2])
{
	const uint8_t	*in = data, *end = in + len - (len % 8);
	uint64_t	 k0 = le64(key), k1 = le64(key + 8);
	uint64_t	 v0 = 0x736f6d6570736575ULL ^ k0;
	uint64_t	 v1 = 0x646f72616e646f6dULL ^ k1;
	uint64_t	 v2 = 0x6c7967656e657261ULL ^ k0;
	uint64_t	 v3 = 0x7465646279746573ULL ^ k1;
	uint64_t	 m, b = (uint64_t)len << 56;
	size_t		 i;

	v1 ^= 0xee;
	for (; in != end; in += 8) {
		m = le64(in);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (i = 0; i < (len & 7); i++)
		b |= (uint64_t)in[i] << (8 * i);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xee;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	out[0] = v0 ^ v1 ^ v2 ^ v3;
	v1 ^= 0xdd;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	out[1] = v0 ^ v1 ^ v2 ^ v3;
}

int64_t
idset_key_held(int64_t key_ms)
{
	int64_t	 s;

	if (key_ms <= 0)
		return 0;
	s = key_ms / 1000 + (key_ms % 1000 != 0);
	return (s > UINT32_MAX ? UINT32_MAX : s) * 1000;
}

static uint32_t
key_sec(int64_t key_ms)
{
	return (uint32_t)(idset_key_held(key_ms) / 1000);
}

/* The free list of blocks of this cap and layout, or -1. */
static int
free_class(size_t cap, unsigned int depth)
{
	if (cap % 8 != 0 || cap / 8 >= FREE_CAPS)
		return -1;
	return (int)(cap / 8) + (narrow(depth) ? FREE_CAPS : 0);
}

/*
 * A new empty bucket, its offset: a dead block of its size, or at the end
 * of the store (reserved).
 */
static uint32_t
bucket_new(struct idset *s, size_t cap, unsigned int depth)
{
	struct bucket	*b;
	size_t		 off = s->used;
	size_t		 sz = b_size(cap, depth);
	int		 cl = free_class(cap, depth);

	if (cl != -1 && s->freel[cl] != NO_BLOCK) {
		off = (size_t)s->freel[cl] << 3;
		s->freel[cl] = at(s, s->freel[cl])->fwd;
		s->dead -= sz;
	} else if (s->size - s->used < sz)
		fatalx("dedupe set: no room was reserved for a bucket");
	else
		s->used += sz;
	b = at_byte(s, off);
	b->tmin = UINT32_MAX;
	b->n = 0;
	b->cap = (uint16_t)cap;
	b->depth = (uint8_t)depth;
	b->dead = 0;
	b->fwd = 0;
	return (uint32_t)(off >> 3);
}

static void
bucket_free(struct idset *s, uint32_t off)
{
	struct bucket	*b = at(s, off);
	size_t		 sz = b_size(b->cap, b->depth);
	int		 cl = free_class(b->cap, b->depth);

	b->dead = 1;
	if (((size_t)off << 3) + sz == s->used) {
		s->used -= sz;		/* the last block: taken back */
		return;
	}
	s->dead += sz;
	if (cl != -1) {
		b->fwd = s->freel[cl];
		s->freel[cl] = off;
	}
}

/*
 * Copy entries [from, from + n) of src to the end of dst. A split from
 * wide to narrow drops the first 8 bits; a merge from narrow to wide puts
 * them back: top8, the first 8 bits of src's place in the directory.
 */
static void
bucket_append(struct bucket *dst, struct bucket *src, size_t from, size_t n,
    unsigned int top8)
{
	uint64_t	 w;
	size_t		 i, lsz = lo_bytes(src->depth);
	unsigned int	 l;

	memcpy(b_t(dst) + dst->n, b_t(src) + from, n * sizeof(uint32_t));
	if (narrow(dst->depth) == narrow(src->depth)) {
		memcpy(dst->hi + dst->n, src->hi + from, n * sizeof(uint64_t));
		memcpy(b_lo8(dst) + dst->n * lsz, b_lo8(src) + from * lsz,
		    n * lsz);
	} else if (narrow(dst->depth)) {
		for (i = 0; i < n; i++) {
			w = src->hi[from + i];
			l = b_lo(src)[from + i];
			dst->hi[dst->n + i] = (w << 8) | (l >> 8);
			b_lo8(dst)[dst->n + i] = (uint8_t)l;
		}
	} else {
		for (i = 0; i < n; i++) {
			w = src->hi[from + i];
			l = b_lo8(src)[from + i];
			dst->hi[dst->n + i] = ((uint64_t)top8 << 56) | (w >> 8);
			b_lo(dst)[dst->n + i] = (uint16_t)(((w & 0xff) << 8) |
			    l);
		}
	}
	for (i = 0; i < n; i++)
		if (b_t(src)[from + i] < dst->tmin)
			dst->tmin = b_t(src)[from + i];
	dst->n += (uint16_t)n;
}

/* The first directory slot of the bucket at slot i, and how many it has. */
static size_t
slot_first(const struct idset *s, size_t i, size_t *span)
{
	unsigned int	 sh = s->gdepth - slot_b(s, i)->depth;

	*span = (size_t)1 << sh;
	return (i >> sh) << sh;
}

static void
dir_set(struct idset *s, size_t first, size_t span, uint32_t off)
{
	size_t	 i;

	for (i = 0; i < span; i++)
		s->dir[first + i] = off;
}

/* Replace the bucket at slot i by a copy with room for cap entries. */
static void
bucket_resize(struct idset *s, size_t i, size_t cap)
{
	uint32_t	 old, off;
	size_t		 first, span;

	store_reserve(s, b_size(cap, slot_b(s, i)->depth));
	old = s->dir[i];
	first = slot_first(s, i, &span);
	off = bucket_new(s, cap, at(s, old)->depth);
	bucket_append(at(s, off), at(s, old), 0, at(s, old)->n, 0);
	dir_set(s, first, span, off);
	bucket_free(s, old);
}

static size_t
cap_for(size_t n)
{
	size_t	 cap;

	/* a sixteenth more: about 3% unused on average (a quarter more left
	 * 26% of the set's memory unused at 500,000 ids, an eighth 6%); the
	 * blocks left behind are reused (store_reserve()) */
	cap = n + (n / 16 > 8 ? n / 16 : 8);
	cap = (cap + 7) & ~(size_t)7;
	if (n <= BUCKET_MAX && cap > BUCKET_MAX)
		cap = BUCKET_MAX;
	return cap > CAP_LIMIT ? CAP_LIMIT : cap;
}

static size_t
dir_index(const struct idset *s, uint64_t hi)
{
	return s->gdepth == 0 ? 0 : (size_t)(hi >> (64 - s->gdepth));
}

/* Split the bucket at slot i in two on its next bit. */
static void
bucket_split(struct idset *s, size_t i)
{
	struct bucket	*b = slot_b(s, i);
	uint32_t	*nd, boff, loff, roff;
	uint64_t	 bit;
	size_t		 first, span, lo, hi, mid, j, lcap, rcap;

	if (b->depth == s->gdepth) {
		nd = xreallocarray(NULL, (size_t)2 << s->gdepth, sizeof(*nd));
		for (j = 0; j < (size_t)1 << s->gdepth; j++)
			nd[2 * j] = nd[2 * j + 1] = s->dir[j];
		free(s->dir);
		s->dir = nd;
		s->gdepth++;
		i *= 2;
	}
	/* Sorted, with the top depth bits shared: the next bit cuts (a
	 * narrow bucket's entries start at bit 8). */
	bit = (uint64_t)1 << (63 - (b->depth - implied_bits(b->depth)));
	for (lo = 0, hi = b->n; lo < hi; ) {
		mid = lo + (hi - lo) / 2;
		if (b->hi[mid] & bit)
			hi = mid;
		else
			lo = mid + 1;
	}
	lcap = cap_for(lo);
	rcap = cap_for(b->n - lo);
	store_reserve(s, b_size(lcap, b->depth + 1u) +
	    b_size(rcap, b->depth + 1u));
	boff = s->dir[i];
	b = at(s, boff);
	loff = bucket_new(s, lcap, b->depth + 1u);
	roff = bucket_new(s, rcap, b->depth + 1u);
	bucket_append(at(s, loff), b, 0, lo, 0);
	bucket_append(at(s, roff), b, lo, b->n - lo, 0);
	first = slot_first(s, i, &span);
	dir_set(s, first, span / 2, loff);
	dir_set(s, first + span / 2, span / 2, roff);
	bucket_free(s, boff);
}

/*
 * The position of a fingerprint in b, or where it would go; *found if
 * there. Fingerprints are uniform: the search starts where the value says
 * (its bits after the bucket's) and narrows to a few cache lines around.
 */
static size_t
bucket_find(struct bucket *b, uint64_t fhi, uint16_t flo, int *found)
{
	uint64_t	 hi;
	unsigned int	 lo, sh = implied_bits(b->depth);
	size_t		 l = 0, h = b->n, m, est;

	fp_held(b, fhi, flo, &hi, &lo);
	if (b->n > 32 && b->depth < 40) {
		est = (size_t)((((hi << (b->depth - sh)) >> 40) * b->n) >>
		    24);
		if (est >= 16 && b->hi[est - 16] < hi)
			l = est - 16;
		if (est + 16 < b->n && b->hi[est + 16] > hi)
			h = est + 16;
	}
	while (l < h) {
		m = l + (h - l) / 2;
		if (b->hi[m] < hi || (b->hi[m] == hi && lo_get(b, m) < lo))
			l = m + 1;
		else
			h = m;
	}
	*found = l < b->n && b->hi[l] == hi && lo_get(b, l) == lo;
	return l;
}

static void
fingerprint(const struct idset *s, const char *id, size_t len, uint64_t *hi,
    uint16_t *lo)
{
	uint64_t	 h[2];

	idset_siphash128(s->key, id, len, h);
	*hi = h[0];
	*lo = (uint16_t)h[1];
}

struct idset *
idset_new(void)
{
	struct idset	*s;

	s = xcalloc(1, sizeof(*s));
	if (RAND_bytes(s->key, sizeof(s->key)) != 1)
		fatalx("dedupe set: cannot draw a random key");
	s->dir = xcalloc(1, sizeof(*s->dir));
	memset(s->freel, 0xff, sizeof(s->freel));
	store_reserve(s, b_size(0, 0));
	s->dir[0] = bucket_new(s, 0, 0);
	s->tmin = s->tmin_new = UINT32_MAX;
	return s;
}

void
idset_free(struct idset *s)
{
	if (s == NULL)
		return;
	free(s->store);
	free(s->dir);
	free(s->job.hist);
	OPENSSL_cleanse(s->key, sizeof(s->key));
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
	return sizeof(*s) + ((size_t)sizeof(*s->dir) << s->gdepth) + s->size;
}

int
idset_has(const struct idset *s, const char *id, size_t len)
{
	uint64_t	 hi;
	uint16_t	 lo;
	int		 found;

	if (len == 0 || len > IDSET_MAX_ID_LEN)
		return 0;
	fingerprint(s, id, len, &hi, &lo);
	bucket_find(slot_b(s, dir_index(s, hi)), hi, lo, &found);
	return found;
}

static int	idset_insert(struct idset *, const char *, size_t, int64_t,
		    int);

int
idset_add(struct idset *s, const char *id, size_t len, int64_t key_ms)
{
	return idset_insert(s, id, len, key_ms, 0);
}

int
idset_add_max(struct idset *s, const char *id, size_t len, int64_t key_ms)
{
	return idset_insert(s, id, len, key_ms, 1);
}

static int
idset_insert(struct idset *s, const char *id, size_t len, int64_t key_ms,
    int raise)
{
	struct bucket	*b;
	uint64_t	 hi, w;
	uint32_t	 t = key_sec(key_ms);
	uint16_t	 lo;
	size_t		 i, pos;
	unsigned int	 l;
	int		 found;

	if (event_id_valid(id, len, NULL) == -1)
		return -1;
	fingerprint(s, id, len, &hi, &lo);
	for (;;) {
		i = dir_index(s, hi);
		b = slot_b(s, i);
		pos = bucket_find(b, hi, lo, &found);
		if (found) {
			if (raise && b_t(b)[pos] < t)
				b_t(b)[pos] = t;	/* tmin stays a bound */
			return 0;
		}
		if (b->n < b->cap)
			break;
		if (b->n >= BUCKET_MAX && b->depth < DEPTH_MAX)
			bucket_split(s, i);
		else if (b->cap == CAP_LIMIT)
			fatalx("dedupe set: a bucket is full");
		else
			bucket_resize(s, i, cap_for(b->n + 1));
	}
	entries_move(b, pos + 1, pos, b->n - pos);
	fp_held(b, hi, lo, &w, &l);
	b->hi[pos] = w;
	b_t(b)[pos] = t;
	lo_set(b, pos, l);
	if (t < b->tmin)
		b->tmin = t;
	if (t < s->tmin)
		s->tmin = t;
	if (t < s->tmin_new)
		s->tmin_new = t;
	b->n++;
	s->n++;
	return 1;
}

int64_t
idset_oldest(const struct idset *s)
{
	uint32_t	 tmin = UINT32_MAX;
	size_t		 i, span;

	if (s->n == 0)
		return 0;
	for (i = 0; i < (size_t)1 << s->gdepth; i += span) {
		slot_first(s, i, &span);
		if (slot_b(s, i)->tmin < tmin)
			tmin = slot_b(s, i)->tmin;
	}
	return (int64_t)tmin * 1000;
}

/*
 * Keep the entries of the bucket at slot i with t > cut, and with t == cut
 * all but the first *ties (counted down). Returns the number dropped.
 */
static size_t
bucket_filter(struct idset *s, size_t i, uint32_t cut, size_t *ties)
{
	struct bucket	*b = slot_b(s, i);
	uint32_t	*bt = b_t(b);
	size_t		 j, k, dropped;

	b->tmin = UINT32_MAX;
	for (j = k = 0; j < b->n; j++) {
		if (bt[j] < cut)
			continue;
		if (bt[j] == cut && *ties > 0) {
			(*ties)--;
			continue;
		}
		b->hi[k] = b->hi[j];
		bt[k] = bt[j];
		lo_set(b, k, lo_get(b, j));
		if (bt[k] < b->tmin)
			b->tmin = bt[k];
		k++;
	}
	dropped = b->n - k;
	b->n = (uint16_t)k;
	s->n -= dropped;
	if (b->cap > 16 && b->cap > 2 * k + 8)
		bucket_resize(s, i, cap_for(k));
	return dropped;
}

/* Merge the buddies small enough, in one pass; 1 if some were. */
static int
merge_pass(struct idset *s)
{
	struct bucket	*b, *u, *m;
	uint32_t	 boff, uoff, moff;
	size_t		 i, first, span, budf, cap;
	unsigned int	 btop, utop, sh;
	int		 merged = 0;

	for (i = 0; i < (size_t)1 << s->gdepth; i += span) {
		first = slot_first(s, i, &span);
		b = slot_b(s, i);
		if (b->depth == 0)
			continue;
		budf = first ^ span;
		u = slot_b(s, budf);
		if (u->depth != b->depth || b->n + u->n > BUCKET_MERGE)
			continue;
		cap = cap_for(b->n + u->n);
		store_reserve(s, b_size(cap, b->depth - 1u));
		boff = s->dir[i];
		uoff = s->dir[budf];
		moff = bucket_new(s, cap, at(s, boff)->depth - 1u);
		m = at(s, moff);
		b = at(s, boff);
		u = at(s, uoff);
		/* their first 8 bits, should the merged one be wide */
		sh = s->gdepth >= NARROW ? s->gdepth - NARROW : 0;
		btop = (unsigned int)(first >> sh);
		utop = (unsigned int)(budf >> sh);
		if (first < budf) {
			bucket_append(m, b, 0, b->n, btop);
			bucket_append(m, u, 0, u->n, utop);
		} else {
			bucket_append(m, u, 0, u->n, utop);
			bucket_append(m, b, 0, b->n, btop);
		}
		first &= ~span;
		dir_set(s, first, 2 * span, moff);
		bucket_free(s, boff);
		bucket_free(s, uoff);
		/* Go on after the merged pair. */
		span = 2 * span - (i - first);
		merged = 1;
	}
	return merged;
}

/* Merge small buddies and halve the directory while nothing is as deep. */
static void
idset_shrink(struct idset *s)
{
	uint32_t	*nd;
	size_t		 i, j, span;
	unsigned int	 maxd;

	while (merge_pass(s))
		;
	for (;;) {
		maxd = 0;
		for (i = 0; i < (size_t)1 << s->gdepth; i += span) {
			slot_first(s, i, &span);
			if (slot_b(s, i)->depth > maxd)
				maxd = slot_b(s, i)->depth;
		}
		if (s->gdepth == 0 || maxd == s->gdepth)
			break;
		nd = xreallocarray(NULL, (size_t)1 << (s->gdepth - 1),
		    sizeof(*nd));
		for (j = 0; j < (size_t)1 << (s->gdepth - 1); j++)
			nd[j] = s->dir[2 * j];
		free(s->dir);
		s->dir = nd;
		s->gdepth--;
	}
}

enum pj_phase { PJ_NONE, PJ_AGE, PJ_SELECT, PJ_CUT };

/* Between two steps the set may change; the slot follows the directory. */
static void
pj_rescale(struct idset *s)
{
	struct pjob	*j = &s->job;

	if (s->gdepth > j->gdepth)
		j->slot <<= s->gdepth - j->gdepth;
	else if (s->gdepth < j->gdepth)
		j->slot >>= j->gdepth - s->gdepth;
	j->gdepth = s->gdepth;
}

/* The radix select's bins: 12 + 12 + 8 bits of the keys (seconds). */
static const int	 pj_shift[3] = { 20, 8, 0 };
static const int	 pj_width[3] = { 12, 12, 8 };

/* The end of a select pass: the bin that holds the need-th newest. */
static void
pj_pass_end(struct idset *s)
{
	struct pjob	*j = &s->job;
	size_t		 acc = 0;
	int		 bin;

	for (bin = (1 << pj_width[j->pass]) - 1; bin > 0; bin--) {
		if (acc + j->hist[bin] >= j->need)
			break;
		acc += j->hist[bin];
	}
	j->need = j->need > acc ? j->need - acc : 0;
	j->prefix = (j->prefix << pj_width[j->pass]) | (uint32_t)bin;
	if (++j->pass < 3) {
		memset(j->hist, 0, 4096 * sizeof(*j->hist));
		return;
	}
	j->cut = j->prefix;
	j->ties = j->hist[bin] > j->need ? j->hist[bin] - j->need : 0;
	free(j->hist);
	j->hist = NULL;
	j->phase = PJ_CUT;
}

/* The age phase done: cut by count if there are too many. */
static void
pj_after_age(struct idset *s)
{
	struct pjob	*j = &s->job;

	/* Every bucket seen: the oldest key is known again. */
	s->tmin = j->tmin_seen < s->tmin_new ? j->tmin_seen : s->tmin_new;
	j->slot = 0;
	if (s->n <= j->max) {
		j->phase = PJ_NONE;
		return;
	}
	j->target = j->max > j->slack ? j->max - j->slack : 0;
	if (j->target == 0) {
		j->cut = UINT32_MAX;
		j->ties = SIZE_MAX;
		j->phase = PJ_CUT;
		return;
	}
	j->need = j->target;
	j->prefix = 0;
	j->pass = 0;
	j->hist = xcalloc(4096, sizeof(*j->hist));
	j->phase = PJ_SELECT;
}

void
idset_prune_start(struct idset *s, int64_t min_time, size_t max,
    size_t slack)
{
	struct pjob	*j = &s->job;

	j->keep_from = min_time <= 0 ? 0 : (uint64_t)min_time / 1000 +
	    (min_time % 1000 != 0);
	j->max = max;
	j->slack = slack;
	if (j->phase != PJ_NONE)
		return;		/* goes on, with these */
	/* Nothing that old and not too many: nothing to look at. */
	if (j->keep_from <= s->tmin && s->n <= max)
		return;
	j->phase = PJ_AGE;
	j->tmin_seen = UINT32_MAX;
	s->tmin_new = UINT32_MAX;
	j->slot = 0;
	j->gdepth = s->gdepth;
	j->by_age = j->by_count = 0;
}

int
idset_prune_step(struct idset *s, size_t budget, size_t *by_age,
    size_t *by_count)
{
	struct pjob	*j = &s->job;
	struct bucket	*b;
	uint32_t	 cut, *bt;
	size_t		 span, ties, k, cost;
	int		 all;

	while (j->phase != PJ_NONE && budget > 0) {
		pj_rescale(s);
		if (j->slot >= (size_t)1 << s->gdepth) {
			if (j->phase == PJ_AGE)
				pj_after_age(s);
			else if (j->phase == PJ_SELECT) {
				j->slot = 0;
				pj_pass_end(s);
			} else
				j->phase = PJ_NONE;
			continue;
		}
		slot_first(s, j->slot, &span);
		b = slot_b(s, j->slot);
		cost = 1;
		switch (j->phase) {
		case PJ_AGE:
			all = j->keep_from > UINT32_MAX;
			cut = all ? UINT32_MAX : (uint32_t)j->keep_from;
			if (j->keep_from > 0 && (b->tmin < cut ||
			    (all && b->n > 0))) {
				ties = all ? SIZE_MAX : 0;
				cost += b->n;
				j->by_age += bucket_filter(s, j->slot, cut,
				    &ties);
				b = slot_b(s, j->slot);
			}
			if (b->tmin < j->tmin_seen)
				j->tmin_seen = b->tmin;
			break;
		case PJ_SELECT:
			bt = b_t(b);
			cost += b->n;
			for (k = 0; k < b->n; k++) {
				if (j->pass > 0 && (bt[k] >>
				    (pj_shift[j->pass] + pj_width[j->pass])) !=
				    j->prefix)
					continue;
				j->hist[(bt[k] >> pj_shift[j->pass]) &
				    ((1u << pj_width[j->pass]) - 1)]++;
			}
			break;
		case PJ_CUT:
			if (b->tmin <= j->cut) {
				cost += b->n;
				j->by_count += bucket_filter(s, j->slot, j->cut,
				    &j->ties);
			}
			break;
		}
		j->slot += span;
		budget = budget > cost ? budget - cost : 0;
	}
	if (j->phase != PJ_NONE)
		return 0;
	if (j->by_count > 0 && j->cut < s->tmin_new)
		s->tmin = j->cut;	/* what is left of the cut, or newer */
	if (j->by_age + j->by_count > 0) {
		idset_shrink(s);
		store_trim(s);
	}
	*by_age = j->by_age;
	*by_count = j->by_count;
	j->by_age = j->by_count = 0;
	return 1;
}

size_t
idset_prune(struct idset *s, int64_t min_time, size_t max)
{
	size_t	 a, c;

	idset_prune_start(s, min_time, max, 0);
	while (!idset_prune_step(s, SIZE_MAX, &a, &c))
		;
	return a + c;
}
