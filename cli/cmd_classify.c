/*
 * cmd_classify.c — `dualcnn classify`: the top-5 classes of image files.
 * Images are decoded (PNG or JPEG, always to RGB) and preprocessed as the model's weights
 * expect (dc_preprocess_net): ImageNet models get torchvision's evaluation transforms of
 * their weights (shorter side resized with PIL's filter, centre crop), the small models
 * the resize to their input size; both normalise with the weight file's mean/std.
 * --dump-input writes the preprocessed inputs, the tensor the model actually saw.
 */
#include "cli/argparse.h"
#include "cli/check.h"
#include "cli/cli.h"
#include "cli/json.h"
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
               "  --json                 one JSON object on stdout: the model, and per image\n"
               "                         its size and top-5 (class index, name, probability);\n"
               "                         images that could not be read under \"errors\"\n"
               "  -h, --help             this text\n\n"
               "Each line of the text output is: rank, probability, class index, class name\n"
               "(last, so that long names never break the columns; control characters in a\n"
               "name shown as \\xNN).\n\n"
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

/* What classify found for one image. */
typedef struct {
    const char *path;
    int w, h;                  /* the image as decoded */
    int k;                     /* classes listed: min(TOP_K, classes) */
    int idx[TOP_K];
    float prob[TOP_K];
} classify_result;

static dc_status classify_one(dc_net *net, const char *path, float *x, float *logits,
                              float *probs, classify_result *res, dc_error *err)
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
        res->path = path;
        res->w = img.w;
        res->h = img.h;
        res->k = info.num_classes < TOP_K ? info.num_classes : TOP_K;
        top_k(probs, info.num_classes, res->k, res->idx);
        for (int j = 0; j < res->k; j++)
            res->prob[j] = probs[res->idx[j]];
    }
    dc_image_free(&img);
    return st;
}

/* A class name on the terminal: control characters (a newline would break the listing)
 * as \xNN, everything else (UTF-8 included) as it is. */
static void print_name(const char *name)
{
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            printf("\\x%02x", *p);
        else
            putchar(*p);
}

static void print_result(const dc_net *net, const classify_result *r)
{
    printf("%s (%dx%d)\n", r->path, r->w, r->h);
    for (int j = 0; j < r->k; j++) {
        const char *name = dc_net_class_name(net, r->idx[j]);
        printf("  %d. %7.3f%%  class %-4d ", j + 1, 100.0 * r->prob[j], r->idx[j]);
        print_name(name ? name : "-");
        putchar('\n');
    }
}

static void json_result(cli_json *j, const dc_net *net, const classify_result *r)
{
    cli_json_object(j);
    cli_json_kv_str(j, "path", r->path);
    cli_json_kv_int(j, "width", r->w);
    cli_json_kv_int(j, "height", r->h);
    cli_json_key(j, "top");
    cli_json_array(j);
    for (int t = 0; t < r->k; t++) {
        cli_json_object(j);
        cli_json_kv_int(j, "rank", t + 1);
        cli_json_kv_int(j, "class", r->idx[t]);
        cli_json_kv_str(j, "name", dc_net_class_name(net, r->idx[t]));
        cli_json_kv_num(j, "probability", r->prob[t]);
        cli_json_close(j);
    }
    cli_json_close(j);
    cli_json_close(j);
}

/* The JSON output: the model, then each image's result; the failures after them. */
static dc_status write_json(const dc_net *net, const char *weights, const classify_result *res,
                            int done, char **errors, int n_errors, dc_error *err)
{
    dc_net_info info = dc_net_get_info(net);
    cli_json j;
    cli_json_begin(&j, stdout);
    cli_json_kv_str(&j, "model", info.arch);
    cli_json_kv_str(&j, "weights", weights);
    cli_json_kv_str(&j, "dataset", info.dataset);
    cli_json_kv_int(&j, "num_classes", info.num_classes);
    cli_json_key(&j, "images");
    cli_json_array(&j);
    for (int i = 0; i < done; i++)
        json_result(&j, net, &res[i]);
    cli_json_close(&j);
    cli_json_key(&j, "errors");
    cli_json_array(&j);
    for (int i = 0; i < n_errors; i++)
        cli_json_str(&j, errors[i]);
    cli_json_close(&j);
    return cli_json_end(&j, err);
}

typedef struct {
    const char *weights, *model, *dataset, *wdir, *dump;
    bool json;
    const char *const *images;
    int n_images;
} classify_args;

