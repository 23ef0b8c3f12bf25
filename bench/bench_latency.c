// SPDX-License-Identifier: Apache-2.0
/*
 * bench_latency.c -- round-trip latency of Alloc and Delete on the daemon
 *
 * One question from the client path's goals: what one Alloc (one unit,
 * anonymous, the reply carrying the device fd) and one Delete cost a
 * client, request to reply, one request outstanding at a time, against
 * the cost of the same exchange with nothing behind the socket
 * (goal: at most 1.25x).
 *
 * The daemon is the real daxallocd, started as a child process the way the
 * integration tests start it (tests/common/harness.c), on a file pool in
 * /dev/shm (1 GiB, 2 MiB unit).  The floor is a SOCK_SEQPACKET ping-pong
 * with a forked echo process, through the same wire_send()/wire_recv(),
 * with messages of the sizes the daemon's exchange uses:
 *
 *  (a) no descriptor on the reply: the floor for Delete;
 *  (b) one descriptor on the reply, to a tmpfs file the client closes on
 *      receipt, as a real client does after mapping: the floor for Alloc.
 *
 * Floors and daemon are measured in interleaved rounds, so that the
 * machine's drifts hit both; read the figures as ratios, not absolute
 * microseconds.  Two requests that change nothing (Open, with an fd, and
 * Stat, without) are measured too: the daemon's cost of a request without
 * its change and its journal commit.
 *
 * Not a test: nothing is asserted.  bench/README.md says how to read it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "envelope.h"
#include "harness.h"
#include "wire.h"

#define BENCH_POOL_SIZE (1ULL << 30)
#define BENCH_UNIT_ARG "2M"
#define BENCH_N_DEFAULT 20000
#define BENCH_ROUNDS 4
#define BENCH_WARMUP_MAX 2000
#define BENCH_GOAL 1.25
#define BENCH_RECV_TIMEOUT_S 10

/* What the echo process is asked to do, in the first bytes of a ping. */
struct bench_ping {
	uint8_t with_fd;
	uint8_t reply_lo;
	uint8_t reply_hi;
};

/* One measured series: latencies in nanoseconds. */
struct bench_series {
	double *ns;
	unsigned int n;
};

/* Medians and 99th percentiles of a series, in nanoseconds. */
struct bench_stat {
	double med;
	double p99;
};

/* Everything the run needs; one instance, also seen by the signal handler. */
struct bench {
	struct harness h;
	bool started; /* harness_init() done: h.dir exists */
	char pool[PATH_MAX];
	bool pool_made;
	const char *daemon;
	const char *dir;
	unsigned int n; /* measured samples per series */
	unsigned int warmup;
	int sock; /* client connection to the daemon */
	int echo_sock; /* our end of the floor's socketpair */
	pid_t echo_pid;
	uint64_t rid; /* next request id */
	uint64_t unit;
	/* Packed sizes of the daemon's messages, learnt in the warm-up. */
	size_t alloc_req, alloc_rep, del_req, del_rep, pin_req, pin_rep;
	struct bench_series floor_a, floor_b, alloc, del, pair, open, stat;
	struct bench_series floor_p, pin, unpin, pinpair;
	/* Batched pins: BENCH_BATCH ranges per request, whole-run rates. */
	double batch_pin_s, batch_unpin_s;
	uint64_t batch_pins;
};

/* Ranges per batched Pin (fits a 64 KiB datagram), and batches timed. */
#define BENCH_BATCH 2048
#define BENCH_BATCHES 200

static struct bench bench = { .sock = -1, .echo_sock = -1, .echo_pid = -1 };

/* bench_now_ns -- a monotonic clock in nanoseconds */
static double bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* bench_cmp_double -- order doubles, for percentiles */
static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* bench_series_new -- room for n samples */
static int bench_series_new(struct bench_series *s, unsigned int n)
{
	s->ns = calloc(n ? n : 1, sizeof(*s->ns));
	s->n = 0;
	return s->ns ? 0 : -ENOMEM;
}

/* bench_series_stat -- median and 99th percentile (sorts the samples) */
static struct bench_stat bench_series_stat(struct bench_series *s)
{
	struct bench_stat st = { 0, 0 };

	if (!s->n)
		return st;
	qsort(s->ns, s->n, sizeof(*s->ns), bench_cmp_double);
	st.med = s->ns[s->n / 2];
	st.p99 = s->ns[(size_t)s->n * 99 / 100];
	return st;
}

/*
 * bench_cleanup_signal -- SIGINT/SIGTERM: leave nothing behind, then die
 *
 * Only async-signal-safe calls: the daemon is killed (its socket files are
 * the harness folder's), the pool file and the folder are removed.
 */
