/*
 * fuzz_image.c — dc_image_load (loaders/image.c): PNG and JPEG decoding through libpng and
 * libjpeg, chosen by the first bytes. A decoded image must be RGB within the size limits,
 * and every pixel must be readable.
 */
#include "fuzz_common.h"
#include "loaders/image.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write("in.img", data, size);
    dc_image img;
    dc_error err;
    if (fuzz_result(dc_image_load(path, &img, &err), &err) == DC_OK) {
        if (img.c != 3 || img.w < 1 || img.h < 1 || !img.data)
            abort();
        volatile unsigned sink = 0;
        for (size_t j = 0; j < (size_t)img.w * img.h * 3; j++)
            sink += img.data[j];
        (void)sink;
    } else if (img.data) {
        abort();
    }
    dc_image_free(&img);
    return 0;
}
