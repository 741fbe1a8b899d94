/* A program with every kind of data ELF places apart: code, initialised data, .bss and
 * thread-local storage (.tdata and .tbss), so its segments and sections show each one. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int initialised = 42;            /* .data */
static char zeroed[16384];       /* .bss */
__thread int tls_counter = 3;    /* .tdata */
__thread char tls_buffer[256];   /* .tbss */

int work(int n)
{
	tls_buffer[n & 255] = (char)n;
	return initialised + zeroed[n & 16383] + tls_counter + tls_buffer[1];
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "crash") == 0)
		raise(SIGSEGV);
	if (argc > 1 && strcmp(argv[1], "wait") == 0) {
		printf("ready\n");
		fflush(stdout);
		pause();
	}
	return work(argc) == 0;
}
