/* bench_kernels.c - the host gate kernel the JIT calls (compiler/kernels.c),
 * in multiply-adds per second, beside this CPU's ceiling for it.
 *   bench_kernels [SECONDS_PER_ROW]
 * Rows: the vpdpbusd ceiling (independent chains, registers only: no loads),
 * then malcc_host_gates on the paper's shapes (K 100, R 400) on the VNNI path
 * and on the plain loop, over one matrix (cache-hot), over one model's three
 * (120 KB: malscan steps calls model by model) and over all eight models'
 * (960 KB: stepping every model at every call). The ceiling bounds what any scan of the sample can reach:
 * docs/scanner.md turns it into seconds. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "malcc.h"

#if defined(__x86_64__) && (defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 11))
#include <immintrin.h>
#define HAVE_VNNI_CODE 1
#endif

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#ifdef HAVE_VNNI_CODE
/* 16 independent accumulators in named registers (an array would live on the
 * stack): more than the instruction's latency times its issue rate, so this
 * measures the issue rate. */
#define DP(a) a = _mm512_dpbusd_epi32(a, x, w)
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static double vnni_ceiling(double secs)
{
    __m512i a0 = _mm512_set1_epi32(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0,
            a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0, a12 = a0, a13 = a0, a14 = a0, a15 = a0;
    const __m512i x = _mm512_set1_epi32(0x01010101), w = _mm512_set1_epi32(0x02fe02fe);
    long iters = 0;
    const double t0 = now_s();
    double t = t0;
    while (t - t0 < secs) {
        for (int n = 0; n < 100000; n++) {
            DP(a0), DP(a1), DP(a2), DP(a3), DP(a4), DP(a5), DP(a6), DP(a7);
            DP(a8), DP(a9), DP(a10), DP(a11), DP(a12), DP(a13), DP(a14), DP(a15);
            /* keep the compiler from folding the chains across iterations */
            __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5),
                             "+v"(a6), "+v"(a7));
            __asm__ volatile("" : "+v"(a8), "+v"(a9), "+v"(a10), "+v"(a11), "+v"(a12),
                             "+v"(a13), "+v"(a14), "+v"(a15));
        }
        iters += 100000;
        t = now_s();
    }
    __m512i sum = _mm512_add_epi32(_mm512_add_epi32(a0, a1), _mm512_add_epi32(a2, a3));
    sum = _mm512_add_epi32(sum, _mm512_add_epi32(_mm512_add_epi32(a4, a5), _mm512_add_epi32(a6, a7)));
    sum = _mm512_add_epi32(sum, _mm512_add_epi32(_mm512_add_epi32(a8, a9), _mm512_add_epi32(a10, a11)));
    sum = _mm512_add_epi32(sum, _mm512_add_epi32(_mm512_add_epi32(a12, a13), _mm512_add_epi32(a14, a15)));
    if (_mm512_reduce_add_epi32(sum) == 42)
        fputs("", stderr);
    return (double)iters * 16 * 64 / (t - t0);
}
#undef DP
#endif

/* malcc_host_gates over nm matrices in turn; multiply-adds per second. */
static double gates_rate(malcc_host_matrix *const *m, int nm, int K, int R, const int8_t *q,
                         const float *scale, double secs)
{
    float *z = aligned_alloc(64, sizeof(float) * (size_t)(R + 16));
    long calls = 0;
    const double t0 = now_s();
    double t = t0;
    while (t - t0 < secs) {
        for (int n = 0; n < 200; n++)
            for (int i = 0; i < nm; i++)
                malcc_host_gates(m[i], q, scale, scale, z);
        calls += 200L * nm;
        t = now_s();
    }
    free(z);
    return (double)calls * K * R / (t - t0);
}

int main(int argc, char **argv)
{
    const double secs = argc > 1 ? atof(argv[1]) : 1.0;
    enum { K = 100, R = 400, NM = 24 };
    int8_t *w = malloc((size_t)NM * K * R), q[K];
    float scale[R];
    if (!w)
        return 1;
    uint32_t s = 12345;
    for (size_t i = 0; i < (size_t)NM * K * R; i++) {
        s = s * 1103515245u + 12345u;
        w[i] = (int8_t)((int)((s >> 16) % 255) - 127);
    }
    for (int k = 0; k < K; k++)
        q[k] = (int8_t)((k * 37) % 255 - 127);
    for (int r = 0; r < R; r++)
        scale[r] = 1e-4f;
    printf("host gate kernel, K %d R %d (one LSTM product of the paper's model); %.1f s per row\n",
           K, R, secs);
#ifdef HAVE_VNNI_CODE
    if (malcc_host_has_vnni())
        printf("  %-46s %10.3g multiply-adds/s\n", "vpdpbusd ceiling (registers only)",
               vnni_ceiling(secs));
#endif
    for (int vnni = 1; vnni >= 0; vnni--) {
        if (vnni && !malcc_host_has_vnni()) {
            printf("  (no AVX512-VNNI on this CPU: plain loop only)\n");
            continue;
        }
        malcc_host_matrix *m[NM];
        for (int i = 0; i < NM; i++)
            if (!(m[i] = malcc_host_matrix_new(w + (size_t)i * K * R, K, R, vnni)))
                return 1;
        const char *path = vnni ? "VNNI" : "plain loop";
        char label[64];
        snprintf(label, sizeof label, "gates, %s, one matrix (cache-hot)", path);
        printf("  %-46s %10.3g multiply-adds/s\n", label, gates_rate(m, 1, K, R, q, scale, secs));
        snprintf(label, sizeof label, "gates, %s, 3 matrices in turn (120 KB)", path);
        printf("  %-46s %10.3g multiply-adds/s\n", label, gates_rate(m, 3, K, R, q, scale, secs));
        snprintf(label, sizeof label, "gates, %s, 24 matrices in turn (960 KB)", path);
        printf("  %-46s %10.3g multiply-adds/s\n", label, gates_rate(m, NM, K, R, q, scale, secs));
        for (int i = 0; i < NM; i++)
            malcc_host_matrix_free(m[i]);
    }
    free(w);
    return 0;
}