static void bench_cleanup_signal(int sig)
{
	if (bench.h.pid > 0)
		kill(bench.h.pid, SIGKILL);
	if (bench.echo_pid > 0)
		kill(bench.echo_pid, SIGKILL);
	if (bench.pool_made)
		unlink(bench.pool);
	if (bench.started) {
		unlink(bench.h.sock);
		unlink(bench.h.ctl);
		unlink(bench.h.notify);
		unlink(bench.h.log);
		rmdir(bench.h.dir);
	}
	_exit(128 + sig);
}

/*
 * bench_default_daemon -- the build tree's daxallocd, next to this program
 *
 * This program is <build>/bench/bench_latency; the daemon is
 * <build>/daemon/daxallocd.
 */
static int bench_default_daemon(char *out, size_t cap)
{
	char exe[PATH_MAX];
	ssize_t n;
	char *slash;
	int i;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return -errno;
	exe[n] = '\0';
	for (i = 0; i < 2; i++) {
		slash = strrchr(exe, '/');
		if (!slash)
			return -ENOENT;
		*slash = '\0';
	}
	if ((size_t)snprintf(out, cap, "%s/daemon/daxallocd", exe) >= cap)
		return -ENAMETOOLONG;
	return 0;
}

/*
 * bench_echo -- the floor's server: answer each ping, forever
 *
 * Runs in the forked child.  The reply has the size the ping asks for and,
 * when asked, carries fd.  Exits when the client closes its end.
 */
static void __attribute__((noreturn)) bench_echo(int sock, int fd)
{
	static uint8_t buf[WIRE_MSG_MAX];
	int fds[WIRE_FDS_MAX];
	struct bench_ping ping;
	unsigned int nfds;
	size_t len, rlen;
	int r;

	for (;;) {
		r = wire_recv(sock, buf, sizeof(buf), &len, fds, &nfds);
		if (r < 0)
			_exit(r == -ECONNRESET ? 0 : 1);
		wire_close_fds(fds, nfds);
		if (len < sizeof(ping))
			_exit(1);
		memcpy(&ping, buf, sizeof(ping));
		rlen = ping.reply_lo | (size_t)ping.reply_hi << 8;
		r = wire_send(sock, buf, rlen, &fd, ping.with_fd ? 1 : 0);
		if (r < 0)
			_exit(1);
	}
}

/*
 * bench_echo_start -- fork the echo process on a SEQPACKET socketpair
 *
 * Its descriptor is a file in dir (tmpfs, like the pool), unlinked at
 * once: only the open file description travels.
 */
