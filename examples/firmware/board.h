/* What the firmware needs from the machine it runs on: a console line, a cycle counter and an
 * exit status. board_mps2.c implements it for qemu's mps2-an386 (Cortex-M4F, semihosting);
 * board_host.c for a Linux host, so the same main.c gives the host's results to compare. */
#ifndef BOARD_H
#define BOARD_H

#include <stddef.h>
#include <stdint.h>

/* Writes a NUL-terminated string to the console. */
void board_write(const char *text);
/* Starts counting; board_count returns what was counted since (instructions on the mps2 board
 * under qemu -icount shift=0, 0 on the host, which does not count). */
void board_count_start(void);
uint32_t board_count(void);
/* The peak stack used since start-up, in bytes (0 where not measured). */
size_t board_peak_stack(void);
/* Ends the program with `status` (0: success). */
void board_exit(int status) __attribute__((noreturn));

#endif
