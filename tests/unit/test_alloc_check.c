// SPDX-License-Identifier: Apache-2.0
/*
 * test_alloc_check.c -- alloc_check() finds every kind of corruption
 *
 * alloc_check() guards daxallocctl check and the start-up checks against
 * a free-space index that went wrong; nothing the public API does can
 * break the index, so test_alloc.c only ever sees it pass.  This program
 * includes alloc.c itself, as SPDK's unit tests include the file under
 * test, to reach the runs and trees behind the opaque struct alloc: each
 * case breaks one invariant by hand, expects -EUCLEAN with the matching
 * explanation, and puts the index back so that alloc_destroy() can free
 * it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../../daemon/alloc.c"

#include "unit.h"

#define UNIT 4096u
#define U(n) ((uint64_t)(n)*UNIT)

/* three_runs -- units [0, 32), free runs [0, 1), [3, 5), [9, 20); or NULL */
static struct alloc *three_runs(void)
{
	struct alloc *a = NULL;

	if (alloc_new(0, U(32), UNIT, true, &a))
		return NULL;
	/* Free: [0,1) [3,5) [9,20); used: [1,3) [5,9) [20,32). */
	if (alloc_claim(a, U(1), U(2)) || alloc_claim(a, U(5), U(4)) ||
	    alloc_claim(a, U(20), U(12))) {
		alloc_destroy(a);
		return NULL;
	}
	return a;
}

/* run_at -- the free run that starts at unit u */
static struct alloc_run *run_at(struct alloc *a, uint64_t u)
{
	struct alloc_run key = { .off = U(u) };

	return RB_FIND(alloc_off_tree, &a->by_off, &key);
}

/* broken -- alloc_check() fails and its explanation contains what */
static bool broken(const struct alloc *a, const char *what)
{
	char why[256];
	int r = alloc_check(a, why, sizeof(why));

	if (r != -EUCLEAN || !strstr(why, what)) {
		fprintf(stderr, "alloc_check: %d '%s', expected '%s'\n", r, why,
			what);
		return false;
	}
	/* Without room for an explanation the verdict is the same. */
	return alloc_check(a, NULL, 0) == -EUCLEAN &&
	       alloc_check(a, why, 0) == -EUCLEAN;
}

/* test_intact -- the fixture itself passes, with and without a buffer */
static void test_intact(void)
{
	struct alloc *a = three_runs();
	char why[64] = "x";

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	if (!a)
		return;
	CU_ASSERT_EQUAL(alloc_free_runs(a), 3);
	CU_ASSERT_EQUAL(alloc_check(a, why, sizeof(why)), 0);
	CU_ASSERT_STRING_EQUAL(why, "");
	CU_ASSERT_EQUAL(alloc_check(a, NULL, 0), 0);
	alloc_destroy(a);
}

/* test_counters -- run and byte counters that disagree with the trees */
static void test_counters(void)
{
	struct alloc *a = three_runs();

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	if (!a)
		return;
	a->free_runs--;
	CU_ASSERT(broken(a, "by-offset tree holds more than the 2 runs"));
	a->free_runs += 2;
	CU_ASSERT(broken(a, "by-offset tree holds 3 runs, counter says 4"));
	a->free_runs--;
	a->free_bytes += UNIT;
	CU_ASSERT(broken(a, "bytes, counter says"));
	a->free_bytes -= UNIT;
	CU_ASSERT_EQUAL(alloc_check(a, NULL, 0), 0);
	alloc_destroy(a);
}

