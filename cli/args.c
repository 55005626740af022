/* args.c — argument helpers shared by the subcommands (see cli.h). */
#include "cli/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool cli_parse_int(const char *cmd, const char *flag, const char *text, long lo, long hi,
                   int *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < lo || v > hi) {
        fprintf(stderr, "dualcnn %s: %s must be an integer in [%ld, %ld], got '%s'\n", cmd,
                flag, lo, hi, text);
        return false;
    }
    *out = (int)v;
    return true;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "dualcnn %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\ntry 'dualcnn %s --help'\n", cmd);
    return CLI_USAGE;
}

int cli_report(const char *cmd, const dc_error *err)
{
    fprintf(stderr, "dualcnn %s: %s\n", cmd, err->msg);
    return CLI_FAIL;
}

void cli_default_weights(const char *weights_dir, const char *dataset, const char *arch,
                         char *buf, size_t cap)
{
    const char *dir = weights_dir;
    if (!dir || !*dir)
        dir = getenv("DUALCNN_WEIGHTS");
    if (!dir || !*dir)
        dir = "weights";
    snprintf(buf, cap, "%s/%s/%s.h5", dir, dataset, arch);
}

const char *cli_split_name(bool train, int skip, int n, char *buf, size_t cap)
{
    if (skip > 0)
        snprintf(buf, cap, "%s split, samples %d..%d", train ? "train" : "test", skip,
                 skip + n - 1);
    else
        snprintf(buf, cap, "%s split, %d samples", train ? "train" : "test", n);
    return buf;
}
