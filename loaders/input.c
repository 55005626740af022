/*
 * input.c — an image file or decoded pixels as a model's input, for the public API
 * (dc_image_file_to_input and dc_pixels_to_input in include/dualcnn.h): the decoder of
 * loaders/image.c, then the model's own transforms (loaders/preprocess.c).
 */
#include "dualcnn.h"

#include "loaders/image.h"
#include "loaders/preprocess.h"

dc_status dc_image_file_to_input(const dc_net *net, const char *path, float *out,
                                 dc_error *err)
{
    dc_image img = { 0 };
    dc_status st = dc_image_load(path, &img, err);
    if (st == DC_OK) {
        dc_net_info info = dc_net_get_info(net);
        st = dc_preprocess_net(&img, &info, out, err);
    }
    dc_image_free(&img);
    return st;
}

dc_status dc_pixels_to_input(const dc_net *net, const uint8_t *pixels, int width, int height,
                             int channels, float *out, dc_error *err)
{
    dc_image img;
    dc_status st = dc_image_view(pixels, width, height, channels, &img, err);
    if (st != DC_OK)
        return st;
    dc_net_info info = dc_net_get_info(net);
    return dc_preprocess_net(&img, &info, out, err);
}
