// SPDX-License-Identifier: Apache-2.0
/*
 * pool.c -- a pool: the device, its metadata, its extents and free space
 *
 * Memory is the working copy; the metadata on the device is the durable
 * one.  An operation checks everything that can fail first, then changes
 * memory and stages its records in the journal, so it never has to be
 * undone halfway.  Start-up rebuilds memory from the records in one pass
 * over the used part of the extent table (linear in metadata, not in the
 * device size) and verifies every invariant before serving.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "device.h"
#include "log.h"
#include "meta.h"
#include "pool.h"
#include "quarantine.h"

/* pool_unit -- the allocation unit */
uint64_t pool_unit(const struct pool *p)
{
	return p->meta->sb.unit;
}

/* pool_seal -- compute a record's checksum */
static void pool_seal(struct fmt_extent *rec)
{
	rec->checksum = meta_crc(rec, offsetof(struct fmt_extent, checksum));
}

/* pool_stage_extent -- stage slot's new content (the record, or zeroes) */
static int pool_stage_extent(struct pool *p, uint64_t slot,
			     const struct fmt_extent *rec)
{
	static const struct fmt_extent zero;

	return meta_stage(p->meta, meta_extent_off(p->meta, slot),
			  rec ? rec : &zero, sizeof(zero));
}

/* pool_find -- the extent with this id, or NULL */
struct extent *pool_find(struct pool *p, uint64_t id)
{
	return extent_find(&p->index, id);
}

/* pool_find_name -- the named extent called name, or NULL */
struct extent *pool_find_name(struct pool *p, const char *name)
{
	return extent_find_name(&p->index, name);
}

/* pool_find_from -- the extent with the lowest id >= id, or NULL */
struct extent *pool_find_from(struct pool *p, uint64_t id)
{
	return extent_find_from(&p->index, id);
}

/* pool_next_id -- the extent after e in id order, or NULL */
struct extent *pool_next_id(struct pool *p, struct extent *e)
{
	return extent_next(&p->index, e);
}

/* pool_slot_get -- an unused extent slot, the lowest recently freed first */
static int pool_slot_get(struct pool *p, uint64_t *slot)
{
	if (p->nfree_slots) {
		*slot = p->free_slots[--p->nfree_slots];
		return 0;
	}
	if (p->meta->state.extent_hwm >= p->meta->sb.extent_slots)
		return -ENOSPC;
	*slot = p->meta->state.extent_hwm++;
	p->meta->state_dirty = true;
	return 0;
}

/* pool_slot_put -- remember an unused slot below the high-water mark */
static void pool_slot_put(struct pool *p, uint64_t slot)
{
	/* The stack has room for every slot: sized at open. */
	p->free_slots[p->nfree_slots++] = slot;
}

/*
 * pool_free_range -- return a range to free space, minus any bad units in it
 *
 * An extent may hold units that went bad after it was allocated; they
 * leave it as bad, never as free.
 */
static int pool_free_range(struct pool *p, uint64_t off, uint64_t len)
{
	uint64_t end = off + len;
	unsigned int i;
	int r;

	for (i = 0; i < p->nbad && off < end; i++) {
		const struct pool_bad *b = &p->bad[i];

		if (b->offset + b->length <= off || b->offset >= end)
			continue;
		if (b->offset > off) {
			r = alloc_release(p->alloc, off, b->offset - off);
			if (r < 0)
				return r;
		}
		off = b->offset + b->length;
	}
	return off < end ? alloc_release(p->alloc, off, end - off) : 0;
}

/* pool_is_pow2 -- a power of two? */
static bool pool_is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/*
 * pool_alloc -- a new extent of at least size bytes
 *
 * size is rounded up to the unit; align (0: the unit) must be a power of
 * two.  Returns -EINVAL, -ENOSPC (no contiguous run, or the extent table is
 * full), -ENAMETOOLONG or -ENOMEM.
 */
int pool_alloc(struct pool *p, uint64_t size, uint64_t align,
	       const struct pool_attr *attr, struct extent **out)
{
	uint64_t unit = pool_unit(p), len, offset, slot = 0;
	size_t name_len = attr->name ? strlen(attr->name) : 0;
	struct extent *e;
	int r;

	if (size == 0 || size > p->meta->sb.data_size)
		return size ? -ENOSPC : -EINVAL;
	if (align && (!pool_is_pow2(align) || align > p->meta->sb.data_size))
		return -EINVAL;
	if (name_len > FMT_NAME_MAX)
		return -ENAMETOOLONG;
	if (name_len && extent_find_name(&p->index, attr->name))
		return -EEXIST;
	len = (size + unit - 1) / unit * unit;
	if (align < unit)
		align = unit;
	/* Everything that can fail comes before the first change. */
	if (!p->nfree_slots &&
	    p->meta->state.extent_hwm >= p->meta->sb.extent_slots)
		return -ENOSPC;
	r = meta_begin(p->meta, sizeof(struct fmt_extent));
	if (r < 0)
		return r;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	/* Ids only grow, so the new extent goes at the end of the id order. */
	e->rec.id = p->meta->state.next_extent_id;
	e->rec.name_len = (uint32_t)name_len;
	if (name_len)
		memcpy(e->rec.name, attr->name, name_len);
	r = extent_index_add(&p->index, e);
	if (r < 0) {
		free(e);
		return r;
	}
	r = alloc_reserve(p->alloc, len, align, &offset);
	if (r < 0) {
		extent_index_del(&p->index, e);
		free(e);
		return r;
	}
	pool_slot_get(p, &slot); /* cannot fail: checked above */

	e->slot = slot;
	p->meta->state.next_extent_id++;
	p->meta->state_dirty = true;
	e->rec.offset = offset;
	e->rec.length = len;
	e->rec.uid = (uint32_t)attr->uid;
	e->rec.gid = (uint32_t)attr->gid;
	e->rec.mode = attr->mode;
	e->rec.flags = attr->flags;
	e->rec.owner_pid = (uint32_t)attr->owner_pid;
	e->rec.owner_start = attr->owner_start;
	memcpy(e->rec.owner_boot, attr->owner_boot, sizeof(e->rec.owner_boot));
	pool_seal(&e->rec);
	/* Cannot fail: meta_begin() made room. */
	pool_stage_extent(p, slot, &e->rec);

	p->used_bytes += len;
	*out = e;
	return 0;
}

