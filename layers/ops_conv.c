/*
 * ops_conv.c — the conv's table entry (DC_OP_CONV; ops.h): which kernel runs it and how it
 * is cut into tasks. A conv picks its method by shape, at plan time or per pass:
 *  - Winograd F(4x4,3x3) for the stride-1 3x3 convs where it pays, or F(2x2,3x3) on
 *    weights packed at load for small maps at small batches and 2x2 maps in batches
 *    (docs/winograd.md); from a batch of 8 their tile blocks span samples; F(4x4)'s
 *    products on U packed at load in batches and on small maps at small batches;
 *  - dc_conv_packed, im2col + a GEMM on weights packed at load, for other convs on small
 *    maps at small batches and strided ones tile by tile (kernels/conv_packed.c), group
 *    by group for groups too wide for the direct kernel;
 *  - the direct kernel (kernels/small_conv.c) for 3-channel 3x3 and 7x7 stems, and group
 *    by group for grouped 3x3 convs of few channels a group (ResNeXt, RegNet), the
 *    stride-1 ones of those mostly by Winograd F(4, 3) down the columns
 *    (kernels/small_conv_wino.c, on weights transformed at load), which also takes
 *    groups of up to 64 channels on 14x14 maps from F(2x2);
 *  - else im2col + SGEMM in pixel tiles, or blocks of samples as one GEMM on small maps,
 *    or, for a map that one tile covers at batch 1, one im2col matrix all threads share.
 * At batch 1 on several threads the packed paths, and Winograd on a map too small to split
 * by tiles, likewise build one input operand together, then split the output channels
 * (but Winograd convs on packed weights with few output channels run whole: runs_whole).
 * A fused residual add (dc_net_fuse) rides in the epilogue of every path.
 */
#include <stdlib.h>

#include "layers/net.h"
#include "base/alloc.h"

/* Input channels up to which a Winograd F(4x4) conv at batch 1 does not share its
 * transformed input between the threads (can_share_input). */
enum { WINOGRAD_SHALLOW_CIN = 64 };

/* Output channels under which a Winograd conv on packed weights (F(4x4) or F(2x2)) of one
 * sample runs whole on one thread (runs_whole). */
enum { WINOGRAD_NARROW_COUT = 64 };

/* A conv's split (the generic job first, so a task can get back from the job it is
 * handed to its conv_job). */
typedef struct {
    dc_op_job base;
    int tile, ptiles;        /* pixels a tile, tiles a sample */
    int co_blocks, co_block; /* output-channel blocks (of a group), channels a block */
    int samples;             /* > 1: each task takes this many samples as one GEMM */
} conv_job;

/* ---- planning ------------------------------------------------------------------------ */

/* Packs the weights of a conv that runs faster by dc_conv_packed (small maps, small
 * batches); without memory for them it stays on im2col + SGEMM. A grouped conv packs
 * each group's weights and runs group by group, each group a conv of its own
 * (group_shape): regnet_x_8gf's and regnet_x_16gf's strided convs of 120 and 128
 * channels a group, which on im2col + SGEMM ran at 57-84% of the SGEMM peak
 * (regnet_x_16gf's four, one thread, batch 1: 41 -> 28 ms of its 189). DC_PACKED=0 keeps
 * them, like the rest, on im2col (measuring, tests). */
static void choose_packed(dc_node *nd, int max_batch)
{
    dc_conv_params *p = &nd->conv;
    const dc_conv_shape g = dc_conv_group_shape(&p->shape);
    if (p->packed || p->direct || !dc_conv_packed_pays(&g, max_batch))
        return;
    const size_t per_group = dc_conv_packed_weight_floats(&g);
    const size_t w_group = (size_t)g.cout * g.cin * g.kh * g.kw;
    p->packed = dc_node_own(nd, dc_malloc(per_group * (size_t)p->shape.groups *
                                          sizeof(float)));
    for (int k = 0; p->packed && k < p->shape.groups; k++)
        dc_conv_pack_weights(&g, p->weight + k * w_group, p->packed + k * per_group);
}

/* Whether the groups of a grouped conv (g: one group's shape) run Winograd F(2x2) on
 * packed U rather than F(4x4), at batches under 8 (sample by sample). F(4x4) judges one
 * group's U, which stays small; but every group streams its own, 4x the weights in all
 * against F(2x2)'s 16/9 (regnet_x_16gf's 896x14x14 convs: 16.5 against 7.3 MB). One
 * thread, batch 1: those 12 convs 40.5 -> 33.9 ms; regnet_x_3_2gf's 1008x7x7 conv (21
 * groups) 0.82 -> 0.49 ms at two threads. */
static bool grouped_winograd2_pays(const dc_conv_shape *g, int max_batch)
{
    return dc_winograd2_samples(g, max_batch) == 1;
}

/* Whether a conv runs the direct kernel (dc_small_conv_pays: the stems, and grouped convs
 * of few channels a group, group by group; and groups of up to 64 channels that F(4, 3)
 * down the columns takes): a stem where no Winograd transform is chosen, a grouped conv
 * before any (conv_prepare). DC_DIRECT_GROUPS=0 keeps the grouped ones on their other
 * paths (measuring, tests), as DC_GROUP_WINO=0 does the wider groups. */
static bool choose_direct(const dc_node *nd)
{
    const dc_conv_params *p = &nd->conv;
    if (p->residual)
        return false;
    const char *env = getenv("DC_DIRECT_GROUPS"), *wino_env = getenv("DC_GROUP_WINO");
    const bool groups_off = env && *env == '0';
    /* wider groups (regnet_x_3_2gf's 48 channels, regnet_y_8gf's 56, on 14x14) only where
     * F(4, 3) down the columns takes them (choose_direct_wino), instead of F(2x2):
     * regnet_x_3_2gf's 432x14x14 convs in 9 groups 9.9-10.1 -> 5.9-6.2 ms, regnet_y_8gf's
     * 896x14x14 in 16 groups 12.8-13.2 -> 9.0-9.2 ms (one thread, batch 1, all nodes) */
    if (p->shape.groups > 1 && !groups_off && !(wino_env && *wino_env == '0') &&
        p->shape.cin % p->shape.groups == 0 && p->shape.cout % p->shape.groups == 0) {
        const dc_conv_shape g = dc_conv_group_shape(&p->shape);
        if (g.cin > DC_SMALL_CONV_GROUP_MAX_CIN && dc_small_conv_wino_pays(&g))
            return true;
    }
    if (!dc_small_conv_pays(&p->shape))
        return false;
    return p->shape.groups == 1 || !groups_off;
}

