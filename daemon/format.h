/* SPDX-License-Identifier: Apache-2.0 */
/*
 * format.h -- every structure daxallocd keeps on the device
 *
 * All on-media structures live here and only here.  Fields are fixed-width
 * little-endian (the daemon runs on x86-64 and arm64 hosts, both little
 * endian; a big-endian host refuses to build), reserved space is explicit
 * and every size is locked with a static assert.  docs/format.md is the
 * prose for this file.
 *
 * Layout of the metadata area, at the start of the device:
 *
 *   0        superblock copy A (4 KiB)
 *   4 KiB    superblock copy B (4 KiB)
 *   8 KiB    state record (one cache line, written through the journal)
 *   12 KiB   journal (header line + entries)
 *   ...      extent table    (extent_slots x 256 bytes)
 *   ...      quarantine table (quarantine_slots x 64 bytes)
 *   ...      lease table      (lease_slots x 64 bytes: leases, lease breaks)
 *   ...      pin table        (pin_slots x 64 bytes)
 *   data_offset (a multiple of the unit): the data area, handed out as
 *   extents.
 *
 * Every change to the state record and the tables goes through the redo
 * journal, except the pin table; superblocks are written directly, one
 * copy at a time.  Pin records are written in place: each is one line with
 * its own checksum, and a torn one is safe to drop (see struct fmt_hold).
 */
#ifndef DAXALLOCD_FORMAT_H
#define DAXALLOCD_FORMAT_H

#include <assert.h>
#include <stdint.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the on-device format is little-endian; port format.h first"
#endif

#define FMT_MAGIC "DAXALLOC"  /* superblock */
#define FMT_JMAGIC "DAXJRNL1" /* journal header */
#define FMT_VERSION 1
#define FMT_LINE 64 /* cache line: the unit of atomic persistence we assume */

#define FMT_SB_SIZE 4096
#define FMT_SB_A 0
#define FMT_SB_B 4096
#define FMT_STATE_OFF 8192
#define FMT_JOURNAL_OFF 12288

#define FMT_NAME_MAX 175 /* bytes of an extent name, without the NUL */

/* struct fmt_superblock -- geometry and identity of a pool (two copies) */
struct fmt_superblock {
	char magic[8];		  /* FMT_MAGIC */
	uint32_t version;	  /* FMT_VERSION */
	uint32_t sb_size;	  /* sizeof(struct fmt_superblock) */
	uint8_t uuid[16];	  /* pool identity */
	uint64_t generation;	  /* bumped by each superblock write */
	uint64_t device_size;	  /* bytes of the device at format time */
	uint64_t unit;		  /* allocation unit, a power of two */
	uint64_t data_offset;	  /* start of the data area, unit-aligned */
	uint64_t data_size;	  /* bytes of the data area */
	uint64_t journal_off;	  /* offset of the journal */
	uint64_t journal_size;	  /* bytes of the journal */
	uint64_t extents_off;	  /* offset of the extent table */
	uint64_t extent_slots;	  /* records in it */
	uint64_t quarantine_off;  /* offset of the quarantine table */
	uint64_t quarantine_slots;
	uint64_t leases_off;	  /* offset of the lease table */
	uint64_t lease_slots;
	uint64_t pins_off;	  /* offset of the pin table */
	uint64_t pin_slots;
	uint64_t format_time;	  /* seconds since the epoch */
	uint32_t clean;		  /* 1: last shutdown was clean */
	uint32_t usc_valid;	  /* 1: usc below holds a device count */
	uint64_t usc;		  /* unsafe shutdown count at last start */
	uint8_t reserved[3912];	  /* zero */
	uint32_t pad;		  /* zero */
	uint32_t checksum;	  /* crc32 of every byte before it */
};
static_assert(sizeof(struct fmt_superblock) == FMT_SB_SIZE,
	      "superblock is one 4 KiB block");

/* struct fmt_state -- small counters that change with extents */
struct fmt_state {
	uint64_t next_extent_id; /* ids are never reused */
	uint64_t extent_hwm;	 /* slots at or above it were never used */
	uint8_t hold_boot[16];	 /* boot id of the processes in the lease and
				    pin tables; all zero: none yet */
	uint64_t hold_epoch;	 /* daemon starts since format: the high bits
				    of pin, lease and break ids */
	uint8_t reserved[20];
	uint32_t checksum; /* crc32 of the bytes before it */
};
static_assert(sizeof(struct fmt_state) == FMT_LINE, "state is one line");

/* Extent flags. */
#define FMT_EXTENT_NAMED 0x1u	  /* persists until deleted */
#define FMT_EXTENT_ANONYMOUS 0x2u /* freed when its owner process ends */

