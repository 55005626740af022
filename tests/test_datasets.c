/*
 * test_datasets.c — the dataset readers on small files written here in the real formats:
 * CIFAR-10 binary and Python (pickles as Python 2's cPickle wrote the originals, and as
 * Python 3 writes them when /usr/bin/python3 has NumPy), FashionMNIST IDX files plain and
 * gzip'd, class-per-folder trees of PNG and JPEG (ImageNet-like and Intel, the latter
 * checked against PIL's resize); kind detection, split selection, and truncated or corrupt
 * files, each of which must be named in the error. Last, the real FashionMNIST test set
 * when Debian's dataset-fashion-mnist is installed.
 */
#include "fixtures.h"
#include "fx_bytes.h"
#include "loaders/dataset.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jpeglib.h>
#include <zlib.h>

#define FMNIST_DIR "/usr/share/datasets/fashion-mnist"

/* ---- files and directories ----------------------------------------------- */

/* A fresh, empty directory <tmp>/<name>; its path goes to buf. */
static char *fresh_dir(char *buf, size_t n, const char *name)
{
    fx_path(buf, n, name);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", buf, buf);
    ck_assert_int_eq(system(cmd), 0);
    return buf;
}

/* mkdir -p of "<base>/<sub>"; the path goes to buf. */
static char *make_dir(char *buf, size_t n, const char *base, const char *sub)
{
    snprintf(buf, n, "%s/%s", base, sub);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", buf);
    ck_assert_int_eq(system(cmd), 0);
    return buf;
}

static void write_at(const char *dir, const char *name, const void *data, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    ck_assert_msg(fx_write_file(path, data, len) == 0, "cannot write %s", path);
}

/* Cuts the file at path to its first len bytes. */
static void cut_file(const char *path, size_t len)
{
    ck_assert_int_eq(truncate(path, (off_t)len), 0);
}

/* Opens path expecting failure with code, and a message naming `names` and holding word. */
static void expect_open_error(const char *path, const char *kind, bool train, dc_status code,
                              const char *names, const char *word)
{
    dc_dataset *ds = (dc_dataset *)1;
    dc_error err = { 0 };
    dc_status st = dc_dataset_open(path, kind, train, &ds, &err);
    ck_assert_msg(st == code, "%s: expected status %d, got %d (%s)", path, code, st, err.msg);
    ck_assert_ptr_null(ds);
    ck_assert_msg(strstr(err.msg, names) != NULL, "message does not name %s: %s", names,
                  err.msg);
    ck_assert_msg(!word || strstr(err.msg, word) != NULL, "message lacks \"%s\": %s", word,
                  err.msg);
}

static dc_dataset *open_ok(const char *path, const char *kind, bool train)
{
    dc_dataset *ds;
    dc_error err = { 0 };
    dc_status st = dc_dataset_open(path, kind, train, &ds, &err);
    ck_assert_msg(st == DC_OK, "%s", err.msg);
    return ds;
}

static dc_image image_ok(const dc_dataset *ds, int i)
{
    dc_image img;
    dc_error err = { 0 };
    dc_status st = dc_dataset_image(ds, i, &img, &err);
    ck_assert_msg(st == DC_OK, "sample %d: %s", i, err.msg);
    return img;
}

/* Runs a Python snippet (argv[1] = arg); false (after saying why) when Python or one of
 * its modules is missing (the snippet exits 77 then). */
static bool run_python(const char *script_name, const char *script, const char *arg)
{
    int code = fx_python(script_name, script, arg);
    if (code == FX_NO_PYTHON) {
        fx_skip("%s: " FX_PYTHON " is not installed", script_name);
        return false;
    }
    if (code == 77) {
        fx_skip("%s: " FX_PYTHON " lacks NumPy or PIL", script_name);
        return false;
    }
    ck_assert_msg(code == 0, "%s failed (status %d)", script_name, code);
    return true;
}

/* ---- CIFAR-10 fixtures ------------------------------------------------------ */

static const char *cifar_names[10] = { "airplane", "automobile", "bird", "cat", "deer",
                                       "dog", "frog", "horse", "ship", "truck" };

/* Records per file: data_batch_1..5 then test_batch. */
static const int cifar_records[6] = { 1, 2, 3, 1, 2, 4 };

/* Plane byte p (0..3071: k * 1024 + y * 32 + x) of record r of file f. */
static uint8_t cifar_byte(int f, int r, int p)
{
    return (uint8_t)((f * 131 + r * 17 + p * 7 + p / 1024 * 50) % 256);
}

static int cifar_label(int f, int r)
{
    return (f * 3 + r * 7) % 10;
}

/* Appends one batch file's planes to data (records x 3072) and labels. */
static void cifar_fill(int f, uint8_t *data, int *labels)
{
    for (int r = 0; r < cifar_records[f]; r++) {
        labels[r] = cifar_label(f, r);
        for (int p = 0; p < 3072; p++)
            data[(size_t)r * 3072 + p] = cifar_byte(f, r, p);
    }
}

static const char *cifar_file_name(int f, bool binary)
{
    static char name[32];
    if (f < 5)
        snprintf(name, sizeof name, "data_batch_%d%s", f + 1, binary ? ".bin" : "");
    else
        snprintf(name, sizeof name, "test_batch%s", binary ? ".bin" : "");
    return name;
}

/* Writes the six binary batch files and batches.meta.txt into dir. */
static void write_cifar_bin(const char *dir)
{
    for (int f = 0; f < 6; f++) {
        size_t n = (size_t)cifar_records[f];
        uint8_t *rec = malloc(n * 3073);
        uint8_t data[4 * 3072];
        int labels[4];
        ck_assert_ptr_nonnull(rec);
        cifar_fill(f, data, labels);
        for (size_t r = 0; r < n; r++) {
            rec[r * 3073] = (uint8_t)labels[r];
            memcpy(rec + r * 3073 + 1, data + r * 3072, 3072);
        }
        write_at(dir, cifar_file_name(f, true), rec, n * 3073);
        free(rec);
    }
    const char *meta = "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n";
    write_at(dir, "batches.meta.txt", meta, strlen(meta));
}

/* A Python 2 cPickle (protocol 2) CIFAR batch dict of n records, as the original files. */
static fx_bytes py2_batch(int n, const uint8_t *data, const int *labels)
{
    fx_bytes o = { 0 };
    FX_PUTL(&o, "\x80\x02}q\x01(");
    fx_py2_cstr(&o, "data");
    FX_PUTL(&o, "cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01" "b"
                "\x87R(K\x01");
    uint8_t dims[3] = { 'K', (uint8_t)n, 0 };
    fx_put(&o, dims, 2);
    FX_PUTL(&o, "M\x00\x0c\x86" "cnumpy\ndtype\nU\x02u1K\x00K\x01\x87R(K\x03U\x01|NNN"
                "J\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89");
    fx_py2_str(&o, data, (size_t)n * 3072);
    FX_PUTL(&o, "tb");
    fx_py2_cstr(&o, "labels");
    FX_PUTL(&o, "](");
    for (int i = 0; i < n; i++) {
        uint8_t k[2] = { 'K', (uint8_t)labels[i] };
        fx_put(&o, k, 2);
    }
    FX_PUTL(&o, "e");
    fx_py2_cstr(&o, "batch_label");
    fx_py2_cstr(&o, "training batch");
    FX_PUTL(&o, "u.");
    return o;
}

