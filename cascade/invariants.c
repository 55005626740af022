/*
 * invariants.c — the paper's complex moment invariants, computed exactly (see hash.h for
 * the contract; paper_code_facts.md 2.6 for the paper's float version).
 *
 * Complex moments (Flusser, Suk, Zitova, "2D and 3D Image Analysis by Moments", ch. 3):
 *     c_pq = sum_{x,y} (x + iy)^p (x - iy)^q f(x, y)
 * over coordinates centred on the centroid. A rotation by t multiplies c_pq by
 * e^{i(p-q)t}, so products whose (p - q) add up to zero, such as c11, c20 c12^2,
 * c21 c12 and c30 c12^3, are unchanged; a mirror conjugates them (up to a sign (-1)^{p+q}
 * that cancels in these products), so their real parts are unchanged as well.
 *
 * Exactness. With m00 = sum f and the centroid (m10 / m00, m01 / m00), the scaled
 * coordinates X = m00 x - m10 and Y = m00 y - m01 are integers, and
 *     U_ab = sum X^a Y^b f = m00^(a+b) mu_ab
 * is an integer (|U_ab| < 2^90 for a 32 x 32 image of bytes, so __int128 holds it).
 * A rotation by 90 degrees or a mirror maps (X, Y) to (+-Y, +-X) exactly, so the U_ab of
 * a rotated image are exactly the permuted, sign-changed U_ab of the original. The
 * complex moments C_pq = m00^(p+q) c_pq are Gaussian integers built from the U_ab, and
 * the invariant products (up to 2^360) are formed in 512-bit two's-complement integers.
 * Only then are they converted to double and scaled by powers of m00 and pi, by the same
 * operations on the same integers for every rotated or mirrored copy.
 */
#include "cascade/hash.h"

#include <math.h>
#include <string.h>

__extension__ typedef __int128 dc_i128;
__extension__ typedef unsigned __int128 dc_u128;

#define DC_INV_SIDE 32 /* images larger than this are resized to 32 x 32 */

/* ---- 512-bit two's-complement integers ----------------------------------- */

#define BN_LIMBS 8

typedef struct {
    uint64_t w[BN_LIMBS]; /* little-endian limbs */
} bn;

static bn bn_from(dc_i128 v)
{
    bn r;
    dc_u128 u = (dc_u128)v;
    r.w[0] = (uint64_t)u;
    r.w[1] = (uint64_t)(u >> 64);
    uint64_t fill = v < 0 ? ~(uint64_t)0 : 0;
    for (int i = 2; i < BN_LIMBS; i++)
        r.w[i] = fill;
    return r;
}

static bn bn_add(bn a, bn b)
{
    bn r;
    uint64_t carry = 0;
    for (int i = 0; i < BN_LIMBS; i++) {
        dc_u128 t = (dc_u128)a.w[i] + b.w[i] + carry;
        r.w[i] = (uint64_t)t;
        carry = (uint64_t)(t >> 64);
    }
    return r;
}

static bn bn_neg(bn a)
{
    for (int i = 0; i < BN_LIMBS; i++)
        a.w[i] = ~a.w[i];
    return bn_add(a, bn_from(1));
}

static bn bn_sub(bn a, bn b)
{
    return bn_add(a, bn_neg(b));
}

/* The product modulo 2^512, which is the signed product while it fits (ours < 2^361). */
static bn bn_mul(bn a, bn b)
{
    bn r = { { 0 } };
    for (int i = 0; i < BN_LIMBS; i++) {
        uint64_t carry = 0;
        for (int j = 0; i + j < BN_LIMBS; j++) {
            dc_u128 t = (dc_u128)a.w[i] * b.w[j] + r.w[i + j] + carry;
            r.w[i + j] = (uint64_t)t;
            carry = (uint64_t)(t >> 64);
        }
    }
    return r;
}

/* A double within a few ulps of a; a deterministic function of a, and odd:
 * bn_to_double(-a) == -bn_to_double(a). */
static double bn_to_double(bn a)
{
    bool negative = a.w[BN_LIMBS - 1] >> 63;
    if (negative)
        a = bn_neg(a);
    double d = 0.0;
    for (int i = BN_LIMBS - 1; i >= 0; i--)
        d = d * 18446744073709551616.0 + (double)a.w[i];
    return negative ? -d : d;
}

