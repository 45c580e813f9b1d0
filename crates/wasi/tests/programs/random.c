/* random: getentropy, arc4random_buf and random_get produce non-zero,
 * non-repeating bytes.  Prints yes/no results only. */
#include "common.h"

#include <unistd.h>
#include <wasi/api.h>

static int all_zero(const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

static void report(const char *what, const unsigned char *a, const unsigned char *b,
                   size_t n) {
    int nz = !all_zero(a, n) && !all_zero(b, n);
    int differ = memcmp(a, b, n) != 0;
    printf("%s: not all zero: %s, buffers differ: %s\n", what, yesno(nz), yesno(differ));
    CHECK(nz, "%s returned all zero bytes", what);
    CHECK(differ, "%s returned the same bytes twice", what);
}

int main(void) {
    static unsigned char a[4096], b[4096];

    CHECK(getentropy(a, 256) == 0, "getentropy(256): errno %d (%s)", errno,
          errno_name(errno));
    CHECK(getentropy(b, 256) == 0, "getentropy(256): errno %d (%s)", errno,
          errno_name(errno));
    report("getentropy 256", a, b, 256);

    int r = getentropy(a, 0);
    printf("getentropy 0 bytes succeeds: %s\n", yesno(r == 0));
    CHECK(r == 0, "getentropy(0): errno %d (%s)", errno, errno_name(errno));

    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    arc4random_buf(a, 256);
    arc4random_buf(b, 256);
    report("arc4random_buf 256", a, b, 256);

    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    CHECK(__wasi_random_get(a, sizeof a) == 0, "random_get 4096 a");
    CHECK(__wasi_random_get(b, sizeof b) == 0, "random_get 4096 b");
    report("random_get 4096", a, b, sizeof a);

    __wasi_errno_t e = __wasi_random_get(a, 0);
    printf("random_get 0 bytes succeeds: %s\n", yesno(e == 0));
    CHECK(e == 0, "random_get(0): errno %d (%s)", e, errno_name(e));

    puts("ok");
    return 0;
}
