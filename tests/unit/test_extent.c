// SPDX-License-Identifier: Apache-2.0
/*
 * test_extent.c -- the in-memory extent index against a reference model
 *
 * The id table deletes by shifting entries back (no tombstones), the
 * vector compacts its holes, and the snapshots are radix-sorted: all three
 * are checked against a plain array indexed by id after every operation.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "extent.h"
#include "unit.h"

#define MODEL_IDS 20000

static struct extent *model[MODEL_IDS]; /* model[id]: live extent or NULL */

/* rng -- xorshift64*, seeded so that a failure replays */
static uint64_t rng(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

/* new_extent -- an extent with this id at a pseudo-random offset */
static struct extent *new_extent(uint64_t id, uint64_t offset)
{
	struct extent *e = calloc(1, sizeof(*e));

	if (e) {
		e->rec.id = id;
		e->rec.offset = offset;
	}
	return e;
}

/* agree -- the index and the model say the same, in every way asked */
static bool agree(struct extent_index *x, uint64_t next_id, uint64_t *seed)
{
	struct extent *e, **byoff;
	uint64_t id, live = 0, prev;
	int n, i;

	for (id = 1; id < next_id; id++) {
		if (extent_find(x, id) != model[id])
			return false;
		live += model[id] != NULL;
	}
	if (x->count != live)
		return false;
	/* find_from a random cursor, then walk: the model's order exactly. */
	id = 1 + rng(seed) % next_id;
	e = extent_find_from(x, id);
	for (; id < next_id && !model[id]; id++)
		;
	for (; id < next_id; id++) {
		if (!model[id])
			continue;
		if (e != model[id])
			return false;
		e = extent_next(x, e);
	}
	if (e)
		return false;
	/* The offset snapshot holds every live extent, sorted. */
	n = extent_by_offset(x, &byoff);
	if (n < 0 || (uint64_t)n != live)
		return false;
	prev = 0;
	for (i = 0; i < n; i++) {
		if (byoff[i]->rec.offset < prev ||
		    model[byoff[i]->rec.id] != byoff[i])
			break;
		prev = byoff[i]->rec.offset;
	}
	/* All in order, and the array ends with its NULL. */
	i = i == n && byoff[n] == NULL;
	free(byoff);
	return i;
}

/* test_model -- random adds and deletes, checked after each */
static void test_model(void)
{
	struct extent_index x;
	uint64_t seed = 7, next_id = 1, ops = 0;
	int step;

	memset(model, 0, sizeof(model));
	extent_index_init(&x);
	for (step = 0; step < 40000 && next_id < MODEL_IDS; step++) {
		uint64_t r = rng(&seed);

		if (r % 3 != 0) {
			struct extent *e = new_extent(next_id, rng(&seed) % (1ULL << 40));

			CU_ASSERT_PTR_NOT_NULL_FATAL(e);
			CU_ASSERT_EQUAL_FATAL(extent_index_add(&x, e), 0);
			model[next_id++] = e;
		} else if (next_id > 1) {
			uint64_t id = 1 + rng(&seed) % (next_id - 1);

			if (model[id]) {
				extent_index_del(&x, model[id]);
				free(model[id]);
				model[id] = NULL;
			}
		}
		/* A full check every step is quadratic; sample densely instead. */
		if (step < 2000 || step % 97 == 0) {
			CU_ASSERT_FATAL(agree(&x, next_id, &seed));
			ops++;
		}
	}
	fprintf(stderr, "\n  extent index: %d operations, %llu full comparisons\n",
		step, (unsigned long long)ops);
	extent_index_free(&x);
}

/*
 * test_crowded_table -- many deletes in a table kept near half full
 *
 * About 500 live ids in the smallest table (1024 entries): runs of
 * neighbours are long and often wrap past the end, which is where
 * backward-shift deletion is easiest to get wrong.
 */
static void test_crowded_table(void)
{
	struct extent_index x;
	uint64_t seed = 11, next_id = 1, live = 0;
	int step;

	memset(model, 0, sizeof(model));
	extent_index_init(&x);
	for (step = 0; step < 60000 && next_id < MODEL_IDS; step++) {
		uint64_t r = rng(&seed);

		if (live < 500 && (r & 1)) {
			struct extent *e = new_extent(next_id, r % (1ULL << 30));

			CU_ASSERT_FATAL(e && extent_index_add(&x, e) == 0);
			model[next_id++] = e;
			live++;
		} else if (live > 0) {
			uint64_t id = next_id - 1 - rng(&seed) % (next_id - 1 < 2000 ? next_id - 1 : 2000);

			if (model[id]) {
				extent_index_del(&x, model[id]);
				free(model[id]);
				model[id] = NULL;
				live--;
			}
		}
		if (step % 53 == 0)
			CU_ASSERT_FATAL(agree(&x, next_id, &seed));
	}
	CU_ASSERT(agree(&x, next_id, &seed));
	CU_ASSERT_EQUAL(x.bits, 10);
	extent_index_free(&x);
}

/* test_duplicate -- add refuses a present id; load + sort reports it */
static void test_duplicate(void)
{
	struct extent_index x;
	struct extent *a = new_extent(5, 0), *b = new_extent(5, 4096);
	struct extent *c = new_extent(3, 8192);
	uint64_t dup = 0;

	CU_ASSERT_FATAL(a && b && c);
	extent_index_init(&x);
	CU_ASSERT_EQUAL(extent_index_add(&x, a), 0);
	CU_ASSERT_EQUAL(extent_index_add(&x, b), -EEXIST);
	/* Recovery's path loads without looking; the sort finds the twin. */
	CU_ASSERT_EQUAL(extent_index_load(&x, c), 0);
	CU_ASSERT_EQUAL(extent_index_sort(&x, &dup), 0);
	CU_ASSERT_PTR_EQUAL(extent_find_from(&x, 0), c);
	CU_ASSERT_EQUAL(extent_index_load(&x, b), 0);
	CU_ASSERT_EQUAL(extent_index_sort(&x, &dup), -EEXIST);
	CU_ASSERT_EQUAL(dup, 5);
	extent_index_free(&x); /* frees a, b and c */
}

/* test_load_unsorted -- loading in any order, then sorting, gives id order */
static void test_load_unsorted(void)
{
	struct extent_index x;
	uint64_t seed = 99, dup, id, i;
	struct extent *e;

	extent_index_init(&x);
	CU_ASSERT_EQUAL_FATAL(extent_index_reserve(&x, 5000), 0);
	/* Ids 1..5000 in a scrambled order (multiplication by a unit mod p). */
	for (i = 0; i < 5000; i++) {
		id = (i * 2971) % 5003 + 1;
		if (id > 5000)
			continue;
		e = new_extent(id, rng(&seed));
		CU_ASSERT_FATAL(e && extent_index_load(&x, e) == 0);
	}
	CU_ASSERT_EQUAL(extent_index_sort(&x, &dup), 0);
	id = 0;
	for (e = extent_find_from(&x, 0); e; e = extent_next(&x, e)) {
		CU_ASSERT(e->rec.id > id);
		CU_ASSERT_PTR_EQUAL(extent_find(&x, e->rec.id), e);
		id = e->rec.id;
	}
	CU_ASSERT_EQUAL(id, 5000);
	extent_index_free(&x);
}

static const struct unit_test tests[] = {
	{ "random operations against a model", test_model },
	{ "crowded table", test_crowded_table },
	{ "duplicate ids", test_duplicate },
	{ "load unsorted, then sort", test_load_unsorted },
	{ NULL, NULL },
};

int main(void)
{
	return unit_main("extent", NULL, NULL, NULL, NULL, tests);
}
