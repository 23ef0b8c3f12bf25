/* SPDX-License-Identifier: Apache-2.0 */
/*
 * session.h -- one connection to daxallocd: Hello and request/response
 *
 * Shared by libdaxalloc and daxallocctl (which speaks to the control
 * socket); not part of the public API.
 */
#ifndef DAXALLOC_SESSION_H
#define DAXALLOC_SESSION_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"

/* How long a call waits for its reply before giving up. */
#define SESSION_TIMEOUT_MS 30000

struct session {
	int fd;
	pthread_mutex_t lock; /* one request in flight at a time, for now */
	uint64_t next_id;
	uint32_t version;
	uint64_t session_id;
	uint64_t capabilities;
	uint64_t unit;
	char *server_version;
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
void session_close(struct session *s);

#endif /* DAXALLOC_SESSION_H */
