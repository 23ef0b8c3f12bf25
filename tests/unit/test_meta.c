// SPDX-License-Identifier: Apache-2.0
/*
 * test_meta.c -- superblocks, state record and redo journal (meta.c)
 *
 * test_pool.c drives meta through whole pools and power failures; this
 * program aims at meta itself on a simulated device: every reason a
 * superblock copy is refused, which copy wins and how the other is
 * repaired, what meta_probe() tells daxallocctl format, journal
 * transactions that are torn or impossible, the state record, the unsafe
 * shutdown count, the devdax alignment check, the transaction limits of
 * meta_begin() and meta_stage(), and out-of-memory failures (fault.c).
 * Records are forged with valid checksums, so that the check under test,
 * not the checksum, is what refuses them.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "fault.h"
#include "format.h"
#include "log.h"
#include "meta.h"
#include "unit.h"

#define SIM_SIZE (8ULL << 20)
#define SIM_UNIT (64ULL << 10)

/* new_pool -- a simulated device with a fresh pool on it; meta closed */
static struct device *new_pool(void)
{
	struct device *dev;
	struct meta *m;

	if (device_sim_new(SIM_SIZE, SIM_UNIT, &dev) < 0)
		return NULL;
	if (meta_format(dev, SIM_UNIT, NULL, &m) < 0) {
		device_close(dev);
		return NULL;
	}
	meta_close(m, true);
	return dev;
}

/* sb_at -- superblock copy at off (FMT_SB_A or FMT_SB_B) */
static struct fmt_superblock *sb_at(struct device *dev, uint64_t off)
{
	return (struct fmt_superblock *)((uint8_t *)dev->addr + off);
}

/* sb_seal -- recompute a superblock copy's checksum in place */
static void sb_seal(struct device *dev, uint64_t off)
{
	struct fmt_superblock *sb = sb_at(dev, off);

	sb->checksum = meta_crc(sb, offsetof(struct fmt_superblock, checksum));
	device_persist(dev, sb, sizeof(*sb));
}

/* state_seal -- recompute the state record's checksum in place */
static void state_seal(struct device *dev)
{
	struct fmt_state *st =
		(struct fmt_state *)((uint8_t *)dev->addr + FMT_STATE_OFF);

	st->checksum = meta_crc(st, offsetof(struct fmt_state, checksum));
	device_persist(dev, st, sizeof(*st));
}

/* open_err -- meta_open()'s result, closing the meta if it opened */
static int open_err(struct device *dev)
{
	struct meta *m = NULL;
	int r = meta_open(dev, &m);

	if (r == 0)
		meta_close(m, false);
	return r;
}

/*
 * Each forgery breaks one field of copy A with a valid checksum; copy B
 * is broken too (its checksum), so that copy A's reason is the one that
 * meta_probe() reports and meta_open() refuses.
 */
struct forgery {
	const char *why; /* meta_sb_valid()'s reason */
	size_t field; /* offsetof the uint64_t (or uint32_t) to change */
	int width; /* 4 or 8 bytes */
	uint64_t delta; /* added to the field */
};

static const struct forgery forgeries[] = {
	{ "unsupported format version",
	  offsetof(struct fmt_superblock, version), 4, 1 },
	{ "wrong superblock size", offsetof(struct fmt_superblock, sb_size), 4,
	  8 },
	{ "the device is smaller than the pool",
	  offsetof(struct fmt_superblock, device_size), 8, SIM_UNIT },
	{ "impossible geometry", offsetof(struct fmt_superblock, unit), 8, 1 },
	/* Unit 0: meta_geometry() once divided by it before checking it. */
	{ "impossible geometry", offsetof(struct fmt_superblock, unit), 8,
	  -SIM_UNIT },
	{ "geometry does not match",
	  offsetof(struct fmt_superblock, data_offset), 8, SIM_UNIT },
	{ "geometry does not match", offsetof(struct fmt_superblock, data_size),
	  8, -SIM_UNIT },
	{ "geometry does not match",
	  offsetof(struct fmt_superblock, journal_off), 8, 4096 },
	{ "geometry does not match",
	  offsetof(struct fmt_superblock, journal_size), 8, 4096 },
	{ "geometry does not match",
	  offsetof(struct fmt_superblock, extents_off), 8, 4096 },
	{ "geometry does not match",
	  offsetof(struct fmt_superblock, extent_slots), 8, 1 },
	{ "geometry does not match",
	  offsetof(struct fmt_superblock, quarantine_off), 8, 4096 },
	{ "geometry does not match",
	  offsetof(struct fmt_superblock, leases_off), 8, 4096 },
	{ "geometry does not match", offsetof(struct fmt_superblock, pins_off),
	  8, 4096 },
};

