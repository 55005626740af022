/*
 * winograd2.c — stride-1 3x3 convolution of one sample by Winograd F(2x2, 3x3) (Lavin &
 * Gray, CVPR 2016), for the convs where F(4x4, 3x3) (winograd.c) does not pay at small
 * batches: maps of 16x16 outputs or fewer with many channels, whose weights are too large
 * to stay in the caches from one pass to the next (resnet34's 256x256@14 and 512x512@7).
 *
 * Such a conv is bound by reading its weights, not by its multiplications: im2col + SGEMM
 * re-packs the 9 cin cout weights on every call and its GEMM has only 49 to 196 columns.
 * F(2x2, 3x3) computes each 2x2 output tile from the 4x4 input patch d around it:
 *
 *   Y = A^T [ sum_ci (G g G^T) .* (B^T d B) ] A
 *
 *         | 1  0 -1  0 |        |  1    0    0  |
 *   B^T = | 0  1  1  0 |    G = | 1/2  1/2  1/2 |    A^T = | 1  1  1  0 |
 *         | 0 -1  1  0 |        | 1/2 -1/2  1/2 |          | 0  1 -1 -1 |
 *         | 0  1  0 -1 |        |  0    0    1  |
 *
 * 16 multiplies per tile and channel pair instead of 36 (2.25x fewer), with transformed
 * weights U = G g G^T only 16/9 the size of the weights (F(4x4) needs 4x), and transforms
 * of additions only (B and A hold 0 and +-1: no rounding beyond the sums').
 *
 * The 16 products M[p] = U[p] (cout x cin) V[p] (cin x tiles) run on our own kernel
 * (kernels/gemm_packed.c), not SGEMM: U is packed once at load in the order that kernel
 * reads it, so every pass streams it from memory exactly once, nothing re-packed:
 *
 *   u [16 positions p][cout / R blocks][cin][R rows]      (rows past cout are zero)
 *
 * (position p, block b is packed block p * blocks + b of dc_gemm_packed_block, so that
 * the blocks of one position, which run one after the other, lie back to back). V,
 * [16][cin][tiles rounded up to 16], is made once per call and read from L2; the products
 * run position by position over a group of blocks (group_blocks), and the output
 * transform of the group's rows follows while its M (256 KiB at most) is in L2.
 */
#include "kernels.h"

#include <stdlib.h>
#include <string.h>

#include "epilogue.h"

enum { W2_POS = 16, W2_LANES = DC_PACKED_LANES, W2_MAX_VECS = 4 };

static int half_up(int n)
{
    return (n + 1) / 2;
}

bool dc_winograd2_applies(const dc_conv_shape *s)
{
    return s->kh == 3 && s->kw == 3 && s->stride_h == 1 && s->stride_w == 1 &&
           s->groups == 1 && s->pad_h >= 0 && s->pad_h <= 2 && s->pad_w >= 0 &&
           s->pad_w <= 2 && s->cin > 0 && s->cout > 0 && dc_conv_out_h(s) > 0 &&
           dc_conv_out_w(s) > 0 && dc_winograd2_tiles(s) <= W2_LANES * W2_MAX_VECS;
}

bool dc_winograd2_pays(const dc_conv_shape *s, int batch)
{
    const char *env = getenv("DC_WINOGRAD2"); /* measuring: 0 off, 1 on */
    if (env && *env == '0')
        return false;
    if (!dc_winograd2_applies(s) || s->cin < 16)
        return false;
    if (batch < DC_WINOGRAD_BATCH)
        return dc_winograd2_tiles(s) >= 16;
    /* in a batch, blocks of samples make the products wide; what F(4x4) leaves (maps
     * whose tiles average fewer than 8 pixels: 2x2 maps) pays where a tile covers 3 or
     * more of its 4 pixels: 16 products against 9 per pixel */
    return dc_conv_out_h(s) * dc_conv_out_w(s) >= 3 * dc_winograd2_tiles(s);
}

int dc_winograd2_samples(const dc_conv_shape *s, int batch)
{
    if (batch < DC_WINOGRAD_BATCH)
        return 1;
    const int fit = W2_LANES * W2_MAX_VECS / dc_winograd2_tiles(s);
    return fit < 1 ? 1 : fit < batch ? fit : batch;
}

