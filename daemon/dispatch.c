// SPDX-License-Identifier: Apache-2.0
/*
 * dispatch.c -- request checks and the table of request handlers
 *
 * Every request passes the same checks in the same order: protocol
 * version, message type, privilege, descriptor count; only then does its
 * handler run.  A message that breaks the protocol (wrong version, a type
 * that is not a request, descriptors attached, anything before Hello) is
 * answered with an error and closes its connection; a well-formed request
 * that is refused (no privilege, not implemented, a handler's error) is
 * answered with an error and the connection stays.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "control.h"
#include "daxalloc-config.h"
#include "dispatch.h"
#include "hold.h"
#include "log.h"
#include "pool.h"
#include "request.h"
#include "server.h"

#define ON_CLIENT (1u << CONN_CLIENT)
#define ON_CONTROL (1u << CONN_CONTROL)

struct dispatch_entry {
	unsigned int sockets; /* ON_* bits; 0: not a request */
	bool admin;	      /* needs an admin peer */
	unsigned int nfds;    /* descriptors the request carries */
	dispatch_fn fn;	      /* NULL: declared, not implemented yet */
};

static int dispatch_hello(struct conn *c, const Daxalloc__Envelope *req,
			  struct dispatch_reply *rep);

#define B(x) DAXALLOC__ENVELOPE__BODY_##x

/* Indexed by body case; daxalloc.proto keeps the numbers small. */
static const struct dispatch_entry dispatch_table[ENVELOPE_BODY_MAX] = {
	[B(HELLO)] = { ON_CLIENT | ON_CONTROL, false, 0, dispatch_hello },
	[B(ALLOC)] = { ON_CLIENT, false, 0, request_alloc },
	[B(OPEN)] = { ON_CLIENT, false, 0, request_open },
	[B(CLOSE)] = { ON_CLIENT, false, 0, request_close },
	[B(TRUNCATE)] = { ON_CLIENT, false, 0, request_truncate },
	[B(DELETE)] = { ON_CLIENT, false, 0, request_delete },
	[B(PIN)] = { ON_CLIENT, false, 0, request_pin },
	[B(UNPIN)] = { ON_CLIENT, false, 0, request_unpin },
	[B(LEASE_BREAK_ACK)] = { ON_CLIENT, false, 0, request_lease_break_ack },
	[B(STAT)] = { ON_CLIENT, false, 0, request_stat },
	[B(LIST)] = { ON_CLIENT, false, 0, request_list },
	[B(STATUS_REQ)] = { ON_CONTROL, true, 0, control_status },
	[B(CTL_LIST)] = { ON_CONTROL, true, 0, control_list },
	[B(REVOKE)] = { ON_CONTROL, true, 0, control_revoke },
	[B(CHECK)] = { ON_CONTROL, true, 0, control_check },
	[B(STATS)] = { ON_CONTROL, true, 0, control_stats },
	[B(CTL_SHOW)] = { ON_CONTROL, true, 0, control_show },
};

/* dispatch_set_msg -- explain the reply, printf-style */
void dispatch_set_msg(struct dispatch_reply *rep, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rep->msg, sizeof(rep->msg), fmt, ap);
	va_end(ap);
}

/* dispatch_extent_msg -- an Extent message that points into e (no copies) */
void dispatch_extent_msg(Daxalloc__Extent *out, struct extent *e)
{
	daxalloc__extent__init(out);
	out->id = e->rec.id;
	out->name = e->rec.name;
	out->offset = e->rec.offset;
	out->length = e->rec.length;
	out->uid = e->rec.uid;
	out->gid = e->rec.gid;
	out->mode = e->rec.mode;
	out->flags = e->rec.flags;
}

/* dispatch_extent_reply -- make rep an ExtentReply about e */
void dispatch_extent_reply(struct dispatch_reply *rep, struct extent *e)
{
	daxalloc__extent_reply__init(&rep->u.extent);
	dispatch_extent_msg(&rep->extent, e);
	rep->u.extent.extent = &rep->extent;
	rep->env.body_case = DAXALLOC__ENVELOPE__BODY_EXTENT_REPLY;
	rep->env.extent_reply = &rep->u.extent;
}

/*
 * dispatch_lookup -- the extent a request names, by id or by name
 *
 * NULL with an explanation in rep when there is none.
 */
