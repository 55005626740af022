/*
 * test_torch.c — the PyTorch checkpoint reader on checkpoints built here byte by byte (the
 * legacy format: five pickles and raw storage records, docs/convert.md): a transposed view
 * with an offset gathered by its strides (against the strides applied by hand), int64
 * buffers converted exactly and refused from 2^24, the pickle's torch-only opcodes (LONG1,
 * BINFLOAT, BINPERSID) and their refusal by the CIFAR profile, the big-endian marker,
 * every truncation of a valid file refused cleanly, and every allocation failing in turn
 * (base/alloc.h) ending in a clean out-of-memory error (leak-free under LSan). tests/convert/test_convert.py checks
 * the same reader against torch.save's own files.
 */
#include "base/alloc.h"
#include "fixtures.h"
#include "fx_bytes.h"
#include "loaders/pickle.h"
#include "loaders/torch_checkpoint.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* BINUNICODE s */
static void text(fx_bytes *o, const char *s)
{
    fx_put1(o, 0x58);
    fx_put_le32(o, (uint32_t)strlen(s));
    fx_put_str(o, s);
}

/* _rebuild_tensor_v2(('storage', torch.<type>, key, 'cpu', numel, None), offset, size,
 * stride, False, OrderedDict()) with sizes and strides below 256 */
static void tensor(fx_bytes *o, const char *type, const char *key, int numel, int offset,
                   int ndim, const int *size, const int *stride)
{
    FX_PUTL(o, "ctorch._utils\n_rebuild_tensor_v2\n(");
    fx_put1(o, 0x28); /* MARK: the persistent id */
    text(o, "storage");
    FX_PUTL(o, "ctorch\n");
    fx_put(o, type, strlen(type));
    fx_put1(o, '\n');
    text(o, key);
    text(o, "cpu");
    fx_put1(o, 0x4b);
    fx_put1(o, (uint8_t)numel);
    fx_put1(o, 0x4e);         /* None: view_metadata */
    fx_put1(o, 0x74);         /* TUPLE */
    fx_put1(o, 0x51);         /* BINPERSID */
    fx_put1(o, 0x4b);
    fx_put1(o, (uint8_t)offset);
    for (int pass = 0; pass < 2; pass++) {
        fx_put1(o, 0x28);
        for (int d = 0; d < ndim; d++) {
            fx_put1(o, 0x4b);
            fx_put1(o, (uint8_t)(pass ? stride[d] : size[d]));
        }
        fx_put1(o, 0x74);
    }
    fx_put1(o, 0x89);         /* requires_grad False */
    FX_PUTL(o, "ccollections\nOrderedDict\n)R");
    fx_put1(o, 0x74);         /* TUPLE of the arguments */
    fx_put1(o, 0x52);         /* REDUCE */
}

/* A legacy checkpoint {'fc.weight': a 2x3 transposed view at offset 1 of a float32 storage
 * 'k0' holding 0..6, 'idx': an int64 storage 'k1' of 3 values} (little_endian as given). */
static fx_bytes legacy_file(bool little_endian, int64_t idx_last)
{
    fx_bytes o = { 0 };
    static const uint8_t magic[] = { 0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9,
                                     0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e };
    fx_put(&o, magic, sizeof magic);
    FX_PUTL(&o, "\x80\x02\x4d\xe9\x03\x2e"); /* 1001 */
    FX_PUTL(&o, "\x80\x02}");
    text(&o, "little_endian");
    fx_put1(&o, little_endian ? 0x88 : 0x89);
    FX_PUTL(&o, "s.");
    FX_PUTL(&o, "\x80\x02}(");
    text(&o, "fc.weight");
    tensor(&o, "FloatStorage", "k0", 7, 1, 2, (const int[]){ 2, 3 }, (const int[]){ 1, 2 });
    text(&o, "idx");
    tensor(&o, "LongStorage", "k1", 3, 0, 1, (const int[]){ 3 }, (const int[]){ 1 });
    FX_PUTL(&o, "u.");
    FX_PUTL(&o, "\x80\x02](");
    text(&o, "k0");
    text(&o, "k1");
    FX_PUTL(&o, "e.");
    fx_put_le64(&o, 7);
    for (int i = 0; i < 7; i++) {
        float f = (float)i;
        uint32_t u;
        memcpy(&u, &f, 4);
        uint8_t b[4] = { (uint8_t)u, (uint8_t)(u >> 8), (uint8_t)(u >> 16), (uint8_t)(u >> 24) };
        fx_put(&o, b, 4);
    }
    fx_put_le64(&o, 3);
    fx_put_le64(&o, (uint64_t)-5);
    fx_put_le64(&o, 7);
    fx_put_le64(&o, (uint64_t)idx_last);
    return o;
}

