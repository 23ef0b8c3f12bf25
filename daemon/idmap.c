// SPDX-License-Identifier: Apache-2.0
/*
 * idmap.c -- a map from nonzero 64-bit ids to pointers
 */
#include <errno.h>
#include <stdlib.h>

#include "idmap.h"

#define IDMAP_MIN 64

/* idmap_hash -- Fibonacci hashing: ids are sequential, spread them */
static size_t idmap_hash(const struct idmap *m, uint64_t id)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ULL) >> 17) & m->mask;
}

void idmap_init(struct idmap *m)
{
	m->t = NULL;
	m->mask = 0;
	m->count = 0;
}

void idmap_fini(struct idmap *m)
{
	free(m->t);
	idmap_init(m);
}

/* idmap_insert -- place (id, p) in a table known to have room */
static void idmap_insert(struct idmap *m, uint64_t id, void *p)
{
	size_t i = idmap_hash(m, id);

	while (m->t[i].id)
		i = (i + 1) & m->mask;
	m->t[i].id = id;
	m->t[i].p = p;
}

/* idmap_reserve -- room for n entries without growing */
int idmap_reserve(struct idmap *m, size_t n)
{
	struct idmap_slot *old = m->t;
	size_t size = IDMAP_MIN, oldsize = m->t ? m->mask + 1 : 0, i;

	while (size / 2 < n) {
		if (size > SIZE_MAX / 4 / sizeof(*old))
			return -ENOMEM;
		size *= 2;
	}
	if (size <= oldsize)
		return 0;
	m->t = calloc(size, sizeof(*m->t));
	if (!m->t) {
		m->t = old;
		return -ENOMEM;
	}
	m->mask = size - 1;
	for (i = 0; i < oldsize; i++)
		if (old[i].id)
			idmap_insert(m, old[i].id, old[i].p);
	free(old);
	return 0;
}

/* idmap_put -- map id (nonzero, not present) to p */
int idmap_put(struct idmap *m, uint64_t id, void *p)
{
	int r;

	if (!id)
		return -EINVAL;
	r = idmap_reserve(m, m->count + 1);
	if (r < 0)
		return r;
	idmap_insert(m, id, p);
	m->count++;
	return 0;
}

/* idmap_find -- the slot holding id, or (size_t)-1 */
static size_t idmap_find(const struct idmap *m, uint64_t id)
{
	size_t i;

	if (!m->t || !id)
		return (size_t)-1;
	for (i = idmap_hash(m, id); m->t[i].id; i = (i + 1) & m->mask)
		if (m->t[i].id == id)
			return i;
	return (size_t)-1;
}

void *idmap_get(const struct idmap *m, uint64_t id)
{
	size_t i = idmap_find(m, id);

	return i == (size_t)-1 ? NULL : m->t[i].p;
}

/*
 * idmap_del -- remove id; its pointer, or NULL when absent
 *
 * Backward shift: every entry after the hole that may move closer to its
 * home slot does, so lookups never need tombstones.
 */
void *idmap_del(struct idmap *m, uint64_t id)
{
	size_t i = idmap_find(m, id), j, home;
	void *p;

	if (i == (size_t)-1)
		return NULL;
	p = m->t[i].p;
	for (j = (i + 1) & m->mask; m->t[j].id; j = (j + 1) & m->mask) {
		home = idmap_hash(m, m->t[j].id);
		/* Move j into the hole at i unless its home lies in (i, j]. */
		if (((j - home) & m->mask) >= ((j - i) & m->mask)) {
			m->t[i] = m->t[j];
			i = j;
		}
	}
	m->t[i].id = 0;
	m->t[i].p = NULL;
	m->count--;
	return p;
}
