// SPDX-License-Identifier: Apache-2.0
/*
 * daxallocd.c -- the daemon's entry point
 */
#include <signal.h>
#include <stdlib.h>

#include "daxalloc-config.h"
#include "log.h"
#include "options.h"
#include "server.h"

int main(int argc, char **argv)
{
	struct options opts;
	struct server srv;
	int status;

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
	if (opts.device)
		log_notice("pool %s: the pool layer is not built yet; serving without one",
			   opts.device);
	if (server_init(&srv, &opts) < 0) {
		options_free(&opts);
		return 1;
	}
	status = server_run(&srv);
	server_fini(&srv);
	log_info("daxallocd stopped");
	options_free(&opts);
	return status;
}
