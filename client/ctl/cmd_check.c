// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_check.c -- daxallocctl check [--device PATH]
 *
 * Without --device the running daemon checks its live pool (a Check
 * request).  With it, daxallocctl opens a pool no daemon serves and runs
 * the daemon's own checks on it, as daxallocd --check does: the device
 * lock keeps a daemon from starting meanwhile and refuses a device a
 * daemon owns.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "device.h"
#include "log.h"
#include "pool.h"
#include "progress.h"

static const char cmd_check_usage[] =
	"Usage: daxallocctl check [--json] [--device PATH]\n"
	"Verify every invariant of the pool: each unit of the data area in\n"
	"exactly one of free / an extent / quarantined / bad, every record on\n"
	"the device equal to what was loaded, the free-space indexes consistent.\n"
	"Without --device the daemon checks its live pool, the leases, pins and\n"
	"quota usage included.  With --device, the pool on PATH is checked\n"
	"offline as daxallocd --check does (extents, free space, quarantine,\n"
	"records on the device), with a progress line on a terminal; no daemon\n"
	"may own it.  A journal transaction left by a crash is applied as at a\n"
	"start; the clean-shutdown flag is left as found.\n"
	"\n"
	"  -d, --device PATH   check the pool on PATH (a devdax device, an ndctl\n"
	"                      namespace name or a pool file) offline\n"
	"  -j, --json          JSON output\n"
	"  -h, --help          this help\n"
	"\n"
	"Exit status: 0 consistent, 4 findings (with --device also: metadata\n"
	"too damaged to load), 1 the check could not run (no pool on PATH, a\n"
	"daemon owns it, the daemon refused), 2 usage error, 3 no daemon\n"
	"answers on the control socket.\n";

/* Findings an offline check lists; the rest are counted. */
#define CHECK_LIST_MAX 1000

struct check_findings {
	json_object *list; /* array of strings */
	unsigned long total;
};

/* check_finding -- keep one finding of the offline check */
static void check_finding(void *arg, const char *finding)
{
	struct check_findings *f = arg;

	if (f->total++ < CHECK_LIST_MAX)
		json_object_array_add(f->list, json_object_new_string(finding));
}

/*
 * check_report -- the outcome of an offline check on stdout
 *
 * st is NULL when the pool did not load (its metadata is damaged).
 */
static void check_report(const struct ctl *ctl, const char *path,
			 const struct check_findings *f,
			 const struct pool_stats *st)
{
	char u[32], fr[32], bad[32];
	size_t i, n;
	json_object *o;

	if (ctl->json) {
		o = json_object_new_object();
		json_object_object_add(o, "device",
				       json_object_new_string(path));
		json_object_object_add(o, "ok",
				       json_object_new_boolean(!f->total));
		json_object_object_add(o, "findings", json_object_get(f->list));
		json_object_object_add(o, "findings_total",
				       json_object_new_uint64(f->total));
		if (st) {
			json_object_object_add(
				o, "extents",
				json_object_new_uint64(st->extents));
			json_object_object_add(
				o, "used_bytes",
				json_object_new_uint64(st->used_bytes));
			json_object_object_add(
				o, "free_bytes",
				json_object_new_uint64(st->free_bytes));
			json_object_object_add(
				o, "bad_bytes",
				json_object_new_uint64(st->bad_bytes));
			json_object_object_add(
				o, "last_shutdown_clean",
				json_object_new_boolean(
					st->last_shutdown_clean));
		}
		ctl_print_json(o);
		json_object_put(o);
		return;
	}
	n = json_object_array_length(f->list);
	for (i = 0; i < n; i++)
		printf("finding: %s\n",
		       json_object_get_string(
			       json_object_array_get_idx(f->list, i)));
	if (f->total > n)
		printf("%lu findings, %zu listed\n", f->total, n);
	if (st) {
		ctl_format_size(st->used_bytes, u, sizeof(u));
		ctl_format_size(st->free_bytes, fr, sizeof(fr));
		ctl_format_size(st->bad_bytes, bad, sizeof(bad));
		printf("%s: %llu extents, %s used, %s free, %s bad; last shutdown %s\n",
		       path, (unsigned long long)st->extents, u, fr, bad,
		       st->last_shutdown_clean ? "clean" : "not clean");
	}
	printf("%s\n", f->total ? "FINDINGS" : "consistent");
}

/*
 * check_offline_open -- open the pool on path for inspection
 *
 * Returns a CTL_EXIT_* status: FINDINGS when the metadata is too damaged
 * to load (the messages above say where), FAIL when there is nothing to
 * check or no access.
 */
static int check_offline_open(const char *path, const struct meta_progress *pr,
			      struct device **devp, struct pool **poolp)
{
	/*
	 * The pool's unit is in its superblock; the device layer only needs
	 * a unit the file's size is a multiple of, and every pool file's
	 * size is a multiple of the page size.
	 */
	struct device_config dc = { .path = path,
				    .unit = (uint64_t)sysconf(_SC_PAGESIZE) };
	int r;

