/* model_merge.h - a seed ensemble as one model of the same family: n member
 * networks (same type, vocabulary, activation, pooling and scoring rule)
 * become one network n times as wide whose window logit is the mean of the
 * members' window logits. The model file format, the reference forward, the
 * compiler and the scanner need nothing new: the merged network is an
 * ordinary (wider) model whose weights happen to be block-diagonal. */
#ifndef MT_MODEL_MERGE_H
#define MT_MODEL_MERGE_H

#include "mal_error.h"
#include "model.h"

/* Merge members[0..n) into out (allocated here). Embeddings are concatenated
 * (E = sum of E_k); each member's gates read only its own embedding columns
 * and hidden units (zeros elsewhere), so every member's h1, h2 evolve exactly
 * as alone. Dense weights are the members' (times their calibration slope)
 * divided by n, the bias the mean of theirs (calibration folded in), so
 * logit = mean_k (a_k logit_k + b_k) and the merged calibration is 1, 0.
 * Refused: n < 1, members that differ in type, vocabulary, activation,
 * pooling or scoring rule; softmax (it couples a layer's units, so blocks
 * would not stay independent); merged sizes over the format's limits. */
int mt_model_merge(const mal_model *members, int n, mal_model *out, mal_error *e);

#endif
