/* System calls with many flag sets, for comparing kernlab's argument decoding with strace's:
 * mmap/mprotect protections and flags, openat flags and modes, renameat2, faccessat2, fcntl,
 * unlinkat, mkdirat, lseek. The directory to work in is argv[1]. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2 || chdir(argv[1]) != 0)
		return 2;
	void *a = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *b = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	void *c = mmap(NULL, 65536, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	void *d = mmap(NULL, 16384, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_GROWSDOWN, -1, 0);
	mprotect(a, 4096, PROT_READ);
	mprotect(c, 4096, PROT_NONE);
	int fd = openat(AT_FDCWD, "created.txt", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	int fd2 = openat(AT_FDCWD, ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK);
	int fd3 = openat(AT_FDCWD, "created.txt", O_RDWR | O_APPEND | O_SYNC);
	int fd4 = openat(AT_FDCWD, ".", O_WRONLY | O_TMPFILE, 0600);
	openat(AT_FDCWD, "missing/\"odd\"\tname\303\251", O_RDONLY);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	fcntl(fd, F_GETFL);
	fcntl(fd3, F_SETFL, O_NONBLOCK | O_APPEND);
	fcntl(fd, F_DUPFD_CLOEXEC, 10);
	lseek(fd, 0, SEEK_END);
	syscall(SYS_faccessat2, AT_FDCWD, "created.txt", R_OK | W_OK, AT_SYMLINK_NOFOLLOW);
	syscall(SYS_faccessat, AT_FDCWD, "created.txt", F_OK);
	mkdirat(AT_FDCWD, "sub", 0755);
	syscall(SYS_renameat2, AT_FDCWD, "created.txt", AT_FDCWD, "renamed.txt", RENAME_NOREPLACE);
	syscall(SYS_renameat2, AT_FDCWD, "renamed.txt", AT_FDCWD, "sub", RENAME_EXCHANGE);
	unlinkat(AT_FDCWD, "renamed.txt", 0);
	unlinkat(AT_FDCWD, "sub", AT_REMOVEDIR);
	unlinkat(AT_FDCWD, "renamed.txt", 0);
	unlinkat(AT_FDCWD, "sub", AT_REMOVEDIR);
	munmap(a, 8192);
	munmap(b, 4096);
	munmap(c, 65536);
	munmap(d, 16384);
	close(fd4);
	close(fd3);
	close(fd2);
	close(fd);
	return 0;
}
