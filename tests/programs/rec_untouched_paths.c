/* Path strings on pages the program never touched: the names live in a file mapped read-only
 * and never read by the program, one name per 128 KiB (beyond the kernel's 64 KiB fault-around,
 * so each name's page is faulted in by the system call's own copy of it, and by nothing else).
 * Names sit at a page's start, in its middle, across a page end (also with only the NUL on the
 * next page), and ending on the last byte of a page. One call fails before the kernel copies
 * its name (readlinkat with a size of 0: EINVAL); one execve fails (ENOENT) and the last
 * succeeds (/bin/true), both named from the mapping. The file is written name by name (sparse), so the program's own memory stays small.
 * Usage: rec_untouched_paths DIR (the names are relative to DIR). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SPAN (128 * 1024)
#define SLOTS 11

/* Where each name goes: slot i's offset within its span. */
static long place(int slot, const char *name)
{
	long page = sysconf(_SC_PAGESIZE);
	long within;
	switch (slot % 4) {
	case 0:
		within = 0; /* a page's start */
		break;
	case 1:
		within = page / 2 + 3; /* the middle, unaligned */
		break;
	case 2:
		/* across a page end; slot 6: the NUL alone on the next page */
		within = slot == 6 ? page - (long)strlen(name) : page - 5;
		break;
	default:
		within = 2 * page - (long)strlen(name) - 1; /* the NUL on a page's last byte */
		break;
	}
	return (long)slot * SPAN + within;
}

int main(int argc, char **argv)
{
	static const char *names[SLOTS] = {
		"created-0.txt",    "missing/one",          "crossing-name.txt", "ends-at-page-end.txt",
		"created-4.txt",    "missing/five",         "crossing-six.txt",  "ends-seven.txt",
		"/nonexistent/exe", "/bin/true",            "never-read-link",
	};
	long at[SLOTS];
	if (argc < 2 || chdir(argv[1]) != 0)
		return 2;
	int fd = open("names.bin", O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)SLOTS * SPAN) != 0)
		return 3;
	for (int i = 0; i < SLOTS; i++) {
		at[i] = place(i, names[i]);
		ssize_t n = (ssize_t)strlen(names[i]) + 1;
		if (pwrite(fd, names[i], (size_t)n, at[i]) != n)
			return 3;
	}
	const char *map = mmap(NULL, (size_t)SLOTS * SPAN, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		return 4;
	close(fd);
	for (int i = 0; i < 8; i++) {
		int flags = i % 4 == 0 ? O_WRONLY | O_CREAT | O_TRUNC : O_RDONLY;
		int f = openat(AT_FDCWD, map + at[i], flags, 0644);
		if (f >= 0)
			close(f);
	}
	char buf[16];
	/* EINVAL before the kernel reads the name: its page stays untouched */
	syscall(SYS_readlinkat, AT_FDCWD, map + at[10], buf, 0);
	char *args[] = {"true", NULL};
	char *no_env[] = {NULL}; /* one page of arguments for the new stack */
	execve(map + at[8], args, no_env);
	execve(map + at[9], args, no_env);
	return 5;
}
