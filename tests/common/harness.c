// SPDX-License-Identifier: Apache-2.0
/*
 * harness.c -- start the real daxallocd for integration tests
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <CUnit/Basic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* harness_now_ms -- a monotonic clock in milliseconds */
long long harness_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* harness_init -- make a temporary folder and a notify socket in it */
int harness_init(struct harness *h)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *tmp = getenv("TMPDIR");

	memset(h, 0, sizeof(*h));
	h->pid = -1;
	h->listen_fds[0] = h->listen_fds[1] = -1;
	if (!tmp || strlen(tmp) > sizeof(h->dir) - 24)
		tmp = "/tmp";
	snprintf(h->dir, sizeof(h->dir), "%s/daxalloc-test.XXXXXX", tmp);
	if (!mkdtemp(h->dir))
		return -errno;
	snprintf(h->sock, sizeof(h->sock), "%s/daxalloc.sock", h->dir);
	snprintf(h->ctl, sizeof(h->ctl), "%s/control.sock", h->dir);
	snprintf(h->notify, sizeof(h->notify), "%s/notify", h->dir);
	snprintf(h->log, sizeof(h->log), "%s/daxallocd.log", h->dir);
	snprintf(h->pool, sizeof(h->pool), "%s/pool.img", h->dir);

	h->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (h->notify_fd < 0)
		return -errno;
	strcpy(sa.sun_path, h->notify);
	if (bind(h->notify_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return 0;
}

/* harness_has_arg -- does the NULL-terminated list hold arg? */
static bool harness_has_arg(const char *const *args, const char *arg)
{
	while (args && *args)
		if (!strcmp(*args++, arg))
			return true;
	return false;
}

/*
 * harness_child_systemd -- in the child: what systemd passes, if asked
 *
 * The listening sockets go to descriptors 3 and 4 (SD_LISTEN_FDS_START),
 * without FD_CLOEXEC, and LISTEN_PID names this very process, as
 * sd_listen_fds(3) checks.
 */
static void harness_child_systemd(struct harness *h)
{
	char v[32];
	int i, n = 0, tmp[2];

	if (h->watchdog_usec)
		setenv("WATCHDOG_USEC", h->watchdog_usec, 1);
	else
		unsetenv("WATCHDOG_USEC");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDNAMES");
	if (h->listen_fds[0] < 0)
		return;
	/* Above 4 first, so that moving one cannot overwrite the other. */
	for (i = 0; i < 2 && h->listen_fds[i] >= 0; i++, n++)
		tmp[i] = fcntl(h->listen_fds[i], F_DUPFD, 10);
	for (i = 0; i < n; i++) {
		dup2(tmp[i], 3 + i);
		close(tmp[i]);
	}
	snprintf(v, sizeof(v), "%d", n);
	setenv("LISTEN_FDS", v, 1);
	snprintf(v, sizeof(v), "%d", (int)getpid());
	setenv("LISTEN_PID", v, 1);
	if (h->listen_names)
		setenv("LISTEN_FDNAMES", h->listen_names, 1);
}

/*
 * harness_start -- start daxallocd on the harness's sockets, wait for READY
 *
 * The pool is a 64 MiB file in the harness's folder (created on first
 * start) unless extra names a --device, or $DAXALLOC_TEST_DEVICE names one
 * (the devdax suite: a namespace formatted at this harness's first start).
 * extra holds further arguments (NULL-terminated, may be NULL).  Output
 * goes to h->log.  Returns 0 once READY=1 arrived.
 */
int harness_start(struct harness *h, const char *const *extra)
{
	const char *bin = getenv("DAXALLOCD");
	const char *dev = getenv("DAXALLOC_TEST_DEVICE");
	const char *argv[32];
	int n = 0, fd;

	if (!bin)
		bin = "daxallocd";
	argv[n++] = bin;
	argv[n++] = "--socket";
	argv[n++] = h->sock;
	argv[n++] = "--control-socket";
	argv[n++] = h->ctl;
	argv[n++] = "--log-level";
	argv[n++] = "debug";
	if (dev && *dev && !harness_has_arg(extra, "--device")) {
		if (!h->formatted) {
			const char *fargv[] = { bin, "--device", dev, "--format",
						"--config", "/dev/null", NULL };
			char out[4096];
			int st;

			if (harness_run(fargv, out, sizeof(out), &st) < 0 || st) {
				fprintf(stderr, "harness: formatting %s failed:\n%s",
					dev, out);
				return -EIO;
			}
			h->formatted = true;
		}
		argv[n++] = "--device";
		argv[n++] = dev;
	} else if (!harness_has_arg(extra, "--device")) {
		argv[n++] = "--device";
		argv[n++] = h->pool;
		argv[n++] = "--size";
		argv[n++] = "64M";
	}
	while (extra && *extra && n < 30)
		argv[n++] = *extra++;
	argv[n] = NULL;

	h->pid = fork();
	if (h->pid < 0)
		return -errno;
	if (h->pid == 0) {
		fd = open(h->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		setenv("NOTIFY_SOCKET", h->notify, 1);
		harness_child_systemd(h);
		execv(bin, (char *const *)argv);
		execvp(bin, (char *const *)argv);
		_exit(127);
	}
	return harness_wait_notify(h, "READY=1", 10000);
}

/* harness_wait_notify -- wait for a notify datagram that contains what */
int harness_wait_notify(struct harness *h, const char *what, int timeout_ms)
{
	long long end = harness_now_ms() + timeout_ms;
	char buf[1024];
	ssize_t n;

	for (;;) {
		struct pollfd pfd = { .fd = h->notify_fd, .events = POLLIN };
		long long left = end - harness_now_ms();

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, left > 200 ? 200 : (int)left) == 0) {
			/* A daemon that died will never say it. */
			if (h->pid > 0 && !harness_alive(h))
				return -ESRCH;
			continue;
		}
		n = recv(h->notify_fd, buf, sizeof(buf) - 1, 0);
		if (n < 0)
			return -errno;
		buf[n] = '\0';
		if (strstr(buf, what))
			return 0;
	}
}

