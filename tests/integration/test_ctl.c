// SPDX-License-Identifier: Apache-2.0
/*
 * test_ctl.c -- daxallocctl as an operator uses it
 *
 * The real daxallocctl binary against the real daemon, and on pool files
 * that no daemon owns: status reports the clients and what the start
 * found about the last shutdown; format makes a pool of a new or empty
 * file, refuses a pool, data and a device a daemon owns (and asks before
 * --force does it); check --device passes on a good pool and exits with
 * its own status on a damaged one; the progress line shows on a terminal
 * and never in a pipe or in JSON.
 *
 * stdin is /dev/null for every child (main() sees to it), so that a test
 * run from a terminal behaves as one under CI: format --force never finds
 * a terminal to ask on.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <json-c/json.h>

#include "daxalloc.h"
#include "harness.h"

#define MIB (1ull << 20)

/* Output of one daxallocctl run: stdout and stderr together. */
static char out[1 << 16];

/* The status suite's daemon. */
static struct harness status_h;
static const char *const no_config[] = { "--config", "/dev/null", NULL };

/*
 * ctl_run -- run daxallocctl with args (no --socket), output into out
 *
 * Returns its exit status, or -1 when it could not be run.
 */
static int ctl_run(const char *const *args)
{
	const char *argv[32];
	int n = 0, st;

	argv[n++] = getenv("DAXALLOCCTL");
	while (*args && n < 31)
		argv[n++] = *args++;
	argv[n] = NULL;
	if (harness_run(argv, out, sizeof(out), &st) < 0)
		return -1;
	return st;
}

/* ctl_json_run -- ctl_run() of a command with --json, parsed; NULL if not 0 */
static json_object *ctl_json_run(const char *const *args, int *status)
{
	*status = ctl_run(args);
	if (*status != 0) {
		fprintf(stderr, "\n    daxallocctl %s exits %d: %s\n", args[0],
			*status, out);
		return NULL;
	}
	return json_tokener_parse(out);
}

/* json_flag -- member key of o: 1 true, 0 false, -1 absent or not a bool */
static int json_flag(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_boolean))
		return -1;
	return json_object_get_boolean(v);
}

/* file_path -- dir/name into buf */
static const char *file_path(char *buf, const struct harness *h,
			     const char *name)
{
	snprintf(buf, PATH_MAX, "%s/%s", h->dir, name);
	return buf;
}