static int bench_echo_start(struct bench *b)
{
	char path[PATH_MAX];
	int sv[2], fd, r;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	snprintf(path, sizeof(path), "%s/daxalloc-bench-echo-%d", b->dir,
		 (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		goto err_pair;
	}
	unlink(path);
	b->echo_pid = fork();
	if (b->echo_pid < 0) {
		r = -errno;
		goto err_fd;
	}
	if (b->echo_pid == 0) {
		close(sv[0]);
		bench_echo(sv[1], fd);
	}
	close(fd);
	close(sv[1]);
	b->echo_sock = sv[0];
	return 0;

err_fd:
	close(fd);
err_pair:
	close(sv[0]);
	close(sv[1]);
	return r;
}

/* bench_echo_stop -- close our end; the echo process exits on it */
static void bench_echo_stop(struct bench *b)
{
	if (b->echo_sock >= 0)
		close(b->echo_sock);
	b->echo_sock = -1;
	if (b->echo_pid > 0)
		waitpid(b->echo_pid, NULL, 0);
	b->echo_pid = -1;
}

/*
 * bench_ping -- one floor round trip: req_len bytes out, rep_len back
 *
 * Returns the latency in ns, or a negative errno.  A descriptor that came
 * back is closed inside the measured time, as the daemon's client does.
 */
static double bench_ping(struct bench *b, size_t req_len, size_t rep_len,
			 bool with_fd)
{
	static uint8_t out[WIRE_MSG_MAX], in[WIRE_MSG_MAX];
	struct bench_ping ping = {
		.with_fd = with_fd,
		.reply_lo = (uint8_t)rep_len,
		.reply_hi = (uint8_t)(rep_len >> 8),
	};
	int fds[WIRE_FDS_MAX];
	unsigned int nfds;
	double t0, t1;
	size_t len;
	int r;

	/* The echo process reads its orders from the ping's first bytes. */
	if (req_len < sizeof(ping))
		req_len = sizeof(ping);
	memcpy(out, &ping, sizeof(ping));
	t0 = bench_now_ns();
	r = wire_send(b->echo_sock, out, req_len, NULL, 0);
	if (r == 0)
		r = wire_recv(b->echo_sock, in, sizeof(in), &len, fds, &nfds);
	if (r == 0)
		wire_close_fds(fds, nfds);
	t1 = bench_now_ns();
	if (r < 0)
		return r;
	if (len != rep_len || nfds != (with_fd ? 1u : 0u))
		return -EPROTO;
	return t1 - t0;
}

/* bench_floor -- count pings into s; the sizes are the daemon's */
static int bench_floor(struct bench *b, struct bench_series *s,
		       unsigned int count, size_t req_len, size_t rep_len,
		       bool with_fd)
{
	unsigned int i;
	double ns;

	for (i = 0; i < count; i++) {
		ns = bench_ping(b, req_len, rep_len, with_fd);
		if (ns < 0) {
			fprintf(stderr, "bench: floor ping: %s\n",
				strerror((int)-ns));
			return (int)ns;
		}
		if (s)
			s->ns[s->n++] = ns;
	}
	return 0;
}

/*
 * bench_call -- one request to the daemon and its reply
 *
 * *ns gets the round trip: encoding, sending, receiving, decoding and
 * closing the descriptors that came with the reply.  *nfds tells how many
 * did.  The caller frees *resp.
 */
static int bench_call(struct bench *b, Daxalloc__Envelope *req,
		      Daxalloc__Envelope **resp, unsigned int *nfds, double *ns)
{
	int fds[WIRE_FDS_MAX];
	double t0;
	int r;

	req->version = PROTO_VERSION_MAX;
	req->id = b->rid++;
	t0 = bench_now_ns();
	r = envelope_send(b->sock, req, NULL, 0);
	if (r == 0)
		r = envelope_recv(b->sock, resp, fds, nfds);
	if (r == 0)
		wire_close_fds(fds, *nfds);
	*ns = bench_now_ns() - t0;
	if (r < 0) {
		fprintf(stderr, "bench: %s: %s\n",
			envelope_type_name(req->body_case),
			r == -EAGAIN ? "no reply in 10 s" : strerror(-r));
		return r;
	}
	if ((*resp)->id != req->id) {
		fprintf(stderr,
			"bench: reply %" PRIu64 " to request %" PRIu64 "\n",
			(*resp)->id, req->id);
		envelope_free(*resp);
		return -EPROTO;
	}
	if ((*resp)->status) {
		fprintf(stderr, "bench: %s refused: %s (%s)\n",
			envelope_type_name(req->body_case),
			strerror(-(*resp)->status), (*resp)->message);
		r = (*resp)->status;
		envelope_free(*resp);
		return r;
	}
	return 0;
}

/* bench_hello -- the first exchange; learns the pool's unit */
static int bench_hello(struct bench *b)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT, *resp;
	Daxalloc__Hello hello = DAXALLOC__HELLO__INIT;
	unsigned int nfds;
	double ns;
	int r;

	hello.version_min = PROTO_VERSION_MIN;
	hello.version_max = PROTO_VERSION_MAX;
	hello.client_name = (char *)"bench_latency";
	hello.pid = (uint32_t)getpid();
	env.body_case = DAXALLOC__ENVELOPE__BODY_HELLO;
	env.hello = &hello;
	r = bench_call(b, &env, &resp, &nfds, &ns);
	if (r < 0)
		return r;
	if (resp->body_case != DAXALLOC__ENVELOPE__BODY_HELLO_REPLY ||
	    !resp->hello_reply || !resp->hello_reply->unit) {
		fprintf(stderr, "bench: Hello answered without a pool unit\n");
		envelope_free(resp);
		return -EPROTO;
	}
	b->unit = resp->hello_reply->unit;
	envelope_free(resp);
	return 0;
}

/*
 * bench_alloc -- Alloc one unit, anonymous; *id gets the extent
 *
 * The reply must carry exactly one descriptor: a daemon built before fd
 * passing would make the comparison with floor (b) meaningless.
 */
static int bench_alloc(struct bench *b, uint64_t *id, double *ns,
		       size_t *req_len, size_t *rep_len)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT, *resp;
	Daxalloc__AllocRequest ar = DAXALLOC__ALLOC_REQUEST__INIT;
	unsigned int nfds;
	int r;

	ar.size = b->unit;
	env.body_case = DAXALLOC__ENVELOPE__BODY_ALLOC;
	env.alloc = &ar;
	r = bench_call(b, &env, &resp, &nfds, ns);
	if (r < 0)
		return r;
	if (resp->body_case != DAXALLOC__ENVELOPE__BODY_EXTENT_REPLY ||
	    !resp->extent_reply || !resp->extent_reply->extent) {
		fprintf(stderr, "bench: Alloc answered without an extent\n");
		r = -EPROTO;
	} else if (nfds != 1) {
		fprintf(stderr,
			"bench: Alloc reply carries %u descriptors, not 1 (a daemon without fd passing? rebuild it)\n",
			nfds);
		r = -EPROTO;
	} else {
		*id = resp->extent_reply->extent->id;
		if (req_len)
			*req_len = daxalloc__envelope__get_packed_size(&env);
		if (rep_len)
			*rep_len = daxalloc__envelope__get_packed_size(resp);
	}
	envelope_free(resp);
	return r;
}

