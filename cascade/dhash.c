/*
 * dhash.c — OpenCV's fixed-point gray resize (shared with invariants.c) and the paper's
 * dHash (see hash.h for the contracts).
 *
 * The resize follows OpenCV 4.x imgproc/src/resize.cpp for CV_8U and INTER_LINEAR:
 * resizeGeneric_ computes per output column a source index and two weights scaled by
 * INTER_RESIZE_COEF_SCALE = 2048 (HResizeLinear, exact integer sums), and per output row
 * two weights applied by VResizeLinear<uchar, int, short, ...>, whose vectorised and
 * scalar forms both compute ((b0 * (r0 >> 4)) >> 16) + ((b1 * (r1 >> 4)) >> 16), then
 * add 2 and shift by 2. Checked against python3-opencv 4.6 (tests/test_hash.c).
 *
 * The source coordinate is computed in double and rounded to float before the floor,
 * as OpenCV does; this file must therefore be compiled without floating-point
 * contraction (GCC's default under -std=c11, which the build uses).
 */
#include "cascade/hash.h"

#include <assert.h>
#include <math.h>

/* The largest output side dc_hash_resize_linear supports (its buffers live on the stack). */
#define DC_RESIZE_MAX 64

/* OpenCV's INTER_RESIZE_COEF_SCALE: weights are fixed point with 11 fractional bits. */
#define DC_COEF_SCALE 2048.0f

/* One output coordinate: the first of the two source samples and their weights. */
typedef struct {
    int s;
    int a0, a1;
} dc_tap;

bool dc_hash_image_ok(const dc_image *img)
{
    return img && img->data && img->w >= 1 && img->h >= 1 && (img->c == 1 || img->c == 3);
}

/* The dn taps along an axis of sn source samples. Columns (clamp_weights) move a source
 * position outside [0, sn - 1] onto the edge with weights (2048, 0), as OpenCV's table
 * set-up does; rows keep their weights and are clamped only when read. */
static void linear_taps(int dn, int sn, bool clamp_weights, dc_tap *t)
{
    double scale = 1.0 / ((double)dn / (double)sn); /* OpenCV: 1 / inv_scale */
    for (int d = 0; d < dn; d++) {
        float f = (float)(((double)d + 0.5) * scale - 0.5);
        int s = (int)floorf(f);
        f -= (float)s;
        if (clamp_weights) {
            if (s < 0) {
                s = 0;
                f = 0.0f;
            }
            if (s >= sn - 1) {
                s = sn - 1;
                f = 0.0f;
            }
        }
        t[d].s = s;
        /* saturate_cast<short>(float): round to nearest, ties to even */
        t[d].a0 = (int)lrintf((1.0f - f) * DC_COEF_SCALE);
        t[d].a1 = (int)lrintf(f * DC_COEF_SCALE);
    }
}

/* Gray pixel (x, y) of the image, or of its transpose. */
static inline int view_at(const dc_image *img, bool transpose, int x, int y)
{
    return transpose ? dc_hash_gray_at(img, y, x) : dc_hash_gray_at(img, x, y);
}

static inline int clamp_int(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* The horizontal pass over source row y: r[x] = p[s] * a0 + p[s + 1] * a1. */
static void horizontal_pass(const dc_image *img, bool transpose, int sw, int y,
                            const dc_tap *xt, int dw, int *r)
{
    for (int x = 0; x < dw; x++) {
        int s = xt[x].s;
        int s1 = s + 1 < sw ? s + 1 : sw - 1; /* only reached with a1 = 0 */
        r[x] = view_at(img, transpose, s, y) * xt[x].a0 +
               view_at(img, transpose, s1, y) * xt[x].a1;
    }
}

void dc_hash_resize_linear(const dc_image *img, bool transpose, int dw, int dh, uint8_t *dst)
{
    assert(dc_hash_image_ok(img));
    assert(dw >= 1 && dw <= DC_RESIZE_MAX && dh >= 1 && dh <= DC_RESIZE_MAX);
    int sw = transpose ? img->h : img->w;
    int sh = transpose ? img->w : img->h;
    dc_tap xt[DC_RESIZE_MAX], yt[DC_RESIZE_MAX];
    linear_taps(dw, sw, true, xt);
    linear_taps(dh, sh, false, yt);

    int r0[DC_RESIZE_MAX], r1[DC_RESIZE_MAX];
    for (int y = 0; y < dh; y++) {
        int b0 = yt[y].a0, b1 = yt[y].a1;
        horizontal_pass(img, transpose, sw, clamp_int(yt[y].s, 0, sh - 1), xt, dw, r0);
        horizontal_pass(img, transpose, sw, clamp_int(yt[y].s + 1, 0, sh - 1), xt, dw, r1);
        for (int x = 0; x < dw; x++) {
            int v = (((b0 * (r0[x] >> 4)) >> 16) + ((b1 * (r1[x] >> 4)) >> 16) + 2) >> 2;
            dst[y * dw + x] = (uint8_t)clamp_int(v, 0, 255);
        }
    }
}

uint64_t dc_dhash(const dc_image *img)
{
    assert(dc_hash_image_ok(img));
    uint8_t px[8 * 9]; /* 8 rows of 9 */
    dc_hash_resize_linear(img, false, 9, 8, px);
    uint64_t key = 0;
    for (int row = 0; row < 8; row++)
        for (int col = 0; col < 8; col++)
            if (px[row * 9 + col + 1] > px[row * 9 + col])
                key |= (uint64_t)1 << (row * 8 + col);
    return key;
}