/* file_read -- len bytes at off of path into buf; 0 or -1 */
static int file_read(const char *path, off_t off, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = pread(fd, buf, len, off);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

/* file_write -- len bytes at off of path, creating it; 0 or -1 */
static int file_write(const char *path, off_t off, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = pwrite(fd, buf, len, off);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

/* file_sparse -- a file of size bytes, all holes */
static int file_sparse(const char *path, off_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int r;

	if (fd < 0)
		return -1;
	r = ftruncate(fd, size);
	close(fd);
	return r;
}

/* format_new -- daxallocctl format path --size size; its exit status */
static int format_new(const char *path, const char *size)
{
	const char *args[] = { "format", path, "--size", size, NULL };

	return ctl_run(args);
}

/*
 * ctl_tty -- run daxallocctl with stderr on a terminal, and stdout too
 * when both; what the terminal showed goes to tty, the stdout pipe's to
 * pipe_out
 *
 * The terminal is a pseudo-terminal in raw mode, so that the line
 * discipline adds no \r of its own: every \r seen is the program's.
 * Returns the exit status, or -1.
 */
static int ctl_tty(const char *const *args, bool both, char *tty, size_t tcap,
		   char *pipe_out, size_t pcap)
{
	const char *argv[32];
	size_t tn = 0, pn = 0;
	struct termios t;
	int m, s = -1, pfd[2], st = 0, n = 0;
	bool exited = false;
	pid_t pid;
	ssize_t r;

	argv[n++] = getenv("DAXALLOCCTL");
	while (*args && n < 31)
		argv[n++] = *args++;
	argv[n] = NULL;
	m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0)
		goto err_m;
	s = open(ptsname(m), O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0 || tcgetattr(s, &t) < 0)
		goto err_m;
	cfmakeraw(&t);
	if (tcsetattr(s, TCSANOW, &t) < 0 || pipe2(pfd, O_CLOEXEC) < 0)
		goto err_m;
	pid = fork();
	if (pid == 0) {
		dup2(s, 2);
		dup2(both ? s : pfd[1], 1);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(s);
	close(pfd[1]);
	/* Read while it runs: a full terminal buffer would block it. */
	for (;;) {
		struct pollfd p[2] = { { .fd = m, .events = POLLIN },
				       { .fd = pfd[0], .events = POLLIN } };

		poll(p, 2, 50);
		if (p[0].revents & POLLIN) {
			r = read(m, tty + tn, tcap - 1 - tn);
			if (r > 0)
				tn += (size_t)r;
			else
				p[0].revents =
					0; /* EIO: the terminal hung up */
		}
		if (pfd[0] >= 0 && (p[1].revents & (POLLIN | POLLHUP))) {
			r = read(pfd[0], pipe_out + pn, pcap - 1 - pn);
			if (r > 0) {
				pn += (size_t)r;
			} else {
				close(pfd[0]);
				pfd[0] = -1;
			}
		}
		if (!exited && pid > 0 && waitpid(pid, &st, WNOHANG) == pid)
			exited = true;
		if ((exited || pid < 0) && pfd[0] < 0 &&
		    !(p[0].revents & POLLIN))
			break;
	}
	close(m);
	tty[tn] = '\0';
	pipe_out[pn] = '\0';
	if (pid < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);

err_m:
	if (s >= 0)
		close(s);
	if (m >= 0)
		close(m);
	return -1;
}

/*
 * pool_with_extents -- a pool file at path holding n named extents,
 * written by a daemon that then shut down cleanly
 */
static int pool_with_extents(const char *path, int n)
{
	const char *args[] = { "--device", path, "--config", "/dev/null",
			       NULL };
	struct daxalloc_extent *x;
	struct daxalloc *dx = NULL;
	struct harness h;
	char name[32];
	int i, r, st;

	if (format_new(path, "64M") != 0 || harness_init(&h) < 0)
		return -1;
	r = harness_start(&h, args);
	if (r == 0)
		r = daxalloc_connect(h.sock, &dx);
	for (i = 0; r == 0 && i < n; i++) {
		snprintf(name, sizeof(name), "ext%d", i);
		r = daxalloc_alloc(dx, name, 2 * MIB, 0, 0600, DAXALLOC_NO_MAP,
				   &x);
		if (r == 0)
			r = daxalloc_close(x);
	}
	if (dx)
		daxalloc_disconnect(dx);
	if (h.pid > 0 && harness_stop(&h, SIGTERM, &st) == 0 &&
	    !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
		r = -1;
	harness_fini(&h);
	return r;
}

/*
 * Status.
 */

static int status_init(void)
{
	if (harness_init(&status_h) < 0)
		return -1;
	return harness_start(&status_h, no_config) < 0 ? -1 : 0;
}

static int status_fini(void)
{
	harness_fini(&status_h);
	return 0;
}

/* status_json -- `daxallocctl status --json` of h's daemon */
static json_object *status_json(struct harness *h)
{
	static const char *const args[] = { "status", "--json", NULL };

	return harness_ctl_json(h, args, out, sizeof(out));
}

/* test_status_clients -- processes and connections of the client socket */
static void test_status_clients(void)
{
	struct daxalloc *a, *b;
	long long end;
	json_object *o;
	uint64_t procs = 0, conns = 0;

	CU_ASSERT_EQUAL_FATAL(daxalloc_connect(status_h.sock, &a), 0);
	CU_ASSERT_EQUAL_FATAL(daxalloc_connect(status_h.sock, &b), 0);
	o = status_json(&status_h);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	/* One process (this one) with two connections; daxallocctl's own
	 * connection is on the control socket. */
	CU_ASSERT_EQUAL(harness_json_u64(o, "client_processes"), 1);
	CU_ASSERT_EQUAL(harness_json_u64(o, "client_connections"), 2);
	CU_ASSERT(harness_json_u64(o, "connections") >= 3);
	json_object_put(o);
	daxalloc_disconnect(b);
	daxalloc_disconnect(a);
	/* The daemon notices the closes on its next loop turns. */
	end = harness_now_ms() + 3000;
	do {
		procs = harness_status_u64(&status_h, "client_processes");
		conns = harness_status_u64(&status_h, "client_connections");
		if (!procs && !conns)
			break;
		usleep(20 * 1000);
	} while (harness_now_ms() < end);
	CU_ASSERT_EQUAL(procs, 0);
	CU_ASSERT_EQUAL(conns, 0);
}

/* test_status_shutdown_json -- a fresh file pool: clean, no count */
static void test_status_shutdown_json(void)
{
	json_object *o = status_json(&status_h), *v;

	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(json_flag(o, "last_shutdown_clean"), 1);
	/* A file keeps no unsafe shutdown count: null, not 0. */
	CU_ASSERT_EQUAL(json_flag(o, "unsafe_shutdown_count_supported"), 0);
	CU_ASSERT(json_object_object_get_ex(o, "unsafe_shutdown_count", &v));
	CU_ASSERT_PTR_NULL(v);
	CU_ASSERT_EQUAL(json_flag(o, "unsafe_shutdown"), 0);
	json_object_put(o);
}

/* test_status_table -- the new rows of the readable table */
static void test_status_table(void)
{
	static const char *const args[] = { "status", NULL };
	struct daxalloc *a;
	int st;

	CU_ASSERT_EQUAL_FATAL(daxalloc_connect(status_h.sock, &a), 0);
	CU_ASSERT_EQUAL(harness_ctl(&status_h, args, out, sizeof(out), &st), 0);
	CU_ASSERT_EQUAL(st, 0);
	CU_ASSERT_PTR_NOT_NULL(
		strstr(out, "clients          1 process, 1 connection\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "last shutdown    clean\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "unsafe shutdown  not known"));
	daxalloc_disconnect(a);
}

/*
 * test_status_unclean -- kill -9, and the next start says so until a
 * clean stop
 */
static void test_status_unclean(void)
{
	static const char *const args[] = { "status", NULL };
	struct harness h;
	json_object *o;
	int st;

	CU_ASSERT_EQUAL_FATAL(harness_init(&h), 0);
	CU_ASSERT_EQUAL_FATAL(harness_start(&h, no_config), 0);
	CU_ASSERT_EQUAL(harness_stop(&h, SIGKILL, &st), 0);
	CU_ASSERT_EQUAL_FATAL(harness_start(&h, no_config), 0);
	o = status_json(&h);
	CU_ASSERT_PTR_NOT_NULL(o);
	CU_ASSERT_EQUAL(json_flag(o, "last_shutdown_clean"), 0);
	CU_ASSERT_EQUAL(json_flag(o, "unsafe_shutdown"), 0);
	json_object_put(o);
	CU_ASSERT_EQUAL(harness_ctl(&h, args, out, sizeof(out), &st), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "last shutdown    not clean"));
	CU_ASSERT_EQUAL(harness_stop(&h, SIGTERM, &st), 0);
	CU_ASSERT_EQUAL_FATAL(harness_start(&h, no_config), 0);
	o = status_json(&h);
	CU_ASSERT_EQUAL(json_flag(o, "last_shutdown_clean"), 1);
	json_object_put(o);
	harness_fini(&h);
}

/*
 * Format.
 */

static struct harness files_h; /* a folder for pool files, no daemon */

static int files_init(void)
{
	return harness_init(&files_h) < 0 ? -1 : 0;
}

static int files_fini(void)
{
	harness_fini(&files_h);
	return 0;
}

/* test_format_new_file -- format creates a pool file a daemon then serves */
static void test_format_new_file(void)
{
	const char *start[] = { "--device", NULL, "--config", "/dev/null",
				NULL };
	char path[PATH_MAX];
	const char *args[] = { "format", file_path(path, &files_h, "new.img"),
			       "--size", "64M",
			       "--json", NULL };
	struct harness h;
	json_object *o, *v;
	int st;

	o = ctl_json_run(args, &st);
	CU_ASSERT_EQUAL(st, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(harness_json_u64(o, "size"), 64 * MIB);
	CU_ASSERT_EQUAL(harness_json_u64(o, "unit"), 2 * MIB);
	CU_ASSERT(json_object_object_get_ex(o, "uuid", &v) &&
		  strlen(json_object_get_string(v)) == 36);
	json_object_put(o);

	start[1] = path;
	CU_ASSERT_EQUAL_FATAL(harness_init(&h), 0);
	CU_ASSERT_EQUAL_FATAL(harness_start(&h, start), 0);
	CU_ASSERT_EQUAL(harness_status_u64(&h, "pool_size"), 64 * MIB);
	CU_ASSERT_EQUAL(harness_status_u64(&h, "extents"), 0);
	harness_fini(&h);
}

/* test_format_sparse_file -- a file of holes is provably empty: no --force */
static void test_format_sparse_file(void)
{
	char path[PATH_MAX];
	const char *args[] = { "format", file_path(path, &files_h, "holes.img"),
			       "--unit", "64K", NULL };

	CU_ASSERT_EQUAL_FATAL(file_sparse(path, 32 * MIB), 0);
	CU_ASSERT_EQUAL(ctl_run(args), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "unit             64 KiB"));
}

/*
 * test_format_refuses_pool -- a pool is formatted again only with
 * --force, and --force asks (here: needs --yes, stdin is no terminal)
 */
static void test_format_refuses_pool(void)
{
	char path[PATH_MAX], sb[4096], sb2[4096];
	const char *plain[] = { "format", file_path(path, &files_h, "pool.img"),
				NULL };
	const char *yes[] = { "format", path, "--yes", NULL };
	const char *force[] = { "format", path, "--force", NULL };
	const char *both[] = { "format", path, "--force", "--yes", NULL };

	CU_ASSERT_EQUAL_FATAL(format_new(path, "32M"), 0);
	CU_ASSERT_EQUAL_FATAL(file_read(path, 0, sb, sizeof(sb)), 0);

	CU_ASSERT_EQUAL(ctl_run(plain), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "holds a daxalloc pool"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "--force"));
	/* --yes answers a question; it is not the permission. */
	CU_ASSERT_EQUAL(ctl_run(yes), 1);
	CU_ASSERT_EQUAL(ctl_run(force), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "--yes"));
	CU_ASSERT_EQUAL_FATAL(file_read(path, 0, sb2, sizeof(sb2)), 0);
	CU_ASSERT_EQUAL(memcmp(sb, sb2, sizeof(sb)), 0);

	CU_ASSERT_EQUAL(ctl_run(both), 0);
	CU_ASSERT_EQUAL_FATAL(file_read(path, 0, sb2, sizeof(sb2)), 0);
	/* A new pool: a new uuid in a new superblock. */
	CU_ASSERT_NOT_EQUAL(memcmp(sb, sb2, sizeof(sb)), 0);
}

