/* Internal helper shared by every module (not installed): fill a caller's
 * muse_error_t and return the code, so a failure reads as one line:
 *     return muse_err(err, MUSE_EPARSE, "%s:%d: expected a number", path, line);
 * Kept header-only so that modules low in the dependency order can use it
 * without depending on core/. */
#ifndef MUSE_ERR_H
#define MUSE_ERR_H

#include <stdarg.h>
#include <stdio.h>

#include "muse.h"

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static inline int muse_err(muse_error_t *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

static inline void muse_err_clear(muse_error_t *err)
{
    if (err) {
        err->code = MUSE_OK;
        err->message[0] = '\0';
    }
}

#endif
