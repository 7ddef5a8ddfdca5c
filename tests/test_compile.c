/* test_compile.c - malcc: identifiers and escaping (nothing from a model file
 * reaches the C text), the renderer, the generated code under
 * -std=c99 -pedantic -Werror, small odd-sized models against the float
 * reference and the JIT, a changed weight changing the output, and bad input
 * (invalid model file, mismatched vocabularies, unwritable output directory,
 * a libtcc compile error). Real-data parity: test_compile_parity.c. */
#include "test_support.h"
#include "odd_models.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "jit.h"
#include "malcc.h"
#include "reference.h"

#define EVIL "Trojan\"); system(\"rm -rf /\"); //"


static const char *file_text(const malcc_output *o, const char *name)
{
    for (int i = 0; i < o->n; i++)
        if (strcmp(o->files[i].name, name) == 0)
            return o->files[i].text;
    return NULL;
}

static void test_identifiers(void **state)
{
    (void)state;
    char id[MALCC_IDENT_MAX + 1];
    assert_int_equal(malcc_ident(EVIL, id, sizeof id), 0);
    assert_string_equal(id, "trojan_system_rm_rf");
    assert_int_equal(malcc_ident("Adware", id, sizeof id), 0);
    assert_string_equal(id, "adware");
    assert_int_equal(malcc_ident("9-lives", id, sizeof id), 0);
    assert_string_equal(id, "t9_lives");
    assert_int_equal(malcc_ident("--\"*/", id, sizeof id), -1);
    assert_int_equal(malcc_safe_name("ntcreatefile"), 0);
    assert_int_equal(malcc_safe_name("a\"b"), -1);
    assert_int_equal(malcc_safe_name("A"), -1);
    assert_int_equal(malcc_safe_name(""), -1);
}

static void test_renderer(void **state)
{
    (void)state;
    mal_error e = {{0}};
    malcc_output o;
    /* the renderer itself is internal; its errors surface through generate
     * with a bad template directory */
    mal_model m;
    odd_model(&m, "Adware", MAL_ACT_TANH, 1);
    const mal_model *mp[1] = {&m};
    char *tdir = tmp_dir(), *tf = tmp_path(tdir, "model.h.in"), *tc = tmp_path(tdir, "model.c.in");
    size_t clen;
    char *ctext = read_file("templates/model.c.in", &clen);
    write_file(tc, ctext, clen);
    free(ctext);
    write_text(tf, "{{provenance}}\nint x = {{no_such_placeholder}};\n");
    malcc_opts opts = {.template_dir = tdir};
    assert_int_equal(malcc_generate(mp, 1, &opts, &o, &e), -1);
    assert_contains(e.msg, "model.h.in:2: unknown placeholder {{no_such_placeholder}}");
    write_text(tf, "int x = {{bad;\n");
    assert_int_equal(malcc_generate(mp, 1, &opts, &o, &e), -1);
    assert_contains(e.msg, "malformed placeholder");
    rm_rf(tdir);
    free(tdir), free(tf), free(tc);
    opts.template_dir = "/nonexistent-templates";
    assert_int_equal(malcc_generate(mp, 1, &opts, &o, &e), -1);
    assert_contains(e.msg, "cannot open template");
    mal_model_free(&m);
}

