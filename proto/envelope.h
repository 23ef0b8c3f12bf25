/* SPDX-License-Identifier: Apache-2.0 */
/*
 * envelope.h -- protobuf Envelope encoding, decoding and classification
 *
 * Both the daemon and the clients use these; the generated protobuf-c code
 * (daxalloc.pb-c.h) is included from here so that nobody else needs to
 * know its name.
 */
#ifndef DAXALLOC_ENVELOPE_H
#define DAXALLOC_ENVELOPE_H

#include <stddef.h>

#include "daxalloc.pb-c.h"

/* The protocol versions this build speaks, both ends inclusive. */
#define PROTO_VERSION_MIN 1
#define PROTO_VERSION_MAX 1

/* Every body case fits below this bound (see daxalloc.proto). */
#define ENVELOPE_BODY_MAX 192

/* What a body is; tells which socket may carry it and in which direction. */
enum envelope_kind {
	ENVELOPE_UNKNOWN,
	ENVELOPE_CLIENT_REQUEST,
	ENVELOPE_CONTROL_REQUEST,
	ENVELOPE_REPLY,
	ENVELOPE_EVENT,
};

typedef Daxalloc__Envelope__BodyCase envelope_body_t;

int envelope_pack(const Daxalloc__Envelope *env, void **buf, size_t *len);
int envelope_unpack(const void *buf, size_t len, Daxalloc__Envelope **env);
void envelope_free(Daxalloc__Envelope *env);

int envelope_send(int sock, const Daxalloc__Envelope *env, const int *fds,
		  unsigned int nfds);
int envelope_recv(int sock, Daxalloc__Envelope **env, int *fds,
		  unsigned int *nfds);

const char *envelope_type_name(envelope_body_t body);
enum envelope_kind envelope_kind(envelope_body_t body);

#endif /* DAXALLOC_ENVELOPE_H */
