/* train.c - the training loop of one model, trace scoring, checkpoints. */
#include "train.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "metrics.h"

void mt_opts_defaults(mt_opts *o, mt_protocol p)
{
    memset(o, 0, sizeof *o);
    o->protocol = p;
    o->act = MAL_ACT_TANH;
    o->seed = 0;
    o->batch = 50;
    o->embed = 16, o->h1 = 100, o->h2 = 100;
    o->pretrain_lr = 0.004;   /* 4x the labelled training's: the next-call loss falls slowly at 0.001 */
    o->val_frac = 0.15;
    o->lr = 1e-3;
    o->members = 1;
    if (p == MT_PROTOCOL_PAPER) {
        /* Keras: last 342 calls, unweighted loss, last hidden state */
        o->epochs = 30;
        o->pool = MAL_POOL_LAST;
        o->rule = (mal_scoring){.window = 342, .stride = 0, .max_windows = 0, .dedup = 0,
                                .combine = MAL_COMBINE_MEAN, .calib_a = 1, .calib_b = 0};
        o->windows_per_trace = 1;
        o->pos_weight = 1;
        o->calibrate = MT_CALIB_NONE;
    } else {
        /* targets.md's best PyTorch recipe: dedup, short windows, mean pooling,
         * balanced loss, mean over the first 32 windows (3,200 deduplicated
         * calls): the recipe's "32 windows scored", and a bound on the work per
         * trace, so a million-call trace costs a scanner what a short one does */
        o->epochs = 15;
        o->pool = MAL_POOL_MEAN;
        o->rule = (mal_scoring){.window = 100, .stride = 100, .max_windows = 32, .dedup = 1,
                                .combine = MAL_COMBINE_MEAN, .calib_a = 1, .calib_b = 0};
        /* 16, not the recipe's 8: +0.05 macro-F1 in 5-fold CV, ahead on
         * every fold (docs/training.md); twice the training time */
        o->windows_per_trace = 16;
        o->pos_weight = 0;
        /* Platt scaling on the 15% validation split (about 10 positives per
         * type) lowered the eight-way macro-F1 in every measurement, and
         * standardising each model's logits lowered it by 0.02 over two CV
         * runs (docs/training.md), so it is off; --calibration turns either on */
        o->calibrate = MT_CALIB_NONE;
    }
}

/* ---- windows of a trace under a scoring rule ---- */
static void trace_seq(const mal_scoring *r, const mt_trace *t, const uint16_t **seq, size_t *n)
{
    if (r->dedup)
        *seq = t->dd, *n = t->ndd;
    else
        *seq = t->tail, *n = t->ntail;
}

static long count_windows(const mal_scoring *r, const mt_trace *t)
{
    const uint16_t *s;
    size_t n;
    trace_seq(r, t, &s, &n);
    if (r->stride == 0)
        return 1;
    size_t W = (size_t)r->window, S = (size_t)r->stride;
    long k = 1;   /* start 0 always counts; then full windows only */
    if (n > W)
        k += (long)((n - W) / S);
    if (r->max_windows > 0 && k > r->max_windows)
        k = r->max_windows;
    return k;
}

/* Row of T ids, front-padded with -1: window k of the trace (stride 0: the
 * last W calls), or the window starting at `start` when start >= 0. */
static void fill_row(const mal_scoring *r, const mt_trace *t, long k, long start, int32_t *row,
                     int T)
{
    const uint16_t *s;
    size_t n;
    trace_seq(r, t, &s, &n);
    size_t W = (size_t)T, st;
    if (start >= 0)
        st = (size_t)start;
    else if (r->stride == 0)
        st = n > W ? n - W : 0;
    else
        st = (size_t)k * (size_t)r->stride;
    size_t len = n - st < W ? n - st : W;
    size_t pad = W - len;
    for (size_t i = 0; i < pad; i++)
        row[i] = -1;
    for (size_t i = 0; i < len; i++)
        row[pad + i] = s[st + i];
}

void mt_window_row(const mal_scoring *r, const mt_trace *t, long k, long start, int32_t *row, int T)
{
    fill_row(r, t, k, start, row, T);
}

long mt_trace_windows(const mal_scoring *r, const mt_trace *t)
{
    return count_windows(r, t);
}

long mt_draw_samples(const mt_data *d, const mal_scoring *r, int wpt, int bag, const int *fit,
                     int nfit, mt_rng *rng, mt_sample *smp)
{
    long ns = 0;
    for (int i = 0; i < nfit; i++) {
        if (r->stride == 0) {
            smp[ns++] = (mt_sample){fit[i], -1};
            continue;
        }
        size_t n = d->t[fit[i]].ndd, W = (size_t)r->window;
        for (int k = 0; k < wpt; k++) {
            long start = n > W ? (long)mt_rng_below(rng, n - W + 1) : 0;
            smp[ns++] = (mt_sample){fit[i], start};
        }
    }
    /* shuffled in whole bags: a bag's windows stay together, in one batch */
    int B = bag > 1 ? bag : 1;
    for (long i = ns / B - 1; i > 0; i--) {
        long j = (long)mt_rng_below(rng, (uint64_t)i + 1);
        for (int k = 0; k < B; k++) {
            mt_sample x = smp[i * B + k];
            smp[i * B + k] = smp[j * B + k], smp[j * B + k] = x;
        }
    }
    return ns;
}

/* Augmentation of a training row: each real call is deleted with
 * probability q and the rest close up at the end (front padding grows), as
 * if the sample had not made that call. The draws come from a generator of
 * their own per row, so a run resumed mid-epoch draws the same ones. */
static void drop_calls(int32_t *row, int T, double q, uint64_t seed)
{
    mt_rng g;
    mt_rng_seed(&g, seed);
    int k = T;
    for (int j = T - 1; j >= 0; j--)
        if (row[j] >= 0 && mt_rng_uniform(&g) >= q)
            row[--k] = row[j];
    while (k > 0)
        row[--k] = -1;
}

/* Logits of every window of traces idx[0..n) (woff[n+1] offsets), one
 * column per output of the network: lg[window][O]. */
