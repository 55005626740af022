/*
 * energy.h — the energy a run used, read from the CPU's RAPL counters through the Linux
 * powercap sysfs tree, or reported as absent with the reason.
 *
 * Sources sit behind one small table of functions, as in energymon (init, read, finish):
 * "rapl" (cascade/energy_rapl.c) and "none" (cascade/energy.c). A source only reads raw
 * microjoule counters; this layer turns them into joules since dc_energy_start, handling
 * counter wrap. Tests build a fake powercap tree and point $DUALCNN_POWERCAP_ROOT at it.
 *
 * What is summed (the total of dc_energy_read). The intel-rapl powercap driver makes each
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
 * it twice.
 *
 * Counters wrap at max_energy_range_uj (about 2^32 energy units: a minute to hours,
 * depending on the CPU and its load). A reading below the previous one is taken as one
 * wrap: delta = (max - before) + after. Call dc_energy_poll often enough that no counter
 * wraps twice between calls; every 10 to 60 s is plenty on current hardware.
 *
 * Typical use (cli/cmd_run.c):
 *     dc_energy *e;
 *     dc_energy_open("auto", &e, err);           // never fails for "auto" (but NOMEM)
 *     if (!dc_energy_available(e)) printf("energy: %s\n", dc_energy_unavailable_reason(e));
 *     dc_energy_start(e, err);
 *     ... work, calling dc_energy_poll(e, err) every few seconds ...
 *     double j;
 *     if (dc_energy_available(e)) dc_energy_read(e, &j, err);
 *     dc_energy_close(e);
 *
 * A dc_energy is not thread-safe: one thread uses it at a time.
 */
#ifndef DC_CASCADE_ENERGY_H
#define DC_CASCADE_ENERGY_H

#include "dualcnn.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct dc_energy dc_energy;

/* One counter of the source, and what it measured since dc_energy_start. */
typedef struct {
    const char *id;     /* the zone's directory, e.g. "intel-rapl:0:2"; owned by the source */
    const char *name;   /* the zone's name file: "package-0", "core", "uncore", "dram", "psys" */
    int parent;         /* index of the zone this is a subzone of; -1 for a top-level zone */
    bool counted;       /* part of the total of dc_energy_read (see the rule above) */
    double joules;      /* since dc_energy_start, as of the last read, poll or idle baseline */
} dc_energy_domain;

/* Opens an energy source. kind: "rapl", "none", or NULL / "auto" (rapl when it can be read,
 * else none). The powercap root is $DUALCNN_POWERCAP_ROOT when set and not empty, else
 * /sys/class/powercap. For "auto", RAPL absent or unreadable is not an error: *out is the
 * none source and dc_energy_unavailable_reason says why ("no RAPL: /sys/class/powercap not
 * found", "RAPL unreadable: .../intel-rapl:0/energy_uj: Permission denied (...)"). For
 * "rapl", the same conditions fail with that message (DC_ERR_UNSUPPORTED when absent,
 * DC_ERR_IO or DC_ERR_FORMAT when unreadable). DC_ERR_ARG for an unknown kind,
 * DC_ERR_NOMEM. The caller closes *out with dc_energy_close. */
dc_status dc_energy_open(const char *kind, dc_energy **out, dc_error *err);

/* Frees the source; e may be NULL. */
void dc_energy_close(dc_energy *e);

/* True when the source measures energy (rapl), false for none. */
bool dc_energy_available(const dc_energy *e);

/* "rapl" or "none". Never NULL. */
const char *dc_energy_source_name(const dc_energy *e);

/* Why there is no measurement ("" when available). Owned by e; never NULL. */
const char *dc_energy_unavailable_reason(const dc_energy *e);

/* The domains read, one entry per top-level zone with its subzones; a subzone added to the
 * total follows a '+': "package-0 (core, uncore) + dram, package-1 (core, uncore) + dram,
 * psys (not summed)". "" for none. Owned by e; never NULL. */
const char *dc_energy_domains(const dc_energy *e);

/* Number of domains (0 for none), and domain i (0 <= i < count) with its joules as of the
 * last read or poll. The pointer lives as long as e. */
int dc_energy_domain_count(const dc_energy *e);
const dc_energy_domain *dc_energy_domain_at(const dc_energy *e, int i);

/* Begins a measurement: remembers every counter and zeroes the joules. A no-op returning
 * DC_OK for none. DC_ERR_IO / DC_ERR_FORMAT naming the file when a counter cannot be read. */
dc_status dc_energy_start(dc_energy *e, dc_error *err);

/* Reads every counter and adds what it advanced since the last reading (one wrap at most)
 * to its domain. DC_OK and nothing done for none; DC_ERR_ARG before dc_energy_start;
 * DC_ERR_IO / DC_ERR_FORMAT naming the file when a counter cannot be read. */
dc_status dc_energy_poll(dc_energy *e, dc_error *err);

/* Polls, then sets *joules to the energy of the counted domains since dc_energy_start.
 * DC_ERR_UNSUPPORTED (with the reason) for none; DC_ERR_ARG before dc_energy_start;
 * errors of dc_energy_poll. *joules is untouched on failure. */
dc_status dc_energy_read(dc_energy *e, double *joules, dc_error *err);

/* The idle baseline: starts a measurement (as dc_energy_start), sleeps `seconds` while
 * polling every second, and sets *idle_watts to the counted energy over the measured wall
 * time. The measurement is left running: call dc_energy_start afterwards to measure from
 * there. A report subtracts idle_watts * duration to show what the work itself added.
 * DC_ERR_ARG unless 0 < seconds <= 1e6; DC_ERR_UNSUPPORTED for none; read errors. */
dc_status dc_energy_measure_idle(dc_energy *e, double seconds, double *idle_watts,
                                 dc_error *err);

/* ---- energy sources: for cascade/energy*.c only --------------------------------------- */

/* A counter as a source describes it: the domain (strings owned by the source's state) and
 * the value after which the counter wraps to 0 (0: never wraps). */
typedef struct {
    dc_energy_domain domain;
    uint64_t max_uj;
} dc_energy_counter;

/* An energy source, energymon-style. */
typedef struct {
    const char *name;
    /* Finds the counters and makes the source's state. On failure returns the status and
     * fills err with why (DC_ERR_UNSUPPORTED: absent; DC_ERR_IO / DC_ERR_FORMAT: there but
     * unreadable; DC_ERR_NOMEM); "auto" turns all but DC_ERR_NOMEM into the none source. */
    dc_status (*init)(void **state, const dc_energy_counter **counters, int *n,
                      dc_error *err);
    /* Reads every counter now, in microjoules, into uj[0..n). */
    dc_status (*read)(void *state, uint64_t *uj, dc_error *err);
    /* Frees the state and the counters; state may be NULL. */
    void (*finish)(void *state);
} dc_energy_source;

extern const dc_energy_source dc_energy_source_rapl; /* cascade/energy_rapl.c */
extern const dc_energy_source dc_energy_source_none; /* cascade/energy.c */

#endif /* DC_CASCADE_ENERGY_H */
