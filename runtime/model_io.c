/* model_io.c - model file v1 (docs/model-format.md): validation, parsing with
 * cJSON, atomic streaming writer.
 *
 * Every error names the source (file path or `what`) and the JSON field path,
 * e.g. "m.json: weights.lstm1.wh.data[123]: not a finite number". */
#include "model.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FILE_BYTES ((size_t)256 << 20)   /* 256 MiB: far above any sane model */
#define MAX_ABS_WEIGHT 1e4

/* ---------------------------------------------------------------- helpers */

static int type_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > MAL_MAX_TYPE_NAME)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* Copy an untrusted string for an error message: at most 40 chars, only
 * printable ASCII other than quote and backslash, so messages stay one line. */
static const char *quote_safe(const char *s, char out[48])
{
    size_t i = 0;
    for (; s[i] && i < 40; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? (char)c : '?';
    }
    if (s[i]) {
        memcpy(out + i, "...", 4);
        return out;
    }
    out[i] = '\0';
    return out;
}

/* Check one float array: finite and |x| <= 1e4. */
static int check_floats(const float *x, size_t n, const char *what, const char *field,
                        mal_error *e)
{
    if (!x)
        return mal_error_set(e, "%s: %s: missing (NULL)", what, field);
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]))
            return mal_error_set(e, "%s: %s[%zu]: not a finite number", what, field, i);
        if (fabsf(x[i]) > MAX_ABS_WEIGHT)
            return mal_error_set(e, "%s: %s[%zu]: %.9g out of range (|w| <= 1e4)", what, field,
                                 i, (double)x[i]);
    }
    return 0;
}

/* ------------------------------------------------------------- validation */

static int check_dup_keys(const cJSON *node, char *path, size_t plen, size_t cap,
                          const char *what, mal_error *e);

static int validate_training_json(const char *text, const char *what, mal_error *e)
{
    const char *end = NULL;
    cJSON *t = cJSON_ParseWithOpts(text, &end, 1);
    if (!t)
        return mal_error_set(e, "%s: training: not valid JSON", what);
    int rc = 0;
    if (!cJSON_IsObject(t))
        rc = mal_error_set(e, "%s: training: must be a JSON object", what);
    else {
        char path[512] = "training";
        rc = check_dup_keys(t, path, strlen(path), sizeof path, what, e);
    }
    cJSON_Delete(t);
    return rc;
}