/* Gives a conv on the direct kernel each group's weights for Winograd F(4, 3) down
 * the columns where that pays (dc_small_conv_wino_pays: stride 1, groups of 2 to 64
 * channels on rows of 14 or more), and a stem's, which runs them only inside a
 * depth-first head (runs_direct_wino). DC_GROUP_WINO=0 keeps the direct loops (measuring,
 * tests); without memory for the weights they stay too (correct, and for the wider groups
 * slower than F(2x2)). */
static void choose_direct_wino(dc_node *nd)
{
    dc_conv_params *p = &nd->conv;
    const dc_conv_shape g = dc_conv_group_shape(&p->shape);
    const char *env = getenv("DC_GROUP_WINO");
    if (!p->weight || p->direct_wino || (env && *env == '0') || !dc_small_conv_wino_pays(&g))
        return;
    const size_t per_group = dc_small_conv_wino_weight_floats(&g);
    const size_t w_group = (size_t)g.cout * g.cin * 9;
    p->direct_wino = dc_node_own(nd, dc_malloc(per_group * (size_t)p->shape.groups *
                                               sizeof(float)));
    for (int k = 0; p->direct_wino && k < p->shape.groups; k++)
        dc_small_conv_wino_weights(&g, p->weight + k * w_group, p->direct_wino + k * per_group);
}

/* Gives a stride-1 3x3 conv where Winograd pays (dc_winograd_pays_in_batch,
 * dc_winograd2_pays: measured on this kind of machine, docs/winograd.md) its transformed
 * weights, and a conv on a small map at small batches its packed weights (choose_packed);
 * the others stay im2col + SGEMM. Without memory for the transform a conv simply stays
 * on im2col. */
static void conv_prepare(dc_node *nd, int max_batch)
{
    dc_conv_params *p = &nd->conv;
    p->direct = choose_direct(nd);
    if (!p->weight || p->winograd)
        return;
    /* a grouped conv the direct kernel takes runs it even where Winograd would pay:
     * regnet_x_1_6gf's 408x14x14 convs in 17 groups 0.225 ms against 0.55 on F(2x2),
     * resnext50_32x4d's 1024x7x7 in 32 groups 0.256 against 0.64 (one thread, batch 1) */
    if (p->direct && p->shape.groups > 1) {
        choose_direct_wino(nd);
        return;
    }
    /* a stem's F(4, 3) weights too, for when it runs in a depth-first head
     * (runs_direct_wino), which needs a batch of two chunks at least (net.c: head_plan) */
    if (p->direct && max_batch >= 2)
        choose_direct_wino(nd);
    /* a grouped conv (RegNet, groups of 64-128 channels) runs group by group */
    const dc_conv_shape g = dc_conv_group_shape(&p->shape);
    const int groups = p->shape.groups;
    if (dc_winograd2_pays(&g, max_batch) &&
        (groups == 1 ? !dc_winograd_pays_in_batch(&g, max_batch)
                     : grouped_winograd2_pays(&g, max_batch))) {
        p->w2_samples = dc_winograd2_samples(&g, max_batch);
        const size_t per_group = dc_winograd2_weight_floats(&g, p->w2_samples);
        const size_t w_group = (size_t)g.cout * g.cin * 9;
        p->winograd = dc_node_own(nd, dc_malloc(per_group * (size_t)groups * sizeof(float)));
        for (int k = 0; p->winograd && k < groups; k++)
            dc_winograd2_pack_weights(&g, p->w2_samples, p->weight + k * w_group,
                                      p->winograd + k * per_group);
        p->winograd2 = p->winograd != NULL;
        return;
    }
    if (!dc_winograd_pays_in_batch(&g, max_batch)) {
        choose_packed(nd, max_batch);
        return;
    }
    const size_t per_group = dc_winograd_weight_floats(&g);
    const size_t w_group = (size_t)g.cout * g.cin * 9;
    p->winograd = dc_node_own(nd, dc_malloc(per_group * (size_t)p->shape.groups *
                                            sizeof(float)));
    for (int k = 0; p->winograd && k < p->shape.groups; k++)
        dc_winograd_transform_weights(&g, p->weight + k * w_group, p->winograd + k * per_group);
    /* U packed too: in batches, for the tile blocks across samples; at smaller batches on
     * maps of 16 to 48 tiles (14x14 and 16x16: F(4x4) takes them where U is small), whose
     * 36 products of 16 columns SGEMM ran slowly, and more slowly still cut into blocks of
     * output channels for two threads (each call re-packs its operand); on 7x7 and 8x8
     * maps (4 tiles, a quarter of a vector) only for convs of fewer than
     * WINOGRAD_NARROW_COUT output channels. Batch 1, one thread, OpenBLAS's AVX2 kernels
     * (AVX-512 ones): densenet121's 24 convs 128 -> 32 on 14x14 3.46 -> 1.69-1.78 ms
     * (2.5-3.9 -> 1.7-2.3), at two threads 4.5-4.9 -> 2.0-2.2 (with runs_whole); its 16 on
     * 7x7 1.50 -> 0.73-0.75 (0.91-1.20 -> 0.77-0.93); vgg16_bn's 128x16x16 conv 0.52-0.67
     * -> 0.16-0.21 (0.31-0.50 -> 0.17-0.24); resnet56's 32x16x16 convs 0.81-0.85 ->
     * 0.40-0.49 (0.34-0.58 -> 0.32-0.48); but resnet20's 64 -> 64 on 8x8 0.35 -> 0.24
     * against AVX2 SGEMM and 0.13 -> 0.24 against AVX-512 SGEMM, so not there. */
    const char *env = getenv("DC_WG_PACKED");
    const int tiles = dc_winograd_tiles(&g);
    if (p->winograd && p->shape.groups == 1 &&
        (max_batch >= DC_WINOGRAD_BATCH ||
         (tiles < 49 && (tiles >= 16 || g.cout < WINOGRAD_NARROW_COUT))) &&
        !(env && *env == '0')) {
        p->winograd_packed = dc_node_own(nd, dc_malloc(dc_winograd_packed_floats(&g) *
                                                       sizeof(float)));
        if (p->winograd_packed)
            dc_winograd_pack_u(&g, p->winograd, p->winograd_packed);
    }
}

