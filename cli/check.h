/*
 * check.h — what the long commands check before their first minute of compute: every
 * model named on the command line is known and its weight file readable, every input
 * exists, and every output file can be created where it was asked for. A typo in the
 * second model's name is then reported before the first model runs.
 */
#ifndef DC_CLI_CHECK_H
#define DC_CLI_CHECK_H

#include "dualcnn.h"

#include <stddef.h>

/* The weight file of a model: `weights` when given, else the one cli_find_weights finds
 * (<weights dir>/<dataset>/<arch>.h5; dataset NULL means the architecture's own). Writes the
 * path to buf; fails naming `flag` when model is not in the zoo or no readable file is
 * there (the message then names every path tried and how to get the file). */
dc_status cli_resolve_weights(const char *flag, const char *model, const char *weights,
                              const char *weights_dir, const char *dataset, char *buf,
                              size_t cap, dc_error *err);

/* Fails naming flag when path does not exist or cannot be read. */
dc_status cli_check_input(const char *flag, const char *path, dc_error *err);

/* Fails naming flag when the directory that would hold the file path does not exist or
 * is not writable (path NULL: nothing asked, nothing checked). Creates nothing. */
dc_status cli_check_output(const char *flag, const char *path, dc_error *err);

/* Creates directory dir and its missing parents (mode 0777 before the umask). */
dc_status cli_make_dirs(const char *dir, dc_error *err);

#endif /* DC_CLI_CHECK_H */
