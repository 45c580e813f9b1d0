/* Indirect calls: quicksort through a comparison function pointer. */
#include "common.h"

#define COUNT (64 * 1024)
static uint32_t items[COUNT];

typedef int (*cmp_fn)(uint32_t, uint32_t);
static int ascending(uint32_t a, uint32_t b) { return a < b ? -1 : a > b; }
static int descending(uint32_t a, uint32_t b) { return a > b ? -1 : a < b; }
/* Kept in memory so the compiler cannot resolve the calls statically. */
static volatile cmp_fn comparators[2] = {ascending, descending};

static void sort(uint32_t *v, int lo, int hi, cmp_fn cmp) {
    while (lo < hi) {
        uint32_t pivot = v[(lo + hi) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (cmp(v[i], pivot) < 0) i++;
            while (cmp(v[j], pivot) > 0) j--;
            if (i <= j) {
                uint32_t t = v[i]; v[i] = v[j]; v[j] = t;
                i++; j--;
            }
        }
        if (j - lo < hi - i) { sort(v, lo, j, cmp); lo = i; }
        else { sort(v, i, hi, cmp); hi = j; }
    }
}

EXPORT(run) uint32_t quicksort_run(uint32_t rounds) {
    uint32_t seed = 12345, check = 0;
    for (uint32_t r = 0; r < rounds; r++) {
        for (int i = 0; i < COUNT; i++) {
            seed = seed * 1103515245u + 12345u;
            items[i] = seed >> 8;
        }
        sort(items, 0, COUNT - 1, comparators[r & 1]);
        check += items[0] ^ items[COUNT / 2] ^ items[COUNT - 1];
    }
    return check;
}
