// SPDX-License-Identifier: Apache-2.0
/*
 * test_storm.c -- kill -9 the daemon under a storm of clients, then audit
 *
 * Each round lets STORM_CLIENTS client processes allocate and delete as
 * fast as they can on the real daxallocd, kills the daemon with SIGKILL
 * after a random 20..200 ms, restarts it on the same 256 MiB file pool and
 * compares what it recovered with what the clients were told.  The rounds
 * run twice, on a pool in /dev/shm and on one in $TMPDIR, because the two
 * put the kills in different places (see storm_setup()); with
 * $DAXALLOC_TEST_DEVICE set (the devdax guest) they run once, on it.
 *
 * The daemon replies only once a change is durable, so the rule is strict:
 * every extent a client saw allocated and did not see deleted is there, at
 * the same place; every extent a client saw deleted is gone.  Only the one
 * request each client had in flight at the kill is in doubt: a delete (the
 * client wrote "? D id" before sending it) may or may not have happened,
 * and an alloc may have left one extent that nobody heard of.
 *
 * Clients keep their acknowledged results in a journal file each, written
 * with write(2) on an O_APPEND descriptor before the next request goes out:
 *
 *	A id offset length	an Alloc answered with status 0
 *	? D id			a Delete about to be sent
 *	D id			that Delete answered with status 0
 *	# ENOSPC		an Alloc refused for lack of space (counted)
 *
 * The parent's model of the pool carries over from round to round: the
 * extents alive when a round starts are dealt out to its clients, which may
 * delete them, and an extent left by an alloc in flight is adopted into the
 * model once it has been seen.
 *
 * STORM_ROUNDS (per pool) and STORM_SEED override the defaults.  The seed
 * fixes what the clients ask for, not when the kill lands, so a failure is
 * replayed by running again, often; it keeps the test folder (journals,
 * the daemon's debug log, the pool) for the post-mortem.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <json-c/json.h>

#include "envelope.h"
#include "harness.h"
#include "wire.h"

#define STORM_CLIENTS 4
/* Rounds per pool: one pool on tmpfs, one in $TMPDIR (see storm_setup). */
#define STORM_ROUNDS 25
#define STORM_MIB (1ULL << 20)
/* The daemon's default unit for a file pool: sizes are rounded up to it. */
#define STORM_UNIT (2 * STORM_MIB)
#define STORM_ALIGN (4 * STORM_MIB)
/* A client deletes rather than allocates once it owns this many. */
#define STORM_OWNED_HIGH 24
/* 256 MiB of 2 MiB units: no more extents than units, with room to spare. */
#define STORM_EXTENTS_MAX 256
/* What daxallocctl may print: a JSON list of at most 128 extents. */
#define STORM_OUT_MAX (1 << 20)

/* Exit statuses of a client process, and what its steps return. */
enum storm_exit {
	STORM_GO_ON = -1, /* a step's result: send the next request */
	STORM_EXIT_GONE = 0, /* the daemon went away: the normal end */
	STORM_EXIT_SETUP = 2, /* journal or socket trouble of our own */
	STORM_EXIT_PROTOCOL = 3, /* an answer the daemon must never give */
	STORM_EXIT_TIMEOUT = 4, /* the daemon stopped answering */
};

/* An extent the parent knows to exist (or, with doubt, maybe to exist). */
struct storm_extent {
	uint64_t id;
	uint64_t offset;
	uint64_t length;
	bool doubt; /* its Delete was in flight when the daemon died */
};

/* An extent as daxallocctl lists it. */
struct storm_listed {
	uint64_t id;
	uint64_t offset;
	uint64_t length;
	bool known; /* matched by the model */
};

static struct {
	struct harness h;
	const char *where; /* "tmpfs", "TMPDIR" or the device: where the pool lives */
	const char *pool;  /* its path: h.pool, or $DAXALLOC_TEST_DEVICE */
	const char *args[7];
	uint64_t seed;
	uint64_t rng;
	struct storm_extent ext[STORM_EXTENTS_MAX];
	size_t nmodel;
	char *out;

	unsigned long rounds;
	unsigned long allocs;
	unsigned long deletes;
	unsigned long enospc;
	unsigned long doubt_present;
	unsigned long doubt_absent;
	unsigned long adopted;
	unsigned long verified;
	unsigned long replayed;
	unsigned long torn;
	unsigned long max_extents;
	bool failed;
} storm;

