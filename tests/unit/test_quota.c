// SPDX-License-Identifier: Apache-2.0
/*
 * test_quota.c -- usage per uid and gid against limits
 *
 * Configurations are built by hand (config.c has its own tests), usage is
 * checked against a plain model, and the linker's --wrap=calloc lets a
 * test fail the quota's allocations to prove that a failed charge changes
 * nothing.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "config.h"
#include "log.h"
#include "quota.h"
#include "unit.h"

#define GiB (1ULL << 30)
#define TiB (1ULL << 40)

void *__real_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size);

static unsigned int calloc_fail_in; /* fail the Nth calloc from now; 0: off */

/* __wrap_calloc -- calloc, unless a test asked for a failure */
void *__wrap_calloc(size_t n, size_t size)
{
	if (calloc_fail_in && --calloc_fail_in == 0)
		return NULL;
	return __real_calloc(n, size);
}

/* test_init -- errors only: the clamping tests warn on purpose */
static int test_init(void)
{
	log_init(LOG_ERR);
	return 0;
}

/* usage -- bytes and extents in use by one id */
static void usage(const struct quota *q, enum quota_kind kind, uint32_t id,
		  uint64_t *bytes, uint64_t *extents)
{
	struct quota_usage u;

	quota_get(q, kind, id, &u);
	*bytes = u.bytes;
	*extents = u.extents;
}

/* uses -- does id use exactly bytes and extents? */
static bool uses(const struct quota *q, enum quota_kind kind, uint32_t id,
		 uint64_t bytes, uint64_t extents)
{
	uint64_t b, e;

	usage(q, kind, id, &b, &e);
	return b == bytes && e == extents;
}

