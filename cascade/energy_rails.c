/*
 * energy_rails.c — the "ina3221" energy source: the power rails of boards that report
 * instantaneous power through INA3221 monitors (the Jetson Nano and the other Jetsons),
 * sampled by a thread every period (--energy-period-ms) and integrated by the trapezoid
 * rule (cascade/energy_sampler.h, which also states the error bound).
 *
 * Two drivers, found by the names of their rails, never by fixed paths:
 *   the mainline ina3221 hwmon driver (newer JetPack, Orin): a chip under
 *   $DUALCNN_HWMON_ROOT (/sys/class/hwmon) whose name file says "ina3221", channels
 *   K = 1..3 with inK_label (the rail), inK_input (bus voltage, mV), currK_input (mA) and
 *   an optional inK_enable ("0": a disabled channel, skipped); power = V x I;
 *   the older L4T ina3221x IIO driver (Jetson Nano on JetPack 4): under
 *   $DUALCNN_INA3221X_ROOT (/sys/bus/i2c/drivers/ina3221x), <device>/iio:deviceN/ with
 *   rail_name_K and in_powerK_input (mW).
 * The mainline driver is tried first; only one driver's rails are read (both at once would
 * be the same chips twice).
 *
 * What is summed: a rail that is the board's input (named VDD_IN, POM_5V_IN, VIN, or
 * ending in "_IN" or starting with "VIN_") contains the others, so when there is one only
 * the input rails are summed and the others are reported as parts of the first; otherwise
 * every rail is summed.
 */
#include "cascade/energy.h"
#include "cascade/energy_sampler.h"
#include "cascade/sysfs.h"
#include "base/alloc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define HWMON_DEFAULT_ROOT "/sys/class/hwmon"
#define INA3221X_DEFAULT_ROOT "/sys/bus/i2c/drivers/ina3221x"
#define WHO "INA3221"
#define MAX_RAILS 64

typedef struct {
    char *id, *name;
    char *volts, *amps; /* mainline: inK_input (mV), currK_input (mA) */
    char *mw;           /* IIO: in_powerK_input (mW) */
} rail;

typedef struct {
    rail *r;
    int n;
    dc_energy_counter *counters;
    dc_sampler *sampler;
    const char *driver; /* "ina3221 hwmon" or "ina3221x IIO" */
} rails_state;

static dc_status nomem(dc_error *err)
{
    return dc_fail(err, DC_ERR_NOMEM, "INA3221: out of memory");
}

static void rails_finish(void *state)
{
    rails_state *s = state;
    if (!s)
        return;
    dc_sampler_free(s->sampler); /* first: its thread reads the paths below */
    for (int i = 0; i < s->n; i++) {
        free(s->r[i].id);
        free(s->r[i].name);
        free(s->r[i].volts);
        free(s->r[i].amps);
        free(s->r[i].mw);
    }
    free(s->r);
    free(s->counters);
    free(s);
}

/* Reads the power of every rail (the sampler's callback; runs with its mutex held). */
static dc_status read_watts(void *ctx, double *watts, dc_error *err)
{
    rails_state *s = ctx;
    for (int i = 0; i < s->n; i++) {
        const rail *r = &s->r[i];
        int64_t a = 0, b = 0;
        dc_status st;
        if (r->mw) {
            st = dc_sysfs_read_i64(WHO, r->mw, &a, err);
            if (st != DC_OK)
                return st;
            watts[i] = 1e-3 * (double)a;
        } else {
            st = dc_sysfs_read_i64(WHO, r->volts, &a, err);
            if (st == DC_OK)
                st = dc_sysfs_read_i64(WHO, r->amps, &b, err);
            if (st != DC_OK)
                return st;
            watts[i] = 1e-6 * (double)a * (double)b;
        }
    }
    return DC_OK;
}

static bool parse_numbered(const char *s, const char *prefix, long *k)
{
    size_t p = strlen(prefix);
    if (strncmp(s, prefix, p) != 0 || s[p] < '0' || s[p] > '9')
        return false;
    char *end;
    *k = strtol(s + p, &end, 10);
    return *end == '\0';
}

/* Adds a rail; takes ownership of the strings (freed on failure too). */
static dc_status add_rail(rails_state *s, char *id, char *name, char *volts, char *amps,
                          char *mw, dc_error *err)
{
    if (!id || !name || (!mw && (!volts || !amps)) || s->n == MAX_RAILS) {
        bool full = s->n == MAX_RAILS && id && name && (mw || (volts && amps));
        free(id), free(name), free(volts), free(amps), free(mw);
        return full ? dc_fail(err, DC_ERR_FORMAT, "INA3221: more than %d rails", MAX_RAILS)
                    : nomem(err);
    }
    s->r[s->n++] = (rail){ .id = id, .name = name, .volts = volts, .amps = amps, .mw = mw };
    return DC_OK;
}

