/*
 * net_load.c — from a weight file (on disk, or its bytes in memory) to a planned net: open
 * the file, look the architecture up in the zoo, build it through the builder (which reads
 * and folds the parameters), check that no tensor of the file went unused, and plan the
 * arena. It sits above the zoo and the layers, which know the file only as a
 * dc_tensor_source.
 */
#include "base/alloc.h"
#include "layers/builder.h"
#include "loaders/weights.h"
#include "zoo/zoo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static dc_status read_from_file(void *ctx, const char *key, int ndim, const int64_t *shape,
                                float *dst, dc_error *err)
{
    return dc_weights_read(ctx, key, ndim, shape, dst, err);
}

static dc_status build(dc_net *net, dc_weights *w, const char *arch, int num_classes,
                       const uint64_t *seed, dc_error *err)
{
    dc_tensor_source src = { w, w ? dc_weights_path(w) : NULL, read_from_file };
    dc_zoo_build_fn fn = dc_zoo_builder(arch);
    const dc_zoo_entry *entry = dc_zoo_find(arch);
    const char *where = w ? dc_weights_path(w) : "shape-only build";
    if (!entry || !fn)
        return dc_fail(err, DC_ERR_ARG, "%s: unknown architecture '%s' (see `dualcnn "
                       "models`)", where, arch);
    snprintf(net->arch, sizeof net->arch, "%s", arch);
    net->resize = entry->resize; /* what preprocessing needs of the zoo, kept in the net */
    net->bicubic = entry->bicubic;
    dc_builder b = { .net = net, .weights = w ? &src : NULL, .status = DC_OK,
                     .random = seed != NULL,
                     .rng = seed ? *seed : 0, .bn_eps = DC_BN_EPS_DEFAULT };
    b.transform_input = w && dc_weights_get_attrs(w)->transform_input == 1;
    if (fn(&b, arch, num_classes) != DC_OK) {
        if (err)
            *err = b.err;
        return b.status;
    }
    if (b.transform_input && !b.transform_input_supported)
        return dc_fail(err, DC_ERR_FORMAT, "%s: transform_input = 1, but %s has no "
                       "transform_input step (only googlenet and inception_v3 do)", where,
                       arch);
    const dc_node *in = &net->nodes[0];
    net->in_c = in->c;
    net->in_h = in->h;
    net->in_w = in->w;
    net->num_classes = num_classes;
    net->output = net->n_nodes - 1;
    return DC_OK;
}

/* A net from the zoo's defaults: shape-only (seed NULL) or with random parameters. */
static dc_status build_without_file(const char *arch, int num_classes, const uint64_t *seed,
                                    int max_batch, dc_net **out, dc_error *err)
{
    *out = NULL;
    const dc_zoo_entry *entry = dc_zoo_find(arch);
    dc_net *net = dc_net_new();
    if (!net)
        return dc_fail(err, DC_ERR_NOMEM, "out of memory");
    net->shape_only = seed == NULL;
    dc_status st = build(net, NULL, arch, num_classes > 0 ? num_classes
                                                      : entry ? entry->num_classes : 10,
                         seed, err);
    if (st == DC_OK && seed)
        st = dc_net_plan(net, max_batch, err);
    if (st != DC_OK) {
        dc_net_free(net);
        return st;
    }
    snprintf(net->dataset, sizeof net->dataset, "%s", entry->dataset);
    memcpy(net->mean, entry->mean, sizeof net->mean);
    memcpy(net->std, entry->std, sizeof net->std);
    *out = net;
    return DC_OK;
}

dc_status dc_net_build_shape_only(const char *arch, int num_classes, dc_net **out,
                                  dc_error *err)
{
    return build_without_file(arch, num_classes, NULL, 0, out, err);
}

dc_status dc_net_build_random(const char *arch, int num_classes, uint64_t seed, int max_batch,
                              dc_net **out, dc_error *err)
{
    return build_without_file(arch, num_classes, &seed, max_batch, out, err);
}

/* The net of an opened weight file (named by dc_weights_path in messages), planned for
 * max_batch samples; w stays the caller's. */
static dc_status load_from(dc_weights *w, int max_batch, dc_net **out, dc_error *err)
{
    const char *path = dc_weights_path(w);
    const dc_weights_attrs *a = dc_weights_get_attrs(w);
    dc_net *net = dc_net_new();
    if (!net)
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", path);
    dc_status st = build(net, w, a->arch, a->num_classes, NULL, err);
    if (st == DC_OK && (net->in_c != a->input_size[0] || net->in_h != a->input_size[1] ||
                        net->in_w != a->input_size[2]))
        st = dc_fail(err, DC_ERR_FORMAT, "%s: input_size (%d, %d, %d) does not match arch "
                     "%s, which takes (%d, %d, %d)", path, a->input_size[0],
                     a->input_size[1], a->input_size[2], a->arch, net->in_c, net->in_h,
                     net->in_w);
    if (st == DC_OK)
        st = dc_weights_check_all_used(w, err);
    if (st == DC_OK && a->class_names) {
        net->class_names = dc_calloc((size_t)a->num_classes, sizeof *net->class_names);
        for (int i = 0; net->class_names && i < a->num_classes; i++)
            if (!(net->class_names[i] = dc_strdup(a->class_names[i])))
                st = dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", path);
        if (!net->class_names)
            st = dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", path);
    }
    if (st == DC_OK) {
        snprintf(net->dataset, sizeof net->dataset, "%s", a->dataset);
        memcpy(net->mean, a->mean, sizeof net->mean);
        memcpy(net->std, a->std, sizeof net->std);
        st = dc_net_plan(net, max_batch, err);
    }
    if (st != DC_OK) {
        dc_net_free(net);
        return st;
    }
    *out = net;
    return DC_OK;
}

dc_status dc_net_load(const char *path, int max_batch, dc_net **out, dc_error *err)
{
    *out = NULL;
    dc_weights *w;
    dc_status st = dc_weights_open(path, &w, err);
    if (st != DC_OK)
        return st;
    st = load_from(w, max_batch, out, err);
    dc_weights_close(w);
    return st;
}

dc_status dc_net_load_memory(const void *data, size_t size, int max_batch, dc_net **out,
                             dc_error *err)
{
    *out = NULL;
    dc_weights *w;
    dc_status st = dc_weights_open_memory(data, size, "<memory>", &w, err);
    if (st != DC_OK)
        return st;
    st = load_from(w, max_batch, out, err);
    dc_weights_close(w);
    return st;
}
