/* files: basic filesystem operations inside the /sandbox preopen.
 *
 * Works in /sandbox/files.d (created here; must not exist beforehand).
 * Prints one line per step; prints "FAIL: ..." and exits 1 on the first
 * failed check, "ok" at the end.
 */
#include "common.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#define D "/sandbox/files.d"

static void write_all(int fd, const char *s) {
    size_t n = strlen(s);
    ssize_t w = write(fd, s, n);
    CHECK(w == (ssize_t)n, "write %zu bytes: got %zd errno %d (%s)", n, w, errno,
          errno_name(errno));
}

static void expect_content(const char *path, const char *want) {
    char buf[256];
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0, "open %s: errno %d (%s)", path, errno, errno_name(errno));
    ssize_t n = read(fd, buf, sizeof buf - 1);
    CHECK(n >= 0, "read %s: errno %d (%s)", path, errno, errno_name(errno));
    buf[n] = 0;
    CHECK(strcmp(buf, want) == 0, "content of %s: got \"%s\" want \"%s\"", path,
          buf, want);
    close(fd);
    printf("content of %s: \"", path + strlen(D "/"));
    for (const char *p = buf; *p; p++) {
        if (*p == '\n')
            fputs("\\n", stdout);
        else
            putchar(*p);
    }
    printf("\"\n");
}

static off_t seek(int fd, off_t off, int whence) {
    off_t r = lseek(fd, off, whence);
    CHECK(r >= 0, "lseek: errno %d (%s)", errno, errno_name(errno));
    return r;
}

static const char *type_name(unsigned char t) {
    switch (t) {
    case DT_REG: return "file";
    case DT_DIR: return "dir";
    case DT_LNK: return "symlink";
    case DT_UNKNOWN: return "unknown";
    default: return "other";
    }
}

struct entry {
    char name[64];
    unsigned char type;
};

