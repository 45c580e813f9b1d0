/* cat: copies stdin to stdout in 4096-byte chunks until EOF.  Output is
 * exactly the input; on an I/O error it prints "FAIL: ..." and exits 1. */
#include "common.h"

#include <unistd.h>

int main(void) {
    static char buf[4096];
    for (;;) {
        ssize_t n = read(0, buf, sizeof buf);
        if (n == 0)
            return 0;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fail("read stdin: errno %d (%s)", errno, errno_name(errno));
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(1, buf + off, (size_t)(n - off));
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                /* stdout is broken: report on stderr, nothing else to do. */
                fprintf(stderr, "FAIL: write stdout: errno %d (%s)\n", errno,
                        errno_name(errno));
                return 1;
            }
            off += w;
        }
    }
}
