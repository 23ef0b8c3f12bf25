// SPDX-License-Identifier: Apache-2.0
/*
 * meta.c -- the on-device metadata: superblocks, state record, redo journal
 *
 * Atomicity comes from a redo journal.  A commit writes the staged entries
 * and then the header whose checksum covers header and entries, drains
 * (the commit point), applies the entries to their homes and drains again.
 * A crash before the commit point leaves a journal whose checksum fails:
 * it is discarded and the old state stands.  A crash after it leaves a
 * valid journal that start-up applies again.  The journal is never
 * cleared: applying the newest transaction twice changes nothing, because
 * every later write to the same records would itself be a newer
 * transaction.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uuid/uuid.h>
#include <zlib.h>

#include "device.h"
#include "log.h"
#include "meta.h"

#define META_ALIGN 4096ULL

static uint64_t meta_round_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

/* meta_crc -- the checksum of every on-media record (zlib's crc32) */
uint32_t meta_crc(const void *buf, size_t len)
{
	return (uint32_t)crc32(0L, buf, (uInt)len);
}

/* meta_crc_continue -- extend a checksum over more bytes */
uint32_t meta_crc_continue(uint32_t crc, const void *buf, size_t len)
{
	return (uint32_t)crc32(crc, buf, (uInt)len);
}

/* meta_at -- a read-only pointer to offset in the metadata area */
const void *meta_at(const struct meta *m, uint64_t offset)
{
	return m->base + offset;
}

/* meta_extent_off -- where extent record slot lives */
uint64_t meta_extent_off(const struct meta *m, uint64_t slot)
{
	return m->sb.extents_off + slot * sizeof(struct fmt_extent);
}

/* meta_lease_off -- where lease-table record `slot` lives */
uint64_t meta_lease_off(const struct meta *m, uint64_t slot)
{
	return m->sb.leases_off + slot * sizeof(struct fmt_hold);
}

/* meta_pin_off -- where pin-table record `slot` lives */
uint64_t meta_pin_off(const struct meta *m, uint64_t slot)
{
	return m->sb.pins_off + slot * sizeof(struct fmt_hold);
}

/* meta_progress_report -- tell pr's display how far `what` has come */
void meta_progress_report(const struct meta_progress *pr, const char *what,
			  enum meta_progress_unit unit, uint64_t done,
			  uint64_t total)
{
	if (pr && pr->fn)
		pr->fn(pr->arg, what, unit, done, total);
}

/* meta_pending -- is anything staged and not yet committed? */
bool meta_pending(const struct meta *m)
{
	return m->txn_entries || m->state_dirty;
}

/*
 * meta_geometry -- lay out the metadata area for a device
 *
 * Each extent holds at least one unit, so one extent slot per unit of the
 * device is always enough; the cap keeps tiny units on huge devices from
 * spending gigabytes on slots.
 */
static int meta_geometry(uint64_t dev_size, uint64_t unit,
			 struct fmt_superblock *sb)
{
	uint64_t units, off;

	/*
	 * The unit may come from a superblock whose checksum is valid over
	 * nonsense (meta_sb_valid): checked before anything divides by it.
	 */
	if (!unit || (unit & (unit - 1)) || unit < META_ALIGN)
		return -EINVAL;
	units = dev_size / unit;
	sb->unit = unit;
	sb->device_size = dev_size;
	sb->extent_slots = units < META_MAX_EXTENT_SLOTS ? units :
							   META_MAX_EXTENT_SLOTS;
	sb->quarantine_slots = sb->extent_slots / 4 + 64;
	sb->lease_slots = sb->extent_slots + 4096;
	/* Enough pins for many per extent, without dwarfing a small pool. */
	sb->pin_slots = sb->extent_slots * 64 < META_PIN_SLOTS ?
				sb->extent_slots * 64 : META_PIN_SLOTS;

