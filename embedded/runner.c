/* runner.c - runs the malcc-generated ensemble over the sample traces (a C
 * array, traces.h) and prints every score as float bits, so that a board
 * build and a host build of the same sources can be compared bit for bit.
 *
 * Output, one line per trace (the lines the test compares):
 *   T <trace> <line> <label index> <label> <8 scores as %08lx float bits>
 * then measurement lines (board: instructions under qemu -icount; host: ns):
 *   M clock <insn|ns>
 *   M state ensemble <bytes>          sizeof the caller-owned state
 *   M stack ensemble <bytes>          stack used by init + steps + score (painted)
 *   M calls <n>                       calls fed in all
 *   M per_call ensemble <units>       (init + steps + score) / calls, all traces
 *   M state <model> <bytes> / M stack <model> <bytes>
 *   M per_call <model> <units>        one model under its scoring rule
 *   M per_step <model> <units>        <model>_window_step alone (the LSTM step)
 * The per-model figures use the first EMB_PROFILE_TRACES traces (on the
 * host the best of EMB_REPS passes).
 * Arguments (qemu -append "FIRST COUNT", or EMB_ARGS on the host): run only
 * traces FIRST .. FIRST+COUNT-1 (so that a test can split the work over
 * several qemu processes); default all.
 *
 * emb_models.h (written by embedded/CMakeLists.txt from the generated
 * ensemble.h) defines EMB_ENS(x) and EMB_MODELS(M): one M(prefix_type) per
 * model, in ensemble order. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board.h"
#include "emb_models.h"
#include "traces.h"

#ifndef EMB_PROFILE_TRACES
#define EMB_PROFILE_TRACES 2
#endif

static uint32_t bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* The states live in static storage, not on the stack, so the painted stack
 * measures only what the generated functions use. */
static EMB_ENS(state) ens;

#define EMB_DEF(p)                                                                      \
    static p##_state p##_st;                                                            \
    static p##_window p##_win;                                                          \
    __attribute__((noinline)) static float p##_trace(const uint16_t *ids, uint32_t n)   \
    {                                                                                   \
        uint32_t i;                                                                     \
        p##_init(&p##_st);                                                              \
        for (i = 0; i < n; i++)                                                         \
            p##_step(&p##_st, ids[i]);                                                  \
        return p##_score(&p##_st);                                                      \
    }                                                                                   \
    __attribute__((noinline)) static float p##_steps(const uint16_t *ids, uint32_t n)   \
    {                                                                                   \
        uint32_t i;                                                                     \
        p##_window_init(&p##_win);                                                      \
        for (i = 0; i < n; i++)                                                         \
            p##_window_step(&p##_win, ids[i]);                                          \
        return p##_window_prob(&p##_win);                                               \
    }
EMB_MODELS(EMB_DEF)

__attribute__((noinline)) static int ens_trace(const uint16_t *ids, uint32_t n, float *p)
{
    uint32_t i;
    EMB_ENS(init)(&ens);
    for (i = 0; i < n; i++)
        EMB_ENS(step)(&ens, ids[i]);
    return EMB_ENS(score)(&ens, p);
}

static double scale;   /* instructions per tick on the board, 1 (ns) on the host */

static double per(uint64_t ticks, uint64_t n)
{
    return n ? (double)ticks * scale / (double)n : 0.0;
}

/* Host timings are noisy (shared machines): best of EMB_REPS passes there;
 * the board's instruction counts are exact, one pass. */
#if defined(__ARM_ARCH)
#define EMB_REPS 1
#else
#define EMB_REPS 5
#endif

#define EMB_PROFILE(p)                                                                  \
    do {                                                                                \
        uint64_t tt = 0, ts = 0, n = 0, t0, bt, bs;                                     \
        uint32_t st = 0, sw = 0, used;                                                  \
        uintptr_t mark;                                                                 \
        int t, rep;                                                                     \
        for (t = 0; t < EMB_PROFILE_TRACES && t < emb_ntraces; t++) {                   \
            const uint16_t *ids = emb_ids + emb_trace_start[t];                         \
            const uint32_t len = emb_trace_start[t + 1] - emb_trace_start[t];           \
            bt = bs = UINT64_MAX;                                                       \
            for (rep = 0; rep < EMB_REPS; rep++) {                                      \
                mark = board_stack_mark();                                              \
                t0 = board_ticks();                                                     \
                (void)p##_trace(ids, len);                                              \
                t0 = board_ticks() - t0;                                                \
                bt = t0 < bt ? t0 : bt;                                                 \
                used = board_stack_peak(mark);                                          \
                st = used > st ? used : st;                                             \
                mark = board_stack_mark();                                              \
                t0 = board_ticks();                                                     \
                (void)p##_steps(ids, len);                                              \
                t0 = board_ticks() - t0;                                                \
                bs = t0 < bs ? t0 : bs;                                                 \
                used = board_stack_peak(mark);                                          \
                sw = used > sw ? used : sw;                                             \
            }                                                                           \
            tt += bt;                                                                   \
            ts += bs;                                                                   \
            n += len;                                                                   \
        }                                                                               \
        printf("M state %s %lu\n", #p, (unsigned long)sizeof(p##_state));              \
        printf("M window %s %lu\n", #p, (unsigned long)sizeof(p##_window));            \
        printf("M stack %s %lu\n", #p, (unsigned long)st);                              \
        printf("M stack_step %s %lu\n", #p, (unsigned long)sw);                         \
        printf("M per_call %s %.1f\n", #p, per(tt, n));                                 \
        printf("M per_step %s %.1f\n", #p, per(ts, n));                                 \
    } while (0);

int main(void)
{
    float p[EMB_ENS_N];
    uint64_t ticks = 0, calls = 0, t0;
    uint32_t stack = 0;
    int t, k, first = 0, last = emb_ntraces;
    char args[64];
    if (board_cmdline(args, (int)sizeof args) > 0) {
        char *end;
        long a = strtol(args, &end, 10), b = strtol(end, NULL, 10);
        if (a >= 0 && a < emb_ntraces)
            first = (int)a;
        if (b > 0 && b < emb_ntraces - first)
            last = first + (int)b;
    }
    board_clock_start();
    scale = board_insns_per_tick();
    printf("M clock %s\n", scale > 0.0 ? "insn" : "ns");
    if (scale <= 0.0)
        scale = 1.0;
    for (t = first; t < last; t++) {
        const uint16_t *ids = emb_ids + emb_trace_start[t];
        const uint32_t len = emb_trace_start[t + 1] - emb_trace_start[t];
        uintptr_t mark = board_stack_mark();
        uint32_t used;
        int best;
        t0 = board_ticks();
        best = ens_trace(ids, len, p);
        ticks += board_ticks() - t0;
        used = board_stack_peak(mark);
        stack = used > stack ? used : stack;
        calls += len;
        printf("T %d %u %d %s", t, (unsigned)emb_trace_line[t], best, EMB_ENS(labels)[best]);
        for (k = 0; k < EMB_ENS_N; k++)
            printf(" %08lx", (unsigned long)bits(p[k]));
        putchar('\n');
    }
    printf("M state ensemble %lu\n", (unsigned long)sizeof ens);
    printf("M stack ensemble %lu\n", (unsigned long)stack);
    printf("M calls %lu\n", (unsigned long)calls);
    printf("M per_call ensemble %.1f\n", per(ticks, calls));
    EMB_MODELS(EMB_PROFILE)
    printf("M done\n");
    return 0;
}
