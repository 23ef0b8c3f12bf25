// SPDX-License-Identifier: Apache-2.0
/*
 * test_client_rule.c -- libdaxalloc's side of the core rule, end to end
 *
 * Pins and unpins (single, batched, their errors), the event descriptor,
 * the default handler (unmap, then acknowledge once no pin holds the
 * range), a handler of the application's own, revokes, and reconnecting
 * after a kill -9 of the daemon with pins resumed: against the real
 * daemon, with every client a forked process that connects by itself.
 *
 * A client ("kid") is driven by the test through a pair of pipes, one
 * line at a time.  Kids cannot use CUnit: they check with KID_CHECK(),
 * which prints the failed condition and the library's explanation and
 * exits 1.  The test reads back what the daemon did with daxallocctl
 * (pins, quarantine, processes, check).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <json-c/json.h>

#include "daxalloc.h"
#include "envelope.h"
#include "harness.h"
#include "wire.h"

#define MIB (1ull << 20)
#define PAGE 4096u

/*
 * The suite's daemon: a 1 GiB sparse file pool (its pin table grows with
 * the pool: 64 MiB would hold 2048 pins), 2 MiB unit, the limits below.
 */
static struct harness main_h;
static char main_conf[PATH_MAX];
static const char *main_args[] = { "--config", main_conf, "--device", NULL,
				   "--size",   "1G",	  NULL };
#define PIN_LIMIT 10000

static char ctl_out[8 << 20];

/* ---------------------------------------------------------------------- */
/* Helpers                                                                */
/* ---------------------------------------------------------------------- */

/* wall_ms -- CLOCK_REALTIME in milliseconds, as lease break deadlines */
static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* pattern_fill -- words that depend on their offset and the seed */
static void pattern_fill(void *base, uint64_t len, uint64_t seed)
{
	uint64_t *w = base, i;

	for (i = 0; i < len / 8; i += 512)
		w[i] = seed ^ (i * 0x9e3779b97f4a7c15ull);
}

/* pattern_ok -- does [base, base + len) hold pattern_fill()'s words? */
static bool pattern_ok(const void *base, uint64_t len, uint64_t seed)
{
	const volatile uint64_t *w = base;
	uint64_t i;

	for (i = 0; i < len / 8; i += 512)
		if (w[i] != (seed ^ (i * 0x9e3779b97f4a7c15ull)))
			return false;
	return true;
}

/*
 * mapped -- is any page of [addr, addr + len) mapped in this process?
 *
 * Read from /proc/self/maps, so that checking an unmapped range cannot
 * kill the test.
 */
static bool mapped(const void *addr, uint64_t len)
{
	uintptr_t lo = (uintptr_t)addr, hi = lo + len, a, b;
	char line[512];
	bool any = false;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return true;
	while (!any && fgets(line, sizeof(line), f))
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR, &a, &b) == 2 &&
		    a < hi && lo < b)
			any = true;
	fclose(f);
	return any;
}

/* covered -- is all of [addr, addr + len) mapped read-write? */
static bool covered(const void *addr, uint64_t len)
{
	uintptr_t want = (uintptr_t)addr, end = want + len, a, b;
	char line[512], perms[8];
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return false;
	while (want < end && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %7s", &a, &b,
			   perms) != 3)
			continue;
		if (a <= want && want < b && !strncmp(perms, "rw", 2))
			want = b;
	}
	fclose(f);
	return want >= end;
}

/* ctl -- run daxallocctl args; its exit status, or -1 */
static int ctl(const char *const *args)
{
	int st;

	if (harness_ctl(&main_h, args, ctl_out, sizeof(ctl_out), &st) < 0)
		return -1;
	return st;
}

/* pins_of -- how many pins `daxallocctl list pins` shows for pid */
static long pins_of(pid_t pid)
{
	static const char *const args[] = { "list", "--json", "pins", NULL };
	json_object *arr = harness_ctl_json(&main_h, args, ctl_out, sizeof(ctl_out));
	long n = 0;
	size_t i;

	if (!arr || !json_object_is_type(arr, json_type_array)) {
		json_object_put(arr);
		return -1;
	}
	for (i = 0; i < json_object_array_length(arr); i++)
		if (harness_json_u64(json_object_array_get_idx(arr, i), "pid") ==
		    (uint64_t)pid)
			n++;
	json_object_put(arr);
	return n;
}

/*
 * quarantine_of -- the quarantined range that left extent id
 *
 * 1 with its pins and breaks, 0 when there is none, -1 on failure.
 */
static int quarantine_of(uint64_t id, uint64_t *pins, uint64_t *breaks)
{
	static const char *const args[] = { "list", "--json", "quarantine",
					    NULL };
	json_object *arr = harness_ctl_json(&main_h, args, ctl_out, sizeof(ctl_out)), *q;
	int found = 0;
	size_t i;

	if (!arr || !json_object_is_type(arr, json_type_array)) {
		json_object_put(arr);
		return -1;
	}
	for (i = 0; i < json_object_array_length(arr); i++) {
		q = json_object_array_get_idx(arr, i);
		if (harness_json_u64(q, "extent_id") != id)
			continue;
		*pins = harness_json_u64(q, "pins");
		*breaks = harness_json_u64(q, "breaks");
		found = 1;
	}
	json_object_put(arr);
	return found;
}

/* quarantine_gone -- wait until nothing that left extent id is quarantined */
static bool quarantine_gone(uint64_t id, int limit_ms)
{
	long long end = harness_now_ms() + limit_ms;
	uint64_t pins, breaks;
	int r;

	while ((r = quarantine_of(id, &pins, &breaks)) != 0) {
		if (r < 0 || harness_now_ms() > end) {
			fprintf(stderr,
				"extent %llu: still quarantined (%llu pins, %llu breaks)\n",
				(unsigned long long)id,
				(unsigned long long)pins,
				(unsigned long long)breaks);
			return false;
		}
		usleep(20000);
	}
	return true;
}

/* process_revoked -- does `list processes` say pid has revoked holds? */
static int process_revoked(pid_t pid)
{
	static const char *const args[] = { "list", "--json", "processes",
					    NULL };
	json_object *arr = harness_ctl_json(&main_h, args, ctl_out, sizeof(ctl_out)), *p, *v;
	int r = -1;
	size_t i;

	if (!arr || !json_object_is_type(arr, json_type_array)) {
		json_object_put(arr);
		return -1;
	}
	for (i = 0; i < json_object_array_length(arr); i++) {
		p = json_object_array_get_idx(arr, i);
		if (harness_json_u64(p, "pid") == (uint64_t)pid &&
		    json_object_object_get_ex(p, "revoked", &v))
			r = json_object_get_boolean(v);
	}
	json_object_put(arr);
	return r;
}

/* pool_checked -- `daxallocctl check` passes */
static bool pool_checked(void)
{
	static const char *const args[] = { "check", NULL };
	int st = ctl(args);

	if (st != 0)
		fprintf(stderr, "daxallocctl check: exit %d: %s\n", st,
			ctl_out);
	return st == 0;
}

/* restart -- kill -9 the daemon (stopped or not) and start it again */
static int restart(void)
{
	int st = 0, r;

	if (harness_stop(&main_h, SIGKILL, &st) < 0 || !WIFSIGNALED(st) ||
	    WTERMSIG(st) != SIGKILL) {
		fprintf(stderr, "daemon did not die of SIGKILL (status %#x)\n",
			st);
		return -1;
	}
	r = harness_start(&main_h, main_args);
	if (r < 0)
		fprintf(stderr, "restart: %s (log: %s)\n", strerror(-r),
			main_h.log);
	return r;
}

