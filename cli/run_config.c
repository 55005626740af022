/*
 * run_config.c — `dualcnn run -y FILE`: the original main.py's config.yml, read with libyaml
 * and understood as PyYAML (YAML 1.1) understands it (cli/yaml_scalar.h).
 *
 * The file is a mapping of the original's keys (docs/cascade.md has an example):
 *   dataset, dataset_path, duplicates, transforms, root_password
 *   first_model:  name, weights_file
 *   second_model: enable, name, weights_file, scorefn (or score_fn), threshold, postcheck
 *   memory:       enable, method (and duplicates, transforms in the earliest layout)
 * in block style or as flow mappings ({enable: true, threshold: 0.2166}). An empty value
 * is null: a string or number left empty keeps what the flags before -y set (or the
 * default), a boolean left empty is false, as `if value:` was in the original. A section
 * given twice replaces the first, as in PyYAML. second_model.enable: false makes a
 * single-model run and leaves the section's other settings unused; without `enable` a
 * section that names a model (or a memory method) turns it on.
 *
 * Refused, with the file, line and key: YAML syntax errors (tabs in indentation among
 * them), unknown keys, a value of the wrong type (threshold: high) or out of range, a
 * second document, and a file that is not a regular file or pipe, holds a NUL byte or is
 * over RUN_CONFIG_MAX_BYTES. Numbers may also be written as YAML 1.2 reads them (1e-3).
 */
#include "cli/run.h"
#include "cli/suggest.h"
#include "cli/yaml_scalar.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

/* ---- the keys ---------------------------------------------------------------- */

typedef enum {
    S_DATASET, S_PATH, S_DUPLICATES, S_TRANSFORMS, S_ROOT_PASSWORD, S_NAME1, S_WEIGHTS1,
    S_ENABLE2, S_NAME2, S_WEIGHTS2, S_SCORE, S_THRESHOLD, S_POSTCHECK, S_MEMORY_ENABLE,
    S_MEMORY_METHOD, S_COUNT
} slot_id;

typedef enum { T_STRING, T_BOOL, T_NUMBER, T_BOOL_OR_NUMBER, T_ANY } value_type;

static const struct {
    const char *section; /* NULL at the top level */
    const char *key;
    slot_id slot;
    value_type type;
} keys[] = {
    { NULL, "dataset", S_DATASET, T_STRING },
    { NULL, "dataset_path", S_PATH, T_STRING },
    { NULL, "duplicates", S_DUPLICATES, T_NUMBER },
    { NULL, "transforms", S_TRANSFORMS, T_BOOL_OR_NUMBER }, /* later code: a boolean */
    { NULL, "root_password", S_ROOT_PASSWORD, T_ANY },
    { "first_model", "name", S_NAME1, T_STRING },
    { "first_model", "weights_file", S_WEIGHTS1, T_STRING },
    { "second_model", "enable", S_ENABLE2, T_BOOL },
    { "second_model", "name", S_NAME2, T_STRING },
    { "second_model", "weights_file", S_WEIGHTS2, T_STRING },
    { "second_model", "scorefn", S_SCORE, T_STRING },
    { "second_model", "score_fn", S_SCORE, T_STRING }, /* the earliest layout */
    { "second_model", "threshold", S_THRESHOLD, T_NUMBER },
    { "second_model", "postcheck", S_POSTCHECK, T_BOOL },
    { "memory", "enable", S_MEMORY_ENABLE, T_BOOL },
    { "memory", "method", S_MEMORY_METHOD, T_STRING },
    { "memory", "duplicates", S_DUPLICATES, T_NUMBER },   /* the earliest layout */
    { "memory", "transforms", S_TRANSFORMS, T_BOOL_OR_NUMBER },
};
#define N_KEYS (int)(sizeof keys / sizeof keys[0])

static const char *const sections[] = { "first_model", "second_model", "memory" };
#define N_SECTIONS (int)(sizeof sections / sizeof sections[0])

/* What the file said for one slot. */
typedef struct {
    bool given;
    int line;
    const char *name;      /* "second_model.threshold": for messages */
    cli_yaml_kind kind;    /* CLI_YAML_NULL: given empty */
    bool boolean;
    double number;
    char *text;            /* strings (T_STRING, T_ANY), owned */
} slot;

