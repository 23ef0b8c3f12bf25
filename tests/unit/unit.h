/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit.h -- what every CUnit program under tests/unit shares
 *
 * The main() of each program is the same: one suite, its fixture, its
 * tests, a verbose run, and an exit status that a failed assertion or a
 * failed set-up turns non-zero.  The programs also count their own open
 * descriptors to prove that nothing was leaked, and some keep their files
 * in a temporary folder of their own.
 */
#ifndef DAXALLOC_TESTS_UNIT_H
#define DAXALLOC_TESTS_UNIT_H

#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>

struct unit_test {
	const char *name;
	CU_TestFunc fn;
};

/* unit_count_fds -- number of descriptors open in this process, or -1 */
static inline int unit_count_fds(void)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	/* The directory's own descriptor is counted too, every time alike. */
	d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/*
 * unit_sendmsg_fds -- send one datagram with nfds descriptors, unchecked
 *
 * Bypasses wire_send() on purpose: it is how a misbehaving peer sends more
 * descriptors than the protocol allows.  Returns sendmsg()'s result.
 */
static inline ssize_t unit_sendmsg_fds(int sock, const void *buf, size_t len,
				       const int *fds, unsigned int nfds)
{
	char control[CMSG_SPACE(sizeof(int) * 16)] __attribute__((aligned(8)));
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (nfds > 16)
		return -1;
	if (nfds) {
		memset(control, 0, sizeof(control));
		mh.msg_control = control;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL);
}

/* unit_tmpdir -- make a fresh folder $TMPDIR/NAME.XXXXXX into dir */
static inline int unit_tmpdir(char dir[PATH_MAX], const char *name)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, PATH_MAX, "%s/%s.XXXXXX", tmp && *tmp ? tmp : "/tmp",
		 name);
	return mkdtemp(dir) ? 0 : -1;
}

/* unit_rm -- nftw callback removing everything it meets */
static inline int unit_rm(const char *path, const struct stat *st, int flag,
			  struct FTW *ftw)
{
	return remove(path);
}

/* unit_tmpdir_remove -- remove the folder and all in it */
static inline int unit_tmpdir_remove(const char *dir)
{
	return nftw(dir, unit_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* unit_path -- "dir/name", in a buffer reused by the next call */
static inline const char *unit_path(const char *dir, const char *name)
{
	static char buf[PATH_MAX + 64];

	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	return buf;
}

/*
 * unit_main -- register one suite, run it verbosely, report the outcome
 *
 * Returns the process exit status: 0 only if the registry was set up, the
 * suite's init and cleanup worked, and no assertion failed.  The counts are
 * read before the registry is cleaned up, which resets them.
 */
static inline int unit_main(const char *suite_name, CU_InitializeFunc init,
			    CU_CleanupFunc fini, CU_SetUpFunc setup,
			    CU_TearDownFunc teardown,
			    const struct unit_test *tests)
{
	unsigned int failures;
	CU_pSuite suite;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	suite = CU_add_suite_with_setup_and_teardown(suite_name, init, fini,
						     setup, teardown);
	if (!suite)
		goto err_registry;
	for (; tests->name; tests++)
		if (!CU_add_test(suite, tests->name, tests->fn))
			goto err_registry;

	CU_basic_set_mode(CU_BRM_VERBOSE);
	if (CU_basic_run_tests() != CUE_SUCCESS)
		goto err_registry;
	failures =
		CU_get_number_of_failures() + CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return failures ? 1 : 0;

err_registry:
	fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
	CU_cleanup_registry();
	return 2;
}

#endif /* DAXALLOC_TESTS_UNIT_H */