/* test_format_refuses_data -- a non-zero byte anywhere is refused too */
static void test_format_refuses_data(void)
{
	static const char data[] = "somebody's data";
	char path[PATH_MAX], back[sizeof(data)];
	const char *plain[] = { "format", file_path(path, &files_h, "data.img"),
				NULL };
	const char *both[] = { "format", path, "--force", "--yes", NULL };

	CU_ASSERT_EQUAL_FATAL(file_sparse(path, 32 * MIB), 0);
	/* In the data area, far from the superblocks. */
	CU_ASSERT_EQUAL_FATAL(
		file_write(path, 20 * MIB + 5, data, sizeof(data)), 0);
	CU_ASSERT_EQUAL(ctl_run(plain), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "is not empty: byte 0x1400005"));
	CU_ASSERT_EQUAL_FATAL(file_read(path, 20 * MIB + 5, back, sizeof(back)),
			      0);
	CU_ASSERT_EQUAL(memcmp(back, data, sizeof(data)), 0);
	CU_ASSERT_EQUAL(ctl_run(both), 0);
}

/* test_format_daemon_owned -- never the pool a daemon serves, even forced */
static void test_format_daemon_owned(void)
{
	const char *both[] = { "format", NULL, "--force", "--yes", NULL };
	struct harness h;

	CU_ASSERT_EQUAL_FATAL(harness_init(&h), 0);
	CU_ASSERT_EQUAL_FATAL(harness_start(&h, no_config), 0);
	both[1] = h.pool;
	CU_ASSERT_EQUAL(ctl_run(both), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "owned by another daxallocd"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "a running daxallocd owns it"));
	/* And it still serves its pool, untouched. */
	CU_ASSERT(harness_alive(&h));
	CU_ASSERT_EQUAL(harness_status_u64(&h, "pool_size"), 64 * MIB);
	harness_fini(&h);
}

