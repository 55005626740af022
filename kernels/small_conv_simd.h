/*
 * small_conv_simd.h — the vectorised direct dense conv for few input channels (network
 * stems: torch.nn.Conv2d with groups 1 and cin = 3), written once for any vector width
 * and included by small_conv_avx512.c and small_conv_avx2.c after the vector macros
 * (simd_avx512.h or simd_avx2.h) and SC_RANGE_FN, the entry point's name.
 *
 *   out[co][oy][ox] = act(bias[co] + sum_{ci,ki,kj} w[co][ci][ki][kj]
 *                                    * P_ci[s*oy + ki][s*ox + kj]),  P_ci zero-padded.
 * Each input channel of a band of output rows is staged into s*s phase planes exactly as
 * for the depthwise conv (simd_common.h: dw_stage), so tap (ki, kj) of output columns
 * [c, c + DW_VLEN) is one contiguous load. Per output row the kernel holds 8 output
 * channels x 2 column vectors of sums in registers; every loaded input vector meets 8
 * broadcast weights (16 multiply-adds per load), over all cin*k*k taps. The last column
 * vectors are shifted back to end at the row's end (a few outputs computed twice).
 * Rows shorter than about a vector (the 14x14 and 7x7 maps of grouped convs) run in flat
 * mode, as the depthwise kernel does: output (r, x) of the band is position r*wq + x of
 * the staged planes' geometry, so tap (ki, kj) of positions [p, p + DW_VLEN) is one
 * contiguous load whatever the row width; the wq - ow junk columns of each row go to a
 * scratch array with the rest and are dropped as the rows are copied out.
 */
#include "simd_common.h"

enum {
    SC_STAGE_FLOATS = DC_SC_STAGE_FLOATS, /* staged input per band, all input channels */
    SC_CB = 8,               /* output channels per register block */
    SC_FLAT_FLOATS = 4096    /* flat mode: SC_CB channels' positions of a band (16 KiB) */
};

/* A band of output rows for a run of output channels, as the compute loops see it. */
typedef struct {
    const float *st;    /* staged band: input channel ci at st + ci*cplane */
    size_t plane;       /* floats per phase plane (hq rows of wq) */
    size_t cplane;      /* floats per input channel: s*s*plane */
    int wq, rows, ow, cin;
    const float *w;     /* weights of the first output channel [cin][k][k] */
    const float *bias;  /* bias of the first output channel, or NULL */
    dc_act act;
    float *out;         /* first output channel, first row of the band */
    size_t oplane;      /* floats between output channels: oh*ow */
    float *flat;        /* flat mode: SC_CB * fstride floats of scratch, else NULL */
    size_t fstride;     /* flat mode: floats a channel, rows*wq rounded up to 2 vectors */
} sc_band;

/* The sums of output channels [0, CB) at the NC vectors whose first tap (0, 0) is at
 * offset `at` of each staged input channel (row mode: y*wq + c; flat mode: the position),
 * bias first, over all cin*k*k taps. */
DW_INLINE void sc_sums(const sc_band *b, size_t at, dw_vec acc[SC_CB][2], const int K,
                       const int S, const int CB, const int NC)
{
    const size_t plane = b->plane, wq = (size_t)b->wq, taps = (size_t)K * K;
    const size_t wstride = (size_t)b->cin * taps;
#pragma GCC unroll 8
    for (int j = 0; j < CB; j++) {
        const dw_vec bj = VSET1(b->bias ? b->bias[j] : 0.0f);
        acc[j][0] = bj;
        acc[j][1] = bj;
    }
    for (int ci = 0; ci < b->cin; ci++) {
        const float *pc = b->st + (size_t)ci * b->cplane + at;
        const float *wc = b->w + (size_t)ci * taps;
#pragma GCC unroll 7
        for (int ki = 0; ki < K; ki++) {
#pragma GCC unroll 7
            for (int kj = 0; kj < K; kj++) {
                const float *src = pc + (size_t)((ki % S) * S + kj % S) * plane +
                                   (size_t)(ki / S) * wq + kj / S;
                const dw_vec x0 = VLOAD(src);
                const dw_vec x1 = NC > 1 ? VLOAD(src + DW_VLEN) : x0;
#pragma GCC unroll 8
                for (int j = 0; j < CB; j++) {
                    const dw_vec wv = VSET1(wc[j * wstride + ki * K + kj]);
                    acc[j][0] = VFMA(wv, x0, acc[j][0]);
                    if (NC > 1)
                        acc[j][1] = VFMA(wv, x1, acc[j][1]);
                }
            }
        }
    }
}

