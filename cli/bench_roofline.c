/*
 * bench_roofline.c — `dualcnn bench --layers`: where a model's time goes, against what
 * the machine can do (the roofline model of Williams, Waterman and Patterson, 2009).
 *
 * The machine: peak = the best rate of a large square cblas_sgemm, bandwidth = the best
 * STREAM-like triad a[i] = b[i] + s * c[i] over three arrays much larger than the caches
 * (3 x 4 bytes moved per element, as STREAM counts it), both on the run's thread count.
 * A conv that does F flops and moves B bytes (fp32 input + weights + output, each once)
 * cannot run faster than min(peak, bandwidth x F / B); the share of that limit it reaches
 * says whether a faster kernel could still gain (low share) or not (near 100%).
 *
 * Reads only what layers/net.h exposes of a node: op, name, conv, c/h/w, macs and the
 * profile counters (seconds, runs).
 */
#include "cli/bench.h"
#include "layers/net.h"

#include <cblas.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROOF_GEMM_TRIES 5
#define ROOF_TRIAD_TRIES 4

/* ---- measuring the machine ------------------------------------------------- */

static double gemm_gflops(int n, int tries)
{
    size_t nn = (size_t)n * (size_t)n;
    float *a = malloc(nn * sizeof *a), *b = malloc(nn * sizeof *b), *c = malloc(nn * sizeof *c);
    if (!a || !b || !c) {
        free(a), free(b), free(c);
        fprintf(stderr, "dualcnn bench: out of memory for the %dx%d SGEMM of --layers\n", n, n);
        return -1.0;
    }
    for (size_t i = 0; i < nn; i++) {
        a[i] = (float)((i * 7 + 3) % 17) * 0.0625f - 0.5f;
        b[i] = (float)((i * 5 + 1) % 13) * 0.0625f - 0.375f;
    }
    double best = 0.0;
    for (int t = 0; t <= tries; t++) { /* t == 0 warms up (threads, caches, pages) */
        double t0 = dc_now_seconds();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n,
                    0.0f, c, n);
        double dt = dc_now_seconds() - t0;
        double rate = 2.0 * (double)n * n * n / dt * 1e-9;
        if (t > 0 && rate > best)
            best = rate;
    }
    free(a), free(b), free(c);
    return best;
}

static double triad_gbs(size_t mib, int threads, int tries)
{
    size_t n = mib * ((size_t)1 << 20) / sizeof(float);
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *c = malloc(n * sizeof *c);
    if (!a || !b || !c) {
        free(a), free(b), free(c);
        fprintf(stderr, "dualcnn bench: out of memory for the 3 x %zu MiB triad of --layers "
                        "(see --triad-mib)\n", mib);
        return -1.0;
    }
    long long ln = (long long)n;
    /* first touch by the threads that will use the pages */
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long long i = 0; i < ln; i++) {
        a[i] = 0.0f;
        b[i] = 1.0f;
        c[i] = 2.0f;
    }
    const float s = 3.0f;
    double best = 0.0;
    for (int t = 0; t < tries; t++) {
        double t0 = dc_now_seconds();
#pragma omp parallel for num_threads(threads) schedule(static)
        for (long long i = 0; i < ln; i++)
            a[i] = b[i] + s * c[i];
        double dt = dc_now_seconds() - t0;
        double rate = 3.0 * (double)n * sizeof(float) / dt * 1e-9;
        if (rate > best)
            best = rate;
    }
    volatile float sink = a[n / 2]; /* the stores are used: keep them */
    (void)sink;
    free(a), free(b), free(c);
    return best;
}

static bool measure_here(int gemm_n, size_t triad_mib, int threads, cli_roof_machine *m)
{
    memset(m, 0, sizeof *m);
    m->gemm_n = gemm_n;
    m->triad_mib = triad_mib;
    m->threads = threads;
    int blas_threads = openblas_get_num_threads();
    openblas_set_num_threads(threads);
    m->peak_gflops = gemm_gflops(gemm_n, ROOF_GEMM_TRIES);
    openblas_set_num_threads(blas_threads);
    if (m->peak_gflops < 0)
        return false;
    m->bandwidth_gbs = triad_gbs(triad_mib, threads, ROOF_TRIAD_TRIES);
    return m->bandwidth_gbs >= 0;
}