typedef struct {
    const char *path;
    const char *text;      /* the file's bytes */
    size_t len;
    yaml_parser_t parser;
    slot slots[S_COUNT];
    char names[S_COUNT][40];
} reader;

static void clear_slot(slot *s)
{
    free(s->text);
    const char *name = s->name;
    memset(s, 0, sizeof *s);
    s->name = name;
}

/* ---- reading the file ----------------------------------------------------------- */

/* Reads path (a regular file or a pipe, at most RUN_CONFIG_MAX_BYTES, no NUL byte) into
 * a malloc'd buffer. */
static dc_status read_text(const char *path, char **text, size_t *len, dc_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return dc_fail(err, DC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !(S_ISREG(sb.st_mode) || S_ISFIFO(sb.st_mode))) {
        fclose(f);
        return dc_fail(err, DC_ERR_ARG, "%s: not a regular file (a directory or device?): "
                       "-y needs a config file", path);
    }
    char *buf = malloc(RUN_CONFIG_MAX_BYTES + 1);
    if (!buf) {
        fclose(f);
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", path);
    }
    size_t n = fread(buf, 1, RUN_CONFIG_MAX_BYTES + 1, f);
    bool failed = ferror(f);
    fclose(f);
    dc_status st = DC_OK;
    const char *nul = memchr(buf, '\0', n);
    if (failed) {
        st = dc_fail(err, DC_ERR_IO, "%s: read error", path);
    } else if (n > RUN_CONFIG_MAX_BYTES) {
        st = dc_fail(err, DC_ERR_FORMAT, "%s: longer than %d bytes: not a config file", path,
                     RUN_CONFIG_MAX_BYTES);
    } else if (nul) {
        int line = 1;
        for (const char *p = buf; p < nul; p++)
            line += *p == '\n';
        st = dc_fail(err, DC_ERR_FORMAT, "%s:%d: a NUL byte: not a text config file", path,
                     line);
    }
    if (st != DC_OK) {
        free(buf);
        return st;
    }
    *text = buf;
    *len = n;
    return DC_OK;
}

/* The parser's error as "file:line:column: problem (context)", with a word on tabs. */
static dc_status syntax_error(reader *r, dc_error *err)
{
    const yaml_parser_t *p = &r->parser;
    const char *problem = p->problem ? p->problem : "not valid YAML";
    if (p->error == YAML_MEMORY_ERROR)
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory reading YAML", r->path);
    if (p->error == YAML_READER_ERROR) /* bad UTF-8, control characters */
        return dc_fail(err, DC_ERR_FORMAT, "%s: byte %zu: %s", r->path, p->problem_offset,
                       problem);
    size_t at = p->problem_mark.index;
    bool tab = (at < r->len && r->text[at] == '\t') || strstr(problem, "tab") != NULL;
    return dc_fail(err, DC_ERR_FORMAT, "%s:%zu:%zu: %s%s%s%s%s", r->path,
                   p->problem_mark.line + 1, p->problem_mark.column + 1, problem,
                   p->context ? " (" : "", p->context ? p->context : "",
                   p->context ? ")" : "",
                   tab ? "; YAML does not allow tabs in indentation: indent with spaces" : "");
}

static dc_status next_event(reader *r, yaml_event_t *ev, dc_error *err)
{
    if (!yaml_parser_parse(&r->parser, ev))
        return syntax_error(r, err);
    return DC_OK;
}

static int line_of(const yaml_event_t *ev)
{
    return (int)ev->start_mark.line + 1;
}

/* "a mapping", "a list", "an alias", or the scalar's kind and text, for messages. */
static void describe(const yaml_event_t *ev, const cli_yaml_scalar *v, char *buf, size_t cap)
{
    if (ev->type == YAML_MAPPING_START_EVENT)
        snprintf(buf, cap, "a mapping");
    else if (ev->type == YAML_SEQUENCE_START_EVENT)
        snprintf(buf, cap, "a list");
    else if (ev->type == YAML_ALIAS_EVENT)
        snprintf(buf, cap, "an alias (*%s), which dualcnn does not follow",
                 (const char *)ev->data.alias.anchor);
    else
        snprintf(buf, cap, "%s ('%.60s')", cli_yaml_kind_name(v->kind),
                 (const char *)ev->data.scalar.value);
}

/* ---- values ---------------------------------------------------------------------- */

