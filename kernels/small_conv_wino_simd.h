/*
 * small_conv_wino_simd.h — one group of a grouped 3x3 stride-1 conv (ResNeXt, RegNet) by
 * Winograd F(4, 3) down the columns, written once for any vector width and included by
 * small_conv_avx512.c, small_conv_avx2.c and small_conv_neon.c after the vector macros
 * and SW_RANGE_FN, the entry point's name. small_conv_wino.c has the rule, the weight
 * transform and the plain C twin; docs/conv-as-gemm.md the reasons.
 *
 * The 3x3 kernel is split by column: output rows 4t .. 4t+3 of column x are, for each
 * kernel column kx, a 1-D conv of 3 taps down input column x + kx, and F(4, 3) computes
 * 4 outputs of such a conv from 6 inputs with 6 multiplications instead of 12:
 *
 *   V_j[x]  = (B^T d)_j         d = input rows 4t .. 4t+5 (padded) of one channel, j < 6
 *   U_j     = (G g)_j           g = kernel column kx of one channel (3 taps down)
 *   M_j[x]  = sum over input channels ci and kernel columns kx of U_j * V_j(ci)[x + kx]
 *   Y[x]    = A^T M[x]          output rows 4t .. 4t+3 at column x
 *
 * with the matrices of winograd_transform.c (points 0, 1, -1, 1/2, -2 and infinity). The
 * products are 6 * cin * 3 multiply-adds for 4 outputs where the direct loops of
 * small_conv_simd.h need 4 * cin * 9: half. Lanes run along the row, so a vector of M_j is
 * DW_VLEN adjacent columns and a vector of Y a piece of an output row, stored as it is.
 * V is made once per tile and input channel and serves every output channel; U is made
 * at load (dc_small_conv_wino_weights).
 */

enum {
    SW_T = 6,                    /* F(4, 3): inputs per tile down a column */
    SW_CB = 8,                   /* output channels per register block */
    SW_V_FLOATS = DC_SW_V_FLOATS /* transformed input rows of a band of tiles */
};

/* A band of tiles (4 output rows each) for a run of output channels. */
typedef struct {
    const float *v;     /* V: tile t, channel ci, point j is the row at
                           v + ((t * cin + ci) * SW_T + j) * wq, wq = ow + 2 columns */
    const float *u;     /* U of the block's first output channel (dc_small_conv_wino_weights:
                           input ci, column kx, point j at u[((ci * 3 + kx) * SW_T + j) * cs]) */
    size_t cs;          /* the conv's output channels: U's innermost stride */
    const float *bias;  /* of the block's first output channel, or NULL */
    int wq, ow, cin;
    int tiles;          /* tiles in the band */
    int rows;           /* output rows in the band (the last tile may have fewer than 4) */
    dc_act act;
    float *out;         /* block's first output channel, band's first row */
    size_t oplane;      /* floats between output channels */
} sw_band;

/* v[j * wq + x] = (B^T d)_j for d the 6 rows of wq floats at st (x < wq, wq >= DW_VLEN). */
DW_INLINE void sw_input_tile(const float *restrict st, int wq, float *restrict v)
{
    const dw_vec half = VSET1(0.5f), one_half = VSET1(1.5f), two = VSET1(2.0f),
                 two_half = VSET1(2.5f);
    for (int x = 0;; x += DW_VLEN) {
        if (x > wq - DW_VLEN)
            x = wq - DW_VLEN; /* the last vector ends at the row's end */
        const float *s = st + x;
        const dw_vec d0 = VLOAD(s), d1 = VLOAD(s + wq), d2 = VLOAD(s + 2 * wq),
                     d3 = VLOAD(s + 3 * wq), d4 = VLOAD(s + 4 * wq), d5 = VLOAD(s + 5 * wq);
        /* B^T rows: [1 -3/2 -2 3/2 1 0], [0 -1 1/2 5/2 1 0], [0 1 -5/2 1/2 1 0],
         * [0 -2 -1 2 1 0], [0 1/2 -1 -1/2 1 0], [0 1 -3/2 -2 3/2 1] */
        float *o = v + x;
        VSTORE(o, VSUB(VFMA(one_half, VSUB(d3, d1), VADD(d0, d4)), VMUL(two, d2)));
        VSTORE(o + wq, VFMA(two_half, d3, VFMA(half, d2, VSUB(d4, d1))));
        VSTORE(o + 2 * wq, VFMA(half, d3, VSUB(VADD(d1, d4), VMUL(two_half, d2))));
        VSTORE(o + 3 * wq, VSUB(VFMA(two, VSUB(d3, d1), d4), d2));
        VSTORE(o + 4 * wq, VSUB(VFMA(half, VSUB(d1, d3), d4), d2));
        VSTORE(o + 5 * wq, VSUB(VFMA(one_half, VSUB(d4, d2), VADD(d1, d5)), VMUL(two, d3)));
        if (x == wq - DW_VLEN)
            break;
    }
}