int mal_model_validate(const mal_model *m, const char *what, mal_error *e)
{
    if (!what)
        what = "model";
    if (!type_name_ok(m->type))
        return mal_error_set(e, "%s: type: must be 1..%d characters from [A-Za-z0-9_-]", what,
                             MAL_MAX_TYPE_NAME);
    const mal_vocab *v = &m->vocab;
    if (v->size < 1 || v->size > MAL_VOCAB_MAX_SIZE || !v->names || v->count < 1)
        return mal_error_set(e, "%s: vocabulary: empty or size %d out of range 1..%d", what,
                             v->size, MAL_VOCAB_MAX_SIZE);
    /* the writer prints names unescaped: re-check them (vocab.c made them so) */
    for (int id = 0; id < v->size; id++) {
        const char *n = v->names[id];
        if (!n)
            continue;
        size_t len = strlen(n);
        int ok = len >= 1 && len <= MAL_NAME_MAX;
        for (size_t k = 0; ok && k < len; k++)
            ok = (n[k] >= 'a' && n[k] <= 'z') || (n[k] >= '0' && n[k] <= '9') || n[k] == '_';
        if (!ok)
            return mal_error_set(e, "%s: vocabulary.names[%d]: not 1..%d characters from "
                                 "[a-z0-9_]", what, id, MAL_NAME_MAX);
    }
    if (m->embed < 1 || m->embed > MAL_MAX_EMBED)
        return mal_error_set(e, "%s: architecture.embed: %d out of range 1..%d", what, m->embed,
                             MAL_MAX_EMBED);
    if (m->l1.hidden < 1 || m->l1.hidden > MAL_MAX_HIDDEN)
        return mal_error_set(e, "%s: architecture.hidden1: %d out of range 1..%d", what,
                             m->l1.hidden, MAL_MAX_HIDDEN);
    if (m->l2.hidden < 1 || m->l2.hidden > MAL_MAX_HIDDEN)
        return mal_error_set(e, "%s: architecture.hidden2: %d out of range 1..%d", what,
                             m->l2.hidden, MAL_MAX_HIDDEN);
    if (m->l1.in != m->embed || m->l2.in != m->l1.hidden)
        return mal_error_set(e, "%s: architecture: layer inputs (%d, %d) do not chain "
                             "(embed %d, hidden1 %d)", what, m->l1.in, m->l2.in, m->embed,
                             m->l1.hidden);
    if ((unsigned)m->act > MAL_ACT_SOFTMAX)
        return mal_error_set(e, "%s: architecture.activation: unknown (%d)", what, (int)m->act);
    if (m->pool != MAL_POOL_LAST && m->pool != MAL_POOL_MEAN)
        return mal_error_set(e, "%s: architecture.pooling: unknown (%d)", what, (int)m->pool);
    const mal_scoring *s = &m->scoring;
    if (s->window < 1 || s->window > MAL_MAX_WINDOW)
        return mal_error_set(e, "%s: scoring.window: %d out of range 1..%d", what, s->window,
                             MAL_MAX_WINDOW);
    if (s->stride < 0 || s->stride > s->window)
        return mal_error_set(e, "%s: scoring.stride: %d out of range 0..window (%d)", what,
                             s->stride, s->window);
    if (s->max_windows < 0 || s->max_windows > MAL_MAX_WINDOWS)
        return mal_error_set(e, "%s: scoring.max_windows: %d out of range 0..%d", what,
                             s->max_windows, MAL_MAX_WINDOWS);
    if (s->dedup != 0 && s->dedup != 1)
        return mal_error_set(e, "%s: scoring.dedup: must be 0 or 1", what);
    if (s->combine != MAL_COMBINE_MEAN && s->combine != MAL_COMBINE_MAX)
        return mal_error_set(e, "%s: scoring.combine: unknown (%d)", what, (int)s->combine);
    if (check_floats(&s->calib_a, 1, what, "scoring.calibration.a", e) < 0 ||
        check_floats(&s->calib_b, 1, what, "scoring.calibration.b", e) < 0)
        return -1;
    size_t V = (size_t)v->size, E = (size_t)m->embed;
    size_t H1 = (size_t)m->l1.hidden, H2 = (size_t)m->l2.hidden;
    if (check_floats(m->embedding, V * E, what, "weights.embedding.data", e) < 0 ||
        check_floats(m->l1.wx, 4 * H1 * E, what, "weights.lstm1.wx.data", e) < 0 ||
        check_floats(m->l1.wh, 4 * H1 * H1, what, "weights.lstm1.wh.data", e) < 0 ||
        check_floats(m->l1.b, 4 * H1, what, "weights.lstm1.b.data", e) < 0 ||
        check_floats(m->l2.wx, 4 * H2 * H1, what, "weights.lstm2.wx.data", e) < 0 ||
        check_floats(m->l2.wh, 4 * H2 * H2, what, "weights.lstm2.wh.data", e) < 0 ||
        check_floats(m->l2.b, 4 * H2, what, "weights.lstm2.b.data", e) < 0 ||
        check_floats(m->dense_w, H2, what, "weights.dense.w.data", e) < 0 ||
        check_floats(&m->dense_b, 1, what, "weights.dense.b.data", e) < 0)
        return -1;
    if (m->training_json && validate_training_json(m->training_json, what, e) < 0)
        return -1;
    return 0;
}

/* ---------------------------------------------------------------- parsing */

/* Parsing context: the source name and a reusable field-path buffer. */
typedef struct pctx {
    const char *what;
    mal_error *e;
} pctx;

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void path_append(char *path, size_t plen, size_t cap, const char *fmt, const char *key,
                        int idx)
{
    if (plen >= cap)
        return;
    if (key) {
        char safe[48];
        snprintf(path + plen, cap - plen, fmt, plen ? "." : "", quote_safe(key, safe));
    } else
        snprintf(path + plen, cap - plen, "[%d]", idx);
}

/* cJSON keeps both copies of a repeated key and returns the first: reject
 * repeats anywhere in the document (including the free-form training record),
 * so that no reader can see a different value than another. Sorting makes
 * this O(k log k) per object. */
