// SPDX-License-Identifier: Apache-2.0
/*
 * test_extents.c -- extents between real client processes and daxallocd
 *
 * Named extents shared between processes and across a kill -9 of the
 * daemon, permissions, quotas, a full pool, anonymous extents that end
 * with their owner, truncate and names, all against the real daemon.
 *
 * The binary is also its own client: started with a helper mode as argv[1]
 * ("writer", "reader", "holder") it plays one process of a scenario, so
 * writers, readers and owners of anonymous extents are separate processes
 * with their own pid, start time and connection.  Tests that change user
 * fork without exec.  Children cannot use CUnit: they check with
 * CHILD_CHECK(), which prints the failed condition and exits 1.
 *
 * Every test ends by checking the pool's space accounting (free bytes are
 * the data area minus the listed extents) and that `daxallocctl check`
 * passes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
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
#define NOBODY 65534

/* Exit status of a reader whose bytes are not the writer's. */
#define HELPER_MISMATCH 3

/*
 * The suite's daemon: the harness's 64 MiB file pool, no configuration
 * file (so no quotas, whatever the host's default file says).
 */
static struct harness main_h;
static const char *const main_args[] = { "--config", "/dev/null", NULL };
static uint64_t main_data; /* free bytes of the empty pool: its data area */

/* A daemon with quotas and a name limit from a configuration file. */
static struct harness quota_h;
static char quota_conf[PATH_MAX];
static const char *const quota_args[] = { "--config", quota_conf, NULL };
static uint64_t quota_data;

/*
 * The quota daemon's file, for the uid running the test (root in CI).
 * Its own section comes before [quota] on purpose: the extent limit it
 * leaves out is the default written further down.  The group section is
 * for the nobody children of test_quota_default_uid (root only).
 */
static const char quota_conf_fmt[] = "[quota.uid.%u]\n"
				     "bytes = 16M\n"
				     "\n"
				     "[limits]\n"
				     "max_name_length = 32\n"
				     "\n"
				     "[quota]\n"
				     "default_uid_bytes = 8M\n"
				     "default_uid_extents = 3\n"
				     "%s";
static const char quota_conf_gid[] = "\n"
				     "[quota.gid.65534]\n"
				     "extents = 2\n";

/* A full 1 GiB devdax pool lists about 500 extents: some 100 KiB of JSON. */
static char ctl_out[1 << 20];

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

/* pattern_word -- word i of the pattern seeded by seed (splitmix64) */
static uint64_t pattern_word(uint64_t seed, uint64_t i)
{
	uint64_t z = seed * 0x9e3779b97f4a7c15ull + i + 1;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/*
 * pattern_fill -- write bytes [off, off + len) of the pattern at base + off
 *
 * The word at each offset depends on the offset, so data that moved is
 * told from data that stayed.
 */
static void pattern_fill(void *base, uint64_t off, uint64_t len, uint64_t seed)
{
	uint64_t *w = base, i;

	for (i = off / 8; i < (off + len) / 8; i++)
		w[i] = pattern_word(seed, i);
}

/* pattern_ok -- do bytes [off, off + len) at base + off hold the pattern? */
static bool pattern_ok(const void *base, uint64_t off, uint64_t len,
		       uint64_t seed)
{
	const volatile uint64_t *w = base;
	uint64_t i;

	for (i = off / 8; i < (off + len) / 8; i++) {
		if (w[i] != pattern_word(seed, i)) {
			fprintf(stderr,
				"pattern %llu: wrong word at byte %llu\n",
				(unsigned long long)seed,
				(unsigned long long)(i * 8));
			return false;
		}
	}
	return true;
}

/*
 * maps_covers -- is [addr, addr + len) wholly mapped with perms starting
 * as perm ("rw", "r-")?
 *
 * Read from /proc/self/maps before touching memory, so that a missing or
 * read-only mapping fails a check instead of killing the test.
 */
static bool maps_covers(const void *addr, uint64_t len, const char *perm)
{
	uintptr_t want = (uintptr_t)addr, end = want + len, lo, hi;
	char line[512], perms[8];
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return false;
	while (want < end && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %7s", &lo, &hi,
			   perms) != 3)
			continue;
		if (lo <= want && want < hi) {
			if (strncmp(perms, perm, strlen(perm)))
				break;
			want = hi;
		}
	}
	fclose(f);
	return want >= end;
}

/* aligned -- is the mapping address a multiple of the pool's unit? */
static bool aligned(const struct daxalloc *dx, const void *addr)
{
	uint64_t unit = daxalloc_unit(dx);

	return unit && (uintptr_t)addr % unit == 0;
}

/* ctl -- run daxallocctl args on h's daemon; its exit status, or -1 */
static int ctl(struct harness *h, const char *const *args)
{
	int st;

	if (harness_ctl(h, args, ctl_out, sizeof(ctl_out), &st) < 0)
		return -1;
	return st;
}

/* ctl_json -- run daxallocctl args (which ask for --json), parsed; or NULL */
static json_object *ctl_json(struct harness *h, const char *const *args)
{
	json_object *o;

	if (ctl(h, args) != 0) {
		fprintf(stderr, "daxallocctl %s failed: %s\n", args[0],
			ctl_out);
		return NULL;
	}
	o = json_tokener_parse(ctl_out);
	if (!o)
		fprintf(stderr, "daxallocctl %s: output is not JSON (%zu bytes)\n",
			args[0], strlen(ctl_out));
	return o;
}

/* show_json -- `daxallocctl show --json ID|NAME`, parsed; NULL if none */
static json_object *show_json(struct harness *h, const char *what)
{
	const char *const args[] = { "show", "--json", what, NULL };
	int st = ctl(h, args);

	if (st != 0) {
		fprintf(stderr, "daxallocctl show %s: exit %d: %s\n", what, st,
			ctl_out);
		return NULL;
	}
	return json_tokener_parse(ctl_out);
}

/*
 * extent_listed -- does daxallocctl show the extent with this id?
 *
 * 1 yes, 0 no (show failed with "request failed"), -1 something else
 * (no daemon, usage).
 */
static int extent_listed(struct harness *h, uint64_t id)
{
	char buf[32];
	const char *const args[] = { "show", buf, NULL };
	int st;

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)id);
	st = ctl(h, args);
	return st == 0 ? 1 : st == 1 ? 0 : -1;
}

/* wait_gone -- ms until extent id is no longer shown, or -1 after limit_ms */
static long long wait_gone(struct harness *h, uint64_t id, int limit_ms)
{
	long long start = harness_now_ms();

	for (;;) {
		int r = extent_listed(h, id);

		if (r == 0)
			return harness_now_ms() - start;
		if (r < 0 || harness_now_ms() - start > limit_ms)
			return -1;
		usleep(20000);
	}
}

/*
 * pool_consistent -- the daemon's accounting adds up, and check passes
 *
 * free_bytes must be the data area minus the lengths of the listed
 * extents, the extent count that of the list, and `daxallocctl check`
 * must exit 0.  Says what is wrong on stderr.
 */
static bool pool_consistent(struct harness *h, uint64_t data)
{
	static const char *const list[] = { "list", "extents", "--json", NULL };
	static const char *const status[] = { "status", "--json", NULL };
	static const char *const check[] = { "check", NULL };
	json_object *arr = ctl_json(h, list), *st;
	uint64_t sum = 0, free_bytes, count;
	size_t i, n;
	int chk;
	bool ok;

	if (!arr || !json_object_is_type(arr, json_type_array)) {
		json_object_put(arr);
		return false;
	}
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++)
		sum += harness_json_u64(json_object_array_get_idx(arr, i), "length");
	json_object_put(arr);
	st = ctl_json(h, status);
	free_bytes = harness_json_u64(st, "free_bytes");
	count = harness_json_u64(st, "extents");
	json_object_put(st);
	chk = ctl(h, check);
	ok = free_bytes == data - sum && count == n && chk == 0;
	if (!ok)
		fprintf(stderr,
			"pool: free %llu, data %llu - listed %llu = %llu; %llu extents, %zu listed; check exit %d: %s\n",
			(unsigned long long)free_bytes,
			(unsigned long long)data, (unsigned long long)sum,
			(unsigned long long)(data - sum),
			(unsigned long long)count, n, chk, ctl_out);
	return ok;
}

/* connect_to -- a libdaxalloc connection to h's daemon, or NULL */
static struct daxalloc *connect_to(struct harness *h)
{
	struct daxalloc *dx;
	int r = daxalloc_connect(h->sock, &dx);

	if (r < 0) {
		fprintf(stderr, "connect %s: %s (%s)\n", h->sock,
			daxalloc_strerror(r), daxalloc_errmsg());
		return NULL;
	}
	return dx;
}

/*
 * restart -- kill -9 h's daemon and start it again on the same pool
 *
 * 0 once the new one is ready; the old connections are dead.
 */
static int restart(struct harness *h, const char *const *args)
{
	int st = 0, r;

	if (harness_stop(h, SIGKILL, &st) < 0 || !WIFSIGNALED(st) ||
	    WTERMSIG(st) != SIGKILL) {
		fprintf(stderr, "daemon did not die of SIGKILL (status %#x)\n",
			st);
		return -1;
	}
	r = harness_start(h, args);
	if (r < 0)
		fprintf(stderr, "restart: %s (log: %s)\n", strerror(-r),
			h->log);
	return r;
}

/*
 * open_socket_to_all -- let any user connect to h's client socket
 *
 * As test_daemon's non-admin test does: the socket file and its folder.
 * close_socket_again() undoes it.
 */
static bool open_socket_to_all(struct harness *h)
{
	return chmod(h->sock, 0666) == 0 && chmod(h->dir, 0755) == 0;
}

/* close_socket_again -- the modes the daemon and harness_init() gave */
static void close_socket_again(struct harness *h)
{
	chmod(h->sock, 0660);
	chmod(h->dir, 0700);
}

/* become_nobody -- drop every group and become uid/gid 65534 (in a child) */
static void become_nobody(void)
{
	CHILD_CHECK(setgroups(0, NULL) == 0);
	CHILD_CHECK(setgid(NOBODY) == 0);
	CHILD_CHECK(setuid(NOBODY) == 0);
}

