/*
 * report.h — what a cascade run measured: the classification report (as scikit-learn's
 * classification_report(digits=4, zero_division=0) prints it), second-model usage, memory
 * hits, response times after warm-up, MACs and energy.
 */
#ifndef DC_CASCADE_REPORT_H
#define DC_CASCADE_REPORT_H

#include "cascade/result.h"
#include "dualcnn.h"

#include <stdint.h>
#include <stdio.h>

#define DC_REPORT_WARMUP 25 /* samples dropped from the latency figures, as the paper did */

typedef struct {
    int num_classes;
    int64_t *confusion;       /* [true][predicted], labelled samples only */
    int64_t n, labelled;
    int64_t exits[DC_EXIT_COUNT];
    int64_t escalations;
    int64_t memory_wrong;     /* memory answers that differ from the label */
    int64_t macs;             /* total */
    double *times;            /* seconds per sample, in stream order */
    int64_t times_cap;
} dc_report;

/* The summary figures computed from a report. */
typedef struct {
    double accuracy;                 /* NaN without labels */
    double macro_precision, macro_recall, macro_f1;
    double weighted_precision, weighted_recall, weighted_f1;
    double usage;                    /* escalations / n */
    double memory_hit_rate;          /* memory answers / n */
    double mean_ms, p95_ms, p99_ms;  /* after the warm-up; NaN when nothing is left */
    double macs_per_image;
} dc_report_summary;

dc_status dc_report_init(dc_report *r, int num_classes, dc_error *err);
void dc_report_free(dc_report *r);
dc_status dc_report_add(dc_report *r, const dc_sample_result *s, dc_error *err);

/* Per-class precision, recall and F1 of class k (0 when undefined, as zero_division=0). */
void dc_report_class_metrics(const dc_report *r, int k, double *precision, double *recall,
                             double *f1, int64_t *support);
dc_report_summary dc_report_summarise(const dc_report *r);

/* Prints the classification report table; class_names may be NULL. */
void dc_report_print_classes(const dc_report *r, const char *const *class_names, FILE *f);

/* Linear-interpolated quantile q of n sorted values (pandas' and numpy's default). */
double dc_quantile(const double *sorted, int64_t n, double q);

#endif /* DC_CASCADE_REPORT_H */
