// SPDX-License-Identifier: Apache-2.0
/*
 * envelope.c -- protobuf Envelope encoding, decoding and classification
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "envelope.h"
#include "wire.h"

#define B(x) DAXALLOC__ENVELOPE__BODY_##x

static const char *const envelope_names[ENVELOPE_BODY_MAX] = {
	[B(HELLO)] = "Hello",
	[B(ALLOC)] = "Alloc",
	[B(OPEN)] = "Open",
	[B(CLOSE)] = "Close",
	[B(TRUNCATE)] = "Truncate",
	[B(DELETE)] = "Delete",
	[B(PIN)] = "Pin",
	[B(UNPIN)] = "Unpin",
	[B(LEASE_BREAK_ACK)] = "LeaseBreakAck",
	[B(STAT)] = "Stat",
	[B(LIST)] = "List",
	[B(STATUS_REQ)] = "Status",
	[B(CTL_LIST)] = "CtlList",
	[B(REVOKE)] = "Revoke",
	[B(CHECK)] = "Check",
	[B(STATS)] = "Stats",
	[B(CTL_SHOW)] = "CtlShow",
	[B(HELLO_REPLY)] = "HelloReply",
	[B(EXTENT_REPLY)] = "ExtentReply",
	[B(PIN_REPLY)] = "PinReply",
	[B(LIST_REPLY)] = "ListReply",
	[B(STATUS_REPLY)] = "StatusReply",
	[B(CHECK_REPLY)] = "CheckReply",
	[B(STATS_REPLY)] = "StatsReply",
	[B(REVOKE_REPLY)] = "RevokeReply",
	[B(CTL_LIST_REPLY)] = "CtlListReply",
	[B(LEASE_BREAK)] = "LeaseBreak",
	[B(REVOKED)] = "Revoked",
};

/* envelope_type_name -- printable name of a body case, "unknown" if none */
const char *envelope_type_name(envelope_body_t body)
{
	if (body == B(_NOT_SET))
		return "none";
	if ((unsigned int)body >= ENVELOPE_BODY_MAX || !envelope_names[body])
		return "unknown";
	return envelope_names[body];
}

/* envelope_kind -- classify a body case by the numbering of daxalloc.proto */
enum envelope_kind envelope_kind(envelope_body_t body)
{
	if ((unsigned int)body >= ENVELOPE_BODY_MAX || !envelope_names[body])
		return ENVELOPE_UNKNOWN;
	if (body < 64)
		return ENVELOPE_CLIENT_REQUEST;
	if (body < 96)
		return ENVELOPE_CONTROL_REQUEST;
	if (body < 160)
		return ENVELOPE_REPLY;
	return ENVELOPE_EVENT;
}

/* envelope_pack -- encode env into a new buffer of at most WIRE_MSG_MAX bytes */
int envelope_pack(const Daxalloc__Envelope *env, void **buf, size_t *len)
{
	size_t size = daxalloc__envelope__get_packed_size(env);
	uint8_t *p;

	if (size == 0 || size > WIRE_MSG_MAX)
		return -EMSGSIZE;
	p = malloc(size);
	if (!p)
		return -ENOMEM;
	if (daxalloc__envelope__pack(env, p) != size) {
		free(p);
		return -EIO;
	}
	*buf = p;
	*len = size;
	return 0;
}

/*
 * envelope_has_unknown -- does m or any message inside it hold unknown fields?
 *
 * Walks message-typed fields through the descriptors.  A oneof member is
 * looked at only when it is the active case: the members share storage.
 */
static bool envelope_has_unknown(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const uint8_t *base = (const uint8_t *)m;
	unsigned int i;
	size_t j;

	if (m->n_unknown_fields)
		return true;
	for (i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];

		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)(base + f->quantifier_offset) != f->id)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + f->quantifier_offset);
			ProtobufCMessage *const *arr =
				*(ProtobufCMessage *const *const *)(base + f->offset);

			for (j = 0; j < n; j++)
				if (arr[j] && envelope_has_unknown(arr[j]))
					return true;
		} else {
			const ProtobufCMessage *sub =
				*(const ProtobufCMessage *const *)(base + f->offset);

			if (sub && envelope_has_unknown(sub))
				return true;
		}
	}
	return false;
}

/*
 * envelope_unpack -- decode one datagram into a new Envelope
 *
 * The size bound comes first: it caps what protobuf-c will allocate for
 * repeated fields before we look at anything.  Unknown fields are refused
 * at every depth: within one protocol version both sides know every field,
 * and protobuf-c would otherwise accept even field number 0.
 */
int envelope_unpack(const void *buf, size_t len, Daxalloc__Envelope **env)
{
	Daxalloc__Envelope *e;

	if (len == 0 || len > WIRE_MSG_MAX)
		return -EMSGSIZE;
	e = daxalloc__envelope__unpack(NULL, len, buf);
	if (!e)
		return -EBADMSG;
	if (envelope_has_unknown(&e->base)) {
		daxalloc__envelope__free_unpacked(e, NULL);
		return -EBADMSG;
	}
	*env = e;
	return 0;
}

/* envelope_free -- release an Envelope from envelope_unpack/envelope_recv */
void envelope_free(Daxalloc__Envelope *env)
{
	if (env)
		daxalloc__envelope__free_unpacked(env, NULL);
}

/* envelope_send -- encode and send env with nfds descriptors */
int envelope_send(int sock, const Daxalloc__Envelope *env, const int *fds,
		  unsigned int nfds)
{
	size_t len;
	void *buf;
	int r;

	r = envelope_pack(env, &buf, &len);
	if (r < 0)
		return r;
	r = wire_send(sock, buf, len, fds, nfds);
	free(buf);
	return r;
}

/*
 * envelope_recv -- receive and decode one message
 *
 * Descriptors that arrived with a message that does not decode are closed;
 * on success the caller owns *nfds descriptors in fds.
 */
int envelope_recv(int sock, Daxalloc__Envelope **env, int *fds,
		  unsigned int *nfds)
{
	size_t len;
	void *buf;
	int r;

	buf = malloc(WIRE_MSG_MAX);
	if (!buf)
		return -ENOMEM;
	r = wire_recv(sock, buf, WIRE_MSG_MAX, &len, fds, nfds);
	if (r == 0) {
		r = envelope_unpack(buf, len, env);
		if (r < 0) {
			wire_close_fds(fds, *nfds);
			*nfds = 0;
		}
	}
	free(buf);
	return r;
}
