/*
 * h5load_bench.c — what the HDF5 quarantine costs at load time (docs/robustness.md, "HDF5
 * in quarantine"): loading a net from its weight file (dc_net_load at batch 1: read,
 * check, fold BatchNorm, plan), with libhdf5 in a helper process (the default) and in this
 * process (DUALCNN_H5_READER=in-process).
 *
 *   h5load_bench [--repeats R] FILE.h5...
 *
 * For each file: R rounds, each timing dc_net_load + dc_net_free in both modes, in
 * alternation so that noise (and the
 * page cache, warm after the first round) hits both alike. Prints per file the size, the
 * median wall time of each mode with its spread (max/min - 1) and the median of the
 * per-round ratios quarantine / in process.
 */
#include "dualcnn.h"
#include "loaders/h5reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* One load in mode; returns seconds, or -1 on error (printed). */
static double load_once(const char *path, dc_h5_reader_mode mode)
{
    dc_h5_set_reader_mode(mode);
    double t0 = now();
    dc_net *net;
    dc_error err;
    if (dc_net_load(path, 1, &net, &err) != DC_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    dc_net_free(net);
    return now() - t0;
}

int main(int argc, char **argv)
{
    int repeats = 7, first = 1;
    if (argc > 2 && strcmp(argv[1], "--repeats") == 0) {
        repeats = atoi(argv[2]);
        first = 3;
    }
    if (first >= argc || repeats < 1) {
        fprintf(stderr, "usage: h5load_bench [--repeats R] FILE.h5...\n");
        return 2;
    }
    printf("%-40s %9s %12s %7s %12s %7s %7s\n", "file", "MB", "quarantine", "spread",
           "in-process", "spread", "ratio");
    for (int f = first; f < argc; f++) {
        struct stat sb;
        if (stat(argv[f], &sb) != 0) {
            perror(argv[f]);
            return 1;
        }
        double *q = malloc(sizeof(double) * (size_t)repeats);
        double *p = malloc(sizeof(double) * (size_t)repeats);
        double *r = malloc(sizeof(double) * (size_t)repeats);
        for (int i = 0; i < repeats; i++) {
            q[i] = load_once(argv[f], DC_H5_READER_QUARANTINE);
            p[i] = load_once(argv[f], DC_H5_READER_IN_PROCESS);
            if (q[i] < 0 || p[i] < 0)
                return 1;
            r[i] = q[i] / p[i];
        }
        double qmin = q[0], qmax = q[0], pmin = p[0], pmax = p[0];
        for (int i = 1; i < repeats; i++) {
            qmin = q[i] < qmin ? q[i] : qmin;
            qmax = q[i] > qmax ? q[i] : qmax;
            pmin = p[i] < pmin ? p[i] : pmin;
            pmax = p[i] > pmax ? p[i] : pmax;
        }
        printf("%-40s %9.1f %9.1f ms %6.0f%% %9.1f ms %6.0f%% %6.2fx\n", argv[f],
               (double)sb.st_size / 1e6, 1e3 * median(q, repeats), 100 * (qmax / qmin - 1),
               1e3 * median(p, repeats), 100 * (pmax / pmin - 1), median(r, repeats));
        free(q);
        free(p);
        free(r);
    }
    return 0;
}
