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
#include "hold.h"
#include "log.h"
#include "options.h"
#include "pool.h"
#include "proc.h"
#include "server.h"
#include "space.h"

/*
 * control_clients -- client processes and client-socket connections
 *
 * A process is counted from the first Hello until it exits, also while
 * it has no connection: its leases, pins and anonymous extents outlive
 * its sockets, and it is what an operator would revoke.
 */
static void control_clients(const struct server *srv, uint32_t *procs,
			    uint32_t *conns)
{
	const struct proc *p;
	const struct conn *c;

	*procs = 0;
	*conns = 0;
	TAILQ_FOREACH(p, &srv->procs, entry)
		*procs += !p->exited;
	TAILQ_FOREACH(c, &srv->conns, entry)
		*conns += c->kind == CONN_CLIENT;
}

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
	control_clients(srv, &st->client_processes, &st->client_connections);
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
		st->pinned_bytes = hold_pinned_bytes(srv);
		st->last_shutdown_clean = ps.last_shutdown_clean;
		st->unsafe_shutdown_count_supported = ps.usc_supported;
		st->unsafe_shutdown_count = ps.usc;
		st->unsafe_shutdown = ps.usc_changed;
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
	hold_check(c->srv, control_finding, &f);
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

/* Items per CtlList page, and pids listed per quarantined range. */
#define CONTROL_PAGE 200
#define CONTROL_WAITING 16

/* One page of a CtlList or the extras of a CtlShow: one heap block. */
struct control_page {
	Daxalloc__ProcessInfo procs[CONTROL_PAGE];
	Daxalloc__LeaseInfo leases[CONTROL_PAGE];
	Daxalloc__PinInfo pins[CONTROL_PAGE];
	Daxalloc__QuarantineInfo qs[CONTROL_PAGE];
	uint32_t waiting[CONTROL_PAGE][CONTROL_WAITING];
	void *ptr[4][CONTROL_PAGE];
};

static void control_lease_msg(Daxalloc__LeaseInfo *m, const struct hold_lease *l)
{
	daxalloc__lease_info__init(m);
	m->extent_id = l->rec.extent_id;
	m->pid = l->rec.pid;
	m->start_time = l->rec.start_time;
	m->count = l->rec.count;
	m->read_only = !!(l->rec.flags & FMT_HOLD_RDONLY);
	m->revoked = !!(l->rec.flags & FMT_HOLD_REVOKED);
}

static void control_pin_msg(Daxalloc__PinInfo *m, const struct hold_pin *pin)
{
	daxalloc__pin_info__init(m);
	m->pin_id = pin->rec.id;
	m->extent_id = pin->rec.extent_id;
	m->offset = pin->rec.offset;
	m->length = pin->rec.length;
	m->pid = pin->rec.pid;
	m->revoked = !!(pin->rec.flags & FMT_HOLD_REVOKED);
	m->quarantined = pin->nq > 0;
}

/* control_waiting_add -- note pid once in waiting[0..*n) */
static void control_waiting_add(uint32_t *waiting, size_t *n, uint32_t pid)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (waiting[i] == pid)
			return;
	if (*n < CONTROL_WAITING)
		waiting[(*n)++] = pid;
}

/*
 * control_qrange_msg -- a quarantined range and the processes it waits
 * for: those that owe a lease break and those whose pins overlap it
 */
static void control_qrange_msg(struct server *srv, Daxalloc__QuarantineInfo *m,
			       uint32_t *waiting, const struct qrange *q)
{
	const struct hold_brk *b;
	const struct proc *p;
	size_t n = 0;

	daxalloc__quarantine_info__init(m);
	m->offset = q->rec.offset;
	m->length = q->rec.length;
	m->extent_id = q->rec.extent_id;
	m->pins = q->npins;
	m->breaks = q->nbreaks;
	LIST_FOREACH(b, &q->breaks, q_entry)
		control_waiting_add(waiting, &n, b->rec.pid);
	TAILQ_FOREACH(p, &srv->procs, entry) {
		const struct hold_pin *pin;

		if (!q->npins)
			break;
		TAILQ_FOREACH(pin, &p->hold.pins, proc_entry)
			if (pin->nq && pin->rec.offset < q->rec.offset + q->rec.length &&
			    q->rec.offset < pin->rec.offset + pin->rec.length) {
				control_waiting_add(waiting, &n, pin->rec.pid);
				break;
			}
	}
	m->n_waiting_pids = n;
	m->waiting_pids = waiting;
}

/*
 * control_take -- is item *i (counted from 0) on this page?
 *
 * Past a full page, the first item not taken is where the next starts.
 */
