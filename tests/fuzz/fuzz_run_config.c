/*
 * fuzz_run_config.c — run_config_load (cli/run_config.c), the libyaml reader of
 * `dualcnn run -y`'s config.yml, on arbitrary bytes through a temporary file. After a
 * success every string it set must be one the config owns (or what o held before), every
 * number must be in its range and a memory method one of the two; after a failure o must
 * be as it was.
 */
#include "cli/run.h"
#include "fuzz_common.h"

#include <stdlib.h>
#include <string.h>

static const char before_model[] = "before";

/* Whether s is what o held before (before_model), or a NUL-terminated string c owns. */
static int owned(const run_config *c, const char *s)
{
    if (!s || s == before_model)
        return 1;
    for (int i = 0; i < c->n_strings; i++)
        if (s == c->strings[i])
            return strlen(s) < RUN_CONFIG_MAX_BYTES;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write("config.yml", data, size);
    run_opts o, start;
    memset(&o, 0, sizeof o);
    o.model1 = before_model;
    o.threshold = 0.5;
    start = o;
    run_config c = { .n_strings = 0 };
    dc_error err;
    dc_status st = fuzz_result(run_config_load(path, &o, &c, &err), &err);
    if (c.n_strings < 0 || c.n_strings > c.cap || (c.cap && !c.strings))
        abort();
    if (st != DC_OK && memcmp(&o, &start, sizeof o) != 0)
        abort(); /* a failed load changes nothing */
    if (st == DC_OK) {
        const char *const strings[] = { o.model1, o.model2, o.weights1, o.weights2,
                                        o.weights_dir, o.path, o.dataset, o.memory,
                                        o.energy, o.report_csv, o.per_sample_csv, o.finish };
        for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
            if (!owned(&c, strings[i]))
                abort();
        if (!(o.threshold >= 0 && o.threshold <= 1) || !(o.duplicates >= 0 &&
            o.duplicates <= 1000) || !(o.rotations >= 0 && o.rotations <= 1))
            abort();
        if (o.memory && strcmp(o.memory, "dhash") != 0 && strcmp(o.memory, "invariants") != 0)
            abort();
    }
    run_config_free(&c);
    return 0;
}
