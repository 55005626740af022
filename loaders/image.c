/*
 * image.c — PNG (libpng) and JPEG (libjpeg-turbo) decoding, PNG writing, resize and the
 * float conversion (see image.h for the contracts).
 *
 * Both libraries report fatal errors by calling a function that must not return. Ours
 * copy the library's message into a reader's context and longjmp back to the decoding
 * function, which returns a status; nothing is printed and the process never exits.
 * Everything a decoder allocates lives in a context owned by its caller, outside the
 * function that calls setjmp, so it is still valid (and freed) after a longjmp.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* fileno, getpid (the build defines it too) */
#endif

#include "loaders/image.h"
#include "base/alloc.h"
#include "loaders/outfile.h"

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

/* The largest image the loader accepts (about 805 MB of RGB pixels), and the longest side
 * (libjpeg's own limit is 65500): both are checked from the header, before the decoders
 * allocate their row buffers. See docs/robustness.md. */
#define DC_IMAGE_MAX_PIXELS (1u << 28)
#define DC_IMAGE_MAX_SIDE 65535u
/* The most libpng may allocate for one ancillary chunk (text, ICC profile) */
#define DC_PNG_MAX_CHUNK (8u << 20)
/* The most pixels a Huffman-coded JPEG can code per byte of its file: every 8x8 block of
 * its first component costs at least one bit (the Huffman code of its DC coefficient), so
 * at most 8 x 64 = 512 pixels a byte; twice that for slack. A header asking for more is a
 * decompression bomb (CVE-2019-13960; a 314-byte file of 63740x4100 pixels took the fuzzer
 * past 10 s). */
#define DC_JPEG_MAX_PIXELS_PER_BYTE 1024u
/* Arithmetic coding has no such floor (a certain decision costs almost nothing), so an
 * arithmetic-coded JPEG (rare) gets a fixed limit instead, 16 Mpixel; and a progressive
 * JPEG at most this many scans (each scan walks the whole coefficient buffer). */
#define DC_JPEG_ARITH_MAX_PIXELS (1u << 24)
#define DC_JPEG_MAX_SCANS 1000

typedef enum { DC_IMAGE_UNKNOWN, DC_IMAGE_PNG, DC_IMAGE_JPEG } dc_image_format;

/* ---- common helpers ----------------------------------------------------- */

/* Refuses a header's size over DC_IMAGE_MAX_SIDE or DC_IMAGE_MAX_PIXELS, before decoding. */
static dc_status dc_image_check_header(const char *path, const char *fmt, uint32_t w,
                                       uint32_t h, dc_error *err)
{
    if (w > DC_IMAGE_MAX_SIDE || h > DC_IMAGE_MAX_SIDE ||
        (uint64_t)w * h > DC_IMAGE_MAX_PIXELS)
        return dc_fail(err, DC_ERR_UNSUPPORTED, "%s: %s header says %ux%u pixels: too large "
                       "(limits: %u per side, %u pixels)", path, fmt, w, h, DC_IMAGE_MAX_SIDE,
                       DC_IMAGE_MAX_PIXELS);
    return DC_OK;
}

/* Allocates out->data for w x h x c pixels, refusing images over DC_IMAGE_MAX_PIXELS. */
static dc_status dc_image_alloc(const char *path, uint32_t w, uint32_t h, int c,
                                dc_image *out, dc_error *err)
{
    if (w == 0 || h == 0)
        return dc_fail(err, DC_ERR_FORMAT, "%s: image has no pixels (%ux%u)", path, w, h);
    if ((uint64_t)w * h > DC_IMAGE_MAX_PIXELS)
        return dc_fail(err, DC_ERR_UNSUPPORTED, "%s: image of %ux%u pixels is too large "
                       "(limit %u pixels)", path, w, h, DC_IMAGE_MAX_PIXELS);
    out->data = dc_malloc((size_t)w * h * (size_t)c);
    if (!out->data)
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory for a %ux%u image", path, w, h);
    out->w = (int)w;
    out->h = (int)h;
    out->c = c;
    return DC_OK;
}

void dc_image_free(dc_image *img)
{
    if (!img)
        return;
    free(img->data);
    memset(img, 0, sizeof *img);
}

