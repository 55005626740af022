/*
 * cmd_fetch.c — `dualcnn fetch`: an architecture's official checkpoint, downloaded
 * (loaders/download.c), checked against the SHA-256 prefix its file name carries
 * (loaders/digest.c) and converted (`dualcnn convert`'s code) into
 * <weights dir>/<dataset>/<NAME>.h5; or a dataset's official files, downloaded, checked and
 * put where `dualcnn run -i` reads them (cli/fetch_dataset.c).
 *
 * Steps for each architecture NAME: resolve the URL (the zoo's, --url, or its file name
 * under --from); download it to <dataset dir>/<file>.part, resuming an earlier try, renamed
 * to <file> when complete (a --from directory is read in place); check its SHA-256 against
 * the name (a mismatch deletes the download); convert it to <NAME>.h5 through a temporary
 * name; delete the checkpoint unless --keep. Every NAME is resolved before anything is
 * downloaded.
 */
#include "cli/argparse.h"
#include "cli/check.h"
#include "cli/cli.h"
#include "cli/convert.h"
#include "cli/fetch.h"
#include "loaders/digest.h"
#include "loaders/download.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void fetch_help(FILE *f)
{
    fprintf(f, "usage: dualcnn fetch NAME... [--from URL_OR_DIR] [--weights-dir DIR]\n"
               "                     [--data-dir DIR] [options]\n\n"
               "An architecture NAME (`dualcnn models`): downloads its official checkpoint\n"
               "(chenyaofo's CIFAR-10 releases, torchvision's ImageNet weights), checks it\n"
               "against the SHA-256 prefix in its file name (resnet18-f37072fd.pth), and\n"
               "converts it into <weights dir>/<dataset>/<NAME>.h5, where -m1 NAME finds it.\n"
               "A dataset NAME (cifar10, fashionmnist): downloads its official files (the\n"
               "CIFAR-10 binary version from cs.toronto.edu, the four Fashion-MNIST .gz\n"
               "files), checks each against the MD5 and SHA-256 compiled in, and unpacks\n"
               "them into <data dir>/<NAME>, the directory to give `dualcnn run -i`\n"
               "(printed). An interrupted download resumes (HTTP Range) when run again;\n"
               "a weight file or a dataset is never left half-written.\n\n"
               "  --from URL_OR_DIR      a mirror: a directory holding the files under their\n"
               "                         official names, or a base URL that replaces the\n"
               "                         official one up to the file name\n"
               "  --url URL              fetch this checkpoint instead (one architecture; its\n"
               "                         file name must carry its SHA-256 prefix:\n"
               "                         NAME-1a2b3c4d.pt; with --from, its file name is\n"
               "                         looked up there)\n"
               "  --dataset D            with --url: the dataset it was trained on\n"
               "                         (%s;\n"
               "                         default: the architecture's own)\n"
               "  --weights-dir DIR      where weights go (default: $DUALCNN_WEIGHTS, else\n"
               "                         ./weights if it exists, else $XDG_DATA_HOME/dualcnn,\n"
               "                         i.e. ~/.local/share/dualcnn)\n"
               "  --data-dir DIR         where datasets go (default:\n"
               "                         $XDG_DATA_HOME/dualcnn/datasets, i.e.\n"
               "                         ~/.local/share/dualcnn/datasets)\n"
               "  --checksums FILE       datasets: check the files FILE names against its\n"
               "                         checksums instead (\"HEX  NAME\" lines as sha256sum\n"
               "                         or md5sum write them), for a mirror that repacks\n"
               "  --force                fetch again what is already there\n"
               "  --keep                 keep the checkpoint beside the weight file, the\n"
               "                         dataset archive beside the dataset\n"
               "  --retries N            tries after a cut connection, resuming (default 3)\n"
               "  --sha256 FILE          print FILE's SHA-256 and exit (checking a mirror)\n"
               "  -q, --quiet            print errors only (no progress)\n"
               "  -h, --help             this text\n\n"
               "ImageNet and Intel Image Classification cannot be fetched (licence, login):\n"
               "`dualcnn fetch imagenet` (or intel) says where to put them for `run -i`.\n\n"
               "Exit status: 0 every NAME is there; 1 a download, check, conversion or\n"
               "unpacking failed (the message names the URL or file); 2 a bad flag, an\n"
               "unknown NAME or a dataset that cannot be fetched.\n",
            cli_convert_dataset_names());
}

