/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pidfd_shim.h -- pidfds for the unit tests where the kernel's are missing
 *
 * Valgrind 3.19 (Debian 12) does not know pidfd_open() nor
 * pidfd_send_signal(): under it both fail with ENOSYS, and the daemon
 * could track no process.  A program linked with pidfd_shim.c and
 * -Wl,--wrap=syscall keeps the daemon's syscall() calls as they are; only
 * when the real call says ENOSYS does the shim answer instead, with the
 * read end of a pipe whose write end only the process holds: it becomes
 * readable (EOF) when the process exits, as a pidfd does.  Without
 * valgrind nothing changes.
 */
#ifndef DAXALLOC_TESTS_PIDFD_SHIM_H
#define DAXALLOC_TESTS_PIDFD_SHIM_H

#include <sys/types.h>

/*
 * pidfd_shim_child -- pid is a child whose only write end of a pipe is
 * its own; rfd (taken over, close-on-exec) is the read end
 */
void pidfd_shim_child(pid_t pid, int rfd);

/* pidfd_shim_forget -- pid was reaped: close its read end */
void pidfd_shim_forget(pid_t pid);

#endif /* DAXALLOC_TESTS_PIDFD_SHIM_H */
