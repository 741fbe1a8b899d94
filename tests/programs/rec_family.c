/* A process with a family: THREADS threads and one forked child each touch MIB MiB of fresh
 * memory, so a recording must follow threads (clone) and children (fork) to see every fault.
 * Prints "child=<pid>" so the test knows the forked child. Usage: rec_family THREADS MIB */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static size_t len;

static void touch(void)
{
	long page = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		exit(1);
	madvise(p, len, MADV_NOHUGEPAGE);
	for (size_t off = 0; off < len; off += page)
		p[off] = 1;
	munmap(p, len);
}

static void *worker(void *arg)
{
	(void)arg;
	touch();
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 4;
	len = (size_t)(argc > 2 ? atoi(argv[2]) : 16) << 20;
	pthread_t tid[64];
	if (threads > 64)
		threads = 64;
	for (int i = 0; i < threads; i++)
		pthread_create(&tid[i], NULL, worker, NULL);
	for (int i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	pid_t child = fork();
	if (child == 0) {
		touch();
		_exit(0);
	}
	printf("child=%d\n", (int)child);
	fflush(stdout);
	int status;
	waitpid(child, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
