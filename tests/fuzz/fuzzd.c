// SPDX-License-Identifier: Apache-2.0
/*
 * fuzzd.c -- the real daemon in memory, for the socket fuzz targets
 *
 * What daxallocd's main() does, minus server_run(): options, a file pool,
 * server_init(), the quota usage; then connections are handed to
 * conn_accept() as the listener would, over socketpairs, and the loop is
 * turned by hand (as tests/unit/fixture.c does).  The datagram an input
 * holds is written into the far end of the socketpair with its
 * descriptors, so the daemon's own wire_recv() takes it with real
 * SCM_RIGHTS, decodes it and dispatches it.
 *
 * Every input gets a fresh daemon: the pool's metadata area is put back
 * from a snapshot of the base state (only the pages that changed), and
 * the pool and the server start over from it.  That is the restart path
 * the daemon has anyway (recovery of extents, holds and processes), it
 * costs about a millisecond under the sanitizers, and it keeps inputs
 * independent.
 *
 * The base state (fuzzd.h) is built once, at start, through the same
 * path: connections of this process and of a child, the holder, say
 * Hello, allocate, pin, open, truncate and delete, so that requests naming
 * extents, pins and lease breaks find some.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "device.h"
#include "fuzz.h"
#include "fuzzd.h"
#include "log.h"
#include "options.h"
#include "pool.h"
#include "quota.h"
#include "server.h"
#include "space.h"
#include "wire.h"

#define B(x) DAXALLOC__ENVELOPE__BODY_##x

/*
 * The pool: few units, so that a restart reads little.  The lease table
 * has 4096 slots more than there are units, and the pin table 64 per
 * unit: with 16 units of 2 MiB, 5136 slots to read at every start.
 */
#define FUZZD_POOL_SIZE (32ULL << 20)
#define FUZZD_UNIT (2ULL << 20)
/* Loop turns after each datagram: read, commit and reply, timers, events. */
#define FUZZD_TURNS 4

struct fuzzd {
	bool ready;
	bool verbose; /* FUZZD_VERBOSE=1 */
	char dir[PATH_MAX - 16];
	char pool[PATH_MAX], sock[PATH_MAX], ctl[PATH_MAX], conf[PATH_MAX];
	char *argv[16];
	struct options opts;
	struct device *dev;
	uint8_t *base; /* the base state's metadata area */
	size_t base_len;
	struct pool *p;
	struct server srv;
	bool up;
	int null_fd; /* what FUZZD_F_* inputs attach */
	int pipe_fd[2];
	int fds_before; /* descriptors open when the input came */
	pid_t holder; /* the other client process (fuzzd_holder_main) */
	int holder_ctl;
	struct fuzzd_ids ids;
	int base_holder; /* the holder's end during the base build */
	unsigned int nbreaks;
	unsigned long kills; /* SIGKILLs the daemon sent (and we swallowed) */
	uint64_t next_id;
};

static struct fuzzd fz = { .null_fd = -1,
			   .pipe_fd = { -1, -1 },
			   .holder = -1,
			   .holder_ctl = -1 };

long __real_syscall(long number, ...);
long __wrap_syscall(long number, ...);

/*
 * __wrap_syscall -- every syscall() of the daemon code (-Wl,--wrap)
 *
 * The processes the daemon knows are this one and the holder, so a
 * revoke with --kill would SIGKILL one of them.  That signal is counted
 * instead; everything else goes through.  Only as many arguments as the
 * call has are read (a va_arg past them reads the caller's stack), so the
 * calls the daemon makes are listed; another one stops the harness until
 * it is listed too.
 */
