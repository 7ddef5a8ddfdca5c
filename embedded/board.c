#if !defined(__ARM_ARCH) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 199309L   /* clock_gettime on the host */
#endif
/* board.c - semihosting exit, stack painting, instruction clock (see board.h). */
#include "board.h"

#if defined(__ARM_ARCH)

#define BOARD_STACK_PAINT 0xC5A5C5A5u
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)

extern uint32_t __stack_limit__[], __stack_top__[];

static int semihost(int op, void *arg)
{
    register int r0 __asm__("r0") = op;
    register void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void board_exit(int code)
{
    /* SYS_EXIT_EXTENDED (0x20): { ADP_Stopped_ApplicationExit, status } */
    uint32_t block[2] = { 0x20026u, (uint32_t)code };
    semihost(0x20, block);
    for (;;)
        ;
}

int board_cmdline(char *buf, int cap)
{
    /* SYS_GET_CMDLINE (0x15): { buffer, length in/out } */
    uint32_t block[2];
    if (cap <= 0)
        return 0;
    block[0] = (uint32_t)(uintptr_t)buf;
    block[1] = (uint32_t)cap;
    if (semihost(0x15, block) != 0 || block[1] >= (uint32_t)cap) {
        buf[0] = 0;
        return 0;
    }
    buf[block[1]] = 0;
    {   /* qemu puts the image name first: drop it */
        char *p = buf, *q = buf;
        while (*p && *p != ' ')
            p++;
        while (*p == ' ')
            p++;
        while ((*q++ = *p++) != 0)
            ;
        return (int)(q - buf - 1);
    }
}

__attribute__((noinline)) uintptr_t board_stack_mark(void)
{
    uintptr_t sp;
    uint32_t *p;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (p = __stack_limit__; (uintptr_t)p < sp - 32; p++)
        *p = BOARD_STACK_PAINT;
    return sp;
}

__attribute__((noinline)) uint32_t board_stack_peak(uintptr_t mark)
{
    const uint32_t *p = __stack_limit__;
    while ((uintptr_t)p < mark && *p == BOARD_STACK_PAINT)
        p++;
    return (uint32_t)(mark - (uintptr_t)p);
}

uint32_t board_stack_size(void)
{
    return (uint32_t)((uintptr_t)__stack_top__ - (uintptr_t)__stack_limit__);
}

/* SysTick: 24-bit down counter on the processor clock; the interrupt counts wraps. */
static volatile uint32_t board_wraps;

void SysTick_Handler(void);
void SysTick_Handler(void)
{
    board_wraps++;
}

void board_clock_start(void)
{
    SYST_CSR = 0;
    SYST_RVR = 0xFFFFFFu;
    SYST_CVR = 0;
    board_wraps = 0;
    SYST_CSR = 7u;   /* enable, interrupt, processor clock */
    /* the counter reloads from 0 on the first clock: wait for it, then
     * forget any wrap that reload reported */
    while (SYST_CVR == 0)
        ;
    board_wraps = 0;
}

uint64_t board_ticks(void)
{
    uint32_t w, v;
    do {
        w = board_wraps;
        v = SYST_CVR;
    } while (w != board_wraps);
    return ((uint64_t)w << 24) + (0xFFFFFFu - (v & 0xFFFFFFu));
}

double board_insns_per_tick(void)
{
    /* 2 instructions per iteration (subs + bne), 4,000,000 iterations */
    uint32_t n = 4000000u;
    uint64_t t0, t1;
    t0 = board_ticks();
    __asm__ volatile("1: subs %0, %0, #1\n\tbne 1b" : "+r"(n) : : "cc");
    t1 = board_ticks();
    return t1 > t0 ? 8000000.0 / (double)(t1 - t0) : 0.0;
}

#else /* host stubs: the clock is CLOCK_MONOTONIC in ns */

#include <stdlib.h>
#include <time.h>

#include <string.h>

void board_exit(int code) { exit(code); }
int board_cmdline(char *buf, int cap)
{
    const char *a = getenv("EMB_ARGS");
    size_t n = a ? strlen(a) : 0;
    if (cap <= 0)
        return 0;
    if (n >= (size_t)cap)
        n = (size_t)cap - 1;
    memcpy(buf, a ? a : "", n);
    buf[n] = 0;
    return (int)n;
}
uintptr_t board_stack_mark(void) { return 0; }
uint32_t board_stack_peak(uintptr_t mark) { (void)mark; return 0; }
uint32_t board_stack_size(void) { return 0; }
void board_clock_start(void) {}
uint64_t board_ticks(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
double board_insns_per_tick(void) { return 0.0; }

#endif
