// SPDX-License-Identifier: Apache-2.0
/*
 * options.c -- daxallocd command line
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daxalloc-config.h"
#include "format.h"
#include "log.h"
#include "options.h"

static const char options_usage[] =
	"Usage: daxallocd [OPTION]...\n"
	"Own a devdax namespace (or a file pool) and hand out extents to client\n"
	"processes over a Unix socket.\n"
	"\n"
	"Settings come from the configuration file, then from these options,\n"
	"which win over it.\n"
	"  -c, --config PATH          configuration file\n"
	"                             (default " DAXALLOC_DEFAULT_CONFIG ";\n"
	"                             only an explicit PATH must exist)\n"
	"\n"
	"Pool:\n"
	"  -d, --device PATH          devdax device (/dev/daxX.Y) or pool file\n"
	"  -s, --size SIZE            size of a file pool created on first use\n"
	"                             (suffixes K, M, G, T: powers of 1024)\n"
	"  -u, --unit SIZE            allocation unit of a file pool (default 2M)\n"
	"  -L, --local[=DIR]          embedded default for development: a file\n"
	"                             pool and both sockets in DIR\n"
	"                             (default ./" OPTIONS_LOCAL_DIR ")\n"
	"      --format               format the device (destroys its content)\n"
	"                             and exit; never implicit for a device that\n"
	"                             holds a pool or for devdax (a new pool file\n"
	"                             is formatted when created)\n"
	"      --check                verify the pool offline, print findings and\n"
	"                             exit (0: consistent, 1: findings)\n"
	"Sockets:\n"
	"  -S, --socket PATH          client socket\n"
	"                             (default " DAXALLOC_DEFAULT_SOCKET ")\n"
	"  -C, --control-socket PATH  control socket\n"
	"                             (default " DAXALLOC_DEFAULT_CONTROL_SOCKET ")\n"
	"  -g, --admin-group GROUP    members may use the control socket\n"
	"                             (root and the daemon's own user always may)\n"
	"      --hello-timeout SECS   close connections silent for this long\n"
	"                             before Hello (default 10)\n"
	"Other:\n"
	"  -l, --log-level LEVEL      error, warning, notice, info (default), debug\n"
	"  -v, --verbose              same as --log-level debug\n"
	"  -h, --help                 show this help and exit\n"
	"  -V, --version              show the version and exit\n"
	"\n"
	"Exit status: 0 after a clean shutdown (SIGTERM, SIGINT), 1 on a start-up\n"
	"or runtime failure, 2 on a usage error.\n";

static const struct option options_long[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "device", required_argument, NULL, 'd' },
	{ "size", required_argument, NULL, 's' },
	{ "unit", required_argument, NULL, 'u' },
	{ "local", optional_argument, NULL, 'L' },
	{ "socket", required_argument, NULL, 'S' },
	{ "control-socket", required_argument, NULL, 'C' },
	{ "admin-group", required_argument, NULL, 'g' },
	{ "hello-timeout", required_argument, NULL, 'T' },
	{ "format", no_argument, NULL, 'F' },
	{ "check", no_argument, NULL, 'K' },
	{ "log-level", required_argument, NULL, 'l' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/*
 * options_parse_size -- parse "8G", "2M", "4096" into bytes
 *
 * Suffixes are binary (K = 1024); the result must be non-zero and must not
 * overflow 64 bits.
 */
int options_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	if (*end) {
		static const char suffixes[] = "KMGT";
		const char *p = strchr(suffixes, toupper((unsigned char)*end));

		if (p) {
			shift = 10 * (unsigned int)(p - suffixes + 1);
			end++;
		}
	}
	/* Accept "8GiB" and "8GB" as spelled by people, both binary. */
	if (shift && (!strcmp(end, "iB") || !strcmp(end, "B")))
		end += strlen(end);
	if (*end || v == 0)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

/* options_own -- keep a string built here so options_free() releases it */
static const char *options_own(struct options *o, char *s)
{
	unsigned int i;

	for (i = 0; i < sizeof(o->owned) / sizeof(o->owned[0]); i++) {
		if (!o->owned[i]) {
			o->owned[i] = s;
			return s;
		}
	}
	abort(); /* a programming error: owned[] is sized for every caller */
}

/* options_join -- "dir/name" as an owned string */
static const char *options_join(struct options *o, const char *dir,
				const char *name)
{
	char *s;

	if (asprintf(&s, "%s/%s", dir, name) < 0)
		return NULL;
	return options_own(o, s);
}

/*
 * options_merge -- take from the configuration file what the command line
 * did not give
 *
 * The file's values are already over the built-in defaults (the same as
 * ours), so a scalar is taken whole; a string only when the file has one.
 */
