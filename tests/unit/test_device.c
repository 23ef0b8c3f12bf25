// SPDX-License-Identifier: Apache-2.0
/*
 * test_device.c -- the device layer: file backend, refusals, flock, sim
 *
 * The file backend runs through the real libpmem2 on a temp folder; the
 * refusals use what any Linux box has (/dev/null, a FIFO, a directory, a
 * loop block device); devdax itself needs the qemu harness.  The simulated
 * device is checked against its power-failure contract, which the crash
 * tests of the allocator build on.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "device.h"
#include "log.h"
#include "unit.h"

#define MiB (1ULL << 20)

static char test_dir[PATH_MAX];
static int test_fds_before;

/* test_path -- a path inside the suite's temp folder */
static const char *test_path(const char *name)
{
	return unit_path(test_dir, name);
}

/* test_init -- the temp folder, and the log level */
static int test_init(void)
{
	log_init(getenv("DEVICE_TEST_DEBUG") ? LOG_DEBUG : LOG_INFO);
	if (unit_tmpdir(test_dir, "test_device") < 0)
		return -1;
	test_fds_before = unit_count_fds();
	return 0;
}

/* test_fini -- remove the temp folder */
static int test_fini(void)
{
	return unit_tmpdir_remove(test_dir);
}

/*
 * Capturing our own stderr, where log.c writes, to check what an operator
 * would read.  stderr is unbuffered, so nothing is left in flight.
 */
static int capture_saved = -1;
static char capture_file[PATH_MAX + 64];