/* test_format_usage -- bad command lines are usage errors (2) */
static void test_format_usage(void)
{
	char path[PATH_MAX];
	const char *none[] = { "format", NULL };
	const char *two[] = { "format", "a.img", "b.img", NULL };
	const char *unit[] = { "format", file_path(path, &files_h, "u.img"),
			       "--size", "64M",
			       "--unit", "3M",
			       NULL };
	const char *size[] = { "format", path, "--size", "33M", NULL };
	const char *help[] = { "format", "--help", NULL };

	CU_ASSERT_EQUAL(ctl_run(none), 2);
	CU_ASSERT_EQUAL(ctl_run(two), 2);
	CU_ASSERT_EQUAL(ctl_run(unit), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "power of two"));
	CU_ASSERT_EQUAL(ctl_run(size), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "multiple of the unit"));
	CU_ASSERT(access(path, F_OK) < 0);
	CU_ASSERT_EQUAL(ctl_run(help), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "Usage: daxallocctl format"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "Exit status"));
}

/*
 * Offline check.
 */

/* test_check_offline_pass -- a new pool, and one with extents, pass */
static void test_check_offline_pass(void)
{
	char path[PATH_MAX], path2[PATH_MAX];
	const char *table[] = { "check", "--device",
				file_path(path, &files_h, "check.img"), NULL };
	const char *json[] = { "check", "--device", path, "--json", NULL };
	const char *json2[] = { "check", "--device",
				file_path(path2, &files_h, "ext.img"), "--json",
				NULL };
	json_object *o;
	int st;

	CU_ASSERT_EQUAL_FATAL(format_new(path, "64M"), 0);
	CU_ASSERT_EQUAL(ctl_run(table), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "consistent"));
	o = ctl_json_run(json, &st);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(json_flag(o, "ok"), 1);
	CU_ASSERT_EQUAL(harness_json_u64(o, "extents"), 0);
	json_object_put(o);

	CU_ASSERT_EQUAL_FATAL(pool_with_extents(path2, 3), 0);
	o = ctl_json_run(json2, &st);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(json_flag(o, "ok"), 1);
	CU_ASSERT_EQUAL(harness_json_u64(o, "extents"), 3);
	CU_ASSERT_EQUAL(harness_json_u64(o, "used_bytes"), 6 * MIB);
	CU_ASSERT_EQUAL(json_flag(o, "last_shutdown_clean"), 1);
	json_object_put(o);
}