static int window_logits(mt_net *net, const mal_scoring *r, const mt_data *d, const int *idx, int n,
                         float **logits_out, long **woff_out, mal_error *e)
{
    int T = net->s.T, N = net->s.N, O = mt_net_outputs(net);
    long *woff = malloc(sizeof(long) * (size_t)(n + 1));
    if (!woff)
        return mal_error_set(e, "out of memory");
    woff[0] = 0;
    for (int i = 0; i < n; i++)
        woff[i + 1] = woff[i] + count_windows(r, &d->t[idx[i]]);
    long nw = woff[n];
    float *lg = malloc(sizeof(float) * (size_t)(nw ? nw : 1) * O);
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)T * N);
    float *out = malloc(sizeof(float) * (size_t)N * O);
    if (!lg || !ids || !out) {
        free(woff), free(lg), free(ids), free(out);
        return mal_error_set(e, "out of memory");
    }
    long w = 0;
    int ti = 0;
    long k = 0;
    while (w < nw) {
        int rows = 0;
        long w0 = w;
        while (rows < N && w < nw) {
            while (k >= woff[ti + 1] - woff[ti])
                ti++, k = 0;
            fill_row(r, &d->t[idx[ti]], k, -1, ids + (size_t)rows * T, T);
            rows++, w++, k++;
        }
        for (int q = rows; q < N; q++)
            for (int j = 0; j < T; j++)
                ids[(size_t)q * T + j] = -1;
        if (mt_net_forward(net, ids, out, e) < 0) {
            free(woff), free(lg), free(ids), free(out);
            return -1;
        }
        memcpy(lg + (size_t)w0 * O, out, sizeof(float) * (size_t)rows * O);
    }
    free(ids), free(out);
    *logits_out = lg, *woff_out = woff;
    return 0;
}

static float sigmf(double z)
{
    return (float)(1.0 / (1.0 + exp(-z)));
}

/* Trace probabilities from column o of window logits lg[window][O]. */
static void combine(const mal_scoring *r, float a, float b, const float *lg, int O, int o,
                    const long *woff, int n, float *probs)
{
    for (int i = 0; i < n; i++) {
        double sum = 0;
        float mx = 0;
        for (long w = woff[i]; w < woff[i + 1]; w++) {
            float p = sigmf((double)(a * lg[(size_t)w * O + o] + b));
            sum += p;
            if (w == woff[i] || p > mx)
                mx = p;
        }
        long c = woff[i + 1] - woff[i];
        probs[i] = r->combine == MAL_COMBINE_MAX ? mx : (float)(sum / (double)(c ? c : 1));
    }
}

int mt_score_traces(const mal_model *m, const mt_data *d, const int *idx, int n, float *probs,
                    mal_error *e)
{
    mt_net net;
    mt_shape s = {.V = m->vocab.size, .E = m->embed, .H1 = m->l1.hidden, .H2 = m->l2.hidden,
                  .T = m->scoring.window, .N = 50, .act = m->act, .pool = m->pool};
    if (m->vocab.size != d->vocab.size || !mal_vocab_equal(&m->vocab, &d->vocab))
        return mal_error_set(e, "model '%s' was trained with another vocabulary than the data's",
                             m->type);
    if (mt_net_init(&net, &s, e) < 0)
        return -1;
    float *lg = NULL;
    long *woff = NULL;
    int rc = -1;
    if (mt_net_from_model(&net, m, e) == 0 &&
        window_logits(&net, &m->scoring, d, idx, n, &lg, &woff, e) == 0) {
        combine(&m->scoring, m->scoring.calib_a, m->scoring.calib_b, lg, 1, 0, woff, n, probs);
        rc = 0;
    }
    free(lg), free(woff);
    mt_net_free(&net);
    return rc;
}

/* ---- validation split and folds, stratified by label ---- */
/* The traces of idx[0..n) labelled c into tmp, shuffled by r; returns their count. */
static int shuffled_of_type(const mt_data *d, const int *idx, int n, int c, mt_rng *r, int *tmp)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        if (d->t[idx[i]].label == c)
            tmp[k++] = idx[i];
    for (int i = k - 1; i > 0; i--) {
        int j = (int)mt_rng_below(r, (uint64_t)i + 1), x = tmp[i];
        tmp[i] = tmp[j], tmp[j] = x;
    }
    return k;
}

int mt_stratified_folds(const mt_data *d, const int *idx, int n, int K, uint64_t seed, int *fold,
                        mal_error *e)
{
    int *tmp = malloc(sizeof(int) * (size_t)(n ? n : 1));
    if (!tmp)
        return mal_error_set(e, "out of memory");
    mt_rng r;
    mt_rng_seed(&r, seed);
    for (int c = 0; c < MT_NTYPES; c++) {
        int k = shuffled_of_type(d, idx, n, c, &r, tmp);
        for (int i = 0; i < k; i++)
            fold[tmp[i]] = i % K;
    }
    free(tmp);
    return 0;
}

int mt_split_val(const mt_data *d, const int *idx, int n, double frac, uint64_t seed, int **fit,
                 int *nfit, int **val, int *nval, mal_error *e)
{
    int *f = malloc(sizeof(int) * (size_t)(n ? n : 1)), *v = malloc(sizeof(int) * (size_t)(n ? n : 1));
    int *tmp = malloc(sizeof(int) * (size_t)(n ? n : 1));
    if (!f || !v || !tmp) {
        free(f), free(v), free(tmp);
        return mal_error_set(e, "out of memory");
    }
    mt_rng r;
    mt_rng_seed(&r, seed ^ 0x5eed5a11da7aull);
    int nf = 0, nv = 0;
    for (int c = 0; c < MT_NTYPES; c++) {
        int k = shuffled_of_type(d, idx, n, c, &r, tmp);
        int kv = (int)floor(frac * k + 0.5);
        if (frac > 0 && kv == 0 && k > 1)
            kv = 1;
        for (int i = 0; i < k; i++) {
            if (i < kv)
                v[nv++] = tmp[i];
            else
                f[nf++] = tmp[i];
        }
    }
    free(tmp);
    *fit = f, *nfit = nf, *val = v, *nval = nv;
    return 0;
}

