/*
 * winograd.c — stride-1 3x3 convolution of one sample by Winograd F(4x4, 3x3)
 * (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", CVPR 2016), computing
 * what torch.nn.Conv2d(cin, cout, 3, stride=1, padding=(pad_h, pad_w)) computes:
 *
 *   out[co] = act(bias[co] + sum_ci in[ci] (*) weight[co][ci])     (cross-correlation)
 *
 * For every 4x4 output tile, the 6x6 input patch d (overlapping its neighbours by 2, zero
 * outside the image) and every 3x3 filter g:
 *
 *   Y = A^T [ sum_ci (G g G^T) .* (B^T d B) ] A                     (eq. 10 of the paper)
 *
 * Steps of dc_winograd_conv2d, for each block of at most `tb` tiles (sized so that the
 * block's V and M stay in L2):
 *   1. V[p][ci][t] = (B^T d B)[p]      wg_gather_patches, wg_input_transform
 *   2. M[p] = U[p] (cout x cin) x V[p] (cin x tb)    one cblas_sgemm for each p < 36
 *   3. out = act(A^T M A + bias), clipped to oh x ow  wg_output_transform, wg_scatter_tiles
 * (winograd_transform.c); the transforms run over chunks of about WG_SLOTS (channel, tile)
 * pairs so that their loops are long even when a map has few tiles.
 * U[p][co][ci] = (G g G^T)[p] is made once at load by dc_winograd_transform_weights.
 * Multiplies per tile and channel pair: 36 instead of 4 * 4 * 9 = 144. The interpolation
 * points are 0, 1, -1, 1/2, -2 (not the paper's 0, +-1, +-2): half the rounding error
 * (winograd_transform.c).
 */
#include "kernels.h"

#include <cblas.h>

#include "winograd_transform.h"

/* Bytes of V plus M one tile block may take: half of the 2 MiB L2 of the machine we
 * measured on (bench/winograd_bench.c), the rest left to the rows of U the GEMMs stream.
 * 0.5 and 2 MiB measured within noise of this. */
#ifndef WG_BLOCK_BYTES
#define WG_BLOCK_BYTES (1024 * 1024)
#endif
/* Fewer tiles per block than this make the 36 GEMMs too thin to run well. */
#define WG_BLOCK_MIN 32

static int tiles_along(int out_size)
{
    return (out_size + WG_M - 1) / WG_M;
}

bool dc_winograd_applies(const dc_conv_shape *s)
{
    return s->kh == 3 && s->kw == 3 && s->stride_h == 1 && s->stride_w == 1 &&
           s->groups == 1 && s->pad_h >= 0 && s->pad_h <= 2 && s->pad_w >= 0 &&
           s->pad_w <= 2 && s->cin > 0 && s->cout > 0 && dc_conv_out_h(s) > 0 &&
           dc_conv_out_w(s) > 0;
}

/*
 * The rule, from bench/winograd_bench (thread CPU time, medians of 11 alternating rounds,
 * two runs) on one core of the Xeon (Sapphire Rapids, 2 MiB L2) this was written on; speed-up
 * of Winograd over im2col + SGEMM on the zoo's stride-1 3x3 shapes:
 *   - cin = 3 (every first conv): 0.59 .. 0.93x, loses: the GEMMs have K = 3 and the
 *     transforms dominate. cin = 16 (resnet20 16x16@32) 1.58 .. 1.60x. Off the zoo, cin = 8
 *     is mixed (8x8@32 0.87x, 8x16@32 1.14x, 8x8@56 1.49x): the bound stays at 16;
 *   - a single tile (4x4 and 2x2 maps; vgg cifar 256->512@4, 512@4, 512@2): 0.49 .. 0.70x,
 *     loses: a GEMM with one column streams 4x the weights of im2col's (36 against 9 floats
 *     per cin x cout). (Off the zoo 32x32@4 gains 1.29x but 16x16@4 loses, 0.88x.)
 *   - 4 tiles (7x7, 8x8 maps): 1.16 .. 2.10x (512x512@7 1.16 .. 1.28x, 128->256@8
 *     1.16 .. 1.17x, 128->32@7 2.02 .. 2.04x);
 *   - 16 tiles and more: 1.47 .. 3.69x (256x256@14 1.80 .. 1.85x, 64x64@56 2.56 .. 2.59x,
 *     vgg16_bn 64x64@224 3.48 .. 3.69x).
 * So: cin >= 16 and at least 4 tiles (every such shape measured gains at least 1.05x).
 */
