// SPDX-License-Identifier: Apache-2.0
/*
 * device_sim.c -- an in-memory device that can lose power, for crash tests
 *
 * Two buffers of the device's size: "work", what the CPU sees (d->addr),
 * and "media", what would survive a power failure.  The write path moves
 * data between them the way CPU caches and the persistence domain do:
 *
 *   store          work only
 *   flush          marks the 64-byte lines it covers pending
 *   drain          copies pending lines from work to media
 *   persist        flush + drain, one drain point
 *
 * Power is lost at a chosen drain point: from then on nothing reaches
 * media, and a copy of work is taken so that device_sim_crash() knows which
 * lines were dirty at that moment.  A crash then keeps media and lets each
 * of those dirty lines through with a given probability (a line that was
 * flushed but not drained may or may not have made it; so may a line never
 * flushed, which the cache could have evicted on its own).
 *
 * Only the first "tracked" bytes (the metadata area) are modelled, so that
 * the cost of a drain is the lines it writes and the cost of a crash is the
 * tracked length, never the whole device.  Both buffers are anonymous
 * MAP_NORESERVE mappings: pages nobody touches cost nothing.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "device.h"
#include "log.h"

#define DEVICE_SIM_LINE 64ULL
#define DEVICE_SIM_PAGE 4096ULL

struct device_sim {
	unsigned char *media; /* durable content */
	unsigned char *snap; /* work at the moment power was lost */
	uint64_t track; /* modelled bytes, a multiple of the line */
	uint64_t *pending; /* bitmap: line flushed, not yet drained */
	uint64_t *queue; /* the pending lines, so drain is O(pending) */
	size_t nqueue, cqueue;
	unsigned long drains; /* drain points since new or crash */
	unsigned long fail_at; /* the drain point that loses power */
	bool lost;
};