typedef struct {
    const char *names[64];
    int n_names;
    const char *from, *url, *dataset, *weights_dir, *sha256, *data_dir, *checksums;
    bool force, keep, quiet;
    int retries;
} fetch_args;

enum { OPT_FROM = 1, OPT_URL, OPT_DATASET, OPT_WDIR, OPT_FORCE, OPT_KEEP, OPT_RETRIES,
       OPT_SHA256, OPT_QUIET, OPT_DDIR, OPT_CHECKSUMS };

static const cli_opt fetch_opts[] = {
    { OPT_FROM, "--from", CLI_VALUE },
    { OPT_URL, "--url", CLI_VALUE },
    { OPT_DATASET, "--dataset", CLI_VALUE },
    { OPT_WDIR, "--weights-dir", CLI_VALUE },
    { OPT_DDIR, "--data-dir", CLI_VALUE },
    { OPT_CHECKSUMS, "--checksums", CLI_VALUE },
    { OPT_FORCE, "--force", CLI_FLAG },
    { OPT_KEEP, "--keep", CLI_FLAG },
    { OPT_RETRIES, "--retries", CLI_VALUE },
    { OPT_SHA256, "--sha256", CLI_VALUE },
    { OPT_QUIET, "-q --quiet", CLI_FLAG },
    { 0, NULL, CLI_FLAG },
};

static const cli_spec fetch_spec = { "fetch", { fetch_opts }, fetch_help, true };

/* Fills *a from argv; returns CLI_OK, CLI_HELP_SHOWN or CLI_USAGE (the problem printed). */
static int parse_args(int argc, char **argv, fetch_args *a)
{
    const char *retries_s = NULL;
    *a = (fetch_args){ .retries = 3 };
    cli_args p;
    int rc = cli_args_begin(&p, &fetch_spec, argc, argv);
    if (rc != CLI_OK)
        return rc;
    for (int id; (id = cli_args_next(&p)) != CLI_ARG_END;) {
        switch (id) {
        case OPT_FROM: a->from = p.value; break;
        case OPT_URL: a->url = p.value; break;
        case OPT_DATASET: a->dataset = p.value; break;
        case OPT_WDIR: a->weights_dir = p.value; break;
        case OPT_DDIR: a->data_dir = p.value; break;
        case OPT_CHECKSUMS: a->checksums = p.value; break;
        case OPT_FORCE: a->force = true; break;
        case OPT_KEEP: a->keep = true; break;
        case OPT_RETRIES: retries_s = p.value; break;
        case OPT_SHA256: a->sha256 = p.value; break;
        case OPT_QUIET: a->quiet = true; break;
        case CLI_ARG_POSITIONAL:
            if (a->n_names == (int)(sizeof a->names / sizeof a->names[0]))
                return cli_usage_error("fetch", "at most %d names at a time",
                                       a->n_names);
            a->names[a->n_names++] = p.value;
            break;
        }
    }
    if (retries_s && !cli_parse_int("fetch", "--retries", retries_s, 0, 100, &a->retries))
        return CLI_USAGE;
    if (a->sha256)
        return CLI_OK;
    if (a->n_names == 0)
        return cli_usage_error("fetch", "name at least one architecture (`dualcnn models`) "
                               "or dataset (%s)", cli_dataset_source_names());
    if (a->url && a->n_names > 1)
        return cli_usage_error("fetch", "--url fetches one checkpoint: name one architecture");
    return CLI_OK;
}

/* What a NAME on the command line stands for: an architecture (e, with the dataset its
 * weights are converted for) or a dataset (src). */
