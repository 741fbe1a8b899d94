/* Map N one-page areas with a PROT_NONE page between each two (so each is a VMA of its own,
 * half of them touched), and FILE when given, then say "ready" and wait on stdin.
 * Usage: many_maps N [FILE] */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000;
	long page = sysconf(_SC_PAGESIZE);
	char *base = mmap(NULL, page * 2 * n, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return 1;
	for (long i = 0; i < n; i++) {
		char *p = mmap(base + 2 * i * page, page, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (p == MAP_FAILED)
			return 1;
		if (i % 2)
			p[0] = 1;
	}
	if (argc > 2) {
		int fd = open(argv[2], O_RDONLY);
		if (fd < 0 || mmap(NULL, page, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED)
			return 1;
	}
	puts("ready");
	fflush(stdout);
	char c;
	return read(0, &c, 1) < 0;
}
