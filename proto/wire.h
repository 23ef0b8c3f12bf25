/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wire.h -- datagram framing and fd passing on SOCK_SEQPACKET sockets
 *
 * This module is the only code in the project that calls sendmsg() and
 * recvmsg().  One datagram is one message; file descriptors travel as
 * SCM_RIGHTS on the datagram that needs them.
 */
#ifndef DAXALLOC_WIRE_H
#define DAXALLOC_WIRE_H

#include <stddef.h>

/* Largest datagram either side sends or accepts, in bytes. */
#define WIRE_MSG_MAX (64 * 1024)

/*
 * Most descriptors one datagram may carry.  The receive control buffer has
 * room for exactly this many; the kernel closes any beyond it and reports
 * MSG_CTRUNC, which wire_recv() turns into -ETOOMANYREFS.
 */
#define WIRE_FDS_MAX 4

int wire_send(int sock, const void *buf, size_t len, const int *fds,
	      unsigned int nfds);
int wire_recv(int sock, void *buf, size_t cap, size_t *len, int *fds,
	      unsigned int *nfds);
void wire_close_fds(int *fds, unsigned int nfds);

#endif /* DAXALLOC_WIRE_H */
