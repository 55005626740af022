/* download.c — one URL to one file with libcurl, resumable (see download.h). */
#include "loaders/download.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* One request: where its bytes go and what came back. */
typedef struct {
    CURL *curl;
    const char *part;     /* "<dest>.part" */
    FILE *f;              /* open once the response code is known */
    long long start;      /* the bytes of .part asked to be skipped (Range: bytes=start-) */
    long long have;       /* bytes in .part now */
    bool decided;         /* the response code was looked at */
    long code;            /* the HTTP status (0 for file://) */
    char io_error[256];   /* a failed open or write of .part, or a file too large */
    bool too_big;         /* the file grew past o->max_bytes */
    const dc_download_opts *o;
    const char *label;
    long long total;      /* the file's size when known, else 0 */
    double last_draw;     /* when the progress line was last drawn, s */
} xfer;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) ? (long long)st.st_size : -1;
}

/* The first bytes of the final response decide: 206 appends to .part, 200 (or a file://
 * URL) starts it again, an error status stops the transfer. A redirect's body is dropped. */
static bool open_part(xfer *x)
{
    x->decided = true;
    bool append = x->code == 206 && x->start > 0;
    x->f = fopen(x->part, append ? "ab" : "wb");
    if (!x->f) {
        snprintf(x->io_error, sizeof x->io_error, "%s: cannot write: %s", x->part,
                 strerror(errno));
        return false;
    }
    if (!append)
        x->start = 0;
    x->have = x->start;
    return true;
}

static size_t on_data(char *data, size_t size, size_t count, void *user)
{
    xfer *x = user;
    size_t n = size * count;
    if (!x->decided) {
        curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &x->code);
        if (x->code >= 300 && x->code < 400)
            return n;
        if (x->code >= 400 || !open_part(x))
            return 0; /* stops the transfer (CURLE_WRITE_ERROR) */
    }
    if (x->o->max_bytes > 0 && x->have + (long long)n > x->o->max_bytes) {
        snprintf(x->io_error, sizeof x->io_error, "more than %lld bytes: not the file "
                 "expected (%s deleted)", x->o->max_bytes, x->part);
        x->too_big = true;
        return 0;
    }
    if (fwrite(data, 1, n, x->f) != n) {
        snprintf(x->io_error, sizeof x->io_error, "%s: write failed: %s", x->part,
                 strerror(errno));
        return 0;
    }
    x->have += (long long)n;
    return n;
}

static void draw(xfer *x, bool final)
{
    long long total = x->total;
    double t = now_s();
    if (!final && t - x->last_draw < 0.25)
        return;
    x->last_draw = t;
    if (total > 0)
        fprintf(stderr, "\r  %s: %.1f of %.1f MB (%d%%)   ", x->label, x->have / 1e6,
                total / 1e6, (int)(100.0 * (double)x->have / (double)total));
    else
        fprintf(stderr, "\r  %s: %.1f MB   ", x->label, x->have / 1e6);
    fflush(stderr);
}

static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dlnow, (void)ultotal, (void)ulnow;
    xfer *x = user;
    if (x->decided) {
        x->total = dltotal > 0 ? x->start + (long long)dltotal : 0;
        draw(x, false);
    }
    return 0;
}

/* A failure that a new request, resuming, may get past. */
static bool is_cut(CURLcode rc)
{
    return rc == CURLE_PARTIAL_FILE || rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR ||
           rc == CURLE_GOT_NOTHING || rc == CURLE_OPERATION_TIMEDOUT ||
           rc == CURLE_HTTP2_STREAM;
}

static const char *status_text(long code)
{
    switch (code) {
    case 401: return " (unauthorised)";
    case 403: return " (forbidden)";
    case 404: return " (not found)";
    case 410: return " (gone)";
    default: return code >= 500 ? " (server error)" : "";
    }
}