/* Resolves a scalar event into v; fails for an unsupported tag or a NUL character. */
static dc_status scalar_of(reader *r, const yaml_event_t *ev, const char *name,
                           cli_yaml_scalar *v, dc_error *err)
{
    const char *text = (const char *)ev->data.scalar.value;
    const char *tag = (const char *)ev->data.scalar.tag;
    if (strlen(text) != ev->data.scalar.length)
        return dc_fail(err, DC_ERR_FORMAT, "%s:%d: %s holds a NUL character", r->path,
                       line_of(ev), name);
    if (!cli_yaml_resolve(text, tag, ev->data.scalar.plain_implicit, v))
        return dc_fail(err, DC_ERR_FORMAT, "%s:%d: %s: tag %s on '%.60s' is not supported "
                       "(only !!str, !!int, !!float, !!bool and !!null)", r->path,
                       line_of(ev), name, tag, text);
    return DC_OK;
}

/* A number written as YAML 1.2 reads it but YAML 1.1 does not (1e-3): plain and
 * entirely a finite strtod number. */
static bool lenient_number(const yaml_event_t *ev, double *out)
{
    const char *text = (const char *)ev->data.scalar.value;
    char *end;
    if (!ev->data.scalar.plain_implicit || !*text)
        return false;
    errno = 0;
    *out = strtod(text, &end);
    return !*end && !errno && isfinite(*out);
}

/* Stores the value event ev of key k into its slot, checking its type. */
static dc_status store_value(reader *r, int k, const yaml_event_t *ev, dc_error *err)
{
    slot *s = &r->slots[keys[k].slot];
    value_type type = keys[k].type;
    cli_yaml_scalar v = { .kind = CLI_YAML_NULL };
    char what[160];
    if (ev->type == YAML_SCALAR_EVENT) {
        dc_status st = scalar_of(r, ev, s->name, &v, err);
        if (st != DC_OK)
            return st;
    }
    bool ok = ev->type == YAML_SCALAR_EVENT;
    if (ok && v.kind == CLI_YAML_STR && (type == T_NUMBER || type == T_BOOL_OR_NUMBER) &&
        lenient_number(ev, &v.number))
        v.kind = CLI_YAML_FLOAT;
    bool is_number = v.kind == CLI_YAML_INT || v.kind == CLI_YAML_FLOAT;
    if (ok && v.kind != CLI_YAML_NULL && type != T_ANY)
        ok = type == T_STRING ? v.kind == CLI_YAML_STR
           : type == T_BOOL ? v.kind == CLI_YAML_BOOL
           : type == T_NUMBER ? is_number
                              : is_number || v.kind == CLI_YAML_BOOL;
    if (!ok) {
        static const char *const wanted[] = { "a string", "true or false", "a number",
                                              "a number or true/false", "a value" };
        describe(ev, &v, what, sizeof what);
        return dc_fail(err, DC_ERR_FORMAT, "%s:%d: %s must be %s, got %s", r->path,
                       line_of(ev), s->name, wanted[type], what);
    }
    clear_slot(s);
    s->given = true;
    s->line = line_of(ev);
    s->kind = v.kind;
    s->boolean = v.boolean;
    s->number = v.number;
    if (v.kind != CLI_YAML_NULL && (type == T_STRING || type == T_ANY) &&
        !(s->text = strdup((const char *)ev->data.scalar.value)))
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", r->path);
    return DC_OK;
}

/* ---- walking the document ------------------------------------------------------- */

static int find_key(const char *section, const char *key)
{
    for (int k = 0; k < N_KEYS; k++)
        if (((!section && !keys[k].section) ||
             (section && keys[k].section && strcmp(section, keys[k].section) == 0)) &&
            strcmp(key, keys[k].key) == 0)
            return k;
    return -1;
}

static int find_section(const char *key)
{
    for (int i = 0; i < N_SECTIONS; i++)
        if (strcmp(key, sections[i]) == 0)
            return i;
    return -1;
}

/* An unknown key, with a hint: where the key belongs when it is one of another section
 * (threshold at the top level), else the closest key of its own section. */
