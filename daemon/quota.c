// SPDX-License-Identifier: Apache-2.0
/*
 * quota.c -- bytes and extents in use per uid and per gid, against limits
 *
 * Each kind (uid, gid) has a small open-addressing hash table of the ids
 * that use anything; an id whose usage drops to zero leaves the table, so
 * it holds the active tenants only.  Limits are looked up in the borrowed
 * config (a binary search in its sorted tables), never copied, so a reload
 * needs nothing here but a new pointer.
 *
 * Arithmetic never wraps: usage saturates at UINT64_MAX and stops at 0, and
 * the check is written so that no sum can overflow.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "quota.h"

struct quota_slot {
	uint32_t id;
	bool used;
	uint64_t bytes;
	uint64_t extents;
};

/* Linear probing, Fibonacci hashing, at most half full, no tombstones. */
struct quota_table {
	struct quota_slot *slots; /* 2^bits, NULL while empty */
	unsigned int bits;
	size_t count;
};

struct quota {
	const struct config *cfg;
	struct quota_table t[QUOTA_KIND_COUNT];
};

#define QUOTA_TABLE_MIN_BITS 4

static const char *const quota_kind_names[QUOTA_KIND_COUNT] = {
	[QUOTA_UID] = "uid",
	[QUOTA_GID] = "gid",
};

/* quota_kind_name -- "uid" or "gid" */
const char *quota_kind_name(enum quota_kind kind)
{
	return (unsigned int)kind < QUOTA_KIND_COUNT ? quota_kind_names[kind] :
						       "?";
}

/* quota_home -- the home position of id in a table of 2^bits */
static inline size_t quota_home(uint32_t id, unsigned int bits)
{
	return (size_t)(((uint64_t)id * 0x9e3779b97f4a7c15ULL) >> (64 - bits));
}

/* quota_table_find -- the slot of id, or NULL */
static struct quota_slot *quota_table_find(const struct quota_table *t,
					   uint32_t id)
{
	size_t mask, i;

	if (!t->slots)
		return NULL;
	mask = ((size_t)1 << t->bits) - 1;
	for (i = quota_home(id, t->bits); t->slots[i].used; i = (i + 1) & mask)
		if (t->slots[i].id == id)
			return &t->slots[i];
	return NULL;
}

/* quota_table_put -- place s, known absent, in slots with room */
static struct quota_slot *quota_table_put(struct quota_slot *slots,
					  unsigned int bits,
					  const struct quota_slot *s)
{
	size_t mask = ((size_t)1 << bits) - 1;
	size_t i = quota_home(s->id, bits);

	while (slots[i].used)
		i = (i + 1) & mask;
	slots[i] = *s;
	return &slots[i];
}

/*
 * quota_table_reserve -- make room for one more id
 *
 * Returns 0 or -ENOMEM with the table intact, so that a charge fails
 * before it changes anything.
 */
