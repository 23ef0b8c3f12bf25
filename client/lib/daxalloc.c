// SPDX-License-Identifier: Apache-2.0
/*
 * daxalloc.c -- libdaxalloc's public API
 *
 * Requests go through session.c, which lets many threads share one
 * connection.  Extents are mapped here: the daemon passes the device fd
 * with every Alloc and Open reply (and with a Truncate that grew), the
 * library maps exactly the extent and, unless asked to keep it, closes the
 * fd at once.  Whatever the daemon granted is given back when the library
 * fails afterwards, so that no failure leaves an extent behind.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "daxalloc-config.h"
#include "daxalloc.h"
#include "internal.h"
#include "session.h"

/* The strongest address alignment the library arranges for a mapping. */
#define DAXALLOC_MAP_ALIGN_MAX (1ull << 30)
/* Units from this size up must be mapped at unit-aligned addresses. */
#define DAXALLOC_HUGE_UNIT (2ull << 20)

#define DAXALLOC_OPEN_FLAGS \
	(DAXALLOC_RDONLY | DAXALLOC_KEEP_FD | DAXALLOC_NO_MAP)

/* The calling thread's last explanation, for daxalloc_errmsg(). */
__thread struct session_err dx_err;

/* dx_clear_err -- a new call starts with no explanation */
void dx_clear_err(void)
{
	dx_err.msg[0] = '\0';
}

/* dx_fail -- set the calling thread's explanation and return err */
int dx_fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dx_err.msg, sizeof(dx_err.msg), fmt, ap);
	va_end(ap);
	return err;
}

/* dx_append_err -- add to the calling thread's explanation */
void dx_append_err(const char *fmt, ...)
{
	size_t len = strlen(dx_err.msg);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dx_err.msg + len, sizeof(dx_err.msg) - len, fmt, ap);
	va_end(ap);
}

/* dx_conn_error -- does err say the connection, not the request, failed? */
bool dx_conn_error(int err)
{
	return err == -ECONNRESET || err == -EPIPE;
}

/* daxalloc_errmsg -- the calling thread's last explanation (see daxalloc.h) */
DAXALLOC_EXPORT const char *daxalloc_errmsg(void)
{
	return dx_err.msg;
}

/* daxalloc_strerror -- describe an errno, thread-safe (see daxalloc.h) */
DAXALLOC_EXPORT const char *daxalloc_strerror(int err)
{
	const char *s;

	if (err < 0)
		err = -err;
	s = strerrordesc_np(err);
	return s ? s : "Unknown error";
}

/* daxalloc_version -- the library's release (see daxalloc.h) */
DAXALLOC_EXPORT const char *daxalloc_version(void)
{
	return DAXALLOC_VERSION;
}

/* daxalloc_program_name -- our name for the daemon's logs */
static const char *daxalloc_program_name(void)
{
	extern char *program_invocation_short_name;

	return program_invocation_short_name;
}

/* daxalloc_connect -- connect to daxallocd and say Hello (see daxalloc.h) */
DAXALLOC_EXPORT int daxalloc_connect(const char *path, struct daxalloc **dxp)
{
	/*
	 * The daemon keeps our leases and pins across its restarts, so the
	 * session reconnects; lease breaks must not be dropped while the
	 * application is busy, so the queue is large.
	 */
	static const struct session_opts opts = {
		.capabilities = DAXALLOC__CAPABILITY__CAP_LEASE_BREAK |
				DAXALLOC__CAPABILITY__CAP_PIN_BATCH,
		.reconnect = true,
		.events_max = DX_EVENTS_MAX,
	};
	struct daxalloc *dx;
	int r;

	dx_clear_err();
	if (!dxp)
		return dx_fail(-EINVAL, "no place for the connection");
	if (!path)
		path = getenv(DAXALLOC_SOCKET_ENV);
	if (!path || !*path)
		path = DAXALLOC_DEFAULT_SOCKET;
	dx = calloc(1, sizeof(*dx));
	if (!dx)
		return dx_fail(-ENOMEM, "out of memory");
	pthread_mutex_init(&dx->lock, NULL);
	LIST_INIT(&dx->extents);
	r = session_open_opts(path, daxalloc_program_name(), &opts,
			      &dx->session, &dx_err);
	if (r < 0) {
		pthread_mutex_destroy(&dx->lock);
		free(dx);
		return r;
	}
	*dxp = dx;
	return 0;
}

/* daxalloc_disconnect -- close a connection and free it (see daxalloc.h) */
DAXALLOC_EXPORT void daxalloc_disconnect(struct daxalloc *dx)
{
	if (!dx)
		return;
	session_close(dx->session);
	dx_breaks_free(dx);
	pintab_fini(&dx->pins);
	pthread_mutex_destroy(&dx->lock);
	free(dx);
}

/* daxalloc_server_version -- the daemon's release (see daxalloc.h) */
DAXALLOC_EXPORT const char *daxalloc_server_version(const struct daxalloc *dx)
{
	const char *v;

	/* A reconnect may replace it; the old string stays valid. */
	pthread_mutex_lock(&dx->session->lock);
	v = dx->session->server_version;
	pthread_mutex_unlock(&dx->session->lock);
	return v;
}

