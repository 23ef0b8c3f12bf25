// SPDX-License-Identifier: Apache-2.0
/*
 * test_hold_paths.c -- the core rule's rarer paths, one directed case each
 *
 * test_hold.c checks the core rule against a model at random; what a
 * random walk through the protocol cannot reach is here: refusals at
 * every limit, out-of-memory failures of each allocation (fault.c) and a
 * journal with no room (the metadata's transaction capacity set to 0),
 * lease-break deadlines and revokes fired by hand, events to connections
 * that are not ready or cannot take them, hold_check() findings for every
 * kind of corruption, and records on the device that recovery must drop.
 *
 * The real server runs in-process (fixture.c) on a small file pool; the
 * client processes are this test (through the fixture's socketpairs) and
 * NCHILD children that only pause().  A case reaches into the daemon's
 * structures where it must (a counter, a record, a free-slot count) and
 * puts back what it changed; each ends with hold_check() and pool_check()
 * agreeing with what the case expects.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "device.h"
#include "envelope.h"
#include "fault.h"
#include "fixture.h"
#include "hold.h"
#include "idmap.h"
#include "log.h"
#include "meta.h"
#include "pidfd_shim.h"
#include "pool.h"
#include "proc.h"
#include "procid.h"
#include "quarantine.h"
#include "server.h"
#include "space.h"
#include "unit.h"
#include "wire.h"

#define KIB (1ULL << 10)
#define MIB (1ULL << 20)
#define UNIT (64 * KIB)
#define POOL_SIZE (16 * MIB)
#define NCHILD 2
#define BOGUS_ID (1ULL << 50)
#define CHILD_ARG "--paths-child"
#define CHILD_LIFE_FD 3

static struct pool *pool;
static char self_exe[PATH_MAX];
static char shm_dir[40];
static int fds_before;

static struct {
	pid_t pid;
	uint64_t start;
} child[NCHILD];

/* ---- the world: pool, server, client processes ---- */

/* child_spawn -- a client process that waits (see test_hold.c) */
static bool child_spawn(int i)
{
	pid_t parent = getpid(), pid;
	int ready[2], life[2];
	char c;

	if (pipe2(ready, O_CLOEXEC) < 0)
		return false;
	if (pipe2(life, O_CLOEXEC) < 0) {
		close(ready[0]);
		close(ready[1]);
		return false;
	}
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent || dup2(life[1], CHILD_LIFE_FD) < 0)
			_exit(127);
		execl(self_exe, "test_hold_paths", CHILD_ARG, (char *)NULL);
		_exit(127);
	}
	close(ready[1]);
	close(life[1]);
	if (pid < 0) {
		close(ready[0]);
		close(life[0]);
		return false;
	}
	pidfd_shim_child(pid, life[0]);
	while (read(ready[0], &c, 1) < 0 && errno == EINTR)
		;
	close(ready[0]);
	child[i].pid = pid;
	return procid_start_time(pid, &child[i].start) == 0;
}

/* child_kill -- end child i and reap it */
static void child_kill(int i)
{
	if (child[i].pid <= 0)
		return;
	kill(child[i].pid, SIGKILL);
	while (waitpid(child[i].pid, NULL, 0) < 0 && errno == EINTR)
		;
	pidfd_shim_forget(child[i].pid);
	child[i].pid = 0;
}

/* limits -- what the cases need of the configuration */
static void limits(void)
{
	fx.srv.limits.max_pins_per_process = 100000;
	fx.srv.limits.lease_break_time_s = 600;
}

/* world_start -- a fresh pool, the server on it, the children */
static bool world_start(void)
{
	struct device_config dc = { .path = fx.pool,
				    .size = POOL_SIZE,
				    .unit = UNIT };
	int fd, i;

	fds_before = unit_count_fds();
	fd = open(fx.pool, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)POOL_SIZE) < 0) {
		if (fd >= 0)
			close(fd);
		CU_FAIL("cannot make the pool file");
		return false;
	}
	close(fd);
	if (pool_open(&dc, POOL_FORMAT_ALWAYS, &pool) < 0) {
		CU_FAIL("cannot format the pool");
		return false;
	}
	if (fx_start(10, pool) < 0) {
		pool_close(pool, true);
		pool = NULL;
		CU_FAIL("cannot start the server");
		return false;
	}
	limits();
	for (i = 0; i < NCHILD; i++)
		if (!child_spawn(i)) {
			CU_FAIL("cannot start a client process");
			return false;
		}
	return true;
}

/* world_stop -- children, server, pool; and no descriptor left behind */
static void world_stop(void)
{
	int i;

	fault_disarm();
	for (i = 0; i < NCHILD; i++)
		child_kill(i);
	fx_stop();
	if (pool)
		pool_close(pool, true);
	pool = NULL;
	unlink(fx.pool);
	CU_ASSERT_EQUAL(unit_count_fds(), fds_before);
}

/* commit -- what the daemon does before replying: pins, then the journal */
static void commit(void)
{
	CU_ASSERT_EQUAL(hold_commit(&fx.srv), 0);
	CU_ASSERT_EQUAL(pool_commit(pool), 0);
}

/* restart -- stop the daemon and start it again on the same pool */
static bool restart(void)
{
	struct device_config dc = { .path = fx.pool };

	commit();
	fx_stop();
	pool_close(pool, true);
	pool = NULL;
	if (pool_open(&dc, POOL_FORMAT_NEVER, &pool) < 0) {
		CU_FAIL("cannot reopen the pool");
		return false;
	}
	if (fx_start(10, pool) < 0) {
		CU_FAIL("cannot restart the server");
		return false;
	}
	limits();
	return true;
}

/* cp -- the daemon's process of child i */
static struct proc *cp(int i)
{
	struct proc *p = NULL;

	CU_ASSERT_EQUAL(
		proc_get_live(&fx.srv, child[i].pid, child[i].start, &p), 0);
	return p;
}

/* self -- the daemon's process of this test */
static struct proc *self(void)
{
	struct proc *p = NULL;
	uint64_t start = 0;

	CU_ASSERT_EQUAL(procid_start_time(getpid(), &start), 0);
	CU_ASSERT_EQUAL(proc_get_live(&fx.srv, getpid(), start, &p), 0);
	return p;
}

/* ext -- a named extent of n units that p made (and holds a lease on) */
static struct extent *ext(struct proc *p, unsigned int n)
{
	static unsigned int names;
	char name[32], why[SPACE_WHY_MAX] = "";
	struct extent *e = NULL;
	struct conn c;

	memset(&c, 0, sizeof(c));
	c.srv = &fx.srv;
	c.proc = p;
	snprintf(name, sizeof(name), "x%u", names++);
	CU_ASSERT_EQUAL(
		space_alloc(&fx.srv, &c, name, n * UNIT, 0, 0666, &e, why), 0);
	if (e)
		CU_ASSERT_EQUAL(hold_lease_get(&fx.srv, p, e, false, why), 0);
	return e;
}

/* lease -- p opens e */
static int lease(struct proc *p, struct extent *e)
{
	char why[HOLD_WHY_MAX] = "";

	return hold_lease_get(&fx.srv, p, e, false, why);
}