static bool control_take(uint64_t *i, uint64_t cursor, size_t n,
			 uint64_t *next)
{
	uint64_t k = (*i)++;

	if (k < cursor)
		return false;
	if (n < CONTROL_PAGE)
		return true;
	if (!*next)
		*next = k;
	return false;
}

/*
 * control_list_holds -- a page of processes, leases, pins or quarantine
 *
 * The cursor counts items in the daemon's own order (processes as first
 * seen, each one's leases and pins in the order taken, ranges as they
 * were quarantined); what changes between pages may be missed or seen
 * twice, as with any listing of live state.
 */
static int control_list_holds(struct conn *c, int what, uint64_t cursor,
			      struct dispatch_reply *rep)
{
	Daxalloc__CtlListReply *out = &rep->u.ctl_list;
	struct control_page *pg;
	uint64_t i = 0;
	size_t n = 0;
	struct proc *p;

	pg = calloc(1, sizeof(*pg));
	if (!pg)
		return -ENOMEM;
	rep->heap = pg;
	daxalloc__ctl_list_reply__init(out);
#define CONTROL_TAKE() control_take(&i, cursor, n, &out->next_cursor)
	switch (what) {
	case DAXALLOC__CTL_LIST_REQUEST__WHAT__SESSIONS:
		TAILQ_FOREACH(p, &c->srv->procs, entry) {
			Daxalloc__ProcessInfo *m = &pg->procs[n];
			unsigned int nc = 0;
			struct conn *k;

			if (!CONTROL_TAKE())
				continue;
			TAILQ_FOREACH(k, &c->srv->conns, entry)
				nc += k->proc == p;
			daxalloc__process_info__init(m);
			m->pid = (uint32_t)p->pid;
			m->start_time = p->start_time;
			m->uid = (uint32_t)p->uid;
			m->connections = nc;
			m->leases = p->hold.nleases;
			m->pins = p->hold.npins;
			m->breaks = p->hold.nbreaks;
			m->anonymous = (uint32_t)p->nanon;
			m->revoked = p->hold.nrevoked > 0;
			m->name = p->name;
			pg->ptr[0][n++] = m;
		}
		out->n_processes = n;
		out->processes = (Daxalloc__ProcessInfo **)pg->ptr[0];
		break;
	case DAXALLOC__CTL_LIST_REQUEST__WHAT__LEASES:
		TAILQ_FOREACH(p, &c->srv->procs, entry) {
			struct hold_lease *l;

			TAILQ_FOREACH(l, &p->hold.leases, proc_entry) {
				if (!CONTROL_TAKE())
					continue;
				control_lease_msg(&pg->leases[n], l);
				pg->ptr[1][n] = &pg->leases[n];
				n++;
			}
		}
		out->n_leases = n;
		out->leases = (Daxalloc__LeaseInfo **)pg->ptr[1];
		break;
	case DAXALLOC__CTL_LIST_REQUEST__WHAT__PINS:
		TAILQ_FOREACH(p, &c->srv->procs, entry) {
			struct hold_pin *pin;

			TAILQ_FOREACH(pin, &p->hold.pins, proc_entry) {
				if (!CONTROL_TAKE())
					continue;
				control_pin_msg(&pg->pins[n], pin);
				pg->ptr[2][n] = &pg->pins[n];
				n++;
			}
		}
		out->n_pins = n;
		out->pins = (Daxalloc__PinInfo **)pg->ptr[2];
		break;
	default: {
		struct qrange *q;

		TAILQ_FOREACH(q, &c->srv->pool->quarantine.ranges, entry) {
			if (!CONTROL_TAKE())
				continue;
			control_qrange_msg(c->srv, &pg->qs[n], pg->waiting[n], q);
			pg->ptr[3][n] = &pg->qs[n];
			n++;
		}
		out->n_quarantine = n;
		out->quarantine = (Daxalloc__QuarantineInfo **)pg->ptr[3];
	}
	}
#undef CONTROL_TAKE
	rep->env.body_case = DAXALLOC__ENVELOPE__BODY_CTL_LIST_REPLY;
	rep->env.ctl_list_reply = out;
	return 0;
}

/*
 * control_list -- one page of extents, processes, leases, pins or
 * quarantined ranges
 *
 * For extents the cursor is the first id to list; next_cursor is 0 after
 * the last page.
 */
int control_list(struct conn *c, const Daxalloc__Envelope *req,
		 struct dispatch_reply *rep)
{
	const Daxalloc__CtlListRequest *lr = req->ctl_list;

