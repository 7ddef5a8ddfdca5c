/* metrics.h - classification metrics shared by `maltrain eval` and
 * `malscan --labels`: the eight-way confusion matrix with per-type precision,
 * recall and F1, accuracy and macro-F1, and one-vs-rest ROC-AUC. */
#ifndef MAL_METRICS_H
#define MAL_METRICS_H

#include <stddef.h>

#define MAL_MAX_TYPES 64

typedef struct mal_confusion {
    int ntypes;
    long n;
    long m[MAL_MAX_TYPES][MAL_MAX_TYPES];   /* rows = true type, columns = predicted */
} mal_confusion;

typedef struct mal_class_metrics {
    double precision, recall, f1;
} mal_class_metrics;

void mal_confusion_init(mal_confusion *c, int ntypes);
void mal_confusion_add(mal_confusion *c, int truth, int predicted);
double mal_confusion_accuracy(const mal_confusion *c);
/* Per-type metrics; a type never predicted has precision 0 (and F1 0). */
mal_class_metrics mal_confusion_class(const mal_confusion *c, int t);
double mal_confusion_macro_f1(const mal_confusion *c);

/* ROC-AUC of scores against 0/1 labels (ties count one half); NaN when one
 * class is absent. Sorts a copy: O(n log n). */
double mal_roc_auc(const float *scores, const int *labels, size_t n);

/* Index of `name` in the sorted type list, or -1. */
int mal_type_index(const char *const *types, int ntypes, const char *name);

#endif