int dc_winograd2_tiles(const dc_conv_shape *s)
{
    return half_up(dc_conv_out_h(s)) * half_up(dc_conv_out_w(s));
}

/* Columns of one product: the tiles of `samples` samples, sample by sample. */
static int columns(const dc_conv_shape *s, int samples)
{
    return dc_winograd2_tiles(s) * samples;
}

/* Vectors of 16 columns the kernel keeps per output row. */
static int vectors(const dc_conv_shape *s, int samples)
{
    return (columns(s, samples) + W2_LANES - 1) / W2_LANES;
}

int dc_winograd2_rows(const dc_conv_shape *s, int samples)
{
    return dc_packed_rows(columns(s, samples));
}

static int blocks(const dc_conv_shape *s, int samples)
{
    const int r = dc_winograd2_rows(s, samples);
    return (s->cout + r - 1) / r;
}

size_t dc_winograd2_weight_floats(const dc_conv_shape *s, int samples)
{
    return (size_t)blocks(s, samples) * dc_winograd2_rows(s, samples) * W2_POS *
           (size_t)s->cin;
}

/* G of F(2x2, 3x3), rows 0..3 (see the comment at the top). */
static const double w2_g[4][3] = {
    { 1.0, 0.0, 0.0 },
    { 0.5, 0.5, 0.5 },
    { 0.5, -0.5, 0.5 },
    { 0.0, 0.0, 1.0 },
};

void dc_winograd2_pack_weights(const dc_conv_shape *s, int samples, const float *weight,
                                float *u)
{
    const int rows = dc_winograd2_rows(s, samples), nblk = blocks(s, samples);
    memset(u, 0, dc_winograd2_weight_floats(s, samples) * sizeof(float));
    for (int co = 0; co < s->cout; co++) {
        /* position p of this row's block: packed block p * nblk + co / rows */
        float *blk = u + (size_t)(co / rows) * rows * s->cin;
        const size_t p_stride = (size_t)nblk * rows * s->cin;
        for (int ci = 0; ci < s->cin; ci++) {
            const float *g = weight + ((size_t)co * s->cin + ci) * 9;
            double gt[4][3]; /* G g */
            for (int i = 0; i < 4; i++)
                for (int c = 0; c < 3; c++)
                    gt[i][c] = w2_g[i][0] * g[c] + w2_g[i][1] * g[3 + c] +
                               w2_g[i][2] * g[6 + c];
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++) {
                    double v = gt[i][0] * w2_g[j][0] + gt[i][1] * w2_g[j][1] +
                               gt[i][2] * w2_g[j][2]; /* (G g G^T)[i][j] */
                    blk[(size_t)(i * 4 + j) * p_stride + (size_t)ci * rows + co % rows] =
                        (float)v;
                }
        }
    }
}

/* Columns per V row: the columns rounded up to whole vectors. */
static size_t tile_stride(const dc_conv_shape *s, int samples)
{
    return (size_t)vectors(s, samples) * W2_LANES;
}

/* The distance between two positions' planes of V ([16][cin][tp]) or of M ([16][rows][tp]):
 * the plane in whole cache lines, an odd number of them. Whole planes are often a multiple
 * of 4 KiB (384 channels x 16 tiles x 4 bytes = 24 KiB), and then the 16 positions a
 * transform writes or reads together fall into the same set of the L1 cache, more of them
 * than it has ways: the input transform of a 384x8x8 conv took 0.16 ms, 0.07 with 385
 * channels. An odd number of lines apart, they fall into 16 different sets. */
static size_t skewed_plane(size_t floats)
{
    const size_t lines = (floats + 15) / 16;
    return (lines | 1) * 16;
}

static size_t v_plane(const dc_conv_shape *s, int samples)
{
    return skewed_plane((size_t)s->cin * tile_stride(s, samples));
}

static size_t m_plane(size_t rows, size_t tp)
{
    return skewed_plane(rows * tp);
}

/* Floats of the zero-padded input plane and the column transforms of one tile row (see
 * input_transform). */
