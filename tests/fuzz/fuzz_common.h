/*
 * fuzz_common.h — what every libFuzzer harness of tests/fuzz/ shares: a per-process
 * temporary directory for the parsers that only take a path.
 */
#ifndef DC_FUZZ_COMMON_H
#define DC_FUZZ_COMMON_H

#include "dualcnn.h"

#include <stddef.h>
#include <stdint.h>

/* The per-process temporary directory ("$TMPDIR/dcfuzz-XXXXXX", created on the first call
 * and removed with everything in it at exit). Aborts when it cannot be made: a harness
 * that cannot write its input tests nothing. */
const char *fuzz_tmpdir(void);

/* Writes the n bytes of data to "<fuzz_tmpdir()>/<name>" (name may hold one '/': the
 * directory is created) and returns that path (a static buffer, valid until the next
 * call). Aborts on a write error. */
const char *fuzz_write(const char *name, const uint8_t *data, size_t n);

/* Removes "<fuzz_tmpdir()>/<name>" if it exists (a file or an empty directory). */
void fuzz_remove(const char *name);

/* Reports a parser's result: with DC_FUZZ_EXPECT_OK=1 in the environment a failure
 * prints err's message and aborts (tests/fuzz/run.sh runs every seed this way first, so a
 * seed that stopped being valid is noticed); otherwise it does nothing. Returns st. */
dc_status fuzz_result(dc_status st, const dc_error *err);

/* The reads a model makes of a weight file shaped like the seed of tests/fuzz/make_corpus.py
 * ("conv.weight" of shape (2, 1, 3, 3), "fc.bias" of shape (3)), aborting when one succeeds
 * with a value that is not finite, then dc_weights_check_all_used; closes w. For the
 * harnesses of the weight loader (fuzz_weights, fuzz_h5file). */
struct dc_weights;
void fuzz_weights_read_model(struct dc_weights *w, dc_error *err);

/* Splits a harness's input in three: a flags byte, part A (its length in the next two
 * bytes, little-endian, clamped to what remains) and part B (the rest). An input shorter
 * than three bytes gives flags 0 and two empty parts. */
typedef struct {
    unsigned flags;
    const uint8_t *a, *b;
    size_t na, nb;
} fuzz_split;
fuzz_split fuzz_split_input(const uint8_t *data, size_t size);

#endif /* DC_FUZZ_COMMON_H */
