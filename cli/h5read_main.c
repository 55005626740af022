/*
 * h5read_main.c — dualcnn-h5read, the quarantined HDF5 reader (loaders/h5reader.h).
 *
 *   dualcnn-h5read --snapshot-fd FD [--max-bytes N] -- FILE
 *   dualcnn-h5read --snapshot-fd FD [--max-bytes N] --image-fd FD2
 *
 * Reads FILE (or the HDF5 file image held by the open file FD2: a weight file the parent
 * had in memory) with libhdf5 and writes its snapshot (loaders/h5snapshot.h) into FD, an
 * anonymous shared-memory file the parent created and will map. A file that breaks a rule
 * gives a snapshot holding the refusal and its message; exit status 0 means a snapshot was
 * written. Anything else (a crash inside libhdf5, a signal, a non-zero status) tells the
 * parent the file is damaged or hostile. Not meant to be run by hand.
 */
#include "loaders/h5snapshot_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* AddressSanitizer reserves terabytes of address space: no RLIMIT_AS under it */
#if defined(__SANITIZE_ADDRESS__)
#define DC_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DC_UNDER_ASAN 1
#endif
#endif

typedef struct {
    int fd;
    void *map;
    size_t size;
} shared_out;

/* alloc for dc_h5snap_build: sizes the shared file and maps it (a second call, for a
 * refusal after a failed read, replaces the first mapping). */
static void *shared_alloc(size_t size, void *arg)
{
    shared_out *o = arg;
    if (o->map) {
        munmap(o->map, o->size);
        o->map = NULL;
    }
    if (size == 0 || ftruncate(o->fd, 0) != 0 || ftruncate(o->fd, (off_t)size) != 0)
        return NULL;
    void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, o->fd, 0);
    if (m == MAP_FAILED)
        return NULL;
    o->map = m;
    o->size = size;
    return m;
}

static int usage(const char *why)
{
    fprintf(stderr, "dualcnn-h5read: %s\n"
            "usage: dualcnn-h5read --snapshot-fd FD [--max-bytes N] -- FILE\n"
            "       dualcnn-h5read --snapshot-fd FD [--max-bytes N] --image-fd FD\n"
            "  the HDF5 reader dualcnn runs in a separate process (docs/robustness.md,\n"
            "  \"HDF5 in quarantine\"); not meant to be run by hand\n", why);
    return 2;
}

int main(int argc, char **argv)
{
    int fd = -1, image_fd = -1;
    unsigned long long max_bytes = 0;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage("help");
            return 0;
        } else if (strcmp(argv[i], "--snapshot-fd") == 0 && i + 1 < argc) {
            fd = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--max-bytes") == 0 && i + 1 < argc) {
            max_bytes = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--image-fd") == 0 && i + 1 < argc) {
            image_fd = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--") == 0 && i + 2 == argc) {
            path = argv[i + 1];
            break;
        } else {
            return usage("bad arguments");
        }
    }
    if (fd < 0 || (!path) == (image_fd < 0))
        return usage("--snapshot-fd and one of FILE and --image-fd are required");
#ifndef DC_UNDER_ASAN
    /* the snapshot (mapped here) plus 1 GiB for libhdf5 and the rest: a file that makes
     * libhdf5 ask for more fails an allocation instead of taking the machine's memory */
    if (max_bytes) {
        rlim_t cap = (rlim_t)max_bytes + ((rlim_t)1 << 30);
        struct rlimit rl = { cap, cap };
        setrlimit(RLIMIT_AS, &rl);
    }
#endif
    shared_out o = { fd, NULL, 0 };
    dc_error err = { 0 };
    size_t size = 0;
    dc_status st;
    if (path) {
        st = dc_h5snap_build(path, max_bytes, shared_alloc, &o, &size, &err);
    } else {
        /* the image, mapped read-only: libhdf5's core driver takes its own copy */
        struct stat sb;
        void *image = MAP_FAILED;
        if (fstat(image_fd, &sb) == 0 && sb.st_size > 0)
            image = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, image_fd, 0);
        if (image == MAP_FAILED)
            return 3;
        st = dc_h5snap_build_image(image, (size_t)sb.st_size, max_bytes, shared_alloc, &o,
                                   &size, &err);
    }
    if (st != DC_OK && dc_h5snap_build_refusal(st, err.msg, shared_alloc, &o, &size) != DC_OK)
        return 3;
    /* the snapshot must be exactly the size the parent sees */
    if (ftruncate(fd, (off_t)size) != 0)
        return 3;
    munmap(o.map, o.size);
    /* _exit: the process ends here and the kernel takes back everything; skipping the exit
     * handlers also keeps libhdf5's own clean-up of a damaged file from running */
    _exit(0);
}
