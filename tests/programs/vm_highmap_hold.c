/* Map and touch one page at a hint above 2^47, print "PID ADDRESS", then wait to be read.
 * Under 5-level paging the kernel grants the hint (and vtop walks PGD → P4D → PUD → PMD → PTE);
 * under 4-level paging it cannot, and the page lands below 2^47. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void)
{
	long page = sysconf(_SC_PAGESIZE);
	char *p = mmap((void *)(1UL << 55), page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	memset(p, 0x5a, page);
	printf("%d %p\n", getpid(), (void *)p);
	fflush(stdout);
	sleep(600);
	return 0;
}