START_TEST(test_views_are_gathered_by_strides)
{
    fx_bytes f = legacy_file(true, 12);
    dc_torch_checkpoint *c;
    dc_error err;
    ck_assert_msg(dc_torch_checkpoint_open_buffer(f.b, f.n, "hand.pt", &c, &err) == DC_OK,
                  "%s", err.msg);
    ck_assert_int_eq(dc_torch_checkpoint_format(c), DC_TORCH_LEGACY);
    ck_assert_int_eq(dc_torch_checkpoint_count(c), 2);
    const dc_torch_tensor *t = dc_torch_checkpoint_tensor(c, 0);
    ck_assert_str_eq(t->key, "fc.weight");
    ck_assert_int_eq(t->numel, 6);
    float got[6];
    ck_assert_msg(dc_torch_checkpoint_read_f32(c, 0, got, &err) == DC_OK, "%s", err.msg);
    /* storage value i is i: element (r, q) is storage[1 + r * 1 + q * 2] */
    for (int r = 0; r < 2; r++)
        for (int q = 0; q < 3; q++)
            ck_assert_float_eq(got[r * 3 + q], (float)(1 + r + 2 * q));
    float idx[3];
    ck_assert_msg(dc_torch_checkpoint_read_f32(c, 1, idx, &err) == DC_OK, "%s", err.msg);
    ck_assert_float_eq(idx[0], -5.0f);
    ck_assert_float_eq(idx[1], 7.0f);
    ck_assert_float_eq(idx[2], 12.0f);
    dc_torch_checkpoint_free(c);
    free(f.b);
}
END_TEST

START_TEST(test_int64_beyond_float32_is_refused)
{
    fx_bytes f = legacy_file(true, (int64_t)1 << 24);
    dc_torch_checkpoint *c;
    dc_error err;
    ck_assert_msg(dc_torch_checkpoint_open_buffer(f.b, f.n, "big.pt", &c, &err) == DC_OK,
                  "%s", err.msg);
    float idx[3];
    ck_assert_int_eq(dc_torch_checkpoint_read_f32(c, 1, idx, &err), DC_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err.msg, "'idx'"));
    ck_assert_ptr_nonnull(strstr(err.msg, "2^24"));
    dc_torch_checkpoint_free(c);
    free(f.b);
}
END_TEST

START_TEST(test_big_endian_marker_is_refused)
{
    fx_bytes f = legacy_file(false, 1);
    dc_torch_checkpoint *c;
    dc_error err;
    ck_assert_int_eq(dc_torch_checkpoint_open_buffer(f.b, f.n, "be.pt", &c, &err),
                     DC_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err.msg, "be.pt"));
    ck_assert_ptr_nonnull(strstr(err.msg, "big-endian"));
    free(f.b);
}
END_TEST

START_TEST(test_every_truncation_is_refused)
{
    fx_bytes f = legacy_file(true, 1);
    for (size_t n = 0; n < f.n; n++) {
        uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan sees any read past it */
        memcpy(copy, f.b, n);
        dc_torch_checkpoint *c = NULL;
        dc_error err;
        ck_assert_msg(dc_torch_checkpoint_open_buffer(copy, n, "cut.pt", &c, &err) != DC_OK,
                      "a file cut to %zu of %zu bytes was accepted", n, f.n);
        ck_assert_ptr_null(c);
        ck_assert_ptr_nonnull(strstr(err.msg, "cut.pt"));
        free(copy);
    }
    free(f.b);
}
END_TEST