long __wrap_syscall(long number, ...)
{
	long a[4] = { 0 };
	unsigned int i, n;
	va_list ap;

	switch (number) {
	case SYS_pidfd_open:
		n = 2;
		break;
	case SYS_pidfd_send_signal:
		n = 4;
		break;
	default:
		fuzz_fatal("syscall %ld: add its arguments to __wrap_syscall",
			   number);
	}
	va_start(ap, number);
	for (i = 0; i < n; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (number == SYS_pidfd_send_signal && (int)a[1] == SIGKILL) {
		fz.kills++;
		return 0;
	}
	return __real_syscall(number, a[0], a[1], a[2], a[3]);
}

/* fuzzd_count_fds -- descriptors open in this process */
static int fuzzd_count_fds(void)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		fuzz_fatal("/proc/self/fd: %s", strerror(errno));
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* fuzzd_tmpdir -- $TMPDIR, else /dev/shm (no disk writeback), else /tmp */
static const char *fuzzd_tmpdir(void)
{
	const char *t = getenv("TMPDIR");

	if (t && *t)
		return t;
	if (access("/dev/shm", W_OK | X_OK) == 0)
		return "/dev/shm";
	return "/tmp";
}

/* The files fuzzd_init() makes in its folder. */
static const char *const fuzzd_files[] = { "pool.img", "daxallocd.conf",
					   "c.sock", "k.sock" };

/*
 * fuzzd_sweep -- remove the folders of fuzzers that died without cleaning
 * up
 *
 * A crash ends the process without atexit(): its folder (a sparse pool
 * file, the configuration, two socket files) stays.  The folder's name
 * holds the pid; one whose process is gone is removed by the next start.
 */
static void fuzzd_sweep(const char *tmp)
{
	char path[PATH_MAX];
	struct dirent *de;
	unsigned int i;
	DIR *d;
	int pid;
	char c;

	d = opendir(tmp);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (sscanf(de->d_name, "daxalloc-fuzz.%d.%c", &pid, &c) != 2 ||
		    pid <= 0 || kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		for (i = 0; i < sizeof(fuzzd_files) / sizeof(fuzzd_files[0]);
		     i++) {
			snprintf(path, sizeof(path), "%s/%s/%s", tmp,
				 de->d_name, fuzzd_files[i]);
			unlink(path);
		}
		snprintf(path, sizeof(path), "%s/%s", tmp, de->d_name);
		rmdir(path);
	}
	closedir(d);
}

/* fuzzd_write_file -- a small text file; the harness stops if it cannot */
static void fuzzd_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		fuzz_fatal("cannot write %s", path);
}

/* fuzzd_recv_one -- one message from the daemon: 1, 0 (none), -1 (closed) */
static int fuzzd_recv_one(int peer, Daxalloc__Envelope **env)
{
	static uint8_t buf[WIRE_MSG_MAX];
	int fds[WIRE_FDS_MAX];
	unsigned int nfds;
	size_t len;
	int r;

	r = wire_recv(peer, buf, sizeof(buf), &len, fds, &nfds);
	if (r == -EAGAIN)
		return 0;
	if (r == -ECONNRESET)
		return -1;
	FUZZ_ASSERT(r == 0, "receiving from the daemon: %s", strerror(-r));
	wire_close_fds(fds, nfds);
	FUZZ_ASSERT(nfds <= 1, "a reply carries %u descriptors", nfds);
	/* What the daemon sends, its own decoder (and its guards) must take. */
	r = envelope_unpack(buf, len, env);
	FUZZ_ASSERT(r == 0, "the daemon sent %zu bytes its decoder refuses: %s",
		    len, strerror(-r));
	FUZZ_ASSERT((*env)->version != 0, "the daemon sent version 0");
	if (fz.verbose)
		fprintf(stderr, "<- id %llu status %d (%s) %s%s\n",
			(unsigned long long)(*env)->id, (int)(*env)->status,
			(*env)->message ? (*env)->message : "",
			envelope_type_name((*env)->body_case),
			nfds ? " +fd" : "");
	return 1;
}

/* fuzzd_note -- remember the lease breaks the base build sends */
static void fuzzd_note(int peer, const Daxalloc__Envelope *env)
{
	if (fz.ready || env->body_case != B(LEASE_BREAK))
		return;
	if (peer != fz.base_holder)
		fz.ids.own_break = env->lease_break->break_id;
	else if (fz.nbreaks < 2)
		fz.ids.holder_breaks[fz.nbreaks++] = env->lease_break->break_id;
}

