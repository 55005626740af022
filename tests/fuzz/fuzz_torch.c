/*
 * fuzz_torch.c — the PyTorch checkpoint reader (loaders/torch_checkpoint.c, and through it
 * torch_zip.c on libzip, torch_legacy.c and pickle.c's torch profile) on arbitrary bytes:
 * dc_torch_checkpoint_open_buffer, then every tensor read as float32, as `dualcnn convert`
 * reads them. The seeds (tests/fuzz/make_torch_corpus.py) are small torch.save files of
 * both formats: plain, wrapped in a training dict, with views.
 */
#include "fuzz_common.h"
#include "loaders/torch_checkpoint.h"

#include <stdlib.h>
#include <string.h>

static volatile float sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dc_torch_checkpoint *c = NULL;
    dc_error err;
    if (fuzz_result(dc_torch_checkpoint_open_buffer(data, size, "fuzz.pt", &c, &err), &err) !=
        DC_OK) {
        if (c)
            abort();
        return 0;
    }
    for (int i = 0; i < dc_torch_checkpoint_count(c); i++) {
        const dc_torch_tensor *t = dc_torch_checkpoint_tensor(c, i);
        /* what the opening promised: a key, a dtype that is read, a view inside its
         * storage, no more elements than the storage holds */
        if (!t || !t->key[0] || t->ndim < 0 || t->ndim > DC_PICKLE_MAX_TENSOR_DIMS ||
            (t->dtype != DC_PK_DT_FLOAT32 && t->dtype != DC_PK_DT_INT64) || t->numel < 0 ||
            t->numel > t->storage_numel)
            abort();
        float *dst = malloc(t->numel ? (size_t)t->numel * sizeof *dst : 1);
        if (!dst)
            abort();
        if (fuzz_result(dc_torch_checkpoint_read_f32(c, i, dst, &err), &err) == DC_OK)
            for (int64_t e = 0; e < t->numel; e++)
                sink += dst[e];
        free(dst);
    }
    dc_torch_checkpoint_free(c);
    return 0;
}