static dc_status unknown_key(reader *r, const char *section, const char *key, int line,
                             dc_error *err)
{
    const char *names[N_KEYS + N_SECTIONS];
    int n = 0;
    char hint[96] = "";
    for (int k = 0; k < N_KEYS; k++) {
        bool here = (!section && !keys[k].section) ||
                    (section && keys[k].section && strcmp(section, keys[k].section) == 0);
        if (here)
            names[n++] = keys[k].key;
        else if (!*hint && strcmp(key, keys[k].key) == 0)
            snprintf(hint, sizeof hint, " (it belongs %s%s)",
                     keys[k].section ? "under " : "at the top level",
                     keys[k].section ? keys[k].section : "");
    }
    for (int i = 0; !section && i < N_SECTIONS; i++)
        names[n++] = sections[i];
    const char *near = *hint ? NULL : cli_closest(key, names, n);
    if (near)
        snprintf(hint, sizeof hint, " (did you mean '%s'?)", near);
    return dc_fail(err, DC_ERR_FORMAT, "%s:%d: unknown key '%s%s%.60s'%s", r->path, line,
                   section ? section : "", section ? "." : "", key, hint);
}

static dc_status read_mapping(reader *r, const char *section, dc_error *err);

/* After the key of a section (first_model, ...): its mapping, or nothing (`memory:`). */
static dc_status read_section(reader *r, int i, dc_error *err)
{
    for (int k = 0; k < N_KEYS; k++) /* a section given again replaces the first */
        if (keys[k].section && strcmp(keys[k].section, sections[i]) == 0)
            clear_slot(&r->slots[keys[k].slot]);
    yaml_event_t ev;
    dc_status st = next_event(r, &ev, err);
    if (st != DC_OK)
        return st;
    cli_yaml_scalar v = { .kind = CLI_YAML_STR };
    if (ev.type == YAML_MAPPING_START_EVENT) {
        st = read_mapping(r, sections[i], err);
    } else if (ev.type != YAML_SCALAR_EVENT ||
               (st = scalar_of(r, &ev, sections[i], &v, err)) != DC_OK ||
               v.kind != CLI_YAML_NULL) {
        char what[160];
        describe(&ev, &v, what, sizeof what);
        if (st == DC_OK)
            st = dc_fail(err, DC_ERR_FORMAT, "%s:%d: %s must be a mapping (its keys indented "
                         "below it), got %s", r->path, line_of(&ev), sections[i], what);
    }
    yaml_event_delete(&ev);
    return st;
}

/* The pairs of a mapping whose start was just read, up to its end. */
static dc_status read_mapping(reader *r, const char *section, dc_error *err)
{
    dc_status st = DC_OK;
    while (st == DC_OK) {
        yaml_event_t ev;
        if ((st = next_event(r, &ev, err)) != DC_OK)
            break;
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        char key[64];
        int line = line_of(&ev);
        if (ev.type != YAML_SCALAR_EVENT)
            st = dc_fail(err, DC_ERR_FORMAT, "%s:%d: a key must be a name, not a %s", r->path,
                         line, ev.type == YAML_MAPPING_START_EVENT ? "mapping" : "list or alias");
        else
            snprintf(key, sizeof key, "%s", (const char *)ev.data.scalar.value);
        yaml_event_delete(&ev);
        if (st != DC_OK)
            break;
        int sec = section ? -1 : find_section(key);
        int k = find_key(section, key);
        if (sec >= 0) {
            st = read_section(r, sec, err);
        } else if (k < 0) {
            st = unknown_key(r, section, key, line, err);
        } else if ((st = next_event(r, &ev, err)) == DC_OK) {
            st = store_value(r, k, &ev, err);
            yaml_event_delete(&ev);
        }
    }
    return st;
}

