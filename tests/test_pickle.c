/*
 * test_pickle.c — the minimal pickle reader: CIFAR-10-like dicts as Python 2's cPickle
 * wrote them (built here byte by byte) and as Python 3 writes them with protocols 2 and 3
 * (generated at test time by /usr/bin/python3 when it has NumPy); refusals of foreign
 * globals, calls and opcodes; truncated and corrupted pickles.
 */
#include "fixtures.h"
#include "fx_bytes.h"
#include "loaders/pickle.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A memo put: BINPUT, or LONG_BINPUT for large indices, as cPickle does. */
static void py2_put(fx_bytes *o, uint32_t *memo)
{
    uint32_t i = (*memo)++;
    if (i < 256) {
        fx_put1(o, 'q');
        fx_put1(o, (uint8_t)i);
    } else {
        fx_put1(o, 'r');
        fx_put_le32(o, i);
    }
}

static void py2_int(fx_bytes *o, int v)
{
    if (v >= 0 && v < 256) {
        fx_put1(o, 'K');
        fx_put1(o, (uint8_t)v);
    } else if (v >= 0 && v < 65536) {
        fx_put1(o, 'M');
        fx_put1(o, (uint8_t)v);
        fx_put1(o, (uint8_t)(v >> 8));
    } else {
        fx_put1(o, 'J');
        fx_put_le32(o, (uint32_t)v);
    }
}

/* Python 2 cPickle, protocol 2, of
 *   {'data': array(N x 3072, uint8), 'labels': [...], 'batch_label': '...',
 *    'filenames': ['img_0.png', ...]}
 * opcode for opcode as the original CIFAR-10 files (memo indices from 1, the dtype built
 * with ('u1', 0, 1) and state (3, '|', None, None, None, -1, -1, 0)). */
static fx_bytes py2_cifar_pickle(int n, const uint8_t *data, const int *labels)
{
    fx_bytes o = { 0 };
    uint32_t memo = 1;
    fx_put(&o, "\x80\x02}", 3);
    py2_put(&o, &memo);
    fx_put1(&o, '(');
    fx_py2_cstr(&o, "data");
    py2_put(&o, &memo);
    fx_put_str(&o, "cnumpy.core.multiarray\n_reconstruct\n");
    py2_put(&o, &memo);
    fx_put_str(&o, "cnumpy\nndarray\n");
    py2_put(&o, &memo);
    fx_put(&o, "K\x00\x85", 3);
    fx_py2_cstr(&o, "b");
    fx_put1(&o, 0x87);
    fx_put1(&o, 'R');
    py2_put(&o, &memo);
    fx_put1(&o, '(');
    py2_int(&o, 1);
    py2_int(&o, n);
    py2_int(&o, 3072);
    fx_put1(&o, 0x86);
    fx_put_str(&o, "cnumpy\ndtype\n");
    py2_put(&o, &memo);
    fx_py2_cstr(&o, "u1");
    fx_put(&o, "K\x00K\x01\x87R", 6);
    py2_put(&o, &memo);
    fx_put1(&o, '(');
    py2_int(&o, 3);
    fx_py2_cstr(&o, "|");
    FX_PUTL(&o, "NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb");
    fx_put1(&o, 0x89); /* NEWFALSE: C order */
    fx_py2_str(&o, data, (size_t)n * 3072);
    fx_put(&o, "tb", 2);
    fx_py2_cstr(&o, "labels");
    py2_put(&o, &memo);
    fx_put1(&o, ']');
    py2_put(&o, &memo);
    fx_put1(&o, '(');
    for (int i = 0; i < n; i++)
        py2_int(&o, labels[i]);
    fx_put1(&o, 'e');
    fx_py2_cstr(&o, "batch_label");
    py2_put(&o, &memo);
    fx_py2_cstr(&o, "testing batch 1 of 1");
    py2_put(&o, &memo);
    fx_py2_cstr(&o, "filenames");
    py2_put(&o, &memo);
    fx_put1(&o, ']');
    py2_put(&o, &memo);
    fx_put1(&o, '(');
    for (int i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "img_%d.png", i);
        fx_py2_cstr(&o, name);
        py2_put(&o, &memo);
    }
    fx_put(&o, "eu.", 3);
    return o;
}

