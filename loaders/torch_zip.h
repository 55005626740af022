/*
 * torch_zip.h — the zip archive torch.save writes since torch 1.6 (read with libzip).
 *
 * Layout (docs/convert.md): every record sits under one top folder, the archive's name
 * (torch 1.13 uses the file's stem, torch 2 "archive"):
 *   <prefix>/data.pkl        the pickled object (loaders/pickle.c, torch profile)
 *   <prefix>/data/<key>      the raw bytes of storage <key>, little-endian, stored
 *   <prefix>/version         the serialization version ("3")
 *   <prefix>/byteorder       "little" or "big" (torch >= 2.1; absent means little)
 * Records are usually stored uncompressed; a deflated one is read too, with its declared
 * size bounded by what deflate can expand its compressed bytes to.
 */
#ifndef DC_LOADERS_TORCH_ZIP_H
#define DC_LOADERS_TORCH_ZIP_H

#include "dualcnn.h"

#include <stddef.h>
#include <stdint.h>

typedef struct dc_torch_zip dc_torch_zip;

/* Opens the archive in buf[0..n) (borrowed: it must outlive the result); name is used in
 * messages. Fails naming the file when it is not a readable zip archive (truncated, bad
 * central directory), has no <prefix>/data.pkl, or says it is big-endian. Close with
 * dc_torch_zip_close. */
dc_status dc_torch_zip_open(const uint8_t *buf, size_t n, const char *name,
                            dc_torch_zip **out, dc_error *err);

void dc_torch_zip_close(dc_torch_zip *z);

/* The archive's prefix ("archive"). */
const char *dc_torch_zip_prefix(const dc_torch_zip *z);

/* Reads <prefix>/data.pkl whole (at most max_bytes) into *data (malloc'ed, the caller
 * frees), its length in *len. */
dc_status dc_torch_zip_read_pickle(dc_torch_zip *z, size_t max_bytes, uint8_t **data,
                                   size_t *len, dc_error *err);

/* Checks that <prefix>/data/<key> exists and holds exactly nbytes (the size its persistent
 * id declares); fails naming the record otherwise. Nothing is read or allocated. */
dc_status dc_torch_zip_check_storage(dc_torch_zip *z, const char *key, uint64_t nbytes,
                                     dc_error *err);

/* Reads <prefix>/data/<key>, which must hold exactly nbytes, into *data (malloc'ed, the
 * caller frees; the size is checked before anything is allocated). The record's CRC is
 * checked. */
dc_status dc_torch_zip_read_storage(dc_torch_zip *z, const char *key, uint64_t nbytes,
                                    uint8_t **data, dc_error *err);

#endif /* DC_LOADERS_TORCH_ZIP_H */
