/* SPDX-License-Identifier: Apache-2.0 */
/*
 * server.h -- the daemon's event loop, its sockets and its connections
 */
#ifndef DAXALLOCD_SERVER_H
#define DAXALLOCD_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <time.h>

#include <ev.h>

#include "conn.h"
#include "hold.h"
#include "listener.h"
#include "proc.h"

struct config;
struct options;
struct pool;
struct quota;

/* Limits from the configuration that the request paths enforce. */
struct server_limits {
	unsigned int hello_timeout_s;
	unsigned int connections_per_process;
	unsigned int max_name_length;
	unsigned int lease_break_time_s;
	unsigned int max_pins_per_process;
};

/* Counters shown by daxallocctl stats. */
struct server_stats {
	uint64_t requests;
	uint64_t errors;
	uint64_t connections_total;
	uint64_t bad_messages;
};

struct server {
	struct ev_loop *loop;
	const struct options *opts;
	const struct config *cfg; /* in force: opts->cfg, or the last reload's */
	struct config *reloaded;  /* the last reload's, owned here; or NULL */
	struct pool *pool; /* NULL only in tests of the protocol layer */
	struct listener listeners[CONN_KIND_COUNT];
	gid_t admin_gid; /* (gid_t)-1: no admin group */

	struct server_limits limits;
	struct proc_list procs; /* client processes we know of */
	struct quota *quota;    /* usage against the configured quotas */
	struct hold holds;      /* leases, pins, lease breaks, revokes */
	int client_fd[2];       /* device fds handed to clients: [0] rw, [1] ro */
	uint8_t boot_id[16];    /* this boot's id, recorded with process identities */

	TAILQ_HEAD(conn_tailq, conn) conns;
	TAILQ_HEAD(, conn) flushq; /* connections with replies to write */
	unsigned int nconns;
	uint64_t next_session;

	ev_signal sigterm, sigint, sighup;
	ev_prepare before_sleep;
	ev_timer accept_resume;
	ev_timer watchdog;   /* WATCHDOG=1 at half of WatchdogSec= */
	ev_timer status;     /* STATUS= for systemctl status */
	char status_line[256]; /* the last STATUS= sent */
	bool accept_paused;
	int reserve_fd; /* spent to shed a connection on EMFILE */

	struct timespec started; /* CLOCK_MONOTONIC */
	struct server_stats stats;
	void *rxbuf; /* one receive buffer of WIRE_MSG_MAX bytes */
	int exit_status;
	bool commit_failed;
};

int server_init(struct server *s, const struct options *opts,
		struct pool *pool);
int server_run(struct server *s);
void server_fini(struct server *s);

void server_accept_pause(struct server *s);
void server_accept_resume(struct server *s);
void server_flush_later(struct server *s, struct conn *c);
uint64_t server_uptime_ms(const struct server *s);

#endif /* DAXALLOCD_SERVER_H */
