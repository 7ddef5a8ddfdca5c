/* test_compile_kernels.c - the host's gate kernels (compiler/kernels.c) that
 * JIT-built models call: z = base + scale * (W^T q), for one vector
 * (malcc_host_gates) or several (malcc_host_gates_many), must equal, bit for
 * bit, the plain C the generated sources compile (an int32 sum, then one
 * float multiply and one add), on the plain path and on the AVX512-VNNI path,
 * for odd sizes (row tiles and k groups cut short, window groups of 1-3) and
 * the model's own. And the host's cell (malcc_host_cell) carries its rounding
 * residual: over many steps the int8 copy of h sums to 127 times h's sum, also
 * for units whose |h| is below half a quantisation step. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "malcc.h"
#include "model.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t next_u32(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

/* Int8 values in [-127, 127], with the extremes over-represented: they are
 * where an offset or a saturating instruction would go wrong. */
static int8_t rand_i8(void)
{
    const uint32_t u = next_u32();
    if (u % 8 == 0)
        return (u & 8) ? 127 : -127;
    return (int8_t)((int)(u % 255) - 127);
}

static float rand_f(void)
{
    return ((float)(next_u32() % 2000001) - 1000000.0f) * 1e-6f;
}

/* One shape: both paths against the plain computation, bit for bit. */
static void check_shape(int K, int R, int in_place)
{
    int8_t *w = malloc((size_t)K * R), *q = malloc((size_t)K);
    float *scale = malloc(sizeof(float) * R), *base = malloc(sizeof(float) * R);
    float *want = malloc(sizeof(float) * R), *got = malloc(sizeof(float) * R);
    assert_non_null(w), assert_non_null(q), assert_non_null(scale), assert_non_null(base);
    assert_non_null(want), assert_non_null(got);
    for (size_t i = 0; i < (size_t)K * R; i++)
        w[i] = rand_i8();
    for (int k = 0; k < K; k++)
        q[k] = rand_i8();
    for (int r = 0; r < R; r++) {
        scale[r] = rand_f() * 1e-3f;
        base[r] = rand_f();
        int32_t acc = 0;
        for (int k = 0; k < K; k++)
            acc += (int32_t)w[(size_t)k * R + r] * q[k];
        const float prod = scale[r] * (float)acc;   /* two roundings, as generated */
        want[r] = base[r] + prod;
    }
    for (int vnni = 0; vnni <= 1; vnni++) {
        malcc_host_matrix *m = malcc_host_matrix_new(w, K, R, vnni);
        assert_non_null(m);
        if (in_place) {
            memcpy(got, base, sizeof(float) * R);
            malcc_host_gates(m, q, scale, got, got);
        } else {
            memset(got, 0xff, sizeof(float) * R);
            malcc_host_gates(m, q, scale, base, got);
        }
        for (int r = 0; r < R; r++)
            if (memcmp(&got[r], &want[r], sizeof(float)) != 0)
                fail_msg("K %d R %d vnni %d in_place %d: z[%d] = %.9g, want %.9g", K, R, vnni,
                         in_place, r, (double)got[r], (double)want[r]);
        malcc_host_matrix_free(m);
    }
    free(w), free(q), free(scale), free(base), free(want), free(got);
}

/* nb vectors through malcc_host_gates_many against the plain computation;
 * every other vector in place (base == z). */
static void check_many(int K, int R, int nb)
{
    int8_t *w = malloc((size_t)K * R), *q = malloc((size_t)K * nb);
    float *scale = malloc(sizeof(float) * R), *base = malloc(sizeof(float) * R * nb);
    float *want = malloc(sizeof(float) * R * nb), *got = malloc(sizeof(float) * R * nb);
    const int8_t **qp = malloc(sizeof *qp * nb);
    const float **bp = malloc(sizeof *bp * nb);
    float **zp = malloc(sizeof *zp * nb);
    assert_true(w && q && scale && base && want && got && qp && bp && zp);
    for (size_t i = 0; i < (size_t)K * R; i++)
        w[i] = rand_i8();
    for (int i = 0; i < K * nb; i++)
        q[i] = rand_i8();
    for (int r = 0; r < R; r++)
        scale[r] = rand_f() * 1e-3f;
    for (int b = 0; b < nb; b++)
        for (int r = 0; r < R; r++) {
            base[b * R + r] = rand_f();
            int32_t acc = 0;
            for (int k = 0; k < K; k++)
                acc += (int32_t)w[(size_t)k * R + r] * q[b * K + k];
            const float prod = scale[r] * (float)acc;
            want[b * R + r] = base[b * R + r] + prod;
        }
    for (int vnni = 0; vnni <= 1; vnni++) {
        malcc_host_matrix *m = malcc_host_matrix_new(w, K, R, vnni);
        assert_non_null(m);
        for (int b = 0; b < nb; b++) {
            qp[b] = q + b * K;
            zp[b] = got + b * R;
            if (b % 2) {
                memcpy(zp[b], base + b * R, sizeof(float) * R);
                bp[b] = zp[b];
            } else {
                memset(zp[b], 0xff, sizeof(float) * R);
                bp[b] = base + b * R;
            }
        }
        malcc_host_gates_many(m, nb, qp, scale, bp, zp);
        for (int i = 0; i < R * nb; i++)
            if (memcmp(&got[i], &want[i], sizeof(float)) != 0)
                fail_msg("many: K %d R %d nb %d vnni %d: z[%d][%d] = %.9g, want %.9g", K, R, nb,
                         vnni, i / R, i % R, (double)got[i], (double)want[i]);
        malcc_host_matrix_free(m);
    }
    free(w), free(q), free(scale), free(base), free(want), free(got), free(qp), free(bp), free(zp);
}

