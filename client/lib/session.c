// SPDX-License-Identifier: Apache-2.0
/*
 * session.c -- one connection to daxallocd: Hello and request/response
 *
 * Many threads share one connection.  A call registers a waiter for its
 * request id, sends its request (one datagram: the kernel never interleaves
 * two sends on a SOCK_SEQPACKET socket) and then waits, leader/follower
 * style: if nobody is reading the socket, the caller becomes the leader,
 * drops the lock, polls and receives one message, takes the lock again and
 * delivers the message: a reply goes, with the descriptors that came with
 * it, to the waiter with its id (whose condition variable is signalled); a
 * reply nobody waits for (its caller timed out) is dropped and its
 * descriptors closed; an event (id 0) is queued for session_next_event().
 * The leader goes on reading until its own reply has arrived or its time
 * is up; a waiter that leaves while nobody reads wakes another waiter to
 * take over.  Followers sleep on their own condition variable, so a reply
 * wakes exactly the thread it is for.
 *
 * When the connection breaks (the daemon closed it, or sent something we
 * cannot parse) the session is marked broken: every waiter is woken and
 * fails with the reason, and every later call fails at once.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "procid.h"
#include "session.h"
#include "wire.h"

/* One call in flight: what the leader fills in for the caller. */
struct session_waiter {
	uint64_t id;
	struct session_waiter *next;
	pthread_cond_t cond; /* on CLOCK_MONOTONIC */
	bool done;
	Daxalloc__Envelope *env;
	int fds[WIRE_FDS_MAX];
	unsigned int nfds;
};

/* How many messages session_next_event() reads at most in one go. */
#define SESSION_PUMP_MAX 64

static pthread_once_t session_once = PTHREAD_ONCE_INIT;
static pthread_condattr_t session_condattr;

/* session_init_condattr -- waiters time out on the monotonic clock */
static void session_init_condattr(void)
{
	pthread_condattr_init(&session_condattr);
	pthread_condattr_setclock(&session_condattr, CLOCK_MONOTONIC);
}