/* daxalloc_protocol_version -- the negotiated protocol version (see daxalloc.h) */
DAXALLOC_EXPORT uint32_t daxalloc_protocol_version(const struct daxalloc *dx)
{
	uint32_t v;

	pthread_mutex_lock(&dx->session->lock);
	v = dx->session->version;
	pthread_mutex_unlock(&dx->session->lock);
	return v;
}

/* daxalloc_session_id -- the daemon's number for this connection (see daxalloc.h) */
DAXALLOC_EXPORT uint64_t daxalloc_session_id(const struct daxalloc *dx)
{
	uint64_t v;

	pthread_mutex_lock(&dx->session->lock);
	v = dx->session->session_id;
	pthread_mutex_unlock(&dx->session->lock);
	return v;
}

/* daxalloc_unit -- the pool's allocation unit (see daxalloc.h) */
DAXALLOC_EXPORT uint64_t daxalloc_unit(const struct daxalloc *dx)
{
	uint64_t v;

	pthread_mutex_lock(&dx->session->lock);
	v = dx->session->unit;
	pthread_mutex_unlock(&dx->session->lock);
	return v;
}

/* daxalloc_check_name -- a name the daemon could hold, else -errno */
static int daxalloc_check_name(const char *name)
{
	if (!name || !*name)
		return dx_fail(-EINVAL, "an extent name must not be empty");
	if (strlen(name) > DAXALLOC_NAME_MAX)
		return dx_fail(-ENAMETOOLONG,
			       "extent name longer than %d bytes",
			       DAXALLOC_NAME_MAX);
	return 0;
}

/*
 * dx_call -- one request; fd (if not NULL) receives at most one fd
 *
 * With DX_IDEMPOTENT, a request whose connection broke while it was in
 * flight (-ECONNRESET) is sent once more after reconnecting; *retried (if
 * not NULL) tells the caller, which may have to read -ENOENT as "the
 * first one was applied".
 */
int dx_call(struct daxalloc *dx, Daxalloc__Envelope *req,
	    Daxalloc__Envelope **resp, int *fd, unsigned int flags,
	    bool *retried)
{
	unsigned int n = 0;
	int fds[1] = { -1 };
	int r;

	if (retried)
		*retried = false;
	r = session_call(dx->session, req, resp, fds, fd ? 1 : 0, &n, &dx_err);
	if (r == -ECONNRESET && (flags & DX_IDEMPOTENT)) {
		if (retried)
			*retried = true;
		r = session_call(dx->session, req, resp, fds, fd ? 1 : 0, &n,
				 &dx_err);
	}
	if (fd)
		*fd = r == 0 && n ? fds[0] : -1;
	return r;
}

/* dx_call_simple -- a request whose reply has no body to look at */
int dx_call_simple(struct daxalloc *dx, Daxalloc__Envelope *req,
		   unsigned int flags, bool *retried)
{
	Daxalloc__Envelope *resp;
	int r;

	r = dx_call(dx, req, &resp, NULL, flags, retried);
	if (r == 0)
		envelope_free(resp);
	return r;
}

/*
 * daxalloc_send_close -- Close (the extent stays)
 *
 * again: the Close may be sent a second time after a reconnect, because
 * no other handle of this connection holds the extent (a second Close
 * applied would release that handle's open too).
 */
static int daxalloc_send_close(struct daxalloc *dx, uint64_t id, bool again)
{
	bool retried;
	int r;

	Daxalloc__Envelope req = DAXALLOC__ENVELOPE__INIT;
	Daxalloc__CloseRequest c = DAXALLOC__CLOSE_REQUEST__INIT;

	c.extent_id = id;
	req.body_case = DAXALLOC__ENVELOPE__BODY_CLOSE;
	req.close = &c;
	r = dx_call_simple(dx, &req, again ? DX_IDEMPOTENT : 0, &retried);
	/* The first one was applied before the connection broke. */
	if (r == -ENOENT && retried)
		r = 0;
	return r;
}

/* daxalloc_send_delete -- Delete by id, or by name when name is set */
static int daxalloc_send_delete(struct daxalloc *dx, uint64_t id,
				const char *name)
{
	Daxalloc__Envelope req = DAXALLOC__ENVELOPE__INIT;
	Daxalloc__DeleteRequest d = DAXALLOC__DELETE_REQUEST__INIT;

	if (name) {
		d.key_case = DAXALLOC__DELETE_REQUEST__KEY_NAME;
		d.name = (char *)name;
	} else {
		d.key_case = DAXALLOC__DELETE_REQUEST__KEY_EXTENT_ID;
		d.extent_id = id;
	}
	req.body_case = DAXALLOC__ENVELOPE__BODY_DELETE;
	req.delete_ = &d;
	return dx_call_simple(dx, &req, 0, NULL);
}

