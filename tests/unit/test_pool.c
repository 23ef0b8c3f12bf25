// SPDX-License-Identifier: Apache-2.0
/*
 * test_pool.c -- the pool's crash consistency, corruption detection, and
 * recovery, on a simulated device that loses power on demand
 *
 * The power-fail test replays a scripted sequence of operations.  For every
 * step and every drain point inside it, power is lost there, a seeded
 * subset of the dirty cache lines survives, the pool is recovered, and its
 * state must be exactly the state before the step or the state after it.
 * Recovery itself is then cut at each of its own drain points and run
 * again.  The recovery cases at the end feed start-up what it must refuse
 * (extent records forged with valid checksums), bad blocks at the edges
 * of the data area, and an allocation failure at every allocation it
 * makes (fault.c).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "device.h"
#include "fault.h"
#include "format.h"
#include "log.h"
#include "meta.h"
#include "pool.h"
#include "unit.h"

#define SIM_SIZE (32ULL << 20)
#define SIM_UNIT (64ULL << 10)
#define U(n) ((uint64_t)(n) * SIM_UNIT)

/* One scripted action; a step is a group of them under one commit. */
enum act_kind {
	ACT_END,
	ACT_ALLOC,
	ACT_DELETE,
	ACT_TRUNC,
	ACT_RANDOM,
	ACT_DELETE_ALL,
	ACT_DELETE_HELD, /* to the quarantine */
	ACT_TRUNC_HELD,	 /* tail to the quarantine */
	ACT_UNQUARANTINE, /* the oldest quarantined range becomes free */
};

struct act {
	enum act_kind kind;
	uint64_t a; /* alloc: units; delete/trunc: id; random: count */
	uint64_t b; /* alloc: align units; trunc: units */
};

#define STEP_ACTS 4
static const struct act script[][STEP_ACTS] = {
	{ { ACT_ALLOC, 3, 0 } },
	{ { ACT_ALLOC, 1, 8 } },
	{ { ACT_ALLOC, 5, 0 } },
	{ { ACT_DELETE, 1, 0 } },
	{ { ACT_TRUNC, 3, 2 } },
	{ { ACT_TRUNC, 2, 3 } },
	{ { ACT_ALLOC, 2, 0 }, { ACT_ALLOC, 2, 0 }, { ACT_DELETE, 2, 0 } },
	{ { ACT_ALLOC, 100, 0 } },
	{ { ACT_RANDOM, 40, 0 } },
	{ { ACT_DELETE_HELD, 0, 0 } }, /* a: the lowest id */
	{ { ACT_TRUNC_HELD, 0, 1 } },  /* the lowest id's tail */
	{ { ACT_ALLOC, 3, 0 }, { ACT_DELETE_HELD, 0, 0 } },
	{ { ACT_UNQUARANTINE, 0, 0 } },
	{ { ACT_UNQUARANTINE, 0, 0 }, { ACT_ALLOC, 2, 0 } },
	{ { ACT_DELETE_ALL, 0, 0 } },
	{ { ACT_ALLOC, 1, 0 } },
};
#define NSTEPS (sizeof(script) / sizeof(script[0]))

static unsigned long crash_points, recovery_points, violations;

