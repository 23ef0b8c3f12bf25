/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.h -- leveled logging to stderr, journal-aware
 */
#ifndef DAXALLOCD_LOG_H
#define DAXALLOCD_LOG_H

#include <syslog.h>

void log_init(int max_level);
void log_set_level(int max_level);
int log_level_parse(const char *name);
void log_msg(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_crit(...) log_msg(LOG_CRIT, __VA_ARGS__)
#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif /* DAXALLOCD_LOG_H */
