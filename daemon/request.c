// SPDX-License-Identifier: Apache-2.0
/*
 * request.c -- requests of the client socket (libdaxalloc)
 *
 * Handlers change the pool in memory and stage its records; the reply is
 * written only after the server's before-sleep commit made them durable.
 */
#include <errno.h>

#include "conn.h"
#include "log.h"
#include "pool.h"
#include "request.h"
#include "server.h"

/* Permission bits of an extent whose request names none. */
#define REQUEST_DEFAULT_MODE 0600u

/* request_pool -- the pool, or an error reply when there is none */
static struct pool *request_pool(struct conn *c, struct dispatch_reply *rep)
{
	if (!c->srv->pool)
		dispatch_set_msg(rep, "this daemon serves no pool");
	return c->srv->pool;
}

/*
 * request_alloc -- a new extent of at least size bytes
 *
 * This form is anonymous and unnamed: names, modes beyond the default,
 * fd passing and the owner's lifetime arrive with the extent requests.
 */
int request_alloc(struct conn *c, const Daxalloc__Envelope *req,
		  struct dispatch_reply *rep)
{
	const Daxalloc__AllocRequest *a = req->alloc;
	struct pool *p = request_pool(c, rep);
	struct pool_attr attr = { 0 };
	struct pool_stats st;
	struct extent *e;
	int r;

	if (!p)
		return -ENODEV;
	if (a->name[0]) {
		dispatch_set_msg(rep, "named extents are not served yet");
		return -EOPNOTSUPP;
	}
	attr.uid = c->uid;
	attr.gid = c->gid;
	attr.mode = a->mode ? a->mode & 07777 : REQUEST_DEFAULT_MODE;
	attr.flags = FMT_EXTENT_ANONYMOUS;
	attr.owner_pid = c->pid;
	r = pool_alloc(p, a->size, a->align, &attr, &e);
	if (r == -ENOSPC) {
		pool_get_stats(p, &st);
		dispatch_set_msg(rep,
				 "no contiguous run of %llu bytes (largest free run: %llu bytes)",
				 (unsigned long long)a->size,
				 (unsigned long long)st.largest_free);
	} else if (r == -EINVAL) {
		dispatch_set_msg(rep, "size must be non-zero and align a power of two");
	}
	if (r < 0)
		return r;
	daxalloc__extent_reply__init(&rep->u.extent);
	rep->u.extent.extent = &rep->extent;
	dispatch_extent_msg(&rep->extent, e);
	rep->env.body_case = DAXALLOC__ENVELOPE__BODY_EXTENT_REPLY;
	rep->env.extent_reply = &rep->u.extent;
	log_debug("session %llu: extent %llu allocated at %#llx+%#llx",
		  (unsigned long long)c->session, (unsigned long long)e->rec.id,
		  (unsigned long long)e->rec.offset,
		  (unsigned long long)e->rec.length);
	return 0;
}

/* request_delete -- free an extent the caller owns (root owns all) */
int request_delete(struct conn *c, const Daxalloc__Envelope *req,
		   struct dispatch_reply *rep)
{
	struct pool *p = request_pool(c, rep);
	struct extent *e;
	uint64_t id;

	if (!p)
		return -ENODEV;
	id = req->delete_->extent_id;
	e = pool_find(p, id);
	if (!e) {
		dispatch_set_msg(rep, "no extent %llu", (unsigned long long)id);
		return -ENOENT;
	}
	if (c->uid != 0 && c->uid != e->rec.uid) {
		dispatch_set_msg(rep, "extent %llu belongs to uid %u",
				 (unsigned long long)id, e->rec.uid);
		return -EACCES;
	}
	return pool_delete(p, id);
}
