/* train.h - training one one-vs-rest model, scoring traces under a scoring
 * rule, checkpoints. Library code: never prints; progress goes through a
 * callback. */
#ifndef MT_TRAIN_H
#define MT_TRAIN_H

#include <signal.h>
#include <stdint.h>

#include "dataset.h"
#include "mal_error.h"
#include "model.h"
#include "net.h"

#define MT_MAX_EPOCHS 10000

typedef enum mt_protocol { MT_PROTOCOL_PAPER = 0, MT_PROTOCOL_DEFAULT = 1 } mt_protocol;

typedef struct mt_opts {
    mt_protocol protocol;
    mal_act act;
    int epochs;
    uint64_t seed;
    int batch;               /* 50 */
    int embed, h1, h2;       /* 16, 100, 100 */
    mal_pool pool;
    mal_scoring rule;        /* window, stride, max_windows, dedup, combine (calib ignored) */
    int windows_per_trace;   /* training windows per trace per epoch (stride > 0 rules) */
    int bag;                 /* windows per bag: loss on the mean logit of a trace's bag (multiple-instance); 0/1: per window */
    float pos_weight;        /* weight of positive samples; <= 0: balance to the negatives */
    double ema;              /* decay of the weight average validated and kept; 0: the live weights */
    double call_dropout;     /* training windows lose each call with this probability; 0: off */
    double dropout;          /* training forwards drop layer 1's outputs and the pooled vector with this
                                probability (inverted dropout, mt_net.dropout); 0: off */
    double val_frac;         /* 0.15 */
    double lr;               /* Adam's learning rate, 1e-3 (Keras) */
    int lr_cosine;           /* anneal the rate to 0 over the run (cosine); 0: constant */
    double weight_decay;     /* decoupled (AdamW): weights shrink by lr * this per batch; biases not; 0: off */
    int calibrate;           /* MT_CALIB_*: fitted on the validation split */
    int members;             /* networks per model, merged (maltrain_main.c); mt_train_model trains one */
    int joint;               /* MT_TRAIN_*: one network per type, or one for all eight (MT_JOINT) */
    const mal_model *init;   /* per-type training starts from these weights (same shape); NULL: a seeded init */
    int pretrain;            /* epochs of next-call pretraining of the layers (pretrain.h) before the
                                per-type training, which starts from them; 0: off */
    double pretrain_lr;      /* Adam's rate while pretraining (0.004) */
    double distill;          /* 0: off; A in (0, 1]: a training window's target is (1 - A) label + A soft */
    const float *soft;       /* with distill: [d->n][MT_NTYPES] teacher probabilities (ngram_teacher.h) */
    const char *ckpt_path;   /* NULL: no checkpoints */
    int resume;
    volatile sig_atomic_t *stop;   /* set by SIGINT: finish the batch, checkpoint, return */
} mt_opts;

/* How the eight models are trained (mt_opts.joint) */
enum {
    MT_TRAIN_PER_TYPE = 0,   /* a network per type, its own binary log loss */
    MT_TRAIN_JOINT = 1,      /* one network, a head per type, the sum of their binary log losses */
    MT_TRAIN_SOFTMAX = 2,    /* one network, the heads as one softmax over the eight types */
    MT_TRAIN_FINETUNE = 3    /* MT_TRAIN_JOINT first, then a network per type starting from it */
};

/* How the window logits are calibrated before the eight-way vote; both
 * rules are an affine map a l + b stored in the model's scoring rule. */
enum {
    MT_CALIB_NONE = 0,
    MT_CALIB_PLATT = 1,      /* Platt: a, b fitted to the validation labels */
    MT_CALIB_STANDARD = 2    /* standardised: the validation logits' mean 0, sd 1 (no labels) */
};

/* The protocol's defaults (window may be overridden afterwards). */
void mt_opts_defaults(mt_opts *o, mt_protocol p);

/* Whether o->bag can be honoured: 1 (or 0), or K > 1 with a strided rule,
 * K dividing the windows per trace, and K at most the batch. */
int mt_bag_fits(const mt_opts *o);

typedef struct mt_epoch {
    int epoch;           /* 1-based */
    double loss, val_loss, val_auc, seconds;   /* seconds: whole epoch incl. validation */
    double train_seconds;                      /* batches only (forward, backward, Adam) */
} mt_epoch;

