// SPDX-License-Identifier: Apache-2.0
/*
 * device_pmem2.c -- mapping and persistence through libpmem2
 *
 * Files and devdax take the same path: one source from the locked fd, one
 * shared mapping of the whole device, and libpmem2's persist, flush,
 * drain, memcpy and memset for the write path, which pick the right
 * instructions (CLWB, CLFLUSHOPT, non-temporal stores, or msync for a
 * file on ordinary storage).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <libpmem2.h>

#include "device.h"
#include "log.h"

struct device_pmem2 {
	struct pmem2_source *src;
	struct pmem2_map *map;
	pmem2_persist_fn persist;
	pmem2_flush_fn flush;
	pmem2_drain_fn drain;
	pmem2_memcpy_fn memcpy_fn;
	pmem2_memset_fn memset_fn;
};

static const char *const device_pmem2_granularity_names[] = {
	[PMEM2_GRANULARITY_BYTE] = "byte (eADR, no flushes needed)",
	[PMEM2_GRANULARITY_CACHE_LINE] = "cache line (CPU cache flushes)",
	[PMEM2_GRANULARITY_PAGE] = "page (msync)",
};

/* device_pmem2_granularity_name -- how durability is reached, in words */
static const char *device_pmem2_granularity_name(enum pmem2_granularity g)
{
	if ((unsigned int)g >=
	    sizeof(device_pmem2_granularity_names) /
		    sizeof(device_pmem2_granularity_names[0]))
		return "unknown";
	return device_pmem2_granularity_names[g];
}

/*
 * device_pmem2_errno -- a libpmem2 return value as a negative errno
 *
 * libpmem2 returns either -errno or one of its own PMEM2_E_* codes (all
 * at or below -100000).  Its header declares pmem2_err_to_errno(), but
 * libpmem2 1.12.1 does not export it, so the mapping is ours: the codes
 * that have a natural errno get it, the rest mean a bad argument.
 */
static int device_pmem2_errno(int r)
{
	if (r > PMEM2_E_UNKNOWN)
		return r < 0 ? r : -EIO;
	switch (r) {
	case PMEM2_E_NOSUPP:
	case PMEM2_E_GRANULARITY_NOT_SUPPORTED:
	case PMEM2_E_SOURCE_TYPE_NOT_SUPPORTED:
		return -EOPNOTSUPP;
	case PMEM2_E_INVALID_FILE_TYPE:
	case PMEM2_E_DAX_REGION_NOT_FOUND:
		return -ENODEV;
	case PMEM2_E_NO_ACCESS:
		return -EACCES;
	case PMEM2_E_IO_FAIL:
		return -EIO;
	case PMEM2_E_MAP_RANGE:
	case PMEM2_E_LENGTH_OUT_OF_RANGE:
	case PMEM2_E_OFFSET_OUT_OF_RANGE:
		return -ERANGE;
	default:
		return -EINVAL;
	}
}

/*
 * device_pmem2_unsupported -- does this code mean "not on this source"?
 *
 * Bad blocks, unsafe shutdown counts and NUMA nodes exist only for
 * persistent memory that libndctl can see; for a file on ordinary storage,
 * or an emulated DIMM, libpmem2 says so with one of these codes.
 */
static bool device_pmem2_unsupported(int r)
{
	return r == PMEM2_E_NOSUPP || r == PMEM2_E_DAX_REGION_NOT_FOUND ||
	       r == PMEM2_E_NO_BAD_BLOCK_FOUND ||
	       r == PMEM2_E_SOURCE_TYPE_NOT_SUPPORTED ||
	       r == PMEM2_E_INVALID_FILE_TYPE || r == -ENOTSUP;
}

/* device_pmem2_persist -- flush and drain through libpmem2 */
static void device_pmem2_persist(struct device *d, const void *addr, size_t len)
{
	struct device_pmem2 *p = d->priv;

	p->persist(addr, len);
}

/* device_pmem2_flush -- flush through libpmem2 */
static void device_pmem2_flush(struct device *d, const void *addr, size_t len)
{
	struct device_pmem2 *p = d->priv;

	p->flush(addr, len);
}

/* device_pmem2_drain -- drain through libpmem2 */
static void device_pmem2_drain(struct device *d)
{
	struct device_pmem2 *p = d->priv;

	p->drain();
}

/* device_pmem2_memcpy -- copy and flush, the drain left to the caller */
static void device_pmem2_memcpy(struct device *d, void *dst, const void *src,
				size_t len)
{
	struct device_pmem2 *p = d->priv;

	p->memcpy_fn(dst, src, len, PMEM2_F_MEM_NODRAIN);
}

/* device_pmem2_store -- copy, leaving flush and drain to the caller */
static void device_pmem2_store(struct device *d, void *dst, const void *src,
			       size_t len)
{
	struct device_pmem2 *p = d->priv;

	p->memcpy_fn(dst, src, len, PMEM2_F_MEM_NOFLUSH);
}

/* device_pmem2_memset -- set and flush, the drain left to the caller */
static void device_pmem2_memset(struct device *d, void *dst, int c, size_t len)
{
	struct device_pmem2 *p = d->priv;

	p->memset_fn(dst, c, len, PMEM2_F_MEM_NODRAIN);
}

