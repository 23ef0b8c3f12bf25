/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fixture.h -- the real server in-process, driven through socketpairs
 */
#ifndef DAXALLOC_TESTS_FIXTURE_H
#define DAXALLOC_TESTS_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "conn.h"
#include "envelope.h"
#include "options.h"
#include "server.h"

#define B(x) DAXALLOC__ENVELOPE__BODY_##x

/* Loop turns to wait for one reply, each with a 10 ms poll. */
#define PUMP_TURNS 300
/* Our ends of the socketpairs of one test. */
#define FX_PEERS_MAX 16

struct fixture {
	char dir[32];
	char sock[64];
	char ctl[64];
	char timeout[16];
	char *argv[12];
	char pool[64];
	struct options opts;
	struct server srv;
	bool up;
	ev_timer tick;
	int peers[FX_PEERS_MAX];
	unsigned int npeers;
	int fds_before; /* descriptors open when the test started */
};

extern struct fixture fx;

int fx_start(unsigned int hello_timeout_s, struct pool *pool);
void fx_stop(void);
int fx_init(void);
int fx_cleanup(void);
void fx_setup(void);
void fx_teardown(void);
void fx_finish(void);
int peer_open(enum conn_kind kind);
void pump(void);
bool peer_wait(int fd);
Daxalloc__Envelope *peer_reply_fd(int fd, int *rfd);
Daxalloc__Envelope *peer_reply(int fd);
bool reply_is(int fd, uint64_t id, int status, envelope_body_t body);
bool peer_closed(int fd);
int send_hello(int fd, uint64_t id, uint32_t lo, uint32_t hi, uint32_t v);
int send_body(int fd, uint32_t version, uint64_t id,
	      envelope_body_t body, const int *fds, unsigned int nfds);
int peer_hello(enum conn_kind kind, uint64_t id);

#endif /* DAXALLOC_TESTS_FIXTURE_H */
