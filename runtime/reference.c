/* reference.c - the float reference forward pass (the oracle).
 *
 * Numerics (documented in docs/model-format.md, "Reference semantics"):
 *  - weights and states are float;
 *  - every gate pre-activation is accumulated in double in a fixed order
 *    (bias, then input terms in index order, then recurrent terms in index
 *    order) and rounded to float once;
 *  - activations are evaluated in float with libm (expf, tanhf); softmax
 *    subtracts the maximum and sums in double;
 *  - the mean-pooling sum is kept in float (the state's storage), divided by
 *    the step count in float; the dense layer accumulates in double.
 * The streaming path and the padded batch path follow exactly this order, so
 * they agree bit for bit (the tests require equality, not a tolerance). */
#include "reference.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static float sigm(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

/* act over a vector of H units, in place (softmax couples the units) */
static void act_vec(mal_act a, float *x, int H)
{
    switch (a) {
    case MAL_ACT_TANH:
        for (int j = 0; j < H; j++)
            x[j] = tanhf(x[j]);
        break;
    case MAL_ACT_SIGMOID:
        for (int j = 0; j < H; j++)
            x[j] = sigm(x[j]);
        break;
    case MAL_ACT_SOFTSIGN:
        for (int j = 0; j < H; j++)
            x[j] = x[j] / (1.0f + fabsf(x[j]));
        break;
    case MAL_ACT_SOFTMAX: {
        /* softmax(x)_j = exp(x_j - max) / sum_k exp(x_k - max) */
        float mx = x[0];
        for (int j = 1; j < H; j++)
            if (x[j] > mx)
                mx = x[j];
        double sum = 0.0;
        for (int j = 0; j < H; j++) {
            x[j] = expf(x[j] - mx);
            sum += (double)x[j];
        }
        for (int j = 0; j < H; j++)
            x[j] = (float)((double)x[j] / sum);
        break;
    }
    }
}

/* Gate pre-activations z[4H] = b + Wx x + Wh h, rows in gate order i,f,g,o. */
static void preact(const mal_lstm_layer *l, const float *x, const float *h, float *z)
{
    const int H4 = 4 * l->hidden;
    for (int r = 0; r < H4; r++) {
        const float *wx = l->wx + (size_t)r * (size_t)l->in;
        const float *wh = l->wh + (size_t)r * (size_t)l->hidden;
        double acc = (double)l->b[r];
        for (int k = 0; k < l->in; k++)
            acc += (double)wx[k] * (double)x[k];
        for (int k = 0; k < l->hidden; k++)
            acc += (double)wh[k] * (double)h[k];
        z[r] = (float)acc;
    }
}

/* The cell from pre-activations z[4H] (overwritten), updating h and c:
 *   i = sigm(z_i)  f = sigm(z_f)  g = act(z_g)  o = sigm(z_o)
 *   c = f*c + i*g
 *   h = o * act(c)
 * act is applied to whole vectors because softmax spans the H units. */
static void cell(mal_act act, int H, float *z, float *h, float *c)
{
    float *zi = z, *zf = z + H, *zg = z + 2 * H, *zo = z + 3 * H;
    for (int j = 0; j < H; j++) {
        zi[j] = sigm(zi[j]);   /* input gate */
        zf[j] = sigm(zf[j]);   /* forget gate */
        zo[j] = sigm(zo[j]);   /* output gate */
    }
    act_vec(act, zg, H);       /* candidate g */
    for (int j = 0; j < H; j++)
        c[j] = zf[j] * c[j] + zi[j] * zg[j];
    /* act(c) into zg (g is no longer needed), then h = o * act(c) */
    memcpy(zg, c, (size_t)H * sizeof *zg);
    act_vec(act, zg, H);
    for (int j = 0; j < H; j++)
        h[j] = zo[j] * zg[j];
}

/* ------------------------------------------------------------- streaming */