/* read_line -- one line from fd within limit_ms, without the newline */
static bool read_line(int fd, char *buf, size_t cap, int limit_ms)
{
	long long end = harness_now_ms() + limit_ms;
	size_t len = 0;

	while (len < cap - 1) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long long left = end - harness_now_ms();

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return false;
		if (read(fd, buf + len, 1) != 1)
			return false;
		if (buf[len] == '\n')
			break;
		len++;
	}
	buf[len] = '\0';
	return true;
}

/* ---------------------------------------------------------------------- */
/* Kids: client processes driven through pipes                            */
/* ---------------------------------------------------------------------- */

struct kid {
	pid_t pid;
	int to; /* the kid's stdin side */
	int from; /* its answers */
};

/* In a kid: its ends of the pipes. */
static int kid_in = -1, kid_out = -1;

/*
 * KID_CHECK -- a check in a kid, where CUnit does not run: on failure say
 * what, where and the library's explanation, and exit 1
 */
#define KID_CHECK(cond)                                                   \
	do {                                                              \
		if (!(cond)) {                                            \
			fprintf(stderr,                                   \
				"%s:%d: kid %d: check failed: %s [%s]\n", \
				__FILE__, __LINE__, (int)getpid(), #cond, \
				daxalloc_errmsg());                       \
			_exit(1);                                         \
		}                                                         \
	} while (0)

/* kid_say -- in a kid: one line to the test */
static void __attribute__((format(printf, 1, 2))) kid_say(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	KID_CHECK(write(kid_out, buf, (size_t)n) == n);
}

/* kid_hear -- in a kid: wait for the line cmd from the test */
static void kid_hear(const char *cmd)
{
	char buf[256];

	KID_CHECK(read_line(kid_in, buf, sizeof(buf), 30000));
	if (strcmp(buf, cmd)) {
		fprintf(stderr, "kid %d: expected \"%s\", got \"%s\"\n",
			(int)getpid(), cmd, buf);
		_exit(1);
	}
}

/* kid_start -- fork a kid that runs fn(arg) and exits 0 */
static bool kid_start(struct kid *k, void (*fn)(void *), void *arg)
{
	int down[2], up[2];

	if (pipe2(down, O_CLOEXEC) < 0)
		return false;
	if (pipe2(up, O_CLOEXEC) < 0) {
		close(down[0]);
		close(down[1]);
		return false;
	}
	fflush(NULL);
	k->pid = fork();
	if (k->pid < 0)
		return false;
	if (k->pid == 0) {
		close(down[1]);
		close(up[0]);
		kid_in = down[0];
		kid_out = up[1];
		fn(arg);
		_exit(0);
	}
	close(down[0]);
	close(up[1]);
	k->to = down[1];
	k->from = up[0];
	return true;
}

/* kid_tell -- send the kid one line */
static bool kid_tell(struct kid *k, const char *cmd)
{
	size_t len = strlen(cmd);

	return write(k->to, cmd, len) == (ssize_t)len &&
	       write(k->to, "\n", 1) == 1;
}

/* kid_read -- the kid's next line (within limit_ms) */
static bool kid_read(struct kid *k, char *buf, size_t cap, int limit_ms)
{
	if (read_line(k->from, buf, cap, limit_ms))
		return true;
	fprintf(stderr, "kid %d said nothing within %d ms\n", (int)k->pid,
		limit_ms);
	return false;
}

/* kid_expect -- the kid's next line must start with what */
static bool kid_expect(struct kid *k, const char *what, char *buf, size_t cap,
		       int limit_ms)
{
	if (!kid_read(k, buf, cap, limit_ms))
		return false;
	if (strncmp(buf, what, strlen(what))) {
		fprintf(stderr, "kid %d said \"%s\", expected \"%s\"\n",
			(int)k->pid, buf, what);
		return false;
	}
	return true;
}

/*
 * kid_end -- close its pipes and reap it within limit_ms
 *
 * Its exit status, 128 + signal, or -1 when it had to be killed.
 */