/* batches.meta as the original: {'num_cases_per_batch': 10000, 'label_names': [...],
 * 'num_vis': 3072}. */
static fx_bytes py2_meta(const char *const *names)
{
    fx_bytes o = { 0 };
    FX_PUTL(&o, "\x80\x02}q\x01(");
    fx_py2_cstr(&o, "num_cases_per_batch");
    FX_PUTL(&o, "M\x10'");
    fx_py2_cstr(&o, "label_names");
    FX_PUTL(&o, "](");
    for (int i = 0; i < 10; i++)
        fx_py2_cstr(&o, names[i]);
    FX_PUTL(&o, "e");
    fx_py2_cstr(&o, "num_vis");
    FX_PUTL(&o, "M\x00\x0cu.");
    return o;
}

/* Writes the six Python 2 batch pickles and batches.meta (class names `names`). */
static void write_cifar_py2(const char *dir, const char *const *names)
{
    for (int f = 0; f < 6; f++) {
        uint8_t data[4 * 3072];
        int labels[4];
        cifar_fill(f, data, labels);
        fx_bytes b = py2_batch(cifar_records[f], data, labels);
        write_at(dir, cifar_file_name(f, false), b.b, b.n);
        free(b.b);
    }
    fx_bytes m = py2_meta(names);
    write_at(dir, "batches.meta", m.b, m.n);
    free(m.b);
}

/* Checks a CIFAR dataset opened on the fixtures (train: files 0..4, test: file 5). */
static void check_cifar(const dc_dataset *ds, bool train, const char *const *names)
{
    ck_assert_str_eq(dc_dataset_kind(ds), "cifar10");
    ck_assert_int_eq(dc_dataset_num_classes(ds), 10);
    for (int k = 0; k < 10; k++)
        ck_assert_str_eq(dc_dataset_class_name(ds, k), names[k]);
    ck_assert_ptr_null(dc_dataset_class_name(ds, 10));
    ck_assert_ptr_null(dc_dataset_class_name(ds, -1));
    int f0 = train ? 0 : 5, f1 = train ? 5 : 6, i = 0;
    for (int f = f0; f < f1; f++)
        for (int r = 0; r < cifar_records[f]; r++, i++) {
            ck_assert_int_eq(dc_dataset_label(ds, i), cifar_label(f, r));
            dc_image img = image_ok(ds, i);
            ck_assert_int_eq(img.w, 32);
            ck_assert_int_eq(img.h, 32);
            ck_assert_int_eq(img.c, 3);
            /* planes (CHW) in the file, interleaved (HWC) in the image */
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++)
                    for (int k = 0; k < 3; k++)
                        ck_assert_int_eq(img.data[(y * 32 + x) * 3 + k],
                                         cifar_byte(f, r, k * 1024 + y * 32 + x));
            dc_image_free(&img);
        }
    ck_assert_int_eq(dc_dataset_count(ds), i);
    ck_assert_int_eq(dc_dataset_label(ds, i), -1);
    ck_assert_ptr_null(dc_dataset_file(ds, 0));
    dc_image img;
    dc_error err = { 0 };
    ck_assert_int_eq(dc_dataset_image(ds, i, &img, &err), DC_ERR_ARG);
    ck_assert_ptr_null(img.data);
}

/* ---- CIFAR-10 tests ----------------------------------------------------------- */

START_TEST(test_cifar_binary)
{
    char root[512], dir[700];
    fresh_dir(root, sizeof root, "ds_cifar_bin");
    make_dir(dir, sizeof dir, root, "cifar-10-batches-bin");
    write_cifar_bin(dir);
    for (int train = 0; train < 2; train++) {
        dc_dataset *ds = open_ok(root, "cifar10", train);
        check_cifar(ds, train, cifar_names);
        ck_assert_str_eq(dc_dataset_root(ds), dir);
        dc_dataset_close(ds);
    }
    /* detection, from the root and from the batches directory itself */
    dc_dataset *ds = open_ok(root, NULL, false);
    check_cifar(ds, false, cifar_names);
    dc_dataset_close(ds);
    ds = open_ok(dir, NULL, true);
    check_cifar(ds, true, cifar_names);
    dc_dataset_close(ds);
    /* without batches.meta.txt: the standard names */
    char meta[800];
    snprintf(meta, sizeof meta, "%s/batches.meta.txt", dir);
    write_at(dir, "batches.meta.txt", "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n", 20);
    ds = open_ok(root, NULL, false);
    ck_assert_str_eq(dc_dataset_class_name(ds, 9), "j");
    dc_dataset_close(ds);
    remove(meta);
    ds = open_ok(root, NULL, false);
    ck_assert_str_eq(dc_dataset_class_name(ds, 0), "airplane");
    dc_dataset_close(ds);
    dc_dataset_close(NULL);
}
END_TEST

START_TEST(test_cifar_binary_bad_files)
{
    char root[512], dir[700], path[800];
    fresh_dir(root, sizeof root, "ds_cifar_bin_bad");
    make_dir(dir, sizeof dir, root, "cifar-10-batches-bin");
    write_cifar_bin(dir);
    /* truncated test batch */
    snprintf(path, sizeof path, "%s/test_batch.bin", dir);
    cut_file(path, 3073 * 2 + 1234);
    expect_open_error(root, NULL, false, DC_ERR_FORMAT, "test_batch.bin", "truncated");
    expect_open_error(root, NULL, false, DC_ERR_FORMAT, "test_batch.bin", "7380 bytes found");
    cut_file(path, 0);
    expect_open_error(root, NULL, false, DC_ERR_FORMAT, "test_batch.bin", "empty");
    /* a label out of range */
    uint8_t rec[3073] = { 10 };
    write_at(dir, "test_batch.bin", rec, sizeof rec);
    expect_open_error(root, NULL, false, DC_ERR_FORMAT, "test_batch.bin", "label 10");
    /* a directory in place of the batch ("9223372036854775807 bytes found") */
    snprintf(path, sizeof path, "%s/test_batch.bin", dir);
    remove(path);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    expect_open_error(root, NULL, false, DC_ERR_FORMAT, "test_batch.bin", "is a directory");
    rmdir(path);
    /* a missing training batch */
    snprintf(path, sizeof path, "%s/data_batch_3.bin", dir);
    remove(path);
    expect_open_error(root, "cifar10", true, DC_ERR_IO, "data_batch_3.bin", NULL);
    /* a meta file with 9 names */
    write_at(dir, "batches.meta.txt", "a\nb\nc\nd\ne\nf\ng\nh\ni\n", 18);
    expect_open_error(root, NULL, false, DC_ERR_FORMAT, "batches.meta.txt", "9 class names");
    /* not CIFAR at all */
    char empty[512];
    fresh_dir(empty, sizeof empty, "ds_cifar_empty");
    expect_open_error(empty, "cifar10", false, DC_ERR_IO, empty, "no CIFAR-10");
}
END_TEST

