/* Builds a known address space, says "ready", then holds still until stdin closes.
 *
 * Used by tests/proc: a zero-filled .bss, heap from brk, an anonymous mmap and (optionally) a
 * file mmap, each partly touched, so kernlab's figures can be compared with ps, pmap and readelf
 * while nothing changes.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static char big_bss[8 << 20];

int main(int argc, char **argv)
{
	/* Touch 1 MiB of the 8 MiB .bss. */
	memset(big_bss, 1, 1 << 20);

	/* Many small allocations come from brk, i.e. [heap]. */
	for (int i = 0; i < 512; i++) {
		char *p = malloc(1024);
		if (!p)
			return 1;
		p[0] = (char)i;
	}

	/* 16 MiB anonymous mapping, 2 MiB touched. */
	char *anon = mmap(NULL, 16 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (anon == MAP_FAILED)
		return 1;
	memset(anon, 2, 2 << 20);

	if (argc > 1) {
		int fd = open(argv[1], O_RDONLY);
		if (fd < 0)
			return 1;
		volatile char *file = mmap(NULL, 1 << 16, PROT_READ, MAP_SHARED, fd, 0);
		if (file == MAP_FAILED)
			return 1;
		(void)file[0];
	}

	printf("ready %p %p\n", (void *)big_bss, (void *)anon);
	fflush(stdout);
	char buf[1];
	while (read(0, buf, 1) > 0)
		;
	return 0;
}
