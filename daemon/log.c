// SPDX-License-Identifier: Apache-2.0
/*
 * log.c -- leveled logging to stderr, journal-aware
 *
 * Under systemd, stderr is a stream to the journal and JOURNAL_STREAM names
 * it; there each line starts with the syslog priority as "<N>", which the
 * journal turns into the entry's priority.  Elsewhere lines carry a time
 * stamp and a level word for people reading a terminal.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "log.h"

static int log_max = LOG_INFO;
static int log_journal;

static const char *const log_names[] = {
	[LOG_EMERG] = "emerg",	 [LOG_ALERT] = "alert", [LOG_CRIT] = "crit",
	[LOG_ERR] = "error",	 [LOG_WARNING] = "warning",
	[LOG_NOTICE] = "notice", [LOG_INFO] = "info",	[LOG_DEBUG] = "debug",
};

/*
 * log_stderr_is_journal -- does JOURNAL_STREAM name our stderr?
 *
 * Comparing device and inode, as sd-journal documents, rather than trusting
 * the variable alone: a child of a service inherits it with another stderr.
 */
static int log_stderr_is_journal(void)
{
	const char *v = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!v || sscanf(v, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(2, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

/* log_init -- choose the output format and the most verbose level shown */
void log_init(int max_level)
{
	log_journal = log_stderr_is_journal();
	log_set_level(max_level);
}

/* log_set_level -- show messages up to and including max_level */
void log_set_level(int max_level)
{
	if (max_level < LOG_EMERG)
		max_level = LOG_EMERG;
	if (max_level > LOG_DEBUG)
		max_level = LOG_DEBUG;
	log_max = max_level;
}

/* log_level_parse -- "error", "warning", ... or a number; -1 if neither */
int log_level_parse(const char *name)
{
	unsigned int i;
	char *end;
	long n;

	for (i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++)
		if (!strcasecmp(name, log_names[i]))
			return (int)i;
	n = strtol(name, &end, 10);
	if (*name && !*end && n >= LOG_EMERG && n <= LOG_DEBUG)
		return (int)n;
	return -1;
}

/* log_msg -- write one line at the given syslog level */
void log_msg(int level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (level > log_max)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);

	if (log_journal) {
		fprintf(stderr, "<%d>%s\n", level, line);
	} else {
		struct timespec ts;
		struct tm tm;
		char stamp[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ld daxallocd %s: %s\n", stamp,
			ts.tv_nsec / 1000000, log_names[level], line);
	}
}
