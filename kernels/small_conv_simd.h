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
 *
 * Stride-1 3x3 stems on AVX-512 take Winograd F(4, 3) down the columns instead (sc_wg_*
 * below): half the multiply-adds of the direct loops.
 */
#include "simd_common.h"

enum {
    SC_STAGE_FLOATS = DC_SC_STAGE_FLOATS, /* staged input per band, all input channels */
    SC_CB = 8                /* output channels per register block */
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
} sc_band;

/* Output row y of the band, columns [c, c + NC*DW_VLEN), output channels [0, CB). */
DW_INLINE void sc_vectors(const sc_band *b, int y, int c, const int K, const int S,
                          const int CB, const int NC)
{
    const size_t plane = b->plane, wq = (size_t)b->wq, taps = (size_t)K * K;
    const size_t wstride = (size_t)b->cin * taps;
    dw_vec acc[SC_CB][2];
#pragma GCC unroll 8
    for (int j = 0; j < CB; j++) {
        const dw_vec bj = VSET1(b->bias ? b->bias[j] : 0.0f);
        acc[j][0] = bj;
        acc[j][1] = bj;
    }
    for (int ci = 0; ci < b->cin; ci++) {
        const float *pc = b->st + (size_t)ci * b->cplane + (size_t)y * wq + c;
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
    float *o = b->out + (size_t)y * b->ow + c;
#pragma GCC unroll 8
    for (int j = 0; j < CB; j++) {
        VSTORE(o + j * b->oplane, dw_act_vec(acc[j][0], b->act));
        if (NC > 1)
            VSTORE(o + j * b->oplane + DW_VLEN, dw_act_vec(acc[j][1], b->act));
    }
}

/* All rows and columns of the band for CB output channels. */
DW_INLINE void sc_block(const sc_band *b, const int K, const int S, const int CB)
{
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

/* Output channels [0, n) of the band: blocks of SC_CB, then one at a time. */
DW_INLINE void sc_band_body(const sc_band *band, int n, const int K, const int S)
{
    sc_band b = *band;
    const size_t wstride = (size_t)b.cin * K * K;
    int j = 0;
    for (; j + SC_CB <= n; j += SC_CB) {
        sc_block(&b, K, S, SC_CB);
        b.w += SC_CB * wstride;
        b.bias = b.bias ? b.bias + SC_CB : NULL;
        b.out += SC_CB * b.oplane;
    }
    for (; j < n; j++) {
        sc_block(&b, K, S, 1);
        b.w += wstride;
        b.bias = b.bias ? b.bias + 1 : NULL;
        b.out += b.oplane;
    }
}

#if DW_VLEN == 16
/* ---- stride-1 3x3 stems: Winograd F(4, 3) down the columns ----------------------------
 *
 * Four output rows at a time: along y the three filter taps of column kj, g = w[ci][0..2][kj],
 * are applied to six staged input rows d by the 1-D minimal filtering algorithm F(4, 3)
 * (Lavin & Gray 2016, eq. 5; the points 0, 1, -1, 1/2, -2 of winograd_transform.c):
 *
 *   y[0..3] = A^T [ sum_{ci,kj} (G g)[i] * (B^T d_{ci,kj})[i] ]_{i < 6}
 *
 * and along x directly (d_{ci,kj} is read kj columns to the right). The lanes are output
 * columns, so the input rows, the sums and the outputs are plain row vectors: no tile
 * gathers or scatters. Per output vector and input channel 6 x 3 / 4 = 4.5 multiply-adds
 * instead of 9. Per band of four rows and NC column vectors: V = B^T d for every (ci, kj)
 * (sc_wg_input, reused by every output channel), then for CB output channels at a time the
 * 6 x CB x NC sums stay in registers over all (ci, kj) (sc_wg_vectors), the same register
 * budget as the direct loops. U = G g (dc_small_conv_transform_weights) is made at load,
 * or per call when the caller has none (a few microseconds, 10% of a 32x32 stem). The
 * bias enters as M[1], the only row of the sums that A^T adds with weight 1 to all four
 * outputs. Rounding differs from the direct loops (about 1e-6 of the outputs' scale) but
 * not between output-channel ranges. */
enum {
    SC_WG_COUT = 64, /* output channels per chunk of weights transformed per call */
    SC_WG_ROWS = 4   /* output rows per Winograd tile */
};

/* v[((ci * 3 + kj) * 6 + i) * NC * DW_VLEN + lane] = (B^T d)[i], d the staged rows r0 ..
 * r0 + 5 of input channel ci at column c + kj + lane (NC vectors of lanes). */
DW_INLINE void sc_wg_input(const sc_band *b, int r0, int c, const int NC, float *v)
{
    const size_t wq = (size_t)b->wq, vs = (size_t)NC * DW_VLEN;
    const dw_vec k05 = VSET1(0.5f), k15 = VSET1(1.5f), k2 = VSET1(2.0f), k25 = VSET1(2.5f);
    for (int ci = 0; ci < b->cin; ci++) {
        const float *p = b->st + (size_t)ci * b->cplane + (size_t)r0 * wq + c;
#pragma GCC unroll 3
        for (int kj = 0; kj < 3; kj++)
#pragma GCC unroll 2
            for (int n = 0; n < NC; n++) {
                const float *q = p + kj + n * DW_VLEN;
                const dw_vec x0 = VLOAD(q), x1 = VLOAD(q + wq), x2 = VLOAD(q + 2 * wq);
                const dw_vec x3 = VLOAD(q + 3 * wq), x4 = VLOAD(q + 4 * wq);
                const dw_vec x5 = VLOAD(q + 5 * wq);
                /* the rows of B^T (winograd_transform.c), regrouped */
                const dw_vec t31 = VSUB(x3, x1), t42 = VSUB(x4, x2);
                float *o = v + (size_t)((ci * 3 + kj) * 6) * vs + (size_t)n * DW_VLEN;
                VSTORE(o, VSUB(VFMA(k15, t31, VADD(x0, x4)), VMUL(k2, x2)));
                VSTORE(o + vs, VFMA(k25, x3, VFMA(k05, x2, VSUB(x4, x1))));
                VSTORE(o + 2 * vs, VFMA(k05, x3, VSUB(VADD(x4, x1), VMUL(k25, x2))));
                VSTORE(o + 3 * vs, VFMA(k2, t31, t42));
                VSTORE(o + 4 * vs, VSUB(t42, VMUL(k05, t31)));
                VSTORE(o + 5 * vs, VSUB(VFMA(k15, t42, VADD(x1, x5)), VMUL(k2, x3)));
            }
    }
}

/* Output rows r0 .. r0 + 3 of the band, columns [c, c + NC * DW_VLEN), output channels
 * [0, CB) whose transformed weights start at u (us floats from one (ci, kj, i) to the
 * next) and whose first output plane is out; ACT: b->act, or a constant for it. */
DW_INLINE void sc_wg_vectors(const sc_band *b, const float *v, const float *u, size_t us,
                             const float *bias, float *out, int r0, int c, const int CB,
                             const int NC, const dc_act ACT)
{
    const size_t vs = (size_t)NC * DW_VLEN;
    dw_vec m[6][4][2];
#pragma GCC unroll 6
    for (int i = 0; i < 6; i++)
#pragma GCC unroll 4
        for (int j = 0; j < CB; j++) {
            m[i][j][0] = VSET1(i == 1 && bias ? bias[j] : 0.0f);
            m[i][j][1] = m[i][j][0];
        }
    /* row i of the sums meets row i of V: i is written out (SC_WG_ROW) rather than a loop
     * index, so that GCC keeps m in registers (it does not for an index it unrolls late) */
#define SC_WG_ROW(i)                                                                        \
    do {                                                                                    \
        const dw_vec x0 = VLOAD(vk + (i) * vs);                                             \
        const dw_vec x1 = NC > 1 ? VLOAD(vk + (i) * vs + DW_VLEN) : x0;                     \
        for (int j = 0; j < CB; j++) {                                                      \
            const dw_vec uj = VSET1(uk[(size_t)(i) * us + j]);                               \
            m[i][j][0] = VFMA(uj, x0, m[i][j][0]);                                          \
            if (NC > 1)                                                                     \
                m[i][j][1] = VFMA(uj, x1, m[i][j][1]);                                      \
        }                                                                                   \
    } while (0)
    const int taps = b->cin * 3;
    for (int t = 0; t < taps; t++) { /* t = ci * 3 + kj */
        const float *vk = v + (size_t)t * 6 * vs, *uk = u + (size_t)t * 6 * us;
        SC_WG_ROW(0);
        SC_WG_ROW(1);
        SC_WG_ROW(2);
        SC_WG_ROW(3);
        SC_WG_ROW(4);
        SC_WG_ROW(5);
    }
#undef SC_WG_ROW
    const dw_vec k05 = VSET1(0.5f), k025 = VSET1(0.25f), k0125 = VSET1(0.125f);
    const dw_vec k2 = VSET1(2.0f), k4 = VSET1(4.0f), k8 = VSET1(8.0f);
    const size_t ow = (size_t)b->ow;
#pragma GCC unroll 4
    for (int j = 0; j < CB; j++)
#pragma GCC unroll 2
        for (int h = 0; h < NC; h++) {
            /* y = A^T m (winograd_transform.c, output_pass) */
            const dw_vec s12 = VADD(m[1][j][h], m[2][j][h]), d12 = VSUB(m[1][j][h], m[2][j][h]);
            const dw_vec m3 = m[3][j][h], m4 = m[4][j][h];
            const dw_vec y0 = VADD(VADD(m[0][j][h], s12), VADD(m3, m4));
            const dw_vec y1 = VSUB(VFMA(k05, m3, d12), VMUL(k2, m4));
            const dw_vec y2 = VFMA(k4, m4, VFMA(k025, m3, s12));
            const dw_vec y3 = VADD(VSUB(VFMA(k0125, m3, d12), VMUL(k8, m4)), m[5][j][h]);
            float *o = out + (size_t)j * b->oplane + (size_t)r0 * ow + c + h * DW_VLEN;
            VSTORE(o, dw_act_vec(y0, ACT));
            VSTORE(o + ow, dw_act_vec(y1, ACT));
            VSTORE(o + 2 * ow, dw_act_vec(y2, ACT));
            VSTORE(o + 3 * ow, dw_act_vec(y3, ACT));
        }
}

/* Every row of the band (rows >= 4; the last group of four shifted back to end at the
 * band's end) for n output channels whose transformed weights start at u (stride us, as
 * for sc_wg_vectors); v: scratch of cin * 36 vectors. */
DW_INLINE void sc_wg_band_body(const sc_band *b, const float *u, size_t us, int n, float *v,
                               const int NC, const dc_act ACT)
{
    const int CB = NC > 1 ? 2 : 4; /* 6 x CB x NC = 24 sums in registers */
    const int step = NC * DW_VLEN, last_c = b->ow - step, last_r = b->rows - SC_WG_ROWS;
    for (int r0 = 0;; r0 += SC_WG_ROWS) {
        if (r0 > last_r)
            r0 = last_r;
        for (int c = 0;; c += step) {
            if (c > last_c)
                c = last_c;
            sc_wg_input(b, r0, c, NC, v);
            /* the output rows of the next group: their lines fetched a group ahead (a
             * group writes every channel's plane; the hardware prefetcher follows only so
             * many streams) */
            const int r_next = r0 + SC_WG_ROWS > last_r ? -1 : r0 + SC_WG_ROWS;
            int j = 0;
            for (; j + CB <= n; j += CB) {
                if (r_next >= 0)
                    for (int jj = 0; jj < CB; jj++) {
                        const float *q = b->out + (size_t)(j + jj) * b->oplane +
                                         (size_t)r_next * b->ow + c;
                        for (int r = 0; r < SC_WG_ROWS; r++)
                            for (int h = 0; h < step; h += 16)
                                _mm_prefetch((const char *)(q + (size_t)r * b->ow + h),
                                             _MM_HINT_T1);
                    }
                sc_wg_vectors(b, v, u + j, us, b->bias ? b->bias + j : NULL,
                              b->out + (size_t)j * b->oplane, r0, c, CB, NC, ACT);
            }
            for (; j < n; j++)
                sc_wg_vectors(b, v, u + j, us, b->bias ? b->bias + j : NULL,
                              b->out + (size_t)j * b->oplane, r0, c, 1, NC, ACT);
            if (c == last_c)
                break;
        }
        if (r0 == last_r)
            break;
    }
}

/* The band in rows of one or two vectors. */
DW_INLINE void sc_wg_band_act(const sc_band *b, const float *u, size_t us, int n, float *v,
                              const dc_act ACT)
{
    if (b->ow >= 2 * DW_VLEN)
        sc_wg_band_body(b, u, us, n, v, 2, ACT);
    else
        sc_wg_band_body(b, u, us, n, v, 1, ACT);
}

/* The activation is made a constant for ReLU and none (the stems' own), so that it costs
 * no branch per vector. */
static DW_TARGET void sc_wg_band(const sc_band *b, const float *u, size_t us, int n,
                                 float *v)
{
    if (b->act == DC_ACT_RELU)
        sc_wg_band_act(b, u, us, n, v, DC_ACT_RELU);
    else if (b->act == DC_ACT_NONE)
        sc_wg_band_act(b, u, us, n, v, DC_ACT_NONE);
    else
        sc_wg_band_act(b, u, us, n, v, b->act);
}
#endif /* DW_VLEN == 16 */

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
 * fits the scratch; false for other shapes. wg_u: dc_small_conv_transform_weights's
 * output for s, or NULL. */
DW_TARGET bool SC_RANGE_FN(const dc_conv_shape *s, const float *in, const float *weight,
                           const float *wg_u, const float *bias, dc_act act, float *out,
                           int co_begin, int co_end)
{
    const int K = s->kh, S = s->stride_h;
    if (s->groups != 1 || s->kw != K || s->stride_w != S || s->pad_h < 0 || s->pad_w < 0)
        return false;
    const sc_band_fn fn = sc_pick(K, S);
    const int oh = dc_conv_out_h(s), ow = dc_conv_out_w(s);
    if (!fn || ow < DW_VLEN)
        return false;
    const int halo = (K - 1) / S;
    const int wq = ow + halo;
    int band = SC_STAGE_FLOATS / (s->cin * S * S * wq) - halo;
    if (band < 1)
        return false;
    if (band > oh)
        band = oh;
    const int hq = band + halo;
    const size_t plane = (size_t)hq * wq, cplane = (size_t)S * S * plane;
    const size_t plane_in = (size_t)s->h * s->w, oplane = (size_t)oh * ow;

    float st[SC_STAGE_FLOATS] __attribute__((aligned(64)));
    int chunk = co_end - co_begin;
#if DW_VLEN == 16
    /* Winograd F(4, 3): U from the caller, or made here SC_WG_COUT channels at a time */
    const bool winograd = dc_small_conv_weight_floats(s) > 0;
    float u_call[SC_WG_COUT * DC_SC_WG_CIN * 18] __attribute__((aligned(64)));
    float v[DC_SC_WG_CIN * 18 * 2 * DW_VLEN] __attribute__((aligned(64)));
    if (winograd && !wg_u && chunk > SC_WG_COUT)
        chunk = SC_WG_COUT;
#else
    (void)wg_u;
#endif
    sc_band b = { .st = st, .plane = plane, .cplane = cplane, .wq = wq, .ow = ow,
                  .cin = s->cin, .act = act, .oplane = oplane };
    for (int c0 = co_begin; c0 < co_end; c0 += chunk) {
        const int n = co_end - c0 < chunk ? co_end - c0 : chunk;
        b.w = weight + (size_t)c0 * s->cin * K * K;
        b.bias = bias ? bias + c0 : NULL;
#if DW_VLEN == 16
        const float *u = wg_u ? wg_u + c0 : u_call;
        const size_t us = wg_u ? (size_t)s->cout : (size_t)n;
        if (winograd && !wg_u)
            dc_sc_wg_weights(b.w, s->cin, n, u_call);
#endif
        for (int oy0 = 0; oy0 < oh; oy0 += band) {
            for (int ci = 0; ci < s->cin; ci++)
                dw_stage(in + (size_t)ci * plane_in, s->h, s->w, S, s->pad_w,
                         oy0 * S - s->pad_h, hq, wq, plane, st + (size_t)ci * cplane);
            b.rows = oh - oy0 < band ? oh - oy0 : band;
            b.out = out + (size_t)c0 * oplane + (size_t)oy0 * ow;
#if DW_VLEN == 16
            if (winograd && b.rows >= SC_WG_ROWS)
                sc_wg_band(&b, u, us, n, v);
            else
#endif
                fn(&b, n);
            if (!dw_act_in_registers(act))
                for (int co = c0; co < c0 + n; co++)
                    dc_bias_act_row(out + (size_t)co * oplane + (size_t)oy0 * ow,
                                    (size_t)b.rows * ow, 0.0f, act);
        }
    }
    return true;
}
