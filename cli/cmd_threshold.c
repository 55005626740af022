/*
 * cmd_threshold.c — `dualcnn threshold`, the paper's threshold.py: for a pair of models, the
 * lambda of highest accuracy for each score, without and with post-check. Exact search by
 * default; -n N reproduces the original grid of N values.
 */
#include "cascade/csv.h"
#include "cascade/svg.h"
#include "cascade/threshold.h"
#include "cli/cli.h"
#include "cli/interrupt.h"
#include "cli/predict.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void threshold_help(FILE *f)
{
    fprintf(f,
        "usage: dualcnn threshold -m1 A -m2 B -v DIR [options]\n\n"
        "Finds the threshold (lambda) of highest accuracy for the cascade A -> B on a\n"
        "labelled split, for maxp, difference and entropy, without and with post-check.\n"
        "Predictions come from the cache of `dualcnn predict` (filled when missing).\n\n"
        "  -m1, --model1 NAME      first model\n"
        "  -m2, --model2 NAME      second model\n"
        "  -w1, --weights1 FILE    weight file of the first model (default:\n"
        "                          <weights dir>/<dataset>/<NAME>.h5)\n"
        "  -w2, --weights2 FILE    weight file of the second model\n"
        "  -v, --valset DIR        the dataset (as for `dualcnn run -i`)\n"
        "  -f, --dataset-root DIR  the same as -v\n"
        "  -t, --train             the training split instead of the test split\n"
        "  -D, --dataset NAME      data kind / weights subfolder (default: the model's)\n"
        "  -n, --n_threshold_values N\n"
        "                          the original's grid of N values in [0, 1] instead of\n"
        "                          the exact search over every distinct score\n"
        "  --max-loss P            also: the cheapest lambda within P accuracy points of\n"
        "                          the best\n"
        "  --max-usage U           also: the most accurate lambda that calls the second\n"
        "                          model for at most a share U (0..1) of the inputs\n"
        "  --curve FILE.csv        the whole accuracy / usage / MACs curve of each line\n"
        "  --svg FILE.svg          a plot of accuracy and usage against lambda\n"
        "  --skip N, --limit N, --cache DIR, --weights-dir DIR, --batch N, --threads N, -q\n"
        "                          as for `dualcnn predict`\n"
        "  -h, --help              this text\n\n"
        "Ctrl-C (or SIGTERM) while the predictions are computed stops after the current\n"
        "batch: no search is done, no file is written, unfinished predictions are not\n"
        "cached, and the exit status is 130 (143).\n");
}

typedef struct {
    dc_threshold_point *curve;
    int count, best;
} line_result;

static dc_pred_table table_of(const dc_predictions *p)
{
    dc_pred_table t = { .n = p->n, .label = p->label, .pred = p->pred, .macs = p->macs };
    for (int k = 0; k < 3; k++)
        t.score[k] = p->score[k];
    return t;
}

static void print_point(const char *what, const dc_threshold_point *p)
{
    printf("  %-26s lambda %.4f  accuracy %6.2f%%  usage %6.2f%%  MACs/image %8.3f M\n", what,
           p->lambda, 100.0 * p->accuracy, 100.0 * p->usage, p->macs_per_image * 1e-6);
}

enum {
    OPT_MODEL1 = 1, OPT_MODEL2, OPT_WEIGHTS1, OPT_WEIGHTS2, OPT_GRID, OPT_MAX_LOSS,
    OPT_MAX_USAGE, OPT_CURVE, OPT_SVG
};

static const cli_opt threshold_opts[] = {
    { OPT_MODEL1, "-m1 --model1", CLI_VALUE },
    { OPT_MODEL2, "-m2 --model2", CLI_VALUE },
    { OPT_WEIGHTS1, "-w1 --weights1", CLI_VALUE },
    { OPT_WEIGHTS2, "-w2 --weights2", CLI_VALUE },
    { OPT_GRID, "-n --n_threshold_values", CLI_VALUE },
    { OPT_MAX_LOSS, "--max-loss", CLI_VALUE },
    { OPT_MAX_USAGE, "--max-usage", CLI_VALUE },
    { OPT_CURVE, "--curve", CLI_VALUE },
    { OPT_SVG, "--svg", CLI_VALUE },
    { 0, NULL, CLI_FLAG },
};

static const cli_spec threshold_spec = {
    "threshold", { threshold_opts, predict_shared_opts }, threshold_help, false
};

