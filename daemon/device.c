// SPDX-License-Identifier: Apache-2.0
/*
 * device.c -- open, lock and close a device; the common write path
 *
 * device_open() decides the kind from what the path is, opens it, takes
 * the exclusive flock and checks the geometry; the backend files do the
 * rest: device_ndctl.c validates devdax through libndctl/libdaxctl and
 * device_pmem2.c maps and persists through libpmem2.  The simulated device
 * (device_sim.c) has its own constructor and shares only the write path.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/mman.h>
#include <unistd.h>

#include "device.h"
#include "log.h"

static const char *const device_kind_names[] = {
	[DEVICE_FILE] = "file",
	[DEVICE_DEVDAX] = "devdax",
	[DEVICE_SIM] = "sim",
};

/* device_kind_name -- "file", "devdax", "sim" */
const char *device_kind_name(enum device_kind kind)
{
	if ((unsigned int)kind >=
		    sizeof(device_kind_names) / sizeof(device_kind_names[0]) ||
	    !device_kind_names[kind])
		return "unknown";
	return device_kind_names[kind];
}

/* device_is_pow2 -- a power of two, not 0 */
static bool device_is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* device_file_type_name -- what a non-regular, non-device path is */
static const char *device_file_type_name(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISLNK(mode))
		return "a symbolic link";
	return "not a regular file";
}

/*
 * device_lock_holder -- pid that holds a flock on fd's inode, 0 if unknown
 *
 * /proc/locks lines read "N: FLOCK ADVISORY WRITE PID MAJ:MIN:INODE 0 EOF",
 * major and minor in hex, from the inode's filesystem (st_dev).  Lines of
 * waiters carry "->" after the number and are skipped.
 */
static pid_t device_lock_holder(int fd)
{
	unsigned int maj, min;
	unsigned long ino;
	char type[16], *line = NULL;
	size_t cap = 0;
	pid_t found = 0;
	struct stat st;
	FILE *f;
	int pid;

	if (fstat(fd, &st) < 0)
		return 0;
	f = fopen("/proc/locks", "re");
	if (!f)
		return 0;
	while (getline(&line, &cap, f) > 0) {
		if (sscanf(line, "%*d: %15s %*s %*s %d %x:%x:%lu", type, &pid,
			   &maj, &min, &ino) != 5)
			continue;
		if (strcmp(type, "FLOCK") || pid <= 0)
			continue;
		if (maj == major(st.st_dev) && min == minor(st.st_dev) &&
		    ino == (unsigned long)st.st_ino) {
			found = pid;
			break;
		}
	}
	free(line);
	fclose(f);
	return found;
}

/*
 * device_lock -- take the exclusive flock that makes the device ours
 *
 * flock rather than fcntl locks: a POSIX lock is dropped when the process
 * closes any descriptor of the file (a library reading the same device
 * would do), a flock only when the last descriptor of this open goes.
 * The flip side: whoever holds a dup of d->fd holds the lock too, which is
 * why clients get their own open from device_open_fd().
 */
