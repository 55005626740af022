/*
 * test_image.c — PNG and JPEG decoding (every PNG colour type, bit depth and interlacing;
 * RGB and gray JPEG), bad files, PNG writing, and the pixel operations (to_tensor against
 * torchvision, bilinear resize against torch.nn.functional.interpolate).
 */
#include "fixtures.h"
#include "loaders/image.h"

#include <check.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jpeglib.h>
#include <png.h>
#include <zlib.h>

/* ---- helpers ------------------------------------------------------------ */

/* A w x h image with c channels: a smooth gradient (no wrap-around) in [0, 250]. */
static dc_image make_gradient(int w, int h, int c)
{
    dc_image img = { w, h, c, malloc((size_t)w * h * c) };
    ck_assert_ptr_nonnull(img.data);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++)
                img.data[((size_t)y * w + x) * c + k] =
                    (uint8_t)(x * 150 / (w > 1 ? w - 1 : 1) + y * 40 / (h > 1 ? h - 1 : 1) +
                              k * 20);
    return img;
}

/* Loads path, which must succeed. */
static dc_image load_ok(const char *path)
{
    dc_image img;
    dc_error err = { 0 };
    dc_status st = dc_image_load(path, &img, &err);
    ck_assert_msg(st == DC_OK, "%s", err.msg);
    ck_assert_int_eq(img.c, 3);
    return img;
}

/* Loads path expecting code, a message naming the file and holding word. */
static void expect_load_error(const char *path, dc_status code, const char *word)
{
    dc_image img;
    dc_error err = { 0 };
    dc_status st = dc_image_load(path, &img, &err);
    ck_assert_msg(st == code, "%s: expected status %d, got %d (%s)", path, code, st, err.msg);
    ck_assert_ptr_null(img.data);
    ck_assert_msg(strstr(err.msg, path) != NULL, "message does not name the file: %s",
                  err.msg);
    ck_assert_msg(strstr(err.msg, word) != NULL, "message lacks \"%s\": %s", word, err.msg);
}

/* Writes the first len bytes of the file src to the file dst. */
static void copy_prefix(const char *src, const char *dst, size_t len)
{
    size_t n;
    unsigned char *bytes = fx_read_file(src, &n);
    ck_assert_uint_le(len, n);
    ck_assert_int_eq(fx_write_file(dst, bytes, len), 0);
    free(bytes);
}

/* A PNG to write directly with libpng: rows hold h rows of rowbytes bytes. */
typedef struct {
    int w, h, color, depth, interlace;
    const uint8_t *rows;
    size_t rowbytes;
    const png_color *palette;
    int num_palette;
    const uint8_t *trans;      /* palette alpha, or NULL */
    int num_trans;
} raw_png;

static void write_raw_png(const char *path, const raw_png *p)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    ck_assert_ptr_nonnull(info);
    png_bytep *rows = malloc(sizeof *rows * (size_t)p->h);
    if (setjmp(png_jmpbuf(png)))
        ck_abort_msg("libpng failed to write the test file %s", path);
    png_init_io(png, f);
    png_set_IHDR(png, info, (uint32_t)p->w, (uint32_t)p->h, p->depth, p->color, p->interlace,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (p->palette)
        png_set_PLTE(png, info, p->palette, p->num_palette);
    if (p->trans)
        png_set_tRNS(png, info, p->trans, p->num_trans, NULL);
    png_write_info(png, info);
    for (int y = 0; y < p->h; y++)
        rows[y] = (png_bytep)p->rows + (size_t)y * p->rowbytes;
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    ck_assert_int_eq(fclose(f), 0);
}

/* Writes img (RGB or gray) as a JPEG with libjpeg at the given quality. */
typedef enum { JPEG_BASELINE, JPEG_PROGRESSIVE, JPEG_ARITHMETIC } jpeg_mode;

static void write_jpeg_mode(const char *path, const dc_image *img, J_COLOR_SPACE space,
                            int quality, jpeg_mode mode)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    c.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = (JDIMENSION)img->w;
    c.image_height = (JDIMENSION)img->h;
    c.input_components = img->c;
    c.in_color_space = space;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality, TRUE);
    if (mode == JPEG_PROGRESSIVE)
        jpeg_simple_progression(&c);
    c.arith_code = mode == JPEG_ARITHMETIC;
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = img->data + (size_t)c.next_scanline * img->w * img->c;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    ck_assert_int_eq(fclose(f), 0);
}

static void write_jpeg(const char *path, const dc_image *img, J_COLOR_SPACE space,
                       int quality)
{
    write_jpeg_mode(path, img, space, quality, JPEG_BASELINE);
}

/* Writes a 16x16 RGB gradient JPEG named name (quality 90) into path. */
static void small_jpeg(char *path, size_t cap, const char *name, jpeg_mode mode)
{
    dc_image src = make_gradient(16, 16, 3);
    write_jpeg_mode(fx_path(path, cap, name), &src, JCS_RGB, 90, mode);
    dc_image_free(&src);
}

/* Rewrites the JPEG at path so that its start-of-frame marker (0xff, sof: 0xc0 baseline,
 * 0xc9 arithmetic) claims w x h pixels; the coded data stays that of the small image. */
