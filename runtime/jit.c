/* jit.c - libtcc in memory (see jit.h). */
#include "jit.h"

#include <libtcc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct mal_jit {
    TCCState *s;
    size_t size;
};

/* every libtcc call in the process happens under this lock */
static pthread_mutex_t tcc_lock = PTHREAD_MUTEX_INITIALIZER;

typedef struct err_ctx {
    const mal_jit_unit *unit;   /* unit being compiled, NULL at relocation */
    char first[700];            /* first error message tcc reported */
    int nerr;
} err_ctx;

static void on_error(void *opaque, const char *msg)
{
    err_ctx *c = opaque;
    if (strstr(msg, "warning:"))
        return;   /* warnings do not fail a build */
    /* keep the first error (tcc may report a follow-up or a duplicate) */
    if (c->nerr++ == 0)
        snprintf(c->first, sizeof c->first, "%s", msg);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Line `line` (1-based) of text, at most 200 bytes, into out. */
static void source_line(const char *text, long line, char *out, size_t cap)
{
    const char *p = text;
    for (long l = 1; l < line && p; l++) {
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    if (!p || !*p) {
        snprintf(out, cap, "(no such line)");
        return;
    }
    size_t n = strcspn(p, "\n");
    if (n > 200)
        n = 200;
    snprintf(out, cap, "%.*s", (int)n, p);
}

/* "<string>:12: error: ..." -> "unit.c:12: error: ...\n    | <line 12>" */
static int compile_error(mal_error *e, const err_ctx *c)
{
    const char *msg = c->first[0] ? c->first : "unknown libtcc error";
    if (!c->unit)
        return mal_error_set(e, "libtcc: %s", msg);
    const char *colon = strchr(msg, ':');
    long line = colon ? strtol(colon + 1, NULL, 10) : 0;
    const char *rest = colon ? strchr(colon + 1, ':') : NULL;
    char text[256];
    if (line > 0 && rest) {
        source_line(c->unit->text, line, text, sizeof text);
        return mal_error_set(e, "%s:%ld:%s\n    | %s", c->unit->name, line, rest + 1, text);
    }
    return mal_error_set(e, "%s: %s", c->unit->name, msg);
}

int mal_jit_compile(const mal_jit_unit *units, int nunits, const mal_jit_symbol *symbols,
                    int nsymbols, mal_jit **out, double *compile_ms, double *relocate_ms,
                    mal_error *e)
{
    *out = NULL;
    mal_jit *j = calloc(1, sizeof *j);
    if (!j)
        return mal_error_set(e, "jit: out of memory");
    const char *dir = getenv("MALSTM_TCC_DIR");
    if (!dir || !*dir)
        dir = MAL_TCC_DIR_DEFAULT;
    err_ctx c = {0};
    int rc = -1;
    pthread_mutex_lock(&tcc_lock);
    double t0 = now_ms(), t1;
    TCCState *s = tcc_new();
    if (!s) {
        pthread_mutex_unlock(&tcc_lock);
        free(j);
        return mal_error_set(e, "jit: tcc_new failed");
    }
    tcc_set_lib_path(s, dir);
    tcc_set_error_func(s, &c, on_error);
    if (tcc_set_output_type(s, TCC_OUTPUT_MEMORY) < 0) {
        compile_error(e, &c);
        goto fail;
    }
    for (int i = 0; i < nunits; i++) {
        c.unit = &units[i];
        if (tcc_compile_string(s, units[i].text) < 0 || c.nerr) {
            compile_error(e, &c);
            goto fail;
        }
    }
    c.unit = NULL;
    for (int i = 0; i < nsymbols; i++)
        tcc_add_symbol(s, symbols[i].name, symbols[i].addr);
    t1 = now_ms();
#ifdef TCC_RELOCATE_AUTO
    int need = tcc_relocate(s, NULL);
    if (need < 0 || tcc_relocate(s, TCC_RELOCATE_AUTO) < 0) {
#else
    int need = 0;
    if (tcc_relocate(s) < 0) {
#endif
        if (!c.first[0])
            snprintf(c.first, sizeof c.first, "relocation failed (is the tcc package installed in %s?)",
                     dir);
        compile_error(e, &c);
        goto fail;
    }
    if (compile_ms)
        *compile_ms = t1 - t0;
    if (relocate_ms)
        *relocate_ms = now_ms() - t1;
    j->s = s;
    j->size = need > 0 ? (size_t)need : 0;
    *out = j;
    rc = 0;
    pthread_mutex_unlock(&tcc_lock);
    return rc;
fail:
    tcc_delete(s);
    pthread_mutex_unlock(&tcc_lock);
    free(j);
    return rc;
}

void *mal_jit_symbol_addr(mal_jit *j, const char *name)
{
    pthread_mutex_lock(&tcc_lock);
    void *p = tcc_get_symbol(j->s, name);
    pthread_mutex_unlock(&tcc_lock);
    return p;
}

size_t mal_jit_code_size(const mal_jit *j)
{
    return j ? j->size : 0;
}

void mal_jit_free(mal_jit *j)
{
    if (!j)
        return;
    pthread_mutex_lock(&tcc_lock);
    tcc_delete(j->s);
    pthread_mutex_unlock(&tcc_lock);
    free(j);
}