struct extent *dispatch_lookup(struct pool *p, bool by_name, uint64_t id,
			       const char *name, struct dispatch_reply *rep)
{
	struct extent *e = by_name ? pool_find_name(p, name) : pool_find(p, id);

	if (!e && by_name)
		dispatch_set_msg(rep, "no extent named '%.64s'", name);
	else if (!e)
		dispatch_set_msg(rep, "no extent %llu", (unsigned long long)id);
	return e;
}

/* Extents per List reply: 200 records of at most ~250 bytes fit 64 KiB. */
#define DISPATCH_LIST_MAX 200
/* Extents looked at per reply, so a filtered list costs bounded work. */
#define DISPATCH_LIST_SCAN 8192

/*
 * dispatch_list_page -- a ListReply page of extents in id order
 *
 * From cursor on, the extents want() accepts (all when want is NULL).
 * next_cursor says where the next page starts, 0 after the last.
 */
int dispatch_list_page(struct dispatch_reply *rep, struct pool *p,
		       uint64_t cursor,
		       bool (*want)(const struct extent *e, const void *arg),
		       const void *arg)
{
	Daxalloc__ListReply *out = &rep->u.list;
	struct {
		Daxalloc__Extent msg[DISPATCH_LIST_MAX];
		Daxalloc__Extent *ptr[DISPATCH_LIST_MAX];
	} *page;
	struct extent *e;
	size_t n = 0, scanned = 0;

	page = malloc(sizeof(*page));
	if (!page)
		return -ENOMEM;
	rep->heap = page;
	daxalloc__list_reply__init(out);
	for (e = pool_find_from(p, cursor); e; e = pool_next_id(p, e)) {
		if (n == DISPATCH_LIST_MAX || scanned++ == DISPATCH_LIST_SCAN) {
			out->next_cursor = e->rec.id;
			break;
		}
		if (want && !want(e, arg))
			continue;
		dispatch_extent_msg(&page->msg[n], e);
		page->ptr[n] = &page->msg[n];
		n++;
	}
	out->n_extents = n;
	out->extents = page->ptr;
	rep->env.body_case = DAXALLOC__ENVELOPE__BODY_LIST_REPLY;
	rep->env.list_reply = out;
	return 0;
}

/* dispatch_copy_name -- keep a printable copy of the client's own name */
static void dispatch_copy_name(struct conn *c, const char *name)
{
	size_t i;

	if (!name || !*name)
		return;
	for (i = 0; name[i] && i < sizeof(c->name) - 1; i++)
		c->name[i] = isprint((unsigned char)name[i]) ? name[i] : '?';
	c->name[i] = '\0';
}

/*
 * dispatch_hello -- negotiate the version and tell our capabilities
 *
 * The highest version both sides speak wins.  The pid the client claims
 * is only compared with SO_PEERCRED (they differ across pid namespaces);
 * the kernel's word is the one we keep.
 */
static int dispatch_hello(struct conn *c, const Daxalloc__Envelope *req,
			  struct dispatch_reply *rep)
{
	const Daxalloc__Hello *h = req->hello;
	Daxalloc__HelloReply *hr = &rep->u.hello;
	uint32_t lo, hi;

	if (c->state != CONN_NEW) {
		rep->close = true;
		dispatch_set_msg(rep, "Hello was already done");
		return -EPROTO;
	}
	lo = h->version_min > PROTO_VERSION_MIN ? h->version_min :
						  PROTO_VERSION_MIN;
	hi = h->version_max < PROTO_VERSION_MAX ? h->version_max :
						  PROTO_VERSION_MAX;
	if (h->version_min > h->version_max || lo > hi) {
		rep->close = true;
		dispatch_set_msg(rep,
				 "no common protocol version: client speaks %u..%u, daemon %u..%u",
				 h->version_min, h->version_max,
				 PROTO_VERSION_MIN, PROTO_VERSION_MAX);
		return -EPROTONOSUPPORT;
	}
	c->version = hi;
	dispatch_copy_name(c, h->client_name);
	if (c->proc)
		memcpy(c->proc->name, c->name, sizeof(c->proc->name));
	if (h->pid && (pid_t)h->pid != c->pid)
		log_debug("session %llu: client says pid %u, kernel says %d",
			  (unsigned long long)c->session, h->pid, (int)c->pid);