/* Whether a conv can run as a shared im2col then output-channel blocks (run_shared):
 * dense, im2col-based, and its whole map one tile. */
static bool can_share_cols(const dc_node *nd)
{
    const dc_conv_shape *s = &nd->conv.shape;
    return !nd->conv.winograd && !nd->conv.packed && s->groups == 1 &&
           !dc_conv_is_pointwise(s) && dc_conv_tile_pixels(s) >= nd->h * nd->w &&
           !dc_small_conv_pays(s);
}

/* Whether a Winograd conv run at n samples takes its tiles in ranges across the samples
 * (dc_winograd_conv2d_samples): ungrouped convs, from DC_WINOGRAD_BATCH samples. */
static bool winograd_across_samples(const dc_node *nd, int n)
{
    return nd->conv.winograd && !nd->conv.winograd2 && nd->conv.shape.groups == 1 &&
           n >= DC_WINOGRAD_BATCH;
}

/* Whether a Winograd conv on packed weights of one sample runs whole on one thread, the
 * other threads idle: one with few output channels (DenseNet's 128 -> 32 and 192 -> 48
 * convs on 14x14 and 7x7 maps), whose input transform is most of its work. Shared, the
 * transformed input went from the core that wrote it to the other, on this VM's two vCPUs
 * slower than the second core saved (a cache line's round trip between them: 116-133 ns);
 * split by output channels, each thread transformed the whole input again. Two threads,
 * batch 1: densenet161's 36 convs 192 -> 48 on 14x14 6.3-6.7 ms shared, 5.3-5.5 split,
 * 5.1-5.2 whole. Wider convs gain from the split: resnet20's 64 -> 64 on 8x8, 0.14 ms
 * against 0.19 whole. */
static bool runs_whole(const dc_node *nd, int n)
{
    const dc_conv_params *p = &nd->conv;
    return n == 1 && p->shape.groups == 1 && (p->winograd_packed || p->winograd2) &&
           p->shape.cout < WINOGRAD_NARROW_COUT;
}

/* Whether a conv of one sample can run_input_shared: on packed weights (F(2x2),
 * dc_conv_packed but a 1x1 conv that reads its input in place: nothing to build), or
 * Winograd F(4x4) whose tiles make one block, from an input of more than
 * WINOGRAD_SHALLOW_CIN channels. On shallower inputs the input transform that sharing
 * saves costs less than the second dispatch, and the conv runs as planned, each block of
 * output channels with its own V, or whole on one thread (at 2 threads, resnet20's
 * 32-channel 16x16 convs 0.163 ms shared, 0.122 whole; its 64-channel 8x8 ones 0.155-0.178
 * shared, 0.117-0.131 in two blocks; the 128-channel 7x7 ones of densenet121 1.36-1.39 ms
 * shared, 1.46-1.52 whole). */
static bool can_share_input(const dc_node *nd)
{
    const dc_conv_params *p = &nd->conv;
    return (p->winograd2 && p->shape.groups == 1) ||
           /* no copy to share in place; a copy too large to share for a strided conv
            * taken by tiles of pixels (plan_l2_tiles) */
           (p->packed && p->shape.groups == 1 && !dc_conv_packed_in_place(&p->shape) &&
            dc_conv_packed_l2_tile(&p->shape) == 0) ||
           (p->winograd && p->shape.groups == 1 && dc_winograd_one_block(&p->shape) &&
            p->shape.cin > WINOGRAD_SHALLOW_CIN);
}

/* The shared input operand a conv builds (run_input_shared, run_shared), in floats. */
static size_t conv_shared_floats(const dc_node *nd)
{
    const dc_conv_shape *s = &nd->conv.shape;
    if (can_share_input(nd)) {
        if (nd->conv.winograd2)
            return dc_winograd2_input_floats(s, nd->conv.w2_samples);
        return nd->conv.packed ? dc_conv_packed_input_floats(s) : dc_winograd_input_floats(s);
    }
    return can_share_cols(nd) ? (size_t)s->cin * s->kh * s->kw * nd->h * nd->w : 0;
}

static size_t conv_workspace_floats(const dc_node *nd, int max_batch)
{
    const dc_conv_shape *s = &nd->conv.shape;
    if (nd->conv.winograd2) {
        const dc_conv_shape g = dc_conv_group_shape(s); /* a task runs one group */
        return dc_winograd2_workspace_floats(&g, nd->conv.w2_samples);
    }
    if (nd->conv.packed) {
        const dc_conv_shape g = dc_conv_group_shape(s); /* a task runs one group */
        return dc_conv_packed_workspace_floats(&g);
    }
    if (nd->conv.winograd) {
        const dc_conv_shape g = dc_conv_group_shape(s);
        const int samples = winograd_across_samples(nd, max_batch) ? max_batch : 1;
        return dc_winograd_workspace_floats(&g, samples * dc_winograd_tiles(&g));
    }
    size_t tile = dc_conv2d_tile_workspace_floats(s);
    int samples = dc_conv_samples_per_tile(s, max_batch);
    size_t batched = samples > 1 ? dc_conv2d_samples_workspace_floats(s, samples) : 0;
    return tile > batched ? tile : batched;
}

/* ---- tasks --------------------------------------------------------------------------- */

/* The input, the residual (NULL when none) and the output of sample `sample` of a conv. */
typedef struct {
    const float *in, *res;
    float *out;
} conv_io;

