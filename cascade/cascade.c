/* cascade.c — memory, first model, threshold test, second model, post-check (cascade.h). */
#include "cascade/cascade.h"
#include "base/alloc.h"

#include "kernels/kernels.h"
#include "loaders/preprocess.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct dc_cascade {
    dc_cascade_config cfg;
    int max_batch;
    dc_net_info info1, info2;
    float *input;      /* max_batch preprocessed images for one model */
    float *logits;     /* max_batch x classes */
    float *probs;      /* classes */
    uint64_t *keys;    /* memory keys of the batch */
    int *todo;         /* indices of the batch still to be answered */
    bool same_input;   /* both nets take the same preprocessed input: the second reuses
                          the first's */
    dc_cascade_stats stats; /* counts of every input classified (dc_cascade_get_stats) */
};

const char *dc_exit_name(dc_exit e)
{
    static const char *const names[DC_EXIT_COUNT] = { "memory", "first", "second" };
    return e >= 0 && e < DC_EXIT_COUNT ? names[e] : "?";
}

const char *dc_stage_name(dc_stage s)
{
    static const char *const names[DC_STAGE_COUNT] = { "decode", "preprocess", "hash",
                                                       "model1", "model2", "bookkeeping" };
    return s >= 0 && s < DC_STAGE_COUNT ? names[s] : "?";
}

static size_t input_numel(const dc_net_info *i)
{
    return (size_t)i->in_c * i->in_h * i->in_w;
}

dc_status dc_cascade_init(const dc_cascade_config *cfg, int max_batch, dc_cascade **out,
                          dc_error *err)
{
    *out = NULL;
    if (!cfg->first)
        return dc_fail(err, DC_ERR_ARG, "a cascade needs a first model");
    if (max_batch < 1)
        return dc_fail(err, DC_ERR_ARG, "batch %d must be at least 1", max_batch);
    if (cfg->score < 0 || cfg->score >= DC_SCORE_COUNT)
        return dc_fail(err, DC_ERR_ARG, "score %d is not one of maxp, difference, entropy, "
                       "oracle", (int)cfg->score);
    dc_net_info i1 = dc_net_get_info(cfg->first), i2 = i1;
    if (cfg->second) {
        i2 = dc_net_get_info(cfg->second);
        if (i1.num_classes != i2.num_classes)
            return dc_fail(err, DC_ERR_ARG, "the models disagree on the classes: %s has %d, "
                           "%s has %d", i1.arch, i1.num_classes, i2.arch, i2.num_classes);
    }
    if (i1.max_batch < max_batch || (cfg->second && i2.max_batch < max_batch))
        return dc_fail(err, DC_ERR_ARG, "internal: nets planned for fewer than %d samples",
                       max_batch);
    if (!(cfg->threshold >= 0.0 && cfg->threshold <= 1.0) && cfg->score != DC_SCORE_ORACLE)
        return dc_fail(err, DC_ERR_ARG, "--threshold must be in [0, 1], got %g",
                       cfg->threshold);
    dc_cascade *c = dc_calloc(1, sizeof *c);
    if (!c)
        return dc_fail(err, DC_ERR_NOMEM, "out of memory");
    c->cfg = *cfg;
    c->cfg.owns_parts = false; /* the caller's until this succeeds */
    c->max_batch = max_batch;
    c->info1 = i1;
    c->info2 = i2;
    c->same_input = cfg->second && !dc_preprocess_is_imagenet(&i1) &&
                    !dc_preprocess_is_imagenet(&i2) && i1.in_c == i2.in_c &&
                    i1.in_h == i2.in_h && i1.in_w == i2.in_w &&
                    memcmp(i1.mean, i2.mean, sizeof i1.mean) == 0 &&
                    memcmp(i1.std, i2.std, sizeof i1.std) == 0;
    size_t per = input_numel(&i1) > input_numel(&i2) ? input_numel(&i1) : input_numel(&i2);
    c->input = dc_malloc(per * (size_t)max_batch * sizeof *c->input);
    c->logits = dc_malloc((size_t)i1.num_classes * (size_t)max_batch * sizeof *c->logits);
    c->probs = dc_malloc((size_t)i1.num_classes * sizeof *c->probs);
    c->keys = dc_malloc((size_t)max_batch * sizeof *c->keys);
    c->todo = dc_malloc((size_t)max_batch * sizeof *c->todo);
    if (!c->input || !c->logits || !c->probs || !c->keys || !c->todo) {
        dc_cascade_free(c);
        return dc_fail(err, DC_ERR_NOMEM, "out of memory for batches of %d", max_batch);
    }
    c->cfg.owns_parts = cfg->owns_parts;
    *out = c;
    return DC_OK;
}

