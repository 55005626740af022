/*
 * sweep.c — several models' predictions on one split, in one process or over MPI ranks
 * (sweep.h, docs/scale.md).
 */
#include "cli/sweep.h"

#include "base/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef DC_HAVE_MPI
#include <mpi.h>
#endif

bool sweep_under_mpirun(void)
{
    /* Open MPI, then MPICH / Slurm's PMI, then PMIx */
    static const char *const vars[] = { "OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE" };
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && atoi(v) > 1)
            return true;
    }
    return false;
}

/* One process: the models one after the other, each from its cache or computed. */
static dc_status sweep_serial(const predict_opts *o, const sweep_model *models, int n,
                              dc_error *err)
{
    for (int i = 0; i < n; i++) {
        dc_predictions p;
        dc_status st = predict_get(o, models[i].model, models[i].weights, &p, err);
        if (st != DC_OK)
            return st;
        dc_predictions_free(&p);
    }
    return DC_OK;
}

#ifndef DC_HAVE_MPI

dc_status sweep_predict(const predict_opts *o, const sweep_model *models, int n, bool *lead,
                        dc_error *err)
{
    *lead = true;
    if (sweep_under_mpirun())
        return dc_fail(err, DC_ERR_UNSUPPORTED, "started by mpirun, but this dualcnn was "
                       "built without MPI (install libopenmpi-dev and rebuild; see "
                       "docs/scale.md): each rank would redo all the work");
    return sweep_serial(o, models, n, err);
}

void sweep_finish(void)
{
}

#else /* DC_HAVE_MPI */

static bool mpi_started;

void sweep_finish(void)
{
    int done = 0;
    if (mpi_started && MPI_Finalized(&done) == MPI_SUCCESS && !done)
        MPI_Finalize();
}

/* A piece of work: samples first .. first + count - 1 of model `model`. */
typedef struct {
    int model, first, count;
} sweep_unit;

/* What travels with a unit's predictions (same build on every rank: sent as bytes). */
typedef struct {
    int unit, count, num_classes, has_logits;
    long long macs;
    char arch[48];
} unit_header;

enum { TAG_HEADER = 1, TAG_DATA = 2 };

/* A rank that cannot go on: says who and where, then takes the whole job down (no rank
 * writes a cache before all units are in, so nothing partial is left). */
static void die(int rank, const dc_error *err)
{
    char host[256] = "?";
    gethostname(host, sizeof host - 1);
    fprintf(stderr, "dualcnn: rank %d on %s: %s\n", rank, host, err->msg);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
    exit(1);
}

/* Between batches: lets MPI progress, so that rank 0's counter answers while it computes. */
static bool poke_mpi(int done, int total, void *arg)
{
    (void)done;
    (void)total;
    (void)arg;
    int flag;
    MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
    return true;
}

/* The units of the models flagged in missing: whole batches, about four per rank per model,
 * so that the ranks can share out even a single model. */
static sweep_unit *make_units(const predict_target *t, const int *missing, int n, int batch,
                              int size, int *n_units)
{
    int total = 0;
    sweep_unit *u = NULL;
    for (int pass = 0; pass < 2; pass++) {
        int k = 0;
        for (int m = 0; m < n; m++) {
            if (!missing[m])
                continue;
            int count = t[m].key.count;
            int batches = (count + batch - 1) / batch;
            int per = batches / (4 * size);
            if (per < 1)
                per = 1;
            for (int b = 0; b < batches; b += per, k++) {
                if (pass == 1) {
                    u[k].model = m;
                    u[k].first = b * batch;
                    int end = (b + per) * batch < count ? (b + per) * batch : count;
                    u[k].count = end - u[k].first;
                }
            }
        }
        if (pass == 0) {
            total = k;
            u = dc_calloc(total ? (size_t)total : 1, sizeof *u);
            if (!u)
                return NULL;
        }
    }
    *n_units = total;
    return u;
}

/* A unit done by this rank. */
typedef struct {
    int unit;
    dc_predictions p;
} unit_result;

