// SPDX-License-Identifier: Apache-2.0
/*
 * test_quarantine.c -- the quarantine table (quarantine.c)
 *
 * test_pool.c and test_hold.c move ranges in and out of the quarantine
 * through the pool and the core rule; this program drives the table
 * directly on a simulated device: records that survive a reload in slot
 * order, a full table, a transaction with no room for the record, a
 * table with no slots, and every allocation failing in turn (fault.c),
 * each refusal leaving the set as it was.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "fault.h"
#include "format.h"
#include "log.h"
#include "meta.h"
#include "quarantine.h"
#include "unit.h"

#define SIM_SIZE (8ULL << 20)
#define SIM_UNIT (64ULL << 10)

static struct device *dev;
static struct meta *meta;

/* setup -- a fresh simulated device and its metadata, per test */
static void setup(void)
{
	dev = NULL;
	meta = NULL;
	if (device_sim_new(SIM_SIZE, SIM_UNIT, &dev) < 0)
		return;
	if (meta_format(dev, SIM_UNIT, NULL, &meta) < 0) {
		device_close(dev);
		dev = NULL;
	}
}

static void teardown(void)
{
	meta_close(meta, false);
	device_close(dev);
	meta = NULL;
	dev = NULL;
}

/* unit_off -- the offset of data unit i */
static uint64_t unit_off(uint64_t i)
{
	return meta->sb.data_offset + i * SIM_UNIT;
}

/* add -- one range of one unit at data unit i; quarantine_add()'s result */
static int add(struct quarantine *q, uint64_t i, struct qrange **out)
{
	int r = meta_begin(meta, sizeof(struct fmt_jentry) +
					 sizeof(struct fmt_range));

	return r < 0 ? r :
		       quarantine_add(q, meta, unit_off(i), SIM_UNIT, i + 1,
				      out);
}

/* test_reload -- what was added is there again after a reload */
static void test_reload(void)
{
	struct qrange **arr, *r, *a = NULL, *b = NULL, *c = NULL;
	struct quarantine q;

	CU_ASSERT_PTR_NOT_NULL_FATAL(meta);
	CU_ASSERT_EQUAL_FATAL(quarantine_load(&q, meta), 0);
	CU_ASSERT_EQUAL(q.count, 0);
	CU_ASSERT_EQUAL(q.nfree, meta->sb.quarantine_slots);
	/* Out of offset order, and the middle one taken out again. */
	CU_ASSERT_EQUAL(add(&q, 7, &a), 0);
	CU_ASSERT_EQUAL(add(&q, 2, &b), 0);
	CU_ASSERT_EQUAL(add(&q, 4, &c), 0);
	CU_ASSERT(a && b && c);
	/* The lowest free slot first. */
	CU_ASSERT(a->slot == 0 && b->slot == 1 && c->slot == 2);
	CU_ASSERT_EQUAL(meta_begin(meta, sizeof(struct fmt_range)), 0);
	quarantine_remove(&q, meta, b);
	CU_ASSERT_EQUAL(q.count, 2);
	CU_ASSERT_EQUAL(q.bytes, 2 * SIM_UNIT);
	CU_ASSERT_EQUAL(meta_commit(meta), 0);
	quarantine_fini(&q);

	CU_ASSERT_EQUAL_FATAL(quarantine_load(&q, meta), 0);
	CU_ASSERT_EQUAL(q.count, 2);
	CU_ASSERT_EQUAL(q.bytes, 2 * SIM_UNIT);
	CU_ASSERT_EQUAL(q.nfree, meta->sb.quarantine_slots - 2);
	CU_ASSERT_EQUAL(quarantine_by_offset(&q, &arr), 2);
	CU_ASSERT(arr[0] && arr[1] && !arr[2]);
	CU_ASSERT(arr[0]->rec.offset == unit_off(4) &&
		  arr[0]->rec.extent_id == 5);
	CU_ASSERT(arr[1]->rec.offset == unit_off(7) &&
		  arr[1]->rec.extent_id == 8);
	free(arr);
	/* The slot freed before the reload is the one used next. */
	CU_ASSERT_EQUAL(add(&q, 9, &r), 0);
	CU_ASSERT_EQUAL(r->slot, 1);
	quarantine_fini(&q);
}

/* test_full -- every slot used: -ENOSPC, nothing changes */
static void test_full(void)
{
	struct quarantine q;
	struct qrange *r;
	uint64_t i, n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(meta);
	CU_ASSERT_EQUAL_FATAL(quarantine_load(&q, meta), 0);
	n = meta->sb.quarantine_slots;
	for (i = 0; i < n; i++)
		CU_ASSERT_EQUAL(add(&q, i % 16, &r), 0);
	CU_ASSERT_EQUAL(q.nfree, 0);
	CU_ASSERT_EQUAL(add(&q, 0, &r), -ENOSPC);
	CU_ASSERT_EQUAL(q.count, n);
	CU_ASSERT_EQUAL(meta_commit(meta), 0);
	quarantine_fini(&q);
	CU_ASSERT_EQUAL(quarantine_load(&q, meta), 0);
	CU_ASSERT_EQUAL(q.count, n);
	quarantine_fini(&q);
}