/* bench_by_id -- Delete, Stat, Open or Close of extent id */
static int bench_by_id(struct bench *b, envelope_body_t body, uint64_t id,
		       double *ns, size_t *req_len, size_t *rep_len)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT, *resp;
	Daxalloc__DeleteRequest del = DAXALLOC__DELETE_REQUEST__INIT;
	Daxalloc__StatRequest st = DAXALLOC__STAT_REQUEST__INIT;
	Daxalloc__OpenRequest op = DAXALLOC__OPEN_REQUEST__INIT;
	Daxalloc__CloseRequest cl = DAXALLOC__CLOSE_REQUEST__INIT;
	unsigned int nfds, want = 0;
	int r;

	env.body_case = body;
	switch (body) {
	case DAXALLOC__ENVELOPE__BODY_DELETE:
		del.key_case = DAXALLOC__DELETE_REQUEST__KEY_EXTENT_ID;
		del.extent_id = id;
		env.delete_ = &del;
		break;
	case DAXALLOC__ENVELOPE__BODY_STAT:
		st.key_case = DAXALLOC__STAT_REQUEST__KEY_EXTENT_ID;
		st.extent_id = id;
		env.stat = &st;
		break;
	case DAXALLOC__ENVELOPE__BODY_OPEN:
		op.key_case = DAXALLOC__OPEN_REQUEST__KEY_EXTENT_ID;
		op.extent_id = id;
		env.open = &op;
		want = 1;
		break;
	case DAXALLOC__ENVELOPE__BODY_CLOSE:
		cl.extent_id = id;
		env.close = &cl;
		break;
	default:
		return -EINVAL;
	}
	r = bench_call(b, &env, &resp, &nfds, ns);
	if (r < 0)
		return r;
	if (nfds != want) {
		fprintf(stderr,
			"bench: %s reply carries %u descriptors, not %u\n",
			envelope_type_name(body), nfds, want);
		r = -EPROTO;
	} else {
		if (req_len)
			*req_len = daxalloc__envelope__get_packed_size(&env);
		if (rep_len)
			*rep_len = daxalloc__envelope__get_packed_size(resp);
	}
	envelope_free(resp);
	return r;
}

/*
 * bench_churn -- count Alloc + Delete pairs, each timed on its own
 *
 * With record false (the warm-up) nothing is kept but the messages'
 * sizes, which the floor then copies.
 */
static int bench_churn(struct bench *b, unsigned int count, bool record)
{
	double a_ns, d_ns;
	unsigned int i;
	uint64_t id;
	int r;

	for (i = 0; i < count; i++) {
		r = bench_alloc(b, &id, &a_ns, &b->alloc_req, &b->alloc_rep);
		if (r < 0)
			return r;
		r = bench_by_id(b, DAXALLOC__ENVELOPE__BODY_DELETE, id, &d_ns,
				&b->del_req, &b->del_rep);
		if (r < 0)
			return r;
		if (!record)
			continue;
		b->alloc.ns[b->alloc.n++] = a_ns;
		b->del.ns[b->del.n++] = d_ns;
		b->pair.ns[b->pair.n++] = a_ns + d_ns;
	}
	return 0;
}

/*
 * bench_reference -- count Open (+ Close) and Stat of one live extent
 *
 * Neither changes the pool, so the daemon's before-sleep commit finds
 * nothing to write: the daemon's cost of a request without the change
 * and its commit.  Close is sent so that opens do not pile up, untimed.
 */
static int bench_reference(struct bench *b, uint64_t id, unsigned int count,
			   bool record)
{
	double o_ns, s_ns, c_ns;
	unsigned int i;
	int r;

	for (i = 0; i < count; i++) {
		r = bench_by_id(b, DAXALLOC__ENVELOPE__BODY_OPEN, id, &o_ns,
				NULL, NULL);
		if (r == 0)
			r = bench_by_id(b, DAXALLOC__ENVELOPE__BODY_CLOSE, id,
					&c_ns, NULL, NULL);
		if (r == 0)
			r = bench_by_id(b, DAXALLOC__ENVELOPE__BODY_STAT, id,
					&s_ns, NULL, NULL);
		if (r < 0)
			return r;
		if (!record)
			continue;
		b->open.ns[b->open.n++] = o_ns;
		b->stat.ns[b->stat.n++] = s_ns;
	}
	return 0;
}