/*
 * daxalloc_give_back -- release an extent granted to a call that then failed
 *
 * A named extent is closed (it stays in the pool); an anonymous one
 * belongs to this process and would stay until it exits, so it is deleted.
 * The first failure's explanation is kept, and says what was done.
 */
static void daxalloc_give_back(struct daxalloc *dx, uint64_t id, bool delete)
{
	struct session_err first = dx_err;
	size_t len = strlen(first.msg);
	int r;

	r = delete ? daxalloc_send_delete(dx, id, NULL) :
		     daxalloc_send_close(dx, id, false);
	if (r == 0)
		snprintf(first.msg + len, sizeof(first.msg) - len,
			 " (extent %llu %s again)", (unsigned long long)id,
			 delete ? "deleted" : "closed");
	else
		snprintf(first.msg + len, sizeof(first.msg) - len,
			 " (and extent %llu could not be %s: %.100s)",
			 (unsigned long long)id, delete ? "deleted" : "closed",
			 dx_err.msg);
	dx_err = first;
}

/*
 * daxalloc_reply_extent -- the Extent of an ExtentReply, or NULL
 *
 * Says why in the thread's explanation when there is none.
 */
static const Daxalloc__Extent *
daxalloc_reply_extent(const Daxalloc__Envelope *resp, const char *what)
{
	if (resp->body_case != DAXALLOC__ENVELOPE__BODY_EXTENT_REPLY ||
	    !resp->extent_reply->extent) {
		dx_fail(-EPROTO, "daxallocd answered %s with %s", what,
			envelope_type_name(resp->body_case));
		return NULL;
	}
	return resp->extent_reply->extent;
}

/*
 * daxalloc_check_extent -- does an extent the daemon describes make sense?
 *
 * Its range must be whole units (pages at least: it is mapped as is) and
 * fit a 64-bit offset.
 */
static int daxalloc_check_extent(const struct daxalloc *dx,
				 const Daxalloc__Extent *x, const char *what)
{
	uint64_t unit = daxalloc_unit(dx);
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);

	if (!x->length || x->offset > (uint64_t)INT64_MAX - x->length ||
	    x->offset % page || x->length % page ||
	    (unit && (x->offset % unit || x->length % unit)))
		return dx_fail(
			-EPROTO,
			"daxallocd answered %s with extent %llu at %#llx+%#llx, not whole units of %#llx",
			what, (unsigned long long)x->id,
			(unsigned long long)x->offset,
			(unsigned long long)x->length,
			(unsigned long long)unit);
	if (strlen(x->name) > DAXALLOC_NAME_MAX)
		return dx_fail(
			-EPROTO,
			"daxallocd answered %s with a name longer than %d bytes",
			what, DAXALLOC_NAME_MAX);
	return 0;
}

/* daxalloc_map_align -- the address alignment for mappings: min(unit, 1 GiB) */
static uint64_t daxalloc_map_align(const struct daxalloc *dx)
{
	uint64_t unit = daxalloc_unit(dx);
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);

	if (!unit || unit & (unit - 1) || unit <= page)
		return page;
	return unit < DAXALLOC_MAP_ALIGN_MAX ? unit : DAXALLOC_MAP_ALIGN_MAX;
}

/* daxalloc_dontfork -- keep a mapping out of fork() children, or unmap it */
static int daxalloc_dontfork(void *addr, size_t len)
{
	int r;

	if (madvise(addr, len, MADV_DONTFORK) == 0)
		return 0;
	r = -errno;
	munmap(addr, len);
	return dx_fail(r, "madvise(MADV_DONTFORK): %s", strerror(-r));
}

/*
 * daxalloc_map -- map [offset, offset + length) of fd, shared
 *
 * The kernel aligns a file mapping to pages only; huge-page mappings need
 * the address aligned to the unit.  So an over-sized PROT_NONE region is
 * reserved, the extent mapped with MAP_FIXED at the aligned address inside
 * it, and the slack on both sides unmapped.
 */