static void set_jpeg_size(const char *path, unsigned char sof, unsigned w, unsigned h)
{
    size_t len;
    unsigned char *bytes = fx_read_file(path, &len);
    size_t at = 0;
    for (size_t i = 2; i + 9 < len && !at; i++)
        if (bytes[i] == 0xff && bytes[i + 1] == sof)
            at = i;
    ck_assert_uint_gt(at, 0);
    bytes[at + 5] = (unsigned char)(h >> 8), bytes[at + 6] = (unsigned char)h;
    bytes[at + 7] = (unsigned char)(w >> 8), bytes[at + 8] = (unsigned char)w;
    ck_assert_int_eq(fx_write_file(path, bytes, len), 0);
    free(bytes);
}

/* Checks that every pixel of img is (r, g, b) computed by expect(x, y). */
typedef void (*pixel_fn)(int x, int y, uint8_t rgb[3]);

static void check_pixels(const dc_image *img, int w, int h, pixel_fn expect)
{
    ck_assert_int_eq(img->w, w);
    ck_assert_int_eq(img->h, h);
    ck_assert_int_eq(img->c, 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t want[3];
            expect(x, y, want);
            const uint8_t *got = img->data + ((size_t)y * w + x) * 3;
            ck_assert_msg(memcmp(got, want, 3) == 0, "pixel (%d, %d): got %d %d %d, want "
                          "%d %d %d", x, y, got[0], got[1], got[2], want[0], want[1], want[2]);
        }
}

/* ---- PNG ---------------------------------------------------------------- */

START_TEST(test_png_rgb_round_trip)
{
    char path[512];
    dc_error err = { 0 };
    dc_image src = make_gradient(13, 7, 3);
    fx_path(path, sizeof path, "img_rgb.png");
    ck_assert_msg(dc_image_write_png(path, &src, &err) == DC_OK, "%s", err.msg);
    dc_image got = load_ok(path);
    ck_assert_int_eq(got.w, 13);
    ck_assert_int_eq(got.h, 7);
    ck_assert(memcmp(got.data, src.data, 13 * 7 * 3) == 0);
    dc_image_free(&got);
    ck_assert_ptr_null(got.data);
    dc_image_free(&got); /* twice is harmless */
    dc_image_free(&src);
}
END_TEST

START_TEST(test_png_writer_gray_and_rgba)
{
    char path[512];
    dc_error err = { 0 };
    dc_image gray = make_gradient(5, 4, 1), rgba = make_gradient(5, 4, 4);
    fx_path(path, sizeof path, "img_writer_gray.png");
    ck_assert_int_eq(dc_image_write_png(path, &gray, &err), DC_OK);
    dc_image got = load_ok(path);
    for (int i = 0; i < 20; i++)
        for (int k = 0; k < 3; k++)
            ck_assert_int_eq(got.data[i * 3 + k], gray.data[i]);
    dc_image_free(&got);
    fx_path(path, sizeof path, "img_writer_rgba.png");
    ck_assert_int_eq(dc_image_write_png(path, &rgba, &err), DC_OK);
    got = load_ok(path);
    for (int i = 0; i < 20; i++)
        ck_assert(memcmp(got.data + i * 3, rgba.data + i * 4, 3) == 0);
    dc_image_free(&got);
    dc_image_free(&gray);
    dc_image_free(&rgba);
}
END_TEST

static void expect_gray8(int x, int y, uint8_t rgb[3])
{
    rgb[0] = rgb[1] = rgb[2] = (uint8_t)(x * 30 + y * 7);
}

START_TEST(test_png_gray8)
{
    uint8_t rows[5 * 6];
    for (int y = 0; y < 5; y++)
        for (int x = 0; x < 6; x++)
            rows[y * 6 + x] = (uint8_t)(x * 30 + y * 7);
    raw_png p = { .w = 6, .h = 5, .color = PNG_COLOR_TYPE_GRAY, .depth = 8, .rows = rows,
                  .rowbytes = 6 };
    char path[512];
    write_raw_png(fx_path(path, sizeof path, "img_gray8.png"), &p);
    dc_image got = load_ok(path);
    check_pixels(&got, 6, 5, expect_gray8);
    dc_image_free(&got);
}
END_TEST

static void expect_gray1(int x, int y, uint8_t rgb[3])
{
    rgb[0] = rgb[1] = rgb[2] = ((x + y) % 2) ? 255 : 0;
}

START_TEST(test_png_gray1)
{
    /* 10 pixels a row, 1 bit each, most significant bit first: 2 bytes a row */
    uint8_t rows[3 * 2];
    memset(rows, 0, sizeof rows);
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 10; x++)
            if ((x + y) % 2)
                rows[y * 2 + x / 8] |= (uint8_t)(0x80 >> (x % 8));
    raw_png p = { .w = 10, .h = 3, .color = PNG_COLOR_TYPE_GRAY, .depth = 1, .rows = rows,
                  .rowbytes = 2 };
    char path[512];
    write_raw_png(fx_path(path, sizeof path, "img_gray1.png"), &p);
    dc_image got = load_ok(path);
    check_pixels(&got, 10, 3, expect_gray1);
    dc_image_free(&got);
}
END_TEST

