// SPDX-License-Identifier: Apache-2.0
/*
 * faults.c -- page faults of touching a whole extent (run in the guest)
 *
 *   faults SIZE_MIB [PAGE_MIB]
 *
 * Allocates an anonymous extent of SIZE_MIB MiB through libdaxalloc,
 * writes every byte of its mapping and counts the minor page faults that
 * took (getrusage).  On devdax the kernel maps the extent with pages of
 * the namespace's alignment (PAGE_MIB, default 2): about one fault per
 * page, not one per 4 KiB.  Prints the figures; exit 1 when the count is
 * more than twice length / PAGE_MIB plus a few, 2 on an error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <daxalloc.h>

int main(int argc, char **argv)
{
	struct daxalloc_extent *ext;
	struct rusage before, after;
	unsigned long long mib, page = 2, len, faults, want, want4k;
	struct daxalloc *dx;
	int r;

	if (argc == 3)
		page = strtoull(argv[2], NULL, 0);
	if (argc < 2 || argc > 3 || !(mib = strtoull(argv[1], NULL, 0)) || !page) {
		fprintf(stderr, "usage: faults SIZE_MIB [PAGE_MIB]\n");
		return 2;
	}
	r = daxalloc_connect(NULL, &dx);
	if (r == 0)
		r = daxalloc_alloc(dx, NULL, mib << 20, 0, 0600, 0, &ext);
	if (r < 0) {
		fprintf(stderr, "faults: %s: %s\n", daxalloc_strerror(r),
			daxalloc_errmsg());
		return 2;
	}
	len = daxalloc_extent_length(ext);
	getrusage(RUSAGE_SELF, &before);
	memset(daxalloc_extent_addr(ext), 0x5a, len);
	getrusage(RUSAGE_SELF, &after);
	faults = (unsigned long long)(after.ru_minflt - before.ru_minflt);
	want = (len >> 20) / page;
	want4k = len >> 12;
	printf("faults: touched %llu MiB at %p: %llu minor faults; %llu MiB pages need %llu, 4 KiB pages %llu\n",
	       len >> 20, daxalloc_extent_addr(ext), faults, page, want, want4k);
	daxalloc_delete(ext);
	daxalloc_disconnect(dx);
	return faults <= 2 * want + 16 ? 0 : 1;
}
