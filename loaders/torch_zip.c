/*
 * torch_zip.c — reading torch.save's zip archives through libzip (see torch_zip.h).
 *
 * libzip parses the archive; what is left here is finding the records torch names, and
 * checking every size the archive declares against what it can hold before allocating.
 */
#include "loaders/torch_zip.h"
#include "base/alloc.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

/* Deflate expands at most 1032 bytes per compressed byte; a record claiming more than that
 * cannot be real, whatever its header says. */
#define DC_TZ_MAX_RATIO 1032u

struct dc_torch_zip {
    const char *name;
    zip_t *za;
    size_t file_len;
    char prefix[256];
};

static dc_status dc_tz_zip_fail(const char *name, zip_error_t *ze, const char *what,
                                dc_error *err)
{
    return dc_fail(err, DC_ERR_FORMAT, "%s: %s: %s", name, what, zip_error_strerror(ze));
}

/* The index of record "<prefix>/<rest>", or -1. */
static zip_int64_t dc_tz_locate(dc_torch_zip *z, const char *rest)
{
    char full[512];
    int len = snprintf(full, sizeof full, "%s/%s", z->prefix, rest);
    if (len < 0 || (size_t)len >= sizeof full)
        return -1;
    return zip_name_locate(z->za, full, ZIP_FL_ENC_RAW);
}

/* Checks that record idx may hold size bytes: a stored record's size is its compressed
 * size, itself inside the file; a compressed one's is bounded by deflate's ratio. */
static dc_status dc_tz_stat(dc_torch_zip *z, zip_int64_t idx, const char *what,
                            uint64_t *size, dc_error *err)
{
    zip_stat_t sb;
    zip_stat_init(&sb);
    if (zip_stat_index(z->za, (zip_uint64_t)idx, ZIP_FL_ENC_RAW, &sb) != 0 ||
        !(sb.valid & ZIP_STAT_SIZE) || !(sb.valid & ZIP_STAT_COMP_SIZE) ||
        !(sb.valid & ZIP_STAT_COMP_METHOD))
        return dc_fail(err, DC_ERR_FORMAT, "%s: record %s/%s: cannot read its header",
                       z->name, z->prefix, what);
    if (sb.comp_size > z->file_len ||
        (sb.comp_method == ZIP_CM_STORE && sb.size != sb.comp_size) ||
        sb.size / DC_TZ_MAX_RATIO > sb.comp_size)
        return dc_fail(err, DC_ERR_FORMAT, "%s: record %s/%s declares %llu bytes (%llu "
                       "compressed) in a file of %zu bytes: a corrupt or hostile archive",
                       z->name, z->prefix, what, (unsigned long long)sb.size,
                       (unsigned long long)sb.comp_size, z->file_len);
    *size = sb.size;
    return DC_OK;
}

/* Reads record idx, of size bytes, into dst; then reads once more so that libzip reaches
 * the record's end and checks its CRC. */
static dc_status dc_tz_read(dc_torch_zip *z, zip_int64_t idx, const char *what, void *dst,
                            uint64_t size, dc_error *err)
{
    zip_file_t *zf = zip_fopen_index(z->za, (zip_uint64_t)idx, 0);
    if (!zf)
        return dc_fail(err, DC_ERR_FORMAT, "%s: record %s/%s: cannot open: %s", z->name,
                       z->prefix, what, zip_strerror(z->za));
    uint8_t *p = dst;
    uint64_t got = 0;
    dc_status st = DC_OK;
    while (got < size) {
        zip_int64_t r = zip_fread(zf, p + got, size - got);
        if (r <= 0) {
            st = dc_fail(err, DC_ERR_FORMAT, "%s: record %s/%s: %s after %llu of %llu bytes "
                         "(truncated or corrupt archive)", z->name, z->prefix, what,
                         r < 0 ? zip_file_strerror(zf) : "ends", (unsigned long long)got,
                         (unsigned long long)size);
            break;
        }
        got += (uint64_t)r;
    }
    uint8_t extra;
    if (st == DC_OK) {
        zip_int64_t r = zip_fread(zf, &extra, 1);
        if (r != 0)
            st = dc_fail(err, DC_ERR_FORMAT, "%s: record %s/%s: %s", z->name, z->prefix,
                         what, r < 0 ? zip_file_strerror(zf) : "longer than its header says");
    }
    zip_fclose(zf);
    return st;
}

/* The byteorder record, when present, must say "little". */
static dc_status dc_tz_check_byteorder(dc_torch_zip *z, dc_error *err)
{
    zip_int64_t idx = dc_tz_locate(z, "byteorder");
    if (idx < 0)
        return DC_OK;
    uint64_t size;
    dc_status st = dc_tz_stat(z, idx, "byteorder", &size, err);
    if (st != DC_OK)
        return st;
    char text[16] = "";
    if (size >= sizeof text)
        return dc_fail(err, DC_ERR_FORMAT, "%s: record %s/byteorder holds %llu bytes; "
                       "expected \"little\" or \"big\"", z->name, z->prefix,
                       (unsigned long long)size);
    if ((st = dc_tz_read(z, idx, "byteorder", text, size, err)) != DC_OK)
        return st;
    if (strcmp(text, "little") == 0)
        return DC_OK;
    if (strcmp(text, "big") == 0)
        return dc_fail(err, DC_ERR_UNSUPPORTED, "%s: a big-endian checkpoint (its byteorder "
                       "record says \"big\"): only little-endian archives are read; re-save it "
                       "with torch.save on a little-endian machine", z->name);
    return dc_fail(err, DC_ERR_FORMAT, "%s: record %s/byteorder says neither \"little\" nor "
                   "\"big\"", z->name, z->prefix);
}