/* A hostile type name or vocabulary entry never reaches the C text. */
static void test_injection(void **state)
{
    (void)state;
    mal_error e = {{0}};
    malcc_output o = {0};
    malcc_jit j;
    mal_model m;
    /* type name, built in memory (the file loader would reject it) */
    odd_model(&m, EVIL, MAL_ACT_TANH, 1);
    const mal_model *mp[1] = {&m};
    assert_int_equal(malcc_generate(mp, 1, NULL, &o, &e), -1);
    assert_contains(e.msg, "type name is not 1..64 characters of [A-Za-z0-9_-]");
    assert_int_equal(o.n, 0);
    assert_int_equal(malcc_jit_build(mp, 1, NULL, &j, &e), -1);
    mal_model_free(&m);

    /* vocabulary entry, patched in after validation */
    odd_model(&m, "Trojan", MAL_ACT_TANH, 2);
    free(m.vocab.names[5]);
    m.vocab.names[5] = strdup("x\"); system(\"rm -rf /\"); //");
    assert_int_equal(malcc_generate(mp, 1, NULL, &o, &e), -1);
    assert_int_equal(o.n, 0);
    assert_int_equal(malcc_jit_build(mp, 1, NULL, &j, &e), -1);
    mal_model_free(&m);

    /* and via a crafted model file: malcc refuses it, writes nothing */
    odd_model(&m, "Trojan", MAL_ACT_TANH, 3);
    char *dir = tmp_dir(), *good = tmp_path(dir, "Trojan.json"), *bad = tmp_path(dir, "evil.json");
    char *out = tmp_path(dir, "gen");
    assert_int_equal(mal_model_save(&m, good, &e), 0);
    size_t len;
    char *text = read_file(good, &len);
    char *at = strstr(text, "\"Trojan\"");
    assert_non_null(at);
    size_t pre = (size_t)(at - text);
    char *evil = malloc(len + 128);
    sprintf(evil, "%.*s\"Trojan\\\"); system(\\\"rm -rf /\\\"); //\"%s", (int)pre, text,
            at + strlen("\"Trojan\""));
    write_text(bad, evil);
    char *log = NULL;
    int rc = run_capture(&log, "%s/compiler/malcc %s -o %s", build_dir(), bad, out);
    assert_int_equal(rc, 1);
    assert_contains(log, "malcc: ");
    struct stat st;
    assert_int_not_equal(stat(out, &st), 0);
    free(log);
    /* a good file with an innocent type compiles, and no generated text holds
     * anything but what the compiler made */
    rc = run_capture(&log, "%s/compiler/malcc %s -o %s --main", build_dir(), good, out);
    if (rc != 0)
        print_error("%s\n", log);
    assert_int_equal(rc, 0);
    free(log);
    rc = run_capture(&log, "grep -l 'system(' %s/*.c %s/*.h", out, out);
    assert_int_not_equal(rc, 0);
    free(log);
    free(text), free(evil);
    rm_rf(dir);
    free(dir), free(good), free(bad), free(out);
    mal_model_free(&m);
}

/* Generated sources build warning-free as C99 with gcc and clang; their
 * scores equal the JIT's (and clang's, and gcc -O3 -march=native's) bit for
 * bit and the float reference's within tolerance, for every
 * activation and scoring rule, on odd sizes. */
/* Build the standalone sources in gen/ (with --main) by gcc -O2 under
 * -std=c99 -pedantic -Werror and run the program on `in`; returns its output. */
static char *gcc_main_run(const char *gen, const char *exe, const char *in)
{
    char *log = NULL;
    int rc = run_capture(&log, "gcc -O2 -std=c99 -Wall -Wextra -Werror -pedantic -ffp-contract=off "
                               "%s/*.c -o %s 2>&1 && %s < %s", gen, exe, exe, in);
    if (rc != 0)
        print_error("%s\n", log);
    assert_int_equal(rc, 0);
    return log;
}

