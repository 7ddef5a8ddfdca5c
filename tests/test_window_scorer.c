/* test_window_scorer.c - the streaming scoring rule (window_scorer.c) against
 * the array form in the reference (mal_ref_score_trace), on random models and
 * real sample traces, for every rule shape: tail window, strided windows with
 * and without a cap, dedup, mean and max. */
#include "test_support.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reference.h"
#include "vocab.h"
#include "window_scorer.h"

static uint64_t rng = 88172645463325252ull;
static float frand(float scale)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return scale * ((float)(rng >> 40) / (float)(1u << 24) * 2.0f - 1.0f);
}

static void fill(float *w, size_t n, float scale)
{
    for (size_t i = 0; i < n; i++)
        w[i] = frand(scale);
}

static void random_model(mal_model *m, const mal_vocab *v, mal_act act)
{
    mal_error e;
    assert_int_equal(mal_model_alloc(m, v, "Trojan", 4, 6, 5, act, &e), 0);
    fill(m->embedding, (size_t)v->size * 4, 0.5f);
    fill(m->l1.wx, 4 * 6 * 4, 0.5f), fill(m->l1.wh, 4 * 6 * 6, 0.5f), fill(m->l1.b, 4 * 6, 0.3f);
    fill(m->l2.wx, 4 * 5 * 6, 0.5f), fill(m->l2.wh, 4 * 5 * 5, 0.5f), fill(m->l2.b, 4 * 5, 0.3f);
    fill(m->dense_w, 5, 1.0f);
    m->dense_b = 0.1f;
}

static float stream_score(mal_model *m, const int32_t *ids, size_t n)
{
    mal_window_scorer ws;
    mal_error e;
    assert_int_equal(mal_window_scorer_init(&ws, &m->scoring, &mal_ref_window_ops, m, &e), 0);
    mal_window_scorer_begin(&ws);
    /* feed as runs, the way readers deliver repeated calls */
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && ids[j] == ids[i])
            j++;
        mal_window_scorer_calls(&ws, ids[i], j - i);
        i = j;
    }
    float p = mal_window_scorer_finish(&ws);
    /* the same scorer is reusable for the next trace */
    mal_window_scorer_begin(&ws);
    for (size_t i = 0; i < n; i++)
        mal_window_scorer_calls(&ws, ids[i], 1);
    assert_true(mal_window_scorer_finish(&ws) == p);
    mal_window_scorer_free(&ws);
    return p;
}

static const mal_scoring rules[] = {
    {.window = 8, .stride = 0, .calib_a = 1},
    {.window = 8, .stride = 0, .dedup = 1, .calib_a = 1},
    {.window = 6, .stride = 2, .combine = MAL_COMBINE_MEAN, .calib_a = 1},
    {.window = 6, .stride = 6, .combine = MAL_COMBINE_MAX, .calib_a = 1},
    {.window = 5, .stride = 3, .dedup = 1, .max_windows = 4, .combine = MAL_COMBINE_MEAN, .calib_a = 1},
    {.window = 7, .stride = 1, .max_windows = 3, .combine = MAL_COMBINE_MAX, .calib_a = 0.5f, .calib_b = -0.2f},
};

static void test_random_traces(void **state)
{
    (void)state;
    mal_vocab v;
    mal_error e;
    assert_int_equal(mal_vocab_load(&v, SAMPLE_VOCAB, &e), 0);
    for (int a = 0; a < 4; a++) {
        mal_model m;
        random_model(&m, &v, (mal_act)a);
        for (size_t r = 0; r < sizeof rules / sizeof *rules; r++) {
            m.scoring = rules[r];
            for (size_t n = 0; n < 40; n += 3) {
                int32_t ids[40];
                for (size_t i = 0; i < n; i++)   /* few distinct ids: plenty of runs for dedup */
                    ids[i] = (int32_t)((rng = rng * 6364136223846793005ull + 1) >> 61);
                float want = mal_ref_score_trace(&m, ids, n);
                float got = stream_score(&m, ids, n);
                if (fabsf(want - got) > 1e-6f)
                    fail_msg("act %d rule %zu n %zu: streamed %.9g, reference %.9g", a, r, n,
                             (double)got, (double)want);
            }
        }
        mal_model_free(&m);
    }
    mal_vocab_free(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_traces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
