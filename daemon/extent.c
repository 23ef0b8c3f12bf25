// SPDX-License-Identifier: Apache-2.0
/*
 * extent.c -- the pool's extents in memory, indexed by id
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "extent.h"

/* extent_name_cmp -- order of the name tree */
static int extent_name_cmp(const struct extent *a, const struct extent *b)
{
	return strcmp(a->rec.name, b->rec.name);
}

/* As in alloc.c: libbsd's cdefs leave __unused to us, for these only. */
#ifndef __unused
#define __unused __attribute__((__unused__))
#define EXTENT_DEFINED_UNUSED
#endif
RB_GENERATE_STATIC(extent_names, extent, name_entry, extent_name_cmp)
#ifdef EXTENT_DEFINED_UNUSED
#undef __unused
#undef EXTENT_DEFINED_UNUSED
#endif

/*
 * The id table: open addressing, linear probing, keys hashed by Fibonacci
 * multiplication (ids are consecutive integers, and the product's high bits
 * spread them evenly).  A hand-made table rather than uthash: recovery
 * loads a million extents and must take well under a second, and uthash's
 * chained buckets (a pointer chase per probe, a full rehash per doubling
 * with no way to size it up front) cost a third of start-up in
 * bench_pool's profile.  Deletion shifts entries back, so there are no
 * tombstones.
 */
#define EXTENT_TABLE_MIN 1024

/* extent_slot_of -- the home position of id in a table of 2^bits */
static inline size_t extent_slot_of(uint64_t id, unsigned int bits)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ULL) >> (64 - bits));
}

/* extent_table_put -- place e, known absent, in a table with room */
static void extent_table_put(struct extent_slot *t, unsigned int bits,
			     struct extent *e)
{
	size_t mask = ((size_t)1 << bits) - 1;
	size_t i = extent_slot_of(e->rec.id, bits);

	while (t[i].e)
		i = (i + 1) & mask;
	t[i].id = e->rec.id;
	t[i].e = e;
}

/*
 * extent_table_size -- make room for want entries at a load of at most 1/2
 *
 * Returns 0 or -ENOMEM with the old table intact.
 */
static int extent_table_size(struct extent_index *x, size_t want)
{
	unsigned int bits = x->bits ? x->bits : 10;
	struct extent_slot *t;
	size_t i, cap;

	while (((size_t)1 << bits) < 2 * want || ((size_t)1 << bits) < EXTENT_TABLE_MIN)
		bits++;
	if (bits == x->bits)
		return 0;
	cap = (size_t)1 << bits;
	t = calloc(cap, sizeof(*t));
	if (!t)
		return -ENOMEM;
	if (x->table)
		for (i = 0; i < ((size_t)1 << x->bits); i++)
			if (x->table[i].e)
				extent_table_put(t, bits, x->table[i].e);
	free(x->table);
	x->table = t;
	x->bits = bits;
	return 0;
}

/* extent_table_del -- remove id, shifting later entries of its run back */
static void extent_table_del(struct extent_index *x, uint64_t id)
{
	size_t mask = ((size_t)1 << x->bits) - 1;
	size_t i = extent_slot_of(id, x->bits), j, home;

	while (x->table[i].e && x->table[i].id != id)
		i = (i + 1) & mask;
	if (!x->table[i].e)
		return;
	/* Knuth's algorithm R: keep every entry reachable from its home. */
	for (j = i;;) {
		x->table[i].e = NULL;
		for (;;) {
			j = (j + 1) & mask;
			if (!x->table[j].e)
				return;
			home = extent_slot_of(x->table[j].id, x->bits);
			/* Move j to i unless its home lies cyclically in (i, j]. */
			if (i <= j ? (home <= i || home > j) : (home <= i && home > j))
				break;
		}
		x->table[i] = x->table[j];
		i = j;
	}
}

/* extent_index_init -- an empty index */
void extent_index_init(struct extent_index *x)
{
	memset(x, 0, sizeof(*x));
	RB_INIT(&x->names);
}

/* extent_index_free -- free every extent and the index itself */
void extent_index_free(struct extent_index *x)
{
	size_t i;

	for (i = 0; i < x->len; i++)
		free(x->vec[i]);
	free(x->vec);
	free(x->table);
	extent_index_init(x);
}