/* Inside a net the transformed weights U (4x the weights) stream from memory on every
 * pass, which the single-layer benchmark, with U hot in cache, does not show. Measured in
 * whole nets (dualcnn bench --profile, one thread): resnet18's 256x256@14 (16 tiles, U 9.4
 * MB) 1.97 ms against 1.75 by im2col, 512x512@7 3.9 against 2.7, repvgg_a2's 384x384@8 2.4
 * against 1.7; 128x128@28 (49 tiles) 1.16 against 1.65, 64x64@56 0.86 against 2.3. So on
 * maps of fewer than 49 tiles Winograd is used only when U is small (4 MiB or less, e.g.
 * resnet20's 64x64@8). */
#define WG_U_BYTES_SMALL_MAP (4u << 20)

bool dc_winograd_pays_in_batch(const dc_conv_shape *s, int batch)
{
    /* Batches of 8 or more run tile blocks that span samples (dc_winograd_conv2d_samples),
     * so U is read once per block of many samples, and the GEMMs are wide even where a
     * sample has one tile: a 4x4 map's single tile needs 36 products per channel pair
     * where im2col needs 144. A tile that covers fewer than 8 output pixels (2x2 and 1x1
     * maps) saves nothing: 36 products against at most 36. vgg16_bn at batch 64, 2
     * threads: 2.28 -> 2.10 ms per image with Winograd on its 256x256@8 convs (per
     * sample); the cross-sample blocks: docs/winograd.md. */
    if (batch >= DC_WINOGRAD_BATCH)
        return dc_winograd_applies(s) && s->cin >= 16 &&
               dc_conv_out_h(s) * dc_conv_out_w(s) >= 8 * dc_winograd_tiles(s);
    return dc_winograd_pays(s);
}

bool dc_winograd_pays(const dc_conv_shape *s)
{
    if (!dc_winograd_applies(s) || s->cin < 16 || dc_winograd_tiles(s) < 4)
        return false;
    return dc_winograd_tiles(s) >= 49 ||
           dc_winograd_weight_floats(s) * sizeof(float) <= WG_U_BYTES_SMALL_MAP;
}

size_t dc_winograd_weight_floats(const dc_conv_shape *s)
{
    return (size_t)WG_POS * (size_t)s->cout * (size_t)s->cin;
}

void dc_winograd_transform_weights(const dc_conv_shape *s, const float *weight, float *u)
{
    const size_t plane = (size_t)s->cout * (size_t)s->cin;
    for (int co = 0; co < s->cout; co++) {
        for (int ci = 0; ci < s->cin; ci++) {
            const float *g = weight + ((size_t)co * s->cin + ci) * 9;
            double gt[WG_T][3]; /* G g */
            for (int i = 0; i < WG_T; i++)
                for (int c = 0; c < 3; c++)
                    gt[i][c] = wg_g[i][0] * g[c] + wg_g[i][1] * g[3 + c] +
                               wg_g[i][2] * g[6 + c];
            for (int i = 0; i < WG_T; i++)
                for (int j = 0; j < WG_T; j++) {
                    double v = gt[i][0] * wg_g[j][0] + gt[i][1] * wg_g[j][1] +
                               gt[i][2] * wg_g[j][2]; /* (G g G^T)[i][j] */
                    u[(size_t)(i * WG_T + j) * plane + (size_t)co * s->cin + ci] = (float)v;
                }
        }
    }
}

int dc_winograd_tiles(const dc_conv_shape *s)
{
    return tiles_along(dc_conv_out_h(s)) * tiles_along(dc_conv_out_w(s));
}

/* Tiles per block: as many as keep V [36][cin][tb] and M [36][cout][tb] within
 * WG_BLOCK_BYTES, at least WG_BLOCK_MIN, a multiple of 16 (one AVX-512 vector). */
