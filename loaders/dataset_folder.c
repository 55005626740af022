/*
 * dataset_folder.c — class-per-folder trees of PNG and JPEG files (ImageNet validation,
 * Intel Image Classification), as torchvision's ImageFolder sees them: the classes are the
 * sub-directories in sorted order, a sample's label is its folder's index. Only the sorted
 * list of files is kept; images are decoded on demand by dc_dataset_image.
 */
#include "loaders/dataset.h"
#include "base/alloc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A growable list of names. */
typedef struct {
    char **items;
    size_t n, cap;
} dc_names;

static void dc_names_free(dc_names *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    memset(l, 0, sizeof *l);
}

static bool dc_names_add(dc_names *l, const char *s)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char **p = dc_realloc(l->items, cap * sizeof *p);
        if (!p)
            return false;
        l->items = p;
        l->cap = cap;
    }
    if (!(l->items[l->n] = dc_strdup(s)))
        return false;
    l->n++;
    return true;
}

static int dc_names_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Whether name ends in .png, .jpg or .jpeg, in any case. */
static bool dc_folder_is_image(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && dot != name &&
           (strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".jpg") == 0 ||
            strcasecmp(dot, ".jpeg") == 0);
}

/* The entries of dir that are directories (want_dirs) or image files, skipping names that
 * start with '.', in strcmp order. */
static dc_status dc_folder_list(const char *dir, bool want_dirs, dc_names *out, dc_error *err)
{
    memset(out, 0, sizeof *out);
    DIR *d = opendir(dir);
    if (!d)
        return dc_fail(err, DC_ERR_IO, "%s: cannot open the directory: %s", dir,
                       strerror(errno));
    dc_status st = DC_OK;
    struct dirent *e;
    errno = 0;
    while (st == DC_OK && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || (!want_dirs && !dc_folder_is_image(e->d_name)))
            continue;
        char *p = dc_dataset_join(dir, e->d_name);
        if (!p) {
            st = dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", dir);
            break;
        }
        bool keep = want_dirs ? dc_dataset_is_dir(p) : dc_dataset_is_file(p);
        free(p);
        if (keep && !dc_names_add(out, e->d_name))
            st = dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", dir);
        errno = 0;
    }
    if (st == DC_OK && errno != 0)
        st = dc_fail(err, DC_ERR_IO, "%s: cannot list the directory: %s", dir, strerror(errno));
    closedir(d);
    if (st != DC_OK) {
        dc_names_free(out);
        return st;
    }
    if (out->n > 1)
        qsort(out->items, out->n, sizeof *out->items, dc_names_cmp);
    return DC_OK;
}

/* Appends the image files of one class folder to ds, labelled label. */
static dc_status dc_folder_add_class(dc_dataset *ds, const char *dir, int label, size_t *cap,
                                     dc_error *err)
{
    dc_names files;
    dc_status st = dc_folder_list(dir, false, &files, err);
    if (st != DC_OK)
        return st;
    if ((size_t)ds->count + files.n > (size_t)INT32_MAX) {
        dc_names_free(&files);
        return dc_fail(err, DC_ERR_ARG, "%s: too many files", ds->root);
    }
    size_t need = (size_t)ds->count + files.n;
    if (need > *cap) {
        size_t c = *cap ? *cap : 1024;
        while (c < need)
            c *= 2;
        char **f = dc_realloc(ds->files, c * sizeof *f);
        if (f)
            ds->files = f;
        int *l = f ? dc_realloc(ds->labels, c * sizeof *l) : NULL;
        if (l)
            ds->labels = l;
        if (!f || !l) {
            dc_names_free(&files);
            return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", dir);
        }
        *cap = c;
    }
    for (size_t i = 0; i < files.n && st == DC_OK; i++) {
        char *p = dc_dataset_join(dir, files.items[i]);
        if (!p) {
            st = dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", dir);
            break;
        }
        ds->files[ds->count] = p;
        ds->labels[ds->count] = label;
        ds->count++;
    }
    dc_names_free(&files);
    return st;
}

dc_status dc_dataset_read_folder(dc_dataset *ds, const char *dir, dc_error *err)
{
    ds->root = dc_strdup(dir);
    if (!ds->root)
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", dir);
    dc_names classes;
    dc_status st = dc_folder_list(dir, true, &classes, err);
    if (st != DC_OK)
        return st;
    if (classes.n == 0)
        st = dc_fail(err, DC_ERR_FORMAT, "%s: no class folders (a class-per-folder tree of "
                     "images is expected)", dir);
    else if (classes.n > 100000)
        st = dc_fail(err, DC_ERR_FORMAT, "%s: %zu class folders: too many", dir, classes.n);
    if (st == DC_OK)
        st = dc_dataset_set_classes(ds, (const char *const *)classes.items, (int)classes.n,
                                    err);
    size_t cap = 0;
    for (size_t k = 0; st == DC_OK && k < classes.n; k++) {
        char *sub = dc_dataset_join(dir, classes.items[k]);
        if (!sub) {
            st = dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", dir);
            break;
        }
        st = dc_folder_add_class(ds, sub, (int)k, &cap, err);
        free(sub);
    }
    if (st == DC_OK && ds->count == 0)
        st = dc_fail(err, DC_ERR_FORMAT, "%s: no image files (.png, .jpg, .jpeg) in any of its "
                     "%zu class folders", dir, classes.n);
    dc_names_free(&classes);
    return st;
}
