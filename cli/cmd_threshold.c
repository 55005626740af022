/*
 * cmd_threshold.c — `dualcnn threshold`, the paper's threshold.py: for a pair of models, the
 * lambda of highest accuracy for each score, without and with post-check. Exact search by
 * default; -n N reproduces the original grid of N values.
 */
#include "cascade/csv.h"
#include "cascade/svg.h"
#include "cascade/threshold.h"
#include "cli/check.h"
#include "cli/cli.h"
#include "cli/interrupt.h"
#include "cli/json.h"
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
        "  --json                  print the result as one JSON object on stdout (each\n"
        "                          score x post-check: lambda, accuracy, usage, MACs; the\n"
        "                          chosen operating points); other messages on stderr\n"
        "  --skip N, --limit N, --cache-dir DIR, --weights-dir DIR, --batch N, --threads N,\n"
        "  -q, --quiet             as for `dualcnn predict` (a progress line on a terminal\n"
        "                          while predictions are computed; -q silences it)\n"
        "  -h, --help              this text\n\n"
        "Besides each line's best, it prints the chosen operating points over all six\n"
        "lines: the most accurate (ties: the least second-model usage), with --max-loss the\n"
        "cheapest in MACs within P points of it, with --max-usage the most accurate within\n"
        "the usage budget. Both models' names and weight files, the dataset and every\n"
        "output's folder are checked before any model runs.\n\n"
        "Ctrl-C (or SIGTERM) while the predictions are computed stops after the current\n"
        "batch: no search is done, no file is written, unfinished predictions are not\n"
        "cached, and the exit status is 130 (143).\n");
}

/* One line of the search: a score kind, without or with post-check. */
typedef struct {
    dc_threshold_point *curve;   /* the exact curve (malloc'ed) */
    int count, best;
    dc_threshold_point shown;    /* the line's answer: the exact best, or the grid's */
    int within, under;           /* --max-loss, --max-usage points on the curve, or -1 */
} line_result;

/* An operating point chosen over all lines. */
typedef struct {
    int kind, postcheck;         /* kind -1: none */
    dc_threshold_point point;
} chosen_point;

typedef struct {
    predict_opts o;
    const char *m1, *m2, *w1, *w2, *curve_csv, *svg;
    int n_grid;
    double max_loss, max_usage;  /* -1: not asked */
    bool json;
} threshold_args;

typedef struct {
    line_result lines[3][2];
    chosen_point most_accurate, cheapest_within, best_under_usage;
} threshold_result;

static dc_pred_table table_of(const dc_predictions *p)
{
    dc_pred_table t = { .n = p->n, .label = p->label, .pred = p->pred, .macs = p->macs };
    for (int k = 0; k < 3; k++)
        t.score[k] = p->score[k];
    return t;
}

enum {
    OPT_MODEL1 = 1, OPT_MODEL2, OPT_WEIGHTS1, OPT_WEIGHTS2, OPT_GRID, OPT_MAX_LOSS,
    OPT_MAX_USAGE, OPT_CURVE, OPT_SVG, OPT_JSON
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
    { OPT_JSON, "--json", CLI_FLAG },
    { 0, NULL, CLI_FLAG },
};

static const cli_spec threshold_spec = {
    "threshold", { threshold_opts, predict_shared_opts }, threshold_help, false
};

static bool parse_share(const char *s, double hi, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= 0 && v <= hi))
        return false;
    *out = v;
    return true;
}

