// SPDX-License-Identifier: Apache-2.0
/*
 * test_request.c -- unit tests of the client-socket request handlers
 *
 * The real server and a real 64 MiB file pool, in-process (fixture.c).
 * Every error path of Alloc, Open, Close, Truncate, Delete, Stat and List
 * is driven through the socket, and what succeeds is checked down to the
 * descriptor that comes back and a mapping through it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "device.h"
#include "fixture.h"
#include "log.h"
#include "pool.h"
#include "proc.h"
#include "space.h"
#include "unit.h"
#include "wire.h"

#define MIB (1ULL << 20)

static struct pool *pool;

/* rq_setup -- a fresh pool file and a server on it */
static void rq_setup(void)
{
	struct device_config dc = { .path = fx.pool, .size = 64 * MIB };

	fx.npeers = 0;
	fx.fds_before = unit_count_fds();
	unlink(fx.pool);
	if (pool_open(&dc, POOL_FORMAT_IF_NEW, &pool) < 0) {
		pool = NULL;
		return;
	}
	if (fx_start(10, pool) < 0)
		fprintf(stderr, "test_request: cannot start the server\n");
}

/* rq_teardown -- stop the server, close the pool, check for leaks */
static void rq_teardown(void)
{
	fx_stop();
	pool_close(pool, true);
	pool = NULL;
	CU_ASSERT_EQUAL(unit_count_fds(), fx.fds_before);
}

/* call -- send one request envelope and return its reply (and fd) */
static Daxalloc__Envelope *call(int fd, Daxalloc__Envelope *env, int *rfd)
{
	static uint64_t id = 100;
	int dummy;

	env->version = 1;
	env->id = ++id;
	if (envelope_send(fd, env, NULL, 0) < 0)
		return NULL;
	return peer_reply_fd(fd, rfd ? rfd : &dummy);
}

/* alloc -- Alloc{size, align, name, mode}: status, and the reply if asked */
static int alloc(int fd, uint64_t size, uint64_t align, const char *name,
		 uint32_t mode, uint64_t *id, int *rfd, char *msg)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT, *r;
	Daxalloc__AllocRequest a = DAXALLOC__ALLOC_REQUEST__INIT;
	int status, got = -1;

	a.size = size;
	a.align = align;
	a.name = (char *)name;
	a.mode = mode;
	env.body_case = B(ALLOC);
	env.alloc = &a;
	r = call(fd, &env, &got);
	if (!r)
		return -EIO;
	status = r->status;
	if (msg)
		snprintf(msg, 256, "%s", r->message);
	if (status == 0 && id)
		*id = r->extent_reply->extent->id;
	if (rfd)
		*rfd = got;
	else if (got >= 0)
		close(got);
	envelope_free(r);
	return status;
}

