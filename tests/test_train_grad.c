/* test_train_grad.c - finite-difference checks of every parameter group's
 * gradient, for each of the four activations and both poolings, on a tiny
 * front-padded batch (V 10, E 3, H 4/5, T 6, N 3); and of the bag loss
 * (rows 0-1 one bag, row 2 another), whose value is checked directly; and
 * of a network of three heads (joint training), whose heads are each the
 * network of one model file; and with dropout, its masks fixed by a seed;
 * and of next-call prediction (pretraining), its softmax head included.
 *
 * The network computes in float (oneDNN f32), so the check uses central
 * differences with step 3e-3 on the double-precision loss and accepts
 * |fd - analytic| <= 2e-4 + 2e-2 |analytic| per element; a wrong gate
 * derivative gives errors of the order of the gradient itself. */
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"

enum { V = 10, E = 3, H1 = 4, H2 = 5, T = 6, N = 3 };

/* row 0 full, row 1 padded by 2, row 2 padded by 5 (one real step) */
static const int32_t ids[N * T] = {1, 4, 9, 4, 0, 7,   -1, -1, 3, 3, 8, 2,   -1, -1, -1, -1, -1, 5};
static const float y[N] = {1, 0, 1};
static const float w[N] = {1, 7, 1};
static const int bags[N] = {0, 0, 1};
static const int *bag;   /* NULL: each row its own loss */
/* three heads: [N][3] labels and weights, each head its own balance */
enum { O3 = 3 };
static const float y3[N * O3] = {1, 0, 0,   0, 1, 0,   1, 0, 1};
static const float w3[N * O3] = {2, 1, 1,   1, 5, 1,   2, 1, 3};
static int heads = 1;    /* outputs of the checked network */
static int softmax;      /* heads > 1: the softmax cross-entropy instead of a binary loss each */
static float drop_p;     /* dropout of the checked network's forwards (fixed masks: one seed) */
enum { NLM = V * H2 + V };
static float *lm_head;   /* non-NULL: the next-call loss through this head ([V][H2], then [V]) */
static float lm_grad[NLM];
/* one-hot classes of the rows, and the row weights repeated per column */
static const float c3[N * O3] = {0, 1, 0,   1, 0, 0,   0, 0, 1};
static const float wr3[N * O3] = {2, 2, 2,   1, 1, 1,   3, 3, 3};

/* A network of the test's shape with `outputs` heads, initialised from `seed`. */
static void tiny_net(mt_net *n, mal_act act, mal_pool pool, int outputs, uint64_t seed)
{
    mal_error e;
    mt_shape s = {.V = V, .E = E, .H1 = H1, .H2 = H2, .T = T, .N = N, .act = act, .pool = pool,
                  .O = outputs};
    assert_int_equal(mt_net_init(n, &s, &e), 0);
    mt_net_init_params(n, seed);
}

static double loss_at(mt_net *n)
{
    mal_error e;
    assert_int_equal(mt_net_forward(n, ids, NULL, &e), 0);
    if (lm_head)
        return mt_net_backward_lm(n, lm_head, lm_grad, &e);
    if (heads > 1)
        return softmax ? mt_net_backward_softmax(n, c3, wr3, N) : mt_net_backward(n, y3, w3, N);
    return bag ? mt_net_backward_bags(n, y, w, bag, 2) : mt_net_backward(n, y, w, N);
}

static void check(mal_act act, mal_pool pool)
{
    mt_net n;
    tiny_net(&n, act, pool, heads, 42);
    n.dropout = drop_p, n.drop_seed = 99;
    /* larger, asymmetric weights than the init so every path carries signal */
    mt_rng r;
    mt_rng_seed(&r, 7);
    for (size_t i = 0; i < n.nparam; i++)
        n.p[i] += (float)(0.6 * (mt_rng_uniform(&r) - 0.5));
    loss_at(&n);
    float *an = malloc(sizeof(float) * (n.nparam + NLM));
    memcpy(an, n.g, sizeof(float) * n.nparam);
    memcpy(an + n.nparam, lm_grad, sizeof lm_grad);
    const float h = 3e-3f;
    /* the network's groups, then (next-call loss) the head's weights and biases,
     * which the dense layer's groups give way to */
    for (int g = 0; g < MT_NGROUPS + 2; g++) {
        if (lm_head ? g == MT_DW || g == MT_DB : g >= MT_NGROUPS)
            continue;
        size_t lo = g < MT_NGROUPS ? n.off[g] : n.nparam + (g == MT_NGROUPS ? 0 : (size_t)V * H2);
        size_t hi = g < MT_NGROUPS ? n.off[g + 1] : g == MT_NGROUPS ? n.nparam + (size_t)V * H2 : n.nparam + NLM;
        double maxg = 0;
        for (size_t i = lo; i < hi; i++) {
            float *x = i < n.nparam ? &n.p[i] : &lm_head[i - n.nparam];
            float keep = *x;
            *x = keep + h;
            double lp = loss_at(&n);
            *x = keep - h;
            double lm = loss_at(&n);
            *x = keep;
            double fd = (lp - lm) / (2.0 * h);
            double err = fabs(fd - an[i]);
            if (fabs(an[i]) > maxg)
                maxg = fabs(an[i]);
            if (err > 2e-4 + 2e-2 * fabs(an[i])) {
                fprintf(stderr, "act %s pool %s group %s index %zu: fd %.6g analytic %.6g\n",
                        mal_act_name(act), mal_pool_name(pool),
                        g < MT_NGROUPS ? mt_group_name(g) : g == MT_NGROUPS ? "next-call.w" : "next-call.b",
                        i - lo, fd, an[i]);
                fail();
            }
        }
        /* a group whose gradient is all zero would pass trivially */
        assert_true(maxg > 1e-4);
    }
    free(an);
    mt_net_free(&n);
}

