/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daxalloc.h -- libdaxalloc, the client library of daxallocd
 *
 * libdaxalloc talks to daxallocd, the allocator that owns a devdax
 * namespace (persistent or CXL memory), over its Unix socket.
 *
 * Conventions: functions return 0 (or a non-negative value) on success and
 * a negative errno on failure; daxalloc_errmsg() then tells, for the
 * calling thread, the daemon's or the library's explanation.  Objects are
 * opaque and created through an out parameter.
 */
#ifndef DAXALLOC_H
#define DAXALLOC_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define DAXALLOC_EXPORT __attribute__((visibility("default")))
#else
#define DAXALLOC_EXPORT
#endif

/* Environment variable naming the client socket when no path is given. */
#define DAXALLOC_SOCKET_ENV "DAXALLOC_SOCKET"

/* A connection to daxallocd. */
struct daxalloc;

/**
 * daxalloc_connect() - connect to daxallocd and say Hello
 * @path: client socket; NULL means $DAXALLOC_SOCKET, else the default
 *        /run/daxallocd/daxalloc.sock
 * @dxp: on success, the new connection
 *
 * Connects, negotiates the protocol version and learns the daemon's
 * capabilities.  The socket is close-on-exec.
 *
 * Return: 0, or a negative errno: -ENOENT or -ECONNREFUSED when no daemon
 * listens, -EACCES without permission on the socket, -EPROTONOSUPPORT when
 * the daemon speaks no common protocol version, -ETIMEDOUT when it does
 * not answer.
 */
DAXALLOC_EXPORT int daxalloc_connect(const char *path, struct daxalloc **dxp);

/**
 * daxalloc_disconnect() - close a connection and free it
 * @dx: the connection, or NULL
 */
DAXALLOC_EXPORT void daxalloc_disconnect(struct daxalloc *dx);

/**
 * daxalloc_server_version() - the daemon's release, e.g. "0.1.0"
 * @dx: the connection
 *
 * Return: a string owned by @dx, valid until daxalloc_disconnect().
 */
DAXALLOC_EXPORT const char *daxalloc_server_version(const struct daxalloc *dx);

/**
 * daxalloc_protocol_version() - the protocol version negotiated by Hello
 * @dx: the connection
 */
DAXALLOC_EXPORT uint32_t daxalloc_protocol_version(const struct daxalloc *dx);

/**
 * daxalloc_session_id() - the daemon's number for this connection
 * @dx: the connection
 *
 * The same number appears in the daemon's log and in daxallocctl listings.
 */
DAXALLOC_EXPORT uint64_t daxalloc_session_id(const struct daxalloc *dx);

/**
 * daxalloc_errmsg() - explanation of the calling thread's last failure
 *
 * Return: the daemon's message for the last failed call made by this
 * thread, or the library's own; "" when there is none.  The string stays
 * valid until this thread's next call into libdaxalloc.
 */
DAXALLOC_EXPORT const char *daxalloc_errmsg(void);

/**
 * daxalloc_strerror() - describe a negative errno returned by libdaxalloc
 * @err: a negative (or positive) errno value
 *
 * Return: a constant string; thread-safe.
 */
DAXALLOC_EXPORT const char *daxalloc_strerror(int err);

/**
 * daxalloc_version() - the library's release, e.g. "0.1.0"
 */
DAXALLOC_EXPORT const char *daxalloc_version(void);

#ifdef __cplusplus
}
#endif

#endif /* DAXALLOC_H */