static void test_small_models_everywhere(void **state)
{
    (void)state;
    mal_error e = {{0}};
    mal_model m[4];
    odd_models(m);
    const mal_model *mp[4] = {&m[0], &m[1], &m[2], &m[3]};
    /* traces: empty, short, with runs, longer than every window */
    const char *lines[] = {"", "ntcreatefile", "ntcreatefile ntcreatefile NtReadFile ntreadfile x_unknown ldrloaddll",
                           ("ldrloaddll ntclose ntclose ntclose ntopenkey ntqueryvaluekey ntclose ldrgetprocedureaddress "
                            "ntallocatevirtualmemory ntfreevirtualmemory ntclose ntopenfile ntreadfile ntclose")};
    const int nl = 4;
    char *dir = tmp_dir(), *gen = tmp_path(dir, "gen"), *exe = tmp_path(dir, "classify");
    char *in = tmp_path(dir, "in.txt");
    malcc_output o;
    malcc_opts opts = {.prefix = "t", .with_main = 1, .command = "malcc test --main"};
    assert_int_equal(malcc_generate(mp, 4, &opts, &o, &e), 0);
    assert_non_null(file_text(&o, "delta_x.c"));
    assert_contains(file_text(&o, "alpha.c"), "command: malcc test --main");
    assert_contains(file_text(&o, "ensemble.c"), "\"Delta-x\"");
    assert_int_equal(malcc_write_dir(&o, gen, &e), 0);
    malcc_output_free(&o);
    char buf[4096] = "";
    for (int i = 0; i < nl; i++)
        strcat(strcat(buf, lines[i]), "\n");
    write_text(in, buf);
    char *log = gcc_main_run(gen, exe, in);
    int rc;
    /* clang, and gcc at -O3 for this machine's vector units (the loops then
     * vectorise differently): the same bytes of output (%.9g round-trips) */
    const char *other[] = {"clang -O2 -std=c99 -Wall -Wextra -Werror -pedantic -ffp-contract=off",
                           "gcc -O3 -march=native -std=c99 -Wall -Wextra -Werror -pedantic -ffp-contract=off"};
    for (size_t c = 0; c < sizeof other / sizeof *other; c++) {
        char *log2 = NULL;
        rc = run_capture(&log2, "%s %s/*.c -o %s 2>&1 && %s < %s", other[c], gen, exe, exe, in);
        if (rc != 0 || strcmp(log2, log) != 0)
            print_error("%s:\n%s\ngcc -O2 gave:\n%s\n", other[c], log2, log);
        assert_int_equal(rc, 0);
        assert_string_equal(log2, log);
        free(log2);
    }

    malcc_jit j;
    assert_int_equal(malcc_jit_build(mp, 4, "t", &j, &e), 0);
    assert_int_equal(j.n, 4);
    /* alphabetical: Alpha, Beta, Delta-x, Gamma */
    assert_string_equal(j.models[2].type, "Delta-x");
    const int order[4] = {0, 1, 3, 2};
    void *st = malloc(j.state_size);
    char *p = log;
    for (int l = 0; l < nl; l++) {
        float pj[4];
        int32_t ids[64];
        size_t n = 0;
        j.init(st);
        const char *s = lines[l];
        while (*s) {
            size_t L = strcspn(s, " ");
            int id = mal_vocab_lookup(&sample_vocab, s, L);
            if (id >= 0)
                ids[n++] = id;
            assert_int_equal(j.step_name(st, s, L), id);
            s += L + (s[L] == ' ');
        }
        int label = j.score(st, pj);
        char lab[64];
        int used;
        assert_int_equal(sscanf(p, "%63s%n", lab, &used), 1);
        p += used;
        assert_string_equal(lab, j.models[label].type);
        for (int k = 0; k < 4; k++) {
            float g = strtof(p, &p);
            assert_memory_equal(&g, &pj[k], sizeof g);   /* gcc == tcc, bit for bit */
            float r = mal_ref_score_trace(&m[order[k]], ids, n);
            assert_true(fabsf(r - pj[k]) <= 0.02f);
        }
    }
    free(st);
    free(log);
    malcc_jit_free(&j);
    rm_rf(dir);
    free(dir), free(gen), free(exe), free(in);
    for (int i = 0; i < 4; i++)
        mal_model_free(&m[i]);
}

/* step_many == step, bit for bit, under every kind of rule: windows side by
 * side (stride = window, batches of windows cut by chunk ends and by the
 * batch limit), and call by call (the last window only, overlapping
 * windows); in the JIT, and in the standalone sources, whose --main program
 * hands calls to step_many 4096 at a time. */