START_TEST(test_png_gray_alpha)
{
    uint8_t rows[5 * 6 * 2];
    for (int y = 0; y < 5; y++)
        for (int x = 0; x < 6; x++) {
            rows[(y * 6 + x) * 2] = (uint8_t)(x * 30 + y * 7);
            rows[(y * 6 + x) * 2 + 1] = (uint8_t)(x * 40); /* alpha, dropped */
        }
    raw_png p = { .w = 6, .h = 5, .color = PNG_COLOR_TYPE_GRAY_ALPHA, .depth = 8,
                  .rows = rows, .rowbytes = 12 };
    char path[512];
    write_raw_png(fx_path(path, sizeof path, "img_gray_alpha.png"), &p);
    dc_image got = load_ok(path);
    check_pixels(&got, 6, 5, expect_gray8);
    dc_image_free(&got);
}
END_TEST

static void expect_rgb(int x, int y, uint8_t rgb[3])
{
    rgb[0] = (uint8_t)(x * 20);
    rgb[1] = (uint8_t)(y * 25);
    rgb[2] = (uint8_t)(200 - x - y);
}

START_TEST(test_png_rgba_drops_alpha)
{
    uint8_t rows[4 * 7 * 4];
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 7; x++) {
            expect_rgb(x, y, rows + (y * 7 + x) * 4);
            rows[(y * 7 + x) * 4 + 3] = (uint8_t)(x * 36); /* alpha 0 too: not composited */
        }
    raw_png p = { .w = 7, .h = 4, .color = PNG_COLOR_TYPE_RGB_ALPHA, .depth = 8,
                  .rows = rows, .rowbytes = 28 };
    char path[512];
    write_raw_png(fx_path(path, sizeof path, "img_rgba.png"), &p);
    dc_image got = load_ok(path);
    check_pixels(&got, 7, 4, expect_rgb);
    dc_image_free(&got);
}
END_TEST

START_TEST(test_png_rgb16_keeps_high_byte)
{
    uint8_t rows[4 * 7 * 6];
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 7; x++) {
            uint8_t hi[3];
            expect_rgb(x, y, hi);
            for (int k = 0; k < 3; k++) {
                rows[(y * 7 + x) * 6 + 2 * k] = hi[k];                     /* big-endian */
                rows[(y * 7 + x) * 6 + 2 * k + 1] = (uint8_t)(0xff - k);   /* low byte */
            }
        }
    raw_png p = { .w = 7, .h = 4, .color = PNG_COLOR_TYPE_RGB, .depth = 16, .rows = rows,
                  .rowbytes = 42 };
    char path[512];
    write_raw_png(fx_path(path, sizeof path, "img_rgb16.png"), &p);
    dc_image got = load_ok(path);
    check_pixels(&got, 7, 4, expect_rgb);
    dc_image_free(&got);
}
END_TEST

START_TEST(test_png_gray16)
{
    uint8_t rows[5 * 6 * 2];
    for (int y = 0; y < 5; y++)
        for (int x = 0; x < 6; x++) {
            rows[(y * 6 + x) * 2] = (uint8_t)(x * 30 + y * 7);
            rows[(y * 6 + x) * 2 + 1] = 0x99;
        }
    raw_png p = { .w = 6, .h = 5, .color = PNG_COLOR_TYPE_GRAY, .depth = 16, .rows = rows,
                  .rowbytes = 12 };
    char path[512];
    write_raw_png(fx_path(path, sizeof path, "img_gray16.png"), &p);
    dc_image got = load_ok(path);
    check_pixels(&got, 6, 5, expect_gray8);
    dc_image_free(&got);
}
END_TEST

static const png_color test_palette[16] = {
    { 0, 0, 0 },     { 255, 0, 0 },   { 0, 255, 0 },   { 0, 0, 255 },
    { 10, 20, 30 },  { 40, 50, 60 },  { 70, 80, 90 },  { 100, 110, 120 },
    { 130, 140, 150 }, { 160, 170, 180 }, { 190, 200, 210 }, { 220, 230, 240 },
    { 1, 2, 3 },     { 4, 5, 6 },     { 7, 8, 9 },     { 250, 251, 252 },
};

static int palette_index(int x, int y)
{
    return (x * 3 + y * 5) % 16;
}

static void expect_palette(int x, int y, uint8_t rgb[3])
{
    const png_color *c = &test_palette[palette_index(x, y)];
    rgb[0] = c->red;
    rgb[1] = c->green;
    rgb[2] = c->blue;
}

START_TEST(test_png_palette8)
{
    uint8_t rows[6 * 9];
    for (int y = 0; y < 6; y++)
        for (int x = 0; x < 9; x++)
            rows[y * 9 + x] = (uint8_t)palette_index(x, y);
    raw_png p = { .w = 9, .h = 6, .color = PNG_COLOR_TYPE_PALETTE, .depth = 8, .rows = rows,
                  .rowbytes = 9, .palette = test_palette, .num_palette = 16 };
    char path[512];
    write_raw_png(fx_path(path, sizeof path, "img_palette8.png"), &p);
    dc_image got = load_ok(path);
    check_pixels(&got, 9, 6, expect_palette);
    dc_image_free(&got);
}
END_TEST

START_TEST(test_png_palette4_with_transparency)
{
    /* 9 pixels a row, 4 bits each, high nibble first: 5 bytes a row */
    uint8_t rows[6 * 5];
    memset(rows, 0, sizeof rows);
    for (int y = 0; y < 6; y++)
        for (int x = 0; x < 9; x++)
            rows[y * 5 + x / 2] |= (uint8_t)(palette_index(x, y) << (x % 2 ? 0 : 4));
    const uint8_t trans[4] = { 0, 128, 255, 7 };
    raw_png p = { .w = 9, .h = 6, .color = PNG_COLOR_TYPE_PALETTE, .depth = 4, .rows = rows,
                  .rowbytes = 5, .palette = test_palette, .num_palette = 16, .trans = trans,
                  .num_trans = 4 };
    char path[512];
    write_raw_png(fx_path(path, sizeof path, "img_palette4.png"), &p);
    dc_image got = load_ok(path);
    check_pixels(&got, 9, 6, expect_palette);
    dc_image_free(&got);
}
END_TEST

