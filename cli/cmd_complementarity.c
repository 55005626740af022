/*
 * cmd_complementarity.c — `dualcnn complementarity`, the paper's complementarity.py: how
 * well each pair of models covers the other's mistakes, from their cached predictions.
 */
#include "cascade/complementarity.h"
#include "cascade/svg.h"
#include "cli/check.h"
#include "cli/cli.h"
#include "cli/interrupt.h"
#include "cli/json.h"
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
        "  --csv FILE              the paper's matrix as CSV (only when asked)\n"
        "  --code-csv FILE         the original code's variant\n"
        "  --ranking FILE          the ranked pairs as CSV\n"
        "  --svg FILE              a heatmap of the paper's matrix\n"
        "  --json                  print the models, both matrices and the ranking as one\n"
        "                          JSON object on stdout; other messages on stderr\n"
        "  --skip N, --limit N, --cache-dir DIR, --weights-dir DIR, --batch N, --threads N,\n"
        "  -q, --quiet             as for `dualcnn predict` (a progress line per model on a\n"
        "                          terminal while predictions are computed)\n"
        "  -w DIR                  the same as --weights-dir\n"
        "  -h, --help              this text\n\n"
        "No file is written unless asked for (--csv, --code-csv, --ranking, --svg); the\n"
        "predictions are cached under --cache-dir. Every model's name and weight file, the\n"
        "dataset and every output's folder are checked before the first model runs.\n\n"
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

enum { OPT_MODELS = 1, OPT_CSV, OPT_CODE_CSV, OPT_RANKING, OPT_SVG, OPT_WEIGHTS_DIR, OPT_JSON };

static const cli_opt complementarity_opts[] = {
    { OPT_MODELS, "-M --models", CLI_VALUE },
    { OPT_CSV, "--csv", CLI_VALUE },
    { OPT_CODE_CSV, "--code-csv", CLI_VALUE },
    { OPT_RANKING, "--ranking", CLI_VALUE },
    { OPT_SVG, "--svg", CLI_VALUE },
    { OPT_WEIGHTS_DIR, "-w", CLI_VALUE }, /* --weights-dir is a shared option */
    { OPT_JSON, "--json", CLI_FLAG },
    { 0, NULL, CLI_FLAG },
};

static const cli_spec complementarity_spec = {
    "complementarity", { complementarity_opts, predict_shared_opts }, complementarity_help,
    false
};

typedef struct {
    predict_opts o;
    const char *csv, *code_csv, *rank_csv, *svg;
    bool json;
    char *list;                  /* the --models value, cut into names (owned) */
    char *names[MAX_MODELS];
    int k;                       /* models named */
} comp_args;

/* Everything the run computes; comp_state_free frees it. */
typedef struct {
    dc_predictions p[MAX_MODELS];
    bool *correct[MAX_MODELS];
    int64_t macs[MAX_MODELS];
    int done;                    /* models whose predictions are complete */
    bool interrupted;
    double *paper, *code;
    dc_complementarity_pair *pairs;
    int n_pairs;
} comp_state;

static void comp_state_free(comp_state *s, int k)
{
    for (int m = 0; m < k; m++) {
        dc_predictions_free(&s->p[m]);
        free(s->correct[m]);
    }
    free(s->pairs);
    free(s->paper);
    free(s->code);
}

/* Reads the command line into c. Returns CLI_OK, CLI_USAGE or CLI_HELP_SHOWN. */
static int parse_args(int argc, char **argv, comp_args *c)
{
    const char *models = NULL;
    cli_args a;
    int rc = cli_args_begin(&a, &complementarity_spec, argc, argv);
    if (rc != CLI_OK)
        return rc;
    for (int id; (id = cli_args_next(&a)) != CLI_ARG_END;) {
        switch (id) {
        case OPT_MODELS: models = a.value; break;
        case OPT_CSV: c->csv = a.value; break;
        case OPT_CODE_CSV: c->code_csv = a.value; break;
        case OPT_RANKING: c->rank_csv = a.value; break;
        case OPT_SVG: c->svg = a.value; break;
        case OPT_WEIGHTS_DIR: c->o.weights_dir = a.value; break;
        case OPT_JSON: c->json = true; break;
        default: predict_apply_option(&c->o, id, a.value); break;
        }
    }
    if (!models)
        return cli_usage_error("complementarity", "--models is required");
    if (!predict_options_valid("complementarity", &c->o))
        return CLI_USAGE;
    if (!(c->list = strdup(models)))
        return CLI_FAIL;
    for (char *tok = strtok(c->list, ","); tok; tok = strtok(NULL, ","))
        if (*tok && c->k < MAX_MODELS)
            c->names[c->k++] = tok;
        else if (*tok)
            return cli_usage_error("complementarity", "--models takes at most %d names",
                                   MAX_MODELS);
    if (c->k < 2)
        return cli_usage_error("complementarity", "--models needs at least two names");
    return CLI_OK;
}

