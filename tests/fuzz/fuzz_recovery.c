// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_recovery.c -- the daemon's start-up on any metadata
 *
 * A simulated device (daemon/device_sim.c) whose metadata area -- the two
 * superblocks, the state record, the journal, the extent, quarantine,
 * lease and pin tables -- comes from the input (layout: fuzz_recovery.h).
 * First pool_probe(), as daxallocctl format does before it destroys
 * anything; then pool_open_device(), as daxallocd does to serve (or to
 * --check), and on success pool_check(); with FUZZ_RECOVERY_F_SERVER also
 * the recovery server_init() adds (holds, processes, quota usage) and the
 * checks of daxallocctl check.
 *
 * Whatever the bytes, opening must fail with an error or succeed; the
 * device being 2 MiB bounds the work.  Invariants besides the
 * sanitizers': the probe and the open agree on whether there is a pool; a
 * pool that opened passes every check with no finding (start-up verified
 * it, and nothing touched it since), and one closed cleanly opens again.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "device.h"
#include "format.h"
#include "fuzz.h"
#include "fuzz_recovery.h"
#include "hold.h"
#include "log.h"
#include "meta.h"
#include "pool.h"
#include "proc.h"
#include "procid.h"
#include "quota.h"
#include "server.h"
#include "space.h"

/* Where each region lies on the device (a pool formatted on it). */
static struct {
	uint64_t off[FUZZ_RECOVERY_REGIONS];
	uint64_t len[FUZZ_RECOVERY_REGIONS];
	struct fmt_superblock sb;
	uint8_t boot[16];
	uint64_t start_time;
	bool ready;
} fr;

static bool fuzz_recovery_slots_ok(const struct fmt_superblock *sb);

/* fuzz_recovery_finding -- count a finding; print it when verbose */
static void fuzz_recovery_finding(void *arg, const char *finding)
{
	unsigned long *n = arg;

	(*n)++;
	if (getenv("FUZZD_VERBOSE"))
		fprintf(stderr, "finding: %s\n", finding);
}

/* LLVMFuzzerInitialize -- the regions, this boot and this process */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *verbose = getenv("FUZZD_VERBOSE");
	char boot[PROCID_BOOT_ID_LEN + 1];
	struct device *dev;
	struct pool *p;

	if (fr.ready)
		return 0;
	log_init(verbose && *verbose == '1' ? LOG_DEBUG : LOG_EMERG);
	if (device_sim_new(FUZZ_RECOVERY_SIZE, FUZZ_RECOVERY_UNIT, &dev) < 0 ||
	    pool_open_device(dev, POOL_FORMAT_ALWAYS, FUZZ_RECOVERY_UNIT, &p) <
		    0)
		fuzz_fatal("cannot format a simulated device");
	fr.sb = p->meta->sb;
	pool_close(p, false);
	device_close(dev);
	fuzz_recovery_regions(&fr.sb, fr.off, fr.len);
	/* The known-bug skip's copy of the geometry must match the daemon's. */
	if (!fuzz_recovery_slots_ok(&fr.sb))
		fuzz_fatal("fuzz_recovery_slots_ok() no longer matches "
			   "meta_geometry(): update it");
	if (procid_boot_id(boot) < 0 || procid_boot_bytes(boot, fr.boot) < 0 ||
	    procid_start_time(getpid(), &fr.start_time) < 0)
		fuzz_fatal("cannot read this process's identity");
	fr.ready = true;
	return 0;
}

/* fuzz_recovery_apply -- the input's chunks, into the metadata area */
static void fuzz_recovery_apply(uint8_t *base, const uint8_t *data, size_t size)
{
	size_t pos = FUZZ_RECOVERY_HEADER;

	while (size - pos >= FUZZ_RECOVERY_CHUNK) {
		unsigned int region = data[pos] % FUZZ_RECOVERY_REGIONS;
		size_t n = data[pos + 1];
		uint64_t off = (uint64_t)data[pos + 2] |
			       (uint64_t)data[pos + 3] << 8 |
			       (uint64_t)data[pos + 4] << 16;

		pos += FUZZ_RECOVERY_CHUNK;
		off %= fr.len[region];
		if (n > fr.len[region] - off)
			n = fr.len[region] - off;
		if (n > size - pos)
			n = size - pos;
		memcpy(base + fr.off[region] + off, data + pos, n);
		pos += n;
	}
}

