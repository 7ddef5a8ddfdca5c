/* pretrain.c - next-call pretraining of the shared layers. See pretrain.h. */
#include "pretrain.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"

/* One batch of rows ids[N][T] (rows past the real ones all padding): the
 * mean next-call loss, and with glm its gradients in net->g and glm. */
static double batch_loss(mt_net *net, const int32_t *ids, const float *lm, float *glm, mal_error *e)
{
    if (mt_net_forward(net, ids, NULL, e) < 0)
        return NAN;
    return mt_net_backward_lm(net, lm, glm, e);
}

static void pad_rows(int32_t *ids, int from, int N, int T)
{
    for (size_t i = (size_t)from * T; i < (size_t)N * T; i++)
        ids[i] = -1;
}

/* Mean loss over the validation traces' scored windows (no update). */
static double val_loss(mt_net *net, const mt_data *d, const int *val, int nval, const mt_opts *o,
                       int32_t *ids, const float *lm, mal_error *e)
{
    int T = net->s.T, N = net->s.N, rows = 0;
    double sum = 0;
    long batches = 0;
    for (int i = 0; i < nval; i++) {
        long nw = mt_trace_windows(&o->rule, &d->t[val[i]]);
        for (long k = 0; k < nw; k++) {
            mt_window_row(&o->rule, &d->t[val[i]], k, -1, ids + (size_t)rows * T, T);
            if (++rows < N && !(i == nval - 1 && k == nw - 1))
                continue;
            pad_rows(ids, rows, N, T);
            double l = batch_loss(net, ids, lm, NULL, e);
            if (!isfinite(l))
                return NAN;
            sum += l, batches++, rows = 0;
        }
    }
    return batches ? sum / batches : NAN;
}

int mt_pretrain_lm(const mt_data *d, const int *fit, int nfit, const int *val, int nval,
                   const mt_opts *o, mt_pretrain_progress_fn progress, void *ctx, mal_model *out,
                   mal_error *e)
{
    memset(out, 0, sizeof *out);
    const mal_scoring *r = &o->rule;
    if (o->pretrain < 1 || o->pretrain > MT_MAX_EPOCHS)
        return mal_error_set(e, "pretraining epochs must be 1..%d, got %d", MT_MAX_EPOCHS, o->pretrain);
    if (r->stride == 0 || !r->dedup || o->windows_per_trace < 1)
        return mal_error_set(e, "pretraining draws windows at a stride from de-duplicated traces "
                             "(not --protocol paper)");
    if (nfit < 1)
        return mal_error_set(e, "no training traces to pretrain on");
    mt_shape s = {.V = d->vocab.size, .E = o->embed, .H1 = o->h1, .H2 = o->h2, .T = r->window,
                  .N = o->batch, .act = o->act, .pool = o->pool, .O = 1};
    mt_net net;
    if (mt_net_init(&net, &s, e) < 0)
        return -1;
    mt_net_init_params(&net, mt_mix(o->seed, 401));
    size_t nlm = (size_t)s.V * s.H2 + s.V, np = net.nparam;
    long nsamp = (long)nfit * o->windows_per_trace;
    float *lm = calloc(nlm, sizeof *lm), *glm = calloc(nlm, sizeof *glm);
    int32_t *ids = malloc(sizeof *ids * (size_t)s.T * s.N);
    mt_sample *smp = malloc(sizeof *smp * (size_t)nsamp);
    mt_adam an = {0}, al = {0};
    int rc = -1;
    if (!lm || !glm || !ids || !smp || mt_adam_init(&an, np, e) < 0 || mt_adam_init(&al, nlm, e) < 0) {
        if (!e || !e->msg[0])
            mal_error_set(e, "out of memory for pretraining");
        goto out;
    }
    an.lr = al.lr = (float)o->pretrain_lr;
    {   /* the head: glorot-uniform weights, zero biases */
        mt_rng g;
        mt_rng_seed(&g, mt_mix(o->seed, 402));
        double lim = sqrt(6.0 / (s.H2 + s.V));
        for (size_t i = 0; i < (size_t)s.V * s.H2; i++)
            lm[i] = (float)((2 * mt_rng_uniform(&g) - 1) * lim);
    }
    for (int ep = 0; ep < o->pretrain; ep++) {
        double t0 = mt_now_s();
        mt_rng g;
        mt_rng_seed(&g, mt_mix(mt_mix(o->seed, 501), (uint64_t)ep));
        long ns = mt_draw_samples(d, r, o->windows_per_trace, 1, fit, nfit, &g, smp);
        double sum = 0;
        long nb = 0;
        for (long q = 0; q < ns; nb++) {
            int rows = 0;
            for (; q < ns && rows < s.N; q++, rows++)
                mt_window_row(r, &d->t[smp[q].trace], 0, smp[q].start, ids + (size_t)rows * s.T, s.T);
            pad_rows(ids, rows, s.N, s.T);
            double l = batch_loss(&net, ids, lm, glm, e);
            if (!isfinite(l)) {
                if (!e || !e->msg[0])
                    mal_error_set(e, "pretraining: loss is not finite at epoch %d batch %ld", ep + 1, nb + 1);
                goto out;
            }
            mt_adam_update(&an, net.p, net.g, np);
            mt_adam_update(&al, lm, glm, nlm);
            sum += l;
            if (o->stop && *o->stop) {
                mal_error_set(e, "interrupted while pretraining (it is redone in full by --resume)");
                goto out;
            }
        }
        double vl = nval > 0 ? val_loss(&net, d, val, nval, o, ids, lm, e) : NAN;
        if (nval > 0 && !isfinite(vl))
            goto out;
        if (progress)
            progress(ctx, ep + 1, o->pretrain, sum / nb, vl, mt_now_s() - t0);
    }
    if (mal_model_alloc(out, &d->vocab, "pretrained", s.E, s.H1, s.H2, o->act, e) < 0)
        goto out;
    out->pool = o->pool;
    out->scoring = *r;
    if (mt_net_to_model(&net, out, e) < 0) {
        mal_model_free(out);
        goto out;
    }
    rc = 0;
out:
    free(lm), free(glm), free(ids), free(smp);
    mt_adam_free(&an), mt_adam_free(&al);
    mt_net_free(&net);
    return rc;
}
