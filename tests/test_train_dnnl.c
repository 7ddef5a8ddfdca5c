/* test_train_dnnl.c - cross-check of the trainer's own LSTM (oneDNN matmul +
 * C gate code, trainer/net.c) against oneDNN's LSTM primitive, tanh, on the
 * same weights and full-length sequences: forward logits and the gradients
 * of every parameter group.
 *
 * Tolerances: logits |d| <= 1e-5; gradients |d| <= 1e-6 + 1e-4 |g| (both
 * compute in f32 with different summation orders). */
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>

#include "net.h"

enum { V = 12, E = 5, H1 = 7, H2 = 6, T = 9, N = 4 };

static dnnl_engine_t eng;
static dnnl_stream_t strm;

#define OK(f) assert_int_equal((int)(f), (int)dnnl_success)

static dnnl_memory_desc_t md(int nd, const dnnl_dims_t d, dnnl_format_tag_t tag)
{
    dnnl_memory_desc_t m;
    OK(dnnl_memory_desc_init_by_tag(&m, nd, d, dnnl_f32, tag));
    return m;
}

static dnnl_memory_t mem(const dnnl_memory_desc_t *m)
{
    dnnl_memory_t x;
    OK(dnnl_memory_create(&x, m, eng, DNNL_MEMORY_ALLOCATE));
    void *p;
    OK(dnnl_memory_get_data_handle(x, &p));
    memset(p, 0, dnnl_memory_desc_get_size(m));
    return x;
}

static float *ptr(dnnl_memory_t m)
{
    void *p;
    OK(dnnl_memory_get_data_handle(m, &p));
    return p;
}

/* a copy of `user` in the layout the primitive wants */
static dnnl_memory_t reorder_to(const dnnl_memory_desc_t *want, dnnl_memory_t user)
{
    const dnnl_memory_desc_t *have;
    OK(dnnl_memory_get_memory_desc(user, &have));
    dnnl_memory_t m = mem(want);
    dnnl_primitive_desc_t rpd;
    OK(dnnl_reorder_primitive_desc_create(&rpd, have, eng, want, eng, NULL));
    dnnl_primitive_t r;
    OK(dnnl_primitive_create(&r, rpd));
    dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, user}, {DNNL_ARG_TO, m}};
    OK(dnnl_primitive_execute(r, strm, 2, a));
    OK(dnnl_stream_wait(strm));
    dnnl_primitive_destroy(r);
    dnnl_primitive_desc_destroy(rpd);
    return m;
}

typedef struct layer {
    int in, H;
    dnnl_primitive_desc_t fpd, bpd;
    dnnl_primitive_t fwd, bwd;
    dnnl_memory_t src, wl_u, wi_u, wl_f, wi_f, wl_b, wi_b, b, dst, ws;
    dnnl_memory_t dsrc, ddst, dwl, dwi, db;
    dnnl_memory_t fsp, bsp;   /* own scratchpads (user mode) */
} layer;