dc_status dc_image_view(const uint8_t *pixels, int w, int h, int c, dc_image *out,
                        dc_error *err)
{
    *out = (dc_image){ 0 };
    if (!pixels)
        return dc_fail(err, DC_ERR_ARG, "pixels: NULL");
    if (c != 1 && c != 3)
        return dc_fail(err, DC_ERR_ARG, "pixels: %d channels; expected 1 (gray) or 3 (RGB)",
                       c);
    if (w < 1 || h < 1 || (unsigned)w > DC_IMAGE_MAX_SIDE || (unsigned)h > DC_IMAGE_MAX_SIDE ||
        (uint64_t)w * (uint64_t)h > DC_IMAGE_MAX_PIXELS)
        return dc_fail(err, DC_ERR_ARG, "pixels: a %d x %d image (each side must be 1 to %u, "
                       "at most %u pixels)", w, h, DC_IMAGE_MAX_SIDE, DC_IMAGE_MAX_PIXELS);
    *out = (dc_image){ .w = w, .h = h, .c = c, .data = (uint8_t *)pixels };
    return DC_OK;
}

/* Reads the first bytes of f to tell PNG from JPEG, then rewinds f. */
static dc_status dc_image_sniff(FILE *f, const char *path, dc_image_format *fmt,
                                dc_error *err)
{
    static const unsigned char png_sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
    unsigned char head[8];
    errno = 0;
    size_t got = fread(head, 1, sizeof head, f);
    if (ferror(f))
        return dc_fail(err, DC_ERR_IO, "%s: cannot read: %s", path,
                       errno ? strerror(errno) : "read error");
    if (got == 0)
        return dc_fail(err, DC_ERR_FORMAT, "%s: not a PNG or JPEG file (the file is empty)",
                       path);
    if (got == 8 && memcmp(head, png_sig, 8) == 0)
        *fmt = DC_IMAGE_PNG;
    else if (got >= 3 && head[0] == 0xff && head[1] == 0xd8 && head[2] == 0xff)
        *fmt = DC_IMAGE_JPEG;
    else
        return dc_fail(err, DC_ERR_FORMAT, "%s: not a PNG or JPEG file (unrecognised first "
                       "bytes)", path);
    if (fseek(f, 0, SEEK_SET) != 0)
        return dc_fail(err, DC_ERR_IO, "%s: cannot seek: %s", path, strerror(errno));
    return DC_OK;
}

/* ---- PNG reading -------------------------------------------------------- */

typedef struct {
    const char *path;
    FILE *f;
    png_structp png;
    png_infop info;
    png_bytep *rows;
    char msg[200];       /* libpng's last error message */
    char limit_msg[100]; /* libpng's warning that a side exceeds DC_IMAGE_MAX_SIDE */
    bool eof;            /* the file ended early */
    int read_errno;      /* the file could not be read (0: it could) */
} dc_png_reader;