static int kid_end(struct kid *k, int limit_ms)
{
	long long end = harness_now_ms() + limit_ms;
	int st;

	close(k->to);
	while (waitpid(k->pid, &st, WNOHANG) == 0) {
		if (harness_now_ms() > end) {
			kill(k->pid, SIGKILL);
			waitpid(k->pid, &st, 0);
			close(k->from);
			return -1;
		}
		usleep(5000);
	}
	close(k->from);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* kid_connect -- in a kid: a connection to the suite's daemon */
static struct daxalloc *kid_connect(void)
{
	struct daxalloc *dx;

	KID_CHECK(daxalloc_connect(main_h.sock, &dx) == 0);
	return dx;
}

/* kid_readable -- in a kid: is fd readable within ms? 1, 0, or -errno */
static int kid_readable(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int r = poll(&pfd, 1, ms);

	return r < 0 ? -errno : r;
}

/* kid_dispatch_until -- in a kid: poll and dispatch until *flag or ms */
static bool kid_dispatch_until(struct daxalloc *dx, const volatile bool *flag,
			       int ms)
{
	long long end = harness_now_ms() + ms;
	int efd = daxalloc_event_fd(dx);

	KID_CHECK(efd >= 0);
	while (!*flag) {
		long long left = end - harness_now_ms();

		if (left <= 0)
			return false;
		if (kid_readable(efd, (int)left) > 0)
			daxalloc_dispatch(dx);
	}
	return true;
}

/* name_kid -- a kid that runs one library call on a name, then exits */
struct name_job {
	const char *name;
	uint64_t size; /* truncate to this, 0: delete */
};

static void name_kid(void *arg)
{
	const struct name_job *j = arg;
	struct daxalloc_extent *e;
	struct daxalloc *dx = kid_connect();

	if (!j->size) {
		KID_CHECK(daxalloc_delete_name(dx, j->name) == 0);
	} else {
		KID_CHECK(daxalloc_open(dx, j->name, 0, &e) == 0);
		KID_CHECK(daxalloc_truncate(e, j->size) == 0);
		KID_CHECK(daxalloc_close(e) == 0);
	}
	daxalloc_disconnect(dx);
}

/* run_name_kid -- delete (size 0) or truncate a named extent, elsewhere */
static int run_name_kid(const char *name, uint64_t size)
{
	struct name_job j = { .name = name, .size = size };
	struct kid k;

	if (!kid_start(&k, name_kid, &j))
		return -1;
	return kid_end(&k, 10000);
}

/* ---------------------------------------------------------------------- */
/* Raw protocol, for what the library will not send                       */
/* ---------------------------------------------------------------------- */

/* raw_call -- send env on fd and return its reply's status (events skipped) */
static int raw_call(int fd, Daxalloc__Envelope *env)
{
	Daxalloc__Envelope *resp;
	int fds[WIRE_FDS_MAX], status;
	unsigned int nfds;

	env->version = 1;
	if (envelope_send(fd, env, NULL, 0) < 0)
		return -EIO;
	do {
		if (envelope_recv(fd, &resp, fds, &nfds) < 0)
			return -EIO;
		wire_close_fds(fds, nfds);
		status = resp->id == env->id ? resp->status : 1;
		envelope_free(resp);
	} while (status == 1);
	return status;
}

/* raw_connect -- a bare connection that said Hello, or -1 */
static int raw_connect(void)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT;
	Daxalloc__Hello hello = DAXALLOC__HELLO__INIT;
	int fd = harness_connect(main_h.sock, 5);

	if (fd < 0)
		return -1;
	hello.version_min = hello.version_max = 1;
	hello.client_name = (char *)"raw-rule";
	env.id = 1;
	env.body_case = DAXALLOC__ENVELOPE__BODY_HELLO;
	env.hello = &hello;
	if (raw_call(fd, &env) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* raw_pin -- Pin one range of any extent id on a bare connection */
static int raw_pin(int fd, uint64_t extent_id, uint64_t off, uint64_t len)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT;
	Daxalloc__PinRequest p = DAXALLOC__PIN_REQUEST__INIT;
	Daxalloc__PinRange r = DAXALLOC__PIN_RANGE__INIT, *rp = &r;

	r.extent_id = extent_id;
	r.offset = off;
	r.length = len;
	p.n_ranges = 1;
	p.ranges = &rp;
	env.id = 2;
	env.body_case = DAXALLOC__ENVELOPE__BODY_PIN;
	env.pin = &p;
	return raw_call(fd, &env);
}

/* ---------------------------------------------------------------------- */
/* Pins                                                                   */
/* ---------------------------------------------------------------------- */

/* pins_kid -- pin, batch, unpin, and every error the library or daemon gives */
static void pins_kid(void *arg)
{
	struct daxalloc *dx = kid_connect(), *dx2 = kid_connect();
	struct daxalloc_extent *e, *other, *gone;
	struct daxalloc_pin_range rg[3];
	uint64_t p1, p2, ids[3], bad;
	int r;

	(void)arg;
	KID_CHECK(daxalloc_alloc(dx, NULL, 8 * MIB, 0, 0, 0, &e) == 0);
	KID_CHECK(daxalloc_pin(e, 0, PAGE, &p1) == 0);
	KID_CHECK(daxalloc_errmsg()[0] == '\0');
	/* Not unit-aligned ranges are fine, and may overlap. */
	KID_CHECK(daxalloc_pin(e, 100, 5000, &p2) == 0 && p2 != p1);
	rg[0] = (struct daxalloc_pin_range){ e, 2 * MIB, MIB };
	rg[1] = (struct daxalloc_pin_range){ e, 8 * MIB - PAGE, PAGE };
	rg[2] = (struct daxalloc_pin_range){ e, 0, 8 * MIB };
	KID_CHECK(daxalloc_pin_batch(dx, rg, 3, ids) == 0);
	KID_CHECK(ids[0] && ids[1] && ids[2] && ids[0] != ids[1] &&
		  ids[1] != ids[2] && ids[0] != ids[2]);
	KID_CHECK(daxalloc_pin_batch(dx, rg, 0, NULL) == 0);
	kid_say("pinned");

	kid_hear("unpin");
	KID_CHECK(daxalloc_unpin(dx, p1) == 0);
	r = daxalloc_unpin(dx, p1);
	KID_CHECK(r == -ENOENT);
	KID_CHECK(strstr(daxalloc_errmsg(), "no pin") != NULL);
	KID_CHECK(daxalloc_unpin(dx, 987654321) == -ENOENT);
	KID_CHECK(daxalloc_unpin_batch(dx, ids, 3) == 0);
	KID_CHECK(daxalloc_unpin_batch(dx, NULL, 0) == 0);

	/* The daemon's checks. */
	KID_CHECK(daxalloc_pin(e, 8 * MIB, 1, &bad) == -EINVAL);
	KID_CHECK(daxalloc_pin(e, 8 * MIB - PAGE, 2 * PAGE, &bad) == -EINVAL);
	KID_CHECK(strstr(daxalloc_errmsg(), "not inside") != NULL);
	/* The library's. */
	KID_CHECK(daxalloc_pin(e, 0, 0, &bad) == -EINVAL);
	KID_CHECK(daxalloc_pin(e, UINT64_MAX - 1, 4, &bad) == -EINVAL);
	KID_CHECK(daxalloc_pin(e, 0, PAGE, NULL) == -EINVAL);
	KID_CHECK(daxalloc_alloc(dx2, NULL, 2 * MIB, 0, 0, 0, &other) == 0);
	rg[0] = (struct daxalloc_pin_range){ other, 0, PAGE };
	KID_CHECK(daxalloc_pin_batch(dx, rg, 1, ids) == -EINVAL);
	KID_CHECK(strstr(daxalloc_errmsg(), "another connection") != NULL);
	/* Pins are the process's: another connection may unpin them. */
	KID_CHECK(daxalloc_pin(other, 0, PAGE, &p1) == 0);
	KID_CHECK(daxalloc_unpin(dx2, p1) == 0);
	KID_CHECK(daxalloc_delete(other) == 0);

	/* An extent deleted (by this process) under an open handle. */
	KID_CHECK(daxalloc_alloc(dx, "rule-pins-gone", 2 * MIB, 0, 0600, 0,
				 &gone) == 0);
	KID_CHECK(daxalloc_delete_name(dx2, "rule-pins-gone") == 0);
	KID_CHECK(daxalloc_pin(gone, 0, PAGE, &bad) == -ENOENT);
	r = daxalloc_close(gone);
	KID_CHECK(r == 0 || r == -ENOENT);

	KID_CHECK(daxalloc_unpin(dx, p2) == 0);
	kid_say("unpinned");

	/* All or nothing: one unknown id releases none of the batch. */
	kid_hear("batch");
	rg[0] = (struct daxalloc_pin_range){ e, 0, PAGE };
	KID_CHECK(daxalloc_pin_batch(dx, rg, 3, ids) == 0);
	bad = ids[2];
	ids[2] = 987654321;
	KID_CHECK(daxalloc_unpin_batch(dx, ids, 3) == -ENOENT);
	kid_say("refused");
	kid_hear("again");
	ids[2] = bad;
	KID_CHECK(daxalloc_unpin_batch(dx, ids, 3) == 0);
	kid_say("unpinned");
	kid_hear("end");
	KID_CHECK(daxalloc_delete(e) == 0);
	daxalloc_disconnect(dx2);
	daxalloc_disconnect(dx);
}

static void test_pins(void)
{
	struct kid k;
	char line[128];

	CU_ASSERT_FATAL(kid_start(&k, pins_kid, NULL));
	CU_ASSERT(kid_expect(&k, "pinned", line, sizeof(line), 5000));
	CU_ASSERT_EQUAL(pins_of(k.pid), 5);
	CU_ASSERT(kid_tell(&k, "unpin"));
	CU_ASSERT(kid_expect(&k, "unpinned", line, sizeof(line), 5000));
	CU_ASSERT_EQUAL(pins_of(k.pid), 0);
	CU_ASSERT(kid_tell(&k, "batch"));
	CU_ASSERT(kid_expect(&k, "refused", line, sizeof(line), 5000));
	CU_ASSERT_EQUAL(pins_of(k.pid), 3);
	CU_ASSERT(kid_tell(&k, "again"));
	CU_ASSERT(kid_expect(&k, "unpinned", line, sizeof(line), 5000));
	CU_ASSERT_EQUAL(pins_of(k.pid), 0);
	CU_ASSERT(kid_tell(&k, "end"));
	CU_ASSERT_EQUAL(kid_end(&k, 5000), 0);
	CU_ASSERT(pool_checked());
}

/* What foreign_kid is told about the owner's extent and pin. */
struct foreign_job {
	uint64_t extent_id;
	uint64_t pin_id;
};

/* owner_kid -- a named extent with a pin, until told to end */
static void owner_kid(void *arg)
{
	struct daxalloc *dx = kid_connect();
	struct daxalloc_extent *e;
	uint64_t pin;

	(void)arg;
	KID_CHECK(daxalloc_alloc(dx, "rule-foreign", 4 * MIB, 0, 0666, 0, &e) ==
		  0);
	KID_CHECK(daxalloc_pin(e, 0, PAGE, &pin) == 0);
	kid_say("ready %llu %llu", (unsigned long long)daxalloc_extent_id(e),
		(unsigned long long)pin);
	kid_hear("end");
	KID_CHECK(daxalloc_unpin(dx, pin) == 0);
	KID_CHECK(daxalloc_delete(e) == 0);
	daxalloc_disconnect(dx);
}

/* foreign_kid -- what another process may not do with the owner's holds */
static void foreign_kid(void *arg)
{
	const struct foreign_job *j = arg;
	struct daxalloc *dx = kid_connect();
	struct daxalloc_extent *e;
	uint64_t pin;
	int fd;

	KID_CHECK(daxalloc_unpin(dx, j->pin_id) == -EPERM);
	KID_CHECK(strstr(daxalloc_errmsg(), "another process") != NULL);
	/* Past the library: no lease, no pin; no extent, no pin. */
	fd = raw_connect();
	KID_CHECK(fd >= 0);
	KID_CHECK(raw_pin(fd, j->extent_id, 0, PAGE) == -EPERM);
	KID_CHECK(raw_pin(fd, 987654321, 0, PAGE) == -ENOENT);
	close(fd);
	/* With a lease of its own, it may. */
	KID_CHECK(daxalloc_open_id(dx, j->extent_id, DAXALLOC_RDONLY, &e) == 0);
	KID_CHECK(daxalloc_pin(e, PAGE, PAGE, &pin) == 0);
	KID_CHECK(daxalloc_unpin(dx, pin) == 0);
	KID_CHECK(daxalloc_close(e) == 0);
	daxalloc_disconnect(dx);
}

static void test_pins_foreign(void)
{
	unsigned long long id = 0, pin = 0;
	struct foreign_job j;
	struct kid a, b;
	char line[128];

	CU_ASSERT_FATAL(kid_start(&a, owner_kid, NULL));
	CU_ASSERT_FATAL(kid_expect(&a, "ready", line, sizeof(line), 5000));
	CU_ASSERT_FATAL(sscanf(line, "ready %llu %llu", &id, &pin) == 2);
	j.extent_id = id;
	j.pin_id = pin;
	CU_ASSERT_FATAL(kid_start(&b, foreign_kid, &j));
	CU_ASSERT_EQUAL(kid_end(&b, 10000), 0);
	CU_ASSERT_EQUAL(pins_of(a.pid), 1);
	CU_ASSERT(kid_tell(&a, "end"));
	CU_ASSERT_EQUAL(kid_end(&a, 5000), 0);
	CU_ASSERT(pool_checked());
}

/*
 * batch_kid -- thousands of pins per call: all-or-nothing across the
 * requests a batch is cut into, the daemon's pin limit, and the rate
 */
static void batch_kid(void *arg)
{
	const size_t n = 9000, rounds = 10;
	struct daxalloc_pin_range *rg;
	struct daxalloc_extent *e;
	struct daxalloc *dx = kid_connect();
	uint64_t *ids;
	long long t0, pin_ms = 0, unpin_ms = 0;
	size_t i, j;

	(void)arg;
	rg = calloc(PIN_LIMIT + 1, sizeof(*rg));
	ids = calloc(PIN_LIMIT + 1, sizeof(*ids));
	KID_CHECK(rg && ids);
	KID_CHECK(daxalloc_alloc(dx, NULL, 32 * MIB, 0, 0, 0, &e) == 0);
	for (i = 0; i <= PIN_LIMIT; i++)
		rg[i] = (struct daxalloc_pin_range){
			e, (i * 3 * PAGE) % (32 * MIB - PAGE), PAGE
		};
	KID_CHECK(daxalloc_pin_batch(dx, rg, n, ids) == 0);
	for (i = 1; i < n; i++)
		KID_CHECK(ids[i] && ids[i] != ids[i - 1]);
	kid_say("pinned %zu", n);
	kid_hear("unpin");
	KID_CHECK(daxalloc_unpin_batch(dx, ids, n) == 0);
	kid_say("unpinned");

	/* Over the limit in the 7th request: the first six are undone. */
	kid_hear("limit");
	memset(ids, 0xff, (PIN_LIMIT + 1) * sizeof(*ids));
	KID_CHECK(daxalloc_pin_batch(dx, rg, PIN_LIMIT + 1, ids) == -EDQUOT);
	KID_CHECK(strstr(daxalloc_errmsg(), "unpinned again") != NULL);
	for (i = 0; i <= PIN_LIMIT; i++)
		KID_CHECK(ids[i] == 0);
	/* One bad range in the 4th request: the same. */
	rg[5000].offset = 32 * MIB;
	KID_CHECK(daxalloc_pin_batch(dx, rg, n, ids) == -EINVAL);
	for (i = 0; i < n; i++)
		KID_CHECK(ids[i] == 0);
	rg[5000].offset = 0;
	kid_say("refused");

	kid_hear("rate");
	for (j = 0; j < rounds; j++) {
		t0 = harness_now_ms();
		KID_CHECK(daxalloc_pin_batch(dx, rg, n, ids) == 0);
		pin_ms += harness_now_ms() - t0;
		t0 = harness_now_ms();
		KID_CHECK(daxalloc_unpin_batch(dx, ids, n) == 0);
		unpin_ms += harness_now_ms() - t0;
	}
	kid_say("rate %lld %lld", n * rounds * 1000 / (pin_ms ? pin_ms : 1),
		n * rounds * 1000 / (unpin_ms ? unpin_ms : 1));
	KID_CHECK(daxalloc_delete(e) == 0);
	daxalloc_disconnect(dx);
	free(rg);
	free(ids);
}

static void test_pin_batches(void)
{
	long long pins = 0, unpins = 0;
	struct kid k;
	char line[128];

	CU_ASSERT_FATAL(kid_start(&k, batch_kid, NULL));
	CU_ASSERT(kid_expect(&k, "pinned 9000", line, sizeof(line), 10000));
	CU_ASSERT_EQUAL(pins_of(k.pid), 9000);
	CU_ASSERT(kid_tell(&k, "unpin"));
	CU_ASSERT(kid_expect(&k, "unpinned", line, sizeof(line), 10000));
	CU_ASSERT_EQUAL(pins_of(k.pid), 0);
	CU_ASSERT(kid_tell(&k, "limit"));
	CU_ASSERT(kid_expect(&k, "refused", line, sizeof(line), 10000));
	CU_ASSERT_EQUAL(pins_of(k.pid), 0);
	CU_ASSERT(kid_tell(&k, "rate"));
	CU_ASSERT(kid_expect(&k, "rate", line, sizeof(line), 60000));
	CU_ASSERT(sscanf(line, "rate %lld %lld", &pins, &unpins) == 2);
	fprintf(stderr, "(batches of 9000: %lld pins/s, %lld unpins/s) ", pins,
		unpins);
	CU_ASSERT_EQUAL(kid_end(&k, 10000), 0);
	CU_ASSERT(pool_checked());
}

/* ---------------------------------------------------------------------- */
/* Events and the default handler                                         */
/* ---------------------------------------------------------------------- */

/*
 * delete_kid -- its extent is deleted by another process while it pins
 * part of it: the event fd wakes, the default handler unmaps everything,
 * and the ack waits for the unpin
 */
static void delete_kid(void *arg)
{
	struct daxalloc *dx = kid_connect();
	struct daxalloc_extent *e;
	uint64_t pin, pin2, scratch = 1;
	void *addr;
	int efd;

	(void)arg;
	KID_CHECK(daxalloc_alloc(dx, "rule-delete", 8 * MIB, 0, 0666, 0, &e) ==
		  0);
	addr = daxalloc_extent_addr(e);
	KID_CHECK(daxalloc_pin(e, 2 * MIB, PAGE, &pin) == 0);
	/* Elsewhere in the extent: holds the break just the same. */
	KID_CHECK(daxalloc_pin(e, 6 * MIB, PAGE, &pin2) == 0);
	efd = daxalloc_event_fd(dx);
	KID_CHECK(efd >= 0 && daxalloc_event_fd(dx) == efd);
	/* Nothing happened yet: nothing to read, nothing to handle. */
	KID_CHECK(kid_readable(efd, 0) == 0);
	KID_CHECK(daxalloc_dispatch(dx) == 0);
	kid_say("ready %llu", (unsigned long long)daxalloc_extent_id(e));

	kid_hear("poll");
	KID_CHECK(kid_readable(efd, 5000) == 1);
	KID_CHECK(daxalloc_dispatch(dx) == 1);
	KID_CHECK(daxalloc_extent_dead(e));
	KID_CHECK(daxalloc_extent_addr(e) == NULL);
	KID_CHECK(daxalloc_extent_length(e) == 0);
	KID_CHECK(!mapped(addr, 8 * MIB));
	KID_CHECK(daxalloc_pin(e, 0, PAGE, &scratch) == -ESTALE);
	KID_CHECK(scratch == 0);
	KID_CHECK(daxalloc_truncate(e, 2 * MIB) == -ESTALE);
	/* Handled: the descriptor is quiet again. */
	KID_CHECK(kid_readable(efd, 100) == 0);
	kid_say("unmapped");

	kid_hear("unpin");
	KID_CHECK(daxalloc_unpin(dx, pin) == 0);
	kid_say("one");
	kid_hear("unpin");
	KID_CHECK(daxalloc_unpin(dx, pin2) == 0);
	kid_say("unpinned");
	kid_hear("close");
	/* The daemon ended the lease: nothing to tell it. */
	KID_CHECK(daxalloc_close(e) == 0);
	daxalloc_disconnect(dx);
}

static void test_break_delete(void)
{
	unsigned long long id = 0;
	uint64_t pins = 0, breaks = 0;
	struct kid a;
	char line[128];

	CU_ASSERT_FATAL(kid_start(&a, delete_kid, NULL));
	CU_ASSERT_FATAL(kid_expect(&a, "ready", line, sizeof(line), 5000));
	CU_ASSERT_FATAL(sscanf(line, "ready %llu", &id) == 1);
	CU_ASSERT_EQUAL(run_name_kid("rule-delete", 0), 0);
	CU_ASSERT(kid_tell(&a, "poll"));
	CU_ASSERT(kid_expect(&a, "unmapped", line, sizeof(line), 10000));
	/* Unmapped, but pinned: the ack waits, the range stays. */
	CU_ASSERT_EQUAL(quarantine_of(id, &pins, &breaks), 1);
	CU_ASSERT_EQUAL(pins, 2);
	CU_ASSERT_EQUAL(breaks, 1);
	CU_ASSERT(kid_tell(&a, "unpin"));
	CU_ASSERT(kid_expect(&a, "one", line, sizeof(line), 5000));
	CU_ASSERT_EQUAL(quarantine_of(id, &pins, &breaks), 1);
	CU_ASSERT_EQUAL(pins, 1);
	CU_ASSERT_EQUAL(breaks, 1);
	/* The last overlapping pin goes: the unpin sends the ack. */
	CU_ASSERT(kid_tell(&a, "unpin"));
	CU_ASSERT(kid_expect(&a, "unpinned", line, sizeof(line), 5000));
	CU_ASSERT(quarantine_gone(id, 2000));
	CU_ASSERT(kid_tell(&a, "close"));
	CU_ASSERT_EQUAL(kid_end(&a, 5000), 0);
	CU_ASSERT(pool_checked());
}

/*
 * truncate_kid -- another process truncates its extent: the default
 * handler unmaps the tail only, and acknowledges at once; a second
 * connection of the same process, which has nothing open, ignores it
 */
static void truncate_kid(void *arg)
{
	struct daxalloc *dx = kid_connect(), *idle = kid_connect();
	struct daxalloc_extent *e;
	void *addr;
	int efd, efd2;

	(void)arg;
	KID_CHECK(daxalloc_alloc(dx, "rule-truncate", 8 * MIB, 0, 0666, 0,
				 &e) == 0);
	addr = daxalloc_extent_addr(e);
	pattern_fill(addr, 8 * MIB, 77);
	efd = daxalloc_event_fd(dx);
	efd2 = daxalloc_event_fd(idle);
	KID_CHECK(efd >= 0 && efd2 >= 0 && efd != efd2);
	kid_say("ready %llu", (unsigned long long)daxalloc_extent_id(e));

	kid_hear("idle");
	/* Every connection of the process hears the break. */
	KID_CHECK(kid_readable(efd2, 5000) == 1);
	KID_CHECK(daxalloc_dispatch(idle) == 1);
	kid_say("ignored");

	kid_hear("poll");
	KID_CHECK(kid_readable(efd, 5000) == 1);
	KID_CHECK(daxalloc_dispatch(dx) == 1);
	KID_CHECK(!daxalloc_extent_dead(e));
	KID_CHECK(daxalloc_extent_addr(e) == addr);
	KID_CHECK(daxalloc_extent_length(e) == 4 * MIB);
	KID_CHECK(covered(addr, 4 * MIB));
	KID_CHECK(pattern_ok(addr, 4 * MIB, 77));
	KID_CHECK(!mapped((char *)addr + 4 * MIB, 4 * MIB));
	kid_say("cut");
	kid_hear("end");
	KID_CHECK(daxalloc_delete(e) == 0);
	daxalloc_disconnect(idle);
	daxalloc_disconnect(dx);
}

static void test_break_truncate(void)
{
	unsigned long long id = 0;
	uint64_t pins = 0, breaks = 0;
	struct kid a;
	char line[128];

	CU_ASSERT_FATAL(kid_start(&a, truncate_kid, NULL));
	CU_ASSERT_FATAL(kid_expect(&a, "ready", line, sizeof(line), 5000));
	CU_ASSERT_FATAL(sscanf(line, "ready %llu", &id) == 1);
	CU_ASSERT_EQUAL(run_name_kid("rule-truncate", 4 * MIB), 0);
	CU_ASSERT(kid_tell(&a, "idle"));
	CU_ASSERT(kid_expect(&a, "ignored", line, sizeof(line), 10000));
	/* The idle connection did not acknowledge for the other one. */
	CU_ASSERT_EQUAL(quarantine_of(id, &pins, &breaks), 1);
	CU_ASSERT_EQUAL(breaks, 1);
	CU_ASSERT_EQUAL(pins, 0);
	CU_ASSERT(kid_tell(&a, "poll"));
	CU_ASSERT(kid_expect(&a, "cut", line, sizeof(line), 10000));
	CU_ASSERT(quarantine_gone(id, 2000));
	CU_ASSERT(kid_tell(&a, "end"));
	CU_ASSERT_EQUAL(kid_end(&a, 5000), 0);
	CU_ASSERT(pool_checked());
}

/* What custom_handler saw. */
static struct daxalloc_event seen;
static char seen_text[64];
static struct daxalloc_extent *seen_want;
static int seen_count;

/* custom_handler -- record the event, acknowledge nothing */
static int custom_handler(struct daxalloc *dx, const struct daxalloc_event *ev,
			  void *arg)
{
	(void)dx;
	KID_CHECK(arg == &seen);
	seen = *ev;
	snprintf(seen_text, sizeof(seen_text), "%s",
		 ev->reason_text ? ev->reason_text : "(null)");
	seen_count++;
	return 0;
}

/* custom_kid -- its own handler gets every field, and acks by itself */
static void custom_kid(void *arg)
{
	struct daxalloc *dx = kid_connect();
	struct daxalloc_extent *e;
	uint64_t pin, t0;
	int r;

	(void)arg;
	KID_CHECK(daxalloc_alloc(dx, "rule-custom", 4 * MIB, 0, 0666, 0, &e) ==
		  0);
	seen_want = e;
	KID_CHECK(daxalloc_pin(e, 0, 2 * PAGE, &pin) == 0);
	daxalloc_set_event_handler(dx, custom_handler, &seen);
	kid_say("ready %llu", (unsigned long long)daxalloc_extent_id(e));

	kid_hear("poll");
	t0 = wall_ms();
	KID_CHECK(kid_readable(daxalloc_event_fd(dx), 5000) == 1);
	KID_CHECK(daxalloc_dispatch(dx) == 1);
	KID_CHECK(seen_count == 1);
	KID_CHECK(seen.type == DAXALLOC_EVENT_LEASE_BREAK);
	KID_CHECK(seen.extent_id == daxalloc_extent_id(e));
	KID_CHECK(seen.ext == seen_want);
	KID_CHECK(seen.offset == 0 && seen.length == 4 * MIB);
	KID_CHECK(seen.reason == DAXALLOC_BREAK_DELETE);
	KID_CHECK(!strcmp(seen_text, "delete"));
	KID_CHECK(seen.break_id != 0);
	/* The suite's lease_break_time is 30 s. */
	KID_CHECK(seen.deadline_ms + 2000 >= t0 + 30000 &&
		  seen.deadline_ms <= wall_ms() + 31000);
	/* This handler did not call the default one: the handle lives. */
	KID_CHECK(!daxalloc_extent_dead(e) && daxalloc_extent_addr(e));
	kid_say("got");

	kid_hear("ack");
	/* No break is tracked, so the unpin sends nothing... */
	KID_CHECK(daxalloc_unpin(dx, pin) == 0);
	/* ...and the application acknowledges itself. */
	KID_CHECK(daxalloc_break_ack(dx, seen.break_id) == 0);
	r = daxalloc_break_ack(dx, seen.break_id);
	KID_CHECK(r == -ENOENT);
	kid_say("acked");
	kid_hear("end");
	r = daxalloc_close(e);
	KID_CHECK(r == 0 || r == -ENOENT);
	daxalloc_disconnect(dx);
}

static void test_custom_handler(void)
{
	unsigned long long id = 0;
	uint64_t pins = 0, breaks = 0;
	struct kid a;
	char line[128];

	CU_ASSERT_FATAL(kid_start(&a, custom_kid, NULL));
	CU_ASSERT_FATAL(kid_expect(&a, "ready", line, sizeof(line), 5000));
	CU_ASSERT_FATAL(sscanf(line, "ready %llu", &id) == 1);
	CU_ASSERT_EQUAL(run_name_kid("rule-custom", 0), 0);
	CU_ASSERT(kid_tell(&a, "poll"));
	CU_ASSERT(kid_expect(&a, "got", line, sizeof(line), 10000));
	CU_ASSERT_EQUAL(quarantine_of(id, &pins, &breaks), 1);
	CU_ASSERT_EQUAL(breaks, 1);
	CU_ASSERT(kid_tell(&a, "ack"));
	CU_ASSERT(kid_expect(&a, "acked", line, sizeof(line), 5000));
	CU_ASSERT(quarantine_gone(id, 2000));
	CU_ASSERT(kid_tell(&a, "end"));
	CU_ASSERT_EQUAL(kid_end(&a, 5000), 0);
	CU_ASSERT(pool_checked());
}

/* What chain_handler saw. */
static volatile bool saw_break, saw_revoked;
static int saw_reason = -1;

/* chain_handler -- note the event, then let the library do its part */
static int chain_handler(struct daxalloc *dx, const struct daxalloc_event *ev,
			 void *arg)
{
	if (ev->type == DAXALLOC_EVENT_LEASE_BREAK) {
		saw_break = true;
		saw_reason = ev->reason;
	} else if (ev->type == DAXALLOC_EVENT_REVOKED) {
		saw_revoked = true;
	}
	return daxalloc_default_handler(dx, ev, arg);
}

/*
 * revoke_kid -- an administrator revokes its extent: the REVOKE break
 * kills the handle; with pinned set it keeps its pin past the grace, so
 * the daemon revokes it (Revoked), and its unpin is then local
 */
static void revoke_kid(void *arg)
{
	bool pinned = arg != NULL;
	struct daxalloc *dx = kid_connect();
	struct daxalloc_extent *e;
	uint64_t pin = 0, id;
	int r;

	KID_CHECK(daxalloc_open(dx, "rule-revoke", 0, &e) == 0);
	if (pinned)
		KID_CHECK(daxalloc_pin(e, PAGE, PAGE, &pin) == 0);
	id = daxalloc_extent_id(e);
	daxalloc_set_event_handler(dx, chain_handler, NULL);
	kid_say("ready");

	kid_hear("poll");
	KID_CHECK(kid_dispatch_until(dx, &saw_break, 5000));
	KID_CHECK(saw_reason == DAXALLOC_BREAK_REVOKE);
	KID_CHECK(daxalloc_extent_dead(e));
	KID_CHECK(daxalloc_pin(e, 0, PAGE, &id) == -ESTALE);
	kid_say("dead");
	if (pinned) {
		kid_hear("revoked");
		KID_CHECK(kid_dispatch_until(dx, &saw_revoked, 10000));
		/* The daemon ended the pin: releasing it is local. */
		KID_CHECK(daxalloc_unpin(dx, pin) == 0);
		kid_say("done");
	}
	kid_hear("end");
	KID_CHECK(daxalloc_close(e) == 0);
	/* A revoked lease is not granted again. */
	r = daxalloc_open(dx, "rule-revoke", 0, &e);
	KID_CHECK(pinned ? r == -EPERM : r == 0);
	if (!r)
		KID_CHECK(daxalloc_close(e) == 0);
	daxalloc_disconnect(dx);
}

/* creator_kid -- make the named extent the revoke tests share */
static void creator_kid(void *arg)
{
	struct daxalloc *dx = kid_connect();
	struct daxalloc_extent *e;

	KID_CHECK(daxalloc_alloc(dx, arg, 4 * MIB, 0, 0666, DAXALLOC_NO_MAP,
				 &e) == 0);
	KID_CHECK(daxalloc_close(e) == 0);
	daxalloc_disconnect(dx);
}

static void test_revoke(void)
{
	char pidbuf[16], line[128];
	const char *args[] = {
		"revoke", "--pid", pidbuf, "--grace", "1", NULL
	};
	struct kid c, a, b;

	CU_ASSERT_FATAL(kid_start(&c, creator_kid, (void *)"rule-revoke"));
	CU_ASSERT_FATAL(kid_end(&c, 5000) == 0);

	/* Without pins: acknowledged in time, the lease ends, no revoke. */
	CU_ASSERT_FATAL(kid_start(&a, revoke_kid, NULL));
	CU_ASSERT(kid_expect(&a, "ready", line, sizeof(line), 5000));
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)a.pid);
	CU_ASSERT_EQUAL(ctl(args), 0);
	CU_ASSERT(kid_tell(&a, "poll"));
	CU_ASSERT(kid_expect(&a, "dead", line, sizeof(line), 10000));
	usleep(1500 * 1000);
	CU_ASSERT_EQUAL(process_revoked(a.pid), 0);

	/* With a pin kept past the grace: revoked, and told so. */
	CU_ASSERT_FATAL(kid_start(&b, revoke_kid, (void *)1));
	CU_ASSERT(kid_expect(&b, "ready", line, sizeof(line), 5000));
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)b.pid);
	CU_ASSERT_EQUAL(ctl(args), 0);
	CU_ASSERT(kid_tell(&b, "poll"));
	CU_ASSERT(kid_expect(&b, "dead", line, sizeof(line), 10000));
	CU_ASSERT(kid_tell(&b, "revoked"));
	CU_ASSERT(kid_expect(&b, "done", line, sizeof(line), 15000));
	CU_ASSERT_EQUAL(process_revoked(b.pid), 1);

	CU_ASSERT(kid_tell(&a, "end"));
	CU_ASSERT_EQUAL(kid_end(&a, 5000), 0);
	CU_ASSERT(kid_tell(&b, "end"));
	CU_ASSERT_EQUAL(kid_end(&b, 5000), 0);
	CU_ASSERT_EQUAL(run_name_kid("rule-revoke", 0), 0);
	CU_ASSERT(pool_checked());
}