	sb->journal_off = FMT_JOURNAL_OFF;
	sb->journal_size = META_JOURNAL_SIZE;
	off = meta_round_up(sb->journal_off + sb->journal_size, META_ALIGN);
	sb->extents_off = off;
	off = meta_round_up(off + sb->extent_slots * sizeof(struct fmt_extent),
			    META_ALIGN);
	sb->quarantine_off = off;
	off = meta_round_up(off + sb->quarantine_slots * sizeof(struct fmt_range),
			    META_ALIGN);
	sb->leases_off = off;
	off = meta_round_up(off + sb->lease_slots * sizeof(struct fmt_hold),
			    META_ALIGN);
	sb->pins_off = off;
	off += sb->pin_slots * sizeof(struct fmt_hold);

	sb->data_offset = meta_round_up(off, unit);
	/* Not data_offset + unit: a unit of 2^63 would wrap it past the check. */
	if (sb->data_offset > dev_size || unit > dev_size - sb->data_offset)
		return -ENOSPC;
	sb->data_size = (dev_size - sb->data_offset) / unit * unit;
	return 0;
}

/*
 * meta_sb_valid -- check one superblock copy; NULL if fine, else why not
 *
 * The checksum comes first; the geometry is then checked against itself
 * and the device, so that a valid checksum over nonsense cannot send us
 * reading outside the mapping.
 */
static const char *meta_sb_valid(const struct fmt_superblock *sb,
				 uint64_t dev_size)
{
	struct fmt_superblock want;

	if (memcmp(sb->magic, FMT_MAGIC, sizeof(sb->magic)))
		return "no daxalloc magic";
	if (sb->checksum != meta_crc(sb, offsetof(struct fmt_superblock, checksum)))
		return "checksum mismatch";
	if (sb->version != FMT_VERSION)
		return "unsupported format version";
	if (sb->sb_size != sizeof(*sb))
		return "wrong superblock size";
	if (sb->device_size > dev_size)
		return "the device is smaller than the pool";
	memset(&want, 0, sizeof(want));
	if (meta_geometry(sb->device_size, sb->unit, &want) < 0)
		return "impossible geometry";
	if (want.data_offset != sb->data_offset ||
	    want.data_size != sb->data_size ||
	    want.journal_off != sb->journal_off ||
	    want.journal_size != sb->journal_size ||
	    want.extents_off != sb->extents_off ||
	    want.extent_slots != sb->extent_slots ||
	    want.quarantine_off != sb->quarantine_off ||
	    want.leases_off != sb->leases_off || want.pins_off != sb->pins_off ||
	    /* Larger counts would walk the tables past their end. */
	    want.quarantine_slots != sb->quarantine_slots ||
	    want.lease_slots != sb->lease_slots ||
	    want.pin_slots != sb->pin_slots)
		return "geometry does not match its own unit and size";
	return NULL;
}

/* meta_write_sb -- write both superblock copies, one after the other */
static void meta_write_sb(struct meta *m)
{
	m->sb.generation++;
	m->sb.checksum = meta_crc(&m->sb,
				  offsetof(struct fmt_superblock, checksum));
	/* Copy A is durable before B is touched: one copy is always whole. */
	device_memcpy(m->dev, m->base + FMT_SB_A, &m->sb, sizeof(m->sb));
	device_drain(m->dev);
	device_memcpy(m->dev, m->base + FMT_SB_B, &m->sb, sizeof(m->sb));
	device_drain(m->dev);
}

/* meta_new -- allocate a meta for dev with an empty transaction buffer */
static struct meta *meta_new(struct device *dev)
{
	struct meta *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->dev = dev;
	m->base = dev->addr;
	m->txn_cap = META_JOURNAL_SIZE - sizeof(struct fmt_jheader);
	m->txn = malloc(m->txn_cap);
	if (!m->txn) {
		free(m);
		return NULL;
	}
	return m;
}

/* meta_free -- release a meta (the device stays open) */
static void meta_free(struct meta *m)
{
	if (!m)
		return;
	free(m->txn);
	free(m);
}

/*
 * meta_zero -- zero len bytes at dst, reporting progress to pr
 *
 * Without a display, one call: the flushes of one large memset are what
 * the format always did.  With one, the same bytes in pieces, so that the
 * display moves while a large pool's tables (a gigabyte and more) are
 * written.
 */
