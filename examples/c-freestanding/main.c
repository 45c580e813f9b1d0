/*
 * A freestanding C program (no C library: -ffreestanding -nostdlib, raw
 * Linux system calls) that JIT-compiles and runs a WebAssembly guest with
 * the no_std libkeel.a. It supplies exactly what keel/platform.h asks of
 * a program without an operating system library:
 *
 *   - the platform table (keel_platform_register): memory reservation
 *     and protection over mmap/mprotect/munmap, a per-CPU slot, the
 *     stack's bounds, a log line writer;
 *   - the fault path: SIGSEGV/SIGBUS/SIGILL/SIGFPE handlers that hand the
 *     faulting pc, frame pointer and address to keel_trap_entry;
 *   - the allocator hook (keel_host_alloc/keel_host_free) and the panic
 *     hook (keel_host_panic);
 *   - memcpy, memmove, memset, memcmp, which GCC and Clang require of
 *     every freestanding environment, and bcmp and strlen, which Rust's
 *     core library calls.
 *
 * A kernel does the same with its page tables, exception vectors, heap and
 * per-CPU data. x86_64 Linux only (the system call numbers and the signal
 * frame layout are x86_64's).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <keel.h>

/* ---- System calls ------------------------------------------------------- */

static long syscall6(long n, long a, long b, long c, long d, long e, long f) {
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}

enum { SYS_write = 1, SYS_mmap = 9, SYS_mprotect = 10, SYS_munmap = 11, SYS_rt_sigaction = 13,
       SYS_rt_sigreturn = 15, SYS_exit_group = 231 };
enum { PROT_NONE = 0, PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4 };
enum { MAP_PRIVATE = 0x02, MAP_ANONYMOUS = 0x20, MAP_NORESERVE = 0x4000 };

static _Noreturn void exit_group(int status) {
  for (;;) syscall6(SYS_exit_group, status, 0, 0, 0, 0, 0);
}