/* keyed -- a request with a oneof {extent_id, name} key; its status */
static int keyed(int fd, envelope_body_t body, uint64_t id, const char *name,
		 uint64_t size, bool ro, int *rfd, uint64_t *len)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT, *r;
	Daxalloc__OpenRequest o = DAXALLOC__OPEN_REQUEST__INIT;
	Daxalloc__DeleteRequest d = DAXALLOC__DELETE_REQUEST__INIT;
	Daxalloc__StatRequest s = DAXALLOC__STAT_REQUEST__INIT;
	Daxalloc__TruncateRequest t = DAXALLOC__TRUNCATE_REQUEST__INIT;
	Daxalloc__CloseRequest c = DAXALLOC__CLOSE_REQUEST__INIT;
	int status, got = -1;

	env.body_case = body;
	switch (body) {
	case B(OPEN):
		o.key_case = name ? DAXALLOC__OPEN_REQUEST__KEY_NAME :
			     id ? DAXALLOC__OPEN_REQUEST__KEY_EXTENT_ID :
				  DAXALLOC__OPEN_REQUEST__KEY__NOT_SET;
		o.extent_id = id;
		if (name)
			o.name = (char *)name;
		o.read_only = ro;
		env.open = &o;
		break;
	case B(DELETE):
		d.key_case = name ? DAXALLOC__DELETE_REQUEST__KEY_NAME :
			     id ? DAXALLOC__DELETE_REQUEST__KEY_EXTENT_ID :
				  DAXALLOC__DELETE_REQUEST__KEY__NOT_SET;
		d.extent_id = id;
		if (name)
			d.name = (char *)name;
		env.delete_ = &d;
		break;
	case B(STAT):
		s.key_case = name ? DAXALLOC__STAT_REQUEST__KEY_NAME :
			     id ? DAXALLOC__STAT_REQUEST__KEY_EXTENT_ID :
				  DAXALLOC__STAT_REQUEST__KEY__NOT_SET;
		s.extent_id = id;
		if (name)
			s.name = (char *)name;
		env.stat = &s;
		break;
	case B(TRUNCATE):
		t.extent_id = id;
		t.size = size;
		env.truncate = &t;
		break;
	default:
		c.extent_id = id;
		env.body_case = B(CLOSE);
		env.close = &c;
		break;
	}
	r = call(fd, &env, &got);
	if (!r)
		return -EIO;
	status = r->status;
	if (status == 0 && len && r->body_case == B(EXTENT_REPLY))
		*len = r->extent_reply->extent->length;
	if (rfd)
		*rfd = got;
	else if (got >= 0)
		close(got);
	envelope_free(r);
	return status;
}

/* client -- a client connection for uid (the peer's credentials faked) */
static int client(uid_t uid, gid_t gid)
{
	int fd = peer_hello(CONN_CLIENT, 1);
	struct conn *c;

	if (fd < 0)
		return -1;
	/* White box: the newest connection is ours; pretend another user. */
	c = TAILQ_LAST(&fx.srv.conns, conn_tailq);
	if (c) {
		c->uid = uid;
		c->gid = gid;
		c->ngroups = 0;
	}
	return fd;
}

static void test_alloc_errors(void)
{
	int fd = client(0, 0);
	char msg[256];

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(alloc(fd, 0, 0, "", 0, NULL, NULL, NULL), -EINVAL);
	CU_ASSERT_EQUAL(alloc(fd, 1, 3 * MIB, "", 0, NULL, NULL, NULL), -EINVAL);
	CU_ASSERT_EQUAL(alloc(fd, 1, 1ULL << 63, "", 0, NULL, NULL, NULL), -EINVAL);
	CU_ASSERT_EQUAL(alloc(fd, 1024 * MIB, 0, "", 0, NULL, NULL, msg), -ENOSPC);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "largest free run"));
	/* Sizes that overflow when rounded to the unit. */
	CU_ASSERT_EQUAL(alloc(fd, UINT64_MAX, 0, "", 0, NULL, NULL, NULL), -ENOSPC);
	CU_ASSERT_EQUAL(alloc(fd, UINT64_MAX - MIB, 0, "", 0, NULL, NULL, NULL), -ENOSPC);
	CU_ASSERT_EQUAL(alloc(fd, MIB, 0, "bad\x01name", 0, NULL, NULL, NULL), -EINVAL);
	CU_ASSERT_EQUAL(alloc(fd, MIB, 0, "bad\x7fname", 0, NULL, NULL, NULL), -EINVAL);
	{
		char longname[200];

		memset(longname, 'n', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = '\0';
		CU_ASSERT_EQUAL(alloc(fd, MIB, 0, longname, 0, NULL, NULL, NULL),
				-ENAMETOOLONG);
	}
	CU_ASSERT_EQUAL(alloc(fd, MIB, 0, "twice", 0, NULL, NULL, NULL), 0);
	CU_ASSERT_EQUAL(alloc(fd, MIB, 0, "twice", 0, NULL, NULL, msg), -EEXIST);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "twice"));
	/* Nothing above leaked space: a check of the pool finds nothing. */
	CU_ASSERT_EQUAL(pool_check(pool, NULL, NULL), 0);
	CU_ASSERT_EQUAL(pool->index.count, 1);
}