/*
 * pool_delete -- free an extent at once
 *
 * Space goes straight back to free space here; the quarantine rule sits in
 * front of this call once leases and pins exist.
 */
int pool_delete(struct pool *p, uint64_t id)
{
	struct extent *e = pool_find(p, id);
	int r;

	if (!e)
		return -ENOENT;
	r = meta_begin(p->meta, sizeof(struct fmt_extent));
	if (r < 0)
		return r;
	r = pool_free_range(p, e->rec.offset, e->rec.length);
	if (r < 0)
		return r;
	pool_stage_extent(p, e->slot, NULL);
	extent_index_del(&p->index, e);
	pool_slot_put(p, e->slot);
	p->used_bytes -= e->rec.length;
	free(e);
	return 0;
}

/*
 * pool_truncate -- shrink an extent (freeing the tail) or grow it in place
 *
 * Growing needs the units right after the extent to be free: -ENOSPC
 * otherwise; an extent never moves.
 */
int pool_truncate(struct pool *p, uint64_t id, uint64_t size)
{
	struct extent *e = pool_find(p, id);
	uint64_t unit = pool_unit(p), len;
	int r;

	if (!e)
		return -ENOENT;
	if (size == 0)
		return -EINVAL;
	/* Larger than the data area: no room, and no overflow below. */
	if (size > p->meta->sb.data_size)
		return -ENOSPC;
	len = (size + unit - 1) / unit * unit;
	if (len == e->rec.length)
		return 0;
	r = meta_begin(p->meta, sizeof(struct fmt_extent));
	if (r < 0)
		return r;
	if (len < e->rec.length)
		r = pool_free_range(p, e->rec.offset + len, e->rec.length - len);
	else if (e->rec.offset + len < e->rec.offset ||
		 e->rec.offset + len > p->meta->sb.data_offset +
					       p->meta->sb.data_size)
		r = -ENOSPC;
	else
		r = alloc_claim(p->alloc, e->rec.offset + e->rec.length,
				len - e->rec.length);
	if (r == -EBUSY)
		r = -ENOSPC;
	if (r < 0)
		return r;
	p->used_bytes = p->used_bytes - e->rec.length + len;
	e->rec.length = len;
	pool_seal(&e->rec);
	pool_stage_extent(p, e->slot, &e->rec);
	return 0;
}

/*
 * pool_delete_held -- end an extent, its range going to the quarantine
 *
 * For an extent that a pin or another process's lease may still reach:
 * the range leaves the extent and enters the quarantine in one
 * transaction, and stays out of free space until pool_unquarantine().
 */
int pool_delete_held(struct pool *p, uint64_t id, struct qrange **out)
{
	struct extent *e = pool_find(p, id);
	int r;

	if (!e)
		return -ENOENT;
	r = meta_begin(p->meta, sizeof(struct fmt_extent) +
					sizeof(struct fmt_jentry) +
					sizeof(struct fmt_range));
	if (r < 0)
		return r;
	r = quarantine_add(&p->quarantine, p->meta, e->rec.offset,
			   e->rec.length, e->rec.id, out);
	if (r < 0)
		return r;
	pool_stage_extent(p, e->slot, NULL);
	extent_index_del(&p->index, e);
	pool_slot_put(p, e->slot);
	p->used_bytes -= e->rec.length;
	free(e);
	return 0;
}

/*
 * pool_truncate_held -- shrink an extent, its tail going to the quarantine
 *
 * Only shrinking: growing takes nothing away from anyone.  -EINVAL when
 * size does not shrink the extent.
 */
int pool_truncate_held(struct pool *p, uint64_t id, uint64_t size,
		       struct qrange **out)
{
	struct extent *e = pool_find(p, id);
	uint64_t unit = pool_unit(p), len;
	int r;

	if (!e)
		return -ENOENT;
	if (size == 0 || size >= e->rec.length)
		return -EINVAL;
	len = (size + unit - 1) / unit * unit;
	if (len == e->rec.length)
		return -EINVAL;
	r = meta_begin(p->meta, sizeof(struct fmt_extent) +
					sizeof(struct fmt_jentry) +
					sizeof(struct fmt_range));
	if (r < 0)
		return r;
	r = quarantine_add(&p->quarantine, p->meta, e->rec.offset + len,
			   e->rec.length - len, e->rec.id, out);
	if (r < 0)
		return r;
	p->used_bytes -= e->rec.length - len;
	e->rec.length = len;
	pool_seal(&e->rec);
	pool_stage_extent(p, e->slot, &e->rec);
	return 0;
}

/*
 * pool_unquarantine -- nothing can reach r any more: make it free space
 *
 * Bad units inside it stay out of free space.
 */
int pool_unquarantine(struct pool *p, struct qrange *r)
{
	uint64_t off = r->rec.offset, len = r->rec.length;
	int ret;

	ret = meta_begin(p->meta, sizeof(struct fmt_range));
	if (ret < 0)
		return ret;
	ret = pool_free_range(p, off, len);
	if (ret < 0)
		return ret;
	quarantine_remove(&p->quarantine, p->meta, r);
	return 0;
}

