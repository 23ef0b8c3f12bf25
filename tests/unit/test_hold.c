// SPDX-License-Identifier: Apache-2.0
/*
 * test_hold.c -- the core rule against a reference model, at random
 *
 * The real server (fixture.c) on a small file pool, and NPROC child
 * processes that only pause(): the daemon tracks them through pidfds as it
 * tracks its clients.  Each step does one random operation on the daemon
 * (alloc, open, close, pin, unpin, truncate, delete, acknowledge a lease
 * break, a process exit, an administrator's revoke, a loop turn that fires
 * deadlines, a daemon restart) and the same on a small model that states
 * the core rule directly: a range leaving an extent goes to the quarantine
 * when a pin overlaps it or another process holds a lease on the extent,
 * and becomes free exactly when no pin overlaps it and each of its lease
 * breaks was acknowledged or ended with its process.  After every step the
 * daemon's holds, extents and quarantine must equal the model's, and the
 * daemon's own checks must find nothing.
 *
 * By default seeds 1, 2 and 3 run 1000 steps each.  TEST_HOLD_SEED runs
 * one seed instead ("random": one from the clock), TEST_HOLD_STEPS sets the
 * steps per seed; TEST_HOLD_DEBUG shows the daemon's log.  A failure
 * prints the seed, the step and the model's state.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "alloc.h"
#include "device.h"
#include "fixture.h"
#include "hold.h"
#include "idmap.h"
#include "log.h"
#include "pidfd_shim.h"
#include "pool.h"
#include "proc.h"
#include "procid.h"
#include "quarantine.h"
#include "server.h"
#include "space.h"
#include "unit.h"

#define KIB (1ULL << 10)
#define MIB (1ULL << 20)

#define NPROC 4 /* client processes alive at any time */
#define UNIT (64 * KIB) /* the pool's allocation unit */
#define POOL_SIZE (12 * MIB)
#define PIN_LIMIT 8 /* max_pins_per_process, small enough to reach */
#define EXT_MAX 40
#define PIN_MAX (NPROC * PIN_LIMIT)
#define BRK_MAX 1024
#define Q_MAX 256
#define REL_MAX 32 /* ranges recently freed from the quarantine */
#define BATCH_MAX (PIN_LIMIT + 4)
#define BOGUS_ID (1ULL << 50) /* no pin, break or extent has such an id */
#define FAIL_MAX 20 /* messages printed per run */
#define CHILD_ARG "--client-child"
/* The child's end of its life pipe (pidfd_shim.h), kept across the exec. */
#define CHILD_LIFE_FD 3

/* The default run: these seeds, this many steps each. */
static const uint64_t default_seeds[] = { 1, 2, 3 };
#define DEFAULT_STEPS 1000

/* A process's lease on one extent. */
struct m_lease {
	uint32_t count; /* opens; 0: no lease */
	bool rdonly;
	bool revoked;
};

struct m_ext {
	uint64_t id, off, len;
	int owner; /* anonymous: the owning slot; -1: named */
	struct m_lease lease[NPROC];
};

struct m_pin {
	uint64_t id, ext, off, len; /* off: on the device */
	int proc;
	bool revoked;
};

struct m_brk {
	uint64_t id, ext, off, len; /* quarantined range (isq) */
	int proc;
	bool isq; /* holds a quarantined range; else a revoke's break */
	bool revoked;
	bool due; /* its deadline passes at the next loop turn */
};

struct m_range {
	uint64_t off, len;
};

/* One client process: a child of ours. */
struct m_slot {
	pid_t pid;
	uint64_t start;
};

/* The administrator's revoke waiting for its (zero) grace to end. */
struct m_revoke {
	bool pending;
	uint64_t ext; /* 0: every extent */
	bool force, kill;
	bool target[NPROC];
};

struct m_stats {
	unsigned long allocs, enospc, pins, pin_errors, unpins, unpin_errors;
	unsigned long acks, ack_errors, truncates, deletes, exits, kills;
	unsigned long revokes, forced, timeouts, restarts, downtime_deaths;
	unsigned long quarantined, freed_direct, released, reused, breaks;
	unsigned long pin_ids_again, break_ids_again; /* given out twice */
};

static struct model {
	struct m_slot slot[NPROC];
	struct m_ext ext[EXT_MAX];
	unsigned int next;
	struct m_pin pin[PIN_MAX];
	unsigned int npin;
	struct m_brk brk[BRK_MAX];
	unsigned int nbrk;
	struct m_brk exp[BRK_MAX]; /* breaks the daemon must have sent */
	unsigned int nexp;
	struct m_range q[Q_MAX];
	unsigned int nq;
	struct m_range rel[REL_MAX]; /* ring of ranges freed lately */
	unsigned int nrel, relpos;
	struct m_revoke rv;
	bool killed[NPROC];
	uint64_t data_off, data_end;
	uint64_t names, max_ext_id, max_pin_id, max_brk_id;
	uint64_t restart_ms; /* CLOCK_REALTIME just before the last restart */
	bool check_deadlines;

	uint64_t seed, rng;
	unsigned int step;
	const char *op;
	unsigned int nfail;
	bool failed;
	struct m_stats st;
} m;

static struct pool *pool;

/*
 * This program, for the clients to exec: /proc/self/exe names valgrind's
 * tool, not the program, when the test runs under valgrind; readlink()
 * of it, which valgrind answers, names the program.
 */
static char self_exe[PATH_MAX];

/* ---- the run's randomness and its failures ---- */