static void dc_png_on_error(png_structp png, png_const_charp msg)
{
    dc_png_reader *r = png_get_error_ptr(png);
    snprintf(r->msg, sizeof r->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void dc_png_on_warning(png_structp png, png_const_charp msg)
{
    /* benign (e.g. a bad ancillary chunk): decoding goes on, nothing printed; except that
     * png_check_IHDR warns "Image width exceeds user limit" before failing with "Invalid
     * IHDR data", which is worth telling apart */
    dc_png_reader *r = png_get_error_ptr(png);
    if (strstr(msg, "user limit"))
        snprintf(r->limit_msg, sizeof r->limit_msg, "%s", msg);
}

static void dc_png_read_bytes(png_structp png, png_bytep buf, size_t n)
{
    dc_png_reader *r = png_get_io_ptr(png);
    errno = 0;
    if (fread(buf, 1, n, r->f) == n)
        return;
    if (ferror(r->f)) {
        r->read_errno = errno ? errno : EIO;
        png_error(png, "read error");
    }
    r->eof = true;
    png_error(png, "unexpected end of file");
}

/* Asks libpng for 8-bit RGB whatever the file holds (see dc_image_load). */
static void dc_png_set_transforms(png_structp png, png_infop info)
{
    int color = png_get_color_type(png, info);
    int depth = png_get_bit_depth(png, info);
    if (depth == 16)
        png_set_strip_16(png);
    if (color == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if ((color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA) && depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA)
        png_set_gray_to_rgb(png);
    png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
}

/* Turns what the reader recorded into the error message of a failed decode. */
static dc_status dc_png_explain(const dc_png_reader *r, dc_error *err)
{
    if (r->read_errno)
        return dc_fail(err, DC_ERR_IO, "%s: cannot read: %s", r->path,
                       strerror(r->read_errno));
    if (r->eof)
        return dc_fail(err, DC_ERR_FORMAT, "%s: truncated PNG file (unexpected end of file)",
                       r->path);
    if (r->limit_msg[0])
        return dc_fail(err, DC_ERR_UNSUPPORTED, "%s: PNG header says the image is too large "
                       "(limits: %u per side, %u pixels; libpng: %s)", r->path,
                       DC_IMAGE_MAX_SIDE, DC_IMAGE_MAX_PIXELS, r->limit_msg);
    return dc_fail(err, DC_ERR_FORMAT, "%s: corrupt PNG file (libpng: %s)", r->path, r->msg);
}

/* Decodes r->f into out. Calls setjmp: every allocation is held in r or out. */
static dc_status dc_png_decode(dc_png_reader *r, dc_image *out, dc_error *err)
{
    if (setjmp(png_jmpbuf(r->png)))
        return dc_png_explain(r, err);
    png_set_read_fn(r->png, r, dc_png_read_bytes);
    /* libpng allocates a row buffer from IHDR's width in png_read_update_info: bound the
     * sides in libpng and check the pixel count before that */
    png_set_user_limits(r->png, DC_IMAGE_MAX_SIDE, DC_IMAGE_MAX_SIDE);
    png_set_chunk_malloc_max(r->png, DC_PNG_MAX_CHUNK);
    png_read_info(r->png, r->info);
    uint32_t w = png_get_image_width(r->png, r->info);
    uint32_t h = png_get_image_height(r->png, r->info);
    dc_status st = dc_image_check_header(r->path, "PNG", w, h, err);
    if (st != DC_OK)
        return st;
    dc_png_set_transforms(r->png, r->info);
    if (png_get_channels(r->png, r->info) != 3 || png_get_bit_depth(r->png, r->info) != 8)
        return dc_fail(err, DC_ERR_FORMAT, "%s: PNG did not convert to 8-bit RGB (%d "
                       "channels, %d bits)", r->path, png_get_channels(r->png, r->info),
                       png_get_bit_depth(r->png, r->info));
    st = dc_image_alloc(r->path, w, h, 3, out, err);
    if (st != DC_OK)
        return st;
    r->rows = dc_malloc(sizeof *r->rows * h);
    if (!r->rows)
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory for PNG rows", r->path);
    for (uint32_t y = 0; y < h; y++)
        r->rows[y] = out->data + (size_t)y * w * 3;
    png_read_image(r->png, r->rows);
    return DC_OK;
}

static dc_status dc_png_load(FILE *f, const char *path, dc_image *out, dc_error *err)
{
    dc_png_reader r = { .path = path, .f = f };
    r.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r, dc_png_on_error,
                                   dc_png_on_warning);
    if (!r.png)
        return dc_fail(err, DC_ERR_NOMEM, "%s: cannot create a PNG reader", path);
    r.info = png_create_info_struct(r.png);
    dc_status st;
    if (!r.info)
        st = dc_fail(err, DC_ERR_NOMEM, "%s: cannot create a PNG reader", path);
    else
        st = dc_png_decode(&r, out, err);
    png_destroy_read_struct(&r.png, r.info ? &r.info : NULL, NULL);
    free(r.rows);
    return st;
}

/* ---- JPEG reading ------------------------------------------------------- */

typedef struct {
    struct jpeg_error_mgr mgr;  /* first, so a j_common_ptr's err points at the whole */
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
    bool eof;                   /* libjpeg reached the end of the file before the image's */
} dc_jpeg_errors;

typedef struct {
    const char *path;
    FILE *f;
    struct jpeg_decompress_struct cinfo;
    dc_jpeg_errors errors;
    struct jpeg_progress_mgr progress; /* counts the scans (DC_JPEG_MAX_SCANS) */
    bool created;
} dc_jpeg_reader;

/* libjpeg's progress hook: fails the decode past DC_JPEG_MAX_SCANS scans. */
static void dc_jpeg_on_progress(j_common_ptr cinfo)
{
    const j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number > DC_JPEG_MAX_SCANS) {
        dc_jpeg_errors *e = (dc_jpeg_errors *)cinfo->err;
        snprintf(e->msg, sizeof e->msg, "more than %d progressive scans", DC_JPEG_MAX_SCANS);
        longjmp(e->jump, 1);
    }
}

static void dc_jpeg_on_error(j_common_ptr cinfo)
{
    dc_jpeg_errors *e = (dc_jpeg_errors *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->msg);
    longjmp(e->jump, 1);
}

/* Warnings and traces are dropped, except "premature end of JPEG file": libjpeg would
 * paint the missing rows grey and go on; a truncated file is an error here (as in PIL). */
static void dc_jpeg_on_message(j_common_ptr cinfo, int level)
{
    dc_jpeg_errors *e = (dc_jpeg_errors *)cinfo->err;
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
        e->eof = true;
        dc_jpeg_on_error(cinfo);
    }
}

