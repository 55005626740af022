/*
 * test_hash.c — the perceptual hashes of cascade/hash.h:
 *  - dHash and the OpenCV-exact gray resize bit for bit against python3-opencv (the
 *    paper's own functions, run by tests/hash_reference.py on PNGs written here), over
 *    random, smooth, low-contrast and blob images from 1 x 1 to 500 x 375;
 *  - the complex moment invariants against a float64 port of the paper's formulas;
 *  - the invariants key: identical under all eight symmetries of the square, distinct
 *    between images; dHash changes under rotation;
 *  - golden dHash values (from python3-opencv 4.6) that hold without Python.
 * When /usr/bin/python3 cannot import cv2 and numpy, the comparisons with OpenCV are
 * skipped with a message on stderr; everything else still runs.
 */
#include "cascade/hash.h"
#include "fixtures.h"

#include <check.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- images ------------------------------------------------------------- */

enum { IMG_RANDOM, IMG_SMOOTH, IMG_FLAT, IMG_BLOBS, IMG_BINARY, IMG_KINDS };

static dc_image alloc_image(int w, int h, int c)
{
    dc_image img = { w, h, c, malloc((size_t)w * h * c) };
    ck_assert_ptr_nonnull(img.data);
    return img;
}

static uint8_t clamp_u8(double v)
{
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : lround(v));
}

/* A w x h x c image of one of five kinds: uniform noise; smooth waves over a ramp;
 * low-contrast (two adjacent grey levels in blocks, so the resize produces many equal
 * neighbours and dHash's strict > matters); bright blobs on black; 0 and 255 only,
 * mostly 255 and denser towards one corner (the largest moments a 32 x 32 image has). */
static dc_image make_image(int w, int h, int c, int kind, fx_rng *r)
{
    dc_image img = alloc_image(w, h, c);
    double fx = fx_rng_uniform(r, 0.05f, 0.6f), fy = fx_rng_uniform(r, 0.05f, 0.6f);
    double phase = fx_rng_uniform(r, 0.0f, 6.28f);
    int base = (int)(fx_rng_u64(r) % 200), block = 1 + (int)(fx_rng_u64(r) % 4);
    int nblobs = 1 + (int)(fx_rng_u64(r) % 3);
    int corner = block - 1; /* the binary kind's dense corner */
    double bx[3], by[3], br[3];
    for (int b = 0; b < 3; b++) {
        bx[b] = fx_rng_uniform(r, 0.0f, (float)w);
        by[b] = fx_rng_uniform(r, 0.0f, (float)h);
        br[b] = fx_rng_uniform(r, 1.0f, (float)(w + h) / 4.0f + 1.0f);
    }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++) {
                double v = 0;
                switch (kind) {
                case IMG_RANDOM:
                    v = (double)(fx_rng_u64(r) & 255);
                    break;
                case IMG_SMOOTH:
                    v = 120 + 90 * sin(x * fx + phase + k) * cos(y * fy - k) + 30.0 * x / w;
                    break;
                case IMG_FLAT:
                    v = base + (int)((((unsigned)(x / block) * 2654435761u ^
                                       (unsigned)(y / block) * 40503u ^ (unsigned)k) >> 7) & 1);
                    break;
                case IMG_BINARY: {
                    double cx = (corner & 1) ? w - 1 - x : x, cy = (corner & 2) ? h - 1 - y : y;
                    double p = 0.98 - 0.5 * (cx / w) * (cy / h);
                    v = fx_rng_uniform(r, 0.0f, 1.0f) < p ? 255 : 0;
                    break;
                }
                default:
                    for (int b = 0; b < nblobs; b++) {
                        double d2 = (x - bx[b]) * (x - bx[b]) + (y - by[b]) * (y - by[b]);
                        if (d2 < br[b] * br[b])
                            v += 200.0 * (1.0 - sqrt(d2) / br[b]) + 40 * k;
                    }
                }
                img.data[((size_t)y * w + x) * c + k] = clamp_u8(v);
            }
    return img;
}

/* Symmetric copy t of img (any w x h): bit 0 mirrors x, bit 1 mirrors y, bit 2
 * transposes (see symmetry_name). */
static dc_image symmetric_copy(const dc_image *img, int t)
{
    int ow = (t & 4) ? img->h : img->w, oh = (t & 4) ? img->w : img->h, c = img->c;
    dc_image out = alloc_image(ow, oh, c);
    for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++) {
            int u = (t & 1) ? ow - 1 - x : x, v = (t & 2) ? oh - 1 - y : y;
            int sx = (t & 4) ? v : u, sy = (t & 4) ? u : v;
            memcpy(out.data + ((size_t)y * ow + x) * c,
                   img->data + ((size_t)sy * img->w + sx) * c, (size_t)c);
        }
    return out;
}

