// SPDX-License-Identifier: Apache-2.0
/*
 * config.c -- the configuration file (/etc/daxallocd.conf)
 *
 * libinih splits the file into sections and "key = value" pairs; this file
 * gives them meaning.  Two things libinih leaves out are done in our line
 * reader, which libinih calls once per line: counting lines (the installed
 * library's handler gets no line number) and seeing section headers (its
 * handler is not called for them, so an empty "[deamon]" would pass
 * unnoticed).  The reader also strips leading blanks, which turns off
 * libinih's Python-style continuation lines: indentation is insignificant
 * and an indented "extents = 5" is a key, not more text for the key above.
 *
 * Every mistake is an error with its line: an unknown section or key, a key
 * given twice, a bad or out-of-range value, a user or group that does not
 * exist, a line too long for libinih's buffer.  A typo in a quota must not
 * silently leave a tenant unlimited.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include <ini.h>

#include "config.h"
#include "format.h"
#include "log.h"
#include "options.h"

enum config_section {
	CONFIG_SEC_NONE, /* before the first header */
	CONFIG_SEC_DAEMON,
	CONFIG_SEC_LIMITS,
	CONFIG_SEC_QUOTA,
	CONFIG_SEC_QUOTA_UID, /* [quota.uid.N] or [quota.user.NAME] */
	CONFIG_SEC_QUOTA_GID, /* [quota.gid.N] or [quota.group.NAME] */
	CONFIG_SEC_COUNT,
};

static const char *const config_section_names[CONFIG_SEC_COUNT] = {
	[CONFIG_SEC_NONE] = "",
	[CONFIG_SEC_DAEMON] = "daemon",
	[CONFIG_SEC_LIMITS] = "limits",
	[CONFIG_SEC_QUOTA] = "quota",
	[CONFIG_SEC_QUOTA_UID] = "quota.uid",
	[CONFIG_SEC_QUOTA_GID] = "quota.gid",
};

/* How a value is parsed, and the type of the field it lands in. */
enum config_type {
	CONFIG_T_STRING, /* char *, non-empty */
	CONFIG_T_SOCKET, /* char *, fits in sun_path */
	CONFIG_T_GROUP, /* char *, an existing group */
	CONFIG_T_SIZE, /* uint64_t, options_parse_size(), non-zero */
	CONFIG_T_UNIT, /* uint64_t, a size and a power of two */
	CONFIG_T_LOG_LEVEL, /* int, log_level_parse() */
	CONFIG_T_UINT, /* unsigned int in [min, max] */
	CONFIG_T_QBYTES, /* uint64_t, 0 (unlimited) or a size */
	CONFIG_T_QCOUNT, /* uint64_t, a plain number, 0 unlimited */
};

struct config_key_desc {
	const char *name;
	enum config_section section;
	enum config_type type;
	size_t offset; /* of the field in struct config */
	unsigned int min, max; /* CONFIG_T_UINT */
	bool reload; /* a reload (SIGHUP) may change it */
};

#define CONFIG_FIELD(f) offsetof(struct config, f)

