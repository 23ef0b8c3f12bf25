// SPDX-License-Identifier: Apache-2.0
/*
 * pidfd_shim.c -- pidfds for the unit tests where the kernel's are missing
 *
 * See pidfd_shim.h.  The shim knows two kinds of process: this one (the
 * fixture's socketpairs make the test its own client), whose emulated
 * pidfd never becomes readable, and the children the test registered.
 * An emulated pidfd is a duplicate of the process's pipe read end, so
 * pidfd_send_signal() finds the process again by the pipe's inode, however
 * many times the daemon duplicated it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pidfd_shim.h"

#define PIDFD_SHIM_MAX 64

long __real_syscall(long number, ...);
long __wrap_syscall(long number, ...);

static struct {
	pid_t pid;
	int rfd;
	ino_t ino;
} pidfd_shim_procs[PIDFD_SHIM_MAX];

/* This process's own pipe; both ends stay open for the whole run. */
static int pidfd_shim_self[2] = { -1, -1 };

/*
 * Calls known to fail with ENOSYS go straight to the shim: valgrind logs
 * a warning for each unknown system call it is asked for.
 */
static bool pidfd_shim_nosys_open, pidfd_shim_nosys_signal;

/* pidfd_shim_ino -- the inode behind fd, 0 if none */
static ino_t pidfd_shim_ino(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

/* pidfd_shim_child -- register a child and the read end of its pipe */
void pidfd_shim_child(pid_t pid, int rfd)
{
	int i;

	for (i = 0; i < PIDFD_SHIM_MAX; i++) {
		if (pidfd_shim_procs[i].pid)
			continue;
		pidfd_shim_procs[i].pid = pid;
		pidfd_shim_procs[i].rfd = rfd;
		pidfd_shim_procs[i].ino = pidfd_shim_ino(rfd);
		return;
	}
	close(rfd); /* more children than a test has: nothing to emulate */
}

/* pidfd_shim_forget -- a child was reaped */
void pidfd_shim_forget(pid_t pid)
{
	int i;

	for (i = 0; i < PIDFD_SHIM_MAX; i++) {
		if (pidfd_shim_procs[i].pid != pid)
			continue;
		close(pidfd_shim_procs[i].rfd);
		pidfd_shim_procs[i].pid = 0;
	}
}

/*
 * pidfd_shim_init -- before main(): does this kernel (or valgrind) give
 * pidfds?  If not, make this process's pipe now, so that the
 * descriptor counts the tests take before and after each test agree.
 */
__attribute__((constructor)) static void pidfd_shim_init(void)
{
	long fd = __real_syscall(SYS_pidfd_open, (long)getpid(), 0L);

	if (fd >= 0) {
		close((int)fd);
		return;
	}
	if (errno != ENOSYS)
		return;
	pidfd_shim_nosys_open = true;
	if (pipe2(pidfd_shim_self, O_CLOEXEC) < 0)
		pidfd_shim_self[0] = pidfd_shim_self[1] = -1;
}

/*
 * pidfd_shim_fini -- after main(): close this process's pipe, so that
 * valgrind's descriptor report at exit shows only what the test leaked
 */
__attribute__((destructor)) static void pidfd_shim_fini(void)
{
	if (pidfd_shim_self[0] < 0)
		return;
	close(pidfd_shim_self[0]);
	close(pidfd_shim_self[1]);
	pidfd_shim_self[0] = pidfd_shim_self[1] = -1;
}

/* pidfd_shim_open -- an emulated pidfd for pid, or -1 with errno */
static long pidfd_shim_open(pid_t pid)
{
	int i;

	if (pid == getpid() && pidfd_shim_self[0] >= 0)
		return fcntl(pidfd_shim_self[0], F_DUPFD_CLOEXEC, 3);
	for (i = 0; i < PIDFD_SHIM_MAX; i++)
		if (pidfd_shim_procs[i].pid && pidfd_shim_procs[i].pid == pid)
			return fcntl(pidfd_shim_procs[i].rfd, F_DUPFD_CLOEXEC,
				     3);
	errno = ESRCH;
	return -1;
}

/* pidfd_shim_signal -- send sig to the process behind an emulated pidfd */
static long pidfd_shim_signal(int fd, int sig)
{
	ino_t ino = pidfd_shim_ino(fd);
	int i;

	for (i = 0; ino && i < PIDFD_SHIM_MAX; i++)
		if (pidfd_shim_procs[i].pid && pidfd_shim_procs[i].ino == ino)
			return kill(pidfd_shim_procs[i].pid, sig);
	errno = EBADF;
	return -1;
}

/*
 * __wrap_syscall -- syscall(), with the shim behind the pidfd calls
 *
 * syscall() itself always takes six arguments from the registers: passing
 * six on is what it would do with them.
 */
long __wrap_syscall(long number, ...)
{
	long a[6], r;
	va_list ap;
	int i;

	va_start(ap, number);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (number == SYS_pidfd_open && pidfd_shim_nosys_open)
		return pidfd_shim_open((pid_t)a[0]);
	if (number == SYS_pidfd_send_signal && pidfd_shim_nosys_signal)
		return pidfd_shim_signal((int)a[0], (int)a[1]);
	r = __real_syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (r >= 0 || errno != ENOSYS)
		return r;
	if (number == SYS_pidfd_open) {
		pidfd_shim_nosys_open = true;
		return pidfd_shim_open((pid_t)a[0]);
	}
	if (number == SYS_pidfd_send_signal) {
		pidfd_shim_nosys_signal = true;
		return pidfd_shim_signal((int)a[0], (int)a[1]);
	}
	return r;
}