static int daxalloc_map(const struct daxalloc *dx, int fd, uint64_t offset,
			uint64_t length, bool rdonly, void **addrp)
{
	uint64_t align = daxalloc_map_align(dx);
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	int prot = PROT_READ | (rdonly ? 0 : PROT_WRITE);
	uintptr_t base = 0, start;
	size_t len, rlen = 0;
	void *p;
	int r;

	if (length > SIZE_MAX - align)
		return dx_fail(-ENOMEM, "extent of %llu bytes too large to map",
			       (unsigned long long)length);
	len = (size_t)length;
	if (align > page) {
		void *res;

		rlen = len + (size_t)align;
		res = mmap(NULL, rlen, PROT_NONE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (res == MAP_FAILED)
			return dx_fail(
				-errno,
				"cannot reserve %zu bytes of address space: %s",
				rlen, strerror(errno));
		base = (uintptr_t)res;
		start = (base + (uintptr_t)align - 1) & ~((uintptr_t)align - 1);
		p = mmap((void *)start, len, prot, MAP_SHARED | MAP_FIXED, fd,
			 (off_t)offset);
		if (p == MAP_FAILED) {
			r = -errno;
			munmap(res, rlen);
			goto err_map;
		}
		if (start > base)
			munmap(res, start - base);
		if (base + rlen > start + len)
			munmap((void *)(start + len),
			       base + rlen - (start + len));
	} else {
		p = mmap(NULL, len, prot, MAP_SHARED, fd, (off_t)offset);
		if (p == MAP_FAILED) {
			r = -errno;
			goto err_map;
		}
	}
	if (daxalloc_unit(dx) >= DAXALLOC_HUGE_UNIT && (uintptr_t)p % align) {
		munmap(p, len);
		return dx_fail(-EFAULT, "mapping at %p is not aligned to %#llx",
			       p, (unsigned long long)align);
	}
	r = daxalloc_dontfork(p, len);
	if (r < 0)
		return r;
	*addrp = p;
	return 0;

err_map:
	return dx_fail(r, "cannot map %llu bytes at device offset %#llx: %s",
		       (unsigned long long)length, (unsigned long long)offset,
		       strerror(-r));
}

/*
 * daxalloc_map_after -- map more of an extent right after its mapping
 *
 * Only where nothing is mapped yet (MAP_FIXED_NOREPLACE); -EEXIST when the
 * address is taken, and the caller maps the whole extent elsewhere.
 */
static int daxalloc_map_after(struct daxalloc_extent *ext, int fd,
			      uint64_t more)
{
	int prot = PROT_READ | (ext->flags & DAXALLOC_RDONLY ? 0 : PROT_WRITE);
	void *want = (char *)ext->addr + ext->length;
	void *p;

	p = mmap(want, (size_t)more, prot, MAP_SHARED | MAP_FIXED_NOREPLACE, fd,
		 (off_t)(ext->offset + ext->length));
	if (p == MAP_FAILED)
		return -errno;
	if (p != want) {
		/* A kernel older than MAP_FIXED_NOREPLACE took it as a hint. */
		munmap(p, (size_t)more);
		return -EEXIST;
	}
	return daxalloc_dontfork(p, (size_t)more);
}

/*
 * daxalloc_extent_new -- a handle for extent x, mapped as flags say
 *
 * Takes fd: kept in the handle or closed, on success and failure alike.
 * On failure the caller gives the extent back.
 */
static int daxalloc_extent_new(struct daxalloc *dx, const Daxalloc__Extent *x,
			       int fd, unsigned int flags,
			       struct daxalloc_extent **out)
{
	struct daxalloc_extent *ext;
	int r;

	if (flags & DAXALLOC_NO_MAP)
		flags |= DAXALLOC_KEEP_FD;
	ext = calloc(1, sizeof(*ext));
	if (!ext) {
		r = dx_fail(-ENOMEM, "out of memory");
		goto err_close;
	}
	ext->dx = dx;
	ext->id = x->id;
	ext->offset = x->offset;
	ext->length = x->length;
	ext->flags = flags;
	ext->fd = -1;
	if (!(flags & DAXALLOC_NO_MAP)) {
		r = daxalloc_map(dx, fd, x->offset, x->length,
				 flags & DAXALLOC_RDONLY, &ext->addr);
		if (r < 0)
			goto err_free;
	}
	if (flags & DAXALLOC_KEEP_FD)
		ext->fd = fd;
	else
		close(fd);
	/* Listed: lease breaks and revokes find their handles here. */
	pthread_mutex_lock(&dx->lock);
	LIST_INSERT_HEAD(&dx->extents, ext, entry);
	pthread_mutex_unlock(&dx->lock);
	*out = ext;
	return 0;

err_free:
	free(ext);
err_close:
	close(fd);
	return r;
}

/*
 * daxalloc_grant -- turn an Alloc or Open reply into a mapped handle
 *
 * Takes resp and fd.  Anything wrong after the daemon granted the extent
 * gives it back: deleted when anonymous and ours (anon_ours), else closed.
 */
static int daxalloc_grant(struct daxalloc *dx, Daxalloc__Envelope *resp, int fd,
			  unsigned int flags, bool anon_ours, const char *what,
			  struct daxalloc_extent **out)
{
	const Daxalloc__Extent *x = daxalloc_reply_extent(resp, what);
	bool delete;
	int r;

	if (!x) {
		/* Nothing names the extent: nothing we could give back. */
		if (fd >= 0)
			close(fd);
		envelope_free(resp);
		return -EPROTO;
	}
	delete = anon_ours && !x->name[0];
	r = daxalloc_check_extent(dx, x, what);
	if (r == 0 && fd < 0)
		r = dx_fail(
			-EPROTO,
			"daxallocd sent no device descriptor with the %s reply",
			what);
	if (r < 0) {
		if (fd >= 0)
			close(fd);
		goto err_give_back;
	}
	r = daxalloc_extent_new(dx, x, fd, flags, out);
	if (r < 0)
		goto err_give_back;
	envelope_free(resp);
	return 0;

err_give_back:
	daxalloc_give_back(dx, x->id, delete);
	envelope_free(resp);
	return r;
}

/* daxalloc_alloc -- allocate a new extent and map it (see daxalloc.h) */
DAXALLOC_EXPORT int daxalloc_alloc(struct daxalloc *dx, const char *name,
				   uint64_t size, uint64_t align,
				   unsigned int mode, unsigned int flags,
				   struct daxalloc_extent **out)
{
	Daxalloc__Envelope req = DAXALLOC__ENVELOPE__INIT, *resp;
	Daxalloc__AllocRequest a = DAXALLOC__ALLOC_REQUEST__INIT;
	int fd, r;

	dx_clear_err();
	if (!dx || !out)
		return dx_fail(-EINVAL,
			       "no connection or no place for the handle");
	*out = NULL;
	if (flags & ~(DAXALLOC_KEEP_FD | DAXALLOC_NO_MAP))
		return dx_fail(-EINVAL,
			       "flags %#x: alloc takes KEEP_FD and NO_MAP",
			       flags);
	if (!size)
		return dx_fail(-EINVAL, "size 0");
	if (align & (align - 1))
		return dx_fail(-EINVAL, "alignment %#llx is not a power of two",
			       (unsigned long long)align);
	/* Permission bits only: set-id and sticky bits mean nothing here. */
	if (mode & ~0777u)
		return dx_fail(-EINVAL, "mode %#o has bits beyond 0777", mode);
	if (name) {
		r = daxalloc_check_name(name);
		if (r < 0)
			return r;
		a.name = (char *)name;
	}
	a.size = size;
	a.align = align;
	a.mode = mode;
	req.body_case = DAXALLOC__ENVELOPE__BODY_ALLOC;
	req.alloc = &a;
	r = dx_call(dx, &req, &resp, &fd, 0, NULL);
	if (r < 0)
		return r;
	return daxalloc_grant(dx, resp, fd, flags, true, "Alloc", out);
}

/* daxalloc_open_req -- Open by id or name, then map */
static int daxalloc_open_req(struct daxalloc *dx, Daxalloc__OpenRequest *o,
			     unsigned int flags, struct daxalloc_extent **out)
{
	Daxalloc__Envelope req = DAXALLOC__ENVELOPE__INIT, *resp;
	int fd, r;

	if (flags & ~DAXALLOC_OPEN_FLAGS)
		return dx_fail(-EINVAL, "unknown flags %#x",
			       flags & ~DAXALLOC_OPEN_FLAGS);
	o->read_only = !!(flags & DAXALLOC_RDONLY);
	req.body_case = DAXALLOC__ENVELOPE__BODY_OPEN;
	req.open = o;
	r = dx_call(dx, &req, &resp, &fd, 0, NULL);
	if (r < 0)
		return r;
	return daxalloc_grant(dx, resp, fd, flags, false, "Open", out);
}

/* daxalloc_open -- open a named extent and map it (see daxalloc.h) */
DAXALLOC_EXPORT int daxalloc_open(struct daxalloc *dx, const char *name,
				  unsigned int flags,
				  struct daxalloc_extent **out)
{
	Daxalloc__OpenRequest o = DAXALLOC__OPEN_REQUEST__INIT;
	int r;

	dx_clear_err();
	if (!dx || !out)
		return dx_fail(-EINVAL,
			       "no connection or no place for the handle");
	*out = NULL;
	r = daxalloc_check_name(name);
	if (r < 0)
		return r;
	o.key_case = DAXALLOC__OPEN_REQUEST__KEY_NAME;
	o.name = (char *)name;
	return daxalloc_open_req(dx, &o, flags, out);
}

/* daxalloc_open_id -- open an extent by id and map it (see daxalloc.h) */
DAXALLOC_EXPORT int daxalloc_open_id(struct daxalloc *dx, uint64_t id,
				     unsigned int flags,
				     struct daxalloc_extent **out)
{
	Daxalloc__OpenRequest o = DAXALLOC__OPEN_REQUEST__INIT;

	dx_clear_err();
	if (!dx || !out)
		return dx_fail(-EINVAL,
			       "no connection or no place for the handle");
	*out = NULL;
	o.key_case = DAXALLOC__OPEN_REQUEST__KEY_EXTENT_ID;
	o.extent_id = id;
	return daxalloc_open_req(dx, &o, flags, out);
}

/*
 * daxalloc_extent_release -- unlist, unmap, close a kept fd, free the handle
 *
 * Returns whether another handle of this connection has the same extent
 * open.
 */
static bool daxalloc_extent_release(struct daxalloc_extent *ext)
{
	struct daxalloc *dx = ext->dx;
	struct daxalloc_extent *e;
	bool shared = false;

	pthread_mutex_lock(&dx->lock);
	LIST_REMOVE(ext, entry);
	LIST_FOREACH(e, &dx->extents, entry)
		if (e->id == ext->id && !e->dead)
			shared = true;
	if (ext->addr)
		munmap(ext->addr, (size_t)ext->length);
	pthread_mutex_unlock(&dx->lock);
	if (ext->fd >= 0)
		close(ext->fd);
	free(ext);
	return shared;
}

/*
 * dx_extent_cut -- the extent now ends at length: unmap what lies beyond
 *
 * dx->lock held.  A lease break (truncate) took the tail away.
 */
void dx_extent_cut(struct daxalloc_extent *ext, uint64_t length)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);

	/* Rounded down: a partly broken page goes too. */
	length -= length % page;
	if (ext->dead || ext->length <= length)
		return;
	if (ext->addr)
		munmap((char *)ext->addr + length,
		       (size_t)(ext->length - length));
	ext->length = length;
}