static void test_gates_many(void **state)
{
    (void)state;
    const int shapes[][2] = {{1, 1}, {3, 17}, {5, 64}, {7, 65}, {33, 130}, {100, 400}, {64, 256}};
    for (size_t a = 0; a < sizeof shapes / sizeof *shapes; a++)
        for (int nb = 1; nb <= 9; nb++)
            check_many(shapes[a][0], shapes[a][1], nb);
    check_many(100, 400, 16);
}

static void test_gates_odd_shapes(void **state)
{
    (void)state;
    const int Ks[] = {1, 2, 3, 4, 5, 7, 16, 33, 64, 100};
    const int Rs[] = {1, 4, 15, 16, 17, 63, 64, 65, 100, 130};
    for (size_t a = 0; a < sizeof Ks / sizeof *Ks; a++)
        for (size_t b = 0; b < sizeof Rs / sizeof *Rs; b++)
            check_shape(Ks[a], Rs[b], (int)((a + b) % 2));
}

/* The paper's model (H 100: 100 -> 400) and the largest the JIT accepts,
 * where |sum| is largest: every weight and input at +-127. */
static void test_gates_model_sizes_and_extremes(void **state)
{
    (void)state;
    check_shape(100, 400, 0);
    check_shape(100, 400, 1);
    check_shape(MAL_MAX_HIDDEN, 4 * 17, 0);
    const int K = MAL_MAX_HIDDEN, R = 32;
    int8_t *w = malloc((size_t)K * R), q[MAL_MAX_HIDDEN];
    assert_non_null(w);
    float scale[32], base[32], z[32];
    for (int r = 0; r < R; r++) {
        scale[r] = 1.0f;
        base[r] = 0.0f;
    }
    for (int k = 0; k < K; k++) {
        q[k] = (k % 2) ? -127 : 127;
        for (int r = 0; r < R; r++)   /* row r: all +127, or same sign as q, or opposite */
            w[(size_t)k * R + r] = (int8_t)(r % 3 == 0 ? 127 : (r % 3 == 1 ? q[k] : -q[k]));
    }
    for (int vnni = 0; vnni <= 1; vnni++) {
        malcc_host_matrix *m = malcc_host_matrix_new(w, K, R, vnni);
        assert_non_null(m);
        malcc_host_gates(m, q, scale, base, z);
        for (int r = 0; r < R; r++) {
            const float want = r % 3 == 0 ? 0.0f : (r % 3 == 1 ? 1.0f : -1.0f) * 127.0f * 127.0f * K;
            if (z[r] != want)
                fail_msg("extremes, vnni %d: z[%d] = %.9g, want %.9g", vnni, r, (double)z[r],
                         (double)want);
        }
        malcc_host_matrix_free(m);
    }
    free(w);
    printf("host gate kernel: AVX512-VNNI path %s on this CPU\n",
           malcc_host_has_vnni() ? "tested" : "absent (plain path only)");
}

/* Error feedback in the cell's quantiser. Gates fixed so that every step gives
 * the same h per unit (i = o = 1, f ~ 0: c = g = tanh(z_g), h = tanh(c)); the
 * small units have |127 h| < 0.5, which plain rounding feeds as 0 every step
 * (sum 0 against 127 * sum(h) = 381 for h = 0.003 over 1000 steps). */
static void test_cell_error_feedback(void **state)
{
    (void)state;
    enum { H = 8, STEPS = 1000 };
    const float zg[H] = {0.001f, 0.003f, -0.002f, 0.0015f, 0.3f, -0.7f, 2.0f, 0.0f};
    float z[4 * H], h[H], c[H] = {0}, e[H] = {0};
    int8_t q[H];
    double sum_h[H] = {0}, sum_q[H] = {0};
    for (int j = 0; j < H; j++) {
        z[j] = 20.0f;            /* i = 1 */
        z[H + j] = -20.0f;       /* f ~ 2e-9 */
        z[2 * H + j] = zg[j];    /* g */
        z[3 * H + j] = 20.0f;    /* o = 1 */
    }
    for (int t = 0; t < STEPS; t++) {
        malcc_host_cell(z, h, c, q, e, H, MAL_ACT_TANH, NULL);
        for (int j = 0; j < H; j++) {
            assert_true(q[j] >= -127 && q[j] <= 127);
            assert_true(e[j] >= -0.5f && e[j] <= 0.5f);
            sum_h[j] += h[j];
            sum_q[j] += q[j];
        }
    }
    for (int j = 0; j < H; j++) {
        /* sum q = 127 sum h - e_final, up to float rounding of v = 127 h + e */
        if (!(fabs(sum_q[j] - 127.0 * sum_h[j]) <= 0.5 + 1e-3 * STEPS))
            fail_msg("unit %d (h %.6g): sum q %.1f, 127 sum h %.3f", j, (double)h[j], sum_q[j],
                     127.0 * sum_h[j]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gates_odd_shapes),
        cmocka_unit_test(test_gates_model_sizes_and_extremes),
        cmocka_unit_test(test_gates_many),
        cmocka_unit_test(test_cell_error_feedback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
