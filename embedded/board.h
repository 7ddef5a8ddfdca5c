/* board.h - the little a runner needs from the board (QEMU mps2-an386 or a
 * real Cortex-M4F): exit through semihosting, stack-use measurement by
 * painting, and a clock that counts instructions under `qemu -icount`.
 *
 * On the host (no __ARM_ARCH) the same calls exist as stubs, so one runner
 * source builds for both. */
#ifndef MALSTM_BOARD_H
#define MALSTM_BOARD_H

#include <stdint.h>

/* Stop the machine (semihosting SYS_EXIT_EXTENDED: qemu exits with `code`). */
void board_exit(int code);

/* Paint the free stack below the caller's frame with a known word; returns
 * the mark (stack pointer of the caller, roughly). Pair it with
 * board_stack_peak(mark) after the calls to measure. 0 on the host. */
uintptr_t board_stack_mark(void);
/* Bytes of stack used below `mark` since board_stack_mark (deepest point). */
uint32_t board_stack_peak(uintptr_t mark);
/* Size of the stack block the linker script reserved (0 on the host). */
uint32_t board_stack_size(void);

/* The command line: on the board qemu's -append text (semihosting
 * SYS_GET_CMDLINE, without the image name qemu puts first), on the host the environment variable EMB_ARGS. Writes a
 * NUL-terminated string into buf (empty if none); returns its length. */
int board_cmdline(char *buf, int cap);

/* Start the SysTick counter (processor clock). Under `qemu -icount shift=0`
 * one instruction advances the virtual clock by 1 ns, so ticks convert to
 * instructions exactly (see board_insns_per_tick). */
void board_clock_start(void);
uint64_t board_ticks(void);
/* On the host the ticks are nanoseconds (CLOCK_MONOTONIC).
 * Instructions per tick: measured once against a loop of known length
 * (meaningful only under -icount). 0 on the host. */
double board_insns_per_tick(void);

#endif
