/* kernels.c - the host's kernels that JIT-built models call: the int8
 * products and the LSTM cell.
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

/* The LSTM cell: templates/cell.c.in rendered once per activation at build
 * time (compiler/host_cells.cmake), so this is the generated code's own text
 * built by gcc. H <= 1024 = MAL_MAX_HIDDEN (the JIT builds validated models). */
#include "host_cells.c"   /* generated in the build tree */

/* host_cells.cmake sizes the cell's scratch for H <= 1024: keep them equal */
typedef char malcc_host_hmax_is_mal_max_hidden[MAL_MAX_HIDDEN == 1024 ? 1 : -1];

MALCC_HOST_CLONES
void malcc_host_cell(const float *z, float *h, float *c, int8_t *q, int H, int act)
{
    switch (act) {
    case 0:
        malcc_host_a0_cell(z, h, c, q, H);
        break;
    case 1:
        malcc_host_a1_cell(z, h, c, q, H);
        break;
    case 2:
        malcc_host_a2_cell(z, h, c, q, H);
        break;
    default:
        malcc_host_a3_cell(z, h, c, q, H);
        break;
    }
}
