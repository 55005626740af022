/*
 * kernels.h — pure compute on raw float arrays.
 *
 * Rules for everything declared here:
 *  - no allocation, no I/O, no knowledge of models or layers;
 *  - arrays are float32, row-major; a feature map of one sample is [C][H][W];
 *  - the caller guarantees sizes and that outputs do not alias inputs (unless said);
 *  - kernels are single-threaded: the net runtime (the op table, layers/ops*.c) splits a
 *    node into tasks (pixel tiles, channel ranges, samples) and runs them on its pool, so
 *    several calls may run at once on disjoint outputs; OpenBLAS is called with one
 *    thread.
 * Each kernel has a naive twin in tests/test_kernels.c that it is checked against.
 */
#ifndef DC_KERNELS_H
#define DC_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The activation applied in a kernel's epilogue (fused, to save a pass over memory). */
typedef enum {
    DC_ACT_NONE = 0,
    DC_ACT_RELU,   /* max(x, 0) */
    DC_ACT_RELU6,  /* min(max(x, 0), 6), torch.nn.ReLU6 */
    DC_ACT_SIGMOID,     /* 1 / (1 + e^-x), torch.nn.Sigmoid */
    DC_ACT_SILU,        /* x * sigmoid(x), torch.nn.SiLU */
    DC_ACT_HARDSIGMOID, /* relu6(x + 3) / 6, torch.nn.Hardsigmoid */
    DC_ACT_HARDSWISH,   /* x * relu6(x + 3) / 6, torch.nn.Hardswish */
    DC_ACT_GELU         /* x * (1 + erf(x / sqrt 2)) / 2, torch.nn.GELU (exact form) */
} dc_act;

/* Applies act to n floats in place. */
void dc_act_apply(dc_act act, float *x, size_t n);

/* ---- convolution -------------------------------------------------------- */

/* Shape of a 2-D convolution of one sample, as torch.nn.Conv2d (dilation 1):
 * in [cin][h][w], weight [cout][cin/groups][kh][kw], bias [cout] or NULL,
 * out [cout][oh][ow] with oh = (h + 2*pad_h - kh)/stride_h + 1 (floor), ow alike. */
typedef struct {
    int cin, h, w;
    int cout, kh, kw;
    int stride_h, stride_w;
    int pad_h, pad_w;
    int groups;            /* cin and cout are multiples of groups */
} dc_conv_shape;

int dc_conv_out_h(const dc_conv_shape *s);
int dc_conv_out_w(const dc_conv_shape *s);

/* One group of a grouped conv as a conv of its own (groups 1): cin/groups inputs,
 * cout/groups outputs; what the per-group kernels (Winograd, the direct kernel) run. */
dc_conv_shape dc_conv_group_shape(const dc_conv_shape *s);

/* A 1x1 stride-1 unpadded conv: its input is already the GEMM's column matrix. */
bool dc_conv_is_pointwise(const dc_conv_shape *s);

/* Floats of scratch space dc_conv2d needs for this shape (0 for 1x1 stride-1 no-pad convs,
 * which are a plain GEMM on the input). */
size_t dc_conv2d_workspace_floats(const dc_conv_shape *s);

/* General (grouped) conv by im2col + SGEMM, one GEMM per group:
 * out[g] = weight[g] (cout/g x cin/g*kh*kw)  x  im2col(in[g]) (cin/g*kh*kw x oh*ow),
 * then + bias and act. workspace holds dc_conv2d_workspace_floats(s) floats. */
void dc_conv2d(const dc_conv_shape *s, const float *in, const float *weight,
               const float *bias, dc_act act, float *out, float *workspace);

/* One tile of dc_conv2d, the unit the runtime's threads share: group `group`, output
 * pixels [p0, p1) (p = oy*ow + ox) and the group's output channels [co0, co1) (0-based
 * within the group). out is the whole [cout][oh][ow] map; only the tile is written.
 * residual: NULL, or a map shaped like out added before act (a conv fused with the
 * residual add after it): out = act(conv + bias + residual). workspace holds
 * dc_conv2d_tile_workspace_floats(s) floats when p1 - p0 <= dc_conv_tile_pixels(s). */
void dc_conv2d_tile(const dc_conv_shape *s, const float *in, const float *weight,
                    const float *bias, const float *residual, dc_act act, float *out,
                    int group, int p0, int p1, int co0, int co1, float *workspace);

/* Several samples of a conv with a small output map as one GEMM (columns: samples x
 * pixels), so that SGEMM sees a useful N: `samples` consecutive samples of in ([cin][h][w]
 * each) and out ([cout][oh][ow] each, residual alike or NULL), group `group`, its output
 * channels [co0, co1). workspace holds dc_conv2d_samples_workspace_floats(s, samples). */
void dc_conv2d_samples(const dc_conv_shape *s, int samples, const float *in,
                       const float *weight, const float *bias, const float *residual,
                       dc_act act, float *out, int group, int co0, int co1, float *workspace);
size_t dc_conv2d_samples_workspace_floats(const dc_conv_shape *s, int samples);

/* How many of n samples one dc_conv2d_samples call should take so that its GEMM has a
 * useful width (1 when the map alone is wide enough). */
int dc_conv_samples_per_tile(const dc_conv_shape *s, int n);