/* pool_commit -- make every staged change durable */
int pool_commit(struct pool *p)
{
	return meta_commit(p->meta);
}

/* pool_get_stats -- figures for status and tests */
void pool_get_stats(const struct pool *p, struct pool_stats *st)
{
	const struct fmt_superblock *sb = &p->meta->sb;

	st->device_size = p->dev->size;
	st->unit = sb->unit;
	st->data_offset = sb->data_offset;
	st->data_size = sb->data_size;
	st->free_bytes = alloc_free_bytes(p->alloc);
	st->largest_free = alloc_largest_free(p->alloc);
	st->free_runs = alloc_free_runs(p->alloc);
	st->used_bytes = p->used_bytes;
	st->bad_bytes = p->bad_bytes;
	st->extents = p->index.count;
	st->quarantined_bytes = p->quarantine.bytes;
	st->quarantined_ranges = p->quarantine.count;
	st->extent_slots = sb->extent_slots;
	st->next_extent_id = p->meta->state.next_extent_id;
	memcpy(st->uuid, sb->uuid, sizeof(st->uuid));
	st->last_shutdown_clean = p->meta->was_clean;
	st->usc_supported = p->dev->usc_supported;
	st->usc = p->dev->usc_supported ? p->dev->usc : 0;
	st->usc_changed = p->meta->usc_changed;
}

/*
 * pool_finding -- report one finding through fn, printf-style
 *
 * Shared by every check of the daemon (pool, space, hold).
 */
void pool_finding(pool_finding_fn fn, void *arg, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (fn)
		fn(arg, buf);
}

/* pool_bad_covers -- is [a, b) wholly inside bad ranges? */
static bool pool_bad_covers(const struct pool *p, uint64_t a, uint64_t b)
{
	unsigned int i;

	for (i = 0; i < p->nbad && a < b; i++) {
		const struct pool_bad *r = &p->bad[i];

		if (r->offset > a)
			return false;
		if (r->offset + r->length > a)
			a = r->offset + r->length;
	}
	return a >= b;
}

/* One step of the sweep over the data area: the next covered range. */
struct pool_sweep {
	struct pool *p;
	pool_finding_fn fn;
	void *arg;
	uint64_t pos; /* everything below is accounted for */
	unsigned long findings;
};

/* pool_sweep_take -- account [off, off + len) as `what`; must come next */
static void pool_sweep_take(struct pool_sweep *s, uint64_t off, uint64_t len,
			    const char *what)
{
	if (off > s->pos && !pool_bad_covers(s->p, s->pos, off)) {
		pool_finding(s->fn, s->arg,
			     "bytes %#llx..%#llx are in no set (not free, not an extent, not bad)",
			     (unsigned long long)s->pos,
			     (unsigned long long)off);
		s->findings++;
	} else if (off < s->pos) {
		pool_finding(s->fn, s->arg,
			     "%s at %#llx+%#llx overlaps what precedes it (up to %#llx)",
			     what, (unsigned long long)off,
			     (unsigned long long)len,
			     (unsigned long long)s->pos);
		s->findings++;
	}
	if (off + len > s->pos)
		s->pos = off + len;
}

/* Free runs collected for the sweep, in address order. */
struct pool_runs {
	uint64_t (*r)[2];
	size_t n, cap;
};

static int pool_collect_run(uint64_t offset, uint64_t len, void *arg)
{
	struct pool_runs *runs = arg;

	if (runs->n == runs->cap) {
		size_t cap = runs->cap ? runs->cap * 2 : 64;
		void *n = realloc(runs->r, cap * sizeof(*runs->r));

		if (!n)
			return -ENOMEM;
		runs->r = n;
		runs->cap = cap;
	}
	runs->r[runs->n][0] = offset;
	runs->r[runs->n][1] = len;
	runs->n++;
	return 0;
}

/*
 * pool_check_tiling -- every unit of the data area is in exactly one set
 *
 * Merges extents (by offset), quarantined ranges and free runs, which
 * must tile the data area with no overlap; every gap must be bad.  Bad units are
 * never free; an extent may already hold some (its data there is lost).
 * Returns the number of findings, or -ENOMEM: running out of memory says
 * nothing about the pool, and must not pass for a finding.
 */
