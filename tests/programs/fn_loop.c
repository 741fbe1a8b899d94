/* A tight loop calling a leaf function N times (benchmarks/bench_functions.py), or, with a
 * negative N, forever until killed (tests/recording/test_record_functions.py). */
#include <stdlib.h>

__attribute__((noinline)) int leaf(int x) {
    __asm__ volatile("");
    return x + 1;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 200000;
    int sum = 0;
    for (long i = 0; n < 0 || i < n; i++)
        sum = leaf(sum);
    return sum == -1;
}