static void test_alloc_fd(void)
{
	int fd = client(0, 0), dev = -1, flags;
	uint64_t id = 0;
	void *m;

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(alloc(fd, 3 * MIB, 0, "mapped", 0644, &id, &dev, NULL), 0);
	CU_ASSERT_FATAL(dev >= 0);
	flags = fcntl(dev, F_GETFL);
	CU_ASSERT_EQUAL(flags & O_ACCMODE, O_RDWR);
	CU_ASSERT(fcntl(dev, F_GETFD) & FD_CLOEXEC);
	/* The extent is 4 MiB (2 MiB units); map it and write a pattern. */
	m = mmap(NULL, 4 * MIB, PROT_READ | PROT_WRITE, MAP_SHARED, dev,
		 (off_t)pool_find(pool, id)->rec.offset);
	CU_ASSERT_FATAL(m != MAP_FAILED);
	memset(m, 0xa5, 4 * MIB);
	munmap(m, 4 * MIB);
	close(dev);

	/* Read-only open: an O_RDONLY descriptor, and the bytes are there. */
	CU_ASSERT_EQUAL(keyed(fd, B(OPEN), 0, "mapped", 0, true, &dev, NULL), 0);
	CU_ASSERT_FATAL(dev >= 0);
	CU_ASSERT_EQUAL(fcntl(dev, F_GETFL) & O_ACCMODE, O_RDONLY);
	m = mmap(NULL, 4 * MIB, PROT_READ, MAP_SHARED, dev,
		 (off_t)pool_find(pool, id)->rec.offset);
	CU_ASSERT_FATAL(m != MAP_FAILED);
	CU_ASSERT_EQUAL(((unsigned char *)m)[4 * MIB - 1], 0xa5);
	munmap(m, 4 * MIB);
	close(dev);
	CU_ASSERT_EQUAL(keyed(fd, B(CLOSE), id, NULL, 0, false, NULL, NULL), 0);
}

static void test_lookup_errors(void)
{
	int fd = client(0, 0);
	uint64_t id;

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(alloc(fd, MIB, 0, "here", 0, &id, NULL, NULL), 0);
	/* No key at all. */
	CU_ASSERT_EQUAL(keyed(fd, B(OPEN), 0, NULL, 0, false, NULL, NULL), -EINVAL);
	CU_ASSERT_EQUAL(keyed(fd, B(DELETE), 0, NULL, 0, false, NULL, NULL), -EINVAL);
	CU_ASSERT_EQUAL(keyed(fd, B(STAT), 0, NULL, 0, false, NULL, NULL), -EINVAL);
	/* Unknown ids and names. */
	CU_ASSERT_EQUAL(keyed(fd, B(OPEN), 999, NULL, 0, false, NULL, NULL), -ENOENT);
	CU_ASSERT_EQUAL(keyed(fd, B(OPEN), 0, "nowhere", 0, false, NULL, NULL), -ENOENT);
	CU_ASSERT_EQUAL(keyed(fd, B(STAT), UINT64_MAX, NULL, 0, false, NULL, NULL), -ENOENT);
	CU_ASSERT_EQUAL(keyed(fd, B(DELETE), 0, "nowhere", 0, false, NULL, NULL), -ENOENT);
	CU_ASSERT_EQUAL(keyed(fd, B(TRUNCATE), 999, NULL, MIB, false, NULL, NULL), -ENOENT);
	CU_ASSERT_EQUAL(keyed(fd, B(CLOSE), 999, NULL, 0, false, NULL, NULL), -ENOENT);
	/* Stat gives the facts without a descriptor. */
	{
		int dev = 0;
		uint64_t len = 0;

		CU_ASSERT_EQUAL(keyed(fd, B(STAT), id, NULL, 0, false, &dev, &len), 0);
		CU_ASSERT_EQUAL(dev, -1);
		CU_ASSERT_EQUAL(len, 2 * MIB);
	}
	/* Delete by name, then it is gone by id too. */
	CU_ASSERT_EQUAL(keyed(fd, B(DELETE), 0, "here", 0, false, NULL, NULL), 0);
	CU_ASSERT_EQUAL(keyed(fd, B(STAT), id, NULL, 0, false, NULL, NULL), -ENOENT);
}

