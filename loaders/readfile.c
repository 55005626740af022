/* readfile.c — a whole file into memory, up to a limit (readfile.h). */
#include "loaders/readfile.h"

#include "base/alloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

dc_status dc_read_whole_file(const char *path, size_t max, const char *what, uint8_t **buf,
                             size_t *n, dc_error *err)
{
    *buf = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return dc_fail(err, DC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    uint8_t *p = NULL;
    size_t len = 0, cap = 0;
    dc_status st = DC_OK;
    /* the buffer doubles as bytes arrive, up to max + 1: one byte more tells a file that
     * is too large, whatever its header or stat says (a pipe has no size) */
    for (;;) {
        if (len == cap) {
            if (cap >= max + 1)
                break;
            size_t c = cap ? cap * 2 : (size_t)1 << 16;
            if (c > max + 1)
                c = max + 1;
            uint8_t *q = dc_realloc(p, c);
            if (!q) {
                st = dc_fail(err, DC_ERR_NOMEM, "%s: out of memory reading it", path);
                break;
            }
            p = q;
            cap = c;
        }
        size_t got = fread(p + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f))
                st = dc_fail(err, DC_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (st == DC_OK && len > max)
        st = dc_fail(err, DC_ERR_FORMAT, "%s: larger than %zu bytes%s%s", path, max,
                     what ? ": " : "", what ? what : "");
    if (st != DC_OK) {
        free(p);
        return st;
    }
    *buf = p;
    *n = len;
    return DC_OK;
}
