/*
 * fuzz_idx.c — FashionMNIST's IDX files (loaders/dataset_idx.c), plain or gzip'd.
 * Input: a flags byte (bit 0: name the files .gz), the images file's length (2 bytes),
 * the images file, the labels file (fuzz_split_input). The two are written to a temporary
 * directory and opened with dc_dataset_open(dir, "fashionmnist", test split).
 */
#include "fuzz_common.h"
#include "fuzz_dataset.h"

static const char *const names[] = {
    "idx/t10k-images-idx3-ubyte", "idx/t10k-labels-idx1-ubyte",
    "idx/t10k-images-idx3-ubyte.gz", "idx/t10k-labels-idx1-ubyte.gz",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_split s = fuzz_split_input(data, size);
    for (int i = 0; i < 4; i++)
        fuzz_remove(names[i]);
    int gz = (s.flags & 1) ? 2 : 0;
    fuzz_write(names[gz], s.a, s.na);
    fuzz_write(names[gz + 1], s.b, s.nb);
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/idx", fuzz_tmpdir());
    dc_dataset *ds = NULL;
    dc_error err;
    if (fuzz_result(dc_dataset_open(dir, "fashionmnist", false, &ds, &err), &err) == DC_OK)
        fuzz_dataset_walk(ds);
    dc_dataset_close(ds);
    return 0;
}
