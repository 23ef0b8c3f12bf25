// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_format.c -- daxallocctl format DEVICE
 *
 * Offline formatting with the daemon's own code, as daxallocd --format
 * does it: the same device layer (and its lock, so a device a daemon
 * owns is refused), the same units (a devdax device's alignment, else
 * --unit), the same file creation (--size, only for a file that does not
 * exist).  What daxallocctl adds is caution: formatting is never implicit
 * and never blind.  A device that holds a pool, what is left of one, or
 * any non-zero byte is refused without --force, and --force asks first
 * unless --yes.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "device.h"
#include "log.h"
#include "options.h"
#include "pool.h"
#include "progress.h"

static const char cmd_format_usage[] =
	"Usage: daxallocctl format [--json] [--size SIZE] [--unit UNIT] [--force]\n"
	"                          [--yes] DEVICE\n"
	"Write a new, empty pool onto DEVICE, offline: a devdax device\n"
	"(/dev/daxX.Y), an ndctl namespace name (namespace0.0) or a pool file.\n"
	"A device a running daxallocd owns is refused, even with --force.  So is\n"
	"one that holds a pool, what is left of one, or anything format cannot\n"
	"prove empty: without a pool on it, every readable byte is looked at (a\n"
	"file's holes are skipped), with a progress line on a terminal.\n"
	"\n"
	"  -s, --size SIZE   create DEVICE as a sparse pool file of SIZE bytes\n"
	"                    when it does not exist (suffixes K, M, G, T: powers\n"
	"                    of 1024); an existing file keeps its size\n"
	"  -u, --unit UNIT   allocation unit of a pool file: a power of two from\n"
	"                    4K to 1G (default 2M); a devdax device's unit is its\n"
	"                    alignment\n"
	"  -f, --force       format DEVICE although it is not empty: every extent\n"
	"                    and whatever else it holds is lost\n"
	"  -y, --yes         with --force, do not ask first (needed when stdin is\n"
	"                    not a terminal)\n"
	"  -j, --json        JSON output: the new pool's geometry\n"
	"  -h, --help        this help\n"
	"\n"
	"Exit status: 0 formatted, 1 not formatted (not empty and no --force, not\n"
	"confirmed, owned by a daemon, too small, an I/O error), 2 usage error.\n";

struct format {
	const char *path;
	uint64_t size; /* 0: not given */
	uint64_t unit;
	bool unit_given;
	bool force;
	bool yes;
};

/*
 * format_parse -- the command line into f, checked as daxallocd checks
 * --size and --unit
 *
 * Returns -1 when the command must exit at once with *exit_status.
 */
static int format_parse(struct ctl *ctl, struct format *f, int argc,
			char **argv, int *exit_status)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "unit", required_argument, NULL, 'u' },
		{ "force", no_argument, NULL, 'f' },
		{ "yes", no_argument, NULL, 'y' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct stat st;
	int c;

	*exit_status = CTL_EXIT_USAGE;
	f->unit = OPTIONS_DEFAULT_UNIT;
	/* 0, not 1: glibc re-initialises getopt, as main() already used it. */
	optind = 0;
	while ((c = getopt_long(argc, argv, "s:u:fyjh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (options_parse_size(optarg, &f->size) < 0) {
				fprintf(stderr,
					"daxallocctl: bad --size '%s'\n",
					optarg);
				return -1;
			}
			break;
		case 'u':
			if (options_parse_size(optarg, &f->unit) < 0) {
				fprintf(stderr,
					"daxallocctl: bad --unit '%s'\n",
					optarg);
				return -1;
			}
			f->unit_given = true;
			break;
		case 'f':
			f->force = true;
			break;
		case 'y':
			f->yes = true;
			break;
		case 'j':
			ctl->json = true;
			break;
		case 'h':
			fputs(cmd_format_usage, stdout);
			*exit_status = CTL_EXIT_OK;
			return -1;
		default:
			fputs(cmd_format_usage, stderr);
			return -1;
		}
	}
	if (optind != argc - 1 || !*argv[optind]) {
		fprintf(stderr, "daxallocctl: format takes one DEVICE\n");
		fputs(cmd_format_usage, stderr);
		return -1;
	}
	f->path = argv[optind];
	if (f->unit < OPTIONS_MIN_UNIT || f->unit > OPTIONS_MAX_UNIT ||
	    (f->unit & (f->unit - 1))) {
		fprintf(stderr,
			"daxallocctl: --unit must be a power of two from 4K to 1G\n");
		return -1;
	}
	if (f->size && f->size % f->unit) {
		fprintf(stderr,
			"daxallocctl: --size must be a multiple of the unit (%llu bytes)\n",
			(unsigned long long)f->unit);
		return -1;
	}
	if (f->size && f->size / f->unit < OPTIONS_MIN_UNITS) {
		fprintf(stderr,
			"daxallocctl: --size must be at least %u units (%llu bytes)\n",
			OPTIONS_MIN_UNITS,
			(unsigned long long)(f->unit * OPTIONS_MIN_UNITS));
		return -1;
	}
	if (stat(f->path, &st) == 0 && S_ISCHR(st.st_mode) &&
	    (f->size || f->unit_given)) {
		fprintf(stderr,
			"daxallocctl: %s is a device: its size and alignment come from the namespace, drop --size/--unit\n",
			f->path);
		return -1;
	}
	return 0;
}

