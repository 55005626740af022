/*
 * dataset.c — the dataset API of dataset.h: kind detection, split directories, the
 * accessors, and the one place that turns a sample index into an image. The formats
 * themselves are read by dataset_cifar.c, dataset_idx.c and dataset_folder.c.
 */
#include "loaders/dataset.h"
#include "base/alloc.h"
#include "loaders/preprocess.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DC_INTEL_SIZE 32 /* the paper resized Intel images to 32 x 32 when loading them */

/* ---- helpers shared by the readers -------------------------------------- */

bool dc_dataset_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool dc_dataset_is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

char *dc_dataset_join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    while (la > 1 && a[la - 1] == '/')
        la--;
    char *s = dc_malloc(la + lb + 2);
    if (!s)
        return NULL;
    memcpy(s, a, la);
    s[la] = '/';
    memcpy(s + la + 1, b, lb + 1);
    return s;
}

dc_status dc_dataset_set_classes(dc_dataset *ds, const char *const *names, int n,
                                 dc_error *err)
{
    ds->class_names = dc_calloc((size_t)(n > 0 ? n : 1), sizeof *ds->class_names);
    if (!ds->class_names)
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", ds->root);
    ds->num_classes = n;
    for (int i = 0; i < n; i++) {
        ds->class_names[i] = dc_strdup(names[i]);
        if (!ds->class_names[i])
            return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", ds->root);
    }
    return DC_OK;
}

/* Whether "<dir>/<name>" is a directory (is_dir true) or a regular file. */
static bool dc_dataset_has(const char *dir, const char *name, bool is_dir)
{
    char *p = dc_dataset_join(dir, name);
    bool yes = p && (is_dir ? dc_dataset_is_dir(p) : dc_dataset_is_file(p));
    free(p);
    return yes;
}

/* ---- kind detection ----------------------------------------------------- */

static bool dc_dataset_looks_cifar(const char *dir)
{
    static const char *const names[] = { "test_batch.bin", "data_batch_1.bin", "test_batch",
                                         "data_batch_1" };
    if (dc_dataset_has(dir, "cifar-10-batches-bin", true) ||
        dc_dataset_has(dir, "cifar-10-batches-py", true))
        return true;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (dc_dataset_has(dir, names[i], false))
            return true;
    return false;
}

static bool dc_dataset_looks_idx(const char *dir)
{
    static const char *const subdirs[] = { ".", "FashionMNIST/raw", "raw" };
    static const char *const names[] = { "t10k-images-idx3-ubyte", "t10k-images-idx3-ubyte.gz",
                                         "train-images-idx3-ubyte",
                                         "train-images-idx3-ubyte.gz" };
    for (size_t s = 0; s < sizeof subdirs / sizeof subdirs[0]; s++) {
        char *d = dc_dataset_join(dir, subdirs[s]);
        bool yes = false;
        for (size_t i = 0; d && !yes && i < sizeof names / sizeof names[0]; i++)
            yes = dc_dataset_has(d, names[i], false);
        free(d);
        if (yes)
            return true;
    }
    return false;
}

/* Counts the sub-directories of dir (names starting with '.' skipped); *intel is set when
 * they are exactly Intel's six classes. */
static int dc_dataset_count_subdirs(const char *dir, bool *intel)
{
    static const char *const classes[] = { "buildings", "forest", "glacier", "mountain", "sea",
                                           "street" };
    *intel = false;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0, known = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !dc_dataset_has(dir, e->d_name, true))
            continue;
        n++;
        for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
            known += strcmp(e->d_name, classes[i]) == 0;
    }
    closedir(d);
    *intel = n == 6 && known == 6;
    return n;
}

static dc_status dc_dataset_detect(const char *path, const char **kind, dc_error *err)
{
    bool intel;
    if (dc_dataset_looks_cifar(path))
        *kind = "cifar10";
    else if (dc_dataset_looks_idx(path))
        *kind = "fashionmnist";
    else if (dc_dataset_has(path, "seg_train", true) || dc_dataset_has(path, "seg_test", true))
        *kind = "intel";
    else if (dc_dataset_count_subdirs(path, &intel) > 0)
        *kind = intel ? "intel" : "imagenet";
    else
        return dc_fail(err, DC_ERR_ARG, "%s: not a dataset directory: it holds no "
                       "cifar-10-batches-bin/ or cifar-10-batches-py/, no FashionMNIST IDX "
                       "files and no class folders", path);
    return DC_OK;
}

