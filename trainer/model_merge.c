/* model_merge.c - n member networks -> one block-diagonal network whose
 * window logit is the mean of theirs (model_merge.h). */
#include "model_merge.h"

#include <stdlib.h>
#include <string.h>

static int same_rule(const mal_scoring *a, const mal_scoring *b)
{
    return a->window == b->window && a->stride == b->stride && a->max_windows == b->max_windows &&
           a->dedup == b->dedup && a->combine == b->combine;
}

static int same_vocab(const mal_vocab *a, const mal_vocab *b)
{
    if (a->size != b->size)
        return 0;
    for (int i = 0; i < a->size; i++) {
        const char *x = a->names[i], *y = b->names[i];
        if ((x == NULL) != (y == NULL) || (x && strcmp(x, y) != 0))
            return 0;
    }
    return 1;
}

/* Copy member layer src (in_k inputs, H_k units) into the merged layer dst
 * at input offset ci and unit offset hi: rows of gate q of unit j go to
 * merged row q*H + hi + j (gate-major, i f g o). */
static void place_layer(mal_lstm_layer *dst, const mal_lstm_layer *src, int ci, int hi)
{
    int H = dst->hidden, Hk = src->hidden;
    for (int q = 0; q < 4; q++)
        for (int j = 0; j < Hk; j++) {
            size_t drow = (size_t)q * H + (size_t)hi + (size_t)j, srow = (size_t)q * Hk + (size_t)j;
            memcpy(dst->wx + drow * (size_t)dst->in + (size_t)ci, src->wx + srow * (size_t)src->in,
                   sizeof(float) * (size_t)src->in);
            memcpy(dst->wh + drow * (size_t)H + (size_t)hi, src->wh + srow * (size_t)Hk,
                   sizeof(float) * (size_t)Hk);
            dst->b[drow] = src->b[srow];
        }
}

int mt_model_merge(const mal_model *members, int n, mal_model *out, mal_error *e)
{
    memset(out, 0, sizeof *out);
    if (n < 1)
        return mal_error_set(e, "no models to merge");
    const mal_model *m0 = &members[0];
    if (m0->act == MAL_ACT_SOFTMAX)
        return mal_error_set(e, "%s: softmax models cannot be merged (softmax couples the "
                             "units of a layer)", m0->type);
    long E = 0, H1 = 0, H2 = 0;
    for (int k = 0; k < n; k++) {
        const mal_model *m = &members[k];
        const char *what = strcmp(m->type, m0->type) ? "type"
                           : !same_vocab(&m->vocab, &m0->vocab) ? "vocabulary"
                           : m->act != m0->act ? "activation"
                           : m->pool != m0->pool ? "pooling"
                           : !same_rule(&m->scoring, &m0->scoring) ? "scoring rule" : NULL;
        if (what)
            return mal_error_set(e, "%s: member %d differs from member 1 in its %s", m0->type,
                                 k + 1, what);
        E += m->embed, H1 += m->l1.hidden, H2 += m->l2.hidden;
    }
    if (E > MAL_MAX_EMBED || H1 > MAL_MAX_HIDDEN || H2 > MAL_MAX_HIDDEN)
        return mal_error_set(e, "%s: the merged model is too large (embed %ld, hidden %ld/%ld; "
                             "limits %d, %d)", m0->type, E, H1, H2, MAL_MAX_EMBED, MAL_MAX_HIDDEN);
    if (mal_model_alloc(out, &m0->vocab, m0->type, (int)E, (int)H1, (int)H2, m0->act, e) < 0)
        return -1;
    out->pool = m0->pool;
    out->scoring = m0->scoring;
    out->scoring.calib_a = 1, out->scoring.calib_b = 0;
    int eo = 0, h1o = 0, h2o = 0;
    double bias = 0;
    for (int k = 0; k < n; k++) {
        const mal_model *m = &members[k];
        for (int v = 0; v < m->vocab.size; v++)
            memcpy(out->embedding + (size_t)v * (size_t)E + (size_t)eo,
                   m->embedding + (size_t)v * (size_t)m->embed, sizeof(float) * (size_t)m->embed);
        place_layer(&out->l1, &m->l1, eo, h1o);
        place_layer(&out->l2, &m->l2, h1o, h2o);
        /* calibrated member logit a*(w.h + b) + c, averaged over members */
        float a = m->scoring.calib_a;
        for (int j = 0; j < m->l2.hidden; j++)
            out->dense_w[h2o + j] = a * m->dense_w[j] / (float)n;
        bias += ((double)a * m->dense_b + m->scoring.calib_b) / n;
        eo += m->embed, h1o += m->l1.hidden, h2o += m->l2.hidden;
    }
    out->dense_b = (float)bias;
    return 0;
}
