/* open(NULL): the system call fails with EFAULT after the kernel faulted on address 0 — the
 * program's own kernel-mode fault. Under record --functions, the probe on libc's open fetches
 * the path string too and faults on address 0 first: kernlab's fault, not the program's. */
#include <fcntl.h>
#include <stdio.h>

int main(void)
{
	const char *volatile path = NULL;
	int fd = open(path, O_RDONLY);
	printf("%d\n", fd);
	return 0;
}
