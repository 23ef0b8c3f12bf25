// SPDX-License-Identifier: Apache-2.0
/*
 * test_hostile.c -- hostile clients against the real daxallocd, while a
 * well-behaved client is being served
 *
 * Every scenario runs beside the probe: a separate client process that
 * does a steady loop of small requests through libdaxalloc (Stat of its
 * own named extent, and an anonymous Alloc + Delete every fourth turn)
 * and records the latency of each one.  When a scenario ends:
 *
 * - the probe was never refused and never lost its connection;
 * - its p99 and its maximum latency stayed under a bound
 *   ($DAXALLOC_TEST_LATENCY_MS, default 500 ms: generous enough for an
 *   ASan + UBSan build on two cores); p50, p99 and max are printed;
 * - the daemon is alive, with as many descriptors open as before;
 * - `daxallocctl check` passes.
 *
 * test_daemon.c already has one garbage datagram, one oversized datagram,
 * a Hello with two descriptors, rude clients, the control socket refusing
 * a non-admin and the per-process connection limit; test_extents.c has
 * the permissions between users (test_auth.c the rest of authorization).
 * This file goes further, each attack under load and checked for its
 * traces:
 *
 * - garbage: random bytes, mutated and truncated requests, requests with
 *   values at every limit, from processes of another user;
 * - datagrams past 64 KiB, before and after Hello, and one of exactly
 *   64 KiB;
 * - 0, 1, 5 and 253 descriptors on every kind of payload;
 * - a client refused for connections_per_process that keeps sending;
 * - a connection flood past RLIMIT_NOFILE: accept must pause (log line),
 *   the daemon's CPU stay idle, its descriptors come back;
 * - clients that never read: replies (the message bound and the byte
 *   bound, each with its log line), a last reply after a protocol error,
 *   and 700 lease breaks to a lease holder, which is cut off, keeps its
 *   breaks and quarantine as docs/core-rule.md says, and takes every
 *   break when it reconnects;
 * - pin floods past max_pins_per_process and past the pool's pin table;
 * - silent connections (hello timeout);
 * - clients that die mid-request: half a batch, a burst then exit, a
 *   Hello then exit, SIGKILL at random points, and requests still queued
 *   when the daemon sees its sender's exit (the daemon stopped meanwhile).
 *
 * The suite's daemon serves a 256 MiB pool with a 64 KiB unit (room for
 * the hundreds of extents the lease-break flood needs) and a short hello
 * timeout.  The pool file lives in /dev/shm when there is one: on a disk
 * file system every durable change of a file pool costs an msync, and the
 * probe would measure the disk rather than how the daemon shares its loop
 * under attack.  (The daemon creates no pool file under /dev, so the test
 * makes it and formats it first.)  Its client socket has mode 0660 and
 * group HOSTILE_GID, as installed; the hostile children that run as
 * nobody get that group as a supplementary one.  Children cannot use
 * CUnit: they check with CHILD_CHECK(), which prints the failed condition
 * and exits 1.  Random input comes from a seeded generator: the seed is
 * printed, and $DAXALLOC_TEST_SEED replays it; $HOSTILE_ONLY runs the
 * tests whose names contain one of its '|'-separated words.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <json-c/json.h>

#include "daxalloc.h"
#include "envelope.h"
#include "harness.h"
#include "wire.h"

#define NOBODY 65534
/* The client socket's group: a gid nobody is not in. */
#define HOSTILE_GID 4242
#define UNIT (64 * 1024ull)
#define MAX_PINS 10000
/* The kernel's limit of descriptors in one SCM_RIGHTS message. */
#define SCM_FDS_MAX 253
/* A reply that does not come within this long is a hung daemon. */
#define REPLY_MS 5000
/*
 * The daemon's bounds on what waits for a peer that does not read
 * (daemon/conn.h, docs/protocol.md "Flow control").
 */
#define CONN_OUTQ_MAX_TEST 256
#define CONN_OUTQ_BYTES_TEST (1u << 20)

/*
 * CHILD_CHECK -- a check in a child process, where CUnit does not run:
 * on failure say what, where and the library's explanation, and exit 1
 */
#define CHILD_CHECK(cond)                                                     \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr,                                       \
				"%s:%d: process %d: check failed: %s [%s]\n", \
				__FILE__, __LINE__, (int)getpid(), #cond,     \
				daxalloc_errmsg());                           \
			_exit(1);                                             \
		}                                                             \
	} while (0)

static struct harness hh;
static char conf_path[PATH_MAX];
static char pool_path[PATH_MAX];
static uint64_t seed;
static uint64_t rng_state;
static long long latency_bound_ms = 500;

static const char conf_text[] = "[limits]\n"
				"hello_timeout = 2\n"
				"lease_break_time = 120\n"
				"max_pins_per_process = 10000\n";

/* ---------------------------------------------------------------------- */
/* Small helpers                                                          */

/* rnd -- the next number of the seeded generator (xorshift64*) */
static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* rnd_seed -- restart the generator for stream n of this run's seed */
static void rnd_seed(uint64_t n)
{
	rng_state = (seed ^ (n * 0x9e3779b97f4a7c15ull)) | 1;
}

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * become_nobody -- uid/gid 65534 (in a child), with the client socket's
 * group as the only supplementary one when in_group
 */
static void become_nobody(bool in_group)
{
	const gid_t groups[] = { HOSTILE_GID };

	CHILD_CHECK(setgroups(in_group ? 1 : 0, groups) == 0);
	CHILD_CHECK(setgid(NOBODY) == 0);
	CHILD_CHECK(setuid(NOBODY) == 0);
}

/*
 * wait_exit -- reap pid within limit_ms
 *
 * Its exit status, 128 + the signal that killed it, or -1 when it had to
 * be killed for taking too long.
 */
static int wait_exit(pid_t pid, int limit_ms)
{
	long long end = harness_now_ms() + limit_ms;
	int st;

	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (harness_now_ms() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		sleep_ms(5);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* spawn -- fork a child that runs fn(arg) and exits with its status */
static pid_t spawn(void (*fn)(long), long arg)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		fn(arg);
		_exit(0);
	}
	return pid;
}

/* say -- one byte to a pipe */
static bool say(int fd, char c)
{
	return write(fd, &c, 1) == 1;
}

/* hear -- one byte from a pipe within ms; 0 on timeout or EOF */
static char hear(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;

	if (poll(&p, 1, ms) <= 0 || read(fd, &c, 1) != 1)
		return 0;
	return c;
}

/* status_u64 -- one figure of `daxallocctl status --json` */
static uint64_t status_u64(struct harness *h, const char *key)
{
	return harness_status_u64(h, key);
}

/*
 * wait_status -- wait until status figure key equals want (within ms);
 * its last value
 */
static uint64_t wait_status(struct harness *h, const char *key, uint64_t want,
			    int ms)
{
	long long end = harness_now_ms() + ms;
	uint64_t v;

	for (;;) {
		v = status_u64(h, key);
		if (v == want || harness_now_ms() > end)
			return v;
		sleep_ms(50);
	}
}

/*
 * wait_log -- wait until the daemon's log holds more than before lines
 * with what (within ms)
 */
static bool wait_log(struct harness *h, const char *what, int before, int ms)
{
	long long end = harness_now_ms() + ms;

	while (harness_log_count(h, what) <= before) {
		if (harness_now_ms() > end)
			return false;
		sleep_ms(50);
	}
	return true;
}

/* ctl_json -- daxallocctl ARGS (asking for JSON), parsed; NULL on failure */
static json_object *ctl_json(struct harness *h, const char *const *args)
{
	static char out[1 << 20];

	return harness_ctl_json(h, args, out, sizeof(out));
}

/* process_entry -- member key of pid's entry in `list processes`; -1 if none */
static long long process_entry(struct harness *h, pid_t pid, const char *key)
{
	static const char *const args[] = { "list", "processes", "--json",
					    NULL };
	json_object *arr = ctl_json(h, args), *x;
	long long v = -1;
	size_t i;

	for (i = 0; arr && i < json_object_array_length(arr); i++) {
		x = json_object_array_get_idx(arr, i);
		if (harness_json_u64(x, "pid") == (uint64_t)pid) {
			v = (long long)harness_json_u64(x, key);
			break;
		}
	}
	json_object_put(arr);
	return v;
}

/*
 * delete_extents_of -- delete (as root) the named extents of uid, or those
 * whose name starts with prefix; how many
 */
static int delete_extents_of(struct harness *h, long long uid,
			     const char *prefix)
{
	static const char *const args[] = { "list", "extents", "--json", NULL };
	json_object *arr = ctl_json(h, args), *x, *v;
	struct daxalloc *dx;
	int n = 0;
	size_t i;

	if (!arr || daxalloc_connect(h->sock, &dx) < 0) {
		json_object_put(arr);
		return -1;
	}
	for (i = 0; i < json_object_array_length(arr); i++) {
		const char *name;

		x = json_object_array_get_idx(arr, i);
		if (!json_object_object_get_ex(x, "name", &v))
			continue;
		name = json_object_get_string(v);
		if (!name[0])
			continue;
		if ((uid >= 0 && harness_json_u64(x, "uid") == (uint64_t)uid) ||
		    (prefix && !strncmp(name, prefix, strlen(prefix))))
			n += daxalloc_delete_name(dx, name) == 0;
	}
	daxalloc_disconnect(dx);
	json_object_put(arr);
	return n;
}

/* ---------------------------------------------------------------------- */
/* Raw protocol                                                           */

/* raw_recv -- the next message within ms; NULL on timeout, EOF or error */
static Daxalloc__Envelope *raw_recv(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	Daxalloc__Envelope *env = NULL;
	int fds[WIRE_FDS_MAX];
	unsigned int nfds;

	if (poll(&p, 1, ms) <= 0)
		return NULL;
	if (envelope_recv(fd, &env, fds, &nfds) < 0)
		return NULL;
	wire_close_fds(fds, nfds);
	return env;
}

/* raw_reply -- the next message that is not an event, within ms */
static Daxalloc__Envelope *raw_reply(int fd, int ms)
{
	long long end = harness_now_ms() + ms;
	Daxalloc__Envelope *env;

	for (;;) {
		long long left = end - harness_now_ms();

		env = raw_recv(fd, left > 0 ? (int)left : 0);
		if (!env || envelope_kind(env->body_case) != ENVELOPE_EVENT)
			return env;
		envelope_free(env);
	}
}

/* No reply came (a status is never positive). */
#define RAW_NONE 1

/* raw_call -- send env (version 1, id) and return the reply's status */
static int raw_call(int fd, Daxalloc__Envelope *env, uint64_t id)
{
	Daxalloc__Envelope *rep;
	int st;

	env->version = 1;
	env->id = id;
	if (envelope_send(fd, env, NULL, 0) < 0)
		return RAW_NONE;
	rep = raw_reply(fd, REPLY_MS);
	if (!rep)
		return RAW_NONE;
	st = rep->status;
	envelope_free(rep);
	return st;
}

/* raw_hello -- say Hello; the reply's status */
static int raw_hello(int fd)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT;
	Daxalloc__Hello hello = DAXALLOC__HELLO__INIT;

	hello.version_min = 1;
	hello.version_max = 1;
	hello.client_name = (char *)"hostile";
	env.body_case = DAXALLOC__ENVELOPE__BODY_HELLO;
	env.hello = &hello;
	return raw_call(fd, &env, 1);
}

/* raw_stat_status -- a Stat by id; the reply's status (RAW_NONE: none) */
static int raw_stat_status(int fd, uint64_t id)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT;
	Daxalloc__StatRequest st = DAXALLOC__STAT_REQUEST__INIT;

	st.key_case = DAXALLOC__STAT_REQUEST__KEY_EXTENT_ID;
	st.extent_id = id;
	env.body_case = DAXALLOC__ENVELOPE__BODY_STAT;
	env.stat = &st;
	return raw_call(fd, &env, 77);
}

