/* clocks: monotonic/realtime clocks, clock resolution and nanosleep.
 *
 * Output is booleans only (no times).  CLOCK_PROCESS_CPUTIME_ID is called but
 * neither printed nor asserted (Wasmtime returns EBADF for it).
 */
#include "common.h"

#include <time.h>

static uint64_t ns(clockid_t id) {
    struct timespec ts;
    CHECK(clock_gettime(id, &ts) == 0, "clock_gettime: errno %d (%s)", errno,
          errno_name(errno));
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(long ms) {
    struct timespec req = {.tv_sec = 0, .tv_nsec = ms * 1000000L};
    CHECK(nanosleep(&req, NULL) == 0, "nanosleep: errno %d (%s)", errno,
          errno_name(errno));
}

static void check_res(const char *name, clockid_t id) {
    struct timespec res;
    CHECK(clock_getres(id, &res) == 0, "clock_getres %s: errno %d (%s)", name, errno,
          errno_name(errno));
    uint64_t r = (uint64_t)res.tv_sec * 1000000000u + (uint64_t)res.tv_nsec;
    int good = r > 0 && r <= 1000000000u;
    printf("clock_getres %s in (0, 1s]: %s\n", name, yesno(good));
    CHECK(good, "clock_getres %s out of range", name);
}

int main(void) {
    /* monotonic advances across a 10ms sleep (and never goes backwards) */
    uint64_t t0 = ns(CLOCK_MONOTONIC);
    sleep_ms(10);
    uint64_t t1 = ns(CLOCK_MONOTONIC);
    printf("monotonic advanced: %s\n", yesno(t1 > t0));
    CHECK(t1 > t0, "monotonic clock did not advance");
    uint64_t prev = t1;
    int monotone = 1;
    for (int i = 0; i < 1000; i++) {
        uint64_t t = ns(CLOCK_MONOTONIC);
        if (t < prev)
            monotone = 0;
        prev = t;
    }
    printf("monotonic never decreased: %s\n", yesno(monotone));
    CHECK(monotone, "monotonic clock went backwards");

    check_res("CLOCK_MONOTONIC", CLOCK_MONOTONIC);
    check_res("CLOCK_REALTIME", CLOCK_REALTIME);

    /* realtime is after 2020-01-01T00:00:00Z */
    uint64_t now = ns(CLOCK_REALTIME);
    int after2020 = now / 1000000000u > 1577836800u;
    printf("realtime after 2020-01-01: %s\n", yesno(after2020));
    CHECK(after2020, "realtime clock is before 2020");
    time_t tt = time(NULL);
    printf("time() after 2020-01-01: %s\n", yesno(tt > 1577836800));
    CHECK(tt > 1577836800, "time() is before 2020");

    /* nanosleep(20ms) takes at least 20ms by the monotonic clock */
    t0 = ns(CLOCK_MONOTONIC);
    sleep_ms(20);
    t1 = ns(CLOCK_MONOTONIC);
    printf("nanosleep 20ms slept >= 20ms: %s\n", yesno(t1 - t0 >= 20000000u));
    CHECK(t1 - t0 >= 20000000u, "nanosleep(20ms) returned early");

    /* zero-length sleep returns immediately and successfully */
    struct timespec zero = {0, 0};
    CHECK(nanosleep(&zero, NULL) == 0, "nanosleep(0): errno %d (%s)", errno,
          errno_name(errno));
    printf("nanosleep 0: ok\n");

    /* CPU-time clock: report only */
    struct timespec ts;
    /* Called, not printed: keel has the CPU-time clocks, Wasmtime gives
     * EBADF, so stdout stays comparable. */
    (void)clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    (void)clock_getres(CLOCK_PROCESS_CPUTIME_ID, &ts);

    puts("ok");
    return 0;
}
