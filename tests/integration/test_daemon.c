// SPDX-License-Identifier: Apache-2.0
/*
 * test_daemon.c -- the real daxallocd, driven by real client processes
 *
 * One daemon is started for the suite; libdaxalloc, daxallocctl and raw
 * protocol clients talk to it over its sockets, and hostile ones try to
 * break it.  Each hostile test ends by checking that a well-behaved client
 * is still served.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <json-c/json.h>

#include "daxalloc.h"
#include "envelope.h"
#include "harness.h"
#include "wire.h"

static struct harness daemon_h;

/* recv_reply -- wait up to 5 s for one envelope; NULL on EOF or error */
static Daxalloc__Envelope *recv_reply(int fd)
{
	struct timeval tv = { .tv_sec = 5 };
	Daxalloc__Envelope *env = NULL;
	int fds[WIRE_FDS_MAX];
	unsigned int nfds;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (envelope_recv(fd, &env, fds, &nfds) < 0)
		return NULL;
	wire_close_fds(fds, nfds);
	return env;
}

/* expect_eof -- the daemon closed this connection (within 5 s) */
static bool expect_eof(int fd)
{
	struct timeval tv = { .tv_sec = 5 };
	char b;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return recv(fd, &b, 1, 0) == 0;
}

/* send_hello -- a raw Hello; returns the reply status, or -EIO */
static int send_hello(int fd)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT, *resp;
	Daxalloc__Hello hello = DAXALLOC__HELLO__INIT;
	int status;

	hello.version_min = 1;
	hello.version_max = 1;
	hello.client_name = (char *)"raw-test";
	env.version = 1;
	env.id = 1;
	env.body_case = DAXALLOC__ENVELOPE__BODY_HELLO;
	env.hello = &hello;
	if (envelope_send(fd, &env, NULL, 0) < 0)
		return -EIO;
	resp = recv_reply(fd);
	if (!resp)
		return -EIO;
	status = resp->status;
	envelope_free(resp);
	return status;
}

/* still_served -- a fresh libdaxalloc client completes Hello */
static bool still_served(void)
{
	struct daxalloc *dx;

	if (!harness_alive(&daemon_h))
		return false;
	if (daxalloc_connect(daemon_h.sock, &dx) < 0)
		return false;
	daxalloc_disconnect(dx);
	return true;
}

/* ctl_json -- run daxallocctl ARGS --json and parse what it printed */
static json_object *ctl_json(const char *cmd)
{
	const char *args[] = { cmd, "--json", NULL };
	char out[8192];
	int status;

	if (harness_ctl(&daemon_h, args, out, sizeof(out), &status) < 0 ||
	    status != 0)
		return NULL;
	return json_tokener_parse(out);
}

static int suite_init(void)
{
	if (harness_init(&daemon_h) < 0)
		return -1;
	return harness_start(&daemon_h, NULL) < 0 ? -1 : 0;
}

static int suite_fini(void)
{
	harness_fini(&daemon_h);
	return 0;
}

static void test_socket_modes(void)
{
	struct stat st;

	CU_ASSERT_FATAL(stat(daemon_h.sock, &st) == 0);
	CU_ASSERT(S_ISSOCK(st.st_mode));
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0660);
	CU_ASSERT_FATAL(stat(daemon_h.ctl, &st) == 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
}

static void test_libdaxalloc_hello(void)
{
	struct daxalloc *dx, *dx2;

	CU_ASSERT_EQUAL_FATAL(daxalloc_connect(daemon_h.sock, &dx), 0);
	CU_ASSERT_STRING_EQUAL(daxalloc_server_version(dx), daxalloc_version());
	CU_ASSERT_EQUAL(daxalloc_protocol_version(dx), 1);
	CU_ASSERT_EQUAL_FATAL(daxalloc_connect(daemon_h.sock, &dx2), 0);
	/* Each connection is its own session. */
	CU_ASSERT(daxalloc_session_id(dx2) > daxalloc_session_id(dx));
	daxalloc_disconnect(dx2);
	daxalloc_disconnect(dx);
}

