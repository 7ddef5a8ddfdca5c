/* reference.h - the float reference forward pass: the oracle every other
 * path (oneDNN training kernels, int8 generated code, tcc/gcc builds) is
 * tested against. Plain loops, float storage, double-free of cleverness:
 * correctness is the only goal. Uses libm (expf, tanhf). */
#ifndef MAL_REFERENCE_H
#define MAL_REFERENCE_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* Streaming state of one window: h/c of both layers and the pooling sum. */
typedef struct mal_ref_state {
    float *h1, *c1, *h2, *c2;   /* [H1], [H1], [H2], [H2] */
    float *pool_sum;            /* [H2] sum of h2 over real steps */
    float *scratch;             /* [4 * max(H1, H2)] gate pre-activations */
    long steps;                 /* real (unpadded) steps taken */
} mal_ref_state;

int mal_ref_state_init(const mal_model *m, mal_ref_state *s, mal_error *e);
void mal_ref_state_reset(const mal_model *m, mal_ref_state *s);   /* back to zero */
void mal_ref_state_free(mal_ref_state *s);

/* One call (token id in 0..vocab.size-1). */
void mal_ref_step(const mal_model *m, mal_ref_state *s, int token);

/* Logit and probability of the window seen so far (pooling + dense; the
 * probability includes calibration). A state with no steps scores h2 = 0. */
float mal_ref_logit(const mal_model *m, const mal_ref_state *s);
float mal_ref_prob(const mal_model *m, const mal_ref_state *s);

/* Padded batch: ids[n][t] row-major, front-padded with -1 (masked: a padded
 * step leaves the state unchanged). Writes n probabilities. This is a second,
 * independent code path: a padded batch must equal streaming the unpadded rows. */
int mal_ref_forward_padded(const mal_model *m, const int32_t *ids, int n, int t, float *probs,
                           mal_error *e);

/* Whole-trace score under the model's scoring rule (dedup, windows, stride,
 * combine). ids are known-call ids in trace order. A trace with no calls
 * scores the empty window (h2 = 0). */
float mal_ref_score_trace(const mal_model *m, const int32_t *ids, size_t n);

#endif