/* ---------------------------------------------------------------------- */
/* Threads                                                                */
/* ---------------------------------------------------------------------- */

#define PIN_THREADS 8
#define PIN_ROUNDS 200

struct pin_worker {
	pthread_t t;
	struct daxalloc *dx;
	struct daxalloc_extent *e;
	unsigned int idx;
	atomic_int *failed;
};

/* pin_worker -- batches of pins and unpins in the front half, ids checked */
static void *pin_worker(void *arg)
{
	struct pin_worker *w = arg;
	struct daxalloc_pin_range rg[64];
	uint64_t ids[64];
	unsigned int i, j;

	for (i = 0; i < PIN_ROUNDS && !atomic_load(w->failed); i++) {
		for (j = 0; j < 64; j++)
			rg[j] = (struct daxalloc_pin_range){
				w->e, ((w->idx * 64 + j) * PAGE) % (8 * MIB),
				PAGE
			};
		if (daxalloc_pin_batch(w->dx, rg, 1 + i % 64, ids) != 0 ||
		    daxalloc_unpin_batch(w->dx, ids, 1 + i % 64) != 0) {
			fprintf(stderr, "worker %u round %u: %s\n", w->idx, i,
				daxalloc_errmsg());
			atomic_store(w->failed, 1);
		}
	}
	return NULL;
}

