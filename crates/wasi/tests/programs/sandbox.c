/* sandbox: attempts to escape the /sandbox preopen must fail and create
 * nothing.
 *
 * Accepted errnos (the exact one is still printed for the differential test):
 *   - ".." escapes and symlinks leading out of the preopen:
 *       ENOTCAPABLE (76) or EPERM (63).  Wasmtime (cap-std) returns EPERM;
 *       older runtimes return ENOTCAPABLE.
 *   - absolute paths handed to the runtime directly (path_open("/etc/passwd")
 *     on fd 3) and following a symlink whose target is absolute:
 *       ENOTCAPABLE, EPERM, or ENOENT (a runtime may resolve the absolute
 *       path beneath the preopen, where it does not exist - still no escape).
 *   - open("/etc/passwd") through libc: no preopen matches, so wasi-libc
 *       itself fails with ENOTCAPABLE (ENOENT also accepted).
 *   - creating a symlink with an absolute target ("/etc"): may succeed or fail
 *       (Wasmtime refuses with EPERM); either is accepted, following it must
 *       not escape.
 */
#include "common.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>

#define PREOPEN_FD 3

static const __wasi_rights_t RIGHTS_RW =
    __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_SEEK |
    __WASI_RIGHTS_FD_FILESTAT_GET;

/* A libc call that must fail with an "escape refused" errno. */
#define REFUSED(what, ret) EXPECT_ERRNO(what, ret, errno, 2, ENOTCAPABLE, EPERM)
#define REFUSED_ABS(what, ret) EXPECT_ERRNO(what, ret, errno, 3, ENOTCAPABLE, EPERM, ENOENT)
#define WASI_REFUSED(what, e) EXPECT_WASI_ERRNO(what, e, 2, ENOTCAPABLE, EPERM)
#define WASI_REFUSED_ABS(what, e) EXPECT_WASI_ERRNO(what, e, 3, ENOTCAPABLE, EPERM, ENOENT)

static __wasi_errno_t raw_open(int dirfd, __wasi_lookupflags_t lf, const char *path,
                               __wasi_oflags_t of) {
    __wasi_fd_t fd = -1;
    __wasi_errno_t e = __wasi_path_open(dirfd, lf, path, of, RIGHTS_RW, RIGHTS_RW, 0, &fd);
    if (e == 0)
        (void)__wasi_fd_close(fd);
    return e;
}

static void expect_absent(const char *path) {
    struct stat st;
    int r = stat(path, &st);
    int e = errno;
    printf("exists %s: %s\n", path, yesno(r == 0));
    CHECK(r != 0, "%s was created inside the sandbox", path);
    CHECK(e == ENOENT, "stat %s: errno %d (%s)", path, e, errno_name(e));
}

