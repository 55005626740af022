/*
 * conv_packed.c — a conv on a small map (at most 256 output pixels: 16x16, 14x14, 7x7 in
 * the zoo) at small batches, as im2col + a GEMM on weights packed at load
 * (kernels/gemm_packed.c):
 *
 *   out[co][p] = act(bias[co] + sum_k W[co][k] col[k][p] + res[co][p]),  k = (ci, i, j)
 *
 * the same sum as dc_conv2d_tile, where SGEMM re-packs W (megabytes for resnet50's 1x1
 * convs on 7x7 maps) on every call for 49 to 196 columns. col is [k][pixels rounded up to
 * 16]: for a 1x1 stride-1 conv the input itself where the pixels are whole vectors
 * (4x4, 8x8, 16x16 maps), else a padded copy of it; for other convs im2col. Blocks of
 * output channels lying wholly in the range asked for are written straight into out
 * where its rows are whole vectors; the others go through a scratch block.
 *
 * Larger maps at batches under 8 go tile by tile of pixels whose columns fit L2
 * (dc_conv_packed_l2_tile): the 1x1 convs read in place on 32x32 maps and wider, and the
 * strided convs to maps of more than 256 pixels, each tile with its own im2col.
 */
#include "kernels.h"

#include <stdlib.h>
#include <string.h>

#include "epilogue.h"


static int pixels(const dc_conv_shape *s)
{
    return dc_conv_out_h(s) * dc_conv_out_w(s);
}

/* n columns rounded up to whole vectors: the row stride of a column matrix. */
static size_t whole_vectors(int n)
{
    return ((size_t)n + DC_PACKED_LANES - 1) / DC_PACKED_LANES * DC_PACKED_LANES;
}

/* The row stride of a conv's column matrix: whole vectors, but exactly the pixels for maps
 * of at most DC_PACKED_DOWN_ROWS_MAX_COLS (their product runs down the rows and reads no
 * padding: a 2x2 map's im2col is 4 floats a row, not 16, and its output rows are written
 * in place). */
static size_t padded(const dc_conv_shape *s)
{
    return pixels(s) <= DC_PACKED_DOWN_ROWS_MAX_COLS ? (size_t)pixels(s)
                                                     : whole_vectors(pixels(s));
}

/* Zeroes columns [n, ld) of rows [r0, r1) of a column matrix: the product reads whole
 * vectors of columns. */
static void zero_slack(float *col, int r0, int r1, size_t ld, int n)
{
    if (ld == (size_t)n)
        return;
    for (int j = r0; j < r1; j++)
        memset(col + (size_t)j * ld + n, 0, (ld - (size_t)n) * sizeof(float));
}

static int depth(const dc_conv_shape *s)
{
    return s->cin * s->kh * s->kw;
}

/* A 1x1 stride-1 conv whose pixels are whole vectors: its input is the GEMM's B as it
 * lies, and its output rows are whole rows of C. */
static bool pointwise_in_place(const dc_conv_shape *s)
{
    return dc_conv_is_pointwise(s) && (size_t)pixels(s) == whole_vectors(pixels(s));
}

/* A 1x1 conv read in place on a map wider than DC_CONV_PACKED_MAX_POINTWISE: packed at
 * batches under 8 only; whole when its input fits DC_CONV_PACKED_WIDE_POINTWISE_FLOATS,
 * else in tiles of pixels (dc_conv_packed_l2_tile). */
static bool wide_pointwise(const dc_conv_shape *s)
{
    return pointwise_in_place(s) && pixels(s) > DC_CONV_PACKED_MAX_POINTWISE;
}

/* A strided conv (im2col) on a map larger than DC_CONV_PACKED_MAX_PIXELS: its im2col
 * matrix is made and multiplied tile by tile of pixels (dc_conv_packed_l2_tile). */
static bool strided_tiled(const dc_conv_shape *s)
{
    return (s->stride_h > 1 || s->stride_w > 1) && pixels(s) > DC_CONV_PACKED_MAX_PIXELS;
}

int dc_conv_packed_l2_tile(const dc_conv_shape *s)
{
    const bool wide = wide_pointwise(s) &&
                      (size_t)depth(s) * pixels(s) > DC_CONV_PACKED_WIDE_POINTWISE_FLOATS;
    if (s->groups != 1 || (!wide && !strided_tiled(s)))
        return 0;
    /* at least one register block of columns (4 vectors): narrower, the kernel's blocks
     * of R rows x fewer vectors load more of A per multiply-add than the deeper tile
     * costs in L2 (inception_v3's 288 -> 384 stride-2 conv: depth 2592, 64 pixels in
     * 648 KiB) */
    const size_t budget = wide ? DC_CONV_PACKED_L2_TILE_FLOATS
                               : DC_CONV_PACKED_STRIDED_TILE_FLOATS; /* a tile's im2col */
    const size_t vectors = budget / ((size_t)depth(s) * DC_PACKED_LANES);
    return (int)(vectors > 4 ? vectors : 4) * DC_PACKED_LANES;
}

