/*
 * fetch_dataset.c — `dualcnn fetch cifar10` and `dualcnn fetch fashionmnist`: the official
 * files of a dataset (cli/dataset_sources.c) downloaded, checked and put where
 * `dualcnn run -i` reads them, never half-written.
 *
 * Steps for the dataset NAME in the data dir D (cli_data_dir):
 *   1. D/NAME is there and no --force: said, and nothing else done;
 *   2. what an interrupted run left (D/.NAME.tmp-*, D/.NAME.old-*) is removed;
 *   3. each file is downloaded to D/.NAME.download/<file>.part, renamed to <file> when
 *      complete (loaders/download.c: a rerun resumes the .part, reuses a complete file);
 *      a --from directory's file is read in place;
 *   4. each is checked (SHA-256 and MD5, loaders/digest.c) against the table, or against
 *      --checksums: a mismatch deletes our download and names the file, the expected and
 *      the found digest;
 *   5. the archive is unpacked (loaders/untar.c), or the files linked or copied, into a
 *      fresh D/.NAME.tmp-XXXXXX, which the dataset reader must then open (both splits);
 *   6. that directory is renamed to D/NAME (with --force the old one is first renamed
 *      aside, and removed after);
 *   7. the downloads are removed (--keep: an archive is moved to D/<file>).
 */
#include "cli/fetch.h"
#include "cli/check.h"
#include "cli/cli.h"
#include "loaders/dataset.h"
#include "loaders/download.h"
#include "loaders/untar.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One dataset being fetched. */
typedef struct {
    const cli_fetch_opts *o;
    const cli_dataset_source *src;
    char data[1024];                           /* the data dir */
    char dest[1200];                           /* <data>/<name> */
    char staging[1200];                        /* <data>/.<name>.download */
    char tmp[1200];                            /* <data>/.<name>.tmp-XXXXXX once made */
    char paths[CLI_DATASET_MAX_FILES][2400];   /* where each file is */
    bool ours[CLI_DATASET_MAX_FILES];          /* paths[i] is our download */
} job;

bool cli_data_dir(const char *data_dir, char *buf, size_t cap)
{
    if (data_dir && *data_dir)
        return (size_t)snprintf(buf, cap, "%s", data_dir) < cap;
    char base[1024];
    return cli_xdg_weights_dir(base, sizeof base) &&
           (size_t)snprintf(buf, cap, "%s/datasets", base) < cap;
}

/* s as one shell word: itself when it holds only safe characters, else single-quoted. */
static const char *shell_word(const char *s, char *buf, size_t cap)
{
    if (*s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                        "_-./+:@%,=") == strlen(s))
        return s;
    size_t at = 0;
    buf[at++] = '\'';
    for (; *s && at + 5 < cap; s++) {
        if (*s == '\'') {
            memcpy(buf + at, "'\\''", 4);
            at += 4;
        } else {
            buf[at++] = *s;
        }
    }
    buf[at++] = '\'';
    buf[at] = '\0';
    return buf;
}

/* The `dualcnn run` line that reads the dataset at dir. */
static void print_run_line(const cli_dataset_source *src, const char *dir)
{
    char q[2600];
    printf("  dualcnn run %s -i %s\n", src->run_flags, shell_word(dir, q, sizeof q));
}

/* Step 2: removes <data>/.<name>.tmp-* and .old-*, left by a run that was stopped. */
static dc_status remove_leftovers(const job *j, dc_error *err)
{
    char tmp_prefix[64], old_prefix[64];
    snprintf(tmp_prefix, sizeof tmp_prefix, ".%s.tmp-", j->src->name);
    snprintf(old_prefix, sizeof old_prefix, ".%s.old-", j->src->name);
    DIR *d = opendir(j->data);
    if (!d)
        return dc_fail(err, DC_ERR_IO, "%s: cannot list: %s", j->data, strerror(errno));
    dc_status st = DC_OK;
    struct dirent *e;
    while (st == DC_OK && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, tmp_prefix, strlen(tmp_prefix)) != 0 &&
            strncmp(e->d_name, old_prefix, strlen(old_prefix)) != 0)
            continue;
        char p[2400];
        snprintf(p, sizeof p, "%s/%s", j->data, e->d_name);
        st = cli_remove_tree(p, err);
    }
    closedir(d);
    return st;
}

/* Step 3 for file i. */
static dc_status get_file(job *j, int i, dc_error *err)
{
    const cli_fetch_opts *o = j->o;
    const char *name = j->src->files[i].name;
    char *path = j->paths[i];
    j->ours[i] = false;
    if (o->from && cli_is_dir(o->from)) {
        snprintf(path, sizeof j->paths[i], "%s/%s", o->from, name);
        return cli_is_file(path) ? DC_OK : dc_fail(err, DC_ERR_IO, "%s: not in the mirror %s",
                                               path, o->from);
    }
    char url[2048];
    if (o->from) {
        size_t n = strlen(o->from);
        snprintf(url, sizeof url, "%s%s%s", o->from, n && o->from[n - 1] == '/' ? "" : "/",
                 name);
    } else {
        snprintf(url, sizeof url, "%s%s", j->src->base_url, name);
    }
    snprintf(path, sizeof j->paths[i], "%s/%s", j->staging, name);
    j->ours[i] = true;
    if (cli_is_file(path)) /* complete in an earlier run; checked again below */
        return DC_OK;
    if (!o->quiet)
        printf("downloading %s\n", url);
    fflush(stdout);
    dc_download_opts d = { .progress = !o->quiet && isatty(2), .retries = o->retries,
                           .label = name, .max_bytes = j->src->max_download };
    return dc_download(url, path, &d, err);
}

