/*
 * cascade_folder.c — the paper's cascade over a folder of images: a small first model
 * answers when it is sure enough, a second model when it is not, and an optional memory
 * answers images it has seen before. Prints one line per image (file, class, class name,
 * which part answered) and a summary.
 *
 *   cc cascade_folder.c $(pkg-config --cflags --libs dualcnn) -o cascade_folder
 *   ./cascade_folder weights/fashionmnist/resnet20.h5 weights/fashionmnist/vgg11_bn.h5 \
 *       maxp 0.8 pictures/ dhash
 *
 * The images are the folder's .png, .jpg and .jpeg files, in strcmp order.
 */
#define _POSIX_C_SOURCE 200809L /* opendir, strdup */
#include <dualcnn.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_image(const char *name)
{
    const char *dot = strrchr(name, '.');
    return name[0] != '.' && dot && (!strcasecmp(dot, ".png") || !strcasecmp(dot, ".jpg") ||
                                     !strcasecmp(dot, ".jpeg"));
}

/* The image files of dir, sorted, in names[0 .. return value); -1 on failure. */
static int list_images(const char *dir, char ***names)
{
    DIR *d = opendir(dir);
    int n = 0;
    *names = NULL;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        char **more = is_image(e->d_name) ? realloc(*names, (n + 1) * sizeof **names) : NULL;
        if (more)
            *names = more;
        if (more && (more[n] = strdup(e->d_name)) != NULL)
            n++;
    }
    if (d)
        closedir(d);
    qsort(*names, (size_t)n, sizeof **names, by_name);
    return d ? n : -1;
}

/* maxp, difference or entropy (the oracle needs the true labels, which a folder lacks). */
static int parse_score(const char *s, dc_score_kind *k)
{
    for (int i = 0; i < DC_SCORE_COUNT; i++)
        if (i != DC_SCORE_ORACLE && strcmp(s, dc_score_name((dc_score_kind)i)) == 0) {
            *k = (dc_score_kind)i;
            return 1;
        }
    return 0;
}

int main(int argc, char **argv)
{
    dc_cascade_options o = { .threshold = argc > 4 ? atof(argv[4]) : 0 };
    if ((argc != 6 && argc != 7) || !parse_score(argv[3], &o.score)) {
        fprintf(stderr, "usage: %s FIRST.h5 SECOND.h5 maxp|difference|entropy THRESHOLD "
                        "FOLDER [dhash|invariants]\n", argv[0]);
        return 2;
    }
    if (argc == 7) /* anything else than these two is refused by dc_cascade_create */
        o.memory = !strcmp(argv[6], "dhash")        ? DC_MEMORY_DHASH
                   : !strcmp(argv[6], "invariants") ? DC_MEMORY_INVARIANTS
                                                    : (dc_memory_mode)-1;
    dc_error err;
    dc_net *first = NULL, *second = NULL;
    dc_cascade *cascade = NULL;
    if (dc_net_load(argv[1], 1, &first, &err) != DC_OK ||
        dc_net_load(argv[2], 1, &second, &err) != DC_OK) {
        fprintf(stderr, "%s\n", err.msg); /* names the file and the problem */
        return 1;
    }
    o.first = first;
    o.second = second;
    if (dc_cascade_create(&o, &cascade, &err) != DC_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }

    char **names;
    int n = list_images(argv[5], &names), rc = n < 0;
    if (n < 0)
        fprintf(stderr, "%s: cannot open the folder\n", argv[5]);
    for (int i = 0; i < n && rc == 0; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", argv[5], names[i]);
        dc_cascade_result r;
        if (dc_cascade_classify_file(cascade, path, -1, &r, &err) != DC_OK) {
            fprintf(stderr, "%s\n", err.msg);
            rc = 1;
        } else {
            const char *name = dc_net_class_name(first, r.pred);
            printf("%s %d %s %s\n", names[i], r.pred, name ? name : "?",
                   dc_exit_name(r.exit));
        }
    }
    dc_cascade_stats s = dc_cascade_get_stats(cascade);
    printf("%lld images: %lld from the memory, %lld from the first model, %lld from the "
           "second; the second model ran on %lld\n", (long long)s.inputs,
           (long long)s.exits[DC_EXIT_MEMORY], (long long)s.exits[DC_EXIT_FIRST],
           (long long)s.exits[DC_EXIT_SECOND], (long long)s.escalated);
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    dc_cascade_free(cascade);
    dc_net_free(first);
    dc_net_free(second);
    return rc;
}
