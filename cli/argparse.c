/* argparse.c — the table-driven argument parser of every command (see argparse.h). */
#include "cli/argparse.h"
#include "cli/cli.h"
#include "cli/suggest.h"

#include <string.h>

#define HELP_ID (-100) /* the implicit -h/--help of every command */
#define MAX_NAME 63    /* the longest spelling (and the longest word matched against one) */
#define MAX_CANDIDATES 16

static const cli_opt help_opt = { HELP_ID, "-h --help", CLI_FLAG };

/* Steps through the space-separated spellings of names: the next one's start and length
 * in *start / *len, false when there is none. */
static bool next_name(const char **p, const char **start, size_t *len)
{
    while (**p == ' ')
        (*p)++;
    if (!**p)
        return false;
    *start = *p;
    while (**p && **p != ' ')
        (*p)++;
    *len = (size_t)(*p - *start);
    return true;
}

/* Calls visit(opt, spelling, length, ctx) for each spelling of opt; false when visit
 * asked to stop. */
static bool each_spelling(const cli_opt *opt,
                          bool (*visit)(const cli_opt *, const char *, size_t, void *),
                          void *ctx)
{
    const char *p = opt->names, *start;
    size_t len;
    while (next_name(&p, &start, &len))
        if (!visit(opt, start, len, ctx))
            return false;
    return true;
}

/* Calls visit for every spelling of every option of s, the implicit help first; stops
 * early when visit returns false. */
static void each_name(const cli_spec *s,
                      bool (*visit)(const cli_opt *, const char *, size_t, void *), void *ctx)
{
    if (!each_spelling(&help_opt, visit, ctx))
        return;
    for (int t = 0; t < CLI_MAX_TABLES && s->tables[t]; t++)
        for (const cli_opt *o = s->tables[t]; o->id != 0; o++)
            if (!each_spelling(o, visit, ctx))
                return;
}

/* ---- matching one argument -------------------------------------------------- */

typedef struct {
    const char *word;  /* what the user wrote, up to any '=' */
    size_t len;
    bool prefix;       /* second round: long spellings that word prefixes */
    const cli_opt *found[MAX_CANDIDATES];
    char names[MAX_CANDIDATES][MAX_NAME + 1];
    int n;
} match_ctx;

