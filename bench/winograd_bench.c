/*
 * winograd_bench.c — Winograd F(4x4, 3x3) (kernels/winograd.c) against im2col + SGEMM
 * (dc_conv2d) on one thread, for the distinct stride-1 3x3 conv shapes of the zoo. The
 * numbers behind dc_winograd_pays come from here (docs/winograd.md).
 *
 *   winograd_bench [--repeats R] [--only SUBSTRING] [--shape CIN,COUT,SIZE] [--seed S]
 *                  [--wall]
 *
 * --shape times one shape of your choice (pad 1, square map) instead of the zoo's list.
 *
 * For every shape: R rounds, each timing dc_conv2d, dc_winograd_conv2d over all tiles in
 * one call, the same as two calls over the two halves of the tiles, and as two calls over
 * the two halves of the output channels (the ways the runtime may split work between
 * threads), in alternation so that machine noise hits all of them alike;
 * a timed sample repeats the call until it lasts about 5 ms, timed in this thread's CPU
 * time (see now()). Prints one line per shape:
 * medians in ms, the spread (max/min - 1) of the Winograd samples, effective GFLOP/s
 * (2 x direct MACs / time, so Winograd may exceed the SGEMM peak), the speed-up and the
 * splits' costs (whole / split: "split" over tiles, "cosplit" over output channels; 1.00x
 * means splitting is free) as medians of the per-round ratios, the speed-up of the
 * fastest samples ("best": on a shared machine noise only adds time), and each
 * method's max abs error against a double-precision direct conv over the first 4 output
 * channels, divided by max(1, max |reference|) as in the parity tolerance.
 * Inputs are uniform in [0, 2) (as after a ReLU), weights uniform at Kaiming scale.
 */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/kernels.h"

typedef struct {
    const char *models;
    int cin, cout, size;
} bench_shape;

/* Distinct stride-1 3x3 convs (pad 1, square maps) of the zoo's models. */
static const bench_shape shapes[] = {
    { "resnet18/34/50", 64, 64, 56 },     { "resnet18/34/50", 128, 128, 28 },
    { "resnet18/34/50", 256, 256, 14 },   { "resnet18/34/50", 512, 512, 7 },
    { "vgg16_bn", 3, 64, 224 },           { "vgg16_bn", 64, 64, 224 },
    { "vgg16_bn", 64, 128, 112 },         { "vgg16_bn", 128, 128, 112 },
    { "vgg16_bn", 128, 256, 56 },         { "vgg16_bn", 256, 256, 56 },
    { "vgg16_bn", 256, 512, 28 },         { "vgg16_bn", 512, 512, 28 },
    { "vgg16_bn", 512, 512, 14 },         { "resnet20 cifar", 3, 16, 32 },
    { "resnet20 cifar", 16, 16, 32 },     { "resnet20 cifar", 32, 32, 16 },
    { "resnet20 cifar", 64, 64, 8 },      { "vgg cifar", 3, 64, 32 },
    { "vgg cifar", 64, 64, 32 },          { "vgg cifar", 64, 128, 16 },
    { "vgg cifar", 128, 128, 16 },        { "vgg cifar", 128, 256, 8 },
    { "vgg cifar", 256, 256, 8 },         { "vgg cifar", 256, 512, 4 },
    { "vgg cifar", 512, 512, 4 },         { "vgg cifar", 512, 512, 2 },
    { "repvgg_a0", 3, 48, 32 },           { "repvgg_a0", 48, 48, 32 },
    { "repvgg_a0", 96, 96, 16 },          { "repvgg_a0", 192, 192, 8 },
    { "repvgg_a1", 128, 128, 16 },        { "repvgg_a1", 256, 256, 8 },
    { "repvgg_a2", 96, 96, 32 },          { "repvgg_a2", 192, 192, 16 },
    { "repvgg_a2", 384, 384, 8 },         { "densenet", 128, 32, 56 },
    { "densenet", 128, 32, 28 },          { "densenet", 128, 32, 14 },
    { "densenet", 128, 32, 7 },
};

static uint64_t rng_state;

static float uniform(float lo, float hi) /* splitmix64 -> [lo, hi) */
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    double u = (double)((z ^ (z >> 31)) >> 11) / 9007199254740992.0;
    return lo + (float)u * (hi - lo);
}

/* CLOCK_THREAD_CPUTIME_ID by default: everything timed runs on this thread (OpenBLAS and
 * OpenMP are set to one thread), and CPU time leaves out the time other processes held the
 * core, the main noise on a shared machine; --wall switches to CLOCK_MONOTONIC. */
static clockid_t bench_clock = CLOCK_THREAD_CPUTIME_ID;

