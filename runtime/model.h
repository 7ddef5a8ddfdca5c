/* model.h - one trained one-vs-rest classifier, in memory and on disk.
 *
 * Architecture (the paper's): token -> Embedding(V, E) -> LSTM(H1, all steps)
 * -> LSTM(H2) -> pooled h2 -> Dense(1) -> sigmoid -> calibration.
 * LSTM cell, gate order i, f, g, o along the 4H axis (as Keras and oneDNN):
 *   i = sigm(Wx_i x + Wh_i h + b_i)   f = sigm(...)   o = sigm(...)
 *   g = act(Wx_g x + Wh_g h + b_g)
 *   c = f*c + i*g                     h = o*act(c)
 * act is tanh, sigmoid, softsign (x/(1+|x|)) or softmax over the layer's H units.
 *
 * The scoring rule says how a whole trace becomes one score (see docs/model-format.md):
 * calls may first be de-duplicated (runs of one call collapsed), then split into
 * windows of `window` calls. stride 0: only the last `window` calls (the
 * paper's protocol). stride s > 0: windows start at calls 0, s, 2s, ...; a
 * window is kept if it is the first one or if it is full (start + window <= n),
 * so a streaming scorer needs at most ceil(window / s) live states; with
 * max_windows K > 0 only the first K kept windows are scored, which bounds the
 * work per trace (K * window steps) whatever its length. Each window
 * starts from a zero state. Window probabilities combine by mean or max.
 *
 * File format: docs/model-format.md (JSON, "format": "malstm-model", "version": 1). */
#ifndef MAL_MODEL_H
#define MAL_MODEL_H

#include <stdint.h>

#include "mal_error.h"
#include "vocab.h"

#define MAL_MODEL_FORMAT "malstm-model"
#define MAL_MODEL_VERSION 1
#define MAL_MAX_TYPE_NAME 64
#define MAL_MAX_HIDDEN 1024
#define MAL_MAX_EMBED 1024
#define MAL_MAX_WINDOW 1000000
#define MAL_MAX_WINDOWS 1000000

typedef enum mal_act {
    MAL_ACT_TANH = 0,
    MAL_ACT_SIGMOID = 1,
    MAL_ACT_SOFTSIGN = 2,
    MAL_ACT_SOFTMAX = 3,
} mal_act;

typedef enum mal_pool {
    MAL_POOL_LAST = 0,   /* h2 at the window's last step (the paper) */
    MAL_POOL_MEAN = 1,   /* mean of h2 over the window's real (unpadded) steps */
} mal_pool;

typedef enum mal_combine {
    MAL_COMBINE_MEAN = 0,   /* mean of window probabilities */
    MAL_COMBINE_MAX = 1,
} mal_combine;

typedef struct mal_scoring {
    int window;            /* calls per window, >= 1 (342 in the paper) */
    int stride;            /* 0: only the last window; > 0: a window every `stride` calls */
    int max_windows;       /* stride > 0: score at most this many windows (the first); 0 = all */
    int dedup;             /* 1: collapse runs of identical calls before windowing */
    mal_combine combine;   /* how window scores combine (irrelevant when stride == 0) */
    float calib_a, calib_b;/* calibrated p = sigmoid(calib_a * logit + calib_b); 1, 0 = none */
} mal_scoring;

typedef struct mal_lstm_layer {
    int in, hidden;        /* input size, H */
    float *wx;             /* [4H][in]  input weights, gate-major rows (i, f, g, o) */
    float *wh;             /* [4H][H]   recurrent weights */
    float *b;              /* [4H]      bias (one bias: Keras style) */
} mal_lstm_layer;

typedef struct mal_model {
    char type[MAL_MAX_TYPE_NAME + 1];   /* the malware type it detects, [A-Za-z0-9_-] */
    mal_vocab vocab;                    /* vocab.size == embedding rows */
    int embed;                          /* E */
    mal_act act;
    mal_pool pool;
    mal_scoring scoring;
    float *embedding;                   /* [V][E] */
    mal_lstm_layer l1, l2;              /* l1: E -> H1, l2: H1 -> H2 */
    float *dense_w;                     /* [H2] */
    float dense_b;
    char *training_json;                /* the training record, compact JSON text, or NULL */
} mal_model;

const char *mal_act_name(mal_act a);
int mal_act_parse(const char *s, mal_act *out);   /* 0 ok, -1 unknown */
const char *mal_pool_name(mal_pool p);
const char *mal_combine_name(mal_combine c);

/* Allocate zeroed weights for the given shape (vocab copied); fills the
 * defaults of the paper's protocol: window 342, stride 0, no dedup, last-step
 * pooling, no calibration. */
int mal_model_alloc(mal_model *m, const mal_vocab *vocab, const char *type, int embed,
                    int h1, int h2, mal_act act, mal_error *e);
void mal_model_free(mal_model *m);

/* Validate every field (shapes, finite weights, |w| <= 1e4, rule ranges). */
int mal_model_validate(const mal_model *m, const char *what, mal_error *e);

/* Load a model file with full validation; errors name the file and field. */
int mal_model_load(mal_model *m, const char *path, mal_error *e);
/* Parse from memory (len bytes, need not be NUL-terminated); `what` names it. */
int mal_model_parse(mal_model *m, const char *text, size_t len, const char *what, mal_error *e);

/* Write atomically: temp file in the same directory, fsync, rename, fsync dir.
 * Floats are written with %.9g so they round-trip exactly. */
int mal_model_save(const mal_model *m, const char *path, mal_error *e);

#endif