bool dc_conv_packed_applies(const dc_conv_shape *s)
{
    return s->groups == 1 && s->cin > 0 && s->cout > 0 && pixels(s) > 0 &&
           (pixels(s) <= DC_CONV_PACKED_MAX_PIXELS ||
            (pointwise_in_place(s) && pixels(s) <= DC_CONV_PACKED_MAX_POINTWISE) ||
            wide_pointwise(s) || strided_tiled(s));
}

bool dc_conv_packed_pays(const dc_conv_shape *s, int batch)
{
    const char *env = getenv("DC_PACKED"); /* measuring: 0 off */
    if (env && *env == '0')
        return false;
    /* A 1x1 stride-1 conv on whole vectors of pixels has no im2col to amortise: it pays
     * whatever the size of its weights (one thread, batch 1: mobilenetv2_x1_0 2.0 ->
     * 1.5 ms, shufflenetv2_x0_5 0.208 -> 0.197 ms; at 2 threads shufflenetv2_x2_0 2.2 ->
     * 2.0 ms). In batches too, sample by sample, while its input matrix stays in L2
     * (batch 64: mobilenetv2_x1_0 160 -> 111 ms at one thread, shufflenetv2_x0_5 20.0 ->
     * 14.8 ms); past that the one SGEMM over the batch wins (densenet121's 1x1 convs on
     * 28x28 maps from 320 input channels). */
    if (dc_conv_packed_applies(s) && s->cout >= 16 && pointwise_in_place(s) &&
        (batch < 8 || (!wide_pointwise(s) &&
                       (size_t)depth(s) * pixels(s) <= DC_CONV_PACKED_BATCH_POINTWISE_FLOATS)))
        return true;
    /* Other convs with large weights at small batches, the 4x4 maps too: since
     * gemm_packed.c prefetches its weights it streams them faster than the skinny GEMM
     * (gemm_skinny.c), which reads each row of W once per four columns (one thread, batch
     * 1, same build: vgg16_bn 8.4 -> 5.8 ms, vgg11_bn 4.6 -> 3.1 ms, repvgg_a0 5.6 -> 4.9
     * ms; batch 4: vgg16_bn 27.8 -> 24.6 ms; its 512x4x4 convs at 97-99% of their memory
     * roof, from 45%). Four columns or fewer (2x2 maps) the product runs down the rows
     * (gemm_packed.c, product_down_rows), A in one stream, at batch 1; from two samples
     * the skinny GEMM takes them as columns of one pass over W. */
    return dc_conv_packed_applies(s) && batch < 8 && depth(s) >= 64 && s->cout >= 16 &&
           (pixels(s) > DC_PACKED_DOWN_ROWS_MAX_COLS || batch == 1 || depth(s) < DC_SKINNY_MIN_K) &&
           (size_t)depth(s) * s->cout >= ((size_t)1 << 16);
}

int dc_conv_packed_rows(const dc_conv_shape *s)
{
    return dc_packed_rows(pixels(s));
}

size_t dc_conv_packed_weight_floats(const dc_conv_shape *s)
{
    return dc_packed_floats(s->cout, depth(s), dc_conv_packed_rows(s));
}

void dc_conv_pack_weights(const dc_conv_shape *s, const float *weight, float *packed)
{
    dc_pack_a(s->cout, depth(s), dc_conv_packed_rows(s), weight, depth(s), packed);
}

/* The im2col matrix (none for a conv read in place; a tile's for a strided one taken by
 * tiles), then the product's [R][ld] block. */
size_t dc_conv_packed_workspace_floats(const dc_conv_shape *s)
{
    const size_t copy = pointwise_in_place(s) ? 0 : (size_t)depth(s);
    const int tile = dc_conv_packed_l2_tile(s);
    const size_t width = tile > 0 && !pointwise_in_place(s) ? (size_t)tile : padded(s);
    return (copy + (size_t)dc_conv_packed_rows(s)) * width;
}

size_t dc_conv_packed_input_floats(const dc_conv_shape *s)
{
    return (size_t)depth(s) * padded(s);
}

void dc_conv_packed_make_input(const dc_conv_shape *s, const float *in, int r0, int r1,
                               float *col)
{
    dc_im2col_rows_ld(s, in, r0, r1, col, padded(s));
    zero_slack(col, r0, r1, padded(s), pixels(s));
}

