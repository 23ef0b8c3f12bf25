// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_check.c -- daxallocctl check
 */
#include <stdio.h>

#include "ctl.h"

static const char cmd_check_usage[] =
	"Usage: daxallocctl check [--json]\n"
	"Verify every invariant of the live pool: each unit of the data area in\n"
	"exactly one of free / an extent / bad, every record on the device equal\n"
	"to the daemon's memory, the free-space indexes consistent.\n"
	"Exit status 0 when consistent, 1 with findings.\n"
	"\n"
	"  -j, --json   JSON output\n"
	"  -h, --help   this help\n";

/* cmd_check -- daxallocctl check [--json] */
int cmd_check(struct ctl *ctl, int argc, char **argv)
{
	Daxalloc__Envelope req = DAXALLOC__ENVELOPE__INIT, *resp;
	Daxalloc__CheckRequest body = DAXALLOC__CHECK_REQUEST__INIT;
	const Daxalloc__CheckReply *cr;
	int exit_status, r;
	size_t i;

	r = ctl_parse_common(ctl, argc, argv, cmd_check_usage, &exit_status);
	if (r < 0)
		return exit_status;
	if (r < argc) {
		fputs(cmd_check_usage, stderr);
		return CTL_EXIT_USAGE;
	}
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
			json_object_array_add(a, json_object_new_string(cr->findings[i]));
		json_object_object_add(o, "ok", json_object_new_boolean(cr->ok));
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
	r = cr->ok ? CTL_EXIT_OK : CTL_EXIT_FAIL;
	envelope_free(resp);
	return r;
}
