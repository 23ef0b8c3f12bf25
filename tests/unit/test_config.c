// SPDX-License-Identifier: Apache-2.0
/*
 * test_config.c -- the configuration file: every key, every error class
 *
 * Each case writes a small file into the suite's temp folder and loads it.
 * Errors are checked for their errno and for "path:line: message", since an
 * operator finds the mistake by its line.  Names are resolved against root
 * (uid 0, gid 0), which exists everywhere.
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "config.h"
#include "daxalloc-config.h"
#include "format.h"
#include "log.h"
#include "options.h"
#include "unit.h"

#ifndef DAXALLOC_EXAMPLE_CONF
#error "build with -DDAXALLOC_EXAMPLE_CONF=<source>/systemd/daxallocd.conf"
#endif

#define ALL_KEYS (CONFIG_SET(CONFIG_KEY_COUNT) - 1)

static char test_dir[PATH_MAX];
static int test_fds_before;

/* test_path -- a path inside the suite's temp folder */
static const char *test_path(const char *name)
{
	return unit_path(test_dir, name);
}

/* test_init -- the temp folder; warnings only, to keep the output short */
static int test_init(void)
{
	log_init(LOG_WARNING);
	if (unit_tmpdir(test_dir, "test_config") < 0)
		return -1;
	test_fds_before = unit_count_fds();
	return 0;
}

/* test_fini -- no descriptor left open, then remove the temp folder */
static int test_fini(void)
{
	if (unit_count_fds() != test_fds_before) {
		fprintf(stderr, "test_config: descriptors leaked\n");
		return -1;
	}
	return unit_tmpdir_remove(test_dir);
}

/* write_file -- text into a file of the temp folder; its path */
static const char *write_file(const char *name, const char *text)
{
	const char *path = test_path(name);
	FILE *f = fopen(path, "w");

	if (!f)
		return NULL;
	fputs(text, f);
	fclose(f);
	return path;
}

/* load -- text as a file, loaded; the result, err filled */
static int load(const char *text, struct config *c, char *err, size_t len)
{
	const char *path = write_file("t.conf", text);

	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	return config_load(path, true, c, err, len);
}

/* same_str -- two optional strings are equal */
static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* same_config -- field by field (memcmp would compare padding too) */
static bool same_config(const struct config *a, const struct config *b)
{
	return same_str(a->device, b->device) && a->size == b->size &&
	       a->unit == b->unit && same_str(a->socket_path, b->socket_path) &&
	       same_str(a->control_path, b->control_path) &&
	       same_str(a->admin_group, b->admin_group) &&
	       a->log_level == b->log_level &&
	       a->hello_timeout_s == b->hello_timeout_s &&
	       a->max_name_length == b->max_name_length &&
	       a->connections_per_process == b->connections_per_process &&
	       a->lease_break_time_s == b->lease_break_time_s &&
	       a->max_pins_per_process == b->max_pins_per_process &&
	       a->default_uid.bytes == b->default_uid.bytes &&
	       a->default_uid.extents == b->default_uid.extents &&
	       a->nuids == b->nuids && a->ngids == b->ngids &&
	       (a->uids == NULL) == (b->uids == NULL) &&
	       (a->gids == NULL) == (b->gids == NULL) && a->set == b->set;
}

/* is_defaults -- c holds what config_defaults() gives, and nothing else */
static bool is_defaults(const struct config *c)
{
	struct config d;

	config_defaults(&d);
	return same_config(c, &d);
}

