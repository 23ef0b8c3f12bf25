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

/*
 * Bounds of what waits in the daemon for a peer whose socket is full:
 * more than CONN_OUTQ_MAX messages or CONN_OUTQ_BYTES bytes left after a
 * flush (the socket took what it would), and the daemon stops reading
 * the peer's requests and gives it CONN_OUTQ_GRACE_S seconds to read
 * enough to come back under both; else it is closed.  Measured after the
 * flush, not when queued, so a burst from one loop turn (the breaks resent
 * to a reconnecting process, a revoke of many extents) is judged by what
 * the peer fails to take, and gets the grace to drain.  A queue that
 * would pass CONN_OUTQ_HARD_BYTES is closed at once.
 */
#define CONN_OUTQ_MAX 256
#define CONN_OUTQ_BYTES (1u << 20)
#define CONN_OUTQ_GRACE_S 2.0
#define CONN_OUTQ_HARD_BYTES (16u << 20)
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
	size_t outq_bytes;   /* packed bytes of the queued messages */
	bool outq_over;	     /* past a bound after the last flush */
	ev_timer outq_timer; /* the grace to come back under it */
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
