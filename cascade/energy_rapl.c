/*
 * energy_rapl.c — the "rapl" energy source: the CPU's RAPL counters through the Linux
 * powercap sysfs tree (cascade/energy.h says which zones are summed and why).
 *
 * The tree, as the intel_rapl driver lays it out under /sys/class/powercap (Intel and AMD):
 *     intel-rapl/                 the control type (ignored)
 *     intel-rapl:0/               name "package-0", energy_uj, max_energy_range_uj
 *     intel-rapl:0:0/             name "core"    (a subzone of package 0)
 *     intel-rapl:0:1/             name "uncore"
 *     intel-rapl:0:2/             name "dram"
 *     intel-rapl:1/               name "package-1" ... or "psys" (top-level, not a package)
 *     intel-rapl-mmio:0/          the same package through MMIO (client CPUs): ignored
 * /sys/class/powercap lists every zone flat; under /sys/devices/virtual/powercap subzones
 * nest inside their parent. Both layouts are read. Only one tree is used: intel-rapl, else
 * intel-rapl-tpmi (newer Xeons), else intel-rapl-mmio, the first that has a package zone.
 *
 * Every file is opened, read and closed at each reading (a poll every few seconds costs a
 * few microseconds), so a counter replaced by a new file (as tests do) is always seen.
 * Since Linux 5.10 energy_uj is readable by root only (CVE-2020-8694); the error says so.
 */
#include "cascade/energy.h"
#include "cascade/sysfs.h"
#include "base/alloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RAPL_DEFAULT_ROOT "/sys/class/powercap"

typedef struct {
    long a, b;       /* <prefix>:a (b = -1) or <prefix>:a:b */
    char *dir;       /* the zone's directory */
    char *id, *name; /* directory name, contents of the name file */
    char *energy;    /* path of energy_uj */
} rapl_zone;

typedef struct {
    rapl_zone *zones;
    dc_energy_counter *counters;
    int n, cap;
} rapl_state;

static const char *const rapl_trees[] = { "intel-rapl", "intel-rapl-tpmi", "intel-rapl-mmio" };

/* ---- small helpers (the file readers are cascade/sysfs.c's) ------------------------- */

#define join dc_sysfs_join

/* Fails with "RAPL unreadable: path: strerror(e)", and, for a permission error, the RAPL
 * reason: since Linux 5.10 only root may read energy_uj. */
static dc_status fail_unreadable(dc_error *err, const char *path, int e)
{
    if (e != EACCES && e != EPERM)
        return dc_sysfs_fail_unreadable(err, "RAPL", path, e);
    return dc_fail(err, DC_ERR_IO, "RAPL unreadable: %s: %s (try running as root, or chmod "
                   "a+r the energy_uj files: since Linux 5.10 only root may read them)", path,
                   strerror(e));
}

static dc_status read_text(const char *path, char *buf, size_t cap, dc_error *err)
{
    dc_status st = dc_sysfs_read_text("RAPL", path, buf, cap, err);
    if (st == DC_ERR_IO && err && strstr(err->msg, "Permission denied"))
        return fail_unreadable(err, path, EACCES); /* with the RAPL reason */
    return st;
}

static dc_status read_u64(const char *path, uint64_t *v, dc_error *err)
{
    dc_status st = dc_sysfs_read_u64("RAPL", path, v, err);
    if (st == DC_ERR_IO && err && strstr(err->msg, "Permission denied"))
        return fail_unreadable(err, path, EACCES);
    return st;
}

static const char *powercap_root(void)
{
    return dc_sysfs_root("DUALCNN_POWERCAP_ROOT", RAPL_DEFAULT_ROOT);
}

/* Parses "<prefix>:a" or "<prefix>:a:b"; false for anything else (intel-rapl-mmio:0 does
 * not match the prefix intel-rapl, since the character after it is not ':'). */
static bool parse_zone_name(const char *s, const char *prefix, long *a, long *b)
{
    size_t p = strlen(prefix);
    if (strncmp(s, prefix, p) != 0 || s[p] != ':')
        return false;
    const char *q = s + p + 1;
    long v[2] = { -1, -1 };
    for (int k = 0; k < 2; k++) {
        if (*q < '0' || *q > '9')
            return false;
        char *end;
        v[k] = strtol(q, &end, 10);
        q = end;
        if (*q == '\0')
            break;
        if (*q != ':' || k == 1)
            return false;
        q++;
    }
    *a = v[0];
    *b = v[1];
    return true;
}

