// SPDX-License-Identifier: Apache-2.0
/*
 * alloc.c -- free-space allocator of a pool's data area, in memory
 *
 * One struct alloc_run per maximal free run, linked into two red-black
 * trees (libbsd's <sys/tree.h>): by offset, to find neighbours when a range
 * is claimed or released, and by (length, offset), so that the first run at
 * or after (len, 0) is the best fit and ties go to the lowest address.
 *
 * A change of a run's length moves it in the by-size tree (remove, change,
 * insert), but a change of its start never moves it in the by-offset tree:
 * runs never overlap, so a run that shrinks or grows into space no other
 * run holds keeps its place between the same neighbours, and its key can be
 * changed in place without breaking the order.
 *
 * Memory is needed only when the number of runs grows (a run split in two,
 * or a release that touches no free run), and it is taken before anything
 * changes, so that -ENOMEM leaves the allocator as it was.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/tree.h>

#include "alloc.h"

/*
 * RB_GENERATE_STATIC marks its functions __unused, which libbsd's
 * <sys/cdefs.h> leaves undefined on purpose (Linux headers have struct
 * members of that name).  Defined after every header and only for the two
 * expansions below, so that no header ever sees it.
 */
#ifndef __unused
#define __unused __attribute__((__unused__))
#define ALLOC_DEFINED_UNUSED
#endif

struct alloc_run {
	RB_ENTRY(alloc_run) by_off;
	RB_ENTRY(alloc_run) by_size;
	uint64_t off;
	uint64_t len;
};

RB_HEAD(alloc_off_tree, alloc_run);
RB_HEAD(alloc_size_tree, alloc_run);

struct alloc {
	struct alloc_off_tree by_off;
	struct alloc_size_tree by_size;
	uint64_t base;
	uint64_t length;
	uint64_t unit;
	/* Kept up to date by every change, so that the getters walk nothing. */
	uint64_t free_bytes;
	uint64_t free_runs;
};

/* alloc_cmp_off -- order runs by offset */
static int alloc_cmp_off(const struct alloc_run *x, const struct alloc_run *y)
{
	return (x->off > y->off) - (x->off < y->off);
}

/* alloc_cmp_size -- order runs by length, then offset: best fit first */
static int alloc_cmp_size(const struct alloc_run *x, const struct alloc_run *y)
{
	if (x->len != y->len)
		return (x->len > y->len) - (x->len < y->len);
	return (x->off > y->off) - (x->off < y->off);
}

RB_GENERATE_STATIC(alloc_off_tree, alloc_run, by_off, alloc_cmp_off)
RB_GENERATE_STATIC(alloc_size_tree, alloc_run, by_size, alloc_cmp_size)

#ifdef ALLOC_DEFINED_UNUSED
#undef __unused
#undef ALLOC_DEFINED_UNUSED
#endif

/*
 * alloc_offs -- the by-offset tree of an allocator the caller may not change
 *
 * The generated lookup functions only read the tree but take no const
 * pointer; this is the one place where const is cast away for them.
 */
static struct alloc_off_tree *alloc_offs(const struct alloc *a)
{
	return (struct alloc_off_tree *)&a->by_off;
}

/* alloc_sizes -- the by-size tree, likewise for read-only lookups */
static struct alloc_size_tree *alloc_sizes(const struct alloc *a)
{
	return (struct alloc_size_tree *)&a->by_size;
}

/* alloc_range_ok -- is [offset, offset + len) non-empty, in units, in area? */
static bool alloc_range_ok(const struct alloc *a, uint64_t offset, uint64_t len)
{
	/* alloc_new() made sure that base + length does not wrap. */
	uint64_t end = a->base + a->length;

	if (!len || ((offset | len) & (a->unit - 1)))
		return false;
	return offset >= a->base && offset < end && len <= end - offset;
}

/* alloc_run_at_or_before -- the free run starting at or before offset */
static struct alloc_run *alloc_run_at_or_before(const struct alloc *a,
						uint64_t offset)
{
	struct alloc_run key = { .off = offset };
	struct alloc_run *r;

	r = RB_NFIND(alloc_off_tree, alloc_offs(a), &key);
	if (r && r->off == offset)
		return r;
	if (r)
		return RB_PREV(alloc_off_tree, alloc_offs(a), r);
	return RB_MAX(alloc_off_tree, alloc_offs(a));
}

