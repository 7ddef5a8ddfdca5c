/* malscan_scan.c - the scanning mode of malscan.
 *
 * Pipeline: the main thread expands the inputs and reads them with the
 * streaming readers; each record's calls go to an engine scorer (the float
 * reference or the JIT-built generated code) and the eight probabilities are
 * voted into a type. With -j N > 1, records are dealt round-robin to N worker
 * threads through bounded queues of call chunks (memory stays constant
 * whatever the record length) and results are printed in record order. */
#include "malscan.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ensemble.h"
#include "input_list.h"
#include "metrics.h"
#include "malscan_jit.h"
#include "trace_reader.h"

#define CHUNK_RUNS 4096   /* call runs per message to a worker */
#define QUEUE_DEPTH 16    /* chunks in flight per worker */

/* ---- results: printing in record order and the labelled summary ---- */
typedef struct scan_out {
    const mal_ensemble *en;
    int json;
    char **labels;        /* --labels lines, or NULL */
    long nlabels;
    mal_confusion conf;
    long records;         /* records printed */
} scan_out;

/* A path in the table: control bytes become '?' so a hostile file name
 * cannot break the table or drive the terminal. */
static void print_plain_path(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        putchar(*p < 0x20 || *p == 0x7f ? '?' : *p);
}

static void emit(scan_out *o, const mal_record_info *info, const float *probs)
{
    const mal_ensemble *en = o->en;
    int label = mal_ensemble_vote(probs, en->n);
    long k = o->records++;
    const char *truth = NULL;
    if (o->labels && k < o->nlabels) {   /* a count mismatch is reported at the end */
        truth = o->labels[k];
        mal_confusion_add(&o->conf, mal_type_index(en->types, en->n, truth), label);
    }
    if (o->json) {   /* type names are [A-Za-z0-9_-] (model_io.c), safe in JSON as they are */
        printf("{\"input\": ");
        malscan_json_string(stdout, info->input);
        printf(", \"record\": %" PRIu64 ", \"calls\": %" PRIu64 ", \"unknown\": %" PRIu64
               ", \"label\": \"%s\", \"scores\": {",
               info->record, info->calls, info->unknown, en->types[label]);
        for (int i = 0; i < en->n; i++)
            printf("%s\"%s\": %.6g", i ? ", " : "", en->types[i], (double)probs[i]);
        printf("}");
        if (truth)
            printf(", \"truth\": \"%s\"", truth);
        printf("}\n");
    } else {
        /* the input last, so the columns stay aligned whatever the path length */
        if (k == 0)
            printf("%-10s %6s %8s %10s %8s  %s\n", "label", "score", "record", "calls", "unknown",
                   "input");
        printf("%-10s %6.4f %8" PRIu64 " %10" PRIu64 " %8" PRIu64 "  ", en->types[label],
               (double)probs[label], info->record, info->calls, info->unknown);
        print_plain_path(info->input);
        putchar('\n');
    }
}

static void print_summary(scan_out *o)
{
    const mal_ensemble *en = o->en;
    const mal_confusion *c = &o->conf;
    if (o->json) {
        printf("{\"summary\": {\"n\": %ld, \"accuracy\": %.6f, \"macro_f1\": %.6f, \"per_type\": {",
               c->n, mal_confusion_accuracy(c), mal_confusion_macro_f1(c));
        for (int t = 0; t < en->n; t++) {
            mal_class_metrics m = mal_confusion_class(c, t);
            printf("%s\"%s\": {\"precision\": %.6f, \"recall\": %.6f, \"f1\": %.6f}", t ? ", " : "",
                   en->types[t], m.precision, m.recall, m.f1);
        }
        printf("}, \"confusion\": [");
        for (int t = 0; t < en->n; t++) {
            printf("%s[", t ? ", " : "");
            for (int p = 0; p < en->n; p++)
                printf("%s%ld", p ? ", " : "", c->m[t][p]);
            printf("]");
        }
        printf("]}}\n");
        return;
    }
    printf("\nsummary: %ld labelled traces, accuracy %.4f, macro-F1 %.4f\n", c->n,
           mal_confusion_accuracy(c), mal_confusion_macro_f1(c));
    printf("%-12s %9s %9s %9s %8s\n", "type", "precision", "recall", "f1", "support");
    for (int t = 0; t < en->n; t++) {
        mal_class_metrics m = mal_confusion_class(c, t);
        long support = 0;
        for (int p = 0; p < en->n; p++)
            support += c->m[t][p];
        printf("%-12s %9.4f %9.4f %9.4f %8ld\n", en->types[t], m.precision, m.recall, m.f1, support);
    }
    printf("\nconfusion (rows: true type, columns: predicted)\n%-12s", "");
    for (int p = 0; p < en->n; p++)
        printf(" %6.6s", en->types[p]);
    printf("\n");
    for (int t = 0; t < en->n; t++) {
        printf("%-12s", en->types[t]);
        for (int p = 0; p < en->n; p++)
            printf(" %6ld", c->m[t][p]);
        printf("\n");
    }
}