static int check_dup_keys(const cJSON *node, char *path, size_t plen, size_t cap,
                          const char *what, mal_error *e)
{
    if (cJSON_IsObject(node)) {
        size_t k = 0;
        const cJSON *c;
        cJSON_ArrayForEach(c, node) k++;
        if (k > 1) {
            const char **keys = malloc(k * sizeof *keys);
            if (!keys)
                return mal_error_set(e, "%s: out of memory", what);
            size_t i = 0;
            cJSON_ArrayForEach(c, node) keys[i++] = c->string ? c->string : "";
            qsort(keys, k, sizeof *keys, cmp_str_ptr);
            for (i = 1; i < k; i++)
                if (strcmp(keys[i - 1], keys[i]) == 0) {
                    char safe[48];
                    mal_error_set(e, "%s: %s%sduplicate key \"%s\"", what, path,
                                  plen ? ": " : "", quote_safe(keys[i], safe));
                    free(keys);
                    return -1;
                }
            free(keys);
        }
        cJSON_ArrayForEach(c, node) {
            path_append(path, plen, cap, "%s%s", c->string ? c->string : "", 0);
            if (check_dup_keys(c, path, strlen(path), cap, what, e) < 0)
                return -1;
            path[plen] = '\0';
        }
    } else if (cJSON_IsArray(node)) {
        int i = 0;
        const cJSON *c;
        cJSON_ArrayForEach(c, node) {
            if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
                path_append(path, plen, cap, NULL, NULL, i);
                if (check_dup_keys(c, path, strlen(path), cap, what, e) < 0)
                    return -1;
                path[plen] = '\0';
            }
            i++;
        }
    }
    return 0;
}

/* Reject keys not in `allowed` (NULL-terminated): a misspelt optional key
 * must not silently fall back to a default. */
static int check_keys(pctx *p, const cJSON *obj, const char *path, const char *const *allowed)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, obj) {
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(c->string, *a) == 0)
                ok = 1;
        if (!ok) {
            char safe[48];
            return mal_error_set(p->e, "%s: %s%s%s: unknown field", p->what, path,
                                 *path ? "." : "", quote_safe(c->string, safe));
        }
    }
    return 0;
}

static const cJSON *member(pctx *p, const cJSON *obj, const char *path, const char *key,
                           int (*is)(const cJSON *), const char *type_desc)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!c) {
        mal_error_set(p->e, "%s: %s%s%s: missing", p->what, path, *path ? "." : "", key);
        return NULL;
    }
    if (is && !is(c)) {
        mal_error_set(p->e, "%s: %s%s%s: must be %s", p->what, path, *path ? "." : "", key,
                      type_desc);
        return NULL;
    }
    return c;
}

static int is_obj(const cJSON *c) { return cJSON_IsObject(c); }
static int is_arr(const cJSON *c) { return cJSON_IsArray(c); }
static int is_str(const cJSON *c) { return cJSON_IsString(c); }
static int is_num(const cJSON *c) { return cJSON_IsNumber(c); }
static int is_bool(const cJSON *c) { return cJSON_IsBool(c); }

static const cJSON *get_obj(pctx *p, const cJSON *o, const char *path, const char *key)
{
    return member(p, o, path, key, is_obj, "an object");
}

static int get_int(pctx *p, const cJSON *o, const char *path, const char *key, long lo, long hi,
                   int *out)
{
    const cJSON *c = member(p, o, path, key, is_num, "an integer");
    if (!c)
        return -1;
    double d = c->valuedouble;
    if (!isfinite(d) || d != floor(d))
        return mal_error_set(p->e, "%s: %s.%s: must be an integer", p->what, path, key);
    if (d < (double)lo || d > (double)hi)
        return mal_error_set(p->e, "%s: %s.%s: %.17g out of range %ld..%ld", p->what, path, key,
                             d, lo, hi);
    *out = (int)d;
    return 0;
}

static int get_float(pctx *p, const cJSON *o, const char *path, const char *key, float *out)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!c)
        return mal_error_set(p->e, "%s: %s.%s: missing", p->what, path, key);
    if (!cJSON_IsNumber(c) || !isfinite(c->valuedouble))
        return mal_error_set(p->e, "%s: %s.%s: not a finite number", p->what, path, key);
    if (fabs(c->valuedouble) > MAX_ABS_WEIGHT)
        return mal_error_set(p->e, "%s: %s.%s: %.9g out of range (|x| <= 1e4)", p->what, path,
                             key, c->valuedouble);
    *out = (float)c->valuedouble;
    return 0;
}

static const char *get_str(pctx *p, const cJSON *o, const char *path, const char *key)
{
    const cJSON *c = member(p, o, path, key, is_str, "a string");
    return c ? c->valuestring : NULL;
}

/* A tensor {"shape": [d0, d1?], "data": [numbers]} of exactly the expected
 * shape, copied into dst (already allocated). */
