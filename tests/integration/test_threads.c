// SPDX-License-Identifier: Apache-2.0
/*
 * test_threads.c -- many threads on one libdaxalloc connection
 *
 * Two daemons serve these tests:
 *
 * - a scripted daxallocd, a thread of this process that speaks protocol 1
 *   on a socket of its own and keeps extents on a 256 MiB file.  It can
 *   answer in reverse order, mix events and replies for nobody (with a
 *   descriptor) into its answers, hold a request and answer it late, never
 *   answer, or close the connection on cue: everything session.c's shared
 *   request path must survive, tested through session_call() itself and
 *   through the public API;
 * - the real daxallocd (tests/common/harness.c), for 16 threads doing
 *   alloc / write / verify / delete on one connection, then
 *   `daxallocctl check`.
 *
 * argv[1] picks the suites: "scripted", "daxallocd", or nothing for both.
 * THREADS_ITERS sets the iterations per thread (default 200).  A test that
 * needs something the daemon does not serve yet says so and is skipped;
 * the program then exits 77 (CTest's "skipped") unless a test failed.
 *
 * CUnit is not thread-safe: worker threads count their failures and keep
 * the first explanation; the main thread asserts.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <json-c/json.h>

#include "daxalloc.h"
#include "envelope.h"
#include "harness.h"
#include "session.h"
#include "wire.h"

#define MIB (1ull << 20)
#define THREADS 16
#define PAGE 4096u

/* ---------------------------------------------------------------------- */
/* The scripted daemon                                                    */
/* ---------------------------------------------------------------------- */

#define FAKE_UNIT (2 * MIB)
#define FAKE_UNITS 128 /* a 256 MiB device */
#define FAKE_EXTENTS 256
#define FAKE_PAGE 3 /* extents per List reply: paging gets exercised */
#define FAKE_PENDING 64

/* Open requests for these ids are scripted, not extents. */
#define TAG_SHIFT 40
#define TAG_MASK (~((1ull << TAG_SHIFT) - 1))
#define TAG_ECHO \
	(1ull << TAG_SHIFT) /* Extent{id = tag} + a memfd holding tag */
#define TAG_HOLD (2ull << TAG_SHIFT) /* answered late, when TAG_RELEASE comes */
#define TAG_RELEASE (3ull << TAG_SHIFT) /* the held reply, then an echo */
#define TAG_HANG (4ull << TAG_SHIFT) /* never answered */
#define TAG_EVENTS \
	(5ull << TAG_SHIFT) /* low bits LeaseBreak events, then an echo */

/* Ids of the noise replies nobody asked for. */
#define NOISE_ID (1ull << 62)

struct fake_ext {
	bool used;
	uint64_t id;
	uint64_t unit; /* first unit */
	uint64_t units;
	uint32_t mode;
	char name[DAXALLOC_NAME_MAX + 1];
};

struct fake {
	char dir[64];
	char sock[108];
	char dev[108];
	int lfd;
	pthread_t thread;
	atomic_bool stop;

	/* Knobs; the tests set them while the thread serves. */
	atomic_bool reorder; /* answer each batch in reverse order */
	atomic_uint
		noise; /* every noise-th answer: an event and a stray reply */
	atomic_bool alloc_no_fd; /* Alloc replies without the descriptor */
	atomic_bool
		alloc_bad_fd; /* Alloc replies with /dev/null, which cannot be mapped */
	atomic_uint
		hang_close; /* close the connection after this many TAG_HANG */

	/* The fake thread's own state. */
	struct fake_ext ext[FAKE_EXTENTS];
	bool used[FAKE_UNITS];
	uint64_t next_id;
	uint64_t held_id;
	unsigned int answers;
	unsigned int hangs;

	/* What the tests look at. */
	atomic_bool serving; /* a connection is open */
	atomic_uint closes;
	atomic_uint deletes;
	atomic_uint extents;
};

static struct fake fake;

