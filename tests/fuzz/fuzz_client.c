// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_client.c -- one datagram on a client-socket connection
 *
 * The daemon's real receive, decode and dispatch path (conn.c, wire.c,
 * envelope.c, dispatch.c, request.c and all they call) on a fresh daemon
 * with a populated pool for every input.  Input layout and flags: fuzzd.h.
 */
#include "fuzz.h"
#include "fuzzd.h"

/* LLVMFuzzerInitialize -- build the base state before the first input */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzzd_init();
	return 0;
}

/* LLVMFuzzerTestOneInput -- one datagram from a libdaxalloc-like peer */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzzd_run(CONN_CLIENT, data, size);
}