/* fuzzd_turn -- one loop turn that never sleeps, then read what came */
static int fuzzd_turn(int peer, uint64_t want, Daxalloc__Envelope **reply)
{
	Daxalloc__Envelope *env;
	int r;

	ev_run(fz.srv.loop, EVRUN_NOWAIT);
	if (peer < 0)
		return 0;
	while ((r = fuzzd_recv_one(peer, &env)) > 0) {
		if (reply && !*reply && env->id == want && want) {
			*reply = env;
			continue;
		}
		fuzzd_note(peer, env);
		envelope_free(env);
	}
	return r;
}

/*
 * fuzzd_pump -- FUZZD_TURNS turns, reading and checking every message
 * (peer -1: ours is closed, only turn)
 */
static void fuzzd_pump(int peer)
{
	unsigned int i;

	for (i = 0; i < FUZZD_TURNS; i++)
		fuzzd_turn(peer, 0, NULL);
}

/*
 * fuzzd_call -- a request of the base build; its reply, which must succeed
 *
 * The harness's own requests must work, or the base state is not what
 * the corpus was written for.
 */
static Daxalloc__Envelope *fuzzd_call(int peer, Daxalloc__Envelope *env)
{
	Daxalloc__Envelope *rep = NULL;
	unsigned int i;

	env->version = PROTO_VERSION_MAX;
	env->id = ++fz.next_id;
	if (envelope_send(peer, env, NULL, 0) < 0)
		fuzz_fatal("cannot send %s",
			   envelope_type_name(env->body_case));
	for (i = 0; i < 16 && !rep; i++)
		fuzzd_turn(peer, env->id, &rep);
	if (!rep || rep->status != 0)
		fuzz_fatal("base state: %s failed: %s",
			   envelope_type_name(env->body_case),
			   rep ? rep->message : "no reply");
	return rep;
}

/* fuzzd_hello -- Hello on a fresh connection, as libdaxalloc says it */
static Daxalloc__Envelope *fuzzd_hello_env(Daxalloc__Envelope *env,
					   Daxalloc__Hello *h)
{
	daxalloc__envelope__init(env);
	daxalloc__hello__init(h);
	h->version_min = PROTO_VERSION_MIN;
	h->version_max = PROTO_VERSION_MAX;
	h->capabilities = DAXALLOC__CAPABILITY__CAP_LEASE_BREAK |
			  DAXALLOC__CAPABILITY__CAP_PIN_BATCH;
	h->client_name = (char *)"fuzz";
	h->pid = (uint32_t)getpid();
	env->body_case = B(HELLO);
	env->hello = h;
	env->version = PROTO_VERSION_MAX;
	env->id = 1;
	return env;
}

/* fuzzd_alloc -- Alloc of the base build; the new extent's id */
static uint64_t fuzzd_alloc(int peer, const char *name, uint64_t size,
			    uint32_t mode)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT, *rep;
	Daxalloc__AllocRequest a = DAXALLOC__ALLOC_REQUEST__INIT;
	uint64_t id;

	a.size = size;
	a.name = (char *)name;
	a.mode = mode;
	env.body_case = B(ALLOC);
	env.alloc = &a;
	rep = fuzzd_call(peer, &env);
	id = rep->extent_reply->extent->id;
	envelope_free(rep);
	return id;
}

/* fuzzd_simple -- a request of the base build whose reply says nothing */
static void fuzzd_simple(int peer, Daxalloc__Envelope *env)
{
	envelope_free(fuzzd_call(peer, env));
}

/*
 * fuzzd_start -- a daemon on the pool as its metadata stands, as main()
 * starts one (server_run() aside)
 */
static void fuzzd_start(void)
{
	int r;

	r = pool_open_device(fz.dev, POOL_FORMAT_NEVER, 0, &fz.p);
	if (r < 0)
		fuzz_fatal("pool_open_device: %s", strerror(-r));
	r = server_init(&fz.srv, &fz.opts, fz.p);
	if (r < 0)
		fuzz_fatal("server_init: %s", strerror(-r));
	r = quota_new(&fz.opts.cfg, &fz.srv.quota);
	if (r == 0)
		r = space_recover(&fz.srv);
	if (r < 0)
		fuzz_fatal("quota usage: %s", strerror(-r));
	/* server_run() would start the rest; only the before-sleep hook matters. */
	ev_prepare_start(fz.srv.loop, &fz.srv.before_sleep);
	fz.up = true;
}

