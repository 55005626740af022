/*
 * test_npy.c — the .npy reader and writer: files written by real NumPy (embedded below),
 * round trips, byte-exact agreement with NumPy's writer, and every kind of bad file.
 */
#include "fixtures.h"
#include "loaders/npy.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Produced by NumPy 1.24.2 (/usr/bin/python3; np.save unless said otherwise): preamble,
 * header text (spaces and '\n' included) and data, byte for byte. */
/* np.array([1.5, -2.0, 3.25], dtype='<f4') */
static const char npy_f32_1d[] =
    "\x93\x4e\x55\x4d\x50\x59\x01\x00\x76\x00"
    "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }"
    "                                                            \n"
    "\x00\x00\xc0\x3f\x00\x00\x00\xc0\x00\x00\x50\x40"
    ;
#define NPY_F32_1D_LEN 140
_Static_assert(sizeof npy_f32_1d - 1 == NPY_F32_1D_LEN, "fixture length");
/* np.arange(6, dtype='<f4').reshape(2, 3) - 2.5 */
static const char npy_f32_2x3[] =
    "\x93\x4e\x55\x4d\x50\x59\x01\x00\x76\x00"
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
    "                                                          \n"
    "\x00\x00\x20\xc0\x00\x00\xc0\xbf\x00\x00\x00\xbf\x00\x00\x00\x3f"
    "\x00\x00\xc0\x3f\x00\x00\x20\x40"
    ;
#define NPY_F32_2X3_LEN 152
_Static_assert(sizeof npy_f32_2x3 - 1 == NPY_F32_2X3_LEN, "fixture length");
/* np.array(7.0, dtype='<f4') */
static const char npy_f32_scalar[] =
    "\x93\x4e\x55\x4d\x50\x59\x01\x00\x76\x00"
    "{'descr': '<f4', 'fortran_order': False, 'shape': (), }"
    "                                                              \n"
    "\x00\x00\xe0\x40"
    ;
#define NPY_F32_SCALAR_LEN 132
_Static_assert(sizeof npy_f32_scalar - 1 == NPY_F32_SCALAR_LEN, "fixture length");
/* np.zeros((0, 3), dtype='<f4') */
static const char npy_f32_0x3[] =
    "\x93\x4e\x55\x4d\x50\x59\x01\x00\x76\x00"
    "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }"
    "                                                          \n"
    ;
#define NPY_F32_0X3_LEN 128
_Static_assert(sizeof npy_f32_0x3 - 1 == NPY_F32_0X3_LEN, "fixture length");
/* np.array([0.5, 1e-30, -1e30, np.inf], dtype='<f4').reshape(1, 2, 1, 2) */
static const char npy_f32_1x2x1x2[] =
    "\x93\x4e\x55\x4d\x50\x59\x01\x00\x76\x00"
    "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 1, 2), }"
    "                                                    \n"
    "\x00\x00\x00\x3f\x60\x42\xa2\x0d\xca\xf2\x49\xf1\x00\x00\x80\x7f"
    ;
#define NPY_F32_1X2X1X2_LEN 144
_Static_assert(sizeof npy_f32_1x2x1x2 - 1 == NPY_F32_1X2X1X2_LEN, "fixture length");
/* np.lib.format.write_array(f, np.array([1.0, 2.0], dtype='<f4'), version=(2, 0)) */
static const char npy_f32_v2[] =
    "\x93\x4e\x55\x4d\x50\x59\x02\x00\x74\x00\x00\x00"
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }"
    "                                                          \n"
    "\x00\x00\x80\x3f\x00\x00\x00\x40"
    ;
#define NPY_F32_V2_LEN 136
_Static_assert(sizeof npy_f32_v2 - 1 == NPY_F32_V2_LEN, "fixture length");
/* np.lib.format.write_array(f, np.array([1.0, 2.0], dtype='<f4'), version=(3, 0)) */
static const char npy_f32_v3[] =
    "\x93\x4e\x55\x4d\x50\x59\x03\x00\x74\x00\x00\x00"
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }"
    "                                                          \n"
    "\x00\x00\x80\x3f\x00\x00\x00\x40"
    ;
#define NPY_F32_V3_LEN 136
_Static_assert(sizeof npy_f32_v3 - 1 == NPY_F32_V3_LEN, "fixture length");
/* np.array([1.0], dtype='<f8') */
static const char npy_f64[] =
    "\x93\x4e\x55\x4d\x50\x59\x01\x00\x76\x00"
    "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }"
    "                                                            \n"
    "\x00\x00\x00\x00\x00\x00\xf0\x3f"
    ;
#define NPY_F64_LEN 136
_Static_assert(sizeof npy_f64 - 1 == NPY_F64_LEN, "fixture length");
/* np.array([1.0], dtype='>f4') */
static const char npy_f32_big_endian[] =
    "\x93\x4e\x55\x4d\x50\x59\x01\x00\x76\x00"
    "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }"
    "                                                            \n"
    "\x3f\x80\x00\x00"
    ;
