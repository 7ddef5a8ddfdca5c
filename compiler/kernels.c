/* kernels.c - the host's kernels that JIT-built models call: the gate
 * pre-activations (int8 products, then scale and bias) and the LSTM cell.
 *
 * tcc does not optimise: its code for the int8 products runs ~10x slower than
 * gcc's, its cell ~6x. So the JIT image calls these gcc-built copies (bound by
 * address like the tables, see jit_build.c). The products are exact integers
 * whichever code computes them; the cell is the generated code's own text
 * (templates/cell.c.in) with FP contraction off and no libm, so it rounds as
 * tcc's build of it would: scores stay bit-identical (test_compile,
 * test_compile_parity). Built with -O3 (compiler/CMakeLists.txt) so the loops
 * vectorise for any size. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "malcc.h"
#include "model.h"

/* One copy per x86 vector width, picked at load time (an ifunc): the result is
 * the same exact integer in each, and AVX-512 runs the products ~2x faster
 * than the SSE2 baseline a portable build is limited to. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define MALCC_HOST_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define MALCC_HOST_CLONES
#endif

/* acc[r] = sum_k w[k*R + r] * q[k] for r < R (w k-major int8 [K][R]).
 * Two k at a time in int16: |127*127 + 127*127| = 32258 fits, so exact. */
MALCC_HOST_CLONES
void malcc_host_mv_i8(const int8_t *restrict w, const int8_t *restrict q, int32_t *restrict acc,
                      int K, int R)
{
    int k = 0;
    for (int r = 0; r < R; r++)
        acc[r] = 0;
    for (; k + 1 < K; k += 2) {
        const int8_t *restrict w0 = w + (size_t)k * R, *restrict w1 = w0 + R;
        const int16_t q0 = q[k], q1 = q[k + 1];
        for (int r = 0; r < R; r++)
            acc[r] += (int16_t)((int16_t)(w0[r] * q0) + (int16_t)(w1[r] * q1));
    }
    for (; k < K; k++) {
        const int8_t *restrict w0 = w + (size_t)k * R;
        const int16_t q0 = q[k];
        for (int r = 0; r < R; r++)
            acc[r] += (int16_t)(w0[r] * q0);
    }
}

/* ---- the gate pre-activations: z = base + scale * (W^T q) ----
 *
 * With AVX512-VNNI, vpdpbusd multiplies 4 unsigned by 4 signed bytes and adds
 * them into an int32 lane: 64 multiply-adds per instruction. q is signed, so
 * it is fed as q + 128 (1..255) and 128 * sum_k W[k][r] is taken off again:
 * the same exact integer as the plain loop (|sum| < 2^31 for K <= 1024). The
 * matrix is re-laid for it once, when the JIT is built: 16 rows by 4 k per
 * 64-byte block, a row tile's blocks consecutive. */
#if defined(__x86_64__) && (defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 11))
#define MALCC_HAVE_VNNI_CODE 1
#include <immintrin.h>
#endif

struct malcc_host_matrix {
    const int8_t *w;     /* k-major [K][R]: the generated code's own table */
    int K, R;
    int K4, T;           /* VNNI layout: ceil(K / 4) k groups, ceil(R / 16) row tiles */
    int8_t *w4;          /* NULL (plain loop), or [T][K4][16][4], zero-padded */
    int32_t *offset;     /* [T * 16]: 128 * sum_k W[k][r] */
};

int malcc_host_has_vnni(void)
{
#ifdef MALCC_HAVE_VNNI_CODE
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw");
#else
    return 0;
#endif
}

