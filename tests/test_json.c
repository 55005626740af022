/*
 * test_json.c — cli/json.c, the writer of every --json output: each case is written to a
 * memory stream and compared with the JSON text RFC 8259 asks for, written out by hand.
 * Escaping (quote, backslash, control characters, UTF-8 passed through, bytes that are not
 * UTF-8 as \ufffd), numbers (shortest round trip, NaN and infinities as null, integers),
 * nesting and commas, and the errors cli_json_end reports.
 */
#include "cli/json.h"
#include "fixtures.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The literal cli_json_write_string makes of s. */
static char *literal(const char *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    cli_json_write_string(f, s);
    fclose(f);
    return buf;
}

static void expect_literal(const char *s, const char *want)
{
    char *got = literal(s);
    ck_assert_msg(strcmp(got, want) == 0, "for %s: got %s, want %s", s, got, want);
    free(got);
}

START_TEST(test_escaping)
{
    expect_literal("plain", "\"plain\"");
    expect_literal("", "\"\"");
    expect_literal("say \"hi\"", "\"say \\\"hi\\\"\"");
    expect_literal("a\\b", "\"a\\\\b\"");
    expect_literal("tab\there\nline", "\"tab\\there\\nline\"");
    expect_literal("\x01\x1f", "\"\\u0001\\u001f\"");
    expect_literal("/", "\"/\""); /* the solidus may stay as it is */
    /* UTF-8 passes through: e acute (2 bytes), the euro sign (3), an emoji (4) */
    expect_literal("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
                   "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
    /* not UTF-8: a lone continuation byte, a cut sequence, an overlong '/' */
    expect_literal("a\x80z", "\"a\\ufffdz\"");
    char *got = literal("x\xe2\x82");
    ck_assert_msg(strstr(got, "\\ufffd") && !strchr(got, '\x82'), "cut sequence: %s", got);
    free(got);
    got = literal("\xc0\xaf");
    ck_assert_msg(strstr(got, "\\ufffd") && !strchr(got, '\xaf'), "overlong: %s", got);
    free(got);
}
END_TEST

/* Runs the writer over a fixed document and returns the text. */
static char *document(dc_status *st)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cli_json j;
    cli_json_begin(&j, f);
    cli_json_kv_str(&j, "model", "resnet20");
    cli_json_kv_int(&j, "n", -12);
    cli_json_kv_num(&j, "tenth", 0.1);
    cli_json_kv_num(&j, "third", 1.0 / 3.0);
    cli_json_kv_num(&j, "nan", NAN);
    cli_json_kv_num(&j, "inf", -INFINITY);
    cli_json_kv_bool(&j, "ok", true);
    cli_json_key(&j, "list");
    cli_json_array(&j);
    cli_json_int(&j, 1);
    cli_json_str(&j, NULL);
    cli_json_object(&j);
    cli_json_kv_num(&j, "big", 1e300);
    cli_json_close(&j);
    cli_json_array(&j);
    cli_json_close(&j);
    cli_json_close(&j);
    cli_json_key(&j, "none");
    cli_json_null(&j);
    dc_error err;
    *st = cli_json_end(&j, &err);
    fclose(f);
    return buf;
}

START_TEST(test_document)
{
    dc_status st;
    char *got = document(&st);
    ck_assert_int_eq(st, DC_OK);
    const char *want = "{\"model\":\"resnet20\",\"n\":-12,\"tenth\":0.1,"
                       "\"third\":0.33333333333333331,\"nan\":null,\"inf\":null,\"ok\":true,"
                       "\"list\":[1,null,{\"big\":1e+300},[]],\"none\":null}\n";
    /* white space between tokens is free in JSON: compare without it */
    char *squeezed = malloc(strlen(got) + 1), *o = squeezed;
    for (const char *p = got; *p; p++)
        if (*p != ' ' || p[-1] == '\0')
            *o++ = *p;
    *o = '\0';
    ck_assert_msg(strcmp(squeezed, want) == 0, "got\n%s\nwant\n%s", squeezed, want);
    /* the shortest round trip: the third reads back to the same double */
    const char *third = strstr(got, "\"third\":");
    ck_assert_ptr_nonnull(third);
    ck_assert(strtod(third + 8, NULL) == 1.0 / 3.0);
    free(squeezed);
    free(got);
}
END_TEST

START_TEST(test_errors)
{
    char *buf = NULL;
    size_t len = 0;
    dc_error err;
    FILE *f = open_memstream(&buf, &len);
    cli_json j;
    cli_json_begin(&j, f);
    cli_json_key(&j, "open");
    cli_json_array(&j); /* never closed */
    ck_assert_int_ne(cli_json_end(&j, &err), DC_OK);
    fclose(f);
    free(buf);

    buf = NULL;
    f = open_memstream(&buf, &len);
    cli_json_begin(&j, f);
    cli_json_str(&j, "a value where a key is due");
    ck_assert_int_ne(cli_json_end(&j, &err), DC_OK);
    fclose(f);
    free(buf);

    /* a stream that cannot be written: /dev/full */
    f = fopen("/dev/full", "w");
    if (f) {
        cli_json_begin(&j, f);
        cli_json_kv_str(&j, "k", "v");
        ck_assert_int_ne(cli_json_end(&j, &err), DC_OK);
        fclose(f);
    }
}
END_TEST

static Suite *json_suite(void)
{
    Suite *s = suite_create("json");
    TCase *tc = fx_tcase(s, "json", 0);
    tcase_add_test(tc, test_escaping);
    tcase_add_test(tc, test_document);
    tcase_add_test(tc, test_errors);
    return s;
}

FX_MAIN(json_suite)