/* fuzz_recovery_zero -- is a record all zero (an unused slot)? */
static bool fuzz_recovery_zero(const void *p, size_t len)
{
	static const uint8_t zero[sizeof(struct fmt_extent)];

	return len <= sizeof(zero) && !memcmp(p, zero, len);
}

/* fuzz_recovery_bind_holds -- every used record of a hold table is ours */
static void fuzz_recovery_bind_holds(uint8_t *base, uint64_t off,
				     uint64_t slots)
{
	uint64_t i;

	for (i = 0; i < slots; i++) {
		struct fmt_hold *h = (void *)(base + off + i * sizeof(*h));

		if (fuzz_recovery_zero(h, sizeof(*h)))
			continue;
		h->pid = (uint32_t)getpid();
		h->start_time = fr.start_time;
	}
}

/* fuzz_recovery_bind -- the holds and anonymous extents become ours */
static void fuzz_recovery_bind(uint8_t *base)
{
	struct fmt_state *st = (void *)(base + FMT_STATE_OFF);
	uint64_t i;

	memcpy(st->hold_boot, fr.boot, sizeof(st->hold_boot));
	for (i = 0; i < fr.sb.extent_slots; i++) {
		struct fmt_extent *e =
			(void *)(base + fr.sb.extents_off + i * sizeof(*e));

		if (!(e->flags & FMT_EXTENT_ANONYMOUS))
			continue;
		e->owner_pid = (uint32_t)getpid();
		e->owner_start = fr.start_time;
		memcpy(e->owner_boot, fr.boot, sizeof(e->owner_boot));
	}
	fuzz_recovery_bind_holds(base, fr.sb.leases_off, fr.sb.lease_slots);
	fuzz_recovery_bind_holds(base, fr.sb.pins_off, fr.sb.pin_slots);
}

/* fuzz_recovery_seal_table -- the checksum of every used slot of a table */
static void fuzz_recovery_seal_table(uint8_t *base, uint64_t off,
				     uint64_t slots, size_t size, size_t crc_at)
{
	uint64_t i;

	for (i = 0; i < slots; i++) {
		uint8_t *rec = base + off + i * size;
		uint32_t crc;

		if (fuzz_recovery_zero(rec, size))
			continue;
		crc = meta_crc(rec, crc_at);
		memcpy(rec + crc_at, &crc, sizeof(crc));
	}
}

/* fuzz_recovery_seal -- mend the checksums the flags name */
static void fuzz_recovery_seal(uint8_t *base, unsigned int flags)
{
	if (flags & FUZZ_RECOVERY_F_SEAL_EXTENTS)
		fuzz_recovery_seal_table(base, fr.sb.extents_off,
					 fr.sb.extent_slots,
					 sizeof(struct fmt_extent),
					 offsetof(struct fmt_extent, checksum));
	if (flags & FUZZ_RECOVERY_F_SEAL_QUARANTINE)
		fuzz_recovery_seal_table(base, fr.sb.quarantine_off,
					 fr.sb.quarantine_slots,
					 sizeof(struct fmt_range),
					 offsetof(struct fmt_range, checksum));
	if (flags & FUZZ_RECOVERY_F_SEAL_HOLDS) {
		fuzz_recovery_seal_table(base, fr.sb.leases_off,
					 fr.sb.lease_slots,
					 sizeof(struct fmt_hold),
					 offsetof(struct fmt_hold, checksum));
		fuzz_recovery_seal_table(base, fr.sb.pins_off, fr.sb.pin_slots,
					 sizeof(struct fmt_hold),
					 offsetof(struct fmt_hold, checksum));
	}
	if (flags & FUZZ_RECOVERY_F_SEAL_STATE) {
		struct fmt_state *st = (void *)(base + FMT_STATE_OFF);

		st->checksum =
			meta_crc(st, offsetof(struct fmt_state, checksum));
	}
	if (flags & FUZZ_RECOVERY_F_SEAL_JOURNAL) {
		struct fmt_jheader *jh = (void *)(base + fr.sb.journal_off);

		if (jh->bytes <= fr.sb.journal_size - sizeof(*jh)) {
			uint32_t crc = meta_crc(
				jh, offsetof(struct fmt_jheader, checksum));

			jh->checksum = meta_crc_continue(crc, jh + 1,
							 (size_t)jh->bytes);
		}
	}
	if (flags & FUZZ_RECOVERY_F_SEAL_SB_A) {
		struct fmt_superblock *sb = (void *)(base + FMT_SB_A);

		sb->checksum =
			meta_crc(sb, offsetof(struct fmt_superblock, checksum));
	}
	if (flags & FUZZ_RECOVERY_F_SEAL_SB_B) {
		struct fmt_superblock *sb = (void *)(base + FMT_SB_B);

		sb->checksum =
			meta_crc(sb, offsetof(struct fmt_superblock, checksum));
	}
}