/* The deterministic pixels and labels every CIFAR-like fixture here uses. */
static uint8_t fixture_pixel(size_t i)
{
    return (uint8_t)(i * 7 % 251);
}

static int fixture_label(int i)
{
    static const int l[] = { 3, 8, 8, 0, 6, 6, 1, 6, 3, 1 };
    return l[i % 10];
}

/* Checks a parsed CIFAR-like dict of n records. */
static void check_cifar_dict(const dc_pickle *pk, int n)
{
    const dc_pickle_value *root = dc_pickle_root(pk);
    ck_assert_int_eq(root->kind, DC_PK_DICT);
    ck_assert_uint_eq(root->count, 4);
    const dc_pickle_value *data = dc_pickle_dict_get(root, "data");
    ck_assert_ptr_nonnull(data);
    ck_assert_int_eq(data->kind, DC_PK_ARRAY);
    ck_assert_int_eq(data->ndim, 2);
    ck_assert_int_eq(data->shape[0], n);
    ck_assert_int_eq(data->shape[1], 3072);
    ck_assert_uint_eq(data->len, (size_t)n * 3072);
    for (size_t i = 0; i < data->len; i++)
        ck_assert_msg(data->bytes[i] == fixture_pixel(i), "data byte %zu", i);
    const dc_pickle_value *labels = dc_pickle_dict_get(root, "labels");
    ck_assert_ptr_nonnull(labels);
    ck_assert_int_eq(labels->kind, DC_PK_LIST);
    ck_assert_uint_eq(labels->count, (size_t)n);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(labels->items[i]->kind, DC_PK_INT);
        ck_assert_int_eq(labels->items[i]->i, fixture_label(i));
    }
    const dc_pickle_value *bl = dc_pickle_dict_get(root, "batch_label");
    ck_assert_ptr_nonnull(bl);
    ck_assert_int_eq(bl->kind, DC_PK_BYTES);
    ck_assert_uint_eq(bl->len, 20);
    ck_assert_int_eq(memcmp(bl->bytes, "testing batch 1 of 1", 20), 0);
    const dc_pickle_value *fn = dc_pickle_dict_get(root, "filenames");
    ck_assert_ptr_nonnull(fn);
    ck_assert_int_eq(fn->kind, DC_PK_LIST);
    ck_assert_uint_eq(fn->count, (size_t)n);
    for (int i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "img_%d.png", i);
        ck_assert_int_eq(fn->items[i]->kind, DC_PK_BYTES);
        ck_assert_uint_eq(fn->items[i]->len, strlen(name));
        ck_assert_int_eq(memcmp(fn->items[i]->bytes, name, strlen(name)), 0);
    }
    ck_assert_ptr_null(dc_pickle_dict_get(root, "nope"));
}

static uint8_t *fixture_data(int n)
{
    uint8_t *d = malloc((size_t)n * 3072);
    ck_assert_ptr_nonnull(d);
    for (size_t i = 0; i < (size_t)n * 3072; i++)
        d[i] = fixture_pixel(i);
    return d;
}

static fx_bytes py2_fixture(int n)
{
    uint8_t *d = fixture_data(n);
    int labels[300];
    ck_assert_int_le(n, 300);
    for (int i = 0; i < n; i++)
        labels[i] = fixture_label(i);
    fx_bytes o = py2_cifar_pickle(n, d, labels);
    free(d);
    return o;
}

/* Parses buf expecting failure with code and a message holding each of the words. */
static void expect_refusal(const fx_bytes *b, dc_status code, const char *w1, const char *w2)
{
    dc_pickle *pk = (dc_pickle *)1;
    dc_error err = { 0 };
    dc_status st = dc_pickle_parse(b->b, b->n, "evil.pkl", &pk, &err);
    ck_assert_msg(st == code, "expected status %d, got %d (%s)", code, st, err.msg);
    ck_assert_ptr_null(pk);
    ck_assert_msg(strstr(err.msg, "evil.pkl") != NULL, "no file name: %s", err.msg);
    ck_assert_msg(!w1 || strstr(err.msg, w1) != NULL, "no \"%s\" in: %s", w1, err.msg);
    ck_assert_msg(!w2 || strstr(err.msg, w2) != NULL, "no \"%s\" in: %s", w2, err.msg);
}

