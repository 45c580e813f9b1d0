/* Shared helpers for the keel WASI test programs.
 *
 * Every self-checking program prints deterministic lines only, prints
 * "FAIL: <what>" and exits 1 on the first failed check, and prints a final
 * "ok" line on success.  Errno values are printed as "errno N (ENAME)"; in
 * wasi-libc the libc errno values are exactly the WASI errno codes, so the same
 * table serves for both `errno` and `__wasi_errno_t` results.
 *
 * Include this header first: it sets _GNU_SOURCE so that -std=c11 still
 * declares the POSIX/BSD functions we use.
 */
#ifndef KEEL_TEST_COMMON_H
#define KEEL_TEST_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline const char *errno_name(int e) {
    static const char *const names[] = {
        "ESUCCESS", "E2BIG", "EACCES", "EADDRINUSE", "EADDRNOTAVAIL",
        "EAFNOSUPPORT", "EAGAIN", "EALREADY", "EBADF", "EBADMSG", "EBUSY",
        "ECANCELED", "ECHILD", "ECONNABORTED", "ECONNREFUSED", "ECONNRESET",
        "EDEADLK", "EDESTADDRREQ", "EDOM", "EDQUOT", "EEXIST", "EFAULT",
        "EFBIG", "EHOSTUNREACH", "EIDRM", "EILSEQ", "EINPROGRESS", "EINTR",
        "EINVAL", "EIO", "EISCONN", "EISDIR", "ELOOP", "EMFILE", "EMLINK",
        "EMSGSIZE", "EMULTIHOP", "ENAMETOOLONG", "ENETDOWN", "ENETRESET",
        "ENETUNREACH", "ENFILE", "ENOBUFS", "ENODEV", "ENOENT", "ENOEXEC",
        "ENOLCK", "ENOLINK", "ENOMEM", "ENOMSG", "ENOPROTOOPT", "ENOSPC",
        "ENOSYS", "ENOTCONN", "ENOTDIR", "ENOTEMPTY", "ENOTRECOVERABLE",
        "ENOTSOCK", "ENOTSUP", "ENOTTY", "ENXIO", "EOVERFLOW", "EOWNERDEAD",
        "EPERM", "EPIPE", "EPROTO", "EPROTONOSUPPORT", "EPROTOTYPE", "ERANGE",
        "EROFS", "ESPIPE", "ESRCH", "ESTALE", "ETIMEDOUT", "ETXTBSY", "EXDEV",
        "ENOTCAPABLE",
    };
    if (e >= 0 && (size_t)e < sizeof names / sizeof names[0])
        return names[e];
    return "E?";
}

/* Print "FAIL: <what>" and exit 1. */
static inline _Noreturn void fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("FAIL: ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    fflush(stdout);
    exit(1);
}

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond))                                                           \
            fail(__VA_ARGS__);                                                 \
    } while (0)

/* Print "<what>: errno N (ENAME)". */
static inline void print_errno(const char *what, int e) {
    printf("%s: errno %d (%s)\n", what, e, errno_name(e));
}

/* Print the outcome of a call that returned `ret` (with errno `e` when
 * ret < 0): "<what>: ok" or "<what>: errno N (ENAME)". */
static inline void print_result(const char *what, int ret, int e) {
    if (ret >= 0)
        printf("%s: ok\n", what);
    else
        print_errno(what, e);
}

/* Is `e` one of the `n` errno values that follow? */
static inline int errno_in(int e, int n, ...) {
    va_list ap;
    int found = 0;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        if (va_arg(ap, int) == e)
            found = 1;
    va_end(ap);
    return found;
}

/* Expect a libc call to have failed (ret < 0) with one of the listed errnos.
 * Prints "<what>: errno N (ENAME)" either way. */
#define EXPECT_ERRNO(what, ret, e, n, ...)                                     \
    do {                                                                       \
        int expect_ret_ = (ret), expect_e_ = (e);                              \
        if (expect_ret_ >= 0) {                                                \
            printf("%s: succeeded\n", what);                                   \
            fail("%s: expected failure", what);                                \
        }                                                                      \
        print_errno(what, expect_e_);                                          \
        CHECK(errno_in(expect_e_, n, __VA_ARGS__),                             \
              "%s: unexpected errno %d (%s)", what, expect_e_,                 \
              errno_name(expect_e_));                                          \
    } while (0)

/* Same for a raw __wasi_* call returning a __wasi_errno_t. */
#define EXPECT_WASI_ERRNO(what, err, n, ...)                                   \
    do {                                                                       \
        int expect_err_ = (err);                                               \
        if (expect_err_ == 0) {                                                \
            printf("%s: succeeded\n", what);                                   \
            fail("%s: expected failure", what);                                \
        }                                                                      \
        print_errno(what, expect_err_);                                        \
        CHECK(errno_in(expect_err_, n, __VA_ARGS__),                           \
              "%s: unexpected errno %d (%s)", what, expect_err_,               \
              errno_name(expect_err_));                                        \
    } while (0)

static inline const char *yesno(int b) { return b ? "yes" : "no"; }

/* FNV-1a, 64-bit. */
#define FNV1A64_INIT UINT64_C(0xcbf29ce484222325)
static inline uint64_t fnv1a64(uint64_t h, const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

#endif
