/* workload.c — duplicates, rotations and shuffling of the input stream (see workload.h). */
#include "cascade/workload.h"
#include "base/alloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the generator ------------------------------------------------------ */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void dc_rng_seed(dc_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t dc_rng_next(dc_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double dc_rng_uniform(dc_rng *r)
{
    return (double)(dc_rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t dc_rng_below(dc_rng *r, uint64_t n)
{
    /* rejection: drop the top values that would make some residues more likely */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = dc_rng_next(r);
    while (x >= limit);
    return x % n;
}

/* Fisher-Yates over a[0..n) */
static void shuffle_items(dc_work_item *a, int n, dc_rng *r)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)dc_rng_below(r, (uint64_t)i + 1);
        dc_work_item t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

/* ---- the stream --------------------------------------------------------- */

const char *dc_transform_name(dc_transform xf)
{
    static const char *const names[DC_XF_COUNT] = { "none", "rot90ccw", "rot90cw", "rot180",
                                                    "flipud" };
    return xf >= 0 && xf < DC_XF_COUNT ? names[xf] : "?";
}

dc_status dc_workload_build(int n, const dc_workload_opts *o, dc_work_item **items,
                            int *count, dc_error *err)
{
    *items = NULL;
    *count = 0;
    if (!(o->duplicates >= 0.0) || o->duplicates > 1000.0)
        return dc_fail(err, DC_ERR_ARG, "--duplicates must be a ratio in [0, 1000], got %g",
                       o->duplicates);
    if (!(o->rotations >= 0.0 && o->rotations <= 1.0))
        return dc_fail(err, DC_ERR_ARG, "--rotations must be a probability in [0, 1], got %g",
                       o->rotations);
    if (n < 0)
        return dc_fail(err, DC_ERR_ARG, "dataset of %d samples", n);
    double whole = floor(o->duplicates);
    int64_t sampled = (int64_t)((o->duplicates - whole) * n); /* Python's int(frac * N) */
    int64_t total = (int64_t)n * (1 + (int64_t)whole) + sampled;
    if (total > INT32_MAX / 2)
        return dc_fail(err, DC_ERR_ARG, "--duplicates %g makes a stream of %lld samples; too "
                       "many", o->duplicates, (long long)total);
    dc_work_item *a = dc_malloc((size_t)(total > 0 ? total : 1) * sizeof *a);
    int *pick = dc_malloc((size_t)(n > 0 ? n : 1) * sizeof *pick);
    if (!a || !pick) {
        free(a);
        free(pick);
        return dc_fail(err, DC_ERR_NOMEM, "out of memory for a stream of %lld samples",
                       (long long)total);
    }
    dc_rng r;
    dc_rng_seed(&r, o->seed);
    int at = 0;
    for (int i = 0; i < n; i++)
        a[at++] = (dc_work_item){ .index = i };
    for (int c = 0; c < (int)whole; c++)
        for (int i = 0; i < n; i++)
            a[at++] = (dc_work_item){ .index = i, .duplicate = true };
    /* a sample without replacement: the first `sampled` of a partial Fisher-Yates */
    for (int i = 0; i < n; i++)
        pick[i] = i;
    for (int64_t k = 0; k < sampled; k++) {
        int j = (int)k + (int)dc_rng_below(&r, (uint64_t)(n - k));
        int t = pick[k];
        pick[k] = pick[j];
        pick[j] = t;
        a[at++] = (dc_work_item){ .index = pick[k], .duplicate = true };
    }
    free(pick);
    for (int i = n; i < at; i++)
        if (o->rotations > 0.0 && dc_rng_uniform(&r) < o->rotations)
            a[i].xf = (dc_transform)(1 + dc_rng_below(&r, 4));
    if (o->shuffle)
        shuffle_items(a, at, &r);
    *items = a;
    *count = at;
    return DC_OK;
}

dc_status dc_image_transform(const dc_image *src, dc_transform xf, dc_image *dst,
                             dc_error *err)
{
    int w = src->w, h = src->h, c = src->c;
    bool swap = xf == DC_XF_ROT90_CCW || xf == DC_XF_ROT90_CW;
    dst->w = swap ? h : w;
    dst->h = swap ? w : h;
    dst->c = c;
    dst->data = dc_malloc((size_t)w * h * c);
    if (!dst->data)
        return dc_fail(err, DC_ERR_NOMEM, "out of memory transforming a %dx%d image", w, h);
    for (int y = 0; y < dst->h; y++) {
        for (int x = 0; x < dst->w; x++) {
            int sx, sy; /* the source pixel that lands on (x, y) */
            switch (xf) {
            case DC_XF_ROT90_CCW: sx = w - 1 - y; sy = x; break;
            case DC_XF_ROT90_CW: sx = y; sy = h - 1 - x; break;
            case DC_XF_ROT180: sx = w - 1 - x; sy = h - 1 - y; break;
            case DC_XF_FLIP_UD: sx = x; sy = h - 1 - y; break;
            default: sx = x; sy = y; break;
            }
            memcpy(dst->data + ((size_t)y * dst->w + x) * c,
                   src->data + ((size_t)sy * w + sx) * c, (size_t)c);
        }
    }
    return DC_OK;
}
