/*
 * cmd_classify.c — `dualcnn classify`: the top-5 classes of image files.
 * Images are decoded (PNG or JPEG, always to RGB) and preprocessed as the model's weights
 * expect (dc_preprocess_net): ImageNet models get torchvision's evaluation transforms of
 * their weights (shorter side resized with PIL's filter, centre crop), the small models
 * the resize to their input size; both normalise with the weight file's mean/std.
 * --dump-input writes the preprocessed inputs, the tensor the model actually saw.
 */
#include "cli/argparse.h"
#include "cli/cli.h"
#include "kernels/kernels.h"
#include "loaders/image.h"
#include "loaders/npy.h"
#include "loaders/preprocess.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOP_K 5

static void classify_help(FILE *f)
{
    fprintf(f, "usage: dualcnn classify (-w1 W.h5 | -m1 NAME) [options] IMAGE...\n\n"
               "Prints the five most probable classes of each PNG or JPEG image.\n\n"
               "  -w1, --weights1 FILE   HDF5 weight file; its arch attribute names the model\n"
               "  -w, --weights FILE     the same as -w1\n"
               "  -m1, --model1 NAME     architecture; without -w1 the weights are\n"
               "                         <weights dir>/<dataset>/<NAME>.h5\n"
               "  -D, --dataset NAME     dataset of the default weights (default: the\n"
               "                         architecture's own, e.g. cifar10)\n"
               "  --weights-dir DIR      weights dir (default $DUALCNN_WEIGHTS, else ./weights)\n"
               "  --threads N            threads (default: all)\n"
               "  --dump-input FILE.npy  also write the preprocessed inputs the model saw\n"
               "                         (float32 N x C x H x W, normalised; one row per\n"
               "                         image read, in order)\n"
               "  -h, --help             this text\n\n"
               "Preprocessing: ImageNet models (weights for dataset imagenet) get the\n"
               "evaluation transforms of their torchvision weights: the shorter side resized\n"
               "to the zoo's resize size with PIL's bilinear (bicubic for Swin), a centre\n"
               "crop of the input size, then mean/std. Other models: the image resized to\n"
               "the input size with PIL's bilinear, then mean/std.\n");
}

/* Indices of the k largest probabilities, in decreasing order. */
static void top_k(const float *p, int n, int k, int *idx)
{
    for (int j = 0; j < k; j++) {
        int best = -1;
        for (int i = 0; i < n; i++) {
            bool taken = false;
            for (int t = 0; t < j; t++)
                taken |= idx[t] == i;
            if (!taken && (best < 0 || p[i] > p[best]))
                best = i;
        }
        idx[j] = best;
    }
}

static dc_status classify_one(dc_net *net, const char *path, float *x, float *logits,
                              float *probs, dc_error *err)
{
    dc_net_info info = dc_net_get_info(net);
    dc_image img = { 0 };
    dc_status st = dc_image_load(path, &img, err);
    if (st != DC_OK)
        return st;
    st = dc_preprocess_net(&img, &info, x, err);
    if (st == DC_OK)
        st = dc_net_forward(net, x, 1, logits, err);
    if (st == DC_OK) {
        dc_softmax(logits, probs, info.num_classes);
        int k = info.num_classes < TOP_K ? info.num_classes : TOP_K;
        int idx[TOP_K];
        top_k(probs, info.num_classes, k, idx);
        printf("%s (%dx%d)\n", path, img.w, img.h);
        for (int j = 0; j < k; j++) {
            const char *name = dc_net_class_name(net, idx[j]);
            printf("  %d. %-24s %7.3f%%  (class %d)\n", j + 1, name ? name : "-",
                   100.0 * probs[idx[j]], idx[j]);
        }
    }
    dc_image_free(&img);
    return st;
}

