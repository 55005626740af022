/* energy_sampler.c — power sampled by a thread and integrated by the trapezoid rule
 * (cascade/energy_sampler.h). */
#include "cascade/energy_sampler.h"
#include "base/alloc.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct dc_sampler {
    /* set by dc_sampler_init, read-only afterwards */
    int n;
    double period_s;
    dc_sampler_read_fn fn;
    void *ctx;
    bool *counted;
    /* guarded by mu */
    pthread_mutex_t mu;
    pthread_cond_t wake;
    bool started, thread_running, stop, failed;
    dc_error failure;
    double t0, last_t;       /* monotonic seconds: the first reading, the last one */
    double *last_w, *now_w;  /* watts at the last reading; scratch for a reading */
    double *joules;          /* integral of each rail since the first reading */
    uint64_t samples;
    double max_gap_s, bound_j;
    pthread_t thread;
};

static double monotonic_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

dc_status dc_sampler_init(int n, const bool *counted, double period_s, dc_sampler_read_fn fn,
                          void *ctx, dc_sampler **out, dc_error *err)
{
    *out = NULL;
    if (n < 1 || !(period_s > 0.0))
        return dc_fail(err, DC_ERR_ARG, "sampler: %d rails every %g s", n, period_s);
    dc_sampler *s = dc_calloc(1, sizeof *s);
    if (!s)
        return dc_fail(err, DC_ERR_NOMEM, "sampler: out of memory");
    s->counted = dc_calloc((size_t)n, sizeof *s->counted);
    s->last_w = dc_calloc((size_t)n, sizeof *s->last_w);
    s->now_w = dc_calloc((size_t)n, sizeof *s->now_w);
    s->joules = dc_calloc((size_t)n, sizeof *s->joules);
    pthread_condattr_t ca;
    bool cond_ok = false, mutex_ok = pthread_mutex_init(&s->mu, NULL) == 0;
    if (pthread_condattr_init(&ca) == 0) {
        cond_ok = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
                  pthread_cond_init(&s->wake, &ca) == 0;
        pthread_condattr_destroy(&ca);
    }
    if (!s->counted || !s->last_w || !s->now_w || !s->joules || !mutex_ok || !cond_ok) {
        if (mutex_ok)
            pthread_mutex_destroy(&s->mu);
        if (cond_ok)
            pthread_cond_destroy(&s->wake);
        free(s->counted);
        free(s->last_w);
        free(s->now_w);
        free(s->joules);
        free(s);
        return dc_fail(err, DC_ERR_NOMEM, "sampler: out of memory (or no mutex)");
    }
    memcpy(s->counted, counted, (size_t)n * sizeof *counted);
    s->n = n;
    s->period_s = period_s;
    s->fn = fn;
    s->ctx = ctx;
    *out = s;
    return DC_OK;
}

/* One reading, integrated into the totals (the first one only sets the starting point).
 * With s->mu held. On failure the sampler is failed from then on. */
static dc_status sample_locked(dc_sampler *s, dc_error *err)
{
    if (s->failed) {
        *err = s->failure;
        return s->failure.code;
    }
    double before = monotonic_seconds();
    dc_status st = s->fn(s->ctx, s->now_w, &s->failure);
    double t = 0.5 * (before + monotonic_seconds());
    if (st != DC_OK) {
        char msg[sizeof s->failure.msg];
        snprintf(msg, sizeof msg, "%s", s->failure.msg);
        dc_fail(&s->failure, st, "%s (power sampling stopped %.2f s after it began)", msg,
                t - s->t0);
        s->failed = true;
        *err = s->failure;
        return st;
    }
    double dt = s->samples ? t - s->last_t : 0.0;
    for (int i = 0; i < s->n; i++) {
        double w = s->now_w[i] > 0.0 && isfinite(s->now_w[i]) ? s->now_w[i] : 0.0;
        if (s->samples) {
            s->joules[i] += dt * 0.5 * (w + s->last_w[i]);
            if (s->counted[i])
                s->bound_j += dt * 0.5 * fabs(w - s->last_w[i]);
        }
        s->last_w[i] = w;
    }
    if (!s->samples)
        s->t0 = t;
    if (dt > s->max_gap_s)
        s->max_gap_s = dt;
    s->last_t = t;
    s->samples++;
    return DC_OK;
}

static struct timespec to_timespec(double t)
{
    struct timespec ts;
    ts.tv_sec = (time_t)floor(t);
    ts.tv_nsec = (long)((t - floor(t)) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* The thread: a reading at every tick of a fixed schedule (t0 + k x period; ticks missed
 * while descheduled are skipped, not made up) until stopped or a reading fails. */
static void *sampler_main(void *arg)
{
    dc_sampler *s = arg;
    pthread_mutex_lock(&s->mu);
    double next = s->last_t + s->period_s;
    while (!s->stop && !s->failed) {
        struct timespec deadline = to_timespec(next);
        int rc = 0;
        while (!s->stop && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&s->wake, &s->mu, &deadline);
        if (s->stop)
            break;
        dc_error ignored; /* kept in s->failure for the next dc_sampler_read */
        sample_locked(s, &ignored);
        double now = monotonic_seconds();
        next += s->period_s;
        if (next < now)
            next = now + s->period_s - fmod(now - next, s->period_s);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

dc_status dc_sampler_start(dc_sampler *s, dc_error *err)
{
    pthread_mutex_lock(&s->mu);
    dc_status st = DC_OK;
    if (s->started) {
        s->max_gap_s = 0.0;
        if (s->failed) {
            *err = s->failure;
            st = s->failure.code;
        }
    } else {
        st = sample_locked(s, err);
        if (st == DC_OK) {
            int rc = pthread_create(&s->thread, NULL, sampler_main, s);
            if (rc != 0)
                st = dc_fail(err, DC_ERR_NOMEM, "sampler: cannot start a thread: %s",
                             strerror(rc));
            s->thread_running = rc == 0;
            s->started = rc == 0;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return st;
}

dc_status dc_sampler_read(dc_sampler *s, uint64_t *uj, dc_error *err)
{
    pthread_mutex_lock(&s->mu);
    dc_status st = s->started ? sample_locked(s, err)
                              : dc_fail(err, DC_ERR_ARG, "sampler: read before start");
    for (int i = 0; st == DC_OK && i < s->n; i++)
        uj[i] = (uint64_t)floor(1e6 * s->joules[i]);
    pthread_mutex_unlock(&s->mu);
    return st;
}

void dc_sampler_stats(dc_sampler *s, dc_energy_sampling *out)
{
    pthread_mutex_lock(&s->mu);
    *out = (dc_energy_sampling){ .period_s = s->period_s, .samples = s->samples,
                                 .max_gap_s = s->max_gap_s, .bound_j = s->bound_j };
    pthread_mutex_unlock(&s->mu);
}

void dc_sampler_free(dc_sampler *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    bool joinable = s->thread_running;
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->mu);
    if (joinable)
        pthread_join(s->thread, NULL);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->mu);
    free(s->counted);
    free(s->last_w);
    free(s->now_w);
    free(s->joules);
    free(s);
}