void dc_cascade_free(dc_cascade *c)
{
    if (!c)
        return;
    if (c->cfg.owns_parts) {
        dc_memory_free(c->cfg.memory);
        dc_ctx_free(c->cfg.first_ctx);
        dc_ctx_free(c->cfg.second_ctx);
    }
    free(c->input);
    free(c->logits);
    free(c->probs);
    free(c->keys);
    free(c->todo);
    free(c);
}

/* Runs net on the raw images raw[todo[0..m)] and leaves one argmax and score per image;
 * with preprocessed set, c->input already holds their inputs. Adds the seconds spent
 * preprocessing to *pre_s and in the forward pass to *fwd_s. */
static dc_status run_model(dc_cascade *c, dc_net *net, dc_ctx *ctx, const dc_net_info *info,
                           const dc_image *const *raw, const int *todo, int m,
                           bool preprocessed, int *preds, double *scores, double *pre_s,
                           double *fwd_s, dc_error *err)
{
    size_t per = input_numel(info);
    double t0 = dc_now_seconds();
    for (int j = 0; j < m && !preprocessed; j++) {
        dc_status st = dc_preprocess_net(raw[todo[j]], info, c->input + per * j, err);
        if (st != DC_OK)
            return st;
    }
    double t1 = dc_now_seconds();
    dc_status st = ctx ? dc_ctx_forward(ctx, c->input, m, c->logits, err)
                       : dc_net_forward(net, c->input, m, c->logits, err);
    if (st != DC_OK)
        return st;
    double t2 = dc_now_seconds();
    *pre_s += t1 - t0;
    *fwd_s += t2 - t1;
    int k = info->num_classes;
    for (int j = 0; j < m; j++) {
        const float *l = c->logits + (size_t)j * k;
        dc_softmax(l, c->probs, k);
        preds[j] = dc_argmax(l, k);
        scores[j] = dc_score(c->cfg.score, c->probs, k);
    }
    return DC_OK;
}

