/* Call shapes for `kernlab replay` against `uftrace replay` (tests/reports/test_replay.py):
 * nested calls, recursion, a loop, a libc call, two threads, a call through a function pointer.
 * Built without -pg for kernlab (uprobes) and with -pg for uftrace; -O0 so nothing is inlined. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static int leaf(int x) { return x + 1; }

int middle(int x) { return leaf(x) * 2; }

int outer(int x) { return middle(x) + middle(x + 1); }

int fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

int (*through_pointer)(int) = middle;

void *worker(void *arg) {
    long sum = 0;
    for (int i = 0; i < 3; i++)
        sum += through_pointer(i);
    return (void *)sum;
}

int looped(int n) {
    int sum = 0;
    for (int i = 0; i < n; i++)
        sum += leaf(i);
    return sum;
}

int main(int argc, char **argv) {
    int loops = argc > 1 ? atoi(argv[1]) : 4;
    pthread_t thread;
    if (pthread_create(&thread, NULL, worker, NULL) != 0)
        return 1;
    pthread_join(thread, NULL);
    int total = outer(1) + fib(4) + looped(loops);
    printf("total=%d\n", total);
    fflush(stdout); /* the write(2) happens inside main, even into a pipe */
    return 0;
}
