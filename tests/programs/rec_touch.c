/* Touch N MiB of fresh anonymous memory one byte per page, then print this process's own
 * getrusage fault counters, so a test can compare them with the traced page faults.
 * Usage: rec_touch MIB
 * Transparent huge pages are refused for the area so that each 4 KiB page faults once. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 256;
	size_t len = mib << 20;
	long page = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	madvise(p, len, MADV_NOHUGEPAGE);
	for (size_t off = 0; off < len; off += page)
		p[off] = 1;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("minflt=%ld majflt=%ld pages=%zu\n", ru.ru_minflt, ru.ru_majflt, len / page);
	return 0;
}
