/* cmd_predict.c — `dualcnn predict`: a model's per-sample outputs on a split, cached. */
#include "cli/cli.h"
#include "cli/predict.h"

#include <stdio.h>
#include <string.h>

static void predict_help(FILE *f)
{
    fprintf(f, "usage: dualcnn predict -m NAME [-w W.h5] -v DIR [options]\n\n"
               "Runs a model once over a dataset split and caches, per sample, the label, the\n"
               "answer, maxp, difference and normalised entropy (and the logits on request)\n"
               "in an HDF5 file keyed by the weights' checksum, the dataset and the split, so\n"
               "`threshold` and `complementarity` never run a model twice and a stale cache\n"
               "is never used.\n\n"
               "  -m, --model NAME      architecture (default weights: <dir>/<dataset>/NAME.h5)\n"
               "  -w, --weights FILE    weight file\n"
               "  -v, --valset DIR      the dataset (as for `dualcnn run -i`)\n"
               "  -t, --train           the training split instead of the test split\n"
               "  -D, --dataset NAME    data kind / weights subfolder (default: the model's)\n"
               "  --weights-dir DIR     weights dir (default $DUALCNN_WEIGHTS, else ./weights)\n"
               "  --skip N              leave out the first N samples of the split\n"
               "  --limit N             only the first N samples (after --skip)\n"
               "  --cache DIR           cache dir (default $DUALCNN_CACHE, else .dualcnn-cache)\n"
               "  --logits              keep the logits too\n"
               "  --batch N             samples per forward pass (default 64)\n"
               "  --threads N           threads (default: all)\n"
               "  -q, --quiet           no progress\n"
               "  -h, --help            this text\n");
}

int cmd_predict(int argc, char **argv)
{
    predict_opts o = { .batch = 64 };
    const char *model = NULL, *weights = NULL;
    bool ok = true;
    for (int i = 1; i < argc && ok; i++) {
        if (cli_flag(argc, argv, &i, "-h", "--help")) {
            predict_help(stdout);
            return CLI_OK;
        } else if (cli_option(argc, argv, &i, "-m", "--model", &model, &ok) ||
                   cli_option(argc, argv, &i, "-w", "--weights", &weights, &ok) ||
                   predict_option(argc, argv, &i, &o, &ok)) {
        } else if (cli_flag(argc, argv, &i, "--logits", NULL)) {
            o.logits = true;
        } else {
            return cli_usage_error("predict", "unknown option '%s'", argv[i]);
        }
    }
    if (!ok)
        return CLI_USAGE;
    if (!model && !weights)
        return cli_usage_error("predict", "-m or -w is required");
    if (!predict_options_valid("predict", &o))
        return CLI_USAGE;
    dc_predictions p;
    dc_error err;
    if (predict_get(&o, model, weights, &p, &err) != DC_OK)
        return cli_report("predict", &err);
    printf("%s: %d samples, accuracy %.4f, %.3f MMACs per image\n", p.arch, p.n,
           dc_predictions_accuracy(&p), (double)p.macs * 1e-6);
    dc_predictions_free(&p);
    return CLI_OK;
}