/* ---- atomic writes ---- */
int mt_write_atomic(const char *path, const void *data, size_t len, mal_error *e)
{
    size_t pl = strlen(path);
    char *tmp = malloc(pl + 16);
    if (!tmp)
        return mal_error_set(e, "out of memory");
    snprintf(tmp, pl + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        mal_error_set(e, "%s: cannot create a temporary file: %s", path, strerror(errno));
        free(tmp);
        return -1;
    }
    const char *p = data;
    size_t left = len;
    int err = 0;
    while (left > 0) {
        ssize_t k = write(fd, p, left);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            err = errno;
            break;
        }
        p += k, left -= (size_t)k;
    }
    if (!err && fsync(fd) < 0)
        err = errno;
    if (close(fd) < 0 && !err)
        err = errno;
    if (!err && rename(tmp, path) < 0)
        err = errno;
    if (err) {
        unlink(tmp);
        free(tmp);
        return mal_error_set(e, "%s: write failed: %s", path, strerror(err));
    }
    /* make the rename durable */
    char *dcopy = strdup(path);
    if (dcopy) {
        int dfd = open(dirname(dcopy), O_RDONLY);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
        free(dcopy);
    }
    free(tmp);
    return 0;
}

int mt_write_metrics_csv(const char *path, const mt_history *h, mal_error *e)
{
    size_t cap = 128 + (size_t)h->n * 128;
    char *buf = malloc(cap);
    if (!buf)
        return mal_error_set(e, "out of memory");
    size_t k = (size_t)snprintf(buf, cap, "epoch,loss,val_loss,val_auc,seconds,train_seconds\n");
    for (int i = 0; i < h->n; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%d,%.6f,%.6f,%.6f,%.3f,%.3f\n", h->e[i].epoch,
                              h->e[i].loss, h->e[i].val_loss, h->e[i].val_auc, h->e[i].seconds,
                              h->e[i].train_seconds);
    int rc = mt_write_atomic(path, buf, k, e);
    free(buf);
    return rc;
}

/* ---- checkpoints: binary, little-endian host layout, crc32 trailer ----
 * magic, header, per output: its history (hist_n epochs) and its best epoch,
 * then the arrays: parameters, Adam m and v, weight average, and per output
 * the best epoch's weights. */
#define CK_MAGIC "MALSTMCK"
#define CK_VERSION 8u   /* 2: the weight average (ema), its decay, call dropout, val_frac;
                           3: learning rate and schedule; 4: weight decay;
                           5: outputs (the eight types in one network), best epoch per output;
                           6: distillation's share of the target;
                           7: dropout; 8: next-call pretraining's epochs and rate */

typedef struct ck_head {
    uint32_t version;
    int32_t type, act, pool, protocol, V, E, H1, H2, T, N;
    int32_t window, stride, max_windows, dedup, wpt;
    int32_t outputs;   /* heads of the network: 1, or MT_NTYPES for MT_JOINT */
    uint64_t seed;
    uint32_t data_crc;
    int32_t epoch_done, batch_done, nbatches, hist_n;
    int64_t adam_step;
    double loss_sum, pos_weight, ema, call_dropout, val_frac, lr, weight_decay;
    double distill;             /* the teacher's share A of the training targets; 0: labels only */
    double dropout;             /* mt_net.dropout of the training forwards; 0: off */
    int32_t lr_cosine_epochs;   /* the cosine schedule's length; 0: constant rate */
    int32_t bag;                /* windows per bag of the loss; 0: each window alone */
    int32_t training;           /* MT_TRAIN_* of a joint network (outputs > 1), FINETUNE for a
                                   per-type one started from a model; 0: per type */
    int32_t combine;            /* the rule's mal_combine (validation scores traces by it); in
                                   what was padding, so 0 (mean) in older version-6 checkpoints */
    int32_t pretrain;           /* epochs of next-call pretraining the network started from; 0: none */
    int32_t pad;                /* explicit, so no byte is left unset */
    double pretrain_lr;         /* its rate (0 without pretraining) */
    uint64_t nparam;
} ck_head;

typedef struct ck_best {
    int32_t epoch;   /* 0: none yet */
    int32_t pad;     /* explicit, so no byte is left unset */
    double auc;
} ck_best;

/* parameters, Adam m and v, weight average; then one best per output */
#define CK_ARRAYS 4

typedef struct train_state {
    ck_head h;
    mt_history *hist;   /* [outputs] */
    ck_best *bests;     /* [outputs] */
    float *p, *m, *v, *ema;
    float *best;        /* [outputs][nparam] */
} train_state;

static size_t ck_size(const ck_head *h)
{
    size_t O = (size_t)h->outputs, np = (size_t)h->nparam;
    return 8 + sizeof *h + O * ((size_t)h->hist_n * sizeof(mt_epoch) + sizeof(ck_best)) +
           (CK_ARRAYS + O) * np * sizeof(float) + 4;
}

static int ck_save(const char *path, const train_state *s, mal_error *e)
{
    size_t np = s->h.nparam, nh = (size_t)s->h.hist_n, O = (size_t)s->h.outputs;
    size_t len = ck_size(&s->h);
    unsigned char *buf = malloc(len), *q = buf;
    if (!buf)
        return mal_error_set(e, "out of memory for the checkpoint");
    memcpy(q, CK_MAGIC, 8), q += 8;
    memcpy(q, &s->h, sizeof s->h), q += sizeof s->h;
    for (size_t o = 0; o < O; o++) {
        memcpy(q, s->hist[o].e, nh * sizeof(mt_epoch)), q += nh * sizeof(mt_epoch);
        memcpy(q, &s->bests[o], sizeof(ck_best)), q += sizeof(ck_best);
    }
    const float *arr[CK_ARRAYS] = {s->p, s->m, s->v, s->ema};
    for (int i = 0; i < CK_ARRAYS; i++)
        memcpy(q, arr[i], np * sizeof(float)), q += np * sizeof(float);
    memcpy(q, s->best, O * np * sizeof(float)), q += O * np * sizeof(float);
    uint32_t crc = (uint32_t)crc32(0, buf, (uInt)(q - buf));
    memcpy(q, &crc, 4);
    int rc = mt_write_atomic(path, buf, len, e);
    free(buf);
    return rc;
}

/* Returns 1 loaded, 0 no checkpoint file, -1 error. `want` holds the
 * settings the checkpoint must match. */
