// SPDX-License-Identifier: Apache-2.0
/*
 * test_rule_storm.c -- kill -9 storms under the core rule, with a model
 *
 * RULE_STORM_CLIENTS client processes (forked, each with its own
 * libdaxalloc connection) allocate named and anonymous extents, open each
 * other's, pin pages of them, write through their pins as a NIC would
 * (DMA), unpin, truncate and delete, as fast as they can.  In every cycle
 * the daemon is killed with SIGKILL at a random moment and restarted on
 * the same pool; now and then a client is killed with SIGKILL too (while
 * the daemon runs, or while it is down) and a new process takes its
 * place.  The clients' libraries reconnect and resume their leases and
 * pins.  Then the clients are paused between two calls and the parent
 * audits what the daemon says (daxallocctl check, list extents, pins,
 * leases, processes, quarantine, status) and what the pool file holds
 * against the union of the clients' journals:
 *
 *  - every acknowledged extent is there, at the same place and length,
 *    and every acknowledged delete is gone (only an in-flight request, or
 *    one that the client could not settle, is in doubt);
 *  - extents and quarantined ranges never overlap, and with the free
 *    figure they add up to the data area: no byte is in two places;
 *  - every pin a live client holds is listed, and its range lies in its
 *    extent or in the quarantine: never free, never in another extent;
 *  - every range a live client maps (a lease it has not seen a break
 *    for) lies in its extent or in the quarantine: the client cannot
 *    have acknowledged a break it has not seen;
 *  - nothing is held by, or waits for, a process that has exited, and an
 *    exited client's anonymous extents are gone;
 *  - the words the owners wrote into their extents are still there, and
 *    the words the "NIC" wrote through a pin are only ever found inside
 *    the extent that pin was taken on (a range reused while pinned would
 *    show another extent's pin there).
 *
 * Journals.  Each client appends one line per event to a file of its own
 * with one write(2) on an O_APPEND descriptor, before it goes on: "?"
 * before a request is sent (the request is in doubt until its result
 * line), then the result; "~" when the daemon went away with the request
 * in flight (the library says "may or may not have been applied"), after
 * which the client settles what it can (Stat) and says what it found:
 *
 *	H slot pid		the client started
 *	? A n NAME | ? A a	an Alloc, named or anonymous, about to go
 *	A id off len n|a NAME	acknowledged (the client maps it; off: device)
 *	~ A n NAME | ~ A a	in doubt
 *	A= id off len NAME	an Alloc in doubt happened (Stat found it)
 *	A! NAME			an Alloc in doubt did not happen
 *	W id len		the owner's words are written on [0, len)
 *	? O id / O id off len rw|ro / ~ O id	Open
 *	? C id / C id / ~ C id			Close
 *	? P id off len / P pin id off len / ~ P id off len	Pin (off: device)
 *	? U pin / U pin / ~ U pin		Unpin
 *	? T id len / T id len / ~ T id		Truncate (T: the length now)
 *	? D id / D id / D! id / ~ D id		Delete (D!: it did not happen)
 *	E op id errno		the daemon refused (nothing happened)
 *	X id			a handle a break or revoke killed is freed
 *	B id break off len reason	a lease break seen, before it is handled
 *	R id			a Revoked event seen
 *
 * The parent reads the daemon first and the journals after: a client
 * writes "B" before its library may acknowledge, and "? U" before the
 * Unpin goes out, so whatever the daemon has already let go of is in the
 * journal by the time the parent reads it.
 *
 * The storm also kills a client while the daemon is stopped (as if busy
 * in msync(): it then wakes to the client's last requests and its exit at
 * once), kills the daemon twice in a row now and then, runs an
 * administrator's revoke (daxallocctl revoke, with --kill and without),
 * and has two kinds of unruly clients: stubborn ones keep pins a lease
 * break asks them to release, until the daemon revokes them; deaf ones
 * never dispatch their events, are revoked at every deadline and keep
 * what they map quarantined until they die, which fills the quarantine
 * table now and then (a Delete is then refused with ENOSPC).
 *
 * Knobs: RULE_STORM_CYCLES (per pool; default 10, the nightly test runs
 * 100), RULE_STORM_SEED (or STORM_SEED) fixes every choice the clients
 * and the parent make (the kills still land where the scheduler puts
 * them), RULE_STORM_CLIENTS (default 4, at most 8), RULE_STORM_BREAK_S
 * (the daemon's lease_break_time, default 1 s; a restart gives every
 * break its full time again, so one cycle in six runs that long after
 * the restart).  A failed run keeps its folder (journals, the daemon's
 * debug log, the pool).
 *
 * The first suite holds the small deterministic tests of the bugs the
 * storm found.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <json-c/json.h>

#include "daxalloc.h"
#include "envelope.h"
#include "harness.h"
#include "wire.h"

#define RS_MIB ((uint64_t)1 << 20)
#define RS_UNIT (2 * RS_MIB) /* a file pool's default unit */
#define RS_PAGE ((uint64_t)4096)
#define RS_POOL_SIZE (256 * RS_MIB)
#define RS_CYCLES 10
#define RS_CLIENTS 4
#define RS_CLIENTS_MAX 8
#define RS_BREAK_S 1
#define RS_NAME_MAX 48

/* A client's limits: what it owns, opens and pins at once. */
#define RS_OWN_MAX 5
#define RS_OPEN_MAX 4
#define RS_HANDLES 16
#define RS_PINS 8
#define RS_UNITS_MAX 4

/*
 * The quarantine table of the pool: a quarter of its units, plus 64
 * (docs/format.md).  When it is full, an extent that must be quarantined
 * stays: a Delete is refused, an exited owner's extent waits for a slot.
 */
#define RS_QSLOTS ((unsigned int)(RS_POOL_SIZE / RS_UNIT / 4 + 64))

/* The simulated NIC writes this, xor the pin id, as word 1 of a page. */
#define RS_DMA_MAGIC ((uint64_t)0xd3a0000000000000ULL)

/* What daxallocctl may print. */
#define RS_OUT_MAX (4 << 20)

/* Exit statuses of a client. */
enum rs_exit {
	RS_EXIT_OK = 0,	       /* told to quit */
	RS_EXIT_SETUP = 2,     /* journal, pipe or connection trouble */
	RS_EXIT_VIOLATION = 3, /* the daemon said what it must never say */
	RS_EXIT_UNREACHABLE = 4, /* the daemon stayed away too long */
};

/* rs_rand -- the next number of a splitmix64 sequence */
static uint64_t rs_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* rs_pattern -- the owner's word 0 of page `page` of extent id: never 0 */
static uint64_t rs_pattern(uint64_t id, uint64_t page)
{
	uint64_t s = id * 0x100000001b3ULL + page;

	return rs_rand(&s) | 1;
}

/* rs_overlap -- bytes [a, a + alen) and [b, b + blen) have in common */
static uint64_t rs_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	uint64_t s = a > b ? a : b;
	uint64_t e = a + alen < b + blen ? a + alen : b + blen;

	return e > s ? e - s : 0;
}

/* rs_env_ulong -- a positive number from the environment, or def */
static unsigned long rs_env_ulong(const char *name, unsigned long def,
				  unsigned long max)
{
	const char *s = getenv(name);
	unsigned long v = s ? strtoul(s, NULL, 0) : 0;

	return v > 0 && v <= max ? v : def;
}

/* ====================================================================== */
/* Client side: everything up to the parent's part runs in a forked child  */
/* ====================================================================== */

/* An extent the client has open, or owns without having it open. */
struct rs_handle {
	struct daxalloc_extent *ext; /* NULL: owned, not open right now */
	uint64_t id;
	uint64_t off;  /* device offset */
	uint64_t len;  /* own: the daemon's length; others': mapped at open */
	uint64_t init; /* own: the words are written on [0, init) */
	bool used, own, anon, rw, dead;
	bool barred; /* own, but its lease was revoked: Open is refused */
	char name[RS_NAME_MAX];
};

/* A pin the client holds, and the NIC's mapping of it. */
struct rs_pin {
	uint64_t id, ext;
	uint64_t off;	  /* device offset */
	uint64_t ext_off; /* offset in the extent */
	uint64_t len;
	void *dma;	  /* the NIC writes here; NULL: it stopped */
	bool used;
	bool stop;	  /* a lease break covers it: release it soon */
	bool revoked;	  /* the daemon revoked it: the unpin is local */
	bool doubt;	  /* an Unpin of it went unanswered */
};

struct rs_client {
	struct daxalloc *dx;
	int slot, jfd, cmd, rep, efd;
	/* Keeps pins a lease break covers, until the daemon revokes them. */
	bool stubborn;
	/*
	 * Never dispatches its events: it never sees a lease break, never
	 * acknowledges one, is revoked at every deadline, and everything it
	 * maps stays quarantined while it lives.  It keeps more open.
	 */
	bool deaf;
	uint64_t rng, unit;
	unsigned int seq;
	struct rs_handle h[RS_HANDLES];
	struct rs_pin p[RS_PINS];
	unsigned long ops;
};

/* The client of this process (the event handler has no other way in). */
static struct rs_client *rs_me;

/* rs_die -- a client's end, with a reason on stderr */
static void __attribute__((noreturn, format(printf, 2, 3)))
rs_die(int status, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "rule storm client %d (slot %d): ", (int)getpid(),
		rs_me ? rs_me->slot : -1);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " [%s]\n", daxalloc_errmsg());
	_exit(status);
}

/* rs_note -- one journal line, on the file before the client goes on */
static void __attribute__((format(printf, 1, 2))) rs_note(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) ||
	    write(rs_me->jfd, line, (size_t)n) != n)
		rs_die(RS_EXIT_SETUP, "cannot write the journal");
}

/* rs_lost -- does r say the connection, not the request, failed? */
static bool rs_lost(int r)
{
	return r == -ECONNRESET || r == -EPIPE || r == -ETIMEDOUT ||
	       r == -ENOTCONN;
}

/* rs_pick -- a number below n (n > 0) from the client's sequence */
static unsigned int rs_pick(struct rs_client *c, unsigned int n)
{
	return (unsigned int)(rs_rand(&c->rng) % n);
}

/* rs_handle_new -- a free handle slot, or NULL */
static struct rs_handle *rs_handle_new(struct rs_client *c)
{
	unsigned int i;

	for (i = 0; i < RS_HANDLES; i++)
		if (!c->h[i].used) {
			memset(&c->h[i], 0, sizeof(c->h[i]));
			c->h[i].used = true;
			return &c->h[i];
		}
	return NULL;
}

/* rs_handle_of -- the client's handle of extent id, or NULL */
static struct rs_handle *rs_handle_of(struct rs_client *c, uint64_t id)
{
	unsigned int i;

	for (i = 0; i < RS_HANDLES; i++)
		if (c->h[i].used && c->h[i].id == id)
			return &c->h[i];
	return NULL;
}

/* rs_count -- handles that are (own) or are not (!own) the client's */
static unsigned int rs_count(struct rs_client *c, bool own)
{
	unsigned int i, n = 0;

	for (i = 0; i < RS_HANDLES; i++)
		n += c->h[i].used && c->h[i].own == own;
	return n;
}

/*
 * rs_choose -- a random handle that passes the filter, or NULL
 *
 * want_own: 1 own only, 0 others' only, -1 any; open: it must be open
 * and alive.
 */
static struct rs_handle *rs_choose(struct rs_client *c, int want_own, bool open)
{
	struct rs_handle *cand[RS_HANDLES];
	unsigned int i, n = 0;

	for (i = 0; i < RS_HANDLES; i++) {
		struct rs_handle *h = &c->h[i];

		if (!h->used || (want_own >= 0 && h->own != (want_own > 0)))
			continue;
		if (open && (!h->ext || h->dead))
			continue;
		cand[n++] = h;
	}
	return n ? cand[rs_pick(c, n)] : NULL;
}

/* rs_words -- write the owner's words on [from, to) of h's mapping */
static void rs_words(struct rs_handle *h, uint64_t from, uint64_t to)
{
	volatile uint64_t *w;
	char *base = daxalloc_extent_addr(h->ext);
	uint64_t pg;

	if (!base || to > daxalloc_extent_length(h->ext))
		rs_die(RS_EXIT_VIOLATION, "extent %" PRIu64 ": no mapping of %" PRIu64 " bytes to write",
		       h->id, to);
	for (pg = from / RS_PAGE; pg < to / RS_PAGE; pg++) {
		w = (volatile uint64_t *)(base + pg * RS_PAGE);
		w[0] = rs_pattern(h->id, pg);
		w[1] = 0;
	}
	if (to > h->init)
		h->init = to;
	rs_note("W %" PRIu64 " %" PRIu64 "\n", h->id, h->init);
}

/* rs_dma -- the NIC writes through every pin it still drives */
static void rs_dma(struct rs_client *c)
{
	unsigned int i;
	uint64_t pg;

	for (i = 0; i < RS_PINS; i++) {
		struct rs_pin *p = &c->p[i];

		if (!p->used || !p->dma)
			continue;
		for (pg = 0; pg < p->len / RS_PAGE; pg++)
			((volatile uint64_t *)((char *)p->dma + pg * RS_PAGE))[1] =
				RS_DMA_MAGIC ^ p->id;
	}
}

/* rs_dma_stop -- the NIC stops writing through p */
static void rs_dma_stop(struct rs_pin *p)
{
	if (p->dma)
		munmap(p->dma, p->len);
	p->dma = NULL;
}

/*
 * rs_on_event -- journal the event, then let the library do its part
 *
 * The line is written before the default handler runs, because that is
 * where the library may acknowledge; the NIC stops on revoked pins and
 * pins under a break are released at the client's next step.
 */
static int rs_on_event(struct daxalloc *dx, const struct daxalloc_event *ev,
		       void *arg)
{
	struct rs_client *c = rs_me;
	unsigned int i;
	int r;

	if (ev->type == DAXALLOC_EVENT_LEASE_BREAK)
		rs_note("B %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %d\n",
			ev->extent_id, ev->break_id, ev->offset, ev->length,
			ev->reason);
	else
		rs_note("R %" PRIu64 "\n", ev->extent_id);
	for (i = 0; i < RS_PINS; i++) {
		struct rs_pin *p = &c->p[i];

		if (!p->used || (ev->extent_id && p->ext != ev->extent_id))
			continue;
		if (ev->type == DAXALLOC_EVENT_REVOKED) {
			p->revoked = p->stop = true;
			rs_dma_stop(p);
		} else if (rs_overlap(p->ext_off, p->len, ev->offset,
				      ev->length)) {
			p->stop = true;
		}
	}
	r = daxalloc_default_handler(dx, ev, arg);
	for (i = 0; i < RS_HANDLES; i++) {
		struct rs_handle *h = &c->h[i];

		if (!h->used || !h->ext ||
		    (ev->extent_id && h->id != ev->extent_id))
			continue;
		if (daxalloc_extent_dead(h->ext))
			h->dead = true;
		/* Only an administrator's revoke takes an owner's lease. */
		if (h->own && h->dead && ev->reason != DAXALLOC_BREAK_REVOKE)
			rs_die(RS_EXIT_VIOLATION, "lease break on its own extent %" PRIu64 " (reason %d)",
			       h->id, ev->reason);
	}
	return r;
}

/* rs_dispatch -- handle the events that are waiting, without blocking */
static void rs_dispatch(struct rs_client *c)
{
	struct pollfd pfd = { .fd = c->efd, .events = POLLIN };

	if (poll(&pfd, 1, 0) == 1)
		daxalloc_dispatch(c->dx);
}

/*
 * rs_settle_wait -- the daemon is away: wait, and dispatch (which
 * reconnects; a deaf client's next call does that)
 */
static void rs_settle_wait(struct rs_client *c, unsigned int *tries)
{
	if (++*tries > 200)
		rs_die(RS_EXIT_UNREACHABLE, "the daemon stayed away");
	usleep(20000);
	if (!c->deaf)
		daxalloc_dispatch(c->dx);
}

/*
 * rs_stat -- Stat by id or name until the daemon answers
 *
 * Settles a request in doubt: 0 with *info, or -ENOENT.
 */
static int rs_stat(struct rs_client *c, uint64_t id, const char *name,
		   struct daxalloc_info *info)
{
	unsigned int tries = 0;
	int r;

	for (;;) {
		r = name ? daxalloc_stat(c->dx, name, info) :
			   daxalloc_stat_id(c->dx, id, info);
		if (!rs_lost(r))
			break;
		rs_settle_wait(c, &tries);
	}
	if (r < 0 && r != -ENOENT)
		rs_die(RS_EXIT_VIOLATION, "Stat of extent %" PRIu64 " %s: %d", id,
		       name ? name : "", r);
	return r;
}