/* "hwmon3/in1": a channel of a mainline chip, when enabled and complete. */
static dc_status scan_hwmon_chip(rails_state *s, const char *root, const char *entry,
                                 dc_error *err)
{
    char *dir = dc_sysfs_join(root, entry);
    if (!dir)
        return nomem(err);
    char buf[128], file[64];
    dc_error ignored;
    char *path = dc_sysfs_join(dir, "name");
    bool ina = path && dc_sysfs_read_text(WHO, path, buf, sizeof buf, &ignored) == DC_OK &&
               strcmp(buf, "ina3221") == 0;
    free(path);
    dc_status st = DC_OK;
    for (int k = 1; ina && st == DC_OK && k <= 3; k++) {
        snprintf(file, sizeof file, "in%d_enable", k);
        path = dc_sysfs_join(dir, file);
        bool off = path && dc_sysfs_read_text(WHO, path, buf, sizeof buf, &ignored) == DC_OK &&
                   strcmp(buf, "0") == 0;
        free(path);
        snprintf(file, sizeof file, "in%d_label", k);
        path = dc_sysfs_join(dir, file);
        bool labelled = path && dc_sysfs_read_text(WHO, path, buf, sizeof buf, &ignored) ==
                                    DC_OK && buf[0];
        free(path);
        if (off)
            continue;
        char v[32], c[32], id[192];
        snprintf(v, sizeof v, "in%d_input", k);
        snprintf(c, sizeof c, "curr%d_input", k);
        char *vp = dc_sysfs_join(dir, v), *cp = dc_sysfs_join(dir, c);
        if (vp && cp && access(vp, F_OK) != 0 && access(cp, F_OK) != 0) {
            free(vp), free(cp); /* no such channel */
            continue;
        }
        if (!labelled)
            snprintf(buf, sizeof buf, "%s channel %d", entry, k);
        snprintf(id, sizeof id, "%s/in%d", entry, k);
        st = add_rail(s, dc_strdup(id), dc_strdup(buf), vp, cp, NULL, err);
    }
    free(dir);
    return st;
}

static dc_status scan_hwmon(rails_state *s, const char *root, dc_error *err)
{
    DIR *d = opendir(root);
    if (!d)
        return errno == ENOENT || errno == ENOTDIR ? DC_OK
                                                   : dc_sysfs_fail_unreadable(err, WHO, root,
                                                                              errno);
    dc_status st = DC_OK;
    struct dirent *ent;
    long k;
    while (st == DC_OK && (ent = readdir(d)) != NULL)
        if (parse_numbered(ent->d_name, "hwmon", &k))
            st = scan_hwmon_chip(s, root, ent->d_name, err);
    closedir(d);
    return st;
}

/* The rails of one IIO device dir (<root>/<device>/iio:deviceN). */
static dc_status scan_iio_device(rails_state *s, const char *dir, const char *id_prefix,
                                 dc_error *err)
{
    dc_status st = DC_OK;
    for (int k = 0; st == DC_OK && k < 8; k++) {
        char file[64], name[128], id[600];
        snprintf(file, sizeof file, "rail_name_%d", k);
        char *path = dc_sysfs_join(dir, file);
        if (!path)
            return nomem(err);
        dc_error why;
        dc_status rs = dc_sysfs_read_text(WHO, path, name, sizeof name, &why);
        bool absent = rs != DC_OK && access(path, F_OK) != 0;
        free(path);
        if (absent)
            continue;
        if (rs != DC_OK) {
            *err = why;
            return rs;
        }
        snprintf(file, sizeof file, "in_power%d_input", k);
        snprintf(id, sizeof id, "%s/in_power%d", id_prefix, k);
        st = add_rail(s, dc_strdup(id), dc_strdup(name), NULL, NULL, dc_sysfs_join(dir, file),
                      err);
    }
    return st;
}

static dc_status scan_iio(rails_state *s, const char *root, dc_error *err)
{
    DIR *d = opendir(root);
    if (!d)
        return errno == ENOENT || errno == ENOTDIR ? DC_OK
                                                   : dc_sysfs_fail_unreadable(err, WHO, root,
                                                                              errno);
    dc_status st = DC_OK;
    struct dirent *ent;
    while (st == DC_OK && (ent = readdir(d)) != NULL) {
        if (ent->d_name[0] == '.')
            continue;
        char *dev = dc_sysfs_join(root, ent->d_name);
        if (!dev) {
            st = nomem(err);
            break;
        }
        DIR *dd = opendir(dev); /* the driver's own files (bind, uevent) are not dirs */
        struct dirent *sub;
        while (st == DC_OK && dd && (sub = readdir(dd)) != NULL) {
            long k;
            if (!parse_numbered(sub->d_name, "iio:device", &k))
                continue;
            char *iio = dc_sysfs_join(dev, sub->d_name);
            char id[520];
            snprintf(id, sizeof id, "%s/%s", ent->d_name, sub->d_name);
            st = iio ? scan_iio_device(s, iio, id, err) : nomem(err);
            free(iio);
        }
        if (dd)
            closedir(dd);
        free(dev);
    }
    closedir(d);
    return st;
}