static void dc_jpeg_on_output(j_common_ptr cinfo)
{
    (void)cinfo; /* never print */
}

/* Turns what the error manager recorded into the error message of a failed decode. */
static dc_status dc_jpeg_explain(const dc_jpeg_reader *r, dc_error *err)
{
    if (r->errors.eof)
        return dc_fail(err, DC_ERR_FORMAT, "%s: truncated JPEG file (premature end of data)",
                       r->path);
    return dc_fail(err, DC_ERR_FORMAT, "%s: corrupt JPEG file (libjpeg: %s)", r->path,
                   r->errors.msg);
}

/* Decodes r->f into out. Calls setjmp: every allocation is held in r or out. */
static dc_status dc_jpeg_decode(dc_jpeg_reader *r, dc_image *out, dc_error *err)
{
    struct jpeg_decompress_struct *ci = &r->cinfo;
    ci->err = jpeg_std_error(&r->errors.mgr);
    r->errors.mgr.error_exit = dc_jpeg_on_error;
    r->errors.mgr.emit_message = dc_jpeg_on_message;
    r->errors.mgr.output_message = dc_jpeg_on_output;
    if (setjmp(r->errors.jump))
        return dc_jpeg_explain(r, err);
    jpeg_create_decompress(ci);
    r->created = true;
    jpeg_stdio_src(ci, r->f);
    r->progress.progress_monitor = dc_jpeg_on_progress;
    ci->progress = &r->progress;
    jpeg_read_header(ci, TRUE);
    /* before jpeg_start_decompress allocates buffers (a whole-image one when progressive) */
    dc_status st = dc_image_check_header(r->path, "JPEG", ci->image_width, ci->image_height,
                                         err);
    if (st != DC_OK)
        return st;
    struct stat info;
    const uint64_t pixels = (uint64_t)ci->image_width * ci->image_height;
    if (ci->arith_code && pixels > DC_JPEG_ARITH_MAX_PIXELS)
        return dc_fail(err, DC_ERR_UNSUPPORTED, "%s: arithmetic-coded JPEG of %ux%u pixels: "
                       "over the %u-pixel limit for that coding", r->path, ci->image_width,
                       ci->image_height, DC_JPEG_ARITH_MAX_PIXELS);
    if (!ci->arith_code && fstat(fileno(r->f), &info) == 0 && S_ISREG(info.st_mode) &&
        pixels > (uint64_t)DC_JPEG_MAX_PIXELS_PER_BYTE * (uint64_t)info.st_size)
        return dc_fail(err, DC_ERR_FORMAT, "%s: JPEG header says %ux%u pixels, more than its "
                       "%lld bytes can code (at most %u pixels a byte): corrupt or hostile file",
                       r->path, ci->image_width, ci->image_height, (long long)info.st_size,
                       DC_JPEG_MAX_PIXELS_PER_BYTE);
    if (ci->jpeg_color_space == JCS_CMYK || ci->jpeg_color_space == JCS_YCCK)
        return dc_fail(err, DC_ERR_UNSUPPORTED, "%s: CMYK JPEG is not supported (convert "
                       "it to RGB first)", r->path);
    ci->out_color_space = JCS_RGB;
    jpeg_start_decompress(ci);
    if (ci->output_components != 3)
        return dc_fail(err, DC_ERR_FORMAT, "%s: JPEG did not convert to RGB (%d components)",
                       r->path, ci->output_components);
    st = dc_image_alloc(r->path, ci->output_width, ci->output_height, 3, out, err);
    if (st != DC_OK)
        return st;
    while (ci->output_scanline < ci->output_height) {
        JSAMPROW row = out->data + (size_t)ci->output_scanline * ci->output_width * 3;
        jpeg_read_scanlines(ci, &row, 1);
    }
    /* No jpeg_finish_decompress: every row is decoded; a missing EOI marker is harmless. */
    return DC_OK;
}

