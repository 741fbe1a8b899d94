/* Functions for kernlab's disassembler tests: PLT calls, a jump table, loops, a raw syscall. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

int table_value = 7;
static char scratch[64];

__attribute__((noinline)) int pick(int k)
{
	switch (k) { /* dense cases: a jump table through .rodata */
	case 0: return 11;
	case 1: return table_value;
	case 2: return 23;
	case 3: return 31;
	case 4: return 47;
	case 5: return 53;
	default: return -1;
	}
}

__attribute__((noinline)) long raw_getpid(void)
{
	long ret;
#if defined(__x86_64__)
	__asm__ volatile("syscall" : "=a"(ret) : "a"(SYS_getpid) : "rcx", "r11", "memory");
#elif defined(__i386__)
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(SYS_getpid) : "memory");
#else
	ret = syscall(SYS_getpid);
#endif
	return ret;
}

__attribute__((noinline)) size_t copy_name(const char *s)
{
	strncpy(scratch, s, sizeof scratch - 1);
	return strlen(scratch);
}

__attribute__((noinline)) double mix(double a, int b)
{
	return a * b + (double)table_value / 3.0;
}

int main(int argc, char **argv)
{
	long sum = 0;
	for (int i = 0; i < argc; i++)
		sum += pick(i) + (long)copy_name(argv[i]);
	printf("%ld %ld %f\n", sum, raw_getpid(), mix(1.5, argc));
	write(1, "done\n", 5);
	return (int)(sum & 1);
}