/* rs_op_alloc -- a new extent of 1..RS_UNITS_MAX units, named or not */
static void rs_op_alloc(struct rs_client *c, bool named)
{
	/*
	 * Half of them one unit: single units (and one-unit tails) fill the
	 * quarantine table before the pool, now and then.
	 */
	uint64_t units = rs_pick(c, 2) ? 1 : 1 + rs_pick(c, RS_UNITS_MAX - 1);
	/* Sometimes a little less than whole units: the daemon rounds up. */
	uint64_t size = units * c->unit - (rs_pick(c, 2) ? RS_PAGE : 0);
	struct daxalloc_extent *ext;
	struct daxalloc_info info;
	struct rs_handle *h;
	char name[RS_NAME_MAX];
	int r;

	snprintf(name, sizeof(name), "rs%d-%d-%u", c->slot, (int)getpid(),
		 c->seq++);
	if (named)
		rs_note("? A n %s\n", name);
	else
		rs_note("? A a\n");
	r = daxalloc_alloc(c->dx, named ? name : NULL, size, 0, 0666,
			   DAXALLOC_KEEP_FD, &ext);
	if (r == -ENOSPC) {
		rs_note("E A 0 %d\n", r);
		/* The pool is full (of quarantine, mostly): do not spin. */
		usleep(1000);
		return;
	}
	if (rs_lost(r)) {
		if (!named) {
			/* Unknowable: it ends when this process does. */
			rs_note("~ A a\n");
			return;
		}
		rs_note("~ A n %s\n", name);
		if (rs_stat(c, 0, name, &info) < 0) {
			rs_note("A! %s\n", name);
			return;
		}
		/* It happened: the client owns it, and opens it next. */
		h = rs_handle_new(c);
		if (!h)
			rs_die(RS_EXIT_SETUP, "no handle slot");
		h->own = true;
		h->id = info.id;
		h->off = info.offset;
		h->len = info.length;
		snprintf(h->name, sizeof(h->name), "%s", name);
		rs_note("A= %" PRIu64 " %" PRIu64 " %" PRIu64 " %s\n", info.id,
			info.offset, info.length, name);
		return;
	}
	if (r < 0)
		rs_die(RS_EXIT_VIOLATION, "Alloc of %" PRIu64 " bytes: %d", size, r);
	h = rs_handle_new(c);
	if (!h)
		rs_die(RS_EXIT_SETUP, "no handle slot");
	h->ext = ext;
	h->own = h->rw = true;
	h->anon = !named;
	h->id = daxalloc_extent_id(ext);
	h->off = daxalloc_extent_offset(ext);
	h->len = daxalloc_extent_length(ext);
	if (named)
		snprintf(h->name, sizeof(h->name), "%s", name);
	if (h->len != units * c->unit || h->off % c->unit)
		rs_die(RS_EXIT_VIOLATION, "Alloc of %" PRIu64 " bytes got %#" PRIx64 "+%#" PRIx64,
		       size, h->off, h->len);
	rs_note("A %" PRIu64 " %" PRIu64 " %" PRIu64 " %c %s\n", h->id, h->off,
		h->len, named ? 'n' : 'a', named ? name : "-");
	rs_words(h, 0, h->len);
}

/*
 * rs_open_id -- Open extent id into h (own: read-write)
 *
 * 0, -ENOENT or -EPERM (refused), or -ECONNRESET (the answer was lost).
 */
static int rs_open_id(struct rs_client *c, struct rs_handle *h, uint64_t id,
		      bool ro)
{
	struct daxalloc_extent *ext;
	int r;

	rs_note("? O %" PRIu64 "\n", id);
	r = daxalloc_open_id(c->dx, id,
			     DAXALLOC_KEEP_FD | (ro ? DAXALLOC_RDONLY : 0), &ext);
	if (rs_lost(r)) {
		/* A lease the client never learns of: it ends with the process. */
		rs_note("~ O %" PRIu64 "\n", id);
		return -ECONNRESET;
	}
	if (r == -ENOENT || r == -EPERM) {
		/*
		 * Deleted meanwhile; or our lease on it was revoked.  Nobody
		 * but its owner deletes an extent.
		 */
		if (h->own && r == -ENOENT)
			rs_die(RS_EXIT_VIOLATION, "Open of its own extent %" PRIu64 ": %d",
			       id, r);
		rs_note("E O %" PRIu64 " %d\n", id, r);
		return r;
	}
	if (r < 0)
		rs_die(RS_EXIT_VIOLATION, "Open of extent %" PRIu64 ": %d", id, r);
	h->ext = ext;
	h->id = id;
	h->rw = !ro;
	h->dead = false;
	h->off = daxalloc_extent_offset(ext);
	h->len = daxalloc_extent_length(ext);
	rs_note("O %" PRIu64 " %" PRIu64 " %" PRIu64 " %s\n", id, h->off, h->len,
		ro ? "ro" : "rw");
	return 0;
}

/* What rs_list_cb gathers: extents the client could open. */
struct rs_listing {
	struct rs_client *c;
	uint64_t ids[64];
	unsigned int n;
};

/* rs_list_cb -- keep the extents the client has no handle of */
static int rs_list_cb(const struct daxalloc_info *info, void *arg)
{
	struct rs_listing *l = arg;

	if (l->n < 64 && !rs_handle_of(l->c, info->id))
		l->ids[l->n++] = info->id;
	return 0;
}

/* rs_op_open -- open another client's extent, read-write or read-only */
static void rs_op_open(struct rs_client *c)
{
	struct rs_listing l = { .c = c };
	struct rs_handle *h;
	int r;

	r = daxalloc_list(c->dx, DAXALLOC_LIST_OPENABLE, rs_list_cb, &l);
	if (rs_lost(r) || !l.n)
		return;
	if (r < 0)
		rs_die(RS_EXIT_VIOLATION, "List: %d", r);
	h = rs_handle_new(c);
	if (!h)
		return;
	if (rs_open_id(c, h, l.ids[rs_pick(c, l.n)], rs_pick(c, 4) == 0))
		h->used = false;
}

/*
 * rs_op_reopen -- an extent the client owns but has not open: open it
 *
 * An administrator may have revoked the client's lease on it: then it
 * stays the client's, but only to delete by name.
 */
static void rs_op_reopen(struct rs_client *c, struct rs_handle *h)
{
	unsigned int tries = 0;
	int r;

	while ((r = rs_open_id(c, h, h->id, false)) == -ECONNRESET)
		rs_settle_wait(c, &tries);
	if (r < 0) {
		h->barred = true;
		return;
	}
	/* The daemon's length, which a Truncate in doubt may have changed. */
	h->len = daxalloc_extent_length(h->ext);
	if (h->init > h->len)
		h->init = h->len;
}

/* rs_op_close -- close a handle of another client's extent */
static void rs_op_close(struct rs_client *c, struct rs_handle *h)
{
	uint64_t id = h->id;
	bool dead = h->dead;
	int r;

	/* A dead handle is only freed: the daemon ended that lease. */
	rs_note(dead ? "X %" PRIu64 "\n" : "? C %" PRIu64 "\n", id);
	r = daxalloc_close(h->ext);
	h->used = false;
	if (dead)
		return;
	if (r == 0)
		rs_note("C %" PRIu64 "\n", id);
	else if (r == -ENOENT)
		rs_note("E C %" PRIu64 " %d\n", id, r);
	else if (rs_lost(r))
		rs_note("~ C %" PRIu64 "\n", id);
	else
		rs_die(RS_EXIT_VIOLATION, "Close of extent %" PRIu64 ": %d", id, r);
}

/*
 * rs_pin_range -- choose a range of an open extent to pin, into p (not
 * yet used): 1..4 pages, or now and then any bytes within them
 *
 * false when there is no open extent with a page mapped.
 */
static bool rs_pin_range(struct rs_client *c, struct rs_pin *p,
			 struct rs_handle **hp)
{
	struct rs_handle *h = rs_choose(c, -1, true);
	uint64_t pages, first, n;

	if (!h)
		return false;
	pages = daxalloc_extent_length(h->ext) / RS_PAGE;
	if (!pages)
		return false;
	first = rs_pick(c, (unsigned int)pages);
	n = 1 + rs_pick(c, 4);
	if (first + n > pages)
		n = pages - first;
	memset(p, 0, sizeof(*p));
	p->ext = h->id;
	p->ext_off = first * RS_PAGE;
	p->len = n * RS_PAGE;
	/* Pins need not be aligned (the NIC only drives whole pages). */
	if (!rs_pick(c, 4)) {
		p->ext_off += rs_pick(c, 2048);
		p->len -= 2048 + rs_pick(c, 1024);
	}
	p->off = h->off + p->ext_off;
	*hp = h;
	return true;
}

/* rs_pin_start -- pin p was granted as id: journal it, start the NIC */
static void rs_pin_start(struct rs_client *c, struct rs_pin *p,
			 struct rs_handle *h, uint64_t id)
{
	p->used = true;
	p->id = id;
	rs_note("P %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", id, p->ext,
		p->off, p->len);
	if (h->rw && !(p->off % RS_PAGE) && !(p->len % RS_PAGE)) {
		void *m = mmap(NULL, p->len, PROT_READ | PROT_WRITE, MAP_SHARED,
			       daxalloc_extent_fd(h->ext), (off_t)p->off);

		p->dma = m == MAP_FAILED ? NULL : m;
	}
	(void)c;
}

/*
 * rs_op_pin -- pin one range, or a batch of two or three (all or
 * nothing), of open extents; the NIC starts writing
 */
static void rs_op_pin(struct rs_client *c)
{
	struct daxalloc_pin_range rg[3];
	struct rs_handle *h[3];
	struct rs_pin *p[3];
	unsigned int i, k = 0, want = rs_pick(c, 4) ? 1 : 2 + rs_pick(c, 2);
	uint64_t ids[3];
	int r;

	for (i = 0; i < RS_PINS && k < want; i++) {
		if (c->p[i].used)
			continue;
		p[k] = &c->p[i];
		if (!rs_pin_range(c, p[k], &h[k]))
			return;
		rg[k] = (struct daxalloc_pin_range){ h[k]->ext, p[k]->ext_off,
						     p[k]->len };
		k++;
	}
	if (!k)
		return;
	for (i = 0; i < k; i++)
		rs_note("? P %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", p[i]->ext,
			p[i]->off, p[i]->len);
	r = daxalloc_pin_batch(c->dx, rg, k, ids);
	if (rs_lost(r)) {
		for (i = 0; i < k; i++)
			rs_note("~ P %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
				p[i]->ext, p[i]->off, p[i]->len);
		return;
	}
	/*
	 * An extent was deleted or truncated under a handle, and the break
	 * is still on its way; or our lease was revoked: nothing is pinned.
	 */
	if (r == -ENOENT || r == -EINVAL || r == -ESTALE || r == -EPERM) {
		rs_note("E P %" PRIu64 " %d\n", p[0]->ext, r);
		return;
	}
	if (r < 0)
		rs_die(RS_EXIT_VIOLATION, "Pin of %u ranges: %d", k, r);
	for (i = 0; i < k; i++)
		rs_pin_start(c, p[i], h[i], ids[i]);
	rs_dma(c);
}

/* rs_op_unpin -- the NIC stops, then the pin is released */
static void rs_op_unpin(struct rs_client *c, struct rs_pin *p)
{
	bool retry = p->doubt;
	int r;

	rs_dma_stop(p);
	rs_note("? U %" PRIu64 "\n", p->id);
	r = daxalloc_unpin(c->dx, p->id);
	if (rs_lost(r)) {
		rs_note("~ U %" PRIu64 "\n", p->id);
		p->doubt = true;
		return;
	}
	if (r == -EPERM || (r == -ENOENT && retry)) {
		/* Revoked (it ends with us), or the one in doubt went through. */
		rs_note("E U %" PRIu64 " %d\n", p->id, r);
		p->used = false;
		return;
	}
	if (r < 0)
		rs_die(RS_EXIT_VIOLATION, "Unpin of pin %" PRIu64 ": %d", p->id, r);
	rs_note("U %" PRIu64 "\n", p->id);
	p->used = false;
}

/*
 * rs_op_unpin2 -- release two pins in one request (all or nothing):
 * the NIC stops on both first
 */
static void rs_op_unpin2(struct rs_client *c, struct rs_pin *a,
			 struct rs_pin *b)
{
	uint64_t ids[2] = { a->id, b->id };
	struct rs_pin *p[2] = { a, b };
	unsigned int i;
	int r;

	for (i = 0; i < 2; i++) {
		rs_dma_stop(p[i]);
		rs_note("? U %" PRIu64 "\n", p[i]->id);
	}
	r = daxalloc_unpin_batch(c->dx, ids, 2);
	for (i = 0; i < 2; i++) {
		if (rs_lost(r)) {
			rs_note("~ U %" PRIu64 "\n", p[i]->id);
			p[i]->doubt = true;
		} else if (r == -EPERM || (r == -ENOENT && p[i]->doubt)) {
			/*
			 * One of them was revoked (the batch released none;
			 * they end with us), or one in doubt went through.
			 */
			rs_note("E U %" PRIu64 " %d\n", p[i]->id, r);
			p[i]->used = false;
		} else if (r < 0) {
			rs_die(RS_EXIT_VIOLATION, "Unpin of pins %" PRIu64 " and %" PRIu64 ": %d",
			       a->id, b->id, r);
		} else {
			rs_note("U %" PRIu64 "\n", p[i]->id);
			p[i]->used = false;
		}
	}
}

/* rs_op_truncate -- one unit more or less of an own extent */
static void rs_op_truncate(struct rs_client *c, struct rs_handle *h)
{
	uint64_t units = h->len / c->unit, want, had = h->len;
	struct daxalloc_info info;
	int r;

	if (units <= 1 || (units < RS_UNITS_MAX && rs_pick(c, 2)))
		want = (units + 1) * c->unit;
	else
		want = (units - 1) * c->unit;
	if (h->init > want)
		h->init = want;
	rs_note("? T %" PRIu64 " %" PRIu64 "\n", h->id, want);
	r = daxalloc_truncate(h->ext, want);
	if (r == -ENOSPC) {
		/* The units after it are taken (or quarantined). */
		rs_note("E T %" PRIu64 " %d\n", h->id, r);
		return;
	}
	if (rs_lost(r)) {
		rs_note("~ T %" PRIu64 "\n", h->id);
		if (rs_stat(c, h->id, NULL, &info) < 0)
			rs_die(RS_EXIT_VIOLATION, "its extent %" PRIu64 " is gone after a Truncate",
			       h->id);
		h->len = info.length;
		if (h->init > daxalloc_extent_length(h->ext))
			h->init = daxalloc_extent_length(h->ext);
		rs_note("T %" PRIu64 " %" PRIu64 "\n", h->id, h->len);
		return;
	}
	if (r < 0)
		rs_die(RS_EXIT_VIOLATION, "Truncate of extent %" PRIu64 " to %" PRIu64 ": %d",
		       h->id, want, r);
	h->len = want;
	if (daxalloc_extent_length(h->ext) != want)
		rs_die(RS_EXIT_VIOLATION, "extent %" PRIu64 " truncated to %" PRIu64 " maps %" PRIu64,
		       h->id, want, daxalloc_extent_length(h->ext));
	rs_note("T %" PRIu64 " %" PRIu64 "\n", h->id, want);
	if (want > had)
		rs_words(h, h->init, want);
}

/* rs_op_delete -- delete an own extent (its pins, if any, hold on) */
static void rs_op_delete(struct rs_client *c, struct rs_handle *h)
{
	struct daxalloc_info info;
	uint64_t id = h->id;
	int r;

	rs_note("? D %" PRIu64 "\n", id);
	r = h->ext ? daxalloc_delete(h->ext) : daxalloc_delete_name(c->dx, h->name);
	h->ext = NULL;
	if (rs_lost(r)) {
		rs_note("~ D %" PRIu64 "\n", id);
		if (rs_stat(c, id, NULL, &info) == 0) {
			/* It did not happen: owned again, opened next. */
			rs_note("D! %" PRIu64 "\n", id);
			h->barred = false;
			return;
		}
	} else if (r == -ENOSPC) {
		/*
		 * Held, and the quarantine table is full: refused.  The
		 * library let go of the handle all the same.
		 */
		rs_note("E D %" PRIu64 " %d\n", id, r);
		h->barred = false;
		return;
	} else if (r < 0) {
		rs_die(RS_EXIT_VIOLATION, "Delete of its extent %" PRIu64 ": %d", id, r);
	}
	rs_note("D %" PRIu64 "\n", id);
	h->used = false;
}