/*
 * test_check_offline_corrupt -- a damaged pool exits 4 (findings), not 1
 *
 * The state record of a pool that never committed a transaction: no
 * journal can put it right.
 */
static void test_check_offline_corrupt(void)
{
	char path[PATH_MAX];
	const char *table[] = { "check", "--device",
				file_path(path, &files_h, "bad.img"), NULL };
	const char *json[] = { "check", "--device", path, "--json", NULL };
	json_object *o;

	CU_ASSERT_EQUAL_FATAL(format_new(path, "64M"), 0);
	CU_ASSERT_EQUAL_FATAL(file_write(path, 8192, "garbage!", 8), 0);
	CU_ASSERT_EQUAL(ctl_run(table), 4);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "FINDINGS"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "state record is corrupt"));
	CU_ASSERT_EQUAL(ctl_run(json), 4);
	/* stderr came along; the JSON object is the last thing printed. */
	o = json_tokener_parse(strchr(out, '{') ? strchr(out, '{') : out);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(json_flag(o, "ok"), 0);
	json_object_put(o);
}

/* test_check_offline_refused -- no pool, or a daemon's pool: 1 */
static void test_check_offline_refused(void)
{
	char path[PATH_MAX];
	const char *nopool[] = { "check", "--device",
				 file_path(path, &status_h, "zero.img"), NULL };
	const char *served[] = { "check", "--device", status_h.pool, NULL };

	CU_ASSERT_EQUAL_FATAL(file_sparse(path, 32 * MIB), 0);
	CU_ASSERT_EQUAL(ctl_run(nopool), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "holds no daxalloc pool"));
	CU_ASSERT_EQUAL(ctl_run(served), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "check it online"));
}

