// SPDX-License-Identifier: Apache-2.0
/*
 * device_ndctl.c -- devdax validation through libndctl and libdaxctl
 *
 * A devdax device reaches us as /dev/daxX.Y or as the name of the ndctl
 * namespace behind it.  The kernel's answer to "is this device-dax" is the
 * sysfs subsystem of the character device; libndctl then tells which
 * namespace it is (NUMA node, mode) and libdaxctl its size and alignment.
 * Device-dax that no ndctl bus describes (soft-reserved or CXL memory) is
 * found through libdaxctl alone.  Operators who point us at the wrong
 * thing (an fsdax /dev/pmemN, a sector namespace) are told what to run.
 *
 * A fresh library context per call: this runs at open time only, and the
 * contexts hold no state that should outlive it.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <daxctl/libdaxctl.h>
#include <ndctl/libndctl.h>

#include "device.h"
#include "log.h"

/* The alignment suggested to operators; devdax also offers 1G. */
#define DEVICE_NDCTL_HINT_ALIGN "2M"

static const char *const device_ndctl_mode_names[] = {
	[NDCTL_NS_MODE_FSDAX] = "fsdax",     [NDCTL_NS_MODE_SECTOR] = "sector",
	[NDCTL_NS_MODE_RAW] = "raw",	     [NDCTL_NS_MODE_DEVDAX] = "devdax",
	[NDCTL_NS_MODE_UNKNOWN] = "unknown",
};

/* device_ndctl_mode_name -- ndctl's word for a namespace mode */
static const char *device_ndctl_mode_name(enum ndctl_namespace_mode mode)
{
	if ((unsigned int)mode >= sizeof(device_ndctl_mode_names) /
					  sizeof(device_ndctl_mode_names[0]))
		return "unknown";
	return device_ndctl_mode_names[mode];
}

/* device_ndctl_vlog -- one library message into our log, at debug level */
__attribute__((format(printf, 2, 0))) static void
device_ndctl_vlog(const char *lib, const char *format, va_list args)
{
	char line[512];
	size_t n;

	vsnprintf(line, sizeof(line), format, args);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	log_debug("%s: %s", lib, line);
}

/*
 * device_ndctl_log -- libndctl's log function
 *
 * Its complaints while walking sysfs (an attribute a kernel does not have)
 * are not ours to print as errors; we report what we conclude instead.
 */
__attribute__((format(printf, 6, 0))) static void
device_ndctl_log(struct ndctl_ctx *ctx, int priority, const char *file,
		 int line, const char *fn, const char *format, va_list args)
{
	device_ndctl_vlog("libndctl", format, args);
}

/* device_daxctl_log -- libdaxctl's log function, as device_ndctl_log */
__attribute__((format(printf, 6, 0))) static void
device_daxctl_log(struct daxctl_ctx *ctx, int priority, const char *file,
		  int line, const char *fn, const char *format, va_list args)
{
	device_ndctl_vlog("libdaxctl", format, args);
}

/* device_ndctl_new -- a libndctl context logging into ours */
static int device_ndctl_new(struct ndctl_ctx **ctx)
{
	struct daxctl_ctx *dctx;
	int r;

	r = ndctl_new(ctx);
	if (r < 0)
		return r;
	if (!*ctx)
		return -ENOMEM;
	ndctl_set_log_fn(*ctx, device_ndctl_log);
	dctx = ndctl_get_daxctl_ctx(*ctx);
	if (dctx)
		daxctl_set_log_fn(dctx, device_daxctl_log);
	return 0;
}

/*
 * device_ndctl_find -- first namespace on any bus that match() accepts
 *
 * Callers are few and each walks once at open, so a plain walk of every
 * bus, region and namespace is the simple and sufficient way.
 */
static struct ndctl_namespace *
device_ndctl_find(struct ndctl_ctx *ctx,
		  bool (*match)(struct ndctl_namespace *ndns, void *arg),
		  void *arg)
{
	struct ndctl_namespace *ndns;
	struct ndctl_region *region;
	struct ndctl_bus *bus;

	/* Plain loops: clang-format does not know libndctl's foreach. */
	for (bus = ndctl_bus_get_first(ctx); bus; bus = ndctl_bus_get_next(bus))
		for (region = ndctl_region_get_first(bus); region;
		     region = ndctl_region_get_next(region))
			for (ndns = ndctl_namespace_get_first(region); ndns;
			     ndns = ndctl_namespace_get_next(ndns))
				if (match(ndns, arg))
					return ndns;
	return NULL;
}

