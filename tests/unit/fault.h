/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fault.h -- memory allocation failures on demand, for the unit tests
 *
 * A program that links fault.c with
 *   -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc
 * (daxalloc_fault() in CMakeLists.txt) has every malloc, calloc and
 * realloc of the daemon's code and of its own routed through fault.c,
 * with no hook in the daemon: the shared libraries (libc, libev,
 * protobuf-c, CUnit) keep their own allocator.  A test arms the n-th call
 * of the kinds it names to fail, as PMDK's tests fail the n-th malloc of
 * a function, runs the operation, and checks that the operation failed
 * cleanly or succeeded without that call.
 */
#ifndef DAXALLOC_TESTS_FAULT_H
#define DAXALLOC_TESTS_FAULT_H

#include <stdbool.h>

/* Which allocation functions an armed fault counts. */
enum fault_fn {
	FAULT_MALLOC = 1 << 0,
	FAULT_CALLOC = 1 << 1,
	FAULT_REALLOC = 1 << 2,
	FAULT_ANY = FAULT_MALLOC | FAULT_CALLOC | FAULT_REALLOC,
};

/*
 * fault_arm -- let n calls of the kinds in fns succeed, fail the next one
 *
 * Only that one call fails; the ones after it succeed again.
 */
void fault_arm(unsigned int fns, unsigned long n);

/* fault_disarm -- no failure pending any more */
void fault_disarm(void);

/* fault_fired -- did the armed failure happen since fault_arm()? */
bool fault_fired(void);

/* fault_calls -- calls of the armed kinds seen since fault_arm() */
unsigned long fault_calls(void);

#endif /* DAXALLOC_TESTS_FAULT_H */
