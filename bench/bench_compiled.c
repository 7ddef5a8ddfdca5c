/* bench_compiled.c - speed of compiled models, streaming one call at a time.
 *
 *   bench_compiled [NCALLS]      (run from the source root; bench/bench_compiled.sh)
 *
 * Prints calls/s for one model and for the eight-model ensemble (a state step
 * and a probability after every call, as the PyTorch peer's streaming test):
 * the float reference, the gcc -O2 build of the standalone sources (a shared
 * object), and the libtcc JIT build; libtcc compile + relocate time for eight
 * models; bytes of code and constant data per model. Models: out/models/<Type>.json
 * when all eight exist, otherwise eight synthetic models of the paper's shape
 * (V342 E16 H100 H100, weights uniform ±0.3; speed does not depend on values).
 * Times are CPU time of this thread (CLOCK_THREAD_CPUTIME_ID), best of 3. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "malcc.h"
#include "reference.h"

#define NM 8
static const char *types[NM] = {"Adware", "Backdoor", "Downloader", "Dropper",
                                "Spyware", "Trojan",   "Virus",      "Worms"};

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

/* the first n known calls of the sample, in order */
static int32_t *load_calls(const mal_vocab *v, int n)
{
    gzFile g = gzopen("data/mal-api-2019-sample/calls.txt.gz", "rb");
    if (!g)
        return NULL;
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)n);
    char name[300];
    int len = 0, k = 0, c;
    while (k < n && (c = gzgetc(g)) >= 0) {
        if (c == ' ' || c == '\n') {
            int id = len ? mal_vocab_lookup(v, name, (size_t)len) : -1;
            if (id >= 0)
                ids[k++] = id;
            len = 0;
        } else if (len < (int)sizeof name)
            name[len++] = (char)c;
    }
    gzclose(g);
    return k == n ? ids : (free(ids), NULL);
}

typedef struct engine {
    void (*init)(void *);
    void (*step)(void *, int);
    float (*prob)(const void *);
    size_t size;
} engine;

static volatile float sink;

/* calls/s streaming `n` calls through models[0..k-1] (best of 3) */
static double run_compiled(const engine *en, int k, const int32_t *ids, int n)
{
    void *st[NM];
    for (int m = 0; m < k; m++)
        st[m] = malloc(en[m].size);
    double best = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        for (int m = 0; m < k; m++)
            en[m].init(st[m]);
        double t0 = cpu_s();
        float acc = 0;
        for (int i = 0; i < n; i++)
            for (int m = 0; m < k; m++) {
                en[m].step(st[m], ids[i]);
                acc += en[m].prob(st[m]);
            }
        double t = cpu_s() - t0;
        sink = acc;
        if (t < best)
            best = t;
    }
    for (int m = 0; m < k; m++)
        free(st[m]);
    return n / best;
}

static double run_reference(const mal_model *models, int k, const int32_t *ids, int n)
{
    mal_ref_state st[NM];
    for (int m = 0; m < k; m++)
        mal_ref_state_init(&models[m], &st[m], NULL);
    double t0 = cpu_s();
    float acc = 0;
    for (int i = 0; i < n; i++)
        for (int m = 0; m < k; m++) {
            mal_ref_step(&models[m], &st[m], ids[i]);
            acc += mal_ref_prob(&models[m], &st[m]);
        }
    double t = cpu_s() - t0;
    sink = acc;
    for (int m = 0; m < k; m++)
        mal_ref_state_free(&st[m]);
    return n / t;
}

/* Build the standalone sources in `gen` with gcc and `flags` into a shared
 * object in `dir`, load it and fill eg[] from its per-model window API.
 * Returns the dlopen handle, NULL on failure (message printed). */
