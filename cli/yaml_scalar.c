/* yaml_scalar.c — YAML 1.1 scalars as PyYAML resolves them (see yaml_scalar.h). */
#include "cli/yaml_scalar.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DIGITS "0123456789"
#define TAG_PREFIX "tag:yaml.org,2002:"

static bool one_of(const char *s, const char *const *words)
{
    for (int k = 0; words[k]; k++)
        if (strcmp(s, words[k]) == 0)
            return true;
    return false;
}

static const char *const null_words[] = { "", "~", "null", "Null", "NULL", NULL };
static const char *const true_words[] = { "yes", "Yes", "YES", "true", "True", "TRUE",
                                          "on", "On", "ON", NULL };
static const char *const false_words[] = { "no", "No", "NO", "false", "False", "FALSE",
                                           "off", "Off", "OFF", NULL };

/* The value of the n bytes at s: digits of the given base and '_' (ignored), at least one
 * digit. */
static bool digits_value(const char *s, size_t n, int base, double *out)
{
    double v = 0;
    int count = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '_')
            continue;
        int d = c >= '0' && c <= '9' ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                     : 99;
        if (d >= base)
            return false;
        v = v * base + d;
        count++;
    }
    *out = v;
    return count > 0;
}

/* The base-60 groups (":" [0-5]?[0-9])+ from p up to end (the NUL, or the '.' of a
 * float), each multiplying *v by 60 and adding itself. */
static bool sexagesimal_groups(const char *p, const char *end, double *v)
{
    if (p == end)
        return false;
    while (p < end) {
        if (*p++ != ':')
            return false;
        size_t n = 0;
        while (p + n < end && n < 3 && p[n] >= '0' && p[n] <= '9')
            n++;
        if (n == 0 || n > 2 || (n == 2 && p[0] > '5'))
            return false;
        *v = *v * 60 + (n == 2 ? (p[0] - '0') * 10 + (p[1] - '0') : p[0] - '0');
        p += n;
    }
    return true;
}

/* Copies the first n bytes of s without '_' into buf (cap bytes); false when too long. */
static bool strip_underscores(const char *s, size_t n, char *buf, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] != '_') {
            if (k + 1 >= cap)
                return false;
            buf[k++] = s[i];
        }
    buf[k] = '\0';
    return true;
}

/* PyYAML's int: [-+]? then 0b[01_]+ | 0x[0-9a-fA-F_]+ | 0[0-7_]+ | 0 | [1-9][0-9_]*
 * | [1-9][0-9_]*(:[0-5]?[0-9])+ */
static bool yaml11_int(const char *s, double *out)
{
    double sign = 1, v = 0;
    if (*s == '-' || *s == '+')
        sign = *s++ == '-' ? -1 : 1;
    bool ok = false;
    if (s[0] == '0' && s[1] == 'b') {
        ok = digits_value(s + 2, strlen(s + 2), 2, &v);
    } else if (s[0] == '0' && s[1] == 'x') {
        ok = digits_value(s + 2, strlen(s + 2), 16, &v);
    } else if (s[0] == '0') {
        ok = digits_value(s, strlen(s), 8, &v);
    } else if (s[0] >= '1' && s[0] <= '9') {
        size_t n = strspn(s, DIGITS "_");
        ok = digits_value(s, n, 10, &v) &&
             (s[n] == '\0' || sexagesimal_groups(s + n, s + strlen(s), &v));
    }
    *out = v == 0 ? 0.0 : sign * v; /* -0 is 0 */
    return ok;
}

/* The exponent [eE][-+][0-9]+ at p, to the end of the string. */
static bool exponent_ok(const char *p)
{
    if (*p == '\0')
        return true;
    if ((*p != 'e' && *p != 'E') || (p[1] != '-' && p[1] != '+'))
        return false;
    size_t n = strspn(p + 2, DIGITS);
    return n > 0 && p[2 + n] == '\0';
}

/* PyYAML's float: [-+]?[0-9][0-9_]*\.[0-9_]*(exp)? | \.[0-9][0-9_]*(exp)?
 * | [-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]* | [-+]?\.(inf|Inf|INF) | \.(nan|NaN|NAN) */
