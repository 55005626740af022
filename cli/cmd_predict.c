/* cmd_predict.c — `dualcnn predict`: a model's per-sample outputs on a split, cached. */
#include "cli/cli.h"
#include "cli/interrupt.h"
#include "cli/predict.h"
#include "cli/sweep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void predict_help(FILE *f)
{
    fprintf(f, "usage: dualcnn predict -m NAME [-w W.h5] -v DIR [options]\n"
               "       dualcnn predict -M NAME,NAME,... -v DIR [options]\n"
               "       mpirun -n K dualcnn predict -M NAME,NAME,... -v DIR [options]\n\n"
               "Runs a model once over a dataset split and caches, per sample, the label, the\n"
               "answer, maxp, difference and normalised entropy (and the logits on request)\n"
               "in an HDF5 file keyed by the weights' checksum, the dataset and the split, so\n"
               "`threshold` and `complementarity` never run a model twice and a stale cache\n"
               "is never used.\n\n"
               "  -m, --model NAME      architecture (default weights: <dir>/<dataset>/NAME.h5)\n"
               "  -w, --weights FILE    weight file\n"
               "  -M, --models LIST     several architectures, comma-separated (default\n"
               "                        weights each); under mpirun the ranks share them out\n"
               "                        and rank 0 writes the caches (docs/scale.md)\n"
               "  -v, --valset DIR      the dataset (as for `dualcnn run -i`)\n"
               "  -f, --dataset-root DIR  the same as -v\n"
               "  -t, --train           the training split instead of the test split\n"
               "  -D, --dataset NAME    data kind / weights subfolder (default: the model's)\n"
               "  --weights-dir DIR     weights dir (default $DUALCNN_WEIGHTS, else ./weights)\n"
               "  --skip N              leave out the first N samples of the split\n"
               "  --limit N             only the first N samples (after --skip)\n"
               "  --cache-dir DIR       cache dir (default $DUALCNN_CACHE, else\n"
               "                        $XDG_CACHE_HOME/dualcnn, else ~/.cache/dualcnn);\n"
               "                        --cache DIR is the same\n"
               "  --logits              keep the logits too\n"
               "  --batch N             samples per forward pass (default 64)\n"
               "  --threads N           threads (default: all)\n"
               "  -q, --quiet           no progress line (drawn only when stderr is a\n"
               "                        terminal: done/total, rate and ETA)\n"
               "  -h, --help            this text\n\n"
               "Ctrl-C (or SIGTERM) stops after the current batch: the accuracy of the samples\n"
               "done is printed, marked partial, nothing is cached, and the exit status is 130\n"
               "(143).\n");
}

enum { OPT_MODEL = 1, OPT_WEIGHTS, OPT_LOGITS, OPT_MODELS };

#define MAX_MODELS 64

/* predict -M a,b,c: every model's predictions cached (over MPI ranks under mpirun), then a
 * line per model from rank 0. */
static int predict_many(predict_opts *o, const char *list_arg)
{
    char *list = strdup(list_arg);
    if (!list)
        return cli_usage_error("predict", "out of memory");
    sweep_model models[MAX_MODELS];
    int k = 0;
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ","))
        if (*tok) {
            if (k == MAX_MODELS) {
                free(list);
                return cli_usage_error("predict", "--models takes at most 64 names");
            }
            models[k++] = (sweep_model){ tok, NULL };
        }
    if (k == 0) {
        free(list);
        return cli_usage_error("predict", "--models needs at least one name");
    }
    dc_error err;
    bool lead = true;
    dc_status st = DC_OK;
    /* every name and weight file before any model runs (under mpirun the sweep checks
     * them first, naming the rank) */
    for (int m = 0; m < k && st == DC_OK && !sweep_under_mpirun(); m++)
        st = predict_check(o, "-M", models[m].model, NULL, &err);
    if (st != DC_OK) {
        free(list);
        return cli_report("predict", &err);
    }
    st = o->no_cache
                   ? dc_fail(&err, DC_ERR_ARG, "--models keeps its predictions in the cache: "
                             "drop --no-cache")
                   : sweep_predict(o, models, k, &lead, &err);
    for (int m = 0; st == DC_OK && lead && m < k; m++) {
        dc_predictions p;
        predict_opts quiet = *o;
        quiet.quiet = true;
        st = predict_get(&quiet, models[m].model, NULL, &p, &err);
        if (st == DC_OK)
            printf("%s: %d samples, accuracy %.4f, %.3f MMACs per image\n", p.arch, p.n,
                   dc_predictions_accuracy(&p), (double)p.macs * 1e-6);
        if (st == DC_OK)
            dc_predictions_free(&p);
    }
    free(list);
    sweep_finish();
    return st == DC_OK ? CLI_OK : cli_report("predict", &err);
}

static const cli_opt predict_opts_table[] = {
    { OPT_MODEL, "-m --model", CLI_VALUE },
    { OPT_WEIGHTS, "-w --weights", CLI_VALUE },
    { OPT_LOGITS, "--logits", CLI_FLAG },
    { OPT_MODELS, "-M --models", CLI_VALUE },
    { 0, NULL, CLI_FLAG },
};

static const cli_spec predict_spec = {
    "predict", { predict_opts_table, predict_shared_opts }, predict_help, false
};

int cmd_predict(int argc, char **argv)
{
    predict_opts o = { .batch = 64 };
    const char *model = NULL, *weights = NULL, *models = NULL;
    cli_args a;
    int rc = cli_args_begin(&a, &predict_spec, argc, argv);
    if (rc != CLI_OK)
        return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    for (int id; (id = cli_args_next(&a)) != CLI_ARG_END;) {
        switch (id) {
        case OPT_MODEL: model = a.value; break;
        case OPT_WEIGHTS: weights = a.value; break;
        case OPT_LOGITS: o.logits = true; break;
        case OPT_MODELS: models = a.value; break;
        default: predict_apply_option(&o, id, a.value); break;
        }
    }
    if (models && (model || weights))
        return cli_usage_error("predict", "-M takes the place of -m and -w");
    if (!model && !weights && !models)
        return cli_usage_error("predict", "-m, -w or -M is required");
    if (!predict_options_valid("predict", &o))
        return CLI_USAGE;
    if (models)
        return predict_many(&o, models);
    dc_predictions p;
    dc_error err;
    if (predict_check(&o, weights ? "-w" : "-m", model, weights, &err) != DC_OK)
        return cli_report("predict", &err);
    cli_interrupt_install();
    if (predict_get(&o, model, weights, &p, &err) != DC_OK)
        return cli_report("predict", &err);
    bool partial = cli_interrupted();
    printf("%s%s: %d samples, accuracy %.4f, %.3f MMACs per image\n",
           partial ? "PARTIAL REPORT: " : "", p.arch, p.n, dc_predictions_accuracy(&p),
           (double)p.macs * 1e-6);
    int done = p.n;
    dc_predictions_free(&p);
    if (!partial)
        return CLI_OK;
    fprintf(stderr, "dualcnn predict: interrupted by %s: partial, the first %d samples only; "
                    "nothing cached\n", cli_interrupt_name(), done);
    return cli_interrupt_status();
}