/*
 * spawn -- run this binary in a helper mode, as a separate process
 *
 * args starts with the mode.  With in (out), the helper's stdin (stdout)
 * is a pipe whose other end comes back there; stderr stays ours.
 */
static pid_t spawn(const char *const *args, int *in, int *out)
{
	int pin[2] = { -1, -1 }, pout[2] = { -1, -1 };
	const char *argv[16];
	int n = 0;
	pid_t pid;

	argv[n++] = "test_extents";
	while (*args && n < 15)
		argv[n++] = *args++;
	argv[n] = NULL;
	if ((in && pipe2(pin, O_CLOEXEC) < 0) ||
	    (out && pipe2(pout, O_CLOEXEC) < 0))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (in)
			dup2(pin[0], 0);
		if (out)
			dup2(pout[1], 1);
		execv("/proc/self/exe", (char *const *)argv);
		_exit(127);
	}
	if (in) {
		close(pin[0]);
		*in = pin[1];
	}
	if (out) {
		close(pout[1]);
		*out = pout[0];
	}
	return pid;
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
		usleep(5000);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* run_helper -- spawn a helper and wait (10 s at most) for its status */
static int run_helper(const char *const *args)
{
	pid_t pid = spawn(args, NULL, NULL);

	return pid < 0 ? -1 : wait_exit(pid, 10000);
}

/*
 * writer -- run a writer making name (size bytes, mode) on the main daemon
 *
 * Its pid (the seed of its pattern) once it exited 0, else -1.
 */
static pid_t writer(const char *name, uint64_t size, unsigned int mode)
{
	char sz[32], md[16];
	const char *const args[] = {
		"writer", main_h.sock, name, sz, md, NULL
	};
	pid_t pid;

	snprintf(sz, sizeof(sz), "%llu", (unsigned long long)size);
	snprintf(md, sizeof(md), "%o", mode);
	pid = spawn(args, NULL, NULL);
	if (pid < 0 || wait_exit(pid, 10000) != 0)
		return -1;
	return pid;
}

/* reader -- run a reader of name on the main daemon; its exit status */
static int reader(const char *name, uint64_t seed, uint64_t size)
{
	char sd[32], sz[32];
	const char *const args[] = {
		"reader", main_h.sock, name, sd, sz, NULL
	};

	snprintf(sd, sizeof(sd), "%llu", (unsigned long long)seed);
	snprintf(sz, sizeof(sz), "%llu", (unsigned long long)size);
	return run_helper(args);
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

/* raw_hello -- Hello on a bare connection; the reply's status, or -EIO */
static int raw_hello(int fd)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT, *resp = NULL;
	Daxalloc__Hello hello = DAXALLOC__HELLO__INIT;
	int fds[WIRE_FDS_MAX], status;
	unsigned int nfds;

	hello.version_min = hello.version_max = 1;
	hello.client_name = (char *)"raw-test";
	env.version = 1;
	env.id = 1;
	env.body_case = DAXALLOC__ENVELOPE__BODY_HELLO;
	env.hello = &hello;
	if (envelope_send(fd, &env, NULL, 0) < 0 ||
	    envelope_recv(fd, &resp, fds, &nfds) < 0)
		return -EIO;
	wire_close_fds(fds, nfds);
	status = resp->status;
	envelope_free(resp);
	return status;
}

/* raw_send_alloc -- send an Alloc on a bare connection, not waiting */
static int raw_send_alloc(int fd, const char *name, uint64_t size,
			  uint64_t align)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT;
	Daxalloc__AllocRequest a = DAXALLOC__ALLOC_REQUEST__INIT;

	a.name = (char *)name;
	a.size = size;
	a.align = align;
	env.version = 1;
	env.id = 2;
	env.body_case = DAXALLOC__ENVELOPE__BODY_ALLOC;
	env.alloc = &a;
	return envelope_send(fd, &env, NULL, 0);
}

/*
 * raw_alloc -- Alloc over a bare connection, past libdaxalloc's checks
 *
 * The daemon must hold its own rules against a client that does not use
 * the library.  Returns the reply's status (or -EIO); a message it gave
 * goes to msg.
 */
static int raw_alloc(const char *sock, const char *name, uint64_t size,
		     uint64_t align, char *msg, size_t cap)
{
	Daxalloc__Envelope *resp = NULL;
	int fds[WIRE_FDS_MAX], fd, status = -EIO;
	unsigned int nfds;

	msg[0] = '\0';
	fd = harness_connect(sock, 5);
	if (fd < 0)
		return -EIO;
	if (raw_hello(fd) != 0 || raw_send_alloc(fd, name, size, align) < 0 ||
	    envelope_recv(fd, &resp, fds, &nfds) < 0)
		goto out;
	wire_close_fds(fds, nfds);
	status = resp->status;
	snprintf(msg, cap, "%s", resp->message ? resp->message : "");
	envelope_free(resp);
out:
	close(fd);
	return status;
}

/*
 * helper_writer -- writer SOCK NAME SIZE MODE: a named extent, filled
 *
 * Allocates it, checks the mapping's alignment and length, writes the
 * pattern seeded by its own pid, closes and exits 0.
 */
static int helper_writer(int argc, char **argv)
{
	struct daxalloc_extent *ext;
	struct daxalloc *dx;
	uint64_t size;

	CHILD_CHECK(argc == 6);
	size = strtoull(argv[4], NULL, 0);
	CHILD_CHECK(daxalloc_connect(argv[2], &dx) == 0);
	CHILD_CHECK(daxalloc_alloc(dx, argv[3], size, 0,
				   (unsigned int)strtoul(argv[5], NULL, 8), 0,
				   &ext) == 0);
	CHILD_CHECK(daxalloc_unit(dx) == 2 * MIB);
	CHILD_CHECK(aligned(dx, daxalloc_extent_addr(ext)));
	CHILD_CHECK(daxalloc_extent_length(ext) == size);
	CHILD_CHECK(maps_covers(daxalloc_extent_addr(ext), size, "rw"));
	pattern_fill(daxalloc_extent_addr(ext), 0, size, (uint64_t)getpid());
	CHILD_CHECK(daxalloc_close(ext) == 0);
	daxalloc_disconnect(dx);
	return 0;
}

/*
 * helper_reader -- reader SOCK NAME SEED SIZE: read a named extent
 *
 * Opens it read-only, checks that the descriptor is O_RDONLY, the mapping
 * read-only, aligned and SIZE long; exits 0 when the bytes are the
 * pattern of SEED, HELPER_MISMATCH when not.
 */
static int helper_reader(int argc, char **argv)
{
	struct daxalloc_extent *ext;
	struct daxalloc *dx;
	uint64_t size, seed;
	void *addr;
	bool same;
	int fd;

	CHILD_CHECK(argc == 6);
	seed = strtoull(argv[4], NULL, 0);
	size = strtoull(argv[5], NULL, 0);
	CHILD_CHECK(daxalloc_connect(argv[2], &dx) == 0);
	CHILD_CHECK(daxalloc_open(dx, argv[3],
				  DAXALLOC_RDONLY | DAXALLOC_KEEP_FD,
				  &ext) == 0);
	addr = daxalloc_extent_addr(ext);
	fd = daxalloc_extent_fd(ext);
	CHILD_CHECK(fd >= 0 && (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY);
	CHILD_CHECK(daxalloc_unit(dx) == 2 * MIB);
	CHILD_CHECK(aligned(dx, addr));
	CHILD_CHECK(daxalloc_extent_length(ext) == size);
	CHILD_CHECK(maps_covers(addr, size, "r-"));
	same = pattern_ok(addr, 0, size, seed);
	CHILD_CHECK(daxalloc_close(ext) == 0);
	daxalloc_disconnect(dx);
	return same ? 0 : HELPER_MISMATCH;
}

/*
 * helper_holder -- holder SOCK NAME|-: own an anonymous extent and wait
 *
 * Allocates a 4 MiB anonymous extent filled with the pattern of its pid
 * and, unless NAME is "-", a 2 MiB named one; prints "ANON_ID NAMED_ID"
 * (0 for none).  Then obeys lines on stdin:
 *
 *	verify	 print "ok" when the anonymous extent still holds the pattern
 *		 (before "release")
 *	release	 close the anonymous extent's handle and disconnect: the
 *		 extent is the process's, not the connection's; print "ok"
 *	alloc	 on a new connection, a 2 MiB anonymous extent; print its id
 *
 * and exits 0 at EOF without deleting anything.
 */
static int helper_holder(int argc, char **argv)
{
	struct daxalloc_extent *anon, *named, *more;
	struct daxalloc *dx, *dx2;
	uint64_t named_id = 0;
	char line[64];

	CHILD_CHECK(argc == 4);
	CHILD_CHECK(daxalloc_connect(argv[2], &dx) == 0);
	CHILD_CHECK(daxalloc_alloc(dx, NULL, 4 * MIB, 0, 0600, 0, &anon) == 0);
	pattern_fill(daxalloc_extent_addr(anon), 0, 4 * MIB,
		     (uint64_t)getpid());
	if (strcmp(argv[3], "-")) {
		CHILD_CHECK(daxalloc_alloc(dx, argv[3], 2 * MIB, 0, 0600, 0,
					   &named) == 0);
		named_id = daxalloc_extent_id(named);
		CHILD_CHECK(daxalloc_close(named) == 0);
	}
	printf("%llu %llu\n", (unsigned long long)daxalloc_extent_id(anon),
	       (unsigned long long)named_id);
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		if (!strncmp(line, "verify", 6)) {
			bool ok = anon &&
				  pattern_ok(daxalloc_extent_addr(anon), 0,
					     4 * MIB, (uint64_t)getpid());

			printf("%s\n", ok ? "ok" : "bad");
		} else if (!strncmp(line, "release", 7)) {
			CHILD_CHECK(anon && daxalloc_close(anon) == 0);
			anon = NULL;
			daxalloc_disconnect(dx);
			printf("ok\n");
		} else if (!strncmp(line, "alloc", 5)) {
			/* Not disconnected: it lives as long as the process. */
			CHILD_CHECK(daxalloc_connect(argv[2], &dx2) == 0);
			CHILD_CHECK(daxalloc_alloc(dx2, NULL, 2 * MIB, 0, 0600,
						   DAXALLOC_NO_MAP,
						   &more) == 0);
			printf("%llu\n",
			       (unsigned long long)daxalloc_extent_id(more));
		}
		fflush(stdout);
	}
	_exit(0);
}