static bool yaml11_float(const char *s, double *out)
{
    static const char *const nans[] = { ".nan", ".NaN", ".NAN", NULL };
    static const char *const infs[] = { ".inf", ".Inf", ".INF", NULL };
    if (one_of(s, nans)) {
        *out = NAN;
        return true;
    }
    double sign = 1;
    const char *p = s;
    if (*p == '-' || *p == '+')
        sign = *p++ == '-' ? -1 : 1;
    if (one_of(p, infs)) {
        *out = sign * INFINITY;
        return true;
    }
    char buf[128];
    if (*p == '.') { /* .5: no sign allowed */
        size_t n = strspn(p + 1, DIGITS "_");
        if (p != s || !isdigit((unsigned char)p[1]) || !exponent_ok(p + 1 + n) ||
            !strip_underscores(p, strlen(p), buf, sizeof buf))
            return false;
        *out = strtod(buf, NULL);
        return true;
    }
    if (!isdigit((unsigned char)*p))
        return false;
    size_t n = strspn(p, DIGITS "_");
    const char *dot = strchr(p + n, '.');
    if (!dot)
        return false;
    if (p[n] == ':') { /* 1:30.5: base-60 groups, then a fraction without exponent */
        double v;
        if (dot[1 + strspn(dot + 1, DIGITS "_")] != '\0' || !digits_value(p, n, 10, &v) ||
            !sexagesimal_groups(p + n, dot, &v) ||
            !strip_underscores(dot, strlen(dot), buf + 1, sizeof buf - 1))
            return false;
        buf[0] = '0';
        *out = sign * (v + strtod(buf, NULL));
        return true;
    }
    if (dot != p + n || !exponent_ok(dot + 1 + strspn(dot + 1, DIGITS "_")) ||
        !strip_underscores(p, strlen(p), buf, sizeof buf))
        return false;
    *out = sign * strtod(buf, NULL);
    return true;
}

/* Plain scalars without a tag: PyYAML's implicit resolvers (bool, float, int, null). */
static void resolve_plain(const char *text, cli_yaml_scalar *out)
{
    if (one_of(text, null_words))
        out->kind = CLI_YAML_NULL;
    else if (one_of(text, true_words) || one_of(text, false_words)) {
        out->kind = CLI_YAML_BOOL;
        out->boolean = one_of(text, true_words);
    } else if (yaml11_float(text, &out->number))
        out->kind = CLI_YAML_FLOAT;
    else if (yaml11_int(text, &out->number))
        out->kind = CLI_YAML_INT;
    else
        out->kind = CLI_YAML_STR;
}

bool cli_yaml_resolve(const char *text, const char *tag, bool plain, cli_yaml_scalar *out)
{
    memset(out, 0, sizeof *out);
    if (!tag || strcmp(tag, "!") == 0) {
        if (plain && !tag)
            resolve_plain(text, out);
        else
            out->kind = CLI_YAML_STR;
        return true;
    }
    if (strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)) != 0)
        return false;
    const char *t = tag + strlen(TAG_PREFIX);
    if (strcmp(t, "str") == 0) {
        out->kind = CLI_YAML_STR;
        return true;
    }
    if (strcmp(t, "null") == 0) {
        out->kind = CLI_YAML_NULL;
        return true;
    }
    if (strcmp(t, "bool") == 0) {
        out->kind = CLI_YAML_BOOL;
        out->boolean = one_of(text, true_words);
        return out->boolean || one_of(text, false_words);
    }
    if (strcmp(t, "int") == 0) {
        out->kind = CLI_YAML_INT;
        return yaml11_int(text, &out->number);
    }
    if (strcmp(t, "float") == 0) {
        out->kind = CLI_YAML_FLOAT;
        return yaml11_float(text, &out->number) || yaml11_int(text, &out->number);
    }
    return false;
}

const char *cli_yaml_kind_name(cli_yaml_kind kind)
{
    switch (kind) {
    case CLI_YAML_NULL: return "null";
    case CLI_YAML_BOOL: return "a boolean";
    case CLI_YAML_INT: return "an integer";
    case CLI_YAML_FLOAT: return "a float";
    case CLI_YAML_STR: return "a string";
    }
    return "?";
}