static void test_libdaxalloc_env_and_errors(void)
{
	char path[PATH_MAX + 16];
	struct daxalloc *dx;

	setenv(DAXALLOC_SOCKET_ENV, daemon_h.sock, 1);
	CU_ASSERT_EQUAL(daxalloc_connect(NULL, &dx), 0);
	daxalloc_disconnect(dx);
	unsetenv(DAXALLOC_SOCKET_ENV);

	snprintf(path, sizeof(path), "%s/nobody-here.sock", daemon_h.dir);
	CU_ASSERT_EQUAL(daxalloc_connect(path, &dx), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(daxalloc_errmsg(), "nobody-here.sock"));
	CU_ASSERT_STRING_EQUAL(daxalloc_strerror(-ENOENT),
			       "No such file or directory");
}

static void test_ctl_status_json(void)
{
	json_object *o = ctl_json("status"), *v;

	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_FATAL(json_object_object_get_ex(o, "version", &v));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(v), daxalloc_version());
	CU_ASSERT_FATAL(json_object_object_get_ex(o, "pid", &v));
	CU_ASSERT_EQUAL(json_object_get_int64(v), daemon_h.pid);
	CU_ASSERT_FATAL(json_object_object_get_ex(o, "client_socket", &v));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(v), daemon_h.sock);
	CU_ASSERT_FATAL(json_object_object_get_ex(o, "control_socket", &v));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(v), daemon_h.ctl);
	CU_ASSERT_FATAL(json_object_object_get_ex(o, "uptime_ms", &v));
	CU_ASSERT(json_object_is_type(v, json_type_int));
	/* daxallocctl itself is connected while the daemon answers. */
	CU_ASSERT_FATAL(json_object_object_get_ex(o, "connections", &v));
	CU_ASSERT(json_object_get_int64(v) >= 1);
	json_object_put(o);
}

static void test_ctl_table_and_help(void)
{
	const char *status[] = { "status", NULL };
	const char *help[] = { "status", "--help", NULL };
	const char *bad[] = { "no-such-command", NULL };
	char out[8192], want[64];
	int st;

	CU_ASSERT_EQUAL(harness_ctl(&daemon_h, status, out, sizeof(out), &st), 0);
	CU_ASSERT_EQUAL(st, 0);
	snprintf(want, sizeof(want), "pid              %d", (int)daemon_h.pid);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "uptime"));

	CU_ASSERT_EQUAL(harness_ctl(&daemon_h, help, out, sizeof(out), &st), 0);
	CU_ASSERT_EQUAL(st, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "Usage: daxallocctl status"));

	CU_ASSERT_EQUAL(harness_ctl(&daemon_h, bad, out, sizeof(out), &st), 0);
	CU_ASSERT_EQUAL(st, 2);
}

static void test_ctl_no_daemon(void)
{
	const char *argv[] = { getenv("DAXALLOCCTL"), "--socket",
			       "/nonexistent/control.sock", "status", NULL };
	char out[4096];
	int st;

	CU_ASSERT_EQUAL(harness_run(argv, out, sizeof(out), &st), 0);
	CU_ASSERT_EQUAL(st, 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "cannot connect"));
}

static void test_refused_request(void)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT, *resp;
	Daxalloc__PinRequest pin = DAXALLOC__PIN_REQUEST__INIT;
	int fd = harness_connect(daemon_h.sock, 5);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(send_hello(fd), 0);
	env.version = 1;
	env.id = 42;
	env.body_case = DAXALLOC__ENVELOPE__BODY_PIN;
	env.pin = &pin;
	CU_ASSERT_EQUAL_FATAL(envelope_send(fd, &env, NULL, 0), 0);
	resp = recv_reply(fd);
	CU_ASSERT_PTR_NOT_NULL_FATAL(resp);
	CU_ASSERT_EQUAL(resp->id, 42);
	/* A Pin of nothing is refused with the reason. */
	CU_ASSERT_EQUAL(resp->status, -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(resp->message, "no range"));
	envelope_free(resp);
	/* A refused request leaves the connection usable. */
	env.id = 43;
	CU_ASSERT_EQUAL(envelope_send(fd, &env, NULL, 0), 0);
	resp = recv_reply(fd);
	CU_ASSERT_PTR_NOT_NULL_FATAL(resp);
	CU_ASSERT_EQUAL(resp->id, 43);
	envelope_free(resp);
	close(fd);
}