/* Computes unit u, reusing *net and *ds while the model stays the same. */
static dc_status run_unit(const predict_opts *o, const sweep_model *models,
                          const predict_target *t, const sweep_unit *u, int *loaded,
                          dc_net **net, dc_dataset **ds, dc_predictions *out, dc_error *err)
{
    if (*loaded != u->model) {
        dc_net_free(*net);
        dc_dataset_close(*ds);
        *net = NULL;
        *ds = NULL;
        *loaded = -1;
        predict_target again;
        dc_status st = predict_locate(o, models[u->model].model, models[u->model].weights,
                                      &again, ds, err);
        if (st == DC_OK && strcmp(again.cpath, t[u->model].cpath) != 0)
            st = dc_fail(err, DC_ERR_IO, "%s: the dataset or the weights differ from rank "
                         "0's (%s): is the file system shared?", again.cpath,
                         t[u->model].cpath);
        if (st == DC_OK)
            st = predict_load_net(o, models[u->model].model, &t[u->model], *ds, net, err);
        if (st != DC_OK)
            return st;
        *loaded = u->model;
    }
    return dc_predictions_compute_range(*net, *ds, u->first, u->count,
                                        o->batch > 0 ? o->batch : 64, o->logits, poke_mpi,
                                        NULL, out, err);
}

/* Sends one finished unit to rank 0. */
static void send_unit(const unit_result *r)
{
    const dc_predictions *p = &r->p;
    unit_header h = { r->unit, p->n, p->num_classes, p->logits != NULL, (long long)p->macs,
                      "" };
    snprintf(h.arch, sizeof h.arch, "%s", p->arch);
    MPI_Send(&h, sizeof h, MPI_BYTE, 0, TAG_HEADER, MPI_COMM_WORLD);
    MPI_Send(p->label, p->n, MPI_INT, 0, TAG_DATA, MPI_COMM_WORLD);
    MPI_Send(p->pred, p->n, MPI_INT, 0, TAG_DATA, MPI_COMM_WORLD);
    for (int s = 0; s < 3; s++)
        MPI_Send(p->score[s], p->n, MPI_FLOAT, 0, TAG_DATA, MPI_COMM_WORLD);
    if (p->logits)
        MPI_Send(p->logits, p->n * p->num_classes, MPI_FLOAT, 0, TAG_DATA, MPI_COMM_WORLD);
}

/* Rank 0: the model's full predictions, allocated on its first unit. */
static dc_status place_unit(dc_predictions *full, const predict_target *t, const sweep_unit *u,
                            const unit_header *h, const dc_predictions *part, dc_error *err)
{
    if (!full->label) {
        int n = t->key.count;
        full->n = n;
        full->num_classes = h->num_classes;
        full->macs = h->macs;
        snprintf(full->arch, sizeof full->arch, "%s", h->arch);
        full->label = dc_malloc((size_t)n * sizeof *full->label);
        full->pred = dc_malloc((size_t)n * sizeof *full->pred);
        bool ok = full->label && full->pred;
        for (int s = 0; s < 3; s++)
            ok = (full->score[s] = dc_malloc((size_t)n * sizeof(float))) && ok;
        if (h->has_logits)
            ok = (full->logits = dc_malloc((size_t)n * h->num_classes * sizeof(float))) && ok;
        if (!ok)
            return dc_fail(err, DC_ERR_NOMEM, "out of memory for %d predictions", n);
    }
    if (h->count != u->count || h->num_classes != full->num_classes)
        return dc_fail(err, DC_ERR_FORMAT, "unit %d came back with %d samples of %d classes, "
                       "not %d of %d", h->unit, h->count, h->num_classes, u->count,
                       full->num_classes);
    memcpy(full->label + u->first, part->label, (size_t)u->count * sizeof(int));
    memcpy(full->pred + u->first, part->pred, (size_t)u->count * sizeof(int));
    for (int s = 0; s < 3; s++)
        memcpy(full->score[s] + u->first, part->score[s], (size_t)u->count * sizeof(float));
    if (full->logits)
        memcpy(full->logits + (size_t)u->first * full->num_classes, part->logits,
               (size_t)u->count * full->num_classes * sizeof(float));
    return DC_OK;
}