/*
 * Progress.
 */

/*
 * test_progress_terminal_only -- the line shows on a terminal; with
 * stdout in a pipe or with --json, stderr carries none of it
 */
static void test_progress_terminal_only(void)
{
	static char tty[1 << 16], pipe_out[1 << 16];
	char path[PATH_MAX], path2[PATH_MAX];
	const char *fmt[] = { "format", file_path(path, &files_h, "p.img"),
			      "--size", "64M", NULL };
	const char *fmt_again[] = { "format", path,	"--force",
				    "--yes",  "--json", NULL };
	const char *check[] = { "check", "--device",
				file_path(path2, &files_h, "pext.img"), NULL };
	const char *check_json[] = { "check", "--device", path2, "--json",
				     NULL };

	CU_ASSERT_EQUAL_FATAL(pool_with_extents(path2, 4), 0);

	/* stdout a pipe, stderr a terminal: no progress. */
	CU_ASSERT_EQUAL(ctl_tty(fmt, false, tty, sizeof(tty), pipe_out,
				sizeof(pipe_out)),
			0);
	CU_ASSERT_PTR_NOT_NULL(strstr(pipe_out, "formatted"));
	CU_ASSERT_PTR_NULL(strchr(tty, '\r'));
	CU_ASSERT_PTR_NULL(strchr(tty, '%'));
	CU_ASSERT_PTR_NULL(strchr(pipe_out, '\r'));
	CU_ASSERT_EQUAL(ctl_tty(check, false, tty, sizeof(tty), pipe_out,
				sizeof(pipe_out)),
			0);
	CU_ASSERT_PTR_NOT_NULL(strstr(pipe_out, "consistent"));
	CU_ASSERT_PTR_NULL(strchr(tty, '\r'));
	CU_ASSERT_PTR_NULL(strchr(tty, '%'));

	/* Both on the terminal but JSON: no progress either. */
	CU_ASSERT_EQUAL(ctl_tty(fmt_again, true, tty, sizeof(tty), pipe_out,
				sizeof(pipe_out)),
			0);
	CU_ASSERT_PTR_NOT_NULL(strstr(tty, "\"uuid\""));
	CU_ASSERT_PTR_NULL(strchr(tty, '\r'));
	CU_ASSERT_PTR_NULL(strstr(tty, "zeroing"));
	CU_ASSERT_EQUAL(ctl_tty(check_json, true, tty, sizeof(tty), pipe_out,
				sizeof(pipe_out)),
			0);
	CU_ASSERT_PTR_NULL(strchr(tty, '\r'));
	CU_ASSERT_PTR_NULL(strstr(tty, "loading"));

	/* A person at a terminal sees it, and it is erased at the end. */
	CU_ASSERT_EQUAL(unlink(path), 0);
	CU_ASSERT_EQUAL(ctl_tty(fmt, true, tty, sizeof(tty), pipe_out,
				sizeof(pipe_out)),
			0);
	CU_ASSERT_PTR_NOT_NULL(strstr(tty, "\rzeroing the metadata tables: "));
	CU_ASSERT_PTR_NOT_NULL(strstr(tty, "100%"));
	CU_ASSERT_PTR_NOT_NULL(strstr(tty, "\rformatted"));
	CU_ASSERT_EQUAL(ctl_tty(check, true, tty, sizeof(tty), pipe_out,
				sizeof(pipe_out)),
			0);
	CU_ASSERT_PTR_NOT_NULL(strstr(tty, "\rloading the extent records: "));
	CU_ASSERT_PTR_NOT_NULL(strstr(tty, "(4 of 4 records)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(tty, "consistent"));
}

/*
 * Bash completion.
 */

/*
 * The driver: sources the completion file ($1), enters the folder $2, and
 * calls _daxallocctl as bash does for each line: t WORD... with the last
 * word the one being completed; te LINE WORD... when plain bash split the
 * line at an '=' (the words) and bash-completion reassembles it (LINE).
 * Completions are sorted before printing (file names come in directory
 * order), in the C locale.
 */
static const char completion_driver[] =
	"export LC_ALL=C\n"
	"source \"$1\" || exit 9\n"
	"cd \"$2\" || exit 9\n"
	"te() {\n"
	"    local line=$1\n"
	"    shift\n"
	"    COMP_WORDS=(\"$@\")\n"
	"    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n"
	"    COMP_LINE=$line\n"
	"    COMP_POINT=${#line}\n"
	"    COMPREPLY=()\n"
	"    _daxallocctl daxallocctl \"${COMP_WORDS[COMP_CWORD]}\" \"${COMP_WORDS[COMP_CWORD - 1]}\"\n"
	"    printf '%s|%s\\n' \"$line\" \"$(printf '%s\\n' \"${COMPREPLY[@]}\" | sort | paste -sd ' ')\"\n"
	"}\n"
	"t() { te \"$*\" \"$@\"; }\n"
	"t daxallocctl ''\n"
	"t daxallocctl st\n"
	"t daxallocctl -\n"
	"t daxallocctl -s ctl.sock ''\n"
	"t daxallocctl list ''\n"
	"t daxallocctl list pins -\n"
	"t daxallocctl revoke --\n"
	"t daxallocctl check -\n"
	"t daxallocctl check --device c\n"
	"t daxallocctl format c\n"
	"t daxallocctl format --unit ''\n"
	"t daxallocctl format c1.img --f\n"
	"te 'daxallocctl check --device=c' daxallocctl check --device = c\n";

/* What each line completes to (bash prints them in this order). */
static const char *const completion_want[] = {
	"daxallocctl |check format list revoke show stats status\n",
	"daxallocctl st|stats status\n",
	"daxallocctl -|--help --json --socket --version -V -h -j -s\n",
	"daxallocctl -s ctl.sock |check format list revoke show stats status\n",
	"daxallocctl list |extents leases pins processes quarantine\n",
	"daxallocctl list pins -|--help --json -h -j\n",
	"daxallocctl revoke --|--extent --force-unsafe --grace --help --json --kill --pid --uid --wait\n",
	"daxallocctl check -|--device --help --json -d -h -j\n",
	"daxallocctl check --device c|c1.img c2.img\n",
	"daxallocctl format c|c1.img c2.img\n",
	"daxallocctl format --unit |1G 2M 4K 64K\n",
	"daxallocctl format c1.img --f|--force\n",
	"daxallocctl check --device=c|c1.img c2.img\n",
	NULL,
};

/*
 * test_bash_completion -- the completion file, sourced into plain bash
 * and into bash with the bash-completion package when it is installed
 */
static void test_bash_completion(void)
{
	static const char full[] = "/usr/share/bash-completion/bash_completion";
	const char *file = getenv("DAXALLOCCTL_COMPLETION");
	char script[sizeof(completion_driver) + 128], dir[PATH_MAX];
	char f[2][PATH_MAX + 16];
	const char *argv[] = { "bash", "--norc", "--noprofile", "-c", NULL,
			       "_",    file,	 dir,		NULL };
	int st, i, pass;

	CU_ASSERT_PTR_NOT_NULL_FATAL(file);
	/* A folder of its own: the names completed are exactly these. */
	CU_ASSERT_EQUAL_FATAL(mkdir(file_path(dir, &files_h, "comp"), 0700), 0);
	for (i = 0; i < 2; i++) {
		snprintf(f[i], sizeof(f[i]), "%s/c%d.img", dir, i + 1);
		CU_ASSERT_EQUAL_FATAL(file_sparse(f[i], 0), 0);
	}
	for (pass = 0; pass < 2; pass++) {
		if (pass && access(full, R_OK) < 0) {
			fprintf(stderr, "\n    (no %s: plain bash only) ",
				full);
			break;
		}
		snprintf(
			script, sizeof(script), "%s%s",
			pass ? "source /usr/share/bash-completion/bash_completion\n" :
			       "",
			completion_driver);
		argv[4] = script;
		CU_ASSERT_EQUAL_FATAL(harness_run(argv, out, sizeof(out), &st),
				      0);
		if (st == 127) {
			fprintf(stderr, "\n    (no bash: skipped) ");
			break;
		}
		CU_ASSERT_EQUAL(st, 0);
		for (i = 0; completion_want[i]; i++) {
			if (!strstr(out, completion_want[i])) {
				CU_FAIL("a completion differs");
				fprintf(stderr,
					"\n    pass %d: want %s    got:\n%s",
					pass, completion_want[i], out);
			}
		}
	}
	/* The harness removes one level of its folder. */
	unlink(f[0]);
	unlink(f[1]);
	rmdir(dir);
}

/*
 * Exit statuses and help.
 */

/* test_help_exit_statuses -- --help documents every exit status */
static void test_help_exit_statuses(void)
{
	static const char *const cmds[] = { "status", "check", "format", NULL };
	const char *top[] = { "--help", NULL };
	const char *args[] = { NULL, "--help", NULL };
	int i;

	CU_ASSERT_EQUAL(ctl_run(top), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "4 check found"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "format"));
	for (i = 0; cmds[i]; i++) {
		args[0] = cmds[i];
		CU_ASSERT_EQUAL(ctl_run(args), 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(out, "Exit status"));
	}
}

static const struct harness_test status_tests[] = {
	{ "status: clients", test_status_clients },
	{ "status: shutdown state (JSON)", test_status_shutdown_json },
	{ "status: table rows", test_status_table },
	{ "status: unclean shutdown", test_status_unclean },
	{ "check --device: no pool, a served pool",
	  test_check_offline_refused },
	{ NULL, NULL },
};

static const struct harness_test file_tests[] = {
	{ "format: a new file", test_format_new_file },
	{ "format: a sparse file", test_format_sparse_file },
	{ "format: refuses a pool", test_format_refuses_pool },
	{ "format: refuses data", test_format_refuses_data },
	{ "format: refuses a daemon's device", test_format_daemon_owned },
	{ "format: usage", test_format_usage },
	{ "check --device: passes", test_check_offline_pass },
	{ "check --device: corrupt pool", test_check_offline_corrupt },
	{ "progress: on a terminal only", test_progress_terminal_only },
	{ "bash completion", test_bash_completion },
	{ "help: exit statuses", test_help_exit_statuses },
	{ NULL, NULL },
};

int main(void)
{
	static const struct harness_suite suites[] = {
		{ "status", status_init, status_fini, status_tests },
		{ "offline", files_init, files_fini, file_tests },
		{ NULL, NULL, NULL, NULL },
	};

	/* No child may find a terminal to ask on (see the top). */
	if (!freopen("/dev/null", "r", stdin))
		return 2;
	return harness_main(suites);
}
