/*
 * conv.c — 2-D convolution of one sample, torch.nn.Conv2d (dilation 1, any groups):
 *   out[co][oy][ox] = act(bias[co] + sum_{ci in group(co), ki, kj}
 *                     weight[co][ci][ki][kj] * in[ci][oy*sh - ph + ki][ox*sw - pw + kj]),
 * with zero outside the image. Computed as im2col + one SGEMM per group; a 1x1 stride-1
 * unpadded conv is already a GEMM on the input and skips im2col. The unit of work is a
 * tile (dc_conv2d_tile): one group, a range of output pixels, a range of its output
 * channels; its im2col is only that pixel range, so it stays in cache, and the net
 * runtime hands tiles to its threads (layers/ops_conv.c).
 */
#include "kernels.h"

#include <string.h>

#include <cblas.h>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "epilogue.h"

/* Output extent along one axis; 0 when the padded input is smaller than the kernel
 * (a shape torch.nn.Conv2d rejects). */
static int conv_out_size(int size, int k, int stride, int pad)
{
    int span = size + 2 * pad - k;
    return span < 0 ? 0 : span / stride + 1;
}

int dc_conv_out_h(const dc_conv_shape *s)
{
    return conv_out_size(s->h, s->kh, s->stride_h, s->pad_h);
}

int dc_conv_out_w(const dc_conv_shape *s)
{
    return conv_out_size(s->w, s->kw, s->stride_w, s->pad_w);
}

dc_conv_shape dc_conv_group_shape(const dc_conv_shape *s)
{
    dc_conv_shape g = *s;
    g.cin = s->cin / s->groups;
    g.cout = s->cout / s->groups;
    g.groups = 1;
    return g;
}

bool dc_conv_is_pointwise(const dc_conv_shape *s)
{
    return s->kh == 1 && s->kw == 1 && s->stride_h == 1 && s->stride_w == 1 &&
           s->pad_h == 0 && s->pad_w == 0;
}

size_t dc_conv2d_workspace_floats(const dc_conv_shape *s)
{
    if (dc_conv_is_pointwise(s))
        return 0;
    size_t rows = (size_t)(s->cin / s->groups) * (size_t)s->kh * (size_t)s->kw;
    return rows * (size_t)dc_conv_out_h(s) * (size_t)dc_conv_out_w(s);
}

/* First output index o >= 0 with o*stride + off >= 0, i.e. ceil(-off / stride) for off < 0. */
static int first_inside(int off, int stride)
{
    return off >= 0 ? 0 : (-off + stride - 1) / stride;
}

/* One past the last output index o with o*stride + off <= size - 1, clamped to [0, n]. */
static int end_inside(int off, int stride, int size, int n)
{
    int last = size - 1 - off; /* need o*stride <= last */
    if (last < 0)
        return 0;
    int end = last / stride + 1;
    return end < n ? end : n;
}

/* d[i] = src[2 i] for i < n: a stride-2 conv's im2col segment. With AVX-512 sixteen at a
 * time, each one permute of two loads that stop at the last float used (resnet20 at batch
 * 64: its stride-2 convs' im2col had been 9% of the time, element by element). */
static void copy_stride2(float *restrict d, const float *restrict src, int n)
{
    int i = 0;
#if defined(__AVX512F__)
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                           28, 30);
    for (; i < n; i += 16) {
        const int m = n - i < 16 ? n - i : 16, last = 2 * (m - 1); /* last source used */
        const __mmask16 lo_lanes = (__mmask16)(last >= 15 ? 0xFFFFu : (1u << (last + 1)) - 1u);
        const __m512 lo = _mm512_maskz_loadu_ps(lo_lanes, src + 2 * i);
        const __m512 hi = last >= 16 ? _mm512_maskz_loadu_ps(
                                           (__mmask16)((1u << (last - 15)) - 1u), src + 2 * i + 16)
                                     : _mm512_setzero_ps();
        _mm512_mask_storeu_ps(d + i, (__mmask16)((1u << m) - 1u),
                              _mm512_permutex2var_ps(lo, even, hi));
    }
#endif
    for (; i < n; i++)
        d[i] = src[2 * i];
}

