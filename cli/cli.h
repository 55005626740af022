/*
 * cli.h — shared pieces of the `dualcnn` program: one function per subcommand and the
 * small argument helpers they use. Every command returns the process exit status:
 * 0 success, 1 a runtime failure (bad file, ...), 2 a usage error (bad flag).
 */
#ifndef DC_CLI_H
#define DC_CLI_H

#include "dualcnn.h"

#include <stdbool.h>

#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

int cmd_models(int argc, char **argv);
int cmd_infer(int argc, char **argv);
int cmd_classify(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_threshold(int argc, char **argv);
int cmd_complementarity(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_fetch(int argc, char **argv);

/* Parses an integer flag value in [lo, hi]; prints "<cmd>: <flag> ..." and returns false
 * when it is not one. */
bool cli_parse_int(const char *cmd, const char *flag, const char *text, long lo, long hi,
                   int *out);

/* Prints "dualcnn <cmd>: <message>" and "try 'dualcnn <cmd> --help'"; returns CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Prints "dualcnn <cmd>: <err.msg>"; returns CLI_FAIL. */
int cli_report(const char *cmd, const dc_error *err);

/* The weight file of an architecture when no -w is given:
 * <weights dir>/<dataset>/<arch>.h5, the weights dir being weights_dir, else
 * $DUALCNN_WEIGHTS, else ./weights. */
/* "train split, 2000 samples" or, after --skip, "train split, samples 50000..59999". */
const char *cli_split_name(bool train, int skip, int n, char *buf, size_t cap);

void cli_default_weights(const char *weights_dir, const char *dataset, const char *arch,
                         char *buf, size_t cap);

/* Weight files without -w (cli/weights_path.c). The directories looked in, in order:
 * weights_dir (--weights-dir) when given, else $DUALCNN_WEIGHTS when set (explicit: the
 * only one); else ./weights, then $XDG_DATA_HOME/dualcnn (~/.local/share/dualcnn).
 * Returns their number (1 or 2) and sets *explicit_dir. */
int cli_weights_dirs(const char *weights_dir, char dirs[2][1024], bool *explicit_dir);

/* True when path is a directory / a regular file (following links). */
bool cli_is_dir(const char *path);
bool cli_is_file(const char *path);

/* $XDG_DATA_HOME/dualcnn, else ~/.local/share/dualcnn; false when neither can be named. */
bool cli_xdg_weights_dir(char *buf, size_t cap);

/* Where `dualcnn fetch` writes: the explicit directory, else ./weights when it exists,
 * else the XDG one. */
void cli_fetch_weights_dir(const char *weights_dir, char *buf, size_t cap);

/* The first existing <dir>/<dataset>/<arch>.h5 over cli_weights_dirs into buf. When none
 * exists: DC_ERR_IO with a message naming every path tried and the `dualcnn fetch`
 * command that gets the file (buf: the first path). */
dc_status cli_find_weights(const char *weights_dir, const char *dataset, const char *arch,
                           char *buf, size_t cap, dc_error *err);

#endif /* DC_CLI_H */