static size_t row_scratch_floats(const dc_conv_shape *s)
{
    const size_t wp = 2 * (size_t)half_up(dc_conv_out_w(s)) + 2;
    const size_t hp = 2 * (size_t)half_up(dc_conv_out_h(s)) + 2;
    return (hp + 4) * wp;
}

/* Bytes of M a group of blocks may take (group_blocks). */
#define W2_M_BYTES (256 * 1024)

/* Blocks of output rows whose products run together, position by position: each V[p]
 * (cin x tp floats: 128 KiB at 512 channels and 64 columns) is then read once per group,
 * not once per block. Block by block, the 16 V[p] together (2 MiB there) did not stay in
 * L2 and streamed from memory for every block of R rows (vgg11_bn at batch 64, one
 * thread: its two 512x2x2 convs 0.244-0.251 -> 0.201-0.225 ms per image, with U packed
 * position-major so that a group's blocks stream back to back). M of a group:
 * W2_M_BYTES. */
static int group_blocks(const dc_conv_shape *s, int samples)
{
    const size_t per_block = (size_t)W2_POS * dc_winograd2_rows(s, samples) *
                             tile_stride(s, samples) * sizeof(float);
    const size_t g = W2_M_BYTES / per_block;
    return g < 1 ? 1 : (int)g;
}

size_t dc_winograd2_workspace_floats(const dc_conv_shape *s, int samples)
{
    const size_t tp = tile_stride(s, samples);
    const size_t group_rows = (size_t)group_blocks(s, samples) * dc_winograd2_rows(s, samples);
    return (size_t)W2_POS * v_plane(s, samples)                /* V */
           + (size_t)W2_POS * m_plane(group_rows, tp)          /* M of one group of blocks */
           + 4 * tp                                            /* Y of one channel */
           + row_scratch_floats(s);
}

/* V[p][ci][q] = (B^T d B)[p / 4][p % 4] for every input channel, for the tiles of n
 * samples (column q = sample * tiles + ty * tiles_x + tx); the columns past the last are
 * zero. One tile row at a time: its 4 input rows (zero-padded, column c = input column
 * c - pad_w) are combined down the columns (B^T d), then across them in steps of 2 (. B). */
/* input_transform for maps of one tile (2x2 outputs or fewer: VGG's last convs in a
 * batch): the 4x4 patch read straight from the plane, V's 16 values computed at once. The
 * general loop's row buffers cost more than the arithmetic here. Same sums, same bits. */
static void input_transform_one_tile(const dc_conv_shape *s, int samples, int n,
                                     const float *in, float *v, int ci_begin, int ci_end)
{
    const size_t tp = tile_stride(s, samples), in_plane = (size_t)s->h * s->w;
    const size_t p_stride = v_plane(s, samples); /* from V[p] to V[p + 1] */
    for (int ci = ci_begin; ci < ci_end; ci++) {
        float *vc = v + (size_t)ci * tp;
        for (int sm = 0; sm < n; sm++) {
            const float *plane = in + ((size_t)sm * s->cin + ci) * in_plane;
            float d[4][4];
            for (int k = 0; k < 4; k++)
                for (int c = 0; c < 4; c++) {
                    const int iy = k - s->pad_h, ix = c - s->pad_w;
                    d[k][c] = iy >= 0 && iy < s->h && ix >= 0 && ix < s->w
                                  ? plane[(size_t)iy * s->w + ix] : 0.0f;
                }
            for (int c = 0; c < 4; c++) { /* B^T d, down the columns */
                const float t0 = d[0][c] - d[2][c], t1 = d[1][c] + d[2][c];
                const float t2 = d[2][c] - d[1][c], t3 = d[1][c] - d[3][c];
                d[0][c] = t0, d[1][c] = t1, d[2][c] = t2, d[3][c] = t3;
            }
            for (int i = 0; i < 4; i++) { /* (B^T d) B, across */
                float *vi = vc + (size_t)(i * 4) * p_stride + sm;
                vi[0] = d[i][0] - d[i][2];
                vi[p_stride] = d[i][1] + d[i][2];
                vi[2 * p_stride] = d[i][2] - d[i][1];
                vi[3 * p_stride] = d[i][1] - d[i][3];
            }
        }
        for (int p = 0; p < W2_POS; p++) /* the padding columns */
            memset(vc + (size_t)p * p_stride + n, 0, (tp - (size_t)n) * sizeof(float));
    }
}

