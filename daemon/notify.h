/* SPDX-License-Identifier: Apache-2.0 */
/*
 * notify.h -- service manager notifications (sd_notify)
 */
#ifndef DAXALLOCD_NOTIFY_H
#define DAXALLOCD_NOTIFY_H

#include <stdint.h>

void notify_ready(const char *status);
void notify_status(const char *status);
void notify_stopping(void);
void notify_reloading(void);
void notify_reloaded(const char *status);
int notify_watchdog_usec(uint64_t *usec);
void notify_watchdog(void);

#endif /* DAXALLOCD_NOTIFY_H */