/*
 * threads_kid -- 8 threads pin and unpin on one connection while the main
 * thread runs the event loop, and a truncate from another process cuts
 * the unpinned back half away under them
 */
static void threads_kid(void *arg)
{
	struct pin_worker w[PIN_THREADS];
	struct daxalloc *dx = kid_connect();
	struct daxalloc_extent *e;
	atomic_int failed = 0;
	unsigned int i;
	int efd, handled = 0, r;
	long long end;

	(void)arg;
	KID_CHECK(daxalloc_alloc(dx, "rule-threads", 16 * MIB, 0, 0666, 0,
				 &e) == 0);
	efd = daxalloc_event_fd(dx);
	KID_CHECK(efd >= 0);
	for (i = 0; i < PIN_THREADS; i++) {
		w[i] = (struct pin_worker){
			.dx = dx, .e = e, .idx = i, .failed = &failed
		};
		KID_CHECK(pthread_create(&w[i].t, NULL, pin_worker, &w[i]) ==
			  0);
	}
	kid_say("running");
	/* The event loop, while the workers run. */
	end = harness_now_ms() + 20000;
	while (daxalloc_extent_length(e) == 16 * MIB && harness_now_ms() < end)
		if (kid_readable(efd, 100) > 0 &&
		    (r = daxalloc_dispatch(dx)) > 0)
			handled += r;
	for (i = 0; i < PIN_THREADS; i++)
		pthread_join(w[i].t, NULL);
	KID_CHECK(!atomic_load(&failed));
	KID_CHECK(handled == 1);
	KID_CHECK(daxalloc_extent_length(e) == 8 * MIB);
	kid_say("joined");
	kid_hear("end");
	KID_CHECK(daxalloc_delete(e) == 0);
	daxalloc_disconnect(dx);
}

