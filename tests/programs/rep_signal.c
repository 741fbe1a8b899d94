/* Deliver SIGUSR1 to itself N times through a handler: each delivery ends in rt_sigreturn,
 * whose exit the kernel reports with the syscall number restored to -1.
 * Usage: rep_signal [N] */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

static volatile sig_atomic_t seen;

static void on_usr1(int sig)
{
	(void)sig;
	seen++;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 5;
	struct sigaction sa = {0};
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	for (int i = 0; i < n; i++)
		kill(getpid(), SIGUSR1);
	return seen == n ? 0 : 1;
}
