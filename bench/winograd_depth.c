/*
 * winograd_depth.c — how Winograd's rounding error grows through a deep stack of 3x3 convs.
 * Runs a plain chain of stride-1 3x3 convs + ReLU (2x2 max pools between stages, no
 * residuals or BatchNorm to damp anything), fp32 with the engine's kernels and float64 with
 * direct loops, and prints after each conv max |fp32 - float64| / max(1, max |float64|), the
 * measure of the parity tolerance (1e-4 over a whole net).
 *
 *   winograd_depth [cifar | imagenet] [rule | all | none]
 *
 * cifar: vgg16's 13 convs on a 32x32 input (64 .. 512 channels); imagenet: 20 convs from
 * 64x56x56 to 512x7x7 (resnet widths). rule: Winograd where dc_winograd_pays, else im2col;
 * all: Winograd wherever it applies; none: im2col + SGEMM only. Weights at Kaiming scale,
 * input uniform in [-1, 1). One thread; imagenet takes a few seconds (the float64 twin).
 */
#include <cblas.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"

static unsigned long long rng = 7;

static double uniform(void) /* LCG -> [0, 1) */
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rng >> 11) / 9007199254740992.0;
}

/* torch.nn.Conv2d(cin, cout, 3, padding=1) then ReLU, in double. */
static void conv_relu_double(int cin, int cout, int n, const double *in, const float *w,
                             const float *b, double *out)
{
    for (int co = 0; co < cout; co++)
        for (int y = 0; y < n; y++)
            for (int x = 0; x < n; x++) {
                double acc = b[co];
                for (int ci = 0; ci < cin; ci++)
                    for (int i = 0; i < 3; i++)
                        for (int j = 0; j < 3; j++) {
                            int iy = y + i - 1, ix = x + j - 1;
                            if (iy >= 0 && iy < n && ix >= 0 && ix < n)
                                acc += (double)w[((size_t)(co * cin + ci) * 3 + i) * 3 + j] *
                                       in[((size_t)ci * n + iy) * n + ix];
                        }
                out[((size_t)co * n + y) * n + x] = acc > 0.0 ? acc : 0.0;
            }
}

int main(int argc, char **argv)
{
    static const int cifar[] = { 64, 64, -1, 128, 128, -1, 256, 256, 256, -1,
                                 512, 512, 512, -1, 512, 512, 512, 0 };
    static const int imagenet[] = { 64, 64, 64, 64, 64, 64, -1, 128, 128, 128, 128, 128,
                                    128, -1, 256, 256, 256, 256, -1, 512, 512, 512, 512, 0 };
    const bool big = argc > 1 && strcmp(argv[1], "imagenet") == 0;
    const char *mode = argc > 2 ? argv[2] : "rule";
    const int *layers = big ? imagenet : cifar;
    int c = big ? 64 : 3, n = big ? 56 : 32;
    openblas_set_num_threads(1);

    size_t most = (size_t)512 * 56 * 56;
    float *a = malloc(most * sizeof(float)), *b = malloc(most * sizeof(float));
    double *da = malloc(most * sizeof(double)), *db = malloc(most * sizeof(double));
    float *ws = malloc((size_t)64 << 20), *u = malloc((size_t)40 << 20);
    if (!a || !b || !da || !db || !ws || !u)
        return 1;
    for (int i = 0; i < c * n * n; i++)
        da[i] = a[i] = (float)(2.0 * uniform() - 1.0);

    for (int l = 0; layers[l] != 0; l++) {
        if (layers[l] < 0) { /* 2x2 max pool, both sides */
            int m = n / 2;
            for (int k = 0; k < c; k++)
                for (int y = 0; y < m; y++)
                    for (int x = 0; x < m; x++) {
                        size_t s = ((size_t)k * n + 2 * y) * n + 2 * x;
                        float f = fmaxf(fmaxf(a[s], a[s + 1]), fmaxf(a[s + n], a[s + n + 1]));
                        double d = fmax(fmax(da[s], da[s + 1]), fmax(da[s + n], da[s + n + 1]));
                        b[((size_t)k * m + y) * m + x] = f;
                        db[((size_t)k * m + y) * m + x] = d;
                    }
            n = m;
        } else {
            const int co = layers[l];
            const double scale = sqrt(6.0 / (9.0 * c));
            float *w = malloc((size_t)co * c * 9 * sizeof(float)), *bias = malloc(co * sizeof(float));
            for (size_t i = 0; i < (size_t)co * c * 9; i++)
                w[i] = (float)((2.0 * uniform() - 1.0) * scale);
            for (int i = 0; i < co; i++)
                bias[i] = (float)(0.2 * uniform() - 0.1);
            dc_conv_shape s = { c, n, n, co, 3, 3, 1, 1, 1, 1, 1 };
            bool wino = strcmp(mode, "all") == 0    ? dc_winograd_applies(&s)
                        : strcmp(mode, "none") == 0 ? false
                                                    : dc_winograd_pays(&s);
            if (wino) {
                dc_winograd_transform_weights(&s, w, u);
                dc_winograd_conv2d(&s, a, u, bias, DC_ACT_RELU, b, 0, dc_winograd_tiles(&s), 0,
                                   co, ws);
            } else {
                dc_conv2d(&s, a, w, bias, DC_ACT_RELU, b, ws);
            }
            conv_relu_double(c, co, n, da, w, bias, db);
            c = co;
            /* comparisons, not fmax: GCC 12's vectoriser crashes (internal compiler error
             * in vect_transform_reduction) on these two fmax reductions for aarch64 */
            double err = 0.0, top = 0.0;
            for (int i = 0; i < c * n * n; i++) {
                const double e = fabs(b[i] - db[i]), d = fabs(db[i]);
                if (e > err)
                    err = e;
                if (d > top)
                    top = d;
            }
            printf("conv %2d  %3d x %2dx%-2d  %-8s  error %.2e  (max |out| %.3g)\n", l, c, n, n,
                   wino ? "winograd" : "im2col", err / fmax(1.0, top), top);
            free(w), free(bias);
        }
        float *t = a; a = b; b = t;
        double *dt = da; da = db; db = dt;
    }
    free(a), free(b), free(da), free(db), free(ws), free(u);
    return 0;
}
