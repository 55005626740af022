/*
 * energy_hwmon.c — the "hwmon" energy source: cumulative energy counters of Linux hwmon
 * chips, /sys/class/hwmon/hwmonN/energyM_input in microjoules, each with an optional
 * energyM_label and the chip's driver in hwmonN/name. The out-of-tree amd_energy driver
 * (AMD Zen) is the usual one: per-core counters "Ecore000".. and per-socket "Esocket0"..
 *
 * What is summed: every counter found, except that a chip with socket counters (a label
 * starting "Esocket") is read through those alone (its per-core counters are parts of
 * them, and reading hundreds of files at every poll buys nothing). A counter is 64 bits
 * wide (the drivers accumulate the hardware's 32-bit register), so a reading below the
 * previous one wraps modulo 2^64. The root is $DUALCNN_HWMON_ROOT when set, for tests.
 */
#include "cascade/energy.h"
#include "cascade/sysfs.h"
#include "base/alloc.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define HWMON_DEFAULT_ROOT "/sys/class/hwmon"
#define WHO "hwmon"

typedef struct {
    long chip, channel; /* hwmon<chip>/energy<channel>_input */
    char *id, *name, *path;
    bool socket;
} hwmon_counter;

typedef struct {
    hwmon_counter *c;
    dc_energy_counter *counters;
    int n, cap;
} hwmon_state;

static dc_status nomem(dc_error *err)
{
    return dc_fail(err, DC_ERR_NOMEM, "hwmon: out of memory");
}

/* Parses "<prefix><digits><suffix>" exactly; false for anything else. */
static bool parse_numbered(const char *s, const char *prefix, const char *suffix, long *k)
{
    size_t p = strlen(prefix);
    if (strncmp(s, prefix, p) != 0 || s[p] < '0' || s[p] > '9')
        return false;
    char *end;
    *k = strtol(s + p, &end, 10);
    return strcmp(end, suffix) == 0;
}

static void hwmon_finish(void *state)
{
    hwmon_state *s = state;
    if (!s)
        return;
    for (int i = 0; i < s->n; i++) {
        free(s->c[i].id);
        free(s->c[i].name);
        free(s->c[i].path);
    }
    free(s->c);
    free(s->counters);
    free(s);
}

/* Adds counter energy<channel>_input of chip dir (hwmon<chip>, driver `driver`). */
static dc_status add_counter(hwmon_state *s, const char *dir, const char *entry, long chip,
                             long channel, const char *driver, dc_error *err)
{
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 8;
        hwmon_counter *c = dc_realloc(s->c, (size_t)cap * sizeof *c);
        if (!c)
            return nomem(err);
        s->c = c;
        s->cap = cap;
    }
    hwmon_counter *c = &s->c[s->n];
    *c = (hwmon_counter){ .chip = chip, .channel = channel };
    s->n++; /* counted now so that hwmon_finish frees what was allocated */
    char file[64], label[128] = "", id[160], name[256];
    snprintf(file, sizeof file, "energy%ld_input", channel);
    if (!(c->path = dc_sysfs_join(dir, file)))
        return nomem(err);
    snprintf(file, sizeof file, "energy%ld_label", channel);
    char *label_path = dc_sysfs_join(dir, file);
    if (!label_path)
        return nomem(err);
    dc_error ignored;
    if (dc_sysfs_read_text(WHO, label_path, label, sizeof label, &ignored) != DC_OK)
        label[0] = '\0'; /* labels are optional */
    free(label_path);
    snprintf(id, sizeof id, "%s/energy%ld_input", entry, channel);
    if (label[0])
        snprintf(name, sizeof name, "%s %s", driver, label);
    else
        snprintf(name, sizeof name, "%s energy%ld", driver, channel);
    c->socket = strncmp(label, "Esocket", 7) == 0;
    if (!(c->id = dc_strdup(id)) || !(c->name = dc_strdup(name)))
        return nomem(err);
    return DC_OK;
}

