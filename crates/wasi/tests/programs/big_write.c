/* big_write: writes N bytes (argv[1], default 100000000) of a deterministic
 * xorshift64 stream (seed 1) to /sandbox/big.bin with write() calls of
 * argv[2] bytes (default 65536), then prints the byte count and the FNV-1a
 * 64-bit hash of what it wrote.  The stream does not depend on the chunk
 * size, so big_read prints the same hash for the file. */
#include "common.h"

#include <fcntl.h>
#include <unistd.h>

static uint64_t state = 1;

/* Fill p[0..n) with the next n bytes of the stream: each xorshift64 step
 * yields 8 bytes, least significant first. */
static void fill(unsigned char *p, size_t n) {
    static uint64_t word;
    static unsigned left = 0;
    for (size_t i = 0; i < n; i++) {
        if (left == 0) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word = state;
            left = 8;
        }
        p[i] = (unsigned char)word;
        word >>= 8;
        left--;
    }
}

int main(int argc, char **argv) {
    unsigned long long total = argc > 1 ? strtoull(argv[1], NULL, 10) : 100000000ull;
    size_t chunk = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 65536;
    CHECK(chunk > 0 && chunk <= (16u << 20), "chunk size must be in 1..16777216");

    unsigned char *buf = malloc(chunk);
    CHECK(buf != NULL, "malloc(%zu)", chunk);
    int fd = open("/sandbox/big.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0, "open /sandbox/big.bin: errno %d (%s)", errno, errno_name(errno));

    uint64_t h = FNV1A64_INIT;
    unsigned long long done = 0;
    while (done < total) {
        size_t n = total - done < chunk ? (size_t)(total - done) : chunk;
        fill(buf, n);
        h = fnv1a64(h, buf, n);
        for (size_t off = 0; off < n;) {
            ssize_t w = write(fd, buf + off, n - off);
            CHECK(w > 0, "write at offset %llu: errno %d (%s)", done + off, errno,
                  errno_name(errno));
            off += (size_t)w;
        }
        done += n;
    }
    CHECK(close(fd) == 0, "close: errno %d (%s)", errno, errno_name(errno));
    free(buf);

    printf("bytes: %llu\n", done);
    printf("fnv1a64: %016llx\n", (unsigned long long)h);
    puts("ok");
    return 0;
}
