/*
 * keel/platform.h: what keel needs from its home, for programs that give
 * it directly: kernels, hypervisors, programs without a C library.
 *
 * keel never calls an operating system by itself below its API. Its
 * memory for linear memories and code, the delivery of faults, and the
 * per-CPU state come from one platform, registered once, before the first
 * engine, with keel_platform_register. The hosted libkeel registers a
 * Linux platform of its own at the first engine when none was registered.
 *
 * A platform also delivers faults: when wasm code faults (a page fault on
 * a guard page, an undefined instruction for a trap, a division fault),
 * the program's exception vector or signal handler calls keel_trap_entry,
 * which ends the wasm call with a trap.
 *
 * THE FREESTANDING LIBRARY. Built without std (see crates/c-api/README.md:
 * `cargo build --profile freestanding -p keel-c-api --no-default-features
 * --features compiler`), libkeel.a needs no C library and no operating
 * system. Besides the platform, the program provides these symbols:
 *
 *   void *keel_host_alloc(size_t size, size_t align);
 *       `size` bytes aligned to `align` (a power of two, at most the page
 *       size), or null when memory is exhausted.
 *   void keel_host_free(void *ptr, size_t size, size_t align);
 *       Free a block keel_host_alloc returned, with its size and
 *       alignment.
 *   _Noreturn void keel_host_panic(const char *message, size_t len);
 *       keel hit a bug or ran out of memory; `len` bytes of UTF-8 say
 *       why. Must not return (halt, reset, or kill the task).
 *   memcpy, memmove, memset, memcmp (and bcmp, strlen)
 *       The first four as GCC and Clang require of any freestanding
 *       environment; Rust's core library calls the other two.
 *
 * The freestanding library has all of wasm.h and keel.h except WASI
 * (keel/wasi.h, keel_linker_define_wasi) and keel_wat2wasm; failures
 * wasm.h cannot return go to the platform's `log` callback. Without the
 * compiler feature it loads artifacts only (keel_module_deserialize of
 * keel_engine_precompile_module's output for the target).
 */
#ifndef KEEL_PLATFORM_H
#define KEEL_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <keel/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The access a range of memory is given (keel_platform_t.protect). */
#define KEEL_ACCESS_NONE 0        /* touching it faults */
#define KEEL_ACCESS_READ_WRITE 1  /* linear memories, code being written */
#define KEEL_ACCESS_READ_EXECUTE 2 /* finished code */

/*
 * The platform: callbacks keel calls, each with `env`. Callbacks may be
 * called from any thread (CPU) running keel, also concurrently.
 */
typedef struct keel_platform_t {
  /* Passed to every callback. */
  void *env;
  /* The page size in bytes, a power of two: every address and length
   * keel passes below is a multiple of it. */
  size_t page_size;
  /* Required. Reserve `len` bytes of address space nobody else uses,
   * inaccessible (KEEL_ACCESS_NONE), page-aligned; null when address
   * space or memory is exhausted. */
  void *(*reserve)(void *env, size_t len);
  /* Required. Give `len` bytes at `addr` (inside a reservation) the
   * access `access` (KEEL_ACCESS_*); pages made accessible for the first
   * time read as zero. False when memory cannot be committed. On code
   * made executable, the platform also synchronizes instruction caches
   * where the architecture needs it. */
  bool (*protect)(void *env, void *addr, size_t len, uint32_t access);
  /* Required. Release a whole reservation. */
  void (*release)(void *env, void *addr, size_t len);
  /* Whether KEEL_ACCESS_NONE really faults (an MMU). Without it keel
   * checks every memory access in the code. */
  bool has_virtual_memory;
  /* Whether faults in wasm code reach keel_trap_entry. keel's code raises
   * traps as faults, so engines need this true. */
  bool has_trap_handlers;
  /* Optional. Called once per thread (CPU) before it first enters wasm:
   * install fault handlers here. */
  void (*init_traps)(void *env);
  /* Required. The address of the calling CPU's (thread's) keel slot: a
   * pointer-sized location, null at first, private to that CPU, that keel
   * fills with its per-CPU state and reads on every call and fault. */
  void **(*cpu_slot)(void *env);
  /* Optional. The calling thread's stack as [*low, *high); false if not
   * known. keel bounds wasm's stack use within it. */
  bool (*stack_bounds)(void *env, uintptr_t *low, uintptr_t *high);
  /* Optional. One line of diagnostics, `len` bytes of UTF-8 (no NUL, no
   * newline): why a wasm.h call returned null. */
  void (*log)(void *env, const char *message, size_t len);
} keel_platform_t;

/* Register `platform` (copied) for the rest of the process: once, before
 * the first engine; configurations made afterwards (wasm_config_new,
 * wasm_engine_new) use it. Returns null, or an error if a required
 * callback is null, the page size is not a power of two, or one is
 * already registered. keel's memory safety rests on the callbacks keeping
 * the contracts above. */
WASM_API_EXTERN keel_error_t *keel_platform_register(const keel_platform_t *platform);

/* The trap entry: call it from the fault handler of the CPU (thread) that
 * faulted, with the faulting instruction's address `pc`, the frame
 * pointer at the fault `fp`, and the faulting data address (0 if none).
 * If the fault is a trap of the wasm running there, the wasm call ends
 * with that trap and this does not return: every frame up to the call is
 * discarded, so make it the handler's last act, and leave signal masks as
 * they were (SA_NODEFER). Otherwise returns false: not keel's fault. */
WASM_API_EXTERN bool keel_trap_entry(uintptr_t pc, uintptr_t fp, uintptr_t fault_address);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KEEL_PLATFORM_H */
