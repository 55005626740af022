/*
 * test_preprocess.c — Pillow's resampling reproduced bit for bit (every filter, up and
 * down, gray and RGB, against Pillow itself), and the paper's input chains against
 * torchvision: FashionMNIST (Resize((32,32)), Grayscale(3), ToTensor, Normalize) and
 * CIFAR-10 (ToTensor, Normalize).
 *
 * The references are produced at test time by /usr/bin/python3 (Debian's python3-pil,
 * python3-torchvision) into fx_tmpdir(); without them those cases say so and pass.
 */
#include "fixtures.h"
#include "loaders/preprocess.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PY "/usr/bin/python3"
#define PY_SKIP 77 /* exit status of the scripts when a module is missing */

/* ---- running the Python reference ------------------------------------------ */

/* Writes script to <tmp>/<name>.py and runs it with the output path as its argument.
 * Returns 0 on success, PY_SKIP when Python or a module is missing (after printing why). */
static int run_python(const char *name, const char *script, const char *outfile)
{
    char spath[512], cmd[1200];
    fx_path(spath, sizeof spath, name);
    ck_assert_int_eq(fx_write_file(spath, script, strlen(script)), 0);
    if (access(PY, X_OK) != 0) {
        fprintf(stderr, "SKIPPED %s: " PY " is not installed\n", name);
        return PY_SKIP;
    }
    snprintf(cmd, sizeof cmd, PY " '%s' '%s'", spath, outfile);
    int rc = system(cmd);
    int code = (rc != -1 && WIFEXITED(rc)) ? WEXITSTATUS(rc) : -1;
    if (code == 0)
        return 0;
    if (code == PY_SKIP) {
        fprintf(stderr, "SKIPPED %s: " PY " with PIL/torchvision is not available "
                "(status %d)\n", name, code);
        return PY_SKIP;
    }
    ck_abort_msg("%s failed with status %d", name, code);
    return -1;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)size + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    *len = (size_t)size;
    return buf;
}

static int32_t le32(const unsigned char *p)
{
    return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                     (uint32_t)p[3] << 24);
}

/* ---- resize cases from Pillow ------------------------------------------- */

/* Writes cases: int32 count, then per case int32 filter (dc_pil_filter), sw, sh, c, dw, dh,
 * the source bytes and Pillow's result bytes. */
static const char *resize_script =
    "import sys, random, struct\n"
    "try:\n"
    "    import numpy as np\n"
    "    from PIL import Image\n"
    "except ImportError:\n"
    "    sys.exit(77)\n"
    "R = Image.Resampling if hasattr(Image, 'Resampling') else Image\n"
    "ours = {R.BOX: 0, R.BILINEAR: 1, R.HAMMING: 2, R.BICUBIC: 3, R.LANCZOS: 4}\n"
    "rng = np.random.default_rng(1234)\n"
    "cases = []\n"
    "def add(filt, sw, sh, c, dw, dh, kind='random'):\n"
    "    if kind == 'random':\n"
    "        a = rng.integers(0, 256, size=(sh, sw, c), dtype=np.uint8)\n"
    "    else:\n"
    "        a = np.where(rng.random((sh, sw, c)) < 0.5, 0, 255).astype(np.uint8)\n"
    "    im = Image.fromarray(a[:, :, 0] if c == 1 else a, 'L' if c == 1 else 'RGB')\n"
    "    out = np.asarray(im.resize((dw, dh), filt)).reshape(dh, dw, c)\n"
    "    cases.append((ours[filt], sw, sh, c, dw, dh, a.tobytes(), out.tobytes()))\n"
    "for i in range(300):\n"           /* the FashionMNIST case */
    "    add(R.BILINEAR, 28, 28, 1, 32, 32)\n"
    "for i in range(20):\n"            /* Intel: 150x150 RGB to 32x32, PIL's default filter */
    "    add(R.BICUBIC, 150, 150, 3, 32, 32)\n"
    "add(R.BICUBIC, 150, 113, 3, 32, 32)\n"
    "for f in ours:\n"
    "    for i in range(40):\n"
    "        sw, sh = int(rng.integers(1, 70)), int(rng.integers(1, 70))\n"
    "        dw, dh = int(rng.integers(1, 70)), int(rng.integers(1, 70))\n"
    "        add(f, sw, sh, 1 + 2 * (i % 2), dw, dh, 'random' if i % 3 else 'extreme')\n"
    "    add(f, 200, 9, 1, 7, 40)\n"
    "    add(f, 5, 5, 3, 64, 3, 'extreme')\n"
    "    add(f, 28, 28, 1, 28, 32)\n"    /* one pass only */
    "    add(f, 28, 28, 3, 32, 28)\n"
    "with open(sys.argv[1], 'wb') as fh:\n"
    "    fh.write(struct.pack('<i', len(cases)))\n"
    "    for f, sw, sh, c, dw, dh, a, b in cases:\n"
    "        fh.write(struct.pack('<6i', f, sw, sh, c, dw, dh) + a + b)\n";

