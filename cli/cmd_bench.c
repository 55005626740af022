/*
 * cmd_bench.c — `dualcnn bench`: how fast a model runs here. Times repeated forward
 * passes of one batch after a warm-up and reports the median and the 10th/90th
 * percentiles (the machine is shared and noisy: never trust a single run), the GFLOP/s
 * this corresponds to, and the peak resident memory of the process; with --json also
 * every timed pass and what the run ran on (threads, CPU, BLAS, version).
 * --model all | cifar10 | imagenet benches every model of that set in turn;
 * --layers adds the roofline view of bench_roofline.c.
 * bench/compare_pytorch.py runs it with --json beside PyTorch for the ratio.
 */
#include "cli/argparse.h"
#include "cli/bench.h"
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static void bench_help(FILE *f)
{
    fprintf(f, "usage: dualcnn bench --model NAME [options]\n\n"
               "Times forward passes of a model on random input.\n\n"
               "  -m, --model NAME     architecture (random weights unless --weights), or all,\n"
               "                       cifar10 or imagenet: every model of that set in turn,\n"
               "                       one line (or JSON object) each\n"
               "  -w, --weights FILE   use this weight file instead (its arch is the model)\n"
               "  --batch N            samples per forward pass (default 1)\n"
               "  --threads N          threads (default: $OMP_NUM_THREADS, else every CPU this\n"
               "                       process may use); the number used is reported\n"
               "  --repeats N          timed passes (default 50)\n"
               "  --warmup N           untimed passes first (default 10)\n"
               "  --profile            per-node time, MACs and GFLOP/s after the run\n"
               "  --layers             roofline view: one row per distinct conv shape (nodes,\n"
               "                       MACs, ms/sample, GFLOP/s, flop/byte, the roofline limit\n"
               "                       and the share of it reached), other nodes by op; the\n"
               "                       SGEMM peak and memory bandwidth are measured first\n"
               "  --peak-n N           --layers: size of the square SGEMM of the peak (1024)\n"
               "  --triad-mib N        --layers: MiB per array of the bandwidth triad, 3 arrays\n"
               "                       (default 256: make 3 x N well above the L3 cache)\n"
               "  --json               JSON on stdout instead of text: one object per model\n"
               "                       and line, with every timed pass (times_ms), threads, cpu,\n"
               "                       blas and version (and \"layers\" with --layers)\n"
               "  -h, --help           this text\n");
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Linear-interpolated percentile q in [0, 1] of sorted values (as numpy's default). */
static double percentile(const double *sorted, int n, double q)
{
    double pos = q * (n - 1);
    int lo = (int)pos;
    int hi = lo + 1 < n ? lo + 1 : lo;
    return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}

typedef struct {
    const char *model, *weights;
    int batch, threads, repeats, warmup;
    int peak_n, triad_mib;
    bool json, profile, layers;
    bool one_line;                 /* several models: one text line per model */
    cli_roof_machine machine;      /* --layers */
    char cpu[256], blas[512];
} bench_opts;

/* What one model's run measured. */
typedef struct {
    double *times;                 /* repeats seconds, in run order */
    double med, p10, p90, gflops, rss_mb;
} bench_result;

static void print_json(const bench_opts *o, const dc_net_info *info, const bench_result *r,
                       const dc_net *net)
{
    printf("{\"model\": \"%s\", \"dataset\": \"%s\", \"batch\": %d, \"threads\": %d, "
           "\"median_ms\": %.4f, \"p10_ms\": %.4f, \"p90_ms\": %.4f, \"gflops\": %.3f, "
           "\"peak_rss_mb\": %.1f, \"macs\": %lld, \"repeats\": %d, \"warmup\": %d, "
           "\"times_ms\": [", info->arch, info->dataset ? info->dataset : "", o->batch,
           o->threads, r->med * 1e3, r->p10 * 1e3, r->p90 * 1e3, r->gflops, r->rss_mb,
           (long long)info->macs, o->repeats, o->warmup);
    for (int i = 0; i < o->repeats; i++)
        printf("%s%.4f", i ? ", " : "", r->times[i] * 1e3);
    printf("], \"cpu\": ");
    cli_json_string(stdout, o->cpu);
    printf(", \"blas\": ");
    cli_json_string(stdout, o->blas);
    printf(", \"version\": ");
    cli_json_string(stdout, cli_version());
    if (o->layers) {
        printf(", \"layers\": ");
        cli_roof_report(net, o->batch, &o->machine, true, stdout);
    }
    printf("}\n");
}

static void print_text(const bench_opts *o, const dc_net_info *info, const bench_result *r,
                       const dc_net *net)
{
    if (o->one_line) {
        printf("%-20s batch %d  threads %d  median %.3f ms (p10 %.3f, p90 %.3f)  "
               "%.2f GFLOP/s  %.2f MMACs/image\n", info->arch, o->batch, o->threads,
               r->med * 1e3, r->p10 * 1e3, r->p90 * 1e3, r->gflops, (double)info->macs * 1e-6);
    } else {
        printf("%s  batch %d  threads %d\n", info->arch, o->batch, o->threads);
        printf("  latency  median %.3f ms  (p10 %.3f, p90 %.3f; %d runs)\n", r->med * 1e3,
               r->p10 * 1e3, r->p90 * 1e3, o->repeats);
        printf("  per image %.3f ms   %.2f GFLOP/s   %.2f MMACs/image\n",
               r->med * 1e3 / o->batch, r->gflops, (double)info->macs * 1e-6);
        printf("  peak RSS %.1f MB   activations %.2f MB\n", r->rss_mb,
               (double)info->arena_bytes / (1 << 20));
    }
    if (o->layers)
        cli_roof_report(net, o->batch, &o->machine, false, stdout);
}

/* Random input, warm-up, timed passes (profiled with --profile or --layers). */
static dc_status time_passes(const bench_opts *o, dc_net *net, const dc_net_info *info,
                             double *times, dc_error *err)
{
    size_t in_numel = (size_t)o->batch * info->in_c * info->in_h * info->in_w;
    float *x = malloc(in_numel * sizeof *x);
    float *y = malloc((size_t)o->batch * info->num_classes * sizeof *y);
    if (!x || !y) {
        free(x), free(y);
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory for a batch of %d", info->arch,
                       o->batch);
    }
    uint64_t r = 12345;
    for (size_t i = 0; i < in_numel; i++) { /* a cheap LCG: values in [-1, 1) */
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((double)(r >> 40) / 8388608.0 - 1.0);
    }
    dc_status st = DC_OK;
    for (int i = 0; i < o->warmup && st == DC_OK; i++)
        st = dc_net_forward(net, x, o->batch, y, err);
    dc_net_set_profiling(net, o->profile || o->layers);
    for (int i = 0; i < o->repeats && st == DC_OK; i++) {
        double t0 = dc_now_seconds();
        st = dc_net_forward(net, x, o->batch, y, err);
        times[i] = dc_now_seconds() - t0;
    }
    free(x), free(y);
    return st;
}

/* Benches one model (name, or o->weights when name is NULL); prints its result. */
static int bench_one(const bench_opts *o, const char *name)
{
    dc_error err;
    dc_net *net;
    dc_status st = name ? dc_net_build_random(name, 0, 1, o->batch, &net, &err)
                        : dc_net_load(o->weights, o->batch, &net, &err);
    if (st != DC_OK)
        return cli_report("bench", &err);
    dc_net_info info = dc_net_get_info(net);
    bench_result r = { .times = malloc((size_t)o->repeats * sizeof(double)) };
    double *sorted = malloc((size_t)o->repeats * sizeof *sorted);
    if (!r.times || !sorted) {
        free(r.times), free(sorted);
        dc_net_free(net);
        fprintf(stderr, "dualcnn bench: out of memory\n");
        return CLI_FAIL;
    }
    if ((st = time_passes(o, net, &info, r.times, &err)) != DC_OK) {
        free(r.times), free(sorted);
        dc_net_free(net);
        return cli_report("bench", &err);
    }
    memcpy(sorted, r.times, (size_t)o->repeats * sizeof *sorted);
    qsort(sorted, (size_t)o->repeats, sizeof *sorted, compare_double);
    r.med = percentile(sorted, o->repeats, 0.5);
    r.p10 = percentile(sorted, o->repeats, 0.1);
    r.p90 = percentile(sorted, o->repeats, 0.9);
    r.gflops = r.med > 0 ? 2.0 * (double)info.macs * o->batch / r.med * 1e-9 : 0.0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    r.rss_mb = (double)ru.ru_maxrss / 1024.0; /* ru_maxrss is in KiB on Linux */
    if (o->json)
        print_json(o, &info, &r, net);
    else
        print_text(o, &info, &r, net);
    if (o->profile)
        dc_net_print_profile(net, o->json ? stderr : stdout);
    fflush(stdout);
    free(r.times), free(sorted);
    dc_net_free(net);
    return CLI_OK;
}

/* True when the --model value names a set of models rather than one. */
static bool is_model_set(const char *m)
{
    return m && (strcmp(m, "all") == 0 || strcmp(m, "cifar10") == 0 ||
                 strcmp(m, "imagenet") == 0);
}

static int bench_all(bench_opts *o)
{
    int failures = 0;
    for (int i = 0; i < dc_zoo_count(); i++) {
        const dc_zoo_entry *e = dc_zoo_at(i);
        if (strcmp(o->model, "all") != 0 && strcmp(o->model, e->dataset) != 0)
            continue;
        if (bench_one(o, e->name) != CLI_OK)
            failures++; /* reported; the others go on */
    }
    if (failures)
        fprintf(stderr, "dualcnn bench: %d model(s) failed\n", failures);
    return failures ? CLI_FAIL : CLI_OK;
}

enum {
    OPT_MODEL = 1, OPT_WEIGHTS, OPT_BATCH, OPT_THREADS, OPT_REPEATS, OPT_WARMUP, OPT_PEAK_N,
    OPT_TRIAD_MIB, OPT_JSON, OPT_PROFILE, OPT_LAYERS
};

static const cli_opt bench_opts_table[] = {
    { OPT_MODEL, "-m --model", CLI_VALUE },
    { OPT_WEIGHTS, "-w --weights", CLI_VALUE },
    { OPT_BATCH, "--batch", CLI_VALUE },
    { OPT_THREADS, "--threads", CLI_VALUE },
    { OPT_REPEATS, "--repeats", CLI_VALUE },
    { OPT_WARMUP, "--warmup", CLI_VALUE },
    { OPT_PEAK_N, "--peak-n", CLI_VALUE },
    { OPT_TRIAD_MIB, "--triad-mib", CLI_VALUE },
    { OPT_JSON, "--json", CLI_FLAG },
    { OPT_PROFILE, "--profile", CLI_FLAG },
    { OPT_LAYERS, "--layers", CLI_FLAG },
    { 0, NULL, CLI_FLAG },
};

static const cli_spec bench_spec = { "bench", { bench_opts_table }, bench_help, false };

/* Parses argv into o: CLI_OK, CLI_USAGE, or CLI_HELP_SHOWN after printing the help. */
static int parse_bench_args(int argc, char **argv, bench_opts *o)
{
    const char *batch_s = NULL, *threads_s = NULL, *repeats_s = NULL, *warmup_s = NULL;
    const char *peak_s = NULL, *triad_s = NULL;
    cli_args a;
    int rc = cli_args_begin(&a, &bench_spec, argc, argv);
    if (rc != CLI_OK)
        return rc;
    for (int id; (id = cli_args_next(&a)) != CLI_ARG_END;) {
        switch (id) {
        case OPT_MODEL: o->model = a.value; break;
        case OPT_WEIGHTS: o->weights = a.value; break;
        case OPT_BATCH: batch_s = a.value; break;
        case OPT_THREADS: threads_s = a.value; break;
        case OPT_REPEATS: repeats_s = a.value; break;
        case OPT_WARMUP: warmup_s = a.value; break;
        case OPT_PEAK_N: peak_s = a.value; break;
        case OPT_TRIAD_MIB: triad_s = a.value; break;
        case OPT_JSON: o->json = true; break;
        case OPT_PROFILE: o->profile = true; break;
        case OPT_LAYERS: o->layers = true; break;
        }
    }
    if (!o->model && !o->weights)
        return cli_usage_error("bench", "--model or --weights is required");
    if (o->weights && is_model_set(o->model))
        return cli_usage_error("bench", "--model %s benches several models; --weights names "
                               "one: give one or the other", o->model);
    if ((batch_s && !cli_parse_int("bench", "--batch", batch_s, 1, 4096, &o->batch)) ||
        (threads_s && !cli_parse_int("bench", "--threads", threads_s, 1, 1024, &o->threads)) ||
        (repeats_s && !cli_parse_int("bench", "--repeats", repeats_s, 1, 1000000, &o->repeats)) ||
        (warmup_s && !cli_parse_int("bench", "--warmup", warmup_s, 0, 1000000, &o->warmup)) ||
        (peak_s && !cli_parse_int("bench", "--peak-n", peak_s, 16, 16384, &o->peak_n)) ||
        (triad_s && !cli_parse_int("bench", "--triad-mib", triad_s, 1, 65536, &o->triad_mib)))
        return CLI_USAGE;
    if (o->model && !o->weights && !is_model_set(o->model) && !dc_zoo_find(o->model))
        return cli_usage_error("bench", "unknown model '%s' (see 'dualcnn models')", o->model);
    return CLI_OK;
}

int cmd_bench(int argc, char **argv)
{
    bench_opts o = { .batch = 1, .repeats = 50, .warmup = 10, .peak_n = 1024,
                     .triad_mib = 256 };
    int rc = parse_bench_args(argc, argv, &o);
    if (rc != CLI_OK)
        return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    o.threads = cli_bench_threads(o.threads); /* what we set is what we report */
    dc_set_threads(o.threads);
    cli_cpu_model(o.cpu, sizeof o.cpu);
    cli_blas_name(o.blas, sizeof o.blas);
    bool several = !o.weights && is_model_set(o.model);
    o.one_line = several && !o.json;
    if (!o.json)
        printf("dualcnn %s, %d thread%s, CPU %s, %s\n", cli_version(), o.threads,
               o.threads == 1 ? "" : "s", o.cpu, o.blas);
    if (o.layers) {
        if (!cli_roof_measure(o.peak_n, (size_t)o.triad_mib, o.threads, &o.machine))
            return CLI_FAIL;
        if (!o.json)
            cli_roof_print_machine(&o.machine, stdout);
    }
    return several ? bench_all(&o) : bench_one(&o, o.weights ? NULL : o.model);
}
