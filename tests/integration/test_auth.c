// SPDX-License-Identifier: Apache-2.0
/*
 * test_auth.c -- who may talk to daxallocd, and what about
 *
 * Against the real daemon, with processes that become other users:
 *
 * - the client socket as installed (mode 0660, the socket's group): a
 *   process outside the group cannot connect (EACCES), one in it (as a
 *   supplementary or as its primary group) can;
 * - the control socket: a process that is neither root, the daemon's user
 *   nor in the admin group is refused every control request type with
 *   -EPERM, the connection and the daemon going on; a member of the admin
 *   group is served every one;
 * - extents between users: truncate, pin, close, unpin, lease-break
 *   acknowledgement and delete of another uid's extent under the modes
 *   0600, 0640, 0644, 0660 and 0666, for a process in the owner's group
 *   and one outside it (test_extents.c covers open and stat under 0600,
 *   0644, 0640, 0604 and 0400, the read-only mapping and root);
 * - descriptors: the daemon takes none, on any request type of either
 *   socket: it closes them (its descriptor count does not move, the pipe
 *   end sent is closed everywhere) and answers -EBADMSG, closing the
 *   connection; a refused control request is refused first (-EPERM), the
 *   descriptor closed all the same.
 *
 * Every test ends with `daxallocctl check`.  Needs root (it becomes other
 * users); children check with CHILD_CHECK() and exit 1 on failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <json-c/json.h>

#include "daxalloc.h"
#include "envelope.h"
#include "harness.h"
#include "wire.h"

#define NOBODY 65534
/* The client socket's group: nobody is not in it. */
#define AUTH_GID 4243
/* The owner of the extents of the cross-uid test, and its group. */
#define OWNER_UID 1001
#define OWNER_GID 1001
#define MIB (1ull << 20)
#define REPLY_MS 5000

/*
 * CHILD_CHECK -- a check in a child process, where CUnit does not run:
 * on failure say what and where, and exit 1
 */
#define CHILD_CHECK(cond)                                                     \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr,                                       \
				"%s:%d: process %d: check failed: %s [%s]\n", \
				__FILE__, __LINE__, (int)getpid(), #cond,     \
				daxalloc_errmsg());                           \
			_exit(1);                                             \
		}                                                             \
	} while (0)

static struct harness ah;
static char admin_name[64];
static gid_t admin_gid;

/* ---------------------------------------------------------------------- */
/* Helpers                                                                */

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * become -- uid and primary gid, with the supplementary groups given (in
 * a child)
 */
static void become(uid_t uid, gid_t gid, const gid_t *groups, size_t n)
{
	CHILD_CHECK(setgroups(n, groups) == 0);
	CHILD_CHECK(setgid(gid) == 0);
	CHILD_CHECK(setuid(uid) == 0);
}

/* wait_exit -- reap pid within limit_ms: its exit status, or -1 */
static int wait_exit(pid_t pid, int limit_ms)
{
	long long end = harness_now_ms() + limit_ms;
	int st;

	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (harness_now_ms() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		sleep_ms(5);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* run_child -- fork, run fn(arg) in the child, and wait for its status */
static int run_child(void (*fn)(long), long arg)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		fn(arg);
		_exit(0);
	}
	return wait_exit(pid, 30000);
}

/* raw_recv -- the next message within ms; NULL on timeout, EOF or error */
static Daxalloc__Envelope *raw_recv(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	Daxalloc__Envelope *env = NULL;
	int fds[WIRE_FDS_MAX];
	unsigned int nfds;

	if (poll(&p, 1, ms) <= 0)
		return NULL;
	if (envelope_recv(fd, &env, fds, &nfds) < 0)
		return NULL;
	wire_close_fds(fds, nfds);
	return env;
}

/* raw_reply -- the next message that is not an event, within ms */
static Daxalloc__Envelope *raw_reply(int fd, int ms)
{
	Daxalloc__Envelope *env;

	for (;;) {
		env = raw_recv(fd, ms);
		if (!env || envelope_kind(env->body_case) != ENVELOPE_EVENT)
			return env;
		envelope_free(env);
	}
}

/* No reply came (a status is never positive). */
#define RAW_NONE 1

/*
 * raw_call_fd -- send env (version 1, id 7) with descriptor sendfd
 * attached (-1: none); the reply, or NULL
 */
static Daxalloc__Envelope *raw_call_fd(int fd, Daxalloc__Envelope *env,
				       int sendfd)
{
	env->version = 1;
	env->id = 7;
	if (envelope_send(fd, env, sendfd >= 0 ? &sendfd : NULL,
			  sendfd >= 0 ? 1 : 0) < 0)
		return NULL;
	return raw_reply(fd, REPLY_MS);
}

