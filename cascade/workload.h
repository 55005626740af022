/*
 * workload.h — the stream of inputs a cascade run sees: the dataset, plus duplicates
 * (some rotated or flipped), shuffled. This is what makes the memory component pay off
 * (the paper's 85.8% saving is on a set where every sample appears twice).
 *
 * Semantics (DESIGN.md "duplicates"): ratio R >= 0 adds floor(R) full copies of the set
 * plus a seeded random sample, without replacement, of floor(frac(R) * N) samples. Each
 * duplicate is, with probability p, rotated by 90 degrees either way, by 180, or flipped
 * upside down (one of the four, uniformly). The whole stream is shuffled (seeded) unless
 * shuffling is off, in which case the duplicates follow the originals, as the original
 * code's later versions did.
 */
#ifndef DC_CASCADE_WORKLOAD_H
#define DC_CASCADE_WORKLOAD_H

#include "dualcnn.h"
#include "loaders/image.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum {
    DC_XF_NONE = 0,
    DC_XF_ROT90_CCW,  /* cv2.ROTATE_90_COUNTERCLOCKWISE */
    DC_XF_ROT90_CW,   /* cv2.ROTATE_90_CLOCKWISE */
    DC_XF_ROT180,
    DC_XF_FLIP_UD,    /* cv2.flip(img, 0): upside down */
    DC_XF_COUNT
} dc_transform;

const char *dc_transform_name(dc_transform xf);

typedef struct {
    int index;         /* sample of the dataset */
    dc_transform xf;   /* applied to the raw image before anything else */
    bool duplicate;    /* an added copy, not one of the original N */
} dc_work_item;

typedef struct {
    double duplicates; /* R >= 0 */
    double rotations;  /* p in [0, 1] */
    uint64_t seed;
    bool shuffle;
} dc_workload_opts;

/* Builds the stream for a dataset of n samples into a malloc'ed array (*items, *count).
 * Fails with DC_ERR_ARG naming the flag for R < 0, p outside [0, 1] or a stream too long. */
dc_status dc_workload_build(int n, const dc_workload_opts *opts, dc_work_item **items,
                            int *count, dc_error *err);

/* dst = xf(src) for any channel count; dst is allocated (free with dc_image_free). */
dc_status dc_image_transform(const dc_image *src, dc_transform xf, dc_image *dst,
                             dc_error *err);

/* The seeded generator behind the workload (xoshiro256**, seeded by splitmix64), exposed so
 * tests can reproduce streams. */
typedef struct {
    uint64_t s[4];
} dc_rng;
void dc_rng_seed(dc_rng *r, uint64_t seed);
uint64_t dc_rng_next(dc_rng *r);
double dc_rng_uniform(dc_rng *r);            /* [0, 1) */
uint64_t dc_rng_below(dc_rng *r, uint64_t n); /* uniform in [0, n), unbiased */

#endif /* DC_CASCADE_WORKLOAD_H */