/* The stream: one document whose root is a mapping. */
static dc_status read_document(reader *r, dc_error *err)
{
    yaml_event_t ev;
    dc_status st = next_event(r, &ev, err); /* the stream's start */
    if (st != DC_OK)
        return st;
    yaml_event_delete(&ev);
    if ((st = next_event(r, &ev, err)) != DC_OK)
        return st;
    bool empty = ev.type == YAML_STREAM_END_EVENT;
    yaml_event_delete(&ev);
    if (empty)
        return dc_fail(err, DC_ERR_FORMAT, "%s: empty: no settings", r->path);
    if ((st = next_event(r, &ev, err)) != DC_OK) /* the root node */
        return st;
    if (ev.type != YAML_MAPPING_START_EVENT) {
        cli_yaml_scalar v = { .kind = CLI_YAML_STR };
        char what[160];
        if (ev.type == YAML_SCALAR_EVENT)
            st = scalar_of(r, &ev, "the document", &v, err);
        describe(&ev, &v, what, sizeof what);
        if (st == DC_OK && v.kind == CLI_YAML_NULL)
            st = dc_fail(err, DC_ERR_FORMAT, "%s: empty: no settings", r->path);
        else if (st == DC_OK)
            st = dc_fail(err, DC_ERR_FORMAT, "%s:%d: expected settings as 'key: value' lines, "
                         "got %s", r->path, line_of(&ev), what);
        yaml_event_delete(&ev);
        return st;
    }
    yaml_event_delete(&ev);
    if ((st = read_mapping(r, NULL, err)) != DC_OK)
        return st;
    if ((st = next_event(r, &ev, err)) != DC_OK) /* the document's end */
        return st;
    yaml_event_delete(&ev);
    if ((st = next_event(r, &ev, err)) != DC_OK)
        return st;
    if (ev.type != YAML_STREAM_END_EVENT)
        st = dc_fail(err, DC_ERR_FORMAT, "%s:%d: a second document ('---'): a config file "
                     "holds one", r->path, line_of(&ev));
    yaml_event_delete(&ev);
    return st;
}

/* ---- into run_opts ------------------------------------------------------------ */

/* Keeps a copy of s alive until run_config_free. */
static const char *keep(run_config *c, const char *s, dc_status *st, dc_error *err)
{
    if (c->n_strings == c->cap) {
        int cap = c->cap ? 2 * c->cap : 16;
        char **grown = realloc(c->strings, (size_t)cap * sizeof *grown);
        if (!grown) {
            *st = dc_fail(err, DC_ERR_NOMEM, "out of memory");
            return NULL;
        }
        c->strings = grown;
        c->cap = cap;
    }
    char *copy = strdup(s);
    if (!copy)
        *st = dc_fail(err, DC_ERR_NOMEM, "out of memory");
    else
        c->strings[c->n_strings++] = copy;
    return copy;
}

/* Whether slot s holds a string (given and not empty). */
static bool has_text(const slot *s)
{
    return s->given && s->kind != CLI_YAML_NULL;
}

/* Sets *out to a kept copy of a string slot's text when it holds one. */
static void apply_string(run_config *c, const slot *s, const char **out, dc_status *st,
                         dc_error *err)
{
    if (*st == DC_OK && has_text(s))
        *out = keep(c, s->text, st, err);
}

/* Sets *out to a number slot's value when it holds one in [lo, hi]. */
static void apply_number(const reader *r, const slot *s, double lo, double hi, double *out,
                         dc_status *st, dc_error *err)
{
    if (*st != DC_OK || !has_text(s))
        return;
    double v = s->kind == CLI_YAML_BOOL ? (s->boolean ? 1.0 : 0.0) : s->number;
    if (!(v >= lo && v <= hi))
        *st = dc_fail(err, DC_ERR_FORMAT, "%s:%d: %s must be in [%g, %g], got %g", r->path,
                      s->line, s->name, lo, hi, v);
    else
        *out = v;
}

/* Whether a section is switched on: its `enable` when given (empty: off), else whether it
 * names what it would use; -1 when it says neither. */
static int section_on(const slot *enable, const slot *what)
{
    if (enable->given)
        return enable->kind == CLI_YAML_BOOL && enable->boolean;
    return has_text(what) ? 1 : -1;
}

static void apply_second_model(const reader *r, run_config *c, run_opts *o, dc_status *st,
                               dc_error *err)
{
    const slot *s = r->slots;
    int on = section_on(&s[S_ENABLE2], &s[S_NAME2]);
    if (on == 0) {
        o->model2 = o->weights2 = NULL;
        return; /* the section's other settings are for a cascade */
    }
    apply_string(c, &s[S_NAME2], &o->model2, st, err);
    apply_string(c, &s[S_WEIGHTS2], &o->weights2, st, err);
    if (*st == DC_OK && on == 1 && !o->model2 && !o->weights2)
        *st = dc_fail(err, DC_ERR_FORMAT, "%s:%d: second_model.enable is true but "
                      "second_model.name is empty", r->path, s[S_ENABLE2].line);
    if (*st == DC_OK && has_text(&s[S_SCORE]) && !dc_score_parse(s[S_SCORE].text, &o->score))
        *st = dc_fail(err, DC_ERR_FORMAT, "%s:%d: %s must be maxp, difference, entropy or "
                      "oracle, got '%.60s'", r->path, s[S_SCORE].line, s[S_SCORE].name,
                      s[S_SCORE].text);
    if (*st == DC_OK && has_text(&s[S_THRESHOLD])) {
        apply_number(r, &s[S_THRESHOLD], 0.0, 1.0, &o->threshold, st, err);
        o->threshold_given = true;
    }
    if (s[S_POSTCHECK].given)
        o->postcheck = s[S_POSTCHECK].kind == CLI_YAML_BOOL && s[S_POSTCHECK].boolean;
}

