/*
 * dataset.h — labelled image sets on disk: CIFAR-10 (binary or Python version), FashionMNIST
 * (IDX files, gzip'd or not), and class-per-folder trees of PNG/JPEG files (ImageNet
 * validation, Intel Image Classification).
 *
 * A dataset hands out raw images exactly as stored (uint8 HWC, see image.h) with their
 * labels; turning one into a model's input is preprocess.h's job. CIFAR-10 and FashionMNIST
 * are read whole at open; folder trees keep their sorted file list and decode on demand.
 * Every function taking a const dc_dataset may be called from several threads at once.
 *
 *     dc_dataset *ds;
 *     if (dc_dataset_open("/usr/share/datasets/fashion-mnist", NULL, false, &ds, &err))
 *         ... err.msg names the file and the problem ...
 *     for (int i = 0; i < dc_dataset_count(ds); i++) {
 *         dc_image img;
 *         dc_dataset_image(ds, i, &img, &err);   // 28 x 28 x 1
 *         ... dc_dataset_label(ds, i) ...
 *         dc_image_free(&img);
 *     }
 *     dc_dataset_close(ds);
 */
#ifndef DC_DATASET_H
#define DC_DATASET_H

#include "dualcnn.h"
#include "loaders/image.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct dc_dataset dc_dataset;

/* Opens the dataset at path (a directory).
 *   kind "cifar10":      path holds cifar-10-batches-bin/ or cifar-10-batches-py/ (binary
 *                        preferred when both are there), or is one of those directories.
 *                        Split: data_batch_1..5 (train) or test_batch.
 *   kind "fashionmnist": path holds the IDX files {train,t10k}-{images-idx3,labels-idx1}-ubyte,
 *                        each gzip'd (.gz) or not (also found under FashionMNIST/raw/ or
 *                        raw/, torchvision's layout).
 *   kind "intel":        path holds seg_train/seg_train/ and seg_test/seg_test/ (Kaggle's
 *                        layout; seg_train/ and seg_test/ holding the classes directly work
 *                        too), or is a class-per-folder tree itself (then train is ignored).
 *   kind "imagenet":     a class-per-folder tree; when path holds train/ or val/ the split
 *                        picks one of them, else path is the tree itself.
 *   kind NULL:           detected from the contents, in the order cifar10 (a batches
 *                        directory or batch files), fashionmnist (IDX files), intel
 *                        (seg_train/ or seg_test/, or a tree whose classes are exactly
 *                        buildings, forest, glacier, mountain, sea, street), imagenet (any
 *                        other directory with sub-directories).
 * train selects the training split instead of the test (validation) split.
 * Folder trees: classes are the sub-directories in strcmp order (names starting with '.'
 * are skipped); a class's images are its files ending in .png, .jpg or .jpeg (any case),
 * in strcmp order, not searched in deeper folders; other files are ignored; a class with no
 * image is still a class, but a tree with no image at all is refused (DC_ERR_FORMAT).
 * Labels are checked against the number of classes.
 * Returns DC_OK; DC_ERR_ARG for an unknown kind or a directory of no known kind;
 * DC_ERR_IO for a missing or unreadable file or directory; DC_ERR_FORMAT for a truncated
 * or corrupt file; DC_ERR_NOMEM. err names the file and the problem. Close with
 * dc_dataset_close. */
dc_status dc_dataset_open(const char *path, const char *kind, bool train, dc_dataset **out,
                          dc_error *err);

/* As dc_dataset_open, but reads no more than the first max_samples samples of the split
 * (max_samples <= 0: all): what `--skip` + `--limit` need. The IDX reader stops inflating
 * there and the CIFAR-10 reader stops reading records and batch files (a Python batch is
 * still parsed whole); headers are checked as before, but bytes after the samples read are
 * not (trailing garbage goes unnoticed). Folder trees are listed whole either way. */
dc_status dc_dataset_open_first(const char *path, const char *kind, bool train,
                                int max_samples, dc_dataset **out, dc_error *err);

/* Narrows ds to its samples first .. first + count - 1 (count <= 0: to the end), which
 * become samples 0 .. count - 1: `--skip` and `--limit` of the commands, and the way to
 * name a validation split held out of a training split (FashionMNIST's last 10,000
 * training images: train, first 50000). Returns DC_OK, or DC_ERR_ARG when first is not a
 * sample of ds (ds is then unchanged). */