static void test_threads(void)
{
	struct kid a;
	char line[128];

	CU_ASSERT_FATAL(kid_start(&a, threads_kid, NULL));
	CU_ASSERT_FATAL(kid_expect(&a, "running", line, sizeof(line), 5000));
	CU_ASSERT_EQUAL(run_name_kid("rule-threads", 8 * MIB), 0);
	CU_ASSERT(kid_expect(&a, "joined", line, sizeof(line), 60000));
	CU_ASSERT_EQUAL(pins_of(a.pid), 0);
	CU_ASSERT(kid_tell(&a, "end"));
	CU_ASSERT_EQUAL(kid_end(&a, 5000), 0);
	CU_ASSERT(pool_checked());
}

/* ---------------------------------------------------------------------- */
/* Reconnect                                                              */
/* ---------------------------------------------------------------------- */

/*
 * resume_kid -- lives through a kill -9 of the daemon: the next call
 * reconnects, the mapping and the pin ids still work, and lease breaks
 * come through the same event descriptor
 */
static void resume_kid(void *arg)
{
	struct daxalloc *dx = kid_connect();
	struct daxalloc_pin_range rg[2];
	struct daxalloc_extent *e;
	struct daxalloc_info info;
	uint64_t ids[2], sid;
	int efd;

	(void)arg;
	KID_CHECK(daxalloc_alloc(dx, "rule-resume", 8 * MIB, 0, 0666, 0, &e) ==
		  0);
	pattern_fill(daxalloc_extent_addr(e), 8 * MIB, 5);
	rg[0] = (struct daxalloc_pin_range){ e, 0, PAGE };
	rg[1] = (struct daxalloc_pin_range){ e, 4 * MIB, PAGE };
	KID_CHECK(daxalloc_pin_batch(dx, rg, 2, ids) == 0);
	efd = daxalloc_event_fd(dx);
	KID_CHECK(efd >= 0);
	sid = daxalloc_session_id(dx);
	kid_say("ready %llu", (unsigned long long)daxalloc_extent_id(e));

	kid_hear("stat");
	KID_CHECK(daxalloc_stat_id(dx, daxalloc_extent_id(e), &info) == 0);
	KID_CHECK(info.length == 8 * MIB && !strcmp(info.name, "rule-resume"));
	KID_CHECK(daxalloc_session_id(dx) != sid);
	KID_CHECK(daxalloc_event_fd(dx) == efd);
	KID_CHECK(pattern_ok(daxalloc_extent_addr(e), 8 * MIB, 5));
	/* The pin ids of before the restart. */
	KID_CHECK(daxalloc_unpin(dx, ids[0]) == 0);
	kid_say("resumed");

	kid_hear("poll");
	KID_CHECK(kid_readable(efd, 5000) == 1);
	KID_CHECK(daxalloc_dispatch(dx) >= 1);
	KID_CHECK(daxalloc_extent_dead(e));
	kid_say("dead");
	kid_hear("unpin");
	KID_CHECK(daxalloc_unpin(dx, ids[1]) == 0);
	kid_say("unpinned");
	kid_hear("end");
	KID_CHECK(daxalloc_close(e) == 0);
	daxalloc_disconnect(dx);
}

