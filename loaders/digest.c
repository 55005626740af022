/* digest.c — SHA-256 and MD5 of a file, and the checksum a file name carries (see
 * digest.h). */
#include "loaders/digest.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

/* Writes the len bytes of md as lower-case hex into hex (2 * len + 1 chars). */
static void to_hex(const unsigned char *md, unsigned len, char *hex)
{
    for (unsigned i = 0; i < len; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    hex[2 * len] = '\0';
}

/* Runs the n digests of mds over the file at path; hexes[i] receives digest i. */
static dc_status digest_file(const char *path, const EVP_MD *const *mds, char *const *hexes,
                             int n, dc_error *err)
{
    for (int i = 0; i < n; i++)
        hexes[i][0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f)
        return dc_fail(err, DC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    EVP_MD_CTX *ctx[2] = { NULL, NULL };
    bool ok = n <= 2;
    for (int i = 0; ok && i < n; i++)
        ok = (ctx[i] = EVP_MD_CTX_new()) != NULL && EVP_DigestInit_ex(ctx[i], mds[i], NULL);
    if (!ok) {
        for (int i = 0; i < n; i++)
            EVP_MD_CTX_free(ctx[i]);
        fclose(f);
        return dc_fail(err, DC_ERR_NOMEM, "%s: cannot start a digest (libcrypto)", path);
    }
    unsigned char buf[16384];
    size_t got;
    while (ok && (got = fread(buf, 1, sizeof buf, f)) > 0)
        for (int i = 0; ok && i < n; i++)
            ok = EVP_DigestUpdate(ctx[i], buf, got) == 1;
    int read_error = ferror(f);
    fclose(f);
    for (int i = 0; i < n; i++) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        ok = ok && EVP_DigestFinal_ex(ctx[i], md, &len) == 1 &&
             len == (unsigned)EVP_MD_get_size(mds[i]);
        if (ok)
            to_hex(md, len, hexes[i]);
        EVP_MD_CTX_free(ctx[i]);
    }
    if (read_error)
        return dc_fail(err, DC_ERR_IO, "%s: read error while checksumming", path);
    if (!ok)
        return dc_fail(err, DC_ERR_IO, "%s: the digest failed (libcrypto)", path);
    return DC_OK;
}

dc_status dc_sha256_file(const char *path, char hex[DC_SHA256_HEX], dc_error *err)
{
    const EVP_MD *mds[1] = { EVP_sha256() };
    char *hexes[1] = { hex };
    return digest_file(path, mds, hexes, 1, err);
}

dc_status dc_digest_file(const char *path, dc_digests *out, dc_error *err)
{
    const EVP_MD *mds[2] = { EVP_sha256(), EVP_md5() };
    char *hexes[2] = { out->sha256, out->md5 };
    return digest_file(path, mds, hexes, 2, err);
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