/* raw_call -- send env; the reply's status, RAW_NONE if none */
static int raw_call(int fd, Daxalloc__Envelope *env)
{
	Daxalloc__Envelope *rep = raw_call_fd(fd, env, -1);
	int st = rep ? rep->status : RAW_NONE;

	envelope_free(rep);
	return st;
}

/* raw_hello -- say Hello; the reply's status */
static int raw_hello(int fd)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT;
	Daxalloc__Hello hello = DAXALLOC__HELLO__INIT;

	hello.version_min = hello.version_max = 1;
	hello.client_name = (char *)"auth";
	env.body_case = DAXALLOC__ENVELOPE__BODY_HELLO;
	env.hello = &hello;
	return raw_call(fd, &env);
}

/* raw_eof -- the daemon closed the connection within ms */
static bool raw_eof(int fd, int ms)
{
	long long end = harness_now_ms() + ms;
	char buf[WIRE_MSG_MAX];

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = end - harness_now_ms();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return false;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return true;
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return false;
	}
}

/* Storage for one request built by make_req(). */
struct areq {
	Daxalloc__Envelope env;
	union {
		Daxalloc__Hello hello;
		Daxalloc__AllocRequest alloc;
		Daxalloc__OpenRequest open;
		Daxalloc__CloseRequest close;
		Daxalloc__TruncateRequest truncate;
		Daxalloc__DeleteRequest del;
		Daxalloc__PinRequest pin;
		Daxalloc__UnpinRequest unpin;
		Daxalloc__LeaseBreakAck ack;
		Daxalloc__StatRequest stat;
		Daxalloc__ListRequest list;
		Daxalloc__StatusRequest status;
		Daxalloc__CtlListRequest ctl_list;
		Daxalloc__RevokeRequest revoke;
		Daxalloc__CheckRequest check;
		Daxalloc__StatsRequest stats;
		Daxalloc__CtlShowRequest show;
	} u;
	Daxalloc__PinRange range;
	Daxalloc__PinRange *ranges[1];
	uint64_t ids[1];
};

#define B(x) DAXALLOC__ENVELOPE__BODY_##x

/* Every request of the client socket, and of the control socket. */
static const envelope_body_t client_reqs[] = {
	B(HELLO), B(ALLOC), B(OPEN),  B(CLOSE),		  B(TRUNCATE), B(DELETE),
	B(PIN),	  B(UNPIN), B(LEASE_BREAK_ACK), B(STAT),     B(LIST),
};
static const envelope_body_t control_reqs[] = {
	B(STATUS_REQ), B(CTL_LIST), B(REVOKE), B(CHECK), B(STATS), B(CTL_SHOW),
};

/*
 * make_req -- a well-formed request of type body: on extent id, by id
 * (or the name "auth-none"); the Revoke names pid 0x7ffffff0, nobody
 */
