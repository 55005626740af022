/*
 * energy_perf.h — how the "perf" energy source reads an event's description from sysfs
 * (cascade/energy_perf.c), apart so that tests can check it on a fake tree: the
 * perf_event_open call itself cannot be faked.
 */
#ifndef DC_CASCADE_ENERGY_PERF_H
#define DC_CASCADE_ENERGY_PERF_H

#include "dualcnn.h"

#include <stdbool.h>
#include <stdint.h>

#define DC_PERF_MAX_CPUS 64

typedef struct {
    uint32_t type;          /* <pmu>/type */
    uint64_t config;        /* <pmu>/events/<event>, its terms placed by <pmu>/format/<term> */
    double scale;           /* <pmu>/events/<event>.scale: joules per count */
    int cpus[DC_PERF_MAX_CPUS], n_cpus; /* <pmu>/cpumask: one CPU per package ("0" without) */
} dc_perf_event;

/* Reads event `event` ("energy-pkg") of the PMU directory pmu_dir (".../devices/power").
 * DC_ERR_UNSUPPORTED when the PMU or the event is absent, DC_ERR_IO naming an unreadable
 * file, DC_ERR_FORMAT naming a file whose text is not what the kernel writes (a config
 * term without a format, a unit other than Joules, a scale that is not a positive number). */
dc_status dc_perf_event_read(const char *pmu_dir, const char *event, dc_perf_event *out,
                             dc_error *err);

#endif /* DC_CASCADE_ENERGY_PERF_H */