START_TEST(test_cifar_python2_pickles)
{
    static const char *names[10] = { "n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8",
                                     "n9" };
    char root[512], dir[700];
    fresh_dir(root, sizeof root, "ds_cifar_py2");
    make_dir(dir, sizeof dir, root, "cifar-10-batches-py");
    write_cifar_py2(dir, names);
    for (int train = 0; train < 2; train++) {
        dc_dataset *ds = open_ok(root, NULL, train);
        check_cifar(ds, train, names);
        ck_assert_str_eq(dc_dataset_root(ds), dir);
        dc_dataset_close(ds);
    }
    /* the batches directory given directly */
    dc_dataset *ds = open_ok(dir, "cifar10", false);
    check_cifar(ds, false, names);
    dc_dataset_close(ds);
    /* with the binary version beside it, the binary one is read */
    char bin[700];
    make_dir(bin, sizeof bin, root, "cifar-10-batches-bin");
    write_cifar_bin(bin);
    ds = open_ok(root, NULL, false);
    ck_assert_str_eq(dc_dataset_root(ds), bin);
    ck_assert_str_eq(dc_dataset_class_name(ds, 0), "airplane");
    dc_dataset_close(ds);
}
END_TEST

START_TEST(test_cifar_python_bad_files)
{
    char root[512], dir[700], path[800];
    fresh_dir(root, sizeof root, "ds_cifar_py_bad");
    make_dir(dir, sizeof dir, root, "cifar-10-batches-py");
    write_cifar_py2(dir, cifar_names);
    snprintf(path, sizeof path, "%s/test_batch", dir);
    size_t len;
    unsigned char *whole = fx_read_file(path, &len);
    /* truncated inside the pixels, and inside the labels */
    cut_file(path, 2000);
    expect_open_error(root, NULL, false, DC_ERR_FORMAT, "test_batch", "truncated");
    ck_assert_int_eq(fx_write_file(path, whole, len - 20), 0);
    expect_open_error(root, NULL, false, DC_ERR_FORMAT, "test_batch", "truncated");
    /* labels that do not match the images */
    uint8_t data[2 * 3072] = { 0 };
    int labels[2] = { 1, 2 };
    fx_bytes b = py2_batch(2, data, labels);
    /* drop the second label: "K\x02e" -> "e" */
    uint8_t *e = NULL;
    for (size_t i = 0; i + 5 <= b.n && !e; i++)
        if (memcmp(b.b + i, "K\x01K\x02" "e", 5) == 0)
            e = b.b + i;
    ck_assert_ptr_nonnull(e);
    memmove(e + 2, e + 4, (size_t)(b.b + b.n - (e + 4)));
    b.n -= 2;
    write_at(dir, "test_batch", b.b, b.n);
    expect_open_error(root, NULL, false, DC_ERR_FORMAT, "test_batch", "1 labels for 2 images");
    /* a label out of range */
    labels[1] = 12;
    free(b.b);
    b = py2_batch(2, data, labels);
    write_at(dir, "test_batch", b.b, b.n);
    expect_open_error(root, NULL, false, DC_ERR_FORMAT, "test_batch", "labels[1]");
    free(b.b);
    /* an empty batch (0 x 3072 data, no labels): accuracy nan and exit status 0 before */
    b = py2_batch(0, data, labels);
    write_at(dir, "test_batch", b.b, b.n);
    expect_open_error(root, NULL, false, DC_ERR_FORMAT, "test_batch", "no images");
    free(b.b);
    /* a directory in place of the batch */
    remove(path);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    expect_open_error(root, NULL, false, DC_ERR_FORMAT, "test_batch", "is a directory");
    rmdir(path);
    /* a pickle calling os.system is refused, never run */
    static const char evil[] = "\x80\x02" "cos\nsystem\nX\x04\x00\x00\x00" "true\x85R.";
    write_at(dir, "test_batch", evil, sizeof evil - 1);
    expect_open_error(root, NULL, false, DC_ERR_FORMAT, "test_batch", "os.system");
    /* a bad batches.meta */
    ck_assert_int_eq(fx_write_file(path, whole, len), 0);
    write_at(dir, "batches.meta", "\x80\x02}.", 4);
    expect_open_error(root, NULL, false, DC_ERR_FORMAT, "batches.meta", "label_names");
    free(whole);
}
END_TEST

/* The same dataset pickled by Python 3 (protocol 2, bytes through _codecs.encode). */
static const char *cifar_py3_script =
    "import sys, pickle, os\n"
    "try:\n"
    "    import numpy as np\n"
    "except ImportError:\n"
    "    sys.exit(77)\n"
    "recs = [1, 2, 3, 1, 2, 4]\n"
    "d = sys.argv[1]\n"
    "for f in range(6):\n"
    "    data = np.array([[(f * 131 + r * 17 + p * 7 + p // 1024 * 50) % 256\n"
    "                      for p in range(3072)] for r in range(recs[f])], np.uint8)\n"
    "    labels = [(f * 3 + r * 7) % 10 for r in range(recs[f])]\n"
    "    name = 'data_batch_%d' % (f + 1) if f < 5 else 'test_batch'\n"
    "    obj = {b'batch_label': b'batch', b'labels': labels, b'data': data,\n"
    "           b'filenames': [b'f%d.png' % r for r in range(recs[f])]}\n"
    "    with open(os.path.join(d, name), 'wb') as fh:\n"
    "        pickle.dump(obj, fh, protocol=2)\n"
    "names = [b'airplane', b'automobile', b'bird', b'cat', b'deer', b'dog', b'frog',\n"
    "         b'horse', b'ship', b'truck']\n"
    "with open(os.path.join(d, 'batches.meta'), 'wb') as fh:\n"
    "    pickle.dump({b'num_cases_per_batch': 10000, b'label_names': names,\n"
    "                 b'num_vis': 3072}, fh, protocol=2)\n";