/* Hand-aligned: one key per block reads better than clang-format's. */
/* clang-format off */
static const struct config_key_desc config_keys[CONFIG_KEY_COUNT] = {
	[CONFIG_DEVICE] = {
		.name = "device", .section = CONFIG_SEC_DAEMON,
		.type = CONFIG_T_STRING, .offset = CONFIG_FIELD(device),
	},
	[CONFIG_SIZE] = {
		.name = "size", .section = CONFIG_SEC_DAEMON,
		.type = CONFIG_T_SIZE, .offset = CONFIG_FIELD(size),
	},
	[CONFIG_UNIT] = {
		.name = "unit", .section = CONFIG_SEC_DAEMON,
		.type = CONFIG_T_UNIT, .offset = CONFIG_FIELD(unit),
	},
	[CONFIG_SOCKET] = {
		.name = "socket", .section = CONFIG_SEC_DAEMON,
		.type = CONFIG_T_SOCKET, .offset = CONFIG_FIELD(socket_path),
	},
	[CONFIG_CONTROL_SOCKET] = {
		.name = "control_socket", .section = CONFIG_SEC_DAEMON,
		.type = CONFIG_T_SOCKET, .offset = CONFIG_FIELD(control_path),
	},
	[CONFIG_ADMIN_GROUP] = {
		.name = "admin_group", .section = CONFIG_SEC_DAEMON,
		.type = CONFIG_T_GROUP, .offset = CONFIG_FIELD(admin_group),
		.reload = true,
	},
	[CONFIG_LOG_LEVEL] = {
		.name = "log_level", .section = CONFIG_SEC_DAEMON,
		.type = CONFIG_T_LOG_LEVEL, .offset = CONFIG_FIELD(log_level),
		.reload = true,
	},
	[CONFIG_HELLO_TIMEOUT] = {
		.name = "hello_timeout", .section = CONFIG_SEC_LIMITS,
		.type = CONFIG_T_UINT, .offset = CONFIG_FIELD(hello_timeout_s),
		.min = 1, .max = CONFIG_MAX_HELLO_TIMEOUT, .reload = true,
	},
	[CONFIG_MAX_NAME_LENGTH] = {
		.name = "max_name_length", .section = CONFIG_SEC_LIMITS,
		.type = CONFIG_T_UINT, .offset = CONFIG_FIELD(max_name_length),
		.min = 1, .max = FMT_NAME_MAX, .reload = true,
	},
	[CONFIG_CONNECTIONS_PER_PROCESS] = {
		.name = "connections_per_process", .section = CONFIG_SEC_LIMITS,
		.type = CONFIG_T_UINT,
		.offset = CONFIG_FIELD(connections_per_process),
		.min = 1, .max = CONFIG_MAX_CONNECTIONS_PER_PROCESS,
		.reload = true,
	},
	[CONFIG_LEASE_BREAK_TIME] = {
		.name = "lease_break_time", .section = CONFIG_SEC_LIMITS,
		.type = CONFIG_T_UINT, .offset = CONFIG_FIELD(lease_break_time_s),
		.min = 1, .max = CONFIG_MAX_LEASE_BREAK_TIME, .reload = true,
	},
	[CONFIG_MAX_PINS_PER_PROCESS] = {
		.name = "max_pins_per_process", .section = CONFIG_SEC_LIMITS,
		.type = CONFIG_T_UINT,
		.offset = CONFIG_FIELD(max_pins_per_process),
		.min = 1, .max = CONFIG_MAX_MAX_PINS_PER_PROCESS, .reload = true,
	},
	[CONFIG_DEFAULT_UID_BYTES] = {
		.name = "default_uid_bytes", .section = CONFIG_SEC_QUOTA,
		.type = CONFIG_T_QBYTES, .offset = CONFIG_FIELD(default_uid.bytes),
		.reload = true,
	},
	[CONFIG_DEFAULT_UID_EXTENTS] = {
		.name = "default_uid_extents", .section = CONFIG_SEC_QUOTA,
		.type = CONFIG_T_QCOUNT,
		.offset = CONFIG_FIELD(default_uid.extents),
		.reload = true,
	},
};
/* clang-format on */

/* The keys of a per-id section, [quota.uid.N] and the like. */
struct config_qkey_desc {
	const char *name;
	enum config_type type;
	size_t offset; /* of the field in struct config_quota */
	unsigned int bit; /* CONFIG_QUOTA_* */
};

static const struct config_qkey_desc config_qkeys[] = {
	{ .name = "bytes",
	  .type = CONFIG_T_QBYTES,
	  .offset = offsetof(struct config_quota, bytes),
	  .bit = CONFIG_QUOTA_BYTES },
	{ .name = "extents",
	  .type = CONFIG_T_QCOUNT,
	  .offset = offsetof(struct config_quota, extents),
	  .bit = CONFIG_QUOTA_EXTENTS },
};

#define CONFIG_NQKEYS (sizeof(config_qkeys) / sizeof(config_qkeys[0]))

/* What config_load() carries through libinih's callbacks. */
struct config_parse {
	struct config *c;
	FILE *f;
	unsigned int line; /* lines read so far: the one being parsed */
	enum config_section sec;
	size_t entry; /* per-id section: its index in uids or gids */
	size_t cap_uids, cap_gids;
	unsigned int key_line[CONFIG_KEY_COUNT]; /* where each key was given */
	unsigned int qkey_line[CONFIG_NQKEYS]; /* same, this section only */
	int read_errno; /* why fgets() failed, if it did */
	int err; /* first error, a negative errno; 0: none */
	unsigned int err_line; /* its line; 0: not about one line */
	char msg[256];
};

