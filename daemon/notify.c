// SPDX-License-Identifier: Apache-2.0
/*
 * notify.c -- service manager notifications (NOTIFY_SOCKET)
 *
 * Nothing is sent when NOTIFY_SOCKET is unset, so these are safe to call
 * when not run by systemd.  The datagrams are what sd_notify(3) sends, but
 * sent without blocking: sd_notify() uses a blocking socket, and a reader
 * that stops reading (a test harness, a stuck manager) would stall the
 * event loop, its watchdog pings included.  WATCHDOG_USEC is still read
 * through libsystemd (notify_watchdog_usec()).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "log.h"
#include "notify.h"

/*
 * notify_addr -- NOTIFY_SOCKET as an address: a path, or "@name" for the
 * abstract namespace; 0 when unset, a negative errno when unusable
 */
static int notify_addr(struct sockaddr_un *sa, socklen_t *len)
{
	const char *e = getenv("NOTIFY_SOCKET");
	size_t n;

	if (!e || !*e)
		return 0;
	n = strlen(e);
	if ((e[0] != '/' && e[0] != '@') || n >= sizeof(sa->sun_path))
		return -EINVAL;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, e, n);
	if (e[0] == '@')
		sa->sun_path[0] = '\0';
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	return 1;
}

/* notify_send -- format and send one state string without blocking */
static void __attribute__((format(printf, 1, 2))) notify_send(const char *fmt, ...)
{
	struct sockaddr_un sa;
	char state[512];
	socklen_t len;
	va_list ap;
	int fd, r;

	r = notify_addr(&sa, &len);
	if (r <= 0) {
		if (r < 0)
			log_warn("NOTIFY_SOCKET: %s", strerror(-r));
		return;
	}
	va_start(ap, fmt);
	vsnprintf(state, sizeof(state), fmt, ap);
	va_end(ap);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		log_warn("notify socket: %s", strerror(errno));
		return;
	}
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL | MSG_DONTWAIT,
		   (struct sockaddr *)&sa, len) < 0) {
		/* A full queue: the next STATUS= or WATCHDOG=1 replaces this. */
		if (errno == EAGAIN)
			log_debug("notify: the service manager's queue is full; dropped: %.40s",
				  state);
		else
			log_warn("notify: %s", strerror(errno));
	}
	close(fd);
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
	notify_send("WATCHDOG=1");
}
