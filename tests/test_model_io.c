/* test_model_io.c - model file v1: exact round trip, canonical bytes, atomic
 * save, and every error path with a real file (message names file + field). */
#include "test_support.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model.h"

static uint64_t rng_state = 12345;
static uint32_t rnd(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng_state >> 32);
}

/* A float from random bits, finite and |x| <= 1e4 (the loader's limit), with
 * the special values mixed in: denormals, -0.0, FLT_MIN, 1e-38, 1e4. */
static float awkward_float(void)
{
    static const float special[] = {0.0f, -0.0f, 1e-38f, -1e-38f, FLT_MIN, 1.4e-45f,
                                    -1.4e-45f, 1e4f, -1e4f, 0.1f, 1.0f / 3.0f, 9999.999f};
    uint32_t r = rnd();
    if (r % 8 == 0)
        return special[rnd() % (sizeof special / sizeof *special)];
    for (;;) {
        uint32_t bits = rnd();
        if (r % 8 == 1)
            bits &= 0x807fffffu;   /* denormal */
        float x;
        memcpy(&x, &bits, sizeof x);
        if (isfinite(x) && fabsf(x) <= 1e4f)
            return x;
    }
}

static void fill_awkward(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = awkward_float();
}

static int same_bits(const float *a, const float *b, size_t n)
{
    return memcmp(a, b, n * sizeof *a) == 0;
}

static void assert_models_identical(const mal_model *a, const mal_model *b)
{
    assert_string_equal(a->type, b->type);
    assert_true(mal_vocab_equal(&a->vocab, &b->vocab));
    assert_int_equal(a->embed, b->embed);
    assert_int_equal(a->act, b->act);
    assert_int_equal(a->pool, b->pool);
    assert_int_equal(a->l1.hidden, b->l1.hidden);
    assert_int_equal(a->l2.hidden, b->l2.hidden);
    assert_memory_equal(&a->scoring, &b->scoring, sizeof a->scoring);
    size_t V = (size_t)a->vocab.size, E = (size_t)a->embed, H1 = (size_t)a->l1.hidden,
           H2 = (size_t)a->l2.hidden;
    assert_true(same_bits(a->embedding, b->embedding, V * E));
    assert_true(same_bits(a->l1.wx, b->l1.wx, 4 * H1 * E));
    assert_true(same_bits(a->l1.wh, b->l1.wh, 4 * H1 * H1));
    assert_true(same_bits(a->l1.b, b->l1.b, 4 * H1));
    assert_true(same_bits(a->l2.wx, b->l2.wx, 4 * H2 * H1));
    assert_true(same_bits(a->l2.wh, b->l2.wh, 4 * H2 * H2));
    assert_true(same_bits(a->l2.b, b->l2.b, 4 * H2));
    assert_true(same_bits(a->dense_w, b->dense_w, H2));
    assert_true(same_bits(&a->dense_b, &b->dense_b, 1));
    if (a->training_json || b->training_json)
        assert_string_equal(a->training_json, b->training_json);
}

/* The paper's shape on the sample vocabulary, awkward weights. */
static void paper_model(mal_model *m, mal_act act)
{
    mal_vocab v;
    mal_error e;
    assert_int_equal(mal_vocab_load(&v, SAMPLE_VOCAB, &e), 0);
    assert_int_equal(mal_model_alloc(m, &v, "Trojan", 16, 100, 100, act, &e), 0);
    mal_vocab_free(&v);
    fill_awkward(m->embedding, 342 * 16);
    fill_awkward(m->l1.wx, 400 * 16);
    fill_awkward(m->l1.wh, 400 * 100);
    fill_awkward(m->l1.b, 400);
    fill_awkward(m->l2.wx, 400 * 100);
    fill_awkward(m->l2.wh, 400 * 100);
    fill_awkward(m->l2.b, 400);
    fill_awkward(m->dense_w, 100);
    m->dense_b = -0.0f;
    m->scoring = (mal_scoring){.window = 1000, .stride = 250, .max_windows = 12, .dedup = 1,
                               .combine = MAL_COMBINE_MAX, .calib_a = 1.0e-38f,
                               .calib_b = -1.5f};
    m->pool = MAL_POOL_MEAN;
    m->training_json = strdup("{\"seed\":7,\"epochs\":3,\"data\":{\"sha256\":\"ab12\"},"
                              "\"metrics\":{\"auc\":0.9375,\"f1\":[0.5,0.25]},\"note\":\"x\\\"y\"}");
}

