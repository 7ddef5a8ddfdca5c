/* test_compile_parity.c - compiled int8 models against the float reference on
 * the sample's 648 real traces (whole traces, each model applying its own
 * scoring rule: the paper's reads the last 342 calls), and the libtcc JIT build
 * against the gcc build of the standalone sources, bit for bit.
 *
 * Models: eight synthetic models of the paper's shape (V342 E16 H100 H100,
 * weights uniform ±0.3), covering all four activations and, for two of them,
 * a strided/dedup/mean-pool/max-combine/calibrated scoring rule.
 * MALSTM_PARITY_MODELS=DIR names trained models to use instead (below).
 *
 * Run time: the float reference is slow under the sanitizers (~1.8M steps x 2
 * layers), and so is tcc's code on a busy box (~30 us per model step). An
 * ASan build therefore compares every 16th trace (41) against the reference
 * and every 8th trace (81) JIT vs gcc; a plain build (build-cc-rel) does all
 * 648 for both. MALSTM_PARITY_EVERY=N / MALSTM_PARITY_BITS_EVERY=N override.
 *
 * Label agreement: with trained models (MALSTM_PARITY_MODELS=DIR holding the
 * eight <Type>.json; scripts/test.sh trains them on the dev split's train part
 * and runs this test on them in a Release build) the target is >= 99%, as the
 * issue states it. Eight random models give
 * near-tied votes (their probabilities cluster), so there the test asserts
 * >= 90% and prints the figure; see docs/quantisation.md. */
#include "test_support.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "malcc.h"
#include "reference.h"

#define NMODELS 8
#if defined(__SANITIZE_ADDRESS__)
#define DEFAULT_EVERY 16
#define DEFAULT_BITS_EVERY 8
#else
#define DEFAULT_EVERY 1
#define DEFAULT_BITS_EVERY 1
#endif


static const char *types[NMODELS] = {"Adware", "Backdoor", "Downloader", "Dropper",
                                     "Spyware", "Trojan",   "Virus",      "Worms"};

typedef struct trace {
    int32_t *ids;
    size_t n;
} trace;

static trace *traces;
static int ntraces, nloaded;
static char *trace_text;   /* the traces as space-separated names, one per line */
static size_t trace_text_len;
static mal_model models[NMODELS];
static const mal_model *mptr[NMODELS];
static int trained_models;

static void load_traces(void)
{
    size_t len;
    trace_text = read_gz(SAMPLE_CALLS, &len);
    trace_text_len = len;
    traces = calloc(1000, sizeof *traces);
    char *p = trace_text;
    while (*p && ntraces < 1000) {
        char *eol = strchr(p, '\n');
        size_t L = eol ? (size_t)(eol - p) : strlen(p);
        trace *t = &traces[ntraces++];
        t->ids = malloc(sizeof(int32_t) * (L / 2 + 1));
        size_t i = 0;
        while (i < L) {
            size_t j = i;
            while (j < L && p[j] != ' ')
                j++;
            if (j > i) {
                int id = mal_vocab_lookup(&sample_vocab, p + i, j - i);
                if (id >= 0)
                    t->ids[t->n++] = id;
            }
            i = j + 1;
        }
        p += L + (eol ? 1 : 0);
    }
}

static int setup(void **state)
{
    (void)state;
    mal_error e;
    assert_int_equal(setup_sample_vocab(state), 0);
    int trained = 0;
    const char *model_dir = getenv("MALSTM_PARITY_MODELS");
    for (int i = 0; i < NMODELS; i++) {
        if (model_dir && *model_dir) {
            /* asked for trained models: each must load, no silent fallback */
            char path[4096];
            snprintf(path, sizeof path, "%s/%s.json", model_dir, types[i]);
            if (mal_model_load(&models[i], path, &e) != 0)
                fail_msg("MALSTM_PARITY_MODELS: %s", e.msg);
            trained++;
        } else {
            static const mal_act acts[NMODELS] = {MAL_ACT_TANH,     MAL_ACT_TANH,     MAL_ACT_SIGMOID,
                                                  MAL_ACT_SOFTMAX,  MAL_ACT_SOFTSIGN, MAL_ACT_SOFTSIGN,
                                                  MAL_ACT_TANH,     MAL_ACT_SOFTSIGN};
            assert_int_equal(malcc_synthetic_model(&models[i], &sample_vocab, types[i], 16, 100, 100, acts[i],
                                                   (uint64_t)i + 11, 0.3f, &e),
                             0);
        }
        mptr[i] = &models[i];
    }
    trained_models = trained == NMODELS;
    if (trained < NMODELS) {
        /* two models with the other scoring rule: strided windows over the
         * de-duplicated trace, mean pooling, max/mean combine, calibration */
        models[1].scoring = (mal_scoring){.window = 100, .stride = 50, .max_windows = 0, .dedup = 1,
                                          .combine = MAL_COMBINE_MEAN, .calib_a = 1.5f, .calib_b = -0.25f};
        models[1].pool = MAL_POOL_MEAN;
        models[6].scoring = (mal_scoring){.window = 64, .stride = 64, .max_windows = 3, .dedup = 0,
                                          .combine = MAL_COMBINE_MAX, .calib_a = 0.8f, .calib_b = 0.1f};
    }
    load_traces();
    assert_int_equal(ntraces, 648);
    nloaded = ntraces;
    if (getenv("MALSTM_PARITY_TRACES"))   /* debugging only: fewer traces */
        ntraces = atoi(getenv("MALSTM_PARITY_TRACES"));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < NMODELS; i++)
        mal_model_free(&models[i]);
    for (int i = 0; i < nloaded; i++)
        free(traces[i].ids);
    free(traces);
    free(trace_text);
    return teardown_sample_vocab(state);
}

