/*
 * keel.h: keel's extensions to the standard WebAssembly C API (wasm.h).
 *
 * Include this header instead of wasm.h (it includes it). Each topic has
 * its own header under keel/, included here:
 *
 *   keel/error.h   keel_error_t: the errors of keel's own functions
 *   keel/config.h  configuration setters (fuel, epochs, stack, bounds
 *                  checks, features, target); engines with errors
 *   keel/module.h  compilation with errors; artifacts (serialize,
 *                  deserialize, precompile for another target)
 *   keel/store.h   fuel, epoch deadlines and resource limits
 *   keel/trap.h    trap codes and WASI exit statuses
 *   keel/linker.h  linking imports by name, WASI included
 *   keel/platform.h  keel's platform as C callbacks, the trap entry, and
 *                  what the freestanding (no C library) libkeel.a needs
 *   keel/wasi.h    WASI preview 1 contexts
 *   keel/wat.h     keel_wat2wasm: the text format to a binary module
 *
 * Conventions (as wasm.h's and Wasmtime's wasmtime.h): a function that can
 * fail returns an owned keel_error_t* (null on success) and writes its
 * results through out-pointers only on success; what a comment calls
 * "owned by the caller" (wasm.h's "own") the caller frees with the
 * matching _delete. No function aborts or unwinds on bad input: a keel
 * bug surfaces as an error, too.
 *
 * Link with libkeel.a (plus -lpthread -ldl -lm) or libkeel.so; see
 * crates/c-api/README.md.
 */
#ifndef KEEL_H
#define KEEL_H

#include <wasm.h>

#include <keel/config.h>
#include <keel/error.h>
#include <keel/linker.h>
#include <keel/module.h>
#include <keel/platform.h>
#include <keel/store.h>
#include <keel/trap.h>
#include <keel/wasi.h>
#include <keel/wat.h>

#endif /* KEEL_H */
