// SPDX-License-Identifier: Apache-2.0
/*
 * extent.c -- the pool's extents in memory, indexed by id
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

/*
 * uthash must not exit the daemon when it cannot grow its buckets: with
 * HASH_NONFATAL_OOM a failed expansion is skipped (the table just stays
 * denser) and only a failed first allocation drops the add, which
 * extent_index_add() detects.
 */
#define HASH_NONFATAL_OOM 1
#include "extent.h"

/* extent_index_init -- an empty index */
void extent_index_init(struct extent_index *x)
{
	x->hash = NULL;
	x->vec = NULL;
	x->len = x->cap = x->holes = 0;
	x->count = 0;
}

/* extent_index_free -- free every extent and the index itself */
void extent_index_free(struct extent_index *x)
{
	size_t i;

	HASH_CLEAR(hh, x->hash);
	for (i = 0; i < x->len; i++)
		free(x->vec[i]);
	free(x->vec);
	extent_index_init(x);
}

/* extent_index_reserve -- room to append one more, so add cannot fail there */
int extent_index_reserve(struct extent_index *x)
{
	struct extent **n;
	size_t cap;

	if (x->len < x->cap)
		return 0;
	cap = x->cap ? x->cap * 2 : 1024;
	n = realloc(x->vec, cap * sizeof(*n));
	if (!n)
		return -ENOMEM;
	x->vec = n;
	x->cap = cap;
	return 0;
}

/*
 * extent_index_add -- index e at the end of the id order
 *
 * Returns -EEXIST for an id already present, -ENOMEM.  Callers that add in
 * id order (allocation) keep the vector sorted; recovery adds in slot order
 * and calls extent_index_sort() once at the end.
 */
int extent_index_add(struct extent_index *x, struct extent *e)
{
	struct extent *found;
	int r;

	HASH_FIND(hh, x->hash, &e->rec.id, sizeof(e->rec.id), found);
	if (found)
		return -EEXIST;
	r = extent_index_reserve(x);
	if (r < 0)
		return r;
	HASH_ADD(hh, x->hash, rec.id, sizeof(e->rec.id), e);
	HASH_FIND(hh, x->hash, &e->rec.id, sizeof(e->rec.id), found);
	if (found != e)
		return -ENOMEM; /* the table's first allocation failed */
	e->vidx = x->len;
	x->vec[x->len++] = e;
	x->count++;
	return 0;
}

/* extent_index_compact -- squeeze the holes out of the vector */
static void extent_index_compact(struct extent_index *x)
{
	size_t i, j = 0;

	for (i = 0; i < x->len; i++) {
		if (!x->vec[i])
			continue;
		x->vec[i]->vidx = j;
		x->vec[j++] = x->vec[i];
	}
	x->len = j;
	x->holes = 0;
}

/* extent_index_del -- forget e (the caller frees it) */
void extent_index_del(struct extent_index *x, struct extent *e)
{
	HASH_DELETE(hh, x->hash, e);
	x->vec[e->vidx] = NULL;
	x->holes++;
	x->count--;
	/* Amortised O(1): each compaction pays for as many deletes. */
	if (x->holes > 64 && x->holes * 2 > x->len)
		extent_index_compact(x);
}

/* extent_cmp_id -- qsort order of the vector */
static int extent_cmp_id(const void *a, const void *b)
{
	const struct extent *x = *(struct extent *const *)a;
	const struct extent *y = *(struct extent *const *)b;

	return (x->rec.id > y->rec.id) - (x->rec.id < y->rec.id);
}

/* extent_index_sort -- restore id order after adding out of order */
void extent_index_sort(struct extent_index *x)
{
	size_t i;

	extent_index_compact(x);
	qsort(x->vec, x->len, sizeof(*x->vec), extent_cmp_id);
	for (i = 0; i < x->len; i++)
		x->vec[i]->vidx = i;
}

/* extent_find -- the extent with this id, or NULL */
struct extent *extent_find(const struct extent_index *x, uint64_t id)
{
	struct extent *e;

	HASH_FIND(hh, x->hash, &id, sizeof(id), e);
	return e;
}

/* extent_first_from -- the first non-hole at or after vector position i */
static struct extent *extent_first_from(const struct extent_index *x, size_t i)
{
	for (; i < x->len; i++)
		if (x->vec[i])
			return x->vec[i];
	return NULL;
}

/*
 * extent_find_from -- the extent with the lowest id >= id, or NULL
 *
 * Binary search over the vector; a hole compares by its nearest live
 * neighbour to the right, found by a short scan.
 */
struct extent *extent_find_from(const struct extent_index *x, uint64_t id)
{
	size_t lo = 0, hi = x->len;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct extent *e = extent_first_from(x, mid);

		if (!e || e->rec.id >= id)
			hi = mid;
		else
			lo = e->vidx + 1;
	}
	return extent_first_from(x, lo);
}

/* extent_next -- the extent after e in id order, or NULL */
struct extent *extent_next(const struct extent_index *x, const struct extent *e)
{
	return extent_first_from(x, e->vidx + 1);
}

/* extent_cmp_offset -- qsort order of an offset snapshot */
static int extent_cmp_offset(const void *a, const void *b)
{
	const struct extent *x = *(struct extent *const *)a;
	const struct extent *y = *(struct extent *const *)b;

	return (x->rec.offset > y->rec.offset) - (x->rec.offset < y->rec.offset);
}

/*
 * extent_by_offset -- a new array of every extent, sorted by offset
 *
 * Returns the count (the array has one more NULL slot at the end), or
 * -ENOMEM.  The caller frees the array, not the extents.
 */
int extent_by_offset(const struct extent_index *x, struct extent ***out)
{
	struct extent **arr = malloc((x->count + 1) * sizeof(*arr));
	size_t i, n = 0;

	if (!arr)
		return -ENOMEM;
	for (i = 0; i < x->len; i++)
		if (x->vec[i])
			arr[n++] = x->vec[i];
	arr[n] = NULL;
	qsort(arr, n, sizeof(*arr), extent_cmp_offset);
	*out = arr;
	return (int)n;
}
