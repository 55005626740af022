/*
 * simd_common.h — pieces shared by the vector kernel templates (depthwise_simd.h,
 * small_conv_simd.h): clipped loads and partial stores, the staging copy into phase
 * planes, and the in-register activations. Included after simd_avx512.h or simd_avx2.h
 * has defined the vector macros (see depthwise_simd.h for the list).
 */
#ifndef DC_KERNELS_SIMD_COMMON_H
#define DC_KERNELS_SIMD_COMMON_H

#include <stdint.h>
#include <string.h>

#include "epilogue.h"

#define DW_INLINE static inline __attribute__((always_inline)) DW_TARGET

enum {
    DW_STAGE_FLOATS = 6144,        /* staged input per band (24 KiB, half of L1) */
    DW_SLACK = 4 * DW_VLEN + 8,    /* zeros after the phase planes: flat-mode overreach */
    DW_RMAX = 8                    /* most output rows per group in row mode */
};

/* Lane i of the result is row[off + i] when 0 <= off + i < w, else 0; lanes outside the
 * row are never read (masked loads), so off may run past either end. */
DW_INLINE dw_vec dw_load_clipped(const float *row, long off, int w)
{
    if (off >= 0 && off + DW_VLEN <= w)
        return VLOAD(row + off);
    long a = -off, b = (long)w - off; /* valid lanes [a, b) */
    a = a < 0 ? 0 : a;
    b = b > DW_VLEN ? DW_VLEN : b;
    if (a >= b)
        return VSET1(0.0f);
    /* the address of lane 0, formed without pointer arithmetic outside the row */
    const float *p0 = (const float *)((uintptr_t)row + (uintptr_t)(off * (long)sizeof(float)));
    return VLOAD_LANES(p0, (int)a, (int)b);
}

/* Stores the first n lanes of v (n <= DW_VLEN). */
DW_INLINE void dw_store_first(float *p, dw_vec v, int n)
{
    if (n == DW_VLEN)
        VSTORE(p, v);
    else
        VSTORE_LANES(p, v, n);
}

/* Copies input rows into the s*s phase planes of a band whose phase row 0 is input row
 * iy0 (negative: padding): Q[ri][ci][y][x] = in[iy0 + s*y + ri][s*x + ci - pw], zero
 * outside the image; hq rows of wq floats per plane. Whole vectors with masked loads at
 * the borders (no per-row library call, no scalar tails); stride 2 loads 2*DW_VLEN input
 * floats per step and splits even and odd columns with permutes (DW_DEINTERLEAVE);
 * larger strides copy one float at a time. */
DW_INLINE void dw_stage(const float *restrict src, int h, int w, const int s, int pw,
                        int iy0, int hq, int wq, size_t plane, float *restrict st)
{
    for (int y = 0; y < hq; y++)          /* input rows in memory order, for the */
        for (int ri = 0; ri < s; ri++) {  /* hardware prefetcher */
            const int iy = iy0 + s * y + ri;
            const bool inside = iy >= 0 && iy < h;
            const float *row = src + (size_t)(inside ? iy : 0) * w;
            const int wi = inside ? w : 0; /* a row outside the image is all padding */
            float *d0 = st + (size_t)(ri * s) * plane + (size_t)y * wq;
            if (s > 2) { /* stems' patchify (stride 4): plain copies, rare and cheap */
                for (int ci = 0; ci < s; ci++) {
                    float *d = st + (size_t)(ri * s + ci) * plane + (size_t)y * wq;
                    for (int x = 0; x < wq; x++) {
                        const long ix = (long)s * x + ci - pw;
                        d[x] = ix >= 0 && ix < wi ? row[ix] : 0.0f;
                    }
                }
                continue;
            }
            for (int x = 0; x < wq; x += DW_VLEN) {
                const int n = wq - x < DW_VLEN ? wq - x : DW_VLEN;
                if (s == 1) {
                    dw_store_first(d0 + x, dw_load_clipped(row, (long)x - pw, wi), n);
                } else {
                    const long off = 2L * x - pw;
                    dw_vec even, odd;
                    DW_DEINTERLEAVE(dw_load_clipped(row, off, wi),
                                    dw_load_clipped(row, off + DW_VLEN, wi), even, odd);
                    dw_store_first(d0 + x, even, n);
                    dw_store_first(d0 + plane + x, odd, n);
                }
            }
        }
}

/* Flat mode (depthwise_simd.h, small_conv_simd.h) when the row mode's share of useful
 * lanes, ow over ow rounded up to whole vectors, falls well below the flat mode's, ow / wq
 * (the staged rows' width). */
static inline bool dw_use_flat(int ow, int wq)
{
    if (ow < DW_VLEN)
        return true;
    const int chunks = (ow + DW_VLEN - 1) / DW_VLEN;
    const double row_share = (double)ow / (chunks * DW_VLEN);
    const double flat_share = (double)ow / wq;
    return row_share < 0.8 * flat_share;
}

/* Flat mode's way out: the ow valid columns of each of `rows` rows of wq positions. */
DW_INLINE void dw_flat_rows_out(float *restrict out, int ow, const float *restrict flat,
                                int wq, int rows)
{
    for (int r = 0; r < rows; r++)
        memcpy(out + (size_t)r * ow, flat + (size_t)r * wq, (size_t)ow * sizeof(float));
}

static bool dw_act_in_registers(dc_act act)
{
    return act == DC_ACT_NONE || act == DC_ACT_RELU || act == DC_ACT_RELU6 ||
           act == DC_ACT_HARDSWISH || act == DC_ACT_HARDSIGMOID;
}

/* The activations of dw_act_in_registers, lane-wise, exactly as dc_bias_act_row and
 * dc_act_smooth compute them (NaN passes through ReLU and ReLU6); others pass v. */
DW_INLINE dw_vec dw_act_vec(dw_vec v, dc_act act)
{
    const dw_vec zero = VSET1(0.0f);
    switch (act) {
    case DC_ACT_RELU:
        return VMAX(zero, v);
    case DC_ACT_RELU6:
        return VMIN(VSET1(6.0f), VMAX(zero, v));
    case DC_ACT_HARDSWISH: {
        dw_vec t = VDIV(VMUL(v, VADD(v, VSET1(3.0f))), VSET1(6.0f));
        t = VWHERE_GE(v, VSET1(3.0f), v, t);
        return VWHERE_LE(v, VSET1(-3.0f), zero, t);
    }
    case DC_ACT_HARDSIGMOID: {
        dw_vec t = VADD(VDIV(v, VSET1(6.0f)), VSET1(0.5f));
        t = VWHERE_GE(v, VSET1(3.0f), VSET1(1.0f), t);
        return VWHERE_LE(v, VSET1(-3.0f), zero, t);
    }
    default:
        return v;
    }
}

#endif /* DC_KERNELS_SIMD_COMMON_H */