/* rs_op_verify -- the owner's words, read through its own mappings */
static void rs_op_verify(struct rs_client *c)
{
	unsigned int i;
	uint64_t pg;

	for (i = 0; i < RS_HANDLES; i++) {
		struct rs_handle *h = &c->h[i];
		const volatile uint64_t *w;
		char *base;

		if (!h->used || !h->own || !h->ext || !h->init)
			continue;
		base = daxalloc_extent_addr(h->ext);
		for (pg = 0; base && pg < h->init / RS_PAGE; pg++) {
			w = (const volatile uint64_t *)(base + pg * RS_PAGE);
			if (w[0] != rs_pattern(h->id, pg))
				rs_die(RS_EXIT_VIOLATION, "extent %" PRIu64 " page %" PRIu64 ": %#" PRIx64 ", wrote %#" PRIx64,
				       h->id, pg, w[0], rs_pattern(h->id, pg));
		}
	}
}

/* rs_pin_due -- a pin to release first: its unpin was lost, or a break */
static struct rs_pin *rs_pin_due(struct rs_client *c)
{
	unsigned int i;

	for (i = 0; i < RS_PINS; i++)
		if (c->p[i].used && (c->p[i].doubt || c->p[i].stop))
			return &c->p[i];
	return NULL;
}

/* rs_step -- the client's next request: duties first, then at random */
static void rs_step(struct rs_client *c)
{
	struct rs_handle *h;
	struct rs_pin *p;
	unsigned int i, x, own = rs_count(c, true);

	c->ops++;
	for (i = 0; i < RS_HANDLES; i++) {
		h = &c->h[i];
		if (!h->used || !h->own)
			continue;
		if (h->ext && h->dead) {
			/* Revoked by an administrator: free the handle. */
			rs_note("X %" PRIu64 "\n", h->id);
			daxalloc_close(h->ext);
			h->ext = NULL;
			h->dead = false;
		}
		if (!h->ext && !h->barred) {
			rs_op_reopen(c, h);
			return;
		}
	}
	p = rs_pin_due(c);
	if (p && (p->doubt || p->revoked || !c->stubborn) && rs_pick(c, 3)) {
		rs_op_unpin(c, p);
		return;
	}
	x = rs_pick(c, 100);
	if (x < 20 && own < RS_OWN_MAX) {
		rs_op_alloc(c, x < 13);
	} else if (x < 34) {
		if (rs_count(c, false) < (c->deaf ? 2 * RS_OPEN_MAX : RS_OPEN_MAX))
			rs_op_open(c);
	} else if (x < 42) {
		h = rs_choose(c, 0, false);
		if (h)
			rs_op_close(c, h);
	} else if (x < 58) {
		rs_op_pin(c);
	} else if (x < 70) {
		/* A stubborn client keeps what a break asks it to release. */
		for (i = rs_pick(c, RS_PINS), x = 0; x < RS_PINS; x++)
			if (c->p[(i + x) % RS_PINS].used &&
			    (!c->stubborn || !c->p[(i + x) % RS_PINS].stop ||
			     c->p[(i + x) % RS_PINS].revoked))
				break;
		if (x < RS_PINS) {
			struct rs_pin *a = &c->p[(i + x) % RS_PINS], *b = NULL;

			/* Now and then with another one, in one request. */
			for (x = 0; x < RS_PINS && rs_pick(c, 3) == 0; x++)
				if (c->p[x].used && &c->p[x] != a &&
				    (!c->stubborn || !c->p[x].stop)) {
					b = &c->p[x];
					break;
				}
			if (b)
				rs_op_unpin2(c, a, b);
			else
				rs_op_unpin(c, a);
		}
	} else if (x < 82) {
		h = rs_choose(c, 1, true);
		if (h)
			rs_op_truncate(c, h);
	} else if (x < 96 || own >= RS_OWN_MAX) {
		h = rs_choose(c, 1, true);
		/* Or one it may no longer open: by name, if it has one. */
		for (i = 0; i < RS_HANDLES && (!h || x % 2); i++)
			if (c->h[i].used && c->h[i].barred && c->h[i].name[0])
				h = &c->h[i];
		if (h)
			rs_op_delete(c, h);
	} else {
		rs_op_verify(c);
	}
}

