/*
 * sweep.h — the predictions of several models on one split, computed once and cached:
 * `predict --models a,b,c` and the first step of `complementarity` (docs/scale.md).
 *
 * In one process the models run one after the other (predict_get). Started by mpirun in a
 * build with MPI (-Dmpi), the ranks share the work: every model whose cache is missing is
 * cut into units of whole batches (model, first sample, count), and each rank takes the next
 * unit from a shared counter as soon as it is free, so large and small models mix. Only the
 * predictions travel: rank 0 gathers them and writes exactly the cache files a single
 * process writes, each atomically. Units start at multiples of the batch size, so every
 * forward pass sees the batch a single process would have run, and the floats are the same
 * (with the same --threads per process).
 *
 * A rank that fails (weights or images unreadable) prints "rank R on HOST: ..." and aborts
 * the whole job before any cache is written; a killed job leaves no cache file, and a rerun
 * recomputes only the models whose cache is missing.
 */
#ifndef DC_CLI_SWEEP_H
#define DC_CLI_SWEEP_H

#include "cli/predict.h"

typedef struct {
    const char *model;     /* an architecture name (NULL when weights is given) */
    const char *weights;   /* a weight file, or NULL for the default */
} sweep_model;

/* Makes sure every model's predictions are cached (computing the missing ones, over MPI
 * when the process was started by mpirun and the build has MPI). *lead is set to true in
 * the process that should go on and print (rank 0, or the only process), false in the
 * other ranks, which should exit 0. Needs o->no_cache false. */
dc_status sweep_predict(const predict_opts *o, const sweep_model *models, int n, bool *lead,
                        dc_error *err);

/* Ends MPI if sweep_predict started it (a no-op otherwise). Call before exiting. */
void sweep_finish(void);

/* True when this process was started by mpirun with more than one rank (whether or not
 * the build has MPI). */
bool sweep_under_mpirun(void);

#endif /* DC_CLI_SWEEP_H */
