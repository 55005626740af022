/* run_json.c — the report of `dualcnn run --json` (see run.h): one object on stdout. */
#include "cli/bench.h"
#include "cli/json.h"
#include "cli/run.h"

#include <math.h>
#include <stdio.h>

static void json_config(cli_json *j, const run_opts *o, const run_totals *t)
{
    cli_json_key(j, "config");
    cli_json_object(j);
    cli_json_kv_str(j, "model1", t->arch1);
    cli_json_kv_str(j, "model2", t->arch2);
    cli_json_kv_str(j, "weights1", o->weights1);
    cli_json_kv_str(j, "weights2", t->arch2 ? o->weights2 : NULL);
    cli_json_kv_str(j, "dataset_path", o->path);
    cli_json_kv_str(j, "dataset", t->dataset_kind);
    cli_json_kv_str(j, "split", o->train ? "train" : "test");
    cli_json_kv_int(j, "skip", o->skip);
    cli_json_kv_int(j, "dataset_samples", t->dataset_count);
    cli_json_kv_num(j, "duplicates", o->duplicates);
    cli_json_kv_num(j, "rotations", o->rotations);
    cli_json_kv_int(j, "seed", (int64_t)o->seed);
    cli_json_kv_bool(j, "shuffle", o->shuffle);
    cli_json_kv_int(j, "inputs", t->stream_count);
    cli_json_kv_str(j, "score", t->arch2 ? dc_score_name(o->score) : NULL);
    cli_json_kv_num(j, "threshold", t->arch2 ? o->threshold : NAN);
    cli_json_kv_bool(j, "postcheck", o->postcheck);
    cli_json_kv_str(j, "memory", o->memory);
    cli_json_kv_int(j, "memory_size", o->memory_size);
    cli_json_kv_int(j, "batch", o->batch);
    cli_json_kv_int(j, "threads", cli_bench_threads(o->threads)); /* what ran */
    cli_json_close(j);
}

static void json_classes(cli_json *j, const dc_report *r, const char *const *class_names)
{
    cli_json_key(j, "classes");
    cli_json_array(j);
    for (int k = 0; k < r->num_classes; k++) {
        double precision, recall, f1;
        int64_t support;
        dc_report_class_metrics(r, k, &precision, &recall, &f1, &support);
        cli_json_object(j);
        cli_json_kv_int(j, "class", k);
        cli_json_kv_str(j, "name", class_names ? class_names[k] : NULL);
        cli_json_kv_num(j, "precision", precision);
        cli_json_kv_num(j, "recall", recall);
        cli_json_kv_num(j, "f1", f1);
        cli_json_kv_int(j, "support", support);
        cli_json_close(j);
    }
    cli_json_close(j);
}

static void json_average(cli_json *j, const char *key, double p, double r, double f1)
{
    cli_json_key(j, key);
    cli_json_object(j);
    cli_json_kv_num(j, "precision", p);
    cli_json_kv_num(j, "recall", r);
    cli_json_kv_num(j, "f1", f1);
    cli_json_close(j);
}

static void json_times(cli_json *j, const dc_report_summary *s)
{
    cli_json_key(j, "response_ms");
    cli_json_object(j);
    cli_json_kv_int(j, "warmup_inputs", DC_REPORT_WARMUP);
    cli_json_kv_num(j, "mean", s->mean_ms);
    cli_json_kv_num(j, "p95", s->p95_ms);
    cli_json_kv_num(j, "p99", s->p99_ms);
    cli_json_close(j);
    cli_json_key(j, "time_per_input_ms");
    cli_json_object(j);
    cli_json_kv_num(j, "total", s->input_ms);
    for (int k = 0; k < DC_STAGE_COUNT; k++)
        cli_json_kv_num(j, dc_stage_name((dc_stage)k), s->stage_ms[k]);
    cli_json_close(j);
}

static void json_energy(cli_json *j, const run_totals *t, int64_t n)
{
    double per = (double)(n ? n : 1);
    cli_json_key(j, "energy");
    cli_json_object(j);
    cli_json_kv_bool(j, "available", t->energy_ok);
    cli_json_kv_str(j, "source", t->energy_ok ? t->energy_source : NULL);
    cli_json_kv_str(j, "domains", t->energy_ok ? t->energy_domains : NULL);
    cli_json_kv_str(j, "unavailable_reason", t->energy_ok ? NULL : t->energy_reason);
    cli_json_kv_str(j, "note", t->energy_ok ? t->energy_note : NULL);
    cli_json_kv_num(j, "joules", t->energy_ok ? t->joules : NAN);
    cli_json_kv_num(j, "mj_per_image", t->energy_ok ? 1e3 * t->joules / per : NAN);
    cli_json_kv_num(j, "average_watts", t->energy_ok && t->wall_seconds > 0
                                            ? t->joules / t->wall_seconds : NAN);
    cli_json_kv_num(j, "idle_watts", t->idle_watts);
    cli_json_close(j);
}

dc_status run_write_json(const run_opts *o, const run_totals *t, const dc_report *r,
                         const char *const *class_names, dc_error *err)
{
    dc_report_summary s = dc_report_summarise(r);
    cli_json j;
    cli_json_begin(&j, stdout);
    json_config(&j, o, t);
    cli_json_kv_bool(&j, "partial", t->interrupted_by != NULL);
    cli_json_kv_str(&j, "interrupted_by", t->interrupted_by);
    cli_json_kv_int(&j, "inputs_done", r->n);
    cli_json_kv_int(&j, "labelled", r->labelled);
    cli_json_kv_num(&j, "accuracy", s.accuracy);
    json_classes(&j, r, class_names);
    json_average(&j, "macro_avg", s.macro_precision, s.macro_recall, s.macro_f1);
    json_average(&j, "weighted_avg", s.weighted_precision, s.weighted_recall, s.weighted_f1);
    cli_json_key(&j, "second_model_usage");
    t->arch2 ? cli_json_num(&j, s.usage) : cli_json_null(&j);
    cli_json_kv_int(&j, "escalations", r->escalations);
    cli_json_key(&j, "memory");
    cli_json_object(&j);
    cli_json_kv_str(&j, "kind", o->memory);
    cli_json_kv_int(&j, "hits", r->exits[DC_EXIT_MEMORY]);
    cli_json_kv_num(&j, "hit_rate", s.memory_hit_rate);
    cli_json_kv_int(&j, "wrong", r->memory_wrong);
    cli_json_close(&j);
    cli_json_key(&j, "answers");
    cli_json_object(&j);
    for (int e = 0; e < DC_EXIT_COUNT; e++)
        cli_json_kv_int(&j, dc_exit_name((dc_exit)e), r->exits[e]);
    cli_json_close(&j);
    json_times(&j, &s);
    int64_t ref = t->arch2 ? t->macs2 : t->macs1;
    cli_json_kv_num(&j, "macs_per_image", s.macs_per_image);
    cli_json_kv_str(&j, "macs_reference_model", t->arch2 ? t->arch2 : t->arch1);
    cli_json_kv_num(&j, "macs_share", ref ? s.macs_per_image / (double)ref : NAN);
    json_energy(&j, t, r->n);
    cli_json_kv_num(&j, "wall_seconds", t->wall_seconds);
    return cli_json_end(&j, err);
}