static void input_transform(const dc_conv_shape *s, int samples, int n, const float *in,
                            float *v, float *scratch, int ci_begin, int ci_end)
{
    if (dc_winograd2_tiles(s) == 1) {
        input_transform_one_tile(s, samples, n, in, v, ci_begin, ci_end);
        return;
    }
    const int tiles_x = half_up(dc_conv_out_w(s)), tiles_y = half_up(dc_conv_out_h(s));
    const size_t tp = tile_stride(s, samples), wp = 2 * (size_t)tiles_x + 2;
    const size_t hp = 2 * (size_t)tiles_y + 2, in_plane = (size_t)s->h * s->w;
    const size_t vp = v_plane(s, samples);
    /* the plane padded with zeros, its border (and whatever of it lies past the input)
     * zeroed once: each channel only overwrites the input's own rectangle, rows
     * [pad_h, pad_h + ch), columns [pad_w, pad_w + cw). Built once a channel, where the
     * first version zeroed and copied four rows for every tile row: the row buffers'
     * library calls cost more than the arithmetic (resnet18's 512x7x7 convs: 0.17 ms of
     * the transform a call) */
    float *pad = scratch, *t[4];
    for (int k = 0; k < 4; k++)
        t[k] = scratch + (hp + (size_t)k) * wp;
    memset(pad, 0, hp * wp * sizeof(float));
    const int ch = s->h < (int)hp - s->pad_h ? s->h : (int)hp - s->pad_h;
    const int cw = s->w < (int)wp - s->pad_w ? s->w : (int)wp - s->pad_w;
    const int tiles = tiles_x * tiles_y;
    for (int ci = ci_begin; ci < ci_end; ci++)
        for (int sm = 0; sm < n; sm++) {
            const float *plane = in + ((size_t)sm * s->cin + ci) * in_plane;
            for (int y = 0; y < ch; y++) {
                float *restrict dst = pad + (size_t)(y + s->pad_h) * wp + s->pad_w;
                const float *restrict src = plane + (size_t)y * s->w;
                for (int x = 0; x < cw; x++)
                    dst[x] = src[x];
            }
            for (int ty = 0; ty < tiles_y; ty++) {
                const float *restrict r0 = pad + (size_t)(2 * ty) * wp;
                const float *restrict r1 = r0 + wp, *restrict r2 = r1 + wp;
                const float *restrict r3 = r2 + wp;
                float *restrict t0 = t[0], *restrict t1 = t[1];
                float *restrict t2 = t[2], *restrict t3 = t[3];
                for (size_t c = 0; c < wp; c++) { /* B^T d, down the columns */
                    t0[c] = r0[c] - r2[c];
                    t1[c] = r1[c] + r2[c];
                    t2[c] = r2[c] - r1[c];
                    t3[c] = r1[c] - r3[c];
                }
                for (int i = 0; i < 4; i++) { /* (B^T d) B, across: tile tx at column 2 tx */
                    const float *restrict ti = t[i];
                    float *restrict v0 = v + (size_t)(i * 4) * vp + (size_t)ci * tp +
                                         (size_t)sm * tiles + (size_t)ty * tiles_x;
                    float *restrict v1 = v0 + vp, *restrict v2 = v1 + vp;
                    float *restrict v3 = v2 + vp;
                    for (int tx = 0; tx < tiles_x; tx++) {
                        const float d0 = ti[2 * tx], d1 = ti[2 * tx + 1];
                        const float d2 = ti[2 * tx + 2], d3 = ti[2 * tx + 3];
                        v0[tx] = d0 - d2;
                        v1[tx] = d1 + d2;
                        v2[tx] = d2 - d1;
                        v3[tx] = d1 - d3;
                    }
                }
            }
        }
    const size_t used = (size_t)n * tiles;
    for (int ci = ci_begin; ci < ci_end && used < tp; ci++)
        for (int p = 0; p < W2_POS; p++) /* the padding columns */
            memset(v + (size_t)p * vp + (size_t)ci * tp + used, 0, (tp - used) * sizeof(float));
}

