/* SPDX-License-Identifier: Apache-2.0 */
/*
 * session.h -- one connection to daxallocd: Hello and request/response
 *
 * Shared by libdaxalloc and daxallocctl (which speaks to the control
 * socket); not part of the public API.
 *
 * A session is shared by any number of threads.  Each call registers its
 * request id, sends its datagram (SOCK_SEQPACKET sends are atomic) and
 * waits; at most one thread at a time reads the socket (the "leader") and
 * hands every reply, with the descriptors that came with it, to the thread
 * that waits for its id.  Events pushed by the daemon (id 0) are queued for
 * session_next_event().  See session.c for the details.
 */
#ifndef DAXALLOC_SESSION_H
#define DAXALLOC_SESSION_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"

/* How long a call waits for its reply before giving up. */
#define SESSION_TIMEOUT_MS 30000

/* Events kept for session_next_event(); more are dropped and reported. */
#define SESSION_EVENTS_MAX 64

struct session_waiter;

struct session {
	int fd;
	int timeout_ms; /* per call; SESSION_TIMEOUT_MS, tests may lower it */

	/* Learnt from Hello; constant afterwards. */
	uint32_t version;
	uint64_t session_id;
	uint64_t capabilities;
	uint64_t unit;
	char *server_version;

	pthread_mutex_t lock; /* protects everything below */
	uint64_t next_id;
	bool reading; /* a leader is reading the socket */
	struct session_waiter *waiters; /* calls in flight */
	int broken; /* 0, or what every call now fails with */
	char broken_msg[200];
	Daxalloc__Envelope *events[SESSION_EVENTS_MAX]; /* a ring */
	unsigned int ev_head;
	unsigned int ev_count;
	bool ev_overflow; /* events were dropped since the last report */
	uint64_t dropped; /* replies nobody waited for */
};

/* Where a failing call leaves its explanation. */
struct session_err {
	char msg[256];
};

int session_open(const char *path, const char *client_name,
		 struct session **out, struct session_err *err);
int session_call(struct session *s, Daxalloc__Envelope *req,
		 Daxalloc__Envelope **resp, int *fds, unsigned int max_fds,
		 unsigned int *nfds, struct session_err *err);
int session_next_event(struct session *s, Daxalloc__Envelope **ev,
		       struct session_err *err);
void session_close(struct session *s);

#endif /* DAXALLOC_SESSION_H */