static long pool_check_tiling(struct pool *p, struct extent **byoff,
			      pool_finding_fn fn, void *arg)
{
	const struct fmt_superblock *sb = &p->meta->sb;
	struct pool_sweep s = { p, fn, arg, sb->data_offset, 0 };
	struct pool_runs runs = { 0 };
	struct extent *e = *byoff;
	struct qrange **qoff, **qr;
	size_t ri = 0;
	unsigned int bi = 0;

	if (quarantine_by_offset(&p->quarantine, &qoff) < 0)
		return -ENOMEM;
	if (alloc_foreach_free(p->alloc, pool_collect_run, &runs) < 0) {
		free(runs.r);
		free(qoff);
		return -ENOMEM;
	}
	qr = qoff;
	for (;;) {
		uint64_t eo = e ? e->rec.offset : UINT64_MAX;
		uint64_t fo = ri < runs.n ? runs.r[ri][0] : UINT64_MAX;
		uint64_t qo = *qr ? (*qr)->rec.offset : UINT64_MAX;

		if (eo == UINT64_MAX && fo == UINT64_MAX && qo == UINT64_MAX)
			break;
		if (eo <= fo && eo <= qo) {
			pool_sweep_take(&s, eo, e->rec.length, "extent");
			e = *++byoff;
		} else if (fo <= qo) {
			pool_sweep_take(&s, fo, runs.r[ri][1], "free run");
			ri++;
		} else {
			const struct fmt_range *q = &(*qr)->rec;

			if (q->length == 0 || q->offset % sb->unit ||
			    q->length % sb->unit || q->offset < sb->data_offset ||
			    q->offset + q->length > sb->data_offset + sb->data_size) {
				pool_finding(fn, arg, "quarantined range %#llx+%#llx is not whole units of the data area",
					     (unsigned long long)q->offset,
					     (unsigned long long)q->length);
				s.findings++;
			}
			pool_sweep_take(&s, qo, q->length, "quarantined range");
			qr++;
		}
	}
	free(qoff);
	/* What lies between is bad; an extent may hold bad units, free space not. */
	for (bi = 0; bi < p->nbad; bi++) {
		uint64_t u;

		for (u = p->bad[bi].offset;
		     u < p->bad[bi].offset + p->bad[bi].length; u += sb->unit) {
			if (alloc_is_free(p->alloc, u, sb->unit)) {
				pool_finding(fn, arg, "bad unit %#llx is free",
					     (unsigned long long)u);
				s.findings++;
			}
		}
	}
	/* The data area's tail may be bad too. */
	if (s.pos < sb->data_offset + sb->data_size &&
	    pool_bad_covers(p, s.pos, sb->data_offset + sb->data_size))
		s.pos = sb->data_offset + sb->data_size;
	free(runs.r);
	if (s.pos != sb->data_offset + sb->data_size) {
		pool_finding(fn, arg,
			     "the sets end at %#llx, the data area at %#llx",
			     (unsigned long long)s.pos,
			     (unsigned long long)(sb->data_offset + sb->data_size));
		s.findings++;
	}
	return s.findings;
}

/* pool_check_extent -- one extent's own invariants */
static unsigned long pool_check_extent(struct pool *p, const struct extent *e,
				       pool_finding_fn fn, void *arg)
{
	const struct fmt_superblock *sb = &p->meta->sb;
	const struct fmt_extent *rec = &e->rec;
	unsigned long n = 0;

	if (rec->id == 0 || rec->id >= p->meta->state.next_extent_id) {
		pool_finding(fn, arg, "extent %llu (slot %llu): id not below the next id %llu",
			     (unsigned long long)rec->id,
			     (unsigned long long)e->slot,
			     (unsigned long long)p->meta->state.next_extent_id);
		n++;
	}
	if (rec->length == 0 || rec->offset % sb->unit || rec->length % sb->unit ||
	    rec->offset < sb->data_offset ||
	    rec->offset + rec->length < rec->offset ||
	    rec->offset + rec->length > sb->data_offset + sb->data_size) {
		pool_finding(fn, arg, "extent %llu: range %#llx+%#llx is not whole units of the data area",
			     (unsigned long long)rec->id,
			     (unsigned long long)rec->offset,
			     (unsigned long long)rec->length);
		n++;
	}
	if (rec->name_len > FMT_NAME_MAX || rec->name[rec->name_len] != '\0' ||
	    strlen(rec->name) != rec->name_len) {
		pool_finding(fn, arg, "extent %llu: name length is inconsistent",
			     (unsigned long long)rec->id);
		n++;
	}
	if (e->slot >= p->meta->state.extent_hwm) {
		pool_finding(fn, arg, "extent %llu: slot %llu above the high-water mark",
			     (unsigned long long)rec->id,
			     (unsigned long long)e->slot);
		n++;
	}
	return n;
}

/* pool_check_quarantine_media -- quarantine records on the device = memory */
static unsigned long pool_check_quarantine_media(struct pool *p,
						 pool_finding_fn fn, void *arg)
{
	static const struct fmt_range zero;
	const struct meta *m = p->meta;
	uint64_t slot, used = 0;
	unsigned long n = 0;
	struct qrange *r;

	TAILQ_FOREACH(r, &p->quarantine.ranges, entry) {
		if (memcmp(meta_at(m, quarantine_record_off(m, r->slot)), &r->rec,
			   sizeof(r->rec))) {
			pool_finding(fn, arg, "quarantine slot %llu on the device differs from memory",
				     (unsigned long long)r->slot);
			n++;
		}
	}
	for (slot = 0; slot < m->sb.quarantine_slots; slot++)
		if (memcmp(meta_at(m, quarantine_record_off(m, slot)), &zero,
			   sizeof(zero)))
			used++;
	if (used != p->quarantine.count) {
		pool_finding(fn, arg, "%llu quarantine slots in use on the device, %llu ranges in memory",
			     (unsigned long long)used,
			     (unsigned long long)p->quarantine.count);
		n++;
	}
	return n;
}

/*
 * pool_check_media -- the records on the device say what memory says
 *
 * Only meaningful with nothing staged: the caller commits first.
 */
