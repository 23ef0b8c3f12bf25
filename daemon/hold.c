// SPDX-License-Identifier: Apache-2.0
/*
 * hold.c -- leases, pins, lease breaks and revokes: the core rule
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "device.h"
#include "hold.h"
#include "log.h"
#include "meta.h"
#include "pool.h"
#include "proc.h"
#include "quarantine.h"
#include "server.h"
#include "space.h"

/* Ids of one daemon run: its start count above these bits, a counter below. */
#define HOLD_EPOCH_SHIFT 40

/* Journal bytes of one lease-table record change. */
#define HOLD_JBYTES (sizeof(struct fmt_jentry) + sizeof(struct fmt_hold))

/* An administrator's revoke waiting for its grace period to end. */
struct hold_revoke {
	TAILQ_ENTRY(hold_revoke) entry;
	struct server *srv;
	ev_timer timer;
	uint64_t extent_id; /* 0: every extent */
	bool kill, force;
	size_t nprocs;
	struct {
		pid_t pid;
		uint64_t start;
	} *procs;
};

/* hold_of -- the tables of srv */
static inline struct hold *hold_of(struct server *srv)
{
	return &srv->holds;
}

static uint64_t hold_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void hold_seal(struct fmt_hold *rec)
{
	rec->checksum = meta_crc(rec, offsetof(struct fmt_hold, checksum));
}

static bool hold_overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

void hold_proc_init(struct hold_proc *hp)
{
	memset(hp, 0, sizeof(*hp));
	TAILQ_INIT(&hp->leases);
	TAILQ_INIT(&hp->pins);
	TAILQ_INIT(&hp->breaks);
}

bool hold_proc_empty(const struct hold_proc *hp)
{
	return !hp->nleases && !hp->npins && !hp->nbreaks;
}

/* hold_slot_push -- return a table slot to a free stack */
static int hold_slot_push(uint64_t **stack, uint64_t *n, uint64_t slot)
{
	/* Grown in powers of two: room for n + 1 when n is a power of two. */
	if (!(*n & (*n - 1)) || *n == 0) {
		uint64_t *s = realloc(*stack, (*n ? *n * 2 : 16) * sizeof(*s));

		if (!s)
			return -ENOMEM;
		*stack = s;
	}
	(*stack)[(*n)++] = slot;
	return 0;
}

/*
 * hold_stage_lease -- write lease-table record `slot` through the journal
 *
 * The caller made room with meta_begin(); rec NULL clears the slot.
 */
static void hold_stage_lease(struct server *srv, uint64_t slot,
			     struct fmt_hold *rec)
{
	struct meta *m = srv->pool->meta;
	struct fmt_hold zero = { 0 };
	int r;

	if (rec)
		hold_seal(rec);
	r = meta_stage(m, meta_lease_off(m, slot), rec ? rec : &zero,
		       sizeof(zero));
	if (r < 0)
		log_err("lease slot %llu: cannot stage: %s",
			(unsigned long long)slot, strerror(-r));
}

/* hold_lease_slot -- an unused lease-table slot, or -ENOSPC */
static int hold_lease_slot(struct server *srv, uint64_t *slot)
{
	struct hold *h = hold_of(srv);

	if (!h->nlease_free)
		return -ENOSPC;
	*slot = h->lease_free[--h->nlease_free];
	return 0;
}

/*
 * hold_write_pin -- write pin-table record `slot` in place
 *
 * Stored now, flushed and drained by hold_commit() before any reply or
 * journal commit of this loop turn.
 */
static int hold_write_pin(struct server *srv, uint64_t slot,
			  struct fmt_hold *rec)
{
	struct hold *h = hold_of(srv);
	struct meta *m = srv->pool->meta;
	struct fmt_hold zero = { 0 };

	if (h->ndirty == h->dirty_cap) {
		size_t cap = h->dirty_cap ? h->dirty_cap * 2 : 256;
		uint64_t *d = realloc(h->dirty, cap * sizeof(*d));

		if (!d)
			return -ENOMEM;
		h->dirty = d;
		h->dirty_cap = cap;
	}
	if (rec)
		hold_seal(rec);
	device_store(srv->pool->dev, m->base + meta_pin_off(m, slot),
		     rec ? rec : &zero, sizeof(zero));
	h->dirty[h->ndirty++] = slot;
	return 0;
}

static int hold_u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * hold_commit -- make the pin records written this turn durable
 *
 * Runs before the journal commit: a range freed in this turn's
 * transaction because its last pin went must not come back pinned after
 * a crash, and a pin must be durable before its reply.  Slots are sorted
 * and flushed in runs, so a batch costs a few flushes, not one per pin.
 */
int hold_commit(struct server *srv)
{
	struct hold *h = hold_of(srv);
	struct meta *m;
	size_t i, j;

	if (!h->ndirty)
		return 0;
	m = srv->pool->meta;
	if (h->ndirty > 1)
		qsort(h->dirty, h->ndirty, sizeof(*h->dirty), hold_u64_cmp);
	for (i = 0; i < h->ndirty; i = j) {
		/* A run: slots at most a page apart flush as one range. */
		for (j = i + 1; j < h->ndirty &&
				h->dirty[j] - h->dirty[j - 1] <= 64; j++)
			;
		device_flush(srv->pool->dev, m->base + meta_pin_off(m, h->dirty[i]),
			     (h->dirty[j - 1] - h->dirty[i] + 1) *
				     sizeof(struct fmt_hold));
	}
	device_drain(srv->pool->dev);
	h->ndirty = 0;
	return 0;
}

/*
 * hold_send -- push an event to every ready connection of p, or only to
 * `only` when given
 */
static void hold_send(struct server *srv, struct proc *p, struct conn *only,
		      Daxalloc__Envelope *env)
{
	struct conn *c;

	TAILQ_FOREACH(c, &srv->conns, entry) {
		if (c->proc != p || c->state != CONN_READY ||
		    (only && c != only))
			continue;
		env->version = c->version;
		/* A client that does not read its events is cut off. */
		if (conn_send(c, env, NULL, 0) < 0)
			conn_abort(c, "cannot queue an event (the client does not read)");
	}
}

/* hold_send_break -- tell b's process to unmap its range and acknowledge */
static void hold_send_break(struct server *srv, struct hold_brk *b,
			    struct conn *only)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT;
	Daxalloc__LeaseBreak lb = DAXALLOC__LEASE_BREAK__INIT;

	lb.extent_id = b->rec.extent_id;
	lb.offset = b->ext_offset;
	lb.length = b->rec.length;
	lb.deadline_ms = b->deadline_ms;
	lb.break_id = b->rec.id;
	lb.reason = (Daxalloc__LeaseBreak__Reason)b->reason;
	env.body_case = DAXALLOC__ENVELOPE__BODY_LEASE_BREAK;
	env.lease_break = &lb;
	hold_send(srv, b->proc, only, &env);
}

/* hold_send_revoked -- tell p its holds on extent_id (0: all) ended */
static void hold_send_revoked(struct server *srv, struct proc *p,
			      uint64_t extent_id, const char *reason)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT;
	Daxalloc__Revoked rv = DAXALLOC__REVOKED__INIT;

	rv.extent_id = extent_id;
	rv.reason = (char *)reason;
	env.body_case = DAXALLOC__ENVELOPE__BODY_REVOKED;
	env.revoked = &rv;
	hold_send(srv, p, NULL, &env);
}

/* hold_release -- r waits for nothing any more: free it */
static void hold_maybe_release(struct server *srv, struct qrange *q)
{
	struct hold *h = hold_of(srv);
	uint64_t off = q->rec.offset, len = q->rec.length;
	int r;

	if (q->npins || q->nbreaks)
		return;
	r = pool_unquarantine(srv->pool, q);
	if (r < 0) {
		log_err("quarantined range %#llx+%#llx: cannot free it: %s; it stays quarantined",
			(unsigned long long)off, (unsigned long long)len,
			strerror(-r));
		return;
	}
	log_debug("quarantined range %#llx+%#llx is free again",
		  (unsigned long long)off, (unsigned long long)len);
	/*
	 * A slot is free: what waited for one goes from the loop, not from
	 * here, deep in an unpin or an exit that walks hold lists.
	 */
	if (h->room_wanted && !ev_is_active(&h->room))
		ev_timer_start(srv->loop, &h->room);
}

/*
 * hold_wait_room -- an extent's end had to wait: no quarantine slot
 *
 * Ends that come from outside a request (an anonymous extent's owner
 * exited, or was found gone at start) have nobody to tell and nobody to
 * try again; hold_room_cb() does, once a quarantined range is freed.
 */
