// SPDX-License-Identifier: Apache-2.0
/*
 * test_dispatch.c -- unit tests of the daemon's request checks
 *
 * The real server runs in-process: each test gets a fresh server on
 * sockets in a temporary folder, hands one end of a socketpair to
 * conn_accept() as accept4() would, writes requests from the other end
 * and turns the loop by hand.  Replies are written in the loop's
 * before-sleep (prepare) hook, so a reply shows up one loop turn after its
 * request was read.
 *
 * Every test ends with fx_finish(), which shuts the server down and checks
 * that the process holds exactly the descriptors it held before the test:
 * a connection or a received descriptor that the daemon failed to close
 * shows up there.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "daxalloc-config.h"
#include "envelope.h"
#include "log.h"
#include "options.h"
#include "server.h"
#include "fixture.h"
#include "unit.h"
#include "wire.h"

/* still_served -- does a ready connection still answer a request? */
static bool still_served(int fd, enum conn_kind kind, uint64_t id)
{
	if (kind == CONN_CONTROL)
		return send_body(fd, 1, id, B(STATUS_REQ), NULL, 0) == 0 &&
		       reply_is(fd, id, 0, B(STATUS_REPLY));
	/* These tests run without a pool: every extent request says so. */
	return send_body(fd, 1, id, B(PIN), NULL, 0) == 0 &&
	       reply_is(fd, id, -ENODEV, B(_NOT_SET));
}

/* test_hello -- Hello negotiates version 1 and echoes the id */
static void test_hello(void)
{
	Daxalloc__Envelope *rep;
	int fd = peer_open(CONN_CLIENT), fd2;

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(send_hello(fd, 42, 1, 1, 1), 0);
	rep = peer_reply(fd);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rep);
	CU_ASSERT_EQUAL(rep->id, 42);
	CU_ASSERT_EQUAL(rep->status, 0);
	CU_ASSERT_EQUAL(rep->version, 1);
	CU_ASSERT_EQUAL(rep->body_case, B(HELLO_REPLY));
	if (rep->body_case == B(HELLO_REPLY)) {
		CU_ASSERT_EQUAL(rep->hello_reply->version, 1);
		CU_ASSERT_STRING_EQUAL(rep->hello_reply->server_version,
				       DAXALLOC_VERSION);
		CU_ASSERT_EQUAL(rep->hello_reply->session_id, 1);
	}
	envelope_free(rep);
	CU_ASSERT(still_served(fd, CONN_CLIENT, 43));

	/* A client that also speaks newer versions gets the common one. */
	fd2 = peer_open(CONN_CONTROL);
	CU_ASSERT_FATAL(fd2 >= 0);
	CU_ASSERT_EQUAL(send_hello(fd2, 7, 0, 9, 9), 0);
	rep = peer_reply(fd2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rep);
	CU_ASSERT_EQUAL(rep->status, 0);
	CU_ASSERT(rep->body_case == B(HELLO_REPLY) &&
		  rep->hello_reply->version == 1 &&
		  rep->hello_reply->session_id == 2);
	envelope_free(rep);
	CU_ASSERT(still_served(fd2, CONN_CONTROL, 8));

	/* A second Hello breaks the protocol. */
	CU_ASSERT_EQUAL(send_hello(fd, 44, 1, 1, 1), 0);
	CU_ASSERT(reply_is(fd, 44, -EPROTO, B(_NOT_SET)));
	CU_ASSERT(peer_closed(fd));
	CU_ASSERT_EQUAL(fx.srv.nconns, 1);
	CU_ASSERT_EQUAL(fx.srv.stats.bad_messages, 1);
	fx_finish();
}

