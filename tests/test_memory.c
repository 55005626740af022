/*
 * test_memory.c — the memory component (cascade/memory.h): store, lookup and overwrite;
 * growth of an unbounded table far past its first size; LRU eviction order; the
 * statistics; every 64-bit key usable; the hash kinds; a bounded table under heavy churn
 * checked against a naive model; near-duplicate matching within a radius (the nearest
 * key, for both kinds, against a brute-force search).
 */
#include "cascade/hash.h"
#include "cascade/memory.h"
#include "fixtures.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static dc_memory *make(dc_hash_kind kind, size_t capacity)
{
    dc_memory *m = NULL;
    dc_error err = { 0 };
    dc_status st = dc_memory_init(kind, capacity, &m, &err);
    ck_assert_msg(st == DC_OK, "%s", err.msg);
    ck_assert_ptr_nonnull(m);
    return m;
}

static void store(dc_memory *m, uint64_t key, int label)
{
    dc_error err = { 0 };
    dc_status st = dc_memory_store(m, key, label, &err);
    ck_assert_msg(st == DC_OK, "%s", err.msg);
}

/* The label under key, or INT32_MIN on a miss. */
static int lookup(dc_memory *m, uint64_t key)
{
    int label = -12345;
    if (!dc_memory_lookup(m, key, &label)) {
        ck_assert_int_eq(label, -12345); /* untouched on a miss */
        return INT32_MIN;
    }
    return label;
}

START_TEST(test_store_lookup_overwrite)
{
    dc_memory *m = make(DC_HASH_DHASH, 0);
    ck_assert_uint_eq(dc_memory_size(m), 0);
    ck_assert_int_eq(lookup(m, 42), INT32_MIN);
    store(m, 42, 7);
    store(m, 43, -1);
    ck_assert_int_eq(lookup(m, 42), 7);
    ck_assert_int_eq(lookup(m, 43), -1);
    ck_assert_uint_eq(dc_memory_size(m), 2);
    store(m, 42, 9); /* overwrite: same size, new label */
    ck_assert_int_eq(lookup(m, 42), 9);
    ck_assert_uint_eq(dc_memory_size(m), 2);
    ck_assert_uint_eq(dc_memory_capacity(m), 0);
    ck_assert_int_eq(dc_memory_kind(m), DC_HASH_DHASH);
    dc_memory_free(m);
    dc_memory_free(NULL);
}
END_TEST

START_TEST(test_extreme_keys)
{
    for (size_t cap = 0; cap <= 2; cap += 2) {
        dc_memory *m = make(DC_HASH_INVARIANTS, cap);
        ck_assert_int_eq(lookup(m, 0), INT32_MIN);
        ck_assert_int_eq(lookup(m, UINT64_MAX), INT32_MIN);
        store(m, 0, 1);
        ck_assert_int_eq(lookup(m, UINT64_MAX), INT32_MIN);
        store(m, UINT64_MAX, 2);
        ck_assert_int_eq(lookup(m, 0), 1);
        ck_assert_int_eq(lookup(m, UINT64_MAX), 2);
        ck_assert_uint_eq(dc_memory_size(m), 2);
        dc_memory_free(m);
    }
}
END_TEST

/* 100k keys (many times the first table size, so it grows repeatedly), including keys
 * that differ only in their high bits, all found afterwards with their labels. */
START_TEST(test_unbounded_growth)
{
    dc_memory *m = make(DC_HASH_DHASH, 0);
    const int n = 100000;
    for (int i = 0; i < n; i++) {
        store(m, (uint64_t)i << 40, i);     /* differ in high bits only */
        store(m, (uint64_t)i * 0x9E3779B97F4A7C15ull + 1, -i);
    }
    ck_assert_uint_eq(dc_memory_size(m), 2 * (size_t)n);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(lookup(m, (uint64_t)i << 40), i);
        ck_assert_int_eq(lookup(m, (uint64_t)i * 0x9E3779B97F4A7C15ull + 1), -i);
    }
    ck_assert_int_eq(lookup(m, (uint64_t)n << 40), INT32_MIN);
    dc_memory_stats st = dc_memory_get_stats(m);
    ck_assert_uint_eq(st.lookups, 2 * (uint64_t)n + 1);
    ck_assert_uint_eq(st.hits, 2 * (uint64_t)n);
    ck_assert_uint_eq(st.evictions, 0);
    dc_memory_free(m);
}
END_TEST

