/*
 * test_net_load_memory.c — dc_net_load_memory: a weight file's bytes, already in memory,
 * give the net dc_net_load gives from the file (same description, same logits bit for
 * bit), in quarantine (the helper process reads the bytes through a memory file) and in
 * process (dc_h5_set_reader_mode, or DUALCNN_H5_READER=in-process as for files); truncated,
 * garbage and empty buffers give a clean error naming "<memory>"; a helper that fails is
 * reported as for a file, which shows that the bytes do go through the quarantine.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dualcnn.h"
#include "fixtures.h"
#include "loaders/h5reader.h"

static char weights_path[1024];
static unsigned char *bytes;
static size_t n_bytes;

/* The shipped resnet20 weights, read whole. */
static void read_weights(void)
{
    fx_shipped_weights(weights_path, sizeof weights_path, "fashionmnist/resnet20.h5");
    bytes = fx_read_file(weights_path, &n_bytes);
    ck_assert(n_bytes > 0);
}

static void setup(void)
{
    read_weights();
    unsetenv("DUALCNN_H5_READER");
    unsetenv("DUALCNN_H5_HELPER");
    dc_h5_set_reader_mode(DC_H5_READER_DEFAULT);
}

static void teardown(void)
{
    free(bytes);
    bytes = NULL;
}

/* Logits of a fixed input batch of 3. */
static void logits_of(dc_net *net, float *out)
{
    dc_net_info info = dc_net_get_info(net);
    size_t in_n = (size_t)3 * info.in_c * info.in_h * info.in_w;
    float *x = malloc(in_n * sizeof *x);
    ck_assert_ptr_nonnull(x);
    fx_rng r = fx_rng_seed(3);
    fx_fill_uniform(x, in_n, &r, -2.0f, 2.0f);
    dc_error err;
    ck_assert_msg(dc_net_forward(net, x, 3, out, &err) == DC_OK, "%s", err.msg);
    free(x);
}

/* Loads the weights from the file and from memory and compares the two nets. */
static void check_same_as_file(void)
{
    dc_error err;
    dc_net *from_file, *from_memory;
    ck_assert_msg(dc_net_load(weights_path, 3, &from_file, &err) == DC_OK, "%s", err.msg);
    ck_assert_msg(dc_net_load_memory(bytes, n_bytes, 3, &from_memory, &err) == DC_OK, "%s",
                  err.msg);
    dc_net_info a = dc_net_get_info(from_file), b = dc_net_get_info(from_memory);
    ck_assert_str_eq(a.arch, b.arch);
    ck_assert_str_eq(a.dataset, b.dataset);
    ck_assert_int_eq(a.num_classes, b.num_classes);
    ck_assert_int_eq(a.params, b.params);
    ck_assert(memcmp(a.mean, b.mean, sizeof a.mean) == 0);
    ck_assert(memcmp(a.std, b.std, sizeof a.std) == 0);
    for (int i = 0; i < a.num_classes; i++) {
        const char *x = dc_net_class_name(from_file, i), *y = dc_net_class_name(from_memory, i);
        ck_assert((x == NULL) == (y == NULL));
        if (x)
            ck_assert_str_eq(x, y);
    }
    float la[30], lb[30];
    ck_assert_int_le(a.num_classes, 10);
    logits_of(from_file, la);
    logits_of(from_memory, lb);
    ck_assert_msg(memcmp(la, lb, (size_t)3 * a.num_classes * sizeof *la) == 0,
                  "the logits differ (max %g)",
                  (double)fx_max_abs_diff(la, lb, (size_t)3 * a.num_classes));
    dc_net_free(from_file);
    dc_net_free(from_memory);
}

START_TEST(test_same_as_file_in_quarantine)
{
    dc_h5_set_reader_mode(DC_H5_READER_QUARANTINE);
    check_same_as_file();
}
END_TEST

START_TEST(test_same_as_file_in_process)
{
    dc_h5_set_reader_mode(DC_H5_READER_IN_PROCESS);
    check_same_as_file();
}
END_TEST

