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

/* Exit statuses, documented in daxallocctl --help. */
enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_FAIL = 1,  /* the daemon refused or the request failed */
	CTL_EXIT_USAGE = 2, /* bad command line */
	CTL_EXIT_CONNECT = 3, /* no daemon answers on the control socket */
};

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

int cmd_status(struct ctl *ctl, int argc, char **argv);
int cmd_stats(struct ctl *ctl, int argc, char **argv);
int cmd_check(struct ctl *ctl, int argc, char **argv);
int cmd_list(struct ctl *ctl, int argc, char **argv);
int cmd_show(struct ctl *ctl, int argc, char **argv);
json_object *ctl_extent_json(const Daxalloc__Extent *x);

#endif /* DAXALLOCCTL_CTL_H */