/* Names of files in dir other than `keep` (to find leftover temp files). */
static int count_other_files(const char *dir, const char *keep)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, keep))
            n++;
    closedir(d);
    return n;
}

/* ------------------------------------------------------------ round trip */

static void test_round_trip(void **state)
{
    (void)state;
    char *dir = tmp_dir(), *p1 = tmp_path(dir, "a.json"), *p2 = tmp_path(dir, "b.json");
    mal_error e = {{0}};
    for (int a = 0; a < 4; a++) {
        mal_model m, back;
        paper_model(&m, (mal_act)a);
        if (a == 1) {   /* the defaults, no training record */
            free(m.training_json);
            m.training_json = NULL;
            m.scoring = (mal_scoring){.window = 342, .stride = 0, .dedup = 0,
                                       .combine = MAL_COMBINE_MEAN, .calib_a = 1.0f,
                                       .calib_b = 0.0f};
            m.pool = MAL_POOL_LAST;
        }
        if (mal_model_save(&m, p1, &e) != 0)
            fail_msg("%s", e.msg);
        if (mal_model_load(&back, p1, &e) != 0)
            fail_msg("%s", e.msg);
        assert_models_identical(&m, &back);
        /* save twice: byte-identical; save of the loaded copy: byte-identical too */
        size_t n1, n2;
        char *t1 = read_file(p1, &n1);
        assert_int_equal(mal_model_save(&m, p1, &e), 0);
        char *t1b = read_file(p1, &n2);
        assert_int_equal(n1, n2);
        assert_memory_equal(t1, t1b, n1);
        free(t1b);
        assert_int_equal(mal_model_save(&back, p2, &e), 0);
        char *t2 = read_file(p2, &n2);
        assert_int_equal(n1, n2);
        assert_memory_equal(t1, t2, n1);
        /* parse from memory, not NUL-terminated: same model */
        mal_model mem;
        char *copy = malloc(n1);
        memcpy(copy, t1, n1);
        assert_int_equal(mal_model_parse(&mem, copy, n1, "mem", &e), 0);
        assert_models_identical(&m, &mem);
        free(copy);
        free(t1), free(t2);
        mal_model_free(&mem);
        mal_model_free(&back);
        mal_model_free(&m);
        assert_int_equal(count_other_files(dir, "a.json"), 1);   /* b.json, no temp files */
    }
    free(p1), free(p2);
    rm_rf(dir);
    free(dir);
}

/* The principle behind the writer, on the whole float range (3.4e38 and
 * denormals included): "%.9g" -> cJSON (strtod to double) -> float is exact. */
static void test_float_text_round_trip(void **state)
{
    (void)state;
    static const float special[] = {0.0f, -0.0f, 1e-38f, FLT_MIN, 1.4e-45f, 3.4e38f,
                                    FLT_MAX, -FLT_MAX, 0.1f, 16777217.0f};
    char buf[64];
    for (int i = 0; i < 200000; i++) {
        float x;
        if (i < 10)
            x = special[i];
        else {
            uint32_t bits = rnd();
            if (i % 4 == 0)
                bits &= 0x807fffffu;
            memcpy(&x, &bits, sizeof x);
            if (!isfinite(x))
                continue;
        }
        snprintf(buf, sizeof buf, "%.9g", (double)x);
        cJSON *j = cJSON_Parse(buf);
        assert_non_null(j);
        float y = (float)j->valuedouble;
        cJSON_Delete(j);
        if (memcmp(&x, &y, sizeof x) != 0)
            fail_msg("%.9g (%a) came back as %a", (double)x, (double)x, (double)y);
    }
}

/* ----------------------------------------------------------- atomic save */