/* A conv (groups 1) split in two steps, for a small map that a single tile covers and
 * several threads share by output channels: first the im2col matrix [k][oh*ow] of the
 * sample, rows [r0, r1) at a time (col is the whole matrix), then the GEMM and epilogue for
 * pixels [p0, p1) and output channels [co0, co1) from it (workspace: DC_SKINNY_MAX_COLS * k
 * floats of scratch for the skinny GEMM). Each step's calls may run on different threads. */
void dc_im2col_rows(const dc_conv_shape *s, const float *in, int r0, int r1, float *col);
/* dc_im2col_rows with rows ld floats apart (ld >= the output pixels; the columns past them
 * are left as they are). */
void dc_im2col_rows_ld(const dc_conv_shape *s, const float *in, int r0, int r1, float *col,
                       size_t ld);
void dc_conv2d_from_cols(const dc_conv_shape *s, const float *cols, const float *weight,
                         const float *bias, const float *residual, dc_act act, float *out,
                         int p0, int p1, int co0, int co1, float *workspace);

/* Width in output pixels of the runtime's conv tiles for this shape: as wide as keeps
 * the tile's im2col in the core's L2 (the whole map when it fits), equal tiles. */
int dc_conv_tile_pixels(const dc_conv_shape *s);

/* Floats of scratch one dc_conv2d_tile call needs (per thread). */
size_t dc_conv2d_tile_workspace_floats(const dc_conv_shape *s);

/* Depthwise conv (groups == cin == cout) by direct loops; weight [c][1][kh][kw].
 * Single-threaded; the same as dc_depthwise_conv2d_range over [0, c). */
void dc_depthwise_conv2d(const dc_conv_shape *s, const float *in, const float *weight,
                         const float *bias, dc_act act, float *out);

/* dc_depthwise_conv2d for channels [c_begin, c_end) only (in, out: the whole sample).
 * Single-threaded, safe to call from several threads at once on disjoint ranges; uses
 * about 48 KiB of stack (staging buffers), no heap. Channels' results do not depend on
 * the range they were computed in. */
void dc_depthwise_conv2d_range(const dc_conv_shape *s, const float *in,
                               const float *weight, const float *bias, dc_act act,
                               float *out, int c_begin, int c_end);

/* true when dc_small_conv2d_range handles s faster than im2col + SGEMM (measured): the
 * stems (groups 1, up to 4 input channels), and grouped 3x3 convs of up to 32 input
 * channels a group, which the runtime runs group by group (each group a groups-1 shape). */
bool dc_small_conv_pays(const dc_conv_shape *s);
/* the most input channels a group for which dc_small_conv_pays takes a grouped conv */
#define DC_SMALL_CONV_GROUP_MAX_CIN 32

/* dense conv (groups 1) for output channels [co_begin, co_end), single-threaded.
 * The same result as dc_conv2d for any groups-1 shape, by direct loops (no workspace;
 * about 64 KiB of stack); vectorised for the stems (cin 3: 3x3 stride 1 or 2, 4x4
 * stride 4, 7x7 stride 2) and the groups of grouped convs (any cin whose band of one
 * staged row fits), rows shorter than about a vector in flat mode; plain C otherwise. */
void dc_small_conv2d_range(const dc_conv_shape *s, const float *in, const float *weight,
                           const float *bias, dc_act act, float *out,
                           int co_begin, int co_end);

/* A 3x3 stride-1 dense conv (groups 1, padding >= 0) of few input channels by Winograd
 * F(4, 3) down the columns (small_conv_wino.c): half the multiplications of the direct
 * loops. dc_small_conv_wino_pays: where it is faster than dc_small_conv2d_range (measured:
 * one group of a grouped conv of 2 to 64 input channels a group, rows of at least 14
 * outputs, on a vector level; the wider groups in place of F(2x2)).
 * dc_small_conv_wino_weights writes the transformed weights, dc_small_conv_wino_weight_floats
 * of them (cin * 18 * cout), once at load; dc_small_conv_wino_range then computes output
 * channels [co_begin, co_end) from them, single-threaded, about 48 KiB of stack, the same
 * result for any range. */
bool dc_small_conv_wino_pays(const dc_conv_shape *s);
size_t dc_small_conv_wino_weight_floats(const dc_conv_shape *s);
void dc_small_conv_wino_weights(const dc_conv_shape *s, const float *weight, float *u);
void dc_small_conv_wino_range(const dc_conv_shape *s, const float *in, const float *u,
                              const float *bias, dc_act act, float *out, int co_begin,
                              int co_end);

/* ---- vector instruction sets -------------------------------------------- */

/* The hand-vectorised kernels (depthwise, small dense convs) pick one instruction set at
 * first use: the best the CPU has (checked at run time, so a -Dnative_arch=false build
 * still uses them), or DC_SIMD_PORTABLE when the environment variable DC_FORCE_PORTABLE=1
 * is set. The portable C path is the reference and the fallback on other CPUs. x86-64
 * has AVX2 and AVX-512 (when CPUID says so), AArch64 has NEON (always). */
typedef enum {
    DC_SIMD_PORTABLE = 0, /* plain C */
    DC_SIMD_AVX2,         /* AVX2 + FMA, 8 floats per vector */
    DC_SIMD_AVX512,       /* AVX-512F, 16 floats per vector */
    DC_SIMD_NEON          /* AArch64 Advanced SIMD, 4 floats per vector */
} dc_simd_level;