static int main_suite_init(void)
{
	if (harness_init(&main_h) < 0 || harness_start(&main_h, main_args) < 0)
		return -1;
	/* The pool is empty: all its data area is free, in one run. */
	main_data = harness_status_u64(&main_h, "free_bytes");
	if (main_data == UINT64_MAX || !main_data ||
	    harness_status_u64(&main_h, "largest_free") != main_data)
		return -1;
	return 0;
}

static int main_suite_fini(void)
{
	harness_fini(&main_h);
	return 0;
}

/*
 * test_shared_named -- process A writes a named extent, process B reads it
 *
 * A (a writer) allocates 8 MiB named "shared-a" with mode 0644, fills it
 * with the pattern of its pid and exits; B (a reader, another process)
 * opens it read-only by name and finds the same bytes.  A reader expecting
 * another seed must see a mismatch, so the comparison can fail.
 */
static void test_shared_named(void)
{
	struct daxalloc_extent *ext = NULL;
	struct daxalloc *dx;
	json_object *o, *v;
	pid_t a;

	a = writer("shared-a", 8 * MIB, 0644);
	CU_ASSERT_FATAL(a > 0);

	/* The writer is gone; its named extent stays, as it made it. */
	o = show_json(&main_h, "shared-a");
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(harness_json_u64(o, "length"), 8 * MIB);
	CU_ASSERT_EQUAL(harness_json_u64(o, "mode"), 0644);
	CU_ASSERT_EQUAL(harness_json_u64(o, "uid"), getuid());
	CU_ASSERT(json_object_object_get_ex(o, "named", &v) &&
		  json_object_get_boolean(v));
	CU_ASSERT_EQUAL(harness_json_u64(o, "offset") % (2 * MIB), 0);
	json_object_put(o);

	CU_ASSERT_EQUAL(reader("shared-a", (uint64_t)a, 8 * MIB), 0);
	fprintf(stderr, "(a reader expecting seed %d must see a mismatch:) ",
		(int)a + 1);
	CU_ASSERT_EQUAL(reader("shared-a", (uint64_t)a + 1, 8 * MIB),
			HELPER_MISMATCH);

	dx = connect_to(&main_h);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dx);
	CU_ASSERT_EQUAL(daxalloc_delete_name(dx, "shared-a"), 0);
	CU_ASSERT_EQUAL(daxalloc_open(dx, "shared-a", DAXALLOC_RDONLY, &ext),
			-ENOENT);
	daxalloc_disconnect(dx);
	CU_ASSERT(pool_consistent(&main_h, main_data));
}

/*
 * test_named_survives_kill9 -- kill -9 between the writer and the reader
 *
 * The daemon is killed after the writer exited and restarted on the same
 * pool: the reader finds the extent and the writer's bytes, and the name
 * is still taken (-EEXIST).
 */
static void test_named_survives_kill9(void)
{
	struct daxalloc_extent *ext = NULL;
	struct daxalloc *dx;
	pid_t b;

	b = writer("persist-b", 8 * MIB, 0600);
	CU_ASSERT_FATAL(b > 0);
	CU_ASSERT_EQUAL_FATAL(restart(&main_h, main_args), 0);
	CU_ASSERT_EQUAL(reader("persist-b", (uint64_t)b, 8 * MIB), 0);
	dx = connect_to(&main_h);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dx);
	CU_ASSERT_EQUAL(
		daxalloc_alloc(dx, "persist-b", 2 * MIB, 0, 0600, 0, &ext),
		-EEXIST);
	CU_ASSERT_PTR_NOT_NULL(strstr(daxalloc_errmsg(), "persist-b"));
	CU_ASSERT_EQUAL(daxalloc_delete_name(dx, "persist-b"), 0);
	daxalloc_disconnect(dx);
	CU_ASSERT(pool_consistent(&main_h, main_data));
}

/* list_find_name -- daxalloc_list() callback: stop at the name in arg */
static int list_find_name(const struct daxalloc_info *info, void *arg)
{
	return !strcmp(info->name, arg);
}

/*
 * perm_grandchild -- as nobody: open perm-644 read-only, read, then write
 *
 * Tells its parent through fd 'R' once the read worked ('X' if the bytes
 * were wrong); the write must then kill it with SIGSEGV.
 */
static void perm_grandchild(int fd)
{
	struct rlimit no_core = { 0, 0 };
	struct daxalloc_extent *ext;
	volatile uint64_t *w;
	struct daxalloc *dx;

	setrlimit(RLIMIT_CORE, &no_core);
	/* The kernel's own death, not a sanitizer's report, under ASan too. */
	signal(SIGSEGV, SIG_DFL);
	CHILD_CHECK(daxalloc_connect(main_h.sock, &dx) == 0);
	CHILD_CHECK(daxalloc_open(dx, "perm-644", DAXALLOC_RDONLY, &ext) == 0);
	w = daxalloc_extent_addr(ext);
	CHILD_CHECK(maps_covers((void *)w, 4 * MIB, "r-"));
	CHILD_CHECK(write(fd, w[1] == pattern_word(644, 1) ? "R" : "X", 1) ==
		    1);
	w[1] = 0; /* must not return */
	_exit(2);
}

/*
 * perm_child -- as nobody (uid/gid 65534, no groups): what others may do,
 * and what an owner without the write bit may do
 *
 * The extents are root's: perm-600 (mode 0600) and perm-644 (0644).
 */
static void perm_child(void)
{
	struct daxalloc_extent *ext = NULL;
	struct daxalloc_info info;
	struct daxalloc *dx;
	char c = 0;
	int fd, pfd[2], r;
	pid_t pid;
	void *addr;

	become_nobody();
	CHILD_CHECK(daxalloc_connect(main_h.sock, &dx) == 0);

	/* Nothing at all on a 0600 extent of another user. */
	r = daxalloc_open(dx, "perm-600", DAXALLOC_RDONLY, &ext);
	CHILD_CHECK(r == -EACCES);
	CHILD_CHECK(daxalloc_errmsg()[0] != '\0');
	fprintf(stderr, "(refused as expected: %s) ", daxalloc_errmsg());
	CHILD_CHECK(daxalloc_open(dx, "perm-600", 0, &ext) == -EACCES);
	CHILD_CHECK(daxalloc_stat(dx, "perm-600", &info) == -EACCES);
	CHILD_CHECK(daxalloc_delete_name(dx, "perm-600") == -EACCES);

	/* Read, not write, on a 0644 one. */
	CHILD_CHECK(daxalloc_open(dx, "perm-644", 0, &ext) == -EACCES);
	CHILD_CHECK(daxalloc_errmsg()[0] != '\0');
	CHILD_CHECK(daxalloc_delete_name(dx, "perm-644") == -EACCES);
	CHILD_CHECK(daxalloc_stat(dx, "perm-644", &info) == 0);
	CHILD_CHECK(info.uid == 0 && info.mode == 0644 &&
		    info.length == 4 * MIB);
	CHILD_CHECK(daxalloc_open(dx, "perm-644",
				  DAXALLOC_RDONLY | DAXALLOC_KEEP_FD,
				  &ext) == 0);
	addr = daxalloc_extent_addr(ext);
	fd = daxalloc_extent_fd(ext);
	CHILD_CHECK(aligned(dx, addr));
	CHILD_CHECK(daxalloc_extent_length(ext) == 4 * MIB);
	CHILD_CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY);
	CHILD_CHECK(maps_covers(addr, 4 * MIB, "r-"));
	CHILD_CHECK(pattern_ok(addr, 0, 4 * MIB, 644));
	/* Neither the mapping nor the descriptor can be made writable. */
	CHILD_CHECK(mprotect(addr, 4 * MIB, PROT_READ | PROT_WRITE) < 0 &&
		    errno == EACCES);
	CHILD_CHECK(mmap(NULL, 4 * MIB, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			 (off_t)daxalloc_extent_offset(ext)) == MAP_FAILED &&
		    errno == EACCES);
	CHILD_CHECK(daxalloc_truncate(ext, 8 * MIB) == -EBADF);
	CHILD_CHECK(daxalloc_list(dx, DAXALLOC_LIST_OPENABLE, list_find_name,
				  (void *)"perm-644") == 1);
	CHILD_CHECK(daxalloc_list(dx, DAXALLOC_LIST_OPENABLE, list_find_name,
				  (void *)"perm-600") == 0);
	/* Its own extents: none yet. */
	CHILD_CHECK(daxalloc_list(dx, 0, list_find_name, (void *)"perm-644") ==
		    0);

	/* A write through a read-only mapping: SIGSEGV, in a grandchild. */
	CHILD_CHECK(pipe(pfd) == 0);
	pid = fork();
	CHILD_CHECK(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		perm_grandchild(pfd[1]);
	}
	close(pfd[1]);
	CHILD_CHECK(read(pfd[0], &c, 1) == 1 && c == 'R');
	CHILD_CHECK(wait_exit(pid, 5000) == 128 + SIGSEGV);
	close(pfd[0]);
	CHILD_CHECK(daxalloc_close(ext) == 0);

	/* An extent of its own: nobody's, for root to open anyway. */
	CHILD_CHECK(daxalloc_alloc(dx, "perm-nobody", 2 * MIB, 0, 0600, 0,
				   &ext) == 0);
	pattern_fill(daxalloc_extent_addr(ext), 0, 2 * MIB, NOBODY);
	CHILD_CHECK(daxalloc_close(ext) == 0);
	CHILD_CHECK(daxalloc_list(dx, 0, list_find_name,
				  (void *)"perm-nobody") == 1);

	/*
	 * The owner bits bind the owner too: without its own write bit it may
	 * read its extent, not open it read-write nor delete it.
	 */
	CHILD_CHECK(daxalloc_alloc(dx, "perm-nobody-ro", 2 * MIB, 0, 0400, 0,
				   &ext) == 0);
	CHILD_CHECK(daxalloc_close(ext) == 0);
	CHILD_CHECK(daxalloc_open(dx, "perm-nobody-ro", 0, &ext) == -EACCES);
	CHILD_CHECK(daxalloc_delete_name(dx, "perm-nobody-ro") == -EACCES);
	CHILD_CHECK(daxalloc_open(dx, "perm-nobody-ro", DAXALLOC_RDONLY,
				  &ext) == 0);
	CHILD_CHECK(daxalloc_close(ext) == 0);
	daxalloc_disconnect(dx);
	_exit(0);
}

