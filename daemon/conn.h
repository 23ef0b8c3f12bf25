/* SPDX-License-Identifier: Apache-2.0 */
/*
 * conn.h -- one accepted connection: its state, its input and its replies
 */
#ifndef DAXALLOCD_CONN_H
#define DAXALLOCD_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include <ev.h>

#include "envelope.h"

struct server;
struct proc;

/* Which socket a connection came from; decides what it may ask. */
enum conn_kind {
	CONN_CLIENT,
	CONN_CONTROL,
	CONN_KIND_COUNT,
};

/* A connection's life; every change goes through conn_enter_state(). */
enum conn_state {
	CONN_NEW,     /* accepted, waiting for Hello */
	CONN_READY,   /* Hello done: serving requests */
	CONN_CLOSING, /* writing its last replies, reading nothing */
};

/* Supplementary groups remembered per peer for permission checks. */
#define CONN_GROUPS_MAX 64

/* Replies and events a connection may have queued before it is cut off. */
#define CONN_OUTQ_MAX 256
/* Descriptors one reply may carry (the device fd). */
#define CONN_OUT_FDS 1

/* A packed reply or event waiting for the socket to take it. */
struct conn_out {
	STAILQ_ENTRY(conn_out) entry;
	void *data;
	size_t len;
	unsigned int nfds;
	int fds[CONN_OUT_FDS]; /* borrowed: open for the daemon's whole life */
};

struct conn {
	TAILQ_ENTRY(conn) entry;
	TAILQ_ENTRY(conn) flush_entry;
	bool in_flushq;
	struct server *srv;
	int fd;
	enum conn_kind kind;
	enum conn_state state;
	uint64_t session;
	uint32_t version; /* negotiated by Hello */

	/* The peer, from SO_PEERCRED and SO_PEERGROUPS at accept time. */
	pid_t pid;
	uid_t uid;
	gid_t gid;
	bool admin; /* may use control requests */
	gid_t groups[CONN_GROUPS_MAX]; /* supplementary groups (SO_PEERGROUPS) */
	unsigned int ngroups;
	struct proc *proc; /* the peer process (client socket only) */
	char name[64];

	ev_io rio, wio;
	ev_timer hello_timer;
	STAILQ_HEAD(, conn_out) outq;
	unsigned int outq_len;
};

const char *conn_kind_name(enum conn_kind kind);
int conn_accept(struct server *srv, int fd, enum conn_kind kind);
void conn_enter_state(struct conn *c, enum conn_state state);
int conn_send(struct conn *c, const Daxalloc__Envelope *env, const int *fds,
	      unsigned int nfds);
void conn_fail(struct conn *c, uint64_t id, int status, const char *why);
void conn_abort(struct conn *c, const char *why);
void conn_flush(struct conn *c);
void conn_free(struct conn *c);
bool conn_in_group(const struct conn *c, gid_t gid);

#endif /* DAXALLOCD_CONN_H */