/* ---- discovering the zones ----------------------------------------------------------- */

static void free_zones(rapl_state *s)
{
    for (int i = 0; i < s->n; i++) {
        free(s->zones[i].dir);
        free(s->zones[i].id);
        free(s->zones[i].name);
        free(s->zones[i].energy);
    }
    free(s->zones);
    free(s->counters);
    s->zones = NULL;
    s->counters = NULL;
    s->n = s->cap = 0;
}

static bool has_zone(const rapl_state *s, long a, long b)
{
    for (int i = 0; i < s->n; i++)
        if (s->zones[i].a == a && s->zones[i].b == b)
            return true;
    return false;
}

static dc_status add_zone(rapl_state *s, const char *dir, const char *entry, long a, long b,
                          dc_error *err)
{
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 8;
        rapl_zone *z = dc_realloc(s->zones, (size_t)cap * sizeof *z);
        if (!z)
            return dc_fail(err, DC_ERR_NOMEM, "RAPL: out of memory");
        s->zones = z;
        s->cap = cap;
    }
    rapl_zone *z = &s->zones[s->n];
    *z = (rapl_zone){ .a = a, .b = b, .dir = join(dir, entry), .id = dc_strdup(entry) };
    s->n++; /* counted now so that free_zones frees what was allocated */
    if (!z->dir || !z->id || !(z->energy = join(z->dir, "energy_uj")))
        return dc_fail(err, DC_ERR_NOMEM, "RAPL: out of memory");
    return DC_OK;
}

/* Adds the zones of tree `prefix` found directly in dir: top-level zones when parent < 0,
 * else only subzones of zone number parent (the nested layout). A directory that cannot be
 * listed adds nothing (ENOENT) or fails (anything else). */
static dc_status scan_dir(rapl_state *s, const char *dir, const char *prefix, long parent,
                          dc_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT || errno == ENOTDIR ? DC_OK : fail_unreadable(err, dir, errno);
    dc_status st = DC_OK;
    struct dirent *ent;
    while (st == DC_OK && (ent = readdir(d)) != NULL) {
        long a, b;
        if (!parse_zone_name(ent->d_name, prefix, &a, &b) || (parent >= 0 && a != parent))
            continue;
        if (!has_zone(s, a, b))
            st = add_zone(s, dir, ent->d_name, a, b, err);
    }
    closedir(d);
    return st;
}

static int zone_order(const void *x, const void *y)
{
    const rapl_zone *p = x, *q = y;
    if (p->a != q->a)
        return p->a < q->a ? -1 : 1;
    return p->b < q->b ? -1 : p->b > q->b;
}

/* Finds the zones of one tree under root, flat (/sys/class/powercap) or nested
 * (/sys/devices/virtual/powercap: root/<prefix>/<prefix>:0/<prefix>:0:0). */
static dc_status scan_tree(rapl_state *s, const char *root, const char *prefix, dc_error *err)
{
    dc_status st = scan_dir(s, root, prefix, -1, err);
    if (st == DC_OK && s->n == 0) {
        char *nested = join(root, prefix);
        st = nested ? scan_dir(s, nested, prefix, -1, err)
                    : dc_fail(err, DC_ERR_NOMEM, "RAPL: out of memory");
        free(nested);
    }
    int tops = s->n;
    for (int i = 0; st == DC_OK && i < tops; i++) {
        if (s->zones[i].b >= 0)
            continue;
        char *dir = dc_strdup(s->zones[i].dir); /* add_zone may move s->zones */
        st = dir ? scan_dir(s, dir, prefix, s->zones[i].a, err)
                 : dc_fail(err, DC_ERR_NOMEM, "RAPL: out of memory");
        free(dir);
    }
    if (st == DC_OK && s->n > 1)
        qsort(s->zones, (size_t)s->n, sizeof *s->zones, zone_order);
    return st;
}

static bool is_package(const rapl_zone *z)
{
    return z->b < 0 && strncmp(z->name, "package", 7) == 0;
}