static void options_merge(struct options *o, bool *unit_given)
{
	const struct config *c = &o->cfg;
	unsigned int cli = o->cli_set;

	if (!(cli & CONFIG_SET(CONFIG_DEVICE)) && c->device)
		o->device = c->device;
	if (!(cli & CONFIG_SET(CONFIG_SIZE)) && (c->set & CONFIG_SET(CONFIG_SIZE)))
		o->size = c->size;
	if (!(cli & CONFIG_SET(CONFIG_UNIT)) && (c->set & CONFIG_SET(CONFIG_UNIT))) {
		o->unit = c->unit;
		*unit_given = true;
	}
	if (!(cli & CONFIG_SET(CONFIG_SOCKET)) && c->socket_path)
		o->socket_path = c->socket_path;
	if (!(cli & CONFIG_SET(CONFIG_CONTROL_SOCKET)) && c->control_path)
		o->control_path = c->control_path;
	if (!(cli & CONFIG_SET(CONFIG_ADMIN_GROUP)) && c->admin_group)
		o->admin_group = c->admin_group;
	if (!(cli & CONFIG_SET(CONFIG_LOG_LEVEL)))
		o->log_level = c->log_level;
	if (!(cli & CONFIG_SET(CONFIG_HELLO_TIMEOUT)))
		o->hello_timeout_s = c->hello_timeout_s;
	/* No options for these (yet): the file or the default. */
	o->connections_per_process = c->connections_per_process;
	o->max_name_length = c->max_name_length;
}

/* options_validate -- cross-option checks, with a message for each */
static int options_validate(struct options *o, bool unit_given)
{
	struct stat st;

	if (!o->device) {
		fprintf(stderr,
			"daxallocd: no device: pass --device PATH (a devdax device or a pool file), set device in %s, or pass --local for a development pool in ./" OPTIONS_LOCAL_DIR "\n",
			o->config_path);
		return -EINVAL;
	}
	if (o->format && o->check) {
		fprintf(stderr, "daxallocd: --format and --check exclude each other\n");
		return -EINVAL;
	}
	if (o->size && !o->device) {
		fprintf(stderr, "daxallocd: --size needs --device (a pool file)\n");
		return -EINVAL;
	}
	if (unit_given && !o->device) {
		fprintf(stderr, "daxallocd: --unit needs --device (a pool file)\n");
		return -EINVAL;
	}
	if (o->unit < OPTIONS_MIN_UNIT || o->unit > OPTIONS_MAX_UNIT ||
	    (o->unit & (o->unit - 1))) {
		fprintf(stderr,
			"daxallocd: --unit must be a power of two from 4K to 1G\n");
		return -EINVAL;
	}
	if (o->device && !*o->device) {
		fprintf(stderr, "daxallocd: --device must not be empty\n");
		return -EINVAL;
	}
	if (o->device && stat(o->device, &st) == 0) {
		if (S_ISCHR(st.st_mode) && (o->size || unit_given)) {
			fprintf(stderr,
				"daxallocd: %s is a device: its size and alignment come from the namespace, drop --size/--unit (or size/unit in %s)\n",
				o->device, o->config_path);
			return -EINVAL;
		}
		if (!S_ISCHR(st.st_mode) && !S_ISREG(st.st_mode)) {
			fprintf(stderr,
				"daxallocd: %s is neither a devdax device nor a regular file\n",
				o->device);
			return -EINVAL;
		}
	}
	if (o->size) {
		if (o->size % o->unit) {
			fprintf(stderr,
				"daxallocd: --size must be a multiple of the unit (%llu bytes)\n",
				(unsigned long long)o->unit);
			return -EINVAL;
		}
		if (o->size / o->unit < OPTIONS_MIN_UNITS) {
			fprintf(stderr,
				"daxallocd: --size must be at least %u units (%llu bytes)\n",
				OPTIONS_MIN_UNITS,
				(unsigned long long)(o->unit * OPTIONS_MIN_UNITS));
			return -EINVAL;
		}
	}
	if (!strcmp(o->socket_path, o->control_path)) {
		fprintf(stderr,
			"daxallocd: the client and control sockets must differ\n");
		return -EINVAL;
	}
	return 0;
}

/* options_parse -- fill o from argv; print help, version or errors */
enum options_result options_parse(struct options *o, int argc, char **argv)
{
	const char *local = NULL;
	bool unit_given = false;
	char *end, err[512];
	int c, r;

	memset(o, 0, sizeof(*o));
	config_defaults(&o->cfg);
	o->unit = OPTIONS_DEFAULT_UNIT;
	o->hello_timeout_s = 10;
	o->connections_per_process = 64;
	o->max_name_length = FMT_NAME_MAX;
	o->log_level = LOG_INFO;

