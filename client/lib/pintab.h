/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pintab.h -- the pins a connection holds, by pin id
 *
 * An open-addressing hash table (linear probing, deletion by backward
 * shift, so no tombstones) of fixed-size entries: batches of thousands of
 * pins are inserted and removed without an allocation per pin, and the
 * whole table can be walked when a lease break asks which pins overlap
 * its range.  Not locked: the caller holds the connection's lock.
 */
#ifndef DAXALLOC_PINTAB_H
#define DAXALLOC_PINTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pintab_entry {
	uint64_t id;
	uint64_t extent_id; /* 0: a free slot (extent ids start at 1) */
	uint64_t offset; /* extent-relative */
	uint64_t length;
	bool revoked; /* the daemon ended it (Revoked): unpin is local */
};

struct pintab {
	struct pintab_entry *slots;
	size_t cap; /* 0 or a power of two */
	size_t count;
};

int pintab_reserve(struct pintab *t, size_t more);
void pintab_put(struct pintab *t, uint64_t id, uint64_t extent_id,
		uint64_t offset, uint64_t length);
struct pintab_entry *pintab_get(const struct pintab *t, uint64_t id);
void pintab_remove(struct pintab *t, struct pintab_entry *e);
void pintab_fini(struct pintab *t);

/*
 * pintab_overlaps -- does pin e overlap [offset, offset + length)?
 *
 * Written without sums: a range from the daemon may end past 2^64.
 */
static inline bool pintab_overlaps(const struct pintab_entry *e,
				   uint64_t offset, uint64_t length)
{
	if (e->offset >= offset)
		return e->offset - offset < length;
	return offset - e->offset < e->length;
}

#endif /* DAXALLOC_PINTAB_H */
