/*
 * yaml_scalar.h — what a YAML scalar means, as PyYAML's safe_load (YAML 1.1) reads it: the
 * original main.py read its config.yml with PyYAML, so `enable: on` is true there and must
 * be here. libyaml (the parser) hands out scalars as text with their tag and style; this
 * turns one into a null, a boolean, an integer, a float or a string.
 *
 * A plain (unquoted) scalar without a tag resolves as PyYAML's implicit resolvers do:
 *   null    ~ null Null NULL, or nothing at all (`key:`)
 *   bool    yes Yes YES no No NO true True TRUE false False FALSE on On ON off Off OFF
 *   int     0, 12_345, 0b1010, 0x1F, 017 (octal, a leading 0), 1:30 (base 60: 90)
 *   float   1.5, 1., .5, 1.5e-3 (an exponent needs its sign), 1:30.5, .inf -.inf .nan
 *   string  anything else
 * A quoted or block scalar is a string; an explicit tag (!!str, !!int, !!float, !!bool,
 * !!null) decides for itself.
 */
#ifndef DC_CLI_YAML_SCALAR_H
#define DC_CLI_YAML_SCALAR_H

#include <stdbool.h>

typedef enum {
    CLI_YAML_NULL,
    CLI_YAML_BOOL,
    CLI_YAML_INT,
    CLI_YAML_FLOAT,
    CLI_YAML_STR
} cli_yaml_kind;

typedef struct {
    cli_yaml_kind kind;
    bool boolean;   /* CLI_YAML_BOOL */
    double number;  /* CLI_YAML_INT and CLI_YAML_FLOAT */
} cli_yaml_scalar;

/* Resolves text (NUL-terminated) written plain (unquoted, not a block scalar) or not,
 * with its explicit tag (a full tag such as "tag:yaml.org,2002:int", or NULL when none)
 * into *out. False for a tag other than the five above, or a text that is not what its
 * tag says (!!int abc). */
bool cli_yaml_resolve(const char *text, const char *tag, bool plain, cli_yaml_scalar *out);

/* "null", "a boolean", "an integer", "a float", "a string": for messages. */
const char *cli_yaml_kind_name(cli_yaml_kind kind);

#endif /* DC_CLI_YAML_SCALAR_H */
