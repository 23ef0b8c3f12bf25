// SPDX-License-Identifier: Apache-2.0
/*
 * pin.c -- pins, and the lease breaks that wait for them
 *
 * The library remembers every pin of a connection (pintab.c) with its
 * extent and range.  A lease break handled by the default handler is
 * acknowledged only once no pin of the connection overlaps its range: the
 * break counts the overlapping pins when it arrives, pins added later on
 * that range count too, and each unpin of one counts down; at zero, the
 * ack goes out from the thread that released the last pin (or from the
 * next dispatch, when the connection was down at that moment).
 *
 * Batches are cut into requests that fit one datagram: a PinRange is at
 * most 35 bytes packed (three 10-byte varints, three tags, its own tag
 * and length), so DAXALLOC_PIN_BATCH_MAX (1536) ranges take at most 53,760
 * bytes of the 64 KiB (WIRE_MSG_MAX) with the envelope around them; an
 * unpinned id is at most 10 bytes, so DAXALLOC_UNPIN_BATCH_MAX (4096) ids
 * take 40,960.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Acks sent per round of dx_send_acks(). */
#define PIN_ACKS_PER_ROUND 16

/* pin_send_ack -- LeaseBreakAck, sent again after a reconnect if need be */
static int pin_send_ack(struct daxalloc *dx, uint64_t break_id, bool *retried)
{
	Daxalloc__Envelope req = DAXALLOC__ENVELOPE__INIT;
	Daxalloc__LeaseBreakAck a = DAXALLOC__LEASE_BREAK_ACK__INIT;

	a.break_id = break_id;
	req.body_case = DAXALLOC__ENVELOPE__BODY_LEASE_BREAK_ACK;
	req.lease_break_ack = &a;
	return dx_call_simple(dx, &req, DX_IDEMPOTENT, retried);
}

/* pin_break_unlink -- take a break off the list and free it; lock held */
static void pin_break_unlink(struct daxalloc *dx, struct dx_break *b)
{
	struct dx_break **pp;

	for (pp = &dx->breaks; *pp; pp = &(*pp)->next) {
		if (*pp == b) {
			*pp = b->next;
			free(b);
			return;
		}
	}
}

/* pin_break_find -- the pending break with this id, or NULL; lock held */
static struct dx_break *pin_break_find(struct daxalloc *dx, uint64_t break_id)
{
	struct dx_break *b;

	for (b = dx->breaks; b; b = b->next)
		if (b->break_id == break_id)
			return b;
	return NULL;
}

/*
 * dx_send_acks -- acknowledge every pending break no pin holds back
 *
 * Called without the lock, from unpin, the default handler and dispatch.
 * An ack the daemon does not know (-ENOENT) is done with: it was already
 * acknowledged or resolved.  One that fails because the connection is
 * down stays pending, for the next dispatch.  The caller's explanation
 * (dx_err) is kept: these acks are not what it asked for.
 */
void dx_send_acks(struct daxalloc *dx)
{
	struct session_err saved = dx_err;
	uint64_t ids[PIN_ACKS_PER_ROUND];
	int res[PIN_ACKS_PER_ROUND];
	struct dx_break *b;
	bool stuck = false;
	size_t n, i;

	while (!stuck) {
		n = 0;
		pthread_mutex_lock(&dx->lock);
		for (b = dx->breaks; b && n < PIN_ACKS_PER_ROUND; b = b->next) {
			if (b->pins || b->sending)
				continue;
			b->sending = true;
			ids[n++] = b->break_id;
		}
		pthread_mutex_unlock(&dx->lock);
		if (!n)
			break;
		for (i = 0; i < n; i++)
			res[i] = pin_send_ack(dx, ids[i], NULL);
		pthread_mutex_lock(&dx->lock);
		for (i = 0; i < n; i++) {
			b = pin_break_find(dx, ids[i]);
			if (!b)
				continue;
			b->sending = false;
			if (dx_conn_error(res[i]))
				stuck = true;
			else
				pin_break_unlink(dx, b);
		}
		pthread_mutex_unlock(&dx->lock);
	}
	dx_err = saved;
}

/*
 * dx_pinned -- does a pin of dx overlap [offset, offset + length) of the
 * extent?  Lock held.
 */