/* ---- Python 2 files ------------------------------------------------------ */

START_TEST(test_python2_cifar_dict)
{
    /* 300 records: BINSTRING data, BININT2 dims, LONG_BINPUT memo entries */
    for (int n = 1; n <= 300; n += 299) {
        fx_bytes b = py2_fixture(n);
        dc_pickle *pk;
        dc_error err = { 0 };
        ck_assert_msg(dc_pickle_parse(b.b, b.n, "py2.pkl", &pk, &err) == DC_OK, "%s", err.msg);
        check_cifar_dict(pk, n);
        dc_pickle_free(pk);
        free(b.b);
    }
}
END_TEST

START_TEST(test_python2_file_loads)
{
    fx_bytes b = py2_fixture(5);
    char path[512];
    fx_path(path, sizeof path, "pickle_py2.pkl");
    ck_assert_int_eq(fx_write_file(path, b.b, b.n), 0);
    dc_pickle *pk;
    dc_error err = { 0 };
    ck_assert_msg(dc_pickle_load(path, 1 << 20, &pk, &err) == DC_OK, "%s", err.msg);
    check_cifar_dict(pk, 5);
    dc_pickle_free(pk);
    /* too large for the limit */
    ck_assert_int_eq(dc_pickle_load(path, 100, &pk, &err), DC_ERR_FORMAT);
    ck_assert_ptr_null(pk);
    ck_assert_ptr_nonnull(strstr(err.msg, path));
    /* missing */
    fx_path(path, sizeof path, "pickle_missing.pkl");
    remove(path);
    ck_assert_int_eq(dc_pickle_load(path, 1 << 20, &pk, &err), DC_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, path));
    free(b.b);
}
END_TEST

/* When Python is here: Python itself reads the hand-made Python 2 pickle as CIFAR's
 * loader does (pickle.load(f, encoding='bytes')) and finds the same content. */
START_TEST(test_python2_fixture_is_what_python_reads)
{
    if (access(FX_PYTHON, X_OK) != 0) {
        fx_skip(FX_PYTHON " is not installed");
        return;
    }
    fx_bytes b = py2_fixture(5);
    char path[512], cmd[1400];
    fx_path(path, sizeof path, "pickle_py2_check.pkl");
    ck_assert_int_eq(fx_write_file(path, b.b, b.n), 0);
    snprintf(cmd, sizeof cmd,
             FX_PYTHON " -c \"import pickle,sys\n"
             "try:\n import numpy as np\nexcept ImportError:\n sys.exit(77)\n"
             "d = pickle.load(open('%s', 'rb'), encoding='bytes')\n"
             "x = d[b'data']\n"
             "ok = x.dtype == np.uint8 and x.shape == (5, 3072) and "
             "bytes(x.tobytes()) == bytes(i * 7 %% 251 for i in range(5 * 3072)) and "
             "d[b'labels'] == [3, 8, 8, 0, 6] and d[b'batch_label'] == b'testing batch 1 of 1' "
             "and d[b'filenames'][4] == b'img_4.png'\n"
             "sys.exit(0 if ok else 3)\"", path);
    int rc = system(cmd);
    int code = (rc != -1 && WIFEXITED(rc)) ? WEXITSTATUS(rc) : -1;
    if (code == 77) {
        fprintf(stderr, "SKIPPED: " FX_PYTHON " has no NumPy\n");
    } else {
        ck_assert_msg(code == 0, "Python reads the fixture differently (status %d)", code);
    }
    free(b.b);
}
END_TEST

/* ---- Python 3 files ------------------------------------------------------ */

