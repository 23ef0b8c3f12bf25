/* SPDX-License-Identifier: Apache-2.0 */
/*
 * notify.h -- service manager notifications (sd_notify)
 */
#ifndef DAXALLOCD_NOTIFY_H
#define DAXALLOCD_NOTIFY_H

void notify_ready(const char *status);
void notify_status(const char *status);
void notify_stopping(void);

#endif /* DAXALLOCD_NOTIFY_H */