/* test_full -- a file with every key: each lands in its field */
static void test_full(void)
{
	static const char text[] = "# all of it\n"
				   "[daemon]\n"
				   "device = /dev/dax1.0\n"
				   "size = 8G\n"
				   "unit = 1G\n"
				   "socket = /tmp/x/client.sock\n"
				   "control_socket = /tmp/x/control.sock\n"
				   "admin_group = root\n"
				   "log_level = debug\n"
				   "[limits]\n"
				   "hello_timeout = 30\n"
				   "max_name_length = 100\n"
				   "connections_per_process = 8\n"
				   "lease_break_time = 90\n"
				   "max_pins_per_process = 1000\n"
				   "[quota]\n"
				   "default_uid_bytes = 1T\n"
				   "default_uid_extents = 500\n"
				   "[quota.uid.1000]\n"
				   "bytes = 64G\n"
				   "extents = 10000\n"
				   "[quota.user.root]\n"
				   "bytes = 0\n"
				   "extents = 0\n"
				   "[quota.gid.100]\n"
				   "bytes = 1T\n"
				   "extents = 0\n"
				   "[quota.group.root]\n"
				   "extents = 7\n";
	const struct config_quota *q;
	struct config c;
	char err[256];

	CU_ASSERT_EQUAL_FATAL(load(text, &c, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(err, "");
	CU_ASSERT_STRING_EQUAL(c.device, "/dev/dax1.0");
	CU_ASSERT_EQUAL(c.size, 8ULL << 30);
	CU_ASSERT_EQUAL(c.unit, 1ULL << 30);
	CU_ASSERT_STRING_EQUAL(c.socket_path, "/tmp/x/client.sock");
	CU_ASSERT_STRING_EQUAL(c.control_path, "/tmp/x/control.sock");
	CU_ASSERT_STRING_EQUAL(c.admin_group, "root");
	CU_ASSERT_EQUAL(c.log_level, LOG_DEBUG);
	CU_ASSERT_EQUAL(c.hello_timeout_s, 30);
	CU_ASSERT_EQUAL(c.max_name_length, 100);
	CU_ASSERT_EQUAL(c.connections_per_process, 8);
	CU_ASSERT_EQUAL(c.lease_break_time_s, 90);
	CU_ASSERT_EQUAL(c.max_pins_per_process, 1000);
	CU_ASSERT_EQUAL(c.default_uid.bytes, 1ULL << 40);
	CU_ASSERT_EQUAL(c.default_uid.extents, 500);
	CU_ASSERT_EQUAL(c.set, ALL_KEYS);

	/* Sorted by id: root (0) before 1000. */
	CU_ASSERT_EQUAL_FATAL(c.nuids, 2);
	CU_ASSERT_EQUAL(c.uids[0].id, 0);
	CU_ASSERT_EQUAL(c.uids[0].line, 22);
	CU_ASSERT_EQUAL(c.uids[1].id, 1000);
	CU_ASSERT_EQUAL(c.uids[1].line, 19);
	q = config_uid_quota(&c, 1000);
	CU_ASSERT_EQUAL(q->bytes, 64ULL << 30);
	CU_ASSERT_EQUAL(q->extents, 10000);
	/* Root's own section makes it unlimited despite the default. */
	q = config_uid_quota(&c, 0);
	CU_ASSERT_EQUAL(q->bytes, 0);
	CU_ASSERT_EQUAL(q->extents, 0);
	/* Any other uid: the default. */
	q = config_uid_quota(&c, 4242);
	CU_ASSERT_PTR_EQUAL(q, &c.default_uid);

	CU_ASSERT_EQUAL_FATAL(c.ngids, 2);
	CU_ASSERT_EQUAL(c.gids[0].id, 0);
	CU_ASSERT_EQUAL(c.gids[1].id, 100);
	q = config_gid_quota(&c, 100);
	CU_ASSERT_PTR_NOT_NULL_FATAL(q);
	CU_ASSERT_EQUAL(q->bytes, 1ULL << 40);
	CU_ASSERT_EQUAL(q->extents, 0);
	/* A gid section's missing key is unlimited, not a default. */
	q = config_gid_quota(&c, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(q);
	CU_ASSERT_EQUAL(q->bytes, 0);
	CU_ASSERT_EQUAL(q->extents, 7);
	CU_ASSERT_PTR_NULL(config_gid_quota(&c, 4242));
	config_free(&c);
	CU_ASSERT(is_defaults(&c));
	config_free(&c); /* a second free is harmless */
}

/* test_absent -- no file: defaults; an error only when it must exist */
static void test_absent(void)
{
	const char *path = test_path("no-such.conf");
	struct config c;
	char err[256];

	CU_ASSERT_EQUAL(config_load(path, false, &c, err, sizeof(err)),
			-ENOENT);
	CU_ASSERT(is_defaults(&c));
	config_free(&c);

	CU_ASSERT_EQUAL(config_load(path, true, &c, err, sizeof(err)), -ENOENT);
	CU_ASSERT(is_defaults(&c));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, path));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "No such file"));
	config_free(&c);

	/* NULL err is fine. */
	CU_ASSERT_EQUAL(config_load(path, true, &c, NULL, 0), -ENOENT);
}