	r = device_open(&dc, devp);
	if (r == -EBUSY) {
		fprintf(stderr,
			"daxallocctl: %s is served by a running daxallocd: check it online with 'daxallocctl check'\n",
			path);
		return CTL_EXIT_FAIL;
	}
	if (r < 0)
		return CTL_EXIT_FAIL;
	r = pool_open_device_progress(*devp, POOL_INSPECT, 0, pr, poolp);
	if (r < 0) {
		device_close(*devp);
		*devp = NULL;
		return r == -EILSEQ || r == -EUCLEAN ? CTL_EXIT_FINDINGS :
						       CTL_EXIT_FAIL;
	}
	return CTL_EXIT_OK;
}

/* cmd_check_offline -- daxallocctl check --device PATH */
static int cmd_check_offline(struct ctl *ctl, const char *path)
{
	struct check_findings f = { json_object_new_array(), 0 };
	struct device *dev = NULL;
	struct pool *p = NULL;
	struct progress prog;
	struct pool_stats st;
	bool loaded;
	int r, n = 0;

	/* The pool code logs as the daemon does; warnings and errors matter. */
	log_init(LOG_WARNING);
	progress_init(&prog, ctl->json);
	r = check_offline_open(path, progress_hook(&prog), &dev, &p);
	loaded = r == CTL_EXIT_OK;
	if (loaded) {
		n = pool_check(p, check_finding, &f);
		pool_get_stats(p, &st);
		/* A check leaves the clean flag as it found it. */
		pool_close(p, false);
		device_close(dev);
	}
	progress_end(&prog);
	if (r == CTL_EXIT_FINDINGS) {
		check_finding(
			&f,
			"the pool's metadata is damaged: it cannot be loaded (the messages above say where)");
	} else if (r == CTL_EXIT_OK && n < 0) {
		fprintf(stderr, "daxallocctl: %s: the check failed: %s\n", path,
			strerror(-n));
		r = CTL_EXIT_FAIL;
	} else if (r == CTL_EXIT_OK && f.total) {
		r = CTL_EXIT_FINDINGS;
	}
	if (r != CTL_EXIT_FAIL)
		check_report(ctl, path, &f, loaded ? &st : NULL);
	json_object_put(f.list);
	return r;
}

/* cmd_check_online -- ask the daemon to check its live pool */
static int cmd_check_online(struct ctl *ctl)
{
	Daxalloc__Envelope req = DAXALLOC__ENVELOPE__INIT, *resp;
	Daxalloc__CheckRequest body = DAXALLOC__CHECK_REQUEST__INIT;
	const Daxalloc__CheckReply *cr;
	size_t i;
	int r;

	req.body_case = DAXALLOC__ENVELOPE__BODY_CHECK;
	req.check = &body;
	r = ctl_call(ctl, &req, &resp);
	if (r)
		return r;
	if (resp->body_case != DAXALLOC__ENVELOPE__BODY_CHECK_REPLY) {
		fprintf(stderr, "daxallocctl: unexpected reply to Check\n");
		envelope_free(resp);
		return CTL_EXIT_FAIL;
	}
	cr = resp->check_reply;
	if (ctl->json) {
		json_object *o = json_object_new_object();
		json_object *a = json_object_new_array();

		for (i = 0; i < cr->n_findings; i++)
			json_object_array_add(
				a, json_object_new_string(cr->findings[i]));
		json_object_object_add(o, "ok",
				       json_object_new_boolean(cr->ok));
		json_object_object_add(o, "findings", a);
		ctl_print_json(o);
		json_object_put(o);
	} else {
		for (i = 0; i < cr->n_findings; i++)
			printf("finding: %s\n", cr->findings[i]);
		if (resp->message[0])
			printf("%s\n", resp->message);
		printf("%s\n", cr->ok ? "consistent" : "FINDINGS");
	}
	r = cr->ok ? CTL_EXIT_OK : CTL_EXIT_FINDINGS;
	envelope_free(resp);
	return r;
}

/* cmd_check -- daxallocctl check [--json] [--device PATH] */
int cmd_check(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *device = NULL;
	int c;

	/* 0, not 1: glibc re-initialises getopt, as main() already used it. */
	optind = 0;
	while ((c = getopt_long(argc, argv, "d:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			device = optarg;
			break;
		case 'j':
			ctl->json = true;
			break;
		case 'h':
			fputs(cmd_check_usage, stdout);
			return CTL_EXIT_OK;
		default:
			fputs(cmd_check_usage, stderr);
			return CTL_EXIT_USAGE;
		}
	}
	if (optind < argc || (device && !*device)) {
		fputs(cmd_check_usage, stderr);
		return CTL_EXIT_USAGE;
	}
	return device ? cmd_check_offline(ctl, device) : cmd_check_online(ctl);
}