START_TEST(test_png_interlaced)
{
    uint8_t rows[11 * 13 * 3];
    for (int y = 0; y < 11; y++)
        for (int x = 0; x < 13; x++)
            expect_rgb(x, y, rows + (y * 13 + x) * 3);
    raw_png p = { .w = 13, .h = 11, .color = PNG_COLOR_TYPE_RGB, .depth = 8, .rows = rows,
                  .rowbytes = 39, .interlace = PNG_INTERLACE_ADAM7 };
    char path[512];
    write_raw_png(fx_path(path, sizeof path, "img_adam7.png"), &p);
    dc_image got = load_ok(path);
    check_pixels(&got, 13, 11, expect_rgb);
    dc_image_free(&got);
}
END_TEST

START_TEST(test_format_chosen_by_content_not_name)
{
    char path[512];
    dc_error err = { 0 };
    dc_image src = make_gradient(4, 3, 3);
    fx_path(path, sizeof path, "img_really_a_png.jpg");
    ck_assert_int_eq(dc_image_write_png(path, &src, &err), DC_OK);
    dc_image got = load_ok(path);
    ck_assert(memcmp(got.data, src.data, 4 * 3 * 3) == 0);
    dc_image_free(&got);
    dc_image_free(&src);
}
END_TEST

/* ---- JPEG --------------------------------------------------------------- */

START_TEST(test_jpeg_rgb_gradient)
{
    char path[512];
    dc_image src = make_gradient(64, 48, 3);
    write_jpeg(fx_path(path, sizeof path, "img_gradient.jpg"), &src, JCS_RGB, 100);
    dc_image got = load_ok(path);
    ck_assert_int_eq(got.w, 64);
    ck_assert_int_eq(got.h, 48);
    int worst = 0;
    for (size_t i = 0; i < (size_t)64 * 48 * 3; i++) {
        int d = abs((int)got.data[i] - (int)src.data[i]);
        worst = d > worst ? d : worst;
    }
    ck_assert_int_le(worst, 8);
    dc_image_free(&got);
    dc_image_free(&src);
}
END_TEST

START_TEST(test_jpeg_gray_expands_to_rgb)
{
    char path[512];
    dc_image src = make_gradient(33, 17, 1);
    write_jpeg(fx_path(path, sizeof path, "img_gray.jpg"), &src, JCS_GRAYSCALE, 100);
    dc_image got = load_ok(path);
    ck_assert_int_eq(got.w, 33);
    ck_assert_int_eq(got.h, 17);
    for (int i = 0; i < 33 * 17; i++) {
        ck_assert_int_eq(got.data[i * 3], got.data[i * 3 + 1]);
        ck_assert_int_eq(got.data[i * 3], got.data[i * 3 + 2]);
        ck_assert_int_le(abs((int)got.data[i * 3] - (int)src.data[i]), 8);
    }
    dc_image_free(&got);
    dc_image_free(&src);
}
END_TEST

START_TEST(test_jpeg_cmyk_refused)
{
    char path[512];
    dc_image src = make_gradient(16, 16, 4);
    write_jpeg(fx_path(path, sizeof path, "img_cmyk.jpg"), &src, JCS_CMYK, 90);
    expect_load_error(path, DC_ERR_UNSUPPORTED, "CMYK");
    dc_image_free(&src);
}
END_TEST

/* ---- bad files ---------------------------------------------------------- */

START_TEST(test_missing_file)
{
    char path[512];
    expect_load_error(fx_path(path, sizeof path, "img_does_not_exist.png"), DC_ERR_IO,
                      "cannot open");
}
END_TEST

START_TEST(test_empty_file)
{
    char path[512];
    ck_assert_int_eq(fx_write_file(fx_path(path, sizeof path, "img_empty.png"), "", 0), 0);
    expect_load_error(path, DC_ERR_FORMAT, "not a PNG or JPEG file");
    expect_load_error(path, DC_ERR_FORMAT, "empty");
}
END_TEST

START_TEST(test_text_file)
{
    char path[512];
    const char *text = "this is not an image\n";
    ck_assert_int_eq(fx_write_file(fx_path(path, sizeof path, "img_text.png"), text,
                                   strlen(text)), 0);
    expect_load_error(path, DC_ERR_FORMAT, "not a PNG or JPEG file");
    /* a prefix of a signature is not a signature */
    ck_assert_int_eq(fx_write_file(path, "\x89PNG", 4), 0);
    expect_load_error(path, DC_ERR_FORMAT, "not a PNG or JPEG file");
}
END_TEST

START_TEST(test_truncated_png)
{
    char full[512], cut[512];
    dc_error err = { 0 };
    dc_image src = make_gradient(40, 30, 3);
    fx_path(full, sizeof full, "img_full.png");
    ck_assert_int_eq(dc_image_write_png(full, &src, &err), DC_OK);
    size_t len;
    free(fx_read_file(full, &len));
    fx_path(cut, sizeof cut, "img_truncated.png");
    const size_t cuts[] = { len / 2, 8, 20, 40, len - 13 /* inside the last IDAT */ };
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        copy_prefix(full, cut, cuts[i]);
        expect_load_error(cut, DC_ERR_FORMAT, "truncated PNG");
    }
    dc_image_free(&src);
}
END_TEST

