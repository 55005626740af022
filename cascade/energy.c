/*
 * energy.c — the energy layer over the table of sources (cascade/energy.h): choosing a
 * source (by name, or the automatic order), turning raw microjoule counters into joules
 * since dc_energy_start with counter wrap handled, the sampling report, the idle baseline,
 * and the "none" source.
 */
#include "cascade/energy.h"
#include "base/alloc.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct dc_energy {
    const dc_energy_source *src;
    void *state;
    int n;
    const dc_energy_counter *counters; /* owned by state */
    dc_energy_domain *domains;         /* copies of the counters' domains, with joules */
    uint64_t *last;                    /* the previous raw reading, per counter */
    uint64_t *acc;                     /* microjoules since dc_energy_start, per counter */
    uint64_t *now;                     /* scratch for a reading */
    bool started;
    bool fresh;                        /* a manual source's last reading may start the next
                                        * measurement (taken by dc_energy_measure_idle) */
    dc_energy_opts opts;
    dc_energy_sampling sampled0;       /* the sampler's totals at dc_energy_start */
    dc_energy_sampling sampled;        /* since dc_energy_start, as of the last reading */
    char reason[4 * sizeof(((dc_error *)0)->msg)]; /* auto: every source's why */
    char note[512];
    char *domains_text;
};

/* ---- the none source ------------------------------------------------------------------ */

static dc_status none_init(const dc_energy_opts *opts, void **state,
                           const dc_energy_counter **counters, int *n, dc_error *err)
{
    (void)opts;
    (void)err;
    *state = NULL;
    *counters = NULL;
    *n = 0;
    return DC_OK;
}

static dc_status none_read(void *state, uint64_t *uj, dc_error *err)
{
    (void)state;
    (void)uj;
    (void)err;
    return DC_OK;
}

static void none_finish(void *state)
{
    (void)state;
}

const dc_energy_source dc_energy_source_none = { "none", none_init, none_read, none_finish,
                                                  NULL, NULL, NULL, 0 };

dc_energy_opts dc_energy_default_opts(void)
{
    return (dc_energy_opts){ .period_ms = DC_ENERGY_DEFAULT_PERIOD_MS, .meter_in = 0,
                             .meter_out = 2 };
}

/* ---- opening ------------------------------------------------------------------------- */

/* "package-0 (core, uncore) + dram, psys (not summed)": zone i and its subzones. */
static void append_zone(const dc_energy *e, int i, char *buf, size_t cap, size_t *len)
{
#define PUT(...)                                                                         \
    do {                                                                                 \
        int k_ = snprintf(buf + *len, cap - *len, __VA_ARGS__);                          \
        *len += k_ > 0 && (size_t)k_ < cap - *len ? (size_t)k_ : cap - 1 - *len;          \
    } while (0)
    const dc_energy_domain *d = &e->domains[i];
    PUT("%s%s", *len ? ", " : "", d->name);
    int inner = 0;
    for (int j = 0; j < e->n; j++)
        if (e->domains[j].parent == i && !e->domains[j].counted)
            PUT("%s%s", inner++ ? ", " : " (", e->domains[j].name);
    if (inner)
        PUT(")");
    for (int j = 0; j < e->n; j++)
        if (e->domains[j].parent == i && e->domains[j].counted)
            PUT(" + %s", e->domains[j].name);
    if (!d->counted)
        PUT(" (not summed)");
#undef PUT
}

static dc_status build_domains_text(dc_energy *e, dc_error *err)
{
    size_t cap = 64;
    for (int i = 0; i < e->n; i++)
        cap += strlen(e->domains[i].name) + 24;
    e->domains_text = dc_malloc(cap);
    if (!e->domains_text)
        return dc_fail(err, DC_ERR_NOMEM, "energy: out of memory");
    size_t len = 0;
    e->domains_text[0] = '\0';
    for (int i = 0; i < e->n; i++) /* top-level zones, and subzones whose parent is absent */
        if (e->domains[i].parent < 0)
            append_zone(e, i, e->domains_text, cap, &len);
    return DC_OK;
}

/* Makes e read from src. On failure err says why and e holds no source (what was allocated
 * is freed by dc_energy_close). */
