/*
 * preprocess.c — Pillow's resampling for 8-bit images (see preprocess.h for the facts it
 * follows), the small-image input chain of the paper's CIFAR-10, FashionMNIST and Intel
 * models, and torchvision's ImageNet evaluation chain (resize the shorter side, centre
 * crop, normalise).
 *
 * The filter functions and the coefficient computation follow Pillow 9.4's
 * src/libImaging/Resample.c (filters, precompute_coeffs, normalize_coeffs_8bpc and the two
 * 8bpc passes) operation for operation, in double where Pillow uses double, so the integer
 * weights come out identical and so does every output byte.
 */
#include "loaders/preprocess.h"
#include "base/alloc.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DC_PIL_PRECISION_BITS (32 - 8 - 2)
#define DC_PIL_MAX_SIDE (1 << 20)

/* ---- Pillow's filters --------------------------------------------------- */

static double dc_pil_box(double x)
{
    return (x > -0.5 && x <= 0.5) ? 1.0 : 0.0;
}

static double dc_pil_bilinear(double x)
{
    if (x < 0.0)
        x = -x;
    return x < 1.0 ? 1.0 - x : 0.0;
}

static double dc_pil_hamming(double x)
{
    if (x < 0.0)
        x = -x;
    if (x == 0.0)
        return 1.0;
    if (x >= 1.0)
        return 0.0;
    x = x * M_PI;
    return sin(x) / x * (0.54f + 0.46f * cos(x)); /* float constants, as in Pillow */
}

static double dc_pil_bicubic(double x)
{
    const double a = -0.5;
    if (x < 0.0)
        x = -x;
    if (x < 1.0)
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0)
        return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

static double dc_pil_sinc(double x)
{
    if (x == 0.0)
        return 1.0;
    x = x * M_PI;
    return sin(x) / x;
}

static double dc_pil_lanczos(double x)
{
    return (-3.0 <= x && x < 3.0) ? dc_pil_sinc(x) * dc_pil_sinc(x / 3) : 0.0;
}

typedef struct {
    double (*fn)(double);
    double support;
} dc_pil_filter_def;

static const dc_pil_filter_def dc_pil_filters[] = {
    [DC_PIL_BOX] = { dc_pil_box, 0.5 },
    [DC_PIL_BILINEAR] = { dc_pil_bilinear, 1.0 },
    [DC_PIL_HAMMING] = { dc_pil_hamming, 1.0 },
    [DC_PIL_BICUBIC] = { dc_pil_bicubic, 2.0 },
    [DC_PIL_LANCZOS] = { dc_pil_lanczos, 3.0 },
};

/* ---- coefficients ------------------------------------------------------- */

/* The taps of one axis: output o reads in[first[o] + t] * weight[o * ksize + t] for
 * t < taps[o]. */
typedef struct {
    int ksize;
    int *first, *taps;
    int32_t *weight;
} dc_pil_coeffs;

static void dc_pil_coeffs_free(dc_pil_coeffs *c)
{
    free(c->first);
    free(c->taps);
    free(c->weight);
}

/* Pillow's precompute_coeffs (box = the whole axis) followed by normalize_coeffs_8bpc. */
static dc_status dc_pil_coeffs_make(int in_size, int out_size, const dc_pil_filter_def *f,
                                    dc_pil_coeffs *c, dc_error *err)
{
    memset(c, 0, sizeof *c);
    float in0 = 0.0f, in1 = (float)in_size;
    double scale = (double)(in1 - in0) / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = f->support * filterscale;
    int ksize = (int)ceil(support) * 2 + 1;
    double *kk = dc_malloc(sizeof(double) * (size_t)ksize);
    c->first = dc_malloc(sizeof(int) * (size_t)out_size);
    c->taps = dc_malloc(sizeof(int) * (size_t)out_size);
    c->weight = dc_malloc(sizeof(int32_t) * (size_t)out_size * (size_t)ksize);
    if (!kk || !c->first || !c->taps || !c->weight) {
        free(kk);
        dc_pil_coeffs_free(c);
        return dc_fail(err, DC_ERR_NOMEM, "resize: out of memory for %d -> %d", in_size,
                       out_size);
    }
    c->ksize = ksize;
    for (int xx = 0; xx < out_size; xx++) {
        double center = in0 + (xx + 0.5) * scale;
        double ww = 0.0, ss = 1.0 / filterscale;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0)
            xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size)
            xmax = in_size;
        xmax -= xmin;
        for (int x = 0; x < xmax; x++) {
            double w = f->fn((x + xmin - center + 0.5) * ss);
            kk[x] = w;
            ww += w;
        }
        for (int x = 0; x < xmax; x++)
            if (ww != 0.0)
                kk[x] /= ww;
        int32_t *k = c->weight + (size_t)xx * ksize;
        for (int x = 0; x < ksize; x++) {
            double v = x < xmax ? kk[x] : 0.0;
            k[x] = v < 0 ? (int32_t)(-0.5 + v * (1 << DC_PIL_PRECISION_BITS))
                         : (int32_t)(0.5 + v * (1 << DC_PIL_PRECISION_BITS));
        }
        c->first[xx] = xmin;
        c->taps[xx] = xmax;
    }
    free(kk);
    return DC_OK;
}

