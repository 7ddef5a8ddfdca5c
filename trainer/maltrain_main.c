/* maltrain_main.c - the maltrain command line: train, eval and merge. The
 * only trainer file that prints or exits. */
#define _XOPEN_SOURCE 700   /* realpath */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "dataset.h"
#include "metrics.h"
#include "model.h"
#include "model_merge.h"
#include "net.h"
#include "ngram_teacher.h"
#include "pretrain.h"
#include "train.h"

static const char *usage_text =
    "usage: maltrain train --data DIR [--split FILE] [--out DIR] [--types LIST]\n"
    "                      [--protocol paper|default] [--activation tanh|sigmoid|softsign|softmax|auto]\n"
    "                      [--epochs N] [--window N] [--seed N] [--threads N] [--resume]\n"
    "                      [--folds K]\n"
    "       maltrain eval  --models DIR --data DIR [--split FILE] [--json] [--threads N]\n"
    "       maltrain merge --out DIR MODELS_DIR MODELS_DIR [...]\n"
    "\n"
    "train: one one-vs-rest LSTM per type (all eight by default) -> OUT/models/<Type>.json,\n"
    "       <Type>.metrics.csv and a checkpoint <Type>.ckpt after every epoch (--resume\n"
    "       continues from it; Ctrl-C finishes the batch, checkpoints and exits 130).\n"
    "       --split trains on the `train` lines only; with --val-frac F, F of them\n"
    "       (stratified, by --seed) pick the best epoch by validation ROC-AUC. --folds K:\n"
    "       stratified K-fold cross-validation of the protocol on the train part (prints\n"
    "       mean and spread).\n"
    "       Tuning (the default protocol's values): --embed N (16), --hidden N (100),\n"
    "       --members N (1: N networks of --embed/--hidden each, init seeds --init-seed\n"
    "       + 0..N-1, merged into one model N times as wide whose window logit is their\n"
    "       mean, as `merge` does; softmax trains one network that wide),\n"
    "       --windows-per-trace N (16), --bag K (1: each training window its own\n"
    "       loss; K > 1: a trace's windows go in bags of K and the loss is taken on\n"
    "       the mean of a bag's logits; K divides --windows-per-trace, at most 50),\n"
    "       --stride N (100), --max-windows N (32),\n"
    "       --training per-type|joint|softmax|finetune (per-type: a network per type;\n"
    "       joint: one network with a head per type, trained at once on the eight\n"
    "       binary losses, about 6x faster on the sample, lower CV macro-F1; softmax:\n"
    "       the same network, its heads one softmax over the eight types; either way\n"
    "       each type's model file is the shared layers and its head; finetune: joint,\n"
    "       then per-type training started from it; checkpoint OUT/models/joint.ckpt;\n"
    "       not with --activation auto, --members or --bag),\n"
    "       --pos-weight W (0 = balanced),\n"
    "       --pool last|mean (mean), --combine mean|max (mean: a trace's score is the\n"
    "       mean or the max of its window probabilities), --calibration\n"
    "       platt|standard|none (none; fitted on the validation split: platt = Platt\n"
    "       scaling to its labels, standard = each model's logits scaled to mean 0, sd 1\n"
    "       there), --no-calibration (= none),\n"
    "       --ema D (0 = off: keep the live weights; else\n"
    "       validate and keep their moving average, decay D per batch), --call-dropout Q\n"
    "       (0 = off: training windows lose each call with probability Q), --dropout P\n"
    "       (0 = off: in training, layer 1's outputs and the pooled vector lose each\n"
    "       value with probability P, the rest scaled by 1/(1-P); the model file is\n"
    "       used as it is), --pretrain N (0 = off; N epochs of next-call prediction\n"
    "       on windows of the fit traces, no labels, train the layers every type's\n"
    "       training then starts from; redone in full by --resume), --pretrain-lr R\n"
    "       (Adam's rate while pretraining, 0.004), --val-frac F\n"
    "       (0.15; 0: no validation split, every training trace is fitted and the last\n"
    "       epoch is kept; --activation auto and --calibration need a split), --epochs N\n"
    "       (15; paper 30), --lr R (Adam's rate, 0.001), --weight-decay D (0 = off;\n"
    "       AdamW: after each batch the weights, not the biases, shrink by R * D),\n"
    "       --distill A (0 = off; a training window's target is (1 - A) x its label +\n"
    "       A x an n-gram teacher's probability: TF-IDF 1..3-grams and liblinear\n"
    "       logistic regression, scored out of fold on the fit traces; the teacher\n"
    "       shapes training only and is not in the model file),\n"
    "       --lr-schedule constant|cosine\n"
    "       (constant; cosine anneals the rate to 0 over the run), --init-seed N (the\n"
    "       initial weights and training windows; default --seed, which still fixes\n"
    "       the folds and the validation split), --scores-out FILE (with --folds: every\n"
    "       fold's held-out scores as CSV: fold, trace line, type, eight scores).\n"
    "merge: a seed ensemble as one model per type: runs trained alike (other --init-seed)\n"
    "       become one network as wide as all of them, whose window logit is the mean\n"
    "       of theirs (block-diagonal weights; same file format, compiler and scanner).\n"
    "       Writes DIR/<Type>.json for every type of the first MODELS_DIR.\n"
    "eval:  per type accuracy, precision, recall, F1, ROC-AUC; eight-way argmax accuracy,\n"
    "       macro-F1, confusion matrix (rows true, columns predicted). --split scores the\n"
    "       `test` lines.\n";

static volatile sig_atomic_t g_stop = 0;

static void on_sigint(int sig)
{
    (void)sig;
    g_stop = 1;
    signal(SIGINT, SIG_DFL);   /* a second Ctrl-C kills */
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "maltrain: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (try 'maltrain --help')\n");
    return 2;
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* A whole-string real in [lo, hi] ([lo, hi) when hi_open); NaN never passes. */
static int parse_real(const char *s, double lo, double hi, int hi_open, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= lo) || !(hi_open ? v < hi : v <= hi))
        return -1;
    *out = v;
    return 0;
}

