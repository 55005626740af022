/*
 * pool.c — 2-D pooling of one sample [c][h][w], with PyTorch's exact window rules:
 * torch.nn.MaxPool2d, torch.nn.AvgPool2d (square kernel, stride, padding, ceil_mode,
 * count_include_pad; dilation 1, no divisor_override) and torch.nn.AdaptiveAvgPool2d.
 * Channel by channel (the runtime hands channel ranges to its threads).
 */
#include "kernels.h"

#include <math.h>
#include <string.h>

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

/* Widest output row (and input row, for max pooling) the fast paths keep on the stack;
 * wider maps take the plain loops. */
#define DC_POOL_ROW 2048

/* Floats a padded row needs: every window of the n outputs, and the image row after
 * the left padding. The fast paths stage rows this wide (at most DC_POOL_ROW). */
static int padded_row_width(int size, int k, int stride, int pad, int n)
{
    const int windows = (n - 1) * stride + k, image = pad + size;
    return windows > image ? windows : image;
}

/* dst[i] = the maximum of c[i*S .. i*S + K), compared in window order, for i < n. Inlined
 * with constant K and S, the loop over i vectorises (the window unrolled). */
static inline __attribute__((always_inline)) void max_across(const float *restrict c, int n,
                                                             const int K, const int S,
                                                             float *restrict dst)
{
    for (int i = 0; i < n; i++) {
        float m = c[(size_t)i * S];
        for (int j = 1; j < K; j++)
            m = max_nan(m, c[(size_t)i * S + j]);
        dst[i] = m;
    }
}

/* max_across for the zoo's pools (3x3 stride 2 and 1, 2x2 stride 2), else any k. */
static void max_across_any(const float *c, int n, int k, int stride, float *dst)
{
    if (k == 3 && stride == 2)
        max_across(c, n, 3, 2, dst);
    else if (k == 3 && stride == 1)
        max_across(c, n, 3, 1, dst);
    else if (k == 2 && stride == 2)
        max_across(c, n, 2, 2, dst);
    else
        max_across(c, n, k, stride, dst);
}

/* Floats of the padded plane the stride-1 paths stage on the stack (a 62x62 padded map;
 * the zoo's stride-1 pools are on 35x35 maps or less). */
#define DC_POOL_PLANE 4096

/* The padded plane of a stride-1 pool: `hp` rows of `wp` floats, wide and tall enough for
 * every window of the oh x ow outputs and for the image after the padding. */
typedef struct {
    int wp, hp;
} padded_plane;

static padded_plane stride1_plane(int h, int w, int k, int pad, int oh, int ow)
{
    const padded_plane p = { padded_row_width(w, k, 1, pad, ow),
                             padded_row_width(h, k, 1, pad, oh) };
    return p;
}

/* Copies the h x w image into `dst` (pp.hp x pp.wp) at row and column `pad`, `fill`
 * around it. */
static void stage_plane(const float *plane, int h, int w, int pad, padded_plane pp,
                        float fill, float *dst)
{
    for (size_t i = 0; i < (size_t)pp.hp * pp.wp; i++)
        dst[i] = fill;
    for (int y = 0; y < h; y++)
        memcpy(dst + (size_t)(y + pad) * pp.wp + pad, plane + (size_t)y * w,
               (size_t)w * sizeof(float));
}

/* colmax[t] = the maximum of p[t + i*wp] for i < K, in that order, for t < n. Inlined
 * with constant K, the loop over t vectorises. */
static inline __attribute__((always_inline)) void max_down(const float *restrict p, int wp,
                                                           size_t n, const int K,
                                                           float *restrict colmax)
{
    for (size_t t = 0; t < n; t++) {
        float m = p[t];
        for (int i = 1; i < K; i++)
            m = max_nan(m, p[t + (size_t)i * wp]);
        colmax[t] = m;
    }
}

/* Stride-1 max pooling of one channel on a staged plane. Output (oy, ox) is flat cell
 * t = oy*wp + ox of the plane, its window the cells t + i*wp + j: the maxima down (i) are
 * one long loop over the flat plane, then across (j) one loop per output row, in the
 * order of maxpool_channel (down, then across). Flat cells with ox >= ow are computed
 * and never read: with a short loop per row instead, small maps (14x14 and less) spent
 * their time in loop overhead. */