#define NPY_F32_BIG_ENDIAN_LEN 132
_Static_assert(sizeof npy_f32_big_endian - 1 == NPY_F32_BIG_ENDIAN_LEN, "fixture length");
/* np.array([1], dtype='<i8') */
static const char npy_i64[] =
    "\x93\x4e\x55\x4d\x50\x59\x01\x00\x76\x00"
    "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }"
    "                                                            \n"
    "\x01\x00\x00\x00\x00\x00\x00\x00"
    ;
#define NPY_I64_LEN 136
_Static_assert(sizeof npy_i64 - 1 == NPY_I64_LEN, "fixture length");
/* np.asfortranarray(np.arange(6, dtype='<f4').reshape(2, 3)) */
static const char npy_fortran[] =
    "\x93\x4e\x55\x4d\x50\x59\x01\x00\x76\x00"
    "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }"
    "                                                           \n"
    "\x00\x00\x00\x00\x00\x00\x40\x40\x00\x00\x80\x3f\x00\x00\x80\x40"
    "\x00\x00\x00\x40\x00\x00\xa0\x40"
    ;
#define NPY_FORTRAN_LEN 152
_Static_assert(sizeof npy_fortran - 1 == NPY_FORTRAN_LEN, "fixture length");

/* ---- helpers ------------------------------------------------------------ */

/* Writes len bytes to the file name in the test directory; its path goes to buf. */
static const char *write_bytes(char *buf, size_t n, const char *name, const void *data,
                               size_t len)
{
    fx_path(buf, n, name);
    ck_assert_int_eq(fx_write_file(buf, data, len), 0);
    return buf;
}

/* Writes a version 1.0 .npy file whose header is dict (padded as NumPy pads it) followed
 * by nbytes of data. */
static const char *write_npy_with_header(char *buf, size_t n, const char *name,
                                         const char *dict, const void *data, size_t nbytes)
{
    size_t dlen = strlen(dict);
    size_t hlen = dlen + 1;
    size_t pad = 64 - ((10 + hlen) % 64);
    size_t total = 10 + hlen + pad + nbytes;
    unsigned char *file = malloc(total);
    ck_assert_ptr_nonnull(file);
    memcpy(file, "\x93NUMPY\x01\x00", 8);
    file[8] = (unsigned char)((hlen + pad) & 0xff);
    file[9] = (unsigned char)((hlen + pad) >> 8);
    memcpy(file + 10, dict, dlen);
    memset(file + 10 + dlen, ' ', pad);
    file[10 + dlen + pad] = '\n';
    if (nbytes)
        memcpy(file + 10 + hlen + pad, data, nbytes);
    write_bytes(buf, n, name, file, total);
    free(file);
    return buf;
}

/* Reads path expecting failure with code; checks that the message names the file and
 * contains each of the NULL-terminated key words. */
static void expect_read_error(const char *path, dc_status code, ...)
{
    dc_npy a;
    dc_error err = { 0 };
    dc_status st = dc_npy_read_f32(path, &a, &err);
    ck_assert_msg(st == code, "%s: expected status %d, got %d (%s)", path, code, st, err.msg);
    ck_assert_int_eq(err.code, code);
    ck_assert_ptr_null(a.data);
    ck_assert_msg(strstr(err.msg, path) != NULL, "message does not name the file: %s",
                  err.msg);
    va_list ap;
    va_start(ap, code);
    for (const char *w = va_arg(ap, const char *); w; w = va_arg(ap, const char *))
        ck_assert_msg(strstr(err.msg, w) != NULL, "message lacks \"%s\": %s", w, err.msg);
    va_end(ap);
}

/* Reads a file that must succeed. */
static dc_npy read_ok(const char *path)
{
    dc_npy a;
    dc_error err = { 0 };
    dc_status st = dc_npy_read_f32(path, &a, &err);
    ck_assert_msg(st == DC_OK, "%s", err.msg);
    return a;
}

/* ---- reading files written by NumPy ------------------------------------- */

START_TEST(test_read_numpy_1d)
{
    char path[512];
    write_bytes(path, sizeof path, "npy_numpy_1d.npy", npy_f32_1d, NPY_F32_1D_LEN);
    dc_npy a = read_ok(path);
    ck_assert_int_eq(a.ndim, 1);
    ck_assert_int_eq(a.shape[0], 3);
    ck_assert_uint_eq(a.count, 3);
    ck_assert_float_eq(a.data[0], 1.5f);
    ck_assert_float_eq(a.data[1], -2.0f);
    ck_assert_float_eq(a.data[2], 3.25f);
    dc_npy_free(&a);
    ck_assert_ptr_null(a.data);
    dc_npy_free(&a); /* twice is harmless */
}
END_TEST

