// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_list.c -- daxallocctl list extents|processes|leases|pins|quarantine
 *
 * One CtlList request per page, following next_cursor until it is 0.
 * Extents come back in a ListReply, the core rule's records in a
 * CtlListReply.
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"

static const char cmd_list_usage[] =
	"Usage: daxallocctl list [--json] WHAT\n"
	"List one kind of the daemon's records, all pages of it.  WHAT is:\n"
	"  extents     every extent in id order: id, device offset, length,\n"
	"              owner, mode, name\n"
	"  processes   client processes the daemon knows: connections, leases,\n"
	"              pins, unacknowledged lease breaks, anonymous extents,\n"
	"              whether some of their holds were revoked\n"
	"  leases      who may map which extent: extent, pid, opens not closed,\n"
	"              read-only or read-write, held or revoked\n"
	"  pins        ranges that DMA may target: pin id, extent, pid, device\n"
	"              offset, length, pinned / quarantined / revoked\n"
	"  quarantine  ranges that left an extent while pinned or leased by\n"
	"              another process: device offset, length, the extent they\n"
	"              left, the pins and lease breaks they wait for\n"
	"Offsets are bytes from the start of the device (hex in tables).\n"
	"See docs/core-rule.md for what each record means.\n"
	"\n"
	"  -j, --json   JSON output: an array of objects, sizes in bytes\n"
	"  -h, --help   this help\n"
	"\n" CTL_EXIT_HELP;

struct list_kind {
	const char *name;
	Daxalloc__CtlListRequest__What what;
	void (*header)(void);
	/* Adds the page's records to arr, or prints them when arr is NULL. */
	void (*page)(const Daxalloc__Envelope *resp, json_object *arr);
};

/* list_extents_header -- the columns of list extents */
static void list_extents_header(void)
{
	printf("%-8s %-14s %-14s %-6s %-6s %-5s %s\n", "id", "offset", "length",
	       "uid", "gid", "mode", "name");
}

/* list_extents_page -- one ListReply of extents */
static void list_extents_page(const Daxalloc__Envelope *resp, json_object *arr)
{
	const Daxalloc__ListReply *lr = resp->list_reply;
	size_t i;

	for (i = 0; i < lr->n_extents; i++) {
		const Daxalloc__Extent *x = lr->extents[i];

		if (arr)
			json_object_array_add(arr, ctl_extent_json(x));
		else
			printf("%-8llu %#-14llx %#-14llx %-6u %-6u %04o  %s\n",
			       (unsigned long long)x->id,
			       (unsigned long long)x->offset,
			       (unsigned long long)x->length, x->uid, x->gid,
			       x->mode, x->name);
	}
}

static void list_processes_header(void)
{
	holds_process_header();
}

static void list_leases_header(void)
{
	holds_lease_header("", true);
}

static void list_pins_header(void)
{
	holds_pin_header("", true);
}

static void list_quarantine_header(void)
{
	holds_quarantine_header("", true);
}

/*
 * list_holds_page -- one CtlListReply
 *
 * The daemon fills only the field that was asked for; whatever it sent
 * is shown, so this serves all four kinds.
 */
static void list_holds_page(const Daxalloc__Envelope *resp, json_object *arr)
{
	const Daxalloc__CtlListReply *lr = resp->ctl_list_reply;
	size_t i;

	for (i = 0; i < lr->n_processes; i++) {
		if (arr)
			json_object_array_add(
				arr, holds_process_json(lr->processes[i]));
		else
			holds_process_row(lr->processes[i]);
	}
	for (i = 0; i < lr->n_leases; i++) {
		if (arr)
			json_object_array_add(arr,
					      holds_lease_json(lr->leases[i]));
		else
			holds_lease_row("", lr->leases[i], true);
	}
	for (i = 0; i < lr->n_pins; i++) {
		if (arr)
			json_object_array_add(arr, holds_pin_json(lr->pins[i]));
		else
			holds_pin_row("", lr->pins[i], true);
	}
	for (i = 0; i < lr->n_quarantine; i++) {
		if (arr)
			json_object_array_add(
				arr, holds_quarantine_json(lr->quarantine[i]));
		else
			holds_quarantine_row("", lr->quarantine[i], true);
	}
}