/* capture_begin -- send stderr to a file */
static void capture_begin(void)
{
	int fd;

	snprintf(capture_file, sizeof(capture_file), "%s/log.txt", test_dir);
	fd = open(capture_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	fflush(stderr);
	capture_saved = dup(2);
	CU_ASSERT_FATAL(capture_saved >= 0);
	dup2(fd, 2);
	close(fd);
}

/* capture_end -- restore stderr, return what was written (echoed too) */
static const char *capture_end(void)
{
	static char buf[8192];
	ssize_t n;
	int fd;

	fflush(stderr);
	dup2(capture_saved, 2);
	close(capture_saved);
	capture_saved = -1;
	buf[0] = '\0';
	fd = open(capture_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return buf;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	fputs(buf, stderr);
	return buf;
}

/* open_file -- device_open on a test file */
static int open_file(const char *name, uint64_t size, uint64_t unit,
		     struct device **d)
{
	struct device_config cfg = {
		.path = test_path(name),
		.size = size,
		.unit = unit,
	};

	return device_open(&cfg, d);
}

/* Creating a pool file: sparse, locked, described as asked. */
static void test_file_create(void)
{
	struct device *d;
	struct stat st;
	int r;

	r = open_file("create.pool", 64 * MiB, 2 * MiB, &d);
	CU_ASSERT_EQUAL_FATAL(r, 0);
	CU_ASSERT_EQUAL(d->kind, DEVICE_FILE);
	CU_ASSERT_STRING_EQUAL(device_kind_name(d->kind), "file");
	CU_ASSERT_TRUE(d->created);
	CU_ASSERT_EQUAL(d->size, 64 * MiB);
	CU_ASSERT_EQUAL(d->align, 2 * MiB);
	CU_ASSERT_PTR_NOT_NULL(d->addr);
	CU_ASSERT_PTR_NOT_NULL(d->ops);
	CU_ASSERT_TRUE(d->numa_node >= -1);
	CU_ASSERT_STRING_EQUAL(d->path, test_path("create.pool"));
	CU_ASSERT_TRUE(d->fd >= 0);
	CU_ASSERT_TRUE(fcntl(d->fd, F_GETFD) & FD_CLOEXEC);
	CU_ASSERT_EQUAL(fcntl(d->fd, F_GETFL) & O_ACCMODE, O_RDWR);
	CU_ASSERT_EQUAL_FATAL(fstat(d->fd, &st), 0);
	CU_ASSERT_EQUAL(st.st_size, (off_t)(64 * MiB));
	/* Sparse: a few metadata blocks at most, not 64 MiB. */
	CU_ASSERT_TRUE((uint64_t)st.st_blocks * 512 < MiB);
	/* The mapping reads as zeroes. */
	CU_ASSERT_EQUAL(((unsigned char *)d->addr)[0], 0);
	CU_ASSERT_EQUAL(((unsigned char *)d->addr)[d->size - 1], 0);
	device_close(d);
}

/* Reopening keeps the file and its size, whatever size is asked. */
static void test_file_reopen(void)
{
	struct device *d;

	CU_ASSERT_EQUAL_FATAL(open_file("reopen.pool", 8 * MiB, 0, &d), 0);
	CU_ASSERT_TRUE(d->created);
	CU_ASSERT_EQUAL(d->align, DEVICE_DEFAULT_UNIT);
	device_close(d);

	CU_ASSERT_EQUAL_FATAL(open_file("reopen.pool", 0, 0, &d), 0);
	CU_ASSERT_FALSE(d->created);
	CU_ASSERT_EQUAL(d->size, 8 * MiB);
	device_close(d);

	/* A size given for an existing file does not resize it. */
	CU_ASSERT_EQUAL_FATAL(open_file("reopen.pool", 16 * MiB, 0, &d), 0);
	CU_ASSERT_FALSE(d->created);
	CU_ASSERT_EQUAL(d->size, 8 * MiB);
	device_close(d);

	/* Another unit that still divides the size is fine. */
	CU_ASSERT_EQUAL_FATAL(open_file("reopen.pool", 0, 1 * MiB, &d), 0);
	CU_ASSERT_EQUAL(d->align, 1 * MiB);
	device_close(d);
}

/* What goes through the write path is in the file, before and after. */
static void test_file_write_read(void)
{
	unsigned char pattern[300], back[300], zeros[100];
	unsigned char *base;
	struct device *d;
	unsigned int i;
	int fd;

	for (i = 0; i < sizeof(pattern); i++)
		pattern[i] = (unsigned char)(i * 7 + 3);
	CU_ASSERT_EQUAL_FATAL(open_file("rw.pool", 4 * MiB, 0, &d), 0);
	base = d->addr;
	/* Unaligned on purpose: libpmem2 handles partial lines. */
	device_memcpy(d, base + 4096 + 17, pattern, sizeof(pattern));
	device_memset(d, base + MiB + 5, 0xa5, 100);
	device_drain(d);
	/* A plain store made durable with device_persist. */
	base[3 * MiB] = 0x5a;
	device_persist(d, base + 3 * MiB, 1);
	/* A flush then a drain. */
	base[3 * MiB + 64] = 0x6b;
	device_flush(d, base + 3 * MiB + 64, 1);
	device_drain(d);

	fd = open(test_path("rw.pool"), O_RDONLY | O_CLOEXEC);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(pread(fd, back, sizeof(back), 4096 + 17),
			(ssize_t)sizeof(back));
	CU_ASSERT_EQUAL(memcmp(back, pattern, sizeof(pattern)), 0);
	CU_ASSERT_EQUAL(pread(fd, back, 100, MiB + 5), 100);
	memset(zeros, 0xa5, sizeof(zeros));
	CU_ASSERT_EQUAL(memcmp(back, zeros, 100), 0);
	CU_ASSERT_EQUAL(pread(fd, back, 1, 3 * MiB), 1);
	CU_ASSERT_EQUAL(back[0], 0x5a);
	CU_ASSERT_EQUAL(pread(fd, back, 1, 3 * MiB + 64), 1);
	CU_ASSERT_EQUAL(back[0], 0x6b);
	/* Bytes around the writes were left alone. */
	CU_ASSERT_EQUAL(pread(fd, back, 1, 4096 + 16), 1);
	CU_ASSERT_EQUAL(back[0], 0);
	close(fd);
	device_close(d);

	CU_ASSERT_EQUAL_FATAL(open_file("rw.pool", 0, 0, &d), 0);
	base = d->addr;
	CU_ASSERT_EQUAL(memcmp(base + 4096 + 17, pattern, sizeof(pattern)), 0);
	CU_ASSERT_EQUAL(base[3 * MiB], 0x5a);
	device_close(d);
}

/* Sizes and units that do not make a pool are refused. */
static void test_file_bad_geometry(void)
{
	struct device *d = (struct device *)&d;
	struct stat st;
	int fd;

	/* An existing file that is not a whole number of units. */
	fd = open(test_path("odd.pool"), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(ftruncate(fd, (off_t)(3 * MiB + 4096)), 0);
	close(fd);
	CU_ASSERT_EQUAL(open_file("odd.pool", 0, 2 * MiB, &d), -EINVAL);
	CU_ASSERT_PTR_NULL(d);
	/* ... it is fine with a unit that divides it. */
	CU_ASSERT_EQUAL_FATAL(open_file("odd.pool", 0, 4096, &d), 0);
	device_close(d);

	/* Smaller than one unit. */
	fd = open(test_path("small.pool"), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(ftruncate(fd, (off_t)MiB), 0);
	close(fd);
	CU_ASSERT_EQUAL(open_file("small.pool", 0, 2 * MiB, &d), -EINVAL);
	/* Empty. */
	fd = open(test_path("empty.pool"), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL(open_file("empty.pool", 0, 0, &d), -EINVAL);

	/* Creating with a size that is not a multiple leaves nothing. */
	CU_ASSERT_EQUAL(open_file("new.pool", 3 * MiB, 2 * MiB, &d), -EINVAL);
	CU_ASSERT_EQUAL(stat(test_path("new.pool"), &st), -1);
	CU_ASSERT_EQUAL(open_file("new.pool", MiB, 2 * MiB, &d), -EINVAL);
	CU_ASSERT_EQUAL(stat(test_path("new.pool"), &st), -1);

	/* Units: powers of two, no smaller than a page. */
	CU_ASSERT_EQUAL(open_file("new.pool", 6 * MiB, 3 * MiB, &d), -EINVAL);
	CU_ASSERT_EQUAL(open_file("new.pool", 4 * MiB, 512, &d), -EINVAL);
	CU_ASSERT_EQUAL(stat(test_path("new.pool"), &st), -1);
}

/* Things that are neither a file nor devdax are refused, quickly. */
static void test_not_a_device(void)
{
	struct device_config cfg = { 0 };
	struct device *d;
	const char *log;

	cfg.path = test_dir;
	CU_ASSERT_EQUAL(device_open(&cfg, &d), -EISDIR);
	cfg.size = 4 * MiB;
	CU_ASSERT_EQUAL(device_open(&cfg, &d), -EISDIR);

	/* A FIFO: refused without opening it, so nothing blocks. */
	CU_ASSERT_EQUAL_FATAL(mkfifo(test_path("fifo"), 0600), 0);
	cfg.path = test_path("fifo");
	cfg.size = 0;
	capture_begin();
	CU_ASSERT_EQUAL(device_open(&cfg, &d), -EINVAL);
	log = capture_end();
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "is a FIFO"));

	cfg.path = "";
	CU_ASSERT_EQUAL(device_open(&cfg, &d), -EINVAL);
	cfg.path = NULL;
	CU_ASSERT_EQUAL(device_open(&cfg, &d), -EINVAL);
}

/* A missing path without a size is not created. */
static void test_nonexistent(void)
{
	struct device *d;
	struct stat st;

	CU_ASSERT_EQUAL(open_file("absent.pool", 0, 0, &d), -ENOENT);
	CU_ASSERT_EQUAL(stat(test_path("absent.pool"), &st), -1);
	CU_ASSERT_EQUAL(open_file("no/such/dir/x.pool", 4 * MiB, 0, &d),
			-ENOENT);
	/* A missing devdax node never becomes a pool file in devtmpfs. */
	{
		struct device_config cfg = { .path = "/dev/dax97.3",
					     .size = 4 * MiB };

		CU_ASSERT_EQUAL(device_open(&cfg, &d), -ENOENT);
		CU_ASSERT_EQUAL(stat("/dev/dax97.3", &st), -1);
	}
}

/* /dev/null is a character device but not device-dax. */
static void test_chr_not_devdax(void)
{
	struct device_config cfg = { .path = "/dev/null" };
	struct device *d;
	const char *log;

	capture_begin();
	CU_ASSERT_EQUAL(device_open(&cfg, &d), -ENODEV);
	log = capture_end();
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "not device-dax"));
	/* Still refused for what it is, with a size given. */
	cfg.size = 4 * MiB;
	CU_ASSERT_EQUAL(device_open(&cfg, &d), -ENODEV);
}

/*
 * A block device (what /dev/pmemN is) is refused without being opened.
 * Any block device shows the path; a loop device is on every Linux box,
 * or can be made as a node in the temp folder when we are root.
 */
static void test_blk_refused(void)
{
	struct device_config cfg = { 0 };
	struct device *d;
	const char *log;
	struct stat st;

	if (stat("/dev/loop0", &st) == 0 && S_ISBLK(st.st_mode))
		cfg.path = "/dev/loop0";
	else if (mknod(test_path("blk"), S_IFBLK | 0600, makedev(7, 0)) == 0)
		cfg.path = test_path("blk");
	if (!cfg.path) {
		fprintf(stderr, "no block device to try; skipped\n");
		return;
	}
	capture_begin();
	CU_ASSERT_EQUAL(device_open(&cfg, &d), -ENODEV);
	log = capture_end();
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "block device"));
}

