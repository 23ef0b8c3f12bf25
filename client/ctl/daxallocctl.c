// SPDX-License-Identifier: Apache-2.0
/*
 * daxallocctl.c -- inspect and steer daxallocd over its control socket
 *
 * One command per cmd_*.c file; this file holds the command table, the
 * global options and what the commands share.  Most commands talk to the
 * daemon; format and check --device work on a device no daemon owns,
 * through the daemon's own pool code (daxallocd_core).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "daxalloc-config.h"

static const struct ctl_cmd ctl_cmds[] = {
	{ "status", "daemon, clients, pool figures, how the last run ended",
	  cmd_status },
	{ "stats", "request and connection counters", cmd_stats },
	{ "list", "list extents, processes, leases, pins or the quarantine",
	  cmd_list },
	{ "show", "show one extent, its leases, pins and quarantine",
	  cmd_show },
	{ "revoke", "break leases, then revoke (and kill) their holders",
	  cmd_revoke },
	{ "check", "verify every invariant of the pool (live, or --device)",
	  cmd_check },
	{ "format", "write a new, empty pool onto a device (offline)",
	  cmd_format },
};

static void ctl_usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"Usage: daxallocctl [-s SOCKET] [-j] COMMAND [ARGS]\n"
		"Inspect and steer daxallocd over its control socket; format and check\n"
		"pools offline.\n"
		"\n"
		"Options:\n"
		"  -s, --socket PATH   control socket (default $%s, else\n"
		"                      %s)\n"
		"  -j, --json          JSON output (every command also takes it)\n"
		"  -h, --help          this help; COMMAND --help for a command's\n"
		"  -V, --version       the version\n"
		"\n"
		"Commands:\n",
		CTL_SOCKET_ENV, DAXALLOC_DEFAULT_CONTROL_SOCKET);
	for (i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++)
		fprintf(f, "  %-10s %s\n", ctl_cmds[i].name, ctl_cmds[i].summary);
	fprintf(f,
		"\nExit status: 0 success, 1 the request failed or was refused, 2 usage\n"
		"error, 3 no daemon answers on the control socket, 4 check found the\n"
		"pool inconsistent.  format and check --device need no daemon.\n");
}

/*
 * ctl_parse_common -- a command's own options: --json and --help
 *
 * Returns optind for the command's operands, or -1 when the command must
 * exit at once with *exit_status (after --help, or on a usage error).
 */
int ctl_parse_common(struct ctl *ctl, int argc, char **argv, const char *usage,
		     int *exit_status)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	/* 0, not 1: glibc re-initialises getopt, as main() already used it. */
	optind = 0;
	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			ctl->json = true;
			break;
		case 'h':
			fputs(usage, stdout);
			*exit_status = CTL_EXIT_OK;
			return -1;
		default:
			fputs(usage, stderr);
			*exit_status = CTL_EXIT_USAGE;
			return -1;
		}
	}
	return optind;
}

/*
 * ctl_call -- connect if needed, send req, and wait for its response
 *
 * Prints the daemon's message on failure; returns a CTL_EXIT_* status.
 */
int ctl_call(struct ctl *ctl, Daxalloc__Envelope *req, Daxalloc__Envelope **resp)
{
	struct session_err err = { "" };
	int r;

	if (!ctl->session) {
		r = session_open(ctl->socket_path, "daxallocctl", &ctl->session,
				 &err);
		if (r < 0) {
			fprintf(stderr, "daxallocctl: %s\n", err.msg);
			return r == -EPERM || r == -EACCES ? CTL_EXIT_FAIL :
							     CTL_EXIT_CONNECT;
		}
	}
	r = session_call(ctl->session, req, resp, NULL, 0, NULL, &err);
	if (r < 0) {
		fprintf(stderr, "daxallocctl: %s: %s\n",
			envelope_type_name(req->body_case), err.msg);
		return CTL_EXIT_FAIL;
	}
	return CTL_EXIT_OK;
}

/* ctl_print_json -- pretty-print a JSON value on stdout */
void ctl_print_json(json_object *obj)
{
	puts(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* ctl_extent_json -- an extent as a JSON object (list, show) */
json_object *ctl_extent_json(const Daxalloc__Extent *x)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_uint64(x->id));
	json_object_object_add(o, "name", json_object_new_string(x->name));
	json_object_object_add(o, "offset", json_object_new_uint64(x->offset));
	json_object_object_add(o, "length", json_object_new_uint64(x->length));
	json_object_object_add(o, "uid", json_object_new_int64(x->uid));
	json_object_object_add(o, "gid", json_object_new_int64(x->gid));
	json_object_object_add(o, "mode", json_object_new_int64(x->mode));
	json_object_object_add(o, "named", json_object_new_boolean(x->flags & 1));
	return o;
}

/*
 * ctl_extent_key -- read an EXTENT operand: an id (digits) or a name
 *
 * A name made of digits is written name:DIGITS.  Sets *id and returns
 * true for an id; else sets *name (into arg) and returns false.
 */