/* ---- split directories of folder trees ---------------------------------- */

/* Intel: <path>/seg_X/seg_X, else <path>/seg_X, else <path>/<name> when path is itself
 * seg_something holding a folder of its own name, else path itself as the tree. */
static char *dc_dataset_intel_root(const char *path, bool train, dc_error *err)
{
    const char *split = train ? "seg_train" : "seg_test";
    char *one = dc_dataset_join(path, split);
    char *two = one ? dc_dataset_join(one, split) : NULL;
    char *pick = NULL;
    if (!one || !two) {
        dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", path);
    } else if (dc_dataset_is_dir(two)) {
        pick = two;
        two = NULL;
    } else if (dc_dataset_is_dir(one)) {
        pick = one;
        one = NULL;
    } else {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        if (strncmp(base, "seg_", 4) == 0 && dc_dataset_has(path, base, true))
            pick = dc_dataset_join(path, base);
        else if (dc_dataset_has(path, "seg_train", true) || dc_dataset_has(path, "seg_test", true))
            dc_fail(err, DC_ERR_IO, "%s: no %s/ directory (the %s split of the Intel dataset)",
                    path, split, train ? "training" : "test");
        else
            pick = dc_strdup(path);
        if (!pick && err && err->code == DC_OK)
            dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", path);
    }
    free(one);
    free(two);
    return pick;
}

/* ImageNet: <path>/train or <path>/val when there, else path itself. */
static char *dc_dataset_imagenet_root(const char *path, bool train, dc_error *err)
{
    const char *split = train ? "train" : "val";
    const char *other = train ? "val" : "train";
    char *pick = NULL;
    if (dc_dataset_has(path, split, true))
        pick = dc_dataset_join(path, split);
    else if (dc_dataset_has(path, other, true))
        return dc_fail(err, DC_ERR_IO, "%s: has %s/ but no %s/", path, other, split), NULL;
    else
        pick = dc_strdup(path);
    if (!pick)
        dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", path);
    return pick;
}

/* ---- the API ------------------------------------------------------------ */

dc_status dc_dataset_open(const char *path, const char *kind, bool train, dc_dataset **out,
                          dc_error *err)
{
    return dc_dataset_open_first(path, kind, train, 0, out, err);
}