/* A namespace name is looked up in libndctl, never taken for a file. */
static void test_namespace_absent(void)
{
	struct device_config cfg = { .path = "namespace97.3", .size = 4 * MiB };
	struct device *d;
	const char *log;
	struct stat st;

	CU_ASSERT_TRUE(device_ndctl_is_namespace_name("namespace0.0"));
	CU_ASSERT_TRUE(device_ndctl_is_namespace_name("namespace12.345"));
	CU_ASSERT_FALSE(device_ndctl_is_namespace_name("namespace0"));
	CU_ASSERT_FALSE(device_ndctl_is_namespace_name("namespace0.0x"));
	CU_ASSERT_FALSE(device_ndctl_is_namespace_name("./namespace0.0"));
	CU_ASSERT_FALSE(device_ndctl_is_namespace_name("namespace.0"));
	CU_ASSERT_FALSE(device_ndctl_is_namespace_name("dax0.0"));

	capture_begin();
	CU_ASSERT_EQUAL(device_open(&cfg, &d), -ENOENT);
	log = capture_end();
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "no ndctl namespace namespace97.3"));
	/* And no file of that name appeared in the current folder. */
	CU_ASSERT_EQUAL(stat("namespace97.3", &st), -1);
}

/* A second open of a device held open is refused and names us. */
static void test_flock_same_process(void)
{
	struct device *d1, *d2 = NULL;
	char want[64];
	const char *log;

	CU_ASSERT_EQUAL_FATAL(open_file("lock.pool", 4 * MiB, 0, &d1), 0);
	capture_begin();
	CU_ASSERT_EQUAL(open_file("lock.pool", 0, 0, &d2), -EBUSY);
	log = capture_end();
	CU_ASSERT_PTR_NULL(d2);
	snprintf(want, sizeof(want), "owned by another daxallocd (pid %d)",
		 (int)getpid());
	CU_ASSERT_PTR_NOT_NULL(strstr(log, want));
	/* The refused open did not remove the file it did not create. */
	CU_ASSERT_EQUAL(access(test_path("lock.pool"), F_OK), 0);
	device_close(d1);
	CU_ASSERT_EQUAL_FATAL(open_file("lock.pool", 0, 0, &d2), 0);
	device_close(d2);
}

