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
 *
 * Two input chains are built on it: dc_preprocess_small (CIFAR-10, FashionMNIST, Intel:
 * resize to the input size) and dc_preprocess_imagenet (torchvision's evaluation
 * transforms of the ImageNet weights: shorter side, centre crop); dc_preprocess_net picks
 * the one a net's weights were trained with.
 */
#ifndef DC_PREPROCESS_H
#define DC_PREPROCESS_H

#include "dualcnn.h"
#include "loaders/image.h"

#include <stdbool.h>

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

/* ---- ImageNet: torchvision 0.14's evaluation transforms of the weights --------------
 *
 * torchvision's weight enums (ResNet18_Weights.IMAGENET1K_V1.transforms(), ...) build
 * transforms/_presets.py's ImageClassification(crop_size, resize_size, mean, std,
 * interpolation), whose forward is F.resize([resize]) -> F.center_crop([crop]) ->
 * pil_to_tensor -> convert_image_dtype(float) -> normalize. Checked in Debian's
 * torchvision 0.14 sources (transforms/functional.py, functional_pil.py, _presets.py):
 *  - F.resize on a PIL image calls PIL's Image.resize with the PIL filter of the
 *    interpolation; the antialias argument is ignored for PIL images (only a warning when
 *    it is False). On a tensor it calls F_t.resize with antialias=None, which 0.14 treats
 *    as False: a plain bilinear/bicubic interpolate that differs from PIL's (it samples
 *    rather than averages when shrinking). The paper's code opened images with PIL
 *    (ImageFolder's loader: Image.open(f).convert('RGB')), so the PIL path is the one
 *    reproduced here, bit for bit, through dc_resize_pil;
 *  - the size (_compute_resized_output_size, max_size None): short = min(w, h), long =
 *    max(w, h); the short side becomes resize and the long side
 *    int(resize * long / short) — Python's true division of the exact integer product,
 *    correctly rounded to a double, then truncated; a square image becomes resize x
 *    resize; an image already of that size is returned as it is;
 *  - F.center_crop: when the crop is larger than the image along an axis, that axis is
 *    first padded with zeros, (crop - size) // 2 before and (crop - size + 1) // 2 after
 *    (so the image starts at (crop - size) // 2 of the crop); otherwise the crop starts at
 *    int(round((size - crop) / 2.0)) — Python's round, half to even: 33 / 2 -> 16,
 *    35 / 2 -> 18;
 *  - pil_to_tensor + convert_image_dtype(float): v / 255 in float32; normalize:
 *    (v - mean[k]) / std[k] in float32, as dc_preprocess_small.
 */

/* The size torchvision 0.14's Resize([size]) (one int: the shorter side) gives a w x h
 * image, in *out_w x *out_h. Returns DC_OK, or DC_ERR_ARG when a size is below 1 or the
 * long side would exceed 2^20. */
dc_status dc_resize_shorter_side(int w, int h, int size, int *out_w, int *out_h,
                                 dc_error *err);

/* Where torchvision's CenterCrop of crop pixels starts along an axis of size pixels
 * (both >= 1): int(round((size - crop) / 2.0)) when crop <= size, else -((crop - size) / 2)
 * — negative: output pixel j reads input pixel j + start, zero padding outside [0, size). */
int dc_center_crop_start(int size, int crop);

/* The ImageNet evaluation chain of torchvision's ImageClassification preset on a PIL image
 * (see above), from a raw image (c = 3 RGB, or c = 1 gray, which is copied to the three
 * channels as PIL's convert('RGB') does; drop any alpha first, as dc_image_load does) to
 * out, 3 x crop_h x crop_w floats (CHW):
 *   1. resize > 0: the shorter side to resize with Pillow's filter (DC_PIL_BILINEAR or
 *      DC_PIL_BICUBIC, the weights' interpolation), the longer side as
 *      dc_resize_shorter_side; resize 0: no resize (a bare CenterCrop);
 *   2. centre crop of crop_h x crop_w, zero padded where the image is smaller;
 *   3. out[k][y][x] = (v / 255.0f - mean[k]) / std[k].
 * Returns DC_OK; DC_ERR_ARG for a bad image, size or filter; DC_ERR_NOMEM. */
dc_status dc_preprocess_imagenet(const dc_image *raw, int resize, dc_pil_filter filter,
                                 int crop_h, int crop_w, const float mean[3],
                                 const float std[3], float *out, dc_error *err);

/* Whether a net gets the ImageNet chain: info->resize is set (an ImageNet architecture: the
 * net copies it from its zoo entry), its weights are for dataset "imagenet" and it takes 3
 * channels.
 * Every other net (CIFAR-10, FashionMNIST, Intel; an ImageNet architecture trained on
 * another dataset) gets dc_preprocess_small. */
bool dc_preprocess_is_imagenet(const dc_net_info *info);

/* A net's input from a raw image: dc_preprocess_imagenet with info's resize and
 * interpolation, the net's input size as the crop and its mean/std when
 * dc_preprocess_is_imagenet(info), else dc_preprocess_small with the net's input size and
 * mean/std. out holds in_c * in_h * in_w floats. Returns what the chosen function returns. */
dc_status dc_preprocess_net(const dc_image *raw, const dc_net_info *info, float *out,
                            dc_error *err);

#endif /* DC_PREPROCESS_H */