static conv_io conv_io_at(const dc_op_job *job, int sample)
{
    const dc_node *nd = job->nd;
    const dc_conv_shape *s = &nd->conv.shape;
    const size_t in_numel = (size_t)s->cin * s->h * s->w;
    const size_t out_numel = dc_node_numel(nd);
    conv_io io = { dc_op_data(job, nd->inputs[0]) + sample * in_numel, NULL,
                   dc_op_out(job) + sample * out_numel };
    if (nd->conv.residual)
        io.res = dc_op_data(job, nd->inputs[1]) + sample * out_numel;
    return io;
}

/* io moved to group grp's channels of a grouped conv (a Winograd path runs each group as
 * a conv of its own, group_shape). */
static conv_io group_io(const dc_node *nd, conv_io io, int grp)
{
    const dc_conv_shape *s = &nd->conv.shape;
    const size_t in_off = (size_t)grp * (s->cin / s->groups) * s->h * s->w;
    const size_t out_off = (size_t)grp * (s->cout / s->groups) * nd->h * nd->w;
    io.in += in_off;
    io.out += out_off;
    if (io.res)
        io.res += out_off;
    return io;
}

/* Output channels [*co0, *co1) of channel block cb when `total` are split in job's blocks. */
static void co_block_range(const conv_job *job, int cb, int total, int *co0, int *co1)
{
    *co0 = cb * job->co_block;
    *co1 = *co0 + job->co_block < total ? *co0 + job->co_block : total;
}

/* Splits `total` output channels into at most `want` blocks (one when want < 2) of at least
 * min_rows rows each: sets job->co_block and job->co_blocks. */
static void split_channels(conv_job *job, int total, int want, int min_rows)
{
    const int max_blocks = total / min_rows > 1 ? total / min_rows : 1;
    const int blocks = want < 1 ? 1 : want < max_blocks ? want : max_blocks;
    job->co_block = (total + blocks - 1) / blocks;
    job->co_blocks = (total + job->co_block - 1) / job->co_block;
}

/* Conv task over several samples at once: (sample block, group, output-channel block). */
static void samples_task(const conv_job *job, int task, float *scratch)
{
    const dc_conv_params *p = &job->base.nd->conv;
    const dc_conv_shape *s = &p->shape;
    const int per_block = s->groups * job->co_blocks;
    const int first = task / per_block * job->samples;
    const int n = job->base.n;
    const int count = first + job->samples <= n ? job->samples : n - first;
    const int cb = task % per_block % job->co_blocks, g = task % per_block / job->co_blocks;
    int co0, co1;
    co_block_range(job, cb, s->cout / s->groups, &co0, &co1);
    const conv_io io = conv_io_at(&job->base, first);
    dc_conv2d_samples(s, count, io.in, p->weight, p->bias, io.res, p->act, io.out, g, co0,
                      co1, scratch);
}

/* Winograd conv task: (sample, range of 4x4 output tiles, output-channel block). */
static void winograd_task(const conv_job *job, int task, float *scratch)
{
    const dc_node *nd = job->base.nd;
    const dc_conv_params *p = &nd->conv;
    const dc_conv_shape *s = &p->shape, g = dc_conv_group_shape(s);
    const int per_group = job->ptiles * job->co_blocks;
    const int per_sample = s->groups * per_group;
    const int sample = task / per_sample, grp = task % per_sample / per_group;
    const int tp = task % per_group / job->co_blocks, cb = task % job->co_blocks;
    int t0, t1, co0, co1;
    dc_split_range(dc_winograd_tiles(&g), job->ptiles, tp, &t0, &t1);
    co_block_range(job, cb, g.cout, &co0, &co1);
    const conv_io io = group_io(nd, conv_io_at(&job->base, sample), grp);
    if (p->winograd_packed) /* ungrouped */
        dc_winograd_conv2d_samples_packed(&g, io.in, p->winograd, p->winograd_packed, p->bias,
                                          io.res, p->act, io.out, t0, t1, co0, co1, scratch);
    else
        dc_winograd_conv2d_residual(&g, io.in,
                                    p->winograd + grp * dc_winograd_weight_floats(&g),
                                    p->bias ? p->bias + grp * g.cout : NULL, io.res, p->act,
                                    io.out, t0, t1, co0, co1, scratch);
}

/* Output-channel blocks of a Winograd conv on packed U made whole blocks of its rows
 * (dc_winograd_packed_rows), so that they run on the packed GEMM. */
static void align_to_packed_rows(conv_job *job)
{
    const dc_conv_params *p = &job->base.nd->conv;
    if (!p->winograd_packed)
        return;
    const int rows = dc_winograd_packed_rows(&p->shape);
    job->co_block = (job->co_block + rows - 1) / rows * rows;
    job->co_blocks = (p->shape.cout + job->co_block - 1) / job->co_block;
}

/* Plans a Winograd conv: whole samples when the batch gives every thread one, else one
 * task per thread: the sample's tiles in ranges of at least 16 tiles (a range re-reads all
 * of U: docs/winograd.md), then output-channel blocks (each repeats the input transform).
 * No more tasks than threads: each split costs work. Returns the number of tasks. */
static int plan_winograd(conv_job *job, int threads)
{
    const dc_conv_shape *conv = &job->base.nd->conv.shape, g = dc_conv_group_shape(conv), *s = &g;
    const int tiles = dc_winograd_tiles(s);
    const int units = job->base.n * conv->groups;          /* (sample, group) pairs */
    const int want = (threads + units - 1) / units;        /* tasks per pair wanted */
    job->ptiles = 1;
    int more = 1; /* channel blocks wanted once the tiles are split */
    if (threads > 1 && want > 1) {
        int by_tiles = tiles / 16 > 1 ? tiles / 16 : 1;
        job->ptiles = want < by_tiles ? want : by_tiles;
        more = (want + job->ptiles - 1) / job->ptiles;
    }
    split_channels(job, s->cout, more, 32); /* at least 32 rows a block */
    align_to_packed_rows(job);
    return units * job->ptiles * job->co_blocks;
}

/* Winograd conv task over a batch: the job->tile tiles of range `task`, tiles numbered
 * across the samples, and every output channel (so no task repeats an input transform). */
