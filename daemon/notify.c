// SPDX-License-Identifier: Apache-2.0
/*
 * notify.c -- service manager notifications (sd_notify)
 *
 * libsystemd's sd_notify() does nothing when NOTIFY_SOCKET is unset, so
 * these are safe to call when not run by systemd.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "log.h"
#include "notify.h"

/* notify_send -- format and send one state string; failures are logged */
static void __attribute__((format(printf, 1, 2))) notify_send(const char *fmt, ...)
{
	char state[512];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(state, sizeof(state), fmt, ap);
	va_end(ap);
	r = sd_notify(0, state);
	if (r < 0)
		log_warn("sd_notify: %s", strerror(-r));
}

/* notify_ready -- start-up is complete: sockets accept connections */
void notify_ready(const char *status)
{
	notify_send("READY=1\nSTATUS=%s", status);
}

/* notify_status -- a one-line status for systemctl status */
void notify_status(const char *status)
{
	notify_send("STATUS=%s", status);
}

/* notify_stopping -- shutdown has begun */
void notify_stopping(void)
{
	notify_send("STOPPING=1");
}