/*
 * Row r = (ci*kh + ki)*kw + kj of col holds, for every output pixel p = oy*ow + ox in
 * [p0, p1), the input sample that kernel tap (ki, kj) of channel ci meets there:
 *   col[r][p - p0] = in[ci][oy*sh - ph + ki][ox*sw - pw + kj]   (0 outside the image).
 * For each row the valid ox form one interval [ox0, ox1), computed once, so the inner
 * copy has no bounds checks (a memcpy when sw == 1). A range may start and end inside an
 * output row: each output row of the range is copied as one segment [xa, xb).
 * This computes rows [r0, r1) for output pixels [p0, p1), row r at col + (r - r0) * ld.
 */
static void im2col_rows_ld(const float *in, int h, int w, int kh, int kw, int stride_h,
                           int stride_w, int pad_h, int pad_w, int r0, int r1, int p0, int p1,
                           float *col, size_t ld)
{
    const int oh = conv_out_size(h, kh, stride_h, pad_h);
    const int ow = conv_out_size(w, kw, stride_w, pad_w);
    const size_t ncols = ld;
    if (ow == 0 || oh == 0 || p1 <= p0)
        return;

    for (int r = r0; r < r1; r++) {
        const int kj = r % kw;
        const int ki = (r / kw) % kh;
        const int ci = r / (kw * kh);
        const float *plane = in + (size_t)ci * h * w;
        float *row_out = col + (size_t)(r - r0) * ncols;

        const int xoff = kj - pad_w; /* input column of output column 0 */
        const int ox0 = first_inside(xoff, stride_w);
        int ox1 = end_inside(xoff, stride_w, w, ow);
        if (ox1 < ox0)
            ox1 = ox0;

        for (int oy = p0 / ow; oy <= (p1 - 1) / ow; oy++) {
            const int row_start = oy * ow;
            const int xa = p0 > row_start ? p0 - row_start : 0;
            const int xb = p1 < row_start + ow ? p1 - row_start : ow;
            /* d[i] is output column xa + i of this output row */
            float *restrict d = row_out + (row_start + xa - p0);
            const int iy = oy * stride_h - pad_h + ki;
            if (iy < 0 || iy >= h || ox0 >= ow) {
                memset(d, 0, (size_t)(xb - xa) * sizeof(float));
                continue;
            }
            const float *restrict src = plane + (size_t)iy * w;
            int ca = xa > ox0 ? xa : ox0; /* copied part: [ca, cb) */
            int cb = xb < ox1 ? xb : ox1;
            if (cb < ca)
                ca = cb = xb; /* nothing inside the image: all zeros */
            for (int ox = xa; ox < ca; ox++)
                d[ox - xa] = 0.0f;
            if (stride_w == 1) {
                if (cb > ca)
                    memcpy(d + (ca - xa), src + ca + xoff, (size_t)(cb - ca) * sizeof(float));
            } else if (stride_w == 2) {
                if (cb > ca)
                    copy_stride2(d + (ca - xa), src + 2 * ca + xoff, cb - ca);
            } else {
                for (int ox = ca; ox < cb; ox++)
                    d[ox - xa] = src[ox * stride_w + xoff];
            }
            for (int ox = cb; ox < xb; ox++)
                d[ox - xa] = 0.0f;
        }
    }
}

/* dc_im2col_range writing rows ld floats apart (ld >= p1 - p0): several samples' columns
 * side by side in one matrix. */
static void im2col_ld(const float *in, int c, int h, int w, int kh, int kw, int stride_h,
                      int stride_w, int pad_h, int pad_w, int p0, int p1, float *col, size_t ld)
{
    im2col_rows_ld(in, h, w, kh, kw, stride_h, stride_w, pad_h, pad_w, 0, c * kh * kw, p0,
                   p1, col, ld);
}

void dc_im2col_ld(const dc_conv_shape *s, const float *in, int p0, int p1, float *col,
                  size_t ld)
{
    im2col_ld(in, s->cin, s->h, s->w, s->kh, s->kw, s->stride_h, s->stride_w, s->pad_h,
              s->pad_w, p0, p1, col, ld);
}