/* storm_rand -- the next number of a splitmix64 sequence */
static uint64_t storm_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* storm_fail -- report a broken rule, with the round and the seed */
static void __attribute__((format(printf, 1, 2)))
storm_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "storm (%s pool): round %lu (STORM_SEED=%" PRIu64 "): ",
		storm.where, storm.rounds, storm.seed);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	storm.failed = true;
}

/*
 * Client side.  Everything below up to storm_client() runs in a forked
 * child, which reports through its journal and its exit status only.
 */

/*
 * storm_call -- send one request and wait for its answer
 *
 * Returns 0 and *resp, or the negative errno of the failed send or
 * receive (-EAGAIN: the receive timed out).
 */
static int storm_call(int fd, const Daxalloc__Envelope *req,
		      Daxalloc__Envelope **resp)
{
	int fds[WIRE_FDS_MAX];
	unsigned int nfds;
	int r;

	r = envelope_send(fd, req, NULL, 0);
	if (r < 0)
		return r;
	r = envelope_recv(fd, resp, fds, &nfds);
	if (r < 0)
		return r;
	wire_close_fds(fds, nfds);
	if ((*resp)->id != req->id) {
		fprintf(stderr, "storm client %d: answer %" PRIu64 " to request %" PRIu64 "\n",
			(int)getpid(), (*resp)->id, req->id);
		_exit(STORM_EXIT_PROTOCOL);
	}
	return 0;
}

/* storm_gone -- the exit status for a request that got no answer */
static int storm_gone(int r)
{
	if (r == -EAGAIN || r == -EWOULDBLOCK) {
		fprintf(stderr, "storm client %d: no answer in 10 s\n",
			(int)getpid());
		return STORM_EXIT_TIMEOUT;
	}
	return STORM_EXIT_GONE;
}

/* storm_note -- append one line to the client's journal, or die */
static void __attribute__((format(printf, 2, 3)))
storm_note(int jfd, const char *fmt, ...)
{
	char line[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One write(2) per line: the line is on the file before we go on. */
	if (n < 0 || (size_t)n >= sizeof(line) ||
	    write(jfd, line, (size_t)n) != n)
		_exit(STORM_EXIT_SETUP);
}

/* storm_protocol -- the daemon said something it must never say */
static int __attribute__((format(printf, 1, 2)))
storm_protocol(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "storm client %d: ", (int)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return STORM_EXIT_PROTOCOL;
}

/* storm_hello -- the first exchange; STORM_GO_ON, or an exit status */
static int storm_hello(int fd)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT, *resp;
	Daxalloc__Hello hello = DAXALLOC__HELLO__INIT;
	int r;

	hello.version_min = 1;
	hello.version_max = 1;
	hello.client_name = (char *)"storm";
	hello.pid = (uint32_t)getpid();
	env.version = 1;
	env.id = 1;
	env.body_case = DAXALLOC__ENVELOPE__BODY_HELLO;
	env.hello = &hello;
	r = storm_call(fd, &env, &resp);
	if (r < 0)
		return storm_gone(r);
	r = resp->status;
	envelope_free(resp);
	return r ? storm_protocol("Hello refused: %d", r) : STORM_GO_ON;
}

/*
 * storm_delete -- delete owned[k], journaled around the request
 *
 * STORM_GO_ON, or the client's exit status.
 */
static int storm_delete(int fd, int jfd, uint64_t rid, uint64_t *owned,
			size_t *nowned, size_t k)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT, *resp;
	Daxalloc__DeleteRequest del = DAXALLOC__DELETE_REQUEST__INIT;
	uint64_t id = owned[k];
	int r, status;

	del.key_case = DAXALLOC__DELETE_REQUEST__KEY_EXTENT_ID;
	del.extent_id = id;
	env.version = 1;
	env.id = rid;
	env.body_case = DAXALLOC__ENVELOPE__BODY_DELETE;
	env.delete_ = &del;
	storm_note(jfd, "? D %" PRIu64 "\n", id);
	r = storm_call(fd, &env, &resp);
	if (r < 0)
		return storm_gone(r);
	status = resp->status;
	if (status)
		r = storm_protocol("Delete of its own extent %" PRIu64 ": %d (%s)",
				   id, status, resp->message);
	envelope_free(resp);
	if (status)
		return r;
	storm_note(jfd, "D %" PRIu64 "\n", id);
	owned[k] = owned[--*nowned];
	return STORM_GO_ON;
}

/*
 * storm_alloc -- allocate 1..8 MiB, now and then 4 MiB aligned
 *
 * STORM_GO_ON, with *full set after -ENOSPC (a fine answer), or the
 * client's exit status: the daemon went away or said what it must not.
 */
