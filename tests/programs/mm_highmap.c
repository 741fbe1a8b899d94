/* Ask for one page at a hint above 2^47 and print the address the kernel chose.
 * Under 5-level paging (x86_64) the kernel honours the hint; under 4-level it cannot. */
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void)
{
	long page = sysconf(_SC_PAGESIZE);
	void *p = mmap((void *)(1UL << 52), page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	printf("%p\n", p);
	return 0;
}
