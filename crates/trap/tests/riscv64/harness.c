// Runs keel-trap's riscv64 assembly (src/arch/riscv64.S) under
// qemu-riscv64: the jump buffer (keel_setjmp_call / keel_longjmp) and the
// fiber switch (keel_fiber_switch / keel_fiber_start), checking that every
// callee-saved register survives each of them, and the exception-unwinding
// entry and exit (keel_unwind_stub / keel_resume). Built and run by run.sh.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*callback_t)(void *);
typedef void (*entry_t)(void *, uintptr_t);

// The routines under test.
extern int keel_setjmp_call(uintptr_t *buf, callback_t callback, void *data);
extern void keel_longjmp(const uintptr_t *buf) __attribute__((noreturn));
extern uintptr_t keel_fiber_switch(uintptr_t *save_sp, uintptr_t new_sp, uintptr_t arg);
extern void keel_fiber_start(void);
extern void keel_unwind_stub(void);
extern void keel_resume(uintptr_t pc, uintptr_t sp, uintptr_t fp, uintptr_t payload0,
                        uintptr_t payload1) __attribute__((noreturn));

// Probes (probes.S).
extern long probe_setjmp(uintptr_t *buf, callback_t callback, void *data, uint64_t *out);
extern long probe_switch(uintptr_t *save_sp, uintptr_t new_sp, uintptr_t arg, uint64_t *out);
extern void clobber_longjmp(const uintptr_t *buf) __attribute__((noreturn));
extern uintptr_t clobber_switch(uintptr_t *save_sp, uintptr_t new_sp, uintptr_t arg);
typedef void (*unwind_target_t)(uintptr_t, uintptr_t, uintptr_t, uintptr_t, uintptr_t, uintptr_t);
extern void probe_unwind(unwind_target_t target);
extern char probe_unwind_ret[], probe_unwind_landing[];
uintptr_t probe_unwind_sp;
uintptr_t probe_unwind_seen[4];

static int failures;
static int checks;

#define CHECK(cond, ...)                                                      \
    do {                                                                      \
        checks++;                                                             \
        if (!(cond)) {                                                        \
            failures++;                                                       \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                       \
            printf(__VA_ARGS__);                                              \
            printf("\n");                                                     \
        }                                                                     \
    } while (0)

// out[0..12] = s0-s11, out[12..24] = fs0-fs11, as filled with `base`.
static void check_registers(const char *what, const uint64_t *out, uint64_t base) {
    for (int n = 0; n < 12; n++) {
        CHECK(out[n] == base + n, "%s: s%d = %#llx, expected %#llx", what, n,
              (unsigned long long)out[n], (unsigned long long)(base + n));
        CHECK(out[12 + n] == base + 0x100 + n, "%s: fs%d = %#llx, expected %#llx", what, n,
              (unsigned long long)out[12 + n], (unsigned long long)(base + 0x100 + n));
    }
}

// --- jump buffer -----------------------------------------------------------

static uintptr_t jmp_buf_[26];

static int returns_seven(void *data) {
    (void)data;
    return 7;
}

static int jumps_back(void *data) {
    clobber_longjmp((const uintptr_t *)data);
}

static void test_jump_buffer(void) {
    uint64_t out[24];
    memset(out, 0, sizeof out);
    long r = probe_setjmp(jmp_buf_, returns_seven, NULL, out);
    CHECK(r == 7, "keel_setjmp_call returned %ld, expected the callback's 7", r);
    check_registers("after a normal return", out, 0x5a000);

    memset(out, 0, sizeof out);
    r = probe_setjmp(jmp_buf_, jumps_back, jmp_buf_, out);
    CHECK(r == 1, "keel_setjmp_call returned %ld after keel_longjmp, expected 1", r);
    check_registers("after keel_longjmp", out, 0x5a000);

    // Nested: the inner jump lands in the inner call only.
    r = keel_setjmp_call(jmp_buf_, returns_seven, NULL);
    CHECK(r == 7, "a second call returned %ld", r);
}

// --- fiber switch ----------------------------------------------------------

enum { STACK_SIZE = 64 * 1024, SWITCH_FRAME = 208 };
static _Alignas(16) unsigned char fiber_stack[STACK_SIZE];
static uintptr_t main_sp, fiber_sp;
static int fiber_steps;

// The fresh-stack layout riscv64.S documents: one switch frame below the
// top with ra = keel_fiber_start, s0 = 0, s1 = entry, s2 = data.
static uintptr_t init_stack(uintptr_t top, entry_t entry, void *data) {
    uintptr_t sp = top - SWITCH_FRAME;
    uintptr_t *frame = (uintptr_t *)sp;
    memset(frame, 0, SWITCH_FRAME);
    frame[0] = (uintptr_t)keel_fiber_start;
    frame[1] = 0;
    frame[2] = (uintptr_t)entry;
    frame[3] = (uintptr_t)data;
    return sp;
}

static void fiber_entry(void *data, uintptr_t arg) {
    unsigned char marker;
    uintptr_t here = (uintptr_t)&marker;
    CHECK(here >= (uintptr_t)fiber_stack && here < (uintptr_t)fiber_stack + STACK_SIZE,
          "the fiber runs on %#lx, outside its stack", (unsigned long)here);
    CHECK(data == (void *)0x1234, "entry got data %p", data);
    CHECK(arg == 41, "entry got arg %lu on the first switch, expected 41", (unsigned long)arg);
    fiber_steps++;
    uintptr_t r = clobber_switch(&fiber_sp, main_sp, 100);
    CHECK(r == 42, "the fiber was resumed with %lu, expected 42", (unsigned long)r);
    fiber_steps++;
    // Deep recursion on the fiber's stack still works after a resume.
    volatile unsigned char big[16 * 1024];
    memset((void *)big, 0xab, sizeof big);
    CHECK(big[100] == 0xab, "fiber stack memory");
    clobber_switch(&fiber_sp, main_sp, 200);
    printf("FAIL: a finished fiber was resumed\n");
    exit(1);
}