/* forge -- apply f to copy A and reseal it */
static void forge(struct device *dev, const struct forgery *f)
{
	uint8_t *p = (uint8_t *)sb_at(dev, FMT_SB_A) + f->field;

	if (f->width == 4) {
		uint32_t v;

		memcpy(&v, p, 4);
		v += (uint32_t)f->delta;
		memcpy(p, &v, 4);
	} else {
		uint64_t v;

		memcpy(&v, p, 8);
		v += f->delta;
		memcpy(p, &v, 8);
	}
	sb_seal(dev, FMT_SB_A);
}

/* test_superblock_reasons -- every check of a copy, one at a time */
static void test_superblock_reasons(void)
{
	struct fmt_superblock good_a, good_b;
	struct meta_probe pr;
	struct device *dev = new_pool();
	size_t i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dev);
	if (!dev)
		return;
	good_a = *sb_at(dev, FMT_SB_A);
	good_b = *sb_at(dev, FMT_SB_B);
	for (i = 0; i < sizeof(forgeries) / sizeof(forgeries[0]); i++) {
		*sb_at(dev, FMT_SB_A) = good_a;
		*sb_at(dev, FMT_SB_B) = good_b;
		forge(dev, &forgeries[i]);
		/* Alone, a bad copy A is repaired from B. */
		CU_ASSERT_EQUAL(open_err(dev), 0);
		CU_ASSERT_EQUAL(memcmp(sb_at(dev, FMT_SB_A),
				       sb_at(dev, FMT_SB_B), sizeof(good_a)),
				0);
		/* With B broken as well, A's reason is the one reported. */
		*sb_at(dev, FMT_SB_A) = good_a;
		forge(dev, &forgeries[i]);
		sb_at(dev, FMT_SB_B)->checksum ^= 1;
		CU_ASSERT_EQUAL(meta_probe(dev, &pr), 0);
		CU_ASSERT(!pr.pool && pr.damaged);
		CU_ASSERT(pr.why && strstr(pr.why, forgeries[i].why));
		if (!pr.why || !strstr(pr.why, forgeries[i].why))
			fprintf(stderr, "forgery %zu: '%s', expected '%s'\n", i,
				pr.why ? pr.why : "(none)", forgeries[i].why);
		CU_ASSERT_EQUAL(open_err(dev), -EILSEQ);
	}
	device_close(dev);
}

/*
 * test_superblock_huge_unit -- a whole geometry forged for a 2^63 unit
 *
 * Every table where format.md puts it, the data area at 2^63: the end of
 * the metadata plus one unit wrapped to 0, and the copy once passed as a
 * pool with a data area far outside the device.
 */