static const char *py3_script =
    "import sys, pickle\n"
    "try:\n"
    "    import numpy as np\n"
    "except ImportError:\n"
    "    sys.exit(77)\n"
    "n = 5\n"
    "data = np.array([i * 7 % 251 for i in range(n * 3072)], np.uint8).reshape(n, 3072)\n"
    "d = {b'batch_label': b'testing batch 1 of 1', b'labels': [3, 8, 8, 0, 6][:n],\n"
    "     b'data': data, b'filenames': [b'img_%d.png' % i for i in range(n)]}\n"
    "for proto in (2, 3):\n"
    "    with open(sys.argv[1] + '.p%d' % proto, 'wb') as f:\n"
    "        pickle.dump(d, f, protocol=proto)\n"
    "meta = {b'num_cases_per_batch': 10000, b'label_names': [b'airplane', b'automobile',\n"
    "        b'bird', b'cat', b'deer', b'dog', b'frog', b'horse', b'ship', b'truck'],\n"
    "        b'num_vis': 3072}\n"
    "with open(sys.argv[1] + '.meta', 'wb') as f:\n"
    "    pickle.dump(meta, f, protocol=2)\n"
    "with open(sys.argv[1] + '.f4', 'wb') as f:\n"
    "    pickle.dump({b'data': np.zeros((2, 3), np.float32)}, f, protocol=2)\n"
    "with open(sys.argv[1] + '.fortran', 'wb') as f:\n"
    "    pickle.dump({b'data': np.asfortranarray(np.zeros((2, 3), np.uint8))}, f, protocol=2)\n"
    "with open(sys.argv[1] + '.p4', 'wb') as f:\n"
    "    pickle.dump(d, f, protocol=4)\n";

/* Runs py3_script; returns false (after saying why) when Python or NumPy is missing. */
static bool make_py3_pickles(char *base, size_t n)
{
    fx_path(base, n, "pickle_py3");
    int code = fx_python("pickle_py3.py", py3_script, base);
    if (code == FX_NO_PYTHON) {
        fprintf(stderr, "SKIPPED: " FX_PYTHON " is not installed\n");
        return false;
    }
    if (code == 77) {
        fprintf(stderr, "SKIPPED: " FX_PYTHON " has no NumPy\n");
        return false;
    }
    ck_assert_msg(code == 0, "the pickle generator failed (status %d)", code);
    return true;
}

static dc_status load_suffix(const char *base, const char *suffix, dc_pickle **pk, dc_error *err)
{
    char path[600];
    snprintf(path, sizeof path, "%s%s", base, suffix);
    return dc_pickle_load(path, 1 << 24, pk, err);
}

START_TEST(test_python3_protocols_2_and_3)
{
    char base[512];
    if (!make_py3_pickles(base, sizeof base))
        return;
    const char *suffixes[] = { ".p2", ".p3" };
    for (int i = 0; i < 2; i++) {
        dc_pickle *pk;
        dc_error err = { 0 };
        ck_assert_msg(load_suffix(base, suffixes[i], &pk, &err) == DC_OK, "%s", err.msg);
        check_cifar_dict(pk, 5);
        dc_pickle_free(pk);
    }
    dc_pickle *pk;
    dc_error err = { 0 };
    ck_assert_msg(load_suffix(base, ".meta", &pk, &err) == DC_OK, "%s", err.msg);
    const dc_pickle_value *names = dc_pickle_dict_get(dc_pickle_root(pk), "label_names");
    ck_assert_ptr_nonnull(names);
    ck_assert_uint_eq(names->count, 10);
    ck_assert_int_eq(names->items[9]->kind, DC_PK_BYTES);
    ck_assert_int_eq(memcmp(names->items[9]->bytes, "truck", 5), 0);
    const dc_pickle_value *nv = dc_pickle_dict_get(dc_pickle_root(pk), "num_vis");
    ck_assert_int_eq(nv->kind, DC_PK_INT);
    ck_assert_int_eq(nv->i, 3072);
    dc_pickle_free(pk);

    /* what these files never hold is refused */
    ck_assert_int_eq(load_suffix(base, ".f4", &pk, &err), DC_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err.msg, "'f4'"));
    ck_assert_int_eq(load_suffix(base, ".fortran", &pk, &err), DC_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err.msg, "Fortran"));
    ck_assert_int_eq(load_suffix(base, ".p4", &pk, &err), DC_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err.msg, "protocol 4"));
}
END_TEST

/* ---- refusals ------------------------------------------------------------ */