/* ---- single-threaded scanning: the sink feeds one scorer directly ---- */
typedef struct direct_ctx {
    mal_engine *engine;
    void *scorer;
    scan_out *out;
} direct_ctx;

static int direct_begin(void *ctx, const mal_record_info *info)
{
    (void)info;
    direct_ctx *d = ctx;
    d->engine->ops->begin(d->scorer);
    return 0;
}

static int direct_calls(void *ctx, int32_t id, uint64_t count)
{
    direct_ctx *d = ctx;
    d->engine->ops->calls(d->scorer, id, count);
    return 0;
}

static int direct_end(void *ctx, const mal_record_info *info)
{
    direct_ctx *d = ctx;
    float probs[MAL_MAX_TYPES];
    d->engine->ops->finish(d->scorer, probs);
    emit(d->out, info, probs);
    return 0;
}

/* ---- parallel scanning: round-robin records over worker threads ---- */
typedef struct run {
    int32_t id;
    uint64_t count;
} run;

typedef enum { MSG_BEGIN, MSG_RUNS, MSG_END, MSG_ABORT, MSG_QUIT } msg_kind;

typedef struct msg {
    msg_kind kind;
    long seq;                /* record sequence number over the whole scan */
    mal_record_info info;    /* MSG_END */
    int n;
    run runs[];              /* MSG_RUNS */
} msg;

/* a finished record waiting for its turn to be printed */
typedef struct done_rec {
    long seq;                /* -1: free slot */
    int aborted;             /* cut by a read error: nothing to print */
    mal_record_info info;
    float probs[MAL_MAX_TYPES];
} done_rec;

/* Records in flight past next_print are bounded by the queues: the reader
 * deals round-robin, so while one worker holds record next_print the others
 * get at most one queue's worth of records each (a record takes >= 2
 * messages) plus those they finished. ring_size_for() leaves twice that, so
 * the slot of record next_print is always free and its worker never waits. */
static size_t ring_size_for(int jobs)
{
    return (size_t)jobs * (QUEUE_DEPTH + 2) * 2;
}

typedef struct worker {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full;
    msg *q[QUEUE_DEPTH];
    int head, len;
    void *scorer;
    struct pool *pool;
} worker;

typedef struct pool {
    mal_engine *engine;
    scan_out *out;
    worker *w;
    int n;
    /* printing in record order: finished records wait in a reorder ring
     * (slot seq % ring_size) and whoever completes record `next_print`
     * prints the run of ready ones; a worker waits only if its slot is taken */
    pthread_mutex_t print_mu;
    pthread_cond_t print_turn;
    long next_print;
    done_rec *ring;
    size_t ring_size;
    /* the reader's side */
    long seq;
    msg *pending;            /* runs being filled for the current record */
} pool;

static void queue_push(worker *w, msg *m)
{
    pthread_mutex_lock(&w->mu);
    while (w->len == QUEUE_DEPTH)
        pthread_cond_wait(&w->not_full, &w->mu);
    w->q[(w->head + w->len++) % QUEUE_DEPTH] = m;
    pthread_cond_signal(&w->not_empty);
    pthread_mutex_unlock(&w->mu);
}

static msg *queue_pop(worker *w)
{
    pthread_mutex_lock(&w->mu);
    while (w->len == 0)
        pthread_cond_wait(&w->not_empty, &w->mu);
    msg *m = w->q[w->head];
    w->head = (w->head + 1) % QUEUE_DEPTH;
    w->len--;
    pthread_cond_signal(&w->not_full);
    pthread_mutex_unlock(&w->mu);
    return m;
}

/* Hand a finished record to the printer: store it, then print every record
 * that is ready from next_print on. Output order = record order. */