START_TEST(test_resize_matches_pillow)
{
    char out[512];
    fx_path(out, sizeof out, "preprocess_resize_cases.bin");
    if (run_python("preprocess_resize.py", resize_script, out) != 0)
        return;
    size_t len;
    unsigned char *buf = slurp(out, &len);
    ck_assert_uint_ge(len, 4);
    int n = le32(buf);
    size_t pos = 4;
    long pixels = 0, wrong = 0;
    for (int i = 0; i < n; i++) {
        ck_assert_uint_le(pos + 24, len);
        int f = le32(buf + pos), sw = le32(buf + pos + 4), sh = le32(buf + pos + 8);
        int c = le32(buf + pos + 12), dw = le32(buf + pos + 16), dh = le32(buf + pos + 20);
        pos += 24;
        size_t sn = (size_t)sw * sh * c, dn = (size_t)dw * dh * c;
        ck_assert_uint_le(pos + sn + dn, len);
        dc_image src = { sw, sh, c, buf + pos };
        dc_image dst;
        dc_error err = { 0 };
        dc_status st = dc_resize_pil(&src, dw, dh, (dc_pil_filter)f, &dst, &err);
        ck_assert_msg(st == DC_OK, "%s", err.msg);
        ck_assert_int_eq(dst.w, dw);
        ck_assert_int_eq(dst.h, dh);
        ck_assert_int_eq(dst.c, c);
        long bad = 0;
        for (size_t k = 0; k < dn; k++)
            bad += dst.data[k] != buf[pos + sn + k];
        ck_assert_msg(bad == 0, "case %d (filter %d, %dx%dx%d -> %dx%d): %ld of %zu bytes "
                      "differ from Pillow", i, f, sw, sh, c, dw, dh, bad, dn);
        pixels += (long)dn;
        wrong += bad;
        dc_image_free(&dst);
        pos += sn + dn;
    }
    ck_assert_int_eq(wrong, 0);
    ck_assert_int_gt(pixels, 300 * 32 * 32);
    free(buf);
}
END_TEST

/* ---- resize without Python ---------------------------------------------- */

START_TEST(test_resize_same_size_is_identity)
{
    fx_rng r = fx_rng_seed(7);
    uint8_t px[32 * 32 * 3];
    for (size_t i = 0; i < sizeof px; i++)
        px[i] = (uint8_t)fx_rng_u64(&r);
    for (int f = DC_PIL_BOX; f <= DC_PIL_LANCZOS; f++) {
        dc_image src = { 32, 32, 3, px }, dst;
        dc_error err = { 0 };
        ck_assert_int_eq(dc_resize_pil(&src, 32, 32, (dc_pil_filter)f, &dst, &err), DC_OK);
        ck_assert_ptr_ne(dst.data, px);
        ck_assert_int_eq(memcmp(dst.data, px, sizeof px), 0);
        dc_image_free(&dst);
    }
}
END_TEST