int cmd_threshold(int argc, char **argv)
{
    predict_opts o = { .batch = 64 };
    const char *m1 = NULL, *m2 = NULL, *w1 = NULL, *w2 = NULL, *grid = NULL, *loss = NULL;
    const char *usage_s = NULL, *curve_csv = NULL, *svg = NULL;
    cli_args a;
    int rc = cli_args_begin(&a, &threshold_spec, argc, argv);
    if (rc != CLI_OK)
        return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    for (int id; (id = cli_args_next(&a)) != CLI_ARG_END;) {
        switch (id) {
        case OPT_MODEL1: m1 = a.value; break;
        case OPT_MODEL2: m2 = a.value; break;
        case OPT_WEIGHTS1: w1 = a.value; break;
        case OPT_WEIGHTS2: w2 = a.value; break;
        case OPT_GRID: grid = a.value; break;
        case OPT_MAX_LOSS: loss = a.value; break;
        case OPT_MAX_USAGE: usage_s = a.value; break;
        case OPT_CURVE: curve_csv = a.value; break;
        case OPT_SVG: svg = a.value; break;
        default: predict_apply_option(&o, id, a.value); break;
        }
    }
    if ((!m1 && !w1) || (!m2 && !w2))
        return cli_usage_error("threshold", "two models are needed: -m1/-w1 and -m2/-w2");
    int n_grid = 0;
    double max_loss = -1, max_usage = -1;
    char *end;
    if (!predict_options_valid("threshold", &o) ||
        (grid && !cli_parse_int("threshold", "-n", grid, 2, 100000000, &n_grid)))
        return CLI_USAGE;
    if (loss && ((max_loss = strtod(loss, &end)) < 0 || *end || end == loss || max_loss > 100))
        return cli_usage_error("threshold", "--max-loss must be accuracy points in [0, 100]");
    if (usage_s && ((max_usage = strtod(usage_s, &end)) < 0 || *end || end == usage_s ||
                    max_usage > 1))
        return cli_usage_error("threshold", "--max-usage must be a share in [0, 1]");

    cli_interrupt_install();
    dc_error err;
    dc_predictions p1 = { 0 }, p2 = { 0 };
    dc_status st = predict_get(&o, m1, w1, &p1, &err);
    if (st == DC_OK && !cli_interrupted())
        st = predict_get(&o, m2, w2, &p2, &err);
    if (st == DC_OK && cli_interrupted()) {
        fprintf(stderr, "dualcnn threshold: interrupted by %s while computing the models' "
                        "predictions: no search done, no file written, unfinished "
                        "predictions not cached\n", cli_interrupt_name());
        dc_predictions_free(&p1);
        dc_predictions_free(&p2);
        return cli_interrupt_status();
    }
    if (st == DC_OK && p1.n != p2.n)
        st = dc_fail(&err, DC_ERR_ARG, "the models saw different sample counts");
    if (st != DC_OK) {
        dc_predictions_free(&p1);
        dc_predictions_free(&p2);
        return cli_report("threshold", &err);
    }
    dc_pred_table t1 = table_of(&p1), t2 = table_of(&p2);
    char split[96];
    printf("%s -> %s on %s (%s)\n", p1.arch, p2.arch, o.path,
           cli_split_name(o.train, o.skip, p1.n, split, sizeof split));
    printf("alone: %s %.2f%% (%.3f MMACs), %s %.2f%% (%.3f MMACs)\n", p1.arch,
           100.0 * dc_predictions_accuracy(&p1), p1.macs * 1e-6, p2.arch,
           100.0 * dc_predictions_accuracy(&p2), p2.macs * 1e-6);
    printf("%s\n", n_grid ? "grid search (the original's)" : "exact search");

    line_result lines[3][2] = { 0 };
    dc_csv *csv = NULL;
    if (curve_csv)
        st = dc_csv_open(curve_csv, "score,postcheck,lambda,accuracy,usage,macs_per_image",
                         false, &csv, &err);
    for (int k = 0; k < 3 && st == DC_OK; k++) {
        for (int pc = 0; pc < 2 && st == DC_OK; pc++) {
            char what[48];
            snprintf(what, sizeof what, "%s%s", dc_score_name((dc_score_kind)k),
                     pc ? " + post-check" : "");
            line_result *l = &lines[k][pc];
            st = dc_threshold_curve(&t1, &t2, (dc_score_kind)k, pc, &l->curve, &l->count,
                                    &l->best, &err);
            if (st != DC_OK)
                break;
            if (n_grid) {
                dc_threshold_point g;
                st = dc_threshold_grid(&t1, &t2, (dc_score_kind)k, pc, n_grid, true, &g, &err);
                if (st == DC_OK)
                    print_point(what, &g);
            } else {
                print_point(what, &l->curve[l->best]);
            }
            if (max_loss >= 0) {
                int j = dc_threshold_cheapest_within(l->curve, l->count, max_loss);
                char w2s[64];
                snprintf(w2s, sizeof w2s, "  cheapest within %.2f pts", max_loss);
                if (j >= 0)
                    print_point(w2s, &l->curve[j]);
            }
            if (max_usage >= 0) {
                int j = dc_threshold_best_under_usage(l->curve, l->count, max_usage);
                char w2s[64];
                snprintf(w2s, sizeof w2s, "  best at usage <= %.2f", max_usage);
                if (j >= 0)
                    print_point(w2s, &l->curve[j]);
                else
                    printf("    (no lambda keeps usage <= %.2f)\n", max_usage);
            }
            for (int j = 0; csv && st == DC_OK && j < l->count; j++)
                st = dc_csv_row(csv, &err, "%s,%d,%.6f,%.6f,%.6f,%.0f",
                                dc_score_name((dc_score_kind)k), pc, l->curve[j].lambda,
                                l->curve[j].accuracy, l->curve[j].usage,
                                l->curve[j].macs_per_image);
        }
    }
    if (csv)
        st = st == DC_OK ? dc_csv_commit(csv, &err) : (dc_csv_abort(csv), st);
    if (st == DC_OK && svg) {
        const dc_threshold_point *curves[3][2];
        int counts[3][2], best[3][2];
        for (int k = 0; k < 3; k++)
            for (int pc = 0; pc < 2; pc++) {
                curves[k][pc] = lines[k][pc].curve;
                counts[k][pc] = lines[k][pc].count;
                best[k][pc] = lines[k][pc].best;
            }
        char title[160];
        snprintf(title, sizeof title, "%s -> %s: accuracy and second-model usage", p1.arch,
                 p2.arch);
        st = dc_svg_threshold_plot(svg, title, curves, counts, best, &err);
    }
    for (int k = 0; k < 3; k++)
        for (int pc = 0; pc < 2; pc++)
            free(lines[k][pc].curve);
    dc_predictions_free(&p1);
    dc_predictions_free(&p2);
    if (st != DC_OK)
        return cli_report("threshold", &err);
    if (curve_csv)
        printf("curve: %s\n", curve_csv);
    if (svg)
        printf("plot: %s\n", svg);
    return CLI_OK;
}