static void maxpool_plane_s1(const float *plane, int h, int w, int k, int pad, int oh, int ow,
                             float *o)
{
    float padded[DC_POOL_PLANE], colmax[DC_POOL_PLANE];
    const padded_plane pp = stride1_plane(h, w, k, pad, oh, ow);
    stage_plane(plane, h, w, pad, pp, -INFINITY, padded);
    const size_t n = (size_t)(oh - 1) * pp.wp + ow + k - 1; /* the cells `across` reads */
    if (k == 3)
        max_down(padded, pp.wp, n, 3, colmax);
    else
        max_down(padded, pp.wp, n, k, colmax);
    for (int oy = 0; oy < oh; oy++)
        max_across_any(colmax + (size_t)oy * pp.wp, ow, k, 1, o + (size_t)oy * ow);
}

/* One channel, the window taken in two passes: for each output row the column-wise
 * maximum over the window's input rows (contiguous, vectorises), into a row padded with
 * -inf on both sides, then the maximum over each output column's window of that row
 * (max_across, no clipping). -inf never wins, so the result is that of the real cells,
 * compared in the same order. */
static void maxpool_channel(const float *plane, int h, int w, int k, int stride, int pad,
                            int oh, int ow, float *o)
{
    float padded[DC_POOL_ROW];
    const int width = padded_row_width(w, k, stride, pad, ow);
    for (int x = 0; x < width; x++)
        padded[x] = -INFINITY;
    float *restrict colmax = padded + pad;
    for (int oy = 0; oy < oh; oy++) {
        int y0, y1;
        pool_window(oy, k, stride, pad, h, &y0, &y1);
        const float *first_row = plane + (size_t)y0 * w;
        for (int x = 0; x < w; x++)
            colmax[x] = first_row[x];
        for (int y = y0 + 1; y < y1; y++) {
            const float *restrict row = plane + (size_t)y * w;
            for (int x = 0; x < w; x++)
                colmax[x] = max_nan(colmax[x], row[x]);
        }
        max_across_any(padded, ow, k, stride, o + (size_t)oy * ow);
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
    const padded_plane s1 = stride1_plane(h, w, k, pad, oh, ow);

    for (int ch = 0; ch < c; ch++) {
        const float *plane = in + (size_t)ch * h * w;
        float *o = out + (size_t)ch * plane_out;
        if (stride == 1 && (size_t)s1.wp * s1.hp <= DC_POOL_PLANE) {
            maxpool_plane_s1(plane, h, w, k, pad, oh, ow, o);
            continue;
        }
        if (padded_row_width(w, k, stride, pad, ow) <= DC_POOL_ROW) {
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

/* acc[i] += in[i*S + j] for j < K, i < n: one input row's share of n windows, added in
 * window order. Inlined with constant K and S, the loop over i vectorises. */
static inline __attribute__((always_inline)) void add_across(const float *restrict in, int n,
                                                             const int K, const int S,
                                                             float *restrict acc)
{
    for (int i = 0; i < n; i++) {
        float a = acc[i];
        for (int j = 0; j < K; j++)
            a += in[(size_t)i * S + j];
        acc[i] = a;
    }
}

/* add_across for the zoo's pools (3x3 stride 1 and 2, 2x2 stride 2), else any k. */
static void add_across_any(const float *in, int n, int k, int stride, float *acc)
{
    if (k == 3 && stride == 1)
        add_across(in, n, 3, 1, acc);
    else if (k == 3 && stride == 2)
        add_across(in, n, 3, 2, acc);
    else if (k == 2 && stride == 2)
        add_across(in, n, 2, 2, acc);
    else
        add_across(in, n, k, stride, acc);
}

/* sums[t] = the sum of the K x K window at flat cell t of a plane `wp` wide, row by row,
 * left to right, for t < n. Inlined with constant K, the loop over t vectorises. */
static inline __attribute__((always_inline)) void sum_windows(const float *restrict p,
                                                              int wp, size_t n, const int K,
                                                              float *restrict sums)
{
    for (size_t t = 0; t < n; t++) {
        float a = 0.0f;
        for (int i = 0; i < K; i++)
            for (int j = 0; j < K; j++)
                a += p[t + (size_t)i * wp + j];
        sums[t] = a;
    }
}

/* The mean of one output cell's window, summed row by row, left to right. */
static float avg_one(const float *plane, int w, int y0, int y1, int ph, int ox, int k,
                     int stride, int pad, bool count_include_pad)
{
    int x0, x1;
    const int pw = pool_window(ox, k, stride, pad, w, &x0, &x1);
    float sum = 0.0f;
    for (int y = y0; y < y1; y++) {
        const float *row = plane + (size_t)y * w;
        for (int x = x0; x < x1; x++)
            sum += row[x];
    }
    const int count = count_include_pad ? ph * pw : (y1 - y0) * (x1 - x0);
    return count > 0 ? sum / (float)count : 0.0f;
}

/* The divisor of window o along one axis: its cells in the padded image (count_include_pad)
 * or in the image. A window with no cell has the sum 0 and the mean 0, as in avg_one;
 * dividing by 1 there keeps mean_row free of branches, so it vectorises. */
static int window_count(int o, int k, int stride, int pad, int size, bool count_include_pad)
{
    int lo, hi;
    const int padded = pool_window(o, k, stride, pad, size, &lo, &hi);
    const int n = count_include_pad ? padded : hi - lo;
    return n > 0 ? n : 1;
}

/* dst[i] = sums[i] / (the row's count x column i's count), for one output row. */
static void mean_row(float *restrict dst, const float *restrict sums, int n, int row_count,
                     const int *col_count)
{
    for (int i = 0; i < n; i++)
        dst[i] = sums[i] / (float)(row_count * col_count[i]);
}

/* One channel, a whole output row at a time: each input row of the windows is copied
 * into a row padded with zeros and added to the row's sums (add_across), so each cell's
 * sum takes its window row by row, left to right, as avg_one does (the zeros change no
 * sum). The divisor of a cell is its row's factor times its column's (col_count). */
static void avgpool_channel(const float *plane, int h, int w, int k, int stride, int pad,
                            bool count_include_pad, int oh, int ow, const int *col_count,
                            float *o)
{
    float padded[DC_POOL_ROW], acc[DC_POOL_ROW];
    const int width = padded_row_width(w, k, stride, pad, ow);
    for (int x = 0; x < width; x++)
        padded[x] = 0.0f;
    for (int oy = 0; oy < oh; oy++) {
        int y0, y1;
        pool_window(oy, k, stride, pad, h, &y0, &y1);
        for (int i = 0; i < ow; i++)
            acc[i] = 0.0f;
        for (int y = y0; y < y1; y++) {
            memcpy(padded + pad, plane + (size_t)y * w, (size_t)w * sizeof(float));
            add_across_any(padded, ow, k, stride, acc);
        }
        mean_row(o + (size_t)oy * ow, acc, ow,
                 window_count(oy, k, stride, pad, h, count_include_pad), col_count);
    }
}

/* Stride-1 average pooling of one channel on a plane staged with zeros, flat as in
 * maxpool_plane_s1: each sum takes its window row by row, left to right (the order of
 * avg_one; the zeros change no sum) in one long loop over the flat plane. */
static void avgpool_plane_s1(const float *plane, int h, int w, int k, int pad,
                             bool count_include_pad, int oh, int ow, const int *col_count,
                             float *o)
{
    float padded[DC_POOL_PLANE], sums[DC_POOL_PLANE];
    const padded_plane pp = stride1_plane(h, w, k, pad, oh, ow);
    stage_plane(plane, h, w, pad, pp, 0.0f, padded);
    const size_t n = (size_t)(oh - 1) * pp.wp + ow;
    if (k == 3)
        sum_windows(padded, pp.wp, n, 3, sums);
    else
        sum_windows(padded, pp.wp, n, k, sums);
    for (int oy = 0; oy < oh; oy++)
        mean_row(o + (size_t)oy * ow, sums + (size_t)oy * pp.wp, ow,
                 window_count(oy, k, 1, pad, h, count_include_pad), col_count);
}

void dc_avgpool2d(int c, int h, int w, int k, int stride, int pad, bool ceil_mode,
                  bool count_include_pad, const float *in, float *out)
{
    const int oh = dc_pool_out_size(h, k, stride, pad, ceil_mode);
    const int ow = dc_pool_out_size(w, k, stride, pad, ceil_mode);
    const size_t plane_out = (size_t)oh * ow;
    const bool fast = padded_row_width(w, k, stride, pad, ow) <= DC_POOL_ROW;
    const padded_plane s1 = stride1_plane(h, w, k, pad, oh, ow);
    int col_count[DC_POOL_ROW];
    for (int ox = 0; fast && ox < ow; ox++)
        col_count[ox] = window_count(ox, k, stride, pad, w, count_include_pad);
    for (int ch = 0; ch < c; ch++) {
        const float *plane = in + (size_t)ch * h * w;
        float *o = out + (size_t)ch * plane_out;
        /* (fast too: col_count is filled only then; a 1-row map can be a plane that
         * fits and a row that does not) */
        if (fast && stride == 1 && (size_t)s1.wp * s1.hp <= DC_POOL_PLANE) {
            avgpool_plane_s1(plane, h, w, k, pad, count_include_pad, oh, ow, col_count, o);
            continue;
        }
        if (fast) {
            avgpool_channel(plane, h, w, k, stride, pad, count_include_pad, oh, ow, col_count,
                            o);
            continue;
        }
        for (int oy = 0; oy < oh; oy++) {
            int y0, y1;
            const int ph = pool_window(oy, k, stride, pad, h, &y0, &y1);
            for (int ox = 0; ox < ow; ox++)
                o[(size_t)oy * ow + ox] =
                    avg_one(plane, w, y0, y1, ph, ox, k, stride, pad, count_include_pad);
        }
    }
}

/* The global pool (output 1x1): each channel's mean, summed in double. A channel's cells
 * go 8 at a time into 8 partial sums (lane j takes cells j, j + 8, ...), which are added
 * in the tree ((0 + 1) + (2 + 3)) + ((4 + 5) + (6 + 7)), then the cells past the last 8
 * in order. Eight channels run at once and their partial sums are reduced together
 * (pool_reduce8: 3 rounds of shuffles and adds for 8 channels; one channel's tree alone
 * costs about as much) and divided together; 1024 channels of 16 cells: 2.7 us one cell
 * at a time, 4.1 us with a tree and a division per channel, 1.7 us so. The helpers take
 * and fill vectors through pointers: returning a 64-byte vector would change the ABI
 * between a build for AVX-512 and one without (-Wpsabi). */
typedef float pool_v8f __attribute__((vector_size(32)));
typedef double pool_v8d __attribute__((vector_size(64)));

/* *acc += the 8 floats at p, in double */
static void pool_add_cells8(pool_v8d *acc, const float *p)
{
    pool_v8f x;
    memcpy(&x, p, sizeof x);
    *acc += __builtin_convertvector(x, pool_v8d);
}

/* Lane j of *sums: the tree sum of a[j]'s lanes. Round 1 adds neighbouring lanes
 * (channels paired), round 2 lanes two apart, round 3 the halves. */
static void pool_reduce8(const pool_v8d a[8], pool_v8d *sums)
{
    pool_v8d b[4], c[2];
    for (int j = 0; j < 4; j++)
        b[j] = __builtin_shufflevector(a[2 * j], a[2 * j + 1], 0, 8, 2, 10, 4, 12, 6, 14) +
               __builtin_shufflevector(a[2 * j], a[2 * j + 1], 1, 9, 3, 11, 5, 13, 7, 15);
    /* b[j]: lane 2m holds channel 2j's lanes 2m + 2m+1, lane 2m+1 channel 2j+1's */
    for (int j = 0; j < 2; j++)
        c[j] = __builtin_shufflevector(b[2 * j], b[2 * j + 1], 0, 1, 8, 9, 4, 5, 12, 13) +
               __builtin_shufflevector(b[2 * j], b[2 * j + 1], 2, 3, 10, 11, 6, 7, 14, 15);
    /* c[j]: lanes 0-3 channels 4j..4j+3 over their lanes 0-3, lanes 4-7 over lanes 4-7 */
    *sums = __builtin_shufflevector(c[0], c[1], 0, 1, 2, 3, 8, 9, 10, 11) +
            __builtin_shufflevector(c[0], c[1], 4, 5, 6, 7, 12, 13, 14, 15);
}

static void global_avgpool(int c, size_t n, const float *in, float *out)
{
    enum { CH = 8 };
    const size_t whole = n / 8 * 8;
    int ch = 0;
    for (; ch + CH <= c; ch += CH) {
        const float *p = in + (size_t)ch * n;
        pool_v8d acc[CH] = { { 0 } };
        for (size_t i = 0; i < whole; i += 8)
            for (int j = 0; j < CH; j++)
                pool_add_cells8(&acc[j], p + (size_t)j * n + i);
        pool_v8d sums;
        pool_reduce8(acc, &sums);
        for (int j = 0; j < CH && whole < n; j++)
            for (size_t i = whole; i < n; i++)
                sums[j] += p[(size_t)j * n + i];
        const pool_v8f means = __builtin_convertvector(sums / (double)n, pool_v8f);
        memcpy(out + ch, &means, sizeof means);
    }
    for (; ch < c; ch++) {
        const float *p = in + (size_t)ch * n;
        pool_v8d acc = { 0 };
        for (size_t i = 0; i < whole; i += 8)
            pool_add_cells8(&acc, p + i);
        double sum =
            ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
        for (size_t i = whole; i < n; i++)
            sum += p[i];
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
