// SPDX-License-Identifier: Apache-2.0
/*
 * test_alloc.c -- unit tests of the free-space allocator (alloc)
 *
 * Directed cases pin down each rule; a property test then runs long random
 * sequences against a reference model -- one byte per unit and a linear
 * scan implementing the same placement rule -- and after every step compares
 * the result, the counters and the whole free map, and runs alloc_check().
 *
 * Memory failures are injected by linking with -Wl,--wrap=malloc, so that
 * the allocator is tested exactly as it is built into the daemon, with no
 * hook in it.  The wrapper fails mallocs only while a test arms it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "unit.h"

/* The unit of the directed cases; U(n) is n units in bytes. */
#define UNIT 4096u
#define U(n) ((uint64_t)(n) * UNIT)

/* --- malloc failure injection (-Wl,--wrap=malloc) --- */

void *__real_malloc(size_t size);
void *__wrap_malloc(size_t size);

/* Mallocs still allowed before every further one fails; -1 when disarmed. */
static long fault_left = -1;
/* Mallocs seen while armed: proves that a failure path was really taken. */
static unsigned long fault_calls;

/* __wrap_malloc -- malloc, failing once the armed allowance is spent */
void *__wrap_malloc(size_t size)
{
	if (fault_left >= 0) {
		fault_calls++;
		if (fault_left == 0)
			return NULL;
		fault_left--;
	}
	return __real_malloc(size);
}

/* fault_arm -- let the next n mallocs succeed and fail all after them */
static void fault_arm(long n)
{
	fault_left = n;
	fault_calls = 0;
}

/* fault_disarm -- let every malloc succeed again */
static void fault_disarm(void)
{
	fault_left = -1;
}

/* --- helpers of the directed cases --- */

struct span {
	uint64_t off;
	uint64_t len;
};

/* A copy of the free map, taken through alloc_foreach_free(). */
struct snap {
	size_t n;
	size_t cap;
	struct span *runs;
};

/* snap_add -- alloc_foreach_free() callback appending one run */
static int snap_add(uint64_t offset, uint64_t len, void *arg)
{
	struct snap *s = arg;

	if (s->n == s->cap)
		return -ENOBUFS;
	s->runs[s->n].off = offset;
	s->runs[s->n].len = len;
	s->n++;
	return 0;
}

/* snap_take -- copy a's free map into s; 0 or the callback's error */
static int snap_take(const struct alloc *a, struct snap *s)
{
	s->n = 0;
	return alloc_foreach_free(a, snap_add, s);
}

/* snap_equal -- do two copies of a free map agree? */
static bool snap_equal(const struct snap *x, const struct snap *y)
{
	return x->n == y->n &&
	       !memcmp(x->runs, y->runs, x->n * sizeof(x->runs[0]));
}

/* check_ok -- alloc_check(), saying why on failure; its return value */
static int check_ok(const struct alloc *a)
{
	char why[256];
	int ret;

	ret = alloc_check(a, why, sizeof(why));
	if (ret)
		fprintf(stderr, "alloc_check: %d: %s\n", ret, why);
	return ret;
}

/* runs_are -- is a's free map exactly the n (offset, length) unit pairs? */
static bool runs_are(const struct alloc *a, const uint64_t *pairs, size_t n)
{
	struct span runs[32];
	struct snap s = { .cap = 32, .runs = runs };
	size_t i;

	if (snap_take(a, &s) || s.n != n)
		return false;
	for (i = 0; i < n; i++)
		if (runs[i].off != U(pairs[2 * i]) ||
		    runs[i].len != U(pairs[2 * i + 1]))
			return false;
	return true;
}

/* The counters and alloc_check(), asserted at the caller's line. */
#define EXPECT_STATE(a, free_units, largest_units, nruns)                 \
	do {                                                              \
		CU_ASSERT_EQUAL(alloc_free_bytes(a), U(free_units));      \
		CU_ASSERT_EQUAL(alloc_largest_free(a), U(largest_units)); \
		CU_ASSERT_EQUAL(alloc_free_runs(a), (uint64_t)(nruns));   \
		CU_ASSERT_EQUAL(check_ok(a), 0);                          \
	} while (0)

/* The exact free map, as unit pairs, asserted at the caller's line. */
#define EXPECT_RUNS(a, ...)                                                  \
	do {                                                                 \
		const uint64_t pairs_[] = { __VA_ARGS__ };                   \
		CU_ASSERT(runs_are(a, pairs_,                                \
				   sizeof(pairs_) / sizeof(pairs_[0]) / 2)); \
	} while (0)

/* new_area -- an allocator over units [base, base + n), or NULL */
static struct alloc *new_area(uint64_t base, uint64_t n, bool all_free)
{
	struct alloc *a = NULL;

	if (alloc_new(U(base), U(n), UNIT, all_free, &a))
		return NULL;
	return a;
}

/* --- directed cases --- */

/* test_new_invalid -- alloc_new() refuses every malformed area */
static void test_new_invalid(void)
{
	static char sentinel;
	struct alloc *keep = (struct alloc *)&sentinel;
	struct alloc *a = keep; /* must stay untouched on failure */

	CU_ASSERT_EQUAL(alloc_new(0, U(8), 0, true, &a), -EINVAL);
	CU_ASSERT_EQUAL(alloc_new(0, U(8), 2048, true, &a), -EINVAL);
	CU_ASSERT_EQUAL(alloc_new(0, U(8), 3 * UNIT, true, &a), -EINVAL);
	CU_ASSERT_EQUAL(alloc_new(512, U(8), UNIT, true, &a), -EINVAL);
	CU_ASSERT_EQUAL(alloc_new(0, U(8) + 512, UNIT, true, &a), -EINVAL);
	/* An empty area: nothing a pool could ever use. */
	CU_ASSERT_EQUAL(alloc_new(U(8), 0, UNIT, true, &a), -EINVAL);
	CU_ASSERT_EQUAL(alloc_new(U(8), 0, UNIT, false, &a), -EINVAL);
	/* Areas that wrap past 2^64, or end at it: the end must be a number. */
	CU_ASSERT_EQUAL(alloc_new(UINT64_MAX - U(4) + 1, U(8), UNIT, true, &a),
			-EINVAL);
	CU_ASSERT_EQUAL(alloc_new(UINT64_MAX - U(4) + 1, U(4), UNIT, true, &a),
			-EINVAL);
	CU_ASSERT_PTR_EQUAL(a, keep);

	/* The highest area that does not wrap is fine, and usable. */
	a = NULL;
	CU_ASSERT_EQUAL_FATAL(alloc_new(UINT64_MAX - U(5) + 1, U(4), UNIT,
					true, &a), 0);
	EXPECT_STATE(a, 4, 4, 1);
	CU_ASSERT_EQUAL(alloc_release(a, UINT64_MAX - U(2) + 1, U(1)), -EINVAL);
	CU_ASSERT_TRUE(alloc_is_free(a, UINT64_MAX - U(2) + 1, U(1)));
	CU_ASSERT_FALSE(alloc_is_free(a, UINT64_MAX - U(2) + 1, U(2)));
	CU_ASSERT_EQUAL(alloc_claim(a, UINT64_MAX - U(2) + 1, U(1)), 0);
	CU_ASSERT_EQUAL(alloc_release(a, UINT64_MAX - U(2) + 1, U(1)), 0);
	EXPECT_STATE(a, 4, 4, 1);
	alloc_destroy(a);
	alloc_destroy(NULL);
}

