// SPDX-License-Identifier: Apache-2.0
/*
 * pintab.c -- the pins a connection holds, by pin id
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pintab.h"

/* The table grows before it is more than this full (percent). */
#define PINTAB_LOAD 70
#define PINTAB_MIN 64

/* pintab_home -- the slot an id hashes to (Fibonacci hashing) */
static size_t pintab_home(const struct pintab *t, uint64_t id)
{
	/* Ids are mostly consecutive: the multiply spreads them out. */
	return (size_t)((id * 0x9e3779b97f4a7c15ull) >> 32) & (t->cap - 1);
}

/* pintab_insert -- place an entry known to be absent; room guaranteed */
static void pintab_insert(struct pintab *t, const struct pintab_entry *e)
{
	size_t i = pintab_home(t, e->id);

	while (t->slots[i].extent_id)
		i = (i + 1) & (t->cap - 1);
	t->slots[i] = *e;
	t->count++;
}

/*
 * pintab_reserve -- make room for more entries without growing
 *
 * Returns 0 or -ENOMEM (the table is unchanged).  After it, up to more
 * pintab_put() calls cannot fail.
 */
int pintab_reserve(struct pintab *t, size_t more)
{
	struct pintab old = *t;
	size_t need = t->count + more, cap, i;

	if (need < t->count)
		return -ENOMEM;
	cap = t->cap ? t->cap : PINTAB_MIN;
	while (need > cap / 100 * PINTAB_LOAD) {
		if (cap > SIZE_MAX / 2 / sizeof(*t->slots))
			return -ENOMEM;
		cap *= 2;
	}
	if (cap == t->cap)
		return 0;
	t->slots = calloc(cap, sizeof(*t->slots));
	if (!t->slots) {
		*t = old;
		return -ENOMEM;
	}
	t->cap = cap;
	t->count = 0;
	for (i = 0; i < old.cap; i++)
		if (old.slots[i].extent_id)
			pintab_insert(t, &old.slots[i]);
	free(old.slots);
	return 0;
}

/*
 * pintab_put -- add a pin, or replace the one with its id
 *
 * extent_id must not be 0.  Room must have been reserved.
 */
void pintab_put(struct pintab *t, uint64_t id, uint64_t extent_id,
		uint64_t offset, uint64_t length)
{
	struct pintab_entry e = {
		.id = id,
		.extent_id = extent_id,
		.offset = offset,
		.length = length,
	};
	struct pintab_entry *old = pintab_get(t, id);

	if (old) {
		*old = e;
		return;
	}
	pintab_insert(t, &e);
}

/* pintab_get -- the entry of pin id, or NULL */
struct pintab_entry *pintab_get(const struct pintab *t, uint64_t id)
{
	size_t i;

	if (!t->count)
		return NULL;
	for (i = pintab_home(t, id); t->slots[i].extent_id;
	     i = (i + 1) & (t->cap - 1))
		if (t->slots[i].id == id)
			return &t->slots[i];
	return NULL;
}

/*
 * pintab_remove -- delete entry e (from pintab_get())
 *
 * Backward shift: every later entry of the same probe run whose home lies
 * at or before the hole moves into it, so lookups never need tombstones.
 * Pointers to other entries are invalid afterwards.
 */
void pintab_remove(struct pintab *t, struct pintab_entry *e)
{
	size_t mask = t->cap - 1, hole = (size_t)(e - t->slots), i, home;

	i = hole;
	for (;;) {
		i = (i + 1) & mask;
		if (!t->slots[i].extent_id)
			break;
		home = pintab_home(t, t->slots[i].id);
		/* Does home lie cyclically outside (hole, i]?  Then move. */
		if (((i - home) & mask) >= ((i - hole) & mask)) {
			t->slots[hole] = t->slots[i];
			hole = i;
		}
	}
	memset(&t->slots[hole], 0, sizeof(t->slots[hole]));
	t->count--;
}

/* pintab_fini -- free the table */
void pintab_fini(struct pintab *t)
{
	free(t->slots);
	memset(t, 0, sizeof(*t));
}
