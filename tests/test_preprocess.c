/*
 * test_preprocess.c — Pillow's resampling reproduced bit for bit (every filter, up and
 * down, gray and RGB, against Pillow itself), and the paper's input chains against
 * torchvision: FashionMNIST (Resize((32,32)), Grayscale(3), ToTensor, Normalize),
 * CIFAR-10 (ToTensor, Normalize) and the ImageNet evaluation chain of the weights' presets
 * (Resize(shorter side), CenterCrop, ToTensor, Normalize; bilinear and bicubic), with its
 * sizes and crop offsets on odd image sizes.
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

#define PY_SKIP 77 /* exit status of the scripts when a module is missing */

/* ---- running the Python reference ------------------------------------------ */

/* Writes script to <tmp>/<name>.py and runs it with the output path as its argument.
 * Returns 0 on success, PY_SKIP when Python or a module is missing (after printing why). */
static int run_python(const char *name, const char *script, const char *outfile)
{
    int code = fx_python(name, script, outfile);
    if (code == 0)
        return 0;
    if (code == FX_NO_PYTHON) {
        fx_skip("%s: " FX_PYTHON " is not installed", name);
        return PY_SKIP;
    }
    if (code == PY_SKIP) {
        fx_skip("%s: " FX_PYTHON " with PIL/torchvision is not available (status %d)", name,
                code);
        return PY_SKIP;
    }
    ck_abort_msg("%s failed with status %d", name, code);
    return -1;
}

static int32_t le32(const unsigned char *p)
{
    return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                     (uint32_t)p[3] << 24);
}

/* Runs the reference script <stem>.py, which writes <stem>_cases.bin: an int32 case count,
 * then the cases. Returns the file's bytes (the caller frees them) with its length and the
 * count, or NULL when the reference is not available (the test then skips). */