static void test_truncate(void)
{
	int fd = client(0, 0), dev;
	uint64_t a, b, len = 0;

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(alloc(fd, 2 * MIB, 0, "a", 0, &a, NULL, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(alloc(fd, 2 * MIB, 0, "b", 0, &b, NULL, NULL), 0);
	CU_ASSERT_EQUAL(keyed(fd, B(TRUNCATE), a, NULL, 0, false, NULL, NULL), -EINVAL);
	CU_ASSERT_EQUAL(keyed(fd, B(TRUNCATE), a, NULL, UINT64_MAX, false, NULL, NULL),
			-ENOSPC);
	/* a is followed by b: it cannot grow in place. */
	CU_ASSERT_EQUAL(keyed(fd, B(TRUNCATE), a, NULL, 4 * MIB, false, NULL, NULL),
			-ENOSPC);
	/* b can grow into free space; the reply brings the fd to map it. */
	CU_ASSERT_EQUAL(keyed(fd, B(TRUNCATE), b, NULL, 6 * MIB, false, &dev, &len), 0);
	CU_ASSERT(dev >= 0);
	CU_ASSERT_EQUAL(len, 6 * MIB);
	if (dev >= 0)
		close(dev);
	/* Shrinking needs no fd. */
	CU_ASSERT_EQUAL(keyed(fd, B(TRUNCATE), b, NULL, 1, false, &dev, &len), 0);
	CU_ASSERT_EQUAL(dev, -1);
	CU_ASSERT_EQUAL(len, 2 * MIB);
	CU_ASSERT_EQUAL(pool_check(pool, NULL, NULL), 0);
}

static void test_permissions(void)
{
	int root = client(0, 0), other = client(1000, 1000), dev;
	uint64_t priv, pub, grp;

	CU_ASSERT_FATAL(root >= 0 && other >= 0);
	CU_ASSERT_EQUAL_FATAL(alloc(root, MIB, 0, "private", 0600, &priv, NULL, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(alloc(root, MIB, 0, "public", 0644, &pub, NULL, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(alloc(root, MIB, 0, "group", 0660, &grp, NULL, NULL), 0);
	CU_ASSERT_EQUAL(keyed(other, B(OPEN), 0, "private", 0, true, NULL, NULL), -EACCES);
	CU_ASSERT_EQUAL(keyed(other, B(STAT), priv, NULL, 0, false, NULL, NULL), -EACCES);
	CU_ASSERT_EQUAL(keyed(other, B(OPEN), 0, "public", 0, false, NULL, NULL), -EACCES);
	CU_ASSERT_EQUAL(keyed(other, B(OPEN), 0, "public", 0, true, &dev, NULL), 0);
	CU_ASSERT(dev >= 0 && (fcntl(dev, F_GETFL) & O_ACCMODE) == O_RDONLY);
	if (dev >= 0)
		close(dev);
	CU_ASSERT_EQUAL(keyed(other, B(TRUNCATE), pub, NULL, 4 * MIB, false, NULL, NULL),
			-EACCES);
	CU_ASSERT_EQUAL(keyed(other, B(DELETE), pub, NULL, 0, false, NULL, NULL), -EACCES);
	/* Group bits: uid 1000 is not in group 0. */
	CU_ASSERT_EQUAL(keyed(other, B(OPEN), grp, NULL, 0, true, NULL, NULL), -EACCES);
	/* Its own extents are its to delete. */
	{
		uint64_t mine;

		CU_ASSERT_EQUAL(alloc(other, MIB, 0, "mine", 0600, &mine, NULL, NULL), 0);
		CU_ASSERT_EQUAL(pool_find(pool, mine)->rec.uid, 1000);
		CU_ASSERT_EQUAL(keyed(other, B(DELETE), mine, NULL, 0, false, NULL, NULL), 0);
	}
	/* Root may do anything. */
	CU_ASSERT_EQUAL(keyed(root, B(DELETE), priv, NULL, 0, false, NULL, NULL), 0);
}

/* list_ids -- List{openable} from fd: how many extents, over all pages */
static int list_count(int fd, bool openable)
{
	Daxalloc__Envelope env = DAXALLOC__ENVELOPE__INIT, *r;
	Daxalloc__ListRequest l = DAXALLOC__LIST_REQUEST__INIT;
	int n = 0;

	l.openable = openable;
	do {
		env.body_case = B(LIST);
		env.list = &l;
		r = call(fd, &env, NULL);
		if (!r || r->status || r->body_case != B(LIST_REPLY)) {
			envelope_free(r);
			return -1;
		}
		n += (int)r->list_reply->n_extents;
		l.cursor = r->list_reply->next_cursor;
		envelope_free(r);
	} while (l.cursor);
	return n;
}

static void test_list(void)
{
	int root = client(0, 0), other = client(1000, 1000);
	int i;

	CU_ASSERT_FATAL(root >= 0 && other >= 0);
	for (i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(alloc(root, 1, 0, "", i < 2 ? 0644 : 0600, NULL,
				      NULL, NULL), 0);
	CU_ASSERT_EQUAL(alloc(other, 1, 0, "", 0600, NULL, NULL, NULL), 0);
	CU_ASSERT_EQUAL(list_count(root, false), 5);
	CU_ASSERT_EQUAL(list_count(root, true), 6); /* root may open all */
	CU_ASSERT_EQUAL(list_count(other, false), 1);
	CU_ASSERT_EQUAL(list_count(other, true), 3); /* its own + two 0644 */
}

/* count_finding -- a check finding callback that only counts */
static void count_finding(void *arg, const char *finding)
{
	(*(int *)arg)++;
}

static void test_anonymous_owner(void)
{
	int fd = client(0, 0), findings = 0;
	uint64_t id;
	struct extent *e;

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(alloc(fd, MIB, 0, "", 0, &id, NULL, NULL), 0);
	e = pool_find(pool, id);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	/* Owned by this very process, which the daemon watches. */
	CU_ASSERT(e->rec.flags & FMT_EXTENT_ANONYMOUS);
	CU_ASSERT_EQUAL(e->rec.owner_pid, (uint32_t)getpid());
	CU_ASSERT_PTR_NOT_NULL(e->owner);
	CU_ASSERT_EQUAL(space_check(&fx.srv, count_finding, &findings), 0);
	/* An owner the daemon lost track of is a finding of the check. */
	proc_disown(e);
	CU_ASSERT_EQUAL(space_check(&fx.srv, count_finding, &findings), 1);
	CU_ASSERT_EQUAL(findings, 1);
	proc_adopt(TAILQ_FIRST(&fx.srv.procs), e);
	/* Deleting it takes it off its owner's list. */
	CU_ASSERT_EQUAL(keyed(fd, B(DELETE), id, NULL, 0, false, NULL, NULL), 0);
	CU_ASSERT_EQUAL(TAILQ_FIRST(&fx.srv.procs)->nanon, 0);
}

static const struct unit_test tests[] = {
	{ "Alloc errors", test_alloc_errors },
	{ "Alloc and Open pass a working fd", test_alloc_fd },
	{ "lookup errors, Stat, Delete by name", test_lookup_errors },
	{ "Truncate", test_truncate },
	{ "permissions", test_permissions },
	{ "List own and openable", test_list },
	{ "anonymous extents have an owner", test_anonymous_owner },
	{ NULL, NULL },
};

int main(void)
{
	log_init(getenv("REQUEST_TEST_DEBUG") ? LOG_DEBUG : LOG_CRIT);
	return unit_main("request", fx_init, fx_cleanup, rq_setup, rq_teardown,
			 tests);
}
