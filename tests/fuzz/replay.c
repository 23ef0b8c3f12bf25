// SPDX-License-Identifier: Apache-2.0
/*
 * replay.c -- every fuzz target, without libFuzzer, on files
 *
 * The normal build (gcc, DAXALLOC_FUZZ off) links all targets into this
 * one program, each with its entry points renamed (fuzz.h), so that the
 * checked-in seed corpus and the regression inputs run through the same
 * code on every build, sanitizers included when the build has them.
 *
 *   fuzz_replay --all DIR         every file of DIR/corpus/<target> and
 *                                 DIR/regressions/<target>, for each target
 *   fuzz_replay TARGET FILE...    the given files (or folders) through one
 *
 * A broken invariant aborts (the file being replayed was printed just
 * before); otherwise the exit status is 0, or 2 for a usage error or a
 * target folder that is missing.
 */
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

int fuzz_client_init(int *argc, char ***argv);
int fuzz_client_input(const uint8_t *data, size_t size);
int fuzz_control_init(int *argc, char ***argv);
int fuzz_control_input(const uint8_t *data, size_t size);
int fuzz_envelope_init(int *argc, char ***argv);
int fuzz_envelope_input(const uint8_t *data, size_t size);
int fuzz_recovery_init(int *argc, char ***argv);
int fuzz_recovery_input(const uint8_t *data, size_t size);

int fuzz_replay_status = 1;

struct replay_target {
	const char *name;
	int (*init)(int *argc, char ***argv);
	int (*input)(const uint8_t *data, size_t size);
	bool ready;
};

static struct replay_target replay_targets[] = {
	{ "fuzz_envelope", fuzz_envelope_init, fuzz_envelope_input, false },
	{ "fuzz_client", fuzz_client_init, fuzz_client_input, false },
	{ "fuzz_control", fuzz_control_init, fuzz_control_input, false },
	{ "fuzz_recovery", fuzz_recovery_init, fuzz_recovery_input, false },
};
#define REPLAY_NTARGETS (sizeof(replay_targets) / sizeof(replay_targets[0]))

static int replay_argc;
static char **replay_argv;

/* replay_expect -- the status a file's name promises (fuzz.h) */
static int replay_expect(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	if (!strncmp(base, "ok-", 3))
		return 0;
	if (!strncmp(base, "ebadmsg-", 8))
		return -EBADMSG;
	if (!strncmp(base, "emsgsize-", 9))
		return -EMSGSIZE;
	return 1;
}

/* replay_file -- one file through one target; -errno if unreadable */
static int replay_file(struct replay_target *t, const char *path)
{
	uint8_t *data = NULL;
	size_t len = 0, cap = 0;
	FILE *f;
	int r = 0;

	f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -errno;
	}
	for (;;) {
		size_t n;

		if (len == cap) {
			uint8_t *p = realloc(data, cap ? 2 * cap : 4096);

			if (!p) {
				r = -ENOMEM;
				goto out;
			}
			data = p;
			cap = cap ? 2 * cap : 4096;
		}
		n = fread(data + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		r = -EIO;
		goto out;
	}
	if (!t->ready) {
		t->init(&replay_argc, &replay_argv);
		t->ready = true;
	}
	fprintf(stderr, "%s: %s (%zu bytes)\n", t->name, path, len);
	fuzz_replay_status = replay_expect(path);
	/* Exactly len bytes, so that ASan sees any read past the input. */
	t->input(len ? data : (const uint8_t *)"", len);
out:
	free(data);
	fclose(f);
	return r;
}

static int replay_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * replay_path -- a file, or every regular file of a folder in name order;
 * the number of files replayed or -errno
 */
static long replay_path(struct replay_target *t, const char *path)
{
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	struct stat st;
	long done = 0;
	DIR *d;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode))
		return replay_file(t, path) < 0 ? -EIO : 1;
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char full[4096];

		if (de->d_name[0] == '.')
			continue;
		snprintf(full, sizeof(full), "%s/%s", path, de->d_name);
		if (stat(full, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			char **p = realloc(names,
					   (cap ? 2 * cap : 64) * sizeof(*p));

			if (!p)
				break;
			names = p;
			cap = cap ? 2 * cap : 64;
		}
		names[n] = strdup(full);
		if (names[n])
			n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), replay_cmp);
	for (i = 0; i < n; i++) {
		if (replay_file(t, names[i]) < 0)
			done = -EIO;
		else if (done >= 0)
			done++;
		free(names[i]);
	}
	free(names);
	return done;
}

/* replay_find -- the target called name, or NULL */
static struct replay_target *replay_find(const char *name)
{
	size_t i;

	for (i = 0; i < REPLAY_NTARGETS; i++)
		if (!strcmp(replay_targets[i].name, name))
			return &replay_targets[i];
	return NULL;
}

int main(int argc, char **argv)
{
	struct replay_target *t;
	char dir[4096];
	long n, total = 0;
	size_t i;
	int k, status = 0;

	replay_argc = argc;
	replay_argv = argv;
	if (argc == 3 && !strcmp(argv[1], "--all")) {
		for (i = 0; i < REPLAY_NTARGETS; i++) {
			static const char *const kinds[] = { "corpus",
							     "regressions" };
			unsigned int j;

			for (j = 0; j < 2; j++) {
				snprintf(dir, sizeof(dir), "%s/%s/%s", argv[2],
					 kinds[j], replay_targets[i].name);
				/* A target may have no regressions yet. */
				if (j == 1 && access(dir, F_OK) < 0)
					continue;
				n = replay_path(&replay_targets[i], dir);
				if (n < 0)
					status = 2;
				else
					total += n;
				printf("%s: %ld inputs from %s\n",
				       replay_targets[i].name, n < 0 ? 0 : n,
				       dir);
			}
		}
		printf("%ld inputs replayed\n", total);
		return status;
	}
	if (argc < 3 || !(t = replay_find(argv[1]))) {
		fprintf(stderr,
			"usage: fuzz_replay --all DIR | fuzz_replay TARGET FILE...\n"
			"targets:");
		for (i = 0; i < REPLAY_NTARGETS; i++)
			fprintf(stderr, " %s", replay_targets[i].name);
		fputc('\n', stderr);
		return 2;
	}
	for (k = 2; k < argc; k++) {
		n = replay_path(t, argv[k]);
		if (n < 0)
			status = 2;
		else
			total += n;
	}
	printf("%ld inputs replayed\n", total);
	return status;
}
