/*
 * energy_meter.c — the "meter" energy source: an external meter read by hand, as the paper
 * measured its Jetson Nano with a USB power meter (the original code prompted "RESET POWER
 * METER AND PRESS ENTER"). Before and after the work the user types the meter's reading,
 * with its unit:
 *     Wh, mWh   energy: 1 mWh = 3.6 J;
 *     mAh       charge at the supply voltage opts->meter_volts (--meter-volts V):
 *               1 mAh at V volts = 3.6 x V J;
 *     J         joules.
 * The difference is the energy; a second reading below the first means the meter was
 * reset in between, and the second reading is the energy (the counter's maximum is 0,
 * see advance() in energy.c). A reading that cannot be understood is explained and asked
 * again. The readings are typed on opts->meter_in, which must be a terminal: otherwise
 * init fails, the energy layer reports none with that reason, and nothing ever blocks.
 * While waiting, opts->cancelled is asked every 200 ms (Ctrl-C stops the wait).
 */
#define _POSIX_C_SOURCE 200809L /* dprintf */
#include "cascade/energy.h"
#include "base/alloc.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MAX_TRIES 10

typedef struct {
    dc_energy_opts opts;
    dc_energy_counter counter;
    bool starting;        /* the next reading begins a measurement */
    char first[128], last[128]; /* the readings as typed, for the note */
    int readings;
} meter_state;

/* Reads one line from fd into buf (without the newline), waiting as long as it takes but
 * asking cancelled() every 200 ms. DC_ERR_IO at end of input or when cancelled. */
static dc_status read_line(const meter_state *s, char *buf, size_t cap, dc_error *err)
{
    size_t len = 0;
    for (;;) {
        if (s->opts.cancelled && s->opts.cancelled())
            return dc_fail(err, DC_ERR_IO, "meter: interrupted while waiting for a reading");
        struct pollfd p = { .fd = s->opts.meter_in, .events = POLLIN };
        int r = poll(&p, 1, 200);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return dc_fail(err, DC_ERR_IO, "meter: waiting for a reading: %s", strerror(errno));
        if (r == 0)
            continue;
        char c;
        ssize_t k = read(s->opts.meter_in, &c, 1);
        if (k < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (k < 0 && errno != EIO)
            return dc_fail(err, DC_ERR_IO, "meter: reading the terminal: %s", strerror(errno));
        if (k <= 0)
            return dc_fail(err, DC_ERR_IO, "meter: no reading typed (end of input)");
        if (c == '\n' || c == '\r')
            break;
        if (len + 1 < cap)
            buf[len++] = c;
    }
    buf[len] = '\0';
    return DC_OK;
}

/* Parses "12.5 mWh" into microjoules; on failure writes why into why (cap bytes). */
static bool parse_reading(const meter_state *s, const char *text, uint64_t *uj, char *why,
                          size_t cap)
{
    while (isspace((unsigned char)*text))
        text++;
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || errno || !isfinite(v) || v < 0.0 || text[0] == '-') {
        snprintf(why, cap, "'%s' is not a reading: type a number and its unit (e.g. 12.5 "
                 "mWh)", text);
        return false;
    }
    while (isspace((unsigned char)*end))
        end++;
    char unit[16];
    size_t n = strlen(end);
    while (n > 0 && isspace((unsigned char)end[n - 1]))
        n--;
    if (n == 0 || n >= sizeof unit) {
        snprintf(why, cap, "'%s' has no unit: add Wh, mWh, mAh or J (e.g. %g mWh)", text, v);
        return false;
    }
    memcpy(unit, end, n);
    unit[n] = '\0';
    double joules;
    if (strcasecmp(unit, "Wh") == 0) {
        joules = 3600.0 * v;
    } else if (strcmp(unit, "mWh") == 0 || strcasecmp(unit, "mwh") == 0) {
        joules = 3.6 * v;
    } else if (strcasecmp(unit, "mAh") == 0) {
        if (s->opts.meter_volts <= 0.0) {
            snprintf(why, cap, "a reading in mAh needs the supply voltage: run with "
                     "--meter-volts V (5 for a Jetson Nano's USB supply), or type the "
                     "reading in Wh or mWh");
            return false;
        }
        joules = 3.6 * s->opts.meter_volts * v;
    } else if (strcasecmp(unit, "J") == 0) {
        joules = v;
    } else {
        snprintf(why, cap, "unknown unit '%s': use Wh, mWh, mAh or J", unit);
        return false;
    }
    if (joules * 1e6 >= 1.8e19) {
        snprintf(why, cap, "'%s' is too large", text);
        return false;
    }
    *uj = (uint64_t)llround(joules * 1e6);
    return true;
}

