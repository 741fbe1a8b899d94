/* Print addresses inside this program's .text, .data and .bss, then wait on stdin.
 * A test looks them up with kernlab vtop and checks the names against nm and readelf. */
#include <stdio.h>
#include <unistd.h>

int mm_data_table[1024] = {1, 2, 3};    /* .data: initialised */
char mm_bss_buffer[64 * 1024];          /* .bss: zero-initialised, 16 pages */

__attribute__((noinline)) int mm_marker_function(int x)
{
	return x * 3 + mm_data_table[x & 7];
}

int main(void)
{
	mm_bss_buffer[0] = 1;
	printf("pid=%d\n", (int)getpid());
	printf("text=%p\n", (void *)((char *)mm_marker_function + 5));
	printf("data=%p\n", (void *)&mm_data_table[100]);
	printf("bss=%p\n", (void *)&mm_bss_buffer[40000]);
	printf("result=%d\n", mm_marker_function(2));
	fflush(stdout);
	getchar();
	return 0;
}