static void winograd_across_task(const conv_job *job, int task, float *scratch)
{
    const dc_conv_params *p = &job->base.nd->conv;
    const int total = job->base.n * dc_winograd_tiles(&p->shape);
    const int t0 = task * job->tile, t1 = t0 + job->tile < total ? t0 + job->tile : total;
    const conv_io io = conv_io_at(&job->base, 0);
    if (p->winograd_packed)
        dc_winograd_conv2d_samples_packed(&p->shape, io.in, p->winograd, p->winograd_packed,
                                          p->bias, io.res, p->act, io.out, t0, t1, 0,
                                          p->shape.cout, scratch);
    else
        dc_winograd_conv2d_samples(&p->shape, io.in, p->winograd, p->bias, io.res, p->act,
                                   io.out, t0, t1, 0, p->shape.cout, scratch);
}

/* Plans a Winograd conv over a batch: ranges of one kernel block of tiles each
 * (dc_winograd_block_tiles), smaller when that leaves threads without two ranges each, but
 * of at least 16 tiles (each range reads all of U). Returns the number of tasks. */
static int plan_winograd_across(conv_job *job, int threads)
{
    const dc_conv_shape *s = &job->base.nd->conv.shape;
    const int total = job->base.n * dc_winograd_tiles(s);
    const int even = (total + 2 * threads - 1) / (2 * threads);
    int per = dc_winograd_block_tiles(s);
    if (even < per) /* whole vectors of 16 tiles: the packed products want them */
        per = even > 16 ? (even + 15) / 16 * 16 : 16;
    job->tile = per;
    return (total + per - 1) / per;
}

/* Winograd F(2x2) conv task: (block of w2_samples samples, output-channel block); every
 * task transforms its samples' input itself (a small cost next to streaming its block of
 * U). */
static void winograd2_task(const conv_job *job, int task, float *scratch)
{
    const dc_node *nd = job->base.nd;
    const dc_conv_params *p = &nd->conv;
    const dc_conv_shape *s = &p->shape, g = dc_conv_group_shape(s);
    const int per_block = s->groups * job->co_blocks;
    const int first = task / per_block * p->w2_samples;
    const int grp = task % per_block / job->co_blocks;
    const int count = job->base.n - first < p->w2_samples ? job->base.n - first : p->w2_samples;
    int co0, co1;
    co_block_range(job, task % job->co_blocks, g.cout, &co0, &co1);
    /* grouped convs take one sample a call (w2_samples is 1): the samples' strides are
     * the whole conv's, not the group's */
    const conv_io io = group_io(nd, conv_io_at(&job->base, first), grp);
    dc_winograd2_conv2d(&g, p->w2_samples, count, io.in,
                        p->winograd + grp * dc_winograd2_weight_floats(&g, p->w2_samples),
                        p->bias ? p->bias + grp * g.cout : NULL, io.res, p->act, io.out, co0,
                        co1, scratch);
}

/* Packed-weight conv task: (sample, group, output-channel block), or (sample, group, tile
 * of pixels) with every output channel of the group; every task makes its own im2col
 * (small next to streaming its block of the weights). A group is a conv of its own
 * (group_shape), its packed weights and bias the group's slices. */
static void packed_task(const conv_job *job, int task, float *scratch)
{
    const dc_node *nd = job->base.nd;
    const dc_conv_params *p = &nd->conv;
    const dc_conv_shape g = dc_conv_group_shape(&p->shape);
    const int split = job->ptiles > 1 ? job->ptiles : 1; /* plan_packed_columns, plan_l2_tiles */
    const int per_unit = split * job->co_blocks, unit = task / per_unit;
    const int grp = unit % p->shape.groups;
    int co0, co1;
    co_block_range(job, task % job->co_blocks, g.cout, &co0, &co1);
    const conv_io io = group_io(nd, conv_io_at(&job->base, unit / p->shape.groups), grp);
    const float *packed = p->packed + grp * dc_conv_packed_weight_floats(&g);
    const float *bias = p->bias ? p->bias + grp * g.cout : NULL;
    if (split > 1) {
        const int npix = nd->h * nd->w, p0 = task % per_unit / job->co_blocks * job->tile;
        const int p1 = p0 + job->tile < npix ? p0 + job->tile : npix;
        dc_conv_packed_columns(&g, io.in, packed, bias, io.res, p->act, io.out, co0, co1, p0,
                               p1, scratch);
        return;
    }
    dc_conv_packed(&g, io.in, packed, bias, io.res, p->act, io.out, co0, co1, scratch);
}

/* Plans a conv on packed weights (Winograd F(2x2) or dc_conv_packed) over n units (samples,
 * blocks of samples, or (sample, group) pairs), `rows` output channels (of a group) a packed
 * block: output-channel blocks of
 * whole packed blocks (so none is computed twice), about two per thread when the units do
 * not supply them. */
static int plan_packed(conv_job *job, int threads, int rows, int n)
{
    const int cout = dc_conv_group_shape(&job->base.nd->conv.shape).cout;
    const int blocks = (cout + rows - 1) / rows;
    int want = threads > 1 ? (2 * threads + n - 1) / n : 1;
    want = want < blocks ? want : blocks;
    const int per = (blocks + want - 1) / want; /* U blocks per task */
    job->co_block = per * rows;
    job->co_blocks = (cout + job->co_block - 1) / job->co_block;
    return n * job->co_blocks;
}

/* A 1x1 conv read in place (dc_conv_packed_in_place) on one sample with fewer blocks of
 * output channels than two a thread: each block is split by pixels too, in whole vectors
 * (nothing is shared between the pieces: the input is the matrix). Split by output
 * channels alone, a conv of 16 or 32 of them was one block on one thread, and sharing an
 * im2col copy first made it slower on two threads than on one (mobilenetv2_x0_5 (cifar):
 * its 96x16x16 -> 16 convs 0.019 -> 0.064 ms). Returns the number of tasks. */