/* alloc_link -- put a new run, off and len set, into both trees */
static void alloc_link(struct alloc *a, struct alloc_run *r)
{
	RB_INSERT(alloc_off_tree, &a->by_off, r);
	RB_INSERT(alloc_size_tree, &a->by_size, r);
	a->free_runs++;
}

/* alloc_unlink_free -- take a run out of both trees and free it */
static void alloc_unlink_free(struct alloc *a, struct alloc_run *r)
{
	RB_REMOVE(alloc_off_tree, &a->by_off, r);
	RB_REMOVE(alloc_size_tree, &a->by_size, r);
	a->free_runs--;
	free(r);
}

/*
 * alloc_run_set -- give a run a new extent that keeps it between the same
 * neighbours
 *
 * Only the by-size tree needs the run moved; see the top of this file for
 * why the by-offset tree does not.
 */
static void alloc_run_set(struct alloc *a, struct alloc_run *r, uint64_t off,
			  uint64_t len)
{
	RB_REMOVE(alloc_size_tree, &a->by_size, r);
	r->off = off;
	r->len = len;
	RB_INSERT(alloc_size_tree, &a->by_size, r);
}

/*
 * alloc_carve -- mark [offset, offset + len) used inside free run r
 *
 * The caller has checked that r holds the whole range.  What is left on
 * either side stays free; only when both sides are left does the run split,
 * and only then is memory needed.
 */
static int alloc_carve(struct alloc *a, struct alloc_run *r, uint64_t offset,
		       uint64_t len)
{
	uint64_t left = offset - r->off;
	uint64_t right = r->off + r->len - (offset + len);
	struct alloc_run *tail;

	if (left && right) {
		tail = malloc(sizeof(*tail));
		if (!tail)
			return -ENOMEM;
		tail->off = offset + len;
		tail->len = right;
		alloc_run_set(a, r, r->off, left);
		alloc_link(a, tail);
	} else if (left) {
		alloc_run_set(a, r, r->off, left);
	} else if (right) {
		alloc_run_set(a, r, offset + len, right);
	} else {
		alloc_unlink_free(a, r);
	}
	a->free_bytes -= len;
	return 0;
}

/* alloc_new -- an allocator for [base, base + length) in units of unit */
int alloc_new(uint64_t base, uint64_t length, uint64_t unit, bool all_free,
	      struct alloc **out)
{
	struct alloc_run *r;
	struct alloc *a;

	if (unit < ALLOC_UNIT_MIN || (unit & (unit - 1)))
		return -EINVAL;
	if (!length || ((base | length) & (unit - 1)))
		return -EINVAL;
	/* Every end computed later is base + length or below: none may wrap. */
	if (length > UINT64_MAX - base)
		return -EINVAL;

	a = malloc(sizeof(*a));
	if (!a)
		return -ENOMEM;
	RB_INIT(&a->by_off);
	RB_INIT(&a->by_size);
	a->base = base;
	a->length = length;
	a->unit = unit;
	a->free_bytes = 0;
	a->free_runs = 0;

	if (all_free) {
		r = malloc(sizeof(*r));
		if (!r)
			goto err_free_alloc;
		r->off = base;
		r->len = length;
		alloc_link(a, r);
		a->free_bytes = length;
	}
	*out = a;
	return 0;

err_free_alloc:
	free(a);
	return -ENOMEM;
}

/* alloc_destroy -- free the allocator and all its runs */
void alloc_destroy(struct alloc *a)
{
	struct alloc_run *r, *next;

	if (!a)
		return;
	/*
	 * Removed one by one rather than freed in place: the walk to the next
	 * run goes through parent links, which may lead to a run just freed.
	 * The by-size tree goes with the allocator and needs no removal.
	 */
	RB_FOREACH_SAFE(r, alloc_off_tree, &a->by_off, next) {
		RB_REMOVE(alloc_off_tree, &a->by_off, r);
		free(r);
	}
	free(a);
}

/*
 * alloc_pad -- bytes from off up to the next multiple of align (a power of
 * two)
 *
 * Computed without off + align, which could wrap for an align near 2^63.
 */
static uint64_t alloc_pad(uint64_t off, uint64_t align)
{
	uint64_t rem = off & (align - 1);

	return rem ? align - rem : 0;
}

