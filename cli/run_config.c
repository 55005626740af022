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

dc_status run_config_load(const char *path, run_opts *o, run_config *c, dc_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return dc_fail(err, DC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char buf[1024], section[64] = "";
    int line = 0;
    bool second_enabled = false, memory_enabled = false;
    const char *second_name = NULL, *memory_method = NULL;
    dc_status st = DC_OK;
    while (st == DC_OK && fgets(buf, sizeof buf, f)) {
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
