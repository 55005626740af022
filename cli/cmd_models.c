/* cmd_models.c — `dualcnn models`: the registry, with the cost of each built architecture. */
#include "cli/argparse.h"
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static void models_help(FILE *f)
{
    fprintf(f, "usage: dualcnn models [--implemented]\n\n"
               "Lists the 59 architectures of the zoo: the dataset their official weights\n"
               "are for, the input size, trainable parameters and multiply-accumulates per\n"
               "image (conv and linear layers, as the model's inference form runs them) and\n"
               "whether dualcnn builds them yet.\n\n"
               "  --implemented   list only the architectures that are built\n"
               "  -h, --help      this text\n");
}

enum { OPT_IMPLEMENTED = 1 };

static const cli_opt models_opts[] = {
    { OPT_IMPLEMENTED, "--implemented", CLI_FLAG },
    { 0, NULL, CLI_FLAG },
};

static const cli_spec models_spec = { "models", { models_opts }, models_help, false };

int cmd_models(int argc, char **argv)
{
    bool only_implemented = false;
    cli_args a;
    int rc = cli_args_begin(&a, &models_spec, argc, argv);
    if (rc != CLI_OK)
        return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    for (int id; (id = cli_args_next(&a)) != CLI_ARG_END;)
        if (id == OPT_IMPLEMENTED)
            only_implemented = true;
    printf("%-20s %-13s %-9s %-11s %10s %10s  %s\n", "name", "family", "dataset", "input",
           "params(M)", "MACs(M)", "status");
    int built = 0;
    for (int i = 0; i < dc_zoo_count(); i++) {
        const dc_zoo_entry *e = dc_zoo_at(i);
        if (only_implemented && !e->implemented)
            continue;
        char input[24];
        snprintf(input, sizeof input, "%dx%dx%d", e->in_c, e->in_h, e->in_w);
        if (!e->implemented) {
            printf("%-20s %-13s %-9s %-11s %10s %10s  %s\n", e->name, e->family, e->dataset,
                   input, "-", "-", "not yet implemented");
            continue;
        }
        dc_net *net;
        dc_error err;
        if (dc_net_build_shape_only(e->name, e->num_classes, &net, &err) != DC_OK)
            return cli_report("models", &err);
        dc_net_info info = dc_net_get_info(net);
        printf("%-20s %-13s %-9s %-11s %10.3f %10.2f  %s\n", e->name, e->family, e->dataset,
               input, (double)info.params * 1e-6, (double)info.macs * 1e-6, "implemented");
        dc_net_free(net);
        built++;
    }
    printf("%d of %d architectures implemented\n", built, dc_zoo_count());
    return CLI_OK;
}