/* fuzzd_stop -- shut the daemon down as main() does, without a clean flag */
static void fuzzd_stop(void)
{
	if (!fz.up)
		return;
	ev_prepare_stop(fz.srv.loop, &fz.srv.before_sleep);
	server_fini(&fz.srv);
	quota_free(fz.srv.quota);
	fz.srv.quota = NULL;
	/* Nothing need be written: the next start puts the snapshot back. */
	pool_close(fz.p, false);
	fz.p = NULL;
	fz.up = false;
}

/* fuzzd_restore -- the metadata area as the base state left it */
static void fuzzd_restore(void)
{
	uint8_t *dst = fz.dev->addr;
	size_t off, n;

	for (off = 0; off < fz.base_len; off += 4096) {
		n = fz.base_len - off < 4096 ? fz.base_len - off : 4096;
		if (memcmp(dst + off, fz.base + off, n))
			memcpy(dst + off, fz.base + off, n);
	}
}

/*
 * fuzzd_holder_main -- the other client process: it makes socketpairs, so
 * that the connections made of them are its own (SO_PEERCRED names the
 * process that made the pair), and hands both ends over; it lives until
 * the fuzzer does, so that its leases and lease breaks stay alive
 */
static void fuzzd_holder_main(int ctl, pid_t parent)
{
	int sp[2];
	char c;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	while (read(ctl, &c, 1) == 1) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) <
			    0 ||
		    wire_send(ctl, "p", 1, sp, 2) < 0)
			_exit(1);
		close(sp[0]);
		close(sp[1]);
	}
	_exit(0);
}

/* fuzzd_holder_start -- fork the other client process */
static void fuzzd_holder_start(void)
{
	pid_t parent = getpid();
	int ctl[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) < 0)
		fuzz_fatal("socketpair: %s", strerror(errno));
	fflush(NULL);
	fz.holder = fork();
	if (fz.holder < 0)
		fuzz_fatal("fork: %s", strerror(errno));
	if (fz.holder == 0) {
		close(ctl[0]);
		fuzzd_holder_main(ctl[1], parent);
	}
	close(ctl[1]);
	fz.holder_ctl = ctl[0];
}

/*
 * fuzzd_connect -- a connection of the given kind, as accept4() gives one,
 * of this process or (holder) of the other; our end, with the daemon's
 * struct conn in *conn
 */
static int fuzzd_connect(enum conn_kind kind, bool holder, struct conn **conn)
{
	unsigned int n = 0;
	size_t len;
	char c = 'p';
	int p[2];

	if (!holder) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p) <
		    0)
			fuzz_fatal("socketpair: %s", strerror(errno));
	} else if (write(fz.holder_ctl, &c, 1) != 1 ||
		   wire_recv(fz.holder_ctl, &c, 1, &len, p, &n) < 0 || n != 2) {
		fuzz_fatal("the holder process gives no socketpair");
	}
	if (fcntl(p[0], F_SETFL, O_NONBLOCK) < 0 ||
	    fcntl(p[1], F_SETFL, O_NONBLOCK) < 0)
		fuzz_fatal("O_NONBLOCK: %s", strerror(errno));
	/* conn_accept() owns p[0] from here, also when it fails. */
	if (conn_accept(&fz.srv, p[0], kind) < 0)
		fuzz_fatal("conn_accept refused the fuzzer");
	*conn = TAILQ_LAST(&fz.srv.conns, conn_tailq);
	return p[1];
}

/* fuzzd_open -- Open of the base build */
static void fuzzd_open(int peer, uint64_t id, bool ro)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT;
	Daxalloc__OpenRequest o = DAXALLOC__OPEN_REQUEST__INIT;

	o.key_case = DAXALLOC__OPEN_REQUEST__KEY_EXTENT_ID;
	o.extent_id = id;
	o.read_only = ro;
	env.body_case = B(OPEN);
	env.open = &o;
	fuzzd_simple(peer, &env);
}

