/*
 * convert_meta.c — the metadata of `dualcnn convert` (see convert.h). The dataset table
 * is tools/export_weights.py's DATASETS, value for value, so that both write the same
 * attributes.
 */
#include "cli/convert.h"
#include "loaders/imagenet_classes.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define CHENYAOFO_RELEASES "https://github.com/chenyaofo/pytorch-cifar-models/releases/download/"

static const char *const cifar10_names[] = {
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck"
};
static const char *const fashionmnist_names[] = {
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot"
};
static const char *const intel_names[] = {
    "buildings",
    "forest",
    "glacier",
    "mountain",
    "sea",
    "street"
};

static const cli_dataset_defaults datasets[] = {
    { "cifar10", { 3, 32, 32 }, { 0.4914, 0.4822, 0.4465 }, { 0.2023, 0.1994, 0.2010 },
      cifar10_names, 10 },
    { "fashionmnist", { 3, 32, 32 }, { 0.2856, 0.2856, 0.2856 }, { 0.3385, 0.3385, 0.3385 },
      fashionmnist_names, 10 },
    { "intel", { 3, 32, 32 }, { 0.4302, 0.4575, 0.4539 }, { 0.2386, 0.2377, 0.2733 },
      intel_names, 6 },
    { "imagenet", { 3, 224, 224 }, { 0.485, 0.456, 0.406 }, { 0.229, 0.224, 0.225 },
      dc_imagenet_classes, DC_IMAGENET_CLASSES },
};

const cli_dataset_defaults *cli_convert_dataset(const char *name)
{
    for (size_t i = 0; i < sizeof datasets / sizeof datasets[0]; i++)
        if (strcmp(datasets[i].name, name) == 0)
            return &datasets[i];
    return NULL;
}

const char *cli_convert_dataset_names(void)
{
    return "cifar10, fashionmnist, intel, imagenet";
}

const char *cli_convert_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* ---- the architecture a file name stands for ----------------------------- */

/* The zoo entry named by the len characters at name, or NULL. */
static const dc_zoo_entry *find_prefix(const char *name, size_t len)
{
    for (int i = 0; i < dc_zoo_count(); i++) {
        const dc_zoo_entry *e = dc_zoo_at(i);
        if (strlen(e->name) == len && strncmp(e->name, name, len) == 0)
            return e;
    }
    return NULL;
}

const dc_zoo_entry *cli_convert_arch_from_file(const char *path)
{
    const char *base = cli_convert_basename(path);
    for (int i = 0; i < dc_zoo_count(); i++) {
        const dc_zoo_entry *e = dc_zoo_at(i);
        if (e->weights_url && strcmp(cli_convert_basename(e->weights_url), base) == 0)
            return e;
    }
    /* [cifar10_]<arch>[-<hash>].<ext> */
    const char *start = strncmp(base, "cifar10_", 8) == 0 ? base + 8 : base;
    const char *dot = strrchr(start, '.');
    size_t len = dot ? (size_t)(dot - start) : strlen(start);
    const char *dash = memchr(start, '-', len);
    if (dash) {
        size_t hex = 0;
        while (dash + 1 + hex < start + len && isxdigit((unsigned char)dash[1 + hex]))
            hex++;
        if (hex < 6 || dash + 1 + hex != start + len)
            return NULL;
        len = (size_t)(dash - start);
    }
    return find_prefix(start, len);
}

void cli_convert_default_source(const dc_zoo_entry *e, const char *dataset, const char *path,
                                char *buf, size_t cap)
{
    const char *base = cli_convert_basename(path);
    size_t an = strlen(e->name), bn = strlen(base);
    /* cifar10_<arch>-[0-9a-f]{8}.pt */
    bool official = strcmp(dataset, "cifar10") == 0 && strcmp(e->dataset, "cifar10") == 0 &&
                    bn == 8 + an + 1 + 8 + 3 && strncmp(base, "cifar10_", 8) == 0 &&
                    strncmp(base + 8, e->name, an) == 0 && base[8 + an] == '-' &&
                    strcmp(base + bn - 3, ".pt") == 0;
    for (size_t i = 0; official && i < 8; i++) {
        char c = base[8 + an + 1 + i];
        official = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    }
    if (official)
        snprintf(buf, cap, "%s%s/%s", CHENYAOFO_RELEASES, e->family, base);
    else
        snprintf(buf, cap, "converted from %s", base);
}

/* ---- close names ---------------------------------------------------------- */

/* Lower case, without '_', '-' and '.' (at most cap - 1 characters). */
static void normalise(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; *s && n + 1 < cap; s++)
        if (*s != '_' && *s != '-' && *s != '.')
            out[n++] = (char)tolower((unsigned char)*s);
    out[n] = '\0';
}

/* Levenshtein distance (both strings shorter than 64). */
static size_t edit_distance(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b), row[64];
    for (size_t j = 0; j <= nb; j++)
        row[j] = j;
    for (size_t i = 1; i <= na; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[nb];
}

void cli_convert_close_names(const char *name, char *buf, size_t cap)
{
    char q[64], n[64];
    normalise(name, q, sizeof q);
    /* a common start of max(4, len - 2) characters (the whole name when shorter, but at
     * least 3), or at most two edits */
    size_t qn = strlen(q), need = qn > 6 ? qn - 2 : 4, at = 0, shown = 0;
    if (need > qn)
        need = qn;
    if (need < 3)
        need = 3;
    buf[0] = '\0';
    for (int i = 0; i < dc_zoo_count() && at + 1 < cap; i++) {
        const dc_zoo_entry *e = dc_zoo_at(i);
        normalise(e->name, n, sizeof n);
        size_t cp = 0;
        while (q[cp] && q[cp] == n[cp])
            cp++;
        if (cp < need && edit_distance(q, n) > 2)
            continue;
        if (shown == 10) {
            snprintf(buf + at, cap - at, ", ...");
            return;
        }
        int w = snprintf(buf + at, cap - at, "%s%s%s", shown ? ", " : "", e->name,
                         strcmp(e->dataset, "cifar10") == 0 ? " (CIFAR-10)" : "");
        if (w < 0)
            return;
        at += (size_t)w < cap - at ? (size_t)w : cap - at - 1;
        shown++;
    }
}
