/* A program already running when kernlab attaches (`record -p PID --functions --libcall`):
 * tick() calls snprintf and usleep forever, until killed. */
#include <stdio.h>
#include <unistd.h>

__attribute__((noinline)) int tick(int i) {
    char buf[32];
    int n = snprintf(buf, sizeof buf, "tick %d", i);
    usleep(2000);
    return n;
}

int main(void) {
    for (int i = 0;; i++)
        tick(i);
}