/* test_invalid_args -- unaligned or out-of-area arguments: -EINVAL, no change */
static void test_invalid_args(void)
{
	struct alloc *a = new_area(8, 64, true);
	uint64_t off = 12345;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL(alloc_reserve(a, 0, 0, &off), -EINVAL);
	CU_ASSERT_EQUAL(alloc_reserve(a, 100, 0, &off), -EINVAL);
	CU_ASSERT_EQUAL(alloc_reserve(a, U(1) + 1, 0, &off), -EINVAL);
	CU_ASSERT_EQUAL(alloc_reserve(a, U(1), 2048, &off), -EINVAL);
	CU_ASSERT_EQUAL(alloc_reserve(a, U(1), 3 * UNIT, &off), -EINVAL);
	CU_ASSERT_EQUAL(alloc_reserve(a, U(1), U(1) + 1, &off), -EINVAL);
	CU_ASSERT_EQUAL(off, 12345);

	CU_ASSERT_EQUAL(alloc_claim(a, U(10) + 512, U(1)), -EINVAL);
	CU_ASSERT_EQUAL(alloc_claim(a, U(10), U(1) - 512), -EINVAL);
	CU_ASSERT_EQUAL(alloc_claim(a, U(10), 0), -EINVAL);
	CU_ASSERT_EQUAL(alloc_claim(a, U(7), U(2)), -EINVAL);
	CU_ASSERT_EQUAL(alloc_claim(a, U(70), U(4)), -EINVAL);
	CU_ASSERT_EQUAL(alloc_claim(a, U(72), U(1)), -EINVAL);
	/* A length so large that offset + len would wrap. */
	CU_ASSERT_EQUAL(alloc_claim(a, U(10), UINT64_MAX - U(1) + 1), -EINVAL);

	/* Make something used so that releases are not refused as free. */
	CU_ASSERT_EQUAL(alloc_claim(a, U(8), U(64)), 0);
	CU_ASSERT_EQUAL(alloc_release(a, U(10) + 512, U(1)), -EINVAL);
	CU_ASSERT_EQUAL(alloc_release(a, U(10), 512), -EINVAL);
	CU_ASSERT_EQUAL(alloc_release(a, U(10), 0), -EINVAL);
	CU_ASSERT_EQUAL(alloc_release(a, U(4), U(8)), -EINVAL);
	CU_ASSERT_EQUAL(alloc_release(a, U(70), U(4)), -EINVAL);
	CU_ASSERT_EQUAL(alloc_release(a, U(10), UINT64_MAX - U(1) + 1),
			-EINVAL);
	EXPECT_STATE(a, 0, 0, 0);

	CU_ASSERT_EQUAL(alloc_release(a, U(8), U(64)), 0);
	CU_ASSERT_FALSE(alloc_is_free(a, U(8) + 512, U(1)));
	CU_ASSERT_FALSE(alloc_is_free(a, U(8), 0));
	CU_ASSERT_FALSE(alloc_is_free(a, U(7), U(1)));
	CU_ASSERT_FALSE(alloc_is_free(a, U(70), U(4)));
	CU_ASSERT_TRUE(alloc_is_free(a, U(8), U(64)));
	EXPECT_STATE(a, 64, 64, 1);
	alloc_destroy(a);
}

/* test_empty_area -- an area with nothing free: -ENOSPC, -EBUSY, zeros */
static void test_empty_area(void)
{
	struct alloc *a = new_area(8, 16, false);
	uint64_t off = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	EXPECT_STATE(a, 0, 0, 0);
	EXPECT_RUNS(a);
	CU_ASSERT_EQUAL(alloc_reserve(a, U(1), 0, &off), -ENOSPC);
	CU_ASSERT_EQUAL(alloc_claim(a, U(8), U(1)), -EBUSY);
	CU_ASSERT_FALSE(alloc_is_free(a, U(8), U(1)));

	/* Everything released, then everything taken back in one piece. */
	CU_ASSERT_EQUAL(alloc_release(a, U(8), U(16)), 0);
	EXPECT_STATE(a, 16, 16, 1);
	CU_ASSERT_EQUAL(alloc_reserve(a, U(17), 0, &off), -ENOSPC);
	CU_ASSERT_EQUAL(alloc_reserve(a, U(16), 0, &off), 0);
	CU_ASSERT_EQUAL(off, U(8));
	EXPECT_STATE(a, 0, 0, 0);
	CU_ASSERT_EQUAL(alloc_reserve(a, U(1), 0, &off), -ENOSPC);
	alloc_destroy(a);
}

/* test_exact_fit -- a run exactly as long as the request is used up */
static void test_exact_fit(void)
{
	struct alloc *a = new_area(0, 32, false);
	uint64_t off = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL(alloc_release(a, U(2), U(5)), 0);
	CU_ASSERT_EQUAL(alloc_release(a, U(10), U(7)), 0);
	EXPECT_STATE(a, 12, 7, 2);
	/* 5 fits both; the 5-unit run is used up and disappears. */
	CU_ASSERT_EQUAL(alloc_reserve(a, U(5), 0, &off), 0);
	CU_ASSERT_EQUAL(off, U(2));
	EXPECT_STATE(a, 7, 7, 1);
	EXPECT_RUNS(a, 10, 7);
	CU_ASSERT_EQUAL(alloc_reserve(a, U(7), 0, &off), 0);
	CU_ASSERT_EQUAL(off, U(10));
	EXPECT_STATE(a, 0, 0, 0);
	alloc_destroy(a);
}