/* Runs one request of url into x->part, from x->start on. */
static CURLcode request(CURL *curl, const char *url, xfer *x, char *curl_msg)
{
    char range[48];
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https,file");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
    /* a connection that delivers nothing for a minute counts as cut */
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "dualcnn-fetch");
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_msg);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, x);
    if (x->start > 0) {
        snprintf(range, sizeof range, "%lld-", x->start);
        curl_easy_setopt(curl, CURLOPT_RANGE, range);
    }
    if (x->o->progress) {
        curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(curl, CURLOPT_XFERINFODATA, x);
    }
    curl_msg[0] = '\0';
    CURLcode rc = curl_easy_perform(curl);
    if (!x->decided)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &x->code);
    /* an empty body: the file is empty */
    if (rc == CURLE_OK && !x->decided && x->code < 300 && !open_part(x))
        rc = CURLE_WRITE_ERROR;
    if (x->f && fclose(x->f) != 0 && !x->io_error[0])
        snprintf(x->io_error, sizeof x->io_error, "%s: write failed: %s", x->part,
                 strerror(errno));
    x->f = NULL;
    if (x->o->progress && x->decided) { /* the last state, however short the transfer */
        draw(x, true);
        fputc('\n', stderr);
    }
    return rc;
}

void dc_download_discard(const char *dest)
{
    char part[4096];
    snprintf(part, sizeof part, "%s.part", dest);
    unlink(part);
}

/* Tries, resuming, until dest is complete or a failure no retry gets past. */
static dc_status download_with(CURL *curl, const char *url, const char *dest,
                               const char *part, const dc_download_opts *o, dc_error *err)
{
    char curl_msg[CURL_ERROR_SIZE];
    const char *slash = strrchr(dest, '/');
    int tries_left = o->retries;
    bool restarted = false;
    for (;;) {
        long long have = file_size(part);
        xfer x = { .curl = curl, .part = part, .start = have > 0 ? have : 0, .o = o,
                   .label = o->label ? o->label : slash ? slash + 1 : dest };
        CURLcode rc = request(curl, url, &x, curl_msg);
        if (x.too_big)
            unlink(part);
        if (x.io_error[0])
            return dc_fail(err, DC_ERR_IO, "%s: %s", url, x.io_error);
        if (x.code == 416 && !restarted) {
            /* the range lies past the end: what is in .part is not a start of this file */
            unlink(part);
            restarted = true;
            continue;
        }
        if (x.code >= 400)
            return dc_fail(err, DC_ERR_IO, "%s: the server answered HTTP %ld%s", url, x.code,
                           status_text(x.code));
        if (rc == CURLE_OK) {
            if (rename(part, dest) != 0)
                return dc_fail(err, DC_ERR_IO, "%s: cannot rename to %s: %s", part, dest,
                               strerror(errno));
            return DC_OK;
        }
        if (is_cut(rc) && tries_left-- > 0)
            continue;
        const char *why = curl_msg[0] ? curl_msg : curl_easy_strerror(rc);
        if (is_cut(rc) && x.decided)
            return dc_fail(err, DC_ERR_IO, "%s: the transfer was cut after %lld bytes (%s); "
                           "%s kept: run the same command again to resume", url, x.have,
                           why, part);
        return dc_fail(err, DC_ERR_IO, "%s: %s", url, why);
    }
}

dc_status dc_download(const char *url, const char *dest, const dc_download_opts *o,
                      dc_error *err)
{
    char part[4096];
    if ((size_t)snprintf(part, sizeof part, "%s.part", dest) >= sizeof part)
        return dc_fail(err, DC_ERR_ARG, "%s: path too long", dest);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return dc_fail(err, DC_ERR_IO, "%s: cannot start libcurl", url);
    CURL *curl = curl_easy_init();
    dc_status st;
    if (!curl)
        st = dc_fail(err, DC_ERR_NOMEM, "%s: cannot start a libcurl transfer", url);
    else
        st = download_with(curl, url, dest, part, o, err);
    curl_easy_cleanup(curl);
    curl_global_cleanup();
    return st;
}
