/*
 * depthwise_simd.h — the vectorised depthwise conv (torch.nn.Conv2d with groups ==
 * in_channels == out_channels), written once for any vector width. Included only by
 * depthwise_avx512.c and depthwise_avx2.c, which first define:
 *   DW_TARGET        the function attribute naming the instruction set
 *   DW_VLEN, dw_vec  floats per vector and the vector type
 *   VLOAD(p) VSTORE(p, v) (unaligned), VSET1(x), VFMA(a, b, c) = a*b + c,
 *   VADD VSUB VMUL VDIV VMAX VMIN (VMAX(a, b) = a > b ? a : b, VMIN(a, b) = a < b ? a : b,
 *   the x86 operand order, so NaN in b passes through), VWHERE_LE(v, c, a, b) and
 *   VWHERE_GE(v, c, a, b) = lane-wise (v <= c or v >= c) ? a : b, ordered compares;
 *   VLOAD_LANES(p, a, b)  lanes [a, b) from p[a..b), the others 0, reading only those;
 *   VSTORE_LANES(p, v, n) stores lanes [0, n) of v;
 *   VKEEP(v)         keeps v in a register (an empty asm), so that a loaded vector is
 *                    not folded into each FMA that uses it as one more load;
 *   DW_DEINTERLEAVE(lo, hi, even, odd) sets even to lanes 0, 2, 4, ... and odd to lanes
 *                    1, 3, 5, ... of the 2*DW_VLEN floats lo then hi;
 *   DW_RANGE_FN      the name of the entry point.
 *
 * Method. The output of one channel is
 *   out[oy][ox] = act(bias + sum_{ki,kj} k[ki][kj] * P[s*oy + ki][s*ox + kj]),
 * P the zero-padded input plane. A band of output rows is computed from a copy of the
 * input rows it needs, staged on the stack as s*s "phase planes":
 *   Q[ri][ci][y][x] = P[s*(oy0 + y) + ri][s*x + ci],  x < wq = ow + (k-1)/s,
 * so that tap (ki, kj) of output (oy0 + r, ox) is Q[ki % s][kj % s][r + ki/s][ox + kj/s]:
 * contiguous in ox for stride 1 and 2 alike (the copy de-interleaves even and odd
 * columns), and with no border cases left (the copy wrote the padding zeros).
 *  - Row mode (ow >= one vector): DW_VLEN output columns of R = 8, 4 or 1 rows at a time,
 *    each loaded input vector feeding every row of the group that uses it; the last
 *    column chunk and the last row group are shifted back to end at the edge, recomputing
 *    a few outputs (same values) instead of masking. Results go straight to out.
 *  - Flat mode (narrow maps, 7x7 say): the band is computed as one flat array of
 *    rows * wq positions (the wq - ow junk columns per row are discarded), 16 floats per
 *    vector whatever the row width, then copied out row by row.
 * Bias starts the sum; ReLU, ReLU6, Hardswish and Hardsigmoid are applied in registers
 * with the same operations as epilogue.h's scalar forms; the other activations by
 * dc_bias_act_row on each finished band while it is in L1.
 */
#include "simd_common.h"

/* One band of one channel, as the compute loops see it. */
typedef struct {
    const float *src;  /* the channel's input plane, h x w */
    int h, w, pw, iy0; /* and the input row of the band's phase row 0 (dw_stage) */
    float *st;         /* phase planes, plane floats apart, rows wq floats wide */
    size_t plane;
    int wq;
    int rows;          /* output rows in this band */
    int rows_staged;   /* phase rows to stage: the band's full height hq */
    const float *k;    /* the channel's k*k weights */
    float bias;
    dc_act act;
    float *out;        /* first output row of the band, rows of ow floats */
    int ow;
    float *flat_buf;   /* flat mode: rows*wq (+ one vector) floats of scratch, else NULL */
} dw_band;

