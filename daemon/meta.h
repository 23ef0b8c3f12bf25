/* SPDX-License-Identifier: Apache-2.0 */
/*
 * meta.h -- the on-device metadata: superblocks, state record, redo journal
 *
 * meta knows where records live and how to change them atomically; what
 * the records mean is the pool's business (pool.c).
 */
#ifndef DAXALLOCD_META_H
#define DAXALLOCD_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format.h"

struct device;

/* Limits of the table sizes computed from the device. */
#define META_MAX_EXTENT_SLOTS (1ULL << 22)
#define META_JOURNAL_SIZE (1ULL << 20)
#define META_PIN_SLOTS 65536ULL

/*
 * Progress of long work, for a display (daxallocctl format and check).
 * fn learns what is being done and how far it has come: done of total
 * bytes or records.  It is called when a piece starts (done 0), every so
 * often, and when it ends (done == total).  A NULL struct meta_progress
 * pointer costs nothing: the work runs as it would without the hook.
 */
enum meta_progress_unit {
	META_PROGRESS_BYTES,
	META_PROGRESS_RECORDS,
};

struct meta_progress {
	void (*fn)(void *arg, const char *what, enum meta_progress_unit unit,
		   uint64_t done, uint64_t total);
	void *arg;
};

/* Records between two reports of a loop; bytes per report of a scan. */
#define META_PROGRESS_RECORDS_STEP 4096
#define META_PROGRESS_BYTES_STEP (16ULL << 20)

/* What the superblock area of a device holds (meta_probe). */
struct meta_probe {
	bool pool;	  /* a valid superblock: a daxalloc pool */
	bool damaged;	  /* daxalloc magic, but no valid superblock */
	const char *why;  /* damaged: what is wrong with copy A, else B */
	struct fmt_superblock sb; /* pool: the copy a start would trust */
	int64_t extents;  /* pool: extent records in use; -1 when unknown */
};

struct meta_stats {
	uint64_t commits;
	uint64_t entries;
	uint64_t bytes;
};

struct meta {
	struct device *dev;
	uint8_t *base; /* the device mapping */
	struct fmt_superblock sb;
	struct fmt_state state; /* current; staged at commit when dirty */
	bool state_dirty;

	/* The transaction being built: entries exactly as the journal holds them. */
	uint8_t *txn;
	size_t txn_bytes;
	size_t txn_cap;
	uint32_t txn_entries;
	uint64_t seq;

	bool replayed;	   /* start-up replayed a journal transaction */
	bool torn;	   /* start-up dropped a torn one */
	bool was_clean;	   /* the superblock said: clean shutdown */
	bool usc_changed;  /* unsafe shutdowns happened since last start */
	struct meta_stats stats;
};

uint32_t meta_crc(const void *buf, size_t len);
uint32_t meta_crc_continue(uint32_t crc, const void *buf, size_t len);
int meta_format(struct device *dev, uint64_t unit,
		const struct meta_progress *pr, struct meta **out);
int meta_probe(const struct device *dev, struct meta_probe *out);
void meta_progress_report(const struct meta_progress *pr, const char *what,
			  enum meta_progress_unit unit, uint64_t done,
			  uint64_t total);
int meta_open(struct device *dev, struct meta **out);
int meta_mark_open(struct meta *m);
void meta_close(struct meta *m, bool clean);

int meta_begin(struct meta *m, size_t bytes);
int meta_stage(struct meta *m, uint64_t offset, const void *data, uint32_t len);
int meta_commit(struct meta *m);
bool meta_pending(const struct meta *m);

const void *meta_at(const struct meta *m, uint64_t offset);
uint64_t meta_extent_off(const struct meta *m, uint64_t slot);
uint64_t meta_lease_off(const struct meta *m, uint64_t slot);
uint64_t meta_pin_off(const struct meta *m, uint64_t slot);

#endif /* DAXALLOCD_META_H */