void hold_wait_room(struct server *srv)
{
	hold_of(srv)->room_wanted = true;
}

/* hold_room_waiting -- does an extent's end wait for a quarantine slot? */
bool hold_room_waiting(const struct server *srv)
{
	return srv->holds.room_wanted;
}

/*
 * hold_room_cb -- a quarantine slot came free: end again the anonymous
 * extents whose owner is gone
 *
 * Those are the only ends nobody asked for; space_free() calls
 * hold_wait_room() again if the table filled up meanwhile.
 */
static void hold_room_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct server *srv = w->data;
	struct extent *e, *next;
	struct proc *p, *np;
	unsigned long n = 0;

	(void)loop;
	(void)revents;
	hold_of(srv)->room_wanted = false;
	for (e = pool_find_from(srv->pool, 0); e; e = next) {
		struct proc *owner = e->owner;

		next = pool_next_id(srv->pool, e);
		if (!(e->rec.flags & FMT_EXTENT_ANONYMOUS) ||
		    (owner && !owner->exited))
			continue;
		space_free(srv, e, owner, "its owner is gone (it waited for a quarantine slot)");
		n++;
	}
	/* Owners that exited with extents left can go now. */
	for (p = TAILQ_FIRST(&srv->procs); p; p = np) {
		np = TAILQ_NEXT(p, entry);
		if (p->exited)
			proc_maybe_free(p);
	}
	if (n)
		log_info("a quarantine slot came free: %lu anonymous extents of exited owners ended again",
			 n);
}

/* hold_pin_qranges -- add d (+1/-1) to every qrange p overlaps */
static void hold_pin_qranges(struct server *srv, struct hold_pin *pin, int d)
{
	struct qrange *q, *next;

	for (q = TAILQ_FIRST(&srv->pool->quarantine.ranges); q; q = next) {
		next = TAILQ_NEXT(q, entry);
		if (!hold_overlaps(pin->rec.offset, pin->rec.length,
				   q->rec.offset, q->rec.length))
			continue;
		if (d > 0) {
			q->npins++;
			pin->nq++;
		} else {
			q->npins--;
			pin->nq--;
			hold_maybe_release(srv, q);
		}
	}
}

/* hold_lease_free -- forget lease l (its record is the caller's business) */
static void hold_lease_forget(struct server *srv, struct hold_lease *l)
{
	struct proc *p = l->proc;

	TAILQ_REMOVE(&p->hold.leases, l, proc_entry);
	p->hold.nleases--;
	if (l->rec.flags & FMT_HOLD_REVOKED)
		p->hold.nrevoked--;
	if (l->e)
		LIST_REMOVE(l, ext_entry);
	if (hold_slot_push(&hold_of(srv)->lease_free,
			   &hold_of(srv)->nlease_free, l->slot) < 0)
		log_warn("lease slot %llu leaks until restart: out of memory",
			 (unsigned long long)l->slot);
	hold_of(srv)->nleases--;
	free(l);
}

/* hold_lease_end -- lease l ends: its record goes in this transaction */
static void hold_lease_end(struct server *srv, struct hold_lease *l)
{
	if (meta_begin(srv->pool->meta, HOLD_JBYTES) < 0)
		log_err("lease slot %llu: cannot make room in the journal",
			(unsigned long long)l->slot);
	hold_stage_lease(srv, l->slot, NULL);
	hold_lease_forget(srv, l);
}

/* hold_pin_end -- pin ends: record cleared, ranges it held re-evaluated */
static void hold_pin_end(struct server *srv, struct hold_pin *pin)
{
	struct hold *h = hold_of(srv);
	struct proc *p = pin->proc;

	/* Cleared before a range it held is freed (hold_commit() order). */
	if (hold_write_pin(srv, pin->slot, NULL) < 0)
		log_err("pin %llu: cannot clear its record: out of memory",
			(unsigned long long)pin->rec.id);
	idmap_del(&h->pins, pin->rec.id);
	TAILQ_REMOVE(&p->hold.pins, pin, proc_entry);
	p->hold.npins--;
	if (pin->rec.flags & FMT_HOLD_REVOKED)
		p->hold.nrevoked--;
	if (pin->e)
		LIST_REMOVE(pin, ext_entry);
	h->npins--;
	if (hold_slot_push(&h->pin_free, &h->npin_free, pin->slot) < 0)
		log_warn("pin slot %llu leaks until restart: out of memory",
			 (unsigned long long)pin->slot);
	if (pin->nq)
		hold_pin_qranges(srv, pin, -1);
	free(pin);
}

/* hold_brk_end -- break b ends (acked, process gone, forced) */
static void hold_brk_end(struct server *srv, struct hold_brk *b)
{
	struct hold *h = hold_of(srv);
	struct proc *p = b->proc;
	struct qrange *q = b->q;

	ev_timer_stop(srv->loop, &b->timer);
	idmap_del(&h->breaks, b->rec.id);
	TAILQ_REMOVE(&p->hold.breaks, b, proc_entry);
	p->hold.nbreaks--;
	h->nbreaks--;
	if (b->rec.flags & FMT_HOLD_REVOKED)
		p->hold.nrevoked--;
	if (q) {
		LIST_REMOVE(b, q_entry);
		if (meta_begin(srv->pool->meta, HOLD_JBYTES) < 0)
			log_err("break slot %llu: cannot make room in the journal",
				(unsigned long long)b->slot);
		hold_stage_lease(srv, b->slot, NULL);
		if (hold_slot_push(&h->lease_free, &h->nlease_free, b->slot) < 0)
			log_warn("lease slot %llu leaks until restart: out of memory",
				 (unsigned long long)b->slot);
		q->nbreaks--;
		hold_maybe_release(srv, q);
	}
	free(b);
}

/* hold_find_lease -- p's lease on e, or NULL */
static struct hold_lease *hold_find_lease(struct extent *e, const struct proc *p)
{
	struct hold_lease *l;

	LIST_FOREACH(l, &e->leases, ext_entry)
		if (l->proc == p)
			return l;
	return NULL;
}

/*
 * hold_revoke_extent -- p's holds on extent_id (0: all) end by force
 *
 * They stay, marked revoked, until p exits: p may still write there.
 * Returns how many holds were revoked now.
 */
static unsigned int hold_revoke_extent(struct server *srv, struct proc *p,
				       uint64_t extent_id)
{
	struct hold_lease *l;
	struct hold_pin *pin;
	struct hold_brk *b, *nb;
	unsigned int n = 0;

	TAILQ_FOREACH(l, &p->hold.leases, proc_entry) {
		if ((extent_id && l->rec.extent_id != extent_id) ||
		    (l->rec.flags & FMT_HOLD_REVOKED))
			continue;
		l->rec.flags |= FMT_HOLD_REVOKED;
		if (meta_begin(srv->pool->meta, HOLD_JBYTES) < 0)
			log_err("lease slot %llu: cannot make room in the journal",
				(unsigned long long)l->slot);
		hold_stage_lease(srv, l->slot, &l->rec);
		p->hold.nrevoked++;
		n++;
	}
	TAILQ_FOREACH(pin, &p->hold.pins, proc_entry) {
		if ((extent_id && pin->rec.extent_id != extent_id) ||
		    (pin->rec.flags & FMT_HOLD_REVOKED))
			continue;
		pin->rec.flags |= FMT_HOLD_REVOKED;
		hold_write_pin(srv, pin->slot, &pin->rec);
		p->hold.nrevoked++;
		n++;
	}
	for (b = TAILQ_FIRST(&p->hold.breaks); b; b = nb) {
		nb = TAILQ_NEXT(b, proc_entry);
		if ((extent_id && b->rec.extent_id != extent_id) ||
		    (b->rec.flags & FMT_HOLD_REVOKED))
			continue;
		if (!b->q) {
			/* A revoke's own break: its lease was revoked above. */
			hold_brk_end(srv, b);
			continue;
		}
		ev_timer_stop(srv->loop, &b->timer);
		b->rec.flags |= FMT_HOLD_REVOKED;
		if (meta_begin(srv->pool->meta, HOLD_JBYTES) < 0)
			log_err("break slot %llu: cannot make room in the journal",
				(unsigned long long)b->slot);
		hold_stage_lease(srv, b->slot, &b->rec);
		p->hold.nrevoked++;
		n++;
	}
	return n;
}