/*
 * format_describe -- say on stderr what formatting would destroy
 *
 * Nothing when the probe did not look past the superblocks (--force
 * --yes on a device without a pool).
 */
static void format_describe(const char *path, const struct pool_probe *pb)
{
	const struct fmt_superblock *sb = &pb->meta.sb;
	char size[32], unit[32], when[64], uuid[40],
		n[32] = "an unknown number of";

	if (pb->meta.pool) {
		ctl_format_size(sb->device_size, size, sizeof(size));
		ctl_format_size(sb->unit, unit, sizeof(unit));
		ctl_format_clock(sb->format_time * 1000, when, sizeof(when));
		ctl_format_uuid(sb->uuid, uuid, sizeof(uuid));
		if (pb->meta.extents >= 0)
			snprintf(n, sizeof(n), "%lld",
				 (long long)pb->meta.extents);
		fprintf(stderr,
			"daxallocctl: %s holds a daxalloc pool: %s, unit %s, %s extents, uuid %s, formatted %s\n",
			path, size, unit, n, uuid, when);
	} else if (pb->meta.damaged) {
		fprintf(stderr,
			"daxallocctl: %s holds what is left of a daxalloc pool (superblock: %s)\n",
			path, pb->meta.why);
	} else if (pb->scanned && !pb->empty) {
		fprintf(stderr,
			"daxallocctl: %s is not empty: byte %#llx is not zero\n",
			path, (unsigned long long)pb->nonzero_at);
	}
}

/*
 * format_confirm -- may a device that is not empty be formatted?
 *
 * --force is the permission; the question (or --yes) makes sure that it
 * was meant for this device.  Returns true to go on.
 */
static bool format_confirm(const struct format *f)
{
	char line[16];

	if (!f->force) {
		fprintf(stderr,
			"daxallocctl: %s not formatted: --force formats it anyway, destroying what it holds\n",
			f->path);
		return false;
	}
	if (f->yes)
		return true;
	if (!isatty(STDIN_FILENO)) {
		fprintf(stderr,
			"daxallocctl: %s not formatted: cannot ask, stdin is not a terminal; confirm with --yes\n",
			f->path);
		return false;
	}
	fprintf(stderr,
		"Format %s? Everything on it is lost. Type 'yes' to go on: ",
		f->path);
	if (!fgets(line, sizeof(line), stdin) || strcmp(line, "yes\n")) {
		fprintf(stderr, "daxallocctl: %s not formatted\n", f->path);
		return false;
	}
	return true;
}

