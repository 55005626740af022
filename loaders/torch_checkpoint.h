/*
 * torch_checkpoint.h — the state_dict inside a PyTorch checkpoint, read without Python.
 *
 * Both formats torch.save writes are read (docs/convert.md): the zip archive of torch >=
 * 1.6 (loaders/torch_zip.c) and the legacy format (loaders/torch_legacy.c). Their pickle
 * goes through loaders/pickle.c's torch profile, which builds values and never calls
 * anything. The state_dict is the pickled dict itself, or the dict held under
 * 'state_dict', 'model' or 'model_state_dict' (what training scripts save), as
 * tools/export_weights.py takes it; a 'module.' prefix (DataParallel) is removed from every
 * key that has it.
 *
 * Every tensor is checked when the checkpoint is opened, before anything is read: its
 * dtype (float32, or int64 for integer buffers such as Swin's relative_position_index and
 * num_batches_tracked; anything else is refused, naming the tensor and the dtype), its
 * size and strides against the storage it views (a view that would read past the end of
 * its storage is refused), and the storage against the bytes the file holds for it.
 */
#ifndef DC_LOADERS_TORCH_CHECKPOINT_H
#define DC_LOADERS_TORCH_CHECKPOINT_H

#include "loaders/pickle.h"

#include <stdint.h>

/* The largest file opened (the whole file is read into memory), and the largest data.pkl. */
#define DC_TORCH_MAX_FILE ((size_t)16 << 30)
#define DC_TORCH_MAX_PICKLE ((size_t)256 << 20)

typedef enum { DC_TORCH_ZIP, DC_TORCH_LEGACY } dc_torch_format;

typedef struct {
    char *key;               /* the state_dict key, without a 'module.' prefix */
    dc_pickle_dtype dtype;   /* DC_PK_DT_FLOAT32 or DC_PK_DT_INT64 */
    int ndim;
    int64_t shape[DC_PICKLE_MAX_TENSOR_DIMS];
    int64_t stride[DC_PICKLE_MAX_TENSOR_DIMS]; /* in elements */
    int64_t offset;          /* into the storage, in elements */
    int64_t numel;
    char storage[72];        /* the storage's key */
    int64_t storage_numel;   /* elements the storage holds */
} dc_torch_tensor;

typedef struct dc_torch_checkpoint dc_torch_checkpoint;

/* Reads the file at path (at most DC_TORCH_MAX_FILE bytes) and opens it as below. */
dc_status dc_torch_checkpoint_open(const char *path, dc_torch_checkpoint **out,
                                   dc_error *err);

/* Opens the checkpoint in buf[0..n) (borrowed: it must outlive the result); name is used
 * in every message. Fails naming the file and the problem: not a checkpoint, a truncated
 * or corrupt one, a refused pickle (a global other than torch's, a nesting too deep), no
 * state_dict, an entry that is not a tensor, a refused dtype, a view past its storage's
 * end, a missing or short storage, a big-endian file. Free with dc_torch_checkpoint_free. */
dc_status dc_torch_checkpoint_open_buffer(const uint8_t *buf, size_t n, const char *name,
                                          dc_torch_checkpoint **out, dc_error *err);

void dc_torch_checkpoint_free(dc_torch_checkpoint *c);

dc_torch_format dc_torch_checkpoint_format(const dc_torch_checkpoint *c);

/* The state_dict's tensors, in the pickle's order. */
int dc_torch_checkpoint_count(const dc_torch_checkpoint *c);
const dc_torch_tensor *dc_torch_checkpoint_tensor(const dc_torch_checkpoint *c, int i);

/* Reads tensor i into dst (numel floats, C order): a view is gathered by its strides;
 * int64 values are converted exactly, and one of magnitude 2^24 or more (which float32
 * cannot hold exactly) is refused, naming the tensor. */
dc_status dc_torch_checkpoint_read_f32(dc_torch_checkpoint *c, int i, float *dst,
                                       dc_error *err);

#endif /* DC_LOADERS_TORCH_CHECKPOINT_H */
