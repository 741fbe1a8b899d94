/* leaf() N times (forever for a negative N), USEC microseconds apart: another process running
 * the same program while one is recorded (tests/recording/test_probe_buffer.py). */
#include <stdlib.h>
#include <unistd.h>

__attribute__((noinline)) int leaf(int x) {
    __asm__ volatile("");
    return x + 1;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 10;
    long usec = argc > 2 ? atol(argv[2]) : 0;
    int sum = 0;
    for (long i = 0; n < 0 || i < n; i++) {
        sum = leaf(sum);
        if (usec)
            usleep(usec);
    }
    return sum == -1;
}
