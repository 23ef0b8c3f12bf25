// SPDX-License-Identifier: Apache-2.0
/*
 * bench_pool.c -- how recovery and allocation cost grow with the extents
 *
 * Two questions from the pool's goals, measured on pool files in /dev/shm
 * with 4 KiB units so that a million extents fit in a few GiB of sparse
 * file:
 *
 *  - recovery: how long device_open() + pool_open_device() take on a pool
 *    that holds many extents with fragmented free space (goal: 1M extents
 *    in at most 1 s);
 *  - allocation: what one pool_alloc() + pool_delete() pair costs with 1k
 *    and with 1M live extents, and the same for the raw allocator
 *    (goal: at most 1.5x from 1k to 1M).
 *
 * Every cost is printed next to a floor measured in the same run: the same
 * loop doing only its random numbers and a malloc/free pair, over a live
 * array of the same size.  The floor grows too, from cache misses alone;
 * read the figures as ratios against it, not as absolute nanoseconds.
 *
 * Not a test: nothing is asserted.  bench/README.md says how to read it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "device.h"
#include "log.h"
#include "pool.h"

#define BENCH_UNIT 4096ULL
#define BENCH_COMMIT_EVERY 1000
#define BENCH_RUNS 3
#define BENCH_K 1000ULL
#define BENCH_M 1000000ULL

/* What one run of the benchmark does; --quick shrinks it for a smoke run. */
struct bench_plan {
	uint64_t recovery_n[3];
	unsigned int nrecovery;
	uint64_t small_live;
	uint64_t large_live;
	uint64_t ops; /* measured alloc+free pairs per run */
	uint64_t warmup; /* at least this many pairs before measuring */
	const char *dir;
};

/* One measured loop: its total time and the part spent committing. */
struct bench_time {
	double total;
	double commit;
	uint64_t ops;
	uint64_t free_runs; /* the pool's free runs when the loop ended */
};

/* bench_rand -- the next number of a splitmix64 sequence */
static uint64_t bench_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* bench_now -- a monotonic clock in seconds */
static double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* bench_cmp_double -- order doubles, for a median */
static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* bench_median -- the median of n values (sorts them) */
static double bench_median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), bench_cmp_double);
	return v[n / 2];
}

/*
 * bench_file -- a new sparse file of size bytes
 *
 * Made here because device_open() creates no pool file under /dev: a
 * missing devdax namespace must not silently become a file in RAM.
 */
static int bench_file(const char *path, uint64_t size)
{
	int fd, r = 0;

	unlink(path);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0)
		r = -errno;
	close(fd);
	return r;
}

/*
 * bench_pool_new -- format a pool whose data area holds at least units
 *
 * The metadata takes about 336 bytes per unit (extent, quarantine and
 * lease slots) plus the journal and pins; the file is sized with room for
 * that, and the data area checked afterwards.
 */
static int bench_pool_new(const char *path, uint64_t units,
			  struct device **devp, struct pool **poolp)
{
	uint64_t want = units * BENCH_UNIT;
	uint64_t size = want + want / 10 + (16ULL << 20);
	struct device_config cfg = { .path = path, .unit = BENCH_UNIT };
	struct pool_stats st;
	int r;

	size = (size + BENCH_UNIT - 1) / BENCH_UNIT * BENCH_UNIT;
	r = bench_file(path, size);
	if (r < 0)
		return r;
	r = device_open(&cfg, devp);
	if (r < 0)
		goto err_unlink;
	r = pool_open_device(*devp, POOL_FORMAT_ALWAYS, BENCH_UNIT, poolp);
	if (r < 0)
		goto err_close;
	pool_get_stats(*poolp, &st);
	if (st.data_size < want) {
		fprintf(stderr, "bench: %s: data area %" PRIu64 " < %" PRIu64 "\n",
			path, st.data_size, want);
		pool_close(*poolp, false);
		r = -ENOSPC;
		goto err_close;
	}
	return 0;

err_close:
	device_close(*devp);
err_unlink:
	unlink(path);
	return r;
}

