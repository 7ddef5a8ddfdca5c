/* test_reference.c - the float reference forward pass against PyTorch
 * (tests/fixtures/torch_*.json, made by tests/make_torch_fixture.py), padded
 * batch == streaming, the scoring rule, sensitivity to every weight. */
#include "test_support.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "reference.h"

#define TORCH_TOL 1e-5   /* absolute, on probabilities and on logits */

static uint64_t rng_state;
static uint32_t rnd(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng_state >> 33);
}
static float urand(float s)   /* uniform in [-s, s) */
{
    return s * (2.0f * (float)(rnd() & 0xffffff) / 16777216.0f - 1.0f);
}

static void fill(float *x, size_t n, float s)
{
    for (size_t i = 0; i < n; i++)
        x[i] = urand(s);
}

/* A random model over the sample vocabulary. */
static void random_model(mal_model *m, mal_act act, int E, int H1, int H2, uint64_t seed)
{
    mal_vocab v;
    mal_error e;
    assert_int_equal(mal_vocab_load(&v, SAMPLE_VOCAB, &e), 0);
    assert_int_equal(mal_model_alloc(m, &v, "Test", E, H1, H2, act, &e), 0);
    mal_vocab_free(&v);
    rng_state = seed;
    size_t V = (size_t)m->vocab.size;
    fill(m->embedding, V * (size_t)E, 1.0f);
    fill(m->l1.wx, 4 * (size_t)H1 * (size_t)E, 0.5f);
    fill(m->l1.wh, 4 * (size_t)H1 * (size_t)H1, 0.3f);
    fill(m->l1.b, 4 * (size_t)H1, 0.5f);
    fill(m->l2.wx, 4 * (size_t)H2 * (size_t)H1, 0.5f);
    fill(m->l2.wh, 4 * (size_t)H2 * (size_t)H2, 0.3f);
    fill(m->l2.b, 4 * (size_t)H2, 0.5f);
    fill(m->dense_w, (size_t)H2, act == MAL_ACT_SOFTMAX ? 30.0f : 2.0f);
    m->dense_b = urand(0.5f);
    assert_int_equal(mal_model_validate(m, "random", &e), 0);
}

static int random_id(const mal_model *m)
{
    for (;;) {
        int id = (int)(rnd() % (uint32_t)m->vocab.size);
        if (mal_vocab_name(&m->vocab, id))
            return id;
    }
}

static float stream_prob(const mal_model *m, const int32_t *ids, size_t n, float *logit)
{
    mal_ref_state s;
    mal_error e;
    assert_int_equal(mal_ref_state_init(m, &s, &e), 0);
    for (size_t k = 0; k < n; k++)
        mal_ref_step(m, &s, ids[k]);
    float p = mal_ref_prob(m, &s);
    if (logit)
        *logit = mal_ref_logit(m, &s);
    mal_ref_state_free(&s);
    return p;
}

/* ------------------------------------------------------------------ torch */

