// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_show.c -- daxallocctl show EXTENT
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static const char cmd_show_usage[] =
	"Usage: daxallocctl show [--json] EXTENT\n"
	"Show one extent.  EXTENT is an id (digits) or a name; a name made of\n"
	"digits is given as name:DIGITS.\n"
	"\n"
	"  -j, --json   JSON output\n"
	"  -h, --help   this help\n";

/* cmd_show -- daxallocctl show [--json] EXTENT */
int cmd_show(struct ctl *ctl, int argc, char **argv)
{
	Daxalloc__CtlShowRequest body = DAXALLOC__CTL_SHOW_REQUEST__INIT;
	Daxalloc__Envelope req = DAXALLOC__ENVELOPE__INIT, *resp;
	const Daxalloc__Extent *x;
	const char *arg;
	int exit_status, r;
	char *end;

	r = ctl_parse_common(ctl, argc, argv, cmd_show_usage, &exit_status);
	if (r < 0)
		return exit_status;
	if (r != argc - 1) {
		fputs(cmd_show_usage, stderr);
		return CTL_EXIT_USAGE;
	}
	arg = argv[r];
	errno = 0;
	body.extent_id = strtoull(arg, &end, 10);
	if (*arg && !*end && !errno) {
		body.key_case = DAXALLOC__CTL_SHOW_REQUEST__KEY_EXTENT_ID;
	} else {
		body.key_case = DAXALLOC__CTL_SHOW_REQUEST__KEY_NAME;
		body.name = (char *)(strncmp(arg, "name:", 5) ? arg : arg + 5);
	}
	req.body_case = DAXALLOC__ENVELOPE__BODY_CTL_SHOW;
	req.ctl_show = &body;
	r = ctl_call(ctl, &req, &resp);
	if (r)
		return r;
	if (resp->body_case != DAXALLOC__ENVELOPE__BODY_EXTENT_REPLY ||
	    !resp->extent_reply->extent) {
		fprintf(stderr, "daxallocctl: unexpected reply to Show\n");
		envelope_free(resp);
		return CTL_EXIT_FAIL;
	}
	x = resp->extent_reply->extent;
	if (ctl->json) {
		json_object *o = ctl_extent_json(x);

		ctl_print_json(o);
		json_object_put(o);
	} else {
		ctl_print_row("id", "%llu", (unsigned long long)x->id);
		ctl_print_row("name", "%s", x->name[0] ? x->name : "-");
		ctl_print_row("offset", "%#llx", (unsigned long long)x->offset);
		ctl_print_row("length", "%llu", (unsigned long long)x->length);
		ctl_print_row("owner", "%u:%u", x->uid, x->gid);
		ctl_print_row("mode", "%04o", x->mode);
		ctl_print_row("kind", "%s", x->flags & 1 ? "named" : "anonymous");
	}
	envelope_free(resp);
	return CTL_EXIT_OK;
}
