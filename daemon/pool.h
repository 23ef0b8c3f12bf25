/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pool.h -- a pool: the device, its metadata, its extents and free space
 *
 * Every change is made in memory at once and staged in the metadata
 * journal; pool_commit() makes the staged changes durable.  The daemon
 * commits once per loop iteration, before any reply is written.
 */
#ifndef DAXALLOCD_POOL_H
#define DAXALLOCD_POOL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "extent.h"
#include "format.h"
#include "meta.h"
#include "quarantine.h"

struct device;
struct device_config;
struct alloc;

/* A range of the data area lost to bad blocks, in whole units. */
struct pool_bad {
	uint64_t offset;
	uint64_t length;
};

struct pool {
	struct device *dev;
	bool owns_dev;
	struct meta *meta;
	struct alloc *alloc;
	struct extent_index index;
	struct quarantine quarantine;
	uint64_t used_bytes;
	uint64_t *free_slots; /* stack of unused slots below the high-water mark */
	uint64_t nfree_slots;
	struct pool_bad *bad;
	unsigned int nbad;
	uint64_t bad_bytes;
	/* NULL, or where long work reports: format, load and pool_check */
	const struct meta_progress *progress;
};

/* What an allocation asks for besides its size. */
struct pool_attr {
	const char *name; /* NULL or "": anonymous */
	uid_t uid;
	gid_t gid;
	uint32_t mode;
	uint32_t flags; /* FMT_EXTENT_* */
	pid_t owner_pid;
	uint64_t owner_start;
	uint8_t owner_boot[16];
};

struct pool_stats {
	uint64_t device_size;
	uint64_t unit;
	uint64_t data_offset;
	uint64_t data_size;
	uint64_t free_bytes;
	uint64_t largest_free;
	uint64_t free_runs;
	uint64_t used_bytes;
	uint64_t bad_bytes;
	uint64_t extents;
	uint64_t extent_slots;
	uint64_t next_extent_id;
	uint64_t quarantined_bytes;
	uint64_t quarantined_ranges;
	uint8_t uuid[16];
	/* How the previous run ended, as opening the pool found it. */
	bool last_shutdown_clean;
	bool usc_supported; /* the device reports an unsafe shutdown count */
	uint64_t usc;	    /* its value now */
	bool usc_changed;   /* it changed since the pool was last opened */
};

/*
 * What a device holds, learnt before formatting it (pool_probe).  empty
 * is a proof: no superblock and every readable byte zero (bad blocks,
 * which cannot be read, aside).
 */
struct pool_probe {
	struct meta_probe meta; /* the superblocks: a pool, a damaged one */
	bool scanned;		/* the bytes were looked at, not just those */
	bool empty;
	uint64_t nonzero_at;	/* scanned, not empty: the first non-zero byte */
};

/* How to open a pool. */
enum pool_format {
	POOL_FORMAT_NEVER,    /* an existing pool, or fail */
	POOL_FORMAT_IF_NEW,   /* format a file this open created */
	POOL_FORMAT_ALWAYS,   /* the operator asked: destroy and format */
	POOL_INSPECT,	      /* an existing pool, to check: not marked in use */
};

typedef void (*pool_finding_fn)(void *arg, const char *finding);

int pool_open(const struct device_config *cfg, enum pool_format fmt,
	      struct pool **out);
int pool_open_device(struct device *dev, enum pool_format fmt, uint64_t unit,
		     struct pool **out);
int pool_open_device_progress(struct device *dev, enum pool_format fmt,
			      uint64_t unit, const struct meta_progress *pr,
			      struct pool **out);
int pool_probe(struct device *dev, bool scan, const struct meta_progress *pr,
	       struct pool_probe *out);
void pool_close(struct pool *p, bool clean);

int pool_alloc(struct pool *p, uint64_t size, uint64_t align,
	       const struct pool_attr *attr, struct extent **out);
int pool_delete(struct pool *p, uint64_t id);
int pool_truncate(struct pool *p, uint64_t id, uint64_t size);
int pool_delete_held(struct pool *p, uint64_t id, struct qrange **out);
int pool_truncate_held(struct pool *p, uint64_t id, uint64_t size,
		       struct qrange **out);
int pool_unquarantine(struct pool *p, struct qrange *r);
struct extent *pool_find(struct pool *p, uint64_t id);
struct extent *pool_find_name(struct pool *p, const char *name);
struct extent *pool_find_from(struct pool *p, uint64_t id);
struct extent *pool_next_id(struct pool *p, struct extent *e);
int pool_commit(struct pool *p);
uint64_t pool_unit(const struct pool *p);

int pool_check(struct pool *p, pool_finding_fn fn, void *arg);
void pool_finding(pool_finding_fn fn, void *arg, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void pool_get_stats(const struct pool *p, struct pool_stats *st);

#endif /* DAXALLOCD_POOL_H */