/* ---- orientation and moments ---------------------------------------------- */

/* Gray pixel (x, y) of the symmetric copy t of a square image of side n: bit 0 mirrors
 * x, bit 1 mirrors y, bit 2 transposes. The eight values of t are the eight symmetries
 * of the square; those with bit 2 set are the ones that exchange the two axes. */
static int symmetric_at(const dc_image *img, int t, int x, int y)
{
    int n = img->w;
    int u = (t & 1) ? n - 1 - x : x;
    int v = (t & 2) ? n - 1 - y : y;
    return (t & 4) ? dc_hash_gray_at(img, v, u) : dc_hash_gray_at(img, u, v);
}

/* Compares the symmetric copies s and t of a square image, row-major. */
static int symmetric_cmp(const dc_image *img, int s, int t)
{
    int n = img->w;
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++) {
            int a = symmetric_at(img, s, x, y), b = symmetric_at(img, t, x, y);
            if (a != b)
                return a < b ? -1 : 1;
        }
    return 0;
}

/* Whether an image about to be resized is transposed first (see hash.h): every
 * rotated or mirrored copy of an image then reaches the resize in orientations that
 * differ only by mirrors in x and y, under which OpenCV's resize is exactly symmetric. */
static bool canonical_transpose(const dc_image *img)
{
    if (img->w != img->h)
        return img->h > img->w;
    int best = 0;
    for (int t = 1; t < 8; t++)
        if (symmetric_cmp(img, t, best) < 0)
            best = t;
    return (best & 4) != 0;
}

/* U[a][b] = sum X^a Y^b f for a + b <= 3 over a w x h gray image (see the top). Returns
 * m00. */
static int64_t scaled_central_moments(const uint8_t *g, int w, int h, dc_i128 U[4][4])
{
    int64_t m00 = 0, m10 = 0, m01 = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int64_t f = g[y * w + x];
            m00 += f;
            m10 += f * (x + 1); /* the paper's coordinates run 1..n */
            m01 += f * (y + 1);
        }
    memset(U, 0, sizeof(dc_i128[4][4]));
    if (m00 == 0)
        return 0;
    int64_t X[DC_INV_SIDE];
    for (int x = 0; x < w; x++)
        X[x] = m00 * (x + 1) - m10;
    for (int y = 0; y < h; y++) {
        /* sums over the row of f X^a: |X| < 2^23 and f < 2^8, so f X^2 < 2^54 and a row
         * of 32 of them fits in 64 bits; only f X^3 needs 128 */
        int64_t r0 = 0, r1 = 0, r2 = 0;
        dc_i128 r3 = 0;
        for (int x = 0; x < w; x++) {
            int64_t f = g[y * w + x], fx = f * X[x], fxx = fx * X[x];
            r0 += f;
            r1 += fx;
            r2 += fxx;
            r3 += (dc_i128)fxx * X[x];
        }
        dc_i128 row[4] = { r0, r1, r2, r3 };
        dc_i128 Y = m00 * (y + 1) - m01, Yb = 1;
        for (int b = 0; b < 4; b++) {
            for (int a = 0; a + b < 4; a++)
                U[a][b] += Yb * row[a];
            Yb *= Y;
        }
    }
    return m00;
}

/* sign(x) |x|^(1/w), the paper's map: the w-th root of a product of w normalised
 * moments, which brings the six invariants to comparable magnitudes. */
static double signed_root(double x, double w)
{
    if (x == 0.0)
        return 0.0;
    double r = w == 1.0 ? fabs(x) : pow(fabs(x), 1.0 / w);
    return x < 0 ? -r : r;
}