static dc_status attach(dc_energy *e, const dc_energy_source *src, dc_error *err)
{
    const dc_energy_counter *counters = NULL;
    void *state = NULL;
    int n = 0;
    dc_status st = src->init(&e->opts, &state, &counters, &n, err);
    if (st != DC_OK)
        return st;
    size_t m = n > 0 ? (size_t)n : 1;
    e->domains = dc_calloc(m, sizeof *e->domains);
    e->last = dc_calloc(m, sizeof *e->last);
    e->acc = dc_calloc(m, sizeof *e->acc);
    e->now = dc_calloc(m, sizeof *e->now);
    if (!e->domains || !e->last || !e->acc || !e->now) {
        src->finish(state);
        return dc_fail(err, DC_ERR_NOMEM, "energy: out of memory");
    }
    e->src = src;
    e->state = state;
    e->n = n;
    e->counters = counters;
    for (int i = 0; i < n; i++)
        e->domains[i] = counters[i].domain;
    return build_domains_text(e, err);
}

/* The sources "auto" tries, in order (cascade/energy.h says why this order). */
static const dc_energy_source *const auto_order[] = {
    &dc_energy_source_rapl, &dc_energy_source_perf, &dc_energy_source_hwmon,
    &dc_energy_source_ina3221,
};
#define N_AUTO (sizeof auto_order / sizeof *auto_order)

static const dc_energy_source *find_source(const char *kind)
{
    const dc_energy_source *const all[] = {
        &dc_energy_source_rapl, &dc_energy_source_perf, &dc_energy_source_hwmon,
        &dc_energy_source_ina3221, &dc_energy_source_meter, &dc_energy_source_none,
    };
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        if (strcmp(kind, all[i]->name) == 0)
            return all[i];
    return NULL;
}

static dc_status check_opts(const dc_energy_opts *o, dc_error *err)
{
    if (!(o->period_ms > 0.0 && o->period_ms <= 1e4))
        return dc_fail(err, DC_ERR_ARG, "energy: a sampling period of %g ms: expected more "
                       "than 0 and at most 10000 ms", o->period_ms);
    if (!(o->meter_volts >= 0.0 && o->meter_volts <= 1e3))
        return dc_fail(err, DC_ERR_ARG, "energy: a meter supply of %g V: expected 0 (none) "
                       "to 1000 V", o->meter_volts);
    return DC_OK;
}

/* Tries the sources of auto_order; the first that opens wins. Else e gets the none source
 * and a reason naming why each failed. */
static dc_status attach_auto(dc_energy *e, dc_error *err)
{
    size_t len = (size_t)snprintf(e->reason, sizeof e->reason, "no energy source:");
    for (size_t k = 0; k < N_AUTO; k++) {
        dc_error why = { 0 };
        dc_status st = attach(e, auto_order[k], &why);
        if (st == DC_OK || st == DC_ERR_NOMEM)
            return st == DC_OK ? DC_OK : dc_fail(err, st, "%s", why.msg);
        if (len < sizeof e->reason)
            len += (size_t)snprintf(e->reason + len, sizeof e->reason - len, "%s %s: %s",
                                    k ? ";" : "", auto_order[k]->name, why.msg);
    }
    dc_error why = { 0 };
    dc_status st = attach(e, &dc_energy_source_none, &why);
    return st == DC_OK ? DC_OK : dc_fail(err, st, "%s", why.msg);
}