/* test_best_fit -- the shortest run that fits wins, even at a higher address */
static void test_best_fit(void)
{
	struct alloc *a = new_area(8, 64, false);
	uint64_t off = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL(alloc_release(a, U(10), U(8)), 0);
	CU_ASSERT_EQUAL(alloc_release(a, U(40), U(3)), 0);
	CU_ASSERT_EQUAL(alloc_release(a, U(50), U(20)), 0);
	EXPECT_STATE(a, 31, 20, 3);

	CU_ASSERT_EQUAL(alloc_reserve(a, U(2), 0, &off), 0);
	CU_ASSERT_EQUAL(off, U(40));
	EXPECT_STATE(a, 29, 20, 3);
	EXPECT_RUNS(a, 10, 8, 42, 1, 50, 20);

	/* The 1-unit leftover is now the best fit for one unit. */
	CU_ASSERT_EQUAL(alloc_reserve(a, U(1), 0, &off), 0);
	CU_ASSERT_EQUAL(off, U(42));
	EXPECT_STATE(a, 28, 20, 2);

	/* Too long for the 8-unit run: the 20-unit one, from its start. */
	CU_ASSERT_EQUAL(alloc_reserve(a, U(9), 0, &off), 0);
	CU_ASSERT_EQUAL(off, U(50));
	EXPECT_STATE(a, 19, 11, 2);
	EXPECT_RUNS(a, 10, 8, 59, 11);

	CU_ASSERT_EQUAL(alloc_reserve(a, U(12), 0, &off), -ENOSPC);
	EXPECT_STATE(a, 19, 11, 2);
	alloc_destroy(a);
}

/* test_tie_lower_address -- runs of equal length: the lowest is taken */
static void test_tie_lower_address(void)
{
	struct alloc *a = new_area(8, 64, false);
	uint64_t off = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	/* Released high first so that insertion order cannot decide. */
	CU_ASSERT_EQUAL(alloc_release(a, U(50), U(4)), 0);
	CU_ASSERT_EQUAL(alloc_release(a, U(30), U(4)), 0);
	CU_ASSERT_EQUAL(alloc_release(a, U(20), U(4)), 0);
	CU_ASSERT_EQUAL(alloc_release(a, U(60), U(5)), 0);
	EXPECT_STATE(a, 17, 5, 4);

	CU_ASSERT_EQUAL(alloc_reserve(a, U(4), 0, &off), 0);
	CU_ASSERT_EQUAL(off, U(20));
	CU_ASSERT_EQUAL(alloc_reserve(a, U(3), 0, &off), 0);
	CU_ASSERT_EQUAL(off, U(30));
	CU_ASSERT_EQUAL(alloc_reserve(a, U(4), 0, &off), 0);
	CU_ASSERT_EQUAL(off, U(50));
	EXPECT_STATE(a, 6, 5, 2);
	EXPECT_RUNS(a, 33, 1, 60, 5);
	alloc_destroy(a);
}

/* test_alignment -- alignment is of the absolute offset, and can skip runs */
static void test_alignment(void)
{
	struct alloc *a = new_area(8, 1024, true);
	uint64_t off = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	/* Relative to 0, not to base: 16 units is offset 16u, not base + 16u. */
	CU_ASSERT_EQUAL(alloc_reserve(a, U(1), U(16), &off), 0);
	CU_ASSERT_EQUAL(off, U(16));
	EXPECT_STATE(a, 1023, 1015, 2);
	EXPECT_RUNS(a, 8, 8, 17, 1015);
	/* The 8-unit run at 8u is itself 8-aligned: taken whole. */
	CU_ASSERT_EQUAL(alloc_reserve(a, U(8), U(8), &off), 0);
	CU_ASSERT_EQUAL(off, U(8));
	EXPECT_STATE(a, 1015, 1015, 1);
	alloc_destroy(a);

	/*
	 * Runs of 20 units at 70u (no multiple of 64 inside), 30 units at
	 * 300u (320u inside) and 40 units at 120u (128u inside).  One unit
	 * at 64-unit alignment skips the shortest, takes the next shortest.
	 */
	a = new_area(8, 1024, false);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL(alloc_release(a, U(70), U(20)), 0);
	CU_ASSERT_EQUAL(alloc_release(a, U(120), U(40)), 0);
	CU_ASSERT_EQUAL(alloc_release(a, U(300), U(30)), 0);
	CU_ASSERT_EQUAL(alloc_reserve(a, U(1), U(64), &off), 0);
	CU_ASSERT_EQUAL(off, U(320));
	EXPECT_STATE(a, 89, 40, 4);
	EXPECT_RUNS(a, 70, 20, 120, 40, 300, 20, 321, 9);
	/* 10 units at 64: the 20-unit run at 300u is now too short once padded. */
	CU_ASSERT_EQUAL(alloc_reserve(a, U(10), U(64), &off), 0);
	CU_ASSERT_EQUAL(off, U(128));
	EXPECT_STATE(a, 79, 22, 5);
	EXPECT_RUNS(a, 70, 20, 120, 8, 138, 22, 300, 20, 321, 9);
	/* Nothing left holds a 64-aligned unit. */
	CU_ASSERT_EQUAL(alloc_reserve(a, U(1), U(64), &off), -ENOSPC);
	/* Huge alignments neither wrap nor fit. */
	CU_ASSERT_EQUAL(alloc_reserve(a, U(1), 1ull << 62, &off), -ENOSPC);
	CU_ASSERT_EQUAL(alloc_reserve(a, U(1), 1ull << 63, &off), -ENOSPC);
	EXPECT_STATE(a, 79, 22, 5);
	alloc_destroy(a);

	/* At base 0, offset 0 is aligned to everything. */
	a = new_area(0, 8, true);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL(alloc_reserve(a, U(1), 1ull << 63, &off), 0);
	CU_ASSERT_EQUAL(off, 0);
	EXPECT_STATE(a, 7, 7, 1);
	alloc_destroy(a);
}

