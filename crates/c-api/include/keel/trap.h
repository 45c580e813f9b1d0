/*
 * keel/trap.h: why a trap happened: its wasm trap code, or a WASI
 * program's exit status (as Wasmtime's wasmtime_trap_code and
 * wasmtime_error_exit_status).
 */
#ifndef KEEL_TRAP_H
#define KEEL_TRAP_H

#include <stdbool.h>
#include <stdint.h>

#include <wasm.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A wasm trap code: keel's trap discriminants. */
typedef uint8_t keel_trap_code_t;

/* The call stack grew past the engine's max wasm stack. */
#define KEEL_TRAP_CODE_STACK_OVERFLOW 1
/* A memory access or bulk operation outside the linear memory. */
#define KEEL_TRAP_CODE_MEMORY_OUT_OF_BOUNDS 2
/* A table index outside the table. */
#define KEEL_TRAP_CODE_TABLE_OUT_OF_BOUNDS 3
/* call_indirect found a null entry. */
#define KEEL_TRAP_CODE_INDIRECT_CALL_TO_NULL 4
/* call_indirect found a function of another type. */
#define KEEL_TRAP_CODE_BAD_SIGNATURE 5
/* Signed integer division overflowed. */
#define KEEL_TRAP_CODE_INTEGER_OVERFLOW 6
/* Integer division or remainder by zero. */
#define KEEL_TRAP_CODE_INTEGER_DIVISION_BY_ZERO 7
/* A float-to-integer conversion of NaN or an out-of-range value. */
#define KEEL_TRAP_CODE_BAD_CONVERSION_TO_INTEGER 8
/* The unreachable instruction ran. */
#define KEEL_TRAP_CODE_UNREACHABLE_CODE_REACHED 9
/* A null reference was used. */
#define KEEL_TRAP_CODE_NULL_REFERENCE 10
/* The store's fuel ran out (keel_store_set_fuel). */
#define KEEL_TRAP_CODE_OUT_OF_FUEL 11
/* The store's epoch deadline passed (keel_store_set_epoch_deadline). */
#define KEEL_TRAP_CODE_INTERRUPT 12
/* A misaligned atomic access. */
#define KEEL_TRAP_CODE_HEAP_MISALIGNED 13
/* memory.atomic.wait on an unshared memory. */
#define KEEL_TRAP_CODE_ATOMIC_WAIT_NON_SHARED_MEMORY 14
/* memory.atomic.wait where the platform cannot block. */
#define KEEL_TRAP_CODE_ATOMIC_WAIT_UNSUPPORTED 15
/* A ref.cast or br_on_cast_fail to a type the value does not have. */
#define KEEL_TRAP_CODE_CAST_FAILURE 16
/* An array index outside the array. */
#define KEEL_TRAP_CODE_ARRAY_OUT_OF_BOUNDS 17
/* A GC allocation too large for the heap. */
#define KEEL_TRAP_CODE_ALLOCATION_TOO_LARGE 18

/* True if wasm code raised `trap`, with its code in `*code`; false for a
 * host function's trap or a WASI exit. */
WASM_API_EXTERN bool keel_trap_code(const wasm_trap_t *trap, keel_trap_code_t *code);

/* True if `trap` is a WASI program's exit (proc_exit unwinds the call as
 * a trap), with its exit status in `*status`. */
WASM_API_EXTERN bool keel_trap_exit_status(const wasm_trap_t *trap, int *status);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KEEL_TRAP_H */
