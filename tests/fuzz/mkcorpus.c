// SPDX-License-Identifier: Apache-2.0
/*
 * mkcorpus.c -- write the seed corpus and the regression inputs
 *
 *   fuzz_mkcorpus DIR     (DIR: tests/fuzz of the source tree)
 *
 * writes DIR/corpus/<target>/ and DIR/regressions/<target>/, which are
 * checked in.  Seeds are valid messages, encoded by protobuf-c as
 * libdaxalloc and daxallocctl would send them, naming what the fuzz
 * daemon's base state holds (fuzzd.h); recovery seeds are metadata images
 * made by the daemon's own pool code.  Regression inputs are the hostile
 * datagrams the decode guards exist for, each named after what
 * envelope_unpack() must say (fuzz.h), and inputs that once broke a
 * target.  The files are deterministic: running this again changes
 * nothing unless the code that makes them changed.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "device.h"
#include "format.h"
#include "fuzz.h"
#include "fuzz_recovery.h"
#include "fuzzd.h"
#include "meta.h"
#include "pool.h"
#include "quarantine.h"
#include "wire.h"

#define B(x) DAXALLOC__ENVELOPE__BODY_##x

static const char *mk_dir;
static unsigned int mk_files;

/* mk_mkdir -- DIR/kind/target, made if missing */
static void mk_mkdir(const char *kind, const char *target, char *out,
		     size_t len)
{
	snprintf(out, len, "%s/%s", mk_dir, kind);
	mkdir(out, 0755);
	snprintf(out, len, "%s/%s/%s", mk_dir, kind, target);
	if (mkdir(out, 0755) < 0 && errno != EEXIST)
		fuzz_fatal("mkdir %s: %s", out, strerror(errno));
}

/* mk_write -- one file of the corpus (kind "corpus") or the regressions */
static void mk_write(const char *kind, const char *target, const char *name,
		     const void *buf, size_t len)
{
	char dir[3072], path[4096];
	FILE *f;

	mk_mkdir(kind, target, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/%s.bin", dir, name);
	f = fopen(path, "wb");
	if (!f || (len && fwrite(buf, 1, len, f) != len) || fclose(f) != 0)
		fuzz_fatal("cannot write %s", path);
	mk_files++;
}

/* mk_pack -- an envelope as a client sends it: version 1, a request id */
static uint8_t *mk_pack(Daxalloc__Envelope *env, size_t *len)
{
	void *buf;

	if (!env->version)
		env->version = PROTO_VERSION_MAX;
	if (!env->id && env->body_case < 96)
		env->id = 7;
	if (envelope_pack(env, &buf, len) < 0)
		fuzz_fatal("cannot pack %s",
			   envelope_type_name(env->body_case));
	return buf;
}

/*
 * mk_socket -- a seed of fuzz_client or fuzz_control (header + datagram),
 * and the same datagram as a seed of fuzz_envelope
 */
static void mk_socket(const char *kind, const char *target, const char *name,
		      unsigned int nfds, unsigned int flags, const void *dgram,
		      size_t len)
{
	uint8_t *buf = malloc(len + FUZZD_HEADER);
	char ename[256];

	if (!buf)
		fuzz_fatal("out of memory");
	buf[0] = (uint8_t)nfds;
	buf[1] = (uint8_t)flags;
	memcpy(buf + FUZZD_HEADER, dgram, len);
	mk_write(kind, target, name, buf, len + FUZZD_HEADER);
	free(buf);
	if (!strcmp(kind, "corpus")) {
		snprintf(ename, sizeof(ename), "%s-%s", target + 5, name);
		mk_write(kind, "fuzz_envelope", ename, dgram, len);
	}
}

/* mk_env -- pack env and write it as a socket seed */
static void mk_env(const char *target, const char *name, unsigned int flags,
		   Daxalloc__Envelope *env)
{
	size_t len;
	uint8_t *buf = mk_pack(env, &len);

	mk_socket("corpus", target, name, 0, flags, buf, len);
	free(buf);
}

/* mk_body -- an envelope around an empty body of the given case */
static void mk_body(const char *target, const char *name, unsigned int flags,
		    envelope_body_t body)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT;
	const ProtobufCFieldDescriptor *f;
	void *sub;

	f = protobuf_c_message_descriptor_get_field(
		&daxalloc__envelope__descriptor, (unsigned int)body);
	if (!f || !f->descriptor)
		fuzz_fatal("no body %d", (int)body);
	sub = calloc(1, ((const ProtobufCMessageDescriptor *)f->descriptor)
				->sizeof_message);
	if (!sub)
		fuzz_fatal("out of memory");
	protobuf_c_message_init(f->descriptor, sub);
	memcpy((char *)&env + f->offset, &sub, sizeof(sub));
	env.body_case = body;
	mk_env(target, name, flags, &env);
	free(sub);
}

