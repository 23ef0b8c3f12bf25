// SPDX-License-Identifier: Apache-2.0
/*
 * test_rule.c -- the core rule between real processes and daxallocd
 *
 * Pins, leases, lease breaks, the quarantine and revoke, end to end: every
 * holder is a separate client process (an "agent", forked, with its own
 * connection, pid and start time) that the test drives through a pipe,
 * and the test itself is the other client.  What the daemon did is read
 * back with daxallocctl (status, list quarantine, check), and the storm
 * tests read offsets: a quarantined range is never handed out, a freed one
 * is.
 *
 * An agent answers each command line with one line, "ok ..." or "err N
 * message"; lease-break and revoked events arrive as "event ..." lines in
 * between, which the test collects separately.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <json-c/json.h>

#include "daxalloc.h"
#include "harness.h"

#define MIB (1ull << 20)

/* The suite's daemon: 64 MiB file pool, 2 MiB unit, short lease breaks. */
static struct harness main_h;
static char main_conf[PATH_MAX];
static const char *const main_args[] = { "--config", main_conf, NULL };
static uint64_t unit;

/*
 * Lease-break time and pin limit of the suite's configuration.  The
 * lease-break time must outlast the longest step of a scenario (a storm
 * that fills the pool): $DAXALLOC_TEST_BREAK_S raises it where the
 * machine is slow (the devdax guest runs under TCG).
 */
static int break_s = 2;
#define BREAK_S break_s
#define PIN_LIMIT 64

static char ctl_out[1 << 16];

/* Allocations a storm may make: enough to fill a 1 GiB devdax namespace. */
#define STORM_MAX 1024

/* ctl -- run daxallocctl args on the suite's daemon; its exit status */
static int ctl(const char *const *args)
{
	int st;

	if (harness_ctl(&main_h, args, ctl_out, sizeof(ctl_out), &st) < 0)
		return -1;
	return st;
}

/* wait_status -- wait until status key equals want; true if it did */
static bool wait_status(const char *key, uint64_t want, int timeout_ms)
{
	long long end = harness_now_ms() + timeout_ms;
	uint64_t v;

	do {
		v = harness_status_u64(&main_h, key);
		if (v == want)
			return true;
		usleep(20000);
	} while (harness_now_ms() < end);
	fprintf(stderr, "status %s is %llu, waited for %llu\n", key,
		(unsigned long long)v, (unsigned long long)want);
	return false;
}

/* check_clean -- `daxallocctl check` passes (core rule included) */
static bool check_clean(void)
{
	static const char *const args[] = { "check", NULL };
	int st = ctl(args);

	if (st != 0)
		fprintf(stderr, "daxallocctl check: exit %d:\n%s\n", st, ctl_out);
	return st == 0;
}

/*
 * Agents: one client process each.
 */
struct agent {
	pid_t pid;
	int cmd;	    /* we write commands */
	int rep;	    /* we read replies and events */
	char buf[8192];	    /* bytes read, not yet a whole line */
	size_t len;
	char events[16][512]; /* event lines not yet taken */
	unsigned int nevents;
};

/* What an agent keeps: one connection, its extents by index, its pins. */
struct agent_state {
	struct daxalloc *dx;
	struct daxalloc_extent *ext[16];
	int out;
	bool ignore; /* a handler that neither unmaps nor acknowledges */
};

static struct agent_state *self;

/* agent_say -- one line to the test */
static void __attribute__((format(printf, 1, 2))) agent_say(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (write(self->out, line, (size_t)n) != n)
		_exit(2);
}

/* agent_handler -- report every event, then handle it (or not) */
static int agent_handler(struct daxalloc *dx, const struct daxalloc_event *ev,
			 void *arg)
{
	(void)arg;
	if (ev->type == DAXALLOC_EVENT_LEASE_BREAK)
		agent_say("event break %llu %llu %llu %llu %llu %d",
			  (unsigned long long)ev->extent_id,
			  (unsigned long long)ev->offset,
			  (unsigned long long)ev->length,
			  (unsigned long long)ev->deadline_ms,
			  (unsigned long long)ev->break_id, (int)ev->reason);
	else
		agent_say("event revoked %llu", (unsigned long long)ev->extent_id);
	if (self->ignore)
		return 0;
	return daxalloc_default_handler(dx, ev, NULL);
}

