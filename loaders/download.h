/*
 * download.h — one URL to one file with libcurl, for `dualcnn fetch`: never a
 * half-written file in place, and a download that resumes where it stopped.
 *
 * The bytes go to "<dest>.part". When that file exists (an earlier try was cut off), the
 * request asks for the rest with an HTTP Range header; a server that answers 206 gets its
 * bytes appended, one that answers 200 (it ignores ranges) restarts the file from zero,
 * and 416 (the range is past the end) restarts it with a plain request. Only a transfer
 * that ended with all the bytes the server announced is renamed to dest. A cut connection
 * keeps the .part file for the next try; within one call it is retried `retries` times,
 * resuming each time. http, https and file URLs are accepted; redirects are followed.
 */
#ifndef DC_LOADERS_DOWNLOAD_H
#define DC_LOADERS_DOWNLOAD_H

#include "dualcnn.h"

#include <stdbool.h>

typedef struct {
    bool progress;      /* draw a progress line on stderr (call it on a terminal only) */
    int retries;        /* more tries after a cut connection, each resuming */
    const char *label;  /* what the progress line calls the file (NULL: dest's name) */
    long long max_bytes; /* a file growing past this many bytes is refused and its .part
                          * deleted (0: no limit) */
} dc_download_opts;

/* Downloads url to dest (see above). Returns DC_OK once dest is complete; else DC_ERR_IO
 * with a message naming the URL and what went wrong (the HTTP status, curl's reason, the
 * bytes received), dest untouched and "<dest>.part" kept when it holds a resumable start. */
dc_status dc_download(const char *url, const char *dest, const dc_download_opts *o,
                      dc_error *err);

/* Removes "<dest>.part", if any. */
void dc_download_discard(const char *dest);

#endif /* DC_LOADERS_DOWNLOAD_H */
