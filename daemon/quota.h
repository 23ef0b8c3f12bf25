/* SPDX-License-Identifier: Apache-2.0 */
/*
 * quota.h -- bytes and extents in use per uid and per gid, against limits
 *
 * The pool calls quota_check() before it allocates or grows and
 * quota_charge() once the change is durable; recovery charges every extent
 * it loads; delete and shrink charge negative amounts.  An extent counts
 * for its owner uid and its owner gid (the ids stored in the extent), as
 * files do for filesystem quotas.  Usage lives only in memory: it is
 * rebuilt from the extents at every start.
 *
 * Limits come from a struct config that the quota only borrows: it must
 * stay valid until the next quota_set_config() or quota_free().  A reload
 * loads a new config, calls quota_set_config(), then frees the old one;
 * usage is untouched.
 */
#ifndef DAXALLOCD_QUOTA_H
#define DAXALLOCD_QUOTA_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

enum quota_kind {
	QUOTA_UID,
	QUOTA_GID,
	QUOTA_KIND_COUNT,
};

/* What status and list requests show for one id. */
struct quota_usage {
	uint32_t id;
	uint64_t bytes; /* in use now */
	uint64_t extents;
	struct config_quota limit; /* in force now; 0: unlimited */
};

struct quota;

int quota_new(const struct config *cfg, struct quota **out);
void quota_free(struct quota *q);
void quota_set_config(struct quota *q, const struct config *cfg);

int quota_check(const struct quota *q, uint32_t uid, uint32_t gid,
		uint64_t add_bytes, uint64_t add_extents, char *why,
		size_t whylen);
int quota_reserve(struct quota *q, uint32_t uid, uint32_t gid);
int quota_charge(struct quota *q, uint32_t uid, uint32_t gid, int64_t bytes,
		 int64_t extents);

void quota_get(const struct quota *q, enum quota_kind kind, uint32_t id,
	       struct quota_usage *out);
int quota_list(const struct quota *q, enum quota_kind kind,
	       struct quota_usage **out, size_t *n);
const char *quota_kind_name(enum quota_kind kind);

#endif /* DAXALLOCD_QUOTA_H */
