// SPDX-License-Identifier: Apache-2.0
/*
 * conn.c -- one accepted connection: its state, its input and its replies
 *
 * Replies are never written from a request handler.  They are queued and
 * the server writes them in its before-sleep hook, after the loop
 * iteration's changes have been made durable.  A connection is freed only
 * from conn_flush() (once its last reply is out) or at shutdown, so no
 * handler ever sees its connection vanish under it.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "dispatch.h"
#include "log.h"
#include "server.h"
#include "wire.h"
#include "options.h"
#include "proc.h"


static const char *const conn_kind_names[CONN_KIND_COUNT] = {
	[CONN_CLIENT] = "client",
	[CONN_CONTROL] = "control",
};

static const char *const conn_state_names[] = {
	[CONN_NEW] = "new",
	[CONN_READY] = "ready",
	[CONN_CLOSING] = "closing",
};

/* conn_kind_name -- "client" or "control" */
const char *conn_kind_name(enum conn_kind kind)
{
	return kind < CONN_KIND_COUNT ? conn_kind_names[kind] : "?";
}

/* conn_enter_state -- the one place a connection changes state */
void conn_enter_state(struct conn *c, enum conn_state state)
{
	if (c->state == state)
		return;
	log_debug("session %llu (%s, pid %d): %s -> %s",
		  (unsigned long long)c->session, conn_kind_name(c->kind),
		  (int)c->pid, conn_state_names[c->state],
		  conn_state_names[state]);
	c->state = state;
	if (state != CONN_NEW)
		ev_timer_stop(c->srv->loop, &c->hello_timer);
	if (state == CONN_CLOSING) {
		ev_io_stop(c->srv->loop, &c->rio);
		/*
		 * Its last replies get the same grace as a full queue: a peer
		 * that never reads them must not keep the descriptor forever.
		 */
		if (!ev_is_active(&c->outq_timer)) {
			ev_timer_set(&c->outq_timer, CONN_OUTQ_GRACE_S, 0.);
			ev_timer_start(c->srv->loop, &c->outq_timer);
		}
	}
}

/* conn_in_group -- is gid the peer's primary or a supplementary group? */
bool conn_in_group(const struct conn *c, gid_t gid)
{
	unsigned int i;

	if (c->gid == gid)
		return true;
	for (i = 0; i < c->ngroups; i++)
		if (c->groups[i] == gid)
			return true;
	return false;
}

/*
 * conn_read_groups -- the peer's supplementary groups, from SO_PEERGROUPS
 *
 * A peer in more groups than we keep is checked against the first
 * CONN_GROUPS_MAX: a denial at worst, never a grant.
 */
static void conn_read_groups(struct conn *c)
{
	gid_t groups[256];
	socklen_t len = sizeof(groups);
	unsigned int i, n;

	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return;
	n = len / sizeof(gid_t);
	for (i = 0; i < n && i < CONN_GROUPS_MAX; i++)
		c->groups[i] = groups[i];
	c->ngroups = i;
}

/*
 * conn_is_admin -- may this peer use control requests?
 *
 * Root, the daemon's own user, and members of the admin group may.
 */
static bool conn_is_admin(const struct conn *c, gid_t admin_gid)
{
	if (c->uid == 0 || c->uid == geteuid())
		return true;
	return admin_gid != (gid_t)-1 && conn_in_group(c, admin_gid);
}

/* conn_out_free -- release a queued message (its descriptors are borrowed) */
static void conn_out_free(struct conn_out *o)
{
	free(o->data);
	free(o);
}

/* conn_read_one -- receive, decode and dispatch one datagram; <0 to stop */
static int conn_read_one(struct conn *c)
{
	struct server *srv = c->srv;
	Daxalloc__Envelope *env;
	int fds[WIRE_FDS_MAX];
	unsigned int nfds;
	size_t len;
	int r;

	r = wire_recv(c->fd, srv->rxbuf, WIRE_MSG_MAX, &len, fds, &nfds);
	if (r == -EAGAIN)
		return r;
	if (r == -ECONNRESET || r == -ECONNREFUSED) {
		conn_abort(c, NULL);
		return r;
	}
	if (r == -EMSGSIZE) {
		conn_fail(c, 0, r, "message larger than the protocol maximum");
		return r;
	}
	if (r == -ETOOMANYREFS) {
		conn_fail(c, 0, r, "too many file descriptors attached");
		return r;
	}
	if (r < 0) {
		conn_abort(c, strerror(-r));
		return r;
	}
	/* The daemon never takes descriptors from clients: drop them now. */
	wire_close_fds(fds, nfds);

	r = envelope_unpack(srv->rxbuf, len, &env);
	if (r < 0) {
		conn_fail(c, 0, r, "malformed message");
		return r;
	}
	dispatch_request(c, env, nfds);
	envelope_free(env);
	return c->state == CONN_CLOSING ? -EPIPE : 0;
}