/* bench_commit -- pool_commit(), timed into *spent */
static int bench_commit(struct pool *p, double *spent)
{
	double t = bench_now();
	int r = pool_commit(p);

	*spent += bench_now() - t;
	if (r < 0)
		fprintf(stderr, "bench: pool_commit: %s\n", strerror(-r));
	return r;
}

/*
 * bench_recovery_build -- n one-unit extents, every third deleted
 *
 * Extents are laid out back to back, so deleting every third leaves about
 * n/3 free runs of one unit each: fragmented free space for recovery to
 * rebuild.  Commits every BENCH_COMMIT_EVERY operations, closes clean.
 */
static int bench_recovery_build(const char *path, uint64_t n,
				struct pool_stats *st)
{
	struct pool_attr attr = { .mode = 0600 };
	struct device *dev;
	struct pool *p;
	struct extent *e;
	uint64_t *ids, i, done = 0;
	double spent = 0;
	int r;

	ids = malloc(n * sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	r = bench_pool_new(path, 2 * n, &dev, &p);
	if (r < 0)
		goto out_free;
	for (i = 0; i < n && r == 0; i++) {
		r = pool_alloc(p, BENCH_UNIT, 0, &attr, &e);
		if (r == 0) {
			ids[i] = e->rec.id;
			if ((i + 1) % BENCH_COMMIT_EVERY == 0)
				r = bench_commit(p, &spent);
		}
	}
	for (i = 2; i < n && r == 0; i += 3) {
		r = pool_delete(p, ids[i]);
		if (r == 0 && ++done % BENCH_COMMIT_EVERY == 0)
			r = bench_commit(p, &spent);
	}
	if (r == 0)
		r = bench_commit(p, &spent);
	if (r < 0)
		fprintf(stderr, "bench: building %" PRIu64 " extents: %s\n", n,
			strerror(-r));
	pool_get_stats(p, st);
	pool_close(p, r == 0);
	device_close(dev);
out_free:
	free(ids);
	return r;
}

/*
 * bench_recovery_open -- time one restart: device_open + pool_open_device
 *
 * *dev_s gets the device_open() part alone.  The pool is closed clean
 * again, outside the clock.
 */
static int bench_recovery_open(const char *path, double *total_s, double *dev_s,
			       uint64_t *extents)
{
	struct device_config cfg = { .path = path, .unit = BENCH_UNIT };
	struct pool_stats st;
	struct device *dev;
	struct pool *p;
	double t0, t1;
	int r;

	t0 = bench_now();
	r = device_open(&cfg, &dev);
	if (r < 0)
		return r;
	t1 = bench_now();
	r = pool_open_device(dev, POOL_FORMAT_NEVER, 0, &p);
	*total_s = bench_now() - t0;
	*dev_s = t1 - t0;
	if (r < 0) {
		device_close(dev);
		return r;
	}
	pool_get_stats(p, &st);
	*extents = st.extents;
	pool_close(p, true);
	device_close(dev);
	return 0;
}

/* bench_recovery -- build, then restart BENCH_RUNS times; one table row */
static int bench_recovery(const struct bench_plan *plan, uint64_t n)
{
	double total[BENCH_RUNS], dev[BENCH_RUNS], build, med;
	char path[256];
	struct pool_stats st;
	uint64_t extents = 0;
	unsigned int i;
	int r;

	snprintf(path, sizeof(path), "%s/bench-pool-%d.img", plan->dir,
		 (int)getpid());
	build = bench_now();
	r = bench_recovery_build(path, n, &st);
	build = bench_now() - build;
	for (i = 0; r == 0 && i < BENCH_RUNS; i++)
		r = bench_recovery_open(path, &total[i], &dev[i], &extents);
	unlink(path);
	if (r < 0) {
		fprintf(stderr, "bench: recovery of %" PRIu64 ": %s\n", n,
			strerror(-r));
		return r;
	}
	med = bench_median(total, BENCH_RUNS);
	printf("%10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %9.3f %9.3f %9.3f %12.0f  (runs %.3f %.3f %.3f; build %.1f s)\n",
	       n, extents, st.free_runs, med, bench_median(dev, BENCH_RUNS),
	       med - bench_median(dev, BENCH_RUNS), (double)extents / med,
	       total[0], total[1], total[2], build);
	fflush(stdout);
	return 0;
}

/* An extent the churn loops keep alive: a pool id, or an allocator range. */
struct bench_live {
	uint64_t key; /* pool: extent id; raw allocator: offset */
	uint64_t len;
};

/*
 * bench_pool_churn -- alloc 1..8 units, delete a random live extent
 *
 * One pair keeps the live count constant; a commit every
 * BENCH_COMMIT_EVERY pairs keeps the journal from filling, and its time
 * is kept apart in t->commit.
 */
static int bench_pool_churn(struct pool *p, struct bench_live *live,
			    uint64_t nlive, uint64_t ops, uint64_t *rng,
			    struct bench_time *t)
{
	struct pool_attr attr = { .mode = 0600 };
	struct pool_stats st;
	struct extent *e;
	uint64_t i, k;
	double t0;
	int r = 0;

