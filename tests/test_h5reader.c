/*
 * test_h5reader.c — the HDF5 quarantine (loaders/h5reader.c, h5snapshot*.c).
 *
 * The same file read in quarantine and in process gives the same snapshot; a helper that
 * crashes, hangs, fails or returns garbage is reported as a damaged or hostile file, within
 * the time limit; a snapshot with any byte flipped is refused or read safely (the parent
 * trusts nothing the helper wrote); and a real libhdf5 crash (a corrupt global heap, which
 * makes Debian's libhdf5 1.10.8 segfault in H5HG_read) is contained.
 */
#include "cascade/predictions.h"
#include "fixtures.h"
#include "loaders/h5reader.h"
#include "loaders/h5snapshot_build.h"
#include "loaders/weights.h"

#include <check.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* A small file with one of everything the snapshot carries. */
static char *write_sample(char *path, size_t cap, const char *name)
{
    fx_path(path, cap, name);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    hid_t scalar = H5Screate(H5S_SCALAR);
    int one = 7;
    hid_t a = H5Acreate2(f, "format_version", H5T_NATIVE_INT, scalar, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_INT, &one);
    H5Aclose(a);
    hsize_t three = 3;
    hid_t sp3 = H5Screate_simple(1, &three, NULL);
    float mean[3] = { 0.5f, -1.25f, 3.0f };
    a = H5Acreate2(f, "mean", H5T_NATIVE_FLOAT, sp3, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_FLOAT, mean);
    H5Aclose(a);
    const char *names[3] = { "cat", "", "dog with a long name" };
    hid_t vstr = H5Tcopy(H5T_C_S1);
    H5Tset_size(vstr, H5T_VARIABLE);
    a = H5Acreate2(f, "class_names", vstr, sp3, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, vstr, names);
    H5Aclose(a);
    H5Tclose(vstr);
    hid_t fstr = H5Tcopy(H5T_C_S1);
    H5Tset_size(fstr, 8);
    a = H5Acreate2(f, "arch", fstr, scalar, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, fstr, "resnet20");
    H5Aclose(a);
    H5Tclose(fstr);

    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hsize_t d23[2] = { 2, 3 };
    hid_t sp23 = H5Screate_simple(2, d23, NULL);
    float w[6] = { 1, 2, 3, 4, 5, 6.5f };
    hid_t d = H5Dcreate2(f, "a/b", H5T_IEEE_F32LE, sp23, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, w);
    H5Dclose(d);
    signed char bytes[3] = { -3, 0, 100 };
    d = H5Dcreate2(f, "c", H5T_STD_I8LE, sp3, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d, H5T_NATIVE_SCHAR, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes);
    H5Dclose(d);
    unsigned long long big = 0xfedcba9876543210ull;
    d = H5Dcreate2(f, "e", H5T_STD_U64LE, scalar, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d, H5T_NATIVE_ULLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, &big);
    H5Dclose(d);
    H5Lcreate_soft("/a/b", f, "s", H5P_DEFAULT, H5P_DEFAULT);
    H5Lcreate_hard(f, "c", f, "h", H5P_DEFAULT, H5P_DEFAULT);
    H5Pclose(lcpl);
    H5Sclose(sp23);
    H5Sclose(sp3);
    H5Sclose(scalar);
    H5Fclose(f);
    return path;
}

static dc_h5snap *read_mode(const char *path, dc_h5_reader_mode mode)
{
    dc_h5_set_reader_mode(mode);
    dc_h5snap *s = NULL;
    dc_error err = { 0 };
    dc_status st = dc_h5_read_file(path, &s, &err);
    dc_h5_set_reader_mode(DC_H5_READER_DEFAULT);
    ck_assert_msg(st == DC_OK, "%s", err.msg);
    return s;
}