/* Another process holding the device: -EBUSY naming its pid. */
static void test_flock_other_process(void)
{
	int ready[2], go[2];
	struct device *d;
	const char *log;
	char want[64], c;
	pid_t child;
	int status;

	CU_ASSERT_EQUAL_FATAL(pipe2(ready, O_CLOEXEC), 0);
	CU_ASSERT_EQUAL_FATAL(pipe2(go, O_CLOEXEC), 0);
	child = fork();
	CU_ASSERT_FATAL(child >= 0);
	if (child == 0) {
		int r = open_file("held.pool", 4 * MiB, 0, &d);

		c = r == 0 ? 'y' : 'n';
		if (write(ready[1], &c, 1) != 1)
			_exit(3);
		if (read(go[0], &c, 1) < 0)
			_exit(4);
		if (r == 0)
			device_close(d);
		_exit(r == 0 ? 0 : 2);
	}
	close(ready[1]);
	close(go[0]);
	CU_ASSERT_EQUAL(read(ready[0], &c, 1), 1);
	CU_ASSERT_EQUAL(c, 'y');

	capture_begin();
	CU_ASSERT_EQUAL(open_file("held.pool", 0, 0, &d), -EBUSY);
	log = capture_end();
	snprintf(want, sizeof(want), "owned by another daxallocd (pid %d)",
		 (int)child);
	CU_ASSERT_PTR_NOT_NULL(strstr(log, want));

	/* Once the child lets go, the device is ours. */
	c = 'x';
	CU_ASSERT_EQUAL(write(go[1], &c, 1), 1);
	CU_ASSERT_EQUAL(waitpid(child, &status, 0), child);
	CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(ready[0]);
	close(go[1]);
	CU_ASSERT_EQUAL_FATAL(open_file("held.pool", 0, 0, &d), 0);
	CU_ASSERT_FALSE(d->created);
	device_close(d);
}

/* Descriptors for clients are separate opens: no shared lock. */
static void test_open_fd(void)
{
	struct device *d, *d2;
	int ro, rw;

	CU_ASSERT_EQUAL_FATAL(open_file("fd.pool", 4 * MiB, 0, &d), 0);
	ro = device_open_fd(d, O_RDONLY);
	rw = device_open_fd(d, O_RDWR);
	CU_ASSERT_FATAL(ro >= 0 && rw >= 0);
	CU_ASSERT_EQUAL(fcntl(ro, F_GETFL) & O_ACCMODE, O_RDONLY);
	CU_ASSERT_EQUAL(fcntl(rw, F_GETFL) & O_ACCMODE, O_RDWR);
	CU_ASSERT_TRUE(fcntl(ro, F_GETFD) & FD_CLOEXEC);
	CU_ASSERT_EQUAL(device_open_fd(d, O_WRONLY), -EINVAL);
	device_close(d);
	/* A client still holding its descriptor does not hold the lock. */
	CU_ASSERT_EQUAL_FATAL(open_file("fd.pool", 0, 0, &d2), 0);
	device_close(d2);
	close(ro);
	close(rw);
}

