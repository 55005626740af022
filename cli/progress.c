/* progress.c — the progress line of the long commands (see progress.h). */
#include "cli/progress.h"
#include "dualcnn.h"

#include <stdio.h>
#include <unistd.h>

#define PROGRESS_WIDTH 24
#define PROGRESS_INTERVAL 0.2 /* seconds between two redraws */

void cli_progress_start(cli_progress *p, const char *label, const char *unit, int total,
                        bool quiet)
{
    p->on = !quiet && isatty(STDERR_FILENO);
    p->drawn = false;
    p->label = label;
    p->unit = unit;
    p->total = total;
    p->started = dc_now_seconds();
    p->last_draw = 0.0;
}

const char *cli_progress_eta(int left, double rate, char *buf, int cap)
{
    if (!(rate > 0)) {
        snprintf(buf, (size_t)cap, "ETA --");
        return buf;
    }
    long s = (long)(left / rate + 0.5);
    if (s < 60)
        snprintf(buf, (size_t)cap, "ETA %ld s", s);
    else if (s < 3600)
        snprintf(buf, (size_t)cap, "ETA %ld:%02ld", s / 60, s % 60);
    else
        snprintf(buf, (size_t)cap, "ETA %ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    return buf;
}

void cli_progress_update(cli_progress *p, int done)
{
    if (!p->on)
        return;
    double now = dc_now_seconds();
    bool end = done >= p->total;
    if (!end && now - p->last_draw < PROGRESS_INTERVAL)
        return;
    p->last_draw = now;
    double elapsed = now - p->started, rate = elapsed > 0 ? done / elapsed : 0.0;
    int fill = p->total > 0 ? (int)((double)done / p->total * PROGRESS_WIDTH) : PROGRESS_WIDTH;
    if (fill > PROGRESS_WIDTH)
        fill = PROGRESS_WIDTH;
    char eta[32];
    if (end)
        snprintf(eta, sizeof eta, "in %.1f s", elapsed);
    else
        cli_progress_eta(p->total - done, rate, eta, sizeof eta);
    /* the trailing spaces clear what a longer previous line left */
    fprintf(stderr, "\r%s [%.*s%*s] %d/%d %s %5.1f%%  %.1f %s/s  %s   ", p->label, fill,
            "========================", PROGRESS_WIDTH - fill, "", done, p->total, p->unit,
            p->total > 0 ? 100.0 * done / p->total : 100.0, rate, p->unit, eta);
    p->drawn = !end;
    if (end)
        fputc('\n', stderr);
    fflush(stderr);
}

void cli_progress_finish(cli_progress *p)
{
    if (p->on && p->drawn) {
        fputc('\n', stderr);
        p->drawn = false;
    }
}