static dc_status meter_read(void *state, uint64_t *uj, dc_error *err)
{
    meter_state *s = state;
    int out = s->opts.meter_out;
    for (int tries = 0; tries < MAX_TRIES; tries++) {
        if (s->starting)
            dprintf(out, "energy meter: reset the meter or note its reading; type the reading "
                         "with its unit (Wh, mWh, mAh or J, e.g. 0 mWh) and press Enter: ");
        else
            dprintf(out, "energy meter: type the meter's reading now (Wh, mWh, mAh or J) and "
                         "press Enter: ");
        char line[128], why[200];
        dc_status st = read_line(s, line, sizeof line, err);
        if (st != DC_OK) {
            dprintf(out, "\n");
            return st;
        }
        if (parse_reading(s, line, uj, why, sizeof why)) {
            char *dst = s->readings++ ? s->last : s->first;
            snprintf(dst, sizeof s->first, "%s", line);
            if (s->readings == 1)
                snprintf(s->last, sizeof s->last, "%s", line);
            s->starting = false;
            return DC_OK;
        }
        dprintf(out, "energy meter: %s\n", why);
    }
    return dc_fail(err, DC_ERR_FORMAT, "meter: no usable reading after %d tries", MAX_TRIES);
}

static dc_status meter_start(void *state, dc_error *err)
{
    (void)err;
    meter_state *s = state;
    s->starting = true;
    s->readings = 0;
    return DC_OK;
}

static void meter_describe(void *state, char *buf, size_t cap)
{
    const meter_state *s = state;
    char volts[48] = "";
    if (s->opts.meter_volts > 0.0)
        snprintf(volts, sizeof volts, "; mAh taken at %g V", s->opts.meter_volts);
    if (s->readings >= 2)
        snprintf(buf, cap, "typed readings: '%s' at the start, '%s' at the end%s", s->first,
                 s->last, volts);
    else if (s->readings == 1)
        snprintf(buf, cap, "typed reading: '%s' at the start%s", s->first, volts);
    else
        snprintf(buf, cap, "no reading typed yet%s", volts);
}

static void meter_finish(void *state)
{
    free(state);
}

static dc_status meter_init(const dc_energy_opts *opts, void **state,
                            const dc_energy_counter **counters, int *n, dc_error *err)
{
    *state = NULL;
    if (!isatty(opts->meter_in)) {
        char what[32];
        if (opts->meter_in == 0)
            snprintf(what, sizeof what, "standard input");
        else
            snprintf(what, sizeof what, "file descriptor %d", opts->meter_in);
        return dc_fail(err, DC_ERR_UNSUPPORTED, "meter: %s is not a terminal, so nobody can "
                       "type the meter's readings (run from a terminal, or choose another "
                       "--energy source)", what);
    }
    meter_state *s = dc_calloc(1, sizeof *s);
    if (!s)
        return dc_fail(err, DC_ERR_NOMEM, "meter: out of memory");
    s->opts = *opts;
    s->counter = (dc_energy_counter){
        .domain = { .id = "meter", .name = "meter", .parent = -1, .counted = true },
        .max_uj = 0 };
    *state = s;
    *counters = &s->counter;
    *n = 1;
    return DC_OK;
}

const dc_energy_source dc_energy_source_meter = {
    "meter", meter_init, meter_read, meter_finish, meter_start, NULL, meter_describe,
    DC_ENERGY_MANUAL,
};