/* rs_read_cmd -- one command line from the parent (blocking) */
static void rs_read_cmd(struct rs_client *c, char *buf, size_t cap)
{
	size_t n = 0;

	while (n < cap - 1) {
		ssize_t k = read(c->cmd, buf + n, 1);

		if (k <= 0)
			_exit(RS_EXIT_OK); /* the parent went away */
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
}

/* rs_say -- one line to the parent */
static void rs_say(struct rs_client *c, const char *line)
{
	size_t len = strlen(line);

	if (write(c->rep, line, len) != (ssize_t)len)
		_exit(RS_EXIT_SETUP);
}

/*
 * rs_commands -- pause between two calls when the parent asks
 *
 * Paused, the client neither calls nor dispatches: the parent audits a
 * daemon nobody changes.  "go" resumes, "quit" ends the process.
 */
static void rs_commands(struct rs_client *c)
{
	struct pollfd pfd = { .fd = c->cmd, .events = POLLIN };
	char line[64], rep[64];

	if (poll(&pfd, 1, 0) != 1)
		return;
	rs_read_cmd(c, line, sizeof(line));
	while (!strcmp(line, "pause")) {
		snprintf(rep, sizeof(rep), "paused %lu\n", c->ops);
		rs_say(c, rep);
		rs_read_cmd(c, line, sizeof(line));
	}
	if (!strcmp(line, "quit"))
		_exit(RS_EXIT_OK);
}

/* A named extent a killed client left to its slot's next client. */
struct rs_inherit {
	uint64_t id, off, len, init;
	char name[RS_NAME_MAX];
};

/*
 * rs_client_main -- one client: connect, take over the slot's extents
 * (inherit), then step until told to quit
 */
static void __attribute__((noreturn))
rs_client_main(int slot, uint64_t seed, const char *journal, const char *sock,
	       int cmd, int rep, const struct rs_inherit *inherit, size_t ninherit)
{
	struct rs_client c = { .slot = slot, .rng = seed, .cmd = cmd, .rep = rep,
				.stubborn = seed % 4 == 0, .deaf = seed % 8 == 1 };
	char line[64];
	size_t i;
	int r;

	rs_me = &c;
	signal(SIGPIPE, SIG_IGN);
	c.jfd = open(journal, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC,
		     0644);
	if (c.jfd < 0)
		_exit(RS_EXIT_SETUP);
	rs_note("H %d %d%s\n", slot, (int)getpid(),
		c.stubborn ? " stubborn" : c.deaf ? " deaf" : "");
	r = daxalloc_connect(sock, &c.dx);
	if (r < 0)
		rs_die(RS_EXIT_SETUP, "connect: %d", r);
	c.unit = daxalloc_unit(c.dx);
	c.efd = daxalloc_event_fd(c.dx);
	if (c.unit != RS_UNIT || c.efd < 0)
		rs_die(RS_EXIT_SETUP, "unit %" PRIu64 ", event fd %d", c.unit, c.efd);
	daxalloc_set_event_handler(c.dx, rs_on_event, NULL);
	for (i = 0; i < ninherit; i++) {
		struct rs_handle *h = rs_handle_new(&c);

		if (!h)
			rs_die(RS_EXIT_SETUP, "no handle slot");
		h->own = true;
		h->id = inherit[i].id;
		h->off = inherit[i].off;
		h->len = inherit[i].len;
		h->init = inherit[i].init;
		snprintf(h->name, sizeof(h->name), "%s", inherit[i].name);
	}
	rs_say(&c, "ready\n");
	/* Wait for the first "go". */
	rs_read_cmd(&c, line, sizeof(line));
	if (strcmp(line, "go"))
		_exit(RS_EXIT_OK);
	for (;;) {
		rs_commands(&c);
		if (!c.deaf)
			rs_dispatch(&c);
		rs_dma(&c);
		rs_step(&c);
	}
}

/* ====================================================================== */
/* Parent side: the daemon's life, the clients, the model and the audit   */
/* ====================================================================== */

/* An extent the parent knows from the journals. */
struct rs_mext {
	uint64_t id, off, len;
	uint64_t alt;  /* with len_doubt: the other length it may have */
	uint64_t init; /* the owner's words are on [0, init) */
	int slot;      /* the owner's slot */
	pid_t anon;    /* anonymous: its owner; 0: named */
	bool len_doubt, del_doubt;
	char name[RS_NAME_MAX];
};

/* A client's handle, as the parent tracks it: the range it maps. */
struct rs_mhandle {
	uint64_t ext, off, plen; /* plen 0: nothing mapped any more */
	bool used;
};

enum rs_pin_state {
	RS_PIN_HELD,  /* acknowledged: must be listed */
	RS_PIN_DOUBT, /* its Unpin is in doubt: may be listed */
	RS_PIN_STAYS, /* revoked: held by the daemon until the process exits */
};

struct rs_mpin {
	uint64_t id, ext, off, len;
	enum rs_pin_state state;
	bool revoked; /* a Revoked event for its extent came first */
	bool used;
};

/* A Pin in doubt: the daemon may hold a pin of this range nobody knows. */
struct rs_dpin {
	uint64_t ext, off, len;
};

#define RS_MHANDLES 32
#define RS_MPINS 128
#define RS_DOUBTS 64

/* One client process, live or dead, and what its journal says it holds. */
struct rs_proc {
	pid_t pid;
	int slot;
	bool live;     /* running (not killed, not exited) */
	bool audited;  /* dead, and its end was audited */
	int cmd, rep;
	char journal[PATH_MAX];
	off_t jpos;
	struct rs_mhandle h[RS_MHANDLES];
	struct rs_mpin p[RS_MPINS];
	struct rs_dpin dp[RS_DOUBTS];
	unsigned int ndp;
	struct {
		uint64_t ext;
		unsigned int n;
	} dl[RS_DOUBTS]; /* leases it may hold without knowing */
	unsigned int ndl;
	uint64_t revoked[RS_DOUBTS]; /* extents it saw Revoked for */
	unsigned int nrevoked;
	unsigned int unknown_anon; /* anonymous Allocs in doubt */
	char pending[160];	   /* a "?" line still waiting for its result */
	char named_doubt[RS_NAME_MAX]; /* "~ A n NAME" not settled yet */
};

/* The daemon's view, from daxallocctl. */
struct rs_lext {
	uint64_t id, off, len;
	bool named, known;
	char name[RS_NAME_MAX];
};

struct rs_lq {
	uint64_t off, len, ext, pins, breaks;
	pid_t waiting[16];
	unsigned int nwaiting;
};

struct rs_lpin {
	uint64_t id, ext, off, len;
	pid_t pid;
	bool revoked, matched;
};

struct rs_llease {
	uint64_t ext, count;
	pid_t pid;
	bool revoked;
};

struct rs_lproc {
	pid_t pid;
	uint64_t anon, holds; /* anonymous extents; leases + pins + breaks */
};

struct rs_view {
	struct rs_lext *ext;
	struct rs_lq *q;
	struct rs_lpin *pin;
	struct rs_llease *lease;
	struct rs_lproc *proc;
	size_t next, nq, npin, nlease, nproc;
	uint64_t free_bytes, quarantined_bytes;
};

static struct {
	struct harness h;
	const char *where;
	const char *args[8];
	char conf[PATH_MAX];
	char *out;
	uint64_t seed, rng;
	unsigned int nclients;
	unsigned long break_s;
	const uint8_t *map; /* the pool file, read-only */
	uint64_t data_bytes;

	struct rs_mext *ext;
	size_t next, ext_cap;
	struct rs_proc *procs;
	size_t nprocs, procs_cap;
	int slot_proc[RS_CLIENTS_MAX]; /* index into procs; -1: none */
	struct {
		uint64_t pin, ext;
	} *dma;
	size_t ndma, dma_cap;
	bool dma_sorted;

	unsigned int cycle;
	unsigned long cycles, spawned, killed, daemon_kills;
	unsigned long allocs_named, allocs_anon, opens, closes, pins, unpins;
	unsigned long truncates, deletes, refused, breaks, revokes, words;
	unsigned long admin_revokes, admin_kills, stopped_kills, double_kills;
	unsigned long doubt[8]; /* in doubt, by kind: A O C P U T D, settled */
	unsigned long doubt_present, doubt_absent, adopted;
	unsigned long q_seen, q_max, pins_audited, leases_audited, pages;
	unsigned long replayed, torn, waiting, delete_refused, stubborn, deaf;
	unsigned long violations;
	bool failed;
} rs;

enum { RS_D_ALLOC, RS_D_OPEN, RS_D_CLOSE, RS_D_PIN, RS_D_UNPIN, RS_D_TRUNC,
       RS_D_DELETE };

/* rs_violation -- a broken promise: print it with the cycle and the seed */
static void __attribute__((format(printf, 1, 2))) rs_violation(const char *fmt, ...)
{
	va_list ap;

	rs.violations++;
	rs.failed = true;
	if (rs.violations > 40)
		return;
	fprintf(stderr, "rule storm (%s pool) cycle %u (RULE_STORM_SEED=%" PRIu64 "): VIOLATION: ",
		rs.where, rs.cycle, rs.seed);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* rs_trouble -- the test itself could not go on (not the daemon's fault) */
static void __attribute__((format(printf, 1, 2))) rs_trouble(const char *fmt, ...)
{
	va_list ap;

	rs.failed = true;
	fprintf(stderr, "rule storm (%s pool) cycle %u: ", rs.where, rs.cycle);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- the model ---- */

/* rs_mext_find -- the model's extent id, or NULL */
static struct rs_mext *rs_mext_find(uint64_t id)
{
	size_t i;

	for (i = 0; i < rs.next; i++)
		if (rs.ext[i].id == id)
			return &rs.ext[i];
	return NULL;
}

/* rs_mext_add -- a new extent in the model; NULL (and a violation) if known */
static struct rs_mext *rs_mext_add(uint64_t id, uint64_t off, uint64_t len,
				   int slot)
{
	struct rs_mext *e;

	if (rs_mext_find(id)) {
		rs_violation("extent id %" PRIu64 " handed out twice", id);
		return NULL;
	}
	if (rs.next == rs.ext_cap) {
		size_t cap = rs.ext_cap ? rs.ext_cap * 2 : 256;
		struct rs_mext *n = realloc(rs.ext, cap * sizeof(*n));

		if (!n)
			return NULL;
		rs.ext = n;
		rs.ext_cap = cap;
	}
	e = &rs.ext[rs.next++];
	memset(e, 0, sizeof(*e));
	e->id = id;
	e->off = off;
	e->len = len;
	e->slot = slot;
	return e;
}

/* rs_mext_remove -- the extent is gone */
static void rs_mext_remove(struct rs_mext *e)
{
	*e = rs.ext[--rs.next];
}

/* rs_dma_add -- pin id was acknowledged on extent ext: the NIC may write */
static void rs_dma_add(uint64_t pin, uint64_t ext)
{
	if (rs.ndma == rs.dma_cap) {
		size_t cap = rs.dma_cap ? rs.dma_cap * 2 : 1024;
		void *n = realloc(rs.dma, cap * sizeof(*rs.dma));

		if (!n)
			return;
		rs.dma = n;
		rs.dma_cap = cap;
	}
	rs.dma[rs.ndma].pin = pin;
	rs.dma[rs.ndma].ext = ext;
	rs.ndma++;
	rs.dma_sorted = false;
}

/* rs_dma_cmp -- qsort order of the pin table: by pin id */
static int rs_dma_cmp(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return (*x > *y) - (*x < *y);
}

/* rs_dma_ext -- the extent pin id was taken on; 0 when unknown */
static uint64_t rs_dma_ext(uint64_t pin)
{
	size_t lo = 0, hi = rs.ndma;

	if (!rs.dma_sorted) {
		qsort(rs.dma, rs.ndma, sizeof(*rs.dma), rs_dma_cmp);
		rs.dma_sorted = true;
	}
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (rs.dma[mid].pin == pin)
			return rs.dma[mid].ext;
		if (rs.dma[mid].pin < pin)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* rs_handle_set -- P maps [off, off + plen) of extent ext */
static void rs_handle_set(struct rs_proc *P, uint64_t ext, uint64_t off,
			  uint64_t plen)
{
	unsigned int i, free_i = RS_MHANDLES;

	for (i = 0; i < RS_MHANDLES; i++) {
		if (P->h[i].used && P->h[i].ext == ext)
			break;
		if (!P->h[i].used && free_i == RS_MHANDLES)
			free_i = i;
	}
	if (i == RS_MHANDLES)
		i = free_i;
	if (i == RS_MHANDLES) {
		rs_trouble("pid %d: more than %d handles", (int)P->pid, RS_MHANDLES);
		return;
	}
	P->h[i] = (struct rs_mhandle){ ext, off, plen, true };
}

/* rs_handle_get -- P's handle of extent ext, or NULL */
static struct rs_mhandle *rs_handle_get(struct rs_proc *P, uint64_t ext)
{
	unsigned int i;

	for (i = 0; i < RS_MHANDLES; i++)
		if (P->h[i].used && P->h[i].ext == ext)
			return &P->h[i];
	return NULL;
}

/* rs_pin_get -- P's pin id, or NULL */
static struct rs_mpin *rs_pin_get(struct rs_proc *P, uint64_t id)
{
	unsigned int i;

	for (i = 0; i < RS_MPINS; i++)
		if (P->p[i].used && P->p[i].id == id)
			return &P->p[i];
	return NULL;
}

/* rs_doubt_lease -- P may hold a lease on ext it does not know about */
static void rs_doubt_lease(struct rs_proc *P, uint64_t ext)
{
	unsigned int i;

	for (i = 0; i < P->ndl; i++)
		if (P->dl[i].ext == ext) {
			P->dl[i].n++;
			return;
		}
	if (P->ndl < RS_DOUBTS) {
		P->dl[P->ndl].ext = ext;
		P->dl[P->ndl++].n = 1;
	}
}

/* rs_doubt_leases -- how many unknown leases P may hold on ext */
static unsigned int rs_doubt_leases(const struct rs_proc *P, uint64_t ext)
{
	unsigned int i;

	for (i = 0; i < P->ndl; i++)
		if (P->dl[i].ext == ext)
			return P->dl[i].n;
	return 0;
}

/* rs_saw_revoked -- did P see a Revoked event for ext? */
static bool rs_saw_revoked(const struct rs_proc *P, uint64_t ext)
{
	unsigned int i;

	for (i = 0; i < P->nrevoked; i++)
		if (!P->revoked[i] || P->revoked[i] == ext)
			return true;
	return false;
}

/*
 * rs_apply -- fold one journal line of P into the model
 *
 * Returns false for a line the parent cannot read (a test bug).
 */
static bool rs_apply(struct rs_proc *P, char *line)
{
	uint64_t a, b, c, d;
	struct rs_mhandle *h;
	struct rs_mext *e;
	struct rs_mpin *p;
	char name[RS_NAME_MAX], kind;
	unsigned int i;
	int n;

	line[strcspn(line, "\n")] = '\0';
	if (line[0] == '?') {
		snprintf(P->pending, sizeof(P->pending), "%.150s", line);
		if (sscanf(line, "? T %" SCNu64 " %" SCNu64, &a, &b) == 2) {
			/* The library unmaps the tail before it asks. */
			e = rs_mext_find(a);
			if (e) {
				e->len_doubt = true;
				e->alt = b;
				if (e->init > b)
					e->init = b;
			}
			h = rs_handle_get(P, a);
			if (h && h->plen > b)
				h->plen = b;
		} else if (sscanf(line, "? D %" SCNu64, &a) == 1) {
			e = rs_mext_find(a);
			if (e)
				e->del_doubt = true;
			h = rs_handle_get(P, a);
			if (h)
				h->used = false;
		} else if (sscanf(line, "? C %" SCNu64, &a) == 1) {
			h = rs_handle_get(P, a);
			if (h)
				h->used = false;
		} else if (sscanf(line, "? U %" SCNu64, &a) == 1) {
			p = rs_pin_get(P, a);
			if (p && p->state == RS_PIN_HELD)
				p->state = p->revoked ? RS_PIN_STAYS : RS_PIN_DOUBT;
		}
		return true;
	}
	if (line[0] != 'H' && line[0] != 'W' && line[0] != 'B' && line[0] != 'R' &&
	    line[0] != 'X')
		P->pending[0] = '\0';
	if (sscanf(line, "H %d %d", &n, (int *)&i) == 2) {
		rs.stubborn += strstr(line, "stubborn") != NULL;
		rs.deaf += strstr(line, "deaf") != NULL;
		return true;
	}
	if (sscanf(line, "A %" SCNu64 " %" SCNu64 " %" SCNu64 " %c %47s", &a, &b,
		   &c, &kind, name) == 5) {
		e = rs_mext_add(a, b, c, P->slot);
		if (e) {
			e->anon = kind == 'a' ? P->pid : 0;
			if (kind == 'n')
				snprintf(e->name, sizeof(e->name), "%s", name);
		}
		rs_handle_set(P, a, b, c);
		if (kind == 'a')
			rs.allocs_anon++;
		else
			rs.allocs_named++;
		return true;
	}
	if (sscanf(line, "A= %" SCNu64 " %" SCNu64 " %" SCNu64 " %47s", &a, &b, &c,
		   name) == 4) {
		e = rs_mext_add(a, b, c, P->slot);
		if (e)
			snprintf(e->name, sizeof(e->name), "%s", name);
		/* The Alloc's own lease, which the library never learnt of. */
		rs_doubt_lease(P, a);
		P->named_doubt[0] = '\0';
		rs.doubt_present++;
		return true;
	}
	if (sscanf(line, "A! %47s", name) == 1) {
		P->named_doubt[0] = '\0';
		rs.doubt_absent++;
		return true;
	}
	if (!strcmp(line, "~ A a")) {
		P->unknown_anon++;
		rs.doubt[RS_D_ALLOC]++;
		return true;
	}
	if (sscanf(line, "~ A n %47s", name) == 1) {
		snprintf(P->named_doubt, sizeof(P->named_doubt), "%s", name);
		rs.doubt[RS_D_ALLOC]++;
		return true;
	}
	if (sscanf(line, "W %" SCNu64 " %" SCNu64, &a, &b) == 2) {
		e = rs_mext_find(a);
		if (e)
			e->init = b;
		rs.words++;
		return true;
	}
	if (sscanf(line, "O %" SCNu64 " %" SCNu64 " %" SCNu64 " %3s", &a, &b, &c,
		   name) == 4) {
		rs_handle_set(P, a, b, c);
		rs.opens++;
		return true;
	}
	if (sscanf(line, "~ O %" SCNu64, &a) == 1) {
		rs_doubt_lease(P, a);
		rs.doubt[RS_D_OPEN]++;
		return true;
	}
	if (sscanf(line, "C %" SCNu64, &a) == 1) {
		rs.closes++;
		return true;
	}
	if (sscanf(line, "X %" SCNu64, &a) == 1) {
		h = rs_handle_get(P, a);
		if (h)
			h->used = false;
		return true;
	}
	if (sscanf(line, "~ C %" SCNu64, &a) == 1) {
		rs_doubt_lease(P, a);
		rs.doubt[RS_D_CLOSE]++;
		return true;
	}
	if (sscanf(line, "P %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64, &a, &b,
		   &c, &d) == 4) {
		for (i = 0; i < RS_MPINS && P->p[i].used; i++)
			;
		if (i == RS_MPINS) {
			rs_trouble("pid %d: more than %d pins", (int)P->pid, RS_MPINS);
			return true;
		}
		P->p[i] = (struct rs_mpin){ .id = a, .ext = b, .off = c, .len = d,
					    .state = RS_PIN_HELD, .used = true };
		rs_dma_add(a, b);
		rs.pins++;
		return true;
	}
	if (sscanf(line, "~ P %" SCNu64 " %" SCNu64 " %" SCNu64, &a, &b, &c) == 3) {
		if (P->ndp < RS_DOUBTS)
			P->dp[P->ndp++] = (struct rs_dpin){ a, b, c };
		rs.doubt[RS_D_PIN]++;
		return true;
	}
	if (sscanf(line, "U %" SCNu64, &a) == 1) {
		p = rs_pin_get(P, a);
		/* A revoked pin is only forgotten by the library. */
		if (p && p->state != RS_PIN_STAYS)
			p->used = false;
		rs.unpins++;
		return true;
	}
	if (sscanf(line, "~ U %" SCNu64, &a) == 1) {
		rs.doubt[RS_D_UNPIN]++;
		return true;
	}
	if (sscanf(line, "E U %" SCNu64 " %d", &a, &n) == 2) {
		p = rs_pin_get(P, a);
		if (p && n == -EPERM)
			p->state = RS_PIN_STAYS;
		else if (p)
			p->used = false; /* the Unpin in doubt went through */
		return true;
	}
	if (sscanf(line, "T %" SCNu64 " %" SCNu64, &a, &b) == 2) {
		e = rs_mext_find(a);
		if (e) {
			e->len = b;
			e->len_doubt = false;
			if (e->init > b)
				e->init = b;
		}
		h = rs_handle_get(P, a);
		if (h)
			h->plen = b;
		rs.truncates++;
		return true;
	}
	if (sscanf(line, "~ T %" SCNu64, &a) == 1) {
		rs.doubt[RS_D_TRUNC]++;
		return true;
	}
	if (sscanf(line, "D! %" SCNu64, &a) == 1) {
		e = rs_mext_find(a);
		if (e)
			e->del_doubt = false;
		/* Its lease outlived the handle the library freed. */
		rs_doubt_lease(P, a);
		rs.doubt_present++;
		return true;
	}
	if (sscanf(line, "D %" SCNu64, &a) == 1) {
		e = rs_mext_find(a);
		if (e)
			rs_mext_remove(e);
		rs.deletes++;
		return true;
	}
	if (sscanf(line, "~ D %" SCNu64, &a) == 1) {
		rs.doubt[RS_D_DELETE]++;
		return true;
	}
	if (sscanf(line, "E %c %" SCNu64 " %d", &kind, &a, &n) == 3) {
		e = rs_mext_find(a);
		if (kind == 'T' && e)
			e->len_doubt = false;
		if (kind == 'D') {
			rs.delete_refused++;
			if (e)
				e->del_doubt = false;
			/* The library dropped its handle; the lease stays. */
			rs_doubt_lease(P, a);
		}
		rs.refused++;
		return true;
	}
	if (sscanf(line, "B %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %d", &a,
		   &b, &c, &d, &n) == 5) {
		h = rs_handle_get(P, a);
		if (h && n == DAXALLOC_BREAK_TRUNCATE && h->plen > c)
			h->plen = c;
		else if (h && n != DAXALLOC_BREAK_TRUNCATE)
			h->plen = 0;
		/*
		 * An administrator's revoke ends the lease when acknowledged;
		 * forgotten by a daemon restart, it leaves the lease in place.
		 */
		if (n == DAXALLOC_BREAK_REVOKE)
			rs_doubt_lease(P, a);
		rs.breaks++;
		return true;
	}
	if (sscanf(line, "R %" SCNu64, &a) == 1) {
		if (P->nrevoked < RS_DOUBTS)
			P->revoked[P->nrevoked++] = a;
		for (i = 0; i < RS_MHANDLES; i++)
			if (P->h[i].used && (!a || P->h[i].ext == a))
				P->h[i].plen = 0;
		for (i = 0; i < RS_MPINS; i++) {
			p = &P->p[i];
			if (!p->used || (a && p->ext != a))
				continue;
			p->revoked = true;
			if (p->state == RS_PIN_HELD)
				p->state = RS_PIN_STAYS;
		}
		rs.revokes++;
		return true;
	}
	return false;
}

/* rs_read_journal -- fold what P wrote since the last time */
static void rs_read_journal(struct rs_proc *P)
{
	char line[512];
	FILE *f = fopen(P->journal, "re");

	if (!f) {
		rs_trouble("cannot read %s: %s", P->journal, strerror(errno));
		return;
	}
	fseeko(f, P->jpos, SEEK_SET);
	while (fgets(line, sizeof(line), f)) {
		/* A line cut by SIGKILL cannot be: each is one write(2). */
		if (!strchr(line, '\n')) {
			rs_trouble("%s: a line without its end: \"%s\"",
				   P->journal, line);
			break;
		}
		if (!rs_apply(P, line))
			rs_trouble("%s: unreadable line \"%s\"", P->journal, line);
		P->jpos = ftello(f);
	}
	fclose(f);
}

/* ---- the daemon's view ---- */

/* rs_ctl_array -- daxallocctl list WHAT --json, parsed; NULL on failure */
static json_object *rs_ctl_array(const char *what)
{
	const char *args[] = { "list", what, "--json", NULL };
	json_object *arr = harness_ctl_json(&rs.h, args, rs.out, RS_OUT_MAX);

	if (arr && !json_object_is_type(arr, json_type_array)) {
		json_object_put(arr);
		arr = NULL;
	}
	if (!arr)
		rs_trouble("daxallocctl list %s --json gave no list", what);
	return arr;
}

/* rs_bool -- a JSON member as a boolean (false when absent) */
static bool rs_bool(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

/* rs_view_free -- forget a view */
static void rs_view_free(struct rs_view *v)
{
	free(v->ext);
	free(v->q);
	free(v->pin);
	free(v->lease);
	free(v->proc);
	memset(v, 0, sizeof(*v));
}

/* rs_view_fetch -- everything the daemon says, into v; false on failure */
static bool rs_view_fetch(struct rs_view *v)
{
	static const char *const status[] = { "status", "--json", NULL };
	json_object *arr, *o, *w;
	size_t i, j, n;

	memset(v, 0, sizeof(*v));
	arr = rs_ctl_array("extents");
	if (!arr)
		return false;
	n = json_object_array_length(arr);
	v->ext = calloc(n + 1, sizeof(*v->ext));
	for (i = 0; v->ext && i < n; i++) {
		o = json_object_array_get_idx(arr, i);
		v->ext[i].id = harness_json_u64(o, "id");
		v->ext[i].off = harness_json_u64(o, "offset");
		v->ext[i].len = harness_json_u64(o, "length");
		v->ext[i].named = rs_bool(o, "named");
		if (json_object_object_get_ex(o, "name", &w))
			snprintf(v->ext[i].name, sizeof(v->ext[i].name), "%s",
				 json_object_get_string(w));
	}
	v->next = n;
	json_object_put(arr);

	arr = rs_ctl_array("quarantine");
	if (!arr)
		return false;
	n = json_object_array_length(arr);
	v->q = calloc(n + 1, sizeof(*v->q));
	for (i = 0; v->q && i < n; i++) {
		o = json_object_array_get_idx(arr, i);
		v->q[i].off = harness_json_u64(o, "offset");
		v->q[i].len = harness_json_u64(o, "length");
		v->q[i].ext = harness_json_u64(o, "extent_id");
		v->q[i].pins = harness_json_u64(o, "pins");
		v->q[i].breaks = harness_json_u64(o, "breaks");
		if (json_object_object_get_ex(o, "waiting_pids", &w))
			for (j = 0; j < json_object_array_length(w) && j < 16; j++)
				v->q[i].waiting[v->q[i].nwaiting++] = (pid_t)
					json_object_get_int64(json_object_array_get_idx(w, j));
	}
	v->nq = n;
	json_object_put(arr);

	arr = rs_ctl_array("pins");
	if (!arr)
		return false;
	n = json_object_array_length(arr);
	v->pin = calloc(n + 1, sizeof(*v->pin));
	for (i = 0; v->pin && i < n; i++) {
		o = json_object_array_get_idx(arr, i);
		v->pin[i].id = harness_json_u64(o, "pin_id");
		v->pin[i].ext = harness_json_u64(o, "extent_id");
		v->pin[i].off = harness_json_u64(o, "offset");
		v->pin[i].len = harness_json_u64(o, "length");
		v->pin[i].pid = (pid_t)harness_json_u64(o, "pid");
		v->pin[i].revoked = rs_bool(o, "revoked");
	}
	v->npin = n;
	json_object_put(arr);

	arr = rs_ctl_array("leases");
	if (!arr)
		return false;
	n = json_object_array_length(arr);
	v->lease = calloc(n + 1, sizeof(*v->lease));
	for (i = 0; v->lease && i < n; i++) {
		o = json_object_array_get_idx(arr, i);
		v->lease[i].ext = harness_json_u64(o, "extent_id");
		v->lease[i].count = harness_json_u64(o, "count");
		v->lease[i].pid = (pid_t)harness_json_u64(o, "pid");
		v->lease[i].revoked = rs_bool(o, "revoked");
	}
	v->nlease = n;
	json_object_put(arr);

	arr = rs_ctl_array("processes");
	if (!arr)
		return false;
	n = json_object_array_length(arr);
	v->proc = calloc(n + 1, sizeof(*v->proc));
	for (i = 0; v->proc && i < n; i++) {
		o = json_object_array_get_idx(arr, i);
		v->proc[i].pid = (pid_t)harness_json_u64(o, "pid");
		v->proc[i].anon = harness_json_u64(o, "anonymous");
		v->proc[i].holds = harness_json_u64(o, "leases") +
				   harness_json_u64(o, "pins") +
				   harness_json_u64(o, "breaks");
	}
	v->nproc = n;
	json_object_put(arr);

	o = harness_ctl_json(&rs.h, status, rs.out, RS_OUT_MAX);
	v->free_bytes = harness_json_u64(o, "free_bytes");
	v->quarantined_bytes = harness_json_u64(o, "quarantined_bytes");
	json_object_put(o);
	if (!v->ext || !v->q || !v->pin || !v->lease || !v->proc ||
	    v->free_bytes == UINT64_MAX) {
		rs_trouble("cannot read the daemon's state");
		return false;
	}
	return true;
}

/* rs_lext_find -- the listed extent id, or NULL */
static struct rs_lext *rs_lext_find(const struct rs_view *v, uint64_t id)
{
	size_t i;

	for (i = 0; i < v->next; i++)
		if (v->ext[i].id == id)
			return &v->ext[i];
	return NULL;
}

/*
 * rs_held -- bytes of [off, off + len) that lie in extent ext (as
 * listed) or in the quarantine
 *
 * The tiling check makes the two disjoint, so a result of len says:
 * not free, and in no other extent.
 */
static uint64_t rs_held(const struct rs_view *v, uint64_t ext, uint64_t off,
			uint64_t len)
{
	const struct rs_lext *l = rs_lext_find(v, ext);
	uint64_t n = 0;
	size_t i;

	if (l)
		n += rs_overlap(off, len, l->off, l->len);
	for (i = 0; i < v->nq; i++)
		n += rs_overlap(off, len, v->q[i].off, v->q[i].len);
	return n;
}

/* rs_proc_by_pid -- the process pid (live or dead), or NULL */
static struct rs_proc *rs_proc_by_pid(pid_t pid)
{
	size_t i;

	for (i = 0; i < rs.nprocs; i++)
		if (rs.procs[i].pid == pid)
			return &rs.procs[i];
	return NULL;
}

/* rs_live_pid -- is pid a client process that still runs? */
static bool rs_live_pid(pid_t pid)
{
	struct rs_proc *P = rs_proc_by_pid(pid);

	return P && P->live;
}

/* ---- the audit ---- */

/*
 * rs_waiting_owner -- a listed process that has exited, holds nothing,
 * and owns anonymous extents whose end waits for a quarantine slot: the
 * daemon keeps it (and them) while the quarantine table is full
 */
static bool rs_waiting_owner(const struct rs_view *v, const struct rs_lproc *l)
{
	return l->anon && !l->holds && v->nq >= RS_QSLOTS;
}

/*
 * rs_wait_gone -- the daemon must forget the clients that ended
 *
 * Their exit reaches it through a pidfd (or, if it was down, at its
 * start): wait until `list processes` no longer names them, unless they
 * are waiting owners (rs_waiting_owner()).
 */
static void rs_wait_gone(void)
{
	long long end = harness_now_ms() + 10000;
	struct rs_view v;
	bool listed;
	size_t i, j;

	for (;;) {
		if (!rs_view_fetch(&v)) {
			rs_view_free(&v);
			return;
		}
		listed = false;
		for (i = 0; i < v.nproc; i++)
			listed |= !rs_live_pid(v.proc[i].pid) &&
				  !rs_waiting_owner(&v, &v.proc[i]);
		if (!listed || harness_now_ms() > end)
			break;
		rs_view_free(&v);
		usleep(20000);
	}
	for (i = 0; listed && i < v.nproc; i++) {
		if (rs_live_pid(v.proc[i].pid) || rs_waiting_owner(&v, &v.proc[i]))
			continue;
		rs_violation("process %d exited 10 s ago and the daemon still lists it",
			     (int)v.proc[i].pid);
		for (j = 0; j < v.nlease; j++)
			if (v.lease[j].pid == v.proc[i].pid)
				rs_violation("  it holds a lease on extent %" PRIu64 " (%" PRIu64 " opens)",
					     v.lease[j].ext, v.lease[j].count);
		for (j = 0; j < v.npin; j++)
			if (v.pin[j].pid == v.proc[i].pid)
				rs_violation("  it holds pin %" PRIu64 " on extent %" PRIu64,
					     v.pin[j].id, v.pin[j].ext);
	}
	rs_view_free(&v);
}

/* rs_check_ctl -- daxallocctl check must find nothing */
static void rs_check_ctl(void)
{
	static const char *const args[] = { "check", NULL };
	int st;

	if (harness_ctl(&rs.h, args, rs.out, RS_OUT_MAX, &st) < 0)
		rs_trouble("cannot run daxallocctl check");
	else if (st != 0)
		rs_violation("daxallocctl check exits %d:\n%s", st, rs.out);
}

/*
 * rs_settle_dead -- what a killed client left in doubt, as the daemon
 * shows it: a named Alloc that happened is adopted into its slot
 */
static void rs_settle_dead(struct rs_view *v, struct rs_proc *P)
{
	char name[RS_NAME_MAX] = "";
	struct rs_lext *l = NULL;
	struct rs_mext *e;
	size_t i;

	if (sscanf(P->pending, "? A n %47s", name) != 1)
		snprintf(name, sizeof(name), "%s", P->named_doubt);
	if (!name[0])
		return;
	for (i = 0; i < v->next && !l; i++)
		if (v->ext[i].named && !strcmp(v->ext[i].name, name))
			l = &v->ext[i];
	if (!l) {
		rs.doubt_absent++;
		return;
	}
	e = rs_mext_add(l->id, l->off, l->len, P->slot);
	if (e)
		snprintf(e->name, sizeof(e->name), "%s", name);
	rs.adopted++;
}

/*
 * rs_check_extents -- the model against the listing
 *
 * Acknowledged extents are there, unmoved; extents in doubt are settled
 * by the listing; anonymous extents of exited owners are gone; and every
 * listed extent is one the model knows, or an anonymous Alloc in doubt of
 * a live client.
 */
static void rs_check_extents(struct rs_view *v)
{
	uint64_t unknown_anon = 0, may_anon = 0;
	size_t i, k;

	for (i = rs.next; i-- > 0;) {
		struct rs_mext *e = &rs.ext[i];
		struct rs_lext *l = rs_lext_find(v, e->id);
		bool owner_live = !e->anon || rs_live_pid(e->anon);

		if (l)
			l->known = true;
		if (!owner_live && l && v->nq >= RS_QSLOTS) {
			/* Its end waits for a quarantine slot: checked below. */
			rs.waiting++;
		} else if (!owner_live) {
			if (l)
				rs_violation("anonymous extent %" PRIu64 " (%#" PRIx64 "+%#" PRIx64 ") outlived its owner %d",
					     e->id, l->off, l->len, (int)e->anon);
			rs_mext_remove(e);
			continue;
		}
		if (!l) {
			if (e->del_doubt) {
				rs.doubt_absent++;
				rs_mext_remove(e);
				continue;
			}
			rs_violation("LOST: acknowledged extent %" PRIu64 " (%#" PRIx64 "+%#" PRIx64 ", %s) is not listed",
				     e->id, e->off, e->len,
				     e->anon ? "anonymous" : e->name);
			rs_mext_remove(e);
			continue;
		}
		if (e->del_doubt) {
			rs.doubt_present++;
			e->del_doubt = false;
		}
		if (l->off != e->off ||
		    (l->len != e->len && !(e->len_doubt && l->len == e->alt))) {
			rs_violation("MOVED: extent %" PRIu64 " was acknowledged at %#" PRIx64 "+%#" PRIx64 ", is listed at %#" PRIx64 "+%#" PRIx64,
				     e->id, e->off, e->len, l->off, l->len);
		}
		if (e->len_doubt) {
			e->len = l->len;
			e->len_doubt = false;
			if (e->init > e->len)
				e->init = e->len;
		}
	}
	for (i = 0; i < v->next; i++) {
		if (v->ext[i].known)
			continue;
		if (v->ext[i].named) {
			rs_violation("extent %" PRIu64 " \"%s\" (%#" PRIx64 "+%#" PRIx64 ") was never acknowledged to anyone",
				     v->ext[i].id, v->ext[i].name, v->ext[i].off,
				     v->ext[i].len);
			continue;
		}
		unknown_anon++;
	}
	/* Anonymous Allocs in doubt: within what live clients may own. */
	for (i = 0; i < rs.nprocs; i++) {
		struct rs_proc *P = &rs.procs[i];
		uint64_t known = 0, listed = 0;

		if (!P->live)
			continue;
		may_anon += P->unknown_anon;
		for (k = 0; k < rs.next; k++)
			known += rs.ext[k].anon == P->pid;
		for (k = 0; k < v->nproc; k++)
			if (v->proc[k].pid == P->pid)
				listed = v->proc[k].anon;
		if (listed < known || listed > known + P->unknown_anon)
			rs_violation("process %d owns %" PRIu64 " anonymous extents; it was told of %" PRIu64 " and had %u in doubt",
				     (int)P->pid, listed, known, P->unknown_anon);
	}
	if (unknown_anon > may_anon)
		rs_violation("%" PRIu64 " anonymous extents nobody was told of, but only %" PRIu64 " Allocs in doubt",
			     unknown_anon, may_anon);
}

/* rs_cmp_range -- qsort order of ranges: by offset */
static int rs_cmp_range(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return (x[0] > y[0]) - (x[0] < y[0]);
}

/*
 * rs_check_tiling -- no byte in two of {extents, quarantine}, and with
 * the free figure they add up to the data area
 */
static void rs_check_tiling(const struct rs_view *v)
{
	uint64_t (*r)[3] = calloc(v->next + v->nq + 1, sizeof(*r));
	uint64_t qsum = 0, esum = 0;
	size_t i, n = 0;

	if (!r)
		return;
	for (i = 0; i < v->next; i++) {
		r[n][0] = v->ext[i].off;
		r[n][1] = v->ext[i].len;
		r[n++][2] = v->ext[i].id;
		esum += v->ext[i].len;
	}
	for (i = 0; i < v->nq; i++) {
		r[n][0] = v->q[i].off;
		r[n][1] = v->q[i].len;
		r[n++][2] = 0;
		qsum += v->q[i].len;
	}
	qsort(r, n, sizeof(*r), rs_cmp_range);
	for (i = 1; i < n; i++)
		if (r[i - 1][0] + r[i - 1][1] > r[i][0])
			rs_violation("OVERLAP: %s %" PRIu64 " %#" PRIx64 "+%#" PRIx64 " and %s %" PRIu64 " %#" PRIx64 "+%#" PRIx64,
				     r[i - 1][2] ? "extent" : "quarantine", r[i - 1][2],
				     r[i - 1][0], r[i - 1][1],
				     r[i][2] ? "extent" : "quarantine", r[i][2],
				     r[i][0], r[i][1]);
	if (qsum != v->quarantined_bytes)
		rs_violation("the quarantine lists %" PRIu64 " bytes, status says %" PRIu64,
			     qsum, v->quarantined_bytes);
	if (esum + qsum + v->free_bytes != rs.data_bytes)
		rs_violation("extents %" PRIu64 " + quarantine %" PRIu64 " + free %" PRIu64 " != data area %" PRIu64,
			     esum, qsum, v->free_bytes, rs.data_bytes);
	rs.q_seen += v->nq;
	if (v->nq > rs.q_max)
		rs.q_max = v->nq;
	free(r);
}

/* rs_lpin_find -- the listed pin id, or NULL */
static struct rs_lpin *rs_lpin_find(const struct rs_view *v, uint64_t id)
{
	size_t i;

	for (i = 0; i < v->npin; i++)
		if (v->pin[i].id == id)
			return &v->pin[i];
	return NULL;
}

/*
 * rs_check_pins -- every pin a live client holds is listed and held;
 * nothing is pinned by anyone else, or nobody knows of it
 */
static void rs_check_pins(struct rs_view *v)
{
	size_t i, k;

	for (i = 0; i < rs.nprocs; i++) {
		struct rs_proc *P = &rs.procs[i];
		bool dp_used[RS_DOUBTS] = { false };

		if (!P->live)
			continue;
		for (k = 0; k < RS_MPINS; k++) {
			struct rs_mpin *p = &P->p[k];
			struct rs_lpin *l;

			if (!p->used)
				continue;
			l = rs_lpin_find(v, p->id);
			if (!l && p->state != RS_PIN_DOUBT) {
				rs_violation("LOST PIN: pin %" PRIu64 " of process %d on extent %" PRIu64 " (%#" PRIx64 "+%#" PRIx64 ")%s is not listed",
					     p->id, (int)P->pid, p->ext, p->off, p->len,
					     p->state == RS_PIN_STAYS ? ", revoked," : "");
				continue;
			}
			if (!l)
				continue;
			l->matched = true;
			if (l->pid != P->pid || l->off != p->off ||
			    l->len != p->len || l->ext != p->ext)
				rs_violation("pin %" PRIu64 " of process %d: acknowledged on extent %" PRIu64 " %#" PRIx64 "+%#" PRIx64 ", listed for %d on %" PRIu64 " %#" PRIx64 "+%#" PRIx64,
					     p->id, (int)P->pid, p->ext, p->off,
					     p->len, (int)l->pid, l->ext, l->off,
					     l->len);
			rs.pins_audited++;
		}
		/* Pins the client never heard of: from its Pins in doubt. */
		for (k = 0; k < v->npin; k++) {
			struct rs_lpin *l = &v->pin[k];
			unsigned int d;

			if (l->matched || l->pid != P->pid)
				continue;
			for (d = 0; d < P->ndp; d++)
				if (!dp_used[d] && P->dp[d].ext == l->ext &&
				    P->dp[d].off == l->off && P->dp[d].len == l->len)
					break;
			if (d == P->ndp) {
				rs_violation("pin %" PRIu64 " of process %d on extent %" PRIu64 " (%#" PRIx64 "+%#" PRIx64 ") was never asked for",
					     l->id, (int)P->pid, l->ext, l->off, l->len);
				continue;
			}
			dp_used[d] = true;
			l->matched = true;
		}
	}
	/* Every listed pin: a live owner, and its range held. */
	for (k = 0; k < v->npin; k++) {
		struct rs_lpin *l = &v->pin[k];

		if (!rs_live_pid(l->pid))
			rs_violation("pin %" PRIu64 " on extent %" PRIu64 " belongs to process %d, which has exited",
				     l->id, l->ext, (int)l->pid);
		if (rs_held(v, l->ext, l->off, l->len) != l->len)
			rs_violation("PINNED RANGE FREED: pin %" PRIu64 " of process %d (%#" PRIx64 "+%#" PRIx64 ", taken on extent %" PRIu64 ") is not all in its extent or the quarantine",
				     l->id, (int)l->pid, l->off, l->len, l->ext);
	}
}

/*
 * rs_check_leases -- every range a live client maps, and has not seen a
 * break for, is in its extent or the quarantine; leases are listed for
 * open extents, and only for clients that may hold them
 */
static void rs_check_leases(struct rs_view *v)
{
	size_t i, k, j;

	for (i = 0; i < rs.nprocs; i++) {
		struct rs_proc *P = &rs.procs[i];

		if (!P->live)
			continue;
		for (k = 0; k < RS_MHANDLES; k++) {
			struct rs_mhandle *h = &P->h[k];
			struct rs_llease *l = NULL;

			if (!h->used || !h->plen)
				continue;
			if (rs_held(v, h->ext, h->off, h->plen) != h->plen)
				rs_violation("LEASED RANGE FREED: process %d maps %#" PRIx64 "+%#" PRIx64 " of extent %" PRIu64 ", has seen no lease break for it, and it is not all in the extent or the quarantine",
					     (int)P->pid, h->off, h->plen, h->ext);
			for (j = 0; j < v->nlease && !l; j++)
				if (v->lease[j].pid == P->pid &&
				    v->lease[j].ext == h->ext)
					l = &v->lease[j];
			if (!l && rs_lext_find(v, h->ext))
				rs_violation("LOST LEASE: process %d has extent %" PRIu64 " open and no lease on it is listed",
					     (int)P->pid, h->ext);
			rs.leases_audited++;
		}
	}
	for (j = 0; j < v->nlease; j++) {
		struct rs_llease *l = &v->lease[j];
		struct rs_proc *P = rs_proc_by_pid(l->pid);
		uint64_t may;

		if (!P || !P->live) {
			rs_violation("lease on extent %" PRIu64 " belongs to process %d, which has exited",
				     l->ext, (int)l->pid);
			continue;
		}
		if (!rs_lext_find(v, l->ext))
			rs_violation("lease of process %d on extent %" PRIu64 ", which is not listed",
				     (int)l->pid, l->ext);
		may = rs_doubt_leases(P, l->ext) + rs_saw_revoked(P, l->ext);
		if (rs_handle_get(P, l->ext))
			may++;
		/* An anonymous Alloc in doubt leaves a lease on what it made. */
		if (P->unknown_anon && !rs_mext_find(l->ext))
			may += P->unknown_anon;
		if (l->count > may && !l->revoked)
			rs_violation("process %d holds %" PRIu64 " opens of extent %" PRIu64 "; it may hold at most %" PRIu64,
				     (int)l->pid, l->count, l->ext, may);
	}
}

/*
 * rs_check_quarantine -- every quarantined range waits for something,
 * and only for live processes; the processes listed are live clients
 */
static void rs_check_quarantine(const struct rs_view *v)
{
	size_t i, k;

	for (i = 0; i < v->nq; i++) {
		if (!v->q[i].pins && !v->q[i].breaks)
			rs_violation("quarantined range %#" PRIx64 "+%#" PRIx64 " waits for nothing",
				     v->q[i].off, v->q[i].len);
		for (k = 0; k < v->q[i].nwaiting; k++)
			if (!rs_live_pid(v->q[i].waiting[k]))
				rs_violation("quarantined range %#" PRIx64 "+%#" PRIx64 " waits for process %d, which has exited",
					     v->q[i].off, v->q[i].len,
					     (int)v->q[i].waiting[k]);
	}
	for (i = 0; i < v->nproc; i++)
		if (!rs_live_pid(v->proc[i].pid) &&
		    !rs_waiting_owner(v, &v->proc[i]))
			rs_violation("process %d is listed but has exited",
				     (int)v->proc[i].pid);
}

/*
 * rs_check_words -- what the owners wrote is there, and the NIC's words
 * are only found inside extents their pins were taken on
 */
static void rs_check_words(const struct rs_view *v)
{
	unsigned int bad = 0;
	size_t i;
	uint64_t pg;

	for (i = 0; i < rs.next; i++) {
		const struct rs_mext *e = &rs.ext[i];
		const struct rs_lext *l = rs_lext_find(v, e->id);
		uint64_t end = e->init;

		if (!l || l->off != e->off)
			continue;
		if (end > l->len)
			end = l->len;
		for (pg = 0; pg < end / RS_PAGE; pg++) {
			const uint64_t *w = (const uint64_t *)(rs.map + e->off +
							       pg * RS_PAGE);
			uint64_t on;

			rs.pages++;
			if (w[0] != rs_pattern(e->id, pg) && bad++ < 4)
				rs_violation("DATA: extent %" PRIu64 " page %" PRIu64 " holds %#" PRIx64 ", its owner wrote %#" PRIx64,
					     e->id, pg, w[0], rs_pattern(e->id, pg));
			if (!w[1])
				continue;
			on = (w[1] & 0xfff0000000000000ULL) == RS_DMA_MAGIC ?
				     rs_dma_ext(w[1] ^ RS_DMA_MAGIC) : 0;
			if (on != e->id && bad++ < 4)
				rs_violation("DMA INTO ANOTHER EXTENT: extent %" PRIu64 " page %" PRIu64 " (device %#" PRIx64 ") holds %#" PRIx64 ", written through a pin on extent %" PRIu64,
					     e->id, pg, e->off + pg * RS_PAGE, w[1],
					     on);
		}
	}
}

/*
 * rs_audit -- the daemon against the journals, with every client paused
 *
 * The daemon is read first, the journals after (see the top of the file).
 */
static void rs_audit(void)
{
	struct rs_view v;
	size_t i;

	rs_wait_gone();
	rs_check_ctl();
	if (!rs_view_fetch(&v)) {
		rs_view_free(&v);
		return;
	}
	for (i = 0; i < rs.nprocs; i++)
		if (!rs.procs[i].audited)
			rs_read_journal(&rs.procs[i]);
	for (i = 0; i < rs.nprocs; i++)
		if (!rs.procs[i].live && !rs.procs[i].audited)
			rs_settle_dead(&v, &rs.procs[i]);
	rs_check_extents(&v);
	rs_check_tiling(&v);
	rs_check_pins(&v);
	rs_check_leases(&v);
	rs_check_quarantine(&v);
	rs_check_words(&v);
	for (i = 0; i < rs.nprocs; i++)
		if (!rs.procs[i].live)
			rs.procs[i].audited = true;
	rs_view_free(&v);
}

/* ---- clients ---- */

/* rs_line -- one line from fd within ms; false on timeout or end */
static bool rs_line(int fd, char *buf, size_t cap, int ms)
{
	long long end = harness_now_ms() + ms;
	size_t n = 0;

	while (n < cap - 1) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long long left = end - harness_now_ms();

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0 ||
		    read(fd, buf + n, 1) != 1) {
			buf[n] = '\0';
			return false;
		}
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	return true;
}

/* rs_tell -- one command line to a client; false if it is gone */
static bool rs_tell(struct rs_proc *P, const char *cmd)
{
	size_t len = strlen(cmd);

	return write(P->cmd, cmd, len) == (ssize_t)len;
}

/* rs_reap -- P ended (or was killed): reap it, close its pipes */
static void rs_reap(struct rs_proc *P, bool killed)
{
	int st = 0;

	if (!P->live)
		return;
	if (killed)
		kill(P->pid, SIGKILL);
	waitpid(P->pid, &st, 0);
	P->live = false;
	close(P->cmd);
	close(P->rep);
	rs.slot_proc[P->slot] = -1;
	if (killed) {
		rs.killed++;
		return;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == RS_EXIT_VIOLATION)
		rs_violation("client %d (slot %d) saw the daemon break a promise (see above)",
			     (int)P->pid, P->slot);
	else if (!WIFEXITED(st) || WEXITSTATUS(st) != RS_EXIT_OK)
		rs_trouble("client %d (slot %d) ended with status %#x",
			   (int)P->pid, P->slot, st);
}

/*
 * rs_spawn -- a new client process in slot, owning what the slot's
 * earlier client left (its named extents)
 */
static bool rs_spawn(int slot)
{
	struct rs_inherit inherit[64];
	size_t ninherit = 0, i;
	int cmd[2], rep[2];
	uint64_t seed = rs_rand(&rs.rng);
	struct rs_proc *P;
	char line[64];
	pid_t pid;

	for (i = 0; i < rs.next && ninherit < 64; i++) {
		const struct rs_mext *e = &rs.ext[i];

		if (e->slot != slot || e->anon)
			continue;
		inherit[ninherit].id = e->id;
		inherit[ninherit].off = e->off;
		inherit[ninherit].len = e->len;
		inherit[ninherit].init = e->init;
		snprintf(inherit[ninherit].name, sizeof(inherit[0].name), "%s",
			 e->name);
		ninherit++;
	}
	if (rs.nprocs == rs.procs_cap) {
		size_t cap = rs.procs_cap ? rs.procs_cap * 2 : 16;
		struct rs_proc *n = realloc(rs.procs, cap * sizeof(*n));

		if (!n)
			return false;
		rs.procs = n;
		rs.procs_cap = cap;
	}
	P = &rs.procs[rs.nprocs];
	memset(P, 0, sizeof(*P));
	P->slot = slot;
	snprintf(P->journal, sizeof(P->journal), "%s/c%03u-s%d-%lu.journal",
		 rs.h.dir, rs.cycle, slot, rs.spawned);
	if (pipe2(cmd, O_CLOEXEC) < 0)
		return false;
	if (pipe2(rep, O_CLOEXEC) < 0) {
		close(cmd[0]);
		close(cmd[1]);
		return false;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		/* Other clients' pipes are theirs alone. */
		for (i = 0; i < rs.nprocs; i++)
			if (rs.procs[i].live) {
				close(rs.procs[i].cmd);
				close(rs.procs[i].rep);
			}
		close(cmd[1]);
		close(rep[0]);
		rs_client_main(slot, seed, P->journal, rs.h.sock, cmd[0], rep[1],
			       inherit, ninherit);
	}
	close(cmd[0]);
	close(rep[1]);
	P->pid = pid;
	P->cmd = cmd[1];
	P->rep = rep[0];
	P->live = true;
	rs.slot_proc[slot] = (int)rs.nprocs;
	rs.nprocs++;
	rs.spawned++;
	if (!rs_line(P->rep, line, sizeof(line), 10000) || strcmp(line, "ready")) {
		rs_trouble("client %d (slot %d) did not start: \"%s\"", (int)pid,
			   slot, line);
		rs_reap(P, true);
		return false;
	}
	return true;
}

/* rs_sleep_ms -- sleep ms milliseconds */
static void rs_sleep_ms(uint64_t ms)
{
	usleep((useconds_t)(ms * 1000));
}

/* rs_slot -- the live client of slot, or NULL */
static struct rs_proc *rs_slot(unsigned int slot)
{
	if (rs.slot_proc[slot] < 0 || !rs.procs)
		return NULL;
	return &rs.procs[rs.slot_proc[slot]];
}

/* rs_pause_all -- every live client stops between two calls */
static void rs_pause_all(void)
{
	char line[64];
	unsigned int s;

	for (s = 0; s < rs.nclients; s++)
		if (rs_slot(s))
			rs_tell(rs_slot(s), "pause\n");
	for (s = 0; s < rs.nclients; s++) {
		struct rs_proc *P = rs_slot(s);

		if (!P)
			continue;
		/* A client may spend 5 s reconnecting, and settle after. */
		if (rs_line(P->rep, line, sizeof(line), 30000) &&
		    !strncmp(line, "paused", 6))
			continue;
		rs_reap(P, false);
		if (!rs.failed)
			rs_trouble("client %d (slot %u) did not pause", (int)P->pid, s);
	}
}

/* rs_stopped -- wait until process pid is stopped (state T) */
static bool rs_stopped(pid_t pid)
{
	long long end = harness_now_ms() + 5000;
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	while (harness_now_ms() < end) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return false;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n > 0 ? n : 0] = '\0';
		p = strrchr(buf, ')');
		if (p && (p[2] == 'T' || p[2] == 't'))
			return true;
		usleep(1000);
	}
	return false;
}

/*
 * rs_kill_client -- SIGKILL one live client, at random
 *
 * Half the time while the daemon is stopped (as if busy in msync()): it
 * then wakes to the client's last requests and to its exit at once.
 */
static void rs_kill_client(void)
{
	struct rs_proc *P = rs_slot((unsigned int)(rs_rand(&rs.rng) % rs.nclients));
	bool stop = rs_rand(&rs.rng) % 2 && harness_alive(&rs.h);

	if (!P)
		return;
	if (stop && (kill(rs.h.pid, SIGSTOP) < 0 || !rs_stopped(rs.h.pid)))
		stop = false;
	if (stop)
		rs_sleep_ms(5); /* the clients' next requests queue up */
	rs_reap(P, true);
	if (stop) {
		rs.stopped_kills++;
		kill(rs.h.pid, SIGCONT);
	}
}

/*
 * rs_admin_revoke -- an administrator revokes a live client, at random:
 * with --kill and no grace (the daemon must kill it), or with a second
 * of grace and no kill (it lives on; what it did not give up in time
 * stays quarantined until it exits)
 */
static void rs_admin_revoke(void)
{
	struct rs_proc *P = rs_slot((unsigned int)(rs_rand(&rs.rng) % rs.nclients));
	bool kill_it = rs_rand(&rs.rng) % 2;
	const char *args[] = { "revoke", "--pid", NULL, "--grace",
			       kill_it ? "0" : "1", kill_it ? "--kill" : NULL,
			       NULL };
	long long end;
	char pid[16];
	int st;

	if (!P)
		return;
	snprintf(pid, sizeof(pid), "%d", (int)P->pid);
	args[2] = pid;
	if (harness_ctl(&rs.h, args, rs.out, RS_OUT_MAX, &st) < 0)
		return;
	/* 1: it held nothing, so nothing matched. */
	if (st != 0 && st != 1) {
		rs_trouble("daxallocctl revoke exits %d:\n%s", st, rs.out);
		return;
	}
	rs.admin_revokes++;
	if (!kill_it || st != 0)
		return;
	end = harness_now_ms() + 5000;
	while (waitpid(P->pid, &st, WNOHANG) == 0) {
		if (harness_now_ms() > end) {
			rs_violation("revoke --kill of process %d: it still runs after 5 s",
				     (int)P->pid);
			rs_reap(P, true);
			return;
		}
		usleep(2000);
	}
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
		rs_violation("revoke --kill of process %d: it ended with status %#x",
			     (int)P->pid, st);
	/* Reaped already: rs_reap() must not wait for it again. */
	P->live = false;
	close(P->cmd);
	close(P->rep);
	rs.slot_proc[P->slot] = -1;
	rs.killed++;
	rs.admin_kills++;
}

/* ---- the daemon ---- */

/* rs_log_size -- bytes in the daemon's log so far */
static off_t rs_log_size(void)
{
	struct stat st;

	return stat(rs.h.log, &st) == 0 ? st.st_size : 0;
}

/* rs_log_from_has -- does the daemon's log from byte `from` on hold what? */
static bool rs_log_from_has(off_t from, const char *what)
{
	char *line = NULL;
	size_t cap = 0;
	bool found = false;
	FILE *f = fopen(rs.h.log, "re");

	if (!f)
		return false;
	fseeko(f, from, SEEK_SET);
	while (!found && getline(&line, &cap, f) > 0)
		found = strstr(line, what) != NULL;
	free(line);
	fclose(f);
	return found;
}

/*
 * rs_start -- start the daemon on the pool; after a kill -9 its log must
 * say the last shutdown was not clean
 */
static bool rs_start(bool unclean)
{
	off_t from = rs_log_size();
	int r = harness_start(&rs.h, rs.args);

	if (r < 0) {
		rs_violation("the daemon did not come back: %s (log %s)",
			     strerror(-r), rs.h.log);
		return false;
	}
	if (rs_log_from_has(from, "last shutdown was not clean") != unclean)
		rs_violation("after a %s stop the start %s \"not clean\"",
			     unclean ? "kill -9" : "clean",
			     unclean ? "does not say" : "says");
	if (rs_log_from_has(from, "journal transaction was re-applied"))
		rs.replayed++;
	if (rs_log_from_has(from, "torn and dropped"))
		rs.torn++;
	return true;
}

/*
 * rs_cycle -- one storm: clients run, the daemon dies and comes back
 * (a client may die too), the clients pause, the parent audits
 */
static bool rs_cycle(void)
{
	uint64_t run = 30 + rs_rand(&rs.rng) % 270;
	uint64_t down = rs_rand(&rs.rng) % 100;
	uint64_t after = 30 + rs_rand(&rs.rng) % 220;
	/* Now and then long enough for lease breaks to pass their deadline. */
	bool longer = rs_rand(&rs.rng) % 6 == 0;
	/* Which client dies, and when: 0 none, 1 before, 2 while down, 3 after. */
	unsigned int when = rs_rand(&rs.rng) % 3 ? 0 : 1 + rs_rand(&rs.rng) % 3;
	uint64_t at = rs_rand(&rs.rng) % 100;
	bool revoke = rs_rand(&rs.rng) % 5 == 0;
	unsigned int s;
	int st;

	for (s = 0; s < rs.nclients; s++)
		if (!rs_slot(s) && !rs_spawn((int)s))
			return false;
	for (s = 0; s < rs.nclients; s++)
		if (rs_slot(s))
			rs_tell(rs_slot(s), "go\n");
	if (when == 1) {
		rs_sleep_ms(run * at / 100);
		rs_kill_client();
		rs_sleep_ms(run - run * at / 100);
	} else {
		rs_sleep_ms(run);
	}
	if (harness_stop(&rs.h, SIGKILL, &st) < 0 || !WIFSIGNALED(st)) {
		rs_trouble("the daemon did not die of SIGKILL (status %#x)", st);
		return false;
	}
	rs.daemon_kills++;
	if (when == 2)
		rs_kill_client();
	rs_sleep_ms(down);
	if (!rs_start(true))
		return false;
	/* Now and then it dies again at once, in or right after recovery. */
	if (rs_rand(&rs.rng) % 8 == 0) {
		rs_sleep_ms(rs_rand(&rs.rng) % 10);
		if (harness_stop(&rs.h, SIGKILL, &st) < 0) {
			rs_trouble("the daemon could not be killed again");
			return false;
		}
		rs.double_kills++;
		if (!rs_start(true))
			return false;
	}
	if (longer)
		after += rs.break_s * 1000 + 200;
	if (when == 3 || revoke) {
		rs_sleep_ms(after * at / 100);
		if (when == 3)
			rs_kill_client();
		if (revoke)
			rs_admin_revoke();
		rs_sleep_ms(after - after * at / 100);
	} else {
		rs_sleep_ms(after);
	}
	rs_pause_all();
	rs_audit();
	rs.cycles++;
	rs.cycle++;
	return !rs.failed;
}

/* rs_summary -- one line for the log, whatever happened */
static void rs_summary(long long t0)
{
	unsigned long in_doubt = 0;
	unsigned int i;

	for (i = 0; i < 7; i++)
		in_doubt += rs.doubt[i];
	fprintf(stderr,
		"\nrule storm (%s pool): %lu cycles, %u clients, RULE_STORM_SEED=%" PRIu64 ", %.1f s: "
		"acknowledged: %lu named + %lu anonymous allocs, %lu opens, %lu closes, %lu pins, %lu unpins, %lu truncates, %lu deletes, %lu pattern writes; "
		"%lu refused (%lu deletes: quarantine full); %lu lease breaks and %lu revokes seen; %lu administrator revokes (%lu with --kill); "
		"in doubt: %lu (alloc %lu, open %lu, close %lu, pin %lu, unpin %lu, truncate %lu, delete %lu; %lu found done, %lu not, %lu adopted); "
		"%lu daemon kills (%lu twice in a row; journal re-applied %lu, torn %lu), %lu clients killed (%lu while the daemon was stopped), %lu started (%lu stubborn, %lu deaf); "
		"audited %lu pins, %lu mapped ranges, %lu pages; quarantine entries seen %lu (at most %lu at once, table of %u; %lu ends seen waiting for a slot); "
		"violations = %lu\n",
		rs.where, rs.cycles, rs.nclients, rs.seed,
		(double)(harness_now_ms() - t0) / 1000.0, rs.allocs_named,
		rs.allocs_anon, rs.opens, rs.closes, rs.pins, rs.unpins,
		rs.truncates, rs.deletes, rs.words, rs.refused,
		rs.delete_refused, rs.breaks,
		rs.revokes, rs.admin_revokes, rs.admin_kills, in_doubt, rs.doubt[RS_D_ALLOC], rs.doubt[RS_D_OPEN],
		rs.doubt[RS_D_CLOSE], rs.doubt[RS_D_PIN], rs.doubt[RS_D_UNPIN],
		rs.doubt[RS_D_TRUNC], rs.doubt[RS_D_DELETE], rs.doubt_present,
		rs.doubt_absent, rs.adopted, rs.daemon_kills, rs.double_kills,
		rs.replayed, rs.torn, rs.killed, rs.stopped_kills, rs.spawned,
		rs.stubborn, rs.deaf,
		rs.pins_audited,
		rs.leases_audited, rs.pages, rs.q_seen, rs.q_max, RS_QSLOTS,
		rs.waiting, rs.violations);
}

/* test_storm_cycles -- the storm, RULE_STORM_CYCLES times */
static void test_storm_cycles(void)
{
	unsigned long cycles = rs_env_ulong("RULE_STORM_CYCLES", RS_CYCLES, 100000);
	long long t0 = harness_now_ms();
	unsigned long k;

	for (k = 0; k < cycles && !rs.failed; k++)
		CU_ASSERT(rs_cycle());
	rs_summary(t0);
	CU_ASSERT_EQUAL(rs.cycles, cycles);
	CU_ASSERT_EQUAL(rs.violations, 0);
	CU_ASSERT_FALSE(rs.failed);
	/* A storm that did nothing tested nothing. */
	CU_ASSERT(rs.pins > 0 && rs.allocs_named + rs.allocs_anon > 0);
}

/*
 * test_storm_end -- every client quits: nothing is held any more, the
 * quarantine is empty, only the named extents are left; then they are
 * deleted, and a clean stop leaves a pool that checks clean offline
 */
static void test_storm_end(void)
{
	const char *argv[] = { getenv("DAXALLOCD"), "--check", "--device",
			       rs.h.pool, "--config", "/dev/null", NULL };
	struct daxalloc *dx;
	struct rs_view v;
	unsigned int s;
	size_t i;
	int st;

	CU_ASSERT_FATAL(harness_alive(&rs.h));
	for (s = 0; s < rs.nclients; s++)
		if (rs_slot(s))
			rs_tell(rs_slot(s), "quit\n");
	for (s = 0; s < rs.nclients; s++)
		if (rs_slot(s))
			rs_reap(rs_slot(s), false);
	rs_audit();
	CU_ASSERT_FATAL(rs_view_fetch(&v));
	CU_ASSERT_EQUAL(v.nq, 0);
	CU_ASSERT_EQUAL(v.npin, 0);
	CU_ASSERT_EQUAL(v.nlease, 0);
	CU_ASSERT_EQUAL(v.nproc, 0);
	CU_ASSERT_EQUAL(v.next, rs.next);
	for (i = 0; i < v.next; i++)
		CU_ASSERT(v.ext[i].named);
	rs_view_free(&v);

	/* The parent deletes what is left, as a client of its own. */
	if (fork() == 0) {
		if (daxalloc_connect(rs.h.sock, &dx) < 0)
			_exit(1);
		for (i = 0; i < rs.next; i++)
			if (daxalloc_delete_name(dx, rs.ext[i].name) < 0)
				_exit(1);
		daxalloc_disconnect(dx);
		_exit(0);
	}
	wait(&st);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	rs.next = 0;
	CU_ASSERT_EQUAL(harness_status_u64(&rs.h, "free_bytes"), rs.data_bytes);
	rs_check_ctl();
	CU_ASSERT_FALSE(rs.failed);

	CU_ASSERT_EQUAL_FATAL(harness_stop(&rs.h, SIGTERM, &st), 0);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CU_ASSERT_EQUAL(harness_run(argv, rs.out, RS_OUT_MAX, &st), 0);
	CU_ASSERT_EQUAL(st, 0);
	if (st != 0)
		fprintf(stderr, "daxallocd --check:\n%s", rs.out);
}

/* rs_make_pool -- a 256 MiB file at path, formatted by daxallocd */
static int rs_make_pool(const char *path)
{
	const char *argv[] = { getenv("DAXALLOCD"), "--format", "--device",
			       path, "--config", "/dev/null", NULL };
	int fd, st;

	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)RS_POOL_SIZE) < 0) {
		st = -errno;
		close(fd);
		return st;
	}
	close(fd);
	if (harness_run(argv, rs.out, RS_OUT_MAX, &st) < 0 || st != 0) {
		fprintf(stderr, "rule storm: daxallocd --format:\n%s", rs.out);
		return -EIO;
	}
	return 0;
}

