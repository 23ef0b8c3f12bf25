// SPDX-License-Identifier: Apache-2.0
/*
 * daxalloc-demo.c -- the README's demo client
 *
 *   daxalloc-demo [-s SOCKET] write NAME
 *	allocates a named 4 MiB extent (or opens it, if it exists) and
 *	writes a recognisable pattern into it, with a header at its start
 *	that holds the writer's pid and the time;
 *   daxalloc-demo [-s SOCKET] read NAME
 *	opens it read-only, prints what the header says and checks the
 *	pattern (exit status 1 if it is wrong);
 *   daxalloc-demo [SOCKET]
 *	connects, says Hello and prints what the daemon answered.
 *
 * The socket is SOCKET, else $DAXALLOC_SOCKET, else the default.  Uses
 * only <daxalloc.h>.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <daxalloc.h>

#define DEMO_SIZE (4u << 20)
#define DEMO_MAGIC "daxalloc-demo 1"

/* What the writer puts at the start of the extent; the pattern follows. */
struct demo_header {
	char magic[16];
	uint64_t pid;
	uint64_t time_ns; /* CLOCK_REALTIME */
	uint64_t length; /* bytes covered: header and pattern */
};

/* demo_fail -- report a failed call */
static int demo_fail(const char *what, int err)
{
	fprintf(stderr, "daxalloc-demo: %s: %s (%s)\n", what,
		daxalloc_strerror(err), daxalloc_errmsg());
	return 1;
}

/* demo_word -- the pattern's 64-bit word at byte offset off */
static uint64_t demo_word(uint64_t off)
{
	return (off * 0x9e3779b97f4a7c15ull) ^ 0x6461786461646d6full;
}

/* demo_hello -- connect, Hello, print: the smallest client */
static int demo_hello(const char *path)
{
	struct daxalloc *dx;
	int r;

	r = daxalloc_connect(path, &dx);
	if (r < 0)
		return demo_fail("connect", r);
	printf("connected: daxallocd %s, protocol %" PRIu32 ", session %" PRIu64
	       ", unit %" PRIu64 " bytes\n",
	       daxalloc_server_version(dx), daxalloc_protocol_version(dx),
	       daxalloc_session_id(dx), daxalloc_unit(dx));
	daxalloc_disconnect(dx);
	return 0;
}

/* demo_write -- allocate or open NAME, write the pattern and the header */
static int demo_write(struct daxalloc *dx, const char *name)
{
	struct daxalloc_extent *ext;
	struct demo_header h = { .magic = DEMO_MAGIC };
	struct timespec ts;
	const char *how = "allocated";
	uint64_t len, off;
	char *p;
	int r;

	r = daxalloc_alloc(dx, name, DEMO_SIZE, 0, 0644, 0, &ext);
	if (r == -EEXIST) {
		how = "opened";
		r = daxalloc_open(dx, name, 0, &ext);
	}
	if (r < 0)
		return demo_fail(name, r);
	p = daxalloc_extent_addr(ext);
	len = daxalloc_extent_length(ext);

	/* Pattern first, header last: a header means the rest is there. */
	for (off = sizeof(h); off + 8 <= len; off += 8)
		memcpy(p + off, &(uint64_t){ demo_word(off) }, 8);
	clock_gettime(CLOCK_REALTIME, &ts);
	h.pid = (uint64_t)getpid();
	h.time_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	h.length = len;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(p, &h, sizeof(h));

	printf("%s %s: extent %" PRIu64 ", %" PRIu64
	       " bytes at device offset %#" PRIx64 ", mapped at %p\n",
	       how, name, daxalloc_extent_id(ext), len,
	       daxalloc_extent_offset(ext), (void *)p);
	printf("wrote the pattern, pid %" PRIu64 " and time %" PRIu64
	       ".%09" PRIu64 "\n",
	       h.pid, h.time_ns / UINT64_C(1000000000),
	       h.time_ns % UINT64_C(1000000000));
	r = daxalloc_close(ext);
	if (r < 0)
		return demo_fail("close", r);
	return 0;
}

/* demo_read -- open NAME read-only, print the header, check the pattern */
static int demo_read(struct daxalloc *dx, const char *name)
{
	struct daxalloc_extent *ext;
	struct demo_header h;
	char when[64] = "?";
	const char *p;
	uint64_t len, off, bad = 0;
	struct tm tm;
	time_t t;
	int r;

	r = daxalloc_open(dx, name, DAXALLOC_RDONLY, &ext);
	if (r < 0)
		return demo_fail(name, r);
	p = daxalloc_extent_addr(ext);
	len = daxalloc_extent_length(ext);
	printf("opened %s read-only: extent %" PRIu64 ", %" PRIu64
	       " bytes at device offset %#" PRIx64 ", mapped at %p\n",
	       name, daxalloc_extent_id(ext), len, daxalloc_extent_offset(ext),
	       (const void *)p);

	memcpy(&h, p, sizeof(h));
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (memcmp(h.magic, DEMO_MAGIC, sizeof(DEMO_MAGIC))) {
		printf("no daxalloc-demo header: nothing written by "
		       "`daxalloc-demo write %s`\n",
		       name);
		daxalloc_close(ext);
		return 1;
	}
	t = (time_t)(h.time_ns / 1000000000ull);
	if (localtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %z", &tm);
	printf("written by pid %" PRIu64 " at %s\n", h.pid, when);
	if (h.length < len)
		len = h.length;

	for (off = sizeof(h); off + 8 <= len; off += 8) {
		uint64_t v;

		memcpy(&v, p + off, 8);
		if (v != demo_word(off)) {
			bad = off;
			break;
		}
	}
	if (bad)
		printf("pattern WRONG at byte %" PRIu64 "\n", bad);
	else
		printf("pattern OK (%" PRIu64 " bytes checked)\n", len);
	r = daxalloc_close(ext);
	if (r < 0)
		demo_fail("close", r);
	return bad || r < 0 ? 1 : 0;
}

/* demo_usage -- how to call it */
static int demo_usage(void)
{
	fprintf(stderr, "Usage: daxalloc-demo [-s SOCKET] write NAME\n"
			"       daxalloc-demo [-s SOCKET] read NAME\n"
			"       daxalloc-demo [SOCKET]\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	struct daxalloc *dx;
	bool write;
	int r, i = 1;

	if (i + 1 < argc && !strcmp(argv[i], "-s")) {
		path = argv[i + 1];
		i += 2;
	}
	if (i == argc)
		return demo_hello(path);
	if (strcmp(argv[i], "write") && strcmp(argv[i], "read")) {
		/* The old form: one argument, the socket. */
		if (path || i + 1 != argc || argv[i][0] == '-')
			return demo_usage();
		return demo_hello(argv[i]);
	}
	if (i + 2 != argc)
		return demo_usage();
	write = !strcmp(argv[i], "write");

	r = daxalloc_connect(path, &dx);
	if (r < 0)
		return demo_fail("connect", r);
	r = write ? demo_write(dx, argv[i + 1]) : demo_read(dx, argv[i + 1]);
	daxalloc_disconnect(dx);
	return r;
}