static void *mmap_anon(size_t len, int prot) {
  long p = syscall6(SYS_mmap, 0, (long)len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return (p < 0 && p > -4096) ? NULL : (void *)p;
}

/* ---- What GCC and Clang require of a freestanding environment ----------- */
/* (Written with volatile accesses so the compiler cannot turn the loops
 * back into calls of themselves.) */

void *memcpy(void *dst, const void *src, size_t n) {
  volatile unsigned char *d = dst;
  const volatile unsigned char *s = src;
  while (n--) *d++ = *s++;
  return dst;
}

void *memmove(void *dst, const void *src, size_t n) {
  volatile unsigned char *d = dst;
  const volatile unsigned char *s = src;
  if (d < s) {
    while (n--) *d++ = *s++;
  } else {
    while (n--) d[n] = s[n];
  }
  return dst;
}

void *memset(void *dst, int c, size_t n) {
  volatile unsigned char *d = dst;
  while (n--) *d++ = (unsigned char)c;
  return dst;
}

int memcmp(const void *a, const void *b, size_t n) {
  const volatile unsigned char *x = a, *y = b;
  for (; n--; ++x, ++y) {
    if (*x != *y) return *x < *y ? -1 : 1;
  }
  return 0;
}

int bcmp(const void *a, const void *b, size_t n) { return memcmp(a, b, n); }

size_t strlen(const char *s) {
  const volatile char *p = s;
  while (*p) ++p;
  return (size_t)(p - s);
}

/* ---- Output ------------------------------------------------------------- */

static void put(const char *s, size_t n) { syscall6(SYS_write, 1, (long)s, (long)n, 0, 0, 0); }
static void puts_(const char *s) { put(s, strlen(s)); }

static void put_u64(uint64_t v) {
  char buf[24];
  int i = sizeof buf;
  do buf[--i] = (char)('0' + v % 10); while ((v /= 10) != 0);
  put(buf + i, sizeof buf - i);
}

static _Noreturn void die(const char *what) {
  puts_("freestanding: ");
  puts_(what);
  puts_("\n");
  exit_group(1);
}

/* ---- The allocator hook --------------------------------------------------- */
/* Size classes of powers of two from 16 bytes to 64 KiB, each a free list
 * carved from 1 MiB chunks (a block of size 2^k is 2^k-aligned, up to the
 * page size); larger blocks are their own mappings. */

enum { MIN_SHIFT = 4, MAX_SHIFT = 16, CHUNK = 1 << 20 };
static void *free_lists[MAX_SHIFT + 1];

static unsigned class_of(size_t size, size_t align) {
  size_t need = size > align ? size : align;
  unsigned shift = MIN_SHIFT;
  while (((size_t)1 << shift) < need) ++shift;
  return shift;
}

void *keel_host_alloc(size_t size, size_t align) {
  if (align > 4096) return NULL;
  unsigned shift = class_of(size, align);
  if (shift > MAX_SHIFT) {
    return mmap_anon((size + 4095) & ~(size_t)4095, PROT_READ | PROT_WRITE);
  }
  if (!free_lists[shift]) {
    char *chunk = mmap_anon(CHUNK, PROT_READ | PROT_WRITE);
    if (!chunk) return NULL;
    for (size_t off = 0; off < CHUNK; off += (size_t)1 << shift) {
      *(void **)(chunk + off) = free_lists[shift];
      free_lists[shift] = chunk + off;
    }
  }
  void *block = free_lists[shift];
  free_lists[shift] = *(void **)block;
  return block;
}

void keel_host_free(void *ptr, size_t size, size_t align) {
  unsigned shift = class_of(size, align);
  if (shift > MAX_SHIFT) {
    syscall6(SYS_munmap, (long)ptr, (long)((size + 4095) & ~(size_t)4095), 0, 0, 0, 0);
    return;
  }
  *(void **)ptr = free_lists[shift];
  free_lists[shift] = ptr;
}

/* ---- The panic hook --------------------------------------------------------- */

_Noreturn void keel_host_panic(const char *message, size_t len) {
  puts_("freestanding: keel panicked: ");
  put(message, len);
  puts_("\n");
  exit_group(101);
}

/* ---- The platform ----------------------------------------------------------- */

static uintptr_t stack_top;

static void *reserve(void *env, size_t len) {
  (void)env;
  return mmap_anon(len, PROT_NONE);
}

static bool protect(void *env, void *addr, size_t len, uint32_t access) {
  (void)env;
  int prot = access == KEEL_ACCESS_READ_WRITE     ? PROT_READ | PROT_WRITE
             : access == KEEL_ACCESS_READ_EXECUTE ? PROT_READ | PROT_EXEC
                                                  : PROT_NONE;
  return syscall6(SYS_mprotect, (long)addr, (long)len, prot, 0, 0, 0) == 0;
}

static void release(void *env, void *addr, size_t len) {
  (void)env;
  syscall6(SYS_munmap, (long)addr, (long)len, 0, 0, 0, 0);
}

/* One thread: one slot. A kernel returns its current CPU's. */
static void *cpu_slot_storage;
static void **cpu_slot(void *env) {
  (void)env;
  return &cpu_slot_storage;
}

/* The main thread's stack: 1 MiB below where _start found it (Linux grows
 * it on demand up to its limit, 8 MiB by default). */
static bool stack_bounds(void *env, uintptr_t *low, uintptr_t *high) {
  (void)env;
  *low = stack_top - (1 << 20);
  *high = stack_top;
  return true;
}

static void log_line(void *env, const char *message, size_t len) {
  (void)env;
  puts_("keel: ");
  put(message, len);
  puts_("\n");
}

/* ---- Faults ----------------------------------------------------------------- */

struct kernel_sigaction {
  void (*handler)(int, void *, void *);
  unsigned long flags;
  void (*restorer)(void);
  uint64_t mask;
};
enum { SA_SIGINFO = 4, SA_RESTORER = 0x04000000, SA_NODEFER = 0x40000000 };
enum { SIGILL = 4, SIGBUS = 7, SIGFPE = 8, SIGSEGV = 11 };

/* x86_64 signal frame: siginfo's si_addr at byte 16; ucontext's general
 * registers from byte 40, RBP the 11th and RIP the 17th. */
static void on_fault(int sig, void *info, void *context) {
  uint64_t *regs = (uint64_t *)((char *)context + 40);
  uintptr_t fault_address = *(uintptr_t *)((char *)info + 16);
  /* Does not return if the fault is a trap of the running wasm. */
  keel_trap_entry(regs[16], regs[10], fault_address);
  puts_("freestanding: a fault outside wasm, signal ");
  put_u64((uint64_t)sig);
  puts_("\n");
  exit_group(128 + sig);
}

/* The kernel returns from a handler through this (SA_RESTORER). */
__attribute__((naked)) static void restore(void) {
  __asm__ volatile("mov $15, %eax\n\tsyscall");
}

static void init_traps(void *env) {
  (void)env;
  /* SA_NODEFER: keel_trap_entry leaves the handler by a jump, so the
   * signal must not stay blocked. */
  struct kernel_sigaction action = {on_fault, SA_SIGINFO | SA_RESTORER | SA_NODEFER, restore, 0};
  int signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE};
  for (unsigned i = 0; i < sizeof signals / sizeof signals[0]; ++i) {
    if (syscall6(SYS_rt_sigaction, signals[i], (long)&action, 0, 8, 0, 0) != 0) {
      die("rt_sigaction failed");
    }
  }
}

/* ---- The guest ---------------------------------------------------------------- */

/* The guest, embedded by the assembler: guest.wasm (built from guest.wat
 * by run.sh) to compile, or with KEEL_FROM_ARTIFACT (for the library
 * without the compiler) guest.cwasm, the artifact precompile.c made. */
#ifdef KEEL_FROM_ARTIFACT
#define GUEST_FILE "guest.cwasm"
#else
#define GUEST_FILE "guest.wasm"
#endif
__asm__(".section .rodata\n"
        ".balign 16\n"
        "guest_wasm: .incbin \"" GUEST_FILE "\"\n"
        "guest_wasm_end:\n"
        ".text\n");
extern const char guest_wasm[], guest_wasm_end[];