/* fake_memfd -- a memfd holding one 64-bit value */
static int fake_memfd(uint64_t v)
{
	int fd = memfd_create("test-threads", MFD_CLOEXEC);

	if (fd >= 0 && pwrite(fd, &v, sizeof(v), 0) != sizeof(v)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* fake_find -- the extent a request names, by id or name */
static struct fake_ext *fake_find(struct fake *f, bool by_name, uint64_t id,
				  const char *name)
{
	int i;

	for (i = 0; i < FAKE_EXTENTS; i++) {
		struct fake_ext *x = &f->ext[i];

		if (!x->used)
			continue;
		if (by_name ? !strcmp(x->name, name) && name[0] : x->id == id)
			return x;
	}
	return NULL;
}

/* fake_units_free -- are units [u, u + n) free? */
static bool fake_units_free(struct fake *f, uint64_t u, uint64_t n)
{
	uint64_t i;

	if (u + n > FAKE_UNITS)
		return false;
	for (i = u; i < u + n; i++)
		if (f->used[i])
			return false;
	return true;
}

/* fake_mark -- mark units [u, u + n) used or free */
static void fake_mark(struct fake *f, uint64_t u, uint64_t n, bool used)
{
	uint64_t i;

	for (i = u; i < u + n; i++)
		f->used[i] = used;
}

/* fake_free -- drop an extent */
static void fake_free(struct fake *f, struct fake_ext *x)
{
	fake_mark(f, x->unit, x->units, false);
	x->used = false;
	atomic_fetch_sub(&fake.extents, 1);
}

/* fake_extent_msg -- the wire form of an extent */
static void fake_extent_msg(Daxalloc__Extent *m, const struct fake_ext *x)
{
	daxalloc__extent__init(m);
	m->id = x->id;
	m->name = (char *)x->name;
	m->offset = x->unit * FAKE_UNIT;
	m->length = x->units * FAKE_UNIT;
	m->uid = getuid();
	m->gid = getgid();
	m->mode = x->mode;
}

/* What one answer holds while it is built. */
struct fake_reply {
	Daxalloc__Envelope env;
	Daxalloc__ExtentReply er;
	Daxalloc__Extent x;
	Daxalloc__ListReply lr;
	Daxalloc__Extent lx[FAKE_PAGE];
	Daxalloc__Extent *lp[FAKE_PAGE];
	Daxalloc__HelloReply hr;
	char msg[128];
	int fd;
};

/* fake_err -- an error answer */
static int __attribute__((format(printf, 3, 4)))
fake_err(struct fake_reply *rep, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rep->msg, sizeof(rep->msg), fmt, ap);
	va_end(ap);
	return err;
}

/* fake_set_extent -- answer with an ExtentReply for x */
static void fake_set_extent(struct fake_reply *rep, const struct fake_ext *x)
{
	fake_extent_msg(&rep->x, x);
	rep->er.extent = &rep->x;
	rep->env.body_case = DAXALLOC__ENVELOPE__BODY_EXTENT_REPLY;
	rep->env.extent_reply = &rep->er;
}

/* fake_set_echo -- answer a scripted Open: Extent{id = tag} and a memfd */
static void fake_set_echo(struct fake_reply *rep, uint64_t tag)
{
	daxalloc__extent__init(&rep->x);
	rep->x.id = tag;
	rep->x.offset = tag;
	rep->x.length = FAKE_UNIT;
	rep->er.extent = &rep->x;
	rep->env.body_case = DAXALLOC__ENVELOPE__BODY_EXTENT_REPLY;
	rep->env.extent_reply = &rep->er;
	rep->fd = fake_memfd(tag);
}

/* fake_send -- send an answer, closing its descriptor afterwards */
static int fake_send(int c, struct fake_reply *rep)
{
	int r;

	rep->env.version = 1;
	rep->env.message = rep->msg;
	r = envelope_send(c, &rep->env, &rep->fd, rep->fd >= 0 ? 1 : 0);
	if (rep->fd >= 0)
		close(rep->fd);
	return r;
}

/* fake_alloc -- first fit, aligned as asked */
static int fake_alloc(struct fake *f, const Daxalloc__AllocRequest *a,
		      struct fake_reply *rep)
{
	uint64_t units = (a->size + FAKE_UNIT - 1) / FAKE_UNIT;
	uint64_t step = a->align > FAKE_UNIT ? a->align / FAKE_UNIT : 1;
	uint64_t u;
	int i;

	if (!a->size)
		return fake_err(rep, -EINVAL, "size 0");
	if (a->name[0] && fake_find(f, true, 0, a->name))
		return fake_err(rep, -EEXIST, "extent %s exists", a->name);
	for (u = 0; u + units <= FAKE_UNITS; u += step)
		if (fake_units_free(f, u, units))
			break;
	if (u + units > FAKE_UNITS)
		return fake_err(rep, -ENOSPC, "no run of %llu units",
				(unsigned long long)units);
	for (i = 0; i < FAKE_EXTENTS && f->ext[i].used; i++)
		;
	if (i == FAKE_EXTENTS)
		return fake_err(rep, -ENOSPC, "extent table full");
	f->ext[i] = (struct fake_ext){ .used = true,
				       .id = ++f->next_id,
				       .unit = u,
				       .units = units,
				       .mode = a->mode ? a->mode : 0600 };
	snprintf(f->ext[i].name, sizeof(f->ext[i].name), "%s", a->name);
	fake_mark(f, u, units, true);
	atomic_fetch_add(&fake.extents, 1);
	fake_set_extent(rep, &f->ext[i]);
	if (atomic_load(&f->alloc_bad_fd)) {
		rep->fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	} else if (!atomic_load(&f->alloc_no_fd)) {
		rep->fd = open(f->dev, O_RDWR | O_CLOEXEC);
	}
	return 0;
}

/* fake_open -- an extent, or a scripted answer; 1: do not answer now */
static int fake_open(struct fake *f, int c, const Daxalloc__OpenRequest *o,
		     uint64_t req_id, struct fake_reply *rep)
{
	bool by_name = o->key_case == DAXALLOC__OPEN_REQUEST__KEY_NAME;
	uint64_t tag = by_name ? 0 : o->extent_id & TAG_MASK;
	struct fake_reply late;
	struct fake_ext *x;
	unsigned int i;

	switch (tag) {
	case 0:
		break;
	case TAG_HOLD:
		f->held_id = req_id;
		return 1;
	case TAG_HANG:
		f->hangs++;
		return 1;
	case TAG_RELEASE:
		memset(&late, 0, sizeof(late));
		daxalloc__envelope__init(&late.env);
		daxalloc__extent_reply__init(&late.er);
		late.env.id = f->held_id;
		fake_set_echo(&late, TAG_HOLD);
		fake_send(c, &late);
		fake_set_echo(rep, o->extent_id);
		return 0;
	case TAG_EVENTS:
		for (i = 1; i <= (o->extent_id & 0xffff); i++) {
			Daxalloc__Envelope ev = DAXALLOC__ENVELOPE__INIT;
			Daxalloc__LeaseBreak lb = DAXALLOC__LEASE_BREAK__INIT;

			lb.break_id = i;
			ev.version = 1;
			ev.body_case = DAXALLOC__ENVELOPE__BODY_LEASE_BREAK;
			ev.lease_break = &lb;
			envelope_send(c, &ev, NULL, 0);
		}
		fake_set_echo(rep, o->extent_id);
		return 0;
	default:
		fake_set_echo(rep, o->extent_id);
		return 0;
	}
	x = fake_find(f, by_name, o->extent_id, o->name);
	if (!x)
		return fake_err(rep, -ENOENT, "no such extent");
	fake_set_extent(rep, x);
	rep->fd = open(f->dev, (o->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	return 0;
}

/* fake_truncate -- shrink, or grow in place when the next units are free */
static int fake_truncate(struct fake *f, const Daxalloc__TruncateRequest *t,
			 struct fake_reply *rep)
{
	struct fake_ext *x = fake_find(f, false, t->extent_id, NULL);
	uint64_t units = (t->size + FAKE_UNIT - 1) / FAKE_UNIT;

	if (!x)
		return fake_err(rep, -ENOENT, "no extent %llu",
				(unsigned long long)t->extent_id);
	if (!units)
		return fake_err(rep, -EINVAL, "size 0");
	if (units < x->units) {
		fake_mark(f, x->unit + units, x->units - units, false);
	} else if (units > x->units) {
		if (!fake_units_free(f, x->unit + x->units, units - x->units))
			return fake_err(rep, -ENOSPC, "the neighbour is taken");
		fake_mark(f, x->unit + x->units, units - x->units, true);
		rep->fd = open(f->dev, O_RDWR | O_CLOEXEC);
	}
	x->units = units;
	fake_set_extent(rep, x);
	return 0;
}

/* fake_list -- a page of extents in id order from the cursor */
static void fake_list(struct fake *f, const Daxalloc__ListRequest *l,
		      struct fake_reply *rep)
{
	uint64_t floor = l->cursor;
	size_t n = 0;
	int i;

	daxalloc__list_reply__init(&rep->lr);
	while (n < FAKE_PAGE) {
		struct fake_ext *best = NULL;

		for (i = 0; i < FAKE_EXTENTS; i++)
			if (f->ext[i].used && f->ext[i].id >= floor &&
			    (!best || f->ext[i].id < best->id))
				best = &f->ext[i];
		if (!best)
			break;
		fake_extent_msg(&rep->lx[n], best);
		rep->lp[n] = &rep->lx[n];
		n++;
		floor = best->id + 1;
	}
	rep->lr.n_extents = n;
	rep->lr.extents = rep->lp;
	/* A full page may be the last: the next one is then empty. */
	rep->lr.next_cursor = n == FAKE_PAGE ? floor : 0;
	rep->env.body_case = DAXALLOC__ENVELOPE__BODY_LIST_REPLY;
	rep->env.list_reply = &rep->lr;
}

/* fake_noise -- an event and a reply for nobody, with a descriptor */
static void fake_noise(struct fake *f, int c)
{
	Daxalloc__Envelope ev = DAXALLOC__ENVELOPE__INIT;
	Daxalloc__LeaseBreak lb = DAXALLOC__LEASE_BREAK__INIT;
	struct fake_reply stray;

	lb.break_id = 1000 + f->answers;
	ev.version = 1;
	ev.body_case = DAXALLOC__ENVELOPE__BODY_LEASE_BREAK;
	ev.lease_break = &lb;
	envelope_send(c, &ev, NULL, 0);

	memset(&stray, 0, sizeof(stray));
	daxalloc__envelope__init(&stray.env);
	daxalloc__extent_reply__init(&stray.er);
	stray.env.id = NOISE_ID + f->answers;
	fake_set_echo(&stray, NOISE_ID);
	fake_send(c, &stray);
}

/*
 * fake_answer -- answer one request
 *
 * Returns 0, or -1 when the connection is to be closed.
 */
static int fake_answer(struct fake *f, int c, const Daxalloc__Envelope *req)
{
	struct fake_reply rep;
	struct fake_ext *x;
	unsigned int noise;
	int r = 0;

	memset(&rep, 0, sizeof(rep));
	daxalloc__envelope__init(&rep.env);
	daxalloc__extent_reply__init(&rep.er);
	rep.fd = -1;
	rep.env.id = req->id;

	switch (req->body_case) {
	case DAXALLOC__ENVELOPE__BODY_HELLO:
		daxalloc__hello_reply__init(&rep.hr);
		rep.hr.version = 1;
		rep.hr.server_version = (char *)"scripted";
		rep.hr.session_id = 1;
		rep.hr.unit = FAKE_UNIT;
		rep.env.body_case = DAXALLOC__ENVELOPE__BODY_HELLO_REPLY;
		rep.env.hello_reply = &rep.hr;
		break;
	case DAXALLOC__ENVELOPE__BODY_ALLOC:
		r = fake_alloc(f, req->alloc, &rep);
		break;
	case DAXALLOC__ENVELOPE__BODY_OPEN:
		r = fake_open(f, c, req->open, req->id, &rep);
		if (r == 1) {
			if (atomic_load(&f->hang_close) &&
			    f->hangs >= atomic_load(&f->hang_close))
				return -1;
			return 0;
		}
		break;
	case DAXALLOC__ENVELOPE__BODY_CLOSE:
		atomic_fetch_add(&f->closes, 1);
		if (!fake_find(f, false, req->close->extent_id, NULL))
			r = fake_err(&rep, -ENOENT, "no such extent");
		break;
	case DAXALLOC__ENVELOPE__BODY_TRUNCATE:
		r = fake_truncate(f, req->truncate, &rep);
		break;
	case DAXALLOC__ENVELOPE__BODY_DELETE:
		atomic_fetch_add(&f->deletes, 1);
		x = fake_find(f,
			      req->delete_->key_case ==
				      DAXALLOC__DELETE_REQUEST__KEY_NAME,
			      req->delete_->extent_id, req->delete_->name);
		if (x)
			fake_free(f, x);
		else
			r = fake_err(&rep, -ENOENT, "no such extent");
		break;
	case DAXALLOC__ENVELOPE__BODY_STAT:
		x = fake_find(f,
			      req->stat->key_case ==
				      DAXALLOC__STAT_REQUEST__KEY_NAME,
			      req->stat->extent_id, req->stat->name);
		if (x)
			fake_set_extent(&rep, x);
		else
			r = fake_err(&rep, -ENOENT, "no such extent");
		break;
	case DAXALLOC__ENVELOPE__BODY_LIST:
		fake_list(f, req->list, &rep);
		break;
	default:
		r = fake_err(&rep, -EOPNOTSUPP, "not scripted");
		break;
	}
	if (r < 0) {
		rep.env.body_case = DAXALLOC__ENVELOPE__BODY__NOT_SET;
		if (rep.fd >= 0)
			close(rep.fd);
		rep.fd = -1;
	}
	rep.env.status = r;
	/* Read before the answer goes: the test may change it once it has. */
	noise = atomic_load(&f->noise);
	fake_send(c, &rep);
	if (noise && ++f->answers % noise == 0)
		fake_noise(f, c);
	return 0;
}

/* fake_serve -- one connection: read what comes, answer in batches */
static void fake_serve(struct fake *f, int c)
{
	Daxalloc__Envelope *pending[FAKE_PENDING];
	int fds[WIRE_FDS_MAX];
	unsigned int np = 0, nfds, i;
	bool reorder, more, close_now = false;

	f->hangs = 0;
	while (!atomic_load(&f->stop) && !close_now) {
		struct pollfd pfd = { .fd = c, .events = POLLIN };

		/* With requests pending, wait a moment for more: a batch. */
		more = poll(&pfd, 1, np ? 1 : 50) > 0;
		if (more) {
			if (envelope_recv(c, &pending[np], fds, &nfds) < 0)
				break;
			wire_close_fds(fds, nfds);
			if (++np < FAKE_PENDING)
				continue;
		}
		reorder = atomic_load(&f->reorder);
		for (i = 0; i < np && !close_now; i++)
			close_now =
				fake_answer(f, c,
					    pending[reorder ? np - 1 - i : i]) <
				0;
		for (i = 0; i < np; i++)
			envelope_free(pending[i]);
		np = 0;
	}
	for (i = 0; i < np; i++)
		envelope_free(pending[i]);
}

/* fake_thread -- accept connections one at a time until told to stop */
static void *fake_thread(void *arg)
{
	struct fake *f = arg;

	while (!atomic_load(&f->stop)) {
		struct pollfd pfd = { .fd = f->lfd, .events = POLLIN };
		int c;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		c = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		atomic_store(&f->serving, true);
		fake_serve(f, c);
		close(c);
		atomic_store(&f->serving, false);
	}
	return NULL;
}

/* fake_start -- a device file, a listening socket, the serving thread */
static int fake_start(struct fake *f)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *tmp = getenv("TMPDIR");
	int fd;

	memset(f, 0, sizeof(*f));
	if (!tmp || strlen(tmp) > 30)
		tmp = "/tmp";
	snprintf(f->dir, sizeof(f->dir), "%s/daxalloc-fake.XXXXXX", tmp);
	if (!mkdtemp(f->dir))
		return -errno;
	snprintf(f->sock, sizeof(f->sock), "%s/fake.sock", f->dir);
	snprintf(f->dev, sizeof(f->dev), "%s/dev.img", f->dir);
	fd = open(f->dev, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, FAKE_UNITS * FAKE_UNIT) < 0)
		return -errno;
	close(fd);
	f->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (f->lfd < 0)
		return -errno;
	strcpy(sa.sun_path, f->sock);
	if (bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(f->lfd, 16) < 0)
		return -errno;
	return -pthread_create(&f->thread, NULL, fake_thread, f);
}

/* fake_stop -- stop the thread and remove the files */
static void fake_stop(struct fake *f)
{
	atomic_store(&f->stop, true);
	pthread_join(f->thread, NULL);
	close(f->lfd);
	unlink(f->sock);
	unlink(f->dev);
	rmdir(f->dir);
}

/*
 * fake_settle -- wait up to 2 s until the last connection is closed
 *
 * Descriptor counts include the scripted daemon's: compare them only when
 * it has let go of its connection.
 */
static int fake_settle(struct fake *f)
{
	int i;

	for (i = 0; i < 200 && atomic_load(&f->serving); i++)
		usleep(10000);
	return harness_count_fds();
}

/* fake_idle -- set the knobs back once the connection is gone */
static void fake_idle(struct fake *f)
{
	fake_settle(f);
	atomic_store(&f->reorder, false);
	atomic_store(&f->noise, 0);
	atomic_store(&f->alloc_no_fd, false);
	atomic_store(&f->alloc_bad_fd, false);
	atomic_store(&f->hang_close, 0);
}

/* ---------------------------------------------------------------------- */
/* What the tests share                                                   */
/* ---------------------------------------------------------------------- */

static int iters = 200;
static unsigned int skipped;
static struct harness daemon_h;
static bool daemon_up;
static bool daemon_fds; /* Alloc replies carry the device fd */
static bool daemon_open; /* Open works */
static char daemon_why[256]; /* what is missing, when something is */

/* wait_fds -- wait up to 2 s for this process to hold want descriptors */
static int wait_fds(int want)
{
	long long end = harness_now_ms() + 2000;
	int n;

	while ((n = harness_count_fds()) != want && harness_now_ms() < end)
		usleep(10000);
	return n;
}

/* skip -- say why a test cannot run against this daemon yet */
static void skip(const char *what)
{
	fprintf(stderr, "\n    SKIPPED %s: %s\n", what, daemon_why);
	skipped++;
}

/* What one worker thread did. */
struct worker {
	pthread_t thread;
	int idx;
	int iters;
	void *arg;
	atomic_int *go;
	int failures;
	char why[256];
};

/* worker_fail -- record a worker's failure (the first explanation stays) */
static void __attribute__((format(printf, 2, 3)))
worker_fail(struct worker *w, const char *fmt, ...)
{
	va_list ap;

	if (!w->failures++) {
		va_start(ap, fmt);
		vsnprintf(w->why, sizeof(w->why), fmt, ap);
		va_end(ap);
	}
}

/* run_workers -- n threads running fn, started together; total failures */
static int run_workers(int n, void *(*fn)(void *), void *arg, int its)
{
	struct worker *w = calloc((size_t)n, sizeof(*w));
	atomic_int go = 0;
	int i, failures = 0;

	if (!w)
		return 1;
	for (i = 0; i < n; i++) {
		w[i].idx = i;
		w[i].iters = its;
		w[i].arg = arg;
		w[i].go = &go;
		if (pthread_create(&w[i].thread, NULL, fn, &w[i]) != 0) {
			n = i;
			failures++;
			break;
		}
	}
	atomic_store(&go, 1);
	for (i = 0; i < n; i++) {
		pthread_join(w[i].thread, NULL);
		if (w[i].failures)
			fprintf(stderr,
				"\n    thread %d: %d failures, first: %s\n", i,
				w[i].failures, w[i].why);
		failures += w[i].failures;
	}
	free(w);
	return failures;
}

/* worker_start -- wait until every worker exists */
static void worker_start(struct worker *w)
{
	while (!atomic_load(w->go))
		sched_yield();
}

/* ---------------------------------------------------------------------- */
/* session.c against the scripted daemon                                  */
/* ---------------------------------------------------------------------- */

/* echo_call -- a scripted Open; checks the reply and its memfd are ours */
static int echo_call(struct session *s, uint64_t tag, struct session_err *err)
{
	Daxalloc__Envelope req = DAXALLOC__ENVELOPE__INIT, *resp;
	Daxalloc__OpenRequest o = DAXALLOC__OPEN_REQUEST__INIT;
	unsigned int nfds;
	uint64_t got = 0;
	int fds[1], r;

	o.key_case = DAXALLOC__OPEN_REQUEST__KEY_EXTENT_ID;
	o.extent_id = tag;
	req.body_case = DAXALLOC__ENVELOPE__BODY_OPEN;
	req.open = &o;
	r = session_call(s, &req, &resp, fds, 1, &nfds, err);
	if (r < 0)
		return r;
	if (resp->body_case != DAXALLOC__ENVELOPE__BODY_EXTENT_REPLY ||
	    resp->extent_reply->extent->id != tag) {
		snprintf(err->msg, sizeof(err->msg), "reply for another call");
		r = -EXDEV;
	} else if (nfds != 1) {
		snprintf(err->msg, sizeof(err->msg), "%u descriptors", nfds);
		r = -EBADF;
	} else if (pread(fds[0], &got, sizeof(got), 0) != sizeof(got) ||
		   got != tag) {
		snprintf(err->msg, sizeof(err->msg),
			 "the descriptor holds %#" PRIx64 ", not %#" PRIx64,
			 got, tag);
		r = -EXDEV;
	}
	wire_close_fds(fds, nfds);
	envelope_free(resp);
	return r;
}

/* echo_worker -- many scripted calls, each checking it got its own reply */
static void *echo_worker(void *arg)
{
	struct worker *w = arg;
	struct session *s = w->arg;
	struct session_err err = { "" };
	int i, r;

	worker_start(w);
	for (i = 0; i < w->iters; i++) {
		uint64_t tag = TAG_ECHO | (uint64_t)w->idx << 24 | (uint64_t)i;

		r = echo_call(s, tag, &err);
		if (r < 0)
			worker_fail(w, "call %d: %d %s", i, r, err.msg);
	}
	return NULL;
}

static void test_session_routing(void)
{
	Daxalloc__Envelope *ev;
	struct session_err err;
	struct session *s;
	int before = fake_settle(&fake), n = 0, r;

	fake.reorder = true;
	fake.noise = 7;
	CU_ASSERT_EQUAL_FATAL(session_open(fake.sock, "test", &s, &err), 0);
	CU_ASSERT_EQUAL(s->unit, FAKE_UNIT);
	/* At least enough calls for the noise to overflow the event queue. */
	CU_ASSERT_EQUAL(
		run_workers(THREADS, echo_worker, s, iters > 64 ? iters : 64),
		0);
	/* Noise replies were dropped and their descriptors closed. */
	CU_ASSERT(s->dropped > 0);
	/* Events were queued, the overflow is reported once, in order. */
	while ((r = session_next_event(s, &ev, &err)) == 1) {
		CU_ASSERT_EQUAL(ev->body_case,
				DAXALLOC__ENVELOPE__BODY_LEASE_BREAK);
		envelope_free(ev);
		n++;
	}
	/* The queue was full; one more may have come after the last reply. */
	CU_ASSERT(n >= SESSION_EVENTS_MAX);
	CU_ASSERT_EQUAL(r, -ENOBUFS);
	CU_ASSERT_EQUAL(session_next_event(s, &ev, &err), 0);
	session_close(s);
	fake_settle(&fake);
	CU_ASSERT_EQUAL(wait_fds(before), before);
	fake_idle(&fake);
}

static void test_session_events(void)
{
	Daxalloc__Envelope *ev;
	struct session_err err;
	struct session *s;
	uint64_t i;

	CU_ASSERT_EQUAL_FATAL(session_open(fake.sock, "test", &s, &err), 0);
	CU_ASSERT_EQUAL(session_next_event(s, &ev, &err), 0);
	CU_ASSERT_EQUAL(echo_call(s, TAG_EVENTS | 5, &err), 0);
	for (i = 1; i <= 5; i++) {
		CU_ASSERT_EQUAL_FATAL(session_next_event(s, &ev, &err), 1);
		CU_ASSERT_EQUAL(ev->body_case,
				DAXALLOC__ENVELOPE__BODY_LEASE_BREAK);
		CU_ASSERT_EQUAL(ev->lease_break->break_id, i);
		envelope_free(ev);
	}
	CU_ASSERT_EQUAL(session_next_event(s, &ev, &err), 0);
	/* Events that arrive while no call reads are fetched by the next look. */
	fake.noise = 1;
	CU_ASSERT_EQUAL(echo_call(s, TAG_ECHO, &err), 0);
	usleep(100000);
	CU_ASSERT_EQUAL(session_next_event(s, &ev, &err), 1);
	envelope_free(ev);
	CU_ASSERT_EQUAL(session_next_event(s, &ev, &err), 0);
	CU_ASSERT(s->dropped >= 1);
	session_close(s);
	fake_idle(&fake);
}

/* hold_worker -- thread 0 waits for a reply that comes late; others echo */
static void *hold_worker(void *arg)
{
	struct worker *w = arg;
	struct session *s = w->arg;
	struct session_err err = { "" };
	long long t0;
	int i, r;

	worker_start(w);
	if (w->idx == 0) {
		t0 = harness_now_ms();
		r = echo_call(s, TAG_HOLD, &err);
		if (r != -ETIMEDOUT)
			worker_fail(w, "held call: %d (%s), not -ETIMEDOUT", r,
				    err.msg);
		else if (!strstr(err.msg, "no reply"))
			worker_fail(w, "held call: message \"%s\"", err.msg);
		if (harness_now_ms() - t0 < 250 || harness_now_ms() - t0 > 5000)
			worker_fail(w, "held call gave up after %lld ms",
				    harness_now_ms() - t0);
		return NULL;
	}
	/* Followers keep going while the leader's call times out. */
	for (i = 0; i < w->iters; i++) {
		r = echo_call(s,
			      TAG_ECHO | (uint64_t)w->idx << 24 | (uint64_t)i,
			      &err);
		if (r < 0)
			worker_fail(w, "call %d: %d %s", i, r, err.msg);
		usleep(1000);
	}
	return NULL;
}

static void test_session_timeout(void)
{
	struct session_err err;
	struct session *s;
	uint64_t dropped;
	int before = fake_settle(&fake);

	fake.reorder = true;
	CU_ASSERT_EQUAL_FATAL(session_open(fake.sock, "test", &s, &err), 0);
	s->timeout_ms = 300;
	CU_ASSERT_EQUAL(run_workers(8, hold_worker, s, 400), 0);
	/* The late reply (with a descriptor) finds nobody, and is dropped. */
	dropped = s->dropped;
	CU_ASSERT_EQUAL(echo_call(s, TAG_RELEASE, &err), 0);
	CU_ASSERT_EQUAL(s->dropped, dropped + 1);
	/* And the session goes on. */
	CU_ASSERT_EQUAL(echo_call(s, TAG_ECHO | 1, &err), 0);
	session_close(s);
	fake_settle(&fake);
	CU_ASSERT_EQUAL(wait_fds(before), before);
	fake_idle(&fake);
}

/* hang_worker -- wait for a reply that never comes; the daemon goes away */
static void *hang_worker(void *arg)
{
	struct worker *w = arg;
	struct session *s = w->arg;
	struct session_err err = { "" };
	int r;

	worker_start(w);
	r = echo_call(s, TAG_HANG | (uint64_t)w->idx, &err);
	if (r != -EPIPE)
		worker_fail(w, "%d (%s), not -EPIPE", r, err.msg);
	else if (!strstr(err.msg, "closed the connection"))
		worker_fail(w, "message \"%s\"", err.msg);
	return NULL;
}

static void test_session_broken(void)
{
	Daxalloc__Envelope *ev;
	struct session_err err;
	struct session *s;
	long long t0;
	int before = fake_settle(&fake);

	fake.hang_close = 8;
	CU_ASSERT_EQUAL_FATAL(session_open(fake.sock, "test", &s, &err), 0);
	CU_ASSERT_EQUAL(run_workers(8, hang_worker, s, 1), 0);
	/* Later calls fail at once. */
	t0 = harness_now_ms();
	CU_ASSERT_EQUAL(echo_call(s, TAG_ECHO, &err), -EPIPE);
	CU_ASSERT(harness_now_ms() - t0 < 100);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "broken"));
	CU_ASSERT_EQUAL(session_next_event(s, &ev, &err), -EPIPE);
	session_close(s);
	fake_settle(&fake);
	CU_ASSERT_EQUAL(wait_fds(before), before);
	fake_idle(&fake);
}