static int mkdir_p(const char *path)
{
    char buf[4096];
    if (strlen(path) >= sizeof buf)
        return -1;
    strcpy(buf, path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(buf, 0777) < 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return (mkdir(buf, 0777) < 0 && errno != EEXIST) ? -1 : 0;
}

typedef struct prog {
    double start;
    int total_runs, run;   /* models (type x activation) to train, current */
} prog;

static void progress(void *ctx, const char *type, mal_act act, const mt_epoch *ep, int epochs,
                     int best)
{
    prog *p = ctx;
    double done = p->run + (double)ep->epoch / epochs, el = mt_now_s() - p->start;
    double eta = done > 0 ? el * (p->total_runs - done) / done : 0;
    char val[64] = "no validation";
    if (isfinite(ep->val_auc))
        snprintf(val, sizeof val, "val_loss %.4f  val_auc %.4f", ep->val_loss, ep->val_auc);
    fprintf(stderr, "[%s %s] epoch %d/%d  loss %.4f  %s  best %d  %.1fs (train %.2fs)  ETA %dm%02ds\n",
            type, mal_act_name(act), ep->epoch, epochs, ep->loss, val, best, ep->seconds,
            ep->train_seconds, (int)eta / 60, (int)eta % 60);
}

/* ---- per-type and eight-way metrics ---- */
typedef struct evalres {
    double acc[MT_NTYPES], prec[MT_NTYPES], rec[MT_NTYPES], f1[MT_NTYPES], auc[MT_NTYPES];
    mal_confusion conf;
    double acc8, macro_f1;
} evalres;

static void evaluate(float *const probs[MT_NTYPES], const mt_data *d, const int *idx, int n,
                     evalres *r)
{
    int *y = malloc(sizeof(int) * (size_t)n);
    for (int t = 0; t < MT_NTYPES; t++) {
        long tp = 0, fp = 0, fn = 0, tn = 0;
        for (int i = 0; i < n; i++) {
            y[i] = d->t[idx[i]].label == t;
            int pr = probs[t][i] >= 0.5f;
            tp += pr && y[i], fp += pr && !y[i], fn += !pr && y[i], tn += !pr && !y[i];
        }
        r->acc[t] = n ? (double)(tp + tn) / n : NAN;
        r->prec[t] = tp + fp ? (double)tp / (tp + fp) : 0;
        r->rec[t] = tp + fn ? (double)tp / (tp + fn) : 0;
        r->f1[t] = r->prec[t] + r->rec[t] > 0 ? 2 * r->prec[t] * r->rec[t] / (r->prec[t] + r->rec[t]) : 0;
        r->auc[t] = mal_roc_auc(probs[t], y, (size_t)n);
    }
    free(y);
    mal_confusion_init(&r->conf, MT_NTYPES);
    for (int i = 0; i < n; i++) {
        int best = 0;
        for (int t = 1; t < MT_NTYPES; t++)
            if (probs[t][i] > probs[best][i])
                best = t;
        mal_confusion_add(&r->conf, d->t[idx[i]].label, best);
    }
    r->acc8 = mal_confusion_accuracy(&r->conf);
    r->macro_f1 = mal_confusion_macro_f1(&r->conf);
}

static void print_eval(const evalres *r, int n, int json)
{
    if (json) {
        cJSON *j = cJSON_CreateObject(), *pt = cJSON_AddObjectToObject(j, "per_type");
        cJSON_AddNumberToObject(j, "n", n);
        for (int t = 0; t < MT_NTYPES; t++) {
            cJSON *o = cJSON_AddObjectToObject(pt, mt_type_names[t]);
            cJSON_AddNumberToObject(o, "accuracy", r->acc[t]);
            cJSON_AddNumberToObject(o, "precision", r->prec[t]);
            cJSON_AddNumberToObject(o, "recall", r->rec[t]);
            cJSON_AddNumberToObject(o, "f1", r->f1[t]);
            cJSON_AddNumberToObject(o, "roc_auc", isfinite(r->auc[t]) ? r->auc[t] : -1);
        }
        cJSON_AddNumberToObject(j, "accuracy", r->acc8);
        cJSON_AddNumberToObject(j, "macro_f1", r->macro_f1);
        cJSON *types = cJSON_AddArrayToObject(j, "types"), *cm = cJSON_AddArrayToObject(j, "confusion");
        for (int t = 0; t < MT_NTYPES; t++) {
            cJSON_AddItemToArray(types, cJSON_CreateString(mt_type_names[t]));
            cJSON *row = cJSON_CreateArray();
            for (int u = 0; u < MT_NTYPES; u++)
                cJSON_AddItemToArray(row, cJSON_CreateNumber((double)r->conf.m[t][u]));
            cJSON_AddItemToArray(cm, row);
        }
        char *s = cJSON_PrintUnformatted(j);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(j);
        return;
    }
    printf("one-vs-rest (threshold 0.5), %d traces\n", n);
    printf("%-11s %8s %9s %7s %7s %8s\n", "type", "accuracy", "precision", "recall", "F1", "ROC-AUC");
    for (int t = 0; t < MT_NTYPES; t++)
        printf("%-11s %8.3f %9.3f %7.3f %7.3f %8.3f\n", mt_type_names[t], r->acc[t], r->prec[t],
               r->rec[t], r->f1[t], r->auc[t]);
    printf("\neight-way vote (argmax): accuracy %.3f  macro-F1 %.3f\n", r->acc8, r->macro_f1);
    printf("confusion (rows true, columns predicted)\n%-11s", "");
    for (int u = 0; u < MT_NTYPES; u++)
        printf(" %5.5s", mt_type_names[u]);
    printf("\n");
    for (int t = 0; t < MT_NTYPES; t++) {
        printf("%-11s", mt_type_names[t]);
        for (int u = 0; u < MT_NTYPES; u++)
            printf(" %5ld", r->conf.m[t][u]);
        printf("\n");
    }
}

/* ---- options ---- */
typedef struct cli {
    const char *data, *split, *out, *types, *models, *scores_out;
    mt_protocol protocol;
    int auto_act, act_set, json, resume, threads, folds;
    mal_act act;
    long epochs, window, seed, init_seed, embed, hidden, members, wpt, bag, stride, max_windows, pool, calib, lr_cosine;
    long pretrain;   /* --pretrain: epochs of next-call pretraining; -1: the protocol's (0) */
    long combine;   /* --combine: MAL_COMBINE_*; -1: the protocol's (mean) */
    long joint;   /* --training: MT_TRAIN_*; -1: the protocol's (per-type) */
    double pos_weight, ema, call_dropout, dropout, val_frac, lr, weight_decay, distill, pretrain_lr;
} cli;

static void apply_overrides(const cli *c, mt_opts *o)
{
    if (c->act_set && !c->auto_act)
        o->act = c->act;
    if (c->epochs > 0)
        o->epochs = (int)c->epochs;
    if (c->window > 0) {
        o->rule.window = (int)c->window;
        if (o->rule.stride > 0 && c->stride < 0)
            o->rule.stride = (int)c->window;   /* non-overlapping by default */
    }
    /* --seed fixes the folds and the validation split; --init-seed (default:
     * the same) the initial weights and the training windows, so members of
     * a seed ensemble can share the folds */
    o->seed = (uint64_t)(c->init_seed >= 0 ? c->init_seed : c->seed);
    if (c->hidden > 0)
        o->h1 = o->h2 = (int)c->hidden;
    if (c->members > 0)
        o->members = (int)c->members;
    if (c->embed > 0)
        o->embed = (int)c->embed;
    if (c->wpt > 0)
        o->windows_per_trace = (int)c->wpt;
    if (c->bag > 0)
        o->bag = (int)c->bag;
    if (c->pretrain >= 0)
        o->pretrain = (int)c->pretrain;
    if (c->pretrain_lr > 0)
        o->pretrain_lr = c->pretrain_lr;
    if (c->stride >= 0)
        o->rule.stride = (int)c->stride;
    if (c->max_windows >= 0)
        o->rule.max_windows = (int)c->max_windows;
    if (c->pool >= 0)
        o->pool = (mal_pool)c->pool;
    if (c->combine >= 0)
        o->rule.combine = (mal_combine)c->combine;
    if (c->calib >= 0)
        o->calibrate = c->calib;
    if (c->pos_weight >= 0)
        o->pos_weight = (float)c->pos_weight;
    if (c->ema >= 0)
        o->ema = c->ema;
    if (c->call_dropout >= 0)
        o->call_dropout = c->call_dropout;
    if (c->dropout >= 0)
        o->dropout = c->dropout;
    if (c->val_frac >= 0)
        o->val_frac = c->val_frac;
    if (c->lr > 0)
        o->lr = c->lr;
    if (c->weight_decay >= 0)
        o->weight_decay = c->weight_decay;
    if (c->distill >= 0)
        o->distill = c->distill;
    if (c->lr_cosine >= 0)
        o->lr_cosine = (int)c->lr_cosine;
    if (c->joint >= 0)
        o->joint = (int)c->joint;
    o->stop = &g_stop;
}

static int load_data(const cli *c, const mt_opts *o, mt_data *d)
{
    mal_error e = {{0}};
    fprintf(stderr, "maltrain: reading %s ...\n", c->data);
    if (mt_data_load(d, c->data, c->split, o->rule.window, 1u << 20, &e) < 0) {
        fprintf(stderr, "maltrain: %s\n", e.msg);
        return -1;
    }
    fprintf(stderr, "maltrain: %d traces, %llu unknown calls skipped, crc32 %08x\n", d->n,
            (unsigned long long)d->unknown, d->crc);
    return 0;
}

static int parse_types(const char *list, int *want)
{
    if (!list) {
        for (int t = 0; t < MT_NTYPES; t++)
            want[t] = 1;
        return 0;
    }
    memset(want, 0, sizeof(int) * MT_NTYPES);
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        int k = mt_type_index(tok);
        if (k < 0) {
            fprintf(stderr, "maltrain: unknown type '%s' in --types (expected Adware, Backdoor, "
                            "Downloader, Dropper, Spyware, Trojan, Virus, Worms)\n", tok);
            return -1;
        }
        want[k] = 1;
    }
    return 0;
}