START_TEST(test_cifar_python3_pickles)
{
    char root[512], dir[700];
    fresh_dir(root, sizeof root, "ds_cifar_py3");
    make_dir(dir, sizeof dir, root, "cifar-10-batches-py");
    if (!run_python("ds_cifar_py3.py", cifar_py3_script, dir))
        return;
    for (int train = 0; train < 2; train++) {
        dc_dataset *ds = open_ok(root, NULL, train);
        check_cifar(ds, train, cifar_names);
        dc_dataset_close(ds);
    }
}
END_TEST

/* ---- FashionMNIST (IDX) ------------------------------------------------------- */

static uint8_t idx_pixel(int split, int i, int p)
{
    return (uint8_t)(split * 91 + i * 29 + p * 3);
}

static int idx_label(int split, int i)
{
    return (split * 5 + i * 3) % 10;
}

/* Builds an IDX file in memory: magic, dims, then data. */
static fx_bytes idx_bytes(uint32_t magic, int ndims, const uint32_t *dims, const uint8_t *data,
                         size_t n)
{
    fx_bytes o = { 0 };
    uint32_t words[4] = { magic, dims[0], ndims > 1 ? dims[1] : 0, ndims > 2 ? dims[2] : 0 };
    for (int i = 0; i <= ndims; i++) {
        uint8_t be[4] = { (uint8_t)(words[i] >> 24), (uint8_t)(words[i] >> 16),
                          (uint8_t)(words[i] >> 8), (uint8_t)words[i] };
        fx_put(&o, be, 4);
    }
    fx_put(&o, data, n);
    return o;
}

static void write_maybe_gz(const char *dir, const char *name, const fx_bytes *b, bool gz)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s%s", dir, name, gz ? ".gz" : "");
    if (!gz) {
        ck_assert_int_eq(fx_write_file(path, b->b, b->n), 0);
        return;
    }
    gzFile f = gzopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(gzwrite(f, b->b, (unsigned)b->n), (int)b->n);
    ck_assert_int_eq(gzclose(f), Z_OK);
}

/* Writes the split's images (n of h x w) and labels, gzip'd or not. */
static void write_idx_split(const char *dir, int split, int n, int h, int w, bool gz)
{
    const char *pre = split ? "train" : "t10k";
    uint8_t *px = malloc((size_t)n * h * w);
    uint8_t lb[64];
    ck_assert_ptr_nonnull(px);
    for (int i = 0; i < n; i++) {
        lb[i] = (uint8_t)idx_label(split, i);
        for (int p = 0; p < h * w; p++)
            px[(size_t)i * h * w + p] = idx_pixel(split, i, p);
    }
    uint32_t idims[3] = { (uint32_t)n, (uint32_t)h, (uint32_t)w }, ldims[1] = { (uint32_t)n };
    fx_bytes bi = idx_bytes(0x803, 3, idims, px, (size_t)n * h * w);
    fx_bytes bl = idx_bytes(0x801, 1, ldims, lb, (size_t)n);
    char name[64];
    snprintf(name, sizeof name, "%s-images-idx3-ubyte", pre);
    write_maybe_gz(dir, name, &bi, gz);
    snprintf(name, sizeof name, "%s-labels-idx1-ubyte", pre);
    write_maybe_gz(dir, name, &bl, gz);
    free(bi.b);
    free(bl.b);
    free(px);
}

static void check_idx(const dc_dataset *ds, int split, int n, int h, int w)
{
    static const char *names[10] = { "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                     "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot" };
    ck_assert_str_eq(dc_dataset_kind(ds), "fashionmnist");
    ck_assert_int_eq(dc_dataset_count(ds), n);
    ck_assert_int_eq(dc_dataset_num_classes(ds), 10);
    for (int k = 0; k < 10; k++)
        ck_assert_str_eq(dc_dataset_class_name(ds, k), names[k]);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(dc_dataset_label(ds, i), idx_label(split, i));
        dc_image img = image_ok(ds, i);
        ck_assert_int_eq(img.w, w);
        ck_assert_int_eq(img.h, h);
        ck_assert_int_eq(img.c, 1);
        for (int p = 0; p < h * w; p++)
            ck_assert_int_eq(img.data[p], idx_pixel(split, i, p));
        dc_image_free(&img);
    }
}

START_TEST(test_idx_plain_and_gz)
{
    char root[512];
    fresh_dir(root, sizeof root, "ds_idx");
    write_idx_split(root, 0, 7, 28, 28, false); /* test split plain */
    write_idx_split(root, 1, 12, 28, 28, true); /* train split gzip'd */
    dc_dataset *ds = open_ok(root, NULL, false);
    check_idx(ds, 0, 7, 28, 28);
    dc_dataset_close(ds);
    ds = open_ok(root, "fashionmnist", true);
    check_idx(ds, 1, 12, 28, 28);
    dc_dataset_close(ds);
    /* torchvision's layout: <root>/FashionMNIST/raw/, and non-square images */
    char top[512], raw[700];
    fresh_dir(top, sizeof top, "ds_idx_tv");
    make_dir(raw, sizeof raw, top, "FashionMNIST/raw");
    write_idx_split(raw, 0, 3, 5, 9, true);
    ds = open_ok(top, NULL, false);
    check_idx(ds, 0, 3, 5, 9);
    dc_dataset_close(ds);
    /* zero images: an empty split is an error (it gave accuracy nan and exit 0) */
    fresh_dir(top, sizeof top, "ds_idx_zero");
    write_idx_split(top, 0, 0, 28, 28, false);
    expect_open_error(top, NULL, false, DC_ERR_FORMAT, "t10k-images-idx3-ubyte", "no images");
    /* two gzip members, one after the other (what `cat a.gz b.gz` makes) are one stream */
    char two[512], p2[800];
    fresh_dir(two, sizeof two, "ds_idx_members");
    write_idx_split(two, 0, 3, 28, 28, true);
    snprintf(p2, sizeof p2, "%s/t10k-images-idx3-ubyte.gz", two);
    {
        uint8_t px[3 * 28 * 28];
        for (int i = 0; i < 3; i++)
            for (int q = 0; q < 28 * 28; q++)
                px[i * 28 * 28 + q] = idx_pixel(0, i, q);
        uint32_t d[3] = { 3, 28, 28 };
        fx_bytes b = idx_bytes(0x803, 3, d, px, sizeof px);
        gzFile g = gzopen(p2, "wb");
        ck_assert_int_eq(gzwrite(g, b.b, 100), 100);
        ck_assert_int_eq(gzclose(g), Z_OK);
        g = gzopen(p2, "ab");
        ck_assert_int_eq(gzwrite(g, b.b + 100, (unsigned)(b.n - 100)), (int)(b.n - 100));
        ck_assert_int_eq(gzclose(g), Z_OK);
        free(b.b);
    }
    ds = open_ok(two, NULL, false);
    check_idx(ds, 0, 3, 28, 28);
    dc_dataset_close(ds);
}
END_TEST

