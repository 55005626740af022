/*
 * convert.h — what `dualcnn convert` knows besides the checkpoint (cli/convert_meta.c):
 * the dataset defaults tools/export_weights.py uses, the architecture an official
 * checkpoint's file name stands for, the release URL recorded as a chenyaofo file's
 * source, and the close names offered for an unknown architecture.
 */
#ifndef DC_CLI_CONVERT_H
#define DC_CLI_CONVERT_H

#include "dualcnn.h"

#include <stdbool.h>
#include <stddef.h>

/* A dataset's defaults, as tools/export_weights.py's DATASETS table has them. */
typedef struct {
    const char *name;
    int input_size[3];               /* imagenet: the architecture's crop size instead */
    double mean[3], std[3];          /* stored as float32, rounded from these doubles */
    const char *const *class_names;  /* num_classes names */
    int num_classes;
} cli_dataset_defaults;

/* The defaults of dataset name, or NULL when there are none. */
const cli_dataset_defaults *cli_convert_dataset(const char *name);

/* "cifar10, fashionmnist, intel, imagenet" */
const char *cli_convert_dataset_names(void);

/* The zoo entry an official checkpoint's file name stands for: the file name of an entry's
 * weight URL (cifar10_resnet20-4118986f.pt, resnet18-f37072fd.pth,
 * inception_v3_google-0cc3c7bd.pth), else "[cifar10_]<arch>[-<hex hash>].<ext>" for an
 * architecture of the zoo. NULL when the name says nothing. */
const dc_zoo_entry *cli_convert_arch_from_file(const char *path);

/* The source attribute export_weights.py records by default: chenyaofo's release URL for
 * a CIFAR-10 checkpoint named cifar10_<arch>-<8 hex digits>.pt, else "converted from
 * <file name>". */
void cli_convert_default_source(const dc_zoo_entry *e, const char *dataset, const char *path,
                                char *buf, size_t cap);

/* The architectures whose names are close to name (same start once '_', '-',
 * '.' are dropped, or at most two edits away), as "a (CIFAR-10), b, c"; "" when none.
 * tools/export_weights.py's close_names() is the same rule. */
void cli_convert_close_names(const char *name, char *buf, size_t cap);

/* What `dualcnn convert CHECKPOINT -o OUT --arch e --dataset dataset --source source`
 * does, for `dualcnn fetch`: dataset NULL means e's own, source NULL the default. OUT is
 * replaced atomically, and only by a file that loads as a net. Sets *tensors to the number
 * written. Errors name the checkpoint (DC_ERR_ARG: no defaults for that dataset, the
 * reason printed on stderr). */
dc_status cli_convert_checkpoint(const char *checkpoint, const char *out,
                                 const dc_zoo_entry *e, const char *dataset,
                                 const char *source, int *tensors, dc_error *err);

/* The last component of a path. */
const char *cli_convert_basename(const char *path);

#endif /* DC_CLI_CONVERT_H */