bool dx_pinned(struct daxalloc *dx, uint64_t extent_id, uint64_t offset,
	       uint64_t length)
{
	const struct pintab_entry *e;
	size_t i;

	for (i = 0; i < dx->pins.cap && dx->pins.count; i++) {
		e = &dx->pins.slots[i];
		if (e->extent_id == extent_id && !e->revoked &&
		    pintab_overlaps(e, offset, length))
			return true;
	}
	return false;
}

/*
 * dx_break_track -- hold a lease break until no pin overlaps its range
 *
 * Called without the lock.  A break the daemon sends again (after a
 * restart) is tracked once.  The caller sends what is due with
 * dx_send_acks().  Returns 0 or -ENOMEM.
 */
int dx_break_track(struct daxalloc *dx, uint64_t break_id, uint64_t extent_id,
		   uint64_t offset, uint64_t length)
{
	const struct pintab_entry *e;
	struct dx_break *b;
	size_t i;

	pthread_mutex_lock(&dx->lock);
	if (pin_break_find(dx, break_id)) {
		pthread_mutex_unlock(&dx->lock);
		return 0;
	}
	b = calloc(1, sizeof(*b));
	if (!b) {
		pthread_mutex_unlock(&dx->lock);
		return dx_fail(
			-ENOMEM,
			"out of memory: lease break %llu not acknowledged",
			(unsigned long long)break_id);
	}
	b->break_id = break_id;
	b->extent_id = extent_id;
	b->offset = offset;
	b->length = length;
	for (i = 0; i < dx->pins.cap && dx->pins.count; i++) {
		e = &dx->pins.slots[i];
		if (e->extent_id == extent_id && !e->revoked &&
		    pintab_overlaps(e, offset, length))
			b->pins++;
	}
	b->next = dx->breaks;
	dx->breaks = b;
	pthread_mutex_unlock(&dx->lock);
	return 0;
}

/*
 * dx_breaks_forget -- drop the pending breaks of an extent (0: all)
 *
 * Lock held.  After a Revoked, the daemon expects no ack any more.  A
 * break whose ack is being sent is left to its sender.
 */
void dx_breaks_forget(struct daxalloc *dx, uint64_t extent_id)
{
	struct dx_break **pp = &dx->breaks, *b;

	while ((b = *pp)) {
		if (!b->sending && (!extent_id || b->extent_id == extent_id)) {
			*pp = b->next;
			free(b);
		} else {
			pp = &b->next;
		}
	}
}

/*
 * dx_pins_revoked -- the daemon ended our pins on an extent (0: all)
 *
 * Lock held.  They stay in the table, marked, so that the application's
 * unpin of them succeeds locally instead of failing a whole batch with
 * -ENOENT.
 */
void dx_pins_revoked(struct daxalloc *dx, uint64_t extent_id)
{
	struct pintab_entry *e;
	size_t i;

	for (i = 0; i < dx->pins.cap && dx->pins.count; i++) {
		e = &dx->pins.slots[i];
		if (e->extent_id && (!extent_id || e->extent_id == extent_id))
			e->revoked = true;
	}
}

/* dx_breaks_free -- free every pending break (the connection ends) */
void dx_breaks_free(struct daxalloc *dx)
{
	struct dx_break *b;

	while ((b = dx->breaks)) {
		dx->breaks = b->next;
		free(b);
	}
}

/* daxalloc_break_ack -- acknowledge a lease break (see daxalloc.h) */
DAXALLOC_EXPORT int daxalloc_break_ack(struct daxalloc *dx, uint64_t break_id)
{
	struct dx_break *b;
	bool retried;
	int r;

	dx_clear_err();
	if (!dx)
		return dx_fail(-EINVAL, "no connection");
	r = pin_send_ack(dx, break_id, &retried);
	/* The first one went through before the connection broke. */
	if (r == -ENOENT && retried)
		r = 0;
	if (r == 0 || r == -ENOENT) {
		pthread_mutex_lock(&dx->lock);
		b = pin_break_find(dx, break_id);
		if (b && !b->sending)
			pin_break_unlink(dx, b);
		pthread_mutex_unlock(&dx->lock);
	}
	return r;
}

/*
 * pin_record -- remember k new pins; lock held, room reserved
 *
 * A pin on the range of a break that waits counts for it too.
 */
