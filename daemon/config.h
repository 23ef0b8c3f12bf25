/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.h -- the configuration file (/etc/daxallocd.conf)
 *
 * config_load() reads an INI file into a fresh struct config; nothing in it
 * points into the file or into another config, so a reload (SIGHUP) can
 * load a new one beside the old and swap them only if the load succeeded.
 * docs/configuration.md describes every key.
 */
#ifndef DAXALLOCD_CONFIG_H
#define DAXALLOCD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Built-in defaults, also what the example file shows. */
#define CONFIG_DEFAULT_HELLO_TIMEOUT 10 /* seconds */
#define CONFIG_DEFAULT_CONNECTIONS_PER_PROCESS 64
#define CONFIG_DEFAULT_LEASE_BREAK_TIME 45 /* seconds, as Linux leases */
#define CONFIG_MAX_HELLO_TIMEOUT 3600
#define CONFIG_MAX_CONNECTIONS_PER_PROCESS 65536
#define CONFIG_MAX_LEASE_BREAK_TIME 86400
#define CONFIG_DEFAULT_MAX_PINS_PER_PROCESS 65536
#define CONFIG_MAX_MAX_PINS_PER_PROCESS (1u << 24)

/* The keys of the file; CONFIG_SET(key) is its bit in struct config.set. */
enum config_key {
	/* [daemon] */
	CONFIG_DEVICE,
	CONFIG_SIZE,
	CONFIG_UNIT,
	CONFIG_SOCKET,
	CONFIG_CONTROL_SOCKET,
	CONFIG_ADMIN_GROUP,
	CONFIG_LOG_LEVEL,
	/* [limits] */
	CONFIG_HELLO_TIMEOUT,
	CONFIG_MAX_NAME_LENGTH,
	CONFIG_CONNECTIONS_PER_PROCESS,
	CONFIG_LEASE_BREAK_TIME,
	CONFIG_MAX_PINS_PER_PROCESS,
	/* [quota] */
	CONFIG_DEFAULT_UID_BYTES,
	CONFIG_DEFAULT_UID_EXTENTS,
	CONFIG_KEY_COUNT,
};

#define CONFIG_SET(key) (1u << (key))

/* A limit; 0 in a field means unlimited. */
struct config_quota {
	uint64_t bytes;
	uint64_t extents;
};

/* Bits of struct config_quota_entry.set: the keys its section gave. */
#define CONFIG_QUOTA_BYTES 0x1u
#define CONFIG_QUOTA_EXTENTS 0x2u

/* One [quota.uid.N] / [quota.user.NAME] (or gid/group) section. */
struct config_quota_entry {
	uint32_t id; /* uid or gid, names resolved at load */
	unsigned int line; /* line of its section header, for messages */
	unsigned int set; /* CONFIG_QUOTA_* given in the section */
	struct config_quota q;
};

/*
 * struct config -- one loaded configuration
 *
 * Strings are owned (config_free() releases them) and NULL when the file
 * does not give them: device and admin_group then mean "none", the socket
 * paths the built-in defaults.  The per-id tables are sorted by id, without
 * duplicates.  A uid entry's fields that its section leaves out are filled
 * from default_uid; a gid entry's are 0 (unlimited).
 */
struct config {
	/* [daemon] */
	char *device;
	uint64_t size; /* 0: not given */
	uint64_t unit;
	char *socket_path;
	char *control_path;
	char *admin_group;
	int log_level; /* LOG_ERR .. LOG_DEBUG */
	/* [limits] */
	unsigned int hello_timeout_s;
	unsigned int max_name_length;
	unsigned int connections_per_process;
	unsigned int lease_break_time_s;
	unsigned int max_pins_per_process;
	/* [quota] and its per-id sections */
	struct config_quota default_uid;
	struct config_quota_entry *uids, *gids;
	size_t nuids, ngids;
	/* CONFIG_SET() of each key the file gave: the command line may
	 * override those, the rest are defaults. */
	unsigned int set;
};

void config_defaults(struct config *c);
int config_load(const char *path, bool must_exist, struct config *out,
		char *err, size_t errlen);
void config_free(struct config *c);

const struct config_quota *config_uid_quota(const struct config *c,
					    uint32_t uid);
const struct config_quota *config_gid_quota(const struct config *c,
					    uint32_t gid);

const char *config_key_name(enum config_key key);
bool config_key_reloadable(enum config_key key);

#endif /* DAXALLOCD_CONFIG_H */