START_TEST(test_idx_bad_files)
{
    char root[512], path[800];
    fresh_dir(root, sizeof root, "ds_idx_bad");
    uint8_t px[4 * 28 * 28] = { 0 }, lb[5] = { 1, 2, 3, 4, 5 };
    uint32_t idims[3] = { 4, 28, 28 }, ldims[1] = { 4 }, ldims5[1] = { 5 };

    /* bad magic: the labels' magic on the images file */
    fx_bytes bi = idx_bytes(0x801, 3, idims, px, sizeof px);
    fx_bytes bl = idx_bytes(0x801, 1, ldims, lb, 4);
    write_maybe_gz(root, "t10k-images-idx3-ubyte", &bi, false);
    write_maybe_gz(root, "t10k-labels-idx1-ubyte", &bl, false);
    expect_open_error(root, NULL, false, DC_ERR_FORMAT, "t10k-images-idx3-ubyte",
                      "bad IDX magic 0x00000801");
    free(bi.b);

    /* label count mismatch */
    bi = idx_bytes(0x803, 3, idims, px, sizeof px);
    write_maybe_gz(root, "t10k-images-idx3-ubyte", &bi, false);
    fx_bytes bl5 = idx_bytes(0x801, 1, ldims5, lb, 5);
    write_maybe_gz(root, "t10k-labels-idx1-ubyte", &bl5, false);
    expect_open_error(root, NULL, false, DC_ERR_FORMAT, "t10k-labels-idx1-ubyte",
                      "5 labels but");

    /* a label of 10 */
    lb[2] = 10;
    free(bl.b);
    bl = idx_bytes(0x801, 1, ldims, lb, 4);
    write_maybe_gz(root, "t10k-labels-idx1-ubyte", &bl, false);
    expect_open_error(root, NULL, false, DC_ERR_FORMAT, "t10k-labels-idx1-ubyte", "label 10");
    lb[2] = 3;
    free(bl.b);
    bl = idx_bytes(0x801, 1, ldims, lb, 4);
    write_maybe_gz(root, "t10k-labels-idx1-ubyte", &bl, false);
    dc_dataset *ds = open_ok(root, NULL, false);
    dc_dataset_close(ds);

    /* truncated plain images */
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte", root);
    cut_file(path, 16 + 28 * 28 * 3 + 5);
    expect_open_error(root, NULL, false, DC_ERR_FORMAT, "t10k-images-idx3-ubyte", "truncated");
    cut_file(path, 10);
    expect_open_error(root, NULL, false, DC_ERR_FORMAT, "t10k-images-idx3-ubyte", "header");

    /* trailing bytes */
    fx_bytes big = idx_bytes(0x803, 3, idims, px, sizeof px);
    fx_put(&big, "xyz", 3);
    write_maybe_gz(root, "t10k-images-idx3-ubyte", &big, false);
    expect_open_error(root, NULL, false, DC_ERR_FORMAT, "t10k-images-idx3-ubyte", "trailing");
    free(big.b);

    /* truncated gzip: the plain file removed, a gz cut in the middle */
    remove(path);
    write_maybe_gz(root, "t10k-images-idx3-ubyte", &bi, true);
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte.gz", root);
    size_t gzlen;
    free(fx_read_file(path, &gzlen));
    cut_file(path, gzlen / 2);
    expect_open_error(root, NULL, false, DC_ERR_FORMAT, "t10k-images-idx3-ubyte.gz",
                      "truncated");
    /* corrupt gzip data */
    unsigned char *gz = NULL;
    write_maybe_gz(root, "t10k-images-idx3-ubyte", &bi, true);
    gz = fx_read_file(path, &gzlen);
    for (size_t i = 12; i < gzlen - 8; i++)
        gz[i] ^= 0x5a;
    ck_assert_int_eq(fx_write_file(path, gz, gzlen), 0);
    expect_open_error(root, NULL, false, DC_ERR_FORMAT, "t10k-images-idx3-ubyte.gz", NULL);
    free(gz);
    /* intact data but a wrong CRC in the gzip trailer */
    write_maybe_gz(root, "t10k-images-idx3-ubyte", &bi, true);
    gz = fx_read_file(path, &gzlen);
    gz[gzlen - 6] ^= 1;
    ck_assert_int_eq(fx_write_file(path, gz, gzlen), 0);
    expect_open_error(root, NULL, false, DC_ERR_FORMAT, "t10k-images-idx3-ubyte.gz",
                      "incorrect data check");
    free(gz);

    /* bytes that are not gzip after the gzip stream: zlib's gzread skipped them silently */
    write_maybe_gz(root, "t10k-images-idx3-ubyte", &bi, true);
    gz = fx_read_file(path, &gzlen);
    gz = realloc(gz, gzlen + 5);
    memcpy(gz + gzlen, "junk!", 5);
    ck_assert_int_eq(fx_write_file(path, gz, gzlen + 5), 0);
    expect_open_error(root, NULL, false, DC_ERR_FORMAT, "t10k-images-idx3-ubyte.gz",
                      "not gzip data");
    free(gz);
    /* a header announcing 2 million images (a gzip bomb inflates to 1.56 GB): refused from
     * the header, before anything is inflated */
    uint32_t bomb[3] = { 2000000, 28, 28 };
    fx_bytes bb = idx_bytes(0x803, 3, bomb, px, sizeof px);
    write_maybe_gz(root, "t10k-images-idx3-ubyte", &bb, true);
    free(bb.b);
    expect_open_error(root, NULL, false, DC_ERR_UNSUPPORTED, "t10k-images-idx3-ubyte.gz",
                      "over the limit");

    /* the labels file missing */
    write_maybe_gz(root, "t10k-images-idx3-ubyte", &bi, true);
    snprintf(path, sizeof path, "%s/t10k-labels-idx1-ubyte", root);
    remove(path);
    expect_open_error(root, "fashionmnist", false, DC_ERR_IO, "t10k-labels-idx1-ubyte", NULL);
    /* and the training split absent */
    expect_open_error(root, "fashionmnist", true, DC_ERR_IO, "train-images-idx3-ubyte", NULL);
    free(bi.b);
    free(bl.b);
    free(bl5.b);
}
END_TEST

/* ---- reading only the first samples (--skip + --limit) ----------------------- */

/* dc_dataset_open_first stops where the caller's samples end: the first 5 of a gzip'd IDX
 * split, the first 4 CIFAR-10 training records (data_batch_1 and 2 hold 1 + 2, so 1 of
 * data_batch_3's and none of the later files, which may then be damaged), and an IDX
 * header announcing a million images with 12 present (a whole read is refused as
 * truncated; the first 5 are there, so reading them succeeds without allocating for the
 * million). */