int dc_winograd_block_tiles(const dc_conv_shape *s)
{
    size_t per_tile = (size_t)WG_POS * ((size_t)s->cin + (size_t)s->cout) * sizeof(float);
    size_t tb = WG_BLOCK_BYTES / per_tile;
    tb -= tb % 16;
    return tb < WG_BLOCK_MIN ? WG_BLOCK_MIN : (int)tb;
}

static int block_for(const dc_conv_shape *s, int max_tiles)
{
    int tb = dc_winograd_block_tiles(s);
    if (max_tiles < tb)
        tb = max_tiles;
    return tb < 1 ? 1 : tb;
}

/* Tile slots (channel x tile pairs) one transform call works on: 36 planes of them, twice
 * (36 KiB), stay in L1. Blocks of more tiles are transformed in pieces of WG_SLOTS tiles.
 * resnet56 at batch 64 (blocks of 224 tiles), one thread: 1.60 ms per image with 256
 * slots, 1.52 with 128, 1.50 with 64 (one-channel chunks of 224 slots had been 64 KiB). */
#ifndef WG_SLOTS
#define WG_SLOTS 128
#endif

/* Slots per transform chunk for blocks of tb tiles: whole channels, at least one. */
static int chunk_channels(int tb, int channels)
{
    int g = WG_SLOTS / tb;
    g = g < 1 ? 1 : g;
    return g < channels ? g : channels;
}

static size_t transform_scratch_floats(int tb)
{
    size_t slots = (size_t)(WG_SLOTS > tb ? WG_SLOTS : tb);
    return 2 * (size_t)WG_POS * slots;
}

size_t dc_winograd_workspace_floats(const dc_conv_shape *s, int max_tiles)
{
    int tb = block_for(s, max_tiles);
    return (size_t)WG_POS * ((size_t)s->cin + (size_t)s->cout) * (size_t)tb +
           transform_scratch_floats(tb);
}

/* Tiles are numbered sample by sample: tile t of a batch is tile t % tiles of sample
 * t / tiles, row-major within the sample. A walk over the bands of tiles [t, end): each
 * band ends at the end of its tile row or at `end` (a tile row never spans two samples).
 * The geometry is set once per call; band_next advances without dividing. */
typedef struct {
    wg_band b;       /* the current band (b.n tiles from b.tx0 of tile row b.ty) */
    int sample;      /* the sample it lies in */
    int t, end;      /* its first tile; the walk's end */
    int tiles_x, tiles_y;
} band_walk;

static band_walk band_first(const dc_conv_shape *s, int t, int end)
{
    const int oh = dc_conv_out_h(s), ow = dc_conv_out_w(s);
    const int tiles_x = tiles_along(ow), tiles_y = tiles_along(oh), tiles = tiles_x * tiles_y;
    const int local = t % tiles;
    band_walk w = { { s->h, s->w, s->pad_h, s->pad_w, oh, ow, local / tiles_x,
                      local % tiles_x, 0 },
                    t / tiles, t, end, tiles_x, tiles_y };
    w.b.n = tiles_x - w.b.tx0 < end - t ? tiles_x - w.b.tx0 : end - t;
    return w;
}

/* Moves to the next band; false past the end. */
static bool band_next(band_walk *w)
{
    w->t += w->b.n;
    if (w->t >= w->end)
        return false;
    w->b.tx0 = 0; /* a band after the first starts a tile row */
    if (++w->b.ty == w->tiles_y) {
        w->b.ty = 0;
        w->sample++;
    }
    w->b.n = w->tiles_x < w->end - w->t ? w->tiles_x : w->end - w->t;
    return true;
}

/* The patches of one channel (its plane in sample 0 at `plane`, samples in_sample floats
 * apart) for the tiles of the walk, WG_TILE_LIST at a time, into d (stride nq). */
enum { WG_TILE_LIST = 64 };