/* hold_end_revoked -- force unsafe: p's revoked holds end while it lives */
static unsigned int hold_end_revoked(struct server *srv, struct proc *p,
				     uint64_t extent_id)
{
	struct hold_lease *l, *nl;
	struct hold_pin *pin, *np;
	struct hold_brk *b, *nb;
	unsigned int n = 0;

	for (pin = TAILQ_FIRST(&p->hold.pins); pin; pin = np) {
		np = TAILQ_NEXT(pin, proc_entry);
		if ((pin->rec.flags & FMT_HOLD_REVOKED) &&
		    (!extent_id || pin->rec.extent_id == extent_id)) {
			hold_pin_end(srv, pin);
			n++;
		}
	}
	for (b = TAILQ_FIRST(&p->hold.breaks); b; b = nb) {
		nb = TAILQ_NEXT(b, proc_entry);
		if ((b->rec.flags & FMT_HOLD_REVOKED) &&
		    (!extent_id || b->rec.extent_id == extent_id)) {
			hold_brk_end(srv, b);
			n++;
		}
	}
	for (l = TAILQ_FIRST(&p->hold.leases); l; l = nl) {
		nl = TAILQ_NEXT(l, proc_entry);
		if ((l->rec.flags & FMT_HOLD_REVOKED) &&
		    (!extent_id || l->rec.extent_id == extent_id)) {
			hold_lease_end(srv, l);
			n++;
		}
	}
	return n;
}

/* hold_kill -- SIGKILL p through its pidfd; its exit ends its holds */
static void hold_kill(struct server *srv, struct proc *p)
{
	if (p->hold.killed || p->exited)
		return;
	if (syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0) < 0) {
		log_err("process %d: cannot send SIGKILL: %s", (int)p->pid,
			strerror(errno));
		return;
	}
	p->hold.killed = true;
	log_warn("process %d (%s) killed by revoke; its ranges free when its exit is seen",
		 (int)p->pid, p->name);
}

/* hold_brk_timeout -- a lease break passed its deadline unacknowledged */
static void hold_brk_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct hold_brk *b = w->data;
	struct server *srv = b->proc->srv;
	struct proc *p = b->proc;
	uint64_t extent_id = b->rec.extent_id;
	unsigned int n;

	(void)loop;
	(void)revents;
	if (b->rv)
		return; /* the revoke's own timer decides */
	n = hold_revoke_extent(srv, p, extent_id);
	log_warn("process %d (%s) did not acknowledge the lease break on extent %llu in time: %u holds revoked; its ranges stay quarantined while it lives",
		 (int)p->pid, p->name, (unsigned long long)extent_id, n);
	hold_send_revoked(srv, p, extent_id,
			  "lease break not acknowledged by its deadline");
}

/* hold_brk_new -- a lease break for p; recorded when it holds range q */
static struct hold_brk *hold_brk_new(struct server *srv, struct proc *p,
				     uint64_t extent_id, uint64_t dev_off,
				     uint64_t ext_off, uint64_t len,
				     struct qrange *q, enum hold_reason reason,
				     double grace_s)
{
	struct hold *h = hold_of(srv);
	struct hold_brk *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	if (q && hold_lease_slot(srv, &b->slot) < 0) {
		free(b);
		return NULL;
	}
	b->proc = p;
	b->q = q;
	b->reason = reason;
	b->ext_offset = ext_off;
	b->rec.id = h->next_id++;
	b->rec.extent_id = extent_id;
	b->rec.offset = dev_off;
	b->rec.length = len;
	b->rec.start_time = p->start_time;
	b->rec.pid = (uint32_t)p->pid;
	b->rec.flags = FMT_HOLD_BREAK;
	if (idmap_put(&h->breaks, b->rec.id, b) < 0) {
		if (q)
			hold_slot_push(&h->lease_free, &h->nlease_free, b->slot);
		free(b);
		return NULL;
	}
	b->deadline_ms = hold_now_ms() + (uint64_t)(grace_s * 1000);
	ev_timer_init(&b->timer, hold_brk_timeout, grace_s, 0.);
	b->timer.data = b;
	TAILQ_INSERT_TAIL(&p->hold.breaks, b, proc_entry);
	p->hold.nbreaks++;
	h->nbreaks++;
	if (q) {
		LIST_INSERT_HEAD(&q->breaks, b, q_entry);
		q->nbreaks++;
		hold_stage_lease(srv, b->slot, &b->rec);
	}
	return b;
}

/*
 * hold_gone -- refuse a new hold to a process whose exit was seen
 *
 * A client's last requests can still be queued on its socket when the
 * daemon handles its exit: both become ready while the daemon sleeps (or
 * sits in msync()), and libev runs the exit first.  hold_proc_exit() has
 * then ended everything the process held and will never run again for
 * it, so a lease or pin taken now would hold its range for good.
 */
static int hold_gone(const struct proc *p, char *why)
{
	if (!p->exited)
		return 0;
	snprintf(why, HOLD_WHY_MAX, "the calling process has exited");
	return -ESRCH;
}

/*
 * hold_lease_get -- p opens e (Alloc, Open): a lease, or one more open
 *
 * A process whose lease on e was revoked gets no new one: it may still
 * hold the old mapping, and the daemon no longer trusts its word on it.
 * One that has exited gets none either (hold_gone()).
 */
int hold_lease_get(struct server *srv, struct proc *p, struct extent *e,
		   bool rdonly, char *why)
{
	struct hold *h = hold_of(srv);
	struct hold_lease *l = hold_find_lease(e, p);
	int r;

	r = hold_gone(p, why);
	if (r < 0)
		return r;
	if (l && (l->rec.flags & FMT_HOLD_REVOKED)) {
		snprintf(why, HOLD_WHY_MAX,
			 "extent %llu was revoked from this process",
			 (unsigned long long)e->rec.id);
		return -EPERM;
	}
	r = meta_begin(srv->pool->meta, HOLD_JBYTES);
	if (r < 0)
		return r;
	if (l) {
		if (l->rec.count == UINT32_MAX) {
			snprintf(why, HOLD_WHY_MAX, "too many opens of extent %llu",
				 (unsigned long long)e->rec.id);
			return -EMFILE;
		}
		l->rec.count++;
		/* One writable open makes the lease writable. */
		if (!rdonly)
			l->rec.flags &= ~FMT_HOLD_RDONLY;
		hold_stage_lease(srv, l->slot, &l->rec);
		return 0;
	}
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	if (hold_lease_slot(srv, &l->slot) < 0) {
		free(l);
		snprintf(why, HOLD_WHY_MAX, "the lease table is full");
		return -ENOSPC;
	}
	l->proc = p;
	l->e = e;
	l->rec.id = h->next_id++;
	l->rec.extent_id = e->rec.id;
	l->rec.start_time = p->start_time;
	l->rec.pid = (uint32_t)p->pid;
	l->rec.flags = FMT_HOLD_LEASE | (rdonly ? FMT_HOLD_RDONLY : 0);
	l->rec.count = 1;
	TAILQ_INSERT_TAIL(&p->hold.leases, l, proc_entry);
	LIST_INSERT_HEAD(&e->leases, l, ext_entry);
	p->hold.nleases++;
	h->nleases++;
	hold_stage_lease(srv, l->slot, &l->rec);
	return 0;
}

/* hold_lease_drop -- n opens of lease l end; the lease with the last one */
static void hold_lease_drop(struct server *srv, struct hold_lease *l,
			    uint32_t n)
{
	if (n < l->rec.count) {
		l->rec.count -= n;
		if (meta_begin(srv->pool->meta, HOLD_JBYTES) < 0)
			log_err("lease slot %llu: cannot make room in the journal",
				(unsigned long long)l->slot);
		hold_stage_lease(srv, l->slot, &l->rec);
		return;
	}
	hold_lease_end(srv, l);
}

/*
 * hold_lease_put -- p closed e (after unmapping it)
 *
 * A revoked lease stays until p exits; closing without a lease is not an
 * error (a retried Close after a reconnect).
 */
void hold_lease_put(struct server *srv, struct proc *p, struct extent *e)
{
	struct hold_lease *l = hold_find_lease(e, p);

	if (!l || (l->rec.flags & FMT_HOLD_REVOKED))
		return;
	hold_lease_drop(srv, l, 1);
}

/*
 * hold_pin -- pin n ranges for p, all or none
 *
 * Each range must lie in an extent p holds a lease on (a pin is taken on
 * memory the process mapped); the per-process limit and the table's room
 * are checked for the whole batch before anything changes.
 */
