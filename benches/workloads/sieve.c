/* Tight integer loops over memory: sieve of Eratosthenes. */
#include "common.h"

#define LIMIT (1 << 20)
static uint8_t composite[LIMIT];

EXPORT(run) uint32_t sieve_run(uint32_t rounds) {
    uint32_t count = 0;
    for (uint32_t r = 0; r < rounds; r++) {
        for (uint32_t i = 0; i < LIMIT; i++) composite[i] = 0;
        count = 0;
        for (uint32_t i = 2; i < LIMIT; i++) {
            if (!composite[i]) {
                count++;
                for (uint32_t j = i * 2; j < LIMIT; j += i) composite[j] = 1;
            }
        }
    }
    return count;
}