malcc_host_matrix *malcc_host_matrix_new(const int8_t *w, int K, int R, int use_vnni)
{
    if (K < 1 || R < 1 || K > MAL_MAX_HIDDEN || R > 4 * MAL_MAX_HIDDEN)
        return NULL;   /* the kernels' buffers are sized for validated models */
    malcc_host_matrix *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->w = w;
    m->K = K;
    m->R = R;
    if (!use_vnni || !malcc_host_has_vnni())
        return m;
    m->K4 = (K + 3) / 4;
    m->T = (R + 15) / 16;
    m->w4 = aligned_alloc(64, (size_t)m->T * m->K4 * 64);
    m->offset = aligned_alloc(64, (size_t)m->T * 16 * sizeof *m->offset);
    if (!m->w4 || !m->offset) {
        malcc_host_matrix_free(m);
        return NULL;
    }
    memset(m->w4, 0, (size_t)m->T * m->K4 * 64);
    memset(m->offset, 0, (size_t)m->T * 16 * sizeof *m->offset);
    for (int k = 0; k < K; k++)
        for (int r = 0; r < R; r++) {
            const int8_t v = w[(size_t)k * R + r];
            m->w4[(((size_t)(r / 16) * m->K4 + k / 4) * 16 + r % 16) * 4 + k % 4] = v;
            m->offset[r] += 128 * v;
        }
    return m;
}

size_t malcc_host_matrix_bytes(const malcc_host_matrix *m)
{
    return m && m->w4 ? (size_t)m->T * m->K4 * 64 + (size_t)m->T * 16 * sizeof *m->offset : 0;
}

void malcc_host_matrix_free(malcc_host_matrix *m)
{
    if (!m)
        return;
    free(m->w4);
    free(m->offset);
    free(m);
}

#ifdef MALCC_HAVE_VNNI_CODE
/* q + 128 as bytes, four to a word, padded with 128 (the pad's weights are 0). */
static void to_u8_words(const int8_t *q, int K, int K4, uint32_t *qu)
{
    uint8_t *qb = (uint8_t *)qu;
    for (int k = 0; k < 4 * K4; k++)
        qb[k] = (uint8_t)(k < K ? q[k] + 128 : 128);
}

/* acc[r] for r < 16 T (rows past R are 0); four row tiles at a time, so each
 * broadcast of four q bytes serves four instructions. */
__attribute__((target("avx512f,avx512bw,avx512vnni")))
static void mv_vnni(const malcc_host_matrix *m, const int8_t *q, int32_t *acc)
{
    uint32_t qu[MAL_MAX_HIDDEN / 4 + 1];
    to_u8_words(q, m->K, m->K4, qu);
    const size_t tile = (size_t)m->K4 * 64;
    int t = 0;
    for (; t + 4 <= m->T; t += 4) {
        const int8_t *w = m->w4 + (size_t)t * tile;
        __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
        for (int g = 0; g < m->K4; g++) {
            const __m512i x = _mm512_set1_epi32((int)qu[g]);
            a0 = _mm512_dpbusd_epi32(a0, x, _mm512_load_si512(w + (size_t)g * 64));
            a1 = _mm512_dpbusd_epi32(a1, x, _mm512_load_si512(w + tile + (size_t)g * 64));
            a2 = _mm512_dpbusd_epi32(a2, x, _mm512_load_si512(w + 2 * tile + (size_t)g * 64));
            a3 = _mm512_dpbusd_epi32(a3, x, _mm512_load_si512(w + 3 * tile + (size_t)g * 64));
        }
        const int32_t *o = m->offset + (size_t)t * 16;
        _mm512_storeu_si512(acc + t * 16, _mm512_sub_epi32(a0, _mm512_load_si512(o)));
        _mm512_storeu_si512(acc + t * 16 + 16, _mm512_sub_epi32(a1, _mm512_load_si512(o + 16)));
        _mm512_storeu_si512(acc + t * 16 + 32, _mm512_sub_epi32(a2, _mm512_load_si512(o + 32)));
        _mm512_storeu_si512(acc + t * 16 + 48, _mm512_sub_epi32(a3, _mm512_load_si512(o + 48)));
    }
    for (; t < m->T; t++) {
        const int8_t *w = m->w4 + (size_t)t * tile;
        __m512i a = _mm512_setzero_si512();
        for (int g = 0; g < m->K4; g++)
            a = _mm512_dpbusd_epi32(a, _mm512_set1_epi32((int)qu[g]),
                                    _mm512_load_si512(w + (size_t)g * 64));
        _mm512_storeu_si512(acc + t * 16,
                            _mm512_sub_epi32(a, _mm512_load_si512(m->offset + (size_t)t * 16)));
    }
}
#endif