/* libpmem2 on a plain file: no bad blocks, usc per libpmem2, no failure. */
static void test_file_badblocks_usc(void)
{
	struct device *d;

	CU_ASSERT_EQUAL_FATAL(open_file("bb.pool", 4 * MiB, 0, &d), 0);
	CU_ASSERT_EQUAL(d->nbadblocks, 0);
	CU_ASSERT_FALSE(device_has_badblock(d, 0, d->size));
	if (!d->usc_supported)
		CU_ASSERT_EQUAL(d->usc, 0);
	fprintf(stderr, "file: usc_supported=%d usc=%llu numa_node=%d\n",
		d->usc_supported, (unsigned long long)d->usc, d->numa_node);
	device_close(d);
}

/* The bad block list merges and answers overlap queries at the edges. */
static void test_badblock_list(void)
{
	struct device *d;

	CU_ASSERT_EQUAL_FATAL(device_sim_new(MiB, 4096, &d), 0);
	CU_ASSERT_FALSE(device_has_badblock(d, 0, MiB));
	CU_ASSERT_EQUAL(device_sim_add_badblock(d, 8192, 512), 0);
	CU_ASSERT_EQUAL(device_sim_add_badblock(d, 4096, 512), 0);
	CU_ASSERT_EQUAL(device_sim_add_badblock(d, 65536, 4096), 0);
	CU_ASSERT_EQUAL(d->nbadblocks, 3);
	CU_ASSERT_EQUAL(d->badblocks[0].offset, 4096);
	CU_ASSERT_EQUAL(d->badblocks[1].offset, 8192);
	/* Touching ranges merge; a range over two merges all three. */
	CU_ASSERT_EQUAL(device_sim_add_badblock(d, 4608, 512), 0);
	CU_ASSERT_EQUAL(d->nbadblocks, 3);
	CU_ASSERT_EQUAL(d->badblocks[0].length, 1024);
	CU_ASSERT_EQUAL(device_sim_add_badblock(d, 5000, 4000), 0);
	CU_ASSERT_EQUAL(d->nbadblocks, 2);
	CU_ASSERT_EQUAL(d->badblocks[0].offset, 4096);
	CU_ASSERT_EQUAL(d->badblocks[0].length, 9000 - 4096);
	CU_ASSERT_EQUAL(d->badblocks[1].offset, 65536);

	CU_ASSERT_FALSE(device_has_badblock(d, 0, 4096));
	CU_ASSERT_TRUE(device_has_badblock(d, 0, 4097));
	CU_ASSERT_TRUE(device_has_badblock(d, 8999, 1));
	CU_ASSERT_FALSE(device_has_badblock(d, 9000, 65536 - 9000));
	CU_ASSERT_TRUE(device_has_badblock(d, 9000, 65536 - 9000 + 1));
	CU_ASSERT_TRUE(device_has_badblock(d, 0, MiB));
	CU_ASSERT_FALSE(device_has_badblock(d, 69632, MiB - 69632));
	CU_ASSERT_FALSE(device_has_badblock(d, 5000, 0));

	CU_ASSERT_EQUAL(device_sim_add_badblock(d, MiB - 1, 2), -EINVAL);
	CU_ASSERT_EQUAL(device_sim_add_badblock(d, 0, 0), -EINVAL);
	device_close(d);
}

/* sim_new -- the small simulated device crash tests use */
static struct device *sim_new(void)
{
	struct device *d = NULL;

	CU_ASSERT_EQUAL_FATAL(device_sim_new(32 * MiB, 64 * 1024, &d), 0);
	CU_ASSERT_EQUAL(d->kind, DEVICE_SIM);
	CU_ASSERT_EQUAL(d->fd, -1);
	CU_ASSERT_TRUE(d->created);
	CU_ASSERT_EQUAL(d->size, 32 * MiB);
	CU_ASSERT_EQUAL(d->align, 64 * 1024);
	CU_ASSERT_STRING_EQUAL(device_kind_name(d->kind), "sim");
	device_sim_track(d, 2 * MiB);
	return d;
}

/* all_bytes -- every byte of [p, p + len) equals c */
static bool all_bytes(const void *p, size_t len, unsigned char c)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] != c)
			return false;
	return true;
}

/* The simulated device's geometry is checked. */
static void test_sim_geometry(void)
{
	struct device *d = (struct device *)&d;

	CU_ASSERT_EQUAL(device_sim_new(MiB + 4096, 64 * 1024, &d), -EINVAL);
	CU_ASSERT_PTR_NULL(d);
	CU_ASSERT_EQUAL(device_sim_new(MiB, 3000, &d), -EINVAL);
	CU_ASSERT_EQUAL(device_sim_new(MiB, 32, &d), -EINVAL);
	CU_ASSERT_EQUAL(device_sim_new(0, 4096, &d), -EINVAL);
	d = sim_new();
	CU_ASSERT_EQUAL(device_open_fd(d, O_RDWR), -EOPNOTSUPP);
	CU_ASSERT_EQUAL(d->nbadblocks, 0);
	CU_ASSERT_FALSE(d->usc_supported);
	CU_ASSERT_EQUAL(d->numa_node, -1);
	device_close(d);
}