START_TEST(test_quarantine_equals_in_process)
{
    char path[512];
    write_sample(path, sizeof path, "h5r_sample.h5");
    dc_h5snap *q = read_mode(path, DC_H5_READER_QUARANTINE);
    dc_h5snap *p = read_mode(path, DC_H5_READER_IN_PROCESS);
    ck_assert_int_eq(dc_h5snap_count(q), dc_h5snap_count(p));
    ck_assert_int_eq(dc_h5snap_count(q), 4 + 3 + 2); /* attributes, datasets, links */
    for (int i = 0; i < dc_h5snap_count(q); i++) {
        const dc_h5snap_item *a = dc_h5snap_item_at(q, i), *b = dc_h5snap_item_at(p, i);
        ck_assert_str_eq(a->name, b->name);
        ck_assert_int_eq(a->kind, b->kind);
        ck_assert_int_eq(a->cls, b->cls);
        ck_assert_int_eq(a->count, b->count);
        ck_assert_int_eq(a->data_bytes, b->data_bytes);
        ck_assert(a->data_bytes == 0 || memcmp(a->data, b->data, a->data_bytes) == 0);
    }
    /* the values themselves, against what was written */
    const dc_h5snap_item *it = dc_h5snap_find(q, "/a/b", NULL);
    ck_assert_ptr_nonnull(it);
    ck_assert_int_eq(it->ndim, 2);
    ck_assert_int_eq(it->dims[1], 3);
    ck_assert_float_eq(((const float *)it->data)[5], 6.5f);
    it = dc_h5snap_find(q, "/c", NULL);
    ck_assert_int_eq(it->cls, DC_H5SNAP_INT);
    ck_assert_int_eq(it->elem_size, 1);
    ck_assert_int_eq(((const int64_t *)it->data)[0], -3);
    it = dc_h5snap_find(q, "/e", NULL);
    ck_assert_int_eq(it->cls, DC_H5SNAP_UINT);
    ck_assert(((const uint64_t *)it->data)[0] == 0xfedcba9876543210ull);
    it = dc_h5snap_find(q, "/s", NULL);
    ck_assert_int_eq(it->kind, DC_H5SNAP_LINK);
    ck_assert_str_eq(it->note, "a soft link");
    it = dc_h5snap_find(q, "/h", NULL); /* "c" comes first by name: "h" is its second name */
    ck_assert_int_eq(it->kind, DC_H5SNAP_LINK);
    ck_assert_ptr_nonnull(strstr(it->note, "hard link"));
    it = dc_h5snap_attr(q, "class_names");
    ck_assert_int_eq(it->count, 3);
    ck_assert_str_eq(dc_h5snap_string(it, 1), "");
    ck_assert_str_eq(dc_h5snap_string(it, 2), "dog with a long name");
    ck_assert_str_eq(dc_h5snap_attr(q, "arch")->data, "resnet20");
    ck_assert_float_eq(((const float *)dc_h5snap_attr(q, "mean")->data)[1], -1.25f);
    dc_h5snap_free(q);
    dc_h5snap_free(p);
}
END_TEST

/* Writes an executable shell script standing in for the helper, and points
 * DUALCNN_H5_HELPER at it (each Check test runs in its own process). */
static void fake_helper(const char *name, const char *body)
{
    char path[512];
    fx_path(path, sizeof path, name);
    char text[512];
    snprintf(text, sizeof text, "#!/bin/sh\n%s\n", body);
    ck_assert_int_eq(fx_write_file(path, text, strlen(text)), 0);
    ck_assert_int_eq(chmod(path, 0755), 0);
    setenv("DUALCNN_H5_HELPER", path, 1);
}

static double seconds_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Reads path in quarantine and expects DC_ERR_FORMAT with the file and frag named. */
static void expect_refused(const char *path, const char *frag)
{
    dc_h5snap *s = NULL;
    dc_error err = { 0 };
    dc_status st = dc_h5_read_file(path, &s, &err);
    ck_assert_msg(st == DC_ERR_FORMAT, "got %d: %s", (int)st, err.msg);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(err.msg, path) != NULL, "file not named: %s", err.msg);
    ck_assert_msg(strstr(err.msg, frag) != NULL, "'%s' not in: %s", frag, err.msg);
}

START_TEST(test_helper_killed_by_a_signal)
{
    char path[512];
    write_sample(path, sizeof path, "h5r_sig.h5");
    fake_helper("h5r_segv.sh", "kill -SEGV $$");
    expect_refused(path, "damaged or hostile HDF5 file (the HDF5 library crashed reading it");
    expect_refused(path, "signal 11");
}
END_TEST

START_TEST(test_helper_past_the_time_limit)
{
    char path[512];
    write_sample(path, sizeof path, "h5r_hang.h5");
    fake_helper("h5r_hang.sh", "exec sleep 30");
    setenv("DUALCNN_H5_TIMEOUT", "0.3", 1);
    double t0 = seconds_now();
    expect_refused(path, "damaged or hostile HDF5 file (the HDF5 library did not finish");
    ck_assert_double_lt(seconds_now() - t0, 5.0);
}
END_TEST

