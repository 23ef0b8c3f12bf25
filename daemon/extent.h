/* SPDX-License-Identifier: Apache-2.0 */
/*
 * extent.h -- the pool's extents in memory, indexed by id
 *
 * A hash table finds an extent by id in O(1); a vector kept in id order
 * serves listings from a cursor; a red-black tree finds named extents by
 * name.  Ids only grow, so a new extent is
 * appended; a deleted one leaves a hole that compaction removes once holes
 * are half the vector.  Nothing here is ordered by offset: the rare walks
 * that need it (checks, recovery) sort a snapshot.
 */
#ifndef DAXALLOCD_EXTENT_H
#define DAXALLOCD_EXTENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include "format.h"

struct hold_lease;
struct hold_pin;

struct extent {
	RB_ENTRY(extent) name_entry; /* named extents only */
	TAILQ_ENTRY(extent) owner_entry; /* anonymous: its owner's list */
	void *owner;   /* anonymous: the owning process (proc.c), if known */
	LIST_HEAD(hold_lease_list, hold_lease) leases; /* who may map it (hold.c) */
	LIST_HEAD(hold_pin_list, hold_pin) pins;	/* pins taken on it (hold.c) */
	size_t vidx;   /* position in the id-ordered vector */
	uint64_t slot; /* record slot on the device */
	struct fmt_extent rec;
};

/* One entry of the id table; e NULL when unused. */
struct extent_slot {
	uint64_t id;
	struct extent *e;
};

RB_HEAD(extent_names, extent);

struct extent_index {
	struct extent_names names; /* named extents, by name */
	struct extent_slot *table; /* 2^bits entries, at most half used */
	unsigned int bits;
	struct extent **vec; /* id order; NULL where one was deleted */
	size_t len, cap, holes;
	uint64_t count;
};

void extent_index_init(struct extent_index *x);
void extent_index_free(struct extent_index *x);
int extent_index_reserve(struct extent_index *x, size_t n);
int extent_index_add(struct extent_index *x, struct extent *e);
int extent_index_load(struct extent_index *x, struct extent *e);
void extent_index_del(struct extent_index *x, struct extent *e);
int extent_index_sort(struct extent_index *x, uint64_t *dup);

struct extent *extent_find(const struct extent_index *x, uint64_t id);
struct extent *extent_find_name(const struct extent_index *x, const char *name);
struct extent *extent_find_from(const struct extent_index *x, uint64_t id);
struct extent *extent_next(const struct extent_index *x, const struct extent *e);
int extent_by_offset(const struct extent_index *x, struct extent ***out);

#endif /* DAXALLOCD_EXTENT_H */
