/* test_train_run.c - the training loop end to end on a tiny synthetic task:
 * the loss falls, the trained model's scores equal the float reference's,
 * same seed gives byte-identical model files, resume (after a finished epoch
 * or an interrupted batch) equals an uninterrupted run, a corrupt checkpoint
 * is a clear error, the weight average is what is kept; joint training of
 * the eight types in one network (its models equal the reference, it is
 * deterministic and resumes exactly); next-call pretraining (it learns a
 * sequence, is deterministic, the training starts from it, and a resume
 * across other pretraining settings is refused); and the dataset loader's
 * input errors. */
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "metrics.h"
#include "pretrain.h"
#include "reference.h"
#include "train.h"
#include "window_scorer.h"

enum { V = 10, NTR = 80, W = 12 };

/* Trace i: Adware (type 0) when i is even, else Backdoor; Adware traces
 * contain token 3 in their last W calls, the others never do. Lengths 3..40 so windows are padded or cut. */
static void make_data(mt_data *d)
{
    static const char *names[V] = {"a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9"};
    memset(d, 0, sizeof *d);
    mal_error e;
    assert_int_equal(mal_vocab_from_names(&d->vocab, names, V, "test", &e), 0);
    d->n = NTR;
    d->t = calloc(NTR, sizeof *d->t);
    d->crc = 1234;
    mt_rng r;
    mt_rng_seed(&r, 99);
    for (int i = 0; i < NTR; i++) {
        mt_trace *t = &d->t[i];
        t->label = i % 2;
        int len = 3 + (int)mt_rng_below(&r, 38);
        uint16_t *raw = malloc(sizeof(uint16_t) * len);
        for (int k = 0; k < len; k++) {
            int id;
            do
                id = (int)mt_rng_below(&r, V);
            while (id == 3);
            raw[k] = (uint16_t)id;
        }
        if (t->label == 0)
            raw[len - 1 - (int)mt_rng_below(&r, len < W ? len : W)] = 3;
        int nt = len < W ? len : W;
        t->ntail = nt;
        t->tail = malloc(sizeof(uint16_t) * nt);
        memcpy(t->tail, raw + len - nt, sizeof(uint16_t) * nt);
        t->dd = malloc(sizeof(uint16_t) * len);
        for (int k = 0; k < len; k++)
            if (t->ndd == 0 || t->dd[t->ndd - 1] != raw[k])
                t->dd[t->ndd++] = raw[k];
        t->calls = len;
        free(raw);
    }
}

static void small_opts(mt_opts *o, mt_protocol p)
{
    mt_opts_defaults(o, p);
    o->embed = 4, o->h1 = 8, o->h2 = 6, o->batch = 10;
    o->rule.window = W;
    if (p == MT_PROTOCOL_DEFAULT) {
        o->rule.stride = 5;
        o->rule.max_windows = 0;   /* the reference scores every window */
        o->windows_per_trace = 2;
        o->calibrate = 1;   /* exercise Platt scaling: the reference must apply it the same way */
        o->ema = 0.9;       /* and the weight average: resume must carry it */
        o->call_dropout = 0.2;   /* and call dropout: resumed mid-epoch, the same draws */
        o->dropout = 0.2;        /* and dropout: the same masks, and none when scoring */
        o->lr_cosine = 1;        /* and the cosine schedule: its rate follows the batch count */
    }
    o->epochs = 4;
    o->seed = 5;
}

typedef struct run {
    mal_model m;
    mt_history h;
    mt_result res;
} run;

static void train(const mt_data *d, const mt_opts *o, run *r)
{
    int all[NTR], *fit, *val, nfit, nval;
    for (int i = 0; i < NTR; i++)
        all[i] = i;
    mal_error e = {{0}};
    assert_int_equal(mt_split_val(d, all, NTR, 0.2, o->seed, &fit, &nfit, &val, &nval, &e), 0);
    int rc = mt_train_model(d, 0, fit, nfit, val, nval, o, NULL, NULL, &r->m, &r->h, &r->res, &e);
    if (rc)
        fprintf(stderr, "%s\n", e.msg);
    assert_int_equal(rc, 0);
    free(fit), free(val);
}

static char *save_text(const mal_model *m, const char *dir, const char *name)
{
    char *p = tmp_path(dir, name);
    mal_error e;
    assert_int_equal(mal_model_save(m, p, &e), 0);
    size_t len;
    char *s = read_file(p, &len);
    free(p);
    return s;
}

