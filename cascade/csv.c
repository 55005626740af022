/* csv.c — atomic CSV files (see csv.h). */
#include "cascade/csv.h"
#include "base/alloc.h"

#include "loaders/outfile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct dc_csv {
    char path[1024];    /* as given, for messages and the appended copy */
    dc_outfile out;     /* where the rows go (loaders/outfile.h) */
    FILE *f;            /* out.f */
    bool failed;
};

/* The number of columns header has beyond old_header when old_header is header's first
 * columns (a file written before columns were added at the end), else 0. */
static int added_columns(const char *old_header, const char *header)
{
    size_t n = strlen(old_header);
    if (n == 0 || strncmp(old_header, header, n) != 0 || header[n] != ',')
        return 0;
    int added = 0;
    for (const char *p = header + n; *p; p++)
        added += *p == ',';
    return added;
}

/* Copies the old file into the new one after checking its header; returns whether the
 * old file had any content. A file whose header lacks only columns at the end gets the
 * new header and its rows are padded with empty fields. */
static dc_status copy_existing(dc_csv *c, const char *header, bool *had_rows, dc_error *err)
{
    *had_rows = false;
    FILE *old = fopen(c->path, "rb");
    if (!old)
        return errno == ENOENT ? DC_OK
                               : dc_fail(err, DC_ERR_IO, "%s: cannot read: %s", c->path,
                                         strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len = getline(&line, &cap, old);
    dc_status st = DC_OK;
    int pad = 0;
    if (len > 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        pad = added_columns(line, header);
        if (strcmp(line, header) != 0 && pad == 0)
            st = dc_fail(err, DC_ERR_FORMAT, "%s: exists with other columns; write the "
                         "report to another file", c->path);
        else
            *had_rows = true;
    }
    if (st == DC_OK && *had_rows) {
        fprintf(c->f, "%s\n", header);
        while ((len = getline(&line, &cap, old)) > 0) {
            while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
                line[--len] = '\0';
            fputs(line, c->f);
            for (int k = 0; len > 0 && k < pad; k++)
                fputc(',', c->f);
            fputc('\n', c->f);
        }
        if (ferror(old))
            st = dc_fail(err, DC_ERR_IO, "%s: read error", c->path);
    }
    free(line);
    fclose(old);
    return st;
}

dc_status dc_csv_open(const char *path, const char *header, bool append, dc_csv **out,
                      dc_error *err)
{
    *out = NULL;
    dc_csv *c = dc_calloc(1, sizeof *c);
    if (!c)
        return dc_fail(err, DC_ERR_NOMEM, "out of memory");
    snprintf(c->path, sizeof c->path, "%s", path);
    dc_status st = dc_outfile_open(&c->out, path, 0, err);
    if (st != DC_OK) {
        free(c);
        return st;
    }
    c->f = c->out.f;
    setvbuf(c->f, NULL, _IOFBF, 1 << 16); /* per-sample rows: one write per 64 KiB */
    bool had_rows = false;
    /* a device or FIFO written in place has no rows to keep (and reading it would block) */
    st = append && c->out.tmp ? copy_existing(c, header, &had_rows, err) : DC_OK;
    if (st != DC_OK) {
        dc_csv_abort(c);
        return st;
    }
    if (!had_rows)
        fprintf(c->f, "%s\n", header);
    *out = c;
    return DC_OK;
}

dc_status dc_csv_row(dc_csv *c, dc_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vfprintf(c->f, fmt, ap);
    va_end(ap);
    if (rc < 0 || fputc('\n', c->f) == EOF) {
        c->failed = true;
        return dc_fail(err, DC_ERR_IO, "%s: write error: %s", c->path, strerror(errno));
    }
    return DC_OK;
}

dc_status dc_csv_commit(dc_csv *c, dc_error *err)
{
    dc_status st;
    if (c->failed) {
        st = dc_fail(err, DC_ERR_IO, "%s: write error", c->path);
        dc_outfile_abort(&c->out);
    } else {
        st = dc_outfile_commit(&c->out, err);
    }
    free(c);
    return st;
}

void dc_csv_abort(dc_csv *c)
{
    if (!c)
        return;
    dc_outfile_abort(&c->out);
    free(c);
}

const char *dc_csv_field(const char *s, char *buf, size_t cap)
{
    if (!strpbrk(s, ",\"\n\r")) {
        snprintf(buf, cap, "%s", s);
        return buf;
    }
    size_t at = 0;
    if (cap < 3)
        return "";
    buf[at++] = '"';
    for (; *s && at + 3 < cap; s++) {
        if (*s == '"')
            buf[at++] = '"';
        buf[at++] = *s;
    }
    buf[at++] = '"';
    buf[at] = '\0';
    return buf;
}
