// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_status.c -- daxallocctl status
 */
#include <stdio.h>

#include "ctl.h"

static const char cmd_status_usage[] =
	"Usage: daxallocctl status [--json]\n"
	"Show the daemon's version, pid, sockets, uptime and connections, and\n"
	"the pool's figures: size, unit, free bytes, largest free run, extents,\n"
	"bytes in the quarantine (left an extent, not free yet) and bytes under\n"
	"pins (DMA may target them).\n"
	"\n"
	"  -j, --json   JSON output (sizes in bytes)\n"
	"  -h, --help   this help\n";

/* cmd_status_json -- the reply as a JSON object */
static json_object *cmd_status_json(const Daxalloc__StatusReply *st)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "version", json_object_new_string(st->version));
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
	json_object_object_add(o, "pool_size", json_object_new_uint64(st->pool_size));
	json_object_object_add(o, "unit", json_object_new_uint64(st->unit));
	json_object_object_add(o, "free_bytes", json_object_new_uint64(st->free_bytes));
	json_object_object_add(o, "largest_free",
			       json_object_new_uint64(st->largest_free));
	json_object_object_add(o, "extents", json_object_new_int64(st->extents));
	json_object_object_add(o, "quarantined_bytes",
			       json_object_new_uint64(st->quarantined_bytes));
	json_object_object_add(o, "pinned_bytes",
			       json_object_new_uint64(st->pinned_bytes));
	return o;
}

/* cmd_status_size -- one row of bytes: binary units, exact count after */
static void cmd_status_size(const char *key, uint64_t bytes)
{
	char buf[32];

	ctl_format_size(bytes, buf, sizeof(buf));
	if (bytes < 1024)
		ctl_print_row(key, "%s", buf);
	else
		ctl_print_row(key, "%s (%llu)", buf, (unsigned long long)bytes);
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
	ctl_print_row("device", "%s", st->device[0] ? st->device : "-");
	cmd_status_size("pool size", st->pool_size);
	cmd_status_size("unit", st->unit);
	cmd_status_size("free", st->free_bytes);
	cmd_status_size("largest free", st->largest_free);
	ctl_print_row("extents", "%u", st->extents);
	cmd_status_size("quarantined", st->quarantined_bytes);
	cmd_status_size("pinned", st->pinned_bytes);
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