/* Whether this CPU can run level (DC_SIMD_PORTABLE always can). */
bool dc_simd_supported(dc_simd_level level);

/* The level in force (detected on first call). */
dc_simd_level dc_simd_active(void);

/* Tests and benchmarks only: use level from now on (false, and no change, when the CPU
 * lacks it). Not to be called while kernels run on other threads. */
bool dc_simd_force(dc_simd_level level);

/* im2col for one group: in [c][h][w] -> col [c*kh*kw][oh*ow], zero where the window
 * leaves the image. Exposed for tests and docs. */
void dc_im2col(const float *in, int c, int h, int w, int kh, int kw, int stride_h,
               int stride_w, int pad_h, int pad_w, float *col);

/* im2col of a whole (ungrouped) conv s for output pixels [p0, p1): col [cin*kh*kw][ld],
 * ld >= p1 - p0 (the columns past p1 - p0 are left as they are). */
void dc_im2col_ld(const dc_conv_shape *s, const float *in, int p0, int p1, float *col,
                  size_t ld);

/* dc_im2col for output pixels [p0, p1) only: col [c*kh*kw][p1 - p0]. */
void dc_im2col_range(const float *in, int c, int h, int w, int kh, int kw, int stride_h,
                     int stride_w, int pad_h, int pad_w, int p0, int p1, float *col);

/* ---- winograd ------------------------------------------------------------ */

/* Winograd F(4x4, 3x3) convolution (Lavin & Gray 2016; docs/winograd.md, kernels/winograd.c):
 * the same numbers as dc_conv2d for stride-1 3x3 convs, with 36 instead of 144 multiplies per
 * 4x4 output tile and input channel. Single-threaded and re-entrant: the caller splits the
 * output tiles (and/or output channels) into ranges and may call dc_winograd_conv2d from
 * several threads at once, each with its own workspace. */

/* true for convs this kernel handles: 3x3, stride 1, groups 1, any pad_h/pad_w <= 2
 * (and a non-empty output). */
bool dc_winograd_applies(const dc_conv_shape *s);

/* The rule, measured on one thread (bench/winograd_bench.c; numbers in kernels/winograd.c
 * and docs/winograd.md), for when Winograd beats im2col + SGEMM. Implies applies. */
bool dc_winograd_pays(const dc_conv_shape *s);

/* Batches of at least this many samples run tile blocks that span samples
 * (dc_winograd_conv2d_samples). */
#define DC_WINOGRAD_BATCH 8

/* dc_winograd_pays for a net run at up to `batch` samples per pass: from a batch of
 * DC_WINOGRAD_BATCH, blocks of tiles from many samples share each read of U, so every map
 * whose tiles cover 8 or more output pixels on average pays (kernels/winograd.c). */
bool dc_winograd_pays_in_batch(const dc_conv_shape *s, int batch);

/* Floats of the transformed weights u. */
size_t dc_winograd_weight_floats(const dc_conv_shape *s);

/* weight [cout][cin][3][3] -> u [36][cout][cin], u[p][co][ci] = (G g G^T)[p / 6][p % 6] for
 * g = weight[co][ci] (computed in double, rounded once). Done once at load. */
void dc_winograd_transform_weights(const dc_conv_shape *s, const float *weight, float *u);

/* Number of 4x4 output tiles of one sample, ceil(oh/4) * ceil(ow/4), numbered row-major
 * (tile t covers output rows 4*(t / tiles_x) .. +3 and columns 4*(t % tiles_x) .. +3). */
int dc_winograd_tiles(const dc_conv_shape *s);

/* Scratch floats for one call over at most max_tiles tiles and the full cout range. */
size_t dc_winograd_workspace_floats(const dc_conv_shape *s, int max_tiles);

/* Tiles the kernel transforms and multiplies together (a block): as many as keep the
 * block's transformed input and products in L2. A range of tiles is run block by block. */
int dc_winograd_block_tiles(const dc_conv_shape *s);

/* One sample: computes the output tiles [tile_begin, tile_end) for output channels
 * [co_begin, co_end) (out is the whole [cout][oh][ow] map of the sample; only those pixels
 * and channels are written), + bias[co] (bias may be NULL), then act (the fused epilogue of
 * kernels/epilogue.h). Needs 0 <= tile_begin <= tile_end <= dc_winograd_tiles(s) and
 * 0 <= co_begin <= co_end <= cout; u comes from dc_winograd_transform_weights; workspace
 * holds dc_winograd_workspace_floats(s, m) floats with m >= tile_end - tile_begin. A range
 * over few tiles repeats the streaming of u, one over part of cout repeats the input
 * transform (docs/winograd.md measures both). */
void dc_winograd_conv2d(const dc_conv_shape *s, const float *in, const float *u,
                        const float *bias, dc_act act, float *out,
                        int tile_begin, int tile_end, int co_begin, int co_end,
                        float *workspace);

/* dc_winograd_conv2d with a fused residual add: out = act(conv + bias + residual), residual
 * shaped like out (NULL: none), read only at the pixels and channels written. */
void dc_winograd_conv2d_residual(const dc_conv_shape *s, const float *in, const float *u,
                                 const float *bias, const float *residual, dc_act act,
                                 float *out, int tile_begin, int tile_end, int co_begin,
                                 int co_end, float *workspace);

