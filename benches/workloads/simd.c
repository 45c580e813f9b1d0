/* SIMD: dot products and saxpy with 128-bit vectors (wasm_simd128.h when
 * compiled to wasm, the same arithmetic in scalar C natively). */
#include "common.h"

#define LEN 4096
static float xs[LEN], ys[LEN];

#ifdef __wasm__
#include <wasm_simd128.h>
static float dot(void) {
    v128_t acc = wasm_f32x4_splat(0);
    for (int i = 0; i < LEN; i += 4)
        acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_v128_load(&xs[i]), wasm_v128_load(&ys[i])));
    return wasm_f32x4_extract_lane(acc, 0) + wasm_f32x4_extract_lane(acc, 1) +
           wasm_f32x4_extract_lane(acc, 2) + wasm_f32x4_extract_lane(acc, 3);
}
static void saxpy(float a) {
    v128_t va = wasm_f32x4_splat(a);
    for (int i = 0; i < LEN; i += 4)
        wasm_v128_store(&ys[i], wasm_f32x4_add(wasm_f32x4_mul(va, wasm_v128_load(&xs[i])), wasm_v128_load(&ys[i])));
}
#else
static float dot(void) {
    float acc[4] = {0, 0, 0, 0};
    for (int i = 0; i < LEN; i += 4)
        for (int k = 0; k < 4; k++) acc[k] += xs[i + k] * ys[i + k];
    return acc[0] + acc[1] + acc[2] + acc[3];
}
static void saxpy(float a) {
    for (int i = 0; i < LEN; i++) ys[i] = a * xs[i] + ys[i];
}
#endif

EXPORT(run) float simd_run(uint32_t rounds) {
    for (int i = 0; i < LEN; i++) {
        xs[i] = (float)(i % 17) * 0.25f;
        ys[i] = (float)(i % 13) * 0.5f;
    }
    float total = 0;
    for (uint32_t r = 0; r < rounds; r++) {
        saxpy(0.001f);
        total += dot();
    }
    return total;
}
