/*
 * fuzz_npy.c — dc_npy_read_f32 (loaders/npy.c) on arbitrary bytes, through a temporary file.
 * A successful read must hold exactly the product of its shape.
 */
#include "fuzz_common.h"
#include "loaders/npy.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write("in.npy", data, size);
    dc_npy a;
    dc_error err;
    if (fuzz_result(dc_npy_read_f32(path, &a, &err), &err) == DC_OK) {
        size_t count = 1;
        for (int d = 0; d < a.ndim; d++)
            count *= (size_t)a.shape[d];
        if (count != a.count || (a.count && !a.data))
            abort();
        volatile float sink = 0;
        for (size_t i = 0; i < a.count; i++)   /* every float is really there */
            sink += a.data[i];
        (void)sink;
    } else if (a.data) {
        abort();                               /* "on failure out is left empty" */
    }
    dc_npy_free(&a);
    return 0;
}