/* rnd64 -- splitmix64 (Steele, Lea, Flood): the run follows from the seed */
static uint64_t rnd64(void)
{
	uint64_t z = (m.rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rnd(uint64_t n)
{
	return n ? rnd64() % n : 0;
}

static bool chance(unsigned int pct)
{
	return rnd(100) < pct;
}

/* m_dump -- the model's state, for the first failure of a run */
static void m_dump(void)
{
	unsigned int k;
	int i;

	fprintf(stderr, "\nmodel: data area %#llx..%#llx\n",
		(unsigned long long)m.data_off, (unsigned long long)m.data_end);
	for (k = 0; k < m.next; k++) {
		fprintf(stderr, "  extent %llu %#llx+%#llx owner %d leases",
			(unsigned long long)m.ext[k].id,
			(unsigned long long)m.ext[k].off,
			(unsigned long long)m.ext[k].len, m.ext[k].owner);
		for (i = 0; i < NPROC; i++)
			if (m.ext[k].lease[i].count)
				fprintf(stderr, " %d:%u%s", i,
					m.ext[k].lease[i].count,
					m.ext[k].lease[i].revoked ? "R" : "");
		fprintf(stderr, "\n");
	}
	for (k = 0; k < m.nq; k++)
		fprintf(stderr, "  quarantined %#llx+%#llx\n",
			(unsigned long long)m.q[k].off,
			(unsigned long long)m.q[k].len);
	for (k = 0; k < m.npin; k++)
		fprintf(stderr,
			"  pin %llu slot %d extent %llu %#llx+%#llx%s\n",
			(unsigned long long)m.pin[k].id, m.pin[k].proc,
			(unsigned long long)m.pin[k].ext,
			(unsigned long long)m.pin[k].off,
			(unsigned long long)m.pin[k].len,
			m.pin[k].revoked ? " revoked" : "");
	for (k = 0; k < m.nbrk; k++)
		fprintf(stderr,
			"  break %llu slot %d extent %llu %#llx+%#llx%s%s%s\n",
			(unsigned long long)m.brk[k].id, m.brk[k].proc,
			(unsigned long long)m.brk[k].ext,
			(unsigned long long)m.brk[k].off,
			(unsigned long long)m.brk[k].len,
			m.brk[k].isq ? "" : " revoke",
			m.brk[k].revoked ? " revoked" : "",
			m.brk[k].due ? " due" : "");
	for (i = 0; i < NPROC; i++)
		fprintf(stderr, "  slot %d: pid %d%s\n", i, (int)m.slot[i].pid,
			m.rv.target[i] ? " (revoke target)" : "");
}

/* mfail -- the daemon disagrees with the model: say where, and stop */
static void __attribute__((format(printf, 2, 3)))
mfail(int line, const char *fmt, ...)
{
	va_list ap;

	if (m.nfail++ < FAIL_MAX) {
		fprintf(stderr,
			"\ntest_hold: seed %llu step %u (%s), line %d: ",
			(unsigned long long)m.seed, m.step, m.op ? m.op : "-",
			line);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
	}
	if (!m.failed) {
		m_dump();
		CU_FAIL("the daemon disagrees with the model (see stderr)");
	}
	m.failed = true;
}

#define MCHECK(cond, ...)                             \
	do {                                          \
		if (!(cond))                          \
			mfail(__LINE__, __VA_ARGS__); \
	} while (0)

/* finding -- one finding of the daemon's own checks is a failure */
static void finding(void *arg, const char *msg)
{
	(*(int *)arg)++;
	mfail(0, "check: %s", msg);
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- the model's lookups ---- */

static struct m_ext *m_find_ext(uint64_t id)
{
	unsigned int k;

	for (k = 0; k < m.next; k++)
		if (m.ext[k].id == id)
			return &m.ext[k];
	return NULL;
}

static struct m_pin *m_find_pin(uint64_t id)
{
	unsigned int k;

	for (k = 0; k < m.npin; k++)
		if (m.pin[k].id == id)
			return &m.pin[k];
	return NULL;
}

static struct m_brk *m_find_brk(uint64_t id)
{
	unsigned int k;

	for (k = 0; k < m.nbrk; k++)
		if (m.brk[k].id == id)
			return &m.brk[k];
	return NULL;
}

static unsigned int m_npins(int i)
{
	unsigned int k, n = 0;

	for (k = 0; k < m.npin; k++)
		n += m.pin[k].proc == i;
	return n;
}

/* m_occupied -- is any byte of [off, off + len) in an extent or quarantined? */
static bool m_occupied(uint64_t off, uint64_t len)
{
	unsigned int k;

	for (k = 0; k < m.next; k++)
		if (overlaps(off, len, m.ext[k].off, m.ext[k].len))
			return true;
	for (k = 0; k < m.nq; k++)
		if (overlaps(off, len, m.q[k].off, m.q[k].len))
			return true;
	return false;
}

/* m_is_free -- is [off, off + len) free space of the data area? */
static bool m_is_free(uint64_t off, uint64_t len)
{
	return off >= m.data_off && len <= m.data_end - off &&
	       !m_occupied(off, len);
}

static int m_range_cmp(const void *a, const void *b)
{
	const struct m_range *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/* m_fits -- has free space a run of len bytes (unit-aligned, as all is)? */
static bool m_fits(uint64_t len)
{
	struct m_range r[EXT_MAX + Q_MAX];
	uint64_t at = m.data_off;
	unsigned int n = 0, k;

	for (k = 0; k < m.next; k++)
		r[n++] = (struct m_range){ m.ext[k].off, m.ext[k].len };
	for (k = 0; k < m.nq; k++)
		r[n++] = m.q[k];
	qsort(r, n, sizeof(*r), m_range_cmp);
	for (k = 0; k < n; k++) {
		if (r[k].off - at >= len)
			return true;
		at = r[k].off + r[k].len;
	}
	return m.data_end - at >= len;
}

/* m_has -- does slot i hold anything on extent ext (0: anything)? */
static bool m_has(int i, uint64_t ext)
{
	unsigned int k;

	for (k = 0; k < m.next; k++)
		if ((!ext || m.ext[k].id == ext) && m.ext[k].lease[i].count)
			return true;
	for (k = 0; k < m.npin; k++)
		if (m.pin[k].proc == i && (!ext || m.pin[k].ext == ext))
			return true;
	for (k = 0; k < m.nbrk; k++)
		if (m.brk[k].proc == i && m.brk[k].isq &&
		    (!ext || m.brk[k].ext == ext))
			return true;
	return false;
}

/* ---- the rule, as the model states it ---- */

/*
 * m_leave -- [off, off + len) leaves extent k, by caller (-1: the daemon)
 *
 * Quarantined when a pin overlaps it or another process leases the
 * extent; each other lease holder gets a break, a revoked one a break
 * already revoked.  del: the extent ends (and its leases); else its tail.
 */
static void m_leave(int caller, unsigned int k, uint64_t off, uint64_t len,
		    bool del, bool grace0)
{
	struct m_ext *x = &m.ext[k];
	bool held = false;
	unsigned int j;
	int i;

	for (j = 0; j < m.npin; j++)
		if (overlaps(m.pin[j].off, m.pin[j].len, off, len))
			held = true;
	for (i = 0; i < NPROC; i++)
		if (i != caller && x->lease[i].count)
			held = true;
	if (held) {
		MCHECK(m.nq < Q_MAX, "model: quarantine full");
		if (m.nq < Q_MAX)
			m.q[m.nq++] = (struct m_range){ off, len };
		for (i = 0; i < NPROC; i++) {
			struct m_brk *b;

			if (i == caller || !x->lease[i].count ||
			    m.nexp == BRK_MAX)
				continue;
			b = &m.exp[m.nexp++];
			memset(b, 0, sizeof(*b));
			b->ext = x->id;
			b->off = off;
			b->len = len;
			b->proc = i;
			b->isq = true;
			b->revoked = x->lease[i].revoked;
			b->due = grace0 && !b->revoked;
			m.st.breaks++;
		}
		m.st.quarantined++;
	} else {
		m.st.freed_direct++;
	}
	if (del)
		m.ext[k] = m.ext[--m.next];
	else
		x->len = off - x->off;
}

/* m_revoke_ext -- slot i's holds on ext (0: all) are revoked */
static void m_revoke_ext(int i, uint64_t ext)
{
	unsigned int k;

	for (k = 0; k < m.next; k++)
		if ((!ext || m.ext[k].id == ext) && m.ext[k].lease[i].count)
			m.ext[k].lease[i].revoked = true;
	for (k = 0; k < m.npin; k++)
		if (m.pin[k].proc == i && (!ext || m.pin[k].ext == ext))
			m.pin[k].revoked = true;
	for (k = 0; k < m.nbrk;) {
		struct m_brk *b = &m.brk[k];

		if (b->proc != i || (ext && b->ext != ext) || b->revoked) {
			k++;
		} else if (!b->isq) {
			/* A revoke's own break: the lease it asked for is revoked. */
			*b = m.brk[--m.nbrk];
		} else {
			b->revoked = true;
			b->due = false;
			k++;
		}
	}
}

/* m_end_revoked -- force unsafe: slot i's revoked holds on ext end */
static void m_end_revoked(int i, uint64_t ext)
{
	unsigned int k;

	for (k = 0; k < m.npin;) {
		if (m.pin[k].proc == i && m.pin[k].revoked &&
		    (!ext || m.pin[k].ext == ext))
			m.pin[k] = m.pin[--m.npin];
		else
			k++;
	}
	for (k = 0; k < m.nbrk;) {
		if (m.brk[k].proc == i && m.brk[k].revoked &&
		    (!ext || m.brk[k].ext == ext))
			m.brk[k] = m.brk[--m.nbrk];
		else
			k++;
	}
	for (k = 0; k < m.next; k++) {
		struct m_lease *l = &m.ext[k].lease[i];

		if (l->revoked && (!ext || m.ext[k].id == ext))
			memset(l, 0, sizeof(*l));
	}
}

/* m_exit -- slot i exited: its holds end, then its anonymous extents */
static void m_exit(int i, bool grace0)
{
	unsigned int k;

	for (k = 0; k < m.npin;)
		if (m.pin[k].proc == i)
			m.pin[k] = m.pin[--m.npin];
		else
			k++;
	for (k = 0; k < m.nbrk;)
		if (m.brk[k].proc == i)
			m.brk[k] = m.brk[--m.nbrk];
		else
			k++;
	for (k = 0; k < m.nexp;)
		if (m.exp[k].proc == i)
			m.exp[k] = m.exp[--m.nexp];
		else
			k++;
	for (k = 0; k < m.next; k++)
		memset(&m.ext[k].lease[i], 0, sizeof(m.ext[k].lease[i]));
	for (k = 0; k < m.next;)
		if (m.ext[k].owner == i)
			m_leave(i, k, m.ext[k].off, m.ext[k].len, true, grace0);
		else
			k++;
	m.rv.target[i] = false;
	m.killed[i] = false;
}

/*
 * m_pump -- one loop turn: the pending revoke's grace ends, or the
 * deadlines of breaks sent with a zero lease-break time pass
 *
 * The ops never let both be due in one turn (their order is libev's).
 */
static void m_pump(void)
{
	unsigned int k;
	int i;

	if (m.rv.pending) {
		m.rv.pending = false;
		for (i = 0; i < NPROC; i++) {
			if (!m.rv.target[i])
				continue;
			for (k = 0; k < m.nbrk;)
				if (m.brk[k].proc == i && !m.brk[k].isq)
					m.brk[k] = m.brk[--m.nbrk];
				else
					k++;
			if (!m_has(i, m.rv.ext))
				continue;
			m_revoke_ext(i, m.rv.ext);
			if (m.rv.force) {
				m_end_revoked(i, m.rv.ext);
				m.st.forced++;
			} else if (m.rv.kill) {
				m.killed[i] = true;
			}
		}
		memset(&m.rv, 0, sizeof(m.rv));
	}
	/* Each timeout revokes its holder's holds on that extent, due or not. */
	for (;;) {
		for (k = 0; k < m.nbrk && !m.brk[k].due; k++)
			;
		if (k == m.nbrk)
			break;
		m_revoke_ext(m.brk[k].proc, m.brk[k].ext);
		m.st.timeouts++;
	}
}

static bool m_any_due(void)
{
	unsigned int k;

	for (k = 0; k < m.nbrk; k++)
		if (m.brk[k].due)
			return true;
	return false;
}

/* m_q_waits -- does quarantined range q still wait for a pin or a break? */
static bool m_q_waits(const struct m_range *q)
{
	unsigned int k;

	for (k = 0; k < m.npin; k++)
		if (overlaps(m.pin[k].off, m.pin[k].len, q->off, q->len))
			return true;
	for (k = 0; k < m.nbrk; k++)
		if (m.brk[k].isq && m.brk[k].off == q->off)
			return true;
	for (k = 0; k < m.nexp; k++)
		if (m.exp[k].isq && m.exp[k].off == q->off)
			return true;
	return false;
}

/* m_release -- quarantined ranges that wait for nothing are free */
static void m_release(void)
{
	unsigned int k = 0;

	while (k < m.nq) {
		if (m_q_waits(&m.q[k])) {
			k++;
			continue;
		}
		/* What left the quarantine is free space again, and now. */
		MCHECK(alloc_is_free(pool->alloc, m.q[k].off, m.q[k].len),
		       "range %#llx+%#llx left the quarantine but is not free",
		       (unsigned long long)m.q[k].off,
		       (unsigned long long)m.q[k].len);
		m.rel[m.relpos] = m.q[k];
		m.relpos = (m.relpos + 1) % REL_MAX;
		if (m.nrel < REL_MAX)
			m.nrel++;
		m.st.released++;
		m.q[k] = m.q[--m.nq];
	}
}

/* ---- the daemon's side ---- */

/* d_proc -- the daemon's process of slot i (tracked from now on) */
static struct proc *d_proc(int i)
{
	struct proc *p = NULL;
	int r;

	r = proc_get_live(&fx.srv, m.slot[i].pid, m.slot[i].start, &p);
	MCHECK(r == 0, "proc_get_live(slot %d, pid %d): %d", i,
	       (int)m.slot[i].pid, r);
	return r == 0 ? p : NULL;
}

static struct proc *d_lookup(int i)
{
	return proc_lookup(&fx.srv, m.slot[i].pid, m.slot[i].start);
}

/* d_slot -- the slot of a process the daemon tracks, or -1 */
static int d_slot(const struct proc *p)
{
	int i;

	for (i = 0; i < NPROC; i++)
		if (m.slot[i].pid == p->pid && m.slot[i].start == p->start_time)
			return i;
	return -1;
}

static struct extent *d_ext(const struct m_ext *x)
{
	struct extent *e = pool_find(pool, x->id);

	MCHECK(e, "extent %llu is missing", (unsigned long long)x->id);
	return e;
}

/* d_limits -- what the test needs of the configuration */
static void d_limits(void)
{
	fx.srv.limits.max_pins_per_process = PIN_LIMIT;
}

/*
 * child_spawn -- a new client process in slot i: it only waits
 *
 * It execs this program again (see main()): a forked child would keep
 * the pool's mapping, and with it the open file that holds the pool's
 * flock, so the daemon could not open the pool again at a restart.  The
 * parent waits for the exec (the close-on-exec pipe reaches its end).
 * The child also keeps the only write end of a second pipe, whose read
 * end stands in for its pidfd where there are none (pidfd_shim.h).
 */
static void child_spawn(int i)
{
	pid_t parent = getpid(), pid;
	uint64_t start = 0;
	int ready[2], life[2];
	char c;

	if (pipe2(ready, O_CLOEXEC) < 0) {
		MCHECK(false, "pipe: %s", strerror(errno));
		return;
	}
	if (pipe2(life, O_CLOEXEC) < 0) {
		MCHECK(false, "pipe: %s", strerror(errno));
		close(ready[0]);
		close(ready[1]);
		return;
	}
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		/* dup2() clears close-on-exec on the copy. */
		if (dup2(life[1], CHILD_LIFE_FD) < 0)
			_exit(127);
		execl(self_exe, "test_hold", CHILD_ARG, (char *)NULL);
		_exit(127);
	}
	close(ready[1]);
	close(life[1]);
	if (pid > 0)
		pidfd_shim_child(pid, life[0]);
	else
		close(life[0]);
	MCHECK(pid > 0, "fork: %s", strerror(errno));
	while (pid > 0 && read(ready[0], &c, 1) < 0 && errno == EINTR)
		;
	close(ready[0]);
	MCHECK(pid > 0 && waitpid(pid, NULL, WNOHANG) == 0,
	       "client process %d did not start", (int)pid);
	if (pid > 0 && procid_start_time(pid, &start) < 0)
		MCHECK(false, "start time of pid %d", (int)pid);
	m.slot[i].pid = pid;
	m.slot[i].start = start;
}

/* child_reap -- wait for slot i's process, which was killed */
static void child_reap(int i)
{
	int status;

	/* libev's SIGCHLD handler may have reaped it first: ECHILD. */
	while (waitpid(m.slot[i].pid, &status, 0) < 0 && errno == EINTR)
		;
	pidfd_shim_forget(m.slot[i].pid);
}

/* d_wait_gone -- turn the loop until the daemon saw slot i's exit */
static void d_wait_gone(int i)
{
	int n;

	for (n = 0; n < 2000 && d_lookup(i); n++) {
		pump();
		if (d_lookup(i))
			usleep(1000);
	}
	MCHECK(!d_lookup(i), "the daemon did not see pid %d exit",
	       (int)m.slot[i].pid);
}

/* ---- discovery and comparison ---- */

/*
 * m_discover -- give the breaks the model expects the ids the daemon chose
 *
 * Every break the model does not know must be one it expects, sent to
 * the same process for the same extent and range; and every expected one
 * must have been sent.
 */
static void m_discover(void)
{
	/* Breaks of one step are found in list order, not id order. */
	uint64_t floor = m.max_brk_id;
	struct proc *p;
	unsigned int k;

	TAILQ_FOREACH(p, &fx.srv.procs, entry) {
		struct hold_brk *b;
		int i = d_slot(p);

		TAILQ_FOREACH(b, &p->hold.breaks, proc_entry) {
			if (m_find_brk(b->rec.id))
				continue;
			for (k = 0; k < m.nexp; k++) {
				struct m_brk *x = &m.exp[k];

				if (x->proc == i &&
				    x->ext == b->rec.extent_id &&
				    x->isq == (b->q != NULL) &&
				    (!x->isq || (x->off == b->rec.offset &&
						 x->len == b->rec.length)))
					break;
			}
			MCHECK(k < m.nexp,
			       "unexpected lease break %llu to slot %d on extent %llu (%#llx+%#llx)",
			       (unsigned long long)b->rec.id, i,
			       (unsigned long long)b->rec.extent_id,
			       (unsigned long long)b->rec.offset,
			       (unsigned long long)b->rec.length);
			if (k == m.nexp || m.nbrk == BRK_MAX)
				continue;
			m.exp[k].id = b->rec.id;
			if (b->rec.id <= floor)
				m.st.break_ids_again++;
			else if (b->rec.id > m.max_brk_id)
				m.max_brk_id = b->rec.id;
			m.brk[m.nbrk++] = m.exp[k];
			m.exp[k] = m.exp[--m.nexp];
		}
	}
	for (k = 0; k < m.nexp; k++)
		MCHECK(false,
		       "no lease break to slot %d on extent %llu (%#llx+%#llx)",
		       m.exp[k].proc, (unsigned long long)m.exp[k].ext,
		       (unsigned long long)m.exp[k].off,
		       (unsigned long long)m.exp[k].len);
	m.nexp = 0;
}

/* m_not_free -- no unit of [off, off + len) may be free space */
static void m_not_free(const char *what, uint64_t id, uint64_t off,
		       uint64_t len)
{
	uint64_t u;

	for (u = off / UNIT * UNIT; u < off + len; u += UNIT)
		MCHECK(!alloc_is_free(pool->alloc, u, UNIT),
		       "CORE RULE: %s %llu covers free unit %#llx", what,
		       (unsigned long long)id, (unsigned long long)u);
}

/* m_compare_proc -- the holds of one process the daemon tracks */
static void m_compare_proc(struct proc *p)
{
	const struct hold_lease *l;
	const struct hold_pin *pin;
	const struct hold_brk *b;
	unsigned int n = 0, k, revoked = 0;
	int i = d_slot(p);

	MCHECK(i >= 0, "the daemon tracks pid %d, which is no client",
	       (int)p->pid);
	MCHECK(!p->exited, "the daemon keeps exited pid %d", (int)p->pid);
	if (i < 0)
		return;
	MCHECK(!p->hold.killed || m.killed[i], "slot %d was killed", i);
	TAILQ_FOREACH(l, &p->hold.leases, proc_entry) {
		struct m_ext *x = m_find_ext(l->rec.extent_id);

		n++;
		MCHECK(x && x->lease[i].count == l->rec.count &&
			       x->lease[i].revoked ==
				       !!(l->rec.flags & FMT_HOLD_REVOKED) &&
			       x->lease[i].rdonly ==
				       !!(l->rec.flags & FMT_HOLD_RDONLY),
		       "slot %d: lease on extent %llu: count %u flags %#x; model %u%s%s",
		       i, (unsigned long long)l->rec.extent_id, l->rec.count,
		       l->rec.flags, x ? x->lease[i].count : 0,
		       x && x->lease[i].revoked ? " revoked" : "",
		       x && x->lease[i].rdonly ? " rdonly" : "");
	}
	for (k = 0; k < m.next; k++)
		if (m.ext[k].lease[i].count) {
			n--;
			revoked += m.ext[k].lease[i].revoked;
		}
	MCHECK(n == 0, "slot %d: %u leases, the model %u", i, p->hold.nleases,
	       p->hold.nleases - n);
	n = 0;
	TAILQ_FOREACH(pin, &p->hold.pins, proc_entry) {
		struct m_pin *x = m_find_pin(pin->rec.id);

		n++;
		MCHECK(x && x->proc == i && x->ext == pin->rec.extent_id &&
			       x->off == pin->rec.offset &&
			       x->len == pin->rec.length &&
			       x->revoked ==
				       !!(pin->rec.flags & FMT_HOLD_REVOKED),
		       "slot %d: pin %llu (%#llx+%#llx, flags %#x) unlike the model's",
		       i, (unsigned long long)pin->rec.id,
		       (unsigned long long)pin->rec.offset,
		       (unsigned long long)pin->rec.length, pin->rec.flags);
		MCHECK(idmap_get(&fx.srv.holds.pins, pin->rec.id) == pin,
		       "pin %llu is not in the id table",
		       (unsigned long long)pin->rec.id);
	}
	for (k = 0; k < m.npin; k++)
		if (m.pin[k].proc == i) {
			n--;
			revoked += m.pin[k].revoked;
		}
	MCHECK(n == 0, "slot %d: %u pins, the model %u", i, p->hold.npins,
	       p->hold.npins - n);
	n = 0;
	TAILQ_FOREACH(b, &p->hold.breaks, proc_entry) {
		struct m_brk *x = m_find_brk(b->rec.id);
		bool rvk = b->rec.flags & FMT_HOLD_REVOKED;

		n++;
		MCHECK(x && x->proc == i && x->ext == b->rec.extent_id &&
			       x->isq == (b->q != NULL) && x->revoked == rvk &&
			       (!x->isq || (x->off == b->rec.offset &&
					    x->len == b->rec.length &&
					    b->q->rec.offset == x->off)),
		       "slot %d: lease break %llu (extent %llu, %#llx+%#llx, flags %#x, %s) unlike the model's",
		       i, (unsigned long long)b->rec.id,
		       (unsigned long long)b->rec.extent_id,
		       (unsigned long long)b->rec.offset,
		       (unsigned long long)b->rec.length, b->rec.flags,
		       b->q ? "quarantined" : "revoke");
		/* Waiting for its deadline exactly when it may still be acked. */
		MCHECK(!!ev_is_active(&b->timer) == (b->q && !rvk),
		       "lease break %llu: deadline timer %s",
		       (unsigned long long)b->rec.id,
		       ev_is_active(&b->timer) ? "running" : "stopped");
		if (m.check_deadlines && b->q && !rvk)
			MCHECK(b->deadline_ms >=
				       m.restart_ms +
					       fx.srv.limits.lease_break_time_s *
						       1000ULL,
			       "lease break %llu: no fresh deadline after the restart",
			       (unsigned long long)b->rec.id);
	}
	for (k = 0; k < m.nbrk; k++)
		if (m.brk[k].proc == i) {
			n--;
			revoked += m.brk[k].revoked;
		}
	MCHECK(n == 0, "slot %d: %u lease breaks, the model %u", i,
	       p->hold.nbreaks, p->hold.nbreaks - n);
	MCHECK(p->hold.nrevoked == revoked,
	       "slot %d: %u revoked holds, the model %u", i, p->hold.nrevoked,
	       revoked);
}

/*
 * m_compare -- the daemon equals the model, and its checks find nothing
 */
static void m_compare(void)
{
	uint64_t used = 0, qbytes = 0;
	const struct qrange *r;
	struct pool_stats st;
	struct proc *p;
	unsigned int k, n;
	int findings = 0, i;

	MCHECK(hold_check(&fx.srv, finding, &findings) == 0, "hold_check");
	MCHECK(pool_check(pool, finding, &findings) == 0, "pool_check");
	MCHECK(space_check(&fx.srv, finding, &findings) == 0, "space_check");

	for (k = 0; k < m.next; k++) {
		const struct m_ext *x = &m.ext[k];
		struct extent *e = pool_find(pool, x->id);

		used += x->len;
		MCHECK(e && e->rec.offset == x->off && e->rec.length == x->len,
		       "extent %llu: %#llx+%#llx, the model %#llx+%#llx",
		       (unsigned long long)x->id,
		       (unsigned long long)(e ? e->rec.offset : 0),
		       (unsigned long long)(e ? e->rec.length : 0),
		       (unsigned long long)x->off, (unsigned long long)x->len);
		if (!e)
			continue;
		MCHECK(!!(e->rec.flags & FMT_EXTENT_ANONYMOUS) ==
			       (x->owner >= 0),
		       "extent %llu: anonymous or not",
		       (unsigned long long)x->id);
		MCHECK(e->owner == (x->owner >= 0 ? (void *)d_lookup(x->owner) :
						    NULL),
		       "extent %llu: not owned by slot %d",
		       (unsigned long long)x->id, x->owner);
	}
	for (k = 0; k < m.nq; k++)
		qbytes += m.q[k].len;
	pool_get_stats(pool, &st);
	MCHECK(st.extents == m.next && st.used_bytes == used,
	       "%llu extents of %llu bytes, the model %u of %llu",
	       (unsigned long long)st.extents,
	       (unsigned long long)st.used_bytes, m.next,
	       (unsigned long long)used);
	MCHECK(st.quarantined_ranges == m.nq && st.quarantined_bytes == qbytes,
	       "%llu ranges of %llu bytes quarantined, the model %u of %llu",
	       (unsigned long long)st.quarantined_ranges,
	       (unsigned long long)st.quarantined_bytes, m.nq,
	       (unsigned long long)qbytes);
	MCHECK(st.free_bytes == st.data_size - used - qbytes - st.bad_bytes,
	       "%llu bytes free, not %llu - %llu - %llu - %llu",
	       (unsigned long long)st.free_bytes,
	       (unsigned long long)st.data_size, (unsigned long long)used,
	       (unsigned long long)qbytes, (unsigned long long)st.bad_bytes);
	/* The quarantine, exactly: nothing freed early, nothing late. */
	n = 0;
	TAILQ_FOREACH(r, &pool->quarantine.ranges, entry) {
		n++;
		for (k = 0; k < m.nq; k++)
			if (m.q[k].off == r->rec.offset &&
			    m.q[k].len == r->rec.length)
				break;
		MCHECK(k < m.nq,
		       "range %#llx+%#llx is quarantined, not in the model (pins %u, breaks %u)",
		       (unsigned long long)r->rec.offset,
		       (unsigned long long)r->rec.length, r->npins, r->nbreaks);
	}
	/* Each daemon range is the model's, the model's are distinct. */
	MCHECK(n == m.nq, "%u ranges quarantined, the model %u", n, m.nq);

	TAILQ_FOREACH(p, &fx.srv.procs, entry)
		m_compare_proc(p);
	for (k = 0, n = 0; k < m.next; k++)
		for (i = 0; i < NPROC; i++)
			n += m.ext[k].lease[i].count > 0;
	MCHECK(fx.srv.holds.npins == m.npin && fx.srv.holds.nbreaks == m.nbrk &&
		       fx.srv.holds.nleases == n,
	       "%llu pins, %llu breaks, %llu leases; the model %u, %u, %u",
	       (unsigned long long)fx.srv.holds.npins,
	       (unsigned long long)fx.srv.holds.nbreaks,
	       (unsigned long long)fx.srv.holds.nleases, m.npin, m.nbrk, n);
	/* Whoever holds anything is watched. */
	for (i = 0; i < NPROC; i++) {
		bool any = m_has(i, 0);

		for (k = 0; k < m.next; k++)
			any |= m.ext[k].owner == i;
		for (k = 0; k < m.nbrk; k++)
			any |= m.brk[k].proc == i;
		MCHECK(!any || d_lookup(i), "slot %d holds, the daemon lost it",
		       i);
	}

	/* The core rule, against the allocator's own free space. */
	for (k = 0; k < m.npin; k++)
		m_not_free("pin", m.pin[k].id, m.pin[k].off, m.pin[k].len);
	for (k = 0; k < m.nbrk; k++)
		if (m.brk[k].isq)
			m_not_free("lease break", m.brk[k].id, m.brk[k].off,
				   m.brk[k].len);
	for (k = 0; k < m.next; k++)
		m_not_free("extent", m.ext[k].id, m.ext[k].off, m.ext[k].len);
	for (k = 0; k < m.nq; k++)
		m_not_free("quarantined range at", m.q[k].off, m.q[k].off,
			   m.q[k].len);
}

/* ---- the operations ---- */

static int pick_slot(void)
{
	return (int)rnd(NPROC);
}

/* pick_holder -- mostly a slot with what an operation needs, if any */
static int pick_holder(bool (*has)(int))
{
	int i, n = 0, idx[NPROC];

	for (i = 0; i < NPROC; i++)
		if (has(i))
			idx[n++] = i;
	return n && chance(85) ? idx[rnd(n)] : pick_slot();
}

static bool has_lease(int i)
{
	unsigned int k;

	for (k = 0; k < m.next; k++)
		if (m.ext[k].lease[i].count && !m.ext[k].lease[i].revoked)
			return true;
	return false;
}

static bool has_pin(int i)
{
	unsigned int k;

	for (k = 0; k < m.npin; k++)
		if (m.pin[k].proc == i && !m.pin[k].revoked)
			return true;
	return false;
}

static bool has_break(int i)
{
	unsigned int k;

	for (k = 0; k < m.nbrk; k++)
		if (m.brk[k].proc == i)
			return true;
	return false;
}

/* pick_ext -- a random extent; with pct% chance one that slot i leases */
static struct m_ext *pick_ext(int i, unsigned int pct)
{
	unsigned int k, n = 0, idx[EXT_MAX];

	if (!m.next)
		return NULL;
	if (i >= 0 && chance(pct)) {
		for (k = 0; k < m.next; k++)
			if (m.ext[k].lease[i].count &&
			    !m.ext[k].lease[i].revoked)
				idx[n++] = k;
		if (n)
			return &m.ext[idx[rnd(n)]];
	}
	return &m.ext[rnd(m.next)];
}

/* m_ack -- slot b->proc acknowledged break b */
static void m_ack(struct m_brk *b)
{
	struct m_ext *x;

	/* A revoke's break: giving the lease up is what was asked. */
	if (!b->isq) {
		x = m_find_ext(b->ext);
		if (x && x->lease[b->proc].count && !x->lease[b->proc].revoked)
			memset(&x->lease[b->proc], 0,
			       sizeof(x->lease[b->proc]));
	}
	*b = m.brk[--m.nbrk];
}

/*
 * op_tick -- a loop turn: the deadlines that passed fire
 *
 * The processes a revoke killed are then waited for, as their exit is
 * what frees their memory, and replaced.
 */
static void op_tick(void)
{
	int i;

	m_pump();
	pump();
	pump();
	for (i = 0; i < NPROC; i++) {
		if (!m.killed[i])
			continue;
		m.st.kills++;
		d_wait_gone(i);
		child_reap(i);
		m_exit(i, false);
		child_spawn(i);
	}
	/* Called inside other operations too: the model is current after. */
	m_discover();
	m_release();
}

static void op_alloc(void)
{
	uint64_t units = 1 + rnd(8), len = units * UNIT, size = len - rnd(UNIT);
	char name[32] = "", why[SPACE_WHY_MAX] = "";
	int i = pick_slot(), r;
	struct extent *e = NULL;
	struct m_ext *x;
	struct conn c;
	unsigned int k;
	bool fits;

	if (m.next == EXT_MAX)
		return;
	if (chance(60))
		snprintf(name, sizeof(name), "x%llu",
			 (unsigned long long)++m.names);
	fits = m_fits(len);
	memset(&c, 0, sizeof(c));
	c.srv = &fx.srv;
	c.proc = d_proc(i);
	if (!c.proc)
		return;
	r = space_alloc(&fx.srv, &c, name, size, 0, 0600, &e, why);
	m.st.allocs++;
	if (!fits) {
		MCHECK(r == -ENOSPC,
		       "alloc of %llu bytes: %d, the model has no room",
		       (unsigned long long)len, r);
		m.st.enospc++;
		return;
	}
	MCHECK(r == 0, "alloc of %llu bytes: %d (%s)", (unsigned long long)len,
	       r, why);
	if (r)
		return;
	MCHECK(e->rec.length == len && m_is_free(e->rec.offset, len),
	       "extent %llu at %#llx+%#llx: not on free space",
	       (unsigned long long)e->rec.id, (unsigned long long)e->rec.offset,
	       (unsigned long long)e->rec.length);
	MCHECK(e->rec.id > m.max_ext_id, "extent id %llu reused",
	       (unsigned long long)e->rec.id);
	m.max_ext_id = e->rec.id;
	for (k = 0; k < m.nrel; k++)
		if (overlaps(e->rec.offset, len, m.rel[k].off, m.rel[k].len)) {
			m.st.reused++;
			break;
		}
	x = &m.ext[m.next++];
	memset(x, 0, sizeof(*x));
	x->id = e->rec.id;
	x->off = e->rec.offset;
	x->len = len;
	x->owner = name[0] ? -1 : i;
	/* As request_alloc(): the caller maps it, so it holds a lease. */
	r = hold_lease_get(&fx.srv, c.proc, e, false, why);
	MCHECK(r == 0, "lease on a new extent: %d (%s)", r, why);
	x->lease[i].count = 1;
}

static void op_open(void)
{
	char why[HOLD_WHY_MAX] = "";
	int i = pick_slot(), r;
	bool rdonly = chance(30);
	struct m_ext *x = pick_ext(i, 30);
	struct m_lease *l;
	struct extent *e;
	struct proc *p;

	if (!x)
		return;
	e = d_ext(x);
	p = d_proc(i);
	if (!e || !p)
		return;
	r = hold_lease_get(&fx.srv, p, e, rdonly, why);
	l = &x->lease[i];
	if (l->revoked) {
		MCHECK(r == -EPERM, "open of a revoked extent: %d", r);
		return;
	}
	MCHECK(r == 0, "open: %d (%s)", r, why);
	if (!l->count)
		l->rdonly = rdonly;
	else if (!rdonly)
		l->rdonly = false;
	l->count++;
}

static void op_close(void)
{
	int i = pick_slot();
	struct m_ext *x = pick_ext(i, 80);
	struct m_lease *l;
	struct extent *e;
	struct proc *p;

	if (!x)
		return;
	e = d_ext(x);
	p = d_proc(i);
	if (!e || !p)
		return;
	hold_lease_put(&fx.srv, p, e);
	/* A revoked lease stays until the exit; no lease: nothing to do. */
	l = &x->lease[i];
	if (l->count && !l->revoked && !--l->count)
		l->rdonly = false;
}

/* op_truncate -- shrink (the tail leaves) or grow in place */
static void op_truncate(void)
{
	unsigned int saved = fx.srv.limits.lease_break_time_s;
	char why[SPACE_WHY_MAX] = "";
	bool grace0 = chance(15);
	uint64_t cur, nu, nlen, size;
	int i = pick_slot(), r, r0 = 0;
	struct extent *e;
	struct m_ext *x;
	struct conn c;

	if (grace0 && m.rv.pending)
		op_tick();
	x = pick_ext(-1, 0);
	if (!x)
		return;
	cur = x->len / UNIT;
	nu = cur > 1 && chance(70) ? 1 + rnd(cur - 1) : 1 + rnd(cur + 3);
	nlen = nu * UNIT;
	size = nlen - rnd(UNIT);
	memset(&c, 0, sizeof(c));
	c.srv = &fx.srv;
	c.proc = d_proc(i);
	e = d_ext(x);
	if (!e || !c.proc)
		return;
	if (nlen < x->len)
		m_leave(i, (unsigned int)(x - m.ext), x->off + nlen,
			x->len - nlen, false, grace0);
	else if (nlen > x->len && m_is_free(x->off + x->len, nlen - x->len))
		x->len = nlen;
	else if (nlen > x->len)
		r0 = -ENOSPC;
	/* A zero lease-break time: the new breaks' deadlines pass at once. */
	if (grace0)
		fx.srv.limits.lease_break_time_s = 0;
	r = space_truncate(&fx.srv, &c, e, size, why);
	fx.srv.limits.lease_break_time_s = saved;
	MCHECK(r == r0,
	       "truncate of extent %llu to %llu bytes: %d (%s), the model %d",
	       (unsigned long long)e->rec.id, (unsigned long long)size, r, why,
	       r0);
	m.st.truncates++;
}

static void op_delete(void)
{
	unsigned int saved = fx.srv.limits.lease_break_time_s;
	bool grace0 = chance(15);
	int i = pick_slot();
	struct extent *e;
	struct m_ext *x;
	struct proc *p;

	if (grace0 && m.rv.pending)
		op_tick();
	x = pick_ext(-1, 0);
	if (!x)
		return;
	e = d_ext(x);
	p = d_proc(i);
	if (!e || !p)
		return;
	m_leave(i, (unsigned int)(x - m.ext), x->off, x->len, true, grace0);
	if (grace0)
		fx.srv.limits.lease_break_time_s = 0;
	space_free(&fx.srv, e, p, "deleted by the test");
	fx.srv.limits.lease_break_time_s = saved;
	m.st.deletes++;
}

/* pin_range -- a range inside x: whole units, any bytes, or up to a unit end */
static void pin_range(const struct m_ext *x, Daxalloc__PinRange *pr)
{
	uint64_t nu = x->len / UNIT, a, b;

	pr->extent_id = x->id;
	switch (rnd(3)) {
	case 0:
		a = rnd(nu);
		b = a + 1 + rnd(nu - a);
		pr->offset = a * UNIT;
		pr->length = (b - a) * UNIT;
		break;
	case 1:
		pr->offset = rnd(x->len);
		pr->length = 1 + rnd(x->len - pr->offset);
		break;
	default:
		/* Ends exactly where a truncate may cut: overlaps no tail. */
		b = (1 + rnd(nu)) * UNIT;
		pr->length = 1 + rnd(b < 2 * UNIT ? b : 2 * UNIT);
		pr->offset = b - pr->length;
		break;
	}
}

/* bad_range -- a range that hold_pin() must refuse, usually */
static void bad_range(int i, Daxalloc__PinRange *pr)
{
	struct m_ext *x = pick_ext(-1, 0);
	unsigned int k, n;

	switch (x ? rnd(6) : 0) {
	case 0:
		pr->extent_id = BOGUS_ID + rnd(1000);
		pr->offset = 0;
		pr->length = UNIT;
		break;
	case 1:
		pin_range(x, pr);
		pr->length = 0;
		break;
	case 2:
		pin_range(x, pr);
		pr->offset = x->len + rnd(UNIT);
		pr->length = 1;
		break;
	case 3:
		pin_range(x, pr);
		pr->length = x->len - pr->offset + 1 + rnd(UNIT);
		break;
	case 4:
		pr->extent_id = x->id;
		pr->offset = UNIT;
		pr->length = UINT64_MAX - rnd(UNIT);
		break;
	default:
		/* An extent i does not lease, or whose lease was revoked. */
		for (k = 0, n = (unsigned int)rnd(m.next); k < m.next; k++) {
			struct m_ext *y = &m.ext[(n + k) % m.next];

			if (!y->lease[i].count || y->lease[i].revoked) {
				x = y;
				break;
			}
		}
		pin_range(x, pr);
		break;
	}
}

/* m_pin_expect -- what hold_pin() answers, in its order of checks */
static int m_pin_expect(int i, const Daxalloc__PinRange *rr, unsigned int n)
{
	unsigned int k;

	if (!n)
		return -EINVAL;
	if (m_npins(i) + n > PIN_LIMIT)
		return -EDQUOT;
	for (k = 0; k < n; k++) {
		const struct m_ext *x = m_find_ext(rr[k].extent_id);

		if (!x)
			return -ENOENT;
		if (!rr[k].length || rr[k].offset > x->len ||
		    rr[k].length > x->len - rr[k].offset)
			return -EINVAL;
		if (!x->lease[i].count || x->lease[i].revoked)
			return -EPERM;
	}
	return 0;
}

static void op_pin(void)
{
	Daxalloc__PinRange rr[BATCH_MAX], *pp[BATCH_MAX];
	uint64_t ids[BATCH_MAX];
	char why[HOLD_WHY_MAX] = "";
	int i = pick_holder(has_lease), r, r0;
	unsigned int n, k, have = m_npins(i), mode = (unsigned int)rnd(100);
	struct m_ext *x;
	struct proc *p;

	n = chance(75) ? 1 : 2 + (unsigned int)rnd(3);
	if (mode < 10)
		n = PIN_LIMIT - (have < PIN_LIMIT ? have : PIN_LIMIT) + 1 +
		    (unsigned int)rnd(2);
	else if (mode < 12)
		n = 0;
	for (k = 0; k < n; k++) {
		daxalloc__pin_range__init(&rr[k]);
		x = pick_ext(i, 95);
		if (x)
			pin_range(x, &rr[k]);
		else
			bad_range(i, &rr[k]);
		pp[k] = &rr[k];
	}
	if (mode >= 75 && n)
		bad_range(i, &rr[rnd(n)]);
	r0 = m_pin_expect(i, rr, n);
	p = d_proc(i);
	if (!p)
		return;
	r = hold_pin(&fx.srv, p, pp, n, ids, why);
	MCHECK(r == r0, "pin of %u ranges by slot %d: %d (%s), the model %d", n,
	       i, r, why, r0);
	if (r || r0) {
		m.st.pin_errors++;
		return;
	}
	m.st.pins++;
	for (k = 0; k < n; k++) {
		struct m_pin *pin = &m.pin[m.npin];

		x = m_find_ext(rr[k].extent_id);
		MCHECK(ids[k] && !m_find_pin(ids[k]), "pin id %llu given twice",
		       (unsigned long long)ids[k]);
		if (m.npin == PIN_MAX)
			break;
		m.npin++;
		pin->id = ids[k];
		pin->ext = x->id;
		pin->off = x->off + rr[k].offset;
		pin->len = rr[k].length;
		pin->proc = i;
		pin->revoked = false;
		if (ids[k] <= m.max_pin_id)
			m.st.pin_ids_again++;
		else
			m.max_pin_id = ids[k];
	}
}

/* m_unpin_expect -- what hold_unpin() answers, in its order of checks */
static int m_unpin_expect(int i, const uint64_t *ids, unsigned int n)
{
	unsigned int k, j;

	if (!n)
		return -EINVAL;
	for (k = 0; k < n; k++) {
		const struct m_pin *x = m_find_pin(ids[k]);

		if (!x)
			return -ENOENT;
		if (x->proc != i || x->revoked)
			return -EPERM;
		for (j = 0; j < k; j++)
			if (ids[j] == ids[k])
				return -EINVAL;
	}
	return 0;
}

/* pick_pin -- the id of a pin of slot i (or of another: other), revoked or not */
static uint64_t pick_pin(int i, bool other, bool revoked)
{
	unsigned int k, n = 0, idx[PIN_MAX];

	for (k = 0; k < m.npin; k++)
		if ((m.pin[k].proc == i) != other &&
		    m.pin[k].revoked == revoked)
			idx[n++] = k;
	return n ? m.pin[idx[rnd(n)]].id : BOGUS_ID + rnd(1000);
}

static void op_unpin(void)
{
	char why[HOLD_WHY_MAX] = "";
	unsigned int n = chance(70) ? 1 : 2 + (unsigned int)rnd(2), k;
	int i = pick_holder(has_pin), r, r0;
	uint64_t ids[4];
	struct proc *p;

	if (chance(3))
		n = 0;
	for (k = 0; k < n; k++)
		ids[k] = pick_pin(i, false, false);
	if (n && chance(25)) {
		k = (unsigned int)rnd(n);
		switch (rnd(4)) {
		case 0:
			ids[k] = BOGUS_ID + rnd(1000);
			break;
		case 1:
			ids[k] = pick_pin(i, true, chance(50));
			break;
		case 2:
			ids[k] = pick_pin(i, false, true);
			break;
		default:
			if (k)
				ids[k] = ids[rnd(k)];
			break;
		}
	}
	r0 = m_unpin_expect(i, ids, n);
	p = d_proc(i);
	if (!p)
		return;
	r = hold_unpin(&fx.srv, p, ids, n, why);
	MCHECK(r == r0,
	       "unpin of %u pins (first %llu) by slot %d: %d (%s), the model %d",
	       n, (unsigned long long)(n ? ids[0] : 0), i, r, why, r0);
	if (r || r0) {
		m.st.unpin_errors++;
		return;
	}
	m.st.unpins++;
	for (k = 0; k < n; k++) {
		struct m_pin *x = m_find_pin(ids[k]);

		if (x)
			*x = m.pin[--m.npin];
	}
}

/* do_ack -- slot i acknowledges break id; the model says how that ends */
static void do_ack(int i, uint64_t id)
{
	char why[HOLD_WHY_MAX] = "";
	struct m_brk *b = m_find_brk(id);
	struct proc *p = d_proc(i);
	int r, r0;

	if (!b || b->proc != i)
		r0 = -ENOENT;
	else if (b->revoked)
		r0 = -ETIMEDOUT;
	else
		r0 = 0;
	if (!p)
		return;
	r = hold_ack(&fx.srv, p, id, why);
	MCHECK(r == r0,
	       "ack of lease break %llu by slot %d: %d (%s), the model %d",
	       (unsigned long long)id, i, r, why, r0);
	if (r || r0) {
		m.st.ack_errors++;
		return;
	}
	m.st.acks++;
	m_ack(b);
}

static void op_ack(void)
{
	unsigned int k, n = 0, mine[BRK_MAX];
	int i = pick_holder(has_break);
	uint64_t id;

	for (k = 0; k < m.nbrk; k++)
		if (m.brk[k].proc == i)
			mine[n++] = k;
	if (n && chance(80))
		id = m.brk[mine[rnd(n)]].id;
	else if (m.nbrk && chance(50))
		id = m.brk[rnd(m.nbrk)].id; /* most likely another's */
	else
		id = BOGUS_ID + rnd(1000); /* never sent */
	do_ack(i, id);
}

/* op_exit -- a client process dies; a new one takes its slot */
static void op_exit(void)
{
	unsigned int saved = fx.srv.limits.lease_break_time_s;
	bool grace0 = chance(20);
	int i;

	/* Nothing else may be due in the loop turn that sees the exit. */
	op_tick();
	i = pick_slot();
	MCHECK(kill(m.slot[i].pid, SIGKILL) == 0, "kill %d: %s",
	       (int)m.slot[i].pid, strerror(errno));
	child_reap(i);
	if (grace0)
		fx.srv.limits.lease_break_time_s = 0;
	d_wait_gone(i);
	fx.srv.limits.lease_break_time_s = saved;
	m_exit(i, grace0);
	child_spawn(i);
	m.st.exits++;
}

/*
 * op_revoke -- an administrator's revoke with no grace
 *
 * Its breaks are sent at once; some are acknowledged before the grace
 * ends, at this step's loop turn or at a later one.
 */
static void op_revoke(void)
{
	Daxalloc__RevokeRequest rq = DAXALLOC__REVOKE_REQUEST__INIT;
	Daxalloc__RevokeReply out = DAXALLOC__REVOKE_REPLY__INIT;
	unsigned int mode, nproc = 0, nbrk = 0, k, n;
	uint64_t acks[BRK_MAX];
	char why[HOLD_WHY_MAX] = "";
	bool bad = false;
	struct m_ext *x;
	int i, r;

	if (m.rv.pending || m_any_due())
		op_tick();
	mode = (unsigned int)rnd(100);
	rq.grace_set = true;
	rq.force_unsafe = chance(25);
	rq.kill = !rq.force_unsafe && chance(15);
	if (mode < 35 || (mode >= 55 && mode < 70))
		rq.pid = (uint32_t)m.slot[pick_slot()].pid;
	if (mode >= 35 && mode < 70) {
		x = pick_ext(-1, 0);
		/* Sometimes an extent that is gone, still held by pins. */
		if ((!x || chance(30)) && m.npin)
			rq.extent_id = m.pin[rnd(m.npin)].ext;
		else
			rq.extent_id = x ? x->id : BOGUS_ID;
	} else if (mode >= 70 && mode < 85) {
		rq.by_uid = true;
		rq.uid = geteuid();
	} else if (mode >= 85 && mode < 90) {
		rq.by_uid = true;
		rq.uid = geteuid() + 1;
	} else if (mode >= 90 && mode < 93) {
		rq.pid = 0x7ffffff0; /* nobody */
	} else if (mode >= 93 && mode < 96) {
		bad = true; /* no criterion */
	} else if (mode >= 96 && mode < 98) {
		rq.pid = (uint32_t)m.slot[0].pid;
		rq.kill = rq.force_unsafe = bad = true;
	} else if (mode >= 98) {
		rq.pid = (uint32_t)m.slot[0].pid;
		rq.grace_s = 8 * 86400;
		bad = true;
	}
	r = hold_revoke(&fx.srv, &rq, &out, why);
	if (bad) {
		MCHECK(r == -EINVAL, "a bad revoke: %d", r);
		return;
	}
	MCHECK(r == 0, "revoke: %d (%s)", r, why);
	if (r)
		return;
	m.rv.pending = true;
	m.rv.ext = rq.extent_id;
	m.rv.force = rq.force_unsafe;
	m.rv.kill = rq.kill;
	for (i = 0; i < NPROC; i++) {
		if ((rq.pid && (uint32_t)m.slot[i].pid != rq.pid) ||
		    (rq.by_uid && rq.uid != geteuid()) ||
		    !m_has(i, rq.extent_id))
			continue;
		m.rv.target[i] = true;
		nproc++;
		for (k = 0; k < m.next; k++) {
			struct m_lease *l = &m.ext[k].lease[i];
			struct m_brk *b;

			if ((rq.extent_id && m.ext[k].id != rq.extent_id) ||
			    !l->count || l->revoked)
				continue;
			b = &m.exp[m.nexp++];
			memset(b, 0, sizeof(*b));
			b->ext = m.ext[k].id;
			b->proc = i;
			nbrk++;
		}
	}
	MCHECK(out.processes == nproc && out.breaks == nbrk,
	       "revoke: %u processes and %u breaks, the model %u and %u",
	       out.processes, out.breaks, nproc, nbrk);
	m.st.revokes++;
	m_discover();
	for (k = 0, n = 0; k < m.nbrk; k++)
		if (!m.brk[k].isq && chance(30))
			acks[n++] = m.brk[k].id;
	for (k = 0; k < n; k++) {
		struct m_brk *b = m_find_brk(acks[k]);

		if (b)
			do_ack(b->proc, acks[k]);
	}
	if (chance(70))
		op_tick();
}

/*
 * op_restart -- the daemon stops and starts again on the same pool
 *
 * Sometimes a client dies while it is down: its records are dropped at
 * the start, and its anonymous extents leave as at an exit.
 */
static void op_restart(void)
{
	struct device_config dc = { .path = fx.pool,
				    .size = POOL_SIZE,
				    .unit = UNIT };
	int dead = chance(40) ? pick_slot() : -1, r;
	unsigned int k;

	hold_commit(&fx.srv);
	pool_commit(pool);
	fx_stop();
	pool_close(pool, true);
	pool = NULL;
	if (dead >= 0) {
		kill(m.slot[dead].pid, SIGKILL);
		child_reap(dead);
		m.st.downtime_deaths++;
	}
	m.restart_ms = now_ms();
	r = pool_open(&dc, POOL_FORMAT_NEVER, &pool);
	MCHECK(r == 0, "reopening the pool: %d", r);
	if (r) {
		pool = NULL;
		return;
	}
	r = fx_start(10, pool);
	MCHECK(r == 0, "restarting the server: %d", r);
	if (r)
		return;
	d_limits();
	m.st.restarts++;
	/* A revoke's grace and its breaks do not outlive the daemon. */
	memset(&m.rv, 0, sizeof(m.rv));
	for (k = 0; k < m.nbrk;) {
		if (!m.brk[k].isq) {
			m.brk[k] = m.brk[--m.nbrk];
		} else {
			m.brk[k].due =
				false; /* a full lease-break time again */
			k++;
		}
	}
	if (dead >= 0) {
		m_exit(dead, false);
		child_spawn(dead);
	}
	m.check_deadlines = true;
}

static const struct m_op {
	const char *name;
	unsigned int weight;
	void (*fn)(void);
} ops[] = {
	{ "alloc", 14, op_alloc },  { "open", 12, op_open },
	{ "close", 8, op_close },   { "pin", 14, op_pin },
	{ "unpin", 10, op_unpin },  { "truncate", 10, op_truncate },
	{ "delete", 7, op_delete }, { "ack", 10, op_ack },
	{ "exit", 3, op_exit },	    { "revoke", 3, op_revoke },
	{ "tick", 3, op_tick },	    { "restart", 1, op_restart },
};

_Static_assert(BATCH_MAX >= PIN_LIMIT + 2, "an over-limit batch fits");

/* Descriptors open before world_start(): world_stop() checks for leaks. */
static int fds_before;

/*
 * world_start -- a fresh pool, the server on it, NPROC client processes
 *
 * The model starts empty with the run's seed.  False (and a failed
 * assertion) when the server could not start.
 */
static bool world_start(uint64_t seed)
{
	struct device_config dc = { .path = fx.pool,
				    .size = POOL_SIZE,
				    .unit = UNIT };
	struct pool_stats st;
	int fd, r, i;

	memset(&m, 0, sizeof(m));
	m.seed = m.rng = seed;
	fds_before = unit_count_fds();
	/* Made here: the daemon creates no pool file under /dev (/dev/shm). */
	fd = open(fx.pool, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CU_ASSERT(fd >= 0);
	if (fd < 0)
		return false;
	CU_ASSERT_EQUAL(ftruncate(fd, (off_t)POOL_SIZE), 0);
	close(fd);
	r = pool_open(&dc, POOL_FORMAT_ALWAYS, &pool);
	CU_ASSERT_EQUAL(r, 0);
	if (r)
		return false;
	r = fx_start(10, pool);
	CU_ASSERT_EQUAL(r, 0);
	if (r) {
		pool_close(pool, true);
		pool = NULL;
		return false;
	}
	d_limits();
	pool_get_stats(pool, &st);
	m.data_off = st.data_offset;
	m.data_end = st.data_offset + st.data_size;
	CU_ASSERT(st.unit == UNIT && m.data_off % UNIT == 0 && !st.bad_bytes);
	for (i = 0; i < NPROC; i++)
		child_spawn(i);
	return true;
}

/* world_stop -- kill the clients, stop the server, close the pool */
static void world_stop(void)
{
	int i;

	m.op = "end";
	for (i = 0; i < NPROC; i++) {
		kill(m.slot[i].pid, SIGKILL);
		child_reap(i);
	}
	fx_stop();
	if (pool)
		pool_close(pool, true);
	pool = NULL;
	unlink(fx.pool);
	CU_ASSERT_EQUAL(unit_count_fds(), fds_before);
}

/* m_step -- after an operation: the model catches up, then must agree */
static void m_step(void)
{
	m_discover();
	m_release();
	hold_commit(&fx.srv);
	pool_commit(pool);
	m_compare();
	m.check_deadlines = false;
}

/* run -- one seed: steps random operations, each checked */
static void run(uint64_t seed, unsigned int steps)
{
	unsigned int total = 0, k, w;
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!world_start(seed))
		return;
	for (k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
		total += ops[k].weight;
	for (m.step = 0; m.step < steps && !m.failed; m.step++) {
		w = (unsigned int)rnd(total);
		for (k = 0; w >= ops[k].weight; k++)
			w -= ops[k].weight;
		m.op = ops[k].name;
		ops[k].fn();
		if (m.failed || !pool || !fx.up)
			break;
		m_step();
	}
	world_stop();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("\n  seed %llu: %u steps in %.2f s%s\n"
	       "    allocs %lu (no room %lu), truncates %lu, deletes %lu, pins %lu (refused %lu), unpins %lu (refused %lu)\n"
	       "    quarantined %lu (freed at once %lu), breaks %lu, acks %lu (refused %lu), deadlines passed %lu\n"
	       "    released %lu (reused %lu), revokes %lu (forced %lu, killed %lu), exits %lu, restarts %lu (deaths while down %lu)\n"
	       "    ids given again after a restart: %lu pin, %lu lease break\n",
	       (unsigned long long)seed, m.step,
	       (double)(t1.tv_sec - t0.tv_sec) +
		       (t1.tv_nsec - t0.tv_nsec) / 1e9,
	       m.failed ? " FAILED" : "", m.st.allocs, m.st.enospc,
	       m.st.truncates, m.st.deletes, m.st.pins, m.st.pin_errors,
	       m.st.unpins, m.st.unpin_errors, m.st.quarantined,
	       m.st.freed_direct, m.st.breaks, m.st.acks, m.st.ack_errors,
	       m.st.timeouts, m.st.released, m.st.reused, m.st.revokes,
	       m.st.forced, m.st.kills, m.st.exits, m.st.restarts,
	       m.st.downtime_deaths, m.st.pin_ids_again, m.st.break_ids_again);
	/* No id is given out twice, restarts included (hold_epoch). */
	CU_ASSERT_EQUAL(m.st.pin_ids_again, 0);
	CU_ASSERT_EQUAL(m.st.break_ids_again, 0);
	/* A run long enough must have gone through every part of the rule. */
	if (steps >= 500 && !m.failed) {
		CU_ASSERT(m.st.quarantined && m.st.released && m.st.reused);
		CU_ASSERT(m.st.breaks && m.st.acks && m.st.timeouts);
		CU_ASSERT(m.st.revokes && m.st.forced && m.st.restarts);
		CU_ASSERT(m.st.pin_errors && m.st.unpin_errors &&
			  m.st.ack_errors);
	}
}

/*
 * test_unpin_refused -- an Unpin refused half way changes no pin
 *
 * hold_unpin() marks the pins of a batch as it checks them (to catch a
 * pin listed twice); a batch refused at a later id must clear the marks
 * of the earlier ones, or their next Unpin fails as "listed twice".
 */
static void test_unpin_refused(void)
{
	Daxalloc__PinRange rr[3], *pp[3] = { &rr[0], &rr[1], &rr[2] };
	char why[HOLD_WHY_MAX] = "";
	uint64_t ids[3], batch[3];
	struct proc *p, *q;
	struct extent *e;
	struct conn c;
	int k;

	if (!world_start(0))
		return;
	m.op = "unpin refused";
	p = d_proc(0);
	q = d_proc(1);
	CU_ASSERT_PTR_NOT_NULL(p);
	CU_ASSERT_PTR_NOT_NULL(q);
	if (!p || !q)
		goto out;
	memset(&c, 0, sizeof(c));
	c.srv = &fx.srv;
	c.proc = p;
	CU_ASSERT_EQUAL(
		space_alloc(&fx.srv, &c, "u", 3 * UNIT, 0, 0600, &e, why), 0);
	CU_ASSERT_EQUAL(hold_lease_get(&fx.srv, p, e, false, why), 0);
	CU_ASSERT_EQUAL(hold_lease_get(&fx.srv, q, e, false, why), 0);
	for (k = 0; k < 3; k++) {
		daxalloc__pin_range__init(&rr[k]);
		rr[k].extent_id = e->rec.id;
		rr[k].offset = (uint64_t)k * UNIT;
		rr[k].length = UNIT;
	}
	CU_ASSERT_EQUAL(hold_pin(&fx.srv, p, pp, 2, ids, why), 0);
	CU_ASSERT_EQUAL(hold_pin(&fx.srv, q, &pp[2], 1, &ids[2], why), 0);
	/* Refused at the second id: unknown, another's, a duplicate. */
	batch[0] = ids[0];
	batch[1] = BOGUS_ID;
	CU_ASSERT_EQUAL(hold_unpin(&fx.srv, p, batch, 2, why), -ENOENT);
	batch[1] = ids[2];
	CU_ASSERT_EQUAL(hold_unpin(&fx.srv, p, batch, 2, why), -EPERM);
	batch[1] = ids[1];
	batch[2] = ids[0];
	CU_ASSERT_EQUAL(hold_unpin(&fx.srv, p, batch, 3, why), -EINVAL);
	/* Each pin is still there, and released once. */
	CU_ASSERT_EQUAL(hold_unpin(&fx.srv, p, &ids[0], 1, why), 0);
	CU_ASSERT_EQUAL(hold_unpin(&fx.srv, p, &ids[1], 1, why), 0);
	CU_ASSERT_EQUAL(hold_unpin(&fx.srv, q, &ids[2], 1, why), 0);
	CU_ASSERT_EQUAL(hold_unpin(&fx.srv, p, &ids[0], 1, why), -ENOENT);
	hold_commit(&fx.srv);
	pool_commit(pool);
	k = 0;
	CU_ASSERT_EQUAL(hold_check(&fx.srv, finding, &k), 0);
out:
	world_stop();
}

/* test_model -- the seeds of the environment, or the default ones */
static void test_model(void)
{
	const char *s = getenv("TEST_HOLD_SEED"),
		   *n = getenv("TEST_HOLD_STEPS");
	unsigned int steps =
		n && *n ? (unsigned int)strtoul(n, NULL, 0) : DEFAULT_STEPS;
	uint64_t seed;
	size_t k;

	if (s && *s) {
		seed = strcmp(s, "random") ?
			       strtoull(s, NULL, 0) :
			       (uint64_t)time(NULL) ^ (uint64_t)getpid();
		run(seed, steps);
		return;
	}
	for (k = 0; k < sizeof(default_seeds) / sizeof(default_seeds[0]); k++)
		run(default_seeds[k], steps);
}

/* Where the pool file lives: tmpfs when there is one, commits are msyncs. */
static char shm_dir[40];

static int hold_init(void)
{
	if (fx_init() < 0)
		return -1;
	strcpy(shm_dir, "/dev/shm/test_hold.XXXXXX");
	if (mkdtemp(shm_dir))
		snprintf(fx.pool, sizeof(fx.pool), "%s/pool.img", shm_dir);
	else
		shm_dir[0] = 0;
	return 0;
}

static int hold_cleanup(void)
{
	unlink(fx.pool);
	if (shm_dir[0] && rmdir(shm_dir) < 0)
		return -1;
	return fx_cleanup();
}

static const struct unit_test tests[] = {
	{ "a refused Unpin changes no pin", test_unpin_refused },
	{ "random operations against the model", test_model },
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
	n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	if (n <= 0)
		return 2;
	self_exe[n] = '\0';
	log_init(getenv("TEST_HOLD_DEBUG") ? LOG_DEBUG : LOG_ALERT);
	return unit_main("hold", hold_init, hold_cleanup, NULL, NULL, tests);
}