/* device_pmem2_close -- unmap and drop the source */
static void device_pmem2_close(struct device *d)
{
	struct device_pmem2 *p = d->priv;

	if (!p)
		return;
	pmem2_map_delete(&p->map);
	pmem2_source_delete(&p->src);
	free(p);
	d->priv = NULL;
	d->addr = NULL;
}

static const struct device_ops device_pmem2_ops = {
	.persist = device_pmem2_persist,
	.flush = device_pmem2_flush,
	.drain = device_pmem2_drain,
	.memcpy_nodrain = device_pmem2_memcpy,
	.memset_nodrain = device_pmem2_memset,
	.memcpy_noflush = device_pmem2_store,
	.close = device_pmem2_close,
};

/*
 * device_pmem2_geometry -- take or check the size and alignment
 *
 * For devdax that libndctl/libdaxctl did not describe, libpmem2's view
 * (read from sysfs) is the geometry.  Otherwise it must agree with what
 * we have, since the mapping covers what libpmem2 thinks the device is.
 */
static int device_pmem2_geometry(struct device *d, struct device_pmem2 *p,
				 bool from_pmem2)
{
	size_t size, align;
	int r;

	r = pmem2_source_size(p->src, &size);
	if (r < 0) {
		log_err("%s: cannot read the size: %s", d->path,
			pmem2_errormsg());
		return device_pmem2_errno(r);
	}
	r = pmem2_source_alignment(p->src, &align);
	if (r < 0) {
		log_err("%s: cannot read the alignment: %s", d->path,
			pmem2_errormsg());
		return device_pmem2_errno(r);
	}
	if (from_pmem2) {
		d->size = size;
		d->align = align;
		log_info("%s: libpmem2 reports %zu bytes, alignment %zu",
			 d->path, size, align);
	} else if (size < d->size) {
		log_warn("%s: libpmem2 sees %zu bytes, less than the %" PRIu64
			 " expected; using %zu",
			 d->path, size, d->size, size);
		d->size = size;
	}
	if (d->kind == DEVICE_DEVDAX && align > d->align) {
		log_err("%s: libpmem2 needs alignment %zu, the device reports "
			"%" PRIu64,
			d->path, align, d->align);
		return -EINVAL;
	}
	if (!d->align || (d->align & (d->align - 1))) {
		log_err("%s: alignment %" PRIu64 " is not a power of two",
			d->path, d->align);
		return -EINVAL;
	}
	if (d->size % d->align) {
		uint64_t usable = d->size - d->size % d->align;

		log_warn("%s: %" PRIu64 " bytes is not a multiple of the "
			 "alignment %" PRIu64 "; using %" PRIu64,
			 d->path, d->size, d->align, usable);
		d->size = usable;
	}
	if (!d->size) {
		log_err("%s: no usable bytes", d->path);
		return -EINVAL;
	}
	return 0;
}

/*
 * device_pmem2_map -- map the whole device, finest granularity first
 *
 * Cache-line granularity is what devdax gives (byte, with eADR, comes for
 * free when asked for cache line).  A file on ordinary storage only offers
 * page granularity, where libpmem2 persists with msync(); that is right for
 * the development pool and never acceptable for devdax.
 */
static int device_pmem2_map(struct device *d, struct device_pmem2 *p)
{
	enum pmem2_granularity want = PMEM2_GRANULARITY_CACHE_LINE;
	struct pmem2_config *cfg;
	int r;

	r = pmem2_config_new(&cfg);
	if (r < 0) {
		log_err("%s: pmem2_config_new: %s", d->path, pmem2_errormsg());
		return device_pmem2_errno(r);
	}
	r = pmem2_config_set_length(cfg, d->size);
	if (r < 0) {
		log_err("%s: cannot map %" PRIu64 " bytes: %s", d->path,
			d->size, pmem2_errormsg());
		goto err_cfg;
	}
	for (;;) {
		r = pmem2_config_set_required_store_granularity(cfg, want);
		if (r < 0) {
			log_err("%s: cannot ask for %s granularity: %s",
				d->path, device_pmem2_granularity_name(want),
				pmem2_errormsg());
			goto err_cfg;
		}
		r = pmem2_map_new(&p->map, cfg, p->src);
		if (r != PMEM2_E_GRANULARITY_NOT_SUPPORTED ||
		    d->kind != DEVICE_FILE || want == PMEM2_GRANULARITY_PAGE)
			break;
		log_info("%s: not on persistent memory (%s); falling back "
			 "to page granularity",
			 d->path, pmem2_errormsg());
		want = PMEM2_GRANULARITY_PAGE;
	}
	if (r < 0) {
		log_err("%s: cannot map %" PRIu64 " bytes: %s", d->path,
			d->size, pmem2_errormsg());
		goto err_cfg;
	}
	pmem2_config_delete(&cfg);
	d->addr = pmem2_map_get_address(p->map);
	log_info("%s: mapped %" PRIu64 " bytes, store granularity %s", d->path,
		 d->size,
		 device_pmem2_granularity_name(
			 pmem2_map_get_store_granularity(p->map)));
	p->persist = pmem2_get_persist_fn(p->map);
	p->flush = pmem2_get_flush_fn(p->map);
	p->drain = pmem2_get_drain_fn(p->map);
	p->memcpy_fn = pmem2_get_memcpy_fn(p->map);
	p->memset_fn = pmem2_get_memset_fn(p->map);
	return 0;

err_cfg:
	pmem2_config_delete(&cfg);
	return device_pmem2_errno(r);
}

