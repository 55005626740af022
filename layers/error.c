/* error.c — the one error convention of the library (see include/dualcnn.h). */
#include "dualcnn.h"

#include <stdarg.h>
#include <stdio.h>

dc_status dc_fail(dc_error *err, dc_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

const char *dc_status_name(dc_status code)
{
    switch (code) {
    case DC_OK: return "ok";
    case DC_ERR_IO: return "I/O error";
    case DC_ERR_FORMAT: return "bad format";
    case DC_ERR_SHAPE: return "wrong shape";
    case DC_ERR_MISSING: return "missing";
    case DC_ERR_ARG: return "bad argument";
    case DC_ERR_NOMEM: return "out of memory";
    case DC_ERR_UNSUPPORTED: return "not supported";
    }
    return "unknown error";
}
