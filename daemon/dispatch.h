/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dispatch.h -- request checks and the table of request handlers
 */
#ifndef DAXALLOCD_DISPATCH_H
#define DAXALLOCD_DISPATCH_H

#include <stdbool.h>

#include "envelope.h"

struct conn;
struct extent;

#define DISPATCH_MSG_MAX 256

/*
 * What a handler fills in: the reply body (one of the union, pointed to by
 * env.body), descriptors to attach, an explanation, and whether the
 * connection must close after the reply.
 */
struct dispatch_reply {
	Daxalloc__Envelope env;
	union {
		Daxalloc__HelloReply hello;
		Daxalloc__StatusReply status;
		Daxalloc__StatsReply stats;
		Daxalloc__ExtentReply extent;
		Daxalloc__CheckReply check;
		Daxalloc__ListReply list;
		Daxalloc__PinReply pin;
		Daxalloc__RevokeReply revoke;
		Daxalloc__CtlListReply ctl_list;
	} u;
	Daxalloc__Extent extent; /* what an ExtentReply points to */
	char **strings;		 /* heap strings a reply points to, freed after */
	size_t nstrings;
	void *heap;		 /* one more heap block a reply points to */
	int fds[1];
	unsigned int nfds;
	bool close;
	char msg[DISPATCH_MSG_MAX];
};

typedef int (*dispatch_fn)(struct conn *c, const Daxalloc__Envelope *req,
			   struct dispatch_reply *rep);

void dispatch_request(struct conn *c, const Daxalloc__Envelope *req,
		      unsigned int nfds);
struct pool;

void dispatch_extent_msg(Daxalloc__Extent *out, struct extent *e);
void dispatch_extent_reply(struct dispatch_reply *rep, struct extent *e);
struct extent *dispatch_lookup(struct pool *p, bool by_name, uint64_t id,
			       const char *name, struct dispatch_reply *rep);
int dispatch_list_page(struct dispatch_reply *rep, struct pool *p,
		       uint64_t cursor,
		       bool (*want)(const struct extent *e, const void *arg),
		       const void *arg);
void dispatch_set_msg(struct dispatch_reply *rep, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* DAXALLOCD_DISPATCH_H */
