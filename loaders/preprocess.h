/*
 * preprocess.h — from a raw dataset image to a model's input, reproducing what the paper's
 * Python code fed each model (PIL + torchvision 0.14, Pillow 9.4 as on Debian 12).
 *
 * The resize is Pillow's own (ImagingResample in src/libImaging/Resample.c), reproduced
 * bit for bit for 8-bit images:
 *  - separable: a horizontal pass into an 8-bit image, then a vertical pass; a pass whose
 *    size does not change is skipped (so an image of the target size comes back unchanged);
 *  - for each output position x (and likewise y): scale = in / out, filterscale =
 *    max(scale, 1), support = filter support * filterscale, center = (x + 0.5) * scale;
 *    taps xmin = (int)(center - support + 0.5) clamped to >= 0 up to (not including)
 *    (int)(center + support + 0.5) clamped to <= in — taps outside the image are dropped,
 *    not clamped; weight of tap t = filter((t - center + 0.5) / filterscale), in double,
 *    normalised to sum 1;
 *  - the weights become integers w * 2^22 rounded half away from zero (PRECISION_BITS =
 *    32 - 8 - 2); each output is (2^21 + sum pixel * weight) >> 22 clipped to [0, 255].
 * Filters (support): box 0.5, bilinear (triangle) 1, hamming 1, bicubic (a = -0.5) 2,
 * lanczos (a = 3) 3. torchvision's Resize on a PIL image calls exactly this (its
 * antialias argument is ignored for PIL images), with bilinear by default; PIL's own
 * Image.resize defaults to bicubic for 'L' and 'RGB' images.
 */
#ifndef DC_PREPROCESS_H
#define DC_PREPROCESS_H

#include "dualcnn.h"
#include "loaders/image.h"

typedef enum {
    DC_PIL_BOX,
    DC_PIL_BILINEAR,
    DC_PIL_HAMMING,
    DC_PIL_BICUBIC,
    DC_PIL_LANCZOS
} dc_pil_filter;

/* Resizes src (any channel count, each resampled alike, as Pillow does for 'L', 'RGB' and
 * 'RGBX') to w x h into dst with Pillow 9.4's Image.resize(resample=filter), bit for bit.
 * dst is overwritten; when the size does not change it is a copy of src.
 * Returns DC_OK, DC_ERR_ARG for a bad size or filter, DC_ERR_NOMEM. The caller frees dst
 * with dc_image_free; on failure dst is empty. */
dc_status dc_resize_pil(const dc_image *src, int w, int h, dc_pil_filter filter, dc_image *dst,
                        dc_error *err);

/* Turns a raw dataset image (c = 1 gray or c = 3 RGB) into the normalised CHW float input of
 * a model of in_c x in_h x in_w (in_c 3, or 1 for a gray image):
 *   1. resize to in_h x in_w with PIL bilinear (torchvision Resize((in_h, in_w)) on a PIL
 *      image) when the size differs; nothing is done when it is the same;
 *   2. a gray image is copied to 3 channels when in_c is 3 (Grayscale(num_output_channels=3)
 *      on an 'L' image copies the channel; done after the resize, which gives the same
 *      bytes as before it);
 *   3. ToTensor + Normalize in float32: out[k][y][x] = (v / 255.0f - mean[k]) / std[k].
 * This is the paper's FashionMNIST chain (Resize((32,32)), Grayscale(3), ToTensor,
 * Normalize((0.2856,)*3, (0.3385,)*3)) and, with no resize, its CIFAR-10 and Intel chains.
 * out holds in_c * in_h * in_w floats. Returns DC_OK; DC_ERR_ARG for a bad image or
 * size, or an RGB image for a 1-channel model; DC_ERR_NOMEM. */
dc_status dc_preprocess_small(const dc_image *raw, int in_c, int in_h, int in_w,
                              const float mean[3], const float std[3], float *out,
                              dc_error *err);

#endif /* DC_PREPROCESS_H */