/*
 * raw_eof -- the daemon closed the connection within ms (what it sent
 * before is read and dropped)
 */
static bool raw_eof(int fd, int ms)
{
	long long end = harness_now_ms() + ms;
	static char buf[WIRE_MSG_MAX];

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = end - harness_now_ms();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return false;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return true;
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return false;
	}
}

/*
 * send_fds -- one datagram with n descriptors attached, through a control
 * buffer as large as it takes (wire_send() stops at WIRE_FDS_MAX)
 *
 * n == 0 sends an SCM_RIGHTS message that carries no descriptor at all.
 */
static int send_fds(int sock, const void *buf, size_t len, const int *fds,
		    unsigned int n)
{
	size_t clen = CMSG_SPACE(sizeof(int) * n);
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	void *cbuf = calloc(1, clen);
	ssize_t r;

	if (!cbuf)
		return -ENOMEM;
	mh.msg_control = cbuf;
	mh.msg_controllen = clen;
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * n);
	if (n)
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * n);
	r = sendmsg(sock, &mh, MSG_NOSIGNAL);
	free(cbuf);
	return r == (ssize_t)len ? 0 : -errno;
}

/* pack -- env (version 1, id) encoded; free() the buffer */
static void *pack(Daxalloc__Envelope *env, uint64_t id, size_t *len)
{
	void *buf;

	env->version = 1;
	env->id = id;
	return envelope_pack(env, &buf, len) < 0 ? NULL : buf;
}

/* ---------------------------------------------------------------------- */
/* The probe: a well-behaved client measuring its latency                 */

#define PROBE_MAX 200000

struct probe_shm {
	volatile int stop, pause, ready;
	volatile unsigned int n, errors;
	char why[256];
	uint32_t us[PROBE_MAX];
};

struct probe {
	pid_t pid;
	struct probe_shm *m;
};

/* What one scenario measured, for the summary at the end. */
struct result {
	char name[40];
	unsigned int n;
	double p50, p99, max;
};

static struct result results[24];
static unsigned int nresults;

/* probe_record -- one request's latency and outcome (in the probe) */
static void probe_record(struct probe_shm *m, long long t0, int r,
			 const char *what)
{
	long long us = now_us() - t0;

	if (m->n < PROBE_MAX)
		m->us[m->n] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
	m->n++;
	if (r < 0 && m->errors++ == 0)
		snprintf(m->why, sizeof(m->why), "%s: %s (%s)", what,
			 daxalloc_strerror(r), daxalloc_errmsg());
}

/*
 * probe_run -- the probe's life (in the child): connect, make its named
 * extent, then Stat it every 2 ms, with an anonymous Alloc and its Delete
 * every fourth turn, until told to stop
 */
static void probe_run(struct probe_shm *m, const char *sock)
{
	struct daxalloc_extent *ext;
	struct daxalloc_info info;
	struct daxalloc *dx;
	char name[32];
	unsigned int i;
	long long t0;
	int r;

	r = daxalloc_connect(sock, &dx);
	if (r < 0) {
		snprintf(m->why, sizeof(m->why), "connect: %s (%s)",
			 daxalloc_strerror(r), daxalloc_errmsg());
		m->errors++;
		_exit(1);
	}
	snprintf(name, sizeof(name), "probe-%d", (int)getpid());
	r = daxalloc_alloc(dx, name, UNIT, 0, 0600, 0, &ext);
	if (r == 0)
		r = daxalloc_close(ext);
	if (r < 0) {
		snprintf(m->why, sizeof(m->why), "alloc %s: %s (%s)", name,
			 daxalloc_strerror(r), daxalloc_errmsg());
		m->errors++;
		_exit(1);
	}
	m->ready = 1;
	for (i = 0; !m->stop; i++) {
		if (m->pause) {
			sleep_ms(1);
			continue;
		}
		t0 = now_us();
		probe_record(m, t0, daxalloc_stat(dx, name, &info), "stat");
		if (i % 4 == 3) {
			t0 = now_us();
			r = daxalloc_alloc(dx, NULL, UNIT, 0, 0600, 0, &ext);
			probe_record(m, t0, r, "alloc");
			if (r == 0) {
				t0 = now_us();
				probe_record(m, t0, daxalloc_delete(ext),
					     "delete");
			}
		}
		sleep_ms(2);
	}
	daxalloc_delete_name(dx, name);
	daxalloc_disconnect(dx);
	_exit(0);
}

