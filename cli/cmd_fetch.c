/*
 * cmd_fetch.c — `dualcnn fetch`: an architecture's official checkpoint, downloaded
 * (loaders/download.c), checked against the SHA-256 prefix its file name carries
 * (loaders/digest.c) and converted (`dualcnn convert`'s code) into
 * <weights dir>/<dataset>/<NAME>.h5.
 *
 * Steps for each NAME: resolve the URL (the zoo's, --url, or its file name under --from);
 * download it to <dataset dir>/<file>.part, resuming an earlier try, renamed to <file> when
 * complete (a --from directory is read in place); check its SHA-256 against the name
 * (a mismatch deletes the download); convert it to <NAME>.h5 through a temporary name;
 * delete the checkpoint unless --keep.
 */
#include "cli/argparse.h"
#include "cli/cli.h"
#include "cli/convert.h"
#include "loaders/digest.h"
#include "loaders/download.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void fetch_help(FILE *f)
{
    fprintf(f, "usage: dualcnn fetch NAME... [--from URL_OR_DIR] [--weights-dir DIR] "
               "[options]\n\n"
               "Downloads the official checkpoint of each architecture NAME (`dualcnn models`;\n"
               "chenyaofo's CIFAR-10 releases, torchvision's ImageNet weights), checks it\n"
               "against the SHA-256 prefix in its file name (resnet18-f37072fd.pth), and\n"
               "converts it into <weights dir>/<dataset>/<NAME>.h5, where -m1 NAME finds it.\n"
               "An interrupted download resumes (HTTP Range) when run again; a weight file is\n"
               "never left half-written.\n\n"
               "  --from URL_OR_DIR      a mirror: a directory holding the checkpoints under\n"
               "                         their official file names, or a base URL that\n"
               "                         replaces the official one up to the file name\n"
               "  --url URL              fetch this checkpoint instead (one NAME; its file\n"
               "                         name must carry its SHA-256 prefix: NAME-1a2b3c4d.pt;\n"
               "                         with --from, its file name is looked up there)\n"
               "  --dataset D            with --url: the dataset it was trained on (%s;\n"
               "                         default: the architecture's own)\n"
               "  --weights-dir DIR      where to write (default: $DUALCNN_WEIGHTS, else\n"
               "                         ./weights if it exists, else $XDG_DATA_HOME/dualcnn,\n"
               "                         i.e. ~/.local/share/dualcnn)\n"
               "  --force                fetch again when the weight file is already there\n"
               "  --keep                 keep the checkpoint beside the weight file\n"
               "  --retries N            tries after a cut connection, resuming (default 3)\n"
               "  --sha256 FILE          print FILE's SHA-256 and exit (checking a mirror)\n"
               "  -q, --quiet            print errors only (no progress)\n"
               "  -h, --help             this text\n\n"
               "Datasets are not fetched yet (docs/fetch.md says where to put CIFAR-10 and\n"
               "FashionMNIST); ImageNet and Intel cannot be (licence, login): put their\n"
               "class-per-folder trees where `dualcnn run -i` points.\n\n"
               "Exit status: 0 every NAME is there; 1 a download, check or conversion failed\n"
               "(the message names the URL or file); 2 a bad flag or an unknown NAME.\n",
            cli_convert_dataset_names());
}

typedef struct {
    const char *names[64];
    int n_names;
    const char *from, *url, *dataset, *weights_dir, *sha256;
    bool force, keep, quiet;
    int retries;
} fetch_args;

enum { OPT_FROM = 1, OPT_URL, OPT_DATASET, OPT_WDIR, OPT_FORCE, OPT_KEEP, OPT_RETRIES,
       OPT_SHA256, OPT_QUIET };

static const cli_opt fetch_opts[] = {
    { OPT_FROM, "--from", CLI_VALUE },
    { OPT_URL, "--url", CLI_VALUE },
    { OPT_DATASET, "--dataset", CLI_VALUE },
    { OPT_WDIR, "--weights-dir", CLI_VALUE },
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
        return cli_usage_error("fetch", "name at least one architecture (`dualcnn models`)");
    if (a->url && a->n_names > 1)
        return cli_usage_error("fetch", "--url fetches one checkpoint: name one architecture");
    return CLI_OK;
}

/* The zoo entry of name and the dataset to convert for; prints why not and returns NULL. */
static const dc_zoo_entry *resolve_name(const fetch_args *a, const char *name,
                                        const char **dataset)
{
    const dc_zoo_entry *e = dc_zoo_find(name);
    if (!e || !e->implemented) {
        char close[512];
        cli_convert_close_names(name, close, sizeof close);
        if (e)
            cli_usage_error("fetch", "%s: listed but not built by this dualcnn yet", name);
        else if (!strcmp(name, "cifar10") || !strcmp(name, "fashionmnist") ||
                 !strcmp(name, "imagenet") || !strcmp(name, "intel"))
            cli_usage_error("fetch", "%s: datasets are not fetched (yet); "
                            "docs/fetch.md says where to put them", name);
        else
            cli_usage_error("fetch", "%s: no such model%s%s (`dualcnn models` lists them)",
                            name, close[0] ? "; close: " : "", close);
        return NULL;
    }
    *dataset = a->dataset ? a->dataset : e->dataset;
    if (!cli_convert_dataset(*dataset)) {
        cli_usage_error("fetch", "--dataset %s: not one of %s", *dataset,
                        cli_convert_dataset_names());
        return NULL;
    }
    if (!a->url && strcmp(*dataset, e->dataset) != 0) {
        cli_usage_error("fetch", "the official weights of %s are for %s; --dataset %s needs "
                        "--url of a checkpoint trained on it", name, e->dataset, *dataset);
        return NULL;
    }
    return e;
}

/* mkdir -p path. */
static dc_status make_dirs(const char *path, dc_error *err)
{
    char p[4096];
    if ((size_t)snprintf(p, sizeof p, "%s", path) >= sizeof p)
        return dc_fail(err, DC_ERR_ARG, "%s: path too long", path);
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0777) != 0 && errno != EEXIST)
                return dc_fail(err, DC_ERR_IO, "%s: cannot create: %s", p, strerror(errno));
            if (!c)
                break;
            *s = c;
        }
    }
    return cli_is_dir(path) ? DC_OK : dc_fail(err, DC_ERR_IO, "%s: not a directory", path);
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
    dc_status st = make_dirs(dir, &err);
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
    const dc_zoo_entry *entries[64];
    const char *datasets[64];
    for (int i = 0; i < a.n_names; i++)
        if (!(entries[i] = resolve_name(&a, a.names[i], &datasets[i])))
            return CLI_USAGE;
    char wdir[1024];
    cli_fetch_weights_dir(a.weights_dir, wdir, sizeof wdir);
    int failed = 0;
    for (int i = 0; i < a.n_names; i++)
        failed += fetch_one(&a, entries[i], datasets[i], wdir) != CLI_OK;
    return failed ? CLI_FAIL : CLI_OK;
}