START_TEST(test_corrupt_png)
{
    char full[512], bad[512];
    dc_error err = { 0 };
    dc_image src = make_gradient(40, 30, 3);
    fx_path(full, sizeof full, "img_full2.png");
    ck_assert_int_eq(dc_image_write_png(full, &src, &err), DC_OK);
    size_t len;
    unsigned char *bytes = fx_read_file(full, &len);
    fx_path(bad, sizeof bad, "img_corrupt.png");
    /* a flipped byte inside IDAT: inflate or the chunk's CRC check fails */
    bytes[len / 2] ^= 0x55;
    ck_assert_int_eq(fx_write_file(bad, bytes, len), 0);
    expect_load_error(bad, DC_ERR_FORMAT, "corrupt PNG file (libpng: IDAT:");
    bytes[len / 2] ^= 0x55;
    /* IHDR (bytes 12..28, CRC at 29..32) with bit depth 7, its CRC recomputed */
    ck_assert(memcmp(bytes + 12, "IHDR", 4) == 0);
    bytes[24] = 7;
    uLong crc = crc32(0L, bytes + 12, 17);
    for (int i = 0; i < 4; i++)
        bytes[29 + i] = (unsigned char)(crc >> (24 - 8 * i));
    ck_assert_int_eq(fx_write_file(bad, bytes, len), 0);
    expect_load_error(bad, DC_ERR_FORMAT, "corrupt PNG file (libpng: Invalid IHDR data)");
    free(bytes);
    dc_image_free(&src);
}
END_TEST

/* Outside the sanitizers (which reserve terabytes of address space), caps this test
 * process's address space, so that a decoder allocating what a header claims fails here. */
static void cap_memory(void)
{
#ifndef __SANITIZE_ADDRESS__
    struct rlimit rl = { (rlim_t)2 << 30, (rlim_t)2 << 30 };
    setrlimit(RLIMIT_AS, &rl);
#endif
}

/* Appends a PNG chunk (length, type, data, CRC) to buf at *at. */
static void put_png_chunk(unsigned char *buf, size_t *at, const char *type,
                          const unsigned char *data, uint32_t n)
{
    unsigned char *c = buf + *at;
    c[0] = (unsigned char)(n >> 24);
    c[1] = (unsigned char)(n >> 16);
    c[2] = (unsigned char)(n >> 8);
    c[3] = (unsigned char)n;
    memcpy(c + 4, type, 4);
    if (n)
        memcpy(c + 8, data, n);
    uLong crc = crc32(0L, c + 4, 4 + n);
    for (int i = 0; i < 4; i++)
        c[8 + n + i] = (unsigned char)(crc >> (24 - 8 * i));
    *at += 12 + n;
}

/* A PNG of a few dozen bytes whose IHDR claims w x h RGB pixels. */
static void write_huge_png(const char *path, uint32_t w, uint32_t h)
{
    unsigned char buf[128], ihdr[13] = { 0 }, idat[64];
    size_t at = 8;
    memcpy(buf, "\x89PNG\r\n\x1a\n", 8);
    for (int i = 0; i < 4; i++) {
        ihdr[i] = (unsigned char)(w >> (24 - 8 * i));
        ihdr[4 + i] = (unsigned char)(h >> (24 - 8 * i));
    }
    ihdr[8] = 8; /* bit depth */
    ihdr[9] = 2; /* RGB */
    put_png_chunk(buf, &at, "IHDR", ihdr, 13);
    unsigned char row[4] = { 0 };
    uLongf n = sizeof idat;
    ck_assert_int_eq(compress(idat, &n, row, sizeof row), Z_OK);
    put_png_chunk(buf, &at, "IDAT", idat, (uint32_t)n);
    put_png_chunk(buf, &at, "IEND", NULL, 0);
    ck_assert_int_eq(fx_write_file(path, buf, at), 0);
}

/* A 69-byte PNG claiming 2^31-1 columns made libpng allocate a 6.3 GB row buffer before
 * the pixel limit was checked; a 65535 x 65535 one passes libpng's side limit but not the
 * pixel count. Both are refused from the header. */
START_TEST(test_huge_png_header)
{
    char path[512];
    cap_memory();
    write_huge_png(fx_path(path, sizeof path, "img_huge_wide.png"), 0x7fffffffu, 1);
    expect_load_error(path, DC_ERR_UNSUPPORTED, "PNG header says");
    write_huge_png(path, 65535, 65535);
    expect_load_error(path, DC_ERR_UNSUPPORTED, "PNG header says 65535x65535 pixels");
}
END_TEST

/* A small JPEG whose SOF0 claims 60000 x 60000 pixels: refused after jpeg_read_header,
 * before jpeg_start_decompress sizes its buffers from it. */
START_TEST(test_huge_jpeg_header)
{
    char path[512];
    cap_memory();
    small_jpeg(path, sizeof path, "img_huge.jpg", JPEG_BASELINE);
    set_jpeg_size(path, 0xc0, 60000, 60000);
    expect_load_error(path, DC_ERR_UNSUPPORTED, "JPEG header says 60000x60000 pixels");
}
END_TEST