/* probe_start -- start a probe on h's daemon and wait until it is served */
static bool probe_start(struct probe *p, struct harness *h)
{
	long long end = harness_now_ms() + 10000;

	p->m = mmap(NULL, sizeof(*p->m), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p->m == MAP_FAILED)
		return false;
	fflush(NULL);
	p->pid = fork();
	if (p->pid < 0)
		return false;
	if (p->pid == 0)
		probe_run(p->m, h->sock);
	while (!p->m->ready) {
		if (harness_now_ms() > end || p->m->errors) {
			fprintf(stderr, "probe did not start: %s\n", p->m->why);
			return false;
		}
		sleep_ms(5);
	}
	return true;
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * probe_stop -- stop the probe, print its figures and check them: never
 * refused, p99 and max under the bound
 */
static void probe_stop(struct probe *p, const char *label)
{
	struct probe_shm *m = p->m;
	struct result *res = &results[nresults < 24 ? nresults++ : 23];
	unsigned int n;
	int st;

	m->stop = 1;
	st = wait_exit(p->pid, 15000);
	n = m->n < PROBE_MAX ? m->n : PROBE_MAX;
	qsort(m->us, n, sizeof(m->us[0]), u32_cmp);
	snprintf(res->name, sizeof(res->name), "%s", label);
	res->n = m->n;
	res->p50 = n ? m->us[n / 2] / 1000. : 0;
	res->p99 = n ? m->us[(size_t)n * 99 / 100] / 1000. : 0;
	res->max = n ? m->us[n - 1] / 1000. : 0;
	fprintf(stderr,
		"\n    [%s] probe: %u requests, p50 %.2f ms, p99 %.2f ms, max %.2f ms, %u refused%s%s ",
		label, m->n, res->p50, res->p99, res->max, m->errors,
		m->errors ? ": " : "", m->errors ? m->why : "");
	CU_ASSERT_EQUAL(st, 0);
	CU_ASSERT_EQUAL(m->errors, 0);
	CU_ASSERT(m->n >= 5);
	CU_ASSERT(res->p99 <= (double)latency_bound_ms);
	CU_ASSERT(res->max <= (double)latency_bound_ms);
	munmap(m, sizeof(*m));
}

/* A scenario: the probe beside it and the daemon's state before it. */
struct scenario {
	const char *name;
	struct harness *h;
	struct probe probe;
	int fds0;
};

/*
 * scenario_begin -- note the daemon's descriptors, start the probe
 *
 * The count is the least seen over 200 ms: a connection the test just
 * closed takes the daemon a loop turn to notice.
 */
static void scenario_begin(struct scenario *s, struct harness *h,
			   const char *name)
{
	int i, n;

	/* Its sd_notify() would block on a full notify socket. */
	harness_drain_notify(h);
	s->name = name;
	s->h = h;
	s->fds0 = harness_pid_fds(h->pid);
	for (i = 0; i < 10; i++) {
		sleep_ms(20);
		n = harness_pid_fds(h->pid);
		if (n > 0 && n < s->fds0)
			s->fds0 = n;
	}
	CU_ASSERT_FATAL(s->fds0 > 0);
	CU_ASSERT_FATAL(probe_start(&s->probe, h));
}

/*
 * scenario_end -- stop the probe and check what every scenario must
 * leave: a live daemon, its descriptors back to where they were (within
 * 5 s: closes are noticed on the next loop turns), a passing check
 */
static void scenario_end(struct scenario *s)
{
	long long end;
	int fds;

	probe_stop(&s->probe, s->name);
	harness_drain_notify(s->h);
	CU_ASSERT_FATAL(harness_alive(s->h));
	end = harness_now_ms() + 5000;
	while ((fds = harness_pid_fds(s->h->pid)) != s->fds0 &&
	       harness_now_ms() < end)
		sleep_ms(20);
	fprintf(stderr, "daemon fds %d -> %d ", s->fds0, fds);
	CU_ASSERT_EQUAL(fds, s->fds0);
	CU_ASSERT_EQUAL(harness_check(s->h), 0);
}

/* ---------------------------------------------------------------------- */
/* Requests, valid and otherwise                                          */

/* Storage for the bodies of one request built by make_request(). */
struct req {
	Daxalloc__Envelope env;
	union {
		Daxalloc__Hello hello;
		Daxalloc__AllocRequest alloc;
		Daxalloc__OpenRequest open;
		Daxalloc__CloseRequest close;
		Daxalloc__TruncateRequest truncate;
		Daxalloc__DeleteRequest del;
		Daxalloc__PinRequest pin;
		Daxalloc__UnpinRequest unpin;
		Daxalloc__LeaseBreakAck ack;
		Daxalloc__StatRequest stat;
		Daxalloc__ListRequest list;
	} u;
	Daxalloc__PinRange range[64];
	Daxalloc__PinRange *ranges[64];
	uint64_t ids[64];
	char name[64];
};

/* Kinds of valid request make_request() builds, to be mutated. */
#define REQ_KINDS 11

/* make_request -- a valid client request of kind k (mod REQ_KINDS) */
static void make_request(struct req *q, unsigned int k)
{
	unsigned int i;

	memset(q, 0, sizeof(*q));
	daxalloc__envelope__init(&q->env);
	snprintf(q->name, sizeof(q->name), "g-%u", (unsigned int)(rnd() % 64));
	switch (k % REQ_KINDS) {
	case 0:
		daxalloc__hello__init(&q->u.hello);
		q->u.hello.version_min = q->u.hello.version_max = 1;
		q->u.hello.client_name = q->name;
		q->env.body_case = DAXALLOC__ENVELOPE__BODY_HELLO;
		q->env.hello = &q->u.hello;
		break;
	case 1:
		daxalloc__alloc_request__init(&q->u.alloc);
		q->u.alloc.size = UNIT;
		q->u.alloc.mode = 0600;
		q->u.alloc.name = rnd() & 1 ? q->name : (char *)"";
		q->env.body_case = DAXALLOC__ENVELOPE__BODY_ALLOC;
		q->env.alloc = &q->u.alloc;
		break;
	case 2:
		daxalloc__open_request__init(&q->u.open);
		q->u.open.key_case = DAXALLOC__OPEN_REQUEST__KEY_NAME;
		q->u.open.name = q->name;
		q->u.open.read_only = rnd() & 1;
		q->env.body_case = DAXALLOC__ENVELOPE__BODY_OPEN;
		q->env.open = &q->u.open;
		break;
	case 3:
		daxalloc__close_request__init(&q->u.close);
		q->u.close.extent_id = 1 + rnd() % 64;
		q->env.body_case = DAXALLOC__ENVELOPE__BODY_CLOSE;
		q->env.close = &q->u.close;
		break;
	case 4:
		daxalloc__truncate_request__init(&q->u.truncate);
		q->u.truncate.extent_id = 1 + rnd() % 64;
		q->u.truncate.size = UNIT * (1 + rnd() % 4);
		q->env.body_case = DAXALLOC__ENVELOPE__BODY_TRUNCATE;
		q->env.truncate = &q->u.truncate;
		break;
	case 5:
		daxalloc__delete_request__init(&q->u.del);
		q->u.del.key_case = DAXALLOC__DELETE_REQUEST__KEY_NAME;
		q->u.del.name = q->name;
		q->env.body_case = DAXALLOC__ENVELOPE__BODY_DELETE;
		q->env.delete_ = &q->u.del;
		break;
	case 6:
		daxalloc__pin_request__init(&q->u.pin);
		for (i = 0; i < 64; i++) {
			daxalloc__pin_range__init(&q->range[i]);
			q->range[i].extent_id = 1 + rnd() % 64;
			q->range[i].offset = rnd() % UNIT;
			q->range[i].length = 1 + rnd() % 4096;
			q->ranges[i] = &q->range[i];
		}
		q->u.pin.n_ranges = 1 + rnd() % 64;
		q->u.pin.ranges = q->ranges;
		q->env.body_case = DAXALLOC__ENVELOPE__BODY_PIN;
		q->env.pin = &q->u.pin;
		break;
	case 7:
		daxalloc__unpin_request__init(&q->u.unpin);
		for (i = 0; i < 64; i++)
			q->ids[i] = rnd() % 100000;
		q->u.unpin.n_pin_ids = 1 + rnd() % 64;
		q->u.unpin.pin_ids = q->ids;
		q->env.body_case = DAXALLOC__ENVELOPE__BODY_UNPIN;
		q->env.unpin = &q->u.unpin;
		break;
	case 8:
		daxalloc__lease_break_ack__init(&q->u.ack);
		q->u.ack.break_id = rnd() % 100000;
		q->env.body_case = DAXALLOC__ENVELOPE__BODY_LEASE_BREAK_ACK;
		q->env.lease_break_ack = &q->u.ack;
		break;
	case 9:
		daxalloc__stat_request__init(&q->u.stat);
		q->u.stat.key_case = DAXALLOC__STAT_REQUEST__KEY_NAME;
		q->u.stat.name = q->name;
		q->env.body_case = DAXALLOC__ENVELOPE__BODY_STAT;
		q->env.stat = &q->u.stat;
		break;
	default:
		daxalloc__list_request__init(&q->u.list);
		q->u.list.openable = rnd() & 1;
		q->env.body_case = DAXALLOC__ENVELOPE__BODY_LIST;
		q->env.list = &q->u.list;
		break;
	}
}

/* Requests with extreme values; each must be answered and refused alone. */
#define EDGES 19

/*
 * make_edge -- well-formed request e (mod EDGES) with values at or past
 * every limit: a request error, never a protocol one, so the connection
 * must stay usable
 */
static void make_edge(struct req *q, unsigned int e, char *big, size_t bigcap)
{
	make_request(q, 0);
	memset(&q->u, 0, sizeof(q->u));
	switch (e % EDGES) {
	case 0: case 1: case 2: case 3: case 4: case 5: case 6: case 16:
		daxalloc__alloc_request__init(&q->u.alloc);
		q->u.alloc.name = (char *)"";
		q->u.alloc.size = 1;
		if (e % EDGES == 0)
			q->u.alloc.size = UINT64_MAX;
		if (e % EDGES == 1)
			q->u.alloc.align = 1ull << 63;
		if (e % EDGES == 2)
			q->u.alloc.align = 3;
		if (e % EDGES == 3) {
			q->u.alloc.size = 1ull << 62;
			q->u.alloc.name = q->name;
		}
		if (e % EDGES == 4)
			q->u.alloc.flags = UINT32_MAX;
		if (e % EDGES == 5)
			q->u.alloc.name = (char *)"bad\x01name";
		if (e % EDGES == 6) {
			memset(big, 'n', bigcap - 1);
			big[bigcap - 1] = '\0';
			q->u.alloc.name = big;
		}
		if (e % EDGES == 16)
			q->u.alloc.mode = UINT32_MAX; /* anonymous: gone at exit */
		q->env.body_case = DAXALLOC__ENVELOPE__BODY_ALLOC;
		q->env.alloc = &q->u.alloc;
		break;
	case 7: case 8:
		daxalloc__open_request__init(&q->u.open);
		if (e % EDGES == 7) {
			q->u.open.key_case = DAXALLOC__OPEN_REQUEST__KEY_EXTENT_ID;
			q->u.open.extent_id = UINT64_MAX;
		}
		q->env.body_case = DAXALLOC__ENVELOPE__BODY_OPEN;
		q->env.open = &q->u.open;
		break;
	case 9:
		daxalloc__truncate_request__init(&q->u.truncate);
		q->u.truncate.extent_id = UINT64_MAX;
		q->u.truncate.size = UINT64_MAX;
		q->env.body_case = DAXALLOC__ENVELOPE__BODY_TRUNCATE;
		q->env.truncate = &q->u.truncate;
		break;
	case 10:
		daxalloc__delete_request__init(&q->u.del);
		q->u.del.key_case = DAXALLOC__DELETE_REQUEST__KEY_EXTENT_ID;
		q->env.body_case = DAXALLOC__ENVELOPE__BODY_DELETE;
		q->env.delete_ = &q->u.del;
		break;
	case 11:
		daxalloc__pin_request__init(&q->u.pin);
		daxalloc__pin_range__init(&q->range[0]);
		q->range[0].extent_id = UINT64_MAX;
		q->range[0].offset = UINT64_MAX;
		q->range[0].length = UINT64_MAX;
		q->ranges[0] = &q->range[0];
		q->u.pin.n_ranges = 1;
		q->u.pin.ranges = q->ranges;
		q->env.body_case = DAXALLOC__ENVELOPE__BODY_PIN;
		q->env.pin = &q->u.pin;
		break;
	case 12: case 13:
		daxalloc__unpin_request__init(&q->u.unpin);
		q->ids[0] = e % EDGES == 12 ? UINT64_MAX : 5;
		q->ids[1] = 5;
		q->u.unpin.n_pin_ids = e % EDGES == 12 ? 1 : 2;
		q->u.unpin.pin_ids = q->ids;
		q->env.body_case = DAXALLOC__ENVELOPE__BODY_UNPIN;
		q->env.unpin = &q->u.unpin;
		break;
	case 14:
		daxalloc__lease_break_ack__init(&q->u.ack);
		q->u.ack.break_id = UINT64_MAX;
		q->env.body_case = DAXALLOC__ENVELOPE__BODY_LEASE_BREAK_ACK;
		q->env.lease_break_ack = &q->u.ack;
		break;
	case 15:
		daxalloc__list_request__init(&q->u.list);
		q->u.list.cursor = UINT64_MAX;
		q->u.list.openable = true;
		q->env.body_case = DAXALLOC__ENVELOPE__BODY_LIST;
		q->env.list = &q->u.list;
		break;
	case 17:
		daxalloc__stat_request__init(&q->u.stat);
		q->u.stat.key_case = DAXALLOC__STAT_REQUEST__KEY_EXTENT_ID;
		q->u.stat.extent_id = UINT64_MAX;
		q->env.body_case = DAXALLOC__ENVELOPE__BODY_STAT;
		q->env.stat = &q->u.stat;
		break;
	default:
		daxalloc__close_request__init(&q->u.close);
		q->u.close.extent_id = UINT64_MAX;
		q->env.body_case = DAXALLOC__ENVELOPE__BODY_CLOSE;
		q->env.close = &q->u.close;
		break;
	}
}

/* mutate -- 1 to 4 random changes: flipped bits, bytes replaced or cut */
static size_t mutate(uint8_t *buf, size_t len)
{
	unsigned int i, n = 1 + rnd() % 4;

	for (i = 0; i < n && len > 1; i++) {
		size_t at = rnd() % len;

		switch (rnd() % 3) {
		case 0:
			buf[at] ^= (uint8_t)(1u << (rnd() % 8));
			break;
		case 1:
			buf[at] = (uint8_t)rnd();
			break;
		default:
			memmove(buf + at, buf + at + 1, len - at - 1);
			len--;
			break;
		}
	}
	return len;
}

/* ---------------------------------------------------------------------- */
/* Suite                                                                  */

/*
 * shm_pool -- make and format the 256 MiB pool file in /dev/shm; false
 * when that is not possible (the pool then goes in the harness's folder)
 */
static bool shm_pool(void)
{
	const char *format[] = { getenv("DAXALLOCD"), "--device", pool_path,
				 "--unit", "64K", "--format", "--config",
				 "/dev/null", NULL };
	char out[4096];
	int fd, st;

	if (access("/dev/shm", W_OK) < 0)
		return false;
	snprintf(pool_path, sizeof(pool_path),
		 "/dev/shm/daxalloc-hostile-%d.img", (int)getpid());
	fd = open(pool_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return false;
	if (ftruncate(fd, 256 << 20) < 0 ||
	    harness_run(format, out, sizeof(out), &st) < 0 || st) {
		close(fd);
		unlink(pool_path);
		return false;
	}
	close(fd);
	return true;
}

static int suite_init(void)
{
	const char *bound = getenv("DAXALLOC_TEST_LATENCY_MS");
	const char *s = getenv("DAXALLOC_TEST_SEED");
	const char *args[] = { "--config", conf_path, "--device", pool_path,
			       "--size", "256M", "--unit", "64K", NULL };
	FILE *f;

	if (bound && atoll(bound) > 0)
		latency_bound_ms = atoll(bound);
	seed = s ? strtoull(s, NULL, 0) : (uint64_t)time(NULL) ^ (uint64_t)getpid();
	fprintf(stderr, "test_hostile: seed %llu (DAXALLOC_TEST_SEED replays it), latency bound %lld ms\n",
		(unsigned long long)seed, latency_bound_ms);
	if (geteuid() != 0) {
		fprintf(stderr, "test_hostile: needs root (other users, prlimit on the daemon)\n");
		return -1;
	}
	if (harness_init(&hh) < 0)
		return -1;
	snprintf(conf_path, sizeof(conf_path), "%s/hostile.conf", hh.dir);
	if (shm_pool())
		args[4] = NULL; /* made and formatted: no --size, --unit */
	else
		snprintf(pool_path, sizeof(pool_path), "%s/pool.img", hh.dir);
	fprintf(stderr, "test_hostile: pool %s\n", pool_path);
	f = fopen(conf_path, "w");
	if (!f)
		return -1;
	fputs(conf_text, f);
	fclose(f);
	if (harness_start(&hh, args) < 0)
		return -1;
	/* As installed: 0660, the socket's group; the folder lets others through. */
	if (chown(hh.sock, 0, HOSTILE_GID) < 0 || chmod(hh.dir, 0711) < 0)
		return -1;
	return 0;
}

static int suite_fini(void)
{
	unsigned int i;

	fprintf(stderr, "\n\nprobe latency per scenario (bound %lld ms):\n",
		latency_bound_ms);
	fprintf(stderr, "  %-24s %8s %9s %9s %9s\n", "scenario", "requests",
		"p50 ms", "p99 ms", "max ms");
	for (i = 0; i < nresults; i++)
		fprintf(stderr, "  %-24s %8u %9.2f %9.2f %9.2f\n",
			results[i].name, results[i].n, results[i].p50,
			results[i].p99, results[i].max);
	harness_fini(&hh);
	if (!strncmp(pool_path, "/dev/shm/", 9))
		unlink(pool_path);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Garbage                                                                */

/* garbage_junk -- random bytes before Hello: refused, then closed */
static void garbage_junk(int fd)
{
	static uint8_t buf[2048];
	Daxalloc__Envelope *rep;
	size_t len = 1 + rnd() % sizeof(buf), i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)rnd();
	CHILD_CHECK(send(fd, buf, len, 0) == (ssize_t)len);
	rep = raw_reply(fd, REPLY_MS);
	CHILD_CHECK(rep != NULL);
	/* A random Hello that happens to be valid is served; nothing else. */
	if (rep->status < 0)
		CHILD_CHECK(raw_eof(fd, REPLY_MS));
	envelope_free(rep);
}

/*
 * garbage_mangled -- after Hello, a valid request mutated or cut short:
 * one answer, then either the connection still serves or it is closed
 */
static void garbage_mangled(int fd, bool cut)
{
	Daxalloc__Envelope *rep;
	struct req q;
	uint8_t *buf;
	size_t len;
	int st;

	CHILD_CHECK(raw_hello(fd) == 0);
	make_request(&q, (unsigned int)rnd());
	buf = pack(&q.env, 2, &len);
	CHILD_CHECK(buf != NULL);
	len = cut ? (len > 1 ? len / 2 : 1) : mutate(buf, len);
	CHILD_CHECK(send(fd, buf, len, 0) == (ssize_t)len);
	free(buf);
	rep = raw_reply(fd, REPLY_MS);
	CHILD_CHECK(rep != NULL);
	envelope_free(rep);
	/* Served on, or closed: never silent. */
	st = raw_stat_status(fd, UINT64_MAX - 1);
	CHILD_CHECK(st == -ENOENT || (st == RAW_NONE && raw_eof(fd, 1000)));
}

/* garbage_edge -- after Hello, an extreme request: refused, still served */
static void garbage_edge(int fd, unsigned int e)
{
	static char big[4000];
	Daxalloc__Envelope *rep;
	struct req q;
	int st;

	CHILD_CHECK(raw_hello(fd) == 0);
	make_edge(&q, e, big, sizeof(big));
	q.env.version = 1;
	q.env.id = 3;
	CHILD_CHECK(envelope_send(fd, &q.env, NULL, 0) == 0);
	rep = raw_reply(fd, REPLY_MS);
	CHILD_CHECK(rep != NULL);
	if (rep->status > 0 || (rep->status == 0 && e % EDGES != 15 &&
				e % EDGES != 16 && e % EDGES != 10))
		fprintf(stderr, "edge %u: status %d (%s)\n", e % EDGES,
			rep->status, rep->message);
	CHILD_CHECK(rep->id == 3 && rep->status <= 0);
	/* An extent it did get goes at once (its exit would free it too). */
	if (rep->status == 0 && rep->extent_reply &&
	    rep->extent_reply->extent) {
		Daxalloc__DeleteRequest dr = DAXALLOC__DELETE_REQUEST__INIT;
		Daxalloc__Envelope del = DAXALLOC__ENVELOPE__INIT;

		dr.key_case = DAXALLOC__DELETE_REQUEST__KEY_EXTENT_ID;
		dr.extent_id = rep->extent_reply->extent->id;
		del.body_case = DAXALLOC__ENVELOPE__BODY_DELETE;
		del.delete_ = &dr;
		CHILD_CHECK(raw_call(fd, &del, 4) == 0);
	}
	envelope_free(rep);
	st = raw_stat_status(fd, UINT64_MAX - 1);
	CHILD_CHECK(st == -ENOENT);
}

/* garbage_child -- as nobody in the socket's group: rounds of garbage */
static void garbage_child(long idx)
{
	long long end = harness_now_ms() + 1500;
	unsigned int i;

	rnd_seed(1000 + (uint64_t)idx);
	become_nobody(true);
	/* At least 160 rounds, and for 1.5 s. */
	for (i = 0; i < 160 || harness_now_ms() < end; i++) {
		int fd = harness_connect(hh.sock, 5);

		CHILD_CHECK(fd >= 0);
		switch (i % 4) {
		case 0:
			garbage_junk(fd);
			break;
		case 1:
			garbage_mangled(fd, false);
			break;
		case 2:
			garbage_mangled(fd, true);
			break;
		default:
			garbage_edge(fd, i / 4);
			break;
		}
		close(fd);
	}
}

/*
 * test_garbage -- random datagrams, mutated and truncated requests, and
 * requests with extreme values, from two processes at once
 *
 * Every datagram gets exactly one answer: an error that closes the
 * connection for what breaks the protocol, a refusal that keeps it for a
 * well-formed request the daemon will not do.
 */
static void test_garbage(void)
{
	struct scenario s;
	pid_t pid[2];
	int i;

	scenario_begin(&s, &hh, "garbage");
	for (i = 0; i < 2; i++)
		pid[i] = spawn(garbage_child, i);
	for (i = 0; i < 2; i++)
		CU_ASSERT_EQUAL(wait_exit(pid[i], 60000), 0);
	/* Named extents a mutated Alloc may have made. */
	CU_ASSERT(delete_extents_of(&hh, NOBODY, NULL) >= 0);
	scenario_end(&s);
}

/* ---------------------------------------------------------------------- */
/* Oversized datagrams                                                    */

/* oversized_child -- datagrams past 64 KiB, before and after Hello */
static void oversized_child(long idx)
{
	static const size_t sizes[] = { WIRE_MSG_MAX + 1, WIRE_MSG_MAX + 64,
					100000, 200000 };
	static uint8_t buf[200000];
	long long end = harness_now_ms() + 1500;
	int sndbuf = 1 << 20, round, fd, st;
	Daxalloc__Envelope *rep;
	size_t i;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + idx);
	for (round = 0; round < 8 || harness_now_ms() < end; round++) {
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			fd = harness_connect(hh.sock, 5);
			CHILD_CHECK(fd >= 0);
			/* Root may pass wmem_max: the default would refuse 200000. */
			CHILD_CHECK(setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE,
					       &sndbuf, sizeof(sndbuf)) == 0);
			if (round & 1)
				CHILD_CHECK(raw_hello(fd) == 0);
			CHILD_CHECK(send(fd, buf, sizes[i], 0) ==
				    (ssize_t)sizes[i]);
			rep = raw_reply(fd, REPLY_MS);
			CHILD_CHECK(rep != NULL && rep->status == -EMSGSIZE);
			envelope_free(rep);
			CHILD_CHECK(raw_eof(fd, REPLY_MS));
			close(fd);
		}
		/* Exactly 64 KiB of garbage: malformed, not too large. */
		fd = harness_connect(hh.sock, 5);
		CHILD_CHECK(fd >= 0);
		CHILD_CHECK(send(fd, buf, WIRE_MSG_MAX, 0) == WIRE_MSG_MAX);
		rep = raw_reply(fd, REPLY_MS);
		CHILD_CHECK(rep != NULL && rep->status == -EBADMSG);
		envelope_free(rep);
		CHILD_CHECK(raw_eof(fd, REPLY_MS));
		close(fd);
	}
	/* A valid request of exactly 64 KiB is served, and so is the next. */
	{
		Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT;
		Daxalloc__StatRequest sr = DAXALLOC__STAT_REQUEST__INIT;
		static char name[WIRE_MSG_MAX];
		size_t len = 0, want = WIRE_MSG_MAX - 16;

		sr.key_case = DAXALLOC__STAT_REQUEST__KEY_NAME;
		sr.name = name;
		env.version = 1;
		env.id = 5;
		env.body_case = DAXALLOC__ENVELOPE__BODY_STAT;
		env.stat = &sr;
		for (i = 0; i < 8 && len != WIRE_MSG_MAX; i++) {
			memset(name, 'x', want);
			name[want] = '\0';
			len = daxalloc__envelope__get_packed_size(&env);
			want = want + WIRE_MSG_MAX - len;
		}
		CHILD_CHECK(len == WIRE_MSG_MAX);
		fd = harness_connect(hh.sock, 5);
		CHILD_CHECK(fd >= 0 && raw_hello(fd) == 0);
		st = raw_call(fd, &env, 5);
		CHILD_CHECK(st < 0 && st != -EMSGSIZE && st != -EBADMSG);
		CHILD_CHECK(raw_stat_status(fd, UINT64_MAX - 1) == -ENOENT);
		close(fd);
	}
}