static void pin_record(struct daxalloc *dx, Daxalloc__PinRange *const *pp,
		       const uint64_t *ids, size_t k)
{
	struct pintab_entry e = { .revoked = false };
	struct dx_break *b;
	size_t i;

	for (i = 0; i < k; i++) {
		pintab_put(&dx->pins, ids[i], pp[i]->extent_id, pp[i]->offset,
			   pp[i]->length);
		e.extent_id = pp[i]->extent_id;
		e.offset = pp[i]->offset;
		e.length = pp[i]->length;
		for (b = dx->breaks; b; b = b->next)
			if (b->extent_id == e.extent_id && !b->sending &&
			    pintab_overlaps(&e, b->offset, b->length))
				b->pins++;
	}
}

/*
 * pin_forget -- a pin was released: count down the breaks it held back
 *
 * Lock held.  Returns whether a break's ack is now due.
 */
static bool pin_forget(struct daxalloc *dx, struct pintab_entry *e)
{
	struct dx_break *b;
	bool due = false;

	for (b = dx->breaks; b && !e->revoked; b = b->next) {
		if (b->extent_id != e->extent_id || !b->pins ||
		    !pintab_overlaps(e, b->offset, b->length))
			continue;
		if (!--b->pins)
			due = true;
	}
	pintab_remove(&dx->pins, e);
	return due;
}

/*
 * pin_unpin_chunk -- Unpin at most DAXALLOC_UNPIN_BATCH_MAX ids, in one
 * request
 *
 * Pins the daemon already ended (Revoked) are only dropped from the table.
 * When the connection broke with the request in flight, it is sent again;
 * if every id was a pin we knew, an -ENOENT then means the first request
 * was applied.  *due tells whether a lease break's ack is now due.
 */
static int pin_unpin_chunk(struct daxalloc *dx, const uint64_t *ids, size_t k,
			   bool *due)
{
	Daxalloc__Envelope req = DAXALLOC__ENVELOPE__INIT;
	Daxalloc__UnpinRequest u = DAXALLOC__UNPIN_REQUEST__INIT;
	uint64_t *send = (uint64_t *)ids;
	struct pintab_entry *e;
	size_t i, ns = k, revoked = 0;
	bool known = true, retried = false;
	int r = 0;

	pthread_mutex_lock(&dx->lock);
	for (i = 0; i < k; i++) {
		e = pintab_get(&dx->pins, ids[i]);
		if (!e)
			known = false;
		else if (e->revoked)
			revoked++;
	}
	if (revoked) {
		send = malloc(k * sizeof(*send));
		if (!send) {
			pthread_mutex_unlock(&dx->lock);
			return dx_fail(-ENOMEM, "out of memory");
		}
		for (ns = 0, i = 0; i < k; i++) {
			e = pintab_get(&dx->pins, ids[i]);
			if (e && e->revoked)
				pintab_remove(&dx->pins, e);
			else
				send[ns++] = ids[i];
		}
	}
	pthread_mutex_unlock(&dx->lock);

	if (ns) {
		u.n_pin_ids = ns;
		u.pin_ids = send;
		req.body_case = DAXALLOC__ENVELOPE__BODY_UNPIN;
		req.unpin = &u;
		r = dx_call_simple(dx, &req, DX_IDEMPOTENT, &retried);
		if (r == -ENOENT && retried && known)
			r = 0;
	}
	if (r == 0) {
		pthread_mutex_lock(&dx->lock);
		for (i = 0; i < ns; i++) {
			e = pintab_get(&dx->pins, send[i]);
			if (e && pin_forget(dx, e))
				*due = true;
		}
		pthread_mutex_unlock(&dx->lock);
	}
	if (send != ids)
		free(send);
	return r;
}

/*
 * pin_unpin -- Unpin n ids, request by request, then send the acks due
 *
 * *released counts the ids of the requests that went through.
 */
static int pin_unpin(struct daxalloc *dx, const uint64_t *ids, size_t n,
		     size_t *released)
{
	bool due = false;
	size_t done, k;
	int r = 0;

	*released = 0;
	for (done = 0; done < n; done += k) {
		k = n - done < DAXALLOC_UNPIN_BATCH_MAX ?
			    n - done :
			    DAXALLOC_UNPIN_BATCH_MAX;
		r = pin_unpin_chunk(dx, ids + done, k, &due);
		if (r < 0)
			break;
		*released += k;
	}
	if (due)
		dx_send_acks(dx);
	return r;
}