/* Output channels [co_begin, co_end), output pixels [p0, p0 + n) of the product: b is the
 * first of the n columns of the [k][ld] matrix (ld a multiple of DC_PACKED_LANES, the
 * columns past n zero or the map's), out and residual rows of pixels(s) floats. */
static void product_columns(const dc_conv_shape *s, const float *b, size_t ld, int p0, int n,
                            const float *packed, const float *bias, const float *residual,
                            dc_act act, float *out, int co_begin, int co_end, float *acc)
{
    const int npix = pixels(s), k = depth(s), R = dc_conv_packed_rows(s);
    for (int blk = co_begin / R; blk * R < co_end; blk++) {
        /* a block of whole rows of out, all of them ours: the product writes them there */
        const bool direct = ld == (size_t)npix && blk * R >= co_begin &&
                            (blk + 1) * R <= co_end;
        float *c = direct ? out + (size_t)blk * R * npix + p0 : acc; /* [R][ld] */
        if (direct && dc_packed_act_fuses(act)) { /* the epilogue in registers */
            dc_gemm_packed_block_act(R, blk, k, n, packed, b, ld, c, ld,
                                     bias ? bias + (size_t)blk * R : NULL,
                                     residual ? residual + (size_t)blk * R * npix + p0 : NULL,
                                     ld, act);
            continue;
        }
        dc_gemm_packed_block(R, blk, k, n, packed, b, ld, c, ld);
        for (int r = 0; r < R; r++) {
            const int co = blk * R + r;
            if (co < co_begin || co >= co_end)
                continue;
            float *row = out + (size_t)co * npix + p0;
            if (!direct)
                memcpy(row, acc + (size_t)r * ld, (size_t)n * sizeof(float));
            const float bv = bias ? bias[co] : 0.0f;
            if (residual)
                dc_bias_residual_act_row(row, residual + (size_t)co * npix + p0, (size_t)n,
                                         bv, act);
            else
                dc_bias_act_row(row, (size_t)n, bv, act);
        }
    }
}

void dc_conv_packed_from_input(const dc_conv_shape *s, const float *col, const float *packed,
                               const float *bias, const float *residual, dc_act act,
                               float *out, int co_begin, int co_end, float *workspace)
{
    product_columns(s, col, padded(s), 0, pixels(s), packed, bias, residual, act, out,
                    co_begin, co_end, workspace);
}

bool dc_conv_packed_in_place(const dc_conv_shape *s)
{
    return pointwise_in_place(s);
}

void dc_conv_packed_columns(const dc_conv_shape *s, const float *in, const float *packed,
                            const float *bias, const float *residual, dc_act act, float *out,
                            int co_begin, int co_end, int p0, int p1, float *workspace)
{
    if (co_end <= co_begin || p1 <= p0)
        return;
    if (pointwise_in_place(s)) { /* the input is the matrix */
        product_columns(s, in + p0, padded(s), p0, p1 - p0, packed, bias, residual, act, out,
                        co_begin, co_end, workspace);
        return;
    }
    /* the tile's own im2col: [k][ld], its columns past p1 - p0 zero */
    const int n = p1 - p0, k = depth(s);
    const size_t ld = whole_vectors(n);
    float *col = workspace;
    dc_im2col_ld(s, in, p0, p1, col, ld);
    zero_slack(col, 0, k, ld, n);
    product_columns(s, col, ld, p0, n, packed, bias, residual, act, out, co_begin, co_end,
                    col + (size_t)k * ld);
}

void dc_conv_packed(const dc_conv_shape *s, const float *in, const float *packed,
                    const float *bias, const float *residual, dc_act act, float *out,
                    int co_begin, int co_end, float *workspace)
{
    if (co_end <= co_begin)
        return;
    float *col = workspace; /* [k][ld], then the product's [R][ld] */
    const int tile = dc_conv_packed_l2_tile(s);
    if (tile > 0 && !pointwise_in_place(s)) { /* a tile's im2col at a time */
        for (int p0 = 0; p0 < pixels(s); p0 += tile)
            dc_conv_packed_columns(s, in, packed, bias, residual, act, out, co_begin, co_end,
                                   p0, p0 + tile < pixels(s) ? p0 + tile : pixels(s),
                                   workspace);
        return;
    }
    if (pointwise_in_place(s)) { /* the input is the matrix */
        dc_conv_packed_from_input(s, in, packed, bias, residual, act, out, co_begin, co_end,
                                  workspace);
        return;
    }
    dc_conv_packed_make_input(s, in, 0, depth(s), col);
    dc_conv_packed_from_input(s, col, packed, bias, residual, act, out, co_begin, co_end,
                              col + dc_conv_packed_input_floats(s));
}