static void test_tanh(void **st) { (void)st; check(MAL_ACT_TANH, MAL_POOL_LAST); check(MAL_ACT_TANH, MAL_POOL_MEAN); }
static void test_sigmoid(void **st) { (void)st; check(MAL_ACT_SIGMOID, MAL_POOL_LAST); check(MAL_ACT_SIGMOID, MAL_POOL_MEAN); }
static void test_softsign(void **st) { (void)st; check(MAL_ACT_SOFTSIGN, MAL_POOL_LAST); check(MAL_ACT_SOFTSIGN, MAL_POOL_MEAN); }
static void test_softmax(void **st) { (void)st; check(MAL_ACT_SOFTMAX, MAL_POOL_LAST); check(MAL_ACT_SOFTMAX, MAL_POOL_MEAN); }

static double bce(double z, double yy) { return (z > 0 ? z : 0) - z * yy + log1p(exp(-fabs(z))); }

/* Bags: the loss is w * bce(y, mean logit of the bag) / denom, with the bag's
 * first row's y and w (row 1's y 0 and w 7 are ignored), and its gradient
 * passes the finite-difference check. */
static void test_bag_loss(void **st)
{
    (void)st;
    mal_error e;
    mt_net n;
    tiny_net(&n, MAL_ACT_TANH, MAL_POOL_MEAN, 1, 5);
    float lg[N];
    assert_int_equal(mt_net_forward(&n, ids, lg, &e), 0);
    double want = (w[0] * bce(0.5 * ((double)lg[0] + lg[1]), y[0]) + w[2] * bce(lg[2], y[2])) / 2;
    assert_float_equal(mt_net_backward_bags(&n, y, w, bags, 2), want, 1e-6);
    /* no bags: every row alone */
    want = (w[0] * bce(lg[0], y[0]) + w[1] * bce(lg[1], y[1]) + w[2] * bce(lg[2], y[2])) / N;
    assert_float_equal(mt_net_backward_bags(&n, y, w, NULL, N), want, 1e-6);
    mt_net_free(&n);
    bag = bags;
    check(MAL_ACT_TANH, MAL_POOL_MEAN);
    check(MAL_ACT_TANH, MAL_POOL_LAST);
    bag = NULL;
}

/* Three heads: the loss is the sum over rows and heads of w bce(y, logit) /
 * N, every group's gradient passes the finite-difference check (the dense
 * bias gets one term per head), and head o copied into a model and back into
 * a one-output network scores exactly column o. */
