/* Touch addresses below the stack, each in a forked child, and say whether the kernel grew
 * the stack there or sent SIGSEGV.
 *
 * Prints "pid=<pid>" and then answers one line per command read from stdin:
 *   map ADDR r|none   mmap one page at ADDR (hex, MAP_FIXED_NOREPLACE), readable or PROT_NONE:
 *                     "mapped ADDR" or "error <errno>"
 *   touch ADDR        fork; the child writes one byte at ADDR (hex) with a raw store, far
 *                     below its stack pointer, then prints the start of its [stack] line of
 *                     /proc/self/maps: "grown START"; when the child dies of a signal the
 *                     parent prints "signal N"
 * The parent's own stack never moves, so every touch starts from the same layout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

static unsigned long stack_start(void)
{
	char line[512];
	unsigned long start = 0, end;
	FILE *maps = fopen("/proc/self/maps", "r");

	while (maps && fgets(line, sizeof line, maps))
		if (strstr(line, "[stack]") && sscanf(line, "%lx-%lx", &start, &end) == 2)
			break;
	if (maps)
		fclose(maps);
	return start;
}

int main(void)
{
	char cmd[64], arg[64];
	long page = sysconf(_SC_PAGESIZE);

	printf("pid=%d\n", getpid());
	fflush(stdout);
	while (scanf("%63s %63s", cmd, arg) == 2) {
		uintptr_t addr = strtoul(arg, NULL, 16);
		if (strcmp(cmd, "map") == 0) {
			char prot[16] = "r";
			if (scanf("%15s", prot) != 1)
				break;
			int p = strcmp(prot, "none") == 0 ? PROT_NONE : PROT_READ;
			void *got = mmap((void *)addr, page, p, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
			if (got == MAP_FAILED || (uintptr_t)got != addr)
				printf("error %d\n", errno);
			else
				printf("mapped %lx\n", (unsigned long)addr);
		} else if (strcmp(cmd, "touch") == 0) {
			fflush(stdout);
			pid_t child = fork();
			if (child == 0) {
				struct rlimit none = {0, 0};
				setrlimit(RLIMIT_CORE, &none); /* no core file for the expected SIGSEGV */
				*(volatile char *)addr = 1;
				printf("grown %lx\n", stack_start());
				fflush(stdout);
				_exit(0);
			}
			int status = 0;
			waitpid(child, &status, 0);
			if (WIFSIGNALED(status))
				printf("signal %d\n", WTERMSIG(status));
		}
		fflush(stdout);
	}
	return 0;
}
