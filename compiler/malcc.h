/* malcc.h - the model compiler: trained models -> specialised int8 C.
 *
 * Pipeline (each step is one file):
 *   check.c    pre-flight: every model valid, same vocabulary, safe type names
 *   quant.c    tables: fold Embedding+W_x1+b1 per token, int8 k-major matrices
 *   render.c   the tiny template engine ({{name}} placeholders)
 *   emit.c     C text of tables / names / provenance; one .c/.h per model +
 *              the ensemble; output directory written atomically
 *   jit_build.c the same code built in memory with libtcc (runtime/jit.h),
 *              big tables bound by address instead of printed
 *
 * The quantisation scheme is described in docs/quantisation.md. Library code
 * never prints or exits; errors come back in a mal_error. */
#ifndef MALCC_H
#define MALCC_H

#include <stddef.h>
#include <stdint.h>

#include "mal_error.h"
#include "model.h"

#define MALCC_VERSION "0.1.0"
#define MALCC_MAX_MODELS 64
#define MALCC_IDENT_MAX 48

/* ---- identifiers and strings that reach the C text ---- */

/* A safe C identifier from arbitrary text: lower-case [a-z0-9_], every other
 * byte becomes '_', runs of '_' collapse, a leading digit gets a 't' prefix,
 * at most MALCC_IDENT_MAX characters. Returns 0, or -1 if nothing is left
 * (empty, or only separators). */
int malcc_ident(const char *text, char *out, size_t cap);

/* 0 if `s` is 1..MAL_NAME_MAX bytes of [a-z0-9_] (the only bytes the C-string
 * escaper lets into a generated string literal), else -1. */
int malcc_safe_name(const char *s);

/* ---- quantised tables (what the generated code holds as constants) ---- */
typedef struct malcc_tables {
    int V, E, H1, H2;        /* vocabulary size (largest id + 1), sizes */
    float *tok;              /* [V][4*H1]  b1 + W_x1 * embedding[v], gate-major i,f,g,o */
    int8_t *wh1;             /* [H1][4*H1] layer-1 recurrent, k-major (transposed) */
    float *swh1;             /* [4*H1]     per-row dequantisation: row_scale / 127 */
    int8_t *wx2;             /* [H1][4*H2] layer-2 input, k-major */
    float *swx2;             /* [4*H2] */
    int8_t *wh2;             /* [H2][4*H2] layer-2 recurrent, k-major */
    float *swh2;             /* [4*H2] */
    float *b2;               /* [4*H2]     layer-2 bias */
    float *wd;               /* [H2]       dense weights */
    float db;                /* dense bias */
    int count;               /* names present */
    const char **names;      /* [count] names sorted (strcmp), pointing into the model's vocab */
    int32_t *ids;            /* [count] id of names[i] */
    /* Small profile only (malcc_tables_build_small; NULL otherwise): the
     * unfolded layer-1 input side, int8 with one scale per row:
     *   tok[v][r] ~ b1[r] + (sx1[r] * semb[v]) * sum_e wx1[r][e] * emb[v][e] */
    int8_t *emb;             /* [V][E]     round(emb[v][e] / semb[v]) */
    float *semb;             /* [V]        max_e |emb[v][e]| / 127 */
    int8_t *wx1;             /* [4*H1][E]  round(W_x1[r][e] / sx1[r]), row-major */
    float *sx1;              /* [4*H1]     max_e |W_x1[r][e]| / 127 */
    float *b1;               /* [4*H1]     layer-1 bias */
} malcc_tables;

int malcc_tables_build(const mal_model *m, malcc_tables *t, mal_error *e);
/* The small profile's tables: everything malcc_tables_build makes but `tok`
 * (left NULL), plus emb/semb/wx1/sx1/b1. */
int malcc_tables_build_small(const mal_model *m, malcc_tables *t, mal_error *e);
void malcc_tables_free(malcc_tables *t);

/* ---- the compiler ---- */
/* Targets: the host (default; what the JIT builds too) and small devices
 * (Cortex-M: no OS, malloc or libm; lean state; one shared name table). */
typedef enum malcc_target { MALCC_TARGET_HOST = 0, MALCC_TARGET_CORTEX_M = 1 } malcc_target;
/* Size/speed trade-off of the layer-1 input side (cortex-m target):
 *   fast   the float table folded per token (V x 4H1 floats: 547 KB for the
 *          paper's shapes), no work per token; the host target's bits
 *   small  int8 embedding + int8 W_x1 with per-row scales (~12 KB), E
 *          multiply-adds per gate row and token; scores differ slightly */
typedef enum malcc_profile {
    MALCC_PROFILE_DEFAULT = 0,   /* host: fast; cortex-m: small */
    MALCC_PROFILE_FAST = 1,
    MALCC_PROFILE_SMALL = 2
} malcc_profile;

typedef struct malcc_opts {
    const char *prefix;       /* identifier prefix of every generated symbol; NULL = "malstm" */
    int with_main;            /* emit main.c (reads traces from stdin) */
    const char *command;      /* command line for the provenance comment (sanitised) */
    const char *template_dir; /* NULL: $MALSTM_TEMPLATE_DIR or the build-time MALSTM_TEMPLATE_DIR */
    malcc_target target;      /* 0 = host */
    malcc_profile profile;    /* 0 = the target's default; host knows only fast */
} malcc_opts;

typedef struct malcc_file {
    char name[MALCC_IDENT_MAX + 16];   /* e.g. "adware.c" */
    char *text;
    size_t len;
} malcc_file;

typedef struct malcc_output {
    malcc_file *files;
    int n;
} malcc_output;

/* Pre-flight over the models as given: each validates, the vocabularies are
 * equal, type names are [A-Za-z0-9_-], vocabulary names [a-z0-9_], and the
 * identifiers derived from the type names are distinct. */