/* agent_do -- run one command line */
static void agent_do(char *line)
{
	struct agent_state *s = self;
	char name[64];
	unsigned int i;
	unsigned long long a, b, id;
	uint64_t pin;
	int r;

	if (sscanf(line, "alloc %u %63s %llu", &i, name, &a) == 3 && i < 16) {
		r = daxalloc_alloc(s->dx, strcmp(name, "-") ? name : NULL, a, 0,
				   0666, 0, &s->ext[i]);
		if (r < 0)
			goto err;
		agent_say("ok %llu %llu %llu",
			  (unsigned long long)daxalloc_extent_id(s->ext[i]),
			  (unsigned long long)daxalloc_extent_offset(s->ext[i]),
			  (unsigned long long)daxalloc_extent_length(s->ext[i]));
	} else if (sscanf(line, "open %u %63s", &i, name) == 2 && i < 16) {
		r = daxalloc_open(s->dx, name, 0, &s->ext[i]);
		if (r < 0)
			goto err;
		agent_say("ok %llu %llu %llu",
			  (unsigned long long)daxalloc_extent_id(s->ext[i]),
			  (unsigned long long)daxalloc_extent_offset(s->ext[i]),
			  (unsigned long long)daxalloc_extent_length(s->ext[i]));
	} else if (sscanf(line, "pin %u %llu %llu", &i, &a, &b) == 3 && i < 16) {
		r = daxalloc_pin(s->ext[i], a, b, &pin);
		if (r < 0)
			goto err;
		agent_say("ok %llu", (unsigned long long)pin);
	} else if (sscanf(line, "unpin %llu", &id) == 1) {
		r = daxalloc_unpin(s->dx, id);
		if (r < 0)
			goto err;
		agent_say("ok");
	} else if (sscanf(line, "ack %llu", &id) == 1) {
		r = daxalloc_break_ack(s->dx, id);
		if (r < 0)
			goto err;
		agent_say("ok");
	} else if (sscanf(line, "close %u", &i) == 1 && i < 16) {
		r = daxalloc_close(s->ext[i]);
		s->ext[i] = NULL;
		if (r < 0)
			goto err;
		agent_say("ok");
	} else if (!strcmp(line, "quit")) {
		_exit(0);
	} else {
		agent_say("err %d unknown command '%s'", -EINVAL, line);
	}
	return;
err:
	agent_say("err %d %s", r, daxalloc_errmsg());
}

/*
 * agent_main -- the child: connect, then serve commands and events
 *
 * The event fd is polled with the command pipe, as an application with
 * its own event loop would.
 */
static void agent_main(int in, int out, bool ignore)
{
	struct agent_state s = { .out = out, .ignore = ignore };
	char buf[4096];
	size_t len = 0;
	int r;

	self = &s;
	r = daxalloc_connect(main_h.sock, &s.dx);
	if (r < 0) {
		agent_say("err %d connect: %s", r, daxalloc_errmsg());
		_exit(1);
	}
	daxalloc_set_event_handler(s.dx, agent_handler, NULL);
	agent_say("ok ready %d", (int)getpid());
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = in, .events = POLLIN },
			{ .fd = daxalloc_event_fd(s.dx), .events = POLLIN },
		};
		char *nl;
		ssize_t n;

		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			_exit(1);
		if (pfd[1].revents)
			daxalloc_dispatch(s.dx);
		if (!pfd[0].revents)
			continue;
		n = read(in, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			_exit(0); /* the test went away */
		len += (size_t)n;
		buf[len] = '\0';
		while ((nl = strchr(buf, '\n'))) {
			*nl = '\0';
			agent_do(buf);
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len + 1);
		}
	}
}

/* agent_line -- the next line from a; false on timeout or EOF */
static bool agent_line(struct agent *a, char *out, size_t cap, int timeout_ms)
{
	long long end = harness_now_ms() + timeout_ms;

	for (;;) {
		char *nl = memchr(a->buf, '\n', a->len);
		struct pollfd pfd = { .fd = a->rep, .events = POLLIN };
		ssize_t n;
		int left;

		if (nl) {
			size_t l = (size_t)(nl - a->buf);

			snprintf(out, cap, "%.*s", (int)l, a->buf);
			a->len -= l + 1;
			memmove(a->buf, nl + 1, a->len);
			return true;
		}
		left = (int)(end - harness_now_ms());
		if (left <= 0 || poll(&pfd, 1, left) <= 0)
			return false;
		n = read(a->rep, a->buf + a->len, sizeof(a->buf) - a->len);
		if (n <= 0)
			return false;
		a->len += (size_t)n;
	}
}

