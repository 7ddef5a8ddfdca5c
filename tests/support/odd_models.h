/* odd_models.h - the compiler tests' models: malcc_odd_models (compiler/
 * synthetic.c: odd sizes, every activation, the other scoring rules) on the
 * sample vocabulary, and single models of the same odd shape. */
#ifndef MAL_TEST_ODD_MODELS_H
#define MAL_TEST_ODD_MODELS_H

#include "malcc.h"
#include "test_support.h"

/* One odd-sized synthetic model on the sample vocabulary. */
static inline void odd_model(mal_model *m, const char *type, mal_act act, uint64_t seed)
{
    mal_error e;
    assert_int_equal(malcc_synthetic_model(m, &sample_vocab, type, MALCC_ODD_E, MALCC_ODD_H1, MALCC_ODD_H2,
                                           act, seed, 0.4f, &e),
                     0);
}

/* Alpha, Beta, Gamma, Delta-x (seeds 5-8). */
static inline void odd_models(mal_model m[4])
{
    mal_error e;
    assert_int_equal(malcc_odd_models(m, &sample_vocab, 5, &e), 0);
}

#endif
