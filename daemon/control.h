/* SPDX-License-Identifier: Apache-2.0 */
/*
 * control.h -- requests of the control socket (daxallocctl)
 */
#ifndef DAXALLOCD_CONTROL_H
#define DAXALLOCD_CONTROL_H

#include "dispatch.h"

int control_status(struct conn *c, const Daxalloc__Envelope *req,
		   struct dispatch_reply *rep);
int control_check(struct conn *c, const Daxalloc__Envelope *req,
		  struct dispatch_reply *rep);
int control_list(struct conn *c, const Daxalloc__Envelope *req,
		 struct dispatch_reply *rep);
int control_show(struct conn *c, const Daxalloc__Envelope *req,
		 struct dispatch_reply *rep);
int control_stats(struct conn *c, const Daxalloc__Envelope *req,
		  struct dispatch_reply *rep);

int control_revoke(struct conn *c, const Daxalloc__Envelope *req,
		   struct dispatch_reply *rep);

#endif /* DAXALLOCD_CONTROL_H */