/* device_ndctl_match_name -- is this the namespace called arg? */
static bool device_ndctl_match_name(struct ndctl_namespace *ndns, void *arg)
{
	const char *name = ndctl_namespace_get_devname(ndns);

	return name && !strcmp(name, arg);
}

/* device_ndctl_match_blkdev -- does this namespace expose block device arg? */
static bool device_ndctl_match_blkdev(struct ndctl_namespace *ndns, void *arg)
{
	struct ndctl_pfn *pfn = ndctl_namespace_get_pfn(ndns);
	struct ndctl_btt *btt = ndctl_namespace_get_btt(ndns);
	const char *name;

	/* fsdax exposes the pfn's disk, sector the btt's, raw its own. */
	if (pfn)
		name = ndctl_pfn_get_block_device(pfn);
	else if (btt)
		name = ndctl_btt_get_block_device(btt);
	else
		name = ndctl_namespace_get_block_device(ndns);
	return name && *name && !strcmp(name, arg);
}

/* device_daxctl_find_dev -- the dax device of a region with this dev_t */
static struct daxctl_dev *device_daxctl_find_dev(struct daxctl_region *region,
						 dev_t rdev)
{
	struct daxctl_dev *dev;

	for (dev = daxctl_dev_get_first(region); dev;
	     dev = daxctl_dev_get_next(dev))
		if ((unsigned int)daxctl_dev_get_major(dev) == major(rdev) &&
		    (unsigned int)daxctl_dev_get_minor(dev) == minor(rdev))
			return dev;
	return NULL;
}

struct device_ndctl_rdev_match {
	dev_t rdev;
	struct daxctl_dev *dev; /* found */
};

/* device_ndctl_match_rdev -- is this the devdax namespace of dev_t? */
static bool device_ndctl_match_rdev(struct ndctl_namespace *ndns, void *arg)
{
	struct device_ndctl_rdev_match *m = arg;
	struct daxctl_region *region;
	struct ndctl_dax *dax;

	dax = ndctl_namespace_get_dax(ndns);
	if (!dax)
		return false;
	region = ndctl_dax_get_daxctl_region(dax);
	if (!region)
		return false;
	m->dev = device_daxctl_find_dev(region, m->rdev);
	return m->dev != NULL;
}