START_TEST(test_read_numpy_2x3)
{
    char path[512];
    write_bytes(path, sizeof path, "npy_numpy_2x3.npy", npy_f32_2x3, NPY_F32_2X3_LEN);
    dc_npy a = read_ok(path);
    ck_assert_int_eq(a.ndim, 2);
    ck_assert_int_eq(a.shape[0], 2);
    ck_assert_int_eq(a.shape[1], 3);
    ck_assert_uint_eq(a.count, 6);
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq(a.data[i], (float)i - 2.5f);
    dc_npy_free(&a);
}
END_TEST

START_TEST(test_read_numpy_scalar)
{
    char path[512];
    write_bytes(path, sizeof path, "npy_numpy_scalar.npy", npy_f32_scalar,
                NPY_F32_SCALAR_LEN);
    dc_npy a = read_ok(path);
    ck_assert_int_eq(a.ndim, 0);
    ck_assert_uint_eq(a.count, 1);
    ck_assert_float_eq(a.data[0], 7.0f);
    dc_npy_free(&a);
}
END_TEST

START_TEST(test_read_numpy_empty_array)
{
    char path[512];
    write_bytes(path, sizeof path, "npy_numpy_0x3.npy", npy_f32_0x3, NPY_F32_0X3_LEN);
    dc_npy a = read_ok(path);
    ck_assert_int_eq(a.ndim, 2);
    ck_assert_int_eq(a.shape[0], 0);
    ck_assert_int_eq(a.shape[1], 3);
    ck_assert_uint_eq(a.count, 0);
    ck_assert_ptr_null(a.data);
    dc_npy_free(&a);
}
END_TEST

START_TEST(test_read_numpy_4d_special_values)
{
    char path[512];
    write_bytes(path, sizeof path, "npy_numpy_4d.npy", npy_f32_1x2x1x2, NPY_F32_1X2X1X2_LEN);
    dc_npy a = read_ok(path);
    ck_assert_int_eq(a.ndim, 4);
    const int64_t shape[4] = { 1, 2, 1, 2 };
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(a.shape[i], shape[i]);
    ck_assert_float_eq(a.data[0], 0.5f);
    ck_assert_float_eq(a.data[1], 1e-30f);
    ck_assert_float_eq(a.data[2], -1e30f);
    ck_assert(isinf(a.data[3]) && a.data[3] > 0);
    dc_npy_free(&a);
}
END_TEST

START_TEST(test_read_numpy_versions_2_and_3)
{
    char path[512];
    const char *files[2] = { npy_f32_v2, npy_f32_v3 };
    const size_t lens[2] = { NPY_F32_V2_LEN, NPY_F32_V3_LEN };
    for (int v = 0; v < 2; v++) {
        write_bytes(path, sizeof path, "npy_numpy_v23.npy", files[v], lens[v]);
        dc_npy a = read_ok(path);
        ck_assert_int_eq(a.ndim, 1);
        ck_assert_int_eq(a.shape[0], 2);
        ck_assert_float_eq(a.data[0], 1.0f);
        ck_assert_float_eq(a.data[1], 2.0f);
        dc_npy_free(&a);
    }
}
END_TEST

/* ---- writing ------------------------------------------------------------ */

/* Writes data with shape and checks the file equals NumPy's bytes exactly. */
static void check_write_matches(const char *numpy, size_t len, const float *data, int ndim,
                                const int64_t *shape)
{
    char path[512];
    dc_error err = { 0 };
    fx_path(path, sizeof path, "npy_write_exact.npy");
    ck_assert_msg(dc_npy_write_f32(path, data, ndim, shape, &err) == DC_OK, "%s", err.msg);
    size_t got_len;
    unsigned char *got = fx_read_file(path, &got_len);
    ck_assert_uint_eq(got_len, len);
    ck_assert_msg(memcmp(got, numpy, len) == 0, "bytes differ from NumPy's for ndim %d", ndim);
    free(got);
}

START_TEST(test_write_matches_numpy_bytes)
{
    const float d1[3] = { 1.5f, -2.0f, 3.25f };
    const int64_t s1[1] = { 3 };
    check_write_matches(npy_f32_1d, NPY_F32_1D_LEN, d1, 1, s1);

    float d2[6];
    for (int i = 0; i < 6; i++)
        d2[i] = (float)i - 2.5f;
    const int64_t s2[2] = { 2, 3 };
    check_write_matches(npy_f32_2x3, NPY_F32_2X3_LEN, d2, 2, s2);

    const float d0[1] = { 7.0f };
    check_write_matches(npy_f32_scalar, NPY_F32_SCALAR_LEN, d0, 0, NULL);

    const int64_t s03[2] = { 0, 3 };
    check_write_matches(npy_f32_0x3, NPY_F32_0X3_LEN, NULL, 2, s03);

    const float d4[4] = { 0.5f, 1e-30f, -1e30f, INFINITY };
    const int64_t s4[4] = { 1, 2, 1, 2 };
    check_write_matches(npy_f32_1x2x1x2, NPY_F32_1X2X1X2_LEN, d4, 4, s4);
}
END_TEST

