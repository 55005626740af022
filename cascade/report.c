/* report.c — metrics of a cascade run (see report.h). */
#include "cascade/report.h"
#include "base/alloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

dc_status dc_report_init(dc_report *r, int num_classes, dc_error *err)
{
    memset(r, 0, sizeof *r);
    r->num_classes = num_classes;
    r->confusion = dc_calloc((size_t)num_classes * num_classes, sizeof *r->confusion);
    r->times_cap = 1024;
    r->times = dc_malloc((size_t)r->times_cap * sizeof *r->times);
    if (!r->confusion || !r->times) {
        dc_report_free(r);
        return dc_fail(err, DC_ERR_NOMEM, "out of memory for the report");
    }
    return DC_OK;
}

void dc_report_free(dc_report *r)
{
    free(r->confusion);
    free(r->times);
    r->confusion = NULL;
    r->times = NULL;
}

dc_status dc_report_add(dc_report *r, const dc_sample_result *s, dc_error *err)
{
    if (r->n == r->times_cap) {
        double *t = dc_realloc(r->times, (size_t)(2 * r->times_cap) * sizeof *t);
        if (!t)
            return dc_fail(err, DC_ERR_NOMEM, "out of memory for the report");
        r->times = t;
        r->times_cap *= 2;
    }
    if (r->n >= DC_REPORT_WARMUP)
        for (int k = 0; k < DC_STAGE_COUNT; k++)
            r->stage_sum[k] += s->stage[k];
    r->times[r->n++] = s->seconds;
    r->exits[s->exit]++;
    r->escalations += s->escalated;
    r->macs += s->macs;
    if (s->label >= 0 && s->label < r->num_classes && s->pred >= 0 &&
        s->pred < r->num_classes) {
        r->labelled++;
        r->confusion[(size_t)s->label * r->num_classes + s->pred]++;
        if (s->exit == DC_EXIT_MEMORY && s->pred != s->label)
            r->memory_wrong++;
    }
    return DC_OK;
}