static void test_joint_heads(void **st)
{
    (void)st;
    mal_error e;
    mt_shape s = {.V = V, .E = E, .H1 = H1, .H2 = H2, .T = T, .N = N, .act = MAL_ACT_TANH,
                  .pool = MAL_POOL_MEAN, .O = O3};
    mt_net n, one;
    assert_int_equal(mt_net_init(&n, &s, &e), 0);
    mt_net_init_params(&n, 9);
    assert_int_equal((int)(n.off[MT_NGROUPS] - n.off[MT_DW]), O3 * H2 + O3);
    /* distinct heads, so a head mixed up with another shows */
    for (size_t i = n.off[MT_DW]; i < n.nparam; i++)
        n.p[i] += 0.1f * (float)(i - n.off[MT_DW]);
    float lg[N * O3];
    assert_int_equal(mt_net_forward(&n, ids, lg, &e), 0);
    double want = 0;
    for (int i = 0; i < N * O3; i++)
        want += w3[i] * bce(lg[i], y3[i]) / N;
    assert_float_equal(mt_net_backward(&n, y3, w3, N), want, 1e-6);
    /* bags need one output */
    assert_true(isnan(mt_net_backward_bags(&n, y3, w3, bags, 2)));
    mal_model m;
    mal_vocab voc;
    const char *names[V] = {"a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9"};
    assert_int_equal(mal_vocab_from_names(&voc, names, V, "test", &e), 0);
    s.O = 1;
    assert_int_equal(mt_net_init(&one, &s, &e), 0);
    for (int o = 0; o < O3; o++) {
        assert_int_equal(mal_model_alloc(&m, &voc, "T", E, H1, H2, MAL_ACT_TANH, &e), 0);
        m.pool = MAL_POOL_MEAN;
        assert_int_equal(mt_net_head_to_model(&n, o, &m, &e), 0);
        assert_int_equal(mt_net_from_model(&one, &m, &e), 0);
        float l1[N];
        assert_int_equal(mt_net_forward(&one, ids, l1, &e), 0);
        for (int r = 0; r < N; r++)
            assert_true(l1[r] == lg[r * O3 + o]);
        mal_model_free(&m);
    }
    /* a three-head network is three models, not one */
    assert_int_equal(mal_model_alloc(&m, &voc, "T", E, H1, H2, MAL_ACT_TANH, &e), 0);
    assert_int_equal(mt_net_to_model(&n, &m, &e), -1);
    assert_int_equal(mt_net_head_to_model(&n, O3, &m, &e), -1);
    mal_model_free(&m);
    mal_vocab_free(&voc);
    mt_net_free(&one);
    mt_net_free(&n);
    heads = O3;
    check(MAL_ACT_TANH, MAL_POOL_MEAN);
    check(MAL_ACT_SOFTSIGN, MAL_POOL_LAST);
    heads = 1;
}

/* The heads as one softmax: the loss is sum_r w_r (logsumexp(z_r) - z_r[c_r])
 * / N, its gradient passes the finite-difference check, and a network of
 * one output has no softmax. */
static void test_softmax_heads(void **st)
{
    (void)st;
    mal_error e;
    mt_shape s = {.V = V, .E = E, .H1 = H1, .H2 = H2, .T = T, .N = N, .act = MAL_ACT_TANH,
                  .pool = MAL_POOL_MEAN, .O = O3};
    mt_net n;
    assert_int_equal(mt_net_init(&n, &s, &e), 0);
    mt_net_init_params(&n, 11);
    float lg[N * O3];
    assert_int_equal(mt_net_forward(&n, ids, lg, &e), 0);
    double want = 0;
    for (int r = 0; r < N; r++) {
        double se = 0, zc = 0;
        for (int o = 0; o < O3; o++)
            se += exp(lg[r * O3 + o]), zc += c3[r * O3 + o] * lg[r * O3 + o];
        want += wr3[r * O3] * (log(se) - zc) / N;
    }
    assert_float_equal(mt_net_backward_softmax(&n, c3, wr3, N), want, 1e-6);
    /* the gradient of every row's logits sums to 0: the bias gradients too */
    double sb = 0;
    for (int o = 0; o < O3; o++)
        sb += n.g[n.off[MT_DB] + o];
    assert_true(fabs(sb) < 1e-6);
    mt_net_free(&n);
    s.O = 1;
    assert_int_equal(mt_net_init(&n, &s, &e), 0);
    assert_int_equal(mt_net_forward(&n, ids, lg, &e), 0);
    assert_true(isnan(mt_net_backward_softmax(&n, y, w, N)));
    mt_net_free(&n);
    heads = O3, softmax = 1;
    check(MAL_ACT_TANH, MAL_POOL_MEAN);
    check(MAL_ACT_SIGMOID, MAL_POOL_LAST);
    heads = 1, softmax = 0;
}

/* Masking: a padded row scores exactly as the same ids unpadded in a
 * shorter... same-length window: padding must not change the logit. */
static void test_padding_is_transparent(void **st)
{
    (void)st;
    mal_error e;
    mt_shape s = {.V = V, .E = E, .H1 = H1, .H2 = H2, .T = T, .N = N, .act = MAL_ACT_TANH, .pool = MAL_POOL_MEAN};
    mt_shape s2 = s;
    s2.T = 1;
    mt_net a, b;
    assert_int_equal(mt_net_init(&a, &s, &e), 0);
    assert_int_equal(mt_net_init(&b, &s2, &e), 0);
    mt_net_init_params(&a, 3);
    memcpy(b.p, a.p, sizeof(float) * a.nparam);
    float la[N], lb[N];
    assert_int_equal(mt_net_forward(&a, ids, la, &e), 0);
    int32_t one[N] = {7, 2, 5};   /* row 2 of ids is 5 padded: its only real step */
    assert_int_equal(mt_net_forward(&b, one, lb, &e), 0);
    assert_float_equal(la[2], lb[2], 1e-6);
    mt_net_free(&a);
    mt_net_free(&b);
}

