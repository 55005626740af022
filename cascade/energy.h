/*
 * energy.h — the energy a run used, from whichever meter the machine has, or reported as
 * absent with the reason. docs/energy.md says which source to use on which machine.
 *
 * Sources sit behind one small table of functions, as in energymon (init, read, finish):
 *     rapl     RAPL counters through the powercap sysfs tree     cascade/energy_rapl.c
 *     perf     the same counters through perf_event_open          cascade/energy_perf.c
 *     hwmon    hwmon energy counters (amd_energy)                 cascade/energy_hwmon.c
 *     ina3221  power rails sampled and integrated (Jetson)        cascade/energy_rails.c
 *     meter    an external meter read by hand                     cascade/energy_meter.c
 *     none     nothing measured                                   cascade/energy.c
 * "auto" tries rapl, perf, hwmon, ina3221 in that order and takes the first that can be
 * read (cumulative counters before sampled power; the meter needs a person and is never
 * chosen automatically), else none with every source's reason. A source reads raw
 * microjoule counters; this layer turns them into joules since dc_energy_start, handling
 * counter wrap. A sampled source's counters are the integral of its power since its
 * sampler started (they never wrap); the meter's are the readings typed in.
 *
 * Test roots (each the sysfs directory a source reads, moved for tests and documented in
 * docs/energy.md): $DUALCNN_POWERCAP_ROOT (/sys/class/powercap), $DUALCNN_PERF_ROOT
 * (/sys/bus/event_source/devices), $DUALCNN_HWMON_ROOT (/sys/class/hwmon: hwmon energy
 * counters and the mainline ina3221 driver), $DUALCNN_INA3221X_ROOT
 * (/sys/bus/i2c/drivers/ina3221x: the older L4T IIO driver).
 *
 * What rapl sums (the total of dc_energy_read). The intel-rapl powercap driver makes each
 * package a top-level zone (intel-rapl:N, name "package-N" or "package-N-die-M"; AMD CPUs
 * use the same driver and names) and its other domains subzones of it (intel-rapl:N:M,
 * named "core", "uncore", "dram"); the platform domain "psys" is a top-level zone of its
 * own. The package counter covers the cores and the uncore (caches, memory controller,
 * integrated graphics) but not the DRAM chips, and psys covers the whole SoC and more. So:
 *     total = every package zone + every zone named "dram" (subzone or top-level);
 * core and uncore are reported but not added (they are part of their package), psys is
 * reported but not added (it contains the packages). Only one powercap tree is read:
 * intel-rapl, else intel-rapl-tpmi, else intel-rapl-mmio, the first with a package zone;
 * the MMIO tree of client CPUs repeats the MSR tree's package, so mixing trees would count
 * it twice. The other sources state their rule in their files.
 *
 * Counters wrap at max_energy_range_uj (about 2^32 energy units: a minute to hours,
 * depending on the CPU and its load). A reading below the previous one is taken as one
 * wrap: delta = (max - before) + after (modulo 2^64 for 64-bit counters). Call
 * dc_energy_poll often enough that no counter wraps twice between calls; every 10 to 60 s
 * is plenty on current hardware.
 *
 * Typical use (cli/cmd_run.c):
 *     dc_energy *e;
 *     dc_energy_opts opts = dc_energy_default_opts();
 *     dc_energy_open_with("auto", &opts, &e, err);  // never fails for "auto" (but NOMEM)
 *     if (!dc_energy_available(e)) printf("energy: %s\n", dc_energy_unavailable_reason(e));
 *     dc_energy_start(e, err);                      // a sampler starts; the meter asks
 *     ... work, calling dc_energy_poll(e, err) every few seconds ...
 *     double j;
 *     if (dc_energy_available(e)) dc_energy_read(e, &j, err);   // the meter asks again
 *     dc_energy_close(e);                           // a sampler stops
 *
 * A dc_energy is not thread-safe: one thread uses it at a time (a sampled source's own
 * thread shares nothing with the caller but its sampler's state, behind a mutex).
 */
#ifndef DC_CASCADE_ENERGY_H
#define DC_CASCADE_ENERGY_H

#include "dualcnn.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dc_energy dc_energy;

/* One counter of the source, and what it measured since dc_energy_start. */
typedef struct {
    const char *id;     /* where it is read: the zone's directory ("intel-rapl:0:2"), the
                         * hwmon file ("hwmon2/energy1_input"), the perf event
                         * ("power/energy-pkg/ cpu 0"), the rail's channel; owned by the
                         * source */
    const char *name;   /* the zone's name file ("package-0", "core", "dram", "psys"), the
                         * counter's or rail's label ("POM_5V_GPU"), "meter" */
    int parent;         /* index of the domain this is a part of; -1 for a top-level one */
    bool counted;       /* part of the total of dc_energy_read (see the rule above) */
    double joules;      /* since dc_energy_start, as of the last read, poll or idle baseline */
} dc_energy_domain;