dc_status dc_energy_open_with(const char *kind, const dc_energy_opts *opts, dc_energy **out,
                              dc_error *err)
{
    *out = NULL;
    dc_energy_opts o = opts ? *opts : dc_energy_default_opts();
    dc_status st = check_opts(&o, err);
    if (st != DC_OK)
        return st;
    bool automatic = !kind || strcmp(kind, "auto") == 0;
    const dc_energy_source *src = automatic ? NULL : find_source(kind);
    if (!automatic && !src)
        return dc_fail(err, DC_ERR_ARG, "unknown energy source '%s' (expected auto, rapl, "
                       "perf, hwmon, ina3221, meter or none)", kind);

    dc_energy *e = dc_calloc(1, sizeof *e);
    if (!e)
        return dc_fail(err, DC_ERR_NOMEM, "energy: out of memory");
    e->opts = o;
    dc_error why = { 0 };
    if (automatic) {
        st = attach_auto(e, &why);
    } else {
        st = attach(e, src, &why);
        if (st != DC_OK && st != DC_ERR_NOMEM && (src->flags & DC_ENERGY_MANUAL)) {
            /* nobody to type the readings: the run goes on without them */
            snprintf(e->reason, sizeof e->reason, "%s", why.msg);
            st = attach(e, &dc_energy_source_none, &why);
        } else if (st != DC_OK && st != DC_ERR_NOMEM) {
            char msg[sizeof why.msg];
            snprintf(msg, sizeof msg, "%s", why.msg);
            dc_fail(&why, st, "energy source %s unavailable (%s)", src->name, msg);
        } else if (st == DC_OK && src == &dc_energy_source_none) {
            snprintf(e->reason, sizeof e->reason, "not measured (energy source \"none\")");
        }
    }
    if (st != DC_OK) {
        dc_energy_close(e);
        return dc_fail(err, st, "%s", why.msg);
    }
    *out = e;
    return DC_OK;
}

dc_status dc_energy_open(const char *kind, dc_energy **out, dc_error *err)
{
    return dc_energy_open_with(kind, NULL, out, err);
}

void dc_energy_close(dc_energy *e)
{
    if (!e)
        return;
    if (e->src)
        e->src->finish(e->state);
    free(e->domains);
    free(e->last);
    free(e->acc);
    free(e->now);
    free(e->domains_text);
    free(e);
}

/* ---- what it is ---------------------------------------------------------------------- */

bool dc_energy_available(const dc_energy *e)
{
    return e->src != &dc_energy_source_none;
}

const char *dc_energy_source_name(const dc_energy *e)
{
    return e->src->name;
}

const char *dc_energy_unavailable_reason(const dc_energy *e)
{
    return dc_energy_available(e) ? "" : e->reason;
}

const char *dc_energy_domains(const dc_energy *e)
{
    return e->domains_text ? e->domains_text : "";
}

int dc_energy_domain_count(const dc_energy *e)
{
    return e->n;
}

const dc_energy_domain *dc_energy_domain_at(const dc_energy *e, int i)
{
    return i >= 0 && i < e->n ? &e->domains[i] : NULL;
}

bool dc_energy_sampling_info(const dc_energy *e, dc_energy_sampling *out)
{
    bool sampled = e->src && e->src->sampling;
    *out = sampled ? e->sampled : (dc_energy_sampling){ 0 };
    return sampled;
}

const char *dc_energy_note(const dc_energy *e)
{
    return e->note;
}

/* ---- measuring ----------------------------------------------------------------------- */

/* Refreshes the sampling report and the note after a reading. */
static void update_note(dc_energy *e)
{
    size_t len = 0;
    e->note[0] = '\0';
    if (e->src->sampling) {
        dc_energy_sampling now = { 0 };
        e->src->sampling(e->state, &now);
        e->sampled = now;
        e->sampled.samples = now.samples - e->sampled0.samples;
        e->sampled.bound_j = now.bound_j - e->sampled0.bound_j;
        if (e->sampled.bound_j < 0.0)
            e->sampled.bound_j = 0.0;
        int k = snprintf(e->note, sizeof e->note, "sampled every %g ms: %llu readings "
                         "(longest gap %.1f ms); trapezoid error at most %.4f J",
                         1e3 * now.period_s, (unsigned long long)e->sampled.samples,
                         1e3 * now.max_gap_s, e->sampled.bound_j);
        len = k > 0 && (size_t)k < sizeof e->note ? (size_t)k : sizeof e->note - 1;
    }
    if (e->src->describe && len + 3 < sizeof e->note) {
        if (len) {
            memcpy(e->note + len, "; ", 3);
            len += 2;
        }
        e->src->describe(e->state, e->note + len, sizeof e->note - len);
    }
}

/* Reads every counter into e->now. */
static dc_status take_reading(dc_energy *e, dc_error *err)
{
    return e->src->read(e->state, e->now, err);
}

