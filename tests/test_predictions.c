/*
 * test_predictions.c — the prediction cache (cascade/predictions.c) on good and broken files.
 * A good cache is written with dc_predictions_save, then one attribute or dataset is
 * replaced here with the HDF5 C API: too many values, the wrong type class, sizes that the
 * file cannot hold, values that are not predictions. Every broken file must be refused with
 * DC_ERR_FORMAT and a message naming the file, never read past a buffer or allocate what a
 * header claims.
 */
#include "cascade/predictions.h"
#include "fixtures.h"

#include <check.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 6
#define K 4

static dc_predictions_key test_key(void)
{
    dc_predictions_key k = { .weights_checksum = 0x1234abcdull, .train = false, .first = 0,
                             .count = N };
    snprintf(k.dataset, sizeof k.dataset, "/data/somewhere");
    return k;
}

/* Writes a good cache of N samples and K classes, with logits, to name; returns its path. */
static char *write_good(char *path, size_t cap, const char *name)
{
    static int label[N], pred[N];
    static float score[3][N], logits[N * K];
    dc_predictions p = { .n = N, .num_classes = K, .macs = 1000, .label = label,
                         .pred = pred, .logits = logits };
    snprintf(p.arch, sizeof p.arch, "resnet20");
    for (int i = 0; i < N; i++) {
        label[i] = i % K;
        pred[i] = (i + 1) % K;
        for (int k = 0; k < 3; k++)
            score[k][i] = 0.1f * (float)(k + i);
        for (int c = 0; c < K; c++)
            logits[i * K + c] = (float)(c - i);
    }
    for (int k = 0; k < 3; k++)
        p.score[k] = score[k];
    dc_predictions_key key = test_key();
    dc_error err;
    fx_path(path, cap, name);
    ck_assert_msg(dc_predictions_save(path, &p, &key, &err) == DC_OK, "%s", err.msg);
    return path;
}

/* Replaces attribute name of the file's root with n values (n = 0: a scalar) of type. */
static void replace_attr(const char *path, const char *name, hid_t type, hsize_t n,
                         const void *v)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    ck_assert_int_ge(H5Adelete(f, name), 0);
    hid_t sp = n == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, NULL);
    hid_t a = H5Acreate2(f, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(a, 0);
    ck_assert_int_ge(H5Awrite(a, type, v), 0);
    H5Aclose(a);
    H5Sclose(sp);
    H5Fclose(f);
}

/* Replaces dataset name with n values of type (written from v, or left unwritten and
 * chunked when v is NULL: a dataset that declares values it never stored). */
