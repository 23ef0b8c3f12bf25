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
 * descriptors closed; an event (id 0) is queued for session_pop_event().
 * The leader goes on reading until its own reply has arrived or its time
 * is up; a waiter that leaves while nobody reads wakes another waiter to
 * take over.  Followers sleep on their own condition variable, so a reply
 * wakes exactly the thread it is for.
 *
 * When the connection breaks (the daemon closed it, or sent something we
 * cannot parse) the socket is marked broken: every waiter on it is woken
 * and fails with the reason.  Without reconnect (daxallocctl), every later
 * call fails at once.  With reconnect (libdaxalloc), the calls that were
 * waiting fail with -ECONNRESET (their request may or may not have been
 * applied), and the next call connects again, says Hello and goes on on
 * the new socket; a request whose send failed never reached the daemon and
 * is sent again on the new socket.  One thread reconnects at a time, the
 * others wait for its result; after a failed attempt of
 * SESSION_RECONNECT_MS, calls fail at once for SESSION_RECONNECT_HOLDOFF_MS
 * so that a daemon that is gone for good does not cost every call seconds.
 *
 * A socket is a refcounted struct session_conn: a thread that sends or
 * reads outside the lock holds a reference, so that a reconnect never
 * closes a descriptor number another thread is still using (it could be
 * reused by an unrelated open()).
 *
 * The event descriptor (session_event_fd()) is an epoll set holding the
 * current socket, an eventfd signalled when an event is queued (whoever
 * read it) or the socket broke, and a timerfd armed for the next reconnect
 * attempt of the event loop (session_pump() tries once per call, never
 * for seconds).
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/timerfd.h>
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
	struct session_conn *conn; /* the socket it was sent on (a reference) */
	pthread_cond_t cond; /* on CLOCK_MONOTONIC */
	bool done;
	Daxalloc__Envelope *env;
	int fds[WIRE_FDS_MAX];
	unsigned int nfds;
};

/* A server_version replaced by a reconnect: callers may still hold it. */
struct session_str {
	struct session_str *next;
	char *s;
};

/* What a Hello reply said. */
struct session_hello {
	uint32_t version;
	uint64_t session_id;
	uint64_t capabilities;
	uint64_t unit;
	char *server_version;
};

/* How many messages session_pump() reads at most in one go. */
#define SESSION_PUMP_MAX 64

/* First pause between reconnect attempts, doubled up to the step max. */
#define SESSION_RETRY_FIRST_MS 10
#define SESSION_RETRY_CALL_MAX_MS 250

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

/* session_sleep_ms -- pause, whatever signals come */
static void session_sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* session_signal -- make the event descriptor readable; lock held */
static void session_signal(struct session *s)
{
	if (s->notify_fd >= 0)
		eventfd_write(s->notify_fd, 1);
}

/* session_conn_put -- drop a reference; the last one closes the socket */
static void session_conn_put(struct session_conn *c)
{
	if (--c->refs)
		return;
	close(c->fd);
	free(c);
}

/*
 * session_break -- socket c is unusable: fail every call on it
 *
 * Called with the lock held.  The first reason sticks.  Shutting the socket
 * down tells the daemon at once, and makes a poll in progress return.  The
 * event loop hears of it through the eventfd (its dispatch reconnects),
 * and the dead socket leaves the epoll set, where it would stay readable.
 */
static void __attribute__((format(printf, 4, 5)))
session_break(struct session *s, struct session_conn *c, int err,
	      const char *fmt, ...)
{
	struct session_waiter *w;
	va_list ap;

	if (c->broken)
		return;
	c->broken = err;
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	shutdown(c->fd, SHUT_RDWR);
	for (w = s->waiters; w; w = w->next)
		if (w->conn == c)
			pthread_cond_signal(&w->cond);
	if (c == s->conn && s->epoll_fd >= 0) {
		epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
		session_signal(s);
	}
}

