/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daxalloc.h -- libdaxalloc, the client library of daxallocd
 *
 * libdaxalloc talks to daxallocd, the allocator that owns a devdax
 * namespace (persistent or CXL memory), over its Unix socket.
 *
 * Conventions: functions return 0 (or a non-negative value) on success and
 * a negative errno on failure; daxalloc_errmsg() then tells, for the
 * calling thread, the daemon's or the library's explanation.  Objects are
 * opaque and created through an out parameter.
 *
 * Threads: one connection (struct daxalloc) may be used by any number of
 * threads at once; their requests travel concurrently on it.  One extent
 * handle (struct daxalloc_extent) must not be used by two threads at once;
 * different handles may (the event handler of daxalloc_dispatch() may
 * change a handle's mapping from its own thread: see there).  Close every
 * handle before daxalloc_disconnect(), and do not disconnect while another
 * thread is inside a call on the same connection.
 *
 * Daemon restarts: a connection reconnects by itself (see
 * daxalloc_dispatch() and docs/libdaxalloc.md); the daemon keeps this
 * process's leases and pins meanwhile, so handles, mappings and pin ids
 * stay valid.
 *
 * Trust: whoever holds the device descriptor can map the whole device; the
 * client socket's group is the trust boundary.  docs/libdaxalloc.md says
 * more.
 */
#ifndef DAXALLOC_H
#define DAXALLOC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define DAXALLOC_EXPORT __attribute__((visibility("default")))
#else
#define DAXALLOC_EXPORT
#endif

/* Environment variable naming the client socket when no path is given. */
#define DAXALLOC_SOCKET_ENV "DAXALLOC_SOCKET"

/* Longest extent name, in bytes, without the terminating NUL. */
#define DAXALLOC_NAME_MAX 175

/* A connection to daxallocd. */
struct daxalloc;

/* An extent this process has open (and, unless DAXALLOC_NO_MAP, mapped). */
struct daxalloc_extent;

/* Flags of daxalloc_alloc(), daxalloc_open() and daxalloc_open_id(). */
#define DAXALLOC_RDONLY 0x1u /* read-only: O_RDONLY descriptor, PROT_READ */
#define DAXALLOC_KEEP_FD 0x2u /* keep the device descriptor after mapping */
#define DAXALLOC_NO_MAP 0x4u /* do not map; implies DAXALLOC_KEEP_FD */

/* What daxalloc_stat() and daxalloc_list() tell about an extent. */
struct daxalloc_info {
	uint64_t id; /* never reused */
	uint64_t offset; /* bytes from the start of the device */
	uint64_t length; /* bytes, a multiple of the unit */
	uint32_t uid; /* owner */
	uint32_t gid;
	uint32_t mode; /* permission bits, like a file's */
	uint32_t flags; /* the daemon's flags for the extent */
	char name[DAXALLOC_NAME_MAX + 1]; /* "" when anonymous */
};

/* Flags of daxalloc_list(). */
#define DAXALLOC_LIST_OPENABLE 0x1u /* every extent the caller may open */

/*
 * Callback of daxalloc_list(): called once per extent; a non-zero return
 * stops the listing and becomes daxalloc_list()'s return value.
 */
typedef int (*daxalloc_list_fn)(const struct daxalloc_info *info, void *arg);

/**
 * daxalloc_connect() - connect to daxallocd and say Hello
 * @path: client socket; NULL means $DAXALLOC_SOCKET, else the default
 *        /run/daxallocd/daxalloc.sock
 * @dxp: on success, the new connection
 *
 * Connects, negotiates the protocol version and learns the daemon's
 * capabilities.  The socket is close-on-exec.
 *
 * Return: 0, or a negative errno: -ENOENT or -ECONNREFUSED when no daemon
 * listens, -EACCES without permission on the socket, -EPROTONOSUPPORT when
 * the daemon speaks no common protocol version, -ETIMEDOUT when it does
 * not answer.
 */
DAXALLOC_EXPORT int daxalloc_connect(const char *path, struct daxalloc **dxp);

/**
 * daxalloc_disconnect() - close a connection and free it
 * @dx: the connection, or NULL
 */
DAXALLOC_EXPORT void daxalloc_disconnect(struct daxalloc *dx);

/**
 * daxalloc_server_version() - the daemon's release, e.g. "0.1.0"
 * @dx: the connection
 *
 * Return: a string owned by @dx, valid until daxalloc_disconnect().
 */
DAXALLOC_EXPORT const char *daxalloc_server_version(const struct daxalloc *dx);

/**
 * daxalloc_protocol_version() - the protocol version negotiated by Hello
 * @dx: the connection
 */
DAXALLOC_EXPORT uint32_t daxalloc_protocol_version(const struct daxalloc *dx);

/**
 * daxalloc_session_id() - the daemon's number for this connection
 * @dx: the connection
 *
 * The same number appears in the daemon's log and in daxallocctl listings.
 */
DAXALLOC_EXPORT uint64_t daxalloc_session_id(const struct daxalloc *dx);

/**
 * daxalloc_unit() - the pool's allocation unit
 * @dx: the connection
 *
 * Every extent's offset and length is a multiple of it (2 MiB or 1 GiB on
 * a devdax namespace).
 *
 * Return: the unit in bytes, as the daemon's Hello reply said; 0 when the
 * daemon serves no pool.
 */
DAXALLOC_EXPORT uint64_t daxalloc_unit(const struct daxalloc *dx);

/* One range of daxalloc_pin_batch(). */
struct daxalloc_pin_range {
	struct daxalloc_extent *ext; /* a handle of the same connection */
	uint64_t offset; /* bytes from the start of the extent */
	uint64_t length; /* bytes, not 0 */
};

/* Ranges per Pin request, pin ids per Unpin request (one datagram each). */
#define DAXALLOC_PIN_BATCH_MAX 1536
#define DAXALLOC_UNPIN_BATCH_MAX 4096

/* What an event is (struct daxalloc_event.type). */
#define DAXALLOC_EVENT_LEASE_BREAK 1 /* a range left an extent we hold */
#define DAXALLOC_EVENT_REVOKED 2 /* our holds on an extent were ended */

/* Why (struct daxalloc_event.reason), as LeaseBreak.reason on the wire. */
#define DAXALLOC_BREAK_TRUNCATE 0 /* the tail [offset, end) was truncated */
#define DAXALLOC_BREAK_DELETE 1 /* the extent was deleted, or its owner ended */
#define DAXALLOC_BREAK_REVOKE 2 /* an administrator revokes the lease */

/*
 * An event the daemon pushed, as daxalloc_dispatch() hands it to the
 * handler.  Valid during the handler call only.
 */
struct daxalloc_event {
	int type; /* DAXALLOC_EVENT_* */
	uint64_t extent_id; /* REVOKED: 0 means every extent */
	/* This connection's handle of the extent, if it has one open (the
	 * first one, if several), else NULL. */
	struct daxalloc_extent *ext;
	uint64_t offset; /* LEASE_BREAK: the range, from the extent's start */
	uint64_t length;
	uint64_t deadline_ms; /* LEASE_BREAK: ack before (CLOCK_REALTIME) */
	uint64_t break_id; /* LEASE_BREAK: for daxalloc_break_ack() */
	int reason; /* DAXALLOC_BREAK_*; REVOKED: DAXALLOC_BREAK_REVOKE */
	const char *reason_text; /* "truncate"..., or the daemon's words */
};

/*
 * Event handler (daxalloc_set_event_handler()): 0, or a negative errno
 * that stops daxalloc_dispatch() and becomes its return value.
 */
typedef int (*daxalloc_event_fn)(struct daxalloc *dx,
				 const struct daxalloc_event *ev, void *arg);

/**
 * daxalloc_alloc() - allocate a new extent and map it
 * @dx: the connection
 * @name: a unique name (at most %DAXALLOC_NAME_MAX bytes), which makes the
 *        extent persist until deleted; NULL for an anonymous extent, freed
 *        when this process deletes it or exits
 * @size: bytes, rounded up by the daemon to the unit
 * @align: 0 for the unit, else a power of two the device offset is
 *         aligned to (e.g. 1 GiB)
 * @mode: permission bits (at most 0777) checked by daxalloc_open(),
 *        daxalloc_delete() and the rest like a file's; 0 means 0600
 * @flags: %DAXALLOC_KEEP_FD, %DAXALLOC_NO_MAP (%DAXALLOC_RDONLY is refused)
 * @out: on success, the new handle
 *
 * Unless %DAXALLOC_NO_MAP, the extent is mapped read-write, shared, at an
 * address aligned to min(unit, 1 GiB), and excluded from fork() children
 * (MADV_DONTFORK).  If the daemon granted the extent but the library
 * cannot map it, the extent is given back (a named one is closed and stays,
 * an anonymous one is deleted) and the error returned.
 *
 * Return: 0, or a negative errno: -EINVAL (bad size, alignment, mode or
 * flags), -ENAMETOOLONG, -EEXIST (the name is taken), -ENOSPC (no free run
 * that large; the message gives the largest), -EDQUOT (over the caller's
 * quota), -EACCES, -ENOMEM, -EPROTO (the daemon's reply makes no sense),
 * -ECONNRESET (the daemon went away with the request in flight: it may
 * have allocated the extent, which then stays until this process exits or
 * a named one is deleted), -EPIPE (the daemon cannot be reached), -ETIMEDOUT.
 */
DAXALLOC_EXPORT int daxalloc_alloc(struct daxalloc *dx, const char *name,
				   uint64_t size, uint64_t align,
				   unsigned int mode, unsigned int flags,
				   struct daxalloc_extent **out);

/**
 * daxalloc_open() - open an existing named extent and map it
 * @dx: the connection
 * @name: the extent's name
 * @flags: %DAXALLOC_RDONLY, %DAXALLOC_KEEP_FD, %DAXALLOC_NO_MAP
 * @out: on success, the new handle
 *
 * The daemon checks the caller's uid and gid against the extent's owner
 * and mode, like a file's.  With %DAXALLOC_RDONLY the device descriptor is
 * O_RDONLY and the mapping PROT_READ.  Mapping as for daxalloc_alloc(); if
 * it fails, the extent is closed again.
 *
 * Return: 0, or a negative errno: -ENOENT (no such extent), -EACCES,
 * -EINVAL, -ENAMETOOLONG, -ENOMEM, -EPROTO, -EPIPE, -ETIMEDOUT.
 */
DAXALLOC_EXPORT int daxalloc_open(struct daxalloc *dx, const char *name,
				  unsigned int flags,
				  struct daxalloc_extent **out);

/**
 * daxalloc_open_id() - open an existing extent by id and map it
 * @dx: the connection
 * @id: the extent's id
 * @flags: %DAXALLOC_RDONLY, %DAXALLOC_KEEP_FD, %DAXALLOC_NO_MAP
 * @out: on success, the new handle
 *
 * As daxalloc_open(); also opens anonymous extents the caller may open.
 *
 * Return: as daxalloc_open().
 */
DAXALLOC_EXPORT int daxalloc_open_id(struct daxalloc *dx, uint64_t id,
				     unsigned int flags,
				     struct daxalloc_extent **out);

/**
 * daxalloc_close() - unmap an extent, release it and free the handle
 * @ext: the handle
 *
 * Unmaps, closes a kept descriptor, tells the daemon (Close) and frees
 * @ext, even when the daemon cannot be told.  A named extent stays in the
 * pool; an anonymous one stays until this process deletes it or exits.
 * Pins on the extent stay until unpinned.  A dead handle (see
 * daxalloc_extent_dead()) is just freed: the daemon already ended the
 * lease.
 *
 * Return: 0, or a negative errno from the daemon (-EPIPE, -ETIMEDOUT...);
 * @ext is freed in every case.
 */
DAXALLOC_EXPORT int daxalloc_close(struct daxalloc_extent *ext);

/**
 * daxalloc_truncate() - shrink or grow an extent
 * @ext: a handle not opened %DAXALLOC_RDONLY
 * @size: the new size in bytes (non-zero), rounded up to the unit
 *
 * Shrinking unmaps the tail first (so this process no longer touches it
 * when the daemon frees it), then asks the daemon.  Growing asks the daemon
 * to grow the extent in place (-ENOSPC when its neighbour is taken), then
 * maps the new length: at the same address when the space after the
 * mapping is free, else at a new address, so re-read
 * daxalloc_extent_addr() afterwards.
 *
 * If a shrink fails after the tail was unmapped, the handle keeps the
 * shorter view: daxalloc_extent_length() reports what stays mapped.  If
 * the daemon grew the extent but the new length cannot be mapped, the old
 * mapping stays and the error is returned.
 *
 * Return: 0, or a negative errno: -EINVAL, -EBADF (a read-only handle),
 * -ESTALE (a dead handle), -ENOSPC, -EDQUOT, -EACCES, -ENOMEM, -EPROTO,
 * -ECONNRESET (the daemon went away with the request in flight), -EPIPE,
 * -ETIMEDOUT.
 */
DAXALLOC_EXPORT int daxalloc_truncate(struct daxalloc_extent *ext,
				      uint64_t size);

/**
 * daxalloc_delete() - unmap an extent, delete it and free the handle
 * @ext: the handle
 *
 * Unmaps, closes a kept descriptor, asks the daemon to delete the extent
 * and frees @ext, even when the daemon refuses.  The space returns to the
 * pool once no other process maps or pins it.
 *
 * Return: 0, or a negative errno: -EACCES (not the owner), -ENOENT,
 * -ESTALE (a dead handle: nothing is sent), -ECONNRESET, -EPIPE,
 * -ETIMEDOUT; @ext is freed in every case.
 */
DAXALLOC_EXPORT int daxalloc_delete(struct daxalloc_extent *ext);

/**
 * daxalloc_delete_name() - delete a named extent this process has not open
 * @dx: the connection
 * @name: the extent's name
 *
 * Return: 0, or a negative errno: -ENOENT, -EACCES, -EINVAL,
 * -ENAMETOOLONG, -EPIPE, -ETIMEDOUT.
 */
DAXALLOC_EXPORT int daxalloc_delete_name(struct daxalloc *dx, const char *name);

/**
 * daxalloc_extent_addr() - where the extent is mapped
 * @ext: the handle
 *
 * Return: the start of the mapping, aligned to min(unit, 1 GiB); NULL for
 * a %DAXALLOC_NO_MAP handle and a dead one.  daxalloc_truncate() may move
 * it.
 */
DAXALLOC_EXPORT void *daxalloc_extent_addr(const struct daxalloc_extent *ext);

/**
 * daxalloc_extent_length() - the extent's length as this handle sees it
 * @ext: the handle
 *
 * Return: bytes; for a mapped handle, exactly the bytes mapped at
 * daxalloc_extent_addr(); less after a lease break truncated the extent,
 * 0 for a dead handle.
 */
DAXALLOC_EXPORT uint64_t
daxalloc_extent_length(const struct daxalloc_extent *ext);

/**
 * daxalloc_extent_id() - the extent's id
 * @ext: the handle
 */
DAXALLOC_EXPORT uint64_t daxalloc_extent_id(const struct daxalloc_extent *ext);

/**
 * daxalloc_extent_offset() - the extent's offset on the device
 * @ext: the handle
 *
 * Return: bytes from the start of the device; what a caller passes to
 * mmap() with the descriptor of a %DAXALLOC_NO_MAP handle.
 */
DAXALLOC_EXPORT uint64_t
daxalloc_extent_offset(const struct daxalloc_extent *ext);

/**
 * daxalloc_extent_fd() - the device descriptor a handle kept
 * @ext: the handle
 *
 * The descriptor (close-on-exec) stays owned by @ext and is closed by
 * daxalloc_close() or daxalloc_delete().  It maps the whole device: map
 * only [offset, offset + length).
 *
 * Return: the descriptor with %DAXALLOC_KEEP_FD or %DAXALLOC_NO_MAP, else
 * -1.
 */
DAXALLOC_EXPORT int daxalloc_extent_fd(const struct daxalloc_extent *ext);

/**
 * daxalloc_extent_dead() - has the extent been taken away from this handle?
 * @ext: the handle
 *
 * A lease break for the whole extent (it was deleted, or an administrator
 * revoked it) or a Revoked event, handled by daxalloc_default_handler(),
 * unmaps the handle and marks it dead: daxalloc_extent_addr() is then
 * NULL, daxalloc_extent_length() 0, every call on it fails with -ESTALE,
 * and daxalloc_close() frees it without asking the daemon.
 *
 * Return: 1 when dead, else 0.
 */
DAXALLOC_EXPORT int daxalloc_extent_dead(const struct daxalloc_extent *ext);

/**
 * daxalloc_pin() - declare that DMA may target a range of an extent
 * @ext: the handle (not dead)
 * @offset: bytes from the start of the extent
 * @length: bytes, not 0; offset and length need not be unit-aligned
 * @pin_id: on success, the pin's id, for daxalloc_unpin()
 *
 * While a pin holds a range, the daemon never hands it to anyone else:
 * a truncate or delete of the extent (by any process) sends the range to
 * the quarantine until the pin is released.  Pin before programming a
 * device with addresses of the range; unpin when its DMA completed.  Pins
 * belong to the process and survive a daemon restart.  The library keeps
 * a table of this connection's pins, so that it knows when a lease break
 * may be acknowledged (see daxalloc_default_handler()).
 *
 * Return: 0, or a negative errno: -EINVAL (length 0, a range that ends
 * past 2^64 or, from the daemon, outside the extent), -ESTALE (a dead
 * handle), -ENOENT (the extent is gone), -EPERM (no lease on the extent,
 * or a revoked one), -EDQUOT (the daemon's per-process pin limit), -ENOSPC
 * (the daemon's pin table is full), -ENOMEM, -EPROTO, -ECONNRESET (the
 * daemon went away with the request in flight: it may or may not be
 * pinned), -EPIPE, -ETIMEDOUT.
 */
DAXALLOC_EXPORT int daxalloc_pin(struct daxalloc_extent *ext, uint64_t offset,
				 uint64_t length, uint64_t *pin_id);

/**
 * daxalloc_unpin() - release a pin: the DMA on its range completed
 * @dx: the connection that pinned it
 * @pin_id: from daxalloc_pin() or daxalloc_pin_batch()
 *
 * If the pin was the last one holding back a lease break, the break is
 * acknowledged before this returns.  A pin the daemon ended itself
 * (Revoked) is released locally.  Safe to repeat after a reconnect: when
 * the connection broke with the Unpin in flight, the library sends it
 * again, and an -ENOENT then means the first one was applied.
 *
 * Return: 0, or a negative errno: -ENOENT (no such pin), -EPERM (a pin of
 * another process), -EPIPE, -ETIMEDOUT.
 */
DAXALLOC_EXPORT int daxalloc_unpin(struct daxalloc *dx, uint64_t pin_id);

/**
 * daxalloc_pin_batch() - pin many ranges at once
 * @dx: the connection
 * @ranges: @n ranges, each on a handle of @dx
 * @n: how many; 0 does nothing
 * @pin_ids: @n slots: on success, the pins' ids in the order of @ranges
 *
 * The ranges travel in requests of at most %DAXALLOC_PIN_BATCH_MAX ranges
 * (one datagram each).  Each request is all or nothing in the daemon.
 * When a later request fails, the library unpins what the earlier ones
 * pinned, so the call as a whole pins all or nothing; only if that
 * unpinning fails too (the connection broke) do some ranges stay pinned,
 * and then exactly the slots of @pin_ids that are not 0 hold their ids
 * (the message says so).  A request in flight when the connection broke
 * may have pinned ranges whose ids the library never learns; they are
 * released when the process exits.
 *
 * Return: 0, or a negative errno as daxalloc_pin().
 */
DAXALLOC_EXPORT int daxalloc_pin_batch(struct daxalloc *dx,
				       const struct daxalloc_pin_range *ranges,
				       size_t n, uint64_t *pin_ids);

/**
 * daxalloc_unpin_batch() - release many pins at once
 * @dx: the connection that pinned them
 * @pin_ids: @n pin ids
 * @n: how many; 0 does nothing
 *
 * The ids travel in requests of at most %DAXALLOC_UNPIN_BATCH_MAX, each
 * all or nothing in the daemon; when one fails, the ids of the earlier
 * requests stay released (the message tells how many).  Lease breaks that
 * waited for these pins are acknowledged before this returns.
 *
 * Return: 0, or a negative errno as daxalloc_unpin().
 */
DAXALLOC_EXPORT int daxalloc_unpin_batch(struct daxalloc *dx,
					 const uint64_t *pin_ids, size_t n);

/**
 * daxalloc_event_fd() - a descriptor to poll for the daemon's events
 * @dx: the connection
 *
 * Readable (POLLIN) when daxalloc_dispatch() has something to do: the
 * daemon sent something, an event was queued (by whichever thread read
 * it), the connection broke, or it is time for the next reconnect
 * attempt.  Owned by @dx (do not close it), close-on-exec, the same
 * descriptor for the life of @dx, across reconnects.  Reading it is
 * daxalloc_dispatch()'s business.
 *
 * Return: the descriptor, or a negative errno (-EMFILE, -ENOMEM).
 */
DAXALLOC_EXPORT int daxalloc_event_fd(struct daxalloc *dx);

/**
 * daxalloc_dispatch() - handle the daemon's events, without waiting
 * @dx: the connection
 *
 * Reads what the socket holds if no other thread is reading it (replies
 * go to the calls that wait for them), reconnects if the connection broke
 * (one attempt per call; a failed one makes the event descriptor readable
 * again at the next attempt, after 50 ms doubling to 1 s), acknowledges
 * lease breaks whose ack is due, then runs the handler for each queued
 * event in order, with no lock held: the handler may call the library.
 * Several threads may dispatch at once; each event goes to one of them.
 *
 * Return: the number of events handled (0: none), or a negative errno:
 * the handler's, -ENOBUFS when events were dropped because more than
 * 65536 waited (the message says so once), -EPIPE when the daemon cannot
 * be reached (the library keeps trying: poll on).
 */
DAXALLOC_EXPORT int daxalloc_dispatch(struct daxalloc *dx);

/**
 * daxalloc_set_event_handler() - choose the function daxalloc_dispatch() runs
 * @dx: the connection
 * @fn: the handler, or NULL for daxalloc_default_handler()
 * @arg: passed to @fn
 *
 * A handler that does its own work first (stop the DMA, flush...) can
 * call daxalloc_default_handler() for the rest.
 */
DAXALLOC_EXPORT void daxalloc_set_event_handler(struct daxalloc *dx,
						daxalloc_event_fn fn,
						void *arg);

/**
 * daxalloc_default_handler() - what the library does with an event
 * @dx: the connection
 * @ev: the event
 * @arg: unused
 *
 * A lease break on an extent @dx has open, or on which it holds pins:
 * every handle of @dx on the extent is unmapped from the broken range
 * (truncate: the pages from @ev->offset on, the rest stays mapped and
 * daxalloc_extent_length() shrinks; delete and revoke: all of it, and the
 * handle is dead, see daxalloc_extent_dead()).  Then the break is
 * acknowledged as soon as no pin of @dx overlaps the range: at once, or
 * by the daxalloc_unpin() or daxalloc_unpin_batch() that releases the
 * last such pin.  A lease break on an extent @dx neither has open nor
 * pins is ignored (another connection of the process may have it).
 *
 * A Revoked event: every handle of @dx on the extent (or on every extent,
 * for extent 0) is unmapped and dead, and the pins there are forgotten
 * (the daemon ended them; unpinning them later is a local no-op).
 *
 * Handles opened %DAXALLOC_NO_MAP are marked as above, but mappings the
 * application made itself are its own to remove: such applications need
 * their own handler.
 *
 * Return: 0.
 */
DAXALLOC_EXPORT int daxalloc_default_handler(struct daxalloc *dx,
					     const struct daxalloc_event *ev,
					     void *arg);

/**
 * daxalloc_break_ack() - acknowledge a lease break
 * @dx: the connection
 * @break_id: from the event
 *
 * Tells the daemon that this process no longer maps the range (and that
 * its DMA there is over).  For a revoke, the ack also ends the lease.
 * daxalloc_default_handler() acknowledges by itself; a handler of its own
 * calls this once it has unmapped and unpinned.
 *
 * Return: 0, or a negative errno: -ENOENT (no such break pending: already
 * acknowledged, or resolved otherwise), -EPIPE, -ETIMEDOUT.
 */
DAXALLOC_EXPORT int daxalloc_break_ack(struct daxalloc *dx, uint64_t break_id);

/**
 * daxalloc_stat() - describe a named extent
 * @dx: the connection
 * @name: the extent's name
 * @info: filled in on success
 *
 * Return: 0, or a negative errno: -ENOENT, -EACCES, -EINVAL,
 * -ENAMETOOLONG, -EPROTO, -EPIPE, -ETIMEDOUT.
 */
DAXALLOC_EXPORT int daxalloc_stat(struct daxalloc *dx, const char *name,
				  struct daxalloc_info *info);

/**
 * daxalloc_stat_id() - describe an extent by id
 * @dx: the connection
 * @id: the extent's id
 * @info: filled in on success
 *
 * Return: as daxalloc_stat().
 */
DAXALLOC_EXPORT int daxalloc_stat_id(struct daxalloc *dx, uint64_t id,
				     struct daxalloc_info *info);

/**
 * daxalloc_list() - call a function for each extent, in id order
 * @dx: the connection
 * @flags: 0 for the caller's own extents, %DAXALLOC_LIST_OPENABLE for
 *         every extent the caller may open
 * @fn: called once per extent; may call libdaxalloc itself
 * @arg: passed to @fn
 *
 * The daemon answers page by page; extents made or deleted during the
 * listing may or may not appear.
 *
 * Return: 0 after the last extent, @fn's value if it returned non-zero,
 * or a negative errno: -EINVAL, -EPROTO, -EPIPE, -ETIMEDOUT.
 */
DAXALLOC_EXPORT int daxalloc_list(struct daxalloc *dx, unsigned int flags,
				  daxalloc_list_fn fn, void *arg);

/**
 * daxalloc_errmsg() - explanation of the calling thread's last failure
 *
 * Every call that can fail clears it first.
 *
 * Return: the daemon's message for the last failed call made by this
 * thread, or the library's own; "" when there is none.  The string stays
 * valid until this thread's next call into libdaxalloc.
 */
DAXALLOC_EXPORT const char *daxalloc_errmsg(void);

/**
 * daxalloc_strerror() - describe a negative errno returned by libdaxalloc
 * @err: a negative (or positive) errno value
 *
 * Return: a constant string; thread-safe.
 */
DAXALLOC_EXPORT const char *daxalloc_strerror(int err);

/**
 * daxalloc_version() - the library's release, e.g. "0.1.0"
 */
DAXALLOC_EXPORT const char *daxalloc_version(void);

#ifdef __cplusplus
}
#endif

#endif /* DAXALLOC_H */
