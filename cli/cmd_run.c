/*
 * cmd_run.c — `dualcnn run`, the paper's main.py: stream a dataset (with duplicates and
 * rotations) through the cascade of two CNNs with its memory, and report accuracy, second
 * model usage, memory hits, response times, MACs and energy.
 */
#include "cascade/csv.h"
#include "cascade/workload.h"
#include "cli/argparse.h"
#include "cli/check.h"
#include "cli/cli.h"
#include "cli/interrupt.h"
#include "cli/progress.h"
#include "cli/run.h"
#include "loaders/dataset.h"

#include <math.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- loading ------------------------------------------------------------ */

/* Loads a model from -w or from the weights dir; checks its arch against -m when both. */
static dc_status load_model(const run_opts *o, const char *model, const char *weights,
                            const char *flag, dc_net **net, char *used, size_t cap,
                            dc_error *err)
{
    dc_status st = cli_resolve_weights(flag, model, weights, o->weights_dir, o->dataset, used,
                                       cap, err);
    if (st == DC_OK)
        st = dc_net_load(used, o->batch, net, err);
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

/* Everything named on the command line, before any model is loaded: both models and their
 * weight files, the dataset, the folders of --report and --per-sample. */
static dc_status check_named(const run_opts *o, dc_error *err)
{
    char path[1024];
    dc_status st = cli_resolve_weights(o->weights1 ? "-w1" : "-m1", o->model1, o->weights1,
                                       o->weights_dir, o->dataset, path, sizeof path, err);
    if (st == DC_OK && (o->model2 || o->weights2))
        st = cli_resolve_weights(o->weights2 ? "-w2" : "-m2", o->model2, o->weights2,
                                 o->weights_dir, o->dataset, path, sizeof path, err);
    if (st == DC_OK)
        st = cli_check_input("-i", o->path, err);
    if (st == DC_OK)
        st = cli_check_output("--report", o->report_csv, err);
    if (st == DC_OK)
        st = cli_check_output("--per-sample", o->per_sample_csv, err);
    return st;
}

/* ---- the run ------------------------------------------------------------ */

typedef struct {
    const run_opts *o;
    dc_dataset *ds;
    dc_work_item *items;
    int count;
    dc_cascade *cascade;
    dc_energy *energy;
    dc_report *report;
    dc_csv *per_sample;
    int done;                      /* inputs streamed (fewer than count when interrupted) */
    bool energy_failed;            /* a poll failed: the run went on without energy */
    char energy_error[1024];
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
    cli_progress bar;
    cli_progress_start(&bar, "run", "inputs", s->count, o->quiet);
    double last_poll = dc_now_seconds(), chunk_start = last_poll;
    for (int at = 0; st == DC_OK && at < s->count && !cli_interrupted(); at += b) {
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
        if (st == DC_OK && !s->energy_failed && now - last_poll > 10.0) {
            /* keep RAPL counters from wrapping twice; a meter that fails ends the
             * measurement, not the run */
            dc_error perr;
            if (dc_energy_poll(s->energy, &perr) != DC_OK) {
                s->energy_failed = true;
                snprintf(s->energy_error, sizeof s->energy_error, "%s", perr.msg);
            }
            last_poll = now;
        }
        cli_progress_update(&bar, at + m);
        /* the report's own time lands in the next chunk's bookkeeping */
        double chunk_end = dc_now_seconds();
        close_stages(res, m, chunk_end - chunk_start, t_decode);
        chunk_start = chunk_end;
        for (int j = 0; j < m && st == DC_OK; j++)
            st = dc_report_add(s->report, &res[j], err);
        s->done = at + m;
    }
    cli_progress_finish(&bar); /* stopped early: end the progress line */
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

/* Everything a run holds; run_parts_free frees it. */
typedef struct {
    dc_net *net1, *net2;
    dc_net_info i1, i2;
    char w1[1024], w2[1024];       /* the weight files used */
    dc_dataset *ds;
    int n;                         /* dataset samples used */
    dc_work_item *items;
    int count;                     /* inputs in the stream */
    dc_memory *memory;
    dc_energy *energy;
    dc_cascade *cascade;
    dc_report report;
    bool report_ready;
    dc_csv *per_sample;
} run_parts;

static void run_parts_free(run_parts *p)
{
    dc_csv_abort(p->per_sample); /* an unfinished --per-sample file is never renamed in */
    if (p->report_ready)
        dc_report_free(&p->report);
    dc_cascade_free(p->cascade);
    dc_energy_close(p->energy);
    dc_memory_free(p->memory);
    free(p->items);
    dc_dataset_close(p->ds);
    dc_net_free(p->net2);
    dc_net_free(p->net1);
}

/* The models, and the dataset they read (checked against the first model's classes). */
static dc_status open_models_and_data(run_opts *o, run_parts *p, dc_error *err)
{
    dc_status st = load_model(o, o->model1, o->weights1, "-m1", &p->net1, p->w1,
                              sizeof p->w1, err);
    if (st == DC_OK && (o->model2 || o->weights2))
        st = load_model(o, o->model2, o->weights2, "-m2", &p->net2, p->w2, sizeof p->w2, err);
    if (st != DC_OK)
        return st;
    o->weights1 = p->w1;
    o->weights2 = p->net2 ? p->w2 : NULL;
    p->i1 = dc_net_get_info(p->net1);
    p->i2 = p->net2 ? dc_net_get_info(p->net2) : p->i1;
    const char *kind = o->dataset;
    if (kind && strcmp(kind, "cifar10") != 0 && strcmp(kind, "fashionmnist") != 0 &&
        strcmp(kind, "imagenet") != 0 && strcmp(kind, "intel") != 0)
        kind = NULL; /* another name: a weights subfolder; detect the data's kind */
    /* --skip + --limit samples are all the run reads (0: the whole split) */
    int want = o->limit > 0 && o->skip <= INT_MAX - o->limit ? o->skip + o->limit : 0;
    st = dc_dataset_open_first(o->path, kind, o->train, want, &p->ds, err);
    if (st == DC_OK && o->skip > 0)
        st = dc_dataset_keep(p->ds, o->skip, 0, err);
    if (st == DC_OK && dc_dataset_num_classes(p->ds) != p->i1.num_classes)
        st = dc_fail(err, DC_ERR_ARG, "%s has %d classes but %s (%s) has %d", o->path,
                     dc_dataset_num_classes(p->ds), p->i1.arch, o->weights1,
                     p->i1.num_classes);
    return st;
}

/* The stream of inputs, the memory, the energy meter, the cascade and the outputs. */
static dc_status prepare_run(const run_opts *o, run_parts *p, dc_error *err)
{
    p->n = dc_dataset_count(p->ds);
    if (o->limit && o->limit < p->n)
        p->n = o->limit;
    dc_workload_opts wo = { .duplicates = o->duplicates, .rotations = o->rotations,
                            .seed = o->seed, .shuffle = o->shuffle };
    dc_status st = dc_workload_build(p->n, &wo, &p->items, &p->count, err);
    if (st == DC_OK && o->memory) {
        dc_hash_kind hk;
        dc_hash_kind_parse(o->memory, &hk);
        st = dc_memory_init(hk, (size_t)o->memory_size, &p->memory, err);
    }
    if (st == DC_OK) {
        dc_energy_opts eo = dc_energy_default_opts();
        eo.period_ms = o->energy_period_ms;
        eo.meter_volts = o->meter_volts;
        eo.cancelled = cli_interrupted;
        st = dc_energy_open_with(o->energy, &eo, &p->energy, err);
    }
    if (st == DC_OK) {
        dc_cascade_config cfg = { .first = p->net1, .second = p->net2, .score = o->score,
                                  .threshold = o->threshold, .postcheck = o->postcheck,
                                  .memory = p->memory };
        st = dc_cascade_init(&cfg, o->batch, &p->cascade, err);
    }
    if (st == DC_OK && (st = dc_report_init(&p->report, p->i1.num_classes, err)) == DC_OK)
        p->report_ready = true;
    if (st == DC_OK && o->per_sample_csv)
        st = dc_csv_open(o->per_sample_csv, per_sample_header, false, &p->per_sample, err);
    return st;
}

/* What will run; on stderr with --json (stdout holds only the JSON). */
static void print_header(const run_opts *o, const run_parts *p)
{
    FILE *f = o->json ? stderr : stdout;
    fprintf(f, "dualcnn run: %s", p->i1.arch);
    if (p->net2)
        fprintf(f, " -> %s, score %s, threshold %.4f, post-check %s", p->i2.arch,
                dc_score_name(o->score), o->threshold, o->postcheck ? "on" : "off");
    fprintf(f, ", memory %s\n", o->memory ? o->memory : "off");
    char split[96];
    fprintf(f, "data: %s %s + duplicates %g, rotations %g -> %d inputs "
           "(seed %llu, %s), batch %d\n", dc_dataset_kind(p->ds),
           cli_split_name(o->train, o->skip, p->n, split, sizeof split),
           o->duplicates, o->rotations, p->count, (unsigned long long)o->seed,
           o->shuffle ? "shuffled" : "duplicates last", o->batch);
    fflush(f);
}

/* The energy of the run, or why there is none, into t. */
static void read_energy(dc_energy *e, const run_state *s, run_totals *t)
{
    dc_error rerr;
    t->energy_ok = dc_energy_available(e);
    t->energy_source = dc_energy_source_name(e);
    t->energy_domains = dc_energy_domains(e);
    t->energy_reason = dc_energy_unavailable_reason(e);
    if (t->energy_ok && s->energy_failed) {
        t->energy_ok = false;
        snprintf(t->energy_error, sizeof t->energy_error, "%s", s->energy_error);
        t->energy_reason = t->energy_error;
    } else if (t->energy_ok && dc_energy_read(e, &t->joules, &rerr) != DC_OK) {
        t->energy_ok = false;
        snprintf(t->energy_error, sizeof t->energy_error, "%s", rerr.msg);
        t->energy_reason = t->energy_error;
    }
    t->energy_note = dc_energy_note(e);
    t->energy_sampled = dc_energy_sampling_info(e, &t->energy_sampling);
}

/* Streams the inputs, metered; fills the totals of t. */
static dc_status measure_run(const run_opts *o, run_parts *p, run_totals *t, dc_error *err)
{
    dc_status st = DC_OK;
    if (dc_energy_available(p->energy) && o->idle_seconds > 0)
        st = dc_energy_measure_idle(p->energy, o->idle_seconds, &t->idle_watts, err);
    if (st == DC_OK)
        st = dc_energy_start(p->energy, err);
    double t0 = dc_now_seconds();
    run_state s = { .o = o, .ds = p->ds, .items = p->items, .count = p->count,
                    .cascade = p->cascade, .energy = p->energy, .report = &p->report,
                    .per_sample = p->per_sample };
    if (st == DC_OK)
        st = stream(&s, err);
    t->wall_seconds = dc_now_seconds() - t0;
    t->done_count = s.done;
    if (st == DC_OK)
        read_energy(p->energy, &s, t);
    return st;
}

/* The report: text on stdout, or with --json one JSON object there. */
static dc_status print_report(const run_opts *o, const run_parts *p, const run_totals *t,
                              dc_error *err)
{
    const char **names = calloc((size_t)p->i1.num_classes, sizeof *names);
    for (int k = 0; names && k < p->i1.num_classes; k++)
        names[k] = dc_dataset_class_name(p->ds, k);
    dc_status st = DC_OK;
    if (o->json)
        st = run_write_json(o, t, &p->report, names, err);
    else
        run_print_report(o, t, &p->report, names);
    free((void *)names);
    return st;
}

/* The outputs of a finished run: the --per-sample file renamed into place, a --report
 * row. An interrupted run writes neither and leaves existing files as they were. */
static dc_status write_outputs(const run_opts *o, run_parts *p, const run_totals *t,
                               dc_error *err)
{
    dc_status st = DC_OK;
    if (p->per_sample) {
        st = dc_csv_commit(p->per_sample, err);
        p->per_sample = NULL;
    }
    if (st == DC_OK && o->report_csv)
        st = run_write_report_csv(o, t, &p->report, err);
    return st;
}

int cmd_run(int argc, char **argv)
{
    run_opts o = { .seed = 42, .shuffle = true, .batch = 1, .energy = "auto",
                   .energy_period_ms = DC_ENERGY_DEFAULT_PERIOD_MS,
                   .finish = "exit", .score = DC_SCORE_DIFFERENCE };
    run_config config = { .n_strings = 0 };
    int rc = run_parse_args(argc, argv, &o, &config);
    if (rc != CLI_OK) {
        run_config_free(&config);
        return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    }
    dc_set_threads(o.threads);
    cli_interrupt_install();

    dc_error err;
    run_parts p;
    memset(&p, 0, sizeof p);
    dc_status st = check_named(&o, &err);
    if (st == DC_OK)
        st = open_models_and_data(&o, &p, &err);
    if (st == DC_OK)
        st = prepare_run(&o, &p, &err);
    run_totals t = { .arch1 = p.i1.arch, .arch2 = p.net2 ? p.i2.arch : NULL,
                     .macs1 = p.i1.macs, .macs2 = p.net2 ? p.i2.macs : 0, .idle_watts = NAN };
    if (st == DC_OK) {
        t.dataset_kind = dc_dataset_kind(p.ds);
        t.dataset_count = p.n;
        t.stream_count = p.count;
        print_header(&o, &p);
        st = measure_run(&o, &p, &t, &err);
    }
    bool interrupted = cli_interrupted();
    if (st == DC_OK) {
        t.interrupted_by = interrupted ? cli_interrupt_name() : NULL;
        st = print_report(&o, &p, &t, &err);
    }
    if (st == DC_OK && !interrupted)
        st = write_outputs(&o, &p, &t, &err);
    rc = st == DC_OK ? CLI_OK : cli_report("run", &err);
    run_parts_free(&p);
    if (interrupted) {
        fprintf(stderr, "dualcnn run: interrupted by %s: partial report of %d of %d inputs; "
                        "no --per-sample or --report file written\n", cli_interrupt_name(),
                t.done_count, t.stream_count);
        rc = cli_interrupt_status();
    } else if (rc == CLI_OK && strcmp(o.finish, "shutdown") == 0) {
        rc = finish_shutdown();
    }
    run_config_free(&config);
    return rc;
}