START_TEST(test_open_first)
{
    char root[512];
    dc_error err = { 0 };
    dc_dataset *ds = NULL;
    fresh_dir(root, sizeof root, "ds_first_idx");
    write_idx_split(root, 1, 12, 28, 28, true);
    ck_assert_msg(dc_dataset_open_first(root, NULL, true, 5, &ds, &err) == DC_OK, "%s",
                  err.msg);
    check_idx(ds, 1, 5, 28, 28);
    dc_dataset_close(ds);
    /* more than there are: all of them */
    ck_assert_int_eq(dc_dataset_open_first(root, NULL, true, 50, &ds, &err), DC_OK);
    check_idx(ds, 1, 12, 28, 28);
    dc_dataset_close(ds);

    /* a million announced, 12 stored */
    uint32_t dims[3] = { 1000000, 28, 28 }, ldims[1] = { 1000000 };
    uint8_t *px = malloc(12 * 28 * 28), lb[12];
    for (int i = 0; i < 12; i++) {
        lb[i] = (uint8_t)idx_label(1, i);
        for (int p = 0; p < 28 * 28; p++)
            px[i * 28 * 28 + p] = idx_pixel(1, i, p);
    }
    fx_bytes bi = idx_bytes(0x803, 3, dims, px, 12 * 28 * 28);
    fx_bytes bl = idx_bytes(0x801, 1, ldims, lb, 12);
    write_maybe_gz(root, "train-images-idx3-ubyte", &bi, true);
    write_maybe_gz(root, "train-labels-idx1-ubyte", &bl, true);
    expect_open_error(root, NULL, true, DC_ERR_FORMAT, "train-images-idx3-ubyte", "truncated");
    ck_assert_msg(dc_dataset_open_first(root, NULL, true, 5, &ds, &err) == DC_OK, "%s",
                  err.msg);
    check_idx(ds, 1, 5, 28, 28);
    dc_dataset_close(ds);
    free(bi.b);
    free(bl.b);
    free(px);

    /* CIFAR-10: the first 4 training records; data_batch_4 and 5 are never opened */
    fresh_dir(root, sizeof root, "ds_first_cifar");
    write_cifar_bin(root);
    char path[700];
    snprintf(path, sizeof path, "%s/data_batch_5.bin", root);
    cut_file(path, 100);
    expect_open_error(root, NULL, true, DC_ERR_FORMAT, "data_batch_5.bin", NULL);
    ck_assert_msg(dc_dataset_open_first(root, NULL, true, 4, &ds, &err) == DC_OK, "%s",
                  err.msg);
    ck_assert_int_eq(dc_dataset_count(ds), 4);
    static const int file_of[4] = { 0, 1, 1, 2 }, rec_of[4] = { 0, 0, 1, 0 };
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(dc_dataset_label(ds, i), cifar_label(file_of[i], rec_of[i]));
        dc_image img = image_ok(ds, i);
        ck_assert_int_eq(img.data[3 * 33 + 1], cifar_byte(file_of[i], rec_of[i], 1024 + 33));
        dc_image_free(&img);
    }
    dc_dataset_close(ds);
}
END_TEST

/* ---- folder trees ------------------------------------------------------------- */

/* A w x h RGB image whose pixels encode seed. */
static dc_image pattern(int w, int h, int seed)
{
    dc_image img = { w, h, 3, malloc((size_t)w * h * 3) };
    ck_assert_ptr_nonnull(img.data);
    for (int i = 0; i < w * h * 3; i++)
        img.data[i] = (uint8_t)(seed * 40 + i * 13 + (i / 3 / w) * 5);
    return img;
}

static void write_png_at(const char *dir, const char *name, const dc_image *img)
{
    char path[1024];
    dc_error err = { 0 };
    snprintf(path, sizeof path, "%s/%s", dir, name);
    ck_assert_msg(dc_image_write_png(path, img, &err) == DC_OK, "%s", err.msg);
}

static void write_jpeg_at(const char *dir, const char *name, const dc_image *img)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    c.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = (JDIMENSION)img->w;
    c.image_height = (JDIMENSION)img->h;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 90, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = img->data + (size_t)c.next_scanline * img->w * 3;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_folder_tree)
{
    char root[512], d[700];
    fresh_dir(root, sizeof root, "ds_tree");
    /* classes in strcmp order: "Zebra" < "a_cls" < "b_cls" < "c_empty" */
    dc_image im[4] = { pattern(5, 4, 0), pattern(3, 7, 1), pattern(16, 16, 2),
                       pattern(6, 2, 3) };
    make_dir(d, sizeof d, root, "b_cls");
    write_png_at(d, "z.png", &im[0]);
    write_png_at(d, "a.PNG", &im[1]);
    write_at(d, "notes.txt", "not an image", 12);
    write_at(d, ".hidden.png", "junk", 4);
    make_dir(d, sizeof d, root, "a_cls");
    write_jpeg_at(d, "pic.JPEG", &im[2]);
    write_png_at(d, "pic.jpg.png", &im[3]);
    make_dir(d, sizeof d, root, "a_cls/deeper"); /* not searched */
    write_png_at(d, "x.png", &im[0]);
    make_dir(d, sizeof d, root, "c_empty");
    make_dir(d, sizeof d, root, "Zebra");
    write_jpeg_at(d, "only.jpg", &im[2]);
    make_dir(d, sizeof d, root, ".git");
    write_png_at(d, "x.png", &im[0]);
    write_at(root, "README", "hello", 5);

    dc_dataset *ds = open_ok(root, NULL, false);
    ck_assert_str_eq(dc_dataset_kind(ds), "imagenet");
    ck_assert_int_eq(dc_dataset_num_classes(ds), 4);
    const char *classes[4] = { "Zebra", "a_cls", "b_cls", "c_empty" };
    for (int k = 0; k < 4; k++)
        ck_assert_str_eq(dc_dataset_class_name(ds, k), classes[k]);
    ck_assert_int_eq(dc_dataset_count(ds), 5);
    const char *files[5] = { "Zebra/only.jpg", "a_cls/pic.JPEG", "a_cls/pic.jpg.png",
                             "b_cls/a.PNG", "b_cls/z.png" };
    const int labels[5] = { 0, 1, 1, 2, 2 };
    const int which[5] = { 2, 2, 3, 1, 0 };
    for (int i = 0; i < 5; i++) {
        char want[900];
        snprintf(want, sizeof want, "%s/%s", root, files[i]);
        ck_assert_str_eq(dc_dataset_file(ds, i), want);
        ck_assert_int_eq(dc_dataset_label(ds, i), labels[i]);
        dc_image img = image_ok(ds, i);
        const dc_image *ref = &im[which[i]];
        ck_assert_int_eq(img.w, ref->w);
        ck_assert_int_eq(img.h, ref->h);
        ck_assert_int_eq(img.c, 3);
        bool png = strstr(files[i], ".png") || strstr(files[i], ".PNG");
        if (png)
            ck_assert_int_eq(memcmp(img.data, ref->data, (size_t)ref->w * ref->h * 3), 0);
        dc_image_free(&img);
    }
    ck_assert_ptr_null(dc_dataset_file(ds, 5));
    dc_dataset_close(ds);

    /* a corrupt PNG in the tree: opening works, reading it names the file */
    make_dir(d, sizeof d, root, "b_cls");
    write_at(d, "m_bad.png", "\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00", 18);
    ds = open_ok(root, "imagenet", false);
    ck_assert_int_eq(dc_dataset_count(ds), 6);
    dc_image img;
    dc_error err = { 0 };
    ck_assert_int_eq(dc_dataset_image(ds, 4, &img, &err), DC_ERR_FORMAT);
    ck_assert_ptr_null(img.data);
    ck_assert_msg(strstr(err.msg, "b_cls/m_bad.png") != NULL, "%s", err.msg);
    img = image_ok(ds, 5);
    dc_image_free(&img);
    dc_dataset_close(ds);
    for (int k = 0; k < 4; k++)
        dc_image_free(&im[k]);
}
END_TEST