static void test_superblock_huge_unit(void)
{
	const uint64_t unit = 1ULL << 63;
	struct device *dev = new_pool();
	struct fmt_superblock *sb;
	struct meta_probe pr;
	uint64_t off;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dev);
	if (!dev)
		return;
	sb = sb_at(dev, FMT_SB_A);
	sb->unit = unit;
	sb->extent_slots = SIM_SIZE / unit; /* 0 */
	sb->quarantine_slots = sb->extent_slots / 4 + 64;
	sb->lease_slots = sb->extent_slots + 4096;
	sb->pin_slots = 0;
	off = sb->journal_off + sb->journal_size;
	sb->extents_off = off;
	sb->quarantine_off = off;
	off += sb->quarantine_slots * sizeof(struct fmt_range);
	sb->leases_off = off;
	off += sb->lease_slots * sizeof(struct fmt_hold);
	sb->pins_off = off;
	sb->data_offset = unit;
	sb->data_size = unit;
	sb_seal(dev, FMT_SB_A);
	sb_at(dev, FMT_SB_B)->checksum ^= 1;
	CU_ASSERT_EQUAL(meta_probe(dev, &pr), 0);
	CU_ASSERT(!pr.pool && pr.damaged);
	CU_ASSERT(pr.why && strstr(pr.why, "impossible geometry"));
	CU_ASSERT_EQUAL(open_err(dev), -EILSEQ);
	device_close(dev);
}

/* test_superblock_pick -- the newer valid copy wins, either one */
static void test_superblock_pick(void)
{
	struct device *dev = new_pool();
	struct meta_probe pr;
	struct meta *m;
	uint64_t gen;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dev);
	if (!dev)
		return;
	/* B newer than A, both valid: B is trusted, A repaired from it. */
	gen = sb_at(dev, FMT_SB_B)->generation;
	sb_at(dev, FMT_SB_B)->generation = gen + 5;
	sb_at(dev, FMT_SB_B)->clean = 0;
	sb_seal(dev, FMT_SB_B);
	CU_ASSERT_EQUAL(meta_probe(dev, &pr), 0);
	CU_ASSERT(pr.pool && pr.sb.generation == gen + 5);
	CU_ASSERT_EQUAL(meta_open(dev, &m), 0);
	if (m) {
		CU_ASSERT(!m->was_clean);
		CU_ASSERT(m->sb.generation > gen + 5);
		meta_close(m, true);
	}
	CU_ASSERT_EQUAL(memcmp(sb_at(dev, FMT_SB_A), sb_at(dev, FMT_SB_B),
			       sizeof(struct fmt_superblock)),
			0);

	/* Probe: copy A broken alone, then copy B broken alone. */
	sb_at(dev, FMT_SB_A)->checksum ^= 1;
	CU_ASSERT_EQUAL(meta_probe(dev, &pr), 0);
	CU_ASSERT(pr.pool && !pr.damaged);
	sb_at(dev, FMT_SB_A)->checksum ^= 1;
	sb_at(dev, FMT_SB_B)->checksum ^= 1;
	CU_ASSERT_EQUAL(meta_probe(dev, &pr), 0);
	CU_ASSERT(pr.pool && !pr.damaged);

	/* A without our magic, B ours but broken: damaged, B's reason. */
	memset(sb_at(dev, FMT_SB_A)->magic, 0, 8);
	CU_ASSERT_EQUAL(meta_probe(dev, &pr), 0);
	CU_ASSERT(!pr.pool && pr.damaged);
	CU_ASSERT(pr.why && strstr(pr.why, "checksum"));
	CU_ASSERT_EQUAL(open_err(dev), -EILSEQ);
	/* Neither carries the magic: not a pool at all. */
	memset(sb_at(dev, FMT_SB_B)->magic, 0, 8);
	CU_ASSERT_EQUAL(meta_probe(dev, &pr), 0);
	CU_ASSERT(!pr.pool && !pr.damaged);
	CU_ASSERT_EQUAL(open_err(dev), -ENODATA);
	device_close(dev);
}