/* session_ring_grow -- room for one more event, if the bound allows */
static bool session_ring_grow(struct session *s)
{
	Daxalloc__Envelope **ring;
	unsigned int cap, i;

	if (s->ev_count < s->ev_cap)
		return true;
	if (s->ev_cap >= s->ev_max)
		return false;
	cap = s->ev_cap ? s->ev_cap * 2 : 16;
	if (cap > s->ev_max)
		cap = s->ev_max;
	ring = malloc(cap * sizeof(*ring));
	if (!ring)
		return false;
	/* Unrolled, oldest first. */
	for (i = 0; i < s->ev_count; i++)
		ring[i] = s->events[(s->ev_head + i) % s->ev_cap];
	free(s->events);
	s->events = ring;
	s->ev_cap = cap;
	s->ev_head = 0;
	return true;
}

/* session_queue_event -- keep an event for session_pop_event(); lock held */
static void session_queue_event(struct session *s, Daxalloc__Envelope *env)
{
	if (!session_ring_grow(s)) {
		/* Newest dropped; the consumer learns of it (-ENOBUFS). */
		s->ev_overflow = true;
		envelope_free(env);
		session_signal(s);
		return;
	}
	s->events[(s->ev_head + s->ev_count) % s->ev_cap] = env;
	s->ev_count++;
	session_signal(s);
}

/* session_free_events -- drop every queued event; lock held or no users */
static void session_free_events(struct session *s)
{
	while (s->ev_count) {
		envelope_free(s->events[s->ev_head]);
		s->ev_head = (s->ev_head + 1) % s->ev_cap;
		s->ev_count--;
	}
	free(s->events);
	s->events = NULL;
	s->ev_cap = 0;
	s->ev_head = 0;
}

/*
 * session_deliver -- hand one message received on c to whoever it is for
 *
 * Called with the lock held.  Takes ownership of env and fds.
 */
