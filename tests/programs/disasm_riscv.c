/* A RISC-V program for kernlab's disassembler tests: system calls with the number in a7 (ecall)
 * and a loop whose branches capstone reports relative to the instruction. No C library. */
static long raw_syscall3(long nr, long a, long b, long c)
{
	register long a7 __asm__("a7") = nr;
	register long a0 __asm__("a0") = a;
	register long a1 __asm__("a1") = b;
	register long a2 __asm__("a2") = c;
	__asm__ volatile("ecall" : "+r"(a0) : "r"(a7), "r"(a1), "r"(a2) : "memory");
	return a0;
}

long rv_write(int fd, const void *buf, unsigned long n) { return raw_syscall3(64, fd, (long)buf, n); }

long rv_getpid(void) { return raw_syscall3(172, 0, 0, 0); }

int rv_loop(const int *v, int n)
{
	int s = 0;
	for (int i = 0; i < n; i++)
		s += v[i] * (i + 1);
	return s;
}

void _start(void)
{
	int data[3] = {1, 2, 3};
	rv_write(1, "x\n", 2);
	raw_syscall3(93, rv_loop(data, 3) + rv_getpid(), 0, 0);
	for (;;)
		;
}
