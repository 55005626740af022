/*
 * test_weights.c — the HDF5 weight loader on good and broken files. The files are written
 * here with the HDF5 C API, following the format of docs/weights-format.md and the key
 * table of chenyaofo's resnet20 (written out below independently of zoo/), then broken in
 * one way each. Every broken file must give an error naming the file and the problem.
 */
#include "dualcnn.h"
#include "fixtures.h"

#include <check.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *arch;          /* the arch attribute */
    int num_classes;           /* attribute and fc width */
    int fc_in;                 /* 64, or something else to break the fc shape */
    const char *skip;          /* a tensor key to leave out */
    const char *as_double;     /* a tensor key written as float64 */
    const char *extra;         /* an extra tensor key */
    bool no_num_classes;       /* leave out that attribute */
    int input_h;               /* input_size[1] attribute */
    bool class_names;
    int transform_input;       /* written as that attribute when not -1 */
    double float_version;      /* when not 0: format_version written as this float64 */
    float mean0, std2;         /* when not 0: mean[0] and std[2] */
    const char *poison;        /* a tensor key whose element 0 is set to poison_value */
    double poison_value;
    const char *soft;          /* a tensor key stored elsewhere and reached by a soft link */
    bool fixed_utf8;           /* text attributes as fixed-length UTF-8 strings */
} file_spec;

static file_spec good_spec(void)
{
    file_spec s = { .arch = "resnet20", .num_classes = 10, .fc_in = 64, .input_h = 32,
                    .class_names = true, .transform_input = -1 };
    return s;
}

