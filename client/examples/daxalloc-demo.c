// SPDX-License-Identifier: Apache-2.0
/*
 * daxalloc-demo.c -- the smallest libdaxalloc client
 *
 * Connects to daxallocd ($DAXALLOC_SOCKET or the default socket), says
 * Hello and prints what the daemon answered.  Uses only <daxalloc.h>.
 */
#include <inttypes.h>
#include <stdio.h>

#include <daxalloc.h>

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : NULL;
	struct daxalloc *dx;
	int r;

	r = daxalloc_connect(path, &dx);
	if (r < 0) {
		fprintf(stderr, "daxalloc-demo: connect: %s (%s)\n",
			daxalloc_strerror(r), daxalloc_errmsg());
		return 1;
	}
	printf("connected: daxallocd %s, protocol %" PRIu32 ", session %" PRIu64
	       "\n",
	       daxalloc_server_version(dx), daxalloc_protocol_version(dx),
	       daxalloc_session_id(dx));
	daxalloc_disconnect(dx);
	return 0;
}