static int get_tensor(pctx *p, const cJSON *o, const char *path, const char *key, int ndim,
                      int d0, int d1, float *dst)
{
    char tp[128];
    snprintf(tp, sizeof tp, "%s.%s", path, key);
    const cJSON *t = get_obj(p, o, path, key);
    if (!t)
        return -1;
    static const char *const keys[] = {"shape", "data", NULL};
    if (check_keys(p, t, tp, keys) < 0)
        return -1;
    const cJSON *shape = member(p, t, tp, "shape", is_arr, "an array of integers");
    if (!shape)
        return -1;
    int want[2] = {d0, d1}, got[2] = {-1, -1}, n = 0, bad = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, shape) {
        if (!cJSON_IsNumber(c) || c->valuedouble != floor(c->valuedouble) ||
            c->valuedouble < 0 || c->valuedouble > 1e9)
            bad = 1;
        else if (n < 2)
            got[n] = (int)c->valuedouble;
        n++;
    }
    if (bad || n != ndim || got[0] != want[0] || (ndim == 2 && got[1] != want[1])) {
        if (ndim == 2)
            return mal_error_set(p->e, "%s: %s.shape: expected [%d, %d] (from the architecture)",
                                 p->what, tp, d0, d1);
        return mal_error_set(p->e, "%s: %s.shape: expected [%d] (from the architecture)", p->what,
                             tp, d0);
    }
    const cJSON *data = member(p, t, tp, "data", is_arr, "an array of numbers");
    if (!data)
        return -1;
    size_t want_n = (size_t)d0 * (size_t)(ndim == 2 ? d1 : 1), i = 0;
    cJSON_ArrayForEach(c, data) {
        if (i >= want_n) {
            i++;
            continue;
        }
        if (cJSON_IsNull(c) || (cJSON_IsNumber(c) && !isfinite(c->valuedouble)))
            return mal_error_set(p->e, "%s: %s.data[%zu]: not a finite number", p->what, tp, i);
        if (!cJSON_IsNumber(c))
            return mal_error_set(p->e, "%s: %s.data[%zu]: not a number", p->what, tp, i);
        if (fabs(c->valuedouble) > MAX_ABS_WEIGHT)
            return mal_error_set(p->e, "%s: %s.data[%zu]: %.9g out of range (|w| <= 1e4)",
                                 p->what, tp, i, c->valuedouble);
        dst[i++] = (float)c->valuedouble;
    }
    if (i != want_n)
        return mal_error_set(p->e, "%s: %s.data: expected %zu numbers, got %zu", p->what, tp,
                             want_n, i);
    return 0;
}

static int get_layer(pctx *p, const cJSON *w, const char *key, mal_lstm_layer *l)
{
    char lp[64];
    snprintf(lp, sizeof lp, "weights.%s", key);
    const cJSON *o = get_obj(p, w, "weights", key);
    if (!o)
        return -1;
    static const char *const keys[] = {"wx", "wh", "b", NULL};
    if (check_keys(p, o, lp, keys) < 0)
        return -1;
    int H4 = 4 * l->hidden;
    if (get_tensor(p, o, lp, "wx", 2, H4, l->in, l->wx) < 0 ||
        get_tensor(p, o, lp, "wh", 2, H4, l->hidden, l->wh) < 0 ||
        get_tensor(p, o, lp, "b", 1, H4, 0, l->b) < 0)
        return -1;
    return 0;
}

/* 1-based line and column of byte `off` in text, for parse errors. */
static void line_col(const char *text, size_t off, size_t *line, size_t *col)
{
    size_t l = 1, c = 1;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n')
            l++, c = 1;
        else
            c++;
    }
    *line = l, *col = c;
}