/* Output row y of the band, columns [c, c + NC*DW_VLEN), output channels [0, CB). */
DW_INLINE void sc_vectors(const sc_band *b, int y, int c, const int K, const int S,
                          const int CB, const int NC)
{
    dw_vec acc[SC_CB][2];
    sc_sums(b, (size_t)y * b->wq + c, acc, K, S, CB, NC);
    float *o = b->out + (size_t)y * b->ow + c;
#pragma GCC unroll 8
    for (int j = 0; j < CB; j++) {
        VSTORE(o + j * b->oplane, dw_act_vec(acc[j][0], b->act));
        if (NC > 1)
            VSTORE(o + j * b->oplane + DW_VLEN, dw_act_vec(acc[j][1], b->act));
    }
}

/* Flat positions [p, p + NC*DW_VLEN) of the band, output channels [0, CB), into the
 * scratch (channel j at b->flat + j*fstride). */
DW_INLINE void sc_flat_vectors(const sc_band *b, int p, const int K, const int S,
                               const int CB, const int NC)
{
    dw_vec acc[SC_CB][2];
    sc_sums(b, (size_t)p, acc, K, S, CB, NC);
#pragma GCC unroll 8
    for (int j = 0; j < CB; j++) {
        float *f = b->flat + j * b->fstride + p;
        VSTORE(f, dw_act_vec(acc[j][0], b->act));
        if (NC > 1)
            VSTORE(f + DW_VLEN, dw_act_vec(acc[j][1], b->act));
    }
}

/* Flat mode: the band's rows*wq positions for CB output channels, then the ow valid
 * columns of each row. */
DW_INLINE void sc_flat_block(const sc_band *b, const int K, const int S, const int CB)
{
    const int npos = b->rows * b->wq;
    int p = 0;
    for (; p + 2 * DW_VLEN <= npos; p += 2 * DW_VLEN)
        sc_flat_vectors(b, p, K, S, CB, 2);
    for (; p < npos; p += DW_VLEN)
        sc_flat_vectors(b, p, K, S, CB, 1);
    for (int j = 0; j < CB; j++)
        dw_flat_rows_out(b->out + j * b->oplane, b->ow, b->flat + j * b->fstride, b->wq,
                         b->rows);
}

/* All rows and columns of the band for CB output channels. */
DW_INLINE void sc_block(const sc_band *b, const int K, const int S, const int CB)
{
    if (b->flat) {
        sc_flat_block(b, K, S, CB);
        return;
    }
    const int two = b->ow >= 2 * DW_VLEN;
    const int step = two ? 2 * DW_VLEN : DW_VLEN;
    const int last = b->ow - step;
    for (int y = 0; y < b->rows; y++)
        for (int c = 0;; c += step) {
            if (c > last)
                c = last;
            if (two)
                sc_vectors(b, y, c, K, S, CB, 2);
            else
                sc_vectors(b, y, c, K, S, CB, 1);
            if (c == last)
                break;
        }
}

/* The band moved on to its next n output channels. */
DW_INLINE void sc_skip_channels(sc_band *b, int n, size_t wstride)
{
    b->w += (size_t)n * wstride;
    b->bias = b->bias ? b->bias + n : NULL;
    b->out += (size_t)n * b->oplane;
}

/* Output channels [0, n) of the band: blocks of SC_CB, then one of SC_CB / 2 (the
 * 4-channel groups of ResNeXt's first stage), then one at a time. */
DW_INLINE void sc_band_body(const sc_band *band, int n, const int K, const int S)
{
    sc_band b = *band;
    const size_t wstride = (size_t)b.cin * K * K;
    int j = 0;
    for (; j + SC_CB <= n; j += SC_CB) {
        sc_block(&b, K, S, SC_CB);
        sc_skip_channels(&b, SC_CB, wstride);
    }
    if (j + SC_CB / 2 <= n) {
        sc_block(&b, K, S, SC_CB / 2);
        sc_skip_channels(&b, SC_CB / 2, wstride);
        j += SC_CB / 2;
    }
    for (; j < n; j++) {
        sc_block(&b, K, S, 1);
        sc_skip_channels(&b, 1, wstride);
    }
}

