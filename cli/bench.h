/*
 * bench.h — the pieces of `dualcnn bench` that live outside cmd_bench.c: what the run
 * happened on (bench_info.c) and the roofline view of a profiled run (bench_roofline.c).
 */
#ifndef DC_CLI_BENCH_H
#define DC_CLI_BENCH_H

#include "dualcnn.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* ---- the machine and the build (bench_info.c) ---------------------------- */

/* The number of threads the engine runs on: requested when it is > 0; otherwise the
 * OpenMP default, i.e. the first value of $OMP_NUM_THREADS when that is a positive
 * integer, else the CPUs this process may run on (its affinity mask), else the online
 * CPUs. Always >= 1. `dualcnn bench` passes the result to dc_set_threads, so the number
 * it reports is the number it used. */
int cli_bench_threads(int requested);

/* The CPU's "model name" from /proc/cpuinfo (the first one), copied into buf; "unknown"
 * when the file or the line is missing (e.g. on ARM). Returns buf. */
const char *cli_cpu_model(char *buf, size_t cap);

/* OpenBLAS's build configuration and the core it chose, e.g.
 * "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY SkylakeX MAX_THREADS=64 (core SkylakeX)". */
const char *cli_blas_name(char *buf, size_t cap);

/* The version of this build (meson's project version). */
const char *cli_version(void);

/* Writes s as a JSON string literal (quotes and escapes included). */
void cli_json_string(FILE *f, const char *s);

/* ---- the roofline (bench_roofline.c) ----------------------------------------- */

/* What the machine can do, measured on the threads set by dc_set_threads. */
typedef struct {
    double peak_gflops;      /* best of several n x n x n cblas_sgemm */
    int gemm_n;
    double bandwidth_gbs;    /* best STREAM triad, 1e9 bytes/s, 3 arrays counted */
    size_t triad_mib;        /* MiB per array (3 arrays) */
    int threads;
} cli_roof_machine;

/* Measures the SGEMM peak (gemm_n^3, best of a few) and the triad bandwidth (three arrays
 * of triad_mib MiB each, best of a few) on `threads` threads. Returns false (and prints
 * a message naming the allocation) when the memory cannot be had. */
bool cli_roof_measure(int gemm_n, size_t triad_mib, int threads, cli_roof_machine *m);

/* Prints the machine line of a roofline run (text). */
void cli_roof_print_machine(const cli_roof_machine *m, FILE *f);

/* From the per-node profile of a net (dc_net_set_profiling on, some passes run) at the
 * given batch: one row per distinct conv shape (count, MACs, ms per sample, GFLOP/s,
 * arithmetic intensity, roofline limit, share of it) and the other nodes by op. Nodes
 * without a profile (runs == 0) are skipped. json: one JSON object (no newline) instead
 * of text. Returns false when out of memory (message printed). */
bool cli_roof_report(const dc_net *net, int batch, const cli_roof_machine *m, bool json,
                     FILE *f);

#endif /* DC_CLI_BENCH_H */
