// SPDX-License-Identifier: Apache-2.0
/*
 * proc.c -- client processes: identity, liveness (pidfd), what they own
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "pool.h"
#include "proc.h"
#include "procid.h"
#include "server.h"
#include "space.h"

/* Linux 6.5; Debian 12's headers predate it. */
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

/* proc_pidfd_open -- a pidfd for pid, close-on-exec */
static int proc_pidfd_open(pid_t pid)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (fd < 0)
		return -errno;
	return fd;
}

/* proc_lookup -- the tracked live process with this pid and start time */
struct proc *proc_lookup(struct server *srv, pid_t pid, uint64_t start)
{
	struct proc *p;

	TAILQ_FOREACH(p, &srv->procs, entry)
		if (!p->exited && p->pid == pid && p->start_time == start)
			return p;
	return NULL;
}

/* proc_free -- stop watching and forget a process that owns nothing */
static void proc_free(struct proc *p)
{
	ev_io_stop(p->srv->loop, &p->watch);
	TAILQ_REMOVE(&p->srv->procs, p, entry);
	close(p->pidfd);
	free(p);
}

/* proc_maybe_free -- free p once it has no connection and holds nothing */
void proc_maybe_free(struct proc *p)
{
	if (!p->nconns && !p->nanon && hold_proc_empty(&p->hold))
		proc_free(p);
}

/*
 * proc_close_conns -- close p's connections without reading on
 *
 * What the process left unread on its sockets must not run after its
 * exit was handled: a lease or a pin taken then would never end (its
 * pidfd has fired), and the range would wait in the quarantine for a
 * dead process.  Its replies are moot.
 */
static void proc_close_conns(struct proc *p)
{
	struct conn *c;
	unsigned int n = 0;

	TAILQ_FOREACH(c, &p->srv->conns, entry) {
		if (c->proc != p || c->state == CONN_CLOSING)
			continue;
		conn_abort(c, NULL);
		n++;
	}
	if (n)
		log_debug("process %d exited: %u connections closed unread",
			  (int)p->pid, n);
}

/*
 * proc_exited_cb -- the pidfd is readable: the process has exited
 *
 * Everything it owned ends now.  Its connections close at once, whatever
 * they still hold unread, and detach when freed.
 */
static void proc_exited_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct proc *p = w->data;
	uint64_t n = p->nanon, i;
	struct extent *e;

	ev_io_stop(loop, w);
	/*
	 * From now on it adopts nothing and asks nothing: a request of its
	 * still queued on a connection must not leave an extent, a lease or a
	 * pin that nobody would end.
	 */
	p->exited = true;
	proc_close_conns(p);
	/* Its pins and leases first: they must not hold its own extents. */
	hold_proc_exit(p->srv, p);
	/* Bounded: an extent that fails to free goes back to the tail. */
	for (i = n; i > 0 && (e = TAILQ_FIRST(&p->anon)); i--)
		space_free(p->srv, e, p, "its owner exited");
	log_info("process %d exited: %llu anonymous extents freed", (int)p->pid,
		 (unsigned long long)n);
	proc_maybe_free(p);
}

/* proc_new -- start tracking pid through pidfd, whose start time is known */
static struct proc *proc_new(struct server *srv, pid_t pid, int pidfd,
			     uint64_t start_time)
{
	struct proc *p = calloc(1, sizeof(*p));
	char path[32];
	struct stat st;

	if (!p)
		return NULL;
	p->srv = srv;
	p->pid = pid;
	p->pidfd = pidfd;
	p->start_time = start_time;
	p->uid = (uid_t)-1;
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (stat(path, &st) == 0)
		p->uid = st.st_uid;
	snprintf(p->name, sizeof(p->name), "pid %d", (int)pid);
	TAILQ_INIT(&p->anon);
	hold_proc_init(&p->hold);
	ev_io_init(&p->watch, proc_exited_cb, pidfd, EV_READ);
	p->watch.data = p;
	ev_io_start(srv->loop, &p->watch);
	TAILQ_INSERT_TAIL(&srv->procs, p, entry);
	return p;
}

/*
 * proc_track -- watch pid through pidfd (taken over) if it is still the
 * process that started at start
 *
 * Checked after the pidfd exists: the pid may have been recycled before
 * it was opened, never after.
 */
static int proc_track(struct server *srv, pid_t pid, int pidfd, uint64_t start,
		      struct proc **out)
{
	uint64_t again;
	struct proc *p;

	if (procid_start_time(pid, &again) < 0 || again != start) {
		close(pidfd);
		return -ESRCH;
	}
	p = proc_new(srv, pid, pidfd, start);
	if (!p) {
		close(pidfd);
		return -ENOMEM;
	}
	*out = p;
	return 0;
}