int hold_pin(struct server *srv, struct proc *p,
	     Daxalloc__PinRange *const *ranges, size_t n, uint64_t *ids,
	     char *why)
{
	struct hold *h = hold_of(srv);
	struct extent *e = NULL;
	struct hold_lease *l;
	size_t i;
	int r;

	if (!n) {
		snprintf(why, HOLD_WHY_MAX, "no range to pin");
		return -EINVAL;
	}
	/* Its leases ended at its exit; this keeps it so should that change. */
	r = hold_gone(p, why);
	if (r < 0)
		return r;
	if (p->hold.npins + n > srv->limits.max_pins_per_process) {
		snprintf(why, HOLD_WHY_MAX,
			 "the process holds %u pins; %zu more pass the limit of %u (max_pins_per_process)",
			 p->hold.npins, n, srv->limits.max_pins_per_process);
		return -EDQUOT;
	}
	if (n > h->npin_free) {
		snprintf(why, HOLD_WHY_MAX,
			 "the pin table is full (%llu pins held)",
			 (unsigned long long)h->npins);
		return -ENOSPC;
	}
	for (i = 0; i < n; i++) {
		const Daxalloc__PinRange *pr = ranges[i];

		/* Batches mostly pin one extent: look it up once. */
		if (!e || e->rec.id != pr->extent_id)
			e = pool_find(srv->pool, pr->extent_id);
		if (!e) {
			snprintf(why, HOLD_WHY_MAX, "range %zu: no extent %llu", i,
				 (unsigned long long)pr->extent_id);
			return -ENOENT;
		}
		if (!pr->length || pr->offset > e->rec.length ||
		    pr->length > e->rec.length - pr->offset) {
			snprintf(why, HOLD_WHY_MAX,
				 "range %zu: %#llx+%#llx is not inside extent %llu (%#llx bytes)",
				 i, (unsigned long long)pr->offset,
				 (unsigned long long)pr->length,
				 (unsigned long long)e->rec.id,
				 (unsigned long long)e->rec.length);
			return -EINVAL;
		}
		l = hold_find_lease(e, p);
		if (!l) {
			snprintf(why, HOLD_WHY_MAX,
				 "range %zu: extent %llu is not open in this process",
				 i, (unsigned long long)e->rec.id);
			return -EPERM;
		}
		if (l->rec.flags & FMT_HOLD_REVOKED) {
			snprintf(why, HOLD_WHY_MAX,
				 "range %zu: extent %llu was revoked from this process",
				 i, (unsigned long long)e->rec.id);
			return -EPERM;
		}
	}
	r = idmap_reserve(&h->pins, h->pins.count + n);
	if (r < 0)
		return r;
	for (i = 0; i < n; i++) {
		const Daxalloc__PinRange *pr = ranges[i];
		struct hold_pin *pin = malloc(sizeof(*pin));

		if (!e || e->rec.id != pr->extent_id)
			e = pool_find(srv->pool, pr->extent_id);
		if (!pin)
			goto err;
		memset(pin, 0, sizeof(*pin));
		pin->proc = p;
		pin->e = e;
		pin->slot = h->pin_free[--h->npin_free];
		pin->rec.id = h->next_pin_id++;
		pin->rec.extent_id = e->rec.id;
		pin->rec.offset = e->rec.offset + pr->offset;
		pin->rec.length = pr->length;
		pin->rec.start_time = p->start_time;
		pin->rec.pid = (uint32_t)p->pid;
		pin->rec.flags = FMT_HOLD_PIN;
		/* Cannot fail: reserved above. */
		idmap_put(&h->pins, pin->rec.id, pin);
		TAILQ_INSERT_TAIL(&p->hold.pins, pin, proc_entry);
		LIST_INSERT_HEAD(&e->pins, pin, ext_entry);
		p->hold.npins++;
		h->npins++;
		if (hold_write_pin(srv, pin->slot, &pin->rec) < 0) {
			hold_pin_end(srv, pin);
			goto err;
		}
		ids[i] = pin->rec.id;
	}
	return 0;
err:
	/* Out of memory half way: undo, so the batch stays all or nothing. */
	while (i--)
		hold_pin_end(srv, idmap_get(&h->pins, ids[i]));
	return -ENOMEM;
}

/* hold_unpin -- p's DMA on these pins completed; all or none */
int hold_unpin(struct server *srv, struct proc *p, const uint64_t *ids,
	       size_t n, char *why)
{
	struct hold *h = hold_of(srv);
	struct hold_pin *pin;
	size_t i;
	int r;

	if (!n) {
		snprintf(why, HOLD_WHY_MAX, "no pin to release");
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		pin = idmap_get(&h->pins, ids[i]);
		if (!pin) {
			snprintf(why, HOLD_WHY_MAX, "pin %zu: no pin %llu", i,
				 (unsigned long long)ids[i]);
			r = -ENOENT;
			goto unmark;
		}
		if (pin->proc != p) {
			snprintf(why, HOLD_WHY_MAX,
				 "pin %zu: pin %llu belongs to another process",
				 i, (unsigned long long)ids[i]);
			r = -EPERM;
			goto unmark;
		}
		if (pin->rec.flags & FMT_HOLD_REVOKED) {
			snprintf(why, HOLD_WHY_MAX,
				 "pin %zu: pin %llu was revoked; it ends when the process exits",
				 i, (unsigned long long)ids[i]);
			r = -EPERM;
			goto unmark;
		}
		/* A duplicate would be released twice: mark as we go. */
		if (pin->marked) {
			snprintf(why, HOLD_WHY_MAX, "pin %llu is listed twice",
				 (unsigned long long)ids[i]);
			r = -EINVAL;
			goto unmark;
		}
		pin->marked = true;
	}
	for (i = 0; i < n; i++) {
		pin = idmap_get(&h->pins, ids[i]);
		pin->marked = false;
		hold_pin_end(srv, pin);
	}
	return 0;
unmark:
	/* Refused: the pins marked so far are untouched, marks included. */
	while (i--)
		((struct hold_pin *)idmap_get(&h->pins, ids[i]))->marked = false;
	return r;
}

/*
 * hold_ack -- p acknowledges a lease break: it unmapped the range
 *
 * A revoke's break also ends p's lease on the extent: giving it up is
 * what the administrator asked for.  Only the opens the break was sent
 * for, though: libdaxalloc drops its handles when the break arrives and
 * acknowledges later (once no pin holds the range), and an open made in
 * between is a new mapping that this ack does not speak for.
 */
int hold_ack(struct server *srv, struct proc *p, uint64_t break_id, char *why)
{
	struct hold_brk *b = idmap_get(&hold_of(srv)->breaks, break_id);
	struct hold_lease *l;
	struct extent *e;

	if (!b || b->proc != p) {
		snprintf(why, HOLD_WHY_MAX,
			 "no lease break %llu was sent to this process",
			 (unsigned long long)break_id);
		return -ENOENT;
	}
	if (b->rec.flags & FMT_HOLD_REVOKED) {
		snprintf(why, HOLD_WHY_MAX,
			 "lease break %llu passed its deadline: the holds were revoked",
			 (unsigned long long)break_id);
		return -ETIMEDOUT;
	}
	if (!b->q) {
		e = pool_find(srv->pool, b->rec.extent_id);
		l = e ? hold_find_lease(e, p) : NULL;
		if (l && !(l->rec.flags & FMT_HOLD_REVOKED))
			hold_lease_drop(srv, l, b->opens);
	}
	hold_brk_end(srv, b);
	return 0;
}

/*
 * hold_leave_prepare -- must [off, off + len) of e go to the quarantine?
 *
 * Yes when any pin overlaps it or any process but the caller holds a
 * lease on e.  Also how many journal bytes the breaks and the lease
 * records that end with it will take.
 */
void hold_leave_prepare(struct server *srv, struct extent *e, uint64_t off,
			uint64_t len, const struct proc *caller,
			struct hold_leave *out)
{
	struct hold_lease *l;
	struct hold_pin *pin;
	size_t nrec = 0;

	out->held = false;
	LIST_FOREACH(pin, &e->pins, ext_entry)
		if (hold_overlaps(pin->rec.offset, pin->rec.length, off, len))
			out->held = true;
	out->breaks = 0;
	LIST_FOREACH(l, &e->leases, ext_entry) {
		/* Its break, the break again if revoked, the lease's end. */
		nrec += 3;
		if (l->proc != caller) {
			out->held = true;
			out->breaks++;
		}
	}
	out->journal = nrec * HOLD_JBYTES;
	/* A truncate keeps the leases: its breaks need slots of their own. */
	out->room = out->breaks <= hold_of(srv)->nlease_free;
}