void dc_im2col_range(const float *in, int c, int h, int w, int kh, int kw, int stride_h,
                     int stride_w, int pad_h, int pad_w, int p0, int p1, float *col)
{
    im2col_ld(in, c, h, w, kh, kw, stride_h, stride_w, pad_h, pad_w, p0, p1, col,
              (size_t)(p1 > p0 ? p1 - p0 : 0));
}

void dc_im2col_rows(const dc_conv_shape *s, const float *in, int r0, int r1, float *col)
{
    const int npix = dc_conv_out_h(s) * dc_conv_out_w(s);
    im2col_rows_ld(in, s->h, s->w, s->kh, s->kw, s->stride_h, s->stride_w, s->pad_h,
                   s->pad_w, r0, r1, 0, npix, col + (size_t)r0 * npix, (size_t)npix);
}

void dc_im2col_rows_ld(const dc_conv_shape *s, const float *in, int r0, int r1, float *col,
                       size_t ld)
{
    const int npix = dc_conv_out_h(s) * dc_conv_out_w(s);
    im2col_rows_ld(in, s->h, s->w, s->kh, s->kw, s->stride_h, s->stride_w, s->pad_h,
                   s->pad_w, r0, r1, 0, npix, col + (size_t)r0 * ld, ld);
}

void dc_im2col(const float *in, int c, int h, int w, int kh, int kw, int stride_h,
               int stride_w, int pad_h, int pad_w, float *col)
{
    const int oh = conv_out_size(h, kh, stride_h, pad_h);
    const int ow = conv_out_size(w, kw, stride_w, pad_w);
    dc_im2col_range(in, c, h, w, kh, kw, stride_h, stride_w, pad_h, pad_w, 0, oh * ow, col);
}

/* Per-thread scratch budget of one im2col tile: a tile of K rows x tile columns should
 * stay in the core's L2 (2 MiB here) beside SGEMM's packed panels. */
#define DC_CONV_TILE_BYTES (2048 * 1024)
#define DC_CONV_TILE_MIN 96 /* narrower tiles starve SGEMM's N dimension */

int dc_conv_tile_pixels(const dc_conv_shape *s)
{
    const int npix = dc_conv_out_h(s) * dc_conv_out_w(s);
    const size_t k = (size_t)(s->cin / s->groups) * (size_t)s->kh * (size_t)s->kw;
    if (npix <= 0)
        return 1;
    if (dc_conv_is_pointwise(s))
        return npix; /* no im2col to keep in cache: narrower tiles would only starve SGEMM */
    size_t fit = DC_CONV_TILE_BYTES / (sizeof(float) * (k ? k : 1));
    if (fit < DC_CONV_TILE_MIN)
        fit = DC_CONV_TILE_MIN;
    if (fit >= (size_t)npix)
        return npix;
    /* equal tiles, a multiple of 16 pixels wide */
    const int ntiles = (int)(((size_t)npix + fit - 1) / fit);
    int tile = (npix + ntiles - 1) / ntiles;
    tile = (tile + 15) / 16 * 16;
    return tile < npix ? tile : npix;
}

size_t dc_conv2d_tile_workspace_floats(const dc_conv_shape *s)
{
    size_t rows = (size_t)(s->cin / s->groups) * (size_t)s->kh * (size_t)s->kw;
    size_t col = dc_conv_is_pointwise(s) ? 0 : rows * (size_t)dc_conv_tile_pixels(s);
    /* B^T for a skinny GEMM (tiles of at most DC_SKINNY_MAX_COLS pixels) */
    return col + rows * DC_SKINNY_MAX_COLS;
}

/* C [rows][cols] (row stride ldc) = W [rows][k] x B [k][cols] (row stride ldb): SGEMM, or
 * for a few columns the skinny kernel, which reads W once without packing it (bt_scratch:
 * k * cols floats; NULL: SGEMM always). */