/* test_status_control -- Status on the control socket tells who we are */
static void test_status_control(void)
{
	Daxalloc__Envelope *rep;
	int fd = peer_hello(CONN_CONTROL, 1);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(send_body(fd, 1, 7, B(STATUS_REQ), NULL, 0), 0);
	rep = peer_reply(fd);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rep);
	CU_ASSERT_EQUAL(rep->id, 7);
	CU_ASSERT_EQUAL(rep->status, 0);
	CU_ASSERT_EQUAL(rep->body_case, B(STATUS_REPLY));
	if (rep->body_case == B(STATUS_REPLY)) {
		const Daxalloc__StatusReply *st = rep->status_reply;

		CU_ASSERT_EQUAL(st->pid, (uint32_t)getpid());
		CU_ASSERT_STRING_EQUAL(st->client_socket, fx.sock);
		CU_ASSERT_STRING_EQUAL(st->control_socket, fx.ctl);
		CU_ASSERT_STRING_EQUAL(st->version, DAXALLOC_VERSION);
		CU_ASSERT_EQUAL(st->connections, 1);
	}
	envelope_free(rep);

	/* Stats counts the three requests so far, none of them bad. */
	CU_ASSERT_EQUAL(send_body(fd, 1, 8, B(STATS), NULL, 0), 0);
	rep = peer_reply(fd);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rep);
	CU_ASSERT_EQUAL(rep->status, 0);
	CU_ASSERT_EQUAL(rep->body_case, B(STATS_REPLY));
	if (rep->body_case == B(STATS_REPLY)) {
		CU_ASSERT_EQUAL(rep->stats_reply->requests, 3);
		CU_ASSERT_EQUAL(rep->stats_reply->errors, 0);
		CU_ASSERT_EQUAL(rep->stats_reply->connections_total, 1);
		CU_ASSERT_EQUAL(rep->stats_reply->bad_messages, 0);
	}
	envelope_free(rep);
	fx_finish();
}

/*
 * test_wrong_socket -- a request of the other socket is refused, and the
 * connection stays: it is well-formed, just not allowed here
 */
static void test_wrong_socket(void)
{
	int cfd = peer_hello(CONN_CLIENT, 1);
	int kfd = peer_hello(CONN_CONTROL, 1);

	CU_ASSERT_FATAL(cfd >= 0 && kfd >= 0);
	CU_ASSERT_EQUAL(send_body(cfd, 1, 8, B(STATUS_REQ), NULL, 0), 0);
	CU_ASSERT(reply_is(cfd, 8, -EPERM, B(_NOT_SET)));
	CU_ASSERT_EQUAL(send_body(cfd, 1, 9, B(STATS), NULL, 0), 0);
	CU_ASSERT(reply_is(cfd, 9, -EPERM, B(_NOT_SET)));
	CU_ASSERT(still_served(cfd, CONN_CLIENT, 10));

	CU_ASSERT_EQUAL(send_body(kfd, 1, 11, B(ALLOC), NULL, 0), 0);
	CU_ASSERT(reply_is(kfd, 11, -EPERM, B(_NOT_SET)));
	CU_ASSERT(still_served(kfd, CONN_CONTROL, 12));

	CU_ASSERT_EQUAL(fx.srv.nconns, 2);
	CU_ASSERT_EQUAL(fx.srv.stats.bad_messages, 0);
	/* EPERM, EPERM, ENODEV, EPERM. */
	CU_ASSERT_EQUAL(fx.srv.stats.errors, 4);
	fx_finish();
}

/* test_before_hello -- anything but Hello first closes the connection */
static void test_before_hello(void)
{
	int cfd = peer_open(CONN_CLIENT), kfd = peer_open(CONN_CONTROL);

	CU_ASSERT_FATAL(cfd >= 0 && kfd >= 0);
	CU_ASSERT_EQUAL(send_body(cfd, 1, 5, B(ALLOC), NULL, 0), 0);
	CU_ASSERT(reply_is(cfd, 5, -EPROTO, B(_NOT_SET)));
	CU_ASSERT(peer_closed(cfd));
	CU_ASSERT_EQUAL(fx.srv.stats.bad_messages, 1);

	CU_ASSERT_EQUAL(send_body(kfd, 1, 6, B(STATUS_REQ), NULL, 0), 0);
	CU_ASSERT(reply_is(kfd, 6, -EPROTO, B(_NOT_SET)));
	CU_ASSERT(peer_closed(kfd));
	CU_ASSERT_EQUAL(fx.srv.stats.bad_messages, 2);
	CU_ASSERT_EQUAL(fx.srv.nconns, 0);
	fx_finish();
}