/* The loss must fall well below the 0.69 of chance (balanced classes). */
static void test_loss_falls(void **st)
{
    (void)st;
    mt_data d;
    make_data(&d);
    mt_opts o;
    small_opts(&o, MT_PROTOCOL_PAPER);
    o.epochs = 40;
    o.pos_weight = 1;
    run *r = calloc(1, sizeof *r);
    train(&d, &o, r);
    double first = r->h.e[0].loss, last = r->h.e[r->h.n - 1].loss;
    fprintf(stderr, "loss %.4f -> %.4f, best val AUC %.3f (epoch %d)\n", first, last,
            r->res.best_auc, r->res.best_epoch);
    assert_true(last < 0.25);
    assert_true(r->res.best_auc > 0.9);
    mal_model_free(&r->m);
    /* call dropout reaches the network: with nearly every call deleted
     * there is nothing left to learn from, and the loss stays near chance */
    o.call_dropout = 0.995;
    train(&d, &o, r);
    fprintf(stderr, "call dropout 0.995: loss %.4f -> %.4f\n", r->h.e[0].loss, r->h.e[r->h.n - 1].loss);
    assert_true(r->h.e[r->h.n - 1].loss > 0.6);
    mal_model_free(&r->m);
    /* so does dropout: with nearly every pooled value dropped the dense layer
     * sees almost nothing, and the loss stays near chance */
    o.call_dropout = 0;
    o.dropout = 0.995;
    train(&d, &o, r);
    fprintf(stderr, "dropout 0.995: loss %.4f -> %.4f\n", r->h.e[0].loss, r->h.e[r->h.n - 1].loss);
    assert_true(r->h.e[r->h.n - 1].loss > 0.6);
    mal_model_free(&r->m);
    free(r);
    mt_data_free(&d);
}

/* Scores of the trained model through the oneDNN net equal the float
 * reference (padded batch and whole-trace rule) within 1e-5. */
static void check_reference(mt_protocol p, mal_act act)
{
    mt_data d;
    make_data(&d);
    mt_opts o;
    small_opts(&o, p);
    o.act = act;
    o.epochs = 3;
    run *r = calloc(1, sizeof *r);
    train(&d, &o, r);
    int idx[NTR];
    for (int i = 0; i < NTR; i++)
        idx[i] = i;
    float probs[NTR];
    mal_error e;
    assert_int_equal(mt_score_traces(&r->m, &d, idx, NTR, probs, &e), 0);
    double maxd = 0;
    for (int i = 0; i < NTR; i++) {
        const mt_trace *t = &d.t[i];
        const uint16_t *s = p == MT_PROTOCOL_PAPER ? t->tail : t->dd;
        size_t n = p == MT_PROTOCOL_PAPER ? t->ntail : t->ndd;
        int32_t ids[64];
        assert_true(n <= 64);
        for (size_t k = 0; k < n; k++)
            ids[k] = s[k];
        float q = mal_ref_score_trace(&r->m, ids, n);
        double dd = fabs((double)q - probs[i]);
        maxd = dd > maxd ? dd : maxd;
        if (p == MT_PROTOCOL_PAPER) {
            /* the padded batch path of the reference too */
            int32_t row[W];
            for (int k = 0; k < W; k++)
                row[k] = k < W - (int)n ? -1 : ids[k - (W - (int)n)];
            float q2;
            assert_int_equal(mal_ref_forward_padded(&r->m, row, 1, W, &q2, &e), 0);
            assert_float_equal(q2, probs[i], 1e-5);
        }
    }
    fprintf(stderr, "%s %s: max |net - reference| = %.3g\n", p ? "default" : "paper",
            mal_act_name(act), maxd);
    assert_true(maxd <= 1e-5);
    mal_model_free(&r->m);
    free(r);
    mt_data_free(&d);
}

static void test_matches_reference(void **st)
{
    (void)st;
    for (int a = 0; a < 4; a++)
        check_reference(MT_PROTOCOL_PAPER, (mal_act)a);
    check_reference(MT_PROTOCOL_DEFAULT, MAL_ACT_TANH);
    check_reference(MT_PROTOCOL_DEFAULT, MAL_ACT_SOFTMAX);
}

/* --calibration standard: over the validation traces' windows (each trace
 * weighted 1/its windows), the calibrated logits a l + b of the saved model
 * have mean 0 and standard deviation 1. The windows and logits come from
 * the float reference's streaming scorer, not from the trainer. */
static double cal_sum[3];   /* weight, weighted sum, weighted sum of squares */
static float cal_logits[256];
static int cal_n;
static float cal_prob(void *model, const void *state)
{
    const mal_model *m = model;
    float z = m->scoring.calib_a * mal_ref_logit(m, state) + m->scoring.calib_b;
    if (cal_n < 256)
        cal_logits[cal_n] = z;
    cal_n++;
    return mal_ref_window_ops.prob(model, state);
}