/* test_empty -- an empty file (or /dev/null) means the defaults */
static void test_empty(void)
{
	struct config c;
	char err[256];

	CU_ASSERT_EQUAL(load("", &c, err, sizeof(err)), 0);
	CU_ASSERT(is_defaults(&c));
	CU_ASSERT_EQUAL(c.set, 0);
	config_free(&c);
	CU_ASSERT_EQUAL(config_load("/dev/null", true, &c, err, sizeof(err)),
			0);
	CU_ASSERT(is_defaults(&c));
	config_free(&c);
}

/* test_defaults -- the defaults the docs promise */
static void test_defaults(void)
{
	struct config c;

	config_defaults(&c);
	CU_ASSERT_PTR_NULL(c.device);
	CU_ASSERT_EQUAL(c.size, 0);
	CU_ASSERT_EQUAL(c.unit, 2ULL << 20);
	CU_ASSERT_PTR_NULL(c.socket_path);
	CU_ASSERT_PTR_NULL(c.control_path);
	CU_ASSERT_PTR_NULL(c.admin_group);
	CU_ASSERT_EQUAL(c.log_level, LOG_INFO);
	CU_ASSERT_EQUAL(c.hello_timeout_s, 10);
	CU_ASSERT_EQUAL(c.max_name_length, 175);
	CU_ASSERT_EQUAL(c.connections_per_process, 64);
	CU_ASSERT_EQUAL(c.lease_break_time_s, 45);
	CU_ASSERT_EQUAL(c.max_pins_per_process, 65536);
	CU_ASSERT_EQUAL(c.default_uid.bytes, 0);
	CU_ASSERT_EQUAL(c.default_uid.extents, 0);
	CU_ASSERT_EQUAL(c.nuids + c.ngids, 0);
	CU_ASSERT_EQUAL(c.set, 0);
}

/* test_syntax -- comments, blanks, indentation, CRLF, a BOM, colons */
static void test_syntax(void)
{
	static const char text[] =
		"\xef\xbb\xbf[daemon]   ; a header with a comment\r\n"
		"\r\n"
		"; a comment\n"
		"# another\n"
		"   device = /dev/dax0.0   ; inline comment\n"
		"\tlog_level: warning\n"
		"[ limits ]\n"
		"hello_timeout=5\n"
		"[quota.uid.1000]\n"
		"bytes = 1G\n"
		"    extents = 5\n"
		"[daemon]\n"
		"size = 1G"; /* no newline at the end */
	struct config c;
	char err[256];

	CU_ASSERT_EQUAL_FATAL(load(text, &c, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.device, "/dev/dax0.0");
	CU_ASSERT_EQUAL(c.log_level, LOG_WARNING);
	CU_ASSERT_EQUAL(c.hello_timeout_s, 5);
	CU_ASSERT_EQUAL(c.size, 1ULL << 30);
	/* The indented key is a key, not a continuation of "bytes". */
	CU_ASSERT_EQUAL_FATAL(c.nuids, 1);
	CU_ASSERT_EQUAL(c.uids[0].q.bytes, 1ULL << 30);
	CU_ASSERT_EQUAL(c.uids[0].q.extents, 5);
	config_free(&c);
}

/* test_sizes -- suffixes as options_parse_size() takes them */
static void test_sizes(void)
{
	static const struct {
		const char *v;
		uint64_t bytes;
	} cases[] = {
		{ "4096", 4096 },
		{ "4K", 4096 },
		{ "2M", 2ULL << 20 },
		{ "8G", 8ULL << 30 },
		{ "8GiB", 8ULL << 30 },
		{ "8GB", 8ULL << 30 },
		{ "8g", 8ULL << 30 },
		{ "3T", 3ULL << 40 },
		{ "16777215T", 16777215ULL << 40 },
	};
	struct config c;
	char text[128], err[256];
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text),
			 "[quota]\ndefault_uid_bytes = %s\n", cases[i].v);
		CU_ASSERT_EQUAL(load(text, &c, err, sizeof(err)), 0);
		CU_ASSERT_EQUAL(c.default_uid.bytes, cases[i].bytes);
		config_free(&c);
	}
}

/* An error case: text, the errno, the line, and a piece of the message. */
struct error_case {
	const char *text;
	int err;
	unsigned int line;
	const char *msg;
};