/* The document (after syntax and duplicate checks) into m. */
static int parse_doc(pctx *p, const cJSON *root, mal_model *m)
{
    if (!cJSON_IsObject(root))
        return mal_error_set(p->e, "%s: top level must be a JSON object", p->what);
    const char *fmt = get_str(p, root, "", "format");
    if (!fmt)
        return -1;
    if (strcmp(fmt, MAL_MODEL_FORMAT) != 0) {
        char safe[48];
        return mal_error_set(p->e, "%s: format: expected \"%s\", got \"%s\"", p->what,
                             MAL_MODEL_FORMAT, quote_safe(fmt, safe));
    }
    const cJSON *ver = member(p, root, "", "version", is_num, "an integer");
    if (!ver)
        return -1;
    double vd = ver->valuedouble;
    if (!isfinite(vd) || vd != floor(vd) || vd < 1)
        return mal_error_set(p->e, "%s: version: must be a positive integer", p->what);
    if (vd > MAL_MODEL_VERSION)
        return mal_error_set(p->e, "%s: version: unsupported version %.0f, this build reads %d",
                             p->what, vd > 1e15 ? 1e15 : vd, MAL_MODEL_VERSION);
    static const char *const top[] = {"format", "version", "type", "vocabulary", "architecture",
                                      "scoring", "weights", "training", NULL};
    if (check_keys(p, root, "", top) < 0)
        return -1;

    const char *type = get_str(p, root, "", "type");
    if (!type)
        return -1;
    if (!type_name_ok(type))
        return mal_error_set(p->e, "%s: type: must be 1..%d characters from [A-Za-z0-9_-]",
                             p->what, MAL_MAX_TYPE_NAME);

    /* vocabulary */
    const cJSON *vo = get_obj(p, root, "", "vocabulary");
    if (!vo)
        return -1;
    static const char *const vkeys[] = {"size", "names", NULL};
    if (check_keys(p, vo, "vocabulary", vkeys) < 0)
        return -1;
    int vsize;
    if (get_int(p, vo, "vocabulary", "size", 1, MAL_VOCAB_MAX_SIZE, &vsize) < 0)
        return -1;
    const cJSON *names = member(p, vo, "vocabulary", "names", is_arr, "an array");
    if (!names)
        return -1;
    int nn = cJSON_GetArraySize(names);
    if (nn != vsize)
        return mal_error_set(p->e, "%s: vocabulary.names: %d entries, vocabulary.size is %d",
                             p->what, nn, vsize);
    const char **nv = calloc((size_t)vsize, sizeof *nv);
    if (!nv)
        return mal_error_set(p->e, "%s: out of memory", p->what);
    int i = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, names) {
        if (cJSON_IsString(c))
            nv[i] = c->valuestring;
        else if (!cJSON_IsNull(c)) {
            free(nv);
            return mal_error_set(p->e, "%s: vocabulary.names[%d]: must be a string or null",
                                 p->what, i);
        }
        i++;
    }
    char vwhat[1100];
    snprintf(vwhat, sizeof vwhat, "%s: vocabulary.names", p->what);
    mal_vocab vocab;
    int rc = mal_vocab_from_names(&vocab, nv, vsize, vwhat, p->e);
    free(nv);
    if (rc < 0)
        return -1;

    /* architecture */
    int E, H1, H2;
    mal_act act;
    const cJSON *ar = get_obj(p, root, "", "architecture");
    static const char *const akeys[] = {"embed", "hidden1", "hidden2", "activation", "pooling",
                                        "gate_order", NULL};
    const char *acts = NULL, *pools = NULL, *go = NULL;
    if (!ar || check_keys(p, ar, "architecture", akeys) < 0 ||
        get_int(p, ar, "architecture", "embed", 1, MAL_MAX_EMBED, &E) < 0 ||
        get_int(p, ar, "architecture", "hidden1", 1, MAL_MAX_HIDDEN, &H1) < 0 ||
        get_int(p, ar, "architecture", "hidden2", 1, MAL_MAX_HIDDEN, &H2) < 0 ||
        !(acts = get_str(p, ar, "architecture", "activation")) ||
        !(pools = get_str(p, ar, "architecture", "pooling")) ||
        !(go = get_str(p, ar, "architecture", "gate_order"))) {
        mal_vocab_free(&vocab);
        return -1;
    }
    char safe[48];
    if (mal_act_parse(acts, &act) < 0) {
        mal_vocab_free(&vocab);
        return mal_error_set(p->e, "%s: architecture.activation: unknown \"%s\" (tanh, sigmoid, "
                             "softsign, softmax)", p->what, quote_safe(acts, safe));
    }
    mal_pool pool;
    if (strcmp(pools, "last") == 0)
        pool = MAL_POOL_LAST;
    else if (strcmp(pools, "mean") == 0)
        pool = MAL_POOL_MEAN;
    else {
        mal_vocab_free(&vocab);
        return mal_error_set(p->e, "%s: architecture.pooling: unknown \"%s\" (last, mean)",
                             p->what, quote_safe(pools, safe));
    }
    if (strcmp(go, "ifgo") != 0) {
        mal_vocab_free(&vocab);
        return mal_error_set(p->e, "%s: architecture.gate_order: \"%s\" not supported (ifgo)",
                             p->what, quote_safe(go, safe));
    }
    rc = mal_model_alloc(m, &vocab, type, E, H1, H2, act, p->e);
    mal_vocab_free(&vocab);
    if (rc < 0)
        return mal_error_prefix(p->e, "%s", p->what);
    m->pool = pool;

    /* scoring */
    const cJSON *sc = get_obj(p, root, "", "scoring");
    static const char *const skeys[] = {"window", "stride", "max_windows", "dedup", "combine",
                                        "calibration", NULL};
    static const char *const ckeys[] = {"a", "b", NULL};
    mal_scoring *s = &m->scoring;
    const cJSON *dd, *cal;
    const char *comb;
    if (!sc || check_keys(p, sc, "scoring", skeys) < 0 ||
        get_int(p, sc, "scoring", "window", 1, MAL_MAX_WINDOW, &s->window) < 0 ||
        get_int(p, sc, "scoring", "stride", 0, MAL_MAX_WINDOW, &s->stride) < 0 ||
        !(dd = member(p, sc, "scoring", "dedup", is_bool, "true or false")) ||
        !(comb = get_str(p, sc, "scoring", "combine")) ||
        !(cal = get_obj(p, sc, "scoring", "calibration")) ||
        check_keys(p, cal, "scoring.calibration", ckeys) < 0 ||
        get_float(p, cal, "scoring.calibration", "a", &s->calib_a) < 0 ||
        get_float(p, cal, "scoring.calibration", "b", &s->calib_b) < 0)
        return -1;
    if (s->stride > s->window)
        return mal_error_set(p->e, "%s: scoring.stride: %d out of range 0..window (%d)", p->what,
                             s->stride, s->window);
    /* optional (files written before it existed mean "every window") */
    s->max_windows = 0;
    if (cJSON_GetObjectItemCaseSensitive(sc, "max_windows") &&
        get_int(p, sc, "scoring", "max_windows", 0, MAL_MAX_WINDOWS, &s->max_windows) < 0)
        return -1;
    s->dedup = cJSON_IsTrue(dd);
    if (strcmp(comb, "mean") == 0)
        s->combine = MAL_COMBINE_MEAN;
    else if (strcmp(comb, "max") == 0)
        s->combine = MAL_COMBINE_MAX;
    else
        return mal_error_set(p->e, "%s: scoring.combine: unknown \"%s\" (mean, max)", p->what,
                             quote_safe(comb, safe));

    /* weights */
    const cJSON *w = get_obj(p, root, "", "weights");
    static const char *const wkeys[] = {"embedding", "lstm1", "lstm2", "dense", NULL};
    static const char *const dkeys[] = {"w", "b", NULL};
    const cJSON *dn;
    if (!w || check_keys(p, w, "weights", wkeys) < 0 ||
        get_tensor(p, w, "weights", "embedding", 2, vsize, E, m->embedding) < 0 ||
        get_layer(p, w, "lstm1", &m->l1) < 0 || get_layer(p, w, "lstm2", &m->l2) < 0 ||
        !(dn = get_obj(p, w, "weights", "dense")) ||
        check_keys(p, dn, "weights.dense", dkeys) < 0 ||
        get_tensor(p, dn, "weights.dense", "w", 1, H2, 0, m->dense_w) < 0 ||
        get_tensor(p, dn, "weights.dense", "b", 1, 1, 0, &m->dense_b) < 0)
        return -1;

    /* training record: optional, free-form object, kept as compact text */
    const cJSON *tr = cJSON_GetObjectItemCaseSensitive(root, "training");
    if (tr && !cJSON_IsNull(tr)) {
        if (!cJSON_IsObject(tr))
            return mal_error_set(p->e, "%s: training: must be an object or null", p->what);
        m->training_json = cJSON_PrintUnformatted(tr);
        if (!m->training_json)
            return mal_error_set(p->e, "%s: training: out of memory", p->what);
    }
    return mal_model_validate(m, p->what, p->e);
}