/* pin -- p pins [off, off + len) bytes of e; the pin's id or 0 */
static uint64_t pin(struct proc *p, struct extent *e, uint64_t off,
		    uint64_t len)
{
	Daxalloc__PinRange rr, *pp = &rr;
	char why[HOLD_WHY_MAX] = "";
	uint64_t id = 0;

	daxalloc__pin_range__init(&rr);
	rr.extent_id = e->rec.id;
	rr.offset = off;
	rr.length = len;
	if (hold_pin(&fx.srv, p, &pp, 1, &id, why) < 0)
		return 0;
	return id;
}

/* unpin -- p's DMA on pin id completed */
static int unpin(struct proc *p, uint64_t id)
{
	char why[HOLD_WHY_MAX] = "";

	return hold_unpin(&fx.srv, p, &id, 1, why);
}

/* truncate_by -- p shrinks e to n units (the tail leaves it) */
static int truncate_by(struct proc *p, struct extent *e, unsigned int n)
{
	char why[SPACE_WHY_MAX] = "";
	struct conn c;

	memset(&c, 0, sizeof(c));
	c.srv = &fx.srv;
	c.proc = p;
	return space_truncate(&fx.srv, &c, e, n * UNIT, why);
}

/* ack -- p acknowledges break id */
static int ack(struct proc *p, uint64_t id)
{
	char why[HOLD_WHY_MAX] = "";

	return hold_ack(&fx.srv, p, id, why);
}

/* do_revoke -- an administrator's revoke; its result */
static int do_revoke(uint32_t pid, uint64_t extent_id, bool grace_set,
		     uint32_t grace, bool kill, bool force)
{
	Daxalloc__RevokeRequest rq = DAXALLOC__REVOKE_REQUEST__INIT;
	Daxalloc__RevokeReply out = DAXALLOC__REVOKE_REPLY__INIT;
	char why[HOLD_WHY_MAX] = "";

	rq.pid = pid;
	rq.extent_id = extent_id;
	rq.grace_set = grace_set;
	rq.grace_s = grace;
	rq.kill = kill;
	rq.force_unsafe = force;
	return hold_revoke(&fx.srv, &rq, &out, why);
}

/* first_break -- p's oldest lease break */
static struct hold_brk *first_break(struct proc *p)
{
	return p ? TAILQ_FIRST(&p->hold.breaks) : NULL;
}

/* last_break -- p's newest lease break */
static struct hold_brk *last_break(struct proc *p)
{
	struct hold_brk *b, *last = NULL;

	TAILQ_FOREACH(b, &p->hold.breaks, proc_entry)
		last = b;
	return last;
}

/* fire -- run a break's deadline now, as if it had passed */
static void fire(struct hold_brk *b)
{
	ev_feed_event(fx.srv.loop, &b->timer, EV_TIMER);
	pump();
}

/* Findings of the last check, and the last one's text. */
static char last_finding[512];

static void finding(void *arg, const char *msg)
{
	(*(unsigned int *)arg)++;
	snprintf(last_finding, sizeof(last_finding), "%s", msg);
}

/* hold_findings -- hold_check()'s findings; the last one in last_finding */
static unsigned int hold_findings(void)
{
	unsigned int n = 0;

	last_finding[0] = '\0';
	CU_ASSERT_EQUAL(hold_check(&fx.srv, finding, &n), (int)n);
	return n;
}

/* flagged -- hold_check() finds exactly one thing, about what */
static bool flagged(const char *what)
{
	unsigned int n = hold_findings();

	if (n != 1 || !strstr(last_finding, what)) {
		fprintf(stderr,
			"hold_check: %u findings, last '%s'; expected one about '%s'\n",
			n, last_finding, what);
		return false;
	}
	return true;
}

/* sound -- commit, then the rule and the tiling hold */
static bool sound(void)
{
	unsigned int n = 0;

	commit();
	if (hold_findings()) {
		fprintf(stderr, "hold_check: %s\n", last_finding);
		return false;
	}
	if (pool_check(pool, finding, &n) != 0) {
		fprintf(stderr, "pool_check: %s\n", last_finding);
		return false;
	}
	return true;
}

/* wait_gone -- turn the loop until the daemon saw pid exit */
static bool wait_gone(pid_t pid, uint64_t start)
{
	int n;

	/* Up to 10 s: the exit is seen at the next loop turn, unless loaded. */
	for (n = 0; n < 10000; n++) {
		if (!proc_lookup(&fx.srv, pid, start))
			return true;
		pump();
		usleep(1000);
	}
	return false;
}

/* pump_for -- turn the loop for ms milliseconds */
static void pump_for(unsigned int ms)
{
	unsigned int n;

	for (n = 0; n < ms; n += 5) {
		pump();
		usleep(5000);
	}
}

/* ---- refusals and limits ---- */

