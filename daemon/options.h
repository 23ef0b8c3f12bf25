/* SPDX-License-Identifier: Apache-2.0 */
/*
 * options.h -- daxallocd command line
 */
#ifndef DAXALLOCD_OPTIONS_H
#define DAXALLOCD_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

/* Embedded default for development: a file pool in a local folder. */
#define OPTIONS_LOCAL_DIR "daxalloc-local"
#define OPTIONS_LOCAL_POOL "pool.img"
#define OPTIONS_LOCAL_SIZE (1ULL << 30)
#define OPTIONS_DEFAULT_UNIT (2ULL << 20)
#define OPTIONS_MIN_UNIT (4ULL << 10)
#define OPTIONS_MAX_UNIT (1ULL << 30)
#define OPTIONS_MIN_UNITS 16 /* smallest pool, in units */

struct options {
	const char *device;	  /* pool device or file; NULL: none yet */
	uint64_t size;		  /* file pool size; 0: not given */
	uint64_t unit;		  /* allocation unit of a file pool */
	const char *socket_path;  /* client socket */
	const char *control_path; /* control socket */
	const char *admin_group;  /* may use the control socket; NULL: none */
	unsigned int hello_timeout_s;
	unsigned int connections_per_process;
	unsigned int max_name_length;
	int log_level;
	bool format; /* --format: format the device and exit */
	bool check;  /* --check: verify the pool offline and exit */

	/*
	 * The configuration file, merged under the command line: defaults <
	 * file < command line.  The fields above hold the merged values (the
	 * strings may point into cfg); what only the file sets (quotas,
	 * lease_break_time) is read from cfg.  cli_set keeps which keys the
	 * command line gave, so that a reload keeps them too.
	 */
	const char *config_path; /* --config, else DAXALLOC_DEFAULT_CONFIG */
	bool config_found;	 /* false: no file, built-in defaults */
	unsigned int cli_set;	 /* CONFIG_SET() of keys the command line gave */
	struct config cfg;

	char *owned[4]; /* strings built here, freed by options_free() */
};

enum options_result {
	OPTIONS_RUN,
	OPTIONS_EXIT_OK,
	OPTIONS_EXIT_USAGE,
};

enum options_result options_parse(struct options *o, int argc, char **argv);
void options_free(struct options *o);
int options_parse_size(const char *s, uint64_t *out);

#endif /* DAXALLOCD_OPTIONS_H */
