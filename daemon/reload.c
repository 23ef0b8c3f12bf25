// SPDX-License-Identifier: Apache-2.0
/*
 * reload.c -- re-reading the configuration file on SIGHUP
 *
 * A reload (SIGHUP, `systemctl reload daxallocd`) loads the file beside the
 * running configuration and swaps it in only if the whole file is valid:
 * a file with a mistake changes nothing.  The keys config.c marks
 * reloadable take effect at once (log level, admin group, limits, quotas);
 * every other key that changed is logged as waiting for a restart, and a
 * key the command line gave keeps the command line's value.
 */
#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "notify.h"
#include "options.h"
#include "quota.h"
#include "reload.h"
#include "server.h"

/* reload_str_differ -- two optional strings differ */
static bool reload_str_differ(const char *a, const char *b)
{
	if (!a || !b)
		return a != b;
	return strcmp(a, b) != 0;
}

/* reload_key_differs -- does key have another value in b than in a? */
static bool reload_key_differs(const struct config *a, const struct config *b,
			       enum config_key key)
{
	switch (key) {
	case CONFIG_DEVICE:
		return reload_str_differ(a->device, b->device);
	case CONFIG_SIZE:
		return a->size != b->size;
	case CONFIG_UNIT:
		return a->unit != b->unit;
	case CONFIG_SOCKET:
		return reload_str_differ(a->socket_path, b->socket_path);
	case CONFIG_CONTROL_SOCKET:
		return reload_str_differ(a->control_path, b->control_path);
	case CONFIG_ADMIN_GROUP:
		return reload_str_differ(a->admin_group, b->admin_group);
	case CONFIG_LOG_LEVEL:
		return a->log_level != b->log_level;
	case CONFIG_HELLO_TIMEOUT:
		return a->hello_timeout_s != b->hello_timeout_s;
	case CONFIG_MAX_NAME_LENGTH:
		return a->max_name_length != b->max_name_length;
	case CONFIG_CONNECTIONS_PER_PROCESS:
		return a->connections_per_process != b->connections_per_process;
	case CONFIG_LEASE_BREAK_TIME:
		return a->lease_break_time_s != b->lease_break_time_s;
	case CONFIG_MAX_PINS_PER_PROCESS:
		return a->max_pins_per_process != b->max_pins_per_process;
	case CONFIG_DEFAULT_UID_BYTES:
		return a->default_uid.bytes != b->default_uid.bytes;
	case CONFIG_DEFAULT_UID_EXTENTS:
		return a->default_uid.extents != b->default_uid.extents;
	case CONFIG_KEY_COUNT:
		break;
	}
	return false;
}

/* reload_entries_differ -- two per-id quota tables set other limits */
static bool reload_entries_differ(const struct config_quota_entry *a, size_t na,
				  const struct config_quota_entry *b, size_t nb)
{
	size_t i;

	if (na != nb)
		return true;
	/* Both sorted by id; the section's line number does not count. */
	for (i = 0; i < na; i++)
		if (a[i].id != b[i].id || a[i].q.bytes != b[i].q.bytes ||
		    a[i].q.extents != b[i].q.extents)
			return true;
	return false;
}

/*
 * reload_admin_gid -- the admin group to use after the reload
 *
 * config_load() already resolved the name once; a group that vanished
 * since is an error like any mistake in the file.
 */
static int reload_admin_gid(const char *name, gid_t *gid)
{
	struct group *gr;

	*gid = (gid_t)-1;
	if (!name)
		return 0;
	errno = 0;
	gr = getgrnam(name);
	if (!gr)
		return errno ? -errno : -ENOENT;
	*gid = gr->gr_gid;
	return 0;
}

/*
 * reload_report -- log what the new file changes and what waits
 *
 * Returns the number of changes that take effect now.
 */
static unsigned int reload_report(const struct server *s,
				  const struct config *old,
				  const struct config *new)
{
	unsigned int cli = s->opts->cli_set, now = 0;
	const char *name;
	int k;

	for (k = 0; k < CONFIG_KEY_COUNT; k++) {
		if (!reload_key_differs(old, new, k))
			continue;
		name = config_key_name(k);
		if (cli & CONFIG_SET(k)) {
			log_notice("reload: '%s' is given on the command line; the file's new value is ignored",
				   name);
		} else if (!config_key_reloadable(k)) {
			log_warn("reload: '%s' changed; it takes effect at the next start",
				 name);
		} else {
			log_notice("reload: '%s' changed", name);
			now++;
		}
	}
	if (reload_entries_differ(old->uids, old->nuids, new->uids,
				  new->nuids) ||
	    reload_entries_differ(old->gids, old->ngids, new->gids,
				  new->ngids)) {
		log_notice("reload: per-uid or per-gid quota sections changed");
		now++;
	}
	return now;
}

/*
 * reload_config -- re-read the configuration file and apply what may change
 *
 * Returns 0 when the new file is in force, or a negative errno when it was
 * rejected and the running configuration stays whole.
 */
int reload_config(struct server *s)
{
	const struct config *old = s->cfg;
	unsigned int cli = s->opts->cli_set, changed;
	struct config *new;
	gid_t admin = s->admin_gid;
	char err[512];
	int r;

	notify_reloading();
	new = malloc(sizeof(*new));
	if (!new) {
		r = -ENOMEM;
		log_err("reload: out of memory; the running configuration stays");
		goto out;
	}
	r = config_load(s->opts->config_path, false, new, err, sizeof(err));
	if (r == -ENOENT) {
		log_notice("reload: %s does not exist: built-in defaults for what the file set",
			   s->opts->config_path);
	} else if (r < 0) {
		log_err("reload: %s; the running configuration stays", err);
		goto err_free;
	}
	if (!(cli & CONFIG_SET(CONFIG_ADMIN_GROUP))) {
		r = reload_admin_gid(new->admin_group, &admin);
		if (r < 0) {
			log_err("reload: admin group '%s': %s; the running configuration stays",
				new->admin_group, strerror(-r));
			goto err_free;
		}
	}
	changed = reload_report(s, old, new);

	/* Everything checked: from here nothing can fail. */
	if (!(cli & CONFIG_SET(CONFIG_LOG_LEVEL)))
		log_set_level(new->log_level);
	if (!(cli & CONFIG_SET(CONFIG_HELLO_TIMEOUT)))
		s->limits.hello_timeout_s = new->hello_timeout_s;
	s->admin_gid = admin;
	s->limits.connections_per_process = new->connections_per_process;
	s->limits.max_name_length = new->max_name_length;
	s->limits.lease_break_time_s = new->lease_break_time_s;
	s->limits.max_pins_per_process = new->max_pins_per_process;
	if (s->quota)
		quota_set_config(s->quota, new);
	s->cfg = new;
	/* The start-up configuration belongs to the options; ours we free. */
	if (s->reloaded) {
		config_free(s->reloaded);
		free(s->reloaded);
	}
	s->reloaded = new;
	log_notice("reload: %s: %u change%s in force", s->opts->config_path,
		   changed, changed == 1 ? "" : "s");
	r = 0;
	goto out;

err_free:
	config_free(new);
	free(new);
out:
	notify_reloaded("serving");
	return r;
}

/* reload_fini -- free the configuration the last reload swapped in */
void reload_fini(struct server *s)
{
	if (!s->reloaded)
		return;
	config_free(s->reloaded);
	free(s->reloaded);
	s->reloaded = NULL;
	s->cfg = &s->opts->cfg;
}