/* For one sample whose tiles make a single block (dc_winograd_one_block), the conv in
 * two steps, so that threads can share one transformed input V (dc_winograd_input_floats
 * floats): dc_winograd_transform_input writes input channels [ci_begin, ci_end) of V, then
 * dc_winograd_conv2d_from_input computes output channels [co_begin, co_end) from the whole
 * V, each with a workspace of dc_winograd_workspace_floats(s, dc_winograd_tiles(s)) floats.
 * The same numbers as dc_winograd_conv2d_residual over all tiles, up to the order in
 * which OpenBLAS sums products of another size (bit for bit with its AVX-512 kernels; its
 * AVX2 ones differ in the last bits: tests/test_winograd.c, same_sums). With up (U packed
 * by dc_winograd_pack_u; NULL: none) the products of a range of whole packed blocks run on
 * the packed GEMM, as in dc_winograd_conv2d_samples_packed. */
bool dc_winograd_one_block(const dc_conv_shape *s);
size_t dc_winograd_input_floats(const dc_conv_shape *s);
void dc_winograd_transform_input(const dc_conv_shape *s, const float *in, int ci_begin,
                                 int ci_end, float *v, float *workspace);
void dc_winograd_conv2d_from_input(const dc_conv_shape *s, const float *v, const float *u,
                                   const float *up, const float *bias, const float *residual,
                                   dc_act act, float *out, int co_begin, int co_end,
                                   float *workspace);

/* dc_winograd_conv2d_residual over a batch: in, residual and out are the whole batch
 * ([n][cin][h][w], [n][cout][oh][ow]) and the tiles are numbered sample by sample, tile t
 * being tile t % dc_winograd_tiles(s) of sample t / dc_winograd_tiles(s), so one range
 * (and one block of the kernel) may span several samples: the GEMMs stay wide and U is
 * read once per block even when a sample has a single tile. tile_end may reach n times
 * dc_winograd_tiles(s); the workspace is sized for m >= tile_end - tile_begin as above. */
void dc_winograd_conv2d_samples(const dc_conv_shape *s, const float *in, const float *u,
                                const float *bias, const float *residual, dc_act act,
                                float *out, int tile_begin, int tile_end, int co_begin,
                                int co_end, float *workspace);

/* U packed for gemm_packed.c, position by position ([36][cout / R][cin][R], R =
 * dc_winograd_packed_rows), and dc_winograd_conv2d_samples with its products on that
 * kernel (up) instead of SGEMM (u, still used for a range of output channels that is not
 * whole blocks of R, the last ending at cout, and for blocks whose tile count the kernel
 * cannot take with rows stored back to back: dc_packed_max_cols). The same numbers as
 * dc_winograd_conv2d_samples up to the rounding of fused multiply-adds. */
int dc_winograd_packed_rows(const dc_conv_shape *s);
size_t dc_winograd_packed_floats(const dc_conv_shape *s);
void dc_winograd_pack_u(const dc_conv_shape *s, const float *u, float *up);
void dc_winograd_conv2d_samples_packed(const dc_conv_shape *s, const float *in,
                                       const float *u, const float *up, const float *bias,
                                       const float *residual, dc_act act, float *out,
                                       int tile_begin, int tile_end, int co_begin, int co_end,
                                       float *workspace);

/* ---- GEMM on A packed at load ---------------------------------------------------- */

/* C = A B for a B of few columns (a small map's pixels) with A packed once, at load, in the
 * order the kernel reads it, so a product streams A from memory exactly once (SGEMM re-packs
 * it on every call): kernels/gemm_packed.c. Columns come in vectors of DC_PACKED_LANES. */
#define DC_PACKED_LANES 16

/* Up to this many columns a block of 16 rows runs its product down the rows (one line of
 * packed A a term, the columns broadcast), not across vectors of columns. */
#define DC_PACKED_DOWN_ROWS_MAX_COLS 4

/* Rows R of a packed block that suit products of `cols` columns (16, 12, 8 or 6: R x the
 * vectors of columns fills the registers). Any packing works with any column count. */
int dc_packed_rows(int cols);

/* Floats of A [m][k] packed in blocks of `rows`: m rounded up to whole blocks, times k. */
size_t dc_packed_floats(int m, int k, int rows);

/* a [m][k] (leading dimension lda) -> ap [m / rows][k][rows], rows past m zero; rows is one
 * of dc_packed_rows's values. */
void dc_pack_a(int m, int k, int rows, const float *a, int lda, float *ap);

/* Block `block` of A packed in blocks of `rows` (its rows rows x block .. + rows - 1) times
 * b [k][ldb]: c [rows][ldc] receives columns [0, cols rounded up to whole vectors); b's
 * columns up to that rounding must be readable (zero them), and ldb, ldc at least as large.
 * (With rows 16 and 1 to 4 columns the product runs down the rows, and c receives exactly
 * cols columns.) */
void dc_gemm_packed_block(int rows, int block, int k, int cols, const float *ap,
                          const float *b, size_t ldb, float *c, size_t ldc);