/* mk_hello -- Hello as libdaxalloc says it, on a connection without one */
static void mk_hello(const char *target)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT;
	Daxalloc__Hello h = DAXALLOC__HELLO__INIT;

	h.version_min = 1;
	h.version_max = 1;
	h.capabilities = 3;
	h.client_name = (char *)"seed";
	h.pid = 4321;
	h.start_time = 123456;
	h.boot_id = (char *)"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
	env.body_case = B(HELLO);
	env.hello = &h;
	mk_env(target, "hello", FUZZD_F_NO_HELLO, &env);
	/* Another Hello after the first one breaks the protocol. */
	mk_env(target, "hello-again", 0, &env);
	/* A range with no common version. */
	h.version_min = 2;
	h.version_max = 9;
	env.version = 9;
	mk_env(target, "hello-no-common-version", FUZZD_F_NO_HELLO, &env);
}

/* mk_keyed -- Open, Delete, Stat or CtlShow by id or name */
static void mk_keyed(const char *target, const char *name, unsigned int flags,
		     envelope_body_t body, uint64_t id, const char *key,
		     bool ro)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT;
	Daxalloc__OpenRequest o = DAXALLOC__OPEN_REQUEST__INIT;
	Daxalloc__DeleteRequest d = DAXALLOC__DELETE_REQUEST__INIT;
	Daxalloc__StatRequest s = DAXALLOC__STAT_REQUEST__INIT;
	Daxalloc__CtlShowRequest c = DAXALLOC__CTL_SHOW_REQUEST__INIT;

	env.body_case = body;
	/* The key is a oneof: id and name share their storage. */
	o.key_case = key ? DAXALLOC__OPEN_REQUEST__KEY_NAME :
			   DAXALLOC__OPEN_REQUEST__KEY_EXTENT_ID;
	d.key_case = key ? DAXALLOC__DELETE_REQUEST__KEY_NAME :
			   DAXALLOC__DELETE_REQUEST__KEY_EXTENT_ID;
	s.key_case = key ? DAXALLOC__STAT_REQUEST__KEY_NAME :
			   DAXALLOC__STAT_REQUEST__KEY_EXTENT_ID;
	c.key_case = key ? DAXALLOC__CTL_SHOW_REQUEST__KEY_NAME :
			   DAXALLOC__CTL_SHOW_REQUEST__KEY_EXTENT_ID;
	if (key) {
		o.name = d.name = s.name = c.name = (char *)key;
	} else {
		o.extent_id = d.extent_id = s.extent_id = c.extent_id = id;
	}
	o.read_only = ro;
	env.open = &o;
	if (body == B(DELETE))
		env.delete_ = &d;
	else if (body == B(STAT))
		env.stat = &s;
	else if (body == B(CTL_SHOW))
		env.ctl_show = &c;
	mk_env(target, name, flags, &env);
}

/* mk_client -- seeds of fuzz_client: every request of the client socket */
static void mk_client(const struct fuzzd_ids *ids)
{
	static const char t[] = "fuzz_client";
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT;
	Daxalloc__AllocRequest a = DAXALLOC__ALLOC_REQUEST__INIT;
	Daxalloc__CloseRequest cl = DAXALLOC__CLOSE_REQUEST__INIT;
	Daxalloc__TruncateRequest tr = DAXALLOC__TRUNCATE_REQUEST__INIT;
	Daxalloc__PinRequest pr = DAXALLOC__PIN_REQUEST__INIT;
	Daxalloc__PinRange r[3], *rp[3];
	Daxalloc__UnpinRequest up = DAXALLOC__UNPIN_REQUEST__INIT;
	Daxalloc__ListRequest l = DAXALLOC__LIST_REQUEST__INIT;
	Daxalloc__LeaseBreakAck ack = DAXALLOC__LEASE_BREAK_ACK__INIT;
	uint64_t pins[FUZZD_PINS];
	unsigned int i;

	mk_hello(t);

	a.size = ids->unit;
	a.name = (char *)"seed";
	a.mode = 0640;
	env.body_case = B(ALLOC);
	env.alloc = &a;
	mk_env(t, "alloc-named", 0, &env);
	a.name = (char *)"alpha";
	mk_env(t, "alloc-name-taken", 0, &env);
	a.name = (char *)"";
	a.size = 2 * ids->unit;
	a.align = 2 * ids->unit;
	a.mode = 0;
	mk_env(t, "alloc-anonymous-aligned", 0, &env);

	mk_keyed(t, "open-id", 0, B(OPEN), ids->alpha, NULL, false);
	mk_keyed(t, "open-name-read-only", 0, B(OPEN), 0, "beta", true);
	mk_keyed(t, "open-stranger", FUZZD_F_STRANGER, B(OPEN), ids->beta, NULL,
		 false);
	mk_keyed(t, "delete-holder-held", FUZZD_F_HOLDER, B(DELETE), ids->alpha,
		 NULL, false);
	mk_keyed(t, "delete-name", 0, B(DELETE), 0, "gamma", false);
	mk_keyed(t, "delete-id-pinned", 0, B(DELETE), ids->alpha, NULL, false);
	mk_keyed(t, "stat-id", 0, B(STAT), ids->anon, NULL, false);
	mk_keyed(t, "stat-name", 0, B(STAT), 0, "beta", false);

	daxalloc__envelope__init(&env);
	cl.extent_id = ids->alpha;
	env.body_case = B(CLOSE);
	env.close = &cl;
	mk_env(t, "close", 0, &env);

	daxalloc__envelope__init(&env);
	tr.extent_id = ids->gamma;
	tr.size = 3 * ids->unit;
	env.body_case = B(TRUNCATE);
	env.truncate = &tr;
	mk_env(t, "truncate-grow-blocked", 0, &env);
	tr.extent_id = ids->omega;
	mk_env(t, "truncate-grow", 0, &env);
	tr.size = 1;
	mk_env(t, "truncate-shrink-stranger", FUZZD_F_STRANGER, &env);
	tr.extent_id = ids->alpha;
	tr.size = 4096;
	mk_env(t, "truncate-same", 0, &env);

	daxalloc__envelope__init(&env);
	for (i = 0; i < 3; i++) {
		daxalloc__pin_range__init(&r[i]);
		rp[i] = &r[i];
	}
	r[0].extent_id = ids->alpha;
	r[0].offset = 4096;
	r[0].length = 100;
	r[1].extent_id = ids->beta;
	r[1].offset = 12288;
	r[1].length = 8192;
	r[2].extent_id = ids->anon;
	r[2].length = ids->unit;
	pr.n_ranges = 3;
	pr.ranges = rp;
	env.body_case = B(PIN);
	env.pin = &pr;
	mk_env(t, "pin-batch", 0, &env);

	daxalloc__envelope__init(&env);
	for (i = 0; i < FUZZD_PINS; i++)
		pins[i] = ids->pins[i];
	up.n_pin_ids = FUZZD_PINS;
	up.pin_ids = pins;
	env.body_case = B(UNPIN);
	env.unpin = &up;
	mk_env(t, "unpin-batch", 0, &env);

	daxalloc__envelope__init(&env);
	env.body_case = B(LIST);
	env.list = &l;
	mk_env(t, "list-own", 0, &env);
	l.openable = 1;
	l.cursor = ids->beta;
	mk_env(t, "list-openable", 0, &env);

	daxalloc__envelope__init(&env);
	ack.break_id = ids->own_break;
	env.body_case = B(LEASE_BREAK_ACK);
	env.lease_break_ack = &ack;
	mk_env(t, "lease-break-ack", 0, &env);
	ack.break_id = ids->holder_breaks[0];
	mk_env(t, "lease-break-ack-holder", FUZZD_F_HOLDER, &env);
	ack.break_id = ids->holder_breaks[1];
	mk_env(t, "lease-break-ack-holder-doomed", FUZZD_F_HOLDER, &env);
	mk_env(t, "lease-break-ack-not-ours", 0, &env);

	/* The holder unmaps and closes what it opened. */
	daxalloc__envelope__init(&env);
	cl.extent_id = ids->beta;
	env.body_case = B(CLOSE);
	env.close = &cl;
	mk_env(t, "close-holder", FUZZD_F_HOLDER, &env);

	/* A control request on the client socket. */
	mk_body(t, "status-on-client", 0, B(STATUS_REQ));
}