static void gather_tile_list(const dc_conv_shape *s, band_walk w, const float *plane,
                             size_t in_sample, float *d, size_t nq)
{
    wg_tile list[WG_TILE_LIST];
    int n = 0, at = 0; /* tiles listed; the first one's slot */
    do
        for (int i = 0; i < w.b.n; i++) {
            list[n++] = (wg_tile){ plane + w.sample * in_sample, WG_M * w.b.ty - s->pad_h,
                                   WG_M * (w.b.tx0 + i) - s->pad_w };
            if (n == WG_TILE_LIST) {
                wg_gather_tiles(list, n, s->h, s->w, d + at, nq);
                at += n, n = 0;
            }
        }
    while (band_next(&w));
    if (n)
        wg_gather_tiles(list, n, s->h, s->w, d + at, nq);
}

/* Step 1 for tiles [t0, t0 + nb) of the batch at `in`: input channels [ci_begin, ci_end)
 * of v [36][cin][ldt] (v at the piece's first column), in chunks of whole channels. */
static void transform_piece_input(const dc_conv_shape *s, const float *in, int t0, int nb,
                                  size_t ldt, int ci_begin, int ci_end, float *v,
                                  float *scratch)
{
    /* channels share a transform chunk only where their slots lie back to back in V */
    const int group = (size_t)nb == ldt ? chunk_channels(nb, s->cin) : 1;
    const size_t in_plane = (size_t)s->h * s->w, in_sample = (size_t)s->cin * in_plane;
    const band_walk first = band_first(s, t0, t0 + nb);
    float *d = scratch;                                    /* [36][nq] patches */
    float *tmp = d + (size_t)WG_POS * group * nb;          /* [36][nq] */
    for (int c0 = ci_begin; c0 < ci_end; c0 += group) {
        const int g = ci_end - c0 < group ? ci_end - c0 : group;
        const size_t nq = (size_t)g * nb;
        if (first.tiles_x < 4) { /* bands shorter than gather_row's four: tile by tile */
            for (int c = 0; c < g; c++)
                gather_tile_list(s, first, in + (size_t)(c0 + c) * in_plane, in_sample,
                                 d + (size_t)c * nb, nq);
            wg_input_transform(d, (int)nq, v + (size_t)c0 * ldt, (size_t)s->cin * ldt, tmp);
            continue;
        }
        for (int c = 0; c < g; c++) {
            band_walk w = first;
            do
                wg_gather_patches(&w.b,
                                  in + w.sample * in_sample + (size_t)(c0 + c) * in_plane,
                                  d + (size_t)c * nb + (w.t - t0), nq);
            while (band_next(&w));
        }
        wg_input_transform(d, (int)nq, v + (size_t)c0 * ldt, (size_t)s->cin * ldt, tmp);
    }
}

/* Step 1 in pieces of at most WG_SLOTS tiles: a transform chunk (patches and a pass's
 * output, 2 x 36 planes of its slots) then stays in L1 however many tiles the block has
 * (a block of 224 tiles made one channel's chunk 64 KiB). */
static void transform_block_input(const dc_conv_shape *s, const float *in, int t0, int nb,
                                  int ci_begin, int ci_end, float *v, float *scratch)
{
    for (int a = 0; a < nb; a += WG_SLOTS) {
        const int len = nb - a < WG_SLOTS ? nb - a : WG_SLOTS;
        transform_piece_input(s, in, t0 + a, len, (size_t)nb, ci_begin, ci_end, v + a,
                              scratch);
    }
}

/* Output channels per SGEMM call. OpenBLAS packs both operands on every call; U is used by
 * only nb tiles per call, so on small maps packing it was most of the time (60% at 7x7,
 * perf). Calls of at most 32 rows go to OpenBLAS's unpacked "small matrix" kernels on this
 * machine (0.3.21, SkylakeX kernels). One thread, CPU time, medians of 7: 512x512@7 3.51 ->
 * 1.65 ms, 256x256@56 12.2 -> 9.0 ms, 256x256@14 1.12 -> 0.88 ms, 512x512@28 14.7 -> 12.9 ms;
 * slower only on small shapes, 128->256@8 0.23 -> 0.27 ms and 48x48@32 0.19 -> 0.20 ms.
 * 64 rows measured about the same as 32, 16 rows worse. */
#define WG_GEMM_ROWS 32

