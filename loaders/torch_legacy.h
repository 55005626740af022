/*
 * torch_legacy.h — torch.save's format before torch 1.6 (still written with
 * _use_new_zipfile_serialization=False): one file of five pickles and raw data in a row
 * (docs/convert.md):
 *   1. the magic number 0x1950a86a20f9469cfc6c (a pickled int)
 *   2. the protocol version, 1001
 *   3. sys_info: {'protocol_version': 1001, 'little_endian': bool, 'type_sizes': {...}}
 *   4. the object itself, its storages as persistent ids ('storage', type, key, location,
 *      numel, view_metadata)
 *   5. the list of storage keys, in the order their data follows
 *   then for each key: numel as a little-endian int64, then numel elements (little-endian)
 */
#ifndef DC_LOADERS_TORCH_LEGACY_H
#define DC_LOADERS_TORCH_LEGACY_H

#include "loaders/pickle.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dc_torch_legacy dc_torch_legacy;

/* Whether buf starts with the legacy format's magic number (pickle protocol 2 or 3). */
bool dc_torch_legacy_detect(const uint8_t *buf, size_t n);

/* Parses the file in buf[0..n) (borrowed: it must outlive the result): the header pickles,
 * the object's pickle (torch profile) and the storage table, every record checked against
 * the storage's type and declared size and against the bytes the file holds. Fails naming
 * the file and what is wrong (a big-endian sys_info among them). */
dc_status dc_torch_legacy_open(const uint8_t *buf, size_t n, const char *name,
                               dc_torch_legacy **out, dc_error *err);

void dc_torch_legacy_close(dc_torch_legacy *l);

/* The object's pickle (owned by l). */
const dc_pickle *dc_torch_legacy_pickle(const dc_torch_legacy *l);

/* The raw bytes of storage key (exactly nbytes, the size its persistent id declares),
 * pointing into the file's buffer; fails when the file has no record for it. */
dc_status dc_torch_legacy_storage(const dc_torch_legacy *l, const char *key, uint64_t nbytes,
                                  const uint8_t **data, dc_error *err);

#endif /* DC_LOADERS_TORCH_LEGACY_H */