	daxalloc__hello_reply__init(hr);
	hr->version = c->version;
	hr->capabilities = DAXALLOC__CAPABILITY__CAP_LEASE_BREAK |
			   DAXALLOC__CAPABILITY__CAP_PIN_BATCH;
	hr->server_version = (char *)DAXALLOC_VERSION;
	hr->session_id = c->session;
	if (c->srv->pool) {
		struct pool_stats st;

		pool_get_stats(c->srv->pool, &st);
		hr->unit = st.unit;
	}
	rep->env.body_case = B(HELLO_REPLY);
	rep->env.hello_reply = hr;
	conn_enter_state(c, CONN_READY);
	log_info("session %llu: %s (pid %d uid %u) on the %s socket, protocol %u",
		 (unsigned long long)c->session, c->name, (int)c->pid,
		 (unsigned int)c->uid, conn_kind_name(c->kind), c->version);
	return 0;
}

/*
 * dispatch_check -- the fixed-order checks; 0 to run the handler
 *
 * Sets rep->close for violations of the protocol itself.
 */
static int dispatch_check(struct conn *c, const Daxalloc__Envelope *req,
			  unsigned int nfds, struct dispatch_reply *rep)
{
	envelope_body_t body = req->body_case;
	const struct dispatch_entry *e;
	const char *name = envelope_type_name(body);

	/* 1. version */
	if (req->version == 0 ||
	    (c->state == CONN_READY && req->version != c->version)) {
		rep->close = true;
		dispatch_set_msg(rep, "protocol version %u, expected %u",
				 req->version, c->version ? c->version :
							    PROTO_VERSION_MAX);
		return -EPROTO;
	}
	/* 2. type */
	e = (unsigned int)body < ENVELOPE_BODY_MAX ? &dispatch_table[body] :
						     NULL;
	if (!e || !e->sockets) {
		rep->close = true;
		dispatch_set_msg(rep, "message type %s (%d) is not a request",
				 name, (int)body);
		return -EBADMSG;
	}
	if (c->state == CONN_NEW && body != B(HELLO)) {
		rep->close = true;
		dispatch_set_msg(rep, "%s before Hello", name);
		return -EPROTO;
	}
	/* 3. privilege */
	if (!(e->sockets & (1u << c->kind))) {
		dispatch_set_msg(rep, "%s is not served on the %s socket", name,
				 conn_kind_name(c->kind));
		return -EPERM;
	}
	if (e->admin && !c->admin) {
		dispatch_set_msg(rep,
				 "%s needs root or the admin group (uid %u is neither)",
				 name, (unsigned int)c->uid);
		return -EPERM;
	}
	/* 4. descriptors */
	if (nfds != e->nfds) {
		rep->close = true;
		dispatch_set_msg(rep,
				 "%s carries %u file descriptors, expected %u",
				 name, nfds, e->nfds);
		return -EBADMSG;
	}
	if (!e->fn) {
		dispatch_set_msg(rep, "%s is not implemented yet", name);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* dispatch_request -- check, run and answer one decoded request */
void dispatch_request(struct conn *c, const Daxalloc__Envelope *req,
		      unsigned int nfds)
{
	struct dispatch_reply rep;
	int r;

	memset(&rep, 0, sizeof(rep));
	daxalloc__envelope__init(&rep.env);
	c->srv->stats.requests++;

	r = dispatch_check(c, req, nfds, &rep);
	if (r == 0)
		r = dispatch_table[req->body_case].fn(c, req, &rep);

	if (r < 0) {
		c->srv->stats.errors++;
		/* A failed request answers with status and message, no body. */
		rep.env.body_case = DAXALLOC__ENVELOPE__BODY__NOT_SET;
		rep.nfds = 0;
		if (!rep.msg[0])
			snprintf(rep.msg, sizeof(rep.msg), "%s", strerror(-r));
		log_debug("session %llu: %s -> %d (%s)",
			  (unsigned long long)c->session,
			  envelope_type_name(req->body_case), r, rep.msg);
	}
	if (rep.close) {
		conn_fail(c, req->id, r, rep.msg);
		return;
	}
	rep.env.version = c->version;
	rep.env.id = req->id;
	rep.env.status = r;
	rep.env.message = rep.msg;
	r = conn_send(c, &rep.env, rep.fds, rep.nfds);
	/* A request whose answer cannot be queued must not leave a caller waiting. */
	if (r < 0 && c->state != CONN_CLOSING)
		conn_abort(c, "cannot queue a reply");
	/* Breaks it has not acknowledged follow the Hello reply (a reconnect). */
	else if (req->body_case == B(HELLO) && rep.env.status == 0 &&
		 c->srv->pool)
		hold_hello(c->srv, c);
	while (rep.nstrings)
		free(rep.strings[--rep.nstrings]);
	free(rep.strings);
	free(rep.heap);
}