static void *load_gcc_build(const char *gen, const char *dir, const char *tag, const char *flags,
                            engine eg[NM], double *build_ms)
{
    char so[700], cmd[2000];
    snprintf(so, sizeof so, "%s/models-%s.so", dir, tag);
    snprintf(cmd, sizeof cmd, "gcc %s -std=c99 -ffp-contract=off -fPIC -shared %s/*.c -o %s", flags, gen, so);
    double t0 = wall_ms();
    if (system(cmd) != 0) {
        fprintf(stderr, "bench_compiled: %s failed\n", cmd);
        return NULL;
    }
    *build_ms = wall_ms() - t0;
    void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "bench_compiled: dlopen: %s\n", dlerror());
        return NULL;
    }
    for (int i = 0; i < NM; i++) {
        char id[MALCC_IDENT_MAX + 1], nm[200];
        malcc_ident(types[i], id, sizeof id);
        snprintf(nm, sizeof nm, "malstm_%s_window_init", id);
        *(void **)&eg[i].init = dlsym(h, nm);
        snprintf(nm, sizeof nm, "malstm_%s_window_step", id);
        *(void **)&eg[i].step = dlsym(h, nm);
        snprintf(nm, sizeof nm, "malstm_%s_window_prob", id);
        *(void **)&eg[i].prob = dlsym(h, nm);
        snprintf(nm, sizeof nm, "malstm_%s_window_bytes", id);
        const size_t *sz = dlsym(h, nm);
        eg[i].size = sz ? *sz : 0;
        if (!eg[i].init || !eg[i].step || !eg[i].prob || !sz) {
            fprintf(stderr, "bench_compiled: %s lacks the window API of %s\n", so, types[i]);
            dlclose(h);
            return NULL;
        }
    }
    return h;
}

static long section_bytes(const char *obj, const char *section)
{
    char cmd[1200], line[256];
    snprintf(cmd, sizeof cmd, "size -A %s", obj);
    FILE *p = popen(cmd, "r");
    long total = 0;
    while (p && fgets(line, sizeof line, p)) {
        char nm[128];
        long sz;
        if (sscanf(line, "%127s %ld", nm, &sz) == 2 && strncmp(nm, section, strlen(section)) == 0)
            total += sz;
    }
    if (p)
        pclose(p);
    return total;
}

