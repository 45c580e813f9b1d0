/* Floating point: dense matrix multiplication. */
#include "common.h"

#define N 96
static double a[N][N], b[N][N], c[N][N];

EXPORT(run) double matmul_run(uint32_t rounds) {
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            a[i][j] = (double)(i * N + j) / (N * N);
            b[i][j] = (double)(j * N + i) / (N * N);
        }
    double sum = 0;
    for (uint32_t r = 0; r < rounds; r++) {
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) {
                double acc = 0;
                for (int k = 0; k < N; k++) acc += a[i][k] * b[k][j];
                c[i][j] = acc;
            }
        sum += c[r % N][(r * 7) % N];
        a[r % N][r % N] += 1.0;
    }
    return sum;
}