static const struct error_case error_cases[] = {
	/* Unknown names. */
	{ "[daemon]\ndevice = /dev/dax0.0\ndevcie = x\n", -EINVAL, 3,
	  "unknown key 'devcie' in [daemon]" },
	{ "[daemon]\n\n[deamon]\n", -EINVAL, 3, "unknown section [deamon]" },
	{ "[Daemon]\ndevice = x\n", -EINVAL, 1, "unknown section [Daemon]" },
	{ "[quota.uid.1]\nbytes = 1G\nbyte = 1G\n", -EINVAL, 3,
	  "unknown key 'byte' in a quota section" },
	{ "[quota.users.root]\n", -EINVAL, 1, "unknown section" },
	{ "[daemon]\nhello_timeout = 5\n", -EINVAL, 2,
	  "'hello_timeout' belongs in [limits], not [daemon]" },
	{ "device = x\n[daemon]\n", -EINVAL, 1, "outside any section" },
	/* Given twice. */
	{ "[daemon]\nsize = 1G\n[limits]\n[daemon]\nsize = 2G\n", -EINVAL, 5,
	  "'size' given twice (first at line 2)" },
	{ "[quota.gid.5]\nbytes = 1G\n  bytes = 2G\n", -EINVAL, 3,
	  "'bytes' given twice (first at line 2)" },
	{ "[quota.uid.0]\nbytes = 1G\n[quota.uid.7]\n[quota.user.root]\n",
	  -EINVAL, 4, "second quota section for uid 0 (first at line 1)" },
	{ "[quota.group.root]\n[quota.gid.0]\nbytes = 1G\n", -EINVAL, 2,
	  "second quota section for gid 0 (first at line 1)" },
	{ "[quota.uid.9]\n[quota.uid.8]\n[quota.uid.8]\n[quota.uid.9]\n",
	  -EINVAL, 3, "second quota section for uid 8 (first at line 2)" },
	/* Values. */
	{ "[daemon]\nsize = 8X\n", -EINVAL, 2, "bad size for 'size': '8X'" },
	{ "[daemon]\nsize = 0\n", -EINVAL, 2, "bad size for 'size'" },
	{ "[daemon]\nsize = -1G\n", -EINVAL, 2, "bad size for 'size'" },
	{ "[daemon]\nsize = 16777216T\n", -EINVAL, 2, "'size' is too large" },
	{ "[daemon]\nsize = 99999999999999999999\n", -EINVAL, 2,
	  "bad size for 'size'" },
	{ "[daemon]\nsize=8G;comment\n", -EINVAL, 2, "bad size" },
	{ "[daemon]\nunit = 3M\n", -EINVAL, 2, "power of two from 4K to 1G" },
	{ "[daemon]\nunit = 2K\n", -EINVAL, 2, "power of two from 4K to 1G" },
	{ "[daemon]\nunit = 2G\n", -EINVAL, 2, "power of two from 4K to 1G" },
	{ "[daemon]\ndevice =\n", -EINVAL, 2, "'device' needs a value" },
	{ "[daemon]\nlog_level = loud\n", -EINVAL, 2, "bad log_level 'loud'" },
	{ "[daemon]\nsocket = /run/"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.sock\n",
	  -EINVAL, 2, "'socket' is too long for a socket path" },
	{ "[limits]\nhello_timeout = 0\n", -EINVAL, 2,
	  "'hello_timeout' must be from 1 to 3600, not 0" },
	{ "[limits]\nhello_timeout = 3601\n", -EINVAL, 2, "from 1 to 3600" },
	{ "[limits]\nhello_timeout = 99999999999999999999999\n", -EINVAL, 2,
	  "from 1 to 3600" },
	{ "[limits]\nhello_timeout = 10s\n", -EINVAL, 2,
	  "bad number for 'hello_timeout': '10s'" },
	{ "[limits]\nhello_timeout = -5\n", -EINVAL, 2, "bad number" },
	{ "[limits]\nhello_timeout = +5\n", -EINVAL, 2, "bad number" },
	{ "[limits]\nhello_timeout = 0x10\n", -EINVAL, 2, "bad number" },
	{ "[limits]\nmax_name_length = 176\n", -EINVAL, 2,
	  "'max_name_length' must be from 1 to 175, not 176" },
	{ "[limits]\nmax_name_length = 0\n", -EINVAL, 2, "from 1 to 175" },
	{ "[limits]\nconnections_per_process = 0\n", -EINVAL, 2,
	  "from 1 to 65536" },
	{ "[limits]\nconnections_per_process = 65537\n", -EINVAL, 2,
	  "from 1 to 65536" },
	{ "[limits]\nlease_break_time = 0\n", -EINVAL, 2, "from 1 to 86400" },
	{ "[limits]\nmax_pins_per_process = 0\n", -EINVAL, 2, "from 1 to 16777216" },
	{ "[limits]\nlease_break_time = 86401\n", -EINVAL, 2,
	  "from 1 to 86400" },
	{ "[quota]\ndefault_uid_bytes = -1\n", -EINVAL, 2,
	  "or 0 for unlimited" },
	{ "[quota]\ndefault_uid_extents = 1K\n", -EINVAL, 2,
	  "bad number for 'default_uid_extents'" },
	{ "[quota]\ndefault_uid_extents = 18446744073709551616\n", -EINVAL, 2,
	  "'default_uid_extents' is too large" },
	{ "[quota.uid.1]\nextents = many\n", -EINVAL, 2,
	  "bad number for 'extents'" },
	{ "[quota.uid.1]\nbytes = lots\n", -EINVAL, 2, "bad size for 'bytes'" },
	/* Ids and names. */
	{ "\n[quota.uid.abc]\n", -EINVAL, 2, "bad uid 'abc'" },
	{ "[quota.uid.-1]\n", -EINVAL, 1, "bad uid '-1'" },
	{ "[quota.gid.4294967295]\n", -EINVAL, 1, "bad gid '4294967295'" },
	{ "[quota.uid.]\n", -EINVAL, 1, "needs a number" },
	{ "[quota.user.]\n", -EINVAL, 1, "needs a name" },
	{ "#\n[quota.user.no-such-user-daxalloc]\n", -EINVAL, 2,
	  "unknown user 'no-such-user-daxalloc'" },
	{ "[quota.group.no-such-group-daxalloc]\nbytes = 1G\n", -EINVAL, 1,
	  "unknown group 'no-such-group-daxalloc'" },
	{ "[daemon]\nadmin_group = no-such-group-daxalloc\n", -EINVAL, 2,
	  "unknown group 'no-such-group-daxalloc'" },
	/* Syntax. */
	{ "[daemon\n", -EINVAL, 1, "missing ']'" },
	{ "[daemon] extra\n", -EINVAL, 1, "unexpected text after ']'" },
	{ "[daemon]\n\njust words\n", -EINVAL, 3,
	  "expected '[section]' or 'key = value'" },
	/* The first of two errors is the one reported, whoever finds it. */
	{ "[daemon]\nnonsense\nbogus = 1\n", -EINVAL, 2, "expected" },
	{ "[daemon]\nbogus = 1\nnonsense\n", -EINVAL, 2, "unknown key" },
};