START_TEST(test_resize_by_hand)
{
    /* 2 -> 4 pixels, bilinear: centres 0.25, 0.75, 1.25, 1.75; the first and last have a
     * single tap inside the image (the other is dropped, not clamped). */
    uint8_t px[2] = { 0, 255 };
    dc_image src = { 2, 1, 1, px }, dst;
    dc_error err = { 0 };
    ck_assert_int_eq(dc_resize_pil(&src, 4, 1, DC_PIL_BILINEAR, &dst, &err), DC_OK);
    ck_assert_int_eq(dst.data[0], 0);
    ck_assert_int_eq(dst.data[1], 64);   /* 0.25 * 255 = 63.75 */
    ck_assert_int_eq(dst.data[2], 191);  /* 0.75 * 255 = 191.25 */
    ck_assert_int_eq(dst.data[3], 255);
    dc_image_free(&dst);
}
END_TEST

START_TEST(test_resize_bad_args)
{
    uint8_t px[4] = { 0 };
    dc_image src = { 2, 2, 1, px }, dst;
    dc_error err = { 0 };
    ck_assert_int_eq(dc_resize_pil(&src, 0, 3, DC_PIL_BILINEAR, &dst, &err), DC_ERR_ARG);
    ck_assert_ptr_null(dst.data);
    ck_assert_int_eq(dc_resize_pil(&src, 3, 3, (dc_pil_filter)99, &dst, &err), DC_ERR_ARG);
    dc_image empty = { 0, 0, 1, NULL };
    ck_assert_int_eq(dc_resize_pil(&empty, 3, 3, DC_PIL_BILINEAR, &dst, &err), DC_ERR_ARG);
}
END_TEST

/* ---- the input chains against torchvision -------------------------------- */

/* Writes int32 count, then per FashionMNIST sample 28*28 bytes and 3*32*32 float32 of
 * torchvision's chain; then per CIFAR sample 32*32*3 bytes and 3*32*32 float32. */
static const char *chain_script =
    "import sys, struct\n"
    "try:\n"
    "    import numpy as np, torch\n"
    "    from PIL import Image\n"
    "    from torchvision import transforms as T\n"
    "except ImportError:\n"
    "    sys.exit(77)\n"
    "rng = np.random.default_rng(99)\n"
    "fm = T.Compose([T.Resize((32, 32)), T.Grayscale(num_output_channels=3), T.ToTensor(),\n"
    "                T.Normalize((0.2856,) * 3, (0.3385,) * 3)])\n"
    "cf = T.Compose([T.ToTensor(), T.Normalize((0.4914, 0.4822, 0.4465),\n"
    "                                          (0.2023, 0.1994, 0.201))])\n"
    "n = 100\n"
    "with open(sys.argv[1], 'wb') as fh:\n"
    "    fh.write(struct.pack('<i', n))\n"
    "    for i in range(n):\n"
    "        a = rng.integers(0, 256, size=(28, 28), dtype=np.uint8)\n"
    "        if i == 0: a[:] = 0\n"
    "        if i == 1: a[:] = 255\n"
    "        x = fm(Image.fromarray(a, 'L'))\n"
    "        assert x.dtype == torch.float32 and tuple(x.shape) == (3, 32, 32)\n"
    "        fh.write(a.tobytes() + x.numpy().tobytes())\n"
    "    for i in range(n):\n"
    "        a = rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8)\n"
    "        x = cf(Image.fromarray(a, 'RGB'))\n"
    "        fh.write(a.tobytes() + x.numpy().tobytes())\n";