static void test_fiber_switch(void) {
    uintptr_t top = ((uintptr_t)fiber_stack + STACK_SIZE) & ~(uintptr_t)15;
    uintptr_t sp = init_stack(top, fiber_entry, (void *)0x1234);
    uint64_t out[24];

    memset(out, 0, sizeof out);
    long r = probe_switch(&main_sp, sp, 41, out);
    CHECK(r == 100, "the first switch came back with %ld, expected 100", r);
    CHECK(fiber_steps == 1, "fiber steps %d after the first switch", fiber_steps);
    check_registers("after switching to a fresh stack and back", out, 0x6b000);

    memset(out, 0, sizeof out);
    r = probe_switch(&main_sp, fiber_sp, 42, out);
    CHECK(r == 200, "the second switch came back with %ld, expected 200", r);
    CHECK(fiber_steps == 2, "fiber steps %d after the second switch", fiber_steps);
    check_registers("after resuming the fiber and back", out, 0x6b000);
}

// --- exception unwinding -------------------------------------------------

static uintptr_t unwind_args[6];

static void unwind_target(uintptr_t a0, uintptr_t a1, uintptr_t a2, uintptr_t target,
                          uintptr_t pc, uintptr_t fp) {
    uintptr_t args[6] = {a0, a1, a2, target, pc, fp};
    memcpy(unwind_args, args, sizeof args);
    keel_resume((uintptr_t)probe_unwind_landing, probe_unwind_sp, 0xfeed0, 0x1111, 0x2222);
}

static void test_unwind(void) {
    probe_unwind(unwind_target);
    CHECK(unwind_args[0] == 11 && unwind_args[1] == 22 && unwind_args[2] == 33,
          "the stub passed arguments %lu, %lu, %lu", (unsigned long)unwind_args[0],
          (unsigned long)unwind_args[1], (unsigned long)unwind_args[2]);
    CHECK(unwind_args[3] == (uintptr_t)unwind_target, "the stub passed target %#lx",
          (unsigned long)unwind_args[3]);
    CHECK(unwind_args[4] == (uintptr_t)probe_unwind_ret, "pc %#lx, expected %#lx",
          (unsigned long)unwind_args[4], (unsigned long)(uintptr_t)probe_unwind_ret);
    CHECK(unwind_args[5] == 0x12345678, "fp %#lx, expected the caller's s0",
          (unsigned long)unwind_args[5]);
    CHECK(probe_unwind_seen[0] == 0x1111 && probe_unwind_seen[1] == 0x2222,
          "payload a0 = %#lx, a1 = %#lx", (unsigned long)probe_unwind_seen[0],
          (unsigned long)probe_unwind_seen[1]);
    CHECK(probe_unwind_seen[2] == 0xfeed0, "resumed with s0 = %#lx",
          (unsigned long)probe_unwind_seen[2]);
    CHECK(probe_unwind_seen[3] == probe_unwind_sp, "resumed with sp = %#lx, expected %#lx",
          (unsigned long)probe_unwind_seen[3], (unsigned long)probe_unwind_sp);
}

// --- lazy compilation ----------------------------------------------------

extern void probe_lazy(void);
extern void keel_lazy_trampoline(void);
extern char probe_lazy_ret[], lazy_target[];
uint64_t probe_lazy_seen[18], probe_lazy_saved[24];
uintptr_t probe_lazy_sp;
static uintptr_t lazy_args[3];

// What keel-trap's Rust side does for the trampoline: here, record the
// arguments and clobber every caller-saved register the C compiler may,
// then send the trampoline on to lazy_target.
uintptr_t keel_lazy_compile_entry(uintptr_t arg0, uintptr_t arg1, uint32_t index) {
    lazy_args[0] = arg0;
    lazy_args[1] = index;
    lazy_args[2] = arg1;
    volatile double clobber = 1.5;
    for (int i = 0; i < 8; i++) clobber = clobber * 3.25 + i;
    (void)clobber;
    return (uintptr_t)lazy_target;
}

static void test_lazy(void) {
    probe_lazy();
    CHECK(lazy_args[0] == 0x300 && lazy_args[2] == 0x301 && lazy_args[1] == 42,
          "the trampoline passed a0 %#lx, a1 %#lx and index %lu", (unsigned long)lazy_args[0],
          (unsigned long)lazy_args[2], (unsigned long)lazy_args[1]);
    for (int n = 0; n < 8; n++) {
        CHECK(probe_lazy_seen[n] == 0x300u + n, "a%d reached the code as %#lx", n,
              (unsigned long)probe_lazy_seen[n]);
        CHECK(probe_lazy_seen[8 + n] == 0x400u + n, "fa%d reached the code as %#lx", n,
              (unsigned long)probe_lazy_seen[8 + n]);
    }
    CHECK(probe_lazy_seen[16] == (uintptr_t)probe_lazy_ret, "ra at the code %#lx, expected %#lx",
          (unsigned long)probe_lazy_seen[16], (unsigned long)(uintptr_t)probe_lazy_ret);
    CHECK(probe_lazy_seen[17] == probe_lazy_sp, "sp at the code %#lx, expected %#lx",
          (unsigned long)probe_lazy_seen[17], (unsigned long)probe_lazy_sp);
    check_registers("around the lazy trampoline", probe_lazy_saved, 0x7c000);
}

int main(void) {
    test_jump_buffer();
    test_fiber_switch();
    test_unwind();
    test_lazy();
    printf("riscv64 harness: %d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