static void session_deliver(struct session *s, struct session_conn *c,
			    Daxalloc__Envelope *env, int *fds,
			    unsigned int nfds)
{
	struct session_waiter *w;

	if (env->id == 0) {
		/* Events carry no descriptors; nothing else has id 0. */
		wire_close_fds(fds, nfds);
		if (envelope_kind(env->body_case) == ENVELOPE_EVENT) {
			session_queue_event(s, env);
		} else if (env->status < 0 &&
			   env->body_case ==
				   DAXALLOC__ENVELOPE__BODY__NOT_SET) {
			/* The daemon's last word before it closes: say why. */
			session_break(s, c, env->status, "daxallocd: %s",
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
 * session_last_word -- after the daemon closed c: read what it left queued
 *
 * A refused connection gets one error datagram before the close; it is
 * still readable after a send failed, and says why.  Lock held; never
 * blocks.
 */
static void session_last_word(struct session *s, struct session_conn *c)
{
	Daxalloc__Envelope *env;
	int fds[WIRE_FDS_MAX];
	unsigned int nfds;

	while (!c->broken) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

		if (poll(&pfd, 1, 0) <= 0 ||
		    envelope_recv(c->fd, &env, fds, &nfds) < 0)
			return;
		session_deliver(s, c, env, fds, nfds);
	}
}

/*
 * session_lead -- read and deliver one message, as the leader
 *
 * Called with the lock held, nobody reading and the current socket not
 * broken; drops the lock while it polls (until deadline) and receives.
 * Returns 0 after delivering a message, -ETIMEDOUT when nothing came,
 * -ENOMEM (the message stays queued in the socket), or the error the
 * socket is now broken with.
 */
static int session_lead(struct session *s, const struct timespec *deadline)
{
	struct session_conn *c = s->conn;
	int fds[WIRE_FDS_MAX];
	Daxalloc__Envelope *env = NULL;
	unsigned int n = 0;
	int r;

	c->refs++;
	s->reading = true;
	pthread_mutex_unlock(&s->lock);
	r = session_wait(c->fd, session_left_ms(deadline));
	if (r == 0)
		r = envelope_recv(c->fd, &env, fds, &n);
	pthread_mutex_lock(&s->lock);
	s->reading = false;

	switch (r) {
	case 0:
		session_deliver(s, c, env, fds, n);
		break;
	case -ETIMEDOUT:
	case -ENOMEM:
		break;
	case -EAGAIN:
		r = -ETIMEDOUT;
		break;
	case -ECONNRESET:
	case -EPIPE:
		/* A reset is reported before what is still queued: read on. */
		session_last_word(s, c);
		session_break(s, c, -EPIPE, "daxallocd closed the connection");
		r = c->broken;
		break;
	case -EMSGSIZE:
	case -ETOOMANYREFS:
	case -EBADMSG:
		session_break(s, c, r,
			      "daxallocd sent a malformed message (%s)",
			      strerror(-r));
		break;
	default:
		session_break(s, c, r, "cannot read from daxallocd: %s",
			      strerror(-r));
		break;
	}
	session_conn_put(c);
	return r;
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
	session_conn_put(w->conn);
	w->conn = NULL;
	session_handoff(s);
}

/*
 * session_await -- wait, leading or following, until w has its reply
 *
 * Called with the lock held.  Returns 0 when w->env is set, -ETIMEDOUT,
 * -ENOMEM, or the error w's socket broke with.
 */
static int session_await(struct session *s, struct session_waiter *w,
			 const struct timespec *deadline)
{
	int r;

	for (;;) {
		if (w->done)
			return 0;
		if (w->conn->broken)
			return w->conn->broken;
		/* w's socket is not broken, so it is the current one. */
		if (!s->reading) {
			r = session_lead(s, deadline);
			if (w->done)
				return 0;
			if (r == -ETIMEDOUT || r == -ENOMEM)
				return r;
			continue;
		}
		r = pthread_cond_timedwait(&w->cond, &s->lock, deadline);
		if (r == ETIMEDOUT && !w->done && !w->conn->broken)
			return -ETIMEDOUT;
	}
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

/*
 * session_hello_reply -- check a Hello reply and keep what it says
 *
 * Takes env.  *answered tells the caller that the daemon itself refused,
 * which trying again would not change.
 */
static int session_hello_reply(Daxalloc__Envelope *env,
			       struct session_hello *out, bool *answered,
			       struct session_err *err)
{
	const Daxalloc__HelloReply *hr;
	int r;

	*answered = true;
	if (env->status < 0) {
		r = session_fail(err, env->status, "%s",
				 env->message[0] ? env->message :
						   strerror(-env->status));
		goto out_free;
	}
	if (env->body_case != DAXALLOC__ENVELOPE__BODY_HELLO_REPLY) {
		r = session_fail(err, -EBADMSG,
				 "daxallocd answered Hello with %s",
				 envelope_type_name(env->body_case));
		goto out_free;
	}
	hr = env->hello_reply;
	if (hr->version < PROTO_VERSION_MIN ||
	    hr->version > PROTO_VERSION_MAX) {
		r = session_fail(err, -EPROTONOSUPPORT,
				 "daxallocd chose protocol %u, we speak %u..%u",
				 hr->version, PROTO_VERSION_MIN,
				 PROTO_VERSION_MAX);
		goto out_free;
	}
	out->version = hr->version;
	out->session_id = hr->session_id;
	out->capabilities = hr->capabilities;
	out->unit = hr->unit;
	out->server_version = strdup(hr->server_version);
	r = out->server_version ? 0 :
				  session_fail(err, -ENOMEM, "out of memory");
out_free:
	envelope_free(env);
	return r;
}

/*
 * session_hello -- say Hello on a new socket, before anyone else uses it
 *
 * The socket is not installed yet, so this thread reads it alone: events
 * that come first are queued, stray replies dropped, and the daemon's
 * last word (a refused connection) reported.  *answered is set when the
 * daemon itself refused.
 */
static int session_hello(struct session *s, int fd, uint64_t id,
			 struct session_hello *out, bool *answered,
			 struct session_err *err)
{
	Daxalloc__Envelope req = DAXALLOC__ENVELOPE__INIT, *env;
	Daxalloc__Hello hello = DAXALLOC__HELLO__INIT;
	struct timespec deadline;
	int fds[WIRE_FDS_MAX];
	unsigned int nfds;
	struct procid pid;
	bool sent;
	int r;

	*answered = false;
	hello.version_min = PROTO_VERSION_MIN;
	hello.version_max = PROTO_VERSION_MAX;
	hello.capabilities = s->want_caps;
	hello.client_name = s->client_name ? s->client_name : (char *)"";
	/* Identity is a claim the daemon checks; without /proc, send none. */
	if (procid_get(getpid(), &pid) == 0) {
		hello.pid = (uint32_t)pid.pid;
		hello.start_time = pid.start_time;
		hello.boot_id = pid.boot_id;
	}
	/* Before negotiation, the envelope carries our highest version. */
	req.version = PROTO_VERSION_MAX;
	req.id = id;
	req.body_case = DAXALLOC__ENVELOPE__BODY_HELLO;
	req.hello = &hello;

	session_deadline(&deadline, s->timeout_ms);
	r = envelope_send(fd, &req, NULL, 0);
	sent = r == 0;
	if (r == -EAGAIN || r == -EWOULDBLOCK)
		return session_fail(
			err, -ETIMEDOUT,
			"cannot send Hello: daxallocd does not read its socket");
	/* A refused socket is closed: its last word is still readable. */
	if (r < 0 && r != -EPIPE && r != -ECONNRESET && r != -ENOTCONN)
		return session_fail(err, r, "cannot send Hello: %s",
				    strerror(-r));

	for (;;) {
		r = session_wait(fd, sent ? session_left_ms(&deadline) : 0);
		if (r == -ETIMEDOUT && !sent)
			r = -ECONNRESET;
		else if (r == -ETIMEDOUT)
			return session_fail(
				err, r,
				"no reply to Hello from daxallocd within %d ms",
				s->timeout_ms);
		if (r == 0)
			r = envelope_recv(fd, &env, fds, &nfds);
		if (r == -ECONNRESET || r == -EPIPE)
			return session_fail(err, -EPIPE, "%s Hello: %s",
					    sent ? "no reply to" :
						   "cannot send",
					    "daxallocd closed the connection");
		if (r == -EMSGSIZE || r == -ETOOMANYREFS || r == -EBADMSG)
			return session_fail(
				err, r,
				"daxallocd sent a malformed message (%s)",
				strerror(-r));
		if (r < 0)
			return session_fail(err, r,
					    "cannot read from daxallocd: %s",
					    strerror(-r));
		wire_close_fds(fds, nfds);
		if (env->id == id)
			return session_hello_reply(env, out, answered, err);
		pthread_mutex_lock(&s->lock);
		if (env->id == 0 &&
		    envelope_kind(env->body_case) == ENVELOPE_EVENT) {
			session_queue_event(s, env);
			env = NULL;
		} else if (env->id == 0 && env->status < 0 &&
			   env->body_case ==
				   DAXALLOC__ENVELOPE__BODY__NOT_SET) {
			pthread_mutex_unlock(&s->lock);
			*answered = true;
			r = session_fail(err, env->status, "daxallocd: %s",
					 env->message[0] ?
						 env->message :
						 strerror(-env->status));
			envelope_free(env);
			return r;
		} else {
			s->dropped++;
		}
		pthread_mutex_unlock(&s->lock);
		envelope_free(env);
	}
}

/* session_retire -- keep a replaced server_version until session_close() */
static void session_retire(struct session *s, char *str)
{
	struct session_str *old = malloc(sizeof(*old));

	if (!old) {
		/* Leaking it beats freeing what a caller may be reading. */
		return;
	}
	old->s = str;
	old->next = s->retired;
	s->retired = old;
}

/*
 * session_install -- make fd, which completed Hello, the current socket
 *
 * Lock held.  Takes fd and h->server_version, also on failure.
 */
static int session_install(struct session *s, int fd, struct session_hello *h,
			   struct session_err *err)
{
	struct itimerspec off = { { 0, 0 }, { 0, 0 } };
	struct session_conn *c = calloc(1, sizeof(*c));
	struct epoll_event ev = { .events = EPOLLIN };

	if (!c) {
		close(fd);
		free(h->server_version);
		return session_fail(err, -ENOMEM, "out of memory");
	}
	c->fd = fd;
	c->refs = 1;
	if (s->conn)
		session_conn_put(s->conn);
	s->conn = c;
	s->version = h->version;
	s->session_id = h->session_id;
	s->capabilities = h->capabilities;
	s->unit = h->unit;
	if (!s->server_version) {
		s->server_version = h->server_version;
	} else if (!strcmp(s->server_version, h->server_version)) {
		free(h->server_version);
	} else {
		session_retire(s, s->server_version);
		s->server_version = h->server_version;
	}
	h->server_version = NULL;
	s->connects++;
	memset(&s->retry_after, 0, sizeof(s->retry_after));
	memset(&s->next_attempt, 0, sizeof(s->next_attempt));
	s->retry_ms = 0;
	if (s->epoll_fd >= 0) {
		ev.data.fd = fd;
		epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
		timerfd_settime(s->timer_fd, 0, &off, NULL);
	}
	return 0;
}

/* session_after -- is the monotonic clock past t (or t unset)? */
static bool session_after(const struct timespec *t)
{
	return (!t->tv_sec && !t->tv_nsec) || session_left_ms(t) == 0;
}

/*
 * session_retry_later -- the event loop tries again after a growing pause
 *
 * Lock held.  Arms the timer of the event descriptor, if there is one.
 */
static void session_retry_later(struct session *s)
{
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };

	s->retry_ms = s->retry_ms ? s->retry_ms * 2 : 50;
	if (s->retry_ms > SESSION_RECONNECT_STEP_MAX_MS)
		s->retry_ms = SESSION_RECONNECT_STEP_MAX_MS;
	session_deadline(&s->next_attempt, s->retry_ms);
	if (s->timer_fd >= 0) {
		its.it_value.tv_sec = s->retry_ms / 1000;
		its.it_value.tv_nsec = (long)(s->retry_ms % 1000) * 1000000L;
		timerfd_settime(s->timer_fd, 0, &its, NULL);
	}
}

/*
 * session_reconnect -- connect again and say Hello, for up to window_ms
 *
 * Lock held, and dropped while connecting (other threads see
 * s->reconnecting and wait on s->reconnected).  Retries with a growing
 * pause while the daemon is not there (connection refused, socket
 * missing, closed during Hello), as during a restart; stops at once when
 * the daemon refuses us itself.  window_ms 0: one attempt.
 */
static int session_reconnect(struct session *s, int window_ms,
			     struct session_err *err)
{
	struct session_hello h = { 0 };
	struct timespec deadline;
	struct session_err e = { "" };
	int delay = SESSION_RETRY_FIRST_MS, fd = -1, r;
	bool answered = false;
	uint64_t id;

	s->reconnecting = true;
	id = ++s->next_id;
	pthread_mutex_unlock(&s->lock);
	session_deadline(&deadline, window_ms);
	for (;;) {
		fd = session_connect(s->path, &e);
		r = fd;
		if (fd >= 0) {
			r = session_hello(s, fd, id, &h, &answered, &e);
			if (r == 0)
				break;
			close(fd);
			fd = -1;
		}
		if (answered || session_left_ms(&deadline) <= delay)
			break;
		session_sleep_ms(delay);
		delay *= 2;
		if (delay > SESSION_RETRY_CALL_MAX_MS)
			delay = SESSION_RETRY_CALL_MAX_MS;
	}
	pthread_mutex_lock(&s->lock);
	s->reconnecting = false;
	pthread_cond_broadcast(&s->reconnected);
	if (r == 0)
		r = session_install(s, fd, &h, &e);
	if (r < 0) {
		snprintf(s->reconnect_msg, sizeof(s->reconnect_msg), "%s",
			 e.msg);
		session_retry_later(s);
		return session_fail(err, r, "%s", e.msg);
	}
	return 0;
}

/*
 * session_ready -- a current socket that is not broken, for a call
 *
 * Lock held.  Without reconnect, a broken socket fails the call.  With
 * it, this thread reconnects (or waits for the thread that does); when
 * that failed, it and the calls of the next SESSION_RECONNECT_HOLDOFF_MS
 * fail with -EPIPE.
 */
static int session_ready(struct session *s, const char *name,
			 struct session_err *err)
{
	int r;

	while (s->conn->broken) {
		if (!s->reconnect)
			return session_fail(
				err, s->conn->broken,
				"cannot send %s: the connection to daxallocd is broken (%s)",
				name, s->conn->why);
		if (s->reconnecting) {
			pthread_cond_wait(&s->reconnected, &s->lock);
			continue;
		}
		if (session_after(&s->retry_after)) {
			r = session_reconnect(s, SESSION_RECONNECT_MS, err);
			if (r == 0)
				continue;
			session_deadline(&s->retry_after,
					 SESSION_RECONNECT_HOLDOFF_MS);
		}
		return session_fail(
			err, -EPIPE,
			"cannot send %s: the connection to daxallocd is broken (%s) and connecting again failed: %s",
			name, s->conn->why, s->reconnect_msg);
	}
	return 0;
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
 * dropped).  When the connection breaks: without reconnect, -EPIPE (or
 * the reason it broke), now and for every later call; with reconnect,
 * -ECONNRESET for a request that was sent (it may or may not have been
 * applied), while one whose send failed is sent again after reconnecting
 * (it never reached the daemon), and -EPIPE when reconnecting failed.
 */
int session_call(struct session *s, Daxalloc__Envelope *req,
		 Daxalloc__Envelope **resp, int *fds, unsigned int max_fds,
		 unsigned int *nfds, struct session_err *err)
{
	const char *name = envelope_type_name(req->body_case);
	struct session_waiter w = { .env = NULL };
	struct timespec deadline;
	Daxalloc__Envelope *env;
	bool resent = false;
	int r;

	*resp = NULL;
	if (nfds)
		*nfds = 0;
	pthread_once(&session_once, session_init_condattr);
	pthread_cond_init(&w.cond, &session_condattr);

	pthread_mutex_lock(&s->lock);
again:
	r = session_ready(s, name, err);
	if (r < 0)
		goto out_unlock;
	req->id = ++s->next_id;
	req->version = s->version;
	w.id = req->id;
	w.done = false;
	w.conn = s->conn;
	w.conn->refs++;
	w.next = s->waiters;
	s->waiters = &w;
	pthread_mutex_unlock(&s->lock);

	/* Registered first: a fast reply finds its waiter. */
	r = envelope_send(w.conn->fd, req, NULL, 0);

	pthread_mutex_lock(&s->lock);
	if (r == -EAGAIN || r == -EWOULDBLOCK) {
		/* SO_SNDTIMEO expired: the daemon reads nothing. */
		r = session_fail(
			err, -ETIMEDOUT,
			"cannot send %s: daxallocd does not read its socket",
			name);
	} else if (r == -EPIPE || r == -ECONNRESET || r == -ENOTCONN) {
		session_last_word(s, w.conn);
		session_break(s, w.conn, -EPIPE,
			      "daxallocd closed the connection");
		if (s->reconnect && !resent) {
			/* Never delivered: safe to send on the next socket. */
			resent = true;
			session_unregister(s, &w);
			goto again;
		}
		r = session_fail(err, w.conn->broken, "cannot send %s: %s",
				 name, w.conn->why);
	} else if (r < 0) {
		r = session_fail(err, r, "cannot send %s: %s", name,
				 strerror(-r));
	} else {
		session_deadline(&deadline, s->timeout_ms);
		r = session_await(s, &w, &deadline);
		if (r == -ETIMEDOUT)
			session_fail(
				err, r,
				"no reply to %s from daxallocd within %d ms",
				name, s->timeout_ms);
		else if (r == -ENOMEM)
			session_fail(err, r, "out of memory");
		else if (r < 0 && s->reconnect)
			r = session_fail(
				err, -ECONNRESET,
				"daxallocd went away; the request may or may not have been applied (%s: %s)",
				name, w.conn->why);
		else if (r < 0)
			session_fail(err, r, "no reply to %s: %s", name,
				     w.conn->why);
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

/* session_read_queued -- as leader, read what the socket holds; lock held */
static void session_read_queued(struct session *s)
{
	struct timespec now;
	int i;

	clock_gettime(CLOCK_MONOTONIC, &now);
	for (i = 0; i < SESSION_PUMP_MAX; i++) {
		if (s->conn->broken || s->reading)
			break;
		if (session_lead(s, &now) < 0)
			break;
	}
	/* Calls may have waited while we read. */
	session_handoff(s);
}

/* session_shift -- take the oldest queued event; lock held, one queued */
static Daxalloc__Envelope *session_shift(struct session *s)
{
	Daxalloc__Envelope *ev = s->events[s->ev_head];

	s->events[s->ev_head] = NULL;
	s->ev_head = (s->ev_head + 1) % s->ev_cap;
	s->ev_count--;
	return ev;
}

/*
 * session_next_event -- the oldest event the daemon pushed, if any
 *
 * Reads what the socket holds without waiting when no call is reading it.
 * Returns 1 with *ev (the caller frees it with envelope_free()), 0 when
 * there is none, -ENOBUFS once after events were dropped because nobody
 * fetched them (the queue holds s->ev_max), or, with the queue empty, the
 * error the socket broke with.  Never reconnects (see session_pump()).
 */
int session_next_event(struct session *s, Daxalloc__Envelope **ev,
		       struct session_err *err)
{
	int r;

	*ev = NULL;
	pthread_mutex_lock(&s->lock);
	if (!s->ev_count && !s->conn->broken && !s->reading)
		session_read_queued(s);
	if (s->ev_count) {
		*ev = session_shift(s);
		r = 1;
	} else if (s->ev_overflow) {
		s->ev_overflow = false;
		r = session_fail(
			err, -ENOBUFS,
			"events from daxallocd were dropped: more than %u waited",
			s->ev_max);
	} else if (s->conn->broken) {
		r = session_fail(err, s->conn->broken, "%s", s->conn->why);
	} else {
		r = 0;
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* session_drain -- reset the eventfd and the timerfd; lock held */
static void session_drain(struct session *s)
{
	uint64_t n;

	if (s->notify_fd >= 0)
		eventfd_read(s->notify_fd, &n);
	if (s->timer_fd >= 0 && read(s->timer_fd, &n, sizeof(n)) < 0) {
		/* EAGAIN: it had not fired. */
	}
}

/*
 * session_pump -- without waiting, read what the daemon sent, for events
 *
 * The event loop's side of the session: reads the socket if no call is
 * reading it (delivering replies to their callers, queueing events), and,
 * when the socket is broken and reconnect is on, makes one attempt to
 * connect again when it is time (a failed one arms the timer of the event
 * descriptor for the next); then resets the event descriptor, so the
 * caller pops every queued event next.  Returns 0, or
 * -EPIPE (or the socket's error, without reconnect) when not connected.
 */
int session_pump(struct session *s, struct session_err *err)
{
	int r = 0;

	pthread_mutex_lock(&s->lock);
	if (!s->conn->broken && !s->reading)
		session_read_queued(s);
	if (!s->conn->broken)
		goto out_unlock;
	if (!s->reconnect) {
		r = session_fail(err, s->conn->broken, "%s", s->conn->why);
		goto out_unlock;
	}
	/* Another thread is at it; the eventfd tells us when it is done. */
	if (s->reconnecting)
		goto out_unlock;
	if (!session_after(&s->next_attempt)) {
		r = session_fail(
			err, -EPIPE,
			"not connected to daxallocd (%s); next attempt in %d ms",
			s->reconnect_msg, session_left_ms(&s->next_attempt));
		goto out_unlock;
	}
	r = session_reconnect(s, 0, NULL);
	if (r < 0) {
		r = session_fail(
			err, -EPIPE,
			"the connection to daxallocd is broken (%s) and connecting again failed: %s",
			s->conn->why, s->reconnect_msg);
		goto out_unlock;
	}
	/* What the daemon sends right after Hello (breaks it resends). */
	if (!s->reading)
		session_read_queued(s);
out_unlock:
	/*
	 * Reset last: what was queued so far, the caller pops next; what is
	 * queued later signals again.
	 */
	session_drain(s);
	pthread_mutex_unlock(&s->lock);
	return r;
}

/*
 * session_pop_event -- the oldest queued event, without reading
 *
 * Returns 1 with *ev (freed with envelope_free()), 0 when none is queued,
 * or -ENOBUFS once after events were dropped.
 */
int session_pop_event(struct session *s, Daxalloc__Envelope **ev,
		      struct session_err *err)
{
	int r = 0;

	*ev = NULL;
	pthread_mutex_lock(&s->lock);
	if (s->ev_count) {
		*ev = session_shift(s);
		r = 1;
	} else if (s->ev_overflow) {
		s->ev_overflow = false;
		r = session_fail(
			err, -ENOBUFS,
			"events from daxallocd were dropped: more than %u waited",
			s->ev_max);
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* session_kick -- make the event descriptor readable (work is waiting) */
void session_kick(struct session *s)
{
	pthread_mutex_lock(&s->lock);
	session_signal(s);
	pthread_mutex_unlock(&s->lock);
}

/*
 * session_event_fd -- the pollable descriptor of the session's events
 *
 * Made on first use and owned by the session; the same descriptor across
 * reconnects.  Readable when the socket is (something to read), an event
 * was queued, the socket broke, or it is time to try reconnecting again.
 */
int session_event_fd(struct session *s, struct session_err *err)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int r;

	pthread_mutex_lock(&s->lock);
	if (s->epoll_fd >= 0) {
		r = s->epoll_fd;
		goto out_unlock;
	}
	s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	s->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	s->timer_fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->epoll_fd < 0 || s->notify_fd < 0 || s->timer_fd < 0) {
		r = session_fail(err, -errno,
				 "cannot make the event descriptor: %s",
				 strerror(errno));
		goto err_close;
	}
	ev.data.fd = s->notify_fd;
	if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->notify_fd, &ev) < 0)
		goto err_ctl;
	ev.data.fd = s->timer_fd;
	if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->timer_fd, &ev) < 0)
		goto err_ctl;
	if (!s->conn->broken) {
		ev.data.fd = s->conn->fd;
		if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->conn->fd, &ev) < 0)
			goto err_ctl;
	}
	/* Events already queued, or a broken socket: dispatch at once. */
	if (s->ev_count || s->ev_overflow || s->conn->broken)
		session_signal(s);
	r = s->epoll_fd;
	goto out_unlock;

err_ctl:
	r = session_fail(err, -errno, "epoll_ctl: %s", strerror(errno));
err_close:
	if (s->epoll_fd >= 0)
		close(s->epoll_fd);
	if (s->notify_fd >= 0)
		close(s->notify_fd);
	if (s->timer_fd >= 0)
		close(s->timer_fd);
	s->epoll_fd = s->notify_fd = s->timer_fd = -1;
out_unlock:
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* session_free -- release everything of s but its socket */
static void session_free(struct session *s)
{
	struct session_str *old;

	session_free_events(s);
	if (s->epoll_fd >= 0)
		close(s->epoll_fd);
	if (s->notify_fd >= 0)
		close(s->notify_fd);
	if (s->timer_fd >= 0)
		close(s->timer_fd);
	while ((old = s->retired)) {
		s->retired = old->next;
		free(old->s);
		free(old);
	}
	pthread_cond_destroy(&s->reconnected);
	pthread_mutex_destroy(&s->lock);
	free(s->server_version);
	free(s->path);
	free(s->client_name);
	free(s);
}

/*
 * session_open_opts -- connect to path and complete Hello
 *
 * opts may be NULL: no capabilities, no reconnect, SESSION_EVENTS_MAX
 * events kept.  The first connection is not retried: a daemon that is
 * not there is the caller's to report.
 */
int session_open_opts(const char *path, const char *client_name,
		      const struct session_opts *opts, struct session **out,
		      struct session_err *err)
{
	struct session_hello h = { 0 };
	struct session *s;
	bool answered;
	int fd, r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return session_fail(err, -ENOMEM, "out of memory");
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->reconnected, NULL);
	s->timeout_ms = SESSION_TIMEOUT_MS;
	s->epoll_fd = s->notify_fd = s->timer_fd = -1;
	s->ev_max = SESSION_EVENTS_MAX;
	if (opts) {
		s->want_caps = opts->capabilities;
		s->reconnect = opts->reconnect;
		if (opts->events_max)
			s->ev_max = opts->events_max;
	}
	s->path = strdup(path);
	s->client_name = strdup(client_name ? client_name : "");
	if (!s->path || !s->client_name) {
		r = session_fail(err, -ENOMEM, "out of memory");
		goto err_free;
	}
	fd = session_connect(path, err);
	if (fd < 0) {
		r = fd;
		goto err_free;
	}
	r = session_hello(s, fd, ++s->next_id, &h, &answered, err);
	if (r < 0) {
		close(fd);
		goto err_free;
	}
	pthread_mutex_lock(&s->lock);
	r = session_install(s, fd, &h, err);
	pthread_mutex_unlock(&s->lock);
	if (r < 0)
		goto err_free;
	*out = s;
	return 0;

err_free:
	session_free(s);
	return r;
}

/* session_open -- connect to path and complete Hello, no reconnect */
int session_open(const char *path, const char *client_name,
		 struct session **out, struct session_err *err)
{
	return session_open_opts(path, client_name, NULL, out, err);
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
	if (s->conn)
		session_conn_put(s->conn);
	session_free(s);
}
