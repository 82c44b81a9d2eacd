/* board.h for a Linux host: stdout and exit(). */
#include <stdio.h>
#include <stdlib.h>

#include "board.h"

void board_write(const char *text) { fputs(text, stdout); }
void board_count_start(void) {}
uint32_t board_count(void) { return 0; }
size_t board_peak_stack(void) { return 0; }
void board_exit(int status) {
    fflush(stdout);
    exit(status);
}