int mal_ref_state_init(const mal_model *m, mal_ref_state *s, mal_error *e)
{
    memset(s, 0, sizeof *s);
    size_t H1 = (size_t)m->l1.hidden, H2 = (size_t)m->l2.hidden;
    size_t Hm = H1 > H2 ? H1 : H2;
    s->h1 = calloc(H1, sizeof(float));
    s->c1 = calloc(H1, sizeof(float));
    s->h2 = calloc(H2, sizeof(float));
    s->c2 = calloc(H2, sizeof(float));
    s->pool_sum = calloc(H2, sizeof(float));
    s->scratch = calloc(4 * Hm, sizeof(float));
    if (!s->h1 || !s->c1 || !s->h2 || !s->c2 || !s->pool_sum || !s->scratch) {
        mal_ref_state_free(s);
        return mal_error_set(e, "reference state for '%s': out of memory", m->type);
    }
    return 0;
}

void mal_ref_state_reset(const mal_model *m, mal_ref_state *s)
{
    size_t H1 = (size_t)m->l1.hidden, H2 = (size_t)m->l2.hidden;
    memset(s->h1, 0, H1 * sizeof(float));
    memset(s->c1, 0, H1 * sizeof(float));
    memset(s->h2, 0, H2 * sizeof(float));
    memset(s->c2, 0, H2 * sizeof(float));
    memset(s->pool_sum, 0, H2 * sizeof(float));
    s->steps = 0;
}

void mal_ref_state_free(mal_ref_state *s)
{
    if (!s)
        return;
    free(s->h1), free(s->c1), free(s->h2), free(s->c2), free(s->pool_sum), free(s->scratch);
    memset(s, 0, sizeof *s);
}

void mal_ref_step(const mal_model *m, mal_ref_state *s, int token)
{
    if (token < 0 || token >= m->vocab.size)
        return;   /* not a call: state unchanged (documented) */
    const float *x = m->embedding + (size_t)token * (size_t)m->embed;
    preact(&m->l1, x, s->h1, s->scratch);
    cell(m->act, m->l1.hidden, s->scratch, s->h1, s->c1);
    preact(&m->l2, s->h1, s->h2, s->scratch);
    cell(m->act, m->l2.hidden, s->scratch, s->h2, s->c2);
    /* pool_sum is float storage; the sum itself is float so that it equals
     * the padded path's sum bit for bit (same order, same type) */
    for (int j = 0; j < m->l2.hidden; j++)
        s->pool_sum[j] += s->h2[j];
    s->steps++;
}

/* logit = dense_b + sum_j w_j * pooled_j (double accumulation) */
static float head_logit(const mal_model *m, const float *h2, const float *pool_sum, long steps)
{
    double acc = (double)m->dense_b;
    for (int j = 0; j < m->l2.hidden; j++) {
        float v;
        if (steps == 0)
            v = 0.0f;
        else if (m->pool == MAL_POOL_MEAN)
            v = pool_sum[j] / (float)steps;
        else
            v = h2[j];
        acc += (double)m->dense_w[j] * (double)v;
    }
    return (float)acc;
}

static float calibrated(const mal_model *m, float logit)
{
    return sigm(m->scoring.calib_a * logit + m->scoring.calib_b);
}

float mal_ref_logit(const mal_model *m, const mal_ref_state *s)
{
    return head_logit(m, s->h2, s->pool_sum, s->steps);
}

float mal_ref_prob(const mal_model *m, const mal_ref_state *s)
{
    return calibrated(m, mal_ref_logit(m, s));
}

/* ---------------------------------------------------------- padded batch */

/* Batch-major: for each time step, all rows advance together through layer 1
 * and then layer 2; a row whose id is -1 (front padding) is masked and keeps
 * its state. Separate buffers [n][H] per quantity, no mal_ref_state. */