static void test_garbage_client(void)
{
	static const char junk[] = "\xff\xff\xff\xff garbage, not protobuf";
	Daxalloc__Envelope *resp;
	json_object *o, *v;
	int fd = harness_connect(daemon_h.sock, 5);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(send(fd, junk, sizeof(junk), 0),
			      (ssize_t)sizeof(junk));
	resp = recv_reply(fd);
	CU_ASSERT_PTR_NOT_NULL_FATAL(resp);
	CU_ASSERT_EQUAL(resp->status, -EBADMSG);
	envelope_free(resp);
	CU_ASSERT(expect_eof(fd));
	close(fd);

	CU_ASSERT(still_served());
	o = ctl_json("stats");
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_FATAL(json_object_object_get_ex(o, "bad_messages", &v));
	CU_ASSERT(json_object_get_int64(v) >= 1);
	json_object_put(o);
}

static void test_oversized_and_fds(void)
{
	size_t big = WIRE_MSG_MAX + 100;
	char *buf = calloc(1, big);
	Daxalloc__Envelope *resp;
	int fd, pfd[2];

	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	fd = harness_connect(daemon_h.sock, 5);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(send(fd, buf, big, 0), (ssize_t)big);
	resp = recv_reply(fd);
	CU_ASSERT_PTR_NOT_NULL_FATAL(resp);
	CU_ASSERT_EQUAL(resp->status, -EMSGSIZE);
	envelope_free(resp);
	CU_ASSERT(expect_eof(fd));
	close(fd);
	free(buf);

	/* The daemon takes no descriptors: a Hello with one is refused. */
	fd = harness_connect(daemon_h.sock, 5);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(pipe(pfd) == 0);
	{
		Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT;
		Daxalloc__Hello hello = DAXALLOC__HELLO__INIT;

		hello.version_min = hello.version_max = 1;
		env.version = 1;
		env.body_case = DAXALLOC__ENVELOPE__BODY_HELLO;
		env.hello = &hello;
		CU_ASSERT_EQUAL(envelope_send(fd, &env, pfd, 2), 0);
	}
	close(pfd[0]);
	resp = recv_reply(fd);
	CU_ASSERT_PTR_NOT_NULL_FATAL(resp);
	CU_ASSERT_EQUAL(resp->status, -EBADMSG);
	envelope_free(resp);
	CU_ASSERT(expect_eof(fd));
	close(fd);
	/* The daemon closed its copy: the pipe's read end is gone everywhere. */
	CU_ASSERT(write(pfd[1], "x", 1) < 0 && errno == EPIPE);
	close(pfd[1]);
	CU_ASSERT(still_served());
}

static void test_rude_clients(void)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT;
	Daxalloc__StatusRequest st = DAXALLOC__STATUS_REQUEST__INIT;
	int i, fd;

	/* Connect and vanish, many times. */
	for (i = 0; i < 50; i++) {
		fd = harness_connect(daemon_h.sock, 5);
		CU_ASSERT_FATAL(fd >= 0);
		close(fd);
	}
	/* Ask and die without reading the answer. */
	fd = harness_connect(daemon_h.ctl, 5);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(send_hello(fd), 0);
	env.version = 1;
	env.id = 7;
	env.body_case = DAXALLOC__ENVELOPE__BODY_STATUS_REQ;
	env.status_req = &st;
	CU_ASSERT_EQUAL(envelope_send(fd, &env, NULL, 0), 0);
	close(fd);
	/* A control request on the client socket is refused, not fatal. */
	fd = harness_connect(daemon_h.sock, 5);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(send_hello(fd), 0);
	CU_ASSERT_EQUAL(envelope_send(fd, &env, NULL, 0), 0);
	{
		Daxalloc__Envelope *resp = recv_reply(fd);

		CU_ASSERT_PTR_NOT_NULL_FATAL(resp);
		CU_ASSERT_EQUAL(resp->status, -EPERM);
		envelope_free(resp);
	}
	close(fd);
	CU_ASSERT(still_served());
}

/*
 * test_non_admin -- the control socket refuses who is not root or admin
 *
 * Needs root to become another user; elsewhere it only checks the file
 * mode, which test_socket_modes already does.
 */