static void put_tensor(hid_t f, const file_spec *s, const char *key, int ndim,
                       const hsize_t *dims, fx_rng *r)
{
    if (s->skip && strcmp(key, s->skip) == 0)
        return;
    char path[256];
    path[0] = '/';
    for (size_t i = 0; i <= strlen(key); i++)
        path[i + 1] = key[i] == '.' ? '/' : key[i];
    hsize_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= dims[i];
    double *v = malloc(n * sizeof *v);
    bool var = strstr(key, "running_var") != NULL;
    for (hsize_t i = 0; i < n; i++)
        v[i] = var ? fx_rng_uniform(r, 0.5f, 1.5f) : fx_rng_uniform(r, -0.3f, 0.3f);
    if (s->poison && strcmp(key, s->poison) == 0)
        v[0] = s->poison_value;

    bool dbl = s->as_double && strcmp(key, s->as_double) == 0;
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    if (s->soft && strcmp(key, s->soft) == 0) {
        ck_assert_int_ge(H5Lcreate_soft("/stored_elsewhere", f, path, lcpl, H5P_DEFAULT), 0);
        snprintf(path, sizeof path, "/stored_elsewhere");
    }
    hid_t sp = H5Screate_simple(ndim, dims, NULL);
    hid_t ds = H5Dcreate2(f, path, dbl ? H5T_IEEE_F64LE : H5T_IEEE_F32LE, sp, lcpl,
                          H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(ds, 0);
    ck_assert_int_ge(H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    H5Dclose(ds);
    H5Sclose(sp);
    H5Pclose(lcpl);
    free(v);
}

static void put_bn(hid_t f, const file_spec *s, const char *prefix, hsize_t c, fx_rng *r)
{
    static const char *leaves[4] = { "weight", "bias", "running_mean", "running_var" };
    for (int i = 0; i < 4; i++) {
        char key[128];
        snprintf(key, sizeof key, "%s.%s", prefix, leaves[i]);
        put_tensor(f, s, key, 1, &c, r);
    }
}

static void put_conv(hid_t f, const file_spec *s, const char *key, hsize_t cout, hsize_t cin,
                     hsize_t k, fx_rng *r)
{
    hsize_t d[4] = { cout, cin, k, k };
    put_tensor(f, s, key, 4, d, r);
}

/* A variable-length UTF-8 string (h5py's str), or with fixed a fixed-length one of 20
 * bytes (h5py.string_dtype('utf-8', 20)). */
static void put_string_attr_as(hid_t f, const char *name, const char *value, bool fixed)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, fixed ? 20 : H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(f, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    char buf[20] = { 0 };
    if (fixed)
        strncpy(buf, value, sizeof buf - 1);
    H5Awrite(a, t, fixed ? (const void *)buf : (const void *)&value);
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
}

static void put_string_attr(hid_t f, const char *name, const char *value)
{
    put_string_attr_as(f, name, value, false);
}

static void put_attr(hid_t f, const char *name, hid_t type, hsize_t n, const void *v)
{
    hid_t sp = n == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, NULL);
    hid_t a = H5Acreate2(f, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, type, v);
    H5Aclose(a);
    H5Sclose(sp);
}

/* Writes a resnet20-shaped weight file (the 128-entry table of zoo/cifar10.md, minus the
 * num_batches_tracked entries) with the changes spec asks for. */
static void write_resnet20(const char *path, const file_spec *s)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    int version = 1, input[3] = { 3, s->input_h, 32 };
    float mean[3] = { 0.4914f, 0.4822f, 0.4465f }, std[3] = { 0.2023f, 0.1994f, 0.2010f };
    if (s->mean0 != 0.0f)
        mean[0] = s->mean0;
    if (s->std2 != 0.0f)
        std[2] = s->std2;
    if (s->float_version != 0.0)
        put_attr(f, "format_version", H5T_NATIVE_DOUBLE, 0, &s->float_version);
    else
        put_attr(f, "format_version", H5T_NATIVE_INT, 0, &version);
    put_string_attr_as(f, "arch", s->arch, s->fixed_utf8);
    put_string_attr_as(f, "dataset", "cifar10", s->fixed_utf8);
    if (!s->no_num_classes)
        put_attr(f, "num_classes", H5T_NATIVE_INT, 0, &s->num_classes);
    put_attr(f, "input_size", H5T_NATIVE_INT, 3, input);
    put_attr(f, "mean", H5T_NATIVE_FLOAT, 3, mean);
    put_attr(f, "std", H5T_NATIVE_FLOAT, 3, std);
    put_string_attr(f, "source", "test_weights.c");
    if (s->transform_input != -1)
        put_attr(f, "transform_input", H5T_NATIVE_INT, 0, &s->transform_input);
    if (s->class_names) {
        const char *names[10] = { "airplane", "automobile", "bird", "cat", "deer",
                                  "dog", "frog", "horse", "ship", "truck" };
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, H5T_VARIABLE);
        hsize_t n = (hsize_t)s->num_classes;
        hid_t sp = H5Screate_simple(1, &n, NULL);
        hid_t a = H5Acreate2(f, "class_names", t, sp, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(a, t, names);
        H5Aclose(a);
        H5Sclose(sp);
        H5Tclose(t);
    }

    fx_rng r = fx_rng_seed(1);
    put_conv(f, s, "conv1.weight", 16, 3, 3, &r);
    put_bn(f, s, "bn1", 16, &r);
    int widths[3] = { 16, 32, 64 }, cin = 16;
    for (int st = 0; st < 3; st++) {
        for (int b = 0; b < 3; b++) {
            char p[64], k[96];
            hsize_t w = (hsize_t)widths[st];
            snprintf(p, sizeof p, "layer%d.%d", st + 1, b);
            snprintf(k, sizeof k, "%s.conv1.weight", p);
            put_conv(f, s, k, w, (hsize_t)cin, 3, &r);
            snprintf(k, sizeof k, "%s.bn1", p);
            put_bn(f, s, k, w, &r);
            snprintf(k, sizeof k, "%s.conv2.weight", p);
            put_conv(f, s, k, w, w, 3, &r);
            snprintf(k, sizeof k, "%s.bn2", p);
            put_bn(f, s, k, w, &r);
            if (st > 0 && b == 0) {
                snprintf(k, sizeof k, "%s.downsample.0.weight", p);
                put_conv(f, s, k, w, (hsize_t)cin, 1, &r);
                snprintf(k, sizeof k, "%s.downsample.1", p);
                put_bn(f, s, k, w, &r);
            }
            cin = widths[st];
        }
    }
    hsize_t fcw[2] = { (hsize_t)s->num_classes, (hsize_t)s->fc_in };
    hsize_t fcb[1] = { (hsize_t)s->num_classes };
    put_tensor(f, s, "fc.weight", 2, fcw, &r);
    put_tensor(f, s, "fc.bias", 1, fcb, &r);
    if (s->extra) {
        hsize_t one[1] = { 4 };
        put_tensor(f, s, s->extra, 1, one, &r);
    }
    H5Fclose(f);
}