#define SC_INSTANCE(K, S)                                                                   \
    static DW_TARGET void sc_band_##K##_##S(const sc_band *b, int n)                        \
    {                                                                                       \
        sc_band_body(b, n, K, S);                                                           \
    }
SC_INSTANCE(3, 1)
SC_INSTANCE(3, 2)
SC_INSTANCE(4, 4)
SC_INSTANCE(7, 2)
#undef SC_INSTANCE

typedef void (*sc_band_fn)(const sc_band *b, int n);

static sc_band_fn sc_pick(int k, int s)
{
    switch (k * 10 + s) {
    case 31: return sc_band_3_1;
    case 32: return sc_band_3_2;
    case 44: return sc_band_4_4;
    case 72: return sc_band_7_2;
    default: return NULL;
    }
}

/* dc_small_conv2d_range for groups 1 and the stems' kernels (3x3 stride 1 or 2, 4x4
 * stride 4, 7x7 stride 2; any padding) on rows of at least one vector whose staged band
 * fits the scratch; false for other shapes. */
DW_TARGET bool SC_RANGE_FN(const dc_conv_shape *s, const float *in, const float *weight,
                           const float *bias, dc_act act, float *out, int co_begin,
                           int co_end)
{
    const int K = s->kh, S = s->stride_h;
    if (s->groups != 1 || s->kw != K || s->stride_w != S || s->pad_h < 0 || s->pad_w < 0)
        return false;
    const sc_band_fn fn = sc_pick(K, S);
    const int oh = dc_conv_out_h(s), ow = dc_conv_out_w(s);
    if (!fn || ow < 1)
        return false;
    const int halo = (K - 1) / S;
    const int wq = ow + halo;
    const bool flat = dw_use_flat(ow, wq);
    int band = (SC_STAGE_FLOATS - DC_SC_STAGE_SLACK) / (s->cin * S * S * wq) - halo;
    if (flat && band > SC_FLAT_FLOATS / SC_CB / wq - 2 * DW_VLEN / wq - 1)
        band = SC_FLAT_FLOATS / SC_CB / wq - 2 * DW_VLEN / wq - 1; /* >= 1 up to wq 240 */
    if (band < 1)
        return false;
    if (band > oh)
        band = oh;
    band = (oh + (oh + band - 1) / band - 1) / ((oh + band - 1) / band); /* even bands */
    const int hq = band + halo;
    const size_t plane = (size_t)hq * wq, cplane = (size_t)S * S * plane;
    const size_t plane_in = (size_t)s->h * s->w, oplane = (size_t)oh * ow;
    const size_t fstride = ((size_t)band * wq + 2 * DW_VLEN - 1) / (2 * DW_VLEN) * (2 * DW_VLEN);

    float st[SC_STAGE_FLOATS] __attribute__((aligned(64)));
    float flat_buf[SC_FLAT_FLOATS] __attribute__((aligned(64)));
    _Static_assert(2 * DW_VLEN + 3 <= DC_SC_STAGE_SLACK, "flat mode's overreach");
    memset(st + (size_t)s->cin * cplane, 0, DC_SC_STAGE_SLACK * sizeof(float));
    sc_band b = { .st = st, .plane = plane, .cplane = cplane, .wq = wq, .ow = ow,
                  .cin = s->cin, .act = act, .oplane = oplane,
                  .w = weight + (size_t)co_begin * s->cin * K * K,
                  .bias = bias ? bias + co_begin : NULL,
                  .flat = flat ? flat_buf : NULL, .fstride = fstride };
    for (int oy0 = 0; oy0 < oh; oy0 += band) {
        b.rows = oh - oy0 < band ? oh - oy0 : band;
        for (int ci = 0; ci < s->cin; ci++) /* the rows this band reads */
            dw_stage(in + (size_t)ci * plane_in, s->h, s->w, S, s->pad_w, oy0 * S - s->pad_h,
                     b.rows + halo, wq, plane, st + (size_t)ci * cplane);
        b.out = out + (size_t)co_begin * oplane + (size_t)oy0 * ow;
        fn(&b, co_end - co_begin);
        if (!dw_act_in_registers(act))
            for (int co = co_begin; co < co_end; co++)
                dc_bias_act_row(out + (size_t)co * oplane + (size_t)oy0 * ow,
                                (size_t)b.rows * ow, 0.0f, act);
    }
    return true;
}