/* The measurement runs in a child process, so that the triad's arrays (hundreds of MiB)
 * never count in the peak RSS that `bench` reports; without fork it runs here. */
bool cli_roof_measure(int gemm_n, size_t triad_mib, int threads, cli_roof_machine *m)
{
    int fd[2];
    if (pipe(fd) != 0)
        return measure_here(gemm_n, triad_mib, threads, m);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]), close(fd[1]);
        return measure_here(gemm_n, triad_mib, threads, m);
    }
    if (pid == 0) {
        close(fd[0]);
        bool ok = measure_here(gemm_n, triad_mib, threads, m);
        ok = ok && write(fd[1], m, sizeof *m) == (ssize_t)sizeof *m;
        _exit(ok ? 0 : 1);
    }
    close(fd[1]);
    size_t got = 0;
    while (got < sizeof *m) {
        ssize_t r = read(fd[0], (char *)m + got, sizeof *m - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (got != sizeof *m || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "dualcnn bench: measuring the SGEMM peak and the bandwidth for "
                        "--layers failed\n");
        return false;
    }
    return true;
}

void cli_roof_print_machine(const cli_roof_machine *m, FILE *f)
{
    fprintf(f, "machine: SGEMM peak %.1f GFLOP/s (cblas_sgemm %dx%dx%d, best of %d), "
               "bandwidth %.1f GB/s (triad on 3 x %zu MiB arrays, best of %d), %d thread%s\n",
            m->peak_gflops, m->gemm_n, m->gemm_n, m->gemm_n, ROOF_GEMM_TRIES,
            m->bandwidth_gbs, m->triad_mib, ROOF_TRIAD_TRIES, m->threads,
            m->threads == 1 ? "" : "s");
}

/* ---- the report ------------------------------------------------------------ */

typedef struct {
    dc_conv_shape s;
    dc_op op;
    int oc, oh, ow;          /* output of one sample */
    int nodes;
    int64_t macs;            /* one node, one sample */
    double sec;              /* all nodes of this shape, one sample */
    const char *method;      /* dc_conv_method of the first such node */
} conv_row;

typedef struct {
    dc_op op;
    int nodes;
    double sec;              /* one sample */
} op_row;

static bool same_shape(const dc_conv_shape *a, const dc_conv_shape *b)
{
    return a->cin == b->cin && a->h == b->h && a->w == b->w && a->cout == b->cout &&
           a->kh == b->kh && a->kw == b->kw && a->stride_h == b->stride_h &&
           a->stride_w == b->stride_w && a->pad_h == b->pad_h && a->pad_w == b->pad_w &&
           a->groups == b->groups;
}

static int by_time_conv(const void *x, const void *y)
{
    double a = ((const conv_row *)x)->sec, b = ((const conv_row *)y)->sec;
    return (a < b) - (a > b);
}

static int by_time_op(const void *x, const void *y)
{
    double a = ((const op_row *)x)->sec, b = ((const op_row *)y)->sec;
    return (a < b) - (a > b);
}

/* Flops, bytes and the roofline of one row at this batch. */
typedef struct {
    double gflops, intensity, roof, share;
} row_rates;

static row_rates rates_of(const conv_row *r, int batch, const cli_roof_machine *m)
{
    row_rates q = { 0 };
    int groups = r->s.groups > 0 ? r->s.groups : 1;
    double in = (double)r->s.cin * r->s.h * r->s.w;
    double out = (double)r->oc * r->oh * r->ow;
    double wts = (double)r->s.cout * (r->s.cin / groups) * r->s.kh * r->s.kw;
    double flops = 2.0 * (double)r->macs * batch;
    double bytes = 4.0 * (batch * (in + out) + wts);
    double per_node = r->sec / r->nodes; /* seconds per sample of one node */
    q.gflops = per_node > 0 ? 2.0 * (double)r->macs / per_node * 1e-9 : 0.0;
    q.intensity = bytes > 0 ? flops / bytes : 0.0;
    q.roof = m->bandwidth_gbs * q.intensity;
    if (q.roof > m->peak_gflops)
        q.roof = m->peak_gflops;
    q.share = q.roof > 0 ? q.gflops / q.roof : 0.0;
    return q;
}