/* Rank 0: receives one unit from any rank into a temporary dc_predictions. */
static dc_status receive_unit(unit_header *h, dc_predictions *p, int n_units, dc_error *err)
{
    MPI_Status status;
    MPI_Recv(h, sizeof *h, MPI_BYTE, MPI_ANY_SOURCE, TAG_HEADER, MPI_COMM_WORLD, &status);
    int src = status.MPI_SOURCE;
    if (h->unit < 0 || h->unit >= n_units || h->count < 0 || h->num_classes < 1)
        return dc_fail(err, DC_ERR_FORMAT, "rank %d sent a malformed unit", src);
    memset(p, 0, sizeof *p);
    p->n = h->count;
    p->num_classes = h->num_classes;
    size_t n = h->count ? (size_t)h->count : 1;
    p->label = dc_malloc(n * sizeof(int));
    p->pred = dc_malloc(n * sizeof(int));
    bool ok = p->label && p->pred;
    for (int s = 0; s < 3; s++)
        ok = (p->score[s] = dc_malloc(n * sizeof(float))) && ok;
    if (h->has_logits)
        ok = (p->logits = dc_malloc(n * h->num_classes * sizeof(float))) && ok;
    if (!ok)
        return dc_fail(err, DC_ERR_NOMEM, "out of memory for rank %d's unit", src);
    MPI_Recv(p->label, h->count, MPI_INT, src, TAG_DATA, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    MPI_Recv(p->pred, h->count, MPI_INT, src, TAG_DATA, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    for (int s = 0; s < 3; s++)
        MPI_Recv(p->score[s], h->count, MPI_FLOAT, src, TAG_DATA, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
    if (h->has_logits)
        MPI_Recv(p->logits, h->count * h->num_classes, MPI_FLOAT, src, TAG_DATA,
                 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    return DC_OK;
}

dc_status sweep_predict(const predict_opts *o, const sweep_model *models, int n, bool *lead,
                        dc_error *err)
{
    *lead = true;
    if (!sweep_under_mpirun())
        return sweep_serial(o, models, n, err);
    int provided;
    MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    mpi_started = true;
    atexit(sweep_finish);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    *lead = rank == 0;
    predict_opts quiet = *o;
    quiet.quiet = o->quiet || rank != 0;

    /* every rank resolves the same targets; rank 0 says which caches are missing */
    predict_target *t = dc_calloc((size_t)n, sizeof *t);
    int *missing = dc_calloc((size_t)n, sizeof *missing);
    if (!t || !missing) {
        dc_fail(err, DC_ERR_NOMEM, "out of memory");
        die(rank, err);
    }
    for (int m = 0; m < n; m++) {
        if (predict_locate(&quiet, models[m].model, models[m].weights, &t[m], NULL, err) != DC_OK)
            die(rank, err);
        if (rank == 0) {
            dc_predictions p;
            missing[m] = predict_load_cached(&quiet, &t[m], &p) != DC_OK;
            if (!missing[m])
                dc_predictions_free(&p);
        }
    }
    MPI_Bcast(missing, n, MPI_INT, 0, MPI_COMM_WORLD);
    int n_units = 0, batch = o->batch > 0 ? o->batch : 64;
    sweep_unit *units = make_units(t, missing, n, batch, size, &n_units);
    unit_result *mine = dc_calloc(n_units ? (size_t)n_units : 1, sizeof *mine);
    if (!units || !mine) {
        dc_fail(err, DC_ERR_NOMEM, "out of memory");
        die(rank, err);
    }
    int n_missing = 0;
    for (int m = 0; m < n; m++)
        n_missing += missing[m] != 0;
    if (rank == 0 && !o->quiet)
        fprintf(stderr, "dualcnn: %d of %d models to predict, in %d units over %d ranks\n",
                n_missing, n, n_units, size);

    /* the shared counter: the index of the next unit, at rank 0 */
    long long counter = 0, one = 1, next;
    MPI_Win win;
    MPI_Win_create(rank == 0 ? &counter : NULL, rank == 0 ? sizeof counter : 0,
                   sizeof counter, MPI_INFO_NULL, MPI_COMM_WORLD, &win);
    int n_mine = 0, loaded = -1;
    dc_net *net = NULL;
    dc_dataset *ds = NULL;
    double start = MPI_Wtime(), busy = 0;
    for (;;) {
        MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, win);
        MPI_Fetch_and_op(&one, &next, MPI_LONG_LONG, 0, 0, MPI_SUM, win);
        MPI_Win_unlock(0, win);
        if (next >= n_units)
            break;
        unit_result *r = &mine[n_mine++];
        r->unit = (int)next;
        double t0 = MPI_Wtime();
        if (run_unit(&quiet, models, t, &units[next], &loaded, &net, &ds, &r->p, err) != DC_OK)
            die(rank, err);
        busy += MPI_Wtime() - t0;
    }
    /* the load balance: each rank's busy time (loading and computing units) */
    double mine_stats[3] = { busy, MPI_Wtime() - start, n_mine }, *all = NULL;
    if (rank == 0 && !(all = dc_malloc(3 * sizeof *all * (size_t)size))) {
        dc_fail(err, DC_ERR_NOMEM, "out of memory");
        die(rank, err);
    }
    MPI_Gather(mine_stats, 3, MPI_DOUBLE, all, 3, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    if (rank == 0 && !o->quiet && n_units > 0)
        for (int r = 0; r < size; r++)
            fprintf(stderr, "dualcnn: rank %d: %.0f units, busy %.2f s of %.2f s\n", r,
                    all[3 * r + 2], all[3 * r], all[3 * r + 1]);
    free(all);
    dc_net_free(net);
    dc_dataset_close(ds);
    MPI_Win_free(&win);

    /* gather: every unit's predictions to rank 0, which writes the caches */
    if (rank != 0) {
        for (int i = 0; i < n_mine; i++)
            send_unit(&mine[i]);
    } else {
        dc_predictions *full = dc_calloc((size_t)n, sizeof *full);
        if (!full) {
            dc_fail(err, DC_ERR_NOMEM, "out of memory");
            die(rank, err);
        }
        for (int i = 0; i < n_mine; i++) {
            const sweep_unit *u = &units[mine[i].unit];
            unit_header h = { mine[i].unit, mine[i].p.n, mine[i].p.num_classes,
                              mine[i].p.logits != NULL, (long long)mine[i].p.macs, "" };
            snprintf(h.arch, sizeof h.arch, "%s", mine[i].p.arch);
            if (place_unit(&full[u->model], &t[u->model], u, &h, &mine[i].p, err) != DC_OK)
                die(rank, err);
        }
        for (int i = n_mine; i < n_units; i++) {
            unit_header h;
            dc_predictions part;
            if (receive_unit(&h, &part, n_units, err) != DC_OK)
                die(rank, err);
            const sweep_unit *u = &units[h.unit];
            if (place_unit(&full[u->model], &t[u->model], u, &h, &part, err) != DC_OK)
                die(rank, err);
            dc_predictions_free(&part);
        }
        for (int m = 0; m < n; m++)
            if (missing[m]) {
                predict_store(o, &t[m], &full[m]);
                dc_predictions_free(&full[m]);
            }
        free(full);
    }
    for (int i = 0; i < n_mine; i++)
        dc_predictions_free(&mine[i].p);
    free(mine);
    free(units);
    free(missing);
    free(t);
    /* nobody leaves before the caches are written */
    MPI_Barrier(MPI_COMM_WORLD);
    return DC_OK;
}

#endif /* DC_HAVE_MPI */