/*
 * dx_extent_kill -- the extent is gone for this process: unmap all of it
 *
 * dx->lock held.  The handle stays until daxalloc_close(); every other
 * call on it fails with -ESTALE.  A kept fd stays open too: the
 * application may still use its number, and closing it under it could
 * let the number be reused by something else.
 */
void dx_extent_kill(struct daxalloc_extent *ext)
{
	if (ext->addr)
		munmap(ext->addr, (size_t)ext->length);
	ext->addr = NULL;
	ext->length = 0;
	ext->dead = true;
}

/* daxalloc_stale -- the error of a call on a dead handle */
static int daxalloc_stale(const struct daxalloc_extent *ext)
{
	return dx_fail(
		-ESTALE,
		"extent %llu is gone for this process (deleted, or its lease revoked): only daxalloc_close() is left",
		(unsigned long long)ext->id);
}

/* daxalloc_is_dead -- has a lease break or revoke ended the handle? */
static bool daxalloc_is_dead(struct daxalloc_extent *ext)
{
	bool dead;

	pthread_mutex_lock(&ext->dx->lock);
	dead = ext->dead;
	pthread_mutex_unlock(&ext->dx->lock);
	return dead;
}

/* daxalloc_close -- unmap, Close, free the handle (see daxalloc.h) */
DAXALLOC_EXPORT int daxalloc_close(struct daxalloc_extent *ext)
{
	struct daxalloc *dx;
	bool dead, shared;
	uint64_t id;

	dx_clear_err();
	if (!ext)
		return dx_fail(-EINVAL, "no extent handle");
	dx = ext->dx;
	id = ext->id;
	dead = daxalloc_is_dead(ext);
	/* Unmapped before the daemon hears of it: the lease covers our access. */
	shared = daxalloc_extent_release(ext);
	/* The daemon ended the lease itself (delete, revoke). */
	if (dead)
		return 0;
	return daxalloc_send_close(dx, id, !shared);
}