static void test_standard_calibration(void **st)
{
    (void)st;
    mt_data d;
    make_data(&d);
    mt_opts o;
    small_opts(&o, MT_PROTOCOL_DEFAULT);
    o.calibrate = MT_CALIB_STANDARD;
    run *r = calloc(1, sizeof *r);
    train(&d, &o, r);
    assert_true(fabsf(r->m.scoring.calib_a - 1) > 1e-3 || fabsf(r->m.scoring.calib_b) > 1e-3);
    int all[NTR], *fit, *val, nfit, nval;
    for (int i = 0; i < NTR; i++)
        all[i] = i;
    mal_error e;
    assert_int_equal(mt_split_val(&d, all, NTR, 0.2, o.seed, &fit, &nfit, &val, &nval, &e), 0);
    mal_window_ops ops = mal_ref_window_ops;
    ops.prob = cal_prob;
    mal_window_scorer ws;
    assert_int_equal(mal_window_scorer_init(&ws, &r->m.scoring, &ops, &r->m, &e), 0);
    cal_sum[0] = cal_sum[1] = cal_sum[2] = 0;
    for (int i = 0; i < nval; i++) {
        const mt_trace *t = &d.t[val[i]];
        cal_n = 0;
        mal_window_scorer_begin(&ws);
        for (uint32_t k = 0; k < t->ndd; k++)
            mal_window_scorer_calls(&ws, t->dd[k], 1);
        mal_window_scorer_finish(&ws);
        assert_true(cal_n >= 1 && cal_n <= 256);
        for (int w = 0; w < cal_n; w++) {
            double z = cal_logits[w];
            cal_sum[0] += 1.0 / cal_n, cal_sum[1] += z / cal_n, cal_sum[2] += z * z / cal_n;
        }
    }
    mal_window_scorer_free(&ws);
    double mean = cal_sum[1] / cal_sum[0], sd = sqrt(cal_sum[2] / cal_sum[0] - mean * mean);
    fprintf(stderr, "standard calibration: a %.4f b %.4f; validation logits mean %.2g sd %.6f\n",
            r->m.scoring.calib_a, r->m.scoring.calib_b, mean, sd);
    assert_true(fabs(mean) < 1e-4);
    assert_true(fabs(sd - 1) < 1e-4);
    free(fit), free(val);
    mal_model_free(&r->m);
    free(r);
    mt_data_free(&d);
}

static void test_deterministic(void **st)
{
    (void)st;
    mt_data d;
    make_data(&d);
    mt_opts o;
    small_opts(&o, MT_PROTOCOL_DEFAULT);
    char *dir = tmp_dir();
    run *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    train(&d, &o, a);
    train(&d, &o, b);
    char *sa = save_text(&a->m, dir, "a.json"), *sb = save_text(&b->m, dir, "b.json");
    assert_string_equal(sa, sb);
    free(sa), free(sb);
    /* another seed gives another model */
    mal_model_free(&b->m);
    o.seed = 6;
    train(&d, &o, b);
    sa = save_text(&a->m, dir, "a.json"), sb = save_text(&b->m, dir, "b.json");
    assert_true(strcmp(sa, sb) != 0);
    free(sa), free(sb);
    mal_model_free(&a->m), mal_model_free(&b->m);
    free(a), free(b);
    rm_rf(dir);
    free(dir);
    mt_data_free(&d);
}

static double max_weight_diff(const mal_model *a, const mal_model *b);

/* Pretraining on traces whose calls follow the cycle 0, 1, .., 9, 0, ..
 * from a random start: the next call is always predictable. */
static double pre_first, pre_last;
static int pre_epochs;
static void pre_progress(void *ctx, int epoch, int epochs, double loss, double val_loss, double sec)
{
    (void)ctx, (void)val_loss, (void)sec, (void)epochs;
    if (epoch == 1)
        pre_first = loss;
    pre_last = loss, pre_epochs = epoch;
}

