/* test_train_teacher.c - the n-gram teacher (trainer/ngram_teacher.c) and
 * distillation from it (mt_opts.distill): the teacher learns a task that
 * n-grams separate, scores every fit trace out of fold and nothing else,
 * deterministically; bad arguments are clear errors; a distilled LSTM
 * follows the teacher's targets, not the labels, when told to. */
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "metrics.h"
#include "ngram_teacher.h"
#include "train.h"

enum { V = 20, NTR = 96, NTYPE = MT_NTYPES, W = 10 };

/* Trace i is of type i % 8: 6..30 random calls from 0..11 (no call
 * repeats the one before, as in a de-duplicated trace), with the bigram
 * (12 + type, 12 + (type + 1) % 8) once at a random place. Only that bigram
 * tells the types apart: each of 12..19 occurs in two types. */
static void make_data(mt_data *d)
{
    static const char *names[V] = {"a0",  "a1",  "a2",  "a3",  "a4",  "a5",  "a6",
                                   "a7",  "a8",  "a9",  "a10", "a11", "a12", "a13",
                                   "a14", "a15", "a16", "a17", "a18", "a19"};
    memset(d, 0, sizeof *d);
    mal_error e;
    assert_int_equal(mal_vocab_from_names(&d->vocab, names, V, "test", &e), 0);
    d->n = NTR;
    d->t = calloc(NTR, sizeof *d->t);
    d->crc = 77;
    mt_rng r;
    mt_rng_seed(&r, 3);
    for (int i = 0; i < NTR; i++) {
        mt_trace *t = &d->t[i];
        t->label = i % NTYPE;
        int len = 6 + (int)mt_rng_below(&r, 25);
        t->dd = malloc(sizeof(uint16_t) * (size_t)len);
        for (int k = 0; k < len; k++) {
            uint16_t id;
            do
                id = (uint16_t)mt_rng_below(&r, 12);
            while (k > 0 && id == t->dd[k - 1]);
            t->dd[k] = id;
        }
        int at = (int)mt_rng_below(&r, (uint64_t)len - 1);
        t->dd[at] = (uint16_t)(12 + t->label), t->dd[at + 1] = (uint16_t)(12 + (t->label + 1) % NTYPE);
        t->ndd = (uint32_t)len, t->calls = (uint64_t)len;
        t->ntail = (uint32_t)(len < W ? len : W);
        t->tail = malloc(sizeof(uint16_t) * t->ntail);
        memcpy(t->tail, t->dd + len - t->ntail, sizeof(uint16_t) * t->ntail);
    }
}

static int argmax(const float *p)
{
    int b = 0;
    for (int t = 1; t < MT_NTYPES; t++)
        if (p[t] > p[b])
            b = t;
    return b;
}

/* The teacher separates the types out of fold, fills exactly the fit rows
 * with probabilities, keeps the cost with the best out-of-fold macro-F1,
 * and gives the same bytes twice. */