typedef struct {
    const dc_zoo_entry *e;
    const char *dataset;
    const cli_dataset_source *src;
} fetch_target;

/* A dataset name: a fetchable one in t->src; prints why not and returns false. */
static bool resolve_dataset(const fetch_args *a, const cli_dataset_source *src,
                            fetch_target *t)
{
    if (!src->base_url) {
        cli_usage_error("fetch", "%s: %s", src->name, src->why_not);
        return false;
    }
    if (a->url || a->dataset) {
        cli_usage_error("fetch", "%s is a dataset: --url and --dataset are for "
                        "architectures", src->name);
        return false;
    }
    t->src = src;
    return true;
}

/* Fills *t for name; prints why not and returns false. */
static bool resolve_name(const fetch_args *a, const char *name, fetch_target *t)
{
    *t = (fetch_target){ 0 };
    const cli_dataset_source *src = cli_dataset_source_find(name);
    if (src)
        return resolve_dataset(a, src, t);
    const dc_zoo_entry *e = dc_zoo_find(name);
    if (!e) {
        char close[512];
        cli_convert_close_names(name, close, sizeof close);
        cli_usage_error("fetch", "%s: no such model or dataset%s%s (architectures: "
                        "`dualcnn models` lists them; datasets: %s)", name,
                        close[0] ? "; close: " : "", close, cli_dataset_source_names());
        return false;
    }
    t->e = e;
    t->dataset = a->dataset ? a->dataset : e->dataset;
    if (!cli_convert_dataset(t->dataset)) {
        cli_usage_error("fetch", "--dataset %s: not one of %s", t->dataset,
                        cli_convert_dataset_names());
        return false;
    }
    if (!a->url && strcmp(t->dataset, e->dataset) != 0) {
        cli_usage_error("fetch", "the official weights of %s are for %s; --dataset %s needs "
                        "--url of a checkpoint trained on it", name, e->dataset, t->dataset);
        return false;
    }
    return true;
}

/* Gets the checkpoint of url into ckpt (see the top of the file); *downloaded tells
 * whether ckpt is ours to delete. */
static dc_status get_checkpoint(const fetch_args *a, const char *url, const char *file,
                                const char *dir, char *ckpt, size_t cap, bool *downloaded,
                                dc_error *err)
{
    *downloaded = false;
    if (a->from && cli_is_dir(a->from)) {
        snprintf(ckpt, cap, "%s/%s", a->from, file);
        return cli_is_file(ckpt) ? DC_OK : dc_fail(err, DC_ERR_IO, "%s: not in the mirror %s",
                                               ckpt, a->from);
    }
    char src[2048];
    if (a->from) {
        size_t n = strlen(a->from);
        snprintf(src, sizeof src, "%s%s%s", a->from, n && a->from[n - 1] == '/' ? "" : "/",
                 file);
    } else {
        snprintf(src, sizeof src, "%s", url);
    }
    snprintf(ckpt, cap, "%s/%s", dir, file);
    *downloaded = true;
    if (cli_is_file(ckpt)) /* kept by an earlier --keep, or checked and not converted */
        return DC_OK;
    if (!a->quiet)
        printf("downloading %s\n", src);
    fflush(stdout);
    dc_download_opts o = { .progress = !a->quiet && isatty(2), .retries = a->retries,
                           .label = file };
    return dc_download(src, ckpt, &o, err);
}

/* Whether ckpt's SHA-256 begins with the digits its name carries. */
static dc_status check_sum(const char *ckpt, const char *file, dc_error *err)
{
    char want[DC_SHA256_HEX], got[DC_SHA256_HEX];
    if (!dc_sha256_name_prefix(file, want))
        return dc_fail(err, DC_ERR_FORMAT, "%s: the file name carries no SHA-256 prefix "
                       "(NAME-1a2b3c4d.pt): cannot check it", file);
    dc_status st = dc_sha256_file(ckpt, got, err);
    if (st != DC_OK)
        return st;
    if (strncmp(got, want, strlen(want)) != 0)
        return dc_fail(err, DC_ERR_FORMAT, "%s: SHA-256 %s does not begin with %s as its "
                       "name says (a damaged or wrong file)", ckpt, got, want);
    return DC_OK;
}