/* Every model and file named, before the first model runs. */
static dc_status check_args(const comp_args *c, dc_error *err)
{
    dc_status st = DC_OK;
    for (int m = 0; m < c->k && st == DC_OK; m++)
        st = predict_check(&c->o, "--models", c->names[m], NULL, err);
    const char *flags[4] = { "--csv", "--code-csv", "--ranking", "--svg" };
    const char *paths[4] = { c->csv, c->code_csv, c->rank_csv, c->svg };
    for (int i = 0; i < 4 && st == DC_OK; i++)
        st = cli_check_output(flags[i], paths[i], err);
    return st;
}

/* Each model's predictions, until all are done or a signal arrives. */
static dc_status get_predictions(const comp_args *c, comp_state *s, dc_error *err)
{
    dc_status st = DC_OK;
    for (int m = 0; m < c->k && st == DC_OK && !cli_interrupted(); m++) {
        dc_predictions *p = &s->p[m];
        st = predict_get(&c->o, c->names[m], NULL, p, err);
        if (st == DC_OK && cli_interrupted()) { /* this model's predictions are partial */
            dc_predictions_free(p);
            break;
        }
        if (st == DC_OK && p->n != s->p[0].n)
            st = dc_fail(err, DC_ERR_ARG, "%s saw %d samples, %s %d", c->names[m], p->n,
                         c->names[0], s->p[0].n);
        if (st == DC_OK && !(s->correct[m] = malloc((size_t)(p->n ? p->n : 1))))
            st = dc_fail(err, DC_ERR_NOMEM, "out of memory");
        for (int i = 0; st == DC_OK && i < p->n; i++)
            s->correct[m][i] = p->pred[i] == p->label[i];
        s->macs[m] = p->macs;
        if (st == DC_OK)
            s->done = m + 1;
    }
    s->interrupted = cli_interrupted();
    return st;
}

/* Both matrices and the ranking over the first k models. */
static dc_status compute(comp_state *s, int k, dc_error *err)
{
    s->paper = calloc((size_t)k * k, sizeof *s->paper);
    s->code = calloc((size_t)k * k, sizeof *s->code);
    if (!s->paper || !s->code)
        return dc_fail(err, DC_ERR_NOMEM, "out of memory");
    const bool *const *correct = (const bool *const *)s->correct;
    dc_status st = dc_complementarity_matrix(correct, k, s->p[0].n, s->paper, s->code, err);
    if (st == DC_OK)
        st = dc_complementarity_rank(correct, s->macs, k, s->p[0].n, &s->pairs, &s->n_pairs,
                                     err);
    return st;
}

static void print_text(const comp_args *c, const comp_state *s, int k)
{
    char split[96];
    printf("%d models on %s (%s)\n", k, c->o.path,
           cli_split_name(c->o.train, c->o.skip, s->p[0].n, split, sizeof split));
    for (int m = 0; m < k; m++)
        printf("  %-20s accuracy %6.2f%%  %9.3f MMACs\n", c->names[m],
               100.0 * dc_predictions_accuracy(&s->p[m]), s->macs[m] * 1e-6);
    print_matrix("complementarity (paper: (n(a|b) - n(a&b) - |n(a) - n(b)|) / N)",
                 (char **)c->names, k, s->paper);
    print_matrix("complementarity (original code: exactly one right)", (char **)c->names, k,
                 s->code);
    printf("\npairs by complementarity per combined GMACs\n");
    printf("  %-20s %-20s %8s %8s %8s %9s %10s\n", "first", "second", "paper", "code",
           "either", "GMACs", "per GMAC");
    for (int j = 0; j < s->n_pairs && j < 15; j++) {
        const dc_complementarity_pair *q = &s->pairs[j];
        printf("  %-20s %-20s %8.4f %8.4f %7.2f%% %9.4f %10.4f\n", c->names[q->a],
               c->names[q->b], q->paper, q->code, 100.0 * q->oracle, q->gmacs, q->per_gmac);
    }
}

static void json_matrix(cli_json *j, const char *key, const double *m, int k)
{
    cli_json_key(j, key);
    cli_json_array(j);
    for (int a = 0; a < k; a++) {
        cli_json_array(j);
        for (int b = 0; b < k; b++)
            cli_json_num(j, m[a * k + b]);
        cli_json_close(j);
    }
    cli_json_close(j);
}

/* The report as one JSON object; a partial run (interrupted) says so, and has no
 * matrices when fewer than two models are complete. */
