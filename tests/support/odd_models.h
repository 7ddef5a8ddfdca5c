/* odd_models.h - the four small models the compiler tests share: odd sizes
 * (E 5, H1 7, H2 6: the int8 kernel's odd-k tail), every activation, and
 * strided / dedup / max_windows / mean-pool / calibrated scoring rules.
 * Included by tests that link the compiler (malcc_synthetic_model). */
#ifndef MAL_TEST_ODD_MODELS_H
#define MAL_TEST_ODD_MODELS_H

#include "malcc.h"
#include "test_support.h"

/* One odd-sized synthetic model on the sample vocabulary. */
static inline void odd_model(mal_model *m, const char *type, mal_act act, uint64_t seed)
{
    mal_error e;
    assert_int_equal(malcc_synthetic_model(m, &sample_vocab, type, 5, 7, 6, act, seed, 0.4f, &e), 0);
}

/* Alpha (tanh, the paper's rule), Beta (sigmoid, strided + dedup + max +
 * calibrated + mean pool), Gamma (softsign, strided with max_windows),
 * Delta-x (softmax, window 6, mean pool). */
static inline void odd_models(mal_model m[4])
{
    odd_model(&m[0], "Alpha", MAL_ACT_TANH, 5);
    odd_model(&m[1], "Beta", MAL_ACT_SIGMOID, 6);
    odd_model(&m[2], "Gamma", MAL_ACT_SOFTSIGN, 7);
    odd_model(&m[3], "Delta-x", MAL_ACT_SOFTMAX, 8);
    m[1].scoring = (mal_scoring){.window = 5, .stride = 2, .max_windows = 0, .dedup = 1,
                                 .combine = MAL_COMBINE_MAX, .calib_a = 2.0f, .calib_b = -0.5f};
    m[1].pool = MAL_POOL_MEAN;
    m[2].scoring = (mal_scoring){.window = 4, .stride = 3, .max_windows = 2, .dedup = 0,
                                 .combine = MAL_COMBINE_MEAN, .calib_a = 1.0f, .calib_b = 0.0f};
    m[3].scoring.window = 6;
    m[3].pool = MAL_POOL_MEAN;
}

#endif