/* test_lease_limits -- too many opens, a full lease table */
static void test_lease_limits(void)
{
	struct hold *h = &fx.srv.holds;
	struct proc *a, *b;
	struct hold_lease *l;
	struct extent *e;
	uint64_t nfree;

	if (!world_start())
		return;
	a = cp(0);
	b = cp(1);
	e = ext(a, 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	if (!e)
		return;
	l = LIST_FIRST(&e->leases);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	if (!l)
		return;
	l->rec.count = UINT32_MAX;
	CU_ASSERT_EQUAL(lease(a, e), -EMFILE);
	l->rec.count = 1;
	/* No lease slot left: a new lease is refused, one more open is not. */
	nfree = h->nlease_free;
	h->nlease_free = 0;
	CU_ASSERT_EQUAL(lease(b, e), -ENOSPC);
	CU_ASSERT_EQUAL(lease(a, e), 0);
	h->nlease_free = nfree;
	CU_ASSERT_EQUAL(l->rec.count, 2);
	/* No memory for the lease. */
	fault_arm(FAULT_CALLOC, 0);
	CU_ASSERT_EQUAL(lease(b, e), -ENOMEM);
	fault_disarm();
	CU_ASSERT_EQUAL(b->hold.nleases, 0);
	/* A process whose exit was seen (its requests still queued). */
	b->exited = true;
	CU_ASSERT_EQUAL(lease(b, e), -ESRCH);
	b->exited = false;
	CU_ASSERT_EQUAL(lease(b, e), 0);
	b->exited = true;
	CU_ASSERT_EQUAL(pin(b, e, 0, 4096), 0);
	b->exited = false;
	CU_ASSERT_EQUAL(b->hold.npins, 0);
	CU_ASSERT(sound());
	world_stop();
}

/* test_pin_limits -- the pin table full, and the batch all or nothing */
static void test_pin_limits(void)
{
	struct hold *h = &fx.srv.holds;
	struct proc *a;
	struct extent *e;
	uint64_t nfree;

	if (!world_start())
		return;
	a = cp(0);
	e = ext(a, 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	if (!e)
		return;
	nfree = h->npin_free;
	h->npin_free = 0;
	CU_ASSERT_EQUAL(pin(a, e, 0, 4096), 0);
	h->npin_free = nfree;
	CU_ASSERT_EQUAL(h->npins, 0);
	CU_ASSERT(pin(a, e, 0, 4096) != 0);
	CU_ASSERT(sound());
	world_stop();
}

/* ---- out of memory ---- */

/* test_pin_enomem -- every allocation of a pin batch fails in turn */
static void test_pin_enomem(void)
{
	Daxalloc__PinRange rr[3], *pp[3] = { &rr[0], &rr[1], &rr[2] };
	char why[HOLD_WHY_MAX] = "";
	struct hold *h = &fx.srv.holds;
	uint64_t ids[3];
	unsigned long n;
	struct proc *a;
	struct extent *e;
	int r, k, round;

	if (!world_start())
		return;
	a = cp(0);
	e = ext(a, 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	if (!e)
		return;
	for (k = 0; k < 3; k++) {
		daxalloc__pin_range__init(&rr[k]);
		rr[k].extent_id = e->rec.id;
		rr[k].offset = (uint64_t)k * 4096;
		rr[k].length = 4096;
	}
	/*
	 * Round 0 fails the id table's growth, the first pin and the flush
	 * list's growth in turn; round 1, with both grown, each of the three
	 * pins (a later one undoes the earlier ones).
	 */
	for (round = 0; round < 2; round++) {
		for (n = 0;; n++) {
			fault_arm(FAULT_ANY, n);
			r = hold_pin(&fx.srv, a, pp, 3, ids, why);
			fault_disarm();
			if (!fault_fired())
				break;
			CU_ASSERT_EQUAL(r, -ENOMEM);
			CU_ASSERT_EQUAL(h->npins, 0);
			CU_ASSERT_EQUAL(a->hold.npins, 0);
			CU_ASSERT(sound());
		}
		CU_ASSERT_EQUAL(r, 0);
		CU_ASSERT_EQUAL(n, 3);
		CU_ASSERT_EQUAL(h->npins, 3);
		if (round == 0)
			CU_ASSERT_EQUAL(hold_unpin(&fx.srv, a, ids, 3, why), 0);
	}
	CU_ASSERT_EQUAL(h->npins, 3);
	CU_ASSERT(sound());
	world_stop();
}

/*
 * test_dirty_list -- more pin records in one turn than the flush list
 * holds: it grows, or fails to (the batch is undone; an unpin goes on
 * with its record not cleared), and records far apart flush as runs
 */
static void test_dirty_list(void)
{
	enum { N = 257 };
	Daxalloc__PinRange rr[N], *pp[N];
	char why[HOLD_WHY_MAX] = "";
	struct hold *h = &fx.srv.holds;
	struct hold_pin *pn, *lo = NULL, *hi = NULL;
	uint64_t ids[N], two[2];
	struct proc *a;
	struct extent *e;
	int k;

	if (!world_start())
		return;
	a = cp(0);
	e = ext(a, 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	if (!e)
		return;
	for (k = 0; k < N; k++) {
		daxalloc__pin_range__init(&rr[k]);
		rr[k].extent_id = e->rec.id;
		rr[k].offset = (uint64_t)(k % 32) * 4096;
		rr[k].length = 4096;
		pp[k] = &rr[k];
	}
	/* The 257th record finds the list (256) full and cannot grow it. */
	fault_arm(FAULT_REALLOC, 1);
	CU_ASSERT_EQUAL(hold_pin(&fx.srv, a, pp, N, ids, why), -ENOMEM);
	fault_disarm();
	CU_ASSERT(fault_fired());
	CU_ASSERT_EQUAL(h->npins, 0);
	CU_ASSERT(sound());
	/* It grows; then the list is filled and an unpin finds it full. */
	CU_ASSERT_EQUAL(hold_pin(&fx.srv, a, pp, N, ids, why), 0);
	CU_ASSERT(sound());
	while (h->ndirty < h->dirty_cap)
		CU_ASSERT_EQUAL_FATAL(hold_pin(&fx.srv, a, pp, 1, ids, why), 0);
	fault_arm(FAULT_REALLOC, 0);
	CU_ASSERT_EQUAL(unpin(a, ids[0]), 0);
	fault_disarm();
	CU_ASSERT(fault_fired());
	commit();
	/* Two pins whose slots lie far apart: two runs to flush. */
	TAILQ_FOREACH(pn, &a->hold.pins, proc_entry) {
		if (!lo || pn->slot < lo->slot)
			lo = pn;
		if (!hi || pn->slot > hi->slot)
			hi = pn;
	}
	CU_ASSERT_FATAL(lo && hi && hi->slot - lo->slot > 64);
	if (!lo || !hi)
		return;
	two[0] = lo->rec.id;
	two[1] = hi->rec.id;
	CU_ASSERT_EQUAL(hold_unpin(&fx.srv, a, two, 2, why), 0);
	CU_ASSERT(sound());
	world_stop();
}

/*
 * test_break_enomem -- a delete that cannot record a lease break
 *
 * The range stays quarantined, held by a break nobody can acknowledge,
 * until the daemon restarts; nothing else goes wrong.
 */
static void test_break_enomem(void)
{
	struct proc *a, *b;
	struct extent *e, *f;
	struct qrange *q;

	if (!world_start())
		return;
	a = cp(0);
	b = cp(1);
	e = ext(a, 2);
	f = ext(a, 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	if (!e)
		return;
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	if (!f)
		return;
	CU_ASSERT_EQUAL(lease(b, e), 0);
	CU_ASSERT_EQUAL(lease(b, f), 0);
	/* The quarantined range first, then the break. */
	fault_arm(FAULT_CALLOC, 1);
	space_free(&fx.srv, e, a, "test");
	fault_disarm();
	CU_ASSERT(fault_fired());
	q = TAILQ_FIRST(&pool->quarantine.ranges);
	CU_ASSERT_PTR_NOT_NULL_FATAL(q);
	if (!q)
		return;
	CU_ASSERT_EQUAL(q->nbreaks, 1);
	CU_ASSERT_EQUAL(b->hold.nbreaks, 0);
	/* The break's id cannot be entered (the id table's first growth). */
	fault_arm(FAULT_CALLOC, 2);
	space_free(&fx.srv, f, a, "test");
	fault_disarm();
	CU_ASSERT(fault_fired());
	CU_ASSERT_EQUAL(pool->quarantine.count, 2);
	CU_ASSERT_EQUAL(b->hold.nbreaks, 0);
	commit();
	/* After a restart nothing waits for those ranges any more. */
	CU_ASSERT_FATAL(restart());
	CU_ASSERT_EQUAL(pool->quarantine.count, 0);
	CU_ASSERT(sound());
	world_stop();
}

/* test_truncate_no_slot -- hold_left() when the lease table is full */
static void test_truncate_no_slot(void)
{
	struct hold *h = &fx.srv.holds;
	struct hold_detached d;
	struct proc *a, *b;
	struct qrange *q;
	struct extent *e;
	uint64_t nfree;

	if (!world_start())
		return;
	a = cp(0);
	b = cp(1);
	e = ext(a, 4);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	if (!e)
		return;
	CU_ASSERT_EQUAL(lease(b, e), 0);
	/*
	 * space_truncate() refuses when there is no slot for the breaks;
	 * hold_left() itself still copes when it finds none.
	 */
	CU_ASSERT_EQUAL_FATAL(meta_begin(pool->meta, 4096), 0);
	CU_ASSERT_EQUAL_FATAL(pool_truncate_held(pool, e->rec.id, 2 * UNIT, &q),
			      0);
	nfree = h->nlease_free;
	h->nlease_free = 0;
	hold_detach(e, &d);
	hold_left(&fx.srv, &d, q, a, HOLD_TRUNCATE);
	hold_reattach(e, &d);
	h->nlease_free = nfree;
	CU_ASSERT_EQUAL(q->nbreaks, 1);
	CU_ASSERT_EQUAL(b->hold.nbreaks, 0);
	commit();
	CU_ASSERT_FATAL(restart());
	CU_ASSERT_EQUAL(pool->quarantine.count, 0);
	CU_ASSERT(sound());
	world_stop();
}

/* test_revoke_enomem -- a revoke at each allocation failure */
static void test_revoke_enomem(void)
{
	struct proc *a;
	struct extent *e;

	if (!world_start())
		return;
	a = cp(0);
	e = ext(a, 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	if (!e)
		return;
	/* The revoke, its list of processes: refused. */
	fault_arm(FAULT_ANY, 0);
	CU_ASSERT_EQUAL(do_revoke((uint32_t)a->pid, 0, true, 600, false, false),
			-ENOMEM);
	fault_arm(FAULT_ANY, 1);
	CU_ASSERT_EQUAL(do_revoke((uint32_t)a->pid, 0, true, 600, false, false),
			-ENOMEM);
	/* A break, or its id (the id table's first growth): it goes without. */
	fault_arm(FAULT_ANY, 2);
	CU_ASSERT_EQUAL(do_revoke((uint32_t)a->pid, 0, true, 600, false, false),
			0);
	CU_ASSERT(fault_fired());
	fault_arm(FAULT_ANY, 3);
	CU_ASSERT_EQUAL(do_revoke((uint32_t)a->pid, 0, true, 600, false, false),
			0);
	CU_ASSERT(fault_fired());
	fault_disarm();
	CU_ASSERT_EQUAL(a->hold.nbreaks, 0);
	CU_ASSERT_EQUAL(do_revoke((uint32_t)a->pid, 0, false, 0, false, false),
			0);
	CU_ASSERT_EQUAL(a->hold.nbreaks, 1);
	/* Out of range. */
	CU_ASSERT_EQUAL(
		do_revoke((uint32_t)a->pid, 0, true, 8 * 86400, false, false),
		-EINVAL);
	CU_ASSERT(sound());
	world_stop();
}

/* test_pinned_bytes -- overlapping pins count once */
static void test_pinned_bytes(void)
{
	struct proc *a, *b;
	struct extent *e;

	if (!world_start())
		return;
	a = cp(0);
	b = cp(1);
	e = ext(a, 4);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	if (!e)
		return;
	CU_ASSERT_EQUAL(lease(b, e), 0);
	CU_ASSERT_EQUAL(hold_pinned_bytes(&fx.srv), 0);
	CU_ASSERT(pin(a, e, 0, 2 * UNIT) != 0);
	CU_ASSERT(pin(b, e, UNIT, 2 * UNIT) != 0);
	CU_ASSERT(pin(b, e, 0, UNIT) != 0); /* inside the first */
	CU_ASSERT(pin(a, e, UNIT / 2, 4096) != 0); /* inside both */
	CU_ASSERT_EQUAL(hold_pinned_bytes(&fx.srv), 3 * UNIT);
	fault_arm(FAULT_MALLOC, 0);
	CU_ASSERT_EQUAL(hold_pinned_bytes(&fx.srv), 0);
	fault_disarm();
	CU_ASSERT(sound());
	world_stop();
}

/* ---- a journal with no room ---- */

/*
 * test_no_journal_room -- every record stage that finds no room
 *
 * The transaction's capacity drops to 0: meta_begin() and meta_stage()
 * refuse everything.  The daemon logs each record it could not write and
 * changes memory all the same; the records on the device go stale, which
 * hold_check() then reports.  A restart reads the device again.
 */
static void test_no_journal_room(void)
{
	char why[HOLD_WHY_MAX] = "";
	struct proc *a, *b;
	struct extent *e, *f;
	struct hold_brk *br;
	struct meta *m;
	uint64_t id;
	size_t cap;

	if (!world_start())
		return;
	m = pool->meta;
	a = cp(0);
	b = cp(1);
	e = ext(a, 4);
	f = ext(a, 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	if (!e)
		return;
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	if (!f)
		return;
	CU_ASSERT_EQUAL(lease(b, e), 0);
	CU_ASSERT_EQUAL(lease(b, e), 0);
	CU_ASSERT_EQUAL(lease(b, f), 0);
	id = pin(a, e, 3 * UNIT, 4096);
	CU_ASSERT(id != 0);
	CU_ASSERT_EQUAL(truncate_by(a, e, 2), 0); /* b gets a break */
	br = first_break(b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(br);
	if (!br)
		return;
	commit();

	cap = m->txn_cap;
	m->txn_cap = 0;
	CU_ASSERT_EQUAL(hold_lease_get(&fx.srv, a, f, false, why), -E2BIG);
	hold_lease_put(&fx.srv, b, e); /* one of two opens */
	hold_lease_put(&fx.srv, b, e); /* the lease ends */
	CU_ASSERT_EQUAL(ack(b, br->rec.id), 0);
	/* The last pin goes: the range cannot leave the quarantine. */
	CU_ASSERT_EQUAL(unpin(a, id), 0);
	CU_ASSERT_EQUAL(pool->quarantine.count, 1);
	m->txn_cap = cap;
	commit();
	CU_ASSERT(hold_findings() > 0);
	CU_ASSERT_FATAL(restart());
	CU_ASSERT(sound());
	world_stop();
}

/* test_deadline_no_room -- a deadline that passes with no journal room */
static void test_deadline_no_room(void)
{
	struct proc *a, *b;
	struct extent *e;
	struct meta *m;
	size_t cap;

	if (!world_start())
		return;
	m = pool->meta;
	a = cp(0);
	b = cp(1);
	e = ext(a, 4);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	if (!e)
		return;
	CU_ASSERT_EQUAL(lease(b, e), 0);
	CU_ASSERT(pin(b, e, 0, 4096) != 0);
	CU_ASSERT_EQUAL(truncate_by(a, e, 2), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(first_break(b));
	commit();
	cap = m->txn_cap;
	m->txn_cap = 0;
	fire(first_break(b));
	m->txn_cap = cap;
	CU_ASSERT_EQUAL(b->hold.nrevoked, 3); /* lease, pin, break */
	commit();
	CU_ASSERT(hold_findings() > 0);
	CU_ASSERT_FATAL(restart());
	CU_ASSERT(sound());
	world_stop();
}

/*
 * test_slot_push_enomem -- a freed slot that cannot go back on its stack
 *
 * The stacks grow when their count is a power of two; the case poses
 * one (below the real count, so nothing is overwritten) and fails the
 * growth.  The slot leaks until the next start, as logged.
 */
static void test_slot_push_enomem(void)
{
	struct hold *h = &fx.srv.holds;
	struct proc *a, *b;
	struct extent *e;
	uint64_t n, id;

	if (!world_start())
		return;
	a = cp(0);
	b = cp(1);
	e = ext(a, 4);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	if (!e)
		return;
	CU_ASSERT_EQUAL(lease(b, e), 0);
	id = pin(a, e, 0, 4096);
	CU_ASSERT(id != 0);
	CU_ASSERT_EQUAL(truncate_by(a, e, 2), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(first_break(b));
	commit();

	n = h->npin_free;
	h->npin_free = 16;
	fault_arm(FAULT_REALLOC, 0);
	CU_ASSERT_EQUAL(unpin(a, id), 0);
	fault_disarm();
	CU_ASSERT(fault_fired());
	h->npin_free = n;

	n = h->nlease_free;
	h->nlease_free = 16;
	fault_arm(FAULT_REALLOC, 0);
	{
		struct hold_brk *br = first_break(b);

		CU_ASSERT_PTR_NOT_NULL_FATAL(br);
		if (!br)
			return;
		CU_ASSERT_EQUAL(ack(b, br->rec.id), 0);
	}
	fault_disarm();
	CU_ASSERT(fault_fired());
	h->nlease_free = 16;
	fault_arm(FAULT_REALLOC, 0);
	hold_lease_put(&fx.srv, b, e);
	fault_disarm();
	CU_ASSERT(fault_fired());
	h->nlease_free = n;
	CU_ASSERT(sound());
	world_stop();
}

/* ---- deadlines, acknowledgements, revokes ---- */

/*
 * test_ack_revoke_break -- acknowledging a revoke's break ends the lease,
 * if there still is one
 */
static void test_ack_revoke_break(void)
{
	struct proc *a, *b;
	struct extent *e, *f;
	struct hold_brk *br;

	if (!world_start())
		return;
	a = cp(0);
	b = cp(1);
	e = ext(a, 2);
	f = ext(a, 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	if (!e)
		return;
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	if (!f)
		return;
	CU_ASSERT_EQUAL(lease(b, e), 0);
	CU_ASSERT_EQUAL(lease(b, f), 0);
	/* e: its owner deletes it before b acknowledges. */
	CU_ASSERT_EQUAL(
		do_revoke((uint32_t)b->pid, e->rec.id, true, 600, false, false),
		0);
	br = first_break(b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(br);
	if (!br)
		return;
	space_free(&fx.srv, e, a, "test");
	CU_ASSERT_EQUAL(ack(b, br->rec.id), 0);
	/* f: b closed it before acknowledging. */
	CU_ASSERT_EQUAL(
		do_revoke((uint32_t)b->pid, f->rec.id, true, 600, false, false),
		0);
	br = last_break(b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(br);
	if (!br)
		return;
	CU_ASSERT_PTR_NULL(br->q);
	/* A revoke's own deadline is the revoke's, not the break's. */
	fire(br);
	CU_ASSERT_EQUAL(b->hold.nrevoked, 0);
	hold_lease_put(&fx.srv, b, f);
	/* Only that break is left on f: no target for another revoke. */
	CU_ASSERT_EQUAL(
		do_revoke((uint32_t)b->pid, f->rec.id, true, 600, false, false),
		0);
	CU_ASSERT_EQUAL(b->hold.nbreaks, 2);
	CU_ASSERT_EQUAL(ack(b, br->rec.id), 0);
	/* What is left: the break for e's range, from its delete. */
	br = first_break(b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(br);
	if (!br)
		return;
	CU_ASSERT_EQUAL(ack(b, br->rec.id), 0);
	CU_ASSERT(hold_proc_empty(&b->hold));
	CU_ASSERT(sound());
	world_stop();
}

/*
 * test_deadline_ends_revoke_break -- a missed deadline revokes the holder
 * on the extent, which ends a revoke's break pending there
 */
static void test_deadline_ends_revoke_break(void)
{
	struct proc *a, *b;
	struct hold_brk *br;
	struct extent *e;

	if (!world_start())
		return;
	a = cp(0);
	b = cp(1);
	e = ext(a, 4);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	if (!e)
		return;
	CU_ASSERT_EQUAL(lease(b, e), 0);
	CU_ASSERT_EQUAL(do_revoke((uint32_t)b->pid, 0, true, 600, false, false),
			0);
	CU_ASSERT_EQUAL(truncate_by(a, e, 2), 0);
	CU_ASSERT_EQUAL(b->hold.nbreaks, 2);
	br = last_break(b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(br);
	if (!br)
		return;
	CU_ASSERT_PTR_NOT_NULL(br->q);
	fire(br);
	/* The revoke's break is gone; the truncate's waits for the exit. */
	CU_ASSERT_EQUAL(b->hold.nbreaks, 1);
	CU_ASSERT_EQUAL(b->hold.nrevoked, 2);
	CU_ASSERT(sound());
	world_stop();
}

/*
 * test_revoke_expiry -- the grace ends: a kill that cannot be sent, a
 * process killed twice, a process already gone, two revokes pending
 */
static void test_revoke_expiry(void)
{
	struct proc *a, *b;
	struct extent *e, *f;
	uint64_t start;
	pid_t pid;
	int pidfd;

	if (!world_start())
		return;
	a = cp(0);
	b = cp(1);
	e = ext(a, 2);
	f = ext(a, 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	if (!e)
		return;
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	if (!f)
		return;
	CU_ASSERT_EQUAL(lease(b, e), 0);
	CU_ASSERT_EQUAL(lease(b, f), 0);
	/* The pidfd is bad: SIGKILL cannot be sent, b stays revoked. */
	pidfd = b->pidfd;
	b->pidfd = -1;
	CU_ASSERT_EQUAL(
		do_revoke((uint32_t)b->pid, e->rec.id, true, 0, true, false),
		0);
	pump();
	b->pidfd = pidfd;
	CU_ASSERT(!b->hold.killed);
	CU_ASSERT_EQUAL(b->hold.nrevoked, 1);
	/* Killed, and asked again before its exit is seen. */
	CU_ASSERT_EQUAL(
		do_revoke((uint32_t)b->pid, f->rec.id, true, 0, true, false),
		0);
	CU_ASSERT_EQUAL(do_revoke((uint32_t)b->pid, 0, true, 0, true, false),
			0);
	pump();
	CU_ASSERT(b->hold.killed);
	pid = child[1].pid;
	start = child[1].start;
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	pidfd_shim_forget(pid);
	child[1].pid = 0;
	CU_ASSERT(wait_gone(pid, start));
	/* a: one revoke ends after a is gone, one is pending at the stop. */
	CU_ASSERT_EQUAL(do_revoke((uint32_t)a->pid, 0, true, 1, false, false),
			0);
	CU_ASSERT_EQUAL(do_revoke((uint32_t)a->pid, 0, true, 600, false, false),
			0);
	pid = child[0].pid;
	start = child[0].start;
	child_kill(0);
	CU_ASSERT(wait_gone(pid, start));
	pump_for(1200);
	CU_ASSERT(sound());
	world_stop();
}

/* test_revoke_matches -- whom a revoke reaches */
static void test_revoke_matches(void)
{
	struct proc *a, *b;
	struct extent *e, *f;
	uint64_t eid;

	if (!world_start())
		return;
	a = cp(0);
	b = cp(1);
	e = ext(a, 2);
	f = ext(a, 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	if (!e)
		return;
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	if (!f)
		return;
	CU_ASSERT_EQUAL(lease(b, e), 0);
	/* b holds only a break on e's range once a deletes e. */
	eid = e->rec.id;
	space_free(&fx.srv, e, a, "test");
	CU_ASSERT_EQUAL(b->hold.nleases, 0);
	CU_ASSERT_EQUAL(b->hold.nbreaks, 1);
	/* Not a target for f; a target for e, with nothing to break. */
	CU_ASSERT_EQUAL(
		do_revoke((uint32_t)b->pid, f->rec.id, true, 600, false, false),
		0);
	CU_ASSERT_EQUAL(
		do_revoke((uint32_t)b->pid, eid, true, 600, false, false), 0);
	CU_ASSERT_EQUAL(b->hold.nbreaks, 1);
	/* A process whose exit was seen is no target. */
	b->exited = true;
	CU_ASSERT_EQUAL(do_revoke((uint32_t)b->pid, 0, true, 600, false, false),
			0);
	b->exited = false;
	/* b is still there after a restart, for that break alone. */
	CU_ASSERT_FATAL(restart());
	b = cp(1);
	CU_ASSERT_EQUAL(b->hold.nbreaks, 1);
	CU_ASSERT(sound());
	world_stop();
}

/* ---- events on connections ---- */

/* drain -- read and drop whatever the daemon sent on fd */
static unsigned int drain(int fd)
{
	Daxalloc__Envelope *env;
	unsigned int n = 0;
	int fds[WIRE_FDS_MAX];
	unsigned int nfds;

	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	pump();
	pump();
	while (poll(&pfd, 1, 0) > 0 &&
	       envelope_recv(fd, &env, fds, &nfds) == 0) {
		wire_close_fds(fds, nfds);
		envelope_free(env);
		n++;
	}
	return n;
}

/*
 * test_events -- breaks go to the ready connections of their process,
 * again on a new Hello (but not revoked ones), and a connection that an
 * event cannot be queued on is cut off
 */
static void test_events(void)
{
	struct proc *a, *me;
	struct extent *e, *f;
	struct conn *c;
	int c1, c2, c3;

	if (!world_start())
		return;
	a = cp(0);
	c1 = peer_hello(CONN_CLIENT, 1);
	c2 = peer_open(CONN_CLIENT); /* no Hello: not ready */
	CU_ASSERT(c1 >= 0 && c2 >= 0);
	me = self();
	CU_ASSERT_PTR_NOT_NULL_FATAL(me);
	if (!me)
		return;
	e = ext(a, 4);
	f = ext(a, 4);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	if (!e)
		return;
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	if (!f)
		return;
	CU_ASSERT_EQUAL(lease(me, e), 0);
	CU_ASSERT_EQUAL(lease(me, f), 0);
	CU_ASSERT_EQUAL(truncate_by(a, e, 2), 0);
	commit();
	CU_ASSERT_EQUAL(drain(c1), 1);
	/* A second ready connection gets the break on its Hello, c1 not. */
	c3 = peer_hello(CONN_CLIENT, 2);
	CU_ASSERT(c3 >= 0);
	CU_ASSERT_EQUAL(drain(c3), 1);
	CU_ASSERT_EQUAL(drain(c1), 0);
	/* Revoked on e: the break is not sent again. */
	fire(first_break(me));
	CU_ASSERT_EQUAL(drain(c1), 1); /* the Revoked event */
	CU_ASSERT_EQUAL(drain(c3), 1);
	CU_ASSERT_EQUAL(send_hello(c2, 3, 1, 1, 1), 0);
	CU_ASSERT(reply_is(c2, 3, 0, B(HELLO_REPLY)));
	CU_ASSERT_EQUAL(drain(c2), 0);
	/* A break that cannot be queued (no memory) cuts that connection off. */
	CU_ASSERT_EQUAL(truncate_by(a, f, 2), 0);
	commit();
	CU_ASSERT_EQUAL(drain(c1) + drain(c2) + drain(c3), 3);
	TAILQ_FOREACH(c, &fx.srv.conns, entry)
		if (c->state == CONN_READY && c->proc == me)
			break;
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	if (!c)
		return;
	fault_arm(FAULT_CALLOC, 0);
	hold_hello(&fx.srv, c);
	fault_disarm();
	CU_ASSERT(fault_fired());
	pump();
	CU_ASSERT(sound());
	world_stop();
}

/* ---- hold_check() ---- */

/* test_check_findings -- each corruption is found, then put back */
static void test_check_findings(void)
{
	struct hold *h = &fx.srv.holds;
	struct hold_lease *l;
	struct hold_pin *pn;
	struct hold_brk *br;
	struct proc *a, *b;
	struct extent *e;
	struct qrange *q;
	uint64_t v;

	if (!world_start())
		return;
	a = cp(0);
	b = cp(1);
	e = ext(a, 4);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	if (!e)
		return;
	CU_ASSERT_EQUAL(lease(b, e), 0);
	CU_ASSERT(pin(a, e, 0, 4096) != 0);
	CU_ASSERT(pin(a, e, 3 * UNIT, 4096) != 0);
	CU_ASSERT_EQUAL(truncate_by(a, e, 2), 0);
	CU_ASSERT(sound());
	pn = TAILQ_FIRST(&a->hold.pins);
	l = TAILQ_FIRST(&a->hold.leases);
	br = first_break(b);
	q = TAILQ_FIRST(&pool->quarantine.ranges);
	CU_ASSERT_FATAL(pn && l && br && q);

	/* Pins. */
	v = pn->rec.offset;
	pn->rec.offset =
		pool->meta->sb.data_offset + pool->meta->sb.data_size - 4096;
	CU_ASSERT(hold_findings() >= 2); /* covers free space, and differs */
	pn->rec.offset = v;
	v = pn->rec.extent_id;
	pn->rec.extent_id = BOGUS_ID;
	CU_ASSERT(hold_findings() >= 2); /* its extent is gone, and differs */
	pn->rec.extent_id = v;
	a->hold.npins++;
	CU_ASSERT(hold_findings() == 2); /* listed/counted, daemon counters */
	a->hold.npins--;
	/* Leases. */
	v = l->rec.extent_id;
	l->rec.extent_id = BOGUS_ID;
	CU_ASSERT(hold_findings() == 2); /* gone, and differs */
	l->rec.extent_id = v;
	l->e = NULL;
	CU_ASSERT(flagged("which is gone"));
	l->e = e;
	l->rec.count++;
	CU_ASSERT(flagged("lease slot"));
	l->rec.count--;
	a->hold.nleases++;
	CU_ASSERT(hold_findings() == 2);
	a->hold.nleases--;
	/* Breaks. */
	v = br->rec.offset;
	br->rec.offset = q->rec.offset - UNIT;
	CU_ASSERT(hold_findings() == 2); /* not on its range, and differs */
	br->rec.offset = q->rec.offset + q->rec.length;
	CU_ASSERT(hold_findings() == 2);
	br->rec.offset = v;
	b->hold.nbreaks++;
	CU_ASSERT(hold_findings() == 2);
	b->hold.nbreaks--;
	/* Processes and counters. */
	a->exited = true;
	CU_ASSERT(flagged("exited but still holds"));
	a->exited = false;
	h->npins++;
	CU_ASSERT(flagged("hold counters disagree"));
	h->npins--;
	h->nleases++;
	CU_ASSERT(flagged("hold counters disagree"));
	h->nleases--;
	h->nbreaks++;
	CU_ASSERT(flagged("hold counters disagree"));
	h->nbreaks--;
	/* The quarantined range. */
	q->npins++;
	CU_ASSERT(flagged("a recount"));
	q->npins--;
	q->nbreaks--;
	CU_ASSERT(flagged("a recount"));
	q->nbreaks++;
	v = q->npins;
	q->npins = 0;
	q->nbreaks = 0;
	CU_ASSERT(hold_findings() == 2); /* recount, waits for nothing */
	q->npins = (uint32_t)v;
	q->nbreaks = 1;
	CU_ASSERT(sound());
	world_stop();
}

/* test_no_pool -- the protocol layer alone holds nothing */
static void test_no_pool(void)
{
	unsigned int n = 0;

	fds_before = unit_count_fds();
	CU_ASSERT_EQUAL_FATAL(fx_start(10, NULL), 0);
	CU_ASSERT_EQUAL(hold_check(&fx.srv, finding, &n), 0);
	CU_ASSERT_EQUAL(hold_pinned_bytes(&fx.srv), 0);
	/* server_init() does not call it without a pool; it copes anyway. */
	CU_ASSERT_EQUAL(hold_recover(&fx.srv), 0);
	hold_fini(&fx.srv);
	fx_stop();
	CU_ASSERT_EQUAL(unit_count_fds(), fds_before);
}

/* ---- recovery ---- */

/* put_record -- write a hold record into a table slot, sealed */
static void put_record(bool pins, uint64_t slot, struct fmt_hold *rec,
		       bool seal)
{
	struct meta *m = pool->meta;
	uint64_t off = pins ? meta_pin_off(m, slot) : meta_lease_off(m, slot);

	if (seal)
		rec->checksum =
			meta_crc(rec, offsetof(struct fmt_hold, checksum));
	device_memcpy(pool->dev, m->base + off, rec, sizeof(*rec));
	device_drain(pool->dev);
}

/* rec_of -- a record of child i */
static struct fmt_hold rec_of(int i, uint64_t id, uint32_t kind,
			      uint64_t extent_id, uint64_t off, uint64_t len)
{
	struct fmt_hold r;

	memset(&r, 0, sizeof(r));
	r.id = id;
	r.extent_id = extent_id;
	r.offset = off;
	r.length = len;
	r.start_time = child[i].start;
	r.pid = (uint32_t)child[i].pid;
	r.flags = kind;
	r.count = 1;
	return r;
}

/*
 * test_recover_odd_records -- records recovery drops, and ids it must
 * stay above
 */
static void test_recover_odd_records(void)
{
	const uint64_t big = 1ULL << 45; /* above the next epochs' ids */
	struct fmt_hold r;
	struct proc *a, *b;
	struct extent *e, *f;
	uint64_t free_off, slots, pslots;
	struct qrange *q;

	if (!world_start())
		return;
	a = cp(0);
	b = cp(1);
	e = ext(a, 4);
	f = ext(a, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	if (!e)
		return;
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	if (!f)
		return;
	CU_ASSERT_EQUAL(lease(b, e), 0);
	CU_ASSERT_EQUAL(truncate_by(a, e, 2), 0); /* a quarantined range */
	commit();
	q = TAILQ_FIRST(&pool->quarantine.ranges);
	CU_ASSERT_PTR_NOT_NULL_FATAL(q);
	if (!q)
		return;
	free_off = pool->meta->sb.data_offset + pool->meta->sb.data_size - UNIT;
	slots = pool->meta->sb.lease_slots;
	pslots = pool->meta->sb.pin_slots;

	/* Lease table, from the top slots down. */
	r = rec_of(0, 900, FMT_HOLD_LEASE, BOGUS_ID, 0, 0);
	put_record(false, slots - 1, &r, true); /* extent gone */
	r = rec_of(0, 901, FMT_HOLD_BREAK, e->rec.id, free_off, UNIT);
	put_record(false, slots - 2, &r, true); /* range not quarantined */
	r = rec_of(0, 902, 7, e->rec.id, 0, 0);
	put_record(false, slots - 3, &r, true); /* unknown kind */
	r = rec_of(0, 0, FMT_HOLD_LEASE, e->rec.id, 0, 0);
	put_record(false, slots - 4, &r, true); /* id 0 */
	r = rec_of(0, 903, FMT_HOLD_LEASE, e->rec.id, 0, 0);
	put_record(false, slots - 5, &r, false); /* bad checksum */
	r = rec_of(1, big, FMT_HOLD_LEASE, f->rec.id, 0, 0);
	put_record(false, slots - 6, &r, true); /* kept: id above all */
	/* Pin table. */
	r = rec_of(0, 904, FMT_HOLD_LEASE, e->rec.id, e->rec.offset, 4096);
	put_record(true, pslots - 1, &r, true); /* not a pin */
	r = rec_of(0, 905, FMT_HOLD_PIN, e->rec.id, e->rec.offset, 0);
	put_record(true, pslots - 2, &r, true); /* empty */
	r = rec_of(0, 906, FMT_HOLD_PIN, e->rec.id, UINT64_MAX - 4095, 8192);
	put_record(true, pslots - 3, &r, true); /* wraps */
	r = rec_of(0, 907, FMT_HOLD_PIN, e->rec.id, free_off, 4096);
	put_record(true, pslots - 4, &r, true); /* free space */
	r = rec_of(0, 908, FMT_HOLD_PIN, e->rec.id, e->rec.offset, 4096);
	put_record(true, pslots - 5, &r, false); /* torn */
	r = rec_of(0, big, FMT_HOLD_PIN, e->rec.id, e->rec.offset, 4096);
	put_record(true, pslots - 6, &r, true); /* kept: id above all */

	CU_ASSERT_FATAL(restart());
	a = cp(0);
	b = cp(1);
	CU_ASSERT_EQUAL(a->hold.npins, 1);
	CU_ASSERT_EQUAL(a->hold.nleases, 2);
	CU_ASSERT_EQUAL(b->hold.nleases, 2);
	CU_ASSERT(fx.srv.holds.next_pin_id > big);
	CU_ASSERT(fx.srv.holds.next_id > big);
	CU_ASSERT(sound());
	/* Dropped records were cleared on the device: a restart keeps these. */
	CU_ASSERT_FATAL(restart());
	CU_ASSERT_EQUAL(cp(0)->hold.npins, 1);
	CU_ASSERT(sound());
	world_stop();
}

/* test_recover_other_boot -- records of an earlier boot are all dropped */
static void test_recover_other_boot(void)
{
	struct proc *a, *b;
	struct extent *e;

	if (!world_start())
		return;
	a = cp(0);
	b = cp(1);
	e = ext(a, 4);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	if (!e)
		return;
	CU_ASSERT_EQUAL(lease(b, e), 0);
	CU_ASSERT(pin(b, e, 0, 4096) != 0);
	CU_ASSERT_EQUAL(truncate_by(a, e, 2), 0);
	commit();
	pool->meta->state.hold_boot[0] ^= 1;
	pool->meta->state_dirty = true;
	CU_ASSERT_FATAL(restart());
	CU_ASSERT_EQUAL(fx.srv.holds.npins + fx.srv.holds.nleases +
				fx.srv.holds.nbreaks,
			0);
	CU_ASSERT_EQUAL(pool->quarantine.count, 0);
	CU_ASSERT(sound());
	world_stop();
}

/*
 * stop_holds -- forget the holds and processes, as a stop would
 *
 * A stop closes the pool too; here it stays, so the counts its
 * quarantined ranges keep for the core rule start again from zero.
 */
static void stop_holds(void)
{
	struct qrange *q;

	hold_fini(&fx.srv);
	proc_fini(&fx.srv);
	TAILQ_FOREACH(q, &pool->quarantine.ranges, entry)
		q->npins = q->nbreaks = 0;
}

/*
 * test_recover_enomem -- hold_recover() at each allocation failure
 *
 * Called directly on the running server (hold_fini() and proc_fini()
 * first), so that a failed attempt is cleaned up by hold_fini() as
 * server_fini() would.
 */
static void test_recover_enomem(void)
{
	struct proc *a, *b;
	struct extent *e;
	unsigned long n;
	uint64_t held;
	int r;

	if (!world_start())
		return;
	a = cp(0);
	b = cp(1);
	e = ext(a, 4);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	if (!e)
		return;
	CU_ASSERT_EQUAL(lease(b, e), 0);
	CU_ASSERT(pin(a, e, 0, 4096) != 0);
	CU_ASSERT(pin(b, e, 3 * UNIT, 4096) != 0);
	CU_ASSERT_EQUAL(truncate_by(a, e, 2), 0);
	commit();
	held = fx.srv.holds.npins + fx.srv.holds.nleases + fx.srv.holds.nbreaks;
	for (n = 0;; n++) {
		stop_holds();
		fault_arm(FAULT_ANY, n);
		r = hold_recover(&fx.srv);
		fault_disarm();
		if (!fault_fired())
			break;
		CU_ASSERT_EQUAL(r, -ENOMEM);
	}
	CU_ASSERT_EQUAL(r, 0);
	CU_ASSERT(n >= 10);
	CU_ASSERT_EQUAL(fx.srv.holds.npins + fx.srv.holds.nleases +
				fx.srv.holds.nbreaks,
			held);
	CU_ASSERT(sound());
	world_stop();
}

/*
 * test_recover_no_room -- recovery that cannot drop or commit
 *
 * A dropped lease record needs journal room; with none, the drop is
 * skipped (the record stays for the next start) and the commit of the
 * new epoch fails, which fails the start.
 */
static void test_recover_no_room(void)
{
	struct fmt_hold r;
	struct extent *e;
	struct meta *m;
	size_t cap;

	if (!world_start())
		return;
	e = ext(cp(0), 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	if (!e)
		return;
	commit();
	m = pool->meta;
	r = rec_of(0, 900, FMT_HOLD_LEASE, BOGUS_ID, 0, 0);
	put_record(false, m->sb.lease_slots - 1, &r, true);
	stop_holds();
	cap = m->txn_cap;
	m->txn_cap = 0;
	CU_ASSERT(hold_recover(&fx.srv) < 0);
	m->txn_cap = cap;
	stop_holds();
	m->txn_bytes = 0;
	m->txn_entries = 0;
	CU_ASSERT_EQUAL(hold_recover(&fx.srv), 0);
	CU_ASSERT(sound());
	world_stop();
}

/*
 * test_fini_with_holds -- a stop with pins on a live extent, a revoke's
 * break and two revokes pending
 */
static void test_fini_with_holds(void)
{
	struct proc *a, *b;
	struct extent *e;

	if (!world_start())
		return;
	a = cp(0);
	b = cp(1);
	e = ext(a, 4);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	if (!e)
		return;
	CU_ASSERT_EQUAL(lease(b, e), 0);
	CU_ASSERT(pin(a, e, 0, 4096) != 0);
	CU_ASSERT(pin(a, e, UNIT, 4096) != 0);
	CU_ASSERT(pin(b, e, 0, 4096) != 0);
	CU_ASSERT_EQUAL(do_revoke((uint32_t)b->pid, 0, true, 600, false, false),
			0);
	CU_ASSERT_EQUAL(do_revoke((uint32_t)a->pid, 0, true, 600, false, false),
			0);
	CU_ASSERT(sound());
	world_stop();
}

/* Where the pool file lives: tmpfs when there is one, commits are msyncs. */
static int paths_init(void)
{
	if (fx_init() < 0)
		return -1;
	strcpy(shm_dir, "/dev/shm/test_hold_paths.XXXXXX");
	if (mkdtemp(shm_dir))
		snprintf(fx.pool, sizeof(fx.pool), "%s/pool.img", shm_dir);
	else
		shm_dir[0] = 0;
	return 0;
}

static int paths_cleanup(void)
{
	unlink(fx.pool);
	if (shm_dir[0] && rmdir(shm_dir) < 0)
		return -1;
	return fx_cleanup();
}

static const struct unit_test tests[] = {
	{ "lease limits", test_lease_limits },
	{ "pin limits", test_pin_limits },
	{ "pin batch out of memory", test_pin_enomem },
	{ "the flush list grows, or fails to", test_dirty_list },
	{ "a break that cannot be recorded", test_break_enomem },
	{ "a truncate with no lease slot", test_truncate_no_slot },
	{ "revoke out of memory", test_revoke_enomem },
	{ "pinned bytes", test_pinned_bytes },
	{ "no journal room", test_no_journal_room },
	{ "a deadline with no journal room", test_deadline_no_room },
	{ "a freed slot that cannot be stacked", test_slot_push_enomem },
	{ "acknowledging a revoke's break", test_ack_revoke_break },
	{ "a deadline ends a revoke's break", test_deadline_ends_revoke_break },
	{ "revoke expiry", test_revoke_expiry },
	{ "whom a revoke matches", test_revoke_matches },
	{ "events on connections", test_events },
	{ "hold_check findings", test_check_findings },
	{ "no pool", test_no_pool },
	{ "recovery drops odd records", test_recover_odd_records },
	{ "recovery in another boot", test_recover_other_boot },
	{ "recovery out of memory", test_recover_enomem },
	{ "recovery without journal room", test_recover_no_room },
	{ "a stop with holds and revokes", test_fini_with_holds },
	{ NULL, NULL },
};

/* child_main -- a client process of the test: it lives until killed */
static int child_main(void)
{
	long fd, max = sysconf(_SC_OPEN_MAX);

	for (fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
		if (fd != CHILD_LIFE_FD)
			close((int)fd);
	for (;;)
		pause();
	return 0;
}

int main(int argc, char **argv)
{
	ssize_t n;

	if (argc == 2 && !strcmp(argv[1], CHILD_ARG))
		return child_main();
	/* /proc/self/exe names valgrind's tool under valgrind (test_hold.c). */
	n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	if (n <= 0)
		return 2;
	self_exe[n] = '\0';
	log_init(getenv("TEST_HOLD_DEBUG") ? LOG_DEBUG : LOG_ALERT);
	return unit_main("hold_paths", paths_init, paths_cleanup, NULL, NULL,
			 tests);
}