/* Step 2: m[p] = u[p][co_begin .. co_begin + ncout) x v[p], m [36][ncout][nb]. */
static void multiply_block(const dc_conv_shape *s, const float *u, const float *v, int nb,
                           int co_begin, int ncout, float *m)
{
    const size_t u_plane = (size_t)s->cout * s->cin;
    for (int p = 0; p < WG_POS; p++)
        for (int r0 = 0; r0 < ncout; r0 += WG_GEMM_ROWS) {
            const int rows = ncout - r0 < WG_GEMM_ROWS ? ncout - r0 : WG_GEMM_ROWS;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, nb, s->cin, 1.0f,
                        u + p * u_plane + (size_t)(co_begin + r0) * s->cin, s->cin,
                        v + (size_t)p * s->cin * nb, nb, 0.0f,
                        m + ((size_t)p * ncout + r0) * nb, nb);
        }
}

/* The tiles of the walk for output channel co (samples out_sample floats apart), from
 * slot 0 of y (stride nq), WG_TILE_LIST at a time. */
static void scatter_tile_list(band_walk w, float *out,
                              const float *residual, size_t out_sample, const float *y,
                              size_t nq, float bias, dc_act act)
{
    wg_tile list[WG_TILE_LIST];
    const float *res[WG_TILE_LIST];
    int n = 0, at = 0;
    do
        for (int i = 0; i < w.b.n; i++) {
            const size_t off = w.sample * out_sample;
            list[n] = (wg_tile){ out + off, WG_M * w.b.ty, WG_M * (w.b.tx0 + i) };
            res[n++] = residual ? residual + off : NULL;
            if (n == WG_TILE_LIST) {
                wg_scatter_tile_list(list, residual ? res : NULL, n, w.b.oh, w.b.ow, y + at,
                                     nq, bias, act);
                at += n, n = 0;
            }
        }
    while (band_next(&w));
    if (n)
        wg_scatter_tile_list(list, residual ? res : NULL, n, w.b.oh, w.b.ow, y + at, nq,
                             bias, act);
}

/* Step 3 for tiles [t0, t0 + nb) and channels [co_begin, co_begin + ncout), in chunks of
 * whole channels. */
static void transform_piece_output(const dc_conv_shape *s, const float *m, int t0, int nb,
                                   size_t ldt, int co_begin, int ncout, const float *bias,
                                   const float *residual, dc_act act, float *out,
                                   float *scratch)
{
    /* channels share a transform chunk only where their slots lie back to back in M */
    const int group = (size_t)nb == ldt ? chunk_channels(nb, ncout) : 1;
    const size_t out_plane = (size_t)dc_conv_out_h(s) * dc_conv_out_w(s);
    const size_t out_sample = (size_t)s->cout * out_plane;
    const band_walk first = band_first(s, t0, t0 + nb);
    float *y = scratch;                                    /* [16][nq] */
    float *tmp = y + (size_t)WG_POS * group * nb;          /* [24][nq] */
    for (int c0 = 0; c0 < ncout; c0 += group) {
        const int g = ncout - c0 < group ? ncout - c0 : group;
        const size_t nq = (size_t)g * nb;
        wg_output_transform(m + (size_t)c0 * ldt, (size_t)ncout * ldt, (int)nq, y, tmp);
        for (int c = 0; c < g; c++) {
            const int co = co_begin + c0 + c;
            if (first.tiles_x < 4) { /* short bands: four tiles at a time from a list */
                const size_t at = co * out_plane;
                scatter_tile_list(first, out + at, residual ? residual + at : NULL,
                                  out_sample, y + (size_t)c * nb, nq, bias ? bias[co] : 0.0f,
                                  act);
                continue;
            }
            band_walk w = first;
            do {
                const size_t at = w.sample * out_sample + co * out_plane;
                wg_scatter_tiles(&w.b, y + (size_t)c * nb + (w.t - t0), nq,
                                 bias ? bias[co] : 0.0f, residual ? residual + at : NULL, act,
                                 out + at);
            } while (band_next(&w));
        }
    }
}