/* Tile t of the band, columns [c, c + NC * DW_VLEN) (a narrow row: its ow < DW_VLEN
 * columns, the lanes past them computed from the next rows' floats and not stored),
 * output channels [0, CB): the six M_j one after the other (the bias enters M_1, which
 * every output row takes once), then Y = A^T M. Each loaded vector of V meets CB
 * broadcast weights and each broadcast NC vectors, about 0.6 loads a multiply-add as in
 * the direct kernel. Keeping all six M_j in registers instead leaves room for less
 * reuse, and then this CPU's loads, not its FMA units, set the pace (measured on Zen 5:
 * 1.5x slower). */
DW_INLINE void sw_vectors(const sw_band *b, int t, int c, const int CB, const int NC,
                          const bool narrow)
{
    const size_t wq = (size_t)b->wq, cs = b->cs;
    const float *vt = b->v + (size_t)t * b->cin * SW_T * wq + c;
    dw_vec m[SW_T][SW_CB][2];
#pragma GCC unroll 6
    for (int j = 0; j < SW_T; j++) {
        dw_vec acc[SW_CB][2];
#pragma GCC unroll 8
        for (int o = 0; o < CB; o++) {
            const dw_vec init = VSET1(j == 1 && b->bias ? b->bias[o] : 0.0f);
            acc[o][0] = init;
            acc[o][1] = init;
        }
        for (int ci = 0; ci < b->cin; ci++) {
            const float *src = vt + (size_t)(ci * SW_T + j) * wq;
            const float *uc = b->u + (size_t)(ci * 3 * SW_T + j) * cs;
#pragma GCC unroll 3
            for (int kx = 0; kx < 3; kx++) {
                const float *uk = uc + (size_t)kx * SW_T * cs;
                dw_vec x0 = VLOAD(src + kx);
                dw_vec x1 = NC > 1 ? VLOAD(src + kx + DW_VLEN) : x0;
                VKEEP(x0);
                VKEEP(x1);
#pragma GCC unroll 8
                for (int o = 0; o < CB; o++) {
                    const dw_vec uv = VSET1(uk[o]);
                    acc[o][0] = VFMA(uv, x0, acc[o][0]);
                    if (NC > 1)
                        acc[o][1] = VFMA(uv, x1, acc[o][1]);
                }
            }
        }
#pragma GCC unroll 8
        for (int o = 0; o < CB; o++) {
            m[j][o][0] = acc[o][0];
            m[j][o][1] = acc[o][1];
        }
    }
    const int rows = b->rows - 4 * t < 4 ? b->rows - 4 * t : 4;
#pragma GCC unroll 8
    for (int o = 0; o < CB; o++) {
        dw_vec y[4][2];
#pragma GCC unroll 2
        for (int n = 0; n < NC; n++) {
            /* A^T rows: [1 1 1 1 1 0], [0 1 -1 1/2 -2 0], [0 1 1 1/4 4 0], [0 1 -1 1/8 -8 1] */
            const dw_vec sum12 = VADD(m[1][o][n], m[2][o][n]);
            const dw_vec dif12 = VSUB(m[1][o][n], m[2][o][n]);
            const dw_vec m3 = m[3][o][n], m4 = m[4][o][n];
            y[0][n] = VADD(VADD(m[0][o][n], sum12), VADD(m3, m4));
            y[1][n] = VFMA(VSET1(0.5f), m3, VFMA(VSET1(-2.0f), m4, dif12));
            y[2][n] = VFMA(VSET1(0.25f), m3, VFMA(VSET1(4.0f), m4, sum12));
            y[3][n] = VADD(VFMA(VSET1(0.125f), m3, VFMA(VSET1(-8.0f), m4, dif12)), m[5][o][n]);
        }
        /* row by row, so that the vectors fill the output in address order */
        float *out = b->out + o * b->oplane + (size_t)(4 * t) * b->ow + c;
#pragma GCC unroll 4
        for (int r = 0; r < rows; r++)
#pragma GCC unroll 2
            for (int n = 0; n < NC; n++)
                dw_store_first(out + (size_t)r * b->ow + n * DW_VLEN,
                               dw_act_vec(y[r][n], b->act), narrow ? b->ow : DW_VLEN);
    }
}