/* rng -- xorshift64*, seeded per use so every run replays */
static uint64_t rng(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

/* run_step -- apply one step's actions and commit them */
static void run_step(struct pool *p, unsigned int k)
{
	const struct pool_attr attr = { .uid = 1000, .gid = 1000, .mode = 0600,
					.flags = FMT_EXTENT_ANONYMOUS };
	uint64_t seed = 42 + k;
	struct extent *e;
	struct qrange *q;
	unsigned int i, j;

	for (i = 0; i < STEP_ACTS && script[k][i].kind != ACT_END; i++) {
		const struct act *a = &script[k][i];

		switch (a->kind) {
		case ACT_ALLOC:
			pool_alloc(p, U(a->a), U(a->b), &attr, &e);
			break;
		case ACT_DELETE:
			pool_delete(p, a->a);
			break;
		case ACT_TRUNC:
			pool_truncate(p, a->a, U(a->b));
			break;
		case ACT_RANDOM:
			for (j = 0; j < a->a; j++) {
				uint64_t r = rng(&seed);

				e = pool_find_from(p, r % p->meta->state.next_extent_id);
				if (e && (r & 1))
					pool_delete(p, e->rec.id);
				else
					pool_alloc(p, U(1 + r % 4), 0, &attr, &e);
			}
			break;
		case ACT_DELETE_ALL:
			while ((e = pool_find_from(p, 0)))
				pool_delete(p, e->rec.id);
			break;
		case ACT_DELETE_HELD:
			e = pool_find_from(p, 0);
			if (e)
				pool_delete_held(p, e->rec.id, &q);
			break;
		case ACT_TRUNC_HELD:
			e = pool_find_from(p, 0);
			if (e)
				pool_truncate_held(p, e->rec.id, U(a->b), &q);
			break;
		case ACT_UNQUARANTINE:
			q = TAILQ_FIRST(&p->quarantine.ranges);
			if (q)
				pool_unquarantine(p, q);
			break;
		case ACT_END:
			break;
		}
	}
	CU_ASSERT_EQUAL(pool_commit(p), 0);
}

/* dump -- the pool's state as one comparable string */
static char *dump(struct pool *p)
{
	size_t cap = 1 << 16, len = 0;
	char *s = malloc(cap);
	struct qrange **qs, **qr;
	struct extent *e;

	if (!s)
		return NULL;
	len += snprintf(s, cap, "next=%llu hwm=%llu;",
			(unsigned long long)p->meta->state.next_extent_id,
			(unsigned long long)p->meta->state.extent_hwm);
	for (e = pool_find_from(p, 0); e && len < cap - 128; e = pool_next_id(p, e))
		len += snprintf(s + len, cap - len, "%llu:%llx+%llx:%o:%x:%s;",
				(unsigned long long)e->rec.id,
				(unsigned long long)e->rec.offset,
				(unsigned long long)e->rec.length, e->rec.mode,
				e->rec.flags, e->rec.name);
	/* The quarantine, in offset order (its list order is not durable). */
	if (quarantine_by_offset(&p->quarantine, &qs) >= 0) {
		for (qr = qs; *qr && len < cap - 128; qr++)
			len += snprintf(s + len, cap - len, "q%llx+%llx<%llu;",
					(unsigned long long)(*qr)->rec.offset,
					(unsigned long long)(*qr)->rec.length,
					(unsigned long long)(*qr)->rec.extent_id);
		free(qs);
	}
	return s;
}

/* prepare -- a fresh simulated device, formatted, with steps 0..k-1 done */
static struct pool *prepare(struct device **devp, unsigned int k)
{
	struct device *dev;
	struct pool *p;
	unsigned int i;

	if (device_sim_new(SIM_SIZE, SIM_UNIT, &dev) < 0)
		return NULL;
	if (pool_open_device(dev, POOL_FORMAT_ALWAYS, SIM_UNIT, &p) < 0) {
		device_close(dev);
		return NULL;
	}
	/* Only the metadata area is under the crash model: it is all we write. */
	device_sim_track(dev, p->meta->sb.data_offset);
	for (i = 0; i < k; i++)
		run_step(p, i);
	pool_close(p, true);
	if (pool_open_device(dev, POOL_FORMAT_NEVER, 0, &p) < 0) {
		device_close(dev);
		return NULL;
	}
	*devp = dev;
	return p;
}

/* reopen -- recover after a crash; NULL (and a failed assert) if it fails */
static struct pool *reopen(struct device *dev)
{
	struct pool *p = NULL;
	int r = pool_open_device(dev, POOL_FORMAT_NEVER, 0, &p);

	CU_ASSERT_EQUAL(r, 0);
	return r == 0 ? p : NULL;
}

/* same_as_either -- the recovered state is before or after, nothing else */
static bool same_as_either(struct pool *p, const char *before,
			   const char *after)
{
	char *now = dump(p);
	bool ok = now && (!strcmp(now, before) || !strcmp(now, after));

	if (!ok) {
		violations++;
		fprintf(stderr, "\nstate mismatch:\n before %s\n after  %s\n now    %s\n",
			before, after, now ? now : "(oom)");
	}
	free(now);
	return ok;
}

/*
 * crash_recovery -- cut recovery itself at each of its drain points
 *
 * The device holds a crashed image; recovery must be restartable from any
 * point of its own writes (journal replay, superblock repair and mark).
 */
static void crash_recovery(struct device *dev, const char *before,
			   const char *after, uint64_t seed)
{
	unsigned long d0, drains, m;
	struct pool *p;

	/* Learn how many drains a recovery of this image takes. */
	d0 = device_sim_drains(dev);
	device_sim_fail_after(dev, ULONG_MAX);
	p = reopen(dev);
	if (!p)
		return;
	drains = device_sim_drains(dev) - d0;
	CU_ASSERT(same_as_either(p, before, after));
	pool_close(p, false);
	/*
	 * The image is now the recovered one, so cutting recovery again only
	 * exercises the mark-open writes; the journal replay is cut by the
	 * callers' crash points at the apply drain.  Both are counted.
	 */
	for (m = 0; m < drains; m++) {
		device_sim_fail_after(dev, m);
		p = reopen(dev);
		if (p)
			pool_close(p, false);
		device_sim_crash(dev, seed + m, 50);
		p = reopen(dev);
		if (!p)
			return;
		CU_ASSERT(same_as_either(p, before, after));
		pool_close(p, false);
		recovery_points++;
	}
}

/* test_power_fail -- every step, every drain point, several survivals */
static void test_power_fail(void)
{
	static const struct {
		uint64_t seed;
		unsigned int pct;
	} variants[] = { { 0, 0 },  { 0, 100 }, { 1, 50 }, { 2, 50 },
			 { 3, 50 }, { 4, 50 },	{ 5, 30 }, { 6, 70 } };
	unsigned int k, v;

	for (k = 0; k < NSTEPS; k++) {
		struct device *dev;
		struct pool *p = prepare(&dev, k);
		char *before, *after;
		unsigned long d0, drains, n;

		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		before = dump(p);
		d0 = device_sim_drains(dev);
		run_step(p, k);
		drains = device_sim_drains(dev) - d0;
		after = dump(p);
		CU_ASSERT_FATAL(before && after);
		/* A step that changes state must take at least one drain. */
		CU_ASSERT(drains > 0 || !strcmp(before, after));
		pool_close(p, false);
		device_close(dev);

		for (n = 0; n <= drains; n++) {
			for (v = 0; v < sizeof(variants) / sizeof(variants[0]); v++) {
				p = prepare(&dev, k);
				CU_ASSERT_PTR_NOT_NULL_FATAL(p);
				device_sim_fail_after(dev, n);
				run_step(p, k);
				pool_close(p, false);
				device_sim_crash(dev, variants[v].seed * 1000 + n,
						 variants[v].pct);
				p = reopen(dev);
				if (p) {
					CU_ASSERT(same_as_either(p, before, after));
					/* No power loss at n == drains: it must be "after". */
					if (n == drains) {
						char *now = dump(p);

						CU_ASSERT(now && !strcmp(now, after));
						free(now);
					}
					pool_close(p, false);
				}
				if (variants[v].pct == 50 && v == 2)
					crash_recovery(dev, before, after, n + 7);
				device_close(dev);
				crash_points++;
			}
		}
		free(before);
		free(after);
	}
	fprintf(stderr, "\n  power-fail: %zu steps, %lu crash points, %lu recovery crash points, %lu violations\n",
		NSTEPS, crash_points, recovery_points, violations);
	CU_ASSERT_EQUAL(violations, 0);
}

/* test_format_crash -- a format cut anywhere is no pool or an empty pool */
static void test_format_crash(void)
{
	unsigned long drains, n, d0;
	struct device *dev;
	struct pool *p;
	int r;

	CU_ASSERT_EQUAL_FATAL(device_sim_new(SIM_SIZE, SIM_UNIT, &dev), 0);
	d0 = device_sim_drains(dev);
	CU_ASSERT_EQUAL_FATAL(pool_open_device(dev, POOL_FORMAT_ALWAYS, SIM_UNIT, &p), 0);
	drains = device_sim_drains(dev) - d0;
	pool_close(p, false);
	device_close(dev);
	for (n = 0; n < drains; n++) {
		CU_ASSERT_EQUAL_FATAL(device_sim_new(SIM_SIZE, SIM_UNIT, &dev), 0);
		device_sim_fail_after(dev, n);
		r = pool_open_device(dev, POOL_FORMAT_ALWAYS, SIM_UNIT, &p);
		if (r == 0)
			pool_close(p, false);
		device_sim_crash(dev, n, 50);
		r = pool_open_device(dev, POOL_FORMAT_NEVER, 0, &p);
		CU_ASSERT(r == 0 || r == -ENODATA || r == -EILSEQ);
		if (r == 0) {
			CU_ASSERT_EQUAL(p->index.count, 0);
			pool_close(p, false);
		}
		device_close(dev);
	}
}

/* corrupt -- flip one byte of the metadata at offset, as media rot would */
static void corrupt(struct device *dev, uint64_t offset)
{
	uint8_t *b = (uint8_t *)dev->addr + offset;
	uint8_t v;

	if (!dev->addr)
		return;
	v = *b ^ 0x5a;

	device_memcpy(dev, b, &v, 1);
	device_drain(dev);
}

/* corrupted_pool -- a pool with three extents (ids 1..3), closed cleanly */
static struct device *corrupted_pool(uint64_t *data_offset)
{
	struct device *dev;
	struct pool *p = prepare(&dev, 3);

	if (!p)
		return NULL;
	*data_offset = p->meta->sb.data_offset;
	pool_close(p, true);
	return dev;
}

/* test_corrupt_superblock -- one bad copy is repaired, two stop start-up */
static void test_corrupt_superblock(void)
{
	struct fmt_superblock *a, *b;
	uint64_t data_offset;
	struct device *dev = corrupted_pool(&data_offset);
	struct pool *p;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dev);
	if (!dev) /* unreachable; tells the compiler so */
		return;
	a = dev->addr;
	b = (struct fmt_superblock *)((uint8_t *)dev->addr + FMT_SB_B);
	corrupt(dev, FMT_SB_A + offsetof(struct fmt_superblock, unit));
	CU_ASSERT_EQUAL(pool_open_device(dev, POOL_FORMAT_NEVER, 0, &p), 0);
	if (p) {
		CU_ASSERT_EQUAL(p->index.count, 3);
		pool_close(p, true);
	}
	/* Repaired on the way: both copies are equal again. */
	CU_ASSERT_EQUAL(memcmp(a, b, sizeof(*a)), 0);

	corrupt(dev, FMT_SB_A + 100);
	corrupt(dev, FMT_SB_B + 200);
	CU_ASSERT_EQUAL(pool_open_device(dev, POOL_FORMAT_NEVER, 0, &p), -EILSEQ);
	device_close(dev);
}

