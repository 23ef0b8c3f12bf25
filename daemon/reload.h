/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reload.h -- re-reading the configuration file on SIGHUP
 */
#ifndef DAXALLOCD_RELOAD_H
#define DAXALLOCD_RELOAD_H

struct server;

int reload_config(struct server *s);
void reload_fini(struct server *s);

#endif /* DAXALLOCD_RELOAD_H */