/* How to open a source; dc_energy_default_opts gives the defaults. */
typedef struct {
    double period_ms;        /* sampled sources (ina3221): the sampling period, in (0, 1e4] */
    double meter_volts;      /* meter: the supply voltage that turns mAh into joules; 0: none
                              * given (a reading in mAh is then refused with why) */
    int meter_in, meter_out; /* meter: where readings are typed (a terminal) and prompts go */
    bool (*cancelled)(void); /* meter: asked while waiting for a reading; true stops the wait
                              * with an error (Ctrl-C); NULL: never */
} dc_energy_opts;

#define DC_ENERGY_DEFAULT_PERIOD_MS 10.0

/* Period 10 ms, no volts, the meter on stdin (0) and stderr (2), never cancelled. */
dc_energy_opts dc_energy_default_opts(void);

/* Opens an energy source. kind: "rapl", "perf", "hwmon", "ina3221", "meter", "none", or
 * NULL / "auto" (the first of rapl, perf, hwmon, ina3221 that can be read, else none).
 * opts NULL means the defaults. For "auto", nothing readable is not an error: *out is the
 * none source and dc_energy_unavailable_reason says why, source by source ("no energy
 * source: rapl: no RAPL: /sys/class/powercap not found (...); perf: ..."). A named source
 * that cannot be read fails with "energy source NAME unavailable (why)": DC_ERR_UNSUPPORTED
 * when absent, DC_ERR_IO or DC_ERR_FORMAT when there but unreadable. Except the meter:
 * when meter_in is not a terminal nobody can type readings, and *out is the none source
 * with that reason (a run goes on, never blocking). DC_ERR_ARG for an unknown kind or a bad
 * option, DC_ERR_NOMEM. The caller closes *out with dc_energy_close. */
dc_status dc_energy_open_with(const char *kind, const dc_energy_opts *opts, dc_energy **out,
                              dc_error *err);

/* dc_energy_open_with(kind, NULL, out, err). */
dc_status dc_energy_open(const char *kind, dc_energy **out, dc_error *err);

/* Frees the source; e may be NULL. */
void dc_energy_close(dc_energy *e);

/* True when the source measures energy, false for none. */
bool dc_energy_available(const dc_energy *e);

/* "rapl", "perf", "hwmon", "ina3221", "meter" or "none". Never NULL. */
const char *dc_energy_source_name(const dc_energy *e);

/* Why there is no measurement ("" when available). Owned by e; never NULL. */
const char *dc_energy_unavailable_reason(const dc_energy *e);

/* The domains read, one entry per top-level domain with its subdomains; a subdomain added
 * to the total follows a '+': "package-0 (core, uncore) + dram, package-1 (core, uncore) +
 * dram, psys (not summed)"; "POM_5V_IN (POM_5V_GPU, POM_5V_CPU)" for a Jetson Nano's rails.
 * "" for none. Owned by e; never NULL. */
const char *dc_energy_domains(const dc_energy *e);

/* How a sampled source sampled, since dc_energy_start. */
typedef struct {
    double period_s;    /* the period asked for */
    uint64_t samples;   /* readings of every rail since dc_energy_start (the sampler's and
                         * those dc_energy_poll and dc_energy_read take) */
    double max_gap_s;   /* the longest time between two readings since dc_energy_start */
    double bound_j;     /* the trapezoid rule's error bound on the total since
                         * dc_energy_start: the sum over every step of the counted rails of
                         * gap x |power after - power before| / 2, which holds when power
                         * changes at most once (or monotonically) between two readings */
} dc_energy_sampling;

/* For a sampled source, fills *out as of the last read or poll and returns true; false
 * (and *out zeroed) for a source of counters. */
bool dc_energy_sampling_info(const dc_energy *e, dc_energy_sampling *out);

/* How the source measured, in words, as of the last read or poll: for a sampled source
 * "sampled every 10 ms: 412 readings (longest gap 12.3 ms); trapezoid error at most
 * 0.004 J", for the meter the readings typed and their units; "" otherwise. Owned by e;
 * never NULL. */
const char *dc_energy_note(const dc_energy *e);

/* Number of domains (0 for none), and domain i (0 <= i < count) with its joules as of the
 * last read or poll. The pointer lives as long as e. */
int dc_energy_domain_count(const dc_energy *e);
const dc_energy_domain *dc_energy_domain_at(const dc_energy *e, int i);