/*
 * bench_pin_req -- Pin n ranges of 64 bytes of extent id (offsets spread
 * over its first unit), or Unpin the n ids in ids; the reply's ids go to
 * ids
 */
static int bench_pin_req(struct bench *b, bool pin, uint64_t id, uint64_t *ids,
			 unsigned int n, double *ns, size_t *req_len,
			 size_t *rep_len)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT, *resp;
	Daxalloc__PinRequest pr = DAXALLOC__PIN_REQUEST__INIT;
	Daxalloc__UnpinRequest ur = DAXALLOC__UNPIN_REQUEST__INIT;
	static Daxalloc__PinRange rg[BENCH_BATCH];
	static Daxalloc__PinRange *rp[BENCH_BATCH];
	unsigned int nfds, i;
	int r;

	if (pin) {
		for (i = 0; i < n; i++) {
			daxalloc__pin_range__init(&rg[i]);
			rg[i].extent_id = id;
			rg[i].offset = (i * 64) % b->unit;
			rg[i].length = 64;
			rp[i] = &rg[i];
		}
		pr.n_ranges = n;
		pr.ranges = rp;
		env.body_case = DAXALLOC__ENVELOPE__BODY_PIN;
		env.pin = &pr;
	} else {
		ur.n_pin_ids = n;
		ur.pin_ids = ids;
		env.body_case = DAXALLOC__ENVELOPE__BODY_UNPIN;
		env.unpin = &ur;
	}
	r = bench_call(b, &env, &resp, &nfds, ns);
	if (r < 0)
		return r;
	if (pin && (resp->body_case != DAXALLOC__ENVELOPE__BODY_PIN_REPLY ||
		    resp->pin_reply->n_pin_ids != n)) {
		fprintf(stderr, "bench: Pin answered without %u pin ids\n", n);
		r = -EPROTO;
	} else {
		if (pin)
			memcpy(ids, resp->pin_reply->pin_ids, n * sizeof(*ids));
		if (req_len)
			*req_len = daxalloc__envelope__get_packed_size(&env);
		if (rep_len)
			*rep_len = daxalloc__envelope__get_packed_size(resp);
	}
	envelope_free(resp);
	return r;
}

/* bench_pins -- count Pin + Unpin pairs of one range, each timed */
static int bench_pins(struct bench *b, uint64_t id, unsigned int count,
		      bool record)
{
	double p_ns, u_ns;
	unsigned int i;
	uint64_t pin;
	int r;

	for (i = 0; i < count; i++) {
		r = bench_pin_req(b, true, id, &pin, 1, &p_ns, &b->pin_req,
				  &b->pin_rep);
		if (r == 0)
			r = bench_pin_req(b, false, id, &pin, 1, &u_ns, NULL,
					  NULL);
		if (r < 0)
			return r;
		if (!record)
			continue;
		b->pin.ns[b->pin.n++] = p_ns;
		b->unpin.ns[b->unpin.n++] = u_ns;
		b->pinpair.ns[b->pinpair.n++] = p_ns + u_ns;
	}
	return 0;
}

/*
 * bench_batches -- BENCH_BATCHES batched Pins of BENCH_BATCH ranges, each
 * followed by the batched Unpin of the same ids: pins (and unpins) per
 * second over the whole run, round trips included
 */
static int bench_batches(struct bench *b, uint64_t id)
{
	static uint64_t ids[BENCH_BATCH];
	double p_ns, u_ns;
	unsigned int i;
	int r;

	b->batch_pin_s = b->batch_unpin_s = 0;
	b->batch_pins = 0;
	for (i = 0; i < BENCH_BATCHES; i++) {
		r = bench_pin_req(b, true, id, ids, BENCH_BATCH, &p_ns, NULL,
				  NULL);
		if (r == 0)
			r = bench_pin_req(b, false, id, ids, BENCH_BATCH, &u_ns,
					  NULL, NULL);
		if (r < 0)
			return r;
		b->batch_pin_s += p_ns / 1e9;
		b->batch_unpin_s += u_ns / 1e9;
		b->batch_pins += BENCH_BATCH;
	}
	return 0;
}

/*
 * bench_pool_file -- a formatted pool file of BENCH_POOL_SIZE in b->dir
 *
 * Made here because the daemon creates no pool file under /dev (a missing
 * devdax namespace must not silently become a file in RAM); formatted by
 * the daemon itself with --format, which exits.
 */