static void check_fixture(const char *act)
{
    char path[256];
    snprintf(path, sizeof path, "tests/fixtures/torch_%s.json", act);
    size_t len;
    char *text = read_file(path, &len);
    cJSON *root = cJSON_ParseWithOpts(text, NULL, 1);
    assert_non_null(root);
    const cJSON *mp = cJSON_GetObjectItemCaseSensitive(root, "model");
    assert_true(cJSON_IsString(mp));
    mal_model m;
    mal_error e = {{0}};
    if (mal_model_load(&m, mp->valuestring, &e) != 0)
        fail_msg("%s", e.msg);
    assert_string_equal(mal_act_name(m.act), act);
    double worst_p = 0, worst_l = 0;
    int ncases = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(root, "cases")) {
        const cJSON *ids_j = cJSON_GetObjectItemCaseSensitive(c, "ids");
        size_t n = (size_t)cJSON_GetArraySize(ids_j), k = 0;
        int32_t *ids = malloc(n * sizeof *ids);
        const cJSON *x;
        cJSON_ArrayForEach(x, ids_j) ids[k++] = (int32_t)x->valuedouble;
        double want = cJSON_GetObjectItemCaseSensitive(c, "prob")->valuedouble;
        double got = mal_ref_score_trace(&m, ids, n);
        worst_p = fmax(worst_p, fabs(got - want));
        if (fabs(got - want) > TORCH_TOL)
            fail_msg("%s case %d (n=%zu): prob %.9g, torch %.9g", act, ncases, n, got, want);
        /* logits of the scored windows, recomputed directly from the rule */
        int32_t *seq = malloc((n ? n : 1) * sizeof *seq);
        size_t ns = 0;
        for (size_t i = 0; i < n; i++)
            if (!m.scoring.dedup || ns == 0 || seq[ns - 1] != ids[i])
                seq[ns++] = ids[i];
        size_t W = (size_t)m.scoring.window, S = (size_t)m.scoring.stride, w = 0;
        const cJSON *lj;
        cJSON_ArrayForEach(lj, cJSON_GetObjectItemCaseSensitive(c, "logits")) {
            size_t start = S == 0 ? (ns > W ? ns - W : 0) : w * S;
            size_t wl = ns - start < W ? ns - start : W;
            float logit;
            stream_prob(&m, seq + start, wl, &logit);
            worst_l = fmax(worst_l, fabs(logit - lj->valuedouble));
            if (fabs(logit - lj->valuedouble) > TORCH_TOL)
                fail_msg("%s case %d window %zu: logit %.9g, torch %.9g", act, ncases, w,
                         (double)logit, lj->valuedouble);
            w++;
        }
        assert_true(w >= 1);
        free(seq);
        free(ids);
        ncases++;
    }
    assert_true(ncases >= 5);
    printf("  torch %-8s %d cases: max |dp| %.2e, max |dlogit| %.2e\n", act, ncases, worst_p,
           worst_l);
    mal_model_free(&m);
    cJSON_Delete(root);
    free(text);
}

static void test_torch_tanh(void **state) { (void)state; check_fixture("tanh"); }
static void test_torch_sigmoid(void **state) { (void)state; check_fixture("sigmoid"); }
static void test_torch_softsign(void **state) { (void)state; check_fixture("softsign"); }
static void test_torch_softmax(void **state) { (void)state; check_fixture("softmax"); }

/* ------------------------------------------------------- padded == stream */

/* Exact equality: both paths accumulate in the same order and types. */
static void test_padded_equals_streamed(void **state)
{
    (void)state;
    for (int a = 0; a < 4; a++)
        for (int pool = 0; pool < 2; pool++) {
            mal_model m;
            random_model(&m, (mal_act)a, 6, 9, 7, 100 + (uint64_t)(a * 2 + pool));
            m.pool = (mal_pool)pool;
            m.scoring.calib_a = 1.25f, m.scoring.calib_b = -0.5f;
            enum { N = 9, T = 23 };
            int32_t ids[N * T];
            int lens[N] = {0, 1, 2, T, T - 1, 5, 17, T, 11};
            for (int r = 0; r < N; r++)
                for (int k = 0; k < T; k++)
                    ids[r * T + k] = k < T - lens[r] ? -1 : random_id(&m);
            float probs[N];
            mal_error e;
            assert_int_equal(mal_ref_forward_padded(&m, ids, N, T, probs, &e), 0);
            for (int r = 0; r < N; r++) {
                float want = stream_prob(&m, ids + r * T + (T - lens[r]), (size_t)lens[r], NULL);
                if (memcmp(&want, &probs[r], sizeof want) != 0)
                    fail_msg("%s/%s row %d: padded %.9g, streamed %.9g", mal_act_name(m.act),
                             mal_pool_name(m.pool), r, (double)probs[r], (double)want);
            }
            /* rows are independent of their batch neighbours */
            float one;
            assert_int_equal(mal_ref_forward_padded(&m, ids + 3 * T, 1, T, &one, &e), 0);
            assert_memory_equal(&one, &probs[3], sizeof one);
            mal_model_free(&m);
        }
}

static void test_padded_rejects_bad_ids(void **state)
{
    (void)state;
    mal_model m;
    random_model(&m, MAL_ACT_TANH, 2, 3, 2, 7);
    int32_t ids[4] = {-1, 3, 342, 4};
    float p[2];
    mal_error e = {{0}};
    assert_int_equal(mal_ref_forward_padded(&m, ids, 2, 2, p, &e), -1);
    assert_contains(e.msg, "row 1 step 0: id 342 out of range");
    ids[2] = -2;
    assert_int_equal(mal_ref_forward_padded(&m, ids, 2, 2, p, &e), -1);
    assert_int_equal(mal_ref_forward_padded(&m, ids, 0, 2, p, &e), 0);
    /* an out-of-range id in streaming is ignored: same as not being there */
    int32_t a[3] = {5, 100000, 6}, b[2] = {5, 6};
    float pa = stream_prob(&m, a, 3, NULL), pb = stream_prob(&m, b, 2, NULL);
    assert_memory_equal(&pa, &pb, sizeof pa);
    mal_model_free(&m);
}