/* agent_keep_event -- stash an event line for agent_event() */
static void agent_keep_event(struct agent *a, const char *line)
{
	if (a->nevents < 16)
		snprintf(a->events[a->nevents++], sizeof(a->events[0]), "%s", line);
}

/*
 * agent_cmd -- send a command, return its reply line in out
 *
 * 0 for "ok", the errno of "err N", -ETIMEDOUT without an answer.
 */
static int __attribute__((format(printf, 4, 5)))
agent_cmd(struct agent *a, char *out, size_t cap, const char *fmt, ...)
{
	char line[256], rep[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	line[n++] = '\n';
	if (write(a->cmd, line, (size_t)n) != n)
		return -EPIPE;
	for (;;) {
		if (!agent_line(a, rep, sizeof(rep), 10000))
			return -ETIMEDOUT;
		if (!strncmp(rep, "event ", 6)) {
			agent_keep_event(a, rep);
			continue;
		}
		if (out)
			snprintf(out, cap, "%s", rep);
		if (!strncmp(rep, "ok", 2))
			return 0;
		if (sscanf(rep, "err %d", &n) == 1)
			return n;
		return -EPROTO;
	}
}

/* agent_event -- the next event line starting with what, within timeout */
static bool agent_event(struct agent *a, const char *what, char *out,
			size_t cap, int timeout_ms)
{
	long long end = harness_now_ms() + timeout_ms;
	char rep[512];
	unsigned int i;

	for (;;) {
		for (i = 0; i < a->nevents; i++) {
			if (strncmp(a->events[i], what, strlen(what)))
				continue;
			snprintf(out, cap, "%s", a->events[i]);
			memmove(&a->events[i], &a->events[i + 1],
				(a->nevents - i - 1) * sizeof(a->events[0]));
			a->nevents--;
			return true;
		}
		if (harness_now_ms() >= end ||
		    !agent_line(a, rep, sizeof(rep), (int)(end - harness_now_ms())))
			return false;
		if (!strncmp(rep, "event ", 6))
			agent_keep_event(a, rep);
	}
}

/* agent_start -- fork an agent; ignore: its handler never acknowledges */
static int agent_start(struct agent *a, bool ignore)
{
	int cmd[2], rep[2];
	char line[128];

	memset(a, 0, sizeof(*a));
	if (pipe2(cmd, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(rep, O_CLOEXEC) < 0) {
		close(cmd[0]);
		close(cmd[1]);
		return -errno;
	}
	a->pid = fork();
	if (a->pid < 0)
		return -errno;
	if (a->pid == 0) {
		close(cmd[1]);
		close(rep[0]);
		agent_main(cmd[0], rep[1], ignore);
		_exit(0);
	}
	close(cmd[0]);
	close(rep[1]);
	a->cmd = cmd[1];
	a->rep = rep[0];
	if (!agent_line(a, line, sizeof(line), 10000) ||
	    strncmp(line, "ok ready", 8)) {
		fprintf(stderr, "agent did not start: %s\n", line);
		return -EIO;
	}
	return 0;
}

/* agent_stop -- end the agent (SIGKILL if it does not quit); its status */
static int agent_stop(struct agent *a, int sig)
{
	int st = -1;

	if (a->pid <= 0)
		return -1;
	if (sig)
		kill(a->pid, sig);
	else if (write(a->cmd, "quit\n", 5) != 5)
		kill(a->pid, SIGKILL);
	/* Closed after the exit: an event it reports on the way must not fail. */
	waitpid(a->pid, &st, 0);
	close(a->cmd);
	close(a->rep);
	a->pid = 0;
	return st;
}

/* alloc_units -- the test's own anonymous extents of one unit, until full */
static unsigned int storm(struct daxalloc *dx, struct daxalloc_extent **out,
			  unsigned int max)
{
	unsigned int n = 0;

	while (n < max && daxalloc_alloc(dx, NULL, unit, 0, 0600, DAXALLOC_NO_MAP,
					 &out[n]) == 0)
		n++;
	return n;
}

static void storm_end(struct daxalloc_extent **ext, unsigned int n)
{
	while (n--)
		CU_ASSERT_EQUAL(daxalloc_delete(ext[n]), 0);
}

/* overlaps -- does extent ext lie in [off, off + len)? */
static bool overlaps(struct daxalloc_extent *ext, uint64_t off, uint64_t len)
{
	uint64_t o = daxalloc_extent_offset(ext), l = daxalloc_extent_length(ext);

	return o < off + len && off < o + l;
}

/*
 * test_seed_scenario -- the scenario daxallocd exists for
 *
 * A maps an extent and pins its tail (DMA in flight); B truncates it so
 * that the tail leaves.  The tail is quarantined: a storm of allocations
 * that fills the whole pool never gets it.  A unpins (and its library
 * acknowledges the lease break): the tail is free, and the next storm
 * gets exactly it.
 */
static void test_seed_scenario(void)
{
	struct daxalloc_extent *ext, *st[STORM_MAX];
	unsigned long long id, off, len, pin;
	struct daxalloc *dx;
	char rep[512];
	struct agent a;
	uint64_t tail;
	unsigned int n, i, hits;

	CU_ASSERT_FATAL(agent_start(&a, false) == 0);
	CU_ASSERT_EQUAL_FATAL(agent_cmd(&a, rep, sizeof(rep),
					"alloc 0 seed %llu",
					(unsigned long long)(8 * unit)), 0);
	CU_ASSERT_EQUAL_FATAL(sscanf(rep, "ok %llu %llu %llu", &id, &off, &len), 3);
	/* DMA in flight on units 6 and 7. */
	CU_ASSERT_EQUAL_FATAL(agent_cmd(&a, rep, sizeof(rep), "pin 0 %llu %llu",
					(unsigned long long)(6 * unit),
					(unsigned long long)(2 * unit)), 0);
	CU_ASSERT_EQUAL(sscanf(rep, "ok %llu", &pin), 1);
	CU_ASSERT(harness_status_u64(&main_h, "pinned_bytes") == 2 * unit);

	/* B (this process) truncates: units 4..7 leave the extent. */
	CU_ASSERT_EQUAL_FATAL(daxalloc_connect(main_h.sock, &dx), 0);
	CU_ASSERT_EQUAL_FATAL(daxalloc_open(dx, "seed", DAXALLOC_NO_MAP, &ext), 0);
	CU_ASSERT_EQUAL(daxalloc_truncate(ext, 4 * unit), 0);
	CU_ASSERT_EQUAL(daxalloc_extent_length(ext), 4 * unit);
	tail = off + 4 * unit;
	CU_ASSERT_EQUAL(harness_status_u64(&main_h, "quarantined_bytes"), 4 * unit);
	/* A hears of it and unmaps, but keeps the pin: no ack yet. */
	CU_ASSERT(agent_event(&a, "event break", rep, sizeof(rep), 5000));

	/* The storm fills the pool and never lands in the tail. */
	n = storm(dx, st, STORM_MAX);
	CU_ASSERT(n > 0);
	CU_ASSERT_EQUAL(harness_status_u64(&main_h, "free_bytes"), 0);
	for (i = 0; i < n; i++)
		CU_ASSERT(!overlaps(st[i], tail, 4 * unit));
	CU_ASSERT_EQUAL(harness_status_u64(&main_h, "quarantined_bytes"), 4 * unit);
	CU_ASSERT(check_clean());

	/* The DMA completed: the tail is free again. */
	CU_ASSERT_EQUAL(agent_cmd(&a, NULL, 0, "unpin %llu", pin), 0);
	CU_ASSERT(wait_status("quarantined_bytes", 0, 5000));
	CU_ASSERT_EQUAL(harness_status_u64(&main_h, "free_bytes"), 4 * unit);
	storm_end(st, n);

	/* With the pool full again but for the tail, the storm takes it. */
	n = storm(dx, st, STORM_MAX);
	hits = 0;
	for (i = 0; i < n; i++)
		hits += overlaps(st[i], tail, 4 * unit);
	CU_ASSERT(hits > 0);
	storm_end(st, n);
	CU_ASSERT(check_clean());

	CU_ASSERT_EQUAL(daxalloc_delete(ext), 0);
	daxalloc_disconnect(dx);
	CU_ASSERT_EQUAL(agent_stop(&a, 0), 0);
	CU_ASSERT(wait_status("quarantined_bytes", 0, 5000));
}

/*
 * test_break_ack -- a lease without a pin: the holder gets a break with a
 * deadline, acknowledges, and the range is free
 */
static void test_break_ack(void)
{
	unsigned long long id, off, len, eid, boff, blen, dl, bid;
	struct daxalloc_extent *ext;
	struct daxalloc *dx;
	struct timespec ts;
	struct agent a;
	char rep[512];
	int reason;

	CU_ASSERT_FATAL(agent_start(&a, true) == 0);
	CU_ASSERT_EQUAL_FATAL(daxalloc_connect(main_h.sock, &dx), 0);
	CU_ASSERT_EQUAL_FATAL(daxalloc_alloc(dx, "acked", 2 * unit, 0, 0666,
					     DAXALLOC_NO_MAP, &ext), 0);
	CU_ASSERT_EQUAL_FATAL(agent_cmd(&a, rep, sizeof(rep), "open 0 acked"), 0);
	CU_ASSERT_EQUAL(sscanf(rep, "ok %llu %llu %llu", &id, &off, &len), 3);
	CU_ASSERT_EQUAL(id, daxalloc_extent_id(ext));

	CU_ASSERT_EQUAL(daxalloc_delete(ext), 0);
	CU_ASSERT_EQUAL(harness_status_u64(&main_h, "quarantined_bytes"), 2 * unit);
	CU_ASSERT_FATAL(agent_event(&a, "event break", rep, sizeof(rep), 5000));
	CU_ASSERT_EQUAL(sscanf(rep, "event break %llu %llu %llu %llu %llu %d",
			       &eid, &boff, &blen, &dl, &bid, &reason), 6);
	CU_ASSERT_EQUAL(eid, id);
	CU_ASSERT_EQUAL(boff, 0);
	CU_ASSERT_EQUAL(blen, 2 * unit);
	clock_gettime(CLOCK_REALTIME, &ts);
	/* The deadline is the configured lease-break time from now. */
	CU_ASSERT(dl > (unsigned long long)ts.tv_sec * 1000);
	CU_ASSERT(dl <= (unsigned long long)(ts.tv_sec + BREAK_S + 1) * 1000);
	CU_ASSERT_EQUAL(reason, DAXALLOC_BREAK_DELETE);

	/* A break never sent cannot be acknowledged; this one can, once. */
	CU_ASSERT_EQUAL(agent_cmd(&a, NULL, 0, "ack %llu", bid + 1000), -ENOENT);
	CU_ASSERT_EQUAL(agent_cmd(&a, NULL, 0, "ack %llu", bid), 0);
	CU_ASSERT_EQUAL(harness_status_u64(&main_h, "quarantined_bytes"), 0);
	CU_ASSERT_EQUAL(agent_cmd(&a, NULL, 0, "ack %llu", bid), -ENOENT);
	CU_ASSERT(check_clean());
	daxalloc_disconnect(dx);
	CU_ASSERT_EQUAL(agent_stop(&a, 0), 0);
}

/*
 * test_break_ignored -- a holder that never acknowledges is revoked at
 * the deadline, but its range stays quarantined while it lives; revoke
 * --kill ends it, and the range frees only after its exit
 */
static void test_break_ignored(void)
{
	struct daxalloc_extent *ext;
	struct daxalloc *dx;
	char rep[512], pidbuf[16];
	struct agent a;
	long long t0;
	int st;

	CU_ASSERT_FATAL(agent_start(&a, true) == 0);
	CU_ASSERT_EQUAL_FATAL(daxalloc_connect(main_h.sock, &dx), 0);
	CU_ASSERT_EQUAL_FATAL(daxalloc_alloc(dx, "ignored", unit, 0, 0666,
					     DAXALLOC_NO_MAP, &ext), 0);
	CU_ASSERT_EQUAL_FATAL(agent_cmd(&a, rep, sizeof(rep), "open 0 ignored"), 0);
	CU_ASSERT_EQUAL(daxalloc_delete(ext), 0);
	t0 = harness_now_ms();
	CU_ASSERT(agent_event(&a, "event break", rep, sizeof(rep), 5000));
	/* No ack: after the lease-break time, A is revoked... */
	CU_ASSERT(agent_event(&a, "event revoked", rep, sizeof(rep),
			      (BREAK_S + 5) * 1000));
	CU_ASSERT(harness_now_ms() - t0 >= BREAK_S * 1000 - 100);
	/* ...and the range stays: A still lives and may still write. */
	usleep(300000);
	CU_ASSERT_EQUAL(harness_status_u64(&main_h, "quarantined_bytes"), unit);
	CU_ASSERT(check_clean());

	/* revoke --kill: SIGKILL through the pidfd, freed after the exit. */
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)a.pid);
	{
		const char *const args[] = { "revoke", "--pid", pidbuf,
					     "--grace", "0", "--kill", NULL };

		CU_ASSERT_EQUAL(ctl(args), 0);
	}
	waitpid(a.pid, &st, 0);
	CU_ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	a.pid = 0;
	close(a.cmd);
	close(a.rep);
	CU_ASSERT(wait_status("quarantined_bytes", 0, 5000));
	CU_ASSERT(check_clean());
	daxalloc_disconnect(dx);
}