/* test_corrupt_records -- extent table and state record rot is caught */
static void test_corrupt_records(void)
{
	uint64_t data_offset, ext_off;
	struct device *dev = corrupted_pool(&data_offset);
	struct fmt_superblock *sb;
	struct pool *p;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dev);
	if (!dev) /* unreachable; tells the compiler so */
		return;
	sb = dev->addr;
	ext_off = sb->extents_off;
	/* Slot 1 holds extent 2, which the last transaction did not touch. */
	corrupt(dev, ext_off + sizeof(struct fmt_extent) + 9);
	CU_ASSERT_EQUAL(pool_open_device(dev, POOL_FORMAT_NEVER, 0, &p), -EILSEQ);
	corrupt(dev, ext_off + sizeof(struct fmt_extent) + 9); /* undo */
	CU_ASSERT_EQUAL(pool_open_device(dev, POOL_FORMAT_NEVER, 0, &p), 0);
	if (p)
		pool_close(p, true);
	/*
	 * The last transaction (extent 3's alloc) wrote the state record, so
	 * replaying it at start heals rot in the record: documented behaviour.
	 */
	corrupt(dev, FMT_STATE_OFF + 3);
	CU_ASSERT_EQUAL(pool_open_device(dev, POOL_FORMAT_NEVER, 0, &p), 0);
	if (p)
		pool_close(p, true);
	device_close(dev);

	/* After a delete the journal holds no state record: rot is caught. */
	p = prepare(&dev, 4);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	if (!p)
		return;
	pool_close(p, true);
	corrupt(dev, FMT_STATE_OFF + 3);
	CU_ASSERT_EQUAL(pool_open_device(dev, POOL_FORMAT_NEVER, 0, &p), -EILSEQ);
	device_close(dev);
}