/* alloc_reserve -- place an extent of len bytes, best fit, address-ordered */
int alloc_reserve(struct alloc *a, uint64_t len, uint64_t align,
		  uint64_t *offset)
{
	struct alloc_run key = { .off = 0, .len = len };
	struct alloc_run *r;
	uint64_t start;
	int ret;

	if (!len || (len & (a->unit - 1)))
		return -EINVAL;
	if (!align)
		align = a->unit;
	if (align < a->unit || (align & (align - 1)))
		return -EINVAL;

	/*
	 * Runs come in best-fit order from the shortest that is long enough.
	 * With the unit as alignment the first one always fits; a stronger
	 * alignment may skip runs too short once padded, and in the worst
	 * case (many such runs) this walk is linear.
	 */
	for (r = RB_NFIND(alloc_size_tree, &a->by_size, &key); r;
	     r = RB_NEXT(alloc_size_tree, &a->by_size, r)) {
		if (alloc_pad(r->off, align) <= r->len - len)
			break;
	}
	if (!r)
		return -ENOSPC;

	start = r->off + alloc_pad(r->off, align);
	ret = alloc_carve(a, r, start, len);
	if (ret)
		return ret;
	*offset = start;
	return 0;
}

/* alloc_claim -- mark exactly [offset, offset + len) used */
int alloc_claim(struct alloc *a, uint64_t offset, uint64_t len)
{
	struct alloc_run *r;

	if (!alloc_range_ok(a, offset, len))
		return -EINVAL;
	r = alloc_run_at_or_before(a, offset);
	if (!r || offset + len > r->off + r->len)
		return -EBUSY;
	return alloc_carve(a, r, offset, len);
}

/* alloc_release -- return the used range [offset, offset + len) */
int alloc_release(struct alloc *a, uint64_t offset, uint64_t len)
{
	struct alloc_run key = { .off = offset };
	struct alloc_run *prev, *next, *r;
	bool join_prev, join_next;

	if (!alloc_range_ok(a, offset, len))
		return -EINVAL;

	/* next starts at or after offset; prev, if any, starts before it. */
	next = RB_NFIND(alloc_off_tree, &a->by_off, &key);
	if (next)
		prev = RB_PREV(alloc_off_tree, &a->by_off, next);
	else
		prev = RB_MAX(alloc_off_tree, &a->by_off);

	/* Releasing free space twice is a caller's bug: refuse, change nothing. */
	if (prev && prev->off + prev->len > offset)
		return -EINVAL;
	if (next && next->off < offset + len)
		return -EINVAL;

	join_prev = prev && prev->off + prev->len == offset;
	join_next = next && next->off == offset + len;
	if (join_prev && join_next) {
		uint64_t total = prev->len + len + next->len;

		alloc_unlink_free(a, next);
		alloc_run_set(a, prev, prev->off, total);
	} else if (join_prev) {
		alloc_run_set(a, prev, prev->off, prev->len + len);
	} else if (join_next) {
		alloc_run_set(a, next, offset, next->len + len);
	} else {
		r = malloc(sizeof(*r));
		if (!r)
			return -ENOMEM;
		r->off = offset;
		r->len = len;
		alloc_link(a, r);
	}
	a->free_bytes += len;
	return 0;
}

/* alloc_is_free -- is [offset, offset + len) wholly free? */
bool alloc_is_free(const struct alloc *a, uint64_t offset, uint64_t len)
{
	const struct alloc_run *r;

	if (!alloc_range_ok(a, offset, len))
		return false;
	r = alloc_run_at_or_before(a, offset);
	return r && offset + len <= r->off + r->len;
}

/* alloc_free_bytes -- total free bytes */
uint64_t alloc_free_bytes(const struct alloc *a)
{
	return a->free_bytes;
}

/* alloc_largest_free -- length of the longest free run, 0 if none */
uint64_t alloc_largest_free(const struct alloc *a)
{
	const struct alloc_run *r = RB_MAX(alloc_size_tree, alloc_sizes(a));

	return r ? r->len : 0;
}

/* alloc_free_runs -- number of free runs */
uint64_t alloc_free_runs(const struct alloc *a)
{
	return a->free_runs;
}

/* alloc_foreach_free -- call fn on each free run, in address order */
int alloc_foreach_free(const struct alloc *a,
		       int (*fn)(uint64_t offset, uint64_t len, void *arg),
		       void *arg)
{
	struct alloc_run *r;
	int ret;

	RB_FOREACH(r, alloc_off_tree, alloc_offs(a)) {
		ret = fn(r->off, r->len, arg);
		if (ret)
			return ret;
	}
	return 0;
}

