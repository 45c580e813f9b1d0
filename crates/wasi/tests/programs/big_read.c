/* big_read: reads argv[1] (default /sandbox/big.bin) to EOF with read()
 * calls of argv[2] bytes (default 65536) and prints the byte count and the
 * FNV-1a 64-bit hash of the contents (same format as big_write). */
#include "common.h"

#include <fcntl.h>
#include <unistd.h>

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "/sandbox/big.bin";
    size_t chunk = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 65536;
    CHECK(chunk > 0 && chunk <= (16u << 20), "chunk size must be in 1..16777216");

    unsigned char *buf = malloc(chunk);
    CHECK(buf != NULL, "malloc(%zu)", chunk);
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0, "open %s: errno %d (%s)", path, errno, errno_name(errno));

    uint64_t h = FNV1A64_INIT;
    unsigned long long total = 0;
    for (;;) {
        ssize_t n = read(fd, buf, chunk);
        CHECK(n >= 0, "read at offset %llu: errno %d (%s)", total, errno, errno_name(errno));
        if (n == 0)
            break;
        h = fnv1a64(h, buf, (size_t)n);
        total += (unsigned long long)n;
    }
    close(fd);
    free(buf);

    printf("bytes: %llu\n", total);
    printf("fnv1a64: %016llx\n", (unsigned long long)h);
    puts("ok");
    return 0;
}