/* test_corrupt_journal -- a journal that fails its checksum is dropped */
static void test_corrupt_journal(void)
{
	uint64_t data_offset;
	struct device *dev = corrupted_pool(&data_offset);
	struct fmt_superblock *sb;
	struct pool *p;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dev);
	if (!dev) /* unreachable; tells the compiler so */
		return;
	sb = dev->addr;
	/*
	 * The last transaction was applied before the clean close, so
	 * dropping it loses nothing: the pool opens whole.
	 */
	corrupt(dev, sb->journal_off + sizeof(struct fmt_jheader) + 20);
	CU_ASSERT_EQUAL(pool_open_device(dev, POOL_FORMAT_NEVER, 0, &p), 0);
	if (p) {
		CU_ASSERT_EQUAL(p->index.count, 3);
		pool_close(p, true);
	}
	device_close(dev);
}

/* test_journal_bad_target -- a whole transaction aimed outside the tables */
static void test_journal_bad_target(void)
{
	uint64_t data_offset;
	struct device *dev = corrupted_pool(&data_offset);
	struct fmt_superblock *sb;
	struct {
		struct fmt_jheader h;
		struct fmt_jentry e;
		uint64_t data;
	} j;
	struct pool *p;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dev);
	if (!dev) /* unreachable; tells the compiler so */
		return;
	sb = dev->addr;
	memset(&j, 0, sizeof(j));
	memcpy(j.h.magic, FMT_JMAGIC, sizeof(j.h.magic));
	j.h.seq = 99;
	j.h.bytes = sizeof(j.e) + sizeof(j.data);
	j.h.entries = 1;
	j.e.offset = FMT_SB_A; /* never a legal target */
	j.e.len = sizeof(j.data);
	j.h.checksum = meta_crc(&j.h, offsetof(struct fmt_jheader, checksum));
	j.h.checksum = meta_crc_continue(j.h.checksum, &j.e, j.h.bytes);
	device_memcpy(dev, (uint8_t *)dev->addr + sb->journal_off, &j, sizeof(j));
	device_drain(dev);
	CU_ASSERT_EQUAL(pool_open_device(dev, POOL_FORMAT_NEVER, 0, &p), -EILSEQ);
	device_close(dev);
}

/* test_not_a_pool -- zeroes are no pool, and never formatted implicitly */
static void test_not_a_pool(void)
{
	struct device *dev;
	struct pool *p;

	CU_ASSERT_EQUAL_FATAL(device_sim_new(SIM_SIZE, SIM_UNIT, &dev), 0);
	/* A sim is "created", so only POOL_FORMAT_NEVER shows the refusal. */
	CU_ASSERT_EQUAL(pool_open_device(dev, POOL_FORMAT_NEVER, 0, &p), -ENODATA);
	device_close(dev);
}

