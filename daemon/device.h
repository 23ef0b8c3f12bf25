/* SPDX-License-Identifier: Apache-2.0 */
/*
 * device.h -- the namespace daxallocd owns: open, map, persist, validate
 *
 * The device layer is the only code that touches libpmem2, libndctl and
 * libdaxctl.  A device is one of three kinds: a devdax character device
 * (validated through libndctl/libdaxctl), a regular file (the development
 * pool), or an in-memory simulation that can lose power (crash tests).
 * All three are mapped once, whole, and written by the daemon only through
 * device_persist() and friends; clients map their extents themselves.
 *
 * No globals: several devices may be open in one process at once.
 */
#ifndef DAXALLOCD_DEVICE_H
#define DAXALLOCD_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The file backend's allocation unit when the configuration gives none. */
#define DEVICE_DEFAULT_UNIT (2ULL << 20)

enum device_kind { DEVICE_FILE, DEVICE_DEVDAX, DEVICE_SIM };

struct device_badblock {
	uint64_t offset; /* bytes from device start */
	uint64_t length; /* bytes */
};

struct device_config {
	/* /dev/daxX.Y, an ndctl namespace name ("namespace0.0") or a file */
	const char *path;
	/* file: size to create when absent (0: refuse); must be 0 for devdax */
	uint64_t size;
	/* file: allocation unit, a power of two >= the page size (0: 2 MiB);
	 * devdax: ignored, the device alignment is used */
	uint64_t unit;
};

struct device;

/*
 * The write path of one backend.  memcpy_nodrain and memset_nodrain store
 * and flush but do not drain, like libpmem2's PMEM2_F_MEM_NODRAIN.
 */
struct device_ops {
	void (*persist)(struct device *d, const void *addr, size_t len);
	void (*flush)(struct device *d, const void *addr, size_t len);
	void (*drain)(struct device *d);
	void (*memcpy_nodrain)(struct device *d, void *dst, const void *src,
			       size_t len);
	void (*memset_nodrain)(struct device *d, void *dst, int c, size_t len);
	/* store only: neither flush nor drain (PMEM2_F_MEM_NOFLUSH) */
	void (*memcpy_noflush)(struct device *d, void *dst, const void *src,
			       size_t len);
	void (*close)(struct device *d); /* release priv and the mapping */
};

struct device {
	enum device_kind kind;
	char *path; /* resolved path actually opened */
	int fd; /* O_RDWR | O_CLOEXEC, flock'ed, kept open; -1 for sim */
	uint64_t size; /* usable bytes, a multiple of align */
	uint64_t align; /* devdax: device alignment; file: unit; sim: align */
	int numa_node; /* -1 when unknown */
	bool created; /* this open created the file (the caller formats it) */
	void *addr; /* the whole device, MAP_SHARED, for metadata only */
	bool usc_supported; /* unsafe shutdown count available */
	uint64_t usc;
	struct device_badblock *badblocks; /* sorted by offset, disjoint */
	unsigned int nbadblocks;
	const struct device_ops *ops;
	void *priv; /* the backend's state */
};

/**
 * device_open() - open, lock, validate and map a device
 * @cfg: what to open
 * @out: the device, on success
 *
 * A path naming an ndctl namespace ("namespace0.0") is resolved to its
 * /dev/daxX.Y.  A character device must be device-dax; a regular file is
 * created sparse when absent and @cfg->size is not 0.  The device is locked
 * with flock(LOCK_EX) so that two daemons never own one device.
 *
 * Return: 0, or a negative errno after logging why: -ENOENT (no such path
 * or namespace), -EBUSY (another process holds the device), -ENODEV (not
 * devdax: a block device, another character device, a namespace in the
 * wrong mode), -EINVAL (bad configuration or geometry), -EISDIR, ...
 */
int device_open(const struct device_config *cfg, struct device **out);

/**
 * device_close() - unmap, unlock and free a device
 * @d: the device, or NULL
 */
void device_close(struct device *d);

/**
 * device_open_fd() - a new descriptor for the same device, for a client
 * @d: an open file or devdax device
 * @flags: O_RDONLY or O_RDWR (O_CLOEXEC is always added)
 *
 * The descriptor is a new open file description, so it does not share
 * the daemon's flock: a client that keeps it after the daemon died cannot
 * keep a restarted daemon from locking the device, and a read-only client
 * can be given an O_RDONLY descriptor.  The device identity is checked
 * against @d->fd, so a path replaced meanwhile is refused.
 *
 * Return: the descriptor, or a negative errno (-ENXIO when the path now
 * names something else, -EOPNOTSUPP for a simulated device).
 */
int device_open_fd(const struct device *d, int flags);

/*
 * The metadata write path, the only way the daemon writes the device.
 * Addresses lie inside [d->addr, d->addr + d->size).
 */

