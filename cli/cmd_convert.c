/*
 * cmd_convert.c — `dualcnn convert`: a PyTorch checkpoint to a dualcnn weight file, in C.
 *
 * Steps: resolve the architecture and dataset (flags, else the file name), read the
 * checkpoint's state_dict (loaders/torch_checkpoint.c), write every tensor but the
 * num_batches_tracked counters and GoogLeNet's / Inception v3's auxiliary heads with the
 * attributes tools/export_weights.py writes (loaders/weights_write.c), load the result as a
 * net to check it holds exactly the tensors the architecture needs, then rename it into
 * place. The output is the same, tensor for tensor and attribute for attribute, as
 * export_weights.py's from the same checkpoint (docs/convert.md).
 */
#include "cli/argparse.h"
#include "cli/cli.h"
#include "cli/convert.h"
#include "loaders/torch_checkpoint.h"
#include "loaders/weights_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void convert_help(FILE *f)
{
    fprintf(f, "usage: dualcnn convert CHECKPOINT -o OUT.h5 [--arch NAME] [--dataset D] "
               "[options]\n\n"
               "Converts a PyTorch checkpoint (torch.save's zip archive or its legacy format)\n"
               "into a dualcnn weight file, without Python. The checkpoint holds a state_dict,\n"
               "or a dict with one under 'state_dict', 'model' or 'model_state_dict'; a\n"
               "'module.' prefix is removed. Tensors must be float32 (int64 for integer\n"
               "buffers). The pickle is read by a restricted reader that calls nothing: a\n"
               "checkpoint holding other Python objects is refused. The output is what\n"
               "tools/export_weights.py writes from the same checkpoint (docs/convert.md).\n\n"
               "  -o, --out FILE         the weight file to write (HDF5; replaced atomically)\n"
               "  --arch NAME            the architecture (`dualcnn models`); default: the one\n"
               "                         an official file name names (cifar10_resnet20-\n"
               "                         4118986f.pt, resnet18-f37072fd.pth)\n"
               "  --dataset D            %s, for the input size, mean, std\n"
               "                         and class names (default: the architecture's own)\n"
               "  --num-classes N        number of outputs (default: the dataset's)\n"
               "  --source TEXT          the source attribute (default: chenyaofo's release\n"
               "                         URL for its file names, else 'converted from FILE')\n"
               "  --transform-input B    googlenet and inception_v3 on imagenet only: 1 when\n"
               "                         the model re-normalises its input, else 0 (default\n"
               "                         1, what torchvision's official weights need)\n"
               "  -h, --help             this text\n\n"
               "Exit status: 0 written; 1 the checkpoint cannot be read or does not fit the\n"
               "architecture (the message names the file, the tensor and the problem);\n"
               "2 a bad flag or an unknown architecture.\n", cli_convert_dataset_names());
}

typedef struct {
    const char *checkpoint, *out, *arch, *dataset, *source;
    int num_classes;      /* 0: the dataset's */
    int transform_input;  /* -1: not given */
} convert_args;

enum { OPT_OUT = 1, OPT_ARCH, OPT_DATASET, OPT_SOURCE, OPT_CLASSES, OPT_TRANSFORM };

static const cli_opt convert_opts[] = {
    { OPT_OUT, "-o --out", CLI_VALUE },
    { OPT_ARCH, "--arch", CLI_VALUE },
    { OPT_DATASET, "--dataset", CLI_VALUE },
    { OPT_SOURCE, "--source", CLI_VALUE },
    { OPT_CLASSES, "--num-classes", CLI_VALUE },
    { OPT_TRANSFORM, "--transform-input", CLI_VALUE },
    { 0, NULL, CLI_FLAG },
};

static const cli_spec convert_spec = { "convert", { convert_opts }, convert_help, true };

/* Fills *a from argv; returns CLI_OK, CLI_HELP_SHOWN or CLI_USAGE (the problem printed). */
static int parse_args(int argc, char **argv, convert_args *a)
{
    const char *classes_s = NULL, *ti_s = NULL;
    *a = (convert_args){ .transform_input = -1 };
    cli_args p;
    int rc = cli_args_begin(&p, &convert_spec, argc, argv);
    if (rc != CLI_OK)
        return rc;
    for (int id; (id = cli_args_next(&p)) != CLI_ARG_END;) {
        switch (id) {
        case OPT_OUT: a->out = p.value; break;
        case OPT_ARCH: a->arch = p.value; break;
        case OPT_DATASET: a->dataset = p.value; break;
        case OPT_SOURCE: a->source = p.value; break;
        case OPT_CLASSES: classes_s = p.value; break;
        case OPT_TRANSFORM: ti_s = p.value; break;
        case CLI_ARG_POSITIONAL:
            if (a->checkpoint)
                return cli_usage_error("convert", "one checkpoint at a time ('%s' and '%s')",
                                       a->checkpoint, p.value);
            a->checkpoint = p.value;
            break;
        }
    }
    if (!a->checkpoint || !a->out)
        return cli_usage_error("convert", "a CHECKPOINT and -o OUT.h5 are required");
    if (classes_s && !cli_parse_int("convert", "--num-classes", classes_s, 1, 100000,
                                    &a->num_classes))
        return CLI_USAGE;
    if (ti_s && !cli_parse_int("convert", "--transform-input", ti_s, 0, 1,
                               &a->transform_input))
        return CLI_USAGE;
    return CLI_OK;
}