/*
 * conn_read_cb -- the socket is readable: take one message
 *
 * One per wakeup: the watcher is level-triggered, so more waiting
 * messages wake us again, interleaved fairly with other connections, and
 * the usual request-reply client costs no read that finds nothing.
 */
static void conn_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	conn_read_one(w->data);
}

/* conn_write_cb -- the socket can take more of the queue */
static void conn_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	conn_flush(w->data);
}

/*
 * conn_outq_timeout_cb -- the peer stayed past a queue bound for the
 * whole grace, or a closing connection did not take its last replies in
 * that time: it does not read its socket
 */
static void conn_outq_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct conn *c = w->data;
	char why[200];

	if (c->state == CONN_CLOSING && !c->outq_over) {
		conn_abort(c, "peer did not read its last replies in time");
		return;
	}
	snprintf(why, sizeof(why),
		 "peer does not read its socket: %u messages (%zu bytes) waited over %.0f s, past the bound of %u messages or %u bytes",
		 c->outq_len, c->outq_bytes, CONN_OUTQ_GRACE_S, CONN_OUTQ_MAX,
		 CONN_OUTQ_BYTES);
	c->srv->stats.bad_messages++;
	conn_abort(c, why);
}

/*
 * conn_outq_check -- after a flush: is what the socket would not take past
 * a bound?
 *
 * Past one, the peer's requests are no longer read (each would only add a
 * reply) and the grace starts; back under both, reading resumes.
 */
static void conn_outq_check(struct conn *c)
{
	struct ev_loop *loop = c->srv->loop;
	bool over = c->outq_len > CONN_OUTQ_MAX ||
		    c->outq_bytes > CONN_OUTQ_BYTES;

	if (over == c->outq_over)
		return;
	c->outq_over = over;
	if (over) {
		log_debug("session %llu (%s): %u messages (%zu bytes) wait for the peer to read; reading paused",
			  (unsigned long long)c->session, c->name, c->outq_len,
			  c->outq_bytes);
		ev_io_stop(loop, &c->rio);
		/* A closing connection's grace, if running, starts anew. */
		ev_timer_stop(loop, &c->outq_timer);
		ev_timer_set(&c->outq_timer, CONN_OUTQ_GRACE_S, 0.);
		ev_timer_start(loop, &c->outq_timer);
		return;
	}
	/* A closing connection keeps its grace (conn_enter_state()). */
	if (c->state != CONN_CLOSING) {
		ev_timer_stop(loop, &c->outq_timer);
		ev_io_start(loop, &c->rio);
	}
}

/* conn_hello_timeout_cb -- the peer said nothing useful in time */
static void conn_hello_timeout_cb(struct ev_loop *loop, ev_timer *w,
				  int revents)
{
	struct conn *c = w->data;

	conn_fail(c, 0, -ETIMEDOUT, "no Hello in time");
}

/* Datagrams conn_refuse() reads from a refused peer, at most. */
#define CONN_REFUSE_DRAIN 8

/*
 * conn_refuse -- tell a peer why it is refused, best effort
 *
 * An error with id 0 and no body is the daemon's last word on a
 * connection; libdaxalloc reports its message.  The socket is fresh, so
 * the one datagram fits; if it does not, the peer sees the close alone.
 */
static void conn_refuse(int fd, int status, const char *why)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT;

	char buf[256];
	int fds[WIRE_FDS_MAX];
	unsigned int nfds, n = 0;
	size_t len;
	int r;

	env.version = PROTO_VERSION_MAX;
	env.status = status;
	env.message = (char *)why;
	envelope_send(fd, &env, NULL, 0);
	/*
	 * Closing a socket with unread data resets the peer, and a reset is
	 * reported before the datagram we just sent: read what it sent first
	 * (a Hello, normally).  Boundedly: a peer that keeps sending as fast
	 * as we read would otherwise hold the loop here for as long as it
	 * likes; such a peer gets the reset.
	 */
	do {
		r = wire_recv(fd, buf, sizeof(buf), &len, fds, &nfds);
		if (r == 0)
			wire_close_fds(fds, nfds);
	} while ((r == 0 || r == -EMSGSIZE || r == -ETOOMANYREFS) &&
		 ++n < CONN_REFUSE_DRAIN);
}

