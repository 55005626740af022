/*
 * fuzz_h5file.c — the weight loader on any bytes as an HDF5 file, through the quarantine
 * (loaders/h5reader.h): libhdf5 reads the file in the helper process (dualcnn-h5read,
 * built next to the harness's build in cli/), which may crash, loop or write nonsense;
 * this process must only ever see a checked snapshot or an error. Slow (a process per
 * input) but it is the real path of a downloaded weight file. Seeds: small weight files
 * written with h5py (tests/fuzz/make_corpus.py).
 */
#include "fuzz_common.h"
#include "loaders/h5reader.h"
#include "loaders/weights.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dc_h5_set_reader_mode(DC_H5_READER_QUARANTINE);
    const char *path = fuzz_write("file.h5", data, size);
    dc_weights *w = NULL;
    dc_error err;
    dc_status st = dc_weights_open(path, &w, &err);
    if (st == DC_ERR_IO && strstr(err.msg, "helper")) /* the harness cannot test anything */
        abort();
    if (fuzz_result(st, &err) != DC_OK) {
        if (w)
            abort();
        return 0;
    }
    const dc_weights_attrs *a = dc_weights_get_attrs(w);
    for (int k = 0; k < 3; k++)
        if (!isfinite(a->mean[k]) || !(a->std[k] > 0))
            abort();
    fuzz_weights_read_model(w, &err);
    return 0;
}