START_TEST(test_refuses_os_system)
{
    fx_bytes b = { 0 };
    FX_PUTL(&b, "\x80\x02" "cos\nsystem\nq\x00X\x04\x00\x00\x00" "echo\x85R.");
    expect_refusal(&b, DC_ERR_FORMAT, "os.system", "0x63 (GLOBAL) at offset 2");
    /* protocol 0, as a plain "cos\nsystem\n(S'echo'\ntR." would be */
    b.n = 0;
    FX_PUTL(&b, "cos\nsystem\n(S'echo'\ntR.");
    expect_refusal(&b, DC_ERR_FORMAT, "os.system", "offset 0");
    /* other globals that numpy pickles never need */
    const char *evil[] = { "c__builtin__\neval\n", "cbuiltins\nexec\n", "cnumpy\nload\n",
                           "cnumpy.core.multiarray\nscalar\n", "csubprocess\nPopen\n" };
    for (size_t i = 0; i < sizeof evil / sizeof evil[0]; i++) {
        b.n = 0;
        FX_PUTL(&b, "\x80\x02");
        fx_put_str(&b, evil[i]);
        fx_put_str(&b, ")R.");
        expect_refusal(&b, DC_ERR_FORMAT, "refuses the global", "offset 2");
    }
    free(b.b);
}
END_TEST

START_TEST(test_refuses_unknown_opcodes)
{
    fx_bytes b = { 0 };
    /* BINFLOAT, a real opcode these files never use */
    FX_PUTL(&b, "\x80\x02G\x40\x09\x21\xfb\x54\x44\x2d\x18.");
    expect_refusal(&b, DC_ERR_FORMAT, "opcode 0x47 (BINFLOAT) at offset 2", "not accepted");
    /* a byte that is no opcode at all */
    b.n = 0;
    FX_PUTL(&b, "\x80\x02}q\x00\xff.");
    expect_refusal(&b, DC_ERR_FORMAT, "opcode 0xff (unknown opcode) at offset 5", NULL);
    /* protocol 4 opcodes */
    b.n = 0;
    FX_PUTL(&b, "\x80\x02\x8c\x02os\x8c\x06system\x93.");
    expect_refusal(&b, DC_ERR_FORMAT, "0x8c (SHORT_BINUNICODE) at offset 2", NULL);
    b.n = 0;
    FX_PUTL(&b, "\x80\x02(X\x02\x00\x00\x00osX\x06\x00\x00\x00systemi");
    expect_refusal(&b, DC_ERR_FORMAT, "0x69 (INST)", NULL);
    free(b.b);
}
END_TEST

START_TEST(test_refuses_misused_callables)
{
    fx_bytes b = { 0 };
    /* _codecs.encode with another encoding */
    FX_PUTL(&b, "\x80\x02" "c_codecs\nencode\nX\x01\x00\x00\x00" "aX\x05\x00\x00\x00"
                "utf-8\x86R.");
    expect_refusal(&b, DC_ERR_FORMAT, "encode(text, 'latin1')", "0x52 (REDUCE)");
    /* latin1 of a character above U+00FF */
    b.n = 0;
    FX_PUTL(&b, "\x80\x02" "c_codecs\nencode\nX\x03\x00\x00\x00\xe2\x82\xac"
                "X\x06\x00\x00\x00latin1\x86R.");
    expect_refusal(&b, DC_ERR_FORMAT, "above U+00FF", NULL);
    /* _reconstruct of something other than ndarray */
    b.n = 0;
    FX_PUTL(&b, "\x80\x02" "cnumpy.core.multiarray\n_reconstruct\ncnumpy\ndtype\nK\x00\x85U\x01"
                "b\x87R.");
    expect_refusal(&b, DC_ERR_FORMAT, "_reconstruct(numpy.ndarray", NULL);
    /* calling numpy.ndarray directly */
    b.n = 0;
    FX_PUTL(&b, "\x80\x02" "cnumpy\nndarray\nK\x01\x85R.");
    expect_refusal(&b, DC_ERR_FORMAT, "calls something other", NULL);
    /* BUILD on a plain dict (would be __setstate__ / __dict__.update in Python) */
    b.n = 0;
    FX_PUTL(&b, "\x80\x02}}b.");
    expect_refusal(&b, DC_ERR_FORMAT, "0x62 (BUILD)", NULL);
    /* an array whose shape does not match its data */
    b.n = 0;
    FX_PUTL(&b, "\x80\x02" "cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01"
                "b\x87R(K\x01K\x02K\x03\x86" "cnumpy\ndtype\nU\x02u1K\x00K\x01\x87R(K\x03U\x01|"
                "NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89U\x05" "abcdetb.");
    expect_refusal(&b, DC_ERR_FORMAT, "holds 6 bytes but its data has 5", NULL);
    /* an array never built */
    b.n = 0;
    FX_PUTL(&b, "\x80\x02" "cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01"
                "b\x87R.");
    expect_refusal(&b, DC_ERR_FORMAT, "unfinished", NULL);
    free(b.b);
}
END_TEST