/* test_errors -- each class of mistake, with its line in the message */
static void test_errors(void)
{
	const char *path = test_path("t.conf");
	char err[512], want[PATH_MAX + 128];
	unsigned int i;
	struct config c;
	int r;

	for (i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		const struct error_case *e = &error_cases[i];
		bool ok;

		r = load(e->text, &c, err, sizeof(err));
		snprintf(want, sizeof(want), "%s:%u: ", path, e->line);
		ok = r == e->err && !strncmp(err, want, strlen(want)) &&
		     strstr(err, e->msg) && is_defaults(&c);
		if (!ok)
			fprintf(stderr,
				"\ncase %u: got %d '%s', want %d '%s%s'\n", i,
				r, err, e->err, want, e->msg);
		CU_ASSERT(ok);
		config_free(&c);
	}
}

/* test_long_line -- a line longer than libinih's buffer is an error */
static void test_long_line(void)
{
	char text[512], err[256];
	struct config c;
	int n;

	/* 198 characters fit (libinih's 200 less newline and NUL). */
	n = snprintf(text, sizeof(text), "[daemon]\ndevice = ");
	memset(text + n, 'a', 198 - 9);
	strcpy(text + n + 198 - 9, "\nsize = 1G\n");
	CU_ASSERT_EQUAL(load(text, &c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.device ? strlen(c.device) : 0, 198 - 9);
	CU_ASSERT_EQUAL(c.size, 1ULL << 30);
	config_free(&c);

	/* 199 do not, and the tail is not read as the next line. */
	memset(text + n, 'a', 199 - 9);
	strcpy(text + n + 199 - 9, "\nsize = 1G\n");
	CU_ASSERT_EQUAL(load(text, &c, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, ":2: line too long"));
	config_free(&c);
}

/* test_read_error -- a directory opens but cannot be read */
static void test_read_error(void)
{
	struct config c;
	char err[512];
	int r;

	r = config_load(test_dir, true, &c, err, sizeof(err));
	CU_ASSERT(r == -EISDIR || r == -EIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "read error"));
	CU_ASSERT(is_defaults(&c));
	config_free(&c);
}