static void test_pretrain(void **st)
{
    (void)st;
    mt_data d;
    make_data(&d);
    for (int i = 0; i < NTR; i++)   /* the dedup sequences become cycles; labels stay */
        for (size_t k = 0; k < d.t[i].ndd; k++)
            d.t[i].dd[k] = (uint16_t)((i + k) % V);
    mt_opts o;
    small_opts(&o, MT_PROTOCOL_DEFAULT);
    o.pretrain = 12;
    o.pretrain_lr = 0.01;
    int fit[60], val[20];
    for (int i = 0; i < NTR; i++)
        i < 60 ? (fit[i] = i) : (val[i - 60] = i);
    mal_error e = {{0}};
    mal_model pa, pb;
    assert_int_equal(mt_pretrain_lm(&d, fit, 60, val, 20, &o, pre_progress, NULL, &pa, &e), 0);
    fprintf(stderr, "pretraining: next-call loss %.4f -> %.4f over %d epochs\n", pre_first, pre_last,
            pre_epochs);
    assert_int_equal(pre_epochs, 12);
    assert_true(pre_first > 1.0 && pre_last < 0.5);   /* log 10 = 2.3 at chance */
    assert_int_equal(mt_pretrain_lm(&d, fit, 60, val, 20, &o, NULL, NULL, &pb, &e), 0);
    assert_true(max_weight_diff(&pa, &pb) == 0);   /* deterministic */
    mal_model_free(&pb);
    /* the per-type training starts from it: other weights than a seeded start */
    run *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    o.epochs = 1;
    o.pretrain = 0;
    train(&d, &o, a);
    o.pretrain = 12, o.init = &pa;
    char *dir = tmp_dir(), *ck = tmp_path(dir, "pre.ckpt");
    o.ckpt_path = ck;
    train(&d, &o, b);
    assert_true(max_weight_diff(&a->m, &b->m) > 0.05);
    assert_contains(b->m.training_json, "\"pretrain_epochs\":12");
    assert_true(strstr(a->m.training_json, "pretrain") == NULL);
    mal_model_free(&b->m);
    /* a resume with other pretraining epochs is refused */
    o.pretrain = 11, o.resume = 1, o.epochs = 2;
    int all[NTR], *f2, *v2, nf2, nv2;
    for (int i = 0; i < NTR; i++)
        all[i] = i;
    assert_int_equal(mt_split_val(&d, all, NTR, 0.2, o.seed, &f2, &nf2, &v2, &nv2, &e), 0);
    assert_int_equal(mt_train_model(&d, 0, f2, nf2, v2, nv2, &o, NULL, NULL, &b->m, &b->h, &b->res, &e), -1);
    assert_contains(e.msg, "pretraining");
    free(f2), free(v2);
    /* the paper's rule (the last window only) is refused */
    mt_opts p;
    small_opts(&p, MT_PROTOCOL_PAPER);
    p.pretrain = 2;
    assert_int_equal(mt_pretrain_lm(&d, fit, 60, val, 20, &p, NULL, NULL, &pb, &e), -1);
    assert_contains(e.msg, "stride");
    mal_model_free(&a->m), mal_model_free(&pa);
    free(a), free(b);
    rm_rf(dir);
    free(ck), free(dir);
    mt_data_free(&d);
}

static double max_weight_diff(const mal_model *a, const mal_model *b)
{
    double m = 0;
    size_t n = (size_t)a->vocab.size * (size_t)a->embed;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs((double)a->embedding[i] - b->embedding[i]));
    const mal_lstm_layer *la[2] = {&a->l1, &a->l2}, *lb[2] = {&b->l1, &b->l2};
    for (int l = 0; l < 2; l++) {
        size_t H = (size_t)la[l]->hidden, in = (size_t)la[l]->in;
        for (size_t i = 0; i < 4 * H * in; i++)
            m = fmax(m, fabs((double)la[l]->wx[i] - lb[l]->wx[i]));
        for (size_t i = 0; i < 4 * H * H; i++)
            m = fmax(m, fabs((double)la[l]->wh[i] - lb[l]->wh[i]));
    }
    return m;
}

/* The kept weights are the moving average, not the live ones: with a decay
 * of nearly 1 the average stays at the initial weights, so models after 1
 * and 3 epochs (no validation split: the last epoch is kept) are the same
 * within the few steps' drift, while the live weights move far apart. */
static void test_weight_average(void **st)
{
    (void)st;
    mt_data d;
    make_data(&d);
    mt_opts o;
    small_opts(&o, MT_PROTOCOL_DEFAULT);
    o.calibrate = 0;
    int all[NTR];
    for (int i = 0; i < NTR; i++)
        all[i] = i;
    run *r[4];
    double decay[2] = {0, 1 - 1e-7};
    for (int k = 0; k < 4; k++) {
        r[k] = calloc(1, sizeof *r[k]);
        o.ema = decay[k / 2];
        o.epochs = k % 2 ? 3 : 1;
        mal_error e = {{0}};
        assert_int_equal(mt_train_model(&d, 0, all, NTR, NULL, 0, &o, NULL, NULL, &r[k]->m,
                                        &r[k]->h, &r[k]->res, &e), 0);
    }
    double live = max_weight_diff(&r[0]->m, &r[1]->m), avg = max_weight_diff(&r[2]->m, &r[3]->m);
    fprintf(stderr, "1 vs 3 epochs: live weights differ by %.3g, averaged by %.3g\n", live, avg);
    assert_true(live > 1e-2);
    assert_true(avg < 1e-4);
    /* a checkpoint of another decay is refused (it belongs to other settings) */
    char *dir = tmp_dir(), *ck = tmp_path(dir, "ema.ckpt");
    o.ckpt_path = ck, o.ema = 0.9, o.epochs = 1;
    run *b = calloc(1, sizeof *b);
    mal_error e = {{0}};
    assert_int_equal(mt_train_model(&d, 0, all, NTR, NULL, 0, &o, NULL, NULL, &b->m, &b->h,
                                    &b->res, &e), 0);
    mal_model_free(&b->m);
    o.ema = 0.8, o.epochs = 2, o.resume = 1;
    assert_int_equal(mt_train_model(&d, 0, all, NTR, NULL, 0, &o, NULL, NULL, &b->m, &b->h,
                                    &b->res, &e), -1);
    assert_contains(e.msg, "weight average");
    for (int k = 0; k < 4; k++)
        mal_model_free(&r[k]->m), free(r[k]);
    free(b);
    rm_rf(dir);
    free(dir), free(ck);
    mt_data_free(&d);
}

