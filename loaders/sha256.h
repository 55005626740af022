/*
 * sha256.h — the SHA-256 (FIPS 180-4) of a file, through OpenSSL's libcrypto (EVP), for
 * `dualcnn fetch`'s checks: torchvision and chenyaofo put the first hex digits of a
 * checkpoint's SHA-256 in its file name (resnet18-f37072fd.pth).
 */
#ifndef DC_LOADERS_SHA256_H
#define DC_LOADERS_SHA256_H

#include "dualcnn.h"

#include <stdbool.h>
#include <stddef.h>

#define DC_SHA256_HEX 65 /* 64 lower-case hex digits and the terminating NUL */

/* Fills hex with the SHA-256 of the file at path, in lower-case hex. On failure returns
 * DC_ERR_IO (or DC_ERR_NOMEM) with a message naming the file. */
dc_status dc_sha256_file(const char *path, char hex[DC_SHA256_HEX], dc_error *err);

/* The hex digits a file name carries as its checksum: those between the last '-' of the
 * name and the first '.' after it, lower-cased, when there are 6 to 64 of them
 * ("resnet18-f37072fd.pth" -> "f37072fd", "mnasnet0.5_top1_67.823-3ffadce67e.pth" ->
 * "3ffadce67e"). Returns false (prefix "") when the name carries none. */
bool dc_sha256_name_prefix(const char *file_name, char prefix[DC_SHA256_HEX]);

#endif /* DC_LOADERS_SHA256_H */
