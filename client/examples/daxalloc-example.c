// SPDX-License-Identifier: Apache-2.0
/*
 * daxalloc-example.c -- the example program of docs/libdaxalloc.md
 *
 * Allocates a named extent, writes a message into it and closes it; opens
 * it again read-only, checks the message and deletes the extent.  Uses only
 * <daxalloc.h>.
 *
 * Usage: daxalloc-example [SOCKET]   (default: $DAXALLOC_SOCKET, else
 * /run/daxallocd/daxalloc.sock)
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <daxalloc.h>

#define EXAMPLE_NAME "daxalloc-example"
#define EXAMPLE_SIZE (4u << 20)

/* example_fail -- report a failed call the way every caller should */
static int example_fail(const char *what, int err)
{
	fprintf(stderr, "daxalloc-example: %s: %s (%s)\n", what,
		daxalloc_strerror(err), daxalloc_errmsg());
	return 1;
}

int main(int argc, char **argv)
{
	struct daxalloc_extent *ext;
	struct daxalloc *dx;
	char msg[64];
	int r, status = 1;

	r = daxalloc_connect(argc > 1 ? argv[1] : NULL, &dx);
	if (r < 0)
		return example_fail("connect", r);

	/*
	 * A named extent outlives this process until it is deleted; mode 0640
	 * lets the owner's group open it read-only.  A leftover from an
	 * interrupted run is deleted first.
	 */
	r = daxalloc_alloc(dx, EXAMPLE_NAME, EXAMPLE_SIZE, 0, 0640, 0, &ext);
	if (r == -EEXIST) {
		r = daxalloc_delete_name(dx, EXAMPLE_NAME);
		if (r == 0)
			r = daxalloc_alloc(dx, EXAMPLE_NAME, EXAMPLE_SIZE, 0,
					   0640, 0, &ext);
	}
	if (r < 0) {
		example_fail("alloc", r);
		goto out_disconnect;
	}
	printf("allocated %s: extent %" PRIu64 ", %" PRIu64
	       " bytes at device offset %#" PRIx64 ", mapped at %p\n",
	       EXAMPLE_NAME, daxalloc_extent_id(ext),
	       daxalloc_extent_length(ext), daxalloc_extent_offset(ext),
	       daxalloc_extent_addr(ext));

	/*
	 * The mapping is the memory itself.  On persistent memory, make the
	 * bytes durable with libpmem2's persist function (or CPU cache
	 * flushes) before relying on them after a crash.
	 */
	snprintf(msg, sizeof(msg), "hello from pid %d", (int)getpid());
	memcpy(daxalloc_extent_addr(ext), msg, strlen(msg) + 1);

	/* Unmap and release it; the extent and its bytes stay. */
	r = daxalloc_close(ext);
	if (r < 0) {
		example_fail("close", r);
		goto out_disconnect;
	}

	/* Open it again, read-only: an O_RDONLY fd and a PROT_READ mapping. */
	r = daxalloc_open(dx, EXAMPLE_NAME, DAXALLOC_RDONLY, &ext);
	if (r < 0) {
		example_fail("open", r);
		goto out_disconnect;
	}
	if (strcmp(daxalloc_extent_addr(ext), msg) == 0) {
		printf("read back: \"%s\"\n",
		       (char *)daxalloc_extent_addr(ext));
		status = 0;
	} else {
		fprintf(stderr, "daxalloc-example: read back something else\n");
	}

	/* Unmap it and delete the extent: its space returns to the pool. */
	r = daxalloc_delete(ext);
	if (r < 0) {
		example_fail("delete", r);
		status = 1;
	} else {
		printf("deleted %s\n", EXAMPLE_NAME);
	}

out_disconnect:
	daxalloc_disconnect(dx);
	return status;
}
