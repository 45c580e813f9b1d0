/* A memory-bound inner loop: insertion sort of pseudo-random words. */
#include "common.h"

#define COUNT 4096
static uint32_t items[COUNT];

EXPORT(run) uint32_t isort_run(uint32_t rounds) {
    uint32_t seed = 777, check = 0;
    for (uint32_t r = 0; r < rounds; r++) {
        for (int i = 0; i < COUNT; i++) {
            seed = seed * 1664525u + 1013904223u;
            items[i] = seed >> 4;
        }
        for (int i = 1; i < COUNT; i++) {
            uint32_t x = items[i];
            int j = i;
            while (j > 0 && items[j - 1] > x) {
                items[j] = items[j - 1];
                j--;
            }
            items[j] = x;
        }
        check += items[0] ^ items[COUNT / 3] ^ items[COUNT - 1];
    }
    return check;
}