/* test_ops -- alloc, truncate and delete semantics and their errors */
static void test_ops(void)
{
	const struct pool_attr attr = { .mode = 0600 };
	struct extent *a, *b;
	struct pool_stats st;
	struct device *dev;
	struct pool *p = prepare(&dev, 0);
	uint64_t id_a, id_b;

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(pool_alloc(p, 0, 0, &attr, &a), -EINVAL);
	CU_ASSERT_EQUAL(pool_alloc(p, SIM_SIZE * 2, 0, &attr, &a), -ENOSPC);
	CU_ASSERT_EQUAL(pool_alloc(p, 1, 3 * SIM_UNIT, &attr, &a), -EINVAL);
	CU_ASSERT_EQUAL_FATAL(pool_alloc(p, 1, 0, &attr, &a), 0);
	CU_ASSERT_EQUAL(a->rec.length, SIM_UNIT); /* rounded up to the unit */
	CU_ASSERT_EQUAL_FATAL(pool_alloc(p, U(2), U(4), &attr, &b), 0);
	CU_ASSERT_EQUAL(b->rec.offset % U(4), 0);
	CU_ASSERT(b->rec.id > a->rec.id);
	id_a = a->rec.id;
	/* Grow in place into free space, shrink, then grow blocked by b. */
	pool_get_stats(p, &st);
	CU_ASSERT_EQUAL(pool_truncate(p, id_a, U(1)), 0);
	CU_ASSERT_EQUAL(pool_delete(p, id_a), 0);
	CU_ASSERT_EQUAL(pool_delete(p, id_a), -ENOENT);
	CU_ASSERT_EQUAL(pool_truncate(p, id_a, U(1)), -ENOENT);
	CU_ASSERT_EQUAL_FATAL(pool_alloc(p, U(1), 0, &attr, &a), 0);
	CU_ASSERT(a->rec.id > b->rec.id); /* ids are never reused */
	if (a->rec.offset + a->rec.length == b->rec.offset)
		CU_ASSERT_EQUAL(pool_truncate(p, a->rec.id, U(2)), -ENOSPC);
	CU_ASSERT_EQUAL(pool_truncate(p, b->rec.id, U(1)), 0);
	CU_ASSERT_EQUAL(b->rec.length, U(1));
	CU_ASSERT_EQUAL(pool_truncate(p, b->rec.id, U(6)), 0);
	CU_ASSERT_EQUAL(b->rec.length, U(6));
	CU_ASSERT_EQUAL(pool_check(p, NULL, NULL), 0);
	id_b = b->rec.id;
	pool_close(p, true);
	/* And all of it is what the device says after a restart. */
	p = reopen(dev);
	if (p) {
		CU_ASSERT_EQUAL(p->index.count, 2);
		b = pool_find(p, id_b);
		CU_ASSERT_PTR_NOT_NULL(b);
		CU_ASSERT(b && b->rec.length == U(6));
		pool_close(p, true);
	}
	device_close(dev);
}

/* test_badblocks -- bad units are neither free nor handed out */
static void test_badblocks(void)
{
	const struct pool_attr attr = { .mode = 0600 };
	struct device *dev;
	struct pool_stats st;
	struct extent *e;
	struct pool *p;

	CU_ASSERT_EQUAL_FATAL(device_sim_new(SIM_SIZE, SIM_UNIT, &dev), 0);
	CU_ASSERT_EQUAL_FATAL(pool_open_device(dev, POOL_FORMAT_ALWAYS, SIM_UNIT, &p), 0);
	pool_close(p, true);
	/* 512 bytes bad in the middle of the data area: one unit lost. */
	CU_ASSERT_EQUAL(device_sim_add_badblock(dev, SIM_SIZE / 2 + 4096, 512), 0);
	CU_ASSERT_EQUAL_FATAL(pool_open_device(dev, POOL_FORMAT_NEVER, 0, &p), 0);
	pool_get_stats(p, &st);
	CU_ASSERT_EQUAL(st.bad_bytes, SIM_UNIT);
	CU_ASSERT_EQUAL(st.free_bytes, st.data_size - SIM_UNIT);
	while (pool_alloc(p, U(1), 0, &attr, &e) == 0)
		CU_ASSERT(e->rec.offset != SIM_SIZE / 2);
	CU_ASSERT_EQUAL(pool_check(p, NULL, NULL), 0);
	pool_close(p, true);

	/* A block going bad under an extent: the extent stays, warned about. */
	CU_ASSERT_EQUAL(device_sim_add_badblock(dev, SIM_SIZE / 4, 64), 0);
	CU_ASSERT_EQUAL_FATAL(pool_open_device(dev, POOL_FORMAT_NEVER, 0, &p), 0);
	pool_get_stats(p, &st);
	CU_ASSERT_EQUAL(st.bad_bytes, 2 * SIM_UNIT);
	CU_ASSERT_EQUAL(st.free_bytes, 0);
	CU_ASSERT_EQUAL(pool_check(p, NULL, NULL), 0);
	/* Deleting it must not hand the bad unit out again after a restart. */
	while ((e = pool_find_from(p, 0)))
		pool_delete(p, e->rec.id);
	CU_ASSERT_EQUAL(pool_check(p, NULL, NULL), 0);
	pool_get_stats(p, &st);
	CU_ASSERT_EQUAL(st.free_bytes, st.data_size - 2 * SIM_UNIT);
	pool_close(p, true);
	CU_ASSERT_EQUAL_FATAL(pool_open_device(dev, POOL_FORMAT_NEVER, 0, &p), 0);
	pool_get_stats(p, &st);
	CU_ASSERT_EQUAL(st.free_bytes, st.data_size - 2 * SIM_UNIT);
	CU_ASSERT_EQUAL(pool_check(p, NULL, NULL), 0);
	pool_close(p, true);
	device_close(dev);
}