/* The 16 products of blocks [b0, b1) over the columns of n samples, position by position
 * (group_blocks): m [16][(b1 - b0) R][tp], M[p] = U[p] V[p] (kernels/gemm_packed.c). */
static void group_products(const dc_conv_shape *s, int samples, int n, const float *u, int b0,
                           int b1, const float *v, float *m)
{
    const int R = dc_winograd2_rows(s, samples), cols = columns(s, n);
    const size_t tp = tile_stride(s, samples), vp = v_plane(s, samples);
    const size_t rows = (size_t)(b1 - b0) * R, mp = m_plane(rows, tp);
    const int nblk = blocks(s, samples);
    for (int p = 0; p < W2_POS; p++)
        for (int b = b0; b < b1; b++)
            dc_gemm_packed_block(R, p * nblk + b, s->cin, cols, u, v + (size_t)p * vp, tp,
                                 m + (size_t)p * mp + (size_t)(b - b0) * R * tp, tp);
}

/* Y = A^T M A for `tiles` tiles, M's 16 positions at mp[p][t]: the four values of each
 * 2x2 output tile into y00, y01, y10, y11 (row-major within the tile). The outputs are
 * restrict, so that the loop over the tiles runs in vectors (with M's 16 planes behind
 * pointers it otherwise ran one tile at a time). */
static void tiles_a_transform(int tiles, const float *const mp[W2_POS], float *restrict y00,
                              float *restrict y01, float *restrict y10, float *restrict y11)
{
    for (int t = 0; t < tiles; t++) {
        float s0[4], s1[4]; /* A^T M: rows (1 1 1 0) and (0 1 -1 -1) */
        for (int j = 0; j < 4; j++) {
            s0[j] = mp[j][t] + mp[4 + j][t] + mp[8 + j][t];
            s1[j] = mp[4 + j][t] - mp[8 + j][t] - mp[12 + j][t];
        }
        y00[t] = s0[0] + s0[1] + s0[2]; /* (A^T M) A */
        y01[t] = s0[1] - s0[2] - s0[3];
        y10[t] = s1[0] + s1[1] + s1[2];
        y11[t] = s1[1] - s1[2] - s1[3];
    }
}

/* Output channel co of one sample from row r of a group's products m [16][rows][tp] (the
 * sample's tiles from column col0): Y = A^T M A for every tile, then the 2x2 tiles written
 * into out_plane (clipped at the edges), + residual, + bias, act. */
static void output_transform(const dc_conv_shape *s, int samples, const float *m, int rows,
                             int r, int col0, float bias, const float *res_plane, dc_act act,
                             float *out_plane, float *y)
{
    if (dc_winograd2_tiles(s) == 1) { /* a map of one tile: no tile loops, no Y rows */
        const int oh = dc_conv_out_h(s), ow = dc_conv_out_w(s);
        const size_t tp = tile_stride(s, samples), p_stride = m_plane((size_t)rows, tp);
        const float *mp = m + (size_t)r * tp + col0;
        float s0[4], s1[4];
        for (int j = 0; j < 4; j++) {
            s0[j] = mp[j * p_stride] + mp[(4 + j) * p_stride] + mp[(8 + j) * p_stride];
            s1[j] = mp[(4 + j) * p_stride] - mp[(8 + j) * p_stride] -
                    mp[(12 + j) * p_stride];
        }
        const float yv[2][2] = { { s0[0] + s0[1] + s0[2], s0[1] - s0[2] - s0[3] },
                                 { s1[0] + s1[1] + s1[2], s1[1] - s1[2] - s1[3] } };
        for (int oy = 0; oy < oh; oy++) {
            float *row = out_plane + (size_t)oy * ow;
            for (int ox = 0; ox < ow; ox++)
                row[ox] = yv[oy][ox];
            if (res_plane)
                dc_bias_residual_act_row(row, res_plane + (size_t)oy * ow, (size_t)ow, bias,
                                         act);
            else
                dc_bias_act_row(row, (size_t)ow, bias, act);
        }
        return;
    }
    const int oh = dc_conv_out_h(s), ow = dc_conv_out_w(s);
    const int tiles_x = half_up(ow), tiles = tiles_x * half_up(oh);
    const size_t tp = tile_stride(s, samples);
    const float *mp[W2_POS];
    for (int p = 0; p < W2_POS; p++)
        mp[p] = m + (size_t)p * m_plane((size_t)rows, tp) + (size_t)r * tp + col0;
    float *y00 = y, *y01 = y + tp, *y10 = y + 2 * tp, *y11 = y + 3 * tp;
    tiles_a_transform(tiles, mp, y00, y01, y10, y11);
    for (int oy = 0; oy < oh; oy++) {
        const int ty = oy / 2;
        const float *ya = oy % 2 ? y10 : y00, *yb = oy % 2 ? y11 : y01;
        float *row = out_plane + (size_t)oy * ow;
        for (int ox = 0; ox < ow; ox++)
            row[ox] = (ox % 2 ? yb : ya)[ty * tiles_x + ox / 2];
        if (res_plane)
            dc_bias_residual_act_row(row, res_plane + (size_t)oy * ow, (size_t)ow, bias, act);
        else
            dc_bias_act_row(row, (size_t)ow, bias, act);
    }
}