/* Writes random data of shape, reads it back, compares, and checks the layout rules. */
static void check_round_trip(int ndim, const int64_t *shape, uint64_t seed)
{
    char path[512];
    dc_error err = { 0 };
    size_t count = 1;
    for (int i = 0; i < ndim; i++)
        count *= (size_t)shape[i];
    float *data = malloc((count ? count : 1) * sizeof(float));
    ck_assert_ptr_nonnull(data);
    fx_rng rng = fx_rng_seed(seed);
    fx_fill_uniform(data, count, &rng, -100.0f, 100.0f);

    fx_path(path, sizeof path, "npy_round_trip.npy");
    ck_assert_msg(dc_npy_write_f32(path, data, ndim, shape, &err) == DC_OK, "%s", err.msg);

    size_t len;
    unsigned char *bytes = fx_read_file(path, &len);
    unsigned header = (unsigned)bytes[8] | (unsigned)bytes[9] << 8;
    ck_assert_int_eq(bytes[6], 1);
    ck_assert_int_eq(bytes[7], 0);
    ck_assert_uint_eq((10 + header) % 64, 0);
    ck_assert_int_eq(bytes[10 + header - 1], '\n');
    ck_assert_uint_eq(len, 10 + header + count * sizeof(float));
    free(bytes);

    dc_npy a = read_ok(path);
    ck_assert_int_eq(a.ndim, ndim);
    for (int i = 0; i < ndim; i++)
        ck_assert_int_eq(a.shape[i], shape[i]);
    ck_assert_uint_eq(a.count, count);
    if (count)
        ck_assert(memcmp(a.data, data, count * sizeof(float)) == 0);
    dc_npy_free(&a);
    free(data);

    /* the temporary file is gone */
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
    ck_assert_int_ne(access(tmp, F_OK), 0);
}

START_TEST(test_round_trip_shapes)
{
    const int64_t s1[1] = { 5 };
    const int64_t s4[4] = { 2, 3, 4, 5 };
    const int64_t s8[8] = { 1, 2, 1, 2, 1, 2, 1, 3 };
    const int64_t s_big[2] = { 1000, 1234 };       /* more than one write chunk */
    check_round_trip(1, s1, 1);
    check_round_trip(4, s4, 2);
    check_round_trip(0, NULL, 3);
    check_round_trip(8, s8, 4);
    check_round_trip(2, s_big, 5);
}
END_TEST

START_TEST(test_write_replaces_existing_file)
{
    char path[512];
    dc_error err = { 0 };
    write_bytes(path, sizeof path, "npy_replace.npy", "old contents, longer than the new",
                33);
    const float x = 42.0f;
    const int64_t s[1] = { 1 };
    ck_assert_int_eq(dc_npy_write_f32(path, &x, 1, s, &err), DC_OK);
    dc_npy a = read_ok(path);
    ck_assert_float_eq(a.data[0], 42.0f);
    dc_npy_free(&a);
}
END_TEST

START_TEST(test_write_bad_arguments)
{
    char path[512];
    dc_error err = { 0 };
    fx_path(path, sizeof path, "npy_bad_args.npy");
    const float x[4] = { 0 };
    const int64_t s9[9] = { 1, 1, 1, 1, 1, 1, 1, 1, 1 };
    ck_assert_int_eq(dc_npy_write_f32(path, x, 9, s9, &err), DC_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, path));
    const int64_t neg[2] = { 2, -2 };
    ck_assert_int_eq(dc_npy_write_f32(path, x, 2, neg, &err), DC_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "negative"));
    ck_assert_int_eq(dc_npy_write_f32(path, x, -1, s9, &err), DC_ERR_ARG);
    const int64_t huge[3] = { INT64_MAX, INT64_MAX, 2 };
    ck_assert_int_eq(dc_npy_write_f32(path, x, 3, huge, &err), DC_ERR_ARG);
    const int64_t two[1] = { 2 };
    ck_assert_int_eq(dc_npy_write_f32(path, NULL, 1, two, &err), DC_ERR_ARG);
}
END_TEST

START_TEST(test_write_to_missing_directory)
{
    char path[512];
    dc_error err = { 0 };
    fx_path(path, sizeof path, "no_such_dir_npy/out.npy");
    const float x = 1.0f;
    const int64_t s[1] = { 1 };
    ck_assert_int_eq(dc_npy_write_f32(path, &x, 1, s, &err), DC_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, path));
    ck_assert_int_ne(access(path, F_OK), 0);
}
END_TEST

