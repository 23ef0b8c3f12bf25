// SPDX-License-Identifier: Apache-2.0
/*
 * notify.c -- service manager notifications (sd_notify)
 *
 * libsystemd's sd_notify() does nothing when NOTIFY_SOCKET is unset, so
 * these are safe to call when not run by systemd.
 */
#include <stdarg.h>
#include <stdint.h>
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

/* notify_reloading -- a configuration reload (SIGHUP) has begun */
void notify_reloading(void)
{
	notify_send("RELOADING=1\nSTATUS=reloading the configuration");
}

/* notify_reloaded -- the reload is over: ready again */
void notify_reloaded(const char *status)
{
	notify_ready(status);
}

/*
 * notify_watchdog_usec -- the watchdog interval the service manager asks for
 *
 * Returns 1 with *usec set when WatchdogSec= is on for this process, 0 when
 * it is off, or a negative errno for a malformed WATCHDOG_USEC.
 */
int notify_watchdog_usec(uint64_t *usec)
{
	uint64_t u = 0;
	int r;

	r = sd_watchdog_enabled(0, &u);
	if (r < 0)
		log_warn("WATCHDOG_USEC: %s; no watchdog pings", strerror(-r));
	if (r <= 0)
		return r;
	*usec = u;
	return 1;
}

/* notify_watchdog -- the loop is alive */
void notify_watchdog(void)
{
	int r = sd_notify(0, "WATCHDOG=1");

	if (r < 0)
		log_warn("sd_notify WATCHDOG=1: %s", strerror(-r));
}