/* fuzzd_truncate -- Truncate of the base build */
static void fuzzd_truncate(int peer, uint64_t id, uint64_t size)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT;
	Daxalloc__TruncateRequest t = DAXALLOC__TRUNCATE_REQUEST__INIT;

	t.extent_id = id;
	t.size = size;
	env.body_case = B(TRUNCATE);
	env.truncate = &t;
	fuzzd_simple(peer, &env);
}

/* fuzzd_build_base -- the state every input starts from (see fuzzd.h) */
static void fuzzd_build_base(void)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT, *rep;
	Daxalloc__Hello h;
	Daxalloc__PinRequest pr = DAXALLOC__PIN_REQUEST__INIT;
	Daxalloc__PinRange r[FUZZD_PINS], *rp[FUZZD_PINS];
	Daxalloc__DeleteRequest d = DAXALLOC__DELETE_REQUEST__INIT;
	struct conn *c;
	unsigned int i;
	int me, holder;

	me = fuzzd_connect(CONN_CLIENT, false, &c);
	holder = fuzzd_connect(CONN_CLIENT, true, &c);
	fz.base_holder = holder;
	fuzzd_simple(me, fuzzd_hello_env(&env, &h));
	fuzzd_simple(holder, fuzzd_hello_env(&env, &h));
	fz.ids.unit = FUZZD_UNIT;
	fz.ids.alpha = fuzzd_alloc(me, "alpha", FUZZD_UNIT, 0644);
	fz.ids.beta = fuzzd_alloc(me, "beta", 2 * FUZZD_UNIT, 0600);
	fz.ids.gamma = fuzzd_alloc(me, "gamma", 2 * FUZZD_UNIT, 0666);
	fz.ids.anon = fuzzd_alloc(me, "", FUZZD_UNIT, 0);
	fz.ids.doomed = fuzzd_alloc(me, "doomed", FUZZD_UNIT, 0600);
	fz.ids.omega = fuzzd_alloc(me, "omega", FUZZD_UNIT, 0600);

	for (i = 0; i < FUZZD_PINS; i++) {
		daxalloc__pin_range__init(&r[i]);
		rp[i] = &r[i];
	}
	r[0].extent_id = fz.ids.alpha;
	r[0].length = 4096;
	r[1].extent_id = fz.ids.alpha;
	r[1].offset = 8192;
	r[1].length = 4096;
	r[2].extent_id = fz.ids.beta;
	r[2].length = FUZZD_UNIT;
	pr.n_ranges = FUZZD_PINS;
	pr.ranges = rp;
	env.body_case = B(PIN);
	env.pin = &pr;
	rep = fuzzd_call(me, &env);
	for (i = 0; i < FUZZD_PINS && i < rep->pin_reply->n_pin_ids; i++)
		fz.ids.pins[i] = rep->pin_reply->pin_ids[i];
	envelope_free(rep);

	fuzzd_open(holder, fz.ids.beta, false);
	fuzzd_open(holder, fz.ids.doomed, false);
	fuzzd_open(holder, fz.ids.alpha, true);
	/* Our own second, read-only open of beta: a lease counted twice. */
	fuzzd_open(me, fz.ids.beta, true);

	fuzzd_truncate(me, fz.ids.beta, FUZZD_UNIT);
	daxalloc__envelope__init(&env);
	d.key_case = DAXALLOC__DELETE_REQUEST__KEY_NAME;
	d.name = (char *)"doomed";
	env.body_case = B(DELETE);
	env.delete_ = &d;
	fuzzd_simple(me, &env);
	fuzzd_truncate(holder, fz.ids.gamma, FUZZD_UNIT);
	fuzzd_pump(me);
	fuzzd_pump(holder);
	if (fz.nbreaks != 2 || !fz.ids.own_break)
		fuzz_fatal("base state: %u + %d lease breaks instead of 2 + 1",
			   fz.nbreaks, fz.ids.own_break != 0);
	close(me);
	close(holder);
	fuzzd_pump(-1);
}