static void conv_gemm(int rows, int cols, int k, const float *w, const float *b, int ldb,
                      float *c, int ldc, float *bt_scratch)
{
    if (bt_scratch && cols <= DC_SKINNY_MAX_COLS && k >= DC_SKINNY_MIN_K) {
        dc_transpose(k, cols, b, ldb, bt_scratch);
        dc_gemm_skinny(rows, cols, k, w, k, bt_scratch, c, ldc);
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, cols, k, 1.0f, w, k, b, ldb,
                0.0f, c, ldc);
}

static void tile_gemm_epilogue(const dc_conv_shape *s, const float *b, int ldb,
                               const float *weight, const float *bias, const float *residual,
                               dc_act act, float *out, int group, int p0, int p1, int co0,
                               int co1, float *bt_scratch);

/* dc_conv2d_tile; skinny: whether workspace has room for the skinny GEMM's B^T. */
static void conv_tile(const dc_conv_shape *s, const float *in, const float *weight,
                      const float *bias, const float *residual, dc_act act, float *out,
                      int group, int p0, int p1, int co0, int co1, float *workspace,
                      bool skinny)
{
    const int npix = dc_conv_out_h(s) * dc_conv_out_w(s);
    const int cin_g = s->cin / s->groups;
    const int k = cin_g * s->kh * s->kw; /* GEMM inner dimension */
    const int cols = p1 - p0;
    const int rows = co1 - co0;
    if (cols <= 0 || rows <= 0)
        return;

    const float *in_g = in + (size_t)group * cin_g * s->h * s->w;
    const float *b;
    int ldb;
    float *bt_scratch = skinny ? workspace : NULL;
    if (dc_conv_is_pointwise(s)) {
        b = in_g + p0; /* [cin_g][h*w] is already the column matrix */
        ldb = npix;
    } else {
        dc_im2col_range(in_g, cin_g, s->h, s->w, s->kh, s->kw, s->stride_h, s->stride_w,
                        s->pad_h, s->pad_w, p0, p1, workspace);
        b = workspace;
        ldb = cols;
        bt_scratch = skinny ? workspace + (size_t)k * cols : NULL;
    }
    tile_gemm_epilogue(s, b, ldb, weight, bias, residual, act, out, group, p0, p1, co0, co1,
                       bt_scratch);
}

/* The GEMM of one tile on its column matrix b (k rows, ldb apart, from pixel p0), then the
 * epilogue (+ bias, + residual, act) on the tile's output rows. */
static void tile_gemm_epilogue(const dc_conv_shape *s, const float *b, int ldb,
                               const float *weight, const float *bias, const float *residual,
                               dc_act act, float *out, int group, int p0, int p1, int co0,
                               int co1, float *bt_scratch)
{
    const int npix = dc_conv_out_h(s) * dc_conv_out_w(s);
    const int cout_g = s->cout / s->groups;
    const int k = (s->cin / s->groups) * s->kh * s->kw;
    const int cols = p1 - p0, rows = co1 - co0;
    const int co_first = group * cout_g + co0; /* absolute output channel of row 0 */
    float *c = out + (size_t)co_first * npix + p0;
    conv_gemm(rows, cols, k, weight + (size_t)co_first * k, b, ldb, c, npix, bt_scratch);

    for (int r = 0; r < rows; r++) {
        float *row = c + (size_t)r * npix;
        const float bv = bias ? bias[co_first + r] : 0.0f;
        if (residual)
            dc_bias_residual_act_row(row, residual + (size_t)(co_first + r) * npix + p0,
                                  (size_t)cols, bv, act);
        else if (bias || act != DC_ACT_NONE)
            dc_bias_act_row(row, (size_t)cols, bv, act);
    }
}

void dc_conv2d_from_cols(const dc_conv_shape *s, const float *cols, const float *weight,
                         const float *bias, const float *residual, dc_act act, float *out,
                         int p0, int p1, int co0, int co1, float *workspace)
{
    const int npix = dc_conv_out_h(s) * dc_conv_out_w(s);
    if (p1 <= p0 || co1 <= co0)
        return;
    tile_gemm_epilogue(s, cols + p0, npix, weight, bias, residual, act, out, 0, p0, p1, co0,
                       co1, workspace);
}

