/* An AArch64 program for kernlab's disassembler tests: calls through the PLT into a shared
 * library and raw system calls (svc #0 with the number in x8), built without a C library. */
extern int helper_add(int, int);
extern int helper_puts(const char *);

static long raw_syscall3(long nr, long a, long b, long c)
{
	register long x8 __asm__("x8") = nr;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	__asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
	return x0;
}

int counter = 3;

long a64_write(int fd, const void *buf, unsigned long n) { return raw_syscall3(64, fd, (long)buf, n); }

long a64_getpid(void) { return raw_syscall3(172, 0, 0, 0); }

int a64_loop(const int *v, int n)
{
	int s = 0;
	for (int i = 0; i < n; i++)
		s += v[i] * (i + 1);
	return s;
}

int main(void)
{
	helper_puts("hello");
	a64_write(1, "hi\n", 3);
	return helper_add(counter, (int)a64_getpid());
}

void _start(void) { raw_syscall3(93, main(), 0, 0); }
