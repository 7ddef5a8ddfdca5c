/* synthetic.c - models with random weights of a trained model's scale, for
 * tests and benchmarks when no trained model is at hand. */
#include "malcc.h"

#include <stdio.h>

/* xorshift64*: deterministic across platforms */
static double next_unit(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (double)((*s * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static void fill(float *x, size_t n, float scale, uint64_t *s)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)((2.0 * next_unit(s) - 1.0) * scale);
}

int malcc_synthetic_model(mal_model *m, const mal_vocab *v, const char *type, int embed, int h1,
                          int h2, mal_act act, uint64_t seed, float scale, mal_error *e)
{
    if (mal_model_alloc(m, v, type, embed, h1, h2, act, e) < 0)
        return -1;
    uint64_t s = seed * 0x9E3779B97F4A7C15ULL + 1;
    size_t V = (size_t)v->size;
    fill(m->embedding, V * (size_t)embed, 1.0f, &s);   /* Keras' uniform embedding init is ±0.05; trained rows grow */
    fill(m->l1.wx, 4 * (size_t)h1 * (size_t)embed, scale, &s);
    fill(m->l1.wh, 4 * (size_t)h1 * (size_t)h1, scale, &s);
    fill(m->l1.b, 4 * (size_t)h1, scale, &s);
    fill(m->l2.wx, 4 * (size_t)h2 * (size_t)h1, scale, &s);
    fill(m->l2.wh, 4 * (size_t)h2 * (size_t)h2, scale, &s);
    fill(m->l2.b, 4 * (size_t)h2, scale, &s);
    fill(m->dense_w, (size_t)h2, 1.0f, &s);
    m->dense_b = (float)(next_unit(&s) - 0.5);
    return 0;
}

int malcc_odd_models(mal_model m[4], const mal_vocab *v, uint64_t seed, mal_error *e)
{
    static const char *const types[4] = {"Alpha", "Beta", "Gamma", "Delta-x"};
    static const mal_act acts[4] = {MAL_ACT_TANH, MAL_ACT_SIGMOID, MAL_ACT_SOFTSIGN, MAL_ACT_SOFTMAX};
    for (int k = 0; k < 4; k++)
        if (malcc_synthetic_model(&m[k], v, types[k], MALCC_ODD_E, MALCC_ODD_H1, MALCC_ODD_H2, acts[k],
                                  seed + (uint64_t)k, 0.4f, e) < 0) {
            while (k-- > 0)
                mal_model_free(&m[k]);
            return -1;
        }
    /* Alpha keeps the synthetic default (the paper's rule) */
    m[1].scoring = (mal_scoring){.window = 5, .stride = 2, .max_windows = 0, .dedup = 1,
                                 .combine = MAL_COMBINE_MAX, .calib_a = 2.0f, .calib_b = -0.5f};
    m[1].pool = MAL_POOL_MEAN;
    m[2].scoring = (mal_scoring){.window = 4, .stride = 3, .max_windows = 2, .dedup = 0,
                                 .combine = MAL_COMBINE_MEAN, .calib_a = 1.0f, .calib_b = 0.0f};
    m[3].scoring.window = 6;
    m[3].pool = MAL_POOL_MEAN;
    return 0;
}
