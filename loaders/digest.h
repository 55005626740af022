/*
 * digest.h — the SHA-256 (FIPS 180-4) and MD5 (RFC 1321) of a file, through OpenSSL's
 * libcrypto (EVP), for `dualcnn fetch`'s checks: torchvision and chenyaofo put the first hex
 * digits of a checkpoint's SHA-256 in its file name (resnet18-f37072fd.pth); the datasets'
 * official pages publish MD5 sums, to which fetch adds the SHA-256 of the same files.
 */
#ifndef DC_LOADERS_DIGEST_H
#define DC_LOADERS_DIGEST_H

#include "dualcnn.h"

#include <stdbool.h>
#include <stddef.h>

#define DC_SHA256_HEX 65 /* 64 lower-case hex digits and the terminating NUL */
#define DC_MD5_HEX 33    /* 32 lower-case hex digits and the terminating NUL */

/* Both digests of one file, in lower-case hex. */
typedef struct {
    char sha256[DC_SHA256_HEX];
    char md5[DC_MD5_HEX];
} dc_digests;

/* Fills hex with the SHA-256 of the file at path, in lower-case hex. On failure returns
 * DC_ERR_IO (or DC_ERR_NOMEM) with a message naming the file. */
dc_status dc_sha256_file(const char *path, char hex[DC_SHA256_HEX], dc_error *err);

/* Fills out with the SHA-256 and the MD5 of the file at path, read once. Errors as
 * dc_sha256_file's. */
dc_status dc_digest_file(const char *path, dc_digests *out, dc_error *err);

/* The hex digits a file name carries as its checksum: those between the last '-' of the
 * name and the first '.' after it, lower-cased, when there are 6 to 64 of them
 * ("resnet18-f37072fd.pth" -> "f37072fd", "mnasnet0.5_top1_67.823-3ffadce67e.pth" ->
 * "3ffadce67e"). Returns false (prefix "") when the name carries none. */
bool dc_sha256_name_prefix(const char *file_name, char prefix[DC_SHA256_HEX]);

#endif /* DC_LOADERS_DIGEST_H */
