// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_status.c -- daxallocctl status
 */
#include <stdio.h>

#include "ctl.h"

static const char cmd_status_usage[] =
	"Usage: daxallocctl status [--json]\n"
	"Show the daemon's version, pid, sockets, uptime and connections; its\n"
	"clients (processes and their connections); the pool's figures: size,\n"
	"unit, free bytes, largest free run, extents, bytes in the quarantine\n"
	"(left an extent, not free yet) and bytes under pins (DMA may target\n"
	"them); and what the daemon's start found: whether the last shutdown was\n"
	"clean, and whether the device reports an unsafe shutdown count and that\n"
	"count changed since the pool was last opened (the device lost power\n"
	"without flushing: data written before may be lost).\n"
	"\n"
	"  -j, --json   JSON output (sizes in bytes)\n"
	"  -h, --help   this help\n"
	"\n" CTL_EXIT_HELP;

/* cmd_status_json -- the reply as a JSON object */
static json_object *cmd_status_json(const Daxalloc__StatusReply *st)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "version",
			       json_object_new_string(st->version));
	json_object_object_add(o, "pid", json_object_new_int64(st->pid));
	json_object_object_add(o, "client_socket",
			       json_object_new_string(st->client_socket));
	json_object_object_add(o, "control_socket",
			       json_object_new_string(st->control_socket));
	json_object_object_add(o, "uptime_ms",
			       json_object_new_uint64(st->uptime_ms));
	json_object_object_add(o, "connections",
			       json_object_new_int64(st->connections));
	json_object_object_add(o, "device", json_object_new_string(st->device));
	json_object_object_add(o, "pool_size",
			       json_object_new_uint64(st->pool_size));
	json_object_object_add(o, "unit", json_object_new_uint64(st->unit));
	json_object_object_add(o, "free_bytes",
			       json_object_new_uint64(st->free_bytes));
	json_object_object_add(o, "largest_free",
			       json_object_new_uint64(st->largest_free));
	json_object_object_add(o, "extents",
			       json_object_new_int64(st->extents));
	json_object_object_add(o, "quarantined_bytes",
			       json_object_new_uint64(st->quarantined_bytes));
	json_object_object_add(o, "pinned_bytes",
			       json_object_new_uint64(st->pinned_bytes));
	json_object_object_add(o, "client_processes",
			       json_object_new_int64(st->client_processes));
	json_object_object_add(o, "client_connections",
			       json_object_new_int64(st->client_connections));
	json_object_object_add(
		o, "last_shutdown_clean",
		json_object_new_boolean(st->last_shutdown_clean));
	json_object_object_add(
		o, "unsafe_shutdown_count_supported",
		json_object_new_boolean(st->unsafe_shutdown_count_supported));
	/* null, not 0, when the device keeps no count: 0 is a count. */
	json_object_object_add(
		o, "unsafe_shutdown_count",
		st->unsafe_shutdown_count_supported ?
			json_object_new_uint64(st->unsafe_shutdown_count) :
			NULL);
	json_object_object_add(o, "unsafe_shutdown",
			       json_object_new_boolean(st->unsafe_shutdown));
	return o;
}

/* cmd_status_usc -- the unsafe shutdown row, in words */
static void cmd_status_usc(const Daxalloc__StatusReply *st)
{
	if (!st->unsafe_shutdown_count_supported)
		ctl_print_row(
			"unsafe shutdown",
			"not known (the device keeps no unsafe shutdown count)");
	else if (st->unsafe_shutdown)
		ctl_print_row(
			"unsafe shutdown",
			"DETECTED: the count changed since the pool was last opened (now %llu): data written before may be lost",
			(unsigned long long)st->unsafe_shutdown_count);
	else
		ctl_print_row("unsafe shutdown", "none (count %llu, unchanged)",
			      (unsigned long long)st->unsafe_shutdown_count);
}

/* cmd_status_table -- the reply as readable rows */
static void cmd_status_table(const Daxalloc__StatusReply *st)
{
	char up[64];

	ctl_format_ms(st->uptime_ms, up, sizeof(up));
	ctl_print_row("version", "%s", st->version);
	ctl_print_row("pid", "%u", st->pid);
	ctl_print_row("client socket", "%s", st->client_socket);
	ctl_print_row("control socket", "%s", st->control_socket);
	ctl_print_row("uptime", "%s", up);
	ctl_print_row("connections", "%u", st->connections);
	ctl_print_row(
		"clients", "%u process%s, %u connection%s",
		st->client_processes, st->client_processes == 1 ? "" : "es",
		st->client_connections, st->client_connections == 1 ? "" : "s");
	ctl_print_row("device", "%s", st->device[0] ? st->device : "-");
	ctl_print_size("pool size", st->pool_size);
	ctl_print_size("unit", st->unit);
	ctl_print_size("free", st->free_bytes);
	ctl_print_size("largest free", st->largest_free);
	ctl_print_row("extents", "%u", st->extents);
	ctl_print_size("quarantined", st->quarantined_bytes);
	ctl_print_size("pinned", st->pinned_bytes);
	ctl_print_row("last shutdown", "%s",
		      st->last_shutdown_clean ?
			      "clean" :
			      "not clean (recovered at start)");
	cmd_status_usc(st);
}

/* cmd_status -- daxallocctl status [--json] */
int cmd_status(struct ctl *ctl, int argc, char **argv)
{
	Daxalloc__Envelope req = DAXALLOC__ENVELOPE__INIT, *resp;
	Daxalloc__StatusRequest body = DAXALLOC__STATUS_REQUEST__INIT;
	int exit_status, r;

	r = ctl_parse_common(ctl, argc, argv, cmd_status_usage, &exit_status);
	if (r < 0)
		return exit_status;
	if (r < argc) {
		fputs(cmd_status_usage, stderr);
		return CTL_EXIT_USAGE;
	}
	req.body_case = DAXALLOC__ENVELOPE__BODY_STATUS_REQ;
	req.status_req = &body;
	r = ctl_call(ctl, &req, &resp);
	if (r)
		return r;
	if (resp->body_case != DAXALLOC__ENVELOPE__BODY_STATUS_REPLY) {
		fprintf(stderr, "daxallocctl: unexpected reply to Status\n");
		envelope_free(resp);
		return CTL_EXIT_FAIL;
	}
	if (ctl->json) {
		json_object *o = cmd_status_json(resp->status_reply);

		ctl_print_json(o);
		json_object_put(o);
	} else {
		cmd_status_table(resp->status_reply);
	}
	envelope_free(resp);
	return CTL_EXIT_OK;
}
