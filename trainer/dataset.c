/* dataset.c - load a dataset directory through the streaming trace reader. */
#include "dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "trace_reader.h"

const char *const mt_type_names[MT_NTYPES] = {"Adware", "Backdoor", "Downloader", "Dropper",
                                              "Spyware", "Trojan",  "Virus",      "Worms"};

int mt_type_index(const char *name)
{
    for (int i = 0; i < MT_NTYPES; i++)
        if (strcmp(name, mt_type_names[i]) == 0)
            return i;
    return -1;
}

typedef struct loader {
    mt_data *d;
    int cap;            /* allocated traces */
    int tail_cap;
    uint32_t dd_cap;
    uint16_t *ring;     /* [tail_cap] */
    uint64_t ring_n;    /* ids pushed into the ring for the current trace */
    uint16_t *dd;
    uint32_t ndd, dd_alloc;
    int last;           /* last id (dedup), -1 none */
    uint64_t calls;
} loader;

static int on_begin(void *ctx, const mal_record_info *info)
{
    (void)info;
    loader *L = ctx;
    L->ring_n = 0, L->ndd = 0, L->last = -1, L->calls = 0;
    return 0;
}

static int on_calls(void *ctx, int32_t id, uint64_t count)
{
    loader *L = ctx;
    L->calls += count;
    uint64_t k = count < (uint64_t)L->tail_cap ? count : (uint64_t)L->tail_cap;
    for (uint64_t i = 0; i < k; i++)
        L->ring[(L->ring_n++) % (uint64_t)L->tail_cap] = (uint16_t)id;
    if (count > k)
        L->ring_n += count - k;   /* positions stay consistent: all k slots hold id anyway */
    if (id != L->last && L->ndd < L->dd_cap) {
        if (L->ndd == L->dd_alloc) {
            uint32_t na = L->dd_alloc ? L->dd_alloc * 2 : 1024;
            uint16_t *p = realloc(L->dd, (size_t)na * sizeof *p);
            if (!p)
                return -1;
            L->dd = p, L->dd_alloc = na;
        }
        L->dd[L->ndd++] = (uint16_t)id;
    }
    L->last = id;
    return 0;
}

static int on_end(void *ctx, const mal_record_info *info)
{
    (void)info;
    loader *L = ctx;
    mt_data *d = L->d;
    if (d->n == L->cap) {
        int nc = L->cap ? L->cap * 2 : 256;
        mt_trace *p = realloc(d->t, (size_t)nc * sizeof *p);
        if (!p)
            return -1;
        d->t = p, L->cap = nc;
    }
    mt_trace *t = &d->t[d->n];
    memset(t, 0, sizeof *t);
    t->calls = L->calls;
    uint64_t nt = L->ring_n < (uint64_t)L->tail_cap ? L->ring_n : (uint64_t)L->tail_cap;
    t->ntail = (uint32_t)nt;
    t->tail = malloc((nt ? nt : 1) * sizeof *t->tail);
    t->dd = malloc((L->ndd ? L->ndd : 1) * sizeof *t->dd);
    if (!t->tail || !t->dd) {
        free(t->tail), free(t->dd);
        return -1;
    }
    for (uint64_t i = 0; i < nt; i++)
        t->tail[i] = L->ring[(L->ring_n - nt + i) % (uint64_t)L->tail_cap];
    memcpy(t->dd, L->dd, (size_t)L->ndd * sizeof *t->dd);
    t->ndd = L->ndd;
    d->unknown += info->unknown;
    d->n++;
    return 0;
}

static int crc_file(const char *path, uint32_t *crc, mal_error *e)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return mal_error_set(e, "%s: cannot open", path);
    unsigned char buf[1 << 16];
    size_t k;
    uLong c = *crc;
    while ((k = fread(buf, 1, sizeof buf, f)) > 0)
        c = crc32(c, buf, (uInt)k);
    int bad = ferror(f);
    fclose(f);
    if (bad)
        return mal_error_set(e, "%s: read error", path);
    *crc = (uint32_t)c;
    return 0;
}

/* Reads lines of a small text file; calls fn(ctx, line, lineno) for each. */
static int each_line(const char *path, int (*fn)(void *, char *, long, mal_error *), void *ctx,
                     mal_error *e)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return mal_error_set(e, "%s: cannot open", path);
    char *line = NULL;
    size_t cap = 0;
    ssize_t k;
    long no = 0;
    int rc = 0;
    while ((k = getline(&line, &cap, f)) >= 0) {
        no++;
        while (k > 0 && (line[k - 1] == '\n' || line[k - 1] == '\r' || line[k - 1] == ' ' ||
                         line[k - 1] == '\t'))
            line[--k] = 0;
        char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        if ((rc = fn(ctx, s, no, e)) < 0) {
            mal_error_prefix(e, "%s:%ld", path, no);
            break;
        }
    }
    free(line);
    fclose(f);
    return rc;
}