/* Step 4 for file i: *matched says which checksums it matched. */
static dc_status check_file(const job *j, int i, const char **matched, dc_error *err)
{
    const cli_dataset_file *f = &j->src->files[i];
    const char *path = j->paths[i];
    dc_digests d;
    dc_status st = dc_digest_file(path, &d, err);
    if (st != DC_OK)
        return st;
    const char *want = j->o->checksums ? cli_checksums_find(j->o->checksums, f->name) : NULL;
    if (want) {
        bool md5 = strlen(want) == 32;
        const char *got = md5 ? d.md5 : d.sha256;
        *matched = md5 ? "the MD5 --checksums gives" : "the SHA-256 --checksums gives";
        if (strcmp(got, want) != 0)
            return dc_fail(err, DC_ERR_FORMAT, "%s: damaged or not the file expected: %s %s, "
                           "expected %s (--checksums %s)", path, md5 ? "MD5" : "SHA-256", got,
                           want, j->o->checksums->path);
        return DC_OK;
    }
    if (f->alt_sha256 && strcmp(d.sha256, f->alt_sha256) == 0) {
        *matched = f->alt_what;
        return DC_OK;
    }
    if (strcmp(d.sha256, f->sha256) != 0)
        return dc_fail(err, DC_ERR_FORMAT, "%s: damaged or not the official file: SHA-256 %s, "
                       "expected %s", path, d.sha256, f->sha256);
    if (f->md5 && strcmp(d.md5, f->md5) != 0)
        return dc_fail(err, DC_ERR_FORMAT, "%s: damaged or not the official file: MD5 %s, "
                       "expected %s (as published for %s)", path, d.md5, f->md5, f->name);
    *matched = f->md5 ? "the published MD5 and the official SHA-256"
                      : "the official SHA-256";
    return DC_OK;
}

/* Steps 3 and 4 for every file. */
static dc_status get_and_check(job *j, dc_error *err)
{
    for (int i = 0; i < j->src->n_files; i++) {
        const char *matched = "";
        dc_status st = get_file(j, i, err);
        if (st == DC_OK)
            st = check_file(j, i, &matched, err);
        if (st != DC_OK) {
            size_t n = strlen(err->msg);
            if (err->code == DC_ERR_FORMAT && j->ours[i]) {
                unlink(j->paths[i]);
                snprintf(err->msg + n, sizeof err->msg - n, "; deleted");
            } else if (err->code == DC_ERR_FORMAT) {
                snprintf(err->msg + n, sizeof err->msg - n, "; the mirror's file is left "
                         "alone");
            }
            return st;
        }
        if (!j->o->quiet)
            printf("  checked %s: %s\n", j->src->files[i].name, matched);
    }
    return DC_OK;
}

/* Deletes our downloads and says so at the end of err's message. */
static void delete_ours(const job *j, dc_error *err)
{
    bool any = false;
    for (int i = 0; i < j->src->n_files; i++)
        if (j->ours[i])
            any = unlink(j->paths[i]) == 0 || any;
    size_t n = strlen(err->msg);
    if (any)
        snprintf(err->msg + n, sizeof err->msg - n, "; %s deleted",
                 j->src->n_files > 1 ? "the downloads" : "the download");
}

/* Step 5: a fresh temporary directory beside the destination, filled and opened. */
static dc_status unpack(job *j, dc_error *err)
{
    snprintf(j->tmp, sizeof j->tmp, "%s/.%s.tmp-XXXXXX", j->data, j->src->name);
    if (!mkdtemp(j->tmp)) {
        dc_status st = dc_fail(err, DC_ERR_IO, "%s: cannot create: %s", j->tmp,
                               strerror(errno));
        j->tmp[0] = '\0';
        return st;
    }
    dc_status st = DC_OK;
    if (j->src->archive) {
        dc_untar_limits lim = { j->src->max_unpacked, j->src->max_members };
        dc_untar_stats stats;
        if (!j->o->quiet)
            printf("unpacking %s\n", j->paths[0]);
        fflush(stdout);
        st = dc_untar(j->paths[0], j->tmp, &lim, &stats, err);
    }
    for (int i = 0; !j->src->archive && st == DC_OK && i < j->src->n_files; i++) {
        char dst[2400];
        snprintf(dst, sizeof dst, "%s/%s", j->tmp, j->src->files[i].name);
        /* a second name for our download (kept until the end, for a rerun), else a copy */
        if (!j->ours[i] || link(j->paths[i], dst) != 0)
            st = cli_copy_file(j->paths[i], dst, err);
    }
    for (int train = 0; st == DC_OK && train < 2; train++) {
        dc_dataset *ds = NULL;
        dc_error derr = { 0 };
        if (dc_dataset_open_first(j->tmp, j->src->name, train, 1, &ds, &derr) != DC_OK)
            st = dc_fail(err, DC_ERR_FORMAT, "the files do not read as %s: %s", j->src->name,
                         derr.msg);
        dc_dataset_close(ds);
    }
    mode_t mask = umask(0);
    umask(mask);
    if (st == DC_OK && chmod(j->tmp, 0777 & ~mask) != 0)
        st = dc_fail(err, DC_ERR_IO, "%s: cannot chmod: %s", j->tmp, strerror(errno));
    return st;
}

