/* metrics.c - confusion matrix, P/R/F1, macro-F1, ROC-AUC. */
#include "metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void mal_confusion_init(mal_confusion *c, int ntypes)
{
    memset(c, 0, sizeof *c);
    c->ntypes = ntypes < MAL_MAX_TYPES ? ntypes : MAL_MAX_TYPES;
}

void mal_confusion_add(mal_confusion *c, int truth, int predicted)
{
    if (truth < 0 || truth >= c->ntypes || predicted < 0 || predicted >= c->ntypes)
        return;
    c->m[truth][predicted]++;
    c->n++;
}

double mal_confusion_accuracy(const mal_confusion *c)
{
    long right = 0;
    for (int t = 0; t < c->ntypes; t++)
        right += c->m[t][t];
    return c->n ? (double)right / (double)c->n : 0.0;
}

mal_class_metrics mal_confusion_class(const mal_confusion *c, int t)
{
    long tp = c->m[t][t], predicted = 0, actual = 0;
    for (int k = 0; k < c->ntypes; k++) {
        predicted += c->m[k][t];
        actual += c->m[t][k];
    }
    mal_class_metrics r = {0, 0, 0};
    r.precision = predicted ? (double)tp / (double)predicted : 0.0;
    r.recall = actual ? (double)tp / (double)actual : 0.0;
    r.f1 = (r.precision + r.recall) > 0 ? 2 * r.precision * r.recall / (r.precision + r.recall) : 0.0;
    return r;
}

double mal_confusion_macro_f1(const mal_confusion *c)
{
    double sum = 0;
    for (int t = 0; t < c->ntypes; t++)
        sum += mal_confusion_class(c, t).f1;
    return c->ntypes ? sum / c->ntypes : 0.0;
}

typedef struct scored {
    float s;
    int y;
} scored;

static int by_score(const void *a, const void *b)
{
    float x = ((const scored *)a)->s, y = ((const scored *)b)->s;
    return (x > y) - (x < y);
}

double mal_roc_auc(const float *scores, const int *labels, size_t n)
{
    scored *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return NAN;
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        v[i].s = scores[i];
        v[i].y = labels[i] != 0;
        pos += (size_t)v[i].y;
    }
    size_t neg = n - pos;
    if (pos == 0 || neg == 0) {
        free(v);
        return NAN;
    }
    qsort(v, n, sizeof *v, by_score);
    /* Mann-Whitney: sum of positive ranks, tied groups share the mean rank */
    double rank_sum = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && v[j].s == v[i].s)
            j++;
        double mean_rank = (double)(i + 1 + j) / 2.0;
        for (size_t k = i; k < j; k++)
            if (v[k].y)
                rank_sum += mean_rank;
        i = j;
    }
    free(v);
    return (rank_sum - (double)pos * (double)(pos + 1) / 2.0) / ((double)pos * (double)neg);
}

int mal_type_index(const char *const *types, int ntypes, const char *name)
{
    for (int t = 0; t < ntypes; t++)
        if (strcmp(types[t], name) == 0)
            return t;
    return -1;
}
