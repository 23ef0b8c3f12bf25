// SPDX-License-Identifier: Apache-2.0
/*
 * request.c -- requests of the client socket (libdaxalloc)
 *
 * Handlers check, change the pool in memory and stage its records; the
 * reply is written only after the server's before-sleep commit made them
 * durable.  Replies to Alloc and Open (and to a Truncate that grew) carry
 * the device fd for the client to map the extent.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "hold.h"
#include "log.h"
#include "pool.h"
#include "request.h"
#include "server.h"
#include "space.h"

/* Permission bits of an extent whose request names none. */
#define REQUEST_DEFAULT_MODE 0600u

/* request_pool -- the pool, or an error reply when there is none */
static struct pool *request_pool(struct conn *c, struct dispatch_reply *rep)
{
	if (!c->srv->pool)
		dispatch_set_msg(rep, "this daemon serves no pool");
	return c->srv->pool;
}

/* request_attach_fd -- the reply carries the device fd, rw or ro */
static void request_attach_fd(struct conn *c, struct dispatch_reply *rep,
			      bool rdonly)
{
	rep->fds[0] = c->srv->client_fd[rdonly ? 1 : 0];
	rep->nfds = 1;
}

/*
 * request_find -- the extent a request names, checked against the peer
 *
 * want is SPACE_READ and/or SPACE_WRITE; NULL with the errno in *err.
 */
static struct extent *request_find(struct conn *c, bool by_name, uint64_t id,
				   const char *name, unsigned int want,
				   struct dispatch_reply *rep, int *err)
{
	struct extent *e;

	e = dispatch_lookup(c->srv->pool, by_name, id, name, rep);
	if (!e) {
		*err = -ENOENT;
		return NULL;
	}
	if (space_may(c, e, want) < 0) {
		dispatch_set_msg(rep, "extent %llu (owner %u:%u, mode %04o): %s denied to uid %u",
				 (unsigned long long)e->rec.id, e->rec.uid,
				 e->rec.gid, e->rec.mode,
				 want & SPACE_WRITE ? "write" : "read",
				 (unsigned int)c->uid);
		*err = -EACCES;
		return NULL;
	}
	return e;
}

/* request_alloc -- a new extent, named (persistent) or anonymous */
int request_alloc(struct conn *c, const Daxalloc__Envelope *req,
		  struct dispatch_reply *rep)
{
	const Daxalloc__AllocRequest *a = req->alloc;
	struct extent *e;
	int r;

	if (!request_pool(c, rep))
		return -ENODEV;
	if (a->flags) {
		dispatch_set_msg(rep, "unknown flags %#x", a->flags);
		return -EINVAL;
	}
	r = space_alloc(c->srv, c, a->name, a->size, a->align,
			a->mode ? a->mode : REQUEST_DEFAULT_MODE, &e, rep->msg);
	if (r < 0)
		return r;
	/* The caller maps it: it holds a lease from the start. */
	r = hold_lease_get(c->srv, c->proc, e, false, rep->msg);
	if (r < 0) {
		space_free(c->srv, e, c->proc, "no lease for its allocation");
		return r;
	}
	dispatch_extent_reply(rep, e);
	request_attach_fd(c, rep, false);
	log_debug("session %llu: extent %llu allocated at %#llx+%#llx",
		  (unsigned long long)c->session, (unsigned long long)e->rec.id,
		  (unsigned long long)e->rec.offset,
		  (unsigned long long)e->rec.length);
	return 0;
}

/* request_open -- an existing extent, read-write or read-only */
int request_open(struct conn *c, const Daxalloc__Envelope *req,
		 struct dispatch_reply *rep)
{
	const Daxalloc__OpenRequest *o = req->open;
	unsigned int want = SPACE_READ | (o->read_only ? 0 : SPACE_WRITE);
	struct extent *e;
	int r;

