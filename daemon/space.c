// SPDX-License-Identifier: Apache-2.0
/*
 * space.c -- extents as the clients' space: ownership, permissions, quotas
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "hold.h"
#include "log.h"
#include "meta.h"
#include "pool.h"
#include "proc.h"
#include "quota.h"
#include "server.h"
#include "space.h"

/*
 * space_check_name -- is this a name an extent may carry?
 *
 * Names are printable: no control bytes (they end up in logs and in
 * daxallocctl's table), not empty, at most the configured length.
 */
int space_check_name(const struct server *srv, const char *name, char *why)
{
	size_t len = strlen(name), i;

	if (len > srv->limits.max_name_length) {
		snprintf(why, SPACE_WHY_MAX, "name is %zu bytes, the limit is %u",
			 len, srv->limits.max_name_length);
		return -ENAMETOOLONG;
	}
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (ch < 0x20 || ch == 0x7f) {
			snprintf(why, SPACE_WHY_MAX,
				 "name has a control byte 0x%02x at %zu", ch, i);
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * space_may -- may the peer of c have `want` (SPACE_READ|SPACE_WRITE)?
 *
 * File permission rules: root may do anything; otherwise the owner bits
 * for the owner, the group bits for a member of the extent's group, the
 * other bits for everyone else.  0 or -EACCES.
 */
int space_may(const struct conn *c, const struct extent *e, unsigned int want)
{
	uint32_t bits;

	if (c->uid == 0)
		return 0;
	if (c->uid == e->rec.uid)
		bits = (e->rec.mode >> 6) & 7;
	else if (conn_in_group(c, e->rec.gid))
		bits = (e->rec.mode >> 3) & 7;
	else
		bits = e->rec.mode & 7;
	return (bits & want) == want ? 0 : -EACCES;
}

/* space_charge -- count an extent's bytes (or a change) against quotas */
static void space_charge(struct server *srv, const struct extent *e,
			 int64_t bytes, int64_t extents)
{
	/* Usage may exceed a limit (e.g. after a lowered quota): never fails. */
	if (srv->quota)
		quota_charge(srv->quota, e->rec.uid, e->rec.gid, bytes, extents);
}

/*
 * space_alloc -- a new extent for the peer of c
 *
 * Named extents are the caller's until deleted; anonymous ones are owned
 * by the calling process and freed when it exits.  The quota check comes
 * first, so a refusal changes nothing.
 */
int space_alloc(struct server *srv, struct conn *c, const char *name,
		uint64_t size, uint64_t align, uint32_t mode,
		struct extent **out, char *why)
{
	uint64_t unit = pool_unit(srv->pool), len;
	struct pool_attr attr = { 0 };
	struct pool_stats st;
	int r;

	if (size == 0) {
		snprintf(why, SPACE_WHY_MAX, "size must not be zero");
		return -EINVAL;
	}
	if (align & (align - 1)) {
		snprintf(why, SPACE_WHY_MAX, "align %llu is not a power of two",
			 (unsigned long long)align);
		return -EINVAL;
	}
	if (name[0]) {
		r = space_check_name(srv, name, why);
		if (r < 0)
			return r;
	}
	/*
	 * Its exit was seen first (the request was still queued): nobody
	 * would ever free an anonymous extent, nobody would be told of a
	 * named one, and neither could get its lease (hold.c).
	 */
	if (c->proc->exited) {
		snprintf(why, SPACE_WHY_MAX, "the calling process has exited");
		return -ESRCH;
	}
	/* Rounded as the pool will, without overflowing. */
	len = size > UINT64_MAX - unit ? UINT64_MAX : (size + unit - 1) / unit * unit;
	if (srv->quota) {
		r = quota_check(srv->quota, c->uid, c->gid, len, 1, why,
				SPACE_WHY_MAX);
		if (r < 0)
			return r;
		/* The usage entries exist before the pool changes: charging cannot fail. */
		r = quota_reserve(srv->quota, c->uid, c->gid);
		if (r < 0)
			return r;
	}
	attr.name = name;
	attr.uid = c->uid;
	attr.gid = c->gid;
	attr.mode = mode & 0777;
	if (name[0]) {
		attr.flags = FMT_EXTENT_NAMED;
	} else {
		attr.flags = FMT_EXTENT_ANONYMOUS;
		attr.owner_pid = c->proc->pid;
		attr.owner_start = c->proc->start_time;
		memcpy(attr.owner_boot, srv->boot_id, sizeof(attr.owner_boot));
	}
	r = pool_alloc(srv->pool, size, align, &attr, out);
	if (r == -ENOSPC) {
		pool_get_stats(srv->pool, &st);
		snprintf(why, SPACE_WHY_MAX,
			 "no contiguous run of %llu bytes (largest free run: %llu bytes)",
			 (unsigned long long)len,
			 (unsigned long long)st.largest_free);
	} else if (r == -EEXIST) {
		snprintf(why, SPACE_WHY_MAX, "an extent named '%s' exists", name);
	} else if (r == -EINVAL) {
		snprintf(why, SPACE_WHY_MAX, "bad size or alignment");
	}
	if (r < 0)
		return r;
	space_charge(srv, *out, (int64_t)(*out)->rec.length, 1);
	if (!name[0])
		proc_adopt(c->proc, *out);
	return 0;
}

/*
 * space_truncate -- shrink or grow e in place
 *
 * Growth is checked against the owner's quota first.  A tail that a pin
 * or another process's lease may still reach goes to the quarantine
 * (hold.c), in the same transaction as the extent's new length.
 */
int space_truncate(struct server *srv, struct conn *c, struct extent *e,
		   uint64_t size, char *why)
{
	uint64_t unit = pool_unit(srv->pool), old = e->rec.length, len;
	struct hold_detached d;
	struct hold_leave lv;
	struct qrange *q;
	int r;

	if (size == 0) {
		snprintf(why, SPACE_WHY_MAX,
			 "size must not be zero (delete the extent instead)");
		return -EINVAL;
	}
	len = size > UINT64_MAX - unit ? UINT64_MAX : (size + unit - 1) / unit * unit;
	if (len > old && srv->quota) {
		r = quota_check(srv->quota, e->rec.uid, e->rec.gid, len - old, 0,
				why, SPACE_WHY_MAX);
		if (r < 0)
			return r;
	}
	lv.held = false;
	if (len < old)
		hold_leave_prepare(srv, e, e->rec.offset + len, old - len,
				   c ? c->proc : NULL, &lv);
	if (lv.held && !lv.room) {
		snprintf(why, SPACE_WHY_MAX,
			 "the lease table has no room for %zu lease breaks",
			 lv.breaks);
		return -ENOSPC;
	}
	if (lv.held) {
		r = meta_begin(srv->pool->meta, lv.journal + 2 * sizeof(struct fmt_extent));
		if (r == 0)
			r = pool_truncate_held(srv->pool, e->rec.id, size, &q);
		if (r == 0) {
			/* The extent lives on: its holds go back to it after. */
			hold_detach(e, &d);
			hold_left(srv, &d, q, c ? c->proc : NULL, HOLD_TRUNCATE);
			hold_reattach(e, &d);
		}
	} else {
		r = pool_truncate(srv->pool, e->rec.id, size);
	}
	if (r == -ENOSPC && lv.held)
		snprintf(why, SPACE_WHY_MAX,
			 "the tail of extent %llu must be quarantined, and the quarantine table is full; try again once quarantined ranges are freed",
			 (unsigned long long)e->rec.id);
	else if (r == -ENOSPC)
		snprintf(why, SPACE_WHY_MAX,
			 "cannot grow extent %llu in place: the space after it is not free",
			 (unsigned long long)e->rec.id);
	if (r < 0)
		return r;
	space_charge(srv, e, (int64_t)e->rec.length - (int64_t)old, 0);
	return 0;
}

/*
 * space_free -- an extent ends: its owner, its holds, its quota, its space
 *
 * caller is the process that ends it (NULL: the daemon itself).  When a
 * pin or another process's lease may still reach the extent, its range
 * goes to the quarantine instead of free space; the caller never waits.
 * If it cannot end (the quarantine table is full), it stays as it was:
 * a request's handler sees it still there and says so; an end nobody
 * asked for (its owner exited) is tried again when a slot is free.
 */
void space_free(struct server *srv, struct extent *e, struct proc *caller,
		const char *reason)
{
	struct proc *owner = e->owner;
	struct extent gone = *e; /* what the quota needs after e is freed */
	struct hold_detached d;
	struct hold_leave lv;
	struct qrange *q = NULL;
	int r;

	hold_leave_prepare(srv, e, e->rec.offset, e->rec.length, caller, &lv);
	/* The holds' records land in the extent's transaction. */
	r = meta_begin(srv->pool->meta, lv.journal + 2 * sizeof(struct fmt_extent));
	if (r < 0)
		goto err;
	proc_disown(e);
	hold_detach(e, &d);
	r = lv.held ? pool_delete_held(srv->pool, gone.rec.id, &q) :
		      pool_delete(srv->pool, gone.rec.id);
	if (r < 0) {
		hold_reattach(e, &d);
		if (owner)
			proc_adopt(owner, e);
		goto err;
	}
	hold_left(srv, &d, q, caller, HOLD_DELETE);
	log_debug("extent %llu %s: %s", (unsigned long long)gone.rec.id,
		  q ? "quarantined" : "freed", reason);
	space_charge(srv, &gone, -(int64_t)gone.rec.length, -1);
	return;
err:
	if (r == -ENOSPC && lv.held) {
		log_warn("extent %llu must be quarantined and the quarantine table is full: it stays allocated for now",
			 (unsigned long long)gone.rec.id);
		hold_wait_room(srv);
		return;
	}
	log_err("extent %llu: freeing failed: %s; it stays allocated",
		(unsigned long long)gone.rec.id, strerror(-r));
}

/* space_recover -- count every existing extent against its owner's quota */
int space_recover(struct server *srv)
{
	struct extent *e;
	int r;

	if (!srv->quota)
		return 0;
	for (e = pool_find_from(srv->pool, 0); e;
	     e = pool_next_id(srv->pool, e)) {
		r = quota_charge(srv->quota, e->rec.uid, e->rec.gid,
				 (int64_t)e->rec.length, 1);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * space_check_quota -- recount usage and compare with the quota's
 *
 * The recount charges every extent into a scratch quota (one pass); then
 * both lists of ids must agree exactly.
 */
static unsigned long space_check_quota(struct server *srv, pool_finding_fn fn,
				       void *arg)
{
	struct quota_usage *have = NULL, *want = NULL;
	size_t nhave = 0, nwant = 0, i;
	unsigned long n = 0;
	struct quota *recount;
	struct config cfg;
	struct extent *e;
	int k;

	config_defaults(&cfg);
	if (quota_new(&cfg, &recount) < 0)
		goto out_cfg;
	for (e = pool_find_from(srv->pool, 0); e; e = pool_next_id(srv->pool, e))
		if (quota_charge(recount, e->rec.uid, e->rec.gid,
				 (int64_t)e->rec.length, 1) < 0)
			goto out_recount;
	for (k = 0; k < QUOTA_KIND_COUNT; k++) {
		if (quota_list(srv->quota, k, &have, &nhave) < 0 ||
		    quota_list(recount, k, &want, &nwant) < 0)
			goto out_lists;
		/* Ids with a quota section but no usage list as zeroes: skip them. */
		for (i = 0; i < nhave; i++) {
			struct quota_usage w;

			quota_get(recount, k, have[i].id, &w);
			if (have[i].bytes != w.bytes || have[i].extents != w.extents) {
				pool_finding(fn, arg, "%s %u: quota counts %llu bytes in %llu extents, the pool %llu in %llu",
					      quota_kind_name(k), have[i].id,
					      (unsigned long long)have[i].bytes,
					      (unsigned long long)have[i].extents,
					      (unsigned long long)w.bytes,
					      (unsigned long long)w.extents);
				n++;
			}
		}
		for (i = 0; i < nwant; i++) {
			struct quota_usage h;

			quota_get(srv->quota, k, want[i].id, &h);
			if (!h.extents && want[i].extents) {
				pool_finding(fn, arg, "%s %u: %llu extents not charged",
					      quota_kind_name(k), want[i].id,
					      (unsigned long long)want[i].extents);
				n++;
			}
		}
		free(have);
		free(want);
		have = want = NULL;
	}
out_lists:
	free(have);
	free(want);
out_recount:
	quota_free(recount);
out_cfg:
	config_free(&cfg);
	return n;
}

/*
 * space_check -- what only this module knows: owners and quota usage
 *
 * Every anonymous extent has a live owner the daemon watches; quota usage
 * equals a recount of the extents.  Returns the number of findings.
 */
int space_check(struct server *srv, pool_finding_fn fn, void *arg)
{
	unsigned long n = 0;
	struct extent *e;

	for (e = pool_find_from(srv->pool, 0); e; e = pool_next_id(srv->pool, e)) {
		const struct proc *p = e->owner;

		if (!(e->rec.flags & FMT_EXTENT_ANONYMOUS))
			continue;
		if (!p || p->exited) {
			struct hold_leave lv;

			/*
			 * Its end waits for a quarantine slot (space_free()):
			 * that is not a finding, as long as it is held.
			 */
			hold_leave_prepare(srv, e, e->rec.offset, e->rec.length,
					   p, &lv);
			if (lv.held && hold_room_waiting(srv))
				continue;
			pool_finding(fn, arg, "anonymous extent %llu has no live owner (pid %u)",
				      (unsigned long long)e->rec.id,
				      e->rec.owner_pid);
			n++;
		}
	}
	if (srv->quota)
		n += space_check_quota(srv, fn, arg);
	return n > (unsigned long)INT32_MAX ? INT32_MAX : (int)n;
}