static const char *symmetry_name(int t)
{
    static const char *const names[8] = { "identity",  "flip horizontal", "flip vertical",
                                           "rot180",    "transpose",       "rot90 cw",
                                           "rot90 ccw", "anti-transpose" };
    return names[t];
}

static uint64_t inv_key(const dc_image *img, double inv[6])
{
    uint64_t key = 0;
    dc_error err = { 0 };
    dc_status st = dc_invariants_key(img, &key, inv, &err);
    ck_assert_msg(st == DC_OK, "%s", err.msg);
    return key;
}

static double key_value(uint64_t key)
{
    double d;
    memcpy(&d, &key, sizeof d);
    return d;
}

/* ---- the symmetric copies themselves -------------------------------------- */

START_TEST(test_symmetric_copies_are_the_rotations)
{
    /* 3 wide, 2 high:  a b c / d e f  */
    uint8_t px[6] = { 'a', 'b', 'c', 'd', 'e', 'f' };
    dc_image img = { 3, 2, 1, px };
    const char *want[8] = { "abcdef", "cbafed", "defabc", "fedcba",
                            "adbecf", "daebfc", "cfbead", "fcebda" };
    /* rot90 cw of a b c / d e f is d a / e b / f c; ccw is c f / b e / a d */
    for (int t = 0; t < 8; t++) {
        dc_image s = symmetric_copy(&img, t);
        ck_assert_msg(memcmp(s.data, want[t], 6) == 0, "%s: got %.6s", symmetry_name(t),
                      (const char *)s.data);
        dc_image_free(&s);
    }
}
END_TEST

/* ---- OpenCV reference -------------------------------------------------------- */

static bool have_opencv(void)
{
    static int known = -1;
    return fx_python_has(&known, "cv2, numpy", "test_hash: " FX_PYTHON " cannot import cv2 and "
                         "numpy (python3-opencv, python3-numpy): OpenCV comparisons skipped");
}

typedef struct {
    uint64_t dhash;
    char r9[2 * 72 + 1];
    char r32[2 * 1024 + 1];
    double canon[6], exact[6], plain[6];
} reference_row;

/* Writes the n images as PNG, runs the reference script over them and reads its rows. */
static void run_reference(const dc_image *imgs, int n, reference_row *rows)
{
    char manifest[PATH_MAX], path[PATH_MAX];
    fx_path(manifest, sizeof manifest, "hash_manifest.txt");
    FILE *mf = fopen(manifest, "w");
    ck_assert_msg(mf != NULL, "%s: %s", manifest, strerror(errno));
    for (int i = 0; i < n; i++) {
        char name[64];
        snprintf(name, sizeof name, "hash_ref_%03d.png", i);
        fx_path(path, sizeof path, name);
        dc_error err = { 0 };
        ck_assert_msg(dc_image_write_png(path, &imgs[i], &err) == DC_OK, "%s", err.msg);
        fprintf(mf, "%s\n", path);
    }
    ck_assert_int_eq(fclose(mf), 0);

    char script[PATH_MAX], cmd[3 * PATH_MAX];
    fx_source_path(script, sizeof script, "hash_reference.py");
    ck_assert_msg(access(script, R_OK) == 0, "reference script not found at %s", script);
    snprintf(cmd, sizeof cmd, FX_PYTHON " '%s' '%s'", script, manifest);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    for (int i = 0; i < n; i++) {
        reference_row *r = &rows[i];
        unsigned long long h;
        int got = fscanf(p, "%llu %144s %2048s", &h, r->r9, r->r32);
        for (int j = 0; j < 6; j++)
            got += fscanf(p, "%lf", &r->canon[j]);
        for (int j = 0; j < 6; j++)
            got += fscanf(p, "%lf", &r->exact[j]);
        for (int j = 0; j < 6; j++)
            got += fscanf(p, "%lf", &r->plain[j]);
        ck_assert_msg(got == 21, "reference output ends at image %d (%s)", i, cmd);
        r->dhash = h;
    }
    ck_assert_int_eq(pclose(p), 0);
    for (int i = 0; i < n; i++) {
        char name[64];
        snprintf(name, sizeof name, "hash_ref_%03d.png", i);
        unlink(fx_path(path, sizeof path, name));
    }
    unlink(manifest);
}

