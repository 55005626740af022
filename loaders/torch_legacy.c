/*
 * torch_legacy.c — torch.save's legacy format (see torch_legacy.h): the five pickles are
 * parsed with loaders/pickle.c's torch profile, then the storage records that follow are
 * located, each checked against what the object's pickle declared for its key.
 */
#include "loaders/torch_legacy.h"
#include "base/alloc.h"

#include <stdlib.h>
#include <string.h>

/* pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2): PROTO 2, LONG1 of 10 bytes, STOP */
static const uint8_t dc_tl_magic[15] = { 0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46,
                                         0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e };
#define DC_TL_PROTOCOL_VERSION 1001

typedef struct {
    char key[72];
    dc_pickle_dtype dtype;
    int64_t numel;
    size_t offset;   /* of the data in the file, past the numel header */
    bool located;
} dc_tl_storage;

struct dc_torch_legacy {
    const char *name;
    const uint8_t *buf_base;  /* the file's bytes (borrowed) */
    dc_pickle *object;
    dc_tl_storage *storages; /* sorted by key */
    size_t nstorages;
};

bool dc_torch_legacy_detect(const uint8_t *buf, size_t n)
{
    if (n < sizeof dc_tl_magic || buf[0] != 0x80 || (buf[1] != 2 && buf[1] != 3))
        return false;
    return memcmp(buf + 2, dc_tl_magic + 2, sizeof dc_tl_magic - 2) == 0;
}

static int dc_tl_cmp(const void *a, const void *b)
{
    return strcmp(((const dc_tl_storage *)a)->key, ((const dc_tl_storage *)b)->key);
}

static dc_tl_storage *dc_tl_find(const dc_torch_legacy *l, const char *key)
{
    dc_tl_storage probe;
    size_t len = strlen(key);
    if (len >= sizeof probe.key)
        return NULL;
    memcpy(probe.key, key, len + 1);
    return bsearch(&probe, l->storages, l->nstorages, sizeof *l->storages, dc_tl_cmp);
}

/* The table of the object's storages, one row per key; every persistent id of a key must
 * agree on its type and size. */
static dc_status dc_tl_table(dc_torch_legacy *l, dc_error *err)
{
    size_t n;
    const dc_pickle_value *const *pids = dc_pickle_storages(l->object, &n);
    l->storages = dc_calloc(n ? n : 1, sizeof *l->storages);
    if (!l->storages)
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", l->name);
    for (size_t i = 0; i < n; i++) {
        dc_tl_storage *s = &l->storages[i];
        memcpy(s->key, pids[i]->bytes, pids[i]->len); /* at most 64 bytes (pickle.c) */
        s->key[pids[i]->len] = '\0';
        s->dtype = pids[i]->dtype;
        s->numel = pids[i]->i;
    }
    qsort(l->storages, n, sizeof *l->storages, dc_tl_cmp);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        dc_tl_storage *s = &l->storages[i];
        if (kept > 0 && strcmp(l->storages[kept - 1].key, s->key) == 0) {
            const dc_tl_storage *k = &l->storages[kept - 1];
            if (k->dtype != s->dtype || k->numel != s->numel)
                return dc_fail(err, DC_ERR_FORMAT, "%s: storage '%s' is declared twice, as "
                               "%lld %s and as %lld %s elements", l->name, s->key,
                               (long long)k->numel, dc_pickle_dtype_name(k->dtype),
                               (long long)s->numel, dc_pickle_dtype_name(s->dtype));
            continue;
        }
        l->storages[kept++] = *s;
    }
    l->nstorages = kept;
    return DC_OK;
}

/* Parses the pickle at *pos, moving *pos past it. The caller frees *out. */
static dc_status dc_tl_pickle(const uint8_t *buf, size_t n, size_t *pos, const char *name,
                              const char *what, dc_pickle **out, dc_error *err)
{
    size_t used = 0;
    dc_status st = dc_pickle_parse_profile(buf + *pos, n - *pos, name, DC_PICKLE_TORCH,
                                           &used, out, err);
    if (st != DC_OK) {
        /* the pickle's own message names an offset inside it: say which pickle that is */
        char inner[sizeof err->msg];
        if (err) {
            memcpy(inner, err->msg, sizeof inner);
            dc_fail(err, st, "%s (the %s, at byte %zu of the legacy format)", inner, what,
                    *pos);
        }
        return st;
    }
    *pos += used;
    return DC_OK;
}

/* The header pickles: the protocol version and sys_info (its byte order). */
static dc_status dc_tl_header(dc_torch_legacy *l, const uint8_t *buf, size_t n, size_t *pos,
                              dc_error *err)
{
    dc_pickle *pk = NULL;
    dc_status st = dc_tl_pickle(buf, n, pos, l->name, "protocol version", &pk, err);
    if (st != DC_OK)
        return st;
    const dc_pickle_value *v = dc_pickle_root(pk);
    bool ok = v->kind == DC_PK_INT && v->i == DC_TL_PROTOCOL_VERSION;
    long long got = v->kind == DC_PK_INT ? (long long)v->i : -1;
    dc_pickle_free(pk);
    if (!ok)
        return dc_fail(err, DC_ERR_UNSUPPORTED, "%s: legacy format protocol version %lld "
                       "(only %d is known)", l->name, got, DC_TL_PROTOCOL_VERSION);
    if ((st = dc_tl_pickle(buf, n, pos, l->name, "sys_info", &pk, err)) != DC_OK)
        return st;
    const dc_pickle_value *info = dc_pickle_root(pk);
    const dc_pickle_value *le = dc_pickle_dict_get(info, "little_endian");
    if (info->kind != DC_PK_DICT)
        st = dc_fail(err, DC_ERR_FORMAT, "%s: the legacy format's sys_info is not a dict",
                     l->name);
    else if (le && !((le->kind == DC_PK_BOOL || le->kind == DC_PK_INT) && le->i == 1))
        st = dc_fail(err, DC_ERR_UNSUPPORTED, "%s: a big-endian checkpoint (sys_info says "
                     "little_endian = False): only little-endian files are read; re-save it "
                     "on a little-endian machine", l->name);
    dc_pickle_free(pk);
    return st;
}