static void apply_memory(const reader *r, run_config *c, run_opts *o, dc_status *st,
                         dc_error *err)
{
    const slot *en = &r->slots[S_MEMORY_ENABLE], *method = &r->slots[S_MEMORY_METHOD];
    int on = section_on(en, method);
    if (on == 0) {
        o->memory = NULL;
        return;
    }
    if (*st == DC_OK && has_text(method)) {
        if (strcmp(method->text, "dhash") != 0 && strcmp(method->text, "invariants") != 0)
            *st = dc_fail(err, DC_ERR_FORMAT, "%s:%d: %s must be dhash or invariants, got "
                          "'%.60s'", r->path, method->line, method->name, method->text);
        else
            apply_string(c, method, &o->memory, st, err);
    }
    if (*st == DC_OK && on == 1 && !o->memory)
        *st = dc_fail(err, DC_ERR_FORMAT, "%s:%d: memory.enable is true but memory.method "
                      "is empty", r->path, en->line);
}

/* Applies what the file said to o. */
static dc_status apply(const reader *r, run_config *c, run_opts *o, dc_error *err)
{
    const slot *s = r->slots;
    dc_status st = DC_OK;
    apply_string(c, &s[S_DATASET], &o->dataset, &st, err);
    apply_string(c, &s[S_PATH], &o->path, &st, err);
    apply_string(c, &s[S_NAME1], &o->model1, &st, err);
    apply_string(c, &s[S_WEIGHTS1], &o->weights1, &st, err);
    apply_second_model(r, c, o, &st, err);
    apply_memory(r, c, o, &st, err);
    apply_number(r, &s[S_DUPLICATES], 0.0, 1000.0, &o->duplicates, &st, err);
    apply_number(r, &s[S_TRANSFORMS], 0.0, 1.0, &o->rotations, &st, err);
    if (st == DC_OK && has_text(&s[S_ROOT_PASSWORD]) && *s[S_ROOT_PASSWORD].text)
        fprintf(stderr, "dualcnn run: %s:%d: root_password is ignored: dualcnn never takes "
                        "a password (run as root with -f shutdown)\n", r->path,
                s[S_ROOT_PASSWORD].line);
    return st;
}

dc_status run_config_load(const char *path, run_opts *o, run_config *c, dc_error *err)
{
    reader r;
    memset(&r, 0, sizeof r);
    r.path = path;
    for (int k = 0; k < N_KEYS; k++) {
        char *name = r.names[keys[k].slot];
        if (!*name) /* the first spelling names the slot */
            snprintf(name, sizeof r.names[0], "%s%s%s", keys[k].section ? keys[k].section : "",
                     keys[k].section ? "." : "", keys[k].key);
        r.slots[keys[k].slot].name = name;
    }
    char *text = NULL;
    dc_status st = read_text(path, &text, &r.len, err);
    if (st != DC_OK)
        return st;
    r.text = text;
    if (!yaml_parser_initialize(&r.parser)) {
        free(text);
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", path);
    }
    yaml_parser_set_input_string(&r.parser, (const unsigned char *)text, r.len);
    st = read_document(&r, err);
    yaml_parser_delete(&r.parser);
    free(text);
    if (st == DC_OK) {
        run_opts changed = *o;
        if ((st = apply(&r, c, &changed, err)) == DC_OK)
            *o = changed;
    }
    for (int i = 0; i < S_COUNT; i++)
        free(r.slots[i].text);
    return st;
}

void run_config_free(run_config *c)
{
    for (int i = 0; i < c->n_strings; i++)
        free(c->strings[i]);
    free(c->strings);
    c->strings = NULL;
    c->n_strings = c->cap = 0;
}
