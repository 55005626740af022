/*
 * pool.c — 2-D pooling of one sample [c][h][w], with PyTorch's exact window rules:
 * torch.nn.MaxPool2d, torch.nn.AvgPool2d (square kernel, stride, padding, ceil_mode,
 * count_include_pad; dilation 1, no divisor_override) and torch.nn.AdaptiveAvgPool2d.
 * Parallel over channels.
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

void dc_maxpool2d(int c, int h, int w, int k, int stride, int pad, bool ceil_mode,
                  const float *in, float *out)
{
    const int oh = dc_pool_out_size(h, k, stride, pad, ceil_mode);
    const int ow = dc_pool_out_size(w, k, stride, pad, ceil_mode);
    const size_t plane_out = (size_t)oh * ow;

    for (int ch = 0; ch < c; ch++) {
        const float *plane = in + (size_t)ch * h * w;
        float *o = out + (size_t)ch * plane_out;
        for (int oy = 0; oy < oh; oy++) {
            int y0, y1;
            pool_window(oy, k, stride, pad, h, &y0, &y1);
            for (int ox = 0; ox < ow; ox++) {
                int x0, x1;
                pool_window(ox, k, stride, pad, w, &x0, &x1);
                /* Padding is -inf: it never wins, so only real cells are visited.
                 * Branch-free: a data-dependent "if (v > m)" mispredicts on every
                 * other cell. A NaN in the window makes the result NaN, as in PyTorch. */
                float m = -INFINITY;
                bool nan = false;
                for (int y = y0; y < y1; y++) {
                    const float *row = plane + (size_t)y * w;
                    for (int x = x0; x < x1; x++) {
                        const float v = row[x];
                        m = v > m ? v : m;
                        nan |= isnan(v);
                    }
                }
                o[(size_t)oy * ow + ox] = nan ? NAN : m;
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

void dc_adaptive_avgpool2d(int c, int h, int w, int oh, int ow, const float *in, float *out)
{
    const size_t plane_out = (size_t)oh * ow;

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
