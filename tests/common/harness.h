/* SPDX-License-Identifier: Apache-2.0 */
/*
 * harness.h -- start the real daxallocd for integration tests
 *
 * The daemon runs as a child process on a temporary folder; readiness is
 * learnt the way systemd learns it, from READY=1 on a NOTIFY_SOCKET that
 * the harness owns.  Binaries come from $DAXALLOCD and $DAXALLOCCTL, which
 * CTest sets.
 */
#ifndef DAXALLOC_HARNESS_H
#define DAXALLOC_HARNESS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <CUnit/CUnit.h>
#include <json-c/json.h>

/* Socket paths must fit sockaddr_un, so the folder's name stays short. */
struct harness {
	char dir[80];
	char sock[PATH_MAX];
	char ctl[PATH_MAX];
	char notify[PATH_MAX];
	char log[PATH_MAX];
	char pool[PATH_MAX];
	pid_t pid;
	int notify_fd;
	bool formatted; /* $DAXALLOC_TEST_DEVICE formatted by this harness */
	/*
	 * What systemd would hand the daemon: listen_fds[] (-1: none) become
	 * its descriptors 3 and 4 with LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES
	 * (listen_names, e.g. "client:control"); watchdog_usec, if set, is
	 * its WATCHDOG_USEC.  The harness keeps its own copies open.
	 */
	int listen_fds[2];
	const char *listen_names;
	const char *watchdog_usec;
};

int harness_init(struct harness *h);
int harness_start(struct harness *h, const char *const *extra);
int harness_wait_notify(struct harness *h, const char *what, int timeout_ms);
int harness_stop(struct harness *h, int sig, int *status);
bool harness_alive(struct harness *h);
void harness_fini(struct harness *h);

int harness_run(const char *const *argv, char *out, size_t cap, int *status);
int harness_ctl(struct harness *h, const char *const *args, char *out,
		size_t cap, int *status);
int harness_count_fds(void);
long long harness_now_ms(void);
json_object *harness_ctl_json(struct harness *h, const char *const *args,
			      char *out, size_t cap);
uint64_t harness_json_u64(json_object *o, const char *key);
uint64_t harness_status_u64(struct harness *h, const char *key);
int harness_connect(const char *path, int timeout_s);
bool harness_log_has(struct harness *h, const char *what);
int harness_log_count(struct harness *h, const char *what);
int harness_pid_fds(pid_t pid);
long long harness_pid_cpu_ms(pid_t pid);
int harness_check(struct harness *h);
int harness_drain_notify(struct harness *h);

/* A CUnit test, and a suite of them for harness_main(). */
struct harness_test {
	const char *name;
	CU_TestFunc fn;
};

struct harness_suite {
	const char *name; /* NULL ends the list */
	CU_InitializeFunc init;
	CU_CleanupFunc fini;
	const struct harness_test *tests; /* ends with a NULL name */
};

int harness_main(const struct harness_suite *suites);

#endif /* DAXALLOC_HARNESS_H */