static unsigned long pool_check_media(struct pool *p, pool_finding_fn fn,
				      void *arg)
{
	static const struct fmt_extent zero;
	static const char what[] = "comparing the records with the device";
	const struct fmt_state *st = meta_at(p->meta, FMT_STATE_OFF);
	uint64_t slot, used = 0, done = 0;
	uint64_t total = p->index.count + p->meta->state.extent_hwm;
	const struct meta_progress *pr = p->progress;
	unsigned long n = 0;
	struct extent *e;

	if (memcmp(st, &p->meta->state, sizeof(*st))) {
		pool_finding(fn, arg, "the state record on the device differs from memory");
		n++;
	}
	meta_progress_report(pr, what, META_PROGRESS_RECORDS, 0, total);
	for (e = pool_find_from(p, 0); e; e = pool_next_id(p, e)) {
		const struct fmt_extent *m = meta_at(p->meta,
						     meta_extent_off(p->meta, e->slot));

		if (pr && !(++done % META_PROGRESS_RECORDS_STEP))
			meta_progress_report(pr, what, META_PROGRESS_RECORDS,
					     done, total);
		if (memcmp(m, &e->rec, sizeof(*m))) {
			pool_finding(fn, arg, "extent %llu: slot %llu on the device differs from memory",
				     (unsigned long long)e->rec.id,
				     (unsigned long long)e->slot);
			n++;
		}
	}
	for (slot = 0; slot < p->meta->state.extent_hwm; slot++) {
		const struct fmt_extent *m = meta_at(p->meta,
						     meta_extent_off(p->meta, slot));

		if (memcmp(m, &zero, sizeof(zero)))
			used++;
		if (pr && !(++done % META_PROGRESS_RECORDS_STEP))
			meta_progress_report(pr, what, META_PROGRESS_RECORDS,
					     done, total);
	}
	meta_progress_report(pr, what, META_PROGRESS_RECORDS, total, total);
	n += pool_check_quarantine_media(p, fn, arg);
	if (used != p->index.count) {
		pool_finding(fn, arg, "%llu slots are in use on the device, %llu extents in memory",
			     (unsigned long long)used,
			     (unsigned long long)p->index.count);
		n++;
	}
	return n;
}

/*
 * pool_verify -- the invariants; deep adds the costly cross-checks
 *
 * byoff is every extent in offset order, NULL-terminated (count of them).
 * Shallow (at start-up, right after loading from the device): each
 * extent's own invariants, no overlaps, exact tiling of the data area.
 * Deep (check commands) also walks the free-space indexes and compares
 * every record on the device with memory.  Returns the number of
 * findings, or -ENOMEM.
 */
static int pool_verify(struct pool *p, struct extent **byoff, int count,
		       bool deep, pool_finding_fn fn, void *arg)
{
	static const char what[] = "checking the extents";
	const struct meta_progress *pr = p->progress;
	struct extent *prev = NULL;
	unsigned long n = 0;
	uint64_t used = 0;
	char why[256];
	long tiling;
	int i;

	if (deep && alloc_check(p->alloc, why, sizeof(why)) < 0) {
		pool_finding(fn, arg, "free space index: %s", why);
		n++;
	}
	meta_progress_report(pr, what, META_PROGRESS_RECORDS, 0, (uint64_t)count);
	for (i = 0; i < count; i++) {
		struct extent *e = byoff[i];

		if (pr && i && !(i % META_PROGRESS_RECORDS_STEP))
			meta_progress_report(pr, what, META_PROGRESS_RECORDS,
					     (uint64_t)i, (uint64_t)count);
		n += pool_check_extent(p, e, fn, arg);
		if (prev && prev->rec.offset + prev->rec.length > e->rec.offset) {
			pool_finding(fn, arg, "extents %llu and %llu overlap",
				     (unsigned long long)prev->rec.id,
				     (unsigned long long)e->rec.id);
			n++;
		}
		used += e->rec.length;
		prev = e;
	}
	meta_progress_report(pr, what, META_PROGRESS_RECORDS, (uint64_t)count,
			     (uint64_t)count);
	if ((uint64_t)count != p->index.count || used != p->used_bytes) {
		pool_finding(fn, arg, "extent counters are off: %d/%llu extents, %llu/%llu bytes",
			     count, (unsigned long long)p->index.count,
			     (unsigned long long)used,
			     (unsigned long long)p->used_bytes);
		n++;
	}
	tiling = pool_check_tiling(p, byoff, fn, arg);
	if (tiling < 0)
		return (int)tiling;
	n += (unsigned long)tiling;
	if (deep)
		n += pool_check_media(p, fn, arg);
	return n > (unsigned long)INT32_MAX ? INT32_MAX : (int)n;
}

/*
 * pool_check -- verify every invariant; returns the number of findings
 * or a negative errno (-ENOMEM, or the commit's)
 *
 * Each finding goes to fn.  Commits what is staged first, so that memory
 * and the device can be compared.
 */
int pool_check(struct pool *p, pool_finding_fn fn, void *arg)
{
	struct extent **byoff;
	int count, r;

	r = pool_commit(p);
	if (r < 0)
		return r;
	count = extent_by_offset(&p->index, &byoff);
	if (count < 0)
		return count;
	r = pool_verify(p, byoff, count, true, fn, arg);
	free(byoff);
	return r;
}

/*
 * pool_load_bad -- the device's bad blocks inside the data area, in units
 *
 * A bad block anywhere in a unit takes the whole unit out of allocation.
 */
static int pool_load_bad(struct pool *p)
{
	const struct fmt_superblock *sb = &p->meta->sb;
	uint64_t unit = sb->unit, lo = sb->data_offset,
		 hi = sb->data_offset + sb->data_size;
	unsigned int i;

	if (!p->dev->nbadblocks)
		return 0;
	p->bad = calloc(p->dev->nbadblocks, sizeof(*p->bad));
	if (!p->bad)
		return -ENOMEM;
	for (i = 0; i < p->dev->nbadblocks; i++) {
		const struct device_badblock *b = &p->dev->badblocks[i];
		uint64_t s = b->offset / unit * unit;
		uint64_t end = (b->offset + b->length + unit - 1) / unit * unit;

		if (s < lo)
			s = lo;
		if (end > hi)
			end = hi;
		if (s >= end)
			continue;
		/* Sorted input: merge with the previous range when they meet. */
		if (p->nbad && p->bad[p->nbad - 1].offset +
					       p->bad[p->nbad - 1].length >= s) {
			struct pool_bad *last = &p->bad[p->nbad - 1];

			if (end > last->offset + last->length)
				last->length = end - last->offset;
			continue;
		}
		p->bad[p->nbad].offset = s;
		p->bad[p->nbad].length = end - s;
		p->nbad++;
	}
	for (i = 0; i < p->nbad; i++) {
		p->bad_bytes += p->bad[i].length;
		log_warn("%s: %llu bytes at %#llx are bad blocks: kept out of allocation",
			 p->dev->path, (unsigned long long)p->bad[i].length,
			 (unsigned long long)p->bad[i].offset);
	}
	return 0;
}