static void meta_zero(struct device *dev, uint8_t *dst, uint64_t len,
		      const struct meta_progress *pr)
{
	static const char what[] = "zeroing the metadata tables";
	uint64_t done = 0, n;

	if (!pr || !pr->fn) {
		device_memset(dev, dst, 0, len);
		return;
	}
	meta_progress_report(pr, what, META_PROGRESS_BYTES, 0, len);
	while (done < len) {
		n = len - done < META_PROGRESS_BYTES_STEP ?
			    len - done :
			    META_PROGRESS_BYTES_STEP;
		device_memset(dev, dst + done, 0, n);
		done += n;
		meta_progress_report(pr, what, META_PROGRESS_BYTES, done, len);
	}
}

/*
 * meta_format -- write a new, empty pool onto dev
 *
 * The tables are zeroed first and the superblocks written last, so a crash
 * while formatting leaves no valid superblock, never a half-made pool that
 * looks whole.  pr (may be NULL) follows the zeroing.
 */
int meta_format(struct device *dev, uint64_t unit,
		const struct meta_progress *pr, struct meta **out)
{
	struct fmt_jheader jh;
	struct meta *m;
	int r;

	m = meta_new(dev);
	if (!m)
		return -ENOMEM;
	r = meta_geometry(dev->size, unit, &m->sb);
	if (r < 0) {
		log_err("%s: %llu bytes is too small for a pool with %llu-byte units",
			dev->path, (unsigned long long)dev->size,
			(unsigned long long)unit);
		goto err_free;
	}
	/* Invalidate old superblocks before anything else changes. */
	device_memset(dev, m->base, 0, 2 * FMT_SB_SIZE);
	device_drain(dev);
	meta_zero(dev, m->base + FMT_STATE_OFF,
		  m->sb.data_offset - FMT_STATE_OFF, pr);

	m->state.next_extent_id = 1;
	m->state.extent_hwm = 0;
	m->state.checksum = meta_crc(&m->state,
				     offsetof(struct fmt_state, checksum));
	device_memcpy(dev, m->base + FMT_STATE_OFF, &m->state,
		      sizeof(m->state));
	memset(&jh, 0, sizeof(jh));
	device_memcpy(dev, m->base + m->sb.journal_off, &jh, sizeof(jh));
	device_drain(dev);

	memcpy(m->sb.magic, FMT_MAGIC, sizeof(m->sb.magic));
	m->sb.version = FMT_VERSION;
	m->sb.sb_size = sizeof(m->sb);
	uuid_generate(m->sb.uuid);
	m->sb.format_time = (uint64_t)time(NULL);
	m->sb.clean = 1;
	m->sb.usc_valid = dev->usc_supported;
	m->sb.usc = dev->usc;
	meta_write_sb(m);
	m->was_clean = true;
	log_notice("%s: formatted: unit %llu, data area %llu bytes at %llu, %llu extent slots",
		   dev->path, (unsigned long long)unit,
		   (unsigned long long)m->sb.data_size,
		   (unsigned long long)m->sb.data_offset,
		   (unsigned long long)m->sb.extent_slots);
	*out = m;
	return 0;

err_free:
	meta_free(m);
	return r;
}

/*
 * meta_pick_sb -- choose the superblock copy to trust and repair the other
 *
 * Returns -ENODATA when neither copy carries our magic (not a pool) and
 * -EILSEQ when copies exist but none is valid.
 */