/* Reads the command line into t. Returns CLI_OK, CLI_USAGE or CLI_HELP_SHOWN. */
static int parse_args(int argc, char **argv, threshold_args *t)
{
    const char *grid = NULL, *loss = NULL, *usage = NULL;
    cli_args a;
    int rc = cli_args_begin(&a, &threshold_spec, argc, argv);
    if (rc != CLI_OK)
        return rc;
    for (int id; (id = cli_args_next(&a)) != CLI_ARG_END;) {
        switch (id) {
        case OPT_MODEL1: t->m1 = a.value; break;
        case OPT_MODEL2: t->m2 = a.value; break;
        case OPT_WEIGHTS1: t->w1 = a.value; break;
        case OPT_WEIGHTS2: t->w2 = a.value; break;
        case OPT_GRID: grid = a.value; break;
        case OPT_MAX_LOSS: loss = a.value; break;
        case OPT_MAX_USAGE: usage = a.value; break;
        case OPT_CURVE: t->curve_csv = a.value; break;
        case OPT_SVG: t->svg = a.value; break;
        case OPT_JSON: t->json = true; break;
        default: predict_apply_option(&t->o, id, a.value); break;
        }
    }
    if ((!t->m1 && !t->w1) || (!t->m2 && !t->w2))
        return cli_usage_error("threshold", "two models are needed: -m1/-w1 and -m2/-w2");
    if (!predict_options_valid("threshold", &t->o) ||
        (grid && !cli_parse_int("threshold", "-n", grid, 2, 100000000, &t->n_grid)))
        return CLI_USAGE;
    if (loss && !parse_share(loss, 100, &t->max_loss))
        return cli_usage_error("threshold", "--max-loss must be accuracy points in [0, 100]");
    if (usage && !parse_share(usage, 1, &t->max_usage))
        return cli_usage_error("threshold", "--max-usage must be a share in [0, 1]");
    return CLI_OK;
}

/* Everything named on the command line, before any model runs. */
static dc_status check_args(const threshold_args *t, dc_error *err)
{
    dc_status st = predict_check(&t->o, t->w1 ? "-w1" : "-m1", t->m1, t->w1, err);
    if (st == DC_OK)
        st = predict_check(&t->o, t->w2 ? "-w2" : "-m2", t->m2, t->w2, err);
    if (st == DC_OK)
        st = cli_check_output("--curve", t->curve_csv, err);
    if (st == DC_OK)
        st = cli_check_output("--svg", t->svg, err);
    return st;
}

/* Whether a is a better "most accurate" point than b: more accurate, then fewer
 * second-model calls. */
static bool more_accurate(const dc_threshold_point *a, const dc_threshold_point *b)
{
    return a->accuracy > b->accuracy ||
           (a->accuracy == b->accuracy && a->escalated < b->escalated);
}

/* The operating points over all six lines (see the help). */
static void choose_points(const threshold_args *t, threshold_result *r)
{
    r->most_accurate.kind = r->cheapest_within.kind = r->best_under_usage.kind = -1;
    for (int k = 0; k < 3; k++)
        for (int pc = 0; pc < 2; pc++) {
            const dc_threshold_point *p = &r->lines[k][pc].shown;
            if (r->most_accurate.kind < 0 || more_accurate(p, &r->most_accurate.point))
                r->most_accurate = (chosen_point){ k, pc, *p };
        }
    double floor = r->most_accurate.point.accuracy - t->max_loss / 100.0 - 1e-12;
    for (int k = 0; k < 3; k++)
        for (int pc = 0; pc < 2; pc++) {
            const line_result *l = &r->lines[k][pc];
            for (int j = 0; j < l->count; j++) {
                const dc_threshold_point *p = &l->curve[j];
                chosen_point *c = &r->cheapest_within;
                if (t->max_loss >= 0 && p->accuracy >= floor &&
                    (c->kind < 0 || p->macs_per_image < c->point.macs_per_image ||
                     (p->macs_per_image == c->point.macs_per_image &&
                      p->accuracy > c->point.accuracy)))
                    *c = (chosen_point){ k, pc, *p };
                c = &r->best_under_usage;
                if (t->max_usage >= 0 && p->usage <= t->max_usage &&
                    (c->kind < 0 || more_accurate(p, &c->point)))
                    *c = (chosen_point){ k, pc, *p };
            }
        }
}

