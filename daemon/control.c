// SPDX-License-Identifier: Apache-2.0
/*
 * control.c -- requests of the control socket (daxallocctl)
 */
#include <unistd.h>

#include "conn.h"
#include "control.h"
#include "daxalloc-config.h"
#include "options.h"
#include "server.h"

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