/* ---- what is at the output path (loaders/outfile.c) ----------------------- */

/* No "<path>.tmp-*" is left in the test directory. */
static void expect_no_tmp(const char *path)
{
    char tmp[1100]; /* room for any path the tests build (fx_path: 1024) */
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
    ck_assert_msg(access(tmp, F_OK) != 0, "%s was left behind", tmp);
}

/* A symlink to a regular file: the target gets the data, the link stays a link (it used to
 * be replaced by a regular file, leaving the target untouched). */
START_TEST(test_write_through_symlink)
{
    char target[512], link[512];
    write_bytes(target, sizeof target, "npy_link_target.npy", "old", 3);
    fx_path(link, sizeof link, "npy_link.npy");
    unlink(link);
    ck_assert_int_eq(symlink(target, link), 0);
    const float x = 7.0f;
    const int64_t s[1] = { 1 };
    dc_error err = { 0 };
    ck_assert_msg(dc_npy_write_f32(link, &x, 1, s, &err) == DC_OK, "%s", err.msg);
    struct stat sb;
    ck_assert_int_eq(lstat(link, &sb), 0);
    ck_assert_msg(S_ISLNK(sb.st_mode), "the symlink was replaced");
    dc_npy a = read_ok(target);
    ck_assert_float_eq(a.data[0], 7.0f);
    dc_npy_free(&a);
    expect_no_tmp(link);
    expect_no_tmp(target);
    /* a dangling link is refused, not replaced */
    char dangling[512], nowhere[512];
    fx_path(dangling, sizeof dangling, "npy_dangling.npy");
    fx_path(nowhere, sizeof nowhere, "npy_nowhere/x.npy");
    unlink(dangling);
    ck_assert_int_eq(symlink(nowhere, dangling), 0);
    ck_assert_int_eq(dc_npy_write_f32(dangling, &x, 1, s, &err), DC_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, dangling));
    ck_assert_ptr_nonnull(strstr(err.msg, "symbolic link"));
    ck_assert_int_eq(lstat(dangling, &sb), 0);
    ck_assert(S_ISLNK(sb.st_mode));
}
END_TEST

/* A FIFO is written in place (what `> fifo` does); it used to be replaced by a file. */
START_TEST(test_write_into_fifo)
{
    char path[512];
    fx_path(path, sizeof path, "npy_fifo.npy");
    unlink(path);
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    int rd = open(path, O_RDONLY | O_NONBLOCK); /* a reader, so the writer's open returns */
    ck_assert_int_ge(rd, 0);
    const float x[3] = { 1.0f, 2.0f, 3.0f };
    const int64_t s[1] = { 3 };
    dc_error err = { 0 };
    ck_assert_msg(dc_npy_write_f32(path, x, 1, s, &err) == DC_OK, "%s", err.msg);
    unsigned char buf[4096];
    ssize_t n = read(rd, buf, sizeof buf);
    close(rd);
    ck_assert_int_eq(n, 128 + 12);
    ck_assert(memcmp(buf, "\x93NUMPY", 6) == 0);
    ck_assert(memcmp(buf + 128, x, 12) == 0);
    struct stat sb;
    ck_assert_int_eq(lstat(path, &sb), 0);
    ck_assert_msg(S_ISFIFO(sb.st_mode), "the FIFO was replaced");
    expect_no_tmp(path);
}
END_TEST

/* A full disk (/dev/full, reached through a link so that nothing in /dev is ever at risk):
 * the error names the reason, the device is not replaced. A directory is refused. */
START_TEST(test_write_full_device_and_directory)
{
    char link[512];
    fx_path(link, sizeof link, "npy_full.npy");
    unlink(link);
    ck_assert_int_eq(symlink("/dev/full", link), 0);
    const float x = 1.0f;
    const int64_t s[1] = { 1 };
    dc_error err = { 0 };
    ck_assert_int_eq(dc_npy_write_f32(link, &x, 1, s, &err), DC_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, link));
    ck_assert_msg(strstr(err.msg, strerror(ENOSPC)) != NULL, "%s", err.msg);
    struct stat sb;
    ck_assert_int_eq(lstat(link, &sb), 0);
    ck_assert(S_ISLNK(sb.st_mode));
    expect_no_tmp(link);
    char dir[512];
    fx_path(dir, sizeof dir, "npy_out_dir.npy");
    mkdir(dir, 0700);
    ck_assert_int_eq(dc_npy_write_f32(dir, &x, 1, s, &err), DC_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "directory"));
    ck_assert_int_eq(stat(dir, &sb), 0);
    ck_assert(S_ISDIR(sb.st_mode));
    expect_no_tmp(dir);
}
END_TEST

/* A read-only directory: the message says why, nothing is left. Root ignores the mode, so
 * this is checked only for other users. */