/* The six lines: each curve, its answer and its --max-loss / --max-usage points. */
static dc_status search_lines(const threshold_args *t, const dc_pred_table *t1,
                              const dc_pred_table *t2, threshold_result *r, dc_error *err)
{
    for (int k = 0; k < 3; k++) {
        for (int pc = 0; pc < 2; pc++) {
            line_result *l = &r->lines[k][pc];
            dc_status st = dc_threshold_curve(t1, t2, (dc_score_kind)k, pc, &l->curve,
                                              &l->count, &l->best, err);
            if (st != DC_OK)
                return st;
            l->shown = l->curve[l->best];
            if (t->n_grid && (st = dc_threshold_grid(t1, t2, (dc_score_kind)k, pc, t->n_grid,
                                                     true, &l->shown, err)) != DC_OK)
                return st;
            l->within = t->max_loss >= 0
                            ? dc_threshold_cheapest_within(l->curve, l->count, t->max_loss)
                            : -1;
            l->under = t->max_usage >= 0
                           ? dc_threshold_best_under_usage(l->curve, l->count, t->max_usage)
                           : -1;
        }
    }
    choose_points(t, r);
    return DC_OK;
}

static void print_point(const char *what, const dc_threshold_point *p)
{
    printf("  %-26s lambda %.4f  accuracy %6.2f%%  usage %6.2f%%  MACs/image %8.3f M\n", what,
           p->lambda, 100.0 * p->accuracy, 100.0 * p->usage, p->macs_per_image * 1e-6);
}

static void line_name(int k, int pc, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s%s", dc_score_name((dc_score_kind)k), pc ? " + post-check" : "");
}

static void print_chosen(const char *what, const chosen_point *c)
{
    if (c->kind < 0)
        return;
    char name[48];
    line_name(c->kind, c->postcheck, name, sizeof name);
    printf("chosen %-17s %-26s lambda %.4f  accuracy %6.2f%%  usage %6.2f%%  MACs/image "
           "%8.3f M\n", what, name, c->point.lambda, 100.0 * c->point.accuracy, 100.0 * c->point.usage,
           c->point.macs_per_image * 1e-6);
}

static void print_text(const threshold_args *t, const dc_predictions *p1,
                       const dc_predictions *p2, const threshold_result *r)
{
    char split[96];
    printf("%s -> %s on %s (%s)\n", p1->arch, p2->arch, t->o.path,
           cli_split_name(t->o.train, t->o.skip, p1->n, split, sizeof split));
    printf("alone: %s %.2f%% (%.3f MMACs), %s %.2f%% (%.3f MMACs)\n", p1->arch,
           100.0 * dc_predictions_accuracy(p1), p1->macs * 1e-6, p2->arch,
           100.0 * dc_predictions_accuracy(p2), p2->macs * 1e-6);
    printf("%s\n", t->n_grid ? "grid search (the original's)" : "exact search");
    for (int k = 0; k < 3; k++)
        for (int pc = 0; pc < 2; pc++) {
            const line_result *l = &r->lines[k][pc];
            char what[64];
            line_name(k, pc, what, sizeof what);
            print_point(what, &l->shown);
            if (l->within >= 0) {
                snprintf(what, sizeof what, "  cheapest within %.2f pts", t->max_loss);
                print_point(what, &l->curve[l->within]);
            }
            if (t->max_usage >= 0 && l->under >= 0) {
                snprintf(what, sizeof what, "  best at usage <= %.2f", t->max_usage);
                print_point(what, &l->curve[l->under]);
            } else if (t->max_usage >= 0) {
                printf("    (no lambda keeps usage <= %.2f)\n", t->max_usage);
            }
        }
    print_chosen("most accurate:", &r->most_accurate);
    print_chosen("cheapest within:", &r->cheapest_within);
    print_chosen("best under usage:", &r->best_under_usage);
    if (t->max_usage >= 0 && r->best_under_usage.kind < 0)
        printf("chosen best under usage: none keeps usage <= %.2f\n", t->max_usage);
    if (t->curve_csv)
        printf("curve: %s\n", t->curve_csv);
    if (t->svg)
        printf("plot: %s\n", t->svg);
}

