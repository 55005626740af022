/*
 * depthwise_bench.c — times the depthwise conv kernel on the zoo's depthwise shapes, one
 * thread, under each vector level this CPU has: "portable" is the plain C path (the old
 * kernel's loops), "avx2" and "avx512" the vector code of kernels/depthwise_simd.h.
 *
 *   depthwise_bench [--repeats R] [--min-ms T] [--filter SUBSTRING] [--shape C,HW,K,S]
 *                   [--stems]
 *
 * --stems times the network stems (3 input channels) instead: dc_conv2d (im2col + SGEMM)
 * against the direct dc_small_conv2d_range under each level.
 *
 * Each timing is the median of R repeats (default 7), each repeat running the kernel a
 * fixed number of times, chosen to last at least T ms (default 20). Prints one line per
 * shape: GFLOP/s (2 flops per multiply-add) per level, and the speed-up of the best level
 * over the portable one.
 * Times are this thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so that time lost to other
 * processes on a shared machine is not counted (their cache pollution still is). Run
 * pinned (taskset -c 1) with OMP_NUM_THREADS=1.
 */
#include "kernels/kernels.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    const char *net;
    int c, hw, k, s;
} dw_shape;

static dw_shape shapes[] = {
    { "mobilenet_v3_large", 16, 112, 3, 1 },  { "mobilenet_v3_large", 64, 112, 3, 2 },
    { "mobilenet_v3_large", 72, 56, 3, 1 },   { "mobilenet_v3_large", 72, 56, 5, 2 },
    { "mobilenet_v3_large", 120, 28, 5, 1 },  { "mobilenet_v3_large", 240, 28, 3, 2 },
    { "mobilenet_v3_large", 200, 14, 3, 1 },  { "mobilenet_v3_large", 480, 14, 3, 1 },
    { "mobilenet_v3_large", 672, 14, 3, 1 },  { "mobilenet_v3_large", 672, 14, 5, 2 },
    { "mobilenet_v3_large", 960, 7, 5, 1 },
    { "mnasnet1_0", 32, 112, 3, 1 },          { "mnasnet1_0", 48, 112, 3, 2 },
    { "mnasnet1_0", 240, 28, 5, 2 },          { "mnasnet1_0", 480, 14, 5, 1 },
    { "mnasnet1_0", 576, 14, 5, 2 },          { "mnasnet1_0", 1152, 7, 5, 1 },
    { "mnasnet1_0", 1152, 7, 3, 1 },
    { "shufflenet_v2_x1_0", 24, 56, 3, 2 },   { "shufflenet_v2_x1_0", 58, 56, 3, 2 },
    { "shufflenet_v2_x1_0", 58, 28, 3, 1 },   { "shufflenet_v2_x1_0", 116, 28, 3, 2 },
    { "shufflenet_v2_x1_0", 116, 14, 3, 1 },  { "shufflenet_v2_x1_0", 232, 14, 3, 2 },
    { "shufflenet_v2_x1_0", 232, 7, 3, 1 },
    { "mobilenetv2 (cifar)", 32, 32, 3, 1 },  { "mobilenetv2 (cifar)", 96, 32, 3, 2 },
    { "mobilenetv2 (cifar)", 144, 16, 3, 1 }, { "mobilenetv2 (cifar)", 192, 8, 3, 1 },
    { "mobilenetv2 (cifar)", 576, 4, 3, 1 },
    { "convnext_tiny", 96, 56, 7, 1 },        { "convnext_tiny", 192, 28, 7, 1 },
    { "convnext_tiny", 384, 14, 7, 1 },       { "convnext_tiny", 768, 7, 7, 1 },
};

/* Network stems: dense convs with 3 input channels (cin, hw, cout, k, s, pad). */
typedef struct {
    const char *net;
    int cin, hw, cout, k, s, pad;
} stem_shape;

