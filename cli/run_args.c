/*
 * run_args.c — the command line of `dualcnn run`: its help, its options (those of the
 * original main.py first) and their checks. Options apply in the order given, so a
 * config file read with -y overrides the flags before it and the flags after it override
 * the file.
 */
#include "cli/argparse.h"
#include "cli/cli.h"
#include "cli/run.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void run_help(FILE *f)
{
    fprintf(f,
        "usage: dualcnn run -m1 NAME [-m2 NAME] -i PATH [options]\n\n"
        "Classifies every input of a dataset with the dual-CNN cascade: the first model\n"
        "answers; when its score fails the threshold the second model runs too; a memory of\n"
        "perceptual hashes answers repeated inputs without any model. Prints a report.\n\n"
        "models and data (flags of the original main.py first):\n"
        "  -m1, --model1 NAME      first model (answers every input that is not remembered)\n"
        "  -m2, --model2 NAME      second model; without it, a single-model run\n"
        "  -w1, --weights1 FILE    weight file of the first model (default:\n"
        "                          <weights dir>/<dataset>/<NAME>.h5)\n"
        "  -w2, --weights2 FILE    weight file of the second model\n"
        "  --weights-dir DIR       weights dir (default $DUALCNN_WEIGHTS, else ./weights)\n"
        "  -i, --filepath PATH     the dataset: a CIFAR-10 root (binary or python batches),\n"
        "                          FashionMNIST IDX files, or a class-per-folder tree\n"
        "  -D, --dataset NAME      cifar10 | fashionmnist | imagenet | intel: the kind of\n"
        "                          data and the weights subfolder (default: the first\n"
        "                          model's own, as the original did)\n"
        "  --train                 use the training split instead of the test split\n"
        "  --skip N                leave out the first N samples of the split\n"
        "  --limit N               only the first N samples (after --skip)\n"
        "  --model-1 NAME, --model-2 NAME, --weights-1 FILE, --weights-2 FILE,\n"
        "  --dataset-root PATH     the later main.py's spellings of -m1, -m2, -w1, -w2, -i\n"
        "cascade:\n"
        "  -s, --scorefn NAME      maxp | difference | entropy | oracle (default difference)\n"
        "  -t, --threshold X       in [0, 1]; maxp and difference escalate below it, entropy\n"
        "                          above it (entropy is normalised by ln(classes))\n"
        "  -p, --postcheck         keep the second answer only when its score is better\n"
        "  -m, --memory KIND       dhash | invariants: answer repeated inputs from memory\n"
        "  --memory-size N         bound the memory to N entries (least recently used go)\n"
        "workload:\n"
        "  -d, --duplicates R      add R times the dataset again (R >= 0; 1 = every sample\n"
        "                          twice; fractions sample without replacement)\n"
        "  -r, --rotations P       probability that a duplicate is rotated or flipped\n"
        "  --seed S                seed of duplicates, rotations and shuffling (default 42)\n"
        "  --no-shuffle            duplicates follow the originals instead of being mixed in\n"
        "running and output:\n"
        "  --batch N               run the models on N inputs at a time (default 1, streaming,\n"
        "                          as the paper measured)\n"
        "  --threads N             threads (default: all cores)\n"
        "  --energy KIND           auto | rapl | perf | hwmon | ina3221 | meter | none\n"
        "                          (default auto: the first of rapl, perf, hwmon, ina3221\n"
        "                          that can be read; see docs/energy.md)\n"
        "  --energy-period-ms MS   ina3221: sample the power rails every MS ms (default 10)\n"
        "  --meter-volts V         meter: the supply voltage, for readings typed in mAh\n"
        "  --idle-baseline S       measure idle power for S seconds first and report the\n"
        "                          energy inference added\n"
        "  --report FILE.csv       append one row: configuration and every metric\n"
        "  --per-sample FILE.csv   one row per input: label, answer, exit, scores, time\n"
        "  -f, --finish WHAT       exit (default) | shutdown: power the machine off after\n"
        "                          the report (root only; never asks for a password)\n"
        "  --json                  print the report as one JSON object on stdout (the\n"
        "                          header and notes go to stderr)\n"
        "  -q, --quiet             no progress line (drawn only when stderr is a terminal:\n"
        "                          done/total, rate and ETA)\n"
        "  -y, --yml-file FILE     read the options from the original main.py's config.yml\n"
        "                          (YAML; flags after -y override it, the file overrides\n"
        "                          flags before it; see docs/cascade.md)\n"
        "  -h, --help              this text\n\n"
        "Long options may be shortened to any unambiguous prefix (--thresh 0.5), and take\n"
        "their value as --name=VALUE too. Both models' names and weight files, the dataset\n"
        "and the folders of --report and --per-sample are checked before any model loads.\n"
        "Ctrl-C (or SIGTERM) stops at the next input, prints the report of the inputs done,\n"
        "marked partial, writes no --per-sample or --report file, and exits 130 (143).\n");
}