/*
 * test_oversized -- datagrams of 64 KiB + 1 up to 200000 bytes, before
 * and after Hello, from two processes: -EMSGSIZE and a close each time;
 * exactly 64 KiB is not too large
 */
static void test_oversized(void)
{
	struct scenario s;
	pid_t pid[2];
	int i;

	scenario_begin(&s, &hh, "oversized");
	for (i = 0; i < 2; i++)
		pid[i] = spawn(oversized_child, i);
	for (i = 0; i < 2; i++)
		CU_ASSERT_EQUAL(wait_exit(pid[i], 60000), 0);
	scenario_end(&s);
}

/* ---------------------------------------------------------------------- */
/* Descriptors                                                            */

/*
 * fds_attack -- payload with n copies of a pipe's read end attached; the
 * expected status; then the daemon must have closed every copy it got:
 * with ours closed too, a write to the pipe fails with EPIPE
 */
static void fds_attack(bool hello_first, const void *payload, size_t len,
		       unsigned int n, int want)
{
	int fd = harness_connect(hh.sock, 5), pfd[2], *fds;
	Daxalloc__Envelope *rep;
	unsigned int i;

	CU_ASSERT_FATAL(fd >= 0);
	if (hello_first)
		CU_ASSERT_EQUAL_FATAL(raw_hello(fd), 0);
	CU_ASSERT_FATAL(pipe2(pfd, O_CLOEXEC) == 0);
	fds = calloc(n + 1, sizeof(*fds));
	CU_ASSERT_PTR_NOT_NULL_FATAL(fds);
	for (i = 0; i < n; i++) {
		fds[i] = fcntl(pfd[0], F_DUPFD_CLOEXEC, 0);
		CU_ASSERT_FATAL(fds[i] >= 0);
	}
	CU_ASSERT_EQUAL(send_fds(fd, payload, len, fds, n), 0);
	for (i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
	close(pfd[0]);
	rep = raw_reply(fd, REPLY_MS);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rep);
	if (rep->status != want)
		fprintf(stderr, "\n%u fds: status %d (%s), expected %d\n", n,
			rep->status, rep->message, want);
	CU_ASSERT_EQUAL(rep->status, want);
	envelope_free(rep);
	if (want != 0) {
		CU_ASSERT(raw_eof(fd, REPLY_MS));
		CU_ASSERT(write(pfd[1], "x", 1) < 0 && errno == EPIPE);
	}
	close(pfd[1]);
	close(fd);
}

/*
 * test_fds -- descriptors on the client socket: an SCM_RIGHTS message
 * with none is no descriptor; one (on Hello, on a request) is -EBADMSG
 * and a close; five and 253 (the kernel's maximum, through a control
 * buffer made for it) are -ETOOMANYREFS and a close, whatever the payload
 * (a Hello, a request, garbage, an oversized or an empty datagram).  Every
 * descriptor that reached the daemon is closed, and its descriptor count
 * comes back.
 */