/* test_probe_extents -- the extent count an operator is shown */
static void test_probe_extents(void)
{
	struct fmt_extent rec = { .id = 1 };
	struct device *dev = new_pool();
	struct meta_probe pr;
	struct fmt_state *st;
	struct meta *m;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dev);
	if (!dev)
		return;
	/* Three slots below the high-water mark, the middle one unused. */
	CU_ASSERT_EQUAL_FATAL(meta_open(dev, &m), 0);
	if (!m)
		return;
	rec.checksum = meta_crc(&rec, offsetof(struct fmt_extent, checksum));
	CU_ASSERT_EQUAL(meta_begin(m, 2 * sizeof(rec)), 0);
	CU_ASSERT_EQUAL(meta_stage(m, meta_extent_off(m, 0), &rec, sizeof(rec)),
			0);
	CU_ASSERT_EQUAL(meta_stage(m, meta_extent_off(m, 2), &rec, sizeof(rec)),
			0);
	m->state.extent_hwm = 3;
	m->state_dirty = true;
	CU_ASSERT(meta_pending(m));
	CU_ASSERT_EQUAL(meta_commit(m), 0);
	CU_ASSERT(!meta_pending(m));
	/* A dirty state record alone is pending too. */
	m->state_dirty = true;
	CU_ASSERT(meta_pending(m));
	meta_close(m, true);
	CU_ASSERT_EQUAL(meta_probe(dev, &pr), 0);
	CU_ASSERT(pr.pool);
	CU_ASSERT_EQUAL(pr.extents, 2);

	/* A state record that cannot be trusted: the count is unknown. */
	st = (struct fmt_state *)((uint8_t *)dev->addr + FMT_STATE_OFF);
	st->extent_hwm = pr.sb.extent_slots + 1;
	state_seal(dev);
	CU_ASSERT_EQUAL(meta_probe(dev, &pr), 0);
	CU_ASSERT_EQUAL(pr.extents, -1);
	st->checksum ^= 1;
	CU_ASSERT_EQUAL(meta_probe(dev, &pr), 0);
	CU_ASSERT_EQUAL(pr.extents, -1);
	device_close(dev);

	/* A device smaller than the superblocks and state record. */
	CU_ASSERT_EQUAL_FATAL(device_sim_new(4096, 64, &dev), 0);
	CU_ASSERT_EQUAL(meta_probe(dev, &pr), -EINVAL);
	device_close(dev);
}

/* test_state_record -- counters that cannot be right stop the open */
static void test_state_record(void)
{
	struct device *dev = new_pool();
	struct fmt_state *st;
	uint64_t next;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dev);
	if (!dev)
		return;
	st = (struct fmt_state *)((uint8_t *)dev->addr + FMT_STATE_OFF);
	next = st->next_extent_id;
	st->next_extent_id = 0;
	state_seal(dev);
	CU_ASSERT_EQUAL(open_err(dev), -EILSEQ);
	st->next_extent_id = next;
	st->extent_hwm = sb_at(dev, FMT_SB_A)->extent_slots + 1;
	state_seal(dev);
	CU_ASSERT_EQUAL(open_err(dev), -EILSEQ);
	st->extent_hwm = 0;
	state_seal(dev);
	CU_ASSERT_EQUAL(open_err(dev), 0);
	device_close(dev);
}

/* journal -- a forged transaction: header, then entries as given */
static void journal(struct device *dev, const void *entries, uint64_t bytes,
		    uint32_t n, uint64_t claim)
{
	const struct fmt_superblock *sb = sb_at(dev, FMT_SB_A);
	uint8_t *j = (uint8_t *)dev->addr + sb->journal_off;
	struct fmt_jheader h;

	memset(&h, 0, sizeof(h));
	memcpy(h.magic, FMT_JMAGIC, sizeof(h.magic));
	h.seq = 7;
	h.bytes = claim;
	h.entries = n;
	h.checksum = meta_crc(&h, offsetof(struct fmt_jheader, checksum));
	h.checksum = meta_crc_continue(h.checksum, entries, bytes);
	memcpy(j + sizeof(h), entries, bytes);
	memcpy(j, &h, sizeof(h));
	device_persist(dev, j, sizeof(h) + bytes);
}

