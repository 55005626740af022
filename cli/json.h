/*
 * json.h — the one JSON writer of every `dualcnn` command's --json output.
 *
 * A command writes one object on stdout; everything else it prints goes to stderr. The
 * writer tracks nesting and commas itself, so a command only says what comes next:
 *
 *     cli_json j;
 *     cli_json_begin(&j, stdout);          // {
 *     cli_json_kv_str(&j, "model", "resnet20");
 *     cli_json_key(&j, "top");
 *     cli_json_array(&j);                  // [
 *     cli_json_num(&j, 0.87);
 *     cli_json_close(&j);                  // ]
 *     if (cli_json_end(&j, &err) != DC_OK) // }, a newline, and the stream checked
 *         ...
 *
 * Strings are escaped as RFC 8259 asks: the quote, the backslash and every control
 * character below 0x20 (\n, \t, ... or \u00XX); other bytes pass through, so UTF-8 text
 * stays as it is, and a byte that is not part of valid UTF-8 becomes U+FFFD. Numbers that
 * JSON cannot hold (NaN, infinities) are written as null. Doubles are written in the
 * fewest digits that read back to the same value.
 *
 * Errors are sticky, as the builder's: the writing calls return nothing, and cli_json_end
 * reports a write error of the stream or an unbalanced nesting (a programming error).
 */
#ifndef DC_CLI_JSON_H
#define DC_CLI_JSON_H

#include "dualcnn.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define CLI_JSON_MAX_DEPTH 16

typedef struct {
    FILE *f;
    int depth;                          /* open objects and arrays */
    bool first[CLI_JSON_MAX_DEPTH];     /* nothing written yet at this depth */
    bool is_object[CLI_JSON_MAX_DEPTH];
    bool after_key;                     /* a key was written: its value comes next */
    bool broken;                        /* too deep, or a value where a key was due */
} cli_json;

/* Starts the top-level object on f. */
void cli_json_begin(cli_json *j, FILE *f);

/* Closes the top-level object, ends the line and flushes; fails when the stream had a
 * write error or the nesting is not balanced. */
dc_status cli_json_end(cli_json *j, dc_error *err);

/* The key of the next value (inside an object). */
void cli_json_key(cli_json *j, const char *key);

/* Values: in an array, or after cli_json_key. */
void cli_json_object(cli_json *j); /* opens { */
void cli_json_array(cli_json *j);  /* opens [ */
void cli_json_close(cli_json *j);  /* closes the innermost { or [ */
void cli_json_str(cli_json *j, const char *s); /* NULL writes null */
void cli_json_num(cli_json *j, double v);
void cli_json_int(cli_json *j, int64_t v);
void cli_json_bool(cli_json *j, bool v);
void cli_json_null(cli_json *j);

/* A key and its value in one call. */
void cli_json_kv_str(cli_json *j, const char *key, const char *s);
void cli_json_kv_num(cli_json *j, const char *key, double v);
void cli_json_kv_int(cli_json *j, const char *key, int64_t v);
void cli_json_kv_bool(cli_json *j, const char *key, bool v);

/* Writes the JSON string literal of s (quotes included) to f: the escaping above. */
void cli_json_write_string(FILE *f, const char *s);

#endif /* DC_CLI_JSON_H */