int mal_model_parse(mal_model *m, const char *text, size_t len, const char *what, mal_error *e)
{
    memset(m, 0, sizeof *m);
    if (!what)
        what = "model";
    if (len == 0)
        return mal_error_set(e, "%s: empty file", what);
    if (len > MAX_FILE_BYTES)
        return mal_error_set(e, "%s: %zu bytes, larger than the %zu MiB limit", what, len,
                             MAX_FILE_BYTES >> 20);
    const char *nul = memchr(text, '\0', len);
    if (nul)
        return mal_error_set(e, "%s: NUL byte at offset %zu", what, (size_t)(nul - text));
    char *buf = malloc(len + 1);
    if (!buf)
        return mal_error_set(e, "%s: out of memory", what);
    memcpy(buf, text, len);
    buf[len] = '\0';
    const char *end = NULL;
    /* length counts the NUL (deps.md 3): require exactly one value, nothing after it */
    cJSON *root = cJSON_ParseWithLengthOpts(buf, len + 1, &end, 1);
    if (!root) {
        size_t off = end && end >= buf && end <= buf + len ? (size_t)(end - buf) : len, l, c;
        /* tell trailing data apart from a broken value: re-parse without the check */
        const char *end2 = NULL;
        cJSON *loose = cJSON_ParseWithLengthOpts(buf, len + 1, &end2, 0);
        if (loose) {
            cJSON_Delete(loose);
            off = (size_t)(end2 - buf);
            while (off < len && (buf[off] == ' ' || buf[off] == '\t' || buf[off] == '\n' ||
                                 buf[off] == '\r'))
                off++;
            line_col(buf, off, &l, &c);
            mal_error_set(e, "%s: line %zu, column %zu: trailing data after the JSON value",
                          what, l, c);
        } else {
            line_col(buf, off, &l, &c);
            mal_error_set(e, "%s: line %zu, column %zu: invalid JSON%s", what, l, c,
                          off + 1 >= len ? " (truncated?)" : "");
        }
        free(buf);
        return -1;
    }
    free(buf);
    char path[512] = "";
    int rc = check_dup_keys(root, path, 0, sizeof path, what, e);
    pctx p = {what, e};
    if (rc == 0)
        rc = parse_doc(&p, root, m);
    cJSON_Delete(root);
    if (rc < 0)
        mal_model_free(m);
    return rc;
}

