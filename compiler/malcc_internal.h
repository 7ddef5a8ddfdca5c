/* malcc_internal.h - what the compiler's files share: a growable text buffer
 * and the template renderer. Not part of the public API (malcc.h). */
#ifndef MALCC_INTERNAL_H
#define MALCC_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>

#include "malcc.h"

/* Growable text; `oom` sticks once an allocation failed (checked at the end). */
typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

void sb_put(sbuf *b, const char *s, size_t n);
void sb_puts(sbuf *b, const char *s);
void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_free(sbuf *b);
/* Hand the text over (NUL-terminated); NULL if an allocation failed. */
char *sb_take(sbuf *b, size_t *len);

/* A named value for the renderer. Values are text the compiler made itself
 * (numbers, identifiers, code assembled from those). */
typedef struct malcc_var {
    const char *name;
    const char *value;
} malcc_var;

/* Render template `tmpl` (named `what` in errors): every {{name}} is replaced
 * by its value; an unknown or malformed placeholder is an error. */
int malcc_render(const char *tmpl, const char *what, const malcc_var *vars, int nvars, sbuf *out,
                 mal_error *e);

/* Read templates/<name> (dir from opts, $MALSTM_TEMPLATE_DIR or the build's). */
char *malcc_read_template(const char *dir, const char *name, mal_error *e);

/* Float as an exact C hexadecimal literal with the f suffix ("0x1.8p-3f"). */
void sb_float(sbuf *b, float x);

/* Standalone (tables printed) or JIT (tables declared extern, bound by address). */
enum { MALCC_STANDALONE = 0, MALCC_JIT = 1 };

/* Render one model's .h and .c text. `ident` is its safe identifier,
 * `prefix` the symbol prefix; in JIT mode the .c text has the header inlined. */
int malcc_render_model(const mal_model *m, const malcc_tables *t, const char *prefix,
                       const char *ident, int mode, const char *tdir, const char *command,
                       char **h_text, char **c_text, mal_error *e);

/* Render the ensemble .h and .c; models sorted, idents parallel. In JIT mode
 * the .c text inlines every header (h_texts). */
int malcc_render_ensemble(const mal_model *const *models, char idents[][MALCC_IDENT_MAX + 1], int n,
                          const char *prefix, int mode, const char *tdir, const char *command,
                          char *const *h_texts, char **h_text, char **c_text, mal_error *e);

/* Sort models by type (strcmp) and compute their identifiers. */
int malcc_order(const mal_model *const *in, int n, const mal_model **out,
                char idents[][MALCC_IDENT_MAX + 1], mal_error *e);

#endif