START_TEST(test_malformed_structure)
{
    struct {
        const char *bytes;
        size_t n;
        const char *word;
    } cases[] = {
        { "\x80\x02", 2, "without STOP" },
        { "", 0, "without STOP" },
        { "\x80\x02.", 3, "needs 1 value" },
        { "\x80\x02(K\x01.", 6, "MARK was never closed" },
        { "\x80\x02K\x01K\x02s.", 8, "no dict" },
        { "\x80\x02]K\x01K\x02s.", 9, "not a dict" },
        { "\x80\x02}(K\x01u.", 8, "odd number" },
        { "\x80\x02}K\x01" "a.", 7, "not a list" },
        { "\x80\x02h\x05.", 5, "never stored" },
        { "\x80\x02j\xff\xff\xff\x7f.", 8, "never stored" },
        { "\x80\x02K\x01r\xff\xff\xff\x7f.", 10, "out of range" },
        { "\x80\x02t.", 4, "no MARK" },
        { "\x80\x02" "e.", 4, "no MARK" },
        { "\x80\x02(e.", 5, "no list" },
        { "\x80\x02\x86.", 4, "needs 2 values" },
        { "\x80\x02T\xff\xff\xff\xff.", 8, "negative" },
        { "\x80\x02X\xff\xff\xff\x7f.", 8, "truncated" },
        { "\x80\x02U\x10" "abc.", 8, "truncated" },
        { "\x80\x02\x80\x01.", 5, "protocol 1" },
        { "\x80\x02" "cnumpy\n", 9, "no end" },
        { "\x80\x02}]K\x01s.", 8, "not a string or an int" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dc_pickle *pk;
        dc_error err = { 0 };
        dc_status st = dc_pickle_parse((const uint8_t *)cases[i].bytes, cases[i].n, "bad.pkl",
                                       &pk, &err);
        ck_assert_msg(st != DC_OK, "case %zu parsed", i);
        ck_assert_ptr_null(pk);
        ck_assert_msg(strstr(err.msg, cases[i].word) != NULL, "case %zu: no \"%s\" in: %s", i,
                      cases[i].word, err.msg);
        ck_assert_ptr_nonnull(strstr(err.msg, "bad.pkl"));
    }
}
END_TEST

/* Every cut of a real-shaped pickle fails cleanly with DC_ERR_FORMAT. */
START_TEST(test_truncated_pickles)
{
    fx_bytes b = py2_fixture(2);
    int cuts = 0;
    for (size_t len = 0; len < b.n; len += len < 400 ? 1 : 97) {
        dc_pickle *pk;
        dc_error err = { 0 };
        dc_status st = dc_pickle_parse(b.b, len, "cut.pkl", &pk, &err);
        ck_assert_msg(st == DC_ERR_FORMAT, "cut at %zu: status %d (%s)", len, st, err.msg);
        ck_assert_ptr_null(pk);
        ck_assert_ptr_nonnull(strstr(err.msg, "cut.pkl"));
        cuts++;
    }
    ck_assert_int_gt(cuts, 400);
    /* the data string cut short: the message says how much is missing */
    dc_pickle *pk;
    dc_error err = { 0 };
    ck_assert_int_eq(dc_pickle_parse(b.b, 1000, "cut.pkl", &pk, &err), DC_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "truncated: needs 6144 bytes") != NULL, "%s", err.msg);
    free(b.b);
}
END_TEST