dc_status dc_energy_start(dc_energy *e, dc_error *err)
{
    if (!dc_energy_available(e))
        return DC_OK;
    dc_status st = DC_OK;
    if (e->fresh) { /* a manual source's closing idle reading starts this measurement */
        e->fresh = false;
        memcpy(e->now, e->last, (size_t)e->n * sizeof *e->now);
    } else {
        if (e->src->start)
            st = e->src->start(e->state, err);
        if (st == DC_OK)
            st = take_reading(e, err);
    }
    if (st != DC_OK)
        return st;
    for (int i = 0; i < e->n; i++) {
        e->last[i] = e->now[i];
        e->acc[i] = 0;
        e->domains[i].joules = 0.0;
    }
    if (e->src->sampling)
        e->src->sampling(e->state, &e->sampled0);
    e->started = true;
    update_note(e);
    return DC_OK;
}

/* What a counter advanced from before to after: one wrap at most. A 64-bit counter
 * (max 2^64 - 1) wraps modulo 2^64. A counter found above its own maximum (a bad max) that
 * then went down is taken to have restarted from 0, as is a counter without a maximum
 * (0: the meter, whose reading going down means it was reset in between). */
static uint64_t advance(uint64_t before, uint64_t after, uint64_t max)
{
    if (after >= before || max == UINT64_MAX)
        return after - before;
    return max >= before ? (max - before) + after : after;
}

/* Takes a reading and adds what every counter advanced to its domain. */
static dc_status accumulate(dc_energy *e, dc_error *err)
{
    if (!e->started)
        return dc_fail(err, DC_ERR_ARG, "energy: read before dc_energy_start");
    dc_status st = take_reading(e, err);
    if (st != DC_OK)
        return st;
    for (int i = 0; i < e->n; i++) {
        e->acc[i] += advance(e->last[i], e->now[i], e->counters[i].max_uj);
        e->last[i] = e->now[i];
        e->domains[i].joules = 1e-6 * (double)e->acc[i];
    }
    update_note(e);
    return DC_OK;
}

dc_status dc_energy_poll(dc_energy *e, dc_error *err)
{
    if (!dc_energy_available(e))
        return DC_OK;
    if (!e->started)
        return dc_fail(err, DC_ERR_ARG, "energy: polled before dc_energy_start");
    if (e->src->flags & DC_ENERGY_MANUAL)
        return DC_OK;
    return accumulate(e, err);
}

/* Microjoules of the counted domains since dc_energy_start, as of the last poll. */
static uint64_t counted_uj(const dc_energy *e)
{
    uint64_t sum = 0;
    for (int i = 0; i < e->n; i++)
        if (e->domains[i].counted)
            sum += e->acc[i];
    return sum;
}

dc_status dc_energy_read(dc_energy *e, double *joules, dc_error *err)
{
    if (!dc_energy_available(e))
        return dc_fail(err, DC_ERR_UNSUPPORTED, "energy not measured: %s", e->reason);
    dc_status st = accumulate(e, err);
    if (st != DC_OK)
        return st;
    *joules = 1e-6 * (double)counted_uj(e);
    return DC_OK;
}

static double monotonic_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void sleep_seconds(double s)
{
    struct timespec ts = { (time_t)s, (long)((s - floor(s)) * 1e9) };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

dc_status dc_energy_measure_idle(dc_energy *e, double seconds, double *idle_watts,
                                 dc_error *err)
{
    if (!(seconds > 0.0 && seconds <= 1e6))
        return dc_fail(err, DC_ERR_ARG, "idle baseline of %g s: expected more than 0 and "
                       "at most 1e6 seconds", seconds);
    if (!dc_energy_available(e))
        return dc_fail(err, DC_ERR_UNSUPPORTED, "no idle baseline: %s", e->reason);
    e->fresh = false;
    dc_status st = dc_energy_start(e, err);
    double t0 = monotonic_seconds(), t = t0;
    while (st == DC_OK && t - t0 < seconds) {
        double left = seconds - (t - t0);
        sleep_seconds(left < 1.0 ? left : 1.0);
        st = dc_energy_poll(e, err);
        t = monotonic_seconds();
    }
    if (st == DC_OK && (e->src->flags & DC_ENERGY_MANUAL)) {
        st = accumulate(e, err); /* the closing reading, which the next start reuses */
        t = monotonic_seconds();
        e->fresh = st == DC_OK;
    }
    if (st != DC_OK)
        return st;
    *idle_watts = 1e-6 * (double)counted_uj(e) / (t - t0);
    return DC_OK;
}
