#include "fx_bytes.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

void fx_put(fx_bytes *o, const void *p, size_t n)
{
    if (o->n + n > o->cap) {
        o->cap = (o->n + n) * 2 + 64;
        o->b = realloc(o->b, o->cap);
        ck_assert_ptr_nonnull(o->b);
    }
    memcpy(o->b + o->n, p, n);
    o->n += n;
}

void fx_put1(fx_bytes *o, uint8_t c)
{
    fx_put(o, &c, 1);
}

void fx_put_le32(fx_bytes *o, uint32_t v)
{
    uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
    fx_put(o, b, 4);
}

void fx_put_le64(fx_bytes *o, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        fx_put1(o, (uint8_t)(v >> (8 * i)));
}

void fx_put_str(fx_bytes *o, const char *s)
{
    fx_put(o, s, strlen(s));
}

void fx_py2_str(fx_bytes *o, const void *s, size_t n)
{
    if (n < 256) {
        fx_put1(o, 'U');
        fx_put1(o, (uint8_t)n);
    } else {
        fx_put1(o, 'T');
        fx_put_le32(o, (uint32_t)n);
    }
    fx_put(o, s, n);
}

void fx_py2_cstr(fx_bytes *o, const char *s)
{
    fx_py2_str(o, s, strlen(s));
}