/* The learning rate reaches Adam, and the cosine schedule is what it says:
 * the rate itself at its ends and middle, and a run under it differs from a
 * constant-rate run. At a rate of 1e-6 the weights after 1 and 3 epochs
 * stay together; at 1e-3 they move apart. */
static void test_learning_rate(void **st)
{
    (void)st;
    mt_opts o;
    small_opts(&o, MT_PROTOCOL_DEFAULT);
    o.lr = 2e-3, o.epochs = 4, o.lr_cosine = 0;
    assert_true(mt_lr_at(&o, 3, 9, 10) == 2e-3);
    o.lr_cosine = 1;
    assert_true(fabs(mt_lr_at(&o, 0, 0, 10) - 2e-3) < 1e-12);
    assert_true(fabs(mt_lr_at(&o, 2, 0, 10) - 1e-3) < 1e-12);
    assert_true(mt_lr_at(&o, 3, 9, 10) > 0 && mt_lr_at(&o, 3, 9, 10) < 2e-3 * 1e-2);
    for (int k = 1; k < 40; k++)
        assert_true(mt_lr_at(&o, k / 10, k % 10, 10) < mt_lr_at(&o, (k - 1) / 10, (k - 1) % 10, 10));

    mt_data d;
    make_data(&d);
    small_opts(&o, MT_PROTOCOL_DEFAULT);
    o.calibrate = 0, o.ema = 0;
    int all[NTR];
    for (int i = 0; i < NTR; i++)
        all[i] = i;
    run *r[6];
    for (int k = 0; k < 6; k++) {
        r[k] = calloc(1, sizeof *r[k]);
        o.lr = k < 2 ? 1e-6 : 1e-3;
        o.lr_cosine = k == 5;
        o.epochs = k % 2 ? 3 : 1;
        if (k >= 4)
            o.epochs = 3;
        mal_error e = {{0}};
        assert_int_equal(mt_train_model(&d, 0, all, NTR, NULL, 0, &o, NULL, NULL, &r[k]->m,
                                        &r[k]->h, &r[k]->res, &e), 0);
    }
    double slow = max_weight_diff(&r[0]->m, &r[1]->m), fast = max_weight_diff(&r[2]->m, &r[3]->m);
    double sched = max_weight_diff(&r[4]->m, &r[5]->m);
    fprintf(stderr, "1 vs 3 epochs: lr 1e-6 %.3g, lr 1e-3 %.3g; constant vs cosine %.3g\n", slow,
            fast, sched);
    assert_true(slow < 1e-4);
    assert_true(fast > 1e-2);
    assert_true(sched > 1e-3);
    assert_non_null(strstr(r[5]->m.training_json, "cosine"));
    for (int k = 0; k < 6; k++)
        mal_model_free(&r[k]->m), free(r[k]);
    mt_data_free(&d);
}

