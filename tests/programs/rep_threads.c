/* Three threads make system calls (some failing), then a non-leader thread execs /bin/true:
 * exercises per-thread pairing, clone3/clone children and execve from a thread (de_thread).
 * Usage: rep_threads [exec] */
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

static int do_exec;

static void *worker(void *arg)
{
	long n = (long)arg;
	for (long i = 0; i < 50 + n; i++) {
		getppid();
		close(1000 + (int)i); /* EBADF */
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			write(fd, "x", 1);
			close(fd);
		}
	}
	return NULL;
}

static void *execer(void *arg)
{
	(void)arg;
	usleep(1000);
	char *argv[] = {"true", NULL};
	char *envp[] = {NULL};
	execve("/bin/true", argv, envp);
	return NULL;
}

int main(int argc, char **argv)
{
	do_exec = argc > 1 && strcmp(argv[1], "exec") == 0;
	pthread_t t[3];
	for (long i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	/* Let the workers finish first, so pthread_join never has to wait in futex(): the
	 * system calls are then the same under any tracer. */
	usleep(300000);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	if (do_exec) {
		pthread_t e;
		pthread_create(&e, NULL, execer, NULL);
		pthread_join(e, NULL); /* never returns: the exec replaces the process */
	}
	return 0;
}