/* hold_move -- every lease and pin from one pair of lists to another */
static void hold_move(struct hold_lease_list *from_l,
		      struct hold_pin_list *from_p,
		      struct hold_lease_list *to_l, struct hold_pin_list *to_p)
{
	struct hold_lease *l;
	struct hold_pin *pin;

	while ((l = LIST_FIRST(from_l))) {
		LIST_REMOVE(l, ext_entry);
		LIST_INSERT_HEAD(to_l, l, ext_entry);
	}
	while ((pin = LIST_FIRST(from_p))) {
		LIST_REMOVE(pin, ext_entry);
		LIST_INSERT_HEAD(to_p, pin, ext_entry);
	}
}

/* hold_detach -- e is about to end (or change): take its holds off it */
void hold_detach(struct extent *e, struct hold_detached *d)
{
	LIST_INIT(&d->leases);
	LIST_INIT(&d->pins);
	d->extent_id = e->rec.id;
	d->offset = e->rec.offset;
	hold_move(&e->leases, &e->pins, &d->leases, &d->pins);
}

/* hold_reattach -- give e back the holds hold_detach() took off it */
void hold_reattach(struct extent *e, struct hold_detached *d)
{
	hold_move(&d->leases, &d->pins, &e->leases, &e->pins);
}

/*
 * hold_left -- a range left an extent: q holds it, or NULL when it went
 * straight to free space
 *
 * Delete (the holds were detached into d): every lease ends; each other
 * holder gets a break recorded against q.  Truncate (d lists the live
 * extent's holds): leases stay, other holders get a break for the tail.
 * Pins that overlap q count against it.  Runs in the transaction of the
 * extent change (the caller made room).
 */
void hold_left(struct server *srv, struct hold_detached *d, struct qrange *q,
	       const struct proc *caller, enum hold_reason reason)
{
	double grace = srv->limits.lease_break_time_s;
	struct hold_lease *l, *nl;
	struct hold_pin *pin, *np;
	struct hold_brk *b;
	bool ended = reason != HOLD_TRUNCATE;

	for (pin = LIST_FIRST(&d->pins); pin; pin = np) {
		np = LIST_NEXT(pin, ext_entry);
		if (q && hold_overlaps(pin->rec.offset, pin->rec.length,
				       q->rec.offset, q->rec.length)) {
			q->npins++;
			pin->nq++;
		}
		if (ended) {
			LIST_REMOVE(pin, ext_entry);
			pin->e = NULL;
		}
	}
	for (l = LIST_FIRST(&d->leases); l; l = nl) {
		struct proc *holder = l->proc;
		bool revoked = l->rec.flags & FMT_HOLD_REVOKED;

		nl = LIST_NEXT(l, ext_entry);
		if (ended) {
			/*
			 * The lease ends first: its slot goes back on top of the
			 * free stack and the break below takes it, so a delete
			 * never needs a free slot.
			 */
			LIST_REMOVE(l, ext_entry);
			l->e = NULL;
			hold_stage_lease(srv, l->slot, NULL);
			hold_lease_forget(srv, l);
		}
		if (!q || holder == caller)
			continue;
		b = hold_brk_new(srv, holder, d->extent_id, q->rec.offset,
				 q->rec.offset - d->offset, q->rec.length, q,
				 reason, grace);
		if (!b) {
			log_err("process %d: cannot record a lease break (out of memory); the range stays quarantined until the daemon restarts",
				(int)holder->pid);
			/* Held by a break that can never be acked. */
			q->nbreaks++;
		} else if (revoked) {
			/* A revoked holder is not asked: it ends at its exit. */
			b->rec.flags |= FMT_HOLD_REVOKED;
			holder->hold.nrevoked++;
			hold_stage_lease(srv, b->slot, &b->rec);
		} else {
			ev_timer_start(srv->loop, &b->timer);
			hold_send_break(srv, b, NULL);
		}
	}
	if (q)
		log_info("extent %llu: range %#llx+%#llx quarantined (%u pins, %u lease breaks)",
			 (unsigned long long)d->extent_id,
			 (unsigned long long)q->rec.offset,
			 (unsigned long long)q->rec.length, q->npins, q->nbreaks);
}

/*
 * hold_proc_exit -- p exited: every hold it had ends
 *
 * Its pins first, then its breaks and leases; each range that waited only
 * for p becomes free.
 */
void hold_proc_exit(struct server *srv, struct proc *p)
{
	struct hold_pin *pin;
	struct hold_brk *b;
	struct hold_lease *l;
	uint32_t np = p->hold.npins, nb = p->hold.nbreaks, nl = p->hold.nleases;

	while ((pin = TAILQ_FIRST(&p->hold.pins)))
		hold_pin_end(srv, pin);
	while ((b = TAILQ_FIRST(&p->hold.breaks)))
		hold_brk_end(srv, b);
	while ((l = TAILQ_FIRST(&p->hold.leases)))
		hold_lease_end(srv, l);
	if (np || nb || nl)
		log_info("process %d exited: %u pins, %u lease breaks, %u leases ended",
			 (int)p->pid, np, nb, nl);
}

/* hold_hello -- a connection of a process is ready: resend its breaks */
void hold_hello(struct server *srv, struct conn *c)
{
	struct hold_brk *b;

	if (!c->proc)
		return;
	TAILQ_FOREACH(b, &c->proc->hold.breaks, proc_entry)
		if (!(b->rec.flags & FMT_HOLD_REVOKED))
			hold_send_break(srv, b, c);
}

/*
 * hold_revoke_free -- forget a revoke
 *
 * Its breaks are gone by now: acknowledged, ended by hold_revoke_expire(),
 * or with their process.
 */
static void hold_revoke_free(struct server *srv, struct hold_revoke *rv)
{
	ev_timer_stop(srv->loop, &rv->timer);
	TAILQ_REMOVE(&hold_of(srv)->revokes, rv, entry);
	free(rv->procs);
	free(rv);
}

/* hold_has -- does p still hold anything on extent_id (0: anything)? */
static bool hold_has(const struct proc *p, uint64_t extent_id)
{
	const struct hold_lease *l;
	const struct hold_pin *pin;
	const struct hold_brk *b;

	TAILQ_FOREACH(l, &p->hold.leases, proc_entry)
		if (!extent_id || l->rec.extent_id == extent_id)
			return true;
	TAILQ_FOREACH(pin, &p->hold.pins, proc_entry)
		if (!extent_id || pin->rec.extent_id == extent_id)
			return true;
	TAILQ_FOREACH(b, &p->hold.breaks, proc_entry)
		if (b->q && (!extent_id || b->rec.extent_id == extent_id))
			return true;
	return false;
}

/*
 * hold_revoke_expire -- the grace period is over
 *
 * Processes that gave everything up are done.  The others' holds are
 * revoked; with kill they get SIGKILL (the exit frees); with force the
 * holds end now, freeing memory they may still write.
 */
static void hold_revoke_expire(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct hold_revoke *rv = w->data;
	struct server *srv = rv->srv;
	size_t i;

	(void)loop;
	(void)revents;
	for (i = 0; i < rv->nprocs; i++) {
		struct proc *p = proc_lookup(srv, rv->procs[i].pid,
					     rv->procs[i].start);
		struct hold_brk *b, *nb;
		unsigned int n;

		if (!p || p->exited)
			continue;
		for (b = TAILQ_FIRST(&p->hold.breaks); b; b = nb) {
			nb = TAILQ_NEXT(b, proc_entry);
			if (b->rv == rv)
				hold_brk_end(srv, b);
		}
		if (!hold_has(p, rv->extent_id))
			continue;
		n = hold_revoke_extent(srv, p, rv->extent_id);
		hold_send_revoked(srv, p, rv->extent_id,
				  rv->kill ? "revoked by the administrator; killed" :
					     "revoked by the administrator");
		log_warn("process %d (%s): %u holds on %s revoked by the administrator",
			 (int)p->pid, p->name, n,
			 rv->extent_id ? "one extent" : "every extent");
		if (rv->force) {
			n = hold_end_revoked(srv, p, rv->extent_id);
			log_crit("FORCE UNSAFE: %u revoked holds of live process %d (%s) ended; memory it may still write or DMA into is free for reuse",
				 n, (int)p->pid, p->name);
		} else if (rv->kill) {
			hold_kill(srv, p);
		}
	}
	hold_revoke_free(srv, rv);
}

