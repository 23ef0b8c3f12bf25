/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hold.h -- leases, pins, lease breaks and revokes: the core rule
 *
 * A process holds an extent through a lease (it may map it) and ranges of
 * it through pins (DMA may target them).  A range that leaves an extent
 * while a pin overlaps it or another process holds a lease on it goes to
 * the quarantine; every other holder gets a lease break; the range becomes
 * free exactly when its pins are gone and every break was acknowledged or
 * ended with its process.  A revoked hold (deadline passed, or forced by
 * an administrator) still holds until the process exits: a revoke never
 * frees memory a live process may write, unless forced unsafe.
 *
 * Leases and breaks live in the lease table and change through the
 * journal, with the extent changes they belong to; pins live in the pin
 * table, written in place and made durable by hold_commit() before the
 * journal commit (see struct fmt_hold).  docs/core-rule.md is the prose.
 */
#ifndef DAXALLOCD_HOLD_H
#define DAXALLOCD_HOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <ev.h>

#include "envelope.h"
#include "format.h"
#include "idmap.h"
#include "pool.h"

struct conn;
struct extent;
struct proc;
struct qrange;
struct server;

/* Why a lease break was sent (LeaseBreak.reason). */
enum hold_reason {
	HOLD_TRUNCATE = DAXALLOC__LEASE_BREAK__REASON__TRUNCATE,
	HOLD_DELETE = DAXALLOC__LEASE_BREAK__REASON__DELETE,
	HOLD_REVOKE = DAXALLOC__LEASE_BREAK__REASON__REVOKE,
};

struct hold_lease {
	TAILQ_ENTRY(hold_lease) proc_entry;
	LIST_ENTRY(hold_lease) ext_entry;
	struct proc *proc;
	struct extent *e;
	uint64_t slot;
	struct fmt_hold rec;
};

struct hold_pin {
	TAILQ_ENTRY(hold_pin) proc_entry;
	LIST_ENTRY(hold_pin) ext_entry; /* on e's list while e lives */
	struct proc *proc;
	struct extent *e;	/* NULL once the extent ended */
	uint32_t nq;		/* quarantined ranges it overlaps */
	bool marked;		/* listed by the Unpin being checked */
	uint64_t slot;
	struct fmt_hold rec;	/* offset, length: device range */
};

struct hold_revoke;

struct hold_brk {
	TAILQ_ENTRY(hold_brk) proc_entry;
	LIST_ENTRY(hold_brk) q_entry;
	struct proc *proc;
	struct qrange *q;	 /* the range it holds; NULL for a revoke's */
	struct hold_revoke *rv;	 /* the revoke that sent it, if any */
	uint64_t slot;		 /* lease-table slot (q only) */
	struct fmt_hold rec;	 /* offset, length: device range */
	uint64_t ext_offset;	 /* where the range was in its extent */
	uint64_t deadline_ms;	 /* CLOCK_REALTIME */
	uint32_t opens;		 /* a revoke's: the opens it asks back */
	enum hold_reason reason;
	ev_timer timer;
};

/* What a process holds; part of struct proc. */
struct hold_proc {
	TAILQ_HEAD(, hold_lease) leases;
	TAILQ_HEAD(, hold_pin) pins;
	TAILQ_HEAD(, hold_brk) breaks;
	uint32_t nleases, npins, nbreaks;
	uint32_t nrevoked; /* holds of those revoked: they end at its exit */
	bool killed;	   /* a revoke sent it SIGKILL */
};

/* The daemon-wide tables; part of struct server. */
struct hold {
	struct idmap pins;   /* pin id -> struct hold_pin */
	struct idmap breaks; /* break id -> struct hold_brk */
	uint64_t next_pin_id;
	uint64_t next_id;    /* leases and breaks */
	uint64_t *pin_free, npin_free;	   /* unused pin-table slots */
	uint64_t *lease_free, nlease_free; /* unused lease-table slots */
	uint64_t *dirty;		   /* pin slots to flush at commit */
	size_t ndirty, dirty_cap;
	uint64_t npins, nleases, nbreaks;
	TAILQ_HEAD(, hold_revoke) revokes;
	/*
	 * An extent had to stay for want of a quarantine slot: its owner's
	 * end is tried again once a quarantined range is freed (room).
	 */
	ev_timer room;
	bool room_wanted;
	bool ready;
};

/* Where a failing hold_* call explains itself (as SPACE_WHY_MAX). */
#define HOLD_WHY_MAX 200

void hold_proc_init(struct hold_proc *hp);
bool hold_proc_empty(const struct hold_proc *hp);

int hold_recover(struct server *srv);
void hold_fini(struct server *srv);
int hold_commit(struct server *srv);

int hold_lease_get(struct server *srv, struct proc *p, struct extent *e,
		   bool rdonly, char *why);
void hold_lease_put(struct server *srv, struct proc *p, struct extent *e);
int hold_pin(struct server *srv, struct proc *p,
	     Daxalloc__PinRange *const *ranges, size_t n, uint64_t *ids,
	     char *why);
int hold_unpin(struct server *srv, struct proc *p, const uint64_t *ids,
	       size_t n, char *why);
int hold_ack(struct server *srv, struct proc *p, uint64_t break_id,
	     char *why);

/* A range leaving an extent: see space_free() and space_truncate(). */
struct hold_leave {
	bool held;	    /* it must go to the quarantine */
	size_t journal;	    /* journal bytes the hold records need */
	size_t breaks;	    /* lease breaks it sends */
	bool room;	    /* the lease table has a slot for each (truncate) */
};
void hold_leave_prepare(struct server *srv, struct extent *e, uint64_t off,
			uint64_t len, const struct proc *caller,
			struct hold_leave *out);
struct hold_detached {
	struct hold_lease_list leases;
	struct hold_pin_list pins;
	uint64_t extent_id;
	uint64_t offset; /* where the extent was */
};
void hold_detach(struct extent *e, struct hold_detached *d);
void hold_reattach(struct extent *e, struct hold_detached *d);
void hold_left(struct server *srv, struct hold_detached *d, struct qrange *q,
	       const struct proc *caller, enum hold_reason reason);

void hold_proc_exit(struct server *srv, struct proc *p);
void hold_wait_room(struct server *srv);
bool hold_room_waiting(const struct server *srv);
void hold_hello(struct server *srv, struct conn *c);
int hold_revoke(struct server *srv, const Daxalloc__RevokeRequest *rq,
		Daxalloc__RevokeReply *out, char *why);

uint64_t hold_pinned_bytes(const struct server *srv);
int hold_check(struct server *srv, pool_finding_fn fn, void *arg);

#endif /* DAXALLOCD_HOLD_H */