/* weights from the net's [4H][in] gate-major rows into ldigo [in][4][H] */
static void make_layer(layer *L, int in, int H, const float *wx, const float *wh, const float *bias)
{
    L->in = in, L->H = H;
    dnnl_dims_t ds = {T, N, in}, dd = {T, N, H}, dwl = {1, 1, in, 4, H}, dwi = {1, 1, H, 4, H},
                db = {1, 1, 4, H};
    dnnl_memory_desc_t src = md(3, ds, dnnl_tnc), dst = md(3, dd, dnnl_tnc);
    dnnl_memory_desc_t wl_any = md(5, dwl, dnnl_format_tag_any), wi_any = md(5, dwi, dnnl_format_tag_any);
    dnnl_memory_desc_t wl_u = md(5, dwl, dnnl_ldigo), wi_u = md(5, dwi, dnnl_ldigo);
    dnnl_memory_desc_t b = md(4, db, dnnl_ldgo);
    dnnl_rnn_desc_t fd, bd;
    OK(dnnl_lstm_forward_desc_init(&fd, dnnl_forward_training, dnnl_unidirectional_left2right, &src,
                                   NULL, NULL, &wl_any, &wi_any, &b, &dst, NULL, NULL, 0));
    dnnl_primitive_attr_t attr;
    OK(dnnl_primitive_attr_create(&attr));
    OK(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user));
    OK(dnnl_primitive_desc_create(&L->fpd, &fd, attr, eng, NULL));
    OK(dnnl_primitive_create(&L->fwd, L->fpd));
    /* diff weights requested in plain ldigo so they compare directly */
    OK(dnnl_lstm_backward_desc_init(&bd, dnnl_backward, dnnl_unidirectional_left2right, &src, NULL,
                                    NULL, &wl_any, &wi_any, &b, &dst, NULL, NULL, &src, NULL, NULL,
                                    &wl_u, &wi_u, &b, &dst, NULL, NULL, 0));
    OK(dnnl_primitive_desc_create(&L->bpd, &bd, attr, eng, L->fpd));
    dnnl_primitive_attr_destroy(attr);
    L->fsp = mem(dnnl_primitive_desc_query_md(L->fpd, dnnl_query_scratchpad_md, 0));
    L->bsp = mem(dnnl_primitive_desc_query_md(L->bpd, dnnl_query_scratchpad_md, 0));
    OK(dnnl_primitive_create(&L->bwd, L->bpd));
    L->wl_u = mem(&wl_u), L->wi_u = mem(&wi_u), L->b = mem(&b);
    float *pl = ptr(L->wl_u), *pi = ptr(L->wi_u), *pb = ptr(L->b);
    for (int r = 0; r < 4 * H; r++) {
        for (int i = 0; i < in; i++)
            pl[(size_t)i * 4 * H + r] = wx[(size_t)r * in + i];
        for (int j = 0; j < H; j++)
            pi[(size_t)j * 4 * H + r] = wh[(size_t)r * H + j];
        pb[r] = bias[r];
    }
    L->wl_f = reorder_to(dnnl_primitive_desc_query_md(L->fpd, dnnl_query_weights_md, 0), L->wl_u);
    L->wi_f = reorder_to(dnnl_primitive_desc_query_md(L->fpd, dnnl_query_weights_md, 1), L->wi_u);
    L->wl_b = reorder_to(dnnl_primitive_desc_query_md(L->bpd, dnnl_query_weights_md, 0), L->wl_u);
    L->wi_b = reorder_to(dnnl_primitive_desc_query_md(L->bpd, dnnl_query_weights_md, 1), L->wi_u);
    L->src = mem(&src), L->dst = mem(&dst), L->dsrc = mem(&src), L->ddst = mem(&dst);
    L->ws = mem(dnnl_primitive_desc_query_md(L->fpd, dnnl_query_workspace_md, 0));
    L->dwl = mem(dnnl_primitive_desc_query_md(L->bpd, dnnl_query_diff_weights_md, 0));
    L->dwi = mem(dnnl_primitive_desc_query_md(L->bpd, dnnl_query_diff_weights_md, 1));
    L->db = mem(&b);
}

static void run_fwd(layer *L)
{
    dnnl_exec_arg_t a[] = {{DNNL_ARG_SRC_LAYER, L->src}, {DNNL_ARG_WEIGHTS_LAYER, L->wl_f},
                           {DNNL_ARG_WEIGHTS_ITER, L->wi_f}, {DNNL_ARG_BIAS, L->b},
                           {DNNL_ARG_DST_LAYER, L->dst}, {DNNL_ARG_WORKSPACE, L->ws}, {DNNL_ARG_SCRATCHPAD, L->fsp}};
    OK(dnnl_primitive_execute(L->fwd, strm, 7, a));
    OK(dnnl_stream_wait(strm));
}

static void run_bwd(layer *L)
{
    dnnl_exec_arg_t a[] = {{DNNL_ARG_SRC_LAYER, L->src},      {DNNL_ARG_WEIGHTS_LAYER, L->wl_b},
                           {DNNL_ARG_WEIGHTS_ITER, L->wi_b},  {DNNL_ARG_BIAS, L->b},
                           {DNNL_ARG_DST_LAYER, L->dst},      {DNNL_ARG_WORKSPACE, L->ws},
                           {DNNL_ARG_DIFF_DST_LAYER, L->ddst}, {DNNL_ARG_DIFF_SRC_LAYER, L->dsrc},
                           {DNNL_ARG_DIFF_WEIGHTS_LAYER, L->dwl},
                           {DNNL_ARG_DIFF_WEIGHTS_ITER, L->dwi}, {DNNL_ARG_DIFF_BIAS, L->db},
                           {DNNL_ARG_SCRATCHPAD, L->bsp}};
    OK(dnnl_primitive_execute(L->bwd, strm, 12, a));
    OK(dnnl_stream_wait(strm));
}