START_TEST(test_helper_error_exit_and_garbage)
{
    char path[512];
    write_sample(path, sizeof path, "h5r_exit.h5");
    fake_helper("h5r_exit.sh", "exit 3");
    expect_refused(path, "exited with status 3");
    fake_helper("h5r_nothing.sh", "exit 0");
    expect_refused(path, "returned nothing");
    fake_helper("h5r_garbage.sh", "head -c 5000 /dev/urandom >&3");
    expect_refused(path, "snapshot");
    /* a well-formed header claiming more than was written */
    fake_helper("h5r_short.sh", "printf 'DCH5SNP1\\377\\377\\377\\377\\0\\0\\0\\0' >&3; "
                                "head -c 100 /dev/zero >&3");
    expect_refused(path, "malformed");
}
END_TEST

START_TEST(test_missing_helper)
{
    char path[512];
    write_sample(path, sizeof path, "h5r_missing.h5");
    setenv("DUALCNN_H5_HELPER", "/nonexistent/dualcnn-h5read", 1);
    dc_h5snap *s = NULL;
    dc_error err = { 0 };
    ck_assert_int_eq(dc_h5_read_file(path, &s, &err), DC_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "DUALCNN_H5_HELPER"));
    ck_assert_ptr_nonnull(strstr(err.msg, path));
    /* in-process mode needs no helper */
    setenv("DUALCNN_H5_READER", "in-process", 1);
    ck_assert_int_eq(dc_h5_read_file(path, &s, &err), DC_OK);
    dc_h5snap_free(s);
}
END_TEST

static void *heap_block(size_t size, void *arg)
{
    void **slot = arg;
    free(*slot);
    return *slot = malloc(size);
}

/* Walks everything a parsed snapshot offers, as a loader would. */
static void touch_all(const dc_h5snap *s)
{
    volatile unsigned sink = 0;
    for (int i = 0; i < dc_h5snap_count(s); i++) {
        const dc_h5snap_item *it = dc_h5snap_item_at(s, i);
        sink += (unsigned)strlen(it->name) + (unsigned)strlen(it->note);
        const unsigned char *d = it->data;
        for (uint64_t b = 0; d && b < it->data_bytes; b++)
            sink += d[b];
        for (uint64_t k = 0; it->cls == DC_H5SNAP_STRING && it->data && k < it->count; k++)
            sink += (unsigned)strlen(dc_h5snap_string(it, k));
        ck_assert(dc_h5snap_find(s, it->name, NULL) != NULL || it->kind == DC_H5SNAP_ATTR);
    }
    (void)sink;
}

/* Every byte of a good snapshot flipped in turn: each result is refused or parses into
 * items whose every name and value lies inside the block (AddressSanitizer watches). */
START_TEST(test_every_byte_of_a_snapshot_flipped)
{
    char path[512];
    write_sample(path, sizeof path, "h5r_flip.h5");
    void *good = NULL;
    size_t size = 0;
    dc_error err = { 0 };
    ck_assert_msg(dc_h5snap_build(path, 0, heap_block, &good, &size, &err) == DC_OK, "%s",
                  err.msg);
    int refused = 0;
    for (size_t i = 0; i < size; i++) {
        unsigned char *copy = malloc(size);
        memcpy(copy, good, size);
        copy[i] ^= 0xff;
        dc_h5snap *s = NULL;
        if (dc_h5snap_parse(path, copy, size, NULL, NULL, &s, &err) == DC_OK) {
            touch_all(s);
            dc_h5snap_free(s);
        } else {
            refused++;
            ck_assert_ptr_nonnull(strstr(err.msg, path));
        }
        free(copy);
    }
    /* the header and the records are checked: flips there must be caught */
    ck_assert_int_gt(refused, (int)(sizeof(dc_h5snap_header) / 2));
    /* cut short anywhere: always refused */
    for (size_t cut = 0; cut < size; cut += 8) {
        dc_h5snap *s = NULL;
        ck_assert_int_ne(dc_h5snap_parse(path, good, cut, NULL, NULL, &s, &err), DC_OK);
    }
    free(good);
}
END_TEST

/* The first object of the file's global heap (where variable-length strings live) given a
 * size of 2^40: Debian's libhdf5 1.10.8 copies that much in H5HG_read and segfaults. Read in
 * quarantine, the file is refused and this process goes on. */
