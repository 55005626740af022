/*
 * fuzz_h5snapshot.c — the parent's side of the HDF5 quarantine: dc_h5snap_parse on any
 * bytes, as if the quarantined reader (a process that libhdf5 may have taken over) had
 * written them. A snapshot that parses is walked the way the loaders walk it: every name,
 * note, string and value must lie inside the block (AddressSanitizer watches).
 * Seeds: snapshots of small weight and cache files (tests/fuzz/make_corpus.py).
 */
#include "fuzz_common.h"
#include "loaders/h5snapshot.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the parser wants the 8-byte alignment of a mapping */
    uint64_t *block = malloc(size ? (size + 7) / 8 * 8 : 8);
    if (!block)
        abort();
    memcpy(block, data, size);
    dc_h5snap *s = NULL;
    dc_error err;
    if (fuzz_result(dc_h5snap_parse("fuzz.h5", block, size, NULL, NULL, &s, &err), &err)
        == DC_OK) {
        volatile size_t sink = 0;
        for (int i = 0; i < dc_h5snap_count(s); i++) {
            const dc_h5snap_item *it = dc_h5snap_item_at(s, i);
            sink += strlen(it->name) + strlen(it->note);
            const unsigned char *d = it->data;
            for (uint64_t b = 0; d && b < it->data_bytes; b++)
                sink += d[b];
            for (uint64_t k = 0; it->cls == DC_H5SNAP_STRING && d && k < it->count; k++)
                sink += strlen(dc_h5snap_string(it, k));
            if (it->kind != DC_H5SNAP_ATTR && dc_h5snap_find(s, it->name, NULL) == NULL)
                abort(); /* every dataset and link can be found by its name */
            if (it->kind == DC_H5SNAP_ATTR && dc_h5snap_attr(s, it->name) == NULL)
                abort();
        }
        (void)sink;
        dc_h5snap_free(s);
    }
    free(block);
    return 0;
}