static void json_point(cli_json *j, const char *key, const dc_threshold_point *p)
{
    cli_json_key(j, key);
    if (!p) {
        cli_json_null(j);
        return;
    }
    cli_json_object(j);
    cli_json_kv_num(j, "lambda", p->lambda);
    cli_json_kv_num(j, "accuracy", p->accuracy);
    cli_json_kv_num(j, "usage", p->usage);
    cli_json_kv_num(j, "macs_per_image", p->macs_per_image);
    cli_json_kv_int(j, "correct", p->correct);
    cli_json_kv_int(j, "escalated", p->escalated);
    cli_json_close(j);
}

static void json_chosen(cli_json *j, const char *key, const chosen_point *c)
{
    cli_json_key(j, key);
    if (c->kind < 0) {
        cli_json_null(j);
        return;
    }
    cli_json_object(j);
    cli_json_kv_str(j, "score", dc_score_name((dc_score_kind)c->kind));
    cli_json_kv_bool(j, "postcheck", c->postcheck);
    json_point(j, "point", &c->point);
    cli_json_close(j);
}

static void json_model(cli_json *j, const dc_predictions *p)
{
    cli_json_object(j);
    cli_json_kv_str(j, "model", p->arch);
    cli_json_kv_num(j, "accuracy", dc_predictions_accuracy(p));
    cli_json_kv_int(j, "macs_per_image", p->macs);
    cli_json_close(j);
}

static dc_status write_json(const threshold_args *t, const dc_predictions *p1,
                            const dc_predictions *p2, const threshold_result *r, dc_error *err)
{
    cli_json j;
    cli_json_begin(&j, stdout);
    cli_json_kv_str(&j, "model1", p1->arch);
    cli_json_kv_str(&j, "model2", p2->arch);
    cli_json_kv_str(&j, "dataset_path", t->o.path);
    cli_json_kv_str(&j, "split", t->o.train ? "train" : "test");
    cli_json_kv_int(&j, "skip", t->o.skip);
    cli_json_kv_int(&j, "samples", p1->n);
    cli_json_kv_str(&j, "search", t->n_grid ? "grid" : "exact");
    cli_json_key(&j, "grid_values");
    t->n_grid ? cli_json_int(&j, t->n_grid) : cli_json_null(&j);
    cli_json_key(&j, "alone");
    cli_json_array(&j);
    json_model(&j, p1);
    json_model(&j, p2);
    cli_json_close(&j);
    cli_json_key(&j, "lines");
    cli_json_array(&j);
    for (int k = 0; k < 3; k++)
        for (int pc = 0; pc < 2; pc++) {
            const line_result *l = &r->lines[k][pc];
            cli_json_object(&j);
            cli_json_kv_str(&j, "score", dc_score_name((dc_score_kind)k));
            cli_json_kv_bool(&j, "postcheck", pc);
            json_point(&j, "best", &l->shown);
            json_point(&j, "cheapest_within", l->within >= 0 ? &l->curve[l->within] : NULL);
            json_point(&j, "best_under_usage", l->under >= 0 ? &l->curve[l->under] : NULL);
            cli_json_close(&j);
        }
    cli_json_close(&j);
    cli_json_key(&j, "max_loss_points");
    t->max_loss >= 0 ? cli_json_num(&j, t->max_loss) : cli_json_null(&j);
    cli_json_key(&j, "max_usage");
    t->max_usage >= 0 ? cli_json_num(&j, t->max_usage) : cli_json_null(&j);
    cli_json_key(&j, "chosen");
    cli_json_object(&j);
    json_chosen(&j, "most_accurate", &r->most_accurate);
    json_chosen(&j, "cheapest_within", &r->cheapest_within);
    json_chosen(&j, "best_under_usage", &r->best_under_usage);
    cli_json_close(&j);
    cli_json_kv_str(&j, "curve_csv", t->curve_csv);
    cli_json_kv_str(&j, "svg", t->svg);
    return cli_json_end(&j, err);
}

