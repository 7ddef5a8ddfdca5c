/* hello.c - proves the board harness: semihosting output, the FPU (a float
 * computation printed as bits, compared with the host), stack painting, the
 * instruction clock and the exit path (status 0 stops qemu). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "board.h"

static uint32_t bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* A small float computation without libm: sum of 1/k^2 and a Newton sqrt. */
__attribute__((noinline)) static float compute(int n)
{
    volatile float vol = 1.0f;
    float s = 0.0f, x, r;
    int k, i;
    for (k = 1; k <= n; k++)
        s = s + vol / ((float)k * (float)k);
    x = 6.0f * s;   /* pi^2, nearly */
    r = x;
    for (i = 0; i < 20; i++)
        r = 0.5f * (r + x / r);
    return r;        /* pi, nearly */
}

int main(void)
{
    uintptr_t mark;
    uint32_t used;
    float pi;
    printf("hello from the board\n");
    board_clock_start();
    mark = board_stack_mark();
    pi = compute(1000);
    used = board_stack_peak(mark);
    printf("pi~ %.6f bits %08lx\n", (double)pi, (unsigned long)bits(pi));
    printf("stack used by compute: %lu bytes (of %lu)\n", (unsigned long)used,
           (unsigned long)board_stack_size());
    printf("instructions per tick: %.3f\n", board_insns_per_tick());
    return 0;
}