static void to_hex(const uint8_t *b, int n, char *out)
{
    for (int i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

/* Sizes (w, h, c) compared with OpenCV: the datasets' (FashionMNIST 28 x 28 gray,
 * CIFAR-10 / Intel 32 x 32 RGB, ImageNet-like 500 x 375 and 375 x 500, 224 x 224),
 * sources smaller than 9 x 8 and than 32 x 32 (OpenCV's edge handling), exact 2x
 * (OpenCV's INTER_AREA switch), and sizes just past 32. */
static const int ref_sizes[][3] = {
    { 28, 28, 1 },  { 32, 32, 3 }, { 150, 150, 3 }, { 500, 375, 3 }, { 375, 500, 3 },
    { 224, 224, 3 }, { 9, 8, 3 },  { 5, 4, 3 },     { 1, 1, 3 },     { 3, 7, 1 },
    { 8, 9, 3 },    { 18, 16, 3 }, { 17, 9, 3 },    { 100, 7, 3 },   { 2, 30, 3 },
    { 64, 48, 3 },  { 48, 64, 3 }, { 40, 40, 3 },   { 33, 33, 1 },   { 64, 64, 3 },
    { 20, 28, 3 },  { 31, 33, 3 },
};
#define N_REF_SIZES ((int)(sizeof ref_sizes / sizeof ref_sizes[0]))
#define REF_PER_SIZE 15 /* 3 seeds x 5 kinds */

START_TEST(test_against_opencv)
{
    if (!have_opencv())
        return;
    int n = N_REF_SIZES * REF_PER_SIZE;
    dc_image *imgs = calloc((size_t)n, sizeof *imgs);
    reference_row *rows = calloc((size_t)n, sizeof *rows);
    ck_assert(imgs && rows);
    fx_rng r = fx_rng_seed(2024);
    for (int s = 0; s < N_REF_SIZES; s++)
        for (int j = 0; j < REF_PER_SIZE; j++)
            imgs[s * REF_PER_SIZE + j] = make_image(ref_sizes[s][0], ref_sizes[s][1],
                                                    ref_sizes[s][2], j % IMG_KINDS, &r);
    run_reference(imgs, n, rows);

    double worst_exact = 0.0, worst_paper = 0.0, worst_paper_other = 0.0, worst_plain = 0.0;
    int transposed = 0;
    for (int i = 0; i < n; i++) {
        const dc_image *img = &imgs[i];
        /* dHash and the two resizes, bit for bit */
        ck_assert_msg(dc_dhash(img) == rows[i].dhash,
                      "dHash of image %d (%d x %d x %d): %016llx, OpenCV %016llx", i, img->w,
                      img->h, img->c, (unsigned long long)dc_dhash(img),
                      (unsigned long long)rows[i].dhash);
        uint8_t r9[72], r32[1024];
        char hex[2 * 1024 + 1];
        dc_hash_resize_linear(img, false, 9, 8, r9);
        to_hex(r9, 72, hex);
        ck_assert_msg(strcmp(hex, rows[i].r9) == 0, "9x8 resize of image %d (%d x %d)", i,
                      img->w, img->h);
        dc_hash_resize_linear(img, false, 32, 32, r32);
        to_hex(r32, 1024, hex);
        ck_assert_msg(strcmp(hex, rows[i].r32) == 0, "32x32 resize of image %d (%d x %d)",
                      i, img->w, img->h);

        /* the six invariants: against the exact port to 1e-12, relative; against the
         * paper's float port relative to max(|value|, 1e-3 of the largest invariant) */
        double inv[6], scale = 0.0, err_exact = 0.0, err_paper = 0.0, err_plain = 0.0;
        inv_key(img, inv);
        for (int j = 0; j < 6; j++)
            scale = fmax(scale, fabs(rows[i].exact[j]));
        for (int j = 0; j < 6; j++) {
            double e = rows[i].exact[j], floor_j = fmax(fabs(e), 1e-3 * scale);
            ck_assert_msg(fabs(inv[j] - e) <= 1e-12 * fabs(e),
                          "invariant %d of image %d (%d x %d x %d): %.17g, exactly %.17g", j,
                          i, img->w, img->h, img->c, inv[j], e);
            err_exact = fmax(err_exact, e != 0 ? fabs(inv[j] - e) / fabs(e) : 0.0);
            err_paper = fmax(err_paper, fabs(inv[j] - rows[i].canon[j]) / floor_j);
            err_plain = fmax(err_plain, fabs(inv[j] - rows[i].plain[j]) / floor_j);
        }
        /* The paper's float code loses digits where the invariants nearly cancel
         * (low-contrast, symmetric images) and in images so small that its rounding of
         * the complex moments to 5 decimals matters; elsewhere it agrees to 1e-6. */
        int kind = i % REF_PER_SIZE % IMG_KINDS;
        bool clean = img->w * img->h >= 28 * 28 && kind != IMG_FLAT;
        ck_assert_msg(err_paper <= (clean ? 1e-6 : 1e-4), "invariants of image %d (%d x %d "
                      "x %d) differ from the paper's by %.3g", i, img->w, img->h, img->c,
                      err_paper);
        worst_exact = fmax(worst_exact, err_exact);
        if (clean)
            worst_paper = fmax(worst_paper, err_paper);
        else
            worst_paper_other = fmax(worst_paper_other, err_paper);
        if (rows[i].canon[0] != rows[i].plain[0]) {
            transposed++;
            worst_plain = fmax(worst_plain, err_plain);
        }
        dc_image_free(&imgs[i]);
    }
    fprintf(stderr, "test_hash: %d images: dHash, 9x8 and 32x32 resizes identical to "
                    "OpenCV; invariants within %.2g of the exact port and %.2g of the "
                    "paper's float code (%.2g for small or low-contrast images); the %d "
                    "images transposed before the resize differ from the paper's values "
                    "for the image as given by up to %.2g (cv2.resize does not commute "
                    "with transposition)\n",
            n, worst_exact, worst_paper, worst_paper_other, transposed, worst_plain);
    free(imgs);
    free(rows);
}
END_TEST

/* ---- golden dHash values (python3-opencv 4.6) --------------------------------- */

/* (w, h, c, kind, seed) -> OpenCV's dHash. To regenerate: DC_HASH_PRINT_GOLDEN=1 makes
 * the test print its own values and write hash_golden_<i>.png into the test directory;
 * list those in a manifest and run hash_reference.py on it. */
static const struct {
    int w, h, c, kind;
    uint64_t seed, dhash;
} golden[] = {
    { 32, 32, 3, IMG_RANDOM, 1, 0xcbdc36554a63995bull },
    { 32, 32, 3, IMG_SMOOTH, 2, 0x73c69c33638c1973ull },
    { 28, 28, 1, IMG_SMOOTH, 3, 0xfe0307fcfe0307fcull },
    { 500, 375, 3, IMG_SMOOTH, 4, 0x6a6a6a2a2aaaaaaaull },
    { 5, 4, 3, IMG_RANDOM, 5, 0x3c3ccfcfcfc0c3e3ull },
    { 150, 150, 3, IMG_FLAT, 6, 0x4822224822224822ull },
    { 64, 48, 3, IMG_SMOOTH, 7, 0xb62664646c6c6c6cull },
    { 9, 8, 3, IMG_RANDOM, 8, 0x24d6b56264b8324dull },
    { 375, 500, 3, IMG_RANDOM, 9, 0x5999ca494ad4ad8dull },
    { 3, 7, 1, IMG_BLOBS, 10, 0x7e7e7e0e0e0e0e0eull },
};
#define N_GOLDEN ((int)(sizeof golden / sizeof golden[0]))

START_TEST(test_dhash_golden)
{
    bool print = getenv("DC_HASH_PRINT_GOLDEN") != NULL;
    for (int i = 0; i < N_GOLDEN; i++) {
        fx_rng r = fx_rng_seed(golden[i].seed);
        dc_image img = make_image(golden[i].w, golden[i].h, golden[i].c, golden[i].kind, &r);
        uint64_t h = dc_dhash(&img);
        if (print) {
            char name[64], path[PATH_MAX];
            snprintf(name, sizeof name, "hash_golden_%d.png", i);
            dc_error err = { 0 };
            ck_assert(dc_image_write_png(fx_path(path, sizeof path, name), &img, &err) ==
                      DC_OK);
            fprintf(stderr, "golden %d: 0x%016llxull %s\n", i, (unsigned long long)h, path);
        } else
            ck_assert_msg(h == golden[i].dhash, "golden %d: %016llx, want %016llx", i,
                          (unsigned long long)h, (unsigned long long)golden[i].dhash);
        dc_image_free(&img);
    }
}
END_TEST

/* ---- invariance ---------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* For n images of one size: every symmetric copy has the key of its original, the same
 * four real invariants bit for bit, and the two mirror-odd ones negated exactly under a
 * mirror (also after a resize: the canonical orientation makes the resized images exact
 * mirrors of one another); the n keys are pairwise distinct; returns how many dHashes change under
 * rot90. */
static int check_invariance(int w, int h, int c, int n, uint64_t seed)
{
    fx_rng r = fx_rng_seed(seed);
    uint64_t *keys = malloc((size_t)n * sizeof *keys);
    ck_assert_ptr_nonnull(keys);
    int dhash_changed = 0;
    for (int i = 0; i < n; i++) {
        static const int kinds[6] = { IMG_RANDOM, IMG_RANDOM, IMG_RANDOM,
                                      IMG_SMOOTH, IMG_BLOBS,  IMG_BINARY };
        dc_image img = make_image(w, h, c, kinds[i % 6], &r);
        double inv[6];
        keys[i] = inv_key(&img, inv);
        ck_assert_msg(isfinite(key_value(keys[i])) && keys[i] != 0, "image %d", i);
        for (int t = 1; t < 8; t++) {
            dc_image s = symmetric_copy(&img, t);
            double sinv[6];
            uint64_t k = inv_key(&s, sinv);
            ck_assert_msg(k == keys[i],
                          "%d x %d x %d image %d, %s: key %.17g, original %.17g", w, h, c, i,
                          symmetry_name(t), key_value(k), key_value(keys[i]));
            bool mirror = t == 1 || t == 2 || t == 4 || t == 7;
            for (int j = 0; j < 6; j++) {
                bool odd = mirror && (j == 2 || j == 5);
                ck_assert_msg(sinv[j] == (odd ? -inv[j] : inv[j]),
                              "%s: invariant %d %.17g vs %.17g", symmetry_name(t), j, sinv[j],
                              inv[j]);
            }
            if (t == 6 && dc_dhash(&s) != dc_dhash(&img))
                dhash_changed++;
            dc_image_free(&s);
        }
        dc_image_free(&img);
    }
    qsort(keys, (size_t)n, sizeof *keys, cmp_u64);
    for (int i = 1; i < n; i++)
        ck_assert_msg(keys[i] != keys[i - 1], "%d x %d: two images share key %.17g", w, h,
                      key_value(keys[i]));
    free(keys);
    return dhash_changed;
}

START_TEST(test_invariants_key_cifar_size)
{
    int changed = check_invariance(32, 32, 3, 200, 11);
    ck_assert_msg(changed >= 190, "dHash changed under rot90 for only %d of 200", changed);
    fprintf(stderr, "test_hash: 200 32x32 RGB images: invariants key identical under the 7 "
                    "symmetries, 200 distinct keys; dHash changed under rot90 for %d\n",
            changed);
}
END_TEST

START_TEST(test_invariants_key_other_sizes)
{
    static const int sizes[][4] = {
        { 28, 28, 1, 100 },  /* FashionMNIST: not resized */
        { 20, 28, 3, 50 },   /* non-square, not resized */
        { 64, 48, 3, 100 },  /* resized; its rot90 is portrait and gets transposed */
        { 40, 40, 3, 100 },  /* square and resized: the lexicographic rule */
        { 33, 33, 1, 50 },
        { 100, 20, 3, 30 },  /* one side upsampled */
        { 500, 375, 3, 10 },
    };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        int changed = check_invariance(sizes[i][0], sizes[i][1], sizes[i][2], sizes[i][3],
                                       100 + i);
        ck_assert_msg(changed >= sizes[i][3] * 8 / 10, "%d x %d: dHash changed for only %d",
                      sizes[i][0], sizes[i][1], changed);
    }
}
END_TEST

/* Symmetric squares (a transpose-symmetric image, a constant one) and a square whose
 * eight copies differ only far from the first rows still give one key. */
START_TEST(test_invariants_key_symmetric_squares)
{
    fx_rng r = fx_rng_seed(5);
    dc_image img = make_image(48, 48, 1, IMG_RANDOM, &r);
    for (int y = 0; y < 48; y++)
        for (int x = 0; x < y; x++)
            img.data[y * 48 + x] = img.data[x * 48 + y]; /* symmetric about the diagonal */
    dc_image late = alloc_image(48, 48, 1); /* uniform except one pixel near the centre */
    memset(late.data, 90, 48 * 48);
    late.data[30 * 48 + 21] = 200;
    dc_image *cases[2] = { &img, &late };
    for (int k = 0; k < 2; k++) {
        uint64_t key = inv_key(cases[k], NULL);
        for (int t = 1; t < 8; t++) {
            dc_image s = symmetric_copy(cases[k], t);
            ck_assert_msg(inv_key(&s, NULL) == key, "case %d, %s", k, symmetry_name(t));
            dc_image_free(&s);
        }
    }
    dc_image_free(&img);
    dc_image_free(&late);
}
END_TEST

START_TEST(test_invariants_special_images)
{
    double inv[6];
    uint64_t key = 1;
    /* black: the paper divides by m00 = 0; we give zeros */
    dc_image black = alloc_image(32, 32, 3);
    memset(black.data, 0, 32 * 32 * 3);
    key = inv_key(&black, inv);
    ck_assert_uint_eq(key, 0);
    for (int j = 0; j < 6; j++)
        ck_assert(inv[j] == 0.0);
    /* constant g on n x n: mu20 = mu02 = g n^2 (n^2 - 1) / 12, so
     * inv[0] = 2 pi (mu20 + mu02) / m00^2 = pi (n^2 - 1) / (3 g n^2); c20 = c12 = c30 = 0 */
    memset(black.data, 77, 32 * 32 * 3);
    inv_key(&black, inv);
    ck_assert_double_eq_tol(inv[0], M_PI * 1023.0 / (3.0 * 77 * 1024), 1e-15);
    for (int j = 1; j < 6; j++)
        ck_assert(inv[j] == 0.0);
    dc_image_free(&black);
    /* one pixel: centred on it, every central moment is zero */
    uint8_t one = 5;
    dc_image px = { 1, 1, 1, &one };
    ck_assert_uint_eq(inv_key(&px, inv), 0);
    ck_assert_uint_eq(dc_dhash(&px), 0);

    /* bad images */
    dc_error err = { 0 };
    uint8_t buf[16] = { 0 };
    dc_image two = { 2, 2, 2, buf }, empty = { 0, 4, 3, buf }, none = { 2, 2, 3, NULL };
    ck_assert_int_eq(dc_invariants_key(&two, &key, inv, &err), DC_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "2 x 2 x 2"));
    ck_assert_int_eq(dc_invariants_key(&empty, &key, NULL, &err), DC_ERR_ARG);
    ck_assert_int_eq(dc_invariants_key(&none, &key, NULL, &err), DC_ERR_ARG);
    ck_assert_int_eq(dc_invariants_key(NULL, &key, NULL, &err), DC_ERR_ARG);
    ck_assert(!dc_hash_image_ok(&two) && !dc_hash_image_ok(&empty) &&
              !dc_hash_image_ok(&none) && !dc_hash_image_ok(NULL));
}
END_TEST