typedef struct mt_history {
    int n;
    mt_epoch e[MT_MAX_EPOCHS];
} mt_history;

typedef void (*mt_progress_fn)(void *ctx, const char *type, mal_act act, const mt_epoch *ep,
                               int epochs, int best_epoch);

typedef struct mt_result {
    int best_epoch;
    double best_auc;
    int interrupted;     /* stopped by opts->stop; checkpoint written */
} mt_result;

/* Learning rate for batch b (0-based) of epoch ep (0-based) with nb
 * batches per epoch: o->lr, or under the cosine schedule
 * lr/2 (1 + cos(pi k / K)) with k the batches done and K all of the run's. */
double mt_lr_at(const mt_opts *o, int ep, long b, long nb);

/* Split of the train traces (idx, n) into fit and validation parts,
 * stratified by label, fixed by the seed. Arrays are malloc'd. */
int mt_split_val(const mt_data *d, const int *idx, int n, double frac, uint64_t seed, int **fit,
                 int *nfit, int **val, int *nval, mal_error *e);

/* Stratified K-fold assignment of the traces idx[0..n): fold[idx[i]] in
 * 0..K-1, every K-th trace of each type after a shuffle seeded by `seed`
 * (other entries of fold, sized d->n, are not touched). */
int mt_stratified_folds(const mt_data *d, const int *idx, int n, int K, uint64_t seed, int *fold,
                        mal_error *e);

/* `type` of mt_train_model: the eight types at once (joint training) */
#define MT_JOINT (-1)

/* Train a model for `type` on the traces fit[] (validation on val[]) and
 * fill `out` (allocated here, weights of the best epoch, scoring rule,
 * training record). hist receives the per-epoch record.
 * type MT_JOINT trains one network with a head per type on all eight
 * one-vs-rest tasks at once (each head's own balanced binary log loss);
 * out, hist and res are then arrays of MT_NTYPES, and model t is the shared
 * layers with head t, at head t's best validation epoch. On interruption,
 * res[0].interrupted is set. With o->joint MT_TRAIN_SOFTMAX the loss is the
 * softmax cross-entropy over the heads (classes balanced unless
 * o->pos_weight > 0), and the heads are kept centred (their weights and
 * biases sum to 0 over the types, which leaves the softmax unchanged), so a
 * head's logit is its type's log-probability less the mean over types. */
int mt_train_model(const mt_data *d, int type, const int *fit, int nfit, const int *val, int nval,
                   const mt_opts *o, mt_progress_fn progress, void *pctx, mal_model *out,
                   mt_history *hist, mt_result *res, mal_error *e);

/* Window probabilities of traces idx[0..n) under m's scoring rule, combined
 * per trace (calibration included): probs[n]. Uses the oneDNN net (batch 50). */
int mt_score_traces(const mal_model *m, const mt_data *d, const int *idx, int n, float *probs,
                    mal_error *e);

/* Row of T ids, front-padded with -1, of trace t under rule r: its window k
 * (stride 0: its last T calls), or the window starting at `start` if >= 0. */
void mt_window_row(const mal_scoring *r, const mt_trace *t, long k, long start, int32_t *row, int T);
/* How many windows rule r scores in trace t. */
long mt_trace_windows(const mal_scoring *r, const mt_trace *t);
/* One training window: a trace and the start of its window in the
 * deduplicated calls (-1: the rule's only window, stride 0). */
typedef struct mt_sample {
    int trace;
    long start;
} mt_sample;
/* One epoch's training windows of the traces fit[]: wpt random windows per
 * trace under rule r (stride 0: its one window), drawn from rng and shuffled
 * in whole bags of `bag` (0/1: each window alone). smp holds nfit * wpt.
 * Returns their count. */
long mt_draw_samples(const mt_data *d, const mal_scoring *r, int wpt, int bag, const int *fit,
                     int nfit, mt_rng *rng, mt_sample *smp);
/* Monotonic seconds. */
double mt_now_s(void);
/* The seed of a draw from a seed and a label (splitmix-like mixing). */
uint64_t mt_mix(uint64_t a, uint64_t b);

/* Write out/models/<Type>.metrics.csv-like history (atomic). */
int mt_write_metrics_csv(const char *path, const mt_history *h, mal_error *e);

/* Write a file atomically (temp in the same dir, fsync, rename). */
int mt_write_atomic(const char *path, const void *data, size_t len, mal_error *e);

#endif