/* mk_control -- seeds of fuzz_control: every request of the control socket */
static void mk_control(const struct fuzzd_ids *ids)
{
	static const char t[] = "fuzz_control";
	static const struct {
		const char *name;
		int what;
	} lists[] = {
		{ "ctl-list-extents",
		  DAXALLOC__CTL_LIST_REQUEST__WHAT__EXTENTS },
		{ "ctl-list-sessions",
		  DAXALLOC__CTL_LIST_REQUEST__WHAT__SESSIONS },
		{ "ctl-list-leases", DAXALLOC__CTL_LIST_REQUEST__WHAT__LEASES },
		{ "ctl-list-pins", DAXALLOC__CTL_LIST_REQUEST__WHAT__PINS },
		{ "ctl-list-quarantine",
		  DAXALLOC__CTL_LIST_REQUEST__WHAT__QUARANTINE },
		{ "ctl-list-free", DAXALLOC__CTL_LIST_REQUEST__WHAT__FREE },
	};
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT;
	Daxalloc__CtlListRequest cl = DAXALLOC__CTL_LIST_REQUEST__INIT;
	Daxalloc__RevokeRequest rv = DAXALLOC__REVOKE_REQUEST__INIT;
	unsigned int i;

	mk_hello(t);
	mk_body(t, "status", 0, B(STATUS_REQ));
	mk_body(t, "status-stranger", FUZZD_F_STRANGER, B(STATUS_REQ));
	mk_body(t, "stats", 0, B(STATS));
	mk_body(t, "check", 0, B(CHECK));
	mk_body(t, "alloc-on-control", 0, B(ALLOC));

	env.body_case = B(CTL_LIST);
	env.ctl_list = &cl;
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		cl.what = lists[i].what;
		mk_env(t, lists[i].name, 0, &env);
	}
	cl.what = DAXALLOC__CTL_LIST_REQUEST__WHAT__PINS;
	cl.cursor = 1;
	mk_env(t, "ctl-list-pins-cursor", 0, &env);

	mk_keyed(t, "ctl-show-id", 0, B(CTL_SHOW), ids->beta, NULL, false);
	mk_keyed(t, "ctl-show-name", 0, B(CTL_SHOW), 0, "alpha", false);

	daxalloc__envelope__init(&env);
	env.body_case = B(REVOKE);
	env.revoke = &rv;
	rv.extent_id = ids->alpha;
	mk_env(t, "revoke-extent", 0, &env);
	rv.grace_set = 1;
	rv.grace_s = 0;
	mk_env(t, "revoke-extent-now", 0, &env);
	rv.grace_set = 0;
	rv.extent_id = 0;
	rv.by_uid = 1;
	rv.uid = (uint32_t)getuid();
	rv.grace_set = 1;
	rv.grace_s = 0;
	rv.kill = 1;
	mk_env(t, "revoke-uid-now-kill", 0, &env);
	rv.by_uid = 0;
	rv.kill = 0;
	rv.extent_id = ids->beta;
	rv.force_unsafe = 1;
	mk_env(t, "revoke-force-unsafe", 0, &env);
}