/*
 * perm_group_child -- uid/gid 65534 with root's group 0 as a supplementary
 * group: the group bits apply (and only they, as with files)
 *
 * perm-640 may be read, not written; perm-604 not even read, although
 * "other" could.
 */
static void perm_group_child(void)
{
	const gid_t groups[] = { 0 };
	struct daxalloc_extent *ext;
	struct daxalloc *dx;

	CHILD_CHECK(setgroups(1, groups) == 0);
	CHILD_CHECK(setgid(NOBODY) == 0);
	CHILD_CHECK(setuid(NOBODY) == 0);
	CHILD_CHECK(daxalloc_connect(main_h.sock, &dx) == 0);
	CHILD_CHECK(daxalloc_open(dx, "perm-640", DAXALLOC_RDONLY, &ext) == 0);
	CHILD_CHECK(pattern_ok(daxalloc_extent_addr(ext), 0, 2 * MIB, 0640));
	CHILD_CHECK(daxalloc_close(ext) == 0);
	CHILD_CHECK(daxalloc_open(dx, "perm-640", 0, &ext) == -EACCES);
	CHILD_CHECK(daxalloc_open(dx, "perm-604", DAXALLOC_RDONLY, &ext) ==
		    -EACCES);
	daxalloc_disconnect(dx);
	_exit(0);
}

/*
 * test_permissions -- file mode rules between users
 *
 * Root makes perm-600 and perm-644; a child that became nobody is refused
 * everything on the first (-EACCES with a message), may open the second
 * read-only only (O_RDONLY descriptor, PROT_READ mapping that cannot be
 * made writable, a write through it dies with SIGSEGV), may not delete it;
 * it lists only perm-644 as openable.  It makes perm-nobody, which root
 * opens read-write although it is 0600, and perm-nobody-ro (0400), which
 * it may read but neither open read-write nor delete.  A nobody in root's
 * group reads perm-640 and is refused perm-604.
 */
static void test_permissions(void)
{
	static const unsigned int gmodes[] = { 0640, 0604 };
	struct daxalloc_extent *e600, *e644, *ext;
	char gname[16];
	size_t i;
	struct daxalloc_info info;
	struct daxalloc *dx;
	pid_t pid;

	if (geteuid() != 0) {
		fprintf(stderr,
			"(not root: cannot become another user; skipped) ");
		return;
	}
	dx = connect_to(&main_h);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dx);
	CU_ASSERT_EQUAL_FATAL(
		daxalloc_alloc(dx, "perm-600", 2 * MIB, 0, 0600, 0, &e600), 0);
	pattern_fill(daxalloc_extent_addr(e600), 0, 2 * MIB, 600);
	CU_ASSERT_EQUAL_FATAL(
		daxalloc_alloc(dx, "perm-644", 4 * MIB, 0, 0644, 0, &e644), 0);
	pattern_fill(daxalloc_extent_addr(e644), 0, 4 * MIB, 644);
	CU_ASSERT_EQUAL(daxalloc_close(e600), 0);
	CU_ASSERT_EQUAL(daxalloc_close(e644), 0);
	for (i = 0; i < 2; i++) {
		snprintf(gname, sizeof(gname), "perm-%o", gmodes[i]);
		CU_ASSERT_EQUAL_FATAL(daxalloc_alloc(dx, gname, 2 * MIB, 0,
						     gmodes[i], 0, &ext),
				      0);
		pattern_fill(daxalloc_extent_addr(ext), 0, 2 * MIB, gmodes[i]);
		CU_ASSERT_EQUAL(daxalloc_close(ext), 0);
	}
	CU_ASSERT_FATAL(open_socket_to_all(&main_h));

	fflush(NULL);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0)
		perm_child();
	CU_ASSERT_EQUAL(wait_exit(pid, 15000), 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0)
		perm_group_child();
	CU_ASSERT_EQUAL(wait_exit(pid, 15000), 0);
	close_socket_again(&main_h);

	CU_ASSERT_EQUAL(daxalloc_stat(dx, "perm-nobody", &info), 0);
	CU_ASSERT_EQUAL(info.uid, NOBODY);
	CU_ASSERT_EQUAL(info.gid, NOBODY);
	CU_ASSERT_EQUAL(info.mode, 0600);
	/* Root passes every check, as with files. */
	CU_ASSERT_EQUAL_FATAL(daxalloc_open(dx, "perm-nobody", 0, &ext), 0);
	CU_ASSERT(maps_covers(daxalloc_extent_addr(ext), 2 * MIB, "rw"));
	CU_ASSERT(pattern_ok(daxalloc_extent_addr(ext), 0, 2 * MIB, NOBODY));
	CU_ASSERT_EQUAL(daxalloc_delete(ext), 0);
	CU_ASSERT_EQUAL(daxalloc_delete_name(dx, "perm-nobody-ro"), 0);
	CU_ASSERT_EQUAL(daxalloc_delete_name(dx, "perm-600"), 0);
	CU_ASSERT_EQUAL(daxalloc_delete_name(dx, "perm-644"), 0);
	CU_ASSERT_EQUAL(daxalloc_delete_name(dx, "perm-640"), 0);
	CU_ASSERT_EQUAL(daxalloc_delete_name(dx, "perm-604"), 0);
	daxalloc_disconnect(dx);
	CU_ASSERT(pool_consistent(&main_h, main_data));
}

/* ext_offset_cmp -- qsort order of extent handles by device offset */
static int ext_offset_cmp(const void *a, const void *b)
{
	uint64_t x =
		daxalloc_extent_offset(*(struct daxalloc_extent *const *)a);
	uint64_t y =
		daxalloc_extent_offset(*(struct daxalloc_extent *const *)b);

	return x < y ? -1 : x > y;
}

/*
 * test_full_pool -- allocate until -ENOSPC, then make room
 *
 * A request larger than the pool is refused with the whole data area as
 * the largest run.  2 MiB extents fill the data area exactly; the refusal
 * says "largest free run: 0 bytes"; the last extent cannot grow past the
 * end, the first not into its neighbour.  Freeing the first and the last
 * (never neighbours) leaves two 2 MiB runs: 4 MiB is refused with the
 * largest run given as 2 MiB; the extent before the end grows to the end
 * and no further, shrinks back, and 2 MiB is granted again.
 */
static void test_full_pool(void)
{
	/* 32 on the 64 MiB file pool, about 500 on the devdax guest's. */
	size_t cap = main_data / (2 * MIB) + 1, n = 0, i;
	struct daxalloc_extent **ext, *more = NULL;
	struct daxalloc *dx;
	char want[96];
	int r;

	ext = calloc(cap, sizeof(*ext));
	CU_ASSERT_PTR_NOT_NULL_FATAL(ext);
	dx = connect_to(&main_h);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dx);
	r = daxalloc_alloc(dx, NULL, main_data + 2 * MIB, 0, 0, DAXALLOC_NO_MAP,
			   &more);
	CU_ASSERT_EQUAL(r, -ENOSPC);
	snprintf(want, sizeof(want), "largest free run: %llu bytes",
		 (unsigned long long)main_data);
	CU_ASSERT_PTR_NOT_NULL(strstr(daxalloc_errmsg(), want));

	for (;;) {
		r = daxalloc_alloc(dx, NULL, 2 * MIB, 0, 0, DAXALLOC_NO_MAP,
				   &ext[n]);
		if (r < 0 || ++n == cap)
			break;
	}
	CU_ASSERT_EQUAL_FATAL(r, -ENOSPC);
	CU_ASSERT_PTR_NOT_NULL(strstr(daxalloc_errmsg(), "largest free run"));
	CU_ASSERT_PTR_NOT_NULL(
		strstr(daxalloc_errmsg(), "largest free run: 0 bytes"));
	CU_ASSERT_EQUAL(n * 2 * MIB, main_data);
	CU_ASSERT_EQUAL(harness_status_u64(&main_h, "free_bytes"), 0);
	CU_ASSERT(pool_consistent(&main_h, main_data));
	CU_ASSERT_FATAL(n >= 3);

	/* Neither the last extent nor one with a neighbour can grow. */
	qsort(ext, n, sizeof(ext[0]), ext_offset_cmp);
	CU_ASSERT_EQUAL(daxalloc_truncate(ext[n - 1], 4 * MIB), -ENOSPC);
	CU_ASSERT_EQUAL(daxalloc_truncate(ext[0], 4 * MIB), -ENOSPC);
	CU_ASSERT(pool_consistent(&main_h, main_data));

	CU_ASSERT_EQUAL(daxalloc_delete(ext[0]), 0);
	CU_ASSERT_EQUAL(daxalloc_delete(ext[n - 1]), 0);
	CU_ASSERT_EQUAL(harness_status_u64(&main_h, "largest_free"), 2 * MIB);
	r = daxalloc_alloc(dx, NULL, 4 * MIB, 0, 0, DAXALLOC_NO_MAP, &more);
	CU_ASSERT_EQUAL(r, -ENOSPC);
	snprintf(want, sizeof(want), "largest free run: %llu bytes", 2 * MIB);
	CU_ASSERT_PTR_NOT_NULL(strstr(daxalloc_errmsg(), want));

	/* The one before the end grows to the end of the pool, not past it. */
	CU_ASSERT_EQUAL(daxalloc_truncate(ext[n - 2], 4 * MIB), 0);
	CU_ASSERT_EQUAL(daxalloc_truncate(ext[n - 2], 6 * MIB), -ENOSPC);
	CU_ASSERT_EQUAL(daxalloc_extent_length(ext[n - 2]), 4 * MIB);
	CU_ASSERT(pool_consistent(&main_h, main_data));
	CU_ASSERT_EQUAL(daxalloc_truncate(ext[n - 2], 2 * MIB), 0);
	r = daxalloc_alloc(dx, NULL, 2 * MIB, 0, 0, DAXALLOC_NO_MAP, &more);
	CU_ASSERT_EQUAL(r, 0);
	CU_ASSERT(pool_consistent(&main_h, main_data));

	if (r == 0)
		CU_ASSERT_EQUAL(daxalloc_delete(more), 0);
	for (i = 1; i < n - 1; i++)
		CU_ASSERT_EQUAL(daxalloc_delete(ext[i]), 0);
	daxalloc_disconnect(dx);
	free(ext);
	CU_ASSERT_EQUAL(harness_status_u64(&main_h, "largest_free"), main_data);
	CU_ASSERT(pool_consistent(&main_h, main_data));
}