int malcc_check(const mal_model *const *models, int n, mal_error *e);

/* Render all sources in memory (standalone form: tables printed in full).
 * Models are ordered by type name (strcmp), which is the ensemble's order. */
int malcc_generate(const mal_model *const *models, int n, const malcc_opts *o,
                   malcc_output *out, mal_error *e);
void malcc_output_free(malcc_output *out);

/* Write the files into `dir` atomically: everything goes to a fresh temp
 * directory next to it, which is renamed to `dir` (an existing `dir` must be
 * empty or hold only files a previous malcc run wrote: it is replaced). */
int malcc_write_dir(const malcc_output *out, const char *dir, mal_error *e);

/* ---- the same code, built in memory with libtcc ---- */
typedef struct malcc_jit_model {
    char type[MAL_MAX_TYPE_NAME + 1];
    size_t state_size;                       /* sizeof the model's trace state */
    void (*init)(void *state);
    void (*step)(void *state, int id);
    int (*step_name)(void *state, const char *name, size_t len);
    float (*score)(const void *state);
    /* one window from a zero state (streaming the LSTM itself) */
    size_t window_size;
    void (*window_init)(void *w);
    void (*window_step)(void *w, int id);
    float (*window_prob)(const void *w);
} malcc_jit_model;

typedef struct malcc_jit {
    int n;                                   /* models, in ensemble (alphabetical) order */
    malcc_jit_model models[MALCC_MAX_MODELS];
    size_t state_size;                       /* ensemble state */
    void (*init)(void *state);
    void (*step)(void *state, int id);
    void (*step_many)(void *state, const int *ids, size_t n);   /* n steps, model by model */
    int (*step_name)(void *state, const char *name, size_t len);
    int (*score)(const void *state, float *probs);   /* returns the label index */
    double compile_ms, relocate_ms;          /* time spent in libtcc */
    size_t source_bytes;                     /* C text tcc parsed */
    size_t code_bytes;                       /* tcc_relocate size (code + its data) */
    size_t table_bytes;                      /* constants bound by address */
    void *priv;                              /* tables + the libtcc state */
} malcc_jit;

int malcc_jit_build(const mal_model *const *models, int n, const char *prefix, malcc_jit *j,
                    mal_error *e);
void malcc_jit_free(malcc_jit *j);

/* The host's plain int8 product (kernels.c), the gate kernels' path where the
 * CPU has no VNNI: acc[r] = sum_k w[k*R + r] * q[k], exact in int32. */
void malcc_host_mv_i8(const int8_t *restrict w, const int8_t *restrict q, int32_t *restrict acc,
                      int K, int R);

/* A weight matrix prepared for the host's gate kernel (kernels.c): it keeps
 * `w` (k-major [K][R], not copied: it must outlive the matrix) and, when
 * use_vnni is set and the CPU has AVX512-VNNI, a copy laid out for it.
 * NULL when out of memory or outside 1 <= K <= MAL_MAX_HIDDEN,
 * 1 <= R <= 4 * MAL_MAX_HIDDEN (what a validated model has). */
typedef struct malcc_host_matrix malcc_host_matrix;
malcc_host_matrix *malcc_host_matrix_new(const int8_t *w, int K, int R, int use_vnni);
void malcc_host_matrix_free(malcc_host_matrix *m);
size_t malcc_host_matrix_bytes(const malcc_host_matrix *m);   /* the copy's bytes (0: none) */
int malcc_host_has_vnni(void);
/* z[r] = base[r] + scale[r] * sum_k W[k][r] q[k] for r < R, as the generated
 * code's {{P}}_GATES computes it (same bits); base may be z. */
void malcc_host_gates(const malcc_host_matrix *m, const int8_t *q, const float *scale,
                      const float *base, float *z);
/* The same for nb vectors: z[b] = base[b] + scale * (W^T q[b]); base[b] may be
 * z[b]. With VNNI each weight block serves four of them. */
void malcc_host_gates_many(const malcc_host_matrix *m, int nb, const int8_t *const *q,
                           const float *scale, const float *const *base, float *const *z);

/* The host's LSTM cell for JIT-built models (kernels.c): templates/cell.c.in
 * built by gcc, one instance per activation (act: mal_act), H <= MAL_MAX_HIDDEN;
 * q = round(127 h + e) with e[H] the rounding residual carried between steps
 * (updated); then, unless pool is NULL, pool[j] += h[j] (the mean-pool sum). */
void malcc_host_cell(const float *z, float *h, float *c, int8_t *q, float *e, int H, int act,
                     float *pool);

/* ---- synthetic models (tests, benchmarks) ----
 * Random weights uniform in [-scale, scale] (embedding and dense ±1), seeded,
 * the same on every platform. */
int malcc_synthetic_model(mal_model *m, const mal_vocab *v, const char *type, int embed, int h1,
                          int h2, mal_act act, uint64_t seed, float scale, mal_error *e);

/* Four small odd-sized synthetic models (embedding 5, LSTM 7 -> LSTM 6: the
 * int8 kernels' odd-k tails), one per activation, with the other scoring
 * rules: Alpha (tanh, the paper's rule), Beta (sigmoid; strided windows over
 * the deduplicated trace, max combine, mean pool, calibrated), Gamma
 * (softsign; strided, max_windows 2), Delta-x (softmax; window 6, mean pool).
 * Seeds seed..seed+3. Shared by the compiler tests and the embedded test. */
#define MALCC_ODD_E 5
#define MALCC_ODD_H1 7
#define MALCC_ODD_H2 6
int malcc_odd_models(mal_model m[4], const mal_vocab *v, uint64_t seed, mal_error *e);

#endif