/* test_journal_shapes -- transactions that claim too much or too many */
static void test_journal_shapes(void)
{
	struct {
		struct fmt_jentry e;
		uint64_t data;
	} one;
	struct device *dev = new_pool();
	struct meta *m;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dev);
	if (!dev)
		return;
	memset(&one, 0, sizeof(one));
	/* Zeroes into an unused extent slot: the replay changes nothing. */
	one.e.offset = sb_at(dev, FMT_SB_A)->extents_off;
	one.e.len = sizeof(one.data);

	/* More bytes than the journal holds: torn, and the pool opens. */
	journal(dev, &one, sizeof(one), 1, META_JOURNAL_SIZE);
	CU_ASSERT_EQUAL(meta_open(dev, &m), 0);
	if (m) {
		CU_ASSERT(!m->replayed && !m->torn);
		meta_close(m, false);
	}
	/* Two entries announced, one present: corrupt. */
	journal(dev, &one, sizeof(one), 2, sizeof(one));
	CU_ASSERT_EQUAL(open_err(dev), -EILSEQ);
	/* An entry longer than the transaction: corrupt. */
	one.e.len = 64;
	journal(dev, &one, sizeof(one), 1, sizeof(one));
	CU_ASSERT_EQUAL(open_err(dev), -EILSEQ);
	/* A whole one applies. */
	one.e.len = sizeof(one.data);
	journal(dev, &one, sizeof(one), 1, sizeof(one));
	CU_ASSERT_EQUAL(meta_open(dev, &m), 0);
	if (m) {
		CU_ASSERT(m->replayed);
		CU_ASSERT_EQUAL(m->seq, 7);
		meta_close(m, true);
	}
	device_close(dev);
}

/* test_stage_targets -- where a journal entry may and may not write */
static void test_stage_targets(void)
{
	struct device *dev = new_pool();
	uint64_t data = 0, jend;
	struct meta *m;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dev);
	if (!dev)
		return;
	CU_ASSERT_EQUAL_FATAL(meta_open(dev, &m), 0);
	if (!m)
		return;
	jend = m->sb.journal_off + m->sb.journal_size;
	CU_ASSERT_EQUAL(meta_begin(m, 64), 0);
	CU_ASSERT_EQUAL(meta_stage(m, FMT_STATE_OFF, &data, 0), -EINVAL);
	CU_ASSERT_EQUAL(meta_stage(m, FMT_SB_B, &data, 8), -EINVAL);
	CU_ASSERT_EQUAL(meta_stage(m, m->sb.data_offset - 4, &data, 8),
			-EINVAL);
	CU_ASSERT_EQUAL(meta_stage(m, UINT64_MAX - 3, &data, 8), -EINVAL);
	CU_ASSERT_EQUAL(meta_stage(m, m->sb.journal_off + 64, &data, 8),
			-EINVAL);
	CU_ASSERT_EQUAL(meta_stage(m, m->sb.journal_off - 4, &data, 8),
			-EINVAL);
	CU_ASSERT_EQUAL(meta_stage(m, jend - 4, &data, 8), -EINVAL);
	CU_ASSERT_EQUAL(meta_stage(m, m->sb.extents_off, &data, 8), 0);
	CU_ASSERT_EQUAL(meta_stage(m, m->sb.journal_off - 8, &data, 8), 0);
	CU_ASSERT_EQUAL(meta_commit(m), 0);
	CU_ASSERT_EQUAL(m->stats.commits, 1);
	CU_ASSERT_EQUAL(m->stats.entries, 2);
	meta_close(m, true);
	device_close(dev);
}

/* fill -- stage entries until the transaction has no room left at all */
static unsigned int fill(struct meta *m, const void *buf)
{
	unsigned int n = 0;

	while (meta_stage(m, m->sb.extents_off, buf, 4096) == 0)
		n++;
	/* The smallest entries then: not even the state record fits. */
	while (meta_stage(m, m->sb.extents_off, buf, 8) == 0)
		n++;
	return n;
}