/* The zoo entry of --arch, or of the file name; prints why not and returns NULL. */
static const dc_zoo_entry *resolve_arch(const convert_args *a)
{
    if (!a->arch) {
        const dc_zoo_entry *e = cli_convert_arch_from_file(a->checkpoint);
        if (!e)
            cli_usage_error("convert", "%s: the file name names no architecture (official "
                            "names do, e.g. cifar10_resnet20-4118986f.pt); give --arch NAME",
                            a->checkpoint);
        return e;
    }
    const dc_zoo_entry *e = dc_zoo_find(a->arch);
    if (e)
        return e;
    char close[512];
    cli_convert_close_names(a->arch, close, sizeof close);
    if (close[0])
        cli_usage_error("convert", "--arch %s: no such model; %s exist (`dualcnn models` "
                        "lists all %d)", a->arch, close, dc_zoo_count());
    else
        cli_usage_error("convert", "--arch %s: no such model (`dualcnn models` lists the %d "
                        "that exist)", a->arch, dc_zoo_count());
    return NULL;
}

/* The root attributes, as export_weights.py's metadata() makes them; prints why not and
 * returns false. */
static bool resolve_meta(const convert_args *a, const dc_zoo_entry *e, dc_weights_meta *m,
                         char *source, size_t cap)
{
    const char *dataset = a->dataset ? a->dataset : e->dataset;
    const cli_dataset_defaults *d = cli_convert_dataset(dataset);
    if (!d) {
        cli_usage_error("convert", "--dataset %s: no defaults for it (known: %s); "
                        "tools/export_weights.py takes --input-size, --mean and --std for "
                        "other datasets", dataset, cli_convert_dataset_names());
        return false;
    }
    bool imagenet = strcmp(dataset, "imagenet") == 0;
    if (imagenet && strcmp(e->dataset, "imagenet") != 0) {
        cli_usage_error("convert", "--dataset imagenet: %s is a CIFAR-10 architecture "
                        "(chenyaofo's); the ImageNet ones are torchvision's", e->name);
        return false;
    }
    bool aux = imagenet && (strcmp(e->name, "googlenet") == 0 ||
                            strcmp(e->name, "inception_v3") == 0);
    if (!aux && a->transform_input == 1) {
        cli_usage_error("convert", "--transform-input 1: only googlenet and inception_v3 "
                        "(--dataset imagenet) have a transform_input step");
        return false;
    }
    *m = (dc_weights_meta){ .arch = e->name, .dataset = dataset,
                            .transform_input = aux ? (a->transform_input < 0 ? 1
                                                      : a->transform_input) : -1 };
    /* an ImageNet model takes the crop size of its official weights */
    m->input_size[0] = imagenet ? e->in_c : d->input_size[0];
    m->input_size[1] = imagenet ? e->in_h : d->input_size[1];
    m->input_size[2] = imagenet ? e->in_w : d->input_size[2];
    for (int c = 0; c < 3; c++) {
        m->mean[c] = (float)d->mean[c];
        m->std[c] = (float)d->std[c];
    }
    m->num_classes = a->num_classes > 0 ? a->num_classes : d->num_classes;
    /* the dataset's names do not fit an overridden class count */
    m->class_names = m->num_classes == d->num_classes ? d->class_names : NULL;
    if (a->source)
        snprintf(source, cap, "%s", a->source);
    else
        cli_convert_default_source(e, dataset, a->checkpoint, source, cap);
    m->source = source;
    return true;
}

/* Whether key belongs to an auxiliary classifier, dropped for googlenet and inception_v3. */
static bool is_aux(const char *arch, const char *key)
{
    if (strcmp(arch, "googlenet") == 0)
        return strncmp(key, "aux1.", 5) == 0 || strncmp(key, "aux2.", 5) == 0;
    return strcmp(arch, "inception_v3") == 0 && strncmp(key, "AuxLogits.", 10) == 0;
}

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && strcmp(s + n - t, tail) == 0;
}

