// SPDX-License-Identifier: Apache-2.0
/*
 * wire.c -- datagram framing and fd passing on SOCK_SEQPACKET sockets
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wire.h"

/* wire_send -- send one datagram, with nfds descriptors attached */
int wire_send(int sock, const void *buf, size_t len, const int *fds,
	      unsigned int nfds)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * WIRE_FDS_MAX)];
	} control;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (len == 0 || len > WIRE_MSG_MAX)
		return -EMSGSIZE;
	if (nfds > WIRE_FDS_MAX)
		return -EINVAL;

	if (nfds) {
		struct cmsghdr *cm;

		memset(&control, 0, sizeof(control));
		mh.msg_control = control.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}

	do {
		/* MSG_NOSIGNAL: a peer that went away is an error, not a signal. */
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	/* SEQPACKET sends whole records or nothing. */
	if ((size_t)n != len)
		return -EIO;
	return 0;
}

/* wire_close_fds -- close an array of received descriptors */
void wire_close_fds(int *fds, unsigned int nfds)
{
	unsigned int i;

	for (i = 0; i < nfds; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

/*
 * wire_collect_fds -- move every SCM_RIGHTS descriptor into fds
 *
 * Descriptors beyond WIRE_FDS_MAX cannot occur (the control buffer has no
 * room for them), but are closed rather than trusted if they ever do.
 */
static unsigned int wire_collect_fds(struct msghdr *mh, int *fds)
{
	struct cmsghdr *cm;
	unsigned int n = 0;

	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		size_t i, cnt;
		int fd;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		cnt = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < cnt; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (n < WIRE_FDS_MAX)
				fds[n++] = fd;
			else
				close(fd);
		}
	}
	return n;
}

/*
 * wire_recv -- receive one datagram and the descriptors attached to it
 *
 * Returns 0 with *len and *nfds set, -ECONNRESET when the peer has closed
 * (SEQPACKET reports end of stream as a zero-length read; no valid message
 * is empty), -EAGAIN on a non-blocking socket with nothing queued,
 * -EMSGSIZE for a datagram larger than cap, -ETOOMANYREFS for more than
 * WIRE_FDS_MAX descriptors, or another negative errno.  On every error the
 * descriptors that arrived are closed and *nfds is 0, so a caller can never
 * leak one.  Descriptors are received close-on-exec.
 */
int wire_recv(int sock, void *buf, size_t cap, size_t *len, int *fds,
	      unsigned int *nfds)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * WIRE_FDS_MAX)];
	} control;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	unsigned int n;
	ssize_t r;

	*nfds = 0;
	*len = 0;
	do {
		r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;

	n = wire_collect_fds(&mh, fds);
	if (mh.msg_flags & MSG_CTRUNC) {
		wire_close_fds(fds, n);
		return -ETOOMANYREFS;
	}
	if (mh.msg_flags & MSG_TRUNC) {
		wire_close_fds(fds, n);
		return -EMSGSIZE;
	}
	if (r == 0) {
		wire_close_fds(fds, n);
		return -ECONNRESET;
	}
	*len = (size_t)r;
	*nfds = n;
	return 0;
}