/* extent_index_reserve -- room to index n more, so adding cannot fail */
int extent_index_reserve(struct extent_index *x, size_t n)
{
	struct extent **v;
	size_t cap;
	int r;

	r = extent_table_size(x, x->count + n);
	if (r < 0)
		return r;
	if (x->len + n <= x->cap)
		return 0;
	cap = x->cap ? x->cap : 1024;
	while (cap < x->len + n)
		cap *= 2;
	v = realloc(x->vec, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	x->vec = v;
	x->cap = cap;
	return 0;
}

/*
 * extent_index_add -- index e at the end of the id order
 *
 * Returns -EEXIST for an id or a name already present, -ENOMEM.  Callers that add in
 * id order (allocation) keep the vector sorted; recovery adds in slot order
 * through extent_index_load() and calls extent_index_sort() once at the end.
 */
int extent_index_add(struct extent_index *x, struct extent *e)
{
	if (extent_find(x, e->rec.id))
		return -EEXIST;
	if (e->rec.name[0] && extent_find_name(x, e->rec.name))
		return -EEXIST;
	return extent_index_load(x, e);
}

/*
 * extent_index_load -- index e without looking for its id first
 *
 * For recovery, which loads every record once (after one
 * extent_index_reserve() for all of them): duplicate ids are found by
 * extent_index_sort() instead; a duplicate name gives -EEXIST here.
 */
int extent_index_load(struct extent_index *x, struct extent *e)
{
	int r;

	r = extent_index_reserve(x, 1);
	if (r < 0)
		return r;
	/* A name taken twice on the device is corruption, found here. */
	if (e->rec.name[0] && RB_INSERT(extent_names, &x->names, e))
		return -EEXIST;
	extent_table_put(x->table, x->bits, e);
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
	if (e->rec.name[0])
		RB_REMOVE(extent_names, &x->names, e);
	extent_table_del(x, e->rec.id);
	x->vec[e->vidx] = NULL;
	x->holes++;
	x->count--;
	/* Amortised O(1): each compaction pays for as many deletes. */
	if (x->holes > 64 && x->holes * 2 > x->len)
		extent_index_compact(x);
}

/* Which 64-bit field of the record a sort orders by. */
enum extent_key { EXTENT_BY_ID, EXTENT_BY_OFFSET };

/* extent_key_of -- the sort key of e */
static inline uint64_t extent_key_of(const struct extent *e, enum extent_key k)
{
	return k == EXTENT_BY_ID ? e->rec.id : e->rec.offset;
}

/* A sort item: the key next to its extent, so passes never chase pointers. */
struct extent_sort_item {
	uint64_t key;
	struct extent *e;
};

/*
 * extent_sort -- sort pointers by a 64-bit key, LSD radix, 8 bits a pass
 *
 * Recovery sorts a million extents twice (by id, by offset).  The keys are
 * gathered once into a contiguous array of (key, pointer) pairs, which the
 * passes then stream through; passes whose byte is the same for every key
 * are skipped, so small keys cost few passes.  Stable.
 */
static int extent_sort(struct extent **arr, size_t n, enum extent_key k)
{
	struct extent_sort_item *a, *b, *src, *dst;
	unsigned int pass, d;
	size_t i, count[256];

	if (n < 2)
		return 0;
	a = malloc(2 * n * sizeof(*a));
	if (!a)
		return -ENOMEM;
	b = a + n;
	for (i = 0; i < n; i++) {
		a[i].key = extent_key_of(arr[i], k);
		a[i].e = arr[i];
	}
	src = a;
	dst = b;
	for (pass = 0; pass < 8; pass++) {
		unsigned int shift = pass * 8;
		size_t sum = 0;

		memset(count, 0, sizeof(count));
		for (i = 0; i < n; i++)
			count[(src[i].key >> shift) & 0xff]++;
		if (count[(src[0].key >> shift) & 0xff] == n)
			continue; /* every key has the same byte here */
		for (d = 0; d < 256; d++) {
			size_t c = count[d];

			count[d] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			dst[count[(src[i].key >> shift) & 0xff]++] = src[i];
		src = dst;
		dst = src == a ? b : a;
	}
	for (i = 0; i < n; i++)
		arr[i] = src[i].e;
	free(a);
	return 0;
}

/* extent_index_init -- an empty index */
/*
 * extent_index_sort -- restore id order after loading out of order
 *
 * Returns 0, -ENOMEM, or -EEXIST with *dup set when two extents share an
 * id.
 */
int extent_index_sort(struct extent_index *x, uint64_t *dup)
{
	size_t i;
	int r;

	extent_index_compact(x);
	r = extent_sort(x->vec, x->len, EXTENT_BY_ID);
	if (r < 0)
		return r;
	for (i = 0; i < x->len; i++) {
		x->vec[i]->vidx = i;
		if (i && x->vec[i]->rec.id == x->vec[i - 1]->rec.id) {
			*dup = x->vec[i]->rec.id;
			return -EEXIST;
		}
	}
	return 0;
}

/* extent_find -- the extent with this id, or NULL */
struct extent *extent_find(const struct extent_index *x, uint64_t id)
{
	size_t mask, i;

	if (!x->table)
		return NULL;
	mask = ((size_t)1 << x->bits) - 1;
	for (i = extent_slot_of(id, x->bits); x->table[i].e; i = (i + 1) & mask)
		if (x->table[i].id == id)
			return x->table[i].e;
	return NULL;
}

/* extent_find_name -- the named extent called name, or NULL */
struct extent *extent_find_name(const struct extent_index *x, const char *name)
{
	struct extent key;

	if (strlen(name) > FMT_NAME_MAX)
		return NULL;
	strcpy(key.rec.name, name);
	return RB_FIND(extent_names, (struct extent_names *)&x->names, &key);
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
	if (extent_sort(arr, n, EXTENT_BY_OFFSET) < 0) {
		free(arr);
		return -ENOMEM;
	}
	*out = arr;
	return (int)n;
}