static void test_reconnect(void)
{
	unsigned long long id = 0;
	uint64_t pins = 0, breaks = 0;
	struct kid a;
	char line[128];

	CU_ASSERT_FATAL(kid_start(&a, resume_kid, NULL));
	CU_ASSERT_FATAL(kid_expect(&a, "ready", line, sizeof(line), 5000));
	CU_ASSERT_FATAL(sscanf(line, "ready %llu", &id) == 1);
	CU_ASSERT_FATAL(restart() == 0);
	/* The daemon kept the kid's pins over its restart. */
	CU_ASSERT_EQUAL(pins_of(a.pid), 2);
	CU_ASSERT(kid_tell(&a, "stat"));
	CU_ASSERT(kid_expect(&a, "resumed", line, sizeof(line), 10000));
	CU_ASSERT_EQUAL(pins_of(a.pid), 1);
	CU_ASSERT_EQUAL(run_name_kid("rule-resume", 0), 0);
	CU_ASSERT(kid_tell(&a, "poll"));
	CU_ASSERT(kid_expect(&a, "dead", line, sizeof(line), 10000));
	CU_ASSERT_EQUAL(quarantine_of(id, &pins, &breaks), 1);
	CU_ASSERT_EQUAL(pins, 1);
	CU_ASSERT_EQUAL(breaks, 1);
	CU_ASSERT(kid_tell(&a, "unpin"));
	CU_ASSERT(kid_expect(&a, "unpinned", line, sizeof(line), 5000));
	CU_ASSERT(quarantine_gone(id, 2000));
	CU_ASSERT(kid_tell(&a, "end"));
	CU_ASSERT_EQUAL(kid_end(&a, 5000), 0);
	CU_ASSERT(pool_checked());
}

