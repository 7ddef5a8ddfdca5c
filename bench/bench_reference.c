/* bench_reference.c - speed of the float reference forward pass (the oracle)
 * for the paper's shape: V 342, E 16, H 100/100, each cell activation.
 *
 *   bench_reference [calls.txt(.gz)] [api_index.txt] [seconds per figure]
 *
 * Tokens are the first calls of the sample traces (random ids if the file
 * cannot be read); weights are random. Prints tokens/s for streaming
 * (mal_ref_step) and for the padded batch path (50 rows x 342 steps). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "model.h"
#include "reference.h"

#define MAX_TOKENS 200000

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t rng = 88172645463325252ULL;
static float urand(float s)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return s * ((float)(rng >> 40) / 8388608.0f - 1.0f);
}

/* Known-call ids from a calls file (one trace per line, names separated by
 * spaces), up to max. */
static size_t read_ids(const char *path, const mal_vocab *v, int32_t *ids, size_t max)
{
    gzFile g = gzopen(path, "rb");
    if (!g)
        return 0;
    char name[MAL_NAME_MAX + 2];
    size_t n = 0, len = 0;
    int c;
    while (n < max && (c = gzgetc(g)) != -1) {
        if (c == ' ' || c == '\n' || c == '\r') {
            int id = len ? mal_vocab_lookup(v, name, len) : -1;
            if (id >= 0)
                ids[n++] = id;
            len = 0;
        } else if (len < sizeof name - 1)
            name[len++] = (char)c;
    }
    gzclose(g);
    return n;
}

int main(int argc, char **argv)
{
    const char *calls = argc > 1 ? argv[1] : "data/mal-api-2019-sample/calls.txt.gz";
    const char *vocab_path = argc > 2 ? argv[2] : "data/mal-api-2019-sample/api_index.txt";
    double secs = argc > 3 ? atof(argv[3]) : 1.0;
    mal_vocab v;
    mal_error e;
    if (mal_vocab_load(&v, vocab_path, &e) < 0) {
        fprintf(stderr, "bench_reference: %s\n", e.msg);
        return 1;
    }
    int32_t *ids = malloc(MAX_TOKENS * sizeof *ids);
    if (!ids)
        return 1;
    size_t n = read_ids(calls, &v, ids, MAX_TOKENS);
    const char *src = calls;
    if (n < 50 * 342) {
        for (n = 0; n < MAX_TOKENS;) {
            int id = (int)(rng % (uint64_t)v.size);
            urand(1);
            if (mal_vocab_name(&v, id))
                ids[n++] = id;
        }
        src = "random ids";
    }
    printf("bench_reference: V %d, E 16, H 100/100; %zu tokens from %s; %.1f s per figure\n",
           v.size, n, src, secs);
    long io_line_size = 0;
    double io_save = 0, io_load = 0;
    printf("%-9s %16s %16s %14s\n", "act", "stream tok/s", "padded tok/s", "checksum");
    for (int a = 0; a < 4; a++) {
        mal_model m;
        if (mal_model_alloc(&m, &v, "Bench", 16, 100, 100, (mal_act)a, &e) < 0) {
            fprintf(stderr, "bench_reference: %s\n", e.msg);
            return 1;
        }
        float *arr[] = {m.embedding, m.l1.wx, m.l1.wh, m.l1.b, m.l2.wx, m.l2.wh, m.l2.b,
                        m.dense_w};
        size_t ns[] = {342 * 16, 400 * 16, 400 * 100, 400, 400 * 100, 400 * 100, 400, 100};
        for (int k = 0; k < 8; k++)
            for (size_t i = 0; i < ns[k]; i++)
                arr[k][i] = urand(k == 0 ? 1.0f : 0.2f);
        mal_ref_state s;
        if (mal_ref_state_init(&m, &s, &e) < 0)
            return 1;
        /* streaming: windows of 342 calls from a zero state, as the scorer does */
        double t0 = now(), t;
        size_t steps = 0, pos = 0;
        double check = 0;
        do {
            mal_ref_state_reset(&m, &s);
            for (int k = 0; k < 342; k++, pos = (pos + 1) % n)
                mal_ref_step(&m, &s, ids[pos]);
            check += mal_ref_prob(&m, &s);
            steps += 342;
        } while ((t = now() - t0) < secs);
        double stream_rate = (double)steps / t;
        /* padded batch: 50 x 342, the paper's batch and window */
        enum { B = 50, T = 342 };
        static int32_t batch[B * T];
        float probs[B];
        for (int r = 0; r < B; r++)
            for (int k = 0; k < T; k++)
                batch[r * T + k] = k < r ? -1 : ids[((size_t)r * T + (size_t)k) % n];
        size_t real = 0;
        for (int k = 0; k < B * T; k++)
            real += batch[k] >= 0;
        t0 = now();
        steps = 0;
        do {
            if (mal_ref_forward_padded(&m, batch, B, T, probs, &e) < 0) {
                fprintf(stderr, "bench_reference: %s\n", e.msg);
                return 1;
            }
            steps += real;
        } while ((t = now() - t0) < secs);
        printf("%-9s %16.0f %16.0f %14.6f\n", mal_act_name(m.act), stream_rate,
               (double)steps / t, check + probs[0]);
        if (a == 0) {
            /* model file I/O for this shape: save (atomic, fsync) and load (validated) */
            char path[] = "/tmp/bench_reference_model.json";
            double ts = now();
            if (mal_model_save(&m, path, &e) < 0) {
                fprintf(stderr, "bench_reference: %s\n", e.msg);
                return 1;
            }
            ts = now() - ts;
            mal_model back;
            double tl = now();
            if (mal_model_load(&back, path, &e) < 0) {
                fprintf(stderr, "bench_reference: %s\n", e.msg);
                return 1;
            }
            tl = now() - tl;
            FILE *f = fopen(path, "rb");
            long size = 0;
            if (f && fseek(f, 0, SEEK_END) == 0)
                size = ftell(f);
            if (f)
                fclose(f);
            io_line_size = size, io_save = ts, io_load = tl;
            mal_model_free(&back);
            remove(path);
        }
        mal_ref_state_free(&s);
        mal_model_free(&m);
    }
    printf("model file (paper shape): %ld bytes, save %.1f ms, load %.1f ms\n", io_line_size,
           1e3 * io_save, 1e3 * io_load);
    free(ids);
    mal_vocab_free(&v);
    return 0;
}
