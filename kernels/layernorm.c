/*
 * layernorm.c — torch.nn.LayerNorm over the channels of every pixel of one sample
 * [C][H*W] (ConvNeXt's LayerNorm2d, and the LayerNorms of ConvNeXt's blocks and of Swin,
 * which torchvision applies to a channels-last view of the same numbers):
 *   out[c][p] = (in[c][p] - mean_p) / sqrt(var_p + eps) * gamma[c] + beta[c],
 *   mean_p = sum_c in[c][p] / C,  var_p = sum_c (in[c][p] - mean_p)^2 / C (biased).
 * The channels of one pixel lie hw floats apart, so pixels are taken a block at a time:
 * three passes over the block's channels (sum, squared deviations, output), each an
 * inner loop over contiguous pixels. Sums are kept in double.
 *
 * Also Swin's PatchMerging gather (torchvision.models.swin_transformer._patch_merging_pad).
 */
#include "kernels.h"

#include <math.h>

#include "epilogue.h"

#define LN_BLOCK 64 /* pixels per block: 2 x 64 doubles of sums stay in L1 */

void dc_layernorm_channels(int c, int hw, const float *gamma, const float *beta, float eps,
                           const float *in, float *out)
{
    dc_layernorm_channels_range(c, hw, 0, hw, gamma, beta, eps, in, out);
}

void dc_layernorm_channels_range(int c, int hw, int first, int end, const float *gamma,
                                 const float *beta, float eps, const float *in, float *out)
{
    if (c <= 0 || end <= first)
        return;
    for (int p0 = first; p0 < end; p0 += LN_BLOCK) {
        const int n = end - p0 < LN_BLOCK ? end - p0 : LN_BLOCK;
        double sum[LN_BLOCK], sq[LN_BLOCK];
        float mean[LN_BLOCK], rstd[LN_BLOCK];
        for (int i = 0; i < n; i++)
            sum[i] = sq[i] = 0.0;
        for (int k = 0; k < c; k++) {
            const float *row = in + (size_t)k * hw + p0;
            for (int i = 0; i < n; i++)
                sum[i] += row[i];
        }
        for (int i = 0; i < n; i++)
            mean[i] = (float)(sum[i] / c);
        for (int k = 0; k < c; k++) {
            const float *row = in + (size_t)k * hw + p0;
            for (int i = 0; i < n; i++) {
                const double d = (double)row[i] - mean[i];
                sq[i] += d * d;
            }
        }
        for (int i = 0; i < n; i++)
            rstd[i] = (float)(1.0 / sqrt(sq[i] / c + (double)eps));
        /* out may alias in: every element of the block was read above */
        for (int k = 0; k < c; k++) {
            const float *row = in + (size_t)k * hw + p0;
            float *dst = out + (size_t)k * hw + p0;
            const float g = gamma[k], bt = beta[k];
            for (int i = 0; i < n; i++)
                dst[i] = (row[i] - mean[i]) * rstd[i] * g + bt;
        }
    }
}

/* x0 = x[0::2, 0::2], x1 = x[1::2, 0::2], x2 = x[0::2, 1::2], x3 = x[1::2, 1::2] (rows,
 * columns), concatenated along channels: out channel q*c + k holds neighbour q of
 * channel k. The odd last row or column reads the zero padding. */
void dc_patch_merge(int c, int h, int w, const float *in, float *out)
{
    const int oh = (h + 1) / 2, ow = (w + 1) / 2;
    const size_t plane_out = (size_t)oh * ow;
    for (int k = 0; k < c; k++) {
        const float *plane = in + (size_t)k * h * w;
        for (int q = 0; q < 4; q++) {
            const int dy = q & 1, dx = q >> 1;
            float *dst = out + ((size_t)q * c + k) * plane_out;
            for (int oy = 0; oy < oh; oy++) {
                const int iy = 2 * oy + dy;
                float *o = dst + (size_t)oy * ow;
                if (iy >= h) {
                    for (int ox = 0; ox < ow; ox++)
                        o[ox] = 0.0f;
                    continue;
                }
                const float *row = plane + (size_t)iy * w;
                for (int ox = 0; ox < ow; ox++) {
                    const int ix = 2 * ox + dx;
                    o[ox] = ix < w ? row[ix] : 0.0f;
                }
            }
        }
    }
}