static const stem_shape stems[] = {
    { "resnet20 (cifar)", 3, 32, 16, 3, 1, 1 },   { "vgg11_bn (cifar)", 3, 32, 64, 3, 1, 1 },
    { "mobilenetv2 (cifar)", 3, 32, 32, 3, 1, 1 },
    { "shufflenetv2 (fmnist)", 1, 32, 24, 3, 1, 1 }, { "resnet20 (fmnist)", 1, 32, 16, 3, 1, 1 },
    { "vgg11_bn (fmnist)", 1, 32, 64, 3, 1, 1 },
    { "mobilenet_v3_large", 3, 224, 16, 3, 2, 1 }, { "mobilenet_v2/mnasnet", 3, 224, 32, 3, 2, 1 },
    { "shufflenet_v2", 3, 224, 24, 3, 2, 1 },
    { "resnet/densenet", 3, 224, 64, 7, 2, 3 },
    { "convnext_tiny/swin_t", 3, 224, 96, 4, 4, 0 }, { "swin_b", 3, 224, 128, 4, 4, 0 },
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static float frand(uint64_t *state)
{
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((*state >> 40) & 0xffffff) / 16777216.0f * 2.0f - 1.0f;
}

/* Median seconds per call of the depthwise conv of s under the level in force: the call
 * count per repeat is doubled until a repeat lasts min_s, so the clock is read twice per
 * repeat (CLOCK_THREAD_CPUTIME_ID is a system call, too slow to read per call). */
static double time_shape(const dc_conv_shape *s, const float *in, const float *w,
                         const float *b, float *out, int repeats, double min_s)
{
    double t[64];
    if (repeats > 64)
        repeats = 64;
    long n = 1;
    for (;;) {
        double t0 = now();
        for (long i = 0; i < n; i++)
            dc_depthwise_conv2d(s, in, w, b, DC_ACT_RELU6, out);
        if (now() - t0 >= min_s || n >= (1L << 30))
            break;
        n *= 2;
    }
    for (int r = 0; r < repeats; r++) {
        double t0 = now();
        for (long i = 0; i < n; i++)
            dc_depthwise_conv2d(s, in, w, b, DC_ACT_RELU6, out);
        t[r] = (now() - t0) / (double)n;
    }
    qsort(t, (size_t)repeats, sizeof t[0], cmp_double);
    return t[repeats / 2];
}

/* One stem conv to time: im2col + SGEMM (small < 0) or dc_small_conv2d_range. */
typedef struct {
    const dc_conv_shape *s;
    const float *in, *w, *b;
    float *out, *ws;
} stem_call;

static void run_stem(const stem_call *c, bool small)
{
    if (small)
        dc_small_conv2d_range(c->s, c->in, c->w, c->b, DC_ACT_RELU, c->out, 0, c->s->cout);
    else
        dc_conv2d(c->s, c->in, c->w, c->b, DC_ACT_RELU, c->out, c->ws);
}

/* Median seconds per call, as time_shape. */
static double time_stem(const stem_call *c, bool small, int repeats, double min_s)
{
    double t[64];
    if (repeats > 64)
        repeats = 64;
    long n = 1;
    for (;;) {
        double t0 = now();
        for (long j = 0; j < n; j++)
            run_stem(c, small);
        if (now() - t0 >= min_s || n >= (1L << 30))
            break;
        n *= 2;
    }
    for (int r = 0; r < repeats; r++) {
        double t0 = now();
        for (long j = 0; j < n; j++)
            run_stem(c, small);
        t[r] = (now() - t0) / (double)n;
    }
    qsort(t, (size_t)repeats, sizeof t[0], cmp_double);
    return t[repeats / 2];
}

/* GFLOP/s on each stem, one thread: dc_conv2d (im2col + SGEMM) and the direct
 * dc_small_conv2d_range under each vector level. */
static int bench_stems(int repeats, double min_s)
{
    static const dc_simd_level levels[] = { DC_SIMD_PORTABLE, DC_SIMD_AVX2, DC_SIMD_AVX512,
                                            DC_SIMD_NEON };
    static const char *level_names[] = { "portable", "avx2", "avx512", "neon" };
    printf("%-22s %4s %4s %4s %2s %2s %8s", "net", "cin", "hw", "cout", "k", "s", "im2col");
    for (int l = 0; l < 4; l++)
        if (dc_simd_supported(levels[l]))
            printf(" %9s", level_names[l]);
    printf("   (GFLOP/s, median of %d; im2col = im2col + SGEMM)\n", repeats);
    uint64_t rng = 7;
    for (size_t i = 0; i < sizeof stems / sizeof stems[0]; i++) {
        const stem_shape *d = &stems[i];
        const dc_conv_shape s = { d->cin, d->hw, d->hw, d->cout, d->k, d->k, d->s, d->s,
                                  d->pad, d->pad, 1 };
        const size_t n_in = (size_t)d->cin * d->hw * d->hw;
        const size_t n_out = (size_t)d->cout * dc_conv_out_h(&s) * dc_conv_out_w(&s);
        const size_t n_w = (size_t)d->cout * d->cin * d->k * d->k;
        float *in = malloc(n_in * sizeof(float)), *out = malloc(n_out * sizeof(float));
        float *w = malloc(n_w * sizeof(float)), *b = malloc((size_t)d->cout * sizeof(float));
        float *ws = malloc((dc_conv2d_workspace_floats(&s) + 1) * sizeof(float));
        for (size_t j = 0; j < n_in; j++)
            in[j] = frand(&rng);
        for (size_t j = 0; j < n_w; j++)
            w[j] = frand(&rng);
        for (int j = 0; j < d->cout; j++)
            b[j] = frand(&rng);
        const stem_call call = { &s, in, w, b, out, ws };
        const double flops = 2.0 * (double)n_out * d->cin * d->k * d->k;
        printf("%-22s %4d %4d %4d %2d %2d %8.1f", d->net, d->cin, d->hw, d->cout, d->k, d->s,
               flops / time_stem(&call, false, repeats, min_s) * 1e-9);
        for (int l = 0; l < 4; l++)
            if (dc_simd_force(levels[l]))
                printf(" %9.1f", flops / time_stem(&call, true, repeats, min_s) * 1e-9);
        printf("\n");
        fflush(stdout);
        free(in), free(out), free(w), free(b), free(ws);
    }
    return 0;
}

int main(int argc, char **argv)
{
    int repeats = 7;
    double min_ms = 20.0;
    const char *filter = NULL;
    bool stems_only = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--repeats") && i + 1 < argc)
            repeats = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--min-ms") && i + 1 < argc)
            min_ms = atof(argv[++i]);
        else if (!strcmp(argv[i], "--filter") && i + 1 < argc)
            filter = argv[++i];
        else if (!strcmp(argv[i], "--stems"))
            stems_only = true;
        else if (!strcmp(argv[i], "--shape") && i + 1 < argc) {
            /* one custom shape C,HW,K,S in place of the table's first row */
            dw_shape *d = &shapes[0];
            if (sscanf(argv[++i], "%d,%d,%d,%d", &d->c, &d->hw, &d->k, &d->s) != 4)
                return 2;
            d->net = "custom";
            filter = "custom";
        }
        else {
            fprintf(stderr, "usage: %s [--repeats R] [--min-ms T] [--filter SUBSTRING] "
                            "[--shape C,HW,K,S] [--stems]\n",
                    argv[0]);
            return 2;
        }
    }
    if (repeats < 1)
        repeats = 1;
    if (stems_only)
        return bench_stems(repeats, min_ms * 1e-3);

    static const dc_simd_level levels[] = { DC_SIMD_PORTABLE, DC_SIMD_AVX2, DC_SIMD_AVX512,
                                            DC_SIMD_NEON };
    static const char *level_names[] = { "portable", "avx2", "avx512", "neon" };
    printf("%-20s %5s %4s %2s %2s", "net", "c", "hw", "k", "s");
    for (int l = 0; l < 4; l++)
        if (dc_simd_supported(levels[l]))
            printf(" %9s", level_names[l]);
    printf(" %8s   (GFLOP/s, median of %d)\n", "speedup", repeats);

    uint64_t rng = 42;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const dw_shape *d = &shapes[i];
        if (filter && !strstr(d->net, filter))
            continue;
        const dc_conv_shape s = { d->c, d->hw, d->hw, d->c, d->k, d->k, d->s, d->s,
                                  d->k / 2, d->k / 2, d->c };
        const int oh = dc_conv_out_h(&s), ow = dc_conv_out_w(&s);
        const size_t n_in = (size_t)d->c * d->hw * d->hw, n_out = (size_t)d->c * oh * ow;
        float *in = malloc(n_in * sizeof(float)), *out = malloc(n_out * sizeof(float));
        float *w = malloc((size_t)d->c * d->k * d->k * sizeof(float));
        float *b = malloc((size_t)d->c * sizeof(float));
        for (size_t j = 0; j < n_in; j++)
            in[j] = frand(&rng);
        for (int j = 0; j < d->c * d->k * d->k; j++)
            w[j] = frand(&rng);
        for (int j = 0; j < d->c; j++)
            b[j] = frand(&rng);
        const double flops = 2.0 * (double)n_out * d->k * d->k;
        printf("%-20s %5d %4d %2d %2d", d->net, d->c, d->hw, d->k, d->s);
        double portable = 0.0, best = 0.0;
        for (int l = 0; l < 4; l++) {
            if (!dc_simd_force(levels[l]))
                continue;
            double g = flops / time_shape(&s, in, w, b, out, repeats, min_ms * 1e-3) * 1e-9;
            printf(" %9.1f", g);
            if (l == 0)
                portable = g;
            if (g > best)
                best = g;
        }
        printf(" %7.2fx\n", best / portable);
        fflush(stdout);
        free(in), free(out), free(w), free(b);
    }
    return 0;
}