static void finish_record(pool *p, long seq, const mal_record_info *info, const float *probs)
{
    pthread_mutex_lock(&p->print_mu);
    done_rec *slot = &p->ring[(size_t)seq % p->ring_size];
    while (slot->seq >= 0)   /* the ring is full that far ahead: wait for the printer */
        pthread_cond_wait(&p->print_turn, &p->print_mu);
    slot->seq = seq;
    slot->aborted = info == NULL;
    if (info) {
        slot->info = *info;
        memcpy(slot->probs, probs, sizeof slot->probs);
    }
    for (done_rec *r; (r = &p->ring[(size_t)p->next_print % p->ring_size])->seq == p->next_print;) {
        if (!r->aborted)
            emit(p->out, &r->info, r->probs);
        r->seq = -1;
        p->next_print++;
    }
    pthread_cond_broadcast(&p->print_turn);
    pthread_mutex_unlock(&p->print_mu);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    pool *p = w->pool;
    const mal_engine_ops *ops = p->engine->ops;
    for (;;) {
        msg *m = queue_pop(w);
        switch (m->kind) {
        case MSG_QUIT:
            free(m);
            return NULL;
        case MSG_BEGIN:
            ops->begin(w->scorer);
            break;
        case MSG_RUNS:
            for (int i = 0; i < m->n; i++)
                ops->calls(w->scorer, m->runs[i].id, m->runs[i].count);
            break;
        case MSG_END: {
            float probs[MAL_MAX_TYPES] = {0};
            ops->finish(w->scorer, probs);
            finish_record(p, m->seq, &m->info, probs);
            break;
        }
        case MSG_ABORT:   /* the record was cut by a read error: print nothing */
            finish_record(p, m->seq, NULL, NULL);
            break;
        }
        free(m);
    }
}

static msg *msg_new(msg_kind kind, long seq, int runs)
{
    msg *m = malloc(sizeof *m + (size_t)runs * sizeof(run));
    if (!m) {
        fprintf(stderr, "malscan: out of memory\n");
        exit(1);   /* the CLI may exit; there is no sensible partial result here */
    }
    m->kind = kind;
    m->seq = seq;
    m->n = 0;
    return m;
}

static worker *current(pool *p)
{
    return &p->w[p->seq % p->n];
}

static void flush_runs(pool *p)
{
    if (p->pending && p->pending->n) {
        queue_push(current(p), p->pending);
        p->pending = NULL;
    }
}

static int pool_begin(void *ctx, const mal_record_info *info)
{
    (void)info;
    pool *p = ctx;
    queue_push(current(p), msg_new(MSG_BEGIN, p->seq, 0));
    return 0;
}

static int pool_calls(void *ctx, int32_t id, uint64_t count)
{
    pool *p = ctx;
    if (!p->pending)
        p->pending = msg_new(MSG_RUNS, p->seq, CHUNK_RUNS);
    p->pending->runs[p->pending->n++] = (run){id, count};
    if (p->pending->n == CHUNK_RUNS)
        flush_runs(p);
    return 0;
}

static int pool_end(void *ctx, const mal_record_info *info)
{
    pool *p = ctx;
    flush_runs(p);
    msg *m = msg_new(MSG_END, p->seq, 0);
    m->info = *info;
    queue_push(current(p), m);
    p->seq++;
    return 0;
}

/* After a read error the record in progress (if any) is dropped: an ABORT
 * takes its sequence number and print turn, so order is kept either way. */
static void pool_abort_record(void *ctx)
{
    pool *p = ctx;
    free(p->pending);
    p->pending = NULL;
    queue_push(current(p), msg_new(MSG_ABORT, p->seq, 0));
    p->seq++;
}

/* ---- driver ---- */
static int load_labels(scan_out *o, const char *path, const mal_ensemble *en)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "malscan: %s: cannot open labels: %s\n", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long cap_labels = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' '))
            line[--len] = '\0';
        if (mal_type_index(en->types, en->n, line) < 0) {
            fprintf(stderr, "malscan: %s:%ld: '%.64s' is not one of the models' types\n", path,
                    o->nlabels + 1, line);
            free(line);
            fclose(f);
            return -1;
        }
        if (o->nlabels == cap_labels) {
            cap_labels = cap_labels ? cap_labels * 2 : 1024;
            char **nl = realloc(o->labels, (size_t)cap_labels * sizeof *nl);
            if (!nl) {
                fprintf(stderr, "malscan: out of memory\n");
                free(line);
                fclose(f);
                return -1;
            }
            o->labels = nl;
        }
        if (!(o->labels[o->nlabels] = strdup(line))) {
            fprintf(stderr, "malscan: out of memory\n");
            free(line);
            fclose(f);
            return -1;
        }
        o->nlabels++;
    }
    free(line);
    fclose(f);
    if (o->nlabels == 0) {
        fprintf(stderr, "malscan: %s: no labels\n", path);
        return -1;
    }
    return 0;
}