/* test_claim -- claims inside and at the edges of runs; -EBUSY on used bytes */
static void test_claim(void)
{
	struct alloc *a = new_area(8, 64, true);

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_TRUE(alloc_is_free(a, U(20), U(4)));
	CU_ASSERT_EQUAL(alloc_claim(a, U(20), U(4)), 0);
	EXPECT_STATE(a, 60, 48, 2);
	EXPECT_RUNS(a, 8, 12, 24, 48);
	CU_ASSERT_FALSE(alloc_is_free(a, U(20), U(4)));
	CU_ASSERT_FALSE(alloc_is_free(a, U(18), U(4)));

	/* At the left edge of a run and at the right edge of the area. */
	CU_ASSERT_EQUAL(alloc_claim(a, U(8), U(2)), 0);
	EXPECT_STATE(a, 58, 48, 2);
	CU_ASSERT_EQUAL(alloc_claim(a, U(68), U(4)), 0);
	EXPECT_STATE(a, 54, 44, 2);
	EXPECT_RUNS(a, 10, 10, 24, 44);

	/* Across one used unit, and wholly used: refused, nothing changes. */
	CU_ASSERT_EQUAL(alloc_claim(a, U(18), U(4)), -EBUSY);
	CU_ASSERT_EQUAL(alloc_claim(a, U(19), U(2)), -EBUSY);
	CU_ASSERT_EQUAL(alloc_claim(a, U(20), U(4)), -EBUSY);
	CU_ASSERT_EQUAL(alloc_claim(a, U(8), U(1)), -EBUSY);
	CU_ASSERT_EQUAL(alloc_claim(a, U(10), U(64)), -EINVAL);
	EXPECT_STATE(a, 54, 44, 2);
	EXPECT_RUNS(a, 10, 10, 24, 44);

	/* A whole run, then grow-in-place of [20u, 24u) by two units. */
	CU_ASSERT_EQUAL(alloc_claim(a, U(10), U(10)), 0);
	EXPECT_STATE(a, 44, 44, 1);
	CU_ASSERT_EQUAL(alloc_claim(a, U(24), U(2)), 0);
	EXPECT_STATE(a, 42, 42, 1);
	EXPECT_RUNS(a, 26, 42);
	alloc_destroy(a);
}

/* test_release_coalesce -- releases merge with the run left, right, or both */
static void test_release_coalesce(void)
{
	struct alloc *a = new_area(8, 64, false);

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL(alloc_release(a, U(20), U(4)), 0);
	EXPECT_STATE(a, 4, 4, 1);
	/* Touching the run on its left. */
	CU_ASSERT_EQUAL(alloc_release(a, U(24), U(4)), 0);
	EXPECT_STATE(a, 8, 8, 1);
	EXPECT_RUNS(a, 20, 8);
	/* Touching the run on its right. */
	CU_ASSERT_EQUAL(alloc_release(a, U(16), U(4)), 0);
	EXPECT_STATE(a, 12, 12, 1);
	EXPECT_RUNS(a, 16, 12);
	/* A separate run, then the gap that joins both. */
	CU_ASSERT_EQUAL(alloc_release(a, U(30), U(2)), 0);
	EXPECT_STATE(a, 14, 12, 2);
	CU_ASSERT_EQUAL(alloc_release(a, U(28), U(2)), 0);
	EXPECT_STATE(a, 16, 16, 1);
	EXPECT_RUNS(a, 16, 16);

	/* Double and partly-free releases: refused, nothing changes. */
	CU_ASSERT_EQUAL(alloc_release(a, U(16), U(16)), -EINVAL);
	CU_ASSERT_EQUAL(alloc_release(a, U(20), U(1)), -EINVAL);
	CU_ASSERT_EQUAL(alloc_release(a, U(14), U(4)), -EINVAL);
	CU_ASSERT_EQUAL(alloc_release(a, U(31), U(4)), -EINVAL);
	CU_ASSERT_EQUAL(alloc_release(a, U(10), U(30)), -EINVAL);
	/* Outside the area. */
	CU_ASSERT_EQUAL(alloc_release(a, U(4), U(4)), -EINVAL);
	CU_ASSERT_EQUAL(alloc_release(a, U(70), U(4)), -EINVAL);
	CU_ASSERT_EQUAL(alloc_release(a, U(72), U(1)), -EINVAL);
	EXPECT_STATE(a, 16, 16, 1);

	/* Both ends of the area, then the rest: one run of everything. */
	CU_ASSERT_EQUAL(alloc_release(a, U(68), U(4)), 0);
	CU_ASSERT_EQUAL(alloc_release(a, U(8), U(1)), 0);
	EXPECT_STATE(a, 21, 16, 3);
	EXPECT_RUNS(a, 8, 1, 16, 16, 68, 4);
	CU_ASSERT_EQUAL(alloc_release(a, U(9), U(7)), 0);
	CU_ASSERT_EQUAL(alloc_release(a, U(32), U(36)), 0);
	EXPECT_STATE(a, 64, 64, 1);
	EXPECT_RUNS(a, 8, 64);
	alloc_destroy(a);
}

/* test_recovery -- all_free false, then the gaps between extents released */
static void test_recovery(void)
{
	/* Extents found on the media, as [start, end) units of [8, 72). */
	static const uint64_t ext[][2] = {
		{ 8, 10 }, { 12, 20 }, { 21, 22 }, { 40, 64 }, { 70, 72 },
	};
	struct alloc *a = new_area(8, 64, false);
	uint64_t prev = 8, off = 0;
	unsigned int i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		if (ext[i][0] > prev)
			CU_ASSERT_EQUAL(alloc_release(a, U(prev),
						      U(ext[i][0] - prev)), 0);
		prev = ext[i][1];
	}
	EXPECT_STATE(a, 2 + 1 + 18 + 6, 18, 4);
	EXPECT_RUNS(a, 10, 2, 20, 1, 22, 18, 64, 6);
	/* Every extent is still used. */
	for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++)
		CU_ASSERT_EQUAL(alloc_claim(a, U(ext[i][0]),
					    U(ext[i][1] - ext[i][0])), -EBUSY);
	CU_ASSERT_EQUAL(alloc_reserve(a, U(1), 0, &off), 0);
	CU_ASSERT_EQUAL(off, U(20));
	alloc_destroy(a);
}

/* stop_at_second -- alloc_foreach_free() callback stopping on the 2nd run */
static int stop_at_second(uint64_t offset, uint64_t len, void *arg)
{
	unsigned int *calls = arg;

	return ++*calls == 2 ? 42 : 0;
}

/* test_foreach_stop -- foreach stops at and returns a non-zero value */
static void test_foreach_stop(void)
{
	struct alloc *a = new_area(8, 64, true);
	unsigned int calls = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL(alloc_claim(a, U(10), U(1)), 0);
	CU_ASSERT_EQUAL(alloc_claim(a, U(20), U(1)), 0);
	CU_ASSERT_EQUAL(alloc_foreach_free(a, stop_at_second, &calls), 42);
	CU_ASSERT_EQUAL(calls, 2);
	/* A check with nowhere to write the reason still checks. */
	CU_ASSERT_EQUAL(alloc_check(a, NULL, 0), 0);
	alloc_destroy(a);
}