/* All tiles and columns of the band for CB output channels. */
DW_INLINE void sw_block(const sw_band *b, const int CB)
{
    if (b->ow < DW_VLEN) { /* a narrow row (14 columns with AVX-512): one masked vector */
        for (int t = 0; t < b->tiles; t++)
            sw_vectors(b, t, 0, CB, 1, true);
        return;
    }
    const int two = b->ow >= 2 * DW_VLEN;
    const int step = two ? 2 * DW_VLEN : DW_VLEN;
    const int last = b->ow - step;
    for (int t = 0; t < b->tiles; t++)
        for (int c = 0;; c += step) {
            if (c > last)
                c = last; /* the last vectors end at the row's end */
            if (two)
                sw_vectors(b, t, c, CB, 2, false);
            else
                sw_vectors(b, t, c, CB, 1, false);
            if (c == last)
                break;
        }
}

/* Output channels [0, n) of the band: blocks of SW_CB, then of SW_CB / 2, then one at a
 * time. */
DW_INLINE void sw_band_body(const sw_band *band, int n)
{
    sw_band b = *band;
    for (int o = 0; o < n;) {
        const int cb = n - o >= SW_CB ? SW_CB : n - o >= SW_CB / 2 ? SW_CB / 2 : 1;
        if (cb == SW_CB)
            sw_block(&b, SW_CB);
        else if (cb == SW_CB / 2)
            sw_block(&b, SW_CB / 2);
        else
            sw_block(&b, 1);
        b.u += cb;
        b.bias = b.bias ? b.bias + cb : NULL;
        b.out += (size_t)cb * b.oplane;
        o += cb;
    }
}

/* dc_small_conv_wino_range for the shapes of dc_sw_shape_fits on this vector width; false,
 * having written nothing, for others. */
DW_TARGET bool SW_RANGE_FN(const dc_conv_shape *s, const float *in, const float *u,
                           const float *bias, dc_act act, float *out, int co_begin,
                           int co_end)
{
    if (!dc_sw_shape_fits(s, DW_VLEN))
        return false;
    const int oh = dc_conv_out_h(s), ow = dc_conv_out_w(s), wq = ow + 2;
    const size_t per_tile = (size_t)s->cin * SW_T * wq;
    const int band_tiles = (int)(SW_V_FLOATS / per_tile);
    _Static_assert(DW_VLEN <= 16, "v's slack");
    const size_t plane_in = (size_t)s->h * s->w, oplane = (size_t)oh * ow;
    /* a narrow row's loads run up to 2 floats past the last row of V (DW_VLEN > ow) */
    float v[SW_V_FLOATS + 16] __attribute__((aligned(64)));
    float st[SW_V_FLOATS] __attribute__((aligned(64))); /* 6 staged rows of one channel */
    sw_band b = { .v = v, .u = u + co_begin, .cs = (size_t)s->cout,
                  .bias = bias ? bias + co_begin : NULL, .wq = wq, .ow = ow,
                  .cin = s->cin, .act = act, .oplane = oplane };
    for (int oy0 = 0; oy0 < oh; oy0 += 4 * band_tiles) {
        b.rows = oh - oy0 < 4 * band_tiles ? oh - oy0 : 4 * band_tiles;
        b.tiles = (b.rows + 3) / 4;
        for (int t = 0; t < b.tiles; t++)
            for (int ci = 0; ci < s->cin; ci++) {
                dw_stage(in + (size_t)ci * plane_in, s->h, s->w, 1, s->pad_w,
                         oy0 + 4 * t - s->pad_h, SW_T, wq, (size_t)SW_T * wq, st);
                sw_input_tile(st, wq, v + ((size_t)t * s->cin + ci) * SW_T * wq);
            }
        b.out = out + (size_t)co_begin * oplane + (size_t)oy0 * ow;
        sw_band_body(&b, co_end - co_begin);
        if (!dw_act_in_registers(act))
            for (int co = co_begin; co < co_end; co++)
                dc_bias_act_row(out + (size_t)co * oplane + (size_t)oy0 * ow,
                                (size_t)b.rows * ow, 0.0f, act);
    }
    return true;
}