/*
 * rs_seed -- RULE_STORM_SEED, else STORM_SEED, else the clock; the same
 * for both pools of one run, so that one printed seed replays both
 */
static uint64_t rs_seed(void)
{
	static uint64_t seed;
	const char *s = getenv("RULE_STORM_SEED");

	if (!s)
		s = getenv("STORM_SEED");
	if (s)
		return strtoull(s, NULL, 0);
	if (!seed)
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	return seed;
}

/*
 * rs_setup -- a fresh model, folder, configuration, pool and daemon
 *
 * tmpdir: where the folder goes (NULL: $TMPDIR).  On tmpfs the kills
 * spread over the request path; on a disk most land in msync(), in the
 * middle of commits (see test_storm.c).
 */
static int rs_setup(const char *tmpdir, const char *where)
{
	const char *saved = getenv("TMPDIR");
	char *keep = saved ? strdup(saved) : NULL;
	unsigned int s;
	void *m;
	FILE *f;
	int fd, r;

	memset(&rs, 0, sizeof(rs));
	rs.where = where;
	rs.seed = rs_seed();
	rs.rng = rs.seed;
	rs.nclients = (unsigned int)rs_env_ulong("RULE_STORM_CLIENTS", RS_CLIENTS,
						 RS_CLIENTS_MAX);
	rs.break_s = rs_env_ulong("RULE_STORM_BREAK_S", RS_BREAK_S, 86400);
	for (s = 0; s < RS_CLIENTS_MAX; s++)
		rs.slot_proc[s] = -1;
	rs.out = malloc(RS_OUT_MAX);
	if (!rs.out) {
		free(keep);
		return -ENOMEM;
	}
	if (tmpdir)
		setenv("TMPDIR", tmpdir, 1);
	r = harness_init(&rs.h);
	if (tmpdir && keep)
		setenv("TMPDIR", keep, 1);
	else if (tmpdir)
		unsetenv("TMPDIR");
	free(keep);
	if (r < 0)
		return r;
	r = rs_make_pool(rs.h.pool);
	if (r < 0)
		return r;
	snprintf(rs.conf, sizeof(rs.conf), "%s/rule-storm.conf", rs.h.dir);
	f = fopen(rs.conf, "we");
	if (!f)
		return -errno;
	fprintf(f, "[limits]\nlease_break_time = %lu\n", rs.break_s);
	if (fclose(f) != 0)
		return -EIO;
	rs.args[0] = "--device";
	rs.args[1] = rs.h.pool;
	rs.args[2] = "--config";
	rs.args[3] = rs.conf;
	rs.args[4] = NULL;
	fd = open(rs.h.pool, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	m = mmap(NULL, RS_POOL_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return -errno;
	rs.map = m;
	fprintf(stderr, "rule storm (%s pool): RULE_STORM_SEED=%" PRIu64 ", folder %s\n",
		where, rs.seed, rs.h.dir);
	if (!rs_start(false))
		return -EIO;
	rs.data_bytes = harness_status_u64(&rs.h, "free_bytes");
	return rs.data_bytes && rs.data_bytes != UINT64_MAX ? 0 : -EIO;
}

/* rs_teardown -- end the clients and the daemon; keep a failed run's folder */
static int rs_teardown(void)
{
	unsigned int s;

	for (s = 0; s < RS_CLIENTS_MAX; s++)
		if (rs_slot(s))
			rs_reap(rs_slot(s), true);
	if (rs.failed) {
		fprintf(stderr, "rule storm: kept %s (journals, daxallocd.log, pool.img)\n",
			rs.h.dir);
		setenv("DAXALLOC_KEEP_TEST_DIR", "1", 1);
	}
	harness_fini(&rs.h);
	if (rs.map)
		munmap((void *)rs.map, RS_POOL_SIZE);
	free(rs.out);
	free(rs.ext);
	free(rs.procs);
	free(rs.dma);
	memset(&rs, 0, sizeof(rs));
	return 0;
}

/* rs_have_shm -- is /dev/shm a folder we may write? */
static bool rs_have_shm(void)
{
	struct stat st;

	return stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
	       access("/dev/shm", W_OK) == 0;
}

/* suite_init_tmpfs -- the storm's daemon on a pool in /dev/shm */
static int suite_init_tmpfs(void)
{
	return rs_setup("/dev/shm", "tmpfs") < 0 ? -1 : 0;
}

/* suite_init_disk -- the storm's daemon on a pool in $TMPDIR */
static int suite_init_disk(void)
{
	return rs_setup(NULL, "TMPDIR") < 0 ? -1 : 0;
}

/* suite_fini -- end of a storm suite */
static int suite_fini(void)
{
	return rs_teardown();
}

static const struct harness_test storm_tests[] = {
	{ "kill -9 storms under the core rule, audited", test_storm_cycles },
	{ "clients quit: everything released; offline check", test_storm_end },
	{ NULL, NULL },
};

/* ====================================================================== */
/* The bugs the storm found, each as a small deterministic test            */
/* ====================================================================== */

/* Their own daemon: a 64 MiB pool, default limits. */
static struct harness rg_h;
static char rg_out[1 << 16];

/* rg_call -- send env on fd, wait for its reply; its status */
static int rg_call(int fd, Daxalloc__Envelope *env, uint64_t *extent_id)
{
	Daxalloc__Envelope *resp;
	int fds[WIRE_FDS_MAX], status;
	unsigned int nfds;

	env->version = 1;
	if (envelope_send(fd, env, NULL, 0) < 0)
		return -EIO;
	for (;;) {
		if (envelope_recv(fd, &resp, fds, &nfds) < 0)
			return -EIO;
		wire_close_fds(fds, nfds);
		if (resp->id == env->id)
			break;
		envelope_free(resp); /* an event */
	}
	status = resp->status;
	if (extent_id && resp->body_case == DAXALLOC__ENVELOPE__BODY_EXTENT_REPLY)
		*extent_id = resp->extent_reply->extent->id;
	envelope_free(resp);
	return status;
}

/* rg_connect -- a bare connection that said Hello, or -1 */
static int rg_connect(void)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT;
	Daxalloc__Hello hello = DAXALLOC__HELLO__INIT;
	int fd = harness_connect(rg_h.sock, 5);

	if (fd < 0)
		return -1;
	hello.version_min = hello.version_max = 1;
	hello.client_name = (char *)"rule-storm-regression";
	hello.pid = (uint32_t)getpid();
	env.id = 1;
	env.body_case = DAXALLOC__ENVELOPE__BODY_HELLO;
	env.hello = &hello;
	if (rg_call(fd, &env, NULL) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* rg_alloc -- Alloc a named extent, or only send the request (send_only) */
static int rg_alloc(int fd, uint64_t id, const char *name, bool send_only,
		    uint64_t *extent_id)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT;
	Daxalloc__AllocRequest a = DAXALLOC__ALLOC_REQUEST__INIT;

	a.size = RS_UNIT;
	a.name = (char *)name;
	a.mode = 0666;
	env.id = id;
	env.body_case = DAXALLOC__ENVELOPE__BODY_ALLOC;
	env.alloc = &a;
	if (!send_only)
		return rg_call(fd, &env, extent_id);
	env.version = 1;
	return envelope_send(fd, &env, NULL, 0);
}

/* rg_send_open -- send Open of a named extent, without waiting */
static int rg_send_open(int fd, uint64_t id, const char *name)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT;
	Daxalloc__OpenRequest o = DAXALLOC__OPEN_REQUEST__INIT;

	o.key_case = DAXALLOC__OPEN_REQUEST__KEY_NAME;
	o.name = (char *)name;
	env.version = 1;
	env.id = id;
	env.body_case = DAXALLOC__ENVELOPE__BODY_OPEN;
	env.open = &o;
	return envelope_send(fd, &env, NULL, 0);
}

/* rg_delete -- Delete a named extent on a bare connection; its status */
static int rg_delete(int fd, uint64_t id, const char *name)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT;
	Daxalloc__DeleteRequest d = DAXALLOC__DELETE_REQUEST__INIT;

	d.key_case = DAXALLOC__DELETE_REQUEST__KEY_NAME;
	d.name = (char *)name;
	env.id = id;
	env.body_case = DAXALLOC__ENVELOPE__BODY_DELETE;
	env.delete_ = &d;
	return rg_call(fd, &env, NULL);
}