static char *path2(const char *dir, const char *type, const char *act, const char *ext)
{
    size_t n = strlen(dir) + 128;
    char *p = malloc(n);
    if (act)
        snprintf(p, n, "%s/%s.%s%s", dir, type, act, ext);
    else
        snprintf(p, n, "%s/%s%s", dir, type, ext);
    return p;
}

/* --scores-out: the held-out scores of every fold, as CSV (fold, trace's
 * line in the data directory, true type, the eight uncalibrated scores), so
 * that vote rules and seed ensembles can be compared on the same folds
 * without retraining. */
typedef struct scorebuf {
    char *buf;
    size_t len, cap;
} scorebuf;

static int append_scores(scorebuf *sc, const mt_data *d, int fold, const int *te, int nte,
                         float *const *raw)
{
    size_t need = sc->len + 256 + (size_t)nte * (32 + MT_NTYPES * 18);
    if (need > sc->cap) {
        char *nb = realloc(sc->buf, need);
        if (!nb) {
            fprintf(stderr, "maltrain: out of memory for the held-out scores\n");
            return 1;
        }
        sc->buf = nb, sc->cap = need;
    }
    if (sc->len == 0) {
        sc->len += (size_t)sprintf(sc->buf, "fold,trace,label");
        for (int t = 0; t < MT_NTYPES; t++)
            sc->len += (size_t)sprintf(sc->buf + sc->len, ",%s", mt_type_names[t]);
        sc->buf[sc->len++] = '\n';
    }
    for (int i = 0; i < nte; i++) {
        sc->len += (size_t)sprintf(sc->buf + sc->len, "%d,%d,%s", fold + 1, te[i],
                                   mt_type_names[d->t[te[i]].label]);
        for (int t = 0; t < MT_NTYPES; t++)
            sc->len += (size_t)sprintf(sc->buf + sc->len, ",%.9g", raw[t][i]);
        sc->buf[sc->len++] = '\n';
    }
    return 0;
}

/* The training record of a merged model: the members' records. */
static char *merged_record(const mal_model *mem, int n, double val_auc)
{
    cJSON *rec = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(rec, "members");
    cJSON_AddStringToObject(rec, "merged", "window logit = mean of the members' calibrated "
                            "logits (block-diagonal weights)");
    if (val_auc >= 0)
        cJSON_AddNumberToObject(rec, "val_auc", val_auc);
    for (int k = 0; k < n; k++) {
        cJSON *r = mem[k].training_json ? cJSON_Parse(mem[k].training_json) : NULL;
        cJSON_AddItemToArray(arr, r ? r : cJSON_CreateNull());
    }
    char *s = cJSON_PrintUnformatted(rec);
    cJSON_Delete(rec);
    return s;
}

/* Networks trained for one model: o->members (init seeds seed, seed+1, ...)
 * merged into one, or a single one. Softmax cannot be merged (it couples a
 * layer's units), so its single network is as wide as the members together
 * (embedding and both layers). */
static int nets_per_model(const mt_opts *o)
{
    return o->members > 1 && o->act != MAL_ACT_SOFTMAX ? o->members : 1;
}

/* Train the model of type t with options o (see nets_per_model) into *out.
 * Member k > 1 keeps its checkpoint and history as <Type>[.act].mK.*, so
 * --resume continues every member. Returns 0, 1 (error printed) or 130
 * (interrupted, checkpoints saved). */
static int train_model(const mt_opts *o, const mt_data *d, int t, const char *an, const int *fit,
                       int nfit, const int *val, int nval, const char *mdir, int save, prog *pg,
                       mal_model *out, mt_result *res)
{
    int n = nets_per_model(o), rc = 0, done = 0;
    mt_opts base = *o;
    if (o->members > 1 && n == 1)
        base.h1 *= o->members, base.h2 *= o->members, base.embed *= o->members;
    mal_model *mem = calloc((size_t)n, sizeof *mem);
    mt_history *h = calloc(1, sizeof *h);
    mal_error e = {{0}};
    if (!mem || !h) {
        free(mem), free(h);
        fprintf(stderr, "maltrain: out of memory\n");
        return 1;
    }
    for (int k = 0; k < n && rc == 0; k++) {
        mt_opts ok = base;
        ok.seed = base.seed + (uint64_t)k;
        char tag[64];
        if (k == 0)
            snprintf(tag, sizeof tag, "%s", an ? an : "");
        else
            snprintf(tag, sizeof tag, "%s%sm%d", an ? an : "", an ? "." : "", k + 1);
        const char *tg = tag[0] ? tag : NULL;
        char *ck = save ? path2(mdir, mt_type_names[t], tg, ".ckpt") : NULL;
        ok.ckpt_path = ck;
        mt_result r;
        int trc = mt_train_model(d, t, fit, nfit, val, nval, &ok, progress, pg, &mem[k], h, &r, &e);
        free(ck);
        if (trc < 0) {
            fprintf(stderr, "maltrain: %s\n", e.msg);
            rc = 1;
        } else if (r.interrupted) {
            fprintf(stderr, "maltrain: interrupted; checkpoint saved, continue with --resume\n");
            rc = 130;
        } else {
            done++;
            pg->run++;
            if (k == 0)
                *res = r;
            if (save) {
                char *csv = path2(mdir, mt_type_names[t], tg, ".metrics.csv");
                if (mt_write_metrics_csv(csv, h, &e) < 0) {
                    fprintf(stderr, "maltrain: %s\n", e.msg);
                    rc = 1;
                }
                free(csv);
            }
        }
    }
    free(h);
    if (rc == 0 && n == 1) {   /* the single network is the model */
        *out = mem[0];
        free(mem);
        return 0;
    }
    if (rc == 0) {
        /* one model of the family; its validation AUC is the merged model's */
        float *pv = nval > 0 ? malloc(sizeof(float) * (size_t)nval) : NULL;
        int *yv = nval > 0 ? malloc(sizeof(int) * (size_t)nval) : NULL;
        if (mt_model_merge(mem, n, out, &e) < 0 ||
            (nval > 0 && (!pv || !yv || mt_score_traces(out, d, val, nval, pv, &e) < 0))) {
            fprintf(stderr, "maltrain: %s\n", e.msg[0] ? e.msg : "out of memory");
            mal_model_free(out);
            rc = 1;
        } else {
            if (nval > 0) {
                for (int i = 0; i < nval; i++)
                    yv[i] = d->t[val[i]].label == t;
                res->best_auc = mal_roc_auc(pv, yv, (size_t)nval);
            }
            out->training_json = merged_record(mem, n, nval > 0 ? res->best_auc : -1);
        }
        free(pv), free(yv);
    }
    for (int k = 0; k < done; k++)
        mal_model_free(&mem[k]);
    free(mem);
    return rc;
}