/*
 * proc_attach -- the process behind a new connection
 *
 * The pidfd comes from SO_PEERPIDFD where the kernel has it (it names the
 * peer itself, no race), else from pidfd_open(), after which the start time
 * read from /proc is checked again so a recycled pid is not mistaken for
 * the peer.  Returns -EUSERS when the process has all the connections the
 * configuration allows.
 */
int proc_attach(struct server *srv, int sock, pid_t pid, struct proc **out)
{
	socklen_t len = sizeof(int);
	uint64_t start;
	struct proc *p;
	int pidfd = -1, r;

	r = procid_start_time(pid, &start);
	if (r < 0)
		return r;
	/* A process of the same pid but another start time is a dead one. */
	p = proc_lookup(srv, pid, start);
	if (p) {
		if (p->nconns >= srv->limits.connections_per_process)
			return -EUSERS;
		p->nconns++;
		*out = p;
		return 0;
	}
	if (getsockopt(sock, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) < 0)
		pidfd = proc_pidfd_open(pid);
	if (pidfd < 0)
		return pidfd;
	r = proc_track(srv, pid, pidfd, start, &p);
	if (r < 0)
		return r;
	p->nconns = 1;
	*out = p;
	return 0;
}

/* proc_detach -- a connection of p closed */
void proc_detach(struct proc *p)
{
	p->nconns--;
	proc_maybe_free(p);
}

/* proc_adopt -- p owns the anonymous extent e from now on */
void proc_adopt(struct proc *p, struct extent *e)
{
	e->owner = p;
	TAILQ_INSERT_TAIL(&p->anon, e, owner_entry);
	p->nanon++;
}

/* proc_disown -- e (about to be freed) leaves its owner's list */
void proc_disown(struct extent *e)
{
	struct proc *p = e->owner;

	if (!p)
		return;
	TAILQ_REMOVE(&p->anon, e, owner_entry);
	e->owner = NULL;
	p->nanon--;
	/* Not freed here: the caller may still hold p (proc_exited_cb). */
}

/*
 * proc_get_live -- the process pid + start of this boot, if it lives
 *
 * For records found after a restart: a tracked process, or a new one
 * watched through a fresh pidfd; -ESRCH when it is gone (or the pid now
 * names another process).
 */
int proc_get_live(struct server *srv, pid_t pid, uint64_t start,
		  struct proc **out)
{
	uint64_t now;
	struct proc *p;
	int pidfd;

	p = proc_lookup(srv, pid, start);
	if (p) {
		*out = p;
		return 0;
	}
	if (pid <= 0 || procid_start_time(pid, &now) < 0 || now != start)
		return -ESRCH;
	pidfd = proc_pidfd_open(pid);
	if (pidfd < 0)
		return -ESRCH;
	return proc_track(srv, pid, pidfd, start, out);
}

/*
 * proc_recover -- after a restart: give anonymous extents back to their
 * owners, or free them if the owner is gone
 *
 * The owner is alive when a process with its pid exists now, started at
 * the recorded time, in this boot.
 */
int proc_recover(struct server *srv)
{
	const uint8_t *boot = srv->boot_id;
	struct extent *e, *next;
	uint64_t freed = 0, kept = 0;
	struct proc *p, *np;
	int r;

	for (e = pool_find_from(srv->pool, 0); e; e = next) {
		next = pool_next_id(srv->pool, e);
		if (!(e->rec.flags & FMT_EXTENT_ANONYMOUS))
			continue;
		r = -ESRCH;
		if (!memcmp(e->rec.owner_boot, boot, 16))
			r = proc_get_live(srv, (pid_t)e->rec.owner_pid,
					  e->rec.owner_start, &p);
		if (r == -ENOMEM)
			return r;
		if (r == 0) {
			proc_adopt(p, e);
			kept++;
			continue;
		}
		space_free(srv, e, NULL, "its owner is gone");
		freed++;
	}
	if (freed || kept)
		log_notice("anonymous extents after restart: %llu kept for their live owners, %llu freed",
			   (unsigned long long)kept, (unsigned long long)freed);
	/* Processes found live for records that were all dropped. */
	for (p = TAILQ_FIRST(&srv->procs); p; p = np) {
		np = TAILQ_NEXT(p, entry);
		proc_maybe_free(p);
	}
	return 0;
}

/* proc_fini -- stop watching every process (shutdown) */
void proc_fini(struct server *srv)
{
	struct proc *p;

	while ((p = TAILQ_FIRST(&srv->procs))) {
		struct extent *e;

		while ((e = TAILQ_FIRST(&p->anon)))
			proc_disown(e);
		p->nanon = 0;
		proc_free(p);
	}
}