/* --skip / a held-out validation split: samples first.. of the split become 0.. */
START_TEST(test_keep_window)
{
    char root[512];
    fresh_dir(root, sizeof root, "ds_keep");
    write_idx_split(root, 1, 12, 28, 28, false);
    dc_dataset *ds = open_ok(root, NULL, true);
    dc_error err = { 0 };
    ck_assert_int_eq(dc_dataset_keep(ds, 12, 0, &err), DC_ERR_ARG); /* nothing left */
    ck_assert_msg(strstr(err.msg, root) != NULL, "%s", err.msg);
    ck_assert_int_eq(dc_dataset_keep(ds, -1, 0, &err), DC_ERR_ARG);
    ck_assert_int_eq(dc_dataset_count(ds), 12); /* unchanged after a refusal */
    ck_assert_int_eq(dc_dataset_keep(ds, 5, 4, &err), DC_OK);
    ck_assert_int_eq(dc_dataset_count(ds), 4);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(dc_dataset_label(ds, i), idx_label(1, 5 + i));
        dc_image img = image_ok(ds, i);
        for (int p = 0; p < 28 * 28; p++)
            ck_assert_int_eq(img.data[p], idx_pixel(1, 5 + i, p));
        dc_image_free(&img);
    }
    ck_assert_int_eq(dc_dataset_label(ds, 4), -1);
    ck_assert_int_eq(dc_dataset_keep(ds, 1, 100, &err), DC_OK); /* count clipped */
    ck_assert_int_eq(dc_dataset_count(ds), 3);
    ck_assert_int_eq(dc_dataset_label(ds, 0), idx_label(1, 6));
    dc_dataset_close(ds);

    /* a folder tree keeps the right file names (the others are freed: ASan checks) */
    char d[700];
    fresh_dir(root, sizeof root, "ds_keep_tree");
    dc_image im = pattern(4, 4, 0);
    make_dir(d, sizeof d, root, "a");
    write_png_at(d, "1.png", &im);
    write_png_at(d, "2.png", &im);
    make_dir(d, sizeof d, root, "b");
    write_png_at(d, "3.png", &im);
    ds = open_ok(root, "imagenet", false);
    ck_assert_int_eq(dc_dataset_keep(ds, 1, 1, &err), DC_OK);
    ck_assert_int_eq(dc_dataset_count(ds), 1);
    char want[900];
    snprintf(want, sizeof want, "%s/a/2.png", root);
    ck_assert_str_eq(dc_dataset_file(ds, 0), want);
    ck_assert_int_eq(dc_dataset_label(ds, 0), 0);
    dc_dataset_close(ds);
    dc_image_free(&im);
}
END_TEST

START_TEST(test_folder_splits_and_errors)
{
    char root[512], d[700];
    fresh_dir(root, sizeof root, "ds_tree_split");
    dc_image a = pattern(4, 4, 1);
    make_dir(d, sizeof d, root, "val/cat");
    write_png_at(d, "1.png", &a);
    make_dir(d, sizeof d, root, "val/dog");
    write_png_at(d, "1.png", &a);
    write_png_at(d, "2.png", &a);
    make_dir(d, sizeof d, root, "train/cat");
    write_png_at(d, "1.png", &a);
    dc_dataset *ds = open_ok(root, "imagenet", false);
    ck_assert_int_eq(dc_dataset_count(ds), 3);
    ck_assert_int_eq(dc_dataset_num_classes(ds), 2);
    dc_dataset_close(ds);
    ds = open_ok(root, "imagenet", true);
    ck_assert_int_eq(dc_dataset_count(ds), 1);
    ck_assert_int_eq(dc_dataset_num_classes(ds), 1);
    dc_dataset_close(ds);
    dc_image_free(&a);

    /* errors */
    char empty[512], file[800];
    fresh_dir(empty, sizeof empty, "ds_tree_empty");
    expect_open_error(empty, NULL, false, DC_ERR_ARG, empty, "not a dataset");
    expect_open_error(empty, "imagenet", false, DC_ERR_FORMAT, empty, "no class folders");
    expect_open_error(empty, "mnist", false, DC_ERR_ARG, "mnist", "unknown dataset kind");
    snprintf(file, sizeof file, "%s/file", empty);
    write_at(empty, "file", "x", 1);
    expect_open_error(file, NULL, false, DC_ERR_IO, file, "not a directory");
    snprintf(file, sizeof file, "%s/absent", empty);
    expect_open_error(file, NULL, false, DC_ERR_IO, file, "No such file");
}
END_TEST

/* ---- Intel -------------------------------------------------------------------- */

static const char *intel_classes[6] = { "buildings", "forest", "glacier", "mountain", "sea",
                                        "street" };

/* PIL's view of the same files: Image.open(f).resize((32, 32)) (the default filter),
 * written as raw RGB, one file after the other. */
static const char *intel_pil_script =
    "import sys\n"
    "try:\n"
    "    from PIL import Image\n"
    "except ImportError:\n"
    "    sys.exit(77)\n"
    "paths = open(sys.argv[1]).read().split('\\n')[:-1]\n"
    "with open(sys.argv[1] + '.rgb', 'wb') as out:\n"
    "    for p in paths:\n"
    "        im = Image.open(p).convert('RGB').resize((32, 32))\n"
    "        out.write(im.tobytes())\n";

