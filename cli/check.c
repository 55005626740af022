/* check.c — checks of models, inputs and outputs before compute (see check.h). */
#include "cli/check.h"
#include "cli/cli.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

dc_status cli_resolve_weights(const char *flag, const char *model, const char *weights,
                              const char *weights_dir, const char *dataset, char *buf,
                              size_t cap, dc_error *err)
{
    if (weights) {
        snprintf(buf, cap, "%s", weights);
        if (access(buf, R_OK) != 0)
            return dc_fail(err, DC_ERR_IO, "%s: cannot read the weight file %s (%s)", flag, buf,
                           strerror(errno));
        return DC_OK;
    }
    const dc_zoo_entry *e = model ? dc_zoo_find(model) : NULL;
    if (!e)
        return dc_fail(err, DC_ERR_ARG, "%s: unknown model '%s' (see 'dualcnn models')", flag,
                       model ? model : "");
    dc_error why;
    dc_status st = cli_find_weights(weights_dir, dataset ? dataset : e->dataset, model, buf, cap,
                                    &why);
    if (st == DC_OK && access(buf, R_OK) != 0)
        st = dc_fail(&why, DC_ERR_IO, "cannot read the weight file %s (%s)", buf,
                     strerror(errno));
    return st == DC_OK ? DC_OK : dc_fail(err, st, "%s: %s", flag, why.msg);
}

dc_status cli_check_input(const char *flag, const char *path, dc_error *err)
{
    if (access(path, R_OK) != 0)
        return dc_fail(err, DC_ERR_IO, "%s: cannot read %s (%s)", flag, path, strerror(errno));
    return DC_OK;
}

dc_status cli_check_output(const char *flag, const char *path, dc_error *err)
{
    if (!path)
        return DC_OK;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0'; /* "/x" lives in "/" */
    else
        *slash = '\0';
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return dc_fail(err, DC_ERR_IO, "%s %s: the folder %s does not exist", flag, path, dir);
    if (access(dir, W_OK) != 0)
        return dc_fail(err, DC_ERR_IO, "%s %s: cannot write in %s (%s)", flag, path, dir,
                       strerror(errno));
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return dc_fail(err, DC_ERR_IO, "%s %s: is a folder, not a file", flag, path);
    return DC_OK;
}

dc_status cli_make_dirs(const char *dir, dc_error *err)
{
    char buf[4096];
    int n = snprintf(buf, sizeof buf, "%s", dir);
    if (n <= 0 || (size_t)n >= sizeof buf)
        return dc_fail(err, DC_ERR_ARG, "folder name too long: %s", dir);
    for (char *p = buf + 1;; p++) {
        bool last = *p == '\0';
        if (*p == '/' || last) {
            char keep = *p;
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return dc_fail(err, DC_ERR_IO, "cannot create the folder %s (%s)", buf,
                               strerror(errno));
            *p = keep;
        }
        if (last)
            break;
    }
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return dc_fail(err, DC_ERR_IO, "%s is not a folder", dir);
    return DC_OK;
}