/*
 * pool_load_extents -- read the used slots into memory
 *
 * One pass over slots [0, high-water mark).  A slot that is not all zero
 * must carry a valid checksum: anything else is corruption, reported with
 * the slot number, and start-up stops.
 */
static int pool_load_extents(struct pool *p)
{
	static const struct fmt_extent zero;
	static const char what[] = "loading the extent records";
	const struct meta_progress *pr = p->progress;
	uint64_t hwm = p->meta->state.extent_hwm, slot, dup, done = 0;
	unsigned long bad = 0;
	struct extent *e;
	int r;

	device_prefault(p->dev, meta_at(p->meta, meta_extent_off(p->meta, 0)),
			hwm * sizeof(struct fmt_extent));
	/* Room for every slot up front: no growing while loading. */
	r = extent_index_reserve(&p->index, hwm);
	if (r < 0)
		return r;
	meta_progress_report(pr, what, META_PROGRESS_RECORDS, 0, hwm);
	for (slot = hwm; slot-- > 0;) {
		const struct fmt_extent *rec =
			meta_at(p->meta, meta_extent_off(p->meta, slot));

		if (pr && !(++done % META_PROGRESS_RECORDS_STEP))
			meta_progress_report(pr, what, META_PROGRESS_RECORDS,
					     done, hwm);
		if (!memcmp(rec, &zero, sizeof(zero))) {
			/* Pushed high to low: the lowest comes out first. */
			pool_slot_put(p, slot);
			continue;
		}
		if (rec->checksum !=
		    meta_crc(rec, offsetof(struct fmt_extent, checksum))) {
			if (bad++ < 10)
				log_err("%s: extent slot %llu: checksum mismatch",
					p->dev->path, (unsigned long long)slot);
			continue;
		}
		e = calloc(1, sizeof(*e));
		if (!e)
			return -ENOMEM;
		e->slot = slot;
		e->rec = *rec;
		r = extent_index_load(&p->index, e);
		if (r == -EEXIST) {
			log_err("%s: extent slot %llu: name '%s' is used twice",
				p->dev->path, (unsigned long long)slot,
				rec->name);
			free(e);
			bad++;
			continue;
		}
		if (r < 0) {
			free(e);
			return r;
		}
		p->used_bytes += rec->length;
	}
	meta_progress_report(pr, what, META_PROGRESS_RECORDS, hwm, hwm);
	if (bad) {
		log_err("%s: %lu corrupt extent records; refusing to serve this pool",
			p->dev->path, bad);
		return -EILSEQ;
	}
	/* Loaded in slot order: put the id order right once. */
	r = extent_index_sort(&p->index, &dup);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		log_err("%s: extent id %llu is used by two records; refusing to serve this pool",
			p->dev->path, (unsigned long long)dup);
		return -EILSEQ;
	}
	return 0;
}

/* pool_bad_cmp -- qsort order of blocked ranges */
static int pool_bad_cmp(const void *a, const void *b)
{
	const struct pool_bad *x = a, *y = b;

	return (x->offset > y->offset) - (x->offset < y->offset);
}

/*
 * pool_blocked -- bad and quarantined ranges together, sorted by offset
 *
 * Neither is an extent and neither may be free: building free space skips
 * both.  A new array; the caller frees it.
 */
static int pool_blocked(struct pool *p, struct pool_bad **out, unsigned int *n)
{
	struct pool_bad *b;
	struct qrange *r;
	unsigned int i;

	b = malloc((p->nbad + p->quarantine.count + 1) * sizeof(*b));
	if (!b)
		return -ENOMEM;
	if (p->nbad)
		memcpy(b, p->bad, p->nbad * sizeof(*b));
	i = p->nbad;
	TAILQ_FOREACH(r, &p->quarantine.ranges, entry) {
		b[i].offset = r->rec.offset;
		b[i].length = r->rec.length;
		i++;
	}
	qsort(b, i, sizeof(*b), pool_bad_cmp);
	*out = b;
	*n = i;
	return 0;
}

/*
 * pool_build_gaps -- release the gaps between extents and blocked ranges
 *
 * byoff is the NULL-terminated offset order of the extents; blocked the
 * sorted ranges that are neither extents nor free (bad, quarantined).
 */
static int pool_build_gaps(struct pool *p, struct extent **byoff,
			   const struct pool_bad *blocked, unsigned int nblocked,
			   uint64_t *posp, unsigned int *bip)
{
	const struct fmt_superblock *sb = &p->meta->sb;
	uint64_t pos = *posp, end = sb->data_offset + sb->data_size;
	struct extent *e = *byoff;
	unsigned int bi = *bip;
	int r;

	while (e || bi < nblocked) {
		uint64_t off, len;

		if (e && (bi >= nblocked || e->rec.offset <= blocked[bi].offset)) {
			off = e->rec.offset;
			len = e->rec.length;
			if (off < sb->data_offset || off % sb->unit ||
			    len % sb->unit || len == 0 || off + len > end ||
			    off + len < off) {
				log_err("%s: extent %llu lies outside the data area or off the unit grid",
					p->dev->path,
					(unsigned long long)e->rec.id);
				return -EILSEQ;
			}
			if (off < pos && !device_has_badblock(p->dev, off, len)) {
				log_err("%s: extent %llu overlaps the extent before it",
					p->dev->path,
					(unsigned long long)e->rec.id);
				return -EILSEQ;
			}
			if (off < pos)
				log_warn("%s: extent %llu holds bad blocks: its data there is lost",
					 p->dev->path,
					 (unsigned long long)e->rec.id);
			e = *++byoff;
		} else {
			off = blocked[bi].offset;
			len = blocked[bi].length;
			bi++;
		}
		if (off > pos) {
			r = alloc_release(p->alloc, pos, off - pos);
			if (r < 0)
				return r;
		}
		if (off + len > pos)
			pos = off + len;
	}
	*posp = pos;
	*bip = bi;
	return 0;
}