/* Row mode: output rows [g, g + R) of the band (R <= DW_RMAX), all columns. */
DW_INLINE void dw_row_group(const dw_band *b, const dw_vec *wv, int g, const int K,
                            const int S, const int R)
{
    /* locals: the stores to out could alias *b, which would reload every field */
    const dw_vec vb = VSET1(b->bias);
    const size_t plane = b->plane, wq = (size_t)b->wq, ow = (size_t)b->ow;
    const dc_act act = b->act;
    const float *st = b->st + g * wq;
    float *o = b->out + g * ow;
    const int last = (int)ow - DW_VLEN;
    for (int c = 0;; c += DW_VLEN) {
        if (c > last)
            c = last;
        dw_vec acc[DW_RMAX];
#pragma GCC unroll 8
        for (int r = 0; r < R; r++)
            acc[r] = vb;
#pragma GCC unroll 2
        for (int ri = 0; ri < S; ri++) {
            const int rows_in = R + (K - 1 - ri) / S; /* phase rows feeding the group */
#pragma GCC unroll 16
            for (int y = 0; y < rows_in; y++) {
#pragma GCC unroll 7
                for (int kj = 0; kj < K; kj++) {
                    const dw_vec x = VLOAD(st + (size_t)(ri * S + kj % S) * plane +
                                           (size_t)y * wq + c + kj / S);
#pragma GCC unroll 8
                    for (int r = 0; r < R; r++) {
                        const int ki = S * (y - r) + ri;
                        if (ki >= 0 && ki < K)
                            acc[r] = VFMA(wv[ki * K + kj], x, acc[r]);
                    }
                }
            }
        }
#pragma GCC unroll 8
        for (int r = 0; r < R; r++)
            VSTORE(o + (size_t)r * ow + c, dw_act_vec(acc[r], act));
        if (c == last)
            break;
    }
}

/* Row mode over the whole band: groups of 8 (or 4, or single) rows, the last group
 * shifted back so that it ends at the band's last row. */
DW_INLINE void dw_band_rows(const dw_band *b, const dw_vec *wv, const int K, const int S)
{
    if (b->rows >= 8) {
        for (int g = 0;; g += 8) {
            if (g > b->rows - 8)
                g = b->rows - 8;
            dw_row_group(b, wv, g, K, S, 8);
            if (g == b->rows - 8)
                break;
        }
    } else if (b->rows >= 4) {
        dw_row_group(b, wv, 0, K, S, 4);
        dw_row_group(b, wv, b->rows - 4, K, S, 4);
    } else {
        for (int g = 0; g < b->rows; g++)
            dw_row_group(b, wv, g, K, S, 1);
    }
}

/* Sum at flat positions [p, p + DW_VLEN) for n consecutive vectors (n <= 4). */
DW_INLINE void dw_flat_vectors(const dw_band *b, const dw_vec *wv, int p, const int K,
                               const int S, const int n)
{
    dw_vec acc[4];
    const dw_vec vb = VSET1(b->bias);
    const float *st = b->st;
    const size_t plane = b->plane, wq = (size_t)b->wq;
    float *fb = b->flat_buf;
    const dc_act act = b->act;
#pragma GCC unroll 4
    for (int i = 0; i < n; i++)
        acc[i] = vb;
#pragma GCC unroll 7
    for (int ki = 0; ki < K; ki++) {
#pragma GCC unroll 7
        for (int kj = 0; kj < K; kj++) {
            const float *src = st + (size_t)((ki % S) * S + kj % S) * plane +
                               (size_t)(ki / S) * wq + kj / S + p;
#pragma GCC unroll 4
            for (int i = 0; i < n; i++)
                acc[i] = VFMA(wv[ki * K + kj], VLOAD(src + i * DW_VLEN), acc[i]);
        }
    }
#pragma GCC unroll 4
    for (int i = 0; i < n; i++)
        VSTORE(fb + p + i * DW_VLEN, dw_act_vec(acc[i], act));
}

/* Flat mode: the band as rows*wq positions, then the ow valid columns of each row. */
DW_INLINE void dw_band_flat(const dw_band *b, const dw_vec *wv, const int K, const int S)
{
    const int npos = b->rows * b->wq;
    int p = 0;
    for (; p + 4 * DW_VLEN <= npos; p += 4 * DW_VLEN)
        dw_flat_vectors(b, wv, p, K, S, 4);
    for (; p < npos; p += DW_VLEN)
        dw_flat_vectors(b, wv, p, K, S, 1);
    dw_flat_rows_out(b->out, b->ow, b->flat_buf, b->wq, b->rows);
}

