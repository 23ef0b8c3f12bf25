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
 * session_pop_event().  See session.c for the details.
 *
 * A session opened with reconnect (libdaxalloc's) outlives its socket:
 * when the daemon goes away, the calls in flight fail with -ECONNRESET and
 * the next call connects again and says Hello; the daemon resumes the
 * process's leases and pins, which belong to the process, not the socket.
 */
#ifndef DAXALLOC_SESSION_H
#define DAXALLOC_SESSION_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "envelope.h"

/* How long a call waits for its reply before giving up. */
#define SESSION_TIMEOUT_MS 30000

/* Events kept for session_pop_event() by default; more are dropped. */
#define SESSION_EVENTS_MAX 64

/* How long a call keeps trying to reconnect while the daemon restarts. */
#define SESSION_RECONNECT_MS 5000
/* After that failed, calls fail at once for this long. */
#define SESSION_RECONNECT_HOLDOFF_MS 1000
/* Longest pause between two attempts. */
#define SESSION_RECONNECT_STEP_MAX_MS 1000

struct session_waiter;
struct session_str;

/*
 * One socket.  Replaced, never reused, when it breaks: a call that sent on
 * it holds a reference, so the descriptor number cannot be recycled under
 * a thread that still uses it.
 */
struct session_conn {
	int fd;
	unsigned int refs; /* the session's while current, + users; lock */
	int broken; /* 0, or what calls on it failed with; lock */
	char why[200]; /* why it broke */
};

/* What session_open_opts() can ask for beyond session_open(). */
struct session_opts {
	uint64_t capabilities; /* Capability bits for Hello */
	bool reconnect; /* connect again when the connection breaks */
	unsigned int events_max; /* events kept; 0: SESSION_EVENTS_MAX */
};

struct session {
	int timeout_ms; /* per call; SESSION_TIMEOUT_MS, tests may lower it */

	/* Learnt from Hello; change only when a reconnect says Hello again. */
	uint32_t version;
	uint64_t session_id;
	uint64_t capabilities;
	uint64_t unit;
	char *server_version;

	pthread_mutex_t lock; /* protects everything below */
	struct session_conn *conn; /* the current socket */
	uint64_t next_id;
	bool reading; /* a leader is reading the socket */
	struct session_waiter *waiters; /* calls in flight */
	Daxalloc__Envelope **events; /* a ring of ev_cap */
	unsigned int ev_cap;
	unsigned int ev_max;
	unsigned int ev_head;
	unsigned int ev_count;
	bool ev_overflow; /* events were dropped since the last report */
	uint64_t dropped; /* replies nobody waited for */
	uint64_t connects; /* sockets that completed Hello */

	/* Reconnecting (only with session_opts.reconnect). */
	bool reconnect;
	char *path;
	char *client_name;
	uint64_t want_caps;
	bool reconnecting; /* a thread is connecting; others wait */
	pthread_cond_t reconnected; /* signalled when it is done */
	struct timespec retry_after; /* calls fail at once until then */
	struct timespec next_attempt; /* the event loop's next attempt */
	int retry_ms; /* the pause before it */
	char reconnect_msg[200]; /* why the last attempt failed */
	struct session_str *retired; /* old server_version strings */

	/* The pollable descriptor of session_event_fd(), once asked for. */
	int epoll_fd;
	int notify_fd; /* eventfd: an event was queued, or the socket broke */
	int timer_fd; /* timerfd: time for the next reconnect attempt */
};

/* Where a failing call leaves its explanation. */
struct session_err {
	char msg[256];
};

int session_open(const char *path, const char *client_name,
		 struct session **out, struct session_err *err);
int session_open_opts(const char *path, const char *client_name,
		      const struct session_opts *opts, struct session **out,
		      struct session_err *err);
int session_call(struct session *s, Daxalloc__Envelope *req,
		 Daxalloc__Envelope **resp, int *fds, unsigned int max_fds,
		 unsigned int *nfds, struct session_err *err);
int session_next_event(struct session *s, Daxalloc__Envelope **ev,
		       struct session_err *err);
int session_pump(struct session *s, struct session_err *err);
int session_pop_event(struct session *s, Daxalloc__Envelope **ev,
		      struct session_err *err);
void session_kick(struct session *s);
int session_event_fd(struct session *s, struct session_err *err);
void session_close(struct session *s);

#endif /* DAXALLOC_SESSION_H */
