/*
 * result.h — what the cascade answers for one input (shared by the cascade and the report).
 */
#ifndef DC_CASCADE_RESULT_H
#define DC_CASCADE_RESULT_H

#include <stdbool.h>
#include <stdint.h>

/* Which part of the cascade gave the answer. */
typedef enum { DC_EXIT_MEMORY = 0, DC_EXIT_FIRST, DC_EXIT_SECOND, DC_EXIT_COUNT } dc_exit;

const char *dc_exit_name(dc_exit e);

typedef struct {
    int label;             /* the true class, -1 when unknown */
    int pred;              /* the answer */
    dc_exit exit;
    bool escalated;        /* the second model ran */
    int pred1, pred2;      /* each model's own argmax, -1 when it did not run */
    double score1, score2; /* each model's score, NaN when it did not run */
    double seconds;        /* response time: hash, preprocessing, models, decisions */
    int64_t macs;          /* multiply-accumulates spent on this input */
} dc_sample_result;

#endif /* DC_CASCADE_RESULT_H */
