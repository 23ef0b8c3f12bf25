/* SPDX-License-Identifier: Apache-2.0 */
/*
 * quarantine.h -- ranges that left an extent but may not be reused yet
 *
 * A range that leaves an extent while a pin or another process's lease may
 * still reach it waits here, persistently, instead of going to free space.
 * This module keeps the set and its records on the device; the pool moves
 * ranges in and out, and the core rule (pins, leases) decides when.
 */
#ifndef DAXALLOCD_QUARANTINE_H
#define DAXALLOCD_QUARANTINE_H

#include <stdint.h>
#include <sys/queue.h>

#include "format.h"

struct meta;

struct hold_brk;

struct qrange {
	TAILQ_ENTRY(qrange) entry;
	uint64_t slot;	      /* record slot on the device */
	struct fmt_range rec; /* offset, length, the extent it left */
	/* What the core rule waits for (hold.c): free when both are 0. */
	uint32_t npins;	      /* pins that overlap it */
	uint32_t nbreaks;     /* lease breaks not acknowledged */
	LIST_HEAD(, hold_brk) breaks;
};

TAILQ_HEAD(qrange_list, qrange);

struct quarantine {
	struct qrange_list ranges; /* in the order they entered */
	uint64_t count;
	uint64_t bytes;
	uint64_t *free_slots; /* stack of unused record slots */
	uint64_t nfree;
	uint64_t nslots;
};

int quarantine_load(struct quarantine *q, struct meta *m);
void quarantine_fini(struct quarantine *q);
int quarantine_add(struct quarantine *q, struct meta *m, uint64_t offset,
		   uint64_t length, uint64_t extent_id, struct qrange **out);
void quarantine_remove(struct quarantine *q, struct meta *m, struct qrange *r);
int quarantine_by_offset(const struct quarantine *q, struct qrange ***out);
uint64_t quarantine_record_off(const struct meta *m, uint64_t slot);

#endif /* DAXALLOCD_QUARANTINE_H */