START_TEST(test_chains_match_torchvision)
{
    char out[512];
    fx_path(out, sizeof out, "preprocess_chain_cases.bin");
    if (run_python("preprocess_chain.py", chain_script, out) != 0)
        return;
    size_t len;
    unsigned char *buf = slurp(out, &len);
    int n = le32(buf);
    const size_t fm_in = 28 * 28, cf_in = 32 * 32 * 3, nout = 3 * 32 * 32;
    ck_assert_uint_eq(len, 4 + (size_t)n * (fm_in + cf_in + 2 * nout * sizeof(float)));
    const float fm_mean[3] = { 0.2856f, 0.2856f, 0.2856f }, fm_std[3] = { 0.3385f, 0.3385f,
                                                                           0.3385f };
    const float cf_mean[3] = { 0.4914f, 0.4822f, 0.4465f }, cf_std[3] = { 0.2023f, 0.1994f,
                                                                           0.201f };
    float *got = malloc(nout * sizeof *got), *want = malloc(nout * sizeof *want);
    ck_assert_ptr_nonnull(got);
    ck_assert_ptr_nonnull(want);
    size_t pos = 4;
    float worst = 0.0f;
    for (int part = 0; part < 2; part++) {
        for (int i = 0; i < n; i++) {
            dc_image raw = part == 0 ? (dc_image){ 28, 28, 1, buf + pos }
                                     : (dc_image){ 32, 32, 3, buf + pos };
            pos += part == 0 ? fm_in : cf_in;
            memcpy(want, buf + pos, nout * sizeof *want);
            pos += nout * sizeof *want;
            dc_error err = { 0 };
            dc_status st = part == 0
                               ? dc_preprocess_small(&raw, 3, 32, 32, fm_mean, fm_std, got, &err)
                               : dc_preprocess_small(&raw, 3, 32, 32, cf_mean, cf_std, got, &err);
            ck_assert_msg(st == DC_OK, "%s", err.msg);
            float d = fx_max_abs_diff(got, want, nout);
            ck_assert_msg(d <= 1e-6f, "%s sample %d: max abs diff %g from torchvision",
                          part == 0 ? "FashionMNIST" : "CIFAR-10", i, (double)d);
            if (d > worst)
                worst = d;
        }
    }
    fprintf(stderr, "chains: 2 x %d samples, max abs diff from torchvision %g\n", n,
            (double)worst);
    free(got);
    free(want);
    free(buf);
}
END_TEST

START_TEST(test_preprocess_gray_copied_and_args)
{
    uint8_t px[4] = { 0, 51, 102, 255 };
    dc_image raw = { 2, 2, 1, px };
    const float mean[3] = { 0.0f, 0.5f, 1.0f }, std[3] = { 1.0f, 0.5f, 2.0f };
    float out[12];
    dc_error err = { 0 };
    ck_assert_int_eq(dc_preprocess_small(&raw, 3, 2, 2, mean, std, out, &err), DC_OK);
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < 4; i++)
            ck_assert_float_eq(out[k * 4 + i], ((float)px[i] / 255.0f - mean[k]) / std[k]);
    ck_assert_int_eq(dc_preprocess_small(&raw, 1, 2, 2, mean, std, out, &err), DC_OK);
    ck_assert_float_eq(out[3], 1.0f);
    uint8_t rgb[12] = { 0 };
    dc_image color = { 2, 2, 3, rgb };
    ck_assert_int_eq(dc_preprocess_small(&color, 1, 2, 2, mean, std, out, &err), DC_ERR_ARG);
    dc_image four = { 1, 1, 4, rgb };
    ck_assert_int_eq(dc_preprocess_small(&four, 3, 2, 2, mean, std, out, &err), DC_ERR_ARG);
    ck_assert_int_eq(dc_preprocess_small(&raw, 3, 0, 2, mean, std, out, &err), DC_ERR_ARG);
}
END_TEST

static Suite *preprocess_suite(void)
{
    Suite *s = suite_create("preprocess");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_resize_matches_pillow);
    tcase_add_test(tc, test_resize_same_size_is_identity);
    tcase_add_test(tc, test_resize_by_hand);
    tcase_add_test(tc, test_resize_bad_args);
    tcase_add_test(tc, test_chains_match_torchvision);
    tcase_add_test(tc, test_preprocess_gray_copied_and_args);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(preprocess_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