/* test_version_range -- no common version, or a nonsense range, closes */
static void test_version_range(void)
{
	int a = peer_open(CONN_CLIENT), b = peer_open(CONN_CLIENT);
	int c = peer_open(CONN_CLIENT);

	CU_ASSERT_FATAL(a >= 0 && b >= 0 && c >= 0);
	CU_ASSERT_EQUAL(send_hello(a, 3, 2, 5, 5), 0);
	CU_ASSERT(reply_is(a, 3, -EPROTONOSUPPORT, B(_NOT_SET)));
	CU_ASSERT(peer_closed(a));
	CU_ASSERT_EQUAL(fx.srv.stats.bad_messages, 1);

	/* min > max */
	CU_ASSERT_EQUAL(send_hello(b, 4, 1, 0, 1), 0);
	CU_ASSERT(reply_is(b, 4, -EPROTONOSUPPORT, B(_NOT_SET)));
	CU_ASSERT(peer_closed(b));
	CU_ASSERT_EQUAL(fx.srv.stats.bad_messages, 2);

	/* An envelope of version 0 is never valid, not even for Hello. */
	CU_ASSERT_EQUAL(send_hello(c, 5, 1, 1, 0), 0);
	CU_ASSERT(reply_is(c, 5, -EPROTO, B(_NOT_SET)));
	CU_ASSERT(peer_closed(c));
	CU_ASSERT_EQUAL(fx.srv.stats.bad_messages, 3);
	CU_ASSERT_EQUAL(fx.srv.nconns, 0);
	fx_finish();
}

/* test_version_after_hello -- the negotiated version is the only one */
static void test_version_after_hello(void)
{
	int fd = peer_hello(CONN_CLIENT, 1);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(send_body(fd, 7, 21, B(ALLOC), NULL, 0), 0);
	CU_ASSERT(reply_is(fd, 21, -EPROTO, B(_NOT_SET)));
	CU_ASSERT(peer_closed(fd));
	CU_ASSERT_EQUAL(fx.srv.stats.bad_messages, 1);
	CU_ASSERT_EQUAL(fx.srv.nconns, 0);
	fx_finish();
}

/* test_not_a_request -- no body, a reply body, an event body: all close */
static void test_not_a_request(void)
{
	static const envelope_body_t bodies[] = {
		B(_NOT_SET),
		B(STATUS_REPLY),
		B(HELLO_REPLY),
		B(LEASE_BREAK),
	};
	unsigned int i;
	int fd;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		fd = peer_hello(i % 2 ? CONN_CONTROL : CONN_CLIENT, 1);
		CU_ASSERT_FATAL(fd >= 0);
		CU_ASSERT_EQUAL(send_body(fd, 1, 30 + i, bodies[i], NULL, 0),
				0);
		CU_ASSERT(reply_is(fd, 30 + i, -EBADMSG, B(_NOT_SET)));
		CU_ASSERT(peer_closed(fd));
		CU_ASSERT_EQUAL(fx.srv.stats.bad_messages, i + 1);
	}
	CU_ASSERT_EQUAL(fx.srv.nconns, 0);
	fx_finish();
}

/* test_unimplemented -- requests this server cannot serve: refused, kept open */
static void test_unimplemented(void)
{
	int cfd = peer_hello(CONN_CLIENT, 1);
	int kfd = peer_hello(CONN_CONTROL, 1);

	CU_ASSERT_FATAL(cfd >= 0 && kfd >= 0);
	CU_ASSERT_EQUAL(send_body(cfd, 1, 50, B(UNPIN), NULL, 0), 0);
	CU_ASSERT(reply_is(cfd, 50, -ENODEV, B(_NOT_SET)));
	CU_ASSERT_EQUAL(send_body(cfd, 1, 54, B(ALLOC), NULL, 0), 0);
	CU_ASSERT(reply_is(cfd, 54, -ENODEV, B(_NOT_SET)));
	CU_ASSERT_EQUAL(send_body(kfd, 1, 51, B(REVOKE), NULL, 0), 0);
	CU_ASSERT(reply_is(kfd, 51, -ENODEV, B(_NOT_SET)));
	CU_ASSERT(still_served(cfd, CONN_CLIENT, 52));
	CU_ASSERT(still_served(kfd, CONN_CONTROL, 53));
	CU_ASSERT_EQUAL(fx.srv.nconns, 2);
	CU_ASSERT_EQUAL(fx.srv.stats.bad_messages, 0);
	fx_finish();
}