/* test_txn_limits -- a full transaction: meta_begin() commits it first */
static void test_txn_limits(void)
{
	static uint8_t buf[4096];
	struct device *dev = new_pool();
	struct meta *m;
	unsigned int n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dev);
	if (!dev)
		return;
	CU_ASSERT_EQUAL_FATAL(meta_open(dev, &m), 0);
	if (!m)
		return;
	/* More than one transaction can ever hold. */
	CU_ASSERT_EQUAL(meta_begin(m, META_JOURNAL_SIZE), -E2BIG);
	/* Staged without meta_begin() until full: the next stage is refused. */
	n = fill(m, buf);
	CU_ASSERT(n > 200);
	CU_ASSERT_EQUAL(meta_stage(m, m->sb.extents_off, buf, 4096), -ENOSPC);
	/* ... and a dirty state record no longer fits at commit. */
	m->state_dirty = true;
	CU_ASSERT_EQUAL(meta_commit(m), -ENOSPC);
	CU_ASSERT_EQUAL(m->stats.commits, 0);
	/* meta_begin() makes room by committing what is staged. */
	m->txn_bytes = 0;
	m->txn_entries = 0;
	n = fill(m, buf);
	m->state_dirty = false;
	CU_ASSERT_EQUAL(meta_begin(m, 4096), 0);
	CU_ASSERT_EQUAL(m->stats.commits, 1);
	CU_ASSERT_EQUAL(m->stats.entries, n);
	CU_ASSERT(!meta_pending(m));
	meta_close(m, true);
	device_close(dev);
}

/* test_usc -- the unsafe shutdown count, compared at each open */
static void test_usc(void)
{
	struct device *dev;
	struct meta *m;

	CU_ASSERT_EQUAL_FATAL(device_sim_new(SIM_SIZE, SIM_UNIT, &dev), 0);
	/* Formatted on a device that reports none: nothing to compare. */
	CU_ASSERT_EQUAL_FATAL(meta_format(dev, SIM_UNIT, NULL, &m), 0);
	meta_close(m, true);
	dev->usc_supported = true;
	dev->usc = 5;
	CU_ASSERT_EQUAL_FATAL(meta_open(dev, &m), 0);
	CU_ASSERT(!m->usc_changed);
	CU_ASSERT_EQUAL(meta_mark_open(m), 0);
	CU_ASSERT(m->sb.usc_valid && m->sb.usc == 5);
	meta_close(m, true);
	/* The same count: no unsafe shutdown since. */
	CU_ASSERT_EQUAL_FATAL(meta_open(dev, &m), 0);
	CU_ASSERT(!m->usc_changed);
	meta_close(m, true);
	/* One more: an unsafe shutdown happened while the pool was away. */
	dev->usc = 6;
	CU_ASSERT_EQUAL_FATAL(meta_open(dev, &m), 0);
	CU_ASSERT(m->usc_changed);
	meta_close(m, true);
	/* The device stops reporting it: nothing to compare. */
	dev->usc_supported = false;
	CU_ASSERT_EQUAL_FATAL(meta_open(dev, &m), 0);
	CU_ASSERT(!m->usc_changed);
	CU_ASSERT_EQUAL(meta_mark_open(m), 0);
	CU_ASSERT(!m->sb.usc_valid && m->sb.usc == 0);
	meta_close(m, true);
	device_close(dev);
}

/* test_devdax_alignment -- a pool whose unit the device cannot map */
static void test_devdax_alignment(void)
{
	struct device *dev = new_pool();

	CU_ASSERT_PTR_NOT_NULL_FATAL(dev);
	if (!dev)
		return;
	/* The sim poses as a devdax namespace re-created with 2x alignment. */
	dev->kind = DEVICE_DEVDAX;
	dev->align = 2 * SIM_UNIT;
	CU_ASSERT_EQUAL(open_err(dev), -EINVAL);
	dev->align = SIM_UNIT;
	CU_ASSERT_EQUAL(open_err(dev), 0);
	dev->kind = DEVICE_SIM;
	device_close(dev);
}