/* conn_refusal -- what a refused peer is told, by proc_attach()'s error */
static const char *conn_refusal(int err)
{
	switch (err) {
	case -EUSERS:
		return "too many connections from one process (connections_per_process)";
	case -EMFILE:
	case -ENFILE:
		return "daxallocd is out of file descriptors; try again later";
	default:
		return "cannot identify the connecting process";
	}
}

/*
 * conn_accept -- adopt a freshly accepted socket
 *
 * Credentials are read once, here: SO_PEERCRED reports the peer as it was
 * at connect() time, which is what the kernel vouches for.
 */
int conn_accept(struct server *srv, int fd, enum conn_kind kind)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct conn *c;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		int err = errno;

		log_warn("SO_PEERCRED: %s", strerror(err));
		close(fd);
		return -err;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		log_err("out of memory accepting a %s connection",
			conn_kind_name(kind));
		close(fd);
		return -ENOMEM;
	}
	c->srv = srv;
	c->fd = fd;
	c->kind = kind;
	c->state = CONN_NEW;
	c->session = ++srv->next_session;
	c->pid = cred.pid;
	c->uid = cred.uid;
	c->gid = cred.gid;
	conn_read_groups(c);
	c->admin = conn_is_admin(c, srv->admin_gid);
	snprintf(c->name, sizeof(c->name), "pid %d", (int)cred.pid);
	if (kind == CONN_CLIENT) {
		int r = proc_attach(srv, fd, cred.pid, &c->proc);

		if (r < 0) {
			conn_refuse(fd, r, conn_refusal(r));
			log_warn("client pid %d refused: %s", (int)cred.pid,
				 r == -EUSERS ? "too many connections from one process" :
						strerror(-r));
			close(fd);
			free(c);
			/*
			 * Identifying a peer takes descriptors too (/proc, a
			 * pidfd): out of them, accepting more would only refuse
			 * each queued peer in turn.  Pause, as accept4() failing
			 * would.
			 */
			if (r == -EMFILE || r == -ENFILE)
				server_accept_pause(srv);
			return r;
		}
	}
	STAILQ_INIT(&c->outq);

	ev_io_init(&c->rio, conn_read_cb, fd, EV_READ);
	ev_io_init(&c->wio, conn_write_cb, fd, EV_WRITE);
	c->rio.data = c->wio.data = c;
	ev_timer_init(&c->hello_timer, conn_hello_timeout_cb,
		      (ev_tstamp)srv->limits.hello_timeout_s, 0.);
	c->hello_timer.data = c;
	ev_timer_init(&c->outq_timer, conn_outq_timeout_cb, CONN_OUTQ_GRACE_S,
		      0.);
	c->outq_timer.data = c;
	ev_io_start(srv->loop, &c->rio);
	ev_timer_start(srv->loop, &c->hello_timer);

	TAILQ_INSERT_TAIL(&srv->conns, c, entry);
	srv->nconns++;
	srv->stats.connections_total++;
	log_debug("session %llu: %s connection from pid %d uid %u gid %u%s",
		  (unsigned long long)c->session, conn_kind_name(kind),
		  (int)cred.pid, (unsigned int)cred.uid, (unsigned int)cred.gid,
		  c->admin ? " (admin)" : "");
	return 0;
}

/*
 * conn_send -- queue one message, with fds attached
 *
 * The descriptors are borrowed, not copied: they must stay open until the
 * queue is written or dropped.  The daemon only sends descriptors it keeps
 * for its whole life (the client device fds), so that costs nothing; a
 * dup and close per reply did, measurably (bench/README.md).
 *
 * The queue is bounded after each flush (conn_outq_check()), where what
 * the peer failed to read can be told from a burst it has not been given
 * yet.  Here only the hard bound applies: a queue that would pass it is
 * dropped and the peer cut off, rather than allowed to grow our memory.
 */