/* rg_listed -- how many entries of `list WHAT` name pid */
static int rg_listed(const char *what, pid_t pid)
{
	const char *args[] = { "list", what, "--json", NULL };
	json_object *arr = harness_ctl_json(&rg_h, args, rg_out, sizeof(rg_out));
	int n = 0;
	size_t i;

	if (!arr)
		return -1;
	for (i = 0; i < json_object_array_length(arr); i++)
		n += harness_json_u64(json_object_array_get_idx(arr, i), "pid") ==
		     (uint64_t)pid;
	json_object_put(arr);
	return n;
}

/* rg_check -- daxallocctl check passes */
static bool rg_check(void)
{
	static const char *const args[] = { "check", NULL };
	int st;

	if (harness_ctl(&rg_h, args, rg_out, sizeof(rg_out), &st) < 0)
		return false;
	if (st)
		fprintf(stderr, "daxallocctl check: exit %d:\n%s", st, rg_out);
	return st == 0;
}

/*
 * rg_die_queued -- a client process sends a request (what: 'o' Open of
 * rg-base, 'a' Alloc of rg-ghost) and dies before the daemon reads it,
 * which sees both the request and the exit when it wakes; returns the
 * dead client's pid
 *
 * The daemon is stopped meanwhile, so that the request is queued first
 * and the exit second: libev runs the watcher that became ready last
 * first, so the exit is handled before the request is read.
 */