	t->commit = 0;
	t0 = bench_now();
	for (i = 0; i < ops; i++) {
		r = pool_alloc(p, (1 + bench_rand(rng) % 8) * BENCH_UNIT, 0,
			       &attr, &e);
		if (r < 0)
			break;
		k = bench_rand(rng) % nlive;
		r = pool_delete(p, live[k].key);
		if (r < 0)
			break;
		live[k].key = e->rec.id;
		if ((i + 1) % BENCH_COMMIT_EVERY == 0) {
			r = bench_commit(p, &t->commit);
			if (r < 0)
				break;
		}
	}
	t->total = bench_now() - t0;
	t->ops = i;
	pool_get_stats(p, &st);
	t->free_runs = st.free_runs;
	if (r < 0)
		fprintf(stderr, "bench: pool churn at op %" PRIu64 ": %s\n", i,
			strerror(-r));
	return r;
}

/* bench_alloc_churn -- the same loop on the raw allocator */
static int bench_alloc_churn(struct alloc *a, struct bench_live *live,
			     uint64_t nlive, uint64_t ops, uint64_t *rng,
			     struct bench_time *t)
{
	uint64_t i, k, off, len;
	double t0;
	int r = 0;

	t->commit = 0;
	t0 = bench_now();
	for (i = 0; i < ops; i++) {
		len = (1 + bench_rand(rng) % 8) * BENCH_UNIT;
		r = alloc_reserve(a, len, 0, &off);
		if (r < 0)
			break;
		k = bench_rand(rng) % nlive;
		r = alloc_release(a, live[k].key, live[k].len);
		if (r < 0)
			break;
		live[k].key = off;
		live[k].len = len;
	}
	t->total = bench_now() - t0;
	t->ops = i;
	t->free_runs = alloc_free_runs(a);
	if (r < 0)
		fprintf(stderr, "bench: allocator churn at op %" PRIu64 ": %s\n",
			i, strerror(-r));
	return r;
}

/*
 * bench_floor_churn -- the loop's own cost: random numbers, malloc, free
 *
 * A block the size of struct extent (what pool_alloc() allocates) is
 * taken and a random live one freed, over a live array as large as the
 * pool's: the floor pays the same cache misses on that array.
 */
static void bench_floor_churn(void **live, uint64_t nlive, uint64_t ops,
			      uint64_t *rng, struct bench_time *t)
{
	uint64_t i, k, sink = 0;
	double t0;

	t0 = bench_now();
	for (i = 0; i < ops; i++) {
		uint64_t len = (1 + bench_rand(rng) % 8) * BENCH_UNIT;
		struct extent *e = malloc(sizeof(*e));

		if (!e)
			break;
		e->rec.length = len;
		k = bench_rand(rng) % nlive;
		sink += ((struct extent *)live[k])->rec.length;
		free(live[k]);
		live[k] = e;
	}
	t->total = bench_now() - t0;
	t->commit = 0;
	t->ops = i;
	t->free_runs = sink ? 0 : 1; /* keeps the reads from being dropped */
}

/* Per-pair costs at one population, in ns: medians of BENCH_RUNS runs. */
struct bench_costs {
	double pool_nocommit;
	double pool_commit;
	double raw;
	double floor;
	uint64_t pool_runs;
	uint64_t raw_runs;
};

/* bench_ns -- nanoseconds per pair of a measured loop */
static double bench_ns(const struct bench_time *t, bool with_commit)
{
	double s = with_commit ? t->total : t->total - t->commit;

	return t->ops ? s * 1e9 / (double)t->ops : 0;
}

/* bench_costs_pool -- populate a pool with nlive extents, warm it, measure */
static int bench_costs_pool(const struct bench_plan *plan, uint64_t nlive,
			    struct bench_costs *c)
{
	struct pool_attr attr = { .mode = 0600 };
	double nc[BENCH_RUNS], wc[BENCH_RUNS];
	uint64_t rng = 42 + nlive, i, warm;
	struct bench_live *live;
	struct bench_time t;
	struct device *dev;
	struct extent *e;
	struct pool *p;
	char path[256];
	double spent = 0;
	unsigned int run;
	int r;

