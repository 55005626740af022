/*
 * run.h — the pieces of `dualcnn run` (the paper's main.py): its options, and the report
 * written at the end (cli/run_output.c).
 */
#ifndef DC_CLI_RUN_H
#define DC_CLI_RUN_H

#include "cascade/cascade.h"
#include "cascade/energy.h"
#include "cascade/report.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    const char *model1, *model2;       /* -m1, -m2 */
    const char *weights1, *weights2;   /* -w1, -w2 */
    const char *weights_dir;
    const char *path;                  /* -i */
    const char *dataset;               /* -D: kind of data and weights subfolder */
    bool train;                        /* --train: the training split */
    dc_score_kind score;               /* -s */
    double threshold;                  /* -t */
    bool threshold_given;
    bool postcheck;                    /* -p */
    const char *memory;                /* -m: dhash | invariants | NULL */
    long memory_size;                  /* --memory-size: LRU bound, 0 = none */
    double duplicates, rotations;      /* -d, -r */
    uint64_t seed;
    bool shuffle;
    int skip;                          /* --skip: samples left out at the split's start */
    int limit;                         /* --limit: first N samples (after skip), 0 = all */
    int batch;                         /* --batch */
    int threads;
    const char *energy;                /* --energy auto|rapl|perf|hwmon|ina3221|meter|none */
    double energy_period_ms;           /* --energy-period-ms (sampled sources) */
    double meter_volts;                /* --meter-volts (meter readings in mAh); 0: none */
    double idle_seconds;               /* --idle-baseline */
    const char *report_csv, *per_sample_csv;
    const char *finish;                /* exit | shutdown */
    bool quiet;
    bool json;                         /* --json: the report as JSON on stdout */
} run_opts;

/* What the run measured, beside the per-sample report. */
typedef struct {
    const char *arch1, *arch2;
    int64_t macs1, macs2;
    const char *dataset_kind;
    int dataset_count, stream_count;
    double wall_seconds;
    bool energy_ok;
    double joules, idle_watts;         /* idle_watts NaN without a baseline */
    const char *energy_source, *energy_domains, *energy_reason;
    const char *energy_note;           /* how it was measured (sampling, typed readings) */
    bool energy_sampled;               /* a sampled source: energy_sampling holds */
    dc_energy_sampling energy_sampling;
    char energy_error[1024];           /* energy_reason when reading the meter failed */
    int done_count;                    /* inputs streamed: stream_count unless interrupted */
    const char *interrupted_by;        /* "SIGINT" or "SIGTERM": a partial report; or NULL */
} run_totals;

/* Strings read from config files, alive until run_config_free. */
#define RUN_CONFIG_MAX_BYTES (1 << 20) /* a config.yml is a few hundred bytes */
typedef struct {
    char **strings;
    int n_strings, cap;
} run_config;

/* Parses the command line of `dualcnn run` into o (cli/run_args.c), reading a config file
 * at -y into o and c. Returns CLI_OK, CLI_USAGE after printing the problem, or
 * CLI_HELP_SHOWN after printing the help. */
int run_parse_args(int argc, char **argv, run_opts *o, run_config *c);

/* Reads the original main.py's config.yml (-y) into o, over what o holds (see
 * cli/run_config.c): a setting the file gives replaces o's; an empty one (null) leaves
 * it. The strings o then points to are owned by c. Fails naming the file, the line and the
 * key: a YAML syntax error, an unknown key, a value of the wrong type or out of range. */
dc_status run_config_load(const char *path, run_opts *o, run_config *c, dc_error *err);
void run_config_free(run_config *c);

void run_print_report(const run_opts *o, const run_totals *t, const dc_report *r,
                      const char *const *class_names);

/* The report as one JSON object on stdout (cli/run_json.c): the configuration, the
 * classification report per class and averaged, usage, memory, answers, response times,
 * the time per input and its stages, MACs, energy, wall time, and whether it is partial. */
dc_status run_write_json(const run_opts *o, const run_totals *t, const dc_report *r,
                         const char *const *class_names, dc_error *err);

/* Appends one row with the configuration and every metric to o->report_csv. */
dc_status run_write_report_csv(const run_opts *o, const run_totals *t, const dc_report *r,
                               dc_error *err);

#endif /* DC_CLI_RUN_H */
