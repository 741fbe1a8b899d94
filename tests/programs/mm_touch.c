/* Map N pages, touch some of them, print where, then wait on stdin so a test can look.
 *
 *   mm_touch N MODE     MODE: "half" touches the first half, "odd" every other page
 *                       (pages 0, 2, 4 ...), "none" nothing, "thp" maps 4 MiB aligned to
 *                       2 MiB, asks for transparent huge pages and touches all of it,
 *                       "read" reads every page (mapping the shared zero page), "pageout"
 *                       writes every page and then asks the kernel to reclaim the first
 *                       half (MADV_PAGEOUT: swapped out when there is swap).
 * Prints "pid=<pid> buf=<hex address> pages=<n> page=<page size>" and a line per pattern.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long page = sysconf(_SC_PAGESIZE);
	long n = argc > 1 ? atol(argv[1]) : 64;
	const char *mode = argc > 2 ? argv[2] : "half";
	size_t len = (size_t)n * page;
	char *buf;

	if (strcmp(mode, "thp") == 0) {
		size_t huge = 2UL << 20;
		/* Over-allocate so a 2 MiB-aligned block of len bytes fits inside. */
		char *raw = mmap(NULL, len + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (raw == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
		buf = (char *)(((uintptr_t)raw + huge - 1) & ~(huge - 1));
		if (madvise(buf, len, MADV_HUGEPAGE) != 0)
			perror("madvise");
		memset(buf, 1, len);
	} else {
		buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (buf == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
		if (strcmp(mode, "read") == 0) {
			volatile char sum = 0;
			/* Small pages only: a huge zero page would hide the per-page picture. */
			madvise(buf, len, MADV_NOHUGEPAGE);
			for (long i = 0; i < n; i++)
				sum += buf[i * page];
			(void)sum;
		}
		if (strcmp(mode, "pageout") == 0) {
			memset(buf, 7, len);
#ifdef MADV_PAGEOUT
			if (madvise(buf, len / 2, MADV_PAGEOUT) != 0)
				perror("madvise(MADV_PAGEOUT)");
#endif
		}
		for (long i = 0; i < n; i++) {
			int touch = strcmp(mode, "half") == 0 ? i < n / 2 : strcmp(mode, "odd") == 0 ? i % 2 == 0 : 0;
			if (touch)
				buf[i * page] = (char)(i + 1);
		}
	}
	printf("pid=%d buf=%p pages=%ld page=%ld\n", getpid(), (void *)buf, n, page);
	fflush(stdout);
	getchar();
	return 0;
}
