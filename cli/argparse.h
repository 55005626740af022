/*
 * argparse.h — the one argument parser of every `dualcnn` command.
 *
 * A command describes its options in a table (one row per option: an id, its spellings,
 * whether it takes a value) and walks argv with cli_args_begin / cli_args_next:
 *
 *     static const cli_opt opts[] = {
 *         { OPT_MODEL, "-m --model", CLI_VALUE },
 *         { OPT_QUIET, "-q --quiet", CLI_FLAG },
 *         { 0, NULL, CLI_FLAG },
 *     };
 *     static const cli_spec spec = { "predict", { opts }, predict_help, false };
 *     cli_args a;
 *     int rc = cli_args_begin(&a, &spec, argc, argv);   // checks every argument first
 *     if (rc != CLI_OK)
 *         return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
 *     for (int id; (id = cli_args_next(&a)) != CLI_ARG_END;)
 *         switch (id) { case OPT_MODEL: model = a.value; break; ... }
 *
 * What it accepts, as the original scripts' argparse did:
 *   --name VALUE, --name=VALUE   a long option; any unambiguous prefix of a long spelling
 *                                stands for it (--thread for --threads); an exact spelling
 *                                wins over a longer one it prefixes (--memory, --memory-size)
 *   -m1 VALUE, -t VALUE          a short spelling, which may have several letters (-m1,
 *                                -w1, -rp); -t=VALUE too, and -t0.5 for a one-letter one
 *   -h, --help                   every command: prints its help (cli_spec.help)
 *   --                           everything after it is a positional argument
 * A value is always the next argument, even when it starts with '-' (-d -1). Errors name
 * the argument as given: an unknown option with the closest spelling suggested ("unknown
 * option --treshold; did you mean --threshold?"), an ambiguous prefix with its candidates,
 * a missing value, a value given to a flag that takes none, an unexpected positional.
 */
#ifndef DC_CLI_ARGPARSE_H
#define DC_CLI_ARGPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CLI_VALUE true  /* the option takes a value */
#define CLI_FLAG false  /* it does not */

typedef struct {
    int id;            /* > 0: what cli_args_next returns for it; 0 ends a table */
    const char *names; /* its spellings, separated by spaces: "-m1 --model1 --model-1" */
    bool value;
} cli_opt;

#define CLI_MAX_TABLES 3

typedef struct {
    const char *cmd;                        /* "run": for messages */
    const cli_opt *tables[CLI_MAX_TABLES];  /* the command's, then shared ones; NULL ends */
    void (*help)(FILE *f);                  /* prints the command's help */
    bool positional;                        /* takes non-option arguments (classify) */
} cli_spec;

#define CLI_ARG_END 0         /* cli_args_next: no more arguments */
#define CLI_ARG_POSITIONAL -1 /* cli_args_next: a positional argument, in .value */
#define CLI_HELP_SHOWN -1     /* cli_args_begin: -h/--help was given and the help printed */

typedef struct {
    const cli_spec *spec;
    int argc;
    char **argv;
    int i;                /* the next argument (argv[0] is the command's name) */
    bool positional_only; /* after "--" */
    const char *value;    /* the value of the last option, or the positional argument */
    char flag[64];        /* the spelling that matched, in full ("--threshold", "-t") */
} cli_args;

/* Checks every argument of argv[1..argc) against spec. Returns CLI_OK with a ready to walk,
 * CLI_HELP_SHOWN after printing the help on stdout (-h/--help), or CLI_USAGE after
 * printing the first problem (see above) and "try 'dualcnn CMD --help'" on stderr. */
int cli_args_begin(cli_args *a, const cli_spec *spec, int argc, char **argv);

/* The id of the next option (its value in a->value, its full spelling in a->flag),
 * CLI_ARG_POSITIONAL (the argument in a->value) or CLI_ARG_END. Only after cli_args_begin
 * returned CLI_OK: every argument is known to be good. */
int cli_args_next(cli_args *a);

#endif /* DC_CLI_ARGPARSE_H */
