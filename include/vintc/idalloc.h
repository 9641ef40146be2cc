/* SPDX-License-Identifier: MIT */
/*
 * Bounded ID allocator with a lookup: IDs 1..2^bits-1, each bound to a
 * pointer while allocated.  Allocation rotates from the last ID handed out
 * (a freed ID is not handed out again until the space wraps, so stale tags
 * in flight rarely alias a new owner), costs at most a few dozen word scans
 * at any occupancy, and answers -ENOSPC at once when every ID is taken.
 * An ID and its lookup entry appear and disappear together under one lock:
 * an ID still in the lookup is never handed out.  A retired ID stays taken
 * for good (its owner's teardown failed).  Never logs.
 */
#ifndef VINTC_IDALLOC_H
#define VINTC_IDALLOC_H

#include <stdint.h>

#include <vintc/host.h>

struct id_space;

#define ID_SPACE_MAX_BITS 24

int id_space_create(unsigned int bits, struct id_space **out);
/*
 * Hand out the lowest free ID instead of rotating (an IDA): for IDs that
 * are never carried in a tag, where a deterministic sequence matters more
 * than delaying reuse (host LPIs).
 */
void id_space_set_lowest_first(struct id_space *s);
void id_space_destroy(struct id_space *s);

int id_alloc(struct id_space *s, void *owner, uint32_t *id);
void id_free(struct id_space *s, uint32_t id);
/* Unbind the owner but keep the ID taken forever. */
void id_retire(struct id_space *s, uint32_t id);

uint32_t id_space_max(const struct id_space *s);
uint32_t id_space_used(struct id_space *s);     /* live + retired */
uint32_t id_space_retired(struct id_space *s);

/* Lookup: hold the read lock across the use of the owner. */
void id_space_read_lock(struct id_space *s);
void id_space_read_unlock(struct id_space *s);
void *id_lookup_locked(struct id_space *s, uint32_t id);

#endif
