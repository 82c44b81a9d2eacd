/* board.h for qemu's mps2-an386 (Cortex-M4F): the vector table, the reset handler (copies
 * .data, zeroes .bss, enables the FPU, paints the stack), Arm semihosting for the console and
 * the exit status, and SysTick for counting. No C library: this file is the whole runtime. */
#include <stdint.h>

#include "board.h"

int main(void);

/* From link.ld. */
extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _stack_top;

#define PAINT 0xa5c35a3cu

/* Semihosting (Arm's "bkpt 0xAB" convention), which qemu answers with -semihosting-config. */
#define SYS_WRITE0 0x04
#define SYS_EXIT 0x18
#define ADP_STOPPED_APPLICATION_EXIT 0x20026
#define ADP_STOPPED_RUN_TIME_ERROR 0x20023

static int semihost(int op, const void *arg) {
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void board_write(const char *text) { semihost(SYS_WRITE0, text); }

void board_exit(int status) {
    semihost(SYS_EXIT, (const void *)(uintptr_t)(status == 0 ? ADP_STOPPED_APPLICATION_EXIT
                                                             : ADP_STOPPED_RUN_TIME_ERROR));
    for (;;) {
    }
}

/* SysTick, clocked by the core: 25 MHz on this board; under -icount shift=0 qemu's clock
 * advances 1 ns per instruction, so one tick is 40 instructions (qemu's instructions, not a
 * Cortex-M4's cycles: no wait states, FPU latencies or pipeline are modelled). */
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define INSTRUCTIONS_PER_TICK 40u

static uint32_t count_start;

void board_count_start(void) {
    SYST_CSR = 0;
    SYST_RVR = 0x00ffffffu;
    SYST_CVR = 0;
    SYST_CSR = 5u; /* enable, core clock, no interrupt */
    count_start = SYST_CVR;
}

/* At most 2^24 ticks (671 M instructions) between start and count. */
uint32_t board_count(void) {
    return ((count_start - SYST_CVR) & 0x00ffffffu) * INSTRUCTIONS_PER_TICK;
}

/* The stack below the reset handler's frame was painted at start-up: the deepest word no
 * longer holding the pattern is the high-water mark. */
size_t board_peak_stack(void) {
    const uint32_t *word = &_ebss;
    while (word < &_stack_top && *word == PAINT) word++;
    return (size_t)((const uint8_t *)&_stack_top - (const uint8_t *)word);
}

static void hard_fault(void) {
    /* A Rust panic in libedgevae_micro (a bug) executes `udf`, which lands here. */
    board_write("hard fault (a panic in edgevae, or a bug in this firmware)\n");
    board_exit(1);
}

/* Global, so that link.ld's ENTRY names it (debuggers and flash tools start there). */
__attribute__((noreturn)) void Reset_Handler(void);
__attribute__((noreturn)) void Reset_Handler(void) {
    /* The FPU first: main.c and the library use single-precision floating point. */
    *(volatile uint32_t *)0xE000ED88u |= 0xfu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    for (uint32_t *src = &_sidata, *dst = &_sdata; dst < &_edata;) *dst++ = *src++;
    for (uint32_t *dst = &_sbss; dst < &_ebss;) *dst++ = 0;
    /* Paint from the end of .bss up to a little below this frame. */
    uint32_t *sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (uint32_t *word = &_ebss; word < sp - 16; word++) *word = PAINT;
    board_exit(main());
}

typedef void (*handler)(void);
/* The Cortex-M vector table: the initial stack pointer, then the reset handler and the
 * exceptions (NMI, HardFault, MemManage, BusFault, UsageFault, 4 reserved, SVCall, DebugMon,
 * reserved, PendSV, SysTick): every fault reports and exits. */
__attribute__((section(".vectors"), used)) static const struct {
    const uint32_t *stack_top;
    handler handlers[15];
} vectors = {
    &_stack_top,
    {Reset_Handler, hard_fault, hard_fault, hard_fault, hard_fault, hard_fault, 0, 0, 0, 0, hard_fault,
     hard_fault, 0, hard_fault, hard_fault},
};