/* hold_revoke_match -- is p a target of rq? */
static bool hold_revoke_match(const struct proc *p,
			      const Daxalloc__RevokeRequest *rq)
{
	if (p->exited)
		return false;
	if (rq->pid && (uint32_t)p->pid != rq->pid)
		return false;
	if (rq->by_uid && p->uid != rq->uid)
		return false;
	return hold_has(p, rq->extent_id);
}

/*
 * hold_revoke -- an administrator takes extents away from processes
 *
 * Every matching process gets a lease break per extent it holds (only
 * rq->extent_id when given); hold_revoke_expire() judges after the grace.
 */
int hold_revoke(struct server *srv, const Daxalloc__RevokeRequest *rq,
		Daxalloc__RevokeReply *out, char *why)
{
	struct hold *h = hold_of(srv);
	double grace = rq->grace_set ? rq->grace_s : srv->limits.lease_break_time_s;
	struct hold_revoke *rv;
	struct proc *p;
	size_t n = 0;

	if (!rq->pid && !rq->extent_id && !rq->by_uid) {
		snprintf(why, HOLD_WHY_MAX, "name a pid, an extent or a uid to revoke");
		return -EINVAL;
	}
	if (rq->kill && rq->force_unsafe) {
		snprintf(why, HOLD_WHY_MAX, "--kill and --force-unsafe exclude each other");
		return -EINVAL;
	}
	if (rq->grace_set && rq->grace_s > 7 * 86400u) {
		snprintf(why, HOLD_WHY_MAX, "a grace of %u s is more than a week",
			 rq->grace_s);
		return -EINVAL;
	}
	TAILQ_FOREACH(p, &srv->procs, entry)
		if (hold_revoke_match(p, rq))
			n++;
	rv = calloc(1, sizeof(*rv));
	if (!rv)
		return -ENOMEM;
	rv->procs = calloc(n ? n : 1, sizeof(*rv->procs));
	if (!rv->procs) {
		free(rv);
		return -ENOMEM;
	}
	rv->srv = srv;
	rv->extent_id = rq->extent_id;
	rv->kill = rq->kill;
	rv->force = rq->force_unsafe;
	TAILQ_INSERT_TAIL(&h->revokes, rv, entry);
	out->breaks = 0;
	TAILQ_FOREACH(p, &srv->procs, entry) {
		struct hold_lease *l;

		if (!hold_revoke_match(p, rq))
			continue;
		rv->procs[rv->nprocs].pid = p->pid;
		rv->procs[rv->nprocs].start = p->start_time;
		rv->nprocs++;
		TAILQ_FOREACH(l, &p->hold.leases, proc_entry) {
			struct hold_brk *b;

			if ((rq->extent_id && l->rec.extent_id != rq->extent_id) ||
			    (l->rec.flags & FMT_HOLD_REVOKED) || !l->e)
				continue;
			b = hold_brk_new(srv, p, l->rec.extent_id, l->e->rec.offset,
					 0, l->e->rec.length, NULL, HOLD_REVOKE,
					 grace);
			if (!b)
				continue;
			b->rv = rv;
			b->opens = l->rec.count;
			hold_send_break(srv, b, NULL);
			out->breaks++;
		}
		log_notice("revoke: process %d (%s) has %.0f s to give up %s",
			   (int)p->pid, p->name, grace,
			   rq->extent_id ? "the extent" : "its extents");
	}
	out->processes = (uint32_t)rv->nprocs;
	out->deadline_ms = hold_now_ms() + (uint64_t)(grace * 1000);
	if (rv->force)
		log_crit("FORCE UNSAFE revoke requested: after %.0f s, ranges of live processes may be freed while they can still write them",
			 grace);
	ev_timer_init(&rv->timer, hold_revoke_expire, grace, 0.);
	rv->timer.data = rv;
	ev_timer_start(srv->loop, &rv->timer);
	return 0;
}

/* hold_pinned_bytes -- device bytes under at least one pin */
uint64_t hold_pinned_bytes(const struct server *srv)
{
	const struct hold *h = &srv->holds;
	uint64_t (*r)[2], total = 0, end = 0;
	const struct hold_pin *pin;
	const struct proc *p;
	size_t n = 0, i;

	if (!h->npins)
		return 0;
	r = malloc(h->npins * sizeof(*r));
	if (!r)
		return 0;
	TAILQ_FOREACH(p, &srv->procs, entry)
		TAILQ_FOREACH(pin, &p->hold.pins, proc_entry) {
			r[n][0] = pin->rec.offset;
			r[n][1] = pin->rec.offset + pin->rec.length;
			n++;
		}
	qsort(r, n, sizeof(*r), hold_u64_cmp);
	/* Overlapping pins count once. */
	for (i = 0; i < n; i++) {
		uint64_t s = r[i][0] > end ? r[i][0] : end;

		if (r[i][1] > s)
			total += r[i][1] - s;
		if (r[i][1] > end)
			end = r[i][1];
	}
	free(r);
	return total;
}

/* hold_covered -- bytes of [off, off + len) inside e or quarantined */
static uint64_t hold_covered(struct server *srv, const struct extent *e,
			     uint64_t off, uint64_t len)
{
	const struct qrange *q;
	uint64_t n = 0, s, t;

	if (e && hold_overlaps(off, len, e->rec.offset, e->rec.length)) {
		s = off > e->rec.offset ? off : e->rec.offset;
		t = off + len < e->rec.offset + e->rec.length ?
			    off + len : e->rec.offset + e->rec.length;
		n += t - s;
	}
	TAILQ_FOREACH(q, &srv->pool->quarantine.ranges, entry) {
		if (!hold_overlaps(off, len, q->rec.offset, q->rec.length))
			continue;
		s = off > q->rec.offset ? off : q->rec.offset;
		t = off + len < q->rec.offset + q->rec.length ?
			    off + len : q->rec.offset + q->rec.length;
		n += t - s;
	}
	return n;
}

/*
 * hold_check_proc -- one process's holds against the core rule
 *
 * Every pin covers only extent or quarantined bytes, never free ones;
 * every lease names a live extent; every recorded break a quarantined
 * range; the device records equal memory.
 */
static unsigned long hold_check_proc(struct server *srv, struct proc *p,
				     pool_finding_fn fn, void *arg)
{
	struct meta *m = srv->pool->meta;
	const struct hold_lease *l;
	const struct hold_pin *pin;
	const struct hold_brk *b;
	unsigned long n = 0;
	uint32_t cnt = 0;

	TAILQ_FOREACH(pin, &p->hold.pins, proc_entry) {
		cnt++;
		if (hold_covered(srv, pin->e, pin->rec.offset, pin->rec.length) !=
		    pin->rec.length) {
			pool_finding(fn, arg, "CORE RULE: pin %llu of process %d covers free space (%#llx+%#llx)",
				     (unsigned long long)pin->rec.id, (int)p->pid,
				     (unsigned long long)pin->rec.offset,
				     (unsigned long long)pin->rec.length);
			n++;
		}
		if (pin->e && pool_find(srv->pool, pin->rec.extent_id) != pin->e) {
			pool_finding(fn, arg, "pin %llu points at an extent that is gone",
				     (unsigned long long)pin->rec.id);
			n++;
		}
		if (memcmp(meta_at(m, meta_pin_off(m, pin->slot)), &pin->rec,
			   sizeof(pin->rec))) {
			pool_finding(fn, arg, "pin %llu: record on the device differs from memory",
				     (unsigned long long)pin->rec.id);
			n++;
		}
	}
	if (cnt != p->hold.npins) {
		pool_finding(fn, arg, "process %d: %u pins listed, %u counted",
			     (int)p->pid, cnt, p->hold.npins);
		n++;
	}
	cnt = 0;
	TAILQ_FOREACH(l, &p->hold.leases, proc_entry) {
		cnt++;
		if (!l->e || pool_find(srv->pool, l->rec.extent_id) != l->e) {
			pool_finding(fn, arg, "CORE RULE: lease of process %d on extent %llu, which is gone",
				     (int)p->pid, (unsigned long long)l->rec.extent_id);
			n++;
		}
		if (memcmp(meta_at(m, meta_lease_off(m, l->slot)), &l->rec,
			   sizeof(l->rec))) {
			pool_finding(fn, arg, "lease slot %llu: record on the device differs from memory",
				     (unsigned long long)l->slot);
			n++;
		}
	}
	if (cnt != p->hold.nleases) {
		pool_finding(fn, arg, "process %d: %u leases listed, %u counted",
			     (int)p->pid, cnt, p->hold.nleases);
		n++;
	}
	cnt = 0;
	TAILQ_FOREACH(b, &p->hold.breaks, proc_entry) {
		cnt++;
		if (!b->q)
			continue;
		if (b->q->rec.offset > b->rec.offset ||
		    b->rec.offset - b->q->rec.offset >= b->q->rec.length) {
			pool_finding(fn, arg, "CORE RULE: lease break %llu of process %d is not on its quarantined range",
				     (unsigned long long)b->rec.id, (int)p->pid);
			n++;
		}
		if (memcmp(meta_at(m, meta_lease_off(m, b->slot)), &b->rec,
			   sizeof(b->rec))) {
			pool_finding(fn, arg, "break slot %llu: record on the device differs from memory",
				     (unsigned long long)b->slot);
			n++;
		}
	}
	if (cnt != p->hold.nbreaks) {
		pool_finding(fn, arg, "process %d: %u breaks listed, %u counted",
			     (int)p->pid, cnt, p->hold.nbreaks);
		n++;
	}
	if (p->exited && !hold_proc_empty(&p->hold)) {
		pool_finding(fn, arg, "process %d exited but still holds ranges",
			     (int)p->pid);
		n++;
	}
	return n;
}