/* harness_alive -- is the daemon still running (not even a zombie)? */
bool harness_alive(struct harness *h)
{
	int status;

	if (h->pid <= 0)
		return false;
	if (waitpid(h->pid, &status, WNOHANG) == h->pid) {
		h->pid = -1;
		return false;
	}
	return true;
}

/*
 * harness_stop -- send sig and reap the daemon within 10 s
 *
 * *status gets the raw wait status.  SIGKILL follows a timeout.
 */
int harness_stop(struct harness *h, int sig, int *status)
{
	long long end = harness_now_ms() + 10000;
	int st = 0;

	if (h->pid <= 0)
		return -ESRCH;
	kill(h->pid, sig);
	while (waitpid(h->pid, &st, WNOHANG) == 0) {
		if (harness_now_ms() > end) {
			kill(h->pid, SIGKILL);
			waitpid(h->pid, &st, 0);
			h->pid = -1;
			return -ETIMEDOUT;
		}
		usleep(10000);
	}
	h->pid = -1;
	if (status)
		*status = st;
	return 0;
}

/* harness_rm_rf -- remove the temporary folder (one level deep is enough) */
static void harness_rm_rf(const char *dir)
{
	struct dirent *de;
	char path[PATH_MAX * 2];
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/* harness_fini -- stop a daemon still running and clean up */
void harness_fini(struct harness *h)
{
	if (h->pid > 0)
		harness_stop(h, SIGKILL, NULL);
	if (h->notify_fd > 0)
		close(h->notify_fd);
	/* Keep the folder (and the daemon's log) when asked, for debugging. */
	if (!getenv("DAXALLOC_KEEP_TEST_DIR"))
		harness_rm_rf(h->dir);
}

/*
 * harness_run -- run argv to completion, capturing stdout (and stderr)
 *
 * out receives at most cap-1 bytes, NUL-terminated; *status the exit code
 * (or 128 + signal).
 */
int harness_run(const char *const *argv, char *out, size_t cap, int *status)
{
	size_t len = 0;
	int pfd[2], st;
	ssize_t n;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		execv(argv[0], (char *const *)argv);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	while ((n = read(pfd[0], out + len, cap - 1 - len)) > 0) {
		len += (size_t)n;
		if (len == cap - 1)
			break;
	}
	out[len] = '\0';
	close(pfd[0]);
	waitpid(pid, &st, 0);
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return 0;
}

/* harness_ctl -- run daxallocctl -s <control socket> args... */
int harness_ctl(struct harness *h, const char *const *args, char *out,
		size_t cap, int *status)
{
	const char *bin = getenv("DAXALLOCCTL");
	const char *argv[32];
	int n = 0;

	argv[n++] = bin ? bin : "daxallocctl";
	argv[n++] = "--socket";
	argv[n++] = h->ctl;
	while (args && *args && n < 31)
		argv[n++] = *args++;
	argv[n] = NULL;
	return harness_run(argv, out, cap, status);
}

/* harness_count_fds -- how many descriptors this process has open */
int harness_count_fds(void)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the DIR's own descriptor */
}

/*
 * harness_connect -- a plain SEQPACKET connection to path, or -errno
 *
 * With timeout_s, receives time out (EAGAIN) after that long, so that a
 * daemon that hangs instead of dying cannot hang a test.
 */