static int meta_pick_sb(struct meta *m)
{
	const struct fmt_superblock *a = meta_at(m, FMT_SB_A);
	const struct fmt_superblock *b = meta_at(m, FMT_SB_B);
	const char *wa = meta_sb_valid(a, m->dev->size);
	const char *wb = meta_sb_valid(b, m->dev->size);
	const struct fmt_superblock *use;

	if (wa && wb) {
		if (memcmp(a->magic, FMT_MAGIC, 8) && memcmp(b->magic, FMT_MAGIC, 8)) {
			log_err("%s holds no daxalloc pool; format it explicitly with daxallocd --format (destroys its content)",
				m->dev->path);
			return -ENODATA;
		}
		log_err("%s: both superblocks are invalid (A: %s; B: %s); refusing to guess",
			m->dev->path, wa, wb);
		return -EILSEQ;
	}
	if (wa)
		use = b;
	else if (wb)
		use = a;
	else
		use = a->generation >= b->generation ? a : b;
	m->sb = *use;
	if (wa || wb || a->generation != b->generation) {
		log_warn("%s: superblock %s is %s; repairing it from copy %s",
			 m->dev->path, use == a ? "B" : "A",
			 wa ? wa : wb ? wb : "older", use == a ? "A" : "B");
		/* meta_write_sb() bumps the generation; keep it monotonic. */
		m->sb.generation = (a->generation > b->generation ?
					    a->generation : b->generation);
		meta_write_sb(m);
	}
	return 0;
}

/*
 * meta_probe_extents -- extent records in use, as the tables say
 *
 * A journal transaction not replayed yet may change that by a few; this
 * is for an operator deciding whether to format, not for recovery.
 * Returns -1 when the state record is not to be trusted.
 */
static int64_t meta_probe_extents(const struct device *dev,
				  const struct fmt_superblock *sb)
{
	static const struct fmt_extent zero;
	const uint8_t *base = dev->addr;
	const struct fmt_state *st = (const void *)(base + FMT_STATE_OFF);
	uint64_t slot;
	int64_t n = 0;

	if (st->checksum !=
		    meta_crc(st, offsetof(struct fmt_state, checksum)) ||
	    st->extent_hwm > sb->extent_slots)
		return -1;
	for (slot = 0; slot < st->extent_hwm; slot++)
		if (memcmp(base + sb->extents_off + slot * sizeof(zero), &zero,
			   sizeof(zero)))
			n++;
	return n;
}

/*
 * meta_probe -- does dev hold a pool, or what is left of one?
 *
 * Reads only, repairs nothing: for deciding whether formatting would
 * destroy something (daxallocctl format).  The superblock copy picked is
 * the one meta_open() would trust.
 */
int meta_probe(const struct device *dev, struct meta_probe *out)
{
	const uint8_t *base = dev->addr;
	const struct fmt_superblock *a = (const void *)(base + FMT_SB_A);
	const struct fmt_superblock *b = (const void *)(base + FMT_SB_B);
	const char *wa, *wb;

	memset(out, 0, sizeof(*out));
	out->extents = -1;
	if (dev->size < FMT_STATE_OFF)
		return -EINVAL;
	wa = meta_sb_valid(a, dev->size);
	wb = meta_sb_valid(b, dev->size);
	if (wa && wb) {
		if (memcmp(a->magic, FMT_MAGIC, sizeof(a->magic)) &&
		    memcmp(b->magic, FMT_MAGIC, sizeof(b->magic)))
			return 0;
		out->damaged = true;
		out->why =
			memcmp(a->magic, FMT_MAGIC, sizeof(a->magic)) ? wb : wa;
		return 0;
	}
	out->pool = true;
	out->sb = wa ? *b : wb ? *a : a->generation >= b->generation ? *a : *b;
	out->extents = meta_probe_extents(dev, &out->sb);
	return 0;
}

/* meta_entry_valid -- may a journal entry write there? */
static bool meta_entry_valid(const struct meta *m, uint64_t off, uint64_t len)
{
	uint64_t jend = m->sb.journal_off + m->sb.journal_size;

	if (len == 0 || off < FMT_STATE_OFF || off + len > m->sb.data_offset ||
	    off + len < off)
		return false;
	/* Never into the journal itself. */
	return off + len <= m->sb.journal_off || off >= jend;
}

/*
 * meta_replay -- apply the journal's transaction if it is whole
 *
 * A torn transaction (bad checksum) was never acknowledged and is dropped.
 * A whole one whose entries point outside the tables cannot come from us:
 * that is corruption, reported as -EILSEQ.
 */