/*
 * test_revoke_no_kill -- revoke without --kill: the holder is told, its
 * range stays quarantined until it exits by itself
 */
static void test_revoke_no_kill(void)
{
	struct daxalloc_extent *ext;
	struct daxalloc *dx;
	char rep[512], pidbuf[16];
	struct agent a;

	CU_ASSERT_FATAL(agent_start(&a, true) == 0);
	CU_ASSERT_EQUAL_FATAL(daxalloc_connect(main_h.sock, &dx), 0);
	CU_ASSERT_EQUAL_FATAL(daxalloc_alloc(dx, "revoked", unit, 0, 0666,
					     DAXALLOC_NO_MAP, &ext), 0);
	CU_ASSERT_EQUAL_FATAL(agent_cmd(&a, rep, sizeof(rep), "open 0 revoked"), 0);
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)a.pid);
	{
		const char *const args[] = { "revoke", "--pid", pidbuf,
					     "--grace", "1", NULL };

		CU_ASSERT_EQUAL(ctl(args), 0);
	}
	CU_ASSERT(agent_event(&a, "event break", rep, sizeof(rep), 3000));
	CU_ASSERT(agent_event(&a, "event revoked", rep, sizeof(rep), 5000));
	/* The owner deletes: A may still write there, so it is held. */
	CU_ASSERT_EQUAL(daxalloc_delete(ext), 0);
	usleep(200000);
	CU_ASSERT_EQUAL(harness_status_u64(&main_h, "quarantined_bytes"), unit);
	CU_ASSERT(check_clean());
	/* A exits by itself: now it is free. */
	CU_ASSERT_EQUAL(agent_stop(&a, 0), 0);
	CU_ASSERT(wait_status("quarantined_bytes", 0, 5000));
	CU_ASSERT(check_clean());
	daxalloc_disconnect(dx);
}

