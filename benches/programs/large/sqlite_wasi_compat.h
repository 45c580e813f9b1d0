/*
 * Force-included (clang -include) when compiling the SQLite amalgamation for
 * wasm32-wasi (WASI preview 1, wasi-libc 2022-05).  Part of keel's benchmark
 * build (benches/programs/large/build.sh); not SQLite code.
 *
 * SQLite 3.40's unix VFS expects POSIX advisory locks, fchmod/fchown and
 * geteuid, none of which WASI preview 1 has.  A WASI module is a single
 * process with no concurrent writer, so the locks are accepted and reported
 * as free, and the ownership/permission calls are no-ops.
 */
#ifndef KEEL_SQLITE_WASI_COMPAT_H
#define KEEL_SQLITE_WASI_COMPAT_H
#ifdef __wasi__
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#ifndef F_RDLCK
#define F_RDLCK 0
#define F_WRLCK 1
#define F_UNLCK 2
#endif
#ifndef F_GETLK
#define F_GETLK 5
#define F_SETLK 6
#define F_SETLKW 7
#endif

static int keel_wasi_fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  switch (cmd) {
  case F_GETLK:
    ((struct flock *)arg)->l_type = F_UNLCK;
    return 0;
  case F_SETLK:
  case F_SETLKW:
    return 0;
  default:
    return fcntl(fd, cmd, arg);
  }
}
#define fcntl keel_wasi_fcntl

static int keel_wasi_fchmod(int fd, mode_t mode) { (void)fd; (void)mode; return 0; }
static int keel_wasi_fchown(int fd, uid_t uid, gid_t gid) { (void)fd; (void)uid; (void)gid; return 0; }
static uid_t keel_wasi_geteuid(void) { return 0; }
#define fchmod keel_wasi_fchmod
#define fchown keel_wasi_fchown
#define geteuid keel_wasi_geteuid
#endif
#endif