DW_INLINE void dw_band_body(const dw_band *b, const int K, const int S)
{
    dw_stage(b->src, b->h, b->w, S, b->pw, b->iy0, b->rows_staged, b->wq, b->plane, b->st);
    dw_vec wv[49];
#pragma GCC unroll 49
    for (int i = 0; i < K * K; i++)
        wv[i] = VSET1(b->k[i]);
    if (b->flat_buf)
        dw_band_flat(b, wv, K, S);
    else
        dw_band_rows(b, wv, K, S);
    if (!dw_act_in_registers(b->act))
        for (int r = 0; r < b->rows; r++)
            dc_bias_act_row(b->out + (size_t)r * b->ow, (size_t)b->ow, 0.0f, b->act);
}

#define DW_INSTANCE(K, S) \
    static DW_TARGET void dw_band_##K##_##S(const dw_band *b) { dw_band_body(b, K, S); }
DW_INSTANCE(3, 1)
DW_INSTANCE(3, 2)
DW_INSTANCE(5, 1)
DW_INSTANCE(5, 2)
DW_INSTANCE(7, 1)
DW_INSTANCE(7, 2)
#undef DW_INSTANCE

typedef void (*dw_band_fn)(const dw_band *b);

static dw_band_fn dw_pick(int k, int s)
{
    switch (k * 10 + s) {
    case 31: return dw_band_3_1;
    case 32: return dw_band_3_2;
    case 51: return dw_band_5_1;
    case 52: return dw_band_5_2;
    case 71: return dw_band_7_1;
    case 72: return dw_band_7_2;
    default: return NULL;
    }
}

/* dc_depthwise_conv2d_range for square 3x3, 5x5, 7x7 kernels with stride 1 or 2 (any
 * padding, any image size whose staged rows fit the scratch); false for other shapes. */
DW_TARGET bool DW_RANGE_FN(const dc_conv_shape *s, const float *in, const float *weight,
                           const float *bias, dc_act act, float *out, int c_begin,
                           int c_end)
{
    const int K = s->kh, S = s->stride_h;
    if (s->kw != K || s->stride_w != S || s->pad_h < 0 || s->pad_w < 0)
        return false;
    const dw_band_fn band_fn = dw_pick(K, S);
    if (!band_fn)
        return false;
    const int oh = dc_conv_out_h(s), ow = dc_conv_out_w(s);
    const int halo = (K - 1) / S;
    const int wq = ow + halo;
    int band = (DW_STAGE_FLOATS - DW_SLACK) / (S * S * wq) - halo;
    if (band < 1)
        return false;
    if (band > oh)
        band = oh;
    const int hq = band + halo;
    const size_t plane = (size_t)hq * wq;

    float st[DW_STAGE_FLOATS] __attribute__((aligned(64)));
    float flat_buf[DW_STAGE_FLOATS] __attribute__((aligned(64)));
    memset(st + (size_t)S * S * plane, 0, DW_SLACK * sizeof(float));

    dw_band b = { .h = s->h, .w = s->w, .pw = s->pad_w, .st = st, .plane = plane,
                  .wq = wq, .rows_staged = hq, .act = act, .ow = ow,
                  .flat_buf = dw_use_flat(ow, wq) ? flat_buf : NULL };
    const size_t plane_in = (size_t)s->h * s->w, plane_out = (size_t)oh * ow;
    for (int ch = c_begin; ch < c_end; ch++) {
        b.k = weight + (size_t)ch * K * K;
        b.bias = bias ? bias[ch] : 0.0f;
        for (int oy0 = 0; oy0 < oh; oy0 += band) {
            b.rows = oh - oy0 < band ? oh - oy0 : band;
            b.out = out + (size_t)ch * plane_out + (size_t)oy0 * ow;
            b.src = in + (size_t)ch * plane_in;
            b.iy0 = oy0 * S - s->pad_h;
            band_fn(&b);
        }
    }
    return true;
}