static bool is_input_rail(const char *name)
{
    size_t n = strlen(name);
    return strcasecmp(name, "VDD_IN") == 0 || strcasecmp(name, "POM_5V_IN") == 0 ||
           strcasecmp(name, "VIN") == 0 || (n > 3 && strcasecmp(name + n - 3, "_IN") == 0) ||
           strncasecmp(name, "VIN_", 4) == 0;
}

static int rail_order(const void *x, const void *y)
{
    return strcmp(((const rail *)x)->id, ((const rail *)y)->id);
}

/* The counters (who is summed, who is part of whom) and the sampler. */
static dc_status describe_rails(rails_state *s, const dc_energy_opts *opts, dc_error *err)
{
    qsort(s->r, (size_t)s->n, sizeof *s->r, rail_order);
    s->counters = dc_calloc((size_t)s->n, sizeof *s->counters);
    bool *counted = dc_calloc((size_t)s->n, sizeof *counted);
    if (!s->counters || !counted) {
        free(counted);
        return nomem(err);
    }
    int input = -1;
    for (int i = 0; i < s->n && input < 0; i++)
        if (is_input_rail(s->r[i].name))
            input = i;
    for (int i = 0; i < s->n; i++) {
        bool in = is_input_rail(s->r[i].name);
        counted[i] = input < 0 || in;
        s->counters[i] = (dc_energy_counter){
            .domain = { .id = s->r[i].id, .name = s->r[i].name,
                        .parent = input >= 0 && !in ? input : -1, .counted = counted[i] },
            .max_uj = UINT64_MAX };
    }
    dc_status st = dc_sampler_init(s->n, counted, 1e-3 * opts->period_ms, read_watts, s,
                                   &s->sampler, err);
    free(counted);
    if (st != DC_OK)
        return st;
    double *probe = dc_calloc((size_t)s->n, sizeof *probe); /* every file readable now */
    st = probe ? read_watts(s, probe, err) : nomem(err);
    free(probe);
    return st;
}

static dc_status rails_init(const dc_energy_opts *opts, void **state,
                            const dc_energy_counter **counters, int *n, dc_error *err)
{
    *state = NULL;
    rails_state *s = dc_calloc(1, sizeof *s);
    if (!s || !(s->r = dc_calloc(MAX_RAILS, sizeof *s->r))) {
        free(s);
        return nomem(err);
    }
    const char *hw = dc_sysfs_root("DUALCNN_HWMON_ROOT", HWMON_DEFAULT_ROOT);
    const char *iio = dc_sysfs_root("DUALCNN_INA3221X_ROOT", INA3221X_DEFAULT_ROOT);
    dc_status st = scan_hwmon(s, hw, err);
    s->driver = "ina3221 hwmon";
    if (st == DC_OK && s->n == 0) {
        st = scan_iio(s, iio, err);
        s->driver = "ina3221x IIO";
    }
    if (st == DC_OK && s->n == 0)
        st = dc_fail(err, DC_ERR_UNSUPPORTED, "no INA3221 rails: no hwmon chip named ina3221 "
                     "under %s and no iio:device*/rail_name_* under %s (not a Jetson, or "
                     "its power monitor driver is not loaded)", hw, iio);
    if (st == DC_OK)
        st = describe_rails(s, opts, err);
    if (st != DC_OK) {
        rails_finish(s);
        return st;
    }
    *state = s;
    *counters = s->counters;
    *n = s->n;
    return DC_OK;
}

static dc_status rails_start(void *state, dc_error *err)
{
    return dc_sampler_start(((rails_state *)state)->sampler, err);
}

static dc_status rails_read(void *state, uint64_t *uj, dc_error *err)
{
    return dc_sampler_read(((rails_state *)state)->sampler, uj, err);
}

static void rails_sampling(void *state, dc_energy_sampling *out)
{
    dc_sampler_stats(((rails_state *)state)->sampler, out);
}

static void rails_describe(void *state, char *buf, size_t cap)
{
    snprintf(buf, cap, "rails of the %s driver", ((rails_state *)state)->driver);
}

const dc_energy_source dc_energy_source_ina3221 = {
    "ina3221", rails_init, rails_read, rails_finish, rails_start, rails_sampling,
    rails_describe, 0,
};