/* Joint training (mt_opts.joint): one network, a head per type, trained on
 * the eight one-vs-rest tasks at once; out[t] is type t's model. Its
 * checkpoint is MDIR/joint.ckpt, each wanted type's history
 * <Type>[.tag].metrics.csv. Returns 0, 1 (error printed) or 130
 * (interrupted, checkpoint saved). */
static int train_joint(const mt_opts *o, const mt_data *d, const int *want, const char *tag,
                       const int *fit, int nfit, const int *val, int nval, const char *mdir,
                       int save, prog *pg, mal_model *out, mt_result *res)
{
    mt_history *h = calloc(MT_NTYPES, sizeof *h);
    mal_error e = {{0}};
    if (!h) {
        fprintf(stderr, "maltrain: out of memory\n");
        return 1;
    }
    mt_opts oj = *o;
    char *ck = save ? path2(mdir, "joint", NULL, ".ckpt") : NULL;
    oj.ckpt_path = ck;
    int rc = 0;
    if (mt_train_model(d, MT_JOINT, fit, nfit, val, nval, &oj, progress, pg, out, h, res, &e) < 0) {
        fprintf(stderr, "maltrain: %s\n", e.msg);
        rc = 1;
    } else if (res[0].interrupted) {
        fprintf(stderr, "maltrain: interrupted; checkpoint saved, continue with --resume\n");
        rc = 130;
    } else {
        pg->run++;
        for (int t = 0; t < MT_NTYPES && save && rc == 0; t++) {
            if (!want[t])
                continue;
            char *csv = path2(mdir, mt_type_names[t], tag, ".metrics.csv");
            if (mt_write_metrics_csv(csv, &h[t], &e) < 0) {
                fprintf(stderr, "maltrain: %s\n", e.msg);
                rc = 1;
            }
            free(csv);
        }
        if (rc != 0)
            for (int t = 0; t < MT_NTYPES; t++)
                mal_model_free(&out[t]);
    }
    free(ck);
    free(h);
    return rc;
}

static void pretrain_progress(void *ctx, int epoch, int epochs, double loss, double val_loss,
                              double seconds)
{
    (void)ctx;
    char val[48] = "no validation split";
    if (isfinite(val_loss))
        snprintf(val, sizeof val, "validation %.4f", val_loss);
    fprintf(stderr, "  pretrain epoch %d/%d: next-call loss %.4f, %s, %.1f s\n", epoch, epochs, loss,
            val, seconds);
}

/* Train every requested type (and activation) on train[] with validation val[]. */
static int train_types(const cli *c, const mt_opts *base, const mt_data *d, const int *want,
                       const int *fit, int nfit, const int *val, int nval, const char *mdir,
                       int save, float *const *test_probs, float *const *test_raw, const int *test,
                       int ntest)
{
    mal_act acts[4] = {MAL_ACT_TANH, MAL_ACT_SIGMOID, MAL_ACT_SOFTSIGN, MAL_ACT_SOFTMAX};
    int nacts = c->auto_act ? 4 : 1;
    prog pg = {.start = mt_now_s()};
    mal_model joint[MT_NTYPES];
    memset(joint, 0, sizeof joint);
    mt_result jres[MT_NTYPES];
    int frc = 1;   /* exit status of the failure path */
    const int finetune = base->joint == MT_TRAIN_FINETUNE, joint_only = base->joint && !finetune;
    pg.total_runs = base->joint ? 1 : 0;   /* the joint network, then the per-type ones */
    for (int t = 0; t < MT_NTYPES && !joint_only; t++)
        for (int a = 0; a < nacts; a++) {
            mt_opts o = *base;
            if (c->auto_act)
                o.act = acts[a];
            pg.total_runs += want[t] * nets_per_model(&o);
        }
    if (base->joint) {
        mt_opts o = *base;
        o.resume = c->resume;
        if (finetune)
            o.joint = MT_TRAIN_JOINT;
        /* fine-tuning: the joint network's histories are <Type>.joint.metrics.csv */
        int rc = train_joint(&o, d, want, finetune ? "joint" : NULL, fit, nfit, val, nval, mdir,
                             save, &pg, joint, jres);
        if (rc != 0)
            return rc;
        for (int t = 0; t < MT_NTYPES; t++)
            if (!want[t])
                mal_model_free(&joint[t]);
    }
    mal_model pre = {0};   /* --pretrain: the layers every type starts from */
    if (base->pretrain > 0) {
        mal_error e = {{0}};
        double t0 = mt_now_s();
        if (mt_pretrain_lm(d, fit, nfit, val, nval, base, pretrain_progress, NULL, &pre, &e) < 0) {
            fprintf(stderr, "maltrain: %s\n", e.msg);
            return g_stop ? 130 : 1;
        }
        fprintf(stderr, "maltrain: pretrained the layers on next-call prediction (%d epochs, %.0f s)\n",
                base->pretrain, mt_now_s() - t0);
        pg.start = mt_now_s();   /* the ETA counts the per-type runs only */
    }
    for (int t = 0; t < MT_NTYPES; t++) {
        if (!want[t])
            continue;
        mal_model bestm = {0};
        double best_auc = -2;
        cJSON *tried = cJSON_CreateArray();
        for (int a = 0; a < nacts; a++) {
            mt_opts o = *base;
            if (c->auto_act)
                o.act = acts[a];
            o.resume = c->resume;
            const char *an = c->auto_act ? mal_act_name(o.act) : NULL;
            mal_model m;
            mt_result res = {0};
            int rc = 0;
            if (joint_only) {   /* trained above; nacts is 1 */
                m = joint[t], res = jres[t], joint[t] = (mal_model){0};
            } else {
                o.init = finetune ? &joint[t] : base->pretrain > 0 ? &pre : NULL;
                rc = train_model(&o, d, t, an, fit, nfit, val, nval, mdir, save, &pg, &m, &res);
                mal_model_free(&joint[t]);
            }
            if (rc != 0) {
                cJSON_Delete(tried);
                mal_model_free(&bestm);
                frc = rc;
                goto fail;
            }
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "activation", mal_act_name(o.act));
            cJSON_AddNumberToObject(x, "val_auc", res.best_auc);
            cJSON_AddNumberToObject(x, "best_epoch", res.best_epoch);
            cJSON_AddItemToArray(tried, x);
            if (res.best_auc > best_auc) {
                best_auc = res.best_auc;
                mal_model_free(&bestm);
                bestm = m;
            } else {
                mal_model_free(&m);
            }
        }
        /* the record lists the activations tried */
        cJSON *tr = cJSON_Parse(bestm.training_json);
        if (tr) {
            cJSON_AddItemToObject(tr, "activations_tried", tried);
            tried = NULL;
            char *s = cJSON_PrintUnformatted(tr);
            if (s) {
                free(bestm.training_json);
                bestm.training_json = s;
            }
            cJSON_Delete(tr);
        }
        cJSON_Delete(tried);
        mal_error e = {{0}};
        if (save) {
            char *mp = path2(mdir, mt_type_names[t], NULL, ".json");
            if (c->auto_act) {
                /* the chosen activation's history is the type's metrics file */
                char *src = path2(mdir, mt_type_names[t], mal_act_name(bestm.act), ".metrics.csv");
                char *dst = path2(mdir, mt_type_names[t], NULL, ".metrics.csv");
                FILE *f = fopen(src, "rb");
                if (f) {
                    char buf[1 << 16];
                    size_t k = fread(buf, 1, sizeof buf, f);
                    fclose(f);
                    mt_write_atomic(dst, buf, k, &e);
                }
                free(src), free(dst);
            }
            int rc = mal_model_save(&bestm, mp, &e);
            if (rc == 0 && best_auc >= 0)
                fprintf(stderr, "maltrain: %s: %s, best epoch val ROC-AUC %.4f -> %s\n",
                        mt_type_names[t], mal_act_name(bestm.act), best_auc, mp);
            else if (rc == 0)
                fprintf(stderr, "maltrain: %s: %s, no validation split: last epoch kept -> %s\n",
                        mt_type_names[t], mal_act_name(bestm.act), mp);
            free(mp);
            if (rc < 0) {
                fprintf(stderr, "maltrain: %s\n", e.msg);
                mal_model_free(&bestm);
                goto fail;
            }
        }
        if (test_probs && mt_score_traces(&bestm, d, test, ntest, test_probs[t], &e) < 0) {
            fprintf(stderr, "maltrain: %s\n", e.msg);
            mal_model_free(&bestm);
            goto fail;
        }
        if (test_raw) {   /* the same model without its calibration, for comparison */
            bestm.scoring.calib_a = 1, bestm.scoring.calib_b = 0;
            if (mt_score_traces(&bestm, d, test, ntest, test_raw[t], &e) < 0) {
                fprintf(stderr, "maltrain: %s\n", e.msg);
                mal_model_free(&bestm);
                goto fail;
            }
        }
        mal_model_free(&bestm);
    }
    mal_model_free(&pre);
    return 0;
