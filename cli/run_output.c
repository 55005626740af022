/* run_output.c — the report of `dualcnn run`, on the terminal and as a CSV row. */
#include "cascade/csv.h"
#include "cli/run.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void run_print_report(const run_opts *o, const run_totals *t, const dc_report *r,
                      const char *const *class_names)
{
    dc_report_summary s = dc_report_summarise(r);
    printf("\n");
    if (t->interrupted_by)
        printf("PARTIAL REPORT: interrupted by %s after %d of %d inputs\n\n",
               t->interrupted_by, t->done_count, t->stream_count);
    dc_report_print_classes(r, class_names, stdout);
    printf("\n");
    if (t->arch2)
        printf("Second model usage: %.2f%% (%lld of %lld inputs)\n", 100.0 * s.usage,
               (long long)r->escalations, (long long)r->n);
    if (o->memory)
        printf("Memory (%s): %lld hits (%.2f%%), %lld of them wrong\n", o->memory,
               (long long)r->exits[DC_EXIT_MEMORY], 100.0 * s.memory_hit_rate,
               (long long)r->memory_wrong);
    printf("Answers: memory %lld, first model %lld, second model %lld\n",
           (long long)r->exits[DC_EXIT_MEMORY], (long long)r->exits[DC_EXIT_FIRST],
           (long long)r->exits[DC_EXIT_SECOND]);
    if (isnan(s.mean_ms))
        printf("Response time: fewer than %d inputs, no figures after the warm-up\n",
               DC_REPORT_WARMUP + 1);
    else
        printf("Response time (ms, after %d warm-up inputs): mean %.3f, p95 %.3f, p99 %.3f\n",
               DC_REPORT_WARMUP, s.mean_ms, s.p95_ms, s.p99_ms);
    dc_report_print_stages(r, stdout);
    int64_t ref = t->arch2 ? t->macs2 : t->macs1;
    printf("MACs per image: %.3f M (%.2f%% of %s alone)\n", s.macs_per_image * 1e-6,
           ref ? 100.0 * s.macs_per_image / (double)ref : 0.0, t->arch2 ? t->arch2 : t->arch1);
    if (!t->energy_ok) {
        printf("Energy: unavailable (%s)\n", t->energy_reason);
    } else {
        double n = (double)(r->n ? r->n : 1);
        printf("Energy (%s: %s): %.3f J, %.3f mJ per image, %.2f W average over %.2f s\n",
               t->energy_source, t->energy_domains, t->joules, 1e3 * t->joules / n,
               t->wall_seconds > 0 ? t->joules / t->wall_seconds : 0.0, t->wall_seconds);
        if (t->energy_note && t->energy_note[0])
            printf("  %s\n", t->energy_note);
        if (!isnan(t->idle_watts)) {
            double idle = t->idle_watts * t->wall_seconds, added = t->joules - idle;
            printf("  idle baseline %.2f W x %.2f s = %.3f J subtracted: %.3f J, %.3f mJ "
                   "per image above idle\n", t->idle_watts, t->wall_seconds, idle, added,
                   1e3 * added / n);
        }
    }
    printf("Wall time: %.2f s for %lld inputs%s\n", t->wall_seconds, (long long)r->n,
           t->interrupted_by ? " (partial: interrupted)" : "");
}

static const char *report_header =
    "time,model1,model2,weights1,weights2,dataset,split,dataset_samples,duplicates,"
    "rotations,seed,shuffle,inputs,score,threshold,postcheck,memory,memory_size,batch,"
    "threads,accuracy,macro_precision,macro_recall,macro_f1,weighted_f1,usage,memory_hits,"
    "memory_wrong,mean_ms,p95_ms,p99_ms,macs_per_image,macs_share,energy_source,energy_j,"
    "mj_per_image,avg_w,idle_w,wall_s,input_ms,decode_ms,preprocess_ms,hash_ms,model1_ms,"
    "model2_ms,bookkeeping_ms,energy_domains,energy_period_ms,energy_samples,energy_bound_j,"
    "idle_j";