int harness_connect(const char *path, int timeout_s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = timeout_s };
	size_t len = strlen(path);
	int fd, r;

	if (len >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, len + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if (timeout_s)
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/*
 * harness_main -- the main() of an integration test program
 *
 * Needs DAXALLOCD and DAXALLOCCTL (CTest sets them), registers the suites,
 * runs them verbosely, and returns the exit status: 0 only when every
 * suite set up and no assertion failed.
 */
int harness_main(const struct harness_suite *suites)
{
	const struct harness_test *t;
	unsigned int failures;
	CU_pSuite s;

	signal(SIGPIPE, SIG_IGN);
	if (!getenv("DAXALLOCD") || !getenv("DAXALLOCCTL")) {
		fprintf(stderr, "set DAXALLOCD and DAXALLOCCTL (CTest does)\n");
		return 2;
	}
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	for (; suites->name; suites++) {
		s = CU_add_suite(suites->name, suites->init, suites->fini);
		for (t = suites->tests; s && t->name; t++)
			CU_add_test(s, t->name, t->fn);
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures() +
		   CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return failures ? 1 : 0;
}

/*
 * harness_ctl_json -- run daxallocctl args (which ask for JSON) on h's
 * daemon, parsed; NULL (and what it printed on stderr) when it failed
 */
json_object *harness_ctl_json(struct harness *h, const char *const *args,
			      char *out, size_t cap)
{
	int st;

	if (harness_ctl(h, args, out, cap, &st) < 0 || st != 0) {
		fprintf(stderr, "daxallocctl %s %s failed: %s\n", args[0],
			args[1] ? args[1] : "", out);
		return NULL;
	}
	return json_tokener_parse(out);
}

/* harness_json_u64 -- member key of o as a number; UINT64_MAX when absent */
uint64_t harness_json_u64(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v))
		return UINT64_MAX;
	return json_object_get_uint64(v);
}

/* harness_status_u64 -- one number of `daxallocctl status --json` */
uint64_t harness_status_u64(struct harness *h, const char *key)
{
	static const char *const args[] = { "status", "--json", NULL };
	static char out[1 << 16];
	json_object *o = harness_ctl_json(h, args, out, sizeof(out));
	uint64_t v = harness_json_u64(o, key);

	json_object_put(o);
	return v;
}

/* harness_log_has -- does the daemon's log (so far) contain what? */
bool harness_log_has(struct harness *h, const char *what)
{
	bool found = false;
	char *buf = NULL;
	size_t cap = 0;
	FILE *f = fopen(h->log, "re");

	if (!f)
		return false;
	while (!found && getline(&buf, &cap, f) > 0)
		found = strstr(buf, what) != NULL;
	free(buf);
	fclose(f);
	return found;
}

/* harness_pid_fds -- how many descriptors process pid has open, or -errno */
int harness_pid_fds(pid_t pid)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/*
 * harness_pid_cpu_ms -- user + system CPU time of pid so far, in
 * milliseconds (clock-tick resolution), or -errno
 *
 * Fields 14 and 15 of /proc/PID/stat, counted after the command name,
 * which may itself hold blanks and parentheses: the last ')' ends it.
 */
long long harness_pid_cpu_ms(pid_t pid)
{
	unsigned long long utime, stime;
	long hz = sysconf(_SC_CLK_TCK);
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	/* state, ppid, pgrp, session, tty, tpgid, flags, 4 fault counts */
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &utime, &stime) != 2)
		return -EIO;
	return (long long)(utime + stime) * 1000 / (hz > 0 ? hz : 100);
}

/*
 * harness_check -- run `daxallocctl check` on h's daemon
 *
 * Its exit status (0: consistent); what it printed goes to stderr when it
 * is not 0, so a failing test shows the findings.
 */
int harness_check(struct harness *h)
{
	static const char *const args[] = { "check", NULL };
	static char out[1 << 16];
	int st;

	if (harness_ctl(h, args, out, sizeof(out), &st) < 0)
		return -1;
	if (st != 0)
		fprintf(stderr, "\ndaxallocctl check exited %d:\n%s\n", st, out);
	return st;
}

/* harness_log_count -- how many lines of the daemon's log contain what */
int harness_log_count(struct harness *h, const char *what)
{
	char *buf = NULL;
	size_t cap = 0;
	int n = 0;
	FILE *f = fopen(h->log, "re");

	if (!f)
		return 0;
	while (getline(&buf, &cap, f) > 0)
		n += strstr(buf, what) != NULL;
	free(buf);
	fclose(f);
	return n;
}

/*
 * harness_drain_notify -- read and drop what the daemon sent to the
 * notify socket so far; how many datagrams
 *
 * The daemon's sd_notify() blocks while the socket's queue is full
 * (net.unix.max_dgram_qlen datagrams, often 10), and it sends STATUS=
 * every few seconds while its figures change: a test that keeps a daemon
 * busy for long without waiting for a notification must drain it, or the
 * daemon's loop stops in sendmsg().
 */
int harness_drain_notify(struct harness *h)
{
	char buf[1024];
	int n = 0;

	while (recv(h->notify_fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		n++;
	return n;
}