static void test_fds(void)
{
	static uint8_t junk[70000];
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT;
	Daxalloc__Hello hello = DAXALLOC__HELLO__INIT;
	Daxalloc__StatRequest sr = DAXALLOC__STAT_REQUEST__INIT;
	void *hbuf, *sbuf;
	size_t hlen, slen, i;
	struct scenario s;
	long long end;
	int round, fd;

	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 13 + 1);
	hello.version_min = hello.version_max = 1;
	env.body_case = DAXALLOC__ENVELOPE__BODY_HELLO;
	env.hello = &hello;
	hbuf = pack(&env, 1, &hlen);
	sr.key_case = DAXALLOC__STAT_REQUEST__KEY_EXTENT_ID;
	sr.extent_id = UINT64_MAX - 1;
	env.body_case = DAXALLOC__ENVELOPE__BODY_STAT;
	env.stat = &sr;
	sbuf = pack(&env, 2, &slen);
	CU_ASSERT_FATAL(hbuf && sbuf);

	scenario_begin(&s, &hh, "fds 0/1/5/253");
	/* Zero descriptors: an empty SCM_RIGHTS is no descriptor at all. */
	fd = harness_connect(hh.sock, 5);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(send_fds(fd, hbuf, hlen, NULL, 0), 0);
	{
		Daxalloc__Envelope *rep = raw_reply(fd, REPLY_MS);

		CU_ASSERT(rep && rep->status == 0);
		envelope_free(rep);
	}
	CU_ASSERT_EQUAL(send_fds(fd, sbuf, slen, NULL, 0), 0);
	{
		Daxalloc__Envelope *rep = raw_reply(fd, REPLY_MS);

		CU_ASSERT(rep && rep->status == -ENOENT);
		envelope_free(rep);
	}
	CU_ASSERT_EQUAL(raw_stat_status(fd, UINT64_MAX - 1), -ENOENT);
	close(fd);

	end = harness_now_ms() + 1500;
	for (round = 0; round < 6 || harness_now_ms() < end; round++) {
		/* One descriptor: within what the daemon can receive, refused. */
		fds_attack(false, hbuf, hlen, 1, -EBADMSG);
		fds_attack(true, sbuf, slen, 1, -EBADMSG);
		/* Five: one more than it has room for. */
		fds_attack(true, sbuf, slen, WIRE_FDS_MAX + 1, -ETOOMANYREFS);
		/* 253, on every kind of payload. */
		fds_attack(false, hbuf, hlen, SCM_FDS_MAX, -ETOOMANYREFS);
		fds_attack(true, sbuf, slen, SCM_FDS_MAX, -ETOOMANYREFS);
		fds_attack(true, junk, 100, SCM_FDS_MAX, -ETOOMANYREFS);
		fds_attack(false, junk, 1, SCM_FDS_MAX, -ETOOMANYREFS);
		fds_attack(true, junk, 0, SCM_FDS_MAX, -ETOOMANYREFS);
	}
	/* Oversized with 253: either complaint, the descriptors closed. */
	{
		int sndbuf = 1 << 20, pfd[2], fds[SCM_FDS_MAX];
		Daxalloc__Envelope *rep;

		fd = harness_connect(hh.sock, 5);
		CU_ASSERT_FATAL(fd >= 0 && pipe2(pfd, O_CLOEXEC) == 0);
		setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf,
			   sizeof(sndbuf));
		for (i = 0; i < SCM_FDS_MAX; i++)
			fds[i] = pfd[0];
		CU_ASSERT_EQUAL(send_fds(fd, junk, sizeof(junk), fds,
					 SCM_FDS_MAX), 0);
		close(pfd[0]);
		rep = raw_reply(fd, REPLY_MS);
		CU_ASSERT(rep && (rep->status == -ETOOMANYREFS ||
				  rep->status == -EMSGSIZE));
		envelope_free(rep);
		CU_ASSERT(raw_eof(fd, REPLY_MS));
		CU_ASSERT(write(pfd[1], "x", 1) < 0 && errno == EPIPE);
		close(pfd[1]);
		close(fd);
	}
	scenario_end(&s);
	free(hbuf);
	free(sbuf);
}

/* ---------------------------------------------------------------------- */
/* A refused client that keeps talking                                    */

/* The connection the talkers pour into, and when they stop. */
struct talk {
	int fd;
	long long end;
	bool broken;
};

/*
 * talk_pour -- one thread: one-byte datagrams as fast as the socket takes
 * them, 64 per system call, many times what a reader taking one per call
 * can keep up with
 */
static void *talk_pour(void *arg)
{
	static char b = 'x';
	struct iovec iov = { .iov_base = &b, .iov_len = 1 };
	struct mmsghdr mm[64];
	struct talk *t = arg;
	unsigned int i;

	memset(mm, 0, sizeof(mm));
	for (i = 0; i < 64; i++) {
		mm[i].msg_hdr.msg_iov = &iov;
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	while (!t->broken && harness_now_ms() < t->end)
		if (sendmmsg(t->fd, mm, 64, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
		    errno != EAGAIN && errno != ENOBUFS)
			t->broken = true;
	return NULL;
}

/*
 * talker_child -- hold every connection the process may have, then keep
 * opening one more and pouring datagrams into it from two threads, faster
 * than one reader can take them, for 1.5 s
 */
static void talker_child(long unused)
{
	struct talk t;
	pthread_t th[2];
	int i, fd, refused = 0;

	for (i = 0; i < 64; i++) {
		fd = harness_connect(hh.sock, 5);
		CHILD_CHECK(fd >= 0 && raw_hello(fd) == 0);
	}
	t.end = harness_now_ms() + 1500;
	while (harness_now_ms() < t.end) {
		t.fd = harness_connect(hh.sock, 5);
		if (t.fd < 0)
			continue;
		t.broken = false;
		for (i = 0; i < 2; i++)
			CHILD_CHECK(pthread_create(&th[i], NULL, talk_pour, &t) ==
				    0);
		for (i = 0; i < 2; i++)
			pthread_join(th[i], NULL);
		refused += t.broken;
		close(t.fd);
	}
	fprintf(stderr, "(%d refusals) ", refused);
	CHILD_CHECK(refused > 0);
}

/*
 * test_refused_talker -- a process past connections_per_process floods the
 * connection the daemon refuses: the refusal must not make the daemon
 * read it forever
 */
static void test_refused_talker(void)
{
	struct scenario s;
	pid_t pid;

	scenario_begin(&s, &hh, "refused talker");
	pid = spawn(talker_child, 0);
	CU_ASSERT_EQUAL(wait_exit(pid, 30000), 0);
	scenario_end(&s);
}

/* ---------------------------------------------------------------------- */
/* Connection flood past RLIMIT_NOFILE                                    */

/*
 * flood_child -- open n connections (non-blocking connect: a full backlog
 * refuses instead of waiting), say Hello on each without waiting, report
 * how many were taken, then hold them until killed
 */
static void flood_child(long arg)
{
	int n = (int)(arg & 0xffff), report = (int)(arg >> 16), i, ok = 0;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT;
	Daxalloc__Hello hello = DAXALLOC__HELLO__INIT;
	size_t len;
	void *buf;

	hello.version_min = hello.version_max = 1;
	hello.client_name = (char *)"flood";
	env.body_case = DAXALLOC__ENVELOPE__BODY_HELLO;
	env.hello = &hello;
	buf = pack(&env, 1, &len);
	CHILD_CHECK(buf != NULL);
	strcpy(sa.sun_path, hh.sock);
	for (i = 0; i < n; i++) {
		int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK |
					 SOCK_CLOEXEC, 0);

		CHILD_CHECK(fd >= 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			close(fd);
			continue;
		}
		send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		ok++;
	}
	CHILD_CHECK(write(report, &ok, sizeof(ok)) == sizeof(ok));
	for (;;)
		pause();
}

/*
 * test_fd_flood -- connections up to and past the daemon's RLIMIT_NOFILE
 *
 * The limit is lowered (prlimit) to 40 above what the daemon has open,
 * then three processes open 100 connections each.  The daemon must pause
 * accepting (its log says so) rather than spin: over a second of that
 * pause, with the probe idle, it may use little CPU.  The probe, already
 * connected, is served throughout.  When the flood ends, every descriptor
 * comes back and new connections are accepted again.
 */
static void test_fd_flood(void)
{
	struct rlimit old, low;
	struct scenario s;
	long long cpu0, cpu1;
	int pfd[2], i, total = 0, n, fds, paused0;
	pid_t pid[3];

	scenario_begin(&s, &hh, "fd flood");
	paused0 = harness_log_count(&hh, "pausing accept");
	CU_ASSERT_FATAL(prlimit(hh.pid, RLIMIT_NOFILE, NULL, &old) == 0);
	low = old;
	low.rlim_cur = (rlim_t)harness_pid_fds(hh.pid) + 40;
	CU_ASSERT_FATAL(prlimit(hh.pid, RLIMIT_NOFILE, &low, NULL) == 0);
	CU_ASSERT_FATAL(pipe2(pfd, O_CLOEXEC) == 0);
	for (i = 0; i < 3; i++)
		pid[i] = spawn(flood_child, 100 | ((long)pfd[1] << 16));
	for (i = 0; i < 3; i++) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };

		CU_ASSERT(poll(&p, 1, 10000) == 1 &&
			  read(pfd[0], &n, sizeof(n)) == sizeof(n));
		total += n;
	}
	CU_ASSERT(wait_log(&hh, "pausing accept", paused0, 5000));
	fds = harness_pid_fds(hh.pid);
	fprintf(stderr, "(%d connections made, daemon at %d of %llu fds) ",
		total, fds, (unsigned long long)low.rlim_cur);
	CU_ASSERT(fds <= (int)low.rlim_cur);
	CU_ASSERT(total > 40);

	/* A second of paused accept, the probe quiet: the daemon idles. */
	s.probe.m->pause = 1;
	sleep_ms(200);
	cpu0 = harness_pid_cpu_ms(hh.pid);
	sleep_ms(1000);
	cpu1 = harness_pid_cpu_ms(hh.pid);
	s.probe.m->pause = 0;
	fprintf(stderr, "(daemon CPU over 1 s of paused accept: %lld ms) ",
		cpu1 - cpu0);
	CU_ASSERT(cpu0 >= 0 && cpu1 - cpu0 <= 100);
	/* The flood goes on a while, the probe being served. */
	sleep_ms(500);

	for (i = 0; i < 3; i++) {
		kill(pid[i], SIGKILL);
		CU_ASSERT_EQUAL(wait_exit(pid[i], 5000), 128 + SIGKILL);
	}
	close(pfd[0]);
	close(pfd[1]);
	CU_ASSERT_EQUAL(prlimit(hh.pid, RLIMIT_NOFILE, &old, NULL), 0);
	/* Accepting again: a new client is served. */
	{
		long long end = harness_now_ms() + 5000;
		struct daxalloc *dx = NULL;

		while (daxalloc_connect(hh.sock, &dx) < 0 &&
		       harness_now_ms() < end)
			sleep_ms(50);
		CU_ASSERT_PTR_NOT_NULL(dx);
		daxalloc_disconnect(dx);
	}
	scenario_end(&s);
}

/* ---------------------------------------------------------------------- */
/* Clients that do not read                                               */

/*
 * pipeline_unread -- send the datagram buf over and over, reading nothing,
 * until the daemon stops taking them for a second (or cuts us off); how
 * many went
 */
static unsigned int pipeline_unread(int fd, const void *buf, size_t len,
				    unsigned int most)
{
	long long end = harness_now_ms() + 8000, stall = harness_now_ms() + 1000;
	unsigned int sent = 0;

	while (sent < most && harness_now_ms() < end &&
	       harness_now_ms() < stall) {
		ssize_t r = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (r == (ssize_t)len) {
			sent++;
			stall = harness_now_ms() + 1000;
		} else if (errno == EAGAIN || errno == ENOBUFS) {
			sleep_ms(1);
		} else {
			break;
		}
	}
	return sent;
}

/*
 * cut_off_figures -- the messages and bytes of the last "does not read"
 * line of the log; false if there is none
 */
static bool cut_off_figures(struct harness *h, unsigned int *msgs,
			    size_t *bytes)
{
	char *line = NULL, *p;
	size_t cap = 0;
	bool found = false;
	FILE *f = fopen(h->log, "re");

	if (!f)
		return false;
	while (getline(&line, &cap, f) > 0) {
		p = strstr(line, "does not read its socket: ");
		if (p && sscanf(p, "does not read its socket: %u messages (%zu bytes)",
				msgs, bytes) == 2)
			found = true;
	}
	free(line);
	fclose(f);
	return found;
}