dc_status dc_dataset_keep(dc_dataset *ds, int first, int count, dc_error *err);

/* Frees everything the dataset holds. ds may be NULL. */
void dc_dataset_close(dc_dataset *ds);

/* "cifar10", "fashionmnist", "imagenet" or "intel". */
const char *dc_dataset_kind(const dc_dataset *ds);

/* The directory actually read (e.g. ".../cifar-10-batches-bin", ".../seg_test/seg_test"). */
const char *dc_dataset_root(const dc_dataset *ds);

/* Number of samples in the split. */
int dc_dataset_count(const dc_dataset *ds);

/* Number of classes: 10 for CIFAR-10 and FashionMNIST, the folders for trees. */
int dc_dataset_num_classes(const dc_dataset *ds);

/* Name of class i (0 <= i < num_classes), owned by the dataset; NULL when out of range.
 * CIFAR-10: batches.meta.txt (binary) or label_names of batches.meta (Python), the
 * standard names when that file is absent; FashionMNIST: "T-shirt/top", "Trouser",
 * "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot";
 * trees: the folder names. */
const char *dc_dataset_class_name(const dc_dataset *ds, int i);

/* Label of sample i (0 <= i < count), in [0, num_classes); -1 when i is out of range. */
int dc_dataset_label(const dc_dataset *ds, int i);

/* Path of the file of sample i for folder trees; NULL for CIFAR-10 and FashionMNIST or when
 * i is out of range. */
const char *dc_dataset_file(const dc_dataset *ds, int i);

/* The raw image of sample i, exactly as stored, before any resize or normalisation:
 * CIFAR-10 32x32x3 RGB, FashionMNIST 28x28x1 gray, folder trees the decoded file (c = 3,
 * see dc_image_load) — except Intel, which the paper resized to 32x32 when loading with
 * PIL's Image.resize default filter: BICUBIC for RGB images in Pillow 9.4 (Debian 12), so
 * Intel images come back 32x32x3 through dc_resize_pil(..., DC_PIL_BICUBIC) (preprocess.h).
 * Returns DC_OK; DC_ERR_ARG for a bad i; for folder trees the errors of dc_image_load (a
 * corrupt file is named). The caller frees out with dc_image_free; on failure out is
 * empty. */
dc_status dc_dataset_image(const dc_dataset *ds, int i, dc_image *out, dc_error *err);

/* ---- the readers (internal to loaders/dataset*.c) ----------------------- */

struct dc_dataset {
    char kind[16];
    char *root;               /* the directory actually read */
    int count;
    int num_classes;
    char **class_names;       /* num_classes strings */
    int *labels;              /* count labels */
    /* CIFAR-10, FashionMNIST: count images of w x h x c bytes each (HWC), in memory */
    uint8_t *pixels;
    int w, h, c;
    /* folder trees: count file paths, decoded on demand */
    char **files;
    int resize_w, resize_h;   /* Intel: 32 x 32 at load; 0 = keep the size */
    int want;                 /* the readers may stop after this many samples (0: all) */
};

/* Each fills ds (zeroed by the caller, kind already set) from the directory dir, or
 * returns an error; dc_dataset_close frees whatever they filled, even after a failure. */
dc_status dc_dataset_read_cifar(dc_dataset *ds, const char *dir, bool train, dc_error *err);
dc_status dc_dataset_read_idx(dc_dataset *ds, const char *dir, bool train, dc_error *err);
dc_status dc_dataset_read_folder(dc_dataset *ds, const char *dir, dc_error *err);

/* Shared helpers of the readers. */
bool dc_dataset_is_dir(const char *path);
bool dc_dataset_is_file(const char *path);
/* "<a>/<b>" in a new string (NULL when out of memory). */
char *dc_dataset_join(const char *a, const char *b);
/* Sets ds->class_names to copies of the n names; DC_ERR_NOMEM. */
dc_status dc_dataset_set_classes(dc_dataset *ds, const char *const *names, int n,
                                 dc_error *err);

#endif /* DC_DATASET_H */