	live = calloc(nlive, sizeof(*live));
	if (!live)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/bench-pool-%d.img", plan->dir,
		 (int)getpid());
	/* Half full on average: 4.5 units an extent, 9 units of room each. */
	r = bench_pool_new(path, nlive * 9 + 1024, &dev, &p);
	if (r < 0)
		goto out_free;
	for (i = 0; i < nlive && r == 0; i++) {
		r = pool_alloc(p, (1 + bench_rand(&rng) % 8) * BENCH_UNIT, 0,
			       &attr, &e);
		if (r == 0) {
			live[i].key = e->rec.id;
			if ((i + 1) % BENCH_COMMIT_EVERY == 0)
				r = bench_commit(p, &spent);
		}
	}
	/* Enough churn that free space is as fragmented as it will get. */
	warm = nlive * 2 > plan->warmup ? nlive * 2 : plan->warmup;
	if (r == 0)
		r = bench_pool_churn(p, live, nlive, warm, &rng, &t);
	for (run = 0; r == 0 && run < BENCH_RUNS; run++) {
		r = bench_pool_churn(p, live, nlive, plan->ops, &rng, &t);
		nc[run] = bench_ns(&t, false);
		wc[run] = bench_ns(&t, true);
	}
	if (r == 0) {
		c->pool_nocommit = bench_median(nc, BENCH_RUNS);
		c->pool_commit = bench_median(wc, BENCH_RUNS);
		c->pool_runs = t.free_runs;
	}
	pool_close(p, false);
	device_close(dev);
	unlink(path);
out_free:
	free(live);
	return r;
}

/* bench_costs_raw -- the same population on a bare allocator */
static int bench_costs_raw(const struct bench_plan *plan, uint64_t nlive,
			   struct bench_costs *c)
{
	uint64_t rng = 42 + nlive, i, warm, len;
	double v[BENCH_RUNS];
	struct bench_live *live;
	struct bench_time t;
	struct alloc *a;
	unsigned int run;
	int r;

