/*
 * energy_perf.c — the "perf" energy source: the RAPL counters through the `power` PMU of
 * perf_event_open, for machines where powercap's energy_uj is root-only but perf is
 * allowed (perf_event_paranoid <= 0, or CAP_PERFMON).
 *
 * Read from $DUALCNN_PERF_ROOT (/sys/bus/event_source/devices) / power: `type`, the PMU's
 * number; `cpumask`, one CPU per package (the events count per package); for the events
 * energy-pkg (required) and energy-ram (when the CPU has it): `events/<event>` ("event=0x02",
 * each term placed in the config by `format/<term>`, "config:0-7"), `events/<event>.scale`
 * (joules per count) and `events/<event>.unit` ("Joules"). One system-wide counting event
 * is opened per event and CPU of the mask; the kernel keeps each count in 64 bits, so
 * nothing wraps. What is summed is RAPL's rule: every package, plus dram.
 */
#define _GNU_SOURCE /* syscall */
#include "cascade/energy_perf.h"
#include "cascade/energy.h"
#include "cascade/sysfs.h"
#include "base/alloc.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PERF_DEFAULT_ROOT "/sys/bus/event_source/devices"
#define WHO "perf"

/* ---- the event's description --------------------------------------------------------- */

/* Reads pmu_dir/file; DC_ERR_UNSUPPORTED (not IO) when it does not exist. */
static dc_status read_pmu_file(const char *pmu_dir, const char *file, char *buf, size_t cap,
                               bool *absent, dc_error *err)
{
    char *path = dc_sysfs_join(pmu_dir, file);
    *absent = false;
    if (!path)
        return dc_fail(err, DC_ERR_NOMEM, "perf: out of memory");
    dc_status st = dc_sysfs_read_text(WHO, path, buf, cap, err);
    *absent = st != DC_OK && access(path, F_OK) != 0;
    free(path);
    return st;
}

/* Places value into config by the format "config:lo-hi" or "config:bit". */
static dc_status place_term(const char *pmu_dir, const char *term, uint64_t value,
                            uint64_t *config, dc_error *err)
{
    char file[96], fmt[64];
    bool absent;
    snprintf(file, sizeof file, "format/%s", term);
    dc_status st = read_pmu_file(pmu_dir, file, fmt, sizeof fmt, &absent, err);
    if (st != DC_OK)
        return absent ? dc_fail(err, DC_ERR_FORMAT, "perf: %s/%s not found: the event's "
                                "term '%s' has no format", pmu_dir, file, term)
                      : st;
    int lo, hi, used = 0;
    if (sscanf(fmt, "config:%d-%d%n", &lo, &hi, &used) != 2 || fmt[used]) {
        used = 0;
        if (sscanf(fmt, "config:%d%n", &lo, &used) != 1 || fmt[used])
            return dc_fail(err, DC_ERR_FORMAT, "perf: %s/%s: '%s' is not config:LO-HI",
                           pmu_dir, file, fmt);
        hi = lo;
    }
    if (lo < 0 || hi > 63 || lo > hi)
        return dc_fail(err, DC_ERR_FORMAT, "perf: %s/%s: bits '%s' outside 0-63", pmu_dir,
                       file, fmt);
    int width = hi - lo + 1;
    uint64_t mask = width == 64 ? UINT64_MAX : ((1ull << width) - 1);
    if (value & ~mask)
        return dc_fail(err, DC_ERR_FORMAT, "perf: %s: %s=0x%llx does not fit %s", pmu_dir,
                       term, (unsigned long long)value, fmt);
    *config |= value << lo;
    return DC_OK;
}