static pid_t rg_die_queued(char what)
{
	int to[2], from[2], fd, st;
	char c = 0;
	pid_t pid;

	if (pipe(to) < 0 || pipe(from) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		fd = rg_connect();
		if (fd < 0 || write(from[1], "r", 1) != 1 || read(to[0], &c, 1) != 1)
			_exit(1);
		if ((what == 'o' ? rg_send_open(fd, 3, "rg-base") :
				   rg_alloc(fd, 3, "rg-ghost", true, NULL)) < 0 ||
		    write(from[1], "s", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	if (pid < 0 || read(from[0], &c, 1) != 1 || kill(rg_h.pid, SIGSTOP) ||
	    !rs_stopped(rg_h.pid) || write(to[1], "g", 1) != 1 ||
	    read(from[0], &c, 1) != 1 || c != 's') {
		if (pid > 0)
			kill(pid, SIGKILL);
		pid = -1;
	}
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	kill(rg_h.pid, SIGCONT);
	close(to[0]);
	close(to[1]);
	close(from[0]);
	close(from[1]);
	return pid;
}

/* rg_forgotten -- the daemon forgets pid (it exited) within 3 s */
static bool rg_forgotten(pid_t pid)
{
	long long end = harness_now_ms() + 3000;

	while (rg_listed("processes", pid) != 0 && harness_now_ms() < end)
		usleep(20000);
	return rg_listed("processes", pid) == 0;
}

/*
 * test_exit_before_requests -- bug 1: a process gained a lease (and with
 * it could pin, and a named Alloc left an extent) after its exit had
 * been seen
 *
 * When the daemon woke to a dead client's last request and to its exit
 * at once, it handled the exit first (libev runs the last ready watcher
 * first; a daemon busy in msync() often wakes to both) and then granted
 * the request: Open and named Alloc gave the dead process a lease.  Its
 * exit had been handled, so nothing would ever end that lease: the
 * process stayed listed, `check` found "exited but still holds ranges",
 * and once the extent was deleted its range stayed quarantined for good.
 */
static void test_exit_before_requests(void)
{
	int fd = rg_connect();
	pid_t pid;

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(rg_alloc(fd, 2, "rg-base", false, NULL), 0);

	/* A queued Open. */
	pid = rg_die_queued('o');
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT(rg_forgotten(pid));
	CU_ASSERT_EQUAL(rg_listed("leases", pid), 0);
	CU_ASSERT(rg_check());

	/* A queued named Alloc: its extent is not left behind either. */
	pid = rg_die_queued('a');
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT(rg_forgotten(pid));
	CU_ASSERT_EQUAL(rg_listed("leases", pid), 0);
	CU_ASSERT(rg_check());

	/* Deleting the extent the dead processes asked for frees it at once. */
	CU_ASSERT_EQUAL(rg_delete(fd, 4, "rg-base"), 0);
	CU_ASSERT_EQUAL(rg_delete(fd, 5, "rg-ghost"), -ENOENT);
	close(fd);
	CU_ASSERT_EQUAL(harness_status_u64(&rg_h, "quarantined_bytes"), 0);
	CU_ASSERT_EQUAL(harness_status_u64(&rg_h, "extents"), 0);
	CU_ASSERT(rg_check());
}

/* rg_wait_break -- the next LeaseBreak pushed on fd; its break id, or 0 */
static uint64_t rg_wait_break(int fd)
{
	Daxalloc__Envelope *ev;
	int fds[WIRE_FDS_MAX];
	unsigned int nfds;
	uint64_t id = 0;

	while (!id) {
		if (envelope_recv(fd, &ev, fds, &nfds) < 0)
			return 0;
		wire_close_fds(fds, nfds);
		if (ev->body_case == DAXALLOC__ENVELOPE__BODY_LEASE_BREAK)
			id = ev->lease_break->break_id;
		envelope_free(ev);
	}
	return id;
}

/* rg_lease_count -- opens of pid's lease as `list leases` shows; 0: none */
static uint64_t rg_lease_count(pid_t pid)
{
	const char *args[] = { "list", "leases", "--json", NULL };
	json_object *arr = harness_ctl_json(&rg_h, args, rg_out, sizeof(rg_out));
	uint64_t n = 0;
	size_t i;

	for (i = 0; arr && i < json_object_array_length(arr); i++) {
		json_object *o = json_object_array_get_idx(arr, i);

		if (harness_json_u64(o, "pid") == (uint64_t)pid)
			n = harness_json_u64(o, "count");
	}
	json_object_put(arr);
	return n;
}

/*
 * test_revoke_ack_after_reopen -- bug 2: acknowledging an
 * administrator's revoke ended opens made after the break
 *
 * A revoke sends a REVOKE break; libdaxalloc kills the handles of the
 * extent at once and acknowledges once no pin holds the range, and the
 * acknowledgement closes the lease.  An application may open the extent
 * again in between (the lease is not revoked, Open is allowed); the ack
 * then ended that new open too, so the process mapped the extent with no
 * lease at all, and its owner's delete freed memory it could still
 * write.  The ack must give up only the opens the break was about.
 */
static void test_revoke_ack_after_reopen(void)
{
	const char *args[] = { "revoke", "--pid", NULL, "--grace", "30", NULL };
	int to[2], from[2], fd, st;
	char pid_s[16], c = 0;
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT;
	Daxalloc__LeaseBreakAck ack = DAXALLOC__LEASE_BREAK_ACK__INIT;
	pid_t pid;

	fd = rg_connect();
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(rg_alloc(fd, 2, "rg-revoked", false, NULL), 0);
	CU_ASSERT_FATAL(pipe(to) == 0 && pipe(from) == 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		int k = rg_connect();

		if (k < 0 || rg_send_open(k, 2, "rg-revoked") < 0)
			_exit(1);
		/* rg_wait_break() skips the Open's reply and waits for the break. */
		if (write(from[1], "o", 1) != 1)
			_exit(1);
		ack.break_id = rg_wait_break(k);
		/* The break killed its mapping; it opens the extent again... */
		if (!ack.break_id || rg_send_open(k, 3, "rg-revoked") < 0)
			_exit(1);
		/* ...and then says it gave up what the break was about. */
		env.id = 4;
		env.body_case = DAXALLOC__ENVELOPE__BODY_LEASE_BREAK_ACK;
		env.lease_break_ack = &ack;
		if (rg_call(k, &env, NULL) != 0 || write(from[1], "a", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	CU_ASSERT_FATAL(read(from[0], &c, 1) == 1 && c == 'o');
	/* Its Open went through before the revoke is asked for. */
	{
		long long end = harness_now_ms() + 3000;

		while (rg_lease_count(pid) != 1 && harness_now_ms() < end)
			usleep(5000);
	}
	snprintf(pid_s, sizeof(pid_s), "%d", (int)pid);
	args[2] = pid_s;
	CU_ASSERT_EQUAL(harness_ctl(&rg_h, args, rg_out, sizeof(rg_out), &st), 0);
	CU_ASSERT_EQUAL(st, 0);
	CU_ASSERT(read(from[0], &c, 1) == 1 && c == 'a');

	/* The second open stands: a lease of one open. */
	CU_ASSERT_EQUAL(rg_lease_count(pid), 1);
	CU_ASSERT(rg_check());
	/* So the owner's delete waits for it. */
	CU_ASSERT_EQUAL(rg_delete(fd, 5, "rg-revoked"), 0);
	CU_ASSERT_EQUAL(harness_status_u64(&rg_h, "quarantined_bytes"), RS_UNIT);
	CU_ASSERT(rg_check());
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	CU_ASSERT(rg_forgotten(pid));
	CU_ASSERT_EQUAL(harness_status_u64(&rg_h, "quarantined_bytes"), 0);
	CU_ASSERT(rg_check());
	close(fd);
	close(to[0]);
	close(to[1]);
	close(from[0]);
	close(from[1]);
}

/* The quarantine table of the regression daemon's pool, as the storm's. */
#define RG_QSLOTS RS_QSLOTS

/* rg_send_open_id -- send Open of an extent by id, without waiting */
static int rg_send_open_id(int fd, uint64_t id, uint64_t extent_id)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT;
	Daxalloc__OpenRequest o = DAXALLOC__OPEN_REQUEST__INIT;

	o.key_case = DAXALLOC__OPEN_REQUEST__KEY_EXTENT_ID;
	o.extent_id = extent_id;
	env.version = 1;
	env.id = id;
	env.body_case = DAXALLOC__ENVELOPE__BODY_OPEN;
	env.open = &o;
	return envelope_send(fd, &env, NULL, 0);
}

/*
 * rg_holder -- a client that holds leases and does what the pipe says:
 * 'o' open rg-q-0.. rg-q-(RG_QSLOTS) by name; 'i' + 8 bytes: open that
 * extent id; 'a' acknowledge the first lease break it was sent.  It
 * answers each with 'd'; it never reads its events otherwise.
 */
static void __attribute__((noreturn)) rg_holder(int cmd, int rep)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT;
	Daxalloc__LeaseBreakAck ack = DAXALLOC__LEASE_BREAK_ACK__INIT;
	Daxalloc__OpenRequest o = DAXALLOC__OPEN_REQUEST__INIT;
	int fd = rg_connect();
	uint64_t rid = 10, id;
	char name[32], c;
	unsigned int i;

	if (fd < 0)
		_exit(1);
	while (read(cmd, &c, 1) == 1) {
		if (c == 'o') {
			for (i = 0; i <= RG_QSLOTS; i++) {
				snprintf(name, sizeof(name), "rg-q-%u", i);
				env = (Daxalloc__Envelope)DAXALLOC__ENVELOPE__INIT;
				o = (Daxalloc__OpenRequest)DAXALLOC__OPEN_REQUEST__INIT;
				o.key_case = DAXALLOC__OPEN_REQUEST__KEY_NAME;
				o.name = name;
				env.id = rid++;
				env.body_case = DAXALLOC__ENVELOPE__BODY_OPEN;
				env.open = &o;
				if (rg_call(fd, &env, NULL) != 0)
					_exit(1);
			}
		} else if (c == 'i') {
			Daxalloc__Envelope *resp;
			int fds[WIRE_FDS_MAX];
			unsigned int nfds;

			if (read(cmd, &id, sizeof(id)) != sizeof(id) ||
			    rg_send_open_id(fd, rid, id) < 0 ||
			    envelope_recv(fd, &resp, fds, &nfds) < 0)
				_exit(1);
			wire_close_fds(fds, nfds);
			if (resp->id != rid++ || resp->status)
				_exit(1);
			envelope_free(resp);
		} else if (c == 'a') {
			ack.break_id = rg_wait_break(fd);
			env = (Daxalloc__Envelope)DAXALLOC__ENVELOPE__INIT;
			env.id = rid++;
			env.body_case = DAXALLOC__ENVELOPE__BODY_LEASE_BREAK_ACK;
			env.lease_break_ack = &ack;
			if (!ack.break_id || rg_call(fd, &env, NULL) != 0)
				_exit(1);
		}
		if (write(rep, "d", 1) != 1)
			_exit(1);
	}
	_exit(0);
}

/* rg_extent_listed -- is extent id listed? 1, 0, or -1 */
static int rg_extent_listed(uint64_t id)
{
	const char *args[] = { "list", "extents", "--json", NULL };
	json_object *arr = harness_ctl_json(&rg_h, args, rg_out, sizeof(rg_out));
	int n = 0;
	size_t i;

	if (!arr)
		return -1;
	for (i = 0; i < json_object_array_length(arr); i++)
		n += harness_json_u64(json_object_array_get_idx(arr, i), "id") == id;
	json_object_put(arr);
	return n;
}

/*
 * test_quarantine_full -- bug 3: with the quarantine table full, a Delete
 * that had to quarantine its extent was answered 0 and did nothing, and
 * an exited owner's anonymous extent was never freed
 *
 * space_free() could not add the range to the full table, logged "it
 * stays allocated" and returned nothing, so request_delete() told the
 * client it was deleted; the client (and everyone else) then found it
 * still there.  The exit of an anonymous extent's owner met the same
 * failure, and nothing ever tried again: the extent outlived its owner
 * (until a restart, where it failed the same way) and `check` reported
 * it.  Now the Delete fails with ENOSPC, and an ending that waits for a
 * slot is retried once one is free.
 */
static void test_quarantine_full(void)
{
	int to[2], from[2], fd, st, anon_pipe[2];
	unsigned int i, deleted = 0, refused = 0;
	uint64_t anon = 0;
	pid_t holder, owner;
	char name[32], c;
	long long end;

	fd = rg_connect();
	CU_ASSERT_FATAL(fd >= 0);
	for (i = 0; i <= RG_QSLOTS; i++) {
		snprintf(name, sizeof(name), "rg-q-%u", i);
		CU_ASSERT_EQUAL_FATAL(rg_alloc(fd, 10 + i, name, false, NULL), 0);
	}
	/* An owner of an anonymous extent. */
	CU_ASSERT_FATAL(pipe(anon_pipe) == 0);
	owner = fork();
	CU_ASSERT_FATAL(owner >= 0);
	if (owner == 0) {
		int k = rg_connect();

		if (k < 0 || rg_alloc(k, 2, "", false, &anon) != 0 ||
		    write(anon_pipe[1], &anon, sizeof(anon)) != sizeof(anon))
			_exit(1);
		pause();
		_exit(0);
	}
	CU_ASSERT_FATAL(read(anon_pipe[0], &anon, sizeof(anon)) == sizeof(anon));
	/* A holder with a lease on every one of them. */
	CU_ASSERT_FATAL(pipe(to) == 0 && pipe(from) == 0);
	holder = fork();
	CU_ASSERT_FATAL(holder >= 0);
	if (holder == 0)
		rg_holder(to[0], from[1]);
	CU_ASSERT_FATAL(write(to[1], "o", 1) == 1 && read(from[0], &c, 1) == 1);
	CU_ASSERT_FATAL(write(to[1], "i", 1) == 1 &&
			write(to[1], &anon, sizeof(anon)) == sizeof(anon) &&
			read(from[0], &c, 1) == 1);

	/* Each delete quarantines its extent, until the table is full. */
	for (i = 0; i <= RG_QSLOTS; i++) {
		snprintf(name, sizeof(name), "rg-q-%u", i);
		st = rg_delete(fd, 200 + i, name);
		if (st == 0)
			deleted++;
		else if (st == -ENOSPC)
			refused++;
		else
			CU_FAIL("Delete: neither done nor refused for room");
	}
	CU_ASSERT_EQUAL(deleted, RG_QSLOTS);
	CU_ASSERT_EQUAL(refused, 1);
	/* What was answered 0 is gone; what was refused is there. */
	CU_ASSERT_EQUAL(harness_status_u64(&rg_h, "extents"), refused + 1);
	CU_ASSERT(rg_check());

	/* The owner exits: its extent must wait for a slot, not for ever. */
	kill(owner, SIGKILL);
	waitpid(owner, &st, 0);
	usleep(100000);
	CU_ASSERT_EQUAL(rg_extent_listed(anon), 1);
	CU_ASSERT(rg_check());
	CU_ASSERT_FATAL(write(to[1], "a", 1) == 1 && read(from[0], &c, 1) == 1);
	end = harness_now_ms() + 3000;
	while ((rg_extent_listed(anon) || rg_listed("processes", owner)) &&
	       harness_now_ms() < end)
		usleep(20000);
	CU_ASSERT_EQUAL(rg_extent_listed(anon), 0);
	CU_ASSERT_EQUAL(rg_listed("processes", owner), 0);
	/* It took the freed slot: the holder still maps it. */
	CU_ASSERT_EQUAL(harness_status_u64(&rg_h, "quarantined_bytes"),
			RG_QSLOTS * RS_UNIT);
	CU_ASSERT(rg_check());

	/* The holder goes: everything is free, the refused delete works. */
	close(to[1]);
	kill(holder, SIGKILL);
	waitpid(holder, &st, 0);
	CU_ASSERT(rg_forgotten(holder));
	CU_ASSERT_EQUAL(harness_status_u64(&rg_h, "quarantined_bytes"), 0);
	snprintf(name, sizeof(name), "rg-q-%u", RG_QSLOTS);
	if (refused)
		CU_ASSERT_EQUAL(rg_delete(fd, 400, name), 0);
	CU_ASSERT_EQUAL(harness_status_u64(&rg_h, "extents"), 0);
	CU_ASSERT(rg_check());
	close(fd);
	close(to[0]);
	close(from[0]);
	close(from[1]);
	close(anon_pipe[0]);
	close(anon_pipe[1]);
}

/* rg_init -- the regression tests' daemon, on a 256 MiB pool */
static int rg_init(void)
{
	const char *args[] = { "--device", rg_h.pool, "--size", "256M", NULL };

	if (harness_init(&rg_h) < 0)
		return -1;
	/* Its pool as large as the storm's: one whose quarantine can fill. */
	args[1] = rg_h.pool;
	return harness_start(&rg_h, args) < 0 ? -1 : 0;
}

/* rg_fini -- stop it, clean up */
static int rg_fini(void)
{
	harness_stop(&rg_h, SIGTERM, NULL);
	harness_fini(&rg_h);
	return 0;
}

static const struct harness_test rg_tests[] = {
	{ "requests of a process whose exit was seen get no holds",
	  test_exit_before_requests },
	{ "a revoke's ack leaves the opens made after its break",
	  test_revoke_ack_after_reopen },
	{ "a full quarantine: Delete refused, an owner's exit retried",
	  test_quarantine_full },
	{ NULL, NULL },
};

/* main -- the regression tests, then the storm on tmpfs and on disk */
int main(void)
{
	struct harness_suite suites[4] = { { 0 } }, *s = suites;

	*s++ = (struct harness_suite){ "bugs the storm found", rg_init, rg_fini,
				       rg_tests };
	if (rs_have_shm())
		*s++ = (struct harness_suite){ "rule storm on a tmpfs pool",
					       suite_init_tmpfs, suite_fini,
					       storm_tests };
	else
		fprintf(stderr, "rule storm: no writable /dev/shm: tmpfs suite skipped\n");
	*s = (struct harness_suite){ "rule storm on a pool in TMPDIR",
				     suite_init_disk, suite_fini, storm_tests };
	return harness_main(suites);
}
