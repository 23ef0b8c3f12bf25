// SPDX-License-Identifier: Apache-2.0
/*
 * quarantine.c -- ranges that left an extent but may not be reused yet
 *
 * Each range is one 64-byte record in the quarantine table, written
 * through the journal like every other record, so a range is quarantined
 * in the same transaction that takes it out of its extent: a crash leaves
 * it in the extent or in the quarantine, never in free space.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "log.h"
#include "meta.h"
#include "quarantine.h"

/* quarantine_record_off -- where record slot lives on the device */
uint64_t quarantine_record_off(const struct meta *m, uint64_t slot)
{
	return m->sb.quarantine_off + slot * sizeof(struct fmt_range);
}

/* quarantine_seal -- a record's checksum */
static void quarantine_seal(struct fmt_range *rec)
{
	rec->checksum = meta_crc(rec, offsetof(struct fmt_range, checksum));
}

/*
 * quarantine_load -- read the table into memory
 *
 * All-zero slots are unused; any other slot must carry a valid checksum
 * (-EILSEQ otherwise, naming the slot).  The table is small (a quarter of
 * the extent slots), so it is read whole.
 */
int quarantine_load(struct quarantine *q, struct meta *m)
{
	static const struct fmt_range zero;
	uint64_t slot, n = m->sb.quarantine_slots;
	struct qrange *r;

	memset(q, 0, sizeof(*q));
	TAILQ_INIT(&q->ranges);
	q->nslots = n;
	q->free_slots = malloc((n ? n : 1) * sizeof(*q->free_slots));
	if (!q->free_slots)
		return -ENOMEM;
	/* High to low, so that the lowest free slot is used first. */
	for (slot = n; slot-- > 0;) {
		const struct fmt_range *rec =
			meta_at(m, quarantine_record_off(m, slot));

		if (!memcmp(rec, &zero, sizeof(zero))) {
			q->free_slots[q->nfree++] = slot;
			continue;
		}
		if (rec->checksum !=
		    meta_crc(rec, offsetof(struct fmt_range, checksum))) {
			log_err("%s: quarantine slot %llu: checksum mismatch",
				m->dev->path, (unsigned long long)slot);
			quarantine_fini(q);
			return -EILSEQ;
		}
		r = calloc(1, sizeof(*r));
		if (!r) {
			quarantine_fini(q);
			return -ENOMEM;
		}
		r->slot = slot;
		r->rec = *rec;
		TAILQ_INSERT_TAIL(&q->ranges, r, entry);
		q->count++;
		q->bytes += rec->length;
	}
	return 0;
}

/* quarantine_fini -- forget the set (the device keeps its records) */
void quarantine_fini(struct quarantine *q)
{
	struct qrange *r;

	while ((r = TAILQ_FIRST(&q->ranges))) {
		TAILQ_REMOVE(&q->ranges, r, entry);
		free(r);
	}
	free(q->free_slots);
	q->free_slots = NULL;
	q->count = q->bytes = q->nfree = 0;
}

/*
 * quarantine_add -- put a range into the quarantine, staging its record
 *
 * The caller made room in the transaction (meta_begin) for this record
 * and whatever else its operation writes.  -ENOSPC when the table is full,
 * -ENOMEM; nothing changes then.
 */
int quarantine_add(struct quarantine *q, struct meta *m, uint64_t offset,
		   uint64_t length, uint64_t extent_id, struct qrange **out)
{
	struct qrange *r;
	int ret;

	if (!q->nfree)
		return -ENOSPC;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->slot = q->free_slots[q->nfree - 1];
	r->rec.offset = offset;
	r->rec.length = length;
	r->rec.extent_id = extent_id;
	quarantine_seal(&r->rec);
	ret = meta_stage(m, quarantine_record_off(m, r->slot), &r->rec,
			 sizeof(r->rec));
	if (ret < 0) {
		free(r);
		return ret;
	}
	q->nfree--;
	TAILQ_INSERT_TAIL(&q->ranges, r, entry);
	q->count++;
	q->bytes += length;
	*out = r;
	return 0;
}

/*
 * quarantine_remove -- take r out of the quarantine and free it
 *
 * Stages the zeroed record; the range itself is the caller's to free.
 */
void quarantine_remove(struct quarantine *q, struct meta *m, struct qrange *r)
{
	static const struct fmt_range zero;

	/* Cannot fail: the caller made room with meta_begin(). */
	meta_stage(m, quarantine_record_off(m, r->slot), &zero, sizeof(zero));
	TAILQ_REMOVE(&q->ranges, r, entry);
	q->free_slots[q->nfree++] = r->slot;
	q->count--;
	q->bytes -= r->rec.length;
	free(r);
}

/* quarantine_cmp_offset -- qsort order of a snapshot */
static int quarantine_cmp_offset(const void *a, const void *b)
{
	const struct qrange *x = *(struct qrange *const *)a;
	const struct qrange *y = *(struct qrange *const *)b;

	return (x->rec.offset > y->rec.offset) - (x->rec.offset < y->rec.offset);
}

/*
 * quarantine_by_offset -- a new NULL-terminated array of the ranges, by
 * offset; returns the count or -ENOMEM.  The caller frees the array.
 */
int quarantine_by_offset(const struct quarantine *q, struct qrange ***out)
{
	struct qrange **arr = malloc((q->count + 1) * sizeof(*arr));
	struct qrange *r;
	size_t n = 0;

	if (!arr)
		return -ENOMEM;
	TAILQ_FOREACH(r, &q->ranges, entry)
		arr[n++] = r;
	arr[n] = NULL;
	qsort(arr, n, sizeof(*arr), quarantine_cmp_offset);
	*out = arr;
	return (int)n;
}
