/*
 * bench_info.c — what a benchmark ran on: the thread count, the CPU model, the BLAS and
 * this build's version (see bench.h for the contracts).
 */
#include "cli/bench.h"

#include <cblas.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/pool.h"

#ifndef DC_VERSION
#define DC_VERSION "unknown"
#endif

const char *cli_version(void)
{
    return DC_VERSION;
}

int cli_bench_threads(int requested)
{
    return requested > 0 ? requested : dc_default_thread_count();
}

const char *cli_cpu_model(char *buf, size_t cap)
{
    snprintf(buf, cap, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return buf;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) != 0)
            continue;
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        char *s = colon + 1;
        while (*s == ' ' || *s == '\t')
            s++;
        size_t n = strlen(s);
        while (n > 0 && isspace((unsigned char)s[n - 1]))
            s[--n] = '\0';
        if (n > 0)
            snprintf(buf, cap, "%s", s);
        break;
    }
    fclose(f);
    return buf;
}

const char *cli_blas_name(char *buf, size_t cap)
{
    const char *config = openblas_get_config();
    const char *core = openblas_get_corename();
    snprintf(buf, cap, "%s (core %s)", config ? config : "OpenBLAS", core ? core : "unknown");
    size_t n = strlen(buf);
    while (n > 0 && isspace((unsigned char)buf[n - 1]))
        buf[--n] = '\0';
    return buf;
}

void cli_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}
