/* Map a file and read one byte of each page, then wait on stdin (so the test can snapshot
 * /proc/PID/maps and its fault counters). With "random", MADV_RANDOM turns readahead off and
 * every page not in the page cache becomes its own major fault.
 * Usage: rep_filemap FILE [random] */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Where the sum goes so the reads are not optimised away (the exit status must not depend on
 * the file's bytes: a test's random file once summed to a chosen value). */
volatile long sink;

__attribute__((noinline)) long read_pages(const volatile char *area, long size, long page)
{
	long sum = 0;
	for (long off = 0; off < size; off += page)
		sum += area[off];
	return sum;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 1;
	int fd = open(argv[1], O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return 1;
	char *area = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (area == MAP_FAILED)
		return 1;
	if (argc > 2 && strcmp(argv[2], "random") == 0)
		madvise(area, st.st_size, MADV_RANDOM);
	long sum = read_pages(area, st.st_size, sysconf(_SC_PAGESIZE));
	char c;
	if (read(0, &c, 1) < 0)
		return 2;
	sink = sum;
	return 0;
}