static int meta_replay(struct meta *m)
{
	const struct fmt_jheader *jh = meta_at(m, m->sb.journal_off);
	const uint8_t *p, *end;
	uint32_t crc, i;

	if (memcmp(jh->magic, FMT_JMAGIC, sizeof(jh->magic)))
		return 0; /* never written since format */
	if (jh->bytes > m->txn_cap) {
		log_warn("%s: journal header claims %llu bytes; treating the in-flight transaction as torn",
			 m->dev->path, (unsigned long long)jh->bytes);
		return 0;
	}
	crc = meta_crc(jh, offsetof(struct fmt_jheader, checksum));
	crc = meta_crc_continue(crc, jh + 1, jh->bytes);
	m->seq = jh->seq;
	if (crc != jh->checksum) {
		m->torn = true;
		log_notice("%s: journal transaction %llu is torn: it was never acknowledged; discarded",
			   m->dev->path, (unsigned long long)jh->seq);
		return 0;
	}
	p = (const uint8_t *)(jh + 1);
	end = p + jh->bytes;
	for (i = 0; i < jh->entries; i++) {
		struct fmt_jentry e;

		if (p + sizeof(e) > end)
			goto bad;
		memcpy(&e, p, sizeof(e));
		p += sizeof(e);
		if (!meta_entry_valid(m, e.offset, e.len) ||
		    p + meta_round_up(e.len, 8) > end)
			goto bad;
		device_memcpy(m->dev, m->base + e.offset, p, e.len);
		p += meta_round_up(e.len, 8);
	}
	device_drain(m->dev);
	m->replayed = true;
	/* After a clean shutdown this re-applies what is already there. */
	log_debug("%s: journal transaction %llu (%u entries) applied",
		  m->dev->path, (unsigned long long)jh->seq, jh->entries);
	return 0;

bad:
	log_err("%s: journal transaction %llu has a valid checksum but entry %u is impossible: metadata is corrupt",
		m->dev->path, (unsigned long long)jh->seq, i);
	return -EILSEQ;
}

/*
 * meta_open -- find the pool on dev and bring its metadata to a whole state
 *
 * Superblock, then journal replay, then the state record.  Nothing is
 * written but repairs of a superblock copy and the replay itself.
 */
int meta_open(struct device *dev, struct meta **out)
{
	const struct fmt_state *st;
	struct meta *m;
	int r;

	m = meta_new(dev);
	if (!m)
		return -ENOMEM;
	r = meta_pick_sb(m);
	if (r < 0)
		goto err_free;
	/* A namespace re-created with a larger alignment cannot map our units. */
	if (dev->kind == DEVICE_DEVDAX && m->sb.unit % dev->align) {
		log_err("%s: the pool's unit (%llu bytes) is not a multiple of the device's alignment (%llu bytes): clients could not map its extents; format it again",
			dev->path, (unsigned long long)m->sb.unit,
			(unsigned long long)dev->align);
		r = -EINVAL;
		goto err_free;
	}
	r = meta_replay(m);
	if (r < 0)
		goto err_free;
	st = meta_at(m, FMT_STATE_OFF);
	if (st->checksum != meta_crc(st, offsetof(struct fmt_state, checksum)) ||
	    st->next_extent_id == 0 || st->extent_hwm > m->sb.extent_slots) {
		log_err("%s: the state record is corrupt (checksum or counters)",
			dev->path);
		r = -EILSEQ;
		goto err_free;
	}
	m->state = *st;
	m->was_clean = m->sb.clean == 1;
	if (dev->usc_supported && m->sb.usc_valid && dev->usc != m->sb.usc)
		m->usc_changed = true;
	*out = m;
	return 0;

err_free:
	meta_free(m);
	return r;
}

/*
 * meta_mark_open -- record in the superblock that the pool is in use
 *
 * Clears the clean flag (a crash from now on is an unclean shutdown) and
 * stores the device's unsafe shutdown count for the next start to compare.
 */
int meta_mark_open(struct meta *m)
{
	m->sb.clean = 0;
	m->sb.usc_valid = m->dev->usc_supported;
	m->sb.usc = m->dev->usc_supported ? m->dev->usc : 0;
	meta_write_sb(m);
	return 0;
}

