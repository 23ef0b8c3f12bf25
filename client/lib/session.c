// SPDX-License-Identifier: Apache-2.0
/*
 * session.c -- one connection to daxallocd: Hello and request/response
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "procid.h"
#include "session.h"
#include "wire.h"

/* session_fail -- record why a call failed and return err */
static int __attribute__((format(printf, 3, 4)))
session_fail(struct session_err *e, int err, const char *fmt, ...)
{
	va_list ap;

	if (e) {
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return err;
}

/* session_wait -- wait until the socket is readable or the call times out */
static int session_wait(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int r;

	do {
		r = poll(&pfd, 1, timeout_ms);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return r == 0 ? -ETIMEDOUT : 0;
}

/*
 * session_call -- send req and wait for the response with the same id
 *
 * The library picks the id and version.  A response with more than max_fds
 * descriptors is refused (its descriptors closed).  A negative status in
 * the response is returned as is, with the daemon's message in err; the
 * response is still handed to the caller only on success.
 */
int session_call(struct session *s, Daxalloc__Envelope *req,
		 Daxalloc__Envelope **resp, int *fds, unsigned int max_fds,
		 unsigned int *nfds, struct session_err *err)
{
	int rfds[WIRE_FDS_MAX];
	Daxalloc__Envelope *env = NULL;
	unsigned int n = 0;
	int r;

	*resp = NULL;
	if (nfds)
		*nfds = 0;
	pthread_mutex_lock(&s->lock);
	req->id = ++s->next_id;
	req->version = s->version;
	r = envelope_send(s->fd, req, NULL, 0);
	if (r < 0) {
		r = session_fail(err, r, "cannot send %s: %s",
				 envelope_type_name(req->body_case),
				 strerror(-r));
		goto out_unlock;
	}
	for (;;) {
		r = session_wait(s->fd, SESSION_TIMEOUT_MS);
		if (r < 0) {
			r = session_fail(err, r, "no reply to %s: %s",
					 envelope_type_name(req->body_case),
					 strerror(-r));
			goto out_unlock;
		}
		r = envelope_recv(s->fd, &env, rfds, &n);
		if (r < 0) {
			r = session_fail(err, r == -ECONNRESET ? -EPIPE : r,
					 "%s",
					 r == -ECONNRESET ?
						 "daxallocd closed the connection" :
						 strerror(-r));
			goto out_unlock;
		}
		/* Events (id 0) have no consumer yet; replies to others neither. */
		if (env->id == req->id)
			break;
		wire_close_fds(rfds, n);
		envelope_free(env);
		env = NULL;
	}
	if (env->status < 0) {
		r = session_fail(err, env->status, "%s",
				 env->message[0] ? env->message :
						   strerror(-env->status));
		goto out_free;
	}
	if (n > max_fds) {
		r = session_fail(err, -EBADMSG,
				 "daxallocd attached %u descriptors to %s, expected at most %u",
				 n, envelope_type_name(env->body_case), max_fds);
		goto out_free;
	}
	if (env->body_case != DAXALLOC__ENVELOPE__BODY__NOT_SET &&
	    envelope_kind(env->body_case) != ENVELOPE_REPLY) {
		r = session_fail(err, -EBADMSG, "daxallocd answered with %s",
				 envelope_type_name(env->body_case));
		goto out_free;
	}
	if (n)
		memcpy(fds, rfds, n * sizeof(int));
	if (nfds)
		*nfds = n;
	*resp = env;
	pthread_mutex_unlock(&s->lock);
	return 0;

out_free:
	wire_close_fds(rfds, n);
	envelope_free(env);
out_unlock:
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* session_connect -- a blocking, close-on-exec connection to path */
static int session_connect(const char *path, struct session_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return session_fail(err, -ENAMETOOLONG,
				    "socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return session_fail(err, -errno, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		return session_fail(err, r, "cannot connect to %s: %s", path,
				    strerror(-r));
	}
	return fd;
}

/* session_hello -- negotiate the protocol and record what the daemon says */
static int session_hello(struct session *s, const char *client_name,
			 struct session_err *err)
{
	Daxalloc__Envelope req = DAXALLOC__ENVELOPE__INIT, *resp;
	Daxalloc__Hello hello = DAXALLOC__HELLO__INIT;
	const Daxalloc__HelloReply *hr;
	struct procid id;
	int r;

	hello.version_min = PROTO_VERSION_MIN;
	hello.version_max = PROTO_VERSION_MAX;
	hello.client_name = (char *)(client_name ? client_name : "");
	/* Identity is a claim the daemon checks; without /proc, send none. */
	if (procid_get(getpid(), &id) == 0) {
		hello.pid = (uint32_t)id.pid;
		hello.start_time = id.start_time;
		hello.boot_id = id.boot_id;
	}
	req.body_case = DAXALLOC__ENVELOPE__BODY_HELLO;
	req.hello = &hello;

	/* Before negotiation, the envelope carries our highest version. */
	s->version = PROTO_VERSION_MAX;
	r = session_call(s, &req, &resp, NULL, 0, NULL, err);
	if (r < 0)
		return r;
	if (resp->body_case != DAXALLOC__ENVELOPE__BODY_HELLO_REPLY) {
		envelope_free(resp);
		return session_fail(err, -EBADMSG, "daxallocd answered Hello with %s",
				    envelope_type_name(resp->body_case));
	}
	hr = resp->hello_reply;
	if (hr->version < PROTO_VERSION_MIN || hr->version > PROTO_VERSION_MAX) {
		r = session_fail(err, -EPROTONOSUPPORT,
				 "daxallocd chose protocol %u, we speak %u..%u",
				 hr->version, PROTO_VERSION_MIN,
				 PROTO_VERSION_MAX);
		envelope_free(resp);
		return r;
	}
	s->version = hr->version;
	s->session_id = hr->session_id;
	s->capabilities = hr->capabilities;
	s->unit = hr->unit;
	s->server_version = strdup(hr->server_version);
	envelope_free(resp);
	if (!s->server_version)
		return session_fail(err, -ENOMEM, "out of memory");
	return 0;
}

/* session_open -- connect to path and complete Hello */
int session_open(const char *path, const char *client_name,
		 struct session **out, struct session_err *err)
{
	struct session *s;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return session_fail(err, -ENOMEM, "out of memory");
	pthread_mutex_init(&s->lock, NULL);
	s->fd = session_connect(path, err);
	if (s->fd < 0) {
		r = s->fd;
		goto err_free;
	}
	r = session_hello(s, client_name, err);
	if (r < 0)
		goto err_close;
	*out = s;
	return 0;

err_close:
	close(s->fd);
err_free:
	pthread_mutex_destroy(&s->lock);
	free(s->server_version);
	free(s);
	return r;
}

/* session_close -- close the connection and free s */
void session_close(struct session *s)
{
	if (!s)
		return;
	close(s->fd);
	pthread_mutex_destroy(&s->lock);
	free(s->server_version);
	free(s);
}