/* test_enomem -- a failed malloc changes nothing; no malloc when none needed */
static void test_enomem(void)
{
	struct span before_runs[16], after_runs[16];
	struct snap before = { .cap = 16, .runs = before_runs };
	struct snap after = { .cap = 16, .runs = after_runs };
	struct alloc *a = NULL;
	uint64_t off = 0;

	/* alloc_new: the allocator itself, then its first run. */
	fault_arm(0);
	CU_ASSERT_EQUAL(alloc_new(U(8), U(64), UNIT, true, &a), -ENOMEM);
	CU_ASSERT_EQUAL(fault_calls, 1);
	fault_arm(1);
	CU_ASSERT_EQUAL(alloc_new(U(8), U(64), UNIT, true, &a), -ENOMEM);
	CU_ASSERT_EQUAL(fault_calls, 2);
	fault_disarm();
	CU_ASSERT_PTR_NULL(a);

	/* all_free false needs no run. */
	fault_arm(1);
	CU_ASSERT_EQUAL(alloc_new(U(8), U(64), UNIT, false, &a), 0);
	fault_disarm();
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL(alloc_release(a, U(8), U(64)), 0);
	CU_ASSERT_EQUAL(alloc_claim(a, U(30), U(2)), 0);
	CU_ASSERT_EQUAL(snap_take(a, &before), 0);

	/* Each of these would split a run or add one: -ENOMEM, no change. */
	fault_arm(0);
	CU_ASSERT_EQUAL(alloc_reserve(a, U(1), U(16), &off), -ENOMEM);
	CU_ASSERT_EQUAL(alloc_claim(a, U(10), U(1)), -ENOMEM);
	CU_ASSERT_EQUAL(alloc_claim(a, U(50), U(4)), -ENOMEM);
	CU_ASSERT_EQUAL(fault_calls, 3);
	fault_disarm();
	EXPECT_STATE(a, 62, 40, 2);
	CU_ASSERT_EQUAL(snap_take(a, &after), 0);
	CU_ASSERT(snap_equal(&before, &after));

	/* A release touching no run needs a new one. */
	CU_ASSERT_EQUAL(alloc_claim(a, U(40), U(10)), 0);
	CU_ASSERT_EQUAL(snap_take(a, &before), 0);
	fault_arm(0);
	CU_ASSERT_EQUAL(alloc_release(a, U(44), U(2)), -ENOMEM);
	CU_ASSERT_EQUAL(fault_calls, 1);
	fault_disarm();
	EXPECT_STATE(a, 52, 22, 3);
	CU_ASSERT_EQUAL(snap_take(a, &after), 0);
	CU_ASSERT(snap_equal(&before, &after));

	/* None of these needs memory: they work with malloc failing. */
	fault_arm(0);
	CU_ASSERT_EQUAL(alloc_reserve(a, U(8), 0, &off), 0);
	CU_ASSERT_EQUAL(off, U(32));
	CU_ASSERT_EQUAL(alloc_claim(a, U(8), U(1)), 0);
	CU_ASSERT_EQUAL(alloc_release(a, U(48), U(2)), 0);
	CU_ASSERT_EQUAL(alloc_release(a, U(30), U(2)), 0);
	CU_ASSERT_EQUAL(alloc_release(a, U(32), U(8)), 0);
	CU_ASSERT_EQUAL(alloc_release(a, U(40), U(8)), 0);
	CU_ASSERT_EQUAL(fault_calls, 0);
	fault_disarm();
	EXPECT_STATE(a, 63, 63, 1);
	EXPECT_RUNS(a, 9, 63);
	alloc_destroy(a);
}

/* --- the property test against a reference model --- */

/* xorshift64* by Vigna: small, fixed, the same on every platform. */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1Dull;
}

/* rng_below -- a number in [0, n); the slight modulo bias does not matter */
static uint64_t rng_below(uint64_t *s, uint64_t n)
{
	return rng_next(s) % n;
}

enum op_kind { OP_RESERVE, OP_CLAIM, OP_RELEASE };

static const char *const op_names[] = {
	[OP_RESERVE] = "reserve",
	[OP_CLAIM] = "claim",
	[OP_RELEASE] = "release",
};

/* One configuration of the property test. */
struct prop_config {
	uint64_t seed;
	uint64_t unit;
	uint64_t base_units;
	uint64_t nunits;
	bool all_free;
	unsigned long ops;
};

struct prop {
	const struct prop_config *cfg;
	uint64_t rng;
	uint64_t unit, base, end, nunits;
	struct alloc *a;
	/* The model: one byte per unit, non-zero when used. */
	uint8_t *used;
	uint8_t *saved;
	/* Disjoint used ranges the test made, to release, shrink or grow. */
	struct span *live;
	size_t nlive;
	/* Scratch free maps of model and allocator, for comparing them. */
	struct snap mruns, aruns;
	/* Fail every malloc of a random third of the operations. */
	bool faults;
	bool failed;
	unsigned long step;
	unsigned long checked;
	unsigned long ok, enospc, ebusy, einval, enomem;
	/* The least and most free space seen, in units, and the most runs. */
	uint64_t min_free, max_free, max_runs;
};

/* model_range -- the model's unit span of a byte range, or -EINVAL */
static int model_range(const struct prop *p, uint64_t off, uint64_t len,
		       uint64_t *u0, uint64_t *n)
{
	if (!len || ((off | len) & (p->unit - 1)) || off < p->base)
		return -EINVAL;
	*u0 = (off - p->base) / p->unit;
	*n = len / p->unit;
	if (*u0 >= p->nunits || *n > p->nunits - *u0)
		return -EINVAL;
	return 0;
}

/* model_claim -- mark a wholly free range used */
static int model_claim(struct prop *p, uint64_t off, uint64_t len)
{
	uint64_t u0, n, i;
	int ret;

	ret = model_range(p, off, len, &u0, &n);
	if (ret)
		return ret;
	for (i = 0; i < n; i++)
		if (p->used[u0 + i])
			return -EBUSY;
	memset(p->used + u0, 1, n);
	return 0;
}

