// SPDX-License-Identifier: Apache-2.0
/*
 * envelope.c -- protobuf Envelope encoding, decoding and classification
 */
#include <errno.h>
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
 * The decode guards.  protobuf-c 1.4.1 is not ours to patch, so what it
 * gets wrong is kept from reaching it:
 *
 *  - a tag varint of five bytes makes it shift a signed int out of range
 *    (its issue 506); our field numbers need two bytes, so a tag longer
 *    than ENVELOPE_TAG_BYTES_MAX is refused;
 *  - field number 0, and any number the descriptor does not know, it keeps
 *    as an "unknown field", allocating for each; within one protocol
 *    version both sides know every field (docs/protocol.md), so either is
 *    refused before protobuf-c sees it;
 *  - it sizes each repeated array as element size * count with no overflow
 *    check (its issue 796); WIRE_MSG_MAX keeps the count small, and an
 *    allocator with a budget in proportion to the datagram bounds what one
 *    decode may allocate in all, whatever the library does;
 *  - a singular message field that occurs twice is merged, copying every
 *    repeated array inside it once more per occurrence; our encoders never
 *    repeat a singular field nor send two members of one oneof, so either
 *    is refused.
 *
 * The scan walks the wire format with the generated descriptors: every
 * tag, wire type and length is checked before protobuf-c allocates
 * anything.
 */

/* Longest tag varint accepted: field numbers up to 2^25 - 1. */
#define ENVELOPE_TAG_BYTES_MAX 4
/* Longest varint of a value (64 bits), and of a length (32 bits). */
#define ENVELOPE_VARINT_BYTES_MAX 10
#define ENVELOPE_LEN_BYTES_MAX 5
/* Deepest nesting of messages accepted; daxalloc.proto needs 3. */
#define ENVELOPE_DEPTH_MAX 8
/*
 * What protobuf-c may allocate to decode one datagram: a fixed part plus
 * a multiple of its length.  The worst legitimate ratio is a repeated
 * field of empty messages: 2 bytes on the wire, and for each a pointer,
 * the message struct (up to ~80 bytes) and the library's scan record
 * (32 bytes, in slabs that double) -- about 60 bytes per byte.
 */
#define ENVELOPE_ALLOC_BASE (64 * 1024)
#define ENVELOPE_ALLOC_PER_BYTE 128
/* Fields per message whose repeats are tracked; ours have at most 32. */
#define ENVELOPE_SEEN_MAX 256

/* protobuf-c wire types */
enum envelope_wire {
	ENVELOPE_WIRE_VARINT = 0,
	ENVELOPE_WIRE_FIXED64 = 1,
	ENVELOPE_WIRE_LEN = 2,
	ENVELOPE_WIRE_FIXED32 = 5,
};

/*
 * envelope_varint -- read a varint of at most max bytes at buf[*pos]
 *
 * -EBADMSG when it runs past len or is longer than max.
 */
static int envelope_varint(const uint8_t *buf, size_t len, size_t *pos,
			   unsigned int max, uint64_t *out)
{
	uint64_t v = 0;
	unsigned int i;

	for (i = 0; i < max && *pos + i < len; i++) {
		uint8_t b = buf[*pos + i];

		v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*pos += i + 1;
			*out = v;
			return 0;
		}
	}
	return -EBADMSG;
}

/* envelope_elem_wire -- the wire type of one element of a field's type */
static int envelope_elem_wire(ProtobufCType type)
{
	switch (type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_BOOL:
	case PROTOBUF_C_TYPE_ENUM:
		return ENVELOPE_WIRE_VARINT;
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return ENVELOPE_WIRE_FIXED64;
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_FLOAT:
		return ENVELOPE_WIRE_FIXED32;
	default:
		return ENVELOPE_WIRE_LEN;
	}
}

/*
 * envelope_scan_packed -- a packed repeated field: whole elements only
 *
 * protobuf-c counts packed varints by their last bytes; a payload that
 * ends inside one is refused here.
 */
static int envelope_scan_packed(const uint8_t *buf, size_t len, int wire)
{
	size_t pos = 0;
	uint64_t v;

	if (wire == ENVELOPE_WIRE_FIXED32)
		return len % 4 ? -EBADMSG : 0;
	if (wire == ENVELOPE_WIRE_FIXED64)
		return len % 8 ? -EBADMSG : 0;
	while (pos < len)
		if (envelope_varint(buf, len, &pos, ENVELOPE_VARINT_BYTES_MAX,
				    &v) < 0)
			return -EBADMSG;
	return 0;
}

/*
 * envelope_seen -- note field index i of d as seen in this message
 *
 * Returns -EBADMSG when a singular field, or another member of its oneof,
 * was seen before.
 */