/* ------------------------------------------------------------ score rule */

/* The rule computed directly: dedup, window list, stream each, combine. */
static float direct_score(const mal_model *m, const int32_t *ids, size_t n)
{
    int32_t *seq = malloc((n ? n : 1) * sizeof *seq);
    size_t ns = 0;
    for (size_t i = 0; i < n; i++)
        if (!m->scoring.dedup || ns == 0 || seq[ns - 1] != ids[i])
            seq[ns++] = ids[i];
    size_t W = (size_t)m->scoring.window, S = (size_t)m->scoring.stride;
    float p;
    if (S == 0) {
        size_t start = ns > W ? ns - W : 0;
        p = stream_prob(m, seq + start, ns - start, NULL);
    } else {
        double sum = 0;
        float mx = -1;
        int count = 0;
        for (size_t start = 0; start == 0 || start + W <= ns; start += S) {
            float q = stream_prob(m, seq + start, ns - start < W ? ns - start : W, NULL);
            sum += q, mx = q > mx ? q : mx, count++;
        }
        p = m->scoring.combine == MAL_COMBINE_MAX ? mx : (float)(sum / count);
    }
    free(seq);
    return p;
}

static void test_score_trace_rules(void **state)
{
    (void)state;
    mal_model m;
    random_model(&m, MAL_ACT_SOFTSIGN, 4, 6, 5, 42);
    m.scoring.window = 5;
    int32_t ids[40];
    for (int i = 0; i < 40; i++)
        ids[i] = i > 0 && rnd() % 3 == 0 ? ids[i - 1] : random_id(&m);
    const int strides[] = {0, 1, 2, 3, 5};
    for (int d = 0; d < 2; d++)
        for (int si = 0; si < 5; si++)
            for (int c = 0; c < 2; c++)
                for (size_t n = 0; n <= 40; n += (n < 12 ? 1 : 7)) {
                    m.scoring.dedup = d;
                    m.scoring.stride = strides[si];
                    m.scoring.combine = (mal_combine)c;
                    float got = mal_ref_score_trace(&m, ids, n), want = direct_score(&m, ids, n);
                    if (fabsf(got - want) > 1e-7f)
                        fail_msg("dedup %d stride %d combine %d n %zu: %.9g vs %.9g", d,
                                 strides[si], c, n, (double)got, (double)want);
                }
    /* worked examples */
    m.scoring = (mal_scoring){.window = 4, .stride = 0, .dedup = 1, .combine = MAL_COMBINE_MEAN,
                              .calib_a = 1, .calib_b = 0};
    int32_t a[] = {7, 7, 8, 7, 7, 7}, b[] = {7, 8, 7};
    assert_true(mal_ref_score_trace(&m, a, 6) == stream_prob(&m, b, 3, NULL));
    m.scoring.dedup = 0;   /* last 4 calls of a: 8 7 7 7 */
    assert_true(mal_ref_score_trace(&m, a, 6) == stream_prob(&m, a + 2, 4, NULL));
    /* stride 2, window 4, n 9: windows at 0, 2, 4 (6 + 4 > 9 is not full) */
    m.scoring.stride = 2;
    m.scoring.combine = MAL_COMBINE_MAX;
    float w0 = stream_prob(&m, ids, 4, NULL), w2 = stream_prob(&m, ids + 2, 4, NULL),
          w4 = stream_prob(&m, ids + 4, 4, NULL);
    float mx = fmaxf(w0, fmaxf(w2, w4));
    assert_true(mal_ref_score_trace(&m, ids, 9) == mx);
    /* shorter than a window: the first window only, partial */
    assert_true(mal_ref_score_trace(&m, ids, 3) == stream_prob(&m, ids, 3, NULL));
    /* no calls: the empty window, h2 = 0: p = sigmoid(a * dense_b + b) */
    m.scoring.calib_a = 2, m.scoring.calib_b = 0.25f;
    float empty = 1.0f / (1.0f + expf(-(2 * m.dense_b + 0.25f)));
    assert_true(fabsf(mal_ref_score_trace(&m, ids, 0) - empty) < 1e-7f);
    mal_model_free(&m);
}

