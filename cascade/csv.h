/*
 * csv.h — CSV files that are never left half-written: rows go to "<path>.tmp-<pid>" and
 * dc_csv_commit renames that over path in one step, so a crash or a full disk leaves
 * either the old file or the new one. Appending copies the old rows first.
 */
#ifndef DC_CASCADE_CSV_H
#define DC_CASCADE_CSV_H

#include "dualcnn.h"

#include <stdbool.h>

typedef struct dc_csv dc_csv;

/* Starts writing path with the given header line (comma-separated, no newline). With
 * append, an existing file's rows are kept; its header must equal this one, or be its
 * first columns (an older file: it gets the new header and its rows empty fields for
 * the new columns), else DC_ERR_FORMAT naming the file; a new or empty file gets the
 * header. */
dc_status dc_csv_open(const char *path, const char *header, bool append, dc_csv **out,
                      dc_error *err);

/* Appends one row (printf-style, without the newline). */
dc_status dc_csv_row(dc_csv *c, dc_error *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Flushes, closes and renames the file into place, and frees c (also on failure). */
dc_status dc_csv_commit(dc_csv *c, dc_error *err);

/* Drops the temporary file and frees c; path is left as it was. c may be NULL. */
void dc_csv_abort(dc_csv *c);

/* Writes s into buf as one CSV field, quoted when it holds a comma, quote or newline. */
const char *dc_csv_field(const char *s, char *buf, size_t cap);

#endif /* DC_CASCADE_CSV_H */
