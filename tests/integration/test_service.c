// SPDX-License-Identifier: Apache-2.0
/*
 * test_service.c -- daxallocd as systemd runs it, without systemd
 *
 * The harness plays the service manager: it binds the two listening
 * sockets itself and passes them the way socket activation does
 * (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES), asks for watchdog pings
 * (WATCHDOG_USEC) and reads READY/STATUS/RELOADING/WATCHDOG on its
 * NOTIFY_SOCKET; SIGHUP reloads a configuration file it rewrites.  The
 * same under a real systemd runs in the devdax guest (devdax_systemd).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "daxalloc.h"
#include "harness.h"

/* listen_at -- a listening SOCK_SEQPACKET socket bound at path, or -1 */
static int listen_at(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 16) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* client_hello -- a libdaxalloc connection to path works */
static bool client_hello(const char *path)
{
	struct daxalloc *dx;

	if (daxalloc_connect(path, &dx) < 0)
		return false;
	daxalloc_disconnect(dx);
	return true;
}

/* ctl_ok -- daxallocctl status on h's control socket exits 0 */
static bool ctl_ok(struct harness *h)
{
	static const char *const args[] = { "status", NULL };
	char out[4096];
	int st;

	return harness_ctl(h, args, out, sizeof(out), &st) == 0 && st == 0;
}

/* closed_by_daemon -- the daemon ends this connection (what it says first
 * is read and dropped); false on a receive timeout */
static bool closed_by_daemon(int fd)
{
	char b[512];
	ssize_t n;

	while ((n = recv(fd, b, sizeof(b), 0)) > 0)
		;
	return n == 0;
}

/* write_file -- replace path's content with text */
static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return -errno;
	fputs(text, f);
	return fclose(f) ? -errno : 0;
}

/*
 * test_activation -- sockets from the service manager, served and kept
 *
 * The daemon serves both passed sockets (the log says so), creates no
 * socket file of its own, and leaves the files alone when it stops: the
 * manager owns them.  A client that connects while no daemon runs waits
 * in the backlog and is served by the next one, which gets the same
 * sockets again: what makes `systemctl restart` invisible to clients.
 */