static int bench_pool_file(struct bench *b)
{
	const char *argv[] = { b->daemon, "--device", b->pool, "--unit",
			       BENCH_UNIT_ARG, "--format", "--log-level",
			       "warning", NULL };
	char out[4096];
	int fd, status, r = 0;

	snprintf(b->pool, sizeof(b->pool), "%s/daxalloc-bench-%d.img", b->dir,
		 (int)getpid());
	fd = open(b->pool, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		fprintf(stderr, "bench: %s: %s\n", b->pool, strerror(-r));
		return r;
	}
	b->pool_made = true;
	if (ftruncate(fd, (off_t)BENCH_POOL_SIZE) < 0)
		r = -errno;
	close(fd);
	if (r < 0) {
		fprintf(stderr, "bench: sizing %s: %s\n", b->pool,
			strerror(-r));
		return r;
	}
	r = harness_run(argv, out, sizeof(out), &status);
	if (r == 0 && status != 0) {
		fprintf(stderr, "bench: %s --format exited %d:\n%s", b->daemon,
			status, out);
		r = -EIO;
	}
	return r;
}

/*
 * bench_daemon_start -- format the pool, start daxallocd on it, connect
 *
 * The harness asks for debug logging; --log-level warning after it wins,
 * so that the daemon writes no log line per request.
 */
static int bench_daemon_start(struct bench *b)
{
	const char *extra[] = { "--device", b->pool, "--unit", BENCH_UNIT_ARG,
				"--log-level", "warning", NULL };
	int r;

	r = harness_init(&b->h);
	if (r < 0) {
		fprintf(stderr, "bench: harness folder: %s\n", strerror(-r));
		return r;
	}
	b->started = true;
	r = bench_pool_file(b);
	if (r < 0)
		return r;
	setenv("DAXALLOCD", b->daemon, 1);
	r = harness_start(&b->h, extra);
	if (r < 0) {
		fprintf(stderr,
			"bench: %s did not get ready: %s (log: %s; DAXALLOC_KEEP_TEST_DIR=1 keeps it)\n",
			b->daemon, strerror(-r), b->h.log);
		return r;
	}
	b->sock = harness_connect(b->h.sock, BENCH_RECV_TIMEOUT_S);
	if (b->sock < 0) {
		r = b->sock;
		fprintf(stderr, "bench: connect %s: %s\n", b->h.sock,
			strerror(-r));
		return r;
	}
	b->rid = 1;
	return bench_hello(b);
}