/* Loads the net once and classifies every image; a bad image is reported and skipped. */
static int classify_all(const char *weights, const char *model, const char *dataset,
                        const char *wdir, const char *dump, const char *const *images,
                        int n_images)
{
    char path[1024];
    if (!weights) {
        const dc_zoo_entry *e = dc_zoo_find(model);
        if (!e)
            return cli_usage_error("classify", "unknown model '%s' (see 'dualcnn models')",
                                   model);
        dc_error err;
        if (cli_find_weights(wdir, dataset ? dataset : e->dataset, model, path, sizeof path,
                             &err) != DC_OK)
            return cli_report("classify", &err);
        weights = path;
    }
    dc_error err;
    dc_net *net;
    if (dc_net_load(weights, 1, &net, &err) != DC_OK)
        return cli_report("classify", &err);
    dc_net_info info = dc_net_get_info(net);
    if (model && strcmp(model, info.arch) != 0) {
        fprintf(stderr, "dualcnn classify: %s holds %s, not %s\n", weights, info.arch, model);
        dc_net_free(net);
        return CLI_FAIL;
    }
    size_t per = (size_t)info.in_c * info.in_h * info.in_w;
    /* With --dump-input every image keeps its own row; else one row is reused. */
    float *x = malloc(per * (dump ? (size_t)n_images : 1) * sizeof *x);
    float *logits = malloc(2 * (size_t)info.num_classes * sizeof *logits);
    int failures = 0, done = 0;
    if (!x || !logits) {
        fprintf(stderr, "dualcnn classify: out of memory\n");
        failures = 1;
    }
    for (int i = 0; i < n_images && x && logits; i++) {
        float *row = x + (dump ? per * (size_t)done : 0);
        if (classify_one(net, images[i], row, logits, logits + info.num_classes, &err) != DC_OK) {
            fprintf(stderr, "dualcnn classify: %s\n", err.msg);
            failures++;
        } else {
            done++;
        }
    }
    if (dump && x && logits) {
        int64_t shape[4] = { done, info.in_c, info.in_h, info.in_w };
        if (dc_npy_write_f32(dump, x, 4, shape, &err) != DC_OK) {
            fprintf(stderr, "dualcnn classify: %s\n", err.msg);
            failures++;
        }
    }
    free(x);
    free(logits);
    dc_net_free(net);
    return failures ? CLI_FAIL : CLI_OK;
}

enum { OPT_WEIGHTS = 1, OPT_MODEL, OPT_DATASET, OPT_WEIGHTS_DIR, OPT_THREADS, OPT_DUMP };

static const cli_opt classify_opts[] = {
    { OPT_WEIGHTS, "-w1 --weights1 -w --weights", CLI_VALUE },
    { OPT_MODEL, "-m1 --model1", CLI_VALUE },
    { OPT_DATASET, "-D --dataset", CLI_VALUE },
    { OPT_WEIGHTS_DIR, "--weights-dir", CLI_VALUE },
    { OPT_THREADS, "--threads", CLI_VALUE },
    { OPT_DUMP, "--dump-input", CLI_VALUE },
    { 0, NULL, CLI_FLAG },
};

static const cli_spec classify_spec = { "classify", { classify_opts }, classify_help, true };

int cmd_classify(int argc, char **argv)
{
    const char *weights = NULL, *model = NULL, *dataset = NULL, *wdir = NULL, *threads_s = NULL;
    const char *dump = NULL;
    cli_args a;
    int rc = cli_args_begin(&a, &classify_spec, argc, argv);
    if (rc != CLI_OK)
        return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    int n_images = 0;
    const char **images = calloc((size_t)argc, sizeof *images); /* argv may hold at most argc */
    if (!images)
        return CLI_FAIL;
    for (int id; (id = cli_args_next(&a)) != CLI_ARG_END;) {
        switch (id) {
        case OPT_WEIGHTS: weights = a.value; break;
        case OPT_MODEL: model = a.value; break;
        case OPT_DATASET: dataset = a.value; break;
        case OPT_WEIGHTS_DIR: wdir = a.value; break;
        case OPT_THREADS: threads_s = a.value; break;
        case OPT_DUMP: dump = a.value; break;
        case CLI_ARG_POSITIONAL: images[n_images++] = a.value; break;
        }
    }
    int threads = 0;
    if (!weights && !model)
        rc = cli_usage_error("classify", "give a weight file (-w1) or a model (-m1)");
    else if (n_images == 0)
        rc = cli_usage_error("classify", "no image files given");
    else if (threads_s && !cli_parse_int("classify", "--threads", threads_s, 1, 1024, &threads))
        rc = CLI_USAGE;
    if (rc == CLI_OK) {
        dc_set_threads(threads);
        rc = classify_all(weights, model, dataset, wdir, dump, images, n_images);
    }
    free((void *)images);
    return rc;
}

