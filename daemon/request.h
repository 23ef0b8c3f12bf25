/* SPDX-License-Identifier: Apache-2.0 */
/*
 * request.h -- requests of the client socket (libdaxalloc)
 */
#ifndef DAXALLOCD_REQUEST_H
#define DAXALLOCD_REQUEST_H

#include "dispatch.h"

int request_alloc(struct conn *c, const Daxalloc__Envelope *req,
		  struct dispatch_reply *rep);
int request_open(struct conn *c, const Daxalloc__Envelope *req,
		 struct dispatch_reply *rep);
int request_close(struct conn *c, const Daxalloc__Envelope *req,
		  struct dispatch_reply *rep);
int request_truncate(struct conn *c, const Daxalloc__Envelope *req,
		     struct dispatch_reply *rep);
int request_delete(struct conn *c, const Daxalloc__Envelope *req,
		   struct dispatch_reply *rep);
int request_stat(struct conn *c, const Daxalloc__Envelope *req,
		 struct dispatch_reply *rep);
int request_list(struct conn *c, const Daxalloc__Envelope *req,
		 struct dispatch_reply *rep);
int request_pin(struct conn *c, const Daxalloc__Envelope *req,
		struct dispatch_reply *rep);
int request_unpin(struct conn *c, const Daxalloc__Envelope *req,
		  struct dispatch_reply *rep);
int request_lease_break_ack(struct conn *c, const Daxalloc__Envelope *req,
			    struct dispatch_reply *rep);

#endif /* DAXALLOCD_REQUEST_H */