/* Loads path and expects code, with every fragment in the message. */
static void expect_error(const char *path, dc_status code, const char *frag1,
                         const char *frag2)
{
    dc_net *net = (dc_net *)1;
    dc_error err = { 0 };
    dc_status st = dc_net_load(path, 1, &net, &err);
    ck_assert_msg(st == code, "%s: got %s (%s), wanted %s", path, dc_status_name(st),
                  err.msg, dc_status_name(code));
    ck_assert_ptr_null(net);
    ck_assert_msg(strstr(err.msg, path) != NULL, "message does not name the file: %s",
                  err.msg);
    if (frag1)
        ck_assert_msg(strstr(err.msg, frag1) != NULL, "'%s' not in: %s", frag1, err.msg);
    if (frag2)
        ck_assert_msg(strstr(err.msg, frag2) != NULL, "'%s' not in: %s", frag2, err.msg);
}

START_TEST(test_good_file_loads_and_runs)
{
    char path[512];
    file_spec s = good_spec();
    write_resnet20(fx_path(path, sizeof path, "w_good.h5"), &s);
    dc_net *net;
    dc_error err;
    ck_assert_msg(dc_net_load(path, 2, &net, &err) == DC_OK, "%s", err.msg);
    dc_net_info info = dc_net_get_info(net);
    ck_assert_str_eq(info.arch, "resnet20");
    ck_assert_str_eq(info.dataset, "cifar10");
    ck_assert_int_eq(info.num_classes, 10);
    ck_assert_float_eq_tol(info.std[2], 0.2010f, 1e-7f);
    ck_assert_str_eq(dc_net_class_name(net, 9), "truck");
    ck_assert_ptr_null(dc_net_class_name(net, 10));
    float x[2 * 3 * 32 * 32], y[20];
    fx_rng r = fx_rng_seed(2);
    fx_fill_uniform(x, 2 * 3 * 32 * 32, &r, -1, 1);
    ck_assert_int_eq(dc_net_forward(net, x, 2, y, &err), DC_OK);
    for (int i = 0; i < 20; i++)
        ck_assert(y[i] == y[i]); /* not NaN */
    dc_net_free(net);
}
END_TEST

/* Regression (found by tests/fuzz/fuzz_weights): a fixed-length UTF-8 string attribute
 * was refused ("cannot read attribute 'arch'"): HDF5 does not convert UTF-8 to ASCII. */
START_TEST(test_fixed_length_utf8_attributes)
{
    char path[512];
    file_spec s = good_spec();
    s.fixed_utf8 = true;
    write_resnet20(fx_path(path, sizeof path, "w_fixed_utf8.h5"), &s);
    dc_net *net;
    dc_error err;
    ck_assert_msg(dc_net_load(path, 1, &net, &err) == DC_OK, "%s", err.msg);
    dc_net_info info = dc_net_get_info(net);
    ck_assert_str_eq(info.arch, "resnet20");
    ck_assert_str_eq(info.dataset, "cifar10");
    dc_net_free(net);
}
END_TEST

START_TEST(test_other_class_count_loads)
{
    char path[512];
    file_spec s = good_spec();
    s.num_classes = 6;
    s.class_names = false;
    write_resnet20(fx_path(path, sizeof path, "w_six.h5"), &s);
    dc_net *net;
    dc_error err;
    ck_assert_msg(dc_net_load(path, 1, &net, &err) == DC_OK, "%s", err.msg);
    ck_assert_int_eq(dc_net_get_info(net).num_classes, 6);
    ck_assert_ptr_null(dc_net_class_name(net, 0));
    dc_net_free(net);
}
END_TEST

START_TEST(test_missing_tensor)
{
    char path[512];
    file_spec s = good_spec();
    s.skip = "layer2.0.downsample.0.weight";
    write_resnet20(fx_path(path, sizeof path, "w_missing.h5"), &s);
    expect_error(path, DC_ERR_MISSING, "layer2.0.downsample.0.weight", "missing");
}
END_TEST

