/* Reads /proc/self/maps N times (default 5000) in one process: a path beneath read() that no
 * tracepoint fires on (seq_read_iter -> show_map -> show_map_vma), for -K's sampled source. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
    static char buf[65536];
    int n = argc > 1 ? atoi(argv[1]) : 5000;
    for (int i = 0; i < n; i++) {
        int fd = open("/proc/self/maps", O_RDONLY);
        if (fd < 0)
            return 1;
        while (read(fd, buf, sizeof buf) > 0) {
        }
        close(fd);
    }
    return 0;
}