static int ck_load(const char *path, train_state *s, const ck_head *want, mal_error *e)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT ? 0 : mal_error_set(e, "%s: cannot open: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = len > 0 ? malloc((size_t)len) : NULL;
    if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
        fclose(f);
        free(buf);
        return mal_error_set(e, "%s: cannot read the checkpoint", path);
    }
    fclose(f);
    int rc = -1;
    ck_head h;
    uint32_t crc;
    if ((size_t)len < 8 + sizeof h + 4 || memcmp(buf, CK_MAGIC, 8) != 0) {
        mal_error_set(e, "%s: not a maltrain checkpoint", path);
        goto out;
    }
    memcpy(&crc, buf + len - 4, 4);
    if (crc != (uint32_t)crc32(0, buf, (uInt)(len - 4))) {
        mal_error_set(e, "%s: corrupt checkpoint (checksum mismatch); delete it or train without "
                      "--resume", path);
        goto out;
    }
    memcpy(&h, buf + 8, sizeof h);
    if (h.version != CK_VERSION) {
        mal_error_set(e, "%s: checkpoint version %u, expected %u", path, h.version, CK_VERSION);
        goto out;
    }
    if (h.type != want->type || h.act != want->act || h.pool != want->pool ||
        h.protocol != want->protocol || h.V != want->V || h.E != want->E || h.H1 != want->H1 ||
        h.H2 != want->H2 || h.T != want->T || h.N != want->N || h.window != want->window ||
        h.combine != want->combine ||
        h.stride != want->stride || h.max_windows != want->max_windows || h.dedup != want->dedup ||
        h.wpt != want->wpt || h.seed != want->seed || h.data_crc != want->data_crc ||
        h.pos_weight != want->pos_weight || h.ema != want->ema ||
        h.call_dropout != want->call_dropout || h.val_frac != want->val_frac ||
        h.lr != want->lr || h.lr_cosine_epochs != want->lr_cosine_epochs || h.bag != want->bag ||
        h.weight_decay != want->weight_decay || h.distill != want->distill ||
        h.dropout != want->dropout || h.pretrain != want->pretrain ||
        h.pretrain_lr != want->pretrain_lr ||
        h.outputs != want->outputs ||
        h.training != want->training ||
        h.nparam != want->nparam) {
        mal_error_set(e, "%s: the checkpoint was made with other settings or data (seed, "
                      "protocol, window, trace score's combine rule, activation, weight average, call dropout, validation "
                      "share, learning rate, the cosine schedule's epochs, bag size, weight decay, "
                      "distillation, dropout, pretraining, joint training and its loss, or data checksum differ)", path);
        goto out;
    }
    size_t np = h.nparam, O = (size_t)h.outputs;
    if (h.hist_n < 0 || h.hist_n > MT_MAX_EPOCHS || (size_t)len != ck_size(&h)) {
        mal_error_set(e, "%s: corrupt checkpoint (size)", path);
        goto out;
    }
    const unsigned char *q = buf + 8 + sizeof h;
    s->h = h;
    for (size_t o = 0; o < O; o++) {
        s->hist[o].n = h.hist_n;
        memcpy(s->hist[o].e, q, (size_t)h.hist_n * sizeof(mt_epoch)), q += (size_t)h.hist_n * sizeof(mt_epoch);
        memcpy(&s->bests[o], q, sizeof(ck_best)), q += sizeof(ck_best);
    }
    float *arr[CK_ARRAYS] = {s->p, s->m, s->v, s->ema};
    for (int i = 0; i < CK_ARRAYS; i++)
        memcpy(arr[i], q, np * sizeof(float)), q += np * sizeof(float);
    memcpy(s->best, q, O * np * sizeof(float));
    rc = 1;
out:
    free(buf);
    return rc;
}

/* ---- Platt scaling: fit p = sigm(a l + b) to the validation windows
 * (label of their trace, weight 1/windows of the trace), Newton's method
 * on the weighted log loss, with a small ridge to keep it defined when the
 * classes separate. */
static void platt(const float *lg, const long *woff, const int *y, int n, float *a_out, float *b_out)
{
    double a = 1, b = 0;
    for (int it = 0; it < 100; it++) {
        double ga = 1e-3 * (a - 1), gb = 1e-3 * b, haa = 1e-3, hab = 0, hbb = 1e-3;
        for (int i = 0; i < n; i++) {
            long c = woff[i + 1] - woff[i];
            for (long w = woff[i]; w < woff[i + 1]; w++) {
                double l = lg[w], p = 1 / (1 + exp(-(a * l + b))), wt = 1.0 / (double)c;
                double r = (p - y[i]) * wt, q = p * (1 - p) * wt;
                ga += r * l, gb += r;
                haa += q * l * l, hab += q * l, hbb += q;
            }
        }
        double det = haa * hbb - hab * hab;
        if (!(det > 0))
            break;
        double da = (hbb * ga - hab * gb) / det, db = (haa * gb - hab * ga) / det;
        a -= da, b -= db;
        if (fabs(da) < 1e-9 && fabs(db) < 1e-9)
            break;
    }
    if (!isfinite(a) || !isfinite(b) || a <= 0 || fabs(a) > 1e3 || fabs(b) > 1e3)
        a = 1, b = 0;
    *a_out = (float)a, *b_out = (float)b;
}

/* ---- Standardisation: a, b such that a l + b has weighted mean 0 and
 * standard deviation 1 over the validation windows (weight 1/windows of
 * the trace, as in platt()). It uses no labels, so it is fitted on all
 * validation traces rather than on the ten positives Platt leans on; it
 * puts the eight models' logits on one scale before the vote. */
static void standardise(const float *lg, const long *woff, int n, float *a_out, float *b_out)
{
    double sw = 0, m = 0, v = 0;
    for (int i = 0; i < n; i++) {
        long c = woff[i + 1] - woff[i];
        for (long w = woff[i]; w < woff[i + 1]; w++)
            sw += 1.0 / (double)c, m += lg[w] / (double)c;
    }
    if (!(sw > 0)) {
        *a_out = 1, *b_out = 0;
        return;
    }
    m /= sw;
    for (int i = 0; i < n; i++) {
        long c = woff[i + 1] - woff[i];
        for (long w = woff[i]; w < woff[i + 1]; w++)
            v += (lg[w] - m) * (lg[w] - m) / (double)c;
    }
    double sd = sqrt(v / sw);
    if (!(sd > 1e-3) || !isfinite(sd) || !isfinite(m)) {   /* a constant model: leave it alone */
        *a_out = 1, *b_out = 0;
        return;
    }
    *a_out = (float)(1 / sd), *b_out = (float)(-m / sd);
}

