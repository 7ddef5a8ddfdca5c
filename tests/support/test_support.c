#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

char *tmp_dir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/malstm-test-XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

char *tmp_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

void rm_rf(const char *path)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", path);
}

void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

void write_text(const char *path, const char *text)
{
    write_file(path, text, strlen(text));
}

void gz_write(const char *path, const void *data, size_t len)
{
    gzFile g = gzopen(path, "wb");
    assert_non_null(g);
    if (len)
        assert_int_equal(gzwrite(g, data, (unsigned)len), (int)len);
    assert_int_equal(gzclose(g), Z_OK);
}

static char *slurp(gzFile g, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    int r;
    while ((r = gzread(g, buf + n, (unsigned)(cap - n - 1))) > 0) {
        n += (size_t)r;
        if (cap - n < 2) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    assert_true(r == 0);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

char *read_file(const char *path, size_t *len)
{
    gzFile g = gzopen(path, "rb");   /* transparent: plain files read as they are */
    assert_non_null(g);
    char *s = slurp(g, len);
    gzclose(g);
    return s;
}

char *read_gz(const char *path, size_t *len)
{
    return read_file(path, len);
}

const char *build_dir(void)
{
    const char *b = getenv("MALSTM_BUILD_DIR");
    return b && *b ? b : "build";
}

int run_capture(char **out, const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char full[8300];
    snprintf(full, sizeof full, "(%s) 2>&1", cmd);
    FILE *p = popen(full, "r");
    if (!p)
        return -1;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t r;
    while ((r = fread(buf + n, 1, cap - n - 1, p)) > 0) {
        n += r;
        if (cap - n < 2)
            buf = realloc(buf, cap *= 2);
    }
    buf[n] = '\0';
    int st = pclose(p);
    if (out)
        *out = buf;
    else
        free(buf);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void assert_contains_impl(const char *hay, const char *needle, const char *file, int line)
{
    if (!hay || !strstr(hay, needle)) {
        fprintf(stderr, "%s:%d: expected to find \"%s\" in:\n%s\n", file, line, needle,
                hay ? hay : "(null)");
        fail();
    }
}

mal_vocab sample_vocab;

int setup_sample_vocab(void **state)
{
    (void)state;
    mal_error e;
    return mal_vocab_load(&sample_vocab, SAMPLE_VOCAB, &e);
}

int teardown_sample_vocab(void **state)
{
    (void)state;
    mal_vocab_free(&sample_vocab);
    return 0;
}