/* test_no_room -- a caller that made no room in the transaction */
static void test_no_room(void)
{
	static const uint8_t zero[4096];
	struct quarantine q;
	struct qrange *r = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(meta);
	CU_ASSERT_EQUAL_FATAL(quarantine_load(&q, meta), 0);
	/* Fill the transaction with harmless zeroes to the last byte. */
	while (meta_stage(meta, meta->sb.extents_off, zero, sizeof(zero)) == 0)
		;
	while (meta_stage(meta, meta->sb.extents_off, zero, 8) == 0)
		;
	CU_ASSERT_EQUAL(quarantine_add(&q, meta, unit_off(0), SIM_UNIT, 1, &r),
			-ENOSPC);
	CU_ASSERT_PTR_NULL(r);
	CU_ASSERT_EQUAL(q.count, 0);
	CU_ASSERT_EQUAL(q.nfree, meta->sb.quarantine_slots);
	CU_ASSERT_EQUAL(meta_commit(meta), 0);
	quarantine_fini(&q);
}

/* test_no_slots -- a table of no slots still loads (and is always full) */
static void test_no_slots(void)
{
	struct quarantine q;
	struct qrange *r;
	uint64_t slots;

	CU_ASSERT_PTR_NOT_NULL_FATAL(meta);
	slots = meta->sb.quarantine_slots;
	meta->sb.quarantine_slots = 0;
	CU_ASSERT_EQUAL(quarantine_load(&q, meta), 0);
	CU_ASSERT_EQUAL(add(&q, 0, &r), -ENOSPC);
	quarantine_fini(&q);
	meta->sb.quarantine_slots = slots;
}

/* test_enomem -- load, add and snapshot at each allocation failure */
static void test_enomem(void)
{
	struct quarantine q;
	struct qrange **arr, *r;
	unsigned long n;
	int ret;

	CU_ASSERT_PTR_NOT_NULL_FATAL(meta);
	CU_ASSERT_EQUAL_FATAL(quarantine_load(&q, meta), 0);
	CU_ASSERT_EQUAL(add(&q, 1, &r), 0);
	CU_ASSERT_EQUAL(add(&q, 3, &r), 0);
	/* add: nothing changes when its range cannot be allocated. */
	fault_arm(FAULT_ANY, 0);
	CU_ASSERT_EQUAL(add(&q, 5, &r), -ENOMEM);
	fault_disarm();
	CU_ASSERT(fault_fired());
	CU_ASSERT_EQUAL(q.count, 2);
	CU_ASSERT_EQUAL(q.nfree, meta->sb.quarantine_slots - 2);
	fault_arm(FAULT_ANY, 0);
	CU_ASSERT_EQUAL(quarantine_by_offset(&q, &arr), -ENOMEM);
	fault_disarm();
	CU_ASSERT_EQUAL(meta_commit(meta), 0);
	quarantine_fini(&q);

	/* load: the slot stack, then each range; nothing is left behind. */
	for (n = 0;; n++) {
		fault_arm(FAULT_ANY, n);
		ret = quarantine_load(&q, meta);
		fault_disarm();
		if (!fault_fired())
			break;
		CU_ASSERT_EQUAL(ret, -ENOMEM);
		CU_ASSERT_PTR_NULL(q.free_slots);
		CU_ASSERT(TAILQ_EMPTY(&q.ranges));
	}
	CU_ASSERT_EQUAL(ret, 0);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_EQUAL(q.count, 2);
	quarantine_fini(&q);
}

/* test_corrupt -- a record whose checksum fails names its slot */
static void test_corrupt(void)
{
	struct fmt_range *rec;
	struct quarantine q;
	struct qrange *r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(meta);
	CU_ASSERT_EQUAL_FATAL(quarantine_load(&q, meta), 0);
	CU_ASSERT_EQUAL(add(&q, 1, &r), 0);
	CU_ASSERT_EQUAL(add(&q, 2, &r), 0);
	CU_ASSERT_EQUAL(meta_commit(meta), 0);
	quarantine_fini(&q);
	rec = (struct fmt_range *)((uint8_t *)dev->addr +
				   quarantine_record_off(meta, 0));
	rec->length ^= SIM_UNIT;
	CU_ASSERT_EQUAL(quarantine_load(&q, meta), -EILSEQ);
	CU_ASSERT_PTR_NULL(q.free_slots);
	CU_ASSERT(TAILQ_EMPTY(&q.ranges));
	rec->length ^= SIM_UNIT;
	CU_ASSERT_EQUAL(quarantine_load(&q, meta), 0);
	CU_ASSERT_EQUAL(q.count, 2);
	quarantine_fini(&q);
}

static const struct unit_test tests[] = {
	{ "records survive a reload", test_reload },
	{ "a full table", test_full },
	{ "no room in the transaction", test_no_room },
	{ "a table of no slots", test_no_slots },
	{ "out of memory", test_enomem },
	{ "a corrupt record", test_corrupt },
	{ NULL, NULL },
};

int main(void)
{
	log_init(getenv("QUARANTINE_TEST_DEBUG") ? LOG_DEBUG : LOG_CRIT);
	return unit_main("quarantine", NULL, NULL, setup, teardown, tests);
}
