/*
 * checksum_list.c — `dualcnn fetch --checksums FILE`: the checksums of a mirror that
 * repacks the official files, in the format sha256sum and md5sum write (see fetch.h).
 */
#include "cli/fetch.h"
#include "base/alloc.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLI_CHECKSUMS_MAX_LINES 100000

static const char *last_component(const char *name)
{
    const char *slash = strrchr(name, '/');
    return slash ? slash + 1 : name;
}

/* Adds one line ("HEX  NAME", "HEX *NAME") to l; blank and comment lines add nothing. */
static dc_status parse_line(cli_checksum_list *l, char *line, int lineno, dc_error *err)
{
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    char *s = line;
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '\0' || *s == '#')
        return DC_OK;
    size_t hex = 0;
    while (isxdigit((unsigned char)s[hex]))
        hex++;
    char *name = s + hex;
    if (*name == ' ' || *name == '\t')
        name++;
    if (*name == ' ' || *name == '*') /* text or binary mode marker */
        name++;
    if ((hex != 32 && hex != 64) || (s[hex] != ' ' && s[hex] != '\t') || *name == '\0' ||
        *last_component(name) == '\0')
        return dc_fail(err, DC_ERR_FORMAT, "%s:%d: not a checksum line (\"HEX  NAME\", HEX of "
                       "64 hex digits for a SHA-256 or 32 for an MD5, as sha256sum and md5sum "
                       "write them)", l->path, lineno);
    struct cli_checksum *items = dc_realloc(l->items, (size_t)(l->n + 1) * sizeof *items);
    if (!items)
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", l->path);
    l->items = items;
    struct cli_checksum *c = &items[l->n];
    c->name = dc_strdup(last_component(name));
    if (!c->name)
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", l->path);
    for (size_t i = 0; i < hex; i++)
        c->hex[i] = (char)tolower((unsigned char)s[i]);
    c->hex[hex] = '\0';
    l->n++;
    return DC_OK;
}

dc_status cli_checksums_load(const char *path, cli_checksum_list *out, dc_error *err)
{
    *out = (cli_checksum_list){ .path = path };
    FILE *f = fopen(path, "r");
    if (!f)
        return dc_fail(err, DC_ERR_IO, "--checksums %s: cannot open: %s", path,
                       strerror(errno));
    char line[4096];
    dc_status st = DC_OK;
    int lineno = 0;
    while (st == DC_OK && fgets(line, sizeof line, f)) {
        lineno++;
        if (lineno > CLI_CHECKSUMS_MAX_LINES || (!strchr(line, '\n') && !feof(f)))
            st = dc_fail(err, DC_ERR_FORMAT, "%s:%d: %s", path, lineno,
                         lineno > CLI_CHECKSUMS_MAX_LINES ? "too many lines"
                                                          : "line too long");
        else
            st = parse_line(out, line, lineno, err);
    }
    if (st == DC_OK && ferror(f))
        st = dc_fail(err, DC_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    fclose(f);
    return st;
}

const char *cli_checksums_find(const cli_checksum_list *l, const char *name)
{
    const char *base = last_component(name);
    for (int i = l->n - 1; i >= 0; i--) /* the last line naming it wins */
        if (strcmp(l->items[i].name, base) == 0)
            return l->items[i].hex;
    return NULL;
}

void cli_checksums_free(cli_checksum_list *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->items[i].name);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}