/* Reads every zone's name, checks its counters can be read and fills the counters. */
static dc_status describe_zones(rapl_state *s, bool *has_package, dc_error *err)
{
    *has_package = false;
    s->counters = dc_calloc((size_t)s->n, sizeof *s->counters);
    if (!s->counters)
        return dc_fail(err, DC_ERR_NOMEM, "RAPL: out of memory");
    for (int i = 0; i < s->n; i++) {
        rapl_zone *z = &s->zones[i];
        char buf[128];
        char *path = join(z->dir, "name");
        dc_status st = path ? read_text(path, buf, sizeof buf, err)
                            : dc_fail(err, DC_ERR_NOMEM, "RAPL: out of memory");
        free(path);
        if (st != DC_OK)
            return st;
        if (!(z->name = dc_strdup(buf)))
            return dc_fail(err, DC_ERR_NOMEM, "RAPL: out of memory");
        *has_package |= is_package(z);
    }
    for (int i = 0; i < s->n; i++) {
        rapl_zone *z = &s->zones[i];
        dc_energy_counter *c = &s->counters[i];
        c->domain = (dc_energy_domain){ .id = z->id, .name = z->name, .parent = -1 };
        for (int j = 0; j < s->n && z->b >= 0; j++)
            if (s->zones[j].b < 0 && s->zones[j].a == z->a)
                c->domain.parent = j;
        c->domain.counted = is_package(z) || strcmp(z->name, "dram") == 0;
        char *max_path = join(z->dir, "max_energy_range_uj");
        uint64_t now;
        dc_status st = max_path ? read_u64(max_path, &c->max_uj, err)
                                : dc_fail(err, DC_ERR_NOMEM, "RAPL: out of memory");
        free(max_path);
        if (st == DC_OK)
            st = read_u64(z->energy, &now, err);
        if (st != DC_OK)
            return st;
    }
    return DC_OK;
}

/* ---- the source ---------------------------------------------------------------------- */

static dc_status rapl_read(void *state, uint64_t *uj, dc_error *err)
{
    rapl_state *s = state;
    for (int i = 0; i < s->n; i++) {
        dc_status st = read_u64(s->zones[i].energy, &uj[i], err);
        if (st != DC_OK)
            return st;
    }
    return DC_OK;
}

static void rapl_finish(void *state)
{
    if (!state)
        return;
    free_zones(state);
    free(state);
}

static dc_status rapl_init(const dc_energy_opts *opts, void **state,
                           const dc_energy_counter **counters, int *n, dc_error *err)
{
    (void)opts;
    *state = NULL;
    const char *root = powercap_root();
    struct stat sb;
    if (stat(root, &sb) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return dc_fail(err, DC_ERR_UNSUPPORTED, "no RAPL: %s not found (no powercap "
                           "sysfs here: a virtual machine, a container, or another CPU?)",
                           root);
        return fail_unreadable(err, root, errno);
    }
    rapl_state *s = dc_calloc(1, sizeof *s);
    if (!s)
        return dc_fail(err, DC_ERR_NOMEM, "RAPL: out of memory");
    char others[160] = ""; /* zones of trees without a package, for the message */
    dc_status st = DC_OK;
    bool found = false;
    for (size_t t = 0; st == DC_OK && !found && t < sizeof rapl_trees / sizeof *rapl_trees;
         t++) {
        free_zones(s);
        st = scan_tree(s, root, rapl_trees[t], err);
        if (st == DC_OK && s->n > 0)
            st = describe_zones(s, &found, err);
        for (int i = 0; st == DC_OK && !found && i < s->n; i++) {
            size_t len = strlen(others);
            snprintf(others + len, sizeof others - len, "%s%s %s", len ? ", " : "",
                     s->zones[i].id, s->zones[i].name);
        }
    }
    if (st == DC_OK && !found)
        st = others[0] ? dc_fail(err, DC_ERR_UNSUPPORTED, "no RAPL package domain under %s "
                                 "(found only: %s)", root, others)
                       : dc_fail(err, DC_ERR_UNSUPPORTED, "no RAPL: %s/intel-rapl:0 not "
                                 "found (the intel_rapl driver is not loaded, or this CPU "
                                 "or virtual machine has no RAPL)", root);
    if (st != DC_OK) {
        rapl_finish(s);
        return st;
    }
    *state = s;
    *counters = s->counters;
    *n = s->n;
    return DC_OK;
}

const dc_energy_source dc_energy_source_rapl = { "rapl", rapl_init, rapl_read, rapl_finish,
                                                  NULL, NULL, NULL, 0 };