/* test_run_shape -- empty, off the unit grid, outside the area */
static void test_run_shape(void)
{
	struct alloc *a = three_runs();
	struct alloc_run *r;
	uint64_t len;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	if (!a)
		return;
	/*
	 * Keys change in place, so only runs that no earlier lookup passes
	 * through: the first run by offset (checked before any lookup) and
	 * the last (a leaf of both trees).
	 */
	r = run_at(a, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	if (!r)
		return;
	len = r->len;
	r->len = 0;
	CU_ASSERT(broken(a, "is empty"));
	r->len = len + 1;
	CU_ASSERT(broken(a, "is not in units"));
	r->len = len;
	/* Below the area (the base moves up), past its end, running off it. */
	a->base = U(1);
	CU_ASSERT(broken(a, "leaves the area"));
	a->base = 0;
	a->length = U(2);
	CU_ASSERT(broken(a, "leaves the area"));
	a->length = U(32);
	r = run_at(a, 9);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	if (!r)
		return;
	r->len = U(30);
	CU_ASSERT(broken(a, "leaves the area"));
	r->len = U(11);
	CU_ASSERT_EQUAL(alloc_check(a, NULL, 0), 0);
	alloc_destroy(a);
}

/* test_neighbours -- runs that overlap, or touch and were not coalesced */
static void test_neighbours(void)
{
	struct alloc *a = three_runs();
	struct alloc_run *r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	if (!a)
		return;
	r = run_at(a, 3);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	if (!r)
		return;
	/* [3, 5) grows into [9, 20): overlap, then exactly touching. */
	r->len = U(7);
	CU_ASSERT(broken(a, "overlaps or precedes"));
	r->len = U(6);
	CU_ASSERT(broken(a, "not coalesced"));
	r->len = U(2);
	CU_ASSERT_EQUAL(alloc_check(a, NULL, 0), 0);
	alloc_destroy(a);
}

/* test_size_tree -- the by-size index misses, adds or misorders runs */
static void test_size_tree(void)
{
	struct alloc_run extra = { .off = U(40), .len = U(3) };
	struct alloc *a = three_runs();
	struct alloc_run *r, *parent;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	if (!a)
		return;
	/* A run the by-size tree lost. */
	r = run_at(a, 3);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	if (!r)
		return;
	RB_REMOVE(alloc_size_tree, &a->by_size, r);
	CU_ASSERT(broken(a, "is missing from the by-size tree"));
	RB_INSERT(alloc_size_tree, &a->by_size, r);
	CU_ASSERT_EQUAL(alloc_check(a, NULL, 0), 0);

	/* A run only the by-size tree holds: one too many... */
	RB_INSERT(alloc_size_tree, &a->by_size, &extra);
	CU_ASSERT(broken(a, "by-size tree holds more than the 3 runs"));
	/* ...and out of order once its key changes under the tree. */
	extra.len = 0;
	CU_ASSERT(broken(a, "by-size tree out of order"));
	extra.len = U(3);
	RB_REMOVE(alloc_size_tree, &a->by_size, &extra);
	CU_ASSERT_EQUAL(alloc_check(a, NULL, 0), 0);

	/*
	 * A broken parent link: lookups from the root still find every run,
	 * but the in-order walk stops early.  The smallest run ([0, 1)) is a
	 * leaf on the left; cutting it from its parent ends the walk there.
	 */
	r = RB_MIN(alloc_size_tree, &a->by_size);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	if (!r)
		return;
	parent = RB_PARENT(r, by_size);
	CU_ASSERT_PTR_NOT_NULL_FATAL(parent);
	if (!parent)
		return;
	RB_PARENT(r, by_size) = NULL;
	CU_ASSERT(broken(a, "by-size tree holds 1 runs, by-offset tree 3"));
	RB_PARENT(r, by_size) = parent;
	CU_ASSERT_EQUAL(alloc_check(a, NULL, 0), 0);
	alloc_destroy(a);
}

static const struct unit_test tests[] = {
	{ "an intact index passes", test_intact },
	{ "counters that disagree", test_counters },
	{ "empty, unaligned and outside runs", test_run_shape },
	{ "overlapping and uncoalesced runs", test_neighbours },
	{ "by-size tree: missing, extra, out of order, cut", test_size_tree },
	{ NULL, NULL },
};

int main(void)
{
	return unit_main("alloc_check", NULL, NULL, NULL, NULL, tests);
}