/* model_release -- free a wholly used range */
static int model_release(struct prop *p, uint64_t off, uint64_t len)
{
	uint64_t u0, n, i;
	int ret;

	ret = model_range(p, off, len, &u0, &n);
	if (ret)
		return ret;
	for (i = 0; i < n; i++)
		if (!p->used[u0 + i])
			return -EINVAL;
	memset(p->used + u0, 0, n);
	return 0;
}

/* model_runs -- the model's maximal free runs, in address order, into s */
static void model_runs(const struct prop *p, struct snap *s)
{
	uint64_t i = 0, j;

	s->n = 0;
	while (i < p->nunits) {
		if (p->used[i]) {
			i++;
			continue;
		}
		for (j = i; j < p->nunits && !p->used[j]; j++)
			;
		s->runs[s->n].off = p->base + i * p->unit;
		s->runs[s->n].len = (j - i) * p->unit;
		s->n++;
		i = j;
	}
}

/*
 * model_reserve -- the placement rule, by brute force
 *
 * Every maximal run is tried; among those holding len at an align-multiple
 * offset, the shortest wins, then (scanning upwards, strict <) the lowest.
 */
static int model_reserve(struct prop *p, uint64_t len, uint64_t align,
			 uint64_t *offset)
{
	uint64_t best_off = 0, best_len = 0, start, pad, i;
	bool found = false;

	if (!len || (len & (p->unit - 1)))
		return -EINVAL;
	if (!align)
		align = p->unit;
	if (align < p->unit || (align & (align - 1)))
		return -EINVAL;

	model_runs(p, &p->mruns);
	for (i = 0; i < p->mruns.n; i++) {
		const struct span *r = &p->mruns.runs[i];

		pad = (align - r->off % align) % align;
		if (pad > r->len || r->len - pad < len)
			continue;
		if (!found || r->len < best_len) {
			found = true;
			best_len = r->len;
			best_off = r->off + pad;
		}
	}
	if (!found)
		return -ENOSPC;
	start = (best_off - p->base) / p->unit;
	memset(p->used + start, 1, len / p->unit);
	*offset = best_off;
	return 0;
}

/* prop_fail -- report the first disagreement with everything to replay it */
static void prop_fail(struct prop *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void prop_fail(struct prop *p, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "\nproperty: seed %" PRIu64 " step %lu: ",
		p->cfg->seed, p->step);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	p->failed = true;
}

/* prop_compare -- does the allocator's whole state equal the model's? */
static bool prop_compare(struct prop *p)
{
	uint64_t bytes = 0, largest = 0, off, len;
	char why[256];
	size_t i;
	int ret;

	ret = alloc_check(p->a, why, sizeof(why));
	if (ret) {
		prop_fail(p, "alloc_check: %d: %s", ret, why);
		return false;
	}
	model_runs(p, &p->mruns);
	ret = snap_take(p->a, &p->aruns);
	if (ret || !snap_equal(&p->mruns, &p->aruns)) {
		prop_fail(p, "free maps differ: %zu runs in the allocator, %zu in the model",
			  p->aruns.n, p->mruns.n);
		return false;
	}
	for (i = 0; i < p->mruns.n; i++) {
		bytes += p->mruns.runs[i].len;
		if (p->mruns.runs[i].len > largest)
			largest = p->mruns.runs[i].len;
	}
	if (bytes / p->unit < p->min_free)
		p->min_free = bytes / p->unit;
	if (bytes / p->unit > p->max_free)
		p->max_free = bytes / p->unit;
	if (p->mruns.n > p->max_runs)
		p->max_runs = p->mruns.n;
	if (alloc_free_bytes(p->a) != bytes ||
	    alloc_largest_free(p->a) != largest ||
	    alloc_free_runs(p->a) != p->mruns.n) {
		prop_fail(p, "counters: free 0x%" PRIx64 " largest 0x%" PRIx64 " runs %" PRIu64 ", model 0x%" PRIx64 " 0x%" PRIx64 " %zu",
			  alloc_free_bytes(p->a), alloc_largest_free(p->a),
			  alloc_free_runs(p->a), bytes, largest, p->mruns.n);
		return false;
	}

	/* And one random range asked of alloc_is_free(). */
	off = p->base + rng_below(&p->rng, p->nunits) * p->unit;
	len = (1 + rng_below(&p->rng, 16)) * p->unit;
	{
		uint64_t u0, n, j;
		bool model_free = !model_range(p, off, len, &u0, &n);

		for (j = 0; model_free && j < n; j++)
			model_free = !p->used[u0 + j];
		if (alloc_is_free(p->a, off, len) != model_free) {
			prop_fail(p, "alloc_is_free(0x%" PRIx64 ", 0x%" PRIx64 ") is %d, model %d",
				  off, len, !model_free, model_free);
			return false;
		}
	}
	return true;
}

/*
 * prop_do -- one operation on model and allocator alike, then compare
 *
 * With faults on, a third of the operations run with every malloc failing;
 * the allocator must then return -ENOMEM exactly when the model says the
 * operation succeeds and adds a free run (a split, or a lone release), and
 * the model is rolled back to match.  Returns the allocator's result.
 */
static int prop_do(struct prop *p, enum op_kind kind, uint64_t off,
		   uint64_t len, uint64_t align, uint64_t *newoff)
{
	uint64_t moff = 0, aoff = 0, runs_before = 0;
	bool starve = p->faults && rng_below(&p->rng, 3) == 0;
	int mret, aret = 0;

	if (starve) {
		model_runs(p, &p->mruns);
		runs_before = p->mruns.n;
		memcpy(p->saved, p->used, p->nunits);
	}
	switch (kind) {
	case OP_RESERVE:
		mret = model_reserve(p, len, align, &moff);
		break;
	case OP_CLAIM:
		mret = model_claim(p, off, len);
		break;
	default:
		mret = model_release(p, off, len);
		break;
	}
	if (starve && !mret) {
		model_runs(p, &p->mruns);
		if (p->mruns.n > runs_before) {
			mret = -ENOMEM;
			memcpy(p->used, p->saved, p->nunits);
		}
	}

	if (starve)
		fault_arm(0);
	switch (kind) {
	case OP_RESERVE:
		aret = alloc_reserve(p->a, len, align, &aoff);
		break;
	case OP_CLAIM:
		aret = alloc_claim(p->a, off, len);
		break;
	default:
		aret = alloc_release(p->a, off, len);
		break;
	}
	fault_disarm();

	p->checked++;
	if (aret != mret || (!aret && kind == OP_RESERVE && aoff != moff)) {
		prop_fail(p, "%s(off 0x%" PRIx64 ", len 0x%" PRIx64 ", align 0x%" PRIx64 "%s): allocator %d at 0x%" PRIx64 ", model %d at 0x%" PRIx64,
			  op_names[kind], off, len, align,
			  starve ? ", malloc failing" : "", aret, aoff, mret,
			  moff);
		return aret;
	}
	switch (aret) {
	case 0:
		p->ok++;
		break;
	case -ENOSPC:
		p->enospc++;
		break;
	case -EBUSY:
		p->ebusy++;
		break;
	case -EINVAL:
		p->einval++;
		break;
	case -ENOMEM:
		p->enomem++;
		break;
	}
	if (!prop_compare(p))
		return aret;
	if (newoff)
		*newoff = aoff;
	return aret;
}

