// SPDX-License-Identifier: Apache-2.0
/*
 * control.c -- requests of the control socket (daxallocctl)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "control.h"
#include "daxalloc-config.h"
#include "options.h"
#include "pool.h"
#include "server.h"
#include "space.h"

/* control_status -- who we are, where we listen, how long we have run */
int control_status(struct conn *c, const Daxalloc__Envelope *req,
		   struct dispatch_reply *rep)
{
	const struct server *srv = c->srv;
	Daxalloc__StatusReply *st = &rep->u.status;

	daxalloc__status_reply__init(st);
	st->version = (char *)DAXALLOC_VERSION;
	st->pid = (uint32_t)getpid();
	st->client_socket = srv->listeners[CONN_CLIENT].path;
	st->control_socket = srv->listeners[CONN_CONTROL].path;
	st->uptime_ms = server_uptime_ms(srv);
	st->connections = srv->nconns;
	st->device = (char *)(srv->opts->device ? srv->opts->device : "");
	if (srv->pool) {
		struct pool_stats ps;

		pool_get_stats(srv->pool, &ps);
		st->pool_size = ps.device_size;
		st->unit = ps.unit;
		st->free_bytes = ps.free_bytes;
		st->largest_free = ps.largest_free;
		st->extents = (uint32_t)ps.extents;
		st->quarantined_bytes = ps.quarantined_bytes;
	}
	rep->env.body_case = DAXALLOC__ENVELOPE__BODY_STATUS_REPLY;
	rep->env.status_reply = st;
	return 0;
}

/* control_stats -- request and connection counters since start */
int control_stats(struct conn *c, const Daxalloc__Envelope *req,
		  struct dispatch_reply *rep)
{
	const struct server_stats *s = &c->srv->stats;
	Daxalloc__StatsReply *st = &rep->u.stats;

	daxalloc__stats_reply__init(st);
	st->requests = s->requests;
	st->errors = s->errors;
	st->connections_total = s->connections_total;
	st->bad_messages = s->bad_messages;
	rep->env.body_case = DAXALLOC__ENVELOPE__BODY_STATS_REPLY;
	rep->env.stats_reply = st;
	return 0;
}

/* Findings a Check reply carries; the rest are counted, not listed. */
#define CONTROL_CHECK_MAX 100

struct control_findings {
	struct dispatch_reply *rep;
	unsigned long total;
};

/* control_finding -- keep one finding for the reply */
static void control_finding(void *arg, const char *finding)
{
	struct control_findings *f = arg;
	struct dispatch_reply *rep = f->rep;
	char *copy;

	if (f->total++ >= CONTROL_CHECK_MAX)
		return;
	copy = strdup(finding);
	if (!copy)
		return;
	rep->strings[rep->nstrings++] = copy;
}

/* control_check -- verify every invariant of the live pool */
int control_check(struct conn *c, const Daxalloc__Envelope *req,
		  struct dispatch_reply *rep)
{
	Daxalloc__CheckReply *cr = &rep->u.check;
	struct control_findings f = { rep, 0 };
	int r;

	if (!c->srv->pool) {
		dispatch_set_msg(rep, "this daemon serves no pool");
		return -ENODEV;
	}
	rep->strings = calloc(CONTROL_CHECK_MAX, sizeof(*rep->strings));
	if (!rep->strings)
		return -ENOMEM;
	r = pool_check(c->srv->pool, control_finding, &f);
	if (r < 0)
		return r;
	space_check(c->srv, control_finding, &f);
	daxalloc__check_reply__init(cr);
	cr->ok = f.total == 0;
	cr->n_findings = rep->nstrings;
	cr->findings = rep->strings;
	if (f.total > rep->nstrings)
		dispatch_set_msg(rep, "%lu findings, %zu listed", f.total,
				 rep->nstrings);
	rep->env.body_case = DAXALLOC__ENVELOPE__BODY_CHECK_REPLY;
	rep->env.check_reply = cr;
	return 0;
}

/*
 * control_list -- one page of extents, in id order from the cursor
 *
 * The cursor is the first id to list; next_cursor is 0 after the last page.
 */
int control_list(struct conn *c, const Daxalloc__Envelope *req,
		 struct dispatch_reply *rep)
{
	const Daxalloc__CtlListRequest *lr = req->ctl_list;

	if (lr->what != DAXALLOC__CTL_LIST_REQUEST__WHAT__EXTENTS) {
		dispatch_set_msg(rep, "only extents can be listed yet");
		return -EOPNOTSUPP;
	}
	if (!c->srv->pool) {
		dispatch_set_msg(rep, "this daemon serves no pool");
		return -ENODEV;
	}
	return dispatch_list_page(rep, c->srv->pool, lr->cursor, NULL, NULL);
}

/* control_show -- one extent, by id or name */
int control_show(struct conn *c, const Daxalloc__Envelope *req,
		 struct dispatch_reply *rep)
{
	const Daxalloc__CtlShowRequest *sr = req->ctl_show;
	struct extent *e;

	if (!c->srv->pool) {
		dispatch_set_msg(rep, "this daemon serves no pool");
		return -ENODEV;
	}
	e = dispatch_lookup(c->srv->pool, sr->key_case ==
				DAXALLOC__CTL_SHOW_REQUEST__KEY_NAME,
			    sr->extent_id, sr->name, rep);
	if (!e)
		return -ENOENT;
	dispatch_extent_reply(rep, e);
	return 0;
}