static int quota_table_reserve(struct quota_table *t)
{
	unsigned int bits = t->bits ? t->bits : QUOTA_TABLE_MIN_BITS;
	struct quota_slot *slots;
	size_t i;

	while (((size_t)1 << bits) < 2 * (t->count + 1))
		bits++;
	if (t->slots && bits == t->bits)
		return 0;
	slots = calloc((size_t)1 << bits, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	if (t->slots)
		for (i = 0; i < ((size_t)1 << t->bits); i++)
			if (t->slots[i].used)
				quota_table_put(slots, bits, &t->slots[i]);
	free(t->slots);
	t->slots = slots;
	t->bits = bits;
	return 0;
}

/* quota_table_del -- remove the slot s, shifting later entries back */
static void quota_table_del(struct quota_table *t, struct quota_slot *s)
{
	size_t mask = ((size_t)1 << t->bits) - 1;
	size_t i = (size_t)(s - t->slots), j = i, home;

	/* Knuth's algorithm R, as in extent.c: no tombstones. */
	for (;;) {
		t->slots[i].used = false;
		for (;;) {
			j = (j + 1) & mask;
			if (!t->slots[j].used)
				goto out;
			home = quota_home(t->slots[j].id, t->bits);
			/* Move j to i unless its home lies cyclically in (i, j]. */
			if (i <= j ? (home <= i || home > j) :
				     (home <= i && home > j))
				break;
		}
		t->slots[i] = t->slots[j];
		i = j;
	}
out:
	t->count--;
}

/* quota_new -- empty usage, limits from cfg (borrowed) */
int quota_new(const struct config *cfg, struct quota **out)
{
	struct quota *q = calloc(1, sizeof(*q));

	if (!q)
		return -ENOMEM;
	q->cfg = cfg;
	*out = q;
	return 0;
}

/* quota_free -- release q; NULL is fine */
void quota_free(struct quota *q)
{
	unsigned int k;

	if (!q)
		return;
	for (k = 0; k < QUOTA_KIND_COUNT; k++)
		free(q->t[k].slots);
	free(q);
}

/*
 * quota_set_config -- limits from cfg from now on; usage stays
 *
 * An id already above a lowered limit keeps what it has; only growth is
 * refused (see quota_check()).
 */
void quota_set_config(struct quota *q, const struct config *cfg)
{
	q->cfg = cfg;
}

/* quota_limit -- the limits of id, or NULL when it has none */
static const struct config_quota *quota_limit(const struct quota *q,
					      enum quota_kind kind, uint32_t id)
{
	if (kind == QUOTA_UID)
		return config_uid_quota(q->cfg, id);
	return config_gid_quota(q->cfg, id);
}

/* quota_add -- a + b, saturating */
static inline uint64_t quota_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* quota_exceeds -- would used + add pass limit?  0 means no limit. */
static inline bool quota_exceeds(uint64_t used, uint64_t add, uint64_t limit)
{
	/* An operation that adds nothing here is never refused here. */
	if (!limit || !add)
		return false;
	return used > limit || add > limit - used;
}

/* quota_fmt_bytes -- "64 GiB": the largest binary unit that is exact */
static void quota_fmt_bytes(char *buf, size_t len, uint64_t v)
{
	static const char *const units[] = { "B",   "KiB", "MiB", "GiB",
					     "TiB", "PiB", "EiB" };
	unsigned int u = 0;

	while (v && u + 1 < sizeof(units) / sizeof(units[0]) && !(v & 1023)) {
		v >>= 10;
		u++;
	}
	snprintf(buf, len, "%llu %s", (unsigned long long)v, units[u]);
}

/* quota_check_one -- check one id of one kind; -EDQUOT with why */
static int quota_check_one(const struct quota *q, enum quota_kind kind,
			   uint32_t id, uint64_t add_bytes,
			   uint64_t add_extents, char *why, size_t whylen)
{
	const struct config_quota *lim = quota_limit(q, kind, id);
	const struct quota_slot *s = quota_table_find(&q->t[kind], id);
	uint64_t bytes = s ? s->bytes : 0, extents = s ? s->extents : 0;
	char want[32], have[32];

	if (!lim)
		return 0;
	if (quota_exceeds(bytes, add_bytes, lim->bytes)) {
		if (why && whylen) {
			quota_fmt_bytes(want, sizeof(want),
					quota_add(bytes, add_bytes));
			quota_fmt_bytes(have, sizeof(have), lim->bytes);
			snprintf(why, whylen,
				 "%s %u would use %s of its %s quota",
				 quota_kind_names[kind], id, want, have);
		}
		return -EDQUOT;
	}
	if (quota_exceeds(extents, add_extents, lim->extents)) {
		if (why && whylen)
			snprintf(
				why, whylen,
				"%s %u would have %llu extents, its quota is %llu",
				quota_kind_names[kind], id,
				(unsigned long long)quota_add(extents,
							      add_extents),
				(unsigned long long)lim->extents);
		return -EDQUOT;
	}
	return 0;
}

/*
 * quota_check -- may uid and gid take add_bytes and add_extents more?
 *
 * Returns 0, or -EDQUOT with a sentence for the client in why (e.g. "uid
 * 1000 would use 65 GiB of its 64 GiB quota").  The uid is checked before
 * the gid, bytes before extents; the first limit passed is reported.  A
 * dimension that the operation does not increase is never refused, even
 * if a reload left it above its limit.
 */
int quota_check(const struct quota *q, uint32_t uid, uint32_t gid,
		uint64_t add_bytes, uint64_t add_extents, char *why,
		size_t whylen)
{
	int r;

	if (why && whylen)
		why[0] = '\0';
	r = quota_check_one(q, QUOTA_UID, uid, add_bytes, add_extents, why,
			    whylen);
	if (r < 0)
		return r;
	return quota_check_one(q, QUOTA_GID, gid, add_bytes, add_extents, why,
			       whylen);
}

/* quota_apply -- add a signed delta to a counter, saturating at both ends */
static bool quota_apply(uint64_t *v, int64_t d)
{
	uint64_t m;

	if (d >= 0) {
		*v = quota_add(*v, (uint64_t)d);
		return true;
	}
	m = (uint64_t)(-(d + 1)) + 1; /* |d|, also for INT64_MIN */
	if (m > *v) {
		*v = 0;
		return false;
	}
	*v -= m;
	return true;
}

/* quota_charge_one -- apply the deltas to one id of one kind */
static void quota_charge_one(struct quota *q, enum quota_kind kind, uint32_t id,
			     int64_t bytes, int64_t extents)
{
	struct quota_table *t = &q->t[kind];
	struct quota_slot *s = quota_table_find(t, id);
	struct quota_slot fresh = { .id = id, .used = true };
	bool ok;

	if (!s) {
		if (bytes <= 0 && extents <= 0) {
			if (bytes || extents)
				log_warn(
					"quota: %s %u released usage it was never charged",
					quota_kind_names[kind], id);
			return;
		}
		/* quota_charge() reserved the room. */
		s = quota_table_put(t->slots, t->bits, &fresh);
		t->count++;
	}
	ok = quota_apply(&s->bytes, bytes);
	ok &= quota_apply(&s->extents, extents);
	if (!ok)
		log_warn(
			"quota: %s %u released more than it was charged; its usage stops at 0",
			quota_kind_names[kind], id);
	if (!s->bytes && !s->extents)
		quota_table_del(t, s);
}

/*
 * quota_reserve -- room for uid and gid, so that charging them cannot fail
 *
 * A charge needs memory only for an id that uses nothing yet.  A caller
 * that charges after a change it cannot take back (the pool's alloc)
 * reserves first; until another id not yet in use is charged, a charge of
 * uid and gid then returns 0.  Returns 0 or -ENOMEM, changing no usage.
 */
int quota_reserve(struct quota *q, uint32_t uid, uint32_t gid)
{
	const uint32_t ids[QUOTA_KIND_COUNT] = {
		[QUOTA_UID] = uid, [QUOTA_GID] = gid
	};
	unsigned int k;
	int r;

	for (k = 0; k < QUOTA_KIND_COUNT; k++) {
		if (quota_table_find(&q->t[k], ids[k]))
			continue;
		r = quota_table_reserve(&q->t[k]);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * quota_charge -- record that uid and gid use bytes and extents more
 *
 * Negative amounts release.  No limit is checked: recovery charges what
 * exists, and a reload may have lowered a limit.  Returns 0, or -ENOMEM
 * with nothing changed when an id not yet in use needs room (never right
 * after quota_reserve() for these ids); releasing never fails.
 */
int quota_charge(struct quota *q, uint32_t uid, uint32_t gid, int64_t bytes,
		 int64_t extents)
{
	const uint32_t ids[QUOTA_KIND_COUNT] = {
		[QUOTA_UID] = uid, [QUOTA_GID] = gid
	};
	unsigned int k;
	int r;

	/* Room for both ids first, so that no failure leaves half a charge. */
	if (bytes > 0 || extents > 0) {
		r = quota_reserve(q, uid, gid);
		if (r < 0)
			return r;
	}
	for (k = 0; k < QUOTA_KIND_COUNT; k++)
		quota_charge_one(q, k, ids[k], bytes, extents);
	return 0;
}

/* quota_get -- usage and limits of one id (zeros when it uses nothing) */
void quota_get(const struct quota *q, enum quota_kind kind, uint32_t id,
	       struct quota_usage *out)
{
	const struct quota_slot *s = quota_table_find(&q->t[kind], id);
	const struct config_quota *lim = quota_limit(q, kind, id);

	*out = (struct quota_usage){ .id = id };
	if (s) {
		out->bytes = s->bytes;
		out->extents = s->extents;
	}
	if (lim)
		out->limit = *lim;
}

/* quota_usage_cmp -- order of quota_list(): by id */
static int quota_usage_cmp(const void *a, const void *b)
{
	const struct quota_usage *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/*
 * quota_list -- every id of a kind that uses anything or has its own limits
 *
 * *out is an array sorted by id, which the caller frees; *n its length.
 * Ids that only fall under default_uid and use nothing are not listed.
 * Returns 0 or -ENOMEM.
 */
int quota_list(const struct quota *q, enum quota_kind kind,
	       struct quota_usage **out, size_t *n)
{
	const struct quota_table *t = &q->t[kind];
	const struct config_quota_entry *cfg =
		kind == QUOTA_UID ? q->cfg->uids : q->cfg->gids;
	size_t ncfg = kind == QUOTA_UID ? q->cfg->nuids : q->cfg->ngids;
	struct quota_usage *u;
	size_t i, len = 0;

	*out = NULL;
	*n = 0;
	if (!t->count && !ncfg)
		return 0;
	u = calloc(t->count + ncfg, sizeof(*u));
	if (!u)
		return -ENOMEM;
	if (t->slots)
		for (i = 0; i < ((size_t)1 << t->bits); i++)
			if (t->slots[i].used)
				quota_get(q, kind, t->slots[i].id, &u[len++]);
	/* Configured ids that use nothing yet: 0 of their limit. */
	for (i = 0; i < ncfg; i++)
		if (!quota_table_find(t, cfg[i].id))
			quota_get(q, kind, cfg[i].id, &u[len++]);
	qsort(u, len, sizeof(*u), quota_usage_cmp);
	*out = u;
	*n = len;
	return 0;
}