static double now(void)
{
    struct timespec ts;
    clock_gettime(bench_clock, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *x, int n)
{
    qsort(x, (size_t)n, sizeof *x, cmp_double);
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

static void *xmalloc(size_t floats)
{
    void *p = malloc(floats * sizeof(float) + 64);
    if (!p) {
        fprintf(stderr, "winograd_bench: out of memory\n");
        exit(1);
    }
    return p;
}

/* Everything one shape's runs need. */
typedef struct {
    dc_conv_shape s;
    int oh, ow, tiles, half;
    float *in, *w, *b, *u, *out, *ws_gemm, *ws_whole, *ws_lo, *ws_hi;
} bench_case;

static bench_case case_new(const bench_shape *bs)
{
    bench_case c;
    dc_conv_shape s = { bs->cin, bs->size, bs->size, bs->cout, 3, 3, 1, 1, 1, 1, 1 };
    c.s = s;
    c.oh = dc_conv_out_h(&s), c.ow = dc_conv_out_w(&s);
    c.tiles = dc_winograd_tiles(&s), c.half = c.tiles / 2;
    size_t n_in = (size_t)s.cin * s.h * s.w, n_w = (size_t)s.cout * s.cin * 9;
    c.in = xmalloc(n_in), c.w = xmalloc(n_w), c.b = xmalloc((size_t)s.cout);
    float a = (float)sqrt(6.0 / (9.0 * s.cin)); /* variance 2 / fan_in */
    for (size_t i = 0; i < n_in; i++)
        c.in[i] = uniform(0.0f, 2.0f);
    for (size_t i = 0; i < n_w; i++)
        c.w[i] = uniform(-a, a);
    for (int i = 0; i < s.cout; i++)
        c.b[i] = uniform(-0.1f, 0.1f);
    c.u = xmalloc(dc_winograd_weight_floats(&s));
    dc_winograd_transform_weights(&s, c.w, c.u);
    c.out = xmalloc((size_t)s.cout * c.oh * c.ow);
    c.ws_gemm = xmalloc(dc_conv2d_workspace_floats(&s));
    c.ws_whole = xmalloc(dc_winograd_workspace_floats(&s, c.tiles));
    c.ws_lo = xmalloc(dc_winograd_workspace_floats(&s, c.half > 0 ? c.half : 1));
    c.ws_hi = xmalloc(dc_winograd_workspace_floats(&s, c.tiles - c.half));
    return c;
}

static void case_free(bench_case *c)
{
    free(c->in), free(c->w), free(c->b), free(c->u), free(c->out);
    free(c->ws_gemm), free(c->ws_whole), free(c->ws_lo), free(c->ws_hi);
}

enum { RUN_GEMM, RUN_WHOLE, RUN_SPLIT, RUN_SPLIT_CO, RUNS };

static void run_once(bench_case *c, int which)
{
    const dc_conv_shape *s = &c->s;
    if (which == RUN_GEMM) {
        dc_conv2d(s, c->in, c->w, c->b, DC_ACT_RELU, c->out, c->ws_gemm);
    } else if (which == RUN_WHOLE) {
        dc_winograd_conv2d(s, c->in, c->u, c->b, DC_ACT_RELU, c->out, 0, c->tiles, 0,
                           s->cout, c->ws_whole);
    } else if (which == RUN_SPLIT_CO) {
        int half = s->cout / 2;
        dc_winograd_conv2d(s, c->in, c->u, c->b, DC_ACT_RELU, c->out, 0, c->tiles, 0, half,
                           c->ws_whole);
        dc_winograd_conv2d(s, c->in, c->u, c->b, DC_ACT_RELU, c->out, 0, c->tiles, half,
                           s->cout, c->ws_whole);
    } else {
        dc_winograd_conv2d(s, c->in, c->u, c->b, DC_ACT_RELU, c->out, 0, c->half, 0,
                           s->cout, c->ws_lo);
        dc_winograd_conv2d(s, c->in, c->u, c->b, DC_ACT_RELU, c->out, c->half, c->tiles, 0,
                           s->cout, c->ws_hi);
    }
}

/* Max |out - ref| / max(1, max|ref|) over the first min(4, cout) channels, against a
 * direct conv in double (with the same bias and ReLU). */
static double rel_error(bench_case *c, int which)
{
    const dc_conv_shape *s = &c->s;
    run_once(c, which);
    int nco = s->cout < 4 ? s->cout : 4;
    double err = 0.0, scale = 1.0;
    for (int co = 0; co < nco; co++)
        for (int y = 0; y < c->oh; y++)
            for (int x = 0; x < c->ow; x++) {
                double acc = c->b[co];
                for (int ci = 0; ci < s->cin; ci++)
                    for (int i = 0; i < 3; i++)
                        for (int j = 0; j < 3; j++) {
                            int iy = y + i - 1, ix = x + j - 1;
                            if (iy >= 0 && iy < s->h && ix >= 0 && ix < s->w)
                                acc += (double)c->w[((size_t)(co * s->cin + ci) * 3 + i) * 3 + j]
                                       * c->in[((size_t)ci * s->h + iy) * s->w + ix];
                        }
                acc = acc < 0.0 ? 0.0 : acc;
                double got = c->out[((size_t)co * c->oh + y) * c->ow + x];
                err = fmax(err, fabs(got - acc));
                scale = fmax(scale, fabs(acc));
            }
    return err / scale;
}

int main(int argc, char **argv)
{
    int repeats = 7;
    const char *only = NULL;
    bench_shape custom = { "custom", 0, 0, 0 };
    rng_state = 42;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--repeats") == 0 && i + 1 < argc)
            repeats = atoi(argv[++i]);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            rng_state = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--shape") == 0 && i + 1 < argc &&
                 sscanf(argv[i + 1], "%d,%d,%d", &custom.cin, &custom.cout, &custom.size) == 3 &&
                 custom.cin > 0 && custom.cout > 0 && custom.size > 0)
            i++;
        else if (strcmp(argv[i], "--wall") == 0)
            bench_clock = CLOCK_MONOTONIC;
        else {
            fprintf(stderr, "usage: winograd_bench [--repeats R] [--only SUBSTRING] "
                            "[--shape CIN,COUT,SIZE] [--seed S] [--wall]\n");
            return 2;
        }
    }
    if (repeats < 1 || repeats > 1000)
        repeats = 7;
    openblas_set_num_threads(1);
    omp_set_num_threads(1);

    printf("%-15s %4s %4s %4s %5s | %8s %8s %8s %6s | %6s %6s | %6s %5s %5s %6s | %8s %8s\n",
           "models", "cin", "cout", "map", "tiles", "gemm_ms", "wino_ms", "split_ms",
           "spread", "gemmGF", "winoGF", "speedup", "split", "cosplit", "best", "err_gemm", "err_wino");
    const bench_shape *list = custom.cin > 0 ? &custom : shapes;
    const size_t count = custom.cin > 0 ? 1 : sizeof shapes / sizeof shapes[0];
    for (size_t k = 0; k < count; k++) {
        const bench_shape *bs = &list[k];
        char label[64];
        snprintf(label, sizeof label, "%s %dx%d@%d", bs->models, bs->cin, bs->cout, bs->size);
        if (only && !strstr(label, only))
            continue;
        bench_case c = case_new(bs);
        double flops = 2.0 * c.s.cin * c.s.cout * 9.0 * c.oh * c.ow;
        int inner = (int)ceil(5e-3 * 50e9 / flops); /* about 5 ms per sample */
        double t[RUNS][1000];
        for (int which = 0; which < RUNS; which++)
            run_once(&c, which); /* warm-up: page in buffers and OpenBLAS */
        for (int r = 0; r < repeats; r++)
            for (int which = 0; which < RUNS; which++) {
                double t0 = now();
                for (int i = 0; i < inner; i++)
                    run_once(&c, which);
                t[which][r] = (now() - t0) / inner;
            }
        /* per round: all runs of a round saw about the same noise */
        double speedup[1000], split[1000], split_co[1000];
        for (int r = 0; r < repeats; r++) {
            speedup[r] = t[RUN_GEMM][r] / t[RUN_WHOLE][r];
            split[r] = t[RUN_WHOLE][r] / t[RUN_SPLIT][r];
            split_co[r] = t[RUN_WHOLE][r] / t[RUN_SPLIT_CO][r];
        }
        double med[RUNS];
        for (int which = 0; which < RUNS; which++)
            med[which] = median(t[which], repeats);
        double spread = t[RUN_WHOLE][repeats - 1] / t[RUN_WHOLE][0] - 1.0; /* sorted */
        double best = t[RUN_GEMM][0] / t[RUN_WHOLE][0]; /* fastest against fastest */
        double err_gemm = rel_error(&c, RUN_GEMM), err_wino = rel_error(&c, RUN_SPLIT);
        printf("%-15s %4d %4d %4d %5d | %8.3f %8.3f %8.3f %5.1f%% | %6.1f %6.1f | %6.2fx "
               "%4.2fx %4.2fx %5.2fx | %8.1e %8.1e\n",
               bs->models, c.s.cin, c.s.cout, bs->size, c.tiles, med[RUN_GEMM] * 1e3,
               med[RUN_WHOLE] * 1e3, med[RUN_SPLIT] * 1e3, spread * 100.0,
               flops / med[RUN_GEMM] * 1e-9, flops / med[RUN_WHOLE] * 1e-9,
               median(speedup, repeats), median(split, repeats), median(split_co, repeats),
               best, err_gemm,
               err_wino);
        fflush(stdout);
        case_free(&c);
    }
    return 0;
}
