/* bench_readers.c - speed of the trace readers on real inputs.
 *
 * usage: bench_readers [-n REPEAT] [--vocab FILE] INPUT...
 * For each input: inflate alone (zlib gzread, the floor for any reader of a
 * gzip file), then mal_read_trace with a sink that counts; best of REPEAT
 * runs, in CPU time. Prints uncompressed MB/s, calls/s and the reader/inflate
 * time ratio. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "trace_reader.h"
#include "vocab.h"

static double now(void)
{
    struct timespec t;
    /* CPU time of this process: the machine is shared, wall time is not ours alone */
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct counts {
    uint64_t calls, records;
    uint64_t id_sum;   /* used, so the work is not optimised away */
} counts;

static int on_calls(void *ctx, int32_t id, uint64_t n)
{
    counts *c = ctx;
    c->id_sum += (uint64_t)id * n;
    return 0;
}

static int on_end(void *ctx, const mal_record_info *info)
{
    counts *c = ctx;
    c->calls += info->calls;
    c->records++;
    return 0;
}

/* Uncompressed size, and the time zlib alone takes to produce it. */
static int inflate_only(const char *path, uint64_t *bytes, double *secs)
{
    gzFile g = gzopen(path, "rb");
    if (!g)
        return -1;
    static char buf[1 << 16];
    uint64_t n = 0;
    int r;
    double t0 = now();
    while ((r = gzread(g, buf, sizeof buf)) > 0)
        n += (uint64_t)r;
    *secs = now() - t0;
    *bytes = n;
    return gzclose(g) == Z_OK && r == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    int repeat = 3, i = 1;
    const char *vocab_path = "data/mal-api-2019-sample/api_index.txt";
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else if (strcmp(argv[i], "--vocab") == 0 && i + 1 < argc)
            vocab_path = argv[++i];
        else {
            fprintf(stderr, "usage: bench_readers [-n REPEAT] [--vocab FILE] INPUT...\n");
            return 2;
        }
    }
    if (i >= argc || repeat < 1) {
        fprintf(stderr, "usage: bench_readers [-n REPEAT] [--vocab FILE] INPUT...\n");
        return 2;
    }
    mal_vocab vocab;
    mal_error e;
    if (mal_vocab_load(&vocab, vocab_path, &e) < 0) {
        fprintf(stderr, "bench_readers: %s\n", e.msg);
        return 1;
    }
    printf("%-40s %10s %9s %10s %12s %10s %6s\n", "input", "MB", "zlib MB/s", "read MB/s",
           "calls", "Mcalls/s", "ratio");
    int status = 0;
    for (; i < argc; i++) {
        uint64_t bytes = 0;
        double best_inf = 1e30, best_read = 1e30;
        counts c = {0};
        for (int k = 0; k < repeat; k++) {
            double t;
            if (inflate_only(argv[i], &bytes, &t) < 0) {
                fprintf(stderr, "bench_readers: %s: cannot inflate\n", argv[i]);
                status = 1;
                break;
            }
            if (t < best_inf)
                best_inf = t;
            memset(&c, 0, sizeof c);
            mal_trace_sink sink = {.ctx = &c, .calls = on_calls, .record_end = on_end};
            double t0 = now();
            if (mal_read_trace(argv[i], &vocab, NULL, &sink, &e) != 0) {
                fprintf(stderr, "bench_readers: %s\n", e.msg);
                status = 1;
                break;
            }
            t = now() - t0;
            if (t < best_read)
                best_read = t;
        }
        if (best_read >= 1e30)
            continue;
        double mb = (double)bytes / 1e6;
        printf("%-40s %10.1f %9.0f %10.0f %12llu %10.1f %6.2f\n", argv[i], mb, mb / best_inf,
               mb / best_read, (unsigned long long)c.calls, (double)c.calls / best_read / 1e6,
               best_read / best_inf);
        if (c.id_sum == 42)
            putchar(' ');
    }
    mal_vocab_free(&vocab);
    return status;
}