/* The --curve CSV and the --svg plot. */
static dc_status write_files(const threshold_args *t, const dc_predictions *p1,
                             const dc_predictions *p2, const threshold_result *r,
                             dc_error *err)
{
    dc_status st = DC_OK;
    if (t->curve_csv) {
        dc_csv *csv = NULL;
        st = dc_csv_open(t->curve_csv, "score,postcheck,lambda,accuracy,usage,macs_per_image",
                         false, &csv, err);
        for (int k = 0; k < 3 && st == DC_OK; k++)
            for (int pc = 0; pc < 2 && st == DC_OK; pc++) {
                const line_result *l = &r->lines[k][pc];
                for (int j = 0; st == DC_OK && j < l->count; j++)
                    st = dc_csv_row(csv, err, "%s,%d,%.6f,%.6f,%.6f,%.0f",
                                    dc_score_name((dc_score_kind)k), pc, l->curve[j].lambda,
                                    l->curve[j].accuracy, l->curve[j].usage,
                                    l->curve[j].macs_per_image);
            }
        if (csv)
            st = st == DC_OK ? dc_csv_commit(csv, err) : (dc_csv_abort(csv), st);
    }
    if (st == DC_OK && t->svg) {
        const dc_threshold_point *curves[3][2];
        int counts[3][2], best[3][2];
        for (int k = 0; k < 3; k++)
            for (int pc = 0; pc < 2; pc++) {
                curves[k][pc] = r->lines[k][pc].curve;
                counts[k][pc] = r->lines[k][pc].count;
                best[k][pc] = r->lines[k][pc].best;
            }
        char title[160];
        snprintf(title, sizeof title, "%s -> %s: accuracy and second-model usage", p1->arch,
                 p2->arch);
        st = dc_svg_threshold_plot(t->svg, title, curves, counts, best, err);
    }
    return st;
}

/* Both models' predictions (cached or computed); an interrupted computation returns
 * DC_OK with *stopped set and nothing kept. */
static dc_status get_predictions(const threshold_args *t, dc_predictions *p1,
                                 dc_predictions *p2, bool *stopped, dc_error *err)
{
    dc_status st = predict_get(&t->o, t->m1, t->w1, p1, err);
    if (st == DC_OK && !cli_interrupted())
        st = predict_get(&t->o, t->m2, t->w2, p2, err);
    *stopped = st == DC_OK && cli_interrupted();
    if (st == DC_OK && !*stopped && p1->n != p2->n)
        st = dc_fail(err, DC_ERR_ARG, "the models saw different sample counts");
    return st;
}

int cmd_threshold(int argc, char **argv)
{
    threshold_args t = { .o = { .batch = 64 }, .max_loss = -1, .max_usage = -1 };
    int rc = parse_args(argc, argv, &t);
    if (rc != CLI_OK)
        return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    dc_error err;
    if (check_args(&t, &err) != DC_OK)
        return cli_report("threshold", &err);

    cli_interrupt_install();
    dc_predictions p1 = { 0 }, p2 = { 0 };
    bool stopped = false;
    dc_status st = get_predictions(&t, &p1, &p2, &stopped, &err);
    threshold_result r;
    memset(&r, 0, sizeof r);
    if (st == DC_OK && !stopped) {
        dc_pred_table t1 = table_of(&p1), t2 = table_of(&p2);
        st = search_lines(&t, &t1, &t2, &r, &err);
    }
    if (st == DC_OK && !stopped)
        st = write_files(&t, &p1, &p2, &r, &err);
    if (st == DC_OK && !stopped) {
        if (t.json)
            st = write_json(&t, &p1, &p2, &r, &err);
        else
            print_text(&t, &p1, &p2, &r);
    }
    for (int k = 0; k < 3; k++)
        for (int pc = 0; pc < 2; pc++)
            free(r.lines[k][pc].curve);
    dc_predictions_free(&p1);
    dc_predictions_free(&p2);
    if (stopped) {
        fprintf(stderr, "dualcnn threshold: interrupted by %s while computing the models' "
                        "predictions: no search done, no file written, unfinished "
                        "predictions not cached\n", cli_interrupt_name());
        return cli_interrupt_status();
    }
    return st == DC_OK ? CLI_OK : cli_report("threshold", &err);
}
