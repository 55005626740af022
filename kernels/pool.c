/*
 * pool.c — 2-D pooling of one sample [c][h][w], with PyTorch's exact window rules:
 * torch.nn.MaxPool2d, torch.nn.AvgPool2d (square kernel, stride, padding, ceil_mode,
 * count_include_pad; dilation 1, no divisor_override) and torch.nn.AdaptiveAvgPool2d.
 * Channel by channel (the runtime hands channel ranges to its threads).
 */
#include "kernels.h"

#include <math.h>

#include "epilogue.h"

/* floor(a / b) for b > 0, also for negative a (C's '/' truncates toward zero). */
static int div_floor(int a, int b)
{
    int q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

/*
 * PyTorch's pooling_output_shape: out = floor((size + 2*pad - k [+ stride - 1]) / stride) + 1,
 * the "+ stride - 1" in ceil mode; then, in ceil mode, a last window starting at or past
 * size + pad (entirely in the right padding) is dropped. Returns 0 where PyTorch would
 * reject the shape as "too small".
 */
int dc_pool_out_size(int size, int k, int stride, int pad, bool ceil_mode)
{
    int out = div_floor(size + 2 * pad - k + (ceil_mode ? stride - 1 : 0), stride) + 1;
    if (ceil_mode && (out - 1) * stride >= size + pad)
        out--;
    return out < 0 ? 0 : out;
}

/* Window of output o along one axis, clipped to the image: [*lo, *hi). Also returns
 * the window clipped only to the padded image [-pad, size + pad), AvgPool2d's
 * count_include_pad divisor along this axis. */
static int pool_window(int o, int k, int stride, int pad, int size, int *lo, int *hi)
{
    int start = o * stride - pad;
    int end = start + k;
    if (end > size + pad)
        end = size + pad;
    int padded = end - start;
    *lo = start < 0 ? 0 : start;
    *hi = end > size ? size : end;
    return padded;
}

/* The larger of m and v, NaN winning (torch.nn.MaxPool2d propagates NaN): once m is NaN
 * every comparison is false and it stays; a NaN v is taken. Branch-free, so it
 * vectorises. */
static inline float max_nan(float m, float v)
{
    return (v > m || v != v) ? v : m;
}

/* Widest input row the separable path keeps on the stack. */
#define DC_MAXPOOL_ROW 2048

/* One channel, the window taken in two passes: for each output row the column-wise
 * maximum over the window's input rows (contiguous, vectorises), then the maximum of that
 * row over each output column's window. Padding is -inf: it never wins, so only real cells
 * are visited. */
static void maxpool_channel(const float *plane, int h, int w, int k, int stride, int pad,
                            int oh, int ow, float *o)
{
    float colmax[DC_MAXPOOL_ROW];
    for (int oy = 0; oy < oh; oy++) {
        int y0, y1;
        pool_window(oy, k, stride, pad, h, &y0, &y1);
        const float *first = plane + (size_t)y0 * w;
        for (int x = 0; x < w; x++)
            colmax[x] = first[x];
        for (int y = y0 + 1; y < y1; y++) {
            const float *restrict row = plane + (size_t)y * w;
            for (int x = 0; x < w; x++)
                colmax[x] = max_nan(colmax[x], row[x]);
        }
        float *restrict dst = o + (size_t)oy * ow;
        for (int ox = 0; ox < ow; ox++) {
            int x0, x1;
            pool_window(ox, k, stride, pad, w, &x0, &x1);
            float m = colmax[x0];
            for (int x = x0 + 1; x < x1; x++)
                m = max_nan(m, colmax[x]);
            dst[ox] = m;
        }
    }
}

/* MaxPool2d(2, 2) on a map of even sides (VGG's pools): every window lies in two input
 * rows that no other window touches, so the rows of all channels are one list, output row
 * r from input rows 2r and 2r + 1 (no per-channel loop: a 2x2 map's channels are one
 * output value each). The same order of comparisons as maxpool_channel: down, then across. */
static void maxpool_2x2_even(int c, int h, int w, const float *in, float *out)
{
    const int ow = w / 2;
    const size_t rows = (size_t)c * (size_t)(h / 2);
    for (size_t r = 0; r < rows; r++) {
        const float *restrict a = in + 2 * r * (size_t)w, *restrict b = a + w;
        float *restrict o = out + r * (size_t)ow;
        for (int x = 0; x < ow; x++)
            o[x] = max_nan(max_nan(a[2 * x], b[2 * x]), max_nan(a[2 * x + 1], b[2 * x + 1]));
    }
}

void dc_maxpool2d(int c, int h, int w, int k, int stride, int pad, bool ceil_mode,
                  const float *in, float *out)
{
    const int oh = dc_pool_out_size(h, k, stride, pad, ceil_mode);
    const int ow = dc_pool_out_size(w, k, stride, pad, ceil_mode);
    const size_t plane_out = (size_t)oh * ow;
    if (k == 2 && stride == 2 && pad == 0 && h % 2 == 0 && w % 2 == 0) {
        maxpool_2x2_even(c, h, w, in, out); /* ceil_mode changes nothing on even sides */
        return;
    }

    for (int ch = 0; ch < c; ch++) {
        const float *plane = in + (size_t)ch * h * w;
        float *o = out + (size_t)ch * plane_out;
        if (w <= DC_MAXPOOL_ROW) {
            maxpool_channel(plane, h, w, k, stride, pad, oh, ow, o);
            continue;
        }
        for (int oy = 0; oy < oh; oy++) {
            int y0, y1;
            pool_window(oy, k, stride, pad, h, &y0, &y1);
            for (int ox = 0; ox < ow; ox++) {
                int x0, x1;
                pool_window(ox, k, stride, pad, w, &x0, &x1);
                float m = -INFINITY;
                for (int y = y0; y < y1; y++)
                    for (int x = x0; x < x1; x++)
                        m = max_nan(m, plane[(size_t)y * w + x]);
                o[(size_t)oy * ow + ox] = m;
            }
        }
    }
}

void dc_avgpool2d(int c, int h, int w, int k, int stride, int pad, bool ceil_mode,
                  bool count_include_pad, const float *in, float *out)
{
    const int oh = dc_pool_out_size(h, k, stride, pad, ceil_mode);
    const int ow = dc_pool_out_size(w, k, stride, pad, ceil_mode);
    const size_t plane_out = (size_t)oh * ow;

    for (int ch = 0; ch < c; ch++) {
        const float *plane = in + (size_t)ch * h * w;
        float *o = out + (size_t)ch * plane_out;
        for (int oy = 0; oy < oh; oy++) {
            int y0, y1;
            const int ph = pool_window(oy, k, stride, pad, h, &y0, &y1);
            for (int ox = 0; ox < ow; ox++) {
                int x0, x1;
                const int pw = pool_window(ox, k, stride, pad, w, &x0, &x1);
                float sum = 0.0f;
                for (int y = y0; y < y1; y++) {
                    const float *row = plane + (size_t)y * w;
                    for (int x = x0; x < x1; x++)
                        sum += row[x];
                }
                const int count = count_include_pad ? ph * pw : (y1 - y0) * (x1 - x0);
                o[(size_t)oy * ow + ox] = count > 0 ? sum / (float)count : 0.0f;
            }
        }
    }
}

/* The global pool (output 1x1): each channel's mean, summed in double in index order as
 * below, 8 channels at a time so that 8 independent sums hide the adds' latency (one
 * channel after the other, 1024 channels of 16 cells took 30 us). */
static void global_avgpool(int c, size_t n, const float *in, float *out)
{
    enum { LANES = 8 };
    int ch = 0;
    for (; ch + LANES <= c; ch += LANES) {
        double acc[LANES] = { 0 };
        const float *p = in + (size_t)ch * n;
        for (size_t i = 0; i < n; i++)
            for (int j = 0; j < LANES; j++)
                acc[j] += p[(size_t)j * n + i];
        for (int j = 0; j < LANES; j++)
            out[ch + j] = (float)(acc[j] / (double)n);
    }
    for (; ch < c; ch++) {
        double sum = 0.0;
        for (size_t i = 0; i < n; i++)
            sum += in[(size_t)ch * n + i];
        out[ch] = (float)(sum / (double)n);
    }
}

void dc_adaptive_avgpool2d(int c, int h, int w, int oh, int ow, const float *in, float *out)
{
    const size_t plane_out = (size_t)oh * ow;
    if (oh == 1 && ow == 1) {
        global_avgpool(c, (size_t)h * w, in, out);
        return;
    }

    for (int ch = 0; ch < c; ch++) {
        const float *plane = in + (size_t)ch * h * w;
        float *o = out + (size_t)ch * plane_out;
        for (int oy = 0; oy < oh; oy++) {
            /* bin [floor(i*h/oh), ceil((i+1)*h/oh)); bins overlap when h % oh != 0 */
            const int y0 = (oy * h) / oh;
            const int y1 = ((oy + 1) * h + oh - 1) / oh;
            for (int ox = 0; ox < ow; ox++) {
                const int x0 = (ox * w) / ow;
                const int x1 = ((ox + 1) * w + ow - 1) / ow;
                /* double: a global pool sums thousands of cells */
                double sum = 0.0;
                for (int y = y0; y < y1; y++) {
                    const float *row = plane + (size_t)y * w;
                    for (int x = x0; x < x1; x++)
                        sum += row[x];
                }
                o[(size_t)oy * ow + ox] = (float)(sum / ((double)(y1 - y0) * (x1 - x0)));
            }
        }
    }
}