static void copy_name(char *dst, const char *src, size_t len)
{
    if (len > MAX_NAME)
        len = MAX_NAME;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

static bool visit_match(const cli_opt *opt, const char *name, size_t len, void *arg)
{
    match_ctx *m = arg;
    bool hit = m->prefix ? len > m->len && name[1] == '-' && strncmp(name, m->word, m->len) == 0
                         : len == m->len && strncmp(name, m->word, len) == 0;
    if (!hit)
        return true;
    for (int k = 0; k < m->n; k++)
        if (m->found[k] == opt)
            return true; /* another spelling of a candidate already found */
    if (m->n < MAX_CANDIDATES) {
        m->found[m->n] = opt;
        copy_name(m->names[m->n], name, len);
        m->n++;
    }
    return m->prefix || m->n == 0; /* an exact spelling is unique: stop at it */
}

typedef struct {
    char pool[4096];
    const char *names[256];
    int n;
    size_t used;
} name_list;

static bool visit_collect(const cli_opt *opt, const char *name, size_t len, void *arg)
{
    (void)opt;
    name_list *l = arg;
    if (l->n == 256 || l->used + len + 1 > sizeof l->pool)
        return false;
    copy_name(l->pool + l->used, name, len);
    l->names[l->n++] = l->pool + l->used;
    l->used += len + 1;
    return true;
}

static int unknown_option(const cli_spec *s, const char *word)
{
    name_list all = { .n = 0, .used = 0 };
    each_name(s, visit_collect, &all);
    size_t dashes = strspn(word, "-");
    const char *near = strlen(word) - dashes >= 2 ? cli_closest(word, all.names, all.n) : NULL;
    if (near)
        return cli_usage_error(s->cmd, "unknown option %s; did you mean %s?", word, near);
    return cli_usage_error(s->cmd, "unknown option %s", word);
}

static int ambiguous_option(const cli_spec *s, const char *word, const match_ctx *m)
{
    char list[512] = "";
    size_t used = 0;
    for (int k = 0; k < m->n && used < sizeof list; k++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", k ? ", " : "",
                                 m->names[k]);
    return cli_usage_error(s->cmd, "ambiguous option %s: could be %s", word, list);
}

/* Finds the option of argument arg (which starts with '-' and is not "-"): *opt, its full
 * spelling in name, and a value given in the same argument (--x=v, -t=v, -t0.5) in
 * *inline_value (NULL when none). Returns CLI_OK, or CLI_USAGE after reporting. */
static int match_option(const cli_spec *s, const char *arg, const cli_opt **opt, char *name,
                        const char **inline_value)
{
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    char word[MAX_NAME + 1];
    copy_name(word, arg, len); /* for messages; longer words match nothing anyway */
    match_ctx m = { .word = arg, .len = len, .prefix = false, .n = 0 };
    *inline_value = eq ? eq + 1 : NULL;
    each_name(s, visit_match, &m);
    bool is_long = arg[1] == '-';
    if (m.n == 0 && is_long) {
        m.prefix = true;
        each_name(s, visit_match, &m);
        if (m.n > 1)
            return ambiguous_option(s, word, &m);
    }
    if (m.n == 0 && !is_long && arg[2]) {
        /* -t0.5: a one-letter spelling followed by its value */
        match_ctx one = { .word = arg, .len = 2, .prefix = false, .n = 0 };
        each_name(s, visit_match, &one);
        if (one.n == 1 && one.found[0]->value) {
            m = one;
            *inline_value = arg + 2;
        }
    }
    if (m.n == 0)
        return unknown_option(s, word);
    *opt = m.found[0];
    snprintf(name, MAX_NAME + 1, "%s", m.names[0]);
    return CLI_OK;
}

/* ---- walking argv ------------------------------------------------------------ */

/* One step from a->i: the option's id (value and spelling filled in), CLI_ARG_POSITIONAL,
 * CLI_ARG_END, or CLI_USAGE - 1000 after reporting a problem (only while checking). */
#define STEP_ERROR (-1000)

static int step(cli_args *a)
{
    while (a->i < a->argc) {
        const char *arg = a->argv[a->i++];
        if (!a->positional_only && strcmp(arg, "--") == 0) {
            a->positional_only = true;
            continue;
        }
        if (a->positional_only || arg[0] != '-' || arg[1] == '\0') {
            if (!a->spec->positional) {
                cli_usage_error(a->spec->cmd, "unexpected argument '%s'", arg);
                return STEP_ERROR;
            }
            a->value = arg;
            a->flag[0] = '\0';
            return CLI_ARG_POSITIONAL;
        }
        const cli_opt *opt;
        const char *inline_value;
        if (match_option(a->spec, arg, &opt, a->flag, &inline_value) != CLI_OK)
            return STEP_ERROR;
        a->value = NULL;
        if (opt->value && inline_value) {
            a->value = inline_value;
        } else if (opt->value) {
            if (a->i >= a->argc) {
                cli_usage_error(a->spec->cmd, "%s needs a value", a->flag);
                return STEP_ERROR;
            }
            a->value = a->argv[a->i++];
        } else if (inline_value) {
            cli_usage_error(a->spec->cmd, "%s takes no value (got '%s')", a->flag,
                            inline_value);
            return STEP_ERROR;
        }
        return opt->id;
    }
    return CLI_ARG_END;
}

int cli_args_begin(cli_args *a, const cli_spec *spec, int argc, char **argv)
{
    memset(a, 0, sizeof *a);
    a->spec = spec;
    a->argc = argc;
    a->argv = argv;
    a->i = 1;
    int id;
    while ((id = step(a)) != CLI_ARG_END) {
        if (id == STEP_ERROR)
            return CLI_USAGE;
        if (id == HELP_ID) {
            spec->help(stdout);
            return CLI_HELP_SHOWN;
        }
    }
    a->i = 1;
    a->positional_only = false;
    return CLI_OK;
}

int cli_args_next(cli_args *a)
{
    int id;
    do
        id = step(a);
    while (id == HELP_ID); /* cannot happen after cli_args_begin, but never hand it out */
    return id == STEP_ERROR ? CLI_ARG_END : id;
}