/* Gray conversion and the identity resize (9 x 8 to 9 x 8 copies, as OpenCV does). */
START_TEST(test_gray_and_identity_resize)
{
    uint8_t rgb[3] = { 255, 0, 0 };
    dc_image red = { 1, 1, 3, rgb };
    ck_assert_int_eq(dc_hash_gray_at(&red, 0, 0), 76); /* (9798 * 255 + 16384) >> 15 */
    rgb[0] = rgb[1] = rgb[2] = 255;
    ck_assert_int_eq(dc_hash_gray_at(&red, 0, 0), 255);
    fx_rng r = fx_rng_seed(9);
    dc_image g = make_image(9, 8, 1, IMG_RANDOM, &r);
    uint8_t out[72];
    dc_hash_resize_linear(&g, false, 9, 8, out);
    ck_assert_mem_eq(out, g.data, 72);
    uint64_t want = 0;
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 8; x++)
            if (g.data[y * 9 + x + 1] > g.data[y * 9 + x])
                want |= (uint64_t)1 << (y * 8 + x);
    ck_assert_uint_eq(dc_dhash(&g), want);
    dc_image_free(&g);
}
END_TEST

static Suite *hash_suite(void)
{
    Suite *s = suite_create("hash");
    TCase *tc = fx_tcase(s, "hash", 240);
    tcase_add_test(tc, test_symmetric_copies_are_the_rotations);
    tcase_add_test(tc, test_gray_and_identity_resize);
    tcase_add_test(tc, test_dhash_golden);
    tcase_add_test(tc, test_against_opencv);
    tcase_add_test(tc, test_invariants_key_cifar_size);
    tcase_add_test(tc, test_invariants_key_other_sizes);
    tcase_add_test(tc, test_invariants_key_symmetric_squares);
    tcase_add_test(tc, test_invariants_special_images);
    return s;
}

FX_MAIN(hash_suite)
