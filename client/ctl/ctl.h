/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ctl.h -- what daxallocctl's commands share
 */
#ifndef DAXALLOCCTL_CTL_H
#define DAXALLOCCTL_CTL_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "session.h"

/* Environment variable naming the control socket. */
#define CTL_SOCKET_ENV "DAXALLOC_CONTROL_SOCKET"

/*
 * Exit statuses, documented in daxallocctl --help and daxallocctl(8).
 * Findings have their own status so that a script (or a systemd unit)
 * can tell a damaged pool from a check that could not run.
 */
enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_FAIL = 1,  /* the daemon refused or the request failed */
	CTL_EXIT_USAGE = 2, /* bad command line */
	CTL_EXIT_CONNECT = 3, /* no daemon answers on the control socket */
	CTL_EXIT_FINDINGS = 4, /* check: the pool is not consistent */
};

/* The exit statuses of the commands that talk to the daemon, for --help. */
#define CTL_EXIT_HELP                                                            \
	"Exit status: 0 success, 1 the request failed or was refused, 2 usage\n" \
	"error, 3 no daemon answers on the control socket.\n"

struct ctl {
	const char *socket_path;
	bool json;
	struct session *session;
};

struct ctl_cmd {
	const char *name;
	const char *summary;
	int (*fn)(struct ctl *ctl, int argc, char **argv);
};

int ctl_parse_common(struct ctl *ctl, int argc, char **argv,
		     const char *usage, int *exit_status);
int ctl_call(struct ctl *ctl, Daxalloc__Envelope *req,
	     Daxalloc__Envelope **resp);
void ctl_print_json(json_object *obj);
void ctl_print_row(const char *key, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void ctl_format_ms(uint64_t ms, char *buf, size_t len);
void ctl_format_size(uint64_t bytes, char *buf, size_t len);
void ctl_format_clock(uint64_t ms, char *buf, size_t len);
void ctl_format_uuid(const uint8_t uuid[16], char *buf, size_t len);
void ctl_print_size(const char *key, uint64_t bytes);
uint64_t ctl_now_ms(void);
bool ctl_extent_key(const char *arg, uint64_t *id, const char **name);

int ctl_list_page(struct ctl *ctl, Daxalloc__CtlListRequest__What what,
		  uint64_t cursor, Daxalloc__Envelope **resp);
uint64_t ctl_list_next(const Daxalloc__Envelope *resp);
int ctl_show_extent(struct ctl *ctl, const char *arg,
		    Daxalloc__Envelope **resp);

int cmd_status(struct ctl *ctl, int argc, char **argv);
int cmd_stats(struct ctl *ctl, int argc, char **argv);
int cmd_check(struct ctl *ctl, int argc, char **argv);
int cmd_list(struct ctl *ctl, int argc, char **argv);
int cmd_show(struct ctl *ctl, int argc, char **argv);
int cmd_revoke(struct ctl *ctl, int argc, char **argv);
int cmd_format(struct ctl *ctl, int argc, char **argv);
json_object *ctl_extent_json(const Daxalloc__Extent *x);

/*
 * holds.c -- the records of the core rule (processes, leases, pins,
 * quarantined ranges) as JSON objects and as table rows; shared by list,
 * show and revoke.  A row's columns follow its header; with_extent adds
 * the extent column (list has it, show does not need it).
 */
json_object *holds_process_json(const Daxalloc__ProcessInfo *p);
json_object *holds_lease_json(const Daxalloc__LeaseInfo *l);
json_object *holds_pin_json(const Daxalloc__PinInfo *p);
json_object *holds_quarantine_json(const Daxalloc__QuarantineInfo *q);
void holds_process_header(void);
void holds_process_row(const Daxalloc__ProcessInfo *p);
void holds_lease_header(const char *indent, bool with_extent);
void holds_lease_row(const char *indent, const Daxalloc__LeaseInfo *l,
		     bool with_extent);
void holds_pin_header(const char *indent, bool with_extent);
void holds_pin_row(const char *indent, const Daxalloc__PinInfo *p,
		   bool with_extent);
void holds_quarantine_header(const char *indent, bool with_extent);
void holds_quarantine_row(const char *indent,
			  const Daxalloc__QuarantineInfo *q, bool with_extent);

#endif /* DAXALLOCCTL_CTL_H */