/* daxalloc_unpin_batch -- release many pins (see daxalloc.h) */
DAXALLOC_EXPORT int daxalloc_unpin_batch(struct daxalloc *dx,
					 const uint64_t *pin_ids, size_t n)
{
	size_t released;
	int r;

	dx_clear_err();
	if (!dx || (n && !pin_ids))
		return dx_fail(-EINVAL, "no connection or no pin ids");
	r = pin_unpin(dx, pin_ids, n, &released);
	if (r < 0 && released)
		dx_append_err(" (the first %zu of %zu pins were released)",
			      released, n);
	return r;
}

/* daxalloc_unpin -- release a pin (see daxalloc.h) */
DAXALLOC_EXPORT int daxalloc_unpin(struct daxalloc *dx, uint64_t pin_id)
{
	return daxalloc_unpin_batch(dx, &pin_id, 1);
}

/*
 * pin_give_back -- unpin ids the daemon granted to a call that then failed
 *
 * The first failure's explanation is kept, and says what became of them.
 * Returns whether they were released.
 */
static bool pin_give_back(struct daxalloc *dx, const uint64_t *ids, size_t n,
			  bool known)
{
	Daxalloc__Envelope req = DAXALLOC__ENVELOPE__INIT;
	Daxalloc__UnpinRequest u = DAXALLOC__UNPIN_REQUEST__INIT;
	struct session_err first = dx_err;
	size_t released = 0, done, k;
	int r = 0;

	if (known) {
		r = pin_unpin(dx, ids, n, &released);
	} else {
		/* Not in the table (it could not take them): plain Unpins. */
		for (done = 0; done < n && r == 0; done += k) {
			k = n - done < DAXALLOC_UNPIN_BATCH_MAX ?
				    n - done :
				    DAXALLOC_UNPIN_BATCH_MAX;
			u.n_pin_ids = k;
			u.pin_ids = (uint64_t *)ids + done;
			req.body_case = DAXALLOC__ENVELOPE__BODY_UNPIN;
			req.unpin = &u;
			r = dx_call_simple(dx, &req, DX_IDEMPOTENT, NULL);
			if (r == 0)
				released += k;
		}
	}
	if (r == 0) {
		dx_err = first;
		dx_append_err(
			" (the %zu ranges pinned before were unpinned again)",
			n);
		return true;
	}
	snprintf(first.msg + strlen(first.msg),
		 sizeof(first.msg) - strlen(first.msg),
		 " (and %zu ranges pinned before stay pinned: %.80s)",
		 n - released, dx_err.msg);
	dx_err = first;
	return false;
}

/*
 * pin_chunk -- Pin at most DAXALLOC_PIN_BATCH_MAX ranges in one request
 *
 * pr and pp are the caller's scratch space for k ranges.
 */
