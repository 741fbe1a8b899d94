/* The shape of a vmlinux, in miniature: an entry stub that calls start_kernel, linked at a
 * kernel-style high address (see tests/elf/test_elf_kimage.py). It is never run. */

int boot_cpu_id;
char init_stack[16384];

void start_kernel(void)
{
	for (;;)
		boot_cpu_id++;
}

void startup_64(void)
{
	start_kernel();
}
