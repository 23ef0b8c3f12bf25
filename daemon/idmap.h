/* SPDX-License-Identifier: Apache-2.0 */
/*
 * idmap.h -- a map from nonzero 64-bit ids to pointers
 *
 * Open addressing with linear probing and backward-shift deletion: no
 * tombstones, so a long-lived map that sees millions of inserts and
 * deletes (pins) keeps its probe lengths short.  The table doubles when
 * it is half full and never shrinks.
 */
#ifndef DAXALLOCD_IDMAP_H
#define DAXALLOCD_IDMAP_H

#include <stddef.h>
#include <stdint.h>

struct idmap_slot {
	uint64_t id; /* 0: empty */
	void *p;
};

struct idmap {
	struct idmap_slot *t;
	size_t mask; /* size - 1; the size is a power of two */
	size_t count;
};

void idmap_init(struct idmap *m);
void idmap_fini(struct idmap *m);
int idmap_reserve(struct idmap *m, size_t n);
int idmap_put(struct idmap *m, uint64_t id, void *p);
void *idmap_get(const struct idmap *m, uint64_t id);
void *idmap_del(struct idmap *m, uint64_t id);

#endif /* DAXALLOCD_IDMAP_H */