dc_status dc_invariants_key(const dc_image *img, uint64_t *key, double invariants[6],
                            dc_error *err)
{
    if (!dc_hash_image_ok(img))
        return dc_fail(err, DC_ERR_ARG,
                       "invariants: expected a non-empty 8-bit image with 1 or 3 channels, "
                       "got %d x %d x %d", img ? img->w : 0, img ? img->h : 0,
                       img ? img->c : 0);

    uint8_t g[DC_INV_SIDE * DC_INV_SIDE];
    int w = img->w, h = img->h;
    bool transposed = false;
    if (w > DC_INV_SIDE || h > DC_INV_SIDE) {
        transposed = canonical_transpose(img);
        dc_hash_resize_linear(img, transposed, DC_INV_SIDE, DC_INV_SIDE, g);
        w = h = DC_INV_SIDE;
    } else {
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                g[y * w + x] = dc_hash_gray_at(img, x, y);
    }

    dc_i128 U[4][4];
    int64_t m00 = scaled_central_moments(g, w, h, U);
    double inv[6] = { 0 };
    if (m00 > 0) {
        /* C_pq = m00^(p+q) c_pq, Gaussian integers (re, im) */
        dc_i128 c11 = U[2][0] + U[0][2];
        dc_i128 c20_re = U[2][0] - U[0][2], c20_im = 2 * U[1][1];
        dc_i128 c12_re = U[3][0] + U[1][2], c12_im = -(U[2][1] + U[0][3]);
        dc_i128 c30_re = U[3][0] - 3 * U[1][2], c30_im = 3 * U[2][1] - U[0][3];

        bn a = bn_from(c12_re), b = bn_from(c12_im);
        bn sq_re = bn_sub(bn_mul(a, a), bn_mul(b, b)); /* c12^2 */
        bn sq_im = bn_mul(bn_from(2), bn_mul(a, b));
        bn cu_re = bn_sub(bn_mul(sq_re, a), bn_mul(sq_im, b)); /* c12^3 */
        bn cu_im = bn_add(bn_mul(sq_re, b), bn_mul(sq_im, a));
        bn e = bn_from(c20_re), f = bn_from(c20_im);
        bn p1_re = bn_sub(bn_mul(e, sq_re), bn_mul(f, sq_im)); /* c20 c12^2 */
        bn p3 = bn_add(bn_mul(a, a), bn_mul(b, b)); /* c21 c12 = |c12|^2 */
        bn g3 = bn_from(c30_re), h3 = bn_from(c30_im);
        bn p4_re = bn_sub(bn_mul(g3, cu_re), bn_mul(h3, cu_im)); /* c30 c12^3 */

        /* normalised c_pq = C_pq * k_{p+q} / m00^(3(p+q)/2 + 1), k_n = (n/2 + 1) pi^(n/2) */
        const double pi = 3.14159265358979323846;
        double k2 = 2.0 * pi, k3 = 2.5 * pi * sqrt(pi), s = (double)m00;
        double n11 = k2 / pow(s, 4.0);
        double n1 = k2 * k3 * k3 / pow(s, 15.0);
        double n3 = k3 * k3 / pow(s, 11.0);
        double n4 = (k3 * k3) * (k3 * k3) / pow(s, 22.0);
        inv[0] = signed_root((double)c11 * n11, 1.0);
        inv[1] = signed_root(bn_to_double(p1_re) * n1, 3.0);
        inv[3] = signed_root(bn_to_double(p3) * n3, 2.0);
        inv[4] = signed_root(bn_to_double(p4_re) * n4, 4.0);
        if (invariants) { /* the imaginary parts: not in the key, so only when asked */
            bn p1_im = bn_add(bn_mul(e, sq_im), bn_mul(f, sq_re));
            bn p4_im = bn_add(bn_mul(g3, cu_im), bn_mul(h3, cu_re));
            inv[2] = signed_root(bn_to_double(p1_im) * n1, 3.0);
            inv[5] = signed_root(bn_to_double(p4_im) * n4, 4.0);
        }
        if (transposed) { /* a transposition is a mirror: undo its sign on the odd ones */
            inv[2] = 0.0 - inv[2]; /* 0.0 - x, unlike -x, never makes -0.0 */
            inv[5] = 0.0 - inv[5];
        }
    }
    if (invariants)
        memcpy(invariants, inv, sizeof inv);

    double sum = inv[0] + inv[1] + inv[3] + inv[4];
    if (sum == 0.0)
        sum = 0.0; /* -0.0 and +0.0 make one key */
    uint64_t bits;
    memcpy(&bits, &sum, sizeof bits);
    *key = bits;
    return DC_OK;
}