static void test_step_many(void **state)
{
    (void)state;
    mal_error e = {{0}};
    mal_model m[4];
    odd_models(m);   /* Alpha: the last window only; Beta: overlapping windows */
    m[2].scoring = (mal_scoring){.window = 3, .stride = 3, .max_windows = 0, .dedup = 1,
                                 .combine = MAL_COMBINE_MEAN, .calib_a = 1.0f, .calib_b = 0.0f};
    m[3].scoring = (mal_scoring){.window = 7, .stride = 7, .max_windows = 5, .dedup = 0,
                                 .combine = MAL_COMBINE_MAX, .calib_a = 1.5f, .calib_b = 0.25f};
    const mal_model *mp[4] = {&m[0], &m[1], &m[2], &m[3]};
    malcc_jit j;
    assert_int_equal(malcc_jit_build(mp, 4, "t", &j, &e), 0);
    void *st = malloc(j.state_size);
    assert_non_null(st);
    enum { NT = 10, MAXN = 1200 };
    static const int lens[NT] = {0, 1, 2, 3, 4, 7, 22, 100, 333, MAXN};
    static const size_t chunks[] = {1, 2, 5, 64, 256, 5000};
    static int ids[NT][MAXN];
    uint64_t r = 77;
    char *lines = malloc((size_t)NT * MAXN * 40);
    assert_non_null(lines);
    size_t off = 0;
    for (int t = 0; t < NT; t++) {
        for (int i = 0; i < lens[t]; i++) {
            r = r * 6364136223846793005ULL + 1442695040888963407ULL;
            const unsigned u = (unsigned)(r >> 33);
            int id = (int)(u % (unsigned)sample_vocab.size);
            if (i > 0 && u % 3 == 0)
                id = ids[t][i - 1];   /* runs, for de-duplication */
            if (!sample_vocab.names[id])
                id = 0;
            ids[t][i] = id;
            off += (size_t)sprintf(lines + off, "%s%s", i ? " " : "", sample_vocab.names[id]);
        }
        lines[off++] = '\n';
    }
    lines[off] = 0;
    float want[NT][4];
    for (int t = 0; t < NT; t++) {
        j.init(st);
        for (int i = 0; i < lens[t]; i++)
            j.step(st, ids[t][i]);
        j.score(st, want[t]);
        for (size_t c = 0; c < sizeof chunks / sizeof *chunks; c++) {
            float got[4];
            j.init(st);
            for (int i = 0; i < lens[t]; i += (int)chunks[c]) {
                const int n = lens[t] - i < (int)chunks[c] ? lens[t] - i : (int)chunks[c];
                j.step_many(st, ids[t] + i, (size_t)n);
            }
            const int bad[2] = {-1, 100000};   /* ignored, as by step */
            j.step_many(st, bad, 2);
            j.score(st, got);
            for (int k = 0; k < 4; k++)
                if (memcmp(&got[k], &want[t][k], sizeof(float)) != 0)
                    fail_msg("JIT %s, %d calls, chunks of %zu: step_many %.9g, step %.9g",
                             j.models[k].type, lens[t], chunks[c], (double)got[k],
                             (double)want[t][k]);
        }
    }
    /* the standalone sources' main (step_many, 4096 calls at a time) */
    char *dir = tmp_dir(), *gen = tmp_path(dir, "gen"), *exe = tmp_path(dir, "classify");
    char *in = tmp_path(dir, "in.txt");
    malcc_output o;
    malcc_opts opts = {.prefix = "t", .with_main = 1, .command = "malcc test --main"};
    assert_int_equal(malcc_generate(mp, 4, &opts, &o, &e), 0);
    assert_int_equal(malcc_write_dir(&o, gen, &e), 0);
    malcc_output_free(&o);
    write_text(in, lines);
    char *log = gcc_main_run(gen, exe, in);
    char *p = log;
    for (int t = 0; t < NT; t++) {
        char lab[64];
        int used;
        assert_int_equal(sscanf(p, "%63s%n", lab, &used), 1);
        p += used;
        for (int k = 0; k < 4; k++) {
            const float g = strtof(p, &p);
            if (memcmp(&g, &want[t][k], sizeof g) != 0)
                fail_msg("gcc main %s, %d calls: %.9g, JIT step %.9g", j.models[k].type, lens[t],
                         (double)g, (double)want[t][k]);
        }
    }
    free(log);
    free(lines);
    free(st);
    malcc_jit_free(&j);
    rm_rf(dir);
    free(dir), free(gen), free(exe), free(in);
    for (int i = 0; i < 4; i++)
        mal_model_free(&m[i]);
}

