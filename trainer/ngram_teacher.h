/* ngram_teacher.h - an n-gram teacher for distilling into the LSTMs
 * (maltrain train --distill A).
 *
 * The teacher is the TF-IDF n-gram classifier the issue measures against:
 * 1..3-grams of each trace's de-duplicated calls, hashed into 2^20
 * features, sublinear tf times smoothed idf, rows L2-normalised, and a
 * one-vs-rest L2 logistic regression per type from liblinear, each type's
 * positives weighted to balance its negatives (as the LSTMs' loss is).
 *
 * It never reaches a model file: it only gives training targets. Each fit
 * trace gets the teacher's probabilities from a model fitted on the other
 * folds (K inner folds), so a target says what the teacher generalises to
 * that trace, not its memory of the trace's label. */
#ifndef MT_NGRAM_TEACHER_H
#define MT_NGRAM_TEACHER_H

#include <stdint.h>

#include "dataset.h"
#include "mal_error.h"

#define MT_TEACHER_MAX_C 8

typedef struct mt_teacher_opts {
    int folds;              /* inner folds, 2..64 (5) */
    int nc;                 /* candidate costs, 1..MT_TEACHER_MAX_C */
    double c[MT_TEACHER_MAX_C];   /* liblinear's C; the one with the best out-of-fold macro-F1 is kept */
    uint64_t seed;          /* the inner folds */
} mt_teacher_opts;

typedef struct mt_teacher_report {
    double c;               /* the cost kept */
    double macro_f1;        /* its out-of-fold eight-way macro-F1 on the fit traces */
    double f1[MT_TEACHER_MAX_C];   /* every candidate's */
    long features;          /* distinct hashed n-grams over the fit traces */
} mt_teacher_report;

/* Defaults: 5 folds, C in {1, 10, 100}, seed 0. */
void mt_teacher_opts_defaults(mt_teacher_opts *o);

/* Out-of-fold teacher probabilities of the traces fit[0..nfit): for every
 * i, soft[fit[i] * MT_NTYPES + t] = P(type t | trace) from the fold model
 * that did not see fit[i] (sigmoid of its balanced one-vs-rest decision
 * value). Other rows of soft (d->n x MT_NTYPES) are not touched. The fit
 * traces must hold at least two types and `folds` traces. rep may be NULL. */
int mt_teacher_oof(const mt_data *d, const int *fit, int nfit, const mt_teacher_opts *o,
                   float *soft, mt_teacher_report *rep, mal_error *e);

#endif
