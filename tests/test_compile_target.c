/* test_compile_target.c - malcc --target cortex-m, checked on the host.
 *
 * The cortex-m sources (both profiles) build with the host gcc as strict
 * freestanding-style C99 (-std=c99 -Wall -Wextra -Werror -pedantic
 * -fno-builtin, no -lm) and reference no malloc or libm symbol; then, on
 * small odd-sized models of every activation and scoring rule and on sample
 * traces:
 *   fast   scores equal the host target's bit for bit (the host target's
 *          generated main, gcc -O2);
 *   small  scores equal a direct computation of the small-profile
 *          arithmetic: the test quantises the embedding and W_x1 itself
 *          (per-row max|w|/127, round half away from zero), forms every
 *          token's layer-1 input row as b1[r] + (sx[r] * se[v]) * sum_e
 *          wx[r][e] * emb[v][e] in float, in that order, and puts that table
 *          in place of the folded one in the host target's sources: the rest
 *          of the arithmetic is the host target's, so the bits must agree;
 *          and they stay within 0.03 of the float reference.
 * Plus the CLI: --target/--profile errors, the reserved name 'vocab', the
 * help text. The board itself: tests/cli_embedded_qemu.sh. */
#include "test_support.h"
#include "odd_models.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "malcc.h"
#include "reference.h"

/* Traces: empty, short, with runs and an unknown name, and the last 40
 * calls of the first sample traces. Written to `path`, one per line. */
static char *traces_text(int nsample)
{
    size_t len;
    char *calls = read_gz(SAMPLE_CALLS, &len);
    size_t cap = 4096 + (size_t)nsample * 40 * 64, n = 0;
    char *out = malloc(cap);
    assert_non_null(out);
    n += (size_t)snprintf(out + n, cap - n, "\nntcreatefile\n"
                                            "ntcreatefile ntcreatefile NtReadFile ntreadfile x_unknown ldrloaddll\n");
    char *line = calls;
    for (int t = 0; t < nsample && *line; t++) {
        char *end = strchr(line, '\n');
        if (!end)
            end = line + strlen(line);
        /* the last 40 space-separated names of the line */
        char *start = end;
        int words = 0;
        while (start > line && words < 40) {
            start--;
            if (*start == ' ')
                words++;
        }
        if (*start == ' ')
            start++;
        size_t L = (size_t)(end - start);
        if (L > 40 * 60)
            L = 40 * 60;
        assert_true(n + L + 2 < cap);
        memcpy(out + n, start, L);
        n += L;
        out[n++] = '\n';
        line = *end ? end + 1 : end;
    }
    out[n] = 0;
    free(calls);
    return out;
}

/* Generate into `dir` with the given options (through the library). */
static void generate(const mal_model *const *mp, int n, malcc_target target, malcc_profile profile,
                     const char *dir)
{
    mal_error e = {{0}};
    malcc_output o;
    malcc_opts opts = {.prefix = "t", .with_main = 1, .command = "test_compile_target",
                       .target = target, .profile = profile};
    if (malcc_generate(mp, n, &opts, &o, &e) < 0)
        print_error("%s\n", e.msg);
    assert_int_equal(malcc_write_dir(&o, dir, &e), 0);
    malcc_output_free(&o);
}

/* Build `gen` (all .c files) strictly, run it on `in`; returns the output. */
static char *build_and_run(const char *gen, const char *exe, const char *in, const char *extra)
{
    char *log = NULL;
    int rc = run_capture(&log, "cd %s && gcc -O2 -std=c99 -Wall -Wextra -Werror -pedantic "
                               "-ffp-contract=off %s -c *.c 2>&1 && gcc *.o -o %s 2>&1 && %s < %s",
                         gen, extra, exe, exe, in);
    if (rc != 0)
        print_error("%s\n", log);
    assert_int_equal(rc, 0);
    return log;
}

/* What the model objects (all but main.o) leave undefined, one name a line. */
static char *undefined_symbols(const char *gen)
{
    char *log = NULL;
    int rc = run_capture(&log, "cd %s && ls *.o | grep -v '^main\\.o$' | xargs nm -u | "
                               "awk 'NF == 2 {print $2}' | sort -u",
                         gen);
    assert_int_equal(rc, 0);
    return log;
}