static int plan_packed_columns(conv_job *job, int threads)
{
    const dc_node *nd = job->base.nd;
    const int npix = nd->h * nd->w, vectors = npix / DC_PACKED_LANES;
    int chunks = (2 * threads + job->co_blocks - 1) / job->co_blocks;
    chunks = chunks < vectors ? chunks : vectors;
    job->tile = (vectors + chunks - 1) / chunks * DC_PACKED_LANES;
    job->ptiles = (npix + job->tile - 1) / job->tile;
    return job->co_blocks * job->ptiles;
}

/* A 1x1 conv read in place whose input matrix is too large to read whole per block of
 * output channels, or a strided conv on a large map (dc_conv_packed_l2_tile): tasks of
 * (unit, tile of pixels), each with every output channel of the unit's group (a strided
 * conv making the tile's im2col), so that the tile's columns stay in L2 while the packed
 * weights pass over them; n units: (sample, group) pairs. At one unit the tiles are made
 * a multiple of the threads in number, of equal width in whole vectors (the last to the
 * map's end). Returns the number of tasks. */
static int plan_l2_tiles(conv_job *job, int threads, int n, int tile)
{
    const dc_node *nd = job->base.nd;
    const int npix = nd->h * nd->w, vectors = npix / DC_PACKED_LANES;
    const int per_tile = tile / DC_PACKED_LANES;
    int chunks = (vectors + per_tile - 1) / per_tile;
    if (n == 1 && threads > 1)
        chunks = (chunks + threads - 1) / threads * threads;
    chunks = chunks < vectors ? chunks : vectors;
    job->co_block = dc_conv_group_shape(&nd->conv.shape).cout;
    job->co_blocks = 1;
    job->tile = (vectors + chunks - 1) / chunks * DC_PACKED_LANES;
    job->ptiles = (npix + job->tile - 1) / job->tile;
    return n * job->ptiles;
}

/* Whether a conv on the direct kernel runs F(4, 3) down the columns: a grouped conv
 * whenever its weights were made (choose_direct_wino), a stem only inside a depth-first
 * head (net.c: head_plan), where its output stays in L2 for the next conv. There it is
 * 1.2-1.3x faster than the direct loops (vgg16_bn at batch 64, one thread, AMD Zen 5:
 * 0.0157-0.0159 against 0.0194 ms an image, 111% of the SGEMM peak); outside one its
 * 256 KiB an image go to memory and it was slower (0.0258 against 0.0214). */
static bool runs_direct_wino(const dc_node *nd)
{
    return nd->conv.direct_wino && (nd->conv.shape.groups > 1 || nd->head_chunked);
}

/* Direct conv task: (sample, group, output-channel block of the group); a group is a
 * conv of its own (group_shape), its weights and bias the group's slices. */
static void small_conv_task(const conv_job *job, int task)
{
    const dc_node *nd = job->base.nd;
    const dc_conv_params *p = &nd->conv;
    const dc_conv_shape g = dc_conv_group_shape(&p->shape);
    const int unit = task / job->co_blocks, grp = unit % p->shape.groups;
    int co0, co1;
    co_block_range(job, task % job->co_blocks, g.cout, &co0, &co1);
    const conv_io io = group_io(nd, conv_io_at(&job->base, unit / p->shape.groups), grp);
    const float *bias = p->bias ? p->bias + grp * g.cout : NULL;
    if (runs_direct_wino(nd)) {
        dc_small_conv_wino_range(&g, io.in,
                                 p->direct_wino + grp * dc_small_conv_wino_weight_floats(&g),
                                 bias, p->act, io.out, co0, co1);
        return;
    }
    const size_t w_group = (size_t)g.cout * g.cin * g.kh * g.kw;
    dc_small_conv2d_range(&g, io.in, p->weight + grp * w_group, bias, p->act, io.out, co0, co1);
}

/* Whether a conv node runs the direct kernel (conv_prepare: choose_direct). */
static bool uses_small_conv(const dc_node *nd)
{
    const dc_conv_params *p = &nd->conv;
    return p->direct && !p->winograd && !p->residual;
}

/* Conv task: (sample, group, pixel tile, output-channel block), or one of the other
 * paths' tasks. */
static void conv_task(const dc_op_job *base, int task, float *scratch)
{
    const conv_job *job = (const conv_job *)base; /* conv_run handed out a conv_job */
    const dc_node *nd = base->nd;
    const dc_conv_params *p = &nd->conv;
    const dc_conv_shape *s = &p->shape;
    if (p->winograd2) {
        winograd2_task(job, task, scratch);
        return;
    }
    if (p->packed) {
        packed_task(job, task, scratch);
        return;
    }
    if (winograd_across_samples(nd, job->base.n)) {
        winograd_across_task(job, task, scratch);
        return;
    }
    if (p->winograd) {
        winograd_task(job, task, scratch);
        return;
    }
    if (uses_small_conv(nd)) {
        small_conv_task(job, task);
        return;
    }
    if (job->samples > 1) {
        samples_task(job, task, scratch);
        return;
    }
    const int per_sample = s->groups * job->ptiles * job->co_blocks;
    const int sample = task / per_sample;
    int rest = task % per_sample;
    const int cb = rest % job->co_blocks;
    rest /= job->co_blocks;
    const int pt = rest % job->ptiles;
    const int g = rest / job->ptiles;

    const int npix = nd->h * nd->w;
    const int p0 = pt * job->tile, p1 = p0 + job->tile < npix ? p0 + job->tile : npix;
    int co0, co1;
    co_block_range(job, cb, s->cout / s->groups, &co0, &co1);
    const conv_io io = conv_io_at(base, sample);
    dc_conv2d_tile(s, io.in, p->weight, p->bias, io.res, p->act, io.out, g, p0, p1, co0,
                   co1, scratch);
}

/* Plans a conv's tiles: pixel tiles from the kernel's cache rule, or for small maps in a
 * batch, blocks of samples as one GEMM (as many as the kernel asks for, fewer when that
 * would leave threads without two blocks each); output channels split further only when
 * samples x groups x tiles leave threads idle (each block then redoes its tile's im2col,
 * which is cheap next to the GEMM). Returns the number of tasks. */