/* config_fail -- record the first error, about the line being parsed */
static int config_fail(struct config_parse *p, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int config_fail(struct config_parse *p, int err, const char *fmt, ...)
{
	va_list ap;

	if (p->err)
		return p->err;
	p->err = err;
	p->err_line = p->line;
	va_start(ap, fmt);
	vsnprintf(p->msg, sizeof(p->msg), fmt, ap);
	va_end(ap);
	return err;
}

/* config_defaults -- the built-in configuration: what an empty file means */
void config_defaults(struct config *c)
{
	*c = (struct config){
		.unit = OPTIONS_DEFAULT_UNIT,
		.log_level = LOG_INFO,
		.hello_timeout_s = CONFIG_DEFAULT_HELLO_TIMEOUT,
		.max_name_length = FMT_NAME_MAX,
		.connections_per_process =
			CONFIG_DEFAULT_CONNECTIONS_PER_PROCESS,
		.lease_break_time_s = CONFIG_DEFAULT_LEASE_BREAK_TIME,
		.max_pins_per_process = CONFIG_DEFAULT_MAX_PINS_PER_PROCESS,
	};
}

/* config_free -- release what c owns and leave it at the defaults */
void config_free(struct config *c)
{
	free(c->device);
	free(c->socket_path);
	free(c->control_path);
	free(c->admin_group);
	free(c->uids);
	free(c->gids);
	config_defaults(c);
}

/* config_key_name -- the key as written in the file */
const char *config_key_name(enum config_key key)
{
	return (unsigned int)key < CONFIG_KEY_COUNT ? config_keys[key].name :
						      "?";
}

/* config_key_reloadable -- may a reload change this key without a restart? */
bool config_key_reloadable(enum config_key key)
{
	return (unsigned int)key < CONFIG_KEY_COUNT && config_keys[key].reload;
}

/* config_parse_u64 -- a plain decimal number: digits only, no sign */
static int config_parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE)
		return -ERANGE;
	*out = v;
	return 0;
}

/*
 * config_resolve -- a user (CONFIG_SEC_QUOTA_UID) or group name to its id
 *
 * Through getpwnam_r/getgrnam_r, so that NSS (LDAP, sssd) names work and
 * nothing static is overwritten.  Returns 0, -ENOENT for an unknown name,
 * or another negative errno when the lookup itself failed.
 */
static int config_resolve(enum config_section kind, const char *name,
			  uint32_t *id)
{
	long hint =
		sysconf(kind == CONFIG_SEC_QUOTA_UID ? _SC_GETPW_R_SIZE_MAX :
						       _SC_GETGR_R_SIZE_MAX);
	size_t len = hint > 0 ? (size_t)hint : 1024;
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	char *buf;
	int r;

	for (;;) {
		buf = malloc(len);
		if (!buf)
			return -ENOMEM;
		if (kind == CONFIG_SEC_QUOTA_UID)
			r = getpwnam_r(name, &pw, buf, len, &pwp);
		else
			r = getgrnam_r(name, &gr, buf, len, &grp);
		if (r != ERANGE || len >= (1u << 20))
			break;
		/* A group with many members needs a bigger buffer. */
		free(buf);
		len *= 2;
	}
	if (pwp)
		*id = (uint32_t)pwp->pw_uid;
	if (grp)
		*id = (uint32_t)grp->gr_gid;
	free(buf);
	if (pwp || grp)
		return 0;
	/* Not found: 0, or one of these, depending on the NSS module. */
	if (!r || r == ENOENT || r == ESRCH || r == EBADF || r == EPERM)
		return -ENOENT;
	return -r;
}

/* config_quota_kind -- "uid"/"gid" or "user"/"group" for messages */
static const char *config_quota_kind(enum config_section kind, bool by_name)
{
	if (kind == CONFIG_SEC_QUOTA_UID)
		return by_name ? "user" : "uid";
	return by_name ? "group" : "gid";
}

/*
 * config_section_id -- the id of a per-id section: "1000" or a name
 *
 * kind says which table; by_name whether the header used the user/group
 * form.  Numbers are plain decimals; (uint32_t)-1 is no one's id.
 */