static int envelope_seen(const ProtobufCMessageDescriptor *d, unsigned int i,
			 uint8_t *seen)
{
	const ProtobufCFieldDescriptor *f = &d->fields[i];
	unsigned int j;

	if (f->label == PROTOBUF_C_LABEL_REPEATED || i >= ENVELOPE_SEEN_MAX)
		return 0;
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
		/* Members of one oneof share their case field. */
		for (j = 0; j < d->n_fields && j < ENVELOPE_SEEN_MAX; j++)
			if ((seen[j / 8] & (1u << (j % 8))) &&
			    (d->fields[j].flags &
			     PROTOBUF_C_FIELD_FLAG_ONEOF) &&
			    d->fields[j].quantifier_offset ==
				    f->quantifier_offset)
				return -EBADMSG;
	} else if (seen[i / 8] & (1u << (i % 8))) {
		return -EBADMSG;
	}
	seen[i / 8] |= (uint8_t)(1u << (i % 8));
	return 0;
}

/*
 * envelope_scan -- check buf as an encoding of a message of type d
 *
 * 0 when protobuf-c may decode it, -EBADMSG otherwise (see above).
 */
static int envelope_scan(const ProtobufCMessageDescriptor *d,
			 const uint8_t *buf, size_t len, unsigned int depth)
{
	uint8_t seen[ENVELOPE_SEEN_MAX / 8] = { 0 };
	size_t pos = 0;

	if (depth > ENVELOPE_DEPTH_MAX)
		return -EBADMSG;
	while (pos < len) {
		const ProtobufCFieldDescriptor *f;
		uint64_t tag, v;
		int wire, elem;

		if (envelope_varint(buf, len, &pos, ENVELOPE_TAG_BYTES_MAX,
				    &tag) < 0)
			return -EBADMSG;
		wire = (int)(tag & 7);
		if (tag >> 3 == 0)
			return -EBADMSG;
		f = protobuf_c_message_descriptor_get_field(
			d, (unsigned int)(tag >> 3));
		if (!f ||
		    envelope_seen(d, (unsigned int)(f - d->fields), seen) < 0)
			return -EBADMSG;
		elem = envelope_elem_wire(f->type);
		switch (wire) {
		case ENVELOPE_WIRE_VARINT:
			if (elem != wire ||
			    envelope_varint(buf, len, &pos,
					    ENVELOPE_VARINT_BYTES_MAX, &v) < 0)
				return -EBADMSG;
			break;
		case ENVELOPE_WIRE_FIXED64:
		case ENVELOPE_WIRE_FIXED32:
			v = wire == ENVELOPE_WIRE_FIXED64 ? 8 : 4;
			if (elem != wire || len - pos < v)
				return -EBADMSG;
			pos += v;
			break;
		case ENVELOPE_WIRE_LEN:
			if (envelope_varint(buf, len, &pos,
					    ENVELOPE_LEN_BYTES_MAX, &v) < 0 ||
			    v > len - pos)
				return -EBADMSG;
			if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
				if (envelope_scan(f->descriptor, buf + pos,
						  (size_t)v, depth + 1) < 0)
					return -EBADMSG;
			} else if (elem != ENVELOPE_WIRE_LEN) {
				/* Only repeated numbers may come packed. */
				if (f->label != PROTOBUF_C_LABEL_REPEATED ||
				    envelope_scan_packed(buf + pos, (size_t)v,
							 elem) < 0)
					return -EBADMSG;
			}
			pos += (size_t)v;
			break;
		default:
			/* Groups (3, 4) and the unassigned 6 and 7. */
			return -EBADMSG;
		}
	}
	return 0;
}

/* A decode's allocation budget (see ENVELOPE_ALLOC_BASE). */
struct envelope_budget {
	size_t left;
};

/* envelope_budget_alloc -- malloc while the decode's budget lasts */
static void *envelope_budget_alloc(void *data, size_t size)
{
	struct envelope_budget *b = data;

	if (size > b->left)
		return NULL;
	b->left -= size;
	return malloc(size);
}

/*
 * envelope_budget_free -- free; the budget counts what was allocated, not
 * what is held, so a decode that churns runs out too
 */
static void envelope_budget_free(void *data, void *ptr)
{
	free(ptr);
}

/*
 * envelope_unpack -- decode one datagram into a new Envelope
 *
 * The size bound comes first, then the scan (see the decode guards
 * above), then protobuf-c under an allocation budget.  The Envelope is
 * plain malloc'ed memory: envelope_free() releases it.
 */
int envelope_unpack(const void *buf, size_t len, Daxalloc__Envelope **env)
{
	struct envelope_budget budget = {
		.left = ENVELOPE_ALLOC_BASE + ENVELOPE_ALLOC_PER_BYTE * len,
	};
	ProtobufCAllocator alloc = {
		.alloc = envelope_budget_alloc,
		.free = envelope_budget_free,
		.allocator_data = &budget,
	};
	Daxalloc__Envelope *e;

	if (len == 0 || len > WIRE_MSG_MAX)
		return -EMSGSIZE;
	if (envelope_scan(&daxalloc__envelope__descriptor, buf, len, 0) < 0)
		return -EBADMSG;
	e = daxalloc__envelope__unpack(&alloc, len, buf);
	if (!e)
		return -EBADMSG;
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
