/*
 * conv.c — 2-D convolution of one sample, torch.nn.Conv2d (dilation 1, any groups):
 *   out[co][oy][ox] = act(bias[co] + sum_{ci in group(co), ki, kj}
 *                     weight[co][ci][ki][kj] * in[ci][oy*sh - ph + ki][ox*sw - pw + kj]),
 * with zero outside the image. Computed as im2col + one SGEMM per group; a 1x1 stride-1
 * unpadded conv is already a GEMM on the input and skips im2col.
 */
#include "kernels.h"

#include <string.h>

#include <cblas.h>

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

static bool conv_is_pointwise(const dc_conv_shape *s)
{
    return s->kh == 1 && s->kw == 1 && s->stride_h == 1 && s->stride_w == 1 &&
           s->pad_h == 0 && s->pad_w == 0;
}

size_t dc_conv2d_workspace_floats(const dc_conv_shape *s)
{
    if (conv_is_pointwise(s))
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

/*
 * Row r = (ci*kh + ki)*kw + kj of col holds, for every output pixel (oy, ox), the input
 * sample that kernel tap (ki, kj) of channel ci meets there:
 *   col[r][oy*ow + ox] = in[ci][oy*sh - ph + ki][ox*sw - pw + kj]   (0 outside the image).
 * For each row the valid ox form one interval [ox0, ox1), computed once, so the inner
 * copy has no bounds checks (a memcpy when sw == 1).
 */
void dc_im2col(const float *in, int c, int h, int w, int kh, int kw, int stride_h,
               int stride_w, int pad_h, int pad_w, float *col)
{
    const int oh = conv_out_size(h, kh, stride_h, pad_h);
    const int ow = conv_out_size(w, kw, stride_w, pad_w);
    const int rows = c * kh * kw;
    const size_t npix = (size_t)oh * (size_t)ow;

#pragma omp parallel for schedule(static) if ((size_t)rows * npix > DC_OMP_MIN_WORK)
    for (int r = 0; r < rows; r++) {
        const int kj = r % kw;
        const int ki = (r / kw) % kh;
        const int ci = r / (kw * kh);
        const float *plane = in + (size_t)ci * h * w;
        float *dst = col + (size_t)r * npix;

        const int xoff = kj - pad_w; /* input column of output column 0 */
        const int ox0 = first_inside(xoff, stride_w);
        int ox1 = end_inside(xoff, stride_w, w, ow);
        if (ox1 < ox0)
            ox1 = ox0;

        for (int oy = 0; oy < oh; oy++) {
            float *restrict d = dst + (size_t)oy * ow;
            const int iy = oy * stride_h - pad_h + ki;
            if (iy < 0 || iy >= h || ox0 >= ow) {
                memset(d, 0, (size_t)ow * sizeof(float));
                continue;
            }
            const float *restrict src = plane + (size_t)iy * w;
            for (int ox = 0; ox < ox0; ox++)
                d[ox] = 0.0f;
            if (stride_w == 1) {
                memcpy(d + ox0, src + ox0 + xoff, (size_t)(ox1 - ox0) * sizeof(float));
            } else {
                for (int ox = ox0; ox < ox1; ox++)
                    d[ox] = src[ox * stride_w + xoff];
            }
            for (int ox = ox1; ox < ow; ox++)
                d[ox] = 0.0f;
        }
    }
}

void dc_conv2d(const dc_conv_shape *s, const float *in, const float *weight,
               const float *bias, dc_act act, float *out, float *workspace)
{
    const int oh = dc_conv_out_h(s);
    const int ow = dc_conv_out_w(s);
    const int groups = s->groups;
    const int cin_g = s->cin / groups;
    const int cout_g = s->cout / groups;
    const int k = cin_g * s->kh * s->kw;  /* GEMM inner dimension */
    const int npix = oh * ow;             /* GEMM columns */
    const bool pointwise = conv_is_pointwise(s);

    if (npix == 0 || s->cout == 0)
        return;

    /* Never inside a parallel region of ours: OpenBLAS threads the GEMM itself. */
    for (int g = 0; g < groups; g++) {
        const float *in_g = in + (size_t)g * cin_g * s->h * s->w;
        const float *b;
        if (pointwise) {
            b = in_g; /* [cin_g][h*w] is already the column matrix */
        } else {
            dc_im2col(in_g, cin_g, s->h, s->w, s->kh, s->kw, s->stride_h, s->stride_w,
                      s->pad_h, s->pad_w, workspace);
            b = workspace;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, cout_g, npix, k, 1.0f,
                    weight + (size_t)g * cout_g * k, k, b, npix, 0.0f,
                    out + (size_t)g * cout_g * npix, npix);
    }

    if (bias == NULL && act == DC_ACT_NONE)
        return;
#pragma omp parallel for schedule(static) if ((size_t)s->cout * npix > DC_OMP_MIN_WORK)
    for (int co = 0; co < s->cout; co++)
        dc_bias_act_row(out + (size_t)co * npix, (size_t)npix, bias ? bias[co] : 0.0f, act);
}