static void test_non_admin(void)
{
	pid_t pid;
	int st;

	if (geteuid() != 0) {
		fprintf(stderr, "(not root: non-admin check limited) ");
		return;
	}
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		int fd;

		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(10);
		/* The socket file's mode stops us first. */
		fd = harness_connect(daemon_h.ctl, 5);
		_exit(fd == -EACCES ? 0 : 11);
	}
	CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	/* With the mode opened up, the daemon's own check refuses Status. */
	CU_ASSERT_FATAL(chmod(daemon_h.ctl, 0666) == 0);
	CU_ASSERT_FATAL(chmod(daemon_h.dir, 0755) == 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT, *resp;
		Daxalloc__StatusRequest sr = DAXALLOC__STATUS_REQUEST__INIT;
		int fd;

		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(10);
		fd = harness_connect(daemon_h.ctl, 5);
		if (fd < 0 || send_hello(fd) != 0)
			_exit(11);
		env.version = 1;
		env.id = 9;
		env.body_case = DAXALLOC__ENVELOPE__BODY_STATUS_REQ;
		env.status_req = &sr;
		if (envelope_send(fd, &env, NULL, 0) < 0)
			_exit(12);
		resp = recv_reply(fd);
		_exit(resp && resp->status == -EPERM ? 0 : 13);
	}
	CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	chmod(daemon_h.ctl, 0600);
	chmod(daemon_h.dir, 0700);
}

static void test_second_daemon_refused(void)
{
	struct harness h2;
	int r, st;
	char log[4096] = "";
	FILE *f;

	CU_ASSERT_EQUAL_FATAL(harness_init(&h2), 0);
	/* Same socket paths as the live daemon. */
	strcpy(h2.sock, daemon_h.sock);
	strcpy(h2.ctl, daemon_h.ctl);
	r = harness_start(&h2, NULL);
	CU_ASSERT_EQUAL(r, -ESRCH); /* exited without READY */
	f = fopen(h2.log, "r");
	if (f) {
		size_t n = fread(log, 1, sizeof(log) - 1, f);

		log[n] = '\0';
		fclose(f);
	}
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "another daxallocd"));
	harness_stop(&h2, SIGKILL, &st);
	harness_fini(&h2);
	/* And the live one still owns its sockets. */
	CU_ASSERT(still_served());
}

static void test_stale_socket_replaced(void)
{
	struct harness h;
	struct daxalloc *dx;
	int st;

	CU_ASSERT_EQUAL_FATAL(harness_init(&h), 0);
	CU_ASSERT_EQUAL_FATAL(harness_start(&h, NULL), 0);
	CU_ASSERT_EQUAL(harness_stop(&h, SIGKILL, &st), 0);
	/* kill -9 leaves the socket files behind... */
	CU_ASSERT(access(h.sock, F_OK) == 0);
	/* ...and the next daemon replaces them. */
	CU_ASSERT_EQUAL_FATAL(harness_start(&h, NULL), 0);
	CU_ASSERT_EQUAL(daxalloc_connect(h.sock, &dx), 0);
	daxalloc_disconnect(dx);
	harness_fini(&h);
}

/*
 * test_connection_limit -- connections_per_process from the config file
 *
 * With a limit of 2, a third connection from this process is refused (the
 * daemon closes it at once); closing one makes room again.
 */