/*
 * hold_check -- the core rule, as daxallocctl check verifies it
 *
 * Besides each process's holds: every quarantined range waits for
 * something (else it should be free), and its counters equal a recount.
 */
int hold_check(struct server *srv, pool_finding_fn fn, void *arg)
{
	struct hold *h = hold_of(srv);
	const struct qrange *q;
	unsigned long n = 0;
	uint64_t npins = 0, nleases = 0, nbreaks = 0;
	struct proc *p;

	if (!srv->pool)
		return 0;
	TAILQ_FOREACH(p, &srv->procs, entry) {
		n += hold_check_proc(srv, p, fn, arg);
		npins += p->hold.npins;
		nleases += p->hold.nleases;
		nbreaks += p->hold.nbreaks;
	}
	if (npins != h->npins || npins != h->pins.count ||
	    nleases != h->nleases || nbreaks != h->nbreaks) {
		pool_finding(fn, arg, "hold counters disagree: pins %llu/%llu/%zu, leases %llu/%llu, breaks %llu/%llu",
			     (unsigned long long)npins,
			     (unsigned long long)h->npins, h->pins.count,
			     (unsigned long long)nleases,
			     (unsigned long long)h->nleases,
			     (unsigned long long)nbreaks,
			     (unsigned long long)h->nbreaks);
		n++;
	}
	TAILQ_FOREACH(q, &srv->pool->quarantine.ranges, entry) {
		const struct hold_brk *b;
		uint32_t pins = 0, brks = 0;

		TAILQ_FOREACH(p, &srv->procs, entry) {
			const struct hold_pin *pin;

			TAILQ_FOREACH(pin, &p->hold.pins, proc_entry)
				if (hold_overlaps(pin->rec.offset, pin->rec.length,
						  q->rec.offset, q->rec.length))
					pins++;
		}
		LIST_FOREACH(b, &q->breaks, q_entry)
			brks++;
		if (pins != q->npins || brks > q->nbreaks) {
			pool_finding(fn, arg, "quarantined range %#llx+%#llx counts %u pins and %u breaks, a recount %u and %u",
				     (unsigned long long)q->rec.offset,
				     (unsigned long long)q->rec.length, q->npins,
				     q->nbreaks, pins, brks);
			n++;
		}
		if (!q->npins && !q->nbreaks) {
			pool_finding(fn, arg, "quarantined range %#llx+%#llx waits for nothing",
				     (unsigned long long)q->rec.offset,
				     (unsigned long long)q->rec.length);
			n++;
		}
	}
	return n > (unsigned long)INT32_MAX ? INT32_MAX : (int)n;
}

/* hold_load_free -- the free-slot stacks, highest slot on the bottom */
static int hold_load_free(uint64_t **stack, uint64_t *n, const bool *used,
			  uint64_t slots)
{
	uint64_t s;

	for (s = slots; s-- > 0;)
		if (!used[s] && hold_slot_push(stack, n, s) < 0)
			return -ENOMEM;
	return 0;
}

/* hold_qrange_at -- the quarantined range holding device offset off */
static struct qrange *hold_qrange_at(struct server *srv, uint64_t off)
{
	struct qrange *q;

	TAILQ_FOREACH(q, &srv->pool->quarantine.ranges, entry)
		if (off >= q->rec.offset && off - q->rec.offset < q->rec.length)
			return q;
	return NULL;
}

/* hold_drop -- a record that recovery does not keep, and why */
static void hold_drop(struct server *srv, bool pin, uint64_t slot,
		      const struct fmt_hold *rec, const char *why,
		      uint64_t *dropped)
{
	log_debug("%s slot %llu (id %llu, pid %u): dropped: %s",
		  pin ? "pin" : "lease", (unsigned long long)slot,
		  (unsigned long long)rec->id, rec->pid, why);
	if (pin) {
		hold_write_pin(srv, slot, NULL);
	} else {
		if (meta_begin(srv->pool->meta, HOLD_JBYTES) == 0)
			hold_stage_lease(srv, slot, NULL);
	}
	(*dropped)++;
}

/*
 * hold_recover_lease -- one valid lease-table record of a live process
 *
 * 1: kept, 0: dropped, or a negative errno.
 */
static int hold_recover_lease(struct server *srv, struct proc *p,
			      uint64_t slot, const struct fmt_hold *rec,
			      uint64_t *dropped)
{
	struct hold *h = hold_of(srv);
	struct extent *e;
	struct qrange *q;

	if (FMT_HOLD_KIND(rec->flags) == FMT_HOLD_LEASE) {
		struct hold_lease *l;

		e = pool_find(srv->pool, rec->extent_id);
		if (!e) {
			hold_drop(srv, false, slot, rec, "its extent is gone", dropped);
			return 0;
		}
		l = calloc(1, sizeof(*l));
		if (!l)
			return -ENOMEM;
		l->proc = p;
		l->e = e;
		l->slot = slot;
		l->rec = *rec;
		TAILQ_INSERT_TAIL(&p->hold.leases, l, proc_entry);
		LIST_INSERT_HEAD(&e->leases, l, ext_entry);
		p->hold.nleases++;
		h->nleases++;
		if (rec->flags & FMT_HOLD_REVOKED)
			p->hold.nrevoked++;
		return 1;
	}
	if (FMT_HOLD_KIND(rec->flags) == FMT_HOLD_BREAK) {
		struct hold_brk *b;

		q = hold_qrange_at(srv, rec->offset);
		if (!q) {
			hold_drop(srv, false, slot, rec, "its range is not quarantined", dropped);
			return 0;
		}
		b = calloc(1, sizeof(*b));
		if (!b)
			return -ENOMEM;
		b->proc = p;
		b->q = q;
		b->slot = slot;
		b->rec = *rec;
		b->reason = HOLD_DELETE;
		e = pool_find(srv->pool, rec->extent_id);
		if (e) {
			b->reason = HOLD_TRUNCATE;
			b->ext_offset = rec->offset - e->rec.offset;
		}
		if (idmap_put(&h->breaks, rec->id, b) < 0) {
			free(b);
			return -ENOMEM;
		}
		/* The holder gets a full lease-break time again. */
		b->deadline_ms = hold_now_ms() +
				 (uint64_t)srv->limits.lease_break_time_s * 1000;
		ev_timer_init(&b->timer, hold_brk_timeout,
			      srv->limits.lease_break_time_s, 0.);
		b->timer.data = b;
		if (!(rec->flags & FMT_HOLD_REVOKED))
			ev_timer_start(srv->loop, &b->timer);
		else
			p->hold.nrevoked++;
		TAILQ_INSERT_TAIL(&p->hold.breaks, b, proc_entry);
		LIST_INSERT_HEAD(&q->breaks, b, q_entry);
		q->nbreaks++;
		p->hold.nbreaks++;
		h->nbreaks++;
		return 1;
	}
	hold_drop(srv, false, slot, rec, "unknown kind", dropped);
	return 0;
}