/* ---------------------------------------------------------------------- */
/* The public API; the same checks run on the scripted and the real daemon */
/* ---------------------------------------------------------------------- */

/* map_align -- the alignment libdaxalloc promises for mappings */
static uint64_t map_align(uint64_t unit)
{
	if (unit <= PAGE)
		return PAGE;
	return unit < (1ull << 30) ? unit : 1ull << 30;
}

/* stamp_word -- what a worker writes at one device offset */
static uint64_t stamp_word(uint64_t stamp, uint64_t dev_off)
{
	return stamp ^ (dev_off * 0x9e3779b97f4a7c15ull);
}

/* stamp_fill -- write stamp words at the start and end of every page */
static void stamp_fill(void *addr, uint64_t len, uint64_t dev_off,
		       uint64_t stamp)
{
	uint64_t p;

	for (p = 0; p < len; p += PAGE) {
		*(volatile uint64_t *)((char *)addr + p) =
			stamp_word(stamp, dev_off + p);
		*(volatile uint64_t *)((char *)addr + p + PAGE - 8) =
			stamp_word(stamp, dev_off + p + PAGE - 8);
	}
}

/* stamp_check -- the first offset whose word is wrong, or -1 */
static long long stamp_check(const void *addr, uint64_t len, uint64_t dev_off,
			     uint64_t stamp)
{
	uint64_t p, q;

	for (p = 0; p < len; p += PAGE) {
		for (q = p; q <= p + PAGE - 8; q += PAGE - 8)
			if (*(const volatile uint64_t *)((const char *)addr +
							 q) !=
			    stamp_word(stamp, dev_off + q))
				return (long long)q;
	}
	return -1;
}

