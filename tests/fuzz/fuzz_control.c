// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_control.c -- one datagram on a control-socket connection
 *
 * As fuzz_client, on the control socket: the peer is this process, which
 * is the daemon's own user and so an admin (FUZZD_F_STRANGER takes that
 * away).  Revokes with --kill reach the fuzzer itself; fuzzd.c swallows
 * the SIGKILL.  Input layout and flags: fuzzd.h.
 */
#include "fuzz.h"
#include "fuzzd.h"

/* LLVMFuzzerInitialize -- build the base state before the first input */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzzd_init();
	return 0;
}

/* LLVMFuzzerTestOneInput -- one datagram from a daxallocctl-like peer */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzzd_run(CONN_CONTROL, data, size);
}