/* test_arithmetic -- check, charge, release, and the messages */
static void test_arithmetic(void)
{
	static struct config_quota_entry uids[] = {
		{ .id = 1000, .q = { .bytes = 64 * GiB, .extents = 3 } },
	};
	struct config c;
	struct quota *q;
	char why[128];

	config_defaults(&c);
	c.uids = uids;
	c.nuids = 1;
	CU_ASSERT_EQUAL_FATAL(quota_new(&c, &q), 0);

	CU_ASSERT_EQUAL(
		quota_check(q, 1000, 100, 64 * GiB, 1, why, sizeof(why)), 0);
	CU_ASSERT_STRING_EQUAL(why, "");
	CU_ASSERT_EQUAL(
		quota_check(q, 1000, 100, 64 * GiB + 1, 1, why, sizeof(why)),
		-EDQUOT);
	CU_ASSERT_EQUAL(quota_charge(q, 1000, 100, 60 * GiB, 1), 0);
	CU_ASSERT(uses(q, QUOTA_UID, 1000, 60 * GiB, 1));
	CU_ASSERT(uses(q, QUOTA_GID, 100, 60 * GiB, 1));

	CU_ASSERT_EQUAL(quota_check(q, 1000, 100, 4 * GiB, 1, why, sizeof(why)),
			0);
	CU_ASSERT_EQUAL(quota_check(q, 1000, 100, 5 * GiB, 1, why, sizeof(why)),
			-EDQUOT);
	CU_ASSERT_STRING_EQUAL(why,
			       "uid 1000 would use 65 GiB of its 64 GiB quota");
	/* Not a whole GiB: the largest exact unit. */
	CU_ASSERT_EQUAL(quota_check(q, 1000, 100, 4 * GiB + (2 << 20), 0, why,
				    sizeof(why)),
			-EDQUOT);
	CU_ASSERT_STRING_EQUAL(
		why, "uid 1000 would use 65538 MiB of its 64 GiB quota");

	CU_ASSERT_EQUAL(quota_charge(q, 1000, 100, 2 * GiB, 2), 0);
	CU_ASSERT(uses(q, QUOTA_UID, 1000, 62 * GiB, 3));
	CU_ASSERT_EQUAL(quota_check(q, 1000, 100, GiB, 1, why, sizeof(why)),
			-EDQUOT);
	CU_ASSERT_STRING_EQUAL(why,
			       "uid 1000 would have 4 extents, its quota is 3");
	/* Growing in place adds no extent: still allowed. */
	CU_ASSERT_EQUAL(quota_check(q, 1000, 100, GiB, 0, why, sizeof(why)), 0);

	/* Release, in parts, to zero: the id leaves the table. */
	CU_ASSERT_EQUAL(quota_charge(q, 1000, 100, -2 * (int64_t)GiB, -1), 0);
	CU_ASSERT(uses(q, QUOTA_UID, 1000, 60 * GiB, 2));
	CU_ASSERT_EQUAL(quota_check(q, 1000, 100, GiB, 1, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(quota_charge(q, 1000, 100, -60 * (int64_t)GiB, -2), 0);
	CU_ASSERT(uses(q, QUOTA_UID, 1000, 0, 0));
	CU_ASSERT(uses(q, QUOTA_GID, 100, 0, 0));

	/* why may be NULL. */
	CU_ASSERT_EQUAL(quota_check(q, 1000, 100, 65 * GiB, 1, NULL, 0),
			-EDQUOT);
	quota_free(q);
	quota_free(NULL);
}

/* test_defaults -- default_uid for uids without a section, root included */
static void test_defaults(void)
{
	static struct config_quota_entry uids[] = {
		{ .id = 0, .q = { 0, 0 } }, /* root set apart: unlimited */
		{ .id = 7, .q = { .bytes = 10 * GiB, .extents = 0 } },
	};
	struct config c;
	struct quota_usage u;
	struct quota *q;
	char why[128];

	config_defaults(&c);
	c.default_uid = (struct config_quota){ .bytes = GiB, .extents = 2 };
	CU_ASSERT_EQUAL_FATAL(quota_new(&c, &q), 0);

	/* Root has no exemption of its own. */
	CU_ASSERT_EQUAL(quota_check(q, 0, 0, 2 * GiB, 1, why, sizeof(why)),
			-EDQUOT);
	CU_ASSERT_STRING_EQUAL(why, "uid 0 would use 2 GiB of its 1 GiB quota");
	CU_ASSERT_EQUAL(quota_check(q, 5, 5, GiB, 3, why, sizeof(why)),
			-EDQUOT);
	CU_ASSERT_STRING_EQUAL(why,
			       "uid 5 would have 3 extents, its quota is 2");
	quota_get(q, QUOTA_UID, 5, &u);
	CU_ASSERT_EQUAL(u.limit.bytes, GiB);
	CU_ASSERT_EQUAL(u.limit.extents, 2);

	/* Unless configured: a section of its own with 0 is unlimited. */
	c.uids = uids;
	c.nuids = 2;
	CU_ASSERT_EQUAL(quota_check(q, 0, 0, 100 * TiB, 1000, why, sizeof(why)),
			0);
	/* An own section replaces the default entirely. */
	CU_ASSERT_EQUAL(quota_check(q, 7, 7, 10 * GiB, 1000, why, sizeof(why)),
			0);
	CU_ASSERT_EQUAL(quota_check(q, 7, 7, 11 * GiB, 1, why, sizeof(why)),
			-EDQUOT);
	quota_free(q);
}

/* test_gid -- group limits, shared by the uids of the group */
static void test_gid(void)
{
	static struct config_quota_entry gids[] = {
		{ .id = 100, .q = { .bytes = 10 * GiB, .extents = 0 } },
		{ .id = 200, .q = { .bytes = 0, .extents = 1 } },
	};
	struct config c;
	struct quota_usage u;
	struct quota *q;
	char why[128];

	config_defaults(&c);
	c.gids = gids;
	c.ngids = 2;
	CU_ASSERT_EQUAL_FATAL(quota_new(&c, &q), 0);

	CU_ASSERT_EQUAL(quota_charge(q, 1, 100, 6 * GiB, 1), 0);
	CU_ASSERT_EQUAL(quota_charge(q, 2, 100, 2 * GiB, 1), 0);
	CU_ASSERT(uses(q, QUOTA_GID, 100, 8 * GiB, 2));
	CU_ASSERT(uses(q, QUOTA_UID, 1, 6 * GiB, 1));
	CU_ASSERT_EQUAL(quota_check(q, 3, 100, 3 * GiB, 1, why, sizeof(why)),
			-EDQUOT);
	CU_ASSERT_STRING_EQUAL(why,
			       "gid 100 would use 11 GiB of its 10 GiB quota");
	CU_ASSERT_EQUAL(quota_check(q, 3, 100, 2 * GiB, 1, why, sizeof(why)),
			0);
	/* A gid without a section has no limit. */
	CU_ASSERT_EQUAL(
		quota_check(q, 3, 300, 100 * TiB, 1000, why, sizeof(why)), 0);
	quota_get(q, QUOTA_GID, 300, &u);
	CU_ASSERT_EQUAL(u.limit.bytes, 0);
	CU_ASSERT_EQUAL(u.limit.extents, 0);

	CU_ASSERT_EQUAL(quota_charge(q, 1, 200, GiB, 1), 0);
	CU_ASSERT_EQUAL(quota_check(q, 2, 200, GiB, 1, why, sizeof(why)),
			-EDQUOT);
	CU_ASSERT_STRING_EQUAL(why,
			       "gid 200 would have 2 extents, its quota is 1");
	/* uid 1 now counts both of its extents, in two groups. */
	CU_ASSERT(uses(q, QUOTA_UID, 1, 7 * GiB, 2));
	quota_free(q);
}

/* test_overflow -- huge values saturate and never wrap */
static void test_overflow(void)
{
	static struct config_quota_entry uids[] = {
		{ .id = 1,
		  .q = { .bytes = UINT64_MAX - 1, .extents = UINT64_MAX } },
	};
	struct config c;
	struct quota *q;
	char why[128];

	config_defaults(&c);
	c.uids = uids;
	c.nuids = 1;
	CU_ASSERT_EQUAL_FATAL(quota_new(&c, &q), 0);

	/* Unlimited ids saturate at UINT64_MAX. */
	CU_ASSERT_EQUAL(quota_charge(q, 2, 2, INT64_MAX, INT64_MAX), 0);
	CU_ASSERT_EQUAL(quota_charge(q, 2, 2, INT64_MAX, INT64_MAX), 0);
	CU_ASSERT_EQUAL(quota_charge(q, 2, 2, INT64_MAX, INT64_MAX), 0);
	CU_ASSERT(uses(q, QUOTA_UID, 2, UINT64_MAX, UINT64_MAX));
	CU_ASSERT_EQUAL(
		quota_check(q, 2, 2, UINT64_MAX, UINT64_MAX, why, sizeof(why)),
		0);
	/* INT64_MIN releases 2^63, also from a saturated counter... */
	CU_ASSERT_EQUAL(quota_charge(q, 2, 2, INT64_MIN, INT64_MIN), 0);
	CU_ASSERT(uses(q, QUOTA_UID, 2, UINT64_MAX - (1ULL << 63),
		       UINT64_MAX - (1ULL << 63)));
	/* ... and releasing more than is used stops at 0. */
	CU_ASSERT_EQUAL(quota_charge(q, 2, 2, INT64_MIN, INT64_MIN), 0);
	CU_ASSERT(uses(q, QUOTA_UID, 2, 0, 0));
	CU_ASSERT(uses(q, QUOTA_GID, 2, 0, 0));
	/* Releasing from an id that uses nothing creates nothing. */
	CU_ASSERT_EQUAL(quota_charge(q, 9, 9, -1, -1), 0);
	CU_ASSERT(uses(q, QUOTA_UID, 9, 0, 0));

	/* A limit just below the top: sums that would wrap are refused. */
	CU_ASSERT_EQUAL(quota_check(q, 1, 1, UINT64_MAX, 1, why, sizeof(why)),
			-EDQUOT);
	CU_ASSERT_EQUAL(
		quota_check(q, 1, 1, UINT64_MAX - 1, 1, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(quota_charge(q, 1, 1, INT64_MAX, 1), 0);
	CU_ASSERT_EQUAL(quota_check(q, 1, 1, UINT64_MAX, 1, why, sizeof(why)),
			-EDQUOT);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "would use 18446744073709551615 B"));
	CU_ASSERT_EQUAL(
		quota_check(q, 1, 1, (uint64_t)INT64_MAX, 1, why, sizeof(why)),
		0);
	CU_ASSERT_EQUAL(quota_check(q, 1, 1, (uint64_t)INT64_MAX + 1, 1, why,
				    sizeof(why)),
			-EDQUOT);
	/* An unlimited extent count never refuses, even near the top. */
	CU_ASSERT_EQUAL(
		quota_check(q, 1, 1, 0, UINT64_MAX - 1, why, sizeof(why)), 0);
	quota_free(q);
}

/* test_reload -- new limits apply at once; usage stays */
static void test_reload(void)
{
	static struct config_quota_entry uids1[] = {
		{ .id = 1000, .q = { .bytes = 10 * GiB, .extents = 0 } },
	};
	static struct config_quota_entry uids2[] = {
		{ .id = 1000, .q = { .bytes = 5 * GiB, .extents = 0 } },
	};
	struct config c1, c2, c3;
	struct quota_usage u;
	struct quota *q;
	char why[128];

	config_defaults(&c1);
	c1.uids = uids1;
	c1.nuids = 1;
	config_defaults(&c2);
	c2.uids = uids2;
	c2.nuids = 1;
	config_defaults(&c3);
	CU_ASSERT_EQUAL_FATAL(quota_new(&c1, &q), 0);
	CU_ASSERT_EQUAL(quota_charge(q, 1000, 10, 8 * GiB, 4), 0);

	quota_set_config(q, &c2);
	quota_get(q, QUOTA_UID, 1000, &u);
	CU_ASSERT_EQUAL(u.bytes, 8 * GiB);
	CU_ASSERT_EQUAL(u.extents, 4);
	CU_ASSERT_EQUAL(u.limit.bytes, 5 * GiB);
	/* Above the lowered limit: no growth, but what adds no bytes is fine. */
	CU_ASSERT_EQUAL(quota_check(q, 1000, 10, 1, 0, why, sizeof(why)),
			-EDQUOT);
	CU_ASSERT_STRING_EQUAL(
		why, "uid 1000 would use 8589934593 B of its 5 GiB quota");
	CU_ASSERT_EQUAL(quota_check(q, 1000, 10, 0, 0, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(quota_charge(q, 1000, 10, -4 * (int64_t)GiB, -2), 0);
	CU_ASSERT_EQUAL(quota_check(q, 1000, 10, GiB, 1, why, sizeof(why)), 0);

	quota_set_config(q, &c3); /* no quotas at all */
	CU_ASSERT_EQUAL(
		quota_check(q, 1000, 10, 100 * TiB, 1, why, sizeof(why)), 0);
	CU_ASSERT(uses(q, QUOTA_UID, 1000, 4 * GiB, 2));
	quota_free(q);
}

/* test_list -- ids in use and ids with sections, sorted, with limits */
static void test_list(void)
{
	static struct config_quota_entry uids[] = {
		{ .id = 5, .q = { .bytes = GiB } },
		{ .id = 50, .q = { .bytes = 2 * GiB } },
	};
	static struct config_quota_entry gids[] = {
		{ .id = 9, .q = { .extents = 4 } },
	};
	struct quota_usage *u;
	struct config c;
	struct quota *q;
	size_t n;

	config_defaults(&c);
	c.default_uid.bytes = 3 * GiB;
	CU_ASSERT_EQUAL_FATAL(quota_new(&c, &q), 0);
	CU_ASSERT_EQUAL(quota_list(q, QUOTA_UID, &u, &n), 0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_PTR_NULL(u);

	c.uids = uids;
	c.nuids = 2;
	c.gids = gids;
	c.ngids = 1;
	CU_ASSERT_EQUAL(quota_charge(q, 70, 1, 100, 1), 0);
	CU_ASSERT_EQUAL(quota_charge(q, 5, 1, 200, 1), 0);
	CU_ASSERT_EQUAL(quota_charge(q, 1, 1, 300, 1), 0);

	CU_ASSERT_EQUAL_FATAL(quota_list(q, QUOTA_UID, &u, &n), 0);
	CU_ASSERT_EQUAL_FATAL(n, 4);
	CU_ASSERT_EQUAL(u[0].id, 1);
	CU_ASSERT_EQUAL(u[0].bytes, 300);
	CU_ASSERT_EQUAL(u[0].limit.bytes, 3 * GiB);
	CU_ASSERT_EQUAL(u[1].id, 5);
	CU_ASSERT_EQUAL(u[1].bytes, 200);
	CU_ASSERT_EQUAL(u[1].limit.bytes, GiB);
	CU_ASSERT_EQUAL(u[2].id, 50);
	CU_ASSERT_EQUAL(u[2].bytes, 0);
	CU_ASSERT_EQUAL(u[2].limit.bytes, 2 * GiB);
	CU_ASSERT_EQUAL(u[3].id, 70);
	CU_ASSERT_EQUAL(u[3].extents, 1);
	free(u);

	CU_ASSERT_EQUAL_FATAL(quota_list(q, QUOTA_GID, &u, &n), 0);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_EQUAL(u[0].id, 1);
	CU_ASSERT_EQUAL(u[0].bytes, 600);
	CU_ASSERT_EQUAL(u[0].extents, 3);
	CU_ASSERT_EQUAL(u[0].limit.extents, 0);
	CU_ASSERT_EQUAL(u[1].id, 9);
	CU_ASSERT_EQUAL(u[1].limit.extents, 4);
	free(u);
	CU_ASSERT_STRING_EQUAL(quota_kind_name(QUOTA_UID), "uid");
	CU_ASSERT_STRING_EQUAL(quota_kind_name(QUOTA_GID), "gid");
	quota_free(q);
}

/* rng -- xorshift64*, seeded so that a failure replays */
static uint64_t rng(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

/* test_model -- thousands of ids charged and released at random */
static void test_model(void)
{
	enum { IDS = 4000, OPS = 200000 };
	uint64_t *mb = calloc(IDS, sizeof(*mb)), *me = calloc(IDS, sizeof(*me));
	uint64_t seed = 0x5eed, b, e;
	struct quota_usage *u;
	unsigned int i, id, live;
	struct config c;
	struct quota *q;
	bool ok = true;
	size_t n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mb);
	CU_ASSERT_PTR_NOT_NULL_FATAL(me);
	config_defaults(&c);
	CU_ASSERT_EQUAL_FATAL(quota_new(&c, &q), 0);
	for (i = 0; i < OPS; i++) {
		/* Ids spread over the 32-bit space, a few thousand in all. */
		id = (uint32_t)(rng(&seed) % IDS);
		if (me[id] && rng(&seed) % 2) {
			/* Release one of its extents: all of it, or a part. */
			b = me[id] == 1 ? mb[id] : mb[id] / me[id];
			CU_ASSERT_EQUAL(quota_charge(q, id * 1000003u, 0,
						     -(int64_t)b, -1),
					0);
			mb[id] -= b;
			me[id]--;
		} else {
			b = 1 + rng(&seed) % 1000;
			CU_ASSERT_EQUAL(quota_charge(q, id * 1000003u, 0,
						     (int64_t)b, 1),
					0);
			mb[id] += b;
			me[id]++;
		}
	}
	for (id = 0, live = 0; id < IDS; id++) {
		usage(q, QUOTA_UID, id * 1000003u, &b, &e);
		ok &= b == mb[id] && e == me[id];
		live += me[id] != 0;
	}
	CU_ASSERT(ok);
	CU_ASSERT_EQUAL_FATAL(quota_list(q, QUOTA_UID, &u, &n), 0);
	CU_ASSERT_EQUAL(n, live);
	for (i = 1; i < n; i++)
		ok &= u[i - 1].id < u[i].id;
	for (i = 0; i < n; i++)
		ok &= u[i].bytes == mb[u[i].id / 1000003u];
	CU_ASSERT(ok);
	free(u);

	/* Release everything: the tables empty out. */
	for (id = 0; id < IDS; id++)
		CU_ASSERT_EQUAL(quota_charge(q, id * 1000003u, 0,
					     -(int64_t)mb[id],
					     -(int64_t)me[id]),
				0);
	CU_ASSERT_EQUAL(quota_list(q, QUOTA_UID, &u, &n), 0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(quota_list(q, QUOTA_GID, &u, &n), 0);
	CU_ASSERT_EQUAL(n, 0);
	quota_free(q);
	free(mb);
	free(me);
}

/* test_enomem -- a failed charge changes nothing; a reserved one cannot fail */
static void test_enomem(void)
{
	struct quota_usage *u;
	struct config c;
	struct quota *q;
	size_t n;

	config_defaults(&c);
	calloc_fail_in = 1;
	CU_ASSERT_EQUAL(quota_new(&c, &q), -ENOMEM);
	CU_ASSERT_EQUAL_FATAL(quota_new(&c, &q), 0);

	/* The uid table gets its memory, the gid table does not. */
	calloc_fail_in = 2;
	CU_ASSERT_EQUAL(quota_charge(q, 1, 1, 100, 1), -ENOMEM);
	CU_ASSERT_EQUAL(calloc_fail_in, 0);
	CU_ASSERT(uses(q, QUOTA_UID, 1, 0, 0));
	CU_ASSERT(uses(q, QUOTA_GID, 1, 0, 0));
	calloc_fail_in = 1;
	CU_ASSERT_EQUAL(quota_list(q, QUOTA_UID, &u, &n), 0); /* empty */
	calloc_fail_in = 0;

	/* Reserved first, the charge needs nothing more. */
	CU_ASSERT_EQUAL(quota_reserve(q, 1, 1), 0);
	calloc_fail_in = 1;
	CU_ASSERT_EQUAL(quota_charge(q, 1, 1, 100, 1), 0);
	CU_ASSERT_EQUAL(calloc_fail_in, 1);
	calloc_fail_in = 0;
	CU_ASSERT(uses(q, QUOTA_UID, 1, 100, 1));
	CU_ASSERT(uses(q, QUOTA_GID, 1, 100, 1));

	/* Listing can fail; releasing never does. */
	calloc_fail_in = 1;
	CU_ASSERT_EQUAL(quota_list(q, QUOTA_UID, &u, &n), -ENOMEM);
	CU_ASSERT_EQUAL(quota_charge(q, 1, 1, -100, -1), 0);
	calloc_fail_in = 0;
	CU_ASSERT(uses(q, QUOTA_UID, 1, 0, 0));
	quota_free(q);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "check, charge, release", test_arithmetic },
		{ "uid defaults and root", test_defaults },
		{ "gid limits", test_gid },
		{ "overflow", test_overflow },
		{ "reload keeps usage", test_reload },
		{ "list", test_list },
		{ "model", test_model },
		{ "out of memory", test_enomem },
		{ NULL, NULL },
	};

	return unit_main("quota", test_init, NULL, NULL, NULL, tests);
}