enum {
    OPT_MODEL1 = 1, OPT_MODEL2, OPT_WEIGHTS1, OPT_WEIGHTS2, OPT_WEIGHTS_DIR, OPT_PATH,
    OPT_DATASET, OPT_TRAIN, OPT_SKIP, OPT_LIMIT, OPT_SCORE, OPT_THRESHOLD, OPT_POSTCHECK,
    OPT_MEMORY, OPT_MEMORY_SIZE, OPT_DUPLICATES, OPT_ROTATIONS, OPT_SEED, OPT_NO_SHUFFLE,
    OPT_BATCH, OPT_THREADS, OPT_ENERGY, OPT_IDLE, OPT_REPORT, OPT_PER_SAMPLE, OPT_FINISH,
    OPT_QUIET, OPT_YML, OPT_ENERGY_PERIOD, OPT_METER_VOLTS, OPT_JSON
};

static const cli_opt run_opts_table[] = {
    { OPT_MODEL1, "-m1 --model1 --model-1", CLI_VALUE },
    { OPT_MODEL2, "-m2 --model2 --model-2", CLI_VALUE },
    { OPT_WEIGHTS1, "-w1 --weights1 --weights-1", CLI_VALUE },
    { OPT_WEIGHTS2, "-w2 --weights2 --weights-2", CLI_VALUE },
    { OPT_WEIGHTS_DIR, "--weights-dir", CLI_VALUE },
    { OPT_PATH, "-i --filepath --dataset-root", CLI_VALUE },
    { OPT_DATASET, "-D --dataset", CLI_VALUE },
    { OPT_TRAIN, "--train", CLI_FLAG },
    { OPT_SKIP, "--skip", CLI_VALUE },
    { OPT_LIMIT, "--limit", CLI_VALUE },
    { OPT_SCORE, "-s --scorefn", CLI_VALUE },
    { OPT_THRESHOLD, "-t --threshold", CLI_VALUE },
    { OPT_POSTCHECK, "-p --postcheck", CLI_FLAG },
    { OPT_MEMORY, "-m --memory", CLI_VALUE },
    { OPT_MEMORY_SIZE, "--memory-size", CLI_VALUE },
    { OPT_DUPLICATES, "-d --duplicates", CLI_VALUE },
    { OPT_ROTATIONS, "-r --rotations", CLI_VALUE },
    { OPT_SEED, "--seed", CLI_VALUE },
    { OPT_NO_SHUFFLE, "--no-shuffle", CLI_FLAG },
    { OPT_BATCH, "--batch", CLI_VALUE },
    { OPT_THREADS, "--threads", CLI_VALUE },
    { OPT_ENERGY, "--energy", CLI_VALUE },
    { OPT_ENERGY_PERIOD, "--energy-period-ms", CLI_VALUE },
    { OPT_METER_VOLTS, "--meter-volts", CLI_VALUE },
    { OPT_IDLE, "--idle-baseline", CLI_VALUE },
    { OPT_REPORT, "--report", CLI_VALUE },
    { OPT_PER_SAMPLE, "--per-sample", CLI_VALUE },
    { OPT_FINISH, "-f --finish", CLI_VALUE },
    { OPT_QUIET, "-q --quiet", CLI_FLAG },
    { OPT_YML, "-y --yml-file", CLI_VALUE },
    { OPT_JSON, "--json", CLI_FLAG },
    { 0, NULL, CLI_FLAG },
};

static const cli_spec run_spec = { "run", { run_opts_table }, run_help, false };

static bool parse_double(const char *flag, const char *s, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "dualcnn run: %s must be a number in [%g, %g], got '%s'\n", flag, lo,
                hi, s);
        return false;
    }
    *out = v;
    return true;
}

static bool parse_seed(const char *flag, const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (!isdigit((unsigned char)*s) || *end || errno) {
        cli_usage_error("run", "%s must be a non-negative integer, not '%s'", flag, s);
        return false;
    }
    *out = v;
    return true;
}

/* Checks a choice among the strings of a NULL-terminated list; prints the problem. */
static bool one_of(const char *flag, const char *v, const char *const *choices,
                   const char *names)
{
    for (int k = 0; choices[k]; k++)
        if (strcmp(v, choices[k]) == 0)
            return true;
    cli_usage_error("run", "%s must be %s, not '%s'", flag, names, v);
    return false;
}

static const char *const memory_kinds[] = { "dhash", "invariants", NULL };
static const char *const finish_kinds[] = { "exit", "shutdown", NULL };
static const char *const energy_kinds[] = { "auto", "rapl", "perf", "hwmon", "ina3221",
                                             "meter", "none", NULL };