/*
 * start_holder -- spawn a holder on h's daemon, read the ids it printed
 *
 * Its pid, or -1; *in and *out are its stdin and stdout.
 */
static pid_t start_holder(struct harness *h, const char *named, int *in,
			  int *out, uint64_t *anon, uint64_t *named_id)
{
	const char *const args[] = { "holder", h->sock, named, NULL };
	unsigned long long a = 0, b = 0;
	char line[128];
	pid_t pid;

	pid = spawn(args, in, out);
	if (pid < 0)
		return -1;
	if (!read_line(*out, line, sizeof(line), 5000) ||
	    sscanf(line, "%llu %llu", &a, &b) != 2) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(*in);
		close(*out);
		return -1;
	}
	*anon = a;
	*named_id = b;
	return pid;
}

/* holder_say -- send a command line to a holder, read its one-line answer */
static bool holder_say(int in, int out, const char *cmd, char *ans, size_t cap)
{
	size_t len = strlen(cmd);

	return write(in, cmd, len) == (ssize_t)len && write(in, "\n", 1) == 1 &&
	       read_line(out, ans, cap, 5000);
}

/*
 * wait_connections -- wait until h's daemon counts n connections (its
 * Status request included), so that it has seen a client leave
 */
static bool wait_connections(struct harness *h, uint64_t n, int limit_ms)
{
	long long end = harness_now_ms() + limit_ms;

	while (harness_status_u64(h, "connections") != n) {
		if (harness_now_ms() > end)
			return false;
		usleep(10000);
	}
	return true;
}

/*
 * test_anon_owner_killed -- kill -9 the owner: its anonymous extent goes
 *
 * A holder allocates a 4 MiB anonymous and a 2 MiB named extent; both are
 * listed.  It closes the handle and its connection: the anonymous extent
 * is the process's, so it stays.  SIGKILL: within 2 s it is gone and its
 * bytes are free again, while the named one stays.
 */
static void test_anon_owner_killed(void)
{
	uint64_t free0, conns0, anon, named;
	struct daxalloc_info info;
	struct daxalloc *dx;
	json_object *o, *v;
	int in = -1, out = -1;
	char idbuf[32], line[64];
	long long ms;
	pid_t pid;

	free0 = harness_status_u64(&main_h, "free_bytes");
	conns0 = harness_status_u64(&main_h, "connections");
	pid = start_holder(&main_h, "holder-named", &in, &out, &anon, &named);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT(anon != 0 && named != 0);
	snprintf(idbuf, sizeof(idbuf), "%llu", (unsigned long long)anon);
	o = show_json(&main_h, idbuf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(harness_json_u64(o, "length"), 4 * MIB);
	CU_ASSERT(json_object_object_get_ex(o, "named", &v) &&
		  !json_object_get_boolean(v));
	json_object_put(o);
	CU_ASSERT_EQUAL(extent_listed(&main_h, named), 1);
	CU_ASSERT_EQUAL(harness_status_u64(&main_h, "free_bytes"), free0 - 6 * MIB);
	CU_ASSERT(holder_say(in, out, "release", line, sizeof(line)) &&
		  !strcmp(line, "ok"));
	CU_ASSERT(wait_connections(&main_h, conns0, 2000));
	CU_ASSERT_EQUAL(extent_listed(&main_h, anon), 1);

	kill(pid, SIGKILL);
	CU_ASSERT_EQUAL(wait_exit(pid, 5000), 128 + SIGKILL);
	close(in);
	close(out);
	ms = wait_gone(&main_h, anon, 2000);
	CU_ASSERT(ms >= 0);
	fprintf(stderr, "(anonymous extent freed %lld ms after the kill) ", ms);
	CU_ASSERT_EQUAL(extent_listed(&main_h, named), 1);
	CU_ASSERT_EQUAL(harness_status_u64(&main_h, "free_bytes"), free0 - 2 * MIB);
	CU_ASSERT(pool_consistent(&main_h, main_data));

	/* The library sees the same: the anonymous id is gone for good. */
	dx = connect_to(&main_h);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dx);
	CU_ASSERT_EQUAL(daxalloc_stat_id(dx, anon, &info), -ENOENT);
	CU_ASSERT_EQUAL(daxalloc_stat_id(dx, named, &info), 0);
	CU_ASSERT_STRING_EQUAL(info.name, "holder-named");
	CU_ASSERT_EQUAL(daxalloc_delete_name(dx, "holder-named"), 0);
	daxalloc_disconnect(dx);
	CU_ASSERT_EQUAL(harness_status_u64(&main_h, "free_bytes"), free0);
	CU_ASSERT(pool_consistent(&main_h, main_data));
}

/*
 * test_anon_owner_across_restart -- the daemon restarts, owners do not
 *
 * Holder 1 keeps running across a kill -9 and restart of the daemon: its
 * anonymous extent is kept (and its bytes, which it checks itself); it
 * connects again and allocates another; both are freed once it exits.
 * Holder 2 is killed while the daemon is down: the restarted daemon frees
 * its extent at once.
 */
static void test_anon_owner_across_restart(void)
{
	int in1 = -1, in2 = -1, out1 = -1, out2 = -1;
	unsigned long long a3 = 0;
	uint64_t a1, a2, none;
	char line[64];
	long long ms;
	pid_t p1, p2;

	p1 = start_holder(&main_h, "-", &in1, &out1, &a1, &none);
	CU_ASSERT_FATAL(p1 > 0);
	p2 = start_holder(&main_h, "-", &in2, &out2, &a2, &none);
	CU_ASSERT_FATAL(p2 > 0);
	CU_ASSERT_EQUAL(extent_listed(&main_h, a1), 1);
	CU_ASSERT_EQUAL(extent_listed(&main_h, a2), 1);

	CU_ASSERT_FATAL(harness_stop(&main_h, SIGKILL, NULL) == 0);
	kill(p2, SIGKILL);
	CU_ASSERT_EQUAL(wait_exit(p2, 5000), 128 + SIGKILL);
	close(in2);
	close(out2);
	CU_ASSERT_EQUAL_FATAL(harness_start(&main_h, main_args), 0);

	CU_ASSERT_EQUAL(extent_listed(&main_h, a1), 1);
	CU_ASSERT_EQUAL(extent_listed(&main_h, a2), 0);
	CU_ASSERT(pool_consistent(&main_h, main_data));
	CU_ASSERT(holder_say(in1, out1, "verify", line, sizeof(line)) &&
		  !strcmp(line, "ok"));
	CU_ASSERT(holder_say(in1, out1, "alloc", line, sizeof(line)) &&
		  sscanf(line, "%llu", &a3) == 1);
	CU_ASSERT_EQUAL(extent_listed(&main_h, a3), 1);

	/* The holder ends normally, without deleting: the extent goes. */
	close(in1);
	CU_ASSERT_EQUAL(wait_exit(p1, 5000), 0);
	close(out1);
	ms = wait_gone(&main_h, a1, 2000);
	CU_ASSERT(ms >= 0);
	fprintf(stderr, "(freed %lld ms after its owner exited) ", ms);
	CU_ASSERT(wait_gone(&main_h, a3, 2000) >= 0);
	CU_ASSERT(pool_consistent(&main_h, main_data));
}

/* daemon_fds -- how many descriptors h's daemon has open */
static int daemon_fds(struct harness *h)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)h->pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* print_anonymous -- list the anonymous extents of h on stderr */
static void print_anonymous(struct harness *h)
{
	static const char *const list[] = { "list", "extents", "--json", NULL };
	json_object *arr = ctl_json(h, list), *x, *v;
	size_t i;

	for (i = 0; arr && i < json_object_array_length(arr); i++) {
		x = json_object_array_get_idx(arr, i);
		if (json_object_object_get_ex(x, "named", &v) &&
		    !json_object_get_boolean(v))
			fprintf(stderr, "  left: %s\n",
				json_object_to_json_string(x));
	}
	json_object_put(arr);
}

/*
 * test_anon_owner_exits_mid_request -- the owner is gone before its answer
 *
 * Children say Hello, send an anonymous Alloc and exit at once, without
 * reading the reply: whichever the daemon sees first, the request or the
 * exit, no extent may outlive its owner.  Within 2 s the pool must be as
 * it was.  (If not, the daemon is restarted, which frees extents of dead
 * owners, so that the tests after this one start clean.)
 */
static void test_anon_owner_exits_mid_request(void)
{
	uint64_t extents0 = harness_status_u64(&main_h, "extents"), left = 0;
	int i, fds0 = daemon_fds(&main_h);
	long long end;

	for (i = 0; i < 20; i++) {
		pid_t pid;

		fflush(NULL);
		pid = fork();
		CU_ASSERT_FATAL(pid >= 0);
		if (pid == 0) {
			int fd = harness_connect(main_h.sock, 5);

			CHILD_CHECK(fd >= 0 && raw_hello(fd) == 0);
			CHILD_CHECK(raw_send_alloc(fd, "", 2 * MIB, 0) == 0);
			_exit(0);
		}
		CU_ASSERT_EQUAL(wait_exit(pid, 5000), 0);
	}
	end = harness_now_ms() + 2000;
	for (;;) {
		left = harness_status_u64(&main_h, "extents") - extents0;
		if (!left || harness_now_ms() > end)
			break;
		usleep(20000);
	}
	if (left) {
		fprintf(stderr,
			"\n%llu of 20 anonymous extents outlived their owners (the daemon holds %d more descriptors than before):\n",
			(unsigned long long)left, daemon_fds(&main_h) - fds0);
		print_anonymous(&main_h);
	}
	CU_ASSERT_EQUAL(left, 0);
	CU_ASSERT(pool_consistent(&main_h, main_data));
	if (left) {
		CU_ASSERT_EQUAL_FATAL(restart(&main_h, main_args), 0);
		CU_ASSERT_EQUAL(harness_status_u64(&main_h, "extents"), extents0);
	}
}

