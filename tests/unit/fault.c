// SPDX-License-Identifier: Apache-2.0
/*
 * fault.c -- memory allocation failures on demand, for the unit tests
 *
 * See fault.h.  The tests are single-threaded where they arm a fault, so
 * the state is plain globals.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include "fault.h"

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);

static unsigned int fault_fns; /* 0: disarmed */
static unsigned long fault_left; /* calls to let through first */
static unsigned long fault_seen;
static bool fault_done;

/* fault_arm -- fail the call after the next n of the kinds in fns */
void fault_arm(unsigned int fns, unsigned long n)
{
	fault_fns = fns;
	fault_left = n;
	fault_seen = 0;
	fault_done = false;
}

/* fault_disarm -- no failure pending */
void fault_disarm(void)
{
	fault_fns = 0;
}

/* fault_fired -- did the armed call fail? */
bool fault_fired(void)
{
	return fault_done;
}

/* fault_calls -- calls of the armed kinds since fault_arm() */
unsigned long fault_calls(void)
{
	return fault_seen;
}

/* fault_now -- should this call of kind fn fail? */
static bool fault_now(unsigned int fn)
{
	if (!(fault_fns & fn))
		return false;
	fault_seen++;
	if (fault_left) {
		fault_left--;
		return false;
	}
	fault_fns = 0;
	fault_done = true;
	errno = ENOMEM;
	return true;
}

/* __wrap_malloc -- malloc, unless this is the armed call */
void *__wrap_malloc(size_t size)
{
	return fault_now(FAULT_MALLOC) ? NULL : __real_malloc(size);
}

/* __wrap_calloc -- calloc, unless this is the armed call */
void *__wrap_calloc(size_t n, size_t size)
{
	return fault_now(FAULT_CALLOC) ? NULL : __real_calloc(n, size);
}

/* __wrap_realloc -- realloc, unless this is the armed call (p stays) */
void *__wrap_realloc(void *p, size_t size)
{
	return fault_now(FAULT_REALLOC) ? NULL : __real_realloc(p, size);
}