	if (!request_pool(c, rep))
		return -ENODEV;
	if (o->key_case == DAXALLOC__OPEN_REQUEST__KEY__NOT_SET) {
		dispatch_set_msg(rep, "Open needs an extent id or a name");
		return -EINVAL;
	}
	e = request_find(c, o->key_case == DAXALLOC__OPEN_REQUEST__KEY_NAME,
			 o->extent_id, o->name, want, rep, &r);
	if (!e)
		return r;
	r = hold_lease_get(c->srv, c->proc, e, o->read_only, rep->msg);
	if (r < 0)
		return r;
	dispatch_extent_reply(rep, e);
	request_attach_fd(c, rep, o->read_only);
	return 0;
}

/*
 * request_close -- the client unmapped an extent: one open of its lease
 * ends
 *
 * Only the client knows it unmapped; the lease is what made a range that
 * left the extent wait for it.
 */
int request_close(struct conn *c, const Daxalloc__Envelope *req,
		  struct dispatch_reply *rep)
{
	uint64_t id = req->close->extent_id;
	struct extent *e;

	if (!request_pool(c, rep))
		return -ENODEV;
	e = pool_find(c->srv->pool, id);
	if (!e) {
		dispatch_set_msg(rep, "no extent %llu", (unsigned long long)id);
		return -ENOENT;
	}
	hold_lease_put(c->srv, c->proc, e);
	return 0;
}

/* request_truncate -- shrink, or grow in place; needs write permission */
int request_truncate(struct conn *c, const Daxalloc__Envelope *req,
		     struct dispatch_reply *rep)
{
	const Daxalloc__TruncateRequest *t = req->truncate;
	struct extent *e;
	uint64_t old;
	int r;

	if (!request_pool(c, rep))
		return -ENODEV;
	e = request_find(c, false, t->extent_id, NULL, SPACE_WRITE, rep, &r);
	if (!e)
		return r;
	old = e->rec.length;
	r = space_truncate(c->srv, c, e, t->size, rep->msg);
	if (r < 0)
		return r;
	dispatch_extent_reply(rep, e);
	/* A grown extent is mapped anew: the client needs the fd again. */
	if (e->rec.length > old)
		request_attach_fd(c, rep, false);
	return 0;
}

/*
 * request_delete -- free an extent; needs write permission
 *
 * There is no directory to hold a "may unlink" bit: the extent's own write
 * permission stands for it.
 */
int request_delete(struct conn *c, const Daxalloc__Envelope *req,
		   struct dispatch_reply *rep)
{
	const Daxalloc__DeleteRequest *d = req->delete_;
	struct extent *e;
	uint64_t id;
	int r;

	if (!request_pool(c, rep))
		return -ENODEV;
	if (d->key_case == DAXALLOC__DELETE_REQUEST__KEY__NOT_SET) {
		dispatch_set_msg(rep, "Delete needs an extent id or a name");
		return -EINVAL;
	}
	e = request_find(c, d->key_case == DAXALLOC__DELETE_REQUEST__KEY_NAME,
			 d->extent_id, d->name, SPACE_WRITE, rep, &r);
	if (!e)
		return r;
	id = e->rec.id;
	space_free(c->srv, e, c->proc, "deleted by its client");
	/*
	 * space_free() leaves the extent as it was when it cannot end it: a
	 * held range with the quarantine table full.  Never answer 0 then.
	 */
	if (pool_find(c->srv->pool, id)) {
		if (!c->srv->pool->quarantine.nfree) {
			dispatch_set_msg(rep, "extent %llu is still held (pins, other processes' leases) and the quarantine table is full: it was not deleted; try again once quarantined ranges are freed",
					 (unsigned long long)id);
			return -ENOSPC;
		}
		dispatch_set_msg(rep, "extent %llu could not be deleted (see the daemon's log)",
				 (unsigned long long)id);
		return -EIO;
	}
	return 0;
}