/*
 * pool_build_free -- free space is what no extent and no bad range covers
 *
 * Walks extents and bad ranges in address order and releases the gaps.
 * Overlapping extents are corruption and stop start-up.
 */
static int pool_build_free(struct pool *p, struct extent **byoff)
{
	const struct fmt_superblock *sb = &p->meta->sb;
	uint64_t pos = sb->data_offset, end = sb->data_offset + sb->data_size;
	unsigned int bi = 0;
	int r;

	struct pool_bad *blocked;
	unsigned int nblocked;

	r = alloc_new(sb->data_offset, sb->data_size, sb->unit, false, &p->alloc);
	if (r < 0)
		return r;
	r = pool_blocked(p, &blocked, &nblocked);
	if (r < 0)
		return r;
	r = pool_build_gaps(p, byoff, blocked, nblocked, &pos, &bi);
	free(blocked);
	if (r < 0)
		return r;
	if (pos < end)
		return alloc_release(p->alloc, pos, end - pos);
	return 0;
}

/* pool_free_extents -- release every in-memory extent */
static void pool_free_extents(struct pool *p)
{
	extent_index_free(&p->index);
}

/* pool_now_ms -- a monotonic clock for start-up timings */
static double pool_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* pool_log_finding -- a check finding at start-up goes to the log */
static void pool_log_finding(void *arg, const char *finding)
{
	struct pool *p = arg;

	log_err("%s: %s", p->dev->path, finding);
}

/*
 * pool_open_device -- format or recover the pool on an open device
 *
 * The device stays the caller's.  fmt says whether formatting is allowed;
 * it never happens silently for a device that holds anything.
 */
int pool_open_device(struct device *dev, enum pool_format fmt, uint64_t unit,
		     struct pool **out)
{
	return pool_open_device_progress(dev, fmt, unit, NULL, out);
}

/*
 * pool_open_device_progress -- pool_open_device(), reporting to pr
 *
 * pr (NULL: no display) follows the format or the loading of the records
 * and the checks after it, then pool_check() on this pool: it must live
 * as long as the pool.
 */
int pool_open_device_progress(struct device *dev, enum pool_format fmt,
			      uint64_t unit, const struct meta_progress *pr,
			      struct pool **out)
{
	struct extent **byoff;
	struct pool *p;
	int count, r;
	double t[4];

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->dev = dev;
	p->progress = pr;
	extent_index_init(&p->index);
	TAILQ_INIT(&p->quarantine.ranges);

	/*
	 * devdax maps only at offsets and lengths of the device's alignment:
	 * its unit is that alignment, whatever --unit (a file's) says.
	 */
	if (dev->kind == DEVICE_DEVDAX || !unit)
		unit = dev->align;
	if (fmt == POOL_FORMAT_ALWAYS ||
	    (fmt == POOL_FORMAT_IF_NEW && dev->created))
		r = meta_format(dev, unit, pr, &p->meta);
	else
		r = meta_open(dev, &p->meta);
	if (r < 0)
		goto err_free;

	p->free_slots = malloc(sizeof(*p->free_slots) *
			       (p->meta->sb.extent_slots ? p->meta->sb.extent_slots : 1));
	if (!p->free_slots) {
		r = -ENOMEM;
		goto err_meta;
	}
	t[0] = pool_now_ms();
	r = pool_load_bad(p);
	if (r < 0)
		goto err_meta;
	r = pool_load_extents(p);
	if (r < 0)
		goto err_extents;
	r = quarantine_load(&p->quarantine, p->meta);
	if (r < 0)
		goto err_extents;
	/* One offset order serves both building free space and the checks. */
	count = extent_by_offset(&p->index, &byoff);
	if (count < 0) {
		r = count;
		goto err_extents;
	}
	t[1] = pool_now_ms();
	r = pool_build_free(p, byoff);
	if (r < 0) {
		free(byoff);
		goto err_extents;
	}
	t[2] = pool_now_ms();
	r = pool_verify(p, byoff, count, false, pool_log_finding, p);
	free(byoff);
	t[3] = pool_now_ms();
	log_info("%s: %llu extents loaded in %.1f ms (records %.1f, free space %.1f, checks %.1f)",
		 dev->path, (unsigned long long)p->index.count, t[3] - t[0],
		 t[1] - t[0], t[2] - t[1], t[3] - t[2]);
	if (r < 0) {
		log_err("%s: cannot check the recovered state: %s", dev->path,
			strerror(-r));
		goto err_extents;
	}
	if (r > 0) {
		log_err("%s: %d invariant violations after recovery; refusing to serve",
			dev->path, r);
		r = -EUCLEAN;
		goto err_extents;
	}
	if (!p->meta->was_clean)
		log_warn("%s: the last shutdown was not clean; recovered (%s)",
			 dev->path,
			 p->meta->replayed ? "the last committed journal transaction was re-applied" :
			 p->meta->torn ? "a torn, unacknowledged journal transaction was dropped" :
					 "no journal transaction had been written");
	if (p->meta->usc_changed)
		log_err("%s: UNSAFE SHUTDOWN: the device's unsafe shutdown count changed (%llu -> %llu): data written by clients since the last start may be lost",
			dev->path, (unsigned long long)p->meta->sb.usc,
			(unsigned long long)dev->usc);
	/*
	 * Inspection leaves the superblock alone, so that the next real start
	 * still sees an unclean shutdown or a changed unsafe shutdown count.
	 */
	if (fmt != POOL_INSPECT)
		meta_mark_open(p->meta);
	*out = p;
	return 0;

err_extents:
	quarantine_fini(&p->quarantine);
	pool_free_extents(p);
	alloc_destroy(p->alloc);
err_meta:
	free(p->bad);
	free(p->free_slots);
	meta_close(p->meta, false);
err_free:
	free(p);
	return r;
}