static void test_resume(void **st)
{
    (void)st;
    mt_data d;
    make_data(&d);
    char *dir = tmp_dir(), *ck1 = tmp_path(dir, "straight.ckpt"), *ck2 = tmp_path(dir, "part.ckpt");
    mt_opts o;
    small_opts(&o, MT_PROTOCOL_DEFAULT);
    run *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    o.ckpt_path = ck1;
    train(&d, &o, a);   /* 4 epochs straight */
    assert_false(a->res.interrupted);

    /* 2 epochs, then resume to 4: a constant rate (the cosine schedule is
     * fixed by the epoch count, so a longer resume is refused, below) */
    o.lr_cosine = 0;
    o.ckpt_path = ck1;
    run *c = calloc(1, sizeof *c);
    train(&d, &o, c);
    o.ckpt_path = ck2;
    o.epochs = 2;
    train(&d, &o, b);
    mal_model_free(&b->m);
    o.epochs = 4, o.resume = 1;
    train(&d, &o, b);
    char *sa = save_text(&c->m, dir, "a.json"), *sb = save_text(&b->m, dir, "b.json");
    assert_string_equal(sa, sb);
    free(sa), free(sb);
    mal_model_free(&b->m), mal_model_free(&c->m), free(c);
    /* under the cosine schedule, the same resume is refused, naming it */
    o.lr_cosine = 1, o.epochs = 2, o.resume = 0;
    remove(ck2);
    train(&d, &o, b);
    mal_model_free(&b->m);
    o.epochs = 4, o.resume = 1;
    {
        int all4[NTR], *fit4, *val4, nfit4, nval4;
        for (int i = 0; i < NTR; i++)
            all4[i] = i;
        mal_error e4 = {{0}};
        assert_int_equal(mt_split_val(&d, all4, NTR, 0.2, o.seed, &fit4, &nfit4, &val4, &nval4, &e4), 0);
        assert_int_equal(mt_train_model(&d, 0, fit4, nfit4, val4, nval4, &o, NULL, NULL, &b->m,
                                        &b->h, &b->res, &e4), -1);
        assert_contains(e4.msg, "cosine schedule");
        free(fit4), free(val4);
    }
    sa = save_text(&a->m, dir, "a.json");

    /* interrupted after the first batch (as Ctrl-C does), then resumed */
    remove(ck2);
    volatile sig_atomic_t stop = 1;
    o.resume = 0, o.stop = &stop;
    train(&d, &o, b);
    assert_true(b->res.interrupted);
    stop = 0;
    o.resume = 1;
    train(&d, &o, b);
    assert_false(b->res.interrupted);
    sb = save_text(&b->m, dir, "b.json");
    assert_string_equal(sa, sb);
    free(sa), free(sb);
    mal_model_free(&b->m);

    /* a corrupt checkpoint is a clear error */
    size_t len;
    char *ck = read_file(ck2, &len);
    ck[len / 2] ^= 0x40;
    write_file(ck2, ck, len);
    free(ck);
    int all[NTR], *fit, *val, nfit, nval;
    for (int i = 0; i < NTR; i++)
        all[i] = i;
    mal_error e = {{0}};
    assert_int_equal(mt_split_val(&d, all, NTR, 0.2, o.seed, &fit, &nfit, &val, &nval, &e), 0);
    assert_int_equal(mt_train_model(&d, 0, fit, nfit, val, nval, &o, NULL, NULL, &b->m, &b->h,
                                    &b->res, &e), -1);
    assert_contains(e.msg, "corrupt checkpoint");
    assert_contains(e.msg, ck2);
    /* other settings than the checkpoint's: refused */
    remove(ck2);
    o.resume = 0, o.epochs = 1;
    train(&d, &o, b);
    mal_model_free(&b->m);
    o.resume = 1, o.epochs = 2, o.seed = 77;
    assert_int_equal(mt_train_model(&d, 0, fit, nfit, val, nval, &o, NULL, NULL, &b->m, &b->h,
                                    &b->res, &e), -1);
    assert_contains(e.msg, "other settings");
    free(fit), free(val);

    mal_model_free(&a->m);
    free(a), free(b);
    free(ck1), free(ck2);
    rm_rf(dir);
    free(dir);
    mt_data_free(&d);
}

/* Eight types for joint training: trace i is of type i % 8; its calls (at
 * most one window) are 0 and 9 in turn around one marker call, its type + 1
 * (no call repeats the one before it: the traces are de-duplicated). */
static void make_data8(mt_data *d)
{
    make_data(d);
    mt_rng r;
    mt_rng_seed(&r, 7);
    for (int i = 0; i < NTR; i++) {
        mt_trace *t = &d->t[i];
        t->label = i % MT_NTYPES;
        if (t->ndd > W)
            t->ndd = W;
        uint32_t phase = (uint32_t)mt_rng_below(&r, 2);
        for (uint32_t k = 0; k < t->ndd; k++)
            t->dd[k] = (k + phase) % 2 ? 9 : 0;
        t->dd[mt_rng_below(&r, t->ndd)] = (uint16_t)(t->label + 1);
    }
}

/* vf: the validation share (0: none, the last epoch is kept) */
static void train_joint(const mt_data *d, const mt_opts *o, double vf, run *r, int expect_rc)
{
    int all[NTR], *fit, *val, nfit, nval;
    for (int i = 0; i < NTR; i++)
        all[i] = i;
    mal_error e = {{0}};
    assert_int_equal(mt_split_val(d, all, NTR, vf, o->seed, &fit, &nfit, &val, &nval, &e), 0);
    mal_model m[MT_NTYPES];
    mt_result res[MT_NTYPES];
    mt_history *h = calloc(MT_NTYPES, sizeof *h);
    int rc = mt_train_model(d, MT_JOINT, fit, nfit, val, nval, o, NULL, NULL, m, h, res, &e);
    if (rc && !expect_rc)
        fprintf(stderr, "%s\n", e.msg);
    assert_int_equal(rc, expect_rc);
    for (int t = 0; t < MT_NTYPES && rc == 0; t++) {
        r[t].m = m[t], r[t].res = res[t], r[t].h = h[t];
    }
    free(h);
    free(fit), free(val);
}

/* Joint training: eight models, one per type, named after it, whose scores
 * through the trainer's network equal the float reference's; every head
 * learns its type (no validation split: the last epoch, whose weights all
 * heads share); with a validation split, the run is deterministic and an
 * interrupted run resumes to the same eight files; the checkpoint of a
 * joint run does not resume a per-type one. */
