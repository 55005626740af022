/*
 * fuzz_cifar.c — CIFAR-10's batch files (loaders/dataset_cifar.c): the binary version
 * (test_batch.bin and batches.meta.txt) or the Python version (the pickles test_batch and
 * batches.meta, read through loaders/pickle.c).
 * Input: a flags byte (bit 0: the Python version; bit 1: write no metadata file), the
 * batch file's length (2 bytes; the seeds use 65535 for "the rest"), the batch file, the
 * metadata file (fuzz_split_input).
 */
#include "fuzz_common.h"
#include "fuzz_dataset.h"

static const char *const names[] = {
    "cifar/test_batch.bin", "cifar/batches.meta.txt", "cifar/test_batch", "cifar/batches.meta",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_split s = fuzz_split_input(data, size);
    for (int i = 0; i < 4; i++)
        fuzz_remove(names[i]);
    int py = (s.flags & 1) ? 2 : 0;
    fuzz_write(names[py], s.a, s.na);
    if (!(s.flags & 2))
        fuzz_write(names[py + 1], s.b, s.nb);
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/cifar", fuzz_tmpdir());
    dc_dataset *ds = NULL;
    dc_error err;
    if (fuzz_result(dc_dataset_open(dir, "cifar10", false, &ds, &err), &err) == DC_OK)
        fuzz_dataset_walk(ds);
    dc_dataset_close(ds);
    return 0;
}
