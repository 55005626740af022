/*
 * cascade.h — the paper's method (Kinnas et al., FGCS 2024, figure "overview"): for each
 * input, look its perceptual hash up in the memory; on a miss run the first CNN; when its
 * score fails the threshold test run the second CNN, optionally keeping the second's answer
 * only when its score is better (post-check); remember the answer.
 *
 * Nothing here reads datasets or prints: the caller feeds raw images and gets one result
 * per image (cli/cmd_run.c streams a dataset through it and writes the report).
 *
 * The type dc_cascade, dc_cascade_free and dc_cascade_get_stats are public
 * (include/dualcnn.h); so is a simpler way to make one: dc_cascade_create (cascade/api.c)
 * takes self-contained options, makes the memory and the contexts, and builds on
 * dc_cascade_init below.
 */
#ifndef DC_CASCADE_CASCADE_H
#define DC_CASCADE_CASCADE_H

#include "cascade/memory.h"
#include "cascade/result.h"
#include "cascade/scores.h"
#include "dualcnn.h"
#include "loaders/image.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    dc_net *first;         /* required */
    dc_net *second;        /* NULL: single-model mode */
    dc_score_kind score;
    double threshold;
    bool postcheck;
    dc_memory *memory;     /* NULL: no memory */
    dc_ctx *first_ctx;     /* NULL: the first model runs on its own buffers (dc_net_forward);
                              else on this context of it (dc_ctx_forward: the net is only
                              read) */
    dc_ctx *second_ctx;    /* the same for the second model */
    bool owns_parts;       /* dc_cascade_free frees memory, first_ctx and second_ctx too
                              (never the nets); until dc_cascade_init succeeds they stay the
                              caller's */
} dc_cascade_config;

/* Checks the configuration (a first model, the same class count, a threshold in [0, 1]
 * unless the score is the oracle) and sizes the buffers for batches of up to max_batch
 * images (each net must be planned for at least that); DC_ERR_ARG names what is wrong.
 * Without a second model every score, the oracle included, is single-model mode: nothing
 * escalates and no labels are needed. The nets and the memory stay owned by the caller. */
dc_status dc_cascade_init(const dc_cascade_config *cfg, int max_batch, dc_cascade **out,
                          dc_error *err);
/* Frees c (and, with owns_parts, its memory and contexts). c may be NULL. */
void dc_cascade_free(dc_cascade *c);

/* Classifies n raw images (uint8, as the dataset stores them) with their labels (-1 when
 * unknown; the oracle needs them). n = 1 is the paper's streaming mode. With n > 1 the
 * memory is consulted for all n first, the first model runs on the misses together and the
 * second on the escalated ones together; each result's time is the batch's time divided by
 * n. */
dc_status dc_cascade_classify(dc_cascade *c, const dc_image *const *raw, const int *labels,
                              int n, dc_sample_result *results, dc_error *err);

#endif /* DC_CASCADE_CASCADE_H */