/* Dropout: the same seed draws the same masks, another seed or none gives
 * other logits, and with the masks fixed every group's gradient passes the
 * finite-difference check (a backward that ignores either mask fails it). */
static void test_dropout(void **st)
{
    (void)st;
    mal_error e;
    mt_net n;
    tiny_net(&n, MAL_ACT_TANH, MAL_POOL_MEAN, 1, 5);
    assert_true(n.dropout == 0);   /* off unless asked for */
    float plain[N], a[N], b[N], c[N];
    assert_int_equal(mt_net_forward(&n, ids, plain, &e), 0);
    n.dropout = 0.5f, n.drop_seed = 1;
    assert_int_equal(mt_net_forward(&n, ids, a, &e), 0);
    assert_int_equal(mt_net_forward(&n, ids, b, &e), 0);
    n.drop_seed = 2;
    assert_int_equal(mt_net_forward(&n, ids, c, &e), 0);
    n.dropout = 0;
    assert_int_equal(mt_net_forward(&n, ids, b, &e), 0);   /* off again: the plain logits */
    int differ_seed = 0, differ_plain = 0;
    for (int r = 0; r < N; r++) {
        assert_float_equal(b[r], plain[r], 0);
        differ_seed |= a[r] != c[r];
        differ_plain |= a[r] != plain[r];
    }
    assert_true(differ_seed && differ_plain);
    n.dropout = 0.5f, n.drop_seed = 1;
    assert_int_equal(mt_net_forward(&n, ids, b, &e), 0);
    for (int r = 0; r < N; r++)
        assert_float_equal(b[r], a[r], 0);   /* same seed, same masks */
    mt_net_free(&n);
    drop_p = 0.3f;
    check(MAL_ACT_TANH, MAL_POOL_MEAN);
    check(MAL_ACT_TANH, MAL_POOL_LAST);
    check(MAL_ACT_SOFTSIGN, MAL_POOL_MEAN);
    drop_p = 0;
}

/* Next-call prediction (pretraining): row 0 has 5 steps with a next call,
 * row 1 has 3, row 2 none. A head of zeros predicts uniformly, log V per
 * target; with a head of random weights every group of the layers and of
 * the head passes the finite-difference check, under dropout too. */
static void test_next_call(void **st)
{
    (void)st;
    mal_error e;
    static float head[NLM];
    mt_net n;
    tiny_net(&n, MAL_ACT_TANH, MAL_POOL_MEAN, 1, 3);
    assert_int_equal(mt_net_forward(&n, ids, NULL, &e), 0);
    double l = mt_net_backward_lm(&n, head, lm_grad, &e);
    assert_true(fabs(l - log((double)V)) < 1e-6);
    /* d loss / d bias b = 1/V - (targets equal to b) / 8 */
    static const int next[8] = {4, 9, 4, 0, 7, 3, 8, 2};
    for (int b = 0; b < V; b++) {
        int k = 0;
        for (int i = 0; i < 8; i++)
            k += next[i] == b;
        assert_true(fabs(lm_grad[V * H2 + b] - (1.0 / V - k / 8.0)) < 1e-6);
    }
    mt_net_free(&n);
    mt_rng r;
    mt_rng_seed(&r, 11);
    for (int i = 0; i < NLM; i++)
        head[i] = (float)(mt_rng_uniform(&r) - 0.5);
    lm_head = head;
    check(MAL_ACT_TANH, MAL_POOL_MEAN);
    check(MAL_ACT_SOFTSIGN, MAL_POOL_LAST);
    drop_p = 0.3f;
    check(MAL_ACT_TANH, MAL_POOL_MEAN);
    drop_p = 0;
    lm_head = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tanh),     cmocka_unit_test(test_sigmoid),
        cmocka_unit_test(test_softsign), cmocka_unit_test(test_softmax),
        cmocka_unit_test(test_padding_is_transparent), cmocka_unit_test(test_bag_loss),
        cmocka_unit_test(test_joint_heads), cmocka_unit_test(test_softmax_heads),
        cmocka_unit_test(test_dropout),  cmocka_unit_test(test_next_call),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