fail:   /* the joint models of the types not reached (freed ones are zeroed) */
    for (int t = 0; t < MT_NTYPES; t++)
        mal_model_free(&joint[t]);
    mal_model_free(&pre);
    return frc;
}

/* train_types, after the n-gram teacher's out-of-fold targets for the fit
 * traces when distilling (the validation traces keep their labels only) */
static int train_all(const cli *c, const mt_opts *base, const mt_data *d, const int *want,
                     const int *fit, int nfit, const int *val, int nval, const char *mdir,
                     int save, float *const *test_probs, float *const *test_raw, const int *test,
                     int ntest)
{
    if (!(base->distill > 0))
        return train_types(c, base, d, want, fit, nfit, val, nval, mdir, save, test_probs,
                           test_raw, test, ntest);
    mt_opts o = *base;
    mt_teacher_opts to;
    mt_teacher_opts_defaults(&to);
    to.seed = base->seed ^ 0x7eac4e5ull;
    mt_teacher_report rep;
    mal_error e;
    float *soft = calloc((size_t)d->n * MT_NTYPES, sizeof(float));
    double t0 = mt_now_s();
    if (!soft || mt_teacher_oof(d, fit, nfit, &to, soft, &rep, &e) < 0) {
        fprintf(stderr, "maltrain: %s\n", soft ? e.msg : "out of memory for the teacher's targets");
        free(soft);
        return 1;
    }
    fprintf(stderr, "maltrain: n-gram teacher: %ld features, C %g, out-of-fold macro-F1 %.3f on the %d "
            "fit traces (%.1f s); targets = %.2f x label + %.2f x teacher\n", rep.features, rep.c,
            rep.macro_f1, nfit, mt_now_s() - t0, 1 - o.distill, o.distill);
    o.soft = soft;
    int rc = train_types(c, &o, d, want, fit, nfit, val, nval, mdir, save, test_probs, test_raw,
                         test, ntest);
    free(soft);
    return rc;
}