/* Pillow's clip8: the accumulated sum (with its rounding half already added) to a byte. */
static uint8_t dc_pil_clip8(int64_t ss)
{
    if (ss < 0)
        return 0;
    ss >>= DC_PIL_PRECISION_BITS;
    return (uint8_t)(ss > 255 ? 255 : ss);
}

/* ---- the two passes ----------------------------------------------------- */

/* Horizontal pass: rows [row0, row0 + dst->h) of src into dst (dst->w wide). */
static void dc_pil_horizontal(const dc_image *src, int row0, const dc_pil_coeffs *cx,
                              dc_image *dst)
{
    int c = src->c;
    if (c == 1) { /* gray (FashionMNIST): the same sums without the channel stride */
        for (int y = 0; y < dst->h; y++) {
            const uint8_t *in = src->data + (size_t)(y + row0) * src->w;
            uint8_t *out = dst->data + (size_t)y * dst->w;
            for (int x = 0; x < dst->w; x++) {
                const int32_t *k = cx->weight + (size_t)x * cx->ksize;
                const uint8_t *p = in + cx->first[x];
                int64_t ss = 1 << (DC_PIL_PRECISION_BITS - 1);
                for (int t = 0, n = cx->taps[x]; t < n; t++)
                    ss += (int64_t)p[t] * k[t];
                out[x] = dc_pil_clip8(ss);
            }
        }
        return;
    }
    for (int y = 0; y < dst->h; y++) {
        const uint8_t *in = src->data + (size_t)(y + row0) * src->w * c;
        uint8_t *out = dst->data + (size_t)y * dst->w * c;
        for (int x = 0; x < dst->w; x++) {
            const int32_t *k = cx->weight + (size_t)x * cx->ksize;
            const uint8_t *p = in + (size_t)cx->first[x] * c;
            for (int ch = 0; ch < c; ch++) {
                int64_t ss = 1 << (DC_PIL_PRECISION_BITS - 1);
                for (int t = 0; t < cx->taps[x]; t++)
                    ss += (int64_t)p[(size_t)t * c + ch] * k[t];
                out[(size_t)x * c + ch] = dc_pil_clip8(ss);
            }
        }
    }
}

/* Vertical pass: src's rows, first[y] relative to row 0 of src, into dst. The sums are
 * exact integers, so they are accumulated tap by tap over a strip of the row (a loop
 * that vectorises) with the same results as Pillow's pixel-by-pixel order. */
static void dc_pil_vertical(const dc_image *src, const dc_pil_coeffs *cy, dc_image *dst)
{
    enum { STRIP = 256 };
    int64_t ss[STRIP];
    size_t row = (size_t)src->w * src->c;
    for (int y = 0; y < dst->h; y++) {
        const int32_t *k = cy->weight + (size_t)y * cy->ksize;
        const uint8_t *in = src->data + (size_t)cy->first[y] * row;
        uint8_t *out = dst->data + (size_t)y * row;
        for (size_t i0 = 0; i0 < row; i0 += STRIP) {
            size_t n = row - i0 < STRIP ? row - i0 : STRIP;
            for (size_t i = 0; i < n; i++)
                ss[i] = 1 << (DC_PIL_PRECISION_BITS - 1);
            for (int t = 0; t < cy->taps[y]; t++) {
                const uint8_t *p = in + (size_t)t * row + i0;
                int64_t w = k[t];
                for (size_t i = 0; i < n; i++)
                    ss[i] += (int64_t)p[i] * w;
            }
            for (size_t i = 0; i < n; i++)
                out[i0 + i] = dc_pil_clip8(ss[i]);
        }
    }
}

static dc_status dc_pil_alloc(dc_image *img, int w, int h, int c, dc_error *err)
{
    img->w = w;
    img->h = h;
    img->c = c;
    img->data = dc_malloc((size_t)w * h * c);
    if (!img->data)
        return dc_fail(err, DC_ERR_NOMEM, "resize: out of memory for %dx%dx%d", w, h, c);
    return DC_OK;
}