size_t dc_winograd2_input_floats(const dc_conv_shape *s, int samples)
{
    return (size_t)W2_POS * v_plane(s, samples);
}

size_t dc_winograd2_input_scratch_floats(const dc_conv_shape *s)
{
    return row_scratch_floats(s);
}

void dc_winograd2_transform_input(const dc_conv_shape *s, int samples, int n,
                                  const float *in, int ci_begin, int ci_end, float *v,
                                  float *scratch)
{
    input_transform(s, samples, n, in, v, scratch, ci_begin, ci_end);
}

void dc_winograd2_conv2d_from_input(const dc_conv_shape *s, int samples, int n,
                                    const float *v, const float *u, const float *bias,
                                    const float *residual, dc_act act, float *out,
                                    int co_begin, int co_end, float *workspace)
{
    if (co_end <= co_begin || n <= 0)
        return;
    const int R = dc_winograd2_rows(s, samples), tiles = dc_winograd2_tiles(s);
    const size_t tp = tile_stride(s, samples);
    const size_t out_plane = (size_t)dc_conv_out_h(s) * dc_conv_out_w(s);
    const size_t out_sample = (size_t)s->cout * out_plane;
    const int G = group_blocks(s, samples), b_end = (co_end - 1) / R + 1;
    float *m = workspace;                                   /* [16][G R][tp] */
    float *y = m + (size_t)W2_POS * m_plane((size_t)G * R, tp); /* [4][tp] */
    for (int b0 = co_begin / R; b0 < b_end; b0 += G) {
        const int b1 = b0 + G < b_end ? b0 + G : b_end, rows = (b1 - b0) * R;
        group_products(s, samples, n, u, b0, b1, v, m);
        for (int r = 0; r < rows; r++) {
            const int co = b0 * R + r;
            if (co < co_begin || co >= co_end)
                continue;
            for (int sm = 0; sm < n; sm++) {
                const size_t at = sm * out_sample + (size_t)co * out_plane;
                output_transform(s, samples, m, rows, r, sm * tiles, bias ? bias[co] : 0.0f,
                                 residual ? residual + at : NULL, act, out + at, y);
            }
        }
    }
}

void dc_winograd2_conv2d(const dc_conv_shape *s, int samples, int n, const float *in,
                         const float *u, const float *bias, const float *residual, dc_act act,
                         float *out, int co_begin, int co_end, float *workspace)
{
    if (co_end <= co_begin || n <= 0)
        return;
    const size_t tp = tile_stride(s, samples);
    float *v = workspace;                                   /* [16][cin][tp] */
    float *rest = v + dc_winograd2_input_floats(s, samples); /* M, Y, then the rows */
    float *rows = rest +
                  (size_t)W2_POS *
                      m_plane((size_t)group_blocks(s, samples) * dc_winograd2_rows(s, samples),
                              tp) +
                  4 * tp;
    input_transform(s, samples, n, in, v, rows, 0, s->cin);
    dc_winograd2_conv2d_from_input(s, samples, n, v, u, bias, residual, act, out, co_begin,
                                   co_end, rest);
}