/* Step 3 in pieces of at most WG_SLOTS tiles, as step 1. */
static void transform_block_output(const dc_conv_shape *s, const float *m, int t0, int nb,
                                   int co_begin, int ncout, const float *bias,
                                   const float *residual, dc_act act, float *out,
                                   float *scratch)
{
    for (int a = 0; a < nb; a += WG_SLOTS) {
        const int len = nb - a < WG_SLOTS ? nb - a : WG_SLOTS;
        transform_piece_output(s, m + a, t0 + a, len, (size_t)nb, co_begin, ncout, bias,
                               residual, act, out, scratch);
    }
}

void dc_winograd_conv2d(const dc_conv_shape *s, const float *in, const float *u,
                        const float *bias, dc_act act, float *out,
                        int tile_begin, int tile_end, int co_begin, int co_end,
                        float *workspace)
{
    dc_winograd_conv2d_samples(s, in, u, bias, NULL, act, out, tile_begin, tile_end,
                               co_begin, co_end, workspace);
}

void dc_winograd_conv2d_residual(const dc_conv_shape *s, const float *in, const float *u,
                                 const float *bias, const float *residual, dc_act act,
                                 float *out, int tile_begin, int tile_end, int co_begin,
                                 int co_end, float *workspace)
{
    dc_winograd_conv2d_samples(s, in, u, bias, residual, act, out, tile_begin, tile_end,
                               co_begin, co_end, workspace);
}

/* Step 2 on U packed for gemm_packed.c (dc_winograd_pack_u), output channels
 * [co_begin, co_begin + ncout) in whole blocks of `rows` (packed_fits): m[p] = U[p] v[p],
 * m [36][ncout][nb], for nb a multiple of 16 or at most dc_packed_max_cols(rows). The
 * kernel reads and writes whole vectors of 16 columns: past a row's nb columns it reads
 * the next row's (or, after the last, the workspace that follows) and writes into rows it
 * stores after it (or the scratch that follows m), and the last block's rows past cout
 * land in the next position's rows, stored after them: the padding is never used and
 * nothing is lost. (With more columns than one register block takes and nb not a multiple
 * of 16, a later column group would overwrite the start of rows already stored: SGEMM
 * then.) */
static void multiply_block_packed(const dc_conv_shape *s, const float *up, int rows,
                                  const float *v, int nb, int co_begin, int ncout, float *m)
{
    const int blocks = (s->cout + rows - 1) / rows;
    for (int p = 0; p < WG_POS; p++)
        for (int b = co_begin / rows; b * rows < co_begin + ncout; b++)
            dc_gemm_packed_block(rows, p * blocks + b, s->cin, nb, up,
                                 v + (size_t)p * s->cin * nb, (size_t)nb,
                                 m + ((size_t)p * ncout + (size_t)(b * rows - co_begin)) * nb,
                                 (size_t)nb);
}

/* Whether multiply_block_packed takes output channels [co_begin, co_end) over nb tiles:
 * whole blocks of rows (the last may end at cout), and a tile count it can store. */
static bool packed_fits(const dc_conv_shape *s, int rows, int co_begin, int co_end, int nb)
{
    return co_begin % rows == 0 && (co_end % rows == 0 || co_end == s->cout) &&
           (nb % DC_PACKED_LANES == 0 || nb <= dc_packed_max_cols(rows));
}

int dc_winograd_packed_rows(const dc_conv_shape *s)
{
    const int tb = dc_winograd_block_tiles(s);
    const int r = dc_packed_rows(tb < 64 ? tb : 64);
    /* From 3 vectors of columns, 8 rows x 3 vectors fill the registers as well as 6 x 4:
     * take the one that pads cout less (16 and 32 channels: 8 rows, none padded, where 6
     * pad 2 and 4 rows; resnet56 at batch 64, one thread: 1.46 -> 1.41 ms per image). */
    const int pad6 = (s->cout + 5) / 6 * 6 - s->cout, pad8 = (s->cout + 7) / 8 * 8 - s->cout;
    return r == 6 && pad8 <= pad6 ? 8 : r;
}

size_t dc_winograd_packed_floats(const dc_conv_shape *s)
{
    return (size_t)WG_POS * dc_packed_floats(s->cout, s->cin, dc_winograd_packed_rows(s));
}

