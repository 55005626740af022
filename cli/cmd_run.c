/*
 * cmd_run.c — `dualcnn run`, the paper's main.py: stream a dataset (with duplicates and
 * rotations) through the cascade of two CNNs with its memory, and report accuracy, second
 * model usage, memory hits, response times, MACs and energy.
 */
#include "cascade/csv.h"
#include "cascade/workload.h"
#include "cli/cli.h"
#include "cli/run.h"
#include "loaders/dataset.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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
        "  --energy KIND           auto | rapl | none (default auto: RAPL when readable)\n"
        "  --idle-baseline S       measure idle power for S seconds first and report the\n"
        "                          energy inference added\n"
        "  --report FILE.csv       append one row: configuration and every metric\n"
        "  --per-sample FILE.csv   one row per input: label, answer, exit, scores, time\n"
        "  -f, --finish WHAT       exit (default) | shutdown: power the machine off after\n"
        "                          the report (root only; never asks for a password)\n"
        "  -q, --quiet             no progress bar\n"
        "  -y, --yml-file FILE     read the options from the original main.py's config.yml\n"
        "                          (flags after -y override it)\n"
        "  -h, --help              this text\n");
}

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

/* Parses argv into o; returns CLI_OK, CLI_USAGE, or -1 after printing the help. */
static int parse_run_args(int argc, char **argv, run_opts *o, run_config *config)
{
    const char *yml = NULL;
    const char *score = NULL, *thr = NULL, *dup = NULL, *rot = NULL, *seed = NULL;
    const char *batch = NULL, *threads = NULL, *limit = NULL, *skip = NULL, *msize = NULL, *idle = NULL;
    bool ok = true;
    for (int i = 1; i < argc && ok; i++) {
        if (cli_flag(argc, argv, &i, "-h", "--help")) {
            run_help(stdout);
            return -1;
        } else if (cli_option(argc, argv, &i, "-m1", "--model1", &o->model1, &ok) ||
                   cli_option(argc, argv, &i, "-m2", "--model2", &o->model2, &ok) ||
                   cli_option(argc, argv, &i, "-w1", "--weights1", &o->weights1, &ok) ||
                   cli_option(argc, argv, &i, "-w2", "--weights2", &o->weights2, &ok) ||
                   /* the later main.py's spellings */
                   cli_option(argc, argv, &i, "--model-1", NULL, &o->model1, &ok) ||
                   cli_option(argc, argv, &i, "--model-2", NULL, &o->model2, &ok) ||
                   cli_option(argc, argv, &i, "--weights-1", NULL, &o->weights1, &ok) ||
                   cli_option(argc, argv, &i, "--weights-2", NULL, &o->weights2, &ok) ||
                   cli_option(argc, argv, &i, "--dataset-root", NULL, &o->path, &ok) ||
                   cli_option(argc, argv, &i, "--weights-dir", NULL, &o->weights_dir, &ok) ||
                   cli_option(argc, argv, &i, "-i", "--filepath", &o->path, &ok) ||
                   cli_option(argc, argv, &i, "-D", "--dataset", &o->dataset, &ok) ||
                   cli_option(argc, argv, &i, "-s", "--scorefn", &score, &ok) ||
                   cli_option(argc, argv, &i, "-t", "--threshold", &thr, &ok) ||
                   cli_option(argc, argv, &i, "-m", "--memory", &o->memory, &ok) ||
                   cli_option(argc, argv, &i, "--memory-size", NULL, &msize, &ok) ||
                   cli_option(argc, argv, &i, "-d", "--duplicates", &dup, &ok) ||
                   cli_option(argc, argv, &i, "-r", "--rotations", &rot, &ok) ||
                   cli_option(argc, argv, &i, "--seed", NULL, &seed, &ok) ||
                   cli_option(argc, argv, &i, "--limit", NULL, &limit, &ok) ||
                   cli_option(argc, argv, &i, "--skip", NULL, &skip, &ok) ||
                   cli_option(argc, argv, &i, "--batch", NULL, &batch, &ok) ||
                   cli_option(argc, argv, &i, "--threads", NULL, &threads, &ok) ||
                   cli_option(argc, argv, &i, "--energy", NULL, &o->energy, &ok) ||
                   cli_option(argc, argv, &i, "--idle-baseline", NULL, &idle, &ok) ||
                   cli_option(argc, argv, &i, "--report", NULL, &o->report_csv, &ok) ||
                   cli_option(argc, argv, &i, "--per-sample", NULL, &o->per_sample_csv, &ok) ||
                   cli_option(argc, argv, &i, "-f", "--finish", &o->finish, &ok)) {
        } else if (cli_option(argc, argv, &i, "-y", "--yml-file", &yml, &ok)) {
            dc_error err;
            if (ok && run_config_load(yml, o, config, &err) != DC_OK) {
                fprintf(stderr, "dualcnn run: %s\n", err.msg);
                return CLI_USAGE;
            }
        } else if (cli_flag(argc, argv, &i, "-p", "--postcheck")) {
            o->postcheck = true;
        } else if (cli_flag(argc, argv, &i, "--train", NULL)) {
            o->train = true;
        } else if (cli_flag(argc, argv, &i, "--no-shuffle", NULL)) {
            o->shuffle = false;
        } else if (cli_flag(argc, argv, &i, "-q", "--quiet")) {
            o->quiet = true;
        } else {
            return cli_usage_error("run", "unknown option '%s'", argv[i]);
        }
    }
    if (!ok)
        return CLI_USAGE;
    if (!o->model1 && !o->weights1)
        return cli_usage_error("run", "-m1 (or -w1) is required");
    if (!o->path)
        return cli_usage_error("run", "-i/--filepath (the dataset) is required");
    if (score && !dc_score_parse(score, &o->score))
        return cli_usage_error("run", "-s must be maxp, difference, entropy or oracle, not "
                               "'%s'", score);
    if (o->memory && strcmp(o->memory, "dhash") != 0 && strcmp(o->memory, "invariants") != 0)
        return cli_usage_error("run", "-m must be dhash or invariants, not '%s'", o->memory);
    if (strcmp(o->finish, "exit") != 0 && strcmp(o->finish, "shutdown") != 0)
        return cli_usage_error("run", "-f must be exit or shutdown, not '%s'", o->finish);
    if (strcmp(o->energy, "auto") != 0 && strcmp(o->energy, "rapl") != 0 &&
        strcmp(o->energy, "none") != 0)
        return cli_usage_error("run", "--energy must be auto, rapl or none, not '%s'",
                               o->energy);
    o->threshold_given = thr != NULL;
    if ((thr && !parse_double("-t", thr, 0.0, 1.0, &o->threshold)) ||
        (dup && !parse_double("-d", dup, 0.0, 1000.0, &o->duplicates)) ||
        (rot && !parse_double("-r", rot, 0.0, 1.0, &o->rotations)) ||
        (idle && !parse_double("--idle-baseline", idle, 0.0, 3600.0, &o->idle_seconds)) ||
        (batch && !cli_parse_int("run", "--batch", batch, 1, 4096, &o->batch)) ||
        (threads && !cli_parse_int("run", "--threads", threads, 1, 1024, &o->threads)) ||
        (limit && !cli_parse_int("run", "--limit", limit, 1, 1 << 30, &o->limit)) ||
        (skip && !cli_parse_int("run", "--skip", skip, 0, 1 << 30, &o->skip)))
        return CLI_USAGE;
    if (msize) {
        int v;
        if (!cli_parse_int("run", "--memory-size", msize, 1, 1 << 30, &v))
            return CLI_USAGE;
        o->memory_size = v;
    }
    if (seed) {
        char *end;
        o->seed = strtoull(seed, &end, 10);
        if (end == seed || *end)
            return cli_usage_error("run", "--seed must be a non-negative integer, not '%s'",
                                   seed);
    }
    if (o->model2 || o->weights2) {
        if (!o->threshold_given && o->score != DC_SCORE_ORACLE)
            return cli_usage_error("run", "two models need a threshold (-t); find one with "
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

/* ---- loading ------------------------------------------------------------ */

/* Loads a model from -w or from the weights dir; checks its arch against -m when both. */
static dc_status load_model(const run_opts *o, const char *model, const char *weights,
                            const char *flag, dc_net **net, char *used, size_t cap,
                            dc_error *err)
{
    if (weights) {
        snprintf(used, cap, "%s", weights);
    } else {
        const dc_zoo_entry *e = dc_zoo_find(model);
        if (!e)
            return dc_fail(err, DC_ERR_ARG, "%s: unknown model '%s' (see 'dualcnn models')",
                           flag, model);
        cli_default_weights(o->weights_dir, o->dataset ? o->dataset : e->dataset, model,
                            used, cap);
    }
    dc_status st = dc_net_load(used, o->batch, net, err);
    if (st != DC_OK)
        return st;
    const char *arch = dc_net_get_info(*net).arch;
    if (model && strcmp(model, arch) != 0) {
        dc_net_free(*net);
        *net = NULL;
        return dc_fail(err, DC_ERR_ARG, "%s: %s holds %s, not %s", flag, used, arch, model);
    }
    return DC_OK;
}

/* ---- the run ------------------------------------------------------------ */

static void draw_progress(int done, int total, double started)
{
    double el = dc_now_seconds() - started, rate = el > 0 ? done / el : 0;
    int width = 30, fill = total ? (int)((double)done / total * width) : width;
    fprintf(stderr, "\r[%.*s%*s] %d/%d %5.1f%% %7.1f inputs/s ETA %4.0f s ", fill,
            "==============================", width - fill, "", done, total,
            total ? 100.0 * done / total : 100.0, rate,
            rate > 0 ? (total - done) / rate : 0.0);
    if (done == total)
        fputc('\n', stderr);
}

typedef struct {
    const run_opts *o;
    dc_dataset *ds;
    dc_work_item *items;
    int count;
    dc_cascade *cascade;
    dc_energy *energy;
    dc_report *report;
    dc_csv *per_sample;
} run_state;

/* Finishes the stage times of the m results of a chunk that took `total` seconds from the
 * end of the previous chunk, of which `decode` reading the inputs: decode is shared
 * equally, and bookkeeping is what the measured stages leave of each input's share. */
static void close_stages(dc_sample_result *res, int m, double total, double decode)
{
    for (int j = 0; j < m; j++) {
        double *st = res[j].stage;
        st[DC_STAGE_DECODE] = decode / m;
        double measured = 0.0;
        for (int k = 0; k < DC_STAGE_BOOKKEEPING; k++)
            measured += st[k];
        st[DC_STAGE_BOOKKEEPING] = total / m - measured;
    }
}

/* Reads the inputs at[0..m) of the workload into raw[] and labels[]. */
static dc_status decode_chunk(run_state *s, int at, int m, dc_image *raw,
                              const dc_image **ptrs, int *labels, dc_error *err)
{
    dc_status st = DC_OK;
    for (int j = 0; j < m && st == DC_OK; j++) {
        const dc_work_item *it = &s->items[at + j];
        dc_image img = { 0 };
        st = dc_dataset_image(s->ds, it->index, &img, err);
        if (st == DC_OK && it->xf != DC_XF_NONE) {
            st = dc_image_transform(&img, it->xf, &raw[j], err);
            dc_image_free(&img);
        } else {
            raw[j] = img;
        }
        ptrs[j] = &raw[j];
        labels[j] = dc_dataset_label(s->ds, it->index);
    }
    return st;
}

/* Streams the workload through the cascade in chunks of o->batch inputs. Each chunk's
 * time runs from the end of the previous one (the stream's start for the first) to the
 * end of its own bookkeeping, so the stage times add up to the stream's wall time. */
static dc_status stream(run_state *s, dc_error *err)
{
    const run_opts *o = s->o;
    int b = o->batch;
    dc_image *raw = calloc((size_t)b, sizeof *raw);
    const dc_image **ptrs = calloc((size_t)b, sizeof *ptrs);
    int *labels = calloc((size_t)b, sizeof *labels);
    dc_sample_result *res = calloc((size_t)b, sizeof *res);
    dc_status st = raw && ptrs && labels && res ? DC_OK
                                                : dc_fail(err, DC_ERR_NOMEM, "out of memory");
    bool progress = !o->quiet && isatty(STDERR_FILENO);
    double started = dc_now_seconds(), last_draw = 0, last_poll = started;
    double chunk_start = started;
    for (int at = 0; st == DC_OK && at < s->count; at += b) {
        int m = s->count - at < b ? s->count - at : b;
        double t_decode = dc_now_seconds();
        st = decode_chunk(s, at, m, raw, ptrs, labels, err);
        t_decode = dc_now_seconds() - t_decode;
        if (st == DC_OK)
            st = dc_cascade_classify(s->cascade, ptrs, labels, m, res, err);
        for (int j = 0; j < m && st == DC_OK && s->per_sample; j++) {
            const dc_work_item *it = &s->items[at + j];
            st = dc_csv_row(s->per_sample, err, "%d,%d,%s,%d,%d,%d,%s,%.6f,%.6f,%.4f",
                            at + j, it->index, dc_transform_name(it->xf), it->duplicate,
                            res[j].label, res[j].pred, dc_exit_name(res[j].exit),
                            res[j].score1, res[j].score2, 1e3 * res[j].seconds);
        }
        for (int j = 0; j < m; j++)
            dc_image_free(&raw[j]);
        double now = dc_now_seconds();
        if (st == DC_OK && now - last_poll > 10.0) { /* keep RAPL counters from wrapping twice */
            st = dc_energy_poll(s->energy, err);
            last_poll = now;
        }
        if (progress && (now - last_draw > 0.2 || at + m == s->count)) {
            draw_progress(at + m, s->count, started);
            last_draw = now;
        }
        /* the report's own time lands in the next chunk's bookkeeping */
        double chunk_end = dc_now_seconds();
        close_stages(res, m, chunk_end - chunk_start, t_decode);
        chunk_start = chunk_end;
        for (int j = 0; j < m && st == DC_OK; j++)
            st = dc_report_add(s->report, &res[j], err);
    }
    free(raw);
    free(ptrs);
    free(labels);
    free(res);
    return st;
}

/* Powers the machine off as the paper's runs did (to mark the end on an external meter).
 * Only root may; nothing here asks for a password. $DUALCNN_SHUTDOWN_CMD replaces the
 * command (tests use it). */
static int finish_shutdown(void)
{
    const char *cmd = getenv("DUALCNN_SHUTDOWN_CMD");
    if (!cmd && geteuid() != 0) {
        fprintf(stderr, "dualcnn run: --finish shutdown: not shutting down: powering off "
                        "needs root (running as uid %d); the report is complete\n",
                (int)geteuid());
        return CLI_FAIL;
    }
    fflush(stdout);
    int rc = system(cmd ? cmd : "shutdown -h now");
    if (rc != 0) {
        fprintf(stderr, "dualcnn run: --finish shutdown: '%s' failed (status %d)\n",
                cmd ? cmd : "shutdown -h now", rc);
        return CLI_FAIL;
    }
    return CLI_OK;
}

static const char *per_sample_header =
    "position,sample,transform,duplicate,label,prediction,exit,score1,score2,ms";

int cmd_run(int argc, char **argv)
{
    run_opts o = { .seed = 42, .shuffle = true, .batch = 1, .energy = "auto",
                   .finish = "exit", .score = DC_SCORE_DIFFERENCE };
    run_config config = { .n_strings = 0 };
    int rc = parse_run_args(argc, argv, &o, &config);
    if (rc != CLI_OK) {
        run_config_free(&config);
        return rc < 0 ? CLI_OK : rc;
    }
    dc_set_threads(o.threads);

    dc_error err;
    dc_status st = DC_OK;
    dc_net *net1 = NULL, *net2 = NULL;
    dc_dataset *ds = NULL;
    dc_memory *memory = NULL;
    dc_energy *energy = NULL;
    dc_cascade *cascade = NULL;
    dc_work_item *items = NULL;
    dc_csv *per_sample = NULL;
    dc_report report = { 0 };
    bool report_ready = false;
    int count = 0;
    char w1[1024], w2[1024];

    st = load_model(&o, o.model1, o.weights1, "-m1", &net1, w1, sizeof w1, &err);
    if (st == DC_OK && (o.model2 || o.weights2))
        st = load_model(&o, o.model2, o.weights2, "-m2", &net2, w2, sizeof w2, &err);
    if (st == DC_OK) {
        o.weights1 = w1;
        o.weights2 = net2 ? w2 : NULL;
    }
    dc_net_info i1 = { 0 }, i2 = { 0 };
    if (st == DC_OK) {
        i1 = dc_net_get_info(net1);
        i2 = net2 ? dc_net_get_info(net2) : i1;
        const char *kind = o.dataset;
        if (kind && strcmp(kind, "cifar10") != 0 && strcmp(kind, "fashionmnist") != 0 &&
            strcmp(kind, "imagenet") != 0 && strcmp(kind, "intel") != 0)
            kind = NULL; /* another name: a weights subfolder; detect the data's kind */
        st = dc_dataset_open(o.path, kind, o.train, &ds, &err);
    }
    if (st == DC_OK && o.skip > 0)
        st = dc_dataset_keep(ds, o.skip, 0, &err);
    if (st == DC_OK && dc_dataset_num_classes(ds) != i1.num_classes)
        st = dc_fail(&err, DC_ERR_ARG, "%s has %d classes but %s (%s) has %d", o.path,
                     dc_dataset_num_classes(ds), i1.arch, o.weights1, i1.num_classes);
    int n = 0;
    if (st == DC_OK) {
        n = dc_dataset_count(ds);
        if (o.limit && o.limit < n)
            n = o.limit;
        dc_workload_opts wo = { .duplicates = o.duplicates, .rotations = o.rotations,
                                .seed = o.seed, .shuffle = o.shuffle };
        st = dc_workload_build(n, &wo, &items, &count, &err);
    }
    if (st == DC_OK && o.memory) {
        dc_hash_kind hk;
        dc_hash_kind_parse(o.memory, &hk);
        st = dc_memory_init(hk, (size_t)o.memory_size, &memory, &err);
    }
    if (st == DC_OK)
        st = dc_energy_open(o.energy, &energy, &err);
    if (st == DC_OK) {
        dc_cascade_config cfg = { .first = net1, .second = net2, .score = o.score,
                                  .threshold = o.threshold, .postcheck = o.postcheck,
                                  .memory = memory };
        st = dc_cascade_init(&cfg, o.batch, &cascade, &err);
    }
    if (st == DC_OK && (st = dc_report_init(&report, i1.num_classes, &err)) == DC_OK)
        report_ready = true;
    if (st == DC_OK && o.per_sample_csv)
        st = dc_csv_open(o.per_sample_csv, per_sample_header, false, &per_sample, &err);

    run_totals t = { .arch1 = i1.arch, .arch2 = net2 ? i2.arch : NULL, .macs1 = i1.macs,
                     .macs2 = net2 ? i2.macs : 0, .idle_watts = NAN };
    if (st == DC_OK) {
        t.dataset_kind = dc_dataset_kind(ds);
        t.dataset_count = n;
        t.stream_count = count;
        printf("dualcnn run: %s", i1.arch);
        if (net2)
            printf(" -> %s, score %s, threshold %.4f, post-check %s", i2.arch,
                   dc_score_name(o.score), o.threshold, o.postcheck ? "on" : "off");
        printf(", memory %s\n", o.memory ? o.memory : "off");
        char split[96];
        printf("data: %s %s + duplicates %g, rotations %g -> %d inputs "
               "(seed %llu, %s), batch %d\n", t.dataset_kind,
               cli_split_name(o.train, o.skip, n, split, sizeof split),
               o.duplicates, o.rotations, count, (unsigned long long)o.seed,
               o.shuffle ? "shuffled" : "duplicates last", o.batch);
        fflush(stdout);
        if (dc_energy_available(energy) && o.idle_seconds > 0)
            st = dc_energy_measure_idle(energy, o.idle_seconds, &t.idle_watts, &err);
    }
    if (st == DC_OK)
        st = dc_energy_start(energy, &err);
    double t0 = dc_now_seconds();
    if (st == DC_OK) {
        run_state s = { .o = &o, .ds = ds, .items = items, .count = count,
                        .cascade = cascade, .energy = energy, .report = &report,
                        .per_sample = per_sample };
        st = stream(&s, &err);
    }
    t.wall_seconds = dc_now_seconds() - t0;
    if (st == DC_OK) {
        t.energy_ok = dc_energy_available(energy);
        t.energy_source = dc_energy_source_name(energy);
        t.energy_domains = dc_energy_domains(energy);
        t.energy_reason = dc_energy_unavailable_reason(energy);
        if (t.energy_ok && dc_energy_read(energy, &t.joules, &err) != DC_OK) {
            t.energy_ok = false;
            t.energy_reason = err.msg;
        }
        const char **names = calloc((size_t)i1.num_classes, sizeof *names);
        for (int k = 0; names && k < i1.num_classes; k++)
            names[k] = dc_dataset_class_name(ds, k);
        run_print_report(&o, &t, &report, names);
        free(names);
    }
    if (st == DC_OK && per_sample) {
        st = dc_csv_commit(per_sample, &err);
        per_sample = NULL;
    }
    if (st == DC_OK && o.report_csv)
        st = run_write_report_csv(&o, &t, &report, &err);

    rc = st == DC_OK ? CLI_OK : cli_report("run", &err);
    dc_csv_abort(per_sample);
    if (report_ready)
        dc_report_free(&report);
    dc_cascade_free(cascade);
    dc_energy_close(energy);
    dc_memory_free(memory);
    free(items);
    dc_dataset_close(ds);
    dc_net_free(net2);
    dc_net_free(net1);
    if (rc == CLI_OK && strcmp(o.finish, "shutdown") == 0)
        rc = finish_shutdown();
    run_config_free(&config);
    return rc;
}