static int config_section_id(struct config_parse *p, enum config_section kind,
			     bool by_name, const char *s, uint32_t *id)
{
	const char *what = config_quota_kind(kind, by_name);
	uint64_t v;
	int r;

	if (!*s)
		return config_fail(p, -EINVAL, "[quota.%s.] needs a %s", what,
				   by_name ? "name" : "number");
	if (!by_name) {
		if (config_parse_u64(s, &v) < 0 || v >= UINT32_MAX)
			return config_fail(p, -EINVAL,
					   "bad %s '%s' (a number below %u)",
					   what, s, UINT32_MAX);
		*id = (uint32_t)v;
		return 0;
	}
	r = config_resolve(kind, s, id);
	if (r == -ENOENT)
		return config_fail(p, -EINVAL, "unknown %s '%s'", what, s);
	if (r < 0)
		return config_fail(p, r, "cannot look up %s '%s': %s", what, s,
				   strerror(-r));
	return 0;
}

/* config_add_entry -- a new per-id entry; p->entry is its index */
static int config_add_entry(struct config_parse *p, enum config_section kind,
			    uint32_t id)
{
	bool uid = kind == CONFIG_SEC_QUOTA_UID;
	struct config_quota_entry **tab = uid ? &p->c->uids : &p->c->gids;
	size_t *n = uid ? &p->c->nuids : &p->c->ngids;
	size_t *cap = uid ? &p->cap_uids : &p->cap_gids;
	struct config_quota_entry *t;

	if (*n == *cap) {
		size_t ncap = *cap ? 2 * *cap : 16;

		t = reallocarray(*tab, ncap, sizeof(*t));
		if (!t)
			return config_fail(p, -ENOMEM, "out of memory");
		*tab = t;
		*cap = ncap;
	}
	p->entry = (*n)++;
	(*tab)[p->entry] =
		(struct config_quota_entry){ .id = id, .line = p->line };
	return 0;
}

/*
 * config_section -- a "[name]" header line: enter that section
 *
 * Called by the line reader, so that headers are checked even when no key
 * follows.  Per-id sections are resolved here: an unknown user or group is
 * an error on its header line.  Surrounding blanks inside the brackets are
 * ignored; anything but a comment after the closing bracket is an error.
 */
static int config_section(struct config_parse *p, const char *line)
{
	static const struct {
		const char *prefix;
		enum config_section kind;
		bool by_name;
	} per_id[] = {
		{ "quota.uid.", CONFIG_SEC_QUOTA_UID, false },
		{ "quota.user.", CONFIG_SEC_QUOTA_UID, true },
		{ "quota.gid.", CONFIG_SEC_QUOTA_GID, false },
		{ "quota.group.", CONFIG_SEC_QUOTA_GID, true },
	};
	const char *start = line + 1, *end = strchr(start, ']'), *rest;
	char name[256]; /* longer than libinih's lines */
	enum config_section s;
	unsigned int i;
	uint32_t id;
	size_t len;
	int r;

	if (!end)
		return config_fail(p, -EINVAL, "missing ']' in section header");
	rest = end + 1 + strspn(end + 1, " \t\r\n");
	if (*rest && *rest != ';' && *rest != '#')
		return config_fail(p, -EINVAL, "unexpected text after ']'");
	/* libinih keeps the line as it is; the name is a trimmed copy. */
	start += strspn(start, " \t");
	while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	len = (size_t)(end - start);
	if (len >= sizeof(name))
		return config_fail(p, -EINVAL, "section name too long");
	memcpy(name, start, len);
	name[len] = '\0';

	memset(p->qkey_line, 0, sizeof(p->qkey_line));
	for (s = CONFIG_SEC_DAEMON; s <= CONFIG_SEC_QUOTA; s++) {
		if (!strcmp(name, config_section_names[s])) {
			p->sec = s;
			return 0;
		}
	}
	for (i = 0; i < sizeof(per_id) / sizeof(per_id[0]); i++) {
		len = strlen(per_id[i].prefix);
		if (strncmp(name, per_id[i].prefix, len))
			continue;
		r = config_section_id(p, per_id[i].kind, per_id[i].by_name,
				      name + len, &id);
		if (r < 0)
			return r;
		r = config_add_entry(p, per_id[i].kind, id);
		if (r < 0)
			return r;
		p->sec = per_id[i].kind;
		return 0;
	}
	return config_fail(
		p, -EINVAL,
		"unknown section [%s] (known: [daemon], [limits], [quota], [quota.uid.N], [quota.user.NAME], [quota.gid.N], [quota.group.NAME])",
		name);
}