/* device_ndctl_is_namespace_name -- "namespaceN.M", nothing more */
bool device_ndctl_is_namespace_name(const char *s)
{
	const char *p;

	if (strncmp(s, "namespace", 9))
		return false;
	p = s + 9;
	if (*p < '0' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p++ != '.')
		return false;
	if (*p < '0' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9')
		p++;
	return *p == '\0';
}

/* device_ndctl_refuse_mode -- explain a namespace that is not devdax */
static void device_ndctl_refuse_mode(const char *what, const char *ns,
				     enum ndctl_namespace_mode mode)
{
	log_err("%s: namespace %s is in %s mode, daxallocd needs devdax: run "
		"\"ndctl create-namespace -f -e %s -m devdax -a %s\" (this "
		"destroys its data)",
		what, ns, device_ndctl_mode_name(mode), ns,
		DEVICE_NDCTL_HINT_ALIGN);
}

/*
 * device_ndctl_dax_path -- /dev path of the one dax device of a namespace
 *
 * Zero-sized devices are seeds for daxctl create-device, not devices.  A
 * region sub-divided into several devices has no single answer: the
 * operator names the device instead.
 */
static int device_ndctl_dax_path(const char *ns, struct daxctl_region *region,
				 char **path)
{
	struct daxctl_dev *dev, *found = NULL;
	unsigned int n = 0;

	for (dev = daxctl_dev_get_first(region); dev;
	     dev = daxctl_dev_get_next(dev)) {
		if (!daxctl_dev_get_size(dev) || !daxctl_dev_is_enabled(dev))
			continue;
		if (!found)
			found = dev;
		n++;
	}
	if (!found) {
		log_err("namespace %s has no enabled dax device: see "
			"\"daxctl list -D -r %d\"",
			ns, daxctl_region_get_id(region));
		return -ENODEV;
	}
	if (n > 1) {
		log_err("namespace %s has %u dax devices: give the /dev/daxX.Y "
			"path of the one to use (see \"daxctl list\")",
			ns, n);
		return -EINVAL;
	}
	if (asprintf(path, "/dev/%s", daxctl_dev_get_devname(found)) < 0) {
		*path = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* device_ndctl_resolve -- /dev/daxX.Y of the ndctl namespace called name */
int device_ndctl_resolve(const char *name, char **path)
{
	enum ndctl_namespace_mode mode;
	struct daxctl_region *region;
	struct ndctl_namespace *ndns;
	struct ndctl_ctx *ctx;
	struct ndctl_dax *dax;
	int r;

	*path = NULL;
	r = device_ndctl_new(&ctx);
	if (r < 0) {
		log_err("cannot look up namespace %s: libndctl: %s", name,
			strerror(-r));
		return r;
	}
	ndns = device_ndctl_find(ctx, device_ndctl_match_name, (void *)name);
	if (!ndns) {
		log_err("there is no ndctl namespace %s (see \"ndctl list "
			"-N\"); for a pool file in the current folder, write "
			"./%s",
			name, name);
		r = -ENOENT;
		goto err_ctx;
	}
	mode = ndctl_namespace_get_mode(ndns);
	if (mode != NDCTL_NS_MODE_DEVDAX) {
		device_ndctl_refuse_mode(name, name, mode);
		r = -ENODEV;
		goto err_ctx;
	}
	dax = ndctl_namespace_get_dax(ndns);
	if (!dax || !ndctl_dax_is_enabled(dax)) {
		log_err("namespace %s is in devdax mode but not enabled: run "
			"\"ndctl enable-namespace %s\"",
			name, name);
		r = -ENODEV;
		goto err_ctx;
	}
	region = ndctl_dax_get_daxctl_region(dax);
	if (!region) {
		log_err("namespace %s: libdaxctl does not know its dax region",
			name);
		r = -ENODEV;
		goto err_ctx;
	}
	r = device_ndctl_dax_path(name, region, path);
	if (r < 0)
		goto err_ctx;
	log_info("namespace %s is %s", name, *path);

err_ctx:
	ndctl_unref(ctx);
	return r;
}

/*
 * device_ndctl_chr_is_dax -- is this character device device-dax?
 *
 * The same test libpmem2 makes: the device's sysfs subsystem is "dax"
 * (/sys/class/dax on old kernels, /sys/bus/dax on new ones).  Returns 1
 * or 0; a device that sysfs does not describe is not device-dax.
 */
int device_ndctl_chr_is_dax(dev_t rdev)
{
	char link[64], target[PATH_MAX];
	const char *base;

	snprintf(link, sizeof(link), "/sys/dev/char/%u:%u/subsystem",
		 major(rdev), minor(rdev));
	if (!realpath(link, target)) {
		log_debug("%s: %s", link, strerror(errno));
		return 0;
	}
	base = strrchr(target, '/');
	return base && !strcmp(base + 1, "dax");
}

/*
 * device_ndctl_blkdev_name -- kernel name of a block device ("pmem0")
 *
 * For a partition, the name of the disk it is on, since that is what
 * libndctl reports.
 */
static int device_ndctl_blkdev_name(dev_t rdev, char *name, size_t len)
{
	char link[64], target[PATH_MAX], part[PATH_MAX + 16];
	char *base;

	snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", major(rdev),
		 minor(rdev));
	if (!realpath(link, target))
		return -errno;
	snprintf(part, sizeof(part), "%s/partition", target);
	base = strrchr(target, '/');
	if (base && access(part, F_OK) == 0) {
		*base = '\0';
		base = strrchr(target, '/');
	}
	if (!base)
		return -ENOENT;
	snprintf(name, len, "%s", base + 1);
	return 0;
}

/*
 * device_ndctl_refuse_blockdev -- explain why a block device is refused
 *
 * A /dev/pmemN is an fsdax or raw namespace and /dev/pmemNs a sector one:
 * name the namespace and the command that makes it devdax.  Always
 * returns -ENODEV.
 */
int device_ndctl_refuse_blockdev(const char *path, dev_t rdev)
{
	struct ndctl_namespace *ndns = NULL;
	struct ndctl_ctx *ctx = NULL;
	char name[NAME_MAX + 1];

	if (device_ndctl_blkdev_name(rdev, name, sizeof(name)) < 0)
		snprintf(name, sizeof(name), "?");
	if (device_ndctl_new(&ctx) == 0)
		ndns = device_ndctl_find(ctx, device_ndctl_match_blkdev, name);
	if (ndns)
		device_ndctl_refuse_mode(path,
					 ndctl_namespace_get_devname(ndns),
					 ndctl_namespace_get_mode(ndns));
	else if (!strncmp(name, "pmem", 4))
		log_err("%s is a pmem block device; daxallocd needs devdax: "
			"find its namespace with \"ndctl list -N\" and run "
			"\"ndctl create-namespace -f -e namespaceX.Y -m devdax "
			"-a %s\" (this destroys its data)",
			path, DEVICE_NDCTL_HINT_ALIGN);
	else
		log_err("%s is a block device (%s), not a devdax device or a "
			"regular file",
			path, name);
	if (ctx)
		ndctl_unref(ctx);
	return -ENODEV;
}

/* device_daxctl_find -- a dax device by dev_t among all dax regions */
static struct daxctl_dev *device_daxctl_find(struct daxctl_ctx *dctx,
					     dev_t rdev)
{
	struct daxctl_region *region;
	struct daxctl_dev *dev;

	if (!dctx)
		return NULL;
	for (region = daxctl_region_get_first(dctx); region;
	     region = daxctl_region_get_next(region)) {
		dev = device_daxctl_find_dev(region, rdev);
		if (dev)
			return dev;
	}
	return NULL;
}

/*
 * device_ndctl_probe -- size, alignment and NUMA node of a devdax device
 *
 * Returns 0 with d->size, d->align and d->numa_node filled in, or 1 when
 * libndctl and libdaxctl do not know the device: the kernel says it is
 * device-dax (device_ndctl_chr_is_dax), so it is accepted, and the caller
 * reads the geometry through libpmem2, which gets it from sysfs.
 */
int device_ndctl_probe(struct device *d, dev_t rdev)
{
	struct device_ndctl_rdev_match m = { .rdev = rdev };
	struct ndctl_namespace *ndns = NULL;
	unsigned long long size;
	struct ndctl_ctx *ctx;
	unsigned long align;
	int r, numa = -1;

	r = device_ndctl_new(&ctx);
	if (r < 0) {
		log_warn("%s: libndctl is unavailable (%s); taking the size "
			 "and alignment of this device-dax from libpmem2",
			 d->path, strerror(-r));
		return 1;
	}
	ndns = device_ndctl_find(ctx, device_ndctl_match_rdev, &m);
	if (ndns) {
		numa = ndctl_namespace_get_numa_node(ndns);
		if (numa < 0)
			numa = ndctl_region_get_numa_node(
				ndctl_namespace_get_region(ndns));
	} else {
		/* Soft-reserved or CXL memory: a dax region, no namespace. */
		m.dev = device_daxctl_find(ndctl_get_daxctl_ctx(ctx), rdev);
	}
	if (!m.dev) {
		log_warn("%s: device-dax that libndctl and libdaxctl do not "
			 "list; taking its size and alignment from libpmem2",
			 d->path);
		r = 1;
		goto out_ctx;
	}
	size = daxctl_dev_get_size(m.dev);
	align = daxctl_dev_get_align(m.dev);
	if (!align)
		align = daxctl_region_get_align(daxctl_dev_get_region(m.dev));
	if (!size || size == ULLONG_MAX || !align || (align & (align - 1))) {
		log_warn("%s: libdaxctl reports size %llu, alignment %lu; "
			 "taking them from libpmem2 instead",
			 d->path, size, align);
		r = 1;
		goto out_ctx;
	}
	d->size = size;
	d->align = align;
	d->numa_node = numa < 0 ? -1 : numa;
	log_info("%s: device-dax %s%s%s, %llu bytes, alignment %lu, numa "
		 "node %d",
		 d->path, daxctl_dev_get_devname(m.dev),
		 ndns ? " of namespace " : " (no ndctl namespace)",
		 ndns ? ndctl_namespace_get_devname(ndns) : "", size, align,
		 d->numa_node);
	r = 0;

out_ctx:
	ndctl_unref(ctx);
	return r;
}
