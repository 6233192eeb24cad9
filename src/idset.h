/*
 * idset.c: the event_id dedupe set of a cursor. It keeps an 80-bit keyed
 * fingerprint of each id (SipHash-2-4-128 under a random key drawn when
 * the set is made), never the id itself, and its prune key to the second:
 * 13 bytes an id in dense sorted buckets (extendible hashing on the top
 * bits of the fingerprint; a bucket 8 bits deep or more has its ids' first
 * 8 bits in its place, as every bucket of a set of more than about 45,000
 * ids does; 14 bytes in a shallower one), about 14 bytes an id in all.
 * Lookups and inserts cost a hash and a binary search in one bucket of at
 * most 256 ids; a bucket grows or splits alone, so the set never holds two
 * copies of itself. The ids themselves are on disk (cursor.c).
 *
 * A fingerprint collision would make a new event look delivered: a lost
 * event. With n ids in the set, a new id collides with probability
 * n / 2^80 (the key is secret, so nobody can aim at it): 8.3e-19 for each
 * new event at 1,000,000 ids; 1,000,000 new events a day for ten years
 * against a full set gives 3e-9 in all; 10,000 a day, 3e-13. (64 bits
 * would give 2e-4 for the first figure: not acceptable for a forwarder
 * that must never lose an event.)
 *
 * Prune keys are rounded up to the second (never down: an id is kept up
 * to a second longer, never dropped early) and held as unsigned 32-bit
 * seconds; a key past 2106 is held as the largest.
 */
#ifndef HSS_IDSET_H
#define HSS_IDSET_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

/* Ids are what event_id_valid() accepts (event.h): at most this long. */
#define IDSET_MAX_ID_LEN	EVENT_ID_MAX_BYTES

struct idset;

/* A new empty set with a fresh random key. */
struct idset	*idset_new(void);
void		 idset_free(struct idset *);
/* 1 if the id is in the set. */
int		 idset_has(const struct idset *, const char *id, size_t len);
/*
 * Add an id with its prune key in ms (the time it may be forgotten after,
 * see idset_prune()). Returns 1 if added, 0 if already there (its key is
 * left alone), -1 if it is not a valid event_id (event_id_valid()).
 */
int		 idset_add(struct idset *, const char *id, size_t len,
		    int64_t key_ms);
/*
 * The same, but an id already there takes the later of its key and this
 * one (loading: an id saved again after it was pruned has a later key).
 */
int		 idset_add_max(struct idset *, const char *id, size_t len,
		    int64_t key_ms);
size_t		 idset_count(const struct idset *);
/*
 * Drop every id whose key (as held: rounded up to the second) is before
 * min_time, then the oldest until at most max remain (among ids of the
 * same second, which ones go is arbitrary). Returns the number dropped.
 */
size_t		 idset_prune(struct idset *, int64_t min_time, size_t max);
/*
 * The same in steps, so that a large set is pruned without holding up the
 * caller: idset_prune_start() says what to drop (if a prune is under way
 * it goes on with these figures), idset_prune_step() looks at about budget
 * ids and returns 1 when the prune is done, with the numbers dropped by
 * age and by count (0: call again). Ids added between steps may be kept
 * until the next prune; beyond max, the cut is to about max - slack (the
 * keys counted in passes over the set while it changes).
 */
void		 idset_prune_start(struct idset *, int64_t min_time,
		    size_t max, size_t slack);
int		 idset_prune_step(struct idset *, size_t budget,
		    size_t *by_age, size_t *by_count);
/* The oldest key held, in ms (0 when the set is empty). O(buckets). */
int64_t		 idset_oldest(const struct idset *);
/* Bytes allocated (directory and buckets). */
size_t		 idset_memory(const struct idset *);
/* A prune key as the set holds it, in ms: rounded up to the second. */
int64_t		 idset_key_held(int64_t key_ms);
/* SipHash-2-4 with a 128-bit output (out[0] || out[1], little-endian). */
void		 idset_siphash128(const uint8_t key[16], const void *data,
		    size_t len, uint64_t out[2]);

#endif
