/*
 * fuzz_weights.c — the weight loader (loaders/weights.c) on HDF5 files whose root
 * attributes and datasets the input describes (fuzz_h5.h), through a temporary file:
 * dc_weights_open (the HDF5 file and its root attributes), then the reads
 * a model makes (the seed file tests/fuzz/make_corpus.py writes holds "conv.weight" of
 * shape (2, 1, 3, 3) and "fc.bias" of shape (3)), then dc_weights_check_all_used.
 */
#include "fuzz_common.h"
#include "fuzz_h5.h"
#include "loaders/h5reader.h"
#include "loaders/weights.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* in process: this harness is about what the snapshot builder and the loader do
     * with whatever a well-formed file holds; fuzz_h5file and fuzz_h5snapshot fuzz the
     * quarantine's process boundary */
    dc_h5_set_reader_mode(DC_H5_READER_IN_PROCESS);
    static const char *const names[] = {
        "format_version", "arch", "dataset", "num_classes", "input_size", "mean", "std",
        "source", "class_names", "transform_input", "conv/weight", "fc/bias", "fc/weight",
        "conv", "extra",
    };
    const char *path = fuzz_write("weights.h5", NULL, 0);
    fuzz_h5_write(path, data, size, names, (int)(sizeof names / sizeof names[0]));
    dc_weights *w = NULL;
    dc_error err;
    if (fuzz_result(dc_weights_open(path, &w, &err), &err) != DC_OK) {
        if (w)
            abort();
        return 0;
    }
    const dc_weights_attrs *a = dc_weights_get_attrs(w);
    if (a->num_classes < 1 || memchr(a->arch, 0, sizeof a->arch) == NULL ||
        memchr(a->dataset, 0, sizeof a->dataset) == NULL ||
        memchr(a->source, 0, sizeof a->source) == NULL)
        abort();
    for (int k = 0; k < 3; k++)
        if (!isfinite(a->mean[k]) || !(a->std[k] > 0) || !isfinite(a->std[k]))
            abort();
    for (int i = 0; i < a->n_class_names; i++) {
        volatile size_t n = strlen(a->class_names[i]);
        (void)n;
    }
    fuzz_weights_read_model(w, &err);
    return 0;
}