/* Random corruption never crashes, leaks or reads out of bounds (run under ASan). */
START_TEST(test_corrupted_pickles)
{
    fx_bytes b = py2_fixture(2);
    uint8_t *copy = malloc(b.n);
    ck_assert_ptr_nonnull(copy);
    fx_rng r = fx_rng_seed(2024);
    int ok = 0;
    for (int t = 0; t < 3000; t++) {
        memcpy(copy, b.b, b.n);
        int flips = 1 + (int)(fx_rng_u64(&r) % 4);
        for (int k = 0; k < flips; k++) {
            /* mostly in the structure before the pixels, sometimes anywhere */
            size_t at = (t % 4) ? fx_rng_u64(&r) % 200 : fx_rng_u64(&r) % b.n;
            copy[at] = (uint8_t)fx_rng_u64(&r);
        }
        dc_pickle *pk;
        dc_error err = { 0 };
        if (dc_pickle_parse(copy, b.n, "fuzz.pkl", &pk, &err) == DC_OK) {
            ck_assert_ptr_nonnull(dc_pickle_root(pk));
            dc_pickle_free(pk);
            ok++;
        } else {
            ck_assert_ptr_null(pk);
            ck_assert_ptr_nonnull(strstr(err.msg, "fuzz.pkl"));
        }
    }
    fprintf(stderr, "corruption: %d of 3000 corrupted pickles still parsed\n", ok);
    free(copy);
    free(b.b);
}
END_TEST

/* Memo sharing and the small containers: a list stored once, fetched twice. */
START_TEST(test_memo_sharing_and_small_opcodes)
{
    fx_bytes b = { 0 };
    FX_PUTL(&b, "\x80\x02}q\x00(U\x01" "a]r\x00\x01\x00\x00K\x07" "a"  /* 'a': [7] (memo 256) */
                "U\x01" "bj\x00\x01\x00\x00"                 /* 'b': the same list */
                "U\x01" "c)U\x01" "dN\x88\x89\x87"           /* 'c': (), 'd': (None, True, False) */
                "C\x02xyM\x34\x12"                           /* b'xy': 0x1234 */
                "U\x01" "fJ\xfe\xff\xff\xff"                 /* 'f': -2 */
                "B\x01\x00\x00\x00gX\x02\x00\x00\x00\xc3\xa9"/* b'g': u'é' */
                "u.");
    dc_pickle *pk;
    dc_error err = { 0 };
    ck_assert_msg(dc_pickle_parse(b.b, b.n, "memo.pkl", &pk, &err) == DC_OK, "%s", err.msg);
    const dc_pickle_value *root = dc_pickle_root(pk);
    const dc_pickle_value *a = dc_pickle_dict_get(root, "a");
    ck_assert_ptr_eq(a, dc_pickle_dict_get(root, "b"));
    ck_assert_uint_eq(a->count, 1);
    ck_assert_int_eq(a->items[0]->i, 7);
    ck_assert_int_eq(dc_pickle_dict_get(root, "c")->kind, DC_PK_TUPLE);
    ck_assert_uint_eq(dc_pickle_dict_get(root, "c")->count, 0);
    const dc_pickle_value *d = dc_pickle_dict_get(root, "d");
    ck_assert_int_eq(d->items[0]->kind, DC_PK_NONE);
    ck_assert_int_eq(d->items[1]->kind, DC_PK_BOOL);
    ck_assert_int_eq(d->items[1]->i, 1);
    ck_assert_int_eq(d->items[2]->i, 0);
    ck_assert_int_eq(dc_pickle_dict_get(root, "xy")->i, 0x1234);
    ck_assert_int_eq(dc_pickle_dict_get(root, "f")->i, -2);
    const dc_pickle_value *g = dc_pickle_dict_get(root, "g");
    ck_assert_int_eq(g->kind, DC_PK_TEXT);
    ck_assert_uint_eq(g->len, 2);
    dc_pickle_free(pk);
    dc_pickle_free(NULL);
    free(b.b);
}
END_TEST

