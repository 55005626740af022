#define _XOPEN_SOURCE 700 /* nftw */
#include "fx_energy.h"

#include "fixtures.h"

#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *fx_pathf(char *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, FX_PATH_SIZE, fmt, ap);
    va_end(ap);
    ck_assert_msg(n >= 0 && n < FX_PATH_SIZE, "path too long: %s", buf);
    return buf;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void fx_tree_remove(const char *root)
{
    nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void fx_tree_make(char *root, const char *prefix, const char *name)
{
    char leaf[128];
    snprintf(leaf, sizeof leaf, "%s-%s-%ld", prefix, name, (long)getpid());
    fx_path(root, FX_PATH_SIZE, leaf);
    fx_tree_remove(root);
    ck_assert_msg(mkdir(root, 0755) == 0, "mkdir %s: %s", root, strerror(errno));
}

void fx_tree_mkdirf(const char *fmt, ...)
{
    char path[FX_PATH_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof path, fmt, ap);
    va_end(ap);
    ck_assert_msg(mkdir(path, 0755) == 0, "mkdir %s: %s", path, strerror(errno));
}

void fx_tree_put(const char *dir, const char *file, const char *text)
{
    char tmp[FX_PATH_SIZE], path[FX_PATH_SIZE];
    fx_pathf(tmp, "%s/.%s.new", dir, file);
    fx_pathf(path, "%s/%s", dir, file);
    ck_assert_msg(fx_write_file(tmp, text, strlen(text)) == 0, "cannot write %s", tmp);
    ck_assert_msg(rename(tmp, path) == 0, "rename %s: %s", tmp, strerror(errno));
}

void fx_tree_putf(const char *dir, const char *file, const char *fmt, ...)
{
    char text[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    fx_tree_put(dir, file, text);
}

dc_energy *fx_energy_open_ok(const char *kind, const dc_energy_opts *opts)
{
    dc_energy *e = NULL;
    dc_error err = { 0 };
    dc_status st = dc_energy_open_with(kind, opts, &e, &err);
    ck_assert_msg(st == DC_OK, "%s: %s", kind ? kind : "auto", err.msg);
    ck_assert_ptr_nonnull(e);
    return e;
}

void fx_energy_start_ok(dc_energy *e)
{
    dc_error err = { 0 };
    dc_status st = dc_energy_start(e, &err);
    ck_assert_msg(st == DC_OK, "%s", err.msg);
}

void fx_energy_poll_ok(dc_energy *e)
{
    dc_error err = { 0 };
    dc_status st = dc_energy_poll(e, &err);
    ck_assert_msg(st == DC_OK, "%s", err.msg);
}

double fx_energy_read_ok(dc_energy *e)
{
    dc_error err = { 0 };
    double j = -1.0;
    dc_status st = dc_energy_read(e, &j, &err);
    ck_assert_msg(st == DC_OK, "%s", err.msg);
    return j;
}