/* session_fail -- record why a call failed and return err */
static int __attribute__((format(printf, 3, 4)))
session_fail(struct session_err *e, int err, const char *fmt, ...)
{
	va_list ap;

	if (e) {
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return err;
}

/* session_deadline -- the monotonic time ms milliseconds from now */
static void session_deadline(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* session_left_ms -- milliseconds until deadline, rounded up; 0 if past */
static int session_left_ms(const struct timespec *deadline)
{
	struct timespec now;
	long long ns;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (deadline->tv_sec - now.tv_sec) * 1000000000LL +
	     (deadline->tv_nsec - now.tv_nsec);
	if (ns <= 0)
		return 0;
	return (int)((ns + 999999) / 1000000);
}

/* session_wait -- wait until the socket is readable or the time is up */
static int session_wait(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int r;

	do {
		r = poll(&pfd, 1, timeout_ms);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	/* POLLHUP and POLLERR too: the receive tells what happened. */
	return r == 0 ? -ETIMEDOUT : 0;
}

/*
 * session_break -- the connection is unusable: fail every call, now and later
 *
 * Called with the lock held.  The first reason sticks.  Shutting the socket
 * down tells the daemon at once, and makes a poll in progress return.
 */
static void __attribute__((format(printf, 3, 4)))
session_break(struct session *s, int err, const char *fmt, ...)
{
	struct session_waiter *w;
	va_list ap;

	if (s->broken)
		return;
	s->broken = err;
	va_start(ap, fmt);
	vsnprintf(s->broken_msg, sizeof(s->broken_msg), fmt, ap);
	va_end(ap);
	shutdown(s->fd, SHUT_RDWR);
	for (w = s->waiters; w; w = w->next)
		pthread_cond_signal(&w->cond);
}

/* session_queue_event -- keep an event for session_next_event(); lock held */
static void session_queue_event(struct session *s, Daxalloc__Envelope *env)
{
	if (s->ev_count == SESSION_EVENTS_MAX) {
		/* Newest dropped; the consumer learns of it (-ENOBUFS). */
		s->ev_overflow = true;
		envelope_free(env);
		return;
	}
	s->events[(s->ev_head + s->ev_count) % SESSION_EVENTS_MAX] = env;
	s->ev_count++;
}

/*
 * session_deliver -- hand one received message to whoever it is for
 *
 * Called with the lock held.  Takes ownership of env and fds.
 */
static void session_deliver(struct session *s, Daxalloc__Envelope *env,
			    int *fds, unsigned int nfds)
{
	struct session_waiter *w;

	if (env->id == 0) {
		/* Events carry no descriptors; nothing else has id 0. */
		wire_close_fds(fds, nfds);
		if (envelope_kind(env->body_case) == ENVELOPE_EVENT) {
			session_queue_event(s, env);
		} else if (env->status < 0 &&
			   env->body_case == DAXALLOC__ENVELOPE__BODY__NOT_SET) {
			/* The daemon's last word before it closes: say why. */
			session_break(s, env->status, "daxallocd: %s",
				      env->message[0] ? env->message :
							strerror(-env->status));
			envelope_free(env);
		} else {
			s->dropped++;
			envelope_free(env);
		}
		return;
	}
	for (w = s->waiters; w; w = w->next)
		if (w->id == env->id && !w->done)
			break;
	if (!w) {
		/* Its caller gave up (timed out), or the daemon is confused. */
		s->dropped++;
		wire_close_fds(fds, nfds);
		envelope_free(env);
		return;
	}
	w->env = env;
	memcpy(w->fds, fds, nfds * sizeof(int));
	w->nfds = nfds;
	w->done = true;
	pthread_cond_signal(&w->cond);
}

/*
 * session_last_word -- after the daemon closed: read what it left queued
 *
 * A refused connection gets one error datagram before the close; it is
 * still readable after a send failed, and says why.  Lock held; never
 * blocks.
 */
static void session_last_word(struct session *s)
{
	Daxalloc__Envelope *env;
	int fds[WIRE_FDS_MAX];
	unsigned int nfds;

	while (!s->broken) {
		struct pollfd pfd = { .fd = s->fd, .events = POLLIN };

		if (poll(&pfd, 1, 0) <= 0 || envelope_recv(s->fd, &env, fds, &nfds) < 0)
			return;
		session_deliver(s, env, fds, nfds);
	}
}

/*
 * session_lead -- read and deliver one message, as the leader
 *
 * Called with the lock held and nobody reading; drops the lock while it
 * polls (until deadline) and receives.  Returns 0 after delivering a
 * message, -ETIMEDOUT when nothing came, -ENOMEM (the message stays
 * queued in the socket), or the error the session is now broken with.
 */
static int session_lead(struct session *s, const struct timespec *deadline)
{
	int fds[WIRE_FDS_MAX];
	Daxalloc__Envelope *env = NULL;
	unsigned int n = 0;
	int r;

	s->reading = true;
	pthread_mutex_unlock(&s->lock);
	r = session_wait(s->fd, session_left_ms(deadline));
	if (r == 0)
		r = envelope_recv(s->fd, &env, fds, &n);
	pthread_mutex_lock(&s->lock);
	s->reading = false;

	switch (r) {
	case 0:
		session_deliver(s, env, fds, n);
		return 0;
	case -ETIMEDOUT:
	case -ENOMEM:
		return r;
	case -EAGAIN:
		return -ETIMEDOUT;
	case -ECONNRESET:
	case -EPIPE:
		/* A reset is reported before what is still queued: read on. */
		session_last_word(s);
		session_break(s, -EPIPE, "daxallocd closed the connection");
		return s->broken;
	case -EMSGSIZE:
	case -ETOOMANYREFS:
	case -EBADMSG:
		session_break(s, r, "daxallocd sent a malformed message (%s)",
			      strerror(-r));
		return r;
	default:
		session_break(s, r, "cannot read from daxallocd: %s",
			      strerror(-r));
		return r;
	}
}

/*
 * session_handoff -- if nobody reads, wake a waiter to take over; lock held
 *
 * A waiter that is not done is either asleep (and will lead when woken) or
 * about to look at s->reading itself; waking one is enough.
 */
static void session_handoff(struct session *s)
{
	struct session_waiter *w;

	if (s->reading)
		return;
	for (w = s->waiters; w; w = w->next) {
		if (!w->done) {
			pthread_cond_signal(&w->cond);
			return;
		}
	}
}

/* session_unregister -- take w off the list of calls in flight; lock held */
static void session_unregister(struct session *s, struct session_waiter *w)
{
	struct session_waiter **pp;

	for (pp = &s->waiters; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	}
	session_handoff(s);
}

/*
 * session_await -- wait, leading or following, until w has its reply
 *
 * Called with the lock held.  Returns 0 when w->env is set, -ETIMEDOUT,
 * -ENOMEM, or the error the session broke with.
 */
static int session_await(struct session *s, struct session_waiter *w,
			 const struct timespec *deadline)
{
	int r;

	for (;;) {
		if (w->done)
			return 0;
		if (s->broken)
			return s->broken;
		if (!s->reading) {
			r = session_lead(s, deadline);
			if (w->done)
				return 0;
			if (r == -ETIMEDOUT || r == -ENOMEM)
				return r;
			continue;
		}
		r = pthread_cond_timedwait(&w->cond, &s->lock, deadline);
		if (r == ETIMEDOUT && !w->done && !s->broken)
			return -ETIMEDOUT;
	}
}

/*
 * session_call -- send req and wait for the response with the same id
 *
 * Safe to call from many threads at once on one session.  The library
 * picks the id and version.  A response with more than max_fds descriptors
 * is refused (its descriptors closed).  A negative status in the response
 * is returned as is, with the daemon's message in err.  The response and
 * its descriptors are handed to the caller only on success; on every
 * failure the descriptors that came are closed.  -ETIMEDOUT after
 * s->timeout_ms (the request may still take effect: its late reply is
 * dropped); -EPIPE, or the reason it broke, once the connection is gone.
 */
int session_call(struct session *s, Daxalloc__Envelope *req,
		 Daxalloc__Envelope **resp, int *fds, unsigned int max_fds,
		 unsigned int *nfds, struct session_err *err)
{
	const char *name = envelope_type_name(req->body_case);
	struct session_waiter w = { .env = NULL };
	struct timespec deadline;
	Daxalloc__Envelope *env;
	int r;

	*resp = NULL;
	if (nfds)
		*nfds = 0;
	pthread_once(&session_once, session_init_condattr);
	session_deadline(&deadline, s->timeout_ms);
	pthread_cond_init(&w.cond, &session_condattr);

	pthread_mutex_lock(&s->lock);
	if (s->broken) {
		r = session_fail(
			err, s->broken,
			"cannot send %s: the connection to daxallocd is broken (%s)",
			name, s->broken_msg);
		goto out_unlock;
	}
	req->id = ++s->next_id;
	req->version = s->version;
	w.id = req->id;
	w.next = s->waiters;
	s->waiters = &w;
	pthread_mutex_unlock(&s->lock);

	/* Registered first: a fast reply finds its waiter. */
	r = envelope_send(s->fd, req, NULL, 0);

	pthread_mutex_lock(&s->lock);
	if (r == -EAGAIN || r == -EWOULDBLOCK) {
		/* SO_SNDTIMEO expired: the daemon reads nothing. */
		r = session_fail(
			err, -ETIMEDOUT,
			"cannot send %s: daxallocd does not read its socket",
			name);
	} else if (r == -EPIPE || r == -ECONNRESET || r == -ENOTCONN) {
		session_last_word(s);
		session_break(s, -EPIPE, "daxallocd closed the connection");
		r = session_fail(err, s->broken, "cannot send %s: %s", name,
				 s->broken_msg);
	} else if (r < 0) {
		r = session_fail(err, r, "cannot send %s: %s", name,
				 strerror(-r));
	} else {
		r = session_await(s, &w, &deadline);
		if (r == -ETIMEDOUT)
			session_fail(
				err, r,
				"no reply to %s from daxallocd within %d ms",
				name, s->timeout_ms);
		else if (r == -ENOMEM)
			session_fail(err, r, "out of memory");
		else if (r < 0)
			session_fail(err, r, "no reply to %s: %s", name,
				     s->broken_msg);
	}
	session_unregister(s, &w);
out_unlock:
	pthread_mutex_unlock(&s->lock);
	pthread_cond_destroy(&w.cond);
	if (r < 0) {
		/* Only a confused daemon answers a request that was not sent. */
		if (w.env) {
			wire_close_fds(w.fds, w.nfds);
			envelope_free(w.env);
		}
		return r;
	}

	env = w.env;
	if (env->status < 0) {
		r = session_fail(err, env->status, "%s",
				 env->message[0] ? env->message :
						   strerror(-env->status));
		goto out_free;
	}
	if (w.nfds > max_fds) {
		r = session_fail(
			err, -EBADMSG,
			"daxallocd attached %u descriptors to %s, expected at most %u",
			w.nfds, envelope_type_name(env->body_case), max_fds);
		goto out_free;
	}
	if (env->body_case != DAXALLOC__ENVELOPE__BODY__NOT_SET &&
	    envelope_kind(env->body_case) != ENVELOPE_REPLY) {
		r = session_fail(err, -EBADMSG, "daxallocd answered %s with %s",
				 name, envelope_type_name(env->body_case));
		goto out_free;
	}
	if (w.nfds)
		memcpy(fds, w.fds, w.nfds * sizeof(int));
	if (nfds)
		*nfds = w.nfds;
	*resp = env;
	return 0;

out_free:
	wire_close_fds(w.fds, w.nfds);
	envelope_free(env);
	return r;
}

/*
 * session_next_event -- the oldest event the daemon pushed, if any
 *
 * Reads what the socket holds without waiting when no call is reading it.
 * Returns 1 with *ev (the caller frees it with envelope_free()), 0 when
 * there is none, -ENOBUFS once after events were dropped because nobody
 * fetched them (the queue holds SESSION_EVENTS_MAX), or, with the queue
 * empty, the error the session broke with.
 */
int session_next_event(struct session *s, Daxalloc__Envelope **ev,
		       struct session_err *err)
{
	struct timespec now;
	int i, r;

	*ev = NULL;
	pthread_mutex_lock(&s->lock);
	if (!s->ev_count && !s->broken && !s->reading) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		for (i = 0; i < SESSION_PUMP_MAX && !s->ev_count; i++) {
			if (s->broken || s->reading)
				break;
			if (session_lead(s, &now) < 0)
				break;
		}
		/* Calls may have waited while we read. */
		session_handoff(s);
	}
	if (s->ev_count) {
		*ev = s->events[s->ev_head];
		s->events[s->ev_head] = NULL;
		s->ev_head = (s->ev_head + 1) % SESSION_EVENTS_MAX;
		s->ev_count--;
		r = 1;
	} else if (s->ev_overflow) {
		s->ev_overflow = false;
		r = session_fail(
			err, -ENOBUFS,
			"events from daxallocd were dropped: more than %d waited",
			SESSION_EVENTS_MAX);
	} else if (s->broken) {
		r = session_fail(err, s->broken, "%s", s->broken_msg);
	} else {
		r = 0;
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* session_connect -- a blocking, close-on-exec connection to path */
static int session_connect(const char *path, struct session_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = {
		.tv_sec = SESSION_TIMEOUT_MS / 1000,
		.tv_usec = (SESSION_TIMEOUT_MS % 1000) * 1000,
	};
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return session_fail(err, -ENAMETOOLONG,
				    "socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return session_fail(err, -errno, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		return session_fail(err, r, "cannot connect to %s: %s", path,
				    strerror(-r));
	}
	/* A daemon that stops reading must not block a sender for ever. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/* session_hello -- negotiate the protocol and record what the daemon says */
static int session_hello(struct session *s, const char *client_name,
			 struct session_err *err)
{
	Daxalloc__Envelope req = DAXALLOC__ENVELOPE__INIT, *resp;
	Daxalloc__Hello hello = DAXALLOC__HELLO__INIT;
	const Daxalloc__HelloReply *hr;
	struct procid id;
	int r;

	hello.version_min = PROTO_VERSION_MIN;
	hello.version_max = PROTO_VERSION_MAX;
	hello.client_name = (char *)(client_name ? client_name : "");
	/* Identity is a claim the daemon checks; without /proc, send none. */
	if (procid_get(getpid(), &id) == 0) {
		hello.pid = (uint32_t)id.pid;
		hello.start_time = id.start_time;
		hello.boot_id = id.boot_id;
	}
	req.body_case = DAXALLOC__ENVELOPE__BODY_HELLO;
	req.hello = &hello;

	/* Before negotiation, the envelope carries our highest version. */
	s->version = PROTO_VERSION_MAX;
	r = session_call(s, &req, &resp, NULL, 0, NULL, err);
	if (r < 0)
		return r;
	if (resp->body_case != DAXALLOC__ENVELOPE__BODY_HELLO_REPLY) {
		r = session_fail(err, -EBADMSG,
				 "daxallocd answered Hello with %s",
				 envelope_type_name(resp->body_case));
		envelope_free(resp);
		return r;
	}
	hr = resp->hello_reply;
	if (hr->version < PROTO_VERSION_MIN ||
	    hr->version > PROTO_VERSION_MAX) {
		r = session_fail(err, -EPROTONOSUPPORT,
				 "daxallocd chose protocol %u, we speak %u..%u",
				 hr->version, PROTO_VERSION_MIN,
				 PROTO_VERSION_MAX);
		envelope_free(resp);
		return r;
	}
	s->version = hr->version;
	s->session_id = hr->session_id;
	s->capabilities = hr->capabilities;
	s->unit = hr->unit;
	s->server_version = strdup(hr->server_version);
	envelope_free(resp);
	if (!s->server_version)
		return session_fail(err, -ENOMEM, "out of memory");
	return 0;
}

/* session_open -- connect to path and complete Hello */
int session_open(const char *path, const char *client_name,
		 struct session **out, struct session_err *err)
{
	struct session *s;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return session_fail(err, -ENOMEM, "out of memory");
	pthread_mutex_init(&s->lock, NULL);
	s->timeout_ms = SESSION_TIMEOUT_MS;
	s->fd = session_connect(path, err);
	if (s->fd < 0) {
		r = s->fd;
		goto err_free;
	}
	r = session_hello(s, client_name, err);
	if (r < 0)
		goto err_close;
	*out = s;
	return 0;

err_close:
	close(s->fd);
	/* A Hello that broke the session may have queued events. */
	while (s->ev_count) {
		envelope_free(s->events[s->ev_head]);
		s->ev_head = (s->ev_head + 1) % SESSION_EVENTS_MAX;
		s->ev_count--;
	}
err_free:
	pthread_mutex_destroy(&s->lock);
	free(s->server_version);
	free(s);
	return r;
}

/*
 * session_close -- close the connection and free s
 *
 * No call may be in flight on s, in any thread.
 */
void session_close(struct session *s)
{
	if (!s)
		return;
	close(s->fd);
	while (s->ev_count) {
		envelope_free(s->events[s->ev_head]);
		s->ev_head = (s->ev_head + 1) % SESSION_EVENTS_MAX;
		s->ev_count--;
	}
	pthread_mutex_destroy(&s->lock);
	free(s->server_version);
	free(s);
}
