/*
 * cmd_complementarity.c — `dualcnn complementarity`, the paper's complementarity.py: how
 * well each pair of models covers the other's mistakes, from their cached predictions.
 */
#include "cascade/complementarity.h"
#include "cascade/svg.h"
#include "cli/cli.h"
#include "cli/interrupt.h"
#include "cli/predict.h"
#include "cli/sweep.h"

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
        "  -M, --models LIST       comma-separated architecture names (2 to 64)\n"
        "  -v, --valset DIR        the dataset (as for `dualcnn run -i`)\n"
        "  -f, --dataset-root DIR  the same as -v\n"
        "  -t, --train             the training split instead of the test split\n"
        "  -D, --dataset NAME      data kind / weights subfolder (default: each model's)\n"
        "  --csv FILE              the paper's matrix (default complementarity.csv)\n"
        "  --code-csv FILE         the original code's variant\n"
        "  --ranking FILE          the ranked pairs as CSV\n"
        "  --svg FILE              a heatmap of the paper's matrix\n"
        "  --skip N, --limit N, --cache DIR, --weights-dir DIR, --batch N, --threads N, -q\n"
        "                          as for `dualcnn predict`\n"
        "  -w DIR                  the same as --weights-dir\n"
        "  -h, --help              this text\n\n"
        "Ctrl-C (or SIGTERM) stops after the current batch: the report covers the models\n"
        "whose predictions are complete, marked partial; no file is written and the exit\n"
        "status is 130 (143).\n");
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

enum { OPT_MODELS = 1, OPT_CSV, OPT_CODE_CSV, OPT_RANKING, OPT_SVG, OPT_WEIGHTS_DIR };

static const cli_opt complementarity_opts[] = {
    { OPT_MODELS, "-M --models", CLI_VALUE },
    { OPT_CSV, "--csv", CLI_VALUE },
    { OPT_CODE_CSV, "--code-csv", CLI_VALUE },
    { OPT_RANKING, "--ranking", CLI_VALUE },
    { OPT_SVG, "--svg", CLI_VALUE },
    { OPT_WEIGHTS_DIR, "-w", CLI_VALUE }, /* --weights-dir is a shared option */
    { 0, NULL, CLI_FLAG },
};

static const cli_spec complementarity_spec = {
    "complementarity", { complementarity_opts, predict_shared_opts }, complementarity_help,
    false
};

int cmd_complementarity(int argc, char **argv)
{
    predict_opts o = { .batch = 64 };
    const char *models = NULL, *csv = "complementarity.csv", *code_csv = NULL, *rank_csv = NULL;
    const char *svg = NULL;
    cli_args a;
    int rc = cli_args_begin(&a, &complementarity_spec, argc, argv);
    if (rc != CLI_OK)
        return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    for (int id; (id = cli_args_next(&a)) != CLI_ARG_END;) {
        switch (id) {
        case OPT_MODELS: models = a.value; break;
        case OPT_CSV: csv = a.value; break;
        case OPT_CODE_CSV: code_csv = a.value; break;
        case OPT_RANKING: rank_csv = a.value; break;
        case OPT_SVG: svg = a.value; break;
        case OPT_WEIGHTS_DIR: o.weights_dir = a.value; break;
        default: predict_apply_option(&o, id, a.value); break;
        }
    }
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
    int wanted = k, done = 0;
    if (sweep_under_mpirun()) {
        /* the ranks share the predictions out; rank 0 then reads them from the cache */
        sweep_model sm[MAX_MODELS];
        for (int m = 0; m < k; m++)
            sm[m] = (sweep_model){ names[m], NULL };
        bool lead;
        if (o.no_cache)
            st = dc_fail(&err, DC_ERR_ARG, "under mpirun the ranks share the work through the "
                         "prediction cache: drop --no-cache");
        else
            st = sweep_predict(&o, sm, k, &lead, &err);
        if (st != DC_OK || !lead) {
            free(list);
            sweep_finish();
            return st != DC_OK ? cli_report("complementarity", &err) : CLI_OK;
        }
    }
    cli_interrupt_install();
    for (int m = 0; m < k && st == DC_OK && !cli_interrupted(); m++) {
        st = predict_get(&o, names[m], NULL, &p[m], &err);
        if (st == DC_OK && cli_interrupted()) { /* this model's predictions are partial */
            dc_predictions_free(&p[m]);
            break;
        }
        if (st == DC_OK && p[m].n != p[0].n)
            st = dc_fail(&err, DC_ERR_ARG, "%s saw %d samples, %s %d", names[m], p[m].n,
                         names[0], p[0].n);
        if (st == DC_OK && !(correct[m] = malloc((size_t)(p[m].n ? p[m].n : 1))))
            st = dc_fail(&err, DC_ERR_NOMEM, "out of memory");
        for (int i = 0; st == DC_OK && i < p[m].n; i++)
            correct[m][i] = p[m].pred[i] == p[m].label[i];
        macs[m] = p[m].macs;
        done = m + 1;
    }
    bool interrupted = cli_interrupted();
    if (interrupted) { /* a partial report over the models done */
        k = done;
        printf("PARTIAL REPORT: interrupted by %s after %d of %d models' predictions\n",
               cli_interrupt_name(), done, wanted);
        if (k < 2 && st == DC_OK)
            printf("no pair of models is complete\n");
    }
    double *paper = calloc((size_t)k * k, sizeof *paper), *code = calloc((size_t)k * k, sizeof *code);
    dc_complementarity_pair *pairs = NULL;
    int n_pairs = 0;
    if (st == DC_OK && (!paper || !code))
        st = dc_fail(&err, DC_ERR_NOMEM, "out of memory");
    bool report = st == DC_OK && k >= 2;
    if (report)
        st = dc_complementarity_matrix((const bool *const *)correct, k, p[0].n, paper, code, &err);
    if (report && st == DC_OK)
        st = dc_complementarity_rank((const bool *const *)correct, macs, k, p[0].n, &pairs,
                                     &n_pairs, &err);
    if (report && st == DC_OK) {
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
    bool write = st == DC_OK && !interrupted; /* existing files stay as they were */
    if (write && csv)
        st = dc_complementarity_write_csv(csv, (const char *const *)names, k, paper, &err);
    if (write && st == DC_OK && code_csv)
        st = dc_complementarity_write_csv(code_csv, (const char *const *)names, k, code, &err);
    if (write && st == DC_OK && rank_csv)
        st = dc_complementarity_write_ranking_csv(rank_csv, (const char *const *)names, pairs,
                                                  n_pairs, &err);
    if (write && st == DC_OK && svg)
        st = dc_svg_heatmap(svg, "complementarity (paper's formula)",
                            (const char *const *)names, k, paper, "complementarity", &err);
    if (write && st == DC_OK) {
        printf("\nmatrix: %s", csv);
        if (code_csv)
            printf(", code variant: %s", code_csv);
        if (rank_csv)
            printf(", ranking: %s", rank_csv);
        if (svg)
            printf(", heatmap: %s", svg);
        printf("\n");
    }
    for (int m = 0; m < wanted; m++) {
        dc_predictions_free(&p[m]);
        free(correct[m]);
    }
    free(pairs);
    free(paper);
    free(code);
    free(list);
    rc = st == DC_OK ? CLI_OK : cli_report("complementarity", &err);
    if (!interrupted)
        return rc;
    fprintf(stderr, "dualcnn complementarity: interrupted by %s: partial report; unfinished "
                    "predictions are not cached and no file is written\n",
            cli_interrupt_name());
    return cli_interrupt_status();
}