static void test_teacher_learns(void **st)
{
    (void)st;
    mt_data d;
    make_data(&d);
    int fit[NTR], nfit = 0;
    for (int i = 0; i < NTR; i++)
        if (i % 6 != 5)   /* every sixth trace is left out of the fit set */
            fit[nfit++] = i;
    mt_teacher_opts o;
    mt_teacher_opts_defaults(&o);
    mt_teacher_report rep;
    mal_error e = {{0}};
    float *soft = malloc(sizeof(float) * NTR * MT_NTYPES), *again = malloc(sizeof(float) * NTR * MT_NTYPES);
    for (int i = 0; i < NTR * MT_NTYPES; i++)
        soft[i] = again[i] = -1;
    int rc = mt_teacher_oof(&d, fit, nfit, &o, soft, &rep, &e);
    if (rc)
        fprintf(stderr, "%s\n", e.msg);
    assert_int_equal(rc, 0);
    fprintf(stderr, "teacher: %ld features, C %g, out-of-fold macro-F1 %.3f (C 1/10/100: %.3f %.3f %.3f)\n",
            rep.features, rep.c, rep.macro_f1, rep.f1[0], rep.f1[1], rep.f1[2]);
    assert_true(rep.macro_f1 > 0.85);   /* chance: 0.125 */
    double bestf = 0;
    for (int c = 0; c < o.nc; c++)
        bestf = rep.f1[c] > bestf ? rep.f1[c] : bestf;
    assert_true(rep.macro_f1 == bestf);
    assert_true(rep.c == 1 || rep.c == 10 || rep.c == 100);
    assert_true(rep.features > V && rep.features < 2000);
    int right = 0;
    for (int j = 0, i = 0; i < NTR; i++) {
        const float *p = soft + (size_t)i * MT_NTYPES;
        if (j < nfit && fit[j] == i) {
            j++;
            for (int t = 0; t < MT_NTYPES; t++)
                assert_true(p[t] >= 0 && p[t] <= 1);
            right += argmax(p) == d.t[i].label;
        } else {
            for (int t = 0; t < MT_NTYPES; t++)
                assert_true(p[t] == -1);   /* not a fit trace: untouched */
        }
    }
    assert_true(right >= nfit * 9 / 10);
    assert_int_equal(mt_teacher_oof(&d, fit, nfit, &o, again, NULL, &e), 0);
    assert_memory_equal(soft, again, sizeof(float) * NTR * MT_NTYPES);
    /* out of fold, not memory: with half the labels no longer matching
     * their traces' bigrams, a teacher scoring its own training traces
     * could fit them (C 100, far more features than traces); out of fold
     * it cannot */
    for (int i = 0; i < NTR; i++)   /* half of each type's traces relabelled as the next type */
        if (i / NTYPE % 2 == 0)
            d.t[i].label = (d.t[i].label + 1) % NTYPE;
    assert_int_equal(mt_teacher_oof(&d, fit, nfit, &o, again, &rep, &e), 0);
    fprintf(stderr, "half the labels contradicting the n-grams: out-of-fold macro-F1 %.3f\n", rep.macro_f1);
    assert_true(rep.macro_f1 < 0.75);
    free(soft), free(again);
    mt_data_free(&d);
}

static void test_teacher_errors(void **st)
{
    (void)st;
    mt_data d;
    make_data(&d);
    int fit[NTR];
    for (int i = 0; i < NTR; i++)
        fit[i] = i;
    float *soft = calloc(NTR * MT_NTYPES, sizeof(float));
    mt_teacher_opts o;
    mt_teacher_opts_defaults(&o);
    mal_error e = {{0}};
    assert_int_equal(mt_teacher_oof(&d, fit, 3, &o, soft, NULL, &e), -1);
    assert_contains(e.msg, "5 inner folds over 3 traces");
    o.nc = 0;
    assert_int_equal(mt_teacher_oof(&d, fit, NTR, &o, soft, NULL, &e), -1);
    assert_contains(e.msg, "candidate costs");
    mt_teacher_opts_defaults(&o);
    int one[NTR / NTYPE];   /* the Adware traces only */
    for (int i = 0; i < NTR / NTYPE; i++)
        one[i] = i * NTYPE;
    assert_int_equal(mt_teacher_oof(&d, one, NTR / NTYPE, &o, soft, NULL, &e), -1);
    assert_contains(e.msg, "fewer than two types");
    free(soft);
    mt_data_free(&d);
}

/* Two types: liblinear keeps one decision value; the two types' probabilities
 * are its sigmoid and the complement, the absent types' 0. */