static void test_atomic_save(void **state)
{
    (void)state;
    char *dir = tmp_dir(), *target = tmp_path(dir, "model.json");
    mal_model m;
    mal_error e = {{0}};
    paper_model(&m, MAL_ACT_TANH);
    const char *old = "old contents\n";
    write_text(target, old);

    /* 1. the directory does not exist: the temp file cannot be created */
    char *nodir = tmp_path(dir, "missing/model.json");
    assert_int_equal(mal_model_save(&m, nodir, &e), -1);
    assert_contains(e.msg, nodir);
    assert_contains(e.msg, "cannot create a temporary file");
    free(nodir);

    /* 2. a full disk: the file size limit makes write() fail with EFBIG part
     * way through; the old target stays, the temp file goes */
    struct rlimit saved;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
    void (*oldsig)(int) = signal(SIGXFSZ, SIG_IGN);
    struct rlimit small = {64 * 1024, saved.rlim_max};
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    int rc = mal_model_save(&m, target, &e);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
    signal(SIGXFSZ, oldsig);
    assert_int_equal(rc, -1);
    assert_contains(e.msg, target);
    assert_contains(e.msg, "write error");
    size_t n;
    char *now = read_file(target, &n);
    assert_string_equal(now, old);
    free(now);
    assert_int_equal(count_other_files(dir, "model.json"), 0);

    /* 3. the target is a directory: everything is written, rename fails */
    char *sub = tmp_path(dir, "sub");
    assert_int_equal(mkdir(sub, 0755), 0);
    char *inner = tmp_path(sub, "keep");
    write_text(inner, "x");
    assert_int_equal(mal_model_save(&m, sub, &e), -1);
    assert_contains(e.msg, sub);
    assert_contains(e.msg, "cannot rename");
    now = read_file(inner, &n);
    assert_string_equal(now, "x");
    free(now);
    assert_int_equal(count_other_files(dir, "model.json"), 1);   /* only sub/ */
    free(inner);
    rm_rf(sub);
    free(sub);

    /* 4. a read-only directory (root ignores permissions: only as a user) */
    if (geteuid() != 0) {
        assert_int_equal(chmod(dir, 0555), 0);
        assert_int_equal(mal_model_save(&m, target, &e), -1);
        assert_contains(e.msg, "cannot create a temporary file");
        assert_int_equal(chmod(dir, 0755), 0);
        now = read_file(target, &n);
        assert_string_equal(now, old);
        free(now);
    }

    /* 5. an invalid model is not written at all */
    m.l1.wh[3] = NAN;
    assert_int_equal(mal_model_save(&m, target, &e), -1);
    assert_contains(e.msg, "refusing to save an invalid model");
    assert_contains(e.msg, "weights.lstm1.wh.data[3]: not a finite number");
    m.l1.wh[3] = 0.5f;
    strcpy(m.type, "bad type");
    assert_int_equal(mal_model_save(&m, target, &e), -1);
    assert_contains(e.msg, "type: must be");
    strcpy(m.type, "Trojan");
    m.vocab.names[5][0] = '"';   /* would break the JSON: the writer relies on validation */
    assert_int_equal(mal_model_save(&m, target, &e), -1);
    assert_contains(e.msg, "vocabulary.names[5]: not 1..255 characters from [a-z0-9_]");
    m.vocab.names[5][0] = 'c';
    free(m.training_json);
    m.training_json = strdup("[1, 2]");
    assert_int_equal(mal_model_save(&m, target, &e), -1);
    assert_contains(e.msg, "training: must be a JSON object");
    now = read_file(target, &n);
    assert_string_equal(now, old);
    free(now);
    free(m.training_json);
    m.training_json = NULL;

    /* 6. success replaces the target, mode 0644, nothing left behind */
    assert_int_equal(mal_model_save(&m, target, &e), 0);
    struct stat st;
    assert_int_equal(stat(target, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    assert_int_equal(count_other_files(dir, "model.json"), 0);
    mal_model back;
    assert_int_equal(mal_model_load(&back, target, &e), 0);
    mal_model_free(&back);

    mal_model_free(&m);
    free(target);
    rm_rf(dir);
    free(dir);
}

/* ----------------------------------------------------------- error paths */

/* A tiny model whose text we edit: V = 4 (index 2 unused), E = 2, H1 = 3,
 * H2 = 2; all weights 0.5 except markers 0.3125 at lstm1.wh.data[5] and
 * 0.0625 at dense.w.data[1]. */
static char *tiny_text(void)
{
    const char *names[] = {"a", "b", NULL, "d"};
    mal_vocab v;
    mal_model m;
    mal_error e;
    assert_int_equal(mal_vocab_from_names(&v, names, 4, "t", &e), 0);
    assert_int_equal(mal_model_alloc(&m, &v, "Tiny", 2, 3, 2, MAL_ACT_SOFTSIGN, &e), 0);
    mal_vocab_free(&v);
    float *arr[] = {m.embedding, m.l1.wx, m.l1.wh, m.l1.b, m.l2.wx, m.l2.wh, m.l2.b, m.dense_w};
    size_t ns[] = {8, 24, 36, 12, 24, 16, 8, 2};
    for (int a = 0; a < 8; a++)
        for (size_t i = 0; i < ns[a]; i++)
            arr[a][i] = 0.5f;
    m.l1.wh[5] = 0.3125f;
    m.dense_w[1] = 0.0625f;
    m.training_json = strdup("{\"seed\":1}");
    char *dir = tmp_dir(), *p = tmp_path(dir, "tiny.json");
    assert_int_equal(mal_model_save(&m, p, &e), 0);
    mal_model_free(&m);
    char *text = read_file(p, NULL);
    rm_rf(dir);
    free(p), free(dir);
    return text;
}

/* text with the first `old` replaced by `new` (asserts old is there) */
static char *edit(const char *text, const char *old, const char *new)
{
    const char *at = strstr(text, old);
    if (!at)
        fail_msg("edit: \"%s\" not in the model text", old);
    size_t a = (size_t)(at - text), lo = strlen(old), ln = strlen(new), lt = strlen(text);
    char *out = malloc(lt - lo + ln + 1);
    memcpy(out, text, a);
    memcpy(out + a, new, ln);
    memcpy(out + a + ln, at + lo, lt - a - lo + 1);
    return out;
}

/* Write len bytes to a real file, load it, expect failure naming the file
 * and containing `needle` (the field path and the reason). */
static void expect_load_error_n(const char *text, size_t len, const char *needle)
{
    char *dir = tmp_dir(), *p = tmp_path(dir, "model.json");
    write_file(p, text, len);
    mal_model m;
    mal_error e = {{0}};
    if (mal_model_load(&m, p, &e) != -1)
        fail_msg("loaded a bad model; expected \"%s\"", needle);
    assert_contains(e.msg, p);
    assert_contains(e.msg, needle);
    /* a failed load leaves nothing to free, but freeing is allowed */
    mal_model_free(&m);
    free(p);
    rm_rf(dir);
    free(dir);
}

static void expect_load_error(const char *text, const char *needle)
{
    expect_load_error_n(text, strlen(text), needle);
}

static void expect_edit_error(const char *base, const char *old, const char *new,
                              const char *needle)
{
    char *t = edit(base, old, new);
    expect_load_error(t, needle);
    free(t);
}

static void test_tiny_is_valid(void **state)
{
    (void)state;
    char *t = tiny_text();
    mal_model m;
    mal_error e = {{0}};
    if (mal_model_parse(&m, t, strlen(t), "tiny", &e) != 0)
        fail_msg("%s", e.msg);
    assert_true(m.l1.wh[5] == 0.3125f);
    assert_string_equal(m.training_json, "{\"seed\":1}");
    mal_model_free(&m);
    /* the fuzz seed must stay valid as the format evolves */
    assert_int_equal(mal_model_load(&m, "tests/fuzz/corpus/model_loader/tiny_valid.json", &e), 0);
    mal_model_free(&m);
    free(t);
}

static void test_syntax_errors(void **state)
{
    (void)state;
    char *t = tiny_text();
    size_t n = strlen(t);
    expect_load_error("", "empty file");
    expect_load_error("not json at all", "line 1, column 1: invalid JSON");
    expect_load_error_n(t, n / 2, "invalid JSON (truncated?)");
    char *g = malloc(n + 16);
    memcpy(g, t, n);
    memcpy(g + n, "\n  garbage", 11);
    expect_load_error(g, "trailing data after the JSON value");
    memcpy(g + n, "{}", 3);
    expect_load_error(g, "trailing data");
    g[10] = '\0';
    expect_load_error_n(g, n, "NUL byte at offset 10");
    free(g);
    expect_load_error("[1, 2]", "top level must be a JSON object");
    /* a missing file and a directory */
    mal_model m;
    mal_error e = {{0}};
    assert_int_equal(mal_model_load(&m, "/nonexistent/m.json", &e), -1);
    assert_contains(e.msg, "/nonexistent/m.json: cannot open");
    assert_int_equal(mal_model_load(&m, "tests", &e), -1);
    assert_contains(e.msg, "tests: not a regular file");
    char *dir = tmp_dir(), *fifo = tmp_path(dir, "fifo.json");
    assert_int_equal(mkfifo(fifo, 0644), 0);
    assert_int_equal(mal_model_load(&m, fifo, &e), -1);   /* must not block */
    assert_contains(e.msg, "fifo.json: not a regular file");
    free(fifo);
    rm_rf(dir);
    free(dir);
    free(t);
}

static void test_size_cap(void **state)
{
    (void)state;
    char *dir = tmp_dir(), *p = tmp_path(dir, "huge.json");
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)257 << 20), 0);   /* sparse: no disk used */
    close(fd);
    mal_model m;
    mal_error e = {{0}};
    assert_int_equal(mal_model_load(&m, p, &e), -1);
    assert_contains(e.msg, p);
    assert_contains(e.msg, "larger than the 256 MiB limit");
    free(p);
    rm_rf(dir);
    free(dir);
}