/* daxalloc_delete -- unmap, Delete, free the handle (see daxalloc.h) */
DAXALLOC_EXPORT int daxalloc_delete(struct daxalloc_extent *ext)
{
	struct daxalloc *dx;
	uint64_t id;
	int r = 0;

	dx_clear_err();
	if (!ext)
		return dx_fail(-EINVAL, "no extent handle");
	dx = ext->dx;
	id = ext->id;
	if (daxalloc_is_dead(ext))
		r = daxalloc_stale(ext);
	daxalloc_extent_release(ext);
	if (r < 0)
		return r;
	return daxalloc_send_delete(dx, id, NULL);
}

/* daxalloc_delete_name -- delete a named extent (see daxalloc.h) */
DAXALLOC_EXPORT int daxalloc_delete_name(struct daxalloc *dx, const char *name)
{
	int r;

	dx_clear_err();
	if (!dx)
		return dx_fail(-EINVAL, "no connection");
	r = daxalloc_check_name(name);
	if (r < 0)
		return r;
	return daxalloc_send_delete(dx, 0, name);
}

/*
 * daxalloc_truncate_map -- map an extent that grew from ext->length to length
 *
 * Right after the mapping if the addresses are free, else the whole extent
 * anew (and the old mapping goes).  Without a mapping, nothing to do.
 */
static int daxalloc_truncate_map(struct daxalloc_extent *ext, int fd,
				 uint64_t length)
{
	void *addr;
	int r;

	if (!ext->addr)
		return 0;
	if (fd < 0)
		return dx_fail(
			-EPROTO,
			"daxallocd grew extent %llu but sent no device descriptor",
			(unsigned long long)ext->id);
	r = daxalloc_map_after(ext, fd, length - ext->length);
	if (r == 0)
		return 0;
	r = daxalloc_map(ext->dx, fd, ext->offset, length,
			 ext->flags & DAXALLOC_RDONLY, &addr);
	if (r < 0)
		return r;
	munmap(ext->addr, (size_t)ext->length);
	ext->addr = addr;
	return 0;
}