/* A decompression bomb: a 16x16 JPEG of a few hundred bytes whose SOF0 claims 16000 x
 * 8000 pixels (under the loader's size limits) is refused before decoding, since a
 * Huffman-coded JPEG spends at least a bit on every 8x8 block; a highly compressible real
 * image, one grey level on 2048 x 2048 pixels (85 pixels a byte), still loads. */
START_TEST(test_jpeg_bomb_refused)
{
    char path[512];
    small_jpeg(path, sizeof path, "img_bomb.jpg", JPEG_BASELINE);
    set_jpeg_size(path, 0xc0, 16000, 8000);
    expect_load_error(path, DC_ERR_FORMAT, "JPEG header says 16000x8000 pixels, more than its");

    dc_image flat = { 2048, 2048, 1, malloc((size_t)2048 * 2048) };
    ck_assert_ptr_nonnull(flat.data);
    memset(flat.data, 128, (size_t)2048 * 2048);
    write_jpeg(path, &flat, JCS_GRAYSCALE, 75);
    dc_image got = load_ok(path);
    ck_assert_int_eq(got.w, 2048);
    ck_assert_int_eq(got.h, 2048);
    dc_image_free(&got);
    free(flat.data);
}
END_TEST

/* An arithmetic-coded JPEG (no floor on bits per block) loads at 16x16 and is refused
 * when its SOF9 claims 8000 x 4000 pixels, over the 16-Mpixel limit for that coding. */
START_TEST(test_jpeg_arithmetic_limit)
{
    char path[512];
    small_jpeg(path, sizeof path, "img_arith.jpg", JPEG_ARITHMETIC);
    dc_image got = load_ok(path);
    ck_assert_int_eq(got.w, 16);
    dc_image_free(&got);
    set_jpeg_size(path, 0xc9, 8000, 4000);
    expect_load_error(path, DC_ERR_UNSUPPORTED, "arithmetic-coded JPEG of 8000x4000 pixels");
}
END_TEST

/* A scan bomb: a progressive 16x16 JPEG whose last scan is repeated until the file has
 * more than 1000 scans is refused (each scan walks the whole coefficient buffer); with
 * 900 scans it still loads. */
START_TEST(test_jpeg_scan_bomb_refused)
{
    char path[512];
    small_jpeg(path, sizeof path, "img_scans.jpg", JPEG_PROGRESSIVE);
    size_t len;
    unsigned char *bytes = fx_read_file(path, &len);
    size_t sos = 0; /* the last scan: its SOS marker up to the EOI marker */
    for (size_t i = 2; i + 1 < len; i++)
        if (bytes[i] == 0xff && bytes[i + 1] == 0xda)
            sos = i;
    ck_assert_uint_gt(sos, 0);
    ck_assert(bytes[len - 2] == 0xff && bytes[len - 1] == 0xd9);
    const size_t scan = len - 2 - sos;
    for (int copies = 900; copies <= 1001; copies += 101) {
        const size_t n = sos + (size_t)copies * scan + 2;
        unsigned char *bomb = malloc(n);
        ck_assert_ptr_nonnull(bomb);
        memcpy(bomb, bytes, sos);
        for (int k = 0; k < copies; k++)
            memcpy(bomb + sos + (size_t)k * scan, bytes + sos, scan);
        bomb[n - 2] = 0xff, bomb[n - 1] = 0xd9;
        ck_assert_int_eq(fx_write_file(path, bomb, n), 0);
        free(bomb);
        if (copies > 1000) {
            expect_load_error(path, DC_ERR_FORMAT, "more than 1000 progressive scans");
        } else {
            dc_image got = load_ok(path);
            dc_image_free(&got);
        }
    }
    free(bytes);
}
END_TEST

START_TEST(test_truncated_jpeg)
{
    char full[512], cut[512];
    dc_image src = make_gradient(64, 48, 3);
    write_jpeg(fx_path(full, sizeof full, "img_full.jpg"), &src, JCS_RGB, 95);
    size_t len;
    free(fx_read_file(full, &len));
    fx_path(cut, sizeof cut, "img_truncated.jpg");
    const size_t cuts[] = { len / 2, 3, 100, len - 100 };
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        copy_prefix(full, cut, cuts[i]);
        expect_load_error(cut, DC_ERR_FORMAT, "truncated JPEG");
    }
    dc_image_free(&src);
}
END_TEST

START_TEST(test_corrupt_jpeg)
{
    char full[512], bad[512];
    dc_image src = make_gradient(16, 16, 3);
    write_jpeg(fx_path(full, sizeof full, "img_full2.jpg"), &src, JCS_RGB, 90);
    size_t len;
    unsigned char *bytes = fx_read_file(full, &len);
    /* the SOF0 marker's sample precision becomes 3 bits */
    size_t sof = 0;
    for (size_t i = 2; i + 4 < len && !sof; i++)
        if (bytes[i] == 0xff && bytes[i + 1] == 0xc0)
            sof = i;
    ck_assert_uint_gt(sof, 0);
    bytes[sof + 4] = 3;
    ck_assert_int_eq(fx_write_file(fx_path(bad, sizeof bad, "img_corrupt.jpg"), bytes, len),
                     0);
    expect_load_error(bad, DC_ERR_FORMAT, "corrupt JPEG file (libjpeg: Unsupported JPEG data "
                      "precision 3)");
    /* a JPEG signature followed by junk: libjpeg looks for markers until the file ends */
    const char junk[] = "\xff\xd8\xff\x00 junk junk junk junk junk junk junk";
    ck_assert_int_eq(fx_write_file(bad, junk, sizeof junk - 1), 0);
    expect_load_error(bad, DC_ERR_FORMAT, "JPEG");
    free(bytes);
    dc_image_free(&src);
}
END_TEST

