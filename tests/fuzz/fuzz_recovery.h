/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_recovery.h -- the input layout of fuzz_recovery, for it and for the
 * corpus generator
 *
 * The target makes a simulated device of FUZZ_RECOVERY_SIZE bytes (all
 * zero), writes the input's chunks into its metadata area, mends what the
 * flags ask, and lets the daemon open it.  Input:
 *
 *   bytes 0-1   FUZZ_RECOVERY_F_* flags, little-endian
 *   then chunks, each:
 *     byte 0    region (modulo FUZZ_RECOVERY_REGIONS)
 *     byte 1    length n
 *     bytes 2-4 offset in the region, little-endian (modulo its size)
 *     n bytes   written there (cut at the region's end and the input's)
 *
 * The regions are the metadata structures of a pool formatted on this
 * device, so a mutation lands in a superblock, the journal or a table
 * rather than anywhere in 1.4 MiB.  The seals let the fuzzer change a
 * record and still pass its checksum, to reach what lies behind it.
 */
#ifndef DAXALLOC_TESTS_FUZZ_RECOVERY_H
#define DAXALLOC_TESTS_FUZZ_RECOVERY_H

#include <stdint.h>

#include "format.h"

/* The simulated device: 32 units, 23 of them metadata. */
#define FUZZ_RECOVERY_SIZE (2ULL << 20)
#define FUZZ_RECOVERY_UNIT (64ULL << 10)

enum fuzz_recovery_region {
	FUZZ_RECOVERY_SB_A,
	FUZZ_RECOVERY_SB_B,
	FUZZ_RECOVERY_STATE,
	FUZZ_RECOVERY_JOURNAL,
	FUZZ_RECOVERY_EXTENTS,
	FUZZ_RECOVERY_QUARANTINE,
	FUZZ_RECOVERY_LEASES,
	FUZZ_RECOVERY_PINS,
	FUZZ_RECOVERY_REGIONS,
};

/*
 * fuzz_recovery_regions -- where each region lies for a pool of geometry
 * sb: off[] and len[] in bytes from the device start
 */
static inline void fuzz_recovery_regions(const struct fmt_superblock *sb,
					 uint64_t off[FUZZ_RECOVERY_REGIONS],
					 uint64_t len[FUZZ_RECOVERY_REGIONS])
{
	off[FUZZ_RECOVERY_SB_A] = FMT_SB_A;
	len[FUZZ_RECOVERY_SB_A] = FMT_SB_SIZE;
	off[FUZZ_RECOVERY_SB_B] = FMT_SB_B;
	len[FUZZ_RECOVERY_SB_B] = FMT_SB_SIZE;
	/* The state record's page: the rest of it is never used. */
	off[FUZZ_RECOVERY_STATE] = FMT_STATE_OFF;
	len[FUZZ_RECOVERY_STATE] = sb->journal_off - FMT_STATE_OFF;
	off[FUZZ_RECOVERY_JOURNAL] = sb->journal_off;
	len[FUZZ_RECOVERY_JOURNAL] = sb->journal_size;
	off[FUZZ_RECOVERY_EXTENTS] = sb->extents_off;
	len[FUZZ_RECOVERY_EXTENTS] =
		sb->extent_slots * sizeof(struct fmt_extent);
	off[FUZZ_RECOVERY_QUARANTINE] = sb->quarantine_off;
	len[FUZZ_RECOVERY_QUARANTINE] =
		sb->quarantine_slots * sizeof(struct fmt_range);
	off[FUZZ_RECOVERY_LEASES] = sb->leases_off;
	len[FUZZ_RECOVERY_LEASES] = sb->lease_slots * sizeof(struct fmt_hold);
	off[FUZZ_RECOVERY_PINS] = sb->pins_off;
	len[FUZZ_RECOVERY_PINS] = sb->pin_slots * sizeof(struct fmt_hold);
}

#define FUZZ_RECOVERY_CHUNK 5 /* bytes before a chunk's data */
#define FUZZ_RECOVERY_HEADER 2

/* Recompute the checksum of superblock copy A, of copy B. */
#define FUZZ_RECOVERY_F_SEAL_SB_A 0x0001
#define FUZZ_RECOVERY_F_SEAL_SB_B 0x0002
/* Recompute the state record's checksum. */
#define FUZZ_RECOVERY_F_SEAL_STATE 0x0004
/* Recompute the journal header's (when its byte count is possible). */
#define FUZZ_RECOVERY_F_SEAL_JOURNAL 0x0008
/* Recompute the checksum of every used slot of a table. */
#define FUZZ_RECOVERY_F_SEAL_EXTENTS 0x0010
#define FUZZ_RECOVERY_F_SEAL_QUARANTINE 0x0020
#define FUZZ_RECOVERY_F_SEAL_HOLDS 0x0040
/*
 * Make the records name this process: the state's hold_boot becomes this
 * boot, every used hold record and every anonymous extent this pid and
 * start time.  Without it every hold is "of another boot" and dropped.
 */
#define FUZZ_RECOVERY_F_BIND 0x0080
/* Open for inspection (daxallocd --check) rather than to serve. */
#define FUZZ_RECOVERY_F_INSPECT 0x0100
/* Then recover holds, processes and quota usage, as server_init() does. */
#define FUZZ_RECOVERY_F_SERVER 0x0200
/* Then close cleanly and open again: that must work. */
#define FUZZ_RECOVERY_F_REOPEN 0x0400

#endif /* DAXALLOC_TESTS_FUZZ_RECOVERY_H */