dc_status dc_dataset_open_first(const char *path, const char *kind, bool train,
                                int max_samples, dc_dataset **out, dc_error *err)
{
    *out = NULL;
    dc_error local = { 0 };
    if (!err)
        err = &local;
    err->code = DC_OK;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return dc_fail(err, DC_ERR_IO, "%s: cannot open the dataset: %s", path,
                       strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return dc_fail(err, DC_ERR_IO, "%s: not a directory (a dataset is a directory)", path);
    dc_status st = DC_OK;
    if (!kind && (st = dc_dataset_detect(path, &kind, err)) != DC_OK)
        return st;
    if (strcmp(kind, "cifar10") != 0 && strcmp(kind, "fashionmnist") != 0 &&
        strcmp(kind, "imagenet") != 0 && strcmp(kind, "intel") != 0)
        return dc_fail(err, DC_ERR_ARG, "unknown dataset kind '%s' (cifar10, fashionmnist, "
                       "imagenet or intel)", kind);
    dc_dataset *ds = dc_calloc(1, sizeof *ds);
    if (!ds)
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", path);
    snprintf(ds->kind, sizeof ds->kind, "%s", kind);
    ds->want = max_samples > 0 ? max_samples : 0;
    if (strcmp(kind, "cifar10") == 0) {
        st = dc_dataset_read_cifar(ds, path, train, err);
    } else if (strcmp(kind, "fashionmnist") == 0) {
        st = dc_dataset_read_idx(ds, path, train, err);
    } else {
        bool intel = strcmp(kind, "intel") == 0;
        char *root = intel ? dc_dataset_intel_root(path, train, err)
                           : dc_dataset_imagenet_root(path, train, err);
        if (!root) {
            st = err->code != DC_OK ? err->code : DC_ERR_NOMEM;
        } else {
            st = dc_dataset_read_folder(ds, root, err);
            free(root);
        }
        if (intel)
            ds->resize_w = ds->resize_h = DC_INTEL_SIZE;
    }
    if (st != DC_OK) {
        dc_dataset_close(ds);
        return st;
    }
    *out = ds;
    return DC_OK;
}

dc_status dc_dataset_keep(dc_dataset *ds, int first, int count, dc_error *err)
{
    if (first < 0 || first >= ds->count)
        return dc_fail(err, DC_ERR_ARG, "%s: cannot skip %d samples: the split has %d", ds->root,
                       first, ds->count);
    if (count <= 0 || count > ds->count - first)
        count = ds->count - first;
    if (ds->files) {
        for (int i = 0; i < ds->count; i++)
            if (i < first || i >= first + count)
                free(ds->files[i]);
        memmove(ds->files, ds->files + first, (size_t)count * sizeof *ds->files);
    }
    if (ds->pixels) {
        size_t bytes = (size_t)ds->w * ds->h * ds->c;
        memmove(ds->pixels, ds->pixels + bytes * (size_t)first, bytes * (size_t)count);
    }
    memmove(ds->labels, ds->labels + first, (size_t)count * sizeof *ds->labels);
    ds->count = count;
    return DC_OK;
}

void dc_dataset_close(dc_dataset *ds)
{
    if (!ds)
        return;
    for (int i = 0; ds->class_names && i < ds->num_classes; i++)
        free(ds->class_names[i]);
    free(ds->class_names);
    for (int i = 0; ds->files && i < ds->count; i++)
        free(ds->files[i]);
    free(ds->files);
    free(ds->labels);
    free(ds->pixels);
    free(ds->root);
    free(ds);
}

const char *dc_dataset_kind(const dc_dataset *ds)
{
    return ds->kind;
}

const char *dc_dataset_root(const dc_dataset *ds)
{
    return ds->root;
}

int dc_dataset_count(const dc_dataset *ds)
{
    return ds->count;
}

int dc_dataset_num_classes(const dc_dataset *ds)
{
    return ds->num_classes;
}

const char *dc_dataset_class_name(const dc_dataset *ds, int i)
{
    return (i >= 0 && i < ds->num_classes) ? ds->class_names[i] : NULL;
}

int dc_dataset_label(const dc_dataset *ds, int i)
{
    return (i >= 0 && i < ds->count) ? ds->labels[i] : -1;
}

const char *dc_dataset_file(const dc_dataset *ds, int i)
{
    return (ds->files && i >= 0 && i < ds->count) ? ds->files[i] : NULL;
}

dc_status dc_dataset_image(const dc_dataset *ds, int i, dc_image *out, dc_error *err)
{
    memset(out, 0, sizeof *out);
    if (i < 0 || i >= ds->count)
        return dc_fail(err, DC_ERR_ARG, "%s: sample %d is out of range (0..%d)", ds->root, i,
                       ds->count - 1);
    if (ds->pixels) {
        size_t bytes = (size_t)ds->w * ds->h * ds->c;
        out->data = dc_malloc(bytes);
        if (!out->data)
            return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", ds->root);
        memcpy(out->data, ds->pixels + bytes * (size_t)i, bytes);
        out->w = ds->w;
        out->h = ds->h;
        out->c = ds->c;
        return DC_OK;
    }
    dc_status st = dc_image_load(ds->files[i], out, err);
    if (st != DC_OK || ds->resize_w == 0)
        return st;
    dc_image small;
    st = dc_resize_pil(out, ds->resize_w, ds->resize_h, DC_PIL_BICUBIC, &small, err);
    dc_image_free(out);
    if (st == DC_OK)
        *out = small;
    return st;
}