/* test_holder_killed -- a holder killed with pins: its pins end, range frees */
static void test_holder_killed(void)
{
	struct daxalloc_extent *ext;
	struct daxalloc *dx;
	struct agent a;
	char rep[512];

	CU_ASSERT_FATAL(agent_start(&a, true) == 0);
	CU_ASSERT_EQUAL_FATAL(daxalloc_connect(main_h.sock, &dx), 0);
	CU_ASSERT_EQUAL_FATAL(daxalloc_alloc(dx, "killed", 2 * unit, 0, 0666,
					     DAXALLOC_NO_MAP, &ext), 0);
	CU_ASSERT_EQUAL_FATAL(agent_cmd(&a, rep, sizeof(rep), "open 0 killed"), 0);
	CU_ASSERT_EQUAL(agent_cmd(&a, rep, sizeof(rep), "pin 0 0 4096"), 0);
	CU_ASSERT_EQUAL(agent_cmd(&a, rep, sizeof(rep), "pin 0 %llu 4096",
				  (unsigned long long)unit), 0);
	CU_ASSERT_EQUAL(daxalloc_delete(ext), 0);
	CU_ASSERT_EQUAL(harness_status_u64(&main_h, "quarantined_bytes"), 2 * unit);
	agent_stop(&a, SIGKILL);
	CU_ASSERT(wait_status("quarantined_bytes", 0, 5000));
	CU_ASSERT_EQUAL(harness_status_u64(&main_h, "pinned_bytes"), 0);
	CU_ASSERT(check_clean());
	daxalloc_disconnect(dx);
}

