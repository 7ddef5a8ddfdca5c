/* vocab.c - load, validate and look up the API vocabulary. */
#include "vocab.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* FNV-1a over the lower-cased bytes: the hash is case-insensitive. */
static uint32_t hash_name(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= lower((unsigned char)s[i]);
        h *= 16777619u;
    }
    return h;
}

static int valid_name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

void mal_vocab_free(mal_vocab *v)
{
    if (!v)
        return;
    if (v->names)
        for (int i = 0; i < v->size; i++)
            free(v->names[i]);
    free(v->names);
    free(v->slots);
    memset(v, 0, sizeof *v);
}

int mal_vocab_lookup(const mal_vocab *v, const char *name, size_t len)
{
    if (!v->slots || len == 0 || len > MAL_NAME_MAX)
        return -1;
    uint32_t mask = v->nslots - 1;
    for (uint32_t i = hash_name(name, len) & mask;; i = (i + 1) & mask) {
        int32_t id = v->slots[i];
        if (id < 0)
            return -1;
        const char *n = v->names[id];
        size_t k = 0;
        while (k < len && n[k] && n[k] == (char)lower((unsigned char)name[k]))
            k++;
        if (k == len && n[k] == '\0')
            return id;
    }
}

const char *mal_vocab_name(const mal_vocab *v, int id)
{
    if (!v->names || id < 0 || id >= v->size)
        return NULL;
    return v->names[id];
}

int mal_vocab_equal(const mal_vocab *a, const mal_vocab *b)
{
    if (a->size != b->size || a->count != b->count)
        return 0;
    for (int i = 0; i < a->size; i++) {
        const char *x = a->names[i], *y = b->names[i];
        if ((x == NULL) != (y == NULL) || (x && strcmp(x, y) != 0))
            return 0;
    }
    return 1;
}

/* Insert names[id] into the hash table; fails on a duplicate name. */
static int insert(mal_vocab *v, int id)
{
    const char *name = v->names[id];
    size_t len = strlen(name);
    uint32_t mask = v->nslots - 1;
    for (uint32_t i = hash_name(name, len) & mask;; i = (i + 1) & mask) {
        if (v->slots[i] < 0) {
            v->slots[i] = id;
            return id;
        }
        if (strcmp(v->names[v->slots[i]], name) == 0)
            return -1 - v->slots[i];   /* encodes the earlier id */
    }
}

/* Validate one name (lower-cases it in place); returns NULL or a reason. */
static const char *check_name(char *name)
{
    size_t len = strlen(name);
    if (len == 0)
        return "empty name";
    if (len > MAL_NAME_MAX)
        return "name longer than 255 bytes";
    for (size_t i = 0; i < len; i++) {
        name[i] = (char)lower((unsigned char)name[i]);
        if (!valid_name_char((unsigned char)name[i]))
            return "name has a character outside [A-Za-z0-9_]";
    }
    return NULL;
}

static int build_table(mal_vocab *v, const char *what, const int *lines, mal_error *e)
{
    v->nslots = 16;
    while (v->nslots < 2u * (uint32_t)v->count)
        v->nslots <<= 1;
    v->slots = malloc(v->nslots * sizeof *v->slots);
    if (!v->slots)
        return mal_error_set(e, "%s: out of memory", what);
    memset(v->slots, 0xff, v->nslots * sizeof *v->slots);
    for (int id = 0; id < v->size; id++) {
        if (!v->names[id])
            continue;
        int r = insert(v, id);
        if (r < 0) {
            int first = -1 - r;
            if (lines)
                return mal_error_set(e, "%s:%d: duplicate name '%s' (first at line %d)", what,
                                     lines[id], v->names[id], lines[first]);
            return mal_error_set(e, "%s: duplicate name '%s' at indices %d and %d", what,
                                 v->names[id], first, id);
        }
    }
    return 0;
}

int mal_vocab_from_names(mal_vocab *v, const char *const *names, int size, const char *what,
                         mal_error *e)
{
    memset(v, 0, sizeof *v);
    if (size <= 0 || size > MAL_VOCAB_MAX_SIZE)
        return mal_error_set(e, "%s: size %d out of range 1..%d", what, size, MAL_VOCAB_MAX_SIZE);
    v->size = size;
    v->names = calloc((size_t)size, sizeof *v->names);
    if (!v->names)
        return mal_error_set(e, "%s: out of memory", what);
    for (int id = 0; id < size; id++) {
        if (!names[id])
            continue;
        v->names[id] = strdup(names[id]);
        if (!v->names[id]) {
            mal_vocab_free(v);
            return mal_error_set(e, "%s: out of memory", what);
        }
        const char *why = check_name(v->names[id]);
        if (why) {
            mal_error_set(e, "%s[%d]: %s", what, id, why);
            mal_vocab_free(v);
            return -1;
        }
        v->count++;
    }
    if (v->count == 0 || build_table(v, what, NULL, e) < 0) {
        if (v->count == 0)
            mal_error_set(e, "%s: no names", what);
        mal_vocab_free(v);
        return -1;
    }
    return 0;
}

