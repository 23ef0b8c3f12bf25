/* SPDX-License-Identifier: Apache-2.0 */
/*
 * space.h -- extents as the clients' space: ownership, permissions, quotas
 *
 * The pool knows extents and free space; this module adds who owns an
 * extent, who may use it, what it counts against, and who must hear when
 * it ends.  Every way an extent comes or goes passes through here, so the
 * quota usage and the owners' lists always agree with the pool.
 */
#ifndef DAXALLOCD_SPACE_H
#define DAXALLOCD_SPACE_H

#include <stddef.h>
#include <stdint.h>

#include "pool.h"

struct conn;
struct extent;
struct proc;
struct server;

/* What a caller may want of an extent, as permission bits. */
#define SPACE_READ 04u
#define SPACE_WRITE 02u

/* Where a failing space_* call explains itself. */
#define SPACE_WHY_MAX 200

int space_check_name(const struct server *srv, const char *name, char *why);
int space_alloc(struct server *srv, struct conn *c, const char *name,
		uint64_t size, uint64_t align, uint32_t mode,
		struct extent **out, char *why);
int space_truncate(struct server *srv, struct conn *c, struct extent *e,
		   uint64_t size, char *why);
void space_free(struct server *srv, struct extent *e, struct proc *caller,
		const char *reason);
int space_may(const struct conn *c, const struct extent *e, unsigned int want);
int space_recover(struct server *srv);
int space_check(struct server *srv, pool_finding_fn fn, void *arg);

#endif /* DAXALLOCD_SPACE_H */