/*
 * test_daemon_killed -- kill -9 of the daemon with a quarantined range and
 * pins held: after the restart the range is still quarantined, the live
 * agent's library reconnects, and its unpin frees the range
 */
static void test_daemon_killed(void)
{
	unsigned long long pin;
	struct daxalloc_extent *ext;
	struct daxalloc *dx;
	struct agent a;
	char rep[512];
	int st;

	CU_ASSERT_FATAL(agent_start(&a, false) == 0);
	CU_ASSERT_EQUAL_FATAL(daxalloc_connect(main_h.sock, &dx), 0);
	CU_ASSERT_EQUAL_FATAL(daxalloc_alloc(dx, "crash", 4 * unit, 0, 0666,
					     DAXALLOC_NO_MAP, &ext), 0);
	CU_ASSERT_EQUAL_FATAL(agent_cmd(&a, rep, sizeof(rep), "open 0 crash"), 0);
	CU_ASSERT_EQUAL_FATAL(agent_cmd(&a, rep, sizeof(rep), "pin 0 %llu 8192",
					(unsigned long long)(3 * unit)), 0);
	CU_ASSERT_EQUAL(sscanf(rep, "ok %llu", &pin), 1);
	CU_ASSERT_EQUAL(daxalloc_truncate(ext, 2 * unit), 0);
	CU_ASSERT_EQUAL(harness_status_u64(&main_h, "quarantined_bytes"), 2 * unit);
	CU_ASSERT(agent_event(&a, "event break", rep, sizeof(rep), 5000));
	CU_ASSERT_EQUAL(daxalloc_close(ext), 0);
	daxalloc_disconnect(dx);

	CU_ASSERT_EQUAL(harness_stop(&main_h, SIGKILL, &st), 0);
	CU_ASSERT_EQUAL_FATAL(harness_start(&main_h, main_args), 0);
	CU_ASSERT_EQUAL(harness_status_u64(&main_h, "quarantined_bytes"), 2 * unit);
	CU_ASSERT_EQUAL(harness_status_u64(&main_h, "pinned_bytes"), 8192);
	CU_ASSERT(check_clean());

	/* The agent's library reconnects; the pin id is still its own. */
	CU_ASSERT_EQUAL(agent_cmd(&a, rep, sizeof(rep), "unpin %llu", pin), 0);
	/* Its library acknowledges the break (resent at the reconnect). */
	CU_ASSERT(wait_status("quarantined_bytes", 0, 5000));
	CU_ASSERT(check_clean());
	CU_ASSERT_EQUAL(agent_stop(&a, 0), 0);
	CU_ASSERT_EQUAL_FATAL(daxalloc_connect(main_h.sock, &dx), 0);
	CU_ASSERT_EQUAL(daxalloc_delete_name(dx, "crash"), 0);
	daxalloc_disconnect(dx);
}

