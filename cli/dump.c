/* dump.c — every node's output of a forward pass, and its index (see dump.h). */
#include "cli/check.h"
#include "cli/dump.h"
#include "cli/json.h"
#include "loaders/npy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const dc_net *net;
    const char *dir;
    char (*files)[128];   /* per node: its file name, "" when it has no output */
} dump_ctx;

/* "NNN_<name>.npy" ("NNN_<name>+add.npy" for a conv with its residual add), the name's
 * characters other than letters, digits and ".+-_" replaced by '_' (a node name is a
 * state_dict prefix: "layer1.0.conv1"). */
static void file_name(int id, const dc_node_info *nd, char *buf, size_t cap)
{
    char name[128];
    snprintf(name, sizeof name, "%s%s", nd->name, strcmp(nd->op, "conv+add") ? "" : "+add");
    int at = snprintf(buf, cap, "%03d_", id);
    for (const char *p = name; *p && (size_t)at + 5 < cap; p++) {
        char c = *p;
        bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' || c == '+';
        buf[at++] = keep ? c : '_';
    }
    snprintf(buf + at, cap - (size_t)at, ".npy");
}

static dc_status write_node(void *arg, int id, const float *out, int n, dc_error *err)
{
    dump_ctx *d = arg;
    dc_node_info nd = dc_net_node_info(d->net, id);
    file_name(id, &nd, d->files[id], sizeof d->files[id]);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", d->dir, d->files[id]);
    int64_t shape[4] = { n, nd.c, nd.h, nd.w };
    return dc_npy_write_f32(path, out, 4, shape, err);
}

static void json_node(cli_json *j, const dc_net *net, int id, const char *file)
{
    dc_node_info nd = dc_net_node_info(net, id);
    cli_json_object(j);
    cli_json_kv_int(j, "id", id);
    cli_json_kv_str(j, "name", nd.name);
    cli_json_kv_str(j, "op", nd.op);
    cli_json_key(j, "shape");
    cli_json_array(j);
    cli_json_int(j, nd.c);
    cli_json_int(j, nd.h);
    cli_json_int(j, nd.w);
    cli_json_close(j);
    cli_json_kv_int(j, "macs", nd.macs);
    cli_json_key(j, "inputs");
    cli_json_array(j);
    for (int k = 0; k < nd.n_inputs; k++)
        cli_json_int(j, nd.inputs[k]);
    cli_json_close(j);
    cli_json_kv_str(j, "file", *file ? file : NULL);
    cli_json_key(j, "fused_into");
    nd.fused_into >= 0 ? cli_json_int(j, nd.fused_into) : cli_json_null(j);
    cli_json_kv_str(j, "torch_module", *nd.module ? nd.module : NULL);
    cli_json_kv_str(j, "torch_then", *nd.module && *nd.module_act ? nd.module_act : NULL);
    cli_json_close(j);
}

/* DIR/index.json, written under a temporary name and renamed. */
static dc_status write_index(const dump_ctx *d, const char *weights, int n, dc_error *err)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/index.json", d->dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return dc_fail(err, DC_ERR_IO, "%s: cannot create (%s)", tmp, strerror(errno));
    dc_net_info info = dc_net_get_info(d->net);
    cli_json j;
    cli_json_begin(&j, f);
    cli_json_kv_int(&j, "format_version", 1);
    cli_json_kv_str(&j, "arch", info.arch);
    cli_json_kv_str(&j, "dataset", info.dataset);
    cli_json_kv_str(&j, "weights", weights);
    cli_json_kv_int(&j, "batch", n);
    cli_json_kv_str(&j, "note", "torch_module: the PyTorch module (a name of "
                                "model.named_modules()) whose output equals the node's "
                                "output once torch_then (an activation, or null) is applied "
                                "to it; null when none is known. A node with fused_into has "
                                "no output of its own: its work is done by that node.");
    cli_json_key(&j, "nodes");
    cli_json_array(&j);
    for (int id = 0; id < info.num_nodes; id++)
        json_node(&j, d->net, id, d->files[id]);
    cli_json_close(&j);
    dc_status st = cli_json_end(&j, err);
    if (fclose(f) != 0 && st == DC_OK)
        st = dc_fail(err, DC_ERR_IO, "%s: cannot write", tmp);
    if (st == DC_OK && rename(tmp, path) != 0)
        st = dc_fail(err, DC_ERR_IO, "%s: cannot rename into place (%s)", path,
                     strerror(errno));
    if (st != DC_OK)
        remove(tmp);
    return st;
}

dc_status cli_dump_forward(dc_net *net, const char *weights, const float *x, int n,
                           float *logits, const char *dir, dc_error *err)
{
    dc_status st = cli_make_dirs(dir, err);
    if (st != DC_OK)
        return st;
    int nodes = dc_net_get_info(net).num_nodes;
    dump_ctx d = { .net = net, .dir = dir, .files = calloc((size_t)nodes, sizeof *d.files) };
    if (!d.files)
        return dc_fail(err, DC_ERR_NOMEM, "out of memory");
    st = dc_net_forward_observed(net, x, n, logits, write_node, &d, err);
    char *real = realpath(weights, NULL); /* the index is read from other folders */
    if (st == DC_OK)
        st = write_index(&d, real ? real : weights, n, err);
    free(real);
    free(d.files);
    return st;
}