/* test_quarantine -- held ranges are never handed out until released */
static void test_quarantine(void)
{
	const struct pool_attr attr = { .mode = 0600 };
	struct pool_stats st, before;
	struct device *dev;
	struct pool *p = prepare(&dev, 0);
	struct extent *a, *e;
	struct qrange *q, *tail;
	uint64_t qoff, qlen, id;

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	if (!p)
		return;
	CU_ASSERT_EQUAL_FATAL(pool_alloc(p, U(8), 0, &attr, &a), 0);
	id = a->rec.id;
	CU_ASSERT_EQUAL(pool_truncate_held(p, id, U(8), &tail), -EINVAL);
	CU_ASSERT_EQUAL(pool_truncate_held(p, id, U(5), &tail), 0);
	CU_ASSERT_EQUAL(tail->rec.length, U(3));
	qoff = a->rec.offset;
	CU_ASSERT_EQUAL(pool_delete_held(p, id, &q), 0);
	CU_ASSERT_EQUAL(q->rec.offset, qoff);
	CU_ASSERT_EQUAL(q->rec.length, U(5));
	CU_ASSERT_EQUAL(q->rec.extent_id, id);
	qlen = U(8);
	pool_get_stats(p, &before);
	CU_ASSERT_EQUAL(before.quarantined_bytes, qlen);
	CU_ASSERT_EQUAL(before.quarantined_ranges, 2);
	CU_ASSERT_EQUAL(pool_check(p, NULL, NULL), 0);
	/* An allocation storm that fills the pool never lands on them. */
	while (pool_alloc(p, U(1), 0, &attr, &e) == 0)
		CU_ASSERT(e->rec.offset + e->rec.length <= qoff ||
			  e->rec.offset >= qoff + qlen);
	pool_get_stats(p, &st);
	CU_ASSERT_EQUAL(st.free_bytes, 0);
	CU_ASSERT_EQUAL(pool_check(p, NULL, NULL), 0);
	pool_close(p, true);
	/* They survive a restart, still out of free space. */
	p = reopen(dev);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	if (!p)
		return;
	pool_get_stats(p, &st);
	CU_ASSERT_EQUAL(st.quarantined_bytes, qlen);
	CU_ASSERT_EQUAL(st.free_bytes, 0);
	/* Released, the space is free and can be allocated again. */
	while ((q = TAILQ_FIRST(&p->quarantine.ranges)))
		CU_ASSERT_EQUAL_FATAL(pool_unquarantine(p, q), 0);
	pool_get_stats(p, &st);
	CU_ASSERT_EQUAL(st.free_bytes, qlen);
	CU_ASSERT_EQUAL(st.quarantined_bytes, 0);
	CU_ASSERT_EQUAL(pool_alloc(p, qlen, 0, &attr, &e), 0);
	CU_ASSERT_EQUAL(e->rec.offset, qoff);
	CU_ASSERT_EQUAL(pool_check(p, NULL, NULL), 0);
	pool_close(p, true);
	device_close(dev);
}

/* test_corrupt_quarantine -- a rotten quarantine record stops start-up */
static void test_corrupt_quarantine(void)
{
	const struct pool_attr attr = { .mode = 0600 };
	struct device *dev;
	struct pool *p = prepare(&dev, 0);
	struct fmt_superblock *sb;
	struct extent *e;
	struct qrange *q;

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	if (!p)
		return;
	CU_ASSERT_EQUAL_FATAL(pool_alloc(p, U(2), 0, &attr, &e), 0);
	CU_ASSERT_EQUAL_FATAL(pool_delete_held(p, e->rec.id, &q), 0);
	CU_ASSERT_EQUAL_FATAL(pool_commit(p), 0);
	/* A later transaction, so that the journal holds no quarantine record. */
	CU_ASSERT_EQUAL_FATAL(pool_alloc(p, U(1), 0, &attr, &e), 0);
	CU_ASSERT_EQUAL_FATAL(pool_commit(p), 0);
	pool_close(p, true);
	sb = dev->addr;
	corrupt(dev, sb->quarantine_off + 5);
	CU_ASSERT_EQUAL(pool_open_device(dev, POOL_FORMAT_NEVER, 0, &p), -EILSEQ);
	device_close(dev);
}

/* forged -- a pool with n one-unit extents named e0.., closed cleanly */
static struct device *forged(unsigned int n)
{
	const struct pool_attr attr = { .mode = 0600 };
	struct fmt_superblock *sb;
	struct fmt_jheader zero;
	struct device *dev;
	struct extent *e;
	struct pool *p;
	char name[16];
	unsigned int i;

