/* ngram_teacher.c - TF-IDF n-grams + liblinear one-vs-rest logistic
 * regression, scored out of fold (ngram_teacher.h). */
#include "ngram_teacher.h"

#include <linear.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "train.h"

#define NBITS 20
#define NBUCKETS (1u << NBITS)

void mt_teacher_opts_defaults(mt_teacher_opts *o)
{
    *o = (mt_teacher_opts){.folds = 5, .nc = 3, .c = {1, 10, 100}, .seed = 0};
}

static uint32_t bucket(uint64_t key)
{
    key *= 0x9e3779b97f4a7c15ull;
    key ^= key >> 29;
    key *= 0xbf58476d1ce4e5b9ull;
    return (uint32_t)(key >> (64 - NBITS));
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* The fit traces as sparse rows of n-gram counts: row i's features are
 * col[ptr[i] .. ptr[i+1]) (compact indices, ascending) with counts cnt[]. */
typedef struct rows {
    int n;
    size_t *ptr;
    uint32_t *col;
    float *cnt;
    long nfeat;
} rows;

static void rows_free(rows *r)
{
    free(r->ptr), free(r->col), free(r->cnt);
    memset(r, 0, sizeof *r);
}

static int rows_build(const mt_data *d, const int *fit, int nfit, rows *r, mal_error *e)
{
    memset(r, 0, sizeof *r);
    r->n = nfit;
    size_t total = 0, longest = 0;
    for (int i = 0; i < nfit; i++) {
        size_t L = d->t[fit[i]].ndd, g = L + (L > 1 ? L - 1 : 0) + (L > 2 ? L - 2 : 0);   /* 1-, 2-, 3-grams */
        total += g;
        longest = g > longest ? g : longest;
    }
    uint32_t *h = malloc(sizeof(uint32_t) * (longest + 1));
    int32_t *map = malloc(sizeof(int32_t) * NBUCKETS);
    r->ptr = malloc(sizeof(size_t) * ((size_t)nfit + 1));
    if (!h || !map || !r->ptr) {
        free(h), free(map), rows_free(r);
        return mal_error_set(e, "teacher: out of memory for a trace of %zu n-grams", longest);
    }
    size_t cap = 0, nz = 0;   /* the rows keep distinct n-grams only: grown as they come */
    for (int i = 0; i < nfit; i++) {
        size_t L = d->t[fit[i]].ndd, g = L + (L > 1 ? L - 1 : 0) + (L > 2 ? L - 2 : 0);
        if (nz + g > cap) {
            size_t nc = cap * 2 > nz + g ? cap * 2 : nz + g + 4096;
            uint32_t *col = realloc(r->col, sizeof(uint32_t) * nc);
            if (col)
                r->col = col;
            float *cnt = col ? realloc(r->cnt, sizeof(float) * nc) : NULL;
            if (!cnt) {
                free(h), free(map), rows_free(r);
                return mal_error_set(e, "teacher: out of memory for %zu distinct n-grams (%zu in all)",
                                     nc, total);
            }
            r->cnt = cnt, cap = nc;
        }
        const uint16_t *s = d->t[fit[i]].dd;
        g = 0;
        for (size_t j = 0; j < L; j++) {   /* ids + 1 fit in 17 bits; the n in the top bits */
            uint64_t a = s[j] + 1u;
            h[g++] = bucket(1ull << 60 | a);
            if (j + 1 < L)
                h[g++] = bucket(2ull << 60 | a << 17 | (s[j + 1] + 1u));
            if (j + 2 < L)
                h[g++] = bucket(3ull << 60 | a << 34 | (uint64_t)(s[j + 1] + 1u) << 17 | (s[j + 2] + 1u));
        }
        qsort(h, g, sizeof *h, cmp_u32);
        r->ptr[i] = nz;
        for (size_t j = 0; j < g; j++) {
            if (j > 0 && h[j] == h[j - 1])
                r->cnt[nz - 1] += 1;
            else
                r->col[nz] = h[j], r->cnt[nz++] = 1;
        }
    }
    r->ptr[nfit] = nz;
    /* compact the buckets in use to 0..nfeat-1, keeping their order */
    for (uint32_t b = 0; b < NBUCKETS; b++)
        map[b] = -1;
    for (size_t j = 0; j < nz; j++)
        map[r->col[j]] = 0;
    for (uint32_t b = 0; b < NBUCKETS; b++)
        if (map[b] == 0)
            map[b] = (int32_t)r->nfeat++;
    for (size_t j = 0; j < nz; j++)
        r->col[j] = (uint32_t)map[r->col[j]];
    free(h), free(map);
    return 0;
}

/* One row as liblinear nodes: (1 + ln tf) * idf over the features with
 * df > 0, L2-normalised, then the bias feature; returns nodes written. */
static size_t row_nodes(const rows *r, int i, const double *idf, struct feature_node *x)
{
    size_t k = 0;
    double ss = 0;
    for (size_t j = r->ptr[i]; j < r->ptr[i + 1]; j++) {
        double w = idf[r->col[j]];
        if (w <= 0)
            continue;
        double v = (1 + log(r->cnt[j])) * w;
        x[k++] = (struct feature_node){.index = (int)r->col[j] + 1, .value = v};
        ss += v * v;
    }
    double inv = ss > 0 ? 1 / sqrt(ss) : 0;
    for (size_t j = 0; j < k; j++)
        x[j].value *= inv;
    x[k++] = (struct feature_node){.index = (int)r->nfeat + 1, .value = 1};   /* bias */
    x[k++] = (struct feature_node){.index = -1};
    return k;
}

static void quiet(const char *s)
{
    (void)s;
}

/* Fit on the rows with fold[] != k, score those with fold[] == k into
 * prob[i * MT_NTYPES + t]. */
static int fit_fold(const mt_data *d, const int *fit, const rows *r, const int *fold, int k,
                    double C, double *idf, struct feature_node *xs, struct feature_node **xp,
                    double *y, float *prob, mal_error *e)
{
    int ntr = 0, npos[MT_NTYPES] = {0};
    memset(idf, 0, sizeof(double) * (size_t)r->nfeat);
    for (int i = 0; i < r->n; i++)
        if (fold[i] != k) {
            ntr++, npos[d->t[fit[i]].label]++;
            for (size_t j = r->ptr[i]; j < r->ptr[i + 1]; j++)
                idf[r->col[j]] += 1;   /* document frequency first */
        }
    for (long f = 0; f < r->nfeat; f++)   /* smoothed idf; 0 marks unseen features */
        idf[f] = idf[f] > 0 ? log((1.0 + ntr) / (1.0 + idf[f])) + 1 : 0;
    int lab[MT_NTYPES], nlab = 0;
    double wt[MT_NTYPES];
    for (int t = 0; t < MT_NTYPES; t++)
        if (npos[t] > 0)
            lab[nlab] = t, wt[nlab++] = (double)(ntr - npos[t]) / npos[t];
    if (nlab < 2)
        return mal_error_set(e, "teacher: an inner fold's training part holds fewer than two types");
    size_t q = 0;
    int l = 0;
    for (int i = 0; i < r->n; i++)
        if (fold[i] != k) {
            xp[l] = xs + q, y[l++] = d->t[fit[i]].label;
            q += row_nodes(r, i, idf, xs + q);
        }
    struct problem prob_ = {.l = l, .n = (int)r->nfeat + 1, .y = y, .x = xp, .bias = 1};
    struct parameter par = {.solver_type = L2R_LR, .eps = 0.01, .C = C, .nr_weight = nlab,
                            .weight_label = lab, .weight = wt};
    const char *bad = check_parameter(&prob_, &par);
    if (bad)
        return mal_error_set(e, "teacher: liblinear: %s", bad);
    struct model *m = train(&prob_, &par);
    if (!m)
        return mal_error_set(e, "teacher: liblinear could not train");
    int nc = get_nr_class(m), labels[MT_NTYPES];
    get_labels(m, labels);
    double dec[MT_NTYPES];
    for (int i = 0; i < r->n; i++) {
        if (fold[i] != k)
            continue;
        row_nodes(r, i, idf, xs);
        predict_values(m, xs, dec);
        float *p = prob + (size_t)i * MT_NTYPES;
        for (int t = 0; t < MT_NTYPES; t++)
            p[t] = 0;
        for (int c = 0; c < nc; c++) {   /* two classes: one decision value, for labels[0] */
            double v = nc == 2 ? (c == 0 ? dec[0] : -dec[0]) : dec[c];
            p[labels[c]] = (float)(1 / (1 + exp(-v)));
        }
    }
    free_and_destroy_model(&m);
    return 0;
}

/* Eight-way macro-F1 of the argmax of prob over the fit traces. */
static double macro_f1(const mt_data *d, const int *fit, int n, const float *prob)
{
    mal_confusion c;
    mal_confusion_init(&c, MT_NTYPES);
    for (int i = 0; i < n; i++) {
        const float *p = prob + (size_t)i * MT_NTYPES;
        int best = 0;
        for (int t = 1; t < MT_NTYPES; t++)
            if (p[t] > p[best])
                best = t;
        mal_confusion_add(&c, d->t[fit[i]].label, best);
    }
    return mal_confusion_macro_f1(&c);
}

int mt_teacher_oof(const mt_data *d, const int *fit, int nfit, const mt_teacher_opts *o,
                   float *soft, mt_teacher_report *rep, mal_error *e)
{
    if (o->folds < 2 || o->folds > 64 || nfit < o->folds)
        return mal_error_set(e, "teacher: %d inner folds over %d traces", o->folds, nfit);
    if (o->nc < 1 || o->nc > MT_TEACHER_MAX_C)
        return mal_error_set(e, "teacher: %d candidate costs (1..%d)", o->nc, MT_TEACHER_MAX_C);
    set_print_string_function(quiet);
    rows r;
    if (rows_build(d, fit, nfit, &r, e) < 0)
        return -1;
    int rc = -1;
    int *fold = malloc(sizeof(int) * (size_t)(d->n > 0 ? d->n : 1)), *f = malloc(sizeof(int) * (size_t)nfit);
    double *idf = malloc(sizeof(double) * (size_t)(r.nfeat + 1)), *y = malloc(sizeof(double) * (size_t)nfit);
    struct feature_node *xs = malloc(sizeof *xs * (r.ptr[nfit] + 2 * (size_t)nfit));
    struct feature_node **xp = malloc(sizeof *xp * (size_t)nfit);
    float *prob = malloc(sizeof(float) * MT_NTYPES * (size_t)nfit);
    float *best = malloc(sizeof(float) * MT_NTYPES * (size_t)nfit);
    if (!fold || !f || !idf || !y || !xs || !xp || !prob || !best) {
        mal_error_set(e, "teacher: out of memory");
        goto out;
    }
    if (mt_stratified_folds(d, fit, nfit, o->folds, o->seed, fold, e) < 0)
        goto out;
    for (int i = 0; i < nfit; i++)
        f[i] = fold[fit[i]];
    double bestf = -1, bestc = 0;
    for (int c = 0; c < o->nc; c++) {
        for (int k = 0; k < o->folds; k++)
            if (fit_fold(d, fit, &r, f, k, o->c[c], idf, xs, xp, y, prob, e) < 0)
                goto out;
        double m = macro_f1(d, fit, nfit, prob);
        if (rep)
            rep->f1[c] = m;
        if (m > bestf) {   /* ties keep the smaller (earlier) cost */
            bestf = m, bestc = o->c[c];
            memcpy(best, prob, sizeof(float) * MT_NTYPES * (size_t)nfit);
        }
    }
    for (int i = 0; i < nfit; i++)
        memcpy(soft + (size_t)fit[i] * MT_NTYPES, best + (size_t)i * MT_NTYPES, sizeof(float) * MT_NTYPES);
    if (rep)
        rep->c = bestc, rep->macro_f1 = bestf, rep->features = r.nfeat;
    rc = 0;
out:
    free(fold), free(f), free(idf), free(y), free(xs), free(xp), free(prob), free(best);
    rows_free(&r);
    return rc;
}