/* The same with a conv's epilogue applied in registers as each row is stored:
 * c = act(c + (bias[r] + res[r][.])) as dc_bias_residual_act_row computes it, or
 * act(c + bias[r]) as dc_bias_act_row without res (bias NULL: none). bias and res are the
 * block's own rows (res [rows][ldr]); act is DC_ACT_NONE, DC_ACT_RELU or DC_ACT_RELU6
 * (dc_packed_act_fuses). */
bool dc_packed_act_fuses(dc_act act);
void dc_gemm_packed_block_act(int rows, int block, int k, int cols, const float *ap,
                              const float *b, size_t ldb, float *c, size_t ldc,
                              const float *bias, const float *res, size_t ldr, dc_act act);

/* Columns one call of the kernel takes at once for blocks of `rows` (16 x the vectors of
 * its register block). A call with at most this many columns stores row after row, each
 * as whole vectors: then c's rows may lie back to back (ldc = cols, not rounded up): a
 * row's rounding lands in the rows after it, which the call stores later, and the last
 * row's in the caller's slack (Winograd's products in batches, winograd.c). */
int dc_packed_max_cols(int rows);

/* ---- convs on small maps with weights packed at load ------------------------------ */

/* im2col (a copy for 1x1 convs) + dc_gemm_packed_block, for ungrouped convs whose output
 * map has at most DC_CONV_PACKED_MAX_PIXELS pixels (kernels/conv_packed.c): the weights
 * stream once per pass instead of being re-packed by SGEMM. Re-entrant: threads split the
 * output channels. (The runtime runs a grouped conv group by group, each group a conv of
 * its own: layers/ops_conv.c.) */
#define DC_CONV_PACKED_MAX_PIXELS 256
/* ... and 1x1 stride-1 convs read in place up to this many (32x32: mobilenetv2 (cifar)
 * batch 1, one thread, 1.57 -> 1.47 ms) */
#define DC_CONV_PACKED_MAX_POINTWISE 1024
/* ... and, at batches under 8, wider 1x1 stride-1 convs: those whose input matrix (depth x
 * pixels) fits in this many floats (1 MiB, half an L2 of the Intel VM) read it once per
 * block of output channels (one thread, batch 1, against SGEMM: resnet50's 64x56x56 -> 256
 * 4.98 -> 3.88 ms, mobilenet_v3_large's 16x112x112 -> 64 0.46 -> 0.33 ms); ... */
#define DC_CONV_PACKED_WIDE_POINTWISE_FLOATS ((size_t)1 << 18)
/* ... the deeper ones (resnet50's 256x56x56 inputs, 3 MiB, read that way from memory by
 * every block: twice as slow as SGEMM) tile by tile of pixels whose columns fit this many
 * floats (256 KiB, a quarter of an L2 of the Zen 5 VM), every output channel of a tile
 * before the next tile (dc_conv_packed_l2_tile); so do strided convs to maps of more than
 * DC_CONV_PACKED_MAX_PIXELS, each tile with its own im2col (resnet50's 3x3 stride-2 conv
 * to 28x28: 1.87-1.95 -> 1.65-1.79 ms against OpenBLAS's AVX-512 kernels, 3.1 -> 2.0 ms
 * against its AVX2 ones). One thread, batch 1, the AMD Zen 5 VM:
 * resnet50's 256x56x56 -> 64 and -> 128 convs 2.10 -> 1.20 and 1.95 -> 1.10 ms against
 * OpenBLAS's AVX2 kernels; models in alternating runs: densenet121 43 -> 38 ms,
 * resnext50_32x4d 64 -> 57, resnet50 48 -> 46; against OpenBLAS's AVX-512 kernels
 * densenet121 35.8 -> 33.6 ms, the others within noise. */
#define DC_CONV_PACKED_L2_TILE_FLOATS ((size_t)1 << 16)
/* ... but a strided conv's tile, which makes its own im2col, fits this many (512 KiB, half
 * an L2 of the Zen 5 VM): wider tiles copy longer runs of each input row, and the packed
 * weights pass over the columns fewer times. One thread, batch 1, alternating runs:
 * resnet50's 3x3 stride-2 conv to 28x28 (depth 1152: tiles of 64 -> 112 pixels)
 * 1.57-1.59 -> 1.43-1.45 ms; regnet_x_16gf's stride-2 convs of 128-channel groups to 56x56
 * and 28x28 12.9-14.9 -> 11.9-12.5 and 6.4-7.3 -> 5.8-6.2 ms; inception_v3's 288 -> 384
 * conv (depth 2592: 64 pixels either way) unchanged. */
#define DC_CONV_PACKED_STRIDED_TILE_FLOATS ((size_t)1 << 17)
/* ... and in batches (of 8 or more) those whose input matrix, depth x pixels, fits in
 * this many floats (768 KiB; measured on a machine of 2 MiB L2 a core: densenet121's 28x28
 * convs from 320 input channels, 980 KiB, were slower than one SGEMM over the batch) */
#define DC_CONV_PACKED_BATCH_POINTWISE_FLOATS ((size_t)196608)

bool dc_conv_packed_applies(const dc_conv_shape *s);

/* The rule (measured in whole nets, kernels/conv_packed.c) for a net run at up to `batch`
 * samples per pass. Implies applies. */
bool dc_conv_packed_pays(const dc_conv_shape *s, int batch);

/* Output channels per packed block (dc_packed_rows of the map's pixels). */
int dc_conv_packed_rows(const dc_conv_shape *s);