void dc_conv2d_tile(const dc_conv_shape *s, const float *in, const float *weight,
                    const float *bias, const float *residual, dc_act act, float *out,
                    int group, int p0, int p1, int co0, int co1, float *workspace)
{
    conv_tile(s, in, weight, bias, residual, act, out, group, p0, p1, co0, co1, workspace,
              true);
}

/* Columns a GEMM over several samples aims at: SGEMM packs the weights on every call, so
 * wider calls spread that cost (vgg19_bn at batch 64: 96 columns -> 256 measured below). */
#define DC_CONV_BATCH_COLS 256

int dc_conv_samples_per_tile(const dc_conv_shape *s, int n)
{
    const int npix = dc_conv_out_h(s) * dc_conv_out_w(s);
    if (npix <= 0 || npix >= DC_CONV_TILE_MIN || n <= 1)
        return 1;
    int want = (DC_CONV_BATCH_COLS + npix - 1) / npix;
    return want < n ? want : n;
}

size_t dc_conv2d_samples_workspace_floats(const dc_conv_shape *s, int samples)
{
    const size_t npix = (size_t)dc_conv_out_h(s) * (size_t)dc_conv_out_w(s);
    const size_t k = (size_t)(s->cin / s->groups) * (size_t)s->kh * (size_t)s->kw;
    const size_t cout_g = (size_t)(s->cout / s->groups);
    const size_t cols = npix * (size_t)samples;
    return (k + cout_g) * cols + (cols <= DC_SKINNY_MAX_COLS ? k * cols : 0);
}

void dc_conv2d_samples(const dc_conv_shape *s, int samples, const float *in,
                       const float *weight, const float *bias, const float *residual,
                       dc_act act, float *out, int group, int co0, int co1, float *workspace)
{
    const int npix = dc_conv_out_h(s) * dc_conv_out_w(s);
    const int cin_g = s->cin / s->groups;
    const int cout_g = s->cout / s->groups;
    const int k = cin_g * s->kh * s->kw;
    const int rows = co1 - co0;
    const size_t cols = (size_t)npix * (size_t)samples;
    const size_t in_numel = (size_t)s->cin * s->h * s->w;
    const size_t out_numel = (size_t)s->cout * npix;
    if (npix == 0 || rows <= 0 || samples <= 0)
        return;

    /* col [k][samples * npix]: sample j's columns at j * npix */
    float *col = workspace, *acc = workspace + (size_t)k * cols;
    for (int j = 0; j < samples; j++)
        im2col_ld(in + j * in_numel + (size_t)group * cin_g * s->h * s->w, cin_g, s->h, s->w,
                  s->kh, s->kw, s->stride_h, s->stride_w, s->pad_h, s->pad_w, 0, npix,
                  col + (size_t)j * npix, cols);
    const int co_first = group * cout_g + co0;
    conv_gemm(rows, (int)cols, k, weight + (size_t)co_first * k, col, (int)cols, acc,
              (int)cols, acc + (size_t)cout_g * cols);

    /* scatter acc [rows][samples][npix] to each sample's [cout][npix], with the epilogue */
    for (int j = 0; j < samples; j++)
        for (int r = 0; r < rows; r++) {
            const size_t at = j * out_numel + (size_t)(co_first + r) * npix;
            float *dst = out + at;
            memcpy(dst, acc + (size_t)r * cols + (size_t)j * npix, (size_t)npix * sizeof *dst);
            const float bv = bias ? bias[co_first + r] : 0.0f;
            if (residual)
                dc_bias_residual_act_row(dst, residual + at, (size_t)npix, bv, act);
            else if (bias || act != DC_ACT_NONE)
                dc_bias_act_row(dst, (size_t)npix, bv, act);
        }
}

void dc_conv2d(const dc_conv_shape *s, const float *in, const float *weight,
               const float *bias, dc_act act, float *out, float *workspace)
{
    const int npix = dc_conv_out_h(s) * dc_conv_out_w(s);
    if (npix == 0 || s->cout == 0)
        return;
    for (int g = 0; g < s->groups; g++) /* workspace: im2col only, so SGEMM throughout */
        conv_tile(s, in, weight, bias, NULL, act, out, g, 0, npix, 0, s->cout / s->groups,
                  workspace, false);
}