	if (device_sim_new(SIM_SIZE, SIM_UNIT, &dev) < 0)
		return NULL;
	if (pool_open_device(dev, POOL_FORMAT_ALWAYS, SIM_UNIT, &p) < 0) {
		device_close(dev);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		struct pool_attr a = attr;

		snprintf(name, sizeof(name), "e%u", i);
		a.name = name;
		if (pool_alloc(p, U(1), 0, &a, &e) < 0)
			break;
	}
	pool_close(p, true);
	/*
	 * The last transaction would be replayed over the forgeries: the pool
	 * closed cleanly, so an empty journal loses nothing.
	 */
	sb = dev->addr;
	memset(&zero, 0, sizeof(zero));
	device_memcpy(dev, (uint8_t *)dev->addr + sb->journal_off, &zero,
		      sizeof(zero));
	device_drain(dev);
	return dev;
}

/* forge -- the extent record in slot, for a change and reseal() */
static struct fmt_extent *forge(struct device *dev, uint64_t slot)
{
	const struct fmt_superblock *sb = dev->addr;

	return (struct fmt_extent *)((uint8_t *)dev->addr + sb->extents_off +
				     slot * sizeof(struct fmt_extent));
}

/* reseal -- give a forged record a valid checksum */
static void reseal(struct device *dev, struct fmt_extent *rec)
{
	rec->checksum = meta_crc(rec, offsetof(struct fmt_extent, checksum));
	device_persist(dev, rec, sizeof(*rec));
}

/* open_never -- pool_open_device() of an existing pool; closes it on success */
static int open_never(struct device *dev)
{
	struct pool *p = NULL;
	int r = pool_open_device(dev, POOL_FORMAT_NEVER, 0, &p);

	if (r == 0)
		pool_close(p, false);
	return r;
}

/*
 * test_recover_refusals -- extent records start-up must refuse, each
 * with a valid checksum: names or ids used twice, ranges off the data
 * area or its unit grid, overlaps; and a table too rotten to list
 */
static void test_recover_refusals(void)
{
	struct device *dev = forged(12);
	struct fmt_extent *r0, *r1, save0, save1;
	const struct fmt_superblock *sb;
	uint64_t end;
	unsigned int i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dev);
	if (!dev)
		return;
	sb = dev->addr;
	end = sb->data_offset + sb->data_size;
	CU_ASSERT_EQUAL(open_never(dev), 0);
	r0 = forge(dev, 0);
	r1 = forge(dev, 1);
	save0 = *r0;
	save1 = *r1;

	/* The same name twice; the same id twice. */
	memcpy(r1->name, r0->name, sizeof(r1->name));
	r1->name_len = r0->name_len;
	reseal(dev, r1);
	CU_ASSERT_EQUAL(open_never(dev), -EILSEQ);
	*r1 = save1;
	r1->id = r0->id;
	reseal(dev, r1);
	CU_ASSERT_EQUAL(open_never(dev), -EILSEQ);
	*r1 = save1;
	reseal(dev, r1);
	CU_ASSERT_EQUAL(open_never(dev), 0);

	/* Ranges no extent can have: each stops start-up. */
	{
		const struct {
			uint64_t offset, length;
		} bad[] = {
			{ sb->data_offset - SIM_UNIT, SIM_UNIT }, /* metadata */
			{ r0->offset + 4096, SIM_UNIT },	  /* off grid */
			{ r0->offset, SIM_UNIT + 4096 },	  /* part unit */
			{ r0->offset, 0 },			  /* empty */
			{ end - SIM_UNIT, 2 * SIM_UNIT },	  /* past end */
			{ end - SIM_UNIT, UINT64_MAX - SIM_UNIT + 1 }, /* wraps */
			{ r1->offset, SIM_UNIT },		  /* overlap */
		};

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			*r0 = save0;
			r0->offset = bad[i].offset;
			r0->length = bad[i].length;
			reseal(dev, r0);
			CU_ASSERT_EQUAL(open_never(dev), -EILSEQ);
		}
	}
	/*
	 * An overlap over a bad block is a block gone bad under both: the
	 * records load (with a warning), but the checks after refuse to serve.
	 */
	CU_ASSERT_EQUAL(device_sim_add_badblock(dev, r1->offset, 512), 0);
	CU_ASSERT_EQUAL(open_never(dev), -EUCLEAN);
	*r0 = save0;
	reseal(dev, r0);

	/* More rotten records than the log names one by one. */
	for (i = 0; i < 12; i++)
		forge(dev, i)->checksum ^= 1;
	CU_ASSERT_EQUAL(open_never(dev), -EILSEQ);
	for (i = 0; i < 12; i++)
		forge(dev, i)->checksum ^= 1;
	/* Bad units inside an extent are the extent's (its data is lost). */
	CU_ASSERT_EQUAL(open_never(dev), 0);
	device_close(dev);
}

/*
 * test_badblock_edges -- bad blocks across the start of the data area,
 * past its end, and two in one unit or in neighbouring units
 *
 * The device (64 KiB aligned) is half a 256 KiB unit longer than the
 * data area can use, so its tail lies past the data area's end.
 */
