// SPDX-License-Identifier: Apache-2.0
/*
 * procid.c -- process identity: pid + start time + boot id
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procid.h"

/* procid_read -- read a small /proc file into buf, NUL-terminated */
static int procid_read(const char *path, char *buf, size_t cap)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, cap - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	close(fd);
	buf[n] = '\0';
	return 0;
}

/* procid_boot_id -- this boot's id, from /proc/sys/kernel/random/boot_id */
int procid_boot_id(char buf[PROCID_BOOT_ID_LEN + 1])
{
	char tmp[64];
	int r;

	r = procid_read("/proc/sys/kernel/random/boot_id", tmp, sizeof(tmp));
	if (r < 0)
		return r;
	if (strlen(tmp) < PROCID_BOOT_ID_LEN)
		return -EINVAL;
	memcpy(buf, tmp, PROCID_BOOT_ID_LEN);
	buf[PROCID_BOOT_ID_LEN] = '\0';
	return 0;
}

/*
 * procid_start_time -- field 22 of /proc/PID/stat
 *
 * The command name (field 2) may hold spaces and parentheses, so parsing
 * starts after its last ')'.
 */
int procid_start_time(pid_t pid, uint64_t *start_time)
{
	char path[64], buf[1024];
	unsigned long long v;
	const char *p;
	int i, r;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	r = procid_read(path, buf, sizeof(buf));
	if (r < 0)
		return r == -ENOENT ? -ESRCH : r;
	p = strrchr(buf, ')');
	if (!p)
		return -EINVAL;
	/* After ')' come field 3 (state) ... field 22 (starttime). */
	for (i = 3; i <= 22; i++) {
		p = strchr(p, ' ');
		if (!p)
			return -EINVAL;
		p++;
	}
	if (sscanf(p, "%llu", &v) != 1)
		return -EINVAL;
	*start_time = v;
	return 0;
}

/* procid_get -- the full identity of a live process */
int procid_get(pid_t pid, struct procid *id)
{
	int r;

	memset(id, 0, sizeof(*id));
	id->pid = pid;
	r = procid_start_time(pid, &id->start_time);
	if (r < 0)
		return r;
	return procid_boot_id(id->boot_id);
}

/* procid_hex -- the value of one hex digit, or -1 */
static int procid_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* procid_boot_bytes -- the 16 bytes of a boot id string (a UUID) */
int procid_boot_bytes(const char *boot_id, uint8_t out[16])
{
	unsigned int n = 0;
	const char *p;
	int v;

	for (p = boot_id; *p && n < 32; p++) {
		if (*p == '-')
			continue;
		v = procid_hex(*p);
		if (v < 0)
			return -EINVAL;
		if (n % 2 == 0)
			out[n / 2] = (uint8_t)(v << 4);
		else
			out[n / 2] |= (uint8_t)v;
		n++;
	}
	return n == 32 ? 0 : -EINVAL;
}