/* request_stat -- what an extent is; needs read permission */
int request_stat(struct conn *c, const Daxalloc__Envelope *req,
		 struct dispatch_reply *rep)
{
	const Daxalloc__StatRequest *s = req->stat;
	struct extent *e;
	int r;

	if (!request_pool(c, rep))
		return -ENODEV;
	if (s->key_case == DAXALLOC__STAT_REQUEST__KEY__NOT_SET) {
		dispatch_set_msg(rep, "Stat needs an extent id or a name");
		return -EINVAL;
	}
	e = request_find(c, s->key_case == DAXALLOC__STAT_REQUEST__KEY_NAME,
			 s->extent_id, s->name, SPACE_READ, rep, &r);
	if (!e)
		return r;
	dispatch_extent_reply(rep, e);
	return 0;
}

/* request_list_own -- List filter: the caller's own extents */
static bool request_list_own(const struct extent *e, const void *arg)
{
	const struct conn *c = arg;

	return e->rec.uid == c->uid;
}

/* request_list_openable -- List filter: what the caller may open */
static bool request_list_openable(const struct extent *e, const void *arg)
{
	return space_may(arg, e, SPACE_READ) == 0;
}

/* request_list -- a page of the caller's extents, or of those it may open */
int request_list(struct conn *c, const Daxalloc__Envelope *req,
		 struct dispatch_reply *rep)
{
	const Daxalloc__ListRequest *l = req->list;

	if (!request_pool(c, rep))
		return -ENODEV;
	return dispatch_list_page(rep, c->srv->pool, l->cursor,
				  l->openable ? request_list_openable :
						request_list_own,
				  c);
}

/* Pins per request: what a 64 KiB datagram can carry either way. */
#define REQUEST_PIN_MAX 4096

/* request_pin -- pin ranges for DMA; the reply lists the ids in order */
int request_pin(struct conn *c, const Daxalloc__Envelope *req,
		struct dispatch_reply *rep)
{
	const Daxalloc__PinRequest *pr = req->pin;
	uint64_t *ids;
	int r;

	if (!request_pool(c, rep))
		return -ENODEV;
	if (pr->n_ranges > REQUEST_PIN_MAX) {
		dispatch_set_msg(rep, "%zu ranges in one Pin; at most %u",
				 pr->n_ranges, REQUEST_PIN_MAX);
		return -E2BIG;
	}
	ids = malloc((pr->n_ranges ? pr->n_ranges : 1) * sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	rep->heap = ids;
	r = hold_pin(c->srv, c->proc, pr->ranges, pr->n_ranges, ids, rep->msg);
	if (r < 0)
		return r;
	daxalloc__pin_reply__init(&rep->u.pin);
	rep->u.pin.n_pin_ids = pr->n_ranges;
	rep->u.pin.pin_ids = ids;
	rep->env.body_case = DAXALLOC__ENVELOPE__BODY_PIN_REPLY;
	rep->env.pin_reply = &rep->u.pin;
	return 0;
}

/* request_unpin -- the DMA on these pins completed */
int request_unpin(struct conn *c, const Daxalloc__Envelope *req,
		  struct dispatch_reply *rep)
{
	const Daxalloc__UnpinRequest *u = req->unpin;

	if (!request_pool(c, rep))
		return -ENODEV;
	if (u->n_pin_ids > REQUEST_PIN_MAX) {
		dispatch_set_msg(rep, "%zu pins in one Unpin; at most %u",
				 u->n_pin_ids, REQUEST_PIN_MAX);
		return -E2BIG;
	}
	return hold_unpin(c->srv, c->proc, u->pin_ids, u->n_pin_ids, rep->msg);
}

/* request_lease_break_ack -- the client unmapped a broken range */
int request_lease_break_ack(struct conn *c, const Daxalloc__Envelope *req,
			    struct dispatch_reply *rep)
{
	if (!request_pool(c, rep))
		return -ENODEV;
	return hold_ack(c->srv, c->proc, req->lease_break_ack->break_id,
			rep->msg);
}