/*
 * test_truncate -- shrink and grow, in place and with a new mapping
 *
 * trunc-a (4 MiB) and trunc-b (4 MiB) are neighbours: growing a is
 * refused (-ENOSPC) and changes nothing.  With b deleted, a grows to 8 MiB
 * in place; shrinks to 4 MiB (2 MiB + 1 rounded up) and 2 MiB free exactly
 * the tail; grows to 6 MiB while the addresses after its mapping are
 * taken, so the library maps it elsewhere.  The whole new length is
 * writable each time, the old bytes stay, the accounting is exact after
 * each step, and the last length survives a kill -9 of the daemon.
 */
static void test_truncate(void)
{
	struct daxalloc_extent *a, *b;
	uint64_t free0, page = (uint64_t)sysconf(_SC_PAGESIZE);
	struct daxalloc *dx;
	void *old, *block;

	dx = connect_to(&main_h);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dx);
	free0 = harness_status_u64(&main_h, "free_bytes");
	CU_ASSERT_EQUAL_FATAL(
		daxalloc_alloc(dx, "trunc-a", 4 * MIB, 0, 0600, 0, &a), 0);
	CU_ASSERT_EQUAL_FATAL(
		daxalloc_alloc(dx, "trunc-b", 4 * MIB, 0, 0600, 0, &b), 0);
	/* The test needs them adjacent; best fit on an empty pool does it. */
	CU_ASSERT_EQUAL_FATAL(daxalloc_extent_offset(b),
			      daxalloc_extent_offset(a) + 4 * MIB);
	pattern_fill(daxalloc_extent_addr(a), 0, 4 * MIB, 1);

	CU_ASSERT_EQUAL(daxalloc_truncate(a, 6 * MIB), -ENOSPC);
	CU_ASSERT_PTR_NOT_NULL(strstr(daxalloc_errmsg(), "cannot grow"));
	CU_ASSERT_EQUAL(daxalloc_extent_length(a), 4 * MIB);
	CU_ASSERT(maps_covers(daxalloc_extent_addr(a), 4 * MIB, "rw"));
	CU_ASSERT(pattern_ok(daxalloc_extent_addr(a), 0, 4 * MIB, 1));
	CU_ASSERT(pool_consistent(&main_h, main_data));

	/* Grow in place into the space b leaves. */
	CU_ASSERT_EQUAL(daxalloc_delete(b), 0);
	CU_ASSERT_EQUAL_FATAL(daxalloc_truncate(a, 8 * MIB), 0);
	CU_ASSERT_EQUAL_FATAL(daxalloc_extent_length(a), 8 * MIB);
	CU_ASSERT(aligned(dx, daxalloc_extent_addr(a)));
	CU_ASSERT_FATAL(maps_covers(daxalloc_extent_addr(a), 8 * MIB, "rw"));
	CU_ASSERT(pattern_ok(daxalloc_extent_addr(a), 0, 4 * MIB, 1));
	pattern_fill(daxalloc_extent_addr(a), 4 * MIB, 4 * MIB, 1);
	CU_ASSERT(pattern_ok(daxalloc_extent_addr(a), 0, 8 * MIB, 1));
	CU_ASSERT_EQUAL(harness_status_u64(&main_h, "free_bytes"), free0 - 8 * MIB);
	CU_ASSERT(pool_consistent(&main_h, main_data));

	/* Shrink: rounded up to the unit; the tail is free at once. */
	CU_ASSERT_EQUAL(daxalloc_truncate(a, 2 * MIB + 1), 0);
	CU_ASSERT_EQUAL(daxalloc_extent_length(a), 4 * MIB);
	CU_ASSERT_EQUAL(harness_status_u64(&main_h, "free_bytes"), free0 - 4 * MIB);
	CU_ASSERT(pool_consistent(&main_h, main_data));
	CU_ASSERT_EQUAL(daxalloc_truncate(a, 2 * MIB), 0);
	CU_ASSERT_EQUAL(daxalloc_extent_length(a), 2 * MIB);
	CU_ASSERT(pattern_ok(daxalloc_extent_addr(a), 0, 2 * MIB, 1));
	CU_ASSERT_EQUAL(harness_status_u64(&main_h, "free_bytes"), free0 - 2 * MIB);
	CU_ASSERT(pool_consistent(&main_h, main_data));

	/* Grow where the mapping cannot follow: the library maps anew. */
	old = daxalloc_extent_addr(a);
	block = mmap((char *)old + 2 * MIB, page, PROT_NONE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	CU_ASSERT_FATAL(block == (char *)old + 2 * MIB);
	CU_ASSERT_EQUAL_FATAL(daxalloc_truncate(a, 6 * MIB), 0);
	CU_ASSERT_EQUAL_FATAL(daxalloc_extent_length(a), 6 * MIB);
	CU_ASSERT(daxalloc_extent_addr(a) != old);
	CU_ASSERT(aligned(dx, daxalloc_extent_addr(a)));
	CU_ASSERT_FATAL(maps_covers(daxalloc_extent_addr(a), 6 * MIB, "rw"));
	CU_ASSERT(pattern_ok(daxalloc_extent_addr(a), 0, 2 * MIB, 1));
	pattern_fill(daxalloc_extent_addr(a), 2 * MIB, 4 * MIB, 1);
	CU_ASSERT(pattern_ok(daxalloc_extent_addr(a), 0, 6 * MIB, 1));
	/* The old mapping went with the move. */
	CU_ASSERT(!maps_covers(old, page, "r"));
	munmap(block, page);
	CU_ASSERT_EQUAL(harness_status_u64(&main_h, "free_bytes"), free0 - 6 * MIB);
	CU_ASSERT(pool_consistent(&main_h, main_data));
	CU_ASSERT_EQUAL(daxalloc_truncate(a, 0), -EINVAL);
	CU_ASSERT_EQUAL(daxalloc_close(a), 0);
	daxalloc_disconnect(dx);

	/* The new length is on the device. */
	CU_ASSERT_EQUAL_FATAL(restart(&main_h, main_args), 0);
	dx = connect_to(&main_h);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dx);
	CU_ASSERT_EQUAL_FATAL(daxalloc_open(dx, "trunc-a", DAXALLOC_RDONLY, &a),
			      0);
	CU_ASSERT_EQUAL(daxalloc_extent_length(a), 6 * MIB);
	CU_ASSERT(pattern_ok(daxalloc_extent_addr(a), 0, 6 * MIB, 1));
	CU_ASSERT_EQUAL(daxalloc_close(a), 0);
	CU_ASSERT(pool_consistent(&main_h, main_data));
	CU_ASSERT_EQUAL(daxalloc_delete_name(dx, "trunc-a"), 0);
	daxalloc_disconnect(dx);
	CU_ASSERT_EQUAL(harness_status_u64(&main_h, "free_bytes"), free0);
	CU_ASSERT(pool_consistent(&main_h, main_data));
}

/*
 * test_alloc_arguments -- sizes, alignment, mode and flags
 *
 * A 1-byte request gets one unit; mode 0 means 0600; an 8 MiB alignment
 * puts the device offset on 8 MiB (past a first extent that makes it
 * matter); alignments that are not powers of two, size 0 and the RDONLY
 * flag are refused (-EINVAL), also by the daemon itself for the
 * alignment; growing past the pool is -ENOSPC and changes nothing.
 */
static void test_alloc_arguments(void)
{
	struct daxalloc_extent *small, *big = NULL, *ext = NULL;
	struct daxalloc_info info;
	struct daxalloc *dx;
	char msg[256];

	dx = connect_to(&main_h);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dx);
	CU_ASSERT_EQUAL_FATAL(daxalloc_alloc(dx, NULL, 1, 0, 0, 0, &small), 0);
	CU_ASSERT_EQUAL(daxalloc_extent_length(small), 2 * MIB);
	CU_ASSERT(maps_covers(daxalloc_extent_addr(small), 2 * MIB, "rw"));
	CU_ASSERT_EQUAL(daxalloc_stat_id(dx, daxalloc_extent_id(small), &info),
			0);
	CU_ASSERT_EQUAL(info.mode, 0600);
	CU_ASSERT_STRING_EQUAL(info.name, "");

	CU_ASSERT_EQUAL_FATAL(
		daxalloc_alloc(dx, NULL, 2 * MIB, 8 * MIB, 0640, 0, &big), 0);
	CU_ASSERT_EQUAL(daxalloc_extent_offset(big) % (8 * MIB), 0);
	CU_ASSERT(aligned(dx, daxalloc_extent_addr(big)));
	CU_ASSERT_EQUAL(daxalloc_stat_id(dx, daxalloc_extent_id(big), &info),
			0);
	CU_ASSERT_EQUAL(info.mode, 0640);
	CU_ASSERT(pool_consistent(&main_h, main_data));

	CU_ASSERT_EQUAL(daxalloc_alloc(dx, NULL, 2 * MIB, 3 * MIB, 0, 0, &ext),
			-EINVAL);
	CU_ASSERT_EQUAL(
		raw_alloc(main_h.sock, "", 2 * MIB, 3 * MIB, msg, sizeof(msg)),
		-EINVAL);
	CU_ASSERT(msg[0] != '\0');
	CU_ASSERT_EQUAL(daxalloc_alloc(dx, NULL, 0, 0, 0, 0, &ext), -EINVAL);
	CU_ASSERT_EQUAL(
		daxalloc_alloc(dx, NULL, 2 * MIB, 0, 0, DAXALLOC_RDONLY, &ext),
		-EINVAL);
	CU_ASSERT_EQUAL(daxalloc_truncate(small, 1ull << 40), -ENOSPC);
	CU_ASSERT_EQUAL(daxalloc_extent_length(small), 2 * MIB);
	CU_ASSERT(maps_covers(daxalloc_extent_addr(small), 2 * MIB, "rw"));
	CU_ASSERT_EQUAL(daxalloc_delete(big), 0);
	CU_ASSERT_EQUAL(daxalloc_delete(small), 0);
	daxalloc_disconnect(dx);
	CU_ASSERT(pool_consistent(&main_h, main_data));
}

