// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_show.c -- daxallocctl show EXTENT
 */
#include <stdio.h>

#include "ctl.h"

static const char cmd_show_usage[] =
	"Usage: daxallocctl show [--json] EXTENT\n"
	"Show one extent, the leases on it, the pins taken on it and the\n"
	"quarantined ranges that left it.  EXTENT is an id (digits) or a name;\n"
	"a name made of digits is given as name:DIGITS.  Offsets of pins and\n"
	"quarantined ranges are bytes from the start of the device.\n"
	"\n"
	"  -j, --json   JSON output: the extent's fields, and arrays \"leases\",\n"
	"               \"pins\" and \"quarantine\" (empty when there are none)\n"
	"  -h, --help   this help\n"
	"\n" CTL_EXIT_HELP;

/*
 * ctl_show_extent -- CtlShow of an EXTENT operand (id, name or name:DIGITS)
 *
 * Returns a CTL_EXIT_* status; on success *resp holds an ExtentReply with
 * its extent set.
 */
int ctl_show_extent(struct ctl *ctl, const char *arg, Daxalloc__Envelope **resp)
{
	Daxalloc__CtlShowRequest body = DAXALLOC__CTL_SHOW_REQUEST__INIT;
	Daxalloc__Envelope req = DAXALLOC__ENVELOPE__INIT;
	const char *name;
	int r;

	if (ctl_extent_key(arg, &body.extent_id, &name)) {
		body.key_case = DAXALLOC__CTL_SHOW_REQUEST__KEY_EXTENT_ID;
	} else {
		body.key_case = DAXALLOC__CTL_SHOW_REQUEST__KEY_NAME;
		body.name = (char *)name;
	}
	req.body_case = DAXALLOC__ENVELOPE__BODY_CTL_SHOW;
	req.ctl_show = &body;
	r = ctl_call(ctl, &req, resp);
	if (r)
		return r;
	if ((*resp)->body_case != DAXALLOC__ENVELOPE__BODY_EXTENT_REPLY ||
	    !(*resp)->extent_reply->extent) {
		fprintf(stderr, "daxallocctl: unexpected reply to CtlShow\n");
		envelope_free(*resp);
		*resp = NULL;
		return CTL_EXIT_FAIL;
	}
	return CTL_EXIT_OK;
}

/* cmd_show_json -- the extent and its holds as one JSON object */
static json_object *cmd_show_json(const Daxalloc__ExtentReply *er)
{
	json_object *o = ctl_extent_json(er->extent);
	json_object *leases = json_object_new_array();
	json_object *pins = json_object_new_array();
	json_object *quar = json_object_new_array();
	size_t i;

	for (i = 0; i < er->n_leases; i++)
		json_object_array_add(leases, holds_lease_json(er->leases[i]));
	for (i = 0; i < er->n_pins; i++)
		json_object_array_add(pins, holds_pin_json(er->pins[i]));
	for (i = 0; i < er->n_quarantine; i++)
		json_object_array_add(quar,
				      holds_quarantine_json(er->quarantine[i]));
	json_object_object_add(o, "leases", leases);
	json_object_object_add(o, "pins", pins);
	json_object_object_add(o, "quarantine", quar);
	return o;
}

/* cmd_show_table -- the extent as rows, then one small table per kind */
static void cmd_show_table(const Daxalloc__ExtentReply *er)
{
	const Daxalloc__Extent *x = er->extent;
	char len[32];
	size_t i;

	ctl_format_size(x->length, len, sizeof(len));
	ctl_print_row("id", "%llu", (unsigned long long)x->id);
	ctl_print_row("name", "%s", x->name[0] ? x->name : "-");
	ctl_print_row("offset", "%#llx", (unsigned long long)x->offset);
	ctl_print_row("length", "%s (%llu)", len,
		      (unsigned long long)x->length);
	ctl_print_row("owner", "%u:%u", x->uid, x->gid);
	ctl_print_row("mode", "%04o", x->mode);
	ctl_print_row("kind", "%s", x->flags & 1 ? "named" : "anonymous");

	if (!er->n_leases) {
		ctl_print_row("leases", "none");
	} else {
		printf("leases\n");
		holds_lease_header("  ", false);
		for (i = 0; i < er->n_leases; i++)
			holds_lease_row("  ", er->leases[i], false);
	}
	if (!er->n_pins) {
		ctl_print_row("pins", "none");
	} else {
		printf("pins\n");
		holds_pin_header("  ", false);
		for (i = 0; i < er->n_pins; i++)
			holds_pin_row("  ", er->pins[i], false);
	}
	if (!er->n_quarantine) {
		ctl_print_row("quarantine", "none");
	} else {
		printf("quarantine (ranges that left this extent)\n");
		holds_quarantine_header("  ", false);
		for (i = 0; i < er->n_quarantine; i++)
			holds_quarantine_row("  ", er->quarantine[i], false);
	}
}

/* cmd_show -- daxallocctl show [--json] EXTENT */
int cmd_show(struct ctl *ctl, int argc, char **argv)
{
	Daxalloc__Envelope *resp;
	int exit_status, r;

	r = ctl_parse_common(ctl, argc, argv, cmd_show_usage, &exit_status);
	if (r < 0)
		return exit_status;
	if (r != argc - 1) {
		fputs(cmd_show_usage, stderr);
		return CTL_EXIT_USAGE;
	}
	r = ctl_show_extent(ctl, argv[r], &resp);
	if (r)
		return r;
	if (ctl->json) {
		json_object *o = cmd_show_json(resp->extent_reply);

		ctl_print_json(o);
		json_object_put(o);
	} else {
		cmd_show_table(resp->extent_reply);
	}
	envelope_free(resp);
	return CTL_EXIT_OK;
}