double mt_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

uint64_t mt_mix(uint64_t a, uint64_t b)
{
    uint64_t x = a * 0x9e3779b97f4a7c15ull ^ (b + 0x632be59bd9b4e019ull);
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ull;
    return x ^ (x >> 29);
}

/* AdamW's decoupled decay: every weight matrix and the embedding shrink
 * toward 0; the biases (the forget gates' 1 among them) do not */
static void decay_weights(mt_net *n, double rate)
{
    static const int groups[] = {MT_EMB, MT_WX1, MT_WH1, MT_WX2, MT_WH2, MT_DW};
    float keep = (float)(1.0 - rate);
    for (size_t k = 0; k < sizeof groups / sizeof groups[0]; k++)
        for (size_t i = n->off[groups[k]]; i < n->off[groups[k] + 1]; i++)
            n->p[i] *= keep;
}

/* Softmax heads: subtract the mean over heads from each dense weight and
 * bias. The softmax is unchanged (every logit moves by the same amount), and
 * the logits' free common offset, which Adam would let drift, stays 0: head
 * t's logit is log p_t less the mean of the eight log p. */
static void centre_heads(mt_net *n)
{
    int O = mt_net_outputs(n), H = n->s.H2;
    float *dw = n->p + n->off[MT_DW], *db = n->p + n->off[MT_DB];
    for (int j = 0; j <= H; j++) {   /* j == H: the biases */
        double m = 0;
        for (int o = 0; o < O; o++)
            m += j < H ? dw[(size_t)o * H + j] : db[o];
        m /= O;
        for (int o = 0; o < O; o++)
            if (j < H)
                dw[(size_t)o * H + j] -= (float)m;
            else
                db[o] -= (float)m;
    }
}

/* Exponential moving average of the weights (Polyak averaging): a = d a +
 * (1 - d) p after every Adam step. Small data makes the live weights of any
 * one epoch noisy; their average is what the validation picks from. */
static void ema_update(float *a, const float *p, size_t n, float d)
{
    for (size_t i = 0; i < n; i++)
        a[i] = d * a[i] + (1 - d) * p[i];
}

/* The type output o of a network stands for: `type`, or o itself when the
 * network holds the eight types (MT_JOINT). */
static int output_type(int type, int o)
{
    return type == MT_JOINT ? o : type;
}

/* Validation of every output: trace probabilities (no calibration),
 * unweighted log loss, AUC, into loss[O] and auc[O]. */
static int validate(mt_net *net, const mal_scoring *r, const mt_data *d, int type, const int *val,
                    int nval, double *loss, double *auc, mal_error *e)
{
    int O = mt_net_outputs(net);
    for (int o = 0; o < O; o++)
        loss[o] = NAN, auc[o] = NAN;
    if (nval == 0)
        return 0;
    float *lg, *probs = malloc(sizeof(float) * (size_t)nval);
    int *y = malloc(sizeof(int) * (size_t)nval);
    long *woff;
    if (!probs || !y) {
        free(probs), free(y);
        return mal_error_set(e, "out of memory");
    }
    if (window_logits(net, r, d, val, nval, &lg, &woff, e) < 0) {
        free(probs), free(y);
        return -1;
    }
    for (int o = 0; o < O; o++) {
        combine(r, 1, 0, lg, O, o, woff, nval, probs);
        double l = 0;
        for (int i = 0; i < nval; i++) {
            y[i] = d->t[val[i]].label == output_type(type, o);
            double p = probs[i] < 1e-7f ? 1e-7 : probs[i] > 1 - 1e-7f ? 1 - 1e-7 : probs[i];
            l -= y[i] ? log(p) : log(1 - p);
        }
        loss[o] = l / nval;
        auc[o] = mal_roc_auc(probs, y, (size_t)nval);
    }
    free(probs), free(y), free(lg), free(woff);
    return 0;
}

