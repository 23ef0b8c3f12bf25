/* SPDX-License-Identifier: Apache-2.0 */
/*
 * progress.h -- a one-line progress display for daxallocctl's long work
 */
#ifndef DAXALLOCCTL_PROGRESS_H
#define DAXALLOCCTL_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

#include "meta.h"

struct progress {
	struct meta_progress hook;
	bool on; /* a person is watching: draw */
	const char *what; /* the piece of work drawn last */
	uint64_t last_ms; /* when the line was drawn last */
	int width; /* characters drawn, to blank on the next draw */
};

void progress_init(struct progress *pr, bool json);
const struct meta_progress *progress_hook(struct progress *pr);
void progress_end(struct progress *pr);

#endif /* DAXALLOCCTL_PROGRESS_H */