/* test_format_geometry -- units and sizes no pool can have */
static void test_format_geometry(void)
{
	struct device *dev;
	struct meta *m;

	CU_ASSERT_EQUAL_FATAL(device_sim_new(SIM_SIZE, SIM_UNIT, &dev), 0);
	CU_ASSERT_EQUAL(meta_format(dev, 0, NULL, &m), -EINVAL);
	CU_ASSERT_EQUAL(meta_format(dev, 3 * 4096, NULL, &m), -EINVAL);
	CU_ASSERT_EQUAL(meta_format(dev, 2048, NULL, &m), -EINVAL);
	/* The metadata alone would fill the device. */
	CU_ASSERT_EQUAL(meta_format(dev, SIM_SIZE, NULL, &m), -ENOSPC);
	device_close(dev);
}

static unsigned int progress_calls;

static void progress_fn(void *arg, const char *what,
			enum meta_progress_unit unit, uint64_t done,
			uint64_t total)
{
	progress_calls++;
}

/* test_progress -- a display without a function costs nothing */
static void test_progress(void)
{
	const struct meta_progress none = { .fn = NULL };
	const struct meta_progress some = { .fn = progress_fn };
	struct device *dev;
	struct meta *m;

	CU_ASSERT_EQUAL_FATAL(device_sim_new(SIM_SIZE, SIM_UNIT, &dev), 0);
	CU_ASSERT_EQUAL(meta_format(dev, SIM_UNIT, &none, &m), 0);
	meta_close(m, true);
	meta_progress_report(&none, "x", META_PROGRESS_BYTES, 0, 1);
	meta_progress_report(NULL, "x", META_PROGRESS_BYTES, 0, 1);
	CU_ASSERT_EQUAL(progress_calls, 0);
	CU_ASSERT_EQUAL(meta_format(dev, SIM_UNIT, &some, &m), 0);
	meta_close(m, true);
	CU_ASSERT(progress_calls >= 2);
	meta_close(NULL, true);
	device_close(dev);
}

/* test_enomem -- format and open fail cleanly at each allocation */
static void test_enomem(void)
{
	struct device *dev = new_pool();
	unsigned long n;
	struct meta *m;
	int r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dev);
	if (!dev)
		return;
	for (n = 0;; n++) {
		fault_arm(FAULT_ANY, n);
		r = meta_open(dev, &m);
		fault_disarm();
		if (!fault_fired()) {
			CU_ASSERT_EQUAL(r, 0);
			meta_close(m, false);
			break;
		}
		CU_ASSERT_EQUAL(r, -ENOMEM);
	}
	CU_ASSERT_EQUAL(n, 2); /* the meta, its transaction buffer */
	for (n = 0;; n++) {
		fault_arm(FAULT_ANY, n);
		r = meta_format(dev, SIM_UNIT, NULL, &m);
		fault_disarm();
		if (!fault_fired()) {
			CU_ASSERT_EQUAL(r, 0);
			meta_close(m, true);
			break;
		}
		CU_ASSERT_EQUAL(r, -ENOMEM);
	}
	CU_ASSERT_EQUAL(n, 2);
	device_close(dev);
}

static const struct unit_test tests[] = {
	{ "every reason a superblock copy is refused",
	  test_superblock_reasons },
	{ "a geometry forged for a 2^63 unit", test_superblock_huge_unit },
	{ "the newer copy wins; probe of damaged pools", test_superblock_pick },
	{ "probe counts extent records", test_probe_extents },
	{ "state record counters", test_state_record },
	{ "journal transactions that claim too much", test_journal_shapes },
	{ "where journal entries may write", test_stage_targets },
	{ "transaction limits", test_txn_limits },
	{ "unsafe shutdown count", test_usc },
	{ "devdax alignment of the unit", test_devdax_alignment },
	{ "format geometry", test_format_geometry },
	{ "progress hooks", test_progress },
	{ "out of memory", test_enomem },
	{ NULL, NULL },
};

int main(void)
{
	log_init(getenv("META_TEST_DEBUG") ? LOG_DEBUG : LOG_CRIT);
	return unit_main("meta", NULL, NULL, NULL, NULL, tests);
}