/* Adds the energy counters of one chip directory. */
static dc_status scan_chip(hwmon_state *s, const char *root, const char *entry, long chip,
                           dc_error *err)
{
    char *dir = dc_sysfs_join(root, entry), *name_path = dir ? dc_sysfs_join(dir, "name") : NULL;
    if (!dir || !name_path) {
        free(dir);
        return nomem(err);
    }
    char driver[64];
    dc_error ignored;
    if (dc_sysfs_read_text(WHO, name_path, driver, sizeof driver, &ignored) != DC_OK ||
        !driver[0])
        snprintf(driver, sizeof driver, "%s", entry);
    free(name_path);
    DIR *d = opendir(dir);
    dc_status st = DC_OK;
    if (!d) {
        if (errno != ENOENT && errno != ENOTDIR)
            st = dc_sysfs_fail_unreadable(err, WHO, dir, errno);
        free(dir);
        return st;
    }
    int first = s->n;
    struct dirent *ent;
    while (st == DC_OK && (ent = readdir(d)) != NULL) {
        long channel;
        if (parse_numbered(ent->d_name, "energy", "_input", &channel))
            st = add_counter(s, dir, entry, chip, channel, driver, err);
    }
    closedir(d);
    free(dir);
    bool sockets = false;
    for (int i = first; i < s->n; i++)
        sockets |= s->c[i].socket;
    for (int i = first; st == DC_OK && sockets && i < s->n; i++) {
        if (s->c[i].socket)
            continue;
        free(s->c[i].id); /* a core counter: part of its socket's */
        free(s->c[i].name);
        free(s->c[i].path);
        s->c[i--] = s->c[--s->n];
    }
    return st;
}

static int counter_order(const void *x, const void *y)
{
    const hwmon_counter *p = x, *q = y;
    if (p->chip != q->chip)
        return p->chip < q->chip ? -1 : 1;
    return p->channel < q->channel ? -1 : p->channel > q->channel;
}

static dc_status hwmon_read(void *state, uint64_t *uj, dc_error *err)
{
    hwmon_state *s = state;
    for (int i = 0; i < s->n; i++) {
        dc_status st = dc_sysfs_read_u64(WHO, s->c[i].path, &uj[i], err);
        if (st != DC_OK)
            return st;
    }
    return DC_OK;
}

/* Finds the counters under root and reads each once. */
static dc_status scan_root(hwmon_state *s, const char *root, dc_error *err)
{
    DIR *d = opendir(root);
    if (!d)
        return errno == ENOENT || errno == ENOTDIR
                   ? dc_fail(err, DC_ERR_UNSUPPORTED, "no hwmon: %s not found", root)
                   : dc_sysfs_fail_unreadable(err, WHO, root, errno);
    dc_status st = DC_OK;
    struct dirent *ent;
    while (st == DC_OK && (ent = readdir(d)) != NULL) {
        long chip;
        if (parse_numbered(ent->d_name, "hwmon", "", &chip))
            st = scan_chip(s, root, ent->d_name, chip, err);
    }
    closedir(d);
    if (st == DC_OK && s->n == 0)
        return dc_fail(err, DC_ERR_UNSUPPORTED, "no hwmon energy counters under %s (no "
                       "hwmon*/energy*_input: the amd_energy driver is not loaded, or this "
                       "machine has none)", root);
    if (st != DC_OK)
        return st;
    qsort(s->c, (size_t)s->n, sizeof *s->c, counter_order);
    s->counters = dc_calloc((size_t)s->n, sizeof *s->counters);
    uint64_t *probe = dc_calloc((size_t)s->n, sizeof *probe);
    if (!s->counters || !probe)
        st = nomem(err);
    for (int i = 0; st == DC_OK && i < s->n; i++)
        s->counters[i] = (dc_energy_counter){
            .domain = { .id = s->c[i].id, .name = s->c[i].name, .parent = -1,
                        .counted = true },
            .max_uj = UINT64_MAX };
    if (st == DC_OK)
        st = hwmon_read(s, probe, err);
    free(probe);
    return st;
}

static dc_status hwmon_init(const dc_energy_opts *opts, void **state,
                            const dc_energy_counter **counters, int *n, dc_error *err)
{
    (void)opts;
    *state = NULL;
    hwmon_state *s = dc_calloc(1, sizeof *s);
    if (!s)
        return nomem(err);
    dc_status st = scan_root(s, dc_sysfs_root("DUALCNN_HWMON_ROOT", HWMON_DEFAULT_ROOT), err);
    if (st != DC_OK) {
        hwmon_finish(s);
        return st;
    }
    *state = s;
    *counters = s->counters;
    *n = s->n;
    return DC_OK;
}

const dc_energy_source dc_energy_source_hwmon = { "hwmon", hwmon_init, hwmon_read,
                                                   hwmon_finish, NULL, NULL, NULL, 0 };
