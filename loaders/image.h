/*
 * image.h — PNG and JPEG files in and out, and the two pixel operations every caller needs
 * (a plain bilinear resize and the float conversion of torchvision's ToTensor + Normalize).
 *
 * An image is 8-bit, row-major, channels interleaved (HWC): pixel (x, y) channel k is
 * data[(y * w + x) * c + k]. The loader always returns c = 3 (RGB).
 */
#ifndef DC_IMAGE_H
#define DC_IMAGE_H

#include "dualcnn.h"

#include <stdint.h>

typedef struct {
    int w, h, c;     /* width, height, channels */
    uint8_t *data;   /* h * w * c bytes, owned by the image: free with dc_image_free */
} dc_image;

/* Decodes the PNG or JPEG file at path into out as 8-bit RGB (c = 3). The decoder is chosen
 * by the file's first bytes, never by its name. Conversions: gray is copied to R, G and B;
 * palette images are expanded; 16-bit samples keep their high byte; an alpha channel (or a
 * tRNS transparency) is dropped without compositing. CMYK/YCCK JPEGs are refused.
 * Returns DC_OK; DC_ERR_IO when the file cannot be opened or read; DC_ERR_FORMAT when it is
 * neither PNG nor JPEG, or is truncated or corrupt; DC_ERR_UNSUPPORTED for CMYK or an image
 * too large to hold; DC_ERR_NOMEM. err names the file and the problem (the libraries'
 * own messages are routed into it; nothing is printed). On failure out is left empty.
 * The caller frees out with dc_image_free. */
dc_status dc_image_load(const char *path, dc_image *out, dc_error *err);

/* A view of the caller's pixels as an image (w x h, c = 1 or 3 channels, HWC), for the
 * public functions that take raw pixels: out->data points into pixels, which stay the
 * caller's (never dc_image_free a view; nothing writes through it). Checks what the
 * loader checks of a file's header: each side 1 .. 65535, at most 2^28 pixels. Returns
 * DC_OK or DC_ERR_ARG naming the problem ("pixels: ..."). */
dc_status dc_image_view(const uint8_t *pixels, int w, int h, int c, dc_image *out,
                        dc_error *err);

/* Writes img (c = 1 gray, 3 RGB or 4 RGBA; 8-bit) as a PNG file. The file is written to
 * "<path>.tmp-<pid>" and renamed, so a failure never leaves a partial file at path.
 * Returns DC_OK, DC_ERR_ARG for a bad image, DC_ERR_IO. */
dc_status dc_image_write_png(const char *path, const dc_image *img, dc_error *err);

/* Frees the pixels of img and empties it. img may be NULL; calling it twice is harmless. */
void dc_image_free(dc_image *img);

/* Converts an RGB image (c = 3) to a normalised float tensor, as torchvision's
 * ToTensor() followed by Normalize(mean, std) in float32:
 *     out[k][y][x] = (data[(y*w + x)*3 + k] / 255.0f - mean[k]) / std[k]
 * out holds 3 * h * w floats (CHW). */
void dc_image_to_tensor(const dc_image *img, const float mean[3], const float std[3],
                        float *out);

/* Resizes src to w x h (both >= 1) into dst (overwritten; any channel count) by plain
 * bilinear interpolation: half-pixel centres (align_corners=False), source coordinates
 * below 0 clamped to 0 as PyTorch's interpolate does, no antialiasing, computed in float
 * and rounded to the nearest integer in [0, 255].
 * This is a convenience resize for `dualcnn classify` and the perceptual hashes: when
 * shrinking by more than 2x it samples rather than averages, so it does NOT reproduce
 * torchvision's antialiased Resize (that comes with the ImageNet preprocessing).
 * Returns DC_OK, DC_ERR_ARG for a bad size, DC_ERR_NOMEM. The caller frees dst. */
dc_status dc_image_resize_bilinear(const dc_image *src, int w, int h, dc_image *dst,
                                   dc_error *err);

#endif /* DC_IMAGE_H */