static dc_status dc_jpeg_load(FILE *f, const char *path, dc_image *out, dc_error *err)
{
    dc_jpeg_reader r = { .path = path, .f = f };
    dc_status st = dc_jpeg_decode(&r, out, err);
    if (r.created)
        jpeg_destroy_decompress(&r.cinfo);
    return st;
}

/* ---- loading ------------------------------------------------------------ */

dc_status dc_image_load(const char *path, dc_image *out, dc_error *err)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return dc_fail(err, DC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    dc_image_format fmt = DC_IMAGE_UNKNOWN;
    dc_status st = dc_image_sniff(f, path, &fmt, err);
    if (st == DC_OK && fmt == DC_IMAGE_PNG)
        st = dc_png_load(f, path, out, err);
    else if (st == DC_OK)
        st = dc_jpeg_load(f, path, out, err);
    fclose(f);
    if (st != DC_OK)
        dc_image_free(out);
    return st;
}

/* ---- PNG writing -------------------------------------------------------- */

typedef struct {
    png_structp png;
    png_infop info;
    png_bytep *rows;
    char msg[200];
} dc_png_writer;

static void dc_png_on_write_error(png_structp png, png_const_charp msg)
{
    dc_png_writer *w = png_get_error_ptr(png);
    snprintf(w->msg, sizeof w->msg, "%s", msg);
    png_longjmp(png, 1);
}

/* Encodes img into f. Calls setjmp: every allocation is held in w. Returns false on a
 * libpng error (w->msg says which). */
static bool dc_png_encode(dc_png_writer *w, FILE *f, const dc_image *img)
{
    static const int color_of_channels[5] = { 0, PNG_COLOR_TYPE_GRAY, 0, PNG_COLOR_TYPE_RGB,
                                              PNG_COLOR_TYPE_RGB_ALPHA };
    if (setjmp(png_jmpbuf(w->png)))
        return false;
    png_init_io(w->png, f);
    png_set_IHDR(w->png, w->info, (uint32_t)img->w, (uint32_t)img->h, 8,
                 color_of_channels[img->c], PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(w->png, w->info);
    for (int y = 0; y < img->h; y++)
        w->rows[y] = img->data + (size_t)y * img->w * img->c;
    png_write_image(w->png, w->rows);
    png_write_end(w->png, NULL);
    return true;
}

/* Writes img to the already open f; returns DC_OK or an error naming path. */
static dc_status dc_png_write_file(FILE *f, const char *path, const dc_image *img,
                                   dc_error *err)
{
    dc_png_writer w = { 0 };
    w.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &w, dc_png_on_write_error,
                                    dc_png_on_warning);
    if (w.png)
        w.info = png_create_info_struct(w.png);
    w.rows = dc_malloc(sizeof *w.rows * (size_t)img->h);
    dc_status st = DC_OK;
    if (!w.png || !w.info || !w.rows)
        st = dc_fail(err, DC_ERR_NOMEM, "%s: out of memory for the PNG writer", path);
    else if (!dc_png_encode(&w, f, img))
        st = dc_fail(err, DC_ERR_IO, "%s: cannot write PNG (libpng: %s)", path, w.msg);
    png_destroy_write_struct(w.png ? &w.png : NULL, w.info ? &w.info : NULL);
    free(w.rows);
    return st;
}