/* device_sim_map -- anonymous memory that costs nothing until touched */
static void *device_sim_map(uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* device_sim_of -- the simulation state of a DEVICE_SIM device */
static struct device_sim *device_sim_of(const struct device *d)
{
	if (d->kind != DEVICE_SIM) {
		log_err("%s: not a simulated device", d->path);
		abort();
	}
	return d->priv;
}

/* device_sim_forget_pending -- drop every pending mark */
static void device_sim_forget_pending(struct device_sim *s)
{
	size_t i;

	for (i = 0; i < s->nqueue; i++)
		s->pending[s->queue[i] / 64] &= ~(1ULL << (s->queue[i] % 64));
	s->nqueue = 0;
}

/*
 * device_sim_flush -- mark the tracked lines of a range pending
 *
 * Lines past the tracked length are ideal memory, durable already.  After
 * a power loss a flush changes nothing: nothing reaches media any more.
 */
static void device_sim_flush(struct device *d, const void *addr, size_t len)
{
	struct device_sim *s = d->priv;
	uint64_t off = (uint64_t)((const unsigned char *)addr -
				  (const unsigned char *)d->addr);
	uint64_t first, last, line;

	if (!len || s->lost || off >= s->track)
		return;
	first = off / DEVICE_SIM_LINE;
	last = (off + len - 1) / DEVICE_SIM_LINE;
	if (last >= s->track / DEVICE_SIM_LINE)
		last = s->track / DEVICE_SIM_LINE - 1;
	for (line = first; line <= last; line++) {
		uint64_t bit = 1ULL << (line % 64);

		if (s->pending[line / 64] & bit)
			continue;
		if (s->nqueue == s->cqueue) {
			size_t cap = s->cqueue ? 2 * s->cqueue : 1024;
			uint64_t *q = realloc(s->queue, cap * sizeof(*q));

			if (!q) {
				/* A test harness without memory cannot go on
				 * telling the truth about durability. */
				log_err("%s: out of memory", d->path);
				abort();
			}
			s->queue = q;
			s->cqueue = cap;
		}
		s->pending[line / 64] |= bit;
		s->queue[s->nqueue++] = line;
	}
}

/*
 * device_sim_drain -- one drain point: pending lines reach media
 *
 * Unless this is the drain armed to fail: then power is lost here, work
 * is photographed for device_sim_crash(), and this drain does nothing.
 */
static void device_sim_drain(struct device *d)
{
	struct device_sim *s = d->priv;
	size_t i;

	if (s->drains < ULONG_MAX)
		s->drains++;
	if (s->lost)
		return;
	if (s->drains == s->fail_at) {
		s->lost = true;
		memcpy(s->snap, d->addr, s->track);
		device_sim_forget_pending(s);
		return;
	}
	for (i = 0; i < s->nqueue; i++) {
		uint64_t off = s->queue[i] * DEVICE_SIM_LINE;

		memcpy(s->media + off, (unsigned char *)d->addr + off,
		       DEVICE_SIM_LINE);
		s->pending[s->queue[i] / 64] &= ~(1ULL << (s->queue[i] % 64));
	}
	s->nqueue = 0;
}

/* device_sim_persist -- flush and drain, one drain point */
static void device_sim_persist(struct device *d, const void *addr, size_t len)
{
	device_sim_flush(d, addr, len);
	device_sim_drain(d);
}

/* device_sim_memcpy -- copy and flush, no drain */
static void device_sim_memcpy(struct device *d, void *dst, const void *src,
			      size_t len)
{
	memmove(dst, src, len);
	device_sim_flush(d, dst, len);
}

/* device_sim_store -- copy only: the lines are dirty, not yet flushed */
static void device_sim_store(struct device *d, void *dst, const void *src,
			     size_t len)
{
	memmove(dst, src, len);
}

/* device_sim_memset -- set and flush, no drain */
static void device_sim_memset(struct device *d, void *dst, int c, size_t len)
{
	memset(dst, c, len);
	device_sim_flush(d, dst, len);
}

/* device_sim_close -- release both buffers and the bookkeeping */
static void device_sim_close(struct device *d)
{
	struct device_sim *s = d->priv;

	if (!s)
		return;
	munmap(d->addr, d->size);
	munmap(s->media, d->size);
	munmap(s->snap, d->size);
	free(s->pending);
	free(s->queue);
	free(s);
	d->priv = NULL;
	d->addr = NULL;
}

static const struct device_ops device_sim_ops = {
	.persist = device_sim_persist,
	.flush = device_sim_flush,
	.drain = device_sim_drain,
	.memcpy_nodrain = device_sim_memcpy,
	.memset_nodrain = device_sim_memset,
	.memcpy_noflush = device_sim_store,
	.close = device_sim_close,
};

/* device_sim_new -- make a simulated device of zeroes */
int device_sim_new(uint64_t size, uint64_t align, struct device **out)
{
	struct device_sim *s;
	struct device *d;

	*out = NULL;
	if (align < DEVICE_SIM_LINE || (align & (align - 1)) || !size ||
	    size % align || size > SIZE_MAX / 2) {
		log_err("simulated device: size %" PRIu64 " and alignment "
			"%" PRIu64 " do not make a device",
			size, align);
		return -EINVAL;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	s = calloc(1, sizeof(*s));
	if (!s)
		goto err_device;
	d->path = strdup("(simulated)");
	if (!d->path)
		goto err_sim;
	d->addr = device_sim_map(size);
	if (!d->addr)
		goto err_path;
	s->media = device_sim_map(size);
	if (!s->media)
		goto err_work;
	s->snap = device_sim_map(size);
	if (!s->snap)
		goto err_media;
	/* One bit per line of the whole device: tracking may grow. */
	s->pending =
		calloc((size / DEVICE_SIM_LINE + 63) / 64, sizeof(*s->pending));
	if (!s->pending)
		goto err_snap;
	s->track = size;
	s->fail_at = ULONG_MAX;

	d->kind = DEVICE_SIM;
	d->fd = -1;
	d->size = size;
	d->align = align;
	d->numa_node = -1;
	d->created = true;
	d->ops = &device_sim_ops;
	d->priv = s;
	*out = d;
	return 0;

err_snap:
	munmap(s->snap, size);
err_media:
	munmap(s->media, size);
err_work:
	munmap(d->addr, size);
err_path:
	free(d->path);
err_sim:
	free(s);
err_device:
	free(d);
	return -ENOMEM;
}

/* device_sim_track -- put only the first len bytes under the crash model */
void device_sim_track(struct device *d, uint64_t len)
{
	struct device_sim *s = device_sim_of(d);
	uint64_t track;
	size_t i, j;

	if (s->lost) {
		log_err("%s: the tracked length cannot change while power is "
			"lost",
			d->path);
		abort();
	}
	track = len > d->size - DEVICE_SIM_LINE ?
			d->size :
			(len + DEVICE_SIM_LINE - 1) & ~(DEVICE_SIM_LINE - 1);
	if (track > s->track) {
		/* Ideal memory until now: durable as it stands. */
		memcpy(s->media + s->track, (unsigned char *)d->addr + s->track,
		       track - s->track);
	} else {
		/* Pending lines beyond the new end are ideal memory now. */
		for (i = j = 0; i < s->nqueue; i++) {
			uint64_t line = s->queue[i];

			if (line * DEVICE_SIM_LINE < track) {
				s->queue[j++] = line;
				continue;
			}
			s->pending[line / 64] &= ~(1ULL << (line % 64));
		}
		s->nqueue = j;
	}
	s->track = track;
}

/*
 * device_sim_fail_after -- lose power at the (n+1)-th drain point from now
 *
 * Counted from the call, so that a test can format, arm, and then step
 * the failure through the drain points of the work it wants to cut.
 */
void device_sim_fail_after(struct device *d, unsigned long n)
{
	struct device_sim *s = device_sim_of(d);

	if (n == ULONG_MAX || n >= ULONG_MAX - s->drains)
		s->fail_at = ULONG_MAX;
	else
		s->fail_at = s->drains + n + 1;
}

/* device_sim_drains -- drain points so far */
unsigned long device_sim_drains(const struct device *d)
{
	return device_sim_of(d)->drains;
}

/* device_sim_power_lost -- has the armed failure happened? */
bool device_sim_power_lost(const struct device *d)
{
	return device_sim_of(d)->lost;
}

/* device_sim_random -- splitmix64: small, fast, and the same everywhere */
static uint64_t device_sim_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* device_sim_crash -- reboot: keep what reached media, and maybe more */
void device_sim_crash(struct device *d, uint64_t seed, unsigned int survive_pct)
{
	struct device_sim *s = device_sim_of(d);
	unsigned char *work = d->addr;
	const unsigned char *then = s->lost ? s->snap : work;
	uint64_t state = seed, page, line;

	if (survive_pct > 100)
		survive_pct = 100;
	device_sim_forget_pending(s);
	/*
	 * Pages first: most of a metadata area is unchanged between two
	 * crash points, and a page compare is cheaper than 64 line ones.
	 */
	for (page = 0; page < s->track; page += DEVICE_SIM_PAGE) {
		uint64_t end = page + DEVICE_SIM_PAGE > s->track ?
				       s->track :
				       page + DEVICE_SIM_PAGE;

		if (!memcmp(then + page, s->media + page, end - page) &&
		    !memcmp(work + page, s->media + page, end - page))
			continue;
		for (line = page; line < end; line += DEVICE_SIM_LINE) {
			/* Dirty at the moment of loss: maybe it got out. */
			if (memcmp(then + line, s->media + line,
				   DEVICE_SIM_LINE) &&
			    device_sim_random(&state) % 100 < survive_pct)
				memcpy(s->media + line, then + line,
				       DEVICE_SIM_LINE);
			/* What the next reader sees is what survived. */
			if (memcmp(work + line, s->media + line,
				   DEVICE_SIM_LINE))
				memcpy(work + line, s->media + line,
				       DEVICE_SIM_LINE);
		}
	}
	s->lost = false;
	s->fail_at = ULONG_MAX;
	s->drains = 0;
}

/* device_sim_add_badblock -- mark a range bad, for allocator tests */
int device_sim_add_badblock(struct device *d, uint64_t offset, uint64_t length)
{
	device_sim_of(d);
	if (!length || offset >= d->size || length > d->size - offset)
		return -EINVAL;
	return device_badblock_add(d, offset, length);
}
