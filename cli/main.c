/*
 * main.c — the `dualcnn` program: one binary, one subcommand per job.
 */
#include "cli/bench.h"
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    { "models", cmd_models, "list the 59 architectures: dataset, params, MACs, status" },
    { "infer", cmd_infer, "run a weight file on a float32 NCHW .npy batch, write logits" },
    { "classify", cmd_classify, "top-5 classes of PNG/JPEG images" },
    { "bench", cmd_bench, "time a model: latency median and spread, GFLOP/s, peak RSS" },
    { "run", cmd_run, "the cascade over a dataset: the paper's main.py, with a report" },
    { "predict", cmd_predict, "cache a model's per-sample outputs on a dataset split" },
    { "threshold", cmd_threshold, "the lambda of highest accuracy for a pair (threshold.py)" },
    { "complementarity", cmd_complementarity, "how well models cover each other's mistakes" },
    { "convert", cmd_convert, "a PyTorch checkpoint (.pt/.pth) to a weight file, without Python" },
    { "fetch", cmd_fetch, "download, check and convert an architecture's official weights" },
};

static void print_help(FILE *f)
{
    fprintf(f, "usage: dualcnn <command> [options]\n"
               "       dualcnn help <command>\n"
               "       dualcnn --version\n\n"
               "A CNN inference engine and the dual-CNN cascade of Kinnas et al. (FGCS 2024).\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-15s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\noptions:\n"
               "  -h, --help      this text\n"
               "  --version       the version, the BLAS library and the CPU\n\n"
               "'dualcnn help <command>' or 'dualcnn <command> --help' describes a command's\n"
               "options. Long options may be shortened to any unambiguous prefix and take\n"
               "their value as --name=VALUE too.\n");
}

static void print_version(void)
{
    char cpu[256], blas[512];
    printf("dualcnn %s\nblas: %s\ncpu: %s\n", cli_version(), cli_blas_name(blas, sizeof blas),
           cli_cpu_model(cpu, sizeof cpu));
}

static const command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(name, commands[i].name) == 0)
            return &commands[i];
    return NULL;
}

static int unknown_command(const char *name)
{
    fprintf(stderr, "dualcnn: unknown command '%s'\n\n", name);
    print_help(stderr);
    return CLI_USAGE;
}

/* `dualcnn help [COMMAND]`: the command's own --help, or this program's. */
static int help_command(int argc, char **argv)
{
    if (argc < 3) {
        print_help(stdout);
        return CLI_OK;
    }
    const command *c = find_command(argv[2]);
    if (!c)
        return unknown_command(argv[2]);
    static char help_flag[] = "--help";
    char *help_argv[] = { argv[2], help_flag, NULL };
    return c->run(2, help_argv);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_help(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        print_help(stdout);
        return CLI_OK;
    }
    if (strcmp(argv[1], "help") == 0)
        return help_command(argc, argv);
    if (strcmp(argv[1], "--version") == 0) {
        print_version();
        return CLI_OK;
    }
    const command *c = find_command(argv[1]);
    return c ? c->run(argc - 1, argv + 1) : unknown_command(argv[1]);
}