/* Begins a measurement: remembers every counter and zeroes the joules. A sampled source
 * starts its sampler thread first (once: later calls measure on from its integral); the
 * meter asks for a reading. A no-op returning DC_OK for none. DC_ERR_IO / DC_ERR_FORMAT
 * naming the file when a counter cannot be read; the meter's errors (no reading typed,
 * cancelled). */
dc_status dc_energy_start(dc_energy *e, dc_error *err);

/* Reads every counter and adds what it advanced since the last reading (one wrap at most)
 * to its domain. DC_OK and nothing done for none and for the meter (whose readings are
 * typed only at start and at dc_energy_read); DC_ERR_ARG before dc_energy_start;
 * DC_ERR_IO / DC_ERR_FORMAT naming the file when a counter cannot be read, or when a
 * sampler's rail became unreadable since (the file it could not read). */
dc_status dc_energy_poll(dc_energy *e, dc_error *err);

/* Takes a reading as dc_energy_poll does (the meter asks for one), then sets *joules to
 * the energy of the counted domains since dc_energy_start. DC_ERR_UNSUPPORTED (with the
 * reason) for none; DC_ERR_ARG before dc_energy_start; errors of the reading. *joules is
 * untouched on failure. */
dc_status dc_energy_read(dc_energy *e, double *joules, dc_error *err);

/* The idle baseline: starts a measurement (as dc_energy_start), sleeps `seconds` while
 * polling every second, and sets *idle_watts to the counted energy over the measured wall
 * time. The measurement is left running: call dc_energy_start afterwards to measure from
 * there (for the meter, the baseline's closing reading is the next start's, so nobody
 * types the same number twice). A report subtracts idle_watts * duration to show what the
 * work itself added. DC_ERR_ARG unless 0 < seconds <= 1e6; DC_ERR_UNSUPPORTED for none;
 * read errors. */
dc_status dc_energy_measure_idle(dc_energy *e, double seconds, double *idle_watts,
                                 dc_error *err);
/* ---- energy sources: for cascade/energy*.c only --------------------------------------- */

/* A counter as a source describes it: the domain (strings owned by the source's state) and
 * the value after which the counter wraps to 0 (0: never wraps). */
typedef struct {
    dc_energy_domain domain;
    uint64_t max_uj;
} dc_energy_counter;

/* Source flags. */
#define DC_ENERGY_MANUAL 1u /* each reading asks a person: taken by dc_energy_start and
                             * dc_energy_read only, never by dc_energy_poll */

/* An energy source, energymon-style. */
typedef struct {
    const char *name;
    /* Finds the counters and makes the source's state. On failure returns the status and
     * fills err with why (DC_ERR_UNSUPPORTED: absent; DC_ERR_IO / DC_ERR_FORMAT: there but
     * unreadable; DC_ERR_NOMEM); "auto" turns all but DC_ERR_NOMEM into the none source. */
    dc_status (*init)(const dc_energy_opts *opts, void **state,
                      const dc_energy_counter **counters, int *n, dc_error *err);
    /* Reads every counter now, in microjoules, into uj[0..n). */
    dc_status (*read)(void *state, uint64_t *uj, dc_error *err);
    /* Frees the state and the counters (a sampler thread is stopped first); state may be
     * NULL. */
    void (*finish)(void *state);
    /* Optional (NULL: nothing to do). Called by dc_energy_start before its reading: a
     * sampler starts its thread, the meter prepares its "before" prompt. */
    dc_status (*start)(void *state, dc_error *err);
    /* Optional: a sampled source's totals since its sampler started (period_s, samples,
     * bound_j of the counted rails) and max_gap_s since the last start call. */
    void (*sampling)(void *state, dc_energy_sampling *out);
    /* Optional: what the source has to say about its readings (see dc_energy_note). */
    void (*describe)(void *state, char *buf, size_t cap);
    unsigned flags; /* DC_ENERGY_MANUAL or 0 */
} dc_energy_source;

extern const dc_energy_source dc_energy_source_rapl;    /* cascade/energy_rapl.c */
extern const dc_energy_source dc_energy_source_perf;    /* cascade/energy_perf.c */
extern const dc_energy_source dc_energy_source_hwmon;   /* cascade/energy_hwmon.c */
extern const dc_energy_source dc_energy_source_ina3221; /* cascade/energy_rails.c */
extern const dc_energy_source dc_energy_source_meter;   /* cascade/energy_meter.c */
extern const dc_energy_source dc_energy_source_none;    /* cascade/energy.c */

#endif /* DC_CASCADE_ENERGY_H */
