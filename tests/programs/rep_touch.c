/* Touch N pages of a fresh anonymous mapping (first writes), then wait on stdin so the test can
 * snapshot /proc/PID/maps before exit. Usage: rep_touch PAGES */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

__attribute__((noinline)) void touch_pages(char *area, long pages, long page)
{
	for (long i = 0; i < pages; i++)
		area[i * page] = 1;
}

int main(int argc, char **argv)
{
	long pages = argc > 1 ? atol(argv[1]) : 256;
	long page = sysconf(_SC_PAGESIZE);
	char *area = mmap(NULL, pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		return 1;
	touch_pages(area, pages, page);
	char c;
	if (read(0, &c, 1) < 0)
		return 2;
	return 0;
}
