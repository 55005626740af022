/*
 * fuzz_dataset.h — what the dataset harnesses do with a dataset that opened: read every
 * label and class name and decode a bounded number of images, checking what dataset.h
 * promises of each.
 */
#ifndef DC_FUZZ_DATASET_H
#define DC_FUZZ_DATASET_H

#include "loaders/dataset.h"

#include <stdio.h>
#include <stdlib.h>

static inline void fuzz_dataset_walk(dc_dataset *ds)
{
    int n = dc_dataset_count(ds), k = dc_dataset_num_classes(ds);
    if (n <= 0 || k <= 0)
        abort();                          /* an empty split is an error, not a dataset */
    for (int c = 0; c < k; c++)
        if (!dc_dataset_class_name(ds, c))
            abort();
    for (int i = 0; i < n; i++) {
        int l = dc_dataset_label(ds, i);
        if (l < 0 || l >= k)
            abort();                      /* labels are checked against the classes */
        if (i >= 8 && i != n - 1)
            continue;
        dc_image img;
        dc_error err;
        if (dc_dataset_image(ds, i, &img, &err) == DC_OK) {
            volatile unsigned sink = 0;
            for (size_t j = 0; j < (size_t)img.w * img.h * img.c; j++)
                sink += img.data[j];
            (void)sink;
        }
        dc_image_free(&img);
    }
}

#endif /* DC_FUZZ_DATASET_H */