size_t dc_conv_packed_weight_floats(const dc_conv_shape *s);
void dc_conv_pack_weights(const dc_conv_shape *s, const float *weight, float *packed);
size_t dc_conv_packed_workspace_floats(const dc_conv_shape *s);

/* One sample, output channels [co_begin, co_end): out = act(conv + bias + residual) (bias,
 * residual may be NULL), as dc_conv2d_tile computes it. */
void dc_conv_packed(const dc_conv_shape *s, const float *in, const float *packed,
                    const float *bias, const float *residual, dc_act act, float *out,
                    int co_begin, int co_end, float *workspace);

/* Whether dc_conv_packed reads the input as its matrix (a 1x1 stride-1 conv on whole
 * vectors of pixels). dc_conv_packed_columns computes output pixels [p0, p1) (p0 a
 * multiple of DC_PACKED_LANES; p1 too, or the map's end) of such a conv, so that threads
 * can split one with few output channels by pixels, or of a conv taken by tiles
 * (dc_conv_packed_l2_tile), making the tile's own im2col. The same numbers as
 * dc_conv_packed. */
bool dc_conv_packed_in_place(const dc_conv_shape *s);
void dc_conv_packed_columns(const dc_conv_shape *s, const float *in, const float *packed,
                            const float *bias, const float *residual, dc_act act, float *out,
                            int co_begin, int co_end, int p0, int p1, float *workspace);

/* The pixels of one tile (a multiple of DC_PACKED_LANES) for a 1x1 conv read in place
 * whose input matrix is too large to read whole per block of output channels (larger than
 * DC_CONV_PACKED_WIDE_POINTWISE_FLOATS), or for a strided conv (im2col) whose map has more
 * than DC_CONV_PACKED_MAX_PIXELS pixels: its columns fit DC_CONV_PACKED_L2_TILE_FLOATS
 * (the strided one's DC_CONV_PACKED_STRIDED_TILE_FLOATS), but at least four vectors of
 * pixels. 0 for every other conv. The runtime runs such a conv by
 * dc_conv_packed_columns, a tile and all its output channels a task; dc_conv_packed runs
 * it tile after tile. The two-step calls below are not for a strided one: its whole
 * im2col matrix is what the tiles avoid. */
int dc_conv_packed_l2_tile(const dc_conv_shape *s);

/* dc_conv_packed in two steps, so that threads can share one im2col matrix: rows
 * [r0, r1) of the matrix (dc_conv_packed_input_floats(s) floats in all; r < cin kh kw)
 * by dc_conv_packed_make_input, then output channels [co_begin, co_end) from the whole
 * matrix by dc_conv_packed_from_input (workspace of dc_conv_packed_workspace_floats(s)).
 * The same numbers as dc_conv_packed, bit for bit. */
size_t dc_conv_packed_input_floats(const dc_conv_shape *s);
void dc_conv_packed_make_input(const dc_conv_shape *s, const float *in, int r0, int r1,
                               float *col);
void dc_conv_packed_from_input(const dc_conv_shape *s, const float *col, const float *packed,
                               const float *bias, const float *residual, dc_act act,
                               float *out, int co_begin, int co_end, float *workspace);

/* ---- winograd F(2x2, 3x3) ----------------------------------------------------- */

/* Winograd F(2x2, 3x3) on weights packed for our own product kernel (kernels/winograd2.c,
 * docs/winograd.md): for stride-1 3x3 convs on small maps (at most 64 2x2 output tiles,
 * i.e. up to 16x16 outputs) with weights too large to stay in the caches at small batches,
 * and, in batches, for the 2x2 maps F(4x4) does not take. 16 instead of 36 multiplies per
 * 2x2 tile and channel pair; U is 16/9 the weights. One product takes the tiles of
 * `samples` samples as its columns (dc_winograd2_samples: 1 below a batch of
 * DC_WINOGRAD_BATCH; a 2x2 map's single tile is then one column of 64 samples); U is
 * packed for that many. Single-threaded and re-entrant: threads split the output channels
 * or the batch. */

/* true for 3x3, stride 1, groups 1, pad_h/pad_w <= 2, at most 64 tiles of 2x2 outputs. */
bool dc_winograd2_applies(const dc_conv_shape *s);

/* The rule, measured in whole nets (kernels/winograd2.c), for a net run at up to `batch`
 * samples per pass, for convs F(4x4) does not take (dc_winograd_pays_in_batch). */
bool dc_winograd2_pays(const dc_conv_shape *s, int batch);

/* Samples one product takes for a net run at up to `batch` samples per pass: 1 below
 * DC_WINOGRAD_BATCH, else as many as fit 64 columns (at most batch). */
int dc_winograd2_samples(const dc_conv_shape *s, int batch);

/* Number of 2x2 output tiles of one sample, ceil(oh/2) * ceil(ow/2). */
int dc_winograd2_tiles(const dc_conv_shape *s);

/* Output channels per block of packed U (16, 12, 8 or 6 by the columns of a product):
 * channel ranges that start on a multiple of it compute each block once. */
int dc_winograd2_rows(const dc_conv_shape *s, int samples);

/* Floats of the packed weights (cout rounded up to whole blocks). */
size_t dc_winograd2_weight_floats(const dc_conv_shape *s, int samples);

