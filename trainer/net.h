/* net.h - the trainable network on oneDNN: Embedding(V,E) -> LSTM(H1, all
 * steps) -> LSTM(H2) -> pool (last | mean of real steps) -> Dense(O) -> sigmoid.
 * O is 1 for a model file's network; O > 1 heads share the layers below them
 * when the eight types are trained at once (one head per type, each head's
 * loss its own binary log loss).
 *
 * LSTM cell with a free activation `act` (tanh, sigmoid, softsign, softmax over
 * the layer's units); gates i, f, o are always sigmoid; c = f*c + i*g,
 * h = o*act(c). Gate order i, f, g, o along 4H, weights [4H][in] gate-major,
 * the layout of mal_model (runtime/model.h).
 *
 * A batch is ids[N][T] row-major, front-padded with -1. Padded steps are
 * masked: the state passes through unchanged, so a padded row equals the
 * unpadded sequence streamed from a zero state (the reference's contract).
 *
 * Compute: oneDNN matmul primitives (created once per shape) for the
 * projections; the elementwise gate code is plain C with libm expf/tanhf so
 * that scores match the float reference (runtime/reference.c) within 1e-5. */
#ifndef MT_NET_H
#define MT_NET_H

#include <stddef.h>
#include <stdint.h>

#include "mal_error.h"
#include "model.h"

/* parameter groups, in the order of the flat parameter vector */
enum { MT_EMB, MT_WX1, MT_WH1, MT_B1, MT_WX2, MT_WH2, MT_B2, MT_DW, MT_DB, MT_NGROUPS };

typedef struct mt_shape {
    int V, E, H1, H2;   /* vocabulary, embedding, hidden sizes */
    int T, N;           /* steps per window, rows per batch (fixed per net) */
    mal_act act;
    mal_pool pool;
    int O;              /* outputs (heads); 0 means 1 */
} mt_shape;

typedef struct mt_layer mt_layer;   /* private: buffers and primitives of one LSTM layer */

typedef struct mt_net {
    mt_shape s;
    size_t nparam;
    size_t off[MT_NGROUPS + 1];   /* group g occupies p[off[g] .. off[g+1]) */
    float *p;                     /* parameters */
    float *g;                     /* gradients of the last mt_net_backward */
    void *priv;                   /* oneDNN engine, primitives, activations */
    /* Dropout of the forward passes while it is > 0 (training only; 0 after
     * mt_net_init): layer 1's outputs as layer 2 reads them and the pooled
     * vector the dense layer reads lose each value with probability `dropout`,
     * the rest are scaled by 1 / (1 - dropout), so the weights need no rescaling
     * when dropout is off and a model file is unchanged by it. The masks are
     * drawn from drop_seed alone: the same seed gives the same masks. */
    float dropout;
    uint64_t drop_seed;
} mt_net;

const char *mt_group_name(int g);

int mt_net_init(mt_net *n, const mt_shape *s, mal_error *e);
void mt_net_free(mt_net *n);

/* Keras-like initialisation from a seed: embedding U(-0.05, 0.05); input
 * kernels and dense glorot-uniform; recurrent kernels orthogonal (columns
 * of the [4H][H] matrix orthonormal, i.e. Keras' (H, 4H) kernel has
 * orthonormal rows); biases 0 except the forget gate's 1 (unit_forget_bias). */
void mt_net_init_params(mt_net *n, uint64_t seed);

/* Outputs of a network: its shape's O, at least 1. */
int mt_net_outputs(const mt_net *n);

/* Forward pass of a batch: ids[N][T] (-1 = padding; rows past the batch's
 * real rows may be all -1). Writes N x O logits (uncalibrated, row-major
 * [N][O]). Keeps the activations for mt_net_backward. */
int mt_net_forward(mt_net *n, const int32_t *ids, float *logits, mal_error *e);

/* Loss of the last forward, sum_n,o w[n][o] * bce(y[n][o], logit[n][o]) /
 * denom, and its gradient into n->g (overwritten). Returns the loss. */
double mt_net_backward(mt_net *n, const float *y, const float *w, double denom);

/* The same with bags (multiple-instance loss): rows r with equal bag[r] are
 * consecutive and one trace's windows; the loss is w * bce(y, mean of their
 * logits) / denom, with y and w the bag's first row's. bag NULL: each row
 * its own bag (mt_net_backward). Bags need a single output (O = 1). */
double mt_net_backward_bags(mt_net *n, const float *y, const float *w, const int *bag, double denom);

/* The O heads as one softmax classifier (O > 1): the loss is the sum over
 * rows of w[n][0] * cross-entropy(y[n], softmax(logit[n])) / denom, y[n]
 * one-hot. Returns NAN for a network of one output. */
double mt_net_backward_softmax(mt_net *n, const float *y, const float *w, double denom);

/* Next-call prediction, for pretraining the layers on traces without labels:
 * at every real step t of a row followed by a real step, a softmax over the
 * vocabulary of Wlm h2_t + blm predicts the call of step t+1. lm holds Wlm
 * [V][H2] then blm [V]. Returns the mean cross-entropy over those steps of
 * the last forward (NAN on failure, e set); the network's gradient goes to
 * n->g (the dense groups 0) and the head's to glm (same layout as lm);
 * glm NULL: the loss only, no gradient. */
double mt_net_backward_lm(mt_net *n, const float *lm, float *glm, mal_error *e);

/* Copy parameters into a model allocated with the same shape, and back
 * (a network of one output). */
int mt_net_to_model(const mt_net *n, mal_model *m, mal_error *e);
/* The layers shared by all heads and head `o`'s dense row: type o's model. */
int mt_net_head_to_model(const mt_net *n, int o, mal_model *m, mal_error *e);
int mt_net_from_model(mt_net *n, const mal_model *m, mal_error *e);

/* Adam (Keras defaults: lr 1e-3, b1 0.9, b2 0.999, eps 1e-7). */
typedef struct mt_adam {
    float lr, b1, b2, eps;
    long step;
    float *m, *v;   /* nparam each */
} mt_adam;

int mt_adam_init(mt_adam *a, size_t nparam, mal_error *e);
void mt_adam_update(mt_adam *a, float *p, const float *g, size_t nparam);
void mt_adam_free(mt_adam *a);

/* Deterministic PRNG (xoshiro256** seeded by splitmix64). */
typedef struct mt_rng {
    uint64_t s[4];
} mt_rng;

void mt_rng_seed(mt_rng *r, uint64_t seed);
uint64_t mt_rng_next(mt_rng *r);
double mt_rng_uniform(mt_rng *r);        /* [0, 1) */
uint64_t mt_rng_below(mt_rng *r, uint64_t n);   /* [0, n) */
double mt_rng_normal(mt_rng *r);

/* OpenMP threads used by oneDNN (the library's only thread knob in 2.6). */
void mt_set_threads(int threads);

#endif