/* format_report -- the new pool, as rows or JSON */
static void format_report(const struct ctl *ctl, const char *path,
			  const struct pool_stats *st)
{
	char uuid[40];
	json_object *o;

	ctl_format_uuid(st->uuid, uuid, sizeof(uuid));
	if (ctl->json) {
		o = json_object_new_object();
		json_object_object_add(o, "device",
				       json_object_new_string(path));
		json_object_object_add(o, "uuid", json_object_new_string(uuid));
		json_object_object_add(o, "size",
				       json_object_new_uint64(st->device_size));
		json_object_object_add(o, "unit",
				       json_object_new_uint64(st->unit));
		json_object_object_add(o, "data_offset",
				       json_object_new_uint64(st->data_offset));
		json_object_object_add(o, "data_size",
				       json_object_new_uint64(st->data_size));
		json_object_object_add(
			o, "extent_slots",
			json_object_new_uint64(st->extent_slots));
		ctl_print_json(o);
		json_object_put(o);
		return;
	}
	ctl_print_row("formatted", "%s", path);
	ctl_print_row("uuid", "%s", uuid);
	ctl_print_size("size", st->device_size);
	ctl_print_size("unit", st->unit);
	ctl_print_size("data offset", st->data_offset);
	ctl_print_size("data area", st->data_size);
	ctl_print_row("extent slots", "%llu",
		      (unsigned long long)st->extent_slots);
}

/*
 * format_device -- probe dev, decide, format; returns a CTL_EXIT_* status
 *
 * The device stays locked from the probe to the end of the format, so
 * what was looked at is what gets formatted.
 */
static int format_device(struct ctl *ctl, const struct format *f,
			 struct device *dev, struct progress *prog)
{
	struct pool_probe pb;
	struct pool_stats st;
	struct pool *p;
	int r;

	if (dev->kind == DEVICE_DEVDAX && f->unit_given) {
		fprintf(stderr,
			"daxallocctl: %s is a devdax device: its unit is its alignment (%llu bytes), drop --unit\n",
			dev->path, (unsigned long long)dev->align);
		return CTL_EXIT_USAGE;
	}
	if (dev->kind == DEVICE_FILE && !dev->created && f->size &&
	    f->size != dev->size)
		fprintf(stderr,
			"daxallocctl: %s exists: it keeps its size (%llu bytes); --size only sizes a new file\n",
			dev->path, (unsigned long long)dev->size);
	/* A file this command created is empty: nothing to look for. */
	if (!dev->created) {
		/* With --force --yes the answer changes nothing: skip the scan. */
		r = pool_probe(dev, !(f->force && f->yes), progress_hook(prog),
			       &pb);
		progress_end(prog);
		if (r < 0) {
			fprintf(stderr, "daxallocctl: cannot read %s: %s\n",
				dev->path, strerror(-r));
			return CTL_EXIT_FAIL;
		}
		if (!pb.empty) {
			format_describe(dev->path, &pb);
			if (!format_confirm(f))
				return CTL_EXIT_FAIL;
		}
	}
	r = pool_open_device_progress(dev, POOL_FORMAT_ALWAYS, f->unit,
				      progress_hook(prog), &p);
	progress_end(prog);
	if (r < 0) {
		fprintf(stderr, "daxallocctl: formatting %s failed: %s\n",
			dev->path, strerror(-r));
		return CTL_EXIT_FAIL;
	}
	pool_get_stats(p, &st);
	pool_close(p, true);
	format_report(ctl, dev->path, &st);
	return CTL_EXIT_OK;
}

/* cmd_format -- daxallocctl format [options] DEVICE */
int cmd_format(struct ctl *ctl, int argc, char **argv)
{
	struct device_config dc = { 0 };
	struct format f = { 0 };
	struct progress prog;
	struct device *dev;
	int exit_status, r;

	if (format_parse(ctl, &f, argc, argv, &exit_status) < 0)
		return exit_status;
	/* The device layer logs as the daemon does: errors and warnings. */
	log_init(LOG_WARNING);
	progress_init(&prog, ctl->json);
	dc.path = f.path;
	dc.size = f.size;
	dc.unit = f.unit;
	r = device_open(&dc, &dev);
	if (r == -EBUSY) {
		fprintf(stderr,
			"daxallocctl: %s not formatted: a running daxallocd owns it; stop it first\n",
			f.path);
		return CTL_EXIT_FAIL;
	}
	if (r < 0)
		return CTL_EXIT_FAIL;
	r = format_device(ctl, &f, dev, &prog);
	/* A file made for a pool that did not come about is not left behind. */
	if (r != CTL_EXIT_OK && dev->created)
		unlink(dev->path);
	device_close(dev);
	return r;
}