/*
 * test_names -- what a name may be
 *
 * Control bytes (0x01, 0x7f) are refused with -EINVAL and a message, an
 * empty name with -EINVAL, 176 bytes with -ENAMETOOLONG (also from the
 * daemon itself, for a client bypassing the library); 175 bytes and UTF-8
 * with blanks and slashes are fine; a second extent with a taken name is
 * refused with -EEXIST and leaves the first alone.
 */
static void test_names(void)
{
	static const char utf8[] = "donn\xc3\xa9"
				   "es/\xce\xb1 \xce\xb2";
	struct daxalloc_extent *ext = NULL, *dup = NULL;
	char name[DAXALLOC_NAME_MAX + 2], msg[256];
	struct daxalloc_info info;
	struct daxalloc *dx;

	dx = connect_to(&main_h);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dx);
	CU_ASSERT_EQUAL(
		daxalloc_alloc(dx, "bad\x01name", 2 * MIB, 0, 0, 0, &ext),
		-EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(daxalloc_errmsg(), "control byte"));
	CU_ASSERT_EQUAL(daxalloc_alloc(dx, "bad\x7f", 2 * MIB, 0, 0, 0, &ext),
			-EINVAL);
	CU_ASSERT(daxalloc_errmsg()[0] != '\0');
	CU_ASSERT_EQUAL(
		daxalloc_alloc(dx, "\x1b[31mred", 2 * MIB, 0, 0, 0, &ext),
		-EINVAL);
	CU_ASSERT_EQUAL(daxalloc_alloc(dx, "", 2 * MIB, 0, 0, 0, &ext),
			-EINVAL);

	memset(name, 'n', sizeof(name));
	name[DAXALLOC_NAME_MAX + 1] = '\0';
	CU_ASSERT_EQUAL(daxalloc_alloc(dx, name, 2 * MIB, 0, 0, 0, &ext),
			-ENAMETOOLONG);
	CU_ASSERT(daxalloc_errmsg()[0] != '\0');
	CU_ASSERT_EQUAL(
		raw_alloc(main_h.sock, name, 2 * MIB, 0, msg, sizeof(msg)),
		-ENAMETOOLONG);
	CU_ASSERT(msg[0] != '\0');
	CU_ASSERT_EQUAL(
		raw_alloc(main_h.sock, "raw\x01", 2 * MIB, 0, msg, sizeof(msg)),
		-EINVAL);
	name[DAXALLOC_NAME_MAX] = '\0';
	CU_ASSERT_EQUAL_FATAL(daxalloc_alloc(dx, name, 2 * MIB, 0, 0, 0, &ext),
			      0);
	CU_ASSERT_EQUAL(daxalloc_stat(dx, name, &info), 0);
	CU_ASSERT_STRING_EQUAL(info.name, name);
	CU_ASSERT_EQUAL(daxalloc_delete(ext), 0);

	CU_ASSERT_EQUAL_FATAL(daxalloc_alloc(dx, utf8, 2 * MIB, 0, 0, 0, &ext),
			      0);
	CU_ASSERT_EQUAL(daxalloc_list(dx, 0, list_find_name, (void *)utf8), 1);
	CU_ASSERT_EQUAL(daxalloc_close(ext), 0);

	CU_ASSERT_EQUAL(daxalloc_alloc(dx, utf8, 2 * MIB, 0, 0, 0, &dup),
			-EEXIST);
	CU_ASSERT_PTR_NOT_NULL(strstr(daxalloc_errmsg(), utf8));
	CU_ASSERT_PTR_NULL(dup);
	CU_ASSERT_EQUAL(daxalloc_stat(dx, utf8, &info), 0);
	CU_ASSERT_EQUAL(info.length, 2 * MIB);
	CU_ASSERT_EQUAL(daxalloc_delete_name(dx, utf8), 0);
	daxalloc_disconnect(dx);
	CU_ASSERT_EQUAL(harness_status_u64(&main_h, "extents"), 0);
	CU_ASSERT(pool_consistent(&main_h, main_data));
}

static int quota_suite_init(void)
{
	FILE *f;

	if (harness_init(&quota_h) < 0)
		return -1;
	snprintf(quota_conf, sizeof(quota_conf), "%s/daxallocd.conf",
		 quota_h.dir);
	f = fopen(quota_conf, "w");
	if (!f)
		return -1;
	fprintf(f, quota_conf_fmt, (unsigned int)getuid(),
		geteuid() == 0 ? quota_conf_gid : "");
	if (fclose(f) != 0 || harness_start(&quota_h, quota_args) < 0)
		return -1;
	quota_data = harness_status_u64(&quota_h, "free_bytes");
	return quota_data && quota_data != UINT64_MAX ? 0 : -1;
}

static int quota_suite_fini(void)
{
	harness_fini(&quota_h);
	return 0;
}

/*
 * test_name_limit -- [limits] max_name_length = 32
 *
 * 33 bytes: -ENAMETOOLONG from the daemon, naming the limit; 32 is fine.
 */
static void test_name_limit(void)
{
	struct daxalloc_extent *ext = NULL;
	struct daxalloc *dx;
	char name[34];

	dx = connect_to(&quota_h);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dx);
	memset(name, 'q', 33);
	name[33] = '\0';
	CU_ASSERT_EQUAL(daxalloc_alloc(dx, name, 2 * MIB, 0, 0, 0, &ext),
			-ENAMETOOLONG);
	CU_ASSERT_PTR_NOT_NULL(strstr(daxalloc_errmsg(), "32"));
	name[32] = '\0';
	CU_ASSERT_EQUAL_FATAL(daxalloc_alloc(dx, name, 2 * MIB, 0, 0, 0, &ext),
			      0);
	CU_ASSERT_EQUAL(daxalloc_delete(ext), 0);
	daxalloc_disconnect(dx);
	CU_ASSERT(pool_consistent(&quota_h, quota_data));
}

/*
 * test_quota_root -- the caller's uid (root): 16 MiB and, from [quota],
 * 3 extents
 *
 * The 4th extent is refused (-EDQUOT, "uid 0 would have 4 extents, its
 * quota is 3") and nothing changes; deleting one makes room.  18 MiB in
 * all is refused for bytes ("would use 18 MiB of its 16 MiB quota"), 16 is
 * not; growth is checked for the added bytes, a shrink never refused.
 */
static void test_quota_root(void)
{
	struct daxalloc_extent *a, *b, *c, *d = NULL, *e;
	struct daxalloc *dx;
	char want[96];

	dx = connect_to(&quota_h);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dx);
	CU_ASSERT_EQUAL_FATAL(daxalloc_alloc(dx, "q-named", 2 * MIB, 0, 0,
					     DAXALLOC_NO_MAP, &a),
			      0);
	CU_ASSERT_EQUAL_FATAL(
		daxalloc_alloc(dx, NULL, 2 * MIB, 0, 0, DAXALLOC_NO_MAP, &b),
		0);
	CU_ASSERT_EQUAL_FATAL(
		daxalloc_alloc(dx, NULL, 2 * MIB, 0, 0, DAXALLOC_NO_MAP, &c),
		0);
	CU_ASSERT_EQUAL(
		daxalloc_alloc(dx, NULL, 2 * MIB, 0, 0, DAXALLOC_NO_MAP, &d),
		-EDQUOT);
	snprintf(want, sizeof(want),
		 "uid %u would have 4 extents, its quota is 3",
		 (unsigned int)getuid());
	CU_ASSERT_PTR_NOT_NULL(strstr(daxalloc_errmsg(), want));
	fprintf(stderr, "(%s) ", daxalloc_errmsg());
	CU_ASSERT_EQUAL(daxalloc_alloc(dx, "q-other", 2 * MIB, 0, 0,
				       DAXALLOC_NO_MAP, &d),
			-EDQUOT);
	CU_ASSERT_EQUAL(harness_status_u64(&quota_h, "extents"), 3);
	CU_ASSERT(pool_consistent(&quota_h, quota_data));

	CU_ASSERT_EQUAL(daxalloc_delete(c), 0);
	CU_ASSERT_EQUAL_FATAL(
		daxalloc_alloc(dx, NULL, 2 * MIB, 0, 0, DAXALLOC_NO_MAP, &d),
		0);
	CU_ASSERT_EQUAL(daxalloc_delete(d), 0);

	/* Two extents, 4 MiB: 14 more is 2 too many, 12 fits. */
	CU_ASSERT_EQUAL(
		daxalloc_alloc(dx, NULL, 14 * MIB, 0, 0, DAXALLOC_NO_MAP, &e),
		-EDQUOT);
	snprintf(want, sizeof(want),
		 "uid %u would use 18 MiB of its 16 MiB quota",
		 (unsigned int)getuid());
	CU_ASSERT_PTR_NOT_NULL(strstr(daxalloc_errmsg(), want));
	fprintf(stderr, "(%s) ", daxalloc_errmsg());
	CU_ASSERT_EQUAL_FATAL(
		daxalloc_alloc(dx, NULL, 12 * MIB, 0, 0, DAXALLOC_NO_MAP, &e),
		0);
	CU_ASSERT(pool_consistent(&quota_h, quota_data));

	/* Growth counts its added bytes; shrinking is always allowed. */
	CU_ASSERT_EQUAL(daxalloc_truncate(b, 4 * MIB), -EDQUOT);
	CU_ASSERT_PTR_NOT_NULL(strstr(daxalloc_errmsg(), "quota"));
	CU_ASSERT_EQUAL(daxalloc_truncate(e, 10 * MIB), 0);
	CU_ASSERT_EQUAL(daxalloc_truncate(e, 12 * MIB), 0);
	CU_ASSERT_EQUAL(daxalloc_truncate(e, 14 * MIB), -EDQUOT);
	CU_ASSERT_EQUAL(daxalloc_extent_length(e), 12 * MIB);
	CU_ASSERT(pool_consistent(&quota_h, quota_data));

	CU_ASSERT_EQUAL(daxalloc_delete(e), 0);
	CU_ASSERT_EQUAL(daxalloc_delete(b), 0);
	CU_ASSERT_EQUAL(daxalloc_delete(a), 0);
	daxalloc_disconnect(dx);
	CU_ASSERT_EQUAL(harness_status_u64(&quota_h, "extents"), 0);
	CU_ASSERT(pool_consistent(&quota_h, quota_data));
}