static void dims(char *buf, size_t cap, int a, int b)
{
    if (a == b)
        snprintf(buf, cap, "%d", a);
    else
        snprintf(buf, cap, "%dx%d", a, b);
}

static void print_text(const conv_row *cr, int nc, const op_row *orow, int no, double total,
                       int batch, const cli_roof_machine *m, FILE *f)
{
    double conv_sec = 0.0;
    for (int i = 0; i < nc; i++)
        conv_sec += cr[i].sec;
    fprintf(f, "conv shapes, slowest first (batch %d; intensity = flops / bytes of fp32 "
               "input + weights + output; roof = min(peak, bandwidth x intensity)):\n", batch);
    fprintf(f, "%-14s %-14s %-5s %-3s %-3s %5s %5s %9s %10s %8s %7s %8s %7s %6s  %s\n", "in",
            "out", "k", "s", "p", "g", "nodes", "MMACs", "ms/sample", "GFLOP/s", "flop/B",
            "roof", "of roof", "time", "method");
    for (int i = 0; i < nc; i++) {
        const conv_row *r = &cr[i];
        row_rates q = rates_of(r, batch, m);
        char in[32], out[32], k[16], s[16], p[16];
        snprintf(in, sizeof in, "%dx%dx%d", r->s.cin, r->s.h, r->s.w);
        snprintf(out, sizeof out, "%dx%dx%d", r->oc, r->oh, r->ow);
        dims(k, sizeof k, r->s.kh, r->s.kw);
        dims(s, sizeof s, r->s.stride_h, r->s.stride_w);
        dims(p, sizeof p, r->s.pad_h, r->s.pad_w);
        fprintf(f, "%-14s %-14s %-5s %-3s %-3s %5d %5d %9.3f %10.4f %8.2f %7.2f %8.1f %6.1f%% "
                   "%5.1f%%  %s\n", in, out, k, s, p, r->s.groups, r->nodes,
                (double)r->macs * 1e-6, r->sec * 1e3, q.gflops, q.intensity, q.roof,
                100.0 * q.share, total > 0 ? 100.0 * r->sec / total : 0.0, r->method);
    }
    fprintf(f, "(the bandwidth is main memory's: a shape whose tensors stay in cache can pass "
               "its roof, > 100%%)\n");
    fprintf(f, "other nodes by op:\n%-18s %5s %10s %6s\n", "op", "nodes", "ms/sample", "time");
    for (int i = 0; i < no; i++)
        fprintf(f, "%-18s %5d %10.4f %5.1f%%\n", dc_op_name(orow[i].op), orow[i].nodes,
                orow[i].sec * 1e3, total > 0 ? 100.0 * orow[i].sec / total : 0.0);
    fprintf(f, "total %.4f ms/sample: convs %.4f (%.1f%%), other nodes %.4f (%.1f%%)\n",
            total * 1e3, conv_sec * 1e3, total > 0 ? 100.0 * conv_sec / total : 0.0,
            (total - conv_sec) * 1e3, total > 0 ? 100.0 * (total - conv_sec) / total : 0.0);
}