static int plan_conv(conv_job *job, int threads)
{
    const dc_node *nd = job->base.nd;
    const dc_conv_shape *s = &nd->conv.shape;
    const int n = job->base.n;
    const int npix = nd->h * nd->w, cout_g = s->cout / s->groups;
    job->tile = dc_conv_tile_pixels(s);
    job->ptiles = (npix + job->tile - 1) / job->tile;
    job->samples = dc_conv_samples_per_tile(s, n);
    if (job->samples > 1) {
        int balanced = n / (2 * threads);
        if (balanced < job->samples)
            job->samples = balanced > 1 ? balanced : 1;
    }
    const int blocks = (n + job->samples - 1) / job->samples;
    const int have = (job->samples > 1 ? blocks : n) * s->groups * job->ptiles;
    const bool idle = threads > 1 && have < 2 * threads &&
                      (size_t)nd->macs > 8 * DC_PARALLEL_MIN;
    split_channels(job, cout_g, idle ? (2 * threads + have - 1) / have : 1, 16);
    if (job->samples > 1)
        return blocks * s->groups * job->co_blocks;
    job->base.parts = s->groups * job->ptiles * job->co_blocks;
    return n * job->base.parts;
}

/* ---- one im2col matrix, shared ----------------------------------------------------------- */

/* Step 1 of run_shared: rows of the sample's im2col matrix. */
static void shared_cols_task(void *ctx, int task, int thread)
{
    (void)thread;
    const conv_job *job = ctx;
    const dc_op_job *base = &job->base;
    const dc_conv_shape *s = &base->nd->conv.shape;
    int r0, r1;
    dc_split_range(s->cin * s->kh * s->kw, base->parts, task, &r0, &r1);
    dc_im2col_rows(s, dc_op_data(base, base->nd->inputs[0]), r0, r1, base->rs->shared_cols);
}

/* Step 2: one block of output channels from the shared matrix. */
static void shared_gemm_task(void *ctx, int task, int thread)
{
    const conv_job *job = ctx;
    const dc_op_job *base = &job->base;
    const dc_node *nd = base->nd;
    const dc_conv_params *p = &nd->conv;
    dc_blas_single_thread();
    int co0, co1;
    co_block_range(job, task, nd->c, &co0, &co1);
    const conv_io io = conv_io_at(base, 0);
    dc_conv2d_from_cols(&p->shape, base->rs->shared_cols, p->weight, p->bias, io.res, p->act,
                        io.out, 0, nd->h * nd->w, co0, co1,
                        dc_op_thread_workspace(base, thread));
}

/* A single-tile conv of one sample on several threads: the threads first build its im2col
 * matrix together, then each takes blocks of output channels from it, so no block redoes
 * the im2col (the alternative when channel blocks are needed: plan_conv). */
static void run_shared(const dc_op_job *base, int threads, dc_pool *pool)
{
    conv_job job = { .base = *base };
    const dc_conv_shape *s = &base->nd->conv.shape;
    const int k = s->cin * s->kh * s->kw;
    job.base.n = 1;
    job.base.parts = 2 * threads < k ? 2 * threads : k;
    dc_pool_run_on(pool, base->rs->max_threads, job.base.parts, shared_cols_task, &job);
    split_channels(&job, base->nd->c, 2 * threads, 16);
    dc_pool_run_on(pool, base->rs->max_threads, job.co_blocks, shared_gemm_task, &job);
}

/* ---- one input operand, shared ---------------------------------------------------- */

/* Rows of a conv's input operand that run_input_shared splits: input channels of
 * Winograd's V, rows of the im2col matrix. */
static int input_rows(const dc_conv_params *p)
{
    const dc_conv_shape *s = &p->shape;
    return p->winograd ? s->cin : s->cin * s->kh * s->kw;
}

/* Step 1 of run_input_shared: a range of the operand's rows. */
static void shared_input_task(void *ctx, int task, int thread)
{
    const conv_job *job = ctx;
    const dc_op_job *base = &job->base;
    const dc_conv_params *p = &base->nd->conv;
    const dc_conv_shape *s = &p->shape;
    const float *in = dc_op_data(base, base->nd->inputs[0]);
    float *shared = base->rs->shared_cols, *ws = dc_op_thread_workspace(base, thread);
    int r0, r1;
    dc_split_range(input_rows(p), base->parts, task, &r0, &r1);
    if (p->winograd2)
        dc_winograd2_transform_input(s, p->w2_samples, 1, in, r0, r1, shared, ws);
    else if (p->packed)
        dc_conv_packed_make_input(s, in, r0, r1, shared);
    else
        dc_winograd_transform_input(s, in, r0, r1, shared, ws);
}

/* Step 2: one block of output channels from the shared operand. */
static void shared_product_task(void *ctx, int task, int thread)
{
    const conv_job *job = ctx;
    const dc_op_job *base = &job->base;
    const dc_conv_params *p = &base->nd->conv;
    const dc_conv_shape *s = &p->shape;
    const float *shared = base->rs->shared_cols;
    float *ws = dc_op_thread_workspace(base, thread);
    int co0, co1;
    co_block_range(job, task, s->cout, &co0, &co1);
    const conv_io io = conv_io_at(base, 0);
    if (p->winograd2)
        dc_winograd2_conv2d_from_input(s, p->w2_samples, 1, shared, p->winograd, p->bias,
                                       io.res, p->act, io.out, co0, co1, ws);
    else if (p->packed)
        dc_conv_packed_from_input(s, shared, p->packed, p->bias, io.res, p->act, io.out, co0,
                                  co1, ws);
    else
        dc_winograd_conv2d_from_input(s, shared, p->winograd, p->winograd_packed, p->bias,
                                      io.res, p->act, io.out, co0, co1, ws);
}

/* A conv of one sample on several threads, on packed weights or by Winograd on a small
 * map: the threads first build its input operand together (V, or the im2col matrix), then
 * each takes blocks of output channels from it. Split by output channels alone, every
 * block redid the whole input transform: densenet161's 192 -> 48 3x3 convs on 14x14 maps
 * did not gain from a second thread. */
