// SPDX-License-Identifier: Apache-2.0
/*
 * fixture.c -- the real server in-process, driven through socketpairs
 *
 * Each test gets a fresh server on sockets in a temporary folder, hands one
 * end of a socketpair to conn_accept() as accept4() would, writes requests
 * from the other end and turns the loop by hand.  Replies are written in
 * the loop's before-sleep (prepare) hook, so a reply shows up one loop turn
 * after its request was read.  Shared by test_dispatch and test_request.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "fixture.h"
#include "unit.h"
#include "wire.h"

struct fixture fx;

/* fx_tick_cb -- nothing: the timer only bounds how long EVRUN_ONCE sleeps */
static void fx_tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
}

/*
 * fx_start -- parse options as daxallocd would and set up a server
 *
 * pool may be NULL: the protocol layer alone.
 */
int fx_start(unsigned int hello_timeout_s, struct pool *pool)
{
	int argc = 0;

	snprintf(fx.timeout, sizeof(fx.timeout), "%u", hello_timeout_s);
	fx.argv[argc++] = (char *)"daxallocd";
	/* Required by the command line; the pool, if any, is the caller's. */
	fx.argv[argc++] = (char *)"--device";
	fx.argv[argc++] = fx.pool;
	fx.argv[argc++] = (char *)"--socket";
	fx.argv[argc++] = fx.sock;
	fx.argv[argc++] = (char *)"--control-socket";
	fx.argv[argc++] = fx.ctl;
	fx.argv[argc++] = (char *)"--hello-timeout";
	fx.argv[argc++] = fx.timeout;
	fx.argv[argc] = NULL;
	optind = 0; /* getopt: start over on a new argv */
	if (options_parse(&fx.opts, argc, fx.argv) != OPTIONS_RUN)
		return -EINVAL;
	if (server_init(&fx.srv, &fx.opts, pool) < 0) {
		options_free(&fx.opts);
		return -EIO;
	}
	/*
	 * server_run() starts the before-sleep hook, the signals and the
	 * listeners, then blocks; here only the hook is needed, as the tests
	 * hand sockets to conn_accept() themselves.
	 */
	ev_prepare_start(fx.srv.loop, &fx.srv.before_sleep);
	ev_timer_init(&fx.tick, fx_tick_cb, 0.1, 0.1);
	ev_timer_start(fx.srv.loop, &fx.tick);
	fx.up = true;
	return 0;
}

/* fx_stop -- shut the server down and close our socket ends */
void fx_stop(void)
{
	unsigned int i;

	if (fx.up) {
		ev_timer_stop(fx.srv.loop, &fx.tick);
		ev_prepare_stop(fx.srv.loop, &fx.srv.before_sleep);
		server_fini(&fx.srv);
		options_free(&fx.opts);
		fx.up = false;
	}
	for (i = 0; i < fx.npeers; i++)
		if (fx.peers[i] >= 0)
			close(fx.peers[i]);
	fx.npeers = 0;
}

/* fx_init -- the suite's temporary folder for both sockets */
int fx_init(void)
{
	strcpy(fx.dir, "/tmp/test_fixture.XXXXXX");
	if (!mkdtemp(fx.dir))
		return -1;
	snprintf(fx.sock, sizeof(fx.sock), "%s/c.sock", fx.dir);
	snprintf(fx.ctl, sizeof(fx.ctl), "%s/k.sock", fx.dir);
	snprintf(fx.pool, sizeof(fx.pool), "%s/pool.img", fx.dir);
	return 0;
}

/* fx_cleanup -- remove the folder; the server removed its socket files */
int fx_cleanup(void)
{
	unlink(fx.pool);
	return rmdir(fx.dir) < 0 ? -1 : 0;
}

/* fx_setup -- a fresh server with the default Hello timeout */
void fx_setup(void)
{
	fx.npeers = 0;
	fx.fds_before = unit_count_fds();
	if (fx_start(10, NULL) < 0)
		fprintf(stderr, "fixture: cannot start the server\n");
}

/* fx_teardown -- clean up after a test that did not reach fx_finish() */
void fx_teardown(void)
{
	fx_stop();
}

/*
 * fx_finish -- end a test: shut down and check for leaked descriptors
 *
 * Also checks that server_fini() removed both socket files.
 */
void fx_finish(void)
{
	struct stat st;

	fx_stop();
	CU_ASSERT_EQUAL(unit_count_fds(), fx.fds_before);
	CU_ASSERT(lstat(fx.sock, &st) < 0 && errno == ENOENT);
	CU_ASSERT(lstat(fx.ctl, &st) < 0 && errno == ENOENT);
}

/* peer_open -- a connection of the given kind; returns our end or -1 */
int peer_open(enum conn_kind kind)
{
	int p[2];

	if (fx.npeers >= FX_PEERS_MAX || !fx.up)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p) < 0)
		return -1;
	/* What listener_accept_cb() gets from accept4(SOCK_NONBLOCK). */
	if (fcntl(p[0], F_SETFL, O_NONBLOCK) < 0 ||
	    conn_accept(&fx.srv, p[0], kind) < 0) {
		close(p[1]);
		return -1;
	}
	fx.peers[fx.npeers++] = p[1];
	return p[1];
}

/* pump -- one turn of the loop that never sleeps */
void pump(void)
{
	ev_run(fx.srv.loop, EVRUN_NOWAIT);
}

/* peer_wait -- turn the loop until fd is readable; false on time out */
bool peer_wait(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int i;

	for (i = 0; i < PUMP_TURNS; i++) {
		pump();
		if (poll(&pfd, 1, 10) > 0)
			return true;
	}
	return false;
}