dc_status dc_resize_pil(const dc_image *src, int w, int h, dc_pil_filter filter, dc_image *dst,
                        dc_error *err)
{
    memset(dst, 0, sizeof *dst);
    if (!src->data || src->w < 1 || src->h < 1 || src->c < 1 || w < 1 || h < 1 ||
        w > DC_PIL_MAX_SIDE || h > DC_PIL_MAX_SIDE)
        return dc_fail(err, DC_ERR_ARG, "resize: bad size %dx%dx%d -> %dx%d", src->w, src->h,
                       src->c, w, h);
    if ((int)filter < 0 || (size_t)filter >= sizeof dc_pil_filters / sizeof dc_pil_filters[0])
        return dc_fail(err, DC_ERR_ARG, "resize: unknown filter %d", (int)filter);
    const dc_pil_filter_def *f = &dc_pil_filters[filter];
    bool need_h = w != src->w, need_v = h != src->h;
    if (!need_h && !need_v) {
        dc_status st = dc_pil_alloc(dst, w, h, src->c, err);
        if (st == DC_OK)
            memcpy(dst->data, src->data, (size_t)w * h * src->c);
        return st;
    }
    dc_pil_coeffs cx = { 0 }, cy;
    dc_status st = dc_pil_coeffs_make(src->h, h, f, &cy, err);
    if (st != DC_OK)
        return st;
    /* Rows of the source the vertical pass reads: only those go through the first pass. */
    int row0 = cy.first[0];
    int row1 = cy.first[h - 1] + cy.taps[h - 1];
    dc_image tmp = { 0 };
    const dc_image *mid = src;
    bool shared = need_h && src->w == src->h && w == h; /* a square image: one set */
    if (need_h) {
        if (shared)
            cx = cy; /* read by the horizontal pass before cy.first is shifted below */
        else
            st = dc_pil_coeffs_make(src->w, w, f, &cx, err);
        if (st == DC_OK)
            st = dc_pil_alloc(&tmp, w, need_v ? row1 - row0 : src->h, src->c, err);
        if (st == DC_OK) {
            dc_pil_horizontal(src, need_v ? row0 : 0, &cx, &tmp);
            mid = &tmp;
            if (need_v)
                for (int y = 0; y < h; y++)
                    cy.first[y] -= row0;
        }
    }
    if (st == DC_OK && need_v) {
        st = dc_pil_alloc(dst, mid->w, h, src->c, err);
        if (st == DC_OK)
            dc_pil_vertical(mid, &cy, dst);
        dc_image_free(&tmp);
    } else if (st == DC_OK) {
        *dst = tmp;
    } else {
        dc_image_free(&tmp);
    }
    if (!shared)
        dc_pil_coeffs_free(&cx);
    dc_pil_coeffs_free(&cy);
    if (st != DC_OK)
        dc_image_free(dst);
    return st;
}

/* ---- the model input ---------------------------------------------------- */

dc_status dc_preprocess_small(const dc_image *raw, int in_c, int in_h, int in_w,
                              const float mean[3], const float std[3], float *out,
                              dc_error *err)
{
    if (!raw->data || raw->w < 1 || raw->h < 1 || (raw->c != 1 && raw->c != 3))
        return dc_fail(err, DC_ERR_ARG, "preprocess: expected a gray or RGB image, got "
                       "%dx%dx%d", raw->w, raw->h, raw->c);
    if ((in_c != 1 && in_c != 3) || in_h < 1 || in_w < 1)
        return dc_fail(err, DC_ERR_ARG, "preprocess: bad model input %dx%dx%d", in_c, in_h,
                       in_w);
    if (in_c == 1 && raw->c == 3)
        return dc_fail(err, DC_ERR_ARG, "preprocess: an RGB image for a 1-channel model");
    dc_image sized = { 0 };
    const dc_image *img = raw;
    if (raw->w != in_w || raw->h != in_h) {
        dc_status st = dc_resize_pil(raw, in_w, in_h, DC_PIL_BILINEAR, &sized, err);
        if (st != DC_OK)
            return st;
        img = &sized;
    }
    size_t plane = (size_t)in_w * in_h;
    for (int k = 0; k < in_c; k++) {
        float *dst = out + (size_t)k * plane;
        const float m = mean[k], sd = std[k]; /* locals: out cannot alias them, so the
                                                 loops below vectorise */
        if (img->c == 1 && k > 0 && m == mean[0] && sd == std[0]) {
            memcpy(dst, out, plane * sizeof *dst); /* the same bytes, computed once */
            continue;
        }
        if (img->c == 1) {
            const uint8_t *src = img->data;
            for (size_t i = 0; i < plane; i++)
                dst[i] = ((float)src[i] / 255.0f - m) / sd; /* ToTensor, Normalize */
        } else {
            const uint8_t *src = img->data + k;
            for (size_t i = 0; i < plane; i++)
                dst[i] = ((float)src[3 * i] / 255.0f - m) / sd;
        }
    }
    dc_image_free(&sized);
    return DC_OK;
}