/* Read one line without its '\n' into buf. Returns 1 (a line), 0 (EOF),
 * -2 (longer than buf; the rest of the line is consumed) or -3 (NUL byte). */
static int read_line(FILE *f, char *buf, size_t size, size_t *len)
{
    int c, status = 1;
    size_t n = 0;
    while ((c = getc(f)) != EOF && c != '\n') {
        if (c == 0)
            status = -3;
        else if (n + 1 >= size)
            status = status == 1 ? -2 : status;
        else
            buf[n++] = (char)c;
    }
    buf[n] = '\0';
    *len = n;
    if (c == EOF && n == 0 && status == 1)
        return 0;
    return status;
}

int mal_vocab_load(mal_vocab *v, const char *path, mal_error *e)
{
    memset(v, 0, sizeof *v);
    FILE *f = fopen(path, "rb");
    if (!f)
        return mal_error_set(e, "%s: cannot open: %s", path, strerror(errno));
    int cap = 512, *lines = NULL, rc = -1, lineno = 0;
    char buf[MAL_NAME_MAX + 64];
    v->names = calloc((size_t)cap, sizeof *v->names);
    lines = calloc((size_t)cap, sizeof *lines);
    if (!v->names || !lines) {
        mal_error_set(e, "%s: out of memory", path);
        goto out;
    }
    for (;;) {
        size_t len = 0;
        int r = read_line(f, buf, sizeof buf, &len);
        if (r == 0)
            break;
        lineno++;
        if (r == -2) {
            mal_error_set(e, "%s:%d: line too long (over %zu bytes)", path, lineno, sizeof buf - 2);
            goto out;
        }
        if (r == -3) {
            mal_error_set(e, "%s:%d: NUL byte in line", path, lineno);
            goto out;
        }
        while (len && buf[len - 1] == '\r')
            buf[--len] = '\0';
        if (len == 0)
            continue;   /* blank lines (e.g. a trailing one) are allowed */
        char *eq = strchr(buf, '=');
        if (!eq) {
            mal_error_set(e, "%s:%d: expected name=index, got '%.40s'", path, lineno, buf);
            goto out;
        }
        *eq = '\0';
        const char *why = check_name(buf);
        if (why) {
            mal_error_set(e, "%s:%d: %s", path, lineno, why);
            goto out;
        }
        char *end;
        errno = 0;
        long idx = strtol(eq + 1, &end, 10);
        /* digits only: strtol alone would skip any leading whitespace (\v, \t, ...)
         * and accept a sign after it, giving a negative index */
        if (!isdigit((unsigned char)eq[1]) || *end != '\0' || errno || idx < 0) {
            mal_error_set(e, "%s:%d: index '%.20s' is not a non-negative integer", path, lineno, eq + 1);
            goto out;
        }
        if (idx >= MAL_VOCAB_MAX_SIZE) {
            mal_error_set(e, "%s:%d: index %ld out of range 0..%d", path, lineno, idx, MAL_VOCAB_MAX_SIZE - 1);
            goto out;
        }
        while (idx >= cap) {
            int ncap = cap * 2;
            char **nn = realloc(v->names, (size_t)ncap * sizeof *nn);
            if (nn)
                v->names = nn;
            int *nl = realloc(lines, (size_t)ncap * sizeof *nl);
            if (nl)
                lines = nl;
            if (!nn || !nl) {
                mal_error_set(e, "%s: out of memory", path);
                goto out;
            }
            memset(v->names + cap, 0, (size_t)(ncap - cap) * sizeof *nn);
            memset(lines + cap, 0, (size_t)(ncap - cap) * sizeof *nl);
            cap = ncap;
        }
        if (v->names[idx]) {
            mal_error_set(e, "%s:%d: index %ld already used by '%s' (line %d)", path, lineno, idx,
                          v->names[idx], lines[idx]);
            goto out;
        }
        v->names[idx] = strdup(buf);
        if (!v->names[idx]) {
            mal_error_set(e, "%s: out of memory", path);
            goto out;
        }
        lines[idx] = lineno;
        v->count++;
        if (idx + 1 > v->size)
            v->size = (int)idx + 1;
    }
    if (ferror(f)) {
        mal_error_set(e, "%s: read error: %s", path, strerror(errno));
        goto out;
    }
    if (v->count == 0) {
        mal_error_set(e, "%s: no entries", path);
        goto out;
    }
    rc = build_table(v, path, lines, e);
out:
    fclose(f);
    free(lines);
    if (rc < 0) {
        /* names beyond size may be set on the error path: free all of cap */
        if (v->names)
            for (int i = v->size; i < cap; i++)
                free(v->names[i]), v->names[i] = NULL;
        mal_vocab_free(v);
    }
    return rc;
}