/* The compiler does not ignore the model: one weight changes the output. */
static void test_weight_change(void **state)
{
    (void)state;
    mal_error e = {{0}};
    mal_model m;
    odd_model(&m, "Adware", MAL_ACT_TANH, 9);
    const mal_model *mp[1] = {&m};
    malcc_output a, b, c;
    assert_int_equal(malcc_generate(mp, 1, NULL, &a, &e), 0);
    m.l2.wh[3] += 0.25f;   /* one recurrent weight of layer 2 */
    assert_int_equal(malcc_generate(mp, 1, NULL, &b, &e), 0);
    m.embedding[40] -= 0.5f;   /* one embedding weight */
    assert_int_equal(malcc_generate(mp, 1, NULL, &c, &e), 0);
    const char *ta = file_text(&a, "adware.c"), *tb = file_text(&b, "adware.c"),
               *tc = file_text(&c, "adware.c");
    assert_string_not_equal(ta, tb);
    assert_string_not_equal(tb, tc);
    /* the first change shows in the int8 layer-2 recurrent table only */
    const char *wa = strstr(ta, "malstm_adware_wh2["), *wb = strstr(tb, "malstm_adware_wh2[");
    assert_non_null(wa);
    assert_non_null(wb);
    assert_int_equal(wa - ta, wb - tb);
    assert_memory_equal(ta, tb, (size_t)(wa - ta));
    malcc_output_free(&a), malcc_output_free(&b), malcc_output_free(&c);
    mal_model_free(&m);
}

static void test_bad_input(void **state)
{
    (void)state;
    mal_error e = {{0}};
    malcc_output o = {0};
    mal_model m[2];
    /* mismatched vocabularies */
    odd_model(&m[0], "Adware", MAL_ACT_TANH, 1);
    const char *names[3] = {"ntcreatefile", "ntclose", "ldrloaddll"};
    mal_vocab v2;
    assert_int_equal(mal_vocab_from_names(&v2, names, 3, "test", &e), 0);
    assert_int_equal(malcc_synthetic_model(&m[1], &v2, "Backdoor", 5, 7, 6, MAL_ACT_TANH, 2, 0.3f, &e),
                     0);
    const mal_model *mp[2] = {&m[0], &m[1]};
    assert_int_equal(malcc_generate(mp, 2, NULL, &o, &e), -1);
    assert_contains(e.msg, "Backdoor: vocabulary differs from Adware's");
    malcc_jit j;
    assert_int_equal(malcc_jit_build(mp, 2, NULL, &j, &e), -1);
    assert_contains(e.msg, "vocabulary differs");
    mal_model_free(&m[1]);
    mal_vocab_free(&v2);

    /* two types that become one identifier; a bad prefix */
    odd_model(&m[1], "ADWARE", MAL_ACT_TANH, 3);
    assert_int_equal(malcc_generate(mp, 2, NULL, &o, &e), -1);
    assert_contains(e.msg, "both become the identifier 'adware'");
    mal_model_free(&m[1]);
    malcc_opts bad_prefix = {.prefix = "9x;"};
    assert_int_equal(malcc_generate(mp, 1, &bad_prefix, &o, &e), -1);
    assert_contains(e.msg, "prefix");

    /* an output directory that cannot be written: its parent is a file */
    char *dir = tmp_dir(), *file = tmp_path(dir, "plain"), *out = tmp_path(dir, "plain/gen");
    write_text(file, "x");
    assert_int_equal(malcc_generate(mp, 1, NULL, &o, &e), 0);
    assert_int_equal(malcc_write_dir(&o, out, &e), -1);
    assert_contains(e.msg, "cannot create a temporary directory");
    /* an existing directory with foreign files is not replaced */
    char *foreign = tmp_path(dir, "mine"), *keep = tmp_path(dir, "mine/notes.txt");
    mkdir(foreign, 0755);
    write_text(keep, "keep me");
    assert_int_equal(malcc_write_dir(&o, foreign, &e), -1);
    assert_contains(e.msg, "refusing to replace it");
    struct stat st;
    assert_int_equal(stat(keep, &st), 0);
    /* a previous output is replaced whole; no temp directories stay behind */
    char *gen = tmp_path(dir, "gen");
    assert_int_equal(malcc_write_dir(&o, gen, &e), 0);
    assert_int_equal(malcc_write_dir(&o, gen, &e), 0);
    DIR *d = opendir(dir);
    struct dirent *de;
    int entries = 0;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.') {
            entries++;
            assert_null(strstr(de->d_name, "malcc-"));
        }
    closedir(d);
    assert_int_equal(entries, 3);   /* plain, mine, gen */
    malcc_output_free(&o);

    /* an invalid model file through the CLI: message, exit 1, nothing written */
    char *badjson = tmp_path(dir, "bad.json"), *out2 = tmp_path(dir, "gen2");
    write_text(badjson, "{\"format\": \"malstm-model\", \"version\": 1, \"type\": ");
    char *log = NULL;
    int rc = run_capture(&log, "%s/compiler/malcc %s -o %s", build_dir(), badjson, out2);
    assert_int_equal(rc, 1);
    assert_contains(log, badjson);
    assert_int_not_equal(stat(out2, &st), 0);
    free(log);
    rc = run_capture(&log, "%s/compiler/malcc -o %s", build_dir(), out2);
    assert_int_equal(rc, 2);
    assert_contains(log, "usage: malcc");
    free(log);
    rc = run_capture(&log, "%s/compiler/malcc %s -o %s --target cortex-x", build_dir(), badjson, out2);
    assert_int_equal(rc, 2);
    free(log);

    rm_rf(dir);
    free(dir), free(file), free(out), free(foreign), free(keep), free(gen), free(badjson), free(out2);
    mal_model_free(&m[0]);
}