/* ---- ImageNet: resize the shorter side, centre crop, normalise ------------ */

dc_status dc_resize_shorter_side(int w, int h, int size, int *out_w, int *out_h,
                                 dc_error *err)
{
    if (w < 1 || h < 1 || size < 1 || size > DC_PIL_MAX_SIDE)
        return dc_fail(err, DC_ERR_ARG, "resize: bad size: %dx%d image, shorter side to %d", w,
                       h, size);
    int shorter = w <= h ? w : h, longer = w <= h ? h : w;
    /* Python: int(size * long / short); the product is exact in a double (< 2^41) and the
     * division is correctly rounded, as Python's int / int is. */
    double l = (double)((int64_t)size * longer) / (double)shorter;
    if (l > DC_PIL_MAX_SIDE)
        return dc_fail(err, DC_ERR_ARG, "resize: a %dx%d image with its shorter side at %d "
                       "would be %.0f pixels long (limit %d)", w, h, size, l, DC_PIL_MAX_SIDE);
    int new_long = (int)l;
    *out_w = w <= h ? size : new_long;
    *out_h = w <= h ? new_long : size;
    return DC_OK;
}

int dc_center_crop_start(int size, int crop)
{
    if (crop > size)
        return -((crop - size) / 2); /* padded by (crop - size) // 2 before */
    int d = size - crop, half = d / 2;
    if (d % 2 == 0)
        return half;
    return half % 2 == 0 ? half : half + 1; /* round(half + 0.5), half to even */
}

dc_status dc_preprocess_imagenet(const dc_image *raw, int resize, dc_pil_filter filter,
                                 int crop_h, int crop_w, const float mean[3],
                                 const float std[3], float *out, dc_error *err)
{
    if (!raw->data || raw->w < 1 || raw->h < 1 || (raw->c != 1 && raw->c != 3))
        return dc_fail(err, DC_ERR_ARG, "preprocess: expected a gray or RGB image, got "
                       "%dx%dx%d", raw->w, raw->h, raw->c);
    if (resize < 0 || crop_h < 1 || crop_w < 1 || crop_h > DC_PIL_MAX_SIDE ||
        crop_w > DC_PIL_MAX_SIDE)
        return dc_fail(err, DC_ERR_ARG, "preprocess: bad resize %d or crop %dx%d", resize,
                       crop_w, crop_h);
    dc_image sized = { 0 };
    const dc_image *img = raw;
    if (resize > 0) {
        int w, h;
        dc_status st = dc_resize_shorter_side(raw->w, raw->h, resize, &w, &h, err);
        if (st == DC_OK && (w != raw->w || h != raw->h)) {
            st = dc_resize_pil(raw, w, h, filter, &sized, err);
            img = &sized;
        }
        if (st != DC_OK)
            return st;
    }
    int top = dc_center_crop_start(img->h, crop_h);
    int left = dc_center_crop_start(img->w, crop_w);
    size_t plane = (size_t)crop_w * crop_h;
    for (int k = 0; k < 3; k++) {
        float pad = (0.0f - mean[k]) / std[k]; /* zero padding, normalised */
        const uint8_t *src = img->data + (img->c == 1 ? 0 : k);
        float *dst = out + (size_t)k * plane;
        for (int y = 0; y < crop_h; y++) {
            int sy = y + top;
            for (int x = 0; x < crop_w; x++) {
                int sx = x + left;
                float *o = dst + (size_t)y * crop_w + x;
                if (sy < 0 || sy >= img->h || sx < 0 || sx >= img->w) {
                    *o = pad;
                    continue;
                }
                float v = (float)src[((size_t)sy * img->w + sx) * img->c] / 255.0f;
                *o = (v - mean[k]) / std[k];
            }
        }
    }
    dc_image_free(&sized);
    return DC_OK;
}

bool dc_preprocess_is_imagenet(const dc_net_info *info)
{
    return info->resize > 0 && info->in_c == 3 && info->dataset &&
           strcmp(info->dataset, "imagenet") == 0;
}

dc_status dc_preprocess_net(const dc_image *raw, const dc_net_info *info, float *out,
                            dc_error *err)
{
    if (!dc_preprocess_is_imagenet(info))
        return dc_preprocess_small(raw, info->in_c, info->in_h, info->in_w, info->mean,
                                   info->std, out, err);
    return dc_preprocess_imagenet(raw, info->resize,
                                  info->bicubic ? DC_PIL_BICUBIC : DC_PIL_BILINEAR,
                                  info->in_h, info->in_w, info->mean, info->std, out, err);
}
