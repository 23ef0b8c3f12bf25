// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_envelope.c -- envelope_unpack() alone, on any bytes
 *
 * The decode step of both sockets (and of libdaxalloc and daxallocctl),
 * without a daemon around it: many times faster than fuzz_client, so the
 * guards in front of protobuf-c get most of the executions.  The input is
 * the datagram.
 *
 * Invariants besides the sanitizers':
 *  - the result is 0, -EBADMSG, or -EMSGSIZE exactly for an empty or
 *    oversized datagram;
 *  - a decoded Envelope holds no unknown field at any depth;
 *  - it encodes again, and that encoding decodes and encodes to the same
 *    bytes (the guards accept whatever our encoder writes);
 *  - when CTest replays a file named ok-*, ebadmsg-* or emsgsize-*, the
 *    result is the one named (tests/fuzz/regressions/fuzz_envelope).
 *
 * And what the allocation budget of envelope_unpack() relies on: when an
 * allocation is refused half-way, protobuf-c 1.4.1 gives up cleanly.  No
 * datagram exhausts the real budget, so an accepted one is decoded again
 * under a budget the input chooses, smaller than it needs; LeakSanitizer
 * and ASan watch what the library frees.
 */
#include <errno.h>
#include <string.h>

#include "envelope.h"
#include "fuzz.h"
#include "wire.h"

/* fuzz_envelope_unknown -- unknown fields in m or any message inside it */
static size_t fuzz_envelope_unknown(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const uint8_t *base = (const uint8_t *)m;
	size_t n = m->n_unknown_fields, j;
	unsigned int i;

	for (i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];

		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		/* oneof members share their storage: only the set one counts */
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)(base + f->quantifier_offset) != f->id)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t cnt =
				*(const size_t *)(base + f->quantifier_offset);
			ProtobufCMessage *const *arr =
				*(ProtobufCMessage *const *const *)(base +
								    f->offset);

			for (j = 0; j < cnt; j++)
				n += fuzz_envelope_unknown(arr[j]);
		} else {
			const ProtobufCMessage *sub =
				*(const ProtobufCMessage *const *)(base +
								   f->offset);

			if (sub)
				n += fuzz_envelope_unknown(sub);
		}
	}
	return n;
}

/* What fuzz_envelope_alloc() may still hand out. */
static size_t fuzz_envelope_left;

/* fuzz_envelope_alloc -- malloc until fuzz_envelope_left runs out */
static void *fuzz_envelope_alloc(void *data, size_t size)
{
	if (size > fuzz_envelope_left)
		return NULL;
	fuzz_envelope_left -= size;
	return malloc(size);
}

/* fuzz_envelope_free -- free */
static void fuzz_envelope_free(void *data, void *ptr)
{
	free(ptr);
}

/*
 * fuzz_envelope_starve -- decode data again under a budget of `left`
 * bytes; success or a clean NULL
 */
static void fuzz_envelope_starve(const uint8_t *data, size_t size, size_t left)
{
	ProtobufCAllocator a = {
		.alloc = fuzz_envelope_alloc,
		.free = fuzz_envelope_free,
	};
	Daxalloc__Envelope *env;

	fuzz_envelope_left = left;
	env = daxalloc__envelope__unpack(&a, size, data);
	if (env)
		daxalloc__envelope__free_unpacked(env, &a);
}

/* LLVMFuzzerInitialize -- nothing to set up */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

/* LLVMFuzzerTestOneInput -- decode, check, encode, decode again */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Daxalloc__Envelope *env = NULL, *again = NULL;
	void *buf = NULL, *buf2 = NULL;
	size_t len = 0, len2 = 0;
	int r;

	r = envelope_unpack(data, size, &env);
#ifdef FUZZ_REPLAY
	FUZZ_ASSERT(fuzz_replay_status > 0 || r == fuzz_replay_status,
		    "envelope_unpack says %d, the file's name %d", r,
		    fuzz_replay_status);
#endif
	FUZZ_ASSERT(r == 0 || r == -EBADMSG || r == -EMSGSIZE,
		    "envelope_unpack: unexpected %d", r);
	FUZZ_ASSERT((r == -EMSGSIZE) == (size == 0 || size > WIRE_MSG_MAX),
		    "size %zu, status %d", size, r);
	if (r < 0)
		return 0;
	FUZZ_ASSERT(fuzz_envelope_unknown(&env->base) == 0,
		    "an accepted envelope holds unknown fields");
	/* A budget from the input: 0 to about 4 bytes per byte. */
	fuzz_envelope_starve(data, size, (size * data[size - 1]) / 64);
	r = envelope_pack(env, &buf, &len);
	FUZZ_ASSERT(r == 0 || r == -EMSGSIZE, "envelope_pack: %d", r);
	if (r == 0) {
		r = envelope_unpack(buf, len, &again);
		FUZZ_ASSERT(r == 0,
			    "our own encoding of %zu bytes is refused: %d", len,
			    r);
		r = envelope_pack(again, &buf2, &len2);
		FUZZ_ASSERT(r == 0 && len2 == len && !memcmp(buf, buf2, len),
			    "encode-decode-encode differs (%zu, %zu bytes)",
			    len, len2);
	}
	envelope_free(again);
	envelope_free(env);
	free(buf);
	free(buf2);
	return 0;
}
