/* sha256.c — SHA-256 of a file and the checksum a file name carries (see sha256.h). */
#include "loaders/sha256.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

dc_status dc_sha256_file(const char *path, char hex[DC_SHA256_HEX], dc_error *err)
{
    hex[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f)
        return dc_fail(err, DC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
        EVP_MD_CTX_free(ctx);
        fclose(f);
        return dc_fail(err, DC_ERR_NOMEM, "%s: cannot start a SHA-256 (libcrypto)", path);
    }
    unsigned char buf[16384];
    size_t n;
    bool ok = true;
    while (ok && (n = fread(buf, 1, sizeof buf, f)) > 0)
        ok = EVP_DigestUpdate(ctx, buf, n) == 1;
    int read_error = ferror(f);
    fclose(f);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    ok = ok && EVP_DigestFinal_ex(ctx, md, &len) == 1 && len == 32;
    EVP_MD_CTX_free(ctx);
    if (read_error)
        return dc_fail(err, DC_ERR_IO, "%s: read error while checksumming", path);
    if (!ok)
        return dc_fail(err, DC_ERR_IO, "%s: SHA-256 failed (libcrypto)", path);
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return DC_OK;
}

bool dc_sha256_name_prefix(const char *file_name, char prefix[DC_SHA256_HEX])
{
    prefix[0] = '\0';
    const char *slash = strrchr(file_name, '/');
    const char *dash = strrchr(slash ? slash + 1 : file_name, '-');
    if (!dash)
        return false;
    const char *p = dash + 1;
    size_t n = 0;
    while (isxdigit((unsigned char)p[n]))
        n++;
    if (p[n] != '.' || n < 6 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        prefix[i] = (char)tolower((unsigned char)p[i]);
    prefix[n] = '\0';
    return true;
}