static int storm_alloc(int fd, int jfd, uint64_t rid, uint64_t *rng,
		       uint64_t *owned, size_t *nowned, bool *full)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT, *resp;
	Daxalloc__AllocRequest ar = DAXALLOC__ALLOC_REQUEST__INIT;
	uint64_t size = STORM_MIB + storm_rand(rng) % (7 * STORM_MIB + 1);
	uint64_t align = storm_rand(rng) % 8 ? 0 : STORM_ALIGN;
	uint64_t want = (size + STORM_UNIT - 1) / STORM_UNIT * STORM_UNIT;
	const Daxalloc__Extent *x;
	char name[64];
	int r;

	/*
	 * Named, so that an extent outlives its client (which the kill takes
	 * with the daemon): anonymous ones would rightly be freed at restart.
	 */
	snprintf(name, sizeof(name), "storm-%d-%" PRIu64, (int)getpid(), rid);
	ar.size = size;
	ar.align = align;
	ar.name = name;
	env.version = 1;
	env.id = rid;
	env.body_case = DAXALLOC__ENVELOPE__BODY_ALLOC;
	env.alloc = &ar;
	r = storm_call(fd, &env, &resp);
	if (r < 0)
		return storm_gone(r);
	*full = resp->status == -ENOSPC;
	if (*full) {
		envelope_free(resp);
		storm_note(jfd, "# ENOSPC\n");
		return STORM_GO_ON;
	}
	r = STORM_GO_ON;
	x = resp->body_case == DAXALLOC__ENVELOPE__BODY_EXTENT_REPLY &&
			    resp->extent_reply ?
		    resp->extent_reply->extent :
		    NULL;
	if (resp->status)
		r = storm_protocol("Alloc %" PRIu64 " align %" PRIu64 ": %d (%s)",
				   size, align, resp->status, resp->message);
	else if (!x)
		r = storm_protocol("Alloc answered without an extent");
	else if (x->id == 0 || x->length != want || x->offset % STORM_UNIT ||
		 (align && x->offset % align))
		r = storm_protocol("Alloc %" PRIu64 " align %" PRIu64 " got extent %" PRIu64 " at %#" PRIx64 "+%#" PRIx64,
				   size, align, x->id, x->offset, x->length);
	if (r == STORM_GO_ON) {
		storm_note(jfd, "A %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
			   x->id, x->offset, x->length);
		owned[(*nowned)++] = x->id;
	}
	envelope_free(resp);
	return r;
}

/*
 * storm_client -- one client process, until the daemon goes away
 *
 * Starts owning every STORM_CLIENTS-th extent of the parent's model,
 * beginning at idx.  Deletes after a refusal for space, when it owns many,
 * and otherwise about one request in three.
 */
static int storm_client(const char *journal, unsigned int idx, uint64_t seed)
{
	uint64_t owned[STORM_EXTENTS_MAX], rng = seed, rid;
	size_t nowned = 0, i;
	bool full = false;
	int fd, jfd, r;

	signal(SIGPIPE, SIG_IGN);
	for (i = idx; i < storm.nmodel; i += STORM_CLIENTS)
		owned[nowned++] = storm.ext[i].id;
	jfd = open(journal, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC,
		   0644);
	if (jfd < 0)
		return STORM_EXIT_SETUP;
	fd = harness_connect(storm.h.sock, 10);
	/* A daemon killed before we got to it: a round without us. */
	if (fd < 0)
		return STORM_EXIT_GONE;
	r = storm_hello(fd);
	for (rid = 2; r == STORM_GO_ON; rid++) {
		if (nowned && (full || nowned >= STORM_OWNED_HIGH ||
			       storm_rand(&rng) % 100 < 35)) {
			r = storm_delete(fd, jfd, rid, owned, &nowned,
					 storm_rand(&rng) % nowned);
			full = false;
		} else {
			r = storm_alloc(fd, jfd, rid, &rng, owned, &nowned,
					&full);
		}
	}
	return r;
}

/*
 * Parent side: the daemon's life cycle, the model and its audit.
 */

/* storm_log_size -- bytes in the daemon's log so far */
static off_t storm_log_size(void)
{
	struct stat st;

	return stat(storm.h.log, &st) == 0 ? st.st_size : 0;
}