static void make_req(struct areq *q, envelope_body_t body, uint64_t id)
{
	memset(q, 0, sizeof(*q));
	daxalloc__envelope__init(&q->env);
	q->env.body_case = body;
	switch (body) {
	case B(HELLO):
		daxalloc__hello__init(&q->u.hello);
		q->u.hello.version_min = q->u.hello.version_max = 1;
		q->env.hello = &q->u.hello;
		break;
	case B(ALLOC):
		daxalloc__alloc_request__init(&q->u.alloc);
		q->u.alloc.size = 1;
		q->u.alloc.name = (char *)"auth-none";
		q->env.alloc = &q->u.alloc;
		break;
	case B(OPEN):
		daxalloc__open_request__init(&q->u.open);
		q->u.open.key_case = DAXALLOC__OPEN_REQUEST__KEY_EXTENT_ID;
		q->u.open.extent_id = id;
		q->env.open = &q->u.open;
		break;
	case B(CLOSE):
		daxalloc__close_request__init(&q->u.close);
		q->u.close.extent_id = id;
		q->env.close = &q->u.close;
		break;
	case B(TRUNCATE):
		daxalloc__truncate_request__init(&q->u.truncate);
		q->u.truncate.extent_id = id;
		q->u.truncate.size = 2 * MIB;
		q->env.truncate = &q->u.truncate;
		break;
	case B(DELETE):
		daxalloc__delete_request__init(&q->u.del);
		q->u.del.key_case = DAXALLOC__DELETE_REQUEST__KEY_EXTENT_ID;
		q->u.del.extent_id = id;
		q->env.delete_ = &q->u.del;
		break;
	case B(PIN):
		daxalloc__pin_request__init(&q->u.pin);
		daxalloc__pin_range__init(&q->range);
		q->range.extent_id = id;
		q->range.length = 1;
		q->ranges[0] = &q->range;
		q->u.pin.n_ranges = 1;
		q->u.pin.ranges = q->ranges;
		q->env.pin = &q->u.pin;
		break;
	case B(UNPIN):
		daxalloc__unpin_request__init(&q->u.unpin);
		q->ids[0] = id;
		q->u.unpin.n_pin_ids = 1;
		q->u.unpin.pin_ids = q->ids;
		q->env.unpin = &q->u.unpin;
		break;
	case B(LEASE_BREAK_ACK):
		daxalloc__lease_break_ack__init(&q->u.ack);
		q->u.ack.break_id = id;
		q->env.lease_break_ack = &q->u.ack;
		break;
	case B(STAT):
		daxalloc__stat_request__init(&q->u.stat);
		q->u.stat.key_case = DAXALLOC__STAT_REQUEST__KEY_EXTENT_ID;
		q->u.stat.extent_id = id;
		q->env.stat = &q->u.stat;
		break;
	case B(LIST):
		daxalloc__list_request__init(&q->u.list);
		q->env.list = &q->u.list;
		break;
	case B(STATUS_REQ):
		daxalloc__status_request__init(&q->u.status);
		q->env.status_req = &q->u.status;
		break;
	case B(CTL_LIST):
		daxalloc__ctl_list_request__init(&q->u.ctl_list);
		q->u.ctl_list.what = (Daxalloc__CtlListRequest__What)id;
		q->env.ctl_list = &q->u.ctl_list;
		break;
	case B(REVOKE):
		daxalloc__revoke_request__init(&q->u.revoke);
		q->u.revoke.pid = 0x7ffffff0;
		q->env.revoke = &q->u.revoke;
		break;
	case B(CHECK):
		daxalloc__check_request__init(&q->u.check);
		q->env.check = &q->u.check;
		break;
	case B(STATS):
		daxalloc__stats_request__init(&q->u.stats);
		q->env.stats = &q->u.stats;
		break;
	case B(CTL_SHOW):
		daxalloc__ctl_show_request__init(&q->u.show);
		q->u.show.key_case = DAXALLOC__CTL_SHOW_REQUEST__KEY_EXTENT_ID;
		q->u.show.extent_id = id;
		q->env.ctl_show = &q->u.show;
		break;
	default:
		break;
	}
}

/* ---------------------------------------------------------------------- */
/* Suite                                                                  */

/*
 * pick_admin_group -- an existing group for --admin-group that nobody is
 * not in: adm if there is one, else the first other ordinary one
 */
static bool pick_admin_group(void)
{
	struct group *gr = getgrnam("adm");

	if (!gr) {
		setgrent();
		while ((gr = getgrent()))
			if (gr->gr_gid != 0 && gr->gr_gid != NOBODY &&
			    gr->gr_gid != AUTH_GID && gr->gr_gid != OWNER_GID &&
			    !gr->gr_mem[0])
				break;
		endgrent();
	}
	if (!gr)
		return false;
	snprintf(admin_name, sizeof(admin_name), "%s", gr->gr_name);
	admin_gid = gr->gr_gid;
	return true;
}

static int suite_init(void)
{
	const char *args[] = { "--config", "/dev/null", "--admin-group",
			       admin_name, NULL };

	if (geteuid() != 0) {
		fprintf(stderr, "test_auth: needs root (it becomes other users)\n");
		return -1;
	}
	if (!pick_admin_group()) {
		fprintf(stderr, "test_auth: no group to use as the admin group\n");
		return -1;
	}
	fprintf(stderr, "test_auth: admin group %s (%u), socket group %u\n",
		admin_name, (unsigned int)admin_gid, AUTH_GID);
	if (harness_init(&ah) < 0 || harness_start(&ah, args) < 0)
		return -1;
	/*
	 * As installed: the client socket 0660 in its group (SocketGroup=, or
	 * the daemon's group); others may pass through the folder.
	 */
	if (chown(ah.sock, 0, AUTH_GID) < 0 || chmod(ah.dir, 0711) < 0)
		return -1;
	return 0;
}