/* meta_close -- commit what is staged, set the clean flag, free m */
void meta_close(struct meta *m, bool clean)
{
	if (!m)
		return;
	if (clean) {
		meta_commit(m);
		m->sb.clean = 1;
		meta_write_sb(m);
	}
	meta_free(m);
}

/*
 * meta_begin -- make room for an operation's records in this transaction
 *
 * An operation's records must land in one transaction; when the batch
 * cannot take `bytes` more, the batch is committed first (its operations
 * are complete, so committing them early is harmless).
 */
int meta_begin(struct meta *m, size_t bytes)
{
	/*
	 * The state record is appended at commit: keep its room too, entry
	 * head included.
	 */
	size_t need = bytes + 2 * sizeof(struct fmt_jentry) +
		      sizeof(struct fmt_state);

	if (need > m->txn_cap)
		return -E2BIG;
	if (m->txn_bytes + need > m->txn_cap)
		return meta_commit(m);
	return 0;
}

/* meta_stage -- add "write data at offset" to the current transaction */
int meta_stage(struct meta *m, uint64_t offset, const void *data, uint32_t len)
{
	struct fmt_jentry e = { .offset = offset, .len = len };
	size_t padded = meta_round_up(len, 8);

	if (!meta_entry_valid(m, offset, len))
		return -EINVAL;
	if (m->txn_bytes + sizeof(e) + padded > m->txn_cap)
		return -ENOSPC; /* a caller skipped meta_begin() */
	memcpy(m->txn + m->txn_bytes, &e, sizeof(e));
	memcpy(m->txn + m->txn_bytes + sizeof(e), data, len);
	memset(m->txn + m->txn_bytes + sizeof(e) + len, 0, padded - len);
	m->txn_bytes += sizeof(e) + padded;
	m->txn_entries++;
	return 0;
}

/*
 * meta_commit -- make the staged transaction durable and apply it
 *
 * Two drains: one for the journal (the commit point), one for the homes.
 * The journal is stored whole and flushed once (one msync on a file pool).
 */
int meta_commit(struct meta *m)
{
	uint8_t *jbase = m->base + m->sb.journal_off;
	struct fmt_jheader jh;
	const uint8_t *p, *end;
	int r;

	if (m->state_dirty) {
		m->state.checksum = meta_crc(&m->state,
					     offsetof(struct fmt_state, checksum));
		r = meta_stage(m, FMT_STATE_OFF, &m->state, sizeof(m->state));
		if (r < 0)
			return r;
		m->state_dirty = false;
	}
	if (!m->txn_entries)
		return 0;

	memset(&jh, 0, sizeof(jh));
	memcpy(jh.magic, FMT_JMAGIC, sizeof(jh.magic));
	jh.seq = ++m->seq;
	jh.bytes = m->txn_bytes;
	jh.entries = m->txn_entries;
	jh.checksum = meta_crc(&jh, offsetof(struct fmt_jheader, checksum));
	jh.checksum = meta_crc_continue(jh.checksum, m->txn, m->txn_bytes);

	/* Header and entries are one range: one flush covers both. */
	device_store(m->dev, jbase + sizeof(jh), m->txn, m->txn_bytes);
	device_store(m->dev, jbase, &jh, sizeof(jh));
	device_flush(m->dev, jbase, sizeof(jh) + m->txn_bytes);
	device_drain(m->dev); /* commit point */

	p = m->txn;
	end = m->txn + m->txn_bytes;
	while (p < end) {
		struct fmt_jentry e;

		memcpy(&e, p, sizeof(e));
		p += sizeof(e);
		device_memcpy(m->dev, m->base + e.offset, p, e.len);
		p += meta_round_up(e.len, 8);
	}
	device_drain(m->dev);

	m->stats.commits++;
	m->stats.entries += m->txn_entries;
	m->stats.bytes += m->txn_bytes;
	m->txn_bytes = 0;
	m->txn_entries = 0;
	return 0;
}
