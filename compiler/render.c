/* render.c - the template engine: {{name}} placeholders filled with text the
 * compiler made. Nothing else: no conditionals, no loops, no escapes. */
#include "malcc_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

void sb_puts(sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

void sb_printf(sbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
        return;
    }
    if ((size_t)n < sizeof tmp) {
        sb_put(b, tmp, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb_put(b, big, (size_t)n);
    free(big);
}

void sb_free(sbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

char *sb_take(sbuf *b, size_t *len)
{
    if (b->oom) {
        sb_free(b);
        return NULL;
    }
    if (!b->p)
        sb_put(b, "", 0);
    char *p = b->p;
    if (len)
        *len = b->len;
    memset(b, 0, sizeof *b);
    return p;
}

void sb_float(sbuf *b, float x)
{
    if (x == 0.0f) {
        sb_puts(b, signbit(x) ? "-0.0f" : "0.0f");
        return;
    }
    sb_printf(b, "%af", (double)x);
}

static int is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

int malcc_render(const char *tmpl, const char *what, const malcc_var *vars, int nvars, sbuf *out,
                 mal_error *e)
{
    int line = 1;
    const char *p = tmpl;
    while (*p) {
        const char *open = strstr(p, "{{");
        if (!open) {
            sb_puts(out, p);
            break;
        }
        for (const char *q = p; q < open; q++)
            line += *q == '\n';
        sb_put(out, p, (size_t)(open - p));
        const char *name = open + 2, *end = name;
        while (is_name_char(*end))
            end++;
        if (end == name || end[0] != '}' || end[1] != '}')
            return mal_error_set(e, "%s:%d: malformed placeholder", what, line);
        size_t n = (size_t)(end - name);
        int found = 0;
        for (int i = 0; i < nvars; i++)
            if (strlen(vars[i].name) == n && memcmp(vars[i].name, name, n) == 0) {
                sb_puts(out, vars[i].value);
                found = 1;
                break;
            }
        if (!found)
            return mal_error_set(e, "%s:%d: unknown placeholder {{%.*s}}", what, line, (int)n, name);
        p = end + 2;
    }
    if (out->oom)
        return mal_error_set(e, "%s: out of memory", what);
    return 0;
}

char *malcc_read_template(const char *dir, const char *name, mal_error *e)
{
    if (!dir)
        dir = getenv("MALSTM_TEMPLATE_DIR");
#ifdef MALSTM_TEMPLATE_DIR
    if (!dir)
        dir = MALSTM_TEMPLATE_DIR;
#endif
    if (!dir)
        dir = "templates";
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        mal_error_set(e, "%s: cannot open template: %s", path, strerror(errno));
        return NULL;
    }
    sbuf b = {0};
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        sb_put(&b, buf, n);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        sb_free(&b);
        mal_error_set(e, "%s: read error", path);
        return NULL;
    }
    char *t = sb_take(&b, NULL);
    if (!t)
        mal_error_set(e, "%s: out of memory", path);
    return t;
}