/* daxalloc_truncate -- shrink or grow an extent (see daxalloc.h) */
DAXALLOC_EXPORT int daxalloc_truncate(struct daxalloc_extent *ext,
				      uint64_t size)
{
	Daxalloc__Envelope req = DAXALLOC__ENVELOPE__INIT, *resp;
	Daxalloc__TruncateRequest t = DAXALLOC__TRUNCATE_REQUEST__INIT;
	const Daxalloc__Extent *x;
	uint64_t unit, want;
	bool shrunk;
	int fd, r;

	dx_clear_err();
	if (!ext)
		return dx_fail(-EINVAL, "no extent handle");
	if (daxalloc_is_dead(ext))
		return daxalloc_stale(ext);
	if (!size)
		return dx_fail(-EINVAL, "size 0: delete the extent instead");
	if (ext->flags & DAXALLOC_RDONLY)
		return dx_fail(-EBADF, "extent %llu is open read-only",
			       (unsigned long long)ext->id);
	unit = daxalloc_unit(ext->dx);
	want = size;
	if (unit) {
		if (size > UINT64_MAX - (unit - 1))
			return dx_fail(-EINVAL, "size %llu too large",
				       (unsigned long long)size);
		want = (size + unit - 1) / unit * unit;
	}
	/*
	 * Shrinking: this process lets go of the tail before the daemon frees
	 * it, so that no range is free while we can still touch it.
	 */
	pthread_mutex_lock(&ext->dx->lock);
	shrunk = ext->addr && want < ext->length;
	if (shrunk) {
		munmap((char *)ext->addr + want, (size_t)(ext->length - want));
		ext->length = want;
	}
	pthread_mutex_unlock(&ext->dx->lock);

	t.extent_id = ext->id;
	t.size = size;
	req.body_case = DAXALLOC__ENVELOPE__BODY_TRUNCATE;
	req.truncate = &t;
	r = dx_call(ext->dx, &req, &resp, &fd, 0, NULL);
	if (r < 0) {
		if (shrunk)
			dx_append_err(
				" (the tail beyond %llu bytes stays unmapped)",
				(unsigned long long)want);
		return r;
	}
	x = daxalloc_reply_extent(resp, "Truncate");
	if (!x) {
		r = -EPROTO;
		goto out;
	}
	r = daxalloc_check_extent(ext->dx, x, "Truncate");
	if (r < 0)
		goto out;
	if (x->id != ext->id || x->offset != ext->offset) {
		r = dx_fail(
			-EPROTO,
			"daxallocd answered Truncate of extent %llu at %#llx with extent %llu at %#llx",
			(unsigned long long)ext->id,
			(unsigned long long)ext->offset,
			(unsigned long long)x->id,
			(unsigned long long)x->offset);
		goto out;
	}
	/* A lease break may have changed the mapping meanwhile. */
	pthread_mutex_lock(&ext->dx->lock);
	if (ext->dead) {
		r = daxalloc_stale(ext);
	} else if (x->length < ext->length) {
		/* The daemon rounded differently: follow it. */
		dx_extent_cut(ext, x->length);
	} else if (x->length > ext->length) {
		r = daxalloc_truncate_map(ext, fd >= 0 ? fd : ext->fd,
					  x->length);
		if (r == 0)
			ext->length = x->length;
	}
	pthread_mutex_unlock(&ext->dx->lock);
out:
	/* A kept descriptor stays the one from the open; this one goes. */
	if (fd >= 0)
		close(fd);
	envelope_free(resp);
	return r;
}

/* daxalloc_extent_addr -- where the extent is mapped (see daxalloc.h) */
DAXALLOC_EXPORT void *daxalloc_extent_addr(const struct daxalloc_extent *ext)
{
	void *addr;

	/* The event handler may change it from another thread. */
	pthread_mutex_lock(&ext->dx->lock);
	addr = ext->addr;
	pthread_mutex_unlock(&ext->dx->lock);
	return addr;
}

/* daxalloc_extent_length -- the handle's length (see daxalloc.h) */
DAXALLOC_EXPORT uint64_t
daxalloc_extent_length(const struct daxalloc_extent *ext)
{
	uint64_t length;

	pthread_mutex_lock(&ext->dx->lock);
	length = ext->length;
	pthread_mutex_unlock(&ext->dx->lock);
	return length;
}

/* daxalloc_extent_dead -- was the extent taken away? (see daxalloc.h) */
DAXALLOC_EXPORT int daxalloc_extent_dead(const struct daxalloc_extent *ext)
{
	return daxalloc_is_dead((struct daxalloc_extent *)ext);
}

/* daxalloc_extent_id -- the extent's id (see daxalloc.h) */
DAXALLOC_EXPORT uint64_t daxalloc_extent_id(const struct daxalloc_extent *ext)
{
	return ext->id;
}

/* daxalloc_extent_offset -- the extent's device offset (see daxalloc.h) */
DAXALLOC_EXPORT uint64_t
daxalloc_extent_offset(const struct daxalloc_extent *ext)
{
	return ext->offset;
}

/* daxalloc_extent_fd -- the kept device fd, or -1 (see daxalloc.h) */
DAXALLOC_EXPORT int daxalloc_extent_fd(const struct daxalloc_extent *ext)
{
	return ext->fd;
}