/*
 * peer_reply_fd -- the next message on fd and the descriptor it carries
 *
 * *rfd gets the one descriptor attached, or -1 when none is; a message
 * with more is refused.  NULL (explained on stderr) without a message.
 */
Daxalloc__Envelope *peer_reply_fd(int fd, int *rfd)
{
	Daxalloc__Envelope *env = NULL;
	int fds[WIRE_FDS_MAX];
	unsigned int nfds;
	int r;

	*rfd = -1;
	if (!peer_wait(fd)) {
		fprintf(stderr, "no reply in time\n");
		return NULL;
	}
	r = envelope_recv(fd, &env, fds, &nfds);
	if (r < 0) {
		fprintf(stderr, "no reply: %s\n", strerror(-r));
		return NULL;
	}
	if (nfds > 1) {
		fprintf(stderr, "reply carries %u descriptors\n", nfds);
		wire_close_fds(fds, nfds);
		envelope_free(env);
		return NULL;
	}
	if (nfds)
		*rfd = fds[0];
	return env;
}

/* peer_reply -- the next message on fd, which must carry no descriptor */
Daxalloc__Envelope *peer_reply(int fd)
{
	Daxalloc__Envelope *env = NULL;
	int fds[WIRE_FDS_MAX];
	unsigned int nfds;
	int r;

	if (!peer_wait(fd)) {
		fprintf(stderr, "no reply in time\n");
		return NULL;
	}
	r = envelope_recv(fd, &env, fds, &nfds);
	if (r < 0) {
		fprintf(stderr, "no reply: %s\n", strerror(-r));
		return NULL;
	}
	if (nfds) {
		fprintf(stderr, "reply carries %u descriptors\n", nfds);
		wire_close_fds(fds, nfds);
		envelope_free(env);
		return NULL;
	}
	return env;
}

/*
 * reply_is -- receive one reply and compare id, status and body
 *
 * Errors must explain themselves (a message) and carry no body; the reply
 * speaks protocol version 1 whatever the request said.
 */
bool reply_is(int fd, uint64_t id, int status, envelope_body_t body)
{
	Daxalloc__Envelope *env = peer_reply(fd);
	bool ok;

	if (!env)
		return false;
	ok = env->id == id && env->status == status && env->body_case == body &&
	     env->version == PROTO_VERSION_MAX &&
	     (status == 0 || (env->message && *env->message));
	if (!ok)
		fprintf(stderr,
			"reply: id %llu status %d (%s) body %s version %u; expected id %llu status %d body %s\n",
			(unsigned long long)env->id, (int)env->status,
			env->message ? env->message : "",
			envelope_type_name(env->body_case), env->version,
			(unsigned long long)id, status,
			envelope_type_name(body));
	envelope_free(env);
	return ok;
}

/*
 * peer_closed -- has the daemon closed its end, with nothing more to read?
 *
 * A message that arrives instead of the end of stream is a failure.
 */
bool peer_closed(int fd)
{
	int fds[WIRE_FDS_MAX];
	unsigned int nfds;
	char buf[256];
	size_t len;
	int r;

	if (!peer_wait(fd))
		return false;
	r = wire_recv(fd, buf, sizeof(buf), &len, fds, &nfds);
	if (r == 0)
		wire_close_fds(fds, nfds);
	return r == -ECONNRESET;
}

/* send_hello -- a Hello for versions lo..hi in an envelope of version v */
int send_hello(int fd, uint64_t id, uint32_t lo, uint32_t hi, uint32_t v)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT;
	Daxalloc__Hello h = DAXALLOC__HELLO__INIT;

	h.version_min = lo;
	h.version_max = hi;
	h.client_name = (char *)"fixture";
	h.pid = (uint32_t)getpid();
	env.version = v;
	env.id = id;
	env.body_case = B(HELLO);
	env.hello = &h;
	return envelope_send(fd, &env, NULL, 0);
}

/*
 * send_body -- an envelope with an empty body of the given case
 *
 * The body is built from the generated descriptor, so any case of the
 * oneof works, replies and events included; B(_NOT_SET) sends none.
 */
int send_body(int fd, uint32_t version, uint64_t id,
		     envelope_body_t body, const int *fds, unsigned int nfds)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT;
	const ProtobufCFieldDescriptor *f = NULL;
	void *sub = NULL;
	int r;

	env.version = version;
	env.id = id;
	if (body != B(_NOT_SET)) {
		f = protobuf_c_message_descriptor_get_field(
			&daxalloc__envelope__descriptor, (unsigned int)body);
		if (!f || !f->descriptor)
			return -EINVAL;
		sub = calloc(1,
			     ((const ProtobufCMessageDescriptor *)f->descriptor)
				     ->sizeof_message);
		if (!sub)
			return -ENOMEM;
		protobuf_c_message_init(f->descriptor, sub);
		memcpy((char *)&env + f->offset, &sub, sizeof(sub));
		env.body_case = body;
	}
	r = envelope_send(fd, &env, fds, nfds);
	free(sub);
	return r;
}

/* peer_hello -- open a connection and complete Hello on it; -1 on failure */
int peer_hello(enum conn_kind kind, uint64_t id)
{
	int fd = peer_open(kind);

	if (fd < 0 || send_hello(fd, id, 1, 1, 1) < 0 ||
	    !reply_is(fd, id, 0, B(HELLO_REPLY)))
		return -1;
	return fd;
}