dc_status dc_image_write_png(const char *path, const dc_image *img, dc_error *err)
{
    if (!img || !img->data || img->w <= 0 || img->h <= 0 ||
        (img->c != 1 && img->c != 3 && img->c != 4))
        return dc_fail(err, DC_ERR_ARG, "%s: cannot write a PNG of this image (needs w, h "
                       ">= 1, c = 1, 3 or 4, and pixels)", path);
    dc_outfile out;
    dc_status st = dc_outfile_open(&out, path, 0, err);
    if (st != DC_OK)
        return st;
    st = dc_png_write_file(out.f, path, img, err);
    if (st != DC_OK) {
        dc_outfile_abort(&out);
        return st;
    }
    return dc_outfile_commit(&out, err);
}

/* ---- pixel operations --------------------------------------------------- */

void dc_image_to_tensor(const dc_image *img, const float mean[3], const float std[3],
                        float *out)
{
    size_t plane = (size_t)img->w * img->h;
    for (int k = 0; k < 3; k++) {
        const uint8_t *src = img->data + k;
        float *dst = out + (size_t)k * plane;
        for (size_t i = 0; i < plane; i++) {
            float v = (float)src[i * 3] / 255.0f;   /* ToTensor */
            dst[i] = (v - mean[k]) / std[k];        /* Normalize */
        }
    }
}

/* Source index pair and weight of the second for each of n output positions along an axis
 * of in samples (half-pixel centres, negative coordinates clamped to 0). */
static void dc_resize_axis(int in, int n, int *i0, int *i1, float *frac)
{
    float scale = (float)in / (float)n;
    for (int o = 0; o < n; o++) {
        float src = ((float)o + 0.5f) * scale - 0.5f;
        if (src < 0.0f)
            src = 0.0f;
        int lo = (int)src;
        if (lo > in - 1)
            lo = in - 1;
        i0[o] = lo;
        i1[o] = lo + 1 < in ? lo + 1 : in - 1;
        frac[o] = src - (float)lo;
    }
}

static uint8_t dc_resize_round(float v)
{
    v = floorf(v + 0.5f);
    return (uint8_t)(v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v);
}

dc_status dc_image_resize_bilinear(const dc_image *src, int w, int h, dc_image *dst,
                                   dc_error *err)
{
    memset(dst, 0, sizeof *dst);
    if (w < 1 || h < 1 || src->w < 1 || src->h < 1 || src->c < 1)
        return dc_fail(err, DC_ERR_ARG, "resize: bad size %dx%d -> %dx%d", src->w, src->h,
                       w, h);
    if ((uint64_t)w * (uint64_t)h > DC_IMAGE_MAX_PIXELS)
        return dc_fail(err, DC_ERR_ARG, "resize: %dx%d is too large", w, h);
    int *ix = dc_malloc(sizeof(int) * 2 * ((size_t)w + h));
    float *fx = dc_malloc(sizeof(float) * ((size_t)w + h));
    dst->data = dc_malloc((size_t)w * h * (size_t)src->c);
    if (!ix || !fx || !dst->data) {
        free(ix);
        free(fx);
        dc_image_free(dst);
        return dc_fail(err, DC_ERR_NOMEM, "resize: out of memory for %dx%d", w, h);
    }
    int *x0 = ix, *x1 = ix + w, *y0 = ix + 2 * w, *y1 = y0 + h;
    float *ax = fx, *ay = fx + w;
    dc_resize_axis(src->w, w, x0, x1, ax);
    dc_resize_axis(src->h, h, y0, y1, ay);
    dst->w = w;
    dst->h = h;
    dst->c = src->c;
    int c = src->c;
    size_t stride = (size_t)src->w * c;
    for (int y = 0; y < h; y++) {
        const uint8_t *r0 = src->data + (size_t)y0[y] * stride;
        const uint8_t *r1 = src->data + (size_t)y1[y] * stride;
        uint8_t *out = dst->data + (size_t)y * w * c;
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++) {
                float top = (1.0f - ax[x]) * r0[x0[x] * c + k] + ax[x] * r0[x1[x] * c + k];
                float bot = (1.0f - ax[x]) * r1[x0[x] * c + k] + ax[x] * r1[x1[x] * c + k];
                out[x * c + k] = dc_resize_round((1.0f - ay[y]) * top + ay[y] * bot);
            }
    }
    free(ix);
    free(fx);
    return DC_OK;
}