/*
 * test_no_read_replies -- clients that pipeline requests and never read an
 * answer
 *
 * Small replies (Stat) pass the message bound, large ones (List pages of
 * long names) the byte bound: either way the daemon stops reading the
 * client, then closes it with a log line naming the figures, while the
 * probe is served.  A third client fills its socket, then sends garbage:
 * the daemon's last reply cannot be written, and the connection must not
 * stay open for ever waiting for it.
 */
static void test_no_read_replies(void)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT;
	Daxalloc__StatRequest sr = DAXALLOC__STAT_REQUEST__INIT;
	Daxalloc__ListRequest lr = DAXALLOC__LIST_REQUEST__INIT;
	struct daxalloc_extent *ext;
	struct daxalloc *dx;
	char name[DAXALLOC_NAME_MAX + 1];
	struct scenario s;
	unsigned int sent, msgs = 0;
	size_t slen, llen, bytes = 0;
	void *sbuf, *lbuf;
	int fd, cut0, i;
	long long t0;

	sr.key_case = DAXALLOC__STAT_REQUEST__KEY_EXTENT_ID;
	sr.extent_id = UINT64_MAX - 1;
	env.body_case = DAXALLOC__ENVELOPE__BODY_STAT;
	env.stat = &sr;
	sbuf = pack(&env, 9, &slen);
	lr.openable = true;
	env.body_case = DAXALLOC__ENVELOPE__BODY_LIST;
	env.list = &lr;
	lbuf = pack(&env, 10, &llen);
	CU_ASSERT_FATAL(sbuf && lbuf);
	/* 150 extents with 170-byte names: a List page of some 30 KiB. */
	CU_ASSERT_EQUAL_FATAL(daxalloc_connect(hh.sock, &dx), 0);
	for (i = 0; i < 150; i++) {
		memset(name, 'l', 170);
		snprintf(name + 160, sizeof(name) - 160, "-%09d", i);
		CU_ASSERT_EQUAL_FATAL(daxalloc_alloc(dx, name, UNIT, 0, 0600,
						     DAXALLOC_NO_MAP, &ext), 0);
		CU_ASSERT_EQUAL(daxalloc_close(ext), 0);
	}

	scenario_begin(&s, &hh, "never reads replies");
	/* Small replies: the message bound. */
	cut0 = harness_log_count(&hh, "does not read");
	fd = harness_connect(hh.sock, 5);
	CU_ASSERT_FATAL(fd >= 0 && raw_hello(fd) == 0);
	sent = pipeline_unread(fd, sbuf, slen, 100000);
	CU_ASSERT(wait_log(&hh, "does not read", cut0, 8000));
	CU_ASSERT(cut_off_figures(&hh, &msgs, &bytes));
	fprintf(stderr, "(%u Stats sent, cut off with %u messages, %zu bytes queued) ",
		sent, msgs, bytes);
	CU_ASSERT(msgs > CONN_OUTQ_MAX_TEST && bytes <= CONN_OUTQ_BYTES_TEST);
	CU_ASSERT(raw_eof(fd, REPLY_MS));
	close(fd);

	/* Large replies: the byte bound, long before the message one. */
	cut0 = harness_log_count(&hh, "does not read");
	fd = harness_connect(hh.sock, 5);
	CU_ASSERT_FATAL(fd >= 0 && raw_hello(fd) == 0);
	sent = pipeline_unread(fd, lbuf, llen, 100000);
	CU_ASSERT(wait_log(&hh, "does not read", cut0, 8000));
	CU_ASSERT(cut_off_figures(&hh, &msgs, &bytes));
	fprintf(stderr, "(%u Lists sent, cut off with %u messages, %zu bytes queued) ",
		sent, msgs, bytes);
	CU_ASSERT(msgs <= CONN_OUTQ_MAX_TEST && bytes > CONN_OUTQ_BYTES_TEST);
	CU_ASSERT(raw_eof(fd, REPLY_MS));
	close(fd);

	/*
	 * Within the bounds, then a protocol error: the error reply queues
	 * behind what the socket holds, unread.  The connection goes anyway.
	 */
	fd = harness_connect(hh.sock, 5);
	CU_ASSERT_FATAL(fd >= 0 && raw_hello(fd) == 0);
	sent = pipeline_unread(fd, sbuf, slen, 400);
	CU_ASSERT_EQUAL(send(fd, "\xff\xff", 2, MSG_NOSIGNAL), 2);
	t0 = harness_now_ms();
	/* The probe's, dx's and this one; then this one goes. */
	CU_ASSERT_EQUAL(wait_status(&hh, "client_connections", 2, 10000), 2);
	fprintf(stderr, "(a closing client that does not read: closed after %lld ms) ",
		harness_now_ms() - t0);
	close(fd);
	free(sbuf);
	free(lbuf);
	scenario_end(&s);
	for (i = 0; i < 150; i++) {
		memset(name, 'l', 170);
		snprintf(name + 160, sizeof(name) - 160, "-%09d", i);
		CU_ASSERT_EQUAL(daxalloc_delete_name(dx, name), 0);
	}
	daxalloc_disconnect(dx);
}

/* Extents whose lease breaks flood the victim. */
#define VICTIM_EXTENTS 700

/*
 * victim_child -- open every ev-N read-only, then sleep without reading
 * the socket until told 'g'; then dispatch events (reconnecting, taking
 * the breaks, acknowledging) until told 'q'
 */
static void victim_child(long arg)
{
	int cmd = (int)(arg & 0xffff), ans = (int)(arg >> 16), efd, r;
	struct daxalloc_extent *ext;
	long long handled = 0;
	struct daxalloc *dx;
	char name[32], c;
	unsigned int i;

	CHILD_CHECK(daxalloc_connect(hh.sock, &dx) == 0);
	for (i = 0; i < VICTIM_EXTENTS; i++) {
		snprintf(name, sizeof(name), "ev-%u", i);
		CHILD_CHECK(daxalloc_open(dx, name, DAXALLOC_RDONLY, &ext) ==
			    0);
	}
	CHILD_CHECK(say(ans, 'R'));
	CHILD_CHECK(read(cmd, &c, 1) == 1 && c == 'g');
	efd = daxalloc_event_fd(dx);
	CHILD_CHECK(efd >= 0);
	for (;;) {
		struct pollfd p[2] = { { .fd = efd, .events = POLLIN },
				       { .fd = cmd, .events = POLLIN } };

		poll(p, 2, 100);
		if (p[1].revents)
			break;
		r = daxalloc_dispatch(dx);
		if (r > 0)
			handled += r;
	}
	fprintf(stderr, "(victim handled %lld events) ", handled);
	daxalloc_disconnect(dx);
}

/*
 * test_no_read_events -- a lease holder that never reads while its lease
 * breaks are pushed
 *
 * The victim opens 700 extents; another client deletes them all, and
 * each delete pushes it a lease break.  Past what its socket and the
 * daemon's queue hold, the daemon closes the victim's connection (log
 * line).  As docs/core-rule.md says, the breaks belong to the process,
 * not the connection: they stay pending, the 700 ranges stay quarantined.
 * When the victim wakes up, libdaxalloc reconnects and gets every pending
 * break at once; it must be able to take them all and acknowledge, and the
 * quarantine empties.
 */
static void test_no_read_events(void)
{
	struct daxalloc_extent *ext;
	struct daxalloc *dx;
	struct scenario s;
	int cmd[2], ans[2], i, cut0;
	char name[32];
	pid_t pid;
	uint64_t q;

	CU_ASSERT_EQUAL_FATAL(daxalloc_connect(hh.sock, &dx), 0);
	for (i = 0; i < VICTIM_EXTENTS; i++) {
		snprintf(name, sizeof(name), "ev-%d", i);
		CU_ASSERT_EQUAL_FATAL(daxalloc_alloc(dx, name, UNIT, 0, 0644,
						     DAXALLOC_NO_MAP, &ext), 0);
		CU_ASSERT_EQUAL(daxalloc_close(ext), 0);
	}
	CU_ASSERT_FATAL(pipe(cmd) == 0 && pipe(ans) == 0);

	scenario_begin(&s, &hh, "never reads events");
	cut0 = harness_log_count(&hh, "does not read");
	pid = spawn(victim_child, cmd[0] | ((long)ans[1] << 16));
	CU_ASSERT_EQUAL_FATAL(hear(ans[0], 60000), 'R');
	for (i = 0; i < VICTIM_EXTENTS; i++) {
		snprintf(name, sizeof(name), "ev-%d", i);
		CU_ASSERT_EQUAL(daxalloc_delete_name(dx, name), 0);
	}
	CU_ASSERT(wait_log(&hh, "does not read", cut0, 8000));
	/* The connection is gone; the breaks and the quarantine are not. */
	CU_ASSERT_EQUAL(process_entry(&hh, pid, "connections"), 0);
	CU_ASSERT_EQUAL(process_entry(&hh, pid, "breaks"), VICTIM_EXTENTS);
	CU_ASSERT_EQUAL(process_entry(&hh, pid, "leases"), 0);
	CU_ASSERT_EQUAL(status_u64(&hh, "quarantined_bytes"),
			VICTIM_EXTENTS * UNIT);
	/* It wakes up: reconnect, every break, every acknowledgement. */
	CU_ASSERT(say(cmd[1], 'g'));
	q = wait_status(&hh, "quarantined_bytes", 0, 20000);
	if (q)
		fprintf(stderr, "\nstill quarantined: %llu bytes; victim: %lld connections, %lld breaks\n",
			(unsigned long long)q,
			process_entry(&hh, pid, "connections"),
			process_entry(&hh, pid, "breaks"));
	CU_ASSERT_EQUAL(q, 0);
	CU_ASSERT_EQUAL(process_entry(&hh, pid, "breaks"), 0);
	CU_ASSERT(say(cmd[1], 'q'));
	CU_ASSERT_EQUAL(wait_exit(pid, 10000), 0);
	close(cmd[0]);
	close(cmd[1]);
	close(ans[0]);
	close(ans[1]);
	scenario_end(&s);
	daxalloc_disconnect(dx);
}

/* ---------------------------------------------------------------------- */
/* Pin floods                                                             */

/* raw_pin -- a Pin of n one-byte ranges of extent id; the reply's status */
static int raw_pin(int fd, uint64_t id, size_t n)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT;
	Daxalloc__PinRequest pr = DAXALLOC__PIN_REQUEST__INIT;
	Daxalloc__PinRange *r = calloc(n, sizeof(*r));
	Daxalloc__PinRange **rp = calloc(n, sizeof(*rp));
	size_t i;
	int st;

	CHILD_CHECK(r && rp);
	for (i = 0; i < n; i++) {
		daxalloc__pin_range__init(&r[i]);
		r[i].extent_id = id;
		r[i].offset = i % UNIT;
		r[i].length = 1;
		rp[i] = &r[i];
	}
	pr.n_ranges = n;
	pr.ranges = rp;
	env.body_case = DAXALLOC__ENVELOPE__BODY_PIN;
	env.pin = &pr;
	st = raw_call(fd, &env, 11);
	free(r);
	free(rp);
	return st;
}

/* raw_unpin -- an Unpin of n ids; the reply's status */
static int raw_unpin(int fd, const uint64_t *ids, size_t n)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT;
	Daxalloc__UnpinRequest ur = DAXALLOC__UNPIN_REQUEST__INIT;

	ur.n_pin_ids = n;
	ur.pin_ids = (uint64_t *)ids;
	env.body_case = DAXALLOC__ENVELOPE__BODY_UNPIN;
	env.unpin = &ur;
	return raw_call(fd, &env, 12);
}

/*
 * pin_flood_child -- pin batches of 1536 until max_pins_per_process says
 * no, then exactly up to it; every way past it, over one connection or
 * another of the process, is refused; then, on 'd', delete the pinned
 * extent and, on 'q', exit with every pin held
 */