/* alloc_check_fail -- describe a broken invariant in why; -EUCLEAN */
static int alloc_check_fail(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int alloc_check_fail(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return -EUCLEAN;
}

/* alloc_check -- verify the allocator's internal consistency */
int alloc_check(const struct alloc *a, char *why, size_t whylen)
{
	uint64_t end = a->base + a->length;
	const struct alloc_run *prev = NULL;
	struct alloc_run *r;
	uint64_t n = 0, bytes = 0;

	if (why && whylen)
		why[0] = '\0';

	/*
	 * Each walk stops once it has seen more runs than the counter says:
	 * a corrupted tree could otherwise loop, and the counter being wrong
	 * is worth reporting in itself.
	 */
	RB_FOREACH(r, alloc_off_tree, alloc_offs(a)) {
		if (n == a->free_runs)
			return alloc_check_fail(why, whylen,
				"by-offset tree holds more than the %" PRIu64 " runs counted",
				a->free_runs);
		if (!r->len)
			return alloc_check_fail(why, whylen,
				"run %" PRIu64 " at 0x%" PRIx64 " is empty",
				n, r->off);
		if ((r->off | r->len) & (a->unit - 1))
			return alloc_check_fail(why, whylen,
				"run %" PRIu64 " [0x%" PRIx64 ", +0x%" PRIx64 ") is not in units of 0x%" PRIx64,
				n, r->off, r->len, a->unit);
		if (r->off < a->base || r->off >= end || r->len > end - r->off)
			return alloc_check_fail(why, whylen,
				"run %" PRIu64 " [0x%" PRIx64 ", +0x%" PRIx64 ") leaves the area [0x%" PRIx64 ", 0x%" PRIx64 ")",
				n, r->off, r->len, a->base, end);
		if (prev && prev->off + prev->len > r->off)
			return alloc_check_fail(why, whylen,
				"run %" PRIu64 " at 0x%" PRIx64 " overlaps or precedes run %" PRIu64 " [0x%" PRIx64 ", 0x%" PRIx64 ")",
				n, r->off, n - 1, prev->off, prev->off + prev->len);
		if (prev && prev->off + prev->len == r->off)
			return alloc_check_fail(why, whylen,
				"run %" PRIu64 " at 0x%" PRIx64 " touches run %" PRIu64 " before it: not coalesced",
				n, r->off, n - 1);
		if (RB_FIND(alloc_size_tree, alloc_sizes(a), r) != r)
			return alloc_check_fail(why, whylen,
				"run %" PRIu64 " [0x%" PRIx64 ", +0x%" PRIx64 ") is missing from the by-size tree",
				n, r->off, r->len);
		bytes += r->len;
		prev = r;
		n++;
	}
	if (n != a->free_runs)
		return alloc_check_fail(why, whylen,
			"by-offset tree holds %" PRIu64 " runs, counter says %" PRIu64,
			n, a->free_runs);
	if (bytes != a->free_bytes)
		return alloc_check_fail(why, whylen,
			"runs hold 0x%" PRIx64 " bytes, counter says 0x%" PRIx64,
			bytes, a->free_bytes);

	/*
	 * Every run of the by-offset tree was found in the by-size tree; if
	 * that tree is in order and holds no more runs, it holds the same.
	 */
	n = 0;
	prev = NULL;
	RB_FOREACH(r, alloc_size_tree, alloc_sizes(a)) {
		if (n == a->free_runs)
			return alloc_check_fail(why, whylen,
				"by-size tree holds more than the %" PRIu64 " runs counted",
				a->free_runs);
		if (prev && alloc_cmp_size(prev, r) >= 0)
			return alloc_check_fail(why, whylen,
				"by-size tree out of order: [0x%" PRIx64 ", +0x%" PRIx64 ") before [0x%" PRIx64 ", +0x%" PRIx64 ")",
				prev->off, prev->len, r->off, r->len);
		prev = r;
		n++;
	}
	if (n != a->free_runs)
		return alloc_check_fail(why, whylen,
			"by-size tree holds %" PRIu64 " runs, by-offset tree %" PRIu64,
			n, a->free_runs);
	return 0;
}