int mal_model_load(mal_model *m, const char *path, mal_error *e)
{
    memset(m, 0, sizeof *m);
    /* O_NONBLOCK: a FIFO must not hang the open; it is rejected below */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return mal_error_set(e, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int err = errno;
        close(fd);
        return mal_error_set(e, "%s: cannot stat: %s", path, strerror(err));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return mal_error_set(e, "%s: not a regular file", path);
    }
    if ((unsigned long long)st.st_size > MAX_FILE_BYTES) {
        close(fd);
        return mal_error_set(e, "%s: %lld bytes, larger than the %zu MiB limit", path,
                             (long long)st.st_size, MAX_FILE_BYTES >> 20);
    }
    size_t n = (size_t)st.st_size, got = 0;
    char *buf = malloc(n ? n : 1);
    if (!buf) {
        close(fd);
        return mal_error_set(e, "%s: out of memory", path);
    }
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int err = errno;
            free(buf);
            close(fd);
            return mal_error_set(e, "%s: read error: %s", path, strerror(err));
        }
        if (r == 0)
            break;   /* shrank while reading: parse what we have, it will fail if cut */
        got += (size_t)r;
    }
    close(fd);
    int rc = mal_model_parse(m, buf, got, path, e);
    free(buf);
    return rc;
}

/* ---------------------------------------------------------------- writing */

/* rows x cols floats, one row per line (readable, diffable), %.9g: the
 * shortest width that round-trips every float exactly. */
static void put_floats(FILE *f, const float *x, size_t rows, size_t cols, const char *indent)
{
    for (size_t r = 0; r < rows; r++) {
        fprintf(f, "%s\n%s", r ? "," : "", indent);
        for (size_t c = 0; c < cols; c++)
            fprintf(f, "%s%.9g", c ? ", " : "", (double)x[r * cols + c]);
    }
}

static void put_tensor(FILE *f, const char *key, int ndim, int d0, int d1, const float *x,
                       int last)
{
    fprintf(f, "    \"%s\": {\"shape\": [%d", key, d0);
    if (ndim == 2)
        fprintf(f, ", %d", d1);
    fputs("], \"data\": [", f);
    size_t rows = (size_t)d0, cols = ndim == 2 ? (size_t)d1 : (size_t)d0;
    if (ndim == 1)
        rows = 1;
    put_floats(f, x, rows, cols, "      ");
    fprintf(f, "]}%s\n", last ? "" : ",");
}

static void put_layer(FILE *f, const char *key, const mal_lstm_layer *l)
{
    fprintf(f, "  \"%s\": {\n", key);
    put_tensor(f, "wx", 2, 4 * l->hidden, l->in, l->wx, 0);
    put_tensor(f, "wh", 2, 4 * l->hidden, l->hidden, l->wh, 0);
    put_tensor(f, "b", 1, 4 * l->hidden, 0, l->b, 1);
    fputs("  },\n", f);
}

/* Names and type are validated to [a-z0-9_] / [A-Za-z0-9_-], so they need
 * no escaping. */