static void pin_flood_child(long arg)
{
	static struct daxalloc_pin_range ranges[DAXALLOC_PIN_BATCH_MAX];
	static uint64_t ids[DAXALLOC_PIN_BATCH_MAX];
	int cmd = (int)(arg & 0xffff), ans = (int)(arg >> 16), fd;
	const uint64_t none = UINT64_MAX;
	uint64_t bad[2];
	struct daxalloc_extent *ext;
	struct daxalloc *dx;
	unsigned int pinned = 0, i;
	uint64_t id;
	int r;

	CHILD_CHECK(daxalloc_connect(hh.sock, &dx) == 0);
	CHILD_CHECK(daxalloc_alloc(dx, NULL, 16 * UNIT, 0, 0600, 0, &ext) == 0);
	for (i = 0; i < DAXALLOC_PIN_BATCH_MAX; i++) {
		ranges[i].ext = ext;
		ranges[i].offset = (uint64_t)i * 64;
		ranges[i].length = 64;
	}
	for (;;) {
		r = daxalloc_pin_batch(dx, ranges, DAXALLOC_PIN_BATCH_MAX, ids);
		if (r == -EDQUOT)
			break;
		CHILD_CHECK(r == 0);
		pinned += DAXALLOC_PIN_BATCH_MAX;
		CHILD_CHECK(pinned <= MAX_PINS);
	}
	CHILD_CHECK(strstr(daxalloc_errmsg(), "max_pins_per_process"));
	CHILD_CHECK(daxalloc_pin_batch(dx, ranges, MAX_PINS - pinned, ids) == 0);
	CHILD_CHECK(daxalloc_pin(ext, 0, 1, &id) == -EDQUOT);
	/* Raw, on a second connection of the same process. */
	fd = harness_connect(hh.sock, 5);
	CHILD_CHECK(fd >= 0 && raw_hello(fd) == 0);
	CHILD_CHECK(raw_pin(fd, daxalloc_extent_id(ext), 1) == -EDQUOT);
	CHILD_CHECK(raw_pin(fd, daxalloc_extent_id(ext), 4097) == -E2BIG);
	/* One of its own pins, listed twice. */
	bad[0] = bad[1] = ids[0];
	CHILD_CHECK(raw_unpin(fd, bad, 2) == -EINVAL);
	CHILD_CHECK(raw_unpin(fd, &none, 1) == -ENOENT);
	CHILD_CHECK(say(ans, 'P'));
	CHILD_CHECK(hear(cmd, 30000) == 'd');
	/* Pinned memory leaves the extent: it waits in the quarantine. */
	CHILD_CHECK(daxalloc_delete(ext) == 0);
	CHILD_CHECK(say(ans, 'D'));
	CHILD_CHECK(hear(cmd, 30000) == 'q');
	_exit(0);
}

/*
 * test_pin_flood -- two processes pin up to max_pins_per_process (10000)
 * and past it; the limit holds per process, across its connections, and
 * each way past it is refused with nothing pinned.  They delete their
 * pinned extents (quarantined) and exit without unpinning: everything
 * comes back.
 */
static void test_pin_flood(void)
{
	int cmd[2][2], ans[2][2], i;
	struct scenario s;
	pid_t pid[2];

	scenario_begin(&s, &hh, "pin flood");
	for (i = 0; i < 2; i++) {
		CU_ASSERT_FATAL(pipe(cmd[i]) == 0 && pipe(ans[i]) == 0);
		pid[i] = spawn(pin_flood_child,
			       cmd[i][0] | ((long)ans[i][1] << 16));
	}
	for (i = 0; i < 2; i++)
		CU_ASSERT_EQUAL(hear(ans[i][0], 60000), 'P');
	for (i = 0; i < 2; i++)
		CU_ASSERT_EQUAL(process_entry(&hh, pid[i], "pins"), MAX_PINS);
	CU_ASSERT(status_u64(&hh, "pinned_bytes") > 0);
	for (i = 0; i < 2; i++) {
		CU_ASSERT(say(cmd[i][1], 'd'));
		CU_ASSERT_EQUAL(hear(ans[i][0], 30000), 'D');
	}
	CU_ASSERT(status_u64(&hh, "quarantined_bytes") > 0);
	CU_ASSERT_EQUAL(harness_check(&hh), 0);
	for (i = 0; i < 2; i++) {
		CU_ASSERT(say(cmd[i][1], 'q'));
		CU_ASSERT_EQUAL(wait_exit(pid[i], 10000), 0);
		close(cmd[i][0]);
		close(cmd[i][1]);
		close(ans[i][0]);
		close(ans[i][1]);
	}
	CU_ASSERT_EQUAL(wait_status(&hh, "pinned_bytes", 0, 5000), 0);
	CU_ASSERT_EQUAL(wait_status(&hh, "quarantined_bytes", 0, 5000), 0);
	scenario_end(&s);
}

/* A daemon on a small pool, whose pin table fills. */
static struct harness small_h;

/*
 * table_child -- pin 512 at a time until the pool's pin table is full;
 * report 'F'; exit on 'q'
 */
static void table_child(long arg)
{
	static struct daxalloc_pin_range ranges[512];
	static uint64_t ids[512];
	int cmd = (int)(arg & 0xffff), ans = (int)(arg >> 16), r = 0;
	struct daxalloc_extent *ext;
	struct daxalloc *dx;
	unsigned int i, n, pinned = 0;

	CHILD_CHECK(daxalloc_connect(small_h.sock, &dx) == 0);
	CHILD_CHECK(daxalloc_alloc(dx, NULL, 1, 0, 0600, 0, &ext) == 0);
	for (i = 0; i < 512; i++) {
		ranges[i].ext = ext;
		ranges[i].offset = i;
		ranges[i].length = 1;
	}
	while (pinned < 65536) {
		r = daxalloc_pin_batch(dx, ranges, 512, ids);
		if (r < 0)
			break;
		pinned += 512;
	}
	CHILD_CHECK(r == -ENOSPC);
	CHILD_CHECK(strstr(daxalloc_errmsg(), "pin table is full"));
	/* All or nothing: what is left takes smaller batches, to the last slot. */
	for (n = 256; n > 0; n /= 2)
		if (daxalloc_pin_batch(dx, ranges, n, ids) == 0)
			pinned += n;
	CHILD_CHECK(daxalloc_pin(ext, 0, 1, ids) == -ENOSPC);
	fprintf(stderr, "(pin table full at %u pins) ", pinned);
	CHILD_CHECK(say(ans, 'F'));
	CHILD_CHECK(hear(cmd, 30000) == 'q');
}

/* second_pin_child -- one pin; exit status 0 pinned, 2 table full */
static void second_pin_child(long unused)
{
	struct daxalloc_extent *ext;
	struct daxalloc *dx;
	uint64_t id;
	int r;

	CHILD_CHECK(daxalloc_connect(small_h.sock, &dx) == 0);
	CHILD_CHECK(daxalloc_alloc(dx, NULL, 1, 0, 0600, 0, &ext) == 0);
	r = daxalloc_pin(ext, 0, 1, &id);
	CHILD_CHECK(r == 0 || r == -ENOSPC);
	_exit(r == 0 ? 0 : 2);
}

/*
 * test_pin_table_full -- a process fills a small pool's pin table
 * (-ENOSPC, all or nothing); another process cannot pin either, the
 * probe is still served; once the first exits, pins work again
 */
static void test_pin_table_full(void)
{
	const char *args[] = { "--config", "/dev/null", NULL };
	int cmd[2], ans[2];
	struct scenario s;
	pid_t pid;

	CU_ASSERT_EQUAL_FATAL(harness_init(&small_h), 0);
	CU_ASSERT_EQUAL_FATAL(harness_start(&small_h, args), 0);
	CU_ASSERT_FATAL(pipe(cmd) == 0 && pipe(ans) == 0);
	scenario_begin(&s, &small_h, "pin table full");
	pid = spawn(table_child, cmd[0] | ((long)ans[1] << 16));
	CU_ASSERT_EQUAL(hear(ans[0], 60000), 'F');
	CU_ASSERT_EQUAL(wait_exit(spawn(second_pin_child, 0), 10000), 2);
	CU_ASSERT_EQUAL(harness_check(&small_h), 0);
	CU_ASSERT(say(cmd[1], 'q'));
	CU_ASSERT_EQUAL(wait_exit(pid, 10000), 0);
	CU_ASSERT_EQUAL(wait_status(&small_h, "pinned_bytes", 0, 5000), 0);
	CU_ASSERT_EQUAL(wait_exit(spawn(second_pin_child, 0), 10000), 0);
	scenario_end(&s);
	close(cmd[0]);
	close(cmd[1]);
	close(ans[0]);
	close(ans[1]);
	harness_fini(&small_h);
}

/* ---------------------------------------------------------------------- */
/* Silent clients                                                         */

/*
 * silent_child -- 20 connections that say nothing: each gets -ETIMEDOUT
 * ("no Hello") and is closed, after the hello timeout and not long after;
 * and one that says Hello late but in time is served past the timeout
 */
static void silent_child(long unused)
{
	long long t0 = harness_now_ms(), dt;
	int fd[20], late, i;
	Daxalloc__Envelope *rep;

	for (i = 0; i < 20; i++) {
		fd[i] = harness_connect(hh.sock, 5);
		CHILD_CHECK(fd[i] >= 0);
	}
	late = harness_connect(hh.sock, 5);
	CHILD_CHECK(late >= 0);
	sleep_ms(500);
	CHILD_CHECK(raw_hello(late) == 0);
	for (i = 0; i < 20; i++) {
		rep = raw_reply(fd[i], 8000);
		CHILD_CHECK(rep != NULL && rep->status == -ETIMEDOUT);
		CHILD_CHECK(strstr(rep->message, "Hello"));
		envelope_free(rep);
		CHILD_CHECK(raw_eof(fd[i], REPLY_MS));
		close(fd[i]);
	}
	dt = harness_now_ms() - t0;
	/* hello_timeout = 2 */
	CHILD_CHECK(dt >= 1900 && dt < 6000);
	CHILD_CHECK(raw_stat_status(late, UINT64_MAX - 1) == -ENOENT);
	close(late);
}

/*
 * test_hello_timeout -- three processes open 20 silent connections each:
 * all are closed at the hello timeout, with their descriptors
 */