static int cmp_entry(const void *a, const void *b) {
    return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

int main(void) {
    struct stat st;
    char buf[256];

    CHECK(mkdir(D, 0755) == 0, "mkdir " D ": errno %d (%s)", errno, errno_name(errno));
    printf("mkdir files.d: ok\n");

    /* create, write, fsync, lseek, read back */
    int fd = open(D "/a.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0, "create a.txt: errno %d (%s)", errno, errno_name(errno));
    write_all(fd, "hello world\n");
    CHECK(fsync(fd) == 0, "fsync: errno %d (%s)", errno, errno_name(errno));
    printf("write+fsync: ok\n");
    CHECK(seek(fd, 0, SEEK_CUR) == 12, "position after write != 12");
    CHECK(seek(fd, 0, SEEK_SET) == 0, "SEEK_SET 0");
    ssize_t n = read(fd, buf, sizeof buf);
    CHECK(n == 12 && memcmp(buf, "hello world\n", 12) == 0, "read back: n=%zd", n);
    CHECK(read(fd, buf, sizeof buf) == 0, "read at EOF should return 0");
    CHECK(seek(fd, -6, SEEK_CUR) == 6, "SEEK_CUR -6 should give 6");
    n = read(fd, buf, 5);
    CHECK(n == 5 && memcmp(buf, "world", 5) == 0, "read after SEEK_CUR");
    CHECK(seek(fd, 0, SEEK_END) == 12, "SEEK_END 0 should give 12");
    CHECK(seek(fd, -1, SEEK_END) == 11, "SEEK_END -1 should give 11");
    printf("lseek SET/CUR/END: ok\n");

    /* pwrite / pread do not move the file position */
    CHECK(seek(fd, 3, SEEK_SET) == 3, "SEEK_SET 3");
    CHECK(pwrite(fd, "WASI!", 5, 6) == 5, "pwrite: errno %d (%s)", errno, errno_name(errno));
    n = pread(fd, buf, sizeof buf, 0);
    CHECK(n == 12 && memcmp(buf, "hello WASI!\n", 12) == 0, "pread after pwrite: n=%zd", n);
    CHECK(seek(fd, 0, SEEK_CUR) == 3, "pread/pwrite moved the file position");
    printf("pwrite+pread: ok\n");

    /* ftruncate shrink and grow */
    CHECK(ftruncate(fd, 5) == 0, "ftruncate 5: errno %d (%s)", errno, errno_name(errno));
    CHECK(fstat(fd, &st) == 0 && st.st_size == 5, "size after shrink != 5");
    CHECK(ftruncate(fd, 100) == 0, "ftruncate 100: errno %d (%s)", errno, errno_name(errno));
    CHECK(fstat(fd, &st) == 0 && st.st_size == 100, "size after grow != 100");
    n = pread(fd, buf, 100, 0);
    CHECK(n == 100 && memcmp(buf, "hello", 5) == 0, "pread after grow: n=%zd", n);
    for (int i = 5; i < 100; i++)
        CHECK(buf[i] == 0, "grown byte %d is not zero", i);
    printf("ftruncate shrink to 5, grow to 100 (zero filled): ok\n");

    /* fstat / stat: size and type */
    CHECK(fstat(fd, &st) == 0, "fstat: errno %d (%s)", errno, errno_name(errno));
    printf("fstat a.txt: regular=%s size=%lld\n", yesno(S_ISREG(st.st_mode)),
           (long long)st.st_size);
    CHECK(S_ISREG(st.st_mode), "a.txt is not a regular file");
    CHECK(close(fd) == 0, "close: errno %d (%s)", errno, errno_name(errno));
    CHECK(stat(D "/a.txt", &st) == 0, "stat a.txt: errno %d (%s)", errno, errno_name(errno));
    CHECK(S_ISREG(st.st_mode) && st.st_size == 100, "stat a.txt: wrong type/size");
    CHECK(stat(D, &st) == 0, "stat files.d: errno %d (%s)", errno, errno_name(errno));
    printf("stat files.d: dir=%s\n", yesno(S_ISDIR(st.st_mode)));
    CHECK(S_ISDIR(st.st_mode), "files.d is not a directory");
    CHECK(stat("/sandbox", &st) == 0 && S_ISDIR(st.st_mode), "stat /sandbox");

    /* rename, unlink */
    CHECK(rename(D "/a.txt", D "/b.txt") == 0, "rename: errno %d (%s)", errno, errno_name(errno));
    EXPECT_ERRNO("stat a.txt after rename", stat(D "/a.txt", &st), errno, 1, ENOENT);
    CHECK(stat(D "/b.txt", &st) == 0 && st.st_size == 100, "stat b.txt after rename");
    CHECK(unlink(D "/b.txt") == 0, "unlink: errno %d (%s)", errno, errno_name(errno));
    EXPECT_ERRNO("stat b.txt after unlink", stat(D "/b.txt", &st), errno, 1, ENOENT);

    /* mkdir / rmdir; rmdir of a non-empty directory fails.  POSIX allows
     * EEXIST as well as ENOTEMPTY for that. */
    CHECK(mkdir(D "/sub", 0755) == 0, "mkdir sub: errno %d (%s)", errno, errno_name(errno));
    EXPECT_ERRNO("mkdir sub again", mkdir(D "/sub", 0755), errno, 1, EEXIST);
    fd = open(D "/sub/inner.txt", O_WRONLY | O_CREAT | O_EXCL, 0644);
    CHECK(fd >= 0, "create sub/inner.txt: errno %d (%s)", errno, errno_name(errno));
    close(fd);
    EXPECT_ERRNO("rmdir non-empty sub", rmdir(D "/sub"), errno, 2, ENOTEMPTY, EEXIST);
    CHECK(unlink(D "/sub/inner.txt") == 0, "unlink sub/inner.txt");
    CHECK(rmdir(D "/sub") == 0, "rmdir sub: errno %d (%s)", errno, errno_name(errno));
    EXPECT_ERRNO("stat sub after rmdir", stat(D "/sub", &st), errno, 1, ENOENT);
    printf("mkdir/rmdir: ok\n");

    /* O_EXCL on an existing file */
    fd = open(D "/f1", O_WRONLY | O_CREAT | O_EXCL, 0644);
    CHECK(fd >= 0, "create f1: errno %d (%s)", errno, errno_name(errno));
    write_all(fd, "one\n");
    close(fd);
    EXPECT_ERRNO("O_CREAT|O_EXCL on existing f1",
                 open(D "/f1", O_WRONLY | O_CREAT | O_EXCL, 0644), errno, 1, EEXIST);

    /* O_APPEND: writes go to the end even after seeking to 0 */
    fd = open(D "/f1", O_WRONLY | O_APPEND);
    CHECK(fd >= 0, "open f1 O_APPEND: errno %d (%s)", errno, errno_name(errno));
    seek(fd, 0, SEEK_SET);
    write_all(fd, "two\n");
    close(fd);
    expect_content(D "/f1", "one\ntwo\n");

    /* opening a directory for writing */
    EXPECT_ERRNO("open dir O_WRONLY", open(D, O_WRONLY), errno, 1, EISDIR);
    EXPECT_ERRNO("open dir O_RDWR", open(D, O_RDWR), errno, 1, EISDIR);

    /* missing file */
    EXPECT_ERRNO("open missing O_RDONLY", open(D "/missing", O_RDONLY), errno, 1, ENOENT);
    EXPECT_ERRNO("stat missing", stat(D "/missing", &st), errno, 1, ENOENT);
    EXPECT_ERRNO("unlink missing", unlink(D "/missing"), errno, 1, ENOENT);

    /* utimes (path) and futimens (fd): set exact times, compare seconds */
    struct timeval tv[2] = {{.tv_sec = 1000000000, .tv_usec = 0},
                            {.tv_sec = 1200000000, .tv_usec = 0}};
    CHECK(utimes(D "/f1", tv) == 0, "utimes: errno %d (%s)", errno, errno_name(errno));
    CHECK(stat(D "/f1", &st) == 0, "stat f1 after utimes");
    printf("after utimes: atime=%lld mtime=%lld\n", (long long)st.st_atim.tv_sec,
           (long long)st.st_mtim.tv_sec);
    CHECK(st.st_atim.tv_sec == 1000000000 && st.st_mtim.tv_sec == 1200000000,
          "utimes times not applied");
    fd = open(D "/f1", O_RDWR);
    CHECK(fd >= 0, "open f1: errno %d (%s)", errno, errno_name(errno));
    struct timespec ts[2] = {{.tv_sec = 1300000000, .tv_nsec = 0},
                             {.tv_sec = 1400000000, .tv_nsec = 0}};
    CHECK(futimens(fd, ts) == 0, "futimens: errno %d (%s)", errno, errno_name(errno));
    CHECK(fstat(fd, &st) == 0, "fstat f1 after futimens");
    printf("after futimens: atime=%lld mtime=%lld\n", (long long)st.st_atim.tv_sec,
           (long long)st.st_mtim.tv_sec);
    CHECK(st.st_atim.tv_sec == 1300000000 && st.st_mtim.tv_sec == 1400000000,
          "futimens times not applied");
    /* UTIME_OMIT for atime keeps it; only mtime changes */
    struct timespec ts2[2] = {{.tv_sec = 0, .tv_nsec = UTIME_OMIT},
                              {.tv_sec = 1500000000, .tv_nsec = 0}};
    CHECK(futimens(fd, ts2) == 0, "futimens omit: errno %d (%s)", errno, errno_name(errno));
    CHECK(fstat(fd, &st) == 0, "fstat f1 after futimens omit");
    printf("after futimens(UTIME_OMIT, 1500000000): atime=%lld mtime=%lld\n",
           (long long)st.st_atim.tv_sec, (long long)st.st_mtim.tv_sec);
    CHECK(st.st_atim.tv_sec == 1300000000 && st.st_mtim.tv_sec == 1500000000,
          "futimens UTIME_OMIT not honoured");
    close(fd);

    /* symlink + readlink; reading through the link */
    CHECK(symlink("f1", D "/sl") == 0, "symlink: errno %d (%s)", errno, errno_name(errno));
    n = readlink(D "/sl", buf, sizeof buf);
    CHECK(n >= 0, "readlink: errno %d (%s)", errno, errno_name(errno));
    buf[n] = 0;
    printf("readlink sl: \"%s\"\n", buf);
    CHECK(strcmp(buf, "f1") == 0, "readlink returned wrong target");
    CHECK(lstat(D "/sl", &st) == 0 && S_ISLNK(st.st_mode), "lstat sl is not a symlink");
    CHECK(stat(D "/sl", &st) == 0 && S_ISREG(st.st_mode), "stat sl does not follow");
    expect_content(D "/sl", "one\ntwo\n");
    EXPECT_ERRNO("readlink of regular file", (int)readlink(D "/f1", buf, sizeof buf),
                 errno, 1, EINVAL);

    /* hard link: nlink == 2, same content */
    CHECK(link(D "/f1", D "/hl") == 0, "link: errno %d (%s)", errno, errno_name(errno));
    CHECK(stat(D "/f1", &st) == 0, "stat f1 after link");
    printf("nlink of f1 after link: %llu\n", (unsigned long long)st.st_nlink);
    CHECK(st.st_nlink == 2, "nlink != 2");
    expect_content(D "/hl", "one\ntwo\n");

    /* readdir: collect, sort, print; must contain what we created */
    CHECK(mkdir(D "/dir1", 0755) == 0, "mkdir dir1");
    DIR *dir = opendir(D);
    CHECK(dir != NULL, "opendir: errno %d (%s)", errno, errno_name(errno));
    struct entry ents[32];
    size_t count = 0;
    int saw_dot = 0, saw_dotdot = 0;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(dir)) != NULL) {
        if (strcmp(de->d_name, ".") == 0) {
            saw_dot = 1;
            continue;
        }
        if (strcmp(de->d_name, "..") == 0) {
            saw_dotdot = 1;
            continue;
        }
        CHECK(count < 32 && strlen(de->d_name) < 64, "too many/long entries");
        strcpy(ents[count].name, de->d_name);
        ents[count].type = de->d_type;
        count++;
    }
    CHECK(errno == 0, "readdir: errno %d (%s)", errno, errno_name(errno));
    closedir(dir);
    qsort(ents, count, sizeof ents[0], cmp_entry);
    printf("readdir has . and ..: %s %s\n", yesno(saw_dot), yesno(saw_dotdot));
    for (size_t i = 0; i < count; i++)
        printf("entry: %s (%s)\n", ents[i].name, type_name(ents[i].type));
    static const char *const want[] = {"dir1", "f1", "hl", "sl"};
    CHECK(count == 4, "expected 4 entries, got %zu", count);
    for (size_t i = 0; i < 4; i++)
        CHECK(strcmp(ents[i].name, want[i]) == 0, "entry %zu is %s, want %s", i,
              ents[i].name, want[i]);

    puts("ok");
    return 0;
}
