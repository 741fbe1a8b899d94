/* Address-space changes and the faults they make, each access reported with the
 * /proc/self/maps line that holds its address at that very moment (read just before it).
 * Usage:
 *   flt_timeline loop N       N times: mmap 9 anonymous pages, write each, munmap
 *   flt_timeline segv         write to 0x1000 (no VMA there): killed by SIGSEGV
 *   flt_timeline cow          write 4 private pages, fork; the child writes them again
 *   flt_timeline shared FILE  map FILE (4 pages) MAP_SHARED, read each page, then write it
 * Lines on stdout: "touch ADDR MAPSLINE" ("touch ADDR -" when no line holds ADDR). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static char maps[1 << 16];

/* The maps line holding addr, or "-" (read before the access: the area as it is then). */
static void report(const char *what, void *addr)
{
	unsigned long a = (unsigned long)addr, lo, hi;
	int fd = open("/proc/self/maps", O_RDONLY);
	ssize_t n = 0, got;
	while (fd >= 0 && (got = read(fd, maps + n, sizeof(maps) - 1 - n)) > 0)
		n += got;
	if (fd >= 0)
		close(fd);
	maps[n] = 0;
	for (char *line = strtok(maps, "\n"); line; line = strtok(NULL, "\n")) {
		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && lo <= a && a < hi) {
			printf("%s %#lx %s\n", what, a, line);
			fflush(stdout);
			return;
		}
	}
	printf("%s %#lx -\n", what, a);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	long page = sysconf(_SC_PAGESIZE);
	if (argc < 2)
		return 1;
	if (strcmp(argv[1], "loop") == 0) {
		int rounds = argc > 2 ? atoi(argv[2]) : 64;
		for (int i = 0; i < rounds; i++) {
			char *area = mmap(NULL, 9 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (area == MAP_FAILED)
				return 1;
			report("map", area);
			for (int p = 0; p < 9; p++)
				((volatile char *)area)[p * page] = 1;
			munmap(area, 9 * page);
		}
		return 0;
	}
	if (strcmp(argv[1], "segv") == 0) {
		report("touch", (void *)0x1000);
		*(volatile char *)0x1000 = 1;
		return 0;
	}
	if (strcmp(argv[1], "cow") == 0) {
		char *area = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		for (int p = 0; p < 4; p++)
			area[p * page] = 1;
		pid_t child = fork();
		if (child == 0) {
			report("cow", area);
			for (int p = 0; p < 4; p++)
				((volatile char *)area)[p * page] = 2;
			_exit(0);
		}
		int status;
		waitpid(child, &status, 0);
		return 0;
	}
	if (strcmp(argv[1], "shared") == 0 && argc > 2) {
		int fd = open(argv[2], O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || ftruncate(fd, 4 * page) < 0)
			return 1;
		char *area = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (area == MAP_FAILED)
			return 1;
		long sum = 0;
		for (int p = 0; p < 4; p++)
			sum += ((volatile char *)area)[p * page];
		report("shared", area);
		for (int p = 0; p < 4; p++)
			((volatile char *)area)[p * page] = 'x';
		munmap(area, 4 * page);
		close(fd);
		return (int)sum;
	}
	return 1;
}