/* The libraries' messages go into dc_error, never to stderr. */
START_TEST(test_libraries_print_nothing)
{
    char full[512], cut[512], log[512];
    dc_error err = { 0 };
    dc_image src = make_gradient(40, 30, 3);
    ck_assert_int_eq(dc_image_write_png(fx_path(full, sizeof full, "img_quiet.png"), &src,
                                        &err), DC_OK);
    size_t len;
    free(fx_read_file(full, &len));
    copy_prefix(full, fx_path(cut, sizeof cut, "img_quiet_cut.png"), len / 2);
    write_jpeg(fx_path(full, sizeof full, "img_quiet.jpg"), &src, JCS_RGB, 90);
    free(fx_read_file(full, &len));
    char cutj[512];
    copy_prefix(full, fx_path(cutj, sizeof cutj, "img_quiet_cut.jpg"), len / 2);

    fflush(stderr);
    int saved = dup(2);
    int fd = open(fx_path(log, sizeof log, "img_quiet_stderr.txt"),
                  O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    dup2(fd, 2);
    dc_image img;
    dc_status a = dc_image_load(cut, &img, &err);
    dc_status b = dc_image_load(cutj, &img, &err);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(fd);
    ck_assert_int_eq(a, DC_ERR_FORMAT);
    ck_assert_int_eq(b, DC_ERR_FORMAT);
    struct stat sb;
    ck_assert_int_eq(stat(log, &sb), 0);
    ck_assert_int_eq(sb.st_size, 0);
    dc_image_free(&src);
}
END_TEST

START_TEST(test_write_png_bad_arguments)
{
    char path[512];
    dc_error err = { 0 };
    fx_path(path, sizeof path, "img_bad_args.png");
    dc_image two = make_gradient(3, 3, 2);
    ck_assert_int_eq(dc_image_write_png(path, &two, &err), DC_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, path));
    dc_image none = { 0, 3, 3, two.data };
    ck_assert_int_eq(dc_image_write_png(path, &none, &err), DC_ERR_ARG);
    dc_image_free(&two);

    dc_image rgb = make_gradient(3, 3, 3);
    fx_path(path, sizeof path, "no_such_dir_img/out.png");
    ck_assert_int_eq(dc_image_write_png(path, &rgb, &err), DC_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, path));
    dc_image_free(&rgb);
}
END_TEST

/* ---- pixel operations --------------------------------------------------- */

/* Expected values from torchvision 0.14:
 *   T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))(T.ToTensor()(img))
 * for the 2x2 image below, printed with float.hex(). */
START_TEST(test_to_tensor_matches_torchvision)
{
    uint8_t px[12] = { 255, 128, 0, 1, 2, 3, 17, 200, 254, 0, 0, 0 };
    dc_image img = { 2, 2, 3, px };
    const float mean[3] = { 0.485f, 0.456f, 0.406f }, std[3] = { 0.229f, 0.224f, 0.225f };
    const float want[12] = {
        0x1.1fdc3ap+1f,  -0x1.0ce656p+1f, -0x1.d3a81p+0f,  -0x1.0f177ap+1f,
        0x1.a4369p-3f,   -0x1.0016f2p+1f, 0x1.773738p+0f,  -0x1.049248p+1f,
        -0x1.cdf012p+0f, -0x1.c08d5ap+0f, 0x1.4fb068p+1f,  -0x1.cdf012p+0f,
    };
    float out[12];
    dc_image_to_tensor(&img, mean, std, out);
    for (int i = 0; i < 12; i++)
        ck_assert_msg(out[i] == want[i], "element %d: got %a, want %a", i, (double)out[i],
                      (double)want[i]);
}
END_TEST

START_TEST(test_resize_constant_stays_constant)
{
    dc_image src = { 7, 5, 3, malloc(7 * 5 * 3) };
    for (int i = 0; i < 7 * 5; i++) {
        src.data[i * 3] = 17;
        src.data[i * 3 + 1] = 200;
        src.data[i * 3 + 2] = 255;
    }
    const int sizes[][2] = { { 7, 5 }, { 1, 1 }, { 32, 32 }, { 3, 11 }, { 100, 2 } };
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        dc_image dst;
        dc_error err = { 0 };
        ck_assert_int_eq(dc_image_resize_bilinear(&src, sizes[s][0], sizes[s][1], &dst, &err),
                         DC_OK);
        ck_assert_int_eq(dst.w, sizes[s][0]);
        ck_assert_int_eq(dst.h, sizes[s][1]);
        ck_assert_int_eq(dst.c, 3);
        for (int i = 0; i < dst.w * dst.h; i++) {
            ck_assert_int_eq(dst.data[i * 3], 17);
            ck_assert_int_eq(dst.data[i * 3 + 1], 200);
            ck_assert_int_eq(dst.data[i * 3 + 2], 255);
        }
        dc_image_free(&dst);
    }
    dc_image_free(&src);
}
END_TEST