/* What pool_probe() tells a progress display. */
static const char pool_probe_what[] = "looking for data on the device";

/* pool_first_nonzero -- offset of the first non-zero byte, len if none */
static uint64_t pool_first_nonzero(const uint8_t *buf, uint64_t len)
{
	static const uint8_t zero[4096];
	uint64_t off = 0, n;

	while (off < len) {
		n = len - off < sizeof(zero) ? len - off : sizeof(zero);
		/* memcmp is vectorised; only a block that differs is walked. */
		if (memcmp(buf + off, zero, n))
			break;
		off += n;
	}
	while (off < len && !buf[off])
		off++;
	return off;
}

/*
 * pool_probe_range -- look for a non-zero byte in [a, b) of the device
 *
 * Bad blocks are stepped over: reading one raises a machine check, and
 * whatever they held is lost anyway.  Sets *at and returns true when one
 * is found.  Progress counts bytes of the device passed.
 */
static bool pool_probe_range(struct device *dev, uint64_t a, uint64_t b,
			     const struct meta_progress *pr, uint64_t *at)
{
	const uint8_t *base = dev->addr;
	unsigned int i = 0;
	uint64_t stop, end, z;

	while (a < b) {
		while (i < dev->nbadblocks &&
		       dev->badblocks[i].offset + dev->badblocks[i].length <= a)
			i++;
		stop = i < dev->nbadblocks && dev->badblocks[i].offset < b ?
			       dev->badblocks[i].offset :
			       b;
		while (a < stop) {
			end = stop - a < META_PROGRESS_BYTES_STEP ?
				      stop : a + META_PROGRESS_BYTES_STEP;
			z = pool_first_nonzero(base + a, end - a);
			if (z < end - a) {
				*at = a + z;
				return true;
			}
			a = end;
			meta_progress_report(pr, pool_probe_what,
					     META_PROGRESS_BYTES, a, dev->size);
		}
		if (stop < b)
			a = dev->badblocks[i].offset + dev->badblocks[i].length;
	}
	return false;
}

/*
 * pool_probe -- what dev holds, before formatting it
 *
 * The superblocks first: a pool, or what is left of one.  With neither
 * and scan set, every readable byte is looked at, so that `empty` is a
 * proof and not a guess: a namespace may hold a filesystem image or
 * another program's data that carries no signature.  A file's holes are
 * skipped (SEEK_DATA), so a sparse pool file is scanned in the time its
 * written blocks take; a devdax namespace is read whole, at memory speed.
 * Reads only.  Returns 0 or a negative errno.
 */
int pool_probe(struct device *dev, bool scan, const struct meta_progress *pr,
	       struct pool_probe *out)
{
	uint64_t pos = 0, a, b;
	off_t o;
	int r;

	memset(out, 0, sizeof(*out));
	r = meta_probe(dev, &out->meta);
	if (r < 0)
		return r;
	if (out->meta.pool || out->meta.damaged || !scan)
		return 0;
	out->scanned = true;
	meta_progress_report(pr, pool_probe_what, META_PROGRESS_BYTES, 0,
			     dev->size);
	while (pos < dev->size) {
		a = pos;
		b = dev->size;
		if (dev->kind == DEVICE_FILE) {
			o = lseek(dev->fd, (off_t)pos, SEEK_DATA);
			if (o < 0 && errno == ENXIO)
				break; /* holes up to the end */
			if (o < 0)
				return -errno;
			a = (uint64_t)o;
			o = lseek(dev->fd, o, SEEK_HOLE);
			if (o < 0)
				return -errno;
			if ((uint64_t)o < b)
				b = (uint64_t)o;
		}
		if (a >= dev->size)
			break;
		if (pool_probe_range(dev, a, b, pr, &out->nonzero_at))
			return 0;
		pos = b;
	}
	meta_progress_report(pr, pool_probe_what, META_PROGRESS_BYTES,
			     dev->size, dev->size);
	out->empty = true;
	return 0;
}

/* pool_open -- open the device named by cfg and its pool */
int pool_open(const struct device_config *cfg, enum pool_format fmt,
	      struct pool **out)
{
	struct device *dev;
	int r;

	r = device_open(cfg, &dev);
	if (r < 0)
		return r;
	r = pool_open_device(dev, fmt, cfg->unit, out);
	if (r < 0) {
		device_close(dev);
		return r;
	}
	(*out)->owns_dev = true;
	return 0;
}

/*
 * pool_close -- commit, mark clean (when asked) and release everything
 *
 * clean false is for tests that simulate a crash: nothing more is written.
 */
void pool_close(struct pool *p, bool clean)
{
	if (!p)
		return;
	meta_close(p->meta, clean);
	quarantine_fini(&p->quarantine);
	pool_free_extents(p);
	alloc_destroy(p->alloc);
	free(p->bad);
	free(p->free_slots);
	if (p->owns_dev)
		device_close(p->dev);
	free(p);
}