#ifdef MALCC_HAVE_VNNI_CODE
/* acc[b][r] for four windows at once (q[0..3]), four row tiles at a time:
 * 16 accumulators, each weight block loaded once for the four windows. */
__attribute__((target("avx512f,avx512bw,avx512vnni")))
static void mm4_vnni(const malcc_host_matrix *m, const int8_t *const *q, int32_t *const *acc)
{
    uint32_t qu[4][MAL_MAX_HIDDEN / 4 + 1];
    for (int b = 0; b < 4; b++)
        to_u8_words(q[b], m->K, m->K4, qu[b]);
    const size_t tile = (size_t)m->K4 * 64;
    int t = 0;
#define MM_ROW(b, w0, w1, w2, w3)                                                  \
    do {                                                                          \
        const __m512i x = _mm512_set1_epi32((int)qu[b][g]);                      \
        a##b##0 = _mm512_dpbusd_epi32(a##b##0, x, w0);                            \
        a##b##1 = _mm512_dpbusd_epi32(a##b##1, x, w1);                            \
        a##b##2 = _mm512_dpbusd_epi32(a##b##2, x, w2);                            \
        a##b##3 = _mm512_dpbusd_epi32(a##b##3, x, w3);                            \
    } while (0)
#define MM_STORE(b)                                                                \
    do {                                                                          \
        _mm512_storeu_si512(acc[b] + t * 16, _mm512_sub_epi32(a##b##0, o0));      \
        _mm512_storeu_si512(acc[b] + t * 16 + 16, _mm512_sub_epi32(a##b##1, o1)); \
        _mm512_storeu_si512(acc[b] + t * 16 + 32, _mm512_sub_epi32(a##b##2, o2)); \
        _mm512_storeu_si512(acc[b] + t * 16 + 48, _mm512_sub_epi32(a##b##3, o3)); \
    } while (0)
    for (; t + 4 <= m->T; t += 4) {
        const int8_t *w = m->w4 + (size_t)t * tile;
        __m512i a00 = _mm512_setzero_si512(), a01 = a00, a02 = a00, a03 = a00;
        __m512i a10 = a00, a11 = a00, a12 = a00, a13 = a00, a20 = a00, a21 = a00, a22 = a00;
        __m512i a23 = a00, a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        for (int g = 0; g < m->K4; g++) {
            const __m512i w0 = _mm512_load_si512(w + (size_t)g * 64);
            const __m512i w1 = _mm512_load_si512(w + tile + (size_t)g * 64);
            const __m512i w2 = _mm512_load_si512(w + 2 * tile + (size_t)g * 64);
            const __m512i w3 = _mm512_load_si512(w + 3 * tile + (size_t)g * 64);
            MM_ROW(0, w0, w1, w2, w3);
            MM_ROW(1, w0, w1, w2, w3);
            MM_ROW(2, w0, w1, w2, w3);
            MM_ROW(3, w0, w1, w2, w3);
        }
        const int32_t *o = m->offset + (size_t)t * 16;
        const __m512i o0 = _mm512_load_si512(o), o1 = _mm512_load_si512(o + 16);
        const __m512i o2 = _mm512_load_si512(o + 32), o3 = _mm512_load_si512(o + 48);
        MM_STORE(0);
        MM_STORE(1);
        MM_STORE(2);
        MM_STORE(3);
    }
#undef MM_ROW
#undef MM_STORE
    for (; t < m->T; t++) {   /* the last row tiles, one at a time */
        const int8_t *w = m->w4 + (size_t)t * tile;
        __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
        for (int g = 0; g < m->K4; g++) {
            const __m512i wv = _mm512_load_si512(w + (size_t)g * 64);
            a0 = _mm512_dpbusd_epi32(a0, _mm512_set1_epi32((int)qu[0][g]), wv);
            a1 = _mm512_dpbusd_epi32(a1, _mm512_set1_epi32((int)qu[1][g]), wv);
            a2 = _mm512_dpbusd_epi32(a2, _mm512_set1_epi32((int)qu[2][g]), wv);
            a3 = _mm512_dpbusd_epi32(a3, _mm512_set1_epi32((int)qu[3][g]), wv);
        }
        const __m512i o = _mm512_load_si512(m->offset + (size_t)t * 16);
        _mm512_storeu_si512(acc[0] + t * 16, _mm512_sub_epi32(a0, o));
        _mm512_storeu_si512(acc[1] + t * 16, _mm512_sub_epi32(a1, o));
        _mm512_storeu_si512(acc[2] + t * 16, _mm512_sub_epi32(a2, o));
        _mm512_storeu_si512(acc[3] + t * 16, _mm512_sub_epi32(a3, o));
    }
}
#endif

MALCC_HOST_CLONES
void malcc_host_gates_many(const malcc_host_matrix *m, int nb, const int8_t *const *q,
                           const float *scale, const float *const *base, float *const *z)
{
    int32_t acc[4][4 * MAL_MAX_HIDDEN + 64] __attribute__((aligned(64)));   /* 66 KB */
    for (int b0 = 0; b0 < nb; b0 += 4) {
        const int n4 = nb - b0 < 4 ? nb - b0 : 4;
#ifdef MALCC_HAVE_VNNI_CODE
        if (m->w4 && n4 > 1) {
            /* a short group repeats its first window (its sums are dropped) */
            const int8_t *q4[4];
            int32_t *a4[4] = {acc[0], acc[1], acc[2], acc[3]};
            for (int b = 0; b < 4; b++)
                q4[b] = q[b0 + (b < n4 ? b : 0)];
            mm4_vnni(m, q4, a4);
        } else if (m->w4) {
            mv_vnni(m, q[b0], acc[0]);
        } else
#endif
        {
            for (int b = 0; b < n4; b++)
                malcc_host_mv_i8(m->w, q[b0 + b], acc[b], m->K, m->R);
        }
        for (int b = 0; b < n4; b++) {
            const float *bs = base[b0 + b];
            float *zb = z[b0 + b];
            for (int r = 0; r < m->R; r++)
                zb[r] = bs[r] + scale[r] * (float)acc[b][r];
        }
    }
}

/* One vector: the generated code's {{P}}_GATES loop, rounded alike
 * (-ffp-contract=off); base may be z. */
void malcc_host_gates(const malcc_host_matrix *m, const int8_t *q, const float *scale,
                      const float *base, float *z)
{
    malcc_host_gates_many(m, 1, &q, scale, &base, &z);
}

/* The LSTM cell: templates/cell.c.in rendered once per activation at build
 * time (compiler/host_cells.cmake), so this is the generated code's own text
 * built by gcc. H <= 1024 = MAL_MAX_HIDDEN (the JIT builds validated models). */
#include "host_cells.c"   /* generated in the build tree */

/* host_cells.cmake sizes the cell's scratch for H <= 1024: keep them equal */
typedef char malcc_host_hmax_is_mal_max_hidden[MAL_MAX_HIDDEN == 1024 ? 1 : -1];

/* flatten: the activations are inlined into each clone, so they too run at
 * its vector width (a called static function would be the baseline's). */
MALCC_HOST_CLONES __attribute__((flatten))
void malcc_host_cell(const float *z, float *h, float *c, int8_t *q, float *e, int H, int act,
                     float *pool)
{
    switch (act) {
    case 0:
        malcc_host_a0_cell(z, h, c, q, e, H);
        break;
    case 1:
        malcc_host_a1_cell(z, h, c, q, e, H);
        break;
    case 2:
        malcc_host_a2_cell(z, h, c, q, e, H);
        break;
    default:
        malcc_host_a3_cell(z, h, c, q, e, H);
        break;
    }
    if (pool)   /* the generated {{P}}_cell_pool's sum */
        for (int j = 0; j < H; j++)
            pool[j] = pool[j] + h[j];
}