static unsigned char *reference_cases(const char *stem, const char *script, size_t *len,
                                      int *count)
{
    char name[256], out[512];
    snprintf(name, sizeof name, "%s_cases.bin", stem);
    fx_path(out, sizeof out, name);
    snprintf(name, sizeof name, "%s.py", stem);
    if (run_python(name, script, out) != 0)
        return NULL;
    unsigned char *buf = fx_read_file(out, len);
    ck_assert_uint_ge(*len, 4);
    *count = le32(buf);
    return buf;
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
    size_t len;
    int n;
    unsigned char *buf = reference_cases("preprocess_resize", resize_script, &len, &n);
    if (buf == NULL)
        return;
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
    size_t len;
    int n;
    unsigned char *buf = reference_cases("preprocess_chain", chain_script, &len, &n);
    if (buf == NULL)
        return;
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

/* ---- the ImageNet chain -------------------------------------------------- */

START_TEST(test_imagenet_sizes)
{
    /* { w, h, size, want_w, want_h }: int(size * long / short), truncated */
    static const int cases[][5] = {
        { 500, 333, 256, 384, 256 },  /* 256 * 500 / 333 = 384.38 */
        { 333, 500, 256, 256, 384 },
        { 200, 180, 256, 284, 256 },  /* 284.44 */
        { 180, 200, 232, 232, 257 },  /* 257.78 */
        { 256, 256, 256, 256, 256 },
        { 640, 480, 342, 456, 342 },  /* exactly 456 */
        { 640, 480, 256, 341, 256 },  /* 341.33 */
        { 1, 1, 256, 256, 256 },
        { 1, 3, 232, 232, 696 },
        { 31, 700, 256, 256, 5780 },  /* 5780.6 */
        { 257, 256, 256, 257, 256 },  /* 257.0 */
        { 300, 299, 299, 300, 299 },  /* only one side changes */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int w = 0, h = 0;
        dc_error err = { 0 };
        ck_assert_int_eq(dc_resize_shorter_side(cases[i][0], cases[i][1], cases[i][2], &w, &h,
                                                &err), DC_OK);
        ck_assert_msg(w == cases[i][3] && h == cases[i][4], "%dx%d to %d: got %dx%d, want "
                      "%dx%d", cases[i][0], cases[i][1], cases[i][2], w, h, cases[i][3],
                      cases[i][4]);
    }
    int w, h;
    dc_error err = { 0 };
    ck_assert_int_eq(dc_resize_shorter_side(0, 5, 256, &w, &h, &err), DC_ERR_ARG);
    ck_assert_int_eq(dc_resize_shorter_side(5, 5, 0, &w, &h, &err), DC_ERR_ARG);
    ck_assert_int_eq(dc_resize_shorter_side(1, 1 << 20, 256, &w, &h, &err), DC_ERR_ARG);
}
END_TEST

START_TEST(test_imagenet_crop_offsets)
{
    /* { size, crop, start }: int(round((size - crop) / 2.0)), Python rounding half to
     * even; a crop larger than the image pads (crop - size) // 2 before it. */
    static const int cases[][3] = {
        { 256, 224, 16 }, { 257, 224, 16 }, { 258, 224, 17 }, { 259, 224, 18 },
        { 225, 224, 0 },  { 227, 224, 2 },  { 224, 224, 0 },  { 384, 224, 80 },
        { 285, 224, 30 }, { 284, 224, 30 }, { 342, 299, 22 }, { 343, 299, 22 },
        { 345, 299, 23 }, { 200, 224, -12 }, { 201, 224, -11 }, { 1, 224, -111 },
        { 1, 2, 0 },      { 1, 3, -1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_msg(dc_center_crop_start(cases[i][0], cases[i][1]) == cases[i][2],
                      "size %d crop %d: start %d, want %d", cases[i][0], cases[i][1],
                      dc_center_crop_start(cases[i][0], cases[i][1]), cases[i][2]);
}
END_TEST

START_TEST(test_imagenet_by_hand)
{
    /* A 3 x 2 gray image, no resize, cropped to 4 x 4: columns padded (4 - 3) // 2 = 0
     * before and 1 after, rows 1 before and 1 after. */
    uint8_t px[6] = { 10, 20, 30, 40, 50, 60 };
    dc_image raw = { 3, 2, 1, px };
    const float mean[3] = { 0.0f, 0.5f, 0.25f }, std[3] = { 1.0f, 2.0f, 0.5f };
    float out[3 * 16];
    dc_error err = { 0 };
    ck_assert_int_eq(dc_preprocess_imagenet(&raw, 0, DC_PIL_BILINEAR, 4, 4, mean, std, out,
                                            &err), DC_OK);
    for (int k = 0; k < 3; k++)
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 4; x++) {
                int sy = y - 1, sx = x; /* start -1 in y, 0 in x */
                float v = (sy >= 0 && sy < 2 && sx < 3) ? (float)px[sy * 3 + sx] / 255.0f
                                                        : 0.0f;
                ck_assert_float_eq(out[k * 16 + y * 4 + x], (v - mean[k]) / std[k]);
            }
    /* An RGB image already of the crop size comes out as dc_preprocess_small gives it. */
    uint8_t rgb[5 * 4 * 3];
    for (size_t i = 0; i < sizeof rgb; i++)
        rgb[i] = (uint8_t)(i * 37);
    dc_image color = { 5, 4, 3, rgb };
    float a[3 * 20], b[3 * 20];
    ck_assert_int_eq(dc_preprocess_imagenet(&color, 4, DC_PIL_BICUBIC, 4, 5, mean, std, a,
                                            &err), DC_OK);
    ck_assert_int_eq(dc_preprocess_small(&color, 3, 4, 5, mean, std, b, &err), DC_OK);
    ck_assert_int_eq(memcmp(a, b, sizeof a), 0);
    /* bad arguments */
    dc_image four = { 1, 1, 4, rgb };
    ck_assert_int_eq(dc_preprocess_imagenet(&four, 4, DC_PIL_BILINEAR, 4, 4, mean, std, out,
                                            &err), DC_ERR_ARG);
    ck_assert_int_eq(dc_preprocess_imagenet(&raw, -1, DC_PIL_BILINEAR, 4, 4, mean, std, out,
                                            &err), DC_ERR_ARG);
    ck_assert_int_eq(dc_preprocess_imagenet(&raw, 4, DC_PIL_BILINEAR, 0, 4, mean, std, out,
                                            &err), DC_ERR_ARG);
    ck_assert_int_eq(dc_preprocess_imagenet(&raw, 4, (dc_pil_filter)99, 4, 4, mean, std, out,
                                            &err), DC_ERR_ARG);
}
END_TEST

/* The info of a shape-only net of arch, with its dataset replaced by dataset. */
static dc_net_info info_of(const char *arch, const char *dataset, dc_net **net)
{
    dc_error err;
    ck_assert_msg(dc_net_build_shape_only(arch, 0, net, &err) == DC_OK, "%s", err.msg);
    dc_net_info info = dc_net_get_info(*net);
    info.dataset = dataset;
    return info;
}

START_TEST(test_imagenet_choice)
{
    dc_net *a, *b;
    dc_net_info info = info_of("resnet18", "imagenet", &a);
    ck_assert_int_eq(info.resize, 256); /* torchvision's preset for resnet18 */
    ck_assert(dc_preprocess_is_imagenet(&info));
    info.dataset = "intel";
    ck_assert(!dc_preprocess_is_imagenet(&info));
    info = info_of("resnet20", "imagenet", &b); /* a CIFAR-10 architecture: no resize */
    ck_assert_int_eq(info.resize, 0);
    ck_assert(!dc_preprocess_is_imagenet(&info));
    dc_net_info none = { .arch = "no_such_arch", .dataset = "imagenet", .in_c = 3 };
    ck_assert(!dc_preprocess_is_imagenet(&none));
    dc_net_free(a);
    dc_net_free(b);
}
END_TEST

/* Writes int32 count, then per case int32 w, h, c, resize, crop_h, crop_w, bicubic, the
 * w*h*c source bytes and torchvision's 3*crop_h*crop_w float32 output. The chain is the
 * weights' preset (ImageClassification) for square crops with a resize, else the same
 * steps spelled out: Resize(resize) (none when 0), CenterCrop((crop_h, crop_w)),
 * ToTensor, Normalize; a gray image is an 'L' image converted to 'RGB' first, as
 * torchvision's ImageFolder loader does. */
static const char *imagenet_script =
    "import sys, struct\n"
    "try:\n"
    "    import numpy as np, torch\n"
    "    from PIL import Image\n"
    "    from torchvision import transforms as T\n"
    "    from torchvision.transforms._presets import ImageClassification\n"
    "    from torchvision.transforms import InterpolationMode as IM\n"
    "except ImportError:\n"
    "    sys.exit(77)\n"
    "mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)\n"
    "rng = np.random.default_rng(2024)\n"
    "cases = []\n"
    "def add(w, h, c, resize, ch, cw, bicubic, kind='noise'):\n"
    "    if kind == 'noise':\n"
    "        a = rng.integers(0, 256, size=(h, w, c), dtype=np.uint8)\n"
    "    else:\n"
    "        yy, xx = np.mgrid[0:h, 0:w]\n"
    "        g = ((xx * 255 // max(w - 1, 1) + yy * 97 // max(h - 1, 1)) % 256)\n"
    "        a = np.repeat(g[:, :, None], c, axis=2).astype(np.uint8)\n"
    "        if c == 3: a[:, :, 1] = 255 - a[:, :, 1]\n"
    "    im = Image.fromarray(a[:, :, 0] if c == 1 else a, 'L' if c == 1 else 'RGB')\n"
    "    im = im.convert('RGB')\n"
    "    interp = IM.BICUBIC if bicubic else IM.BILINEAR\n"
    "    if resize and ch == cw:\n"
    "        tf = ImageClassification(crop_size=ch, resize_size=resize, mean=mean, std=std,\n"
    "                                 interpolation=interp)\n"
    "    else:\n"
    "        steps = [T.Resize(resize, interpolation=interp)] if resize else []\n"
    "        tf = T.Compose(steps + [T.CenterCrop((ch, cw)), T.ToTensor(), T.Normalize(mean, std)])\n"
    "    x = tf(im)\n"
    "    assert x.dtype == torch.float32 and tuple(x.shape) == (3, ch, cw), x.shape\n"
    "    cases.append(struct.pack('<7i', w, h, c, resize, ch, cw, bicubic) + a.tobytes()\n"
    "                 + x.numpy().tobytes())\n"
    "for bic in (0, 1):\n"
    "    r = 232 if bic else 256\n"
    "    for w, h in ((333, 500), (500, 333), (200, 180), (257, 259), (224, 224), (1, 1),\n"
    "                 (31, 400), (640, 480)):\n"
    "        add(w, h, 3, r, 224, 224, bic)\n"
    "        add(w, h, 3, r, 224, 224, bic, 'gradient')\n"
    "    add(333, 500, 1, r, 224, 224, bic)\n"
    "    add(181, 203, 1, r, 224, 224, bic, 'gradient')\n"
    "    add(480, 640, 3, 342, 299, 299, bic)\n"           /* inception_v3 */
    "    add(300, 301, 3, 260, 256, 256, bic)\n"           /* swin_v2 */
    "    add(150, 97, 3, 200, 224, 224, bic)\n"            /* resize below the crop: padding */
    "    add(97, 150, 3, 0, 224, 200, bic)\n"              /* a bare CenterCrop, padded */
    "    add(260, 230, 3, 0, 224, 225, bic)\n"             /* a bare CenterCrop */
    "    add(405, 351, 3, r, 225, 223, bic, 'gradient')\n" /* a non-square crop */
    "    for i in range(6):\n"
    "        w, h = int(rng.integers(1, 420)), int(rng.integers(1, 420))\n"
    "        add(w, h, 3, r, 224, 224, bic)\n"
    "with open(sys.argv[1], 'wb') as fh:\n"
    "    fh.write(struct.pack('<i', len(cases)))\n"
    "    for c in cases:\n"
    "        fh.write(c)\n";

START_TEST(test_imagenet_matches_torchvision)
{
    size_t len;
    int n;
    unsigned char *buf = reference_cases("preprocess_imagenet", imagenet_script, &len, &n);
    if (buf == NULL)
        return;
    size_t pos = 4;
    const float mean[3] = { 0.485f, 0.456f, 0.406f }, std[3] = { 0.229f, 0.224f, 0.225f };
    float worst = 0.0f;
    for (int i = 0; i < n; i++) {
        ck_assert_uint_le(pos + 28, len);
        int v[7];
        for (int j = 0; j < 7; j++)
            v[j] = le32(buf + pos + 4 * (size_t)j);
        pos += 28;
        int w = v[0], h = v[1], c = v[2], resize = v[3], ch = v[4], cw = v[5], bic = v[6];
        size_t sn = (size_t)w * h * c, on = (size_t)3 * ch * cw;
        ck_assert_uint_le(pos + sn + on * sizeof(float), len);
        dc_image raw = { w, h, c, buf + pos };
        float *want = malloc(on * sizeof *want), *got = malloc(on * sizeof *got);
        ck_assert_ptr_nonnull(want);
        ck_assert_ptr_nonnull(got);
        memcpy(want, buf + pos + sn, on * sizeof *want);
        pos += sn + on * sizeof *want;
        dc_error err = { 0 };
        dc_status st = dc_preprocess_imagenet(&raw, resize, bic ? DC_PIL_BICUBIC
                                                                : DC_PIL_BILINEAR,
                                              ch, cw, mean, std, got, &err);
        ck_assert_msg(st == DC_OK, "%s", err.msg);
        float d = fx_max_abs_diff(got, want, on);
        ck_assert_msg(d == 0.0f, "case %d (%dx%dx%d, resize %d %s, crop %dx%d): max abs diff "
                      "%g from torchvision", i, w, h, c, resize, bic ? "bicubic" : "bilinear",
                      cw, ch, (double)d);
        if (d > worst)
            worst = d;
        free(want);
        free(got);
    }
    ck_assert_int_ge(n, 40);
    fprintf(stderr, "imagenet chain: %d cases, max abs diff from torchvision %g\n", n,
            (double)worst);
    free(buf);
}
END_TEST

static Suite *preprocess_suite(void)
{
    Suite *s = suite_create("preprocess");
    TCase *tc = fx_tcase(s, "core", 240);
    tcase_add_test(tc, test_resize_matches_pillow);
    tcase_add_test(tc, test_resize_same_size_is_identity);
    tcase_add_test(tc, test_resize_by_hand);
    tcase_add_test(tc, test_resize_bad_args);
    tcase_add_test(tc, test_chains_match_torchvision);
    tcase_add_test(tc, test_preprocess_gray_copied_and_args);
    tcase_add_test(tc, test_imagenet_sizes);
    tcase_add_test(tc, test_imagenet_crop_offsets);
    tcase_add_test(tc, test_imagenet_by_hand);
    tcase_add_test(tc, test_imagenet_choice);
    tcase_add_test(tc, test_imagenet_matches_torchvision);
    return s;
}

FX_MAIN(preprocess_suite)
