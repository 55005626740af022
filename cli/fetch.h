/*
 * fetch.h — `dualcnn fetch` for datasets: the table of the datasets the project reads
 * (cli/dataset_sources.c), a checksum list given with --checksums (cli/checksum_list.c),
 * the directory helpers (cli/fetch_fs.c) and the fetch itself (cli/fetch_dataset.c).
 * cmd_fetch.c parses the command line and hands each dataset name to cli_fetch_dataset.
 */
#ifndef DC_CLI_FETCH_H
#define DC_CLI_FETCH_H

#include "dualcnn.h"
#include "loaders/digest.h"

#include <stdbool.h>
#include <stddef.h>

/* ---- the datasets (dataset_sources.c) ------------------------------------------------ */

/* One official file, and the checksums it is checked against. */
typedef struct {
    const char *name;        /* its name on the server: "train-images-idx3-ubyte.gz" */
    const char *md5;         /* as the dataset's authors publish it (NULL: none) */
    const char *sha256;      /* of the same official file */
    const char *alt_sha256;  /* another copy known to hold the same data (NULL: none) */
    const char *alt_what;    /* what that copy is */
} cli_dataset_file;

#define CLI_DATASET_MAX_FILES 4

typedef struct {
    const char *name;        /* as `fetch` and `run -D` call it: "cifar10" */
    const char *title;       /* "CIFAR-10, binary version" */
    const char *base_url;    /* the official directory, ending in '/'; NULL: not fetchable */
    const char *why_not;     /* not fetchable: why, and where to put the files instead */
    const cli_dataset_file *files;
    int n_files;             /* at most CLI_DATASET_MAX_FILES */
    bool archive;            /* files[0] is a .tar.gz to unpack; else the files are the
                              * dataset, kept as they are (the IDX reader reads .gz) */
    unsigned long long max_unpacked; /* archive: the most bytes its members may hold */
    long max_members;        /* archive: the most members */
    long long max_download;  /* the largest file accepted from a server, bytes */
    const char *run_flags;   /* what the printed `dualcnn run` line puts before -i */
} cli_dataset_source;

/* The dataset called name, or NULL when the project knows none of that name. */
const cli_dataset_source *cli_dataset_source_find(const char *name);

/* "cifar10, fashionmnist (fetched); imagenet, intel (put in place by hand)" */
const char *cli_dataset_source_names(void);

/* ---- --checksums FILE (checksum_list.c) -------------------------------------------- */

/* The lines of a checksum file as sha256sum and md5sum write them: "HEX  NAME" or
 * "HEX *NAME", HEX 64 hex digits (SHA-256) or 32 (MD5); blank lines and lines starting
 * with '#' are skipped. A NAME holding '/' stands for its last component. */
typedef struct {
    const char *path;        /* the file, for messages */
    int n;
    struct cli_checksum {
        char *name;
        char hex[DC_SHA256_HEX];
    } *items;
} cli_checksum_list;

/* Reads path into *out (freed with cli_checksums_free, even after a failure). Returns
 * DC_OK; DC_ERR_IO when it cannot be read; DC_ERR_FORMAT naming the line of a line that is
 * not "HEX  NAME"; DC_ERR_NOMEM. */
dc_status cli_checksums_load(const char *path, cli_checksum_list *out, dc_error *err);

/* The hex digest the list gives for the file name (its last component), or NULL. */
const char *cli_checksums_find(const cli_checksum_list *l, const char *name);

void cli_checksums_free(cli_checksum_list *l);

/* ---- directories (fetch_fs.c) -------------------------------------------------------- */

/* rm -r path, not following links nor crossing file systems. For fetch's own temporary
 * directories only. Returns DC_OK, or DC_ERR_IO naming what could not be removed. */
dc_status cli_remove_tree(const char *path, dc_error *err);

/* Copies the regular file src to dst, which must not exist (created 0644). DC_ERR_IO
 * naming the file; a failed copy removes dst. */
dc_status cli_copy_file(const char *src, const char *dst, dc_error *err);

/* ---- the fetch (fetch_dataset.c) ---------------------------------------------------- */

typedef struct {
    const char *from;        /* --from: a mirror directory or a base URL; NULL */
    const char *data_dir;    /* --data-dir; NULL: cli_data_dir's default */
    const cli_checksum_list *checksums; /* --checksums; NULL */
    bool force, keep, quiet;
    int retries;
} cli_fetch_opts;

/* Where datasets go: data_dir when given, else $XDG_DATA_HOME/dualcnn/datasets
 * (~/.local/share/dualcnn/datasets). False when neither can be named (no HOME). */
bool cli_data_dir(const char *data_dir, char *buf, size_t cap);

/* Fetches the dataset src (base_url set) into <data dir>/<name>: downloads each file (or
 * reads it from a --from directory), checks it, unpacks or copies it into a temporary
 * directory beside the destination and renames that into place (docs/fetch.md). Prints
 * what it did, or why not; returns CLI_OK or CLI_FAIL. */
int cli_fetch_dataset(const cli_fetch_opts *o, const cli_dataset_source *src);

#endif /* DC_CLI_FETCH_H */