/* storm_log_read -- the daemon's log from byte from on, NUL-terminated */
static char *storm_log_read(off_t from)
{
	off_t size = storm_log_size();
	char *buf;
	ssize_t n;
	int fd;

	if (from > size)
		from = size;
	buf = calloc(1, (size_t)(size - from) + 1);
	if (!buf)
		return NULL;
	fd = open(storm.h.log, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = pread(fd, buf, (size_t)(size - from), from);
		buf[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	return buf;
}

/* storm_log_tail -- print the end of the daemon's log, for a failure */
static void storm_log_tail(void)
{
	off_t size = storm_log_size();
	char *tail = storm_log_read(size > 6000 ? size - 6000 : 0);

	fprintf(stderr, "---- end of %s ----\n%s---- log ends ----\n",
		storm.h.log, tail ? tail : "");
	free(tail);
}

/*
 * storm_start -- start the daemon on the pool and check what it said
 *
 * unclean: the previous run was killed, so the log of this start must say
 * "last shutdown was not clean"; otherwise it must not.  Counts journal
 * replays and torn transactions, which tell where the kills landed.
 */
static int storm_start(bool unclean)
{
	off_t from = storm_log_size();
	char *seg;
	bool said;
	int r;

	r = harness_start(&storm.h, storm.args);
	if (r < 0) {
		storm_fail("the daemon did not come back: %s", strerror(-r));
		storm_log_tail();
		return r;
	}
	seg = storm_log_read(from);
	if (!seg)
		return -ENOMEM;
	said = strstr(seg, "last shutdown was not clean") != NULL;
	if (said != unclean) {
		storm_fail("after a %s stop, the start %s \"not clean\"",
			   unclean ? "kill -9" : "clean",
			   said ? "says" : "does not say");
		fprintf(stderr, "---- this start's log ----\n%s----\n", seg);
		r = -EPROTO;
	}
	if (strstr(seg, "journal transaction was re-applied"))
		storm.replayed++;
	if (strstr(seg, "torn and dropped"))
		storm.torn++;
	free(seg);
	return r;
}

/* storm_ctl_check -- daxallocctl check must find nothing */
static int storm_ctl_check(void)
{
	const char *args[] = { "check", NULL };
	int status;

	if (harness_ctl(&storm.h, args, storm.out, STORM_OUT_MAX, &status) < 0)
		return -EIO;
	if (status != 0) {
		storm_fail("daxallocctl check exits %d:\n%s", status,
			   storm.out);
		return -EUCLEAN;
	}
	return 0;
}

/* storm_json_u64 -- a member of a listed extent, or false */
static bool storm_json_u64(json_object *o, const char *key, uint64_t *v)
{
	json_object *m;

	if (!json_object_object_get_ex(o, key, &m) ||
	    !json_object_is_type(m, json_type_int))
		return false;
	*v = json_object_get_uint64(m);
	return true;
}

/*
 * storm_list -- the daemon's extents, from daxallocctl list extents --json
 *
 * Returns the count (at most max), or a negative errno.
 */
static int storm_list(struct storm_listed *out, size_t max)
{
	const char *args[] = { "list", "extents", "--json", NULL };
	json_object *arr;
	size_t i, n;
	int status;

	if (harness_ctl(&storm.h, args, storm.out, STORM_OUT_MAX, &status) < 0)
		return -EIO;
	if (status != 0) {
		storm_fail("daxallocctl list exits %d:\n%s", status, storm.out);
		return -EIO;
	}
	arr = json_tokener_parse(storm.out);
	if (!arr || !json_object_is_type(arr, json_type_array)) {
		storm_fail("daxallocctl list printed no JSON array:\n%s",
			   storm.out);
		json_object_put(arr);
		return -EBADMSG;
	}
	n = json_object_array_length(arr);
	if (n > max) {
		storm_fail("%zu extents listed; the pool cannot hold more than %zu",
			   n, max);
		json_object_put(arr);
		return -E2BIG;
	}
	for (i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(arr, i);

		out[i].known = false;
		if (!storm_json_u64(o, "id", &out[i].id) ||
		    !storm_json_u64(o, "offset", &out[i].offset) ||
		    !storm_json_u64(o, "length", &out[i].length)) {
			storm_fail("listed extent %zu lacks id, offset or length",
				   i);
			json_object_put(arr);
			return -EBADMSG;
		}
	}
	json_object_put(arr);
	return (int)n;
}

/* storm_find -- the model's index of extent id, or -1 */
static ssize_t storm_find(uint64_t id)
{
	size_t i;

	for (i = 0; i < storm.nmodel; i++)
		if (storm.ext[i].id == id)
			return (ssize_t)i;
	return -1;
}

/* storm_add -- put an extent into the model; false when it cannot be */
static bool storm_add(uint64_t id, uint64_t offset, uint64_t length)
{
	if (storm_find(id) >= 0) {
		storm_fail("extent id %" PRIu64 " handed out twice", id);
		return false;
	}
	if (storm.nmodel == STORM_EXTENTS_MAX) {
		storm_fail("more than %d extents acknowledged",
			   STORM_EXTENTS_MAX);
		return false;
	}
	storm.ext[storm.nmodel++] =
		(struct storm_extent){ id, offset, length, false };
	return true;
}

/* storm_remove -- drop the model's extent at index i */
static void storm_remove(size_t i)
{
	storm.ext[i] = storm.ext[--storm.nmodel];
}

/*
 * storm_apply_journal -- fold one client's journal into the model
 *
 * *inflight_alloc tells whether the client may have had an Alloc in
 * flight: it had unless its last request was a Delete left unanswered.
 */
static int storm_apply_journal(const char *path, bool *inflight_alloc)
{
	char line[160];
	uint64_t id, off, len;
	bool pending_delete = false;
	ssize_t i;
	FILE *f;
	int r = 0;

	*inflight_alloc = true;
	f = fopen(path, "re");
	if (!f) {
		storm_fail("cannot read %s: %s", path, strerror(errno));
		return -errno;
	}
	while (!r && fgets(line, sizeof(line), f)) {
		if (line[0] == '#') {
			storm.enospc++;
		} else if (sscanf(line, "A %" SCNu64 " %" SCNu64 " %" SCNu64,
				  &id, &off, &len) == 3) {
			pending_delete = false;
			storm.allocs++;
			if (!storm_add(id, off, len))
				r = -EPROTO;
		} else if (sscanf(line, "? D %" SCNu64, &id) == 1) {
			pending_delete = true;
			i = storm_find(id);
			if (i < 0) {
				storm_fail("%s: deletes %" PRIu64 ", which it does not own",
					   path, id);
				r = -EPROTO;
			} else {
				storm.ext[i].doubt = true;
			}
		} else if (sscanf(line, "D %" SCNu64, &id) == 1) {
			pending_delete = false;
			storm.deletes++;
			i = storm_find(id);
			if (i < 0 || !storm.ext[i].doubt) {
				storm_fail("%s: \"D %" PRIu64 "\" without \"? D\"",
					   path, id);
				r = -EPROTO;
			} else {
				storm_remove((size_t)i);
			}
		} else {
			storm_fail("%s: unreadable line \"%s\"", path, line);
			r = -EPROTO;
		}
	}
	fclose(f);
	*inflight_alloc = !pending_delete;
	return r;
}

/* storm_cmp_offset -- order listed extents by offset */
static int storm_cmp_offset(const void *a, const void *b)
{
	const struct storm_listed *x = a, *y = b;

	return (x->offset > y->offset) - (x->offset < y->offset);
}

/*
 * storm_audit -- compare the restarted daemon's extents with the model
 *
 * (a) daxallocctl check passes; (b) every extent the model holds without
 * doubt is listed with its offset and length, one in doubt may be missing,
 * and at most one unknown extent per client that may have had an Alloc in
 * flight is listed, sized as a client would have asked; (c) no two listed
 * extents overlap.  The model then becomes exactly what is listed.
 */
static int storm_audit(unsigned int may_adopt)
{
	static struct storm_listed l[STORM_EXTENTS_MAX];
	unsigned int unknown = 0;
	size_t i, j;
	int n, r;

	r = storm_ctl_check();
	n = storm_list(l, STORM_EXTENTS_MAX);
	if (n < 0)
		return n;
	for (i = storm.nmodel; i-- > 0;) {
		struct storm_extent *e = &storm.ext[i];

		for (j = 0; j < (size_t)n && l[j].id != e->id; j++)
			;
		if (j == (size_t)n && e->doubt) {
			storm.doubt_absent++;
			storm_remove(i);
			continue;
		}
		if (j == (size_t)n) {
			storm_fail("LOST: acknowledged extent %" PRIu64 " (%#" PRIx64 "+%#" PRIx64 ") is not listed",
				   e->id, e->offset, e->length);
			r = -EPROTO;
			continue;
		}
		l[j].known = true;
		if (l[j].offset != e->offset || l[j].length != e->length) {
			storm_fail("MOVED: extent %" PRIu64 " was acknowledged at %#" PRIx64 "+%#" PRIx64 ", is listed at %#" PRIx64 "+%#" PRIx64,
				   e->id, e->offset, e->length, l[j].offset,
				   l[j].length);
			r = -EPROTO;
		}
		if (e->doubt)
			storm.doubt_present++;
		else
			storm.verified++;
		e->doubt = false;
	}
	for (j = 0; j < (size_t)n; j++) {
		if (l[j].known)
			continue;
		unknown++;
		if (l[j].length < STORM_UNIT || l[j].length > 8 * STORM_MIB ||
		    l[j].length % STORM_UNIT) {
			storm_fail("extent %" PRIu64 " (%#" PRIx64 "+%#" PRIx64 ") was never asked for",
				   l[j].id, l[j].offset, l[j].length);
			r = -EPROTO;
		}
		if (!storm_add(l[j].id, l[j].offset, l[j].length))
			r = -EPROTO;
		storm.adopted++;
	}
	if (unknown > may_adopt) {
		storm_fail("%u extents nobody acknowledged, but only %u Allocs were in flight",
			   unknown, may_adopt);
		r = -EPROTO;
	}
	qsort(l, (size_t)n, sizeof(l[0]), storm_cmp_offset);
	for (j = 1; j < (size_t)n; j++) {
		if (l[j - 1].offset + l[j - 1].length > l[j].offset) {
			storm_fail("OVERLAP: extents %" PRIu64 " (%#" PRIx64 "+%#" PRIx64 ") and %" PRIu64 " (%#" PRIx64 "+%#" PRIx64 ")",
				   l[j - 1].id, l[j - 1].offset,
				   l[j - 1].length, l[j].id, l[j].offset,
				   l[j].length);
			r = -EPROTO;
		}
	}
	if ((unsigned long)n > storm.max_extents)
		storm.max_extents = (unsigned long)n;
	return r;
}

/* storm_wait_clients -- reap the clients; false if one broke a rule */
static bool storm_wait_clients(const pid_t *pids)
{
	long long end = harness_now_ms() + 20000;
	bool ok = true;
	unsigned int i;
	int st;

	for (i = 0; i < STORM_CLIENTS; i++) {
		while (waitpid(pids[i], &st, WNOHANG) == 0) {
			if (harness_now_ms() > end) {
				storm_fail("client %u (pid %d) does not end", i,
					   (int)pids[i]);
				kill(pids[i], SIGKILL);
				waitpid(pids[i], &st, 0);
				ok = false;
				break;
			}
			usleep(2000);
		}
		if (!WIFEXITED(st) || WEXITSTATUS(st) != STORM_EXIT_GONE) {
			storm_fail("client %u (pid %d) ended with status %#x",
				   i, (int)pids[i], st);
			ok = false;
		}
	}
	return ok;
}

/*
 * storm_round -- one storm: clients, a stop with sig, a restart, an audit
 */
static int storm_round(unsigned int round, int sig)
{
	char journal[STORM_CLIENTS][PATH_MAX];
	pid_t pids[STORM_CLIENTS];
	unsigned int i, may_adopt = 0;
	long long ms = 20 + (long long)(storm_rand(&storm.rng) % 181);
	bool inflight, ok;
	int st, r;

	for (i = 0; i < STORM_CLIENTS; i++) {
		uint64_t seed = storm_rand(&storm.rng);

		snprintf(journal[i], sizeof(journal[i]), "%s/r%02u-c%u.journal",
			 storm.h.dir, round, i);
		pids[i] = fork();
		if (pids[i] < 0) {
			storm_fail("fork: %s", strerror(errno));
			return -errno;
		}
		if (pids[i] == 0)
			_exit(storm_client(journal[i], i, seed));
	}
	usleep((useconds_t)(ms * 1000));
	r = harness_stop(&storm.h, sig, &st);
	if (r < 0)
		storm_fail("stopping the daemon: %s", strerror(-r));
	else if (sig != SIGKILL && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
		storm_fail("the daemon stopped by %s ends with status %#x",
			   strsignal(sig), st);
	ok = storm_wait_clients(pids);
	r = storm_start(sig == SIGKILL);
	if (r < 0 && !harness_alive(&storm.h))
		return r;
	for (i = 0; i < STORM_CLIENTS; i++) {
		if (storm_apply_journal(journal[i], &inflight) < 0)
			ok = false;
		may_adopt += inflight;
	}
	if (storm_audit(may_adopt) < 0)
		ok = false;
	storm.rounds++;
	return ok && !storm.failed ? 0 : -EPROTO;
}

/*
 * storm_clean_restart -- SIGTERM with no client: exit 0, a clean start
 *
 * Nothing was in flight, so the model must match the listing exactly.
 */
static int storm_clean_restart(void)
{
	int st, r;

	r = harness_stop(&storm.h, SIGTERM, &st);
	if (r < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		storm_fail("SIGTERM: the daemon ends with status %#x (%d)", st,
			   r);
		storm_log_tail();
		return -EPROTO;
	}
	r = storm_start(false);
	if (r < 0 && !harness_alive(&storm.h))
		return r;
	if (storm_audit(0) < 0)
		r = -EPROTO;
	return r;
}

/* storm_rounds_wanted -- STORM_ROUNDS per pool, or the default */
static unsigned int storm_rounds_wanted(void)
{
	const char *s = getenv("STORM_ROUNDS");
	long v = s ? strtol(s, NULL, 10) : 0;

	return v > 0 && v < 100000 ? (unsigned int)v : STORM_ROUNDS;
}

/*
 * test_storm_rounds -- kill -9 under load, restart, audit; many times
 *
 * Halfway, a SIGTERM with no client checks a clean stop and a clean start;
 * with four rounds or more, one storm ends with SIGTERM instead of kill -9,
 * which must keep the same promises and leave a clean pool.
 */
static void test_storm_rounds(void)
{
	unsigned int rounds = storm_rounds_wanted(), r;
	long long t0 = harness_now_ms();

	for (r = 0; r < rounds && !storm.failed; r++) {
		int sig = rounds >= 4 && r == rounds / 4 ? SIGTERM : SIGKILL;

		CU_ASSERT_EQUAL(storm_round(r, sig), 0);
		if (r == rounds / 2 && !storm.failed)
			CU_ASSERT_EQUAL(storm_clean_restart(), 0);
	}
	CU_ASSERT_FALSE(storm.failed);
	CU_ASSERT_EQUAL(storm.rounds, rounds);
	fprintf(stderr,
		"\nstorm (%s pool): %lu rounds (%d clients, STORM_SEED=%" PRIu64 ") in %.1f s: "
		"%lu allocs and %lu deletes acknowledged, %lu ENOSPC; "
		"%lu extent checks passed (up to %lu extents at once); "
		"in-flight deletes: %lu happened, %lu did not; "
		"%lu extents of in-flight allocs adopted; "
		"restarts found the last transaction whole %lu times, torn %lu times\n",
		storm.where, storm.rounds, STORM_CLIENTS, storm.seed,
		(double)(harness_now_ms() - t0) / 1000.0, storm.allocs,
		storm.deletes, storm.enospc, storm.verified,
		storm.max_extents, storm.doubt_absent, storm.doubt_present,
		storm.adopted, storm.replayed, storm.torn);
	/* Each storm must have done something, or it tested nothing. */
	CU_ASSERT(storm.allocs >= storm.rounds);
}

/* test_offline_check -- a clean stop, then daxallocd --check on the pool */
static void test_offline_check(void)
{
	const char *argv[] = { getenv("DAXALLOCD"), "--check", "--device",
			       storm.pool, "--config", "/dev/null", NULL };
	int st;

	/* After a failed storm there may be no daemon left to stop. */
	CU_ASSERT_FATAL(harness_alive(&storm.h));
	CU_ASSERT_EQUAL_FATAL(harness_stop(&storm.h, SIGTERM, &st), 0);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CU_ASSERT_EQUAL(harness_run(argv, storm.out, STORM_OUT_MAX, &st), 0);
	CU_ASSERT_EQUAL(st, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(storm.out, "consistent"));
	if (st != 0)
		fprintf(stderr, "daxallocd --check:\n%s", storm.out);
}

/*
 * storm_make_pool -- format storm.pool, creating a 256 MiB file first
 *
 * The daemon creates no pool file under /dev (a devdax namespace missing
 * there must not silently become a file in RAM), so on /dev/shm the file
 * is made here (create) and formatted with daxallocd --format; a devdax
 * namespace is only formatted.
 */
static int storm_make_pool(bool create)
{
	const char *argv[] = { getenv("DAXALLOCD"), "--format", "--device",
			       storm.pool, "--config", "/dev/null", NULL };
	int fd, st;

	if (create) {
		fd = open(storm.pool, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0)
			return -errno;
		if (ftruncate(fd, 256 * STORM_MIB) < 0) {
			st = -errno;
			close(fd);
			return st;
		}
		close(fd);
	}
	if (harness_run(argv, storm.out, STORM_OUT_MAX, &st) < 0 || st != 0) {
		fprintf(stderr, "storm: daxallocd --format:\n%s", storm.out);
		return -EIO;
	}
	return 0;
}

/*
 * storm_setup -- a fresh model, folder and daemon on a new 256 MiB pool
 *
 * tmpdir names where the folder goes (NULL: $TMPDIR, else /tmp).  The two
 * places catch different faults.  On a disk the daemon spends most of its
 * time in msync(), after its stores reached the page cache, so that is
 * where most kills land: they cut commits in the middle and test journal
 * replay, but a daemon that answered before committing would rarely be
 * caught.  On tmpfs msync() is free and the kills spread over the request
 * path, which catches exactly that.
 */
static int storm_setup(const char *tmpdir, const char *where,
		       const char *dev)
{
	const char *s = getenv("STORM_SEED");
	const char *saved = getenv("TMPDIR");
	char *keep = saved ? strdup(saved) : NULL;
	int r;

	memset(&storm, 0, sizeof(storm));
	storm.where = where;
	storm.seed = s ? strtoull(s, NULL, 0) :
			 (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	storm.rng = storm.seed;
	storm.out = malloc(STORM_OUT_MAX);
	if (!storm.out) {
		free(keep);
		return -ENOMEM;
	}
	/* harness_init() makes its folder under $TMPDIR. */
	if (tmpdir)
		setenv("TMPDIR", tmpdir, 1);
	r = harness_init(&storm.h);
	if (tmpdir && keep)
		setenv("TMPDIR", keep, 1);
	else if (tmpdir)
		unsetenv("TMPDIR");
	free(keep);
	if (r < 0)
		return r;
	storm.pool = dev ? dev : storm.h.pool;
	if (tmpdir || dev) {
		r = storm_make_pool(!dev);
		if (r < 0)
			return r;
	}
	storm.args[0] = "--device";
	storm.args[1] = storm.pool;
	storm.args[2] = "--config";
	storm.args[3] = "/dev/null";
	storm.args[4] = dev ? NULL : "--size";
	storm.args[5] = "256M";
	storm.args[6] = NULL;
	fprintf(stderr, "storm (%s pool): STORM_SEED=%" PRIu64 ", folder %s\n",
		where, storm.seed, storm.h.dir);
	/* A new pool, formatted by the test or by this first start, is clean. */
	return storm_start(false);
}

/* storm_teardown -- stop the daemon; keep the folder of a failed run */
static int storm_teardown(void)
{
	if (storm.failed) {
		fprintf(stderr, "storm: kept %s (journals, daxallocd.log, pool.img)\n",
			storm.h.dir);
		setenv("DAXALLOC_KEEP_TEST_DIR", "1", 1);
	}
	harness_fini(&storm.h);
	free(storm.out);
	storm.out = NULL;
	return 0;
}

/* storm_have_shm -- is /dev/shm a folder we may write? */
static bool storm_have_shm(void)
{
	struct stat st;

	return stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
	       access("/dev/shm", W_OK) == 0;
}

static int suite_init_tmpfs(void)
{
	return storm_setup("/dev/shm", "tmpfs", NULL) < 0 ? -1 : 0;
}

static int suite_init_disk(void)
{
	return storm_setup(NULL, "TMPDIR", NULL) < 0 ? -1 : 0;
}

static int suite_init_device(void)
{
	const char *dev = getenv("DAXALLOC_TEST_DEVICE");

	return storm_setup(NULL, dev, dev) < 0 ? -1 : 0;
}

static int suite_fini(void)
{
	return storm_teardown();
}

static const struct harness_test storm_tests[] = {
	{ "kill -9 under load, restart, audit", test_storm_rounds },
	{ "clean stop, offline check", test_offline_check },
	{ NULL, NULL },
};

int main(void)
{
	const char *dev = getenv("DAXALLOC_TEST_DEVICE");
	struct harness_suite suites[3] = { { 0 } }, *s = suites;

	if (dev && *dev) {
		*s = (struct harness_suite){ "storm on DAXALLOC_TEST_DEVICE",
					     suite_init_device, suite_fini,
					     storm_tests };
		return harness_main(suites);
	}
	if (storm_have_shm())
		*s++ = (struct harness_suite){ "storm on a tmpfs pool",
					       suite_init_tmpfs, suite_fini,
					       storm_tests };
	else
		fprintf(stderr, "storm: no writable /dev/shm: tmpfs suite skipped\n");
	*s = (struct harness_suite){ "storm on a pool in TMPDIR", suite_init_disk,
				     suite_fini, storm_tests };
	return harness_main(suites);
}