static char *training_record(const mt_opts *o, const mt_data *d, int type, int nfit, int nval,
                             const mt_history *h, int best, float ca, float cb, double posw)
{
    cJSON *j = cJSON_CreateObject();
    char crc[16];
    snprintf(crc, sizeof crc, "%08x", d->crc);
    cJSON_AddStringToObject(j, "trainer", "maltrain (oneDNN matmul LSTM)");
    cJSON_AddStringToObject(j, "protocol", o->protocol == MT_PROTOCOL_PAPER ? "paper" : "default");
    cJSON_AddStringToObject(j, "data_crc32", crc);
    if (type != MT_JOINT && o->init && o->pretrain > 0) {
        cJSON_AddStringToObject(j, "network", "pretrained: trained for this type from layers "
                                "pretrained on next-call prediction over the fit traces");
        cJSON_AddNumberToObject(j, "pretrain_epochs", o->pretrain);
        cJSON_AddNumberToObject(j, "pretrain_lr", o->pretrain_lr);
    } else if (type != MT_JOINT && o->init)
        cJSON_AddStringToObject(j, "network", "fine-tuned: trained for this type from a joint "
                                "network of the eight types (its layers and this type's head)");
    else if (type == MT_JOINT && o->joint == MT_TRAIN_SOFTMAX)
        cJSON_AddStringToObject(j, "network", "joint softmax: one network trained for the eight "
                                "types, its heads one softmax classifier; this model is its layers "
                                "and this type's head");
    else if (type == MT_JOINT)
        cJSON_AddStringToObject(j, "network", "joint: one network trained for the eight types, a "
                                "head each; this model is its layers and this type's head");
    cJSON_AddNumberToObject(j, "seed", (double)o->seed);
    cJSON_AddNumberToObject(j, "epochs", h->n);
    cJSON_AddNumberToObject(j, "best_epoch", best);
    cJSON_AddNumberToObject(j, "train_traces", nfit);
    cJSON_AddNumberToObject(j, "val_traces", nval);
    cJSON_AddNumberToObject(j, "batch", o->batch);
    cJSON_AddNumberToObject(j, "windows_per_trace", o->windows_per_trace);
    cJSON_AddNumberToObject(j, "pos_weight", posw);
    cJSON_AddNumberToObject(j, "weight_average_decay", o->ema);
    cJSON_AddNumberToObject(j, "call_dropout", o->call_dropout);
    char opt[96];
    snprintf(opt, sizeof opt, "adam%s lr %g%s b1 0.9 b2 0.999 eps 1e-07", o->weight_decay > 0 ? "w" : "",
             o->lr, o->lr_cosine ? " cosine to 0" : "");
    cJSON_AddNumberToObject(j, "weight_decay", o->weight_decay);
    cJSON_AddStringToObject(j, "optimizer", opt);
    if (o->bag > 1) {
        char loss[96];
        snprintf(loss, sizeof loss, "binary log loss of the mean logit of bags of %d windows", o->bag);
        cJSON_AddStringToObject(j, "loss", loss);
        cJSON_AddNumberToObject(j, "bag", o->bag);
    } else {
        cJSON_AddStringToObject(j, "loss", "binary log loss");
    }
    if (o->dropout > 0)   /* only when on, so a default run's file is what it was before */
        cJSON_AddNumberToObject(j, "dropout", o->dropout);
    if (o->distill > 0)   /* the teacher never reaches the file; its share of the targets does */
        cJSON_AddNumberToObject(j, "distill", o->distill);
    cJSON_AddBoolToObject(j, "calibrated", o->calibrate != MT_CALIB_NONE);
    cJSON_AddStringToObject(j, "calibration", o->calibrate == MT_CALIB_PLATT      ? "platt"
                                              : o->calibrate == MT_CALIB_STANDARD ? "standard"
                                                                                  : "none");
    if (best >= 1 && best <= h->n) {
        cJSON *v = cJSON_AddObjectToObject(j, "val");
        cJSON_AddNumberToObject(v, "auc", isfinite(h->e[best - 1].val_auc) ? h->e[best - 1].val_auc : -1);
        cJSON_AddNumberToObject(v, "loss", isfinite(h->e[best - 1].val_loss) ? h->e[best - 1].val_loss : -1);
    }
    cJSON_AddNumberToObject(j, "calib_a", ca);
    cJSON_AddNumberToObject(j, "calib_b", cb);
    cJSON *hist = cJSON_AddArrayToObject(j, "history");
    for (int i = 0; i < h->n; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddNumberToObject(x, "epoch", h->e[i].epoch);
        cJSON_AddNumberToObject(x, "loss", isfinite(h->e[i].loss) ? h->e[i].loss : -1);
        cJSON_AddNumberToObject(x, "val_loss", isfinite(h->e[i].val_loss) ? h->e[i].val_loss : -1);
        cJSON_AddNumberToObject(x, "val_auc", isfinite(h->e[i].val_auc) ? h->e[i].val_auc : -1);
        cJSON_AddItemToArray(hist, x);
    }
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return s;
}

int mt_bag_fits(const mt_opts *o)
{
    int B = o->bag;
    return B <= 1 || (o->rule.stride > 0 && o->windows_per_trace % B == 0 && B <= o->batch);
}

double mt_lr_at(const mt_opts *o, int ep, long b, long nb)
{
    if (!o->lr_cosine)
        return o->lr;
    double k = (double)ep * (double)nb + (double)b, K = (double)o->epochs * (double)nb;
    const double pi = 3.14159265358979323846;
    return 0.5 * o->lr * (1.0 + cos(pi * k / K));
}

