/* pretrain.h - next-call pretraining: the embedding and both LSTM layers
 * learn to predict each trace's next call (no labels), and the per-type
 * models start from them. 44-55 labelled positives per type are few; every
 * call of every fit trace is a training target here. Only the start of
 * training changes: the model file, the compiler and the scanner do not. */
#ifndef MT_PRETRAIN_H
#define MT_PRETRAIN_H

#include "dataset.h"
#include "mal_error.h"
#include "model.h"
#include "train.h"

/* Per epoch: the mean next-call cross-entropy over the epoch's training
 * windows, over the validation traces' scored windows (NAN without them),
 * and the epoch's seconds. */
typedef void (*mt_pretrain_progress_fn)(void *ctx, int epoch, int epochs, double loss,
                                        double val_loss, double seconds);

/* Train the layers of o's network shape for o->pretrain epochs on windows
 * of the fit traces (o->windows_per_trace per trace per epoch, at random
 * positions drawn from (o->seed, epoch), as the per-type training draws
 * them; Adam at o->pretrain_lr), with a next-call softmax head that is then dropped.
 * out receives the layers as a model (type "pretrained"; its dense layer is
 * the seeded initial one). Deterministic for a seed and thread count.
 * Returns 0, or -1 with e set; *stop set stops it with -1 and "interrupted". */
int mt_pretrain_lm(const mt_data *d, const int *fit, int nfit, const int *val, int nval,
                   const mt_opts *o, mt_pretrain_progress_fn progress, void *ctx, mal_model *out,
                   mal_error *e);

#endif
