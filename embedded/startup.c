/* startup.c - vector table and reset handler for a Cortex-M4F (mps2-an386).
 *
 * Reset: copy .data from flash, zero .bss, give the FPU full access (CPACR
 * CP10/CP11), paint the stack for the stack-use measurement, set up newlib's
 * semihosting file handles, run the constructors, call main and exit with its
 * status through semihosting (qemu stops). */
#include <stdint.h>
#include <stdlib.h>

#include "board.h"

extern uint32_t __data_start__[], __data_end__[], __data_load__[];
extern uint32_t __bss_start__[], __bss_end__[];
extern uint32_t __stack_limit__[], __stack_top__[];

extern int main(void);
extern void initialise_monitor_handles(void);   /* librdimon */
extern void __libc_init_array(void);

#define BOARD_STACK_PAINT 0xC5A5C5A5u
#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)

void Reset_Handler(void);
void _init(void);
void _fini(void);

/* -nostartfiles drops crti/crtn, which would define these for newlib's
 * __libc_init_array / __libc_fini_array: nothing to do here. */
void _init(void) {}
void _fini(void) {}

void Fault_Handler(void);
void Default_Handler(void);
void SysTick_Handler(void);

void Reset_Handler(void)
{
    uint32_t *p;
    uintptr_t sp;
    const uint32_t *s = __data_load__;
    for (p = __data_start__; p < __data_end__; p++)
        *p = *s++;
    for (p = __bss_start__; p < __bss_end__; p++)
        *p = 0;
    SCB_CPACR |= (0xFu << 20);   /* CP10, CP11: full access */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (p = __stack_limit__; (uintptr_t)p < sp - 64; p++)
        *p = BOARD_STACK_PAINT;
    initialise_monitor_handles();
    __libc_init_array();
    exit(main());   /* flushes stdio, then newlib's _exit -> semihosting exit */
}

/* A fault: report it through semihosting and stop (status 1). */
void Fault_Handler(void)
{
    board_exit(70);
}

void Default_Handler(void)
{
    board_exit(71);
}

typedef void (*vector_fn)(void);

/* Cortex-M vector table: initial stack pointer, then the handlers. */
__attribute__((section(".isr_vector"), used))
const vector_fn board_vectors[16] = {
    (vector_fn)(uintptr_t)__stack_top__,
    Reset_Handler,
    Default_Handler,   /* NMI */
    Fault_Handler,     /* HardFault */
    Fault_Handler,     /* MemManage */
    Fault_Handler,     /* BusFault */
    Fault_Handler,     /* UsageFault */
    0, 0, 0, 0,
    Default_Handler,   /* SVCall */
    Default_Handler,   /* DebugMonitor */
    0,
    Default_Handler,   /* PendSV */
    SysTick_Handler,
};
