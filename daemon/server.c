// SPDX-License-Identifier: Apache-2.0
/*
 * server.c -- the daemon's event loop, its sockets and its connections
 *
 * One libev loop on one thread holds all state.  Each loop iteration reads
 * requests and queues replies; the before-sleep hook then makes the
 * iteration's changes durable and only after that writes the replies, so
 * nothing is acknowledged before it is persisted.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"
#include "options.h"
#include "device.h"
#include "pool.h"
#include "procid.h"
#include "reload.h"
#include "server.h"
#include "wire.h"

/* How long accepting pauses after the process ran out of descriptors. */
#define SERVER_ACCEPT_PAUSE_S 1.0
/* How often the STATUS= line for systemctl status is refreshed. */
#define SERVER_STATUS_S 5.0

/* server_uptime_ms -- milliseconds since server_init() */
uint64_t server_uptime_ms(const struct server *s)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)(now.tv_sec - s->started.tv_sec) * 1000 +
	       (uint64_t)((now.tv_nsec - s->started.tv_nsec) / 1000000);
}

/* server_flush_later -- write c's queue in this iteration's before-sleep */
void server_flush_later(struct server *s, struct conn *c)
{
	if (c->in_flushq)
		return;
	TAILQ_INSERT_TAIL(&s->flushq, c, flush_entry);
	c->in_flushq = true;
}

/*
 * server_before_sleep_cb -- persist, then answer
 *
 * The order is the durability rule: one journal commit for everything this
 * iteration changed (group commit), and only then the replies.  A commit
 * that fails leaves us unable to keep the promise: stop without answering.
 */
static void server_before_sleep_cb(struct ev_loop *loop, ev_prepare *w,
				   int revents)
{
	struct server *s = w->data;
	struct conn *c;
	int r;

	if (s->pool) {
		/* Pin records before the journal: see hold_commit(). */
		r = hold_commit(s);
		if (r == 0)
			r = pool_commit(s->pool);
		if (r < 0) {
			log_err("metadata commit failed: %s; stopping without acknowledging",
				strerror(-r));
			s->exit_status = 1;
			s->commit_failed = true;
			ev_break(loop, EVBREAK_ALL);
			return;
		}
	}

	while ((c = TAILQ_FIRST(&s->flushq))) {
		TAILQ_REMOVE(&s->flushq, c, flush_entry);
		c->in_flushq = false;
		conn_flush(c); /* may free c */
	}
}

/*
 * server_accept_pause -- out of descriptors: shed one client, wait a bit
 *
 * Without a pause the listening socket stays readable and the loop would
 * spin on EMFILE.  The reserve descriptor is spent to accept and close the
 * connection at the head of the queue, so that client learns at once
 * instead of waiting in the backlog.
 */
void server_accept_pause(struct server *s)
{
	unsigned int k;
	int fd;

	if (s->reserve_fd >= 0) {
		close(s->reserve_fd);
		s->reserve_fd = -1;
	}
	for (k = 0; k < CONN_KIND_COUNT; k++) {
		fd = accept4(s->listeners[k].fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0) {
			close(fd);
			break;
		}
	}
	s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (s->accept_paused)
		return;
	log_warn("out of file descriptors with %u connections: pausing accept",
		 s->nconns);
	s->accept_paused = true;
	for (k = 0; k < CONN_KIND_COUNT; k++)
		listener_stop(&s->listeners[k]);
	ev_timer_set(&s->accept_resume, SERVER_ACCEPT_PAUSE_S, 0.);
	ev_timer_start(s->loop, &s->accept_resume);
}

/* server_accept_resume -- start accepting again after a pause */
void server_accept_resume(struct server *s)
{
	unsigned int k;

	if (!s->accept_paused)
		return;
	s->accept_paused = false;
	ev_timer_stop(s->loop, &s->accept_resume);
	if (s->reserve_fd < 0)
		s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	for (k = 0; k < CONN_KIND_COUNT; k++)
		listener_start(&s->listeners[k]);
}

static void server_accept_resume_cb(struct ev_loop *loop, ev_timer *w,
				    int revents)
{
	server_accept_resume(w->data);
}

/* server_fmt_bytes -- a byte count for people: "1.5 GiB", "512 MiB", "0 B" */
static void server_fmt_bytes(char *buf, size_t len, uint64_t v)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB",
					     "PiB" };
	unsigned int u = 0;
	double d = (double)v;

	while (d >= 1024. && u + 1 < sizeof(units) / sizeof(units[0])) {
		d /= 1024.;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu B", (unsigned long long)v);
	else
		snprintf(buf, len, "%.*f %s", d < 10. ? 1 : 0, d, units[u]);
}

/*
 * server_status_update -- a STATUS= line with live figures
 *
 * Sent only when it changed, so an idle daemon stays quiet.
 */