/*
 * struct fmt_extent -- one extent record
 *
 * A slot whose bytes are all zero is unused; any other slot must carry a
 * valid checksum.
 */
struct fmt_extent {
	uint64_t id;	       /* never 0 in a used slot */
	uint64_t offset;       /* bytes from the device start */
	uint64_t length;       /* bytes, a multiple of the unit */
	uint32_t uid;	       /* owner */
	uint32_t gid;
	uint32_t mode;	       /* permission bits */
	uint32_t flags;	       /* FMT_EXTENT_* */
	uint64_t owner_start;  /* anonymous: owner's start time (ticks) */
	uint32_t owner_pid;    /* anonymous: owner's pid */
	uint32_t name_len;     /* bytes of name used */
	uint8_t owner_boot[16]; /* anonymous: boot id of the owner */
	char name[FMT_NAME_MAX + 1]; /* NUL-terminated; empty if anonymous */
	uint32_t reserved;
	uint32_t checksum; /* crc32 of the bytes before it */
};
static_assert(sizeof(struct fmt_extent) == 256, "extent record is 256 bytes");

/* struct fmt_range -- a quarantined range (used from the quarantine issue) */
struct fmt_range {
	uint64_t offset;
	uint64_t length;
	uint64_t extent_id; /* the extent it left */
	uint8_t reserved[36];
	uint32_t checksum;
};
static_assert(sizeof(struct fmt_range) == FMT_LINE, "range record is a line");

/* Kinds and flags of struct fmt_hold. */
#define FMT_HOLD_LEASE 1u    /* lease table: a process may map an extent */
#define FMT_HOLD_BREAK 2u    /* lease table: a lease break not yet acked */
#define FMT_HOLD_PIN 3u	     /* pin table: DMA may target a range */
#define FMT_HOLD_RDONLY 0x100u	/* lease: read-only */
#define FMT_HOLD_REVOKED 0x200u /* ended by force: holds until the exit */
#define FMT_HOLD_KIND(flags) ((flags) & 0xffu)

/*
 * struct fmt_hold -- a lease, lease break or pin of one client process
 *
 * The process is pid + start_time, of the boot named by the state
 * record's hold_boot.  Lease: offset and length 0 (the whole extent),
 * count its opens.  Break: the range [offset, offset + length) of the
 * device that left extent_id and waits for this process.  Pin: the device
 * range [offset, offset + length) taken on extent_id.
 *
 * Pin records are written in place, not journaled: a pin is written and
 * made durable before its reply goes out, and its removal before the
 * range it held is freed, so a torn record (bad checksum) is either a pin
 * nobody was told about or one already released; both are safe to drop.
 */
struct fmt_hold {
	uint64_t id;	     /* pin, break or lease id; never 0 when used */
	uint64_t extent_id;
	uint64_t offset;
	uint64_t length;
	uint64_t start_time; /* of the process, clock ticks since boot */
	uint32_t pid;
	uint32_t flags;	     /* FMT_HOLD_* kind | flags */
	uint32_t count;	     /* lease: opens not closed */
	uint32_t reserved;
	uint32_t pad;
	uint32_t checksum;   /* crc32 of the bytes before it */
};
static_assert(sizeof(struct fmt_hold) == FMT_LINE, "hold record is a line");

/*
 * struct fmt_jheader -- the journal's first cache line
 *
 * A transaction is valid when magic matches and checksum covers this
 * header and the `bytes` of entries that follow it; a valid journal is
 * (re)applied at start.  Replaying the last applied transaction again is
 * harmless: every metadata write goes through the journal, so the last
 * transaction is always the newest word on every record it names.
 */
struct fmt_jheader {
	char magic[8];	  /* FMT_JMAGIC */
	uint64_t seq;	  /* transaction number */
	uint64_t bytes;	  /* bytes of entries after this line */
	uint32_t entries; /* number of entries */
	uint8_t reserved[32];
	uint32_t checksum; /* crc32 of header (before it) + entries */
};
static_assert(sizeof(struct fmt_jheader) == FMT_LINE, "journal header is a line");

/*
 * struct fmt_jentry -- "write len bytes at offset", followed by the bytes,
 * padded to 8
 */
struct fmt_jentry {
	uint64_t offset; /* absolute offset on the device, in the metadata area */
	uint32_t len;
	uint32_t reserved;
};
static_assert(sizeof(struct fmt_jentry) == 16, "journal entry head is 16 bytes");

#endif /* DAXALLOCD_FORMAT_H */
