/* SPDX-License-Identifier: Apache-2.0 */
/*
 * listener.h -- listening SOCK_SEQPACKET sockets and their socket files
 */
#ifndef DAXALLOCD_LISTENER_H
#define DAXALLOCD_LISTENER_H

#include <stdbool.h>
#include <sys/types.h>

#include <ev.h>

#include "conn.h"

struct server;

struct listener {
	struct server *srv;
	enum conn_kind kind;
	int fd;
	char *path;
	bool owns_file; /* we bound it, so we unlink it at exit */
	ev_io io;
};

int listener_activated(int fds[CONN_KIND_COUNT]);
int listener_open(struct listener *l, struct server *srv, enum conn_kind kind,
		  const char *path, mode_t mode, int activated_fd);
void listener_start(struct listener *l);
void listener_stop(struct listener *l);
void listener_close(struct listener *l);

#endif /* DAXALLOCD_LISTENER_H */
