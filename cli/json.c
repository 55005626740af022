/* json.c — the JSON writer of --json (see json.h). */
#include "cli/json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when the bytes there are not one
 * (a stray continuation byte, an overlong form, a surrogate, beyond U+10FFFF, cut short). */
static int utf8_length(const unsigned char *s)
{
    unsigned c = s[0];
    int n;
    unsigned min, cp;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, min = 0x80, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, min = 0x800, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, min = 0x10000, cp = c & 0x07;
    else
        return 0;
    for (int k = 1; k < n; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return 0; /* also stops at the terminating NUL */
        cp = cp << 6 | (s[k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

void cli_json_write_string(FILE *f, const char *s)
{
    fputc('"', f);
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc((int)c, f);
            p++;
        } else if (c < 0x20) {
            switch (c) {
            case '\n': fputs("\\n", f); break;
            case '\r': fputs("\\r", f); break;
            case '\t': fputs("\\t", f); break;
            case '\b': fputs("\\b", f); break;
            case '\f': fputs("\\f", f); break;
            default: fprintf(f, "\\u%04x", c); break;
            }
            p++;
        } else if (c < 0x80) {
            fputc((int)c, f);
            p++;
        } else {
            int n = utf8_length(p);
            if (n == 0) {
                fputs("\\ufffd", f);
                p++;
            } else {
                fwrite(p, 1, (size_t)n, f);
                p += n;
            }
        }
    }
    fputc('"', f);
}

/* Writes the separator a new value (or key) at the current depth needs. */
static void before_item(cli_json *j, bool is_key)
{
    if (j->depth <= 0) {
        j->broken = true;
        return;
    }
    int d = j->depth - 1;
    if (j->is_object[d] && !is_key && !j->after_key)
        j->broken = true; /* a value in an object needs a key first */
    if (j->after_key && !is_key) {
        j->after_key = false;
        return;
    }
    if (!j->first[d])
        fputs(", ", j->f);
    j->first[d] = false;
}

static void open_nested(cli_json *j, bool object)
{
    if (j->depth > 0)
        before_item(j, false);
    if (j->depth >= CLI_JSON_MAX_DEPTH) {
        j->broken = true;
        return;
    }
    fputc(object ? '{' : '[', j->f);
    j->first[j->depth] = true;
    j->is_object[j->depth] = object;
    j->depth++;
}

void cli_json_begin(cli_json *j, FILE *f)
{
    memset(j, 0, sizeof *j);
    j->f = f;
    open_nested(j, true);
}

void cli_json_object(cli_json *j)
{
    open_nested(j, true);
}

void cli_json_array(cli_json *j)
{
    open_nested(j, false);
}

void cli_json_close(cli_json *j)
{
    if (j->depth <= 0 || j->after_key) {
        j->broken = true;
        return;
    }
    j->depth--;
    fputc(j->is_object[j->depth] ? '}' : ']', j->f);
}

dc_status cli_json_end(cli_json *j, dc_error *err)
{
    cli_json_close(j);
    fputc('\n', j->f);
    if (fflush(j->f) != 0 || ferror(j->f))
        return dc_fail(err, DC_ERR_IO, "cannot write the JSON output");
    if (j->broken || j->depth != 0)
        return dc_fail(err, DC_ERR_ARG, "internal error: unbalanced JSON output");
    return DC_OK;
}

void cli_json_key(cli_json *j, const char *key)
{
    if (j->depth <= 0 || !j->is_object[j->depth - 1] || j->after_key) {
        j->broken = true;
        return;
    }
    before_item(j, true);
    cli_json_write_string(j->f, key);
    fputs(": ", j->f);
    j->after_key = true;
}

void cli_json_str(cli_json *j, const char *s)
{
    before_item(j, false);
    if (s)
        cli_json_write_string(j->f, s);
    else
        fputs("null", j->f);
}

void cli_json_num(cli_json *j, double v)
{
    before_item(j, false);
    if (!isfinite(v)) {
        fputs("null", j->f);
        return;
    }
    char buf[40];
    snprintf(buf, sizeof buf, "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, sizeof buf, "%.17g", v);
    fputs(buf, j->f);
}

void cli_json_int(cli_json *j, int64_t v)
{
    before_item(j, false);
    fprintf(j->f, "%lld", (long long)v);
}

void cli_json_bool(cli_json *j, bool v)
{
    before_item(j, false);
    fputs(v ? "true" : "false", j->f);
}

void cli_json_null(cli_json *j)
{
    before_item(j, false);
    fputs("null", j->f);
}

void cli_json_kv_str(cli_json *j, const char *key, const char *s)
{
    cli_json_key(j, key);
    cli_json_str(j, s);
}

void cli_json_kv_num(cli_json *j, const char *key, double v)
{
    cli_json_key(j, key);
    cli_json_num(j, v);
}

void cli_json_kv_int(cli_json *j, const char *key, int64_t v)
{
    cli_json_key(j, key);
    cli_json_int(j, v);
}

void cli_json_kv_bool(cli_json *j, const char *key, bool v)
{
    cli_json_key(j, key);
    cli_json_bool(j, v);
}
