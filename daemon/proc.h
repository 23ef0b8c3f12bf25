/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proc.h -- client processes: identity, liveness (pidfd), what they own
 *
 * A process, not a socket, owns anonymous extents (and, later, leases and
 * pins): it is named by pid + start time + boot id and watched through a
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

struct server;

struct proc {
	TAILQ_ENTRY(proc) entry;
	struct server *srv;
	pid_t pid;
	uint64_t start_time; /* clock ticks since boot, /proc/PID/stat */
	int pidfd;
	ev_io watch;
	unsigned int nconns;
	bool exited; /* its pidfd fired: it owns nothing and adopts nothing */
	TAILQ_HEAD(, extent) anon; /* anonymous extents it owns */
	uint64_t nanon;
};

TAILQ_HEAD(proc_list, proc);

int proc_attach(struct server *srv, int sock, pid_t pid, struct proc **out);
void proc_detach(struct proc *p);
void proc_adopt(struct proc *p, struct extent *e);
void proc_disown(struct extent *e);
int proc_recover(struct server *srv);
void proc_fini(struct server *srv);

#endif /* DAXALLOCD_PROC_H */