/* weight [cout][cin][3][3] -> u [cout / R][16][cin][R] (R = dc_winograd2_rows), holding
 * (G g G^T)[p / 4][p % 4] (computed in double, rounded once); rows past cout are zero. */
void dc_winograd2_pack_weights(const dc_conv_shape *s, int samples, const float *weight,
                               float *u);

/* Scratch floats of one dc_winograd2_conv2d call. */
size_t dc_winograd2_workspace_floats(const dc_conv_shape *s, int samples);

/* n <= samples samples (in [n][cin][h][w], out and residual [n][cout][oh][ow]), output
 * channels [co_begin, co_end): out = act(conv + bias + residual) (bias, residual may be
 * NULL). u from dc_winograd2_pack_weights with the same `samples`; workspace of
 * dc_winograd2_workspace_floats(s, samples) floats. */
void dc_winograd2_conv2d(const dc_conv_shape *s, int samples, int n, const float *in,
                         const float *u, const float *bias, const float *residual, dc_act act,
                         float *out, int co_begin, int co_end, float *workspace);

/* dc_winograd2_conv2d in two steps, so that threads can share one transformed input V:
 * dc_winograd2_transform_input writes input channels [ci_begin, ci_end) of V (of
 * dc_winograd2_input_floats(s, samples) floats; scratch of
 * dc_winograd2_input_scratch_floats(s)), then dc_winograd2_conv2d_from_input computes
 * output channels [co_begin, co_end) from the whole V, with a workspace of
 * dc_winograd2_workspace_floats(s, samples) floats. The same numbers as
 * dc_winograd2_conv2d, bit for bit. */
size_t dc_winograd2_input_floats(const dc_conv_shape *s, int samples);
size_t dc_winograd2_input_scratch_floats(const dc_conv_shape *s);
void dc_winograd2_transform_input(const dc_conv_shape *s, int samples, int n,
                                  const float *in, int ci_begin, int ci_end, float *v,
                                  float *scratch);
void dc_winograd2_conv2d_from_input(const dc_conv_shape *s, int samples, int n,
                                    const float *v, const float *u, const float *bias,
                                    const float *residual, dc_act act, float *out,
                                    int co_begin, int co_end, float *workspace);

/* ---- skinny GEMM ----------------------------------------------------------- */

/* GEMMs with at most DC_SKINNY_MAX_COLS columns and at least DC_SKINNY_MIN_K inner terms go
 * to dc_gemm_skinny instead of SGEMM (measured on convs over 4x4 and 2x2 maps:
 * kernels/gemm_skinny.c). With a short k, SGEMM's packing is cheap and the skinny kernel's
 * 16 horizontal sums per 4x4 block dominate (shufflenetv2_x0_5's 192 -> 1024 1x1 conv on
 * 4x4: 54 GFLOP/s skinny, about twice that by SGEMM). */
#define DC_SKINNY_MAX_COLS 16
#define DC_SKINNY_MIN_K 512

/* C[m][n] = A[m][k] . B[k][n] with B given transposed, bt [n][k] contiguous; A and C
 * row-major with leading dimensions lda, ldc. For small n: A is read once, in place. */
void dc_gemm_skinny(int m, int n, int k, const float *a, int lda, const float *bt, float *c,
                    int ldc);

/* dst [cols][rows] = transpose of src [rows][cols] (row stride ld_src). */
void dc_transpose(int rows, int cols, const float *src, int ld_src, float *dst);

/* ---- dense -------------------------------------------------------------- */

/* torch.nn.Linear over a batch: y[n][out] = x[n][in] . w[out][in] + b[out], then act.
 * b may be NULL. */
void dc_linear(int n, int in_features, int out_features, const float *x, const float *w,
               const float *b, dc_act act, float *y);

/* dc_linear for output features [o0, o1) only (y is the whole [n][out_features]). */
void dc_linear_range(int n, int in_features, int out_features, int o0, int o1,
                     const float *x, const float *w, const float *b, dc_act act, float *y);

/* ---- pooling (one sample, [c][h][w]) ------------------------------------ */

/* Output size of a pooling window as torch.nn.MaxPool2d/AvgPool2d computes it:
 * floor or ceil of (size + 2*pad - k)/stride + 1; in ceil mode a window that would start
 * in the right padding only is dropped. */
int dc_pool_out_size(int size, int k, int stride, int pad, bool ceil_mode);

/* torch.nn.MaxPool2d (padding counts as -inf). */
void dc_maxpool2d(int c, int h, int w, int k, int stride, int pad, bool ceil_mode,
                  const float *in, float *out);

/* torch.nn.AvgPool2d; count_include_pad as in PyTorch (divisor counts padded cells that
 * lie inside the padded image, never the ceil-mode overhang). */
void dc_avgpool2d(int c, int h, int w, int k, int stride, int pad, bool ceil_mode,
                  bool count_include_pad, const float *in, float *out);

/* torch.nn.AdaptiveAvgPool2d((oh, ow)): bin i spans [floor(i*h/oh), ceil((i+1)*h/oh)). */
void dc_adaptive_avgpool2d(int c, int h, int w, int oh, int ow, const float *in, float *out);

/* ---- element-wise and data movement ------------------------------------- */

/* out[i] = act(a[i] + b[i]); out may alias a or b. */
void dc_add(const float *a, const float *b, float *out, size_t n, dc_act act);