static int device_lock(struct device *d)
{
	char proc[32];
	pid_t pid;

	if (flock(d->fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	if (errno != EWOULDBLOCK) {
		int r = -errno;

		log_err("cannot lock %s: %s", d->path, strerror(-r));
		return r;
	}
	pid = device_lock_holder(d->fd);
	snprintf(proc, sizeof(proc), "/proc/%d", (int)pid);
	if (!pid)
		log_err("%s is owned by another daxallocd", d->path);
	else if (pid == getpid())
		log_err("%s is owned by another daxallocd (pid %d): "
			"this process has it open already",
			d->path, (int)pid);
	else if (access(proc, F_OK) < 0)
		/* The lock lives as long as any descriptor of that open. */
		log_err("%s is owned by another daxallocd (pid %d, which has "
			"exited; a process that inherited or was passed its "
			"descriptor still holds the lock)",
			d->path, (int)pid);
	else
		log_err("%s is owned by another daxallocd (pid %d)", d->path,
			(int)pid);
	return -EBUSY;
}

/*
 * device_file_create -- create the pool file, sparse, and lock it
 *
 * O_EXCL so that a file someone else creates at the same moment is never
 * truncated under them.  The lock is taken before the size is set, so no
 * other daemon can open a half-made pool.
 */
static int device_file_create(struct device *d, const struct device_config *cfg,
			      uint64_t unit)
{
	int r;

	if (cfg->size < unit || cfg->size % unit) {
		log_err("cannot create %s: size %" PRIu64 " is not a positive "
			"multiple of the allocation unit %" PRIu64,
			d->path, cfg->size, unit);
		return -EINVAL;
	}
	if (cfg->size > (uint64_t)INT64_MAX) {
		log_err("cannot create %s: size %" PRIu64 " is too large",
			d->path, cfg->size);
		return -EFBIG;
	}
	d->fd = open(d->path, O_RDWR | O_CLOEXEC | O_NOCTTY | O_CREAT | O_EXCL,
		     0600);
	if (d->fd < 0) {
		r = -errno;
		if (r == -EEXIST) {
			log_err("%s appeared while daxallocd was creating it: "
				"is another daxallocd starting?",
				d->path);
			return -EBUSY;
		}
		log_err("cannot create %s: %s", d->path, strerror(-r));
		return r;
	}
	d->created = true;
	r = device_lock(d);
	if (r < 0) {
		/* Someone opened our new file already; it is theirs now. */
		d->created = false;
		return r;
	}
	if (ftruncate(d->fd, (off_t)cfg->size) < 0) {
		r = -errno;
		log_err("cannot size %s to %" PRIu64 " bytes: %s", d->path,
			cfg->size, strerror(-r));
		return r;
	}
	d->size = cfg->size;
	log_notice("created %s, %" PRIu64 " bytes, sparse", d->path, d->size);
	return 0;
}

/*
 * device_file_open -- open (or create) a pool file and check its size
 *
 * An existing file keeps its size: the pool's superblock records its own
 * geometry and the caller compares.  It must still hold whole units, or
 * the allocator could hand out a tail that is not there.
 */
static int device_file_open(struct device *d, const struct device_config *cfg,
			    bool exists)
{
	uint64_t unit = cfg->unit ? cfg->unit : DEVICE_DEFAULT_UNIT;
	long page = sysconf(_SC_PAGESIZE);
	struct stat st;
	int r;

	if (!device_is_pow2(unit) || unit < (uint64_t)page) {
		log_err("%s: allocation unit %" PRIu64 " is not a power of two "
			"of at least %ld bytes",
			d->path, unit, page);
		return -EINVAL;
	}
	d->kind = DEVICE_FILE;
	d->align = unit;
	if (!exists)
		return device_file_create(d, cfg, unit);

	d->fd = open(d->path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (d->fd < 0) {
		r = -errno;
		log_err("cannot open %s: %s", d->path, strerror(-r));
		return r;
	}
	if (fstat(d->fd, &st) < 0) {
		r = -errno;
		log_err("cannot stat %s: %s", d->path, strerror(-r));
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		log_err("%s changed while being opened and is now %s", d->path,
			device_file_type_name(st.st_mode));
		return -EINVAL;
	}
	r = device_lock(d);
	if (r < 0)
		return r;
	if ((uint64_t)st.st_size < unit) {
		log_err("%s is %" PRIu64 " bytes, smaller than one allocation "
			"unit (%" PRIu64 " bytes)",
			d->path, (uint64_t)st.st_size, unit);
		return -EINVAL;
	}
	if ((uint64_t)st.st_size % unit) {
		log_err("%s is %" PRIu64 " bytes, not a multiple of the "
			"allocation unit (%" PRIu64 " bytes)",
			d->path, (uint64_t)st.st_size, unit);
		return -EINVAL;
	}
	d->size = (uint64_t)st.st_size;
	return 0;
}

/*
 * device_devdax_open -- open and lock a device-dax character device
 *
 * Returns 1 when libndctl/libdaxctl do not know the device (the caller
 * then takes the geometry from libpmem2), 0 when they filled it in.
 */
static int device_devdax_open(struct device *d, const struct device_config *cfg,
			      const struct stat *st)
{
	struct stat fst;
	int r;

	d->kind = DEVICE_DEVDAX;
	if (cfg->size) {
		log_err("%s is a devdax device: its size is fixed, do not give "
			"one (size %" PRIu64 ")",
			d->path, cfg->size);
		return -EINVAL;
	}
	/* Its unit is its alignment: pool_open_device() ignores cfg->unit. */
	d->fd = open(d->path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (d->fd < 0) {
		r = -errno;
		log_err("cannot open %s: %s", d->path, strerror(-r));
		return r;
	}
	if (fstat(d->fd, &fst) < 0) {
		r = -errno;
		log_err("cannot stat %s: %s", d->path, strerror(-r));
		return r;
	}
	if (!S_ISCHR(fst.st_mode) || fst.st_rdev != st->st_rdev) {
		log_err("%s changed while being opened", d->path);
		return -ENXIO;
	}
	r = device_lock(d);
	if (r < 0)
		return r;
	return device_ndctl_probe(d, fst.st_rdev);
}

/*
 * device_classify -- open the path as the kind of thing it is
 *
 * Classified from stat() before open(), so that a character device that
 * is not device-dax (a tty, a tape) is never opened, and a block device
 * is explained rather than used.
 */
static int device_classify(struct device *d, const struct device_config *cfg)
{
	struct stat st;
	int r;

	if (stat(d->path, &st) < 0) {
		r = -errno;
		/*
		 * A missing /dev/daxX.Y is a namespace not (yet) in devdax
		 * mode; creating a pool file in devtmpfs instead would put
		 * the pool in RAM without anyone noticing.
		 */
		if (r == -ENOENT && !strncmp(d->path, "/dev/", 5))
			log_err("%s does not exist (see \"daxctl list\" and "
				"\"ndctl list -N\"); no pool file is created "
				"under /dev",
				d->path);
		else if (r == -ENOENT && cfg->size)
			return device_file_open(d, cfg, false);
		else if (r == -ENOENT)
			log_err("%s does not exist (give a size to create a "
				"pool file there)",
				d->path);
		else
			log_err("cannot stat %s: %s", d->path, strerror(-r));
		return r;
	}
	if (S_ISREG(st.st_mode))
		return device_file_open(d, cfg, true);
	if (S_ISBLK(st.st_mode))
		return device_ndctl_refuse_blockdev(d->path, st.st_rdev);
	if (S_ISCHR(st.st_mode)) {
		r = device_ndctl_chr_is_dax(st.st_rdev);
		if (r < 0)
			return r;
		if (!r) {
			log_err("%s is a character device (%u:%u) but not "
				"device-dax; give a /dev/daxX.Y device, an "
				"ndctl namespace name or a regular file",
				d->path, major(st.st_rdev), minor(st.st_rdev));
			return -ENODEV;
		}
		return device_devdax_open(d, cfg, &st);
	}
	log_err("%s is %s, not a devdax device or a regular file", d->path,
		device_file_type_name(st.st_mode));
	return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
}

/* device_open -- open, lock, validate and map a device */
int device_open(const struct device_config *cfg, struct device **out)
{
	bool from_pmem2;
	struct device *d;
	int r;

	*out = NULL;
	if (!cfg || !cfg->path || !*cfg->path) {
		log_err("no device given");
		return -EINVAL;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->fd = -1;
	d->numa_node = -1;
	if (device_ndctl_is_namespace_name(cfg->path))
		r = device_ndctl_resolve(cfg->path, &d->path);
	else
		r = (d->path = strdup(cfg->path)) ? 0 : -ENOMEM;
	if (r < 0)
		goto err_free;

	r = device_classify(d, cfg);
	if (r < 0)
		goto err_close;
	from_pmem2 = r > 0;
	r = device_pmem2_open(d, from_pmem2);
	if (r < 0)
		goto err_close;
	if (d->kind == DEVICE_DEVDAX && d->align < (2ULL << 20))
		log_warn("%s: alignment %" PRIu64 " is below 2 MiB: clients "
			 "will not get huge-page mappings",
			 d->path, d->align);

	log_info("%s: %s device, %" PRIu64 " bytes, unit %" PRIu64
		 ", numa node %d, %u bad block(s), unsafe shutdown count %s",
		 d->path, device_kind_name(d->kind), d->size, d->align,
		 d->numa_node, d->nbadblocks,
		 d->usc_supported ? "available" : "not available");
	*out = d;
	return 0;

err_close:
	/* A file we created and still hold locked is ours to remove. */
	if (d->created)
		unlink(d->path);
	if (d->fd >= 0)
		close(d->fd);
	free(d->badblocks);
err_free:
	free(d->path);
	free(d);
	return r;
}

/* device_close -- unmap, unlock and free a device */
void device_close(struct device *d)
{
	if (!d)
		return;
	if (d->ops && d->ops->close)
		d->ops->close(d);
	/* Closing the last descriptor of the open releases the flock. */
	if (d->fd >= 0)
		close(d->fd);
	free(d->badblocks);
	free(d->path);
	free(d);
}

/* device_open_fd -- a new descriptor for the same device, for a client */
int device_open_fd(const struct device *d, int flags)
{
	struct stat want, got;
	int fd, r;

	if (d->fd < 0)
		return -EOPNOTSUPP;
	if ((flags & O_ACCMODE) != O_RDONLY && (flags & O_ACCMODE) != O_RDWR)
		return -EINVAL;
	if (fstat(d->fd, &want) < 0)
		return -errno;
	fd = open(d->path, (flags & O_ACCMODE) | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &got) < 0) {
		r = -errno;
		goto err_fd;
	}
	if (got.st_dev != want.st_dev || got.st_ino != want.st_ino ||
	    got.st_rdev != want.st_rdev) {
		log_err("%s no longer names the device daxallocd opened",
			d->path);
		r = -ENXIO;
		goto err_fd;
	}
	return fd;

err_fd:
	close(fd);
	return r;
}

/*
 * device_badblock_add -- record a bad range, keeping the list sorted
 *
 * Overlapping and touching ranges are merged, so device_has_badblock()
 * can binary-search a list of disjoint ranges.
 */
int device_badblock_add(struct device *d, uint64_t offset, uint64_t length)
{
	struct device_badblock *bb;
	uint64_t end;
	unsigned int i, j;

	if (!length)
		return 0;
	end = offset + length < offset ? UINT64_MAX : offset + length;
	/* First range that ends at or after our start: may merge with it. */
	for (i = 0; i < d->nbadblocks; i++)
		if (d->badblocks[i].offset + d->badblocks[i].length >= offset)
			break;
	/* Ranges i..j-1 overlap or touch [offset, end). */
	for (j = i; j < d->nbadblocks && d->badblocks[j].offset <= end; j++) {
		uint64_t e = d->badblocks[j].offset + d->badblocks[j].length;

		if (d->badblocks[j].offset < offset)
			offset = d->badblocks[j].offset;
		if (e > end)
			end = e;
	}
	if (j > i) {
		d->badblocks[i].offset = offset;
		d->badblocks[i].length = end - offset;
		memmove(&d->badblocks[i + 1], &d->badblocks[j],
			(d->nbadblocks - j) * sizeof(*bb));
		d->nbadblocks -= j - i - 1;
		return 0;
	}
	bb = realloc(d->badblocks, (d->nbadblocks + 1) * sizeof(*bb));
	if (!bb)
		return -ENOMEM;
	d->badblocks = bb;
	memmove(&bb[i + 1], &bb[i], (d->nbadblocks - i) * sizeof(*bb));
	bb[i].offset = offset;
	bb[i].length = end - offset;
	d->nbadblocks++;
	return 0;
}

/* device_has_badblock -- does [offset, offset + len) touch a bad block? */
bool device_has_badblock(const struct device *d, uint64_t offset, uint64_t len)
{
	unsigned int lo = 0, hi = d->nbadblocks;
	uint64_t end;

	if (!len)
		return false;
	end = offset + len < offset ? UINT64_MAX : offset + len;
	/* Find the first bad block that ends after offset. */
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		const struct device_badblock *bb = &d->badblocks[mid];

		if (bb->offset + bb->length <= offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < d->nbadblocks && d->badblocks[lo].offset < end;
}

/*
 * device_check_range -- the write path stays inside the mapping
 *
 * A metadata write outside the device would corrupt whatever the daemon
 * has mapped next to it; that is a bug to stop at, not to survive.
 */
static inline void device_check_range(const struct device *d, const void *addr,
				      size_t len)
{
	uintptr_t base = (uintptr_t)d->addr, p = (uintptr_t)addr;

	if (p >= base && p - base <= d->size && len <= d->size - (p - base))
		return;
	log_err("%s: write of %zu bytes at %p outside the device [%p, +%" PRIu64
		")",
		d->path, len, addr, d->addr, d->size);
	abort();
}

/* device_prefault -- populate the page tables of a range ahead of a scan */
void device_prefault(struct device *d, const void *addr, size_t len)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t start = (uintptr_t)addr & ~(page - 1);

	if (d->kind == DEVICE_SIM || !len)
		return;
	/* MADV_POPULATE_READ (Linux 5.14); older kernels say EINVAL. */
	madvise((void *)start, (uintptr_t)addr + len - start, MADV_POPULATE_READ);
}

/* device_persist -- flush and drain [addr, addr + len) */
void device_persist(struct device *d, const void *addr, size_t len)
{
	device_check_range(d, addr, len);
	d->ops->persist(d, addr, len);
}

/* device_flush -- start writing back a range */
void device_flush(struct device *d, const void *addr, size_t len)
{
	device_check_range(d, addr, len);
	d->ops->flush(d, addr, len);
}

/* device_drain -- wait until every flush so far is durable */
void device_drain(struct device *d)
{
	d->ops->drain(d);
}

/* device_store -- copy without flushing */
void device_store(struct device *d, void *dst, const void *src, size_t len)
{
	device_check_range(d, dst, len);
	d->ops->memcpy_noflush(d, dst, src, len);
}

/* device_memcpy -- copy and flush, no drain */
void device_memcpy(struct device *d, void *dst, const void *src, size_t len)
{
	device_check_range(d, dst, len);
	d->ops->memcpy_nodrain(d, dst, src, len);
}

/* device_memset -- set and flush, no drain */
void device_memset(struct device *d, void *dst, int c, size_t len)
{
	device_check_range(d, dst, len);
	d->ops->memset_nodrain(d, dst, c, len);
}