START_TEST(test_write_read_only_directory)
{
    if (geteuid() == 0)
        return;
    char dir[512], path[600];
    fx_path(dir, sizeof dir, "npy_read_only");
    mkdir(dir, 0700);
    ck_assert_int_eq(chmod(dir, 0500), 0);
    snprintf(path, sizeof path, "%s/out.npy", dir);
    const float x = 1.0f;
    const int64_t s[1] = { 1 };
    dc_error err = { 0 };
    ck_assert_int_eq(dc_npy_write_f32(path, &x, 1, s, &err), DC_ERR_IO);
    chmod(dir, 0700);
    ck_assert_ptr_nonnull(strstr(err.msg, path));
    ck_assert_msg(strstr(err.msg, strerror(EACCES)) != NULL, "%s", err.msg);
    ck_assert_int_ne(access(path, F_OK), 0);
    expect_no_tmp(path);
}
END_TEST

/* ---- bad files ---------------------------------------------------------- */

START_TEST(test_missing_file)
{
    char path[512];
    fx_path(path, sizeof path, "npy_does_not_exist.npy");
    expect_read_error(path, DC_ERR_IO, "cannot open", (char *)NULL);
}
END_TEST

START_TEST(test_empty_file)
{
    char path[512];
    write_bytes(path, sizeof path, "npy_empty.npy", "", 0);
    expect_read_error(path, DC_ERR_FORMAT, "not an NPY file", "empty", (char *)NULL);
}
END_TEST

START_TEST(test_bad_magic)
{
    char path[512];
    const char zip[] = "PK\x03\x04 a zip file, really";
    write_bytes(path, sizeof path, "npy_bad_magic.npy", zip, sizeof zip - 1);
    expect_read_error(path, DC_ERR_FORMAT, "not an NPY file", "magic", (char *)NULL);
    write_bytes(path, sizeof path, "npy_short_magic.npy", "\x93NU", 3);
    expect_read_error(path, DC_ERR_FORMAT, "truncated", (char *)NULL);
}
END_TEST

START_TEST(test_unsupported_version)
{
    char path[512];
    char bytes[NPY_F32_1D_LEN];
    memcpy(bytes, npy_f32_1d, sizeof bytes);
    bytes[6] = 4;
    write_bytes(path, sizeof path, "npy_version4.npy", bytes, sizeof bytes);
    expect_read_error(path, DC_ERR_FORMAT, "unsupported NPY format version 4.0",
                      (char *)NULL);
    bytes[6] = 1;
    bytes[7] = 1;
    write_bytes(path, sizeof path, "npy_version11.npy", bytes, sizeof bytes);
    expect_read_error(path, DC_ERR_FORMAT, "version 1.1", (char *)NULL);
}
END_TEST

START_TEST(test_dtype_float64)
{
    char path[512];
    write_bytes(path, sizeof path, "npy_f64.npy", npy_f64, NPY_F64_LEN);
    expect_read_error(path, DC_ERR_FORMAT, "dtype '<f8' (float64)", "float32 '<f4'",
                      (char *)NULL);
}
END_TEST

START_TEST(test_dtype_big_endian_and_int)
{
    char path[512];
    write_bytes(path, sizeof path, "npy_be.npy", npy_f32_big_endian, NPY_F32_BIG_ENDIAN_LEN);
    expect_read_error(path, DC_ERR_FORMAT, "dtype '>f4' (big-endian float32)", (char *)NULL);
    write_bytes(path, sizeof path, "npy_i64.npy", npy_i64, NPY_I64_LEN);
    expect_read_error(path, DC_ERR_FORMAT, "dtype '<i8' (int64)", (char *)NULL);
    write_npy_with_header(path, sizeof path, "npy_struct.npy",
                          "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }",
                          "\0\0\0\0", 4);
    expect_read_error(path, DC_ERR_FORMAT, "structured", (char *)NULL);
}
END_TEST

START_TEST(test_fortran_order)
{
    char path[512];
    write_bytes(path, sizeof path, "npy_fortran.npy", npy_fortran, NPY_FORTRAN_LEN);
    expect_read_error(path, DC_ERR_FORMAT, "fortran_order is True", (char *)NULL);
}
END_TEST

