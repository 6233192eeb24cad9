/*
 * idset.c: the event_id dedupe set of a cursor. An open-addressing hash
 * table (linear probing, load <= 1/2) of 32-bit indices into a dense array
 * of {occur_time, hash, offset}; the id bytes live once in one arena. About
 * 16 + 8..16 + (length + 1) bytes per id. Lookups and inserts are O(1);
 * removal happens only by idset_prune(), which rebuilds the set.
 */
#ifndef HSS_IDSET_H
#define HSS_IDSET_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

/* Ids are what event_id_valid() accepts (event.h): at most this long. */
#define IDSET_MAX_ID_LEN	EVENT_ID_MAX_BYTES

struct idset;

struct idset	*idset_new(void);
void		 idset_free(struct idset *);
/* 1 if the id is in the set. */
int		 idset_has(const struct idset *, const char *id, size_t len);
/*
 * Add an id with its prune key (the time it may be forgotten after, see
 * idset_prune()). Returns 1 if added, 0 if already there (its time is
 * left alone), -1 if it is not a valid event_id (event_id_valid()).
 */
int		 idset_add(struct idset *, const char *id, size_t len,
		    int64_t occur_time);
size_t		 idset_count(const struct idset *);
/* Make room for n more ids of idbytes bytes in all (NULs included). */
void		 idset_reserve(struct idset *, size_t n, size_t idbytes);
/* The i-th id in insertion order (i < count); NUL-terminated, borrowed. */
const char	*idset_get(const struct idset *, size_t i, size_t *len,
		    int64_t *occur_time);
/*
 * Drop every id with occur_time < min_time, then the oldest until at most
 * max remain (ties: the earliest added goes first). The survivors keep
 * their order. Returns the number dropped.
 */
size_t		 idset_prune(struct idset *, int64_t min_time,
		    size_t max);
/* Bytes allocated (tables, entries, arena). */
size_t		 idset_memory(const struct idset *);

#endif