/* Step 6: j->tmp becomes j->dest; an existing dest (--force) is renamed aside first. */
static dc_status install(job *j, dc_error *err)
{
    char old[1200] = "";
    struct stat sb;
    if (lstat(j->dest, &sb) == 0) {
        snprintf(old, sizeof old, "%s/.%s.old-XXXXXX", j->data, j->src->name);
        if (!mkdtemp(old))
            return dc_fail(err, DC_ERR_IO, "%s: cannot create: %s", old, strerror(errno));
        if (rename(j->dest, old) != 0) {
            dc_status st = dc_fail(err, DC_ERR_IO, "%s: cannot move the old copy aside to "
                                   "%s: %s", j->dest, old, strerror(errno));
            rmdir(old);
            return st;
        }
    }
    if (rename(j->tmp, j->dest) != 0) {
        dc_status st = dc_fail(err, DC_ERR_IO, "%s: cannot rename to %s: %s", j->tmp, j->dest,
                               strerror(errno));
        if (old[0])
            rename(old, j->dest); /* put the old copy back */
        return st;
    }
    j->tmp[0] = '\0';
    dc_error ignored;
    if (old[0] && cli_remove_tree(old, &ignored) != DC_OK)
        fprintf(stderr, "dualcnn fetch: %s (the old copy of %s)\n", ignored.msg, j->dest);
    return DC_OK;
}

/* Step 7: our downloads go (--keep: an archive stays, as <data>/<file>). */
static void clean_downloads(const job *j)
{
    for (int i = 0; i < j->src->n_files; i++) {
        if (!j->ours[i])
            continue;
        char kept[2400];
        snprintf(kept, sizeof kept, "%s/%s", j->data, j->src->files[i].name);
        if (!(j->o->keep && j->src->archive && rename(j->paths[i], kept) == 0))
            unlink(j->paths[i]);
    }
    rmdir(j->staging);
}

/* Steps 2 to 7 into j's directories. */
static dc_status fetch_into(job *j, dc_error *err)
{
    dc_status st = cli_make_dirs(j->data, err);
    if (st == DC_OK)
        st = remove_leftovers(j, err);
    if (st == DC_OK && mkdir(j->staging, 0777) != 0 && errno != EEXIST)
        st = dc_fail(err, DC_ERR_IO, "%s: cannot create: %s", j->staging, strerror(errno));
    if (st == DC_OK)
        st = get_and_check(j, err);
    if (st == DC_OK && (st = unpack(j, err)) == DC_ERR_FORMAT)
        delete_ours(j, err); /* the archive or the files are at fault, not the disk */
    if (st == DC_OK)
        st = install(j, err);
    if (j->tmp[0]) {
        dc_error ignored;
        cli_remove_tree(j->tmp, &ignored);
        j->tmp[0] = '\0';
    }
    if (st == DC_OK)
        clean_downloads(j);
    else
        rmdir(j->staging); /* only when empty: a .part or a checked file stays for a rerun */
    return st;
}

int cli_fetch_dataset(const cli_fetch_opts *o, const cli_dataset_source *src)
{
    job j = { .o = o, .src = src };
    dc_error err;
    if (!cli_data_dir(o->data_dir, j.data, sizeof j.data)) {
        dc_fail(&err, DC_ERR_ARG, "%s: no data directory: give --data-dir (HOME and "
                "XDG_DATA_HOME are unset)", src->name);
        return cli_report("fetch", &err);
    }
    snprintf(j.dest, sizeof j.dest, "%s/%s", j.data, src->name);
    snprintf(j.staging, sizeof j.staging, "%s/.%s.download", j.data, src->name);
    if (!o->force && cli_is_dir(j.dest)) {
        if (!o->quiet) {
            printf("%s: %s is already there (--force fetches it again); to use it:\n",
                   src->name, j.dest);
            print_run_line(src, j.dest);
        }
        return CLI_OK;
    }
    bool made_data = !cli_is_dir(j.data);
    if (fetch_into(&j, &err) != DC_OK) {
        if (made_data)
            rmdir(j.data); /* only when empty */
        return cli_report("fetch", &err);
    }
    if (!o->quiet) {
        printf("%s: wrote %s (%s); to use it:\n", src->name, j.dest, src->title);
        print_run_line(src, j.dest);
    }
    return CLI_OK;
}