	while ((c = getopt_long(argc, argv, "c:d:s:u:L::S:C:g:l:vhV",
				options_long, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config_path = optarg;
			break;
		case 'd':
			o->device = optarg;
			o->cli_set |= CONFIG_SET(CONFIG_DEVICE);
			break;
		case 's':
			if (options_parse_size(optarg, &o->size) < 0) {
				fprintf(stderr, "daxallocd: bad --size '%s'\n",
					optarg);
				return OPTIONS_EXIT_USAGE;
			}
			o->cli_set |= CONFIG_SET(CONFIG_SIZE);
			break;
		case 'u':
			if (options_parse_size(optarg, &o->unit) < 0) {
				fprintf(stderr, "daxallocd: bad --unit '%s'\n",
					optarg);
				return OPTIONS_EXIT_USAGE;
			}
			unit_given = true;
			o->cli_set |= CONFIG_SET(CONFIG_UNIT);
			break;
		case 'L':
			local = optarg ? optarg : OPTIONS_LOCAL_DIR;
			break;
		case 'S':
			o->socket_path = optarg;
			o->cli_set |= CONFIG_SET(CONFIG_SOCKET);
			break;
		case 'C':
			o->control_path = optarg;
			o->cli_set |= CONFIG_SET(CONFIG_CONTROL_SOCKET);
			break;
		case 'g':
			o->admin_group = optarg;
			o->cli_set |= CONFIG_SET(CONFIG_ADMIN_GROUP);
			break;
		case 'T': {
			unsigned long v;

			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || v == 0 || v > 3600) {
				fprintf(stderr,
					"daxallocd: --hello-timeout takes 1..3600 seconds\n");
				return OPTIONS_EXIT_USAGE;
			}
			o->hello_timeout_s = (unsigned int)v;
			o->cli_set |= CONFIG_SET(CONFIG_HELLO_TIMEOUT);
			break;
		}
		case 'F':
			o->format = true;
			break;
		case 'K':
			o->check = true;
			break;
		case 'l':
			o->log_level = log_level_parse(optarg);
			if (o->log_level < 0) {
				fprintf(stderr, "daxallocd: bad --log-level '%s'\n",
					optarg);
				return OPTIONS_EXIT_USAGE;
			}
			o->cli_set |= CONFIG_SET(CONFIG_LOG_LEVEL);
			break;
		case 'v':
			o->log_level = LOG_DEBUG;
			o->cli_set |= CONFIG_SET(CONFIG_LOG_LEVEL);
			break;
		case 'h':
			fputs(options_usage, stdout);
			return OPTIONS_EXIT_OK;
		case 'V':
			printf("daxallocd %s\n", DAXALLOC_VERSION);
			return OPTIONS_EXIT_OK;
		default:
			fprintf(stderr, "Try 'daxallocd --help'.\n");
			return OPTIONS_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "daxallocd: unexpected argument '%s'\n",
			argv[optind]);
		return OPTIONS_EXIT_USAGE;
	}

	/* --local is the command line too: it wins over the file. */
	if (local) {
		/* Its folder is made on first use, like the pool in it. */
		if (mkdir(local, 0755) < 0 && errno != EEXIST) {
			fprintf(stderr, "daxallocd: cannot create %s: %s\n",
				local, strerror(errno));
			return OPTIONS_EXIT_USAGE;
		}
		if (!o->device) {
			o->device = options_join(o, local, OPTIONS_LOCAL_POOL);
			if (!o->size)
				o->size = OPTIONS_LOCAL_SIZE;
			o->cli_set |= CONFIG_SET(CONFIG_DEVICE) |
				      CONFIG_SET(CONFIG_SIZE);
		}
		if (!o->socket_path) {
			o->socket_path = options_join(o, local, "daxalloc.sock");
			o->cli_set |= CONFIG_SET(CONFIG_SOCKET);
		}
		if (!o->control_path) {
			o->control_path = options_join(o, local, "control.sock");
			o->cli_set |= CONFIG_SET(CONFIG_CONTROL_SOCKET);
		}
		if (!o->device || !o->socket_path || !o->control_path) {
			fprintf(stderr, "daxallocd: out of memory\n");
			return OPTIONS_EXIT_USAGE;
		}
	}

	/* Only a file named on the command line must exist. */
	r = config_load(o->config_path ? o->config_path : DAXALLOC_DEFAULT_CONFIG,
			o->config_path != NULL, &o->cfg, err, sizeof(err));
	if (r < 0 && (r != -ENOENT || o->config_path)) {
		fprintf(stderr, "daxallocd: %s\n", err);
		return OPTIONS_EXIT_USAGE;
	}
	o->config_found = r == 0;
	if (!o->config_path)
		o->config_path = DAXALLOC_DEFAULT_CONFIG;
	options_merge(o, &unit_given);

	if (!o->socket_path)
		o->socket_path = DAXALLOC_DEFAULT_SOCKET;
	if (!o->control_path)
		o->control_path = DAXALLOC_DEFAULT_CONTROL_SOCKET;

	r = options_validate(o, unit_given);
	if (r < 0)
		return OPTIONS_EXIT_USAGE;
	return OPTIONS_RUN;
}

/* options_free -- release what options_parse() allocated */
void options_free(struct options *o)
{
	unsigned int i;

	for (i = 0; i < sizeof(o->owned) / sizeof(o->owned[0]); i++) {
		free(o->owned[i]);
		o->owned[i] = NULL;
	}
	/* Last: the string fields above may point into it. */
	config_free(&o->cfg);
}
