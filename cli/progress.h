/*
 * progress.h — the progress line of the long commands (run, predict, and threshold and
 * complementarity while they compute predictions): done/total, percentage, rate and ETA,
 * redrawn in place on stderr at most five times a second.
 *
 * Drawn only when stderr is a terminal and the user did not ask for quiet: a log file or a
 * pipe never receives it. A command that is not drawing pays one isatty() call.
 */
#ifndef DC_CLI_PROGRESS_H
#define DC_CLI_PROGRESS_H

#include <stdbool.h>

typedef struct {
    bool on;             /* stderr is a tty and not quiet */
    bool drawn;          /* a line is on the screen, not yet ended */
    const char *label;   /* "resnet20", "run" */
    const char *unit;    /* "samples", "inputs" */
    int total;
    double started, last_draw;
} cli_progress;

/* Starts the clock; draws nothing yet. label and unit must outlive p. */
void cli_progress_start(cli_progress *p, const char *label, const char *unit, int total,
                        bool quiet);

/* done of total are finished: redraws when 0.2 s passed since the last line, and always
 * at the end (done == total), which ends the line. */
void cli_progress_update(cli_progress *p, int done);

/* Ends a line left unfinished (the work stopped early). */
void cli_progress_finish(cli_progress *p);

/* "ETA 42 s", "ETA 3:05", "ETA 1:02:03", or "ETA --" before a rate is known: the time
 * left at `rate` per second, into buf. */
const char *cli_progress_eta(int left, double rate, char *buf, int cap);

#endif /* DC_CLI_PROGRESS_H */
