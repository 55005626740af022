/*
 * bench_info.c — what a benchmark ran on: the thread count, the CPU model, the BLAS and
 * this build's version (see bench.h for the contracts).
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "cli/bench.h"

#include <cblas.h>
#include <ctype.h>
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef DC_VERSION
#define DC_VERSION "unknown"
#endif

const char *cli_version(void)
{
    return DC_VERSION;
}

int cli_bench_threads(int requested)
{
    if (requested > 0)
        return requested;
    const char *env = getenv("OMP_NUM_THREADS");
    if (env) {
        char *end;
        errno = 0;
        long n = strtol(env, &end, 10);
        if (errno == 0 && end != env && (*end == '\0' || *end == ',') && n > 0 && n <= 4096)
            return (int)n;
    }
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? (int)online : 1;
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