static void test_joint(void **st)
{
    (void)st;
    mt_data d;
    make_data8(&d);
    mt_opts o;
    small_opts(&o, MT_PROTOCOL_DEFAULT);
    o.epochs = 30, o.lr = 1e-2, o.windows_per_trace = 4;
    o.embed = 8, o.h1 = o.h2 = 12;   /* room for eight types */
    o.call_dropout = 0;
    run *a = calloc(MT_NTYPES, sizeof *a), *b = calloc(MT_NTYPES, sizeof *b);
    int idx[NTR];
    for (int i = 0; i < NTR; i++)
        idx[i] = i;
    for (int kind = MT_TRAIN_JOINT; kind <= MT_TRAIN_SOFTMAX; kind++) {
        o.joint = kind;
        train_joint(&d, &o, 0, a, 0);
        double maxd = 0, bsum = 0;
        for (int t = 0; t < MT_NTYPES; t++) {
            assert_string_equal(a[t].m.type, mt_type_names[t]);
            assert_non_null(strstr(a[t].m.training_json, kind == MT_TRAIN_SOFTMAX ? "joint softmax" : "joint: "));
            float probs[NTR];
            int y[NTR];
            mal_error e;
            assert_int_equal(mt_score_traces(&a[t].m, &d, idx, NTR, probs, &e), 0);
            for (int i = 0; i < NTR; i++) {
                y[i] = d.t[i].label == t;
                int32_t ids[64];
                assert_true(d.t[i].ndd <= 64);
                for (size_t k = 0; k < d.t[i].ndd; k++)
                    ids[k] = d.t[i].dd[k];
                maxd = fmax(maxd, fabs((double)mal_ref_score_trace(&a[t].m, ids, d.t[i].ndd) - probs[i]));
            }
            /* every head tells its type from the other seven */
            double auc = mal_roc_auc(probs, y, NTR);
            fprintf(stderr, "%s %s: AUC %.3f\n", kind == MT_TRAIN_SOFTMAX ? "softmax" : "joint",
                    mt_type_names[t], auc);
            assert_int_equal(a[t].res.best_epoch, o.epochs);
            assert_true(auc > 0.9);
            bsum += a[t].m.dense_b;
        }
        fprintf(stderr, "max |net - reference| = %.3g, heads' biases sum to %.3g\n", maxd, bsum);
        assert_true(maxd <= 1e-5);
        /* softmax heads stay centred (all taken from the same, last, epoch) */
        if (kind == MT_TRAIN_SOFTMAX)
            assert_true(fabs(bsum) < 1e-4);
        else
            assert_true(fabs(bsum) > 1e-3);
        for (int t = 0; t < MT_NTYPES; t++)
            mal_model_free(&a[t].m);
    }
    o.joint = MT_TRAIN_JOINT;
    /* deterministic; interrupted after a batch and resumed: the same files */
    o.epochs = 6;
    train_joint(&d, &o, 0.2, a, 0);
    char *dir = tmp_dir(), *ck = tmp_path(dir, "joint.ckpt");
    volatile sig_atomic_t stop = 1;
    o.ckpt_path = ck, o.stop = &stop;
    train_joint(&d, &o, 0.2, b, 0);
    assert_true(b[0].res.interrupted);
    stop = 0, o.resume = 1;
    train_joint(&d, &o, 0.2, b, 0);
    assert_false(b[0].res.interrupted);
    for (int t = 0; t < MT_NTYPES; t++) {
        char *sa = save_text(&a[t].m, dir, "a.json"), *sb = save_text(&b[t].m, dir, "b.json");
        assert_string_equal(sa, sb);
        free(sa), free(sb);
        mal_model_free(&b[t].m);
    }
    /* the joint checkpoint is not a per-type one */
    {
        int all[NTR];
        for (int i = 0; i < NTR; i++)
            all[i] = i;
        mal_error e = {{0}};
        run *c = calloc(1, sizeof *c);
        assert_int_equal(mt_train_model(&d, 0, all, NTR, NULL, 0, &o, NULL, NULL, &c->m, &c->h,
                                        &c->res, &e), -1);
        assert_contains(e.msg, "other settings");
        free(c);
    }
    /* bags need one model per type */
    o.resume = 0, o.ckpt_path = NULL, o.bag = 2;
    train_joint(&d, &o, 0.2, b, -1);
    o.bag = 0;
    /* fine-tuning starts from the given model: at a rate of 1e-6 it stays
     * there (the weight average off), while a seeded init is far from it */
    {
        int all[NTR];
        for (int i = 0; i < NTR; i++)
            all[i] = i;
        mal_error e = {{0}};
        run *c = calloc(2, sizeof *c);
        o.joint = MT_TRAIN_PER_TYPE, o.ema = 0, o.lr = 1e-6, o.lr_cosine = 0, o.epochs = 1;
        o.init = &a[2].m;
        assert_int_equal(mt_train_model(&d, 2, all, NTR, NULL, 0, &o, NULL, NULL, &c[0].m, &c[0].h,
                                        &c[0].res, &e), 0);
        assert_non_null(strstr(c[0].m.training_json, "fine-tuned"));
        o.init = NULL;
        assert_int_equal(mt_train_model(&d, 2, all, NTR, NULL, 0, &o, NULL, NULL, &c[1].m, &c[1].h,
                                        &c[1].res, &e), 0);
        double near = max_weight_diff(&c[0].m, &a[2].m), far = max_weight_diff(&c[1].m, &a[2].m);
        fprintf(stderr, "fine-tuned from a model: %.3g from it; a seeded init: %.3g\n", near, far);
        assert_true(near < 1e-3);
        assert_true(far > 1e-1);
        /* a joint network is not started from a model */
        o.init = &a[2].m;
        train_joint(&d, &o, 0.2, b, -1);
        o.init = NULL;
        mal_model_free(&c[0].m), mal_model_free(&c[1].m);
        free(c);
    }
    for (int t = 0; t < MT_NTYPES; t++)
        mal_model_free(&a[t].m);
    free(a), free(b);
    rm_rf(dir);
    free(dir), free(ck);
    mt_data_free(&d);
}

