/* act_fast.h - vectorised activations for the LSTM gate code. act_fast.c
 * alone is built with -ffast-math so that gcc calls glibc's vector expf and
 * tanhf (libmvec, within a few ulp of the scalar ones); everything else in
 * the trainer keeps IEEE semantics. In place, n elements. */
#ifndef MT_ACT_FAST_H
#define MT_ACT_FAST_H

void mt_vsigm(float *x, int n);                 /* 1 / (1 + exp(-x)) */
void mt_vtanh(float *x, int n);                 /* tanh(x) */
float mt_vexp_sum(float *x, float shift, int n);   /* x = exp(x - shift); returns the sum */

#endif