/* A dict of 130,000 int keys (each set twice: the second value must win) and one byte-string
 * key, as many as the limit of 2^18 values allows: insertion was quadratic (200,000 keys took
 * 68 s, so this would take about 30 s); it must take well under 10 s even under the
 * sanitizers. */
START_TEST(test_big_dict_is_linear)
{
    const uint32_t keys = 130000;
    fx_bytes o = { 0 };
    FX_PUTL(&o, "\x80\x02}(");           /* PROTO 2, EMPTY_DICT, MARK */
    for (uint32_t i = 0; i < keys; i++) {
        fx_put1(&o, 'J');
        fx_put_le32(&o, i * 7u);        /* the key */
        fx_put1(&o, 'J');
        fx_put_le32(&o, i);             /* the value */
    }
    FX_PUTL(&o, "u(J\x07\x00\x00\x00J\x2a\x00\x00\x00U\x03" "abc" "J\x05\x00\x00\x00u.");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    dc_pickle *pk = NULL;
    dc_error err;
    dc_status st = dc_pickle_parse(o.b, o.n, "big_dict.pkl", &pk, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    ck_assert_msg(st == DC_OK, "%s", err.msg);
    ck_assert_msg(secs < 10.0, "a %u-key dict took %.1f s to parse", keys, secs);
    const dc_pickle_value *d = dc_pickle_root(pk);
    ck_assert_int_eq(d->kind, DC_PK_DICT);
    ck_assert_uint_eq(d->count, keys + 1);      /* key 7 was set again, not added */
    ck_assert_int_eq(d->items[2 * 1 + 1]->i, 42); /* key 7 (i = 1) now holds 42 */
    ck_assert_int_eq(d->items[2 * 5 + 1]->i, 5);
    const dc_pickle_value *v = dc_pickle_dict_get(d, "abc");
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(v->i, 5);
    dc_pickle_free(pk);
    free(o.b);
}
END_TEST

/* The trial's file: a dict of 500,000 int keys (1,000,000 values) took 174 MB to parse (333
 * MB under AddressSanitizer) before the CIFAR-10 reader refused it for lacking b'data'. Now
 * the parser stops at the limit of 2^18 values, and quickly. */
START_TEST(test_huge_dict_is_refused)
{
    const uint32_t keys = 500000;
    fx_bytes o = { 0 };
    FX_PUTL(&o, "\x80\x02}(");
    for (uint32_t i = 0; i < keys; i++) {
        fx_put1(&o, 'J');
        fx_put_le32(&o, i * 7u);
        fx_put1(&o, 'J');
        fx_put_le32(&o, i);
    }
    FX_PUTL(&o, "u.");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    expect_refusal(&o, DC_ERR_FORMAT, "more than 262144 values", "not a CIFAR-10 pickle");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    ck_assert_msg(secs < 10.0, "refusing a %u-key dict took %.1f s", keys, secs);
    free(o.b);
}
END_TEST

static Suite *pickle_suite(void)
{
    Suite *s = suite_create("pickle");
    TCase *good = fx_tcase(s, "good", 120);
    tcase_add_test(good, test_python2_cifar_dict);
    tcase_add_test(good, test_python2_file_loads);
    tcase_add_test(good, test_python2_fixture_is_what_python_reads);
    tcase_add_test(good, test_python3_protocols_2_and_3);
    tcase_add_test(good, test_memo_sharing_and_small_opcodes);
    TCase *bad = fx_tcase(s, "bad", 240);
    tcase_add_test(bad, test_refuses_os_system);
    tcase_add_test(bad, test_refuses_unknown_opcodes);
    tcase_add_test(bad, test_refuses_misused_callables);
    tcase_add_test(bad, test_malformed_structure);
    tcase_add_test(bad, test_truncated_pickles);
    tcase_add_test(bad, test_corrupted_pickles);
    TCase *big = fx_tcase(s, "big", 30); /* the quadratic insertion took minutes here */
    tcase_add_test(big, test_big_dict_is_linear);
    tcase_add_test(big, test_huge_dict_is_refused);
    return s;
}

FX_MAIN(pickle_suite)
