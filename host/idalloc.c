// SPDX-License-Identifier: MIT
/*
 * Two levels: leaves of up to 1024 IDs (a used bitmap and owner pointers,
 * allocated on first use and freed when empty) under a bitmap of full
 * leaves.  Finding the next free ID reads at most one leaf bitmap (16
 * words), the full-leaf bitmap (at most 16 words for 2^20 IDs) and one more
 * leaf bitmap, independent of occupancy.
 */
#include <stdlib.h>

#include <vintc/idalloc.h>

#define LEAF_BITS_MAX 10

struct id_leaf {
	uint32_t nused;
	uint64_t used[(1U << LEAF_BITS_MAX) / 64];
	void *owner[];
};

struct id_space {
	struct host_rwlock lock;
	unsigned int leaf_bits;
	uint32_t leaf_size, nleaves, max, cursor, used, retired;
	bool lowest_first;
	uint64_t *full;		/* one bit per leaf */
	struct id_leaf **leaves;
};

/* Sentinel owner of a retired ID: taken, but resolves to nothing. */
static char retired_owner;

static uint32_t find_next_zero(const uint64_t *map, uint32_t nbits, uint32_t from)
{
	while (from < nbits) {
		uint64_t w = ~map[from / 64] & (~0ULL << (from % 64));

		if (w) {
			uint32_t bit = (from & ~63U) + (uint32_t)__builtin_ctzll(w);

			return bit < nbits ? bit : nbits;
		}
		from = (from & ~63U) + 64;
	}
	return nbits;
}

static uint32_t leaf_capacity(const struct id_space *s, uint32_t l)
{
	return s->leaf_size - (l == 0);	/* ID 0 means "none" */
}

int id_space_create(unsigned int bits, struct id_space **out)
{
	struct id_space *s;

	if (bits < 1 || bits > ID_SPACE_MAX_BITS)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->leaf_bits = bits < LEAF_BITS_MAX ? bits : LEAF_BITS_MAX;
	s->leaf_size = 1U << s->leaf_bits;
	s->nleaves = 1U << (bits - s->leaf_bits);
	s->max = (1U << bits) - 1;
	s->cursor = 0;
	s->full = calloc((s->nleaves + 63) / 64, sizeof(uint64_t));
	s->leaves = calloc(s->nleaves, sizeof(*s->leaves));
	if (!s->full || !s->leaves) {
		free(s->full);
		free(s->leaves);
		free(s);
		return -ENOMEM;
	}
	host_rwlock_init(&s->lock);
	*out = s;
	return 0;
}

void id_space_destroy(struct id_space *s)
{
	if (!s)
		return;
	for (uint32_t l = 0; l < s->nleaves; l++)
		host_free(s->leaves[l]);
	host_rwlock_destroy(&s->lock);
	free(s->full);
	free(s->leaves);
	free(s);
}

/* First free ID in [from, max], or 0.  Lock held. */
static uint32_t scan_from(const struct id_space *s, uint32_t from)
{
	uint32_t l = from >> s->leaf_bits, bit = from & (s->leaf_size - 1);

	while (l < s->nleaves) {
		const struct id_leaf *leaf = s->leaves[l];

		if (!leaf)
			return (l << s->leaf_bits) | bit;
		bit = find_next_zero(leaf->used, s->leaf_size, bit);
		if (bit < s->leaf_size)
			return (l << s->leaf_bits) | bit;
		l = find_next_zero(s->full, s->nleaves, l + 1);
		bit = 0;
	}
	return 0;
}

int id_alloc(struct id_space *s, void *owner, uint32_t *id)
{
	struct id_leaf *leaf;
	uint32_t n, l, bit;

	if (!owner)
		return -EINVAL;
	host_write_lock(&s->lock);
	if (s->used == s->max) {
		host_write_unlock(&s->lock);
		return -ENOSPC;
	}
	n = s->cursor < s->max && !s->lowest_first ? scan_from(s, s->cursor + 1) : 0;
	if (!n)
		n = scan_from(s, 1);	/* wrap: ID 0 is never handed out */
	l = n >> s->leaf_bits;
	bit = n & (s->leaf_size - 1);
	leaf = s->leaves[l];
	if (!leaf) {
		leaf = host_zalloc(HOST_TAG_IDS, sizeof(*leaf) +
				   s->leaf_size * sizeof(leaf->owner[0]), "ids.leaf");
		if (!leaf) {
			host_write_unlock(&s->lock);
			return -ENOMEM;
		}
		s->leaves[l] = leaf;
	}
	leaf->used[bit / 64] |= 1ULL << (bit % 64);
	leaf->owner[bit] = owner;
	if (++leaf->nused == leaf_capacity(s, l))
		s->full[l / 64] |= 1ULL << (l % 64);
	s->used++;
	s->cursor = n;
	host_write_unlock(&s->lock);
	*id = n;
	return 0;
}

static void id_release(struct id_space *s, uint32_t id, bool retire)
{
	uint32_t l = id >> s->leaf_bits, bit = id & (s->leaf_size - 1);
	struct id_leaf *leaf;

	if (!id || id > s->max)
		return;
	host_write_lock(&s->lock);
	leaf = s->leaves[l];
	if (!leaf || !(leaf->used[bit / 64] & (1ULL << (bit % 64))) ||
	    leaf->owner[bit] == &retired_owner) {
		host_write_unlock(&s->lock);
		return;
	}
	if (retire) {
		leaf->owner[bit] = &retired_owner;
		s->retired++;
		host_write_unlock(&s->lock);
		return;
	}
	leaf->used[bit / 64] &= ~(1ULL << (bit % 64));
	leaf->owner[bit] = NULL;
	s->full[l / 64] &= ~(1ULL << (l % 64));
	s->used--;
	if (--leaf->nused == 0) {
		s->leaves[l] = NULL;
		host_free(leaf);
	}
	host_write_unlock(&s->lock);
}

void id_free(struct id_space *s, uint32_t id)
{
	id_release(s, id, false);
}

void id_retire(struct id_space *s, uint32_t id)
{
	id_release(s, id, true);
}

void id_space_set_lowest_first(struct id_space *s)
{
	s->lowest_first = true;
}

uint32_t id_space_max(const struct id_space *s)
{
	return s->max;
}

uint32_t id_space_used(struct id_space *s)
{
	uint32_t v;

	host_read_lock(&s->lock);
	v = s->used;
	host_read_unlock(&s->lock);
	return v;
}

uint32_t id_space_retired(struct id_space *s)
{
	uint32_t v;

	host_read_lock(&s->lock);
	v = s->retired;
	host_read_unlock(&s->lock);
	return v;
}

void id_space_read_lock(struct id_space *s)
{
	host_read_lock(&s->lock);
}

void id_space_read_unlock(struct id_space *s)
{
	host_read_unlock(&s->lock);
}

void *id_lookup_locked(struct id_space *s, uint32_t id)
{
	uint32_t l = id >> s->leaf_bits, bit = id & (s->leaf_size - 1);
	void *owner;

	if (!id || id > s->max || !s->leaves[l])
		return NULL;
	owner = s->leaves[l]->owner[bit];
	return owner == &retired_owner ? NULL : owner;
}