START_TEST(test_lru_eviction_order)
{
    dc_memory *m = make(DC_HASH_DHASH, 3);
    store(m, 1, 10);
    store(m, 2, 20);
    store(m, 3, 30);            /* order, most recent first: 3 2 1 */
    ck_assert_uint_eq(dc_memory_size(m), 3);
    store(m, 4, 40);            /* evicts 1: 4 3 2 */
    ck_assert_uint_eq(dc_memory_size(m), 3);
    ck_assert_int_eq(lookup(m, 1), INT32_MIN);
    ck_assert_int_eq(lookup(m, 2), 20); /* hit refreshes 2: 2 4 3 */
    store(m, 5, 50);            /* evicts 3: 5 2 4 */
    ck_assert_int_eq(lookup(m, 3), INT32_MIN);
    store(m, 4, 41);            /* overwrite refreshes 4: 4 5 2 */
    store(m, 6, 60);            /* evicts 2: 6 4 5 */
    ck_assert_int_eq(lookup(m, 2), INT32_MIN);
    ck_assert_int_eq(lookup(m, 4), 41);
    ck_assert_int_eq(lookup(m, 5), 50);
    ck_assert_int_eq(lookup(m, 6), 60);
    ck_assert_uint_eq(dc_memory_size(m), 3);
    dc_memory_stats st = dc_memory_get_stats(m);
    ck_assert_uint_eq(st.evictions, 3);
    ck_assert_uint_eq(st.lookups, 7);
    ck_assert_uint_eq(st.hits, 4);
    dc_memory_free(m);

    /* capacity 1: every new key replaces the previous one */
    m = make(DC_HASH_DHASH, 1);
    store(m, 7, 1);
    store(m, 8, 2);
    ck_assert_int_eq(lookup(m, 7), INT32_MIN);
    ck_assert_int_eq(lookup(m, 8), 2);
    ck_assert_uint_eq(dc_memory_get_stats(m).evictions, 1);
    dc_memory_free(m);
}
END_TEST

/* A bounded table under churn, against a naive LRU model: keys from a small range so that
 * hits, overwrites, evictions and the backward shifts of deletion (clustered keys) all
 * happen many times. */
START_TEST(test_lru_against_model)
{
    enum { CAP = 50, OPS = 200000, RANGE = 120 };
    dc_memory *m = make(DC_HASH_DHASH, CAP);
    uint64_t model_key[CAP];
    int model_label[CAP], model_n = 0; /* index 0 = most recent */
    uint64_t evictions = 0, hits = 0, lookups = 0;
    fx_rng r = fx_rng_seed(77);
    for (int op = 0; op < OPS; op++) {
        uint64_t v = fx_rng_u64(&r);
        uint64_t key = (v % RANGE) * 1024; /* clustered home slots */
        int pos = -1;
        for (int i = 0; i < model_n; i++)
            if (model_key[i] == key)
                pos = i;
        int label = (int)(v >> 40);
        if (v & (1ull << 20)) { /* lookup */
            lookups++;
            int got = lookup(m, key);
            if (pos < 0) {
                ck_assert_int_eq(got, INT32_MIN);
                continue;
            }
            hits++;
            label = model_label[pos];
            ck_assert_int_eq(got, label);
        } else { /* store */
            store(m, key, label);
            if (pos < 0 && model_n == CAP) {
                model_n--;
                evictions++;
            }
        }
        if (pos < 0)
            pos = model_n++;
        memmove(model_key + 1, model_key, (size_t)pos * sizeof *model_key);
        memmove(model_label + 1, model_label, (size_t)pos * sizeof *model_label);
        model_key[0] = key;
        model_label[0] = label;
        ck_assert_uint_eq(dc_memory_size(m), (size_t)model_n);
    }
    for (int i = 0; i < model_n; i++)
        ck_assert_int_eq(lookup(m, model_key[i]), model_label[i]);
    dc_memory_stats st = dc_memory_get_stats(m);
    ck_assert_uint_eq(st.evictions, evictions);
    ck_assert_uint_eq(st.hits, hits + (uint64_t)model_n);
    ck_assert_uint_eq(st.lookups, lookups + (uint64_t)model_n);
    ck_assert(evictions > 1000);
    dc_memory_free(m);
}
END_TEST