static void replace_array(const char *path, const char *name, hid_t type, hsize_t n,
                          const void *v)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    ck_assert_int_ge(H5Ldelete(f, name, H5P_DEFAULT), 0);
    hid_t sp = H5Screate_simple(1, &n, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (!v) {
        hsize_t chunk = n < 1024 ? n : 1024;
        H5Pset_chunk(dcpl, 1, &chunk);
    }
    hid_t d = H5Dcreate2(f, name, type, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    ck_assert_int_ge(d, 0);
    if (v)
        ck_assert_int_ge(H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(sp);
    H5Fclose(f);
}

/* Loads path (with logits) and expects code, the file and frag in the message. */
static void expect_load(const char *path, dc_status code, const char *frag)
{
    dc_predictions_key key = test_key();
    dc_predictions p;
    dc_error err = { 0 };
    dc_status st = dc_predictions_load(path, &key, true, &p, &err);
    ck_assert_msg(st == code, "%s: got %s (%s), wanted %s", path, dc_status_name(st), err.msg,
                  dc_status_name(code));
    if (st == DC_OK) {
        ck_assert_int_eq(p.n, N);
        ck_assert_int_eq(p.num_classes, K);
        ck_assert_int_eq(p.pred[2], 3);
        ck_assert_float_eq(p.logits[1 * K + 3], 2.0f);
        dc_predictions_free(&p);
        return;
    }
    ck_assert_ptr_null(p.label);
    ck_assert_ptr_null(p.logits);
    ck_assert_msg(strstr(err.msg, path) != NULL, "message does not name the file: %s",
                  err.msg);
    if (frag)
        ck_assert_msg(strstr(err.msg, frag) != NULL, "'%s' not in: %s", frag, err.msg);
}

START_TEST(test_good_cache_round_trip)
{
    char path[512];
    expect_load(write_good(path, sizeof path, "pc_good.h5"), DC_OK, NULL);
}
END_TEST

/* Each one-value attribute given 100 values: read into one int, this overran the stack. */
START_TEST(test_attribute_with_100_values)
{
    static const char *const names[] = { "format_version", "count", "num_classes", "train",
                                         "first" };
    long long many[100];
    for (int i = 0; i < 100; i++)
        many[i] = 3;
    char path[512];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        write_good(path, sizeof path, "pc_many.h5");
        replace_attr(path, names[i], H5T_NATIVE_INT, 100, many);
        expect_load(path, DC_ERR_FORMAT, names[i]);
    }
    write_good(path, sizeof path, "pc_many.h5");
    replace_attr(path, "macs", H5T_NATIVE_LLONG, 100, many);
    expect_load(path, DC_ERR_FORMAT, "macs");
    write_good(path, sizeof path, "pc_many.h5");
    replace_attr(path, "weights_checksum", H5T_NATIVE_ULLONG, 100, many);
    expect_load(path, DC_ERR_FORMAT, "weights_checksum");
}
END_TEST

/* dataset and arch as arrays of strings: read into one char *, this overran the stack. */
START_TEST(test_string_attribute_array)
{
    const char *strs[3] = { "a", "b", "c" };
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    char path[512];
    write_good(path, sizeof path, "pc_strings.h5");
    replace_attr(path, "dataset", t, 3, strs);
    expect_load(path, DC_ERR_FORMAT, "'dataset'");
    write_good(path, sizeof path, "pc_strings.h5");
    replace_attr(path, "arch", t, 3, strs);
    expect_load(path, DC_ERR_FORMAT, "'arch'");
    H5Tclose(t);
    /* an integer where a string belongs, and a string where an integer belongs */
    int one = 1;
    write_good(path, sizeof path, "pc_strings.h5");
    replace_attr(path, "arch", H5T_NATIVE_INT, 0, &one);
    expect_load(path, DC_ERR_FORMAT, "'arch'");
    t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    write_good(path, sizeof path, "pc_strings.h5");
    replace_attr(path, "count", t, 0, &strs[0]);
    expect_load(path, DC_ERR_FORMAT, "'count'");
    H5Tclose(t);
}
END_TEST

/* format_version 1.9 as a float converted to int reads 1 ("stale"): it is corrupt. */
START_TEST(test_float_format_version)
{
    char path[512];
    double v = 3.9;
    write_good(path, sizeof path, "pc_version.h5");
    replace_attr(path, "format_version", H5T_NATIVE_DOUBLE, 0, &v);
    expect_load(path, DC_ERR_FORMAT, "format_version");
}
END_TEST

/* num_classes 2^31-1 asked for 257 GB of logits before any dataset was looked at. */
START_TEST(test_huge_num_classes)
{
    char path[512];
    int huge = 2147483647;
    write_good(path, sizeof path, "pc_classes.h5");
    replace_attr(path, "num_classes", H5T_NATIVE_INT, 0, &huge);
    expect_load(path, DC_ERR_FORMAT, "num_classes");
    /* within the limit, but the logits dataset does not hold N x 50000 values */
    int big = 50000;
    write_good(path, sizeof path, "pc_classes.h5");
    replace_attr(path, "num_classes", H5T_NATIVE_INT, 0, &big);
    expect_load(path, DC_ERR_FORMAT, "logits");
}
END_TEST

/* A dataset that declares values it never stored (chunked, nothing written). */
START_TEST(test_unstored_dataset)
{
    char path[512];
    write_good(path, sizeof path, "pc_unstored.h5");
    replace_array(path, "logits", H5T_NATIVE_FLOAT, N * K, NULL);
    expect_load(path, DC_ERR_FORMAT, "logits");
}
END_TEST

START_TEST(test_float_labels)
{
    char path[512];
    float labels[N] = { 0, 1, 2, 3, 0, 1 };
    write_good(path, sizeof path, "pc_float_labels.h5");
    replace_array(path, "label", H5T_NATIVE_FLOAT, N, labels);
    expect_load(path, DC_ERR_FORMAT, "'label'");
}
END_TEST

START_TEST(test_nan_logits_and_bad_scores)
{
    char path[512];
    float logits[N * K] = { 0 };
    logits[7] = NAN;
    write_good(path, sizeof path, "pc_nan.h5");
    replace_array(path, "logits", H5T_NATIVE_FLOAT, N * K, logits);
    expect_load(path, DC_ERR_FORMAT, "logit 7");
    float scores[N] = { 0.5f, 0.5f, -0.25f, 0.5f, 0.5f, 0.5f };
    write_good(path, sizeof path, "pc_neg.h5");
    replace_array(path, "difference", H5T_NATIVE_FLOAT, N, scores);
    expect_load(path, DC_ERR_FORMAT, "difference");
    scores[2] = NAN;
    write_good(path, sizeof path, "pc_nan_score.h5");
    replace_array(path, "entropy", H5T_NATIVE_FLOAT, N, scores);
    expect_load(path, DC_ERR_FORMAT, "entropy");
    int labels[N] = { 0, 1, 2, 3, 4, 1 }; /* 4 is not a class of K = 4 */
    write_good(path, sizeof path, "pc_label_range.h5");
    replace_array(path, "label", H5T_NATIVE_INT, N, labels);
    expect_load(path, DC_ERR_FORMAT, "label 4");
}
END_TEST

/* The weights' checksum (the cache key): the same bytes the same sum; any one byte
 * changed, at the start, inside a 64 KiB read, across a read boundary or in the bytes past
 * the last whole word, a different one; a missing file an error naming it. */
static uint64_t checksum_of(const char *path, const unsigned char *bytes, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(bytes, 1, n, f), n);
    fclose(f);
    uint64_t h;
    dc_error err;
    ck_assert_msg(dc_file_checksum(path, &h, &err) == DC_OK, "%s", err.msg);
    return h;
}