/*
 * test_quota_after_restart -- usage is rebuilt from the device
 *
 * Root holds two named extents and, in a holder process, an anonymous
 * one: three, its limit.  The daemon is killed, the holder too, and the
 * daemon restarted with the same file: the dead holder's extent is freed
 * and not counted, so one more extent fits and the next is refused; a
 * delete makes room again.
 */
static void test_quota_after_restart(void)
{
	struct daxalloc_extent *ext = NULL, *more = NULL;
	uint64_t anon, none;
	int in = -1, out = -1;
	struct daxalloc *dx;
	char want[96];
	pid_t pid;

	dx = connect_to(&quota_h);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dx);
	CU_ASSERT_EQUAL_FATAL(
		daxalloc_alloc(dx, "q1", 2 * MIB, 0, 0, DAXALLOC_NO_MAP, &ext),
		0);
	CU_ASSERT_EQUAL(daxalloc_close(ext), 0);
	CU_ASSERT_EQUAL_FATAL(
		daxalloc_alloc(dx, "q2", 2 * MIB, 0, 0, DAXALLOC_NO_MAP, &ext),
		0);
	CU_ASSERT_EQUAL(daxalloc_close(ext), 0);
	pid = start_holder(&quota_h, "-", &in, &out, &anon, &none);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(
		daxalloc_alloc(dx, NULL, 2 * MIB, 0, 0, DAXALLOC_NO_MAP, &ext),
		-EDQUOT);
	daxalloc_disconnect(dx);

	CU_ASSERT_FATAL(harness_stop(&quota_h, SIGKILL, NULL) == 0);
	kill(pid, SIGKILL);
	CU_ASSERT_EQUAL(wait_exit(pid, 5000), 128 + SIGKILL);
	close(in);
	close(out);
	CU_ASSERT_EQUAL_FATAL(harness_start(&quota_h, quota_args), 0);
	CU_ASSERT_EQUAL(extent_listed(&quota_h, anon), 0);

	dx = connect_to(&quota_h);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dx);
	CU_ASSERT_EQUAL(
		daxalloc_alloc(dx, NULL, 2 * MIB, 0, 0, DAXALLOC_NO_MAP, &ext),
		0);
	CU_ASSERT_EQUAL(
		daxalloc_alloc(dx, NULL, 2 * MIB, 0, 0, DAXALLOC_NO_MAP, &more),
		-EDQUOT);
	snprintf(want, sizeof(want),
		 "uid %u would have 4 extents, its quota is 3",
		 (unsigned int)getuid());
	CU_ASSERT_PTR_NOT_NULL(strstr(daxalloc_errmsg(), want));
	CU_ASSERT_EQUAL(daxalloc_delete_name(dx, "q1"), 0);
	CU_ASSERT_EQUAL(
		daxalloc_alloc(dx, NULL, 2 * MIB, 0, 0, DAXALLOC_NO_MAP, &more),
		0);
	if (more)
		CU_ASSERT_EQUAL(daxalloc_delete(more), 0);
	if (ext)
		CU_ASSERT_EQUAL(daxalloc_delete(ext), 0);
	CU_ASSERT_EQUAL(daxalloc_delete_name(dx, "q2"), 0);
	daxalloc_disconnect(dx);
	CU_ASSERT_EQUAL(harness_status_u64(&quota_h, "extents"), 0);
	CU_ASSERT(pool_consistent(&quota_h, quota_data));
}

/*
 * quota_nobody_child -- as nobody: the [quota] defaults (8 MiB, 3
 * extents) and its group's 2 extents
 *
 * 4 + 2 MiB fit; 4 MiB more would pass the uid's bytes, which are checked
 * before the group's extent count also passed; 2 MiB more fits the uid
 * but would be the group's 3rd extent.  With second, the first child's
 * extents must have been released: 8 MiB fits at once.  Prints the ids
 * to fd and exits with them allocated: anonymous, they end with it.
 */
static void quota_nobody_child(int fd, bool second)
{
	struct daxalloc_extent *a, *b = NULL, *more = NULL;
	struct daxalloc *dx;
	char line[64];

	become_nobody();
	CHILD_CHECK(daxalloc_connect(quota_h.sock, &dx) == 0);
	if (second) {
		CHILD_CHECK(daxalloc_alloc(dx, NULL, 8 * MIB, 0, 0,
					   DAXALLOC_NO_MAP, &a) == 0);
		snprintf(line, sizeof(line), "%llu 0\n",
			 (unsigned long long)daxalloc_extent_id(a));
		CHILD_CHECK(write(fd, line, strlen(line)) ==
			    (ssize_t)strlen(line));
		_exit(0);
	}
	CHILD_CHECK(daxalloc_alloc(dx, NULL, 4 * MIB, 0, 0, DAXALLOC_NO_MAP,
				   &a) == 0);
	CHILD_CHECK(daxalloc_alloc(dx, NULL, 2 * MIB, 0, 0, DAXALLOC_NO_MAP,
				   &b) == 0);
	CHILD_CHECK(daxalloc_alloc(dx, NULL, 4 * MIB, 0, 0, DAXALLOC_NO_MAP,
				   &more) == -EDQUOT);
	CHILD_CHECK(strstr(daxalloc_errmsg(),
			   "uid 65534 would use 10 MiB of its 8 MiB quota"));
	CHILD_CHECK(daxalloc_alloc(dx, NULL, 2 * MIB, 0, 0, DAXALLOC_NO_MAP,
				   &more) == -EDQUOT);
	CHILD_CHECK(strstr(daxalloc_errmsg(),
			   "gid 65534 would have 3 extents, its quota is 2"));
	snprintf(line, sizeof(line), "%llu %llu\n",
		 (unsigned long long)daxalloc_extent_id(a),
		 (unsigned long long)daxalloc_extent_id(b));
	CHILD_CHECK(write(fd, line, strlen(line)) == (ssize_t)strlen(line));
	_exit(0);
}

/*
 * run_nobody -- run quota_nobody_child(second) and wait for its extents
 * to be freed after it exits; false on any failure
 */
static bool run_nobody(bool second)
{
	unsigned long long id[2] = { 0, 0 };
	char line[64];
	int pfd[2], i;
	bool ok;
	pid_t pid;

	if (pipe(pfd) < 0)
		return false;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		close(pfd[0]);
		quota_nobody_child(pfd[1], second);
	}
	close(pfd[1]);
	ok = read_line(pfd[0], line, sizeof(line), 5000) &&
	     sscanf(line, "%llu %llu", &id[0], &id[1]) == 2;
	close(pfd[0]);
	ok &= wait_exit(pid, 10000) == 0;
	for (i = 0; i < 2; i++)
		if (id[i] && wait_gone(&quota_h, id[i], 2000) < 0)
			ok = false;
	return ok;
}

/*
 * test_quota_default_uid -- a uid without a section, a gid with one
 *
 * Nobody gets default_uid_bytes and its group's extent limit, uid checked
 * first; what its anonymous extents used is released when it exits, so a
 * second nobody process gets the whole 8 MiB.
 */
static void test_quota_default_uid(void)
{
	if (geteuid() != 0) {
		fprintf(stderr,
			"(not root: cannot become another user; skipped) ");
		return;
	}
	CU_ASSERT_FATAL(open_socket_to_all(&quota_h));
	CU_ASSERT(run_nobody(false));
	CU_ASSERT(run_nobody(true));
	close_socket_again(&quota_h);
	CU_ASSERT(pool_consistent(&quota_h, quota_data));
}

/* helper_main -- run a helper mode named by argv[1]; -1 when none is */
static int helper_main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(argv[1], "writer"))
		return helper_writer(argc, argv);
	if (!strcmp(argv[1], "reader"))
		return helper_reader(argc, argv);
	if (!strcmp(argv[1], "holder"))
		return helper_holder(argc, argv);
	return -1;
}

static const struct harness_test main_tests[] = {
	{ "named extent: writer process, reader process", test_shared_named },
	{ "named extent survives kill -9 of the daemon", test_named_survives_kill9 },
	{ "permissions between users", test_permissions },
	{ "full pool: ENOSPC, largest free run, room again", test_full_pool },
	{ "anonymous extent freed when its owner is killed", test_anon_owner_killed },
	{ "anonymous extent across a daemon restart", test_anon_owner_across_restart },
	{ "owner exits with its Alloc unanswered", test_anon_owner_exits_mid_request },
	{ "truncate: shrink, grow in place, grow with a new mapping", test_truncate },
	{ "alloc arguments: size, alignment, mode, flags", test_alloc_arguments },
	{ "names: control bytes, length, duplicates", test_names },
	{ NULL, NULL },
};

static const struct harness_test quota_tests[] = {
	{ "name length limit from the configuration", test_name_limit },
	{ "own uid quota: extents, bytes, growth", test_quota_root },
	{ "quota usage rebuilt after kill -9", test_quota_after_restart },
	{ "default uid quota for another user", test_quota_default_uid },
	{ NULL, NULL },
};

int main(int argc, char **argv)
{
	static const struct harness_suite suites[] = {
		{ "extents", main_suite_init, main_suite_fini, main_tests },
		{ "quotas", quota_suite_init, quota_suite_fini, quota_tests },
		{ NULL, NULL, NULL, NULL },
	};

	if (argc > 1) {
		int r = helper_main(argc, argv);

		if (r >= 0)
			return r;
		fprintf(stderr, "test_extents: unknown helper mode '%s'\n",
			argv[1]);
		return 2;
	}
	return harness_main(suites);
}