/* Persisted data survives a crash in which nothing else survives. */
static void test_sim_persisted_survives(void)
{
	struct device *d = sim_new();
	unsigned char *b = d->addr;

	memset(b + 100, 0x11, 1000);
	device_persist(d, b + 100, 1000);
	device_memcpy(d, b + 8192, "hello", 5);
	device_memset(d, b + 12288, 0x22, 4096);
	device_drain(d);
	device_sim_crash(d, 1, 0);
	CU_ASSERT_TRUE(all_bytes(b + 100, 1000, 0x11));
	CU_ASSERT_EQUAL(memcmp(b + 8192, "hello", 5), 0);
	CU_ASSERT_TRUE(all_bytes(b + 12288, 4096, 0x22));
	CU_ASSERT_TRUE(all_bytes(b, 100, 0));
	CU_ASSERT_TRUE(all_bytes(b + 1100, 8192 - 1100, 0));
	device_close(d);
}

/* Stores never flushed are dirty: gone with 0 %, kept with 100 %. */
static void test_sim_unpersisted(void)
{
	struct device *d = sim_new();
	unsigned char *b = d->addr;

	memset(b + 4096, 0x33, 4096);
	device_sim_crash(d, 2, 0);
	CU_ASSERT_TRUE(all_bytes(b + 4096, 4096, 0));

	memset(b + 4096, 0x44, 4096);
	device_sim_crash(d, 2, 100);
	CU_ASSERT_TRUE(all_bytes(b + 4096, 4096, 0x44));
	/* Now on media: a crash that keeps nothing keeps it. */
	device_sim_crash(d, 3, 0);
	CU_ASSERT_TRUE(all_bytes(b + 4096, 4096, 0x44));
	device_close(d);
}

/*
 * Flushed but not drained is dirty, line by line: with 0 % none, with
 * 100 % all, with 50 % some of 256 lines and not all (fixed seed).
 */
static void test_sim_flushed_not_drained(void)
{
	struct device *d = sim_new();
	unsigned char *b = d->addr;
	unsigned int i, kept = 0;

	memset(b, 0x55, 256 * 64);
	device_flush(d, b, 256 * 64);
	device_sim_crash(d, 4, 0);
	CU_ASSERT_TRUE(all_bytes(b, 256 * 64, 0));

	memset(b, 0x55, 256 * 64);
	device_flush(d, b, 256 * 64);
	device_sim_crash(d, 4, 100);
	CU_ASSERT_TRUE(all_bytes(b, 256 * 64, 0x55));

	memset(b, 0x66, 256 * 64);
	device_flush(d, b, 256 * 64);
	device_sim_crash(d, 4, 50);
	for (i = 0; i < 256; i++) {
		/* A line is all old or all new, never a mix. */
		CU_ASSERT_TRUE(all_bytes(b + i * 64, 64, 0x55) ||
			       all_bytes(b + i * 64, 64, 0x66));
		kept += b[i * 64] == 0x66;
	}
	CU_ASSERT_TRUE(kept > 64 && kept < 192);
	/* The same seed replays the same crash. */
	{
		unsigned char first[256];

		for (i = 0; i < 256; i++)
			first[i] = b[i * 64];
		memset(b, 0x55, 256 * 64);
		device_persist(d, b, 256 * 64);
		memset(b, 0x66, 256 * 64);
		device_flush(d, b, 256 * 64);
		device_sim_crash(d, 4, 50);
		for (i = 0; i < 256; i++)
			CU_ASSERT_EQUAL(b[i * 64], first[i]);
	}
	device_close(d);
}

/*
 * around_loss -- the power-loss scenario, then a crash keeping pct
 *
 * Line A persisted before arming; fail_after(1): line B's persist is
 * drain 1 and reaches media; line C's persist is drain 2, where power is
 * lost; then A is overwritten and D written and persisted, after the loss.
 */
static void around_loss(struct device *d, unsigned int pct)
{
	unsigned char *b = d->addr;

	memset(b + 0, 0xa1, 64);
	device_persist(d, b + 0, 64);
	device_sim_fail_after(d, 1);
	memset(b + 64, 0xb1, 64);
	device_persist(d, b + 64, 64);
	CU_ASSERT_FALSE(device_sim_power_lost(d));
	memset(b + 128, 0xc1, 64);
	device_persist(d, b + 128, 64);
	CU_ASSERT_TRUE(device_sim_power_lost(d));
	memset(b + 0, 0xa2, 64);
	memset(b + 192, 0xd1, 64);
	device_persist(d, b + 0, 256);
	/* A's persist before arming counts too: four drain points. */
	CU_ASSERT_EQUAL(device_sim_drains(d), 4);
	device_sim_crash(d, 5, pct);
	CU_ASSERT_FALSE(device_sim_power_lost(d));
	CU_ASSERT_EQUAL(device_sim_drains(d), 0);
	/* Before the loss and drained: always there. */
	CU_ASSERT_TRUE(all_bytes(b + 64, 64, 0xb1));
	/* After the loss: never, whatever pct says. */
	CU_ASSERT_TRUE(all_bytes(b + 0, 64, 0xa1));
	CU_ASSERT_TRUE(all_bytes(b + 192, 64, 0));
}

