/* Shared by every workload: exported entry points, no libc. */
#ifndef KEEL_BENCH_COMMON_H
#define KEEL_BENCH_COMMON_H
#include <stdint.h>
#include <stddef.h>
#ifdef __wasm__
#define EXPORT(name) __attribute__((export_name(#name)))
#else
#define EXPORT(name)
#endif
#endif