static dc_status write_json(const comp_args *c, const comp_state *s, int k, dc_error *err)
{
    cli_json j;
    cli_json_begin(&j, stdout);
    cli_json_kv_str(&j, "dataset_path", c->o.path);
    cli_json_kv_str(&j, "split", c->o.train ? "train" : "test");
    cli_json_kv_int(&j, "skip", c->o.skip);
    cli_json_kv_int(&j, "samples", k > 0 ? s->p[0].n : 0);
    cli_json_kv_bool(&j, "partial", s->interrupted);
    cli_json_key(&j, "models");
    cli_json_array(&j);
    for (int m = 0; m < k; m++) {
        cli_json_object(&j);
        cli_json_kv_str(&j, "name", c->names[m]);
        cli_json_kv_num(&j, "accuracy", dc_predictions_accuracy(&s->p[m]));
        cli_json_kv_int(&j, "macs_per_image", s->macs[m]);
        cli_json_close(&j);
    }
    cli_json_close(&j);
    if (s->paper && s->pairs) {
        json_matrix(&j, "paper", s->paper, k);
        json_matrix(&j, "code", s->code, k);
        cli_json_key(&j, "ranking");
        cli_json_array(&j);
        for (int r = 0; r < s->n_pairs; r++) {
            const dc_complementarity_pair *q = &s->pairs[r];
            cli_json_object(&j);
            cli_json_kv_int(&j, "rank", r + 1);
            cli_json_kv_str(&j, "first", c->names[q->a]);
            cli_json_kv_str(&j, "second", c->names[q->b]);
            cli_json_kv_num(&j, "paper", q->paper);
            cli_json_kv_num(&j, "code", q->code);
            cli_json_kv_num(&j, "either", q->oracle);
            cli_json_kv_num(&j, "gmacs", q->gmacs);
            cli_json_kv_num(&j, "per_gmac", q->per_gmac);
            cli_json_close(&j);
        }
        cli_json_close(&j);
    }
    return cli_json_end(&j, err);
}

/* The files asked for, and their names on stdout (text mode). */
static dc_status write_files(const comp_args *c, const comp_state *s, int k, dc_error *err)
{
    const char *const *names = (const char *const *)c->names;
    dc_status st = DC_OK;
    if (c->csv)
        st = dc_complementarity_write_csv(c->csv, names, k, s->paper, err);
    if (st == DC_OK && c->code_csv)
        st = dc_complementarity_write_csv(c->code_csv, names, k, s->code, err);
    if (st == DC_OK && c->rank_csv)
        st = dc_complementarity_write_ranking_csv(c->rank_csv, names, s->pairs, s->n_pairs,
                                                  err);
    if (st == DC_OK && c->svg)
        st = dc_svg_heatmap(c->svg, "complementarity (paper's formula)", names, k, s->paper,
                            "complementarity", err);
    if (st != DC_OK || c->json || !(c->csv || c->code_csv || c->rank_csv || c->svg))
        return st;
    const char *what[4] = { "matrix", "code variant", "ranking", "heatmap" };
    const char *paths[4] = { c->csv, c->code_csv, c->rank_csv, c->svg };
    const char *sep = "\n";
    for (int i = 0; i < 4; i++)
        if (paths[i]) {
            printf("%s%s: %s", sep, what[i], paths[i]);
            sep = ", ";
        }
    printf("\n");
    return DC_OK;
}

int cmd_complementarity(int argc, char **argv)
{
    comp_args c = { .o = { .batch = 64 } };
    int rc = parse_args(argc, argv, &c);
    if (rc != CLI_OK) {
        free(c.list);
        return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    }
    dc_error err;
    comp_state s;
    memset(&s, 0, sizeof s);
    dc_status st = check_args(&c, &err);
    if (st == DC_OK && sweep_under_mpirun()) {
        /* the ranks share the predictions out; rank 0 then reads them from the cache */
        sweep_model sm[MAX_MODELS];
        for (int m = 0; m < c.k; m++)
            sm[m] = (sweep_model){ c.names[m], NULL };
        bool lead;
        if (c.o.no_cache)
            st = dc_fail(&err, DC_ERR_ARG, "under mpirun the ranks share the work through the "
                         "prediction cache: drop --no-cache");
        else
            st = sweep_predict(&c.o, sm, c.k, &lead, &err);
        if (st != DC_OK || !lead) {
            free(c.list);
            sweep_finish();
            return st != DC_OK ? cli_report("complementarity", &err) : CLI_OK;
        }
    }
    if (st == DC_OK) {
        cli_interrupt_install();
        st = get_predictions(&c, &s, &err);
    }
    int k = s.interrupted ? s.done : c.k; /* a partial report covers the models done */
    if (st == DC_OK && s.interrupted && !c.json)
        printf("PARTIAL REPORT: interrupted by %s after %d of %d models' predictions\n%s",
               cli_interrupt_name(), s.done, c.k, k < 2 ? "no pair of models is complete\n" : "");
    if (st == DC_OK && k >= 2)
        st = compute(&s, k, &err);
    if (st == DC_OK && c.json)
        st = write_json(&c, &s, k, &err);
    else if (st == DC_OK && k >= 2)
        print_text(&c, &s, k);
    if (st == DC_OK && !s.interrupted) /* existing files stay as they were */
        st = write_files(&c, &s, k, &err);
    comp_state_free(&s, c.k);
    free(c.list);
    rc = st == DC_OK ? CLI_OK : cli_report("complementarity", &err);
    if (!s.interrupted)
        return rc;
    fprintf(stderr, "dualcnn complementarity: interrupted by %s: partial report; unfinished "
                    "predictions are not cached and no file is written\n",
            cli_interrupt_name());
    return cli_interrupt_status();
}