START_TEST(test_intel)
{
    char root[512], d[900];
    fresh_dir(root, sizeof root, "ds_intel");
    dc_image big = pattern(150, 150, 5), odd = pattern(150, 113, 6), tiny = pattern(32, 32, 7);
    for (int split = 0; split < 2; split++)
        for (int k = 0; k < 6; k++) {
            char sub[128];
            const char *s = split ? "seg_train" : "seg_test";
            snprintf(sub, sizeof sub, "%s/%s/%s", s, s, intel_classes[k]);
            make_dir(d, sizeof d, root, sub);
            if (k == 2)
                continue; /* an empty class */
            write_png_at(d, "10.png", &big);
            if (split == 0 && k == 0) {
                write_jpeg_at(d, "20.jpg", &odd);
                write_png_at(d, "30.png", &tiny);
            }
        }
    dc_dataset *ds = open_ok(root, NULL, false);
    ck_assert_str_eq(dc_dataset_kind(ds), "intel");
    ck_assert_int_eq(dc_dataset_num_classes(ds), 6);
    for (int k = 0; k < 6; k++)
        ck_assert_str_eq(dc_dataset_class_name(ds, k), intel_classes[k]);
    ck_assert_int_eq(dc_dataset_count(ds), 7);
    ck_assert_int_eq(dc_dataset_label(ds, 3), 1);
    ck_assert_int_eq(dc_dataset_label(ds, 6), 5);
    /* every image comes back 32 x 32; a 32 x 32 one unchanged */
    for (int i = 0; i < 7; i++) {
        dc_image img = image_ok(ds, i);
        ck_assert_int_eq(img.w, 32);
        ck_assert_int_eq(img.h, 32);
        ck_assert_int_eq(img.c, 3);
        if (i == 2)
            ck_assert_int_eq(memcmp(img.data, tiny.data, 32 * 32 * 3), 0);
        dc_image_free(&img);
    }
    /* and equal to what PIL makes of the same files */
    char list[512];
    fx_path(list, sizeof list, "ds_intel_files.txt");
    FILE *f = fopen(list, "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < 7; i++)
        fprintf(f, "%s\n", dc_dataset_file(ds, i));
    fclose(f);
    if (run_python("ds_intel_pil.py", intel_pil_script, list)) {
        char rgb[600];
        snprintf(rgb, sizeof rgb, "%s.rgb", list);
        size_t len;
        unsigned char *want = fx_read_file(rgb, &len);
        ck_assert_uint_eq(len, 7 * 32 * 32 * 3);
        for (int i = 0; i < 7; i++) {
            dc_image img = image_ok(ds, i);
            int diff = 0;
            for (int p = 0; p < 32 * 32 * 3; p++)
                diff += img.data[p] != want[i * 3072 + p];
            ck_assert_msg(diff == 0, "%s: %d of 3072 bytes differ from PIL",
                          dc_dataset_file(ds, i), diff);
            dc_image_free(&img);
        }
        free(want);
    }
    dc_dataset_close(ds);

    ds = open_ok(root, "intel", true);
    ck_assert_int_eq(dc_dataset_count(ds), 5);
    dc_dataset_close(ds);
    /* the tree given directly (kind named or detected from the six class names) */
    snprintf(d, sizeof d, "%s/seg_train/seg_train", root);
    ds = open_ok(d, NULL, false);
    ck_assert_str_eq(dc_dataset_kind(ds), "intel");
    ck_assert_int_eq(dc_dataset_count(ds), 5);
    dc_dataset_close(ds);
    /* .../seg_test holding seg_test/ */
    snprintf(d, sizeof d, "%s/seg_test", root);
    ds = open_ok(d, "intel", true);
    ck_assert_int_eq(dc_dataset_count(ds), 7);
    dc_dataset_close(ds);
    /* a split that is not there */
    char half[512], sub[700];
    fresh_dir(half, sizeof half, "ds_intel_half");
    make_dir(sub, sizeof sub, half, "seg_train/seg_train/sea");
    expect_open_error(half, NULL, false, DC_ERR_IO, half, "no seg_test/");
    dc_image_free(&big);
    dc_image_free(&odd);
    dc_image_free(&tiny);
}
END_TEST

/* ---- the real FashionMNIST ------------------------------------------------------ */

START_TEST(test_real_fashion_mnist)
{
    char probe[256];
    snprintf(probe, sizeof probe, "%s/t10k-images-idx3-ubyte.gz", FMNIST_DIR);
    if (access(probe, R_OK) != 0) {
        fx_skip("%s is absent (Debian package dataset-fashion-mnist)", probe);
        return;
    }
    dc_dataset *ds = open_ok(FMNIST_DIR, NULL, false);
    ck_assert_str_eq(dc_dataset_kind(ds), "fashionmnist");
    ck_assert_int_eq(dc_dataset_count(ds), 10000);
    /* checked by reading the files with Python: labels 9 2 1 1 6, pixel sums 33456 and
     * 24390 for the first and last images */
    ck_assert_int_eq(dc_dataset_label(ds, 0), 9);
    ck_assert_str_eq(dc_dataset_class_name(ds, 9), "Ankle boot");
    const int first[5] = { 9, 2, 1, 1, 6 };
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(dc_dataset_label(ds, i), first[i]);
    const int idx[2] = { 0, 9999 };
    const long sums[2] = { 33456, 24390 };
    for (int j = 0; j < 2; j++) {
        dc_image img = image_ok(ds, idx[j]);
        ck_assert_int_eq(img.w, 28);
        ck_assert_int_eq(img.h, 28);
        ck_assert_int_eq(img.c, 1);
        long s = 0;
        for (int p = 0; p < 28 * 28; p++)
            s += img.data[p];
        ck_assert_int_eq(s, sums[j]);
        dc_image_free(&img);
    }
    dc_dataset_close(ds);
    ds = open_ok(FMNIST_DIR, "fashionmnist", true);
    ck_assert_int_eq(dc_dataset_count(ds), 60000);
    ck_assert_int_eq(dc_dataset_label(ds, 0), 9);
    ck_assert_int_eq(dc_dataset_label(ds, 3), 3);
    dc_dataset_close(ds);
}
END_TEST

static Suite *datasets_suite(void)
{
    Suite *s = suite_create("datasets");
    TCase *cifar = fx_tcase(s, "cifar10", 120);
    tcase_add_test(cifar, test_cifar_binary);
    tcase_add_test(cifar, test_cifar_binary_bad_files);
    tcase_add_test(cifar, test_cifar_python2_pickles);
    tcase_add_test(cifar, test_cifar_python_bad_files);
    tcase_add_test(cifar, test_cifar_python3_pickles);
    TCase *idx = fx_tcase(s, "fashionmnist", 120);
    tcase_add_test(idx, test_idx_plain_and_gz);
    tcase_add_test(idx, test_idx_bad_files);
    tcase_add_test(idx, test_keep_window);
    tcase_add_test(idx, test_open_first);
    tcase_add_test(idx, test_real_fashion_mnist);
    TCase *tree = fx_tcase(s, "folders", 120);
    tcase_add_test(tree, test_folder_tree);
    tcase_add_test(tree, test_folder_splits_and_errors);
    tcase_add_test(tree, test_intel);
    return s;
}

FX_MAIN(datasets_suite)