static void run_input_shared(const dc_op_job *base, int threads, dc_pool *pool)
{
    conv_job job = { .base = *base };
    const dc_conv_params *p = &base->nd->conv;
    const int k = input_rows(p);
    job.base.n = 1;
    job.base.parts = 2 * threads < k ? 2 * threads : k;
    dc_pool_run_on(pool, base->rs->max_threads, job.base.parts, shared_input_task, &job);
    if (p->winograd2)
        plan_packed(&job, threads, dc_winograd2_rows(&p->shape, p->w2_samples), 1);
    else if (p->packed)
        plan_packed(&job, threads, dc_conv_packed_rows(&p->shape), 1);
    else if (p->winograd_packed)
        plan_packed(&job, threads, dc_winograd_packed_rows(&p->shape), 1);
    else
        split_channels(&job, p->shape.cout, 2 * threads, 8);
    dc_pool_run_on(pool, base->rs->max_threads, job.co_blocks, shared_product_task, &job);
}

static void conv_run(dc_op_job *base, dc_pool *pool)
{
    conv_job job = { .base = *base };
    const dc_node *nd = base->nd;
    const int n = base->n, threads = runs_whole(nd, n) ? 1 : base->threads;
    int tasks;
    if (nd->conv.winograd2) {
        const int spb = nd->conv.w2_samples; /* samples a product takes */
        const dc_conv_shape g = dc_conv_group_shape(&nd->conv.shape);
        tasks = plan_packed(&job, threads, dc_winograd2_rows(&g, spb),
                            (n + spb - 1) / spb * nd->conv.shape.groups);
    } else if (nd->conv.packed) {
        const dc_conv_shape g = dc_conv_group_shape(&nd->conv.shape);
        const int units = n * nd->conv.shape.groups; /* (sample, group) pairs */
        const int l2_tile = dc_conv_packed_l2_tile(&g);
        if (l2_tile > 0) {
            tasks = plan_l2_tiles(&job, threads, units, l2_tile);
        } else {
            tasks = plan_packed(&job, threads, dc_conv_packed_rows(&g), units);
            if (units == 1 && threads > 1 && job.co_blocks < 2 * threads &&
                dc_conv_packed_in_place(&g))
                tasks = plan_packed_columns(&job, threads);
        }
    } else if (winograd_across_samples(nd, n)) {
        tasks = plan_winograd_across(&job, threads);
    } else if (nd->conv.winograd) {
        tasks = plan_winograd(&job, threads);
    } else if (uses_small_conv(nd)) {
        /* (sample, group) units, split further into output-channel blocks of at least 8
         * (the kernel's register block) when they leave threads idle */
        const int units = n * nd->conv.shape.groups;
        split_channels(&job, dc_conv_group_shape(&nd->conv.shape).cout,
                       threads > 1 ? (2 * threads + units - 1) / units : 1, 8);
        tasks = units * job.co_blocks;
    } else {
        tasks = plan_conv(&job, threads);
        if (n == 1 && job.co_blocks > 1 && base->rs->shared_cols && can_share_cols(nd)) {
            run_shared(base, threads, pool);
            return;
        }
    }
    /* Winograd F(4x4) shares V only where its tiles are too few to split among the
     * threads (two steps cost two dispatches: resnet20 at 2 threads 0.60 -> 0.67 ms when
     * its 64-tile maps shared V instead of splitting the tiles), and only on deep inputs
     * (can_share_input) */
    const bool tiles_split = nd->conv.winograd && !nd->conv.winograd2 && job.ptiles >= threads;
    if (n == 1 && threads > 1 && !tiles_split && base->rs->shared_cols && can_share_input(nd) &&
        !runs_whole(nd, n)) {
        run_input_shared(base, threads, pool);
        return;
    }
    dc_op_run_tasks(&job.base, pool, tasks);
}

const char *dc_conv_method(const dc_node *nd, int batch)
{
    const dc_conv_params *p = &nd->conv;
    const dc_conv_shape *s = &p->shape;
    if (nd->op == DC_OP_DWCONV)
        return "depthwise";
    if (nd->op != DC_OP_CONV)
        return "";
    if (p->winograd2)
        return p->w2_samples > 1 ? "F(2x2), samples as columns" : "F(2x2), packed U";
    if (p->packed) {
        static const char *const names[2][4] = {
            { "packed GEMM, L2 tiles", "im2col + packed GEMM, L2 tiles", "packed GEMM",
              "im2col + packed GEMM" },
            { "packed GEMM, L2 tiles, group by group",
              "im2col + packed GEMM, L2 tiles, group by group", "packed GEMM, group by group",
              "im2col + packed GEMM, group by group" },
        };
        const dc_conv_shape g = dc_conv_group_shape(s);
        const int kind = dc_conv_packed_l2_tile(&g) > 0 ? (dc_conv_packed_in_place(&g) ? 0 : 1)
                                                        : (dc_conv_is_pointwise(&g) ? 2 : 3);
        return names[s->groups > 1][kind];
    }
    if (p->winograd)
        return winograd_across_samples(nd, batch) ? "F(4x4), tiles across samples"
                                                  : "Winograd F(4x4)";
    if (uses_small_conv(nd))
        return runs_direct_wino(nd) ? (s->groups > 1 ? "F(4, 3) down columns, group by group"
                                                     : "F(4, 3) stem, depth-first head")
               : s->groups > 1      ? "direct, group by group"
                                    : "direct stem kernel";
    const int npix = nd->h * nd->w, k = s->cin / s->groups * s->kh * s->kw;
    const int samples = dc_conv_samples_per_tile(s, batch);
    if (samples > 1)
        return "im2col + SGEMM over samples";
    if (npix <= DC_SKINNY_MAX_COLS && k >= DC_SKINNY_MIN_K)
        return "im2col + skinny GEMM";
    return dc_conv_is_pointwise(s) ? "SGEMM" : "im2col + SGEMM";
}

const dc_op_def dc_op_conv = {
    .name = "conv",
    .prepare = conv_prepare,
    .workspace_floats = conv_workspace_floats,
    .shared_floats = conv_shared_floats,
    .run = conv_run,
    .task = conv_task,
};
