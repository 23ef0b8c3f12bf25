/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz.h -- what every fuzz target shares: libFuzzer's entry points
 *
 * Under libFuzzer (DAXALLOC_FUZZ=ON) each target is its own program and
 * these are the names libFuzzer calls.  In the replay build (the normal
 * build, CTest's fuzz_regressions) all targets live in one program,
 * replay.c's, and CMake renames each target's pair with -D to
 * <target>_input and <target>_init, so that the same source serves both.
 */
#ifndef DAXALLOC_TESTS_FUZZ_H
#define DAXALLOC_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifdef FUZZ_REPLAY
/*
 * The status the name of the file being replayed promises: 0, -EBADMSG or
 * -EMSGSIZE for names that start with ok-, ebadmsg- or emsgsize-; 1 for
 * any other name.  Targets that know what status they produce check it.
 */
extern int fuzz_replay_status;
#endif

/*
 * FUZZ_ASSERT -- an invariant of the code under test; abort if it fails
 *
 * abort() is what libFuzzer reports as a crash (with the input saved),
 * and what fails the replay test.  Only for properties of the daemon or
 * the decoder, never for the harness's own set-up, which says
 * fuzz_fatal().
 */
#define FUZZ_ASSERT(cond, ...)                                             \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr,                                    \
				"%s:%d: invariant broken: %s: ", __FILE__, \
				__LINE__, #cond);                          \
			fprintf(stderr, __VA_ARGS__);                      \
			fputc('\n', stderr);                               \
			abort();                                           \
		}                                                          \
	} while (0)

/* fuzz_fatal -- the harness itself cannot go on (not a finding) */
#define fuzz_fatal(...)                                        \
	do {                                                   \
		fprintf(stderr, "fuzz harness: " __VA_ARGS__); \
		fputc('\n', stderr);                           \
		exit(2);                                       \
	} while (0)

#endif /* DAXALLOC_TESTS_FUZZ_H */