/* device_persist() - flush and drain: [addr, addr + len) is durable */
void device_persist(struct device *d, const void *addr, size_t len);
/* device_flush() - start writing back [addr, addr + len); durable at drain */
void device_flush(struct device *d, const void *addr, size_t len);
/* device_drain() - wait until every flush so far is durable */
void device_drain(struct device *d);
/* device_memcpy() - copy and flush, no drain */
void device_memcpy(struct device *d, void *dst, const void *src, size_t len);
/*
 * device_store() - copy only; a later device_flush() of a range covering
 * it (and a drain) makes it durable.  For several stores into one range:
 * one flush instead of one per store.
 */
void device_store(struct device *d, void *dst, const void *src, size_t len);
/* device_memset() - set and flush, no drain */
void device_memset(struct device *d, void *dst, int c, size_t len);

/**
 * device_has_badblock() - does [offset, offset + len) touch a bad block?
 * @d: the device
 * @offset: bytes from the device start
 * @len: bytes; 0 never touches anything
 */
bool device_has_badblock(const struct device *d, uint64_t offset, uint64_t len);

/*
 * device_prefault() - map [addr, addr + len) into the page tables now
 *
 * For reading a large table once: one call instead of a page fault per
 * page.  Advisory: failures (old kernels, devices that refuse) are ignored.
 */
void device_prefault(struct device *d, const void *addr, size_t len);

/* device_kind_name() - "file", "devdax", "sim" */
const char *device_kind_name(enum device_kind kind);

/*
 * Simulated device (device_sim.c): no file, no libpmem2.  addr is the CPU's
 * view ("work"); a hidden buffer is the durable "media".  A flush marks the
 * 64-byte lines it covers pending, a drain copies pending lines to media,
 * a persist is a flush plus a drain.  Power can be lost at a chosen drain
 * point, and device_sim_crash() then "reboots" with a seeded choice of
 * which dirty lines made it.  Only the first device_sim_track() bytes (the
 * metadata area; default: everything) follow this model; bytes after them
 * behave like ideal memory, every store durable at once.
 */

/**
 * device_sim_new() - make a simulated device of zeroes
 * @size: bytes, a multiple of @align
 * @align: allocation unit, a power of two >= 64
 * @out: the device (kind DEVICE_SIM, fd -1, created true)
 *
 * Return: 0, -EINVAL for a bad geometry, -ENOMEM.
 */
int device_sim_new(uint64_t size, uint64_t align, struct device **out);

/**
 * device_sim_track() - put only the first @len bytes under the crash model
 * @d: a simulated device whose power is on
 * @len: bytes, rounded up to 64 and capped at the size
 *
 * Crash points then cost work in proportion to @len, not to the size.
 * Bytes that become tracked count as durable from now on.
 */
void device_sim_track(struct device *d, uint64_t len);

/**
 * device_sim_fail_after() - lose power at the (n+1)-th drain point from now
 * @d: a simulated device
 * @n: drain points after this call that still reach media; ULONG_MAX:
 *     never fail
 *
 * The failing drain and everything after it never reach media.  To cut a
 * piece of work at each of its drain points: note device_sim_drains()
 * before and after one clean run to learn its count D, then for n in 0..D
 * arm fail_after(n) just before the work, crash, recover and check.
 */
void device_sim_fail_after(struct device *d, unsigned long n);

/* device_sim_drains() - drain points so far (a persist counts as one) */
unsigned long device_sim_drains(const struct device *d);

/* device_sim_power_lost() - has the armed failure happened? */
bool device_sim_power_lost(const struct device *d);

/**
 * device_sim_crash() - reboot: keep what reached media, and maybe more
 * @d: a simulated device
 * @seed: seeds the choice of surviving lines, so a failure replays
 * @survive_pct: chance in percent (0..100) that each dirty line survives
 *
 * The tracked bytes become, in media and in work: the media as it was when
 * power was lost (or now, if it never was), plus, for each line that was
 * dirty at that moment (work != media, flushed or not), its content from
 * that moment with probability @survive_pct.  Stores made after the loss
 * never show.  Re-arms to never fail and resets the drain count.
 */
void device_sim_crash(struct device *d, uint64_t seed,
		      unsigned int survive_pct);

/**
 * device_sim_add_badblock() - mark a range bad, for allocator tests
 * @d: a simulated device
 * @offset: bytes from the device start
 * @length: bytes, not 0
 *
 * Return: 0, -EINVAL outside the device, -ENOMEM.
 */
int device_sim_add_badblock(struct device *d, uint64_t offset, uint64_t length);

/*
 * Between the device_*.c files only; the rest of the daemon has no use
 * for these.
 */

/* device.c */
int device_badblock_add(struct device *d, uint64_t offset, uint64_t length);

/* device_pmem2.c */
int device_pmem2_open(struct device *d, bool geometry_from_pmem2);

/* device_ndctl.c */
bool device_ndctl_is_namespace_name(const char *s);
int device_ndctl_resolve(const char *name, char **path);
int device_ndctl_chr_is_dax(dev_t rdev);
int device_ndctl_refuse_blockdev(const char *path, dev_t rdev);
int device_ndctl_probe(struct device *d, dev_t rdev);

#endif /* DAXALLOCD_DEVICE_H */