/*
 * reader_gone -- has every copy of a pipe's read end been closed?
 *
 * Writing then fails with EPIPE (SIGPIPE is ignored in this program).
 */
static bool reader_gone(int wfd)
{
	return write(wfd, "x", 1) < 0 && errno == EPIPE;
}

/*
 * test_fd_attached -- requests carry no descriptors; the daemon closes
 * what it was sent and the connection
 */
static void test_fd_attached(void)
{
	int fd = peer_hello(CONN_CLIENT, 1), h = peer_open(CONN_CLIENT);
	int p[2], before;

	CU_ASSERT_FATAL(fd >= 0 && h >= 0);
	CU_ASSERT_FATAL(pipe2(p, O_CLOEXEC) == 0);
	before = unit_count_fds();
	CU_ASSERT_EQUAL(send_body(fd, 1, 60, B(ALLOC), &p[0], 1), 0);
	CU_ASSERT(reply_is(fd, 60, -EBADMSG, B(_NOT_SET)));
	CU_ASSERT(peer_closed(fd));
	/* The daemon's end of the connection is gone, and nothing else. */
	CU_ASSERT_EQUAL(unit_count_fds(), before - 1);
	CU_ASSERT_EQUAL(fx.srv.stats.bad_messages, 1);

	/*
	 * Hello itself with a descriptor: the same.  The bytes are version 1,
	 * id 61, and Hello (field 16) with version_min 1, version_max 1.
	 */
	CU_ASSERT_EQUAL(wire_send(h,
				  "\x08\x01\x10\x3d\x82\x01\x04"
				  "\x08\x01\x10\x01",
				  11, &p[0], 1),
			0);
	CU_ASSERT(reply_is(h, 61, -EBADMSG, B(_NOT_SET)));
	CU_ASSERT(peer_closed(h));
	/*
	 * Both connections are gone, and with the last one the daemon's pidfd
	 * for their process (this one), which it keeps while it is connected.
	 */
	CU_ASSERT_EQUAL(unit_count_fds(), before - 3);
	CU_ASSERT_EQUAL(fx.srv.stats.bad_messages, 2);

	close(p[0]);
	CU_ASSERT(reader_gone(p[1]));
	close(p[1]);
	fx_finish();
}

/*
 * test_too_many_fds -- more descriptors than a datagram may carry: the
 * connection closes and none of them stays open
 */
static void test_too_many_fds(void)
{
	int fd = peer_hello(CONN_CLIENT, 1);
	int p[2], many[WIRE_FDS_MAX + 1];
	unsigned int i;

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(pipe2(p, O_CLOEXEC) == 0);
	for (i = 0; i < WIRE_FDS_MAX + 1; i++)
		many[i] = p[0];
	CU_ASSERT_EQUAL(
		unit_sendmsg_fds(fd, "\x08\x01", 2, many, WIRE_FDS_MAX + 1), 2);
	close(p[0]);
	CU_ASSERT(reply_is(fd, 0, -ETOOMANYREFS, B(_NOT_SET)));
	CU_ASSERT(peer_closed(fd));
	CU_ASSERT(reader_gone(p[1]));
	close(p[1]);
	CU_ASSERT_EQUAL(fx.srv.stats.bad_messages, 1);
	fx_finish();
}

/* test_garbage -- undecodable bytes close that connection and no other */
static void test_garbage(void)
{
	static const unsigned char junk[] = {
		0xff, 0xff, 0xff, 0xff, 0x13, 0x37
	};
	int a = peer_hello(CONN_CLIENT, 1), b = peer_hello(CONN_CONTROL, 2);

	CU_ASSERT_FATAL(a >= 0 && b >= 0);
	CU_ASSERT_EQUAL(wire_send(a, junk, sizeof(junk), NULL, 0), 0);
	CU_ASSERT(reply_is(a, 0, -EBADMSG, B(_NOT_SET)));
	CU_ASSERT(peer_closed(a));
	CU_ASSERT_EQUAL(fx.srv.stats.bad_messages, 1);
	CU_ASSERT_EQUAL(fx.srv.nconns, 1);
	CU_ASSERT(still_served(b, CONN_CONTROL, 3));

	/* Before Hello too, and with an unknown field in a valid encoding. */
	a = peer_open(CONN_CLIENT);
	CU_ASSERT_FATAL(a >= 0);
	CU_ASSERT_EQUAL(wire_send(a, "\x08\x01\x78\x01", 4, NULL, 0), 0);
	CU_ASSERT(reply_is(a, 0, -EBADMSG, B(_NOT_SET)));
	CU_ASSERT(peer_closed(a));
	CU_ASSERT_EQUAL(fx.srv.stats.bad_messages, 2);
	CU_ASSERT(still_served(b, CONN_CONTROL, 4));
	fx_finish();
}