/* Resizes a one-channel image and compares with want (h x w), computed by hand and checked
 * against torch.nn.functional.interpolate(mode='bilinear', align_corners=False), rounded. */
static void check_resize(const uint8_t *in, int in_w, int in_h, int w, int h,
                         const uint8_t *want)
{
    dc_image src = { in_w, in_h, 1, (uint8_t *)in }, dst;
    dc_error err = { 0 };
    ck_assert_int_eq(dc_image_resize_bilinear(&src, w, h, &dst, &err), DC_OK);
    ck_assert_int_eq(dst.c, 1);
    for (int i = 0; i < w * h; i++)
        ck_assert_msg(dst.data[i] == want[i], "(%d, %d): got %d, want %d", i % w, i / w,
                      dst.data[i], want[i]);
    dc_image_free(&dst);
}

START_TEST(test_resize_half_pixel_values)
{
    const uint8_t in[4] = { 0, 100, 200, 40 };
    /* 2x2 -> 4x4: output column 0 samples x = -0.25 (clamped to 0), 1 samples 0.25,
     * 2 samples 0.75, 3 samples 1.25 (past the edge: the last column); rows alike.
     *   row 1 = 0.75 * row 0 + 0.25 * row 3, e.g. 0.75 * 25 + 0.25 * 160 = 58.75 -> 59 */
    const uint8_t up[16] = {
        0,   25,  75, 100,
        50,  59,  76, 85,
        150, 126, 79, 55,
        200, 160, 80, 40,
    };
    check_resize(in, 2, 2, 4, 4, up);
    /* 2x2 -> 5 wide x 3 tall: torch gives 0 10 50 90 100 / 100 97 85 73 70 / ... */
    const uint8_t odd[15] = {
        0,   10,  50,  90,  100,
        100, 97,  85,  73,  70,
        200, 184, 120, 56,  40,
    };
    check_resize(in, 2, 2, 5, 3, odd);
    /* 4x4 -> 2x2 (no antialias): samples at 0.5 and 2.5, the mean of each 2x2 block */
    uint8_t big[16];
    for (int i = 0; i < 16; i++)
        big[i] = (uint8_t)(i * 10);
    const uint8_t down[4] = { 25, 45, 105, 125 };
    check_resize(big, 4, 4, 2, 2, down);
}
END_TEST

START_TEST(test_resize_bad_size)
{
    uint8_t px[3] = { 1, 2, 3 };
    dc_image src = { 1, 1, 3, px }, dst;
    dc_error err = { 0 };
    ck_assert_int_eq(dc_image_resize_bilinear(&src, 0, 4, &dst, &err), DC_ERR_ARG);
    ck_assert_ptr_null(dst.data);
    ck_assert_int_eq(dc_image_resize_bilinear(&src, 4, -1, &dst, &err), DC_ERR_ARG);
    ck_assert_int_eq(dc_image_resize_bilinear(&src, 1 << 20, 1 << 20, &dst, &err),
                     DC_ERR_ARG);
}
END_TEST

static Suite *image_suite(void)
{
    Suite *s = suite_create("image");
    TCase *png = fx_tcase(s, "png", 0);
    tcase_add_test(png, test_png_rgb_round_trip);
    tcase_add_test(png, test_png_writer_gray_and_rgba);
    tcase_add_test(png, test_png_gray8);
    tcase_add_test(png, test_png_gray1);
    tcase_add_test(png, test_png_gray_alpha);
    tcase_add_test(png, test_png_rgba_drops_alpha);
    tcase_add_test(png, test_png_rgb16_keeps_high_byte);
    tcase_add_test(png, test_png_gray16);
    tcase_add_test(png, test_png_palette8);
    tcase_add_test(png, test_png_palette4_with_transparency);
    tcase_add_test(png, test_png_interlaced);
    tcase_add_test(png, test_format_chosen_by_content_not_name);

    TCase *jpeg = fx_tcase(s, "jpeg", 0);
    tcase_add_test(jpeg, test_jpeg_rgb_gradient);
    tcase_add_test(jpeg, test_jpeg_gray_expands_to_rgb);
    tcase_add_test(jpeg, test_jpeg_cmyk_refused);

    TCase *bad = fx_tcase(s, "bad files", 0);
    tcase_add_test(bad, test_missing_file);
    tcase_add_test(bad, test_empty_file);
    tcase_add_test(bad, test_text_file);
    tcase_add_test(bad, test_truncated_png);
    tcase_add_test(bad, test_corrupt_png);
    tcase_add_test(bad, test_truncated_jpeg);
    tcase_add_test(bad, test_jpeg_bomb_refused);
    tcase_add_test(bad, test_jpeg_scan_bomb_refused);
    tcase_add_test(bad, test_jpeg_arithmetic_limit);
    tcase_add_test(bad, test_huge_png_header);
    tcase_add_test(bad, test_huge_jpeg_header);
    tcase_add_test(bad, test_corrupt_jpeg);
    tcase_add_test(bad, test_libraries_print_nothing);
    tcase_add_test(bad, test_write_png_bad_arguments);

    TCase *pixels = fx_tcase(s, "pixels", 0);
    tcase_add_test(pixels, test_to_tensor_matches_torchvision);
    tcase_add_test(pixels, test_resize_constant_stays_constant);
    tcase_add_test(pixels, test_resize_half_pixel_values);
    tcase_add_test(pixels, test_resize_bad_size);
    return s;
}

FX_MAIN(image_suite)