static int cmd_train(const cli *c)
{
    if (!c->data)
        return usage_error("train needs --data DIR%s", "");
    mt_opts o;
    mt_opts_defaults(&o, c->protocol);
    apply_overrides(c, &o);
    if ((long)o.h1 * o.members > MAL_MAX_HIDDEN || (long)o.embed * o.members > MAL_MAX_EMBED) {
        fprintf(stderr, "maltrain: --members %d of --hidden %d, --embed %d make a model of %ld "
                "units, embedding %ld; the model format allows %d, %d\n", o.members, o.h1,
                o.embed, (long)o.h1 * o.members, (long)o.embed * o.members, MAL_MAX_HIDDEN,
                MAL_MAX_EMBED);
        return 2;
    }
    if (!mt_bag_fits(&o)) {
        fprintf(stderr, "maltrain: --bag %d needs windows at a stride (not --protocol paper), "
                "--windows-per-trace a multiple of it (%d is not) and at most %d (the batch)\n",
                o.bag, o.windows_per_trace, o.batch);
        return 2;
    }
    if (o.lr * o.weight_decay >= 1) {
        fprintf(stderr, "maltrain: --weight-decay %g with --lr %g would shrink the weights by %g "
                "per batch; their product must be below 1\n", o.weight_decay, o.lr,
                o.lr * o.weight_decay);
        return 2;
    }
    if (o.joint && (c->auto_act || o.members > 1 || o.bag > 1)) {
        static const char *const kinds[] = {"per-type", "joint", "softmax", "finetune"};
        fprintf(stderr, "maltrain: --training %s trains one network for the eight types; it "
                "cannot be combined with %s\n", kinds[o.joint], c->auto_act ? "--activation auto"
                                                : o.members > 1 ? "--members" : "--bag");
        return 2;
    }
    if (o.pretrain > 0 && (o.joint || c->auto_act || o.members > 1 || o.rule.stride == 0)) {
        fprintf(stderr, "maltrain: --pretrain trains the layers every per-type model of one "
                "activation starts from, on windows at a stride; it cannot be combined with %s\n",
                o.joint ? "--training joint|softmax|finetune" : c->auto_act ? "--activation auto"
                : o.members > 1 ? "--members" : "--protocol paper");
        return 2;
    }
    if (c->scores_out && c->folds < 2)
        return usage_error("--scores-out writes cross-validation scores: it needs --folds K%s", "");
    if ((c->auto_act || o.calibrate) && o.val_frac == 0)
        return usage_error("%s needs a validation split: drop --val-frac 0",
                           c->auto_act ? "--activation auto" : "--calibration");
    int want[MT_NTYPES];
    if (parse_types(c->types, want) < 0)
        return 2;
    mt_data d;
    if (load_data(c, &o, &d) < 0)
        return 1;
    int *train = malloc(sizeof(int) * (size_t)d.n), ntrain = 0;
    for (int i = 0; i < d.n; i++)
        if (d.t[i].split == MT_SPLIT_TRAIN)
            train[ntrain++] = i;
    int rc = 0;
    if (c->folds > 1) {
        /* stratified K-fold on the train part: fold k = every K-th trace of
         * each type after a seeded shuffle; validation split inside the rest */
        int *fold = malloc(sizeof(int) * (size_t)d.n);
        mal_error fe;
        if (!fold || mt_stratified_folds(&d, train, ntrain, c->folds, (uint64_t)c->seed ^ 0xf01dull,
                                         fold, &fe) < 0) {
            fprintf(stderr, "maltrain: out of memory for the folds\n");
            free(fold), free(train);
            mt_data_free(&d);
            return 1;
        }
        double f1s[64], accs[64], rawf1s[64];
        scorebuf sc = {0};
        for (int k = 0; k < c->folds && rc == 0; k++) {
            int *tr = malloc(sizeof(int) * (size_t)ntrain), *te = malloc(sizeof(int) * (size_t)ntrain);
            int ntr = 0, nte = 0;
            for (int i = 0; i < ntrain; i++) {
                if (fold[train[i]] == k)
                    te[nte++] = train[i];
                else
                    tr[ntr++] = train[i];
            }
            int *fit, *val, nfit, nval;
            mal_error e;
            mt_split_val(&d, tr, ntr, o.val_frac, (uint64_t)c->seed, &fit, &nfit, &val, &nval, &e);
            float *probs[MT_NTYPES], *raw[MT_NTYPES];
            for (int t = 0; t < MT_NTYPES; t++) {
                probs[t] = calloc((size_t)nte, sizeof(float));
                raw[t] = calloc((size_t)nte, sizeof(float));
            }
            int all[MT_NTYPES] = {1, 1, 1, 1, 1, 1, 1, 1};
            rc = train_all(c, &o, &d, all, fit, nfit, val, nval, NULL, 0, probs, raw, te, nte);
            if (rc == 0 && c->scores_out)
                rc = append_scores(&sc, &d, k, te, nte, raw);
            if (rc == 0) {
                evalres er, err;
                evaluate(probs, &d, te, nte, &er);
                evaluate(raw, &d, te, nte, &err);
                f1s[k] = er.macro_f1, accs[k] = er.acc8, rawf1s[k] = err.macro_f1;
                fprintf(stderr, "maltrain: fold %d/%d: accuracy %.3f macro-F1 %.3f "
                        "(uncalibrated scores: accuracy %.3f macro-F1 %.3f)\n", k + 1, c->folds,
                        er.acc8, er.macro_f1, err.acc8, err.macro_f1);
            }
            for (int t = 0; t < MT_NTYPES; t++)
                free(probs[t]), free(raw[t]);
            free(tr), free(te), free(fit), free(val);
        }
        if (rc == 0) {
            double mf = 0, sf = 0, ma = 0, sa = 0, mr = 0, sr = 0;
            for (int k = 0; k < c->folds; k++)
                mf += f1s[k], ma += accs[k], mr += rawf1s[k];
            mf /= c->folds, ma /= c->folds, mr /= c->folds;
            for (int k = 0; k < c->folds; k++)
                sf += (f1s[k] - mf) * (f1s[k] - mf), sa += (accs[k] - ma) * (accs[k] - ma),
                    sr += (rawf1s[k] - mr) * (rawf1s[k] - mr);
            sf = sqrt(sf / (c->folds - 1)), sa = sqrt(sa / (c->folds - 1)), sr = sqrt(sr / (c->folds - 1));
            printf("%d-fold cross-validation (%s protocol): macro-F1 %.3f +- %.3f, accuracy %.3f +- %.3f\n",
                   c->folds, c->protocol == MT_PROTOCOL_PAPER ? "paper" : "default", mf, sf, ma, sa);
            printf("  the same models without calibration: macro-F1 %.3f +- %.3f (sample std over folds)\n", mr, sr);
        }
        if (rc == 0 && c->scores_out) {
            mal_error e = {{0}};
            if (mt_write_atomic(c->scores_out, sc.buf, sc.len, &e) < 0) {
                fprintf(stderr, "maltrain: %s\n", e.msg);
                rc = 1;
            } else {
                fprintf(stderr, "maltrain: held-out trace scores written to %s\n", c->scores_out);
            }
        }
        free(sc.buf);
        free(fold);
    } else {
        int *fit, *val, nfit, nval;
        mal_error e;
        char mdir[4096];
        snprintf(mdir, sizeof mdir, "%s/models", c->out);
        if (mkdir_p(mdir) < 0) {
            fprintf(stderr, "maltrain: cannot create %s: %s\n", mdir, strerror(errno));
            rc = 1;
        } else if (mt_split_val(&d, train, ntrain, o.val_frac, (uint64_t)c->seed, &fit, &nfit, &val, &nval, &e) < 0) {
            fprintf(stderr, "maltrain: %s\n", e.msg);
            rc = 1;
        } else {
            fprintf(stderr, "maltrain: %d training traces (%d fit, %d validation)\n", ntrain, nfit, nval);
            rc = train_all(c, &o, &d, want, fit, nfit, val, nval, mdir, 1, NULL, NULL, NULL, 0);
            free(fit), free(val);
        }
    }
    free(train);
    mt_data_free(&d);
    return rc;
}

static int cmd_eval(const cli *c)
{
    if (!c->models || !c->data)
        return usage_error("eval needs --models DIR and --data DIR%s", "");
    mal_model m[MT_NTYPES];
    memset(m, 0, sizeof m);
    int maxw = 1, rc = 1;
    mal_error e = {{0}};
    for (int t = 0; t < MT_NTYPES; t++) {
        char *p = path2(c->models, mt_type_names[t], NULL, ".json");
        int r = mal_model_load(&m[t], p, &e);
        free(p);
        if (r < 0) {
            fprintf(stderr, "maltrain: %s\n", e.msg);
            for (int u = 0; u < t; u++)
                mal_model_free(&m[u]);
            return 1;
        }
        if (strcmp(m[t].type, mt_type_names[t]) != 0) {
            fprintf(stderr, "maltrain: %s/%s.json detects '%s'\n", c->models, mt_type_names[t], m[t].type);
            for (int u = 0; u <= t; u++)
                mal_model_free(&m[u]);
            return 1;
        }
        if (m[t].scoring.window > maxw)
            maxw = m[t].scoring.window;
    }
    mt_data d;
    float *probs[MT_NTYPES] = {0};
    int *idx = NULL, n = 0;
    fprintf(stderr, "maltrain: reading %s ...\n", c->data);
    if (mt_data_load(&d, c->data, c->split, maxw, 1u << 20, &e) < 0) {
        fprintf(stderr, "maltrain: %s\n", e.msg);
        goto out_models;
    }
    idx = malloc(sizeof(int) * (size_t)d.n);
    for (int i = 0; i < d.n; i++)
        if (!c->split || d.t[i].split == MT_SPLIT_TEST)
            idx[n++] = i;
    if (n == 0) {
        fprintf(stderr, "maltrain: no test traces in %s\n", c->split ? c->split : c->data);
        goto out;
    }
    for (int t = 0; t < MT_NTYPES; t++) {
        probs[t] = malloc(sizeof(float) * (size_t)n);
        if (mt_score_traces(&m[t], &d, idx, n, probs[t], &e) < 0) {
            fprintf(stderr, "maltrain: %s\n", e.msg);
            goto out;
        }
    }
    evalres er;
    evaluate(probs, &d, idx, n, &er);
    print_eval(&er, n, c->json);
    rc = 0;
out:
    for (int t = 0; t < MT_NTYPES; t++)
        free(probs[t]);
    free(idx);
    mt_data_free(&d);
out_models:
    for (int t = 0; t < MT_NTYPES; t++)
        mal_model_free(&m[t]);
    return rc;
}