/* Loads the net once and classifies every image; a bad image is reported and skipped. */
static int classify_all(const classify_args *c)
{
    char path[1024];
    dc_error err;
    if (cli_resolve_weights(c->weights ? "-w1" : "-m1", c->model, c->weights, c->wdir,
                            c->dataset, path, sizeof path, &err) != DC_OK)
        return cli_report("classify", &err);
    if (cli_check_output("--dump-input", c->dump, &err) != DC_OK)
        return cli_report("classify", &err);
    dc_net *net;
    if (dc_net_load(path, 1, &net, &err) != DC_OK)
        return cli_report("classify", &err);
    dc_net_info info = dc_net_get_info(net);
    if (c->model && strcmp(c->model, info.arch) != 0) {
        fprintf(stderr, "dualcnn classify: %s holds %s, not %s\n", path, info.arch, c->model);
        dc_net_free(net);
        return CLI_FAIL;
    }
    size_t per = (size_t)info.in_c * info.in_h * info.in_w;
    int n = c->n_images;
    /* With --dump-input every image keeps its own row; else one row is reused. */
    float *x = malloc(per * (c->dump ? (size_t)n : 1) * sizeof *x);
    float *logits = malloc(2 * (size_t)info.num_classes * sizeof *logits);
    classify_result *res = calloc((size_t)n, sizeof *res);
    char **errors = calloc((size_t)n, sizeof *errors);
    int failures = 0, done = 0;
    dc_status st = x && logits && res && errors ? DC_OK
                                                : dc_fail(&err, DC_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n && st == DC_OK; i++) {
        float *row = x + (c->dump ? per * (size_t)done : 0);
        if (classify_one(net, c->images[i], row, logits, logits + info.num_classes, &res[done],
                         &err) != DC_OK) {
            fprintf(stderr, "dualcnn classify: %s\n", err.msg);
            errors[failures++] = strdup(err.msg);
        } else if (!c->json) {
            print_result(net, &res[done++]);
        } else {
            done++;
        }
    }
    if (st == DC_OK && c->dump) {
        int64_t shape[4] = { done, info.in_c, info.in_h, info.in_w };
        st = dc_npy_write_f32(c->dump, x, 4, shape, &err);
    }
    if (st == DC_OK && c->json)
        st = write_json(net, path, res, done, errors, failures, &err);
    if (st != DC_OK) {
        fprintf(stderr, "dualcnn classify: %s\n", err.msg);
        failures++;
    }
    for (int i = 0; errors && i < n; i++)
        free(errors[i]);
    free(errors);
    free(res);
    free(x);
    free(logits);
    dc_net_free(net);
    return failures ? CLI_FAIL : CLI_OK;
}

enum { OPT_WEIGHTS = 1, OPT_MODEL, OPT_DATASET, OPT_WEIGHTS_DIR, OPT_THREADS, OPT_DUMP, OPT_JSON };

static const cli_opt classify_opts[] = {
    { OPT_WEIGHTS, "-w1 --weights1 -w --weights", CLI_VALUE },
    { OPT_MODEL, "-m1 --model1", CLI_VALUE },
    { OPT_DATASET, "-D --dataset", CLI_VALUE },
    { OPT_WEIGHTS_DIR, "--weights-dir", CLI_VALUE },
    { OPT_THREADS, "--threads", CLI_VALUE },
    { OPT_DUMP, "--dump-input", CLI_VALUE },
    { OPT_JSON, "--json", CLI_FLAG },
    { 0, NULL, CLI_FLAG },
};

static const cli_spec classify_spec = { "classify", { classify_opts }, classify_help, true };

int cmd_classify(int argc, char **argv)
{
    classify_args c = { 0 };
    const char *threads_s = NULL;
    cli_args a;
    int rc = cli_args_begin(&a, &classify_spec, argc, argv);
    if (rc != CLI_OK)
        return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    const char **images = calloc((size_t)argc, sizeof *images); /* argv may hold at most argc */
    if (!images)
        return CLI_FAIL;
    for (int id; (id = cli_args_next(&a)) != CLI_ARG_END;) {
        switch (id) {
        case OPT_WEIGHTS: c.weights = a.value; break;
        case OPT_MODEL: c.model = a.value; break;
        case OPT_DATASET: c.dataset = a.value; break;
        case OPT_WEIGHTS_DIR: c.wdir = a.value; break;
        case OPT_THREADS: threads_s = a.value; break;
        case OPT_DUMP: c.dump = a.value; break;
        case OPT_JSON: c.json = true; break;
        case CLI_ARG_POSITIONAL: images[c.n_images++] = a.value; break;
        }
    }
    c.images = images;
    int threads = 0;
    if (!c.weights && !c.model)
        rc = cli_usage_error("classify", "give a weight file (-w1) or a model (-m1)");
    else if (c.n_images == 0)
        rc = cli_usage_error("classify", "no image files given");
    else if (!c.weights && !dc_zoo_find(c.model))
        rc = cli_usage_error("classify", "unknown model '%s' (see 'dualcnn models')", c.model);
    else if (threads_s && !cli_parse_int("classify", "--threads", threads_s, 1, 1024, &threads))
        rc = CLI_USAGE;
    if (rc == CLI_OK) {
        dc_set_threads(threads);
        rc = classify_all(&c);
    }
    free((void *)images);
    return rc;
}