static void write_model(FILE *f, const mal_model *m)
{
    fprintf(f, "{\n\"format\": \"%s\",\n\"version\": %d,\n\"type\": \"%s\",\n", MAL_MODEL_FORMAT,
            MAL_MODEL_VERSION, m->type);
    fprintf(f, "\"vocabulary\": {\"size\": %d, \"names\": [", m->vocab.size);
    for (int i = 0; i < m->vocab.size; i++) {
        const char *n = m->vocab.names[i];
        fprintf(f, "%s%s%s%s%s", i ? "," : "", i % 8 == 0 ? "\n  " : (i ? " " : ""),
                n ? "\"" : "", n ? n : "null", n ? "\"" : "");
    }
    fputs("]},\n", f);
    fprintf(f, "\"architecture\": {\"embed\": %d, \"hidden1\": %d, \"hidden2\": %d, "
               "\"activation\": \"%s\", \"pooling\": \"%s\", \"gate_order\": \"ifgo\"},\n",
            m->embed, m->l1.hidden, m->l2.hidden, mal_act_name(m->act), mal_pool_name(m->pool));
    const mal_scoring *s = &m->scoring;
    fprintf(f, "\"scoring\": {\"window\": %d, \"stride\": %d, \"max_windows\": %d, "
               "\"dedup\": %s, \"combine\": \"%s\", \"calibration\": {\"a\": %.9g, \"b\": %.9g}},\n",
            s->window, s->stride, s->max_windows, s->dedup ? "true" : "false", mal_combine_name(s->combine),
            (double)s->calib_a, (double)s->calib_b);
    fputs("\"weights\": {\n", f);
    fputs("  \"embedding\": {\"shape\": [", f);
    fprintf(f, "%d, %d], \"data\": [", m->vocab.size, m->embed);
    put_floats(f, m->embedding, (size_t)m->vocab.size, (size_t)m->embed, "    ");
    fputs("]},\n", f);
    put_layer(f, "lstm1", &m->l1);
    put_layer(f, "lstm2", &m->l2);
    fputs("  \"dense\": {\n", f);
    put_tensor(f, "w", 1, m->l2.hidden, 0, m->dense_w, 0);
    put_tensor(f, "b", 1, 1, 0, &m->dense_b, 1);
    fputs("  }\n}", f);
    if (m->training_json)
        fprintf(f, ",\n\"training\": %s", m->training_json);
    fputs("\n}\n", f);
}

int mal_model_save(const mal_model *m, const char *path, mal_error *e)
{
    if (mal_model_validate(m, path, e) < 0)
        return mal_error_prefix(e, "refusing to save an invalid model");
    /* temp file beside the target so that rename() is atomic (same filesystem) */
    const char *slash = strrchr(path, '/');
    size_t dlen = slash ? (size_t)(slash - path) : 0;
    const char *base = slash ? slash + 1 : path;
    if (!*base)
        return mal_error_set(e, "%s: not a file name", path);
    size_t tlen = strlen(path) + 32;
    char *tmp = malloc(tlen), *dir = malloc(dlen + 2);
    if (!tmp || !dir) {
        free(tmp), free(dir);
        return mal_error_set(e, "%s: out of memory", path);
    }
    if (slash) {
        memcpy(dir, path, dlen);
        dir[dlen] = '\0';
        if (dlen == 0)
            strcpy(dir, "/");
        snprintf(tmp, tlen, "%s/.%s.tmp-XXXXXX", dlen ? dir : "", base);
    } else {
        strcpy(dir, ".");
        snprintf(tmp, tlen, ".%s.tmp-XXXXXX", base);
    }
    int rc = -1;
    FILE *f = NULL;
    int fd = mkstemp(tmp);
    if (fd < 0) {
        mal_error_set(e, "%s: cannot create a temporary file in %s: %s", path, dir,
                      strerror(errno));
        goto out;
    }
    /* mkstemp makes 0600; a model is not secret */
    if (fchmod(fd, 0644) < 0) {
        mal_error_set(e, "%s: chmod %s: %s", path, tmp, strerror(errno));
        close(fd);
        goto fail;
    }
    f = fdopen(fd, "w");
    if (!f) {
        mal_error_set(e, "%s: fdopen: %s", path, strerror(errno));
        close(fd);
        goto fail;
    }
    errno = 0;
    write_model(f, m);
    if (fflush(f) != 0 || ferror(f)) {
        mal_error_set(e, "%s: write error on %s: %s", path, tmp,
                      strerror(errno ? errno : EIO));
        fclose(f);
        goto fail;
    }
    if (fsync(fileno(f)) != 0) {
        mal_error_set(e, "%s: fsync %s: %s", path, tmp, strerror(errno));
        fclose(f);
        goto fail;
    }
    if (fclose(f) != 0) {
        mal_error_set(e, "%s: close %s: %s", path, tmp, strerror(errno));
        goto fail;
    }
    if (rename(tmp, path) != 0) {
        mal_error_set(e, "%s: cannot rename %s over it: %s", path, tmp, strerror(errno));
        goto fail;
    }
    /* make the rename itself durable; EINVAL: the filesystem cannot fsync directories */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || (fsync(dfd) != 0 && errno != EINVAL)) {
        mal_error_set(e, "%s: written, but cannot fsync directory %s: %s", path, dir,
                      strerror(errno));
        if (dfd >= 0)
            close(dfd);
        goto out;
    }
    close(dfd);
    rc = 0;
    goto out;
fail:
    unlink(tmp);
out:
    free(tmp);
    free(dir);
    return rc;
}