/* test_names -- user and group names resolve to their ids */
static void test_names(void)
{
	static const char text[] = "[daemon]\n"
				   "admin_group = root\n"
				   "[quota.user.root]\n"
				   "bytes = 1G\n"
				   "[quota.group.root]\n"
				   "bytes = 2G\n";
	struct config c;
	char err[256];

	CU_ASSERT_EQUAL_FATAL(load(text, &c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(c.nuids, 1);
	CU_ASSERT_EQUAL(c.uids[0].id, 0);
	CU_ASSERT_EQUAL(c.uids[0].q.bytes, 1ULL << 30);
	CU_ASSERT_EQUAL_FATAL(c.ngids, 1);
	CU_ASSERT_EQUAL(c.gids[0].id, 0);
	CU_ASSERT_EQUAL(c.gids[0].q.bytes, 2ULL << 30);
	config_free(&c);
}

/* test_uid_defaults -- an entry's missing keys come from [quota], in any order */
static void test_uid_defaults(void)
{
	static const char text[] = "[quota.uid.1000]\n"
				   "bytes = 64G\n"
				   "[quota.uid.1001]\n"
				   "extents = 3\n"
				   "[quota.uid.1002]\n"
				   "[quota]\n"
				   "default_uid_bytes = 1G\n"
				   "default_uid_extents = 100\n";
	const struct config_quota *q;
	struct config c;
	char err[256];

	CU_ASSERT_EQUAL_FATAL(load(text, &c, err, sizeof(err)), 0);
	q = config_uid_quota(&c, 1000);
	CU_ASSERT_EQUAL(q->bytes, 64ULL << 30);
	CU_ASSERT_EQUAL(q->extents, 100);
	q = config_uid_quota(&c, 1001);
	CU_ASSERT_EQUAL(q->bytes, 1ULL << 30);
	CU_ASSERT_EQUAL(q->extents, 3);
	q = config_uid_quota(&c, 1002);
	CU_ASSERT_EQUAL(q->bytes, 1ULL << 30);
	CU_ASSERT_EQUAL(q->extents, 100);
	CU_ASSERT_EQUAL(c.uids[0].set, CONFIG_QUOTA_BYTES);
	CU_ASSERT_EQUAL(c.uids[1].set, CONFIG_QUOTA_EXTENTS);
	CU_ASSERT_EQUAL(c.uids[2].set, 0);
	config_free(&c);
}

/* test_many -- hundreds of sections in scrambled order, all found */
static void test_many(void)
{
	enum { N = 600 };
	size_t cap = (size_t)N * 64 + 64, len = 0;
	char *text = malloc(cap), err[256];
	const struct config_quota *q;
	struct config c;
	unsigned int i, id;

	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	for (i = 0; i < N; i++) {
		id = (i * 7919u) % N * 3; /* a permutation of 0, 3, ... */
		len += (size_t)snprintf(text + len, cap - len,
					"[quota.uid.%u]\nbytes = %uM\n"
					"[quota.gid.%u]\nextents = %u\n",
					id, id + 1, id, id + 1);
	}
	CU_ASSERT_EQUAL_FATAL(load(text, &c, err, sizeof(err)), 0);
	free(text);
	CU_ASSERT_EQUAL(c.nuids, N);
	CU_ASSERT_EQUAL(c.ngids, N);
	for (i = 1; i < c.nuids; i++)
		CU_ASSERT(c.uids[i - 1].id < c.uids[i].id);
	for (id = 0; id < 3 * N; id++) {
		q = config_uid_quota(&c, id);
		if (id % 3) {
			CU_ASSERT_PTR_EQUAL(q, &c.default_uid);
			CU_ASSERT_PTR_NULL(config_gid_quota(&c, id));
			continue;
		}
		CU_ASSERT_EQUAL(q->bytes, (uint64_t)(id + 1) << 20);
		q = config_gid_quota(&c, id);
		CU_ASSERT_PTR_NOT_NULL_FATAL(q);
		CU_ASSERT_EQUAL(q->extents, id + 1);
	}
	config_free(&c);
}

/* test_keys -- names and reloadability as docs/configuration.md says */
static void test_keys(void)
{
	static const bool reload[CONFIG_KEY_COUNT] = {
		[CONFIG_ADMIN_GROUP] = true,
		[CONFIG_LOG_LEVEL] = true,
		[CONFIG_HELLO_TIMEOUT] = true,
		[CONFIG_MAX_NAME_LENGTH] = true,
		[CONFIG_CONNECTIONS_PER_PROCESS] = true,
		[CONFIG_LEASE_BREAK_TIME] = true,
		[CONFIG_MAX_PINS_PER_PROCESS] = true,
		[CONFIG_DEFAULT_UID_BYTES] = true,
		[CONFIG_DEFAULT_UID_EXTENTS] = true,
	};
	unsigned int k;

	for (k = 0; k < CONFIG_KEY_COUNT; k++) {
		CU_ASSERT_PTR_NOT_NULL(config_key_name(k));
		CU_ASSERT_EQUAL(config_key_reloadable(k), reload[k]);
	}
	CU_ASSERT_STRING_EQUAL(config_key_name(CONFIG_DEVICE), "device");
	CU_ASSERT_STRING_EQUAL(config_key_name(CONFIG_CONTROL_SOCKET),
			       "control_socket");
	CU_ASSERT_STRING_EQUAL(config_key_name(CONFIG_KEY_COUNT), "?");
	CU_ASSERT_FALSE(config_key_reloadable(CONFIG_KEY_COUNT));
}

/*
 * test_example -- systemd/daxallocd.conf: harmless as shipped, and its
 * commented-out settings are exactly the defaults
 *
 * The example writes each default as ";key = value" (uncomment to change)
 * and everything without a default as "#key = example".  Uncommenting every
 * ';' line must give the built-in defaults, so the file and the code cannot
 * drift apart.
 */
static void test_example(void)
{
	FILE *in = fopen(DAXALLOC_EXAMPLE_CONF, "r");
	const char *path;
	struct config c, d;
	char line[512], err[512];
	FILE *out;

	CU_ASSERT_PTR_NOT_NULL_FATAL(in);
	CU_ASSERT_EQUAL(
		config_load(DAXALLOC_EXAMPLE_CONF, true, &c, err, sizeof(err)),
		0);
	CU_ASSERT(is_defaults(&c));
	config_free(&c);

	path = test_path("uncommented.conf");
	out = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	while (fgets(line, sizeof(line), in))
		fputs(line[0] == ';' ? line + 1 : line, out);
	fclose(in);
	fclose(out);

	CU_ASSERT_EQUAL_FATAL(config_load(path, true, &c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.set, ALL_KEYS & ~(CONFIG_SET(CONFIG_DEVICE) |
					    CONFIG_SET(CONFIG_SIZE) |
					    CONFIG_SET(CONFIG_ADMIN_GROUP)));
	CU_ASSERT_STRING_EQUAL(c.socket_path, DAXALLOC_DEFAULT_SOCKET);
	CU_ASSERT_STRING_EQUAL(c.control_path, DAXALLOC_DEFAULT_CONTROL_SOCKET);
	/* Apart from the socket strings and the set bits: the defaults. */
	config_defaults(&d);
	d.socket_path = c.socket_path;
	d.control_path = c.control_path;
	d.set = c.set;
	CU_ASSERT(same_config(&c, &d));
	config_free(&c);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "full file", test_full },
		{ "absent file", test_absent },
		{ "empty file", test_empty },
		{ "defaults", test_defaults },
		{ "syntax", test_syntax },
		{ "sizes", test_sizes },
		{ "errors with lines", test_errors },
		{ "long line", test_long_line },
		{ "read error", test_read_error },
		{ "names resolve", test_names },
		{ "uid defaults", test_uid_defaults },
		{ "many sections", test_many },
		{ "keys", test_keys },
		{ "example file", test_example },
		{ NULL, NULL },
	};

	return unit_main("config", test_init, test_fini, NULL, NULL, tests);
}