/* Headers that are not the dict NumPy writes, each with a word its message must hold. */
START_TEST(test_bad_headers)
{
    static const struct {
        const char *dict, *word;
    } cases[] = {
        { "[1, 2, 3]", "must be a dict" },
        { "", "must be a dict" },
        { "{'descr': '<f4', 'fortran_order': False}", "lacks the key 'shape'" },
        { "{'shape': (1,), 'fortran_order': False}", "lacks the key 'descr'" },
        { "{'descr': '<f4', 'shape': (1,)}", "lacks the key 'fortran_order'" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}",
          "unexpected key 'extra'" },
        { "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}",
          "key 'descr' twice" },
        { "{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}", "expected ',' or '}'" },
        { "{'descr' '<f4', 'fortran_order': False, 'shape': (1,)}", "expected ':'" },
        { "{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}", "',' or '}'" },
        { "{'descr': '<f4', 'fortran_order': false, 'shape': (1,)}", "True or False" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (1)}", "not a tuple" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': [1]}", "'(' opening" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (1, -2)}", "negative" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (1, x)}", "a dimension" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (1 2)}", "',' or ')'" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x", "only padding" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", "',' or '}'" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1)}",
          "more than 8 dimensions" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}",
          "too large for 64 bits" },
        { "{'descr': 'a very long string, longer than any dtype code', 'fortran_order': "
          "False, 'shape': (1,)}", "short string" },
    };
    char path[512];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_npy_with_header(path, sizeof path, "npy_bad_header.npy", cases[i].dict,
                              "\0\0\0\0", 4);
        expect_read_error(path, DC_ERR_FORMAT, "NPY", cases[i].word, (char *)NULL);
    }
}
END_TEST

/* Spellings of the dict that Python (and so NumPy) accepts. */
START_TEST(test_flexible_headers)
{
    static const char *dicts[] = {
        "{'shape': (2, 1), 'fortran_order': False, 'descr': '<f4'}",
        "{\"descr\":\"<f4\",\"fortran_order\":False,\"shape\":(2,1)}",
        "{ 'descr' : '<f4' ,\t'fortran_order' : False , 'shape' : ( 2 , 1 , ) , }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 1L), }",
    };
    const float data[2] = { 3.0f, -4.0f };
    char path[512];
    for (size_t i = 0; i < sizeof dicts / sizeof dicts[0]; i++) {
        write_npy_with_header(path, sizeof path, "npy_flexible.npy", dicts[i], data,
                              sizeof data);
        dc_npy a = read_ok(path);
        ck_assert_int_eq(a.ndim, 2);
        ck_assert_int_eq(a.shape[0], 2);
        ck_assert_int_eq(a.shape[1], 1);
        ck_assert_float_eq(a.data[1], -4.0f);
        dc_npy_free(&a);
    }
}
END_TEST

START_TEST(test_truncated_data)
{
    char path[512];
    write_bytes(path, sizeof path, "npy_trunc_data.npy", npy_f32_2x3, NPY_F32_2X3_LEN - 5);
    expect_read_error(path, DC_ERR_FORMAT, "truncated: expected 24 bytes of data, found 19",
                      (char *)NULL);
    write_bytes(path, sizeof path, "npy_trunc_data.npy", npy_f32_2x3, NPY_F32_2X3_LEN - 24);
    expect_read_error(path, DC_ERR_FORMAT, "expected 24 bytes of data, found 0", (char *)NULL);
}
END_TEST

START_TEST(test_truncated_header)
{
    char path[512];
    write_bytes(path, sizeof path, "npy_trunc_header.npy", npy_f32_2x3, 40);
    expect_read_error(path, DC_ERR_FORMAT, "truncated NPY header", (char *)NULL);
    write_bytes(path, sizeof path, "npy_trunc_header.npy", npy_f32_2x3, 9);
    expect_read_error(path, DC_ERR_FORMAT, "truncated NPY preamble", (char *)NULL);
}
END_TEST

START_TEST(test_trailing_bytes_are_ignored)
{
    char path[512];
    char bytes[NPY_F32_1D_LEN + 7];
    memcpy(bytes, npy_f32_1d, NPY_F32_1D_LEN);
    memcpy(bytes + NPY_F32_1D_LEN, "garbage", 7);
    write_bytes(path, sizeof path, "npy_trailing.npy", bytes, sizeof bytes);
    dc_npy a = read_ok(path);
    ck_assert_uint_eq(a.count, 3);
    ck_assert_float_eq(a.data[2], 3.25f);
    dc_npy_free(&a);
}
END_TEST

START_TEST(test_huge_shapes)
{
    char path[512];
    /* the element count overflows 64 bits */
    write_npy_with_header(path, sizeof path, "npy_huge.npy",
                          "{'descr': '<f4', 'fortran_order': False, "
                          "'shape': (4294967296, 4294967296, 16), }", "\0\0\0\0", 4);
    expect_read_error(path, DC_ERR_FORMAT, "too large", "overflows", (char *)NULL);
    /* the byte count overflows although the element count does not */
    write_npy_with_header(path, sizeof path, "npy_huge.npy",
                          "{'descr': '<f4', 'fortran_order': False, "
                          "'shape': (4611686018427387904,), }", "\0\0\0\0", 4);
    expect_read_error(path, DC_ERR_FORMAT, "overflows", (char *)NULL);
    /* representable, but far larger than the file: refused before any allocation */
    write_npy_with_header(path, sizeof path, "npy_huge.npy",
                          "{'descr': '<f4', 'fortran_order': False, "
                          "'shape': (1000000, 1000000), }", "\0\0\0\0", 4);
    expect_read_error(path, DC_ERR_FORMAT, "truncated: expected 4000000000000 bytes of data, "
                      "found 4", (char *)NULL);
    /* a zero dimension makes any shape empty */
    write_npy_with_header(path, sizeof path, "npy_huge.npy",
                          "{'descr': '<f4', 'fortran_order': False, "
                          "'shape': (4294967296, 0, 4294967296), }", NULL, 0);
    dc_npy a = read_ok(path);
    ck_assert_uint_eq(a.count, 0);
    dc_npy_free(&a);
}
END_TEST