static int ident_name(const char *s, const char *name)
{
    const size_t L = strlen(name);
    for (const char *p = s; (p = strstr(p, name)) != NULL; p += L)
        if ((p == s || p[-1] == '\n') && (p[L] == '\n' || p[L] == 0))
            return 1;
    return 0;
}

/* round half away from zero, as lround */
static int8_t q8(double x)
{
    long v = lround(x);
    return (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
}

/* The small profile computed here, independently of compiler/quant.c:
 * tok[v][r] = b1[r] + (sx[r] * se[v]) * sum_e wq[r][e] * eq[v][e]. */
static float *small_tok(const mal_model *m)
{
    const int V = m->vocab.size, E = m->embed, G = 4 * m->l1.hidden;
    int8_t *eq = malloc((size_t)V * E), *wq = malloc((size_t)G * E);
    float *se = malloc(sizeof(float) * V), *sx = malloc(sizeof(float) * G);
    float *tok = malloc(sizeof(float) * (size_t)V * G);
    assert_true(eq && wq && se && sx && tok);
    for (int pass = 0; pass < 2; pass++) {
        const float *w = pass ? m->l1.wx : m->embedding;
        const int R = pass ? G : V;
        int8_t *q = pass ? wq : eq;
        float *s = pass ? sx : se;
        for (int r = 0; r < R; r++) {
            double amax = 0;
            for (int k = 0; k < E; k++)
                amax = fmax(amax, fabs((double)w[(size_t)r * E + k]));
            for (int k = 0; k < E; k++)
                q[(size_t)r * E + k] = amax > 0 ? q8(127.0 * (double)w[(size_t)r * E + k] / amax) : 0;
            s[r] = (float)(amax / 127.0);
        }
    }
    for (int v = 0; v < V; v++)
        for (int r = 0; r < G; r++) {
            int32_t acc = 0;
            for (int k = 0; k < E; k++)
                acc += (int32_t)wq[(size_t)r * E + k] * eq[(size_t)v * E + k];
            /* float, contraction off (the build's -ffp-contract=off): each
             * operation rounded on its own, in the generated code's order */
            tok[(size_t)v * G + r] = m->l1.b[r] + (sx[r] * se[v]) * (float)acc;
        }
    free(eq), free(wq), free(se), free(sx);
    return tok;
}

/* Replace the folded table `t_<ident>_tok` of a host-target source with `tok`. */
static void patch_tok(const char *path, const char *ident, const float *tok, int V, int G)
{
    size_t len;
    char *text = read_file(path, &len), decl[128];
    snprintf(decl, sizeof decl, "static const float t_%s_tok[%d][%d] = {\n", ident, V, G);
    char *at = strstr(text, decl);
    assert_non_null(at);
    char *end = strstr(at, "\n};\n");
    assert_non_null(end);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fwrite(text, 1, (size_t)(at - text), f);
    fputs(decl, f);
    for (int v = 0; v < V; v++) {
        fputs("    {", f);
        for (int r = 0; r < G; r++)
            fprintf(f, "%af%s", (double)tok[(size_t)v * G + r], r + 1 < G ? ", " : "");
        fputs(v + 1 < V ? "},\n" : "}", f);
    }
    fputs(end, f);
    fclose(f);
    free(text);
}

static void test_cortex_m_on_host(void **state)
{
    (void)state;
    mal_model m[4];
    odd_models(m);
    const mal_model *mp[4] = {&m[0], &m[1], &m[2], &m[3]};
    char *dir = tmp_dir(), *in = tmp_path(dir, "in.txt");
    char *g_host = tmp_path(dir, "host"), *g_fast = tmp_path(dir, "fast"), *g_small = tmp_path(dir, "small");
    char *g_ref = tmp_path(dir, "small-ref");
    char *e_host = tmp_path(dir, "c-host"), *e_fast = tmp_path(dir, "c-fast"), *e_small = tmp_path(dir, "c-small");
    char *e_ref = tmp_path(dir, "c-ref");
    char *traces = traces_text(24);
    write_text(in, traces);

    generate(mp, 4, MALCC_TARGET_HOST, MALCC_PROFILE_DEFAULT, g_host);
    generate(mp, 4, MALCC_TARGET_CORTEX_M, MALCC_PROFILE_FAST, g_fast);
    generate(mp, 4, MALCC_TARGET_CORTEX_M, MALCC_PROFILE_DEFAULT, g_small);   /* small */
    generate(mp, 4, MALCC_TARGET_HOST, MALCC_PROFILE_FAST, g_ref);

    /* the reference for the small profile: the host target with the
     * small-profile rows in place of the folded table */
    const char *idents[4] = {"alpha", "beta", "gamma", "delta_x"};
    for (int i = 0; i < 4; i++) {
        float *tok = small_tok(&m[i]);
        char name[64];
        snprintf(name, sizeof name, "%s.c", idents[i]);
        char *path = tmp_path(g_ref, name);
        patch_tok(path, idents[i], tok, m[i].vocab.size, 4 * m[i].l1.hidden);
        free(path), free(tok);
    }

    char *o_host = build_and_run(g_host, e_host, in, "");
    char *o_fast = build_and_run(g_fast, e_fast, in, "-fno-builtin");
    char *o_small = build_and_run(g_small, e_small, in, "-fno-builtin");
    char *o_ref = build_and_run(g_ref, e_ref, in, "");

    /* no malloc, no libm (nothing was linked with -lm either) */
    const char *banned[] = {"malloc", "calloc", "realloc", "free", "expf", "exp", "tanhf", "tanh",
                            "logf", "powf", "sqrtf", "lroundf", "roundf", "floorf"};
    for (int p = 0; p < 2; p++) {
        char *u = undefined_symbols(p ? g_small : g_fast);
        for (size_t b = 0; b < sizeof banned / sizeof *banned; b++)
            if (ident_name(u, banned[b])) {
                print_error("%s profile references %s:\n%s\n", p ? "small" : "fast", banned[b], u);
                fail();
            }
        free(u);
    }

    /* %.9g round-trips a float: equal text is equal bits */
    assert_string_equal(o_fast, o_host);
    assert_string_equal(o_small, o_ref);
    assert_string_not_equal(o_small, o_fast);   /* the profiles differ (one more quantisation) */

    /* the small profile against the float reference */
    const int order[4] = {0, 1, 3, 2};   /* output order: alphabetical by type */
    char *p = o_small, *line = traces;
    int lines = 0;
    float worst = 0;
    while (*line) {
        char *end = strchr(line, '\n');
        assert_non_null(end);
        int32_t ids[64];
        size_t n = 0;
        for (char *s = line; s < end;) {
            size_t L = strcspn(s, " \n");
            int id = mal_vocab_lookup(&sample_vocab, s, L);
            if (id >= 0 && n < 64)
                ids[n++] = id;
            s += L + (s[L] == ' ');
        }
        char lab[64];
        int used;
        assert_int_equal(sscanf(p, "%63s%n", lab, &used), 1);
        p += used;
        for (int k = 0; k < 4; k++) {
            float g = strtof(p, &p);
            float r = mal_ref_score_trace(&m[order[k]], ids, n);
            worst = fmaxf(worst, fabsf(g - r));
        }
        lines++;
        line = end + 1;
    }
    assert_true(lines >= 20);
    assert_true(worst <= 0.03f);
    print_message("cortex-m on the host: %d traces x 4 models; fast == host target bits, small == "
                  "its direct computation bits, small vs float reference max |diff| %.4f\n",
                  lines, (double)worst);

    free(o_host), free(o_fast), free(o_small), free(o_ref), free(traces);
    rm_rf(dir);
    free(dir), free(in), free(g_host), free(g_fast), free(g_small), free(g_ref);
    free(e_host), free(e_fast), free(e_small), free(e_ref);
    for (int i = 0; i < 4; i++)
        mal_model_free(&m[i]);
}

/* The target's text: the shared name table, no names per model, lean state. */
static void test_cortex_m_text(void **state)
{
    (void)state;
    mal_error e = {{0}};
    mal_model m[4];
    odd_models(m);
    const mal_model *mp[4] = {&m[0], &m[1], &m[2], &m[3]};
    malcc_output o;
    malcc_opts opts = {.target = MALCC_TARGET_CORTEX_M};
    assert_int_equal(malcc_generate(mp, 4, &opts, &o, &e), 0);
    const char *vc = NULL, *ac = NULL, *ah = NULL;
    for (int i = 0; i < o.n; i++) {
        if (strcmp(o.files[i].name, "vocab.c") == 0)
            vc = o.files[i].text;
        if (strcmp(o.files[i].name, "alpha.c") == 0)
            ac = o.files[i].text;
        if (strcmp(o.files[i].name, "alpha.h") == 0)
            ah = o.files[i].text;
    }
    assert_non_null(vc), assert_non_null(ac), assert_non_null(ah);
    assert_int_equal(o.n, 4 * 2 + 2 + 2);   /* models, ensemble, vocab */
    assert_contains(vc, "\"ntcreatefile\",");
    assert_contains(ac, "static const int8_t malstm_alpha_emb[");
    assert_contains(ac, "quantisation (small profile)");
    assert_null(strstr(ac, "static const float malstm_alpha_tok["));   /* no folded table */
    assert_null(strstr(ac, "\"ntcreatefile\""));
    assert_contains(ah, "typedef uint16_t malstm_alpha_id;");
    malcc_output_free(&o);

    /* host + small is refused; cortex-m reserves the name 'vocab' */
    opts = (malcc_opts){.target = MALCC_TARGET_HOST, .profile = MALCC_PROFILE_SMALL};
    assert_int_equal(malcc_generate(mp, 1, &opts, &o, &e), -1);
    assert_contains(e.msg, "only the fast profile");
    mal_model v;
    odd_model(&v, "Vocab", MAL_ACT_TANH, 1);
    const mal_model *vp[1] = {&v};
    opts = (malcc_opts){.target = MALCC_TARGET_CORTEX_M};
    assert_int_equal(malcc_generate(vp, 1, &opts, &o, &e), -1);
    assert_contains(e.msg, "reserved for --target cortex-m");
    opts.target = MALCC_TARGET_HOST;   /* the host target has no vocab.c */
    assert_int_equal(malcc_generate(vp, 1, &opts, &o, &e), 0);
    malcc_output_free(&o);
    mal_model_free(&v);
    for (int i = 0; i < 4; i++)
        mal_model_free(&m[i]);
}

/* The command line: --target/--profile and their errors. */
static void test_cli(void **state)
{
    (void)state;
    mal_error e;
    mal_model m;
    odd_model(&m, "Trojan", MAL_ACT_TANH, 3);
    char *dir = tmp_dir(), *model = tmp_path(dir, "Trojan.json"), *out = tmp_path(dir, "gen");
    assert_int_equal(mal_model_save(&m, model, &e), 0);
    const char *B = build_dir();
    char *log = NULL;
    assert_int_equal(run_capture(&log, "%s/compiler/malcc --help", B), 0);
    assert_contains(log, "--target cortex-m");
    assert_contains(log, "--profile P");
    free(log);
    assert_int_equal(run_capture(&log, "%s/compiler/malcc %s -o %s --target avr", B, model, out), 2);
    assert_contains(log, "unknown target 'avr'");
    free(log);
    assert_int_equal(run_capture(&log, "%s/compiler/malcc %s -o %s --target cortex-m --profile tiny", B,
                                 model, out),
                     2);
    assert_contains(log, "unknown profile 'tiny'");
    free(log);
    assert_int_equal(run_capture(&log, "%s/compiler/malcc %s -o %s --profile small", B, model, out), 2);
    assert_contains(log, "needs --target cortex-m");
    free(log);
    assert_int_equal(run_capture(&log, "%s/compiler/malcc %s -o %s --target cortex-m --profile fast", B,
                                 model, out),
                     0);
    free(log);
    assert_int_equal(run_capture(&log, "grep -c 'malstm_trojan_tok\\[' %s/trojan.c", out), 0);
    free(log);
    assert_int_equal(run_capture(&log, "%s/compiler/malcc %s -o %s --target cortex-m", B, model, out), 0);
    free(log);
    assert_int_equal(run_capture(&log, "ls %s", out), 0);
    assert_string_equal(log, "ensemble.c\nensemble.h\ntrojan.c\ntrojan.h\nvocab.c\nvocab.h\n");
    free(log);
    assert_int_equal(run_capture(&log, "grep -c 'malstm_trojan_emb\\[' %s/trojan.c", out), 0);
    free(log);
    rm_rf(dir);
    free(dir), free(model), free(out);
    mal_model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cortex_m_text),
        cmocka_unit_test(test_cli),
        cmocka_unit_test(test_cortex_m_on_host),
    };
    return cmocka_run_group_tests(tests, setup_sample_vocab, teardown_sample_vocab);
}