static void server_status_update(struct server *s)
{
	char line[sizeof(s->status_line)], fb[32], tb[32], qb[32];
	struct pool_stats ps = { 0 };
	unsigned int clients = 0;
	struct conn *c;

	if (!s->pool)
		return;
	pool_get_stats(s->pool, &ps);
	TAILQ_FOREACH(c, &s->conns, entry)
		clients += c->kind == CONN_CLIENT;
	server_fmt_bytes(fb, sizeof(fb), ps.free_bytes);
	server_fmt_bytes(tb, sizeof(tb), ps.data_size);
	server_fmt_bytes(qb, sizeof(qb), ps.quarantined_bytes);
	snprintf(line, sizeof(line),
		 "serving: %llu extents, %s free of %s, %s quarantined, %u client connection%s",
		 (unsigned long long)ps.extents, fb, tb, qb, clients,
		 clients == 1 ? "" : "s");
	if (!strcmp(line, s->status_line))
		return;
	memcpy(s->status_line, line, sizeof(line));
	notify_status(line);
}

static void server_status_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	server_status_update(w->data);
}

/*
 * server_watchdog_cb -- tell the service manager the loop still turns
 *
 * Sent from a loop timer on purpose: a loop stuck in a callback stops the
 * pings, and systemd restarts the daemon (WatchdogSec=, Restart=).
 */
static void server_watchdog_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	notify_watchdog();
}

/* server_signal_cb -- SIGTERM and SIGINT stop the loop; SIGHUP reloads */
static void server_signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct server *s = w->data;

	if (w->signum == SIGHUP) {
		log_notice("SIGHUP: reloading %s", s->opts->config_path);
		reload_config(s);
		s->status_line[0] = '\0';
		server_status_update(s);
		return;
	}
	log_notice("%s: shutting down", strsignal(w->signum));
	notify_stopping();
	ev_break(loop, EVBREAK_ALL);
	s->exit_status = 0;
}

/* server_admin_gid -- resolve the admin group name, if one is configured */
static int server_admin_gid(const char *name, gid_t *gid)
{
	struct group *gr;

	*gid = (gid_t)-1;
	if (!name)
		return 0;
	errno = 0;
	gr = getgrnam(name);
	if (!gr) {
		log_err("admin group '%s' does not exist", name);
		return errno ? -errno : -ENOENT;
	}
	*gid = gr->gr_gid;
	return 0;
}

/* server_init -- open the sockets and set up the loop; nothing runs yet */
int server_init(struct server *s, const struct options *opts,
		struct pool *pool)
{
	static const mode_t modes[CONN_KIND_COUNT] = {
		[CONN_CLIENT] = 0660,
		[CONN_CONTROL] = 0600,
	};
	const char *paths[CONN_KIND_COUNT] = {
		[CONN_CLIENT] = opts->socket_path,
		[CONN_CONTROL] = opts->control_path,
	};
	int activated[CONN_KIND_COUNT];
	unsigned int k;
	int r;

	memset(s, 0, sizeof(*s));
	s->opts = opts;
	s->cfg = &opts->cfg;
	s->pool = pool;
	s->reserve_fd = -1;
	s->exit_status = 1;
	TAILQ_INIT(&s->conns);
	TAILQ_INIT(&s->flushq);
	TAILQ_INIT(&s->procs);
	s->client_fd[0] = s->client_fd[1] = -1;
	s->limits.hello_timeout_s = opts->hello_timeout_s;
	s->limits.connections_per_process = opts->connections_per_process;
	s->limits.max_name_length = opts->max_name_length;
	s->limits.lease_break_time_s = opts->cfg.lease_break_time_s;
	s->limits.max_pins_per_process = opts->cfg.max_pins_per_process;
	{
		char boot[PROCID_BOOT_ID_LEN + 1];

		/* Read once: every anonymous extent records it. */
		r = procid_boot_id(boot);
		if (r == 0)
			r = procid_boot_bytes(boot, s->boot_id);
		if (r < 0) {
			log_err("cannot read this boot's id: %s", strerror(-r));
			return r;
		}
	}
	for (k = 0; k < CONN_KIND_COUNT; k++)
		s->listeners[k].fd = -1;
	clock_gettime(CLOCK_MONOTONIC, &s->started);