/* Read from a pipe, whose size is unknown: a header claiming 96 GB used to be allocated
 * at once; now the buffer grows with the bytes that arrive, and the short stream is
 * reported as truncated. */
START_TEST(test_huge_shape_from_pipe)
{
    char file[512], fifo[512];
    write_npy_with_header(file, sizeof file, "npy_pipe_src.npy",
                          "{'descr': '<f4', 'fortran_order': False, "
                          "'shape': (24000000000,), }", "\0\0\0\0\0\0\0\0", 8);
    fx_path(fifo, sizeof fifo, "npy_pipe.npy");
    unlink(fifo);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) { /* the writer: the file's bytes into the FIFO */
        FILE *in = fopen(file, "rb"), *out = fopen(fifo, "wb");
        char buf[4096];
        size_t n;
        while (in && out && (n = fread(buf, 1, sizeof buf, in)) > 0)
            fwrite(buf, 1, n, out);
        if (out)
            fclose(out); /* _exit does not flush */
        _exit(0);
    }
    expect_read_error(fifo, DC_ERR_FORMAT, "truncated: expected 96000000000 bytes of data, "
                      "found 8", (char *)NULL);
    int status;
    waitpid(child, &status, 0);
    unlink(fifo);
}
END_TEST

START_TEST(test_huge_header_length)
{
    char path[512];
    unsigned char bytes[16] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 0xff, 0xff, 0xff, 0x7f };
    write_bytes(path, sizeof path, "npy_huge_header.npy", bytes, sizeof bytes);
    expect_read_error(path, DC_ERR_FORMAT, "header length", "implausibly large", (char *)NULL);
}
END_TEST

START_TEST(test_directory_is_not_a_file)
{
    expect_read_error(fx_tmpdir(), DC_ERR_IO, "cannot read", (char *)NULL);
}
END_TEST

static Suite *npy_suite(void)
{
    Suite *s = suite_create("npy");
    TCase *numpy = fx_tcase(s, "numpy files", 0);
    tcase_add_test(numpy, test_read_numpy_1d);
    tcase_add_test(numpy, test_read_numpy_2x3);
    tcase_add_test(numpy, test_read_numpy_scalar);
    tcase_add_test(numpy, test_read_numpy_empty_array);
    tcase_add_test(numpy, test_read_numpy_4d_special_values);
    tcase_add_test(numpy, test_read_numpy_versions_2_and_3);

    TCase *write = fx_tcase(s, "writing", 0);
    tcase_add_test(write, test_write_matches_numpy_bytes);
    tcase_add_test(write, test_round_trip_shapes);
    tcase_add_test(write, test_write_replaces_existing_file);
    tcase_add_test(write, test_write_bad_arguments);
    tcase_add_test(write, test_write_to_missing_directory);
    tcase_add_test(write, test_write_through_symlink);
    tcase_add_test(write, test_write_into_fifo);
    tcase_add_test(write, test_write_full_device_and_directory);
    tcase_add_test(write, test_write_read_only_directory);

    TCase *bad = fx_tcase(s, "bad files", 0);
    tcase_add_test(bad, test_missing_file);
    tcase_add_test(bad, test_empty_file);
    tcase_add_test(bad, test_bad_magic);
    tcase_add_test(bad, test_unsupported_version);
    tcase_add_test(bad, test_dtype_float64);
    tcase_add_test(bad, test_dtype_big_endian_and_int);
    tcase_add_test(bad, test_fortran_order);
    tcase_add_test(bad, test_bad_headers);
    tcase_add_test(bad, test_flexible_headers);
    tcase_add_test(bad, test_truncated_data);
    tcase_add_test(bad, test_truncated_header);
    tcase_add_test(bad, test_trailing_bytes_are_ignored);
    tcase_add_test(bad, test_huge_shapes);
    tcase_add_test(bad, test_huge_header_length);
    tcase_add_test(bad, test_huge_shape_from_pipe);
    tcase_add_test(bad, test_directory_is_not_a_file);
    return s;
}

FX_MAIN(npy_suite)