dc_status run_write_report_csv(const run_opts *o, const run_totals *t, const dc_report *r,
                               dc_error *err)
{
    dc_csv *csv;
    dc_status st = dc_csv_open(o->report_csv, report_header, true, &csv, err);
    if (st != DC_OK)
        return st;
    dc_report_summary s = dc_report_summarise(r);
    char when[32], w1[512], w2[512], ds[512], domains[2048];
    time_t now = time(NULL);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", localtime(&now));
    int64_t ref = t->arch2 ? t->macs2 : t->macs1;
    double n = (double)(r->n ? r->n : 1);
    bool sampled = t->energy_ok && t->energy_sampled;
    char samples[24] = ""; /* empty, like the period and the bound (nan), when not sampled */
    if (sampled)
        snprintf(samples, sizeof samples, "%llu",
                 (unsigned long long)t->energy_sampling.samples);
    char split[32]; /* "test", or "train[50000:]" after --skip */
    if (o->skip > 0)
        snprintf(split, sizeof split, "%s[%d:]", o->train ? "train" : "test", o->skip);
    else
        snprintf(split, sizeof split, "%s", o->train ? "train" : "test");
    st = dc_csv_row(csv, err,
                    "%s,%s,%s,%s,%s,%s,%s,%d,%g,%g,%llu,%d,%lld,%s,%.6f,%d,%s,%ld,%d,%d,"
                    "%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%lld,%lld,%.4f,%.4f,%.4f,%.0f,%.6f,%s,%.6f,"
                    "%.6f,%.4f,%.4f,%.3f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%s,%g,%s,%.6f,"
                    "%.6f",
                    when, t->arch1, t->arch2 ? t->arch2 : "",
                    dc_csv_field(o->weights1 ? o->weights1 : "", w1, sizeof w1),
                    dc_csv_field(o->weights2 ? o->weights2 : "", w2, sizeof w2),
                    dc_csv_field(t->dataset_kind, ds, sizeof ds), split,
                    t->dataset_count, o->duplicates, o->rotations,
                    (unsigned long long)o->seed, o->shuffle, (long long)r->n,
                    t->arch2 ? dc_score_name(o->score) : "", t->arch2 ? o->threshold : NAN,
                    o->postcheck, o->memory ? o->memory : "", o->memory_size, o->batch,
                    o->threads, s.accuracy, s.macro_precision, s.macro_recall, s.macro_f1,
                    s.weighted_f1, s.usage, (long long)r->exits[DC_EXIT_MEMORY],
                    (long long)r->memory_wrong, s.mean_ms, s.p95_ms, s.p99_ms,
                    s.macs_per_image, ref ? s.macs_per_image / (double)ref : 0.0,
                    t->energy_ok ? t->energy_source : "unavailable",
                    t->energy_ok ? t->joules : NAN, t->energy_ok ? 1e3 * t->joules / n : NAN,
                    t->energy_ok && t->wall_seconds > 0 ? t->joules / t->wall_seconds : NAN,
                    t->idle_watts, t->wall_seconds, s.input_ms,
                    s.stage_ms[DC_STAGE_DECODE], s.stage_ms[DC_STAGE_PREPROCESS],
                    s.stage_ms[DC_STAGE_HASH], s.stage_ms[DC_STAGE_MODEL1],
                    s.stage_ms[DC_STAGE_MODEL2], s.stage_ms[DC_STAGE_BOOKKEEPING],
                    dc_csv_field(t->energy_ok ? t->energy_domains : "", domains,
                                 sizeof domains),
                    sampled ? 1e3 * t->energy_sampling.period_s : NAN,
                    samples,
                    sampled ? t->energy_sampling.bound_j : NAN,
                    t->idle_watts * t->wall_seconds);
    if (st != DC_OK) {
        dc_csv_abort(csv);
        return st;
    }
    return dc_csv_commit(csv, err);
}