START_TEST(test_wrong_shape)
{
    char path[512];
    file_spec s = good_spec();
    s.fc_in = 63;
    write_resnet20(fx_path(path, sizeof path, "w_shape.h5"), &s);
    expect_error(path, DC_ERR_SHAPE, "fc.weight", "[10, 63]");
}
END_TEST

START_TEST(test_wrong_dtype)
{
    char path[512];
    file_spec s = good_spec();
    s.as_double = "layer1.1.bn2.running_var";
    write_resnet20(fx_path(path, sizeof path, "w_dtype.h5"), &s);
    expect_error(path, DC_ERR_FORMAT, "layer1.1.bn2.running_var", "float64");
}
END_TEST

START_TEST(test_wrong_arch_attribute)
{
    char path[512];
    file_spec s = good_spec();
    s.arch = "resnet99";
    write_resnet20(fx_path(path, sizeof path, "w_arch_unknown.h5"), &s);
    expect_error(path, DC_ERR_ARG, "resnet99", "unknown architecture");
    s.arch = "resnet32"; /* a real arch whose tensors are not all there */
    write_resnet20(fx_path(path, sizeof path, "w_arch_other.h5"), &s);
    expect_error(path, DC_ERR_MISSING, "layer1.3.conv1.weight", "resnet32");
    s.arch = "mobilenetv2_x0_5";
    write_resnet20(fx_path(path, sizeof path, "w_arch_mnv2.h5"), &s);
    expect_error(path, DC_ERR_MISSING, "features.0.0.weight", NULL);
}
END_TEST

START_TEST(test_unexpected_tensor)
{
    char path[512];
    file_spec s = good_spec();
    s.extra = "layer4.0.conv1.weight";
    write_resnet20(fx_path(path, sizeof path, "w_extra.h5"), &s);
    expect_error(path, DC_ERR_FORMAT, "/layer4/0/conv1/weight", "unexpected");
}
END_TEST

START_TEST(test_missing_attribute_and_bad_input_size)
{
    char path[512];
    file_spec s = good_spec();
    s.no_num_classes = true;
    write_resnet20(fx_path(path, sizeof path, "w_noattr.h5"), &s);
    expect_error(path, DC_ERR_MISSING, "num_classes", NULL);
    s = good_spec();
    s.input_h = 28;
    write_resnet20(fx_path(path, sizeof path, "w_input.h5"), &s);
    expect_error(path, DC_ERR_FORMAT, "input_size", NULL);
}
END_TEST

START_TEST(test_transform_input_attribute)
{
    char path[512];
    file_spec s = good_spec();
    s.transform_input = 2;
    write_resnet20(fx_path(path, sizeof path, "w_ti_bad.h5"), &s);
    expect_error(path, DC_ERR_FORMAT, "transform_input", "0 or 1");
    s.transform_input = 1; /* resnet20 has no such step */
    write_resnet20(fx_path(path, sizeof path, "w_ti_arch.h5"), &s);
    expect_error(path, DC_ERR_FORMAT, "transform_input", "resnet20");
}
END_TEST

START_TEST(test_truncated_file)
{
    char good[512], path[512];
    file_spec s = good_spec();
    write_resnet20(fx_path(good, sizeof good, "w_full.h5"), &s);
    FILE *f = fopen(good, "rb");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)size);
    ck_assert_int_eq(fread(buf, 1, (size_t)size, f), size);
    fclose(f);
    /* cut at several places: every one must fail cleanly, none may crash */
    long cuts[] = { size / 2, size - 100, 1000, 100 };
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        fx_write_file(fx_path(path, sizeof path, "w_trunc.h5"), buf, (size_t)cuts[i]);
        dc_net *net;
        dc_error err;
        dc_status st = dc_net_load(path, 1, &net, &err);
        ck_assert_msg(st != DC_OK, "a file cut at %ld of %ld bytes loaded", cuts[i], size);
        ck_assert_msg(strstr(err.msg, path) != NULL, "%s", err.msg);
    }
    free(buf);
}
END_TEST

START_TEST(test_not_hdf5_empty_and_absent)
{
    char path[512];
    const char *text = "this is not a weight file\n";
    fx_write_file(fx_path(path, sizeof path, "w_text.h5"), text, strlen(text));
    expect_error(path, DC_ERR_FORMAT, "not an HDF5 file", NULL);
    fx_write_file(fx_path(path, sizeof path, "w_empty.h5"), "", 0);
    expect_error(path, DC_ERR_FORMAT, "not an HDF5 file", NULL);
    expect_error(fx_path(path, sizeof path, "w_does_not_exist.h5"), DC_ERR_IO, "cannot open",
                 NULL);
}
END_TEST

