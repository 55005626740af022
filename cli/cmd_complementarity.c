/*
 * cmd_complementarity.c — `dualcnn complementarity`, the paper's complementarity.py: how
 * well each pair of models covers the other's mistakes, from their cached predictions.
 */
#include "cascade/complementarity.h"
#include "cascade/svg.h"
#include "cli/cli.h"
#include "cli/predict.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MODELS 64

static void complementarity_help(FILE *f)
{
    fprintf(f,
        "usage: dualcnn complementarity --models a,b,c,... -v DIR [options]\n\n"
        "Computes, for every pair of models, the paper's complementarity\n"
        "  (n(a or b right) - n(both right) - |n(a right) - n(b right)|) / N\n"
        "and the original code's variant (the share of samples exactly one model gets\n"
        "right), prints both matrices and ranks the pairs by complementarity per combined\n"
        "GMACs. Predictions come from the cache of `dualcnn predict` (filled when missing).\n"
        "Weights: <weights dir>/<dataset>/<name>.h5 for each name.\n\n"
        "  --models LIST           comma-separated architecture names (2 to 64)\n"
        "  -v, --valset DIR        the dataset (as for `dualcnn run -i`)\n"
        "  -t, --train             the training split instead of the test split\n"
        "  -D, --dataset NAME      data kind / weights subfolder (default: each model's)\n"
        "  --csv FILE              the paper's matrix (default complementarity.csv)\n"
        "  --code-csv FILE         the original code's variant\n"
        "  --ranking FILE          the ranked pairs as CSV\n"
        "  --svg FILE              a heatmap of the paper's matrix\n"
        "  --skip N, --limit N, --cache DIR, --weights-dir DIR, --batch N, --threads N, -q\n"
        "                          as for `dualcnn predict`\n"
        "  -h, --help              this text\n");
}

static void print_matrix(const char *title, char **names, int k, const double *m)
{
    printf("\n%s\n%18s", title, "");
    for (int j = 0; j < k; j++)
        printf(" %8.8s", names[j]);
    printf("\n");
    for (int i = 0; i < k; i++) {
        printf("%18.18s", names[i]);
        for (int j = 0; j < k; j++)
            printf(" %8.4f", m[i * k + j]);
        printf("\n");
    }
}

