/*
 * energy_sampler.h — a thread that reads instantaneous power at a fixed period and
 * integrates it by the trapezoid rule, for the sampled energy sources (energy_rails.c).
 *
 * The integral of rail i since the first reading, in microjoules, never decreases (a
 * negative power reading, a sensor's offset near zero, counts as 0 W), so the energy layer
 * can treat it as a counter that never wraps. Every reading, the thread's and those the
 * caller takes with dc_sampler_read, is one point of the trapezoid rule: the integral
 * always runs up to the moment of the caller's reading, and the longest step is the
 * period (plus the thread's scheduling delay, which max_gap_s reports).
 *
 * Error bound. Between two readings dt apart the trapezoid rule takes the power as the
 * straight line between them; when the power really changed once, by a jump J, somewhere
 * in between, the error is at most dt x |J| / 2 (largest when the jump sits at either end).
 * The sampler adds dt x |P_after - P_before| / 2 over every step of the counted rails: the
 * bound on the total when power changes at most once (or monotonically) per step.
 *
 * Threads: the state is shared by the caller and the sampler thread and every field of it
 * is touched only with its mutex held (the read callback too runs with it held, so it may
 * keep scratch in its context); the thread waits on a condition variable with a deadline,
 * so dc_sampler_free stops it at once.
 */
#ifndef DC_CASCADE_ENERGY_SAMPLER_H
#define DC_CASCADE_ENERGY_SAMPLER_H

#include "cascade/energy.h"

/* Reads the power of every rail now, in watts, into watts[0..n). */
typedef dc_status (*dc_sampler_read_fn)(void *ctx, double *watts, dc_error *err);

typedef struct dc_sampler dc_sampler;

/* Makes a sampler of n rails (counted[i]: rail i is part of the total the error bound
 * covers) reading with fn(ctx) every period_s seconds once started. Nothing is read yet.
 * DC_ERR_NOMEM, DC_ERR_ARG for a bad n or period. */
dc_status dc_sampler_init(int n, const bool *counted, double period_s, dc_sampler_read_fn fn,
                          void *ctx, dc_sampler **out, dc_error *err);

/* The first call takes the first reading now and starts the thread; later calls only
 * restart the longest-gap count. Errors of the first reading (the file named). */
dc_status dc_sampler_start(dc_sampler *s, dc_error *err);

/* Takes a reading now and sets uj[0..n) to each rail's integral since the first reading.
 * DC_ERR_ARG before dc_sampler_start. When a reading failed (here or in the thread, which
 * then stops sampling) returns that error, naming the file, with when it happened. */
dc_status dc_sampler_read(dc_sampler *s, uint64_t *uj, dc_error *err);

/* The period, the readings taken since the first, the longest gap since the last
 * dc_sampler_start, and the error bound of the counted rails since the first reading. */
void dc_sampler_stats(dc_sampler *s, dc_energy_sampling *out);

/* Stops the thread and frees s; s may be NULL. */
void dc_sampler_free(dc_sampler *s);

#endif /* DC_CASCADE_ENERGY_SAMPLER_H */