/* Stores after the power-loss point never survive, even with 100 %. */
static void test_sim_after_loss(void)
{
	struct device *d = sim_new();
	unsigned char *b = d->addr;

	around_loss(d, 0);
	/* Dirty at the moment of loss: lost with 0 %. */
	CU_ASSERT_TRUE(all_bytes(b + 128, 64, 0));
	device_close(d);

	d = sim_new();
	b = d->addr;
	around_loss(d, 100);
	/* ... kept with 100 %. */
	CU_ASSERT_TRUE(all_bytes(b + 128, 64, 0xc1));
	/* Re-armed to never fail: persists work again. */
	memset(b + 256, 0xe1, 64);
	device_persist(d, b + 256, 64);
	device_sim_crash(d, 6, 0);
	CU_ASSERT_TRUE(all_bytes(b + 256, 64, 0xe1));
	device_close(d);
}

/* Drain points: drain and persist count, flush/memcpy/memset do not. */
static void test_sim_drain_count(void)
{
	struct device *d = sim_new();
	unsigned char *b = d->addr;

	CU_ASSERT_EQUAL(device_sim_drains(d), 0);
	device_flush(d, b, 64);
	device_memcpy(d, b + 64, "x", 1);
	device_memset(d, b + 128, 1, 64);
	CU_ASSERT_EQUAL(device_sim_drains(d), 0);
	device_drain(d);
	CU_ASSERT_EQUAL(device_sim_drains(d), 1);
	device_persist(d, b, 64);
	CU_ASSERT_EQUAL(device_sim_drains(d), 2);
	/* An empty drain is still a drain point. */
	device_drain(d);
	CU_ASSERT_EQUAL(device_sim_drains(d), 3);
	device_sim_crash(d, 7, 0);
	CU_ASSERT_EQUAL(device_sim_drains(d), 0);
	device_close(d);
}

/*
 * fail_after(n) drops exactly the (n+1)-th drain: persist lines 0..5 one
 * per drain; after a crash keeping nothing dirty, lines 0..n-1 are there
 * and lines n.. are not.
 */
static void test_sim_fail_after_exact(void)
{
	struct device *d = sim_new();
	unsigned char *b = d->addr;
	unsigned long n, i;

	for (n = 0; n < 6; n++) {
		device_sim_fail_after(d, n);
		for (i = 0; i < 6; i++) {
			memset(b + i * 64, (int)(i + 1), 64);
			device_persist(d, b + i * 64, 64);
			CU_ASSERT_EQUAL(device_sim_power_lost(d), i >= n);
		}
		device_sim_crash(d, n, 0);
		for (i = 0; i < 6; i++)
			CU_ASSERT_TRUE(
				all_bytes(b + i * 64, 64,
					  i < n ? (unsigned char)(i + 1) : 0));
		/* Back to zeroes for the next round, durably. */
		memset(b, 0, 6 * 64);
		device_persist(d, b, 6 * 64);
		device_sim_crash(d, 0, 0);
	}
	/* ULONG_MAX never fails. */
	device_sim_fail_after(d, ULONG_MAX);
	for (i = 0; i < 1000; i++)
		device_drain(d);
	CU_ASSERT_FALSE(device_sim_power_lost(d));
	device_close(d);
}

/*
 * Beyond the tracked length the device is ideal memory: stores stay
 * through a crash.  Growing the tracked length makes what is there
 * durable; shrinking it drops pending marks beyond the end.
 */
static void test_sim_track(void)
{
	struct device *d = sim_new();
	unsigned char *b = d->addr;

	memset(b + 4 * MiB, 0x77, 4096);
	device_sim_crash(d, 8, 0);
	CU_ASSERT_TRUE(all_bytes(b + 4 * MiB, 4096, 0x77));

	device_sim_track(d, 8 * MiB);
	device_sim_crash(d, 8, 0);
	CU_ASSERT_TRUE(all_bytes(b + 4 * MiB, 4096, 0x77));
	memset(b + 4 * MiB, 0x78, 4096);
	device_sim_crash(d, 8, 0);
	CU_ASSERT_TRUE(all_bytes(b + 4 * MiB, 4096, 0x77));

	/* A length that is not a line multiple rounds up. */
	device_sim_track(d, 100);
	memset(b, 0x79, 256);
	device_sim_crash(d, 9, 0);
	CU_ASSERT_TRUE(all_bytes(b, 128, 0));
	CU_ASSERT_TRUE(all_bytes(b + 128, 128, 0x79));
	device_sim_track(d, UINT64_MAX);
	device_close(d);
}

