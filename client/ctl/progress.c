// SPDX-License-Identifier: Apache-2.0
/*
 * progress.c -- a one-line progress display for daxallocctl's long work
 *
 * Formatting a large namespace and checking a large pool take seconds to
 * minutes; a person at a terminal should see that something moves.  The
 * line goes to stderr and is redrawn in place with \r, so it never mixes
 * with what stdout carries.  It is drawn only when both stdout and stderr
 * are terminals and the output is not JSON: a script, a pipe or a log
 * file gets no control characters.  When it is off the pool code gets no
 * hook at all and runs exactly as in the daemon.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "progress.h"

/* Redraws per second at most: more is flicker, not information. */
#define PROGRESS_INTERVAL_MS 100

/* progress_now_ms -- a monotonic clock in milliseconds */
static uint64_t progress_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* progress_draw -- one report from the pool code: redraw if it is time */
static void progress_draw(void *arg, const char *what,
			  enum meta_progress_unit unit, uint64_t done,
			  uint64_t total)
{
	struct progress *pr = arg;
	uint64_t now = progress_now_ms();
	char line[160], a[32], b[32];
	unsigned int pct;
	int n;

	/* Nothing to do is nothing to show (a new pool has no records). */
	if (!total)
		return;
	/* A new piece and the end of one are always shown. */
	if (pr->what && !strcmp(what, pr->what) && done != total &&
	    now - pr->last_ms < PROGRESS_INTERVAL_MS)
		return;
	pr->what = what;
	pr->last_ms = now;
	pct = (unsigned int)((double)done * 100 / (double)total);
	if (unit == META_PROGRESS_BYTES) {
		ctl_format_size(done, a, sizeof(a));
		ctl_format_size(total, b, sizeof(b));
		n = snprintf(line, sizeof(line), "%s: %3u%% (%s of %s)", what,
			     pct, a, b);
	} else {
		n = snprintf(line, sizeof(line),
			     "%s: %3u%% (%llu of %llu records)", what, pct,
			     (unsigned long long)done,
			     (unsigned long long)total);
	}
	if (n < 0)
		return;
	if (n >= (int)sizeof(line))
		n = (int)sizeof(line) - 1;
	/* Blank what a longer line before left behind. */
	fprintf(stderr, "\r%s%*s", line, pr->width > n ? pr->width - n : 0, "");
	fflush(stderr);
	pr->width = n;
}

/*
 * progress_init -- decide whether to draw
 *
 * json: the command prints JSON, which is for programs: no display.
 */
void progress_init(struct progress *pr, bool json)
{
	memset(pr, 0, sizeof(*pr));
	pr->on = !json && isatty(STDOUT_FILENO) && isatty(STDERR_FILENO);
	pr->hook.fn = progress_draw;
	pr->hook.arg = pr;
}

/* progress_hook -- what to hand the pool code: NULL when not drawing */
const struct meta_progress *progress_hook(struct progress *pr)
{
	return pr->on ? &pr->hook : NULL;
}

/* progress_end -- erase the line, so that what follows starts clean */
void progress_end(struct progress *pr)
{
	if (!pr->on || !pr->width)
		return;
	fprintf(stderr, "\r%*s\r", pr->width, "");
	fflush(stderr);
	pr->width = 0;
	pr->what = NULL;
}