START_TEST(test_kinds_and_keys)
{
    dc_hash_kind k = DC_HASH_INVARIANTS;
    ck_assert(dc_hash_kind_parse("dhash", &k) && k == DC_HASH_DHASH);
    ck_assert(dc_hash_kind_parse("invariants", &k) && k == DC_HASH_INVARIANTS);
    ck_assert(!dc_hash_kind_parse("phash", &k) && k == DC_HASH_INVARIANTS);
    ck_assert(!dc_hash_kind_parse("", &k) && !dc_hash_kind_parse(NULL, &k));
    ck_assert_str_eq(dc_hash_kind_name(DC_HASH_DHASH), "dhash");
    ck_assert_str_eq(dc_hash_kind_name(DC_HASH_INVARIANTS), "invariants");
    ck_assert_str_eq(dc_hash_kind_name((dc_hash_kind)9), "?");

    /* the key is the kind's hash */
    uint8_t px[32 * 32 * 3];
    fx_rng r = fx_rng_seed(3);
    for (size_t i = 0; i < sizeof px; i++)
        px[i] = (uint8_t)fx_rng_u64(&r);
    dc_image img = { 32, 32, 3, px };
    dc_error err = { 0 };
    uint64_t key, want;
    dc_memory *d = make(DC_HASH_DHASH, 0), *v = make(DC_HASH_INVARIANTS, 0);
    ck_assert_int_eq(dc_memory_key(d, &img, &key, &err), DC_OK);
    ck_assert_uint_eq(key, dc_dhash(&img));
    ck_assert_int_eq(dc_memory_key(v, &img, &key, &err), DC_OK);
    ck_assert_int_eq(dc_invariants_key(&img, &want, NULL, &err), DC_OK);
    ck_assert_uint_eq(key, want);
    ck_assert_uint_eq(dc_memory_get_stats(d).lookups, 0); /* keying is not a lookup */

    dc_image bad = { 32, 32, 4, px };
    ck_assert_int_eq(dc_memory_key(d, &bad, &key, &err), DC_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "32 x 32 x 4"));
    ck_assert_int_eq(dc_memory_key(v, &bad, &key, &err), DC_ERR_ARG);
    dc_memory_free(d);
    dc_memory_free(v);
}
END_TEST

START_TEST(test_bad_init)
{
    dc_memory *m = (dc_memory *)&m;
    dc_error err = { 0 };
    ck_assert_int_eq(dc_memory_init((dc_hash_kind)5, 0, &m, &err), DC_ERR_ARG);
    ck_assert_ptr_null(m);
    ck_assert_int_eq(dc_memory_init(DC_HASH_DHASH, SIZE_MAX / 4, &m, &err), DC_ERR_ARG);
    ck_assert_ptr_null(m);
    ck_assert_ptr_nonnull(strstr(err.msg, "capacity"));
}
END_TEST

/* The key of an invariants memory holding the value v (the bits of a double). */
static uint64_t inv_key(double v)
{
    uint64_t k;
    memcpy(&k, &v, sizeof k);
    return k;
}