/* Applies one option (id, with its value and spelling in a) to o. */
static bool apply_option(const cli_args *a, int id, run_opts *o, run_config *config)
{
    const char *v = a->value, *flag = a->flag;
    int n;
    switch (id) {
    case OPT_MODEL1: o->model1 = v; return true;
    case OPT_MODEL2: o->model2 = v; return true;
    case OPT_WEIGHTS1: o->weights1 = v; return true;
    case OPT_WEIGHTS2: o->weights2 = v; return true;
    case OPT_WEIGHTS_DIR: o->weights_dir = v; return true;
    case OPT_PATH: o->path = v; return true;
    case OPT_DATASET: o->dataset = v; return true;
    case OPT_TRAIN: o->train = true; return true;
    case OPT_SKIP: return cli_parse_int("run", flag, v, 0, 1 << 30, &o->skip);
    case OPT_LIMIT: return cli_parse_int("run", flag, v, 1, 1 << 30, &o->limit);
    case OPT_SCORE:
        if (dc_score_parse(v, &o->score))
            return true;
        cli_usage_error("run", "%s must be maxp, difference, entropy or oracle, not '%s'",
                        flag, v);
        return false;
    case OPT_THRESHOLD:
        o->threshold_given = true;
        return parse_double(flag, v, 0.0, 1.0, &o->threshold);
    case OPT_POSTCHECK: o->postcheck = true; return true;
    case OPT_MEMORY:
        o->memory = v;
        return one_of(flag, v, memory_kinds, "dhash or invariants");
    case OPT_MEMORY_SIZE:
        if (!cli_parse_int("run", flag, v, 1, 1 << 30, &n))
            return false;
        o->memory_size = n;
        return true;
    case OPT_DUPLICATES: return parse_double(flag, v, 0.0, 1000.0, &o->duplicates);
    case OPT_ROTATIONS: return parse_double(flag, v, 0.0, 1.0, &o->rotations);
    case OPT_SEED: return parse_seed(flag, v, &o->seed);
    case OPT_NO_SHUFFLE: o->shuffle = false; return true;
    case OPT_BATCH: return cli_parse_int("run", flag, v, 1, 4096, &o->batch);
    case OPT_THREADS: return cli_parse_int("run", flag, v, 1, 1024, &o->threads);
    case OPT_ENERGY:
        o->energy = v;
        return one_of(flag, v, energy_kinds, "auto, rapl, perf, hwmon, ina3221, meter or none");
    case OPT_ENERGY_PERIOD: return parse_double(flag, v, 1.0, 10000.0, &o->energy_period_ms);
    case OPT_METER_VOLTS: return parse_double(flag, v, 0.001, 1000.0, &o->meter_volts);
    case OPT_IDLE: return parse_double(flag, v, 0.0, 3600.0, &o->idle_seconds);
    case OPT_REPORT: o->report_csv = v; return true;
    case OPT_PER_SAMPLE: o->per_sample_csv = v; return true;
    case OPT_FINISH:
        o->finish = v;
        return one_of(flag, v, finish_kinds, "exit or shutdown");
    case OPT_QUIET: o->quiet = true; return true;
    case OPT_JSON: o->json = true; return true;
    case OPT_YML: {
        dc_error err;
        if (run_config_load(v, o, config, &err) == DC_OK)
            return true;
        fprintf(stderr, "dualcnn run: %s\n", err.msg);
        return false;
    }
    }
    return false;
}

/* What the options mean together: the required ones, and the notes on those that have no
 * effect. */
static int check_options(run_opts *o)
{
    if (!o->model1 && !o->weights1)
        return cli_usage_error("run", "-m1 (or -w1) is required");
    if (!o->path)
        return cli_usage_error("run", "-i/--filepath (the dataset) is required");
    if (o->model2 || o->weights2) {
        if (!o->threshold_given && o->score != DC_SCORE_ORACLE)
            return cli_usage_error("run", "two models need a threshold (-t, or "
                                   "second_model.threshold in a config file); find one with "
                                   "'dualcnn threshold'");
    } else if (o->postcheck || o->threshold_given) {
        fprintf(stderr, "dualcnn run: note: -t and -p have no effect without -m2\n");
    }
    if (o->score == DC_SCORE_ORACLE && o->postcheck) {
        fprintf(stderr, "dualcnn run: note: the oracle always takes the second answer; -p "
                        "is ignored\n");
        o->postcheck = false;
    }
    return CLI_OK;
}

int run_parse_args(int argc, char **argv, run_opts *o, run_config *config)
{
    cli_args a;
    int rc = cli_args_begin(&a, &run_spec, argc, argv);
    if (rc != CLI_OK)
        return rc;
    for (int id; (id = cli_args_next(&a)) != CLI_ARG_END;)
        if (!apply_option(&a, id, o, config))
            return CLI_USAGE;
    return check_options(o);
}