int conn_send(struct conn *c, const Daxalloc__Envelope *env, const int *fds,
	      unsigned int nfds)
{
	struct conn_out *o;
	char why[160];
	int r;

	if (nfds > CONN_OUT_FDS)
		return -EINVAL;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	r = envelope_pack(env, &o->data, &o->len);
	if (r < 0) {
		free(o);
		return r;
	}
	if (c->outq_bytes + o->len > CONN_OUTQ_HARD_BYTES) {
		snprintf(why, sizeof(why),
			 "peer does not read its socket: %u messages (%zu bytes) wait, the most is %u bytes",
			 c->outq_len, c->outq_bytes, CONN_OUTQ_HARD_BYTES);
		conn_out_free(o);
		c->srv->stats.bad_messages++;
		conn_abort(c, why);
		return -ENOBUFS;
	}
	if (nfds)
		memcpy(o->fds, fds, nfds * sizeof(*fds));
	o->nfds = nfds;
	STAILQ_INSERT_TAIL(&c->outq, o, entry);
	c->outq_len++;
	c->outq_bytes += o->len;
	server_flush_later(c->srv, c);
	return 0;
}

/*
 * conn_fail -- answer with an error, then close once it is written
 *
 * For messages that break the protocol: the peer learns why, and nothing
 * more is read from it.
 */
void conn_fail(struct conn *c, uint64_t id, int status, const char *why)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT;

	if (c->state == CONN_CLOSING)
		return;
	c->srv->stats.bad_messages++;
	log_info("session %llu (%s): %s; closing", (unsigned long long)c->session,
		 c->name, why);
	env.version = c->version ? c->version : PROTO_VERSION_MAX;
	env.id = id;
	env.status = status;
	env.message = (char *)why;
	conn_send(c, &env, NULL, 0);
	conn_enter_state(c, CONN_CLOSING);
	server_flush_later(c->srv, c);
}

/* conn_abort -- drop whatever is queued and close at the next flush */
void conn_abort(struct conn *c, const char *why)
{
	struct conn_out *o;

	if (why)
		log_info("session %llu (%s): %s; closing",
			 (unsigned long long)c->session, c->name, why);
	while ((o = STAILQ_FIRST(&c->outq))) {
		STAILQ_REMOVE_HEAD(&c->outq, entry);
		conn_out_free(o);
	}
	c->outq_len = 0;
	c->outq_bytes = 0;
	c->outq_over = false;
	ev_timer_stop(c->srv->loop, &c->outq_timer);
	conn_enter_state(c, CONN_CLOSING);
	server_flush_later(c->srv, c);
}

/* conn_flush -- write queued messages until done or the socket is full */
void conn_flush(struct conn *c)
{
	struct conn_out *o;
	int r;

	while ((o = STAILQ_FIRST(&c->outq))) {
		r = wire_send(c->fd, o->data, o->len, o->fds, o->nfds);
		if (r == -EAGAIN || r == -ENOBUFS) {
			ev_io_start(c->srv->loop, &c->wio);
			conn_outq_check(c);
			return;
		}
		if (r < 0) {
			/* The peer is gone; what it did not read is moot. */
			conn_free(c);
			return;
		}
		STAILQ_REMOVE_HEAD(&c->outq, entry);
		c->outq_len--;
		c->outq_bytes -= o->len;
		conn_out_free(o);
	}
	ev_io_stop(c->srv->loop, &c->wio);
	conn_outq_check(c);
	if (c->state == CONN_CLOSING)
		conn_free(c);
}

/* conn_free -- stop watching, close and release a connection */
void conn_free(struct conn *c)
{
	struct server *srv = c->srv;
	struct conn_out *o;

	ev_io_stop(srv->loop, &c->rio);
	ev_io_stop(srv->loop, &c->wio);
	ev_timer_stop(srv->loop, &c->hello_timer);
	ev_timer_stop(srv->loop, &c->outq_timer);
	while ((o = STAILQ_FIRST(&c->outq))) {
		STAILQ_REMOVE_HEAD(&c->outq, entry);
		conn_out_free(o);
	}
	if (c->in_flushq)
		TAILQ_REMOVE(&srv->flushq, c, flush_entry);
	TAILQ_REMOVE(&srv->conns, c, entry);
	srv->nconns--;
	if (c->proc)
		proc_detach(c->proc);
	log_debug("session %llu (%s): closed", (unsigned long long)c->session,
		  c->name);
	close(c->fd);
	free(c);
	/* A descriptor came free: accepting can go on if it was paused. */
	server_accept_resume(srv);
}
