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
