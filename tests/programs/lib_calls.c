/* Library calls for `kernlab record --functions --libcall` (tests/recording/test_record_libcalls.py):
 * libc calls with string, integer and pointer arguments made from two functions of the program.
 * With a second argument it waits for a line on stdin first (its GOT is then bound: -z now). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int work(const char *dir) {
    char a[256], b[256];
    snprintf(a, sizeof a, "%s/one", dir);
    snprintf(b, sizeof b, "%s/two", dir);
    int fd = open(a, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    write(fd, "hello\n", 6);
    close(fd);
    int r = rename(a, b);
    char *p = malloc(100);
    p = realloc(p, 200);
    free(p);
    unlink(b);
    return r + (int)strlen(dir);
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    if (argc > 2)
        getchar();
    puts("start");
    int n = work(dir);
    printf("n=%d\n", n);
    return 0;
}