/* mk_replies -- what the daemon sends, as seeds of fuzz_envelope */
static void mk_replies(void)
{
	static const char t[] = "fuzz_envelope";
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT;
	Daxalloc__HelloReply hr = DAXALLOC__HELLO_REPLY__INIT;
	Daxalloc__ExtentReply xr = DAXALLOC__EXTENT_REPLY__INIT;
	Daxalloc__Extent x = DAXALLOC__EXTENT__INIT, *xp[2] = { &x, &x };
	Daxalloc__LeaseInfo li = DAXALLOC__LEASE_INFO__INIT, *lip = &li;
	Daxalloc__PinInfo pi = DAXALLOC__PIN_INFO__INIT, *pip = &pi;
	Daxalloc__QuarantineInfo qi = DAXALLOC__QUARANTINE_INFO__INIT,
				 *qip = &qi;
	Daxalloc__ListReply lr = DAXALLOC__LIST_REPLY__INIT;
	Daxalloc__PinReply pr = DAXALLOC__PIN_REPLY__INIT;
	Daxalloc__CheckReply cr = DAXALLOC__CHECK_REPLY__INIT;
	Daxalloc__CtlListReply clr = DAXALLOC__CTL_LIST_REPLY__INIT;
	Daxalloc__ProcessInfo proc = DAXALLOC__PROCESS_INFO__INIT,
			      *procp = &proc;
	Daxalloc__LeaseBreak lb = DAXALLOC__LEASE_BREAK__INIT;
	Daxalloc__StatusReply sr = DAXALLOC__STATUS_REPLY__INIT;
	uint64_t ids[3] = { 1ULL << 40 | 1, 1ULL << 40 | 2, 1ULL << 40 | 3 };
	uint32_t pids[2] = { 100, 200 };
	char *findings[2] = { (char *)"extent 3: overlaps", (char *)"bad" };
	size_t len;
	uint8_t *buf;

#define MK_REPLY(name)                                 \
	do {                                           \
		buf = mk_pack(&env, &len);             \
		mk_write("corpus", t, name, buf, len); \
		free(buf);                             \
		daxalloc__envelope__init(&env);        \
	} while (0)

	hr.version = 1;
	hr.capabilities = 3;
	hr.server_version = (char *)"0.1.0";
	hr.session_id = 1;
	hr.unit = 65536;
	env.id = 1;
	env.body_case = B(HELLO_REPLY);
	env.hello_reply = &hr;
	MK_REPLY("reply-hello");

	x.id = 3;
	x.name = (char *)"alpha";
	x.offset = 1 << 22;
	x.length = 65536;
	x.uid = 1000;
	x.gid = 1000;
	x.mode = 0644;
	x.flags = 1;
	li.extent_id = 3;
	li.pid = 100;
	li.count = 2;
	li.read_only = 1;
	pi.pin_id = ids[0];
	pi.extent_id = 3;
	pi.offset = 1 << 22;
	pi.length = 4096;
	qi.offset = 1 << 23;
	qi.length = 65536;
	qi.n_waiting_pids = 2;
	qi.waiting_pids = pids;
	xr.extent = &x;
	xr.n_leases = 1;
	xr.leases = &lip;
	xr.n_pins = 1;
	xr.pins = &pip;
	xr.n_quarantine = 1;
	xr.quarantine = &qip;
	env.id = 2;
	env.body_case = B(EXTENT_REPLY);
	env.extent_reply = &xr;
	MK_REPLY("reply-extent-show");

	lr.n_extents = 2;
	lr.extents = xp;
	lr.next_cursor = 9;
	env.id = 3;
	env.body_case = B(LIST_REPLY);
	env.list_reply = &lr;
	MK_REPLY("reply-list");

	pr.n_pin_ids = 3;
	pr.pin_ids = ids;
	env.id = 4;
	env.body_case = B(PIN_REPLY);
	env.pin_reply = &pr;
	MK_REPLY("reply-pin");

	cr.n_findings = 2;
	cr.findings = findings;
	env.id = 5;
	env.body_case = B(CHECK_REPLY);
	env.check_reply = &cr;
	MK_REPLY("reply-check");

	proc.pid = 100;
	proc.name = (char *)"db";
	proc.leases = 1;
	clr.n_processes = 1;
	clr.processes = &procp;
	clr.next_cursor = 1;
	env.id = 6;
	env.body_case = B(CTL_LIST_REPLY);
	env.ctl_list_reply = &clr;
	MK_REPLY("reply-ctl-list");

	sr.version = (char *)"0.1.0";
	sr.pid = 1;
	sr.device = (char *)"/dev/dax0.0";
	sr.pool_size = 1ULL << 30;
	sr.unsafe_shutdown = 1;
	env.id = 7;
	env.body_case = B(STATUS_REPLY);
	env.status_reply = &sr;
	MK_REPLY("reply-status");

	lb.extent_id = 3;
	lb.length = 65536;
	lb.deadline_ms = 1700000000000ULL;
	lb.break_id = ids[1];
	lb.reason = DAXALLOC__LEASE_BREAK__REASON__DELETE;
	env.version = 1;
	env.body_case = B(LEASE_BREAK);
	env.lease_break = &lb;
	MK_REPLY("event-lease-break");

	env.id = 8;
	env.status = -ENOENT;
	env.message = (char *)"no extent named 'x'";
	MK_REPLY("reply-error");
#undef MK_REPLY
}