/* live_add -- remember a range the test made used */
static void live_add(struct prop *p, uint64_t off, uint64_t len)
{
	p->live[p->nlive].off = off;
	p->live[p->nlive].len = len;
	p->nlive++;
}

/* live_subtract -- forget a released range, splitting what it cuts through */
static void live_subtract(struct prop *p, uint64_t off, uint64_t len)
{
	uint64_t end = off + len;
	size_t i = 0;

	while (i < p->nlive) {
		struct span *s = &p->live[i];
		uint64_t s_end = s->off + s->len;

		if (s_end <= off || s->off >= end) {
			i++;
			continue;
		}
		if (s->off < off && s_end > end) {
			/* Cut through the middle: the tail becomes a new span. */
			s->len = off - s->off;
			live_add(p, end, s_end - end);
			i++;
		} else if (s->off < off) {
			s->len = off - s->off;
			i++;
		} else if (s_end > end) {
			s->len = s_end - end;
			s->off = end;
			i++;
		} else {
			*s = p->live[--p->nlive];
		}
	}
}

/* prop_random_off -- a unit offset from 4 units before to 4 after the area */
static uint64_t prop_random_off(struct prop *p)
{
	return p->base - 4 * p->unit +
	       rng_below(&p->rng, p->nunits + 8) * p->unit;
}

/* prop_invalid -- an operation with a malformed argument */
static void prop_invalid(struct prop *p)
{
	uint64_t u = p->unit, off = p->base + rng_below(&p->rng, p->nunits) * u;

	switch (rng_below(&p->rng, 8)) {
	case 0:
		prop_do(p, OP_RESERVE, 0, u + u / 8, 0, NULL);
		break;
	case 1:
		prop_do(p, OP_RESERVE, 0, u, 3 * u, NULL);
		break;
	case 2:
		prop_do(p, OP_RESERVE, 0, u, u / 2, NULL);
		break;
	case 3:
		prop_do(p, OP_RESERVE, 0, 0, 0, NULL);
		break;
	case 4:
		prop_do(p, OP_CLAIM, off + 512, u, 0, NULL);
		break;
	case 5:
		prop_do(p, OP_RELEASE, off, 0, 0, NULL);
		break;
	case 6:
		prop_do(p, OP_CLAIM, p->end - u, 2 * u, 0, NULL);
		break;
	default:
		/* Longer than the area: valid, but never fits. */
		prop_do(p, OP_RESERVE, 0, (p->nunits + 1) * u, 0, NULL);
		break;
	}
}

/* prop_step -- one random operation of the mix */
static void prop_step(struct prop *p)
{
	static const uint64_t aligns[] = { 0, 1, 1, 2, 4, 16, 64 };
	uint64_t u = p->unit, r = rng_below(&p->rng, 100), off, len, k;
	struct span *s = NULL;
	size_t i = 0;

	if (p->nlive) {
		i = rng_below(&p->rng, p->nlive);
		s = &p->live[i];
	}
	/*
	 * Steps alternate between thousand-step phases of filling and of
	 * draining, where two reserves in three become releases, so that the
	 * area goes from nearly full to mostly free and back.
	 */
	if (s && r < 35 && (p->step / 1000) % 2 && rng_below(&p->rng, 3))
		r = 35;
	/* Operations on a live range fall back to a reserve without one. */
	if (!s && r >= 35 && r < 77)
		r = 0;

	if (r < 35) {
		/* Reserve 1..64 units at unit, 2, 4, 16 or 64-unit alignment. */
		len = (1 + rng_below(&p->rng, 64)) * u;
		k = aligns[rng_below(&p->rng, sizeof(aligns) / sizeof(aligns[0]))];
		if (!prop_do(p, OP_RESERVE, 0, len, k * u, &off))
			live_add(p, off, len);
	} else if (r < 50) {
		/* Release a whole range; a quarter of the time, twice. */
		off = s->off;
		len = s->len;
		if (!prop_do(p, OP_RELEASE, off, len, 0, NULL)) {
			live_subtract(p, off, len);
			if (!p->failed && rng_below(&p->rng, 4) == 0)
				prop_do(p, OP_RELEASE, off, len, 0, NULL);
		}
	} else if (r < 58) {
		/* Shrink: release a suffix (all of it for a 1-unit range). */
		k = s->len / u > 1 ? 1 + rng_below(&p->rng, s->len / u - 1) : 1;
		off = s->off + s->len - k * u;
		if (!prop_do(p, OP_RELEASE, off, k * u, 0, NULL))
			live_subtract(p, off, k * u);
	} else if (r < 63) {
		/* Release a prefix. */
		k = 1 + rng_below(&p->rng, s->len / u);
		off = s->off;
		if (!prop_do(p, OP_RELEASE, off, k * u, 0, NULL))
			live_subtract(p, off, k * u);
	} else if (r < 67) {
		/* Punch a hole strictly inside, when there is room for one. */
		if (s->len < 3 * u) {
			off = s->off;
			len = s->len;
		} else {
			k = 1 + rng_below(&p->rng, s->len / u - 2);
			off = s->off + k * u;
			len = (1 + rng_below(&p->rng, s->len / u - k - 1)) * u;
		}
		if (!prop_do(p, OP_RELEASE, off, len, 0, NULL))
			live_subtract(p, off, len);
	} else if (r < 77) {
		/* Grow in place: claim what follows a live range. */
		len = (1 + rng_below(&p->rng, 16)) * u;
		if (!prop_do(p, OP_CLAIM, s->off + s->len, len, 0, NULL))
			p->live[i].len += len;
	} else if (r < 87) {
		/* Claim a random range, free or not, in the area or not. */
		off = prop_random_off(p);
		len = (1 + rng_below(&p->rng, 32)) * u;
		if (!prop_do(p, OP_CLAIM, off, len, 0, NULL))
			live_add(p, off, len);
	} else if (r < 97) {
		/* Release a random range: mostly refused, sometimes not. */
		off = prop_random_off(p);
		len = (1 + rng_below(&p->rng, 8)) * u;
		if (!prop_do(p, OP_RELEASE, off, len, 0, NULL))
			live_subtract(p, off, len);
	} else {
		prop_invalid(p);
	}
}