	r = server_admin_gid(opts->admin_group, &s->admin_gid);
	if (r < 0)
		return r;
	s->rxbuf = malloc(WIRE_MSG_MAX);
	if (!s->rxbuf)
		return -ENOMEM;
	s->loop = ev_default_loop(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
	if (!s->loop) {
		log_err("cannot create the event loop");
		r = -ENOMEM;
		goto err_buf;
	}
	if (pool) {
		/*
		 * Fresh open file descriptions, not dups of the pool's: a client
		 * holding one must not hold the daemon's flock, and read-only
		 * opens get an O_RDONLY one.
		 */
		s->client_fd[0] = device_open_fd(pool->dev, O_RDWR);
		s->client_fd[1] = device_open_fd(pool->dev, O_RDONLY);
		if (s->client_fd[0] < 0 || s->client_fd[1] < 0) {
			r = s->client_fd[0] < 0 ? s->client_fd[0] : s->client_fd[1];
			log_err("cannot reopen %s for clients: %s", pool->dev->path,
				strerror(-r));
			goto err_fds;
		}
		/* Holds first: a dead owner's extent may be held by the living. */
		r = hold_recover(s);
		if (r == 0)
			r = proc_recover(s);
		if (r < 0)
			goto err_fds;
	}
	r = listener_activated(activated);
	if (r < 0)
		goto err_fds;
	for (k = 0; k < CONN_KIND_COUNT; k++) {
		r = listener_open(&s->listeners[k], s, k, paths[k], modes[k],
				  activated[k]);
		if (r < 0) {
			unsigned int j;

			/* listener_open() took activated[k]; not the later ones. */
			for (j = k + 1; j < CONN_KIND_COUNT; j++)
				if (activated[j] >= 0)
					close(activated[j]);
			goto err_listeners;
		}
	}
	s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	ev_signal_init(&s->sigterm, server_signal_cb, SIGTERM);
	ev_signal_init(&s->sigint, server_signal_cb, SIGINT);
	ev_signal_init(&s->sighup, server_signal_cb, SIGHUP);
	s->sigterm.data = s->sigint.data = s->sighup.data = s;
	ev_prepare_init(&s->before_sleep, server_before_sleep_cb);
	s->before_sleep.data = s;
	ev_timer_init(&s->accept_resume, server_accept_resume_cb, 0., 0.);
	s->accept_resume.data = s;
	ev_timer_init(&s->status, server_status_cb, SERVER_STATUS_S,
		      SERVER_STATUS_S);
	s->status.data = s;
	ev_timer_init(&s->watchdog, server_watchdog_cb, 0., 0.);
	s->watchdog.data = s;
	return 0;

err_listeners:
	while (k-- > 0)
		listener_close(&s->listeners[k]);
err_fds:
	/* What hold_recover() rebuilt before a later step failed. */
	hold_fini(s);
	proc_fini(s);
	for (k = 0; k < 2; k++)
		if (s->client_fd[k] >= 0)
			close(s->client_fd[k]);
	ev_loop_destroy(s->loop);
	s->loop = NULL;
err_buf:
	free(s->rxbuf);
	s->rxbuf = NULL;
	return r;
}

/* server_run -- serve until a signal stops us; returns the exit status */
int server_run(struct server *s)
{
	uint64_t usec;
	unsigned int k;

	ev_signal_start(s->loop, &s->sigterm);
	ev_signal_start(s->loop, &s->sigint);
	ev_signal_start(s->loop, &s->sighup);
	ev_prepare_start(s->loop, &s->before_sleep);
	for (k = 0; k < CONN_KIND_COUNT; k++)
		listener_start(&s->listeners[k]);

	if (notify_watchdog_usec(&usec) > 0) {
		/* Half the interval, as sd_watchdog_enabled(3) advises. */
		ev_timer_set(&s->watchdog, 0., (ev_tstamp)usec / 2e6);
		ev_timer_again(s->loop, &s->watchdog);
		log_info("watchdog: a ping every %.1f s", (double)usec / 2e6);
	}
	ev_timer_start(s->loop, &s->status);
	notify_ready("serving");
	server_status_update(s);
	log_notice("daxallocd ready (pid %d)", (int)getpid());
	ev_run(s->loop, 0);
	return s->exit_status;
}

/* server_fini -- close every connection and socket */
void server_fini(struct server *s)
{
	struct conn *c;
	unsigned int k;

	if (!s->loop)
		return;
	/*
	 * A signal can end the loop before the before-sleep hook ran for the
	 * last requests: commit them now, before their replies go out.
	 */
	if (s->pool && !s->commit_failed &&
	    (hold_commit(s) < 0 || pool_commit(s->pool) < 0))
		s->commit_failed = true;
	/*
	 * Best effort: give queued replies one chance before closing, unless
	 * the commit they depend on failed.
	 */
	while ((c = TAILQ_FIRST(&s->conns))) {
		if (s->commit_failed)
			conn_abort(c, NULL);
		conn_enter_state(c, CONN_CLOSING);
		conn_flush(c);
		if (TAILQ_FIRST(&s->conns) == c)
			conn_free(c);
	}
	for (k = 0; k < CONN_KIND_COUNT; k++)
		listener_close(&s->listeners[k]);
	hold_fini(s);
	proc_fini(s);
	reload_fini(s);
	for (k = 0; k < 2; k++)
		if (s->client_fd[k] >= 0)
			close(s->client_fd[k]);
	if (s->reserve_fd >= 0)
		close(s->reserve_fd);
	ev_loop_destroy(s->loop);
	s->loop = NULL;
	free(s->rxbuf);
	s->rxbuf = NULL;
}