/* test_oversized -- one byte over WIRE_MSG_MAX closes the connection */
static void test_oversized(void)
{
	int fd = peer_open(CONN_CLIENT), ok = peer_hello(CONN_CLIENT, 1);
	char *big = malloc(WIRE_MSG_MAX + 1);

	CU_ASSERT_FATAL(fd >= 0 && ok >= 0 && big);
	memset(big, 0, WIRE_MSG_MAX + 1);
	CU_ASSERT_EQUAL(send(fd, big, WIRE_MSG_MAX + 1, MSG_NOSIGNAL),
			WIRE_MSG_MAX + 1);
	free(big);
	CU_ASSERT(reply_is(fd, 0, -EMSGSIZE, B(_NOT_SET)));
	CU_ASSERT(peer_closed(fd));
	CU_ASSERT_EQUAL(fx.srv.stats.bad_messages, 1);
	CU_ASSERT(still_served(ok, CONN_CLIENT, 2));
	fx_finish();
}

/* elapsed -- seconds since t0 on the monotonic clock */
static double elapsed(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) +
	       (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/*
 * test_hello_timeout -- a silent connection is closed after the Hello
 * timeout; one that said Hello is not
 */
static void test_hello_timeout(void)
{
	struct pollfd pfd = { .events = POLLIN };
	Daxalloc__Envelope *rep = NULL;
	bool replied = false, closed = false;
	int fds[WIRE_FDS_MAX], silent, talker, r;
	unsigned int nfds;
	struct timespec t0;
	double t = 0;

	fx_stop();
	CU_ASSERT_FATAL(fx_start(1, NULL) == 0);
	CU_ASSERT_EQUAL(fx.opts.hello_timeout_s, 1);
	/* The Hello timer starts from the loop's idea of now. */
	ev_now_update(fx.srv.loop);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	silent = peer_open(CONN_CLIENT);
	talker = peer_hello(CONN_CLIENT, 1);
	CU_ASSERT_FATAL(silent >= 0 && talker >= 0);

	pfd.fd = silent;
	while (!closed && (t = elapsed(&t0)) < 3.0) {
		/* The tick timer bounds each turn to 0.1 s. */
		ev_run(fx.srv.loop, EVRUN_ONCE);
		if (poll(&pfd, 1, 0) <= 0)
			continue;
		r = envelope_recv(silent, &rep, fds, &nfds);
		if (r == 0) {
			CU_ASSERT_FALSE(replied);
			CU_ASSERT_EQUAL(rep->status, -ETIMEDOUT);
			CU_ASSERT_EQUAL(rep->id, 0);
			CU_ASSERT_EQUAL(rep->body_case, B(_NOT_SET));
			wire_close_fds(fds, nfds);
			envelope_free(rep);
			rep = NULL;
			replied = true;
		} else {
			CU_ASSERT_EQUAL(r, -ECONNRESET);
			closed = true;
		}
	}
	CU_ASSERT(replied);
	CU_ASSERT(closed);
	CU_ASSERT(t >= 0.9);
	CU_ASSERT(t < 3.0);
	CU_ASSERT_EQUAL(fx.srv.stats.bad_messages, 1);
	CU_ASSERT_EQUAL(fx.srv.nconns, 1);

	/* Past the timeout, the connection that said Hello is still served. */
	CU_ASSERT(elapsed(&t0) > 1.0);
	CU_ASSERT(still_served(talker, CONN_CLIENT, 2));
	fx_finish();
}

/*
 * test_bad_message_counter -- every kind of bad message counts once,
 * refused but well-formed requests do not, and Stats reports the count
 */
static void test_bad_message_counter(void)
{
	static const unsigned char junk[] = { 0xff, 0xff };
	Daxalloc__Envelope *rep;
	int k = peer_hello(CONN_CONTROL, 1), fd, p[2];
	uint64_t bad = 0;

	CU_ASSERT_FATAL(k >= 0);
	CU_ASSERT_FATAL(pipe2(p, O_CLOEXEC) == 0);

	fd = peer_open(CONN_CLIENT);
	CU_ASSERT(wire_send(fd, junk, sizeof(junk), NULL, 0) == 0 &&
		  reply_is(fd, 0, -EBADMSG, B(_NOT_SET)));
	CU_ASSERT_EQUAL(fx.srv.stats.bad_messages, ++bad);

	fd = peer_open(CONN_CLIENT);
	CU_ASSERT(send_body(fd, 1, 1, B(LIST), NULL, 0) == 0 &&
		  reply_is(fd, 1, -EPROTO, B(_NOT_SET)));
	CU_ASSERT_EQUAL(fx.srv.stats.bad_messages, ++bad);

	fd = peer_hello(CONN_CLIENT, 1);
	CU_ASSERT(send_body(fd, 1, 2, B(_NOT_SET), NULL, 0) == 0 &&
		  reply_is(fd, 2, -EBADMSG, B(_NOT_SET)));
	CU_ASSERT_EQUAL(fx.srv.stats.bad_messages, ++bad);

	fd = peer_hello(CONN_CLIENT, 1);
	CU_ASSERT(send_body(fd, 1, 3, B(STAT), &p[0], 1) == 0 &&
		  reply_is(fd, 3, -EBADMSG, B(_NOT_SET)));
	CU_ASSERT_EQUAL(fx.srv.stats.bad_messages, ++bad);

	/* Refused, not bad: the count stays. */
	fd = peer_hello(CONN_CLIENT, 1);
	CU_ASSERT(send_body(fd, 1, 4, B(STATUS_REQ), NULL, 0) == 0 &&
		  reply_is(fd, 4, -EPERM, B(_NOT_SET)));
	CU_ASSERT(still_served(fd, CONN_CLIENT, 5));
	CU_ASSERT_EQUAL(fx.srv.stats.bad_messages, bad);

	CU_ASSERT_EQUAL(send_body(k, 1, 9, B(STATS), NULL, 0), 0);
	rep = peer_reply(k);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rep);
	CU_ASSERT(rep->body_case == B(STATS_REPLY) &&
		  rep->stats_reply->bad_messages == bad &&
		  rep->stats_reply->connections_total == 6);
	envelope_free(rep);
	close(p[0]);
	close(p[1]);
	fx_finish();
}

