/* quant.c - the constant tables of a compiled model (docs/quantisation.md).
 *
 * Layer 1's input side is folded per token: tok[v] = b1 + W_x1 * embedding[v]
 * (computed in double, rounded once). The three remaining matrices (W_h1,
 * W_x2, W_h2) become int8 with one scale per row (symmetric, max-abs / 127),
 * stored k-major: q[k][r] = round(W[r][k] / s_r). The generated code feeds
 * them h quantised as round(127 h + e) (e: the rounding residual carried from
 * the last step), so z_r += (s_r / 127) * sum_k q[k][r] q_h[k].
 *
 * The small profile (cortex-m target) does not fold: the embedding and W_x1
 * become int8 row by row (one scale per token, one per gate row), and the
 * generated code forms tok[v][r] from them when a token arrives. */
#include "malcc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One row of K floats -> int8 at q[0], q[step], ...: symmetric, the row's
 * max |w| maps to 127. Returns that max / 127 (w ~ returned * q). */
static double quantise_row(const float *w, int K, int8_t *q, size_t step)
{
    double amax = 0.0;
    for (int k = 0; k < K; k++) {
        double a = fabs((double)w[k]);
        if (a > amax)
            amax = a;
    }
    double s = amax / 127.0;
    for (int k = 0; k < K; k++) {
        long v = s > 0.0 ? lround((double)w[k] / s) : 0;
        if (v > 127)
            v = 127;
        if (v < -127)
            v = -127;
        q[(size_t)k * step] = (int8_t)v;
    }
    return s;
}

/* W [R][K] row-major (gate-major rows) -> k-major int8 [K][R] + deq[R]. */
static void quantise(const float *w, int R, int K, int8_t *q, float *deq)
{
    for (int r = 0; r < R; r++)
        deq[r] = (float)(quantise_row(w + (size_t)r * K, K, q + r, (size_t)R) / 127.0);
}

/* The small profile's row quantiser: W [R][K] row-major -> int8 [R][K]
 * (row-major: one row is one token's embedding or one gate row of W_x1) and
 * scale[R] = max_k |W[r][k]| / 127, so W[r][k] ~ scale[r] * q[r][k]. */
static void quantise_rows(const float *w, int R, int K, int8_t *q, float *scale)
{
    for (int r = 0; r < R; r++)
        scale[r] = (float)quantise_row(w + (size_t)r * K, K, q + (size_t)r * K, 1);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int tables_build(const mal_model *m, malcc_tables *t, int small, mal_error *e)
{
    memset(t, 0, sizeof *t);
    const int V = m->vocab.size, E = m->embed, H1 = m->l1.hidden, H2 = m->l2.hidden;
    const int G1 = 4 * H1, G2 = 4 * H2;
    t->V = V, t->E = E, t->H1 = H1, t->H2 = H2;
    if (small) {
        t->emb = malloc((size_t)V * E);
        t->semb = malloc(sizeof(float) * V);
        t->wx1 = malloc((size_t)G1 * E);
        t->sx1 = malloc(sizeof(float) * G1);
        t->b1 = malloc(sizeof(float) * G1);
        if (!t->emb || !t->semb || !t->wx1 || !t->sx1 || !t->b1) {
            malcc_tables_free(t);
            return mal_error_set(e, "%s: out of memory building tables", m->type);
        }
        quantise_rows(m->embedding, V, E, t->emb, t->semb);
        quantise_rows(m->l1.wx, G1, E, t->wx1, t->sx1);
        memcpy(t->b1, m->l1.b, sizeof(float) * G1);
    } else
        t->tok = malloc(sizeof(float) * (size_t)V * G1);
    t->wh1 = malloc((size_t)H1 * G1);
    t->swh1 = malloc(sizeof(float) * G1);
    t->wx2 = malloc((size_t)H1 * G2);
    t->swx2 = malloc(sizeof(float) * G2);
    t->wh2 = malloc((size_t)H2 * G2);
    t->swh2 = malloc(sizeof(float) * G2);
    t->b2 = malloc(sizeof(float) * G2);
    t->wd = malloc(sizeof(float) * H2);
    t->names = malloc(sizeof(char *) * (size_t)(m->vocab.count + 1));
    t->ids = malloc(sizeof(int32_t) * (size_t)(m->vocab.count + 1));
    if ((!small && !t->tok) || !t->wh1 || !t->swh1 || !t->wx2 || !t->swx2 || !t->wh2 || !t->swh2 || !t->b2 ||
        !t->wd || !t->names || !t->ids) {
        malcc_tables_free(t);
        return mal_error_set(e, "%s: out of memory building tables", m->type);
    }
    for (int v = 0; v < V && !small; v++)
        for (int r = 0; r < G1; r++) {
            double z = m->l1.b[r];
            for (int k = 0; k < E; k++)
                z += (double)m->l1.wx[(size_t)r * E + k] * m->embedding[(size_t)v * E + k];
            t->tok[(size_t)v * G1 + r] = (float)z;
        }
    quantise(m->l1.wh, G1, H1, t->wh1, t->swh1);
    quantise(m->l2.wx, G2, H1, t->wx2, t->swx2);
    quantise(m->l2.wh, G2, H2, t->wh2, t->swh2);
    memcpy(t->b2, m->l2.b, sizeof(float) * G2);
    memcpy(t->wd, m->dense_w, sizeof(float) * H2);
    t->db = m->dense_b;
    /* sorted names for the generated binary search */
    const char **tmp = t->names;
    int n = 0;
    for (int id = 0; id < V; id++)
        if (m->vocab.names[id])
            tmp[n++] = m->vocab.names[id];
    qsort(tmp, (size_t)n, sizeof *tmp, by_name);
    for (int i = 0; i < n; i++)
        t->ids[i] = mal_vocab_lookup(&m->vocab, tmp[i], strlen(tmp[i]));
    t->count = n;
    return 0;
}

int malcc_tables_build(const mal_model *m, malcc_tables *t, mal_error *e)
{
    return tables_build(m, t, 0, e);
}

int malcc_tables_build_small(const mal_model *m, malcc_tables *t, mal_error *e)
{
    return tables_build(m, t, 1, e);
}

void malcc_tables_free(malcc_tables *t)
{
    if (!t)
        return;
    free(t->tok), free(t->wh1), free(t->swh1), free(t->wx2), free(t->swx2);
    free(t->wh2), free(t->swh2), free(t->b2), free(t->wd);
    free(t->names), free(t->ids);
    free(t->emb), free(t->semb), free(t->wx1), free(t->sx1), free(t->b1);
    memset(t, 0, sizeof *t);
}
