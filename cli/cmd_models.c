/* cmd_models.c — `dualcnn models`: the registry, with the cost of each built architecture,
 * its official weights and whether a weight file for it is here. */
#include "cli/argparse.h"
#include "cli/cli.h"
#include "cli/json.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void models_help(FILE *f)
{
    fprintf(f, "usage: dualcnn models [--json] [-D NAME] [--weights-dir DIR]\n\n"
               "Lists the 59 architectures of the zoo: the dataset their official weights\n"
               "are for, the input size, trainable parameters and multiply-accumulates per\n"
               "image (conv and linear layers, as the model's inference form runs them),\n"
               "whether a weight file for them is here (<weights dir>/<dataset>/<name>.h5,\n"
               "what the other commands load without -w) and the URL of the official\n"
               "pretrained weights (`dualcnn fetch NAME` downloads and converts them).\n\n"
               "  --implemented         accepted for older scripts; does nothing (every\n"
               "                        architecture is built)\n"
               "  -D, --dataset NAME    look for weight files in this subfolder (default:\n"
               "                        each architecture's own dataset, e.g. cifar10)\n"
               "  --weights-dir DIR     weights dir (default $DUALCNN_WEIGHTS, else ./weights,\n"
               "                        then $XDG_DATA_HOME/dualcnn)\n"
               "  --json                one JSON object on stdout: every row's fields, the\n"
               "                        weight file looked for and whether it is present\n"
               "  -h, --help            this text\n");
}

enum { OPT_IMPLEMENTED = 1, OPT_JSON, OPT_DATASET, OPT_WEIGHTS_DIR };

static const cli_opt models_opts[] = {
    { OPT_IMPLEMENTED, "--implemented", CLI_FLAG },
    { OPT_JSON, "--json", CLI_FLAG },
    { OPT_DATASET, "-D --dataset", CLI_VALUE },
    { OPT_WEIGHTS_DIR, "--weights-dir", CLI_VALUE },
    { 0, NULL, CLI_FLAG },
};

static const cli_spec models_spec = { "models", { models_opts }, models_help, false };

/* One row of the listing. */
typedef struct {
    const dc_zoo_entry *e;
    dc_net_info info;          /* params and MACs */
    char weights[1024];        /* the weight file looked for */
    bool present;
} model_row;

static dc_status fill_row(const dc_zoo_entry *e, const char *dataset, const char *wdir,
                          model_row *r, dc_error *err)
{
    memset(r, 0, sizeof *r);
    r->e = e;
    dc_error absent; /* not an error here: the row says so */
    r->present = cli_find_weights(wdir, dataset ? dataset : e->dataset, e->name, r->weights,
                                  sizeof r->weights, &absent) == DC_OK &&
                 access(r->weights, R_OK) == 0;
    dc_net *net;
    dc_status st = dc_net_build_shape_only(e->name, e->num_classes, &net, err);
    if (st != DC_OK)
        return st;
    r->info = dc_net_get_info(net);
    r->info.arch = e->name; /* the net's own string dies with it */
    r->info.dataset = e->dataset;
    dc_net_free(net);
    return DC_OK;
}

static void print_row(const model_row *r)
{
    const dc_zoo_entry *e = r->e;
    char input[24];
    snprintf(input, sizeof input, "%dx%dx%d", e->in_c, e->in_h, e->in_w);
    printf("%-20s %-13s %-9s %-11s %10.3f %10.2f  %-5s  %s\n", e->name, e->family, e->dataset,
           input, (double)r->info.params * 1e-6, (double)r->info.macs * 1e-6,
           r->present ? "yes" : "no", e->weights_url ? e->weights_url : "-");
}

static void json_row(cli_json *j, const model_row *r)
{
    const dc_zoo_entry *e = r->e;
    cli_json_object(j);
    cli_json_kv_str(j, "name", e->name);
    cli_json_kv_str(j, "family", e->family);
    cli_json_kv_str(j, "dataset", e->dataset);
    cli_json_key(j, "input");
    cli_json_array(j);
    cli_json_int(j, e->in_c);
    cli_json_int(j, e->in_h);
    cli_json_int(j, e->in_w);
    cli_json_close(j);
    cli_json_kv_int(j, "num_classes", e->num_classes);
    cli_json_kv_int(j, "params", r->info.params);
    cli_json_kv_int(j, "macs", r->info.macs);
    cli_json_kv_str(j, "weights_url", e->weights_url);
    cli_json_kv_str(j, "weights_file", r->weights);
    cli_json_kv_bool(j, "weights_present", r->present);
    cli_json_close(j);
}

int cmd_models(int argc, char **argv)
{
    bool json = false;
    const char *dataset = NULL, *wdir = NULL;
    cli_args a;
    int rc = cli_args_begin(&a, &models_spec, argc, argv);
    if (rc != CLI_OK)
        return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    for (int id; (id = cli_args_next(&a)) != CLI_ARG_END;) {
        switch (id) {
        case OPT_IMPLEMENTED: break; /* every architecture is built */
        case OPT_JSON: json = true; break;
        case OPT_DATASET: dataset = a.value; break;
        case OPT_WEIGHTS_DIR: wdir = a.value; break;
        }
    }
    cli_json j;
    if (json) {
        cli_json_begin(&j, stdout);
        cli_json_key(&j, "models");
        cli_json_array(&j);
    } else {
        printf("%-20s %-13s %-9s %-11s %10s %10s  %-5s  %s\n", "name", "family", "dataset",
               "input", "params(M)", "MACs(M)", "local", "weights URL");
    }
    int present = 0;
    dc_error err;
    for (int i = 0; i < dc_zoo_count(); i++) {
        const dc_zoo_entry *e = dc_zoo_at(i);
        model_row r;
        if (fill_row(e, dataset, wdir, &r, &err) != DC_OK)
            return cli_report("models", &err);
        present += r.present;
        if (json)
            json_row(&j, &r);
        else
            print_row(&r);
    }
    if (!json) {
        printf("%d architectures; weight files here for %d\n", dc_zoo_count(), present);
        return CLI_OK;
    }
    cli_json_close(&j);
    cli_json_kv_int(&j, "total", dc_zoo_count());
    cli_json_kv_int(&j, "weights_present", present);
    return cli_json_end(&j, &err) == DC_OK ? CLI_OK : cli_report("models", &err);
}