/* ShuffleNet channel shuffle of one sample: view [groups][c/groups][hw], transpose the
 * first two axes: out channel j*groups + g = in channel g*(c/groups) + j. */
void dc_channel_shuffle(int c, int hw, int groups, const float *in, float *out);

/* One group's part of it: channel j of src (per_group channels of hw floats) goes to out
 * channel j*groups + g. The concat-shuffle op calls it once per input. */
void dc_shuffle_group(int groups, int g, int per_group, int hw, const float *src,
                      float *out);

/* Per-channel affine map of one sample, then act: out[c][i] = act(scale[c] * in[c][i] +
 * shift[c]) — an eval-mode BatchNorm that no conv precedes (DenseNet's pre-activation).
 * out may alias in. */
void dc_scale_shift(int c, int hw, const float *scale, const float *shift, dc_act act,
                    const float *in, float *out);

/* out[c][i] = in[c][i] * gate[c]: the excitation step of squeeze-and-excitation.
 * out may alias in. */
void dc_channel_scale(int c, int hw, const float *gate, const float *in, float *out);

/* Numerically stable softmax of n logits (subtracts the max). */
void dc_softmax(const float *logits, float *probs, int n);

/* ---- transformers (ConvNeXt, Swin) --------------------------------------- */

/* torch.nn.LayerNorm(c, eps) applied to every pixel of one sample [c][hw] across its
 * channels (ConvNeXt's LayerNorm2d; the channels-last LayerNorms of ConvNeXt's blocks and
 * of Swin act on the same numbers): out[k][p] = (in[k][p] - mean_p) / sqrt(var_p + eps)
 * * gamma[k] + beta[k], with the biased variance over the c channels of pixel p.
 * out may alias in. */
void dc_layernorm_channels(int c, int hw, const float *gamma, const float *beta, float eps,
                           const float *in, float *out);

/* dc_layernorm_channels for pixels [p0, p1) only. */
void dc_layernorm_channels_range(int c, int hw, int p0, int p1, const float *gamma,
                                 const float *beta, float eps, const float *in, float *out);

/* Swin's PatchMerging gather (torchvision's _patch_merging_pad) on one sample: in [c][h][w]
 * is zero-padded to even h and w; out [4c][(h+1)/2][(w+1)/2] holds, for q = 0..3, the
 * neighbours x0 = in[., 2y, 2x], x1 = in[., 2y+1, 2x], x2 = in[., 2y, 2x+1],
 * x3 = in[., 2y+1, 2x+1] at channels [q*c, (q+1)*c). */
void dc_patch_merge(int c, int h, int w, const float *in, float *out);

/* Shape of Swin's shifted-window attention on one sample [c][h][w]: heads divides c,
 * square windows of `window` tokens a side, the block's nominal shift (window/2 on odd
 * blocks, else 0; the kernel applies torchvision's rule that an axis whose padded size is
 * not larger than the window is not shifted), and cosine attention for Swin V2. */
typedef struct {
    int c, h, w;
    int heads;
    int window;
    int shift;
    bool cosine;
} dc_wattn_shape;

/* The padded map (multiples of the window) and the shifts actually applied. */
void dc_wattn_geometry(const dc_wattn_shape *s, int *ph, int *pw, int *sh, int *sw);

/* Floats of scratch dc_window_attention needs, and its multiply-adds (the qkv and proj
 * linears and both attention matmuls, padding tokens included). */
size_t dc_window_attention_workspace_floats(const dc_wattn_shape *s);
int64_t dc_window_attention_macs(const dc_wattn_shape *s);

/* The weights as dc_window_attention takes them, made once at load into
 * dc_wattn_packed_floats(s) floats: qkv_w [3c][c] and proj_w [c][c] packed for the packed
 * GEMM (kernels/gemm_packed.c), their biases qkv_b [3c] and proj_b [c] (either may be NULL:
 * zero; Swin V2's qkv_b with its k third already zero), pos_bias [heads][N][N] with N =
 * window^2 (the relative position bias, V2's 16*sigmoid(cpb) included) transposed. */
size_t dc_wattn_packed_floats(const dc_wattn_shape *s);
void dc_wattn_pack(const dc_wattn_shape *s, const float *qkv_w, const float *qkv_b,
                   const float *proj_w, const float *proj_b, const float *pos_bias,
                   float *packed);

/* torchvision's shifted_window_attention on one sample, in [c][h][w] -> out [c][h][w]
 * (see attention.c for the steps), on weights made by dc_wattn_pack; logit_scale [heads]
 * (cosine only: the multiplier exp(min(logit_scale, log 100))). workspace holds
 * dc_window_attention_workspace_floats(s) floats; out must not alias in. */
void dc_window_attention(const dc_wattn_shape *s, const float *in, const float *packed,
                         const float *logit_scale, float *out, float *workspace);

/* Rows of windows ("bands") of the padded map: the unit the runtime's threads share. */
int dc_window_attention_bands(const dc_wattn_shape *s);

/* dc_window_attention for bands [b0, b1) only: writes the output pixels of those bands
 * (bands are disjoint in the output). */
void dc_window_attention_range(const dc_wattn_shape *s, const float *in, const float *packed,
                               const float *logit_scale, float *out, int b0, int b1,
                               float *workspace);

#endif /* DC_KERNELS_H */