int mt_train_model(const mt_data *d, int type, const int *fit, int nfit, const int *val, int nval,
                   const mt_opts *o, mt_progress_fn progress, void *pctx, mal_model *out,
                   mt_history *hist, mt_result *res, mal_error *e)
{
    const int O = type == MT_JOINT ? MT_NTYPES : 1;   /* outputs of the network */
    memset(res, 0, sizeof *res * (size_t)O);
    memset(out, 0, sizeof *out * (size_t)O);
    const mal_scoring *r = &o->rule;
    if (type != MT_JOINT && (type < 0 || type >= MT_NTYPES))
        return mal_error_set(e, "unknown type %d", type);
    if (r->window < 1 || r->window > MAL_MAX_WINDOW)
        return mal_error_set(e, "window must be 1..%d, got %d", MAL_MAX_WINDOW, r->window);
    if (o->epochs < 1 || o->epochs > MT_MAX_EPOCHS)
        return mal_error_set(e, "epochs must be 1..%d, got %d", MT_MAX_EPOCHS, o->epochs);
    if (r->stride > 0 && !r->dedup)
        return mal_error_set(e, "windows with a stride need de-duplicated traces");
    if (nfit < 1)
        return mal_error_set(e, "no training traces");
    if (!(o->distill >= 0 && o->distill <= 1) || (o->distill > 0 && !o->soft))
        return mal_error_set(e, "distillation needs a share in 0..1 (got %g) and the teacher's targets",
                             o->distill);
    int B = o->bag > 1 ? o->bag : 1;   /* windows per bag */
    if (!mt_bag_fits(o))
        return mal_error_set(e, "bags of %d windows need a rule with a stride, windows per trace "
                             "a multiple of %d (got %d) and at most %d (the batch)", B, B,
                             o->windows_per_trace, o->batch);
    if (B > 1 && O > 1)
        return mal_error_set(e, "bags of windows need one model per type, not joint training");
    if (o->init && O > 1)
        return mal_error_set(e, "joint training starts from a seeded init, not from a model");
    const int smax = O > 1 && o->joint == MT_TRAIN_SOFTMAX;
    double posw[MT_NTYPES];   /* per output: its positives' weight (softmax: its class's) */
    for (int k = 0; k < O; k++) {
        int t = output_type(type, k), npos = 0;
        for (int i = 0; i < nfit; i++)
            npos += d->t[fit[i]].label == t;
        if (npos == 0 || npos == nfit)
            return mal_error_set(e, "type %s: the training traces hold no %s examples",
                                 mt_type_names[t], npos ? "negative" : "positive");
        if (smax)   /* balanced: every class weighs as much in total */
            posw[k] = o->pos_weight > 0 ? 1 : (double)nfit / ((double)O * npos);
        else
            posw[k] = o->pos_weight > 0 ? o->pos_weight : (double)(nfit - npos) / npos;
    }

    mt_shape s = {.V = d->vocab.size, .E = o->embed, .H1 = o->h1, .H2 = o->h2, .T = r->window,
                  .N = o->batch, .act = o->act, .pool = o->pool, .O = O};
    mt_net net;
    mt_adam adam = {0};
    if (mt_net_init(&net, &s, e) < 0)
        return -1;
    if (o->init) {   /* fine-tuning: the given weights, not a seeded init */
        if (mt_net_from_model(&net, o->init, e) < 0) {
            mt_net_free(&net);
            return -1;
        }
    } else {
        mt_net_init_params(&net, mt_mix(mt_mix(o->seed, (uint64_t)type + 1), (uint64_t)o->act + 17));
        if (smax)
            centre_heads(&net);
    }
    ck_best bests[MT_NTYPES] = {{0}};
    for (int k = 0; k < O; k++)
        bests[k].auc = -1;
    train_state st = {.hist = hist, .bests = bests};
    int rc = -1;
    size_t np = net.nparam;
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)s.T * s.N);
    int *bag = malloc(sizeof(int) * (size_t)s.N);
    float *y = malloc(sizeof(float) * (size_t)s.N * O), *w = malloc(sizeof(float) * (size_t)s.N * O);
    float *best = malloc(sizeof(float) * np * O);
    float *ema = malloc(sizeof(float) * np), *live = malloc(sizeof(float) * np);
    long nsamp_max = (long)nfit * (o->windows_per_trace > 0 ? o->windows_per_trace : 1);
    mt_sample *smp = malloc(sizeof(mt_sample) * (size_t)nsamp_max);
    if (!ids || !bag || !y || !w || !best || !ema || !live || !smp || mt_adam_init(&adam, np, e) < 0) {
        if (!e || !e->msg[0])
            mal_error_set(e, "out of memory");
        goto out;
    }
    for (int k = 0; k < O; k++) {
        memcpy(best + (size_t)k * np, net.p, sizeof(float) * np);
        hist[k].n = 0;
    }
    memcpy(ema, net.p, sizeof(float) * np);
    st.h = (ck_head){.version = CK_VERSION, .type = type, .act = o->act, .pool = o->pool,
                     .protocol = o->protocol, .V = s.V, .E = s.E, .H1 = s.H1, .H2 = s.H2, .T = s.T,
                     .N = s.N, .window = r->window, .stride = r->stride,
                     .max_windows = r->max_windows, .dedup = r->dedup,
                     .combine = (int32_t)r->combine, .wpt = o->windows_per_trace,
                     .outputs = O, .seed = o->seed, .data_crc = d->crc,
                     .pos_weight = O == 1 ? posw[0] : o->pos_weight, .ema = o->ema,
                     .call_dropout = o->call_dropout, .val_frac = o->val_frac, .lr = o->lr,
                     .weight_decay = o->weight_decay, .distill = o->distill,
                     .dropout = o->dropout,
                     .pretrain = o->init && o->pretrain > 0 ? o->pretrain : 0,
                     .pretrain_lr = o->init && o->pretrain > 0 ? o->pretrain_lr : 0,
                     .lr_cosine_epochs = o->lr_cosine ? o->epochs : 0,
                     .bag = B > 1 ? B : 0,
                     .training = O > 1 ? o->joint : o->init ? MT_TRAIN_FINETUNE : 0, .nparam = np};
    st.p = net.p, st.m = adam.m, st.v = adam.v, st.best = best, st.ema = ema;
    if (o->resume && o->ckpt_path) {
        ck_head want = st.h;
        int k = ck_load(o->ckpt_path, &st, &want, e);
        if (k < 0)
            goto out;
        if (k == 1)
            adam.step = st.h.adam_step;
    }
    for (int ep = st.h.epoch_done; ep < o->epochs; ep++) {
        double t0 = mt_now_s();
        /* this epoch's samples and order depend only on (seed, type, epoch),
         * so a resumed run draws the same ones */
        mt_rng rng;
        mt_rng_seed(&rng, mt_mix(mt_mix(o->seed, (uint64_t)type + 101), (uint64_t)ep));
        long ns = mt_draw_samples(d, r, o->windows_per_trace, B, fit, nfit, &rng, smp);
        long per_batch = (long)(s.N / B) * B;
        long nb = (ns + per_batch - 1) / per_batch;
        for (long b = st.h.batch_done; b < nb; b++) {
            int rows = 0;
            for (long q = b * per_batch; q < ns && rows < per_batch; q++, rows++) {
                bag[rows] = (int)(q / B);
                const mt_trace *t = &d->t[smp[q].trace];
                fill_row(r, t, 0, smp[q].start, ids + (size_t)rows * s.T, s.T);
                if (o->call_dropout > 0)
                    drop_calls(ids + (size_t)rows * s.T, s.T, o->call_dropout,
                               mt_mix(mt_mix(mt_mix(o->seed, (uint64_t)type + 201), (uint64_t)ep),
                                      (uint64_t)q));
                const float *soft = o->distill > 0 ? o->soft + (size_t)smp[q].trace * MT_NTYPES : NULL;
                for (int k = 0; k < O; k++) {
                    int pos = t->label == output_type(type, k);
                    /* distillation: the label blended with the teacher's probability;
                     * the weight stays the label's */
                    y[(size_t)rows * O + k] = soft ? (float)((1 - o->distill) * pos + o->distill * soft[output_type(type, k)])
                                                   : (float)pos;
                    /* softmax: the row's class weight in every column */
                    w[(size_t)rows * O + k] = smax ? (float)posw[t->label] : pos ? (float)posw[k] : 1.0f;
                }
            }
            for (int q = rows; q < s.N; q++) {
                for (int j = 0; j < s.T; j++)
                    ids[(size_t)q * s.T + j] = -1;
                for (int k = 0; k < O; k++)
                    y[(size_t)q * O + k] = 0, w[(size_t)q * O + k] = 0;
                bag[q] = -1 - q;
            }
            /* dropout's masks depend only on (seed, type, epoch, batch), as the
             * windows do, so a resumed run draws the same ones */
            net.dropout = (float)o->dropout;
            net.drop_seed = mt_mix(mt_mix(mt_mix(o->seed, (uint64_t)type + 301), (uint64_t)ep), (uint64_t)b);
            int frc = mt_net_forward(&net, ids, NULL, e);
            net.dropout = 0;   /* validation and scoring see the whole network */
            if (frc < 0)
                goto out;
            double l = B > 1  ? mt_net_backward_bags(&net, y, w, bag, rows / B)
                       : smax ? mt_net_backward_softmax(&net, y, w, rows)
                              : mt_net_backward(&net, y, w, rows);
            if (!isfinite(l)) {
                mal_error_set(e, "type %s: loss is not finite at epoch %d batch %ld",
                              type == MT_JOINT ? "(joint)" : mt_type_names[type], ep + 1, b + 1);
                goto out;
            }
            adam.lr = (float)mt_lr_at(o, ep, b, nb);
            mt_adam_update(&adam, net.p, net.g, np);
            if (o->weight_decay > 0)
                decay_weights(&net, adam.lr * o->weight_decay);
            if (smax)
                centre_heads(&net);
            if (o->ema > 0)
                ema_update(ema, net.p, np, (float)o->ema);
            st.h.loss_sum += l;
            st.h.nbatches++;
            st.h.batch_done = (int32_t)(b + 1);
            if (o->stop && *o->stop && b + 1 < nb) {
                st.h.epoch_done = ep;
                st.h.adam_step = adam.step;
                st.h.hist_n = hist[0].n;
                if (o->ckpt_path && ck_save(o->ckpt_path, &st, e) < 0)
                    goto out;
                res->interrupted = 1;
                rc = 0;
                goto out;
            }
        }
        double t_train = mt_now_s() - t0;
        /* with a weight average, it is what is validated and kept; the live
         * weights go on training */
        if (o->ema > 0) {
            memcpy(live, net.p, sizeof(float) * np);
            memcpy(net.p, ema, sizeof(float) * np);
        }
        double vloss[MT_NTYPES], vauc[MT_NTYPES];
        int vrc = validate(&net, r, d, type, val, nval, vloss, vauc, e);
        double t_all = mt_now_s() - t0;
        for (int k = 0; k < O && vrc == 0; k++) {
            /* the loss is the network's: with O heads, the sum of theirs */
            mt_epoch E = {.epoch = ep + 1, .train_seconds = t_train, .seconds = t_all,
                          .loss = st.h.nbatches ? st.h.loss_sum / st.h.nbatches : NAN,
                          .val_loss = vloss[k], .val_auc = vauc[k]};
            hist[k].e[hist[k].n++] = E;
            /* best epoch: highest validation AUC (first one wins ties);
             * without a validation split, the last epoch */
            if (nval == 0 || bests[k].epoch == 0 || (isfinite(E.val_auc) && E.val_auc > bests[k].auc)) {
                bests[k].epoch = ep + 1;
                bests[k].auc = isfinite(E.val_auc) ? E.val_auc : -1;
                memcpy(best + (size_t)k * np, net.p, sizeof(float) * np);
            }
        }
        if (o->ema > 0)
            memcpy(net.p, live, sizeof(float) * np);
        if (vrc < 0)
            goto out;
        st.h.epoch_done = ep + 1;
        st.h.batch_done = 0;
        st.h.loss_sum = 0;
        st.h.nbatches = 0;
        st.h.adam_step = adam.step;
        st.h.hist_n = hist[0].n;
        if (o->ckpt_path && ck_save(o->ckpt_path, &st, e) < 0)
            goto out;
        if (progress)
            for (int k = 0; k < O; k++)
                progress(pctx, mt_type_names[output_type(type, k)], o->act, &hist[k].e[hist[k].n - 1],
                         o->epochs, bests[k].epoch);
        if (o->stop && *o->stop && ep + 1 < o->epochs) {
            res->interrupted = 1;
            rc = 0;
            goto out;
        }
    }
    /* the models: per output, its best epoch's weights, the rule, calibration */
    int made = 0;
    for (; made < O; made++) {
        int k = made, t = output_type(type, k);
        memcpy(net.p, best + (size_t)k * np, sizeof(float) * np);
        float ca = 1, cb = 0;
        if (o->calibrate && nval > 0) {
            float *lg;
            long *woff;
            int *yy = malloc(sizeof(int) * (size_t)nval);
            if (!yy || window_logits(&net, r, d, val, nval, &lg, &woff, e) < 0) {
                free(yy);
                break;
            }
            /* column k, in place: window w's logit moves from w O + k to w */
            for (long i = 0; i < woff[nval]; i++)
                lg[i] = lg[(size_t)i * O + k];
            for (int i = 0; i < nval; i++)
                yy[i] = d->t[val[i]].label == t;
            if (o->calibrate == MT_CALIB_STANDARD)
                standardise(lg, woff, nval, &ca, &cb);
            else
                platt(lg, woff, yy, nval, &ca, &cb);
            free(lg), free(woff), free(yy);
        }
        mal_model *m = &out[k];
        if (mal_model_alloc(m, &d->vocab, mt_type_names[t], s.E, s.H1, s.H2, o->act, e) < 0)
            break;
        m->pool = o->pool;
        m->scoring = *r;
        m->scoring.calib_a = ca, m->scoring.calib_b = cb;
        if (mt_net_head_to_model(&net, k, m, e) < 0) {
            mal_model_free(m);
            break;
        }
        m->training_json = training_record(o, d, type, nfit, nval, &hist[k], bests[k].epoch, ca, cb, posw[k]);
        if (!m->training_json) {
            mal_model_free(m);
            mal_error_set(e, "out of memory");
            break;
        }
        res[k].best_epoch = bests[k].epoch;
        res[k].best_auc = bests[k].auc;
    }
    if (made < O) {
        for (int k = 0; k < made; k++)
            mal_model_free(&out[k]);
        goto out;
    }
    rc = 0;
out:
    free(ids), free(bag), free(y), free(w), free(best), free(ema), free(live), free(smp);
    mt_adam_free(&adam);
    mt_net_free(&net);
    return rc;
}