/* ------------------------------------------------------------ sensitivity */

static void test_every_weight_matters(void **state)
{
    (void)state;
    for (int a = 0; a < 4; a++) {
        mal_model m;
        random_model(&m, (mal_act)a, 4, 6, 5, 900 + (uint64_t)a);
        m.pool = a % 2 ? MAL_POOL_MEAN : MAL_POOL_LAST;
        int32_t ids[12];
        for (int i = 0; i < 12; i++)
            ids[i] = random_id(&m);
        float base = mal_ref_score_trace(&m, ids, 12);
        float *targets[] = {&m.embedding[(size_t)ids[0] * 4 + 1], &m.l1.wx[7], &m.l1.wh[3],
                            &m.l1.b[2 * 6], &m.l2.wx[11], &m.l2.wh[4], &m.l2.b[3 * 5 + 1],
                            &m.dense_w[2], &m.dense_b, &m.scoring.calib_a};
        const char *what[] = {"embedding", "l1.wx", "l1.wh", "l1.b (g)", "l2.wx", "l2.wh",
                              "l2.b (o)", "dense_w", "dense_b", "calib_a"};
        for (int t = 0; t < 10; t++) {
            float old = *targets[t];
            *targets[t] = old + 0.25f;
            float p = mal_ref_score_trace(&m, ids, 12);
            if (p == base)
                fail_msg("%s: changing %s did not change the score", mal_act_name(m.act),
                         what[t]);
            *targets[t] = old;
            assert_true(mal_ref_score_trace(&m, ids, 12) == base);
        }
        /* an unused token's embedding row does not matter */
        m.embedding[109 * 4] += 1.0f;
        assert_true(mal_ref_score_trace(&m, ids, 12) == base);
        mal_model_free(&m);
    }
}

/* Hand-computed single step with H = 1, E = 1: every formula of the cell. */
static void test_one_unit_by_hand(void **state)
{
    (void)state;
    for (int a = 0; a < 3; a++) {   /* softmax over one unit is always 1: checked below */
        mal_model m;
        random_model(&m, (mal_act)a, 1, 1, 1, 5);
        float x = m.embedding[0];
        double act_g, act_c;
        /* layer 1 */
        double z[4];
        for (int r = 0; r < 4; r++)
            z[r] = (double)m.l1.b[r] + (double)m.l1.wx[r] * x;
#define ACT(v) (a == 0 ? tanh(v) : a == 1 ? 1 / (1 + exp(-(v))) : (v) / (1 + fabs(v)))
#define SIG(v) (1 / (1 + exp(-(v))))
        act_g = ACT(z[2]);
        double c1 = SIG(z[0]) * act_g;
        act_c = ACT(c1);
        double h1 = SIG(z[3]) * act_c;
        for (int r = 0; r < 4; r++)
            z[r] = (double)m.l2.b[r] + (double)m.l2.wx[r] * h1;
        double c2 = SIG(z[0]) * ACT(z[2]);
        double h2 = SIG(z[3]) * ACT(c2);
        double logit = m.dense_b + m.dense_w[0] * h2;
        int32_t id = 0;
        float got_logit;
        stream_prob(&m, &id, 1, &got_logit);
        assert_true(fabs(got_logit - logit) < 1e-6);
        mal_model_free(&m);
    }
    mal_model m;
    random_model(&m, MAL_ACT_SOFTMAX, 1, 1, 1, 5);
    int32_t id = 0;
    float got_logit;
    stream_prob(&m, &id, 1, &got_logit);
    /* softmax of one unit is 1: h = o * 1, with o from layer 2's output gate */
    double o1 = SIG((double)m.l1.b[3] + (double)m.l1.wx[3] * m.embedding[0]);
    double o2 = SIG((double)m.l2.b[3] + (double)m.l2.wx[3] * o1);
    assert_true(fabs(got_logit - (m.dense_b + m.dense_w[0] * o2)) < 1e-6);
    mal_model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_torch_tanh),
        cmocka_unit_test(test_torch_sigmoid),
        cmocka_unit_test(test_torch_softsign),
        cmocka_unit_test(test_torch_softmax),
        cmocka_unit_test(test_padded_equals_streamed),
        cmocka_unit_test(test_padded_rejects_bad_ids),
        cmocka_unit_test(test_score_trace_rules),
        cmocka_unit_test(test_every_weight_matters),
        cmocka_unit_test(test_one_unit_by_hand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
