/*
 * run_config.c — `dualcnn run -y FILE`: the original main.py's config.yml.
 *
 * That file is a two-level YAML mapping (see docs/cascade.md for an example). This reader
 * accepts exactly that shape: "key: value" lines, nested one level by indentation, '#'
 * comments, plain or quoted scalars. Anything else is an error naming the file and line.
 * Values land in run_opts as if given by their flags; flags given on the command line
 * AFTER -y override them.
 */
#include "cli/run.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Trims spaces at both ends in place and returns the start. */
static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* Cuts a comment off a value (a '#' outside quotes) and removes quotes. */
static char *scalar(char *v)
{
    v = trim(v);
    if (*v == '"' || *v == '\'') {
        char q = *v++;
        char *end = strchr(v, q);
        if (end)
            *end = '\0';
        return v;
    }
    char *hash = strchr(v, '#');
    if (hash)
        *hash = '\0';
    return trim(v);
}

static bool is_true(const char *v)
{
    return strcmp(v, "true") == 0 || strcmp(v, "True") == 0 || strcmp(v, "yes") == 0;
}

/* Keeps a copy of v alive until run_config_free. */
static const char *keep(run_config *c, const char *v)
{
    if (!*v)
        return NULL; /* an empty value means "not set", as in the original */
    if (c->n_strings == RUN_CONFIG_MAX_STRINGS)
        return NULL;
    return c->strings[c->n_strings++] = strdup(v);
}

static dc_status set_number(const char *path, int line, const char *key, const char *v,
                            double *out, dc_error *err)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (!*v || *end || errno)
        return dc_fail(err, DC_ERR_FORMAT, "%s:%d: %s must be a number, got '%s'", path, line,
                       key, v);
    *out = d;
    return DC_OK;
}

/* Reads one line (without its newline) into buf (RUN_CONFIG_MAX_LINE + 1 bytes): 1 when a
 * line was read, 0 at the end of the file, or fails naming the file and line for a NUL byte
 * (a binary file, /dev/zero), a line over RUN_CONFIG_MAX_LINE bytes, a file over
 * RUN_CONFIG_MAX_BYTES, or a read error. *total counts the bytes read so far. */
static int read_line(FILE *f, const char *path, int line, char *buf, size_t *total,
                     dc_status *st, dc_error *err)
{
    size_t n = 0;
    int ch;
    while ((ch = getc(f)) != EOF) {
        if (++*total > RUN_CONFIG_MAX_BYTES) {
            *st = dc_fail(err, DC_ERR_FORMAT, "%s: longer than %d bytes: not a config file",
                          path, RUN_CONFIG_MAX_BYTES);
            return -1;
        }
        if (ch == '\n')
            break;
        if (ch == '\0') {
            *st = dc_fail(err, DC_ERR_FORMAT, "%s:%d: a NUL byte: not a text config file",
                          path, line);
            return -1;
        }
        if (n == RUN_CONFIG_MAX_LINE) {
            *st = dc_fail(err, DC_ERR_FORMAT, "%s:%d: line longer than %d bytes", path, line,
                          RUN_CONFIG_MAX_LINE);
            return -1;
        }
        buf[n++] = (char)ch;
    }
    buf[n] = '\0';
    if (ferror(f)) {
        *st = dc_fail(err, DC_ERR_IO, "%s: read error: %s", path, strerror(errno));
        return -1;
    }
    return ch == EOF && n == 0 ? 0 : 1;
}

/* Opens path for reading if it is a regular file or a pipe (`-y <(...)`); a directory or a
 * device (/dev/zero) is refused. */
static FILE *open_config(const char *path, dc_status *st, dc_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        *st = dc_fail(err, DC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !(S_ISREG(sb.st_mode) || S_ISFIFO(sb.st_mode))) {
        *st = dc_fail(err, DC_ERR_ARG, "%s: not a regular file (a directory or device?): "
                      "-y needs a config file", path);
        fclose(f);
        return NULL;
    }
    return f;
}