/*
 * device_pmem2_badblocks -- record the known bad blocks of the source
 *
 * "Not supported here" is the normal answer for a file on ordinary storage
 * and means there are none we can know of; it never fails the open.  A
 * real failure to read them on persistent memory is logged and the open
 * goes on: refusing to start would not make the media better, and the
 * allocator still works around those it is told about.
 */
static int device_pmem2_badblocks(struct device *d, struct device_pmem2 *p)
{
	struct pmem2_badblock_context *bbctx;
	struct pmem2_badblock bb;
	int r;

	r = pmem2_badblock_context_new(&bbctx, p->src);
	if (r < 0) {
		if (d->kind == DEVICE_FILE || device_pmem2_unsupported(r))
			log_debug("%s: no bad block information (%d: %s)",
				  d->path, r, pmem2_errormsg());
		else
			log_warn("%s: cannot read bad blocks: %s", d->path,
				 pmem2_errormsg());
		return 0;
	}
	while ((r = pmem2_badblock_next(bbctx, &bb)) == 0) {
		if (bb.offset >= d->size)
			continue;
		log_warn("%s: bad block at %zu, %zu bytes", d->path, bb.offset,
			 bb.length);
		r = device_badblock_add(d, bb.offset, bb.length);
		if (r < 0)
			goto out_ctx;
	}
	if (r == PMEM2_E_NO_BAD_BLOCK_FOUND)
		log_debug("%s: %u bad block(s) known", d->path, d->nbadblocks);
	else if (d->kind == DEVICE_FILE || device_pmem2_unsupported(r))
		log_debug("%s: no bad block information (%d: %s)", d->path, r,
			  pmem2_errormsg());
	else
		log_warn("%s: reading bad blocks stopped early: %s", d->path,
			 pmem2_errormsg());
	r = 0;

out_ctx:
	pmem2_badblock_context_delete(&bbctx);
	return r;
}

/*
 * device_pmem2_usc -- read the unsafe shutdown count, if there is one
 *
 * The emulated DIMM answers PMEM2_E_NOSUPP, a file on ordinary storage
 * too, and reading it on real DIMMs can need privileges: every failure
 * means "not available" and the superblock then records none.
 */
static void device_pmem2_usc(struct device *d, struct device_pmem2 *p)
{
	int r;

	r = pmem2_source_device_usc(p->src, &d->usc);
	d->usc_supported = r == 0;
	if (!r)
		log_info("%s: unsafe shutdown count %" PRIu64, d->path, d->usc);
	else if (d->kind == DEVICE_DEVDAX && !device_pmem2_unsupported(r))
		log_notice("%s: unsafe shutdown count not available: %s",
			   d->path, pmem2_errormsg());
	else
		log_debug("%s: unsafe shutdown count not available (%d: %s)",
			  d->path, r, pmem2_errormsg());
	if (r)
		d->usc = 0;
}

/* device_pmem2_numa -- the NUMA node, when libndctl did not give one */
static void device_pmem2_numa(struct device *d, struct device_pmem2 *p)
{
	int node, r;

	if (d->numa_node >= 0)
		return;
	r = pmem2_source_numa_node(p->src, &node);
	if (r == 0 && node >= 0)
		d->numa_node = node;
	else
		log_debug("%s: numa node not available (%d: %s)", d->path, r,
			  r ? pmem2_errormsg() : "negative node");
}

/*
 * device_pmem2_open -- map an opened, locked file or devdax device
 *
 * geometry_from_pmem2 is set for devdax that libndctl/libdaxctl did not
 * describe: libpmem2 then provides the size and alignment.
 */
int device_pmem2_open(struct device *d, bool geometry_from_pmem2)
{
	struct device_pmem2 *p;
	int r;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	r = pmem2_source_from_fd(&p->src, d->fd);
	if (r < 0) {
		log_err("%s: libpmem2 refuses it: %s", d->path,
			pmem2_errormsg());
		r = device_pmem2_errno(r);
		goto err_free;
	}
	r = device_pmem2_geometry(d, p, geometry_from_pmem2);
	if (r < 0)
		goto err_source;
	r = device_pmem2_map(d, p);
	if (r < 0)
		goto err_source;
	r = device_pmem2_badblocks(d, p);
	if (r < 0)
		goto err_map;
	device_pmem2_usc(d, p);
	device_pmem2_numa(d, p);
	d->priv = p;
	d->ops = &device_pmem2_ops;
	return 0;

err_map:
	pmem2_map_delete(&p->map);
	d->addr = NULL;
err_source:
	pmem2_source_delete(&p->src);
err_free:
	free(p);
	return r;
}