static const struct unit_test dispatch_tests[] = {
	{ "Hello", test_hello },
	{ "Status on the control socket", test_status_control },
	{ "requests of the other socket", test_wrong_socket },
	{ "requests before Hello", test_before_hello },
	{ "no common version", test_version_range },
	{ "version changes after Hello", test_version_after_hello },
	{ "bodies that are not requests", test_not_a_request },
	{ "unimplemented requests", test_unimplemented },
	{ "descriptors attached", test_fd_attached },
	{ "too many descriptors", test_too_many_fds },
	{ "garbage", test_garbage },
	{ "oversized datagram", test_oversized },
	{ "Hello timeout", test_hello_timeout },
	{ "bad message counter", test_bad_message_counter },
	{ NULL, NULL },
};

/* main -- run the dispatch suite; the exit status tells CTest */
int main(void)
{
	/* reader_gone() needs EPIPE rather than the signal. */
	signal(SIGPIPE, SIG_IGN);
	/* The daemon's log, between CUnit's lines; DAXALLOC_TEST_LOG=debug for all. */
	log_init(getenv("DAXALLOC_TEST_LOG") ?
			 log_level_parse(getenv("DAXALLOC_TEST_LOG")) :
			 LOG_WARNING);
	return unit_main("dispatch", fx_init, fx_cleanup, fx_setup, fx_teardown,
			 dispatch_tests);
}
