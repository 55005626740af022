/*
 * classify.c — the smallest program that embeds dualcnn: load a weight file, turn an image
 * file into the model's input, run it, print the top-5 classes.
 *
 *   cc classify.c $(pkg-config --cflags --libs dualcnn) -o classify
 *   ./classify weights/fashionmnist/resnet20.h5 shoe.png
 */
#include <dualcnn.h>

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s WEIGHTS.h5 IMAGE (PNG or JPEG)\n", argv[0]);
        return 2;
    }
    dc_error err;
    dc_net *net;
    if (dc_net_load(argv[1], 1, &net, &err) != DC_OK) {
        fprintf(stderr, "%s\n", err.msg); /* names the file and the problem */
        return 1;
    }
    dc_net_info info = dc_net_get_info(net);
    float *x = malloc(sizeof(float) * (size_t)info.in_c * info.in_h * info.in_w);
    float *logits = malloc(sizeof(float) * (size_t)info.num_classes);
    int rc = 1;
    if (!x || !logits)
        fprintf(stderr, "out of memory\n");
    else if (dc_image_file_to_input(net, argv[2], x, &err) != DC_OK ||
             dc_net_forward(net, x, 1, logits, &err) != DC_OK)
        fprintf(stderr, "%s\n", err.msg);
    else
        rc = 0;
    /* the five largest logits, largest first */
    for (int k = 0; rc == 0 && k < 5 && k < info.num_classes; k++) {
        int best = -1;
        for (int c = 0; c < info.num_classes; c++)
            if (logits[c] > -1e30f && (best < 0 || logits[c] > logits[best]))
                best = c;
        const char *name = dc_net_class_name(net, best);
        printf("%d %s %.6f\n", best, name ? name : "?", logits[best]);
        logits[best] = -1e38f;
    }
    printf("dualcnn %s (header %s), %s\n", dc_version(), DUALCNN_VERSION_STRING, info.arch);
    free(x);
    free(logits);
    dc_net_free(net);
    return rc;
}
