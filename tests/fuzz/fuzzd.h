/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzzd.h -- the real daemon in memory, for the socket fuzz targets
 *
 * One daemon state on a small file pool in a temporary folder, started
 * afresh for every input from a snapshot of its metadata: what one input
 * does can never change what the next one sees, so every finding replays
 * from its input alone.
 */
#ifndef DAXALLOC_TESTS_FUZZD_H
#define DAXALLOC_TESTS_FUZZD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"

/*
 * Input of fuzz_client and fuzz_control:
 *
 *   byte 0     descriptors to attach to the datagram, modulo 254 (0..253;
 *              253 is the kernel's SCM_MAX_FD)
 *   byte 1     FUZZD_F_* flags
 *   byte 2...  the datagram, sent as it is on the connection
 */
#define FUZZD_HEADER 2
#define FUZZD_FDS_MAX 253

/* No Hello first: the datagram is the connection's first message. */
#define FUZZD_F_NO_HELLO 0x01
/* The descriptors are both ends of a pipe rather than /dev/null. */
#define FUZZD_F_PIPE 0x02
/*
 * A peer without privilege: on the client socket another uid and gid
 * (4242) than the extents' owner; on the control socket not an admin.
 */
#define FUZZD_F_STRANGER 0x04

/*
 * The connection is the other client process's (the holder, see below)
 * rather than this one's: its breaks are the ones it may acknowledge.
 */
#define FUZZD_F_HOLDER 0x08

/* The other uid and gid of FUZZD_F_STRANGER. */
#define FUZZD_STRANGER_ID 4242

/* Pins the base state holds. */
#define FUZZD_PINS 3

/*
 * What the base state every input starts from holds.  Two client
 * processes, both alive for as long as the fuzzer: this one, and a child
 * it forks, the holder (lease breaks go to processes other than the one
 * whose request sent them).  This process allocated alpha (one unit,
 * 0644), beta (two, 0600), gamma (two, 0666), an anonymous extent, doomed
 * and omega (0600; free space follows it), and pinned parts of alpha and
 * beta; the holder opened
 * beta, doomed and (read-only) alpha.  Then this process truncated beta
 * to one unit and deleted doomed, sending the holder two lease breaks,
 * and the holder truncated gamma to one unit, sending this process one.
 * None is acknowledged: three ranges wait in the quarantine.
 */
struct fuzzd_ids {
	uint64_t alpha, beta, gamma, anon, doomed, omega; /* extent ids */
	uint64_t pins[FUZZD_PINS];
	uint64_t holder_breaks[2]; /* beta's tail, doomed */
	uint64_t own_break; /* gamma's tail */
	uint64_t unit;
};

void fuzzd_init(void);
const struct fuzzd_ids *fuzzd_ids(void);
int fuzzd_run(enum conn_kind kind, const uint8_t *data, size_t size);

#endif /* DAXALLOC_TESTS_FUZZD_H */