int main(int argc, char **argv)
{
    int ncalls = argc > 1 ? atoi(argv[1]) : 2000;
    mal_error e = {{0}};
    mal_vocab v;
    if (mal_vocab_load(&v, "data/mal-api-2019-sample/api_index.txt", &e) < 0) {
        fprintf(stderr, "bench_compiled: %s (run from the source root)\n", e.msg);
        return 1;
    }
    mal_model models[NM];
    const mal_model *mp[NM];
    int trained = 1;
    for (int i = 0; i < NM; i++) {
        char path[256];
        snprintf(path, sizeof path, "out/models/%s.json", types[i]);
        if (trained && mal_model_load(&models[i], path, &e) != 0) {
            for (int j = 0; j < i; j++)
                mal_model_free(&models[j]);
            trained = 0;
            i = -1;
            continue;
        }
        if (!trained &&
            malcc_synthetic_model(&models[i], &v, types[i], 16, 100, 100,
                                  i < 4 ? MAL_ACT_TANH : MAL_ACT_SOFTSIGN, (uint64_t)i + 1, 0.3f, &e) < 0) {
            fprintf(stderr, "bench_compiled: %s\n", e.msg);
            return 1;
        }
        mp[i] = &models[i];
    }
    int32_t *ids = load_calls(&v, ncalls);
    if (!ids) {
        fprintf(stderr, "bench_compiled: cannot read %d calls from the sample\n", ncalls);
        return 1;
    }
    printf("models: %s (%d x V%d E%d H%d H%d); %d calls of the sample, streamed one at a time\n",
           trained ? "out/models" : "synthetic", NM, v.size, models[0].embed, models[0].l1.hidden,
           models[0].l2.hidden, ncalls);

    /* ---- JIT: compile + relocate, best of 5 ---- */
    malcc_jit j;
    double best_tcc = 1e30, best_total = 1e30;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = wall_ms();
        if (malcc_jit_build(mp, NM, "malstm", &j, &e) < 0) {
            fprintf(stderr, "bench_compiled: %s\n", e.msg);
            return 1;
        }
        double total = wall_ms() - t0, tcc = j.compile_ms + j.relocate_ms;
        if (tcc < best_tcc)
            best_tcc = tcc;
        if (total < best_total)
            best_total = total;
        if (rep < 4)
            malcc_jit_free(&j);
    }
    printf("libtcc, 8 models: compile + relocate %.1f ms (tables + render + tcc: %.1f ms); "
           "%zu bytes of C parsed\n", best_tcc, best_total, j.source_bytes);
    printf("JIT per model: code %zu bytes (tcc image / 8, incl. ensemble), constant tables %zu bytes "
           "(bound by address)\n", j.code_bytes / NM, j.table_bytes / NM);

    /* ---- gcc -O2 build of the standalone sources ---- */
    char dir[] = "/tmp/bench_compiled.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char gen[600], cmd[2000], obj[700];
    snprintf(gen, sizeof gen, "%s/gen", dir);
    malcc_output out;
    malcc_opts o = {.prefix = "malstm"};
    if (malcc_generate(mp, NM, &o, &out, &e) < 0 || malcc_write_dir(&out, gen, &e) < 0) {
        fprintf(stderr, "bench_compiled: %s\n", e.msg);
        return 1;
    }
    size_t src_bytes = 0;
    for (int i = 0; i < out.n; i++)
        src_bytes += out.files[i].len;
    malcc_output_free(&out);
    /* the portable build (-O2, SSE2 on x86-64) and one for this machine's
     * vector units (-O3 -march=native; test_compile checks it gives the same
     * bits); BENCH_GCC_FLAGS adds flags to the first, to measure them */
    char flags[600];
    snprintf(flags, sizeof flags, "-O2 %s", getenv("BENCH_GCC_FLAGS") ? getenv("BENCH_GCC_FLAGS") : "");
    engine eg[NM], en[NM], et[NM];
    double gcc_ms, native_ms;
    void *h = load_gcc_build(gen, dir, "o2", flags, eg, &gcc_ms);
    void *hn = h ? load_gcc_build(gen, dir, "native", "-O3 -march=native", en, &native_ms) : NULL;
    if (!h || !hn)
        return 1;
    snprintf(cmd, sizeof cmd, "gcc -O2 -std=c99 -ffp-contract=off -c %s/adware.c -o %s/adware.o", gen, dir);
    snprintf(obj, sizeof obj, "%s/adware.o", dir);
    long text = system(cmd) == 0 ? section_bytes(obj, ".text") : -1;
    long rodata = text >= 0 ? section_bytes(obj, ".rodata") : -1;
    printf("gcc -O2 build: %zu bytes of standalone C, compiled in %.0f ms (-O3 -march=native: %.0f ms); "
           "per model (adware.o): code %ld bytes, constant data %ld bytes\n",
           src_bytes, gcc_ms, native_ms, text, rodata);
    for (int i = 0; i < NM; i++)
        et[i] = (engine){j.models[i].window_init, j.models[i].window_step, j.models[i].window_prob,
                         j.models[i].window_size};

    /* ---- streaming ---- */
    int nref = ncalls < 500 ? ncalls : 500;
    double r1 = run_reference(models, 1, ids, nref), r8 = run_reference(models, NM, ids, nref / 4);
    double g1 = run_compiled(eg, 1, ids, ncalls), g8 = run_compiled(eg, NM, ids, ncalls);
    double n1 = run_compiled(en, 1, ids, ncalls), n8 = run_compiled(en, NM, ids, ncalls);
    double t1 = run_compiled(et, 1, ids, ncalls), t8 = run_compiled(et, NM, ids, ncalls);
    printf("\nstreaming, batch 1, a score after every call (calls/s, CPU time, 1 thread):\n");
    printf("  %-34s %12s %12s\n", "engine", "1 model", "8 models");
    printf("  %-34s %12.0f %12.0f\n", "float reference (double accum.)", r1, r8);
    printf("  %-34s %12.0f %12.0f\n", "gcc -O2 build, int8", g1, g8);
    printf("  %-34s %12.0f %12.0f\n", "gcc -O3 -march=native build, int8", n1, n8);
    printf("  %-34s %12.0f %12.0f\n", "libtcc JIT build, int8", t1, t8);
    printf("  gcc -O2 / tcc: %.2fx, gcc -O3 -march=native / tcc: %.2fx (target: tcc within 3x)\n", g8 / t8,
           n8 / t8);
    printf("  gcc 8-model ensemble vs float reference: %.1fx\n", g8 / r8);
    printf("RESULT gcc8=%.0f native8=%.0f tcc8=%.0f ref8=%.0f gcc1=%.0f native1=%.0f tcc1=%.0f ref1=%.0f "
           "tcc_ms=%.1f\n", g8, n8, t8, r8, g1, n1, t1, r1, best_tcc);

    dlclose(hn);
    dlclose(h);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_compiled: could not remove %s\n", dir);
    malcc_jit_free(&j);
    free(ids);
    for (int i = 0; i < NM; i++)
        mal_model_free(&models[i]);
    mal_vocab_free(&v);
    return 0;
}
