// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_list.c -- daxallocctl list extents
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"

static const char cmd_list_usage[] =
	"Usage: daxallocctl list extents [--json]\n"
	"List the pool's extents in id order: id, offset, length, owner, mode,\n"
	"name.\n"
	"\n"
	"  -j, --json   JSON output (an array of objects)\n"
	"  -h, --help   this help\n";

/* cmd_list -- daxallocctl list extents [--json], page by page */
int cmd_list(struct ctl *ctl, int argc, char **argv)
{
	Daxalloc__CtlListRequest body = DAXALLOC__CTL_LIST_REQUEST__INIT;
	Daxalloc__Envelope req = DAXALLOC__ENVELOPE__INIT, *resp;
	json_object *arr = NULL;
	int exit_status, r;
	uint64_t cursor = 0;
	size_t i;

	r = ctl_parse_common(ctl, argc, argv, cmd_list_usage, &exit_status);
	if (r < 0)
		return exit_status;
	if (r != argc - 1 || strcmp(argv[r], "extents")) {
		fputs(cmd_list_usage, stderr);
		return CTL_EXIT_USAGE;
	}
	if (ctl->json)
		arr = json_object_new_array();
	else
		printf("%-8s %-14s %-14s %-6s %-6s %-5s %s\n", "id", "offset",
		       "length", "uid", "gid", "mode", "name");
	do {
		body.what = DAXALLOC__CTL_LIST_REQUEST__WHAT__EXTENTS;
		body.cursor = cursor;
		req.body_case = DAXALLOC__ENVELOPE__BODY_CTL_LIST;
		req.ctl_list = &body;
		r = ctl_call(ctl, &req, &resp);
		if (r)
			goto out;
		if (resp->body_case != DAXALLOC__ENVELOPE__BODY_LIST_REPLY) {
			fprintf(stderr, "daxallocctl: unexpected reply to List\n");
			envelope_free(resp);
			r = CTL_EXIT_FAIL;
			goto out;
		}
		for (i = 0; i < resp->list_reply->n_extents; i++) {
			const Daxalloc__Extent *x = resp->list_reply->extents[i];

			if (arr)
				json_object_array_add(arr, ctl_extent_json(x));
			else
				printf("%-8llu %#-14llx %#-14llx %-6u %-6u %04o  %s\n",
				       (unsigned long long)x->id,
				       (unsigned long long)x->offset,
				       (unsigned long long)x->length, x->uid,
				       x->gid, x->mode, x->name);
		}
		cursor = resp->list_reply->next_cursor;
		envelope_free(resp);
	} while (cursor);
	if (arr)
		ctl_print_json(arr);
	r = CTL_EXIT_OK;
out:
	if (arr)
		json_object_put(arr);
	return r;
}