/*
 * fuzz_recovery_server -- what server_init() and main() recover on top of
 * the pool: holds of live processes, anonymous extents' owners, quota
 * usage; then the checks of daxallocctl check.  Returns the findings.
 *
 * A server without sockets or loop running: the fields hold.c, proc.c,
 * space.c and quota.c use, set as server_init() sets them.
 */
static unsigned long fuzz_recovery_server(struct pool *p)
{
	unsigned long findings = 0;
	struct server srv;
	struct config cfg;
	int r;

	memset(&srv, 0, sizeof(srv));
	config_defaults(&cfg);
	srv.pool = p;
	srv.cfg = &cfg;
	srv.reserve_fd = -1;
	srv.client_fd[0] = srv.client_fd[1] = -1;
	TAILQ_INIT(&srv.conns);
	TAILQ_INIT(&srv.flushq);
	TAILQ_INIT(&srv.procs);
	srv.limits.hello_timeout_s = 10;
	srv.limits.connections_per_process = 64;
	srv.limits.max_name_length = FMT_NAME_MAX;
	srv.limits.lease_break_time_s = cfg.lease_break_time_s;
	srv.limits.max_pins_per_process = cfg.max_pins_per_process;
	memcpy(srv.boot_id, fr.boot, sizeof(srv.boot_id));
	srv.loop = ev_loop_new(EVFLAG_AUTO);
	if (!srv.loop)
		fuzz_fatal("ev_loop_new");

	r = hold_recover(&srv);
	if (r == 0)
		r = proc_recover(&srv);
	if (r == 0)
		r = quota_new(&cfg, &srv.quota);
	if (r == 0)
		r = space_recover(&srv);
	if (r == 0) {
		r = pool_check(p, fuzz_recovery_finding, &findings);
		FUZZ_ASSERT(r >= 0, "pool_check after recovery: %d", r);
		space_check(&srv, fuzz_recovery_finding, &findings);
		hold_check(&srv, fuzz_recovery_finding, &findings);
	}
	/* Only memory can run out here; the harness's malloc does not. */
	FUZZ_ASSERT(r == 0, "recovering holds, processes, quota: %d", r);
	hold_fini(&srv);
	proc_fini(&srv);
	quota_free(srv.quota);
	config_free(&cfg);
	ev_loop_destroy(srv.loop);
	return findings;
}

/*
 * fuzz_recovery_slots_ok -- are a superblock's slot counts the ones
 * meta_geometry() computes for its extent_slots?
 */
static bool fuzz_recovery_slots_ok(const struct fmt_superblock *sb)
{
	uint64_t e = sb->extent_slots;

	return sb->quarantine_slots == e / 4 + 64 &&
	       sb->lease_slots == e + 4096 &&
	       sb->pin_slots ==
		       (e * 64 < META_PIN_SLOTS ? e * 64 : META_PIN_SLOTS);
}