/* format_version 1.9 read as an int would be 1: it must be refused as a float */
START_TEST(test_float_format_version)
{
    char path[512];
    file_spec s = good_spec();
    s.float_version = 1.9;
    write_resnet20(fx_path(path, sizeof path, "w_version_float.h5"), &s);
    expect_error(path, DC_ERR_FORMAT, "format_version", "integer");
    s.float_version = 1.0; /* even a whole number: the format says int */
    write_resnet20(fx_path(path, sizeof path, "w_version_float1.h5"), &s);
    expect_error(path, DC_ERR_FORMAT, "format_version", "integer");
}
END_TEST

START_TEST(test_non_finite_mean_std)
{
    char path[512];
    file_spec s = good_spec();
    s.mean0 = NAN;
    write_resnet20(fx_path(path, sizeof path, "w_mean_nan.h5"), &s);
    expect_error(path, DC_ERR_FORMAT, "'mean'[0]", "finite");
    s = good_spec();
    s.std2 = INFINITY;
    write_resnet20(fx_path(path, sizeof path, "w_std_inf.h5"), &s);
    expect_error(path, DC_ERR_FORMAT, "'std'[2]", "finite");
}
END_TEST

START_TEST(test_non_finite_tensor)
{
    char path[512];
    file_spec s = good_spec();
    s.poison = "layer2.1.conv2.weight";
    s.poison_value = NAN;
    write_resnet20(fx_path(path, sizeof path, "w_tensor_nan.h5"), &s);
    expect_error(path, DC_ERR_FORMAT, "layer2.1.conv2.weight", "finite");
    s.poison = "fc.bias";
    s.poison_value = -INFINITY;
    write_resnet20(fx_path(path, sizeof path, "w_tensor_inf.h5"), &s);
    expect_error(path, DC_ERR_FORMAT, "fc.bias", "finite");
}
END_TEST

/* A negative running_var: the message used to be built from the freed buffer (ASan:
 * heap-use-after-free). */
START_TEST(test_negative_running_var)
{
    char path[512];
    file_spec s = good_spec();
    s.poison = "layer1.0.bn1.running_var";
    s.poison_value = -0.25;
    write_resnet20(fx_path(path, sizeof path, "w_var_negative.h5"), &s);
    expect_error(path, DC_ERR_FORMAT, "layer1.0.bn1.running_var[0] = -0.25", "negative");
}
END_TEST

START_TEST(test_soft_linked_tensor)
{
    char path[512];
    file_spec s = good_spec();
    s.soft = "fc.weight";
    write_resnet20(fx_path(path, sizeof path, "w_soft.h5"), &s);
    expect_error(path, DC_ERR_UNSUPPORTED, "fc.weight", "soft link");
}
END_TEST

static Suite *weights_suite(void)
{
    Suite *s = suite_create("weights");
    TCase *tc = fx_tcase(s, "weights", 120);
    tcase_add_test(tc, test_good_file_loads_and_runs);
    tcase_add_test(tc, test_fixed_length_utf8_attributes);
    tcase_add_test(tc, test_other_class_count_loads);
    tcase_add_test(tc, test_missing_tensor);
    tcase_add_test(tc, test_wrong_shape);
    tcase_add_test(tc, test_wrong_dtype);
    tcase_add_test(tc, test_wrong_arch_attribute);
    tcase_add_test(tc, test_unexpected_tensor);
    tcase_add_test(tc, test_missing_attribute_and_bad_input_size);
    tcase_add_test(tc, test_transform_input_attribute);
    tcase_add_test(tc, test_truncated_file);
    tcase_add_test(tc, test_not_hdf5_empty_and_absent);
    tcase_add_test(tc, test_float_format_version);
    tcase_add_test(tc, test_non_finite_mean_std);
    tcase_add_test(tc, test_non_finite_tensor);
    tcase_add_test(tc, test_negative_running_var);
    tcase_add_test(tc, test_soft_linked_tensor);
    return s;
}

FX_MAIN(weights_suite)
