// SPDX-License-Identifier: Apache-2.0
/*
 * daxalloc.c -- libdaxalloc's public API
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daxalloc-config.h"
#include "daxalloc.h"
#include "session.h"

struct daxalloc {
	struct session *session;
};

/* The calling thread's last explanation, for daxalloc_errmsg(). */
static __thread struct session_err daxalloc_err;

/* daxalloc_clear_err -- a new call starts with no explanation */
static void daxalloc_clear_err(void)
{
	daxalloc_err.msg[0] = '\0';
}

/* daxalloc_errmsg -- the calling thread's last explanation (see daxalloc.h) */
DAXALLOC_EXPORT const char *daxalloc_errmsg(void)
{
	return daxalloc_err.msg;
}

/* daxalloc_strerror -- describe an errno, thread-safe (see daxalloc.h) */
DAXALLOC_EXPORT const char *daxalloc_strerror(int err)
{
	const char *s;

	if (err < 0)
		err = -err;
	s = strerrordesc_np(err);
	return s ? s : "Unknown error";
}

/* daxalloc_version -- the library's release (see daxalloc.h) */
DAXALLOC_EXPORT const char *daxalloc_version(void)
{
	return DAXALLOC_VERSION;
}

/* daxalloc_program_name -- our name for the daemon's logs */
static const char *daxalloc_program_name(void)
{
	extern char *program_invocation_short_name;

	return program_invocation_short_name;
}

/* daxalloc_connect -- connect to daxallocd and say Hello (see daxalloc.h) */
DAXALLOC_EXPORT int daxalloc_connect(const char *path, struct daxalloc **dxp)
{
	struct daxalloc *dx;
	int r;

	daxalloc_clear_err();
	if (!dxp)
		return -EINVAL;
	if (!path)
		path = getenv(DAXALLOC_SOCKET_ENV);
	if (!path || !*path)
		path = DAXALLOC_DEFAULT_SOCKET;
	dx = calloc(1, sizeof(*dx));
	if (!dx) {
		snprintf(daxalloc_err.msg, sizeof(daxalloc_err.msg),
			 "out of memory");
		return -ENOMEM;
	}
	r = session_open(path, daxalloc_program_name(), &dx->session,
			 &daxalloc_err);
	if (r < 0) {
		free(dx);
		return r;
	}
	*dxp = dx;
	return 0;
}

/* daxalloc_disconnect -- close a connection and free it (see daxalloc.h) */
DAXALLOC_EXPORT void daxalloc_disconnect(struct daxalloc *dx)
{
	if (!dx)
		return;
	session_close(dx->session);
	free(dx);
}

/* daxalloc_server_version -- the daemon's release (see daxalloc.h) */
DAXALLOC_EXPORT const char *daxalloc_server_version(const struct daxalloc *dx)
{
	return dx->session->server_version;
}

/* daxalloc_protocol_version -- the negotiated protocol version (see daxalloc.h) */
DAXALLOC_EXPORT uint32_t daxalloc_protocol_version(const struct daxalloc *dx)
{
	return dx->session->version;
}

/* daxalloc_session_id -- the daemon's number for this connection (see daxalloc.h) */
DAXALLOC_EXPORT uint64_t daxalloc_session_id(const struct daxalloc *dx)
{
	return dx->session->session_id;
}
