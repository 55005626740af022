/*
 * threshold_bench.c — times the exact threshold search (cascade/threshold.h) on a random
 * table of N samples: all three scores, without and with post-check, i.e. 6 whole curves
 * per repeat, and the original's grid (-n 2000) done in C for comparison.
 *
 *   threshold_bench [--n N] [--repeats R] [--seed S] [--grid G] [--table FILE]
 *
 * --table writes the table (dc_threshold_write_table) so that bench/threshold_compare.py
 * can time the Python port of the original search on exactly the same samples.
 * Prints "key value" lines: n, repeats, exact_search_s (median seconds for the 6 curves),
 * exact_min_s, exact_max_s, c_grid_s (median, 6 grids of G values).
 */
#include "cascade/threshold.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t rng_state;

static double uniform(void) /* splitmix64 -> [0, 1) */
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (double)((z ^ (z >> 31)) >> 11) / 9007199254740992.0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* A model that is right with probability acc and more confident when right, the way
 * real classifiers are: maxp near 1 when right, spread out when wrong. */
static void fill_model(int n, const int *label, double acc, int *pred, float *score[3])
{
    for (int i = 0; i < n; i++) {
        bool right = uniform() < acc;
        pred[i] = right ? label[i] : (label[i] + 1 + (int)(uniform() * 9)) % 10;
        double m = right ? 1.0 - 0.6 * pow(uniform(), 3.0) : 0.15 + 0.8 * uniform();
        double second = (1.0 - m) * uniform();
        score[0][i] = (float)m;
        score[1][i] = (float)(m - (second < m ? second : 0.0));
        score[2][i] = (float)fmin(1.0, (1.0 - m) * (0.6 + 0.8 * uniform()));
    }
}

int main(int argc, char **argv)
{
    int n = 50000, repeats = 7, grid = 2000;
    unsigned long long seed = 42;
    const char *table_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--n") && i + 1 < argc)
            n = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--repeats") && i + 1 < argc)
            repeats = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--grid") && i + 1 < argc)
            grid = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--table") && i + 1 < argc)
            table_path = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--n N] [--repeats R] [--seed S] [--grid G] "
                    "[--table FILE]\n", argv[0]);
            return 2;
        }
    }
    if (n < 1 || repeats < 1 || grid < 16) {
        fprintf(stderr, "threshold_bench: need n >= 1, repeats >= 1, grid >= 16\n");
        return 2;
    }
    rng_state = seed;
    int *label = malloc(n * sizeof *label), *p1 = malloc(n * sizeof *p1);
    int *p2 = malloc(n * sizeof *p2);
    float *s1[3], *s2[3];
    for (int k = 0; k < 3; k++) {
        s1[k] = malloc(n * sizeof(float));
        s2[k] = malloc(n * sizeof(float));
    }
    for (int i = 0; i < n; i++)
        label[i] = (int)(uniform() * 10);
    fill_model(n, label, 0.90, p1, s1);
    fill_model(n, label, 0.92, p2, s2);
    dc_pred_table t1 = { n, label, p1, { s1[0], s1[1], s1[2] }, 40810000 };
    dc_pred_table t2 = { n, label, p2, { s2[0], s2[1], s2[2] }, 27970000 };
    dc_error err;
    if (table_path && dc_threshold_write_table(table_path, &t1, &t2, &err) != DC_OK) {
        fprintf(stderr, "threshold_bench: %s\n", err.msg);
        return 1;
    }

    double *exact = malloc(repeats * sizeof *exact), *cgrid = malloc(repeats * sizeof *cgrid);
    double checksum = 0;
    for (int r = 0; r < repeats; r++) {
        double t0 = now();
        for (int k = 0; k < 3; k++)
            for (int pc = 0; pc < 2; pc++) {
                dc_threshold_point *curve;
                int count, best;
                if (dc_threshold_curve(&t1, &t2, (dc_score_kind)k, pc, &curve, &count, &best,
                                       &err) != DC_OK) {
                    fprintf(stderr, "threshold_bench: %s\n", err.msg);
                    return 1;
                }
                checksum += curve[best].lambda + count;
                free(curve);
            }
        exact[r] = now() - t0;
        t0 = now();
        for (int k = 0; k < 3; k++)
            for (int pc = 0; pc < 2; pc++) {
                dc_threshold_point g;
                if (dc_threshold_grid(&t1, &t2, (dc_score_kind)k, pc, grid, true, &g, &err) !=
                    DC_OK) {
                    fprintf(stderr, "threshold_bench: %s\n", err.msg);
                    return 1;
                }
                checksum += g.lambda;
            }
        cgrid[r] = now() - t0;
    }
    qsort(exact, repeats, sizeof *exact, cmp_double);
    qsort(cgrid, repeats, sizeof *cgrid, cmp_double);
    printf("n %d\nrepeats %d\nexact_search_s %.6f\nexact_min_s %.6f\nexact_max_s %.6f\n"
           "c_grid_s %.6f\nchecksum %.6f\n", n, repeats, exact[repeats / 2], exact[0],
           exact[repeats - 1], cgrid[repeats / 2], checksum);

    for (int k = 0; k < 3; k++) {
        free(s1[k]);
        free(s2[k]);
    }
    free(label);
    free(p1);
    free(p2);
    free(exact);
    free(cgrid);
    return 0;
}
