/*
 * cmd_bench.c — `dualcnn bench`: how fast a model runs here. Times repeated forward
 * passes of one batch after a warm-up and reports the median and the 10th/90th
 * percentiles (the machine is shared and noisy: never trust a single run), the GFLOP/s
 * this corresponds to, and the peak resident memory of the process.
 * bench/compare_pytorch.py runs it with --json beside PyTorch for the ratio.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static void bench_help(FILE *f)
{
    fprintf(f, "usage: dualcnn bench --model NAME [options]\n\n"
               "Times forward passes of a model on random input.\n\n"
               "  -m, --model NAME     architecture (random weights unless --weights)\n"
               "  -w, --weights FILE   use this weight file instead (its arch is the model)\n"
               "  --batch N            samples per forward pass (default 1)\n"
               "  --threads N          threads (default: all cores)\n"
               "  --repeats N          timed passes (default 50)\n"
               "  --warmup N           untimed passes first (default 10)\n"
               "  --profile            per-node time, MACs and GFLOP/s after the run\n"
               "  --json               one JSON object on stdout instead of text\n"
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
    bool json, profile;
} bench_opts;

static int bench_run(const bench_opts *o)
{
    dc_error err;
    dc_net *net;
    dc_status st = o->weights ? dc_net_load(o->weights, o->batch, &net, &err)
                              : dc_net_build_random(o->model, 0, 1, o->batch, &net, &err);
    if (st != DC_OK)
        return cli_report("bench", &err);
    dc_net_info info = dc_net_get_info(net);
    size_t in_numel = (size_t)o->batch * info.in_c * info.in_h * info.in_w;
    float *x = malloc(in_numel * sizeof *x);
    float *y = malloc((size_t)o->batch * info.num_classes * sizeof *y);
    double *times = malloc((size_t)o->repeats * sizeof *times);
    if (!x || !y || !times) {
        free(x), free(y), free(times);
        dc_net_free(net);
        fprintf(stderr, "dualcnn bench: out of memory\n");
        return CLI_FAIL;
    }
    uint64_t r = 12345;
    for (size_t i = 0; i < in_numel; i++) { /* a cheap LCG: values in [-1, 1) */
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((double)(r >> 40) / 8388608.0 - 1.0);
    }
    for (int i = 0; i < o->warmup && st == DC_OK; i++)
        st = dc_net_forward(net, x, o->batch, y, &err);
    dc_net_set_profiling(net, o->profile);
    for (int i = 0; i < o->repeats && st == DC_OK; i++) {
        double t0 = dc_now_seconds();
        st = dc_net_forward(net, x, o->batch, y, &err);
        times[i] = dc_now_seconds() - t0;
    }
    if (st != DC_OK) {
        free(x), free(y), free(times);
        dc_net_free(net);
        return cli_report("bench", &err);
    }
    qsort(times, (size_t)o->repeats, sizeof *times, compare_double);
    double med = percentile(times, o->repeats, 0.5);
    double p10 = percentile(times, o->repeats, 0.1), p90 = percentile(times, o->repeats, 0.9);
    double gflops = 2.0 * (double)info.macs * o->batch / med * 1e-9;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double rss_mb = (double)ru.ru_maxrss / 1024.0; /* ru_maxrss is in KiB on Linux */
    if (o->json) {
        printf("{\"model\": \"%s\", \"batch\": %d, \"threads\": %d, \"median_ms\": %.4f, "
               "\"p10_ms\": %.4f, \"p90_ms\": %.4f, \"gflops\": %.3f, \"peak_rss_mb\": %.1f, "
               "\"macs\": %lld, \"repeats\": %d}\n",
               info.arch, o->batch, o->threads, med * 1e3, p10 * 1e3, p90 * 1e3, gflops,
               rss_mb, (long long)info.macs, o->repeats);
    } else {
        printf("%s  batch %d  threads %s%d\n", info.arch, o->batch, o->threads ? "" : "default ",
               o->threads);
        printf("  latency  median %.3f ms  (p10 %.3f, p90 %.3f; %d runs)\n", med * 1e3,
               p10 * 1e3, p90 * 1e3, o->repeats);
        printf("  per image %.3f ms   %.2f GFLOP/s   %.2f MMACs/image\n", med * 1e3 / o->batch,
               gflops, (double)info.macs * 1e-6);
        printf("  peak RSS %.1f MB   activations %.2f MB\n", rss_mb,
               (double)info.arena_bytes / (1 << 20));
    }
    if (o->profile)
        dc_net_print_profile(net, o->json ? stderr : stdout);
    free(x), free(y), free(times);
    dc_net_free(net);
    return CLI_OK;
}

int cmd_bench(int argc, char **argv)
{
    bench_opts o = { .batch = 1, .repeats = 50, .warmup = 10 };
    const char *batch_s = NULL, *threads_s = NULL, *repeats_s = NULL, *warmup_s = NULL;
    bool ok = true;
    for (int i = 1; i < argc && ok; i++) {
        if (cli_flag(argc, argv, &i, "-h", "--help")) {
            bench_help(stdout);
            return CLI_OK;
        } else if (cli_option(argc, argv, &i, "-m", "--model", &o.model, &ok) ||
                   cli_option(argc, argv, &i, "-w", "--weights", &o.weights, &ok) ||
                   cli_option(argc, argv, &i, "--batch", NULL, &batch_s, &ok) ||
                   cli_option(argc, argv, &i, "--threads", NULL, &threads_s, &ok) ||
                   cli_option(argc, argv, &i, "--repeats", NULL, &repeats_s, &ok) ||
                   cli_option(argc, argv, &i, "--warmup", NULL, &warmup_s, &ok)) {
        } else if (cli_flag(argc, argv, &i, "--json", NULL)) {
            o.json = true;
        } else if (cli_flag(argc, argv, &i, "--profile", NULL)) {
            o.profile = true;
        } else {
            return cli_usage_error("bench", "unknown option '%s'", argv[i]);
        }
    }
    if (!ok)
        return CLI_USAGE;
    if (!o.model && !o.weights)
        return cli_usage_error("bench", "--model or --weights is required");
    if ((batch_s && !cli_parse_int("bench", "--batch", batch_s, 1, 4096, &o.batch)) ||
        (threads_s && !cli_parse_int("bench", "--threads", threads_s, 1, 1024, &o.threads)) ||
        (repeats_s && !cli_parse_int("bench", "--repeats", repeats_s, 1, 1000000, &o.repeats)) ||
        (warmup_s && !cli_parse_int("bench", "--warmup", warmup_s, 0, 1000000, &o.warmup)))
        return CLI_USAGE;
    if (o.model && !o.weights && !dc_zoo_find(o.model))
        return cli_usage_error("bench", "unknown model '%s' (see 'dualcnn models')", o.model);
    dc_set_threads(o.threads);
    return bench_run(&o);
}
