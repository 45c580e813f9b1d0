/* zlib_bench: our driver for zlib (zlib itself is not in this repository:
 * build.sh takes its sources from the libz-sys crate).
 *
 * Generates 8 MiB of mixed data (log-like text lines, fixed-layout binary
 * records, and a stretch of pseudo-random bytes), deflates it at level 6
 * through the streaming API in 64 KiB output chunks, writes the stream to
 * DIR/zlib_output.z, reads it back, inflates it in 64 KiB chunks, and
 * checks the round trip with crc32 and adler32.  Prints the sizes and
 * checksums; exits 0 on success.
 *
 * Usage: zlib_bench [DIR]   (DIR defaults to /sandbox)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zlib.h"

#define INPUT_SIZE (8u << 20)
#define CHUNK (64u << 10)

static void die(const char *what) {
    printf("FAIL: %s\n", what);
    exit(1);
}

static uint32_t rng_state = 0x6c078965u;

static uint32_t rng(void) {
    uint32_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    rng_state = x;
    return x;
}

static size_t generate(uint8_t *p, size_t size) {
    static const char *const levels[] = {"DEBUG", "INFO", "INFO", "INFO", "WARN", "ERROR"};
    static const char *const modules[] = {"http", "db", "cache", "auth", "scheduler", "io"};
    static const char *const msgs[] = {
        "request completed", "connection opened", "connection closed", "cache miss for key",
        "retrying operation", "slow query detected", "token refreshed", "queue drained",
    };
    size_t n = 0;
    uint32_t t = 1700000000u;
    while (n < size) {
        uint32_t section = (uint32_t)(n / (256u << 10)) % 8;
        size_t end = n + (256u << 10);
        if (end > size)
            end = size;
        if (section < 5) {
            /* text log lines */
            while (n < end) {
                char line[160];
                t += rng() % 3;
                /* one rng() call per statement: argument evaluation order
                 * is unspecified */
                uint32_t r[6];
                for (int k = 0; k < 6; k++)
                    r[k] = rng();
                int len = snprintf(line, sizeof line, "%u.%03u [%s] %s: %s id=%u latency=%ums\n", t,
                                   r[0] % 1000, levels[r[1] % 6], modules[r[2] % 6], msgs[r[3] % 8],
                                   r[4] % 50000, r[5] % 900);
                size_t take = end - n < (size_t)len ? end - n : (size_t)len;
                memcpy(p + n, line, take);
                n += take;
            }
        } else if (section < 7) {
            /* 32-byte binary records with slowly changing fields */
            uint32_t seq = 0;
            while (n < end) {
                uint8_t rec[32];
                memset(rec, 0, sizeof rec);
                rec[0] = 0xab;
                rec[1] = (uint8_t)section;
                memcpy(rec + 4, &seq, 4);
                uint32_t v = rng() % 1024;
                memcpy(rec + 8, &v, 4);
                uint32_t at = rng() % 16;
                rec[16 + at] = (uint8_t)rng();
                size_t take = end - n < sizeof rec ? end - n : sizeof rec;
                memcpy(p + n, rec, take);
                n += take;
                seq++;
            }
        } else {
            /* incompressible */
            while (n < end)
                p[n++] = (uint8_t)(rng() >> 11);
        }
    }
    return n;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/sandbox";
    char path[512];
    snprintf(path, sizeof path, "%s/zlib_output.z", dir);

    uint8_t *input = malloc(INPUT_SIZE);
    uint8_t *chunk = malloc(CHUNK);
    if (!input || !chunk)
        die("malloc");
    size_t n = generate(input, INPUT_SIZE);
    uLong crc = crc32(0L, input, (uInt)n);
    uLong adler = adler32(1L, input, (uInt)n);

    /* deflate, streaming the output to the file */
    FILE *f = fopen(path, "wb");
    if (!f)
        die("fopen for writing");
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit(&zs, 6) != Z_OK)
        die("deflateInit");
    size_t packed = 0;
    uLong packed_crc = crc32(0L, Z_NULL, 0);
    size_t in_off = 0;
    int flush;
    do {
        size_t take = n - in_off < 1u << 20 ? n - in_off : 1u << 20;
        zs.next_in = input + in_off;
        zs.avail_in = (uInt)take;
        in_off += take;
        flush = in_off == n ? Z_FINISH : Z_NO_FLUSH;
        do {
            zs.next_out = chunk;
            zs.avail_out = CHUNK;
            if (deflate(&zs, flush) == Z_STREAM_ERROR)
                die("deflate");
            size_t have = CHUNK - zs.avail_out;
            if (have && fwrite(chunk, 1, have, f) != have)
                die("fwrite");
            packed += have;
            packed_crc = crc32(packed_crc, chunk, (uInt)have);
        } while (zs.avail_out == 0);
    } while (flush != Z_FINISH);
    deflateEnd(&zs);
    if (fclose(f) != 0)
        die("fclose");

    /* inflate, streaming the input from the file */
    uint8_t *output = malloc(n);
    if (!output)
        die("malloc");
    f = fopen(path, "rb");
    if (!f)
        die("fopen for reading");
    memset(&zs, 0, sizeof zs);
    if (inflateInit(&zs) != Z_OK)
        die("inflateInit");
    zs.next_out = output;
    zs.avail_out = (uInt)n;
    size_t read_total = 0;
    int ret = Z_OK;
    while (ret != Z_STREAM_END) {
        size_t got = fread(chunk, 1, CHUNK, f);
        if (got == 0)
            die("compressed stream ends early");
        read_total += got;
        zs.next_in = chunk;
        zs.avail_in = (uInt)got;
        ret = inflate(&zs, Z_NO_FLUSH);
        if (ret != Z_OK && ret != Z_STREAM_END)
            die("inflate");
    }
    size_t unpacked = n - zs.avail_out;
    inflateEnd(&zs);
    fclose(f);
    if (read_total != packed || unpacked != n)
        die("sizes differ");
    if (crc32(0L, output, (uInt)n) != crc || adler32(1L, output, (uInt)n) != adler ||
        memcmp(output, input, n) != 0)
        die("round trip differs");

    printf("zlib %s\n", zlibVersion());
    printf("input %zu bytes crc32 %08lx adler32 %08lx\n", n, crc, adler);
    printf("deflated (level 6) %zu bytes (%.1f%%) crc32 %08lx\n", packed,
           100.0 * (double)packed / (double)n, packed_crc);
    printf("round trip ok\n");
    free(input);
    free(output);
    free(chunk);
    return 0;
}