/* ---- dataset loader input errors ---- */
static char *make_dir(const char *calls, const char *labels)
{
    char *dir = tmp_dir(), *p;
    p = tmp_path(dir, "api_index.txt");
    write_text(p, "a=0\nb=1\nc=2\n");
    free(p);
    p = tmp_path(dir, "calls.txt");
    write_text(p, calls);
    free(p);
    p = tmp_path(dir, "labels.csv");
    write_text(p, labels);
    free(p);
    return dir;
}

static void expect_load_error(const char *calls, const char *labels, const char *split,
                              const char *needle, const char *file)
{
    char *dir = make_dir(calls, labels), *sp = NULL;
    if (split) {
        sp = tmp_path(dir, "split.txt");
        write_text(sp, split);
    }
    mt_data d;
    mal_error e = {{0}};
    assert_int_equal(mt_data_load(&d, dir, sp, 4, 100, &e), -1);
    assert_contains(e.msg, needle);
    assert_contains(e.msg, file);
    free(sp);
    rm_rf(dir);
    free(dir);
}

static void test_dataset(void **st)
{
    (void)st;
    /* a good one: tails keep the last 4 calls, dd collapses runs */
    char *dir = make_dir("a a b b b c a\nc\n\n", "Trojan\nWorms\r\nAdware\n");
    char *sp = tmp_path(dir, "split.txt");
    write_text(sp, "train\ntest\ntrain\n");
    mt_data d;
    mal_error e = {{0}};
    int rc = mt_data_load(&d, dir, sp, 4, 100, &e);
    if (rc)
        fprintf(stderr, "%s\n", e.msg);
    assert_int_equal(rc, 0);
    assert_int_equal(d.n, 3);
    assert_int_equal(d.t[0].label, mt_type_index("Trojan"));
    assert_int_equal(d.t[1].label, mt_type_index("Worms"));
    assert_int_equal(d.t[1].split, MT_SPLIT_TEST);
    assert_int_equal(d.t[0].ntail, 4);
    uint16_t tail[4] = {1, 1, 2, 0}, dd[4] = {0, 1, 2, 0};
    assert_memory_equal(d.t[0].tail, tail, sizeof tail);
    assert_int_equal(d.t[0].ndd, 4);
    assert_memory_equal(d.t[0].dd, dd, sizeof dd);
    assert_int_equal(d.t[2].ndd, 0);
    mt_data_free(&d);
    free(sp);
    rm_rf(dir);
    free(dir);

    expect_load_error("a\nb\n", "Trojan\n", NULL, "has 1 labels but", "labels.csv");
    expect_load_error("a\nb\n", "Trojan\nTrojn\n", NULL, "unknown type 'Trojn'", "labels.csv:2");
    expect_load_error("a\nb\n", "Trojan\n\n", NULL, "empty type", "labels.csv:2");
    expect_load_error("a\nb\n", "Trojan\nVirus\n", "train\n", "has 1 lines but", "split.txt");
    expect_load_error("a\nb\n", "Trojan\nVirus\n", "train\nval\n", "expected 'train' or 'test'",
                      "split.txt:2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dataset),
        cmocka_unit_test(test_loss_falls),
        cmocka_unit_test(test_matches_reference),
        cmocka_unit_test(test_standard_calibration),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_resume),
        cmocka_unit_test(test_joint),
        cmocka_unit_test(test_weight_average),
        cmocka_unit_test(test_learning_rate),
        cmocka_unit_test(test_pretrain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