static int argmax(const float *p, int n)
{
    int b = 0;
    for (int k = 1; k < n; k++)
        if (p[k] > p[b])
            b = k;
    return b;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint32_t bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

/* The float reference over every `every`-th trace, on two threads: it is the
 * slowest part of the test command (~7-9 min for 648 traces on one core of the
 * 2-core box) and the reference is pure (models and traces are read-only). */
typedef struct ref_job {
    int first, step;
    float *pr;   /* [ntraces][NMODELS] */
} ref_job;

static void *ref_worker(void *arg)
{
    ref_job *j = arg;
    for (int t = j->first; t < ntraces; t += j->step)
        for (int k = 0; k < NMODELS; k++)
            j->pr[(size_t)t * NMODELS + k] = mal_ref_score_trace(&models[k], traces[t].ids, traces[t].n);
    return NULL;
}

static void reference_scores(int every, float *pr)
{
    ref_job jobs[2] = {{0, 2 * every, pr}, {every, 2 * every, pr}};
    pthread_t th;
    int threaded = pthread_create(&th, NULL, ref_worker, &jobs[1]) == 0;
    if (!threaded)   /* no second thread: this one does both halves */
        ref_worker(&jobs[1]);
    ref_worker(&jobs[0]);
    if (threaded)
        pthread_join(th, NULL);
}

static void test_parity(void **state)
{
    (void)state;
    mal_error e = {{0}};
    malcc_jit j;
    setvbuf(stdout, NULL, _IONBF, 0);
    assert_int_equal(malcc_jit_build(mptr, NMODELS, "malstm", &j, &e), 0);
    print_message("jit: %d models, %zu bytes of source, compile %.1f ms + relocate %.1f ms\n", j.n,
                  j.source_bytes, j.compile_ms, j.relocate_ms);
    /* models are in alphabetical order in the JIT; so are types[] */
    for (int i = 0; i < NMODELS; i++)
        assert_string_equal(j.models[i].type, types[i]);

    /* ---- gcc build of the standalone sources with --main, started now so that
     * it runs on the other core while this one runs the JIT build ---- */
    char *dir = tmp_dir(), *gen = tmp_path(dir, "gen"), *exe = tmp_path(dir, "classify");
    char *in = tmp_path(dir, "traces.txt"), *outp = tmp_path(dir, "scores.txt");
    malcc_output out;
    malcc_opts o = {.prefix = "malstm", .with_main = 1, .command = "test_compile_parity"};
    assert_int_equal(malcc_generate(mptr, NMODELS, &o, &out, &e), 0);
    assert_int_equal(malcc_write_dir(&out, gen, &e), 0);
    malcc_output_free(&out);
    write_file(in, trace_text, trace_text_len);
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "(gcc -O2 -std=c99 -Wall -Wextra -Werror -pedantic -ffp-contract=off %s/*.c -o %s && "
             "%s < %s > %s) 2>&1", gen, exe, exe, in, outp);
    FILE *gcc_run = popen(cmd, "r");
    assert_non_null(gcc_run);

    int bits_every = DEFAULT_BITS_EVERY;
    if (getenv("MALSTM_PARITY_BITS_EVERY"))
        bits_every = atoi(getenv("MALSTM_PARITY_BITS_EVERY"));
    if (bits_every < 1)
        bits_every = 1;
    int every = DEFAULT_EVERY;
    if (getenv("MALSTM_PARITY_EVERY"))
        every = atoi(getenv("MALSTM_PARITY_EVERY"));
    if (every < 1)
        every = 1;
    if (every % bits_every)
        every = bits_every * ((every + bits_every - 1) / bits_every);   /* reference traces have JIT scores */
    double t0 = now_s();
    float *pj = calloc(NMODELS * (size_t)ntraces, sizeof(float));
    void *st = malloc(j.state_size);
    int jit_traces = 0;
    for (int t = 0; t < ntraces; t += bits_every, jit_traces++) {
        j.init(st);
        if (jit_traces % 2 == 0) {   /* call by call */
            for (size_t k = 0; k < traces[t].n; k++)
                j.step(st, traces[t].ids[k]);
        } else {   /* step_many in chunks that cut windows short, or span many: the same bits */
            const size_t chunk = jit_traces % 4 == 1 ? 97 : 4096;
            for (size_t k = 0; k < traces[t].n; k += chunk) {
                const size_t m = traces[t].n - k < chunk ? traces[t].n - k : chunk;
                j.step_many(st, traces[t].ids + k, m);
            }
        }
        j.score(st, pj + (size_t)t * NMODELS);
    }

    print_message("jit: scored %d traces (every %d-th) in %.1f s\n", jit_traces, bits_every,
                  now_s() - t0);
    t0 = now_s();
    char log[4096];
    size_t nlog = fread(log, 1, sizeof log - 1, gcc_run);
    log[nlog] = 0;
    int rc = pclose(gcc_run);
    if (rc != 0)
        print_error("gcc build or run failed (status %d): %s\n", rc, log);
    assert_int_equal(rc, 0);
    size_t olen;
    char *scores = read_file(outp, &olen);
    char *p = scores;
    int mismatches = 0;
    for (int t = 0; t < ntraces; t++) {
        char label[64];
        int used = 0;
        assert_int_equal(sscanf(p, "%63s%n", label, &used), 1);
        p += used;
        const float *q = pj + (size_t)t * NMODELS;
        if (t % bits_every) {   /* not scored by the JIT in this run */
            for (int k = 0; k < NMODELS; k++)
                strtof(p, &p);
            continue;
        }
        assert_string_equal(label, types[argmax(q, NMODELS)]);
        for (int k = 0; k < NMODELS; k++) {
            float g = strtof(p, &p);
            if (bits(g) != bits(q[k]) && mismatches++ < 5)
                print_error("trace %d model %s: gcc %.9g vs tcc %.9g\n", t + 1, types[k], (double)g,
                            (double)q[k]);
        }
    }
    assert_int_equal(mismatches, 0);
    print_message("gcc -O2 build == tcc JIT build, bit for bit, on %d traces x %d models (waited %.1f s "
                  "for gcc)\n", jit_traces, NMODELS, now_s() - t0);
    t0 = now_s();
    free(scores);

    /* the per-model API agrees with the ensemble's scores (same code path) */
    void *ms = malloc(j.models[0].state_size);
    j.models[0].init(ms);
    for (size_t k = 0; k < traces[0].n; k++)
        j.models[0].step(ms, traces[0].ids[k]);
    assert_int_equal(bits(j.models[0].score(ms)), bits(pj[0]));
    free(ms);

    /* ---- the float reference ---- */
    double maxd[NMODELS] = {0}, sumd[NMODELS] = {0};
    int worst[NMODELS] = {0};   /* 1-based line of the worst trace per model, for the log */
    int agree = 0, compared = 0;
    float *prs = malloc(sizeof(float) * (size_t)ntraces * NMODELS);
    assert_non_null(prs);
    reference_scores(every, prs);
    for (int t = 0; t < ntraces; t += every) {
        const float *pr = prs + (size_t)t * NMODELS;
        for (int k = 0; k < NMODELS; k++) {
            double d = fabs((double)pr[k] - (double)pj[(size_t)t * NMODELS + k]);
            if (d > maxd[k])
                maxd[k] = d, worst[k] = t + 1;
            sumd[k] += d;
        }
        agree += argmax(pr, NMODELS) == argmax(pj + (size_t)t * NMODELS, NMODELS);
        compared++;
    }
    for (int k = 0; k < NMODELS; k++) {
        print_message("%-10s %-8s |p_int8 - p_float| max %.5f (trace %d) mean %.6f\n", types[k],
                      mal_act_name(models[k].act), maxd[k], worst[k], sumd[k] / compared);
        assert_true(maxd[k] <= 0.05);
        assert_true(sumd[k] / compared <= 0.01);
    }
    print_message("labels agree on %d of %d traces (%.2f%%; every %d-th trace; reference %.1f s, 2 threads)\n",
                  agree, compared, 100.0 * agree / compared, every, now_s() - t0);
    assert_true(agree >= (trained_models ? 0.99 : 0.90) * compared);

    free(st);
    free(pj);
    free(prs);
    malcc_jit_free(&j);
    rm_rf(dir);
    free(dir), free(gen), free(exe), free(in), free(outp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parity),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