dc_status run_config_load(const char *path, run_opts *o, run_config *c, dc_error *err)
{
    dc_status st = DC_OK;
    FILE *f = open_config(path, &st, err);
    if (!f)
        return st;
    char buf[RUN_CONFIG_MAX_LINE + 1], section[64] = "";
    int line = 0;
    size_t total = 0;
    bool second_enabled = false, memory_enabled = false;
    const char *second_name = NULL, *memory_method = NULL;
    while (st == DC_OK && read_line(f, path, line + 1, buf, &total, &st, err) > 0) {
        line++;
        if (strncmp(buf, "---", 3) == 0)
            continue;
        bool nested = buf[0] == ' ' || buf[0] == '\t';
        char *s = trim(buf);
        if (!*s || *s == '#')
            continue;
        char *colon = strchr(s, ':');
        if (!colon) {
            st = dc_fail(err, DC_ERR_FORMAT, "%s:%d: expected 'key: value'", path, line);
            break;
        }
        *colon = '\0';
        char *key = trim(s), *v = scalar(colon + 1);
        char full[160];
        if (!nested) {
            snprintf(section, sizeof section, "%s", key);
            snprintf(full, sizeof full, "%s", key);
        } else {
            snprintf(full, sizeof full, "%s.%s", section, key);
        }
        double d;
        if (strcmp(full, "dataset") == 0) {
            o->dataset = keep(c, v);
        } else if (strcmp(full, "dataset_path") == 0) {
            o->path = keep(c, v);
        } else if (strcmp(full, "first_model.name") == 0) {
            o->model1 = keep(c, v);
        } else if (strcmp(full, "first_model.weights_file") == 0) {
            o->weights1 = keep(c, v);
        } else if (strcmp(full, "second_model.enable") == 0) {
            second_enabled = is_true(v);
        } else if (strcmp(full, "second_model.name") == 0) {
            second_name = keep(c, v);
        } else if (strcmp(full, "second_model.weights_file") == 0) {
            o->weights2 = keep(c, v);
        } else if (strcmp(full, "second_model.scorefn") == 0) {
            if (*v && !dc_score_parse(v, &o->score))
                st = dc_fail(err, DC_ERR_FORMAT, "%s:%d: unknown scorefn '%s'", path, line, v);
        } else if (strcmp(full, "second_model.threshold") == 0) {
            if (*v && (st = set_number(path, line, full, v, &o->threshold, err)) == DC_OK)
                o->threshold_given = true;
        } else if (strcmp(full, "second_model.postcheck") == 0) {
            o->postcheck = is_true(v);
        } else if (strcmp(full, "memory.enable") == 0) {
            memory_enabled = is_true(v);
        } else if (strcmp(full, "memory.method") == 0) {
            memory_method = keep(c, v);
        } else if (strcmp(full, "duplicates") == 0) {
            st = *v ? set_number(path, line, full, v, &o->duplicates, err) : DC_OK;
        } else if (strcmp(full, "transforms") == 0) {
            st = *v ? set_number(path, line, full, v, &d, err) : DC_OK;
            if (st == DC_OK && *v) /* the later code's boolean; the paper's probability */
                o->rotations = is_true(v) ? 1.0 : d;
        } else if (strcmp(full, "root_password") == 0) {
            if (*v)
                fprintf(stderr, "dualcnn run: %s:%d: root_password is ignored: dualcnn never "
                                "takes a password (run as root with -f shutdown)\n", path, line);
        } else if (nested || (strcmp(key, "first_model") != 0 &&
                              strcmp(key, "second_model") != 0 && strcmp(key, "memory") != 0)) {
            st = dc_fail(err, DC_ERR_FORMAT, "%s:%d: unknown key '%s'", path, line, full);
        }
    }
    fclose(f);
    if (st == DC_OK) {
        o->model2 = second_enabled ? second_name : NULL;
        if (!second_enabled)
            o->weights2 = NULL;
        o->memory = memory_enabled ? memory_method : NULL;
    }
    return st;
}

void run_config_free(run_config *c)
{
    for (int i = 0; i < c->n_strings; i++)
        free(c->strings[i]);
    c->n_strings = 0;
}
