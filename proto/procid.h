/* SPDX-License-Identifier: Apache-2.0 */
/*
 * procid.h -- process identity: pid + start time + boot id
 *
 * A pid alone is reused; together with the process's start time (clock
 * ticks since boot) and the boot id it names one process for ever.  Leases
 * and pins belong to this identity, and Hello carries it.
 */
#ifndef DAXALLOC_PROCID_H
#define DAXALLOC_PROCID_H

#include <stdint.h>
#include <sys/types.h>

#define PROCID_BOOT_ID_LEN 36 /* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" */

struct procid {
	pid_t pid;
	uint64_t start_time;
	char boot_id[PROCID_BOOT_ID_LEN + 1];
};

int procid_boot_id(char buf[PROCID_BOOT_ID_LEN + 1]);
int procid_start_time(pid_t pid, uint64_t *start_time);
int procid_get(pid_t pid, struct procid *id);
int procid_boot_bytes(const char *boot_id, uint8_t out[16]);

#endif /* DAXALLOC_PROCID_H */