/* The list of storage keys and the records that follow it. */
static dc_status dc_tl_records(dc_torch_legacy *l, const uint8_t *buf, size_t n, size_t *pos,
                               dc_error *err)
{
    dc_pickle *pk = NULL;
    dc_status st = dc_tl_pickle(buf, n, pos, l->name, "list of storage keys", &pk, err);
    if (st != DC_OK)
        return st;
    const dc_pickle_value *keys = dc_pickle_root(pk);
    if (keys->kind != DC_PK_LIST)
        st = dc_fail(err, DC_ERR_FORMAT, "%s: the legacy format's storage keys are not a "
                     "list", l->name);
    for (size_t i = 0; st == DC_OK && i < keys->count; i++) {
        const dc_pickle_value *k = keys->items[i];
        char key[72];
        if (!dc_pickle_is_string(k) || k->len == 0 || k->len >= sizeof key) {
            st = dc_fail(err, DC_ERR_FORMAT, "%s: storage key %zu is not a short string",
                         l->name, i);
            break;
        }
        memcpy(key, k->bytes, k->len);
        key[k->len] = '\0';
        dc_tl_storage *s = dc_tl_find(l, key);
        if (!s || s->located) {
            st = dc_fail(err, DC_ERR_FORMAT, "%s: storage key '%.64s' %s", l->name, key,
                         s ? "is listed twice" : "is not used by the pickled object");
            break;
        }
        if (n - *pos < 8) {
            st = dc_fail(err, DC_ERR_FORMAT, "%s: truncated: storage '%s' has no size at byte "
                         "%zu", l->name, key, *pos);
            break;
        }
        uint64_t numel = 0;
        for (int b = 7; b >= 0; b--)
            numel = numel << 8 | buf[*pos + (size_t)b];
        *pos += 8;
        if (numel != (uint64_t)s->numel) {
            st = dc_fail(err, DC_ERR_FORMAT, "%s: storage '%s' holds %llu elements, but the "
                         "pickle declares %lld (%s)", l->name, key, (unsigned long long)numel,
                         (long long)s->numel, numel < (uint64_t)s->numel
                             ? "a storage shorter than its tensors" : "a longer one");
            break;
        }
        uint64_t bytes = numel * dc_pickle_dtype_size(s->dtype); /* numel <= 2^50 */
        if (bytes > n - *pos) {
            st = dc_fail(err, DC_ERR_FORMAT, "%s: truncated: storage '%s' needs %llu bytes at "
                         "byte %zu, the file has %zu left", l->name, key,
                         (unsigned long long)bytes, *pos, n - *pos);
            break;
        }
        s->offset = *pos;
        s->located = true;
        *pos += (size_t)bytes;
    }
    dc_pickle_free(pk);
    return st;
}

dc_status dc_torch_legacy_open(const uint8_t *buf, size_t n, const char *name,
                               dc_torch_legacy **out, dc_error *err)
{
    *out = NULL;
    if (!dc_torch_legacy_detect(buf, n))
        return dc_fail(err, DC_ERR_FORMAT, "%s: no legacy torch.save magic number", name);
    dc_torch_legacy *l = dc_calloc(1, sizeof *l);
    if (!l)
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", name);
    l->name = name;
    l->buf_base = buf;
    size_t pos = sizeof dc_tl_magic;
    dc_status st = dc_tl_header(l, buf, n, &pos, err);
    if (st == DC_OK)
        st = dc_tl_pickle(buf, n, &pos, name, "pickled object", &l->object, err);
    if (st == DC_OK)
        st = dc_tl_table(l, err);
    if (st == DC_OK)
        st = dc_tl_records(l, buf, n, &pos, err);
    if (st != DC_OK) {
        dc_torch_legacy_close(l);
        return st;
    }
    *out = l;
    return DC_OK;
}

void dc_torch_legacy_close(dc_torch_legacy *l)
{
    if (!l)
        return;
    dc_pickle_free(l->object);
    free(l->storages);
    free(l);
}

const dc_pickle *dc_torch_legacy_pickle(const dc_torch_legacy *l)
{
    return l->object;
}

dc_status dc_torch_legacy_storage(const dc_torch_legacy *l, const char *key, uint64_t nbytes,
                                  const uint8_t **data, dc_error *err)
{
    *data = NULL;
    const dc_tl_storage *s = dc_tl_find(l, key);
    if (!s || !s->located)
        return dc_fail(err, DC_ERR_FORMAT, "%s: storage '%s' has no record after the storage "
                       "key list (a truncated or edited file)", l->name, key);
    if (nbytes != (uint64_t)s->numel * dc_pickle_dtype_size(s->dtype))
        return dc_fail(err, DC_ERR_FORMAT, "%s: storage '%s' holds %llu bytes, %llu asked for",
                       l->name, key,
                       (unsigned long long)s->numel * dc_pickle_dtype_size(s->dtype),
                       (unsigned long long)nbytes);
    *data = l->buf_base + s->offset;
    return DC_OK;
}
