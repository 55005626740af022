/*
 * api.c — the cascade of the public API (include/dualcnn.h, "the cascade"): options a user
 * can fill without the internal headers become the internal configuration (cascade.h) — a
 * memory, one context per model with the per-call thread limit — which the cascade then
 * owns; one image, from a file or from the caller's pixels, is a batch of one (the paper's
 * streaming mode) through dc_cascade_classify.
 */
#include "cascade/cascade.h"

#include "loaders/image.h"

/* What dc_cascade_init does not check itself, named as the options' fields. */
static dc_status check_options(const dc_cascade_options *o, dc_error *err)
{
    if (!o)
        return dc_fail(err, DC_ERR_ARG, "cascade: no options");
    if (!o->first)
        return dc_fail(err, DC_ERR_ARG, "cascade: options.first (the first model) is "
                       "required");
    if (o->score < 0 || o->score >= DC_SCORE_COUNT)
        return dc_fail(err, DC_ERR_ARG, "cascade: options.score %d is not a score "
                       "(DC_SCORE_MAXP, _DIFFERENCE, _ENTROPY or _ORACLE)", (int)o->score);
    if (o->score != DC_SCORE_ORACLE && !(o->threshold >= 0.0 && o->threshold <= 1.0))
        return dc_fail(err, DC_ERR_ARG, "cascade: options.threshold %g must be in [0, 1]",
                       o->threshold);
    if (o->memory != DC_MEMORY_OFF && o->memory != DC_MEMORY_DHASH &&
        o->memory != DC_MEMORY_INVARIANTS)
        return dc_fail(err, DC_ERR_ARG, "cascade: options.memory %d is not a memory "
                       "(DC_MEMORY_OFF, _DHASH or _INVARIANTS)", (int)o->memory);
    if (o->memory == DC_MEMORY_OFF && (o->memory_radius != 0.0 || o->memory_capacity != 0))
        return dc_fail(err, DC_ERR_ARG, "cascade: options.memory_%s is set but "
                       "options.memory is DC_MEMORY_OFF",
                       o->memory_radius != 0.0 ? "radius" : "capacity");
    if (o->threads < 0)
        return dc_fail(err, DC_ERR_ARG, "cascade: options.threads %d must be 0 (all of the "
                       "pool's) or more", o->threads);
    return DC_OK;
}

/* A context of net limited to `threads` per pass (NULL net: none needed). */
static dc_status make_ctx(const dc_net *net, int threads, dc_ctx **out, dc_error *err)
{
    *out = NULL;
    if (!net)
        return DC_OK;
    dc_status st = dc_ctx_create(net, out, err);
    if (st == DC_OK)
        st = dc_ctx_set_threads(*out, threads, err);
    return st;
}

dc_status dc_cascade_create(const dc_cascade_options *o, dc_cascade **out, dc_error *err)
{
    *out = NULL;
    dc_status st = check_options(o, err);
    if (st != DC_OK)
        return st;
    /* the nets are only read: every pass runs on the cascade's own contexts */
    dc_cascade_config cfg = { .first = (dc_net *)o->first, .second = (dc_net *)o->second,
                              .score = o->score, .threshold = o->threshold,
                              .postcheck = o->postcheck != 0, .owns_parts = true };
    if (o->memory != DC_MEMORY_OFF) {
        dc_hash_kind kind = o->memory == DC_MEMORY_DHASH ? DC_HASH_DHASH : DC_HASH_INVARIANTS;
        st = dc_memory_init(kind, o->memory_capacity, &cfg.memory, err);
        if (st == DC_OK)
            st = dc_memory_set_radius(cfg.memory, o->memory_radius, err);
    }
    if (st == DC_OK)
        st = make_ctx(o->first, o->threads, &cfg.first_ctx, err);
    if (st == DC_OK)
        st = make_ctx(o->second, o->threads, &cfg.second_ctx, err);
    if (st == DC_OK)
        st = dc_cascade_init(&cfg, 1, out, err);
    if (st != DC_OK) { /* the cascade owns them only once it exists */
        dc_memory_free(cfg.memory);
        dc_ctx_free(cfg.first_ctx);
        dc_ctx_free(cfg.second_ctx);
    }
    return st;
}

/* One image through the cascade. */
static dc_status classify_image(dc_cascade *c, const dc_image *img, int label,
                                dc_cascade_result *result, dc_error *err)
{
    dc_sample_result r;
    dc_status st = dc_cascade_classify(c, &img, &label, 1, &r, err);
    if (st != DC_OK)
        return st;
    *result = (dc_cascade_result){ .pred = r.pred, .exit = r.exit, .escalated = r.escalated,
                                   .pred1 = r.pred1, .pred2 = r.pred2, .score1 = r.score1,
                                   .score2 = r.score2, .macs = r.macs, .seconds = r.seconds };
    return DC_OK;
}

dc_status dc_cascade_classify_pixels(dc_cascade *c, const uint8_t *pixels, int width,
                                     int height, int channels, int label,
                                     dc_cascade_result *result, dc_error *err)
{
    dc_image img;
    dc_status st = dc_image_view(pixels, width, height, channels, &img, err);
    return st == DC_OK ? classify_image(c, &img, label, result, err) : st;
}

dc_status dc_cascade_classify_file(dc_cascade *c, const char *path, int label,
                                   dc_cascade_result *result, dc_error *err)
{
    dc_image img = { 0 };
    dc_status st = dc_image_load(path, &img, err);
    if (st == DC_OK)
        st = classify_image(c, &img, label, result, err);
    dc_image_free(&img);
    return st;
}