	if (!c->srv->pool) {
		dispatch_set_msg(rep, "this daemon serves no pool");
		return -ENODEV;
	}
	switch (lr->what) {
	case DAXALLOC__CTL_LIST_REQUEST__WHAT__EXTENTS:
		return dispatch_list_page(rep, c->srv->pool, lr->cursor, NULL,
					  NULL);
	case DAXALLOC__CTL_LIST_REQUEST__WHAT__SESSIONS:
	case DAXALLOC__CTL_LIST_REQUEST__WHAT__LEASES:
	case DAXALLOC__CTL_LIST_REQUEST__WHAT__PINS:
	case DAXALLOC__CTL_LIST_REQUEST__WHAT__QUARANTINE:
		return control_list_holds(c, lr->what, lr->cursor, rep);
	default:
		dispatch_set_msg(rep, "listing %d is not supported", (int)lr->what);
		return -EOPNOTSUPP;
	}
}

/*
 * control_show -- one extent, by id or name, with its leases, its pins
 * and the quarantined ranges that left it
 */
int control_show(struct conn *c, const Daxalloc__Envelope *req,
		 struct dispatch_reply *rep)
{
	const Daxalloc__CtlShowRequest *sr = req->ctl_show;
	Daxalloc__ExtentReply *x = &rep->u.extent;
	struct control_page *pg;
	struct hold_lease *l;
	struct hold_pin *pin;
	struct qrange *q;
	struct extent *e;
	size_t n;

	if (!c->srv->pool) {
		dispatch_set_msg(rep, "this daemon serves no pool");
		return -ENODEV;
	}
	e = dispatch_lookup(c->srv->pool, sr->key_case ==
				DAXALLOC__CTL_SHOW_REQUEST__KEY_NAME,
			    sr->extent_id, sr->name, rep);
	if (!e)
		return -ENOENT;
	pg = calloc(1, sizeof(*pg));
	if (!pg)
		return -ENOMEM;
	rep->heap = pg;
	dispatch_extent_reply(rep, e);
	n = 0;
	LIST_FOREACH(l, &e->leases, ext_entry) {
		if (n == CONTROL_PAGE)
			break;
		control_lease_msg(&pg->leases[n], l);
		pg->ptr[1][n] = &pg->leases[n];
		n++;
	}
	x->n_leases = n;
	x->leases = (Daxalloc__LeaseInfo **)pg->ptr[1];
	n = 0;
	LIST_FOREACH(pin, &e->pins, ext_entry) {
		if (n == CONTROL_PAGE)
			break;
		control_pin_msg(&pg->pins[n], pin);
		pg->ptr[2][n] = &pg->pins[n];
		n++;
	}
	x->n_pins = n;
	x->pins = (Daxalloc__PinInfo **)pg->ptr[2];
	n = 0;
	TAILQ_FOREACH(q, &c->srv->pool->quarantine.ranges, entry) {
		if (q->rec.extent_id != e->rec.id || n == CONTROL_PAGE)
			continue;
		control_qrange_msg(c->srv, &pg->qs[n], pg->waiting[n], q);
		pg->ptr[3][n] = &pg->qs[n];
		n++;
	}
	x->n_quarantine = n;
	x->quarantine = (Daxalloc__QuarantineInfo **)pg->ptr[3];
	return 0;
}

/* control_revoke -- take extents away from processes (daxallocctl revoke) */
int control_revoke(struct conn *c, const Daxalloc__Envelope *req,
		   struct dispatch_reply *rep)
{
	Daxalloc__RevokeReply *out = &rep->u.revoke;
	int r;

	if (!c->srv->pool) {
		dispatch_set_msg(rep, "this daemon serves no pool");
		return -ENODEV;
	}
	daxalloc__revoke_reply__init(out);
	r = hold_revoke(c->srv, req->revoke, out, rep->msg);
	if (r < 0)
		return r;
	log_notice("revoke by uid %u: pid %u, extent %llu, uid %s%u, grace %s, %s: %u processes",
		   (unsigned int)c->uid, req->revoke->pid,
		   (unsigned long long)req->revoke->extent_id,
		   req->revoke->by_uid ? "" : "(any) ", req->revoke->uid,
		   req->revoke->grace_set ? "given" : "default",
		   req->revoke->force_unsafe ? "FORCE UNSAFE" :
		   req->revoke->kill ? "kill" : "no kill", out->processes);
	rep->env.body_case = DAXALLOC__ENVELOPE__BODY_REVOKE_REPLY;
	rep->env.revoke_reply = out;
	return 0;
}