static void test_badblock_edges(void)
{
	const uint64_t unit = 4 * SIM_UNIT;
	struct device *dev;
	struct pool_stats st;
	struct pool *p;
	uint64_t lo, hi;

	CU_ASSERT_EQUAL_FATAL(device_sim_new(SIM_SIZE + 2 * SIM_UNIT, SIM_UNIT,
					     &dev), 0);
	CU_ASSERT_EQUAL_FATAL(pool_open_device(dev, POOL_FORMAT_ALWAYS, unit, &p), 0);
	lo = p->meta->sb.data_offset;
	hi = lo + p->meta->sb.data_size;
	pool_close(p, true);
	CU_ASSERT(hi < dev->size);
	CU_ASSERT_EQUAL(device_sim_add_badblock(dev, lo - 4096, 8192), 0);
	CU_ASSERT_EQUAL(device_sim_add_badblock(dev, lo + 2 * unit + 100, 64), 0);
	CU_ASSERT_EQUAL(device_sim_add_badblock(dev, lo + 2 * unit + 5000, 64), 0);
	CU_ASSERT_EQUAL(device_sim_add_badblock(dev, lo + 5 * unit + 100, 64), 0);
	CU_ASSERT_EQUAL(device_sim_add_badblock(dev, lo + 6 * unit + 100, 64), 0);
	CU_ASSERT_EQUAL(device_sim_add_badblock(dev, hi + 4096, 64), 0);
	CU_ASSERT_EQUAL_FATAL(pool_open_device(dev, POOL_FORMAT_NEVER, 0, &p), 0);
	pool_get_stats(p, &st);
	CU_ASSERT_EQUAL(p->nbad, 3);
	CU_ASSERT_EQUAL(st.bad_bytes, 4 * unit);
	CU_ASSERT_EQUAL(st.free_bytes, st.data_size - 4 * unit);
	CU_ASSERT_EQUAL(pool_check(p, NULL, NULL), 0);
	pool_close(p, true);
	device_close(dev);
}

/*
 * test_recover_enomem -- start-up at each allocation failure: a pool with
 * extents, a quarantined range and a bad block fails with -ENOMEM and
 * leaks nothing, until it opens whole
 */
static void test_recover_enomem(void)
{
	const struct pool_attr attr = { .mode = 0600 };
	struct device *dev;
	struct extent *e;
	unsigned long n;
	struct qrange *q;
	struct pool *p;
	int r;

	p = prepare(&dev, 3);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	if (!p)
		return;
	CU_ASSERT_EQUAL(pool_alloc(p, U(2), 0, &attr, &e), 0);
	CU_ASSERT_EQUAL(pool_delete_held(p, e->rec.id, &q), 0);
	pool_close(p, true);
	CU_ASSERT_EQUAL(device_sim_add_badblock(dev, SIM_SIZE - 4096, 64), 0);
	for (n = 0;; n++) {
		p = NULL;
		fault_arm(FAULT_ANY, n);
		r = pool_open_device(dev, POOL_FORMAT_NEVER, 0, &p);
		fault_disarm();
		if (!fault_fired())
			break;
		/*
		 * The checks after loading too: out of memory there once
		 * passed for a finding, and the start for corruption
		 * (-EUCLEAN, "invariant violations").
		 */
		CU_ASSERT_EQUAL(r, -ENOMEM);
		CU_ASSERT_PTR_NULL(p);
	}
	CU_ASSERT_EQUAL(r, 0);
	CU_ASSERT(n >= 10);
	if (p) {
		CU_ASSERT_EQUAL(p->index.count, 3);
		CU_ASSERT_EQUAL(p->quarantine.count, 1);
		/* A check that runs out of memory fails; it finds nothing. */
		for (n = 0;; n++) {
			fault_arm(FAULT_ANY, n);
			r = pool_check(p, NULL, NULL);
			fault_disarm();
			if (!fault_fired())
				break;
			CU_ASSERT_EQUAL(r, -ENOMEM);
		}
		CU_ASSERT_EQUAL(r, 0);
		CU_ASSERT(n >= 3);
		pool_close(p, true);
	}
	device_close(dev);
}

static const struct unit_test tests[] = {
	{ "recovery refuses forged records", test_recover_refusals },
	{ "bad blocks at the edges", test_badblock_edges },
	{ "recovery out of memory", test_recover_enomem },
	{ "quarantine", test_quarantine },
	{ "corrupt quarantine record", test_corrupt_quarantine },
	{ "operations", test_ops },
	{ "bad blocks", test_badblocks },
	{ "not a pool", test_not_a_pool },
	{ "corrupt superblock", test_corrupt_superblock },
	{ "corrupt records", test_corrupt_records },
	{ "corrupt journal", test_corrupt_journal },
	{ "journal aimed outside the tables", test_journal_bad_target },
	{ "crash while formatting", test_format_crash },
	{ "power failure at every drain point", test_power_fail },
	{ NULL, NULL },
};

int main(void)
{
	/* Start-up and corruption messages are expected; keep them quiet. */
	log_init(getenv("POOL_TEST_DEBUG") ? LOG_DEBUG : LOG_CRIT);
	return unit_main("pool", NULL, NULL, NULL, NULL, tests);
}