int main(void) {
    struct stat st;

    /* Set-up inside the sandbox: a file and a directory. */
    int fd = open("/sandbox/inside.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0, "create inside.txt: errno %d (%s)", errno, errno_name(errno));
    CHECK(write(fd, "inside\n", 7) == 7, "write inside.txt");
    close(fd);
    CHECK(mkdir("/sandbox/a", 0755) == 0, "mkdir a: errno %d (%s)", errno, errno_name(errno));
    printf("setup: ok\n");

    /* 1. ".." through absolute libc paths */
    REFUSED("open /sandbox/../outside.txt O_CREAT",
            open("/sandbox/../outside.txt", O_WRONLY | O_CREAT, 0644));
    REFUSED("open /sandbox/../outside.txt O_RDONLY",
            open("/sandbox/../outside.txt", O_RDONLY));
    REFUSED("open /sandbox/a/../../outside.txt O_CREAT",
            open("/sandbox/a/../../outside.txt", O_WRONLY | O_CREAT, 0644));
    REFUSED("stat /sandbox/..", stat("/sandbox/..", &st));
    REFUSED("mkdir /sandbox/../escape", mkdir("/sandbox/../escape", 0755));
    REFUSED("rename inside.txt -> /sandbox/../stolen",
            rename("/sandbox/inside.txt", "/sandbox/../stolen"));
    REFUSED("link inside.txt -> /sandbox/../stolen2",
            link("/sandbox/inside.txt", "/sandbox/../stolen2"));
    REFUSED("symlink /sandbox/../evil -> inside.txt",
            symlink("inside.txt", "/sandbox/../evil"));
    REFUSED("unlink /sandbox/../outside.txt", unlink("/sandbox/../outside.txt"));

    /* 2. no preopen covers /etc: wasi-libc fails before calling the runtime */
    REFUSED_ABS("open /etc/passwd", open("/etc/passwd", O_RDONLY));
    REFUSED_ABS("stat /etc", stat("/etc", &st));

    /* 3. openat relative to a directory fd opened on /sandbox */
    int dfd = open("/sandbox", O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0, "open /sandbox O_DIRECTORY: errno %d (%s)", errno, errno_name(errno));
    REFUSED("openat(sandbox, ../outside.txt, O_RDONLY)",
            openat(dfd, "../outside.txt", O_RDONLY));
    REFUSED("openat(sandbox, ../outside.txt, O_CREAT)",
            openat(dfd, "../outside.txt", O_WRONLY | O_CREAT, 0644));
    REFUSED("openat(sandbox, .., O_DIRECTORY)", openat(dfd, "..", O_RDONLY | O_DIRECTORY));
    REFUSED("mkdirat(sandbox, ../escape)", mkdirat(dfd, "../escape", 0755));
    close(dfd);

    /* 4. raw __wasi_path_open on the first preopen, fd 3 */
    WASI_REFUSED("path_open(3, ../x)", raw_open(PREOPEN_FD, 0, "../x", 0));
    WASI_REFUSED("path_open(3, ../x, CREAT)",
                 raw_open(PREOPEN_FD, 0, "../x", __WASI_OFLAGS_CREAT));
    WASI_REFUSED("path_open(3, a/../../x, CREAT)",
                 raw_open(PREOPEN_FD, 0, "a/../../x", __WASI_OFLAGS_CREAT));
    WASI_REFUSED("path_open(3, a/../../x)", raw_open(PREOPEN_FD, 0, "a/../../x", 0));
    WASI_REFUSED_ABS("path_open(3, /etc/passwd)", raw_open(PREOPEN_FD, 0, "/etc/passwd", 0));
    WASI_REFUSED("path_create_directory(3, ../escape)",
                 __wasi_path_create_directory(PREOPEN_FD, "../escape"));
    __wasi_filestat_t fst;
    WASI_REFUSED("path_filestat_get(3, ..)", __wasi_path_filestat_get(PREOPEN_FD, 0, "..", &fst));

    /* 5. symlinks that point out of the sandbox */
    int r = symlink("/etc", "/sandbox/link");
    print_result("symlink /etc -> link", r, errno);
    if (r == 0) {
        REFUSED_ABS("open link/passwd", open("/sandbox/link/passwd", O_RDONLY));
        REFUSED_ABS("open link (O_DIRECTORY)", open("/sandbox/link", O_RDONLY | O_DIRECTORY));
    }

    r = symlink("../../..", "/sandbox/link2");
    print_result("symlink ../../.. -> link2", r, errno);
    CHECK(r == 0, "creating a relative symlink inside the sandbox must work");
    REFUSED("open link2/etc/passwd", open("/sandbox/link2/etc/passwd", O_RDONLY));
    REFUSED("open link2 (O_DIRECTORY)", open("/sandbox/link2", O_RDONLY | O_DIRECTORY));
    REFUSED("stat link2", stat("/sandbox/link2", &st));
    REFUSED("create link2/outside.txt",
            open("/sandbox/link2/outside.txt", O_WRONLY | O_CREAT, 0644));
    CHECK(lstat("/sandbox/link2", &st) == 0 && S_ISLNK(st.st_mode),
          "lstat link2 should see the symlink itself");
    printf("lstat link2 is a symlink: yes\n");

    /* raw path_symlink: creating "up" -> ".." is allowed, following it is not */
    __wasi_errno_t e = __wasi_path_symlink("..", PREOPEN_FD, "up");
    printf("path_symlink(.. -> up): errno %d (%s)\n", e, errno_name(e));
    CHECK(e == 0, "path_symlink of a relative target must work");
    WASI_REFUSED("path_open(3, FOLLOW, up/x, CREAT)",
                 raw_open(PREOPEN_FD, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "up/x",
                          __WASI_OFLAGS_CREAT));
    WASI_REFUSED("path_open(3, FOLLOW, up, DIRECTORY)",
                 raw_open(PREOPEN_FD, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "up",
                          __WASI_OFLAGS_DIRECTORY));
    WASI_REFUSED("path_open(3, 0, up/x)", raw_open(PREOPEN_FD, 0, "up/x", 0));
    WASI_REFUSED("path_filestat_get(3, FOLLOW, up)",
                 __wasi_path_filestat_get(PREOPEN_FD, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW,
                                          "up", &fst));
    /* a symlink pointing into the sandbox via ".." that stays inside is fine */
    e = __wasi_path_symlink("../inside.txt", PREOPEN_FD, "a/back");
    CHECK(e == 0, "path_symlink(../inside.txt -> a/back): errno %d (%s)", e, errno_name(e));
    fd = open("/sandbox/a/back", O_RDONLY);
    CHECK(fd >= 0, "open a/back (stays inside): errno %d (%s)", errno, errno_name(errno));
    char buf[16];
    CHECK(read(fd, buf, sizeof buf) == 7 && memcmp(buf, "inside\n", 7) == 0,
          "read through a/back");
    close(fd);
    printf("symlink a/back -> ../inside.txt readable: yes\n");

    /* 6. nothing was created inside the sandbox by the refused calls, and the
     *    file we tried to move out is still here */
    expect_absent("/sandbox/outside.txt");
    expect_absent("/sandbox/escape");
    expect_absent("/sandbox/stolen");
    expect_absent("/sandbox/stolen2");
    expect_absent("/sandbox/evil");
    expect_absent("/sandbox/x");
    expect_absent("/sandbox/etc");
    CHECK(stat("/sandbox/inside.txt", &st) == 0 && st.st_size == 7,
          "inside.txt vanished or changed");
    printf("inside.txt still present: yes\n");

    puts("ok");
    return 0;
}