void dc_winograd_pack_u(const dc_conv_shape *s, const float *u, float *up)
{
    const int rows = dc_winograd_packed_rows(s);
    const size_t per = dc_packed_floats(s->cout, s->cin, rows);
    for (int p = 0; p < WG_POS; p++)
        dc_pack_a(s->cout, s->cin, rows, u + (size_t)p * s->cout * s->cin, s->cin,
                  up + (size_t)p * per);
}

static void conv2d_samples(const dc_conv_shape *s, const float *in, const float *u,
                           const float *up, const float *bias, const float *residual,
                           dc_act act, float *out, int tile_begin, int tile_end, int co_begin,
                           int co_end, float *workspace)
{
    const int ncout = co_end - co_begin;
    if (tile_end <= tile_begin || ncout <= 0)
        return;
    const int tb = block_for(s, tile_end - tile_begin);
    float *v = workspace;                                  /* [36][cin][tb] */
    float *m = v + (size_t)WG_POS * s->cin * tb;           /* [36][ncout][tb] */
    float *scratch = m + (size_t)WG_POS * s->cout * tb;    /* transforms */

    for (int t0 = tile_begin; t0 < tile_end; t0 += tb) {
        const int nb = tile_end - t0 < tb ? tile_end - t0 : tb;
        transform_block_input(s, in, t0, nb, 0, s->cin, v, scratch);
        const int rows = dc_winograd_packed_rows(s);
        if (up && packed_fits(s, rows, co_begin, co_end, nb))
            multiply_block_packed(s, up, rows, v, nb, co_begin, ncout, m);
        else
            multiply_block(s, u, v, nb, co_begin, ncout, m);
        transform_block_output(s, m, t0, nb, co_begin, ncout, bias, residual, act, out,
                               scratch);
    }
}

void dc_winograd_conv2d_samples(const dc_conv_shape *s, const float *in, const float *u,
                                const float *bias, const float *residual, dc_act act,
                                float *out, int tile_begin, int tile_end, int co_begin,
                                int co_end, float *workspace)
{
    conv2d_samples(s, in, u, NULL, bias, residual, act, out, tile_begin, tile_end, co_begin,
                   co_end, workspace);
}

void dc_winograd_conv2d_samples_packed(const dc_conv_shape *s, const float *in,
                                       const float *u, const float *up, const float *bias,
                                       const float *residual, dc_act act, float *out,
                                       int tile_begin, int tile_end, int co_begin, int co_end,
                                       float *workspace)
{
    conv2d_samples(s, in, u, up, bias, residual, act, out, tile_begin, tile_end, co_begin,
                   co_end, workspace);
}

size_t dc_winograd_input_floats(const dc_conv_shape *s)
{
    return (size_t)WG_POS * s->cin * dc_winograd_tiles(s);
}

bool dc_winograd_one_block(const dc_conv_shape *s)
{
    return dc_winograd_tiles(s) <= dc_winograd_block_tiles(s);
}

void dc_winograd_transform_input(const dc_conv_shape *s, const float *in, int ci_begin,
                                 int ci_end, float *v, float *workspace)
{
    const int tiles = dc_winograd_tiles(s);
    transform_block_input(s, in, 0, tiles, ci_begin, ci_end, v,
                          workspace + (size_t)WG_POS * s->cout * tiles);
}

void dc_winograd_conv2d_from_input(const dc_conv_shape *s, const float *v, const float *u,
                                   const float *up, const float *bias, const float *residual,
                                   dc_act act, float *out, int co_begin, int co_end,
                                   float *workspace)
{
    const int tiles = dc_winograd_tiles(s), ncout = co_end - co_begin;
    if (ncout <= 0)
        return;
    float *m = workspace;                                  /* [36][ncout][tiles] */
    float *scratch = m + (size_t)WG_POS * s->cout * tiles; /* the output transform */
    const int rows = dc_winograd_packed_rows(s);
    if (up && packed_fits(s, rows, co_begin, co_end, tiles))
        multiply_block_packed(s, up, rows, v, tiles, co_begin, ncout, m);
    else
        multiply_block(s, u, v, tiles, co_begin, ncout, m);
    transform_block_output(s, m, 0, tiles, co_begin, ncout, bias, residual, act, out, scratch);
}
