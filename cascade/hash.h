/*
 * hash.h — the two perceptual hashes of the paper's memory component (Kinnas et al.,
 * FGCS 2024; utils/perceptual_hashing.py of its code): dHash and the complex moment
 * invariants. Both read the raw 8-bit image (before any resize or normalisation) and
 * reproduce, bit for bit, the OpenCV steps the paper's Python runs (python3-opencv 4.6):
 * cv2.cvtColor(RGB2GRAY) and cv2.resize(INTER_LINEAR) on uint8 images, both of which
 * OpenCV computes in fixed point.
 *
 * Neither hash allocates memory; neither reads more than the pixels it needs.
 * Accepted images: c = 1 (gray, used as is) or c = 3 (RGB), w >= 1, h >= 1.
 */
#ifndef DC_CASCADE_HASH_H
#define DC_CASCADE_HASH_H

#include "dualcnn.h"
#include "loaders/image.h"

#include <stdbool.h>
#include <stdint.h>

/* The gray level of pixel (x, y) as cv2.cvtColor(COLOR_RGB2GRAY) computes it for uint8
 * RGB: (9798 R + 19235 G + 3735 B + 2^14) >> 15, OpenCV's 15-bit fixed-point form of
 * 0.299 R + 0.587 G + 0.114 B (the coefficients sum to 2^15). A gray image (c = 1) is
 * returned as is. */
static inline uint8_t dc_hash_gray_at(const dc_image *img, int x, int y)
{
    const uint8_t *p = img->data + ((size_t)y * (size_t)img->w + (size_t)x) * (size_t)img->c;
    if (img->c == 1)
        return p[0];
    return (uint8_t)((9798u * p[0] + 19235u * p[1] + 3735u * p[2] + 16384u) >> 15);
}

/* True when img can be hashed: not NULL, has pixels, w, h >= 1 and c is 1 or 3. */
bool dc_hash_image_ok(const dc_image *img);

/* Resizes the gray version of img (dc_hash_gray_at) to dw x dh (1..64 each) into dst
 * (dw * dh bytes, row-major) exactly as cv2.resize(gray, (dw, dh)) does with its default
 * INTER_LINEAR on uint8 (OpenCV 4.x resizeGeneric_, fixed point with 11-bit weights):
 *   - per output column x: f = (float)((x + 0.5) * scale - 0.5), scale = 1 / (dw / sw) in
 *     double; s = floor(f); f -= s; s < 0 gives s = 0, f = 0 and s >= sw - 1 gives
 *     s = sw - 1, f = 0; weights a0 = round((1 - f) * 2048), a1 = round(f * 2048), rounded
 *     half to even;
 *   - per output row the same, except that rows outside the image are clamped to the edge
 *     WITHOUT resetting the weights (this is what differs for sources smaller than the
 *     target);
 *   - horizontal pass in integers: r = p[s] * a0 + p[s + 1] * a1;
 *   - vertical pass: out = (((b0 * (r0 >> 4)) >> 16) + ((b1 * (r1 >> 4)) >> 16) + 2) >> 2.
 * Scale 2 in both directions (OpenCV switches to INTER_AREA) gives the same values.
 * With transpose set, the source is the transposed gray image (width img->h, height
 * img->w); the rounding above is not symmetric between the two passes, so this is NOT
 * the transpose of the untransposed result. img must satisfy dc_hash_image_ok. */
void dc_hash_resize_linear(const dc_image *img, bool transpose, int dw, int dh, uint8_t *dst);

/* The paper's dHash (perceptual_hashing.dhash, hash_size 8): the gray image resized to
 * 9 wide x 8 high (dc_hash_resize_linear), then bit i = 8 * row + col (row-major over
 * the 8 x 8 horizontally adjacent pairs) is set when the right pixel is strictly
 * brighter than the left one; the key is the sum of 2^i. Bit for bit what the paper's
 * Python returns for RGB images of any size, including sources smaller than 9 x 8. For a
 * gray image (c = 1; the paper's function would raise) the gray step is skipped.
 * Not rotation or mirror invariant. img must satisfy dc_hash_image_ok (asserted). */
uint64_t dc_dhash(const dc_image *img);

/* The paper's complex moment invariants (calculate_complex_invariants, order 3, basis
 * c12) and a memory key that is EXACTLY the same for an image, its rotations by 90, 180
 * and 270 degrees and its mirror images (all eight symmetries of the square).
 *
 * Steps (paper_code_facts.md 2.6): gray as above; when w > 32 or h > 32 the gray image is
 * resized to 32 x 32 (dc_hash_resize_linear); central moments mu_pq up to order 3 with
 * pixel coordinates 1..n; complex moments c_pq = sum (x + iy)^p (x - iy)^q f(x, y) over
 * the centred coordinates; normalised c_pq / m00^((p+q+2)/2) * ((p+q)/2 + 1) * pi^((p+q)/2);
 *   invariants = [Re c11, Re c20 c12^2, Im c20 c12^2, Re c21 c12, Re c30 c12^3,
 *                 Im c30 c12^3], each x mapped to sign(x) |x|^(1/w), w = 1, 3, 3, 2, 4, 4;
 *   key: the double inv[0] + inv[1] + inv[3] + inv[4] (the paper's
 *        complex_invariants_hash_addition_float), returned as its IEEE-754 bits with
 *        -0.0 mapped to +0.0.
 * What differs from the paper's float code, and why the key is exact:
 *   - the moments, the complex moments and the products c20 c12^2, c21 c12 and c30 c12^3
 *     are computed EXACTLY in integers (centred coordinates scaled by m00, 512-bit
 *     products), so a rotated or mirrored image yields exactly the same real parts;
 *     they are then turned into doubles by the same operations on the same integers, so
 *     the four summed invariants and their sum are bit-identical. No rounding of the
 *     moments (the paper's 5 decimals) and no quantisation of the key is needed, and
 *     rounding the key would only merge distinct images. (The paper's float key,
 *     measured on 100 images per size, split 1 in 100 32 x 32 images under rot180 and
 *     under transposition, and every resized image under rot90.);
 *   - OpenCV's resize is symmetric under flips but not under transposition (rot90 of a
 *     48 x 64 image resized is not the resize of the rotated image in about 8% of the
 *     pixels), so an image larger than 32 is first put in a canonical orientation: a
 *     portrait image (h > w) is transposed; a square one is transposed when its
 *     lexicographically smallest symmetric copy (gray bytes, row-major) is a transposed
 *     one. inv[2] and inv[5], which change sign under a mirror, are then negated back, so
 *     invariants[] describe the image as given. For landscape inputs, and square ones
 *     left as they are (about half), the values are the paper's own; after a
 *     transposition they are the paper's values of the transposed image, whose resize
 *     differs by one grey level in about 8% of the pixels, enough to move the small
 *     high-order invariants well beyond rounding;
 *   - an all-black image (m00 = 0, where the paper divides by zero) gives all-zero
 *     invariants and key 0.
 * Distinct images share a key only when the four invariants happen to add up to the same
 * double: the 60,000 FashionMNIST training images have 60,000 distinct keys (their
 * dHashes: 55,616 distinct values).
 * invariants may be NULL. Returns DC_OK, or DC_ERR_ARG for an image dc_hash_image_ok
 * refuses. Allocates nothing. */
dc_status dc_invariants_key(const dc_image *img, uint64_t *key, double invariants[6],
                            dc_error *err);

#endif /* DC_CASCADE_HASH_H */
