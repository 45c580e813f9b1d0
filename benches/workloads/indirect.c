/* `call_indirect` in a loop: a dispatch loop over a table of small
 * operations, chosen by a pseudo-random program. */
#include "common.h"

typedef uint32_t (*op_fn)(uint32_t, uint32_t);
static uint32_t op_add(uint32_t a, uint32_t b) { return a + b; }
static uint32_t op_sub(uint32_t a, uint32_t b) { return a - b; }
static uint32_t op_xor(uint32_t a, uint32_t b) { return a ^ b; }
static uint32_t op_mul(uint32_t a, uint32_t b) { return a * (b | 1); }
static uint32_t op_rotl(uint32_t a, uint32_t b) { return (a << (b & 31)) | (a >> ((32 - b) & 31)); }
static uint32_t op_or(uint32_t a, uint32_t b) { return a | (b >> 3); }
static uint32_t op_and(uint32_t a, uint32_t b) { return a & (b | 0x0f0f0f0f); }
static uint32_t op_shr(uint32_t a, uint32_t b) { return a >> (b & 7); }
/* Kept in memory so the compiler cannot resolve the calls statically. */
static volatile op_fn ops[8] = {op_add, op_sub, op_xor, op_mul, op_rotl, op_or, op_and, op_shr};

#define PROGRAM 4096
static uint8_t program[PROGRAM];

EXPORT(run) uint32_t indirect_run(uint32_t rounds) {
    uint32_t seed = 99;
    for (int i = 0; i < PROGRAM; i++) {
        seed = seed * 1103515245u + 12345u;
        program[i] = (seed >> 16) & 7;
    }
    op_fn table[8];
    for (int i = 0; i < 8; i++) table[i] = ops[i];
    uint32_t acc = 1;
    for (uint32_t r = 0; r < rounds; r++) {
        for (int i = 0; i < PROGRAM; i++) {
            acc = table[program[i]](acc, (uint32_t)i + r);
        }
    }
    return acc;
}
