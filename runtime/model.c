/* model.c - model construction, names of enums, freeing. File I/O and
 * validation live in model_io.c. */
#include "model.h"

#include <stdlib.h>
#include <string.h>

static const char *const act_names[] = {"tanh", "sigmoid", "softsign", "softmax"};

const char *mal_act_name(mal_act a)
{
    return ((unsigned)a < 4) ? act_names[a] : "?";
}

int mal_act_parse(const char *s, mal_act *out)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, act_names[i]) == 0) {
            *out = (mal_act)i;
            return 0;
        }
    return -1;
}

const char *mal_pool_name(mal_pool p)
{
    return p == MAL_POOL_LAST ? "last" : p == MAL_POOL_MEAN ? "mean" : "?";
}

const char *mal_combine_name(mal_combine c)
{
    return c == MAL_COMBINE_MEAN ? "mean" : c == MAL_COMBINE_MAX ? "max" : "?";
}

static float *zeros(size_t n)
{
    return calloc(n ? n : 1, sizeof(float));
}

static int copy_vocab(mal_vocab *dst, const mal_vocab *src, mal_error *e)
{
    return mal_vocab_from_names(dst, (const char *const *)src->names, src->size, "vocabulary", e);
}

int mal_model_alloc(mal_model *m, const mal_vocab *vocab, const char *type, int embed, int h1,
                    int h2, mal_act act, mal_error *e)
{
    memset(m, 0, sizeof *m);
    if (!type || !*type || strlen(type) > MAL_MAX_TYPE_NAME)
        return mal_error_set(e, "model type name must be 1..%d characters", MAL_MAX_TYPE_NAME);
    if (embed < 1 || embed > MAL_MAX_EMBED || h1 < 1 || h1 > MAL_MAX_HIDDEN || h2 < 1 ||
        h2 > MAL_MAX_HIDDEN)
        return mal_error_set(e, "model sizes out of range (embed %d, hidden %d/%d)", embed, h1, h2);
    strcpy(m->type, type);
    if (copy_vocab(&m->vocab, vocab, e) < 0)
        return -1;
    size_t v = (size_t)vocab->size;
    m->embed = embed;
    m->act = act;
    m->pool = MAL_POOL_LAST;
    m->scoring = (mal_scoring){.window = 342, .stride = 0, .max_windows = 0, .dedup = 0,
                               .combine = MAL_COMBINE_MEAN, .calib_a = 1.0f, .calib_b = 0.0f};
    m->embedding = zeros(v * (size_t)embed);
    m->l1 = (mal_lstm_layer){embed, h1, zeros(4 * (size_t)h1 * (size_t)embed),
                             zeros(4 * (size_t)h1 * (size_t)h1), zeros(4 * (size_t)h1)};
    m->l2 = (mal_lstm_layer){h1, h2, zeros(4 * (size_t)h2 * (size_t)h1),
                             zeros(4 * (size_t)h2 * (size_t)h2), zeros(4 * (size_t)h2)};
    m->dense_w = zeros((size_t)h2);
    if (!m->embedding || !m->l1.wx || !m->l1.wh || !m->l1.b || !m->l2.wx || !m->l2.wh ||
        !m->l2.b || !m->dense_w) {
        mal_model_free(m);
        return mal_error_set(e, "out of memory allocating model '%s'", type);
    }
    return 0;
}

void mal_model_free(mal_model *m)
{
    if (!m)
        return;
    mal_vocab_free(&m->vocab);
    free(m->embedding);
    free(m->l1.wx), free(m->l1.wh), free(m->l1.b);
    free(m->l2.wx), free(m->l2.wh), free(m->l2.b);
    free(m->dense_w);
    free(m->training_json);
    memset(m, 0, sizeof *m);
}