bool ctl_extent_key(const char *arg, uint64_t *id, const char **name)
{
	char *end;

	errno = 0;
	*id = strtoull(arg, &end, 10);
	if (*arg >= '0' && *arg <= '9' && !*end && !errno)
		return true;
	*id = 0;
	*name = strncmp(arg, "name:", 5) ? arg : arg + 5;
	return false;
}

/* ctl_print_row -- one "key  value" line of a readable table */
void ctl_print_row(const char *key, const char *fmt, ...)
{
	va_list ap;

	printf("%-16s ", key);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* ctl_format_ms -- "2d 3h 4m 5s" from milliseconds */
void ctl_format_ms(uint64_t ms, char *buf, size_t len)
{
	uint64_t s = ms / 1000;

	if (s >= 86400)
		snprintf(buf, len, "%llud %lluh %llum %llus",
			 (unsigned long long)(s / 86400),
			 (unsigned long long)(s % 86400 / 3600),
			 (unsigned long long)(s % 3600 / 60),
			 (unsigned long long)(s % 60));
	else if (s >= 3600)
		snprintf(buf, len, "%lluh %llum %llus",
			 (unsigned long long)(s / 3600),
			 (unsigned long long)(s % 3600 / 60),
			 (unsigned long long)(s % 60));
	else if (s >= 60)
		snprintf(buf, len, "%llum %llus", (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
	else
		snprintf(buf, len, "%llu.%03llus", (unsigned long long)s,
			 (unsigned long long)(ms % 1000));
}

/*
 * ctl_format_size -- bytes in binary units for a table: "2 MiB", "1.50 GiB"
 *
 * Exact multiples print as integers, so a table never rounds a unit-sized
 * range; anything else gets two decimals.  JSON prints plain numbers.
 */
void ctl_format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB",
					     "PiB", "EiB" };
	unsigned int u = 0;

	while (u + 1 < sizeof(units) / sizeof(units[0]) &&
	       bytes >> (10 * (u + 1)))
		u++;
	if (!(bytes & ((1ull << (10 * u)) - 1)))
		snprintf(buf, len, "%llu %s", (unsigned long long)(bytes >> (10 * u)),
			 units[u]);
	else
		snprintf(buf, len, "%.2f %s",
			 (double)bytes / (double)(1ull << (10 * u)), units[u]);
}

/* ctl_format_clock -- a CLOCK_REALTIME instant in ms as local "HH:MM:SS" */
void ctl_format_clock(uint64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!localtime_r(&t, &tm) || !strftime(buf, len, "%F %T %Z", &tm))
		snprintf(buf, len, "%llu ms", (unsigned long long)ms);
}

/* ctl_format_uuid -- the usual 8-4-4-4-12 hex form; len must be >= 37 */
void ctl_format_uuid(const uint8_t uuid[16], char *buf, size_t len)
{
	char *p = buf;
	size_t i;

	if (len < 37) {
		if (len)
			*buf = '\0';
		return;
	}
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		p += sprintf(p, "%02x", uuid[i]);
	}
}

/* ctl_print_size -- a row of bytes: binary units, the exact count after */
void ctl_print_size(const char *key, uint64_t bytes)
{
	char buf[32];

	ctl_format_size(bytes, buf, sizeof(buf));
	if (bytes < 1024)
		ctl_print_row(key, "%s", buf);
	else
		ctl_print_row(key, "%s (%llu)", buf, (unsigned long long)bytes);
}

/* ctl_now_ms -- CLOCK_REALTIME in milliseconds, as the daemon's deadlines */
uint64_t ctl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl ctl = { 0 };
	size_t i;
	int c, r;

	ctl.socket_path = getenv(CTL_SOCKET_ENV);
	/* '+': stop at the command; its options are its own. */
	while ((c = getopt_long(argc, argv, "+s:jhV", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			ctl.socket_path = optarg;
			break;
		case 'j':
			ctl.json = true;
			break;
		case 'h':
			ctl_usage(stdout);
			return CTL_EXIT_OK;
		case 'V':
			printf("daxallocctl %s\n", DAXALLOC_VERSION);
			return CTL_EXIT_OK;
		default:
			ctl_usage(stderr);
			return CTL_EXIT_USAGE;
		}
	}
	if (!ctl.socket_path || !*ctl.socket_path)
		ctl.socket_path = DAXALLOC_DEFAULT_CONTROL_SOCKET;
	if (optind >= argc) {
		ctl_usage(stderr);
		return CTL_EXIT_USAGE;
	}
	for (i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++) {
		if (strcmp(argv[optind], ctl_cmds[i].name))
			continue;
		r = ctl_cmds[i].fn(&ctl, argc - optind, argv + optind);
		session_close(ctl.session);
		return r;
	}
	fprintf(stderr, "daxallocctl: unknown command '%s'; try --help\n",
		argv[optind]);
	return CTL_EXIT_USAGE;
}