/* fuzzd_cleanup -- at exit: stop, close, remove the temporary folder */
static void fuzzd_cleanup(void)
{
	fuzzd_stop();
	device_close(fz.dev);
	fz.dev = NULL;
	options_free(&fz.opts);
	unlink(fz.pool);
	unlink(fz.conf);
	rmdir(fz.dir);
	free(fz.base);
	if (fz.holder > 0) {
		/* It reads the end of its socket and leaves. */
		close(fz.holder_ctl);
		waitpid(fz.holder, NULL, 0);
		fz.holder = -1;
	}
}

/*
 * fuzzd_init -- the temporary folder, the pool, the base state and its
 * snapshot; once per process
 *
 * FUZZD_VERBOSE=1 in the environment shows the daemon's debug log (for
 * reading what an input does; far slower).
 */
void fuzzd_init(void)
{
	const char *verbose = getenv("FUZZD_VERBOSE");
	struct device_config dc = { 0 };
	int argc = 0, r;

	if (fz.ready)
		return;
	/* As main(): a vanished peer is an EPIPE, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	fz.verbose = verbose && *verbose == '1';
	log_init(fz.verbose ? LOG_DEBUG : LOG_EMERG);
	fuzzd_sweep(fuzzd_tmpdir());
	snprintf(fz.dir, sizeof(fz.dir), "%s/daxalloc-fuzz.%d.XXXXXX",
		 fuzzd_tmpdir(), (int)getpid());
	if (!mkdtemp(fz.dir))
		fuzz_fatal("mkdtemp %s: %s", fz.dir, strerror(errno));
	snprintf(fz.pool, sizeof(fz.pool), "%s/pool.img", fz.dir);
	snprintf(fz.sock, sizeof(fz.sock), "%s/c.sock", fz.dir);
	snprintf(fz.ctl, sizeof(fz.ctl), "%s/k.sock", fz.dir);
	snprintf(fz.conf, sizeof(fz.conf), "%s/daxallocd.conf", fz.dir);
	/* Limits small enough that inputs reach them. */
	fuzzd_write_file(fz.conf, "[limits]\n"
				  "max_pins_per_process = 32\n"
				  "max_name_length = 64\n"
				  "[quota]\n"
				  "default_uid_bytes = 24M\n"
				  "default_uid_extents = 12\n");
	atexit(fuzzd_cleanup);

	fz.argv[argc++] = (char *)"daxallocd";
	fz.argv[argc++] = (char *)"--config";
	fz.argv[argc++] = fz.conf;
	fz.argv[argc++] = (char *)"--device";
	fz.argv[argc++] = fz.pool;
	fz.argv[argc++] = (char *)"--socket";
	fz.argv[argc++] = fz.sock;
	fz.argv[argc++] = (char *)"--control-socket";
	fz.argv[argc++] = fz.ctl;
	fz.argv[argc] = NULL;
	optind = 0; /* getopt: a fresh argv */
	if (options_parse(&fz.opts, argc, fz.argv) != OPTIONS_RUN)
		fuzz_fatal("options_parse refused the fuzzer's command line");

	/*
	 * Made here: device_open() creates no pool file under /dev (where a
	 * missing devdax node would otherwise become a file in RAM), and
	 * /dev/shm is where this one belongs.
	 */
	r = open(fz.pool, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (r < 0 || ftruncate(r, (off_t)FUZZD_POOL_SIZE) < 0 || close(r) < 0)
		fuzz_fatal("cannot create %s: %s", fz.pool, strerror(errno));
	dc.path = fz.pool;
	dc.unit = FUZZD_UNIT;
	r = device_open(&dc, &fz.dev);
	if (r < 0)
		fuzz_fatal("device_open %s: %s", fz.pool, strerror(-r));
	r = pool_open_device(fz.dev, POOL_FORMAT_ALWAYS, FUZZD_UNIT, &fz.p);
	if (r < 0)
		fuzz_fatal("format: %s", strerror(-r));
	/* The metadata in use: every table, not the padding up to the unit. */
	fz.base_len = fz.p->meta->sb.pins_off +
		      fz.p->meta->sb.pin_slots * sizeof(struct fmt_hold);
	pool_close(fz.p, true);
	fz.base = malloc(fz.base_len);
	if (!fz.base)
		fuzz_fatal("out of memory");
	memcpy(fz.base, fz.dev->addr, fz.base_len);

	fz.null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fz.null_fd < 0 || pipe2(fz.pipe_fd, O_CLOEXEC) < 0)
		fuzz_fatal("/dev/null or pipe: %s", strerror(errno));

	fuzzd_holder_start();
	fuzzd_start();
	fuzzd_build_base();
	fuzzd_stop();
	/* The base state, as a clean shutdown leaves it. */
	r = pool_open_device(fz.dev, POOL_INSPECT, 0, &fz.p);
	if (r < 0)
		fuzz_fatal("reopening the base state: %s", strerror(-r));
	pool_close(fz.p, true);
	fz.p = NULL;
	memcpy(fz.base, fz.dev->addr, fz.base_len);
	fz.ready = true;
}

