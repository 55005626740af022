/*
 * interrupt.h — Ctrl-C (SIGINT) and SIGTERM during the long commands (run, predict,
 * threshold, complementarity): the handler only records the signal; the command's loops
 * ask cli_interrupted() before each input (or batch), stop, print the report of what was
 * done marked "partial", drop their temporary output files, leave existing outputs as
 * they were, and exit with cli_interrupt_status(): 130 for SIGINT, 143 for SIGTERM, as a
 * shell reports a process the signal killed. A second signal ends the process at once
 * (the default action, restored after the first).
 */
#ifndef DC_CLI_INTERRUPT_H
#define DC_CLI_INTERRUPT_H

#include <stdbool.h>

/* Installs the handler for SIGINT and SIGTERM. Call once, before the long work. */
void cli_interrupt_install(void);

/* Whether one of the two signals arrived since cli_interrupt_install. */
bool cli_interrupted(void);

/* 128 + the signal that arrived ("killed by SIGINT"), or 0 when none did. */
int cli_interrupt_status(void);

/* "SIGINT" or "SIGTERM" (or "a signal" before any arrived). */
const char *cli_interrupt_name(void);

#endif /* DC_CLI_INTERRUPT_H */