static void test_activation(void)
{
	struct harness h;
	struct stat st;
	int fd, status;

	CU_ASSERT_EQUAL_FATAL(harness_init(&h), 0);
	h.listen_fds[0] = listen_at(h.sock);
	h.listen_fds[1] = listen_at(h.ctl);
	h.listen_names = "client:control";
	CU_ASSERT_FATAL(h.listen_fds[0] >= 0 && h.listen_fds[1] >= 0);
	CU_ASSERT_EQUAL_FATAL(harness_start(&h, NULL), 0);
	CU_ASSERT(harness_log_has(&h, "(client socket, from systemd)"));
	CU_ASSERT(harness_log_has(&h, "(control socket, from systemd)"));
	CU_ASSERT_FALSE(harness_log_has(&h, "mode 0660"));
	CU_ASSERT(client_hello(h.sock));
	CU_ASSERT(ctl_ok(&h));

	CU_ASSERT_EQUAL(harness_stop(&h, SIGTERM, &status), 0);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CU_ASSERT_EQUAL(lstat(h.sock, &st), 0);
	CU_ASSERT_EQUAL(lstat(h.ctl, &st), 0);

	/* Between two daemons: the connection waits in the backlog. */
	fd = harness_connect(h.sock, 2);
	CU_ASSERT(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(harness_start(&h, NULL), 0);
	CU_ASSERT(client_hello(h.sock));
	CU_ASSERT(ctl_ok(&h));
	if (fd >= 0)
		close(fd);
	harness_stop(&h, SIGTERM, &status);
	close(h.listen_fds[0]);
	close(h.listen_fds[1]);
	harness_fini(&h);
}

/*
 * test_activation_names -- a passed socket of a name we do not know
 *
 * It is closed with a warning, and the daemon makes the socket that is
 * missing itself, at its configured path; the known one is served.
 */
static void test_activation_names(void)
{
	char other[PATH_MAX + 16];
	struct harness h;
	int status;

	CU_ASSERT_EQUAL_FATAL(harness_init(&h), 0);
	snprintf(other, sizeof(other), "%s/other.sock", h.dir);
	h.listen_fds[0] = listen_at(other);
	h.listen_fds[1] = listen_at(h.ctl);
	h.listen_names = "bogus:control";
	CU_ASSERT_FATAL(h.listen_fds[0] >= 0 && h.listen_fds[1] >= 0);
	CU_ASSERT_EQUAL_FATAL(harness_start(&h, NULL), 0);
	CU_ASSERT(harness_log_has(&h, "FileDescriptorName=bogus) is neither 'client' nor 'control'; closing it"));
	CU_ASSERT(harness_log_has(&h, "(client socket, mode 0660)"));
	CU_ASSERT(harness_log_has(&h, "(control socket, from systemd)"));
	CU_ASSERT(client_hello(h.sock));
	CU_ASSERT(ctl_ok(&h));
	harness_stop(&h, SIGTERM, &status);
	close(h.listen_fds[0]);
	close(h.listen_fds[1]);
	harness_fini(&h);
}

/*
 * test_watchdog_status -- WATCHDOG=1 keeps coming; STATUS= has figures
 *
 * With WATCHDOG_USEC=300 ms the loop pings every 150 ms: several pings in
 * a second.  The STATUS= line counts extents and changes when one is made.
 */
static void test_watchdog_status(void)
{
	struct daxalloc_extent *ext;
	struct daxalloc *dx;
	struct harness h;
	long long t0;
	int pings = 0, status;

	CU_ASSERT_EQUAL_FATAL(harness_init(&h), 0);
	h.watchdog_usec = "300000";
	CU_ASSERT_EQUAL_FATAL(harness_start(&h, NULL), 0);
	CU_ASSERT(harness_log_has(&h, "watchdog: a ping every 0.1 s") ||
		  harness_log_has(&h, "watchdog: a ping every 0.2 s"));
	t0 = harness_now_ms();
	while (harness_now_ms() - t0 < 1000 &&
	       harness_wait_notify(&h, "WATCHDOG=1", 1000) == 0)
		pings++;
	CU_ASSERT(pings >= 4);

	CU_ASSERT_EQUAL_FATAL(daxalloc_connect(h.sock, &dx), 0);
	CU_ASSERT_EQUAL(daxalloc_alloc(dx, "status", 2 << 20, 0, 0600,
				       DAXALLOC_NO_MAP, &ext), 0);
	/* Refreshed every 5 s when it changed. */
	CU_ASSERT_EQUAL(harness_wait_notify(&h, "STATUS=serving: 1 extents", 8000), 0);
	daxalloc_delete(ext);
	daxalloc_disconnect(dx);
	harness_stop(&h, SIGTERM, &status);
	harness_fini(&h);
}

/*
 * test_reload -- SIGHUP applies what may change and keeps the rest
 *
 * A lower hello_timeout closes silent connections sooner; a changed unit
 * waits for a restart; a key the command line gave keeps the command
 * line's value; a file with a mistake changes nothing.
 */
static void test_reload(void)
{
	char conf[PATH_MAX + 16], arg[PATH_MAX + 16];
	const char *extra[] = { "--config", conf, "--log-level", "info", NULL };
	struct harness h;
	long long t0;
	int fd, status;

	CU_ASSERT_EQUAL_FATAL(harness_init(&h), 0);
	snprintf(conf, sizeof(conf), "%s/daxallocd.conf", h.dir);
	CU_ASSERT_EQUAL_FATAL(write_file(conf, "[limits]\nhello_timeout = 30\n"), 0);
	CU_ASSERT_EQUAL_FATAL(harness_start(&h, extra), 0);

	snprintf(arg, sizeof(arg),
		 "[daemon]\nunit = 4M\nsocket = %s/elsewhere.sock\n"
		 "log_level = debug\n"
		 "[limits]\nhello_timeout = 1\nlease_break_time = 30\n",
		 h.dir);
	CU_ASSERT_EQUAL_FATAL(write_file(conf, arg), 0);
	CU_ASSERT_EQUAL(kill(h.pid, SIGHUP), 0);
	CU_ASSERT_EQUAL(harness_wait_notify(&h, "RELOADING=1", 5000), 0);
	CU_ASSERT_EQUAL(harness_wait_notify(&h, "READY=1", 5000), 0);
	CU_ASSERT(harness_log_has(&h, "reload: 'hello_timeout' changed"));
	CU_ASSERT(harness_log_has(&h, "reload: 'lease_break_time' changed"));
	CU_ASSERT(harness_log_has(&h, "reload: 'unit' changed; it takes effect at the next start"));
	/* The harness gives --socket and --log-level. */
	CU_ASSERT(harness_log_has(&h, "reload: 'socket' is given on the command line"));
	CU_ASSERT(harness_log_has(&h, "reload: 'log_level' is given on the command line"));
	CU_ASSERT(harness_log_has(&h, "2 changes in force"));

	/* The new hello timeout: a silent connection is closed after ~1 s. */
	fd = harness_connect(h.sock, 2);
	CU_ASSERT_FATAL(fd >= 0);
	t0 = harness_now_ms();
	CU_ASSERT(closed_by_daemon(fd));
	CU_ASSERT(harness_now_ms() - t0 < 5000);
	close(fd);
	CU_ASSERT(client_hello(h.sock));

	/* A mistake anywhere: nothing changes, the daemon keeps serving. */
	CU_ASSERT_EQUAL_FATAL(write_file(conf, "[limits]\nhello_timeout = 30\nlease_break_time = 0\n"), 0);
	CU_ASSERT_EQUAL(kill(h.pid, SIGHUP), 0);
	CU_ASSERT_EQUAL(harness_wait_notify(&h, "READY=1", 5000), 0);
	CU_ASSERT(harness_log_has(&h, "lease_break_time' must be from 1 to 86400, not 0; the running configuration stays"));
	fd = harness_connect(h.sock, 2);
	CU_ASSERT_FATAL(fd >= 0);
	t0 = harness_now_ms();
	CU_ASSERT(closed_by_daemon(fd));
	CU_ASSERT(harness_now_ms() - t0 < 5000);
	close(fd);
	CU_ASSERT(ctl_ok(&h));
	CU_ASSERT_EQUAL(harness_stop(&h, SIGTERM, &status), 0);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	harness_fini(&h);
}

/*
 * test_notify_full -- a service manager that stops reading stalls nothing
 *
 * With pings every 10 ms and nobody reading, the notify socket's queue
 * fills within a fraction of a second; the daemon must drop datagrams,
 * not block its loop on them: clients are still served at once.
 */
static void test_notify_full(void)
{
	struct harness h;
	long long t0;
	int status;

	CU_ASSERT_EQUAL_FATAL(harness_init(&h), 0);
	h.watchdog_usec = "20000";
	CU_ASSERT_EQUAL_FATAL(harness_start(&h, NULL), 0);
	usleep(1500 * 1000);
	t0 = harness_now_ms();
	CU_ASSERT(client_hello(h.sock));
	CU_ASSERT(ctl_ok(&h));
	CU_ASSERT(harness_now_ms() - t0 < 2000);
	CU_ASSERT(harness_alive(&h));
	CU_ASSERT_EQUAL(harness_stop(&h, SIGTERM, &status), 0);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	harness_fini(&h);
}

static const struct harness_test service_tests[] = {
	{ "socket activation: served, kept, backlog across a restart", test_activation },
	{ "socket activation: an unknown name", test_activation_names },
	{ "watchdog pings and STATUS figures", test_watchdog_status },
	{ "a notify socket nobody reads stalls nothing", test_notify_full },
	{ "SIGHUP reload: applied, deferred, command line, mistakes", test_reload },
	{ NULL, NULL },
};

int main(void)
{
	static const struct harness_suite suites[] = {
		{ "service", NULL, NULL, service_tests },
		{ NULL, NULL, NULL, NULL },
	};

	return harness_main(suites);
}