static void print_json(const conv_row *cr, int nc, const op_row *orow, int no, double total,
                       int batch, const cli_roof_machine *m, FILE *f)
{
    fprintf(f, "{\"batch\": %d, \"machine\": {\"peak_gflops\": %.3f, \"gemm_n\": %d, "
               "\"bandwidth_gbs\": %.3f, \"triad_mib\": %zu, \"threads\": %d}, \"convs\": [",
            batch, m->peak_gflops, m->gemm_n, m->bandwidth_gbs, m->triad_mib, m->threads);
    for (int i = 0; i < nc; i++) {
        const conv_row *r = &cr[i];
        row_rates q = rates_of(r, batch, m);
        fprintf(f, "%s{\"op\": \"%s\", \"cin\": %d, \"h\": %d, \"w\": %d, \"cout\": %d, "
                   "\"oh\": %d, \"ow\": %d, \"kh\": %d, \"kw\": %d, \"stride_h\": %d, "
                   "\"stride_w\": %d, \"pad_h\": %d, \"pad_w\": %d, \"groups\": %d, "
                   "\"nodes\": %d, \"macs\": %lld, \"ms_per_sample\": %.6f, \"gflops\": %.3f, "
                   "\"intensity\": %.4f, \"roof_gflops\": %.3f, \"roof_share\": %.4f, "
                   "\"time_share\": %.4f, \"method\": \"%s\"}", i ? ", " : "", dc_op_name(r->op),
                r->s.cin,
                r->s.h, r->s.w, r->s.cout, r->oh, r->ow, r->s.kh, r->s.kw, r->s.stride_h,
                r->s.stride_w, r->s.pad_h, r->s.pad_w, r->s.groups, r->nodes,
                (long long)r->macs, r->sec * 1e3, q.gflops, q.intensity, q.roof, q.share,
                total > 0 ? r->sec / total : 0.0, r->method);
    }
    fprintf(f, "], \"others\": [");
    for (int i = 0; i < no; i++)
        fprintf(f, "%s{\"op\": \"%s\", \"nodes\": %d, \"ms_per_sample\": %.6f, "
                   "\"time_share\": %.4f}", i ? ", " : "", dc_op_name(orow[i].op),
                orow[i].nodes, orow[i].sec * 1e3, total > 0 ? orow[i].sec / total : 0.0);
    fprintf(f, "], \"total_ms_per_sample\": %.6f}", total * 1e3);
}

bool cli_roof_report(const dc_net *net, int batch, const cli_roof_machine *m, bool json,
                     FILE *f)
{
    int n = net->n_nodes;
    conv_row *cr = calloc((size_t)n + 1, sizeof *cr);
    op_row *orow = calloc((size_t)DC_OP_COUNT + 1, sizeof *orow);
    if (!cr || !orow) {
        free(cr), free(orow);
        fprintf(stderr, "dualcnn bench: out of memory for the --layers report of %s\n",
                net->arch);
        return false;
    }
    int nc = 0, no = 0;
    double total = 0.0;
    for (int i = 0; i < n; i++) {
        const dc_node *nd = &net->nodes[i];
        if (nd->op == DC_OP_INPUT || nd->op == DC_OP_FUSED || nd->runs <= 0)
            continue; /* no profile for this node */
        double sec = nd->seconds / (double)nd->runs;
        total += sec;
        if (nd->op == DC_OP_CONV || nd->op == DC_OP_DWCONV) {
            int j = 0;
            const dc_conv_shape *s = &nd->conv.shape;
            while (j < nc && !(cr[j].op == nd->op && same_shape(&cr[j].s, s)))
                j++;
            if (j == nc) {
                cr[nc++] = (conv_row){ .s = *s, .op = nd->op, .oc = nd->c, .oh = nd->h,
                                       .ow = nd->w, .macs = nd->macs,
                                       .method = dc_conv_method(nd, batch) };
            }
            cr[j].nodes++;
            cr[j].sec += sec;
        } else {
            int j = 0;
            while (j < no && orow[j].op != nd->op)
                j++;
            if (j == no)
                orow[no++].op = nd->op;
            orow[j].nodes++;
            orow[j].sec += sec;
        }
    }
    qsort(cr, (size_t)nc, sizeof *cr, by_time_conv);
    qsort(orow, (size_t)no, sizeof *orow, by_time_op);
    if (json)
        print_json(cr, nc, orow, no, total, batch, m, f);
    else
        print_text(cr, nc, orow, no, total, batch, m, f);
    free(cr), free(orow);
    return true;
}