static const struct list_kind list_kinds[] = {
	{ "extents", DAXALLOC__CTL_LIST_REQUEST__WHAT__EXTENTS,
	  list_extents_header, list_extents_page },
	{ "processes", DAXALLOC__CTL_LIST_REQUEST__WHAT__SESSIONS,
	  list_processes_header, list_holds_page },
	{ "leases", DAXALLOC__CTL_LIST_REQUEST__WHAT__LEASES,
	  list_leases_header, list_holds_page },
	{ "pins", DAXALLOC__CTL_LIST_REQUEST__WHAT__PINS, list_pins_header,
	  list_holds_page },
	{ "quarantine", DAXALLOC__CTL_LIST_REQUEST__WHAT__QUARANTINE,
	  list_quarantine_header, list_holds_page },
};

/*
 * ctl_list_page -- one CtlList request: what from cursor
 *
 * Checks that the reply has the body this kind of list is answered with;
 * returns a CTL_EXIT_* status and, on success, the reply in *resp.
 */
int ctl_list_page(struct ctl *ctl, Daxalloc__CtlListRequest__What what,
		  uint64_t cursor, Daxalloc__Envelope **resp)
{
	Daxalloc__CtlListRequest body = DAXALLOC__CTL_LIST_REQUEST__INIT;
	Daxalloc__Envelope req = DAXALLOC__ENVELOPE__INIT;
	Daxalloc__Envelope__BodyCase want;
	int r;

	body.what = what;
	body.cursor = cursor;
	req.body_case = DAXALLOC__ENVELOPE__BODY_CTL_LIST;
	req.ctl_list = &body;
	r = ctl_call(ctl, &req, resp);
	if (r)
		return r;
	want = what == DAXALLOC__CTL_LIST_REQUEST__WHAT__EXTENTS ?
		       DAXALLOC__ENVELOPE__BODY_LIST_REPLY :
		       DAXALLOC__ENVELOPE__BODY_CTL_LIST_REPLY;
	if ((*resp)->body_case != want) {
		fprintf(stderr, "daxallocctl: unexpected reply to CtlList\n");
		envelope_free(*resp);
		*resp = NULL;
		return CTL_EXIT_FAIL;
	}
	return CTL_EXIT_OK;
}

/* ctl_list_next -- the next_cursor of a page ctl_list_page() returned */
uint64_t ctl_list_next(const Daxalloc__Envelope *resp)
{
	if (resp->body_case == DAXALLOC__ENVELOPE__BODY_LIST_REPLY)
		return resp->list_reply->next_cursor;
	return resp->ctl_list_reply->next_cursor;
}

/* cmd_list -- daxallocctl list [--json] WHAT, page by page */
int cmd_list(struct ctl *ctl, int argc, char **argv)
{
	const struct list_kind *kind = NULL;
	Daxalloc__Envelope *resp;
	json_object *arr = NULL;
	int exit_status, r;
	uint64_t cursor = 0, next;
	size_t i;

	r = ctl_parse_common(ctl, argc, argv, cmd_list_usage, &exit_status);
	if (r < 0)
		return exit_status;
	if (r != argc - 1) {
		fputs(cmd_list_usage, stderr);
		return CTL_EXIT_USAGE;
	}
	for (i = 0; i < sizeof(list_kinds) / sizeof(list_kinds[0]); i++)
		if (!strcmp(argv[r], list_kinds[i].name))
			kind = &list_kinds[i];
	if (!kind) {
		fprintf(stderr, "daxallocctl: cannot list '%s'\n", argv[r]);
		fputs(cmd_list_usage, stderr);
		return CTL_EXIT_USAGE;
	}
	if (ctl->json)
		arr = json_object_new_array();
	do {
		r = ctl_list_page(ctl, kind->what, cursor, &resp);
		if (r)
			goto out;
		/* The header only once the daemon answered: no lone header. */
		if (!arr && !cursor)
			kind->header();
		kind->page(resp, arr);
		next = ctl_list_next(resp);
		envelope_free(resp);
		if (next && next == cursor) {
			/* A daemon that repeats a cursor would keep us forever. */
			fprintf(stderr,
				"daxallocctl: the daemon repeats cursor %llu\n",
				(unsigned long long)next);
			r = CTL_EXIT_FAIL;
			goto out;
		}
		cursor = next;
	} while (cursor);
	if (arr)
		ctl_print_json(arr);
	r = CTL_EXIT_OK;
out:
	if (arr)
		json_object_put(arr);
	return r;
}