dc_status dc_cascade_classify(dc_cascade *c, const dc_image *const *raw, const int *labels,
                              int n, dc_sample_result *res, dc_error *err)
{
    const dc_cascade_config *cfg = &c->cfg;
    if (n < 1 || n > c->max_batch)
        return dc_fail(err, DC_ERR_ARG, "batch of %d; the cascade takes 1..%d", n,
                       c->max_batch);
    for (int i = 0; i < n; i++) {
        if (labels[i] < -1 || labels[i] >= c->info1.num_classes)
            return dc_fail(err, DC_ERR_ARG, "label %d is not a class of %s (0 to %d, or -1: "
                           "unknown)", labels[i], c->info1.arch, c->info1.num_classes - 1);
        if (labels[i] < 0 && cfg->score == DC_SCORE_ORACLE && cfg->second)
            return dc_fail(err, DC_ERR_ARG, "the oracle score needs labels");
    }
    double t0 = dc_now_seconds();
    double stage[DC_STAGE_COUNT] = { 0 }; /* seconds for the whole batch */

    /* 1. memory */
    int m = 0;
    for (int i = 0; i < n; i++) {
        dc_sample_result *r = &res[i];
        *r = (dc_sample_result){ .label = labels[i], .pred = -1, .pred1 = -1, .pred2 = -1,
                                 .score1 = NAN, .score2 = NAN };
        int hit;
        if (cfg->memory) {
            dc_status st = dc_memory_key(cfg->memory, raw[i], &c->keys[i], err);
            if (st != DC_OK)
                return st;
            if (dc_memory_lookup(cfg->memory, c->keys[i], &hit)) {
                r->pred = hit;
                r->exit = DC_EXIT_MEMORY;
                continue;
            }
        }
        c->todo[m++] = i;
    }
    if (cfg->memory)
        stage[DC_STAGE_HASH] = dc_now_seconds() - t0;

    /* 2. the first model on the misses */
    int preds[m > 0 ? m : 1];
    double scores[m > 0 ? m : 1];
    dc_status st = m ? run_model(c, cfg->first, cfg->first_ctx, &c->info1, raw, c->todo, m,
                                 false, preds, scores, &stage[DC_STAGE_PREPROCESS],
                                 &stage[DC_STAGE_MODEL1], err)
                     : DC_OK;
    if (st != DC_OK)
        return st;
    int e = 0; /* escalated ones are moved to the front of todo (and their inputs to the
                  front of c->input when the second net reuses them) */
    size_t per1 = input_numel(&c->info1);
    for (int j = 0; j < m; j++) {
        dc_sample_result *r = &res[c->todo[j]];
        r->pred1 = r->pred = preds[j];
        r->score1 = scores[j];
        r->exit = DC_EXIT_FIRST;
        r->macs = c->info1.macs;
        bool escalate = cfg->second &&
                        (cfg->score == DC_SCORE_ORACLE ? r->pred1 != r->label
                                                       : dc_score_escalates(cfg->score,
                                                                            r->score1,
                                                                            cfg->threshold));
        if (!escalate)
            continue;
        if (c->same_input && e != j) /* row e was the (consumed) input of an earlier one */
            memcpy(c->input + per1 * e, c->input + per1 * j, per1 * sizeof *c->input);
        c->todo[e++] = c->todo[j];
    }

    /* 3. the second model on the escalated ones, with the post-check */
    st = e ? run_model(c, cfg->second, cfg->second_ctx, &c->info2, raw, c->todo, e,
                       c->same_input, preds, scores, &stage[DC_STAGE_PREPROCESS],
                       &stage[DC_STAGE_MODEL2], err)
           : DC_OK;
    if (st != DC_OK)
        return st;
    for (int j = 0; j < e; j++) {
        dc_sample_result *r = &res[c->todo[j]];
        r->escalated = true;
        r->pred2 = preds[j];
        r->score2 = scores[j];
        r->macs += c->info2.macs;
        bool keep_second = !cfg->postcheck || cfg->score == DC_SCORE_ORACLE ||
                           dc_score_second_wins(cfg->score, r->score1, r->score2);
        if (keep_second) {
            r->pred = r->pred2;
            r->exit = DC_EXIT_SECOND;
        }
    }

    /* 4. remember every answer the models gave */
    double t_store = cfg->memory ? dc_now_seconds() : 0.0;
    for (int i = 0; cfg->memory && i < n; i++) {
        if (res[i].exit == DC_EXIT_MEMORY)
            continue;
        st = dc_memory_store(cfg->memory, c->keys[i], res[i].pred, err);
        if (st != DC_OK)
            return st;
    }
    double t_end = dc_now_seconds();
    if (cfg->memory)
        stage[DC_STAGE_HASH] += t_end - t_store;
    double per = (t_end - t0) / n;
    for (int i = 0; i < n; i++) {
        res[i].seconds = per;
        for (int k = 0; k < DC_STAGE_COUNT; k++)
            res[i].stage[k] = stage[k] / n;
        c->stats.exits[res[i].exit]++;
        c->stats.escalated += res[i].escalated;
    }
    c->stats.inputs += n;
    return DC_OK;
}

dc_cascade_stats dc_cascade_get_stats(const dc_cascade *c)
{
    dc_cascade_stats s = c->stats;
    if (c->cfg.memory) {
        dc_memory_stats m = dc_memory_get_stats(c->cfg.memory);
        s.memory_near_hits = (int64_t)m.near_hits;
        s.memory_evictions = (int64_t)m.evictions;
        s.memory_entries = (int64_t)dc_memory_size(c->cfg.memory);
    }
    return s;
}
