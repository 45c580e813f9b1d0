/* bad_pointer: hands out-of-bounds guest pointers to __wasi_fd_write.
 *
 * Two acceptable behaviours exist:
 *   - the call returns EFAULT (21) and nothing is written: the program goes on
 *     and finally prints "ok" (exit 0);
 *   - the runtime traps (this is what Wasmtime does, following the witx rule
 *     "an out-of-bounds pointer ... shall trap"): stdout then ends after the
 *     first "calling ..." line and the exit status is the runtime's trap
 *     status (Wasmtime: 134 on Unix) - never a host crash.
 * Kept apart from fd_misc so that a trap does not hide the other checks.
 */
#include "common.h"

#include <wasi/api.h>

int main(void) {
    __wasi_size_t nwritten = 12345;

    puts("calling fd_write with iovs = 0xFFFFFFF0");
    fflush(stdout);
    const __wasi_ciovec_t *bad_iovs = (const __wasi_ciovec_t *)(uintptr_t)0xFFFFFFF0u;
    __wasi_errno_t e = __wasi_fd_write(1, bad_iovs, 1, &nwritten);
    EXPECT_WASI_ERRNO("fd_write(bad iovs)", e, 1, EFAULT);

    puts("calling fd_write with iov.buf = 0xFFFFFF00, len 64");
    fflush(stdout);
    __wasi_ciovec_t iov = {.buf = (const uint8_t *)(uintptr_t)0xFFFFFF00u, .buf_len = 64};
    e = __wasi_fd_write(1, &iov, 1, &nwritten);
    EXPECT_WASI_ERRNO("fd_write(bad buf)", e, 1, EFAULT);

    puts("ok");
    return 0;
}