/*
 * The hostile datagrams of the decode guards (proto/envelope.c).  Each is
 * written for fuzz_envelope, named after the status it must get, and for
 * fuzz_client, where the daemon must answer it and close.
 */
struct mk_raw {
	const char *name;
	const uint8_t *bytes;
	size_t len;
};

#define MK_RAW(n, ...)                                           \
	{                                                        \
		n, (const uint8_t[]){ __VA_ARGS__ },             \
			sizeof((const uint8_t[]){ __VA_ARGS__ }) \
	}

static const struct mk_raw mk_guards[] = {
	/* Field number 0, as a varint and as a length-delimited field. */
	MK_RAW("ebadmsg-field0-varint", 0x08, 0x01, 0x00, 0x01),
	MK_RAW("ebadmsg-field0-length", 0x08, 0x01, 0x02, 0x00),
	/* protobuf-c issue 506: a fifth tag byte >= 0x40 shifts an int by 25. */
	MK_RAW("ebadmsg-tag-5-bytes-issue506", 0x88, 0x80, 0x80, 0x80, 0x7f,
	       0x01),
	/* version = 1 with its tag padded to five bytes: refused all the same. */
	MK_RAW("ebadmsg-tag-5-bytes-padded", 0x88, 0x80, 0x80, 0x80, 0x00,
	       0x01),
	/* Padded to four bytes: within the guard, and protobuf-c is fine. */
	MK_RAW("ok-tag-4-bytes-padded", 0x88, 0x80, 0x80, 0x00, 0x01),
	/* Unknown fields: at the top, far out, inside a body. */
	MK_RAW("ebadmsg-unknown-field-15", 0x08, 0x01, 0x78, 0x01),
	MK_RAW("ebadmsg-unknown-body-30", 0x08, 0x01, 0xf2, 0x01, 0x00),
	MK_RAW("ebadmsg-unknown-field-1000-fixed64", 0x08, 0x01, 0xc1, 0x3e, 1,
	       2, 3, 4, 5, 6, 7, 8),
	MK_RAW("ebadmsg-unknown-field-in-hello", 0x08, 0x01, 0x82, 0x01, 0x02,
	       0x78, 0x01),
	/* A singular field twice: a scalar, and a body protobuf-c would merge. */
	MK_RAW("ebadmsg-version-twice", 0x08, 0x01, 0x08, 0x01),
	MK_RAW("ebadmsg-hello-twice-merged", 0x08, 0x01, 0x82, 0x01, 0x02, 0x08,
	       0x01, 0x82, 0x01, 0x02, 0x10, 0x01),
	/* Two members of the body oneof: Hello and Close. */
	MK_RAW("ebadmsg-two-bodies", 0x08, 0x01, 0x82, 0x01, 0x00, 0x9a, 0x01,
	       0x00),
	/* Wire types: a group, the unassigned 6 and 7, a mismatch. */
	MK_RAW("ebadmsg-group", 0x08, 0x01, 0x0b, 0x0c),
	MK_RAW("ebadmsg-wire-type-6", 0x08, 0x01, 0x0e, 0x01),
	MK_RAW("ebadmsg-wire-type-7", 0x0f),
	MK_RAW("ebadmsg-version-as-bytes", 0x0a, 0x01, 0x01),
	MK_RAW("ebadmsg-body-as-varint", 0x08, 0x01, 0x80, 0x01, 0x01),
	/* Unpin's packed ids, the last one cut short. */
	MK_RAW("ebadmsg-packed-unterminated", 0x08, 0x01, 0xba, 0x01, 0x04,
	       0x0a, 0x02, 0x01, 0x80),
	/* Packed encoding for a singular number (Close.extent_id). */
	MK_RAW("ebadmsg-packed-singular", 0x08, 0x01, 0x9a, 0x01, 0x03, 0x0a,
	       0x01, 0x05),
	/* Unpin's ids one varint each, unpacked: valid protobuf. */
	MK_RAW("ok-unpin-unpacked", 0x08, 0x01, 0xba, 0x01, 0x06, 0x08, 0x01,
	       0x08, 0x02, 0x08, 0x03),
	/* Lengths that run past the end, or claim 4 GiB. */
	MK_RAW("ebadmsg-length-past-end", 0x82, 0x01, 0x7f, 0x08, 0x01),
	MK_RAW("ebadmsg-length-4g", 0x08, 0x01, 0x22, 0xff, 0xff, 0xff, 0xff,
	       0x0f, 0x41),
	MK_RAW("ebadmsg-length-6-bytes", 0x08, 0x01, 0x22, 0x81, 0x80, 0x80,
	       0x80, 0x80, 0x00, 0x41),
	/* Varints of 11 bytes, and one that never ends. */
	MK_RAW("ebadmsg-varint-11-bytes", 0x10, 0xff, 0xff, 0xff, 0xff, 0xff,
	       0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
	MK_RAW("ebadmsg-varint-endless", 0x10, 0x80, 0x80, 0x80),
	/* Tag 31 wire type 7, over and over (test_wire's first garbage). */
	MK_RAW("ebadmsg-ff", 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
};

/* mk_big -- version 1, then body field (tag bytes) of n bytes filled */
static uint8_t *mk_big(const uint8_t *tag, size_t ntag, size_t n,
		       const uint8_t *fill, size_t nfill, size_t *len)
{
	uint8_t *buf = malloc(n + 16);
	size_t pos = 0, i;

	if (!buf)
		fuzz_fatal("out of memory");
	buf[pos++] = 0x08;
	buf[pos++] = 0x01;
	memcpy(buf + pos, tag, ntag);
	pos += ntag;
	/* The length as a 3-byte varint, whatever its value. */
	buf[pos++] = (uint8_t)(0x80 | (n & 0x7f));
	buf[pos++] = (uint8_t)(0x80 | ((n >> 7) & 0x7f));
	buf[pos++] = (uint8_t)(n >> 14);
	for (i = 0; i < n; i++)
		buf[pos + i] = fill[i % nfill];
	*len = pos + n;
	return buf;
}

/* mk_regressions -- the guards' inputs for fuzz_envelope and fuzz_client */
static void mk_regressions(const struct fuzzd_ids *ids)
{
	static const uint8_t pin_tag[] = { 0xb2, 0x01 }; /* Pin, field 22 */
	static const uint8_t msg_tag[] = { 0x22 }; /* message, field 4 */
	static const uint8_t empty_range[] = { 0x0a, 0x00 };
	static const uint8_t letter[] = { 'x' };
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT;
	Daxalloc__UnpinRequest up = DAXALLOC__UNPIN_REQUEST__INIT;
	Daxalloc__StatRequest st = DAXALLOC__STAT_REQUEST__INIT;
	Daxalloc__Hello h = DAXALLOC__HELLO__INIT;
	uint64_t *pins;
	uint8_t *buf;
	size_t i, len;

	for (i = 0; i < sizeof(mk_guards) / sizeof(mk_guards[0]); i++) {
		const struct mk_raw *g = &mk_guards[i];

		mk_write("regressions", "fuzz_envelope", g->name, g->bytes,
			 g->len);
		mk_socket("regressions", "fuzz_client", g->name, 0, 0, g->bytes,
			  g->len);
	}

	/*
	 * The densest Pin a datagram holds: 32764 empty ranges.  protobuf-c
	 * allocates about 60 bytes per byte for it; the budget allows it,
	 * and the daemon refuses it for its count (-E2BIG).
	 */
	buf = mk_big(pin_tag, sizeof(pin_tag), WIRE_MSG_MAX - 8, empty_range,
		     sizeof(empty_range), &len);
	mk_write("regressions", "fuzz_envelope", "ok-pin-32k-empty-ranges", buf,
		 len);
	mk_socket("regressions", "fuzz_client", "pin-32k-empty-ranges", 0, 0,
		  buf, len);
	free(buf);
	/* Exactly WIRE_MSG_MAX bytes, and one more. */
	buf = mk_big(msg_tag, sizeof(msg_tag), WIRE_MSG_MAX - 6, letter, 1,
		     &len);
	mk_write("regressions", "fuzz_envelope", "ok-64k-message", buf, len);
	free(buf);
	buf = mk_big(msg_tag, sizeof(msg_tag), WIRE_MSG_MAX - 5, letter, 1,
		     &len);
	mk_write("regressions", "fuzz_envelope", "emsgsize-64k-plus-1", buf,
		 len);
	mk_socket("regressions", "fuzz_client", "oversized-datagram", 0, 0, buf,
		  len);
	free(buf);
	mk_write("regressions", "fuzz_envelope", "emsgsize-empty", "", 0);
	mk_socket("regressions", "fuzz_client", "empty-datagram", 0, 0, "", 0);

	/* 4097 ids: one past what an Unpin may carry (-E2BIG). */
	pins = calloc(4097, sizeof(*pins));
	if (!pins)
		fuzz_fatal("out of memory");
	for (i = 0; i < 4097; i++)
		pins[i] = ids->pins[0] + i;
	up.n_pin_ids = 4097;
	up.pin_ids = pins;
	env.body_case = B(UNPIN);
	env.unpin = &up;
	buf = mk_pack(&env, &len);
	mk_write("regressions", "fuzz_envelope", "ok-unpin-4097", buf, len);
	mk_socket("regressions", "fuzz_client", "unpin-4097", 0, 0, buf, len);
	free(buf);
	free(pins);

	/* Descriptors: the kernel's most, the wire's most, one past it. */
	daxalloc__envelope__init(&env);
	st.key_case = DAXALLOC__STAT_REQUEST__KEY_EXTENT_ID;
	st.extent_id = ids->alpha;
	env.body_case = B(STAT);
	env.stat = &st;
	buf = mk_pack(&env, &len);
	mk_socket("regressions", "fuzz_client", "fds-253", FUZZD_FDS_MAX, 0,
		  buf, len);
	mk_socket("regressions", "fuzz_client", "fds-4", 4, 0, buf, len);
	mk_socket("regressions", "fuzz_client", "fds-5-pipe", 5, FUZZD_F_PIPE,
		  buf, len);
	mk_socket("regressions", "fuzz_control", "fds-1", 1, 0, buf, len);
	free(buf);
	daxalloc__envelope__init(&env);
	h.version_min = 1;
	h.version_max = 1;
	env.body_case = B(HELLO);
	env.hello = &h;
	buf = mk_pack(&env, &len);
	mk_socket("regressions", "fuzz_client", "hello-fds-1-pipe", 1,
		  FUZZD_F_PIPE | FUZZD_F_NO_HELLO, buf, len);
	mk_socket("regressions", "fuzz_control", "hello-fds-253", 253,
		  FUZZD_F_NO_HELLO, buf, len);
	free(buf);
}

/*
 * Recovery seeds: metadata images made by the pool code on the simulated
 * device fuzz_recovery uses, written as its chunks (fuzz_recovery.h).
 */

/* mk_image -- the metadata area of dev as a fuzz_recovery input */
static void mk_image(const char *kind, const char *name, unsigned int flags,
		     struct device *dev, const struct fmt_superblock *sb)
{
	uint64_t off[FUZZ_RECOVERY_REGIONS], len[FUZZ_RECOVERY_REGIONS];
	const uint8_t *base = dev->addr;
	size_t cap = 1 << 20, n = 0;
	uint8_t *buf = malloc(cap);
	unsigned int r;

	if (!buf)
		fuzz_fatal("out of memory");
	fuzz_recovery_regions(sb, off, len);
	buf[n++] = (uint8_t)flags;
	buf[n++] = (uint8_t)(flags >> 8);
	for (r = 0; r < FUZZ_RECOVERY_REGIONS; r++) {
		uint64_t i = 0, j, zeros;

		while (i < len[r]) {
			if (!base[off[r] + i]) {
				i++;
				continue;
			}
			/*
			 * A run of non-zero bytes, bridging gaps of zeros
			 * shorter than a chunk's head, at most 255 long.
			 */
			for (j = i, zeros = 0; j < len[r] && j - i < 255;) {
				zeros = base[off[r] + j] ? 0 : zeros + 1;
				j++;
				if (zeros > FUZZ_RECOVERY_CHUNK)
					break;
			}
			j -= zeros;
			if (n + FUZZ_RECOVERY_CHUNK + (j - i) > cap)
				fuzz_fatal("image too large");
			buf[n++] = (uint8_t)r;
			buf[n++] = (uint8_t)(j - i);
			buf[n++] = (uint8_t)i;
			buf[n++] = (uint8_t)(i >> 8);
			buf[n++] = (uint8_t)(i >> 16);
			memcpy(buf + n, base + off[r] + i, j - i);
			n += j - i;
			i = j;
		}
	}
	mk_write(kind, "fuzz_recovery", name, buf, n);
	free(buf);
}

/* mk_fix_identity -- a fixed uuid and format time: files that do not churn */
static void mk_fix_identity(struct device *dev)
{
	static const uint64_t at[2] = { FMT_SB_A, FMT_SB_B };
	unsigned int i;

	for (i = 0; i < 2; i++) {
		struct fmt_superblock *sb =
			(void *)((uint8_t *)dev->addr + at[i]);

		memset(sb->uuid, 0x5a, sizeof(sb->uuid));
		sb->format_time = 1700000000;
		sb->checksum =
			meta_crc(sb, offsetof(struct fmt_superblock, checksum));
	}
}

/* mk_extent -- pool_alloc() of a named (or, for "", anonymous) extent */
static struct extent *mk_extent(struct pool *p, const char *name, uint64_t size)
{
	struct pool_attr a = {
		.name = name, .uid = 1000, .gid = 1000, .mode = 0640
	};
	struct extent *e;

	a.flags = *name ? FMT_EXTENT_NAMED : FMT_EXTENT_ANONYMOUS;
	if (!*name) {
		a.owner_pid = 4321;
		a.owner_start = 123456;
		memset(a.owner_boot, 0x11, sizeof(a.owner_boot));
	}
	if (pool_alloc(p, size, 0, &a, &e) < 0)
		fuzz_fatal("pool_alloc %s", name);
	return e;
}

/* mk_hold -- a sealed hold record, written in place */
static void mk_hold(struct device *dev, uint64_t at, uint64_t id,
		    uint64_t extent_id, uint64_t off, uint64_t len,
		    uint32_t flags)
{
	struct fmt_hold h;

	memset(&h, 0, sizeof(h));
	h.id = id;
	h.extent_id = extent_id;
	h.offset = off;
	h.length = len;
	h.pid = 4321;
	h.start_time = 123456;
	h.flags = flags;
	h.count = FMT_HOLD_KIND(flags) == FMT_HOLD_LEASE;
	h.checksum = meta_crc(&h, offsetof(struct fmt_hold, checksum));
	memcpy((uint8_t *)dev->addr + at, &h, sizeof(h));
}

/* mk_recovery -- the seeds of fuzz_recovery */
static void mk_recovery(void)
{
	const unsigned int server =
		FUZZ_RECOVERY_F_BIND | FUZZ_RECOVERY_F_SEAL_STATE |
		FUZZ_RECOVERY_F_SEAL_EXTENTS | FUZZ_RECOVERY_F_SEAL_HOLDS |
		FUZZ_RECOVERY_F_SERVER;
	struct fmt_superblock sb;
	struct extent *a, *b, *d;
	struct device *dev;
	struct fmt_jheader jh;
	struct qrange *q;
	struct pool *p;

	/* A pool just formatted, opened to serve, to check, and again. */
	if (device_sim_new(FUZZ_RECOVERY_SIZE, FUZZ_RECOVERY_UNIT, &dev) < 0 ||
	    pool_open_device(dev, POOL_FORMAT_ALWAYS, FUZZ_RECOVERY_UNIT, &p) <
		    0)
		fuzz_fatal("cannot format");
	sb = p->meta->sb;
	pool_close(p, true);
	mk_fix_identity(dev);
	mk_image("corpus", "formatted", 0, dev, &sb);
	mk_image("corpus", "formatted-inspect-reopen",
		 FUZZ_RECOVERY_F_INSPECT | FUZZ_RECOVERY_F_REOPEN, dev, &sb);
	mk_image("corpus", "formatted-server", FUZZ_RECOVERY_F_SERVER, dev,
		 &sb);

	/*
	 * Extents, one of them anonymous, one deleted into the quarantine,
	 * one truncated; a process's holds on them (alive once F_BIND makes
	 * it this one).  Then the same with the last transaction's homes
	 * wiped: opening must replay the journal.
	 */
	if (pool_open_device(dev, POOL_FORMAT_NEVER, 0, &p) < 0)
		fuzz_fatal("cannot reopen");
	a = mk_extent(p, "alpha", FUZZ_RECOVERY_UNIT);
	b = mk_extent(p, "beta", 2 * FUZZ_RECOVERY_UNIT);
	mk_extent(p, "", FUZZ_RECOVERY_UNIT);
	if (pool_commit(p) < 0)
		fuzz_fatal("commit");
	d = mk_extent(p, "doomed", FUZZ_RECOVERY_UNIT);
	if (pool_commit(p) < 0 || pool_delete_held(p, d->rec.id, &q) < 0 ||
	    pool_truncate(p, b->rec.id, FUZZ_RECOVERY_UNIT) < 0 ||
	    pool_commit(p) < 0)
		fuzz_fatal("delete, truncate");
	/* Holds of one process: a lease on alpha, a pin, a break on doomed's range. */
	mk_hold(dev, sb.leases_off, 1ULL << 40 | 1, a->rec.id, 0, 0,
		FMT_HOLD_LEASE);
	mk_hold(dev, sb.leases_off + sizeof(struct fmt_hold), 1ULL << 40 | 2,
		d->rec.id, q->rec.offset, q->rec.length, FMT_HOLD_BREAK);
	mk_hold(dev, sb.pins_off, 1ULL << 40 | 3, a->rec.id, a->rec.offset,
		4096, FMT_HOLD_PIN);
	pool_close(p, false);
	mk_fix_identity(dev);
	mk_image("corpus", "extents-holds-inspect",
		 FUZZ_RECOVERY_F_INSPECT | FUZZ_RECOVERY_F_REOPEN, dev, &sb);
	/*
	 * For the holds to be found alive, F_BIND rewrites the state record's
	 * boot; a journal replay would write the old one back over it, so
	 * this seed has no journal.
	 */
	memcpy(&jh, (uint8_t *)dev->addr + sb.journal_off, sizeof(jh));
	memset((uint8_t *)dev->addr + sb.journal_off, 0, sizeof(jh));
	mk_image("corpus", "extents-holds-server", server, dev, &sb);
	memcpy((uint8_t *)dev->addr + sb.journal_off, &jh, sizeof(jh));
	{
		/*
		 * The homes of the last transaction's entries wiped, as if
		 * power failed at its commit point before any reached home.
		 */
		uint8_t *base = dev->addr;
		const uint8_t *e = base + sb.journal_off + sizeof(jh);
		const uint8_t *end = e + jh.bytes;

		while (e < end) {
			struct fmt_jentry je;

			memcpy(&je, e, sizeof(je));
			e += sizeof(je);
			memset(base + je.offset, 0, je.len);
			e += (je.len + 7) / 8 * 8;
		}
	}
	mk_image("corpus", "journal-replay", 0, dev, &sb);
	device_close(dev);
}

int main(int argc, char **argv)
{
	const struct fuzzd_ids *ids;

	if (argc != 2) {
		fprintf(stderr, "usage: fuzz_mkcorpus DIR (tests/fuzz)\n");
		return 2;
	}
	mk_dir = argv[1];
	ids = fuzzd_ids();
	mk_client(ids);
	mk_control(ids);
	mk_replies();
	mk_regressions(ids);
	mk_recovery();
	printf("%u files written under %s\n", mk_files, mk_dir);
	return 0;
}