/*
 * Crash points are cheap: many rounds of a few persists and a crash on a
 * 32 MiB device tracking 2 MiB.  Prints the rate; asserts only that the
 * state is right after each round.
 */
static void test_sim_many_crashes(void)
{
	struct device *d = sim_new();
	unsigned char *b = d->addr;
	struct timespec t0, t1;
	unsigned int round, rounds = getenv("DEVICE_TEST_ROUNDS") ?
					     (unsigned int)atoi(getenv(
						     "DEVICE_TEST_ROUNDS")) :
					     300;
	uint64_t off;
	double s;

	/* Touch the whole tracked area once, like a formatted pool. */
	memset(b, 0xee, 2 * MiB);
	device_persist(d, b, 2 * MiB);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (round = 0; round < rounds; round++) {
		off = (uint64_t)(round * 4160) % (2 * MiB - 4096);
		off &= ~63ULL;
		device_sim_fail_after(d, round % 4);
		memset(b + off, (int)(round & 0xff), 4096);
		device_persist(d, b + off, 1024);
		device_persist(d, b + off + 1024, 1024);
		device_persist(d, b + off + 2048, 1024);
		device_persist(d, b + off + 3072, 1024);
		device_sim_crash(d, round, 0);
		CU_ASSERT_TRUE(all_bytes(b + off, 1024 * (round % 4),
					 (unsigned char)round));
		/* Restore a known state for the next round. */
		memset(b + off, 0xee, 4096);
		device_persist(d, b + off, 4096);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	fprintf(stderr, "sim: %u crash rounds in %.3f s (%.0f us each)\n",
		rounds, s, s * 1e6 / rounds);
	device_close(d);
}

/* A write outside the device is a bug: the write path stops there. */
static void test_write_outside_aborts(void)
{
	struct device *d = sim_new();
	int status, null;
	pid_t child;

	child = fork();
	CU_ASSERT_FATAL(child >= 0);
	if (child == 0) {
		null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (null >= 0)
			dup2(null, 2);
		signal(SIGABRT, SIG_DFL);
		device_persist(d, (unsigned char *)d->addr + d->size - 8, 16);
		_exit(0);
	}
	CU_ASSERT_EQUAL(waitpid(child, &status, 0), child);
	CU_ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
	/* The last byte itself is fine. */
	device_persist(d, (unsigned char *)d->addr + d->size - 1, 1);
	device_close(d);
}

/* No descriptor opened by the tests or the device layer is left open. */
static void test_no_fd_leak(void)
{
	CU_ASSERT_EQUAL(unit_count_fds(), test_fds_before);
}

static const struct unit_test tests[] = {
	{ "file: create sparse", test_file_create },
	{ "file: reopen keeps size", test_file_reopen },
	{ "file: write path reaches the file", test_file_write_read },
	{ "file: bad geometry refused", test_file_bad_geometry },
	{ "directory, FIFO, empty path refused", test_not_a_device },
	{ "nonexistent without size: -ENOENT", test_nonexistent },
	{ "char device not devdax: -ENODEV", test_chr_not_devdax },
	{ "block device: -ENODEV", test_blk_refused },
	{ "namespace name not found: -ENOENT", test_namespace_absent },
	{ "flock: same process -EBUSY", test_flock_same_process },
	{ "flock: other process -EBUSY with pid", test_flock_other_process },
	{ "open_fd: separate open, no lock", test_open_fd },
	{ "file: bad blocks and usc", test_file_badblocks_usc },
	{ "bad block list", test_badblock_list },
	{ "sim: geometry", test_sim_geometry },
	{ "sim: persisted survives", test_sim_persisted_survives },
	{ "sim: unpersisted", test_sim_unpersisted },
	{ "sim: flushed not drained", test_sim_flushed_not_drained },
	{ "sim: stores after loss never survive", test_sim_after_loss },
	{ "sim: drain count", test_sim_drain_count },
	{ "sim: fail_after exact", test_sim_fail_after_exact },
	{ "sim: tracked length", test_sim_track },
	{ "sim: many crash points", test_sim_many_crashes },
	{ "write outside the device aborts", test_write_outside_aborts },
	{ "no descriptor leaked", test_no_fd_leak },
	{ NULL, NULL },
};

int main(void)
{
	return unit_main("device", test_init, test_fini, NULL, NULL, tests);
}