static int suite_fini(void)
{
	harness_fini(&ah);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* The client socket's group                                              */

/* outsider_child -- nobody, no groups: the socket file refuses it */
static void outsider_child(long unused)
{
	struct daxalloc *dx;

	become(NOBODY, NOBODY, NULL, 0);
	CHILD_CHECK(harness_connect(ah.sock, 5) == -EACCES);
	CHILD_CHECK(daxalloc_connect(ah.sock, &dx) == -EACCES);
	CHILD_CHECK(strstr(daxalloc_errmsg(), ah.sock));
	/* Nor, as installed (0600 root), the control socket. */
	CHILD_CHECK(harness_connect(ah.ctl, 5) == -EACCES);
}

/*
 * member_child -- nobody with the socket's group, as a supplementary
 * group (arg 0) or as its primary one (arg 1): connects and is served
 */
static void member_child(long primary)
{
	const gid_t groups[] = { AUTH_GID };
	struct daxalloc_info info;
	struct daxalloc *dx;
	int fd;

	if (primary)
		become(NOBODY, AUTH_GID, NULL, 0);
	else
		become(NOBODY, NOBODY, groups, 1);
	fd = harness_connect(ah.sock, 5);
	CHILD_CHECK(fd >= 0 && raw_hello(fd) == 0);
	close(fd);
	CHILD_CHECK(daxalloc_connect(ah.sock, &dx) == 0);
	CHILD_CHECK(daxalloc_stat(dx, "auth-none", &info) == -ENOENT);
	daxalloc_disconnect(dx);
	/* The socket's group is not an admin's: the control file says no. */
	CHILD_CHECK(harness_connect(ah.ctl, 5) == -EACCES);
}

/*
 * test_socket_group -- the client socket as installed (0660, its group):
 * outside the group, EACCES; in it, served
 */
static void test_socket_group(void)
{
	struct stat st;

	CU_ASSERT_FATAL(stat(ah.sock, &st) == 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0660);
	CU_ASSERT_EQUAL(st.st_gid, AUTH_GID);
	CU_ASSERT_FATAL(stat(ah.ctl, &st) == 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
	CU_ASSERT_EQUAL(run_child(outsider_child, 0), 0);
	CU_ASSERT_EQUAL(run_child(member_child, 0), 0);
	CU_ASSERT_EQUAL(run_child(member_child, 1), 0);
	CU_ASSERT(harness_alive(&ah));
	CU_ASSERT_EQUAL(harness_check(&ah), 0);
}

/* ---------------------------------------------------------------------- */
/* Control requests                                                       */

/* The extent the admin's CtlShow finds. */
static uint64_t shown_id;

/*
 * control_child -- every control request type, on the control socket, as
 * nobody; with admin, as a member of the admin group (supplementary, or
 * primary when admin is 2)
 */
static void control_child(long admin)
{
	const gid_t groups[] = { AUTH_GID, admin_gid };
	static const char *const args[] = { "status", NULL };
	unsigned int i, what;
	char out[8192];
	struct areq q;
	int fd, st;

	if (admin == 2)
		become(NOBODY, admin_gid, groups, 1);
	else
		become(NOBODY, NOBODY, groups, admin ? 2 : 1);
	fd = harness_connect(ah.ctl, 5);
	CHILD_CHECK(fd >= 0);
	/* Hello is served on both sockets, to everyone who may connect. */
	CHILD_CHECK(raw_hello(fd) == 0);
	for (i = 0; i < sizeof(control_reqs) / sizeof(control_reqs[0]); i++) {
		for (what = 0; what < 7; what++) {
			Daxalloc__Envelope *rep;
			int want = -EPERM;

			if (control_reqs[i] != B(CTL_LIST) && what)
				break;
			make_req(&q, control_reqs[i],
				 control_reqs[i] == B(CTL_LIST) ? what : shown_id);
			rep = raw_call_fd(fd, &q.env, -1);
			CHILD_CHECK(rep != NULL);
			if (admin) {
				want = 0;
				if (control_reqs[i] == B(CTL_LIST) && what >= 5)
					want = -EOPNOTSUPP; /* FREE, BADBLOCKS */
			}
			if (rep->status != want)
				fprintf(stderr, "%s (%u): %d (%s), expected %d\n",
					envelope_type_name(control_reqs[i]),
					what, rep->status, rep->message, want);
			CHILD_CHECK(rep->status == want);
			if (!admin)
				CHILD_CHECK(strstr(rep->message,
						   "root or the admin group"));
			envelope_free(rep);
		}
	}
	/* The client socket's requests are not served here. */
	for (i = 1; i < sizeof(client_reqs) / sizeof(client_reqs[0]); i++) {
		make_req(&q, client_reqs[i], 1);
		CHILD_CHECK(raw_call(fd, &q.env) == -EPERM);
	}
	/* Still connected, still answered. */
	make_req(&q, B(STATUS_REQ), 0);
	CHILD_CHECK(raw_call(fd, &q.env) == (admin ? 0 : -EPERM));
	close(fd);
	/* daxallocctl says the same: exit 1 refused, 0 served. */
	CHILD_CHECK(harness_ctl(&ah, args, out, sizeof(out), &st) == 0);
	CHILD_CHECK(st == (admin ? 0 : 1));
}

/*
 * test_control_requests -- with the control socket's file opened to all
 * (so the daemon's own check is the one tested), a process that is not
 * root, not the daemon's user and not in the admin group is refused each
 * control request type (every CtlList kind) with -EPERM and stays
 * connected; an admin-group member, by a supplementary or its primary
 * group, is served each one
 */
static void test_control_requests(void)
{
	struct daxalloc_extent *ext;
	struct daxalloc *dx;

	CU_ASSERT_EQUAL_FATAL(daxalloc_connect(ah.sock, &dx), 0);
	CU_ASSERT_EQUAL_FATAL(daxalloc_alloc(dx, "auth-shown", 1, 0, 0600,
					     DAXALLOC_NO_MAP, &ext), 0);
	shown_id = daxalloc_extent_id(ext);
	CU_ASSERT_EQUAL(daxalloc_close(ext), 0);
	CU_ASSERT_FATAL(chmod(ah.ctl, 0666) == 0);
	CU_ASSERT_EQUAL(run_child(control_child, 0), 0);
	CU_ASSERT_EQUAL(run_child(control_child, 1), 0);
	CU_ASSERT_EQUAL(run_child(control_child, 2), 0);
	CU_ASSERT(chmod(ah.ctl, 0600) == 0);
	CU_ASSERT_EQUAL(daxalloc_delete_name(dx, "auth-shown"), 0);
	daxalloc_disconnect(dx);
	CU_ASSERT(harness_alive(&ah));
	CU_ASSERT_EQUAL(harness_check(&ah), 0);
}

/* ---------------------------------------------------------------------- */
/* Extents between users                                                  */

static const unsigned int modes[] = { 0600, 0640, 0644, 0660, 0666 };
#define NMODES (sizeof(modes) / sizeof(modes[0]))

/* What the owner tells the parent, through a pipe. */
struct owner_report {
	uint64_t ids[NMODES]; /* x-0600 ... x-0666 */
	uint64_t pin;	      /* its pin on x-0666 */
	uint64_t brk[2];      /* its breaks: x-0666 and x-0660 deleted */
};

static struct owner_report owned;

/*
 * owner_child -- uid/gid 1001: make x-MODE for each mode, keep them open,
 * pin x-0666; on 'b' wait for the lease breaks of x-0666 and x-0660
 * (deleted by other users) and report them; on 'a' unpin, acknowledge
 * both and say 'D'; exit on 'q'
 */
static void owner_child(int cmd, int ans)
{
	const gid_t groups[] = { AUTH_GID };
	Daxalloc__Envelope *rep;
	struct owner_report r;
	char name[16], c;
	struct areq q;
	unsigned int i;
	int fd;

	memset(&r, 0, sizeof(r));
	become(OWNER_UID, OWNER_GID, groups, 1);
	fd = harness_connect(ah.sock, 5);
	CHILD_CHECK(fd >= 0 && raw_hello(fd) == 0);
	for (i = 0; i < NMODES; i++) {
		snprintf(name, sizeof(name), "x-%04o", modes[i]);
		make_req(&q, B(ALLOC), 0);
		q.u.alloc.name = name;
		q.u.alloc.mode = modes[i];
		rep = raw_call_fd(fd, &q.env, -1);
		CHILD_CHECK(rep && rep->status == 0 && rep->extent_reply);
		r.ids[i] = rep->extent_reply->extent->id;
		CHILD_CHECK(rep->extent_reply->extent->uid == OWNER_UID);
		envelope_free(rep);
	}
	make_req(&q, B(PIN), r.ids[NMODES - 1]);
	q.range.length = 4096;
	rep = raw_call_fd(fd, &q.env, -1);
	CHILD_CHECK(rep && rep->status == 0 && rep->pin_reply &&
		    rep->pin_reply->n_pin_ids == 1);
	r.pin = rep->pin_reply->pin_ids[0];
	envelope_free(rep);
	CHILD_CHECK(write(ans, &r, sizeof(r)) == sizeof(r));

	CHILD_CHECK(read(cmd, &c, 1) == 1 && c == 'b');
	while (!r.brk[0] || !r.brk[1]) {
		rep = raw_recv(fd, REPLY_MS);
		CHILD_CHECK(rep != NULL);
		if (rep->body_case == B(LEASE_BREAK)) {
			const Daxalloc__LeaseBreak *lb = rep->lease_break;

			CHILD_CHECK(lb->extent_id == r.ids[NMODES - 1] ||
				    lb->extent_id == r.ids[NMODES - 2]);
			CHILD_CHECK(lb->reason ==
				    DAXALLOC__LEASE_BREAK__REASON__DELETE);
			r.brk[lb->extent_id == r.ids[NMODES - 1] ? 0 : 1] =
				lb->break_id;
		}
		envelope_free(rep);
	}
	CHILD_CHECK(write(ans, &r, sizeof(r)) == sizeof(r));

	CHILD_CHECK(read(cmd, &c, 1) == 1 && c == 'a');
	make_req(&q, B(UNPIN), r.pin);
	CHILD_CHECK(raw_call(fd, &q.env) == 0);
	for (i = 0; i < 2; i++) {
		make_req(&q, B(LEASE_BREAK_ACK), r.brk[i]);
		CHILD_CHECK(raw_call(fd, &q.env) == 0);
	}
	CHILD_CHECK(write(ans, "D", 1) == 1);
	CHILD_CHECK(read(cmd, &c, 1) == 1 && c == 'q');
	close(fd);
	_exit(0);
}

/* may -- does a process of this kind get want (4 r, 2 w) under mode? */
static bool may(unsigned int mode, bool in_group, unsigned int want)
{
	unsigned int bits = in_group ? (mode >> 3) & 7 : mode & 7;

	return (bits & want) == want;
}

/* expect -- a request's status against the one wanted, said if not */
static bool expect(const char *what, unsigned int mode, int got, int want)
{
	if (got == want)
		return true;
	fprintf(stderr, "process %d: %s on x-%04o: %d, expected %d\n",
		(int)getpid(), what, mode, got, want);
	return false;
}

/*
 * other_child -- uid 65534, in the owner's group (in_group) or not, on
 * each of the owner's extents: stat, open read-only (then pin, unpin and
 * close through that lease), open read-write, pin without a lease,
 * truncate (to its size), close without a lease, unpin the owner's pin
 */
static void other_child(long in_group)
{
	const gid_t groups[] = { AUTH_GID, OWNER_GID };
	Daxalloc__Envelope *rep;
	unsigned int i, m;
	bool ok = true;
	struct areq q;
	uint64_t pin;
	int fd, st;

	become(NOBODY, NOBODY, groups, in_group ? 2 : 1);
	fd = harness_connect(ah.sock, 5);
	CHILD_CHECK(fd >= 0 && raw_hello(fd) == 0);
	for (i = 0; i < NMODES; i++) {
		uint64_t id = owned.ids[i];

		m = modes[i];
		make_req(&q, B(STAT), id);
		ok &= expect("stat", m, raw_call(fd, &q.env),
			     may(m, in_group, 4) ? 0 : -EACCES);
		/* A pin needs a lease of its own, whatever the mode. */
		make_req(&q, B(PIN), id);
		ok &= expect("pin without a lease", m, raw_call(fd, &q.env),
			     -EPERM);
		make_req(&q, B(OPEN), id);
		q.u.open.read_only = true;
		st = raw_call(fd, &q.env);
		ok &= expect("open read-only", m, st,
			     may(m, in_group, 4) ? 0 : -EACCES);
		if (st == 0) {
			/* Its read-only lease lets it pin (DMA from memory). */
			make_req(&q, B(PIN), id);
			rep = raw_call_fd(fd, &q.env, -1);
			CHILD_CHECK(rep && rep->status == 0 && rep->pin_reply);
			pin = rep->pin_reply->pin_ids[0];
			envelope_free(rep);
			make_req(&q, B(UNPIN), pin);
			ok &= expect("unpin its own pin", m,
				     raw_call(fd, &q.env), 0);
			make_req(&q, B(CLOSE), id);
			ok &= expect("close its lease", m, raw_call(fd, &q.env),
				     0);
		}
		make_req(&q, B(OPEN), id);
		st = raw_call(fd, &q.env);
		ok &= expect("open read-write", m, st,
			     may(m, in_group, 6) ? 0 : -EACCES);
		if (st == 0) {
			make_req(&q, B(CLOSE), id);
			ok &= expect("close", m, raw_call(fd, &q.env), 0);
		}
		make_req(&q, B(TRUNCATE), id);
		ok &= expect("truncate", m, raw_call(fd, &q.env),
			     may(m, in_group, 2) ? 0 : -EACCES);
		/* A Close without a lease is a no-op: the owner's stays. */
		make_req(&q, B(CLOSE), id);
		ok &= expect("close without a lease", m, raw_call(fd, &q.env),
			     0);
	}
	make_req(&q, B(UNPIN), owned.pin);
	ok &= expect("unpin the owner's pin", 0666, raw_call(fd, &q.env),
		     -EPERM);
	close(fd);
	CHILD_CHECK(ok);
}

/*
 * deleter_child -- uid 65534, in the owner's group or not: delete each of
 * the owner's extents; only the write bit that applies lets it
 */
static void deleter_child(long in_group)
{
	const gid_t groups[] = { AUTH_GID, OWNER_GID };
	unsigned int i;
	bool ok = true;
	struct areq q;
	int fd;

	become(NOBODY, NOBODY, groups, in_group ? 2 : 1);
	fd = harness_connect(ah.sock, 5);
	CHILD_CHECK(fd >= 0 && raw_hello(fd) == 0);
	for (i = 0; i < NMODES; i++) {
		int st;

		make_req(&q, B(DELETE), owned.ids[i]);
		st = raw_call(fd, &q.env);
		/* Deleted already by the other deleter: gone. */
		if (st == -ENOENT)
			continue;
		ok &= expect("delete", modes[i], st,
			     may(modes[i], in_group, 2) ? 0 : -EACCES);
	}
	close(fd);
	CHILD_CHECK(ok);
}

/* acker_child -- another process acknowledges the owner's break: no */
static void acker_child(long unused)
{
	const gid_t groups[] = { AUTH_GID, OWNER_GID };
	struct areq q;
	int fd;

	become(NOBODY, NOBODY, groups, 2);
	fd = harness_connect(ah.sock, 5);
	CHILD_CHECK(fd >= 0 && raw_hello(fd) == 0);
	make_req(&q, B(LEASE_BREAK_ACK), owned.brk[0]);
	CHILD_CHECK(raw_call(fd, &q.env) == -ENOENT);
	close(fd);
}

/* owner_lease_count -- leases (opens) the owner holds, from list leases */
static long long owner_leases(pid_t pid)
{
	static const char *const args[] = { "list", "leases", "--json", NULL };
	static char out[1 << 16];
	json_object *arr = harness_ctl_json(&ah, args, out, sizeof(out)), *x;
	long long n = 0;
	size_t i;

	for (i = 0; arr && i < json_object_array_length(arr); i++) {
		x = json_object_array_get_idx(arr, i);
		if (harness_json_u64(x, "pid") == (uint64_t)pid)
			n += (long long)harness_json_u64(x, "count");
	}
	json_object_put(arr);
	return arr ? n : -1;
}

/*
 * test_cross_uid -- uid 1001 owns x-0600, x-0640, x-0644, x-0660 and
 * x-0666 (holding a lease on each and a pin on x-0666); nobody, in its
 * group and not, tries everything on them.  Reads follow the read bit,
 * opens read-write, truncates and deletes the write bit that applies (the
 * group's for a member, the others' else); a pin needs a lease of the
 * pinner's own; another process's Close, Unpin or break acknowledgement
 * changes nothing of the owner's.  Deleting x-0666 under the owner's pin
 * quarantines it until the owner unpins and acknowledges.
 */
static void test_cross_uid(void)
{
	int cmd[2], ans[2], i;
	const char *left[] = { "x-0600", "x-0640", "x-0644" };
	struct daxalloc *dx;
	char c;
	pid_t pid;

	CU_ASSERT_FATAL(pipe2(cmd, O_CLOEXEC) == 0 &&
			pipe2(ans, O_CLOEXEC) == 0);
	fflush(NULL);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0)
		owner_child(cmd[0], ans[1]);
	CU_ASSERT_FATAL(read(ans[0], &owned, sizeof(owned)) == sizeof(owned));
	CU_ASSERT_EQUAL(owner_leases(pid), NMODES);

	CU_ASSERT_EQUAL(run_child(other_child, 0), 0);
	CU_ASSERT_EQUAL(run_child(other_child, 1), 0);
	/* Nothing the others did touched the owner's leases. */
	CU_ASSERT_EQUAL(owner_leases(pid), NMODES);
	CU_ASSERT_EQUAL(harness_check(&ah), 0);

	/* Outside the group, x-0666 only; in it, x-0660 (and x-0666). */
	CU_ASSERT_EQUAL(run_child(deleter_child, 0), 0);
	CU_ASSERT_EQUAL(run_child(deleter_child, 1), 0);
	CU_ASSERT_EQUAL(owner_leases(pid), NMODES - 2);
	CU_ASSERT(harness_status_u64(&ah, "quarantined_bytes") > 0);
	CU_ASSERT(write(cmd[1], "b", 1) == 1);
	CU_ASSERT_FATAL(read(ans[0], &owned, sizeof(owned)) == sizeof(owned));
	CU_ASSERT(owned.brk[0] != 0 && owned.brk[1] != 0);
	CU_ASSERT_EQUAL(run_child(acker_child, 0), 0);
	CU_ASSERT(harness_status_u64(&ah, "quarantined_bytes") > 0);
	CU_ASSERT(write(cmd[1], "a", 1) == 1);
	CU_ASSERT(read(ans[0], &c, 1) == 1 && c == 'D');
	CU_ASSERT_EQUAL(harness_status_u64(&ah, "quarantined_bytes"), 0);
	CU_ASSERT(write(cmd[1], "q", 1) == 1);
	CU_ASSERT_EQUAL(wait_exit(pid, 10000), 0);
	for (i = 0; i < 2; i++) {
		close(cmd[i]);
		close(ans[i]);
	}
	CU_ASSERT_EQUAL_FATAL(daxalloc_connect(ah.sock, &dx), 0);
	for (i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(daxalloc_delete_name(dx, left[i]), 0);
	daxalloc_disconnect(dx);
	CU_ASSERT_EQUAL(harness_check(&ah), 0);
}

/* ---------------------------------------------------------------------- */
/* Descriptors sent to the daemon                                         */

/*
 * fd_on_request -- on a fresh connection to path (after Hello, unless the
 * request is the Hello), request body with a pipe's read end attached:
 * status want, the connection closed unless stays, and the daemon's copy
 * closed (EPIPE on the pipe)
 */
static bool fd_on_request(const char *path, envelope_body_t body, int want,
			  bool stays)
{
	Daxalloc__Envelope *rep;
	int fd = harness_connect(path, 5), pfd[2];
	bool ok = true;
	struct areq q;

	if (fd < 0 || (body != B(HELLO) && raw_hello(fd) != 0) ||
	    pipe2(pfd, O_CLOEXEC) < 0)
		return false;
	make_req(&q, body, body == B(CTL_LIST) ? 0 : 1);
	rep = raw_call_fd(fd, &q.env, pfd[0]);
	close(pfd[0]);
	if (!rep || rep->status != want) {
		fprintf(stderr, "\n%s with a descriptor: %d (%s), expected %d\n",
			envelope_type_name(body), rep ? rep->status : RAW_NONE,
			rep ? rep->message : "no reply", want);
		ok = false;
	}
	envelope_free(rep);
	if (stays) {
		make_req(&q, B(STATUS_REQ), 0);
		ok &= raw_call(fd, &q.env) == -EPERM;
	} else {
		ok &= raw_eof(fd, REPLY_MS);
	}
	/* Nobody holds the read end any more. */
	ok &= write(pfd[1], "x", 1) < 0 && errno == EPIPE;
	close(pfd[1]);
	close(fd);
	return ok;
}

/* fd_nonadmin_child -- nobody: control requests with a descriptor */
static void fd_nonadmin_child(long unused)
{
	const gid_t groups[] = { AUTH_GID };
	unsigned int i;

	become(NOBODY, NOBODY, groups, 1);
	for (i = 0; i < sizeof(control_reqs) / sizeof(control_reqs[0]); i++)
		CHILD_CHECK(fd_on_request(ah.ctl, control_reqs[i], -EPERM,
					  true));
}

/*
 * test_fds_refused -- one descriptor on each request type of either
 * socket (Hello as the first message, the others after it): -EBADMSG
 * and a close, the descriptor closed; a control request
 * of a non-admin: -EPERM first (privilege comes before descriptors in
 * the checks), the connection stays, the descriptor is closed all the
 * same.  The daemon's descriptor count is what it was.
 */
static void test_fds_refused(void)
{
	int fds0 = harness_pid_fds(ah.pid), fds = -1;
	long long end;
	unsigned int i;

	CU_ASSERT_FATAL(fds0 > 0);
	for (i = 0; i < sizeof(client_reqs) / sizeof(client_reqs[0]); i++)
		CU_ASSERT(fd_on_request(ah.sock, client_reqs[i], -EBADMSG,
					false));
	CU_ASSERT(fd_on_request(ah.ctl, B(HELLO), -EBADMSG, false));
	for (i = 0; i < sizeof(control_reqs) / sizeof(control_reqs[0]); i++)
		CU_ASSERT(fd_on_request(ah.ctl, control_reqs[i], -EBADMSG,
					false));
	CU_ASSERT_FATAL(chmod(ah.ctl, 0666) == 0);
	CU_ASSERT_EQUAL(run_child(fd_nonadmin_child, 0), 0);
	CU_ASSERT(chmod(ah.ctl, 0600) == 0);
	end = harness_now_ms() + 5000;
	while ((fds = harness_pid_fds(ah.pid)) != fds0 &&
	       harness_now_ms() < end)
		sleep_ms(20);
	fprintf(stderr, "(daemon fds %d -> %d) ", fds0, fds);
	CU_ASSERT_EQUAL(fds, fds0);
	CU_ASSERT(harness_alive(&ah));
	CU_ASSERT_EQUAL(harness_check(&ah), 0);
}

static const struct harness_test auth_tests[] = {
	{ "client socket group (0660 as installed)", test_socket_group },
	{ "control requests: non-admin refused, admin served",
	  test_control_requests },
	{ "extents between users: modes, pins, leases, breaks", test_cross_uid },
	{ "descriptors refused on every request", test_fds_refused },
	{ NULL, NULL },
};

int main(void)
{
	static const struct harness_suite suites[] = {
		{ "auth", suite_init, suite_fini, auth_tests },
		{ NULL, NULL, NULL, NULL },
	};

	return harness_main(suites);
}
