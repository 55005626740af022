/*
 * fuzz_pickle.c — dc_pickle_parse (loaders/pickle.c) on arbitrary bytes, then a walk over
 * every value reached from the root, touching every byte it claims to hold.
 */
#include "fuzz_common.h"
#include "loaders/pickle.h"

#include <stdlib.h>

static volatile unsigned sink;

/* Visits v and its items (depth bounded: a pickle can share values, not make cycles, but
 * sharing can still make the walk exponential). */
static void walk(const dc_pickle_value *v, int depth, long *budget)
{
    if (!v || depth > 64 || --*budget < 0)
        return;
    if (v->bytes)
        for (size_t i = 0; i < v->len; i++)
            sink += v->bytes[i];
    if (v->kind == DC_PK_ARRAY && (v->ndim < 0 || v->ndim > DC_PICKLE_MAX_DIMS))
        abort();
    size_t n = v->kind == DC_PK_DICT ? 2 * v->count : v->count;
    if (v->kind == DC_PK_LIST || v->kind == DC_PK_TUPLE || v->kind == DC_PK_DICT)
        for (size_t i = 0; i < n; i++)
            walk(v->items[i], depth + 1, budget);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dc_pickle *p = NULL;
    dc_error err;
    if (fuzz_result(dc_pickle_parse(data, size, "fuzz.pickle", &p, &err), &err) == DC_OK) {
        const dc_pickle_value *root = dc_pickle_root(p);
        long budget = 100000;
        walk(root, 0, &budget);
        /* the lookups the CIFAR-10 reader makes */
        (void)dc_pickle_dict_get(root, "data");
        (void)dc_pickle_dict_get(root, "labels");
        (void)dc_pickle_dict_get(root, "label_names");
    } else if (p) {
        abort();
    }
    dc_pickle_free(p);
    return 0;
}
