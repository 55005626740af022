/*
 * fuzz_predictions.c — the prediction cache loader (cascade/predictions.c) on HDF5 files
 * whose root attributes and datasets the input describes (fuzz_h5.h), through a temporary
 * file. The key below is the one tests/fuzz/make_corpus.py
 * writes into the seed caches, so that mutations get past the key check into the data.
 * A cache that loads must hold what predictions.h promises: labels and predictions are
 * classes, scores lie in [0, 1] (1e-5 of rounding), logits are finite.
 */
#include "cascade/predictions.h"
#include "fuzz_common.h"
#include "fuzz_h5.h"
#include "loaders/h5reader.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* in process: this harness is about what the snapshot builder and the loader do
     * with whatever a well-formed file holds; fuzz_h5file and fuzz_h5snapshot fuzz the
     * quarantine's process boundary */
    dc_h5_set_reader_mode(DC_H5_READER_IN_PROCESS);
    static const char *const names[] = {
        "format_version", "weights_checksum", "dataset", "train", "first", "count", "arch",
        "num_classes", "macs", "label", "pred", "maxp", "difference", "entropy", "logits",
        "extra",
    };
    const char *path = fuzz_write("cache.h5", NULL, 0);
    fuzz_h5_write(path, data, size, names, (int)(sizeof names / sizeof names[0]));
    dc_predictions_key key;
    memset(&key, 0, sizeof key);
    key.weights_checksum = 1;
    snprintf(key.dataset, sizeof key.dataset, "/fuzz/data");
    key.train = false;
    key.first = 0;
    key.count = 4;
    dc_predictions p;
    memset(&p, 0, sizeof p);
    dc_error err;
    bool need_logits = size % 2 == 1;
    if (fuzz_result(dc_predictions_load(path, &key, need_logits, &p, &err), &err) == DC_OK) {
        if (p.n != key.count || p.num_classes < 1 || memchr(p.arch, 0, sizeof p.arch) == NULL)
            abort();
        for (int i = 0; i < p.n; i++) {
            if (p.label[i] < 0 || p.label[i] >= p.num_classes || p.pred[i] < 0 ||
                p.pred[i] >= p.num_classes)
                abort();
            for (int k = 0; k < 3; k++)
                if (!(p.score[k][i] >= -1e-5f && p.score[k][i] <= 1 + 1e-5f))
                    abort();
            if (p.logits)
                for (int c = 0; c < p.num_classes; c++)
                    if (!isfinite(p.logits[(size_t)i * p.num_classes + c]))
                        abort();
        }
        if (need_logits && !p.logits)
            abort();
        dc_predictions_free(&p);
    }
    return 0;
}