typedef struct intvec {
    int *v;
    long n, cap;
} intvec;

static int push(intvec *iv, int x, mal_error *e)
{
    if (iv->n == iv->cap) {
        long nc = iv->cap ? iv->cap * 2 : 1024;
        int *p = realloc(iv->v, (size_t)nc * sizeof *p);
        if (!p)
            return mal_error_set(e, "out of memory");
        iv->v = p, iv->cap = nc;
    }
    iv->v[iv->n++] = x;
    return 0;
}

static int label_line(void *ctx, char *s, long no, mal_error *e)
{
    (void)no;
    if (!*s)
        return mal_error_set(e, "empty type");
    int k = mt_type_index(s);
    if (k < 0)
        return mal_error_set(e, "unknown type '%.64s' (expected Adware, Backdoor, Downloader, "
                             "Dropper, Spyware, Trojan, Virus or Worms)", s);
    return push(ctx, k, e);
}

static int split_line(void *ctx, char *s, long no, mal_error *e)
{
    (void)no;
    if (strcmp(s, "train") == 0)
        return push(ctx, MT_SPLIT_TRAIN, e);
    if (strcmp(s, "test") == 0)
        return push(ctx, MT_SPLIT_TEST, e);
    return mal_error_set(e, "expected 'train' or 'test', got '%.64s'", s);
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

int mt_data_load(mt_data *d, const char *dir, const char *split_path, int tail_cap,
                 uint32_t dd_cap, mal_error *e)
{
    memset(d, 0, sizeof *d);
    if (tail_cap < 1 || dd_cap < 1)
        return mal_error_set(e, "window must be at least 1");
    char *vpath = join(dir, "api_index.txt"), *cpath = join(dir, "calls.txt"),
         *gpath = join(dir, "calls.txt.gz"), *lpath = join(dir, "labels.csv");
    intvec labels = {0}, split = {0};
    loader L = {.d = d, .tail_cap = tail_cap, .dd_cap = dd_cap};
    int rc = -1;
    if (!vpath || !cpath || !gpath || !lpath) {
        mal_error_set(e, "out of memory");
        goto out;
    }
    const char *calls = access(cpath, R_OK) == 0 ? cpath : gpath;
    if (access(calls, R_OK) != 0) {
        mal_error_set(e, "%s: no calls.txt or calls.txt.gz", dir);
        goto out;
    }
    if (mal_vocab_load(&d->vocab, vpath, e) < 0)
        goto out;
    if (each_line(lpath, label_line, &labels, e) < 0)
        goto out;
    if (split_path && each_line(split_path, split_line, &split, e) < 0)
        goto out;
    uint32_t crc = 0;
    if (crc_file(calls, &crc, e) < 0 || crc_file(lpath, &crc, e) < 0 ||
        (split_path && crc_file(split_path, &crc, e) < 0))
        goto out;
    d->crc = crc;
    L.ring = malloc((size_t)tail_cap * sizeof *L.ring);
    if (!L.ring) {
        mal_error_set(e, "out of memory");
        goto out;
    }
    mal_trace_sink sink = {.ctx = &L, .record_begin = on_begin, .calls = on_calls,
                           .record_end = on_end};
    mal_read_opts opts = {.format = MAL_FORMAT_LINES};
    int r = mal_read_trace(calls, &d->vocab, &opts, &sink, e);
    if (r == MAL_READ_STOPPED) {
        mal_error_set(e, "%s: out of memory after %d traces", calls, d->n);
        goto out;
    }
    if (r < 0)
        goto out;
    if (labels.n != d->n) {
        mal_error_set(e, "%s has %ld labels but %s has %d traces", lpath, labels.n, calls, d->n);
        goto out;
    }
    if (split_path && split.n != d->n) {
        mal_error_set(e, "%s has %ld lines but %s has %d traces", split_path, split.n, calls, d->n);
        goto out;
    }
    if (d->n == 0) {
        mal_error_set(e, "%s: no traces", calls);
        goto out;
    }
    for (int i = 0; i < d->n; i++) {
        d->t[i].label = labels.v[i];
        d->t[i].split = split_path ? split.v[i] : MT_SPLIT_TRAIN;
    }
    rc = 0;
out:
    if (rc < 0)
        mt_data_free(d);
    free(L.ring), free(L.dd), free(labels.v), free(split.v);
    free(vpath), free(cpath), free(gpath), free(lpath);
    return rc;
}

void mt_data_free(mt_data *d)
{
    for (int i = 0; i < d->n; i++)
        free(d->t[i].tail), free(d->t[i].dd);
    free(d->t);
    mal_vocab_free(&d->vocab);
    memset(d, 0, sizeof *d);
}