dc_status dc_torch_zip_open(const uint8_t *buf, size_t n, const char *name,
                            dc_torch_zip **out, dc_error *err)
{
    *out = NULL;
    dc_torch_zip *z = dc_calloc(1, sizeof *z);
    if (!z)
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", name);
    z->name = name;
    z->file_len = n;
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(buf, n, 0, &ze);
    if (src)
        z->za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze);
    if (!z->za) {
        dc_status st = dc_tz_zip_fail(name, &ze, "not a readable zip archive (truncated or "
                                      "corrupt?)", err);
        zip_source_free(src);
        zip_error_fini(&ze);
        free(z);
        return st;
    }
    zip_error_fini(&ze);

    /* the prefix: the first record's top folder, as torch's own reader takes it */
    const char *first = zip_get_num_entries(z->za, 0) > 0
                            ? zip_get_name(z->za, 0, ZIP_FL_ENC_RAW) : NULL;
    const char *slash = first ? strchr(first, '/') : NULL;
    dc_status st = DC_OK;
    if (!slash || slash == first || (size_t)(slash - first) >= sizeof z->prefix)
        st = dc_fail(err, DC_ERR_FORMAT, "%s: a zip archive, but not one torch.save wrote "
                     "(its first record is not under a folder)", name);
    if (st == DC_OK) {
        memcpy(z->prefix, first, (size_t)(slash - first));
        z->prefix[slash - first] = '\0';
        if (dc_tz_locate(z, "data.pkl") < 0)
            st = dc_fail(err, DC_ERR_FORMAT, "%s: a zip archive without %s/data.pkl: not a "
                         "torch.save checkpoint (a TorchScript archive, or another zip?)",
                         name, z->prefix);
    }
    if (st == DC_OK)
        st = dc_tz_check_byteorder(z, err);
    if (st != DC_OK) {
        dc_torch_zip_close(z);
        return st;
    }
    *out = z;
    return DC_OK;
}

void dc_torch_zip_close(dc_torch_zip *z)
{
    if (!z)
        return;
    if (z->za)
        zip_discard(z->za);
    free(z);
}

const char *dc_torch_zip_prefix(const dc_torch_zip *z)
{
    return z->prefix;
}

dc_status dc_torch_zip_read_pickle(dc_torch_zip *z, size_t max_bytes, uint8_t **data,
                                   size_t *len, dc_error *err)
{
    *data = NULL;
    *len = 0;
    zip_int64_t idx = dc_tz_locate(z, "data.pkl");
    uint64_t size;
    dc_status st = idx < 0 ? dc_fail(err, DC_ERR_FORMAT, "%s: no %s/data.pkl", z->name,
                                     z->prefix)
                           : dc_tz_stat(z, idx, "data.pkl", &size, err);
    if (st != DC_OK)
        return st;
    if (size > max_bytes)
        return dc_fail(err, DC_ERR_FORMAT, "%s: %s/data.pkl holds %llu bytes, more than the "
                       "%zu a state_dict's pickle may have", z->name, z->prefix,
                       (unsigned long long)size, max_bytes);
    uint8_t *p = dc_malloc(size ? (size_t)size : 1);
    if (!p)
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory for data.pkl", z->name);
    if ((st = dc_tz_read(z, idx, "data.pkl", p, size, err)) != DC_OK) {
        free(p);
        return st;
    }
    *data = p;
    *len = (size_t)size;
    return DC_OK;
}

/* The index of storage record data/<key> holding exactly nbytes. */
static dc_status dc_tz_storage(dc_torch_zip *z, const char *key, uint64_t nbytes,
                               zip_int64_t *idx, dc_error *err)
{
    char rest[96];
    snprintf(rest, sizeof rest, "data/%s", key);
    *idx = dc_tz_locate(z, rest);
    if (*idx < 0)
        return dc_fail(err, DC_ERR_FORMAT, "%s: storage '%s' has no record %s/%s (a "
                       "truncated or edited archive)", z->name, key, z->prefix, rest);
    uint64_t size;
    dc_status st = dc_tz_stat(z, *idx, rest, &size, err);
    if (st == DC_OK && size != nbytes)
        st = dc_fail(err, DC_ERR_FORMAT, "%s: storage record %s/%s holds %llu bytes, but the "
                     "pickle declares %llu for it (%s)", z->name, z->prefix, rest,
                     (unsigned long long)size, (unsigned long long)nbytes,
                     size < nbytes ? "a storage shorter than its tensors" : "a longer one");
    return st;
}

dc_status dc_torch_zip_check_storage(dc_torch_zip *z, const char *key, uint64_t nbytes,
                                     dc_error *err)
{
    zip_int64_t idx;
    return dc_tz_storage(z, key, nbytes, &idx, err);
}

dc_status dc_torch_zip_read_storage(dc_torch_zip *z, const char *key, uint64_t nbytes,
                                    uint8_t **data, dc_error *err)
{
    *data = NULL;
    zip_int64_t idx;
    dc_status st = dc_tz_storage(z, key, nbytes, &idx, err);
    if (st != DC_OK)
        return st;
    if (nbytes > SIZE_MAX - 1)
        return dc_fail(err, DC_ERR_NOMEM, "%s: storage '%s' is too large for memory",
                       z->name, key);
    uint8_t *p = dc_malloc(nbytes ? (size_t)nbytes : 1);
    if (!p)
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory for storage '%s' (%llu bytes)",
                       z->name, key, (unsigned long long)nbytes);
    char rest[96];
    snprintf(rest, sizeof rest, "data/%s", key);
    if ((st = dc_tz_read(z, idx, rest, p, nbytes, err)) != DC_OK) {
        free(p);
        return st;
    }
    *data = p;
    return DC_OK;
}