/* A libtcc compile error names the unit, the line, and shows the line. */
static void test_jit_errors(void **state)
{
    (void)state;
    mal_error e = {{0}};
    mal_jit *img = NULL;
    const mal_jit_unit ok = {"ok.c", "int twice(int x) { return 2 * x; }\n"};
    const mal_jit_unit broken = {"broken.c", "int f(void)\n{\n    return 1 + ; }\n"};
    mal_jit_unit units[2] = {ok, broken};
    assert_int_equal(mal_jit_compile(units, 2, NULL, 0, &img, NULL, NULL, &e), -1);
    assert_null(img);
    assert_contains(e.msg, "broken.c:3:");
    assert_contains(e.msg, "error");
    assert_contains(e.msg, "|     return 1 + ; }");
    /* an undefined symbol fails at relocation */
    const mal_jit_unit undef = {"undef.c", "extern const float nowhere[4];\nfloat g(void) { return nowhere[1]; }\n"};
    assert_int_equal(mal_jit_compile(&undef, 1, NULL, 0, &img, NULL, NULL, &e), -1);
    assert_contains(e.msg, "nowhere");
    /* bound by address, it works */
    static const float table[4] = {1, 2, 3, 4};
    const mal_jit_symbol sym = {"nowhere", table};
    double cms = -1, rms = -1;
    assert_int_equal(mal_jit_compile(&undef, 1, &sym, 1, &img, &cms, &rms, &e), 0);
    float (*g)(void);
    *(void **)&g = mal_jit_symbol_addr(img, "g");
    assert_non_null(g);
    assert_true(g() == 2.0f);
    assert_true(cms >= 0 && rms >= 0);
    assert_true(mal_jit_code_size(img) > 0);
    mal_jit_free(img);
    assert_int_equal(mal_jit_compile(&ok, 1, NULL, 0, &img, NULL, NULL, &e), 0);
    int (*tw)(int);
    *(void **)&tw = mal_jit_symbol_addr(img, "twice");
    assert_int_equal(tw(21), 42);
    mal_jit_free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identifiers),
        cmocka_unit_test(test_renderer),
        cmocka_unit_test(test_injection),
        cmocka_unit_test(test_small_models_everywhere),
        cmocka_unit_test(test_step_many),
        cmocka_unit_test(test_weight_change),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_jit_errors),
    };
    return cmocka_run_group_tests(tests, setup_sample_vocab, teardown_sample_vocab);
}
