/* SPDX-License-Identifier: Apache-2.0 */
/*
 * internal.h -- what the files of libdaxalloc share; not installed
 *
 * daxalloc.c holds connections and extents, pin.c pins and the lease
 * breaks that wait for them, event.c the event descriptor, dispatch and
 * the default handler; pintab.c is the table of pins.
 *
 * Locking: dx->lock protects the list of handles and each handle's
 * mapping (addr, length, dead), the pin table, the pending breaks and the
 * handler.  It is never held across a request to the daemon (those take
 * the session's lock, in session.c), nor while a handler runs.  A mapping
 * is changed or unmapped only under it, so that two threads never unmap
 * the same addresses (the second could hit an unrelated new mapping).
 */
#ifndef DAXALLOC_INTERNAL_H
#define DAXALLOC_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "daxalloc.h"
#include "pintab.h"
#include "session.h"

/* Events the library keeps for daxalloc_dispatch(); more are dropped. */
#define DX_EVENTS_MAX 65536

/* dx_call() flags: the request may be sent again after a reconnect. */
#define DX_IDEMPOTENT 0x1u

struct daxalloc_extent {
	LIST_ENTRY(daxalloc_extent) entry; /* on dx->extents */
	struct daxalloc *dx;
	uint64_t id;
	uint64_t offset;
	uint64_t length; /* the handle's view; bytes mapped at addr if mapped */
	void *addr; /* NULL with DAXALLOC_NO_MAP, or once dead */
	int fd; /* kept device fd, or -1 */
	unsigned int flags;
	bool dead; /* deleted or revoked under us: only close is left */
};

/*
 * A lease break this connection still has to acknowledge: it waits for
 * the pins that overlap its range, then for its ack to go through.
 */
struct dx_break {
	struct dx_break *next;
	uint64_t break_id;
	uint64_t extent_id;
	uint64_t offset; /* extent-relative */
	uint64_t length;
	uint64_t pins; /* this connection's pins that overlap the range */
	bool sending; /* a thread is sending its ack */
};

struct daxalloc {
	struct session *session;
	pthread_mutex_t lock; /* see above */
	LIST_HEAD(, daxalloc_extent) extents;
	struct pintab pins;
	struct dx_break *breaks;
	daxalloc_event_fn handler; /* NULL: daxalloc_default_handler() */
	void *handler_arg;
};

/* The calling thread's last explanation, for daxalloc_errmsg(). */
extern __thread struct session_err dx_err;

void dx_clear_err(void);
int dx_fail(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void dx_append_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int dx_call(struct daxalloc *dx, Daxalloc__Envelope *req,
	    Daxalloc__Envelope **resp, int *fd, unsigned int flags,
	    bool *retried);
int dx_call_simple(struct daxalloc *dx, Daxalloc__Envelope *req,
		   unsigned int flags, bool *retried);

void dx_extent_cut(struct daxalloc_extent *ext, uint64_t length);
void dx_extent_kill(struct daxalloc_extent *ext);

bool dx_conn_error(int err);
int dx_break_track(struct daxalloc *dx, uint64_t break_id, uint64_t extent_id,
		   uint64_t offset, uint64_t length);
void dx_breaks_forget(struct daxalloc *dx, uint64_t extent_id);
void dx_pins_revoked(struct daxalloc *dx, uint64_t extent_id);
bool dx_pinned(struct daxalloc *dx, uint64_t extent_id, uint64_t offset,
	       uint64_t length);
void dx_send_acks(struct daxalloc *dx);
void dx_breaks_free(struct daxalloc *dx);

#endif /* DAXALLOC_INTERNAL_H */