static void test_connection_limit(void)
{
	const char *args[] = { "--config", NULL, NULL };
	char conf[PATH_MAX + 16];
	struct daxalloc *a, *b, *c;
	struct harness h;
	FILE *f;

	CU_ASSERT_EQUAL_FATAL(harness_init(&h), 0);
	snprintf(conf, sizeof(conf), "%s/limit.conf", h.dir);
	f = fopen(conf, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("[limits]\nconnections_per_process = 2\n", f);
	fclose(f);
	args[1] = conf;
	CU_ASSERT_EQUAL_FATAL(harness_start(&h, args), 0);
	CU_ASSERT_EQUAL_FATAL(daxalloc_connect(h.sock, &a), 0);
	CU_ASSERT_EQUAL_FATAL(daxalloc_connect(h.sock, &b), 0);
	CU_ASSERT(daxalloc_connect(h.sock, &c) == -EUSERS);
	CU_ASSERT_PTR_NOT_NULL(strstr(daxalloc_errmsg(), "connections_per_process"));
	daxalloc_disconnect(b);
	/* The daemon notices the close on its next loop turn. */
	usleep(100 * 1000);
	CU_ASSERT_EQUAL(daxalloc_connect(h.sock, &c), 0);
	daxalloc_disconnect(c);
	daxalloc_disconnect(a);
	harness_fini(&h);
}

static void test_sigterm_clean(void)
{
	struct harness h;
	int st;

	CU_ASSERT_EQUAL_FATAL(harness_init(&h), 0);
	CU_ASSERT_EQUAL_FATAL(harness_start(&h, NULL), 0);
	kill(h.pid, SIGTERM);
	CU_ASSERT_EQUAL(harness_wait_notify(&h, "STOPPING=1", 5000), 0);
	CU_ASSERT_EQUAL(harness_stop(&h, SIGTERM, &st), 0);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CU_ASSERT(access(h.sock, F_OK) < 0 && errno == ENOENT);
	CU_ASSERT(access(h.ctl, F_OK) < 0 && errno == ENOENT);
	harness_fini(&h);
}

static void test_command_line(void)
{
	const char *bin = getenv("DAXALLOCD");
	const char *help[] = { bin, "--help", NULL };
	const char *ver[] = { bin, "--version", NULL };
	const char *zero[] = { bin, "--device", "/tmp/x.img", "--size", "0", NULL };
	const char *nodev[] = { bin, "--size", "8G", NULL };
	const char *unit[] = { bin, "--device", "/tmp/x.img", "--size", "64M",
			       "--unit", "3M", NULL };
	const char *odd[] = { bin, "--device", "/tmp/x.img", "--size", "33M",
			      NULL };
	char out[8192];
	int st;

	CU_ASSERT_EQUAL(harness_run(help, out, sizeof(out), &st), 0);
	CU_ASSERT_EQUAL(st, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "--device"));
	CU_ASSERT_EQUAL(harness_run(ver, out, sizeof(out), &st), 0);
	CU_ASSERT_EQUAL(st, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, daxalloc_version()));
	CU_ASSERT_EQUAL(harness_run(zero, out, sizeof(out), &st), 0);
	CU_ASSERT_EQUAL(st, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "--size"));
	CU_ASSERT_EQUAL(harness_run(nodev, out, sizeof(out), &st), 0);
	CU_ASSERT_EQUAL(st, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "no device"));
	CU_ASSERT_EQUAL(harness_run(unit, out, sizeof(out), &st), 0);
	CU_ASSERT_EQUAL(st, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "power of two"));
	CU_ASSERT_EQUAL(harness_run(odd, out, sizeof(out), &st), 0);
	CU_ASSERT_EQUAL(st, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "multiple of the unit"));
}

static const struct harness_test daemon_tests[] = {
	{ "socket files and modes", test_socket_modes },
	{ "libdaxalloc hello", test_libdaxalloc_hello },
	{ "libdaxalloc env and errors", test_libdaxalloc_env_and_errors },
	{ "daxallocctl status --json", test_ctl_status_json },
	{ "daxallocctl table, help, bad command", test_ctl_table_and_help },
	{ "daxallocctl without daemon", test_ctl_no_daemon },
	{ "refused request", test_refused_request },
	{ "garbage client", test_garbage_client },
	{ "oversized datagram and fds", test_oversized_and_fds },
	{ "rude clients", test_rude_clients },
	{ "non-admin on control socket", test_non_admin },
	{ "second daemon refused", test_second_daemon_refused },
	{ "stale socket replaced", test_stale_socket_replaced },
	{ "connections per process limit", test_connection_limit },
	{ "SIGTERM shuts down cleanly", test_sigterm_clean },
	{ "command line validation", test_command_line },
	{ NULL, NULL },
};

int main(void)
{
	static const struct harness_suite suites[] = {
		{ "daemon", suite_init, suite_fini, daemon_tests },
		{ NULL, NULL, NULL, NULL },
	};

	return harness_main(suites);
}