/*
 * config_read_line -- libinih's reader: one line, counted and pre-checked
 *
 * Returns NULL at the end of the file and after the first error, which
 * stops libinih there: one error is reported, the first.
 */
static char *config_read_line(char *str, int num, void *stream)
{
	struct config_parse *p = stream;
	size_t len, skip;
	int c;

	if (p->err)
		return NULL;
	if (!fgets(str, num, p->f)) {
		if (ferror(p->f))
			p->read_errno = errno ? errno : EIO;
		return NULL;
	}
	p->line++;
	len = strlen(str);
	if (len && str[len - 1] != '\n') {
		/*
		 * libinih would drop the rest of a line that does not fit its
		 * buffer; refuse it instead.  A last line without a newline
		 * is fine.
		 */
		c = getc(p->f);
		if (c != EOF) {
			config_fail(p, -EINVAL,
				    "line too long (at most %d characters)",
				    num - 2);
			return NULL;
		}
	}
	/* A UTF-8 byte order mark, which libinih would skip too. */
	if (p->line == 1 && !strncmp(str, "\xef\xbb\xbf", 3)) {
		memmove(str, str + 3, len - 2);
		len -= 3;
	}
	skip = strspn(str, " \t");
	memmove(str, str + skip, len - skip + 1);
	if (str[0] == '[' && config_section(p, str) < 0)
		return NULL;
	return str;
}

#define CONFIG_SUN_PATH sizeof(((struct sockaddr_un *)NULL)->sun_path)

/* config_string -- store a copy of value in a char * field */
static int config_string(struct config_parse *p, void *field, const char *value)
{
	char *s = strdup(value);

	if (!s)
		return config_fail(p, -ENOMEM, "out of memory");
	*(char **)field = s;
	return 0;
}

/*
 * config_value -- parse value as type into field; key names it in messages
 *
 * min and max bound CONFIG_T_UINT.  Returns 0 or the recorded error.
 */
static int config_value(struct config_parse *p, const char *key,
			enum config_type type, unsigned int min,
			unsigned int max, void *field, const char *value)
{
	uint32_t gid;
	uint64_t v;
	int r;

	if (!*value)
		return config_fail(p, -EINVAL, "'%s' needs a value", key);
	switch (type) {
	case CONFIG_T_SOCKET:
		if (strlen(value) >= CONFIG_SUN_PATH)
			return config_fail(
				p, -EINVAL,
				"'%s' is too long for a socket path (at most %zu bytes)",
				key, CONFIG_SUN_PATH - 1);
		return config_string(p, field, value);
	case CONFIG_T_GROUP:
		/*
		 * Checked now for a message with a line; the server resolves
		 * the name again when it applies it.
		 */
		r = config_resolve(CONFIG_SEC_QUOTA_GID, value, &gid);
		if (r == -ENOENT)
			return config_fail(p, -EINVAL, "unknown group '%s'",
					   value);
		if (r < 0)
			return config_fail(p, r,
					   "cannot look up group '%s': %s",
					   value, strerror(-r));
		return config_string(p, field, value);
	case CONFIG_T_STRING:
		return config_string(p, field, value);
	case CONFIG_T_QBYTES:
		if (!strcmp(value, "0")) {
			*(uint64_t *)field = 0;
			return 0;
		}
		/* fall through */
	case CONFIG_T_SIZE:
	case CONFIG_T_UNIT:
		r = options_parse_size(value, &v);
		if (r == -ERANGE)
			return config_fail(p, -EINVAL, "'%s' is too large: %s",
					   key, value);
		if (r < 0)
			return config_fail(
				p, r,
				"bad size for '%s': '%s' (a number with an optional K, M, G or T suffix%s)",
				key, value,
				type == CONFIG_T_QBYTES ?
					", or 0 for unlimited" :
					"");
		if (type == CONFIG_T_UNIT &&
		    (v < OPTIONS_MIN_UNIT || v > OPTIONS_MAX_UNIT ||
		     (v & (v - 1))))
			return config_fail(
				p, -EINVAL,
				"'unit' must be a power of two from 4K to 1G, not %s",
				value);
		*(uint64_t *)field = v;
		return 0;
	case CONFIG_T_QCOUNT:
		r = config_parse_u64(value, &v);
		if (r == -ERANGE)
			return config_fail(p, -EINVAL, "'%s' is too large: %s",
					   key, value);
		if (r < 0)
			return config_fail(
				p, r,
				"bad number for '%s': '%s' (0 for unlimited)",
				key, value);
		*(uint64_t *)field = v;
		return 0;
	case CONFIG_T_UINT:
		r = config_parse_u64(value, &v);
		if (r == -EINVAL)
			return config_fail(p, r, "bad number for '%s': '%s'",
					   key, value);
		if (r < 0 || v < min || v > max)
			return config_fail(p, -EINVAL,
					   "'%s' must be from %u to %u, not %s",
					   key, min, max, value);
		*(unsigned int *)field = (unsigned int)v;
		return 0;
	case CONFIG_T_LOG_LEVEL:
		r = log_level_parse(value);
		if (r < 0)
			return config_fail(
				p, -EINVAL,
				"bad log_level '%s' (error, warning, notice, info, debug, or 0 to 7)",
				value);
		*(int *)field = r;
		return 0;
	}
	return config_fail(p, -EINVAL, "'%s': internal error: no type", key);
}