/* prop_recover -- start from all used and release random gaps, as recovery */
static void prop_recover(struct prop *p)
{
	uint64_t u = 0, n;

	while (u < p->nunits && !p->failed) {
		/* An extent that stays used... */
		n = 1 + rng_below(&p->rng, 64);
		if (n > p->nunits - u)
			n = p->nunits - u;
		live_add(p, p->base + u * p->unit, n * p->unit);
		u += n;
		if (u == p->nunits)
			break;
		/* ...then the gap after it. */
		n = 1 + rng_below(&p->rng, 64);
		if (n > p->nunits - u)
			n = p->nunits - u;
		prop_do(p, OP_RELEASE, p->base + u * p->unit, n * p->unit, 0,
			NULL);
		u += n;
		p->step++;
	}
}

/* prop_run -- one configuration; the number of operations checked */
static unsigned long prop_run(const struct prop_config *cfg, bool faults)
{
	struct prop p = {
		.cfg = cfg,
		.unit = cfg->unit,
		.base = cfg->base_units * cfg->unit,
		.nunits = cfg->nunits,
		.faults = faults,
		.min_free = UINT64_MAX,
	};
	uint64_t z = cfg->seed + 0x9E3779B97F4A7C15ull;

	/* One splitmix64 round, so that small seeds give unrelated streams. */
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	p.rng = (z ^ (z >> 31)) | 1;
	p.end = p.base + p.nunits * p.unit;

	p.used = calloc(p.nunits, 1);
	p.saved = calloc(p.nunits, 1);
	p.live = calloc(p.nunits + 1, sizeof(*p.live));
	p.mruns.cap = p.aruns.cap = p.nunits;
	p.mruns.runs = calloc(p.nunits, sizeof(struct span));
	p.aruns.runs = calloc(p.nunits, sizeof(struct span));
	if (!p.used || !p.saved || !p.live || !p.mruns.runs || !p.aruns.runs) {
		CU_FAIL("out of memory for the model");
		goto out_free;
	}
	if (!cfg->all_free)
		memset(p.used, 1, p.nunits);
	if (alloc_new(p.base, p.nunits * p.unit, p.unit, cfg->all_free, &p.a)) {
		CU_FAIL("alloc_new");
		goto out_free;
	}
	if (!prop_compare(&p))
		goto out_destroy;
	if (!cfg->all_free)
		prop_recover(&p);
	for (p.step = 0; p.step < cfg->ops && !p.failed; p.step++)
		prop_step(&p);

	fprintf(stderr,
		"\n  seed %" PRIu64 " unit 0x%" PRIx64 "%s%s: %lu ops checked (ok %lu, ENOSPC %lu, EBUSY %lu, EINVAL %lu, ENOMEM %lu); free %" PRIu64 "..%" PRIu64 " of %" PRIu64 " units, up to %" PRIu64 " runs",
		cfg->seed, cfg->unit, cfg->all_free ? "" : " recovery",
		faults ? " faults" : "", p.checked, p.ok, p.enospc, p.ebusy,
		p.einval, p.enomem, p.min_free, p.max_free, p.nunits,
		p.max_runs);
	CU_ASSERT_FALSE(p.failed);
	if (faults)
		CU_ASSERT(p.enomem > 0);

out_destroy:
	alloc_destroy(p.a);
out_free:
	free(p.aruns.runs);
	free(p.mruns.runs);
	free(p.live);
	free(p.saved);
	free(p.used);
	return p.checked;
}

static const struct prop_config prop_configs[] = {
	{ 1, 4096, 8, 4096, true, 5000 },
	{ 2, 4096, 8, 4096, true, 5000 },
	{ 3, 4096, 8, 4096, true, 5000 },
	{ 4, 4096, 8, 4096, true, 5000 },
	{ 5, 4096, 8, 4096, true, 5000 },
	/* 2 MiB units: the rule must not depend on the unit size. */
	{ 6, 2u << 20, 8, 4096, true, 5000 },
	/* Starting from all used, as recovery does. */
	{ 7, 4096, 8, 4096, false, 5000 },
};

static const struct prop_config prop_fault_configs[] = {
	{ 11, 4096, 8, 4096, true, 5000 },
	{ 12, 4096, 8, 4096, false, 5000 },
};

/* test_property -- random operations agree with the model at every step */
static void test_property(void)
{
	unsigned long total = 0;
	unsigned int i;

	for (i = 0; i < sizeof(prop_configs) / sizeof(prop_configs[0]); i++)
		total += prop_run(&prop_configs[i], false);
	fprintf(stderr, "\n  property: %lu operations checked against the model\n",
		total);
	CU_ASSERT(total >= 20000);
}

/* test_property_enomem -- the same, with a third of the operations starved */
static void test_property_enomem(void)
{
	unsigned long total = 0;
	unsigned int i;

	for (i = 0;
	     i < sizeof(prop_fault_configs) / sizeof(prop_fault_configs[0]);
	     i++)
		total += prop_run(&prop_fault_configs[i], true);
	fprintf(stderr, "\n  property with failing malloc: %lu operations checked\n",
		total);
}

static const struct unit_test tests[] = {
	{ "alloc_new refuses malformed areas", test_new_invalid },
	{ "unaligned and out-of-area arguments", test_invalid_args },
	{ "empty area", test_empty_area },
	{ "exact fit", test_exact_fit },
	{ "best fit picks the shortest run", test_best_fit },
	{ "ties go to the lower address", test_tie_lower_address },
	{ "alignment", test_alignment },
	{ "claim", test_claim },
	{ "release coalesces", test_release_coalesce },
	{ "recovery releases the gaps", test_recovery },
	{ "foreach stops on non-zero", test_foreach_stop },
	{ "ENOMEM changes nothing", test_enomem },
	{ "property: random operations vs model", test_property },
	{ "property: with failing malloc", test_property_enomem },
	{ NULL, NULL },
};

/* main -- run the alloc suite; non-zero on any failure */
int main(void)
{
	return unit_main("alloc", NULL, NULL, NULL, NULL, tests);
}