/*
 * fuzz_recovery_known_bug -- does the image hit the daemon bug that is
 * reported but not fixed yet?
 *
 * meta_sb_valid() (daemon/meta.c) checks a superblock's geometry against
 * the one computed from its unit and size, but not quarantine_slots,
 * lease_slots and pin_slots: a superblock with a valid checksum and a
 * larger count makes start-up read (and write pins) past its table,
 * outside the device.  Every campaign would stop at it within minutes, so
 * such images are skipped -- with the counts as meta_geometry() computes
 * them -- until the check is there; FUZZ_RECOVERY_ALL=1 in the
 * environment turns the skip off (regressions/fuzz_recovery/ keeps an
 * input that shows the bug).
 */
static bool fuzz_recovery_known_bug(const uint8_t *base)
{
	static const uint64_t at[2] = { FMT_SB_A, FMT_SB_B };
	const char *all = getenv("FUZZ_RECOVERY_ALL");
	unsigned int i;

	if (all && *all == '1')
		return false;
	for (i = 0; i < 2; i++) {
		const struct fmt_superblock *sb = (const void *)(base + at[i]);

		if (!memcmp(sb->magic, FMT_MAGIC, sizeof(sb->magic)) &&
		    sb->checksum == meta_crc(sb, offsetof(struct fmt_superblock,
							  checksum)) &&
		    !fuzz_recovery_slots_ok(sb))
			return true;
	}
	return false;
}

/* LLVMFuzzerTestOneInput -- open a pool on the input's metadata */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned long findings = 0;
	struct pool_probe probe;
	struct device *dev;
	unsigned int flags;
	struct pool *p;
	int r;

	if (size < FUZZ_RECOVERY_HEADER)
		return 0;
	LLVMFuzzerInitialize(NULL, NULL);
	flags = data[0] | (unsigned int)data[1] << 8;
	if (device_sim_new(FUZZ_RECOVERY_SIZE, FUZZ_RECOVERY_UNIT, &dev) < 0)
		fuzz_fatal("device_sim_new");
	/* Nothing crashes here: no need to model what is durable. */
	device_sim_track(dev, 0);
	fuzz_recovery_apply(dev->addr, data, size);
	if (flags & FUZZ_RECOVERY_F_BIND)
		fuzz_recovery_bind(dev->addr);
	fuzz_recovery_seal(dev->addr, flags);
	if (fuzz_recovery_known_bug(dev->addr))
		goto out;

	/* Reads only: the open below sees the same bytes. */
	r = pool_probe(dev, true, NULL, &probe);
	FUZZ_ASSERT(r == 0, "pool_probe: %d", r);
	r = pool_open_device(dev,
			     flags & FUZZ_RECOVERY_F_INSPECT ?
				     POOL_INSPECT :
				     POOL_FORMAT_NEVER,
			     0, &p);
	FUZZ_ASSERT(r == 0 || r == -ENODATA || r == -EILSEQ || r == -EUCLEAN ||
			    r == -EINVAL,
		    "pool_open_device: unexpected %d", r);
	FUZZ_ASSERT((r == -ENODATA) ==
			    (!probe.meta.pool && !probe.meta.damaged),
		    "pool_open_device says %d; pool_probe: pool %d, damaged %d",
		    r, probe.meta.pool, probe.meta.damaged);
	FUZZ_ASSERT(r != 0 || probe.meta.pool,
		    "a pool opened where pool_probe saw none");
	if (r < 0)
		goto out;
	if (flags & FUZZ_RECOVERY_F_SERVER) {
		findings = fuzz_recovery_server(p);
	} else {
		r = pool_check(p, fuzz_recovery_finding, &findings);
		FUZZ_ASSERT(r >= 0, "pool_check: %d", r);
	}
	FUZZ_ASSERT(
		findings == 0,
		"a pool that opened has %lu findings (FUZZD_VERBOSE=1 lists them)",
		findings);
	if (flags & FUZZ_RECOVERY_F_REOPEN) {
		pool_close(p, true);
		r = pool_open_device(dev, POOL_FORMAT_NEVER, 0, &p);
		FUZZ_ASSERT(r == 0, "a pool closed cleanly does not open: %d",
			    r);
		findings = 0;
		r = pool_check(p, fuzz_recovery_finding, &findings);
		FUZZ_ASSERT(r >= 0 && findings == 0,
			    "after reopening: %d, %lu findings", r, findings);
	}
	pool_close(p, false);
out:
	device_close(dev);
	return 0;
}