void dc_report_class_metrics(const dc_report *r, int k, double *precision, double *recall,
                             double *f1, int64_t *support)
{
    int64_t tp = r->confusion[(size_t)k * r->num_classes + k], predicted = 0, actual = 0;
    for (int j = 0; j < r->num_classes; j++) {
        predicted += r->confusion[(size_t)j * r->num_classes + k];
        actual += r->confusion[(size_t)k * r->num_classes + j];
    }
    *precision = predicted ? (double)tp / (double)predicted : 0.0;
    *recall = actual ? (double)tp / (double)actual : 0.0;
    *f1 = *precision + *recall > 0 ? 2 * *precision * *recall / (*precision + *recall) : 0.0;
    *support = actual;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double dc_quantile(const double *sorted, int64_t n, double q)
{
    if (n <= 0)
        return NAN;
    double pos = q * (double)(n - 1);
    int64_t lo = (int64_t)pos;
    int64_t hi = lo + 1 < n ? lo + 1 : lo;
    return sorted[lo] + (pos - (double)lo) * (sorted[hi] - sorted[lo]);
}

dc_report_summary dc_report_summarise(const dc_report *r)
{
    dc_report_summary s = { .accuracy = NAN, .mean_ms = NAN, .p95_ms = NAN, .p99_ms = NAN,
                            .input_ms = NAN };
    for (int k = 0; k < DC_STAGE_COUNT; k++)
        s.stage_ms[k] = NAN;
    int64_t correct = 0;
    int present = 0;
    for (int k = 0; k < r->num_classes; k++) {
        double p, rc, f1;
        int64_t support;
        dc_report_class_metrics(r, k, &p, &rc, &f1, &support);
        correct += r->confusion[(size_t)k * r->num_classes + k];
        /* scikit-learn averages over the labels present in y_true or y_pred */
        int64_t predicted = 0;
        for (int j = 0; j < r->num_classes; j++)
            predicted += r->confusion[(size_t)j * r->num_classes + k];
        if (support || predicted) {
            present++;
            s.macro_precision += p;
            s.macro_recall += rc;
            s.macro_f1 += f1;
        }
        s.weighted_precision += p * (double)support;
        s.weighted_recall += rc * (double)support;
        s.weighted_f1 += f1 * (double)support;
    }
    if (present) {
        s.macro_precision /= present;
        s.macro_recall /= present;
        s.macro_f1 /= present;
    }
    if (r->labelled) {
        s.accuracy = (double)correct / (double)r->labelled;
        s.weighted_precision /= (double)r->labelled;
        s.weighted_recall /= (double)r->labelled;
        s.weighted_f1 /= (double)r->labelled;
    }
    if (r->n) {
        s.usage = (double)r->escalations / (double)r->n;
        s.memory_hit_rate = (double)r->exits[DC_EXIT_MEMORY] / (double)r->n;
        s.macs_per_image = (double)r->macs / (double)r->n;
    }
    int64_t m = r->n - DC_REPORT_WARMUP;
    if (m > 0) {
        s.input_ms = 0.0;
        for (int k = 0; k < DC_STAGE_COUNT; k++) {
            s.stage_ms[k] = 1e3 * r->stage_sum[k] / (double)m;
            s.input_ms += s.stage_ms[k];
        }
    }
    if (m > 0) {
        double *t = dc_malloc((size_t)m * sizeof *t);
        if (t) {
            memcpy(t, r->times + DC_REPORT_WARMUP, (size_t)m * sizeof *t);
            double sum = 0;
            for (int64_t i = 0; i < m; i++)
                sum += t[i];
            qsort(t, (size_t)m, sizeof *t, compare_double);
            s.mean_ms = 1e3 * sum / (double)m;
            s.p95_ms = 1e3 * dc_quantile(t, m, 0.95);
            s.p99_ms = 1e3 * dc_quantile(t, m, 0.99);
            free(t);
        }
    }
    return s;
}

void dc_report_print_stages(const dc_report *r, FILE *f)
{
    static const char *const labels[DC_STAGE_COUNT] = {
        "decode", "preprocess", "hash (memory)", "model 1", "model 2", "bookkeeping"
    };
    dc_report_summary s = dc_report_summarise(r);
    if (isnan(s.input_ms)) {
        fprintf(f, "Time per input: fewer than %d inputs, no figures after the warm-up\n",
                DC_REPORT_WARMUP + 1);
        return;
    }
    fprintf(f, "Time per input (ms, after %d warm-up inputs): %.3f\n", DC_REPORT_WARMUP,
            s.input_ms);
    for (int k = 0; k < DC_STAGE_COUNT; k++)
        fprintf(f, "  %-14s %8.3f %6.1f%%\n", labels[k], s.stage_ms[k],
                s.input_ms > 0 ? 100.0 * s.stage_ms[k] / s.input_ms : 0.0);
}

void dc_report_print_classes(const dc_report *r, const char *const *class_names, FILE *f)
{
    int width = 12;
    for (int k = 0; class_names && k < r->num_classes; k++)
        if (class_names[k] && (int)strlen(class_names[k]) > width)
            width = (int)strlen(class_names[k]);
    fprintf(f, "%*s %10s %10s %10s %10s\n\n", width, "", "precision", "recall", "f1-score",
            "support");
    for (int k = 0; k < r->num_classes; k++) {
        double p, rc, f1;
        int64_t support;
        dc_report_class_metrics(r, k, &p, &rc, &f1, &support);
        char name[16];
        snprintf(name, sizeof name, "%d", k);
        fprintf(f, "%*s %10.4f %10.4f %10.4f %10lld\n", width,
                class_names && class_names[k] ? class_names[k] : name, p, rc, f1,
                (long long)support);
    }
    dc_report_summary s = dc_report_summarise(r);
    fprintf(f, "\n%*s %10s %10s %10.4f %10lld\n", width, "accuracy", "", "", s.accuracy,
            (long long)r->labelled);
    fprintf(f, "%*s %10.4f %10.4f %10.4f %10lld\n", width, "macro avg", s.macro_precision,
            s.macro_recall, s.macro_f1, (long long)r->labelled);
    fprintf(f, "%*s %10.4f %10.4f %10.4f %10lld\n", width, "weighted avg",
            s.weighted_precision, s.weighted_recall, s.weighted_f1, (long long)r->labelled);
}
