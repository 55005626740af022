/*
 * cmd_infer.c — `dualcnn infer`: a float32 NCHW batch from .npy in, logits .npy out.
 * The plainest way to drive the engine, used by the parity tests against PyTorch.
 */
#include "cli/argparse.h"
#include "cli/cli.h"
#include "cli/dump.h"
#include "loaders/npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INFER_CHUNK 64 /* samples per forward pass: bounds the activation memory */

static void infer_help(FILE *f)
{
    fprintf(f, "usage: dualcnn infer --weights W.h5 --in X.npy (--out Y.npy | --dump DIR)\n"
               "                     [options]\n\n"
               "Runs the model of weight file W.h5 on the batch in X.npy (float32, shape\n"
               "N x C x H x W, already normalised) and writes the logits (float32, N x\n"
               "classes) to Y.npy. No softmax is applied.\n\n"
               "  -w, --weights FILE   HDF5 weight file (tools/export_weights.py writes them)\n"
               "  -i, --in FILE        input batch, NumPy .npy, float32 '<f4', C order\n"
               "  -o, --out FILE       where the logits go (written atomically)\n"
               "  --threads N          threads for the kernels and OpenBLAS (default: all)\n"
               "  --profile            print per-node time, MACs and GFLOP/s to stderr\n"
               "  --dump DIR           also write every node's output, DIR/NNN_<node>.npy\n"
               "                       (float32 N x C x H x W), and DIR/index.json: per node\n"
               "                       its op, shape, MACs, inputs and the PyTorch module its\n"
               "                       output corresponds to (tools/compare_layers.py finds\n"
               "                       the first node where PyTorch and dualcnn part;\n"
               "                       docs/inside-a-net.md). The batch runs in one pass.\n"
               "  -h, --help           this text\n");
}

enum { OPT_WEIGHTS = 1, OPT_IN, OPT_OUT, OPT_THREADS, OPT_PROFILE, OPT_DUMP };

static const cli_opt infer_opts[] = {
    { OPT_WEIGHTS, "-w --weights", CLI_VALUE },
    { OPT_IN, "-i --in", CLI_VALUE },
    { OPT_OUT, "-o --out", CLI_VALUE },
    { OPT_THREADS, "--threads", CLI_VALUE },
    { OPT_PROFILE, "--profile", CLI_FLAG },
    { OPT_DUMP, "--dump", CLI_VALUE },
    { 0, NULL, CLI_FLAG },
};

static const cli_spec infer_spec = { "infer", { infer_opts }, infer_help, false };

int cmd_infer(int argc, char **argv)
{
    const char *weights = NULL, *in_path = NULL, *out_path = NULL, *threads_s = NULL;
    const char *dump = NULL;
    bool profile = false;
    cli_args a;
    int rc = cli_args_begin(&a, &infer_spec, argc, argv);
    if (rc != CLI_OK)
        return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    for (int id; (id = cli_args_next(&a)) != CLI_ARG_END;) {
        switch (id) {
        case OPT_WEIGHTS: weights = a.value; break;
        case OPT_IN: in_path = a.value; break;
        case OPT_OUT: out_path = a.value; break;
        case OPT_THREADS: threads_s = a.value; break;
        case OPT_PROFILE: profile = true; break;
        case OPT_DUMP: dump = a.value; break;
        }
    }
    if (!weights || !in_path || (!out_path && !dump))
        return cli_usage_error("infer", "--weights, --in and --out are required (or --dump "
                                        "instead of --out)");
    int threads = 0;
    if (threads_s && !cli_parse_int("infer", "--threads", threads_s, 1, 1024, &threads))
        return CLI_USAGE;
    dc_set_threads(threads);

    dc_error err;
    dc_npy x = { 0 };
    if (dc_npy_read_f32(in_path, &x, &err) != DC_OK)
        return cli_report("infer", &err);
    if (x.ndim != 4 || x.shape[0] < 1) {
        fprintf(stderr, "dualcnn infer: %s: shape must be N x C x H x W with N >= 1; got "
                        "%d dimension%s\n", in_path, x.ndim, x.ndim == 1 ? "" : "s");
        dc_npy_free(&x);
        return CLI_FAIL;
    }
    int n = (int)x.shape[0];
    int chunk = n < INFER_CHUNK || dump ? n : INFER_CHUNK;
    dc_net *net;
    if (dc_net_load(weights, chunk, &net, &err) != DC_OK) {
        dc_npy_free(&x);
        return cli_report("infer", &err);
    }
    dc_net_info info = dc_net_get_info(net);
    if (x.shape[1] != info.in_c || x.shape[2] != info.in_h || x.shape[3] != info.in_w) {
        fprintf(stderr, "dualcnn infer: %s: samples are %lldx%lldx%lld but %s (%s) takes "
                        "%dx%dx%d\n", in_path, (long long)x.shape[1], (long long)x.shape[2],
                (long long)x.shape[3], weights, info.arch, info.in_c, info.in_h, info.in_w);
        dc_net_free(net);
        dc_npy_free(&x);
        return CLI_FAIL;
    }
    float *logits = malloc((size_t)n * (size_t)info.num_classes * sizeof *logits);
    if (!logits) {
        dc_net_free(net);
        dc_npy_free(&x);
        fprintf(stderr, "dualcnn infer: out of memory for %d x %d logits\n", n,
                info.num_classes);
        return CLI_FAIL;
    }
    dc_net_set_profiling(net, profile);
    size_t per_sample = (size_t)info.in_c * info.in_h * info.in_w;
    dc_status st = DC_OK;
    if (dump)
        st = cli_dump_forward(net, weights, x.data, n, logits, dump, &err);
    for (int s = 0; s < n && st == DC_OK && !dump; s += chunk) {
        int m = n - s < chunk ? n - s : chunk;
        st = dc_net_forward(net, x.data + (size_t)s * per_sample, m,
                            logits + (size_t)s * info.num_classes, &err);
    }
    if (st == DC_OK && out_path) {
        int64_t shape[2] = { n, info.num_classes };
        st = dc_npy_write_f32(out_path, logits, 2, shape, &err);
    }
    if (st == DC_OK && profile)
        dc_net_print_profile(net, stderr);
    free(logits);
    dc_net_free(net);
    dc_npy_free(&x);
    return st == DC_OK ? CLI_OK : cli_report("infer", &err);
}
