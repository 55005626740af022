/*
 * weights_path.c — where weight files are looked for without -w, and where `dualcnn
 * fetch` puts them (see cli.h: cli_weights_dirs, cli_find_weights).
 */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

bool cli_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool cli_is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

bool cli_xdg_weights_dir(char *buf, size_t cap)
{
    const char *xdg = getenv("XDG_DATA_HOME");
    if (xdg && xdg[0] == '/')
        return (size_t)snprintf(buf, cap, "%s/dualcnn", xdg) < cap;
    const char *home = getenv("HOME");
    if (!home || !*home)
        return false;
    return (size_t)snprintf(buf, cap, "%s/.local/share/dualcnn", home) < cap;
}

int cli_weights_dirs(const char *weights_dir, char dirs[2][1024], bool *explicit_dir)
{
    const char *dir = weights_dir && *weights_dir ? weights_dir : getenv("DUALCNN_WEIGHTS");
    *explicit_dir = dir && *dir;
    if (*explicit_dir) {
        snprintf(dirs[0], sizeof dirs[0], "%s", dir);
        return 1;
    }
    snprintf(dirs[0], sizeof dirs[0], "weights");
    return cli_xdg_weights_dir(dirs[1], sizeof dirs[1]) ? 2 : 1;
}

void cli_fetch_weights_dir(const char *weights_dir, char *buf, size_t cap)
{
    char dirs[2][1024];
    bool explicit_dir;
    int n = cli_weights_dirs(weights_dir, dirs, &explicit_dir);
    /* ./weights when it is there (a checkout), else the user's data directory */
    snprintf(buf, cap, "%s", explicit_dir || n == 1 || cli_is_dir(dirs[0]) ? dirs[0] : dirs[1]);
}

dc_status cli_find_weights(const char *weights_dir, const char *dataset, const char *arch,
                           char *buf, size_t cap, dc_error *err)
{
    char dirs[2][1024], tried[2][2200];
    bool explicit_dir;
    int n = cli_weights_dirs(weights_dir, dirs, &explicit_dir);
    for (int i = 0; i < n; i++) {
        snprintf(tried[i], sizeof tried[i], "%s/%s/%s.h5", dirs[i], dataset, arch);
        if (cli_is_file(tried[i])) {
            snprintf(buf, cap, "%s", tried[i]);
            return DC_OK;
        }
    }
    snprintf(buf, cap, "%s", tried[0]);
    const dc_zoo_entry *e = dc_zoo_find(arch);
    char how[600];
    if (e && strcmp(e->dataset, dataset) == 0)
        snprintf(how, sizeof how, "`dualcnn fetch %s%s%s` downloads it", arch,
                 weights_dir && *weights_dir ? " --weights-dir " : "",
                 weights_dir && *weights_dir ? weights_dir : "");
    else
        snprintf(how, sizeof how, "there are no official %s weights for %s: convert your "
                 "own checkpoint (`dualcnn convert`) or give -w", dataset, arch);
    return dc_fail(err, DC_ERR_IO, "no weight file for %s (%s): tried %s%s%s; %s", arch,
                   dataset, tried[0], n > 1 ? ", " : "", n > 1 ? tried[1] : "", how);
}