static int pin_chunk(struct daxalloc *dx, const struct daxalloc_pin_range *rg,
		     size_t k, Daxalloc__PinRange *pr, Daxalloc__PinRange **pp,
		     uint64_t *ids)
{
	static const Daxalloc__PinRange init = DAXALLOC__PIN_RANGE__INIT;
	Daxalloc__Envelope req = DAXALLOC__ENVELOPE__INIT, *resp;
	Daxalloc__PinRequest p = DAXALLOC__PIN_REQUEST__INIT;
	const Daxalloc__PinReply *pr_reply;
	size_t i;
	int r;

	pthread_mutex_lock(&dx->lock);
	for (i = 0; i < k; i++) {
		if (rg[i].ext->dead) {
			r = dx_fail(
				-ESTALE,
				"range %zu: extent %llu is gone for this process (deleted, or its lease revoked)",
				i, (unsigned long long)rg[i].ext->id);
			pthread_mutex_unlock(&dx->lock);
			return r;
		}
		pr[i] = init;
		pr[i].extent_id = rg[i].ext->id;
		pr[i].offset = rg[i].offset;
		pr[i].length = rg[i].length;
		pp[i] = &pr[i];
	}
	/* Room first: pins the daemon granted must find their place. */
	r = pintab_reserve(&dx->pins, k);
	pthread_mutex_unlock(&dx->lock);
	if (r < 0)
		return dx_fail(r, "out of memory for %zu more pins", k);

	p.n_ranges = k;
	p.ranges = pp;
	req.body_case = DAXALLOC__ENVELOPE__BODY_PIN;
	req.pin = &p;
	r = dx_call(dx, &req, &resp, NULL, 0, NULL);
	if (r < 0)
		return r;
	if (resp->body_case != DAXALLOC__ENVELOPE__BODY_PIN_REPLY ||
	    resp->pin_reply->n_pin_ids != k) {
		r = dx_fail(
			-EPROTO,
			"daxallocd answered a Pin of %zu ranges with %s (%zu ids)",
			k, envelope_type_name(resp->body_case),
			resp->body_case == DAXALLOC__ENVELOPE__BODY_PIN_REPLY ?
				resp->pin_reply->n_pin_ids :
				0);
		if (resp->body_case == DAXALLOC__ENVELOPE__BODY_PIN_REPLY)
			pin_give_back(dx, resp->pin_reply->pin_ids,
				      resp->pin_reply->n_pin_ids, false);
		envelope_free(resp);
		return r;
	}
	pr_reply = resp->pin_reply;
	pthread_mutex_lock(&dx->lock);
	r = pintab_reserve(&dx->pins, k);
	if (r == 0)
		pin_record(dx, pp, pr_reply->pin_ids, k);
	pthread_mutex_unlock(&dx->lock);
	if (r < 0) {
		r = dx_fail(r, "out of memory for %zu more pins", k);
		pin_give_back(dx, pr_reply->pin_ids, k, false);
		envelope_free(resp);
		return r;
	}
	memcpy(ids, pr_reply->pin_ids, k * sizeof(*ids));
	envelope_free(resp);
	return 0;
}

/* daxalloc_pin_batch -- pin many ranges (see daxalloc.h) */
DAXALLOC_EXPORT int daxalloc_pin_batch(struct daxalloc *dx,
				       const struct daxalloc_pin_range *ranges,
				       size_t n, uint64_t *pin_ids)
{
	Daxalloc__PinRange *pr;
	Daxalloc__PinRange **pp;
	size_t i, done, k, cap;
	int r;

	dx_clear_err();
	if (!dx || (n && (!ranges || !pin_ids)))
		return dx_fail(-EINVAL, "no connection, ranges or pin ids");
	if (!n)
		return 0;
	for (i = 0; i < n; i++) {
		const struct daxalloc_pin_range *rg = &ranges[i];

		if (!rg->ext || rg->ext->dx != dx)
			return dx_fail(
				-EINVAL,
				"range %zu: no handle, or a handle of another connection",
				i);
		if (!rg->length || rg->offset > UINT64_MAX - rg->length)
			return dx_fail(
				-EINVAL,
				"range %zu: %llu bytes at %llu: empty, or ending past 2^64",
				i, (unsigned long long)rg->length,
				(unsigned long long)rg->offset);
	}
	cap = n < DAXALLOC_PIN_BATCH_MAX ? n : DAXALLOC_PIN_BATCH_MAX;
	pr = malloc(cap * sizeof(*pr));
	pp = malloc(cap * sizeof(*pp));
	if (!pr || !pp) {
		r = dx_fail(-ENOMEM, "out of memory");
		goto out_free;
	}
	for (done = 0; done < n; done += k) {
		k = n - done < cap ? n - done : cap;
		r = pin_chunk(dx, ranges + done, k, pr, pp, pin_ids + done);
		if (r < 0)
			break;
	}
	if (r < 0) {
		memset(pin_ids + done, 0, (n - done) * sizeof(*pin_ids));
		/* All or nothing: what earlier requests pinned goes again. */
		if (done && pin_give_back(dx, pin_ids, done, true))
			memset(pin_ids, 0, done * sizeof(*pin_ids));
	}
out_free:
	free(pr);
	free(pp);
	return r;
}

/* daxalloc_pin -- pin one range (see daxalloc.h) */
DAXALLOC_EXPORT int daxalloc_pin(struct daxalloc_extent *ext, uint64_t offset,
				 uint64_t length, uint64_t *pin_id)
{
	struct daxalloc_pin_range rg = {
		.ext = ext,
		.offset = offset,
		.length = length,
	};

	if (!ext || !pin_id) {
		dx_clear_err();
		return dx_fail(-EINVAL,
			       "no extent handle or no place for the id");
	}
	return daxalloc_pin_batch(ext->dx, &rg, 1, pin_id);
}
