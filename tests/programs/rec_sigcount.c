/* Count SIGINTs: after the first one, wait half a second for more, print the count, exit 0.
 * Prints "ready" once the handler is installed. */
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t count;

static void on_sigint(int sig)
{
	(void)sig;
	count++;
}

int main(void)
{
	struct sigaction sa = {0};
	sa.sa_handler = on_sigint;
	sigaction(SIGINT, &sa, NULL);
	printf("ready\n");
	fflush(stdout);
	for (int i = 0; i < 3000 && count == 0; i++)
		usleep(10000);
	struct timespec half = {0, 500000000};
	while (nanosleep(&half, &half) != 0)
		;
	printf("sigint=%d\n", (int)count);
	return 0;
}