static void free_layer(layer *L)
{
    dnnl_primitive_destroy(L->fwd), dnnl_primitive_destroy(L->bwd);
    dnnl_primitive_desc_destroy(L->fpd), dnnl_primitive_desc_destroy(L->bpd);
    dnnl_memory_t ms[] = {L->src, L->wl_u, L->wi_u, L->wl_f, L->wi_f, L->wl_b, L->wi_b, L->b,
                          L->dst, L->ws, L->dsrc, L->ddst, L->dwl, L->dwi, L->db, L->fsp, L->bsp};
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++)
        dnnl_memory_destroy(ms[i]);
}

static double maxrel = 0;

static void cmp(const char *what, const float *mine, const float *theirs, size_t n, double rel)
{
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)mine[i] - theirs[i]);
        if (d > 1e-6 + rel * fabs(theirs[i])) {
            fprintf(stderr, "%s[%zu]: net %.8g, oneDNN LSTM %.8g\n", what, i, mine[i], theirs[i]);
            if (!getenv("NOFAIL")) fail();
        }
        if (fabs(theirs[i]) > 1e-4 && d / fabs(theirs[i]) > maxrel)
            maxrel = d / fabs(theirs[i]);
    }
}

/* the net's [4H][in] gradient vs oneDNN's ldigo [in][4H] */
static void cmp_w(const char *what, const float *mine, const float *ldigo, int in, int H)
{
    float *t = malloc(sizeof(float) * (size_t)in * 4 * H);
    for (int r = 0; r < 4 * H; r++)
        for (int i = 0; i < in; i++)
            t[(size_t)r * in + i] = ldigo[(size_t)i * 4 * H + r];
    cmp(what, mine, t, (size_t)in * 4 * H, 1e-4);
    free(t);
}

/* Recurrent weights: oneDNN 2.6's LSTM primitive (backward, diff_weights_iter)
 * disagrees with the net here while agreeing on every other group and on
 * the forward; central finite differences of the loss side with the net
 * (e.g. l2.wh[0]: net -0.000959, FD -0.000959, oneDNN -0.001093; the same
 * with user-mode scratchpads, explicit ldigo diff weights, last-step or
 * mean pooling). So these groups are checked against finite differences
 * (step 0.02; FD error below 1e-6 at these sizes) and oneDNN's deviation is
 * printed, not asserted. */
static void check_wh_by_fd(mt_net *n, const int32_t *ids, const float *y, const float *w, int grp,
                           int H, const float *dnnl_ldigo, const char *what)
{
    mal_error e;
    size_t cnt = (size_t)4 * H * H;
    float *gw = malloc(sizeof(float) * cnt);
    memcpy(gw, n->g + n->off[grp], sizeof(float) * cnt);
    for (size_t q = 0; q < cnt; q++) {
        float *pp = n->p + n->off[grp] + q, k0 = *pp, hh = 0.02f;
        *pp = k0 + hh;
        assert_int_equal(mt_net_forward(n, ids, NULL, &e), 0);
        double lp = mt_net_backward(n, y, w, N);
        *pp = k0 - hh;
        assert_int_equal(mt_net_forward(n, ids, NULL, &e), 0);
        double lm = mt_net_backward(n, y, w, N);
        *pp = k0;
        double fd = (lp - lm) / (2.0 * hh);
        if (fabs(fd - gw[q]) > 5e-6 + 1e-2 * fabs(fd)) {
            fprintf(stderr, "%s[%zu]: net %.8g, finite difference %.8g\n", what, q, gw[q], fd);
            fail();
        }
    }
    double dev = 0;
    for (int r = 0; r < 4 * H; r++)
        for (int j = 0; j < H; j++) {
            double d = fabs(gw[(size_t)r * H + j] - dnnl_ldigo[(size_t)j * 4 * H + r]);
            dev = d > dev ? d : dev;
        }
    fprintf(stderr, "%s: net == finite differences; oneDNN LSTM primitive deviates by up to %.3g\n",
            what, dev);
    free(gw);
    /* back to the gradients of the unperturbed point */
    assert_int_equal(mt_net_forward(n, ids, NULL, &e), 0);
    mt_net_backward(n, y, w, N);
}

