// SPDX-License-Identifier: Apache-2.0
/*
 * event.c -- the daemon's events: a pollable descriptor, dispatch, and
 * what the library does with a lease break or a revoke by default
 *
 * Whichever thread reads the socket (a call's leader, or dispatch) queues
 * the events in the session (session.c), which signals the descriptor of
 * daxalloc_event_fd().  daxalloc_dispatch() then runs the handler for
 * each one in the thread of the application's event loop, with no lock
 * held, so that a handler may stop its DMA, unpin, and call the library.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char *const event_reasons[] = {
	[DAXALLOC_BREAK_TRUNCATE] = "truncate",
	[DAXALLOC_BREAK_DELETE] = "delete",
	[DAXALLOC_BREAK_REVOKE] = "revoke",
};

/* event_reason_name -- printable name of a lease break's reason */
static const char *event_reason_name(int reason)
{
	if (reason < 0 ||
	    (size_t)reason >= sizeof(event_reasons) / sizeof(event_reasons[0]))
		return "unknown";
	return event_reasons[reason];
}

/* event_handle_of -- the first handle of dx on an extent, or NULL; lock held */
static struct daxalloc_extent *event_handle_of(struct daxalloc *dx,
					       uint64_t extent_id)
{
	struct daxalloc_extent *ext;

	if (!extent_id)
		return NULL;
	LIST_FOREACH(ext, &dx->extents, entry)
		if (ext->id == extent_id)
			return ext;
	return NULL;
}

/*
 * event_fill -- the public form of an event envelope
 *
 * Returns false for an event this library does not know (a newer daemon
 * would not send it: protocol versions are negotiated).
 */
static bool event_fill(struct daxalloc *dx, const Daxalloc__Envelope *env,
		       struct daxalloc_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	switch (env->body_case) {
	case DAXALLOC__ENVELOPE__BODY_LEASE_BREAK:
		ev->type = DAXALLOC_EVENT_LEASE_BREAK;
		ev->extent_id = env->lease_break->extent_id;
		ev->offset = env->lease_break->offset;
		ev->length = env->lease_break->length;
		ev->deadline_ms = env->lease_break->deadline_ms;
		ev->break_id = env->lease_break->break_id;
		ev->reason = (int)env->lease_break->reason;
		ev->reason_text = event_reason_name(ev->reason);
		break;
	case DAXALLOC__ENVELOPE__BODY_REVOKED:
		ev->type = DAXALLOC_EVENT_REVOKED;
		ev->extent_id = env->revoked->extent_id;
		ev->reason = DAXALLOC_BREAK_REVOKE;
		ev->reason_text = env->revoked->reason;
		break;
	default:
		return false;
	}
	pthread_mutex_lock(&dx->lock);
	ev->ext = event_handle_of(dx, ev->extent_id);
	pthread_mutex_unlock(&dx->lock);
	return true;
}

/*
 * event_lease_break -- unmap the broken range, ack once no pin holds it
 *
 * Every handle of dx on the extent loses the range: the tail for a
 * truncate, everything (the handle is dead) for a delete or revoke.
 */
static int event_lease_break(struct daxalloc *dx,
			     const struct daxalloc_event *ev)
{
	struct daxalloc_extent *ext;
	bool mine = false;
	int r;

	pthread_mutex_lock(&dx->lock);
	LIST_FOREACH(ext, &dx->extents, entry) {
		if (ext->id != ev->extent_id)
			continue;
		mine = true;
		if (ev->reason == DAXALLOC_BREAK_TRUNCATE)
			dx_extent_cut(ext, ev->offset);
		else
			dx_extent_kill(ext);
	}
	if (!mine)
		mine = dx_pinned(dx, ev->extent_id, ev->offset, ev->length);
	pthread_mutex_unlock(&dx->lock);
	/* Another connection of this process may hold it: not ours to ack. */
	if (!mine)
		return 0;
	r = dx_break_track(dx, ev->break_id, ev->extent_id, ev->offset,
			   ev->length);
	if (r < 0)
		return r;
	dx_send_acks(dx);
	return 0;
}

/* event_revoked -- the daemon ended our holds: unmap, forget the pins */
static int event_revoked(struct daxalloc *dx, const struct daxalloc_event *ev)
{
	struct daxalloc_extent *ext;

	pthread_mutex_lock(&dx->lock);
	LIST_FOREACH(ext, &dx->extents, entry)
		if (!ev->extent_id || ext->id == ev->extent_id)
			dx_extent_kill(ext);
	dx_pins_revoked(dx, ev->extent_id);
	dx_breaks_forget(dx, ev->extent_id);
	pthread_mutex_unlock(&dx->lock);
	return 0;
}

/* daxalloc_default_handler -- the library's handling (see daxalloc.h) */
DAXALLOC_EXPORT int daxalloc_default_handler(struct daxalloc *dx,
					     const struct daxalloc_event *ev,
					     void *arg)
{
	if (!dx || !ev)
		return 0;
	switch (ev->type) {
	case DAXALLOC_EVENT_LEASE_BREAK:
		return event_lease_break(dx, ev);
	case DAXALLOC_EVENT_REVOKED:
		return event_revoked(dx, ev);
	default:
		return 0;
	}
}

/* daxalloc_set_event_handler -- choose the handler (see daxalloc.h) */
DAXALLOC_EXPORT void daxalloc_set_event_handler(struct daxalloc *dx,
						daxalloc_event_fn fn, void *arg)
{
	if (!dx)
		return;
	pthread_mutex_lock(&dx->lock);
	dx->handler = fn;
	dx->handler_arg = arg;
	pthread_mutex_unlock(&dx->lock);
}

/* daxalloc_event_fd -- the pollable descriptor (see daxalloc.h) */
DAXALLOC_EXPORT int daxalloc_event_fd(struct daxalloc *dx)
{
	dx_clear_err();
	if (!dx)
		return dx_fail(-EINVAL, "no connection");
	return session_event_fd(dx->session, &dx_err);
}

/* daxalloc_dispatch -- handle what the daemon sent (see daxalloc.h) */
DAXALLOC_EXPORT int daxalloc_dispatch(struct daxalloc *dx)
{
	struct session_err pumped = { "" };
	struct daxalloc_event ev;
	Daxalloc__Envelope *env;
	daxalloc_event_fn fn;
	void *arg;
	int n = 0, r, q;

	dx_clear_err();
	if (!dx)
		return dx_fail(-EINVAL, "no connection");
	r = session_pump(dx->session, &pumped);
	/* Acks that could not be sent while the daemon was away. */
	if (r == 0)
		dx_send_acks(dx);
	for (;;) {
		q = session_pop_event(dx->session, &env, &dx_err);
		if (q <= 0)
			break;
		if (!event_fill(dx, env, &ev)) {
			envelope_free(env);
			continue;
		}
		pthread_mutex_lock(&dx->lock);
		fn = dx->handler ? dx->handler : daxalloc_default_handler;
		arg = dx->handler_arg;
		pthread_mutex_unlock(&dx->lock);
		q = fn(dx, &ev, arg);
		envelope_free(env);
		n++;
		if (q < 0) {
			/* The rest waits for the next call: poll says so. */
			session_kick(dx->session);
			return q;
		}
	}
	if (q < 0)
		return q;
	if (n)
		return n;
	if (r < 0)
		dx_err = pumped;
	return r;
}