/* config_qkey -- a key of a per-id section */
static int config_qkey(struct config_parse *p, const char *key,
		       const char *value)
{
	bool uid = p->sec == CONFIG_SEC_QUOTA_UID;
	struct config_quota_entry *e =
		uid ? &p->c->uids[p->entry] : &p->c->gids[p->entry];
	const struct config_qkey_desc *d;
	unsigned int i;
	int r;

	for (i = 0; i < CONFIG_NQKEYS; i++)
		if (!strcmp(key, config_qkeys[i].name))
			break;
	if (i == CONFIG_NQKEYS)
		return config_fail(
			p, -EINVAL,
			"unknown key '%s' in a quota section (known: bytes, extents)",
			key);
	d = &config_qkeys[i];
	if (p->qkey_line[i])
		return config_fail(p, -EINVAL,
				   "'%s' given twice (first at line %u)", key,
				   p->qkey_line[i]);
	r = config_value(p, key, d->type, 0, 0, (char *)&e->q + d->offset,
			 value);
	if (r < 0)
		return r;
	p->qkey_line[i] = p->line;
	e->set |= d->bit;
	return 0;
}

/*
 * config_handler -- libinih's callback for each "key = value"
 *
 * The section comes from our reader (p->sec), already checked; libinih's
 * section argument is the same header, untrimmed, and not needed.
 * Returns 1 on success, 0 on error, as libinih wants.
 */
static int config_handler(void *user, const char *section, const char *key,
			  const char *value)
{
	struct config_parse *p = user;
	const struct config_key_desc *d;
	unsigned int k;

	if (p->err)
		return 0;
	if (p->sec == CONFIG_SEC_NONE) {
		config_fail(p, -EINVAL,
			    "'%s' outside any section (start with [daemon])",
			    key);
		return 0;
	}
	if (p->sec == CONFIG_SEC_QUOTA_UID || p->sec == CONFIG_SEC_QUOTA_GID)
		return config_qkey(p, key, value) == 0;

	for (k = 0; k < CONFIG_KEY_COUNT; k++)
		if (!strcmp(key, config_keys[k].name))
			break;
	if (k == CONFIG_KEY_COUNT) {
		config_fail(p, -EINVAL, "unknown key '%s' in [%s]", key,
			    config_section_names[p->sec]);
		return 0;
	}
	d = &config_keys[k];
	if (d->section != p->sec) {
		config_fail(p, -EINVAL, "'%s' belongs in [%s], not [%s]", key,
			    config_section_names[d->section],
			    config_section_names[p->sec]);
		return 0;
	}
	if (p->key_line[k]) {
		config_fail(p, -EINVAL, "'%s' given twice (first at line %u)",
			    key, p->key_line[k]);
		return 0;
	}
	if (config_value(p, key, d->type, d->min, d->max,
			 (char *)p->c + d->offset, value) < 0)
		return 0;
	p->key_line[k] = p->line;
	p->c->set |= CONFIG_SET(k);
	return 1;
}

