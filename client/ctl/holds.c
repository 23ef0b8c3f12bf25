// SPDX-License-Identifier: Apache-2.0
/*
 * holds.c -- processes, leases, pins and quarantined ranges, printed
 *
 * The core rule's records as the control socket reports them
 * (ProcessInfo, LeaseInfo, PinInfo, QuarantineInfo), each as a JSON object
 * with snake_case keys and plain numbers, and as a table row with sizes in
 * binary units and device offsets in hex.  list, show and revoke print
 * through these so that one record looks the same everywhere.
 */
#include <stdio.h>

#include "ctl.h"

/* holds_process_json -- one client process as a JSON object */
json_object *holds_process_json(const Daxalloc__ProcessInfo *p)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "pid", json_object_new_int64(p->pid));
	json_object_object_add(o, "start_time",
			       json_object_new_uint64(p->start_time));
	json_object_object_add(o, "uid", json_object_new_int64(p->uid));
	json_object_object_add(o, "name", json_object_new_string(p->name));
	json_object_object_add(o, "connections",
			       json_object_new_int64(p->connections));
	json_object_object_add(o, "leases", json_object_new_int64(p->leases));
	json_object_object_add(o, "pins", json_object_new_int64(p->pins));
	json_object_object_add(o, "breaks", json_object_new_int64(p->breaks));
	json_object_object_add(o, "anonymous",
			       json_object_new_int64(p->anonymous));
	json_object_object_add(o, "revoked",
			       json_object_new_boolean(p->revoked));
	return o;
}

/* holds_lease_json -- one lease as a JSON object */
json_object *holds_lease_json(const Daxalloc__LeaseInfo *l)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "extent_id",
			       json_object_new_uint64(l->extent_id));
	json_object_object_add(o, "pid", json_object_new_int64(l->pid));
	json_object_object_add(o, "start_time",
			       json_object_new_uint64(l->start_time));
	json_object_object_add(o, "count", json_object_new_int64(l->count));
	json_object_object_add(o, "read_only",
			       json_object_new_boolean(l->read_only));
	json_object_object_add(o, "revoked",
			       json_object_new_boolean(l->revoked));
	return o;
}

/* holds_pin_json -- one pin as a JSON object; offset is a device offset */
json_object *holds_pin_json(const Daxalloc__PinInfo *p)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "pin_id", json_object_new_uint64(p->pin_id));
	json_object_object_add(o, "extent_id",
			       json_object_new_uint64(p->extent_id));
	json_object_object_add(o, "pid", json_object_new_int64(p->pid));
	json_object_object_add(o, "offset", json_object_new_uint64(p->offset));
	json_object_object_add(o, "length", json_object_new_uint64(p->length));
	json_object_object_add(o, "revoked",
			       json_object_new_boolean(p->revoked));
	json_object_object_add(o, "quarantined",
			       json_object_new_boolean(p->quarantined));
	return o;
}

/* holds_quarantine_json -- one quarantined range as a JSON object */
json_object *holds_quarantine_json(const Daxalloc__QuarantineInfo *q)
{
	json_object *o = json_object_new_object();
	json_object *pids = json_object_new_array();
	size_t i;

	for (i = 0; i < q->n_waiting_pids; i++)
		json_object_array_add(
			pids, json_object_new_int64(q->waiting_pids[i]));
	json_object_object_add(o, "offset", json_object_new_uint64(q->offset));
	json_object_object_add(o, "length", json_object_new_uint64(q->length));
	json_object_object_add(o, "extent_id",
			       json_object_new_uint64(q->extent_id));
	json_object_object_add(o, "pins", json_object_new_int64(q->pins));
	json_object_object_add(o, "breaks", json_object_new_int64(q->breaks));
	json_object_object_add(o, "waiting_pids", pids);
	return o;
}

/* holds_process_header -- the column names of holds_process_row() */
void holds_process_header(void)
{
	printf("%-8s %-6s %5s %6s %6s %6s %4s %-7s %s\n", "pid", "uid", "conns",
	       "leases", "pins", "breaks", "anon", "revoked", "name");
}

/* holds_process_row -- one client process as a table row */
void holds_process_row(const Daxalloc__ProcessInfo *p)
{
	printf("%-8u %-6u %5u %6u %6u %6u %4u %-7s %s\n", p->pid, p->uid,
	       p->connections, p->leases, p->pins, p->breaks, p->anonymous,
	       p->revoked ? "yes" : "-", p->name[0] ? p->name : "-");
}

/* holds_lease_header -- the column names of holds_lease_row() */
void holds_lease_header(const char *indent, bool with_extent)
{
	printf("%s", indent);
	if (with_extent)
		printf("%-8s ", "extent");
	printf("%-8s %5s %-4s %s\n", "pid", "opens", "mode", "state");
}

/* holds_lease_row -- one lease as a table row */
void holds_lease_row(const char *indent, const Daxalloc__LeaseInfo *l,
		     bool with_extent)
{
	printf("%s", indent);
	if (with_extent)
		printf("%-8llu ", (unsigned long long)l->extent_id);
	printf("%-8u %5u %-4s %s\n", l->pid, l->count,
	       l->read_only ? "ro" : "rw", l->revoked ? "revoked" : "held");
}

/* holds_pin_header -- the column names of holds_pin_row() */
void holds_pin_header(const char *indent, bool with_extent)
{
	printf("%s%-8s ", indent, "pin");
	if (with_extent)
		printf("%-8s ", "extent");
	printf("%-8s %-14s %-10s %s\n", "pid", "offset", "length", "state");
}

/* holds_pin_row -- one pin as a table row; the offset is a device offset */
void holds_pin_row(const char *indent, const Daxalloc__PinInfo *p,
		   bool with_extent)
{
	const char *state;
	char len[32];

	if (p->revoked && p->quarantined)
		state = "revoked, quarantined";
	else if (p->revoked)
		state = "revoked";
	else if (p->quarantined)
		state = "quarantined";
	else
		state = "pinned";
	ctl_format_size(p->length, len, sizeof(len));
	printf("%s%-8llu ", indent, (unsigned long long)p->pin_id);
	if (with_extent)
		printf("%-8llu ", (unsigned long long)p->extent_id);
	printf("%-8u %#-14llx %-10s %s\n", p->pid,
	       (unsigned long long)p->offset, len, state);
}

/* holds_quarantine_header -- the column names of holds_quarantine_row() */
void holds_quarantine_header(const char *indent, bool with_extent)
{
	printf("%s%-14s %-10s ", indent, "offset", "length");
	if (with_extent)
		printf("%-8s ", "extent");
	printf("%4s %6s %s\n", "pins", "breaks", "waiting for");
}

/* holds_quarantine_row -- one quarantined range as a table row */
void holds_quarantine_row(const char *indent, const Daxalloc__QuarantineInfo *q,
			  bool with_extent)
{
	char len[32];
	size_t i;

	ctl_format_size(q->length, len, sizeof(len));
	printf("%s%#-14llx %-10s ", indent, (unsigned long long)q->offset, len);
	if (with_extent)
		printf("%-8llu ", (unsigned long long)q->extent_id);
	printf("%4u %6u ", q->pins, q->breaks);
	if (!q->n_waiting_pids)
		printf("-");
	for (i = 0; i < q->n_waiting_pids; i++)
		printf("%s%u", i ? "," : "pid ", q->waiting_pids[i]);
	putchar('\n');
}