/* Writes the checkpoint's tensors (counting those written and dropped). */
static dc_status write_tensors(dc_torch_checkpoint *c, dc_weights_writer *w, bool drop_aux,
                               const char *arch, int *written, int *dropped, dc_error *err)
{
    dc_status st = DC_OK;
    for (int i = 0; i < dc_torch_checkpoint_count(c) && st == DC_OK; i++) {
        const dc_torch_tensor *t = dc_torch_checkpoint_tensor(c, i);
        if (ends_with(t->key, "num_batches_tracked"))
            continue;
        if (drop_aux && is_aux(arch, t->key)) {
            ++*dropped;
            continue;
        }
        /* numel <= the storage's elements, which the file holds (checked on opening) */
        float *data = malloc(t->numel ? (size_t)t->numel * sizeof *data : sizeof *data);
        if (!data)
            return dc_fail(err, DC_ERR_NOMEM, "out of memory for tensor '%s' (%lld values)",
                           t->key, (long long)t->numel);
        st = dc_torch_checkpoint_read_f32(c, i, data, err);
        if (st == DC_OK)
            st = dc_weights_writer_add(w, t->key, t->ndim, t->shape, data, err);
        free(data);
        ++*written;
    }
    return st;
}

/* Loads the finished file as a net: every tensor the architecture needs, of the right
 * shape, and no other. The loader's message names the temporary file: say the checkpoint. */
static dc_status check_loads(const char *tmp, const char *checkpoint, const char *arch,
                             dc_error *err)
{
    dc_net *net;
    dc_error e;
    if (dc_net_load(tmp, 1, &net, &e) == DC_OK) {
        dc_net_free(net);
        return DC_OK;
    }
    const char *msg = e.msg;
    size_t n = strlen(tmp);
    if (strncmp(msg, tmp, n) == 0 && strncmp(msg + n, ": ", 2) == 0)
        msg += n + 2;
    return dc_fail(err, e.code, "%s: does not fit arch %s: %s", checkpoint, arch, msg);
}

/* Converts a->checkpoint into a->out for e with meta (see cmd_convert); counts the
 * tensors written and dropped and tells the checkpoint's format. */
static dc_status convert_file(const convert_args *a, const dc_zoo_entry *e,
                              const dc_weights_meta *meta, int *written, int *dropped,
                              bool *legacy, dc_error *err)
{
    dc_torch_checkpoint *c;
    dc_status st = dc_torch_checkpoint_open(a->checkpoint, &c, err);
    if (st != DC_OK)
        return st;
    dc_weights_writer *w;
    if ((st = dc_weights_writer_open(a->out, &w, err)) != DC_OK) {
        dc_torch_checkpoint_free(c);
        return st;
    }
    *written = *dropped = 0;
    st = write_tensors(c, w, meta->transform_input >= 0, e->name, written, dropped, err);
    *legacy = dc_torch_checkpoint_format(c) == DC_TORCH_LEGACY;
    dc_torch_checkpoint_free(c);
    if (st == DC_OK)
        st = dc_weights_writer_finish(w, meta, err);
    if (st == DC_OK)
        st = check_loads(dc_weights_writer_tmp_path(w), a->checkpoint, e->name, err);
    if (st != DC_OK) {
        dc_weights_writer_abort(w);
        return st;
    }
    return dc_weights_writer_commit(w, err);
}

dc_status cli_convert_checkpoint(const char *checkpoint, const char *out,
                                 const dc_zoo_entry *e, const char *dataset,
                                 const char *source, int *tensors, dc_error *err)
{
    convert_args a = { .checkpoint = checkpoint, .out = out, .arch = e->name,
                       .dataset = dataset, .source = source, .transform_input = -1 };
    dc_weights_meta meta;
    char src[1024];
    if (!resolve_meta(&a, e, &meta, src, sizeof src))
        return dc_fail(err, DC_ERR_ARG, "%s: no conversion of %s for dataset %s", checkpoint,
                       e->name, dataset ? dataset : e->dataset);
    int dropped;
    bool legacy;
    return convert_file(&a, e, &meta, tensors, &dropped, &legacy, err);
}

int cmd_convert(int argc, char **argv)
{
    convert_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc != CLI_OK)
        return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    const dc_zoo_entry *e = resolve_arch(&a);
    if (!e)
        return CLI_USAGE;
    dc_weights_meta meta;
    char source[1024];
    if (!resolve_meta(&a, e, &meta, source, sizeof source))
        return CLI_USAGE;

    dc_error err;
    int written, dropped;
    bool legacy;
    if (convert_file(&a, e, &meta, &written, &dropped, &legacy, &err) != DC_OK)
        return cli_report("convert", &err);
    printf("read %s (%s)\n", a.checkpoint, legacy ? "legacy torch.save format"
                                                  : "torch.save zip archive");
    printf("wrote %s: %s (%s), %d tensors, %d classes\n", a.out, e->name, meta.dataset,
           written, meta.num_classes);
    if (dropped)
        printf("dropped %d tensors of the auxiliary classifier (%s), unused at inference\n",
               dropped, strcmp(e->name, "googlenet") == 0 ? "aux1, aux2" : "AuxLogits");
    if (meta.transform_input >= 0)
        printf("transform_input = %d\n", meta.transform_input);
    return CLI_OK;
}