/*
 * test_bad_input -- errors are clear, nothing leaks, nothing frees early
 */
static void test_bad_input(void)
{
	unsigned long long pin, first = 0;
	struct daxalloc_extent *ext;
	struct daxalloc *dx;
	struct agent a, b;
	char rep[512];
	unsigned int i;

	CU_ASSERT_FATAL(agent_start(&a, false) == 0);
	CU_ASSERT_FATAL(agent_start(&b, true) == 0);
	CU_ASSERT_EQUAL_FATAL(daxalloc_connect(main_h.sock, &dx), 0);
	CU_ASSERT_EQUAL_FATAL(daxalloc_alloc(dx, "bad", unit, 0, 0666,
					     DAXALLOC_NO_MAP, &ext), 0);
	CU_ASSERT_EQUAL_FATAL(agent_cmd(&a, rep, sizeof(rep), "open 0 bad"), 0);
	CU_ASSERT_EQUAL_FATAL(agent_cmd(&b, rep, sizeof(rep), "open 0 bad"), 0);

	/* Outside the extent, empty. */
	CU_ASSERT_EQUAL(agent_cmd(&a, NULL, 0, "pin 0 %llu 1",
				  (unsigned long long)unit), -EINVAL);
	CU_ASSERT_EQUAL(agent_cmd(&a, NULL, 0, "pin 0 0 0"), -EINVAL);
	/* Up to the limit, then EDQUOT with nothing pinned. */
	for (i = 0; i < PIN_LIMIT; i++) {
		CU_ASSERT_EQUAL_FATAL(agent_cmd(&a, rep, sizeof(rep), "pin 0 %u 64",
						i * 64), 0);
		if (!first)
			sscanf(rep, "ok %llu", &first);
	}
	CU_ASSERT_EQUAL(agent_cmd(&a, NULL, 0, "pin 0 0 64"), -EDQUOT);
	/* Unknown and foreign pins. */
	CU_ASSERT_EQUAL(agent_cmd(&a, NULL, 0, "unpin 999999999"), -ENOENT);
	CU_ASSERT_EQUAL(agent_cmd(&b, NULL, 0, "unpin %llu", first), -EPERM);
	CU_ASSERT_EQUAL(agent_cmd(&b, NULL, 0, "ack 12345"), -ENOENT);
	CU_ASSERT_EQUAL(harness_status_u64(&main_h, "pinned_bytes"), PIN_LIMIT * 64);

	/* Deleted while A pins: held until A's pins and both leases end. */
	CU_ASSERT_EQUAL(daxalloc_delete(ext), 0);
	CU_ASSERT_EQUAL(harness_status_u64(&main_h, "quarantined_bytes"), unit);
	CU_ASSERT_EQUAL(agent_stop(&b, 0), 0);
	for (pin = first; pin < first + PIN_LIMIT - 1; pin++)
		CU_ASSERT_EQUAL(agent_cmd(&a, NULL, 0, "unpin %llu", pin), 0);
	/* One pin left, and with it A's acknowledgement: still held. */
	CU_ASSERT_EQUAL(harness_status_u64(&main_h, "pinned_bytes"), 64);
	CU_ASSERT_EQUAL(harness_status_u64(&main_h, "quarantined_bytes"), unit);
	/* The last unpin lets A's library acknowledge: free. */
	CU_ASSERT_EQUAL(agent_cmd(&a, NULL, 0, "unpin %llu", pin), 0);
	CU_ASSERT(wait_status("quarantined_bytes", 0, 5000));
	CU_ASSERT(check_clean());
	CU_ASSERT_EQUAL(agent_stop(&a, 0), 0);
	daxalloc_disconnect(dx);
}