/* What the alloc workers share. */
struct api_run {
	struct daxalloc *dx;
	bool reopen; /* verify through a second, read-only mapping */
};

/*
 * alloc_worker -- alloc / write / verify / delete, on one shared connection
 *
 * Anonymous extents of 1-4 units; the pattern is the thread's and the
 * iteration's, mixed with the device offset, so an extent (or descriptor)
 * delivered to the wrong thread, or mapped at the wrong offset, shows.
 */
static void *alloc_worker(void *arg)
{
	struct worker *w = arg;
	struct api_run *run = w->arg;
	struct daxalloc *dx = run->dx;
	uint64_t unit = daxalloc_unit(dx);
	unsigned int seed = (unsigned int)w->idx * 7919u + 1;
	struct daxalloc_extent *e, *ro;
	int i, r;

	worker_start(w);
	for (i = 0; i < w->iters && w->failures < 5; i++) {
		uint64_t size = (1 + (uint64_t)(rand_r(&seed) % 4)) * unit;
		uint64_t stamp =
			(uint64_t)w->idx << 48 | (uint64_t)i << 16 | 0xd5;
		uint64_t off, len;
		long long bad;
		void *addr;

		r = daxalloc_alloc(dx, NULL, size, 0, 0, 0, &e);
		if (r < 0) {
			worker_fail(w, "alloc %d: %s (%s)", i,
				    daxalloc_strerror(r), daxalloc_errmsg());
			continue;
		}
		if (daxalloc_errmsg()[0])
			worker_fail(w, "alloc %d succeeded with message \"%s\"",
				    i, daxalloc_errmsg());
		addr = daxalloc_extent_addr(e);
		len = daxalloc_extent_length(e);
		off = daxalloc_extent_offset(e);
		if (len < size || (uintptr_t)addr % map_align(unit) ||
		    daxalloc_extent_fd(e) != -1)
			worker_fail(w, "alloc %d: %p+%#" PRIx64 " fd %d", i,
				    addr, len, daxalloc_extent_fd(e));
		stamp_fill(addr, len, off, stamp);
		bad = stamp_check(addr, len, off, stamp);
		if (bad >= 0)
			worker_fail(w,
				    "extent %" PRIu64 ": word at +%lld changed",
				    daxalloc_extent_id(e), bad);
		if (run->reopen) {
			r = daxalloc_open_id(dx, daxalloc_extent_id(e),
					     DAXALLOC_RDONLY, &ro);
			if (r < 0) {
				worker_fail(w, "open_id %" PRIu64 ": %s (%s)",
					    daxalloc_extent_id(e),
					    daxalloc_strerror(r),
					    daxalloc_errmsg());
			} else {
				if (daxalloc_extent_offset(ro) != off ||
				    daxalloc_extent_length(ro) != len)
					worker_fail(
						w,
						"reopened extent at %#" PRIx64
						"+%#" PRIx64 ", not %#" PRIx64,
						daxalloc_extent_offset(ro),
						daxalloc_extent_length(ro),
						off);
				else if ((bad = stamp_check(
						  daxalloc_extent_addr(ro), len,
						  off, stamp)) >= 0)
					worker_fail(w,
						    "read-only view of %" PRIu64
						    " differs at +%lld",
						    daxalloc_extent_id(e), bad);
				r = daxalloc_close(ro);
				if (r < 0)
					worker_fail(w, "close: %s (%s)",
						    daxalloc_strerror(r),
						    daxalloc_errmsg());
			}
		}
		r = daxalloc_delete(e);
		if (r < 0)
			worker_fail(w, "delete %d: %s (%s)", i,
				    daxalloc_strerror(r), daxalloc_errmsg());
	}
	return NULL;
}

