/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proc.h -- client processes: identity, liveness (pidfd), what they own
 *
 * A process, not a socket, owns anonymous extents, leases and pins: it is
 * named by pid + start time + boot id and watched through a
 * pidfd on the loop, so its belongings outlive a disconnect and end
 * exactly when it exits.
 */
#ifndef DAXALLOCD_PROC_H
#define DAXALLOCD_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include <ev.h>

#include "extent.h"
#include "hold.h"

struct server;

struct proc {
	TAILQ_ENTRY(proc) entry;
	struct server *srv;
	pid_t pid;
	uid_t uid;	     /* owner of /proc/PID when first seen */
	uint64_t start_time; /* clock ticks since boot, /proc/PID/stat */
	char name[64];	     /* client_name of its last Hello */
	int pidfd;
	ev_io watch;
	unsigned int nconns;
	bool exited; /* its pidfd fired: it owns nothing and adopts nothing */
	TAILQ_HEAD(, extent) anon; /* anonymous extents it owns */
	uint64_t nanon;
	struct hold_proc hold; /* leases, pins, lease breaks (hold.c) */
};

TAILQ_HEAD(proc_list, proc);

int proc_attach(struct server *srv, int sock, pid_t pid, struct proc **out);
void proc_detach(struct proc *p);
void proc_adopt(struct proc *p, struct extent *e);
void proc_disown(struct extent *e);
int proc_recover(struct server *srv);
struct proc *proc_lookup(struct server *srv, pid_t pid, uint64_t start);
int proc_get_live(struct server *srv, pid_t pid, uint64_t start,
		  struct proc **out);
void proc_maybe_free(struct proc *p);
void proc_fini(struct server *srv);

#endif /* DAXALLOCD_PROC_H */