/* Fetches one architecture into wdir; prints what it did or why it failed. */
static int fetch_one(const fetch_args *a, const dc_zoo_entry *e, const char *dataset,
                     const char *wdir)
{
    char dir[2200], out[2400], ckpt[4400];
    snprintf(dir, sizeof dir, "%s/%s", wdir, dataset);
    snprintf(out, sizeof out, "%s/%s.h5", dir, e->name);
    if (!a->force && cli_is_file(out)) {
        if (!a->quiet)
            printf("%s: %s is already there (--force fetches it again)\n", e->name, out);
        return CLI_OK;
    }
    const char *url = a->url ? a->url : e->weights_url;
    const char *file = cli_convert_basename(url);
    bool made_dir = !cli_is_dir(dir), downloaded = false;
    dc_error err;
    int tensors = 0;
    dc_status st = cli_make_dirs(dir, &err);
    if (st == DC_OK)
        st = get_checkpoint(a, url, file, dir, ckpt, sizeof ckpt, &downloaded, &err);
    if (st == DC_OK && (st = check_sum(ckpt, file, &err)) != DC_OK && downloaded) {
        unlink(ckpt);
        snprintf(err.msg + strlen(err.msg), sizeof err.msg - strlen(err.msg),
                 ": deleted");
    }
    if (st == DC_OK)
        st = cli_convert_checkpoint(ckpt, out, e, dataset, url, &tensors, &err);
    /* a checked checkpoint that did not convert stays, for the next try */
    if (st == DC_OK && downloaded && !a->keep)
        unlink(ckpt);
    if (st != DC_OK) {
        if (made_dir)
            rmdir(dir); /* only when empty */
        return cli_report("fetch", &err);
    }
    if (!a->quiet)
        printf("%s: wrote %s (%d tensors; the SHA-256 of %s matches its name)\n", e->name,
               out, tensors, file);
    return CLI_OK;
}

int cmd_fetch(int argc, char **argv)
{
    fetch_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc != CLI_OK)
        return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    dc_error err;
    if (a.sha256) {
        char hex[DC_SHA256_HEX];
        if (dc_sha256_file(a.sha256, hex, &err) != DC_OK)
            return cli_report("fetch", &err);
        printf("%s  %s\n", hex, a.sha256);
        return CLI_OK;
    }
    fetch_target targets[64];
    bool any_dataset = false;
    for (int i = 0; i < a.n_names; i++) {
        if (!resolve_name(&a, a.names[i], &targets[i]))
            return CLI_USAGE;
        any_dataset = any_dataset || targets[i].src;
    }
    if (a.checksums && !any_dataset)
        return cli_usage_error("fetch", "--checksums is for datasets (weights are checked "
                               "against their file names)");
    cli_checksum_list sums = { 0 };
    if (a.checksums && cli_checksums_load(a.checksums, &sums, &err) != DC_OK) {
        cli_checksums_free(&sums);
        return cli_report("fetch", &err);
    }
    cli_fetch_opts o = { .from = a.from, .data_dir = a.data_dir,
                         .checksums = a.checksums ? &sums : NULL, .force = a.force,
                         .keep = a.keep, .quiet = a.quiet, .retries = a.retries };
    char wdir[1024];
    cli_fetch_weights_dir(a.weights_dir, wdir, sizeof wdir);
    int failed = 0;
    for (int i = 0; i < a.n_names; i++)
        failed += (targets[i].src ? cli_fetch_dataset(&o, targets[i].src)
                                  : fetch_one(&a, targets[i].e, targets[i].dataset, wdir))
                  != CLI_OK;
    cli_checksums_free(&sums);
    return failed ? CLI_FAIL : CLI_OK;
}