START_TEST(test_file_checksum)
{
    enum { BYTES = (1 << 16) + 21 }; /* one full read, then 2 words and 5 bytes */
    unsigned char *b = malloc(BYTES);
    for (size_t i = 0; i < BYTES; i++)
        b[i] = (unsigned char)(i * 131u + 7u);
    char path[512];
    fx_path(path, sizeof path, "checksum.bin");
    const uint64_t base = checksum_of(path, b, BYTES);
    ck_assert_uint_eq(checksum_of(path, b, BYTES), base);
    const size_t at[] = { 0, 7, 8, 1000, (1 << 16) - 1, 1 << 16, BYTES - 5, BYTES - 1 };
    for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
        b[at[k]] ^= 0x10;
        ck_assert_msg(checksum_of(path, b, BYTES) != base, "byte %zu", at[k]);
        b[at[k]] ^= 0x10;
    }
    ck_assert_uint_ne(checksum_of(path, b, BYTES - 1), base); /* a byte shorter */
    ck_assert_uint_ne(checksum_of(path, b, 0), checksum_of(path, b, 1));
    free(b);
    remove(path);
    uint64_t h;
    dc_error err;
    ck_assert_int_eq(dc_file_checksum(path, &h, &err), DC_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "checksum.bin"));
}
END_TEST

static Suite *predictions_suite(void)
{
    Suite *s = suite_create("predictions");
    TCase *tc = fx_tcase(s, "predictions", 60);
    tcase_add_test(tc, test_good_cache_round_trip);
    tcase_add_test(tc, test_attribute_with_100_values);
    tcase_add_test(tc, test_string_attribute_array);
    tcase_add_test(tc, test_float_format_version);
    tcase_add_test(tc, test_huge_num_classes);
    tcase_add_test(tc, test_unstored_dataset);
    tcase_add_test(tc, test_float_labels);
    tcase_add_test(tc, test_nan_logits_and_bad_scores);
    tcase_add_test(tc, test_file_checksum);
    return s;
}

int main(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    return fx_run(predictions_suite());
}