/* fuzzd_ids -- what the base state holds (for writing seeds) */
const struct fuzzd_ids *fuzzd_ids(void)
{
	fuzzd_init();
	return &fz.ids;
}

/*
 * fuzzd_send -- write the input's datagram with nfds descriptors, as a
 * client may: any length (0 and past WIRE_MSG_MAX too), up to the
 * kernel's 253 descriptors, which may repeat
 *
 * The daemon must take it as it comes; when the kernel refuses to send
 * it, there is nothing to test.
 */
static void fuzzd_send(int peer, const uint8_t *buf, size_t len,
		       unsigned int nfds, bool pipe_ends)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * FUZZD_FDS_MAX)];
	} control;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int fds[FUZZD_FDS_MAX];
	unsigned int i;

	if (nfds) {
		struct cmsghdr *cm;

		for (i = 0; i < nfds; i++)
			fds[i] = pipe_ends ? fz.pipe_fd[i % 2] : fz.null_fd;
		memset(&control, 0, sizeof(control));
		mh.msg_control = control.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	/* A refusal (too large for the socket buffer) leaves nothing to do. */
	(void)sendmsg(peer, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/*
 * fuzzd_run -- one input on a connection of the given kind (see fuzzd.h)
 *
 * Besides what the sanitizers catch: every message the daemon sends must
 * decode (its own guards included), carry at most one descriptor, and no
 * descriptor may stay open once the daemon has shut down.
 */
int fuzzd_run(enum conn_kind kind, const uint8_t *data, size_t size)
{
	Daxalloc__Envelope env;
	Daxalloc__Hello h;
	unsigned int nfds, flags;
	struct conn *c;
	int peer, n;

	if (size < FUZZD_HEADER)
		return 0;
	fuzzd_init();
	/*
	 * Counted now, not once: libFuzzer keeps descriptors of its own
	 * between inputs (its symbolizer's pipes, for one).
	 */
	fz.fds_before = fuzzd_count_fds();
	nfds = data[0] % (FUZZD_FDS_MAX + 1);
	flags = data[1];
	fuzzd_restore();
	fuzzd_start();
	peer = fuzzd_connect(kind, flags & FUZZD_F_HOLDER, &c);
	if (flags & FUZZD_F_STRANGER) {
		/* What SO_PEERCRED would have said for another user. */
		if (kind == CONN_CLIENT) {
			c->uid = FUZZD_STRANGER_ID;
			c->gid = FUZZD_STRANGER_ID;
			c->ngroups = 0;
		}
		c->admin = false;
	}
	if (!(flags & FUZZD_F_NO_HELLO)) {
		if (envelope_send(peer, fuzzd_hello_env(&env, &h), NULL, 0) < 0)
			fuzz_fatal("cannot send Hello");
		fuzzd_pump(peer);
	}
	fuzzd_send(peer, data + FUZZD_HEADER, size - FUZZD_HEADER, nfds,
		   flags & FUZZD_F_PIPE);
	fuzzd_pump(peer);
	/* The client goes away: the daemon reads the end and closes. */
	close(peer);
	fuzzd_pump(-1);
	fuzzd_stop();
	n = fuzzd_count_fds();
	FUZZ_ASSERT(n == fz.fds_before,
		    "%d descriptors open, %d before the input", n,
		    fz.fds_before);
	return 0;
}