/* maltrain bench-step [THREADS] [T]: ms per full batch (N 50, every step
 * real) of forward + backward + Adam, per activation; for bench/. */
/* maltrain merge --out DIR MODELS_DIR...: member models -> one merged model
 * per type (model_merge.h); the training record lists the members'. */
static int cmd_merge(int argc, char **argv)
{
    const char *out = NULL;
    char *dirs[64];
    int n = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage_text, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--out")) {
            if (i + 1 >= argc)
                return usage_error("--out needs a value%s", "");
            out = argv[++i];
        } else if (argv[i][0] == '-') {
            return usage_error("unknown option '%s'", argv[i]);
        } else if (n == 64) {
            return usage_error("at most 64 models directories%s", "");
        } else {
            dirs[n++] = argv[i];
        }
    }
    if (!out || n < 2)
        return usage_error("merge needs --out DIR and at least two models directories%s", "");
    /* never write over a member: the output must be a directory of its own */
    char *rout = realpath(out, NULL);
    for (int k = 0; k < n && rout; k++) {
        char *rk = realpath(dirs[k], NULL);
        int same = rk && !strcmp(rk, rout);
        free(rk);
        if (same) {
            free(rout);
            return usage_error("--out %s is one of the models directories being merged", out);
        }
    }
    free(rout);
    if (mkdir_p(out) < 0) {
        fprintf(stderr, "maltrain: cannot create %s: %s\n", out, strerror(errno));
        return 1;
    }
    int merged = 0, rc = 0;
    for (int t = 0; t < MT_NTYPES && rc == 0; t++) {
        char *first = path2(dirs[0], mt_type_names[t], NULL, ".json");
        int have = access(first, F_OK) == 0;
        free(first);
        if (!have)
            continue;
        mal_model *mem = calloc((size_t)n, sizeof *mem), m;
        mal_error e = {{0}};
        int loaded = 0;
        for (; loaded < n; loaded++) {
            char *p = path2(dirs[loaded], mt_type_names[t], NULL, ".json");
            int r = mal_model_load(&mem[loaded], p, &e);
            if (r == 0 && strcmp(mem[loaded].type, mt_type_names[t]) != 0) {
                mal_error_set(&e, "%s: holds a model of type '%s'", p, mem[loaded].type);
                mal_model_free(&mem[loaded]);
                r = -1;
            }
            free(p);
            if (r < 0)
                break;
        }
        if (loaded < n || mt_model_merge(mem, n, &m, &e) < 0) {
            fprintf(stderr, "maltrain: %s\n", e.msg);
            rc = 1;
        } else {
            m.training_json = merged_record(mem, n, -1);
            char *p = path2(out, mt_type_names[t], NULL, ".json");
            if (mal_model_save(&m, p, &e) < 0) {
                fprintf(stderr, "maltrain: %s\n", e.msg);
                rc = 1;
            } else {
                fprintf(stderr, "maltrain: %s: %d members merged (hidden %d/%d) -> %s\n",
                        mt_type_names[t], n, m.l1.hidden, m.l2.hidden, p);
                merged++;
            }
            free(p);
            mal_model_free(&m);
        }
        for (int k = 0; k < loaded; k++)
            mal_model_free(&mem[k]);
        free(mem);
    }
    if (rc == 0 && merged == 0) {
        fprintf(stderr, "maltrain: %s holds no <Type>.json model\n", dirs[0]);
        rc = 1;
    }
    return rc;
}