static void corrupt_global_heap(const char *path)
{
    FILE *f = fopen(path, "r+b");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    unsigned char *buf = malloc((size_t)n);
    fseek(f, 0, SEEK_SET);
    ck_assert_int_eq(fread(buf, 1, (size_t)n, f), n);
    long at = -1;
    for (long i = 0; i + 4 <= n; i++)
        if (memcmp(buf + i, "GCOL", 4) == 0)
            at = i;
    ck_assert_msg(at >= 0, "%s has no global heap", path);
    /* collection header: "GCOL", version, 3 reserved, size (8); then object 1: index (2),
     * reference count (2), reserved (4), size (8) */
    uint64_t huge = (uint64_t)1 << 40;
    fseek(f, at + 16 + 8, SEEK_SET);
    ck_assert_int_eq(fwrite(&huge, 8, 1, f), 1);
    fclose(f);
    free(buf);
}

START_TEST(test_libhdf5_crash_contained)
{
    char path[512];
    write_sample(path, sizeof path, "h5r_gcol.h5");
    corrupt_global_heap(path);
    dc_h5snap *s = NULL;
    dc_error err = { 0 };
    ck_assert_int_eq(dc_h5_read_file(path, &s, &err), DC_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, path));
    fprintf(stderr, "test_libhdf5_crash_contained: %s\n", err.msg);
    /* the weight loader and the cache loader say so too */
    dc_weights *w = NULL;
    ck_assert_int_eq(dc_weights_open(path, &w, &err), DC_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, path));

    int label[2] = { 0, 1 }, pred[2] = { 1, 1 };
    float sc[3][2] = { { 0.5f, 0.6f }, { 0.1f, 0.2f }, { 0.3f, 0.4f } };
    dc_predictions p = { .n = 2, .num_classes = 2, .macs = 10, .label = label, .pred = pred,
                         .score = { sc[0], sc[1], sc[2] } };
    snprintf(p.arch, sizeof p.arch, "resnet20");
    dc_predictions_key key = { .weights_checksum = 1, .count = 2 };
    snprintf(key.dataset, sizeof key.dataset, "/some/data");
    fx_path(path, sizeof path, "h5r_gcol_cache.h5");
    ck_assert_int_eq(dc_predictions_save(path, &p, &key, &err), DC_OK);
    dc_predictions back;
    ck_assert_int_eq(dc_predictions_load(path, &key, false, &back, &err), DC_OK);
    dc_predictions_free(&back);
    corrupt_global_heap(path);
    ck_assert_int_eq(dc_predictions_load(path, &key, false, &back, &err), DC_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "corrupt prediction cache"));
    ck_assert_ptr_nonnull(strstr(err.msg, path));
}
END_TEST

/* Data kept in an external raw file (H5Pset_external) is refused, not followed. */
START_TEST(test_external_storage_refused)
{
    char path[512], raw[512];
    fx_path(path, sizeof path, "h5r_external.h5");
    fx_path(raw, sizeof raw, "h5r_external.raw");
    float zeros[4] = { 0 };
    ck_assert_int_eq(fx_write_file(raw, zeros, sizeof zeros), 0);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t pl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_external(pl, raw, 0, sizeof zeros);
    hsize_t four = 4;
    hid_t sp = H5Screate_simple(1, &four, NULL);
    hid_t d = H5Dcreate2(f, "w", H5T_NATIVE_FLOAT, sp, H5P_DEFAULT, pl, H5P_DEFAULT);
    ck_assert_int_ge(d, 0);
    H5Dclose(d);
    H5Sclose(sp);
    H5Pclose(pl);
    H5Fclose(f);
    dc_h5snap *s = NULL;
    dc_error err = { 0 };
    ck_assert_int_eq(dc_h5_read_file(path, &s, &err), DC_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err.msg, "external file"));
    ck_assert_ptr_nonnull(strstr(err.msg, path));
}
END_TEST

static Suite *h5reader_suite(void)
{
    Suite *s = suite_create("h5reader");
    TCase *tc = fx_tcase(s, "h5reader", 120);
    tcase_add_test(tc, test_quarantine_equals_in_process);
    tcase_add_test(tc, test_helper_killed_by_a_signal);
    tcase_add_test(tc, test_helper_past_the_time_limit);
    tcase_add_test(tc, test_helper_error_exit_and_garbage);
    tcase_add_test(tc, test_missing_helper);
    tcase_add_test(tc, test_every_byte_of_a_snapshot_flipped);
    tcase_add_test(tc, test_libhdf5_crash_contained);
    tcase_add_test(tc, test_external_storage_refused);
    return s;
}

int main(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    return fx_run(h5reader_suite());
}