/* bench_daemon_stop -- SIGTERM the daemon, remove the pool and the folder */
static void bench_daemon_stop(struct bench *b)
{
	int status = 0;

	if (b->sock >= 0)
		close(b->sock);
	b->sock = -1;
	if (b->h.pid > 0 && harness_stop(&b->h, SIGTERM, &status) == 0 &&
	    !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		fprintf(stderr, "bench: daxallocd ended with wait status %#x\n",
			status);
	if (b->started)
		harness_fini(&b->h);
	b->started = false;
	if (b->pool_made)
		unlink(b->pool);
	b->pool_made = false;
}

/*
 * bench_measure -- warm up, then BENCH_ROUNDS interleaved rounds
 *
 * Each round measures its share of every series: floor (a), floor (b),
 * Alloc + Delete pairs, then the no-change references.
 */
static int bench_measure(struct bench *b)
{
	unsigned int round, count;
	uint64_t ref_id;
	double ns;
	int r;

	r = bench_churn(b, b->warmup, false);
	if (r == 0)
		r = bench_floor(b, NULL, b->warmup, b->del_req, b->del_rep,
				false);
	if (r == 0)
		r = bench_floor(b, NULL, b->warmup, b->alloc_req, b->alloc_rep,
				true);
	if (r == 0)
		r = bench_alloc(b, &ref_id, &ns, NULL, NULL);
	if (r == 0)
		r = bench_reference(b, ref_id, b->warmup, false);
	if (r == 0)
		r = bench_pins(b, ref_id, b->warmup, false);
	if (r == 0)
		r = bench_floor(b, NULL, b->warmup, b->pin_req, b->pin_rep,
				false);
	for (round = 0; r == 0 && round < BENCH_ROUNDS; round++) {
		count = b->n / BENCH_ROUNDS +
			(round < b->n % BENCH_ROUNDS ? 1 : 0);
		r = bench_floor(b, &b->floor_a, count, b->del_req, b->del_rep,
				false);
		if (r == 0)
			r = bench_floor(b, &b->floor_b, count, b->alloc_req,
					b->alloc_rep, true);
		if (r == 0)
			r = bench_churn(b, count, true);
		if (r == 0)
			r = bench_reference(b, ref_id, count, true);
		if (r == 0)
			r = bench_floor(b, &b->floor_p, count, b->pin_req,
					b->pin_rep, false);
		if (r == 0)
			r = bench_pins(b, ref_id, count, true);
	}
	if (r == 0)
		r = bench_batches(b, ref_id);
	return r;
}

/* bench_us -- nanoseconds as microseconds, for printing */
static double bench_us(double ns)
{
	return ns / 1e3;
}

/* bench_row -- one line of the table; ratio against floor when given */
static void bench_row(const char *what, struct bench_stat st,
		      const struct bench_stat *floor, const char *floor_name)
{
	if (floor)
		printf("%-34s %9.1f %9.1f %7.2fx  vs %s\n", what,
		       bench_us(st.med), bench_us(st.p99), st.med / floor->med,
		       floor_name);
	else
		printf("%-34s %9.1f %9.1f\n", what, bench_us(st.med),
		       bench_us(st.p99));
}

/* bench_report -- the table and the verdict against the goal */
static void bench_report(struct bench *b)
{
	struct bench_stat fa = bench_series_stat(&b->floor_a);
	struct bench_stat fb = bench_series_stat(&b->floor_b);
	struct bench_stat al = bench_series_stat(&b->alloc);
	struct bench_stat de = bench_series_stat(&b->del);
	struct bench_stat pr = bench_series_stat(&b->pair);
	struct bench_stat op = bench_series_stat(&b->open);
	struct bench_stat st = bench_series_stat(&b->stat);
	struct bench_stat fp = bench_series_stat(&b->floor_p);
	struct bench_stat pi = bench_series_stat(&b->pin);
	struct bench_stat un = bench_series_stat(&b->unpin);
	struct bench_stat pp = bench_series_stat(&b->pinpair);
	struct bench_stat fab = { fa.med + fb.med, 0 };
	struct bench_stat fpp = { 2 * fp.med, 0 };
	double ra = al.med / fb.med, rd = de.med / fa.med;
	double rp = pp.med / fpp.med;

	printf("\n%-34s %9s %9s %8s\n", "round trip", "median us", "p99 us",
	       "ratio");
	bench_row("floor (a): ping-pong, no fd", fa, NULL, NULL);
	bench_row("floor (b): ping-pong, 1 fd", fb, NULL, NULL);
	bench_row("Alloc (1 unit, anonymous, 1 fd)", al, &fb, "(b)");
	bench_row("Delete", de, &fa, "(a)");
	bench_row("Alloc+Delete, two commits", pr, &fab, "(a)+(b)");
	printf("no change, so nothing to commit:\n");
	bench_row("  Open (1 fd)", op, &fb, "(b)");
	bench_row("  Stat", st, &fa, "(a)");
	printf("change + commit, difference of medians:\n");
	printf("%-34s %9.1f\n", "  Alloc - Open", bench_us(al.med - op.med));
	printf("%-34s %9.1f\n", "  Delete - Stat", bench_us(de.med - st.med));
	printf("pins (one 64-byte range of a leased extent):\n");
	bench_row("floor (p): ping-pong, Pin's sizes", fp, NULL, NULL);
	bench_row("  Pin", pi, &fp, "(p)");
	bench_row("  Unpin", un, &fp, "(p)");
	bench_row("  Pin+Unpin", pp, &fpp, "2 x (p)");
	printf("batched: %u x %u ranges: %.2f M pins/s, %.2f M unpins/s (goal >= 1 M/s)\n",
	       BENCH_BATCHES, BENCH_BATCH, b->batch_pins / b->batch_pin_s / 1e6,
	       b->batch_pins / b->batch_unpin_s / 1e6);
	/*
	 * A request through the daemon cannot beat the bare ping-pong: when
	 * it does, the floor was disturbed (seen under a parallel test run,
	 * a floor 8x its usual) and the ratios mean nothing.
	 */
	if (st.med < fa.med || op.med < fb.med) {
		printf("goal: not judged: Stat or Open was faster than its floor; the machine disturbed the floor, run again\n");
		return;
	}
	printf("goal: ratio <= %.2fx; Alloc %.2fx: %s; Delete %.2fx: %s; Pin+Unpin %.2fx: %s\n",
	       BENCH_GOAL, ra, ra <= BENCH_GOAL ? "met" : "MISSED", rd,
	       rd <= BENCH_GOAL ? "met" : "MISSED", rp,
	       rp <= BENCH_GOAL ? "met" : "MISSED");
}

/* bench_usage -- what the command line takes */
static void bench_usage(FILE *f)
{
	fputs("Usage: bench_latency [--daemon PATH] [--dir DIR]\n"
	      "Round-trip latency of Alloc and Delete on a real daxallocd,\n"
	      "one request at a time, against a SEQPACKET ping-pong floor\n"
	      "measured in the same run.  The daemon is PATH, else $DAXALLOCD,\n"
	      "else daemon/daxallocd of this build tree.  The 1 GiB pool file\n"
	      "goes to DIR (default /dev/shm) and is removed.\n"
	      "Environment: LAT_N samples per series (default 20000),\n"
	      "LAT_CPU=n runs the client, the echo process and the daemon on\n"
	      "CPU n only.\n",
	      f);
}

/* bench_pin -- LAT_CPU: this process (and so its children) on one CPU */
static int bench_pin(const char *cpu)
{
	cpu_set_t set;
	char *end;
	long n;

	errno = 0;
	n = strtol(cpu, &end, 10);
	if (errno || *end || n < 0 || n >= CPU_SETSIZE)
		return -EINVAL;
	CPU_ZERO(&set);
	CPU_SET((int)n, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		return -errno;
	return 0;
}

/* bench_parse -- command line and environment into b; 2 on a usage error */
static int bench_parse(struct bench *b, int argc, char **argv)
{
	const char *env;
	char *end;
	long n;
	int k;

	b->dir = "/dev/shm";
	b->daemon = getenv("DAXALLOCD");
	b->n = BENCH_N_DEFAULT;
	for (k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "--daemon") && k + 1 < argc) {
			b->daemon = argv[++k];
		} else if (!strcmp(argv[k], "--dir") && k + 1 < argc) {
			b->dir = argv[++k];
		} else if (!strcmp(argv[k], "--help")) {
			bench_usage(stdout);
			return 1;
		} else {
			bench_usage(stderr);
			return 2;
		}
	}
	env = getenv("LAT_N");
	if (env) {
		errno = 0;
		n = strtol(env, &end, 10);
		if (errno || *end || n < BENCH_ROUNDS || n > 100000000) {
			fprintf(stderr, "bench: LAT_N=%s: want %d..100000000\n",
				env, BENCH_ROUNDS);
			return 2;
		}
		b->n = (unsigned int)n;
	}
	b->warmup = b->n / 10 < BENCH_WARMUP_MAX ? b->n / 10 : BENCH_WARMUP_MAX;
	if (b->warmup == 0)
		b->warmup = 1;
	env = getenv("LAT_CPU");
	if (env && bench_pin(env) < 0) {
		fprintf(stderr,
			"bench: LAT_CPU=%s: not a CPU this process may use\n",
			env);
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static char daemon_path[PATH_MAX];
	struct bench_series *all[] = { &bench.floor_a, &bench.floor_b,
				       &bench.alloc, &bench.del, &bench.pair,
				       &bench.open, &bench.stat, &bench.floor_p,
				       &bench.pin, &bench.unpin, &bench.pinpair };
	struct sigaction sa = { .sa_handler = bench_cleanup_signal };
	unsigned int i;
	int r;

	r = bench_parse(&bench, argc, argv);
	if (r)
		return r == 1 ? 0 : 2;
	if (!bench.daemon) {
		r = bench_default_daemon(daemon_path, sizeof(daemon_path));
		if (r < 0) {
			fprintf(stderr,
				"bench: cannot find daxallocd next to this program: %s; give --daemon PATH\n",
				strerror(-r));
			return 1;
		}
		bench.daemon = daemon_path;
	}
	if (access(bench.daemon, X_OK) < 0) {
		fprintf(stderr, "bench: %s: %s\n", bench.daemon,
			strerror(errno));
		return 1;
	}
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (bench_series_new(all[i], bench.n) < 0)
			return 1;
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	r = bench_echo_start(&bench);
	if (r < 0) {
		fprintf(stderr, "bench: echo process: %s\n", strerror(-r));
		return 1;
	}
	r = bench_daemon_start(&bench);
	if (r == 0) {
		printf("latency: one request at a time over SOCK_SEQPACKET; %u samples a series in %d interleaved rounds, after %u warm-up iterations\n",
		       bench.n, BENCH_ROUNDS, bench.warmup);
		printf("daemon: %s (pid %d), pool %s, %llu MiB, unit %" PRIu64 " KiB\n",
		       bench.daemon, (int)bench.h.pid, bench.pool,
		       BENCH_POOL_SIZE >> 20, bench.unit >> 10);
		fflush(stdout);
		r = bench_measure(&bench);
	}
	if (r == 0) {
		printf("message sizes: Alloc %zu -> %zu bytes + 1 fd, Delete %zu -> %zu bytes; the floors use the same\n",
		       bench.alloc_req, bench.alloc_rep, bench.del_req,
		       bench.del_rep);
		bench_report(&bench);
	}
	bench_daemon_stop(&bench);
	bench_echo_stop(&bench);
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		free(all[i]->ns);
	return r == 0 ? 0 : 1;
}