/* daxalloc_info_fill -- a public description from the wire's Extent */
static void daxalloc_info_fill(struct daxalloc_info *info,
			       const Daxalloc__Extent *x)
{
	memset(info, 0, sizeof(*info));
	info->id = x->id;
	info->offset = x->offset;
	info->length = x->length;
	info->uid = x->uid;
	info->gid = x->gid;
	info->mode = x->mode;
	info->flags = x->flags;
	/* daxalloc_check_extent() made sure it fits. */
	memcpy(info->name, x->name, strlen(x->name) + 1);
}

/* daxalloc_stat_req -- Stat by id or name */
static int daxalloc_stat_req(struct daxalloc *dx, Daxalloc__StatRequest *s,
			     struct daxalloc_info *info)
{
	Daxalloc__Envelope req = DAXALLOC__ENVELOPE__INIT, *resp;
	const Daxalloc__Extent *x;
	int r;

	req.body_case = DAXALLOC__ENVELOPE__BODY_STAT;
	req.stat = s;
	r = dx_call(dx, &req, &resp, NULL, DX_IDEMPOTENT, NULL);
	if (r < 0)
		return r;
	x = daxalloc_reply_extent(resp, "Stat");
	r = x ? daxalloc_check_extent(dx, x, "Stat") : -EPROTO;
	if (r == 0)
		daxalloc_info_fill(info, x);
	envelope_free(resp);
	return r;
}

/* daxalloc_stat -- describe a named extent (see daxalloc.h) */
DAXALLOC_EXPORT int daxalloc_stat(struct daxalloc *dx, const char *name,
				  struct daxalloc_info *info)
{
	Daxalloc__StatRequest s = DAXALLOC__STAT_REQUEST__INIT;
	int r;

	dx_clear_err();
	if (!dx || !info)
		return dx_fail(-EINVAL,
			       "no connection or no place for the answer");
	r = daxalloc_check_name(name);
	if (r < 0)
		return r;
	s.key_case = DAXALLOC__STAT_REQUEST__KEY_NAME;
	s.name = (char *)name;
	return daxalloc_stat_req(dx, &s, info);
}

/* daxalloc_stat_id -- describe an extent by id (see daxalloc.h) */
DAXALLOC_EXPORT int daxalloc_stat_id(struct daxalloc *dx, uint64_t id,
				     struct daxalloc_info *info)
{
	Daxalloc__StatRequest s = DAXALLOC__STAT_REQUEST__INIT;

	dx_clear_err();
	if (!dx || !info)
		return dx_fail(-EINVAL,
			       "no connection or no place for the answer");
	s.key_case = DAXALLOC__STAT_REQUEST__KEY_EXTENT_ID;
	s.extent_id = id;
	return daxalloc_stat_req(dx, &s, info);
}

/*
 * daxalloc_list -- call fn for each extent (see daxalloc.h)
 *
 * fn runs with no lock held, so it may call libdaxalloc; a cursor that
 * does not move forward would loop for ever and is refused.
 */
DAXALLOC_EXPORT int daxalloc_list(struct daxalloc *dx, unsigned int flags,
				  daxalloc_list_fn fn, void *arg)
{
	Daxalloc__Envelope req = DAXALLOC__ENVELOPE__INIT, *resp;
	Daxalloc__ListRequest l = DAXALLOC__LIST_REQUEST__INIT;
	const Daxalloc__ListReply *lr;
	struct daxalloc_info info;
	uint64_t cursor = 0;
	size_t i;
	int r;

	dx_clear_err();
	if (!dx || !fn)
		return dx_fail(-EINVAL, "no connection or no callback");
	if (flags & ~DAXALLOC_LIST_OPENABLE)
		return dx_fail(-EINVAL, "unknown flags %#x",
			       flags & ~DAXALLOC_LIST_OPENABLE);
	l.openable = !!(flags & DAXALLOC_LIST_OPENABLE);
	for (;;) {
		l.cursor = cursor;
		req.body_case = DAXALLOC__ENVELOPE__BODY_LIST;
		req.list = &l;
		r = dx_call(dx, &req, &resp, NULL, DX_IDEMPOTENT, NULL);
		if (r < 0)
			return r;
		if (resp->body_case != DAXALLOC__ENVELOPE__BODY_LIST_REPLY) {
			r = dx_fail(-EPROTO, "daxallocd answered List with %s",
				    envelope_type_name(resp->body_case));
			goto out_free;
		}
		lr = resp->list_reply;
		for (i = 0; i < lr->n_extents; i++) {
			r = daxalloc_check_extent(dx, lr->extents[i], "List");
			if (r < 0)
				goto out_free;
			daxalloc_info_fill(&info, lr->extents[i]);
			r = fn(&info, arg);
			if (r)
				goto out_free;
		}
		if (!lr->next_cursor) {
			r = 0;
			goto out_free;
		}
		if (lr->next_cursor <= cursor) {
			r = dx_fail(
				-EPROTO,
				"daxallocd's List cursor went from %llu to %llu",
				(unsigned long long)cursor,
				(unsigned long long)lr->next_cursor);
			goto out_free;
		}
		cursor = lr->next_cursor;
		envelope_free(resp);
	}

out_free:
	envelope_free(resp);
	return r;
}
