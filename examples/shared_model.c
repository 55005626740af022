/*
 * shared_model.c — one loaded model, several threads: each thread gets a dc_ctx (its own
 * activations and scratch) and classifies its share of the inputs; the weights exist once.
 * Checks every output against a single-thread pass, bit for bit, and says so.
 *
 *   cc shared_model.c $(pkg-config --cflags --libs dualcnn) -pthread -o shared_model
 *   ./shared_model weights/fashionmnist/resnet20.h5 4
 */
#include <dualcnn.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INPUTS 16

typedef struct {
    dc_ctx *ctx;
    const float *x;     /* INPUTS inputs */
    float *y;           /* INPUTS outputs */
    size_t in_size, out_size;
    int first, step;    /* this thread does inputs first, first + step, ... */
    dc_status st;
    dc_error err;
} job;

static void *run(void *arg)
{
    job *j = arg;
    for (int i = j->first; i < INPUTS && j->st == DC_OK; i += j->step)
        j->st = dc_ctx_forward(j->ctx, j->x + i * j->in_size, 1, j->y + i * j->out_size,
                               &j->err);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 3 || atoi(argv[2]) < 1 || atoi(argv[2]) > 64) {
        fprintf(stderr, "usage: %s WEIGHTS.h5 THREADS (1..64)\n", argv[0]);
        return 2;
    }
    int threads = atoi(argv[2]);
    dc_error err;
    dc_net *net;
    if (dc_net_load(argv[1], 1, &net, &err) != DC_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    dc_net_info info = dc_net_get_info(net);
    size_t in_size = (size_t)info.in_c * info.in_h * info.in_w, out_size = info.num_classes;
    float *x = malloc(sizeof(float) * in_size * INPUTS);
    float *ref = malloc(sizeof(float) * out_size * INPUTS);
    float *y = calloc(out_size * INPUTS, sizeof(float));
    job *jobs = calloc((size_t)threads, sizeof *jobs);
    pthread_t *tid = calloc((size_t)threads, sizeof *tid);
    if (!x || !ref || !y || !jobs || !tid)
        return fprintf(stderr, "out of memory\n"), 1;
    unsigned seed = 12345; /* any inputs will do: a small LCG in [-2, 2) */
    for (size_t i = 0; i < in_size * INPUTS; i++) {
        seed = seed * 1103515245u + 12345u;
        x[i] = (float)((seed >> 8) & 0xffff) / 16384.0f - 2.0f;
    }
    /* the reference: one thread, the net's own buffers */
    for (int i = 0; i < INPUTS; i++)
        if (dc_net_forward(net, x + i * in_size, 1, ref + i * out_size, &err) != DC_OK)
            return fprintf(stderr, "%s\n", err.msg), 1;
    int rc = 0;
    for (int t = 0; t < threads; t++) {
        jobs[t] = (job){ .x = x, .y = y, .in_size = in_size, .out_size = out_size,
                         .first = t, .step = threads };
        if (dc_ctx_create(net, &jobs[t].ctx, &err) != DC_OK)
            return fprintf(stderr, "%s\n", err.msg), 1;
    }
    for (int t = 0; t < threads; t++)
        pthread_create(&tid[t], NULL, run, &jobs[t]);
    for (int t = 0; t < threads; t++) {
        pthread_join(tid[t], NULL);
        if (jobs[t].st != DC_OK) {
            fprintf(stderr, "thread %d: %s\n", t, jobs[t].err.msg);
            rc = 1;
        }
        dc_ctx_free(jobs[t].ctx);
    }
    int same = memcmp(y, ref, sizeof(float) * out_size * INPUTS) == 0;
    printf("%d inputs on %d threads sharing one %s: %s the single-thread outputs\n", INPUTS,
           threads, info.arch, same ? "bit for bit" : "DIFFERENT FROM");
    free(x), free(ref), free(y), free(jobs), free(tid);
    dc_net_free(net);
    return rc || !same;
}