/* config_entry_cmp -- order of the per-id tables: id, then line */
static int config_entry_cmp(const void *a, const void *b)
{
	const struct config_quota_entry *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

/*
 * config_finish -- sort the per-id tables, refuse duplicates, fill defaults
 *
 * Two sections for one id (by number, by name, or both) are an error
 * reported at the later one: which of them should win is not ours to
 * guess.  Where several ids repeat, the earliest repetition is reported.
 */
static int config_finish(struct config_parse *p)
{
	struct config *c = p->c;
	const struct config_quota_entry *dup = NULL, *first = NULL;
	struct config_quota_entry *e;
	bool gid_dup = false;
	size_t i;

	/* qsort() wants a pointer even for nothing; the tables may be NULL. */
	if (c->nuids)
		qsort(c->uids, c->nuids, sizeof(*c->uids), config_entry_cmp);
	if (c->ngids)
		qsort(c->gids, c->ngids, sizeof(*c->gids), config_entry_cmp);
	for (i = 1; i < c->nuids; i++) {
		if (c->uids[i].id == c->uids[i - 1].id &&
		    (!dup || c->uids[i].line < dup->line)) {
			dup = &c->uids[i];
			first = &c->uids[i - 1];
		}
	}
	for (i = 1; i < c->ngids; i++) {
		if (c->gids[i].id == c->gids[i - 1].id &&
		    (!dup || c->gids[i].line < dup->line)) {
			dup = &c->gids[i];
			first = &c->gids[i - 1];
			gid_dup = true;
		}
	}
	if (dup) {
		p->line = dup->line;
		return config_fail(
			p, -EINVAL,
			"second quota section for %s %u (first at line %u)",
			gid_dup ? "gid" : "uid", dup->id, first->line);
	}
	for (i = 0; i < c->nuids; i++) {
		e = &c->uids[i];
		if (!(e->set & CONFIG_QUOTA_BYTES))
			e->q.bytes = c->default_uid.bytes;
		if (!(e->set & CONFIG_QUOTA_EXTENTS))
			e->q.extents = c->default_uid.extents;
	}
	return 0;
}

/*
 * config_load -- read the file at path into a fresh configuration
 *
 * out is always left valid for config_free(): the file's configuration on
 * success, the defaults on any error.  A missing file returns -ENOENT; with
 * must_exist false that is not a failure and out holds the defaults.  Any
 * other failure returns a negative errno (-EINVAL for a mistake in the
 * file) and writes "path:line: message" (or "path: message") to err.
 */
int config_load(const char *path, bool must_exist, struct config *out,
		char *err, size_t errlen)
{
	struct config_parse p = { .c = out };
	int ret, r;

	config_defaults(out);
	if (err && errlen)
		err[0] = '\0';
	p.f = fopen(path, "re");
	if (!p.f) {
		r = -errno;
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	ret = ini_parse_stream(config_read_line, &p, config_handler, &p);
	if (!p.err && p.read_errno) {
		r = -p.read_errno;
		p.line = 0;
		config_fail(&p, r, "read error: %s", strerror(-r));
	}
	fclose(p.f);
	/* libinih's own finding (no '=' or ']') if it came first. */
	if (ret > 0 && (!p.err || (unsigned int)ret < p.err_line)) {
		p.err = 0;
		p.line = (unsigned int)ret;
		config_fail(&p, -EINVAL,
			    "expected '[section]' or 'key = value'");
	} else if (ret == -2) {
		p.line = 0;
		config_fail(&p, -ENOMEM, "out of memory");
	}
	if (!p.err)
		config_finish(&p);
	if (!p.err)
		return 0;

	if (err && errlen) {
		if (p.err_line)
			snprintf(err, errlen, "%s:%u: %s", path, p.err_line,
				 p.msg);
		else
			snprintf(err, errlen, "%s: %s", path, p.msg);
	}
	config_free(out);
	return p.err;
}

/* config_find -- the entry for id in a sorted table, or NULL */
static const struct config_quota_entry *
config_find(const struct config_quota_entry *t, size_t n, uint32_t id)
{
	size_t lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (t[mid].id == id)
			return &t[mid];
		if (t[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* config_uid_quota -- the limits of uid: its own section, else the default */
const struct config_quota *config_uid_quota(const struct config *c,
					    uint32_t uid)
{
	const struct config_quota_entry *e =
		config_find(c->uids, c->nuids, uid);

	return e ? &e->q : &c->default_uid;
}

/* config_gid_quota -- the limits of gid: its own section, else NULL (none) */
const struct config_quota *config_gid_quota(const struct config *c,
					    uint32_t gid)
{
	const struct config_quota_entry *e =
		config_find(c->gids, c->ngids, gid);

	return e ? &e->q : NULL;
}