/* hold_recover_pin -- one valid pin record of a live process; as above */
static int hold_recover_pin(struct server *srv, struct proc *p, uint64_t slot,
			    const struct fmt_hold *rec, uint64_t *dropped)
{
	struct hold *h = hold_of(srv);
	struct extent *e = pool_find(srv->pool, rec->extent_id);
	struct hold_pin *pin;

	if (FMT_HOLD_KIND(rec->flags) != FMT_HOLD_PIN) {
		hold_drop(srv, true, slot, rec, "not a pin", dropped);
		return 0;
	}
	if (!rec->length || rec->offset + rec->length < rec->offset ||
	    hold_covered(srv, e, rec->offset, rec->length) != rec->length) {
		/* Cannot happen with the write order; never hold free space. */
		log_warn("pin %llu of process %u covers free space: dropped",
			 (unsigned long long)rec->id, rec->pid);
		hold_drop(srv, true, slot, rec, "covers free space", dropped);
		return 0;
	}
	pin = calloc(1, sizeof(*pin));
	if (!pin)
		return -ENOMEM;
	pin->proc = p;
	pin->slot = slot;
	pin->rec = *rec;
	if (idmap_put(&h->pins, rec->id, pin) < 0) {
		free(pin);
		return -ENOMEM;
	}
	if (e && hold_overlaps(rec->offset, rec->length, e->rec.offset,
			       e->rec.length)) {
		pin->e = e;
		LIST_INSERT_HEAD(&e->pins, pin, ext_entry);
	}
	TAILQ_INSERT_TAIL(&p->hold.pins, pin, proc_entry);
	p->hold.npins++;
	h->npins++;
	if (rec->flags & FMT_HOLD_REVOKED)
		p->hold.nrevoked++;
	hold_pin_qranges(srv, pin, +1);
	return 1;
}

/* hold_record_valid -- a used slot with a good checksum */
static bool hold_record_valid(const struct fmt_hold *rec)
{
	return rec->checksum == meta_crc(rec, offsetof(struct fmt_hold, checksum));
}

/* hold_recover_table -- load one table (lease or pin) */
static int hold_recover_table(struct server *srv, bool pins, bool same_boot,
			      uint64_t *kept, uint64_t *dropped)
{
	struct hold *h = hold_of(srv);
	struct meta *m = srv->pool->meta;
	uint64_t slots = pins ? m->sb.pin_slots : m->sb.lease_slots, s;
	static const struct fmt_hold zero;
	bool *used;
	int r = 0;

	used = calloc(slots ? slots : 1, sizeof(*used));
	if (!used)
		return -ENOMEM;
	for (s = 0; s < slots; s++) {
		const struct fmt_hold *rec = meta_at(m, pins ? meta_pin_off(m, s) :
							      meta_lease_off(m, s));
		struct fmt_hold copy;
		struct proc *p;

		if (!memcmp(rec, &zero, sizeof(zero)))
			continue;
		copy = *rec;
		if (!copy.id || !hold_record_valid(&copy)) {
			/* A pin torn by a crash; lease records never tear. */
			if (!pins)
				log_warn("lease slot %llu: bad record, dropped",
					 (unsigned long long)s);
			hold_drop(srv, pins, s, &copy, "bad checksum", dropped);
			continue;
		}
		if (!same_boot) {
			hold_drop(srv, pins, s, &copy, "from another boot", dropped);
			continue;
		}
		r = proc_get_live(srv, (pid_t)copy.pid, copy.start_time, &p);
		if (r == -ENOMEM)
			break;
		if (r < 0) {
			hold_drop(srv, pins, s, &copy, "its process is gone", dropped);
			r = 0;
			continue;
		}
		r = pins ? hold_recover_pin(srv, p, s, &copy, dropped) :
			   hold_recover_lease(srv, p, s, &copy, dropped);
		if (r < 0)
			break;
		/* Ids are not reused while a record may still name them. */
		if (pins && copy.id >= h->next_pin_id)
			h->next_pin_id = copy.id + 1;
		else if (!pins && copy.id >= h->next_id)
			h->next_id = copy.id + 1;
		if (r > 0) {
			used[s] = true;
			(*kept)++;
		}
		r = 0;
	}
	if (r == 0)
		r = pins ? hold_load_free(&h->pin_free, &h->npin_free, used, slots) :
			   hold_load_free(&h->lease_free, &h->nlease_free, used, slots);
	free(used);
	return r;
}

/*
 * hold_recover -- at start: the holds of live processes come back
 *
 * Records of processes that are gone (pid + start time, in the boot the
 * state record names) are dropped; then every quarantined range that
 * waits for nothing any more is freed.  The lease table goes first:
 * breaks attach to quarantined ranges, pins count against them.
 */
int hold_recover(struct server *srv)
{
	struct hold *h = hold_of(srv);
	struct meta *m;
	struct qrange *q, *next;
	uint64_t kept = 0, dropped = 0, freed = 0;
	bool same_boot;
	int r;

	idmap_init(&h->pins);
	idmap_init(&h->breaks);
	TAILQ_INIT(&h->revokes);
	ev_timer_init(&h->room, hold_room_cb, 0., 0.);
	h->room.data = srv;
	h->next_pin_id = h->next_id = 1;
	h->ready = true;
	if (!srv->pool)
		return 0;
	m = srv->pool->meta;
	same_boot = !memcmp(m->state.hold_boot, srv->boot_id, 16);
	r = hold_recover_table(srv, false, same_boot, &kept, &dropped);
	if (r == 0)
		r = hold_recover_table(srv, true, same_boot, &kept, &dropped);
	if (r < 0)
		return r;
	if (!same_boot)
		memcpy(m->state.hold_boot, srv->boot_id, 16);
	/*
	 * Ids of this run start above every id an earlier run gave out, not
	 * only above those still on record: a client's retried Unpin or
	 * LeaseBreakAck of an old id must not hit a new pin or break.
	 */
	m->state.hold_epoch++;
	m->state_dirty = true;
	if (h->next_pin_id < m->state.hold_epoch << HOLD_EPOCH_SHIFT)
		h->next_pin_id = m->state.hold_epoch << HOLD_EPOCH_SHIFT;
	if (h->next_id < m->state.hold_epoch << HOLD_EPOCH_SHIFT)
		h->next_id = m->state.hold_epoch << HOLD_EPOCH_SHIFT;
	for (q = TAILQ_FIRST(&srv->pool->quarantine.ranges); q; q = next) {
		next = TAILQ_NEXT(q, entry);
		if (!q->npins && !q->nbreaks) {
			hold_maybe_release(srv, q);
			freed++;
		}
	}
	/* Pins first, as in every loop turn. */
	r = hold_commit(srv);
	if (r == 0)
		r = pool_commit(srv->pool);
	if (r < 0)
		return r;
	if (kept || dropped || freed || srv->pool->quarantine.count)
		log_notice("holds after restart: %llu kept for live processes, %llu dropped; %llu quarantined ranges freed, %llu still quarantined",
			   (unsigned long long)kept, (unsigned long long)dropped,
			   (unsigned long long)freed,
			   (unsigned long long)srv->pool->quarantine.count);
	return 0;
}

/* hold_fini -- forget everything in memory (the records stay) */
void hold_fini(struct server *srv)
{
	struct hold *h = hold_of(srv);
	struct hold_revoke *rv;
	struct proc *p;

	if (!h->ready)
		return;
	ev_timer_stop(srv->loop, &h->room);
	while ((rv = TAILQ_FIRST(&h->revokes)))
		hold_revoke_free(srv, rv);
	TAILQ_FOREACH(p, &srv->procs, entry) {
		struct hold_lease *l;
		struct hold_pin *pin;
		struct hold_brk *b;

		while ((pin = TAILQ_FIRST(&p->hold.pins))) {
			TAILQ_REMOVE(&p->hold.pins, pin, proc_entry);
			if (pin->e)
				LIST_REMOVE(pin, ext_entry);
			free(pin);
		}
		while ((b = TAILQ_FIRST(&p->hold.breaks))) {
			ev_timer_stop(srv->loop, &b->timer);
			TAILQ_REMOVE(&p->hold.breaks, b, proc_entry);
			if (b->q)
				LIST_REMOVE(b, q_entry);
			free(b);
		}
		while ((l = TAILQ_FIRST(&p->hold.leases))) {
			TAILQ_REMOVE(&p->hold.leases, l, proc_entry);
			if (l->e)
				LIST_REMOVE(l, ext_entry);
			free(l);
		}
		hold_proc_init(&p->hold);
	}
	idmap_fini(&h->pins);
	idmap_fini(&h->breaks);
	free(h->pin_free);
	free(h->lease_free);
	free(h->dirty);
	memset(h, 0, sizeof(*h));
}