static void test_cross_check(void **st)
{
    (void)st;
    OK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    OK(dnnl_stream_create(&strm, eng, dnnl_stream_default_flags));
    mt_net n;
    mal_error e;
    mt_shape s = {.V = V, .E = E, .H1 = H1, .H2 = H2, .T = T, .N = N, .act = MAL_ACT_TANH,
                  .pool = MAL_POOL_LAST};
    assert_int_equal(mt_net_init(&n, &s, &e), 0);
    mt_net_init_params(&n, 11);
    mt_rng r;
    mt_rng_seed(&r, 12);
    for (size_t i = 0; i < n.nparam; i++)   /* non-trivial biases and weights */
        n.p[i] += (float)(0.4 * (mt_rng_uniform(&r) - 0.5));
    int32_t ids[N * T];
    for (int i = 0; i < N * T; i++)
        ids[i] = (int32_t)mt_rng_below(&r, V);
    float y[N] = {1, 0, 0, 1}, w[N] = {1, 1, 3, 1}, logit[N];
    assert_int_equal(mt_net_forward(&n, ids, logit, &e), 0);
    mt_net_backward(&n, y, w, N);

    const float *p = n.p;
    layer L1, L2;
    make_layer(&L1, E, H1, p + n.off[MT_WX1], p + n.off[MT_WH1], p + n.off[MT_B1]);
    make_layer(&L2, H1, H2, p + n.off[MT_WX2], p + n.off[MT_WH2], p + n.off[MT_B2]);
    /* layer 1 input: embedding rows, tnc */
    float *x = ptr(L1.src);
    for (int t = 0; t < T; t++)
        for (int b = 0; b < N; b++)
            memcpy(x + ((size_t)t * N + b) * E, p + n.off[MT_EMB] + (size_t)ids[b * T + t] * E,
                   sizeof(float) * E);
    run_fwd(&L1);
    memcpy(ptr(L2.src), ptr(L1.dst), sizeof(float) * T * N * H1);
    run_fwd(&L2);
    /* dense on the last step, the same loss as mt_net_backward */
    const float *h2 = ptr(L2.dst) + (size_t)(T - 1) * N * H2, *dw = p + n.off[MT_DW];
    float ref_logit[N], gdw[H2] = {0}, gdb = 0;
    float *dd = ptr(L2.ddst);
    for (int b = 0; b < N; b++) {
        float z = p[n.off[MT_DB]];
        for (int j = 0; j < H2; j++)
            z += dw[j] * h2[(size_t)b * H2 + j];
        ref_logit[b] = z;
        float dz = (float)(w[b] * (1 / (1 + exp(-(double)z)) - y[b]) / N);
        gdb += dz;
        for (int j = 0; j < H2; j++) {
            gdw[j] += dz * h2[(size_t)b * H2 + j];
            dd[((size_t)(T - 1) * N + b) * H2 + j] = dz * dw[j];
        }
    }
    cmp("logit", logit, ref_logit, N, 1e-5);
    run_bwd(&L2);
    memcpy(ptr(L1.ddst), ptr(L2.dsrc), sizeof(float) * T * N * H1);
    run_bwd(&L1);
    float *demb = calloc((size_t)V * E, sizeof(float));
    const float *dx = ptr(L1.dsrc);
    for (int t = 0; t < T; t++)
        for (int b = 0; b < N; b++)
            for (int k = 0; k < E; k++)
                demb[(size_t)ids[b * T + t] * E + k] += dx[((size_t)t * N + b) * E + k];
    const float *g = n.g;
    cmp("dense.w", g + n.off[MT_DW], gdw, H2, 1e-4);
    cmp("dense.b", g + n.off[MT_DB], &gdb, 1, 1e-4);
    cmp_w("l2.wx", g + n.off[MT_WX2], ptr(L2.dwl), H1, H2);
    check_wh_by_fd(&n, ids, y, w, MT_WH2, H2, ptr(L2.dwi), "l2.wh");
    cmp("l2.b", g + n.off[MT_B2], ptr(L2.db), 4 * H2, 1e-4);
    cmp_w("l1.wx", g + n.off[MT_WX1], ptr(L1.dwl), E, H1);
    check_wh_by_fd(&n, ids, y, w, MT_WH1, H1, ptr(L1.dwi), "l1.wh");
    cmp("l1.b", g + n.off[MT_B1], ptr(L1.db), 4 * H1, 1e-4);
    cmp("embedding", g + n.off[MT_EMB], demb, (size_t)V * E, 1e-4);
    fprintf(stderr, "net vs oneDNN LSTM primitive: max relative difference %.3g\n", maxrel);
    free(demb);
    free_layer(&L1), free_layer(&L2);
    mt_net_free(&n);
    dnnl_stream_destroy(strm);
    dnnl_engine_destroy(eng);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_cross_check)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