int mal_ref_forward_padded(const mal_model *m, const int32_t *ids, int n, int t, float *probs,
                           mal_error *e)
{
    if (n < 0 || t < 0)
        return mal_error_set(e, "forward_padded: bad batch shape %d x %d", n, t);
    for (size_t k = 0; k < (size_t)n * (size_t)t; k++)
        if (ids[k] < -1 || ids[k] >= m->vocab.size)
            return mal_error_set(e, "forward_padded: row %zu step %zu: id %d out of range "
                                 "(-1 = padding, 0..%d)", k / (size_t)(t ? t : 1),
                                 k % (size_t)(t ? t : 1), (int)ids[k], m->vocab.size - 1);
    if (n == 0)
        return 0;
    size_t N = (size_t)n, H1 = (size_t)m->l1.hidden, H2 = (size_t)m->l2.hidden;
    size_t Hm = H1 > H2 ? H1 : H2;
    float *h1 = calloc(N * H1, sizeof(float)), *c1 = calloc(N * H1, sizeof(float));
    float *h2 = calloc(N * H2, sizeof(float)), *c2 = calloc(N * H2, sizeof(float));
    float *psum = calloc(N * H2, sizeof(float));
    float *z = calloc(N * 4 * Hm, sizeof(float));
    long *steps = calloc(N, sizeof(long));
    int rc = 0;
    if (!h1 || !c1 || !h2 || !c2 || !psum || !z || !steps) {
        rc = mal_error_set(e, "forward_padded: out of memory for a batch of %d", n);
        goto out;
    }
    for (int step = 0; step < t; step++) {
        /* layer 1, all live rows */
        for (size_t r = 0; r < N; r++) {
            int id = ids[r * (size_t)t + (size_t)step];
            if (id < 0)
                continue;
            preact(&m->l1, m->embedding + (size_t)id * (size_t)m->embed, h1 + r * H1,
                   z + r * 4 * Hm);
        }
        for (size_t r = 0; r < N; r++)
            if (ids[r * (size_t)t + (size_t)step] >= 0)
                cell(m->act, (int)H1, z + r * 4 * Hm, h1 + r * H1, c1 + r * H1);
        /* layer 2, all live rows */
        for (size_t r = 0; r < N; r++)
            if (ids[r * (size_t)t + (size_t)step] >= 0)
                preact(&m->l2, h1 + r * H1, h2 + r * H2, z + r * 4 * Hm);
        for (size_t r = 0; r < N; r++) {
            if (ids[r * (size_t)t + (size_t)step] < 0)
                continue;
            cell(m->act, (int)H2, z + r * 4 * Hm, h2 + r * H2, c2 + r * H2);
            for (size_t j = 0; j < H2; j++)
                psum[r * H2 + j] += h2[r * H2 + j];
            steps[r]++;
        }
    }
    for (size_t r = 0; r < N; r++)
        probs[r] = calibrated(m, head_logit(m, h2 + r * H2, psum + r * H2, steps[r]));
out:
    free(h1), free(c1), free(h2), free(c2), free(psum), free(z), free(steps);
    return rc;
}

/* ------------------------------------------------------------ whole trace */

static float window_prob(const mal_model *m, mal_ref_state *s, const int32_t *ids, size_t n)
{
    mal_ref_state_reset(m, s);
    for (size_t k = 0; k < n; k++)
        mal_ref_step(m, s, ids[k]);
    return mal_ref_prob(m, s);
}

float mal_ref_score_trace(const mal_model *m, const int32_t *ids, size_t n)
{
    mal_ref_state s;
    if (mal_ref_state_init(m, &s, NULL) < 0)
        return NAN;
    const int32_t *seq = ids;
    int32_t *dd = NULL;
    if (m->scoring.dedup && n > 0) {
        /* collapse runs of one id: a a b a -> a b a */
        dd = malloc(n * sizeof *dd);
        if (!dd) {
            mal_ref_state_free(&s);
            return NAN;
        }
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (k == 0 || dd[k - 1] != ids[i])
                dd[k++] = ids[i];
        seq = dd;
        n = k;
    }
    size_t W = (size_t)m->scoring.window, S = (size_t)m->scoring.stride;
    float p;
    if (S == 0) {
        /* the last W calls (or all of them when fewer) */
        size_t start = n > W ? n - W : 0;
        p = window_prob(m, &s, seq + start, n - start);
    } else {
        /* windows at 0, S, 2S, ...; kept if first or full; only the first
         * max_windows of them when that bound is set */
        size_t K = m->scoring.max_windows > 0 ? (size_t)m->scoring.max_windows : (size_t)-1;
        double sum = 0.0;
        float mx = 0.0f;
        size_t count = 0;
        for (size_t start = 0; (start == 0 || start + W <= n) && count < K; start += S) {
            size_t len = n - start < W ? n - start : W;
            float q = window_prob(m, &s, seq + start, len);
            sum += (double)q;
            if (count == 0 || q > mx)
                mx = q;
            count++;
        }
        p = m->scoring.combine == MAL_COMBINE_MAX ? mx : (float)(sum / (double)count);
    }
    free(dd);
    mal_ref_state_free(&s);
    return p;
}