/*
 * inflight_kid -- calls in flight when the daemon dies: an idempotent one
 * (Stat) is sent again after the reconnect and succeeds, another (Alloc)
 * fails with -ECONNRESET and says so; the next call works
 */
static void inflight_kid(void *arg)
{
	struct daxalloc *dx = kid_connect();
	struct daxalloc_extent *e;
	struct daxalloc_info info;
	uint64_t id;
	int r;

	(void)arg;
	KID_CHECK(daxalloc_alloc(dx, "rule-inflight", 2 * MIB, 0, 0600,
				 DAXALLOC_NO_MAP, &e) == 0);
	id = daxalloc_extent_id(e);
	kid_say("ready");
	kid_hear("stat");
	kid_say("calling");
	r = daxalloc_stat_id(dx, id, &info);
	kid_say("stat %d", r);
	kid_hear("alloc");
	kid_say("calling");
	r = daxalloc_alloc(dx, NULL, 2 * MIB, 0, 0, DAXALLOC_NO_MAP, &e);
	KID_CHECK(
		r != -ECONNRESET ||
		strstr(daxalloc_errmsg(), "may or may not have been applied"));
	kid_say("alloc %d", r);
	KID_CHECK(daxalloc_stat_id(dx, id, &info) == 0);
	KID_CHECK(daxalloc_delete_name(dx, "rule-inflight") == 0);
	daxalloc_disconnect(dx);
	kid_say("done");
}

/* stopped_restart -- the kid's call reaches a stopped daemon, which dies */
static void stopped_restart(struct kid *k, const char *cmd, char *line,
			    size_t cap)
{
	CU_ASSERT_EQUAL(kill(main_h.pid, SIGSTOP), 0);
	CU_ASSERT(kid_tell(k, cmd));
	CU_ASSERT(kid_expect(k, "calling", line, cap, 5000));
	usleep(300 * 1000);
	CU_ASSERT_FATAL(restart() == 0);
}

static void test_inflight(void)
{
	struct kid a;
	char line[128];

	CU_ASSERT_FATAL(kid_start(&a, inflight_kid, NULL));
	CU_ASSERT_FATAL(kid_expect(&a, "ready", line, sizeof(line), 5000));
	stopped_restart(&a, "stat", line, sizeof(line));
	CU_ASSERT(kid_expect(&a, "stat 0", line, sizeof(line), 10000));
	stopped_restart(&a, "alloc", line, sizeof(line));
	CU_ASSERT(kid_expect(&a, "alloc -104", line, sizeof(line), 10000));
	CU_ASSERT(kid_expect(&a, "done", line, sizeof(line), 10000));
	CU_ASSERT_EQUAL(kid_end(&a, 5000), 0);
	CU_ASSERT(pool_checked());
}

/*
 * poll_kid -- the event descriptor while the daemon is down: readable
 * (the socket broke), dispatch keeps trying, and once the daemon is back
 * it reconnects by itself
 */
static void poll_kid(void *arg)
{
	struct daxalloc *dx = kid_connect();
	uint64_t sid = daxalloc_session_id(dx);
	long long end;
	int efd = daxalloc_event_fd(dx), r = -EPIPE;

	(void)arg;
	KID_CHECK(efd >= 0);
	kid_say("ready");
	kid_hear("down");
	/* Only a read finds the end of the socket: dispatch is that read. */
	KID_CHECK(kid_readable(efd, 5000) == 1);
	r = daxalloc_dispatch(dx);
	KID_CHECK(r == -EPIPE);
	KID_CHECK(kid_readable(efd, 2000) == 1);
	kid_say("waiting");
	kid_hear("up");
	end = harness_now_ms() + 5000;
	while (daxalloc_session_id(dx) == sid && harness_now_ms() < end)
		if (kid_readable(efd, 1000) > 0)
			r = daxalloc_dispatch(dx);
	KID_CHECK(r >= 0);
	KID_CHECK(daxalloc_session_id(dx) != sid);
	daxalloc_disconnect(dx);
	kid_say("back");
}

static void test_poll_reconnect(void)
{
	struct kid a;
	char line[128];

	CU_ASSERT_FATAL(kid_start(&a, poll_kid, NULL));
	CU_ASSERT_FATAL(kid_expect(&a, "ready", line, sizeof(line), 5000));
	CU_ASSERT_FATAL(harness_stop(&main_h, SIGKILL, NULL) == 0);
	CU_ASSERT(kid_tell(&a, "down"));
	CU_ASSERT(kid_expect(&a, "waiting", line, sizeof(line), 10000));
	CU_ASSERT_FATAL(harness_start(&main_h, main_args) == 0);
	CU_ASSERT(kid_tell(&a, "up"));
	CU_ASSERT(kid_expect(&a, "back", line, sizeof(line), 10000));
	CU_ASSERT_EQUAL(kid_end(&a, 5000), 0);
}

/* ---------------------------------------------------------------------- */

static int suite_init(void)
{
	FILE *f;

	if (harness_init(&main_h) < 0)
		return -1;
	snprintf(main_conf, sizeof(main_conf), "%s/rule.conf", main_h.dir);
	main_args[3] = main_h.pool;
	f = fopen(main_conf, "w");
	if (!f)
		return -1;
	fprintf(f,
		"[limits]\nlease_break_time = 30\nmax_pins_per_process = %d\n",
		PIN_LIMIT);
	if (fclose(f) != 0 || harness_start(&main_h, main_args) < 0)
		return -1;
	return 0;
}

static int suite_fini(void)
{
	harness_fini(&main_h);
	return 0;
}

static const struct harness_test tests[] = {
	{ "pin, unpin, batches and their errors", test_pins },
	{ "pins of another process, extents without a lease",
	  test_pins_foreign },
	{ "batches across requests: all or nothing, limit, rate",
	  test_pin_batches },
	{ "delete under a pin: event fd, unmap, ack after the unpin",
	  test_break_delete },
	{ "truncate: tail unmapped, ack at once, idle connection ignores",
	  test_break_truncate },
	{ "own handler: every field, ack by hand", test_custom_handler },
	{ "revoke: handle dead, Revoked, local unpin", test_revoke },
	{ "8 threads pin and unpin while the loop dispatches a break",
	  test_threads },
	{ "kill -9 of the daemon: reconnect, pins resumed, breaks after",
	  test_reconnect },
	{ "calls in flight when the daemon dies", test_inflight },
	{ "event fd while the daemon is down and back", test_poll_reconnect },
	{ NULL, NULL },
};

int main(void)
{
	static const struct harness_suite suites[] = {
		{ "client rule", suite_init, suite_fini, tests },
		{ NULL, NULL, NULL, NULL },
	};

	return harness_main(suites);
}