static void test_hello_timeout(void)
{
	struct scenario s;
	pid_t pid[3];
	int i;

	scenario_begin(&s, &hh, "silent (hello timeout)");
	for (i = 0; i < 3; i++)
		pid[i] = spawn(silent_child, i);
	for (i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(wait_exit(pid[i], 20000), 0);
	scenario_end(&s);
}

/* ---------------------------------------------------------------------- */
/* Clients that die mid-request                                           */

/*
 * pipeline_child -- Hello, then a burst of requests (anonymous and named
 * Allocs, Opens of the shared extent, a Pin, a Truncate, a Delete) and
 * exit without reading a single answer
 *
 * The daemon reads one request per connection per loop turn, so it sees
 * the exit with most of the burst still unread: none of it may take
 * effect after that (a lease granted to a dead process never ends).
 */
static void pipeline_child(long idx)
{
	int fd = harness_connect(hh.sock, 5), i;
	struct req q;
	char name[48];

	rnd_seed(5000 + (uint64_t)idx);
	CHILD_CHECK(fd >= 0 && raw_hello(fd) == 0);
	for (i = 0; i < 30; i++) {
		make_request(&q, i % 3 == 2 ? 2 : 1);
		if (i % 3 == 2) {
			q.u.open.name = (char *)"mid-shared";
			q.u.open.read_only = true;
		} else if (i % 3 == 1) {
			snprintf(name, sizeof(name), "mid-%d-%d", (int)getpid(), i);
			q.u.alloc.name = name;
		} else {
			q.u.alloc.name = (char *)"";
		}
		q.env.version = 1;
		q.env.id = 10 + i;
		CHILD_CHECK(envelope_send(fd, &q.env, NULL, 0) == 0);
	}
	for (i = 2; i < 7; i++) {
		make_request(&q, (unsigned int)i);
		q.env.version = 1;
		q.env.id = 50 + i;
		CHILD_CHECK(envelope_send(fd, &q.env, NULL, 0) == 0);
	}
	_exit(0);
}

/*
 * halfway_child -- the first half of a 1000-range Pin batch, then exit
 * (idx odd: wait for the answer, an error, and the close first)
 */
static void halfway_child(long idx)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT;
	Daxalloc__PinRequest pr = DAXALLOC__PIN_REQUEST__INIT;
	static Daxalloc__PinRange r[1000];
	static Daxalloc__PinRange *rp[1000];
	int fd = harness_connect(hh.sock, 5), i;
	Daxalloc__Envelope *rep;
	size_t len;
	uint8_t *buf;

	CHILD_CHECK(fd >= 0 && raw_hello(fd) == 0);
	for (i = 0; i < 1000; i++) {
		daxalloc__pin_range__init(&r[i]);
		r[i].extent_id = 1;
		r[i].offset = (uint64_t)i * 4096;
		r[i].length = 4096;
		rp[i] = &r[i];
	}
	pr.n_ranges = 1000;
	pr.ranges = rp;
	env.body_case = DAXALLOC__ENVELOPE__BODY_PIN;
	env.pin = &pr;
	buf = pack(&env, 4, &len);
	CHILD_CHECK(buf != NULL);
	CHILD_CHECK(send(fd, buf, len / 2, 0) == (ssize_t)(len / 2));
	if (idx & 1) {
		rep = raw_reply(fd, REPLY_MS);
		CHILD_CHECK(rep != NULL && rep->status == -EBADMSG);
		envelope_free(rep);
		CHILD_CHECK(raw_eof(fd, REPLY_MS));
	}
	_exit(0);
}

/*
 * churn_child -- through libdaxalloc, as fast as it can: an anonymous
 * extent, a pin on it, an open of the shared extent, a truncate, an
 * unpin, a delete, a named extent made and deleted; until killed
 */
static void churn_child(long idx)
{
	struct daxalloc_extent *ext, *sh;
	struct daxalloc *dx;
	char name[48];
	uint64_t pin;
	int i;

	CHILD_CHECK(daxalloc_connect(hh.sock, &dx) == 0);
	for (i = 0;; i++) {
		CHILD_CHECK(daxalloc_alloc(dx, NULL, 4 * UNIT, 0, 0600, 0, &ext) ==
			    0);
		CHILD_CHECK(daxalloc_pin(ext, 0, 100, &pin) == 0);
		CHILD_CHECK(daxalloc_open(dx, "mid-shared", DAXALLOC_RDONLY,
					  &sh) == 0);
		CHILD_CHECK(daxalloc_truncate(ext, UNIT) == 0);
		CHILD_CHECK(daxalloc_close(sh) == 0);
		CHILD_CHECK(daxalloc_unpin(dx, pin) == 0);
		CHILD_CHECK(daxalloc_delete(ext) == 0);
		snprintf(name, sizeof(name), "mid-%d-%d", (int)getpid(), i);
		CHILD_CHECK(daxalloc_alloc(dx, name, UNIT, 0, 0600,
					   DAXALLOC_NO_MAP, &ext) == 0);
		CHILD_CHECK(daxalloc_close(ext) == 0);
		CHILD_CHECK(daxalloc_delete_name(dx, name) == 0);
	}
}

/*
 * burst_child -- Hello, then on 'g' (the daemon is stopped meanwhile) a
 * burst of named Allocs, Opens of the shared extent and Pins, and exit at
 * once, nothing unread on its side
 *
 * When the daemon continues, it sees the exit and the whole burst at
 * once: nothing of the burst may take effect after the exit is handled.
 */
static void burst_child(long arg)
{
	int cmd = (int)(arg & 0xffff), ans = (int)(arg >> 16), i;
	int fd = harness_connect(hh.sock, 5);
	struct req q;
	char name[48];

	CHILD_CHECK(fd >= 0 && raw_hello(fd) == 0);
	CHILD_CHECK(say(ans, 'R'));
	CHILD_CHECK(hear(cmd, 10000) == 'g');
	for (i = 0; i < 12; i++) {
		make_request(&q, i % 3 == 0 ? 1 : i % 3 == 1 ? 2 : 6);
		if (i % 3 == 0) {
			snprintf(name, sizeof(name), "mid-%d-%d", (int)getpid(), i);
			q.u.alloc.name = name;
		} else if (i % 3 == 1) {
			q.u.open.name = (char *)"mid-shared";
			q.u.open.read_only = true;
		}
		q.env.version = 1;
		q.env.id = 100 + i;
		CHILD_CHECK(envelope_send(fd, &q.env, NULL, 0) == 0);
	}
	_exit(0);
}

/* hello_quit_child -- Hello sent, gone before the answer */
static void hello_quit_child(long unused)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT;
	Daxalloc__Hello hello = DAXALLOC__HELLO__INIT;
	int fd = harness_connect(hh.sock, 5);

	hello.version_min = hello.version_max = 1;
	env.version = 1;
	env.body_case = DAXALLOC__ENVELOPE__BODY_HELLO;
	env.hello = &hello;
	CHILD_CHECK(fd >= 0 && envelope_send(fd, &env, NULL, 0) == 0);
	_exit(0);
}

/*
 * test_dies_mid_request -- clients that send half a batch, send a burst
 * and exit before reading, say Hello and vanish, or are killed (SIGKILL)
 * at random points of a stream of requests holding extents, leases and
 * pins
 *
 * Afterwards nothing of theirs is left: no anonymous extent, lease, pin,
 * lease break or quarantined range; no process but the probe.
 */
static void test_dies_mid_request(void)
{
	uint64_t extents0 = status_u64(&hh, "extents");
	struct daxalloc_extent *sh;
	struct daxalloc *dx;
	struct scenario s;
	pid_t pid[12];
	int i, st;

	CU_ASSERT_EQUAL_FATAL(daxalloc_connect(hh.sock, &dx), 0);
	CU_ASSERT_EQUAL_FATAL(daxalloc_alloc(dx, "mid-shared", UNIT, 0, 0644,
					     DAXALLOC_NO_MAP, &sh), 0);
	CU_ASSERT_EQUAL(daxalloc_close(sh), 0);
	daxalloc_disconnect(dx);
	CU_ASSERT_EQUAL(wait_status(&hh, "client_processes", 0, 5000), 0);
	rnd_seed(42);

	scenario_begin(&s, &hh, "dies mid-request");
	/* Requests in flight when their sender dies, seen after its exit. */
	{
		int cmd[2], ans[2];
		pid_t bp[6];

		CU_ASSERT_FATAL(pipe2(cmd, O_CLOEXEC) == 0 &&
				pipe2(ans, O_CLOEXEC) == 0);
		for (i = 0; i < 6; i++) {
			bp[i] = spawn(burst_child, cmd[0] | ((long)ans[1] << 16));
			CU_ASSERT_EQUAL(hear(ans[0], 10000), 'R');
		}
		/* The probe waits too: this stop is no daemon's latency. */
		s.probe.m->pause = 1;
		sleep_ms(50);
		CU_ASSERT_EQUAL(kill(hh.pid, SIGSTOP), 0);
		for (i = 0; i < 6; i++)
			CU_ASSERT(say(cmd[1], 'g'));
		for (i = 0; i < 6; i++)
			CU_ASSERT_EQUAL(wait_exit(bp[i], 10000), 0);
		CU_ASSERT_EQUAL(kill(hh.pid, SIGCONT), 0);
		s.probe.m->pause = 0;
		close(cmd[0]);
		close(cmd[1]);
		close(ans[0]);
		close(ans[1]);
	}
	for (i = 0; i < 12; i++)
		CU_ASSERT_EQUAL(wait_exit(spawn(pipeline_child, i), 10000), 0);
	for (i = 0; i < 6; i++)
		CU_ASSERT_EQUAL(wait_exit(spawn(halfway_child, i), 10000), 0);
	for (i = 0; i < 6; i++)
		CU_ASSERT_EQUAL(wait_exit(spawn(hello_quit_child, i), 10000), 0);
	for (i = 0; i < 12; i++)
		pid[i] = spawn(churn_child, i);
	for (i = 0; i < 12; i++) {
		sleep_ms(5 + (int)(rnd() % 80));
		kill(pid[i], SIGKILL);
	}
	for (i = 0; i < 12; i++) {
		st = wait_exit(pid[i], 10000);
		/* Killed, not failed (exit 1) on its own. */
		CU_ASSERT_EQUAL(st, 128 + SIGKILL);
	}
	/* The probe is the only client process left, holding nothing. */
	CU_ASSERT_EQUAL(wait_status(&hh, "client_processes", 1, 5000), 1);
	CU_ASSERT_EQUAL(wait_status(&hh, "pinned_bytes", 0, 5000), 0);
	CU_ASSERT_EQUAL(wait_status(&hh, "quarantined_bytes", 0, 5000), 0);
	/*
	 * Their named extents, and the shared one they opened, go: a lease
	 * a dead process kept would keep its range quarantined for ever.
	 */
	CU_ASSERT(delete_extents_of(&hh, -1, "mid-") >= 1);
	CU_ASSERT_EQUAL(wait_status(&hh, "quarantined_bytes", 0, 2000), 0);
	/* The probe's own named extent is the one more. */
	CU_ASSERT_EQUAL(wait_status(&hh, "extents", extents0 + 1, 5000),
			extents0 + 1);
	scenario_end(&s);
}

static const struct harness_test hostile_tests[] = {
	{ "garbage datagrams and requests", test_garbage },
	{ "oversized datagrams", test_oversized },
	{ "0, 1, 5 and 253 descriptors", test_fds },
	{ "refused client that keeps talking", test_refused_talker },
	{ "connection flood past RLIMIT_NOFILE", test_fd_flood },
	{ "client never reads its replies", test_no_read_replies },
	{ "client never reads its lease breaks", test_no_read_events },
	{ "pin flood past the limit", test_pin_flood },
	{ "pin table full", test_pin_table_full },
	{ "silent connections (hello timeout)", test_hello_timeout },
	{ "clients that die mid-request", test_dies_mid_request },
	{ NULL, NULL },
};

/*
 * main -- every test, or those whose name contains one of the
 * '|'-separated words of $HOSTILE_ONLY (to debug a scenario)
 */
int main(void)
{
	static struct harness_test only[sizeof(hostile_tests) /
					sizeof(hostile_tests[0])];
	struct harness_suite suites[] = {
		{ "hostile", suite_init, suite_fini, hostile_tests },
		{ NULL, NULL, NULL, NULL },
	};
	const char *want = getenv("HOSTILE_ONLY");
	size_t i, n = 0;

	if (want) {
		for (i = 0; hostile_tests[i].name; i++) {
			const char *w = want;

			/* Alternatives separated by '|'. */
			while (w) {
				size_t len = strcspn(w, "|");

				if (len && memmem(hostile_tests[i].name,
						  strlen(hostile_tests[i].name),
						  w, len)) {
					only[n++] = hostile_tests[i];
					break;
				}
				w = w[len] ? w + len + 1 : NULL;
			}
		}
		suites[0].tests = only;
	}
	return harness_main(suites);
}
