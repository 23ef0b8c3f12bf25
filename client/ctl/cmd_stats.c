// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_stats.c -- daxallocctl stats
 */
#include <stdio.h>

#include "ctl.h"

static const char cmd_stats_usage[] =
	"Usage: daxallocctl stats [--json]\n"
	"Show the daemon's request and connection counters since it started.\n"
	"\n"
	"  -j, --json   JSON output\n"
	"  -h, --help   this help\n"
	"\n" CTL_EXIT_HELP;

/* cmd_stats -- daxallocctl stats [--json] */
int cmd_stats(struct ctl *ctl, int argc, char **argv)
{
	Daxalloc__Envelope req = DAXALLOC__ENVELOPE__INIT, *resp;
	Daxalloc__StatsRequest body = DAXALLOC__STATS_REQUEST__INIT;
	const Daxalloc__StatsReply *st;
	int exit_status, r;

	r = ctl_parse_common(ctl, argc, argv, cmd_stats_usage, &exit_status);
	if (r < 0)
		return exit_status;
	if (r < argc) {
		fputs(cmd_stats_usage, stderr);
		return CTL_EXIT_USAGE;
	}
	req.body_case = DAXALLOC__ENVELOPE__BODY_STATS;
	req.stats = &body;
	r = ctl_call(ctl, &req, &resp);
	if (r)
		return r;
	if (resp->body_case != DAXALLOC__ENVELOPE__BODY_STATS_REPLY) {
		fprintf(stderr, "daxallocctl: unexpected reply to Stats\n");
		envelope_free(resp);
		return CTL_EXIT_FAIL;
	}
	st = resp->stats_reply;
	if (ctl->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "requests",
				       json_object_new_uint64(st->requests));
		json_object_object_add(o, "errors",
				       json_object_new_uint64(st->errors));
		json_object_object_add(o, "connections_total",
				       json_object_new_uint64(st->connections_total));
		json_object_object_add(o, "bad_messages",
				       json_object_new_uint64(st->bad_messages));
		ctl_print_json(o);
		json_object_put(o);
	} else {
		ctl_print_row("requests", "%llu", (unsigned long long)st->requests);
		ctl_print_row("errors", "%llu", (unsigned long long)st->errors);
		ctl_print_row("connections", "%llu",
			      (unsigned long long)st->connections_total);
		ctl_print_row("bad messages", "%llu",
			      (unsigned long long)st->bad_messages);
	}
	envelope_free(resp);
	return CTL_EXIT_OK;
}