/* "event=0x02,umask=0x1": every term placed into *config. */
static dc_status parse_config(const char *pmu_dir, const char *path, char *text,
                              uint64_t *config, dc_error *err)
{
    *config = 0;
    char *save = NULL;
    for (char *t = strtok_r(text, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(t, '=');
        uint64_t value = 1;
        if (eq) {
            *eq = '\0';
            char *end;
            errno = 0;
            value = strtoull(eq + 1, &end, 0);
            if (end == eq + 1 || *end || errno || eq[1] == '-')
                return dc_fail(err, DC_ERR_FORMAT, "perf: %s: '%s' is not a number", path,
                               eq + 1);
        }
        dc_status st = place_term(pmu_dir, t, value, config, err);
        if (st != DC_OK)
            return st;
    }
    return DC_OK;
}

/* "0", "0,28", "0-1": the CPUs of the mask. */
static dc_status parse_cpumask(const char *path, const char *text, dc_perf_event *ev,
                               dc_error *err)
{
    const char *p = text;
    ev->n_cpus = 0;
    while (*p) {
        char *end;
        long a = strtol(p, &end, 10), b = a;
        if (end == p || a < 0)
            break;
        p = end;
        if (*p == '-') {
            b = strtol(p + 1, &end, 10);
            if (end == p + 1 || b < a)
                break;
            p = end;
        }
        for (long c = a; c <= b; c++) {
            if (ev->n_cpus == DC_PERF_MAX_CPUS || c > 1 << 20)
                return dc_fail(err, DC_ERR_FORMAT, "perf: %s: more than %d CPUs in '%s'",
                               path, DC_PERF_MAX_CPUS, text);
            ev->cpus[ev->n_cpus++] = (int)c;
        }
        if (*p == ',')
            p++;
        else if (*p)
            break;
    }
    if (*p || ev->n_cpus == 0)
        return dc_fail(err, DC_ERR_FORMAT, "perf: %s: '%s' is not a list of CPUs", path, text);
    return DC_OK;
}

dc_status dc_perf_event_read(const char *pmu_dir, const char *event, dc_perf_event *out,
                             dc_error *err)
{
    *out = (dc_perf_event){ .n_cpus = 0 };
    char buf[256], file[128];
    bool absent;
    dc_status st = read_pmu_file(pmu_dir, "type", buf, sizeof buf, &absent, err);
    if (st != DC_OK)
        return absent ? dc_fail(err, DC_ERR_UNSUPPORTED, "no perf power PMU: %s/type not "
                                "found (this CPU or virtual machine has no RAPL, or the "
                                "kernel lacks the power PMU)", pmu_dir)
                      : st;
    char *end;
    errno = 0;
    unsigned long type = strtoul(buf, &end, 10);
    if (buf[0] < '0' || buf[0] > '9' || *end || errno || type > UINT32_MAX)
        return dc_fail(err, DC_ERR_FORMAT, "perf: %s/type: '%s' is not a PMU number", pmu_dir,
                       buf);
    out->type = (uint32_t)type;

    snprintf(file, sizeof file, "events/%s", event);
    st = read_pmu_file(pmu_dir, file, buf, sizeof buf, &absent, err);
    if (st != DC_OK)
        return absent ? dc_fail(err, DC_ERR_UNSUPPORTED, "perf: no event %s: %s/%s not "
                                "found", event, pmu_dir, file)
                      : st;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", pmu_dir, file);
    st = parse_config(pmu_dir, path, buf, &out->config, err);
    if (st != DC_OK)
        return st;

    snprintf(file, sizeof file, "events/%s.scale", event);
    snprintf(path, sizeof path, "%s/%s", pmu_dir, file);
    st = read_pmu_file(pmu_dir, file, buf, sizeof buf, &absent, err);
    if (st != DC_OK)
        return absent ? dc_fail(err, DC_ERR_FORMAT, "perf: %s not found (the counts of %s "
                                "cannot be turned into joules)", path, event)
                      : st;
    errno = 0;
    out->scale = strtod(buf, &end);
    if (end == buf || *end || errno || !(out->scale > 0.0) || !isfinite(out->scale))
        return dc_fail(err, DC_ERR_FORMAT, "perf: %s: '%s' is not a positive number", path,
                       buf);

    snprintf(file, sizeof file, "events/%s.unit", event);
    st = read_pmu_file(pmu_dir, file, buf, sizeof buf, &absent, err);
    if (st != DC_OK && !absent)
        return st;
    if (st == DC_OK && strcmp(buf, "Joules") != 0)
        return dc_fail(err, DC_ERR_FORMAT, "perf: %s/%s: unit '%s', expected Joules",
                       pmu_dir, file, buf);

    st = read_pmu_file(pmu_dir, "cpumask", buf, sizeof buf, &absent, err);
    if (st != DC_OK && !absent)
        return st;
    if (st != DC_OK) { /* no mask: one package, counted on CPU 0 */
        out->cpus[0] = 0;
        out->n_cpus = 1;
        return DC_OK;
    }
    snprintf(path, sizeof path, "%s/cpumask", pmu_dir);
    return parse_cpumask(path, buf, out, err);
}

/* ---- the source ---------------------------------------------------------------------- */

typedef struct {
    int fd;
    double scale;
    char id[96], name[32];
} perf_counter;

typedef struct {
    perf_counter *c;
    int n;
    dc_energy_counter *counters;
} perf_state;

static void perf_finish(void *state)
{
    perf_state *s = state;
    if (!s)
        return;
    for (int i = 0; i < s->n; i++)
        if (s->c[i].fd >= 0)
            close(s->c[i].fd);
    free(s->c);
    free(s->counters);
    free(s);
}

static int paranoid_level(void)
{
    char buf[32];
    dc_error ignored;
    if (dc_sysfs_read_text(WHO, "/proc/sys/kernel/perf_event_paranoid", buf, sizeof buf,
                           &ignored) != DC_OK)
        return 99;
    return atoi(buf);
}

/* Opens one system-wide counting event; fails naming the event, its numbers and why. */
static dc_status open_event(const char *event, const dc_perf_event *ev, int cpu, int *fd,
                            dc_error *err)
{
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.type = ev->type;
    attr.config = ev->config;
    long r = syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
    if (r >= 0) {
        *fd = (int)r;
        return DC_OK;
    }
    int e = errno;
    char hint[200] = "";
    if (e == EACCES || e == EPERM)
        snprintf(hint, sizeof hint, " (system-wide events need root, CAP_PERFMON or "
                 "/proc/sys/kernel/perf_event_paranoid at 0 or below; it is %d)",
                 paranoid_level());
    else if (e == ENOENT || e == ENODEV || e == EINVAL || e == EOPNOTSUPP)
        snprintf(hint, sizeof hint, " (the kernel has no such PMU or event: no RAPL here)");
    else if (e == ENOSYS)
        snprintf(hint, sizeof hint, " (perf_event_open is not available: a container or "
                 "a kernel without perf events)");
    return dc_fail(err, DC_ERR_UNSUPPORTED, "perf_event_open(power/%s/: type %u, config "
                   "0x%llx, scale %g J, cpu %d) failed: %s%s", event, ev->type,
                   (unsigned long long)ev->config, ev->scale, cpu, strerror(e), hint);
}

static dc_status perf_read(void *state, uint64_t *uj, dc_error *err)
{
    perf_state *s = state;
    for (int i = 0; i < s->n; i++) {
        uint64_t count;
        ssize_t k;
        do
            k = read(s->c[i].fd, &count, sizeof count);
        while (k < 0 && errno == EINTR);
        if (k != (ssize_t)sizeof count)
            return dc_fail(err, DC_ERR_IO, "perf: reading %s: %s", s->c[i].id,
                           k < 0 ? strerror(errno) : "short read");
        uj[i] = (uint64_t)floor((double)count * s->c[i].scale * 1e6);
    }
    return DC_OK;
}

/* Opens the events of pkg (and ram, when it has one) on every CPU of pkg's mask. */
static dc_status open_all(perf_state *s, const dc_perf_event *pkg, const dc_perf_event *ram,
                          dc_error *err)
{
    int per_cpu = ram ? 2 : 1;
    s->c = dc_calloc((size_t)(pkg->n_cpus * per_cpu), sizeof *s->c);
    s->counters = dc_calloc((size_t)(pkg->n_cpus * per_cpu), sizeof *s->counters);
    if (!s->c || !s->counters)
        return dc_fail(err, DC_ERR_NOMEM, "perf: out of memory");
    for (int k = 0; k < pkg->n_cpus; k++) {
        for (int r = 0; r < per_cpu; r++) {
            const dc_perf_event *ev = r ? ram : pkg;
            perf_counter *c = &s->c[s->n];
            c->fd = -1;
            c->scale = ev->scale;
            snprintf(c->id, sizeof c->id, "power/%s/ cpu %d", r ? "energy-ram" : "energy-pkg",
                     pkg->cpus[k]);
            if (r)
                snprintf(c->name, sizeof c->name, "dram");
            else
                snprintf(c->name, sizeof c->name, "package-%d", k);
            s->counters[s->n] = (dc_energy_counter){
                .domain = { .id = c->id, .name = c->name, .parent = r ? s->n - 1 : -1,
                            .counted = true },
                .max_uj = UINT64_MAX };
            s->n++; /* counted now so that perf_finish closes what was opened */
            dc_status st = open_event(r ? "energy-ram" : "energy-pkg", ev, pkg->cpus[k],
                                      &c->fd, err);
            if (st != DC_OK)
                return st;
        }
    }
    return DC_OK;
}

static dc_status perf_init(const dc_energy_opts *opts, void **state,
                           const dc_energy_counter **counters, int *n, dc_error *err)
{
    (void)opts;
    *state = NULL;
    char *pmu = dc_sysfs_join(dc_sysfs_root("DUALCNN_PERF_ROOT", PERF_DEFAULT_ROOT), "power");
    if (!pmu)
        return dc_fail(err, DC_ERR_NOMEM, "perf: out of memory");
    dc_perf_event pkg, ram;
    dc_status st = dc_perf_event_read(pmu, "energy-pkg", &pkg, err);
    dc_error ram_err;
    bool has_ram = st == DC_OK && dc_perf_event_read(pmu, "energy-ram", &ram, &ram_err) == DC_OK;
    free(pmu);
    if (st != DC_OK)
        return st;
    perf_state *s = dc_calloc(1, sizeof *s);
    if (!s)
        return dc_fail(err, DC_ERR_NOMEM, "perf: out of memory");
    st = open_all(s, &pkg, has_ram ? &ram : NULL, err);
    if (st == DC_OK) {
        uint64_t *probe = dc_calloc((size_t)s->n, sizeof *probe);
        st = probe ? perf_read(s, probe, err) : dc_fail(err, DC_ERR_NOMEM, "perf: out of memory");
        free(probe);
    }
    if (st != DC_OK) {
        perf_finish(s);
        return st;
    }
    *state = s;
    *counters = s->counters;
    *n = s->n;
    return DC_OK;
}

const dc_energy_source dc_energy_source_perf = { "perf", perf_init, perf_read, perf_finish,
                                                  NULL, NULL, NULL, 0 };