/* count_extent -- daxalloc_list callback: count */
static int count_extent(const struct daxalloc_info *info, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

/* run_alloc_threads -- THREADS alloc workers on one new connection */
static int run_alloc_threads(const char *sock, bool reopen, int its)
{
	struct api_run run = { .reopen = reopen };
	int failures, n = 0;

	if (daxalloc_connect(sock, &run.dx) < 0) {
		fprintf(stderr, "connect: %s\n", daxalloc_errmsg());
		return 1;
	}
	failures = run_workers(THREADS, alloc_worker, &run, its);
	/* Nothing is left behind. */
	if (daxalloc_list(run.dx, 0, count_extent, &n) == 0 && n) {
		fprintf(stderr, "\n    %d extents left\n", n);
		failures++;
	}
	daxalloc_disconnect(run.dx);
	return failures;
}

/* ---------------------------------------------------------------------- */
/* The public API against the scripted daemon                             */
/* ---------------------------------------------------------------------- */

/* dev_word -- a word of the scripted daemon's device, read with pread */
static uint64_t dev_word(uint64_t off)
{
	int fd = open(fake.dev, O_RDONLY | O_CLOEXEC);
	uint64_t v = 0;

	if (fd >= 0) {
		if (pread(fd, &v, sizeof(v), (off_t)off) != sizeof(v))
			v = 0;
		close(fd);
	}
	return v;
}

/* list_collect -- daxalloc_list callback: ids in order; stops at 100 */
struct collected {
	uint64_t ids[64];
	int n;
};

static int list_collect(const struct daxalloc_info *info, void *arg)
{
	struct collected *c = arg;

	if (c->n == 64)
		return 100;
	c->ids[c->n++] = info->id;
	return 0;
}

static void test_api_scripted(void)
{
	struct daxalloc_extent *a, *n, *ro, *raw, *t, *tmp[5];
	struct daxalloc_info info;
	struct collected col = { .n = 0 };
	struct daxalloc *dx;
	int before = fake_settle(&fake), i;
	char big[DAXALLOC_NAME_MAX + 2];
	void *p, *blocker;

	CU_ASSERT_EQUAL_FATAL(daxalloc_connect(fake.sock, &dx), 0);
	CU_ASSERT_EQUAL(daxalloc_unit(dx), FAKE_UNIT);

	/* Anonymous: rounded up, aligned, written through to the device. */
	CU_ASSERT_EQUAL_FATAL(daxalloc_alloc(dx, NULL, 3 * MIB, 0, 0, 0, &a),
			      0);
	CU_ASSERT_EQUAL(daxalloc_extent_length(a), 4 * MIB);
	CU_ASSERT_EQUAL((uintptr_t)daxalloc_extent_addr(a) % FAKE_UNIT, 0);
	CU_ASSERT_EQUAL(daxalloc_extent_fd(a), -1);
	stamp_fill(daxalloc_extent_addr(a), 4 * MIB, daxalloc_extent_offset(a),
		   1);
	CU_ASSERT_EQUAL(dev_word(daxalloc_extent_offset(a) + MIB),
			stamp_word(1, daxalloc_extent_offset(a) + MIB));

	/* Named, with the fd kept; names are unique. */
	CU_ASSERT_EQUAL_FATAL(daxalloc_alloc(dx, "named", 2 * MIB, 0, 0640,
					     DAXALLOC_KEEP_FD, &n),
			      0);
	CU_ASSERT(daxalloc_extent_fd(n) >= 0);
	memset(daxalloc_extent_addr(n), 0x5a, 2 * MIB);
	CU_ASSERT_EQUAL(daxalloc_alloc(dx, "named", 2 * MIB, 0, 0, 0, &t),
			-EEXIST);
	CU_ASSERT_PTR_NULL(t);
	CU_ASSERT_PTR_NOT_NULL(strstr(daxalloc_errmsg(), "exists"));

	/* Local checks, before anything is sent. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CU_ASSERT_EQUAL(daxalloc_alloc(dx, big, MIB, 0, 0, 0, &t),
			-ENAMETOOLONG);
	CU_ASSERT_EQUAL(daxalloc_alloc(dx, "", MIB, 0, 0, 0, &t), -EINVAL);
	CU_ASSERT_EQUAL(daxalloc_alloc(dx, NULL, 0, 0, 0, 0, &t), -EINVAL);
	CU_ASSERT_EQUAL(daxalloc_alloc(dx, NULL, MIB, 3 * MIB, 0, 0, &t),
			-EINVAL);
	CU_ASSERT_EQUAL(
		daxalloc_alloc(dx, NULL, MIB, 0, 0, DAXALLOC_RDONLY, &t),
		-EINVAL);
	CU_ASSERT_EQUAL(daxalloc_alloc(dx, NULL, MIB, 0, 04755, 0, &t),
			-EINVAL);
	CU_ASSERT_EQUAL(daxalloc_open(dx, "named", 0x80, &t), -EINVAL);
	CU_ASSERT_EQUAL(daxalloc_stat(dx, big, &info), -ENAMETOOLONG);

	/* Stat; a successful call clears the message. */
	CU_ASSERT_EQUAL(daxalloc_stat(dx, "named", &info), 0);
	CU_ASSERT_STRING_EQUAL(daxalloc_errmsg(), "");
	CU_ASSERT_STRING_EQUAL(info.name, "named");
	CU_ASSERT_EQUAL(info.id, daxalloc_extent_id(n));
	CU_ASSERT_EQUAL(info.offset, daxalloc_extent_offset(n));
	CU_ASSERT_EQUAL(info.length, 2 * MIB);
	CU_ASSERT_EQUAL(info.mode, 0640);
	CU_ASSERT_EQUAL(daxalloc_stat_id(dx, daxalloc_extent_id(a), &info), 0);
	CU_ASSERT_STRING_EQUAL(info.name, "");
	CU_ASSERT_EQUAL(daxalloc_stat(dx, "nothing", &info), -ENOENT);

	/* Read-only open: a second view of the same bytes. */
	CU_ASSERT_EQUAL_FATAL(daxalloc_open(dx, "named", DAXALLOC_RDONLY, &ro),
			      0);
	CU_ASSERT_NOT_EQUAL(daxalloc_extent_addr(ro), daxalloc_extent_addr(n));
	CU_ASSERT_EQUAL(((unsigned char *)daxalloc_extent_addr(ro))[12345],
			0x5a);
	CU_ASSERT_EQUAL(daxalloc_truncate(ro, 4 * MIB), -EBADF);
	CU_ASSERT_EQUAL(daxalloc_close(ro), 0);

	/* NO_MAP: the caller maps with the kept fd. */
	CU_ASSERT_EQUAL_FATAL(daxalloc_open_id(dx, daxalloc_extent_id(n),
					       DAXALLOC_NO_MAP, &raw),
			      0);
	CU_ASSERT_PTR_NULL(daxalloc_extent_addr(raw));
	CU_ASSERT(daxalloc_extent_fd(raw) >= 0);
	p = mmap(NULL, 2 * MIB, PROT_READ, MAP_SHARED, daxalloc_extent_fd(raw),
		 (off_t)daxalloc_extent_offset(raw));
	CU_ASSERT_FATAL(p != MAP_FAILED);
	CU_ASSERT_EQUAL(((unsigned char *)p)[MIB], 0x5a);
	munmap(p, 2 * MIB);
	CU_ASSERT_EQUAL(daxalloc_close(raw), 0);

	/* List: own extents in id order over pages of 3; fn can stop it. */
	for (i = 0; i < 5; i++)
		CU_ASSERT_EQUAL_FATAL(
			daxalloc_alloc(dx, NULL, MIB, 0, 0, 0, &tmp[i]), 0);
	CU_ASSERT_EQUAL(daxalloc_list(dx, 0, list_collect, &col), 0);
	CU_ASSERT_EQUAL(col.n, 7);
	for (i = 1; i < col.n; i++)
		CU_ASSERT(col.ids[i - 1] < col.ids[i]);
	col.n = 64;
	CU_ASSERT_EQUAL(
		daxalloc_list(dx, DAXALLOC_LIST_OPENABLE, list_collect, &col),
		100);
	CU_ASSERT_EQUAL(daxalloc_list(dx, 0x10, list_collect, &col), -EINVAL);
	for (i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(daxalloc_delete(tmp[i]), 0);

	/* Truncate: the alignment asked for puts it where its neighbours are free. */
	CU_ASSERT_EQUAL_FATAL(
		daxalloc_alloc(dx, NULL, FAKE_UNIT, 64 * MIB, 0, 0, &t), 0);
	CU_ASSERT_EQUAL(daxalloc_extent_offset(t) % (64 * MIB), 0);
	stamp_fill(daxalloc_extent_addr(t), FAKE_UNIT,
		   daxalloc_extent_offset(t), 2);
	CU_ASSERT_EQUAL(daxalloc_truncate(t, 2 * FAKE_UNIT), 0);
	CU_ASSERT_EQUAL(daxalloc_extent_length(t), 2 * FAKE_UNIT);
	CU_ASSERT_EQUAL(stamp_check(daxalloc_extent_addr(t), FAKE_UNIT,
				    daxalloc_extent_offset(t), 2),
			-1);
	stamp_fill(daxalloc_extent_addr(t), 2 * FAKE_UNIT,
		   daxalloc_extent_offset(t), 2);
	/*
	 * Growing when something sits right after the mapping moves it.
	 * Mappings are placed top-down, so often something already does.
	 */
	p = daxalloc_extent_addr(t);
	blocker =
		mmap((char *)p + 2 * FAKE_UNIT, PAGE, PROT_NONE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	CU_ASSERT(blocker == (char *)p + 2 * FAKE_UNIT ||
		  (blocker == MAP_FAILED && errno == EEXIST));
	CU_ASSERT_EQUAL(daxalloc_truncate(t, 3 * FAKE_UNIT), 0);
	CU_ASSERT_EQUAL(daxalloc_extent_length(t), 3 * FAKE_UNIT);
	CU_ASSERT_NOT_EQUAL(daxalloc_extent_addr(t), p);
	CU_ASSERT_EQUAL((uintptr_t)daxalloc_extent_addr(t) % FAKE_UNIT, 0);
	CU_ASSERT_EQUAL(stamp_check(daxalloc_extent_addr(t), 2 * FAKE_UNIT,
				    daxalloc_extent_offset(t), 2),
			-1);
	if (blocker != MAP_FAILED)
		munmap(blocker, PAGE);
	stamp_fill(daxalloc_extent_addr(t), 3 * FAKE_UNIT,
		   daxalloc_extent_offset(t), 3);
	/* Shrink. */
	CU_ASSERT_EQUAL(daxalloc_truncate(t, 1), 0);
	CU_ASSERT_EQUAL(daxalloc_extent_length(t), FAKE_UNIT);
	CU_ASSERT_EQUAL(stamp_check(daxalloc_extent_addr(t), FAKE_UNIT,
				    daxalloc_extent_offset(t), 3),
			-1);
	CU_ASSERT_EQUAL(daxalloc_truncate(t, 0), -EINVAL);
	/* No room to grow in place: nothing changes. */
	CU_ASSERT_EQUAL(daxalloc_truncate(t, FAKE_UNITS * FAKE_UNIT), -ENOSPC);
	CU_ASSERT_EQUAL(daxalloc_extent_length(t), FAKE_UNIT);
	CU_ASSERT_EQUAL(stamp_check(daxalloc_extent_addr(t), FAKE_UNIT,
				    daxalloc_extent_offset(t), 3),
			-1);
	CU_ASSERT_EQUAL(daxalloc_delete(t), 0);

	/* A shrink the daemon refuses leaves the handle's shorter view. */
	CU_ASSERT_EQUAL_FATAL(
		daxalloc_alloc(dx, "shrink", 2 * FAKE_UNIT, 0, 0, 0, &t), 0);
	CU_ASSERT_EQUAL(daxalloc_delete_name(dx, "shrink"), 0);
	CU_ASSERT_EQUAL(daxalloc_truncate(t, FAKE_UNIT), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(daxalloc_errmsg(), "stays unmapped"));
	CU_ASSERT_EQUAL(daxalloc_extent_length(t), FAKE_UNIT);
	CU_ASSERT_EQUAL(daxalloc_close(t), -ENOENT);

	/* Granted but unusable: given back, deleted if anonymous, else closed. */
	fake.alloc_no_fd = true;
	i = (int)atomic_load(&fake.extents);
	CU_ASSERT_EQUAL(daxalloc_alloc(dx, NULL, MIB, 0, 0, 0, &t), -EPROTO);
	CU_ASSERT_PTR_NOT_NULL(strstr(daxalloc_errmsg(), "deleted again"));
	CU_ASSERT_EQUAL((int)atomic_load(&fake.extents), i);
	fake.alloc_no_fd = false;
	fake.alloc_bad_fd = true;
	CU_ASSERT_EQUAL(daxalloc_alloc(dx, NULL, MIB, 0, 0, 0, &t), -ENODEV);
	CU_ASSERT_PTR_NOT_NULL(strstr(daxalloc_errmsg(), "cannot map"));
	CU_ASSERT_EQUAL((int)atomic_load(&fake.extents), i);
	i = (int)atomic_load(&fake.closes);
	CU_ASSERT_EQUAL(daxalloc_alloc(dx, "kept", MIB, 0, 0, 0, &t), -ENODEV);
	CU_ASSERT_PTR_NOT_NULL(strstr(daxalloc_errmsg(), "closed again"));
	CU_ASSERT_EQUAL((int)atomic_load(&fake.closes), i + 1);
	fake.alloc_bad_fd = false;
	CU_ASSERT_EQUAL(daxalloc_stat(dx, "kept", &info), 0);
	CU_ASSERT_EQUAL(daxalloc_delete_name(dx, "kept"), 0);

	/* Delete and close free the handle even when the daemon refuses. */
	CU_ASSERT_EQUAL(daxalloc_delete(a), 0);
	CU_ASSERT_EQUAL(daxalloc_delete_name(dx, "named"), 0);
	CU_ASSERT_EQUAL(daxalloc_close(n), -ENOENT);
	CU_ASSERT_EQUAL(daxalloc_delete_name(dx, "named"), -ENOENT);
	CU_ASSERT_EQUAL((int)atomic_load(&fake.extents), 0);

	daxalloc_disconnect(dx);
	fake_settle(&fake);
	CU_ASSERT_EQUAL(wait_fds(before), before);
	fake_idle(&fake);
}

static void test_api_scripted_threads(void)
{
	int before = fake_settle(&fake);

	fake.reorder = true;
	fake.noise = 5;
	CU_ASSERT_EQUAL(run_alloc_threads(fake.sock, false, iters), 0);
	CU_ASSERT_EQUAL(run_alloc_threads(fake.sock, true, iters / 2), 0);
	CU_ASSERT_EQUAL((int)atomic_load(&fake.extents), 0);
	fake_settle(&fake);
	CU_ASSERT_EQUAL(wait_fds(before), before);
	fake_idle(&fake);
}

static int scripted_init(void)
{
	return fake_start(&fake) < 0 ? -1 : 0;
}

static int scripted_fini(void)
{
	fake_stop(&fake);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* The real daxallocd                                                     */
/* ---------------------------------------------------------------------- */

/* daemon_probe -- what the daemon serves already */
static void daemon_probe(void)
{
	struct daxalloc_extent *e, *ro;
	struct daxalloc *dx;
	int r;

	if (daxalloc_connect(daemon_h.sock, &dx) < 0) {
		snprintf(daemon_why, sizeof(daemon_why), "connect: %s",
			 daxalloc_errmsg());
		return;
	}
	r = daxalloc_alloc(dx, NULL, 1, 0, 0, 0, &e);
	if (r < 0) {
		snprintf(
			daemon_why, sizeof(daemon_why),
			"daxallocd cannot allocate and pass the fd yet (%s: %s)",
			daxalloc_strerror(r), daxalloc_errmsg());
		goto out;
	}
	daemon_fds = true;
	r = daxalloc_open_id(dx, daxalloc_extent_id(e), DAXALLOC_RDONLY, &ro);
	if (r < 0)
		snprintf(daemon_why, sizeof(daemon_why),
			 "daxallocd cannot open extents yet (%s: %s)",
			 daxalloc_strerror(r), daxalloc_errmsg());
	else
		daemon_open = daxalloc_close(ro) == 0;
	daxalloc_delete(e);
out:
	daxalloc_disconnect(dx);
}

static int daemon_init(void)
{
	static char pool[PATH_MAX];
	const char *args[] = { "--device", pool, "--size", "512M", NULL };

	if (harness_init(&daemon_h) < 0)
		return -1;
	snprintf(pool, sizeof(pool), "%s", daemon_h.pool);
	if (harness_start(&daemon_h, args) < 0)
		return -1;
	daemon_up = true;
	daemon_probe();
	return 0;
}

static int daemon_fini(void)
{
	harness_fini(&daemon_h);
	return 0;
}

/* daemon_checks -- `daxallocctl check` passes and no extent is left */
static void daemon_checks(void)
{
	const char *check[] = { "check", NULL };
	const char *list[] = { "list", "extents", "--json", NULL };
	static char out[1 << 16];
	json_object *o;
	int st;

	CU_ASSERT_EQUAL(harness_ctl(&daemon_h, check, out, sizeof(out), &st),
			0);
	CU_ASSERT_EQUAL(st, 0);
	if (st)
		fprintf(stderr, "\n    daxallocctl check: %s\n", out);
	CU_ASSERT_EQUAL(harness_ctl(&daemon_h, list, out, sizeof(out), &st), 0);
	CU_ASSERT_EQUAL(st, 0);
	o = json_tokener_parse(out);
	CU_ASSERT_PTR_NOT_NULL(o);
	if (o) {
		CU_ASSERT(json_object_is_type(o, json_type_array));
		CU_ASSERT_EQUAL(json_object_array_length(o), 0);
		json_object_put(o);
	}
}

static void test_daemon_threads(void)
{
	int before = harness_count_fds();

	if (!daemon_fds) {
		skip("16 threads alloc/write/verify/delete");
		return;
	}
	CU_ASSERT_EQUAL(run_alloc_threads(daemon_h.sock, false, iters), 0);
	CU_ASSERT_EQUAL(wait_fds(before), before);
	daemon_checks();
}

static void test_daemon_fd_routing(void)
{
	int before = harness_count_fds();

	if (!daemon_open) {
		skip("each thread's fd and extent verified by a read-only reopen");
		return;
	}
	CU_ASSERT_EQUAL(run_alloc_threads(daemon_h.sock, true, iters / 2), 0);
	CU_ASSERT_EQUAL(wait_fds(before), before);
	daemon_checks();
}

/* name_seen -- daxalloc_list callback: is the extent named arg listed? */
static int name_seen(const struct daxalloc_info *info, void *arg)
{
	return strcmp(info->name, arg) ? 0 : 1;
}

static void test_daemon_named(void)
{
	struct daxalloc_extent *e, *ro;
	struct daxalloc_info info;
	struct daxalloc *dx;
	uint64_t unit, id;

	if (!daemon_open) {
		skip("named alloc, close, reopen read-only, stat, list, truncate, delete");
		return;
	}
	CU_ASSERT_EQUAL_FATAL(daxalloc_connect(daemon_h.sock, &dx), 0);
	unit = daxalloc_unit(dx);
	CU_ASSERT_EQUAL_FATAL(
		daxalloc_alloc(dx, "threads-named", unit, 0, 0640, 0, &e), 0);
	id = daxalloc_extent_id(e);
	stamp_fill(daxalloc_extent_addr(e), unit, daxalloc_extent_offset(e), 7);
	CU_ASSERT_EQUAL(daxalloc_alloc(dx, "threads-named", unit, 0, 0, 0, &ro),
			-EEXIST);
	CU_ASSERT_EQUAL(daxalloc_close(e), 0);

	CU_ASSERT_EQUAL_FATAL(
		daxalloc_open(dx, "threads-named", DAXALLOC_RDONLY, &ro), 0);
	CU_ASSERT_EQUAL(daxalloc_extent_id(ro), id);
	CU_ASSERT_EQUAL(stamp_check(daxalloc_extent_addr(ro), unit,
				    daxalloc_extent_offset(ro), 7),
			-1);
	CU_ASSERT_EQUAL(daxalloc_close(ro), 0);

	CU_ASSERT_EQUAL(daxalloc_stat(dx, "threads-named", &info), 0);
	CU_ASSERT_EQUAL(info.id, id);
	CU_ASSERT_EQUAL(info.mode, 0640);
	CU_ASSERT_EQUAL(info.uid, getuid());
	CU_ASSERT_EQUAL(
		daxalloc_list(dx, 0, name_seen, (void *)"threads-named"), 1);
	CU_ASSERT_EQUAL(daxalloc_list(dx, DAXALLOC_LIST_OPENABLE, name_seen,
				      (void *)"threads-named"),
			1);

	/* Grow (the pool is otherwise empty: the neighbour is free), shrink. */
	CU_ASSERT_EQUAL_FATAL(daxalloc_open(dx, "threads-named", 0, &e), 0);
	CU_ASSERT_EQUAL(daxalloc_truncate(e, 3 * unit), 0);
	CU_ASSERT_EQUAL(daxalloc_extent_length(e), 3 * unit);
	CU_ASSERT_EQUAL(stamp_check(daxalloc_extent_addr(e), unit,
				    daxalloc_extent_offset(e), 7),
			-1);
	stamp_fill(daxalloc_extent_addr(e), 3 * unit, daxalloc_extent_offset(e),
		   8);
	CU_ASSERT_EQUAL(daxalloc_truncate(e, unit), 0);
	CU_ASSERT_EQUAL(daxalloc_extent_length(e), unit);
	CU_ASSERT_EQUAL(daxalloc_stat_id(dx, id, &info), 0);
	CU_ASSERT_EQUAL(info.length, unit);
	CU_ASSERT_EQUAL(daxalloc_close(e), 0);

	CU_ASSERT_EQUAL(daxalloc_delete_name(dx, "threads-named"), 0);
	CU_ASSERT_EQUAL(daxalloc_stat(dx, "threads-named", &info), -ENOENT);
	CU_ASSERT_EQUAL(daxalloc_open(dx, "threads-named", 0, &e), -ENOENT);
	CU_ASSERT_EQUAL(daxalloc_delete_name(dx, "threads-named"), -ENOENT);
	daxalloc_disconnect(dx);
	daemon_checks();
}

/* gone_worker -- call until the daemon is gone; the end must be -EPIPE */
static void *gone_worker(void *arg)
{
	struct worker *w = arg;
	struct daxalloc_info info;
	long long end = harness_now_ms() + 20000;
	int r;

	worker_start(w);
	do {
		r = daxalloc_stat_id(w->arg, 1, &info);
	} while ((r == 0 || r == -ENOENT || r == -EOPNOTSUPP) &&
		 harness_now_ms() < end);
	if (r != -EPIPE && r != -ECONNRESET)
		worker_fail(w, "ended with %d (%s)", r, daxalloc_errmsg());
	else if (!daxalloc_errmsg()[0])
		worker_fail(w, "no message with %d", r);
	return NULL;
}

/* killer -- kill the daemon after a moment */
static void *killer(void *arg)
{
	struct harness *h = arg;

	usleep(200000);
	harness_stop(h, SIGKILL, NULL);
	return NULL;
}

static void test_daemon_gone(void)
{
	struct daxalloc_info info;
	struct harness h;
	struct daxalloc *dx;
	pthread_t kt;
	long long t0;
	int before = harness_count_fds();

	CU_ASSERT_EQUAL_FATAL(harness_init(&h), 0);
	CU_ASSERT_EQUAL_FATAL(harness_start(&h, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(daxalloc_connect(h.sock, &dx), 0);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&kt, NULL, killer, &h), 0);
	CU_ASSERT_EQUAL(run_workers(8, gone_worker, dx, 0), 0);
	pthread_join(kt, NULL);
	t0 = harness_now_ms();
	CU_ASSERT_EQUAL(daxalloc_stat_id(dx, 1, &info), -EPIPE);
	CU_ASSERT(harness_now_ms() - t0 < 100);
	CU_ASSERT_PTR_NOT_NULL(strstr(daxalloc_errmsg(), "broken"));
	daxalloc_disconnect(dx);
	harness_fini(&h);
	CU_ASSERT_EQUAL(wait_fds(before), before);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} scripted[] = {
		{ "session: 16 threads, replies and fds reach their caller", test_session_routing },
		{ "session: events queued, bounded, in order", test_session_events },
		{ "session: timeout unregisters, late reply dropped", test_session_timeout },
		{ "session: broken connection fails every waiter", test_session_broken },
		{ "api: every call against the scripted daemon", test_api_scripted },
		{ "api: 16 threads alloc/write/verify/delete", test_api_scripted_threads },
	}, real[] = {
		{ "16 threads alloc/write/verify/delete, then check", test_daemon_threads },
		{ "fds reach the right thread (read-only reopen)", test_daemon_fd_routing },
		{ "named extent life cycle", test_daemon_named },
		{ "daemon killed under 8 threads: -EPIPE for all", test_daemon_gone },
	};
	const char *which = argc > 1 ? argv[1] : "";
	const char *env = getenv("THREADS_ITERS");
	unsigned int failures;
	CU_pSuite s;
	size_t i;

	signal(SIGPIPE, SIG_IGN);
	if (env && atoi(env) > 0)
		iters = atoi(env);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	if (!*which || !strcmp(which, "scripted")) {
		s = CU_add_suite("scripted daemon", scripted_init,
				 scripted_fini);
		for (i = 0; s && i < sizeof(scripted) / sizeof(scripted[0]);
		     i++)
			CU_add_test(s, scripted[i].name, scripted[i].fn);
	}
	if (!*which || !strcmp(which, "daxallocd")) {
		if (!getenv("DAXALLOCD") || !getenv("DAXALLOCCTL")) {
			fprintf(stderr,
				"set DAXALLOCD and DAXALLOCCTL (CTest does)\n");
			return 2;
		}
		s = CU_add_suite("daxallocd", daemon_init, daemon_fini);
		for (i = 0; s && i < sizeof(real) / sizeof(real[0]); i++)
			CU_add_test(s, real[i].name, real[i].fn);
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures =
		CU_get_number_of_failures() + CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	if (failures)
		return 1;
	if (skipped) {
		fprintf(stderr, "%u tests skipped: %s\n", skipped, daemon_why);
		return 77;
	}
	return 0;
}