	live = calloc(nlive, sizeof(*live));
	if (!live)
		return -ENOMEM;
	r = alloc_new(BENCH_UNIT, (nlive * 9 + 1024) * BENCH_UNIT, BENCH_UNIT,
		      true, &a);
	if (r < 0)
		goto out_free;
	for (i = 0; i < nlive && r == 0; i++) {
		len = (1 + bench_rand(&rng) % 8) * BENCH_UNIT;
		r = alloc_reserve(a, len, 0, &live[i].key);
		live[i].len = len;
	}
	warm = nlive * 2 > plan->warmup ? nlive * 2 : plan->warmup;
	if (r == 0)
		r = bench_alloc_churn(a, live, nlive, warm, &rng, &t);
	for (run = 0; r == 0 && run < BENCH_RUNS; run++) {
		r = bench_alloc_churn(a, live, nlive, plan->ops, &rng, &t);
		v[run] = bench_ns(&t, true);
	}
	if (r == 0) {
		c->raw = bench_median(v, BENCH_RUNS);
		c->raw_runs = t.free_runs;
	}
	alloc_destroy(a);
out_free:
	free(live);
	return r;
}

/* bench_costs_floor -- the floor loop over nlive blocks */
static int bench_costs_floor(const struct bench_plan *plan, uint64_t nlive,
			     struct bench_costs *c)
{
	uint64_t rng = 42 + nlive, i, warm;
	double v[BENCH_RUNS];
	struct bench_time t;
	unsigned int run;
	void **live;
	int r = 0;

	live = calloc(nlive, sizeof(*live));
	if (!live)
		return -ENOMEM;
	for (i = 0; i < nlive; i++) {
		struct extent *e = malloc(sizeof(*e));

		if (!e) {
			r = -ENOMEM;
			nlive = i;
			goto out_free;
		}
		e->rec.length = BENCH_UNIT;
		live[i] = e;
	}
	warm = nlive * 2 > plan->warmup ? nlive * 2 : plan->warmup;
	bench_floor_churn(live, nlive, warm, &rng, &t);
	for (run = 0; run < BENCH_RUNS; run++) {
		bench_floor_churn(live, nlive, plan->ops, &rng, &t);
		v[run] = bench_ns(&t, true);
	}
	c->floor = bench_median(v, BENCH_RUNS);
out_free:
	for (i = 0; i < nlive; i++)
		free(live[i]);
	free(live);
	return r;
}

/* bench_costs -- every cost at one population */
static int bench_costs(const struct bench_plan *plan, uint64_t nlive,
		       struct bench_costs *c)
{
	int r;

	memset(c, 0, sizeof(*c));
	r = bench_costs_floor(plan, nlive, c);
	if (r == 0)
		r = bench_costs_raw(plan, nlive, c);
	if (r == 0)
		r = bench_costs_pool(plan, nlive, c);
	if (r < 0)
		fprintf(stderr, "bench: costs at %" PRIu64 " live: %s\n", nlive,
			strerror(-r));
	return r;
}

/*
 * bench_row -- one line of the cost table
 *
 * Besides the plain ratio, the ratio once the floor's own growth in
 * nanoseconds is taken off the large figure: what is left is growth that
 * cache misses on a live array of that size do not explain.
 */
static void bench_row(const char *what, double small, double large,
		      double floor_growth)
{
	printf("%-36s %9.0f %9.0f %7.2fx %9.0f %9.2fx\n", what, small, large,
	       large / small, large - small, (large - floor_growth) / small);
}