static wasm_trap_t *report(const wasm_val_vec_t *args, wasm_val_vec_t *results) {
  (void)results;
  puts_("fib(");
  put_u64((uint32_t)args->data[0].of.i32);
  puts_(") = ");
  put_u64((uint32_t)args->data[1].of.i32);
  puts_("\n");
  return NULL;
}

/* Call `func` with `args`, expecting a trap whose message is printed. */
static void expect_trap(const wasm_func_t *func, wasm_val_t *args, size_t nargs, size_t nresults,
                        const char *what) {
  wasm_val_vec_t argv = {nargs, args};
  wasm_val_t out[1];
  wasm_val_vec_t results = {nresults, out};
  wasm_trap_t *trap = wasm_func_call(func, &argv, &results);
  if (!trap) die(what);
  wasm_message_t message;
  wasm_trap_message(trap, &message);
  puts_(what);
  puts_(": ");
  puts_(message.data);
  puts_("\n");
  wasm_byte_vec_delete(&message);
  wasm_trap_delete(trap);
}

static int run(void) {
  keel_platform_t platform = {
      .env = NULL,
      .page_size = 4096,
      .reserve = reserve,
      .protect = protect,
      .release = release,
      .has_virtual_memory = true,
      .has_trap_handlers = true,
      .init_traps = init_traps,
      .cpu_slot = cpu_slot,
      .stack_bounds = stack_bounds,
      .log = log_line,
  };
  keel_error_t *error = keel_platform_register(&platform);
  if (error) die("keel_platform_register failed");

  /* Without an operating system keel cannot probe the CPU: say what it
   * is (any x86_64 CPU of the last fifteen years has these). */
  wasm_config_t *config = wasm_config_new();
  const char *flags[] = {"has_sse3", "has_ssse3", "has_sse41", "has_sse42"};
  if (keel_config_target_set(config, "x86_64-unknown-none")) die("keel_config_target_set failed");
  for (unsigned i = 0; i < sizeof flags / sizeof flags[0]; ++i) {
    if (keel_config_cranelift_flag_enable(config, flags[i])) die("a CPU flag was refused");
  }
  wasm_engine_t *engine;
  if (keel_engine_new_with_config(config, &engine)) die("no engine");
  wasm_store_t *store = wasm_store_new(engine);
  size_t guest_len = (size_t)(guest_wasm_end - guest_wasm);
#ifdef KEEL_FROM_ARTIFACT
  wasm_module_t *module;
  if (keel_module_deserialize(engine, (const uint8_t *)guest_wasm, guest_len, &module)) {
    die("the guest's artifact does not load");
  }
#else
  wasm_byte_vec_t binary = {guest_len, (wasm_byte_t *)guest_wasm};
  wasm_module_t *module = wasm_module_new(store, &binary);
  if (!module) die("the guest does not compile");
#endif

  wasm_valtype_t *i32a = wasm_valtype_new_i32(), *i32b = wasm_valtype_new_i32();
  wasm_functype_t *report_type = wasm_functype_new_2_0(i32a, i32b);
  wasm_func_t *report_func = wasm_func_new(store, report_type, report);
  wasm_functype_delete(report_type);
  wasm_extern_t *imports_data[] = {wasm_func_as_extern(report_func)};
  wasm_extern_vec_t imports = {1, imports_data};
  wasm_instance_t *instance = wasm_instance_new(store, module, &imports, NULL);
  if (!instance) die("the guest does not instantiate");
  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);
  /* memory, fib, run, unreachable, load, div */
  if (exports.size != 6) die("unexpected exports");

  wasm_val_t n[1] = {WASM_I32_VAL(25)};
  wasm_val_vec_t args = {1, n};
  wasm_val_vec_t none = {0, NULL};
  if (wasm_func_call(wasm_extern_as_func(exports.data[2]), &args, &none)) die("run trapped");

  expect_trap(wasm_extern_as_func(exports.data[3]), NULL, 0, 0, "unreachable");
  wasm_val_t address[1] = {WASM_I32_VAL(-8)};
  expect_trap(wasm_extern_as_func(exports.data[4]), address, 1, 1, "load at 0xfffffff8");
  wasm_val_t operands[2] = {WASM_I32_VAL(1), WASM_I32_VAL(0)};
  expect_trap(wasm_extern_as_func(exports.data[5]), operands, 2, 1, "1 / 0");

  /* After the traps, wasm runs as before. */
  wasm_val_t m[1] = {WASM_I32_VAL(10)};
  wasm_val_vec_t args10 = {1, m};
  if (wasm_func_call(wasm_extern_as_func(exports.data[2]), &args10, &none)) die("run trapped");

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_func_delete(report_func);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  puts_("done\n");
  return 0;
}

/* The entry point: no C runtime to call main. */
__attribute__((used)) static _Noreturn void start_c(uintptr_t sp) {
  stack_top = sp;
  exit_group(run());
}

__asm__(".text\n"
        ".global _start\n"
        "_start:\n"
        "  xor %rbp, %rbp\n"
        "  mov %rsp, %rdi\n"
        "  and $-16, %rsp\n"
        "  call start_c\n"
        "  hlt\n");