static void test_teacher_two_types(void **st)
{
    (void)st;
    mt_data d;
    make_data(&d);
    int two[NTR], n = 0;
    for (int i = 0; i < NTR; i++)
        if (d.t[i].label < 2)
            two[n++] = i;
    float *soft = calloc(NTR * MT_NTYPES, sizeof(float));
    mt_teacher_opts o;
    mt_teacher_opts_defaults(&o);
    mal_error e = {{0}};
    assert_int_equal(mt_teacher_oof(&d, two, n, &o, soft, NULL, &e), 0);
    int right = 0;
    for (int j = 0; j < n; j++) {
        const float *p = soft + (size_t)two[j] * MT_NTYPES;
        assert_true(fabsf(p[0] + p[1] - 1) < 1e-6f);
        for (int t = 2; t < MT_NTYPES; t++)
            assert_true(p[t] == 0);
        right += argmax(p) == d.t[two[j]].label;
    }
    fprintf(stderr, "two types: %d of %d right out of fold\n", right, n);
    assert_true(right >= n * 8 / 10);
    free(soft);
    mt_data_free(&d);
}

/* Validation AUC of an Adware model trained with the given targets. */
static double distilled_auc(const mt_data *d, double share, const float *soft, const char *ckpt,
                            int resume, int expect_rc, mal_error *e)
{
    int all[NTR], *fit, *val, nfit, nval;
    for (int i = 0; i < NTR; i++)
        all[i] = i;
    mt_opts o;
    mt_opts_defaults(&o, MT_PROTOCOL_DEFAULT);
    o.embed = 4, o.h1 = 8, o.h2 = 6, o.batch = 10, o.epochs = 25, o.lr = 1e-2, o.seed = 2;
    o.rule.window = W, o.rule.stride = 5, o.rule.max_windows = 0, o.windows_per_trace = 3;
    o.distill = share, o.soft = soft, o.ckpt_path = ckpt, o.resume = resume;
    assert_int_equal(mt_split_val(d, all, NTR, 0.25, o.seed, &fit, &nfit, &val, &nval, e), 0);
    mal_model m;
    mt_history *h = calloc(1, sizeof *h);
    mt_result res;
    int rc = mt_train_model(d, 0, fit, nfit, val, nval, &o, NULL, NULL, &m, h, &res, e);
    if (rc && !expect_rc)
        fprintf(stderr, "%s\n", e->msg);
    assert_int_equal(rc, expect_rc);
    double auc = NAN;
    if (rc == 0) {   /* the last epoch's AUC: the best epoch would hide the direction learnt */
        auc = h->e[h->n - 1].val_auc;
        mal_model_free(&m);
    }
    free(h), free(fit), free(val);
    return auc;
}

/* Distillation reaches the loss: targets of 1 - label (share 1) teach the
 * model the opposite of the labels that validation scores it by; share 0
 * ignores them; a share needs targets; a checkpoint made with another
 * share is refused. */
static void test_distill_targets(void **st)
{
    (void)st;
    mt_data d;
    make_data(&d);
    float *soft = calloc(NTR * MT_NTYPES, sizeof(float));
    for (int i = 0; i < NTR; i++)
        soft[(size_t)i * MT_NTYPES] = d.t[i].label == 0 ? 0.0f : 1.0f;   /* Adware's, inverted */
    mal_error e = {{0}};
    char *dir = tmp_dir(), *ck = tmp_path(dir, "Adware.ckpt");
    double labels = distilled_auc(&d, 0, soft, ck, 0, 0, &e);
    double inverted = distilled_auc(&d, 1, soft, NULL, 0, 0, &e);
    fprintf(stderr, "validation AUC: labels %.3f, inverted teacher %.3f\n", labels, inverted);
    assert_true(labels > 0.8);
    assert_true(inverted < 0.2);
    distilled_auc(&d, 0.5, NULL, NULL, 0, -1, &e);
    assert_contains(e.msg, "teacher's targets");
    distilled_auc(&d, 0.5, soft, ck, 1, -1, &e);   /* the checkpoint holds share 0 */
    assert_contains(e.msg, "distillation");
    free(soft);
    rm_rf(dir);
    free(dir), free(ck);
    mt_data_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_teacher_learns),
        cmocka_unit_test(test_teacher_errors),
        cmocka_unit_test(test_teacher_two_types),
        cmocka_unit_test(test_distill_targets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
