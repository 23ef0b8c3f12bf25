/* SPDX-License-Identifier: Apache-2.0 */
/*
 * alloc.h -- free-space allocator of a pool's data area, in memory
 *
 * The data area is the byte range [base, base + length) of a namespace,
 * handed out in multiples of a unit (a power of two, at least 4096).  Only
 * numbers are tracked: nothing here touches the namespace.  Free space is
 * kept as maximal runs, coalesced on every release, indexed both by offset
 * and by (length, offset) so that placement is best fit, address-ordered, in
 * O(log n).
 *
 * Offsets are absolute (relative to 0, not to base) so that an alignment
 * requested by a client, such as 1 GiB for huge pages, is an alignment of
 * the device offset that will be mapped.
 *
 * Every function that changes the state either succeeds completely or
 * returns a negative errno with nothing changed, -ENOMEM included.  Nothing
 * here locks: the daemon's single thread is the only caller.
 */
#ifndef DAXALLOCD_ALLOC_H
#define DAXALLOCD_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Smallest unit the allocator accepts, in bytes. */
#define ALLOC_UNIT_MIN 4096u

struct alloc;

/*
 * alloc_new -- an allocator for [base, base + length) in units of unit
 *
 * unit must be a power of two of at least ALLOC_UNIT_MIN; base and length
 * multiples of it, length non-zero, and the range must not wrap.  With
 * all_free the whole range starts free; without it, it starts used and the
 * caller releases the gaps between the extents it knows of (recovery).
 * Returns 0 and *out, -EINVAL or -ENOMEM.
 */
int alloc_new(uint64_t base, uint64_t length, uint64_t unit, bool all_free,
	      struct alloc **out);

/* alloc_destroy -- free the allocator and all its runs; NULL is a no-op */
void alloc_destroy(struct alloc *a);

/*
 * alloc_reserve -- place an extent of len bytes, best fit, address-ordered
 *
 * Among the free runs that can hold len bytes at an offset that is a
 * multiple of align, the shortest is chosen, then the lowest; the extent
 * starts at the lowest aligned offset in it and what is left on either side
 * stays free.  align 0 means the unit; otherwise it is a power of two of at
 * least the unit.  Returns 0 and *offset, -EINVAL (len zero or not a unit
 * multiple, bad align), -ENOSPC, or -ENOMEM (the run had to be split).
 */
int alloc_reserve(struct alloc *a, uint64_t len, uint64_t align,
		  uint64_t *offset);

/*
 * alloc_claim -- mark exactly [offset, offset + len) used
 *
 * For growing an extent in place and for recovery.  The range must lie
 * wholly inside one free run.  Returns 0, -EINVAL (not unit multiples, len
 * zero, or not inside the area), -EBUSY (some byte of it is used), or
 * -ENOMEM (the run had to be split).
 */
int alloc_claim(struct alloc *a, uint64_t offset, uint64_t len);

/*
 * alloc_release -- return the used range [offset, offset + len) to free space
 *
 * Coalesces with free neighbours.  Returns 0, -EINVAL (not unit multiples,
 * len zero, not inside the area, or some byte of it already free), or
 * -ENOMEM (it touches no free run and needed a new one).
 */
int alloc_release(struct alloc *a, uint64_t offset, uint64_t len);

/*
 * alloc_is_free -- is [offset, offset + len) wholly free?
 *
 * False too for a range the other calls would reject with -EINVAL.
 */
bool alloc_is_free(const struct alloc *a, uint64_t offset, uint64_t len);

/* alloc_free_bytes -- total free bytes; O(1) */
uint64_t alloc_free_bytes(const struct alloc *a);

/* alloc_largest_free -- length of the longest free run, 0 if none; O(log n) */
uint64_t alloc_largest_free(const struct alloc *a);

/* alloc_free_runs -- number of free runs; O(1) */
uint64_t alloc_free_runs(const struct alloc *a);

/*
 * alloc_foreach_free -- call fn on each free run, in address order
 *
 * Stops at, and returns, the first non-zero value fn returns; 0 otherwise.
 * fn must not change the allocator.
 */
int alloc_foreach_free(const struct alloc *a,
		       int (*fn)(uint64_t offset, uint64_t len, void *arg),
		       void *arg);

/*
 * alloc_check -- verify the allocator's internal consistency
 *
 * Both indexes hold the same runs; runs are sorted, non-empty, unit
 * multiples, inside the area, and never overlap or touch; the free byte and
 * run counters match them.  Returns 0, or -EUCLEAN with the first problem
 * found described in why (if why is not NULL and whylen not 0).  O(n log n).
 */
int alloc_check(const struct alloc *a, char *why, size_t whylen);

#endif /* DAXALLOCD_ALLOC_H */
