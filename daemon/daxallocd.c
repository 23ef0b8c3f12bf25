// SPDX-License-Identifier: Apache-2.0
/*
 * daxallocd.c -- the daemon's entry point
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daxalloc-config.h"
#include "device.h"
#include "log.h"
#include "options.h"
#include "pool.h"
#include "quota.h"
#include "server.h"
#include "space.h"

/* daxallocd_print_finding -- one --check finding on stdout */
static void daxallocd_print_finding(void *arg, const char *finding)
{
	printf("finding: %s\n", finding);
}

/* daxallocd_check -- daxallocd --check: verify offline, report, exit */
static int daxallocd_check(struct pool *p, const char *path)
{
	struct pool_stats st;
	int n = pool_check(p, daxallocd_print_finding, NULL);

	pool_get_stats(p, &st);
	printf("%s: %llu extents, %llu bytes used, %llu free, %llu bad: %s\n",
	       path, (unsigned long long)st.extents,
	       (unsigned long long)st.used_bytes,
	       (unsigned long long)st.free_bytes,
	       (unsigned long long)st.bad_bytes,
	       n == 0 ? "consistent" : "FINDINGS");
	return n == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct device_config dc = { 0 };
	enum pool_format fmt;
	struct options opts;
	struct server srv;
	struct pool *pool;
	int status, r;

	switch (options_parse(&opts, argc, argv)) {
	case OPTIONS_RUN:
		break;
	case OPTIONS_EXIT_OK:
		options_free(&opts);
		return 0;
	case OPTIONS_EXIT_USAGE:
		options_free(&opts);
		return 2;
	}
	log_init(opts.log_level);
	/* A vanished peer shows up as EPIPE from sendmsg, never as a signal. */
	signal(SIGPIPE, SIG_IGN);

	log_info("daxallocd %s starting", DAXALLOC_VERSION);
	if (opts.config_found)
		log_info("configuration from %s", opts.config_path);
	else
		log_info("no %s: built-in defaults and the command line",
			 opts.config_path);
	dc.path = opts.device;
	dc.size = opts.size;
	dc.unit = opts.unit;
	fmt = opts.format ? POOL_FORMAT_ALWAYS :
	      opts.check  ? POOL_INSPECT :
			    POOL_FORMAT_IF_NEW;
	r = pool_open(&dc, fmt, &pool);
	if (r < 0) {
		log_err("cannot open the pool on %s", opts.device);
		options_free(&opts);
		return 1;
	}
	if (opts.format || opts.check) {
		status = opts.check ? daxallocd_check(pool, opts.device) : 0;
		/* A check leaves the clean flag as it found it. */
		pool_close(pool, !opts.check);
		options_free(&opts);
		return status;
	}

	if (server_init(&srv, &opts, pool) < 0) {
		pool_close(pool, true);
		options_free(&opts);
		return 1;
	}
	/* Usage is rebuilt from the extents at every start. */
	r = quota_new(&opts.cfg, &srv.quota);
	if (r == 0)
		r = space_recover(&srv);
	if (r < 0) {
		log_err("cannot count quota usage: %s", strerror(-r));
		server_fini(&srv);
		quota_free(srv.quota);
		pool_close(pool, true);
		options_free(&opts);
		return 1;
	}
	status = server_run(&srv);
	server_fini(&srv);
	quota_free(srv.quota);
	/* A failed commit must not be followed by a clean flag. */
	pool_close(pool, !srv.commit_failed);
	log_info("daxallocd stopped");
	options_free(&opts);
	return status;
}