static int cmd_bench_step(int argc, char **argv)
{
    int threads = argc > 2 ? atoi(argv[2]) : 1, T = argc > 3 ? atoi(argv[3]) : 342, reps = 5;
    if (threads < 1 || T < 1)
        return usage_error("bench-step [THREADS] [T]%s", "");
    mt_set_threads(threads);
    for (int a = 0; a < 4; a++) {
        mt_net n;
        mt_adam ad;
        mal_error e;
        mt_shape s = {.V = 342, .E = 16, .H1 = 100, .H2 = 100, .T = T, .N = 50, .act = (mal_act)a,
                      .pool = MAL_POOL_LAST};
        if (mt_net_init(&n, &s, &e) < 0 || mt_adam_init(&ad, n.nparam, &e) < 0) {
            fprintf(stderr, "maltrain: %s\n", e.msg);
            return 1;
        }
        mt_net_init_params(&n, 1);
        int32_t *ids = malloc(sizeof(int32_t) * (size_t)T * 50);
        float y[50], w[50];
        mt_rng r;
        mt_rng_seed(&r, 2);
        for (int i = 0; i < T * 50; i++)
            ids[i] = (int32_t)mt_rng_below(&r, 342);
        for (int i = 0; i < 50; i++)
            y[i] = (float)(i % 8 == 0), w[i] = 1;
        double tf = 0, tb = 0;
        for (int it = 0; it <= reps; it++) {
            double t0 = mt_now_s();
            mt_net_forward(&n, ids, NULL, &e);
            double t1 = mt_now_s();
            mt_net_backward(&n, y, w, 50);
            mt_adam_update(&ad, n.p, n.g, n.nparam);
            double t2 = mt_now_s();
            if (it)   /* the first is warm-up */
                tf += t1 - t0, tb += t2 - t1;
        }
        printf("net %-8s threads %d T %d N 50: forward %.1f ms, backward+adam %.1f ms, total %.1f ms/batch\n",
               mal_act_name((mal_act)a), threads, T, tf / reps * 1e3, tb / reps * 1e3, (tf + tb) / reps * 1e3);
        free(ids);
        mt_adam_free(&ad);
        mt_net_free(&n);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("missing command (train or eval)%s", "");
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (!strcmp(argv[1], "merge"))
        return cmd_merge(argc, argv);
    if (!strcmp(argv[1], "bench-step"))
        return cmd_bench_step(argc, argv);
    int train = !strcmp(argv[1], "train"), eval = !strcmp(argv[1], "eval");
    if (!train && !eval)
        return usage_error("unknown command '%s'", argv[1]);
    cli c = {.out = "out", .protocol = MT_PROTOCOL_DEFAULT, .threads = 1, .epochs = -1,
             .window = -1, .seed = 0, .hidden = -1, .wpt = -1, .stride = -1, .max_windows = -1,
             .pool = -1, .calib = -1, .pos_weight = -1, .ema = -1, .call_dropout = -1, .dropout = -1, .val_frac = -1,
             .lr = -1, .lr_cosine = -1, .joint = -1, .init_seed = -1, .members = -1, .embed = -1, .bag = -1,
             .weight_decay = -1, .distill = -1, .combine = -1, .pretrain = -1, .pretrain_lr = -1};
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long x;
#define NEED_ARG() do { if (!v) return usage_error("%s needs a value", a); i++; } while (0)
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage_text, stdout);
            return 0;
        } else if (!strcmp(a, "--data")) {
            NEED_ARG(); c.data = v;
        } else if (!strcmp(a, "--split")) {
            NEED_ARG(); c.split = v;
        } else if (!strcmp(a, "--out") && train) {
            NEED_ARG(); c.out = v;
        } else if (!strcmp(a, "--models") && eval) {
            NEED_ARG(); c.models = v;
        } else if (!strcmp(a, "--scores-out") && train) {
            NEED_ARG(); c.scores_out = v;
        } else if (!strcmp(a, "--types") && train) {
            NEED_ARG(); c.types = v;
        } else if (!strcmp(a, "--json") && eval) {
            c.json = 1;
        } else if (!strcmp(a, "--resume") && train) {
            c.resume = 1;
        } else if (!strcmp(a, "--no-calibration") && train) {
            c.calib = MT_CALIB_NONE;
        } else if (!strcmp(a, "--calibration") && train) {
            NEED_ARG();
            if (!strcmp(v, "platt")) c.calib = MT_CALIB_PLATT;
            else if (!strcmp(v, "standard")) c.calib = MT_CALIB_STANDARD;
            else if (!strcmp(v, "none")) c.calib = MT_CALIB_NONE;
            else return usage_error("--calibration must be platt, standard or none, not '%s'", v);
        } else if (!strcmp(a, "--protocol") && train) {
            NEED_ARG();
            if (!strcmp(v, "paper")) c.protocol = MT_PROTOCOL_PAPER;
            else if (!strcmp(v, "default")) c.protocol = MT_PROTOCOL_DEFAULT;
            else return usage_error("--protocol must be paper or default, not '%s'", v);
        } else if (!strcmp(a, "--activation") && train) {
            NEED_ARG();
            c.act_set = 1;
            if (!strcmp(v, "auto")) c.auto_act = 1;
            else if (mal_act_parse(v, &c.act) < 0)
                return usage_error("--activation must be tanh, sigmoid, softsign, softmax or auto, not '%s'", v);
        } else if (!strcmp(a, "--pool") && train) {
            NEED_ARG();
            if (!strcmp(v, "last")) c.pool = MAL_POOL_LAST;
            else if (!strcmp(v, "mean")) c.pool = MAL_POOL_MEAN;
            else return usage_error("--pool must be last or mean, not '%s'", v);
        } else if (!strcmp(a, "--combine") && train) {
            NEED_ARG();
            if (!strcmp(v, "mean")) c.combine = MAL_COMBINE_MEAN;
            else if (!strcmp(v, "max")) c.combine = MAL_COMBINE_MAX;
            else return usage_error("--combine must be mean or max, not '%s'", v);
        } else if (!strcmp(a, "--training") && train) {
            NEED_ARG();
            if (!strcmp(v, "joint")) c.joint = MT_TRAIN_JOINT;
            else if (!strcmp(v, "softmax")) c.joint = MT_TRAIN_SOFTMAX;
            else if (!strcmp(v, "finetune")) c.joint = MT_TRAIN_FINETUNE;
            else if (!strcmp(v, "per-type")) c.joint = MT_TRAIN_PER_TYPE;
            else return usage_error("--training must be per-type, joint, softmax or finetune, not '%s'", v);
        } else if (!strcmp(a, "--lr-schedule") && train) {
            NEED_ARG();
            if (!strcmp(v, "constant")) c.lr_cosine = 0;
            else if (!strcmp(v, "cosine")) c.lr_cosine = 1;
            else return usage_error("--lr-schedule must be constant or cosine, not '%s'", v);
        } else {
            struct { const char *name; long lo, hi; long *dst; int train_only; } nums[] = {
                {"--epochs", 1, MT_MAX_EPOCHS, &c.epochs, 1},
                {"--window", 1, 100000, &c.window, 1},
                {"--seed", 0, 2147483647L, &c.seed, 0},
                {"--init-seed", 0, 2147483647L, &c.init_seed, 1},
                {"--hidden", 1, MAL_MAX_HIDDEN, &c.hidden, 1},
                {"--members", 1, 16, &c.members, 1},
                {"--embed", 1, MAL_MAX_EMBED, &c.embed, 1},
                {"--windows-per-trace", 1, 1000, &c.wpt, 1},
                {"--bag", 1, 1000, &c.bag, 1},
                {"--pretrain", 0, MT_MAX_EPOCHS, &c.pretrain, 1},
                {"--stride", 0, 100000, &c.stride, 1},
                {"--max-windows", 0, MAL_MAX_WINDOWS, &c.max_windows, 1},
            };
            /* real-valued training options: lo <= v <= hi, or v < hi when hi_open */
            struct { const char *name; double lo, hi; int hi_open; double *dst; const char *what; } reals[] = {
                {"--pos-weight", 0, 1000, 0, &c.pos_weight, "a number in 0..1000"},
                {"--ema", 0, 1, 1, &c.ema, "a decay in [0, 1) (0 = off)"},
                {"--call-dropout", 0, 1, 1, &c.call_dropout, "a probability in [0, 1)"},
                {"--dropout", 0, 1, 1, &c.dropout, "a probability in [0, 1)"},
                {"--val-frac", 0, 0.5, 0, &c.val_frac, "a fraction in 0..0.5"},
                {"--lr", 1e-6, 1, 0, &c.lr, "a learning rate in 1e-6..1"},
                {"--pretrain-lr", 1e-6, 1, 0, &c.pretrain_lr, "a learning rate in 1e-6..1"},
                {"--weight-decay", 0, 100, 0, &c.weight_decay, "a decay in 0..100 (0 = off)"},
                {"--distill", 0, 1, 0, &c.distill, "a share in 0..1 (0 = off)"},
            };
            int found = 0;
            for (size_t k = 0; k < sizeof reals / sizeof reals[0] && train; k++)
                if (!strcmp(a, reals[k].name)) {
                    NEED_ARG();
                    if (parse_real(v, reals[k].lo, reals[k].hi, reals[k].hi_open, reals[k].dst) < 0) {
                        fprintf(stderr, "maltrain: %s must be %s, not '%s' (try 'maltrain --help')\n",
                                a, reals[k].what, v);
                        return 2;
                    }
                    found = 1;
                }
            for (size_t k = 0; k < sizeof nums / sizeof nums[0]; k++)
                if (!strcmp(a, nums[k].name) && (train || !nums[k].train_only)) {
                    NEED_ARG();
                    if (parse_int(v, nums[k].lo, nums[k].hi, nums[k].dst) < 0) {
                        fprintf(stderr, "maltrain: %s must be an integer in %ld..%ld, not '%s' "
                                "(try 'maltrain --help')\n", a, nums[k].lo, nums[k].hi, v);
                        return 2;
                    }
                    found = 1;
                }
            if (!found && !strcmp(a, "--threads")) {
                NEED_ARG();
                if (parse_int(v, 1, 256, &x) < 0)
                    return usage_error("--threads must be an integer in 1..256, not '%s'", v);
                c.threads = (int)x, found = 1;
            } else if (!found && !strcmp(a, "--folds") && train) {
                NEED_ARG();
                if (parse_int(v, 2, 64, &x) < 0)
                    return usage_error("--folds must be an integer in 2..64, not '%s'", v);
                c.folds = (int)x, found = 1;
            }
            if (!found)
                return usage_error("unknown option '%s'", a);
        }
    }
    if (c.window == 0)
        return usage_error("--window must be at least 1%s", "");
    mt_set_threads(c.threads);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);
    return train ? cmd_train(&c) : cmd_eval(&c);
}