START_TEST(test_torch_opcodes)
{
    /* [LONG1 -2 (1 byte), LONG1 2^40 (6 bytes), BINFLOAT 1.5] */
    static const uint8_t pk[] = { 0x80, 0x02, 0x5d, 0x28, 0x8a, 0x01, 0xfe, 0x8a, 0x06, 0x00,
                                  0x00, 0x00, 0x00, 0x00, 0x01, 0x47, 0x3f, 0xf8, 0x00, 0x00,
                                  0x00, 0x00, 0x00, 0x00, 0x65, 0x2e, 0xff };
    dc_pickle *p;
    dc_error err;
    size_t used = 0;
    ck_assert_msg(dc_pickle_parse_profile(pk, sizeof pk, "ops", DC_PICKLE_TORCH, &used, &p,
                                          &err) == DC_OK, "%s", err.msg);
    ck_assert_uint_eq(used, sizeof pk - 1); /* the byte after STOP is not read */
    const dc_pickle_value *l = dc_pickle_root(p);
    ck_assert_int_eq(l->kind, DC_PK_LIST);
    ck_assert_uint_eq(l->count, 3);
    ck_assert_int_eq(l->items[0]->i, -2);
    ck_assert_int_eq(l->items[1]->i, (int64_t)1 << 40);
    ck_assert_int_eq(l->items[2]->kind, DC_PK_FLOAT);
    ck_assert(l->items[2]->f == 1.5);
    dc_pickle_free(p);
    /* the CIFAR profile reads none of them */
    ck_assert_int_eq(dc_pickle_parse(pk, sizeof pk, "ops", &p, &err), DC_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "LONG1"));
    /* nor the torch globals */
    static const char rebuild[] = "\x80\x02" "ctorch._utils\n_rebuild_tensor_v2\n.";
    ck_assert_int_eq(dc_pickle_parse((const uint8_t *)rebuild, sizeof rebuild - 1, "g", &p,
                                     &err), DC_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "_rebuild_tensor_v2"));
}
END_TEST

START_TEST(test_every_allocation_failure_is_clean)
{
    fx_bytes f = legacy_file(true, 1);
    long k = 0;
    for (;; k++) {
        for (int persistent = 0; persistent < 2; persistent++) {
            dc_alloc_fail_after(k, persistent);
            dc_torch_checkpoint *c = NULL;
            dc_error err;
            dc_status st = dc_torch_checkpoint_open_buffer(f.b, f.n, "oom.pt", &c, &err);
            float got[6];
            if (st == DC_OK)
                st = dc_torch_checkpoint_read_f32(c, 0, got, &err);
            long failures = dc_alloc_failures();
            dc_alloc_fail_after(-1, false);
            ck_assert_msg(st == DC_OK || st == DC_ERR_NOMEM, "allocation %ld failing gave "
                          "status %d: %s", k, (int)st, err.msg);
            ck_assert_msg(st == DC_OK || failures > 0, "failed with no allocation failing");
            if (st != DC_OK)
                ck_assert_ptr_nonnull(strstr(err.msg, "oom.pt"));
            dc_torch_checkpoint_free(c);
            if (!persistent && failures == 0) {
                ck_assert_int_eq(st, DC_OK);
                free(f.b);
                ck_assert_int_gt(k, 10); /* the run did allocate: the loop tested something */
                return;
            }
        }
    }
}
END_TEST

static Suite *torch_suite(void)
{
    Suite *s = suite_create("torch");
    TCase *tc = fx_tcase(s, "checkpoints", 0);
    tcase_add_test(tc, test_views_are_gathered_by_strides);
    tcase_add_test(tc, test_int64_beyond_float32_is_refused);
    tcase_add_test(tc, test_big_endian_marker_is_refused);
    tcase_add_test(tc, test_every_truncation_is_refused);
    tcase_add_test(tc, test_torch_opcodes);
    tcase_add_test(tc, test_every_allocation_failure_is_clean);
    return s;
}

FX_MAIN(torch_suite)