static int suite_init(void)
{
	FILE *f;

	if (getenv("DAXALLOC_TEST_BREAK_S"))
		break_s = atoi(getenv("DAXALLOC_TEST_BREAK_S"));
	if (break_s < 1)
		break_s = 2;
	if (harness_init(&main_h) < 0)
		return -1;
	snprintf(main_conf, sizeof(main_conf), "%s/rule.conf", main_h.dir);
	f = fopen(main_conf, "w");
	if (!f)
		return -1;
	fprintf(f, "[limits]\nlease_break_time = %d\nmax_pins_per_process = %d\n",
		BREAK_S, PIN_LIMIT);
	fclose(f);
	if (harness_start(&main_h, main_args) < 0)
		return -1;
	unit = harness_status_u64(&main_h, "unit");
	return unit && unit != UINT64_MAX ? 0 : -1;
}

static int suite_fini(void)
{
	harness_stop(&main_h, SIGTERM, NULL);
	unlink(main_conf);
	harness_fini(&main_h);
	return 0;
}

static const struct harness_test tests[] = {
	{ "seeds' scenario: pin, truncate, storm, unpin", test_seed_scenario },
	{ "lease break acknowledged", test_break_ack },
	{ "lease break ignored: revoked, then killed", test_break_ignored },
	{ "revoke without kill", test_revoke_no_kill },
	{ "holder killed with pins", test_holder_killed },
	{ "daemon killed with quarantine and pins", test_daemon_killed },
	{ "bad input", test_bad_input },
	{ NULL, NULL },
};

static const struct harness_suite suites[] = {
	{ "rule", suite_init, suite_fini, tests },
	{ NULL, NULL, NULL, NULL },
};

int main(void)
{
	return harness_main(suites);
}