/* Expects dc_net_load_memory(data, size) to fail with code, naming "<memory>". */
static void expect_failure(const void *data, size_t size, dc_status code, const char *what)
{
    dc_error err = { 0 };
    dc_net *net = (dc_net *)1;
    dc_status st = dc_net_load_memory(data, size, 1, &net, &err);
    ck_assert_msg(st == code, "%s: got %s (%s), expected %s", what, dc_status_name(st),
                  err.msg, dc_status_name(code));
    ck_assert_ptr_null(net);
    ck_assert_msg(strncmp(err.msg, "<memory>: ", 10) == 0, "%s: message '%s' does not name "
                  "<memory>", what, err.msg);
}

/* Truncated copies, garbage and a flipped header, in both modes. */
static void check_bad_buffers(void)
{
    expect_failure(bytes, n_bytes / 2, DC_ERR_FORMAT, "half the file");
    expect_failure(bytes, 4096, DC_ERR_FORMAT, "the first 4 KiB");
    expect_failure(bytes, 5, DC_ERR_FORMAT, "5 bytes");
    size_t n = 64 * 1024;
    unsigned char *junk = malloc(n);
    ck_assert_ptr_nonnull(junk);
    fx_rng r = fx_rng_seed(1);
    for (size_t i = 0; i < n; i++)
        junk[i] = (unsigned char)(fx_rng_u64(&r) >> 56);
    expect_failure(junk, n, DC_ERR_FORMAT, "random bytes");
    memcpy(junk, bytes, 512); /* an HDF5 superblock, then garbage */
    expect_failure(junk, n, DC_ERR_FORMAT, "a superblock and garbage");
    free(junk);
    expect_failure(NULL, 100, DC_ERR_ARG, "NULL data");
    expect_failure(bytes, 0, DC_ERR_ARG, "size 0");
}

START_TEST(test_bad_buffers_in_quarantine)
{
    dc_h5_set_reader_mode(DC_H5_READER_QUARANTINE);
    check_bad_buffers();
}
END_TEST

START_TEST(test_bad_buffers_in_process)
{
    dc_h5_set_reader_mode(DC_H5_READER_IN_PROCESS);
    check_bad_buffers();
}
END_TEST

/* The bytes go to the helper process: a helper that fails fails the load, as for a file;
 * DUALCNN_H5_READER=in-process bypasses the helper, as for a file. */
START_TEST(test_quarantine_is_used)
{
    setenv("DUALCNN_H5_HELPER", "/bin/false", 1);
    dc_error err = { 0 };
    dc_net *net;
    ck_assert_int_eq(dc_net_load_memory(bytes, n_bytes, 1, &net, &err), DC_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "<memory>: damaged or hostile HDF5 file"), "%s", err.msg);
    ck_assert_int_eq(dc_net_load(weights_path, 1, &net, &err), DC_ERR_FORMAT);
    setenv("DUALCNN_H5_READER", "in-process", 1);
    ck_assert_msg(dc_net_load_memory(bytes, n_bytes, 1, &net, &err) == DC_OK, "%s", err.msg);
    dc_net_free(net);
    unsetenv("DUALCNN_H5_READER");
    unsetenv("DUALCNN_H5_HELPER");
}
END_TEST

/* The caller may free or reuse its buffer at once: the net keeps nothing of it. */
START_TEST(test_buffer_not_kept)
{
    dc_error err;
    dc_net *a, *b;
    ck_assert(dc_net_load(weights_path, 3, &a, &err) == DC_OK);
    ck_assert_msg(dc_net_load_memory(bytes, n_bytes, 3, &b, &err) == DC_OK, "%s", err.msg);
    memset(bytes, 0xA5, n_bytes);
    float la[30], lb[30];
    logits_of(a, la);
    logits_of(b, lb);
    ck_assert(memcmp(la, lb, (size_t)3 * dc_net_get_info(a).num_classes * sizeof *la) == 0);
    dc_net_free(a);
    dc_net_free(b);
}
END_TEST

static Suite *load_memory_suite(void)
{
    Suite *s = suite_create("net_load_memory");
    TCase *t = fx_tcase(s, "load", 120);
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_same_as_file_in_quarantine);
    tcase_add_test(t, test_same_as_file_in_process);
    tcase_add_test(t, test_bad_buffers_in_quarantine);
    tcase_add_test(t, test_bad_buffers_in_process);
    tcase_add_test(t, test_quarantine_is_used);
    tcase_add_test(t, test_buffer_not_kept);
    return s;
}

FX_MAIN(load_memory_suite)
