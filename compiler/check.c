/* check.c - pre-flight: what the compiler accepts, and the only ways text from
 * a model file can reach the generated C (identifiers and [a-z0-9_] names). */
#include "malcc_internal.h"

#include <stdlib.h>
#include <string.h>

int malcc_ident(const char *text, char *out, size_t cap)
{
    size_t n = 0;
    if (cap < 2)
        return -1;
    for (const unsigned char *p = (const unsigned char *)text; *p && n + 1 < cap; p++) {
        char c = (char)*p;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
            c = '_';
        if (c == '_' && (n == 0 || out[n - 1] == '_'))
            continue;   /* no leading or doubled separators */
        if (n == 0 && c >= '0' && c <= '9') {
            out[n++] = 't';
            if (n + 1 >= cap)
                break;
        }
        if (n >= MALCC_IDENT_MAX)
            break;
        out[n++] = c;
    }
    while (n > 0 && out[n - 1] == '_')
        n--;
    out[n] = 0;
    return n > 0 ? 0 : -1;
}

int malcc_safe_name(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return -1;
    }
    return (n >= 1 && n <= MAL_NAME_MAX) ? 0 : -1;
}

/* The model contract's type charset [A-Za-z0-9_-]: the label string. */
static int safe_type(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return -1;
    }
    return (n >= 1 && n <= MAL_MAX_TYPE_NAME) ? 0 : -1;
}

static const char *const reserved[] = {"ensemble", "main"};

int malcc_check(const mal_model *const *models, int n, mal_error *e)
{
    if (n < 1)
        return mal_error_set(e, "no models given");
    if (n > MALCC_MAX_MODELS)
        return mal_error_set(e, "too many models (%d, at most %d)", n, MALCC_MAX_MODELS);
    for (int i = 0; i < n; i++) {
        const mal_model *m = models[i];
        if (safe_type(m->type) < 0)
            return mal_error_set(e, "model %d: type name is not 1..%d characters of [A-Za-z0-9_-]; "
                                 "refusing to put it into C code", i + 1, MAL_MAX_TYPE_NAME);
        if (mal_model_validate(m, m->type, e) < 0)
            return -1;
        for (int id = 0; id < m->vocab.size; id++)
            if (m->vocab.names[id] && malcc_safe_name(m->vocab.names[id]) < 0)
                return mal_error_set(e, "%s: vocabulary id %d: name is not [a-z0-9_]; refusing to "
                                     "put it into C code", m->type, id);
        if (i > 0 && !mal_vocab_equal(&m->vocab, &models[0]->vocab))
            return mal_error_set(e, "%s: vocabulary differs from %s's: all models must share one "
                                 "vocabulary", m->type, models[0]->type);
        char id[MALCC_IDENT_MAX + 1];
        if (malcc_ident(m->type, id, sizeof id) < 0)
            return mal_error_set(e, "model %d: no identifier can be made from its type", i + 1);
        for (size_t r = 0; r < sizeof reserved / sizeof *reserved; r++)
            if (strcmp(id, reserved[r]) == 0)
                return mal_error_set(e, "%s: type name is reserved ('%s')", m->type, reserved[r]);
        for (int j = 0; j < i; j++) {
            char other[MALCC_IDENT_MAX + 1];
            malcc_ident(models[j]->type, other, sizeof other);
            if (strcmp(id, other) == 0)
                return mal_error_set(e, "%s and %s: both become the identifier '%s'", models[j]->type,
                                     m->type, id);
        }
    }
    return 0;
}

static int by_type(const void *a, const void *b)
{
    return strcmp((*(const mal_model *const *)a)->type, (*(const mal_model *const *)b)->type);
}

int malcc_order(const mal_model *const *in, int n, const mal_model **out,
                char idents[][MALCC_IDENT_MAX + 1], mal_error *e)
{
    for (int i = 0; i < n; i++)
        out[i] = in[i];
    qsort(out, (size_t)n, sizeof *out, by_type);
    for (int i = 0; i < n; i++)
        if (malcc_ident(out[i]->type, idents[i], MALCC_IDENT_MAX + 1) < 0)
            return mal_error_set(e, "model %d: no identifier can be made from its type", i + 1);
    return 0;
}
