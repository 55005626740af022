/*
 * predictions.h — one model's outputs on every sample of a dataset split, computed once and
 * cached in an HDF5 file, so that the threshold search and the complementarity matrix (the
 * paper's threshold.py and complementarity.py) never run a model twice.
 *
 * A cache file is keyed by what makes it valid: a checksum of the weight file's bytes, the
 * dataset's directory (as read), the split and the number of samples. A file whose key
 * differs is stale and is never used; a corrupt one is reported and recomputed.
 */
#ifndef DC_CASCADE_PREDICTIONS_H
#define DC_CASCADE_PREDICTIONS_H

#include "cascade/scores.h"
#include "dualcnn.h"
#include "loaders/dataset.h"

#include <stdbool.h>
#include <stdint.h>

/* 3: ImageNet models get torchvision's Resize + CenterCrop preset (2: the window "first") */
#define DC_PREDICTIONS_FORMAT 3

/* The most classes a cache may hold (the weight loader's limit too): a cache claiming more is
 * corrupt. Raise both together (docs/robustness.md). */
#define DC_PREDICTIONS_MAX_CLASSES 100000

typedef struct {
    uint64_t weights_checksum;  /* FNV-1a 64 of the weight file's bytes */
    char dataset[1024];         /* the directory the samples were read from */
    bool train;                 /* split */
    int first;                  /* samples skipped at the start of the split (--skip) */
    int count;                  /* samples */
} dc_predictions_key;

typedef struct {
    char arch[48];
    int n, num_classes;
    int64_t macs;               /* per image */
    int *label, *pred;          /* n each */
    float *score[3];            /* maxp, difference, normalised entropy (DC_SCORE_MAXP..) */
    float *logits;              /* n x num_classes, or NULL when not kept */
} dc_predictions;

/* The checksum of a file's bytes (64 bits: FNV-1a over 64-bit words, predictions.c). */
dc_status dc_file_checksum(const char *path, uint64_t *out, dc_error *err);

/* Runs net over the first `limit` samples of ds (all when limit <= 0), batch samples at a
 * time (net must be planned for batch), calling progress(done, total, arg) after each batch
 * when given; when it returns false the work stops there and out->n is the number of
 * samples done (fewer than asked: never cache those). keep_logits stores the logits too.
 * Free with dc_predictions_free. */
dc_status dc_predictions_compute(dc_net *net, const dc_dataset *ds, int limit, int batch,
                                 bool keep_logits,
                                 bool (*progress)(int done, int total, void *arg), void *arg,
                                 dc_predictions *out, dc_error *err);

/* The same for samples first .. first + n - 1 of ds (out->label[0] is sample first's).
 * Each batch starts at first + a multiple of batch, so a split computed in pieces that
 * start at multiples of batch gives the very floats of one whole run (cli/sweep.c relies on
 * it). DC_ERR_ARG when the range is not within ds. */
dc_status dc_predictions_compute_range(dc_net *net, const dc_dataset *ds, int first, int n,
                                       int batch, bool keep_logits,
                                       bool (*progress)(int done, int total, void *arg),
                                       void *arg, dc_predictions *out, dc_error *err);

/* Writes p and its key to path (atomically: a temporary file renamed into place). */
dc_status dc_predictions_save(const char *path, const dc_predictions *p,
                              const dc_predictions_key *key, dc_error *err);

/* Reads path when its key equals key. Returns DC_ERR_MISSING when the file does not exist
 * or is stale (err says which part of the key differs), DC_ERR_FORMAT when it is corrupt:
 * an attribute that is not one value of the right class (format_version 1.9 as a float, an
 * array of strings), a dataset of the wrong class, size or stored bytes, a label or
 * prediction that is not a class, a score outside [0, 1], a NaN or infinite logit.
 * need_logits: a cache without logits counts as stale. */
dc_status dc_predictions_load(const char *path, const dc_predictions_key *key,
                              bool need_logits, dc_predictions *out, dc_error *err);

void dc_predictions_free(dc_predictions *p);

/* Share of samples the model gets right. */
double dc_predictions_accuracy(const dc_predictions *p);

#endif /* DC_CASCADE_PREDICTIONS_H */