static void test_field_errors(void **state)
{
    (void)state;
    char *t = tiny_text();
    /* header */
    expect_edit_error(t, "\"malstm-model\"", "\"other-model\"",
                      "format: expected \"malstm-model\", got \"other-model\"");
    expect_edit_error(t, "\"format\": \"malstm-model\",\n", "", "format: missing");
    expect_edit_error(t, "\"version\": 1", "\"version\": 2",
                      "version: unsupported version 2, this build reads 1");
    expect_edit_error(t, "\"version\": 1", "\"version\": 0", "version: must be a positive");
    expect_edit_error(t, "\"version\": 1", "\"version\": \"1\"", "version: must be an integer");
    expect_edit_error(t, "\"version\": 1,", "\"version\": 1, \"extra\": 3,", "extra: unknown field");
    /* type: only [A-Za-z0-9_-], it becomes a C identifier */
    expect_edit_error(t, "\"Tiny\"", "\"Trojan\\\"); system(\\\"rm -rf /\\\"); //\"",
                      "type: must be 1..64 characters from [A-Za-z0-9_-]");
    expect_edit_error(t, "\"Tiny\"", "\"\"", "type: must be 1..64");
    expect_edit_error(t, "\"Tiny\"",
                      "\"A1234567890123456789012345678901234567890123456789012345678901234\"",
                      "type: must be 1..64");
    expect_edit_error(t, "\"Tiny\"", "7", "type: must be a string");
    /* duplicate keys, anywhere */
    expect_edit_error(t, "\"type\": \"Tiny\",", "\"type\": \"Tiny\", \"type\": \"Worm\",",
                      "duplicate key \"type\"");
    expect_edit_error(t, "\"embed\": 2,", "\"embed\": 2, \"embed\": 2,",
                      "architecture: duplicate key \"embed\"");
    expect_edit_error(t, "{\"seed\":1}", "{\"seed\":1,\"x\":[{\"k\":1,\"k\":2}]}",
                      "training.x[0]: duplicate key \"k\"");
    /* vocabulary */
    expect_edit_error(t, "\"names\": [\n  \"a\", \"b\"", "\"names\": [\n  \"a\", \"a\"",
                      "vocabulary.names: duplicate name 'a' at indices 0 and 1");
    expect_edit_error(t, "\"names\": [\n  \"a\", \"b\"", "\"names\": [\n  \"a\", \"B C\"",
                      "vocabulary.names[1]: name has a character outside");
    expect_edit_error(t, "\"names\": [\n  \"a\", \"b\"", "\"names\": [\n  \"a\", 5",
                      "vocabulary.names[1]: must be a string or null");
    expect_edit_error(t, "\"size\": 4", "\"size\": 5", "vocabulary.names: 4 entries, vocabulary.size is 5");
    expect_edit_error(t, "\"size\": 4", "\"size\": 0", "vocabulary.size: 0 out of range");
    expect_edit_error(t, "\"size\": 4", "\"size\": 4.5", "vocabulary.size: must be an integer");
    /* architecture */
    expect_edit_error(t, "\"hidden2\": 2, ", "", "architecture.hidden2: missing");
    expect_edit_error(t, "\"hidden2\": 2", "\"hidden2\": 2000", "architecture.hidden2: 2000 out of range");
    expect_edit_error(t, "\"softsign\"", "\"relu\"", "architecture.activation: unknown \"relu\"");
    expect_edit_error(t, "\"pooling\": \"last\"", "\"pooling\": \"max\"", "architecture.pooling: unknown");
    expect_edit_error(t, "\"ifgo\"", "\"iofg\"", "architecture.gate_order: \"iofg\" not supported");
    /* scoring */
    expect_edit_error(t, "\"window\": 342", "\"window\": 0", "scoring.window: 0 out of range 1..");
    expect_edit_error(t, "\"window\": 342", "\"window\": 1000001", "scoring.window: 1000001 out of range");
    expect_edit_error(t, "\"stride\": 0", "\"stride\": 343", "scoring.stride: 343 out of range 0..window (342)");
    expect_edit_error(t, "\"stride\": 0", "\"stride\": -1", "scoring.stride: -1 out of range");
    expect_edit_error(t, "\"max_windows\": 0", "\"max_windows\": -1", "scoring.max_windows: -1 out of range");
    expect_edit_error(t, "\"max_windows\": 0", "\"max_windows\": 1000001", "scoring.max_windows: 1000001 out of range");
    expect_edit_error(t, "\"dedup\": false", "\"dedup\": 0", "scoring.dedup: must be true or false");
    expect_edit_error(t, "\"combine\": \"mean\"", "\"combine\": \"median\"", "scoring.combine: unknown \"median\"");
    expect_edit_error(t, "\"a\": 1,", "\"a\": null,", "scoring.calibration.a: not a finite number");
    expect_edit_error(t, "\"b\": 0}", "\"b\": 0, \"c\": 1}", "scoring.calibration.c: unknown field");
    /* shapes */
    expect_edit_error(t, "\"shape\": [12, 3]", "\"shape\": [12, 4]",
                      "weights.lstm1.wh.shape: expected [12, 3] (from the architecture)");
    expect_edit_error(t, "\"shape\": [4, 2]", "\"shape\": [8]", "weights.embedding.shape: expected [4, 2]");
    expect_edit_error(t, "\"shape\": [2]", "\"shape\": [2, 1]", "weights.dense.w.shape: expected [2]");
    expect_edit_error(t, "0.0625", "0.0625, 0.5", "weights.dense.w.data: expected 2 numbers, got 3");
    expect_edit_error(t, ", 0.0625", "", "weights.dense.w.data: expected 2 numbers, got 1");
    expect_edit_error(t, "\"lstm2\": {", "\"lstm3\": {", "weights.lstm3: unknown field");
    expect_edit_error(t, "\"wh\": {\"shape\": [12, 3], \"data\": [",
                      "\"wh\": {\"shape\": [12, 3], \"dims\": 2, \"data\": [",
                      "weights.lstm1.wh.dims: unknown field");
    /* values: NaN (written as null by cJSON and others), inf, too large, not a number */
    expect_edit_error(t, "0.3125", "null", "weights.lstm1.wh.data[5]: not a finite number");
    expect_edit_error(t, "0.3125", "1e999", "weights.lstm1.wh.data[5]: not a finite number");
    expect_edit_error(t, "0.3125", "-1e999", "weights.lstm1.wh.data[5]: not a finite number");
    expect_edit_error(t, "0.3125", "1e30", "weights.lstm1.wh.data[5]: 1e+30 out of range (|w| <= 1e4)");
    expect_edit_error(t, "0.3125", "10000.5", "weights.lstm1.wh.data[5]: 10000.5 out of range");
    expect_edit_error(t, "0.3125", "\"0.3\"", "weights.lstm1.wh.data[5]: not a number");
    expect_edit_error(t, "0.0625", "NaN", "invalid JSON");
    /* training */
    expect_edit_error(t, "{\"seed\":1}", "[1]", "training: must be an object or null");
    free(t);
}

/* 1e4 itself is allowed; the training record may be absent or null. */
static void test_edges_accepted(void **state)
{
    (void)state;
    char *t = tiny_text();
    const char *ok[][2] = {
        {"0.3125", "10000"},
        {"0.3125", "-1e4"},
        {"0.3125", "1.4e-45"},
        {"{\"seed\":1}", "null"},
        {",\n\"training\": {\"seed\":1}", ""},
        {"\"stride\": 0", "\"stride\": 342"},
        {"\"max_windows\": 0, ", ""},   /* optional: absent = every window */
        {"\"max_windows\": 0", "\"max_windows\": 1000000"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        char *x = edit(t, ok[i][0], ok[i][1]);
        mal_model m;
        mal_error e = {{0}};
        if (mal_model_parse(&m, x, strlen(x), "edge", &e) != 0)
            fail_msg("edge %zu: %s", i, e.msg);
        if (i == 3 || i == 4)
            assert_null(m.training_json);
        mal_model_free(&m);
        free(x);
    }
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_float_text_round_trip),
        cmocka_unit_test(test_atomic_save),
        cmocka_unit_test(test_tiny_is_valid),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_size_cap),
        cmocka_unit_test(test_field_errors),
        cmocka_unit_test(test_edges_accepted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