/* bench_allocation -- the cost table, 1k against 1M live extents */
static int bench_allocation(const struct bench_plan *plan)
{
	struct bench_costs s, l;
	double fg;
	int r;

	r = bench_costs(plan, plan->small_live, &s);
	if (r == 0)
		r = bench_costs(plan, plan->large_live, &l);
	if (r < 0)
		return r;
	fg = l.floor - s.floor;
	printf("\nallocation: ns per alloc+free pair, median of %d runs of %" PRIu64 " pairs after a warm-up\n",
	       BENCH_RUNS, plan->ops);
	printf("%-36s %9s %9s %8s %9s %10s\n", "", "live", "live", "ratio",
	       "growth", "ratio less");
	printf("%-36s %9" PRIu64 " %9" PRIu64 " %8s %9s %10s\n", "loop",
	       plan->small_live, plan->large_live, "", "ns", "floor's");
	bench_row("pool_alloc+pool_delete, no commit", s.pool_nocommit,
		  l.pool_nocommit, fg);
	bench_row("  with pool_commit every 1000", s.pool_commit, l.pool_commit,
		  fg);
	bench_row("alloc_reserve+alloc_release", s.raw, l.raw, fg);
	bench_row("floor: PRNG + malloc/free", s.floor, l.floor, fg);
	printf("free runs at the end: pool %" PRIu64 " / %" PRIu64 ", raw allocator %" PRIu64 " / %" PRIu64 "\n",
	       s.pool_runs, l.pool_runs, s.raw_runs, l.raw_runs);
	printf("goal: ratio <= 1.50x; pool (no commit) %.2fx: %s\n",
	       l.pool_nocommit / s.pool_nocommit,
	       l.pool_nocommit / s.pool_nocommit <= 1.5 ? "met" : "MISSED");
	return 0;
}

/* bench_usage -- what the command line takes */
static void bench_usage(FILE *f)
{
	fputs("Usage: bench_pool [--quick] [--recovery-only | --alloc-only] [--dir DIR]\n"
	      "Recovery time with 100k and 1M extents, and the cost of an\n"
	      "alloc+free pair with 1k and 1M live extents, against a floor\n"
	      "measured in the same run.  Pool files go to DIR (default\n"
	      "/dev/shm) and are removed.  --quick: 10x smaller, a smoke run.\n",
	      f);
}

int main(int argc, char **argv)
{
	struct bench_plan plan = {
		.recovery_n = { 100 * BENCH_K, BENCH_M, 1500 * BENCH_K },
		.nrecovery = 3,
		.small_live = BENCH_K,
		.large_live = BENCH_M,
		.ops = 500 * BENCH_K,
		.warmup = 500 * BENCH_K,
		.dir = "/dev/shm",
	};
	bool recovery = true, allocation = true;
	unsigned int i;
	int k;

	for (k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "--quick")) {
			plan.recovery_n[0] = 10 * BENCH_K;
			plan.recovery_n[1] = 100 * BENCH_K;
			plan.nrecovery = 2;
			plan.large_live = 100 * BENCH_K;
			plan.ops = 50 * BENCH_K;
			plan.warmup = 50 * BENCH_K;
		} else if (!strcmp(argv[k], "--recovery-only")) {
			allocation = false;
		} else if (!strcmp(argv[k], "--alloc-only")) {
			recovery = false;
		} else if (!strcmp(argv[k], "--dir") && k + 1 < argc) {
			plan.dir = argv[++k];
		} else {
			bench_usage(!strcmp(argv[k], "--help") ? stdout : stderr);
			return !strcmp(argv[k], "--help") ? 0 : 2;
		}
	}
	log_init(getenv("BENCH_LOG") ? LOG_INFO : LOG_WARNING);
	if (recovery) {
		printf("recovery: device_open + pool_open_device on %s, unit %llu, median of %d runs\n",
		       plan.dir, BENCH_UNIT, BENCH_RUNS);
		printf("%10s %10s %10s %9s %9s %9s %12s\n", "allocated",
		       "extents", "free runs", "total s", "device s", "pool s",
		       "extents/s");
		for (i = 0; i < plan.nrecovery; i++)
			if (bench_recovery(&plan, plan.recovery_n[i]) < 0)
				return 1;
		printf("(every third extent deleted after the build: 'extents' is what recovery loads)\n");
	}
	if (allocation && bench_allocation(&plan) < 0)
		return 1;
	return 0;
}