int cmd_complementarity(int argc, char **argv)
{
    predict_opts o = { .batch = 64 };
    const char *models = NULL, *csv = "complementarity.csv", *code_csv = NULL, *rank_csv = NULL;
    const char *svg = NULL;
    bool ok = true;
    for (int i = 1; i < argc && ok; i++) {
        if (cli_flag(argc, argv, &i, "-h", "--help")) {
            complementarity_help(stdout);
            return CLI_OK;
        } else if (cli_option(argc, argv, &i, "--models", "-M", &models, &ok) ||
                   cli_option(argc, argv, &i, "--csv", NULL, &csv, &ok) ||
                   cli_option(argc, argv, &i, "--code-csv", NULL, &code_csv, &ok) ||
                   cli_option(argc, argv, &i, "--ranking", NULL, &rank_csv, &ok) ||
                   cli_option(argc, argv, &i, "--svg", NULL, &svg, &ok) ||
                   cli_option(argc, argv, &i, "-w", NULL, &o.weights_dir, &ok) ||
                   predict_option(argc, argv, &i, &o, &ok)) {
        } else {
            return cli_usage_error("complementarity", "unknown option '%s'", argv[i]);
        }
    }
    if (!ok)
        return CLI_USAGE;
    if (!models)
        return cli_usage_error("complementarity", "--models is required");
    if (!predict_options_valid("complementarity", &o))
        return CLI_USAGE;

    char *list = strdup(models), *names[MAX_MODELS];
    int k = 0;
    for (char *tok = strtok(list, ","); tok && k < MAX_MODELS; tok = strtok(NULL, ","))
        if (*tok)
            names[k++] = tok;
    if (k < 2) {
        free(list);
        return cli_usage_error("complementarity", "--models needs at least two names");
    }
    dc_error err;
    dc_status st = DC_OK;
    dc_predictions p[MAX_MODELS] = { 0 };
    bool *correct[MAX_MODELS] = { 0 };
    int64_t macs[MAX_MODELS];
    for (int m = 0; m < k && st == DC_OK; m++) {
        st = predict_get(&o, names[m], NULL, &p[m], &err);
        if (st == DC_OK && p[m].n != p[0].n)
            st = dc_fail(&err, DC_ERR_ARG, "%s saw %d samples, %s %d", names[m], p[m].n,
                         names[0], p[0].n);
        if (st == DC_OK && !(correct[m] = malloc((size_t)(p[m].n ? p[m].n : 1))))
            st = dc_fail(&err, DC_ERR_NOMEM, "out of memory");
        for (int i = 0; st == DC_OK && i < p[m].n; i++)
            correct[m][i] = p[m].pred[i] == p[m].label[i];
        macs[m] = p[m].macs;
    }
    double *paper = calloc((size_t)k * k, sizeof *paper), *code = calloc((size_t)k * k, sizeof *code);
    dc_complementarity_pair *pairs = NULL;
    int n_pairs = 0;
    if (st == DC_OK && (!paper || !code))
        st = dc_fail(&err, DC_ERR_NOMEM, "out of memory");
    if (st == DC_OK)
        st = dc_complementarity_matrix((const bool *const *)correct, k, p[0].n, paper, code, &err);
    if (st == DC_OK)
        st = dc_complementarity_rank((const bool *const *)correct, macs, k, p[0].n, &pairs,
                                     &n_pairs, &err);
    if (st == DC_OK) {
        char split[96];
        printf("%d models on %s (%s)\n", k, o.path,
               cli_split_name(o.train, o.skip, p[0].n, split, sizeof split));
        for (int m = 0; m < k; m++)
            printf("  %-20s accuracy %6.2f%%  %9.3f MMACs\n", names[m],
                   100.0 * dc_predictions_accuracy(&p[m]), macs[m] * 1e-6);
        print_matrix("complementarity (paper: (n(a|b) - n(a&b) - |n(a) - n(b)|) / N)", names, k,
                     paper);
        print_matrix("complementarity (original code: exactly one right)", names, k, code);
        printf("\npairs by complementarity per combined GMACs\n");
        printf("  %-20s %-20s %8s %8s %8s %9s %10s\n", "first", "second", "paper", "code",
               "either", "GMACs", "per GMAC");
        for (int j = 0; j < n_pairs && j < 15; j++)
            printf("  %-20s %-20s %8.4f %8.4f %7.2f%% %9.4f %10.4f\n", names[pairs[j].a],
                   names[pairs[j].b], pairs[j].paper, pairs[j].code, 100.0 * pairs[j].oracle,
                   pairs[j].gmacs, pairs[j].per_gmac);
    }
    if (st == DC_OK && csv)
        st = dc_complementarity_write_csv(csv, (const char *const *)names, k, paper, &err);
    if (st == DC_OK && code_csv)
        st = dc_complementarity_write_csv(code_csv, (const char *const *)names, k, code, &err);
    if (st == DC_OK && rank_csv)
        st = dc_complementarity_write_ranking_csv(rank_csv, (const char *const *)names, pairs,
                                                  n_pairs, &err);
    if (st == DC_OK && svg)
        st = dc_svg_heatmap(svg, "complementarity (paper's formula)",
                            (const char *const *)names, k, paper, "complementarity", &err);
    if (st == DC_OK) {
        printf("\nmatrix: %s", csv);
        if (code_csv)
            printf(", code variant: %s", code_csv);
        if (rank_csv)
            printf(", ranking: %s", rank_csv);
        if (svg)
            printf(", heatmap: %s", svg);
        printf("\n");
    }
    for (int m = 0; m < k; m++) {
        dc_predictions_free(&p[m]);
        free(correct[m]);
    }
    free(pairs);
    free(paper);
    free(code);
    free(list);
    return st == DC_OK ? CLI_OK : cli_report("complementarity", &err);
}
