/*
 * report.h — what a cascade run measured: the classification report (as scikit-learn's
 * classification_report(digits=4, zero_division=0) prints it), second-model usage, memory
 * hits, response times after warm-up, where the time per input goes, MACs and energy.
 *
 * Two times per input, both averaged over the inputs after the DC_REPORT_WARMUP first:
 *  - the response time (mean_ms, p95_ms, p99_ms): from the hash to the answer, as the
 *    paper's main.py measured it (dc_cascade_classify's own clock: memory, preprocessing,
 *    models, decisions; not reading the sample from the dataset);
 *  - the time per input (input_ms) and its breakdown (stage_ms), which cover the whole loop
 *    of `dualcnn run` from the end of one input's bookkeeping to the end of the next one's,
 *    so that input_ms times the number of inputs is the stream's wall time (warm-up aside)
 *    and the stages add up to input_ms:
 *      decode       reading the sample from the dataset (copy out of the IDX/CIFAR arrays,
 *                   or PNG/JPEG decoding of a file) and the rotation or flip of a duplicate;
 *      preprocess   resize, gray-to-3-channel copy, ToTensor + Normalize, for each model
 *                   that runs (so twice for an escalated input);
 *      hash         the memory: the perceptual key (dHash or invariants), the lookup and the
 *                   store of the answer; 0 without a memory;
 *      model1/2     each net's forward pass (dc_net_forward); model2 is 0 without a second
 *                   model and on inputs that are not escalated;
 *      bookkeeping  everything else: softmax, scores and decisions, this report, the
 *                   --per-sample row, the energy poll, the progress bar, the clock calls.
 *    With --batch N every stage of a batch is shared equally by its N inputs, as the
 *    response time is.
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
    double stage_sum[DC_STAGE_COUNT]; /* seconds per stage, summed after the warm-up */
} dc_report;

/* The summary figures computed from a report. */
typedef struct {
    double accuracy;                 /* NaN without labels */
    double macro_precision, macro_recall, macro_f1;
    double weighted_precision, weighted_recall, weighted_f1;
    double usage;                    /* escalations / n */
    double memory_hit_rate;          /* memory answers / n */
    double mean_ms, p95_ms, p99_ms;  /* after the warm-up; NaN when nothing is left */
    double input_ms;                 /* mean time per input after the warm-up (NaN when
                                        nothing is left): the sum of stage_ms */
    double stage_ms[DC_STAGE_COUNT]; /* its breakdown (see the top; NaN as input_ms) */
    double macs_per_image;
} dc_report_summary;

dc_status dc_report_init(dc_report *r, int num_classes, dc_error *err);
void dc_report_free(dc_report *r);
/* Counts one input, in stream order (its stage times count after the warm-up). */
dc_status dc_report_add(dc_report *r, const dc_sample_result *s, dc_error *err);

/* Per-class precision, recall and F1 of class k (0 when undefined, as zero_division=0). */
void dc_report_class_metrics(const dc_report *r, int k, double *precision, double *recall,
                             double *f1, int64_t *support);
dc_report_summary dc_report_summarise(const dc_report *r);

/* Prints "Time per input ..." and one line per stage (ms and share of the total), or why
 * there are no figures when the run was not longer than the warm-up. */
void dc_report_print_stages(const dc_report *r, FILE *f);

/* Prints the classification report table; class_names may be NULL. */
void dc_report_print_classes(const dc_report *r, const char *const *class_names, FILE *f);

/* Linear-interpolated quantile q of n sorted values (pandas' and numpy's default). */
double dc_quantile(const double *sorted, int64_t n, double q);

#endif /* DC_CASCADE_REPORT_H */