START_TEST(test_radius)
{
    dc_error err = { 0 };
    /* dHash: the nearest key by Hamming distance, within the radius */
    dc_memory *m = make(DC_HASH_DHASH, 0);
    ck_assert(dc_memory_radius(m) == 0.0);
    store(m, 0x0Full, 1);   /* 4 bits */
    store(m, 0xFF00ull, 2); /* 8 other bits */
    ck_assert_int_eq(lookup(m, 0x1Full), INT32_MIN); /* radius 0: exact only */
    ck_assert_int_eq(dc_memory_set_radius(m, 2, &err), DC_OK);
    ck_assert_int_eq(lookup(m, 0x1Full), 1);          /* 1 bit from 0x0F */
    ck_assert_int_eq(lookup(m, 0x7F00ull), 2);        /* 1 bit from 0xFF00 */
    ck_assert_int_eq(lookup(m, 0xF0ull), INT32_MIN);  /* 8 bits from 0x0F, 8 from 0xFF00 */
    ck_assert_int_eq(lookup(m, 0x0Full), 1);          /* exact still first */
    dc_memory_stats st = dc_memory_get_stats(m);
    ck_assert_uint_eq(st.hits, 3);
    ck_assert_uint_eq(st.near_hits, 2);
    /* random keys against a brute-force nearest search */
    fx_rng r = fx_rng_seed(77);
    uint64_t keys[200];
    dc_memory *b = make(DC_HASH_DHASH, 0);
    ck_assert_int_eq(dc_memory_set_radius(b, 20, &err), DC_OK);
    for (int i = 0; i < 200; i++)
        store(b, keys[i] = fx_rng_u64(&r), i);
    for (int q = 0; q < 500; q++) {
        uint64_t key = keys[q % 200] ^ (fx_rng_u64(&r) & fx_rng_u64(&r) & fx_rng_u64(&r));
        int best_d = 65;
        for (int i = 0; i < 200; i++) {
            int d = __builtin_popcountll(key ^ keys[i]);
            best_d = d < best_d ? d : best_d;
        }
        int got = lookup(b, key);
        if (best_d > 20) {
            ck_assert_int_eq(got, INT32_MIN);
        } else {
            ck_assert_int_ne(got, INT32_MIN);
            ck_assert_int_eq(__builtin_popcountll(key ^ keys[got]), best_d); /* a nearest */
        }
    }
    ck_assert_int_eq(dc_memory_set_radius(b, 65, &err), DC_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "radius 65"));
    ck_assert_int_eq(dc_memory_set_radius(b, -1, &err), DC_ERR_ARG);
    ck_assert(dc_memory_radius(b) == 20.0); /* a refused radius changes nothing */
    dc_memory_free(m);
    dc_memory_free(b);
    /* invariants: the difference of the keys' values */
    dc_memory *v = make(DC_HASH_INVARIANTS, 4);
    store(v, inv_key(1.0), 3);
    store(v, inv_key(1.5), 4);
    ck_assert_int_eq(dc_memory_set_radius(v, 0.2, &err), DC_OK);
    ck_assert_int_eq(lookup(v, inv_key(1.1)), 3);
    ck_assert_int_eq(lookup(v, inv_key(1.35)), 4);
    ck_assert_int_eq(lookup(v, inv_key(1.25)), INT32_MIN);
    ck_assert_int_eq(dc_memory_set_radius(v, 1e300, &err), DC_OK);
    ck_assert_int_eq(dc_memory_set_radius(v, INFINITY, &err), DC_ERR_ARG);
    ck_assert_int_eq(dc_memory_set_radius(v, NAN, &err), DC_ERR_ARG);
    dc_memory_free(v);
}
END_TEST

static Suite *memory_suite(void)
{
    Suite *s = suite_create("memory");
    TCase *tc = fx_tcase(s, "memory", 120);
    tcase_add_test(tc, test_store_lookup_overwrite);
    tcase_add_test(tc, test_extreme_keys);
    tcase_add_test(tc, test_unbounded_growth);
    tcase_add_test(tc, test_lru_eviction_order);
    tcase_add_test(tc, test_lru_against_model);
    tcase_add_test(tc, test_kinds_and_keys);
    tcase_add_test(tc, test_bad_init);
    tcase_add_test(tc, test_radius);
    return s;
}

FX_MAIN(memory_suite)
