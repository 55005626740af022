/*
 * result.h — what the cascade answers for one input (shared by the cascade and the report).
 */
#ifndef DC_CASCADE_RESULT_H
#define DC_CASCADE_RESULT_H

#include "dualcnn.h"

#include <stdbool.h>
#include <stdint.h>

/* dc_exit (which part of the cascade gave the answer) and dc_exit_name are public:
 * include/dualcnn.h. */

/* Where an input's time goes (see cascade/report.h for what each stage covers). The
 * cascade fills PREPROCESS, HASH, MODEL1 and MODEL2; whoever streams the inputs through it
 * (cli/cmd_run.c) fills DECODE and BOOKKEEPING, the rest of the time it measured for the
 * input, so that the stages add up to that time. */
typedef enum {
    DC_STAGE_DECODE = 0,
    DC_STAGE_PREPROCESS,
    DC_STAGE_HASH,
    DC_STAGE_MODEL1,
    DC_STAGE_MODEL2,
    DC_STAGE_BOOKKEEPING,
    DC_STAGE_COUNT
} dc_stage;

/* "decode", "preprocess", "hash", "model1", "model2", "bookkeeping"; "?" otherwise. */
const char *dc_stage_name(dc_stage s);

typedef struct {
    int label;             /* the true class, -1 when unknown */
    int pred;              /* the answer */
    dc_exit exit;
    bool escalated;        /* the second model ran */
    int pred1, pred2;      /* each model's own argmax, -1 when it did not run */
    double score1, score2; /* each model's score, NaN when it did not run */
    double seconds;        /* response time: hash, preprocessing, models, decisions */
    double stage[DC_STAGE_COUNT]; /* seconds per stage (dc_stage); 0 where not measured */
    int64_t macs;          /* multiply-accumulates spent on this input */
} dc_sample_result;

#endif /* DC_CASCADE_RESULT_H */