int malscan_scan(const malscan_args *a)
{
    int status = 0;
    mal_error e;
    mal_ensemble en;
    if (mal_ensemble_load_dir(&en, a->models, &e) < 0) {
        fprintf(stderr, "malscan: %s\n", e.msg);
        return 2;
    }
    mal_input_list inputs;
    mal_input_list_init(&inputs);
    scan_out out = {.en = &en, .json = a->json};
    mal_confusion_init(&out.conf, en.n);
    mal_engine engine;
    int engine_ok = strcmp(a->engine, "ref") == 0 ? mal_engine_ref(&engine, &en, &e)
                                                   : mal_engine_jit(&engine, &en, &e);
    if (engine_ok < 0 || (a->labels && load_labels(&out, a->labels, &en) < 0)) {
        if (engine_ok < 0)
            fprintf(stderr, "malscan: %s\n", e.msg);
        else
            engine.ops->engine_free(&engine);
        status = 2;
        goto done;
    }
    status = malscan_collect_inputs(a, &inputs);

    if (a->jobs == 1) {
        direct_ctx d = {&engine, engine.ops->scorer_new(&engine, &e), &out};
        if (!d.scorer) {
            fprintf(stderr, "malscan: %s\n", e.msg);
            status = 1;
        } else {
            mal_trace_sink sink = {&d, direct_begin, direct_calls, NULL, direct_end};
            status |= malscan_read_inputs(&inputs, &en.models[0].vocab, &sink, NULL, NULL);
            engine.ops->scorer_free(d.scorer);
        }
    } else {
        pool p = {.engine = &engine, .out = &out, .n = a->jobs};
        p.w = calloc((size_t)a->jobs, sizeof *p.w);
        pthread_mutex_init(&p.print_mu, NULL);
        pthread_cond_init(&p.print_turn, NULL);
        p.ring_size = ring_size_for(a->jobs);
        p.ring = calloc(p.ring_size, sizeof *p.ring);
        for (size_t k = 0; p.ring && k < p.ring_size; k++)
            p.ring[k].seq = -1;
        int started = 0;
        if (!p.w || !p.ring) {
            fprintf(stderr, "malscan: out of memory for %d workers\n", a->jobs);
            status = 1;
        }
        for (; p.w && p.ring && started < a->jobs; started++) {
            worker *w = &p.w[started];
            w->pool = &p;
            pthread_mutex_init(&w->mu, NULL);
            pthread_cond_init(&w->not_empty, NULL);
            pthread_cond_init(&w->not_full, NULL);
            if (!(w->scorer = engine.ops->scorer_new(&engine, &e)) ||
                pthread_create(&w->thread, NULL, worker_main, w) != 0) {
                if (w->scorer)
                    engine.ops->scorer_free(w->scorer);
                fprintf(stderr, "malscan: cannot start worker %d: %s\n", started,
                        w->scorer ? "pthread_create failed" : e.msg);
                status = 1;
                break;
            }
        }
        if (started == a->jobs) {
            mal_trace_sink sink = {&p, pool_begin, pool_calls, NULL, pool_end};
            status |= malscan_read_inputs(&inputs, &en.models[0].vocab, &sink, pool_abort_record, &p);
        }
        for (int k = 0; k < started; k++)
            queue_push(&p.w[k], msg_new(MSG_QUIT, 0, 0));
        for (int k = 0; k < started; k++) {
            pthread_join(p.w[k].thread, NULL);
            engine.ops->scorer_free(p.w[k].scorer);
        }
        free(p.w);
        free(p.ring);
    }
    fflush(stdout);
    if (out.labels) {
        if (out.records != out.nlabels) {
            fprintf(stderr, "malscan: %s: %ld labels for %ld records scanned\n", a->labels,
                    out.nlabels, out.records);
            status = 1;
        }
        print_summary(&out);
    }
    engine.ops->engine_free(&engine);
done:
    for (long i = 0; i < out.nlabels; i++)
        free(out.labels[i]);
    free(out.labels);
    mal_ensemble_free(&en);
    mal_input_list_free(&inputs);
    if (fflush(stdout) != 0) {
        perror("malscan: stdout");
        status = 1;
    }
    return status;
}
