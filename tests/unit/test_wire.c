// SPDX-License-Identifier: Apache-2.0
/*
 * test_wire.c -- unit tests of datagram framing (wire) and envelopes
 *
 * Everything runs over real socketpair(AF_UNIX, SOCK_SEQPACKET) pairs, so
 * the kernel's own behaviour (record boundaries, SCM_RIGHTS, MSG_TRUNC,
 * MSG_CTRUNC) is part of what is tested.  SIGPIPE is left at its default:
 * a send that raised it would kill the program and fail the run (Linux
 * raises none on SEQPACKET sockets today; wire_send() asks for none).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "envelope.h"
#include "unit.h"
#include "wire.h"

#define B(x) DAXALLOC__ENVELOPE__BODY_##x

/* A socket pair for the current test; closed by the teardown. */
static int sv[2] = { -1, -1 };

/* wire_setup -- a fresh blocking SEQPACKET pair for each test */
static void wire_setup(void)
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		sv[0] = sv[1] = -1;
}

/* wire_teardown -- close what the test left of the pair */
static void wire_teardown(void)
{
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	sv[0] = sv[1] = -1;
}

/* make_memfd -- an anonymous file holding text, or -1 */
static int make_memfd(const char *text)
{
	size_t len = strlen(text);
	int fd;

	fd = memfd_create("test_wire", MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	if (write(fd, text, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	return fd;
}

/* same_file -- do two descriptors name the same open file? */
static int same_file(int a, int b)
{
	struct stat sa, sb;

	if (fstat(a, &sa) < 0 || fstat(b, &sb) < 0)
		return 0;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* read_back -- does fd hold exactly text from offset 0? */
static int read_back(int fd, const char *text)
{
	char buf[64];
	size_t len = strlen(text);
	ssize_t n;

	n = pread(fd, buf, sizeof(buf), 0);
	return n == (ssize_t)len && !memcmp(buf, text, len);
}

/* fill_hello -- a Hello envelope with every field set to something */
static void fill_hello(Daxalloc__Envelope *env, Daxalloc__Hello *h)
{
	daxalloc__envelope__init(env);
	daxalloc__hello__init(h);
	h->version_min = 1;
	h->version_max = 3;
	h->capabilities = DAXALLOC__CAPABILITY__CAP_LEASE_BREAK |
			  DAXALLOC__CAPABILITY__CAP_PIN_BATCH;
	h->client_name = (char *)"test_wire";
	h->pid = (uint32_t)getpid();
	h->start_time = 0x123456789ULL;
	h->boot_id = (char *)"0c5a2f1e-9d3b-4a77-8f00-1234567890ab";
	env->version = 3;
	env->id = 0x1122334455667788ULL;
	env->status = -42;
	env->message = (char *)"hello there";
	env->body_case = B(HELLO);
	env->hello = h;
}

/* test_envelope_roundtrip -- a Hello survives envelope_send/envelope_recv */
static void test_envelope_roundtrip(void)
{
	Daxalloc__Envelope env, *out = NULL;
	Daxalloc__Hello h;
	int fds[WIRE_FDS_MAX];
	unsigned int nfds = 99;

	fill_hello(&env, &h);
	CU_ASSERT_EQUAL(envelope_send(sv[0], &env, NULL, 0), 0);
	CU_ASSERT_EQUAL(envelope_recv(sv[1], &out, fds, &nfds), 0);
	CU_ASSERT_EQUAL(nfds, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_EQUAL(out->version, 3);
	CU_ASSERT_EQUAL(out->id, 0x1122334455667788ULL);
	CU_ASSERT_EQUAL(out->status, -42);
	CU_ASSERT_STRING_EQUAL(out->message, "hello there");
	CU_ASSERT_EQUAL(out->body_case, B(HELLO));
	if (out->body_case == B(HELLO) && out->hello) {
		CU_ASSERT_EQUAL(out->hello->version_min, 1);
		CU_ASSERT_EQUAL(out->hello->version_max, 3);
		CU_ASSERT_EQUAL(out->hello->capabilities, 3);
		CU_ASSERT_STRING_EQUAL(out->hello->client_name, "test_wire");
		CU_ASSERT_EQUAL(out->hello->pid, (uint32_t)getpid());
		CU_ASSERT_EQUAL(out->hello->start_time, 0x123456789ULL);
		CU_ASSERT_STRING_EQUAL(out->hello->boot_id, h.boot_id);
	}
	envelope_free(out);
}

/* test_raw_roundtrip -- record boundaries and bytes are kept exactly */
static void test_raw_roundtrip(void)
{
	static const size_t sizes[] = { 1, 2, 1000, WIRE_MSG_MAX - 1,
					WIRE_MSG_MAX };
	unsigned char *in = malloc(WIRE_MSG_MAX), *out = malloc(WIRE_MSG_MAX);
	int fds[WIRE_FDS_MAX];
	unsigned int nfds;
	size_t i, len;

	CU_ASSERT_FATAL(in && out);
	for (i = 0; i < WIRE_MSG_MAX; i++)
		in[i] = (unsigned char)(i * 7 + 3);
	/* Several records queued at once must come out one by one. */
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		in[0] = (unsigned char)i;
		CU_ASSERT_EQUAL(wire_send(sv[0], in, sizes[i], NULL, 0), 0);
	}
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		in[0] = (unsigned char)i;
		memset(out, 0, WIRE_MSG_MAX);
		nfds = 99;
		CU_ASSERT_EQUAL(
			wire_recv(sv[1], out, WIRE_MSG_MAX, &len, fds, &nfds),
			0);
		CU_ASSERT_EQUAL(len, sizes[i]);
		CU_ASSERT_EQUAL(nfds, 0);
		CU_ASSERT(len == sizes[i] && !memcmp(in, out, len));
	}
	free(in);
	free(out);
}

/* check_fds_pass -- send n memfds, check what arrives is them, cloexec */
static void check_fds_pass(unsigned int n, int with_envelope)
{
	static const char *const text[WIRE_FDS_MAX] = { "zero", "one", "two",
							"three" };
	int sent[WIRE_FDS_MAX], got[WIRE_FDS_MAX];
	unsigned int i, nfds = 99;
	char buf[16];
	size_t len;
	int r;

	for (i = 0; i < n; i++) {
		sent[i] = make_memfd(text[i]);
		CU_ASSERT_FATAL(sent[i] >= 0);
	}
	for (i = 0; i < WIRE_FDS_MAX; i++)
		got[i] = -1;
	if (with_envelope) {
		Daxalloc__Envelope env, *out = NULL;
		Daxalloc__Hello h;

		fill_hello(&env, &h);
		CU_ASSERT_EQUAL(envelope_send(sv[0], &env, sent, n), 0);
		r = envelope_recv(sv[1], &out, got, &nfds);
		CU_ASSERT_EQUAL(r, 0);
		CU_ASSERT(r == 0 && out && out->id == env.id);
		envelope_free(out);
	} else {
		CU_ASSERT_EQUAL(wire_send(sv[0], "x", 1, sent, n), 0);
		r = wire_recv(sv[1], buf, sizeof(buf), &len, got, &nfds);
		CU_ASSERT_EQUAL(r, 0);
		CU_ASSERT_EQUAL(len, 1);
	}
	CU_ASSERT_EQUAL(nfds, n);
	/* Our own copies go first: what arrived must stand on its own. */
	for (i = 0; i < n; i++)
		close(sent[i]);
	for (i = 0; i < nfds && i < WIRE_FDS_MAX; i++) {
		CU_ASSERT(got[i] >= 0);
		CU_ASSERT(read_back(got[i], text[i]));
		CU_ASSERT(fcntl(got[i], F_GETFD) & FD_CLOEXEC);
	}
	/* Distinct files, in the order they were sent. */
	for (i = 1; i < nfds && i < WIRE_FDS_MAX; i++)
		CU_ASSERT(!same_file(got[i - 1], got[i]));
	wire_close_fds(got, nfds < WIRE_FDS_MAX ? nfds : WIRE_FDS_MAX);
	for (i = 0; i < nfds && i < WIRE_FDS_MAX; i++)
		CU_ASSERT_EQUAL(got[i], -1);
}

/* test_fds_one -- one descriptor arrives as the same file, close-on-exec */
static void test_fds_one(void)
{
	int fd = make_memfd("one"), got[WIRE_FDS_MAX];
	unsigned int nfds = 0;
	char buf[8];
	size_t len;

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(wire_send(sv[0], "1", 1, &fd, 1), 0);
	CU_ASSERT_EQUAL(wire_recv(sv[1], buf, sizeof(buf), &len, got, &nfds),
			0);
	CU_ASSERT_EQUAL(nfds, 1);
	if (nfds == 1) {
		CU_ASSERT_NOT_EQUAL(got[0], fd);
		CU_ASSERT(same_file(fd, got[0]));
		CU_ASSERT(read_back(got[0], "one"));
		CU_ASSERT(fcntl(got[0], F_GETFD) & FD_CLOEXEC);
		wire_close_fds(got, nfds);
	}
	close(fd);
	check_fds_pass(1, 1);
}

/* test_fds_max -- WIRE_FDS_MAX descriptors, raw and with an envelope */
static void test_fds_max(void)
{
	check_fds_pass(WIRE_FDS_MAX, 0);
	check_fds_pass(WIRE_FDS_MAX, 1);
}

/*
 * test_fds_too_many -- one descriptor too many is refused on both ends
 *
 * The receiver must neither return nor keep any of them: the kernel
 * installs the ones that fit the control buffer, wire_recv() closes them.
 */
static void test_fds_too_many(void)
{
	int sent[WIRE_FDS_MAX + 1], got[WIRE_FDS_MAX];
	unsigned int i, nfds = 99;
	int before, r;
	char buf[8];
	size_t len = 99;

	for (i = 0; i < WIRE_FDS_MAX + 1; i++) {
		sent[i] = make_memfd("many");
		CU_ASSERT_FATAL(sent[i] >= 0);
	}
	CU_ASSERT_EQUAL(wire_send(sv[0], "m", 1, sent, WIRE_FDS_MAX + 1),
			-EINVAL);
	CU_ASSERT_EQUAL(unit_sendmsg_fds(sv[0], "m", 1, sent, WIRE_FDS_MAX + 1),
			1);
	/* The in-flight references do not count as our descriptors. */
	for (i = 0; i < WIRE_FDS_MAX + 1; i++)
		close(sent[i]);
	before = unit_count_fds();
	CU_ASSERT(before > 0);
	r = wire_recv(sv[1], buf, sizeof(buf), &len, got, &nfds);
	CU_ASSERT_EQUAL(r, -ETOOMANYREFS);
	CU_ASSERT_EQUAL(nfds, 0);
	CU_ASSERT_EQUAL(len, 0);
	CU_ASSERT_EQUAL(unit_count_fds(), before);

	/* wire_send refused before sending: nothing else is queued. */
	CU_ASSERT_EQUAL(wire_send(sv[0], "n", 1, NULL, 0), 0);
	CU_ASSERT_EQUAL(wire_recv(sv[1], buf, sizeof(buf), &len, got, &nfds),
			0);
	CU_ASSERT(len == 1 && buf[0] == 'n');
	CU_ASSERT_EQUAL(nfds, 0);
}

/* test_oversized -- the WIRE_MSG_MAX bound on every path */
static void test_oversized(void)
{
	Daxalloc__Envelope env, *out = NULL;
	char *big = calloc(1, WIRE_MSG_MAX + 2), *rx = malloc(WIRE_MSG_MAX);
	int fd, got[WIRE_FDS_MAX], before;
	unsigned int nfds = 99;
	size_t len = 99;
	void *packed = NULL;
	Daxalloc__Hello h;

	CU_ASSERT_FATAL(big && rx);
	memset(big, 'a', WIRE_MSG_MAX + 1);

	/* One byte too many is refused, and not taken for a short message. */
	CU_ASSERT_EQUAL(send(sv[0], big, WIRE_MSG_MAX + 1, MSG_NOSIGNAL),
			WIRE_MSG_MAX + 1);
	CU_ASSERT_EQUAL(wire_recv(sv[1], rx, WIRE_MSG_MAX, &len, got, &nfds),
			-EMSGSIZE);
	CU_ASSERT_EQUAL(len, 0);
	CU_ASSERT_EQUAL(nfds, 0);

	/* Exactly the maximum is fine. */
	CU_ASSERT_EQUAL(send(sv[0], big, WIRE_MSG_MAX, MSG_NOSIGNAL),
			WIRE_MSG_MAX);
	CU_ASSERT_EQUAL(wire_recv(sv[1], rx, WIRE_MSG_MAX, &len, got, &nfds),
			0);
	CU_ASSERT_EQUAL(len, WIRE_MSG_MAX);
	CU_ASSERT_EQUAL(nfds, 0);

	/* A descriptor riding on an oversized datagram is closed. */
	fd = make_memfd("big");
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(unit_sendmsg_fds(sv[0], big, WIRE_MSG_MAX + 1, &fd, 1),
			WIRE_MSG_MAX + 1);
	close(fd);
	before = unit_count_fds();
	CU_ASSERT_EQUAL(envelope_recv(sv[1], &out, got, &nfds), -EMSGSIZE);
	CU_ASSERT_EQUAL(nfds, 0);
	CU_ASSERT_EQUAL(unit_count_fds(), before);

	/* The sender refuses too large and empty datagrams. */
	CU_ASSERT_EQUAL(wire_send(sv[0], big, WIRE_MSG_MAX + 1, NULL, 0),
			-EMSGSIZE);
	CU_ASSERT_EQUAL(wire_send(sv[0], big, 0, NULL, 0), -EMSGSIZE);

	/* An envelope that packs to more than the maximum. */
	fill_hello(&env, &h);
	big[WIRE_MSG_MAX] = '\0';
	env.message = big;
	len = 0;
	CU_ASSERT_EQUAL(envelope_pack(&env, &packed, &len), -EMSGSIZE);
	CU_ASSERT_PTR_NULL(packed);
	CU_ASSERT_EQUAL(envelope_send(sv[0], &env, NULL, 0), -EMSGSIZE);
	/* An all-default envelope packs to zero bytes: not a message. */
	daxalloc__envelope__init(&env);
	CU_ASSERT_EQUAL(envelope_pack(&env, &packed, &len), -EMSGSIZE);

	/* Nothing of the refused sends reached the peer. */
	CU_ASSERT_EQUAL(wire_send(sv[0], "z", 1, NULL, 0), 0);
	CU_ASSERT_EQUAL(wire_recv(sv[1], rx, WIRE_MSG_MAX, &len, got, &nfds),
			0);
	CU_ASSERT(len == 1 && rx[0] == 'z');
	free(big);
	free(rx);
}

/* hello_field_len -- bytes the Hello body takes at the end of its envelope */
static size_t hello_field_len(const Daxalloc__Hello *h)
{
	size_t sub = daxalloc__hello__get_packed_size(h);

	/* Tag of field 16 (two bytes), a one- or two-byte length, the body. */
	return 2 + (sub < 128 ? 1 : 2) + sub;
}

/*
 * test_unpack_truncated -- every prefix decodes or fails cleanly
 *
 * A cut on a field boundary is a valid, shorter message; a cut inside the
 * body (the last field) never is.
 */
static void test_unpack_truncated(void)
{
	Daxalloc__Envelope env, *out;
	Daxalloc__Hello h;
	size_t len, cut, body_at;
	void *buf;
	int r;

	fill_hello(&env, &h);
	CU_ASSERT_FATAL(envelope_pack(&env, &buf, &len) == 0);
	body_at = len - hello_field_len(&h);
	CU_ASSERT(body_at > 0 && body_at < len);

	CU_ASSERT_EQUAL(envelope_unpack(buf, 0, &out), -EMSGSIZE);
	for (cut = 1; cut < len; cut++) {
		/* A copy of exactly cut bytes, so valgrind sees any overread. */
		void *p = malloc(cut);

		CU_ASSERT_FATAL(p != NULL);
		memcpy(p, buf, cut);
		out = NULL;
		r = envelope_unpack(p, cut, &out);
		CU_ASSERT(r == 0 || r == -EBADMSG);
		if (cut > body_at)
			CU_ASSERT_EQUAL(r, -EBADMSG);
		if (cut == body_at) {
			CU_ASSERT_EQUAL(r, 0);
			CU_ASSERT(r == 0 && out->body_case == B(_NOT_SET));
		}
		if (r == 0)
			envelope_free(out);
		free(p);
	}
	/* The whole thing still decodes. */
	out = NULL;
	CU_ASSERT_EQUAL(envelope_unpack(buf, len, &out), 0);
	CU_ASSERT(out && out->body_case == B(HELLO));
	envelope_free(out);
	free(buf);
}

/* test_unpack_garbage -- nonsense is refused, random bytes never crash */
static void test_unpack_garbage(void)
{
	/* Field 31, wire type 7 (none such), over and over. */
	static const unsigned char ff[16] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	};
	/* Hello body whose length runs past the end. */
	static const unsigned char long_len[] = { 0x82, 0x01, 0x7f, 0x08,
						  0x01 };
	/* A varint that never ends. */
	static const unsigned char endless[] = { 0x10, 0x80, 0x80, 0x80,
						 0x80, 0x80, 0x80, 0x80,
						 0x80, 0x80, 0x80, 0x80 };
	Daxalloc__Envelope *out = NULL;
	uint32_t seed = 12345;
	unsigned char *p;
	unsigned int i, j, ok = 0;
	size_t n;
	int r;

	CU_ASSERT_EQUAL(envelope_unpack(ff, sizeof(ff), &out), -EBADMSG);
	CU_ASSERT_EQUAL(envelope_unpack(long_len, sizeof(long_len), &out),
			-EBADMSG);
	CU_ASSERT_EQUAL(envelope_unpack(endless, sizeof(endless), &out),
			-EBADMSG);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_EQUAL(envelope_unpack(ff, WIRE_MSG_MAX + 1, &out), -EMSGSIZE);

	for (i = 0; i < 2000; i++) {
		seed = seed * 1103515245u + 12345u;
		n = 1 + (seed >> 16) % 200;
		p = malloc(n);
		CU_ASSERT_FATAL(p != NULL);
		for (j = 0; j < n; j++) {
			seed = seed * 1103515245u + 12345u;
			p[j] = (unsigned char)(seed >> 16);
		}
		out = NULL;
		r = envelope_unpack(p, n, &out);
		CU_ASSERT(r == 0 || r == -EBADMSG);
		if (r == 0) {
			ok++;
			envelope_free(out);
		}
		free(p);
	}
	/* Random bytes are almost never a message without unknown fields. */
	CU_ASSERT(ok < 100);
}

/* test_unpack_unknown_field -- fields this version does not know are refused */
static void test_unpack_unknown_field(void)
{
	static const unsigned char known[] = { 0x08, 0x01 }; /* version = 1 */
	static const unsigned char f15[] = { 0x08, 0x01, 0x78, 0x01 };
	static const unsigned char f15_only[] = { 0x78, 0x01 };
	static const unsigned char f0_varint[] = { 0x08, 0x01, 0x00, 0x01 };
	static const unsigned char f0_bytes[] = { 0x02, 0x00 };
	/* Field 30 (an unused body number), empty length-delimited. */
	static const unsigned char f30_body[] = { 0x08, 0x01, 0xf2, 0x01,
						  0x00 };
	/* Field 1000 as a fixed64. */
	static const unsigned char f1000[] = { 0x08, 0x01, 0xc1, 0x3e,
					       0x01, 0x02, 0x03, 0x04,
					       0x05, 0x06, 0x07, 0x08 };
	/* Hello (field 16, length 2) holding version_min = 1, or field 15. */
	static const unsigned char hello_known[] = { 0x08, 0x01, 0x82, 0x01,
						     0x02, 0x08, 0x01 };
	static const unsigned char hello_f15[] = { 0x08, 0x01, 0x82, 0x01,
						   0x02, 0x78, 0x01 };
	Daxalloc__Envelope *out = NULL;

	CU_ASSERT_EQUAL(envelope_unpack(known, sizeof(known), &out), 0);
	CU_ASSERT(out && out->version == 1 && out->body_case == B(_NOT_SET));
	envelope_free(out);
	out = NULL;
	CU_ASSERT_EQUAL(envelope_unpack(f15, sizeof(f15), &out), -EBADMSG);
	CU_ASSERT_EQUAL(envelope_unpack(f15_only, sizeof(f15_only), &out),
			-EBADMSG);
	CU_ASSERT_EQUAL(envelope_unpack(f0_varint, sizeof(f0_varint), &out),
			-EBADMSG);
	CU_ASSERT_EQUAL(envelope_unpack(f0_bytes, sizeof(f0_bytes), &out),
			-EBADMSG);
	CU_ASSERT_EQUAL(envelope_unpack(f30_body, sizeof(f30_body), &out),
			-EBADMSG);
	CU_ASSERT_EQUAL(envelope_unpack(f1000, sizeof(f1000), &out), -EBADMSG);
	CU_ASSERT_PTR_NULL(out);
	/* Inside a body, too: Hello {version_min = 1} is fine, field 15 is not. */
	CU_ASSERT_EQUAL(envelope_unpack(hello_known, sizeof(hello_known), &out),
			0);
	CU_ASSERT(out && out->body_case == B(HELLO) &&
		  out->hello->version_min == 1);
	envelope_free(out);
	out = NULL;
	CU_ASSERT_EQUAL(envelope_unpack(hello_f15, sizeof(hello_f15), &out),
			-EBADMSG);
	CU_ASSERT_PTR_NULL(out);
}

/* test_peer_close -- end of stream, and an empty non-blocking socket */
static void test_peer_close(void)
{
	Daxalloc__Envelope *out = NULL;
	int nb[2], got[WIRE_FDS_MAX];
	unsigned int nfds = 99;
	char buf[8];
	size_t len = 99;

	/* What was queued before the close still arrives first. */
	CU_ASSERT_EQUAL(wire_send(sv[0], "q", 1, NULL, 0), 0);
	close(sv[0]);
	sv[0] = -1;
	CU_ASSERT_EQUAL(wire_recv(sv[1], buf, sizeof(buf), &len, got, &nfds),
			0);
	CU_ASSERT(len == 1 && buf[0] == 'q');
	CU_ASSERT_EQUAL(wire_recv(sv[1], buf, sizeof(buf), &len, got, &nfds),
			-ECONNRESET);
	CU_ASSERT_EQUAL(len, 0);
	CU_ASSERT_EQUAL(nfds, 0);
	CU_ASSERT_EQUAL(envelope_recv(sv[1], &out, got, &nfds), -ECONNRESET);
	CU_ASSERT_PTR_NULL(out);
	/* Sending to a closed peer is an error, not SIGPIPE. */
	CU_ASSERT_EQUAL(wire_send(sv[1], "x", 1, NULL, 0), -EPIPE);

	CU_ASSERT_FATAL(
		socketpair(AF_UNIX,
			   SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
			   nb) == 0);
	CU_ASSERT_EQUAL(wire_recv(nb[1], buf, sizeof(buf), &len, got, &nfds),
			-EAGAIN);
	CU_ASSERT_EQUAL(envelope_recv(nb[1], &out, got, &nfds), -EAGAIN);
	CU_ASSERT_PTR_NULL(out);
	close(nb[0]);
	close(nb[1]);
}

/* test_kind_and_name -- classification follows the proto's numbering */
static void test_kind_and_name(void)
{
	const ProtobufCMessageDescriptor *d = &daxalloc__envelope__descriptor;
	unsigned int i, bodies = 0;

	CU_ASSERT_EQUAL(envelope_kind(B(HELLO)), ENVELOPE_CLIENT_REQUEST);
	CU_ASSERT_EQUAL(envelope_kind(B(ALLOC)), ENVELOPE_CLIENT_REQUEST);
	CU_ASSERT_EQUAL(envelope_kind(B(LIST)), ENVELOPE_CLIENT_REQUEST);
	CU_ASSERT_EQUAL(envelope_kind(B(STATUS_REQ)), ENVELOPE_CONTROL_REQUEST);
	CU_ASSERT_EQUAL(envelope_kind(B(STATS)), ENVELOPE_CONTROL_REQUEST);
	CU_ASSERT_EQUAL(envelope_kind(B(HELLO_REPLY)), ENVELOPE_REPLY);
	CU_ASSERT_EQUAL(envelope_kind(B(REVOKE_REPLY)), ENVELOPE_REPLY);
	CU_ASSERT_EQUAL(envelope_kind(B(LEASE_BREAK)), ENVELOPE_EVENT);
	CU_ASSERT_EQUAL(envelope_kind(B(REVOKED)), ENVELOPE_EVENT);
	CU_ASSERT_EQUAL(envelope_kind(B(_NOT_SET)), ENVELOPE_UNKNOWN);
	CU_ASSERT_EQUAL(envelope_kind((envelope_body_t)15), ENVELOPE_UNKNOWN);
	CU_ASSERT_EQUAL(envelope_kind((envelope_body_t)27), ENVELOPE_UNKNOWN);
	CU_ASSERT_EQUAL(envelope_kind((envelope_body_t)191), ENVELOPE_UNKNOWN);
	CU_ASSERT_EQUAL(envelope_kind((envelope_body_t)200), ENVELOPE_UNKNOWN);
	CU_ASSERT_EQUAL(envelope_kind((envelope_body_t)ENVELOPE_BODY_MAX),
			ENVELOPE_UNKNOWN);
	CU_ASSERT_EQUAL(envelope_kind((envelope_body_t)-1), ENVELOPE_UNKNOWN);

	CU_ASSERT_STRING_EQUAL(envelope_type_name(B(HELLO)), "Hello");
	CU_ASSERT_STRING_EQUAL(envelope_type_name(B(STATUS_REQ)), "Status");
	CU_ASSERT_STRING_EQUAL(envelope_type_name(B(STATUS_REPLY)),
			       "StatusReply");
	CU_ASSERT_STRING_EQUAL(envelope_type_name(B(REVOKED)), "Revoked");
	CU_ASSERT_STRING_EQUAL(envelope_type_name(B(_NOT_SET)), "none");
	CU_ASSERT_STRING_EQUAL(envelope_type_name((envelope_body_t)15),
			       "unknown");
	CU_ASSERT_STRING_EQUAL(envelope_type_name((envelope_body_t)200),
			       "unknown");
	CU_ASSERT_STRING_EQUAL(envelope_type_name((envelope_body_t)-1),
			       "unknown");

	/*
	 * Every body in daxalloc.proto has a name and the kind its number
	 * says: a body added to the .proto but not to envelope.c fails here.
	 */
	for (i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		envelope_body_t b = (envelope_body_t)f->id;
		enum envelope_kind want;

		if (!(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
			continue;
		bodies++;
		want = f->id < 64  ? ENVELOPE_CLIENT_REQUEST :
		       f->id < 96  ? ENVELOPE_CONTROL_REQUEST :
		       f->id < 160 ? ENVELOPE_REPLY :
				     ENVELOPE_EVENT;
		CU_ASSERT(f->id >= 16 && f->id < ENVELOPE_BODY_MAX);
		CU_ASSERT_EQUAL(envelope_kind(b), want);
		CU_ASSERT_STRING_NOT_EQUAL(envelope_type_name(b), "unknown");
	}
	CU_ASSERT_EQUAL(bodies, 28);
}

/*
 * test_recv_closes_fds_on_bad_decode -- a message that does not decode
 * takes its descriptors with it
 */
static void test_recv_closes_fds_on_bad_decode(void)
{
	static const unsigned char bad[] = { 0xff, 0xff, 0xff, 0xff };
	static const unsigned char f15[] = { 0x08, 0x01, 0x78, 0x01 };
	Daxalloc__Envelope *out = NULL;
	int fds[2], got[WIRE_FDS_MAX];
	unsigned int nfds = 99;
	int before;

	fds[0] = make_memfd("bad0");
	fds[1] = make_memfd("bad1");
	CU_ASSERT_FATAL(fds[0] >= 0 && fds[1] >= 0);
	CU_ASSERT_EQUAL(wire_send(sv[0], bad, sizeof(bad), fds, 2), 0);
	CU_ASSERT_EQUAL(wire_send(sv[0], f15, sizeof(f15), fds, 1), 0);
	close(fds[0]);
	close(fds[1]);

	before = unit_count_fds();
	CU_ASSERT_EQUAL(envelope_recv(sv[1], &out, got, &nfds), -EBADMSG);
	CU_ASSERT_EQUAL(nfds, 0);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_EQUAL(unit_count_fds(), before);

	nfds = 99;
	CU_ASSERT_EQUAL(envelope_recv(sv[1], &out, got, &nfds), -EBADMSG);
	CU_ASSERT_EQUAL(nfds, 0);
	CU_ASSERT_EQUAL(unit_count_fds(), before);
}

static const struct unit_test wire_tests[] = {
	{ "envelope round trip", test_envelope_roundtrip },
	{ "raw round trip", test_raw_roundtrip },
	{ "one fd", test_fds_one },
	{ "WIRE_FDS_MAX fds", test_fds_max },
	{ "too many fds", test_fds_too_many },
	{ "oversized datagrams", test_oversized },
	{ "truncated encodings", test_unpack_truncated },
	{ "garbage", test_unpack_garbage },
	{ "unknown fields", test_unpack_unknown_field },
	{ "peer close and EAGAIN", test_peer_close },
	{ "kind and type name", test_kind_and_name },
	{ "fds closed on bad decode", test_recv_closes_fds_on_bad_decode },
	{ NULL, NULL },
};

/* main -- run the wire suite; the exit status tells CTest */
int main(void)
{
	return unit_main("wire", NULL, NULL, wire_setup, wire_teardown,
			 wire_tests);
}
